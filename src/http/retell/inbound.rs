//! `POST /retell/inbound`: Retell's inbound-call webhook, set per phone number.
//!
//! Retell asks while the phone is ringing (`{"event": "call_inbound", "call_inbound": {agent_id,
//! from_number, to_number}}`, signed like every Retell request) and waits up to 10 s for a 2xx
//! whose `call_inbound` may set `dynamic_variables` (string values only), `metadata`,
//! `override_agent_id` and `override_agent_version`; the call stays ringing meanwhile, and after
//! 3 failed retries Retell connects the number's inbound agent or drops the call
//! (docs.retellai.com/features/inbound-call-webhook). So this answers within
//! [`LOOKUP_BUDGET`] whatever happens: a known caller gets `customer_name` and, when they have
//! one, `next_appointment` (German label), `next_appointment_service` and
//! `next_appointment_staff`; anyone else — an unknown caller, an unknown tenant, a failed or
//! slow lookup, an inbound SMS (`chat_inbound`) — gets an empty, valid answer and the agent greets
//! as usual (set agent-level defaults for these variables in Retell). Only a bad signature (401)
//! or a body that is not a JSON object (400) is refused.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Map, Value, json};

use super::{parse_inbound, verified};
use crate::booking::Greeting;
use crate::http::AppState;
use crate::http::body::RetellBody;
use crate::http::error::ApiError;
use crate::metrics;

/// The lookup's share of Retell's 10 s: past it the caller is greeted as unknown.
pub const LOOKUP_BUDGET: Duration = Duration::from_secs(2);

pub(super) async fn inbound(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: RetellBody,
) -> Result<Json<Value>, ApiError> {
    let body = verified(&app, &headers, &body)?;
    let envelope = parse_inbound(body)?;
    if envelope.event != "call_inbound" {
        metrics::retell_inbound("other_event");
        return Ok(Json(json!({})));
    }
    let call = &envelope.call_inbound;
    let lookup = app.booking.greeting(call.agent_id.as_deref(), call.from_number.as_deref(), call.to_number.as_deref());
    let greeting = match tokio::time::timeout(LOOKUP_BUDGET, lookup).await {
        Ok(Ok(greeting)) => greeting,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "inbound call: caller lookup failed; greeting as unknown");
            metrics::retell_inbound("lookup_failed");
            return Ok(Json(answer(None)));
        }
        Err(_) => {
            tracing::warn!(
                budget_ms = LOOKUP_BUDGET.as_millis() as u64,
                "inbound call: caller lookup too slow; greeting as unknown"
            );
            metrics::retell_inbound("lookup_failed");
            return Ok(Json(answer(None)));
        }
    };
    metrics::retell_inbound(if greeting.is_some() { "known_caller" } else { "unknown_caller" });
    if let Some(greeting) = &greeting {
        tracing::Span::current().record("tenant", greeting.tenant.as_str());
    }
    Ok(Json(answer(greeting.as_ref())))
}

/// Retell's response shape: every dynamic variable a string.
fn answer(greeting: Option<&Greeting>) -> Value {
    let Some(greeting) = greeting else { return json!({"call_inbound": {}}) };
    let mut variables = Map::new();
    variables.insert("customer_name".into(), json!(greeting.customer_name));
    if let Some(next) = &greeting.next_appointment {
        variables.insert("next_appointment".into(), json!(next.label));
        variables.insert("next_appointment_service".into(), json!(next.service));
        variables.insert("next_appointment_staff".into(), json!(next.staff));
    }
    json!({"call_inbound": {"dynamic_variables": variables, "metadata": {"slotkeeper_tenant": greeting.tenant.as_str()}}})
}
