//! Retell's routes: custom-function calls (default and "args only" mode) and call webhooks.
//!
//! The order of checks is the order of trust: body size (413, before any work), signature (401,
//! on the raw bytes), content type (415), JSON shape (400 naming the field), function name (404),
//! call id (400 for placeholders), tenant (404). Only then does the booking layer run, under the
//! idempotency key (tenant, call id, function, normalised arguments). This module decides nothing
//! about bookings; it translates.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;
use super::{AppState, read_body, require_json};
use crate::booking::answer::*;
use crate::booking::idempotency::{Fresh, Transient, args_digest};
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
#[derive(Debug)]
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

/// What `CallId::parse` accepts after trimming (placeholders such as `call_1` aside), for the
/// OpenAPI document: real Retell call ids are `call_` plus hex digits.
pub(super) const CALL_ID_PATTERN: &str = "^[A-Za-z0-9_-]{10,128}$";

/// The call fields we use from Retell's `call` object (the rest, transcripts included, is ignored).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub(super) struct RetellCall {
    #[serde(default)]
    #[schemars(pattern(CALL_ID_PATTERN))]
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

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub(super) struct FunctionEnvelope {
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

/// A body that must be a JSON object, like its `call`. serde would also read a struct from an
/// array of its fields in order (`["check_availability", {...}]`), which no Retell request is; the
/// schema-driven fuzz found such bodies accepted.
fn parse_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value: Value = parse_json(body)?;
    if !value.is_object() || value.get("call").is_some_and(Value::is_array) {
        return Err(ApiError::bad_request("invalid_json", "body: expected a JSON object"));
    }
    serde_json::from_value(value).map_err(|e| ApiError::bad_request("invalid_json", format!("body: {e}")))
}

/// A function call as the handlers understand it: parsed from the verified raw body, before any
/// tenant, idempotency or booking work. [`parse_function_call`] and [`parse_args_only_call`] are
/// the handlers' own parsers, and the fuzz targets in `fuzz/` call them, so the fuzzed code is
/// the served code.
#[derive(Debug)]
pub struct ParsedCall {
    pub function: Function,
    pub call: CallInfo,
    /// [`args_digest`] of the arguments: the argument part of the idempotency key.
    pub args_digest: String,
    request: Request,
}

impl ParsedCall {
    fn new(function: Function, call: CallInfo, args: Value) -> Result<ParsedCall, ApiError> {
        // Not only for "args only" mode: `"args": ["Dauerwelle", "morgen"]` would otherwise be
        // read positionally into the argument struct (found by the schema-driven fuzz).
        if !args.is_object() {
            return Err(ApiError::bad_request("invalid_arguments", "the arguments must be a JSON object"));
        }
        let args_digest = args_digest(&args);
        let request = parse_args(function, args)?;
        Ok(ParsedCall { function, call, args_digest, request })
    }
}

/// Default mode, `{"name", "args", "call"}`: 400 (not JSON, bad arguments) or 404 (unknown function).
pub fn parse_function_call(body: &[u8]) -> Result<ParsedCall, ApiError> {
    let envelope: FunctionEnvelope = parse_object(body)?;
    let function = Function::parse(&envelope.name).ok_or_else(|| ApiError::UnknownFunction(envelope.name.clone()))?;
    ParsedCall::new(function, envelope.call.info(), envelope.args)
}

/// "Args only" mode: the body is the arguments object, the function comes from the path, the
/// call from the `X-Retell-*` headers (`header` looks one up) or `call_id` in the arguments.
pub fn parse_args_only_call(
    name: &str,
    body: &[u8],
    header: impl Fn(&str) -> Option<String>,
) -> Result<ParsedCall, ApiError> {
    let args: Value = parse_json(body)?;
    if !args.is_object() {
        return Err(ApiError::bad_request("invalid_arguments", "the body must be a JSON object of arguments"));
    }
    let function = Function::parse(name).ok_or_else(|| ApiError::UnknownFunction(name.to_owned()))?;
    let info = CallInfo {
        args_only: true,
        call_id: header("x-retell-call-id").or_else(|| args.get("call_id").and_then(Value::as_str).map(str::to_owned)),
        agent_id: header("x-retell-agent-id"),
        from_number: header("x-retell-from-number"),
        to_number: header("x-retell-to-number"),
    };
    ParsedCall::new(function, info, args)
}

/// A Retell call webhook body (`{"event", "call"}`), as the webhook handler parses it.
pub fn parse_webhook(body: &[u8]) -> Result<WebhookEnvelope, ApiError> {
    parse_object(body)
}

fn verified(app: &AppState, headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    let body = read_body(body, app.body_limit)?;
    let header = headers.get("x-retell-signature").and_then(|v| v.to_str().ok());
    let now_ms = app.clock.now().timestamp_millis();
    if let Err(err) =
        super::signature::verify(&body, header, app.retell_key.expose().as_bytes(), now_ms, app.signature_tolerance_ms)
    {
        metrics::webhook_rejected("retell", err.reason());
        return Err(ApiError::Unauthorized(err));
    }
    require_json(headers)?;
    Ok(body)
}

async fn function_call(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = verified(&app, &headers, body)?;
    run(&app, parse_function_call(&body)?).await
}

async fn function_call_args_only(
    State(app): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = verified(&app, &headers, body)?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    run(&app, parse_args_only_call(&name, &body, header)?).await
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

/// A Retell call webhook; only `event` and the call's fields we use are read.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct WebhookEnvelope {
    /// `call_started`, `call_ended`, `call_analyzed`; other events are acknowledged and ignored.
    pub event: String,
    #[serde(default)]
    call: RetellCall,
}

/// `call_started`, `call_ended`, `call_analyzed`; other events are acknowledged and ignored.
async fn webhook(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = verified(&app, &headers, body)?;
    let envelope = parse_webhook(&body)?;
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
    use super::*;

    fn code(result: Result<impl std::fmt::Debug, ApiError>) -> (u16, &'static str) {
        let err = result.expect_err("refused");
        (err.status().as_u16(), err.code())
    }

    /// Regression (schema-driven fuzz): serde reads a struct from an array of its fields in order,
    /// so positional arguments and array bodies were accepted as if they were objects.
    #[test]
    fn arguments_and_bodies_must_be_objects_never_positional_arrays() {
        let call = r#"{"call_id": "call_8d1f0c2b7e4a", "to_number": "+4930123456789"}"#;
        let positional =
            format!(r#"{{"name": "check_availability", "args": ["Dauerwelle", "morgen"], "call": {call}}}"#);
        assert_eq!(code(parse_function_call(positional.as_bytes())), (400, "invalid_arguments"));
        let all_defaults = format!(r#"{{"name": "cancel_booking", "args": [null, null], "call": {call}}}"#);
        assert_eq!(code(parse_function_call(all_defaults.as_bytes())), (400, "invalid_arguments"));
        let array_body = format!(r#"["get_appointments", {{}}, {call}]"#);
        assert_eq!(code(parse_function_call(array_body.as_bytes())), (400, "invalid_json"));
        assert_eq!(code(parse_webhook(br#"["call_started"]"#)), (400, "invalid_json"));
        let positional_call =
            br#"{"event": "call_ended", "call": ["call_8d1f0c2b7e4a", null, null, "+4930123456789"]}"#;
        assert_eq!(code(parse_webhook(positional_call)), (400, "invalid_json"));
        assert_eq!(code(parse_args_only_call("cancel_booking", b"[null, null]", |_| None)), (400, "invalid_arguments"));
        // The object forms still parse.
        let object = format!(r#"{{"name": "cancel_booking", "args": {{}}, "call": {call}}}"#);
        assert_eq!(parse_function_call(object.as_bytes()).unwrap().function, Function::CancelBooking);
        assert_eq!(parse_webhook(br#"{"event": "call_started"}"#).unwrap().event, "call_started");
    }

    /// Regression (fuzz target `retell_payload`): serde_json's default float parsing may be 1 ULP
    /// off, so an 87-digit number and its shortest re-encoding (`1.0555555555555556e86`) parsed to
    /// different values and gave different idempotency digests (BK-3). Fixed by `float_roundtrip`.
    #[test]
    fn the_argument_digest_does_not_depend_on_how_a_number_is_spelled() {
        // The fuzzer's number: 87 digits, parsed as 1.0555555555555555e86 without float_roundtrip.
        let long = format!(r#"{{"service": "Herrenschnitt", "date": "morgen", "extra": 10{}}}"#, "5".repeat(85));
        let first = parse_args_only_call("find_alternatives", long.as_bytes(), |_| None).unwrap();
        let value: Value = serde_json::from_str(&long).unwrap();
        let again = parse_args_only_call("find_alternatives", value.to_string().as_bytes(), |_| None).unwrap();
        assert!(value["extra"].is_f64(), "{value}");
        assert_eq!(first.args_digest, again.args_digest);
    }

    #[test]
    fn version_suffixes_are_stripped() {
        assert_eq!(Function::parse("check_availability_v17"), Some(Function::CheckAvailability));
        assert_eq!(Function::parse("start_booking"), Some(Function::StartBooking));
        assert_eq!(Function::parse("Start_Booking_V2"), None, "V is not v");
        assert_eq!(Function::parse("start_booking_v"), None);
        assert_eq!(Function::parse("book_appointment"), None);
    }
}
