//! Cal.com layer of slotkeeper: the typed Cal.com API v2 client and its error classes, a pure
//! per-tenant circuit breaker, a client-side rate limiter and the outbox-driven sync. The wire
//! types and webhook signatures are the `calcom-api` crate's (re-exported here as [`types`] and
//! [`webhook`]); the simulator is the `calcom-sim` crate's (feature `sim`).
//!
//! Guarantees: everything that talks to Cal.com goes through [`CalcomClient`] (one pooled
//! `reqwest::Client` built by [`http_client_builder`], which installs the TLS provider), every
//! request is measured in `crate::metrics`, and no API key or webhook secret is ever logged.

pub mod circuit;
pub mod client;
pub mod doctor;
pub mod error;
pub mod event_types;
pub mod import;
pub mod ratelimit;
pub mod sync;
pub use calcom_api::{types, webhook};

pub use circuit::{Admission, CircuitBreaker, CircuitBreakers, CircuitConfig, CircuitState, Permit};
pub use client::{CalcomClient, ClientConfig, http_client_builder};
pub use error::CalcomError;
pub use event_types::EventTypes;
pub use ratelimit::{Grant, Priority, RateLimitConfig, RateLimitError, RateLimiter};
pub use types::*;
pub use webhook::{TriggerEvent, WebhookEvent, WebhookPayload, WebhookPerson, sign, verify};
