//! The body of one phase's `POST /v2/bookings`, built from the event type as Cal.com declares it.
//!
//! Invariant: only properties of `CreateBookingInput_2024_08_13`
//! (`packages/platform/types/bookings/2024-08-13/inputs/create-booking.input.ts`) are sent, and
//! `lengthInMinutes` only to an event type with several lengths; the caller's number goes as
//! `attendee.phoneNumber` (E.164), an e-mail only when the caller gave one or the event type
//! requires one (then the tenant's `attendee_email_fallback`), never an address made up here.
//! What cannot be sent as the event type requires is refused with the reason, not sent.

use std::sync::Arc;

use super::engine::{CallError, Engine};
use crate::calcom::CalcomError;
use crate::calcom::event_types::length_to_send;
use crate::calcom::ratelimit::Priority;
use crate::calcom::types::{CreateBooking, CreateBookingAttendee, EventType};
use crate::domain::Tenant;
use crate::store::{Appointment, AppointmentPhase};

/// The event type as Cal.com has it: learned within the refresh time, else asked now.
pub(super) async fn learned(engine: &Engine, tenant: &Tenant, id: i64) -> Result<Arc<EventType>, CallError> {
    if let Some(known) = engine.event_types.get(&tenant.id, id) {
        return Ok(known);
    }
    let key = engine.api_key(tenant);
    match engine.call(tenant, Priority::Booking, || engine.client.get_event_type(key, id)).await? {
        Some(et) => Ok(engine.event_types.remember(&tenant.id, et)),
        None => Err(CallError::Calcom(CalcomError::NotFound)),
    }
}

/// The create body of `phase`, or why this booking cannot be sent as the event type requires.
pub(super) fn create_request(
    tenant: &Tenant,
    appointment: &Appointment,
    phase: &AppointmentPhase,
    et: &EventType,
    id: &str,
    mirror: Option<String>,
) -> Result<CreateBooking, String> {
    let minutes = (phase.end - phase.start).num_minutes().max(1) as u32;
    if !et.allows_length(minutes) {
        return Err(format!(
            "Cal.com event type {} cannot be booked for {minutes} minutes (its length is {}, options {:?}): \
             the configuration and Cal.com disagree; run `slotkeeper calcom doctor`",
            et.id, et.length_in_minutes, et.length_in_minutes_options
        ));
    }
    let phone = appointment.customer_phone.clone().filter(|p| !p.trim().is_empty());
    if et.requires_phone() && phone.is_none() {
        return Err(format!("Cal.com event type {} requires a phone number and the caller withheld theirs", et.id));
    }
    let fallback = || tenant.calcom.fallback_email(phone.as_deref(), appointment.id.as_str());
    let email = match appointment.customer_email.clone().filter(|e| !e.trim().is_empty()) {
        Some(given) => Some(given),
        // Cal.com needs an e-mail or a phone number (`RequireEmailOrPhone`), and an e-mail
        // where the event type's booking fields require one.
        None if et.requires_email() || phone.is_none() => Some(fallback().ok_or_else(|| {
            format!(
                "Cal.com event type {} needs an e-mail for this caller and tenant {} has no \
                 calcom.attendee_email_fallback configured",
                et.id, tenant.id
            )
        })?),
        None => None,
    };
    let mut metadata = std::collections::BTreeMap::new();
    metadata.insert("slotkeeper_booking_id".to_owned(), appointment.id.to_string());
    metadata.insert("slotkeeper_phase_id".to_owned(), id.to_owned());
    metadata.insert("slotkeeper_call_id".to_owned(), truncate_js(&appointment.call_id, 120));
    metadata.insert("slotkeeper_tenant".to_owned(), tenant.id.to_string());
    Ok(CreateBooking {
        start: phase.start,
        event_type_id: et.id,
        attendee: CreateBookingAttendee {
            name: appointment.customer_name.clone(),
            email,
            time_zone: tenant.tz.name().to_owned(),
            phone_number: phone,
            language: Some("de".into()),
        },
        length_in_minutes: length_to_send(et, minutes),
        metadata,
        reserved_slot_uid: mirror,
        booking_fields_responses: None,
    })
}

/// At most `units` UTF-16 code units (Cal.com counts metadata lengths in JavaScript).
fn truncate_js(s: &str, units: usize) -> String {
    let mut used = 0;
    s.chars()
        .take_while(|c| {
            used += c.len_utf16();
            used <= units
        })
        .collect()
}
