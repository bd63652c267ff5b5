//! Readiness says why it is not ready, and `/metrics` stays off the public port when asked to.

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Connection;

use crate::helpers::{Backend, Spawn, TestApp, skip_pg};

async fn get_json(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let response = app.http.get(app.url(path)).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.expect("a JSON body"))
}

/// The store goes away under a running node (its PostgreSQL database is dropped, which also ends
/// every open connection): ready turns 503 and says it is the store, live stays 200, and the
/// per-tenant Cal.com circuits are still listed.
#[tokio::test]
async fn ready_is_503_with_the_reason_when_the_store_is_unreachable_and_lists_the_circuits() {
    if skip_pg() {
        eprintln!("SLOTKEEPER_TEST_SKIP_PG=1: skipping the PostgreSQL readiness test");
        return;
    }
    let app = TestApp::spawn_with(Spawn {
        backend: Backend::Postgres,
        tweak: Box::new(|s| s.database.acquire_timeout_ms = 1000),
        ..Default::default()
    })
    .await;
    let (status, ready) = get_json(&app, "/health/ready").await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["reasons"], serde_json::json!([]));
    assert_eq!(ready["store"], "ok");
    assert_eq!(ready["calendar_supervisor"], "running");
    assert_eq!(ready["calcom_circuits"]["salon-beispiel"], "closed", "{ready}");

    drop_database(&app.db.url).await;

    let (status, not_ready) = get_json(&app, "/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{not_ready}");
    assert_eq!(not_ready["status"], "not_ready");
    let reasons: Vec<&str> = not_ready["reasons"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(reasons.len() == 1 && reasons[0].starts_with("store "), "the store is named as the reason: {not_ready}");
    assert!(not_ready["store"].as_str().unwrap().starts_with("unavailable: "), "{not_ready}");
    assert_eq!(not_ready["calcom_circuits"]["salon-beispiel"], "closed", "circuits are still listed: {not_ready}");
    let (live, _) = get_json(&app, "/health/live").await;
    assert_eq!(live, StatusCode::OK, "liveness does not depend on the store");
}

/// `DROP DATABASE … WITH (FORCE)`: terminates the node's connections, and new ones fail.
async fn drop_database(url: &str) {
    let (server, name) = url.rsplit_once('/').expect("a database name in the URL");
    let admin = std::env::var("SLOTKEEPER_TEST_PG_URL").unwrap_or_else(|_| format!("{server}/postgres"));
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("admin connection");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
        .execute(&mut conn)
        .await
        .expect("database dropped");
}

#[tokio::test]
async fn with_a_metrics_address_metrics_are_served_there_and_not_on_the_public_port() {
    let app = TestApp::spawn_with(Spawn {
        tweak: Box::new(|s| s.http.metrics_addr = "127.0.0.1:0".into()),
        ..Default::default()
    })
    .await;
    let internal = app.metrics_addr().expect("the internal metrics listener is bound");
    assert_ne!(internal, app.addr);

    let public = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND, "no /metrics on the public listener");

    let scraped = app.http.get(format!("http://{internal}/metrics")).send().await.unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(scraped.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = scraped.text().await.unwrap();
    assert!(text.contains("# TYPE reservation_created_total counter"), "{text}");

    let elsewhere = app.http.get(format!("http://{internal}/health/ready")).send().await.unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND, "the internal listener serves only /metrics");
    let (live, _) = get_json(&app, "/health/live").await;
    assert_eq!(live, StatusCode::OK, "health stays on the public listener");
}
