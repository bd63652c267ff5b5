//! Cal.com's request rules for bookings, each as Cal.com's own source states it, with its message.
//!
//! Invariant: a body the simulator accepts is one Cal.com would accept by these rules, and a
//! refused one gets Cal.com's status (400) and message text:
//! - unknown properties: `CreateBookingInputPipe` validates with class-validator's
//!   `whitelist: true, forbidNonWhitelisted: true` and joins the errors with its `formatErrors`
//!   (`packages/platform/types/bookings/2024-08-13/inputs/create-booking-input.pipe.ts`);
//! - metadata limits: `@ValidateMetadata` on `CreateBookingInput_2024_08_13.metadata`
//!   (`create-booking.input.ts`, `validators/validate-metadata.ts`);
//! - `lengthInMinutes`: `validateBookingLengthInMinutes`
//!   (`apps/api/v2/src/ee/bookings/2024-08-13/services/input.service.ts`);
//! - booking fields: the e-mail / phone a booking must carry by the event type's `bookingFields`
//!   (Cal.com's `getBookingResponsesSchema`, messages `{field}<reason>`).

use serde_json::{Map, Value};

use super::SimEventType;
use super::error::ApiError;

/// `lengthInMinutes` sent for an event type with one length (`input.service.ts`, verbatim).
pub(crate) const SINGLE_LENGTH_MSG: &str = "Can't specify 'lengthInMinutes' because event type does not have multiple possible lengths. Please, remove the 'lengthInMinutes' field from the request.";

/// One class-validator error as `formatErrors` of the pipe prints it:
/// `` `${property} property is wrong,${constraints} ${children}` ``.
fn format_error(property: &str, constraints: &str, children: &str) -> String {
    format!("{property} property is wrong,{constraints} {children}")
}

/// class-validator's `forbidNonWhitelisted` constraint text.
fn not_whitelisted(property: &str) -> String {
    format_error(property, &format!("property {property} should not exist"), "")
}

/// Refuses properties outside `allowed`, and inside `attendee` those outside `attendee_allowed`.
pub(crate) fn whitelist(o: &Map<String, Value>, allowed: &[&str], attendee_allowed: &[&str]) -> Result<(), ApiError> {
    let mut errors: Vec<String> =
        o.keys().filter(|k| !allowed.contains(&k.as_str())).map(|k| not_whitelisted(k)).collect();
    if let Some(Value::Object(a)) = o.get("attendee") {
        let children: Vec<String> =
            a.keys().filter(|k| !attendee_allowed.contains(&k.as_str())).map(|k| not_whitelisted(k)).collect();
        if !children.is_empty() {
            errors.push(format_error("attendee", "", &children.join(", ")));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::bad(errors.join(", "))) }
}

/// The metadata rule's refusal, formatted by the pipe.
pub(crate) fn metadata_refused() -> ApiError {
    ApiError::bad(format_error("metadata", calcom_api::types::METADATA_LIMITS_MSG, ""))
}

/// `validateBookingLengthInMinutes`: only event types with several lengths take
/// `lengthInMinutes`, and then only one of them.
pub(crate) fn check_length(et: &SimEventType, length: Option<u32>) -> Result<(), ApiError> {
    let Some(length) = length.filter(|l| *l > 0) else { return Ok(()) };
    if et.length_options.is_empty() {
        return Err(ApiError::bad(SINGLE_LENGTH_MSG));
    }
    if !et.length_options.contains(&length) {
        let options: Vec<String> = et.length_options.iter().map(u32::to_string).collect();
        return Err(ApiError::bad(format!(
            "Provided 'lengthInMinutes' is not one of the possible lengths for the event type. The possible lengths are: {}",
            options.join(", ")
        )));
    }
    Ok(())
}

/// The contact a booking needs by the event type's booking fields. Cal.com reports a missing
/// required response as `{<field slug>}required` (`getBookingResponsesSchema`; the exact
/// suffix is not pinned by a test there, so only the field name should be relied on).
pub(crate) fn check_booking_fields(
    et: &SimEventType,
    email: Option<&str>,
    phone: Option<&str>,
) -> Result<(), ApiError> {
    if et.email_required && email.is_none_or(str::is_empty) {
        return Err(ApiError::bad("{email}required"));
    }
    if et.phone_required && phone.is_none_or(str::is_empty) {
        return Err(ApiError::bad("{attendeePhoneNumber}required"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use calcom_api::types::{ATTENDEE_PROPERTIES, CREATE_BOOKING_PROPERTIES};

    fn et(options: &[u32], email_required: bool, phone_required: bool) -> SimEventType {
        let mut et = SimEventType::single(1, "schnitt", 30, 1, "Anna", "anna@x.example");
        et.length_options = options.to_vec();
        et.email_required = email_required;
        et.phone_required = phone_required;
        et
    }

    /// Mirrors `validateBookingLengthInMinutes` in
    /// `apps/api/v2/src/ee/bookings/2024-08-13/services/input.service.ts`.
    #[test]
    fn length_in_minutes_only_for_multi_length_event_types() {
        let single = et(&[], true, false);
        assert_eq!(check_length(&single, Some(30)).unwrap_err().message, SINGLE_LENGTH_MSG);
        assert!(check_length(&single, None).is_ok());
        let multi = et(&[30, 60], true, false);
        assert!(check_length(&multi, Some(60)).is_ok());
        let err = check_length(&multi, Some(45)).unwrap_err().message;
        assert!(err.ends_with("The possible lengths are: 30, 60"), "{err}");
    }

    /// Mirrors `CreateBookingInputPipe` (`whitelist: true, forbidNonWhitelisted: true`, its
    /// `formatErrors`) in `packages/platform/types/bookings/2024-08-13/inputs/create-booking-input.pipe.ts`.
    #[test]
    fn unknown_properties_are_refused_in_cal_coms_words() {
        let body: Map<String, Value> = serde_json::from_str(
            r#"{"start":"x","eventTypeId":1,"timeZone":"Europe/Berlin","attendee":{"name":"A","phone":"+49"}}"#,
        )
        .unwrap();
        let err = whitelist(&body, CREATE_BOOKING_PROPERTIES, ATTENDEE_PROPERTIES).unwrap_err();
        assert_eq!(
            err.message,
            "timeZone property is wrong,property timeZone should not exist , \
             attendee property is wrong, phone property is wrong,property phone should not exist "
        );
        let ok: Map<String, Value> =
            serde_json::from_str(r#"{"start":"x","eventTypeId":1,"attendee":{"name":"A","phoneNumber":"+49"}}"#)
                .unwrap();
        assert!(whitelist(&ok, CREATE_BOOKING_PROPERTIES, ATTENDEE_PROPERTIES).is_ok());
    }

    /// Mirrors the default `email` and `attendeePhoneNumber` booking fields
    /// (`packages/platform/types/event-types/event-types_2024_06_14/outputs/booking-fields.output.ts`).
    #[test]
    fn booking_fields_decide_which_contact_is_needed() {
        assert!(check_booking_fields(&et(&[], true, false), None, Some("+4915112345678")).is_err());
        assert!(check_booking_fields(&et(&[], true, false), Some("a@b.de"), None).is_ok());
        assert!(check_booking_fields(&et(&[], false, false), None, Some("+4915112345678")).is_ok());
        assert!(check_booking_fields(&et(&[], false, true), Some("a@b.de"), None).is_err());
    }

    /// Mirrors the message of `@ValidateMetadata` in `create-booking.input.ts`.
    #[test]
    fn metadata_refusal_is_cal_coms_message() {
        assert!(
            metadata_refused().message.starts_with("metadata property is wrong,Metadata must have at most 50 keys")
        );
    }
}
