//! The calendar actor: the only writer of one staff member's slots in this process.
//!
//! Every decision about the calendar (is it free? hold it, book it, release it) is a message to
//! this actor, handled one at a time, so two callers can never both be told they have the same
//! time (BK-1 on one node). Each change is written through to the store *before* the answer;
//! the store's constraint is the arbiter across nodes, and when it disagrees with this view, the
//! actor reloads from the store and answers "taken". Holds expire by the actor's own timers,
//! versioned so a timer armed before a reload or a conversion is ignored; the sweeper and the
//! time check in every decision make timers an accelerator, not a requirement (BK-4).
//!
//! Free-slot questions are answered from memory, without I/O.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration as TimeDelta, Utc};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::build::{appointment_for, phases_for, reservation_for};
use super::messages::*;
use super::state::{CalendarState, HoldEntry, Owner};
use super::windows::CalcomWindows;
use crate::clock::Clock;
use crate::domain::availability::{SlotQuery, fits, free_starts};
use crate::domain::{Catalogue, ReservationToken, Service, StaffKey, Tenant};
use crate::metrics;
use crate::store::{Conversion, ConvertResult, HoldInsert, ReservationKind, ReservationStatus, Store, StoreError};

mod calcom;

/// Intervals that ended before this long ago are not loaded (nothing can be booked in the past).
const LOOKBACK_HOURS: i64 = 24;

/// What every calendar actor shares.
#[derive(Clone)]
pub struct CalendarContext {
    pub store: Store,
    pub clock: Clock,
    pub catalogue: Arc<Catalogue>,
    /// Hold events for the Cal.com mirror (best effort: dropped when the mirror lags far behind).
    pub events: Option<mpsc::Sender<CalendarEvent>>,
}

pub struct CalendarArgs {
    pub key: StaffKey,
    pub ctx: CalendarContext,
}

pub struct CalendarActor;

pub struct ActorState {
    key: StaffKey,
    tenant: Arc<Tenant>,
    staff_index: usize,
    cal: CalendarState,
    timers: HashMap<ReservationToken, JoinHandle<()>>,
    /// Cal.com busy times are known (pre-warmed) up to here.
    warm_until: Option<DateTime<Utc>>,
    /// Cal.com's bookable time, by local date (configured hours where it has not answered).
    calcom: CalcomWindows,
    ctx: CalendarContext,
    myself: ActorRef<CalendarMsg>,
}

impl Actor for CalendarActor {
    type Msg = CalendarMsg;
    type State = ActorState;
    type Arguments = CalendarArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<CalendarMsg>,
        args: CalendarArgs,
    ) -> Result<ActorState, ActorProcessingErr> {
        let CalendarArgs { key, ctx } = args;
        let (tenant, staff_index) = {
            let tenant = ctx.catalogue.tenant(&key.tenant).ok_or_else(|| format!("unknown tenant {}", key.tenant))?;
            let index =
                tenant.staff.iter().position(|s| s.id == key.staff).ok_or_else(|| format!("unknown staff {key}"))?;
            (tenant.clone(), index)
        };
        let since = ctx.clock.now() - TimeDelta::hours(LOOKBACK_HOURS);
        let snapshot = ctx.store.load_calendar(&key, since).await?;
        let mut state = ActorState {
            key,
            tenant,
            staff_index,
            cal: CalendarState::from_snapshot(snapshot),
            timers: HashMap::new(),
            warm_until: None,
            calcom: CalcomWindows::default(),
            ctx,
            myself,
        };
        state.arm_all();
        tracing::debug!(calendar = %state.key, holds = state.cal.holds().count(), "calendar actor started");
        Ok(state)
    }

    async fn handle(
        &self,
        _myself: ActorRef<CalendarMsg>,
        msg: CalendarMsg,
        state: &mut ActorState,
    ) -> Result<(), ActorProcessingErr> {
        // Every actor's processing-loop future embeds this future for its whole life; boxing the
        // message handling keeps an idle calendar small (the store futures inside are tens of KB).
        Box::pin(dispatch(msg, state)).await
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<CalendarMsg>,
        state: &mut ActorState,
    ) -> Result<(), ActorProcessingErr> {
        for (_, timer) in state.timers.drain() {
            timer.abort();
        }
        Ok(())
    }
}

/// Handles one message (see [`CalendarActor::handle`], which boxes this future).
async fn dispatch(msg: CalendarMsg, state: &mut ActorState) -> Result<(), ActorProcessingErr> {
    match msg {
        CalendarMsg::FindFree(query, reply) => {
            let _ = reply.send(state.find_free(&query));
        }
        CalendarMsg::Hold(request, reply) => {
            let result = state.hold(request).await;
            let _ = reply.send(result);
        }
        CalendarMsg::Validate { token, call_id, reply } => {
            let result = state.validate(&token, &call_id).await;
            let _ = reply.send(result);
        }
        CalendarMsg::Convert(request, reply) => {
            let result = state.convert(request).await;
            let _ = reply.send(result);
        }
        CalendarMsg::BookDirect(request, reply) => {
            let result = state.book_direct(request).await;
            let _ = reply.send(result);
        }
        CalendarMsg::Reschedule(request, reply) => {
            let result = state.reschedule(request).await;
            let _ = reply.send(result);
        }
        CalendarMsg::Release { token, call_id, reason, reply } => {
            let result = state.end_hold(&token, call_id.as_deref(), reason, HoldEnd::Released).await;
            let _ = reply.send(result);
        }
        CalendarMsg::Withdraw { token, reply } => {
            let result = state.end_hold(&token, None, "conflict", HoldEnd::Conflict).await;
            let _ = reply.send(result);
        }
        CalendarMsg::Cancel { appointment_id, reason, reply } => {
            let now = state.ctx.clock.now();
            let result = state.ctx.store.cancel_appointment(&state.key.tenant, &appointment_id, &reason, now).await;
            if let Ok(true) = result {
                state.cal.remove_booking(&appointment_id);
            }
            let _ = reply.send(result.map_err(CalendarError::from));
        }
        CalendarMsg::Fail { appointment_id, reason, reply } => {
            let now = state.ctx.clock.now();
            let result = state.ctx.store.fail_appointment(&state.key.tenant, &appointment_id, &reason, now).await;
            if let Ok(true) = result {
                state.cal.remove_booking(&appointment_id);
            }
            let _ = reply.send(result.map_err(CalendarError::from));
        }
        CalendarMsg::ForgetBooking(appointment_id) => {
            state.cal.remove_booking(&appointment_id);
        }
        CalendarMsg::External(change, reply) => {
            let result = state.external(change).await;
            let _ = reply.send(result);
        }
        CalendarMsg::Known { range, reply } => {
            let _ = reply.send(Ok(state.known(&range)));
        }
        CalendarMsg::FetchedAt { range, reply } => {
            let _ = reply.send(Ok(state.fetched_at(&range)));
        }
        CalendarMsg::Windows(update, reply) => {
            let verdict = state.apply_windows(update).await;
            let _ = reply.send(Ok(verdict));
        }
        CalendarMsg::Reload(reply) => {
            if let Err(err) = state.reload().await {
                tracing::warn!(calendar = %state.key, error = %err, "calendar reload failed");
            }
            if let Some(reply) = reply {
                let _ = reply.send(());
            }
        }
        CalendarMsg::Expire { token, version } => state.expire(&token, version).await,
        CalendarMsg::Forget(tokens) => {
            for token in tokens {
                if state.cal.remove_hold(&token).is_some() {
                    state.disarm(&token);
                    state.emit(CalendarEvent::HoldEnded { key: state.key.clone(), token, reason: HoldEnd::Expired });
                }
            }
        }
        CalendarMsg::Snapshot(reply) => {
            let now = state.ctx.clock.now();
            let intervals = state
                .cal
                .live_intervals(now)
                .into_iter()
                .map(|(interval, owner)| {
                    let label = match owner {
                        Owner::Hold(h) => format!("hold {}", h.token),
                        Owner::Booking(id) => format!("booking {id}"),
                        Owner::External(uid) => format!("external {uid}"),
                    };
                    (interval, label)
                })
                .collect();
            let _ = reply.send(intervals);
        }
        CalendarMsg::Crash => panic!("calendar actor {} asked to crash (fault injection)", state.key),
    }
    debug_assert_eq!(state.cal.overlapping_pairs(state.ctx.clock.now()), 0, "BK-1 violated in {}", state.key);
    Ok(())
}

impl ActorState {
    fn service(&self, id: &crate::domain::ServiceId) -> Result<&Service, CalendarError> {
        let staff = &self.tenant.staff[self.staff_index];
        if !staff.performs(id) {
            return Err(CalendarError::Unknown);
        }
        self.tenant.service(id).ok_or(CalendarError::Unknown)
    }

    fn find_free(&self, query: &FreeQuery) -> FreeSlots {
        let Ok(service) = self.service(&query.service) else { return FreeSlots::default() };
        let now = self.ctx.clock.now();
        let windows = self.windows(query.range.start(), query.range.end());
        let free = self.cal.free_time(&windows, now);
        let layout = service.busy_layout();
        let starts = free_starts(&SlotQuery {
            layout: &layout,
            windows: &windows,
            free: &free,
            step_minutes: self.tenant.rules.slot_step_minutes,
            tz: self.tenant.tz,
            not_before: query.not_before.max(now),
            range: query.range,
            limit: query.limit,
        });
        FreeSlots { starts, cache_hit: self.is_warm(query.range.end()) }
    }

    /// Cal.com's busy times are known (pre-warmed) up to `until`.
    fn is_warm(&self, until: DateTime<Utc>) -> bool {
        self.warm_until.is_some_and(|warm| until <= warm)
    }

    async fn hold(&mut self, request: HoldRequest) -> Result<HoldOutcome, CalendarError> {
        let service = self.service(&request.service)?.clone();
        let now = self.ctx.clock.now();
        let busy = service.busy_intervals(request.start);
        let span = service.span(request.start);
        if request.start < now {
            return Err(CalendarError::OutsideHours);
        }
        let windows = self.windows(span.start(), span.end());
        let free = self.cal.free_time(&windows, now);
        if !fits(&service.busy_layout(), request.start, &free) {
            let conflicts = self.cal.conflicts(&busy, now);
            if let [Owner::Hold(existing)] = conflicts.as_slice()
                && existing.call_id == request.call_id
                && existing.service == request.service
                && existing.start == request.start
            {
                return Ok(HoldOutcome::AlreadyHeld(self.grant(existing, span.end())));
            }
            return Err(if conflicts.is_empty() { CalendarError::OutsideHours } else { CalendarError::SlotTaken });
        }
        let ttl =
            TimeDelta::from_std(request.ttl).map_err(|_| CalendarError::Unavailable("ttl out of range".into()))?;
        let expires_at = now + ttl;
        let reservation = reservation_for(&self.key, &service, &request, ReservationKind::Hold, span, expires_at, now);
        match self.ctx.store.insert_hold(HoldInsert { reservation: &reservation, busy: &busy, now }).await {
            Ok(swept) => self.forget_swept(swept),
            Err(StoreError::SlotTaken) => {
                // Another node holds or booked it: our view was stale. Learn, then say "taken".
                if let Err(err) = self.reload().await {
                    tracing::warn!(calendar = %self.key, error = %err, "reload after conflict failed");
                }
                return Err(CalendarError::SlotTaken);
            }
            Err(other) => return Err(other.into()),
        }
        let entry = HoldEntry {
            token: request.token.clone(),
            call_id: request.call_id,
            service: request.service.clone(),
            start: request.start,
            is_compound: service.is_compound(),
            expires_at,
            created_at: now,
            version: 0,
        };
        let version = self.cal.add_hold(entry, busy.clone());
        self.arm(request.token.clone(), version, expires_at);
        metrics::reservation_created(service.is_compound(), service.id.as_str());
        self.emit(CalendarEvent::HoldCreated {
            key: self.key.clone(),
            token: request.token.clone(),
            service: request.service,
            start: request.start,
            expires_at,
        });
        let cache_hit = self.is_warm(span.end());
        Ok(HoldOutcome::Held(HoldGrant {
            token: request.token,
            key: self.key.clone(),
            start: request.start,
            end: span.end(),
            expires_at,
            busy,
            cache_hit,
        }))
    }

    fn grant(&self, hold: &HoldEntry, end: DateTime<Utc>) -> HoldGrant {
        HoldGrant {
            token: hold.token.clone(),
            key: self.key.clone(),
            start: hold.start,
            end,
            expires_at: hold.expires_at,
            busy: self.cal.hold_intervals(&hold.token).map(<[_]>::to_vec).unwrap_or_default(),
            cache_hit: self.is_warm(end),
        }
    }

    async fn validate(&mut self, token: &ReservationToken, call_id: &str) -> Result<Validation, CalendarError> {
        let now = self.ctx.clock.now();
        if let Some(hold) = self.cal.hold(token) {
            if hold.call_id != call_id {
                return Ok(Validation::NotFound);
            }
            return Ok(if hold.is_live(now) {
                Validation::Valid { expires_at: hold.expires_at }
            } else {
                Validation::Expired
            });
        }
        let Some(reservation) = self.ctx.store.get_reservation(token).await? else {
            return Ok(Validation::NotFound);
        };
        if reservation.call_id != call_id || reservation.staff_key() != self.key {
            return Ok(Validation::NotFound);
        }
        Ok(match reservation.status {
            ReservationStatus::Converted => {
                reservation.converted_appointment_id.map(Validation::Converted).unwrap_or(Validation::NotFound)
            }
            ReservationStatus::Expired => Validation::Expired,
            ReservationStatus::Cancelled if reservation.status_reason.as_deref() == Some("conflict") => {
                Validation::Conflict
            }
            ReservationStatus::Cancelled => Validation::Released,
            ReservationStatus::Active if reservation.expires_at <= now => Validation::Expired,
            ReservationStatus::Active if reservation.kind == ReservationKind::Offer => {
                Validation::Valid { expires_at: reservation.expires_at }
            }
            ReservationStatus::Active => {
                // Held in the store but not in memory: another node made it. Learn it.
                self.reload().await?;
                if self.cal.hold(token).is_some() {
                    Validation::Valid { expires_at: reservation.expires_at }
                } else {
                    Validation::Conflict
                }
            }
        })
    }

    async fn convert(&mut self, request: ConvertRequest) -> Result<ConvertOutcome, CalendarError> {
        let validation = self.validate(&request.token, &request.call_id).await?;
        if !matches!(validation, Validation::Valid { .. }) {
            return Ok(ConvertOutcome::Rejected(validation));
        }
        let hold = self.cal.hold(&request.token).cloned().ok_or(CalendarError::Unavailable("hold vanished".into()))?;
        let service = self.service(&hold.service)?.clone();
        let now = self.ctx.clock.now();
        let appointment = appointment_for(&self.tenant, self.staff_index, &service, hold.start, &request, now);
        let conversion = Conversion {
            token: &request.token,
            call_id: &request.call_id,
            appointment: &appointment,
            now,
            occupy: None,
        };
        let job_id = match self.ctx.store.convert_hold(conversion).await? {
            ConvertResult::Converted { job_id } => job_id,
            ConvertResult::NotActive => {
                self.reload().await?;
                let validation = self.validate(&request.token, &request.call_id).await?;
                return Ok(ConvertOutcome::Rejected(if matches!(validation, Validation::Valid { .. }) {
                    Validation::Conflict
                } else {
                    validation
                }));
            }
        };
        self.cal.convert_hold(&request.token, appointment.id.clone());
        self.disarm(&request.token);
        let held_for = (now - hold.created_at).to_std().unwrap_or_default();
        metrics::reservation_converted(service.is_compound(), service.id.as_str(), held_for);
        self.emit(CalendarEvent::HoldEnded { key: self.key.clone(), token: request.token, reason: HoldEnd::Converted });
        Ok(ConvertOutcome::Booked(Booked {
            appointment_id: appointment.id,
            key: self.key.clone(),
            service: service.id.clone(),
            start: appointment.start,
            end: appointment.end,
            outbox_job: job_id,
        }))
    }

    /// Reservations off: check then book in one step (the old behaviour; the slot may be gone).
    async fn book_direct(&mut self, request: DirectRequest) -> Result<Booked, CalendarError> {
        let service = self.service(&request.service)?.clone();
        let now = self.ctx.clock.now();
        let span = service.span(request.start);
        let windows = self.windows(span.start(), span.end());
        if request.start < now || !fits(&service.busy_layout(), request.start, &self.cal.free_time(&windows, now)) {
            return Err(CalendarError::SlotTaken);
        }
        let convert = ConvertRequest {
            token: request.token.clone(),
            call_id: request.call_id.clone(),
            appointment_id: request.appointment_id,
            customer: request.customer,
        };
        let appointment = appointment_for(&self.tenant, self.staff_index, &service, request.start, &convert, now);
        let busy = appointment.busy_intervals();
        let conversion = Conversion {
            token: &request.token,
            call_id: &request.call_id,
            appointment: &appointment,
            now,
            occupy: Some(&busy),
        };
        let job_id = match self.ctx.store.convert_hold(conversion).await {
            Ok(ConvertResult::Converted { job_id }) => job_id,
            Ok(ConvertResult::NotActive) => return Err(CalendarError::SlotTaken),
            Err(StoreError::SlotTaken) => {
                // Another node booked it: learn, then say "taken" (alternatives, never an error).
                if let Err(err) = self.reload().await {
                    tracing::warn!(calendar = %self.key, error = %err, "reload after conflict failed");
                }
                return Err(CalendarError::SlotTaken);
            }
            Err(other) => return Err(other.into()),
        };
        self.cal.add_booking(appointment.id.clone(), busy);
        Ok(Booked {
            appointment_id: appointment.id,
            key: self.key.clone(),
            service: service.id.clone(),
            start: appointment.start,
            end: appointment.end,
            outbox_job: job_id,
        })
    }

    async fn reschedule(&mut self, request: RescheduleRequest) -> Result<Option<Booked>, CalendarError> {
        let Some(appointment) = self.ctx.store.get_appointment(&request.appointment_id).await? else {
            return Ok(None);
        };
        if appointment.staff_key() != self.key {
            return Err(CalendarError::Unknown);
        }
        let service = self.service(&appointment.service)?.clone();
        let now = self.ctx.clock.now();
        let span = service.span(request.new_start);
        let windows = self.windows(span.start(), span.end());
        let free = self.cal.free_time_without_booking(&windows, now, &appointment.id);
        if request.new_start < now || !fits(&service.busy_layout(), request.new_start, &free) {
            return Err(CalendarError::SlotTaken);
        }
        let new_phases = phases_for(&self.tenant, self.staff_index, &service, request.new_start);
        let job_id = match self.ctx.store.reschedule_appointment(&appointment, &new_phases, now).await {
            Ok(Some(job_id)) => job_id,
            Ok(None) => return Ok(None),
            Err(StoreError::SlotTaken) => {
                // Another node has the new time: learn it, so the alternatives offered are free.
                if let Err(err) = self.reload().await {
                    tracing::warn!(calendar = %self.key, error = %err, "reload after conflict failed");
                }
                return Err(CalendarError::SlotTaken);
            }
            Err(other) => return Err(other.into()),
        };
        self.cal.add_booking(appointment.id.clone(), service.busy_intervals(request.new_start));
        Ok(Some(Booked {
            appointment_id: appointment.id,
            key: self.key.clone(),
            service: service.id.clone(),
            start: span.start(),
            end: span.end(),
            outbox_job: job_id,
        }))
    }

    async fn end_hold(
        &mut self,
        token: &ReservationToken,
        call_id: Option<&str>,
        reason: &'static str,
        end: HoldEnd,
    ) -> Result<bool, CalendarError> {
        let now = self.ctx.clock.now();
        let Some(_) = self.ctx.store.cancel_hold(token, call_id, reason, now).await? else {
            return Ok(false);
        };
        self.cal.remove_hold(token);
        self.disarm(token);
        metrics::reservation_released(reason);
        self.emit(CalendarEvent::HoldEnded { key: self.key.clone(), token: token.clone(), reason: end });
        Ok(true)
    }

    async fn expire(&mut self, token: &ReservationToken, version: u64) {
        let Some(hold) = self.cal.hold(token) else { return };
        if hold.version != version {
            return;
        }
        let now = self.ctx.clock.now();
        if hold.is_live(now) {
            // Woken early (clock adjusted): wait again.
            let expires_at = hold.expires_at;
            self.arm(token.clone(), version, expires_at);
            return;
        }
        match self.ctx.store.expire_hold(token, now).await {
            Ok(Some(due)) => {
                self.cal.remove_hold(token);
                self.timers.remove(token);
                metrics::reservation_expired(due.is_compound);
                self.emit(CalendarEvent::HoldEnded {
                    key: self.key.clone(),
                    token: token.clone(),
                    reason: HoldEnd::Expired,
                });
            }
            Ok(None) => {
                // Converted or ended elsewhere: the store knows better.
                if let Err(err) = self.reload().await {
                    tracing::warn!(calendar = %self.key, error = %err, "reload after expiry race failed");
                }
            }
            Err(err) => {
                // The hold is already treated as expired by every decision; retry the write later.
                tracing::warn!(calendar = %self.key, token = %token, error = %err, "could not mark hold expired; retrying");
                let retry_at = now + TimeDelta::seconds(1);
                self.arm(token.clone(), version, retry_at);
            }
        }
    }

    async fn external(&mut self, change: ExternalChange) -> Result<Vec<ReservationToken>, CalendarError> {
        let now = self.ctx.clock.now();
        let hit = match change {
            ExternalChange::Upsert(busy) => {
                self.ctx.store.upsert_external(&self.key.tenant, &busy, "webhook", now).await?;
                self.cal.upsert_external(busy.uid, busy.interval)
            }
            ExternalChange::Remove { uid } => {
                self.ctx.store.remove_external(&self.key.tenant, &uid, now).await?;
                self.cal.remove_external(&uid);
                Vec::new()
            }
            ExternalChange::Replace { range, items } => {
                self.ctx.store.replace_external(&self.key, range, &items, now).await?;
                self.reload().await?;
                self.warm_until = Some(self.warm_until.map_or(range.end(), |u| u.max(range.end())));
                let ours: Vec<_> = items
                    .iter()
                    .flat_map(|b| self.cal.conflicts(&[b.interval], now))
                    .filter_map(|o| match o {
                        Owner::Hold(h) => Some(h.token.clone()),
                        _ => None,
                    })
                    .collect();
                ours
            }
        };
        let mut withdrawn = Vec::new();
        for token in hit {
            if self.end_hold(&token, None, "conflict", HoldEnd::Conflict).await? {
                withdrawn.push(token);
            }
        }
        Ok(withdrawn)
    }

    async fn reload(&mut self) -> Result<(), StoreError> {
        let since = self.ctx.clock.now() - TimeDelta::hours(LOOKBACK_HOURS);
        let snapshot = self.ctx.store.load_calendar(&self.key, since).await?;
        let before: Vec<ReservationToken> = self.cal.holds().map(|h| h.token.clone()).collect();
        for (_, timer) in self.timers.drain() {
            timer.abort();
        }
        self.cal = CalendarState::from_snapshot(snapshot);
        for token in before.into_iter().filter(|t| self.cal.hold(t).is_none()) {
            self.emit(CalendarEvent::HoldEnded { key: self.key.clone(), token, reason: HoldEnd::Expired });
        }
        self.arm_all();
        Ok(())
    }

    fn forget_swept(&mut self, swept: Vec<crate::store::DueHold>) {
        for due in swept {
            if self.cal.remove_hold(&due.token).is_some() {
                self.disarm(&due.token);
            }
            metrics::reservation_expired(due.is_compound);
            self.emit(CalendarEvent::HoldEnded { key: self.key.clone(), token: due.token, reason: HoldEnd::Expired });
        }
    }

    fn arm_all(&mut self) {
        let holds: Vec<(ReservationToken, u64, DateTime<Utc>)> =
            self.cal.holds().map(|h| (h.token.clone(), h.version, h.expires_at)).collect();
        for (token, version, expires_at) in holds {
            self.arm(token, version, expires_at);
        }
    }

    fn arm(&mut self, token: ReservationToken, version: u64, at: DateTime<Utc>) {
        let clock = self.ctx.clock.clone();
        let actor = self.myself.clone();
        let for_timer = token.clone();
        let timer = tokio::spawn(async move {
            clock.sleep_until(at).await;
            let _ = actor.cast(CalendarMsg::Expire { token: for_timer, version });
        });
        if let Some(old) = self.timers.insert(token, timer) {
            old.abort();
        }
    }

    fn disarm(&mut self, token: &ReservationToken) {
        if let Some(timer) = self.timers.remove(token) {
            timer.abort();
        }
    }

    fn emit(&self, event: CalendarEvent) {
        if let Some(events) = &self.ctx.events
            && events.try_send(event).is_err()
        {
            tracing::debug!(calendar = %self.key, "hold mirror queue full; event dropped");
        }
    }
}
