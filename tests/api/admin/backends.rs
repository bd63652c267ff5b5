//! Every admin query on both stores: the SQL in `src/store/admin.rs` is written once for SQLite
//! and PostgreSQL (placeholders, time comparisons, `LIKE … ESCAPE`, `IN` lists, `LIMIT/OFFSET`,
//! sessions), so one flow runs against each. PostgreSQL is skipped only with
//! `SLOTKEEPER_TEST_SKIP_PG=1`.

use std::time::Duration;

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};
use slotkeeper::domain::ReservationToken;
use slotkeeper::store::{HoldInsert, NewReservation, OutboxStatus, ReservationKind};

use super::{
    AdminClient, FIRST, FIRST_ADMIN, OPERATOR, SECOND, booking, dead_letter, hold, second_salon_call, two_salons_on,
};
use crate::helpers::{Backend, CallFixture, TestApp, skip_pg};

#[tokio::test]
async fn every_admin_query_works_on_sqlite() {
    every_admin_query(Backend::Sqlite).await;
}

#[tokio::test]
async fn every_admin_query_works_on_postgresql() {
    if skip_pg() {
        eprintln!("skipped: SLOTKEEPER_TEST_SKIP_PG=1");
        return;
    }
    every_admin_query(Backend::Postgres).await;
}

/// A hold of `FIRST` that nobody expires: past its expiry, still `active` in the store.
async fn stale_hold(app: &TestApp) -> ReservationToken {
    let now = app.clock.now();
    let token = ReservationToken::generate();
    let reservation = NewReservation {
        tenant: FIRST.into(),
        staff: "clara".into(),
        token: token.clone(),
        kind: ReservationKind::Hold,
        call_id: "call_00000000000000000000000000000abc".into(),
        customer_name: Some("Frieda Vergessen".into()),
        customer_phone: None,
        service: "ponyschnitt".into(),
        start: now + TimeDelta::days(3),
        end: now + TimeDelta::days(3) + TimeDelta::minutes(10),
        is_compound: false,
        expires_at: now - TimeDelta::seconds(30),
        phases: vec![],
        created_at: now - TimeDelta::seconds(150),
    };
    let insert = HoldInsert { reservation: &reservation, busy: &[], now };
    app.parts.store.insert_hold(insert).await.unwrap();
    token
}

fn position(body: &str, needle: &str) -> usize {
    body.find(needle).unwrap_or_else(|| panic!("{needle} on the page"))
}

async fn every_admin_query(backend: Backend) {
    let app = two_salons_on(backend, |s| s.holds.sweeper_interval_secs = 3600).await;
    let perm = hold(&app, &CallFixture::new(), "Dauerwelle", "10:00", "Erika Mustermann").await;
    let perm = perm["reservation_token"].as_str().unwrap().to_owned();
    let booking_id = booking(&app, &CallFixture::new(), "16:00", "Max Müller").await;
    let stale = stale_hold(&app).await;
    let second = hold(&app, &second_salon_call(), "Dauerwelle", "10:00", "Zenzi Zweite").await;
    let second = second["reservation_token"].as_str().unwrap().to_owned();
    let dead = dead_letter(&app, SECOND, &booking(&app, &second_salon_call(), "16:00", "Yvonne").await).await;

    let operator = AdminClient::signed_in(&app, OPERATOR).await;
    let all = operator.get("/admin/reservations").await.body;
    for token in [perm.as_str(), stale.as_str(), second.as_str()] {
        assert!(all.contains(token), "{backend:?}: {token} listed");
    }
    let searched = operator.get("/admin/reservations?q=max+M%C3%9CLLER").await.body;
    assert!(searched.contains("Max Müller") && !searched.contains(&perm), "{backend:?}: case-insensitive search");
    let wildcard = operator.get("/admin/reservations?q=r_v").await.body;
    assert!(
        wildcard.contains("Keine Reservierungen gefunden."),
        "{backend:?}: _ is a character (unescaped, r_v would match every rsv_ token)"
    );
    let expired = operator.get("/admin/reservations?status=expired").await.body;
    assert!(expired.contains(stale.as_str()) && !expired.contains(&perm), "{backend:?}: expired by time");
    let active = operator.get(&format!("/admin/reservations?status=active&tenant={FIRST}")).await.body;
    assert!(active.contains(&perm) && !active.contains(stale.as_str()) && !active.contains(&second));
    let converted = operator.get("/admin/reservations?status=converted").await.body;
    assert!(converted.contains("Max Müller") && converted.contains("badge-success"));
    let by_start = operator.get(&format!("/admin/reservations?tenant={FIRST}&sort=start_asc")).await.body;
    assert!(position(&by_start, &perm) < position(&by_start, stale.as_str()), "{backend:?}: sorted by start");
    let count: Value = serde_json::from_str(&operator.get("/admin/reservations/active-count").await.body).unwrap();
    assert_eq!(count["active"], json!(2), "{backend:?}: live holds of both salons");

    let bookings = operator.get(&format!("/admin/bookings?q={booking_id}&status=confirmed")).await.body;
    assert!(
        bookings.contains(&booking_id) && bookings.contains("Herrenhaarschnitt</span>"),
        "{backend:?}: phases attached"
    );
    assert!(bookings.contains(&format!("data-dead-letter=\"{dead}\"")));

    let anna = AdminClient::signed_in(&app, FIRST_ADMIN).await;
    assert_eq!(anna.get(&format!("/admin/reservations/{second}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(anna.submit(&format!("/admin/dead-letters/{dead}/retry"), &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(operator.get(&format!("/admin/reservations/{second}")).await.status, StatusCode::OK);
    operator
        .submit(&format!("/admin/dead-letters/{dead}/retry"), &[])
        .await
        .assert_redirect("/admin/bookings?notice=retried");
    let job = app.parts.store.outbox_job_in_scope(dead, None).await.unwrap().unwrap();
    assert_ne!(job.status, OutboxStatus::Dead);

    let form = [("tenant", FIRST), ("flag", "reservations_enabled"), ("rollout_percent", "50"), ("enabled", "on")];
    anna.submit("/admin/flags", &form).await.assert_redirect("/admin/flags?tenant=salon-beispiel&notice=flag-saved");
    assert!(anna.get("/admin/flags").await.body.contains("an (100%) → an (50%)"), "{backend:?}: audited");

    anna.submit("/admin/logout", &[]).await.assert_redirect("/admin/login");
    anna.get("/admin/reservations").await.assert_redirect("/admin/login");
    app.clock.advance(Duration::from_secs(13 * 3600));
    operator.get("/admin/reservations").await.assert_redirect("/admin/login");
    assert_eq!(
        app.parts.store.purge_admin_sessions(app.clock.now()).await.unwrap(),
        1,
        "{backend:?}: the operator's expired session"
    );
}
