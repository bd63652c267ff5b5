//! Typed, layered configuration, validated before anything starts.
//!
//! Layers, later wins:
//! 1. the base file: `--config PATH`, else `$SLOTKEEPER_CONFIG`, else `config/default.toml` when it
//!    exists, else the copy of `config/default.toml` compiled into the binary;
//! 2. an optional environment file: `config/$SLOTKEEPER_ENV.toml` (e.g. `production`);
//! 3. `SLOTKEEPER__SECTION__KEY` environment variables (`SLOTKEEPER__HTTP__ADDR=0.0.0.0:8080`).
//!
//! Unknown keys are errors (a typo must not silently fall back to a default). [`Settings::validate`]
//! turns the tenant sections into the domain [`Catalogue`] and refuses to start with a message that
//! names the offending setting: a bad time zone, overlapping phases, a service nobody performs.
//! Every setting is documented in `config/default.toml`.

mod tenant;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::domain::Catalogue;
use crate::secret::Secret;
pub use tenant::{ExceptionSettings, PhaseSettings, ServiceSettings, StaffSettings, TenantSettings, WeekSettings};

/// The base layer compiled into the binary, so `slotkeeper` runs from any directory.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub node: NodeSettings,
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub retell: RetellSettings,
    pub holds: HoldSettings,
    pub calcom: CalcomSettings,
    pub simulator: SimulatorSettings,
    pub log: LogSettings,
    pub admin: AdminSettings,
    #[serde(default)]
    pub tenants: Vec<TenantSettings>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSettings {
    /// Names this process in logs, in PostgreSQL's `application_name` and in cross-node notices.
    /// Empty: a random id per start.
    #[serde(default)]
    pub id: String,
    /// How long this process's lease on its node id lasts without renewal (renewed every third).
    pub lease_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub addr: SocketAddr,
    /// Empty: `/metrics` is served on `addr`. Otherwise only on this (internal) address.
    #[serde(default)]
    pub metrics_addr: String,
    pub request_timeout_ms: u64,
    /// Largest body on the small routes (Cal.com webhooks).
    pub body_limit_bytes: usize,
    /// Largest Retell function call or call webhook (they carry the live transcript).
    pub retell_body_limit_bytes: usize,
    /// All request bodies held in memory at once, together.
    pub body_buffer_budget_bytes: usize,
    pub max_concurrent_requests: usize,
    pub shutdown_grace_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://path/file.db` (embedded default) or `postgres://…` (several nodes).
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetellSettings {
    /// The Retell API key with the webhook badge; it signs every request Retell sends.
    pub api_key: Secret,
    pub signature_tolerance_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldSettings {
    pub single_ttl_secs: u64,
    pub compound_ttl_secs: u64,
    /// With reservations off, how long an offered slot may still be booked directly.
    pub offer_ttl_secs: u64,
    pub sweeper_interval_secs: u64,
    pub max_active_per_call: usize,
    pub actor_call_timeout_ms: u64,
}

impl HoldSettings {
    pub fn ttl(&self, is_compound: bool) -> Duration {
        Duration::from_secs(if is_compound { self.compound_ttl_secs } else { self.single_ttl_secs })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalcomSettings {
    /// Empty: start the Cal.com simulator in-process (offline demo and tests).
    #[serde(default)]
    pub base_url: String,
    /// The public URL of this service's `/calcom/webhook`, as Cal.com calls it; `calcom doctor`
    /// checks that each tenant's Cal.com has a subscription to it. Empty: not checked.
    #[serde(default)]
    pub webhook_url: String,
    /// At start, each configured event type is read from Cal.com (`GET /v2/event-types/{id}`); a
    /// phase whose minutes its event type cannot be booked for stops the start. Cal.com out of
    /// reach: a warning, and the event types are learned at their first booking.
    #[serde(default = "default_true")]
    pub verify_event_types: bool,
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    pub booking_budget_ms: u64,
    pub rate_limit_per_minute: u32,
    pub mirror_reserve_percent: u8,
    pub mirror_holds: bool,
    pub retry_backoff_secs: Vec<u64>,
    pub auto_redrive_secs: u64,
    pub circuit: CircuitSettings,
    pub outbox: OutboxSettings,
    pub warm: WarmSettings,
    /// Take each stylist's bookable time from Cal.com's slots (`GET /v2/slots`, pre-warmed) instead
    /// of the configured working hours, and re-check a hold before booking it. Off until the
    /// simulator mirrors Cal.com's per-user availability (issue 14, part 2).
    #[serde(default)]
    pub availability_from_slots: bool,
    /// A hold is re-checked against Cal.com's slots right before it is booked when the stylist's
    /// bookable time for that day was last fetched longer ago than this.
    #[serde(default = "default_availability_max_age_secs")]
    pub availability_max_age_secs: u64,
}

fn default_availability_max_age_secs() -> u64 {
    300
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitSettings {
    pub failure_threshold: u32,
    pub window_secs: u64,
    pub cooldown_secs: u64,
    pub success_threshold: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSettings {
    pub workers: usize,
    pub poll_interval_ms: u64,
    pub lease_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarmSettings {
    pub enabled: bool,
    pub horizon_days: u32,
    pub first_hour: u32,
    pub last_hour: u32,
}

/// The in-process Cal.com simulator of `slotkeeper serve` when `calcom.base_url` is empty
/// (builds with the `sim` feature; a build without it refuses an empty `calcom.base_url`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatorSettings {
    pub latency_ms: u64,
    pub send_webhooks: bool,
    pub external_bookings_per_minute: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// `tracing` filter directives; `RUST_LOG` wins when set.
    pub filter: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    pub session_ttl_hours: u64,
    /// Mark the session cookie `Secure` (serve the admin page over TLS, e.g. behind a proxy).
    pub secure_cookies: bool,
    pub login_attempts_per_minute: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid setting {key}: {reason}")]
    Invalid { key: String, reason: String },
}

impl ConfigError {
    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid { key: key.into(), reason: reason.into() }
    }
}

/// Where the layers come from; tests pass their own environment map instead of the process's.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    pub base_file: Option<PathBuf>,
    pub env_name: Option<String>,
    /// `None`: the process environment.
    pub env: Option<std::collections::HashMap<String, String>>,
}

impl Sources {
    pub fn from_process(base_file: Option<PathBuf>) -> Self {
        Self {
            base_file: base_file.or_else(|| std::env::var_os("SLOTKEEPER_CONFIG").map(PathBuf::from)),
            env_name: std::env::var("SLOTKEEPER_ENV").ok().filter(|s| !s.is_empty()),
            env: None,
        }
    }
}

impl Settings {
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        use config::{Environment, File, FileFormat};
        let mut builder = config::Config::builder();
        builder = match &sources.base_file {
            Some(path) => builder.add_source(File::from(path.as_path()).format(FileFormat::Toml).required(true)),
            None if Path::new("config/default.toml").exists() => {
                builder.add_source(File::new("config/default.toml", FileFormat::Toml))
            }
            None => builder.add_source(File::from_str(EMBEDDED_DEFAULT, FileFormat::Toml)),
        };
        if let Some(env_name) = &sources.env_name {
            let path = format!("config/{env_name}.toml");
            builder = builder.add_source(File::new(&path, FileFormat::Toml).required(true));
        }
        let mut environment = Environment::with_prefix("SLOTKEEPER").prefix_separator("__").separator("__");
        if let Some(env) = &sources.env {
            environment = environment.source(Some(env.clone().into_iter().collect()));
        }
        let settings: Settings = builder.add_source(environment).build()?.try_deserialize()?;
        Ok(settings)
    }

    /// Loads the embedded defaults only (tests and examples build on this).
    pub fn embedded_default() -> Self {
        let sources = Sources { base_file: None, env_name: None, env: Some(Default::default()) };
        let built = config::Config::builder()
            .add_source(config::File::from_str(EMBEDDED_DEFAULT, config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize::<Settings>());
        built.unwrap_or_else(|e| panic!("embedded config/default.toml is invalid ({sources:?}): {e}"))
    }

    /// Checks every setting and builds the catalogue; the process refuses to start on error.
    pub fn validate(&self) -> Result<Catalogue, ConfigError> {
        let positive = |key: &str, value: u64| {
            if value == 0 { Err(ConfigError::invalid(key, "must be greater than 0")) } else { Ok(()) }
        };
        positive("holds.single_ttl_secs", self.holds.single_ttl_secs)?;
        positive("holds.compound_ttl_secs", self.holds.compound_ttl_secs)?;
        positive("holds.offer_ttl_secs", self.holds.offer_ttl_secs)?;
        positive("holds.sweeper_interval_secs", self.holds.sweeper_interval_secs)?;
        positive("holds.actor_call_timeout_ms", self.holds.actor_call_timeout_ms)?;
        positive("node.lease_secs", self.node.lease_secs)?;
        positive("http.request_timeout_ms", self.http.request_timeout_ms)?;
        positive("http.body_limit_bytes", self.http.body_limit_bytes as u64)?;
        positive("http.retell_body_limit_bytes", self.http.retell_body_limit_bytes as u64)?;
        if self.http.body_buffer_budget_bytes < self.http.retell_body_limit_bytes.max(self.http.body_limit_bytes) {
            return Err(ConfigError::invalid(
                "http.body_buffer_budget_bytes",
                "must be at least http.retell_body_limit_bytes and http.body_limit_bytes, or a body at the limit could never be read",
            ));
        }
        positive("http.max_concurrent_requests", self.http.max_concurrent_requests as u64)?;
        positive("database.max_connections", u64::from(self.database.max_connections))?;
        positive("calcom.rate_limit_per_minute", u64::from(self.calcom.rate_limit_per_minute))?;
        positive("calcom.outbox.workers", self.calcom.outbox.workers as u64)?;
        positive("calcom.circuit.failure_threshold", u64::from(self.calcom.circuit.failure_threshold))?;
        positive("calcom.circuit.success_threshold", u64::from(self.calcom.circuit.success_threshold))?;
        if self.admin.session_ttl_hours == 0 || self.admin.session_ttl_hours > 24 * 30 {
            return Err(ConfigError::invalid("admin.session_ttl_hours", "must be 1..=720"));
        }
        positive("admin.login_attempts_per_minute", u64::from(self.admin.login_attempts_per_minute))?;
        if self.holds.max_active_per_call == 0 {
            return Err(ConfigError::invalid("holds.max_active_per_call", "must be at least 1"));
        }
        if self.retell.api_key.is_empty() {
            return Err(ConfigError::invalid(
                "retell.api_key",
                "is empty; set SLOTKEEPER__RETELL__API_KEY to the Retell API key with the webhook badge",
            ));
        }
        if self.calcom.mirror_reserve_percent > 100 {
            return Err(ConfigError::invalid("calcom.mirror_reserve_percent", "must be 0..=100"));
        }
        if self.calcom.retry_backoff_secs.is_empty() {
            return Err(ConfigError::invalid("calcom.retry_backoff_secs", "needs at least one delay"));
        }
        if self.calcom.warm.first_hour > self.calcom.warm.last_hour || self.calcom.warm.last_hour > 23 {
            return Err(ConfigError::invalid("calcom.warm", "first_hour..=last_hour must lie within 0..=23"));
        }
        self.metrics_addr()?;
        #[cfg(not(feature = "sim"))]
        if self.calcom.base_url.trim().is_empty() {
            return Err(ConfigError::invalid(
                "calcom.base_url",
                "is empty, and this build has no Cal.com simulator (feature `sim`): set SLOTKEEPER__CALCOM__BASE_URL",
            ));
        }
        if !(self.database.url.starts_with("sqlite:") || self.database.url.starts_with("postgres")) {
            return Err(ConfigError::invalid("database.url", "must start with sqlite: or postgres://"));
        }
        if self.tenants.is_empty() {
            return Err(ConfigError::invalid("tenants", "no tenant is configured"));
        }
        let tenants = self
            .tenants
            .iter()
            .enumerate()
            .map(|(i, t)| t.to_domain(&format!("tenants[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Catalogue::new(tenants).map_err(|e| ConfigError::invalid("tenants", e.to_string()))
    }

    pub fn metrics_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        let raw = self.http.metrics_addr.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse()
            .map(Some)
            .map_err(|_| ConfigError::invalid("http.metrics_addr", format!("{raw:?} is not host:port")))
    }

    pub fn hold_ttl(&self, is_compound: bool) -> Duration {
        self.holds.ttl(is_compound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load_with(env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml"));
        Settings::load(&Sources { base_file: Some(path), env_name: None, env: Some(env) })
    }

    #[test]
    fn the_shipped_defaults_are_valid_and_contain_the_demo_salon() {
        let settings = load_with(&[]).unwrap();
        let catalogue = settings.validate().unwrap();
        let phone = crate::domain::E164::parse("+4930123456789", "49").unwrap();
        let tenant = catalogue.tenant_by_phone(&phone).expect("demo salon by phone");
        assert_eq!(tenant.name, "Salon Beispiel");
        assert!(catalogue.tenant_by_agent("agent_demo").is_some());
        assert_eq!(tenant.staff.len(), 3);
        let perm = tenant.service(&"dauerwelle".into()).unwrap();
        assert_eq!(perm.total_minutes(), 135);
        assert_eq!(perm.busy_layout(), vec![(0, 50), (65, 5), (80, 15), (95, 40)]);
        for (id, minutes) in [("herrenhaarschnitt", 30), ("damenhaarschnitt", 45), ("faerben", 90)] {
            assert_eq!(tenant.service(&id.into()).unwrap().total_minutes(), minutes, "{id}");
        }
    }

    #[test]
    fn environment_variables_override_the_files() {
        let settings = load_with(&[
            ("SLOTKEEPER__HTTP__ADDR", "127.0.0.1:9999"),
            ("SLOTKEEPER__RETELL__API_KEY", "key_from_env"),
            ("SLOTKEEPER__HOLDS__SINGLE_TTL_SECS", "90"),
        ])
        .unwrap();
        assert_eq!(settings.http.addr.port(), 9999);
        assert_eq!(settings.retell.api_key.expose(), "key_from_env");
        assert_eq!(settings.holds.single_ttl_secs, 90);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = load_with(&[("SLOTKEEPER__HTTP__ADRR", "127.0.0.1:1")]).unwrap_err();
        assert!(err.to_string().contains("adrr"), "{err}");
    }

    #[test]
    fn an_empty_retell_key_refuses_to_start() {
        let mut settings = load_with(&[]).unwrap();
        settings.retell.api_key = Secret::default();
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("retell.api_key"), "{err}");
    }

    #[test]
    fn admin_limits_out_of_range_refuse_to_start() {
        let mut settings = load_with(&[]).unwrap();
        settings.admin.session_ttl_hours = 0;
        assert!(settings.validate().unwrap_err().to_string().contains("admin.session_ttl_hours"));
        settings.admin.session_ttl_hours = 12;
        settings.admin.login_attempts_per_minute = 0;
        assert!(settings.validate().unwrap_err().to_string().contains("admin.login_attempts_per_minute"));
    }

    #[test]
    fn the_secret_does_not_show_in_debug_output() {
        let settings = load_with(&[("SLOTKEEPER__RETELL__API_KEY", "key_very_secret")]).unwrap();
        assert!(!format!("{settings:?}").contains("key_very_secret"));
    }
}
