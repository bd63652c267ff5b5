//! Retell's routes: custom-function calls (default and "args only" mode) and call webhooks.
//!
//! The order of checks is the order of trust: body size (413, before any work), signature (401,
//! on the raw bytes), content type (415), JSON shape (400 naming the field), function name (404),
//! call id (400 for placeholders), tenant (404). Only then does the booking layer run, under the
//! idempotency key (tenant, call id, function, normalised arguments). This module decides nothing
//! about bookings; it translates.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::error::ApiError;
use super::{read_body, require_json, AppState};
use crate::booking::answer::*;
use crate::booking::idempotency::{args_digest, Fresh, Transient};
use crate::booking::{CallContext, CallInfo};
use crate::metrics;
use crate::store::{CallRecord, IdempotencyKey};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/retell/functions", post(function_call))
        .route("/retell/functions/{name}", post(function_call_args_only))
        .route("/retell/webhook", post(webhook))
}

/// The functions this service offers (also listed in `config/retell-tools.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    CheckAvailability,
    StartBooking,
    CancelBooking,
    RescheduleBooking,
    FindAlternatives,
    ReleaseReservation,
    GetAppointments,
}

impl Function {
    pub const ALL: [Function; 7] = [
        Function::CheckAvailability,
        Function::StartBooking,
        Function::CancelBooking,
        Function::RescheduleBooking,
        Function::FindAlternatives,
        Function::ReleaseReservation,
        Function::GetAppointments,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::CheckAvailability => "check_availability",
            Function::StartBooking => "start_booking",
            Function::CancelBooking => "cancel_booking",
            Function::RescheduleBooking => "reschedule_booking",
            Function::FindAlternatives => "find_alternatives",
            Function::ReleaseReservation => "release_reservation",
            Function::GetAppointments => "get_appointments",
        }
    }

    /// Functions without effects: their answers are not stored for replay.
    pub fn is_read_only(self) -> bool {
        matches!(self, Function::FindAlternatives | Function::GetAppointments)
    }

    /// Accepts version suffixes (`check_availability_v17`), which agent flows add.
    pub fn parse(name: &str) -> Option<Function> {
        let trimmed = name.trim();
        let base = match trimmed.rsplit_once("_v") {
            Some((base, version)) if !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) => base,
            _ => trimmed,
        };
        Function::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(base))
    }
}

/// Arguments, parsed per function before anything runs.
enum Request {
    CheckAvailability(CheckAvailabilityArgs),
    StartBooking(StartBookingArgs),
    CancelBooking(CancelBookingArgs),
    RescheduleBooking(RescheduleBookingArgs),
    FindAlternatives(FindAlternativesArgs),
    ReleaseReservation(ReleaseReservationArgs),
    GetAppointments(GetAppointmentsArgs),
}

fn parse_args(function: Function, args: Value) -> Result<Request, ApiError> {
    fn typed<T: DeserializeOwned>(args: Value) -> Result<T, ApiError> {
        serde_json::from_value(args).map_err(|e| ApiError::bad_request("invalid_arguments", format!("arguments: {e}")))
    }
    Ok(match function {
        Function::CheckAvailability => Request::CheckAvailability(typed(args)?),
        Function::StartBooking => Request::StartBooking(typed(args)?),
        Function::CancelBooking => Request::CancelBooking(typed(args)?),
        Function::RescheduleBooking => Request::RescheduleBooking(typed(args)?),
        Function::FindAlternatives => Request::FindAlternatives(typed(args)?),
        Function::ReleaseReservation => Request::ReleaseReservation(typed(args)?),
        Function::GetAppointments => Request::GetAppointments(typed(args)?),
    })
}

/// The call fields we use from Retell's `call` object (the rest, transcripts included, is ignored).
#[derive(Debug, Default, Deserialize)]
struct RetellCall {
    #[serde(default)]
    call_id: Option<String>,
    #[serde(default)]
    agent_id: Option<String>,
    #[serde(default)]
    from_number: Option<String>,
    #[serde(default)]
    to_number: Option<String>,
    #[serde(default)]
    start_timestamp: Option<i64>,
    #[serde(default)]
    end_timestamp: Option<i64>,
    #[serde(default)]
    disconnection_reason: Option<String>,
}

impl RetellCall {
    fn info(&self) -> CallInfo {
        CallInfo {
            args_only: false,
            call_id: self.call_id.clone(),
            agent_id: self.agent_id.clone(),
            from_number: self.from_number.clone(),
            to_number: self.to_number.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct FunctionEnvelope {
    name: String,
    #[serde(default = "empty_object")]
    args: Value,
    #[serde(default)]
    call: RetellCall,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request("invalid_json", format!("body: {e}")))
}

fn verified(app: &AppState, headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    let body = read_body(body, app.body_limit)?;
    let header = headers.get("x-retell-signature").and_then(|v| v.to_str().ok());
    let now_ms = app.clock.now().timestamp_millis();
    if let Err(err) = super::signature::verify(&body, header, app.retell_key.expose().as_bytes(), now_ms, app.signature_tolerance_ms) {
        metrics::webhook_rejected("retell", err.reason());
        return Err(ApiError::Unauthorized(err));
    }
    require_json(headers)?;
    Ok(body)
}

async fn function_call(State(app): State<AppState>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let body = verified(&app, &headers, body)?;
    let envelope: FunctionEnvelope = parse_json(&body)?;
    let function = Function::parse(&envelope.name).ok_or_else(|| ApiError::UnknownFunction(envelope.name.clone()))?;
    run(&app, function, envelope.call.info(), envelope.args).await
}

async fn function_call_args_only(
    State(app): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = verified(&app, &headers, body)?;
    let args: Value = parse_json(&body)?;
    if !args.is_object() {
        return Err(ApiError::bad_request("invalid_arguments", "the body must be a JSON object of arguments"));
    }
    let function = Function::parse(&name).ok_or(ApiError::UnknownFunction(name))?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let info = CallInfo {
        args_only: true,
        call_id: header("x-retell-call-id").or_else(|| args.get("call_id").and_then(Value::as_str).map(str::to_owned)),
        agent_id: header("x-retell-agent-id"),
        from_number: header("x-retell-from-number"),
        to_number: header("x-retell-to-number"),
    };
    run(&app, function, info, args).await
}

/// Answers one function call and records how long that took (`retell_function_duration_seconds`,
/// the latency behind the `check_availability` objective in `ops/prometheus/alerts.yml`).
async fn run(app: &AppState, function: Function, info: CallInfo, args: Value) -> Result<Response, ApiError> {
    let started = std::time::Instant::now();
    let answered = answer(app, function, info, args).await;
    metrics::retell_function_duration(function.name(), started.elapsed());
    answered
}

async fn answer(app: &AppState, function: Function, info: CallInfo, args: Value) -> Result<Response, ApiError> {
    let digest = args_digest(&args);
    let request = parse_args(function, args)?;
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
    let stored = if function.is_read_only() {
        // Nothing to repeat exactly: a retry simply asks again.
        let fresh = execute(booking, call, request).await.map_err(unavailable)?;
        crate::booking::idempotency::Stored { status: fresh.status, body: fresh.body.into(), replayed: false }
    } else {
        app.idempotency.run(key, || execute(booking, call, request)).await.map_err(unavailable)?
    };
    if stored.replayed {
        metrics::idempotent_replay(function.name());
    }
    let mut response = (StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK), stored.body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if stored.replayed {
        headers.insert("x-idempotent-replay", HeaderValue::from_static("true"));
    }
    Ok(response)
}

async fn execute(booking: crate::booking::BookingService, call: CallContext, request: Request) -> Result<Fresh, Transient> {
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

#[derive(Debug, Deserialize)]
struct WebhookEnvelope {
    event: String,
    #[serde(default)]
    call: RetellCall,
}

/// `call_started`, `call_ended`, `call_analyzed`; other events are acknowledged and ignored.
async fn webhook(State(app): State<AppState>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let body = verified(&app, &headers, body)?;
    let envelope: WebhookEnvelope = parse_json(&body)?;
    let status = match envelope.event.as_str() {
        "call_started" => "started",
        "call_ended" => "ended",
        "call_analyzed" => "analyzed",
        _ => return Ok(StatusCode::NO_CONTENT.into_response()),
    };
    let call = app.booking.resolve_call(&envelope.call.info()).await?;
    tracing::Span::current().record("call_id", call.call_id.as_str());
    let delivery = format!("{}:{}", envelope.event, call.call_id);
    let now = app.clock.now();
    if !app.store.record_delivery("retell", &delivery, now).await? {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let processed = async {
        let millis = |ms: Option<i64>| ms.and_then(chrono::DateTime::from_timestamp_millis);
        let record = CallRecord {
            call_id: call.call_id.to_string(),
            tenant: call.tenant.id.clone(),
            agent_id: envelope.call.agent_id.clone(),
            from_number: envelope.call.from_number.clone(),
            to_number: envelope.call.to_number.clone(),
            status: status.to_owned(),
            started_at: millis(envelope.call.start_timestamp),
            ended_at: millis(envelope.call.end_timestamp),
            disconnection_reason: envelope.call.disconnection_reason.clone(),
        };
        app.store.upsert_call(&record, now).await.map_err(ApiError::from)?;
        if status == "ended" {
            let released = app.booking.call_ended(&call.tenant, call.call_id.as_str()).await?;
            tracing::info!(call_id = %call.call_id, released, "call ended; its holds are free again");
        }
        Ok::<_, ApiError>(())
    }
    .await;
    if let Err(err) = processed {
        // Let Retell's retry be processed instead of being ignored as a duplicate.
        let _ = app.store.forget_delivery("retell", &delivery).await;
        return Err(err);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::Function;

    #[test]
    fn version_suffixes_are_stripped() {
        assert_eq!(Function::parse("check_availability_v17"), Some(Function::CheckAvailability));
        assert_eq!(Function::parse("start_booking"), Some(Function::StartBooking));
        assert_eq!(Function::parse("Start_Booking_V2"), None, "V is not v");
        assert_eq!(Function::parse("start_booking_v"), None);
        assert_eq!(Function::parse("book_appointment"), None);
    }
}
