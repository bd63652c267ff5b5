//! Per-tenant circuit breaker for Cal.com calls: a pure state machine, time passed in.
//!
//! Closed → Open after `failure_threshold` failures within `window`; Open → HalfOpen once
//! `cooldown` has passed; HalfOpen lets at most `half_open_max_probes` requests through at a
//! time, closes after `success_threshold` successes and reopens on any failure.
//!
//! Guarantees (unit- and property-tested):
//! - it never opens without `failure_threshold` failures reported within `window`;
//! - it never has more than `half_open_max_probes` unanswered half-open probes (a probe
//!   unanswered for `probe_timeout` is written off, so a lost caller cannot wedge it);
//! - answers are tied to the [`Permit`] that admitted them: a late answer from before a state
//!   change (e.g. a request that started while closed and ends while half-open) is ignored and
//!   can neither close nor reopen the breaker;
//! - only infrastructure failures count ([`CalcomError::counts_for_circuit`]); a business 4xx is
//!   a success (Cal.com answered), a 429 is neutral.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use dashmap::DashMap;

use super::error::CalcomError;

/// Retry hint while the half-open probe slots are taken: probes answer within a request timeout.
pub const HALF_OPEN_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitConfig {
    /// Failures within `window` that open the breaker (default 5).
    pub failure_threshold: u32,
    /// Sliding window for counting failures (default 60 s).
    pub window: Duration,
    /// Time the breaker stays open before probing (default 30 s).
    pub cooldown: Duration,
    /// Probe successes needed to close again (default 2).
    pub success_threshold: u32,
    /// Probes allowed at the same time while half-open (default 1).
    pub half_open_max_probes: u32,
    /// A probe unanswered this long no longer occupies its slot (default 30 s).
    pub probe_timeout: Duration,
}

impl Default for CircuitConfig {
    fn default() -> Self {
        CircuitConfig {
            failure_threshold: 5,
            window: Duration::from_secs(60),
            cooldown: Duration::from_secs(30),
            success_threshold: 2,
            half_open_max_probes: 1,
            probe_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    Closed,
    HalfOpen,
    Open,
}

impl CircuitState {
    /// Value of the `calcom_circuit_state` gauge: 0 closed, 1 half-open, 2 open.
    pub const fn code(self) -> u8 {
        match self {
            CircuitState::Closed => 0,
            CircuitState::HalfOpen => 1,
            CircuitState::Open => 2,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::HalfOpen => "half_open",
            CircuitState::Open => "open",
        }
    }
}

/// Admission ticket: report the request's outcome with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "report the outcome with on_success/on_failure/on_neutral"]
pub struct Permit {
    generation: u64,
    /// Set for half-open probes: identifies the probe's slot.
    probe: Option<u64>,
}

impl Permit {
    /// Admitted as a half-open probe.
    pub fn is_probe(&self) -> bool {
        self.probe.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Permit(Permit),
    /// Do not call Cal.com now; try again after `retry_in`.
    Rejected {
        retry_in: Duration,
    },
}

#[derive(Debug, Clone)]
enum Phase {
    Closed {
        failures: VecDeque<Instant>,
    },
    Open {
        until: Instant,
    },
    /// Unanswered probes as `(id, admitted at)`, oldest first.
    HalfOpen {
        probes: VecDeque<(u64, Instant)>,
        successes: u32,
    },
}

#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    cfg: CircuitConfig,
    phase: Phase,
    /// Bumped on every state change; permits of older generations are stale.
    generation: u64,
    next_probe: u64,
}

impl CircuitBreaker {
    pub fn new(cfg: CircuitConfig) -> Self {
        CircuitBreaker { cfg, phase: Phase::Closed { failures: VecDeque::new() }, generation: 0, next_probe: 0 }
    }

    pub fn config(&self) -> &CircuitConfig {
        &self.cfg
    }

    pub fn allow(&mut self, now: Instant) -> Admission {
        if let Phase::Open { until } = self.phase {
            if now < until {
                return Admission::Rejected { retry_in: until - now };
            }
            self.enter(Phase::HalfOpen { probes: VecDeque::new(), successes: 0 });
        }
        let generation = self.generation;
        let (max_probes, probe_timeout) = (self.cfg.half_open_max_probes.max(1), self.cfg.probe_timeout);
        match &mut self.phase {
            Phase::Closed { .. } => Admission::Permit(Permit { generation, probe: None }),
            Phase::HalfOpen { probes, .. } => {
                while probes.front().is_some_and(|(_, t)| now.saturating_duration_since(*t) >= probe_timeout) {
                    probes.pop_front();
                }
                if probes.len() < max_probes as usize {
                    let id = self.next_probe;
                    self.next_probe += 1;
                    probes.push_back((id, now));
                    Admission::Permit(Permit { generation, probe: Some(id) })
                } else {
                    let oldest_expires = probes.front().map_or(Duration::ZERO, |(_, t)| {
                        probe_timeout.saturating_sub(now.saturating_duration_since(*t))
                    });
                    Admission::Rejected { retry_in: oldest_expires.min(HALF_OPEN_RETRY) }
                }
            }
            Phase::Open { until } => Admission::Rejected { retry_in: until.saturating_duration_since(now) },
        }
    }

    /// Cal.com answered (including business 4xx answers).
    pub fn on_success(&mut self, _now: Instant, permit: Permit) {
        if permit.generation != self.generation {
            return;
        }
        let success_threshold = self.cfg.success_threshold.max(1);
        if let Phase::HalfOpen { probes, successes } = &mut self.phase {
            release(probes, permit);
            *successes += 1;
            if *successes >= success_threshold {
                self.enter(Phase::Closed { failures: VecDeque::new() });
            }
        }
    }

    /// An infrastructure failure (5xx, timeout, transport).
    pub fn on_failure(&mut self, now: Instant, permit: Permit) {
        if permit.generation != self.generation {
            return;
        }
        let (window, threshold) = (self.cfg.window, self.cfg.failure_threshold.max(1) as usize);
        let open = Phase::Open { until: now + self.cfg.cooldown };
        match &mut self.phase {
            Phase::Closed { failures } => {
                while failures.front().is_some_and(|t| now.saturating_duration_since(*t) >= window) {
                    failures.pop_front();
                }
                failures.push_back(now);
                if failures.len() >= threshold {
                    self.enter(open);
                }
            }
            Phase::HalfOpen { .. } => self.enter(open),
            Phase::Open { .. } => {}
        }
    }

    /// An answer that says nothing about Cal.com's health (429): frees a probe slot only.
    pub fn on_neutral(&mut self, _now: Instant, permit: Permit) {
        if permit.generation != self.generation {
            return;
        }
        if let Phase::HalfOpen { probes, .. } = &mut self.phase {
            release(probes, permit);
        }
    }

    /// Reports a call's result: `Ok` and business errors succeed, 429 is neutral, and
    /// infrastructure errors fail.
    pub fn record<T>(&mut self, now: Instant, permit: Permit, result: &Result<T, CalcomError>) {
        match result {
            Err(e) if e.counts_for_circuit() => self.on_failure(now, permit),
            Err(CalcomError::RateLimited { .. }) => self.on_neutral(now, permit),
            _ => self.on_success(now, permit),
        }
    }

    pub fn state(&self, now: Instant) -> CircuitState {
        match self.phase {
            Phase::Closed { .. } => CircuitState::Closed,
            Phase::HalfOpen { .. } => CircuitState::HalfOpen,
            Phase::Open { until } if now >= until => CircuitState::HalfOpen,
            Phase::Open { .. } => CircuitState::Open,
        }
    }

    fn enter(&mut self, phase: Phase) {
        self.phase = phase;
        self.generation += 1;
    }
}

/// Frees the slot of a probe that has not been written off yet.
fn release(probes: &mut VecDeque<(u64, Instant)>, permit: Permit) {
    if let Some(id) = permit.probe {
        probes.retain(|(p, _)| *p != id);
    }
}

/// Breakers keyed by tenant id, sharing one config; updates the `calcom_circuit_state` gauge
/// whenever a tenant's state changes (an elapsed cooldown shows once the next call is admitted).
#[derive(Debug)]
pub struct CircuitBreakers {
    cfg: CircuitConfig,
    map: DashMap<String, CircuitBreaker>,
}

impl CircuitBreakers {
    pub fn new(cfg: CircuitConfig) -> Self {
        CircuitBreakers { cfg, map: DashMap::new() }
    }

    pub fn config(&self) -> &CircuitConfig {
        &self.cfg
    }

    pub fn allow(&self, tenant: &str, now: Instant) -> Admission {
        self.with(tenant, now, |b| b.allow(now))
    }

    pub fn on_success(&self, tenant: &str, now: Instant, permit: Permit) {
        self.with(tenant, now, |b| b.on_success(now, permit));
    }

    pub fn on_failure(&self, tenant: &str, now: Instant, permit: Permit) {
        self.with(tenant, now, |b| b.on_failure(now, permit));
    }

    pub fn on_neutral(&self, tenant: &str, now: Instant, permit: Permit) {
        self.with(tenant, now, |b| b.on_neutral(now, permit));
    }

    pub fn record<T>(&self, tenant: &str, now: Instant, permit: Permit, result: &Result<T, CalcomError>) {
        self.with(tenant, now, |b| b.record(now, permit, result));
    }

    /// Closed for a tenant never seen.
    pub fn state(&self, tenant: &str, now: Instant) -> CircuitState {
        self.map.get(tenant).map_or(CircuitState::Closed, |b| b.state(now))
    }

    fn with<R>(&self, tenant: &str, now: Instant, f: impl FnOnce(&mut CircuitBreaker) -> R) -> R {
        let mut entry = match self.map.get_mut(tenant) {
            Some(e) => e,
            None => {
                crate::metrics::calcom_circuit_state(tenant, CircuitState::Closed.code());
                self.map.entry(tenant.to_owned()).or_insert_with(|| CircuitBreaker::new(self.cfg))
            }
        };
        let before = entry.state(now);
        let out = f(&mut entry);
        let after = entry.state(now);
        drop(entry);
        if before != after {
            tracing::info!(tenant, from = before.as_str(), to = after.as_str(), "cal.com circuit changed");
            crate::metrics::calcom_circuit_state(tenant, after.code());
        }
        out
    }
}

#[cfg(test)]
mod tests;
