//! `/health/live` (the process serves), `/health/ready` (the store answers, the calendar supervisor
//! runs; per-tenant Cal.com circuit states in the body; 503 when not ready) and `/metrics`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;

use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/health/live", get(live)).route("/health/ready", get(ready))
}

async fn live() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn ready(State(app): State<AppState>) -> Response {
    let store = app.store.ping().await;
    let circuits = app.sync.circuit_states();
    let calendars = app.booking.calendars().count();
    let ready = store.is_ok();
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "store": match &store { Ok(()) => "ok".to_owned(), Err(e) => format!("unavailable: {e}") },
        "calendar_actors": calendars,
        "calcom_circuits": circuits,
        "outbox": app.sync.last_outbox_summary(),
    });
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

pub async fn metrics(State(app): State<AppState>) -> Response {
    match &app.metrics {
        Some(handle) => render_metrics(handle),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub fn render_metrics(handle: &PrometheusHandle) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}
