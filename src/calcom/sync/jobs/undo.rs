//! Undoing and moving bookings at Cal.com: the compensation of a compound booking that Cal.com
//! refused in part (all or nothing: every phase that is or may be booked is cancelled, newest
//! first, before the appointment is failed and its slot freed), a caller's cancellation, and a
//! reschedule phase by phase. Each step is recorded per phase, so a retry after a crash or a lost
//! answer resumes where it stopped; a phase Cal.com already cancelled is recognised as done, and
//! a phase whose booking answer was lost is looked up by its metadata first (BK-5).

use super::*;

/// All or nothing: cancel what was booked (reverse order), fail the appointment, free its slot.
pub(super) async fn compensate(
    engine: &Engine,
    fence: Fence,
    tenant: &Tenant,
    appointment: &Appointment,
    reason: &str,
) -> Result<(), StoreError> {
    tracing::warn!(appointment = %appointment.id, reason, "a phase was refused by cal.com; cancelling the booked phases");
    let current = engine.store.get_appointment(&appointment.id).await?.unwrap_or_else(|| appointment.clone());
    let all_undone = cancel_phases(engine, fence, tenant, &current).await;
    let key = current.staff_key();
    let (id, why) = (current.id.clone(), format!("cal.com refused: {reason}"));
    if let Err(err) = engine
        .calendars
        .request(&key, "fail", |reply| CalendarMsg::Fail { appointment_id: id.clone(), reason: why.clone(), reply })
        .await
    {
        tracing::warn!(appointment = %current.id, error = %err, "could not free the failed booking's calendar; marking it in the store");
        engine.store.fail_appointment(&current.tenant, &current.id, &why, engine.clock.now()).await?;
    }
    let state = if all_undone { SyncState::Compensated } else { SyncState::Failed };
    engine.store.set_sync_state(fence, &current.id, state, engine.clock.now()).await?;
    if !all_undone {
        // Keep trying to cancel what is left, through the outbox.
        engine.store.enqueue_job(&current.tenant, &current.id, OutboxKind::Cancel, engine.clock.now()).await?;
    }
    metrics::booking("compensated");
    Ok(())
}

/// Cancels every phase that is (or may be) booked at Cal.com, newest first. `true` when none is left.
async fn cancel_phases(engine: &Engine, fence: Fence, tenant: &Tenant, appointment: &Appointment) -> bool {
    let mut all_done = true;
    for phase in appointment.phases.iter().rev().filter(|p| p.staff_busy) {
        let mut uid = phase.booking_uid.clone();
        if uid.is_none()
            && phase.sync_attempts > 0
            && phase.sync_status != PhaseSync::Cancelled
            && let Some(event_type) = phase.event_type_id
        {
            match find_existing(engine, tenant, event_type, phase.start, phase.end, &phase_id(appointment, phase)).await
            {
                Ok(found) => uid = found.map(|(u, _)| u),
                Err(_) => {
                    all_done = false;
                    continue;
                }
            }
        }
        let Some(uid) = uid.filter(|_| phase.sync_status != PhaseSync::Cancelled) else { continue };
        let key = engine.api_key(tenant);
        let result = engine
            .call(tenant, Priority::Cancel, || {
                engine.client.cancel_booking(key, &uid, "slotkeeper: appointment cancelled")
            })
            .await;
        let done = match result {
            Ok(_) | Err(CallError::Calcom(CalcomError::NotFound)) => true,
            Err(CallError::Calcom(CalcomError::BadRequest { .. })) => {
                // Cal.com answers 400 for a booking that is already cancelled: check before giving up.
                matches!(engine.client.get_booking(key, &uid).await, Ok(Some(b)) if b.status == BookingStatus::Cancelled)
            }
            Err(_) => false,
        };
        if done {
            let update = PhaseUpdate {
                seq: phase.seq,
                status: PhaseSync::Cancelled,
                booking_uid: None,
                booking_id: None,
                error: None,
                attempted: false,
            };
            let _ = engine.store.update_phase(fence, &appointment.id, &update, engine.clock.now()).await;
        }
        all_done &= done;
    }
    all_done
}

/// A caller's (or the admin page's) cancellation, or what compensation could not finish at once.
pub(super) async fn cancel(engine: &Engine, job: &OutboxJob) -> Result<Step, StoreError> {
    let Some((appointment, tenant)) = load(engine, job).await? else { return Ok(Step::Done(SyncOutcome::Synced)) };
    if cancel_phases(engine, job.fence(), &tenant, &appointment).await {
        let state =
            if appointment.status == AppointmentStatus::Failed { SyncState::Compensated } else { SyncState::Synced };
        engine.store.set_sync_state(job.fence(), &appointment.id, state, engine.clock.now()).await?;
        return Ok(Step::Done(SyncOutcome::Synced));
    }
    Ok(Step::Retry { error: "some phases could not be cancelled at cal.com yet".into(), counted: true, after: None })
}

/// Moves every phase to its new time: a booked one by Cal.com's reschedule, one not at Cal.com
/// yet by booking it there. A refusal is left for an operator (the caller heard the new time).
pub(super) async fn reschedule(engine: &Engine, job: &OutboxJob) -> Result<Step, StoreError> {
    let Some((appointment, tenant)) = load(engine, job).await? else { return Ok(Step::Done(SyncOutcome::Synced)) };
    if appointment.status != AppointmentStatus::Confirmed {
        return Ok(Step::Done(SyncOutcome::Synced));
    }
    let mut results = Vec::new();
    for phase in appointment.phases.iter().filter(|p| p.staff_busy && p.sync_status != PhaseSync::Synced) {
        let result = match &phase.booking_uid {
            None => book_phase(engine, job.fence(), &tenant, &appointment, phase, None, None).await,
            Some(uid) => move_phase(engine, job.fence(), &tenant, &appointment, phase, uid).await,
        };
        results.push(result);
    }
    if results.iter().all(|r| matches!(r, PhaseResult::Synced)) {
        engine.store.set_sync_state(job.fence(), &appointment.id, SyncState::Synced, engine.clock.now()).await?;
        return Ok(Step::Done(SyncOutcome::Synced));
    }
    if results.iter().any(|r| matches!(r, PhaseResult::Refused(_))) {
        // The caller was told the new time; Cal.com refuses it: an operator has to look.
        engine.store.set_sync_state(job.fence(), &appointment.id, SyncState::Failed, engine.clock.now()).await?;
        return Ok(Step::Retry { error: "cal.com refused the new time".into(), counted: true, after: None });
    }
    Ok(merge_retries(results))
}

async fn move_phase(
    engine: &Engine,
    fence: Fence,
    tenant: &Tenant,
    appointment: &Appointment,
    phase: &AppointmentPhase,
    uid: &str,
) -> PhaseResult {
    let key = engine.api_key(tenant);
    let request = RescheduleBooking {
        start: phase.start,
        rescheduling_reason: Some("rescheduled by phone".into()),
        rescheduled_by: None,
    };
    let moved = match engine
        .call(tenant, Priority::Booking, || engine.client.reschedule_booking(key, uid, &request))
        .await
    {
        Ok(booking) => Some((booking.uid, booking.id)),
        Err(CallError::Calcom(CalcomError::BadRequest { .. } | CalcomError::Timeout | CalcomError::Transport(_))) => {
            // Perhaps it moved already (the answer was lost): follow the old booking to its successor.
            match engine.client.get_booking(key, uid).await {
                Ok(Some(old)) => match old.rescheduled_to_uid {
                    Some(next) => engine
                        .client
                        .get_booking(key, &next)
                        .await
                        .ok()
                        .flatten()
                        .filter(|b| b.start == phase.start)
                        .map(|b| (b.uid, b.id)),
                    None => None,
                },
                _ => None,
            }
        }
        Err(err) => return PhaseResult::from_call(err),
    };
    match moved {
        Some((new_uid, booking_id)) => {
            let update = PhaseUpdate {
                seq: phase.seq,
                status: PhaseSync::Synced,
                booking_uid: Some(new_uid),
                booking_id: Some(booking_id),
                error: None,
                attempted: true,
            };
            let _ = engine.store.update_phase(fence, &appointment.id, &update, engine.clock.now()).await;
            PhaseResult::Synced
        }
        None => PhaseResult::Retry { error: "cal.com did not confirm the move".into(), counted: true, after: None },
    }
}
