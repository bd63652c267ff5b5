//! One caller's conversation, as the voice agent would drive it.
//!
//! `check_availability` → (free) think → `start_booking`; on "taken" the caller takes the first
//! alternative offered and asks again; on "expired" asks for the same time again; some callers
//! hang up after hearing the time is free. Every call ends with Retell's `call_ended` webhook.
//! Each caller is bounded by `max_checks`, the run's request cap and its deadline; every request
//! and every confirmation is recorded as history for the report and the verification.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::json;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::plan::{Calendar, Caller, Want};
use crate::retell::{Answer, Call, Reply, RetellClient, slot_request};
use crate::stats::{Counts, Latencies};

/// How a confirmation (`start_booking` after "free") ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confirmed {
    Booked,
    /// Told free, then refused as taken (`conflict`, or Cal.com refused it: `calendar_refused`).
    Taken,
    Expired,
    /// Another refusal (`calendar_unavailable`, `not_found`, …).
    Refused,
    /// No answer (HTTP error or transport failure).
    Error,
}

/// One `start_booking` of a slot the caller was told was free.
#[derive(Debug, Clone, Serialize)]
pub struct Confirmation {
    pub compound: bool,
    /// The token was a hold (`time_remaining` given) rather than an offer.
    pub held: bool,
    /// The answer to `start_booking` was a replay from the idempotency store.
    pub replayed: bool,
    /// The caller confirmed within the (scaled) hold time of the service.
    pub in_time: bool,
    pub outcome: Confirmed,
    pub reason: Option<String>,
    /// The slot the caller was told was free: start, stylist and length.
    pub start: Option<String>,
    pub staff: Option<String>,
    pub minutes: u32,
}

/// A booking the service acknowledged (`success: true` with a booking id).
#[derive(Debug, Clone, Serialize)]
pub struct Acked {
    pub booking_id: String,
    pub call_id: String,
    pub status: String,
    pub compound: bool,
}

/// How a caller's call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    Booked,
    Abandoned,
    GaveUp,
    Error,
    /// Stopped by the request cap or the deadline.
    Capped,
}

impl Ending {
    pub fn label(self) -> &'static str {
        match self {
            Ending::Booked => "booked",
            Ending::Abandoned => "abandoned",
            Ending::GaveUp => "gave_up",
            Ending::Error => "error",
            Ending::Capped => "capped",
        }
    }
}

/// Everything the callers of one mode recorded.
#[derive(Default)]
pub struct History {
    pub latencies: Latencies,
    /// HTTP and transport errors, by `function:kind`.
    pub errors: Counts,
    /// Refusal reasons in answers, by `function:reason`.
    pub reasons: Counts,
    /// Answers replayed from the service's idempotency store, by function.
    pub replays: Counts,
    pub confirmations: Vec<Confirmation>,
    pub acked: Vec<Acked>,
    pub requests: u64,
}

/// What every caller of a mode shares.
pub struct Shared {
    pub client: RetellClient,
    pub calendar: Calendar,
    pub history: Mutex<History>,
    pub sent: AtomicU64,
    pub max_requests: u64,
    pub deadline: Instant,
    pub ttl_single: Duration,
    pub ttl_compound: Duration,
    pub max_checks: u32,
    pub progress: indicatif::ProgressBar,
}

impl Shared {
    /// Sends one function call unless the cap or the deadline is reached; records it.
    async fn function(&self, call: &Call, name: &'static str, detail: &str, args: serde_json::Value) -> Option<Reply> {
        if Instant::now() >= self.deadline || self.sent.fetch_add(1, Ordering::Relaxed) >= self.max_requests {
            return None;
        }
        let (reply, took) = self.client.function(call, name, args).await;
        let mut history = self.history.lock().await;
        history.requests += 1;
        history.latencies.record(name, took);
        if !detail.is_empty() {
            history.latencies.record(&format!("{name}:{detail}"), took);
        }
        if let Reply::Answer(answer) = &reply
            && answer.replayed
        {
            history.replays.add(name);
        }
        match &reply {
            Reply::Answer(answer) if !answer.success => {
                history.reasons.add(format!("{name}:{}", answer.reason.as_deref().unwrap_or("none")))
            }
            Reply::Answer(_) => {}
            other => history.errors.add(format!("{name}:{}", other.error_kind().unwrap_or_default())),
        }
        Some(reply)
    }

    async fn end_call(&self, call: &Call) {
        if self.sent.fetch_add(1, Ordering::Relaxed) >= self.max_requests.saturating_add(self.max_requests / 4) {
            return;
        }
        let (reply, took) = self.client.call_ended(call).await;
        let mut history = self.history.lock().await;
        history.requests += 1;
        history.latencies.record("call_ended", took);
        if let Some(kind) = reply.error_kind() {
            history.errors.add(format!("call_ended:{kind}"));
        }
    }

    fn ttl(&self, compound: bool) -> Duration {
        if compound { self.ttl_compound } else { self.ttl_single }
    }

    /// Sleeps `d`, or returns false when the deadline comes first.
    async fn think(&self, d: Duration) -> bool {
        let wake = Instant::now() + d;
        if wake >= self.deadline {
            tokio::time::sleep_until(self.deadline).await;
            return false;
        }
        tokio::time::sleep_until(wake).await;
        true
    }
}

fn want_args(svc: &str, want: &Want) -> serde_json::Value {
    let mut args = json!({"service": svc, "date": want.date, "time": want.time});
    if let Some(staff) = &want.staff {
        args["staff"] = json!(staff);
    }
    args
}

fn first_alternative(answer: &Answer) -> Option<Want> {
    let slot = answer.alternatives.as_ref()?.first()?;
    let (date, time, staff) = slot_request(slot)?;
    Some(Want { date, time, staff: Some(staff).filter(|s| !s.is_empty()) })
}

/// Runs one caller's conversation to its end.
pub async fn run(shared: Arc<Shared>, caller: Caller) -> Ending {
    let mut rng = StdRng::seed_from_u64(caller.seed);
    tokio::time::sleep(caller.arrival).await;
    let call = Call::demo(caller.index);
    let detail = if caller.svc.compound { "compound" } else { "single" };
    let mut want = caller.want.clone();
    let mut slow = caller.slow;
    let mut checks = 0;
    let ending = loop {
        if checks >= shared.max_checks {
            break Ending::GaveUp;
        }
        checks += 1;
        let Some(reply) = shared.function(&call, "check_availability", detail, want_args(caller.svc.said, &want)).await
        else {
            break Ending::Capped;
        };
        let Reply::Answer(answer) = reply else { break Ending::Error };
        let token = answer.reservation_token.clone().filter(|_| answer.success && answer.available == Some(true));
        let Some(token) = token else {
            // Not free (taken, outside hours, day full): take what is offered, else another time.
            want = first_alternative(&answer).unwrap_or_else(|| shared.calendar.random_want(&caller.svc, &mut rng));
            continue;
        };
        if caller.abandons {
            shared.end_call(&call).await;
            shared.progress.inc(1);
            return Ending::Abandoned;
        }
        let ttl = shared.ttl(caller.svc.compound);
        let think = if slow { ttl.mul_f64(rng.random_range(1.1..1.6)) } else { caller.think };
        slow = false;
        if !shared.think(think).await {
            break Ending::Capped;
        }
        let args = json!({"reservation_token": token, "customer_name": format!("Kunde {}", caller.index), "customer_phone": call.from});
        let Some(reply) = shared.function(&call, "start_booking", detail, args).await else { break Ending::Capped };
        let (outcome, reason, next) = match &reply {
            Reply::Answer(b) if b.success => (Confirmed::Booked, None, None),
            Reply::Answer(b) => {
                let reason = b.reason.clone().unwrap_or_default();
                let outcome = match reason.as_str() {
                    "conflict" | "calendar_refused" => Confirmed::Taken,
                    "expired" => Confirmed::Expired,
                    _ => Confirmed::Refused,
                };
                (outcome, Some(reason), first_alternative(b))
            }
            _ => (Confirmed::Error, reply.error_kind(), None),
        };
        {
            let mut history = shared.history.lock().await;
            history.confirmations.push(Confirmation {
                compound: caller.svc.compound,
                held: answer.time_remaining.is_some(),
                replayed: matches!(&reply, Reply::Answer(b) if b.replayed),
                in_time: think < ttl,
                outcome,
                reason,
                start: answer.start.clone(),
                staff: answer.staff.clone(),
                minutes: caller.svc.minutes,
            });
            if let Reply::Answer(b) = &reply
                && let (true, Some(id)) = (b.success, &b.booking_id)
            {
                history.acked.push(Acked {
                    booking_id: id.clone(),
                    call_id: call.call_id.clone(),
                    status: b.booking_status.clone().unwrap_or_default(),
                    compound: caller.svc.compound,
                });
            }
        }
        match outcome {
            Confirmed::Booked => break Ending::Booked,
            Confirmed::Error => break Ending::Error,
            _ => want = next.unwrap_or(want),
        }
    };
    shared.end_call(&call).await;
    shared.progress.inc(1);
    ending
}
