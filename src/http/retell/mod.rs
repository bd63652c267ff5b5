//! Retell's routes: custom-function calls (default and "args only" mode), call webhooks and the
//! inbound-call webhook.
//!
//! The order of checks is the order of trust: body size (413 before reading, see
//! [`super::body`]), signature (401, on the raw bytes), content type (415), JSON shape (400
//! naming the field), function name (404), arguments (400 naming the field). The body is parsed
//! once into typed fields ([`wire`]); the live transcript Retell sends along is skipped, never
//! built. Then one call crosses into booking — `BookingService::answer(call, command)`, which
//! attributes the call (400 placeholder call id, 404 unknown tenant), applies the replay policy
//! and answers — and its result is mapped to a status here. This module decides nothing about
//! bookings; it translates.

mod events;
mod inbound;
mod wire;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::AppState;
use super::body::RetellBody;
use super::error::ApiError;
use super::require_json;
pub use crate::booking::Function;
use crate::metrics;
pub(super) use wire::{CALL_ID_PATTERN, FunctionEnvelope, InboundEnvelope};
pub use wire::{
    InboundCall, ParsedCall, WebhookEnvelope, WebhookEvent, parse_args_only_call, parse_function_call, parse_inbound,
    parse_webhook,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/retell/functions", post(function_call))
        .route("/retell/functions/{name}", post(function_call_args_only))
        .route("/retell/webhook", post(events::webhook))
        .route("/retell/inbound", post(inbound::inbound))
}

/// The body, once its `X-Retell-Signature` (over the raw bytes) and content type are checked.
fn verified<'a>(app: &AppState, headers: &HeaderMap, body: &'a RetellBody) -> Result<&'a [u8], ApiError> {
    let header = headers.get("x-retell-signature").and_then(|v| v.to_str().ok());
    let now_ms = app.clock.now().timestamp_millis();
    if let Err(err) = super::signature::verify(
        &body.0,
        header,
        app.retell_key.expose().as_bytes(),
        now_ms,
        app.signature_tolerance_ms,
    ) {
        metrics::webhook_rejected("retell", err.reason());
        return Err(ApiError::Unauthorized(err));
    }
    require_json(headers)?;
    Ok(&body.0)
}

async fn function_call(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: RetellBody,
) -> Result<Response, ApiError> {
    let body = verified(&app, &headers, &body)?;
    run(&app, parse_function_call(body)?).await
}

async fn function_call_args_only(
    State(app): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: RetellBody,
) -> Result<Response, ApiError> {
    let body = verified(&app, &headers, &body)?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    run(&app, parse_args_only_call(&name, body, header)?).await
}

/// Answers one function call and records how long that took (`retell_function_duration_seconds`,
/// the latency behind the `check_availability` objective in `ops/prometheus/alerts.yml`).
async fn run(app: &AppState, parsed: ParsedCall) -> Result<Response, ApiError> {
    let function = parsed.function;
    let started = std::time::Instant::now();
    let answered = answer(app, parsed).await;
    metrics::retell_function_duration(function.name(), started.elapsed());
    answered
}

async fn answer(app: &AppState, parsed: ParsedCall) -> Result<Response, ApiError> {
    let ParsedCall { call, args_digest, command, .. } = parsed;
    let reply = app.booking.answer(&call, command, args_digest).await?;
    let mut response = (StatusCode::OK, reply.body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if reply.replayed {
        headers.insert("x-idempotent-replay", HeaderValue::from_static("true"));
    }
    Ok(response)
}
