//! Executing one outbox job: book, cancel or move an appointment's phases at Cal.com.
//!
//! * A compound booking's phases go out in parallel (settle semantics: every phase's result is
//!   recorded) or, with `parallel_booking_enabled` off, one after another.
//! * All or nothing (invariant 5): when a phase is refused for good (slot taken at Cal.com, bad
//!   request), the phases that were booked are cancelled in reverse order, the appointment ends
//!   `failed`, and its calendar intervals are freed.
//! * Exactly once (BK-5): Cal.com has no idempotency key, so before sending a phase again after an
//!   attempt whose answer was lost, we look for our booking by its metadata; and an answer that is
//!   not ours (another phase id, created long before we asked) is refused, never adopted.
//! * Transient failures retry with backoff (1 s, 5 s, 30 s), then dead-letter; rate limits and an
//!   open circuit delay the job without using up its retries.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as TimeDelta, Utc};

use super::SyncOutcome;
use super::engine::{CallError, Engine};
use crate::calcom::CalcomError;
use crate::calcom::ratelimit::Priority;
use crate::calcom::types::{BookingStatus, ListBookingsQuery, RescheduleBooking};
use crate::calendar::CalendarMsg;
use crate::domain::Tenant;
use crate::metrics;
use crate::store::appointments::PhaseUpdate;
use crate::store::{
    Appointment, AppointmentPhase, AppointmentStatus, Fence, OutboxJob, OutboxKind, PhaseSync, ReservationKind,
    StoreError, SyncState,
};

mod undo;

/// A Cal.com "success" whose booking was created this long before we asked is someone else's.
const FRESHNESS: TimeDelta = TimeDelta::minutes(5);
/// How long a booking waits for the mirror of its own hold to settle (it must consume it).
const MIRROR_SETTLE: Duration = Duration::from_secs(2);

/// What became of a job run.
pub(super) enum Step {
    Done(SyncOutcome),
    Retry { error: String, counted: bool, after: Option<Duration> },
}

enum PhaseResult {
    Synced,
    Refused(String),
    Retry { error: String, counted: bool, after: Option<Duration> },
}

impl PhaseResult {
    fn from_call(err: CallError) -> PhaseResult {
        match err {
            CallError::Calcom(CalcomError::RateLimited { retry_after }) => {
                PhaseResult::Retry { error: "rate limited by cal.com".into(), counted: false, after: retry_after }
            }
            CallError::Calcom(
                e @ (CalcomError::SlotTaken { .. } | CalcomError::BadRequest { .. } | CalcomError::NotFound),
            ) => PhaseResult::Refused(e.to_string()),
            CallError::Calcom(e) => PhaseResult::Retry { error: e.to_string(), counted: true, after: None },
            CallError::CircuitOpen(after) | CallError::Budget(after) => {
                PhaseResult::Retry { error: err_text(&err), counted: false, after: Some(after) }
            }
            CallError::Skipped => PhaseResult::Retry { error: "skipped".into(), counted: false, after: None },
        }
    }
}

fn err_text(err: &CallError) -> String {
    err.to_string()
}

/// Marks the end of a claimed job in this process, however [`run`] returns.
struct LocalJob<'a>(&'a Engine, i64);

impl Drop for LocalJob<'_> {
    fn drop(&mut self) {
        self.0.local_jobs.remove(&self.1);
    }
}

/// Runs a claimed job to its end (done, retry scheduled, or dead letter) and tells waiters.
pub(super) async fn run(engine: &Engine, job: OutboxJob) {
    let _local = LocalJob(engine, job.id);
    let started = Instant::now();
    let work = async {
        match job.kind {
            OutboxKind::Create => create(engine, &job).await,
            OutboxKind::Cancel => undo::cancel(engine, &job).await,
            OutboxKind::Reschedule => undo::reschedule(engine, &job).await,
        }
    };
    // The lease is renewed while the job runs; a job whose lease another worker took over (this
    // node stalled past it) stops at once instead of racing the new owner at Cal.com.
    let step = tokio::select! {
        step = work => step,
        () = keep_lease(engine, &job) => {
            tracing::warn!(job = job.id, appointment = %job.appointment_id, "outbox job lost its lease to another worker; stopped");
            engine.notify(job.id, SyncOutcome::Pending);
            return;
        }
    };
    let now = engine.clock.now();
    let outcome = match step {
        Ok(Step::Done(outcome)) => {
            if let Err(err) = engine.store.finish_job(job.fence(), now).await {
                tracing::warn!(job = job.id, error = %err, "could not mark outbox job done; it will run again and find its work done");
            }
            outcome
        }
        Ok(Step::Retry { error, counted, after }) => schedule_retry(engine, &job, &error, counted, after).await,
        Err(StoreError::Fenced(_)) => {
            // Another claim took the job over while this one was stalled: the database refused
            // this claim's write, and the new owner runs the job to its end.
            tracing::warn!(job = job.id, token = job.lease_token, appointment = %job.appointment_id, "outbox job's claim was taken over; its late write was refused");
            metrics::outbox_fenced();
            SyncOutcome::Pending
        }
        Err(err) => {
            // The lease runs out and the job is claimed again.
            tracing::warn!(job = job.id, error = %err, "outbox job could not reach the store");
            SyncOutcome::Pending
        }
    };
    tracing::info!(
        job = job.id, kind = %job.kind, appointment = %job.appointment_id, attempt = job.attempts + 1,
        outcome = ?outcome, took_ms = started.elapsed().as_millis() as u64, "cal.com sync job ran"
    );
    engine.notify(job.id, outcome);
    // A caller waiting on another node for this job hears of its end at once (issue 18).
    engine.store.signal(&format!("job:{}", job.id)).await;
}

/// Renews the job's lease every third of its length; returns once another worker owns the job.
async fn keep_lease(engine: &Engine, job: &OutboxJob) {
    let every = (engine.lease() / 3).to_std().unwrap_or(Duration::from_secs(1)).max(Duration::from_millis(100));
    loop {
        engine.clock.sleep(every).await;
        if !still_owner(engine, job).await {
            return;
        }
    }
}

/// Extends the lease; `false` only when another worker took the job over (a store error is not
/// proof of that: the caller carries on and the next renewal tells).
async fn still_owner(engine: &Engine, job: &OutboxJob) -> bool {
    let until = engine.clock.now() + engine.lease();
    match engine.store.renew_lease(job.fence(), until).await {
        Ok(owned) => owned,
        Err(err) => {
            tracing::warn!(job = job.id, error = %err, "could not renew the outbox lease");
            true
        }
    }
}

async fn schedule_retry(
    engine: &Engine,
    job: &OutboxJob,
    error: &str,
    counted: bool,
    after: Option<Duration>,
) -> SyncOutcome {
    let now = engine.clock.now();
    let backoff = &engine.settings.retry_backoff_secs;
    let attempts = if counted { job.attempts as usize + 1 } else { job.attempts as usize };
    if counted && attempts > backoff.len() {
        tracing::error!(job = job.id, appointment = %job.appointment_id, error, "outbox job failed after its last retry; dead letter");
        metrics::booking("dead_letter");
        if let Err(err) = engine.store.dead_letter_job(job.fence(), error, now).await {
            tracing::warn!(job = job.id, error = %err, "could not park the dead letter");
        }
        return SyncOutcome::Pending;
    }
    let base = if counted { Duration::from_secs(backoff[attempts - 1]) } else { Duration::from_secs(1) };
    let wait = after.map_or(base, |a| a.max(base));
    let next = now + TimeDelta::from_std(wait).unwrap_or(TimeDelta::seconds(60));
    if let Err(err) = engine.store.retry_job(job.fence(), next, error, counted, now).await {
        tracing::warn!(job = job.id, error = %err, "could not schedule the retry");
    }
    SyncOutcome::Pending
}

async fn load(engine: &Engine, job: &OutboxJob) -> Result<Option<(Appointment, std::sync::Arc<Tenant>)>, StoreError> {
    let Some(appointment) = engine.store.get_appointment(&job.appointment_id).await? else { return Ok(None) };
    let Some(tenant) = engine.catalogue.tenant(&appointment.tenant).cloned() else {
        tracing::error!(appointment = %appointment.id, tenant = %appointment.tenant, "tenant no longer configured; job dropped");
        return Ok(None);
    };
    Ok(Some((appointment, tenant)))
}

async fn create(engine: &Engine, job: &OutboxJob) -> Result<Step, StoreError> {
    let Some((appointment, tenant)) = load(engine, job).await? else { return Ok(Step::Done(SyncOutcome::Failed)) };
    if appointment.status != AppointmentStatus::Confirmed {
        // Cancelled before it reached Cal.com: the cancel job behind this one cleans up.
        return Ok(Step::Done(SyncOutcome::Synced));
    }
    let todo: Vec<&AppointmentPhase> =
        appointment.phases.iter().filter(|p| p.staff_busy && p.sync_status != PhaseSync::Synced).collect();
    if todo.is_empty() {
        engine.store.set_sync_state(job.fence(), &appointment.id, SyncState::Synced, engine.clock.now()).await?;
        return Ok(Step::Done(SyncOutcome::Synced));
    }
    let (mirrors, unsettled) = settled_mirrors(engine, &appointment).await?;
    let parallel = engine.flags.parallel_booking(&tenant.id);
    let started = Instant::now();
    let mut results = Vec::with_capacity(todo.len());
    if parallel {
        let bookings = todo.iter().map(|phase| {
            book_phase(engine, job.fence(), &tenant, &appointment, phase, mirrors.get(&phase.seq).cloned(), unsettled)
        });
        results = futures::future::join_all(bookings).await;
    } else {
        for phase in &todo {
            let result = book_phase(
                engine,
                job.fence(),
                &tenant,
                &appointment,
                phase,
                mirrors.get(&phase.seq).cloned(),
                unsettled,
            )
            .await;
            let refused = matches!(result, PhaseResult::Refused(_));
            results.push(result);
            if refused {
                break;
            }
        }
    }
    metrics::booking_phases(parallel, started.elapsed());
    tracing::info!(appointment = %appointment.id, phases = todo.len(), mode = if parallel { "parallel" } else { "sequential" }, took_ms = started.elapsed().as_millis() as u64, "cal.com phase bookings settled");
    if results.iter().all(|r| matches!(r, PhaseResult::Synced)) {
        engine.store.set_sync_state(job.fence(), &appointment.id, SyncState::Synced, engine.clock.now()).await?;
        metrics::booking("synced");
        return Ok(Step::Done(SyncOutcome::Synced));
    }
    if let Some(reason) =
        results.iter().find_map(|r| if let PhaseResult::Refused(reason) = r { Some(reason.clone()) } else { None })
    {
        // Compensation undoes bookings: only the job's owner may do it.
        if !still_owner(engine, job).await {
            return Ok(Step::Retry { error: "lease lost before compensation".into(), counted: false, after: None });
        }
        undo::compensate(engine, job.fence(), &tenant, &appointment, &reason).await?;
        return Ok(Step::Done(SyncOutcome::Failed));
    }
    Ok(merge_retries(results))
}

fn merge_retries(results: Vec<PhaseResult>) -> Step {
    let mut error = String::new();
    let mut counted = false;
    let mut after: Option<Duration> = None;
    for result in results {
        if let PhaseResult::Retry { error: e, counted: c, after: a } = result {
            if error.is_empty() {
                error = e;
            }
            counted |= c;
            after = match (after, a) {
                (Some(x), Some(y)) => Some(x.max(y)),
                (x, y) => x.or(y),
            };
        }
    }
    Step::Retry { error, counted, after }
}

/// The Cal.com slot reservations our hold made, by phase (waiting briefly for a mirror in flight,
/// here or on another node). When the mirror has still not settled, also until when Cal.com may
/// hold an unrecorded reservation of this hold (see [`own_work_in_the_way`]).
async fn settled_mirrors(
    engine: &Engine,
    appointment: &Appointment,
) -> Result<(HashMap<u16, String>, Option<DateTime<Utc>>), StoreError> {
    let Some(token) = &appointment.reservation_token else { return Ok((HashMap::new(), None)) };
    super::mirror::wait_settled(engine, token, MIRROR_SETTLE).await;
    let mut state = engine.store.reservation_mirror_state(token).await?;
    let hold = engine.store.get_reservation(token).await?.filter(|r| r.kind == ReservationKind::Hold);
    let mut unsettled = None;
    // A mirror still queued here makes nothing once it runs (the hold is booked now).
    let queued_here = super::mirror::queued_here(engine, token);
    if let Some(hold) = hold.filter(|_| engine.settings.mirror_holds && state.is_none() && !queued_here) {
        // A mirror runs right after its hold's answer and settles within seconds. One that has
        // not settled by then is on a stalled node or died with its process: it is not waited
        // for (an unrecorded reservation it may have left is what `unsettled` is about).
        let settle_by = hold.created_at + TimeDelta::from_std(MIRROR_SETTLE).unwrap_or_default();
        let deadline = Instant::now() + MIRROR_SETTLE;
        while state.is_none() && Instant::now() < deadline && engine.clock.now() < settle_by {
            tokio::time::sleep(Duration::from_millis(25)).await;
            state = engine.store.reservation_mirror_state(token).await?;
        }
        let latest = hold.expires_at + super::mirror::OUTLIVES;
        unsettled = state.is_none().then_some(latest);
    }
    // Known reservations are presented even while the mirror is still making the others.
    let known = match state {
        Some(settled) => settled,
        None => engine.store.reservation_mirrors(token).await?,
    };
    Ok((known.into_iter().map(|m| (m.seq, m.uid)).collect(), unsettled))
}

fn phase_id(appointment: &Appointment, phase: &AppointmentPhase) -> String {
    format!("{}:{}", appointment.id, phase.seq)
}

async fn book_phase(
    engine: &Engine,
    fence: Fence,
    tenant: &Tenant,
    appointment: &Appointment,
    phase: &AppointmentPhase,
    mirror: Option<String>,
    unsettled: Option<DateTime<Utc>>,
) -> PhaseResult {
    let store = &engine.store;
    let id = phase_id(appointment, phase);
    let record = |status: PhaseSync,
                  uid: Option<&str>,
                  booking_id: Option<i64>,
                  error: Option<&str>,
                  attempted: bool| {
        let update = PhaseUpdate {
            seq: phase.seq,
            status,
            booking_uid: uid.map(str::to_owned),
            booking_id,
            error: error.map(str::to_owned),
            attempted,
        };
        async move {
            if let Err(err) = store.update_phase(fence, &appointment.id, &update, engine.clock.now()).await {
                tracing::warn!(appointment = %appointment.id, seq = phase.seq, error = %err, "could not record a phase result");
            }
        }
    };
    let Some(event_type) = phase.event_type_id else {
        let reason = "no Cal.com event type is configured for this stylist and phase";
        record(PhaseSync::Failed, None, None, Some(reason), false).await;
        return PhaseResult::Refused(reason.into());
    };
    if phase.sync_attempts > 0 || phase.sync_status == PhaseSync::InFlight {
        // An earlier attempt may have created it and lost the answer: look before sending again.
        match find_existing(engine, tenant, event_type, phase.start, phase.end, &id).await {
            Ok(Some((uid, booking_id))) => {
                record(PhaseSync::Synced, Some(&uid), Some(booking_id), None, false).await;
                return PhaseResult::Synced;
            }
            Ok(None) => {}
            Err(err) => return PhaseResult::from_call(err),
        }
    }
    let et = match super::request::learned(engine, tenant, event_type).await {
        Ok(et) => et,
        Err(CallError::Calcom(CalcomError::NotFound)) => {
            let reason = format!("Cal.com event type {event_type} does not exist (run `slotkeeper calcom doctor`)");
            record(PhaseSync::Failed, None, None, Some(&reason), false).await;
            return PhaseResult::Refused(reason);
        }
        Err(err) => return PhaseResult::from_call(err),
    };
    let request = match super::request::create_request(tenant, appointment, phase, &et, &id, mirror.clone()) {
        Ok(request) => request,
        Err(reason) => {
            tracing::error!(appointment = %appointment.id, seq = phase.seq, tenant = %tenant.id, reason, "booking cannot be sent as the Cal.com event type requires");
            record(PhaseSync::Failed, None, None, Some(&reason), false).await;
            return PhaseResult::Refused(reason);
        }
    };
    record(PhaseSync::InFlight, None, None, None, true).await;
    let presented = mirror.is_some();
    let sent_at = engine.clock.now();
    let key = engine.api_key(tenant);
    let result = engine.call(tenant, Priority::Booking, || engine.client.create_booking(key, &request)).await;
    match result {
        Ok(booking) if is_ours(&booking.metadata, booking.created_at, &id, sent_at) => {
            record(PhaseSync::Synced, Some(&booking.uid), Some(booking.id), None, false).await;
            PhaseResult::Synced
        }
        Ok(booking) => {
            let reason = format!(
                "cal.com answered with booking {} that is not ours (created {})",
                booking.uid, booking.created_at
            );
            record(PhaseSync::Failed, None, None, Some(&reason), false).await;
            PhaseResult::Refused(reason)
        }
        Err(CallError::Calcom(err)) if err.is_ambiguous() => {
            match find_existing(engine, tenant, event_type, phase.start, phase.end, &id).await {
                Ok(Some((uid, booking_id))) => {
                    record(PhaseSync::Synced, Some(&uid), Some(booking_id), None, false).await;
                    PhaseResult::Synced
                }
                _ => {
                    record(PhaseSync::InFlight, None, None, Some(&err.to_string()), false).await;
                    PhaseResult::Retry { error: err.to_string(), counted: true, after: None }
                }
            }
        }
        Err(err) => {
            if matches!(err, CallError::Calcom(CalcomError::BadRequest { .. })) {
                // Perhaps the salon changed the event type: learn it again before the next booking.
                engine.event_types.forget(&tenant.id, event_type);
            }
            let taken = matches!(err, CallError::Calcom(CalcomError::SlotTaken { .. }));
            // The slot may be taken by this very phase: an earlier claim of the job, stalled past
            // its lease, sent it too. Its metadata tells (BK-5).
            if taken
                && let Ok(Some((uid, booking_id))) =
                    find_existing(engine, tenant, event_type, phase.start, phase.end, &id).await
            {
                record(PhaseSync::Synced, Some(&uid), Some(booking_id), None, false).await;
                return PhaseResult::Synced;
            }
            let mut result = PhaseResult::from_call(err);
            if taken
                && let Some((why, counted)) =
                    own_work_in_the_way(engine, tenant, appointment, phase, presented, unsettled).await
            {
                tracing::info!(appointment = %appointment.id, seq = phase.seq, why, "cal.com has the slot taken by our own unfinished work; retrying");
                result = PhaseResult::Retry {
                    error: format!("slot taken at cal.com by {why}"),
                    counted,
                    after: Some(Duration::from_secs(1)),
                };
            }
            let (status, text) = match &result {
                PhaseResult::Refused(reason) => (PhaseSync::Failed, reason.clone()),
                PhaseResult::Retry { error, .. } => (PhaseSync::Pending, error.clone()),
                PhaseResult::Synced => (PhaseSync::Synced, String::new()),
            };
            record(status, None, None, Some(&text), false).await;
            result
        }
    }
}

/// Is a "slot taken" from Cal.com perhaps our own doing, which goes away by itself? Two cases:
/// * this booking's own hold mirror has not settled (it runs on another node, or is slow, or a
///   crash cut it off before its reservations were recorded), so a reservation of ours that we
///   could not present may be in the way — until the latest time it can last;
/// * a booking of ours that is cancelled (or failed) here but not yet at Cal.com overlaps: the
///   slot was freed here at once, the cancellation follows through the outbox.
///
/// A web booker's booking or reservation is neither: then the refusal stands (compensation).
/// Returns why, and whether the retry counts against the job's attempts (the first case ends by
/// itself within a bounded time; the second depends on another job, which may be parked).
async fn own_work_in_the_way(
    engine: &Engine,
    tenant: &Tenant,
    appointment: &Appointment,
    phase: &AppointmentPhase,
    presented: bool,
    unsettled: Option<DateTime<Utc>>,
) -> Option<(&'static str, bool)> {
    let now = engine.clock.now();
    if !presented && unsettled.is_some_and(|latest| now < latest) {
        return Some(("this booking's own hold reservation", false));
    }
    if let Ok(interval) = crate::domain::Interval::new(phase.start, phase.end) {
        let near = engine
            .store
            .mirrored_holds_near(
                &appointment.staff_key(),
                interval,
                appointment.reservation_token.as_ref(),
                now - super::mirror::OUTLIVES,
            )
            .await;
        if near.ok().flatten().is_some() {
            return Some(("a reservation of another hold of ours that is not released yet", false));
        }
    }
    let event_types: Vec<i64> =
        tenant.services.iter().filter_map(|s| s.event_types.get(&appointment.staff)).flatten().copied().collect();
    let query = ListBookingsQuery {
        event_type_ids: event_types,
        after_start: Some(phase.start - TimeDelta::hours(12)),
        before_end: Some(phase.end + TimeDelta::hours(12)),
        take: Some(250),
        ..ListBookingsQuery::default()
    };
    let key = engine.api_key(tenant);
    let page = engine.call(tenant, Priority::Booking, || engine.client.list_bookings(key, &query)).await.ok()?;
    let ours = page.bookings.iter().any(|b| {
        b.status != BookingStatus::Cancelled
            && b.start < phase.end
            && phase.start < b.end
            && b.metadata.get("slotkeeper_booking_id").is_some_and(|other| other != appointment.id.as_str())
    });
    ours.then_some(("a booking of ours whose cancellation has not reached cal.com yet", true))
}

/// A created booking is ours when it carries our phase id, or carries no id of ours and is fresh.
fn is_ours(
    metadata: &std::collections::BTreeMap<String, String>,
    created_at: DateTime<Utc>,
    id: &str,
    sent_at: DateTime<Utc>,
) -> bool {
    match metadata.get("slotkeeper_phase_id") {
        Some(theirs) => theirs == id,
        None => created_at >= sent_at - FRESHNESS,
    }
}

/// Our booking for a phase, found by its metadata around its time.
async fn find_existing(
    engine: &Engine,
    tenant: &Tenant,
    event_type: i64,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    id: &str,
) -> Result<Option<(String, i64)>, CallError> {
    let query = ListBookingsQuery {
        event_type_ids: vec![event_type],
        after_start: Some(start - TimeDelta::minutes(1)),
        before_end: Some(end + TimeDelta::minutes(1)),
        take: Some(100),
        ..ListBookingsQuery::default()
    };
    let key = engine.api_key(tenant);
    let page = engine.call(tenant, Priority::Booking, || engine.client.list_bookings(key, &query)).await?;
    Ok(page
        .bookings
        .into_iter()
        .find(|b| {
            b.status != BookingStatus::Cancelled
                && b.metadata.get("slotkeeper_phase_id").map(String::as_str) == Some(id)
        })
        .map(|b| (b.uid, b.id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn only_our_own_bookings_are_adopted() {
        let mut ours = std::collections::BTreeMap::new();
        ours.insert("slotkeeper_phase_id".to_owned(), "apt_1:0".to_owned());
        let sent = t("2026-11-25T10:00:00Z");
        assert!(is_ours(&ours, sent, "apt_1:0", sent));
        assert!(!is_ours(&ours, sent, "apt_2:0", sent), "another call's booking");
        let none = std::collections::BTreeMap::new();
        assert!(is_ours(&none, t("2026-11-25T09:58:00Z"), "apt_1:0", sent));
        assert!(!is_ours(&none, t("2026-11-25T09:25:00Z"), "apt_1:0", sent), "created 35 minutes before we asked");
    }
}
