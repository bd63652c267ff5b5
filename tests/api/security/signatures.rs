//! BK-6 (only authentic, fresh, bounded requests act) and BK-3 (a replay has one effect) at the
//! three Retell routes and the Cal.com webhook, table-driven like §11 test 8 of the reliability
//! anchors. Every refusal is checked against the whole database and the Cal.com simulator, and
//! each table ends with the genuine request as a control that does change things.

use reqwest::StatusCode;
use serde_json::json;
use slotkeeper::http::signature::sign;

use super::{Fingerprint, error_code, holding_call, post, sim_requests};
use crate::helpers::{CallFixture, RETELL_KEY, Spawn, TestApp, add_second_tenant};

const JSON: (&str, &str) = ("content-type", "application/json");
const SECRET_A: &str = "whsec_demo_salon_beispiel";
const SECRET_B: &str = "whsec_test_salon_zwei";

/// A forged request: what it is, the signature header (None: none at all), the body sent, and
/// the error code it must get.
struct Forgery {
    name: &'static str,
    header: Option<String>,
    body: Vec<u8>,
    code: &'static str,
}

/// Every way a Retell signature can be wrong, for `body` at the application's clock.
fn retell_forgeries(app: &TestApp, body: &[u8]) -> Vec<Forgery> {
    let now = app.clock.now().timestamp_millis();
    let key = RETELL_KEY.as_bytes();
    let genuine = sign(body, key, now);
    let digest = genuine.split_once(",d=").unwrap().1.to_owned();
    let mut tampered = body.to_vec();
    let last = tampered.len() - 2;
    tampered.insert(last, b' ');
    let forgery = |name, header: Option<String>, body: &[u8], code| Forgery { name, header, body: body.to_vec(), code };
    vec![
        forgery("unsigned", None, body, "missing_signature"),
        forgery("empty header", Some(String::new()), body, "malformed_signature"),
        forgery("the API key itself", Some(RETELL_KEY.into()), body, "malformed_signature"),
        forgery("Stripe-style t=,v1=", Some(format!("t={now},v1={digest}")), body, "malformed_signature"),
        forgery("uppercase digest", Some(format!("v={now},d={}", digest.to_uppercase())), body, "malformed_signature"),
        forgery("truncated digest", Some(format!("v={now},d={}", &digest[..63])), body, "malformed_signature"),
        forgery("trailing field", Some(format!("{genuine},x=1")), body, "malformed_signature"),
        forgery("two signatures", Some(format!("{genuine},{genuine}")), body, "malformed_signature"),
        forgery("seconds instead of milliseconds", Some(sign(body, key, now / 1000)), body, "stale_signature"),
        forgery("stale by 5 min 1 s", Some(sign(body, key, now - 301_000)), body, "stale_signature"),
        forgery("future by 5 min 1 s", Some(sign(body, key, now + 301_000)), body, "stale_signature"),
        forgery("tampered body", Some(genuine.clone()), &tampered, "bad_signature"),
        forgery("another key", Some(sign(body, b"key_other_retell_account", now)), body, "bad_signature"),
        forgery("another body's signature", Some(sign(b"{}", key, now)), body, "bad_signature"),
        forgery("timestamp changed after signing", Some(format!("v={},d={digest}", now + 1)), body, "bad_signature"),
        forgery("empty key", Some(sign(body, b"", now)), body, "bad_signature"),
    ]
}

async fn send_forgeries(
    app: &TestApp,
    path: &str,
    forgeries: &[Forgery],
    header_name: &str,
    extra: &[(&str, &str)],
) -> usize {
    let mut refused = 0;
    for forgery in forgeries {
        let mut headers = vec![JSON];
        headers.extend_from_slice(extra);
        if let Some(value) = &forgery.header {
            headers.push((header_name, value.as_str()));
        }
        let (status, body) = post(app, path, forgery.body.clone(), &headers).await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (StatusCode::UNAUTHORIZED, forgery.code),
            "{path}, {}: {body}",
            forgery.name
        );
        refused += 1;
    }
    refused
}

/// BK-6: unsigned, malformed, stale, future-dated, tampered and wrongly keyed Retell requests are
/// refused with 401 at all three routes, and not a row nor a Cal.com request changes; the same
/// bodies genuinely signed do act.
#[tokio::test]
async fn forged_retell_requests_get_401_and_change_nothing() {
    let app = TestApp::spawn().await;
    // A call that holds a slot: a forged `call_ended` would free it.
    let holder = CallFixture::new();
    let held = app.post_signed("/retell/functions", holding_call(&holder, "11:00").into_bytes()).await;
    assert_eq!(held.status(), StatusCode::OK);

    let caller = CallFixture::new();
    let default_mode = holding_call(&caller, "10:00").into_bytes();
    let args_only = json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "12:00", "staff": "Ben"})
        .to_string()
        .into_bytes();
    let args_headers = [("x-retell-call-id", caller.call_id.as_str()), ("x-retell-to-number", caller.to.as_str())];
    let webhook = json!({"event": "call_ended", "call": holder.json()}).to_string().into_bytes();

    let before = Fingerprint::settled(&app).await;
    let sim_before = sim_requests(&app);
    let mut refused = 0;
    refused +=
        send_forgeries(&app, "/retell/functions", &retell_forgeries(&app, &default_mode), "x-retell-signature", &[])
            .await;
    refused += send_forgeries(
        &app,
        "/retell/functions/check_availability",
        &retell_forgeries(&app, &args_only),
        "x-retell-signature",
        &args_headers,
    )
    .await;
    refused +=
        send_forgeries(&app, "/retell/webhook", &retell_forgeries(&app, &webhook), "x-retell-signature", &[]).await;
    let changes = before.diff(&Fingerprint::of(&app).await);
    assert!(changes.is_empty(), "forged requests changed the database: {changes:#?}");
    assert_eq!(sim_requests(&app), sim_before, "forged requests reached Cal.com");

    // Control: the same bodies, genuinely signed, hold two slots and free the holder's.
    let mut accepted = 0;
    for (path, body, extra) in [
        ("/retell/functions", default_mode, &[][..]),
        ("/retell/functions/check_availability", args_only, &args_headers[..]),
        ("/retell/webhook", webhook, &[][..]),
    ] {
        let signature = app.sign(&body);
        let mut headers = vec![JSON, ("x-retell-signature", signature.as_str())];
        headers.extend_from_slice(extra);
        let (status, answer) = post(&app, path, body, &headers).await;
        assert!(status.is_success(), "{path}: {status} {answer}");
        accepted += 1;
    }
    let holds = app.parts.store.count_active_holds().await.unwrap();
    assert_eq!(holds, 2, "two new holds, the holder's freed by call_ended");
    println!(
        "webhook_guard source=retell routes=3 forgeries={refused} refused_401={refused} db_changes=0 calcom_requests=0 genuine_accepted={accepted}"
    );
}

/// BK-3 with BK-6: the very same signed bytes sent twice are answered from the idempotency record
/// (same answer, `X-Idempotent-Replay`), book once, and change nothing the second time; after the
/// five-minute window the same bytes are stale.
#[tokio::test]
async fn a_replayed_signed_request_has_one_effect_and_goes_stale_after_the_window() {
    let app = TestApp::spawn().await;
    let call = CallFixture::new();
    let hold_body = holding_call(&call, "14:00");
    let signature = app.sign(hold_body.as_bytes());
    let send = |path: &'static str, body: String, signature: String| {
        let app = &app;
        async move {
            app.http
                .post(app.url(path))
                .header(JSON.0, JSON.1)
                .header("x-retell-signature", signature)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = send("/retell/functions", hold_body.clone(), signature.clone()).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first_text = first.text().await.unwrap();
    let after_first = Fingerprint::settled(&app).await;
    let replay = send("/retell/functions", hold_body.clone(), signature.clone()).await;
    assert_eq!(replay.headers().get("x-idempotent-replay").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(replay.text().await.unwrap(), first_text, "the stored answer, byte for byte");
    assert_eq!(after_first.diff(&Fingerprint::of(&app).await), Vec::<String>::new(), "the replay changed nothing");
    assert_eq!(app.parts.store.count_active_holds().await.unwrap(), 1);

    let token = serde_json::from_str::<serde_json::Value>(&first_text).unwrap()["reservation_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let book_body = json!({"name": "start_booking", "args": {"reservation_token": token, "customer_name": "Erika"}, "call": call.json()}).to_string();
    let book_signature = app.sign(book_body.as_bytes());
    let booked = send("/retell/functions", book_body.clone(), book_signature.clone()).await.text().await.unwrap();
    let rebooked = send("/retell/functions", book_body, book_signature).await.text().await.unwrap();
    assert_eq!(booked, rebooked);
    assert!(booked.contains("\"success\":true"), "{booked}");
    assert_eq!(app.sim().stats().bookings_created, 1, "one haircut at Cal.com, not two");

    let ended = json!({"event": "call_ended", "call": call.json()}).to_string();
    let ended_signature = app.sign(ended.as_bytes());
    assert_eq!(send("/retell/webhook", ended.clone(), ended_signature.clone()).await.status(), StatusCode::NO_CONTENT);
    let after_webhook = Fingerprint::settled(&app).await;
    assert_eq!(send("/retell/webhook", ended.clone(), ended_signature.clone()).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        after_webhook.diff(&Fingerprint::of(&app).await),
        Vec::<String>::new(),
        "a redelivered webhook is a no-op"
    );

    app.clock.advance(std::time::Duration::from_secs(301));
    let late = send("/retell/functions", hold_body, signature).await;
    assert_eq!(late.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&late.text().await.unwrap()), "stale_signature");
    println!(
        "webhook_guard replay sends=6 effects=3 (hold, booking, call end) duplicates_answered_from_record=3 after_window=stale"
    );
}

/// A web booker's booking for Anna tomorrow at 10:00 UTC: applied, it is busy time at salon A.
fn web_booking(trigger: &str) -> String {
    json!({
        "triggerEvent": trigger, "createdAt": "2026-11-25T07:00:00Z",
        "payload": {"uid": "web-booker-7", "eventTypeId": 1101, "startTime": "2026-11-26T10:00:00Z", "endTime": "2026-11-26T10:30:00Z",
                    "title": "Web", "status": "ACCEPTED", "organizer": {"id": 101, "name": "Anna", "email": "anna@x", "timeZone": "Europe/Berlin"},
                    "attendees": [], "metadata": {}}
    })
    .to_string()
}

fn calcom_sign(secret: &str, body: &[u8]) -> String {
    slotkeeper::calcom::webhook::sign(secret.as_bytes(), body)
}

/// BK-6 for Cal.com (which signs without a timestamp; redeliveries are deduplicated by digest):
/// unsigned, malformed, tampered, wrongly keyed and other-salon signatures get 401 and change
/// nothing; the genuine delivery applies once, its redelivery is a no-op.
#[tokio::test]
async fn forged_cal_com_webhooks_get_401_and_change_nothing() {
    let app = TestApp::spawn_with(Spawn { tweak: Box::new(add_second_tenant), ..Default::default() }).await;
    let body = web_booking("BOOKING_CREATED").into_bytes();
    let genuine = calcom_sign(SECRET_A, &body);
    let mut tampered = body.clone();
    tampered.insert(1, b' ');
    let forgery = |name, header: Option<String>, body: &[u8]| Forgery {
        name,
        header,
        body: body.to_vec(),
        code: if name == "unsigned" { "missing_signature" } else { "bad_signature" },
    };
    let forgeries = [
        forgery("unsigned", None, &body),
        forgery("empty header", Some(String::new()), &body),
        forgery("uppercase hex", Some(genuine.to_uppercase()), &body),
        forgery("63 hex digits", Some(genuine[..63].to_owned()), &body),
        forgery("65 hex digits", Some(format!("{genuine}0")), &body),
        forgery("not hex", Some("z".repeat(64)), &body),
        forgery("GitHub-style sha256= prefix", Some(format!("sha256={genuine}")), &body),
        forgery(
            "Retell-style header",
            Some(sign(&body, SECRET_A.as_bytes(), app.clock.now().timestamp_millis())),
            &body,
        ),
        forgery("tampered body", Some(genuine.clone()), &tampered),
        forgery("wrong secret", Some(calcom_sign("whsec_guess", &body)), &body),
        forgery("the Retell key as secret", Some(calcom_sign(RETELL_KEY, &body)), &body),
        forgery("Cal.com's no-secret marker", Some(calcom_sign("no-secret-provided", &body)), &body),
    ];
    let before = Fingerprint::settled(&app).await;
    let sim_before = sim_requests(&app);
    let mut refused = send_forgeries(&app, "/calcom/webhook", &forgeries, "x-cal-signature-256", &[]).await;
    refused +=
        send_forgeries(&app, "/calcom/webhook?tenant=salon-beispiel", &forgeries, "x-cal-signature-256", &[]).await;
    // Salon B's genuine secret, presented for salon A.
    let other_salon = [forgery("salon B's secret for salon A", Some(calcom_sign(SECRET_B, &body)), &body)];
    refused +=
        send_forgeries(&app, "/calcom/webhook?tenant=salon-beispiel", &other_salon, "x-cal-signature-256", &[]).await;
    assert_eq!(before.diff(&Fingerprint::of(&app).await), Vec::<String>::new(), "forged webhooks changed the database");
    assert_eq!(sim_requests(&app), sim_before);

    let (status, applied) =
        post(&app, "/calcom/webhook?tenant=salon-beispiel", body.clone(), &[JSON, ("x-cal-signature-256", &genuine)])
            .await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert!(applied.contains("\"busy_added\""), "the control acts: {applied}");
    let after_genuine = Fingerprint::settled(&app).await;
    assert_ne!(after_genuine, before);
    let (status, duplicate) =
        post(&app, "/calcom/webhook?tenant=salon-beispiel", body, &[JSON, ("x-cal-signature-256", &genuine)]).await;
    assert_eq!((status, duplicate.as_str()), (StatusCode::OK, r#"{"status":"duplicate"}"#));
    assert_eq!(
        after_genuine.diff(&Fingerprint::of(&app).await),
        Vec::<String>::new(),
        "the redelivery changed nothing"
    );
    println!(
        "webhook_guard source=calcom forgeries={refused} refused_401={refused} db_changes=0 genuine_applied=1 redelivery=duplicate"
    );
}

/// BK-6: the signature is checked on the raw bytes before the content type, the JSON and the
/// database: an unsigned non-JSON body is 401 (not 415 or 400), even with the store closed.
#[tokio::test]
async fn the_signature_is_checked_before_content_type_json_and_the_database() {
    let app = TestApp::spawn().await;
    let routes = ["/retell/functions", "/retell/functions/check_availability", "/retell/webhook", "/calcom/webhook"];
    for path in routes {
        for (content_type, body) in
            [("application/json", "{not json"), ("text/plain", "hello"), ("application/json", "")]
        {
            let (status, answer) = post(&app, path, body, &[("content-type", content_type)]).await;
            assert_eq!(
                (status, error_code(&answer).as_str()),
                (StatusCode::UNAUTHORIZED, "missing_signature"),
                "{path} {content_type} {body:?}"
            );
        }
    }
    // Signed, the same bodies reach the later checks: the checks exist, and come after.
    let signed = |body: &str| app.sign(body.as_bytes());
    let (status, _) =
        post(&app, "/retell/functions", "{not json", &[JSON, ("x-retell-signature", &signed("{not json"))]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = post(
        &app,
        "/retell/functions",
        "hello",
        &[("content-type", "text/plain"), ("x-retell-signature", &signed("hello"))],
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    app.parts.store.close().await;
    for path in routes {
        let (status, answer) = post(&app, path, r#"{"event":"call_started"}"#, &[JSON]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} without a store: {answer}");
    }
    let started = json!({"event": "call_started", "call": CallFixture::new().json()}).to_string();
    let (status, answer) =
        post(&app, "/retell/webhook", started.clone(), &[JSON, ("x-retell-signature", &signed(&started))]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "control: a signed webhook needs the store: {answer}");
}

/// Sends `total` bytes as a chunked body (no Content-Length) over a raw socket; returns the status.
fn chunked_post(addr: std::net::SocketAddr, path: &str, signature: &str, total: usize) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nX-Retell-Signature: {signature}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let _ = stream.write_all(head.as_bytes());
    let chunk = vec![b' '; 8192];
    let mut sent = 0;
    while sent < total {
        let size = chunk.len().min(total - sent);
        // The server may answer 413 and close before everything is written: stop then.
        if stream
            .write_all(format!("{size:x}\r\n").as_bytes())
            .and_then(|_| stream.write_all(&chunk[..size]))
            .and_then(|_| stream.write_all(b"\r\n"))
            .is_err()
        {
            break;
        }
        sent += size;
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no HTTP status in {text:?}"))
}

/// BK-6: a body over its route's limit is refused with 413 before any signature work (a genuine,
/// a forged and a missing signature all get 413), also when it arrives chunked without a length;
/// a body of exactly the limit is read. Retell routes and the Cal.com webhook have their own
/// limits (lowered here so the test stays small; the defaults are tested with real transcripts).
#[tokio::test]
async fn oversized_bodies_get_413_before_any_signature_work() {
    let app = TestApp::spawn_with(crate::helpers::Spawn {
        tweak: Box::new(|s| {
            s.http.retell_body_limit_bytes = 96 * 1024;
            s.http.body_limit_bytes = 16 * 1024;
        }),
        ..Default::default()
    })
    .await;
    let (retell_limit, small_limit) =
        (app.parts.settings.http.retell_body_limit_bytes, app.parts.settings.http.body_limit_bytes);
    let envelope = json!({"name": "get_appointments", "args": {}, "call": CallFixture::new().json()}).to_string();
    let padded = |size: usize| format!("{envelope}{}", " ".repeat(size - envelope.len()));
    let before = Fingerprint::settled(&app).await;
    for (path, limit) in [
        ("/retell/functions", retell_limit),
        ("/retell/functions/get_appointments", retell_limit),
        ("/retell/webhook", retell_limit),
        ("/retell/inbound", retell_limit),
        ("/calcom/webhook", small_limit),
    ] {
        let over = padded(limit + 1);
        let genuine = app.sign(over.as_bytes());
        for signature in [Some(genuine.as_str()), Some("v=1,d=00"), None] {
            let mut headers = vec![JSON];
            if let Some(signature) = signature {
                headers.push(("x-retell-signature", signature));
                headers.push(("x-cal-signature-256", signature));
            }
            let (status, answer) = post(&app, path, over.clone(), &headers).await;
            assert_eq!(
                (status, error_code(&answer).as_str()),
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
                "{path} signature {signature:?}"
            );
        }
        let addr = app.addr;
        let signature = app.sign(b"");
        let status =
            tokio::task::spawn_blocking(move || chunked_post(addr, path, &signature, 4 * limit)).await.unwrap();
        assert_eq!(status, 413, "{path}, chunked without a length");
    }
    assert_eq!(before.diff(&Fingerprint::of(&app).await), Vec::<String>::new());
    let exact = padded(retell_limit);
    let response = app.post_signed("/retell/functions", exact.into_bytes()).await;
    assert_eq!(response.status(), StatusCode::OK, "a body of exactly {retell_limit} bytes is read");
    println!(
        "size_guard retell_limit={retell_limit} small_limit={small_limit} routes=5 over_limit_413=15 chunked_413=5 at_limit_ok=1"
    );
}
