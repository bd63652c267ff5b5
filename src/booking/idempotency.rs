//! Exactly-once answers for Retell retries (invariant BK-3).
//!
//! Retell retries a function call up to twice, sometimes while the first attempt is still running.
//! The key is tenant + call id + function + the normalised arguments. Within this process, callers
//! with the same key share one execution (single flight); across processes and restarts, the
//! stored answer decides: it is returned byte for byte. Two processes answering the same key at
//! once both run (their effects are idempotent per call: the same hold, the same booking) and the
//! first stored answer is what both return. Transient failures are not stored, so the retry
//! runs again, and neither are answers that ask the caller to try again later. A stored answer is
//! replayed within the replay window ([`crate::store::REPLAY_WINDOW_SECS`]), which covers Retell's
//! retries; the same question asked much later is answered afresh. An answer that handed out a
//! hold is replayed only while that hold is active: after it ended, the same question is new.

use std::future::Future;
use std::sync::Arc;

use dashmap::DashMap;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::command::Function;
use crate::clock::Clock;
use crate::domain::ReservationToken;
use crate::domain::TenantId;
use crate::store::{Claim, IdempotencyKey, Store};

/// An answer the work produced; `keep: false` answers are sent but not stored (a "try again in
/// a minute" must not be replayed when the agent does try again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fresh {
    pub status: u16,
    pub body: String,
    pub keep: bool,
}

/// An answer, as sent the first time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub status: u16,
    pub body: Arc<str>,
    /// True when this is a repeat of an earlier answer.
    pub replayed: bool,
}

/// Why no answer can be given now (nothing was stored; a retry runs afresh).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Transient(pub String);

type Shared = Arc<OnceCell<Result<Stored, Transient>>>;

/// How long a claim on a key lasts: far above the request timeout, so a running request always
/// owns its claim; a crashed node's claim is taken over after it.
const CLAIM_LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(30);
/// How long a duplicate waits for another node's first attempt (below the request timeout:
/// past it the duplicate answers "try again", and Retell retries).
const WAIT_FOR_OTHER: std::time::Duration = std::time::Duration::from_secs(8);
/// Poll interval behind the cross-node signal.
const POLL_OTHER: std::time::Duration = std::time::Duration::from_millis(100);

/// What makes two calls the same request: tenant, call id, function and normalised arguments.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AnswerKey {
    pub tenant: TenantId,
    pub call_id: String,
    pub function: Function,
    /// [`args_digest`] of the arguments.
    pub args_hash: String,
}

impl AnswerKey {
    fn record(&self) -> IdempotencyKey {
        IdempotencyKey {
            tenant: self.tenant.clone(),
            call_id: self.call_id.clone(),
            function: self.function.name(),
            args_hash: self.args_hash.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Idempotency {
    store: Store,
    clock: Clock,
    running: Arc<DashMap<AnswerKey, Shared>>,
    wait_for_other: std::time::Duration,
}

impl Idempotency {
    pub fn new(store: Store, clock: Clock) -> Self {
        Self { store, clock, running: Arc::new(DashMap::new()), wait_for_other: WAIT_FOR_OTHER }
    }

    /// How long a duplicate waits for another node's first attempt (tests shorten it).
    pub fn with_wait_for_other(mut self, wait: std::time::Duration) -> Self {
        self.wait_for_other = wait;
        self
    }

    /// Runs `work` once per key and returns its answer to every caller with that key.
    pub async fn run<F, Fut>(&self, key: AnswerKey, work: F) -> Result<Stored, Transient>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fresh, Transient>>,
    {
        let cell = self.running.entry(key.clone()).or_default().clone();
        let mut ran_here = false;
        let result = cell
            .get_or_init(|| {
                ran_here = true;
                self.execute(&key, work)
            })
            .await
            .clone();
        if ran_here {
            self.running.remove(&key);
        }
        match result {
            Ok(stored) if !ran_here => Ok(Stored { replayed: true, ..stored }),
            other => other,
        }
    }

    async fn execute<F, Fut>(&self, key: &AnswerKey, work: F) -> Result<Stored, Transient>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fresh, Transient>>,
    {
        if !self.store.claims_keys() {
            return self.execute_local(key, work).await;
        }
        let unavailable = |e: crate::store::StoreError| Transient(e.to_string());
        let record = key.record();
        let owner = format!("{}:{}", self.store.node_id(), &uuid::Uuid::new_v4().simple().to_string()[..12]);
        if let Some(replay) = self.claim(key, &record, &owner).await? {
            return Ok(replay);
        }
        let topic = format!("answer:{}:{}:{}:{}", record.tenant, record.call_id, record.function, record.args_hash);
        let outcome = work().await;
        let result = match outcome {
            Ok(Fresh { status, body, keep: true }) => {
                let now = self.clock.now();
                if !self.store.finish_claim(&record, &owner, status, &body, now).await.map_err(unavailable)? {
                    // Only a process paused past CLAIM_LEASE gets here; the lease is far above the
                    // request timeout, so a request that is still running owns its claim.
                    tracing::error!(call_id = %key.call_id, function = key.function.name(), "an answer's claim ran out before it was stored; another request took the key over");
                }
                Ok(Stored { status, body: body.into(), replayed: false })
            }
            Ok(Fresh { status, body, keep: false }) => {
                self.store.drop_claim(&record, &owner).await.map_err(unavailable)?;
                Ok(Stored { status, body: body.into(), replayed: false })
            }
            Err(transient) => {
                if let Err(err) = self.store.drop_claim(&record, &owner).await {
                    tracing::warn!(error = %err, "could not give a claim back; it runs out by itself");
                }
                Err(transient)
            }
        };
        self.store.signal(&topic).await;
        result
    }

    /// Claims `record` for `owner`: `Ok(None)` when the key is ours to act on, `Ok(Some(answer))`
    /// to replay; waits (bounded) while another node's request holds it.
    async fn claim(&self, key: &AnswerKey, record: &IdempotencyKey, owner: &str) -> Result<Option<Stored>, Transient> {
        let unavailable = |e: crate::store::StoreError| Transient(e.to_string());
        let topic = format!("answer:{}:{}:{}:{}", record.tenant, record.call_id, record.function, record.args_hash);
        let deadline = tokio::time::Instant::now() + self.wait_for_other;
        let waited = std::sync::atomic::AtomicBool::new(false);
        loop {
            let attempt = self
                .store
                .wait_for(&topic, POLL_OTHER, deadline, || async {
                    match self.store.claim_answer(record, owner, self.clock.now(), CLAIM_LEASE).await {
                        Ok(Claim::Held { .. }) => {
                            waited.store(true, std::sync::atomic::Ordering::Relaxed);
                            None
                        }
                        other => Some(other),
                    }
                })
                .await;
            let Some(claim) = attempt else {
                crate::metrics::idempotency_wait("timed_out");
                return Err(Transient("the first attempt of this call is still running on another node".into()));
            };
            if waited.swap(false, std::sync::atomic::Ordering::Relaxed) {
                crate::metrics::idempotency_wait("answered");
            }
            match claim.map_err(unavailable)? {
                Claim::Ours => return Ok(None),
                Claim::Answered(status, body) => {
                    if self.still_holds(key, &body).await.map_err(unavailable)? {
                        return Ok(Some(Stored { status, body: body.into(), replayed: true }));
                    }
                    let now = self.clock.now();
                    if self.store.supersede_answer(record, &body, owner, now, CLAIM_LEASE).await.map_err(unavailable)? {
                        return Ok(None);
                    }
                }
                Claim::Held { .. } => unreachable!("wait_for returns only answers and claims"),
            }
        }
    }

    /// One process (SQLite): the in-process single flight already made this the only execution
    /// of `key`; the first stored answer wins.
    async fn execute_local<F, Fut>(&self, key: &AnswerKey, work: F) -> Result<Stored, Transient>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fresh, Transient>>,
    {
        let unavailable = |e: crate::store::StoreError| Transient(e.to_string());
        let record = key.record();
        let mut superseded = false;
        if let Some((status, body)) = self.store.stored_answer(&record, self.clock.now()).await.map_err(unavailable)? {
            if self.still_holds(key, &body).await.map_err(unavailable)? {
                return Ok(Stored { status, body: body.into(), replayed: true });
            }
            tracing::debug!(call_id = %key.call_id, function = key.function.name(), "the stored answer's hold has ended; answering afresh");
            superseded = true;
        }
        let Fresh { status, body, keep } = work().await?;
        if !keep {
            return Ok(Stored { status, body: body.into(), replayed: false });
        }
        if superseded {
            self.store.replace_answer(&record, status, &body, self.clock.now()).await.map_err(unavailable)?;
            return Ok(Stored { status, body: body.into(), replayed: false });
        }
        let (kept_status, kept_body) =
            self.store.store_answer(&record, status, &body, self.clock.now()).await.map_err(unavailable)?;
        let replayed = kept_body != body;
        Ok(Stored { status: kept_status, body: kept_body.into(), replayed })
    }

    /// Whether a stored answer still tells the truth. An answer that handed out a hold (a
    /// `check_availability` with a `reservation_token`) does only while that hold is active: once
    /// it expired, was released or was withdrawn, replaying it would give the caller a dead token
    /// and a stale `time_remaining`, and the same question is answered afresh. Every other answer
    /// (a booking, a refusal, a cancellation) stays true for the whole replay window.
    async fn still_holds(&self, key: &AnswerKey, body: &str) -> Result<bool, crate::store::StoreError> {
        if key.function != Function::CheckAvailability {
            return Ok(true);
        }
        let Some(token) = offered_token(body) else { return Ok(true) };
        let now = self.clock.now();
        Ok(self.store.get_reservation(&ReservationToken::new(token)).await?.is_some_and(|r| r.is_live(now)))
    }
}

/// The `reservation_token` a stored answer handed out, if any.
fn offered_token(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    value.get("reservation_token")?.as_str().map(str::to_owned)
}

/// A stable digest of a function's arguments: object keys sorted, strings trimmed, nulls and the
/// transport field `call_id` dropped, so the same request always gets the same key.
pub fn args_digest(args: &Value) -> String {
    fn normalise(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(k, v)| !v.is_null() && k.as_str() != "call_id")
                    .map(|(k, v)| (k.clone(), normalise(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
            Value::String(s) => Value::String(s.trim().to_owned()),
            other => other.clone(),
        }
    }
    // serde_json's map keeps keys sorted, so the text is canonical.
    let canonical = normalise(args).to_string();
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::args_digest;
    use serde_json::json;

    #[test]
    fn the_digest_ignores_order_whitespace_nulls_and_call_id() {
        let a = args_digest(&json!({"service": "Dauerwelle", "date": "morgen", "time": null}));
        let b = args_digest(&json!({"date": " morgen ", "call_id": "call_x", "service": "Dauerwelle"}));
        assert_eq!(a, b);
        assert_ne!(a, args_digest(&json!({"service": "Dauerwelle", "date": "übermorgen"})));
    }
}
