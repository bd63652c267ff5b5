//! The floor: a bare axum handler that verifies the Retell signature (the service's own
//! `verify`), parses the whole body into a `serde_json::Value` (transcript and all, as a naive
//! handler does) and answers a fixed JSON. It runs as its own process
//! (`loadtest floor-server`), so it is measured exactly like the service: same client, same
//! machine, same number of runtime threads.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

const ANSWER: &str = r#"{"success":true,"message":"Am Donnerstag ist um 10 Uhr frei.","available":true}"#;
/// Retell's signature window, as the service configures it by default.
const TOLERANCE_MS: i64 = 300_000;

async fn function(State(key): State<Arc<String>>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers.get("x-retell-signature").and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp_millis();
    if slotkeeper::http::signature::verify(&body, signature, key.as_bytes(), now, TOLERANCE_MS).is_err() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if !serde_json::from_slice::<serde_json::Value>(&body).is_ok_and(|v| v.is_object()) {
        return StatusCode::BAD_REQUEST.into_response();
    }
    ([(header::CONTENT_TYPE, "application/json")], ANSWER).into_response()
}

/// Serves until SIGTERM or Ctrl-C.
pub async fn serve(addr: SocketAddr, key: String) -> Result<()> {
    let app = Router::new()
        .route("/retell/functions", post(function))
        .route("/health/live", get(|| async { "ok" }))
        // Bodies carry the live transcript (1.7 MiB at 90 minutes): axum's 2 MB default is too small.
        .layer(axum::extract::DefaultBodyLimit::max(8 << 20))
        .with_state(Arc::new(key));
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    let stop = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
        }
    };
    axum::serve(listener, app).with_graceful_shutdown(stop).await.context("floor server")
}
