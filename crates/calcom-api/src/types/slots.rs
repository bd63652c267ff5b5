//! Wire types of `GET /v2/slots` and the slot reservations `/v2/slots/reservations`
//! (`cal-api-version: 2024-09-04`).
//!
//! Guarantees: field names follow `get-slots.input.ts`, `slots.output.ts`,
//! `reserve-slot.input.ts` and `ReserveSlotOutput_2024_09_04`; times are UTC on our side.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::rfc3339;

/// `format` of `GET /v2/slots`: `time` gives `{start}`, `range` gives `{start, end}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlotFormat {
    Time,
    Range,
}

/// Query of `GET /v2/slots` (`cal-api-version: 2024-09-04`).
#[derive(Debug, Clone, PartialEq)]
pub struct SlotsQuery {
    pub event_type_id: i64,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// IANA zone for the date keys and the offsets of `start`; Cal.com defaults to UTC.
    pub time_zone: Option<String>,
    pub format: Option<SlotFormat>,
    /// Minutes, for event types with several lengths.
    pub duration: Option<u32>,
}

impl SlotsQuery {
    pub fn to_query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![
            ("eventTypeId", self.event_type_id.to_string()),
            ("start", rfc3339(self.start)),
            ("end", rfc3339(self.end)),
        ];
        if let Some(tz) = &self.time_zone {
            q.push(("timeZone", tz.clone()));
        }
        if let Some(f) = self.format {
            q.push(("format", if f == SlotFormat::Range { "range" } else { "time" }.to_owned()));
        }
        if let Some(d) = self.duration {
            q.push(("duration", d.to_string()));
        }
        q
    }
}

/// One free slot; `end` is present with `format=range`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Slot {
    pub start: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats_booked: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats_remaining: Option<u32>,
}

/// `data` of `GET /v2/slots`: free slots grouped by date (`YYYY-MM-DD`).
pub type SlotsByDate = BTreeMap<NaiveDate, Vec<Slot>>;

/// Body of `POST /v2/slots/reservations` and `PATCH /v2/slots/reservations/{uid}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReserveSlot {
    pub event_type_id: i64,
    pub slot_start: DateTime<Utc>,
    /// Minutes, only for event types with several lengths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_duration: Option<u32>,
    /// Minutes the hold lasts (authenticated callers only; default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_duration: Option<u32>,
}

/// `ReserveSlotOutput_2024_09_04`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlotReservation {
    pub event_type_id: i64,
    pub slot_start: DateTime<Utc>,
    pub slot_end: DateTime<Utc>,
    pub slot_duration: u32,
    pub reservation_uid: String,
    pub reservation_duration: u32,
    pub reservation_until: DateTime<Utc>,
}
