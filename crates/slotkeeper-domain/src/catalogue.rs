//! Tenants, staff and services: what a salon offers and who can do it.
//!
//! The catalogue is built once from validated configuration and shared read-only (`Arc`). A
//! compound service is a list of phases; only phases with `staff_busy` occupy the stylist, the
//! gaps between them (a perm processing, colour developing) leave the stylist free for others.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::hours::Schedule;
use super::ids::{ServiceId, StaffId, StaffKey, TenantId};
use super::interval::Interval;
use super::phone::E164;
use crate::secret::Secret;

/// One step of a service. Offsets are from the service start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    pub name: String,
    pub offset_minutes: u32,
    pub duration_minutes: u32,
    /// False for a gap in which the stylist is free (the client waits).
    pub staff_busy: bool,
}

/// A phase placed on the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedPhase {
    pub seq: u16,
    pub name: String,
    pub interval: Interval,
    pub staff_busy: bool,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub id: ServiceId,
    pub name: String,
    /// Other names callers use ("Herrenschnitt", "Perm"); matched like the name.
    pub aliases: Vec<String>,
    pub price_cents: u32,
    pub phases: Vec<Phase>,
    /// Cal.com event type id for each staff-busy phase, per staff member, in phase order.
    pub event_types: HashMap<StaffId, Vec<i64>>,
}

impl Service {
    pub fn total_minutes(&self) -> u32 {
        self.phases.last().map(|p| p.offset_minutes + p.duration_minutes).unwrap_or(0)
    }

    /// Compound = more than one staff-busy phase (booked as several Cal.com bookings).
    pub fn is_compound(&self) -> bool {
        self.busy_phases().count() > 1
    }

    pub fn busy_phases(&self) -> impl Iterator<Item = &Phase> {
        self.phases.iter().filter(|p| p.staff_busy)
    }

    /// `(offset, duration)` of every staff-busy phase, in minutes: what the calendar checks.
    pub fn busy_layout(&self) -> Vec<(u32, u32)> {
        self.busy_phases().map(|p| (p.offset_minutes, p.duration_minutes)).collect()
    }

    /// All phases (gaps included) placed at `start`.
    pub fn place(&self, start: DateTime<Utc>) -> Vec<PlacedPhase> {
        self.phases
            .iter()
            .enumerate()
            .filter_map(|(seq, phase)| {
                let begin = start + TimeDelta::minutes(i64::from(phase.offset_minutes));
                Interval::starting_at(begin, phase.duration_minutes).ok().map(|interval| PlacedPhase {
                    seq: seq as u16,
                    name: phase.name.clone(),
                    interval,
                    staff_busy: phase.staff_busy,
                })
            })
            .collect()
    }

    /// The intervals the stylist is busy for an appointment starting at `start`.
    pub fn busy_intervals(&self, start: DateTime<Utc>) -> Vec<Interval> {
        self.place(start).into_iter().filter(|p| p.staff_busy).map(|p| p.interval).collect()
    }

    pub fn span(&self, start: DateTime<Utc>) -> Interval {
        Interval::starting_at(start, self.total_minutes().max(1)).expect("positive duration")
    }
}

#[derive(Debug, Clone)]
pub struct Staff {
    pub id: StaffId,
    pub name: String,
    pub calcom_user_id: Option<i64>,
    pub services: Vec<ServiceId>,
    pub schedule: Schedule,
}

impl Staff {
    pub fn performs(&self, service: &ServiceId) -> bool {
        self.services.contains(service)
    }
}

/// How bookings are laid out in time.
#[derive(Debug, Clone, Copy)]
pub struct BookingRules {
    /// Start times are on this grid (local time), e.g. every 15 minutes.
    pub slot_step_minutes: u32,
    /// Nothing can be booked to start sooner than this from now.
    pub min_notice_minutes: u32,
    /// Nothing can be booked further ahead than this.
    pub horizon_days: u32,
}

/// What callers may change themselves.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Cancel or reschedule only until this many hours before the appointment.
    pub cancel_cutoff_hours: u32,
    /// How often one appointment may be moved by phone.
    pub max_reschedules: u32,
}

/// Start values of the run-time feature flags (the store keeps the current ones).
#[derive(Debug, Clone, Copy)]
pub struct FlagDefaults {
    pub reservations_enabled: bool,
    pub reservations_rollout_percent: u8,
    pub parallel_booking_enabled: bool,
}

#[derive(Debug, Clone)]
pub struct TenantCalcom {
    pub api_key: Secret,
    pub webhook_secret: Secret,
    /// Template of the attendee e-mail for callers who gave none, where an event type requires
    /// one (`{phone_digits}`, `{booking_id}`); empty: none, such event types are a config problem.
    pub attendee_email_fallback: String,
}

impl TenantCalcom {
    /// The fallback address for a caller: `{phone_digits}` are the digits of the number (the
    /// booking id when it was withheld), `{booking_id}` the booking id. `None` without a template.
    pub fn fallback_email(&self, phone: Option<&str>, booking_id: &str) -> Option<String> {
        if self.attendee_email_fallback.is_empty() {
            return None;
        }
        let digits: String = phone.unwrap_or_default().chars().filter(char::is_ascii_digit).collect();
        let digits = if digits.is_empty() { booking_id.to_owned() } else { digits };
        Some(self.attendee_email_fallback.replace("{phone_digits}", &digits).replace("{booking_id}", booking_id))
    }
}

#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub tz: Tz,
    /// Digits of the country calling code for national numbers, e.g. "49".
    pub country_code: String,
    pub phone_numbers: Vec<E164>,
    pub agent_ids: Vec<String>,
    pub staff: Vec<Staff>,
    pub services: Vec<Service>,
    pub rules: BookingRules,
    pub policy: Policy,
    pub calcom: TenantCalcom,
    pub flags: FlagDefaults,
}

impl Tenant {
    pub fn staff(&self, id: &StaffId) -> Option<&Staff> {
        self.staff.iter().find(|s| &s.id == id)
    }

    pub fn service(&self, id: &ServiceId) -> Option<&Service> {
        self.services.iter().find(|s| &s.id == id)
    }

    /// Staff who perform `service`, in configuration order.
    pub fn qualified_staff<'a>(&'a self, service: &'a ServiceId) -> impl Iterator<Item = &'a Staff> + 'a {
        self.staff.iter().filter(move |s| s.performs(service))
    }

    pub fn staff_key(&self, staff: &StaffId) -> StaffKey {
        StaffKey::new(self.id.clone(), staff.clone())
    }

    pub fn staff_keys(&self) -> impl Iterator<Item = StaffKey> + '_ {
        self.staff.iter().map(|s| self.staff_key(&s.id))
    }

    /// Event type ids for `service`'s busy phases done by `staff`.
    pub fn event_types(&self, service: &ServiceId, staff: &StaffId) -> Option<&[i64]> {
        self.service(service)?.event_types.get(staff).map(Vec::as_slice)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("tenant id {0:?} is used twice")]
    DuplicateTenant(String),
    #[error("phone number {0} belongs to two tenants")]
    DuplicatePhone(String),
    #[error("agent id {0:?} belongs to two tenants")]
    DuplicateAgent(String),
}

/// Every tenant, indexed by id, called number and Retell agent id.
#[derive(Debug, Default)]
pub struct Catalogue {
    tenants: Vec<Arc<Tenant>>,
    by_id: HashMap<TenantId, usize>,
    by_phone: HashMap<E164, usize>,
    by_agent: HashMap<String, usize>,
}

impl Catalogue {
    pub fn new(tenants: Vec<Tenant>) -> Result<Self, CatalogueError> {
        let mut catalogue = Self::default();
        for (index, tenant) in tenants.into_iter().enumerate() {
            if catalogue.by_id.insert(tenant.id.clone(), index).is_some() {
                return Err(CatalogueError::DuplicateTenant(tenant.id.to_string()));
            }
            for phone in &tenant.phone_numbers {
                if catalogue.by_phone.insert(phone.clone(), index).is_some() {
                    return Err(CatalogueError::DuplicatePhone(phone.to_string()));
                }
            }
            for agent in &tenant.agent_ids {
                if catalogue.by_agent.insert(agent.clone(), index).is_some() {
                    return Err(CatalogueError::DuplicateAgent(agent.clone()));
                }
            }
            catalogue.tenants.push(Arc::new(tenant));
        }
        Ok(catalogue)
    }

    pub fn tenants(&self) -> &[Arc<Tenant>] {
        &self.tenants
    }

    pub fn tenant(&self, id: &TenantId) -> Option<&Arc<Tenant>> {
        self.by_id.get(id).map(|&i| &self.tenants[i])
    }

    pub fn tenant_by_phone(&self, number: &E164) -> Option<&Arc<Tenant>> {
        self.by_phone.get(number).map(|&i| &self.tenants[i])
    }

    pub fn tenant_by_agent(&self, agent_id: &str) -> Option<&Arc<Tenant>> {
        self.by_agent.get(agent_id).map(|&i| &self.tenants[i])
    }

    /// The tenant and staff record behind a calendar.
    pub fn staff(&self, key: &StaffKey) -> Option<(&Arc<Tenant>, &Staff)> {
        let tenant = self.tenant(&key.tenant)?;
        let staff = tenant.staff(&key.staff)?;
        Some((tenant, staff))
    }

    pub fn all_staff_keys(&self) -> Vec<StaffKey> {
        self.tenants.iter().flat_map(|t| t.staff_keys().collect::<Vec<_>>()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dauerwelle() -> Service {
        let phase = |name: &str, offset, duration, busy| Phase {
            name: name.into(),
            offset_minutes: offset,
            duration_minutes: duration,
            staff_busy: busy,
        };
        Service {
            id: "dauerwelle".into(),
            name: "Dauerwelle".into(),
            aliases: vec![],
            price_cents: 8900,
            phases: vec![
                phase("A", 0, 50, true),
                phase("gap", 50, 15, false),
                phase("B", 65, 5, true),
                phase("gap", 70, 10, false),
                phase("C", 80, 15, true),
                phase("D", 95, 40, true),
            ],
            event_types: HashMap::new(),
        }
    }

    #[test]
    fn dauerwelle_is_compound_and_busy_only_in_its_four_phases() {
        let service = dauerwelle();
        assert!(service.is_compound());
        assert_eq!(service.total_minutes(), 135);
        assert_eq!(service.busy_layout(), vec![(0, 50), (65, 5), (80, 15), (95, 40)]);
        let start: DateTime<Utc> = "2026-11-26T09:00:00Z".parse().unwrap();
        let busy = service.busy_intervals(start);
        assert_eq!(busy.len(), 4);
        assert_eq!(busy[0].end().to_rfc3339(), "2026-11-26T09:50:00+00:00");
        assert_eq!(busy[1].start().to_rfc3339(), "2026-11-26T10:05:00+00:00");
        assert_eq!(service.span(start).end().to_rfc3339(), "2026-11-26T11:15:00+00:00");
    }
}
