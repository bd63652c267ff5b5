//! Cal.com layer of slotkeeper: the typed Cal.com API v2 client and its error classes, a pure
//! per-tenant circuit breaker, a client-side rate limiter, webhook signing and verification, and
//! a Cal.com-compatible HTTP simulator for tests, the demo and the load harness.
//!
//! Guarantees: everything that talks to Cal.com goes through [`CalcomClient`] (one pooled
//! `reqwest::Client` built by [`http_client_builder`], which installs the TLS provider), every
//! request is measured in `crate::metrics`, and no API key or webhook secret is ever logged.

pub mod circuit;
pub mod client;
pub mod error;
pub mod ratelimit;
pub mod sim;
pub mod sync;
pub mod types;
pub mod webhook;

pub use circuit::{Admission, CircuitBreaker, CircuitBreakers, CircuitConfig, CircuitState, Permit};
pub use client::{CalcomClient, ClientConfig, http_client_builder};
pub use error::CalcomError;
pub use ratelimit::{Grant, Priority, RateLimitConfig, RateLimitError, RateLimiter};
pub use sim::{CalcomSim, SimConfig, SimHandle, SimStats};
pub use types::*;
pub use webhook::{TriggerEvent, WebhookEvent, WebhookPayload, WebhookPerson, sign, verify};
