//! Tenant walls: a tenant admin sees and changes only their salon; guessing another salon's
//! token, booking id or dead-letter id is a 404 and changes nothing; operators see everything.

use reqwest::StatusCode;
use serde_json::Value;
use slotkeeper::domain::{AppointmentId, ReservationToken};
use slotkeeper::store::{AppointmentStatus, OutboxStatus, ReservationStatus};

use super::{
    AdminClient, FIRST, FIRST_ADMIN, OPERATOR, SECOND, SECOND_ADMIN, booking, dead_letter, hold, second_salon_call,
    two_salons,
};
use crate::helpers::{CallFixture, TestApp};

struct Salon {
    token: String,
    call_id: String,
    booking_id: String,
    dead_letter: i64,
}

/// A hold, a booking and a dead letter in each salon.
async fn both_salons_busy(app: &TestApp) -> (Salon, Salon) {
    let first_call = CallFixture::new();
    let first_hold = hold(app, &first_call, "Dauerwelle", "10:00", "Erika Erste").await;
    let first_booking = booking(app, &CallFixture::new(), "15:00", "Berta Erste").await;
    let second_call = second_salon_call();
    let second_hold = hold(app, &second_call, "Dauerwelle", "10:00", "Zenzi Zweite").await;
    let second_booking = booking(app, &second_salon_call(), "15:00", "Yvonne Zweite").await;
    let first = Salon {
        token: token_of(&first_hold),
        call_id: first_call.call_id.clone(),
        dead_letter: dead_letter(app, FIRST, &first_booking).await,
        booking_id: first_booking,
    };
    let second = Salon {
        token: token_of(&second_hold),
        call_id: second_call.call_id.clone(),
        dead_letter: dead_letter(app, SECOND, &second_booking).await,
        booking_id: second_booking,
    };
    (first, second)
}

fn token_of(answer: &Value) -> String {
    answer["reservation_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_tenant_admin_lists_only_their_own_salon() {
    let app = two_salons().await;
    let (first, second) = both_salons_busy(&app).await;
    let anna = AdminClient::signed_in(&app, FIRST_ADMIN).await;
    let list = anna.get("/admin/reservations").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(&first.token) && !list.body.contains(&second.token), "own salon only");
    let asked_for_other = anna.get(&format!("/admin/reservations?tenant={SECOND}")).await;
    assert!(!asked_for_other.body.contains(&second.token), "the tenant filter cannot widen the wall");
    for search in [&second.token, &second.call_id, &"Zenzi".to_owned()] {
        let found = anna.get(&format!("/admin/reservations?q={search}")).await;
        assert!(
            found.body.contains("Keine Reservierungen gefunden."),
            "searching {search} finds nothing of salon-zwei"
        );
    }
    let bookings = anna.get(&format!("/admin/bookings?tenant={SECOND}")).await;
    assert!(bookings.body.contains(&first.booking_id) && !bookings.body.contains(&second.booking_id));
    assert!(bookings.body.contains(&format!("data-dead-letter=\"{}\"", first.dead_letter)));
    assert!(!bookings.body.contains(&format!("data-dead-letter=\"{}\"", second.dead_letter)));
    let flags = anna.get(&format!("/admin/flags?tenant={SECOND}")).await;
    assert!(
        flags.body.contains("data-tenant=\"salon-beispiel\"") && !flags.body.contains("data-tenant=\"salon-zwei\"")
    );
    let count: Value =
        serde_json::from_str(&anna.get(&format!("/admin/reservations/active-count?tenant={SECOND}")).await.body)
            .unwrap();
    assert_eq!(count["active"], 1, "own holds only: {count}");
}

#[tokio::test]
async fn guessing_another_salons_token_booking_or_dead_letter_is_a_404_and_changes_nothing() {
    let app = two_salons().await;
    let (_, second) = both_salons_busy(&app).await;
    let anna = AdminClient::signed_in(&app, FIRST_ADMIN).await;
    let reads =
        [format!("/admin/reservations/{}", second.token), format!("/admin/bookings/{}/cancel", second.booking_id)];
    for path in &reads {
        let page = anna.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            page.body.contains("Nicht gefunden") && !page.body.contains("Zenzi") && !page.body.contains("Yvonne"),
            "{path}"
        );
    }
    let writes: [(String, Vec<(&str, &str)>); 4] = [
        (format!("/admin/reservations/{}/release", second.token), vec![]),
        (format!("/admin/bookings/{}/cancel", second.booking_id), vec![]),
        (format!("/admin/dead-letters/{}/retry", second.dead_letter), vec![]),
        ("/admin/flags".into(), vec![("tenant", SECOND), ("flag", "reservations_enabled"), ("rollout_percent", "100")]),
    ];
    for (path, form) in &writes {
        assert_eq!(anna.submit(path, form).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let reservation = app.parts.store.get_reservation(&ReservationToken::new(&second.token)).await.unwrap().unwrap();
    assert_eq!(reservation.status, ReservationStatus::Active, "the hold is still held");
    let appointment = app.parts.store.get_appointment(&AppointmentId::new(&second.booking_id)).await.unwrap().unwrap();
    assert_eq!(appointment.status, AppointmentStatus::Confirmed, "the booking still stands");
    let job = app.parts.store.outbox_job_in_scope(second.dead_letter, None).await.unwrap().unwrap();
    assert_eq!(job.status, OutboxStatus::Dead, "the dead letter was not retried");
    assert!(app.parts.flags.get(&SECOND.into(), "reservations_enabled").unwrap().enabled, "the flag is untouched");
    assert!(app.parts.store.flag_audit(None, 10).await.unwrap().is_empty(), "nothing audited");

    let zora = AdminClient::signed_in(&app, SECOND_ADMIN).await;
    assert_eq!(
        zora.get(&format!("/admin/reservations/{}", second.token)).await.status,
        StatusCode::OK,
        "the owner sees it"
    );
}

#[tokio::test]
async fn an_operator_sees_every_salon_and_can_filter_by_one() {
    let app = two_salons().await;
    let (first, second) = both_salons_busy(&app).await;
    let operator = AdminClient::signed_in(&app, OPERATOR).await;
    let all = operator.get("/admin/reservations").await;
    assert!(all.body.contains(&first.token) && all.body.contains(&second.token));
    assert!(all.body.contains("Salon Zwei") && all.body.contains("Salon Beispiel"), "a salon column and filter");
    let only_second = operator.get(&format!("/admin/reservations?tenant={SECOND}")).await;
    assert!(only_second.body.contains(&second.token) && !only_second.body.contains(&first.token));
    assert_eq!(operator.get(&format!("/admin/reservations/{}", second.token)).await.status, StatusCode::OK);
    assert_eq!(operator.get(&format!("/admin/bookings/{}/cancel", first.booking_id)).await.status, StatusCode::OK);
    let count: Value = serde_json::from_str(&operator.get("/admin/reservations/active-count").await.body).unwrap();
    assert_eq!(count["active"], 2, "{count}");
}
