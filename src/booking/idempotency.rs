//! Exactly-once answers for Retell retries (invariant BK-3).
//!
//! Retell retries a function call up to twice, sometimes while the first attempt is still running.
//! The key is tenant + call id + function + the normalised arguments. Within this process, callers
//! with the same key share one execution (single flight); across processes and restarts, the
//! stored record decides: a finished answer is returned byte for byte, an answer still being
//! computed elsewhere is waited for (bounded). Transient failures are not stored, so the retry
//! runs again, and neither are answers that ask the caller to try again later. A stored answer is
//! replayed within the replay window ([`crate::store::REPLAY_WINDOW_SECS`]), which covers Retell's
//! retries; the same question asked much later is answered afresh.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::clock::Clock;
use crate::store::{IdempotencyKey, IdempotencyState, Store};

/// How long a retry waits for an answer another process is still computing.
const WAIT_FOR_OTHER: Duration = Duration::from_secs(10);
const POLL_EVERY: Duration = Duration::from_millis(50);

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

#[derive(Clone)]
pub struct Idempotency {
    store: Store,
    clock: Clock,
    running: Arc<DashMap<IdempotencyKey, Shared>>,
}

impl Idempotency {
    pub fn new(store: Store, clock: Clock) -> Self {
        Self { store, clock, running: Arc::new(DashMap::new()) }
    }

    /// Runs `work` once per key and returns its answer to every caller with that key.
    pub async fn run<F, Fut>(&self, key: IdempotencyKey, work: F) -> Result<Stored, Transient>
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

    async fn execute<F, Fut>(&self, key: &IdempotencyKey, work: F) -> Result<Stored, Transient>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fresh, Transient>>,
    {
        let unavailable = |e: crate::store::StoreError| Transient(e.to_string());
        match self.store.begin_idempotent(key, self.clock.now()).await.map_err(unavailable)? {
            IdempotencyState::Done { status, body } => return Ok(Stored { status, body: body.into(), replayed: true }),
            IdempotencyState::InFlight => return self.wait_for_other(key).await,
            IdempotencyState::Started => {}
        }
        match work().await {
            Ok(Fresh { status, body, keep: true }) => {
                self.store.finish_idempotent(key, status, &body, self.clock.now()).await.map_err(unavailable)?;
                Ok(Stored { status, body: body.into(), replayed: false })
            }
            Ok(Fresh { status, body, keep: false }) => {
                self.store.abandon_idempotent(key).await.map_err(unavailable)?;
                Ok(Stored { status, body: body.into(), replayed: false })
            }
            Err(err) => {
                if let Err(store_err) = self.store.abandon_idempotent(key).await {
                    tracing::warn!(error = %store_err, "could not drop a pending idempotency record");
                }
                Err(err)
            }
        }
    }

    async fn wait_for_other(&self, key: &IdempotencyKey) -> Result<Stored, Transient> {
        let deadline = tokio::time::Instant::now() + WAIT_FOR_OTHER;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(POLL_EVERY).await;
            let state = self.store.begin_idempotent(key, self.clock.now()).await.map_err(|e| Transient(e.to_string()))?;
            if let IdempotencyState::Done { status, body } = state {
                return Ok(Stored { status, body: body.into(), replayed: true });
            }
        }
        Err(Transient("the same request is still being answered elsewhere".into()))
    }
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
