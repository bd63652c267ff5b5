//! Cal.com-compatible HTTP simulator for tests, the demo and the load harness.
//!
//! Serves the v2 endpoints slotkeeper uses with Cal.com's paths, status codes, headers and JSON
//! shapes (bookings `2024-08-13`, slots and reservations `2024-09-04`), on real HTTP.
//!
//! Guarantees:
//! - every request without an injected fault gets a Cal.com-shaped answer; anything odd
//!   (unknown route, garbage JSON, wrong types, body over 64 KiB) is a 4xx in Cal.com's error
//!   shape, never a 5xx;
//! - bookings of a host never overlap and respect other parties' unexpired reservations
//!   (see `state.rs`); the calendar, stats and faults are shared by the API, the control
//!   endpoints (`/_sim/...`), the external web booker and [`SimHandle`];
//! - webhooks are signed and sent from a background task, never delaying an API answer;
//! - latencies and hangs use `tokio::time`; reservation expiry and timestamps use the wall clock.
//!
//! Owns: the simulated Cal.com (its calendar, rules, faults, stats, webhooks). Depends on
//! `calcom-api` for the wire types only; it may not depend on the service, so the service can be
//! built without it (`--no-default-features`) and the simulator can never read the service's
//! state to agree with it.

mod api;
mod booker;
mod catalog;
mod config;
mod error;
pub mod faults;
mod input;
mod limiter;
mod notify;
mod query;
mod routes;
mod rules;
mod schedule;
mod state;
pub mod stats;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{
    ExternalBooker, SimConfig, SimEventType, SimSchedule, SimWebhook, default_event_types, default_retry_backoff_ms,
};
pub use faults::{ANY_ENDPOINT, FaultSpec, Faults, Latency, ScriptedOutcome, ScriptedStep};
pub use stats::{EndpointStats, SimStats};

use calcom_api::types::Booking;
use calcom_api::webhook::TriggerEvent;
use faults::FaultState;
use limiter::SimLimiter;
use notify::{Notifier, booking_event};
use schedule::Schedule;
use state::{CalError, Calendar, NewAttendee, NewBooking};
use stats::Stats;

/// How long [`SimHandle::shutdown`] lets open requests finish before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// Furthest the simulator's clock can be moved ahead (100 years).
pub const MAX_CLOCK_OFFSET: Duration = Duration::from_secs(100 * 366 * 24 * 3600);

/// State shared by the HTTP handlers, the background tasks and the handle.
pub(crate) struct SimInner {
    cal: Mutex<Calendar>,
    pub(crate) stats: Arc<Stats>,
    faults: Mutex<FaultState>,
    limiter: Mutex<SimLimiter>,
    api_keys: HashSet<String>,
    notifier: Option<Notifier>,
    external_seq: std::sync::atomic::AtomicU64,
    /// Milliseconds added to the wall clock ([`SimHandle::advance_clock`]).
    clock_offset_ms: std::sync::atomic::AtomicI64,
    /// What `GET /v2/webhooks` lists.
    pub(crate) webhooks: Vec<calcom_api::types::Webhook>,
    /// The last request bodies received, by endpoint label ([`SimHandle::received`]).
    received: Mutex<std::collections::VecDeque<(&'static str, serde_json::Value)>>,
}

/// Request bodies the simulator keeps for [`SimHandle::received`].
const RECEIVED_KEPT: usize = 1_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves the data consistent; a poisoned lock is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SimInner {
    /// The simulator's wall clock: real time plus the offset set by `advance_clock`.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let offset = self.clock_offset_ms.load(Ordering::Relaxed);
        let real = Utc::now();
        real.checked_add_signed(chrono::Duration::milliseconds(offset)).unwrap_or(real)
    }

    /// Moves the clock forward; the total offset is capped at [`MAX_CLOCK_OFFSET`].
    pub(crate) fn advance_clock(&self, by: Duration) {
        let cap = i64::try_from(MAX_CLOCK_OFFSET.as_millis()).unwrap_or(i64::MAX);
        let ms = i64::try_from(by.as_millis()).unwrap_or(cap).min(cap);
        let update = |old: i64| Some(old.saturating_add(ms).min(cap));
        let _ = self.clock_offset_ms.fetch_update(Ordering::Relaxed, Ordering::Relaxed, update);
    }

    /// Keeps a request body as it arrived (before any rule looked at it).
    pub(crate) fn record(
        &self,
        endpoint: calcom_api::types::Endpoint,
        body: &serde_json::Map<String, serde_json::Value>,
    ) {
        let mut received = lock(&self.received);
        if received.len() == RECEIVED_KEPT {
            received.pop_front();
        }
        received.push_back((endpoint.label(), serde_json::Value::Object(body.clone())));
    }

    pub(crate) fn cal(&self) -> MutexGuard<'_, Calendar> {
        lock(&self.cal)
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultState> {
        lock(&self.faults)
    }

    pub(crate) fn limiter(&self) -> MutexGuard<'_, SimLimiter> {
        lock(&self.limiter)
    }

    /// Is this Bearer key accepted?
    pub(crate) fn key_accepted(&self, key: &str) -> bool {
        if self.api_keys.is_empty() { key.starts_with("cal_") && key.len() > 4 } else { self.api_keys.contains(key) }
    }

    fn notify(&self, trigger: TriggerEvent, b: &Booking, original: Option<&Booking>) {
        if let Some(n) = &self.notifier {
            n.send(booking_event(trigger, b, original, self.now()));
        }
    }

    pub(crate) fn create_booking(&self, nb: NewBooking, external: bool) -> Result<Booking, CalError> {
        let res = self.cal().create_booking(nb, self.now());
        match &res {
            Ok(b) => {
                self.stats.bump(|s| {
                    s.bookings_created += 1;
                    s.external_bookings += u64::from(external);
                });
                self.notify(TriggerEvent::BookingCreated, b, None);
            }
            Err(CalError::SlotTaken(_)) if external => self.stats.bump(|s| s.external_booking_conflicts += 1),
            Err(_) => {}
        }
        res
    }

    pub(crate) fn cancel_booking(&self, uid: &str, reason: Option<String>) -> Result<Booking, CalError> {
        let b = self.cal().cancel(uid, reason, self.now())?;
        self.stats.bump(|s| s.bookings_cancelled += 1);
        self.notify(TriggerEvent::BookingCancelled, &b, None);
        Ok(b)
    }

    pub(crate) fn reschedule_booking(
        &self,
        uid: &str,
        start: DateTime<Utc>,
        reason: Option<String>,
        by: Option<String>,
    ) -> Result<Booking, CalError> {
        let (new, old) = self.cal().reschedule(uid, start, reason, by, self.now())?;
        self.stats.bump(|s| s.bookings_rescheduled += 1);
        self.notify(TriggerEvent::BookingRescheduled, &new, Some(&old));
        Ok(new)
    }

    pub(crate) fn book_external(&self, event_type_id: i64, start: DateTime<Utc>) -> Result<Booking, CalError> {
        let n = self.external_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let tz = self.cal().schedule.tz.name().to_owned();
        let nb = NewBooking {
            event_type_id,
            start,
            attendee: NewAttendee {
                name: format!("Web Booker {n}"),
                email: Some(format!("web-booker-{n}@example.com")),
                time_zone: tz,
                phone: None,
                language: Some("de".to_owned()),
            },
            metadata: [("source".to_owned(), "external-web-booker".to_owned())].into(),
            ..NewBooking::default()
        };
        self.create_booking(nb, true)
    }

    pub(crate) fn snapshot_stats(&self) -> SimStats {
        let now = self.now();
        let (active, holds) = {
            let cal = self.cal();
            (cal.bookings().iter().filter(|b| b.status.is_active()).count(), cal.active_reservations(now))
        };
        let mut s = self.stats.snapshot();
        s.active_bookings = active as u64;
        s.active_reservations = holds as u64;
        s
    }
}

pub struct CalcomSim;

impl CalcomSim {
    /// Binds `addr` (use `127.0.0.1:0` in tests) and serves until [`SimHandle::shutdown`].
    pub async fn start(addr: SocketAddr, cfg: SimConfig) -> std::io::Result<SimHandle> {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        cfg.validate().map_err(invalid)?;
        let schedule = Schedule::parse(&cfg.schedule).map_err(invalid)?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let stats = Arc::new(Stats::default());
        let mut tasks = Vec::new();
        let notifier = match cfg.webhook.clone() {
            Some(w) => {
                let (n, task) = Notifier::start(w, cfg.webhook_retry_backoff_ms.clone(), Arc::clone(&stats))?;
                tasks.push(task);
                Some(n)
            }
            None => None,
        };
        let inner = Arc::new(SimInner {
            cal: Mutex::new(Calendar::new(&cfg.event_types, schedule, cfg.schedule.enforce)),
            stats,
            faults: Mutex::new(FaultState::new(cfg.faults.clone())),
            limiter: Mutex::new(SimLimiter::new(cfg.rate_limit_per_minute)),
            api_keys: cfg.api_keys.iter().cloned().collect(),
            notifier,
            external_seq: std::sync::atomic::AtomicU64::new(0),
            clock_offset_ms: std::sync::atomic::AtomicI64::new(0),
            webhooks: catalog::listed_webhooks(&cfg),
            received: Mutex::new(std::collections::VecDeque::new()),
        });
        let app = routes::router(Arc::clone(&inner));
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let stop = async {
                let _ = stop_rx.await;
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
                tracing::error!(error = %e, "calcom sim server stopped");
            }
        });
        if let Some(b) = cfg.external_booker.clone() {
            tasks.push(tokio::spawn(booker::run(Arc::clone(&inner), b)));
        }
        tracing::info!(addr = %local_addr, "calcom sim listening");
        Ok(SimHandle { inner, local_addr, stop: Some(stop_tx), server: Some(server), tasks })
    }
}

/// Control of a running simulator; dropping it aborts the server.
pub struct SimHandle {
    inner: Arc<SimInner>,
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT` (no `/v2`): the client's `base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Replaces the faults (and scripted queues). Use [`Faults::validate`] first for a
    /// readable error; rates outside 0..=1 behave as clamped.
    pub fn set_faults(&self, f: Faults) {
        *self.inner.faults() = FaultState::new(f);
    }

    /// The faults with the scripted steps not yet consumed.
    pub fn faults(&self) -> Faults {
        self.inner.faults().current()
    }

    /// Moves the simulator's wall clock forward (reservation expiry, `createdAt`, "upcoming"
    /// and "past", free slots), e.g. to let a 5-minute hold expire in a test.
    pub fn advance_clock(&self, by: Duration) {
        self.inner.advance_clock(by);
    }

    /// The simulator's wall clock (real time plus [`Self::advance_clock`]).
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.now()
    }

    pub fn stats(&self) -> SimStats {
        self.inner.snapshot_stats()
    }

    /// The bodies the simulator received at an endpoint (label, e.g. `bookings.create`), oldest
    /// first, exactly as sent: tests assert what the client put on the wire.
    pub fn received(&self, endpoint: &str) -> Vec<serde_json::Value> {
        lock(&self.inner.received).iter().filter(|(e, _)| *e == endpoint).map(|(_, b)| b.clone()).collect()
    }

    pub fn reset_stats(&self) {
        self.inner.stats.reset();
    }

    /// Every booking ever made (cancelled ones included), in creation order.
    pub fn bookings(&self) -> Vec<Booking> {
        self.inner.cal().bookings().to_vec()
    }

    /// An "external web booker" booking right now: respects overlaps and reservations and
    /// sends the webhook.
    pub fn book_external(&self, event_type_id: i64, start: DateTime<Utc>) -> Result<Booking, String> {
        self.inner.book_external(event_type_id, start).map_err(|e| match e {
            CalError::BadRequest(m) | CalError::NotFound(m) | CalError::SlotTaken(m) | CalError::Unprocessable(m) => m,
        })
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut server) = self.server.take() {
            let finished = tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await;
            if finished.is_err() {
                server.abort();
            }
        }
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.abort();
        }
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Runs a simulator until Ctrl-C or SIGTERM (`slotkeeper calcom-sim --addr 127.0.0.1:PORT`).
pub async fn serve(addr: SocketAddr, cfg: SimConfig) -> std::io::Result<()> {
    let handle = CalcomSim::start(addr, cfg).await?;
    tracing::info!(base_url = %handle.base_url(), "calcom sim ready");
    shutdown_signal().await;
    handle.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
