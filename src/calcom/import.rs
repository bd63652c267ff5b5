//! `slotkeeper calcom import --company ID`: a draft of the tenant's staff, services and
//! event-type mapping, as TOML, from Cal.com's event types (`GET /v2/event-types`) and their
//! owners and hosts, for the operator to review and paste over the tenant's sections.
//!
//! Invariant: the draft is a complete `[[tenants]]` block that parses as tenant configuration:
//! everything Cal.com does not know (numbers, hours, policy) is kept from the configured tenant,
//! each Cal.com user becomes one stylist (`calcom_user_id`), each event type one single-phase
//! service of its length, mapped to every stylist who hosts it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::types::EventType;
use crate::config::TenantSettings;

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

fn ident(s: &str) -> String {
    let id: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    if id.is_empty() { "x".to_owned() } else { id }
}

fn week(out: &mut String, table: &str, w: &crate::config::WeekSettings) {
    let _ = writeln!(out, "\n[{table}]");
    for (day, ranges) in [
        ("mon", &w.mon),
        ("tue", &w.tue),
        ("wed", &w.wed),
        ("thu", &w.thu),
        ("fri", &w.fri),
        ("sat", &w.sat),
        ("sun", &w.sun),
    ] {
        let list: Vec<String> = ranges.iter().map(|r| quote(r)).collect();
        let _ = writeln!(out, "{day} = [{}]", list.join(", "));
    }
}

/// The draft for `base` (the configured tenant) from Cal.com's `event_types`.
pub fn draft(base: &TenantSettings, event_types: &[EventType]) -> String {
    // Cal.com user id → (staff id, name).
    let mut staff: BTreeMap<i64, (String, String)> = BTreeMap::new();
    for et in event_types {
        for u in &et.users {
            let id = ident(if u.username.is_empty() { &u.name } else { &u.username });
            staff.entry(u.id).or_insert((id, u.name.clone()));
        }
        for h in &et.hosts {
            staff
                .entry(h.user_id)
                .or_insert((ident(if h.username.is_empty() { &h.name } else { &h.username }), h.name.clone()));
        }
        for id in et.host_ids() {
            staff.entry(id).or_insert((format!("user-{id}"), format!("User {id}")));
        }
    }
    let mut out = String::from(
        "# Draft by `slotkeeper calcom import`: review before use (services are single-phase).\n[[tenants]]\n",
    );
    let _ = writeln!(
        out,
        "id = {}\nname = {}\ntimezone = {}\ncountry_code = {}",
        quote(&base.id),
        quote(&base.name),
        quote(&base.timezone),
        quote(&base.country_code)
    );
    let list = |v: &[String]| v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ");
    let _ = writeln!(out, "phone_numbers = [{}]\nagent_ids = [{}]", list(&base.phone_numbers), list(&base.agent_ids));
    week(&mut out, "tenants.hours", &base.hours);
    let b = &base.booking;
    let _ = writeln!(
        out,
        "\n[tenants.booking]\nslot_step_minutes = {}\nmin_notice_minutes = {}\nhorizon_days = {}",
        b.slot_step_minutes, b.min_notice_minutes, b.horizon_days
    );
    let p = &base.policy;
    let _ = writeln!(
        out,
        "\n[tenants.policy]\ncancel_cutoff_hours = {}\nmax_reschedules = {}",
        p.cancel_cutoff_hours, p.max_reschedules
    );
    let f = &base.flags;
    let _ = writeln!(
        out,
        "\n[tenants.flags]\nreservations_enabled = {}\nreservations_rollout_percent = {}\nparallel_booking_enabled = {}",
        f.reservations_enabled, f.reservations_rollout_percent, f.parallel_booking_enabled
    );
    let c = &base.calcom;
    let _ = writeln!(
        out,
        "\n[tenants.calcom]\napi_key_env = {}\nwebhook_secret_env = {}\nattendee_email_fallback = {}",
        quote(if c.api_key_env.is_empty() { "CALCOM_API_KEY" } else { &c.api_key_env }),
        quote(if c.webhook_secret_env.is_empty() { "CALCOM_WEBHOOK_SECRET" } else { &c.webhook_secret_env }),
        quote(&c.attendee_email_fallback)
    );
    let service_id = |et: &EventType| if et.slug.is_empty() { format!("event-{}", et.id) } else { ident(&et.slug) };
    for (user, (id, name)) in &staff {
        let services: Vec<String> =
            event_types.iter().filter(|et| et.host_ids().contains(user)).map(|et| quote(&service_id(et))).collect();
        let _ = writeln!(
            out,
            "\n[[tenants.staff]]\nid = {}\nname = {}\ncalcom_user_id = {user}\nservices = [{}]",
            quote(id),
            quote(name),
            services.join(", ")
        );
    }
    for et in event_types.iter().filter(|et| !et.host_ids().is_empty()) {
        let title = if et.title.is_empty() { service_id(et) } else { et.title.clone() };
        let mapping: Vec<String> = et
            .host_ids()
            .iter()
            .filter_map(|u| staff.get(u))
            .map(|(id, _)| format!("{} = [{}]", quote(id), et.id))
            .collect();
        let _ = writeln!(
            out,
            "\n[[tenants.services]]\nid = {}\nname = {}\nminutes = {}\ncalcom_event_types = {{ {} }}",
            quote(&service_id(et)),
            quote(&title),
            et.length_in_minutes,
            mapping.join(", ")
        );
    }
    out
}
