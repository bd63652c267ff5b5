//! The protocol around the functions: modes, limits, refusals with precise statuses, the tool
//! definitions salons paste into Retell, and the German answers for dates and services (issue 4).

use reqwest::StatusCode;
use serde_json::{Value, json};
use slotkeeper::http::retell::Function;

use crate::helpers::{CallFixture, TestApp};
use crate::retell::{book, check};

async fn raw(app: &TestApp, path: &str, body: &str, content_type: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut request = app
        .http
        .post(app.url(path))
        .header("content-type", content_type)
        .header("x-retell-signature", app.sign(body.as_bytes()));
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let response = request.body(body.to_owned()).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn args_only_mode_reads_the_call_id_and_tenant_from_headers() {
    let app = TestApp::spawn().await;
    let call = CallFixture::new();
    let body = json!({"service": "Damenhaarschnitt", "date": "morgen", "time": "12:00"}).to_string();
    let headers = [
        ("x-retell-call-id", call.call_id.as_str()),
        ("x-retell-to-number", call.to.as_str()),
        ("x-retell-from-number", call.from.as_str()),
    ];
    let (status, answer) =
        raw(&app, "/retell/functions/check_availability_v17", &body, "application/json", &headers).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer["reservation_token"].is_string(), "{answer}");
    // The same call later without any tenant headers: attributed by the recorded call.
    let token = answer["reservation_token"].as_str().unwrap();
    let body = json!({"reservation_token": token, "customer_name": "Ilse", "call_id": call.call_id}).to_string();
    let (status, answer) = raw(&app, "/retell/functions/start_booking", &body, "application/json", &[]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["success"], true, "{answer}");
}

#[tokio::test]
async fn placeholder_call_ids_unknown_tenants_and_unknown_functions_are_refused() {
    let app = TestApp::spawn().await;
    let args = json!({"service": "Dauerwelle", "date": "morgen"});
    for placeholder in ["call_1", "call_001", "12345", "undefined", "None", "current", "null", ""] {
        let mut call = CallFixture::new();
        call.call_id = placeholder.into();
        let (status, body) = app.call(&call, "check_availability", args.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{placeholder:?}: {body}");
        assert_eq!(body["error"]["code"], "invalid_call_id");
    }
    let mut stranger = CallFixture::new();
    stranger.to = "+4989999999".into();
    stranger.agent = "agent_unknown".into();
    let (status, body) = app.call(&stranger, "check_availability", args.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "unknown_tenant");
    assert!(body["message"].as_str().unwrap().contains("keinem Salon"));
    let mut unknown_agent = CallFixture::new();
    unknown_agent.agent = "agent_not_in_config".into();
    let (status, _) = app.call(&unknown_agent, "check_availability", args.clone()).await;
    assert_eq!(status, StatusCode::OK, "the called number decides; agent ids are optional in the configuration");
    let (status, body) = app.call(&CallFixture::new(), "book_appointment", args).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "unknown_function");
}

/// Tenants are walls: a number of one salon with the agent of another is not attributed, and a
/// token of one salon is worthless in another's call.
#[tokio::test]
async fn calls_are_never_attributed_across_tenants() {
    let app = TestApp::spawn_with(crate::helpers::Spawn {
        tweak: Box::new(crate::helpers::add_second_tenant),
        ..Default::default()
    })
    .await;
    let mut mixed = CallFixture::new();
    mixed.agent = crate::helpers::SECOND_AGENT.into();
    let (status, body) =
        app.call(&mixed, "check_availability", json!({"service": "Dauerwelle", "date": "morgen"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "ambiguous_tenant");
    let first = CallFixture::new();
    let held = check(&app, &first, json!({"service": "Dauerwelle", "date": "morgen", "time": "10:00"})).await;
    let token = held["reservation_token"].as_str().unwrap();
    let mut other_salon = first.clone();
    other_salon.to = crate::helpers::SECOND_NUMBER.into();
    other_salon.agent = crate::helpers::SECOND_AGENT.into();
    let stolen = book(&app, &other_salon, token, "Mallory").await;
    assert_eq!(stolen["reason"], "not_found", "same call id, other tenant: {stolen}");
    let own = book(&app, &first, token, "Erika").await;
    assert_eq!(own["success"], true, "{own}");
}

#[tokio::test]
async fn bodies_are_limited_typed_and_named_precisely() {
    // A small Retell limit for this test (the default, 4 MiB, is tested with real transcripts).
    let app = TestApp::spawn_with(crate::helpers::Spawn {
        tweak: Box::new(|s| s.http.retell_body_limit_bytes = 65_536),
        ..Default::default()
    })
    .await;
    let call = CallFixture::new();
    let huge = json!({"name": "check_availability", "args": {"service": "x".repeat(70_000), "date": "morgen"}, "call": call.json()}).to_string();
    let (status, body) = raw(&app, "/retell/functions", &huge, "application/json", &[]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let ok_body =
        json!({"name": "check_availability", "args": {"service": "Dauerwelle", "date": "morgen"}, "call": call.json()})
            .to_string();
    let (status, _) = raw(&app, "/retell/functions", &ok_body, "text/plain", &[]).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, body) = raw(&app, "/retell/functions", "{not json", "application/json", &[]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_json")));
    let missing = json!({"name": "check_availability", "args": {"date": "morgen"}, "call": call.json()}).to_string();
    let (status, body) = raw(&app, "/retell/functions", &missing, "application/json", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"].as_str().unwrap().contains("`service`"), "the field is named: {body}");
}

/// `config/retell-tools.json` and the server agree: every tool is a function the server knows, its
/// required parameters are exactly what the server requires, and every function has a tool.
#[tokio::test]
async fn the_tool_definitions_and_the_server_agree() {
    let app = TestApp::spawn().await;
    let tools: Value = serde_json::from_str(include_str!("../../config/retell-tools.json")).unwrap();
    let tools = tools["tools"].as_array().unwrap();
    let mut covered = Vec::new();
    for tool in tools {
        let name = tool["name"].as_str().unwrap();
        let function = Function::parse(name).unwrap_or_else(|| panic!("tool {name} is not a server function"));
        covered.push(function);
        let parameters = &tool["parameters"];
        assert_eq!(parameters["type"], "object");
        let required: Vec<&str> =
            parameters["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let properties = parameters["properties"].as_object().unwrap();
        for field in &required {
            assert!(properties.contains_key(*field), "{name}: required {field} has no schema");
        }
        let full: serde_json::Map<String, Value> = required.iter().map(|f| (f.to_string(), json!("morgen"))).collect();
        let (status, body) = app.call(&CallFixture::new(), name, Value::Object(full.clone())).await;
        assert_eq!(status, StatusCode::OK, "{name} with its required parameters: {body}");
        // Without a field the tool requires, the server refuses: a 400 naming the field, or (for
        // what a caller can still supply, like the name) a German question back.
        for field in &required {
            let mut partial = full.clone();
            partial.remove(*field);
            let (status, body) = app.call(&CallFixture::new(), name, Value::Object(partial)).await;
            let named = status == StatusCode::BAD_REQUEST && body["error"]["message"].as_str().unwrap().contains(field);
            let asked_back = status == StatusCode::OK && body["success"] == false;
            assert!(named || asked_back, "{name} without {field}: {status} {body}");
        }
    }
    for function in Function::ALL {
        assert!(covered.contains(&function), "{} has no tool definition", function.name());
    }
}

#[tokio::test]
async fn dates_and_times_are_answered_in_german_and_never_with_a_wrong_slot() {
    let app = TestApp::spawn().await;
    let call = CallFixture::new();
    let ask = |date: &str, time: Option<&str>| {
        let mut args = json!({"service": "Herrenhaarschnitt", "date": date});
        if let Some(time) = time {
            args["time"] = json!(time);
        }
        args
    };
    // Friday 27 November at 10:30 ("nächsten Freitag halb elf").
    let friday = check(&app, &call, ask("nächsten Freitag", Some("halb elf"))).await;
    assert_eq!(friday["start"], "2026-11-27T10:30:00+01:00", "{friday}");
    let closed = check(&app, &CallFixture::new(), ask("Sonntag", Some("10 Uhr"))).await;
    assert_eq!((closed["success"].as_bool(), closed["reason"].as_str()), (Some(false), Some("closed")), "{closed}");
    assert!(
        closed["message"].as_str().unwrap().starts_with("Am Sonntag, 29. November haben wir leider geschlossen."),
        "{closed}"
    );
    let past = check(&app, &CallFixture::new(), ask("20.11.2026", Some("10:00"))).await;
    assert_eq!(past["reason"], "past_date");
    let late = check(&app, &CallFixture::new(), ask("morgen", Some("19 Uhr"))).await;
    assert_eq!(late["reason"], "outside_hours", "{late}");
    assert!(late["message"].as_str().unwrap().contains("9:00 bis 18:00 Uhr"), "{late}");
    let saturday = check(&app, &CallFixture::new(), ask("Samstag", Some("13:45"))).await;
    assert_eq!(saturday["reason"], "outside_hours", "a 30-minute cut at 13:45 ends after closing at 14:00: {saturday}");
    let odd = check(&app, &CallFixture::new(), ask("morgen", Some("10:07"))).await;
    assert_eq!(odd["reason"], "off_grid");
    let nonsense = check(&app, &CallFixture::new(), ask("am Blumentag", None)).await;
    assert_eq!(nonsense["reason"], "unparsable_date");
    let day = check(&app, &CallFixture::new(), ask("übermorgen", None)).await;
    assert_eq!(day["available"], true, "{day}");
    assert!(
        day["message"].as_str().unwrap().starts_with("Am Freitag, 27. November sind zum Beispiel noch 9:00 Uhr"),
        "{day}"
    );
    assert!(day["free_times"].as_array().unwrap().len() > 10);
    let soon = check(&app, &CallFixture::new(), ask("heute", Some("8:00"))).await;
    assert_eq!(soon["success"], false, "{soon}");
}

#[tokio::test]
async fn services_are_matched_tolerantly_and_unknown_ones_listed() {
    let app = TestApp::spawn().await;
    for said in ["dauerwelle", "Faerben", "Herrenschnitt"] {
        let answer =
            check(&app, &CallFixture::new(), json!({"service": said, "date": "morgen", "time": "09:00"})).await;
        assert_eq!(answer["success"], true, "{said}: {answer}");
    }
    let unknown = check(&app, &CallFixture::new(), json!({"service": "Maniküre", "date": "morgen"})).await;
    assert_eq!(unknown["reason"], "unknown_service");
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("Herrenhaarschnitt, Damenhaarschnitt, Färben, Ponyschnitt und Dauerwelle"),
        "{unknown}"
    );
    let vague = check(&app, &CallFixture::new(), json!({"service": "Haarschnitt", "date": "morgen"})).await;
    assert_eq!(vague["reason"], "ambiguous_service");
    assert_eq!(vague["message"], "Meinen Sie Herrenhaarschnitt oder Damenhaarschnitt?");
    let ben = check(&app, &CallFixture::new(), json!({"service": "Färben", "date": "morgen", "staff": "Ben"})).await;
    assert_eq!(ben["reason"], "staff_cannot", "Ben does not colour: {ben}");
    let nobody = check(&app, &CallFixture::new(), json!({"service": "Färben", "date": "morgen", "staff": "Zoe"})).await;
    assert_eq!(nobody["reason"], "unknown_staff");
}

#[tokio::test]
async fn cancel_and_reschedule_follow_the_policy_and_touch_only_the_callers_bookings() {
    let app = TestApp::spawn().await;
    let caller = CallFixture::new();
    // Book Friday 15:00 with Ben (more than 24 h ahead).
    let held = check(
        &app,
        &caller,
        json!({"service": "Herrenhaarschnitt", "date": "Freitag", "time": "15:00", "staff": "Ben"}),
    )
    .await;
    let booked = book(&app, &caller, held["reservation_token"].as_str().unwrap(), "Karl").await;
    assert_eq!(booked["success"], true);
    // Another caller (other number) cannot see or touch it.
    let (_, theirs) = app.call(&CallFixture::new(), "get_appointments", json!({})).await;
    assert_eq!(theirs["appointments"].as_array().unwrap().len(), 0);
    let (_, refused) =
        app.call(&CallFixture::new(), "cancel_booking", json!({"booking_id": booked["booking_id"]})).await;
    assert_eq!(refused["reason"], "no_appointment");
    // The caller calls again (new call, same number) and moves it to Friday 15:15 (overlapping the old time).
    let mut again = CallFixture::new();
    again.from = caller.from.clone();
    let (_, mine) = app.call(&again, "get_appointments", json!({})).await;
    assert_eq!(mine["appointments"].as_array().unwrap().len(), 1, "{mine}");
    let (_, moved) = app.call(&again, "reschedule_booking", json!({"new_date": "Freitag", "new_time": "15:15"})).await;
    assert_eq!(moved["success"], true, "{moved}");
    assert_eq!(moved["start"], "2026-11-27T15:15:00+01:00");
    let (_, moved) = app.call(&again, "reschedule_booking", json!({"new_date": "Freitag", "new_time": "16:00"})).await;
    assert_eq!(moved["success"], true, "{moved}");
    let (_, limit) = app.call(&again, "reschedule_booking", json!({"new_date": "Freitag", "new_time": "16:30"})).await;
    assert_eq!(limit["reason"], "reschedule_limit", "at most two moves: {limit}");
    // Within 24 h nothing can be cancelled by phone.
    app.clock.advance(std::time::Duration::from_secs(3600 * 48));
    let (_, late) = app.call(&again, "cancel_booking", json!({})).await;
    assert_eq!(late["reason"], "too_late", "{late}");
}

#[tokio::test]
async fn a_hidden_number_cannot_manage_bookings() {
    let app = TestApp::spawn().await;
    let mut hidden = CallFixture::new();
    hidden.from = "anonymous".into();
    for function in ["get_appointments", "cancel_booking"] {
        let (status, answer) = app.call(&hidden, function, json!({})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["reason"], "hidden_number", "{answer}");
    }
}

#[tokio::test]
async fn with_reservations_off_nothing_is_held_and_a_taken_slot_is_counted() {
    let app = TestApp::spawn().await;
    let flags = &app.parts.flags;
    let off = slotkeeper::flags::FlagValue { enabled: false, rollout_percent: 100 };
    flags.set(&"salon-beispiel".into(), slotkeeper::flags::RESERVATIONS, off, "test", app.clock.now()).await.unwrap();
    let first = CallFixture::new();
    let second = CallFixture::new();
    let offer_a =
        check(&app, &first, json!({"service": "Färben", "date": "morgen", "time": "10:00", "staff": "Anna"})).await;
    let offer_b =
        check(&app, &second, json!({"service": "Färben", "date": "morgen", "time": "10:00", "staff": "Anna"})).await;
    assert!(offer_a["message"].as_str().unwrap().starts_with("Der Termin ist frei"), "{offer_a}");
    assert!(offer_b["reservation_token"].is_string(), "both were told it is free: the old race");
    assert_eq!(app.parts.store.count_active_holds().await.unwrap(), 0, "no hold was made");
    let won = book(&app, &first, offer_a["reservation_token"].as_str().unwrap(), "Anna-Lena").await;
    assert_eq!(won["success"], true, "{won}");
    let lost = book(&app, &second, offer_b["reservation_token"].as_str().unwrap(), "Bert").await;
    assert_eq!(lost["reason"], "conflict", "taken after being told it was free: {lost}");
    let metrics = app.parts.metrics.render();
    assert!(metrics.contains("booking_slot_taken_after_offer_total"), "counted");
}

/// Overload is shed, not queued: with one request slot and a slow booking in it, the next request
/// gets 503 with Retry-After at once; a request that runs past its time limit gets 503 too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_shed_with_retry_after_and_slow_requests_time_out() {
    let app = std::sync::Arc::new(
        TestApp::spawn_with(crate::helpers::Spawn {
            tweak: Box::new(|s: &mut slotkeeper::config::Settings| {
                s.http.max_concurrent_requests = 1;
                s.http.request_timeout_ms = 600;
                s.calcom.booking_budget_ms = 5_000;
            }),
            ..Default::default()
        })
        .await,
    );
    let mut faults = calcom_sim::Faults::default();
    faults.endpoints.insert(
        "bookings.create".into(),
        calcom_sim::FaultSpec {
            latency: calcom_sim::Latency { fixed_ms: 1_500, ..Default::default() },
            ..Default::default()
        },
    );
    app.sim().set_faults(faults);
    let call = CallFixture::new();
    let held = check(&app, &call, json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "10:00"})).await;
    let token = held["reservation_token"].as_str().unwrap().to_owned();
    let slow = {
        let (app, call) = (app.clone(), call.clone());
        tokio::spawn(async move {
            app.call(&call, "start_booking", json!({"reservation_token": token, "customer_name": "Max"})).await
        })
    };
    let reached_calcom = crate::helpers::eventually(std::time::Duration::from_secs(5), || async {
        app.sim().stats().endpoint("bookings.create").in_flight > 0
    })
    .await;
    assert!(reached_calcom, "the booking is waiting on Cal.com");
    // While the booking occupies the only slot, another request is shed immediately.
    let shed = crate::helpers::eventually(std::time::Duration::from_secs(5), || async {
        let body = json!({"name": "find_alternatives", "args": {"service": "Dauerwelle", "date": "morgen"}, "call": CallFixture::new().json()}).to_string();
        let response = app.post_signed("/retell/functions", body.into_bytes()).await;
        response.status() == StatusCode::SERVICE_UNAVAILABLE && response.headers().get("retry-after").is_some()
    })
    .await;
    assert!(shed, "a second request is refused with 503 + Retry-After while the slot is taken");
    let (status, body) = slow.await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "the booking waited past the 600 ms request limit: {body}");
    assert_eq!(body["error"]["code"], "timeout");
    // Retell retries the timed-out call: the booking made before the timeout is the answer.
    let (status, retried) = app
        .call(&call, "start_booking", json!({"reservation_token": held["reservation_token"], "customer_name": "Max"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_eq!(retried["success"], true, "the retry finds the booking made before the timeout: {retried}");
    assert!(
        app.http.get(app.url("/health/live")).send().await.unwrap().status().is_success(),
        "health is outside the limits"
    );
}
