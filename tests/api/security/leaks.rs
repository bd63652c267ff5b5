//! Secrets never appear in an answer: requests that fail in every way we can produce (and the
//! public documents) are scanned — bodies and headers — for the Retell key, both salons' Cal.com
//! API keys and webhook secrets, whole or in part. (Logs are scanned by
//! `ops::lifecycle::secrets_never_reach_the_logs_or_an_error_body` on the real binary.)

use calcom_sim::{FaultSpec, Faults};
use reqwest::StatusCode;
use serde_json::json;
use slotkeeper::secret::Secret;

use crate::helpers::{CallFixture, RETELL_KEY, SECOND_AGENT, SECOND_NUMBER, Spawn, TestApp, add_second_tenant};

const CALCOM_KEY_A: &str = "cal_LEAKCHECK_a_5e2f9c0d7b31";
const WEBHOOK_SECRET_A: &str = "whsec_LEAKCHECK_a_81c4d6f2a9e0";
const CALCOM_KEY_B: &str = "cal_LEAKCHECK_b_0a9d3e7c1f54";
const WEBHOOK_SECRET_B: &str = "whsec_LEAKCHECK_b_6b2e8f1a4c97";

/// One exchange: what was tried, and everything that came back.
struct Seen {
    what: String,
    status: StatusCode,
    text: String,
}

async fn exchange(seen: &mut Vec<Seen>, what: impl Into<String>, request: reqwest::RequestBuilder) {
    let what = what.into();
    let response = request.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
    let status = response.status();
    let headers: String =
        response.headers().iter().map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes()))).collect();
    let body = response.text().await.unwrap();
    seen.push(Seen { what, status, text: headers + &body });
}

/// Pieces that would betray a secret: the whole, and its distinctive halves.
fn pieces(secret: &str) -> [&str; 3] {
    let half = secret.len() / 2;
    [secret, &secret[..half], &secret[half..]]
}

#[tokio::test]
async fn no_answer_of_any_kind_contains_a_configured_secret() {
    let app = TestApp::spawn_with(Spawn {
        tweak: Box::new(|settings| {
            add_second_tenant(settings);
            settings.http.retell_body_limit_bytes = 65_536;
            settings.tenants[0].calcom.api_key = Secret::new(CALCOM_KEY_A);
            settings.tenants[0].calcom.webhook_secret = Secret::new(WEBHOOK_SECRET_A);
            settings.tenants[1].calcom.api_key = Secret::new(CALCOM_KEY_B);
            settings.tenants[1].calcom.webhook_secret = Secret::new(WEBHOOK_SECRET_B);
        }),
        ..Default::default()
    })
    .await;
    let mut seen = Vec::new();
    let post = |path: &str| app.http.post(app.url(path)).header("content-type", "application/json");
    let call = CallFixture::new();
    let envelope = |name: &str, args: serde_json::Value, call: &CallFixture| {
        json!({"name": name, "args": args, "call": call.json()}).to_string()
    };
    let hold = envelope(
        "check_availability",
        json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "10:00"}),
        &call,
    );

    for path in ["/health/live", "/health/ready", "/openapi.json", "/no/such/page", "/retell/functions"] {
        exchange(&mut seen, format!("GET {path}"), app.http.get(app.url(path))).await;
    }
    // Every kind of signature refusal, with the secrets where a confused client would put them.
    exchange(&mut seen, "unsigned", post("/retell/functions").body(hold.clone())).await;
    exchange(
        &mut seen,
        "the key as signature and bearer token",
        post("/retell/functions")
            .header("x-retell-signature", RETELL_KEY)
            .header("authorization", format!("Bearer {RETELL_KEY}"))
            .body(hold.clone()),
    )
    .await;
    let now = app.clock.now().timestamp_millis();
    for (what, header) in [
        ("wrong key", slotkeeper::http::signature::sign(hold.as_bytes(), b"key_wrong", now)),
        ("stale", slotkeeper::http::signature::sign(hold.as_bytes(), RETELL_KEY.as_bytes(), now - 600_000)),
        ("malformed", format!("v={now},d=xyz")),
    ] {
        exchange(&mut seen, what, post("/retell/functions").header("x-retell-signature", header).body(hold.clone()))
            .await;
    }
    let signed = |path: &str, body: String, content_type: &str| {
        app.http
            .post(app.url(path))
            .header("content-type", content_type)
            .header("x-retell-signature", app.sign(body.as_bytes()))
            .body(body)
    };
    exchange(
        &mut seen,
        "oversized",
        signed(
            "/retell/functions",
            " ".repeat(app.parts.settings.http.retell_body_limit_bytes + 1),
            "application/json",
        ),
    )
    .await;
    exchange(&mut seen, "not JSON", signed("/retell/functions", "{not json".into(), "application/json")).await;
    exchange(&mut seen, "text/plain", signed("/retell/functions", hold.clone(), "text/plain")).await;
    exchange(&mut seen, "array body", signed("/retell/functions", "[]".into(), "application/json")).await;
    exchange(
        &mut seen,
        "unknown function",
        signed("/retell/functions", envelope("transfer_money", json!({}), &call), "application/json"),
    )
    .await;
    exchange(
        &mut seen,
        "missing argument",
        signed(
            "/retell/functions",
            envelope("check_availability", json!({"date": "morgen"}), &call),
            "application/json",
        ),
    )
    .await;
    exchange(
        &mut seen,
        "wrong argument type",
        signed(
            "/retell/functions",
            envelope("check_availability", json!({"service": [1], "date": {}}), &call),
            "application/json",
        ),
    )
    .await;
    let mut placeholder = call.clone();
    placeholder.call_id = "call_1".into();
    exchange(
        &mut seen,
        "placeholder call id",
        signed("/retell/functions", envelope("get_appointments", json!({}), &placeholder), "application/json"),
    )
    .await;
    let mut stranger = CallFixture::new();
    (stranger.to, stranger.agent) = ("+4930999999999".into(), "agent_unknown".into());
    exchange(
        &mut seen,
        "unknown salon",
        signed("/retell/functions", envelope("get_appointments", json!({}), &stranger), "application/json"),
    )
    .await;
    let mut mixed = CallFixture::new();
    mixed.agent = SECOND_AGENT.into();
    exchange(
        &mut seen,
        "two salons at once",
        signed("/retell/functions", envelope("get_appointments", json!({}), &mixed), "application/json"),
    )
    .await;
    exchange(
        &mut seen,
        "args only without a call",
        signed("/retell/functions/get_appointments", "{}".into(), "application/json"),
    )
    .await;
    exchange(
        &mut seen,
        "webhook without a call",
        signed("/retell/webhook", r#"{"event":"call_ended"}"#.into(), "application/json"),
    )
    .await;
    // Answers that are refusals of the booking layer, and a Cal.com that fails while booking.
    for (what, args) in [
        ("unknown service", json!({"service": "Maniküre", "date": "morgen"})),
        ("past date", json!({"service": "Färben", "date": "20.11.2026"})),
        ("nonsense date", json!({"service": "Färben", "date": "am Blumentag"})),
    ] {
        exchange(
            &mut seen,
            what,
            signed("/retell/functions", envelope("check_availability", args, &CallFixture::new()), "application/json"),
        )
        .await;
    }
    let mut failing = Faults::default();
    for endpoint in ["bookings.create", "reservations.create", "slots.get"] {
        failing.endpoints.insert(endpoint.into(), FaultSpec { error_rate: 1.0, ..FaultSpec::default() });
    }
    app.sim().set_faults(failing);
    let caller = CallFixture::new();
    let held = app
        .call(&caller, "check_availability", json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "11:00"}))
        .await
        .1;
    if let Some(token) = held["reservation_token"].as_str() {
        exchange(
            &mut seen,
            "booking while Cal.com fails",
            signed(
                "/retell/functions",
                envelope("start_booking", json!({"reservation_token": token, "customer_name": "Erika"}), &caller),
                "application/json",
            ),
        )
        .await;
    }
    exchange(&mut seen, "ready while Cal.com fails", app.http.get(app.url("/health/ready"))).await;
    // Cal.com webhooks: unsigned, signed with the other salon's secret, not JSON, wrong shape.
    let calcom = |tenant: &str| post(&format!("/calcom/webhook?tenant={tenant}"));
    let webhook_sign = |secret: &str, body: &str| slotkeeper::calcom::webhook::sign(secret.as_bytes(), body.as_bytes());
    exchange(&mut seen, "cal.com unsigned", calcom("salon-beispiel").body("{}")).await;
    exchange(
        &mut seen,
        "cal.com secret as signature",
        calcom("salon-beispiel").header("x-cal-signature-256", WEBHOOK_SECRET_A).body("{}"),
    )
    .await;
    exchange(
        &mut seen,
        "cal.com other salon's secret",
        calcom("salon-beispiel").header("x-cal-signature-256", webhook_sign(WEBHOOK_SECRET_B, "{}")).body("{}"),
    )
    .await;
    exchange(
        &mut seen,
        "cal.com not JSON",
        calcom("salon-zwei").header("x-cal-signature-256", webhook_sign(WEBHOOK_SECRET_B, "{oops")).body("{oops"),
    )
    .await;
    exchange(
        &mut seen,
        "cal.com wrong shape",
        calcom("salon-zwei").header("x-cal-signature-256", webhook_sign(WEBHOOK_SECRET_B, "{}")).body("{}"),
    )
    .await;
    exchange(
        &mut seen,
        "cal.com unknown salon",
        calcom("salon-drei").header("x-cal-signature-256", webhook_sign(WEBHOOK_SECRET_A, "{}")).body("{}"),
    )
    .await;
    exchange(
        &mut seen,
        "args only at salon B without a call id",
        signed("/retell/functions/cancel_booking", "{}".into(), "application/json")
            .header("x-retell-to-number", SECOND_NUMBER),
    )
    .await;

    // Our own failure: the store is gone (503 with `Retry-After`, the cause only in the log).
    app.parts.store.close().await;
    exchange(
        &mut seen,
        "store closed: function",
        signed(
            "/retell/functions",
            envelope(
                "check_availability",
                json!({"service": "Färben", "date": "morgen", "time": "12:00"}),
                &CallFixture::new(),
            ),
            "application/json",
        ),
    )
    .await;
    let started = json!({"event": "call_started", "call": CallFixture::new().json()}).to_string();
    exchange(&mut seen, "store closed: webhook", signed("/retell/webhook", started, "application/json")).await;
    exchange(&mut seen, "store closed: ready", app.http.get(app.url("/health/ready"))).await;
    assert!(seen.iter().any(|s| s.status == StatusCode::SERVICE_UNAVAILABLE), "a 503 was seen");

    let refusals = seen.iter().filter(|s| s.status.is_client_error() || s.status.is_server_error()).count();
    assert!(
        refusals >= 25,
        "the failures failed: {}",
        seen.iter().map(|s| format!("{} {}", s.what, s.status)).collect::<Vec<_>>().join("\n")
    );
    let mut leaks = Vec::new();
    for secret in [RETELL_KEY, CALCOM_KEY_A, WEBHOOK_SECRET_A, CALCOM_KEY_B, WEBHOOK_SECRET_B] {
        for piece in pieces(secret) {
            leaks.extend(
                seen.iter()
                    .filter(|s| s.text.contains(piece))
                    .map(|s| format!("{} ({}) contains {piece:?}: {}", s.what, s.status, s.text)),
            );
        }
    }
    assert!(leaks.is_empty(), "secrets in answers:\n{}", leaks.join("\n"));
    let statuses: std::collections::BTreeSet<u16> = seen.iter().map(|s| s.status.as_u16()).collect();
    println!("secret_scan answers={} refusals={refusals} statuses={statuses:?} secrets=5 leaks=0", seen.len());
}
