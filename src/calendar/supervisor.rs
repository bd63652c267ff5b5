//! Spawns calendar actors on demand, restarts those that fail, and routes requests to them.
//!
//! The registry (`StaffKey` → actor) is shared so the request path finds an actor without a
//! message to the supervisor; only spawning goes through the supervisor, which serialises it, so
//! one staff member never gets two actors in one process. A failed actor is restarted, and its
//! replacement reloads the calendar from the store in `pre_start` (a restarted actor that started
//! empty would forget holds). Restarts are limited ([`MAX_RESTARTS`] per [`RESTART_WINDOW`]);
//! past that, the calendar is left stopped and the next request spawns it afresh.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, ActorStatus, RpcReplyPort, SupervisionEvent};

use super::actor::{CalendarActor, CalendarArgs, CalendarContext};
use super::messages::{CalendarError, CalendarMsg};
use crate::domain::StaffKey;
use crate::metrics;

/// A calendar failing more often than this within [`RESTART_WINDOW`] is not restarted eagerly.
const MAX_RESTARTS: usize = 5;
const RESTART_WINDOW: Duration = Duration::from_secs(60);

type Registry = Arc<DashMap<StaffKey, ActorRef<CalendarMsg>>>;

pub enum SupervisorMsg {
    Spawn { key: StaffKey, reply: RpcReplyPort<Result<ActorRef<CalendarMsg>, CalendarError>> },
}

struct CalendarSupervisor;

struct SupervisorState {
    ctx: CalendarContext,
    registry: Registry,
    by_id: HashMap<ActorId, StaffKey>,
    restarts: HashMap<StaffKey, VecDeque<Instant>>,
}

impl SupervisorState {
    async fn spawn(&mut self, myself: &ActorCell, key: StaffKey) -> Result<ActorRef<CalendarMsg>, CalendarError> {
        let args = CalendarArgs { key: key.clone(), ctx: self.ctx.clone() };
        let (actor, _) = Actor::spawn_linked(None, CalendarActor, args, myself.clone())
            .await
            .map_err(|e| CalendarError::Unavailable(format!("calendar {key} could not start: {e}")))?;
        self.by_id.insert(actor.get_id(), key.clone());
        self.registry.insert(key, actor.clone());
        metrics::calendar_actors(self.registry.len());
        Ok(actor)
    }

    fn forget(&mut self, cell: &ActorCell) -> Option<StaffKey> {
        let key = self.by_id.remove(&cell.get_id())?;
        self.registry.remove_if(&key, |_, actor| actor.get_id() == cell.get_id());
        metrics::calendar_actors(self.registry.len());
        Some(key)
    }

    fn may_restart(&mut self, key: &StaffKey) -> bool {
        let now = Instant::now();
        let history = self.restarts.entry(key.clone()).or_default();
        while history.front().is_some_and(|t| now.duration_since(*t) > RESTART_WINDOW) {
            history.pop_front();
        }
        history.push_back(now);
        history.len() <= MAX_RESTARTS
    }
}

impl Actor for CalendarSupervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = (CalendarContext, Registry);

    async fn pre_start(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        (ctx, registry): Self::Arguments,
    ) -> Result<SupervisorState, ActorProcessingErr> {
        Ok(SupervisorState { ctx, registry, by_id: HashMap::new(), restarts: HashMap::new() })
    }

    async fn handle(
        &self,
        myself: ActorRef<SupervisorMsg>,
        msg: SupervisorMsg,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SupervisorMsg::Spawn { key, reply } => {
                let running =
                    state.registry.get(&key).map(|a| a.clone()).filter(|a| a.get_status() == ActorStatus::Running);
                let result = match running {
                    Some(actor) => Ok(actor),
                    None => state.spawn(&myself.get_cell(), key).await,
                };
                let _ = reply.send(result);
            }
        }
        Ok(())
    }

    // Never stop because a child stopped (ractor's default): a calendar failing must not take the others down.
    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<SupervisorMsg>,
        event: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(cell, err) => {
                let Some(key) = state.forget(&cell) else { return Ok(()) };
                metrics::calendar_actor_restarted();
                if !state.may_restart(&key) {
                    tracing::error!(calendar = %key, error = %err, "calendar actor keeps failing; not restarting until the next request");
                    return Ok(());
                }
                tracing::error!(calendar = %key, error = %err, "calendar actor failed; restarting from the store");
                if let Err(err) = state.spawn(&myself.get_cell(), key.clone()).await {
                    tracing::error!(calendar = %key, error = %err, "calendar actor restart failed");
                }
            }
            SupervisionEvent::ActorTerminated(cell, _, _) => {
                state.forget(&cell);
            }
            _ => {}
        }
        Ok(())
    }
}

/// The way into every calendar actor of this process.
#[derive(Clone)]
pub struct Calendars {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    supervisor: ActorRef<SupervisorMsg>,
    call_timeout: Duration,
    /// Requests sent to calendar actors and not yet answered (a saturation signal).
    in_flight: AtomicI64,
}

impl Calendars {
    pub async fn start(ctx: CalendarContext, call_timeout: Duration) -> Result<Self, CalendarError> {
        let registry: Registry = Arc::new(DashMap::new());
        let (supervisor, _) = Actor::spawn(None, CalendarSupervisor, (ctx, registry.clone()))
            .await
            .map_err(|e| CalendarError::Unavailable(format!("supervisor did not start: {e}")))?;
        Ok(Self { inner: Arc::new(Inner { registry, supervisor, call_timeout, in_flight: AtomicI64::new(0) }) })
    }

    /// The running actor for `key`, spawning (and loading) it if needed.
    pub async fn actor(&self, key: &StaffKey) -> Result<ActorRef<CalendarMsg>, CalendarError> {
        if let Some(actor) = self.inner.registry.get(key)
            && actor.get_status() == ActorStatus::Running
        {
            return Ok(actor.clone());
        }
        let key = key.clone();
        let spawned = self
            .inner
            .supervisor
            .call(|reply| SupervisorMsg::Spawn { key, reply }, Some(self.inner.call_timeout))
            .await;
        match spawned {
            Ok(ractor::rpc::CallResult::Success(Ok(actor))) => Ok(actor),
            Ok(ractor::rpc::CallResult::Success(Err(err))) => Err(err),
            Ok(_) | Err(_) => Err(CalendarError::Unavailable("calendar supervisor did not answer".into())),
        }
    }

    /// Asks the calendar of `key`; `op` labels the latency metric. A message that could not be
    /// delivered (the actor had just died) is sent once more to its replacement; a message that
    /// was delivered is never repeated.
    pub async fn call<T, F>(&self, key: &StaffKey, op: &'static str, build: F) -> Result<T, CalendarError>
    where
        T: Send + 'static,
        F: Fn(RpcReplyPort<T>) -> CalendarMsg,
    {
        let started = Instant::now();
        let _counted = InFlight::enter(&self.inner.in_flight);
        let result = self.call_once(key, &build).await;
        let result = match result {
            Err(Undelivered) => {
                self.inner.registry.remove(key);
                self.call_once(key, &build)
                    .await
                    .unwrap_or_else(|_| Err(CalendarError::Unavailable(format!("calendar {key} is not running"))))
            }
            Ok(answer) => answer,
        };
        metrics::calendar_call(op, started.elapsed());
        result
    }

    /// Like [`Calendars::call`] for messages whose answer is itself a `Result` (most verbs).
    pub async fn request<T, F>(&self, key: &StaffKey, op: &'static str, build: F) -> Result<T, CalendarError>
    where
        T: Send + 'static,
        F: Fn(RpcReplyPort<Result<T, CalendarError>>) -> CalendarMsg,
    {
        self.call(key, op, build).await?
    }

    async fn call_once<T, F>(&self, key: &StaffKey, build: &F) -> Result<Result<T, CalendarError>, Undelivered>
    where
        T: Send + 'static,
        F: Fn(RpcReplyPort<T>) -> CalendarMsg,
    {
        let actor = match self.actor(key).await {
            Ok(actor) => actor,
            Err(err) => return Ok(Err(err)),
        };
        match actor.call(build, Some(self.inner.call_timeout)).await {
            Ok(ractor::rpc::CallResult::Success(answer)) => Ok(Ok(answer)),
            Ok(ractor::rpc::CallResult::Timeout) => {
                Ok(Err(CalendarError::Unavailable(format!("calendar {key} did not answer in time"))))
            }
            // Delivered, but the actor died before answering (it is being restarted).
            Ok(ractor::rpc::CallResult::SenderError) => {
                Ok(Err(CalendarError::Unavailable(format!("calendar {key} failed"))))
            }
            Err(_) => Err(Undelivered),
        }
    }

    /// Tells a running calendar something (no answer); calendars not running are skipped, since
    /// they load fresh state when they start.
    pub fn tell(&self, key: &StaffKey, msg: CalendarMsg) {
        if let Some(actor) = self.inner.registry.get(key) {
            let _ = actor.cast(msg);
        }
    }

    pub fn running(&self) -> Vec<StaffKey> {
        self.inner.registry.iter().map(|e| e.key().clone()).collect()
    }

    pub fn count(&self) -> usize {
        self.inner.registry.len()
    }

    /// Whether the supervisor runs: without it no calendar can start (`/health/ready`).
    pub fn is_supervisor_running(&self) -> bool {
        self.inner.supervisor.get_status() == ActorStatus::Running
    }

    pub fn in_flight(&self) -> i64 {
        self.inner.in_flight.load(Ordering::Relaxed)
    }

    /// Stops every calendar at once, as a crash would (recovery tests; no draining, no `post_stop`).
    pub fn kill_all(&self) {
        for actor in self.inner.registry.iter() {
            actor.kill();
        }
        self.inner.supervisor.kill();
        self.inner.registry.clear();
    }

    /// Lets every calendar finish the messages it has, then stops them and the supervisor.
    pub async fn shutdown(&self, deadline: Duration) {
        let actors: Vec<ActorRef<CalendarMsg>> = self.inner.registry.iter().map(|e| e.value().clone()).collect();
        let drains = actors.iter().map(|a| a.drain_and_wait(Some(deadline)));
        futures::future::join_all(drains).await;
        let _ = self.inner.supervisor.stop_and_wait(None, Some(deadline)).await;
    }
}

struct Undelivered;

/// Counts a request while it waits for a calendar; the count drops even when the waiting caller
/// is cancelled (request timeout, client gone).
struct InFlight<'a>(&'a AtomicI64);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicI64) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
