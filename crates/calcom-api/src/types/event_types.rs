//! Wire types of `GET /v2/event-types/{id}` (`cal-api-version: 2024-06-14`) and `GET /v2/webhooks`.
//!
//! Guarantees: field names follow Cal.com's output classes
//! (`packages/platform/types/event-types/event-types_2024_06_14/outputs/event-type.output.ts`:
//! `EventTypeOutput_2024_06_14` with `ownerId` and `users`, `TeamEventTypeOutput_2024_06_14` with
//! `hosts`; `booking-fields.output.ts`; `apps/api/v2/src/modules/webhooks/outputs/webhook.output.ts`);
//! decoding is lenient (unknown fields ignored, `null` lists empty), so a new Cal.com field never
//! breaks start-up; the derived facts ([`EventType::is_multi_length`], [`EventType::requires_email`],
//! [`EventType::host_ids`]) are pure.

use serde::{Deserialize, Serialize};

use super::null_default;

/// One entry of `bookingFields`. Default fields carry `isDefault: true` and a fixed slug
/// (`name`, `email`, `attendeePhoneNumber`, `location`, …); `hidden` fields are not shown to the booker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingField {
    #[serde(default, deserialize_with = "null_default")]
    pub slug: String,
    #[serde(default, rename = "type", deserialize_with = "null_default")]
    pub field_type: String,
    #[serde(default, deserialize_with = "null_default")]
    pub required: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub hidden: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub is_default: bool,
}

/// `User_2024_06_14` of a personal event type's `users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeUser {
    pub id: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub username: String,
}

/// `TeamEventTypeResponseHost` of a team event type's `hosts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeHost {
    pub user_id: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub username: String,
}

/// `data` of `GET /v2/event-types/{id}` (personal or team event type), the fields we use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventType {
    pub id: i64,
    pub length_in_minutes: u32,
    /// Several lengths the booker may pick from; Cal.com stores them as the event type's
    /// `metadata.multipleDuration`, which `validateBookingLengthInMinutes` reads.
    #[serde(default, deserialize_with = "null_default", skip_serializing_if = "Vec::is_empty")]
    pub length_in_minutes_options: Vec<u32>,
    #[serde(default, deserialize_with = "null_default")]
    pub title: String,
    #[serde(default, deserialize_with = "null_default")]
    pub slug: String,
    #[serde(default, deserialize_with = "null_default")]
    pub booking_fields: Vec<BookingField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<i64>,
    #[serde(default, deserialize_with = "null_default", skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<EventTypeUser>,
    #[serde(default, deserialize_with = "null_default", skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<EventTypeHost>,
}

/// Slug of Cal.com's default e-mail booking field.
pub const EMAIL_FIELD: &str = "email";
/// Slug of Cal.com's default attendee phone booking field.
pub const PHONE_FIELD: &str = "attendeePhoneNumber";

impl EventType {
    /// Does the booker pick one of several lengths? Only then may `lengthInMinutes` be sent
    /// (`validateBookingLengthInMinutes`, `apps/api/v2/src/ee/bookings/2024-08-13/services/input.service.ts`).
    pub fn is_multi_length(&self) -> bool {
        !self.length_in_minutes_options.is_empty()
    }

    /// Can a booking of this event type last `minutes`?
    pub fn allows_length(&self, minutes: u32) -> bool {
        if self.is_multi_length() {
            self.length_in_minutes_options.contains(&minutes)
        } else {
            self.length_in_minutes == minutes
        }
    }

    fn field(&self, slug: &str) -> Option<&BookingField> {
        self.booking_fields.iter().find(|f| f.slug == slug)
    }

    /// Must the attendee give an e-mail address? Cal.com's default `email` field is required
    /// unless the event type made it optional or hid it (it may when the phone field is required);
    /// an event type whose fields we were not told (empty list) is Cal.com's default: required.
    pub fn requires_email(&self) -> bool {
        match self.field(EMAIL_FIELD) {
            Some(f) => f.required && !f.hidden,
            None => self.booking_fields.is_empty(),
        }
    }

    /// Must the attendee give a phone number?
    pub fn requires_phone(&self) -> bool {
        self.field(PHONE_FIELD).is_some_and(|f| f.required && !f.hidden)
    }

    /// Cal.com users who host bookings of this event type: the owner, its users, its team hosts.
    pub fn host_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.owner_id.into_iter().collect();
        ids.extend(self.users.iter().map(|u| u.id));
        ids.extend(self.hosts.iter().map(|h| h.user_id));
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// `UserWebhookOutputDto` of `GET /v2/webhooks` (`WebhookOutputDto` plus `userId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub subscriber_url: String,
    #[serde(default, deserialize_with = "null_default")]
    pub triggers: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub payload_template: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(json: &str) -> EventType {
        serde_json::from_str(json).expect("decodes")
    }

    #[test]
    fn facts_of_an_event_type() {
        // Shape of EventTypeOutput_2024_06_14 (event-type.output.ts): ownerId, users, bookingFields.
        let single = decode(
            r#"{"id":7,"lengthInMinutes":30,"title":"Schnitt","slug":"schnitt","ownerId":101,
                "users":[{"id":101,"name":"Anna","username":"anna"}],"bookingFields":[
                {"isDefault":true,"slug":"name","type":"name","required":true},
                {"isDefault":true,"slug":"email","type":"email","required":true,"hidden":false},
                {"isDefault":true,"slug":"attendeePhoneNumber","type":"phone","required":false,"hidden":true}],
                "unknownNewField":{"x":1}}"#,
        );
        assert!(!single.is_multi_length() && single.allows_length(30) && !single.allows_length(45));
        assert!(single.requires_email() && !single.requires_phone());
        assert_eq!(single.host_ids(), vec![101]);
        let multi = decode(
            r#"{"id":8,"lengthInMinutes":30,"lengthInMinutesOptions":[30,60],"bookingFields":[
                {"slug":"email","type":"email","required":false,"hidden":true},
                {"slug":"attendeePhoneNumber","type":"phone","required":true}],
                "hosts":[{"userId":5,"name":"B"},{"userId":6}],"ownerId":null,"users":null}"#,
        );
        assert!(multi.is_multi_length() && multi.allows_length(60) && !multi.allows_length(45));
        assert!(!multi.requires_email() && multi.requires_phone());
        assert_eq!(multi.host_ids(), vec![5, 6]);
        assert!(decode(r#"{"id":9,"lengthInMinutes":15}"#).requires_email(), "Cal.com's default fields");
    }
}
