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
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::booking::BookingService;
use crate::calcom::sync::{SyncDeps, SyncHandle};
use crate::calcom::{CalcomClient, ClientConfig};
use crate::calendar::{CalendarContext, CalendarEvent, Calendars, Sweeper};
use crate::clock::Clock;
use crate::config::{ConfigError, Settings};
use crate::domain::{Catalogue, ReservationToken, StaffKey};
use crate::flags::Flags;
use crate::store::{Store, StoreError, StoreOptions};
use crate::{http, metrics};
#[cfg(feature = "sim")]
use calcom_sim::{CalcomSim, SimHandle};

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
        let listener = bind(settings.http.addr).await?;
        let addr = listener.local_addr().map_err(|e| StartupError::Other(e.to_string()))?;
        let calcom = CalcomTarget::start(&settings, &catalogue, addr).await?;

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
            Some(internal) => {
                let metrics_listener = bind(internal).await?;
                let bound = metrics_listener.local_addr().ok();
                let app = http::metrics_router(parts.metrics.clone());
                aborts.push(http::spawn_server(metrics_listener, app, &tasks, shutdown.clone(), None));
                bound
            }
            None => None,
        };
        aborts.extend(spawn_background(&parts, events, &tasks, &shutdown, died_tx).await?);
        tracing::info!(%addr, node = %node_id, database = %crate::store::redact_url(&settings.database.url), "slotkeeper is serving");
        Ok(Self { addr, router, metrics_addr: bound_metrics, parts, shutdown, tasks, died, aborts })
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

/// This process's name: `node.id`, or a random one per start.
fn node_id(settings: &Settings) -> String {
    if settings.node.id.is_empty() {
        format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
    } else {
        settings.node.id.clone()
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr).await.map_err(|source| StartupError::Bind { addr, source })
}

/// Connects and migrates the store, seeds the catalogue, and expires the holds that ran out
/// while the process was down (returned: their Cal.com mirrors are to be released).
async fn open_store(
    settings: &Settings,
    catalogue: &Catalogue,
    clock: &Clock,
    node_id: &str,
) -> Result<(Store, Vec<(StaffKey, ReservationToken)>), StartupError> {
    let store = Store::connect(&StoreOptions {
        url: settings.database.url.clone(),
        max_connections: settings.database.max_connections,
        acquire_timeout: Duration::from_millis(settings.database.acquire_timeout_ms),
        node_id: node_id.to_owned(),
    })
    .await?;
    store.migrate().await?;
    store.sync_catalogue(catalogue.tenants(), clock.now()).await?;
    let mut expired_while_down = Vec::new();
    for due in store.expire_due_holds(clock.now()).await? {
        if due.kind == crate::store::ReservationKind::Hold {
            metrics::reservation_expired(due.is_compound);
            expired_while_down.push((due.key, due.token));
        }
    }
    // The gauge is right from the first scrape, not only after the first sweeper pass.
    metrics::reservations_active(store.count_active_holds().await?);
    Ok((store, expired_while_down))
}

/// Which Cal.com the service talks to: the configured one, or (feature `sim`, no URL) the
/// simulator started here.
struct CalcomTarget {
    client: CalcomClient,
    #[cfg(feature = "sim")]
    sim: Option<Arc<SimHandle>>,
}

impl CalcomTarget {
    #[cfg_attr(not(feature = "sim"), allow(unused_variables))]
    async fn start(settings: &Settings, catalogue: &Catalogue, addr: SocketAddr) -> Result<Self, StartupError> {
        #[cfg(feature = "sim")]
        let sim: Option<Arc<SimHandle>> = if settings.calcom.base_url.trim().is_empty() {
            let config = crate::simulator::sim_config_for(catalogue, &settings.simulator, addr);
            let sim = CalcomSim::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
                .await
                .map_err(|e| StartupError::Other(format!("cannot start the Cal.com simulator: {e}")))?;
            tracing::info!(url = %sim.base_url(), "no Cal.com configured: using the built-in simulator");
            Some(Arc::new(sim))
        } else {
            None
        };
        #[cfg(feature = "sim")]
        let base_url = sim.as_ref().map(|s| s.base_url()).unwrap_or_else(|| settings.calcom.base_url.trim().to_owned());
        #[cfg(not(feature = "sim"))]
        let base_url = settings.calcom.base_url.trim().to_owned();
        let client = CalcomClient::new(&ClientConfig {
            base_url,
            connect_timeout: Duration::from_millis(settings.calcom.connect_timeout_ms),
            request_timeout: Duration::from_millis(settings.calcom.request_timeout_ms),
            pool_idle_timeout: Duration::from_secs(90),
            tcp_keepalive: Duration::from_secs(60),
        })
        .map_err(|e| StartupError::Other(format!("Cal.com client: {e}")))?;
        Ok(CalcomTarget {
            client,
            #[cfg(feature = "sim")]
            sim,
        })
    }
}

/// The calendar supervisor, with the calendars that hold something started at once so their
/// timers run (holds that expired while the process was down were already marked expired).
async fn start_calendars(
    settings: &Settings,
    store: &Store,
    clock: &Clock,
    catalogue: &Arc<Catalogue>,
    events: mpsc::Sender<CalendarEvent>,
) -> Result<Calendars, StartupError> {
    let context = CalendarContext {
        store: store.clone(),
        clock: clock.clone(),
        catalogue: catalogue.clone(),
        events: Some(events),
    };
    let calendars = Calendars::start(context, Duration::from_millis(settings.holds.actor_call_timeout_ms))
        .await
        .map_err(|e| StartupError::Other(e.to_string()))?;
    for key in store.staff_with_active_holds().await? {
        if catalogue.staff(&key).is_some()
            && let Err(err) = calendars.actor(&key).await
        {
            tracing::warn!(calendar = %key, error = %err, "could not start a calendar with active holds");
        }
    }
    Ok(calendars)
}

/// Retell, Cal.com webhooks, health, `/metrics` (unless it has its own address) and the admin pages.
fn public_router(parts: &Parts, with_metrics: bool) -> Result<axum::Router, StartupError> {
    let settings = &parts.settings;
    let state = http::AppState {
        booking: parts.booking.clone(),
        store: parts.store.clone(),
        clock: parts.clock.clone(),
        sync: parts.sync.clone(),
        retell_key: settings.retell.api_key.clone(),
        signature_tolerance_ms: (settings.retell.signature_tolerance_secs * 1000) as i64,
        bodies: http::body::BodyLimits::new(
            settings.http.retell_body_limit_bytes,
            settings.http.body_limit_bytes,
            settings.http.body_buffer_budget_bytes,
        ),
        metrics: with_metrics.then(|| parts.metrics.clone()),
    };
    let limits = http::Limits {
        request_timeout: Duration::from_millis(settings.http.request_timeout_ms),
        max_concurrent_requests: settings.http.max_concurrent_requests,
    };
    let admin = crate::admin::AdminState::new(crate::admin::AdminDeps {
        store: parts.store.clone(),
        clock: parts.clock.clone(),
        catalogue: parts.catalogue.clone(),
        calendars: parts.calendars.clone(),
        sync: parts.sync.clone(),
        flags: parts.flags.clone(),
        settings: settings.admin.clone(),
    })?;
    Ok(http::router(state, limits, Some(crate::admin::router(admin))))
}

/// Each part's own background tasks: the calendars' sweeper, gauges and notice listener, and
/// the flags' refresh (the sync engine started its own in [`SyncHandle::start`]).
async fn spawn_background(
    parts: &Parts,
    events: mpsc::Sender<CalendarEvent>,
    tasks: &TaskTracker,
    shutdown: &CancellationToken,
    died: mpsc::Sender<&'static str>,
) -> Result<Vec<JoinHandle<()>>, StartupError> {
    let sweeper = Sweeper {
        store: parts.store.clone(),
        calendars: parts.calendars.clone(),
        clock: parts.clock.clone(),
        events: Some(events),
        every: Duration::from_secs(parts.settings.holds.sweeper_interval_secs),
    };
    let mut handles = vec![
        sweeper.spawn(tasks, shutdown.clone()),
        parts.flags.spawn_refresh(tasks, shutdown.clone()),
        parts.calendars.spawn_gauges(tasks, shutdown.clone()),
    ];
    handles.extend(parts.calendars.spawn_notice_listener(&parts.store, tasks, shutdown.clone(), died).await?);
    Ok(handles)
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
