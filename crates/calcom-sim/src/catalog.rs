//! The simulator's event types and webhook subscriptions as Cal.com lists them:
//! `GET /v2/event-types/{id}`, `GET /v2/event-types` (`cal-api-version: 2024-06-14`) and
//! `GET /v2/webhooks`.
//!
//! Invariant: every answer is built from the simulator's configuration ([`SimConfig`]), in the
//! shapes of `EventTypeOutput_2024_06_14` (`packages/platform/types/event-types/event-types_2024_06_14/outputs/event-type.output.ts`:
//! `lengthInMinutes`, `lengthInMinutesOptions`, `bookingFields`, `ownerId`, `users`) and
//! `UserWebhookOutputDto` (`apps/api/v2/src/modules/webhooks/outputs/webhook.output.ts`), so the
//! service learns its facts the way it learns them from Cal.com. An unknown id is 404 with the
//! controller's message (`event-types.controller.ts`: "Event type with id {id} not found").
//! Known gap: Cal.com answers only the API key owner's event types; the simulator has no users
//! per key and answers every configured one.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;

use super::error::{ApiError, json_response};
use super::{SimConfig, SimEventType, SimInner};
use calcom_api::types::{BookingField, EMAIL_FIELD, Envelope, EventType, EventTypeUser, PHONE_FIELD, Webhook};

/// Triggers the subscription of [`SimConfig::webhook`] carries (the simulator sends these).
pub(crate) const SENT_TRIGGERS: [&str; 3] = ["BOOKING_CREATED", "BOOKING_CANCELLED", "BOOKING_RESCHEDULED"];

fn field(slug: &str, field_type: &str, required: bool, hidden: bool) -> BookingField {
    BookingField { slug: slug.to_owned(), field_type: field_type.to_owned(), required, hidden, is_default: true }
}

/// `EventTypeOutput_2024_06_14` of a simulated event type.
pub(crate) fn output(et: &SimEventType) -> EventType {
    let username = et.host_email.split('@').next().unwrap_or_default().to_owned();
    EventType {
        id: et.id,
        length_in_minutes: et.length_minutes,
        length_in_minutes_options: et.length_options.clone(),
        title: et.slug.clone(),
        slug: et.slug.clone(),
        booking_fields: vec![
            field("name", "name", true, false),
            field(EMAIL_FIELD, "email", et.email_required, !et.email_required),
            field(PHONE_FIELD, "phone", et.phone_required, !et.phone_required),
        ],
        owner_id: Some(et.host_user_id),
        users: vec![EventTypeUser { id: et.host_user_id, name: et.host_name.clone(), username }],
        hosts: Vec::new(),
    }
}

pub(crate) fn listed_webhooks(cfg: &SimConfig) -> Vec<Webhook> {
    if let Some(listed) = &cfg.listed_webhooks {
        return listed.clone();
    }
    cfg.webhook
        .iter()
        .map(|w| Webhook {
            id: 1,
            subscriber_url: w.url.clone(),
            triggers: SENT_TRIGGERS.map(str::to_owned).to_vec(),
            active: true,
            secret: Some(w.secret.clone()),
            payload_template: String::new(),
            user_id: None,
        })
        .collect()
}

pub(crate) async fn get_event_type(
    State(sim): State<Arc<SimInner>>,
    uri: Uri,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    let id = id.ok().and_then(|Path(id)| id.parse::<i64>().ok());
    let found = id.and_then(|id| sim.cal().event_types().find(|e| e.id == id).map(output));
    match found {
        Some(et) => json_response(StatusCode::OK, &Envelope::success(et)),
        None => {
            let shown = uri.path().rsplit('/').next().unwrap_or_default().to_owned();
            ApiError::not_found(format!("Event type with id {shown} not found")).respond(uri.path())
        }
    }
}

pub(crate) async fn list_event_types(State(sim): State<Arc<SimInner>>, uri: Uri) -> Response {
    let all: Vec<EventType> = sim.cal().event_types().map(output).collect();
    if all.is_empty() {
        // `event-types.controller.ts`: an empty list is a 404 "Event types not found".
        return ApiError::not_found("Event types not found").respond(uri.path());
    }
    json_response(StatusCode::OK, &Envelope::success(all))
}

pub(crate) async fn list_webhooks(State(sim): State<Arc<SimInner>>) -> Response {
    json_response(StatusCode::OK, &Envelope::success(sim.webhooks.clone()))
}
