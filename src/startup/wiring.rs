//! The steps of [`Application::build`](super::Application::build), each a small function: the
//! store (with the holds that expired while the process was down), the Cal.com target (or the
//! in-process simulator), the calendars, the public router, and every part's background tasks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Parts, StartupError};
use crate::calcom::{CalcomClient, ClientConfig};
use crate::calendar::{CalendarContext, CalendarEvent, Calendars, Sweeper};
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::{Catalogue, ReservationToken, StaffKey};
use crate::store::{Store, StoreOptions};
use crate::{http, metrics};
#[cfg(feature = "sim")]
use calcom_sim::{CalcomSim, SimHandle};

/// This process's name: `node.id`, or a random one per start.
pub(super) fn node_id(settings: &Settings) -> String {
    if settings.node.id.is_empty() {
        format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
    } else {
        settings.node.id.clone()
    }
}

pub(super) async fn bind(addr: SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr).await.map_err(|source| StartupError::Bind { addr, source })
}

/// Connects and migrates the store, seeds the catalogue, and expires the holds that ran out
/// while the process was down (returned: their Cal.com mirrors are to be released).
pub(super) async fn open_store(
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
    // Other nodes' "answer stored" / "job done" signals reach this node's waiters.
    store.listen_signals().await?;
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
pub(super) struct CalcomTarget {
    pub(super) client: CalcomClient,
    #[cfg(feature = "sim")]
    pub(super) sim: Option<Arc<SimHandle>>,
}

impl CalcomTarget {
    #[cfg_attr(not(feature = "sim"), allow(unused_variables))]
    pub(super) async fn start(
        settings: &Settings,
        catalogue: &Catalogue,
        addr: SocketAddr,
    ) -> Result<Self, StartupError> {
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

/// Reads every configured event type from Cal.com; a phase its event type cannot book stops the
/// start ([`crate::calcom::event_types::verify_at_start`]; Cal.com out of reach only warns).
pub(super) async fn verify_event_types(
    client: &CalcomClient,
    catalogue: &Catalogue,
    cache: &crate::calcom::EventTypes,
) -> Result<(), StartupError> {
    crate::calcom::event_types::verify_at_start(client, catalogue.tenants(), cache).await.map_err(|problems| {
        StartupError::Config(crate::config::ConfigError::invalid(
            "tenants[].services[].calcom_event_types",
            format!("Cal.com event types do not fit the configured phases:\n  {}", problems.join("\n  ")),
        ))
    })
}

/// The calendar supervisor, with the calendars that hold something started at once so their
/// timers run (holds that expired while the process was down were already marked expired).
pub(super) async fn start_calendars(
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
pub(super) fn public_router(parts: &Parts, with_metrics: bool) -> Result<axum::Router, StartupError> {
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
pub(super) async fn spawn_background(
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

/// `/metrics` on its own (internal) address; the bound address.
pub(super) async fn serve_metrics(
    addr: SocketAddr,
    parts: &Parts,
    tasks: &TaskTracker,
    shutdown: &CancellationToken,
    aborts: &mut Vec<JoinHandle<()>>,
) -> Result<SocketAddr, StartupError> {
    let listener = bind(addr).await?;
    let bound = listener.local_addr().map_err(|e| StartupError::Other(e.to_string()))?;
    aborts.push(http::spawn_server(
        listener,
        http::metrics_router(parts.metrics.clone()),
        tasks,
        shutdown.clone(),
        None,
    ));
    Ok(bound)
}
