//! Busy times from Cal.com: the pre-warm (next days of bookings made elsewhere, loaded hourly) and
//! Cal.com webhooks (a web booker's booking becomes busy time within the webhook request).
//!
//! Our own bookings (metadata `slotkeeper_booking_id`) are skipped: the store already has them.
//! A Cal.com booking is attributed to a stylist by its event type, else by its host's user id.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use chrono::{Duration as TimeDelta, Timelike};

use super::SyncError;
use super::engine::Engine;
use crate::calcom::CalcomClient;
use crate::calcom::ratelimit::Priority;
use crate::calcom::types::{Booking, BookingStatus, ListBookingsQuery};
use crate::calcom::webhook::{TriggerEvent, WebhookEvent};
use crate::calendar::{CalendarMsg, ExternalChange};
use crate::domain::{Interval, StaffId, StaffKey, Tenant};
use crate::store::ExternalBusy;

/// Cal.com's maximum page size for `GET /v2/bookings`.
const PAGE: u32 = 250;
/// Pages read at most per tenant and warm (250 × 40 = 10,000 bookings).
const MAX_PAGES: u32 = 40;

/// What a warm did.
#[derive(Debug, Default, Clone)]
pub struct WarmReport {
    pub tenants: usize,
    pub calendars: usize,
    pub bookings_seen: usize,
    pub external: usize,
    /// Calendars whose bookable time came from Cal.com's slots.
    pub windows: usize,
    pub took: Duration,
}

impl fmt::Display for WarmReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "warmed {} tenant(s), {} calendar(s): {} Cal.com bookings read, {} busy times from elsewhere, \
             bookable time of {} calendar(s) from Cal.com, in {} ms",
            self.tenants,
            self.calendars,
            self.bookings_seen,
            self.external,
            self.windows,
            self.took.as_millis()
        )
    }
}

/// Which stylist a Cal.com booking belongs to.
fn staff_of(tenant: &Tenant, event_type: i64, hosts: &[i64]) -> Option<StaffId> {
    for service in &tenant.services {
        for (staff, types) in &service.event_types {
            if types.contains(&event_type) {
                return Some(staff.clone());
            }
        }
    }
    tenant.staff.iter().find(|s| s.calcom_user_id.is_some_and(|id| hosts.contains(&id))).map(|s| s.id.clone())
}

fn event_types_of(tenant: &Tenant) -> Vec<i64> {
    let mut ids: Vec<i64> = tenant.services.iter().flat_map(|s| s.event_types.values().flatten().copied()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Bookings made elsewhere in `range`, by stylist. Also returns how many bookings were read.
async fn fetch<F, Fut>(
    tenant: &Tenant,
    range: Interval,
    mut list: F,
) -> Result<(HashMap<StaffId, Vec<ExternalBusy>>, usize), SyncError>
where
    F: FnMut(ListBookingsQuery) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Booking>, SyncError>>,
{
    let mut by_staff: HashMap<StaffId, Vec<ExternalBusy>> =
        tenant.staff.iter().map(|s| (s.id.clone(), Vec::new())).collect();
    let mut seen = 0;
    for page in 0..MAX_PAGES {
        let query = ListBookingsQuery {
            event_type_ids: event_types_of(tenant),
            after_start: Some(range.start()),
            before_end: Some(range.end()),
            take: Some(PAGE),
            skip: Some(page * PAGE),
            ..ListBookingsQuery::default()
        };
        let bookings = list(query).await?;
        let count = bookings.len();
        seen += count;
        for booking in bookings {
            if booking.status == BookingStatus::Cancelled || booking.metadata.contains_key("slotkeeper_booking_id") {
                continue;
            }
            let hosts: Vec<i64> = booking.hosts.iter().map(|h| h.id).collect();
            let (Some(staff), Ok(interval)) =
                (staff_of(tenant, booking.event_type_id, &hosts), Interval::new(booking.start, booking.end))
            else {
                continue;
            };
            by_staff.entry(staff.clone()).or_default().push(ExternalBusy { uid: booking.uid, staff, interval });
        }
        if count < PAGE as usize {
            break;
        }
    }
    Ok((by_staff, seen))
}

fn horizon(engine_now: chrono::DateTime<chrono::Utc>, days: u32) -> Interval {
    Interval::new(engine_now, engine_now + TimeDelta::days(i64::from(days.max(1)))).expect("positive horizon")
}

/// Warms every calendar of `tenant` through its actor (which stores and applies the busy times).
pub(super) async fn warm_tenant(engine: &Engine, tenant: &Tenant, report: &mut WarmReport) -> Result<(), SyncError> {
    let range = horizon(engine.clock.now(), engine.settings.warm.horizon_days);
    let key = engine.api_key(tenant);
    let (by_staff, seen) = fetch(tenant, range, |query| async move {
        engine
            .call(tenant, Priority::Cancel, || engine.client.list_bookings(key, &query))
            .await
            .map(|p| p.bookings)
            .map_err(SyncError::from)
    })
    .await?;
    report.tenants += 1;
    report.bookings_seen += seen;
    for (staff, items) in by_staff {
        report.calendars += 1;
        report.external += items.len();
        let key = tenant.staff_key(&staff);
        let change = ExternalChange::Replace { range, items };
        engine.calendars.request(&key, "warm", |reply| CalendarMsg::External(change.clone(), reply)).await?;
    }
    report.windows += super::slots::warm_tenant(engine, tenant).await;
    Ok(())
}

/// Reloads one calendar's Cal.com busy times (after Cal.com refused a mirror there).
pub(super) async fn warm_calendar(engine: &Engine, tenant: &Tenant, key: &StaffKey) -> Result<(), SyncError> {
    let range = horizon(engine.clock.now(), engine.settings.warm.horizon_days);
    let api_key = engine.api_key(tenant);
    let (mut by_staff, _) = fetch(tenant, range, |query| async move {
        engine
            .call(tenant, Priority::Cancel, || engine.client.list_bookings(api_key, &query))
            .await
            .map(|p| p.bookings)
            .map_err(SyncError::from)
    })
    .await?;
    let items = by_staff.remove(&key.staff).unwrap_or_default();
    let change = ExternalChange::Replace { range, items };
    engine.calendars.request(key, "warm", |reply| CalendarMsg::External(change.clone(), reply)).await?;
    if let Some(staff) = tenant.staff(&key.staff) {
        let dates = super::slots::horizon_dates(engine, tenant);
        super::slots::refresh(engine, tenant, staff, dates, super::slots::Reason::Warm, None).await?;
    }
    Ok(())
}

pub(super) async fn warm_all(engine: &Engine) -> WarmReport {
    let started = Instant::now();
    let mut report = WarmReport::default();
    for tenant in engine.catalogue.tenants() {
        if let Err(err) = warm_tenant(engine, tenant, &mut report).await {
            tracing::warn!(tenant = %tenant.id, error = %err, "pre-warm of cal.com busy times failed");
        }
    }
    report.took = started.elapsed();
    tracing::info!(
        tenants = report.tenants,
        calendars = report.calendars,
        bookings = report.bookings_seen,
        external = report.external,
        windows = report.windows,
        took_ms = report.took.as_millis() as u64,
        "pre-warmed cal.com busy times"
    );
    report
}

/// Warm at start, then at every full hour between `first_hour` and `last_hour` (tenant's local time).
pub(super) async fn warm_loop(engine: std::sync::Arc<Engine>, shutdown: tokio_util::sync::CancellationToken) {
    warm_all(&engine).await;
    loop {
        let now = engine.clock.now();
        let next_hour =
            now + TimeDelta::minutes(60 - i64::from(now.minute())) - TimeDelta::seconds(i64::from(now.second()));
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = engine.clock.sleep_until(next_hour) => {}
        }
        let started = Instant::now();
        let mut report = WarmReport::default();
        for tenant in engine.catalogue.tenants() {
            let local_hour = engine.clock.now().with_timezone(&tenant.tz).hour();
            if (engine.settings.warm.first_hour..=engine.settings.warm.last_hour).contains(&local_hour)
                && let Err(err) = warm_tenant(&engine, tenant, &mut report).await
            {
                tracing::warn!(tenant = %tenant.id, error = %err, "hourly pre-warm failed");
            }
        }
        report.took = started.elapsed();
        if report.tenants > 0 {
            tracing::info!(%report, "hourly pre-warm done");
        }
    }
}

/// The `warm-availability` command: straight into the store (a running service on PostgreSQL
/// learns it through notifications; a SQLite service at its next hourly warm or restart).
pub async fn warm_store(
    settings: &crate::config::Settings,
    catalogue: &crate::domain::Catalogue,
    store: &crate::store::Store,
    company: Option<&str>,
) -> Result<String, SyncError> {
    let client = CalcomClient::new(&crate::calcom::ClientConfig {
        base_url: settings.calcom.base_url.trim().to_owned(),
        connect_timeout: Duration::from_millis(settings.calcom.connect_timeout_ms),
        request_timeout: Duration::from_millis(settings.calcom.request_timeout_ms),
        pool_idle_timeout: Duration::from_secs(90),
        tcp_keepalive: Duration::from_secs(60),
    })?;
    let started = Instant::now();
    let now = chrono::Utc::now();
    let range = horizon(now, settings.calcom.warm.horizon_days);
    let mut report = WarmReport::default();
    let (mut added, mut removed) = (0, 0);
    for tenant in catalogue.tenants().iter().filter(|t| company.is_none_or(|c| t.id.as_str() == c)) {
        let key = tenant.calcom.api_key.expose();
        let client = &client;
        let (by_staff, seen) = fetch(tenant, range, |query| async move {
            client.list_bookings(key, &query).await.map(|p| p.bookings).map_err(SyncError::from)
        })
        .await?;
        report.tenants += 1;
        report.bookings_seen += seen;
        for (staff, items) in by_staff {
            report.calendars += 1;
            report.external += items.len();
            let (a, r) = store.replace_external(&tenant.staff_key(&staff), range, &items, now).await?;
            added += a;
            removed += r;
        }
    }
    if report.tenants == 0 {
        return Err(SyncError::UnknownTenant(company.unwrap_or("").to_owned()));
    }
    report.took = started.elapsed();
    Ok(format!("{report} ({added} added or moved, {removed} removed)"))
}

/// What a Cal.com webhook changed.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub effect: &'static str,
    /// Holds withdrawn because the webhook's booking took their slot.
    pub withdrawn: usize,
}

impl Applied {
    pub fn describe(&self) -> &'static str {
        self.effect
    }
}

pub(super) async fn apply_webhook(
    engine: &Engine,
    tenant: &Tenant,
    event: &WebhookEvent,
) -> Result<Applied, SyncError> {
    let payload = &event.payload;
    if payload.metadata.contains_key("slotkeeper_booking_id") {
        return Ok(Applied { effect: "own_booking", withdrawn: 0 });
    }
    let hosts: Vec<i64> = payload.organizer.iter().filter_map(|o| o.id).collect();
    let staff =
        payload.event_type_id.and_then(|et| staff_of(tenant, et, &hosts)).or_else(|| staff_of(tenant, -1, &hosts));
    let staff_ref = &staff;
    let remove = |uid: String| async move {
        match staff_ref {
            Some(staff) => {
                let key = tenant.staff_key(staff);
                engine
                    .calendars
                    .request(&key, "external", |reply| {
                        CalendarMsg::External(ExternalChange::Remove { uid: uid.clone() }, reply)
                    })
                    .await?;
            }
            None => {
                // Unknown stylist: forget it in the store and let its calendar reload.
                if let Some(key) = engine.store.remove_external(&tenant.id, &uid, engine.clock.now()).await? {
                    engine.calendars.tell(&key, CalendarMsg::Reload(None));
                }
            }
        }
        Ok::<_, SyncError>(())
    };
    let upsert = || async {
        let (Some(staff), Some(uid), Some(start), Some(end)) =
            (&staff, &payload.uid, payload.start_time, payload.end_time)
        else {
            return Ok::<_, SyncError>(None);
        };
        let Ok(interval) = Interval::new(start, end) else { return Ok(None) };
        let key = tenant.staff_key(staff);
        let busy = ExternalBusy { uid: uid.clone(), staff: staff.clone(), interval };
        let withdrawn = engine
            .calendars
            .request(&key, "external", |reply| CalendarMsg::External(ExternalChange::Upsert(busy.clone()), reply))
            .await?;
        Ok(Some(withdrawn.len()))
    };
    match &event.trigger_event {
        TriggerEvent::BookingCreated => match upsert().await? {
            Some(withdrawn) => Ok(Applied { effect: "busy_added", withdrawn }),
            None => Ok(Applied { effect: "unknown_staff", withdrawn: 0 }),
        },
        TriggerEvent::BookingCancelled => {
            if let Some(uid) = payload.uid.clone() {
                remove(uid).await?;
            }
            Ok(Applied { effect: "busy_removed", withdrawn: 0 })
        }
        TriggerEvent::BookingRescheduled => {
            if let Some(old) = payload.original_uid() {
                remove(old.to_owned()).await?;
            }
            let withdrawn = upsert().await?.unwrap_or(0);
            Ok(Applied { effect: "busy_moved", withdrawn })
        }
        TriggerEvent::Other(_) => Ok(Applied { effect: "ignored", withdrawn: 0 }),
    }
}
