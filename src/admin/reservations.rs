//! `/admin/reservations`: the seed's reservation list (token with copy button, status badge, call
//! id, customer, service, start in the salon's zone, compound, relative expiry, created), filters,
//! search, sort, pages; a detail page per token; the live count of active holds; releasing a hold.
//!
//! Every query carries the session's tenant scope, so another tenant's token is "not found" here
//! exactly as an invented one is. Status is decided by time ([`effective_status`]). Releasing goes
//! through the stylist's calendar actor, which frees the slot in memory and in the store together.

use askama::Template;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::auth::AdminSession;
use super::error::AdminError;
use super::format::*;
use super::views::{Chrome, Notice, Pager, TenantOption, render, tenant_name, tenant_options};
use super::{AdminState, PAGE_SIZE};
use crate::calendar::CalendarMsg;
use crate::domain::{Catalogue, ReservationToken};
use crate::store::admin::{PageRequest, ReservationFilter, ReservationSort};
use crate::store::{PhaseRecord, Reservation, ReservationKind, ReservationStatus};

/// The list's query: all text, so an odd value is ignored instead of failing the page.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    tenant: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    #[serde(default)]
    notice: String,
}

pub struct SelectOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// A column header that sorts: its link and, when it is the current order, an arrow.
pub struct SortHeader {
    pub href: String,
    pub arrow: &'static str,
}

pub struct ReservationRow {
    pub token: String,
    pub detail_href: String,
    pub badge: Badge,
    /// The time-decided status (`active`, …), for the live script.
    pub status_key: &'static str,
    pub is_offer: bool,
    pub call_id: String,
    pub customer: String,
    pub service: String,
    pub start: String,
    pub compound: &'static str,
    pub expires_relative: String,
    pub expires_absolute: String,
    /// `08:02:00`: the expiry of a finished reservation, as history.
    pub expires_time: String,
    pub expires_ms: i64,
    /// Active or expired: the expiry matters and is shown relative (and kept ticking); for a
    /// booked or cancelled one it is history and shown as a time.
    pub expires_live: bool,
    pub created: String,
    pub tenant: String,
}

#[derive(Template)]
#[template(path = "admin/reservations.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<ReservationRow>,
    pager: Pager,
    tenants: Vec<TenantOption>,
    show_tenant: bool,
    q: String,
    status_options: Vec<SelectOption>,
    kind_options: Vec<SelectOption>,
    sort: String,
    sort_created: SortHeader,
    sort_start: SortHeader,
    sort_expires: SortHeader,
    active_count: u64,
    count_href: String,
    reset_href: String,
}

/// GET /admin/reservations
pub async fn list(
    State(state): State<AdminState>,
    session: AdminSession,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, AdminError> {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let now = state.clock.now();
    let catalogue = &state.catalogue;
    let tenant = session.listing_tenant(&query.tenant, |t| catalogue.tenant(t).is_some());
    let status = ReservationStatus::parse(&query.status);
    let kind = ReservationKind::parse(&query.kind);
    let sort = ReservationSort::parse(&query.sort).unwrap_or_default();
    let page = page_number(&query.page);
    let filter = ReservationFilter { tenant: tenant.clone(), status, kind, search: Some(query.q.clone()), sort };
    let found = state
        .store
        .list_reservations(&filter, PageRequest { limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE }, now)
        .await?;
    let active_count = state.store.count_live_holds(tenant.as_ref(), now).await?;

    let tenant_value = tenant.as_ref().map(|t| t.to_string()).unwrap_or_default();
    let q = query.q.trim().to_owned();
    let status_value = status.map_or("", ReservationStatus::as_str);
    let kind_value = kind.map_or("", ReservationKind::as_str);
    let filters =
        [("tenant", tenant_value.as_str()), ("status", status_value), ("kind", kind_value), ("q", q.as_str())];
    let with_sort = |next: ReservationSort| {
        let mut pairs = filters.to_vec();
        if next != ReservationSort::default() {
            pairs.push(("sort", next.as_str()));
        }
        href("/admin/reservations", &pairs)
    };
    let header = |desc, asc, first| sort_header(sort, [desc, asc], first, &with_sort);
    let mut pager_filters = filters.to_vec();
    if sort != ReservationSort::default() {
        pager_filters.push(("sort", sort.as_str()));
    }
    let page_view = ListPage {
        chrome: Chrome::new(&session, catalogue, "reservations", ""),
        rows: found.items.iter().map(|r| row(catalogue, r, now)).collect(),
        pager: Pager::new("/admin/reservations", &pager_filters, page, found.total, PAGE_SIZE),
        tenants: tenant_options(&session, catalogue, tenant.as_ref()),
        show_tenant: session.is_operator(),
        q: q.clone(),
        status_options: status_options(status),
        kind_options: kind_options(kind),
        sort: if sort == ReservationSort::default() { String::new() } else { sort.as_str().to_owned() },
        sort_created: header(ReservationSort::CreatedDesc, ReservationSort::CreatedAsc, ReservationSort::CreatedDesc),
        sort_start: header(ReservationSort::StartDesc, ReservationSort::StartAsc, ReservationSort::StartAsc),
        sort_expires: header(ReservationSort::ExpiresDesc, ReservationSort::ExpiresAsc, ReservationSort::ExpiresAsc),
        active_count,
        count_href: href("/admin/reservations/active-count", &[("tenant", tenant_value.as_str())]),
        reset_href: "/admin/reservations".into(),
    };
    render(&page_view)
}

#[derive(Debug, Default, Deserialize)]
pub struct CountQuery {
    #[serde(default)]
    tenant: String,
}

/// GET /admin/reservations/active-count: `{"active": n, "now_ms": …}` for the live counter (the
/// service's own "now", so relative times on the page agree with the server, also in tests).
pub async fn active_count(
    State(state): State<AdminState>,
    session: AdminSession,
    query: Result<Query<CountQuery>, QueryRejection>,
) -> Result<Response, AdminError> {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let now = state.clock.now();
    let tenant = session.listing_tenant(&query.tenant, |t| state.catalogue.tenant(t).is_some());
    let active = state.store.count_live_holds(tenant.as_ref(), now).await?;
    Ok(Json(json!({ "active": active, "now_ms": now.timestamp_millis() })).into_response())
}

pub struct PhaseRow {
    /// 1-based, as people count.
    pub number: u16,
    pub name: String,
    pub start: String,
    pub end: String,
    pub staff_busy: &'static str,
}

#[derive(Template)]
#[template(path = "admin/reservation.html")]
struct DetailPage {
    chrome: Chrome,
    row: ReservationRow,
    kind: &'static str,
    staff: String,
    phone: String,
    end: String,
    updated: String,
    reason: String,
    booking_href: Option<String>,
    booking_id: String,
    phases: Vec<PhaseRow>,
    releasable: bool,
    release_href: String,
}

/// GET /admin/reservations/{token}
pub async fn detail(
    State(state): State<AdminState>,
    session: AdminSession,
    Path(token): Path<String>,
    query: Result<Query<DetailQuery>, QueryRejection>,
) -> Result<Response, AdminError> {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let now = state.clock.now();
    let token = ReservationToken::new(token);
    let reservation = state.store.reservation_in_scope(&token, session.scope()).await?.ok_or(AdminError::NotFound)?;
    let catalogue = &state.catalogue;
    let tz = tenant_zone(catalogue, &reservation);
    let staff = catalogue
        .staff(&reservation.staff_key())
        .map_or_else(|| reservation.staff.to_string(), |(_, s)| s.name.clone());
    let booking_id = reservation.converted_appointment_id.as_ref().map(|id| id.to_string()).unwrap_or_default();
    let page = DetailPage {
        chrome: Chrome::new(&session, catalogue, "reservations", &query.notice),
        kind: kind_label(reservation.kind),
        staff,
        phone: reservation.customer_phone.clone().unwrap_or_else(|| "—".into()),
        end: date_time(reservation.end, tz),
        updated: date_time_seconds(reservation.updated_at, tz),
        reason: reservation.status_reason.clone().unwrap_or_default(),
        booking_href: (!booking_id.is_empty()).then(|| href("/admin/bookings", &[("q", booking_id.as_str())])),
        booking_id,
        phases: reservation.phases.iter().map(|p| phase_row(p, tz)).collect(),
        releasable: reservation.kind == ReservationKind::Hold
            && effective_status(&reservation, now) == ReservationStatus::Active,
        release_href: format!("/admin/reservations/{}/release", reservation.token),
        row: row(catalogue, &reservation, now),
    };
    render(&page)
}

/// POST /admin/reservations/{token}/release: ends an active hold early (the caller hung up, a
/// test call): the slot is free again at once.
pub async fn release(
    State(state): State<AdminState>,
    session: AdminSession,
    Path(token): Path<String>,
) -> Result<Response, AdminError> {
    let now = state.clock.now();
    let token = ReservationToken::new(token);
    let reservation = state.store.reservation_in_scope(&token, session.scope()).await?.ok_or(AdminError::NotFound)?;
    let target = |notice: Notice| {
        Redirect::to(&href(&format!("/admin/reservations/{}", reservation.token), &[("notice", notice.key())]))
            .into_response()
    };
    if reservation.kind != ReservationKind::Hold || effective_status(&reservation, now) != ReservationStatus::Active {
        return Ok(target(Notice::NotReleasable));
    }
    let released = state
        .calendars
        .request(&reservation.staff_key(), "admin_release", |reply| CalendarMsg::Release {
            token: token.clone(),
            call_id: None,
            reason: "admin",
            reply,
        })
        .await?;
    if !released {
        return Ok(target(Notice::NotReleasable));
    }
    tracing::info!(user = %session.username, token = %token, "admin released a hold");
    Ok(target(Notice::Released))
}

/// A sortable column with orders `[desc, asc]`: a click on it starts with `first` and then
/// toggles; the arrow shows the current order.
fn sort_header(
    current: ReservationSort,
    [desc, asc]: [ReservationSort; 2],
    first: ReservationSort,
    link: &dyn Fn(ReservationSort) -> String,
) -> SortHeader {
    let next = match current {
        c if c == desc => asc,
        c if c == asc => desc,
        _ => first,
    };
    let arrow = match current {
        c if c == desc => "▼",
        c if c == asc => "▲",
        _ => "",
    };
    SortHeader { href: link(next), arrow }
}

fn tenant_zone(catalogue: &Catalogue, reservation: &Reservation) -> chrono_tz::Tz {
    catalogue.tenant(&reservation.tenant).map_or(chrono_tz::Europe::Berlin, |t| t.tz)
}

fn row(catalogue: &Catalogue, reservation: &Reservation, now: DateTime<Utc>) -> ReservationRow {
    let tz = tenant_zone(catalogue, reservation);
    let status = effective_status(reservation, now);
    let service = catalogue
        .tenant(&reservation.tenant)
        .and_then(|t| t.service(&reservation.service))
        .map_or_else(|| reservation.service.to_string(), |s| s.name.clone());
    ReservationRow {
        token: reservation.token.to_string(),
        detail_href: format!("/admin/reservations/{}", reservation.token),
        badge: reservation_badge(status),
        status_key: status.as_str(),
        is_offer: reservation.kind == ReservationKind::Offer,
        call_id: reservation.call_id.clone(),
        customer: reservation.customer_name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "—".into()),
        service,
        start: date_time(reservation.start, tz),
        compound: yes_no(reservation.is_compound),
        expires_relative: relative_de(reservation.expires_at, now),
        expires_absolute: date_time_seconds(reservation.expires_at, tz),
        expires_time: reservation.expires_at.with_timezone(&tz).format("%H:%M:%S").to_string(),
        expires_ms: reservation.expires_at.timestamp_millis(),
        expires_live: matches!(status, ReservationStatus::Active | ReservationStatus::Expired),
        created: date_time_seconds(reservation.created_at, tz),
        tenant: tenant_name(catalogue, &reservation.tenant),
    }
}

fn phase_row(phase: &PhaseRecord, tz: chrono_tz::Tz) -> PhaseRow {
    PhaseRow {
        number: phase.seq + 1,
        name: phase.name.clone(),
        start: clock_time(phase.start, tz),
        end: clock_time(phase.end, tz),
        staff_busy: yes_no(phase.staff_busy),
    }
}

fn status_options(selected: Option<ReservationStatus>) -> Vec<SelectOption> {
    let mut options = vec![SelectOption { value: "", label: "Alle Status", selected: selected.is_none() }];
    options.extend(ReservationStatus::ALL.iter().map(|s| SelectOption {
        value: s.as_str(),
        label: reservation_status_label(*s),
        selected: selected == Some(*s),
    }));
    options
}

fn kind_options(selected: Option<ReservationKind>) -> Vec<SelectOption> {
    let mut options =
        vec![SelectOption { value: "", label: "Reservierungen und Angebote", selected: selected.is_none() }];
    options.extend(ReservationKind::ALL.iter().map(|k| SelectOption {
        value: k.as_str(),
        label: kind_label(*k),
        selected: selected == Some(*k),
    }));
    options
}
