//! Structured logs with `tracing`: human-readable text by default, JSON for log shippers.
//!
//! Log lines are lowercase with fields (`warn!(calendar = %key, "…")`); request spans carry the
//! request id, the route and — for Retell requests — the call id and tenant. Secrets never reach a
//! log line: they are `Secret`s whose `Debug` is redacted, and bodies are not logged.

use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogFormat, LogSettings};

static INSTALLED: OnceLock<()> = OnceLock::new();

/// Installs the global subscriber once (later calls are ignored, e.g. several apps in one test).
pub fn init(settings: &LogSettings) {
    INSTALLED.get_or_init(|| {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.filter));
        let registry = tracing_subscriber::registry().with(filter);
        let result = match settings.format {
            LogFormat::Json => registry
                .with(tracing_subscriber::fmt::layer().json().with_current_span(true).with_span_list(false))
                .try_init(),
            LogFormat::Text => registry.with(tracing_subscriber::fmt::layer().with_target(false)).try_init(),
        };
        if let Err(err) = result {
            eprintln!("logging was already set up elsewhere: {err}");
        }
    });
}

/// For tests: logs only when `TEST_LOG` is set, written so the test harness captures them.
pub fn init_for_tests() {
    INSTALLED.get_or_init(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
            let _ = tracing_subscriber::registry()
                .with(filter)
                .with(tracing_subscriber::fmt::layer().with_test_writer().with_target(false))
                .try_init();
        }
    });
}
