//! `/admin/bookings`: bookings with their phases and Cal.com sync state, the dead letters of the
//! Cal.com outbox with a "retry" action, and cancelling a booking after a confirmation page.
//!
//! Cancelling goes through the stylist's calendar actor (it cancels in the store, frees the slot
//! in its memory and queues the Cal.com cancellation in one step), then wakes the sync pool. A
//! retry puts one dead letter back into the outbox. Both look the object up within the session's
//! tenant scope first: another tenant's id is a 404 and changes nothing.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::DateTime;
use chrono_tz::Tz;
use serde::Deserialize;

use super::auth::AdminSession;
use super::error::AdminError;
use super::format::*;
use super::views::{Chrome, Notice, Pager, TenantOption, render, tenant_name, tenant_options};
use super::{AdminState, PAGE_SIZE};
use crate::calendar::CalendarMsg;
use crate::domain::{AppointmentId, Catalogue, TenantId};
use crate::store::admin::{BookingFilter, PageRequest};
use crate::store::{Appointment, AppointmentPhase, AppointmentStatus, OutboxJob, OutboxStatus, SyncState};

/// Dead letters shown at once (they are exceptions; more means an outage to fix, not to page).
const DEAD_LETTER_LIMIT: i64 = 100;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    sync: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    notice: String,
}

pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub struct PhaseView {
    /// 1-based, as people count.
    pub number: u16,
    pub name: String,
    pub time: String,
    pub badge: Badge,
    pub attempts: i32,
    pub error: String,
    pub booking_uid: String,
}

pub struct BookingRow {
    pub id: String,
    pub tenant: String,
    pub customer: String,
    pub phone: String,
    pub service: String,
    pub staff: String,
    pub start: String,
    pub created: String,
    pub status: Badge,
    pub sync: Badge,
    pub reason: String,
    pub reservation_href: Option<String>,
    pub phases: Vec<PhaseView>,
    pub cancel_href: Option<String>,
}

pub struct DeadLetterRow {
    pub id: i64,
    pub tenant: String,
    pub booking_id: String,
    pub booking_href: String,
    pub kind: &'static str,
    pub attempts: i32,
    pub error: String,
    pub updated: String,
    pub retry_href: String,
}

#[derive(Template)]
#[template(path = "admin/bookings.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<BookingRow>,
    dead_letters: Vec<DeadLetterRow>,
    pager: Pager,
    tenants: Vec<TenantOption>,
    show_tenant: bool,
    q: String,
    status_options: Vec<Choice>,
    sync_options: Vec<Choice>,
}

/// GET /admin/bookings
pub async fn list(
    State(state): State<AdminState>,
    session: AdminSession,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, AdminError> {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let now = state.clock.now();
    let catalogue = &state.catalogue;
    let tenant = session.listing_tenant(&query.tenant, |t| catalogue.tenant(t).is_some());
    let status = AppointmentStatus::parse(&query.status);
    let sync = SyncState::parse(&query.sync);
    let page = page_number(&query.page);
    let filter = BookingFilter { tenant: tenant.clone(), status, sync, search: Some(query.q.clone()) };
    let found = state
        .store
        .list_appointments(&filter, PageRequest { limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE })
        .await?;
    let dead = state.store.dead_letters(tenant.as_ref(), DEAD_LETTER_LIMIT).await?;

    let tenant_value = tenant.as_ref().map(|t| t.to_string()).unwrap_or_default();
    let q = query.q.trim().to_owned();
    let filters = [
        ("tenant", tenant_value.as_str()),
        ("status", status.map_or("", AppointmentStatus::as_str)),
        ("sync", sync.map_or("", SyncState::as_str)),
        ("q", q.as_str()),
    ];
    let page_view = ListPage {
        chrome: Chrome::new(&session, catalogue, "bookings", &query.notice),
        rows: found.items.iter().map(|a| booking_row(catalogue, a)).collect(),
        dead_letters: dead.iter().map(|job| dead_letter_row(catalogue, job, now)).collect(),
        pager: Pager::new("/admin/bookings", &filters, page, found.total, PAGE_SIZE),
        tenants: tenant_options(&session, catalogue, tenant.as_ref()),
        show_tenant: session.is_operator(),
        q,
        status_options: choices(AppointmentStatus::ALL, status, "Alle Status", |s| {
            (s.as_str(), appointment_badge(s).label)
        }),
        sync_options: choices(SyncState::ALL, sync, "Jeder Sync-Stand", |s| (s.as_str(), sync_badge(s).label)),
    };
    render(&page_view)
}

#[derive(Template)]
#[template(path = "admin/cancel.html")]
struct ConfirmPage {
    chrome: Chrome,
    row: BookingRow,
    action: String,
}

/// GET /admin/bookings/{id}/cancel: what will be cancelled, and the button that does it.
pub async fn confirm_cancel(
    State(state): State<AdminState>,
    session: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let appointment = find(&state, &session, &id).await?;
    if appointment.status != AppointmentStatus::Confirmed {
        return Ok(back(Notice::NotCancellable));
    }
    let page = ConfirmPage {
        chrome: Chrome::new(&session, &state.catalogue, "bookings", ""),
        action: format!("/admin/bookings/{}/cancel", appointment.id),
        row: booking_row(&state.catalogue, &appointment),
    };
    render(&page)
}

/// POST /admin/bookings/{id}/cancel
pub async fn cancel(
    State(state): State<AdminState>,
    session: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let appointment = find(&state, &session, &id).await?;
    if appointment.status != AppointmentStatus::Confirmed {
        return Ok(back(Notice::NotCancellable));
    }
    let reason = format!("cancelled on the admin page by {}", session.username);
    let appointment_id = appointment.id.clone();
    let cancelled = state
        .calendars
        .request(&appointment.staff_key(), "admin_cancel", |reply| CalendarMsg::Cancel {
            appointment_id: appointment_id.clone(),
            reason: reason.clone(),
            reply,
        })
        .await?;
    if !cancelled {
        return Ok(back(Notice::NotCancellable));
    }
    state.sync.kick();
    tracing::info!(user = %session.username, appointment = %appointment_id, "admin cancelled a booking");
    Ok(back(Notice::Cancelled))
}

/// POST /admin/dead-letters/{id}/retry
pub async fn retry_dead_letter(
    State(state): State<AdminState>,
    session: AdminSession,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let id: i64 = id.trim().parse().map_err(|_| AdminError::NotFound)?;
    let job = state.store.outbox_job_in_scope(id, session.scope()).await?.ok_or(AdminError::NotFound)?;
    if job.status != OutboxStatus::Dead {
        return Ok(back(Notice::NotDead));
    }
    let now = state.clock.now();
    let moved = state.store.redrive_jobs(Some(job.id), Some(&job.tenant), now, now).await?;
    if moved == 0 {
        return Ok(back(Notice::NotDead));
    }
    state.sync.kick();
    tracing::info!(user = %session.username, job = job.id, appointment = %job.appointment_id, "admin retried a dead letter");
    Ok(back(Notice::Retried))
}

/// The booking `id` within the session's scope, or 404.
async fn find(state: &AdminState, session: &AdminSession, id: &str) -> Result<Appointment, AdminError> {
    let id = AppointmentId::new(id.trim());
    state.store.appointment_in_scope(&id, session.scope()).await?.ok_or(AdminError::NotFound)
}

fn back(notice: Notice) -> Response {
    Redirect::to(&href("/admin/bookings", &[("notice", notice.key())])).into_response()
}

fn zone(catalogue: &Catalogue, tenant: &TenantId) -> Tz {
    catalogue.tenant(tenant).map_or(chrono_tz::Europe::Berlin, |t| t.tz)
}

fn booking_row(catalogue: &Catalogue, appointment: &Appointment) -> BookingRow {
    let tz = zone(catalogue, &appointment.tenant);
    let tenant = catalogue.tenant(&appointment.tenant);
    let service = tenant
        .and_then(|t| t.service(&appointment.service))
        .map_or_else(|| appointment.service.to_string(), |s| s.name.clone());
    let staff = catalogue
        .staff(&appointment.staff_key())
        .map_or_else(|| appointment.staff.to_string(), |(_, s)| s.name.clone());
    let confirmed = appointment.status == AppointmentStatus::Confirmed;
    BookingRow {
        id: appointment.id.to_string(),
        tenant: tenant_name(catalogue, &appointment.tenant),
        customer: appointment.customer_name.clone(),
        phone: appointment.customer_phone.clone().unwrap_or_default(),
        service,
        staff,
        start: date_time(appointment.start, tz),
        created: date_time_seconds(appointment.created_at, tz),
        status: appointment_badge(appointment.status),
        sync: sync_badge(appointment.sync_state),
        reason: appointment.status_reason.clone().unwrap_or_default(),
        reservation_href: appointment.reservation_token.as_ref().map(|t| format!("/admin/reservations/{t}")),
        phases: appointment.phases.iter().map(|p| phase_view(p, tz)).collect(),
        cancel_href: confirmed.then(|| format!("/admin/bookings/{}/cancel", appointment.id)),
    }
}

fn phase_view(phase: &AppointmentPhase, tz: Tz) -> PhaseView {
    PhaseView {
        number: phase.seq + 1,
        name: phase.name.clone(),
        time: format!("{}–{}", clock_time(phase.start, tz), clock_time(phase.end, tz)),
        badge: phase_badge(phase.sync_status),
        attempts: phase.sync_attempts,
        error: phase.sync_error.clone().unwrap_or_default(),
        booking_uid: phase.booking_uid.clone().unwrap_or_default(),
    }
}

fn dead_letter_row(catalogue: &Catalogue, job: &OutboxJob, now: DateTime<chrono::Utc>) -> DeadLetterRow {
    let tz = zone(catalogue, &job.tenant);
    DeadLetterRow {
        id: job.id,
        tenant: tenant_name(catalogue, &job.tenant),
        booking_id: job.appointment_id.to_string(),
        booking_href: href("/admin/bookings", &[("q", job.appointment_id.as_str())]),
        kind: outbox_kind_label(job.kind),
        attempts: job.attempts,
        error: job.last_error.clone().unwrap_or_default(),
        updated: format!("{} ({})", date_time_seconds(job.updated_at, tz), relative_de(job.updated_at, now)),
        retry_href: format!("/admin/dead-letters/{}/retry", job.id),
    }
}

fn choices<T: Copy + PartialEq>(
    all: &[T],
    selected: Option<T>,
    any_label: &'static str,
    describe: impl Fn(T) -> (&'static str, &'static str),
) -> Vec<Choice> {
    let mut options = vec![Choice { value: "", label: any_label, selected: selected.is_none() }];
    options.extend(all.iter().map(|item| {
        let (value, label) = describe(*item);
        Choice { value, label, selected: selected == Some(*item) }
    }));
    options
}
