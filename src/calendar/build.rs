//! Turning a request on one calendar into the records the store writes.
//!
//! Pure helpers of the calendar actor: which phases a booking has, and which Cal.com event type
//! each staff-busy phase uses for this stylist.

use chrono::{DateTime, Utc};

use super::messages::{ConvertRequest, HoldRequest};
use crate::domain::{Interval, Service, StaffKey, Tenant};
use crate::store::{NewAppointment, NewPhase, NewReservation, PhaseRecord, ReservationKind};

/// The phases of `service` at `start`, with this stylist's Cal.com event types on the busy ones.
pub fn phases_for(tenant: &Tenant, staff_index: usize, service: &Service, start: DateTime<Utc>) -> Vec<NewPhase> {
    let staff = &tenant.staff[staff_index];
    let event_types = service.event_types.get(&staff.id);
    let mut busy_index = 0;
    service
        .place(start)
        .into_iter()
        .map(|phase| {
            let event_type_id = if phase.staff_busy {
                let id = event_types.and_then(|types| types.get(busy_index)).copied();
                busy_index += 1;
                id
            } else {
                None
            };
            NewPhase {
                seq: phase.seq,
                name: phase.name,
                start: phase.interval.start(),
                end: phase.interval.end(),
                staff_busy: phase.staff_busy,
                event_type_id,
            }
        })
        .collect()
}

/// The phases of `service` placed at `start`, as a reservation records them.
pub fn phase_records(service: &Service, start: DateTime<Utc>) -> Vec<PhaseRecord> {
    service
        .place(start)
        .into_iter()
        .map(|p| PhaseRecord {
            seq: p.seq,
            name: p.name,
            start: p.interval.start(),
            end: p.interval.end(),
            staff_busy: p.staff_busy,
        })
        .collect()
}

pub fn reservation_for(
    key: &StaffKey,
    service: &Service,
    request: &HoldRequest,
    kind: ReservationKind,
    span: Interval,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> NewReservation {
    NewReservation {
        tenant: key.tenant.clone(),
        staff: key.staff.clone(),
        token: request.token.clone(),
        kind,
        call_id: request.call_id.clone(),
        customer_name: request.customer_name.clone(),
        customer_phone: request.customer_phone.clone(),
        service: service.id.clone(),
        start: span.start(),
        end: span.end(),
        is_compound: service.is_compound(),
        expires_at,
        phases: phase_records(service, span.start()),
        created_at: now,
    }
}

pub fn appointment_for(
    tenant: &Tenant,
    staff_index: usize,
    service: &Service,
    start: DateTime<Utc>,
    request: &ConvertRequest,
    now: DateTime<Utc>,
) -> NewAppointment {
    let span = service.span(start);
    NewAppointment {
        id: request.appointment_id.clone(),
        tenant: tenant.id.clone(),
        staff: tenant.staff[staff_index].id.clone(),
        service: service.id.clone(),
        reservation_token: Some(request.token.clone()),
        call_id: request.call_id.clone(),
        customer_name: request.customer.name.clone(),
        customer_phone: request.customer.phone.clone(),
        customer_email: request.customer.email.clone(),
        notes: request.customer.notes.clone(),
        start: span.start(),
        end: span.end(),
        is_compound: service.is_compound(),
        phases: phases_for(tenant, staff_index, service, start),
        created_at: now,
    }
}
