//! What slotkeeper knows of each configured Cal.com event type, learned from Cal.com itself
//! (`GET /v2/event-types/{id}`), and the rules our booking requests follow from it.
//!
//! Invariant: a booking request is built only from an event type learned within [`REFRESH`]
//! (never from our own configuration alone): `lengthInMinutes` is sent only to an event type with
//! several lengths (Cal.com's `validateBookingLengthInMinutes`,
//! `apps/api/v2/src/ee/bookings/2024-08-13/services/input.service.ts`, refuses it otherwise),
//! and a phase whose minutes its event type cannot be booked for is a configuration error that
//! names tenant, service, phase, event type and both lengths ([`check_phase`]). At start-up
//! ([`verify_at_start`]) such an error stops the process; Cal.com out of reach only warns, and
//! each event type is then learned before its first booking.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;

use super::types::EventType;
use super::{CalcomClient, CalcomError};
use crate::domain::{Tenant, TenantId};

/// A learned event type is read again from Cal.com after this long (the salon may edit it).
pub const REFRESH: Duration = Duration::from_secs(3600);

/// One use of an event type in the configuration: a staff-busy phase of a service by a stylist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseUse {
    pub service: String,
    pub staff: String,
    /// Index among the service's phases (as in `services[x].phases[i]`).
    pub phase_index: usize,
    pub phase_name: String,
    pub minutes: u32,
    pub event_type: i64,
}

/// Every configured (service, stylist, working phase) → event type of a tenant.
pub fn phase_uses(tenant: &Tenant) -> Vec<PhaseUse> {
    let mut uses = Vec::new();
    for service in &tenant.services {
        let working: Vec<(usize, &crate::domain::Phase)> =
            service.phases.iter().enumerate().filter(|(_, p)| p.staff_busy).collect();
        let mut staff: Vec<_> = service.event_types.iter().collect();
        staff.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        for (staff_id, ids) in staff {
            for ((index, phase), id) in working.iter().zip(ids) {
                uses.push(PhaseUse {
                    service: service.id.to_string(),
                    staff: staff_id.to_string(),
                    phase_index: *index,
                    phase_name: phase.name.clone(),
                    minutes: phase.duration_minutes,
                    event_type: *id,
                });
            }
        }
    }
    uses
}

/// Can `use_` be booked with event type `et` as configured? `Err` names everything an operator
/// needs to fix it.
pub fn check_phase(tenant: &TenantId, use_: &PhaseUse, et: &EventType) -> Result<(), String> {
    if et.allows_length(use_.minutes) {
        return Ok(());
    }
    let theirs = if et.is_multi_length() {
        let options: Vec<String> = et.length_in_minutes_options.iter().map(u32::to_string).collect();
        format!("lengths {} minutes", options.join(", "))
    } else {
        format!("a fixed length of {} minutes", et.length_in_minutes)
    };
    let fix = if et.is_multi_length() {
        format!("add {} to the event type's lengths in Cal.com or give the phase one of them", use_.minutes)
    } else {
        format!("make the phase {} minutes or change the event type's length in Cal.com", et.length_in_minutes)
    };
    Err(format!(
        "tenant {tenant}, service {}, phase {} ({:?}, staff {}): lasts {} minutes, but Cal.com event type {} has {theirs}; {fix}",
        use_.service, use_.phase_index, use_.phase_name, use_.staff, use_.minutes, use_.event_type,
    ))
}

/// `lengthInMinutes` for a booking of `minutes` with event type `et`: only for several lengths.
pub fn length_to_send(et: &EventType, minutes: u32) -> Option<u32> {
    et.is_multi_length().then_some(minutes)
}

struct Learned {
    at: Instant,
    event_type: Arc<EventType>,
}

/// The event types learned per tenant (shared by start-up, the sync workers and `calcom doctor`).
#[derive(Default)]
pub struct EventTypes {
    learned: DashMap<(TenantId, i64), Learned>,
}

impl EventTypes {
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh learned event type, if any.
    pub fn get(&self, tenant: &TenantId, id: i64) -> Option<Arc<EventType>> {
        let entry = self.learned.get(&(tenant.clone(), id))?;
        (entry.at.elapsed() < REFRESH).then(|| entry.event_type.clone())
    }

    pub fn remember(&self, tenant: &TenantId, event_type: EventType) -> Arc<EventType> {
        let event_type = Arc::new(event_type);
        self.learned
            .insert((tenant.clone(), event_type.id), Learned { at: Instant::now(), event_type: event_type.clone() });
        event_type
    }

    /// Forget one (Cal.com refused a request built from it: it may have changed).
    pub fn forget(&self, tenant: &TenantId, id: i64) {
        self.learned.remove(&(tenant.clone(), id));
    }
}

/// Why the start-up check could not finish for a tenant (a warning, never a stop).
fn unreachable(err: &CalcomError) -> bool {
    !matches!(err, CalcomError::NotFound | CalcomError::BadRequest { .. } | CalcomError::SlotTaken { .. })
}

/// Learns every configured event type of every tenant. `Err` lists the phases their event types
/// cannot book (the caller stops the start); everything else is logged and left for later.
pub async fn verify_at_start(
    client: &CalcomClient,
    tenants: &[Arc<Tenant>],
    cache: &EventTypes,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for tenant in tenants {
        let key = tenant.calcom.api_key.expose();
        let mut seen: std::collections::HashMap<i64, Option<Arc<EventType>>> = std::collections::HashMap::new();
        for use_ in phase_uses(tenant) {
            let learned = match seen.get(&use_.event_type) {
                Some(known) => known.clone(),
                None => match client.get_event_type(key, use_.event_type).await {
                    Ok(found) => {
                        let found = found.map(|et| cache.remember(&tenant.id, et));
                        seen.insert(use_.event_type, found.clone());
                        found
                    }
                    Err(err) if unreachable(&err) => {
                        tracing::warn!(tenant = %tenant.id, error = %err, "Cal.com could not be asked for the event types; they are checked before their first booking (run `slotkeeper calcom doctor`)");
                        break;
                    }
                    Err(err) => {
                        tracing::warn!(tenant = %tenant.id, event_type = use_.event_type, error = %err, "Cal.com refused to show an event type");
                        seen.insert(use_.event_type, None);
                        None
                    }
                },
            };
            match learned {
                None => tracing::warn!(
                    tenant = %tenant.id, service = use_.service, staff = use_.staff, event_type = use_.event_type,
                    "configured Cal.com event type not found; bookings of it will fail (run `slotkeeper calcom doctor`)"
                ),
                Some(et) => {
                    if let Err(problem) = check_phase(&tenant.id, &use_, &et) {
                        problems.push(problem);
                    }
                    if et.requires_email() && tenant.calcom.attendee_email_fallback.is_empty() {
                        tracing::warn!(tenant = %tenant.id, event_type = et.id, "event type requires an e-mail and tenant has no calcom.attendee_email_fallback: callers without an e-mail cannot be booked");
                    }
                }
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn et(length: u32, options: &[u32]) -> EventType {
        serde_json::from_value(
            serde_json::json!({"id": 1111, "lengthInMinutes": length, "lengthInMinutesOptions": options}),
        )
        .unwrap()
    }

    fn use_of(minutes: u32) -> PhaseUse {
        PhaseUse {
            service: "dauerwelle".into(),
            staff: "anna".into(),
            phase_index: 0,
            phase_name: "Haare wickeln".into(),
            minutes,
            event_type: 1111,
        }
    }

    #[test]
    fn a_phase_must_fit_its_event_type() {
        let tenant = TenantId::from("salon-beispiel");
        assert!(check_phase(&tenant, &use_of(50), &et(50, &[])).is_ok());
        let err = check_phase(&tenant, &use_of(50), &et(45, &[])).unwrap_err();
        for part in
            ["salon-beispiel", "dauerwelle", "phase 0", "Haare wickeln", "50 minutes", "1111", "fixed length of 45"]
        {
            assert!(err.contains(part), "{part} missing in {err}");
        }
        assert!(check_phase(&tenant, &use_of(50), &et(30, &[30, 50])).is_ok());
        assert!(check_phase(&tenant, &use_of(40), &et(30, &[30, 50])).unwrap_err().contains("lengths 30, 50"));
    }

    #[test]
    fn length_in_minutes_only_for_several_lengths() {
        assert_eq!(length_to_send(&et(30, &[]), 30), None);
        assert_eq!(length_to_send(&et(30, &[30, 60]), 60), Some(60));
    }
}
