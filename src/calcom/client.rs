//! Typed HTTP client for the Cal.com API v2.
//!
//! Guarantees:
//! - one shared `reqwest::Client` per [`CalcomClient`] (clones share it): connection pooling,
//!   TCP keep-alive, HTTP/2 when the server offers it over ALPN, connect and request timeouts,
//!   no redirects (so the bearer key never follows a `Location`);
//! - every request carries `Authorization: Bearer <key>` (marked sensitive), the endpoint
//!   family's `cal-api-version` and JSON headers; the key is never logged or put in an error;
//! - every request is measured with `metrics::calcom_request(endpoint, status|timeout|error, took)`
//!   and every 429 counted with `metrics::calcom_rate_limited()`;
//! - every failure is a [`CalcomError`]; requests Cal.com would reject (bad metadata, empty uid,
//!   `take` > 250) fail locally with `BadRequest` and are never sent.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{CONNECT_FAILED_PREFIX, CalcomError};
use super::types::{
    API_VERSION_HEADER, Booking, BookingPage, CancelBooking, CreateBooking, Endpoint, Envelope, EventType,
    ListBookingsQuery, RescheduleBooking, ReserveSlot, SlotReservation, SlotsByDate, SlotsQuery, Webhook,
};

pub use calcom_api::http_client_builder;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Scheme and host, e.g. `https://api.cal.com`; a trailing `/v2` is tolerated.
    pub base_url: String,
    pub connect_timeout: Duration,
    /// Whole request, including reading the body.
    pub request_timeout: Duration,
    pub pool_idle_timeout: Duration,
    pub tcp_keepalive: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            base_url: "https://api.cal.com".to_owned(),
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(90),
            tcp_keepalive: Duration::from_secs(60),
        }
    }
}

#[derive(Clone)]
pub struct CalcomClient {
    http: reqwest::Client,
    base: Arc<Url>,
    base_str: Arc<str>,
}

impl std::fmt::Debug for CalcomClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CalcomClient").field("base_url", &self.base_str).finish()
    }
}

/// Raw answer of one request.
struct RawResponse {
    status: u16,
    headers: HeaderMap,
    /// `bytes::Bytes`, re-exported by axum (reqwest does not re-export it).
    body: axum::body::Bytes,
}

/// `data` of create/get answers: one booking, or a list for recurring event types.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Box<Booking>),
    Many(Vec<Booking>),
}

impl OneOrMany {
    fn first(self, endpoint: Endpoint) -> Result<Booking, CalcomError> {
        match self {
            OneOrMany::One(b) => Ok(*b),
            OneOrMany::Many(v) => v
                .into_iter()
                .next()
                .ok_or_else(|| CalcomError::Transport(format!("{} answered an empty booking list", endpoint.label()))),
        }
    }
}

impl CalcomClient {
    pub fn new(cfg: &ClientConfig) -> Result<Self, CalcomError> {
        let trimmed = cfg.base_url.trim().trim_end_matches('/');
        let trimmed = trimmed.strip_suffix("/v2").unwrap_or(trimmed);
        let base = Url::parse(trimmed).map_err(|e| CalcomError::Transport(format!("invalid cal.com base url: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(CalcomError::Transport("cal.com base url must be http(s)://host".to_owned()));
        }
        let http = http_client_builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.request_timeout)
            .pool_idle_timeout(cfg.pool_idle_timeout)
            .tcp_keepalive(cfg.tcp_keepalive)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("slotkeeper/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CalcomError::Transport(format!("cannot build http client: {e}")))?;
        Ok(CalcomClient { http, base_str: Arc::from(trimmed), base: Arc::new(base) })
    }

    pub fn base_url(&self) -> &str {
        &self.base_str
    }

    /// `GET /v2/slots`: free slots grouped by date.
    pub async fn get_slots(&self, api_key: &str, q: &SlotsQuery) -> Result<SlotsByDate, CalcomError> {
        if q.end < q.start {
            return Err(bad("slots query ends before it starts"));
        }
        let query = q.to_query_pairs();
        let raw = self.send(Endpoint::SlotsGet, Method::GET, &["slots"], api_key, &query, None).await?;
        decode_data(Endpoint::SlotsGet, raw)
    }

    /// `POST /v2/bookings`. Validates metadata limits locally first.
    pub async fn create_booking(&self, api_key: &str, req: &CreateBooking) -> Result<Booking, CalcomError> {
        req.validate().map_err(bad)?;
        let body = to_body(req)?;
        let ep = Endpoint::BookingsCreate;
        let raw = self.send(ep, Method::POST, &["bookings"], api_key, &[], Some(body)).await?;
        decode_data::<OneOrMany>(ep, raw)?.first(ep)
    }

    /// `GET /v2/bookings` with filters and paging.
    pub async fn list_bookings(&self, api_key: &str, q: &ListBookingsQuery) -> Result<BookingPage, CalcomError> {
        let query = q.to_query_pairs().map_err(bad)?;
        let ep = Endpoint::BookingsList;
        let raw = self.send(ep, Method::GET, &["bookings"], api_key, &query, None).await?;
        if !is_success(raw.status) {
            return Err(error_of(ep, &raw));
        }
        serde_json::from_slice::<BookingPage>(&raw.body).map_err(|e| undecodable(ep, &e))
    }

    /// `GET /v2/bookings/{uid}`; `None` when Cal.com answers 404.
    pub async fn get_booking(&self, api_key: &str, uid: &str) -> Result<Option<Booking>, CalcomError> {
        check_uid(uid)?;
        let ep = Endpoint::BookingsGet;
        let raw = self.send(ep, Method::GET, &["bookings", uid], api_key, &[], None).await?;
        if raw.status == 404 {
            return Ok(None);
        }
        decode_data::<OneOrMany>(ep, raw)?.first(ep).map(Some)
    }

    /// `POST /v2/bookings/{uid}/cancel`.
    pub async fn cancel_booking(&self, api_key: &str, uid: &str, reason: &str) -> Result<Booking, CalcomError> {
        check_uid(uid)?;
        let body = to_body(&CancelBooking { cancellation_reason: (!reason.is_empty()).then(|| reason.to_owned()) })?;
        let ep = Endpoint::BookingsCancel;
        let raw = self.send(ep, Method::POST, &["bookings", uid, "cancel"], api_key, &[], Some(body)).await?;
        decode_data::<OneOrMany>(ep, raw)?.first(ep)
    }

    /// `POST /v2/bookings/{uid}/reschedule`: returns the NEW booking (new uid, `rescheduledFromUid`).
    pub async fn reschedule_booking(
        &self,
        api_key: &str,
        uid: &str,
        req: &RescheduleBooking,
    ) -> Result<Booking, CalcomError> {
        check_uid(uid)?;
        let body = to_body(req)?;
        let ep = Endpoint::BookingsReschedule;
        let raw = self.send(ep, Method::POST, &["bookings", uid, "reschedule"], api_key, &[], Some(body)).await?;
        decode_data::<OneOrMany>(ep, raw)?.first(ep)
    }

    /// `POST /v2/slots/reservations`: holds a slot; 422 (slot booked or held) → `SlotTaken`.
    pub async fn reserve_slot(&self, api_key: &str, req: &ReserveSlot) -> Result<SlotReservation, CalcomError> {
        let body = to_body(req)?;
        let ep = Endpoint::ReservationsCreate;
        let raw = self.send(ep, Method::POST, &["slots", "reservations"], api_key, &[], Some(body)).await?;
        decode_data(ep, raw)
    }

    /// `GET /v2/slots/reservations/{uid}`; `None` when unknown, deleted or expired.
    pub async fn get_reservation(&self, api_key: &str, uid: &str) -> Result<Option<SlotReservation>, CalcomError> {
        check_uid(uid)?;
        let ep = Endpoint::ReservationsGet;
        let raw = self.send(ep, Method::GET, &["slots", "reservations", uid], api_key, &[], None).await?;
        if raw.status == 404 {
            return Ok(None);
        }
        decode_data(ep, raw)
    }

    /// `PATCH /v2/slots/reservations/{uid}`: moves or extends a hold (`releaseAt` from now).
    pub async fn update_reservation(
        &self,
        api_key: &str,
        uid: &str,
        req: &ReserveSlot,
    ) -> Result<SlotReservation, CalcomError> {
        check_uid(uid)?;
        let body = to_body(req)?;
        let ep = Endpoint::ReservationsUpdate;
        let raw = self.send(ep, Method::PATCH, &["slots", "reservations", uid], api_key, &[], Some(body)).await?;
        decode_data(ep, raw)
    }

    /// `GET /v2/event-types/{id}` (`cal-api-version: 2024-06-14`); `None` when Cal.com answers 404.
    pub async fn get_event_type(&self, api_key: &str, id: i64) -> Result<Option<EventType>, CalcomError> {
        let ep = Endpoint::EventTypesGet;
        let raw = self.send(ep, Method::GET, &["event-types", &id.to_string()], api_key, &[], None).await?;
        if raw.status == 404 {
            return Ok(None);
        }
        decode_data(ep, raw)
    }

    /// `GET /v2/event-types`: the API key owner's event types (an empty list is Cal.com's 404).
    pub async fn list_event_types(&self, api_key: &str) -> Result<Vec<EventType>, CalcomError> {
        let ep = Endpoint::EventTypesGet;
        let raw = self.send(ep, Method::GET, &["event-types"], api_key, &[], None).await?;
        if raw.status == 404 {
            return Ok(Vec::new());
        }
        decode_data(ep, raw)
    }

    /// `GET /v2/webhooks`: the API key owner's webhook subscriptions (first 250).
    pub async fn list_webhooks(&self, api_key: &str) -> Result<Vec<Webhook>, CalcomError> {
        let ep = Endpoint::WebhooksList;
        let raw = self.send(ep, Method::GET, &["webhooks"], api_key, &[], None).await?;
        decode_data(ep, raw)
    }

    /// `DELETE /v2/slots/reservations/{uid}`; an unknown uid is not an error.
    pub async fn delete_reservation(&self, api_key: &str, uid: &str) -> Result<(), CalcomError> {
        check_uid(uid)?;
        let ep = Endpoint::ReservationsDelete;
        let raw = self.send(ep, Method::DELETE, &["slots", "reservations", uid], api_key, &[], None).await?;
        if is_success(raw.status) || raw.status == 404 { Ok(()) } else { Err(error_of(ep, &raw)) }
    }

    async fn send(
        &self,
        endpoint: Endpoint,
        method: Method,
        segments: &[&str],
        api_key: &str,
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<RawResponse, CalcomError> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", api_key.trim()))
            .map_err(|_| bad("api key contains characters not allowed in a header"))?;
        auth.set_sensitive(true);
        let mut url = (*self.base).clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| CalcomError::Transport("cal.com base url cannot take a path".to_owned()))?;
            path.pop_if_empty().push("v2").extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let mut request = self
            .http
            .request(method, url)
            .header(AUTHORIZATION, auth)
            .header(API_VERSION_HEADER, endpoint.api_version())
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }

        let label = endpoint.label();
        let started = Instant::now();
        let outcome = match request.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                match resp.bytes().await {
                    Ok(body) => Ok(RawResponse { status, headers, body }),
                    Err(e) => Err(map_reqwest(e)),
                }
            }
            Err(e) => Err(map_reqwest(e)),
        };
        let took = started.elapsed();
        let latency_ms = took.as_millis() as u64;
        match &outcome {
            Ok(raw) => {
                crate::metrics::calcom_request(label, &raw.status.to_string(), took);
                if raw.status == 429 {
                    crate::metrics::calcom_rate_limited();
                    tracing::info!(endpoint = label, status = raw.status, latency_ms, "cal.com rate limited");
                } else if raw.status >= 500 {
                    tracing::warn!(endpoint = label, status = raw.status, latency_ms, "cal.com server error");
                } else {
                    tracing::debug!(endpoint = label, status = raw.status, latency_ms, "cal.com request");
                }
            }
            Err(err) => {
                let status = if *err == CalcomError::Timeout { "timeout" } else { "error" };
                crate::metrics::calcom_request(label, status, took);
                tracing::warn!(endpoint = label, status, latency_ms, error = %err, "cal.com request failed");
            }
        }
        outcome
    }
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

fn bad(message: impl Into<String>) -> CalcomError {
    CalcomError::BadRequest { message: message.into() }
}

fn check_uid(uid: &str) -> Result<(), CalcomError> {
    if uid.trim().is_empty() { Err(bad("uid must not be empty")) } else { Ok(()) }
}

fn to_body<T: Serialize>(value: &T) -> Result<Vec<u8>, CalcomError> {
    serde_json::to_vec(value).map_err(|e| bad(format!("cannot encode request: {e}")))
}

fn undecodable(endpoint: Endpoint, e: &serde_json::Error) -> CalcomError {
    CalcomError::Transport(format!("undecodable {} answer: {e}", endpoint.label()))
}

fn error_of(endpoint: Endpoint, raw: &RawResponse) -> CalcomError {
    CalcomError::from_response(endpoint, raw.status, &raw.headers, &raw.body, Utc::now())
}

/// `data` of a 2xx `{status, data}` answer, or the mapped error.
fn decode_data<T: DeserializeOwned>(endpoint: Endpoint, raw: RawResponse) -> Result<T, CalcomError> {
    if !is_success(raw.status) {
        return Err(error_of(endpoint, &raw));
    }
    serde_json::from_slice::<Envelope<T>>(&raw.body).map(|e| e.data).map_err(|e| undecodable(endpoint, &e))
}

/// reqwest errors without the URL, with their source chain (never contains the API key).
fn map_reqwest(e: reqwest::Error) -> CalcomError {
    let timeout = e.is_timeout();
    let connect = e.is_connect();
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if timeout {
        CalcomError::Timeout
    } else if connect {
        CalcomError::Transport(format!("{CONNECT_FAILED_PREFIX}{text}"))
    } else {
        CalcomError::Transport(text)
    }
}

#[cfg(test)]
mod tests;
