//! Hold mirroring: while we hold a slot for a caller, Cal.com holds it too (a slot reservation),
//! so a web booker cannot take it (invariant 2, "a hold is honoured").
//!
//! Best effort and never in the caller's way: mirrors are sent after the answer, spend Cal.com's
//! request budget only when bookings and cancellations leave enough (the limiter skips them and
//! counts `calcom_mirror_skipped_total`), and an open circuit skips them. When Cal.com says the slot
//! is already taken there, the hold is withdrawn (the caller hears alternatives at `start_booking`)
//! and that calendar's Cal.com busy times are reloaded. A booking consumes its hold's reservations
//! (`reservedSlotUid`); expiry and release delete them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::engine::{CallError, Engine};
use crate::calcom::CalcomError;
use crate::calcom::ratelimit::Priority;
use crate::calcom::types::ReserveSlot;
use crate::calendar::CalendarMsg;
use crate::domain::{ReservationToken, ServiceId, StaffKey};
use crate::store::{MirrorRecord, ReservationStatus};

/// How long a hold's Cal.com reservation can outlive the hold: a mirror asks for whole minutes
/// from when it runs (plus a request that was slow to arrive).
pub(super) const OUTLIVES: chrono::TimeDelta = chrono::TimeDelta::seconds(70);
/// How long a mirror waits for a reservation of another hold of ours to be released.
const RELEASE_WAIT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone)]
pub(super) enum MirrorTask {
    Reserve {
        key: StaffKey,
        token: ReservationToken,
        service: ServiceId,
        start: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    },
    Release {
        key: StaffKey,
        token: ReservationToken,
    },
}

/// A hold's mirror in this process: queued, then running, then gone (settled).
#[derive(Default)]
pub(super) struct Mirroring {
    settled: Notify,
    started: AtomicBool,
}

/// Marks a reservation as being mirrored (a booking of it waits for the mirror to settle).
pub(super) fn begin(engine: &Engine, token: &ReservationToken) {
    engine.mirroring.insert(token.clone(), Arc::new(Mirroring::default()));
}

fn end(engine: &Engine, token: &ReservationToken) {
    if let Some((_, mirroring)) = engine.mirroring.remove(token) {
        mirroring.settled.notify_waiters();
    }
}

/// Whether a mirror of `token` is queued in this process and has not started.
pub(super) fn queued_here(engine: &Engine, token: &ReservationToken) -> bool {
    engine.mirroring.get(token).is_some_and(|m| !m.started.load(Ordering::Acquire))
}

/// Waits (at most `limit`) until no mirror of `token` is running here. A mirror that is only
/// queued is not waited for: it starts by checking the hold, finds it booked (the booking that
/// waits here converted it first) and makes nothing. Waiting for it would be waiting for a worker
/// that this very job occupies: under a backlog every job would sit out the whole `limit`.
pub(super) async fn wait_settled(engine: &Engine, token: &ReservationToken, limit: Duration) {
    let Some(mirroring) = engine.mirroring.get(token).map(|n| n.clone()) else { return };
    if !mirroring.started.load(Ordering::Acquire) {
        return;
    }
    let notified = mirroring.settled.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    if !engine.mirroring.contains_key(token) {
        return;
    }
    let _ = tokio::time::timeout(limit, notified).await;
}

pub(super) async fn run(engine: &Engine, task: MirrorTask) {
    if engine.stopping.load(std::sync::atomic::Ordering::Relaxed) {
        if let MirrorTask::Reserve { token, .. } = &task {
            end(engine, token);
        }
        return;
    }
    match task {
        MirrorTask::Reserve { key, token, service, start, expires_at } => {
            if let Some(mirroring) = engine.mirroring.get(&token) {
                mirroring.started.store(true, Ordering::Release);
            }
            reserve(engine, &key, &token, &service, start, expires_at).await;
            end(engine, &token);
        }
        MirrorTask::Release { key, token } => release(engine, &key, &token).await,
    }
}

async fn reserve(
    engine: &Engine,
    key: &StaffKey,
    token: &ReservationToken,
    service_id: &ServiceId,
    start: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) {
    // Whatever happens, the mirror is settled afterwards: a booking of this hold then knows that
    // Cal.com holds no reservation of ours besides the recorded ones.
    let nothing = || async {
        if let Err(err) = engine.store.set_reservation_mirrors(token, &[]).await {
            tracing::warn!(token = %token, error = %err, "could not record that the hold has no mirror");
        }
    };
    let Some(tenant) = engine.catalogue.tenant(&key.tenant).cloned() else { return nothing().await };
    let (Some(service), Some(event_types)) = (tenant.service(service_id), tenant.event_types(service_id, &key.staff))
    else {
        return nothing().await;
    };
    match engine.store.get_reservation(token).await {
        Ok(Some(r)) if r.status == ReservationStatus::Active => {}
        Ok(_) => return nothing().await,
        Err(_) => return,
    }
    let minutes = ((expires_at - engine.clock.now()).num_seconds().max(1) as u64).div_ceil(60) as u32;
    let mut made = Vec::new();
    let mut taken = false;
    let busy = service.place(start).into_iter().filter(|p| p.staff_busy);
    for (n, (phase, event_type)) in busy.zip(event_types.iter().copied()).enumerate() {
        // A hold can end while its phases are being mirrored (the caller hung up): then no more
        // reservations are made, and the release that follows deletes the ones already made.
        if n > 0 && !still_active(engine, token).await {
            tracing::debug!(token = %token, "the hold ended while it was being mirrored");
            break;
        }
        let request = ReserveSlot {
            event_type_id: event_type,
            slot_start: phase.interval.start(),
            slot_duration: None,
            reservation_duration: Some(minutes),
        };
        match reserve_phase(engine, &tenant, key, token, &request, phase.interval).await {
            Ok(reservation) => {
                made.push(MirrorRecord { seq: phase.seq, uid: reservation.reservation_uid });
                // Recorded at once: a booking (here or on another node) can present it, and a
                // crash does not leave it unknown to us at Cal.com.
                if let Err(err) = engine.store.note_reservation_mirrors(token, &made).await {
                    tracing::warn!(token = %token, error = %err, "could not record a hold mirror");
                }
            }
            Err(CallError::Calcom(CalcomError::SlotTaken { message })) => {
                tracing::info!(calendar = %key, token = %token, message, "cal.com has this slot taken; withdrawing the hold");
                taken = true;
                break;
            }
            Err(err) => {
                tracing::debug!(calendar = %key, token = %token, error = %err, "hold not mirrored");
                break;
            }
        }
    }
    if let Err(err) = engine.store.set_reservation_mirrors(token, &made).await {
        tracing::warn!(token = %token, error = %err, "could not record the hold's mirrors");
    }
    if taken {
        let withdrawn = engine
            .calendars
            .request(key, "withdraw", |reply| CalendarMsg::Withdraw { token: token.clone(), reply })
            .await;
        if let Err(err) = withdrawn {
            tracing::warn!(token = %token, error = %err, "could not withdraw a hold that cal.com refused");
        }
        release(engine, key, token).await;
        if let Err(err) = super::warm::warm_calendar(engine, &tenant, key).await {
            tracing::warn!(calendar = %key, error = %err, "could not reload cal.com busy times");
        }
    }
}

async fn still_active(engine: &Engine, token: &ReservationToken) -> bool {
    let now = engine.clock.now();
    matches!(engine.store.get_reservation(token).await, Ok(Some(r)) if r.is_live(now))
}

/// One reservation. "Taken" may be a reservation of another hold of ours that ended and is
/// being released (or whose record a crash cut off): then it waits a moment and tries again, and
/// if it still cannot tell, gives up on this reservation without withdrawing the hold.
async fn reserve_phase(
    engine: &Engine,
    tenant: &crate::domain::Tenant,
    key: &StaffKey,
    token: &ReservationToken,
    request: &ReserveSlot,
    interval: crate::domain::Interval,
) -> Result<crate::calcom::types::SlotReservation, CallError> {
    let api_key = engine.api_key(tenant);
    let deadline = tokio::time::Instant::now() + RELEASE_WAIT;
    loop {
        let result = engine.call(tenant, Priority::Mirror, || engine.client.reserve_slot(api_key, request)).await;
        let Err(CallError::Calcom(CalcomError::SlotTaken { message })) = &result else { return result };
        let ours = engine.store.mirrored_holds_near(key, interval, Some(token), engine.clock.now() - OUTLIVES).await;
        if !matches!(ours, Ok(Some(_))) {
            return result;
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::info!(calendar = %key, token = %token, message, "a reservation of ours is in the way at cal.com; hold not mirrored there");
            return Err(CallError::Skipped);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Deletes the hold's Cal.com reservations before a re-check of its time (they would hide it),
/// waiting for a running mirror first. `false` if one could not be deleted (it stays recorded,
/// so the booking still presents it).
pub(super) async fn lift(engine: &Engine, tenant: &crate::domain::Tenant, token: &ReservationToken) -> bool {
    wait_settled(engine, token, RELEASE_WAIT).await;
    let Ok(mirrors) = engine.store.reservation_mirrors(token).await else { return false };
    if mirrors.is_empty() {
        return true;
    }
    let api_key = engine.api_key(tenant);
    let mut kept = Vec::new();
    for mirror in mirrors {
        let deleted =
            engine.call(tenant, Priority::Booking, || engine.client.delete_reservation(api_key, &mirror.uid)).await;
        if deleted.is_err() {
            kept.push(mirror);
        }
    }
    engine.store.set_reservation_mirrors(token, &kept).await.is_ok() && kept.is_empty()
}

async fn release(engine: &Engine, key: &StaffKey, token: &ReservationToken) {
    let Some(tenant) = engine.catalogue.tenant(&key.tenant).cloned() else { return };
    if let Ok(Some(r)) = engine.store.get_reservation(token).await
        && r.status == ReservationStatus::Converted
    {
        return; // consumed by the booking
    }
    let mirrors = match engine.store.reservation_mirrors(token).await {
        Ok(mirrors) => mirrors,
        Err(_) => return,
    };
    let api_key = engine.api_key(&tenant);
    for mirror in &mirrors {
        // Best effort: an undeleted reservation ends by itself when its duration runs out.
        let _ = engine.call(&tenant, Priority::Mirror, || engine.client.delete_reservation(api_key, &mirror.uid)).await;
    }
    if !mirrors.is_empty() {
        let _ = engine.store.set_reservation_mirrors(token, &[]).await;
    }
}
