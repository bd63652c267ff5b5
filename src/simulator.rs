//! The Cal.com simulator (`calcom-sim`, feature `sim`) configured from our catalogue: one event
//! type per (service phase, stylist), hosted by the stylist's Cal.com user, accepting the
//! tenants' API keys, with Cal.com's default booking fields (e-mail required: phone callers are
//! booked with the tenant's `attendee_email_fallback`) and one fixed length per event type (the
//! phase's, so `lengthInMinutes` is never sent). Used by `slotkeeper serve` without a Cal.com URL (in-process) and by
//! `slotkeeper calcom-sim` (its own process).

use std::net::SocketAddr;

use calcom_sim::{ExternalBooker, Latency, SimConfig, SimEventType, SimWebhook};

use crate::config::SimulatorSettings;
use crate::domain::Catalogue;

/// Event types of every tenant, as Cal.com would have them.
pub fn sim_event_types(catalogue: &Catalogue) -> Vec<SimEventType> {
    let mut types = Vec::new();
    for tenant in catalogue.tenants() {
        for service in &tenant.services {
            let busy: Vec<_> = service.busy_phases().collect();
            for staff in &tenant.staff {
                let Some(ids) = service.event_types.get(&staff.id) else { continue };
                for (index, (id, phase)) in ids.iter().zip(&busy).enumerate() {
                    types.push(SimEventType::single(
                        *id,
                        &format!("{}-{}-{}", service.id, index + 1, staff.id),
                        phase.duration_minutes,
                        // Stylists without a Cal.com user get a stable made-up one in the simulator.
                        staff.calcom_user_id.unwrap_or(900_000 + *id),
                        &staff.name,
                        &format!("{}@{}.example", staff.id, tenant.id),
                    ));
                }
            }
        }
    }
    types
}

fn base(catalogue: &Catalogue, latency_ms: u64, rate_limit: u32) -> SimConfig {
    let mut config = SimConfig {
        event_types: sim_event_types(catalogue),
        api_keys: catalogue
            .tenants()
            .iter()
            .map(|t| t.calcom.api_key.expose().to_owned())
            .filter(|k| !k.is_empty())
            .collect(),
        rate_limit_per_minute: rate_limit,
        ..SimConfig::default()
    };
    config.faults.all.latency = Latency { fixed_ms: latency_ms, ..Latency::default() };
    config
}

/// Webhooks are signed with the first tenant's secret and name it in the URL.
fn webhook(catalogue: &Catalogue, url: String) -> Option<SimWebhook> {
    let tenant = catalogue.tenants().first()?;
    let separator = if url.contains('?') { '&' } else { '?' };
    Some(SimWebhook::new(format!("{url}{separator}tenant={}", tenant.id), tenant.calcom.webhook_secret.expose()))
}

/// The in-process simulator of `slotkeeper serve` without a Cal.com URL.
pub fn sim_config_for(catalogue: &Catalogue, sim: &SimulatorSettings, service_addr: SocketAddr) -> SimConfig {
    let mut config = base(catalogue, sim.latency_ms, 120);
    if sim.send_webhooks {
        config.webhook = webhook(catalogue, format!("http://{service_addr}/calcom/webhook"));
    }
    if sim.external_bookings_per_minute > 0.0 {
        config.external_booker =
            Some(ExternalBooker { per_minute: sim.external_bookings_per_minute, horizon_days: 14, seed: 0 });
    }
    config
}

/// `slotkeeper calcom-sim`.
pub fn standalone_sim_config(
    catalogue: &Catalogue,
    latency_ms: u64,
    webhook_url: Option<String>,
    external_per_minute: f64,
    rate_limit: u32,
) -> SimConfig {
    let mut config = base(catalogue, latency_ms, rate_limit);
    config.webhook = webhook_url.and_then(|url| webhook(catalogue, url));
    if external_per_minute > 0.0 {
        config.external_booker = Some(ExternalBooker { per_minute: external_per_minute, horizon_days: 14, seed: 0 });
    }
    config
}
