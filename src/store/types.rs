//! Records the store reads and writes, and the closed sets of states they move through.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{AppointmentId, Interval, ReservationToken, ServiceId, StaffId, StaffKey, TenantId};

/// Declares a status enum stored as lowercase text, with `as_str` and `parse`.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

text_enum!(
    /// The seed's reservation states.
    ReservationStatus { Active => "active", Converted => "converted", Expired => "expired", Cancelled => "cancelled" }
);
text_enum!(
    /// A hold occupies the slot; an offer (reservations switched off) only records what was offered.
    ReservationKind { Hold => "hold", Offer => "offer" }
);
text_enum!(
    AppointmentStatus { Confirmed => "confirmed", Cancelled => "cancelled", Failed => "failed" }
);
text_enum!(
    /// Where an appointment stands with Cal.com.
    SyncState { Pending => "pending", Synced => "synced", Failed => "failed", Compensated => "compensated" }
);
text_enum!(
    /// Where one phase stands with Cal.com.
    PhaseSync {
        Pending => "pending", InFlight => "in_flight", Synced => "synced", Failed => "failed",
        Cancelled => "cancelled", NotApplicable => "not_applicable"
    }
);

/// One phase as stored with a reservation (JSON column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseRecord {
    pub seq: u16,
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub staff_busy: bool,
}

/// A hold or offer to write.
#[derive(Debug, Clone)]
pub struct NewReservation {
    pub tenant: TenantId,
    pub staff: StaffId,
    pub token: ReservationToken,
    pub kind: ReservationKind,
    pub call_id: String,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
    pub service: ServiceId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub is_compound: bool,
    pub expires_at: DateTime<Utc>,
    pub phases: Vec<PhaseRecord>,
    pub created_at: DateTime<Utc>,
}

/// A row of `appointment_reservations`.
#[derive(Debug, Clone, Serialize)]
pub struct Reservation {
    pub id: i64,
    pub tenant: TenantId,
    pub staff: StaffId,
    pub token: ReservationToken,
    pub kind: ReservationKind,
    pub call_id: String,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
    pub service: ServiceId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub is_compound: bool,
    pub status: ReservationStatus,
    pub status_reason: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub converted_appointment_id: Option<AppointmentId>,
    pub phases: Vec<PhaseRecord>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Reservation {
    pub fn staff_key(&self) -> StaffKey {
        StaffKey::new(self.tenant.clone(), self.staff.clone())
    }

    /// Active and not past its expiry (the sweeper may not have marked it yet).
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.status == ReservationStatus::Active && self.expires_at > now
    }
}

/// A phase of an appointment to write.
#[derive(Debug, Clone)]
pub struct NewPhase {
    pub seq: u16,
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub staff_busy: bool,
    /// Cal.com event type (staff-busy phases only).
    pub event_type_id: Option<i64>,
}

/// An appointment (booking) to write.
#[derive(Debug, Clone)]
pub struct NewAppointment {
    pub id: AppointmentId,
    pub tenant: TenantId,
    pub staff: StaffId,
    pub service: ServiceId,
    pub reservation_token: Option<ReservationToken>,
    pub call_id: String,
    pub customer_name: String,
    pub customer_phone: Option<String>,
    pub customer_email: Option<String>,
    pub notes: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub is_compound: bool,
    pub phases: Vec<NewPhase>,
    pub created_at: DateTime<Utc>,
}

impl NewAppointment {
    pub fn busy_intervals(&self) -> Vec<Interval> {
        self.phases.iter().filter(|p| p.staff_busy).filter_map(|p| Interval::new(p.start, p.end).ok()).collect()
    }
}

/// A row of `appointment_phases`.
#[derive(Debug, Clone, Serialize)]
pub struct AppointmentPhase {
    pub seq: u16,
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub staff_busy: bool,
    pub event_type_id: Option<i64>,
    pub booking_uid: Option<String>,
    pub booking_id: Option<i64>,
    pub reservation_uid: Option<String>,
    pub sync_status: PhaseSync,
    pub sync_attempts: i32,
    pub sync_error: Option<String>,
}

/// A row of `appointments` with its phases.
#[derive(Debug, Clone, Serialize)]
pub struct Appointment {
    pub id: AppointmentId,
    pub tenant: TenantId,
    pub staff: StaffId,
    pub service: ServiceId,
    pub reservation_token: Option<ReservationToken>,
    pub call_id: String,
    pub customer_name: String,
    pub customer_phone: Option<String>,
    pub customer_email: Option<String>,
    pub notes: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub is_compound: bool,
    pub status: AppointmentStatus,
    pub status_reason: Option<String>,
    pub sync_state: SyncState,
    pub reschedule_count: i32,
    pub phases: Vec<AppointmentPhase>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Appointment {
    pub fn staff_key(&self) -> StaffKey {
        StaffKey::new(self.tenant.clone(), self.staff.clone())
    }

    pub fn busy_intervals(&self) -> Vec<Interval> {
        self.phases.iter().filter(|p| p.staff_busy).filter_map(|p| Interval::new(p.start, p.end).ok()).collect()
    }
}

/// An active hold as the calendar actor needs it after a (re)start.
#[derive(Debug, Clone)]
pub struct HoldSnapshot {
    pub token: ReservationToken,
    pub call_id: String,
    pub service: ServiceId,
    pub start: DateTime<Utc>,
    pub is_compound: bool,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub busy: Vec<Interval>,
}

/// Everything live on one staff member's calendar, as stored.
#[derive(Debug, Clone, Default)]
pub struct CalendarSnapshot {
    pub holds: Vec<HoldSnapshot>,
    pub bookings: Vec<(AppointmentId, Vec<Interval>)>,
    pub external: Vec<(String, Interval)>,
}

/// A busy time known from Cal.com.
#[derive(Debug, Clone)]
pub struct ExternalBusy {
    pub uid: String,
    pub staff: StaffId,
    pub interval: Interval,
}
