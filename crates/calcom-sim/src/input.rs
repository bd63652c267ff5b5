//! Hand-written request parsing of the Cal.com simulator: bodies, query strings, path
//! parameters, dates, e-mail addresses and phone numbers.
//!
//! Guarantees: every malformed input becomes an [`ApiError`] (400, or 413 for an oversized body)
//! with a message naming the field, so nothing odd ever reaches the calendar or turns into a 5xx.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use super::error::ApiError;

pub(crate) type Obj = Map<String, Value>;
pub(crate) type RawQuery = Result<Query<Vec<(String, String)>>, QueryRejection>;
pub(crate) type UidPath = Result<Path<String>, PathRejection>;
pub(crate) type Body = Result<Bytes, BytesRejection>;

/// Longest accepted free text (names, reasons), in characters.
const MAX_TEXT_CHARS: usize = 2_000;
/// Years a date may have; anything else is rejected (and date arithmetic can never overflow).
const PLAUSIBLE_YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

pub(crate) fn body_object(body: Body, required: bool) -> Result<Obj, ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large()
        } else {
            ApiError::bad("Unreadable request body")
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return if required { Err(ApiError::bad("Request body is required")) } else { Ok(Obj::new()) };
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(ApiError::bad("Request body must be a JSON object")),
        Err(_) => Err(ApiError::bad("Invalid JSON in request body")),
    }
}

pub(crate) fn uid_of(p: UidPath) -> Result<String, ApiError> {
    p.map(|Path(uid)| uid).map_err(|_| ApiError::bad("Invalid uid in path"))
}

pub(crate) fn params_of(q: RawQuery) -> Result<Vec<(String, String)>, ApiError> {
    q.map(|Query(v)| v).map_err(|_| ApiError::bad("Invalid query string"))
}

pub(crate) fn param<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// ISO 8601 with an offset, or without one (read as UTC).
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
                .map(|n| n.and_utc())
        })
        .filter(|t| PLAUSIBLE_YEARS.contains(&t.year()))
}

/// Query dates: a bare `YYYY-MM-DD` means 00:00:00 (start) or 23:59:59 (end) UTC, like Cal.com.
pub(crate) fn query_time(
    q: &[(String, String)],
    key: &str,
    end_of_day: bool,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(v) = param(q, key) else {
        return Ok(None);
    };
    let date = NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok();
    if let Some(d) = date.filter(|d| PLAUSIBLE_YEARS.contains(&d.year())) {
        let t = if end_of_day { d.and_hms_opt(23, 59, 59) } else { d.and_hms_opt(0, 0, 0) };
        return Ok(t.map(|t| t.and_utc()));
    }
    parse_time(v).map(Some).ok_or_else(|| ApiError::bad(format!("{key} must be an ISO 8601 date")))
}

pub(crate) fn query_int(q: &[(String, String)], key: &str) -> Result<Option<i64>, ApiError> {
    param(q, key)
        .map(|v| v.trim().parse::<i64>().map_err(|_| ApiError::bad(format!("{key} must be an integer"))))
        .transpose()
}

pub(crate) fn field_i64(o: &Obj, key: &str) -> Result<Option<i64>, ApiError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| ApiError::bad(format!("{key} must be an integer number"))),
        Some(_) => Err(ApiError::bad(format!("{key} must be an integer number"))),
    }
}

pub(crate) fn field_u32(o: &Obj, key: &str) -> Result<Option<u32>, ApiError> {
    field_i64(o, key)?
        .map(|v| u32::try_from(v).map_err(|_| ApiError::bad(format!("{key} must not be negative"))))
        .transpose()
}

pub(crate) fn field_str(o: &Obj, key: &str) -> Result<Option<String>, ApiError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= MAX_TEXT_CHARS => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(ApiError::bad(format!("{key} is too long"))),
        Some(_) => Err(ApiError::bad(format!("{key} must be a string"))),
    }
}

pub(crate) fn field_time(o: &Obj, key: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    field_str(o, key)?
        .map(|s| parse_time(&s).ok_or_else(|| ApiError::bad(format!("{key} must be a valid ISO 8601 date string"))))
        .transpose()
}

pub(crate) fn required<T>(v: Option<T>, key: &str) -> Result<T, ApiError> {
    v.ok_or_else(|| ApiError::bad(format!("{key} is required")))
}

pub(crate) fn valid_email(s: &str) -> bool {
    let mut parts = s.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(l), Some(d), None)
        if !l.is_empty() && d.contains('.') && !s.chars().any(char::is_whitespace))
}

pub(crate) fn valid_phone(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or("");
    (7..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_contacts() {
        assert!(parse_time("2030-01-07T09:00:00Z").is_some());
        assert!(parse_time("2030-01-07T10:00:00+01:00") == parse_time("2030-01-07T09:00:00Z"));
        assert_eq!(parse_time("2030-01-07T09:00:00"), parse_time("2030-01-07T09:00:00Z"));
        assert!(parse_time("yesterday").is_none());
        assert!(parse_time("+262143-12-31T23:59:59Z").is_none());
        assert!(parse_time("262143-12-31T23:59:59").is_none());
        assert!(parse_time("1900-01-01T00:00:00Z").is_none());
        assert!(valid_email("a@b.de") && !valid_email("a@b") && !valid_email("a b@c.de") && !valid_email("@c.de"));
        assert!(valid_phone("+4917612345678") && !valid_phone("017612345678") && !valid_phone("+49 176"));
    }

    #[test]
    fn query_dates() {
        let q = vec![("start".to_owned(), "2030-01-07".to_owned()), ("end".to_owned(), "2030-01-07".to_owned())];
        assert_eq!(query_time(&q, "start", false).ok().flatten(), parse_time("2030-01-07T00:00:00Z"));
        assert_eq!(query_time(&q, "end", true).ok().flatten(), parse_time("2030-01-07T23:59:59Z"));
        assert!(query_time(&[("start".to_owned(), "soon".to_owned())], "start", false).is_err());
    }
}
