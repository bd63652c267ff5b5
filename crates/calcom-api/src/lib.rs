//! Cal.com API v2 as it is on the wire, shared by the service's client and the simulator.
//!
//! Owns: the request and answer types of the endpoints slotkeeper uses ([`types`]: bookings,
//! slots, slot reservations, the error envelope, the `cal-api-version` of each family), the
//! webhook payloads and their `X-Cal-Signature-256` ([`webhook`]), and the one builder of
//! `reqwest::Client`s ([`http_client_builder`]) that installs the TLS provider first.
//!
//! May not depend on: the service (no store, actors, metrics or configuration) or the simulator;
//! it describes Cal.com, it does not talk to anything.

pub mod types;
pub mod webhook;

pub use types::*;
pub use webhook::{TriggerEvent, WebhookEvent, WebhookPayload, WebhookPerson, sign, verify};

/// Builds every `reqwest::Client` of the workspace: installs the ring TLS provider first (reqwest
/// is compiled with `rustls-no-provider`, so a client built without a provider panics).
pub fn http_client_builder() -> reqwest::ClientBuilder {
    // Idempotent: an error only says a provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}
