//! `/admin/flags`: per tenant `reservations_enabled` (with its rollout percentage) and
//! `parallel_booking_enabled`, changed at run time, with the audit trail (who, when, old → new).
//!
//! A change goes through [`crate::flags::Flags::set`]: the store row and its audit row in one
//! transaction, then this node's memory at once (other nodes follow within their refresh
//! interval). A tenant admin can only change their own tenant (another one is a 404); a change
//! to the same value is not written, so the audit trail only shows real changes.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AdminState;
use super::auth::AdminSession;
use super::error::AdminError;
use super::format::{date_time_seconds, href};
use super::views::{Chrome, Notice, TenantOption, render, tenant_name, tenant_options};
use crate::domain::{Catalogue, TenantId};
use crate::flags::{ALL as ALL_FLAGS, FlagValue, PARALLEL_BOOKING, RESERVATIONS};
use crate::store::{FlagChange, FlagRow};

/// Audit rows shown (newest first).
const AUDIT_LIMIT: i64 = 200;

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    notice: String,
}

pub struct FlagView {
    pub flag: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    pub enabled: bool,
    pub has_rollout: bool,
    pub rollout_percent: u8,
    pub updated: String,
}

pub struct TenantFlags {
    pub tenant_id: String,
    pub tenant_name: String,
    pub flags: Vec<FlagView>,
}

pub struct AuditRow {
    pub changed_at: String,
    pub tenant: String,
    pub flag: &'static str,
    pub old_value: String,
    pub new_value: String,
    pub changed_by: String,
}

#[derive(Template)]
#[template(path = "admin/flags.html")]
struct FlagsPage {
    chrome: Chrome,
    tenants: Vec<TenantFlags>,
    tenant_filter: Vec<TenantOption>,
    show_tenant: bool,
    audit: Vec<AuditRow>,
}

/// GET /admin/flags
pub async fn page(
    State(state): State<AdminState>,
    session: AdminSession,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, AdminError> {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let catalogue = &state.catalogue;
    let tenant = session.listing_tenant(&query.tenant, |t| catalogue.tenant(t).is_some());
    let rows = state.store.flags(tenant.as_ref()).await?;
    let audit = state.store.flag_audit(tenant.as_ref(), AUDIT_LIMIT).await?;
    let shown: Vec<TenantId> = catalogue
        .tenants()
        .iter()
        .map(|t| t.id.clone())
        .filter(|id| tenant.as_ref().is_none_or(|only| only == id))
        .collect();
    let page = FlagsPage {
        chrome: Chrome::new(&session, catalogue, "flags", &query.notice),
        tenants: shown.iter().map(|id| tenant_flags(catalogue, id, &rows)).collect(),
        tenant_filter: tenant_options(&session, catalogue, tenant.as_ref()),
        show_tenant: session.is_operator(),
        audit: audit.iter().map(|change| audit_row(catalogue, change)).collect(),
    };
    render(&page)
}

#[derive(Debug, Default, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    flag: String,
    /// Present ("on") when the checkbox is ticked.
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    rollout_percent: Option<String>,
}

/// POST /admin/flags
pub async fn change(
    State(state): State<AdminState>,
    session: AdminSession,
    form: Result<Form<ChangeForm>, FormRejection>,
) -> Result<Response, AdminError> {
    let Form(form) = form.map_err(|_| AdminError::BadRequest("Das Formular ist unvollständig."))?;
    let tenant = TenantId::from(form.tenant.trim());
    if !session.may_access(&tenant) || state.catalogue.tenant(&tenant).is_none() {
        return Err(AdminError::NotFound);
    }
    let Some(flag) = ALL_FLAGS.iter().copied().find(|f| *f == form.flag) else {
        return Err(AdminError::BadRequest("Unbekannter Schalter."));
    };
    let rollout_percent = if flag == RESERVATIONS { parse_percent(form.rollout_percent.as_deref())? } else { 100 };
    let value =
        FlagValue { enabled: form.enabled.is_some_and(|v| !v.is_empty() && v != "0" && v != "off"), rollout_percent };
    let back = |notice: Notice| {
        let target = href(
            "/admin/flags",
            &[("tenant", if session.is_operator() { "" } else { tenant.as_str() }), ("notice", notice.key())],
        );
        Redirect::to(&target).into_response()
    };
    if state.flags.get(&tenant, flag) == Some(value) {
        return Ok(back(Notice::FlagUnchanged));
    }
    let now = state.clock.now();
    let changed = state.flags.set(&tenant, flag, value, &session.username, now).await?;
    tracing::info!(user = %session.username, tenant = %tenant, flag, old = ?changed.old_value, new = %changed.new_value, "admin changed a feature flag");
    Ok(back(Notice::FlagSaved))
}

fn parse_percent(raw: Option<&str>) -> Result<u8, AdminError> {
    let text = raw.unwrap_or("100").trim();
    let text = if text.is_empty() { "100" } else { text };
    text.parse::<u8>()
        .ok()
        .filter(|p| *p <= 100)
        .ok_or(AdminError::BadRequest("Der Rollout-Anteil muss eine ganze Zahl von 0 bis 100 sein."))
}

fn tenant_flags(catalogue: &Catalogue, tenant: &TenantId, rows: &[FlagRow]) -> TenantFlags {
    let tz = catalogue.tenant(tenant).map_or(chrono_tz::Europe::Berlin, |t| t.tz);
    let flags = ALL_FLAGS
        .iter()
        .map(|flag| {
            let row = rows.iter().find(|r| &r.tenant == tenant && r.flag == *flag);
            FlagView {
                flag,
                label: flag_label(flag),
                help: flag_help(flag),
                enabled: row.is_some_and(|r| r.enabled),
                has_rollout: *flag == RESERVATIONS,
                rollout_percent: row.map_or(100, |r| r.rollout_percent),
                updated: row.map_or_else(String::new, |r| {
                    format!("{} von {}", date_time_seconds(r.updated_at, tz), r.updated_by)
                }),
            }
        })
        .collect();
    TenantFlags { tenant_id: tenant.to_string(), tenant_name: tenant_name(catalogue, tenant), flags }
}

fn audit_row(catalogue: &Catalogue, change: &FlagChange) -> AuditRow {
    let tz = catalogue.tenant(&change.tenant).map_or(chrono_tz::Europe::Berlin, |t| t.tz);
    AuditRow {
        changed_at: date_time_seconds(change.changed_at, tz),
        tenant: tenant_name(catalogue, &change.tenant),
        flag: flag_label(&change.flag),
        old_value: change.old_value.as_deref().map_or_else(|| "—".to_owned(), describe_value),
        new_value: describe_value(&change.new_value),
        changed_by: change.changed_by.clone(),
    }
}

/// The store writes values as `on 100%` / `off 0%`; the page says it in German.
fn describe_value(stored: &str) -> String {
    let mut parts = stored.split_whitespace();
    let state = match parts.next() {
        Some("on") => "an",
        Some("off") => "aus",
        _ => return stored.to_owned(),
    };
    match parts.next() {
        Some(percent) => format!("{state} ({percent})"),
        None => state.to_owned(),
    }
}

fn flag_label(flag: &str) -> &'static str {
    match flag {
        RESERVATIONS => "Reservierungen",
        PARALLEL_BOOKING => "Parallele Phasenbuchung",
        _ => "Unbekannter Schalter",
    }
}

fn flag_help(flag: &str) -> &'static str {
    match flag {
        RESERVATIONS => {
            "Hält einen angefragten Termin für die anrufende Person, bis sie bestätigt oder die Haltezeit abläuft. Der Rollout-Anteil gilt pro Anruf (ein Anruf wechselt nie mittendrin)."
        }
        PARALLEL_BOOKING => "Bucht die Phasen einer Mehrphasen-Leistung gleichzeitig statt nacheinander in Cal.com.",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_read_as_german() {
        assert_eq!(describe_value("on 100%"), "an (100%)");
        assert_eq!(describe_value("off 25%"), "aus (25%)");
        assert_eq!(describe_value("weird"), "weird");
    }

    #[test]
    fn the_rollout_share_is_a_percentage() {
        assert_eq!(parse_percent(Some("25")).unwrap(), 25);
        assert_eq!(parse_percent(None).unwrap(), 100);
        assert!(parse_percent(Some("101")).is_err());
        assert!(parse_percent(Some("-1")).is_err());
    }
}
