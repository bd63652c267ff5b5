//! Webhook delivery of the Cal.com simulator.
//!
//! Guarantees:
//! - every booking change (API-made or external) is turned into a Cal.com-shaped
//!   `{triggerEvent, createdAt, payload}` body ([`booking_event`]) and queued without blocking
//!   the API answer;
//! - one background task delivers them in order, signed with `X-Cal-Signature-256`
//!   ([`calcom_api::webhook::sign`]); a failed delivery (non-2xx or transport error) is
//!   retried after each wait of `webhook_retry_backoff_ms`, then dropped and counted in the stats.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::SimWebhook;
use super::stats::Stats;
use calcom_api::http_client_builder;
use calcom_api::types::{Booking, BookingStatus};
use calcom_api::webhook::{
    SIGNATURE_HEADER, TriggerEvent, WebhookEvent, WebhookLanguage, WebhookPayload, WebhookPerson, sign,
};

/// Timeout of one delivery attempt.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Queues webhook events for the delivery task.
#[derive(Debug, Clone)]
pub(crate) struct Notifier {
    tx: mpsc::UnboundedSender<WebhookEvent>,
}

impl Notifier {
    /// Starts the delivery task; returns the queue and the task's handle.
    pub fn start(
        cfg: SimWebhook,
        retry_backoff_ms: Vec<u64>,
        stats: Arc<Stats>,
    ) -> std::io::Result<(Notifier, tokio::task::JoinHandle<()>)> {
        let http = http_client_builder()
            .timeout(DELIVERY_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(deliver_all(rx, http, cfg, retry_backoff_ms, stats));
        Ok((Notifier { tx }, task))
    }

    pub fn send(&self, event: WebhookEvent) {
        // Fails only once the delivery task is gone (simulator shutting down).
        let _ = self.tx.send(event);
    }
}

async fn deliver_all(
    mut rx: mpsc::UnboundedReceiver<WebhookEvent>,
    http: reqwest::Client,
    cfg: SimWebhook,
    retry_backoff_ms: Vec<u64>,
    stats: Arc<Stats>,
) {
    while let Some(event) = rx.recv().await {
        let body = match serde_json::to_vec(&event) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "sim webhook not serialisable");
                continue;
            }
        };
        let signature = sign(cfg.secret.as_bytes(), &body);
        let mut delivered = false;
        for attempt in 0..=retry_backoff_ms.len() {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(retry_backoff_ms[attempt - 1])).await;
            }
            let result = http
                .post(&cfg.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, &signature)
                .body(body.clone())
                .send()
                .await;
            match result {
                Ok(resp) if resp.status().is_success() => {
                    delivered = true;
                    break;
                }
                Ok(resp) => {
                    tracing::debug!(status = resp.status().as_u16(), attempt, "sim webhook rejected");
                }
                Err(e) => {
                    tracing::debug!(error = %e.without_url(), attempt, "sim webhook delivery failed")
                }
            }
            stats.bump(|s| s.webhook_attempts_failed += 1);
        }
        if delivered {
            stats.bump(|s| s.webhooks_delivered += 1);
        } else {
            tracing::warn!(trigger = event.trigger_event.as_str(), "sim webhook dropped after retries");
            stats.bump(|s| s.webhooks_dropped += 1);
        }
    }
}

fn status_text(s: BookingStatus) -> &'static str {
    match s {
        BookingStatus::Accepted => "ACCEPTED",
        BookingStatus::Pending => "PENDING",
        BookingStatus::Cancelled => "CANCELLED",
        BookingStatus::Rejected => "REJECTED",
        BookingStatus::Unknown => "UNKNOWN",
    }
}

/// Webhook event for a booking; `original` is the booking a reschedule replaced.
pub(crate) fn booking_event(
    trigger: TriggerEvent,
    b: &Booking,
    original: Option<&Booking>,
    now: DateTime<Utc>,
) -> WebhookEvent {
    let english = || Some(WebhookLanguage { locale: "en".to_owned() });
    let organizer = b.hosts.first().map(|h| WebhookPerson {
        id: Some(h.id),
        name: h.name.clone(),
        email: h.email.clone(),
        time_zone: Some(h.time_zone.clone()),
        username: Some(h.username.clone()),
        phone_number: None,
        language: english(),
        utc_offset: None,
    });
    let attendees = b
        .attendees
        .iter()
        .map(|a| WebhookPerson {
            id: None,
            name: a.name.clone(),
            email: a.email.clone(),
            time_zone: Some(a.time_zone.clone()),
            username: None,
            phone_number: a.phone_number.clone(),
            language: a.language.clone().map(|locale| WebhookLanguage { locale }).or_else(english),
            utc_offset: None,
        })
        .collect();
    let cancelled = trigger == TriggerEvent::BookingCancelled;
    WebhookEvent {
        trigger_event: trigger,
        created_at: now,
        payload: WebhookPayload {
            uid: Some(b.uid.clone()),
            booking_id: Some(b.id),
            event_type_id: Some(b.event_type_id),
            event_type_slug: b.event_type.as_ref().map(|e| e.slug.clone()),
            title: b.title.clone(),
            start_time: Some(b.start),
            end_time: Some(b.end),
            length: Some(b.duration),
            status: Some(status_text(b.status).to_owned()),
            organizer,
            attendees,
            metadata: b.metadata.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect(),
            location: (!b.location.is_empty()).then(|| b.location.clone()),
            reschedule_uid: original.map(|o| o.uid.clone()),
            reschedule_id: original.map(|o| o.id),
            reschedule_start_time: original.map(|o| o.start),
            reschedule_end_time: original.map(|o| o.end),
            rescheduled_by: original.and(b.rescheduled_by_email.clone()),
            from_reschedule: None,
            cancellation_reason: if cancelled { b.cancellation_reason.clone() } else { None },
            cancelled_by: if cancelled { b.cancelled_by_email.clone() } else { None },
        },
    }
}
