//! The arguments Retell sends for each function and the answers it gets back.
//!
//! Arguments are parsed leniently where LLMs are sloppy (a time sent as the number `10`, unknown
//! extra fields) and strictly where it matters (a missing required field is a protocol error that
//! names the field). Every answer has `success` and a German `message` the agent reads aloud.
//!
//! Every type here also derives `JsonSchema`: `GET /openapi.json` describes exactly these types
//! (the lenient fields through the very enums that parse them), so the document cannot drift.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// A text field as LLMs send it: a string, or a number or boolean that is kept as its text.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum LenientText {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// An optional text field: a string (blank counts as absent), a number, or null.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum LenientOptText {
    Text(String),
    Int(i64),
    Float(f64),
    Null,
}

/// Accepts a string, a number or a boolean and keeps it as text.
fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    use LenientText as Raw;
    Ok(match Raw::deserialize(deserializer)? {
        Raw::Text(s) => s,
        Raw::Int(i) => i.to_string(),
        Raw::Float(f) => f.to_string(),
        Raw::Bool(b) => b.to_string(),
    })
}

fn lenient_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    use LenientOptText as Raw;
    Ok(match Option::<Raw>::deserialize(deserializer)? {
        Some(Raw::Text(s)) => Some(s).filter(|s| !s.trim().is_empty()),
        Some(Raw::Int(i)) => Some(i.to_string()),
        Some(Raw::Float(f)) => Some(f.to_string()),
        Some(Raw::Null) | None => None,
    })
}

/// `check_availability` (and `find_alternatives`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct CheckAvailabilityArgs {
    /// The service as the caller named it ("Dauerwelle", "Herrenschnitt"); matched tolerantly.
    pub service: String,
    /// The day as the caller said it, in German: "morgen", "nächsten Freitag", "26.11.".
    #[serde(deserialize_with = "lenient_string")]
    #[schemars(with = "LenientText")]
    pub date: String,
    /// The time of day, in German: "10 Uhr", "halb elf", "14:30".
    #[serde(default, deserialize_with = "lenient_opt")]
    #[schemars(with = "Option<LenientOptText>")]
    pub time: Option<String>,
    /// A stylist the caller asked for.
    #[serde(default, deserialize_with = "lenient_opt")]
    #[schemars(with = "Option<LenientOptText>")]
    pub staff: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt")]
    #[schemars(with = "Option<LenientOptText>")]
    pub customer_name: Option<String>,
}

/// `find_alternatives` takes the same arguments but never holds anything.
pub type FindAlternativesArgs = CheckAvailabilityArgs;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct StartBookingArgs {
    /// The token `check_availability` answered with.
    pub reservation_token: String,
    #[serde(default, deserialize_with = "lenient_opt")]
    #[schemars(with = "Option<LenientOptText>")]
    pub customer_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt")]
    #[schemars(with = "Option<LenientOptText>")]
    pub customer_phone: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt")]
    #[schemars(with = "Option<LenientOptText>")]
    pub customer_email: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt")]
    #[schemars(with = "Option<LenientOptText>")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ReleaseReservationArgs {
    pub reservation_token: String,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct CancelBookingArgs {
    /// The appointment's date, when the caller has several.
    #[serde(default, deserialize_with = "lenient_opt")]
    #[schemars(with = "Option<LenientOptText>")]
    pub date: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt")]
    #[schemars(with = "Option<LenientOptText>")]
    pub booking_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt")]
    #[schemars(with = "Option<LenientOptText>")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct RescheduleBookingArgs {
    #[serde(deserialize_with = "lenient_string")]
    #[schemars(with = "LenientText")]
    pub new_date: String,
    #[serde(default, deserialize_with = "lenient_opt")]
    #[schemars(with = "Option<LenientOptText>")]
    pub new_time: Option<String>,
    /// The current appointment's date, when the caller has several.
    #[serde(default, deserialize_with = "lenient_opt")]
    #[schemars(with = "Option<LenientOptText>")]
    pub date: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt")]
    #[schemars(with = "Option<LenientOptText>")]
    pub booking_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct GetAppointmentsArgs {}

/// A time offered to the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SlotView {
    /// RFC 3339 with the salon's offset, e.g. `2026-11-26T14:30:00+01:00`.
    pub start: String,
    pub end: String,
    pub staff: String,
    /// "Donnerstag, 26. November um 14:30 Uhr"
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AppointmentView {
    pub booking_id: String,
    pub service: String,
    pub start: String,
    pub end: String,
    pub staff: String,
    pub label: String,
}

/// The JSON the agent gets for every function.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Answer {
    pub success: bool,
    /// What the agent says, in German.
    pub message: String,
    /// A short machine-readable reason when `success` is false (e.g. `expired`, `conflict`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation_token: Option<String>,
    /// Seconds left on the hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_remaining: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternatives: Option<Vec<SlotView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_times: Option<Vec<SlotView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub booking_id: Option<String>,
    /// `confirmed` (Cal.com has it), `confirmed_pending_calendar` (it will), `cancelled`, `rescheduled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub booking_status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appointments: Option<Vec<AppointmentView>>,
}

impl Answer {
    pub fn ok(message: impl Into<String>) -> Self {
        Self { success: true, message: message.into(), ..Self::default() }
    }

    pub fn refused(reason: &'static str, message: impl Into<String>) -> Self {
        Self { success: false, reason: Some(reason), message: message.into(), ..Self::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llm_sloppiness_is_tolerated() {
        let args: CheckAvailabilityArgs = serde_json::from_value(
            serde_json::json!({"service": "Dauerwelle", "date": "morgen", "time": 10, "staff": "", "extra": true}),
        )
        .unwrap();
        assert_eq!(args.time.as_deref(), Some("10"));
        assert_eq!(args.staff, None);
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let err = serde_json::from_value::<CheckAvailabilityArgs>(serde_json::json!({"date": "morgen"})).unwrap_err();
        assert!(err.to_string().contains("missing field `service`"), "{err}");
    }

    #[test]
    fn answers_leave_out_what_they_do_not_have() {
        let json = serde_json::to_value(Answer::refused("expired", "x")).unwrap();
        assert_eq!(json, serde_json::json!({"success": false, "message": "x", "reason": "expired"}));
    }
}
