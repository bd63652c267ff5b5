//! slotkeeper: a booking backend for phone agents that cannot double-book.
//!
//! ```text
//!  Retell (signed) ──► http ──► booking (orchestration, idempotency) ──► calendar actors (one per stylist)
//!                        │                                                   │ write-through
//!  Cal.com webhooks ─────┘                                                   ▼
//!                                         store: SQLite file | PostgreSQL (exclusion constraint)
//!                                                                            │ outbox
//!                                                                            ▼
//!                                         calcom: sync pool ──► Cal.com API v2 (or the simulator)
//! ```
//!
//! Modules, from the inside out: [`domain`] (pure rules), [`calendar`] (actors), [`store`]
//! (persistence), [`booking`] (what callers can do), [`calcom`] (the calendar of record),
//! [`http`] (the only place that speaks HTTP), [`startup`] (wiring), [`cli`] (commands).

pub mod admin;
pub mod booking;
pub mod calcom;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod config;
/// The pure rules (`slotkeeper-domain`), under their old path.
pub use slotkeeper_domain as domain;
pub mod flags;
pub mod http;
pub mod metrics;
pub use slotkeeper_domain::secret;
#[cfg(feature = "sim")]
pub mod simulator;
pub mod startup;
pub mod store;
pub mod telemetry;
