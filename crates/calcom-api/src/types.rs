//! Wire types of the Cal.com API v2 endpoints slotkeeper uses (bookings `2024-08-13`,
//! slots and slot reservations `2024-09-04`).
//!
//! Guarantees:
//! - field names and JSON shapes follow Cal.com's published output classes
//!   (`BookingOutput_2024_08_13`, `ReserveSlotOutput_2024_09_04`, `PaginationMetaDto`, …);
//! - decoding is lenient: unknown fields are ignored, `null` strings become empty, metadata
//!   values that are not strings are kept as their JSON text, and an unknown booking status
//!   decodes as [`BookingStatus::Unknown`] instead of failing the whole answer;
//! - times are `DateTime<Utc>` on our side and ISO 8601 on the wire;
//! - [`CreateBooking::validate`] enforces Cal.com's metadata limits before anything is sent.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

mod event_types;
mod list;
mod slots;

pub use event_types::{BookingField, EMAIL_FIELD, EventType, EventTypeHost, EventTypeUser, PHONE_FIELD, Webhook};
pub use list::{BookingListStatus, BookingPage, ListBookingsQuery, Pagination, SortOrder};
pub use slots::{ReserveSlot, Slot, SlotFormat, SlotReservation, SlotsByDate, SlotsQuery};

// `cal-api-version` per endpoint family, pinned here and nowhere else ([`Endpoint::api_version`]
// maps every endpoint onto one of these). Cal.com routes by this header
// (`apps/api/v2/src/app.ts`: a missing or unknown value falls back to 2024-04-15, an older body shape).

/// Bookings `/v2/bookings…`: `apps/api/v2/src/ee/bookings/2024-08-13/controllers/bookings.controller.ts`
/// (`@Controller({ path: "/v2/bookings", version: VERSION_2024_08_13_VALUE })`, header "required").
pub const API_VERSION_BOOKINGS: &str = "2024-08-13";
/// Slots and reservations `/v2/slots…`:
/// `apps/api/v2/src/modules/slots/slots-2024-09-04/controllers/slots.controller.ts`.
pub const API_VERSION_SLOTS: &str = "2024-09-04";
/// Event types `/v2/event-types…`:
/// `apps/api/v2/src/ee/event-types/event-types_2024_06_14/controllers/event-types.controller.ts`
/// (`version: VERSION_2024_06_14_VALUE`, header "Must be set to 2024-06-14").
pub const API_VERSION_EVENT_TYPES: &str = "2024-06-14";
/// Webhooks `/v2/webhooks`: `apps/api/v2/src/modules/webhooks/controllers/webhooks.controller.ts`
/// is declared for every version (`version: API_VERSIONS_VALUES`); we pin the event types' one.
pub const API_VERSION_WEBHOOKS: &str = "2024-06-14";
/// Header carrying the API version.
pub const API_VERSION_HEADER: &str = "cal-api-version";

/// Cal.com rejects booking metadata with more keys than this.
pub const METADATA_MAX_KEYS: usize = 50;
/// Cal.com rejects metadata keys longer than this (characters).
pub const METADATA_MAX_KEY_CHARS: usize = 40;
/// Cal.com rejects metadata values longer than this (characters).
pub const METADATA_MAX_VALUE_CHARS: usize = 500;
/// Largest page `GET /v2/bookings` accepts (`take`).
pub const LIST_MAX_TAKE: u32 = 250;
/// Reservation length Cal.com applies when `reservationDuration` is absent (minutes).
pub const DEFAULT_RESERVATION_MINUTES: u32 = 5;

/// The Cal.com operations slotkeeper performs. The label is the fixed `endpoint` value of the
/// `calcom_request_duration_seconds` metric and the key the simulator uses for faults and stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    SlotsGet,
    BookingsCreate,
    BookingsList,
    BookingsGet,
    BookingsCancel,
    BookingsReschedule,
    ReservationsCreate,
    ReservationsGet,
    ReservationsUpdate,
    ReservationsDelete,
    EventTypesGet,
    WebhooksList,
}

impl Endpoint {
    /// Every endpoint, in a stable order.
    pub const ALL: [Endpoint; 12] = [
        Endpoint::SlotsGet,
        Endpoint::BookingsCreate,
        Endpoint::BookingsList,
        Endpoint::BookingsGet,
        Endpoint::BookingsCancel,
        Endpoint::BookingsReschedule,
        Endpoint::ReservationsCreate,
        Endpoint::ReservationsGet,
        Endpoint::ReservationsUpdate,
        Endpoint::ReservationsDelete,
        Endpoint::EventTypesGet,
        Endpoint::WebhooksList,
    ];

    pub const fn label(self) -> &'static str {
        match self {
            Endpoint::SlotsGet => "slots.get",
            Endpoint::BookingsCreate => "bookings.create",
            Endpoint::BookingsList => "bookings.list",
            Endpoint::BookingsGet => "bookings.get",
            Endpoint::BookingsCancel => "bookings.cancel",
            Endpoint::BookingsReschedule => "bookings.reschedule",
            Endpoint::ReservationsCreate => "reservations.create",
            Endpoint::ReservationsGet => "reservations.get",
            Endpoint::ReservationsUpdate => "reservations.update",
            Endpoint::ReservationsDelete => "reservations.delete",
            Endpoint::EventTypesGet => "event_types.get",
            Endpoint::WebhooksList => "webhooks.list",
        }
    }

    pub fn from_label(label: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.label() == label)
    }

    /// The `cal-api-version` this endpoint family needs.
    pub const fn api_version(self) -> &'static str {
        match self {
            Endpoint::SlotsGet
            | Endpoint::ReservationsCreate
            | Endpoint::ReservationsGet
            | Endpoint::ReservationsUpdate
            | Endpoint::ReservationsDelete => API_VERSION_SLOTS,
            Endpoint::EventTypesGet => API_VERSION_EVENT_TYPES,
            Endpoint::WebhooksList => API_VERSION_WEBHOOKS,
            Endpoint::BookingsCreate
            | Endpoint::BookingsList
            | Endpoint::BookingsGet
            | Endpoint::BookingsCancel
            | Endpoint::BookingsReschedule => API_VERSION_BOOKINGS,
        }
    }

    /// Reservation endpoints answer 422 when the slot is booked or held by someone else.
    pub const fn is_reservation(self) -> bool {
        matches!(
            self,
            Endpoint::ReservationsCreate
                | Endpoint::ReservationsGet
                | Endpoint::ReservationsUpdate
                | Endpoint::ReservationsDelete
        )
    }
}

/// `{status, data}` envelope of every successful answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub status: String,
    pub data: T,
}

impl<T> Envelope<T> {
    pub fn success(data: T) -> Self {
        Envelope { status: "success".to_owned(), data }
    }
}

/// Error body: `{status:"error", timestamp, path, error:{code, message}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub status: String,
    pub timestamp: String,
    pub path: String,
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// Attendee of `POST /v2/bookings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBookingAttendee {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// IANA zone of the attendee.
    pub time_zone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// Body of `POST /v2/bookings` (`cal-api-version: 2024-08-13`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBooking {
    pub start: DateTime<Utc>,
    pub event_type_id: i64,
    pub attendee: CreateBookingAttendee,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length_in_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_slot_uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_fields_responses: Option<serde_json::Map<String, serde_json::Value>>,
}

impl CreateBooking {
    /// Checks what Cal.com would reject with a 400 so the request is never sent.
    pub fn validate(&self) -> Result<(), String> {
        if self.attendee.name.trim().is_empty() {
            return Err("attendee.name must not be empty".to_owned());
        }
        if self.attendee.email.is_none() && self.attendee.phone_number.is_none() {
            return Err("attendee needs an email or a phoneNumber".to_owned());
        }
        if self.length_in_minutes == Some(0) {
            return Err("lengthInMinutes must be at least 1".to_owned());
        }
        validate_metadata(&self.metadata)
    }
}

/// Cal.com's message when metadata breaks its limits (`create-booking.input.ts`, the
/// `@ValidateMetadata({ message })` of `CreateBookingInput_2024_08_13.metadata`).
pub const METADATA_LIMITS_MSG: &str =
    "Metadata must have at most 50 keys, each key up to 40 characters, and string values up to 500 characters.";

/// Cal.com's metadata limits: at most 50 keys, keys ≤ 40 characters, string values ≤ 500
/// characters, counted as JavaScript counts `length` (UTF-16 code units), as
/// `packages/platform/types/bookings/2024-08-13/inputs/validators/validate-metadata.ts` does.
pub fn validate_metadata(metadata: &BTreeMap<String, String>) -> Result<(), String> {
    if metadata.len() > METADATA_MAX_KEYS {
        return Err(format!("metadata has {} keys, at most {METADATA_MAX_KEYS} allowed", metadata.len()));
    }
    for (k, v) in metadata {
        if js_length(k) > METADATA_MAX_KEY_CHARS {
            return Err(format!("metadata key {k:?} longer than {METADATA_MAX_KEY_CHARS} characters"));
        }
        if js_length(v) > METADATA_MAX_VALUE_CHARS {
            return Err(format!("metadata value of key {k:?} longer than {METADATA_MAX_VALUE_CHARS} characters"));
        }
    }
    Ok(())
}

/// A string's `length` in JavaScript: UTF-16 code units (an emoji counts 2).
pub fn js_length(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Properties `POST /v2/bookings` accepts: `CreateBookingInput_2024_08_13` and its
/// `CreateBookingAttendee` (`packages/platform/types/bookings/2024-08-13/inputs/create-booking.input.ts`,
/// commit 9527f3c), checked by `CreateBookingInputPipe` with `whitelist: true,
/// forbidNonWhitelisted: true` (`create-booking-input.pipe.ts`); plus `reservedSlotUid`, which the
/// e2e spec `reserved-slot-bookings.e2e-spec.ts` sends in the body and expects 201 for, and the
/// `instant` / `recurrenceCount` of the instant and recurring variants the pipe picks.
pub const CREATE_BOOKING_PROPERTIES: &[&str] = &[
    "start",
    "attendee",
    "bookingFieldsResponses",
    "eventTypeId",
    "eventTypeSlug",
    "username",
    "teamSlug",
    "organizationSlug",
    "guests",
    "meetingUrl",
    "location",
    "metadata",
    "lengthInMinutes",
    "routing",
    "emailVerificationCode",
    "reservedSlotUid",
    "instant",
    "recurrenceCount",
];
/// Properties of `CreateBookingAttendee` (same file).
pub const ATTENDEE_PROPERTIES: &[&str] = &["name", "email", "timeZone", "phoneNumber", "language"];
/// Properties of `RescheduleBookingInput_2024_08_13`
/// (`packages/platform/types/bookings/2024-08-13/inputs/reschedule-booking.input.ts`).
pub const RESCHEDULE_BOOKING_PROPERTIES: &[&str] =
    &["start", "rescheduledBy", "reschedulingReason", "emailVerificationCode", "reservedSlotUid", "seatUid"];
/// Properties of `CancelBookingInput_2024_08_13` and its seated variant (`cancel-booking.input.ts`).
pub const CANCEL_BOOKING_PROPERTIES: &[&str] = &["cancellationReason", "cancelSubsequentBookings", "seatUid"];
/// Properties of `ReserveSlotInput_2024_09_04`
/// (`packages/platform/types/slots/slots-2024-09-04/inputs/reserve-slot.input.ts`).
pub const RESERVE_SLOT_PROPERTIES: &[&str] = &["eventTypeId", "slotStart", "slotDuration", "reservationDuration"];

/// Body of `POST /v2/bookings/{uid}/cancel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelBooking {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_reason: Option<String>,
}

/// Body of `POST /v2/bookings/{uid}/reschedule`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RescheduleBooking {
    pub start: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescheduling_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescheduled_by: Option<String>,
}

/// Status of a booking in the v2 output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BookingStatus {
    #[serde(alias = "ACCEPTED")]
    Accepted,
    #[serde(alias = "PENDING")]
    Pending,
    #[serde(alias = "CANCELLED")]
    Cancelled,
    #[serde(alias = "REJECTED")]
    Rejected,
    /// A status this client does not know (Cal.com added one); never sent by us.
    #[serde(other)]
    Unknown,
}

impl BookingStatus {
    /// Accepted and pending bookings occupy their host's time.
    pub fn is_active(self) -> bool {
        matches!(self, BookingStatus::Accepted | BookingStatus::Pending)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingHost {
    pub id: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub email: String,
    #[serde(default, deserialize_with = "null_default")]
    pub display_email: String,
    #[serde(default, deserialize_with = "null_default")]
    pub username: String,
    #[serde(default, deserialize_with = "null_default")]
    pub time_zone: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingAttendee {
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub email: String,
    #[serde(default, deserialize_with = "null_default")]
    pub display_email: String,
    #[serde(default, deserialize_with = "null_default")]
    pub time_zone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default)]
    pub absent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTypeRef {
    pub id: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub slug: String,
}

/// `BookingOutput_2024_08_13`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Booking {
    pub id: i64,
    pub uid: String,
    #[serde(default, deserialize_with = "null_default")]
    pub title: String,
    #[serde(default, deserialize_with = "null_default")]
    pub description: String,
    #[serde(default)]
    pub hosts: Vec<BookingHost>,
    pub status: BookingStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescheduling_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescheduled_by_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescheduled_from_uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescheduled_to_uid: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Minutes.
    pub duration: u32,
    pub event_type_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<EventTypeRef>,
    #[serde(default, deserialize_with = "null_default")]
    pub location: String,
    #[serde(default)]
    pub absent_host: bool,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_string_map")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub attendees: Vec<BookingAttendee>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guests: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub booking_fields_responses: serde_json::Map<String, serde_json::Value>,
}

// ---------------------------------------------------------------- helpers

/// ISO 8601 in UTC with a `Z` suffix, as Cal.com expects.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Treats an explicit `null` like an absent field.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A JSON object read as a string map: strings kept, `null` dropped, anything else kept as its
/// JSON text (Cal.com types metadata as strings but older bookings may carry numbers or bools).
pub(crate) fn lenient_string_map<'de, D>(d: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw = Option::<BTreeMap<String, serde_json::Value>>::deserialize(d)?.unwrap_or_default();
    Ok(raw
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some((k, s)),
            other => Some((k, other.to_string())),
        })
        .collect())
}

#[cfg(test)]
mod tests;
