//! The admin pages (issue 7), black box: the real application, a cookie-keeping HTTP client that
//! does not follow redirects, two salons to prove the tenant walls. The browser test is in
//! `browser.rs`.

mod access;
mod backends;
mod client;
mod pages;
mod walls;

use serde_json::{Value, json};
use slotkeeper::store::admin::AdminRole;

use crate::helpers::{Backend, CallFixture, SECOND_AGENT, SECOND_NUMBER, Spawn, TestApp, add_second_tenant};

pub use client::{AdminClient, Page};

/// Operator `betrieb`, tenant admin `anna` (salon-beispiel) and `zora` (salon-zwei).
pub const OPERATOR: &str = "betrieb";
pub const FIRST_ADMIN: &str = "anna";
pub const SECOND_ADMIN: &str = "zora";
pub const FIRST: &str = "salon-beispiel";
pub const SECOND: &str = "salon-zwei";

/// The application with two salons and the three accounts above.
pub async fn two_salons() -> TestApp {
    two_salons_with(|_| {}).await
}

pub async fn two_salons_with(tweak: impl FnOnce(&mut slotkeeper::config::Settings) + Send + 'static) -> TestApp {
    two_salons_on(Backend::Sqlite, tweak).await
}

pub async fn two_salons_on(
    backend: Backend,
    tweak: impl FnOnce(&mut slotkeeper::config::Settings) + Send + 'static,
) -> TestApp {
    let app = TestApp::spawn_with(Spawn {
        backend,
        tweak: Box::new(move |settings| {
            add_second_tenant(settings);
            tweak(settings);
        }),
        ..Default::default()
    })
    .await;
    app.create_admin(OPERATOR, AdminRole::Operator, None).await;
    app.create_admin(FIRST_ADMIN, AdminRole::TenantAdmin, Some(FIRST)).await;
    app.create_admin(SECOND_ADMIN, AdminRole::TenantAdmin, Some(SECOND)).await;
    app
}

/// A call to the second salon.
pub fn second_salon_call() -> CallFixture {
    let mut call = CallFixture::new();
    call.to = SECOND_NUMBER.into();
    call.agent = SECOND_AGENT.into();
    call
}

/// A hold through the Retell API; returns the answer (token in `reservation_token`).
pub async fn hold(app: &TestApp, call: &CallFixture, service: &str, time: &str, customer: &str) -> Value {
    let (status, body) = app
        .call(
            call,
            "check_availability",
            json!({"service": service, "date": "morgen", "time": time, "customer_name": customer}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["available"], true, "{body}");
    body
}

/// A booking through the Retell API (hold, then start_booking); returns the booking id.
pub async fn booking(app: &TestApp, call: &CallFixture, time: &str, customer: &str) -> String {
    let held = hold(app, call, "Herrenhaarschnitt", time, customer).await;
    let token = held["reservation_token"].as_str().unwrap();
    let (status, body) =
        app.call(call, "start_booking", json!({"reservation_token": token, "customer_name": customer})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true, "{body}");
    body["booking_id"].as_str().expect("booking id").to_owned()
}

/// Parks a Cal.com "create" job of `booking_id` as a dead letter, as the outbox does after its
/// last failed retry (written with SQL: making Cal.com fail four times in a row is the Cal.com
/// tests' business, not this page's).
pub async fn dead_letter(app: &TestApp, tenant: &str, booking_id: &str) -> i64 {
    use sqlx::Connection;
    let sql = "INSERT INTO calcom_outbox (tenant_id, appointment_id, kind, status, attempts, next_attempt_at, last_error, created_at, updated_at) \
         VALUES ($1, $2, 'create', 'dead', 4, $3, 'Cal.com antwortete 500 (simuliert)', $3, $3) RETURNING id";
    let now = app.clock.now();
    match app.db.backend {
        Backend::Sqlite => {
            let mut connection = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
            let query = sqlx::query_scalar(sql).bind(tenant).bind(booking_id).bind(now);
            query.fetch_one(&mut connection).await.unwrap()
        }
        Backend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
            let query = sqlx::query_scalar(sql).bind(tenant).bind(booking_id).bind(now);
            query.fetch_one(&mut connection).await.unwrap()
        }
    }
}
