//! The calendar actor's messages (verbs) and the answers they carry.

use chrono::{DateTime, Utc};
use ractor::RpcReplyPort;

use crate::domain::{AppointmentId, Interval, ReservationToken, ServiceId, StaffKey};
use crate::store::{ExternalBusy, StoreError};

/// Which start times are free for a service?
#[derive(Debug, Clone)]
pub struct FreeQuery {
    pub service: ServiceId,
    /// Starts within this range.
    pub range: Interval,
    /// Earliest allowed start (now + minimum notice).
    pub not_before: DateTime<Utc>,
    pub limit: usize,
}

#[derive(Debug, Clone, Default)]
pub struct FreeSlots {
    pub starts: Vec<DateTime<Utc>>,
    /// The busy times from Cal.com for the queried range were pre-warmed (no external lookup needed).
    pub cache_hit: bool,
}

/// Hold every staff-busy phase of `service` at `start` for `ttl`.
#[derive(Debug, Clone)]
pub struct HoldRequest {
    pub token: ReservationToken,
    pub call_id: String,
    pub service: ServiceId,
    pub start: DateTime<Utc>,
    pub ttl: std::time::Duration,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
}

/// A granted hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldGrant {
    pub token: ReservationToken,
    pub key: StaffKey,
    pub start: DateTime<Utc>,
    /// End of the whole service (gaps included).
    pub end: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The staff-busy intervals.
    pub busy: Vec<Interval>,
    /// Cal.com's busy times were pre-warmed for this time (see `availability_cache_requests_total`).
    pub cache_hit: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldOutcome {
    Held(HoldGrant),
    /// This call already holds exactly this slot (the agent asked twice): the same hold.
    AlreadyHeld(HoldGrant),
}

impl HoldOutcome {
    pub fn grant(&self) -> &HoldGrant {
        match self {
            HoldOutcome::Held(g) | HoldOutcome::AlreadyHeld(g) => g,
        }
    }
}

/// What a token is worth at `start_booking` (the seed's valid / expired / conflict / not found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validation {
    Valid {
        expires_at: DateTime<Utc>,
    },
    Expired,
    /// Cal.com or another booker took the slot while it was held (mirror refused, webhook).
    Conflict,
    /// Unknown, or not handed out on this call.
    NotFound,
    /// Given back by the caller or ended with the call.
    Released,
    /// Already turned into this booking (by this call).
    Converted(AppointmentId),
}

impl Validation {
    /// The seed's `reason` label for `reservation_validated_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            Validation::Valid { .. } => "valid",
            Validation::Expired => "expired",
            Validation::Conflict => "conflict",
            Validation::NotFound => "not_found",
            Validation::Released => "released",
            Validation::Converted(_) => "converted",
        }
    }
}

/// Who is booking.
#[derive(Debug, Clone, Default)]
pub struct Customer {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub notes: Option<String>,
}

/// Turn a hold into a booking.
#[derive(Debug, Clone)]
pub struct ConvertRequest {
    pub token: ReservationToken,
    pub call_id: String,
    pub appointment_id: AppointmentId,
    pub customer: Customer,
}

/// Book directly without a prior hold (reservations switched off): the old check-then-book path.
#[derive(Debug, Clone)]
pub struct DirectRequest {
    /// The offer made by check_availability on this call.
    pub token: ReservationToken,
    pub call_id: String,
    pub service: ServiceId,
    pub start: DateTime<Utc>,
    pub appointment_id: AppointmentId,
    pub customer: Customer,
}

/// A booking made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booked {
    pub appointment_id: AppointmentId,
    pub key: StaffKey,
    pub service: ServiceId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The outbox job that brings it to Cal.com.
    pub outbox_job: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConvertOutcome {
    Booked(Booked),
    Rejected(Validation),
}

/// Move a booking to another start time on the same calendar (atomically: the new slot is
/// occupied in the same transaction that frees the old one).
#[derive(Debug, Clone)]
pub struct RescheduleRequest {
    pub appointment_id: AppointmentId,
    pub new_start: DateTime<Utc>,
    pub call_id: String,
}

/// A busy time known from Cal.com appears, moves, or disappears.
#[derive(Debug, Clone)]
pub enum ExternalChange {
    Upsert(ExternalBusy),
    Remove {
        uid: String,
    },
    /// Everything known for `range` (the pre-warm); marks the range as warm.
    Replace {
        range: Interval,
        items: Vec<ExternalBusy>,
    },
}

/// Cal.com's free ranges (`GET /v2/slots`, `format=range`) for the local dates `first..=last`.
#[derive(Debug, Clone)]
pub struct WindowsUpdate {
    pub first: chrono::NaiveDate,
    pub last: chrono::NaiveDate,
    pub slots: Vec<Interval>,
    /// Busy intervals the calendar knew before the request was sent ([`CalendarMsg::Known`]):
    /// Cal.com may have left them out because of us (our bookings and slot reservations).
    pub known_before: Vec<Interval>,
    pub fetched_at: DateTime<Utc>,
    /// Re-check this hold against the answer before it is booked.
    pub recheck: Option<ReservationToken>,
}

/// How a re-checked hold fared against Cal.com's fresh answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recheck {
    /// Every staff-busy phase lies in Cal.com's bookable time.
    Fits,
    /// Cal.com no longer has the time free: the hold was withdrawn.
    Conflict,
    /// No re-check asked, or the hold is not live here any more.
    NotHeld,
}

/// What happened to holds, for the Cal.com hold mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalendarEvent {
    HoldCreated {
        key: StaffKey,
        token: ReservationToken,
        service: ServiceId,
        start: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    },
    HoldEnded {
        key: StaffKey,
        token: ReservationToken,
        reason: HoldEnd,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldEnd {
    Expired,
    Released,
    /// Converted into a booking: the mirror is consumed by the booking, not deleted.
    Converted,
    Conflict,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum CalendarError {
    #[error("slot taken")]
    SlotTaken,
    #[error("outside working hours")]
    OutsideHours,
    #[error("unknown service or staff")]
    Unknown,
    #[error("calendar unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for CalendarError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::SlotTaken => CalendarError::SlotTaken,
            other => CalendarError::Unavailable(other.to_string()),
        }
    }
}

pub type Reply<T> = RpcReplyPort<Result<T, CalendarError>>;

/// Everything a calendar actor can be asked or told.
pub enum CalendarMsg {
    FindFree(FreeQuery, RpcReplyPort<FreeSlots>),
    Hold(HoldRequest, Reply<HoldOutcome>),
    Validate {
        token: ReservationToken,
        call_id: String,
        reply: Reply<Validation>,
    },
    Convert(ConvertRequest, Reply<ConvertOutcome>),
    BookDirect(DirectRequest, Reply<Booked>),
    Reschedule(RescheduleRequest, Reply<Option<Booked>>),
    /// End a hold early (`reason`: released, call_ended, superseded).
    Release {
        token: ReservationToken,
        call_id: Option<String>,
        reason: &'static str,
        reply: Reply<bool>,
    },
    /// Cal.com refused the hold's mirror: the slot is taken there.
    Withdraw {
        token: ReservationToken,
        reply: Reply<bool>,
    },
    Cancel {
        appointment_id: AppointmentId,
        reason: String,
        reply: Reply<bool>,
    },
    /// Booking failed for good at Cal.com (compensated): free its intervals.
    Fail {
        appointment_id: AppointmentId,
        reason: String,
        reply: Reply<bool>,
    },
    /// Another process moved this booking away (reschedule to another stylist): forget it.
    ForgetBooking(AppointmentId),
    External(ExternalChange, Reply<Vec<ReservationToken>>),
    /// Live busy intervals (holds, bookings, Cal.com bookings) in `range`.
    Known {
        range: Interval,
        reply: Reply<Vec<Interval>>,
    },
    /// When Cal.com last answered for the local dates `range` touches: the oldest answer, `None`
    /// if it has not answered for one of them.
    FetchedAt {
        range: Interval,
        reply: Reply<Option<DateTime<Utc>>>,
    },
    /// Cal.com's bookable time for some dates, optionally re-checking one hold against it.
    Windows(WindowsUpdate, Reply<Recheck>),
    /// The store changed under us (another node, the sweeper): rebuild from the store.
    Reload(Option<RpcReplyPort<()>>),
    /// Timer: the hold's TTL passed (ignored unless `version` is the hold's current one).
    Expire {
        token: ReservationToken,
        version: u64,
    },
    /// The sweeper already expired these holds in the store.
    Forget(Vec<ReservationToken>),
    /// Live intervals with a short owner description (tests, diagnostics).
    Snapshot(RpcReplyPort<Vec<(Interval, String)>>),
    /// Fault injection for supervision tests: the handler panics (the supervisor restarts the
    /// calendar from the store). Never sent by the service itself.
    Crash,
}
