//! This process's identity among several nodes (invariant: one live process per node id).
//!
//! `node.id` names the process in logs, in PostgreSQL's `application_name`, in outbox leases and
//! in cross-node notices, so two processes with one id would fence each other's work by name
//! only. At start the process takes the lease on its id in the shared database and is refused
//! with a clear error while another live process holds it; it renews the lease every third of
//! its life and stops (non-zero exit) if the lease was lost — a process paused past its lease
//! (GC pause, VM freeze, SIGSTOP) finds another holder when it resumes and must not go on under
//! that name. A graceful shutdown gives the lease back.

use chrono::TimeDelta;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(
        "node id {node:?} is in use by a running process (its lease runs until {until}); give this process its own SLOTKEEPER__NODE__ID, or wait until the other one has stopped"
    )]
    InUse { node: String, until: chrono::DateTime<chrono::Utc> },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The lease this process holds on its node id.
#[derive(Clone)]
pub struct NodeLease {
    store: Store,
    clock: Clock,
    node_id: String,
    holder: String,
    epoch: i64,
    ttl: TimeDelta,
}

impl NodeLease {
    /// Takes the lease on `node_id` for `ttl`, or refuses. A lease left by a crashed process is
    /// waited out (it is not renewed any more); one that is renewed while we wait belongs to a
    /// live process, and so does one still held after a whole `ttl`.
    pub async fn take(store: &Store, clock: &Clock, node_id: &str, ttl: TimeDelta) -> Result<NodeLease, NodeError> {
        let holder = uuid::Uuid::new_v4().simple().to_string();
        let started = tokio::time::Instant::now();
        let patience = ttl.to_std().unwrap_or_default() + std::time::Duration::from_secs(1);
        let mut first_seen = None;
        loop {
            let until = match store.take_node_lease(node_id, &holder, clock.now(), ttl).await? {
                Ok(epoch) => {
                    tracing::info!(node = node_id, epoch, "took the node's lease");
                    let node_id = node_id.to_owned();
                    return Ok(NodeLease { store: store.clone(), clock: clock.clone(), node_id, holder, epoch, ttl });
                }
                Err(until) => until,
            };
            let renewed = first_seen.is_some_and(|first| until > first);
            if renewed || started.elapsed() >= patience {
                return Err(NodeError::InUse { node: node_id.to_owned(), until });
            }
            if first_seen.is_none() {
                tracing::warn!(node = node_id, %until, "the node id's previous lease is still held; waiting for it to run out");
                first_seen = Some(until);
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }

    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    /// Renews the lease until `stop`; reports on `died` when it was lost (another process holds
    /// the id now) or cannot be renewed before it runs out.
    ///
    /// After each renewal `on_nodes` hears how many node ids have a live lease (the nodes that
    /// share each Cal.com key's request budget).
    pub fn spawn_renewal(
        &self,
        tasks: &TaskTracker,
        stop: CancellationToken,
        died: mpsc::Sender<&'static str>,
        on_nodes: impl Fn(u32) + Send + 'static,
    ) -> JoinHandle<()> {
        let lease = self.clone();
        let every = (self.ttl / 3).to_std().expect("a positive lease");
        tasks.spawn(async move {
            let mut renewed_at = lease.clock.now();
            if let Ok(n) = lease.store.live_nodes(renewed_at).await {
                on_nodes(n);
            }
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = lease.clock.sleep(every) => {}
                }
                let now = lease.clock.now();
                match lease.store.renew_node_lease(&lease.node_id, &lease.holder, now, lease.ttl).await {
                    Ok(true) => {
                        renewed_at = now;
                        match lease.store.live_nodes(now).await {
                            Ok(n) => on_nodes(n),
                            Err(err) => tracing::debug!(error = %err, "could not count the live nodes"),
                        }
                    }
                    Ok(false) => {
                        tracing::error!(node = %lease.node_id, "this node's lease was taken over by another process; stopping");
                        let _ = died.try_send("node lease");
                        return;
                    }
                    Err(err) if now - renewed_at < lease.ttl => {
                        tracing::warn!(error = %err, "could not renew the node's lease; retrying");
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "the node's lease ran out without renewal; stopping");
                        let _ = died.try_send("node lease");
                        return;
                    }
                }
            }
        })
    }

    /// Gives the lease back (graceful shutdown).
    pub async fn release(&self) {
        if let Err(err) = self.store.release_node_lease(&self.node_id, &self.holder, self.clock.now()).await {
            tracing::warn!(error = %err, "could not give the node's lease back; it runs out by itself");
        }
    }
}
