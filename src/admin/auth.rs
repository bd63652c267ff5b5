//! Sessions, cookies, CSRF and the tenant scope of a signed-in admin.
//!
//! Guarantees:
//! * [`require_session`] runs before every protected route: no valid session → 303 to the login
//!   page (nothing else runs); a request with a method other than GET/HEAD must carry the
//!   session's CSRF token in its form body (`csrf`), compared in constant time → 403 otherwise.
//!   The body is read (at most [`super::BODY_LIMIT_BYTES`]) and handed on unchanged.
//! * The session cookie holds 32 random bytes; the store keeps only their SHA-256. The cookie is
//!   `HttpOnly`, `SameSite=Strict`, `Path=/admin`, and `Secure` when configured.
//! * [`AdminSession::scope`] is the tenant wall every handler passes to the store: `Some(tenant)`
//!   for a tenant admin (whatever the request asks for), `None` (all) only for operators.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::error::AdminError;
use super::format::href;
use super::{AdminState, BODY_LIMIT_BYTES};
use crate::domain::TenantId;
use crate::store::admin::AdminRole;

/// The session cookie.
pub const SESSION_COOKIE: &str = "sk_admin_session";
/// The login form's CSRF cookie (double submit: the form carries the same value).
pub const LOGIN_COOKIE: &str = "sk_admin_login";
/// The form field every state-changing request carries.
pub const CSRF_FIELD: &str = "csrf";

/// A signed-in admin, as the handlers see them.
#[derive(Debug, Clone)]
pub struct AdminSession {
    pub username: String,
    pub role: AdminRole,
    /// `Some` exactly for tenant admins.
    pub tenant: Option<TenantId>,
    /// Goes into every form of the pages this session sees.
    pub csrf: String,
    /// Identifies the session row (logout deletes it).
    pub token_hash: String,
}

impl AdminSession {
    /// The tenant wall for store queries: `None` (every tenant) only for operators.
    pub fn scope(&self) -> Option<&TenantId> {
        match self.role {
            AdminRole::Operator => None,
            AdminRole::TenantAdmin => self.tenant.as_ref(),
        }
    }

    pub fn is_operator(&self) -> bool {
        self.role == AdminRole::Operator
    }

    /// The tenant a listing shows: an operator's chosen filter (a configured tenant, else all),
    /// a tenant admin's own tenant whatever they ask for.
    pub fn listing_tenant(&self, requested: &str, known: impl Fn(&TenantId) -> bool) -> Option<TenantId> {
        match self.role {
            AdminRole::TenantAdmin => self.tenant.clone(),
            AdminRole::Operator => {
                let wanted = TenantId::from(requested.trim());
                (!requested.trim().is_empty() && known(&wanted)).then_some(wanted)
            }
        }
    }

    /// May this admin see and change `tenant`'s data?
    pub fn may_access(&self, tenant: &TenantId) -> bool {
        self.scope().is_none_or(|own| own == tenant)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AdminSession {
    type Rejection = Response;

    /// Put there by [`require_session`]; a handler outside it sends the visitor to the login.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<AdminSession>().cloned().ok_or_else(|| Redirect::to("/admin/login").into_response())
    }
}

/// The client's address (for the login limit); "unknown" when the server was not started with
/// connection info (it always is in `Application::build`).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip())))
    }
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// Middleware for every protected route (see the module docs).
pub async fn require_session(State(state): State<AdminState>, request: Request, next: Next) -> Response {
    let now = state.clock.now();
    let session = match load_session(&state, request.headers(), now).await {
        Ok(Some(session)) => session,
        Ok(None) => return redirect_to_login(&request),
        Err(err) => return err.into_response(),
    };
    let mut request = if changes_state(request.method()) {
        match check_csrf(request, &session.csrf).await {
            Ok(request) => request,
            Err(err) => return err.into_response(),
        }
    } else {
        request
    };
    request.extensions_mut().insert(session);
    next.run(request).await
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

async fn load_session(
    state: &AdminState,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<Option<AdminSession>, AdminError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let token_hash = token_hash(&token);
    let Some(record) = state.store.admin_session(&token_hash, now).await? else {
        return Ok(None);
    };
    if record.role == AdminRole::TenantAdmin && record.tenant.is_none() {
        // The schema forbids this row; if it exists anyway it must not become an operator.
        tracing::error!(user = %record.username, "tenant admin without a tenant: session refused");
        return Ok(None);
    }
    Ok(Some(AdminSession {
        username: record.username,
        role: record.role,
        tenant: record.tenant,
        csrf: record.csrf_token,
        token_hash,
    }))
}

/// Reads the (small) form body, compares its `csrf` field with the session's, and puts the body
/// back for the handler.
async fn check_csrf(request: Request, expected: &str) -> Result<Request, AdminError> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT_BYTES).await.map_err(|_| AdminError::PayloadTooLarge)?;
    let sent = serde_urlencoded::from_bytes::<CsrfField>(&bytes).map(|field| field.csrf).unwrap_or_default();
    if sent.is_empty() || !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        return Err(AdminError::Csrf);
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// 303 to the login page; a GET remembers where it wanted to go.
fn redirect_to_login(request: &Request) -> Response {
    let wanted = request.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or("");
    let target = if request.method() == Method::GET && safe_next(wanted).is_some() {
        href("/admin/login", &[("next", wanted)])
    } else {
        "/admin/login".to_owned()
    };
    Redirect::to(&target).into_response()
}

/// `next` when it is a page of ours to return to after login (never another site).
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with("/admin/")
        && next.len() <= 512
        && !next.contains("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && !next.starts_with("/admin/login")
        && !next.starts_with("/admin/logout")
        && !next.starts_with("/admin/assets/");
    ok.then_some(next)
}

/// The value of cookie `name` from the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// A `Set-Cookie` value for `path`; `max_age_secs = 0` deletes the cookie.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{secure}")
}

/// 32 random bytes, hex (session tokens and CSRF tokens).
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// What the store keeps of a session token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Equal bytes, in time that depends only on the length (tokens have a fixed, public length).
pub fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    if left.len() != right.len() {
        return false;
    }
    let difference = left.iter().zip(right).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; sk_admin_session=abc ; b=2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, LOGIN_COOKIE), None);
    }

    #[test]
    fn the_session_cookie_is_locked_down() {
        let value = set_cookie(SESSION_COOKIE, "t", "/admin", 3600, true);
        assert_eq!(value, "sk_admin_session=t; Path=/admin; Max-Age=3600; HttpOnly; SameSite=Strict; Secure");
        assert!(!set_cookie(SESSION_COOKIE, "t", "/admin", 0, false).contains("Secure"));
    }

    #[test]
    fn only_our_own_pages_are_a_place_to_return_to() {
        assert_eq!(safe_next("/admin/bookings?status=confirmed"), Some("/admin/bookings?status=confirmed"));
        assert_eq!(safe_next("https://evil.example/admin/"), None);
        assert_eq!(safe_next("//evil.example"), None);
        assert_eq!(safe_next("/admin//evil.example"), None);
        assert_eq!(safe_next("/admin/login"), None);
    }

    #[test]
    fn tokens_compare_by_content() {
        let token = random_token();
        assert_eq!(token.len(), 64);
        assert!(constant_time_eq(token.as_bytes(), token.clone().as_bytes()));
        assert!(!constant_time_eq(token.as_bytes(), random_token().as_bytes()));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert_ne!(token_hash(&token), token);
    }
}
