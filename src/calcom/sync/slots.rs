//! Cal.com owns availability (with `calcom.availability_from_slots`; off by default until the
//! simulator mirrors Cal.com's per-user availability): each stylist's bookable time comes from `GET /v2/slots`
//! (`cal-api-version: 2024-09-04`, `format=range`, the salon's time zone) and is laid into the
//! stylist's calendar actor, which answers every free-time question from memory.
//!
//! Kept fresh two ways: the pre-warm (at start and hourly, the warm horizon, after the busy times)
//! and a re-check of the held time right before a hold is booked when the day's answer is older
//! than `calcom.availability_max_age_secs`. Booking webhooks need no new answer: the busy time
//! they add or remove is laid over the windows, which already count it as bookable (see
//! `calendar::windows`). Invariant: a hold that Cal.com no longer has free at that
//! re-check is never sent to Cal.com as a booking; the caller hears the conflict instead.
//!
//! One request per stylist and refresh: the slots of the stylist's shortest staff-busy event
//! type (the finest grid), whose `{start, end}` ranges together are the stylist's bookable time.
//! Schedules, date overrides, out-of-office, external calendars, minimum notice and buffers are
//! all in that answer (`getAvailableSlots` in `packages/trpc/server/routers/viewer/slots/util.ts`).

use std::time::Duration;

use chrono::{Duration as TimeDelta, NaiveDate};

use super::SyncError;
use super::engine::Engine;
use crate::calcom::ratelimit::Priority;
use crate::calcom::types::{SlotFormat, SlotsQuery};
use crate::calendar::windows::local_day;
use crate::calendar::{CalendarMsg, Recheck, WindowsUpdate};
use crate::domain::{Interval, ReservationToken, Staff, Tenant};
use crate::metrics;

/// Why bookable time is fetched (the `reason` label of `calcom_availability_refreshes_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reason {
    Warm,
    Recheck,
}

impl Reason {
    fn label(self) -> &'static str {
        match self {
            Reason::Warm => "warm",
            Reason::Recheck => "recheck",
        }
    }

    /// A caller waits on a re-check: it queues with bookings; the rest with cancellations,
    /// behind bookings (the priority order of the request budget).
    fn priority(self) -> Priority {
        if self == Reason::Recheck { Priority::Booking } else { Priority::Cancel }
    }
}

/// The event type whose slots stand for the stylist's bookable time: the shortest staff-busy
/// phase the stylist performs (ties: the lowest id, so every node asks the same).
pub(super) fn probe_event_type(tenant: &Tenant, staff: &Staff) -> Option<(i64, u32)> {
    tenant
        .services
        .iter()
        .filter_map(|service| {
            let ids = service.event_types.get(&staff.id)?;
            Some(service.busy_phases().zip(ids.iter().copied()).map(|(p, id)| (id, p.duration_minutes)))
        })
        .flatten()
        .min_by_key(|&(id, minutes)| (minutes, id))
}

/// Fetches the stylist's bookable time for the local dates `first..=last` and lays it into the
/// calendar; with `recheck`, the hold is checked against the answer (and withdrawn if it no
/// longer fits). `Ok(None)`: the stylist has no Cal.com event type (configured hours stay).
pub(super) async fn refresh(
    engine: &Engine,
    tenant: &Tenant,
    staff: &Staff,
    (first, last): (NaiveDate, NaiveDate),
    reason: Reason,
    recheck: Option<ReservationToken>,
) -> Result<Option<Recheck>, SyncError> {
    if !engine.settings.availability_from_slots {
        return Ok(None);
    }
    let Some((event_type, minutes)) = probe_event_type(tenant, staff) else { return Ok(None) };
    let key = tenant.staff_key(&staff.id);
    let Ok(span) = Interval::new(local_day(tenant.tz, first).start(), local_day(tenant.tz, last).end()) else {
        return Ok(None);
    };
    let known = engine.calendars.request(&key, "known", |reply| CalendarMsg::Known { range: span, reply }).await?;
    let query = SlotsQuery {
        event_type_id: event_type,
        start: span.start(),
        // Cal.com reads `end` inclusively; a slot at the next midnight belongs to the next day.
        end: span.end() - TimeDelta::seconds(1),
        time_zone: Some(tenant.tz.name().to_owned()),
        format: Some(SlotFormat::Range),
        duration: None,
    };
    let api_key = engine.api_key(tenant);
    let answer = engine.call(tenant, reason.priority(), || engine.client.get_slots(api_key, &query)).await;
    metrics::calcom_availability_refresh(reason.label(), answer.is_ok());
    let by_date = answer?;
    let slots: Vec<Interval> = by_date
        .values()
        .flatten()
        .filter_map(|slot| {
            let end = slot.end.unwrap_or(slot.start + TimeDelta::minutes(i64::from(minutes)));
            Interval::new(slot.start, end).ok()
        })
        .collect();
    let update = WindowsUpdate { first, last, slots, known_before: known, fetched_at: engine.clock.now(), recheck };
    let verdict =
        engine.calendars.request(&key, "windows", |reply| CalendarMsg::Windows(update.clone(), reply)).await?;
    Ok(Some(verdict))
}

/// The local dates of the warm horizon, from today.
pub(super) fn horizon_dates(engine: &Engine, tenant: &Tenant) -> (NaiveDate, NaiveDate) {
    let today = engine.clock.now().with_timezone(&tenant.tz).date_naive();
    let days = u64::from(engine.settings.warm.horizon_days.max(1));
    (today, today.checked_add_days(chrono::Days::new(days)).unwrap_or(today))
}

/// Every stylist of `tenant` over the warm horizon; returns how many calendars got Cal.com's time.
pub(super) async fn warm_tenant(engine: &Engine, tenant: &Tenant) -> usize {
    if !engine.settings.availability_from_slots {
        return 0;
    }
    let dates = horizon_dates(engine, tenant);
    let mut warmed = 0;
    for staff in &tenant.staff {
        match refresh(engine, tenant, staff, dates, Reason::Warm, None).await {
            Ok(Some(_)) => warmed += 1,
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(tenant = %tenant.id, staff = %staff.id, error = %err, "could not load bookable time from cal.com");
            }
        }
    }
    warmed
}

/// Before `token` is booked: re-checks the held time against Cal.com when the day's answer is
/// older than the configured age. The hold's own slot reservations are lifted first, because
/// Cal.com's slots treat them as someone else's (see `calendar::windows`) and would hide exactly
/// the time being checked. Anything that keeps the re-check from finishing (Cal.com slow,
/// failing, out of budget) lets the booking go on: Cal.com checks it again when it is booked.
pub(super) async fn recheck_hold(
    engine: &Engine,
    tenant: &Tenant,
    reservation: &crate::store::Reservation,
    limit: Duration,
) -> Recheck {
    if !engine.settings.availability_from_slots {
        return Recheck::NotHeld;
    }
    let Some(staff) = tenant.staff(&reservation.staff) else { return Recheck::NotHeld };
    let key = reservation.staff_key();
    let range = Interval::new(reservation.start, reservation.end.max(reservation.start + TimeDelta::minutes(1)))
        .expect("a reservation has a length");
    let max_age = TimeDelta::seconds(engine.settings.availability_max_age_secs as i64);
    let fresh = engine
        .calendars
        .request(&key, "fetched_at", |reply| CalendarMsg::FetchedAt { range, reply })
        .await
        .ok()
        .flatten()
        .is_some_and(|at| engine.clock.now() - at <= max_age);
    if fresh || probe_event_type(tenant, staff).is_none() {
        return Recheck::NotHeld;
    }
    let work = async {
        if !super::mirror::lift(engine, tenant, &reservation.token).await {
            tracing::info!(calendar = %key, "the hold's cal.com reservations could not be lifted; booking without a re-check");
            metrics::calcom_recheck("unknown");
            return Recheck::NotHeld;
        }
        let first = reservation.start.with_timezone(&tenant.tz).date_naive();
        let last = reservation.end.with_timezone(&tenant.tz).date_naive();
        match refresh(engine, tenant, staff, (first, last), Reason::Recheck, Some(reservation.token.clone())).await {
            Ok(Some(verdict)) => verdict,
            Ok(None) => Recheck::NotHeld,
            Err(err) => {
                tracing::info!(calendar = %key, error = %err, "re-check before booking not possible; booking without it");
                metrics::calcom_recheck("unknown");
                Recheck::NotHeld
            }
        }
    };
    match tokio::time::timeout(limit, work).await {
        Ok(verdict) => verdict,
        Err(_) => {
            tracing::info!(calendar = %key, "re-check before booking took too long; booking without it");
            metrics::calcom_recheck("unknown");
            Recheck::NotHeld
        }
    }
}
