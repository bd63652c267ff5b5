//! Fault injection for the Cal.com simulator.
//!
//! [`Faults`] is plain data (serde, so it can come from a TOML config or `PUT /_sim/faults`).
//! Per request the simulator asks `FaultState::decide` what to do, in this order:
//! 1. `down` → 503 for every API request;
//! 2. a scripted step for the endpoint (its own queue first, then the `"*"` queue) → exactly
//!    that outcome, no random draw;
//! 3. otherwise the endpoint's [`FaultSpec`] (or `all` when the endpoint has none): latency,
//!    then one draw deciding error (500/502/503) / timeout (hang, then 504) / reset (abort the
//!    connection mid-body) / accept-then-timeout (do the work, hang, answer late), with
//!    probabilities `error_rate`, `timeout_rate`, `reset_rate`, `accept_then_timeout_rate`.
//!
//! Guarantees: [`Faults::validate`] rejects rates outside [0, 1], a sum above 1, unknown
//! endpoint labels and malformed latencies; latencies are drawn but slept by the caller with
//! `tokio::time`; a `seed` makes the random draws reproducible.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use calcom_api::types::Endpoint;

/// Key of the scripted queue that applies to every endpoint.
pub const ANY_ENDPOINT: &str = "*";
/// Default hang of a timeout fault: longer than any sane client timeout.
pub const DEFAULT_HANG_MS: u64 = 30_000;
/// z-score of the 99th percentile of a standard normal distribution.
const Z_P99: f64 = 2.326_347_874;
/// Log-normal latencies are capped at this multiple of p99.
const LATENCY_CAP_FACTOR: f64 = 10.0;

/// Latency: `fixed_ms` plus uniform `[0, jitter_ms]`, or log-normal with `p50_ms`/`p99_ms`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Latency {
    pub fixed_ms: u64,
    pub jitter_ms: u64,
    pub p50_ms: Option<u64>,
    pub p99_ms: Option<u64>,
}

/// Random faults of one endpoint (or all of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultSpec {
    pub latency: Latency,
    /// Fraction of requests answered 500/502/503.
    pub error_rate: f64,
    /// Fraction of requests that hang `timeout_ms`, then answer 504.
    pub timeout_rate: f64,
    pub timeout_ms: u64,
    /// Fraction of requests whose connection is aborted mid-response.
    pub reset_rate: f64,
    /// Fraction of requests that are performed, then hang `timeout_ms` before answering.
    pub accept_then_timeout_rate: f64,
}

impl Default for FaultSpec {
    fn default() -> Self {
        FaultSpec {
            latency: Latency::default(),
            error_rate: 0.0,
            timeout_rate: 0.0,
            timeout_ms: DEFAULT_HANG_MS,
            reset_rate: 0.0,
            accept_then_timeout_rate: 0.0,
        }
    }
}

/// A forced outcome for the next request(s) of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ScriptedOutcome {
    /// Handle normally (consumes the step; no random fault).
    Pass,
    /// Answer this status with Cal.com's error shape (429 adds `Retry-After`: `retry_after_secs`,
    /// default 60, like Cal.com's block duration).
    Status {
        status: u16,
        #[serde(default)]
        message: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_secs: Option<u64>,
    },
    /// 400 "already has booking" (422 "already reserved" on reservation endpoints).
    SlotTaken,
    /// Hang `ms` (default 30 s), then 504.
    Timeout {
        #[serde(default)]
        ms: Option<u64>,
    },
    /// Abort the connection mid-response.
    Reset,
    /// Perform the request, then hang `ms` (default 30 s) before answering.
    AcceptThenTimeout {
        #[serde(default)]
        ms: Option<u64>,
    },
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptedStep {
    #[serde(flatten)]
    pub outcome: ScriptedOutcome,
    /// How many consecutive requests get this outcome (default 1).
    #[serde(default = "one")]
    pub times: u32,
}

impl ScriptedStep {
    pub fn once(outcome: ScriptedOutcome) -> Self {
        ScriptedStep { outcome, times: 1 }
    }

    pub fn times(outcome: ScriptedOutcome, times: u32) -> Self {
        ScriptedStep { outcome, times }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Every API request answers 503.
    pub down: bool,
    /// Random faults of endpoints without their own entry in `endpoints`.
    pub all: FaultSpec,
    /// Per endpoint label (`bookings.create`, `slots.get`, …): replaces `all` for it.
    pub endpoints: BTreeMap<String, FaultSpec>,
    /// Forced outcomes per endpoint label or `"*"`, consumed in order.
    pub scripted: BTreeMap<String, Vec<ScriptedStep>>,
    /// Seed for reproducible random draws.
    pub seed: Option<u64>,
}

fn valid_label(label: &str) -> bool {
    Endpoint::from_label(label).is_some()
}

impl FaultSpec {
    fn validate(&self, name: &str) -> Result<(), String> {
        let rates = [
            ("error_rate", self.error_rate),
            ("timeout_rate", self.timeout_rate),
            ("reset_rate", self.reset_rate),
            ("accept_then_timeout_rate", self.accept_then_timeout_rate),
        ];
        for (field, r) in rates {
            if !(0.0..=1.0).contains(&r) {
                return Err(format!("{name}.{field} must be within 0..=1"));
            }
        }
        if rates.iter().map(|(_, r)| r).sum::<f64>() > 1.0 + 1e-9 {
            return Err(format!("{name}: the rates add up to more than 1"));
        }
        match (self.latency.p50_ms, self.latency.p99_ms) {
            (Some(p50), Some(p99)) if p50 == 0 || p99 < p50 => {
                Err(format!("{name}.latency needs 0 < p50_ms <= p99_ms"))
            }
            (Some(_), None) | (None, Some(_)) => Err(format!("{name}.latency needs both p50_ms and p99_ms")),
            _ => Ok(()),
        }
    }
}

impl Faults {
    pub fn validate(&self) -> Result<(), String> {
        self.all.validate("all")?;
        for (label, spec) in &self.endpoints {
            if !valid_label(label) {
                return Err(format!("unknown endpoint {label:?} in endpoints"));
            }
            spec.validate(label)?;
        }
        for (label, steps) in &self.scripted {
            if label != ANY_ENDPOINT && !valid_label(label) {
                return Err(format!("unknown endpoint {label:?} in scripted"));
            }
            let bad_status = steps
                .iter()
                .any(|s| matches!(s.outcome, ScriptedOutcome::Status { status, .. } if !(400..=599).contains(&status)));
            if bad_status {
                return Err(format!("{label}: scripted status must be within 400..=599"));
            }
        }
        Ok(())
    }
}

/// What to do with one request, besides sleeping `latency` first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Normal,
    Error { status: u16, message: String, retry_after: Option<Duration> },
    SlotTaken,
    Hang(Duration),
    Reset,
    AcceptThenHang(Duration),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    pub latency: Duration,
    pub action: Action,
    /// The action was injected (scripted or drawn), for the stats.
    pub injected: bool,
}

/// Live fault state: the configured faults with scripted queues being consumed.
#[derive(Debug)]
pub(crate) struct FaultState {
    faults: Faults,
    queues: BTreeMap<String, VecDeque<ScriptedStep>>,
    rng: StdRng,
}

impl FaultState {
    pub fn new(faults: Faults) -> Self {
        let rng = match faults.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_rng(&mut rand::rng()),
        };
        let queues = faults.scripted.iter().map(|(k, v)| (k.clone(), v.iter().cloned().collect())).collect();
        FaultState { faults, queues, rng }
    }

    /// The faults with the scripted steps still pending.
    pub fn current(&self) -> Faults {
        let mut f = self.faults.clone();
        f.scripted = self
            .queues
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(k, q)| (k.clone(), q.iter().cloned().collect()))
            .collect();
        f
    }

    fn next_scripted(&mut self, label: &str) -> Option<ScriptedOutcome> {
        for key in [label, ANY_ENDPOINT] {
            if let Some(q) = self.queues.get_mut(key) {
                while q.front().is_some_and(|s| s.times == 0) {
                    q.pop_front();
                }
                if let Some(step) = q.front_mut() {
                    step.times -= 1;
                    let outcome = step.outcome.clone();
                    if step.times == 0 {
                        q.pop_front();
                    }
                    return Some(outcome);
                }
            }
        }
        None
    }

    pub fn decide(&mut self, endpoint: Endpoint) -> Decision {
        let label = endpoint.label();
        if self.faults.down {
            let action = Action::Error { status: 503, message: "Service Unavailable".to_owned(), retry_after: None };
            return Decision { latency: Duration::ZERO, action, injected: true };
        }
        let spec = self.faults.endpoints.get(label).unwrap_or(&self.faults.all).clone();
        let latency = draw_latency(&spec.latency, &mut self.rng);
        let hang = |ms: Option<u64>| Duration::from_millis(ms.unwrap_or(spec.timeout_ms));
        if let Some(outcome) = self.next_scripted(label) {
            let action = match outcome {
                ScriptedOutcome::Pass => Action::Normal,
                ScriptedOutcome::Status { status, message, retry_after_secs } => Action::Error {
                    status,
                    message: message.unwrap_or_else(|| format!("simulated http {status}")),
                    retry_after: retry_after_secs.map(Duration::from_secs),
                },
                ScriptedOutcome::SlotTaken => Action::SlotTaken,
                ScriptedOutcome::Timeout { ms } => Action::Hang(hang(ms)),
                ScriptedOutcome::Reset => Action::Reset,
                ScriptedOutcome::AcceptThenTimeout { ms } => Action::AcceptThenHang(hang(ms)),
            };
            let injected = action != Action::Normal;
            return Decision { latency, action, injected };
        }
        let u: f64 = self.rng.random();
        let rates = [spec.error_rate, spec.timeout_rate, spec.reset_rate, spec.accept_then_timeout_rate];
        let mut edge = 0.0;
        let drawn = rates.iter().position(|r| {
            edge += r;
            u < edge
        });
        let action = match drawn {
            Some(0) => {
                let status = [500, 502, 503][self.rng.random_range(0..3usize)];
                Action::Error { status, message: "simulated server error".to_owned(), retry_after: None }
            }
            Some(1) => Action::Hang(hang(None)),
            Some(2) => Action::Reset,
            Some(3) => Action::AcceptThenHang(hang(None)),
            _ => Action::Normal,
        };
        let injected = action != Action::Normal;
        Decision { latency, action, injected }
    }
}

fn draw_latency(l: &Latency, rng: &mut StdRng) -> Duration {
    if let (Some(p50), Some(p99)) = (l.p50_ms, l.p99_ms) {
        if p50 == 0 {
            return Duration::ZERO;
        }
        let (p50, p99) = (p50 as f64, (p99 as f64).max(p50 as f64));
        let sigma = (p99 / p50).ln() / Z_P99;
        // Box-Muller: one standard normal sample from two uniforms in (0, 1].
        let u1: f64 = 1.0 - rng.random::<f64>();
        let u2: f64 = rng.random();
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let ms = (p50.ln() + sigma * z).exp().min(p99 * LATENCY_CAP_FACTOR);
        return Duration::from_secs_f64(ms / 1000.0);
    }
    let jitter = if l.jitter_ms > 0 { rng.random_range(0..=l.jitter_ms) } else { 0 };
    Duration::from_millis(l.fixed_ms.saturating_add(jitter))
}

#[cfg(test)]
mod tests;
