//! The sync pool: a ractor factory of workers that do Cal.com work.
//!
//! Jobs are keyed by appointment id (outbox jobs) or `mirror:<token>` (hold mirrors) and routed
//! sticky, so work for one key never runs twice at once. A priority queue serves bookings and
//! cancellations before mirrors, and only mirrors may be discarded under load (they are best
//! effort; outbox jobs are durable and would be claimed again anyway). The factory replaces a
//! worker that panics; the job's outbox lease then runs out and the job is claimed again.

use std::sync::Arc;

use ractor::factory::queues::{PriorityManager, PriorityQueue, StandardPriority};
use ractor::factory::routing::StickyQueuerRouting;
use ractor::factory::{DiscardMode, DiscardSettings, Factory, FactoryArguments, FactoryMessage, Job, Worker, WorkerId};
use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::engine::Engine;
use super::mirror::MirrorTask;
use crate::store::OutboxJob;

/// Mirror jobs queued at most; beyond this the oldest are dropped.
const QUEUE_LIMIT: usize = 10_000;

#[derive(Debug)]
pub(super) enum SyncJob {
    Outbox(OutboxJob),
    Mirror(MirrorTask),
}

pub(super) fn mirror_key(token: &crate::domain::ReservationToken) -> String {
    format!("mirror:{token}")
}

struct Priorities;

impl PriorityManager<String, StandardPriority> for Priorities {
    fn is_discardable(&self, key: &String) -> bool {
        key.starts_with("mirror:")
    }

    fn get_priority(&self, key: &String) -> Option<StandardPriority> {
        Some(if key.starts_with("mirror:") { StandardPriority::BestEffort } else { StandardPriority::High })
    }
}

struct SyncWorker;

impl Worker for SyncWorker {
    type Key = String;
    type Message = SyncJob;
    type Arguments = Arc<Engine>;
    type State = Arc<Engine>;

    async fn pre_start(
        &self,
        _wid: WorkerId,
        _factory: &ActorRef<FactoryMessage<String, SyncJob>>,
        engine: Arc<Engine>,
    ) -> Result<Arc<Engine>, ActorProcessingErr> {
        Ok(engine)
    }

    async fn handle(
        &self,
        _wid: WorkerId,
        _factory: &ActorRef<FactoryMessage<String, SyncJob>>,
        job: Job<String, SyncJob>,
        engine: &mut Arc<Engine>,
    ) -> Result<String, ActorProcessingErr> {
        match job.msg {
            SyncJob::Outbox(outbox) => super::jobs::run(engine, outbox).await,
            SyncJob::Mirror(task) => super::mirror::run(engine, task).await,
        }
        Ok(job.key)
    }
}

type SyncFactory = Factory<
    String,
    SyncJob,
    Arc<Engine>,
    SyncWorker,
    StickyQueuerRouting<String, SyncJob>,
    PriorityQueue<String, SyncJob, StandardPriority, Priorities, { StandardPriority::size() }>,
>;

#[derive(Clone)]
pub(super) struct Pool {
    factory: ActorRef<FactoryMessage<String, SyncJob>>,
}

impl Pool {
    pub async fn start(engine: Arc<Engine>, workers: usize) -> Result<Pool, super::SyncError> {
        let args = FactoryArguments::builder()
            .worker_builder(Box::new(ractor::factory::worker_builder(move |_wid| (SyncWorker, engine.clone()))))
            .queue(PriorityQueue::new(Priorities))
            .router(StickyQueuerRouting::default())
            .num_initial_workers(workers.max(1))
            .discard_settings(DiscardSettings::Static { limit: QUEUE_LIMIT, mode: DiscardMode::Oldest })
            .build();
        let (factory, _) = Actor::spawn(None, SyncFactory::default(), args)
            .await
            .map_err(|e| super::SyncError::Pool(e.to_string()))?;
        Ok(Pool { factory })
    }

    pub fn outbox(&self, job: OutboxJob) {
        let key = job.appointment_id.to_string();
        if self.factory.cast(FactoryMessage::Dispatch(Job::new(key, SyncJob::Outbox(job)))).is_err() {
            tracing::warn!("sync pool is stopped; the outbox job runs after its lease");
        }
    }

    pub fn mirror(&self, key: String, task: MirrorTask) {
        let _ = self.factory.cast(FactoryMessage::Dispatch(Job::new(key, SyncJob::Mirror(task))));
    }

    /// Finishes queued jobs, then stops (bounded by `grace`).
    pub async fn drain(&self, grace: std::time::Duration) {
        let _ = self.factory.cast(FactoryMessage::DrainRequests);
        let _ = tokio::time::timeout(grace, async {
            while self.factory.get_status() != ractor::ActorStatus::Stopped {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await;
        self.factory.stop(None);
    }

    pub fn kill(&self) {
        self.factory.kill();
    }
}
