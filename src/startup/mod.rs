//! Builds and runs the application: the wiring of every part, in one place.
//!
//! ```text
//!            ┌──────────── axum (public addr) ─────────────┐      ┌── /metrics (optional internal addr)
//!  Retell ──►│ /retell/*  /calcom/webhook  /admin/*  /health│
//!            └──────┬──────────────────────────────┬────────┘
//!                   ▼                              ▼
//!           BookingService ─── Idempotency     Cal.com webhooks ──► calendar actors (external busy)
//!                   │
//!                   ▼                     events (holds created/ended)
//!     Calendars (supervisor) ── CalendarActor × staff ─────────────► hold mirror ─┐
//!                   │ write-through                                                │
//!                   ▼                                                              ▼
//!     Store (SQLite | PostgreSQL) ◄──── outbox poller ──► sync pool (ractor factory) ──► Cal.com v2
//!        ▲        ▲                                                     (rate limiter, circuit breaker)
//!  sweeper   LISTEN/NOTIFY (other nodes) ──► Reload
//! ```
//!
//! Every background task is owned by one [`TaskTracker`]; graceful shutdown stops accepting, lets
//! in-flight requests finish, drains the sync pool and the calendar actors, then closes the store.
//! If a critical task ends on its own, [`Application::run_until_stopped`] returns an error and the
//! process exits non-zero; the next start rebuilds everything from the store.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::booking::BookingService;
use crate::calcom::sync::{SyncDeps, SyncHandle};
use crate::calendar::Calendars;
use crate::clock::Clock;
use crate::config::{ConfigError, Settings};
use crate::domain::Catalogue;
use crate::flags::Flags;
use crate::node::NodeLease;
use crate::store::{Store, StoreError};
use crate::{http, metrics};
#[cfg(feature = "sim")]
use calcom_sim::SimHandle;

mod wiring;

use wiring::{
    CalcomTarget, bind, node_id, open_store, public_router, serve_metrics, spawn_background, start_calendars,
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    /// A critical task (the HTTP server, the outbox poller, the notice listener) ended on its own.
    #[error("critical task stopped: {0}")]
    TaskStopped(&'static str),
    #[error(transparent)]
    Node(#[from] crate::node::NodeError),
    #[error("{0}")]
    Other(String),
}

/// Options that tests and tools change; production uses the defaults.
#[derive(Clone)]
pub struct BuildOptions {
    pub clock: Clock,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self { clock: Clock::system() }
    }
}

/// The parts of a running application (tests and tools reach in through these).
#[derive(Clone)]
pub struct Parts {
    pub settings: Arc<Settings>,
    pub catalogue: Arc<Catalogue>,
    pub store: Store,
    pub clock: Clock,
    pub calendars: Calendars,
    pub booking: BookingService,
    pub sync: SyncHandle,
    pub flags: Flags,
    /// The in-process Cal.com simulator, when no Cal.com URL is configured.
    #[cfg(feature = "sim")]
    pub sim: Option<Arc<SimHandle>>,
    pub metrics: PrometheusHandle,
}

pub struct Application {
    addr: SocketAddr,
    /// The public router (also served on `addr`), for in-process use by benches and tools.
    router: axum::Router,
    metrics_addr: Option<SocketAddr>,
    parts: Parts,
    /// This process's lease on its node id.
    lease: NodeLease,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    /// Critical tasks report here when they end on their own.
    died: mpsc::Receiver<&'static str>,
    aborts: Vec<JoinHandle<()>>,
}

impl Application {
    /// Wires every part, in dependency order; each part starts its own background tasks.
    pub async fn build(settings: Settings, options: BuildOptions) -> Result<Self, StartupError> {
        let catalogue = Arc::new(settings.validate()?);
        let settings = Arc::new(settings);
        let clock = options.clock.clone();
        let handle = metrics::install();
        metrics::register_series(&catalogue);
        let node_id = node_id(&settings);
        let (store, expired_while_down) = open_store(&settings, &catalogue, &clock, &node_id).await?;
        let lease_ttl = chrono::TimeDelta::seconds(i64::try_from(settings.node.lease_secs).unwrap_or(i64::MAX / 1000));
        let lease = NodeLease::take(&store, &clock, &node_id, lease_ttl).await?;
        let listener = bind(settings.http.addr).await?;
        let addr = listener.local_addr().map_err(|e| StartupError::Other(e.to_string()))?;
        let calcom = CalcomTarget::start(&settings, &catalogue, addr).await?;
        let event_types = Arc::new(crate::calcom::EventTypes::new());
        if settings.calcom.verify_event_types {
            wiring::verify_event_types(&calcom.client, &catalogue, &event_types).await?;
        }

        let (events, events_rx) = mpsc::channel(crate::calcom::sync::EVENT_QUEUE);
        let calendars = start_calendars(&settings, &store, &clock, &catalogue, events.clone()).await?;
        let flags = Flags::load(store.clone(), &catalogue, clock.now()).await?;
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let (died_tx, died) = mpsc::channel(8);
        let deps = SyncDeps {
            client: calcom.client,
            store: store.clone(),
            clock: clock.clone(),
            catalogue: catalogue.clone(),
            calendars: calendars.clone(),
            flags: flags.clone(),
            settings: settings.calcom.clone(),
            node_id: node_id.clone(),
            event_types,
        };
        let sync = SyncHandle::start(deps, events_rx, &tasks, shutdown.clone(), died_tx.clone())
            .await
            .map_err(|e| StartupError::Other(format!("sync pool: {e}")))?;
        // Their Cal.com reservations would otherwise block those slots there for minutes.
        sync.release_mirrors(expired_while_down);
        let booking = BookingService::new(
            catalogue.clone(),
            calendars.clone(),
            store.clone(),
            clock.clone(),
            flags.clone(),
            Arc::new(sync.clone()),
            crate::booking::Settings {
                holds: settings.holds.clone(),
                booking_budget: Duration::from_millis(settings.calcom.booking_budget_ms),
            },
        );
        let parts = Parts {
            settings: settings.clone(),
            catalogue,
            store,
            clock,
            calendars,
            booking,
            sync,
            flags,
            #[cfg(feature = "sim")]
            sim: calcom.sim,
            metrics: handle,
        };

        let metrics_addr = settings.metrics_addr()?;
        let router = public_router(&parts, metrics_addr.is_none())?;
        let mut aborts =
            vec![http::spawn_server(listener, router.clone(), &tasks, shutdown.clone(), Some(died_tx.clone()))];
        let bound_metrics = match metrics_addr {
            Some(internal) => Some(serve_metrics(internal, &parts, &tasks, &shutdown, &mut aborts).await?),
            None => None,
        };
        let sync = parts.sync.clone();
        aborts.push(lease.spawn_renewal(&tasks, shutdown.clone(), died_tx.clone(), move |n| sync.share_budget(n)));
        aborts.extend(spawn_background(&parts, events, &tasks, &shutdown, died_tx).await?);
        tracing::info!(%addr, node = %node_id, database = %crate::store::redact_url(&settings.database.url), "slotkeeper is serving");
        Ok(Self { addr, router, metrics_addr: bound_metrics, parts, lease, shutdown, tasks, died, aborts })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    pub fn parts(&self) -> &Parts {
        &self.parts
    }

    /// The public router, to drive requests in-process (`tower::ServiceExt::oneshot`).
    pub fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// Serves until SIGTERM/Ctrl-C (then shuts down gracefully, `Ok`) or until a critical task ends
    /// on its own (`Err`: the caller exits non-zero and the next start rebuilds from the store).
    pub async fn run_until_stopped(mut self) -> Result<(), StartupError> {
        let died = tokio::select! {
            _ = shutdown_signal() => None,
            _ = self.shutdown.cancelled() => None,
            name = self.died.recv() => name,
        };
        if let Some(name) = died {
            tracing::error!(task = name, "a critical task stopped; shutting down");
        }
        self.shutdown_gracefully().await;
        match died {
            Some(name) => Err(StartupError::TaskStopped(name)),
            None => Ok(()),
        }
    }

    /// A handle that makes [`Application::run_until_stopped`] return as if SIGTERM had arrived.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    pub async fn shutdown_gracefully(&self) {
        let grace = Duration::from_millis(self.parts.settings.http.shutdown_grace_ms);
        tracing::info!(
            grace_ms = grace.as_millis() as u64,
            "shutting down: no new requests, finishing the ones in flight"
        );
        self.shutdown.cancel();
        self.tasks.close();
        if tokio::time::timeout(grace, self.tasks.wait()).await.is_err() {
            tracing::warn!("background tasks did not finish within the grace period");
        }
        self.parts.sync.shutdown(grace).await;
        self.parts.calendars.shutdown(grace).await;
        self.lease.release().await;
        self.parts.store.close().await;
        tracing::info!("shut down cleanly");
    }

    /// Stops everything at once without draining or closing, as a crash would (tests of recovery).
    pub async fn abort(self) {
        for task in &self.aborts {
            task.abort();
        }
        self.shutdown.cancel();
        self.parts.sync.abort();
        self.parts.calendars.kill_all();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
