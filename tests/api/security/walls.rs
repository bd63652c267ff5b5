//! Invariant 6, tenants are walls: a caller of salon B (its own number and agent) cannot use,
//! see or change salon A's holds, bookings or calendar — not by token, not by booking id, not by
//! sharing a phone number with A's customer, and not through salon B's genuine Cal.com webhooks.
//! Each refusal has a control: the same request at salon A does work.

use reqwest::StatusCode;
use serde_json::{Value, json};
use slotkeeper::domain::{AppointmentId, ReservationToken};
use slotkeeper::store::{AppointmentStatus, ReservationStatus};

use super::post;
use crate::helpers::{CallFixture, SECOND_AGENT, SECOND_NUMBER, Spawn, TestApp, add_second_tenant};
use crate::retell::{book, check};

async fn two_salons() -> TestApp {
    TestApp::spawn_with(Spawn { tweak: Box::new(add_second_tenant), ..Default::default() }).await
}

/// A call to salon B from `from`.
fn salon_b_call(from: &str) -> CallFixture {
    let mut call = CallFixture::new();
    (call.from, call.to, call.agent) = (from.to_owned(), SECOND_NUMBER.into(), SECOND_AGENT.into());
    call
}

async fn answer(app: &TestApp, call: &CallFixture, function: &str, args: Value) -> Value {
    let (status, body) = app.call(call, function, args).await;
    assert_eq!(status, StatusCode::OK, "{function}: {body}");
    body
}

#[tokio::test]
async fn another_salons_reservation_token_is_worthless_and_leaves_the_hold_intact() {
    let app = two_salons().await;
    let customer = CallFixture::new();
    let held = check(
        &app,
        &customer,
        json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "10:00", "staff": "Ben"}),
    )
    .await;
    let token = held["reservation_token"].as_str().unwrap().to_owned();
    let intruder = salon_b_call(&customer.from);
    for function in ["start_booking", "release_reservation"] {
        let refused =
            answer(&app, &intruder, function, json!({"reservation_token": token, "customer_name": "Mallory"})).await;
        assert_eq!(
            (refused["success"].as_bool(), refused["reason"].as_str()),
            (Some(false), Some("not_found")),
            "{function}: {refused}"
        );
    }
    // "Args only" mode, attributed to salon B by its headers.
    let body = json!({"reservation_token": token, "customer_name": "Mallory"}).to_string();
    let signature = app.sign(body.as_bytes());
    let headers = [
        ("content-type", "application/json"),
        ("x-retell-signature", signature.as_str()),
        ("x-retell-call-id", intruder.call_id.as_str()),
        ("x-retell-to-number", SECOND_NUMBER),
    ];
    let (status, refused) = post(&app, "/retell/functions/start_booking", body, &headers).await;
    assert_eq!(status, StatusCode::OK);
    assert!(refused.contains("\"not_found\""), "{refused}");

    let reservation = app.parts.store.get_reservation(&ReservationToken::new(&token)).await.unwrap().unwrap();
    assert_eq!(reservation.status, ReservationStatus::Active, "the hold survived the intruder");
    let own = book(&app, &customer, &token, "Erika").await;
    assert_eq!(own["success"], true, "control: salon A's caller books it: {own}");
}

#[tokio::test]
async fn another_salons_booking_cannot_be_seen_cancelled_or_moved_even_from_the_same_phone_number() {
    let app = two_salons().await;
    let customer = CallFixture::new();
    let held = check(
        &app,
        &customer,
        json!({"service": "Herrenhaarschnitt", "date": "Freitag", "time": "15:00", "staff": "Ben"}),
    )
    .await;
    let booked = book(&app, &customer, held["reservation_token"].as_str().unwrap(), "Karl").await;
    let booking_id = booked["booking_id"].as_str().unwrap().to_owned();
    super::Fingerprint::settled(&app).await; // the booking's Cal.com sync is over
    let before = app.parts.store.get_appointment(&AppointmentId::new(&booking_id)).await.unwrap().unwrap();
    let sim_before = app.sim().stats();

    // The same phone number calls salon B.
    let intruder = salon_b_call(&customer.from);
    let listed = answer(&app, &intruder, "get_appointments", json!({})).await;
    assert_eq!(listed["appointments"].as_array().map(Vec::len), Some(0), "{listed}");
    let cancel = answer(&app, &intruder, "cancel_booking", json!({"booking_id": booking_id})).await;
    assert_eq!(cancel["reason"], "no_appointment", "{cancel}");
    let cancel_by_day = answer(&app, &intruder, "cancel_booking", json!({"date": "Freitag"})).await;
    assert_eq!(cancel_by_day["reason"], "no_appointment", "{cancel_by_day}");
    let moved = answer(
        &app,
        &intruder,
        "reschedule_booking",
        json!({"booking_id": booking_id, "new_date": "Freitag", "new_time": "16:00"}),
    )
    .await;
    assert_eq!(moved["reason"], "no_appointment", "{moved}");

    let after = app.parts.store.get_appointment(&AppointmentId::new(&booking_id)).await.unwrap().unwrap();
    assert_eq!(
        (after.status, after.start, after.reschedule_count, after.updated_at),
        (before.status, before.start, before.reschedule_count, before.updated_at)
    );
    let sim_after = app.sim().stats();
    assert_eq!(
        (sim_after.bookings_cancelled, sim_after.bookings_rescheduled),
        (sim_before.bookings_cancelled, sim_before.bookings_rescheduled)
    );

    // Control: the same number at salon A sees and can cancel it.
    let mut again = CallFixture::new();
    again.from = customer.from.clone();
    let mine = answer(&app, &again, "get_appointments", json!({})).await;
    assert_eq!(mine["appointments"][0]["booking_id"], booking_id.as_str(), "{mine}");
    let cancelled = answer(&app, &again, "cancel_booking", json!({"booking_id": booking_id})).await;
    assert_eq!(cancelled["booking_status"], "cancelled", "{cancelled}");
    let status = app.parts.store.get_appointment(&AppointmentId::new(&booking_id)).await.unwrap().unwrap().status;
    assert_eq!(status, AppointmentStatus::Cancelled);
}

/// A web booker's appointment with Anna tomorrow 11:00 Berlin, in salon A's Cal.com ids.
fn web_booking(trigger: &str) -> String {
    json!({
        "triggerEvent": trigger, "createdAt": "2026-11-25T07:00:00Z",
        "payload": {"uid": "web-anna-11", "eventTypeId": 1101, "startTime": "2026-11-26T10:00:00Z", "endTime": "2026-11-26T10:30:00Z",
                    "title": "Web", "status": "ACCEPTED", "organizer": {"id": 101, "name": "Anna", "email": "anna@x", "timeZone": "Europe/Berlin"},
                    "attendees": [], "metadata": {}}
    })
    .to_string()
}

async fn deliver(app: &TestApp, tenant: &str, secret: &str, body: String) -> Value {
    let signature = slotkeeper::calcom::webhook::sign(secret.as_bytes(), body.as_bytes());
    let (status, answer) = post(
        app,
        &format!("/calcom/webhook?tenant={tenant}"),
        body,
        &[("content-type", "application/json"), ("x-cal-signature-256", &signature)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    serde_json::from_str(&answer).unwrap()
}

/// Whether a new caller of salon A can hold Anna tomorrow at 11:00 (free) or not (busy).
async fn anna_free_at_eleven(app: &TestApp) -> bool {
    let call = CallFixture::new();
    let answer =
        check(app, &call, json!({"service": "Herrenhaarschnitt", "date": "morgen", "time": "11:00", "staff": "Anna"}))
            .await;
    let free = answer["reservation_token"].as_str();
    if let Some(token) = free {
        let released = app.call(&call, "release_reservation", json!({"reservation_token": token})).await;
        assert_eq!(released.0, StatusCode::OK, "{released:?}");
    }
    free.is_some()
}

#[tokio::test]
async fn one_salons_cal_com_webhooks_never_change_another_salons_calendar() {
    let app = two_salons().await;
    assert!(anna_free_at_eleven(&app).await);
    // Salon B's genuine webhook naming salon A's event type and stylist: nothing at salon A.
    let created_at_b = deliver(&app, "salon-zwei", "whsec_test_salon_zwei", web_booking("BOOKING_CREATED")).await;
    assert_eq!(created_at_b["effect"], "unknown_staff", "{created_at_b}");
    assert!(anna_free_at_eleven(&app).await, "salon B's webhook made salon A's stylist busy");
    // Control: the same webhook from salon A's Cal.com makes her busy.
    let created_at_a =
        deliver(&app, "salon-beispiel", "whsec_demo_salon_beispiel", web_booking("BOOKING_CREATED")).await;
    assert_eq!(created_at_a["effect"], "busy_added", "{created_at_a}");
    assert!(!anna_free_at_eleven(&app).await);
    // Salon B's genuine cancellation of salon A's booking uid: she stays busy.
    deliver(&app, "salon-zwei", "whsec_test_salon_zwei", web_booking("BOOKING_CANCELLED")).await;
    assert!(!anna_free_at_eleven(&app).await, "salon B's webhook freed salon A's stylist");
    // Control: salon A's own cancellation frees her.
    deliver(&app, "salon-beispiel", "whsec_demo_salon_beispiel", web_booking("BOOKING_CANCELLED")).await;
    assert!(anna_free_at_eleven(&app).await);
}
