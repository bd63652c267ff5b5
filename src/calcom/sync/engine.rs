//! What every sync worker shares: the Cal.com client behind the per-tenant circuit breaker and the
//! per-key rate limiter, the store, and the channels that tell waiting callers how a job ended.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Duration as TimeDelta;
use dashmap::DashMap;
use tokio::sync::{Notify, watch};

use super::SyncOutcome;
use crate::calcom::circuit::{Admission, CircuitBreakers};
use crate::calcom::ratelimit::{Grant, Priority, RateLimitError, RateLimiter};
use crate::calcom::{CalcomClient, CalcomError};
use crate::calendar::Calendars;
use crate::clock::Clock;
use crate::config::CalcomSettings;
use crate::domain::{Catalogue, Tenant};
use crate::flags::Flags;
use crate::store::{OutboxSummary, Store};

/// Why a Cal.com request was not answered by Cal.com.
#[derive(Debug, Clone)]
pub(super) enum CallError {
    Calcom(CalcomError),
    /// The tenant's breaker is open: not sent; try again after this long.
    CircuitOpen(Duration),
    /// No request budget within the limiter's maximum wait: not sent.
    Budget(Duration),
    /// A best-effort (mirror) request was skipped because the budget is short.
    Skipped,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Calcom(e) => write!(f, "{e}"),
            CallError::CircuitOpen(d) => write!(f, "circuit open, retry in {d:?}"),
            CallError::Budget(d) => write!(f, "rate limit budget exhausted, retry in {d:?}"),
            CallError::Skipped => f.write_str("skipped: request budget reserved for bookings"),
        }
    }
}

pub(super) struct Engine {
    pub client: CalcomClient,
    pub store: Store,
    pub clock: Clock,
    pub catalogue: Arc<Catalogue>,
    pub calendars: Calendars,
    pub flags: Flags,
    pub settings: CalcomSettings,
    /// Lease owner name for outbox jobs claimed by this node.
    pub node_id: String,
    /// Cal.com's event types as learned (booking requests are built from these).
    pub event_types: Arc<crate::calcom::EventTypes>,
    pub limiter: RateLimiter,
    pub circuits: CircuitBreakers,
    /// Outbox jobs this process claimed and has not finished (queued in the pool or running). The
    /// poller claims only what the workers can start soon, so no claimed job waits in a queue
    /// until its lease runs out (and is claimed again, here or elsewhere, while it still waits).
    pub local_jobs: dashmap::DashSet<i64>,
    /// Callers waiting for an outbox job (by job id).
    pub waiters: DashMap<i64, watch::Sender<Option<SyncOutcome>>>,
    /// Wakes the outbox poller early (a new job was written).
    pub kick: Notify,
    pub summary: Mutex<OutboxSummary>,
    pub breaker_clock: BreakerClock,
    /// Set at shutdown: queued best-effort mirrors are dropped instead of delaying the exit.
    pub stopping: std::sync::atomic::AtomicBool,
    /// Holds whose Cal.com mirror is being made (a booking of one waits for it to settle).
    pub mirroring: DashMap<crate::domain::ReservationToken, Arc<super::mirror::Mirroring>>,
}

/// Maps the service clock onto the monotonic instants the circuit breaker counts in, so a test's
/// manual (or paused) clock drives cool-downs too. In production the clock is the system clock
/// and this is "now"; a wall-clock step backwards never moves the breaker back.
pub(super) struct BreakerClock {
    base_instant: std::time::Instant,
    base_wall: chrono::DateTime<chrono::Utc>,
}

impl BreakerClock {
    pub fn new(clock: &Clock) -> Self {
        Self { base_instant: std::time::Instant::now(), base_wall: clock.now() }
    }

    pub fn now(&self, clock: &Clock) -> std::time::Instant {
        let elapsed = (clock.now() - self.base_wall).to_std().unwrap_or_default();
        self.base_instant + elapsed
    }
}

impl Engine {
    /// "Now" for the circuit breaker.
    pub fn breaker_now(&self) -> std::time::Instant {
        self.breaker_clock.now(&self.clock)
    }

    pub fn api_key<'a>(&self, tenant: &'a Tenant) -> &'a str {
        tenant.calcom.api_key.expose()
    }

    pub fn lease(&self) -> TimeDelta {
        TimeDelta::seconds(self.settings.outbox.lease_secs as i64)
    }

    /// One Cal.com request for `tenant`: admitted by the breaker, paced by the limiter, and its
    /// outcome reported back to both.
    pub async fn call<T, F, Fut>(&self, tenant: &Tenant, priority: Priority, request: F) -> Result<T, CallError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, CalcomError>>,
    {
        let tenant_id = tenant.id.as_str();
        let permit = match self.circuits.allow(tenant_id, self.breaker_now()) {
            Admission::Permit(permit) => permit,
            Admission::Rejected { retry_in } => {
                if priority == Priority::Mirror {
                    crate::metrics::calcom_mirror_skipped("circuit_open");
                }
                return Err(CallError::CircuitOpen(retry_in));
            }
        };
        let key = self.api_key(tenant);
        match self.limiter.acquire(key, priority).await {
            Ok(Grant::Acquired) => {}
            Ok(Grant::Skipped) => {
                self.circuits.on_neutral(tenant_id, self.breaker_now(), permit);
                return Err(CallError::Skipped);
            }
            Err(RateLimitError::WouldWaitTooLong { retry_in }) => {
                self.circuits.on_neutral(tenant_id, self.breaker_now(), permit);
                return Err(CallError::Budget(retry_in));
            }
        }
        let result = request().await;
        self.circuits.record(tenant_id, self.breaker_now(), permit, &result);
        if let Err(CalcomError::RateLimited { retry_after }) = &result {
            self.limiter.on_rate_limited(key, *retry_after);
        }
        result.map_err(CallError::Calcom)
    }

    /// Tells whoever waits for `job_id` how it ended.
    pub fn notify(&self, job_id: i64, outcome: SyncOutcome) {
        if let Some((_, sender)) = self.waiters.remove(&job_id) {
            let _ = sender.send(Some(outcome));
        }
    }
}
