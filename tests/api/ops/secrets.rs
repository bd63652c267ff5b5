//! The real binary at debug level with JSON logs: neither its output nor any answer, refusals
//! included, contains the Retell API key, the Cal.com API key or the Cal.com webhook secret.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::child::{Child, ChildConfig, open_weekday};
use crate::helpers::CallFixture;

const RETELL_KEY: &str = "key_LEAKCHECK_retell_5f1c9a7e3b";
const CALCOM_KEY: &str = "cal_LEAKCHECK_calcom_8d2b6e4a0f";
const WEBHOOK_SECRET: &str = "whsec_LEAKCHECK_webhook_3a7c1e9b5d";

fn leak_check_config() -> ChildConfig {
    ChildConfig {
        retell_key: RETELL_KEY.into(),
        calcom_key: CALCOM_KEY.into(),
        webhook_secret: WEBHOOK_SECRET.into(),
        sim_latency_ms: 0,
        shutdown_grace_ms: 5000,
    }
}

/// Sends a request and keeps `(what, status, body)`.
async fn exchange(what: &str, request: reqwest::RequestBuilder) -> (String, StatusCode, String) {
    let response = request.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
    let status = response.status();
    (what.to_owned(), status, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_logs_or_an_error_body() {
    let mut child = Child::start(&leak_check_config()).await;
    let date = open_weekday().to_string();
    let function_url = child.url("/retell/functions");
    let mut seen = Vec::new();

    for path in ["/health/live", "/health/ready", "/metrics", "/no/such/page"] {
        seen.push(exchange(path, child.http.get(child.url(path))).await);
    }
    let json_post = |url: &str| child.http.post(url).header("content-type", "application/json");
    let args = json!({"service": "Herrenhaarschnitt", "date": date, "time": "10:00", "staff": "Anna"});
    let envelope = json!({"name": "check_availability", "args": args, "call": CallFixture::new().json()}).to_string();
    seen.push(exchange("unsigned", json_post(&function_url).body(envelope.clone())).await);
    // A misconfigured client sending the key itself as the signature or as a bearer token.
    let raw_key = json_post(&function_url)
        .header("x-retell-signature", RETELL_KEY)
        .header("authorization", format!("Bearer {RETELL_KEY}"));
    seen.push(exchange("the key as signature", raw_key.body(envelope.clone())).await);
    let wrong_key =
        slotkeeper::http::signature::sign(envelope.as_bytes(), b"key_wrong", chrono::Utc::now().timestamp_millis());
    seen.push(
        exchange(
            "signed with another key",
            json_post(&function_url).header("x-retell-signature", wrong_key).body(envelope),
        )
        .await,
    );
    seen.push(exchange("not JSON", child.signed("/retell/functions", "{not json".into())).await);
    seen.push(
        exchange("unknown function", child.function_call(&CallFixture::new(), "transfer_money", json!({}))).await,
    );
    seen.push(
        exchange(
            "missing argument",
            child.function_call(&CallFixture::new(), "check_availability", json!({"date": date})),
        )
        .await,
    );
    let mut stranger = CallFixture::new();
    (stranger.to, stranger.agent) = ("+4930999999999".into(), "agent_unknown".into());
    seen.push(exchange("unknown tenant", child.function_call(&stranger, "check_availability", args.clone())).await);
    let calcom_webhook = child.url("/calcom/webhook");
    seen.push(exchange("cal.com webhook unsigned", json_post(&calcom_webhook).body("{}")).await);
    seen.push(
        exchange(
            "cal.com webhook badly signed",
            json_post(&calcom_webhook).header("x-cal-signature-256", "00ff").body("{}"),
        )
        .await,
    );

    // Bookings, so the Cal.com client uses its API key and the simulator signs its webhooks.
    for (service, time) in [("Herrenhaarschnitt", "10:00"), ("Dauerwelle", "13:00")] {
        let call = CallFixture::new();
        let held = exchange(
            "check",
            child.function_call(&call, "check_availability", json!({"service": service, "date": date, "time": time})),
        )
        .await;
        let held_body: Value = serde_json::from_str(&held.2).unwrap();
        let token = held_body["reservation_token"].as_str().unwrap_or_else(|| panic!("{service} held: {held_body}"));
        let booked = exchange(
            "book",
            child.function_call(&call, "start_booking", json!({"reservation_token": token, "customer_name": "Erika"})),
        )
        .await;
        assert!(booked.2.contains("\"booking_status\":\"confirmed\""), "{service} synced with Cal.com: {}", booked.2);
        seen.extend([held, booked]);
    }
    let refused: Vec<&(String, StatusCode, String)> =
        seen.iter().filter(|(_, status, _)| status.is_client_error()).collect();
    assert!(refused.len() >= 9, "the refusals were refused: {seen:#?}");

    child.terminate();
    assert!(child.wait_for_exit(Duration::from_secs(15)).await.success());
    let output = child.output_text();
    let check_config = std::process::Command::new(env!("CARGO_BIN_EXE_slotkeeper"))
        .arg("--config")
        .arg(&child.config_path)
        .arg("check-config")
        .output()
        .unwrap();
    assert!(check_config.status.success(), "{check_config:?}");
    let printed =
        String::from_utf8_lossy(&check_config.stdout).into_owned() + &String::from_utf8_lossy(&check_config.stderr);
    for secret in [RETELL_KEY, CALCOM_KEY, WEBHOOK_SECRET] {
        assert!(!output.contains(secret), "a secret is in the logs:\n{}", lines_with(&output, secret));
        assert!(!printed.contains(secret), "check-config prints a secret:\n{printed}");
        for (what, status, body) in &seen {
            assert!(!body.contains(secret), "{what} ({status}) answers with a secret: {body}");
        }
    }
    assert_logs_are_structured(&output);
}

fn lines_with(output: &str, needle: &str) -> String {
    output.lines().filter(|l| l.contains(needle)).take(5).collect::<Vec<_>>().join("\n")
}

/// The logs the secrets were looked for in are the real thing: JSON, at debug level, with the
/// request id and call id on Retell request spans and the booking phase timings.
fn assert_logs_are_structured(output: &str) {
    let lines: Vec<Value> = output.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(lines.len() > 20, "JSON log lines: {}\n{output}", lines.len());
    assert!(lines.iter().any(|l| l["level"] == "DEBUG"), "debug level was on");
    let on_call_span = |l: &&Value| {
        l["span"]["call_id"].as_str().is_some_and(|c| c.starts_with("call_"))
            && l["span"]["request_id"].as_str().is_some_and(|r| !r.is_empty())
            && l["span"]["route"] == "/retell/functions"
    };
    assert!(lines.iter().any(|l| on_call_span(&l)), "a Retell request logs with its request id and call id");
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "cal.com phase bookings settled" && l["fields"]["took_ms"].is_u64()),
        "booking phase timings are logged"
    );
}
