//! The Cal.com webhook in the OpenAPI document: written by hand (its types live in `calcom::webhook`
//! and carry no schema derive), and held to the real parser by the tests below: every field the
//! type has is documented, the required ones are exactly those whose absence fails the parse, and
//! `null` is documented exactly where the parser accepts it.

use serde_json::{Value, json};

use super::{error_responses, schema_ref};

fn nullable(kind: &str) -> Value {
    json!({"type": [kind, "null"]})
}

fn nullable_time() -> Value {
    json!({"type": ["string", "null"], "format": "date-time"})
}

/// An organizer or attendee (`WebhookPerson`).
pub(super) fn person_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": nullable("integer"),
            "name": nullable("string"),
            "email": nullable("string"),
            "timeZone": nullable("string"),
            "username": nullable("string"),
            "phoneNumber": nullable("string"),
            "language": {"type": ["object", "null"], "properties": {"locale": {"type": "string"}}},
            "utcOffset": nullable("integer"),
        },
    })
}

/// `WebhookEvent`: `{"triggerEvent", "createdAt", "payload"}`; unknown fields are ignored.
pub(super) fn webhook_schema() -> Value {
    json!({
        "type": "object",
        "required": ["triggerEvent", "createdAt", "payload"],
        "properties": {
            "triggerEvent": {"type": "string", "examples": ["BOOKING_CREATED", "BOOKING_CANCELLED", "BOOKING_RESCHEDULED"],
                             "description": "Other triggers are acknowledged and ignored."},
            "createdAt": {"type": "string", "format": "date-time"},
            "payload": {
                "type": "object",
                "description": "The booking's calendar event; only these fields are read.",
                "properties": {
                    "uid": nullable("string"),
                    "bookingId": nullable("integer"),
                    "eventTypeId": nullable("integer"),
                    "type": {"type": ["string", "null"], "description": "The event type's slug."},
                    "title": nullable("string"),
                    "startTime": nullable_time(),
                    "endTime": nullable_time(),
                    "length": {"type": ["integer", "null"], "minimum": 0, "maximum": u32::MAX},
                    "status": {"type": ["string", "null"], "examples": ["ACCEPTED", "CANCELLED"]},
                    "organizer": {"oneOf": [schema_ref("CalcomPerson"), {"type": "null"}]},
                    "attendees": {"type": ["array", "null"], "items": schema_ref("CalcomPerson")},
                    "metadata": {"type": ["object", "null"]},
                    "location": nullable("string"),
                    "rescheduleUid": nullable("string"),
                    "rescheduleId": nullable("integer"),
                    "rescheduleStartTime": nullable_time(),
                    "rescheduleEndTime": nullable_time(),
                    "rescheduledBy": nullable("string"),
                    "fromReschedule": nullable("string"),
                    "cancellationReason": nullable("string"),
                    "cancelledBy": nullable("string"),
                },
            },
        },
    })
}

/// A booking made at Cal.com by a web booker: every documented field present.
pub(super) fn example() -> Value {
    let person = json!({"id": 101, "name": "Anna", "email": "anna@salon.example", "timeZone": "Europe/Berlin", "username": "anna",
                        "phoneNumber": "+4915100000000", "language": {"locale": "de"}, "utcOffset": 60});
    json!({
        "triggerEvent": "BOOKING_CREATED",
        "createdAt": "2026-11-25T07:00:00Z",
        "payload": {
            "uid": "web-booker-1", "bookingId": 4711, "eventTypeId": 1101, "type": "herrenhaarschnitt", "title": "Herrenhaarschnitt",
            "startTime": "2026-11-26T10:00:00Z", "endTime": "2026-11-26T10:30:00Z", "length": 30, "status": "ACCEPTED",
            "organizer": person, "attendees": [person], "metadata": {"source": "web"}, "location": "Salon",
            "rescheduleUid": "web-booker-0", "rescheduleId": 4710, "rescheduleStartTime": "2026-11-26T09:00:00Z",
            "rescheduleEndTime": "2026-11-26T09:30:00Z", "rescheduledBy": "anna@salon.example", "fromReschedule": "web-booker-0",
            "cancellationReason": "none", "cancelledBy": "nobody",
        },
    })
}

pub(super) fn operation() -> Value {
    let ok = json!({"200": {
        "description": "Applied (`effect`: what changed on our calendars) or a repeated delivery (`duplicate`).",
        "content": {"application/json": {"schema": {
            "type": "object", "required": ["status"],
            "properties": {"status": {"enum": ["applied", "duplicate"]}, "effect": {"type": "string"}, "withdrawn_holds": {"type": "integer", "minimum": 0}},
        }}},
    }});
    json!({
        "operationId": "calcomWebhook",
        "tags": ["Cal.com"],
        "summary": "Bookings made at Cal.com by others become busy time on our calendars within this request.",
        "description": "Verified first (401, nothing touched), deduplicated by the body's digest, then applied. Without `tenant`, \
            each salon's secret is tried, which also identifies the salon.",
        "security": [{"calcomSignature": []}],
        "parameters": [{"name": "tenant", "in": "query", "required": false, "schema": {"type": "string"}, "example": "salon-beispiel"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": schema_ref("CalcomWebhook"), "example": example()}}},
        "responses": error_responses(ok, &[400, 401, 413, 415, 503]),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Value, json};

    use super::*;
    use crate::calcom::webhook::WebhookEvent;

    fn parses(value: &Value) -> bool {
        WebhookEvent::parse(value.to_string().as_bytes()).is_ok()
    }

    fn keys(value: &Value) -> BTreeSet<String> {
        value.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
    }

    fn at<'a>(value: &'a mut Value, path: &[&str]) -> &'a mut Value {
        path.iter().fold(value, |v, p| &mut v[*p])
    }

    /// Each documented property of `object` (at `path` in the example): absent parses unless
    /// required, and `null` parses exactly when the schema's type allows it.
    fn check_fields(schema: &Value, path: &[&str]) {
        let example = example();
        for (field, field_schema) in schema["properties"].as_object().unwrap() {
            let required = schema["required"].as_array().is_some_and(|r| r.contains(&json!(field)));
            let mut without = example.clone();
            let mut with_null = example.clone();
            at(&mut without, path).as_object_mut().unwrap().remove(field);
            at(&mut with_null, path)[field] = Value::Null;
            assert_eq!(parses(&without), !required, "{path:?}.{field}: required is {required}");
            let null_allowed = field_schema["type"].as_array().is_some_and(|t| t.contains(&json!("null")))
                || field_schema["oneOf"].as_array().is_some_and(|o| o.contains(&json!({"type": "null"})));
            assert_eq!(parses(&with_null), null_allowed, "{path:?}.{field}: null allowed is {null_allowed}");
        }
    }

    #[test]
    fn the_example_parses_and_names_every_field_the_parser_keeps() {
        let example = example();
        let parsed = WebhookEvent::parse(example.to_string().as_bytes()).expect("the documented example parses");
        let round_trip = serde_json::to_value(&parsed).unwrap();
        let schema = webhook_schema();
        assert_eq!(keys(&round_trip), keys(&schema["properties"]));
        assert_eq!(
            keys(&round_trip["payload"]),
            keys(&schema["properties"]["payload"]["properties"]),
            "every payload field the type has is documented"
        );
        assert_eq!(keys(&round_trip["payload"]["organizer"]), keys(&person_schema()["properties"]));
    }

    #[test]
    fn required_and_nullable_fields_match_the_parser() {
        let schema = webhook_schema();
        check_fields(&schema, &[]);
        check_fields(&schema["properties"]["payload"], &["payload"]);
        check_fields(&person_schema(), &["payload", "organizer"]);
    }
}
