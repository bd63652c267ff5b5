//! Pure domain types and rules: no I/O, no clocks, no async.
//!
//! Everything here is a plain function of its inputs, so the rules that keep callers from being
//! double-booked (interval overlap, phase placement, free-slot search) are property-tested in
//! isolation and reused unchanged by the calendar actors.

pub mod availability;
pub mod catalogue;
pub mod german;
pub mod hours;
pub mod ids;
pub mod interval;
pub mod matching;
pub mod phone;

pub use catalogue::{Catalogue, Phase, PlacedPhase, Service, Staff, Tenant};
pub use ids::{AppointmentId, CallId, ReservationToken, ServiceId, StaffId, StaffKey, TenantId};
pub use interval::Interval;
pub use phone::E164;
