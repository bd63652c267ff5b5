//! Retell's routes: custom-function calls (default and "args only" mode), call webhooks and the
//! inbound-call webhook.
//!
//! The order of checks is the order of trust: body size (413 before reading, see
//! [`super::body`]), signature (401, on the raw bytes), content type (415), JSON shape (400
//! naming the field), function name (404), call id (400 for placeholders), tenant (404). Only
//! then does the booking layer run, under the idempotency key (tenant, call id, function,
//! normalised arguments). The body is parsed once into typed fields ([`wire`]); the live
//! transcript Retell sends along is skipped, never built. This module decides nothing about
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
use crate::booking::CallContext;
use crate::booking::idempotency::{Fresh, Transient};
use crate::metrics;
use crate::store::IdempotencyKey;
use wire::Request;
pub(super) use wire::{CALL_ID_PATTERN, FunctionEnvelope, InboundEnvelope};
pub use wire::{
    Function, InboundCall, ParsedCall, WebhookEnvelope, WebhookEvent, parse_args_only_call, parse_function_call,
    parse_inbound, parse_webhook,
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
    let ParsedCall { function, call: info, args_digest: digest, request } = parsed;
    let call = app.booking.resolve_call(&info).await?;
    let span = tracing::Span::current();
    span.record("call_id", call.call_id.as_str());
    span.record("tenant", call.tenant.id.as_str());
    let key = IdempotencyKey {
        tenant: call.tenant.id.clone(),
        call_id: call.call_id.to_string(),
        function: function.name().to_owned(),
        args_hash: digest,
    };
    let booking = app.booking.clone();
    let unavailable = |Transient(detail)| {
        metrics::retell_function_call(function.name(), "unavailable");
        ApiError::Unavailable(detail)
    };
    let read_only = function.is_read_only()
        || matches!(&request, Request::CheckAvailability(args) if !booking.names_a_time(&call, args));
    let stored = if read_only {
        // Nothing to repeat exactly: a retry simply asks again.
        let fresh = execute(booking, call, request).await.map_err(unavailable)?;
        crate::booking::idempotency::Stored { status: fresh.status, body: fresh.body.into(), replayed: false }
    } else {
        app.idempotency.run(key, || execute(booking, call, request)).await.map_err(unavailable)?
    };
    if stored.replayed {
        metrics::idempotent_replay(function.name());
    }
    let mut response =
        (StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK), stored.body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if stored.replayed {
        headers.insert("x-idempotent-replay", HeaderValue::from_static("true"));
    }
    Ok(response)
}

async fn execute(
    booking: crate::booking::BookingService,
    call: CallContext,
    request: Request,
) -> Result<Fresh, Transient> {
    let (function, outcome) = match request {
        Request::CheckAvailability(a) => (Function::CheckAvailability, booking.check_availability(&call, a).await),
        Request::StartBooking(a) => (Function::StartBooking, booking.start_booking(&call, a).await),
        Request::CancelBooking(a) => (Function::CancelBooking, booking.cancel_booking(&call, a).await),
        Request::RescheduleBooking(a) => (Function::RescheduleBooking, booking.reschedule_booking(&call, a).await),
        Request::FindAlternatives(a) => (Function::FindAlternatives, booking.find_alternatives(&call, a).await),
        Request::ReleaseReservation(a) => (Function::ReleaseReservation, booking.release_reservation(&call, a).await),
        Request::GetAppointments(a) => (Function::GetAppointments, booking.get_appointments(&call, a).await),
    };
    match outcome {
        Ok(answer) => {
            metrics::retell_function_call(function.name(), if answer.success { "success" } else { "refused" });
            let body = serde_json::to_string(&answer).map_err(|e| Transient(e.to_string()))?;
            // Stored for replay: answers that did something (a hold, an offer, a booking, a
            // cancellation) or refused something. Not stored: "try again in a minute" (it must not
            // be replayed when the agent does try again) and check_availability answers that held
            // nothing (a retry simply asks again, which keeps the hot read path free of writes).
            let keep = answer.reason != Some("calendar_unavailable")
                && (function != Function::CheckAvailability || answer.reservation_token.is_some());
            Ok(Fresh { status: 200, body, keep })
        }
        Err(err) => {
            tracing::warn!(function = function.name(), error = %err, "function call could not be answered");
            Err(Transient(err.to_string()))
        }
    }
}
