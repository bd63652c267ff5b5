//! Cal.com owns availability (issue 14, part 2): what a salon maintains in Cal.com — out of
//! office, busy blocks from connected calendars, date overrides — decides what callers are
//! offered, held and booked. The simulator is set per stylist through `PUT /_sim/availability`,
//! as a salon would set it in Cal.com; the service learns it from `GET /v2/slots`
//! (`calcom.availability_from_slots`). Ignored until the simulator has that endpoint.

use serde_json::{Value, json};
use slotkeeper::domain::ReservationToken;
use slotkeeper::store::ReservationStatus;

use crate::helpers::{CallFixture, Spawn, TestApp};
use crate::retell::{book, check};

/// Anna's Cal.com user (config/default.toml).
const ANNA: i64 = 101;

/// The salon's week as Cal.com would hold it for a stylist: Mon–Fri 09–18, Sat 09–14.
fn week() -> Value {
    json!([
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:00"},
        {"days": ["sat"], "start": "09:00", "end": "14:00"}
    ])
}

fn from_slots(settings: &mut slotkeeper::config::Settings) {
    settings.calcom.availability_from_slots = true;
}

/// Sets a stylist's availability in the simulator, then lets the service learn it (the warm).
async fn set_availability(app: &TestApp, user: i64, extra: Value) {
    let mut body =
        json!({"time_zone": "Europe/Berlin", "availability": week(), "overrides": [], "out_of_office": [], "busy": []});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let url = format!("{}/_sim/availability/{user}", app.sim().base_url());
    let response = app.http.put(&url).json(&body).send().await.unwrap();
    assert!(response.status().is_success(), "{}: {}", response.status(), response.text().await.unwrap());
    let report = app.parts.sync.warm_now().await;
    assert!(report.windows >= 1, "the warm read Cal.com's slots: {report}");
}

fn offered_staff(answer: &Value) -> Vec<String> {
    let mut staff: Vec<String> = answer["alternatives"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["staff"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if let Some(s) = answer["staff"].as_str() {
        staff.push(s.to_owned());
    }
    staff
}

#[tokio::test]
#[ignore = "needs the simulator's per-user availability (PUT /_sim/availability), issue 14 part 2"]
async fn a_stylist_out_of_office_in_cal_com_is_never_offered_or_held() {
    let app = TestApp::spawn_with(Spawn { tweak: Box::new(from_slots), ..Spawn::default() }).await;
    // Thursday 26 November, all day (Berlin).
    set_availability(
        &app,
        ANNA,
        json!({"out_of_office": [{"start": "2026-11-25T23:00:00Z", "end": "2026-11-26T23:00:00Z"}]}),
    )
    .await;
    let call = CallFixture::new();
    let asked = json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "10:00", "staff": "Anna"});
    let answer = check(&app, &call, asked).await;
    assert_ne!(answer["available"], true, "Anna is out of office: {answer}");
    assert!(answer["reservation_token"].is_null(), "{answer}");
    // Anyone else is offered at 10:00, never Anna.
    let other =
        check(&app, &CallFixture::new(), json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "10:00"}))
            .await;
    assert_eq!(other["available"], true, "{other}");
    assert!(offered_staff(&other).iter().all(|s| s != "Anna"), "{other}");
    // The day's list offers Anna nothing either.
    let day =
        check(&app, &CallFixture::new(), json!({"service": "Herrenhaarschnitt", "date": "morgen", "staff": "Anna"}))
            .await;
    assert_ne!(day["available"], true, "{day}");
}

#[tokio::test]
#[ignore = "needs the simulator's per-user availability (PUT /_sim/availability), issue 14 part 2"]
async fn a_busy_block_from_a_connected_calendar_is_not_offered() {
    let app = TestApp::spawn_with(Spawn { tweak: Box::new(from_slots), ..Spawn::default() }).await;
    // Thursday 10:00–11:00 Berlin busy in Anna's Google calendar.
    set_availability(&app, ANNA, json!({"busy": [{"start": "2026-11-26T09:00:00Z", "end": "2026-11-26T10:00:00Z"}]}))
        .await;
    let call = CallFixture::new();
    let answer =
        check(&app, &call, json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "10:30", "staff": "Anna"}))
            .await;
    assert_ne!(answer["available"], true, "{answer}");
    let starts: Vec<&str> =
        answer["alternatives"].as_array().unwrap().iter().filter_map(|a| a["start"].as_str()).collect();
    assert!(starts.iter().all(|s| !s.starts_with("2026-11-26T10:")), "nothing inside the busy block: {starts:?}");
    assert!(
        starts.contains(&"2026-11-26T11:00:00+01:00") || starts.contains(&"2026-11-26T09:30:00+01:00"),
        "{starts:?}"
    );
    // Right after the block is free.
    let after = check(
        &app,
        &CallFixture::new(),
        json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "11:00", "staff": "Anna"}),
    )
    .await;
    assert_eq!(after["available"], true, "{after}");
}

#[tokio::test]
#[ignore = "needs the simulator's per-user availability (PUT /_sim/availability), issue 14 part 2"]
async fn a_date_override_opening_a_sunday_is_offered_and_booked() {
    let app = TestApp::spawn_with(Spawn { tweak: Box::new(from_slots), ..Spawn::default() }).await;
    // Sunday 29 November, 10–14, only for Anna (the configured week has Sundays closed).
    set_availability(
        &app,
        ANNA,
        json!({"overrides": [{"date": "2026-11-29", "ranges": [{"start": "10:00", "end": "14:00"}]}]}),
    )
    .await;
    let call = CallFixture::new();
    let answer =
        check(&app, &call, json!({"service": "Herrenhaarschnitt", "date": "29.11.2026", "time": "10:00"})).await;
    assert_eq!(answer["available"], true, "{answer}");
    assert_eq!(answer["staff"], "Anna");
    assert_eq!(answer["start"], "2026-11-29T10:00:00+01:00");
    let booked = book(&app, &call, answer["reservation_token"].as_str().unwrap(), "Erika").await;
    assert_eq!(booked["success"], true, "{booked}");
    assert_eq!(booked["booking_status"], "confirmed", "Cal.com accepted the Sunday booking: {booked}");
    // Outside the override the Sunday stays closed.
    let late = check(
        &app,
        &CallFixture::new(),
        json!({"service": "Herrenhaarschnitt", "date": "29.11.2026", "time": "15:00"}),
    )
    .await;
    assert_ne!(late["available"], true, "{late}");
}

#[tokio::test]
#[ignore = "needs the simulator's per-user availability (PUT /_sim/availability), issue 14 part 2"]
async fn a_hold_whose_time_became_busy_in_cal_com_hears_the_conflict_not_a_failed_booking() {
    // Every booking re-checks (the day's answer is always "older" than 0 s).
    let app = TestApp::spawn_with(Spawn {
        tweak: Box::new(|s| {
            from_slots(s);
            s.calcom.availability_max_age_secs = 0;
        }),
        ..Spawn::default()
    })
    .await;
    set_availability(&app, ANNA, json!({})).await;
    let call = CallFixture::new();
    let answer =
        check(&app, &call, json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "11:00", "staff": "Anna"}))
            .await;
    assert_eq!(answer["available"], true, "{answer}");
    let token = answer["reservation_token"].as_str().unwrap().to_owned();
    // While the caller decides, Anna blocks 11:00–12:00 in her Google calendar. No webhook says so.
    let url = format!("{}/_sim/availability/{ANNA}", app.sim().base_url());
    let body = json!({"time_zone": "Europe/Berlin", "availability": week(),
        "busy": [{"start": "2026-11-26T10:00:00Z", "end": "2026-11-26T11:00:00Z"}]});
    assert!(app.http.put(&url).json(&body).send().await.unwrap().status().is_success());
    let bookings_before = app.sim().bookings().len();

    let booked = book(&app, &call, &token, "Max").await;
    assert_eq!(booked["success"], false, "{booked}");
    assert_eq!(booked["reason"], "conflict", "{booked}");
    assert!(booked["booking_status"].is_null(), "no booking was made, so none failed: {booked}");
    assert!(!booked["alternatives"].as_array().unwrap().is_empty(), "{booked}");
    assert_eq!(app.sim().bookings().len(), bookings_before, "nothing was sent to Cal.com as a booking");
    let hold = app.parts.store.get_reservation(&ReservationToken::new(&token)).await.unwrap().unwrap();
    assert_ne!(hold.status, ReservationStatus::Active);
    assert_ne!(hold.status, ReservationStatus::Converted);

    // A time that is still free books after its re-check.
    let again =
        check(&app, &call, json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "14:00", "staff": "Anna"}))
            .await;
    let ok = book(&app, &call, again["reservation_token"].as_str().unwrap(), "Max").await;
    assert_eq!(ok["success"], true, "{ok}");
    let text = app.parts.metrics.render();
    assert!(text.contains("calcom_recheck_total{result=\"conflict\"} 1"), "{text}");
    assert!(text.contains("calcom_recheck_total{result=\"fits\"} 1"), "{text}");
}
