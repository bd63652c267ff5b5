//! Cal.com webhooks: payload types and the `X-Cal-Signature-256` signature.
//!
//! Cal.com POSTs `{"triggerEvent", "createdAt", "payload": {...}}` (see
//! `packages/features/webhooks/lib/sendPayload.ts`); the payload is the booking's calendar
//! event (`uid`, `bookingId`, `eventTypeId`, `type` = event type slug, `title`, `startTime`,
//! `endTime`, `organizer`, `attendees`, `status` in upper case, `metadata`, …) plus, on
//! reschedules, `rescheduleUid`/`rescheduleId`/`rescheduleStartTime`/`rescheduleEndTime` naming
//! the original booking, and on cancels `cancellationReason`/`cancelledBy`.
//!
//! Guarantees:
//! - [`sign`] is the lowercase hex HMAC-SHA256 of the raw body with the webhook secret, exactly
//!   like Cal.com's `createWebhookSignature`;
//! - [`verify`] is strict (exactly 64 lowercase hex characters) and compares in constant time
//!   via `hmac::Mac::verify_slice`; Cal.com's `no-secret-provided` marker never verifies;
//! - decoding is lenient: unknown fields are ignored, fields Cal.com omits are optional, and an
//!   unknown trigger is kept as [`TriggerEvent::Other`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Cal-Signature-256";
/// Length of a hex SHA-256 digest.
const SIGNATURE_HEX_LEN: usize = 64;

type HmacSha256 = Hmac<Sha256>;

/// Lowercase hex HMAC-SHA256 of `body` keyed with `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("hmac-sha256 takes keys of any length"),
    };
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks `header_value` (the `X-Cal-Signature-256` value) against `body`.
pub fn verify(secret: &[u8], body: &[u8], header_value: &str) -> bool {
    if header_value.len() != SIGNATURE_HEX_LEN
        || !header_value.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        return false;
    }
    let Ok(expected) = hex::decode(header_value) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// `triggerEvent` values slotkeeper acts on; anything else is kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum TriggerEvent {
    BookingCreated,
    BookingCancelled,
    BookingRescheduled,
    Other(String),
}

impl TriggerEvent {
    pub fn as_str(&self) -> &str {
        match self {
            TriggerEvent::BookingCreated => "BOOKING_CREATED",
            TriggerEvent::BookingCancelled => "BOOKING_CANCELLED",
            TriggerEvent::BookingRescheduled => "BOOKING_RESCHEDULED",
            TriggerEvent::Other(s) => s,
        }
    }
}

impl From<String> for TriggerEvent {
    fn from(s: String) -> Self {
        match s.as_str() {
            "BOOKING_CREATED" => TriggerEvent::BookingCreated,
            "BOOKING_CANCELLED" => TriggerEvent::BookingCancelled,
            "BOOKING_RESCHEDULED" => TriggerEvent::BookingRescheduled,
            _ => TriggerEvent::Other(s),
        }
    }
}

impl From<TriggerEvent> for String {
    fn from(t: TriggerEvent) -> Self {
        t.as_str().to_owned()
    }
}

/// The whole webhook body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    pub trigger_event: TriggerEvent,
    pub created_at: DateTime<Utc>,
    pub payload: WebhookPayload,
}

impl WebhookEvent {
    /// Parses a raw body (verify the signature first). Wherever the event has an object (the
    /// body, `payload`, `organizer`, attendees, `language`), the body must have one too: serde
    /// would also read a struct from an array of its fields in order, which Cal.com never sends
    /// (found by the schema-driven fuzz of `/openapi.json`).
    pub fn parse(body: &[u8]) -> Result<WebhookEvent, serde_json::Error> {
        use serde::de::Error;
        let value: serde_json::Value = serde_json::from_slice(body)?;
        let event = WebhookEvent::deserialize(&value)?;
        if !objects_where_structs_are(&value, &serde_json::to_value(&event)?) {
            return Err(serde_json::Error::custom("an object was sent as an array"));
        }
        Ok(event)
    }
}

/// True when every object of `parsed` (the event serialised again) was an object in `input` too,
/// or absent or null there (defaults); arrays are compared element by element.
fn objects_where_structs_are(input: &serde_json::Value, parsed: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (input, parsed) {
        (Value::Object(sent), Value::Object(read)) => {
            read.iter().all(|(key, r)| sent.get(key).is_none_or(|s| objects_where_structs_are(s, r)))
        }
        (Value::Array(sent), Value::Array(read)) => sent.iter().zip(read).all(|(s, r)| objects_where_structs_are(s, r)),
        (Value::Null, _) => true,
        (_, Value::Object(_)) => false,
        _ => true,
    }
}

/// `language` of a person: Cal.com serialises `{translate, locale}` and JSON drops the function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookLanguage {
    #[serde(default)]
    pub locale: String,
}

/// Organizer or attendee of a webhook payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPerson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "super::types::null_default")]
    pub name: String,
    #[serde(default, deserialize_with = "super::types::null_default")]
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<WebhookLanguage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset: Option<i64>,
}

/// `payload` of booking triggers. Only what slotkeeper reads is typed; the rest is ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPayload {
    /// Booking uid (for reschedules: the NEW booking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type_id: Option<i64>,
    /// Event type slug.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub event_type_slug: Option<String>,
    #[serde(default, deserialize_with = "super::types::null_default")]
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<DateTime<Utc>>,
    /// Minutes of the event type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// `ACCEPTED`, `CANCELLED`, `PENDING`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizer: Option<WebhookPerson>,
    #[serde(default, deserialize_with = "super::types::null_default")]
    pub attendees: Vec<WebhookPerson>,
    /// Values are strings for API-made bookings; numbers, booleans and null also occur.
    #[serde(default, deserialize_with = "super::types::null_default")]
    pub metadata: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// On `BOOKING_RESCHEDULED`: uid of the original booking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reschedule_uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reschedule_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reschedule_start_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reschedule_end_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescheduled_by: Option<String>,
    /// Older payloads name the original booking this way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_reschedule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
}

impl WebhookPayload {
    /// Uid of the booking a reschedule replaced, under either field name.
    pub fn original_uid(&self) -> Option<&str> {
        self.reschedule_uid.as_deref().or(self.from_reschedule.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (schema-driven fuzz): `"payload": [null, null]` and `"organizer": [null, null]`
    /// were read positionally (as an empty payload, an empty organizer) and acknowledged.
    #[test]
    fn positional_arrays_are_never_read_as_objects() {
        let event = |payload: &str| {
            format!(
                r#"{{"triggerEvent": "BOOKING_CREATED", "createdAt": "2026-11-25T07:00:00Z", "payload": {payload}}}"#
            )
        };
        for positional in [
            event("[null, null]"),
            event(r#"{"uid": "a", "organizer": [null, null]}"#),
            event(r#"{"uid": "a", "attendees": [{"name": "Anna"}, [7, "Ben"]]}"#),
            event(r#"{"uid": "a", "organizer": {"name": "Anna", "language": ["de"]}}"#),
            r#"["BOOKING_CREATED", "2026-11-25T07:00:00Z", {}]"#.to_owned(),
        ] {
            assert!(WebhookEvent::parse(positional.as_bytes()).is_err(), "{positional}");
        }
        for fine in [event("{}"), event(r#"{"organizer": null, "attendees": null, "metadata": {"list": [1, [2]]}}"#)] {
            assert!(WebhookEvent::parse(fine.as_bytes()).is_ok(), "{fine}");
        }
    }

    #[test]
    fn sign_matches_a_known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn verify_is_strict() {
        let body = br#"{"triggerEvent":"BOOKING_CREATED"}"#;
        let sig = sign(b"s3cret", body);
        assert!(verify(b"s3cret", body, &sig));
        assert!(!verify(b"other", body, &sig));
        assert!(!verify(b"s3cret", b"{}", &sig));
        assert!(!verify(b"s3cret", body, &sig.to_uppercase()));
        assert!(!verify(b"s3cret", body, &format!("{sig} ")));
        assert!(!verify(b"s3cret", body, &sig[..63]));
        assert!(!verify(b"s3cret", body, &format!("sha256={sig}")));
        assert!(!verify(b"s3cret", body, "no-secret-provided"));
        assert!(!verify(b"s3cret", body, ""));
        let mut flipped = sig.clone().into_bytes();
        flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
        assert!(!verify(b"s3cret", body, &String::from_utf8(flipped).expect("ascii")));
    }

    #[test]
    fn parses_a_cal_com_shaped_body_leniently() {
        let body = serde_json::json!({
            "triggerEvent": "BOOKING_RESCHEDULED",
            "createdAt": "2030-01-01T10:00:00.000Z",
            "payload": {
                "type": "haircut", "title": "Haircut between Anna and Bob", "description": "",
                "startTime": "2030-01-07T09:00:00Z", "endTime": "2030-01-07T09:30:00Z",
                "organizer": {"id": 5, "name": "Anna", "email": "anna@salon.test", "timeZone": "Europe/Berlin",
                              "language": {"locale": "de"}, "timeFormat": 24, "utcOffset": 60},
                "attendees": [{"name": "Bob", "email": "bob@x.test", "timeZone": "Europe/Berlin",
                               "language": {"locale": "en"}, "utcOffset": 60, "firstName": "", "lastName": ""}],
                "uid": "new-uid", "bookingId": 42, "eventTypeId": 7, "status": "ACCEPTED",
                "metadata": {"call_id": "c-1", "videoCallUrl": null, "n": 2},
                "rescheduleUid": "old-uid", "rescheduleId": 41,
                "rescheduleStartTime": "2030-01-06T09:00:00Z", "responses": {"name": {"label": "Name", "value": "Bob"}},
                "destinationCalendar": null, "length": 30
            }
        });
        let ev = WebhookEvent::parse(body.to_string().as_bytes()).expect("parses");
        assert_eq!(ev.trigger_event, TriggerEvent::BookingRescheduled);
        assert_eq!(ev.payload.uid.as_deref(), Some("new-uid"));
        assert_eq!(ev.payload.original_uid(), Some("old-uid"));
        assert_eq!(ev.payload.organizer.as_ref().and_then(|o| o.id), Some(5));
        assert_eq!(ev.payload.metadata.get("call_id"), Some(&serde_json::json!("c-1")));
        assert_eq!(ev.payload.event_type_slug.as_deref(), Some("haircut"));
    }

    #[test]
    fn unknown_trigger_and_minimal_payload() {
        let ev = WebhookEvent::parse(br#"{"triggerEvent":"PING","createdAt":"2030-01-01T00:00:00Z","payload":{}}"#)
            .expect("parses");
        assert_eq!(ev.trigger_event, TriggerEvent::Other("PING".into()));
        assert!(ev.payload.uid.is_none() && ev.payload.attendees.is_empty());
        let round: serde_json::Value = serde_json::to_value(&ev).expect("serializes");
        assert_eq!(round["triggerEvent"], "PING");
    }
}
