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
//! The crate map (the workspace's other crates in `crates/README.md`):
//!
//! | module | keeps | may use |
//! |---|---|---|
//! | [`domain`] | the pure rules (crate `slotkeeper-domain`) | nothing with I/O |
//! | [`calendar`] | BK-1 per stylist: the actor is the only writer of its slots; expiry timers, sweeper | domain, store |
//! | [`store`] | durable state; the database refuses overlaps (constraint / trigger) | domain |
//! | [`flags`] | run-time feature flags per tenant | store |
//! | [`booking`] | what callers can do; tenant walls, replay policy (BK-3), German answers | calendar, store, flags, `booking::port` |
//! | [`calcom`] | the calendar of record: client, circuit, rate limit, outbox-driven sync | calendar, store, flags, booking's port |
//! | [`http`], [`admin`] | the only places that speak HTTP; they translate | booking, store, calcom |
//! | [`startup`], [`cli`] | wiring and commands | everything |

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
pub mod node;
pub use slotkeeper_domain::secret;
#[cfg(feature = "sim")]
pub mod simulator;
pub mod startup;
pub mod store;
pub mod telemetry;
