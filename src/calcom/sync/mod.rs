//! Keeping Cal.com, the salon's calendar of record, in step with our bookings.
//!
//! ```text
//!  start_booking ──(hold → booking + outbox row, one transaction)──► after_booking: claim & dispatch,
//!                                                                   wait ≤ budget for the outcome
//!  outbox poller (every poll interval): claim due jobs (retries, other nodes', after a crash) ─┐
//!  calendar events (holds created/ended) ──► hold mirror tasks ───────────────────────────────┤
//!                                                                                              ▼
//!                                       sync pool (ractor factory, sticky per appointment/hold)
//!                                              │ circuit breaker per tenant, rate limiter per key
//!                                              ▼
//!                                          Cal.com v2
//! ```
//!
//! Invariants kept here: BK-5 (each confirmed booking exists exactly once at Cal.com, eventually:
//! the outbox survives crashes, jobs are leased and fenced, re-sends look for the earlier booking
//! first) and invariant 5 (a compound booking is all or nothing: refused phases lead to
//! compensation). Caller-facing latency is bounded by the booking budget; past it the outbox
//! finishes the work while the slot stays held on both sides.

mod engine;
mod error;
mod jobs;
mod mirror;
mod pool;
mod request;
mod slots;
mod warm;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Duration as TimeDelta;
use dashmap::DashMap;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::calcom::CalcomClient;
use crate::calcom::circuit::{CircuitBreakers, CircuitConfig, CircuitState};
use crate::calcom::ratelimit::{RateLimitConfig, RateLimiter};
use crate::calcom::webhook::WebhookEvent;
use crate::calendar::{Booked, CalendarEvent, Calendars, HoldEnd};
use crate::clock::Clock;
use crate::config::CalcomSettings;
use crate::domain::{Catalogue, ReservationToken, StaffKey, Tenant, TenantId};
use crate::flags::Flags;
use crate::metrics;
use crate::store::SyncState;
use crate::store::{OutboxSummary, Store};
use engine::{BreakerClock, Engine};
pub use error::SyncError;
use pool::Pool;
pub use warm::{Applied, WarmReport, warm_store};

/// Hold events buffered for the mirror before new ones are dropped (mirroring is best effort).
pub const EVENT_QUEUE: usize = 10_000;

pub use crate::booking::SyncOutcome;

pub struct SyncDeps {
    pub client: CalcomClient,
    pub store: Store,
    pub clock: Clock,
    pub catalogue: Arc<Catalogue>,
    pub calendars: Calendars,
    pub flags: Flags,
    pub settings: CalcomSettings,
    pub node_id: String,
    /// The Cal.com event types learned so far (start-up fills it when Cal.com is reachable).
    pub event_types: Arc<crate::calcom::EventTypes>,
}

#[derive(Clone)]
pub struct SyncHandle {
    engine: Arc<Engine>,
    pool: Pool,
}

impl SyncHandle {
    /// Starts the pool, the outbox poller, the hold mirror and (if enabled) the hourly pre-warm.
    pub async fn start(
        deps: SyncDeps,
        mut events: mpsc::Receiver<CalendarEvent>,
        tasks: &TaskTracker,
        shutdown: CancellationToken,
        died: mpsc::Sender<&'static str>,
    ) -> Result<Self, SyncError> {
        let s = &deps.settings;
        let limiter = RateLimiter::new(RateLimitConfig {
            mirror_reserve: f64::from(s.mirror_reserve_percent) / 100.0,
            ..RateLimitConfig::within_window(s.rate_limit_per_minute)
        });
        let circuits = CircuitBreakers::new(CircuitConfig {
            failure_threshold: s.circuit.failure_threshold,
            window: Duration::from_secs(s.circuit.window_secs),
            cooldown: Duration::from_secs(s.circuit.cooldown_secs),
            success_threshold: s.circuit.success_threshold,
            ..CircuitConfig::default()
        });
        let workers = s.outbox.workers;
        let breaker_clock = BreakerClock::new(&deps.clock);
        let engine = Arc::new(Engine {
            breaker_clock,
            stopping: std::sync::atomic::AtomicBool::new(false),
            client: deps.client,
            store: deps.store,
            clock: deps.clock,
            catalogue: deps.catalogue,
            calendars: deps.calendars,
            flags: deps.flags,
            settings: deps.settings,
            node_id: deps.node_id,
            event_types: deps.event_types,
            limiter,
            circuits,
            local_jobs: dashmap::DashSet::new(),
            waiters: DashMap::new(),
            kick: Notify::new(),
            summary: Mutex::new(OutboxSummary::default()),
            mirroring: DashMap::new(),
        });
        for tenant in engine.catalogue.tenants() {
            metrics::calcom_circuit_state(tenant.id.as_str(), CircuitState::Closed.code());
        }
        let pool = Pool::start(engine.clone(), workers).await?;
        let handle = SyncHandle { engine: engine.clone(), pool: pool.clone() };

        let poller = handle.clone();
        let stop = shutdown.clone();
        tasks.spawn(async move {
            poller.poll_outbox(stop.clone()).await;
            if !stop.is_cancelled() {
                let _ = died.try_send("outbox poller");
            }
        });
        let mirror = handle.clone();
        let stop = shutdown.clone();
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    event = events.recv() => match event {
                        Some(event) => mirror.on_calendar_event(event),
                        None => return,
                    }
                }
            }
        });
        if engine.settings.warm.enabled {
            let (engine, stop) = (engine.clone(), shutdown.clone());
            tasks.spawn(warm::warm_loop(engine, stop));
        }
        Ok(handle)
    }

    fn on_calendar_event(&self, event: CalendarEvent) {
        if !self.engine.settings.mirror_holds {
            return;
        }
        match event {
            CalendarEvent::HoldCreated { key, token, service, start, expires_at } => {
                mirror::begin(&self.engine, &token);
                let job = pool::mirror_key(&token);
                self.pool.mirror(job, mirror::MirrorTask::Reserve { key, token, service, start, expires_at });
            }
            CalendarEvent::HoldEnded { reason: HoldEnd::Converted, .. } => {}
            CalendarEvent::HoldEnded { key, token, .. } => {
                let job = pool::mirror_key(&token);
                self.pool.mirror(job, mirror::MirrorTask::Release { key, token });
            }
        }
    }

    async fn poll_outbox(&self, stop: CancellationToken) {
        let engine = &self.engine;
        let every = Duration::from_millis(engine.settings.outbox.poll_interval_ms.max(10));
        // At most this many claimed jobs of ours at once: every worker busy, one more each waiting.
        let capacity = engine.settings.outbox.workers.max(1) * 2;
        let mut last_redrive = engine.clock.now();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = engine.kick.notified() => {}
                _ = tokio::time::sleep(every) => {}
            }
            let now = engine.clock.now();
            let room = capacity.saturating_sub(engine.local_jobs.len());
            if room > 0 {
                match engine.store.claim_due_jobs(&engine.node_id, now, now + engine.lease(), room as i64).await {
                    Ok(jobs) => jobs.into_iter().for_each(|job| self.dispatch(job)),
                    Err(err) => tracing::warn!(error = %err, "could not read the outbox"),
                }
            }
            let redrive_every = engine.settings.auto_redrive_secs;
            if redrive_every > 0 && now - last_redrive >= TimeDelta::seconds(redrive_every as i64) {
                last_redrive = now;
                let parked_before = now - TimeDelta::seconds(redrive_every as i64);
                match engine.store.redrive_jobs(None, None, parked_before, now).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(jobs = n, "dead letters queued again"),
                    Err(err) => tracing::warn!(error = %err, "could not re-drive dead letters"),
                }
            }
            if let Ok(summary) = engine.store.outbox_summary().await {
                metrics::calcom_outbox(summary.pending + summary.in_flight, summary.dead);
                *engine.summary.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = summary;
            }
            for tenant in engine.catalogue.tenants() {
                metrics::calcom_circuit_state(
                    tenant.id.as_str(),
                    engine.circuits.state(tenant.id.as_str(), engine.breaker_now()).code(),
                );
            }
        }
    }

    /// Hands a claimed job to the pool, unless this process already has it queued or running (its
    /// lease ran out while it waited and the claim renewed it: the queued copy runs once).
    fn dispatch(&self, job: crate::store::OutboxJob) {
        if self.engine.local_jobs.insert(job.id) {
            self.pool.outbox(job);
        }
    }

    /// Sends a just-made booking to Cal.com and waits up to `budget` for the outcome.
    pub async fn after_booking(&self, tenant: &Tenant, booked: &Booked, budget: Duration) -> SyncOutcome {
        let engine = &self.engine;
        let (sender, mut receiver) = watch::channel(None);
        engine.waiters.insert(booked.outbox_job, sender);
        let now = engine.clock.now();
        let mut elsewhere = false;
        match engine.store.claim_job(booked.outbox_job, &engine.node_id, now, now + engine.lease()).await {
            Ok(Some(job)) => self.dispatch(job),
            // Another node's poller claimed it first (or this node's, then it tells us here).
            Ok(None) => elsewhere = !engine.local_jobs.contains(&booked.outbox_job),
            Err(err) => {
                tracing::warn!(tenant = %tenant.id, error = %err, "could not claim the booking's outbox job; the poller will");
                elsewhere = true;
            }
        }
        let local = async { receiver.wait_for(Option::is_some).await.ok().and_then(|v| *v) };
        let outcome = tokio::time::timeout(budget, async {
            if !elsewhere {
                return local.await;
            }
            // The node that runs the job signals its end (`job:<id>`, LISTEN/NOTIFY); the
            // appointment's sync state tells how it ended, also when the signal is lost.
            let deadline = tokio::time::Instant::now() + budget;
            let topic = format!("job:{}", booked.outbox_job);
            let remote = engine.store.wait_for(&topic, REMOTE_POLL, deadline, || settled(engine, booked));
            tokio::select! {
                outcome = local => outcome,
                outcome = remote => outcome,
            }
        })
        .await;
        match outcome {
            Ok(Some(value)) => value,
            _ => {
                engine.waiters.remove(&booked.outbox_job);
                tracing::info!(appointment = %booked.appointment_id, budget_ms = budget.as_millis() as u64, "cal.com not done within the budget; the outbox finishes it");
                SyncOutcome::Pending
            }
        }
    }

    /// This node's slice of each Cal.com key's request budget when `nodes` live nodes share it.
    pub fn share_budget(&self, nodes: u32) {
        self.engine.limiter.share_among(nodes);
    }

    /// Is the tenant's Cal.com circuit open (callers get "try again" instead of waiting)?
    pub fn circuit_open(&self, tenant: &TenantId) -> bool {
        self.engine.circuits.state(tenant.as_str(), self.engine.breaker_now()) == CircuitState::Open
    }

    /// Per-tenant circuit states for `/health/ready`.
    pub fn circuit_states(&self) -> serde_json::Value {
        let now = self.engine.breaker_now();
        let states =
            self.engine.catalogue.tenants().iter().map(|t| {
                (t.id.to_string(), serde_json::json!(self.engine.circuits.state(t.id.as_str(), now).as_str()))
            });
        serde_json::Value::Object(states.collect())
    }

    pub fn last_outbox_summary(&self) -> OutboxSummary {
        *self.engine.summary.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Deletes the Cal.com reservations of holds that ended without a calendar actor of this
    /// process noticing (expired while the process was down, or swept for a calendar it does not
    /// run): otherwise they would block the slot at Cal.com until they run out by themselves.
    pub fn release_mirrors(&self, holds: impl IntoIterator<Item = (StaffKey, ReservationToken)>) {
        if !self.engine.settings.mirror_holds {
            return;
        }
        for (key, token) in holds {
            self.pool.mirror(pool::mirror_key(&token), mirror::MirrorTask::Release { key, token });
        }
    }

    /// Wakes the outbox poller (a job was just written).
    pub fn kick(&self) {
        self.engine.kick.notify_one();
    }

    /// Applies a verified Cal.com webhook to the calendars.
    pub async fn apply_webhook(&self, tenant: &Tenant, event: &WebhookEvent) -> Result<Applied, SyncError> {
        warm::apply_webhook(&self.engine, tenant, event).await
    }

    /// Loads Cal.com busy times for every tenant now (the hourly pre-warm, on demand).
    pub async fn warm_now(&self) -> WarmReport {
        warm::warm_all(&self.engine).await
    }

    /// Lets queued bookings and cancellations finish (bounded), drops queued hold mirrors (best
    /// effort; Cal.com ends each reservation by itself), then stops the pool.
    pub async fn shutdown(&self, grace: Duration) {
        self.engine.stopping.store(true, std::sync::atomic::Ordering::Relaxed);
        self.pool.drain(grace).await;
    }

    /// Stops the pool at once (crash simulation).
    pub fn abort(&self) {
        self.pool.kill();
    }
}

/// Booking sees the sync engine only through this port (`booking::port`).
impl crate::booking::CalendarSync for SyncHandle {
    fn circuit_open(&self, tenant: &TenantId) -> bool {
        SyncHandle::circuit_open(self, tenant)
    }

    fn after_booking<'a>(
        &'a self,
        tenant: &'a Tenant,
        booked: &'a Booked,
        budget: Duration,
    ) -> futures::future::BoxFuture<'a, SyncOutcome> {
        Box::pin(SyncHandle::after_booking(self, tenant, booked, budget))
    }

    fn recheck<'a>(
        &'a self,
        tenant: &'a Tenant,
        reservation: &'a crate::store::Reservation,
        limit: Duration,
    ) -> futures::future::BoxFuture<'a, crate::calendar::Recheck> {
        Box::pin(slots::recheck_hold(&self.engine, tenant, reservation, limit))
    }

    fn kick(&self) {
        SyncHandle::kick(self)
    }
}

/// How often a caller whose booking another node syncs looks at it, when no signal came.
const REMOTE_POLL: Duration = Duration::from_millis(200);

/// How the booking's create job ended, once it has: from the appointment's sync state.
async fn settled(engine: &Engine, booked: &Booked) -> Option<SyncOutcome> {
    let appointment = engine.store.get_appointment(&booked.appointment_id).await.ok().flatten()?;
    match appointment.sync_state {
        SyncState::Synced => Some(SyncOutcome::Synced),
        SyncState::Failed | SyncState::Compensated => Some(SyncOutcome::Failed),
        SyncState::Pending => None,
    }
}
