//! Wake-ups across nodes: "the answer to this key is stored", "this outbox job is done".
//!
//! A waiter subscribes to a topic before it looks at the database, then waits for a signal or
//! a short poll interval, whichever comes first, and looks again: a lost signal costs at most
//! one poll interval, never an answer. On PostgreSQL a signal is a `NOTIFY slotkeeper_signal`
//! (every node's listener delivers it to its local waiters); on SQLite, one process, it is
//! delivered in-process only.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;

use super::{Store, StoreError};

pub const CHANNEL: &str = "slotkeeper_signal";

/// Local waiters by topic.
#[derive(Default)]
pub struct Signals {
    waiters: DashMap<String, Arc<Notify>>,
}

impl Signals {
    fn notify_for(&self, topic: &str) -> Arc<Notify> {
        self.waiters.entry(topic.to_owned()).or_default().clone()
    }

    fn deliver(&self, topic: &str) {
        if let Some(notify) = self.waiters.get(topic) {
            notify.notify_waiters();
        }
    }

    /// Forgets a topic nobody waits for any more.
    fn release(&self, topic: &str) {
        self.waiters.remove_if(topic, |_, notify| Arc::strong_count(notify) == 1);
    }
}

impl Store {
    /// Waits until `topic` is signalled or `poll` has passed; `check` runs after subscribing and
    /// after every wake-up, and the wait ends when it returns `Some`.
    pub async fn wait_for<T, F, Fut>(
        &self,
        topic: &str,
        poll: Duration,
        deadline: tokio::time::Instant,
        mut check: F,
    ) -> Option<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let notify = self.inner.signals.notify_for(topic);
        let found = loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(found) = check().await {
                break Some(found);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                break None;
            }
            let _ = tokio::time::timeout(poll.min(deadline - now), notified).await;
        };
        drop(notify);
        self.inner.signals.release(topic);
        found
    }

    /// Wakes every waiter of `topic`, on every node.
    pub async fn signal(&self, topic: &str) {
        self.inner.signals.deliver(topic);
        if let Some(pool) = self.postgres_pool()
            && let Err(err) = sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(topic).execute(pool).await
        {
            tracing::debug!(error = %err, topic, "could not send a cross-node signal; waiters poll");
        }
    }

    /// Delivers other nodes' signals to this node's waiters (PostgreSQL only). The task ends when
    /// the store's last clone is dropped; it reconnects after connection loss.
    pub async fn listen_signals(&self) -> Result<(), StoreError> {
        let Some(pool) = self.postgres_pool().cloned() else { return Ok(()) };
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        let signals = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(notification)) => match signals.upgrade() {
                        Some(inner) => inner.signals.deliver(notification.payload()),
                        None => return,
                    },
                    // Lost and re-established by the next receive; waiters poll meanwhile.
                    Ok(None) => tracing::debug!("signal connection was lost; reconnecting"),
                    Err(err) => {
                        tracing::warn!(error = %err, "signal listener failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                if signals.strong_count() == 0 {
                    return;
                }
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiter_wakes_on_its_topic_and_forgets_it_after() {
        let signals = Arc::new(Signals::default());
        let notify = signals.notify_for("answer:1");
        let waiting = {
            let notify = notify.clone();
            tokio::spawn(async move { notify.notified().await })
        };
        tokio::task::yield_now().await;
        signals.deliver("answer:2");
        signals.deliver("answer:1");
        tokio::time::timeout(Duration::from_secs(5), waiting).await.unwrap().unwrap();
        drop(notify);
        signals.release("answer:1");
        assert!(signals.waiters.is_empty());
    }
}
