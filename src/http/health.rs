//! `/health/live`, `/health/ready` and `/metrics`.
//!
//! * Live: the process serves HTTP. It checks nothing else, so an orchestrator restarts a node
//!   only when it is really stuck, never because the database had a hiccup.
//! * Ready: the store answers within [`STORE_PING_TIMEOUT`] and the calendar supervisor runs;
//!   otherwise 503 with the `reasons`. The body also lists each tenant's Cal.com circuit state
//!   and the outbox counts. An open circuit is reported but does not make the node unready: every
//!   node talks to the same Cal.com, so taking this one out of rotation would not help, and
//!   bookings still succeed (they reach Cal.com through the outbox later).

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;

use super::AppState;

/// A store slower than this counts as unreachable: probes have short timeouts, and a readiness
/// answer that says why is worth more than one that hangs until the prober gives up.
const STORE_PING_TIMEOUT: Duration = Duration::from_secs(2);

pub fn routes() -> Router<AppState> {
    Router::new().route("/health/live", get(live)).route("/health/ready", get(ready))
}

async fn live() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn ready(State(app): State<AppState>) -> Response {
    let store = match tokio::time::timeout(STORE_PING_TIMEOUT, app.store.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(format!("unavailable: {err}")),
        Err(_) => Err(format!("did not answer within {} ms", STORE_PING_TIMEOUT.as_millis())),
    };
    let calendars = app.booking.calendars();
    let supervisor_running = calendars.is_supervisor_running();
    let mut reasons = Vec::new();
    if let Err(why) = &store {
        reasons.push(format!("store {why}"));
    }
    if !supervisor_running {
        reasons.push("calendar supervisor is not running".to_owned());
    }
    let is_ready = reasons.is_empty();
    let body = json!({
        "status": if is_ready { "ready" } else { "not_ready" },
        "reasons": reasons,
        "store": store.err().unwrap_or_else(|| "ok".to_owned()),
        "calendar_supervisor": if supervisor_running { "running" } else { "stopped" },
        "calendar_actors": calendars.count(),
        "calcom_circuits": app.sync.circuit_states(),
        "outbox": app.sync.last_outbox_summary(),
    });
    let status = if is_ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
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
