//! Pure domain types and rules of slotkeeper: no I/O, no clocks, no async.
//!
//! Everything here is a plain function of its inputs, so the rules that keep callers from being
//! double-booked (interval overlap, phase placement, free-slot search) are property-tested in
//! isolation and reused unchanged by the calendar actors.
//!
//! Owns: ids, intervals, working hours (DST-correct), the catalogue of tenants, services and
//! staff, the free-slot search, German dates and labels, service-name matching, and [`Secret`]
//! (a string that never reaches a log). May not depend on: tokio, sqlx, axum, reqwest or the
//! service — its `Cargo.toml` has none of them, so nothing here can do I/O.

pub mod availability;
pub mod catalogue;
pub mod german;
pub mod hours;
pub mod ids;
pub mod interval;
pub mod matching;
pub mod phone;
pub mod secret;

pub use catalogue::{Catalogue, Phase, PlacedPhase, Service, Staff, Tenant};
pub use ids::{AppointmentId, CallId, ReservationToken, ServiceId, StaffId, StaffKey, TenantId};
pub use interval::Interval;
pub use phone::E164;
pub use secret::Secret;
