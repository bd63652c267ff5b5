//! Who is calling, before the agent speaks: what Retell's inbound-call webhook hands the agent.
//!
//! A regular is greeted by name and offered their next appointment. The caller is found by the
//! number they call from, within the tenant of the number they called (tenants are walls: a
//! number known at one salon says nothing at another). This never refuses: an unknown tenant,
//! a hidden or unparsable number, or a caller without appointments is "nobody known", and the
//! agent greets as usual. Caller ids can be spoofed, so only what `get_appointments` already
//! tells a caller by the same number is handed out (name, service, time, stylist).

use chrono::{DateTime, Utc};

use super::BookingService;
use super::speech::slot_label;
use crate::domain::E164;

/// A caller this tenant knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    pub tenant: crate::domain::TenantId,
    /// The name of their most recent appointment.
    pub customer_name: String,
    pub next_appointment: Option<NextAppointment>,
}

/// The caller's next confirmed appointment, in German for the agent to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextAppointment {
    /// "Donnerstag, 26. November um 10:00 Uhr".
    pub label: String,
    pub service: String,
    pub staff: String,
    pub start: DateTime<Utc>,
}

impl BookingService {
    /// The known caller behind an inbound call, if any.
    pub async fn greeting(
        &self,
        agent_id: Option<&str>,
        from_number: Option<&str>,
        to_number: Option<&str>,
    ) -> Result<Option<Greeting>, super::BookingError> {
        let Some(Ok(tenant)) = self.tenant_for(to_number, agent_id) else { return Ok(None) };
        let Some(caller) = from_number.and_then(|n| E164::parse(n, &tenant.country_code).ok()) else {
            return Ok(None);
        };
        let store = &self.inner.store;
        let Some(customer_name) = store.latest_customer_name(&tenant.id, caller.as_str()).await? else {
            return Ok(None);
        };
        let next = store.appointments_by_phone(&tenant.id, caller.as_str(), self.now()).await?;
        let next_appointment = next.into_iter().find(|a| a.start > self.now()).map(|a| NextAppointment {
            label: slot_label(tenant.tz, a.start),
            service: tenant.service(&a.service).map(|s| s.name.clone()).unwrap_or_default(),
            staff: tenant.staff(&a.staff).map(|s| s.name.clone()).unwrap_or_default(),
            start: a.start,
        });
        Ok(Some(Greeting { tenant: tenant.id.clone(), customer_name, next_appointment }))
    }
}
