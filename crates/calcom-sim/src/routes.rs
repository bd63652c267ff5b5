//! Router of the Cal.com simulator: the v2 API behind one gate, the `/_sim` control endpoints,
//! and Cal.com-shaped errors for everything else.
//!
//! The gate runs for every matched v2 route, in this order: stats (in flight) → injected fault
//! (down / scripted / random: latency, 5xx, hang, reset, accept-then-hang) → rate limit (429 +
//! `Retry-After`) → Bearer auth (401) → `cal-api-version` (400) → handler; the
//! `X-RateLimit-*-Default` headers are added to every answer that passed the rate limit.
//!
//! Control endpoints (no faults, limits or auth): `GET /_sim/stats`, `GET /_sim/bookings`,
//! `GET|PUT /_sim/faults`, `POST /_sim/external-booking {eventTypeId, start}`,
//! `POST /_sim/reset-stats`, `POST /_sim/advance-clock {seconds}`.
//!
//! Guarantees: bodies over [`MAX_BODY_BYTES`] get 413; unknown routes and methods get 404 in
//! Cal.com's error shape.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use chrono::Utc;

use super::api;
use super::error::{ApiError, error_response, exception_code, json_response};
use super::faults::{Action, Faults};
use super::limiter::Verdict;
use super::state::{CalError, RESERVATION_HELD_MSG, SLOT_TAKEN_MSG};
use super::{SimInner, faults::FaultState};
use calcom_api::types::{API_VERSION_HEADER, Endpoint};

/// Largest request body the simulator reads (Cal.com bodies are a few KiB); larger → 413.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;
/// `Retry-After` of a scripted 429.
const SCRIPTED_RETRY_AFTER: Duration = Duration::from_secs(60);

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn header_num(n: u64) -> HeaderValue {
    HeaderValue::from(n)
}

fn rate_limited(path: &str, limit: u32, retry_after: Duration) -> Response {
    let mut resp = error_response(
        StatusCode::TOO_MANY_REQUESTS,
        "ThrottlerException",
        "Too many requests. Please try again later.",
        path,
    );
    let h = resp.headers_mut();
    h.insert(RETRY_AFTER, header_num(ceil_secs(retry_after)));
    h.insert("x-ratelimit-limit-default", header_num(u64::from(limit)));
    h.insert("x-ratelimit-remaining-default", header_num(0));
    h.insert("x-ratelimit-reset-default", header_num(ceil_secs(retry_after)));
    resp
}

/// Marks an answer whose connection is aborted mid-body.
#[derive(Debug, Clone, Copy)]
struct ResetMarker;

/// 200 with a declared length, a partial body, then an I/O error: hyper aborts the connection.
fn reset_response() -> Response {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from_static(b"{\"status\":\"success\",\"data\":{\"id\":")),
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "simulated connection reset")),
    ];
    let mut resp = Response::new(Body::from_stream(futures::stream::iter(chunks)));
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from_static("4096"));
    resp.extensions_mut().insert(ResetMarker);
    resp
}

fn endpoint_for(method: &Method, route: &str) -> Option<Endpoint> {
    Some(match (method.as_str(), route) {
        ("GET", "/v2/slots") => Endpoint::SlotsGet,
        ("POST", "/v2/bookings") => Endpoint::BookingsCreate,
        ("GET", "/v2/bookings") => Endpoint::BookingsList,
        ("GET", "/v2/bookings/{uid}") => Endpoint::BookingsGet,
        ("POST", "/v2/bookings/{uid}/cancel") => Endpoint::BookingsCancel,
        ("POST", "/v2/bookings/{uid}/reschedule") => Endpoint::BookingsReschedule,
        ("POST", "/v2/slots/reservations") => Endpoint::ReservationsCreate,
        ("GET", "/v2/slots/reservations/{uid}") => Endpoint::ReservationsGet,
        ("PATCH", "/v2/slots/reservations/{uid}") => Endpoint::ReservationsUpdate,
        ("DELETE", "/v2/slots/reservations/{uid}") => Endpoint::ReservationsDelete,
        ("GET", "/v2/event-types/{id}") | ("GET", "/v2/event-types") => Endpoint::EventTypesGet,
        ("GET", "/v2/webhooks") => Endpoint::WebhooksList,
        _ => return None,
    })
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

async fn gate(State(sim): State<Arc<SimInner>>, req: Request, next: Next) -> Response {
    let endpoint = req.extensions().get::<MatchedPath>().and_then(|p| endpoint_for(req.method(), p.as_str()));
    let Some(endpoint) = endpoint else {
        return next.run(req).await;
    };
    let guard = sim.stats.begin(endpoint.label());
    let resp = gated(&sim, endpoint, req, next).await;
    let outcome = if resp.extensions().get::<ResetMarker>().is_some() {
        "reset".to_owned()
    } else {
        resp.status().as_u16().to_string()
    };
    guard.finish(outcome);
    resp
}

async fn gated(sim: &SimInner, endpoint: Endpoint, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let decision = sim.faults().decide(endpoint);
    if decision.injected {
        sim.stats.bump(|s| s.faults_injected += 1);
    }
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let mut hang_after = None;
    match decision.action {
        Action::Normal => {}
        Action::Error { status: 429, retry_after, .. } => {
            sim.stats.bump(|s| s.rate_limited += 1);
            return rate_limited(&path, sim.limiter_limit(), retry_after.unwrap_or(SCRIPTED_RETRY_AFTER));
        }
        Action::Error { status, message, .. } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error_response(status, exception_code(status), &message, &path);
        }
        Action::SlotTaken if endpoint.is_reservation() => {
            return ApiError::unprocessable(RESERVATION_HELD_MSG).respond(&path);
        }
        Action::SlotTaken => return ApiError::bad(SLOT_TAKEN_MSG).respond(&path),
        Action::Hang(d) => {
            tokio::time::sleep(d).await;
            return error_response(StatusCode::GATEWAY_TIMEOUT, "GatewayTimeoutException", "Gateway Timeout", &path);
        }
        Action::Reset => return reset_response(),
        Action::AcceptThenHang(d) => hang_after = Some(d),
    }

    let key = bearer(req.headers()).unwrap_or("anonymous").to_owned();
    let verdict = sim.limiter().check(&key, tokio::time::Instant::now());
    if let Verdict::Limited { limit, retry_after } = verdict {
        sim.stats.bump(|s| s.rate_limited += 1);
        return rate_limited(&path, limit, retry_after);
    }
    match bearer(req.headers()) {
        None => {
            let msg = "No authentication method provided. Pass an API key as 'Authorization: Bearer <key>'.";
            return ApiError::unauthorized(msg).respond(&path);
        }
        Some(k) if !sim.key_accepted(k) => {
            return ApiError::unauthorized("Invalid API Key").respond(&path);
        }
        Some(_) => {}
    }
    let expected = endpoint.api_version();
    match req.headers().get(API_VERSION_HEADER).and_then(|v| v.to_str().ok()) {
        None => {
            let msg = format!("{API_VERSION_HEADER} header is required for {path}: use {expected}");
            return ApiError::bad(msg).respond(&path);
        }
        Some(v) if v.trim() != expected => {
            let msg = format!("{API_VERSION_HEADER} {v} is not supported for {path}: use {expected}");
            return ApiError::bad(msg).respond(&path);
        }
        Some(_) => {}
    }

    let mut resp = next.run(req).await;
    if let Verdict::Allowed { limit, remaining, reset } = verdict {
        let h = resp.headers_mut();
        h.insert("x-ratelimit-limit-default", header_num(u64::from(limit)));
        h.insert("x-ratelimit-remaining-default", header_num(u64::from(remaining)));
        h.insert("x-ratelimit-reset-default", header_num(ceil_secs(reset)));
    }
    if let Some(d) = hang_after {
        tokio::time::sleep(d).await;
    }
    resp
}

impl SimInner {
    fn limiter_limit(&self) -> u32 {
        self.limiter().limit()
    }
}

async fn not_found(State(sim): State<Arc<SimInner>>, method: Method, uri: Uri) -> Response {
    sim.stats.begin("other").finish("404".to_owned());
    ApiError::not_found(format!("Cannot {method} {}", uri.path())).respond(uri.path())
}

async fn control_stats(State(sim): State<Arc<SimInner>>) -> Response {
    json_response(StatusCode::OK, &sim.snapshot_stats())
}

async fn control_bookings(State(sim): State<Arc<SimInner>>) -> Response {
    json_response(StatusCode::OK, &sim.cal().bookings().to_vec())
}

async fn control_get_faults(State(sim): State<Arc<SimInner>>) -> Response {
    json_response(StatusCode::OK, &sim.faults().current())
}

async fn control_put_faults(
    State(sim): State<Arc<SimInner>>,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let parsed = body
        .map_err(|_| ApiError::too_large())
        .and_then(|b| serde_json::from_slice::<Faults>(&b).map_err(|e| ApiError::bad(format!("invalid faults: {e}"))))
        .and_then(|f| f.validate().map(|()| f).map_err(ApiError::bad));
    match parsed {
        Ok(f) => {
            *sim.faults() = FaultState::new(f);
            json_response(StatusCode::OK, &sim.faults().current())
        }
        Err(e) => e.respond(uri.path()),
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExternalBookingInput {
    event_type_id: i64,
    start: chrono::DateTime<Utc>,
}

async fn control_external_booking(
    State(sim): State<Arc<SimInner>>,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let input = body
        .map_err(|_| ApiError::too_large())
        .and_then(|b| serde_json::from_slice::<ExternalBookingInput>(&b).map_err(|e| ApiError::bad(format!("{e}"))));
    match input.and_then(|i| {
        sim.book_external(i.event_type_id, i.start).map_err(|e| match e {
            CalError::SlotTaken(m) => ApiError { status: StatusCode::CONFLICT, code: "ConflictException", message: m },
            other => other.into(),
        })
    }) {
        Ok(b) => json_response(StatusCode::CREATED, &calcom_api::types::Envelope::success(b)),
        Err(e) => e.respond(uri.path()),
    }
}

#[derive(serde::Deserialize)]
struct AdvanceClockInput {
    seconds: u64,
}

async fn control_advance_clock(
    State(sim): State<Arc<SimInner>>,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let input = body
        .map_err(|_| ApiError::too_large())
        .and_then(|b| serde_json::from_slice::<AdvanceClockInput>(&b).map_err(|e| ApiError::bad(format!("{e}"))));
    match input {
        Ok(i) => {
            sim.advance_clock(Duration::from_secs(i.seconds));
            let now = sim.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            json_response(StatusCode::OK, &serde_json::json!({"status": "success", "now": now}))
        }
        Err(e) => e.respond(uri.path()),
    }
}

async fn control_reset_stats(State(sim): State<Arc<SimInner>>) -> Response {
    sim.stats.reset();
    json_response(StatusCode::OK, &serde_json::json!({"status": "success"}))
}

pub(crate) fn router(sim: Arc<SimInner>) -> Router {
    let v2 = Router::new()
        .route("/v2/slots", get(api::slots))
        .route("/v2/bookings", post(api::create_booking).get(api::list_bookings))
        .route("/v2/bookings/{uid}", get(api::get_booking))
        .route("/v2/bookings/{uid}/cancel", post(api::cancel_booking))
        .route("/v2/bookings/{uid}/reschedule", post(api::reschedule_booking))
        .route("/v2/slots/reservations", post(api::reserve))
        .route(
            "/v2/slots/reservations/{uid}",
            get(api::get_reservation).patch(api::update_reservation).delete(api::delete_reservation),
        )
        .route("/v2/event-types", get(super::catalog::list_event_types))
        .route("/v2/event-types/{id}", get(super::catalog::get_event_type))
        .route("/v2/webhooks", get(super::catalog::list_webhooks))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&sim), gate));
    let control = Router::new()
        .route("/_sim/stats", get(control_stats))
        .route("/_sim/bookings", get(control_bookings))
        .route("/_sim/faults", put(control_put_faults).get(control_get_faults))
        .route("/_sim/external-booking", post(control_external_booking))
        .route("/_sim/reset-stats", post(control_reset_stats))
        .route("/_sim/advance-clock", post(control_advance_clock));
    v2.merge(control)
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(sim)
}
