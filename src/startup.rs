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

use crate::booking::idempotency::Idempotency;
use crate::booking::{BookingService, Flags};
use crate::calcom::sync::{SyncDeps, SyncHandle};
use crate::calcom::{CalcomClient, ClientConfig};
use crate::calendar::{CalendarContext, CalendarMsg, Calendars};
use crate::clock::Clock;
use crate::config::{ConfigError, Settings};
use crate::domain::Catalogue;
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
    pub idempotency: Idempotency,
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
    pub async fn build(settings: Settings, options: BuildOptions) -> Result<Self, StartupError> {
        let catalogue = Arc::new(settings.validate()?);
        let settings = Arc::new(settings);
        let clock = options.clock.clone();
        let handle = metrics::install();
        metrics::register_series(&catalogue);
        let node_id = if settings.node.id.is_empty() {
            format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
        } else {
            settings.node.id.clone()
        };

        let store = Store::connect(&StoreOptions {
            url: settings.database.url.clone(),
            max_connections: settings.database.max_connections,
            acquire_timeout: Duration::from_millis(settings.database.acquire_timeout_ms),
            node_id: node_id.clone(),
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

        let listener = TcpListener::bind(settings.http.addr)
            .await
            .map_err(|source| StartupError::Bind { addr: settings.http.addr, source })?;
        let addr = listener.local_addr().map_err(|e| StartupError::Other(e.to_string()))?;

        #[cfg(feature = "sim")]
        let sim: Option<Arc<SimHandle>> = if settings.calcom.base_url.trim().is_empty() {
            let config = crate::simulator::sim_config_for(&catalogue, &settings.simulator, addr);
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

        let (events, events_rx) = mpsc::channel(crate::calcom::sync::EVENT_QUEUE);
        let calendars = Calendars::start(
            CalendarContext {
                store: store.clone(),
                clock: clock.clone(),
                catalogue: catalogue.clone(),
                events: Some(events),
            },
            Duration::from_millis(settings.holds.actor_call_timeout_ms),
        )
        .await
        .map_err(|e| StartupError::Other(e.to_string()))?;
        // Calendars with holds start now, so their timers run (and holds that expired while the
        // process was down were already marked expired above).
        for key in store.staff_with_active_holds().await? {
            if catalogue.staff(&key).is_some()
                && let Err(err) = calendars.actor(&key).await
            {
                tracing::warn!(calendar = %key, error = %err, "could not start a calendar with active holds");
            }
        }

        let flags = Flags::load(store.clone(), &catalogue, clock.now()).await?;
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let (died_tx, died) = mpsc::channel(8);
        let deps = SyncDeps {
            client,
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
            sync.clone(),
            crate::booking::Settings {
                holds: settings.holds.clone(),
                booking_budget: Duration::from_millis(settings.calcom.booking_budget_ms),
            },
        );
        let idempotency = Idempotency::new(store.clone(), clock.clone());
        let metrics_addr = settings.metrics_addr()?;
        let state = http::AppState {
            booking: booking.clone(),
            idempotency: idempotency.clone(),
            store: store.clone(),
            clock: clock.clone(),
            sync: sync.clone(),
            retell_key: settings.retell.api_key.clone(),
            signature_tolerance_ms: (settings.retell.signature_tolerance_secs * 1000) as i64,
            bodies: http::body::BodyLimits::new(
                settings.http.retell_body_limit_bytes,
                settings.http.body_limit_bytes,
                settings.http.body_buffer_budget_bytes,
            ),
            metrics: metrics_addr.is_none().then(|| handle.clone()),
        };
        let limits = http::Limits {
            request_timeout: Duration::from_millis(settings.http.request_timeout_ms),
            max_concurrent_requests: settings.http.max_concurrent_requests,
        };
        let admin = crate::admin::AdminState::new(crate::admin::AdminDeps {
            store: store.clone(),
            clock: clock.clone(),
            catalogue: catalogue.clone(),
            calendars: calendars.clone(),
            sync: sync.clone(),
            flags: flags.clone(),
            settings: settings.admin.clone(),
        })?;
        let router = http::router(state, limits, Some(crate::admin::router(admin)));
        let served_router = router.clone();

        let mut aborts = Vec::new();
        let server_shutdown = shutdown.clone();
        let server_died = died_tx.clone();
        aborts.push(tasks.spawn(async move {
            let served = axum::serve(listener, served_router.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async move { server_shutdown.cancelled().await })
                .await;
            if let Err(err) = served {
                tracing::error!(error = %err, "http server failed");
            }
            let _ = server_died.try_send("http server");
        }));
        let mut bound_metrics = None;
        if let Some(internal) = metrics_addr {
            let metrics_listener =
                TcpListener::bind(internal).await.map_err(|source| StartupError::Bind { addr: internal, source })?;
            bound_metrics = metrics_listener.local_addr().ok();
            let metrics_shutdown = shutdown.clone();
            let app = http::metrics_router(handle.clone());
            aborts.push(tasks.spawn(async move {
                let _ = axum::serve(metrics_listener, app)
                    .with_graceful_shutdown(async move { metrics_shutdown.cancelled().await })
                    .await;
            }));
        }

        let parts = Parts {
            settings: settings.clone(),
            catalogue,
            store,
            clock,
            calendars,
            booking,
            idempotency,
            sync,
            flags,
            #[cfg(feature = "sim")]
            sim,
            metrics: handle,
        };
        aborts.extend(spawn_background(&parts, &tasks, &shutdown, died_tx).await?);
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
    pub async fn run_until_stopped(mut self) -> Result<(), String> {
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
            Some(name) => Err(format!("critical task stopped: {name}")),
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

/// Sweeper, flag refresh, gauges, and cross-node notices.
async fn spawn_background(
    parts: &Parts,
    tasks: &TaskTracker,
    shutdown: &CancellationToken,
    died: mpsc::Sender<&'static str>,
) -> Result<Vec<JoinHandle<()>>, StartupError> {
    let mut handles = Vec::new();
    let sweep_every = Duration::from_secs(parts.settings.holds.sweeper_interval_secs);
    let (store, calendars, clock, stop) =
        (parts.store.clone(), parts.calendars.clone(), parts.clock.clone(), shutdown.clone());
    let sync = parts.sync.clone();
    handles.push(tasks.spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = clock.sleep(sweep_every) => {}
            }
            sweep(&store, &calendars, &sync, &clock).await;
        }
    }));
    let (flags, stop) = (parts.flags.clone(), shutdown.clone());
    handles.push(tasks.spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(FLAG_REFRESH) => {}
            }
            if let Err(err) = flags.refresh().await {
                tracing::warn!(error = %err, "could not refresh feature flags");
            }
        }
    }));
    let (calendars, stop) = (parts.calendars.clone(), shutdown.clone());
    handles.push(tasks.spawn(async move {
        loop {
            // Set first, then wait: the gauges exist from the first scrape.
            metrics::calendar_actors(calendars.count());
            metrics::calendar_mailbox_depth(calendars.in_flight());
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(GAUGE_EVERY) => {}
            }
        }
    }));
    if let Some(mut notices) = parts.store.listen_calendar_notices().await? {
        let (calendars, stop) = (parts.calendars.clone(), shutdown.clone());
        handles.push(tasks.spawn(async move {
            // Notices come per changed row; a burst for one calendar becomes one reload. A notice
            // without a calendar (the listener reconnected) stands for every running one.
            let mut pending = std::collections::HashSet::new();
            let note =
                |pending: &mut std::collections::HashSet<_>, notice: crate::store::CalendarNotice| match notice.key {
                    Some(key) => {
                        pending.insert(key);
                    }
                    None => pending.extend(calendars.running()),
                };
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    notice = notices.recv() => match notice {
                        Some(notice) => {
                            note(&mut pending, notice);
                            let coalesce = tokio::time::sleep(NOTICE_COALESCE);
                            tokio::pin!(coalesce);
                            loop {
                                tokio::select! {
                                    _ = &mut coalesce => break,
                                    more = notices.recv() => match more {
                                        Some(more) => note(&mut pending, more),
                                        None => break,
                                    },
                                }
                            }
                            for key in pending.drain() {
                                calendars.tell(&key, CalendarMsg::Reload(None));
                            }
                        }
                        None => {
                            let _ = died.try_send("calendar notice listener");
                            return;
                        }
                    }
                }
            }
        }));
    }
    Ok(handles)
}

/// How often feature flags are re-read (changes made on another node reach this one).
const FLAG_REFRESH: Duration = Duration::from_secs(5);
const GAUGE_EVERY: Duration = Duration::from_secs(1);
/// Notices arriving within this window after the first are applied as one reload per calendar.
const NOTICE_COALESCE: Duration = Duration::from_millis(5);

/// One sweeper pass: expires holds past their TTL everywhere, tells running actors, and releases
/// the holds' Cal.com reservations (also for calendars this process does not run).
pub async fn sweep(store: &Store, calendars: &Calendars, sync: &SyncHandle, clock: &Clock) {
    match store.expire_due_holds(clock.now()).await {
        Ok(due) => {
            let mut by_calendar: std::collections::HashMap<_, Vec<_>> = std::collections::HashMap::new();
            for hold in due {
                if hold.kind == crate::store::ReservationKind::Hold {
                    metrics::reservation_expired(hold.is_compound);
                    by_calendar.entry(hold.key).or_default().push(hold.token);
                }
            }
            sync.release_mirrors(
                by_calendar.iter().flat_map(|(key, tokens)| tokens.iter().map(|t| (key.clone(), t.clone()))),
            );
            for (key, tokens) in by_calendar {
                calendars.tell(&key, CalendarMsg::Forget(tokens));
            }
        }
        Err(err) => tracing::warn!(error = %err, "sweeper could not expire holds"),
    }
    match store.count_active_holds().await {
        Ok(active) => metrics::reservations_active(active),
        Err(err) => tracing::debug!(error = %err, "could not count active holds"),
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
