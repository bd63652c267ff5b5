//! Counters of the Cal.com simulator, readable in-process ([`super::SimHandle::stats`]) and over
//! HTTP (`GET /_sim/stats`).
//!
//! Guarantees:
//! - a request is counted when it enters (`requests`, `in_flight`, `max_in_flight`) and its
//!   outcome when it leaves: the HTTP status, `reset` for an aborted connection, or `dropped`
//!   when the client went away before the answer (the in-flight count always goes back down);
//! - `max_in_flight` is the highest number of requests of that endpoint inside the simulator at
//!   the same time, latency and hangs included;
//! - resetting (`SimHandle::reset_stats`) zeroes every counter but keeps requests still in flight in flight.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointStats {
    pub requests: u64,
    /// Outcome → count: `"201"`, `"400"`, …, `"reset"`, `"dropped"`.
    pub by_status: BTreeMap<String, u64>,
    pub in_flight: u64,
    pub max_in_flight: u64,
}

impl EndpointStats {
    pub fn status(&self, outcome: &str) -> u64 {
        self.by_status.get(outcome).copied().unwrap_or(0)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimStats {
    /// Per endpoint label (`bookings.create`, …; `other` for unknown routes).
    pub endpoints: BTreeMap<String, EndpointStats>,
    pub bookings_created: u64,
    pub bookings_cancelled: u64,
    pub bookings_rescheduled: u64,
    /// Bookings made by the external web booker or `book_external` (also in `bookings_created`).
    pub external_bookings: u64,
    /// External booking attempts that found the slot taken.
    pub external_booking_conflicts: u64,
    pub reservations_created: u64,
    pub reservations_deleted: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// Requests that got an injected fault (scripted or random).
    pub faults_injected: u64,
    pub webhooks_delivered: u64,
    pub webhook_attempts_failed: u64,
    /// Webhooks given up after the last retry.
    pub webhooks_dropped: u64,
    /// Accepted or pending bookings right now.
    pub active_bookings: u64,
    /// Unexpired reservations right now.
    pub active_reservations: u64,
}

impl SimStats {
    /// Stats of one endpoint (zeroes when it was never called).
    pub fn endpoint(&self, label: &str) -> EndpointStats {
        self.endpoints.get(label).cloned().unwrap_or_default()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    inner: Mutex<SimStats>,
}

impl Stats {
    pub fn lock(&self) -> MutexGuard<'_, SimStats> {
        // Counters stay meaningful even if a holder panicked.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn bump(&self, f: impl FnOnce(&mut SimStats)) {
        f(&mut self.lock());
    }

    pub fn snapshot(&self) -> SimStats {
        self.lock().clone()
    }

    pub fn reset(&self) {
        let mut s = self.lock();
        let endpoints = s
            .endpoints
            .iter()
            .filter(|(_, e)| e.in_flight > 0)
            .map(|(k, e)| {
                let kept =
                    EndpointStats { in_flight: e.in_flight, max_in_flight: e.in_flight, ..EndpointStats::default() };
                (k.clone(), kept)
            })
            .collect();
        *s = SimStats { endpoints, ..SimStats::default() };
    }

    /// Counts a request entering; the guard records its outcome when dropped.
    pub fn begin(self: &Arc<Self>, label: &'static str) -> InFlight {
        {
            let mut s = self.lock();
            let e = s.endpoints.entry(label.to_owned()).or_default();
            e.requests += 1;
            e.in_flight += 1;
            e.max_in_flight = e.max_in_flight.max(e.in_flight);
        }
        InFlight { stats: Arc::clone(self), label, outcome: None }
    }
}

/// One request inside the simulator.
pub(crate) struct InFlight {
    stats: Arc<Stats>,
    label: &'static str,
    outcome: Option<String>,
}

impl InFlight {
    pub fn finish(mut self, outcome: String) {
        self.outcome = Some(outcome);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let outcome = self.outcome.take().unwrap_or_else(|| "dropped".to_owned());
        let mut s = self.stats.lock();
        let e = s.endpoints.entry(self.label.to_owned()).or_default();
        e.in_flight = e.in_flight.saturating_sub(1);
        *e.by_status.entry(outcome).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_in_flight_and_outcomes() {
        let stats = Arc::new(Stats::default());
        let a = stats.begin("bookings.create");
        let b = stats.begin("bookings.create");
        let c = stats.begin("bookings.create");
        assert_eq!(stats.snapshot().endpoint("bookings.create").in_flight, 3);
        a.finish("201".into());
        drop(b);
        stats.reset();
        let s = stats.snapshot().endpoint("bookings.create");
        assert_eq!((s.requests, s.in_flight, s.max_in_flight), (0, 1, 1));
        c.finish("400".into());
        let s = stats.snapshot().endpoint("bookings.create");
        assert_eq!((s.in_flight, s.status("400"), s.status("201")), (0, 1, 0));
        let _d = stats.begin("bookings.create");
        let _e = stats.begin("bookings.create");
        assert_eq!(stats.snapshot().endpoint("bookings.create").max_in_flight, 2);
    }
}
