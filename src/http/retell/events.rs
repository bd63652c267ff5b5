//! `POST /retell/webhook`: Retell's call events, each answered 2xx well within Retell's 10 s.
//!
//! Retell retries a webhook that is not answered 2xx within 10 s, up to 3 times, and may
//! deliver one event more than once (webhook overview page). So:
//! - every event Retell sends is acknowledged with 204: `call_started`, `call_ended`,
//!   `call_analyzed` act; `transcript_updated` (every turn) and the `transfer_*` events change
//!   nothing here and are only counted; an unknown (future) event is counted as `other`. A
//!   signed event about a call no tenant is configured for is acknowledged too (a retry could not
//!   change that) and logged. Only a bad signature (401) or a malformed body (400) is refused;
//! - the events that act are deduplicated by `event:call_id` in the store before they act, and
//!   the record is dropped again when the work fails, so Retell's retry does it then;
//! - the work before the answer is local and short: the call record and, for `call_ended`,
//!   giving the caller's holds back (their Cal.com mirrors are released by the sync engine
//!   afterwards). The transcript is never read: a 30-minute call ends as fast as a short one.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::wire::{CallObject, WebhookEvent};
use super::{parse_webhook, verified};
use crate::booking::ContextError;
use crate::http::AppState;
use crate::http::body::RetellBody;
use crate::http::error::ApiError;
use crate::metrics;
use crate::store::CallRecord;

pub(super) async fn webhook(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: RetellBody,
) -> Result<Response, ApiError> {
    let body = verified(&app, &headers, &body)?;
    let envelope = parse_webhook(body)?;
    let event = envelope.kind();
    let outcome = act(&app, event, &envelope.call).await?;
    metrics::retell_webhook_event(event.name(), outcome);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// What the event did: `processed`, `duplicate`, `ignored` or `unattributed`.
async fn act(app: &AppState, event: WebhookEvent, call: &CallObject) -> Result<&'static str, ApiError> {
    let Some(status) = event.call_status() else { return Ok("ignored") };
    let context = match app.booking.resolve_call(&call.info()).await {
        Ok(context) => context,
        Err(err @ ContextError::CallId(_)) => return Err(err.into()),
        Err(err) => {
            tracing::warn!(event = event.name(), error = %err, "call webhook for no configured tenant; acknowledged");
            return Ok("unattributed");
        }
    };
    tracing::Span::current().record("call_id", context.call_id.as_str());
    let delivery = format!("{}:{}", event.name(), context.call_id);
    let now = app.clock.now();
    if !app.store.record_delivery("retell", &delivery, now).await? {
        return Ok("duplicate");
    }
    let processed = async {
        let millis = |ms: Option<i64>| ms.and_then(chrono::DateTime::from_timestamp_millis);
        let record = CallRecord {
            call_id: context.call_id.to_string(),
            tenant: context.tenant.id.clone(),
            agent_id: call.agent_id.clone(),
            from_number: call.from_number.clone(),
            to_number: call.to_number.clone(),
            status: status.to_owned(),
            started_at: millis(call.start_timestamp),
            ended_at: millis(call.end_timestamp),
            disconnection_reason: call.disconnection_reason.clone(),
        };
        app.store.upsert_call(&record, now).await.map_err(ApiError::from)?;
        if event == WebhookEvent::CallEnded {
            let released = app.booking.call_ended(&context.tenant, context.call_id.as_str()).await?;
            tracing::info!(call_id = %context.call_id, released, "call ended; its holds are free again");
        }
        Ok::<_, ApiError>(())
    }
    .await;
    if let Err(err) = processed {
        // Let Retell's retry be processed instead of being ignored as a duplicate.
        let _ = app.store.forget_delivery("retell", &delivery).await;
        return Err(err);
    }
    Ok("processed")
}
