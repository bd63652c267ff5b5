//! The HTTP front door: routes, limits, request ids, metrics and logs.
//!
//! Handlers only translate between HTTP and the booking layer; every limit is named here:
//! body size per route group and a total budget for buffered bodies ([`body`]: 413 before any
//! other work, 503 when the budget is spent), a per-request timeout, and a concurrency limit that
//! sheds load with 503 + `Retry-After` instead of queueing without bound. Health and metrics
//! routes sit outside the limits so an overloaded node still answers its orchestrator.

pub mod body;
mod calcom;
pub mod error;
mod health;
mod middleware;
pub mod openapi;
pub mod retell;
pub mod signature;

use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::FromRef;
use axum::http::{HeaderMap, HeaderName, header};
use axum::routing::get;
use axum::{BoxError, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::booking::BookingService;
use crate::calcom::sync::SyncHandle;
use crate::clock::Clock;
use crate::secret::Secret;
use crate::store::Store;
use error::ApiError;

/// Everything handlers need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub booking: BookingService,
    pub store: Store,
    pub clock: Clock,
    pub sync: SyncHandle,
    pub retell_key: Secret,
    pub signature_tolerance_ms: i64,
    pub bodies: body::BodyLimits,
    pub metrics: Option<PrometheusHandle>,
}

/// Limits of the public routes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub request_timeout: Duration,
    pub max_concurrent_requests: usize,
}

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application router. `extra` routes (admin pages) are merged under the same layers.
pub fn router(state: AppState, limits: Limits, extra: Option<Router>) -> Router {
    // Bodies are read by `body::RetellBody` / `body::SmallBody` under their own limits.
    let limited = Router::new().merge(retell::routes()).merge(calcom::routes()).layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(overloaded))
            .load_shed()
            .concurrency_limit(limits.max_concurrent_requests)
            .timeout(limits.request_timeout),
    );
    let mut open = Router::new().merge(health::routes()).merge(openapi::routes(state.metrics.is_some()));
    if state.metrics.is_some() {
        open = open.route("/metrics", get(health::metrics));
    }
    let mut app = open.merge(limited).with_state(state.clone());
    if let Some(extra) = extra {
        app = app.merge(extra);
    }
    app.fallback(|| async { ApiError::NotFound })
        .layer(axum::middleware::from_fn(middleware::observe))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Serves `router` on `listener` until `stop`; reports on `died` if the server ends on its own.
pub fn spawn_server(
    listener: tokio::net::TcpListener,
    router: Router,
    tasks: &tokio_util::task::TaskTracker,
    stop: tokio_util::sync::CancellationToken,
    died: Option<tokio::sync::mpsc::Sender<&'static str>>,
) -> tokio::task::JoinHandle<()> {
    tasks.spawn(async move {
        let served = axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(err) = served {
            tracing::error!(error = %err, "http server failed");
        }
        if let Some(died) = died {
            let _ = died.try_send("http server");
        }
    })
}

/// A router serving only `/metrics` (for the internal metrics address).
pub fn metrics_router(handle: PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move { health::render_metrics(&handle) }
        }),
    )
}

async fn overloaded(err: BoxError) -> ApiError {
    if err.is::<tower::timeout::error::Elapsed>() {
        ApiError::Timeout
    } else if err.is::<tower::load_shed::error::Overloaded>() {
        ApiError::Overloaded
    } else {
        ApiError::Internal(err.to_string())
    }
}

impl FromRef<AppState> for body::BodyLimits {
    fn from_ref(state: &AppState) -> Self {
        state.bodies.clone()
    }
}

/// 415 unless the request says it is JSON.
pub(crate) fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") { Ok(()) } else { Err(ApiError::UnsupportedMediaType) }
}
