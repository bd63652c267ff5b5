//! The admin web pages: what the voice agent did (reservations, bookings, Cal.com sync, dead
//! letters) and the run-time switches (feature flags), for salon staff and operators. German UI,
//! server-rendered HTML (askama, auto-escaped), one small embedded CSS and JS file, no CDN.
//!
//! ```text
//!  /admin/login  GET form · POST (login CSRF cookie, rate limit per user name and per address)
//!  /admin/assets/{file}                      public, static
//!  ── require_session (303 → /admin/login; every non-GET also needs the session's CSRF token, 403) ──
//!  /admin/reservations[/active-count|/{token}|/{token}/release]
//!  /admin/bookings[/{id}/cancel]   /admin/dead-letters/{id}/retry
//!  /admin/flags   /admin/logout
//! ```
//!
//! Guarantees:
//! * **Access.** Every page except the login form and the static assets needs a server-side
//!   session ([`auth`]); every state-changing request is checked against the session's CSRF token
//!   before any handler runs, so a new POST route cannot forget it.
//! * **Tenant walls.** A tenant admin's scope is their tenant, passed into every store query; an
//!   object of another tenant is indistinguishable from one that does not exist (404), and nothing
//!   changes. Operators see every tenant and may filter.
//! * **Same paths as the phone.** Cancelling a booking and releasing a hold go through the
//!   stylist's calendar actor (the only writer of that calendar), flag changes through
//!   [`Flags::set`] (audited), dead-letter retries through the outbox.
//! * **Limits.** Form bodies are capped at [`BODY_LIMIT_BYTES`], every request at
//!   [`REQUEST_TIMEOUT`], password hashing at two at a time (see [`password`]).

mod assets;
pub mod auth;
mod bookings;
pub mod error;
mod flags;
pub mod format;
mod login;
pub mod password;
pub mod ratelimit;
mod reservations;
pub mod users;
mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{Redirect, Response};
use axum::routing::{any, get, post};
use chrono::TimeDelta;
use tower_http::timeout::TimeoutLayer;

use crate::calcom::sync::SyncHandle;
use crate::calendar::Calendars;
use crate::clock::Clock;
use crate::config::{AdminSettings, ConfigError};
use crate::domain::Catalogue;
use crate::flags::Flags;
use crate::store::Store;

/// Admin forms are a few fields; anything larger is not ours (413 before parsing).
pub const BODY_LIMIT_BYTES: usize = 16 * 1024;
/// An admin request that takes longer has hit a stuck dependency; answer 503 instead of hanging.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Rows per page of the reservation and booking lists.
pub const PAGE_SIZE: i64 = 50;

/// The parts the admin pages use; built once in `Application::build`.
pub struct AdminDeps {
    pub store: Store,
    pub clock: Clock,
    pub catalogue: Arc<Catalogue>,
    pub calendars: Calendars,
    pub sync: SyncHandle,
    pub flags: Flags,
    pub settings: AdminSettings,
}

/// Shared state of the admin handlers; cheap to clone.
#[derive(Clone)]
pub struct AdminState {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    pub(crate) catalogue: Arc<Catalogue>,
    pub(crate) calendars: Calendars,
    pub(crate) sync: SyncHandle,
    pub(crate) flags: Flags,
    /// How long a session lives after login (no sliding renewal: a stolen cookie dies on time).
    pub(crate) session_ttl: TimeDelta,
    /// Adds `Secure` to the cookies (the page is served over TLS, directly or behind a proxy).
    pub(crate) secure_cookies: bool,
    /// Failed logins per user name and per client address within a minute.
    pub(crate) limiter: Arc<ratelimit::LoginLimiter>,
    /// Argon2 runs on the blocking pool, at most two at a time.
    pub(crate) passwords: Arc<password::PasswordGate>,
}

impl AdminState {
    /// Checks the admin settings (fail fast: a zero limit would lock everyone out).
    pub fn new(deps: AdminDeps) -> Result<Self, ConfigError> {
        let settings = deps.settings;
        // `Settings::validate` keeps these in range; checked again so a hand-built state cannot
        // start with sessions that never expire or a limiter that refuses everyone.
        if settings.session_ttl_hours == 0 || settings.session_ttl_hours > 24 * 30 {
            return Err(ConfigError::invalid("admin.session_ttl_hours", "must be 1..=720"));
        }
        if settings.login_attempts_per_minute == 0 {
            return Err(ConfigError::invalid("admin.login_attempts_per_minute", "must be at least 1"));
        }
        let hours = i64::try_from(settings.session_ttl_hours).unwrap_or(1);
        Ok(Self {
            store: deps.store,
            clock: deps.clock,
            catalogue: deps.catalogue,
            calendars: deps.calendars,
            sync: deps.sync,
            flags: deps.flags,
            session_ttl: TimeDelta::hours(hours),
            secure_cookies: settings.secure_cookies,
            limiter: Arc::new(ratelimit::LoginLimiter::new(settings.login_attempts_per_minute)),
            passwords: Arc::new(password::PasswordGate::new()),
        })
    }
}

/// All admin routes with their own limits and headers, ready to merge into the public router.
pub fn router(state: AdminState) -> Router {
    let protected = Router::new()
        .route("/admin/reservations", get(reservations::list))
        .route("/admin/reservations/active-count", get(reservations::active_count))
        .route("/admin/reservations/{token}", get(reservations::detail))
        .route("/admin/reservations/{token}/release", post(reservations::release))
        .route("/admin/bookings", get(bookings::list))
        .route("/admin/bookings/{id}/cancel", get(bookings::confirm_cancel).post(bookings::cancel))
        .route("/admin/dead-letters/{id}/retry", post(bookings::retry_dead_letter))
        .route("/admin/flags", get(flags::page).post(flags::change))
        .route("/admin/logout", post(login::logout))
        // Unknown admin paths: a login wall first, then a German 404.
        .route("/admin/{*rest}", any(|| async { error::AdminError::NotFound }))
        .route_layer(from_fn_with_state(state.clone(), auth::require_session));
    let public = Router::new()
        .route("/admin", get(|| async { Redirect::to("/admin/reservations") }))
        .route("/admin/", get(|| async { Redirect::to("/admin/reservations") }))
        .route("/admin/login", get(login::form).post(login::submit))
        .route("/admin/assets/{file}", get(assets::serve));
    public
        .merge(protected)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(from_fn(security_headers))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT))
        .with_state(state)
}

/// Headers on every admin response: a strict content security policy (only our own script and
/// style; no inline code, so injected markup cannot run), no framing, no caching of pages that
/// show customer data (static assets set their own cache policy).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
