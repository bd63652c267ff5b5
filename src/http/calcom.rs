//! `POST /calcom/webhook`: bookings made at Cal.com by others (web bookers, staff) become busy
//! time on our calendars within this one request.
//!
//! Verified first (`X-Cal-Signature-256`: hex HMAC-SHA256 of the raw body with the tenant's
//! webhook secret; unsigned or wrong → 401, nothing touched), deduplicated by the body's digest
//! (Cal.com retries), then applied by the sync layer. `?tenant=<id>` names the tenant; without it
//! each tenant's secret is tried, which also identifies the tenant.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::body::SmallBody;
use super::error::ApiError;
use super::signature::SignatureError;
use super::{AppState, require_json};
use crate::calcom::webhook::{WebhookEvent, verify};
use crate::domain::TenantId;
use crate::metrics;

pub fn routes() -> Router<AppState> {
    Router::new().route("/calcom/webhook", post(webhook))
}

#[derive(Debug, Deserialize)]
struct WebhookQuery {
    tenant: Option<String>,
}

async fn webhook(
    State(app): State<AppState>,
    Query(query): Query<WebhookQuery>,
    headers: HeaderMap,
    SmallBody(body): SmallBody,
) -> Result<Response, ApiError> {
    let Some(signature) = headers.get("x-cal-signature-256").and_then(|v| v.to_str().ok()) else {
        metrics::webhook_rejected("calcom", "missing_signature");
        return Err(ApiError::Unauthorized(SignatureError::Missing));
    };
    let catalogue = app.booking.catalogue();
    let wanted = query.tenant.as_deref().map(TenantId::from);
    let tenant = catalogue
        .tenants()
        .iter()
        .filter(|t| wanted.as_ref().is_none_or(|w| &t.id == w))
        .find(|t| {
            !t.calcom.webhook_secret.is_empty() && verify(t.calcom.webhook_secret.expose().as_bytes(), &body, signature)
        })
        .cloned();
    let Some(tenant) = tenant else {
        metrics::webhook_rejected("calcom", "bad_signature");
        return Err(ApiError::Unauthorized(SignatureError::Mismatch));
    };
    require_json(&headers)?;
    let event = WebhookEvent::parse(&body).map_err(|e| ApiError::bad_request("invalid_json", format!("body: {e}")))?;
    let delivery = format!("{}:{}", tenant.id, hex::encode(Sha256::digest(&body)));
    if !app.store.record_delivery("calcom", &delivery, app.clock.now()).await? {
        return Ok(Json(json!({"status": "duplicate"})).into_response());
    }
    match app.sync.apply_webhook(&tenant, &event).await {
        Ok(applied) => {
            Ok(Json(json!({"status": "applied", "effect": applied.describe(), "withdrawn_holds": applied.withdrawn}))
                .into_response())
        }
        Err(err) => {
            let _ = app.store.forget_delivery("calcom", &delivery).await;
            Err(ApiError::Unavailable(err.to_string()))
        }
    }
}
