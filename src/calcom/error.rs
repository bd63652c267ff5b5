//! What can go wrong talking to Cal.com, classified for the caller's decisions.
//!
//! Guarantees:
//! - every HTTP answer maps to exactly one [`CalcomError`] by [`CalcomError::from_response`], a
//!   pure function of status, headers, body and endpoint (unit-tested without a network);
//! - business answers (slot taken, bad request, not found) never count for the circuit breaker,
//!   a 429 neither; only infrastructure failures do;
//! - [`CalcomError::is_ambiguous`] is true whenever Cal.com may have acted on the request although
//!   we saw no answer (timeouts, connections that broke after the request was written).

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

use super::types::Endpoint;

/// Prefix of [`CalcomError::Transport`] messages for failures before the request was written
/// (refused connection, DNS): those requests never reached Cal.com and are not ambiguous.
pub const CONNECT_FAILED_PREFIX: &str = "connect failed: ";

/// Fragments of Cal.com's 400 messages that mean "this time is taken" (booking create/reschedule).
const SLOT_TAKEN_FRAGMENTS: &[&str] = &[
    "already has booking",
    "not available",
    "reserved this slot",
    "already reserved",
    "no longer available",
    "already booked",
];

/// Upper bound for a `Retry-After`/reset value we honour: anything larger is treated as this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalcomError {
    /// The slot is booked or reserved by someone else (400 "already has booking"/"not
    /// available", 409, or 422 on reservations).
    #[error("slot taken: {message}")]
    SlotTaken { message: String },
    /// 429. `retry_after` from `Retry-After` (seconds or HTTP date) or `X-RateLimit-Reset-*`.
    #[error("rate limited by cal.com (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },
    /// 401 or 403: the API key is missing, wrong or lacks permission.
    #[error("cal.com rejected the api key")]
    Unauthorized,
    /// Any other 4xx, with Cal.com's message; also requests we refuse to send (invalid input).
    #[error("bad request: {message}")]
    BadRequest { message: String },
    /// 404: unknown booking, reservation or event type.
    #[error("not found at cal.com")]
    NotFound,
    /// 5xx, or any other status outside 2xx/4xx (redirects are not followed).
    #[error("cal.com unavailable (http {status})")]
    Unavailable { status: u16 },
    /// Request or connect timeout. The request may have been processed.
    #[error("cal.com request timed out")]
    Timeout,
    /// Connection refused or reset, broken body, undecodable answer.
    #[error("transport error: {0}")]
    Transport(String),
}

impl CalcomError {
    /// Worth trying again later (after a backoff or the given Retry-After).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            CalcomError::RateLimited { .. }
                | CalcomError::Unavailable { .. }
                | CalcomError::Timeout
                | CalcomError::Transport(_)
        )
    }

    /// Counts as a failure for the circuit breaker: infrastructure only.
    pub fn counts_for_circuit(&self) -> bool {
        matches!(self, CalcomError::Unavailable { .. } | CalcomError::Timeout | CalcomError::Transport(_))
    }

    /// Cal.com may have performed the request although we saw no answer: verify (e.g. list
    /// bookings by metadata) before retrying a create.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            CalcomError::Timeout => true,
            CalcomError::Transport(msg) => !msg.starts_with(CONNECT_FAILED_PREFIX),
            _ => false,
        }
    }

    /// Maps a non-success HTTP answer. `now` is used for `Retry-After` HTTP dates.
    pub fn from_response(
        endpoint: Endpoint,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> CalcomError {
        let message = error_message(body).unwrap_or_else(|| format!("http {status}"));
        match status {
            401 | 403 => CalcomError::Unauthorized,
            404 => CalcomError::NotFound,
            409 => CalcomError::SlotTaken { message },
            422 if endpoint.is_reservation() => CalcomError::SlotTaken { message },
            429 => CalcomError::RateLimited { retry_after: retry_after_from_headers(headers, now) },
            400 if is_slot_taken_message(&message) => CalcomError::SlotTaken { message },
            400..=499 => CalcomError::BadRequest { message },
            _ => CalcomError::Unavailable { status },
        }
    }
}

/// Does a 400 message say that the time is taken?
pub fn is_slot_taken_message(message: &str) -> bool {
    let lower = message.to_lowercase();
    SLOT_TAKEN_FRAGMENTS.iter().any(|f| lower.contains(f))
}

/// Cal.com's `error.message` (string, or a list joined by "; "), else a top-level `message`.
fn error_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let pick = |m: &serde_json::Value| -> Option<String> {
        match m {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Array(items) => {
                let parts: Vec<String> =
                    items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned)).collect();
                Some(parts.join("; "))
            }
            _ => None,
        }
    };
    v.get("error").and_then(|e| e.get("message")).and_then(pick).or_else(|| v.get("message").and_then(pick))
}

/// How long to wait after a 429: `Retry-After` (delta-seconds or HTTP date), else the largest
/// `X-RateLimit-Reset-*` value read defensively (seconds remaining, Unix seconds or Unix ms).
pub fn retry_after_from_headers(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let retry_after = headers.get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok());
    if let Some(d) = retry_after.and_then(|v| parse_retry_after(v.trim(), now)) {
        return Some(d.min(MAX_RETRY_AFTER));
    }
    headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-ratelimit-reset"))
        .filter_map(|(_, v)| v.to_str().ok())
        .filter_map(|v| parse_reset(v.trim(), now))
        .max()
        .map(|d| d.min(MAX_RETRY_AFTER))
}

fn parse_retry_after(v: &str, now: DateTime<Utc>) -> Option<Duration> {
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Some(secs) = v.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0) {
        return Some(Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// Unix time in seconds is above this (2001-09-09); smaller numbers are seconds remaining.
const UNIX_SECONDS_FLOOR: u64 = 1_000_000_000;
/// Unix time in milliseconds is above this.
const UNIX_MILLIS_FLOOR: u64 = 1_000_000_000_000;

fn parse_reset(v: &str, now: DateTime<Utc>) -> Option<Duration> {
    let n: u64 = v
        .parse::<u64>()
        .ok()
        .or_else(|| v.parse::<f64>().ok().filter(|f| f.is_finite() && *f >= 0.0).map(|f| f.ceil() as u64))?;
    let now_ms = u64::try_from(now.timestamp_millis()).ok()?;
    if n >= UNIX_MILLIS_FLOOR {
        Some(Duration::from_millis(n.saturating_sub(now_ms)))
    } else if n >= UNIX_SECONDS_FLOOR {
        Some(Duration::from_millis((n * 1000).saturating_sub(now_ms)))
    } else {
        Some(Duration::from_secs(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(HeaderName::from_bytes(k.as_bytes()).expect("name"), HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    fn body(msg: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "status": "error", "timestamp": "2030-01-01T00:00:00Z", "path": "/v2/bookings",
            "error": {"code": "BadRequestException", "message": msg}
        }))
        .expect("json")
    }

    fn map(endpoint: Endpoint, status: u16, b: &[u8]) -> CalcomError {
        CalcomError::from_response(endpoint, status, &HeaderMap::new(), b, Utc::now())
    }

    #[test]
    fn classifies_statuses() {
        let taken = body("User either already has booking at this time or is not available");
        assert!(matches!(map(Endpoint::BookingsCreate, 400, &taken), CalcomError::SlotTaken { .. }));
        assert!(matches!(map(Endpoint::BookingsCreate, 409, b""), CalcomError::SlotTaken { .. }));
        assert!(matches!(map(Endpoint::ReservationsCreate, 422, &body("x")), CalcomError::SlotTaken { .. }));
        assert_eq!(
            map(Endpoint::BookingsCreate, 422, &body("invalid")),
            CalcomError::BadRequest { message: "invalid".into() }
        );
        assert_eq!(
            map(Endpoint::BookingsCreate, 400, &body("start must be a date")),
            CalcomError::BadRequest { message: "start must be a date".into() }
        );
        assert_eq!(map(Endpoint::BookingsGet, 401, b""), CalcomError::Unauthorized);
        assert_eq!(map(Endpoint::BookingsGet, 403, b""), CalcomError::Unauthorized);
        assert_eq!(map(Endpoint::BookingsGet, 404, b""), CalcomError::NotFound);
        assert_eq!(map(Endpoint::BookingsGet, 503, b"<html>"), CalcomError::Unavailable { status: 503 });
        assert_eq!(
            map(Endpoint::BookingsGet, 418, b"not json"),
            CalcomError::BadRequest { message: "http 418".into() }
        );
    }

    #[test]
    fn message_list_is_joined() {
        let b = br#"{"status":"error","error":{"code":"x","message":["a","b"]}}"#;
        assert_eq!(map(Endpoint::BookingsCreate, 400, b), CalcomError::BadRequest { message: "a; b".into() });
    }

    #[test]
    fn retry_after_seconds_date_and_reset_headers() {
        let now = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z").expect("date").with_timezone(&Utc);
        assert_eq!(retry_after_from_headers(&headers(&[("retry-after", "42")]), now), Some(Duration::from_secs(42)));
        let h = headers(&[("retry-after", "Tue, 01 Jan 2030 00:00:30 GMT")]);
        assert_eq!(retry_after_from_headers(&h, now), Some(Duration::from_secs(30)));
        let h = headers(&[("retry-after", "Mon, 31 Dec 2029 23:00:00 GMT")]);
        assert_eq!(retry_after_from_headers(&h, now), Some(Duration::ZERO));
        let h = headers(&[("x-ratelimit-reset-default", "17")]);
        assert_eq!(retry_after_from_headers(&h, now), Some(Duration::from_secs(17)));
        let epoch = (now.timestamp() + 25).to_string();
        let h = headers(&[("x-ratelimit-reset-default", epoch.as_str())]);
        assert_eq!(retry_after_from_headers(&h, now), Some(Duration::from_secs(25)));
        let epoch_ms = (now.timestamp_millis() + 1500).to_string();
        let h = headers(&[("x-ratelimit-reset-short", epoch_ms.as_str())]);
        assert_eq!(retry_after_from_headers(&h, now), Some(Duration::from_millis(1500)));
        assert_eq!(retry_after_from_headers(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after_from_headers(&HeaderMap::new(), now), None);
        let h = headers(&[("retry-after", "999999")]);
        assert_eq!(retry_after_from_headers(&h, now), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn classification_methods() {
        let all = [
            CalcomError::SlotTaken { message: String::new() },
            CalcomError::RateLimited { retry_after: None },
            CalcomError::Unauthorized,
            CalcomError::BadRequest { message: String::new() },
            CalcomError::NotFound,
            CalcomError::Unavailable { status: 502 },
            CalcomError::Timeout,
            CalcomError::Transport("connection reset".into()),
        ];
        let retryable: Vec<bool> = all.iter().map(CalcomError::is_retryable).collect();
        assert_eq!(retryable, [false, true, false, false, false, true, true, true]);
        let circuit: Vec<bool> = all.iter().map(CalcomError::counts_for_circuit).collect();
        assert_eq!(circuit, [false, false, false, false, false, true, true, true]);
        let ambiguous: Vec<bool> = all.iter().map(CalcomError::is_ambiguous).collect();
        assert_eq!(ambiguous, [false, false, false, false, false, false, true, true]);
        let refused = CalcomError::Transport(format!("{CONNECT_FAILED_PREFIX}connection refused"));
        assert!(!refused.is_ambiguous() && refused.is_retryable() && refused.counts_for_circuit());
    }
}
