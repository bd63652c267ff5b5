//! `slotkeeper calcom doctor`: checks a tenant's configuration against its Cal.com (real or the
//! simulator) and reports each check as ok or a problem with how to fix it, in German and English.
//!
//! Invariant: every verdict comes from Cal.com's own answers (`GET /v2/event-types/{id}`,
//! `GET /v2/webhooks`, `POST`/`DELETE /v2/slots/reservations`), never from our configuration
//! alone; the only side effect is one slot reservation far in the future, deleted at once.

use chrono::{Duration as TimeDelta, Timelike, Utc};

use super::event_types::{check_phase, phase_uses};
use super::types::ReserveSlot;
use super::{CalcomClient, CalcomError};
use crate::domain::Tenant;

/// Triggers the service needs from a Cal.com webhook subscription.
pub const NEEDED_TRIGGERS: [&str; 3] = ["BOOKING_CREATED", "BOOKING_CANCELLED", "BOOKING_RESCHEDULED"];

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    /// How to fix it: German, then English (empty when ok).
    pub fix_de: String,
    pub fix_en: String,
}

fn ok(name: String) -> Check {
    Check { name, ok: true, fix_de: String::new(), fix_en: String::new() }
}

fn problem(name: String, de: impl Into<String>, en: impl Into<String>) -> Check {
    Check { name, ok: false, fix_de: de.into(), fix_en: en.into() }
}

/// Runs every check for `tenant`. `webhook_url` empty: the webhook check is skipped with a note.
pub async fn run(client: &CalcomClient, tenant: &Tenant, webhook_url: &str) -> Vec<Check> {
    let key = tenant.calcom.api_key.expose();
    let mut checks = Vec::new();
    let webhooks = client.list_webhooks(key).await;
    match &webhooks {
        Err(CalcomError::Unauthorized) => {
            checks.push(problem(
                "API-Schlüssel / API key".into(),
                "Cal.com lehnt den Schlüssel ab: in Cal.com unter Settings → Developer → API keys einen neuen anlegen und als calcom.api_key (oder api_key_env) eintragen",
                "Cal.com refuses the key: create one under Settings → Developer → API keys and set calcom.api_key (or api_key_env)",
            ));
            return checks;
        }
        Err(err) => {
            checks.push(problem(
                "Cal.com erreichbar / Cal.com reachable".into(),
                format!("Cal.com antwortet nicht ({err}): calcom.base_url prüfen"),
                format!("Cal.com does not answer ({err}): check calcom.base_url"),
            ));
            return checks;
        }
        Ok(_) => checks.push(ok("API-Schlüssel / API key".into())),
    }
    let mut first_event_type = None;
    for use_ in phase_uses(tenant) {
        let name =
            format!("{} / {} / Phase {} → Event-Type {}", use_.service, use_.staff, use_.phase_index, use_.event_type);
        let et = match client.get_event_type(key, use_.event_type).await {
            Ok(Some(et)) => et,
            Ok(None) => {
                checks.push(problem(
                    name,
                    "Event-Type existiert nicht (oder gehört nicht zu diesem Schlüssel): ID in calcom_event_types korrigieren",
                    "event type does not exist (or is not this key's): fix the id in calcom_event_types",
                ));
                continue;
            }
            Err(err) => {
                checks.push(problem(name, format!("Abfrage fehlgeschlagen: {err}"), format!("lookup failed: {err}")));
                continue;
            }
        };
        first_event_type.get_or_insert(et.id);
        let staff = tenant.staff.iter().find(|s| s.id.as_str() == use_.staff);
        match staff.and_then(|s| s.calcom_user_id) {
            Some(user) if et.host_ids().contains(&user) => {}
            Some(user) => checks.push(problem(
                format!("{name}: Gastgeber / host"),
                format!("Event-Type gehört nicht Cal.com-Nutzer {user} (Gastgeber {:?}): Event-Type dem Stylisten zuweisen", et.host_ids()),
                format!("event type is not owned by or assigned to Cal.com user {user} (hosts {:?}): assign it to the stylist", et.host_ids()),
            )),
            None => checks.push(problem(
                format!("{name}: Gastgeber / host"),
                format!("staff {}: calcom_user_id fehlt", use_.staff),
                format!("staff {}: set calcom_user_id", use_.staff),
            )),
        }
        match check_phase(&tenant.id, &use_, &et) {
            Ok(()) => checks.push(ok(format!("{name}: Dauer / length"))),
            Err(why) => checks.push(problem(
                format!("{name}: Dauer / length"),
                "Dauer von Phase und Event-Type angleichen",
                why,
            )),
        }
        if et.requires_email() && tenant.calcom.attendee_email_fallback.is_empty() {
            checks.push(problem(
                format!("{name}: Buchungsfelder / booking fields"),
                "E-Mail ist Pflicht, Anrufer nennen selten eine: calcom.attendee_email_fallback setzen oder das E-Mail-Feld optional machen",
                "e-mail is required and callers rarely give one: set calcom.attendee_email_fallback or make the e-mail field optional",
            ));
        } else if et.requires_phone() {
            checks.push(ok(format!("{name}: Buchungsfelder / booking fields (Telefon Pflicht / phone required)")));
        } else {
            checks.push(ok(format!("{name}: Buchungsfelder / booking fields")));
        }
    }
    checks.push(webhook_check(webhooks.unwrap_or_default(), tenant, webhook_url));
    if let Some(id) = first_event_type {
        checks.push(reservation_check(client, key, id).await);
    }
    checks
}

fn webhook_check(webhooks: Vec<super::types::Webhook>, tenant: &Tenant, webhook_url: &str) -> Check {
    let name = "Webhook".to_owned();
    if webhook_url.is_empty() {
        return problem(
            name,
            "calcom.webhook_url ist leer: öffentliche URL von /calcom/webhook eintragen",
            "calcom.webhook_url is empty: set the public URL of /calcom/webhook",
        );
    }
    let ours: Vec<_> = webhooks.iter().filter(|w| w.subscriber_url.starts_with(webhook_url)).collect();
    let secret = tenant.calcom.webhook_secret.expose();
    let good = ours.iter().any(|w| {
        w.active
            && w.secret.as_deref() == Some(secret)
            && NEEDED_TRIGGERS.iter().all(|t| w.triggers.iter().any(|have| have == t))
    });
    let how_en = format!(
        "in Cal.com (Settings → Developer → Webhooks) subscribe {webhook_url}?tenant={} to {} with the tenant's webhook_secret, active",
        tenant.id,
        NEEDED_TRIGGERS.join(", ")
    );
    let how_de = format!(
        "in Cal.com (Settings → Developer → Webhooks) {webhook_url}?tenant={} für {} mit dem webhook_secret des Salons aktiv abonnieren",
        tenant.id,
        NEEDED_TRIGGERS.join(", ")
    );
    match (ours.is_empty(), good) {
        (_, true) => ok(name),
        (true, false) => {
            problem(name, format!("kein Webhook zeigt auf uns: {how_de}"), format!("no webhook points at us: {how_en}"))
        }
        (false, false) => problem(
            name,
            format!("Webhook zeigt auf uns, aber Secret, Ereignisse oder aktiv stimmen nicht: {how_de}"),
            format!("a webhook points at us but its secret, triggers or active flag are wrong: {how_en}"),
        ),
    }
}

async fn reservation_check(client: &CalcomClient, key: &str, event_type: i64) -> Check {
    let name = "Slot-Reservierung / slot reservation".to_owned();
    // Far in the future, at night: no caller or web booker wants that slot.
    let start =
        (Utc::now() + TimeDelta::days(300)).with_hour(2).and_then(|t| t.with_minute(0)).unwrap_or_else(Utc::now);
    let request = ReserveSlot {
        event_type_id: event_type,
        slot_start: start,
        slot_duration: None,
        reservation_duration: Some(1),
    };
    match client.reserve_slot(key, &request).await {
        Ok(reservation) => match client.delete_reservation(key, &reservation.reservation_uid).await {
            Ok(()) => ok(name),
            Err(err) => problem(name, format!("Löschen fehlgeschlagen: {err}"), format!("delete failed: {err}")),
        },
        Err(err) => problem(
            name,
            format!("Reservieren fehlgeschlagen ({err}): Schlüssel braucht Schreibrechte für den Event-Type"),
            format!("reserving failed ({err}): the key needs write access to the event type"),
        ),
    }
}

/// The report as a table: check | ok/problem | how to fix (de / en).
pub fn render(tenant: &str, checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.name.chars().count()).max().unwrap_or(5).max(5);
    let mut out = format!("Cal.com doctor: {tenant}\n{:<width$}  {:<7}  how to fix / Behebung\n", "check", "status");
    for c in checks {
        let status = if c.ok { "ok" } else { "problem" };
        out.push_str(&format!("{:<width$}  {status:<7}", c.name));
        if !c.ok {
            out.push_str(&format!("  DE: {}\n{:<width$}  {:<7}  EN: {}", c.fix_de, "", "", c.fix_en));
        }
        out.push('\n');
    }
    out
}
