//! One span per request (request id, route, and — once known — call id and tenant), the HTTP
//! latency histogram labelled by the matched route template, and one log line per failed request
//! with its cause. Secrets never appear: bodies and headers are not logged.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::REQUEST_ID;
use super::error::ErrorDetail;
use crate::metrics;

pub async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route =
        request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let span = tracing::info_span!(
        "request",
        method = %method,
        route = %route,
        request_id = %request_id,
        call_id = tracing::field::Empty,
        tenant = tracing::field::Empty,
    );
    let response = next.run(request).instrument(span.clone()).await;
    let took = started.elapsed();
    let status = response.status();
    metrics::http_request(route, method, status.as_u16(), took);
    let _entered = span.enter();
    let detail = response.extensions().get::<ErrorDetail>().map(|d| d.0.as_str()).unwrap_or("");
    if status.is_server_error() {
        tracing::warn!(status = status.as_u16(), took_ms = took.as_millis() as u64, error = detail, "request failed");
    } else if status.is_client_error() {
        tracing::info!(status = status.as_u16(), took_ms = took.as_millis() as u64, error = detail, "request refused");
    } else {
        tracing::debug!(status = status.as_u16(), took_ms = took.as_millis() as u64, "request served");
    }
    response
}
