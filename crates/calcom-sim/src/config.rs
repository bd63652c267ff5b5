//! Configuration of the Cal.com simulator (serde with defaults, so it can live in a TOML
//! config file).
//!
//! Guarantees: every field has a default (a Berlin salon open Mon–Sat 08:00–20:00 with three
//! event types, 120 requests per minute per key, no faults, no webhook, no external booker);
//! [`SimConfig::validate`] rejects what the simulator could not honour (bad schedule, bad
//! faults, duplicate event type ids, zero lengths, a negative booker rate); the webhook secret
//! never appears in `Debug` output.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::faults::Faults;
use super::schedule::Schedule;
use super::state::MAX_BOOKING_MINUTES;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimConfig {
    pub event_types: Vec<SimEventType>,
    /// Accepted Bearer keys; empty = accept any key starting with `cal_`.
    pub api_keys: Vec<String>,
    /// Requests per API key per 60 s window (Cal.com: 120); 0 = off.
    pub rate_limit_per_minute: u32,
    pub schedule: SimSchedule,
    pub faults: Faults,
    pub webhook: Option<SimWebhook>,
    /// Waits before each retry of a failed webhook delivery (default 100 ms, 500 ms, 2 s); the
    /// delivery is dropped after the last one.
    pub webhook_retry_backoff_ms: Vec<u64>,
    pub external_booker: Option<ExternalBooker>,
    /// What `GET /v2/webhooks` lists. `None`: the one subscription of [`Self::webhook`] (all
    /// booking triggers, active, with its secret), or none without a webhook. Tests seed wrong
    /// subscriptions here for `calcom doctor`.
    pub listed_webhooks: Option<Vec<calcom_api::types::Webhook>>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            event_types: default_event_types(),
            api_keys: Vec::new(),
            rate_limit_per_minute: 120,
            schedule: SimSchedule::default(),
            faults: Faults::default(),
            webhook: None,
            webhook_retry_backoff_ms: default_retry_backoff_ms(),
            external_booker: None,
            listed_webhooks: None,
        }
    }
}

/// A simulated event type. Its booking rules are Cal.com's: `lengthInMinutes` only for one of
/// `length_options` (when there are none it must be absent), an e-mail or phone number as its
/// booking fields require.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimEventType {
    pub id: i64,
    pub slug: String,
    /// The default (or only) length.
    pub length_minutes: u32,
    pub host_user_id: i64,
    pub host_name: String,
    pub host_email: String,
    /// Several lengths the booker may pick (`lengthInMinutesOptions`); empty = one fixed length.
    #[serde(default)]
    pub length_options: Vec<u32>,
    /// The default `email` booking field is required (Cal.com's default) or optional and hidden.
    #[serde(default = "yes")]
    pub email_required: bool,
    /// The `attendeePhoneNumber` booking field is required.
    #[serde(default)]
    pub phone_required: bool,
}

fn yes() -> bool {
    true
}

impl SimEventType {
    /// A single-length event type with Cal.com's default booking fields (e-mail required).
    pub fn single(
        id: i64,
        slug: &str,
        length_minutes: u32,
        host_user_id: i64,
        host_name: &str,
        host_email: &str,
    ) -> Self {
        SimEventType {
            id,
            slug: slug.to_owned(),
            length_minutes,
            host_user_id,
            host_name: host_name.to_owned(),
            host_email: host_email.to_owned(),
            length_options: Vec::new(),
            email_required: true,
            phone_required: false,
        }
    }
}

/// A small salon: two stylists, three services.
pub fn default_event_types() -> Vec<SimEventType> {
    let et = SimEventType::single;
    vec![
        et(1001, "herrenhaarschnitt", 30, 1, "Anna Becker", "anna@salon.example.com"),
        et(1002, "damenhaarschnitt", 60, 1, "Anna Becker", "anna@salon.example.com"),
        et(1003, "faerben", 90, 2, "Ben Wolf", "ben@salon.example.com"),
    ]
}

/// Opening hours shared by every host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimSchedule {
    pub time_zone: String,
    /// `mon`, `tue`, … (any form chrono parses).
    pub days: Vec<String>,
    /// `HH:MM` local time.
    pub open: String,
    pub close: String,
    /// Reject bookings and reservations outside these hours (Cal.com does); off by default
    /// so tests can book any time.
    pub enforce: bool,
}

impl Default for SimSchedule {
    fn default() -> Self {
        SimSchedule {
            time_zone: "Europe/Berlin".to_owned(),
            days: ["mon", "tue", "wed", "thu", "fri", "sat"].map(str::to_owned).to_vec(),
            open: "08:00".to_owned(),
            close: "20:00".to_owned(),
            enforce: false,
        }
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimWebhook {
    pub url: String,
    pub secret: String,
}

pub fn default_retry_backoff_ms() -> Vec<u64> {
    vec![100, 500, 2_000]
}

impl SimWebhook {
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> Self {
        SimWebhook { url: url.into(), secret: secret.into() }
    }
}

impl std::fmt::Debug for SimWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimWebhook").field("url", &self.url).field("secret", &"<redacted>").finish()
    }
}

/// Background "web booker" taking random free slots, like customers booking online.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExternalBooker {
    /// Mean bookings per minute (exponential inter-arrival times).
    pub per_minute: f64,
    /// Days ahead (from today) it books into.
    pub horizon_days: u32,
    pub seed: u64,
}

impl Default for ExternalBooker {
    fn default() -> Self {
        ExternalBooker { per_minute: 1.0, horizon_days: 14, seed: 0 }
    }
}

impl SimConfig {
    pub fn validate(&self) -> Result<(), String> {
        Schedule::parse(&self.schedule)?;
        self.faults.validate()?;
        let mut ids = HashSet::new();
        for e in &self.event_types {
            if !ids.insert(e.id) {
                return Err(format!("duplicate event type id {}", e.id));
            }
            if e.length_minutes == 0 || e.length_minutes > MAX_BOOKING_MINUTES {
                return Err(format!("event type {} has an invalid length", e.id));
            }
            // Cal.com: the options "must include the provided `lengthInMinutes`" (event-type.output.ts).
            let bad_option = |m: &u32| *m == 0 || *m > MAX_BOOKING_MINUTES;
            if e.length_options.iter().any(bad_option)
                || (!e.length_options.is_empty() && !e.length_options.contains(&e.length_minutes))
            {
                return Err(format!("event type {} has length options without its default length", e.id));
            }
        }
        let bad_booker = |b: &ExternalBooker| !b.per_minute.is_finite() || b.per_minute < 0.0 || b.horizon_days == 0;
        if self.external_booker.as_ref().is_some_and(bad_booker) {
            return Err("external_booker needs per_minute >= 0 and horizon_days >= 1".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_the_default() {
        let cfg: SimConfig = serde_json::from_str("{}").expect("parses");
        assert_eq!(cfg, SimConfig::default());
        assert!(cfg.validate().is_ok());
        assert_eq!(cfg.rate_limit_per_minute, 120);
        assert_eq!(cfg.schedule.days.len(), 6);
    }

    #[test]
    fn partial_sections_take_defaults() {
        let cfg: SimConfig = serde_json::from_str(
            r#"{"rate_limit_per_minute": 0, "api_keys": ["cal_a"],
                "webhook": {"url": "http://127.0.0.1:9/hook", "secret": "s"},
                "external_booker": {"per_minute": 2.5},
                "schedule": {"open": "09:00"},
                "faults": {"endpoints": {"bookings.create": {"error_rate": 0.1}}}}"#,
        )
        .expect("parses");
        assert!(cfg.validate().is_ok());
        let hook = cfg.webhook.as_ref().expect("webhook");
        assert_eq!(cfg.webhook_retry_backoff_ms, default_retry_backoff_ms());
        assert!(!cfg.schedule.enforce);
        assert!(!format!("{hook:?}").contains("\"s\""), "secret redacted");
        let booker = cfg.external_booker.as_ref().expect("booker");
        assert_eq!((booker.horizon_days, booker.seed), (14, 0));
        assert_eq!((cfg.schedule.open.as_str(), cfg.schedule.close.as_str()), ("09:00", "20:00"));
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let mut dup = SimConfig::default();
        dup.event_types.push(dup.event_types[0].clone());
        assert!(dup.validate().is_err());
        let mut zero = SimConfig::default();
        zero.event_types[0].length_minutes = 0;
        assert!(zero.validate().is_err());
        let booker = ExternalBooker { per_minute: -1.0, ..ExternalBooker::default() };
        let bad_booker = SimConfig { external_booker: Some(booker), ..SimConfig::default() };
        assert!(bad_booker.validate().is_err());
        let mut bad_tz = SimConfig::default();
        bad_tz.schedule.time_zone = "Berlin".into();
        assert!(bad_tz.validate().is_err());
    }
}
