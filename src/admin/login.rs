//! Signing in and out.
//!
//! Login order of checks: the login form's CSRF (double submit: an `HttpOnly`, `SameSite=Strict`
//! cookie set with the form must equal the form's hidden field → 403), then the rate limit per
//! user name and per client address (→ 429 before any password work), then the password (Argon2,
//! the same work for unknown names). Success creates a new server-side session (a fresh token:
//! no session fixation) and sends the browser on with 303. Logout deletes the session row, so the
//! old cookie is worthless even if it was copied.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AdminState;
use super::auth::{
    AdminSession, ClientAddress, LOGIN_COOKIE, SESSION_COOKIE, constant_time_eq, cookie, random_token, safe_next,
    set_cookie, token_hash,
};
use super::error::AdminError;
use super::ratelimit::{address_key, user_key};
use super::users::normalize_username;
use crate::store::admin::NewAdminSession;

/// The login form's CSRF cookie lives this long (a form left open for longer needs a reload).
const LOGIN_COOKIE_MAX_AGE_SECS: i64 = 3600;
/// Where a fresh login goes when it did not come from a protected page.
const HOME: &str = "/admin/reservations";

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    username: String,
    error: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// GET /admin/login: the form, with a login CSRF token (reused from the cookie when present, so
/// two open tabs both work).
pub async fn form(
    State(state): State<AdminState>,
    headers: HeaderMap,
    query: Result<Query<LoginQuery>, QueryRejection>,
) -> Result<Response, AdminError> {
    let next = query.map(|Query(q)| q.next).unwrap_or_default();
    let csrf = cookie(&headers, LOGIN_COOKIE).filter(|value| value.len() == 64).unwrap_or_else(random_token);
    let page = LoginPage {
        csrf: csrf.clone(),
        next: safe_next(&next).unwrap_or("").to_owned(),
        username: String::new(),
        error: None,
    };
    Ok(with_login_cookie(&state, &csrf, StatusCode::OK, page.render()?))
}

/// POST /admin/login.
pub async fn submit(
    State(state): State<AdminState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, AdminError> {
    let Form(form) = form.map_err(|_| AdminError::BadRequest("Das Anmeldeformular ist unvollständig."))?;
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(form.csrf.as_bytes(), expected.as_bytes()) {
        return Err(AdminError::Csrf);
    }
    let now = state.clock.now();
    let username = normalize_username(&form.username).unwrap_or_else(|_| form.username.trim().to_lowercase());
    let mut keys = vec![user_key(&username)];
    if let Some(address) = address {
        keys.push(address_key(&address));
    }
    if let Some(retry_after_secs) = state.limiter.blocked(&keys, now) {
        tracing::warn!(user = %username, ?address, "admin login throttled");
        return Err(AdminError::TooManyAttempts { retry_after_secs });
    }
    let user_opt = state.store.admin_user_by_name(&username).await?;
    let hash_opt = user_opt.as_ref().map(|user| user.password_hash.clone());
    let matches = state.passwords.verify(&form.password, hash_opt).await?;
    let Some(user) = user_opt.filter(|_| matches) else {
        state.limiter.record_failure(&keys, now);
        tracing::info!(user = %username, ?address, "admin login failed");
        let page = LoginPage {
            csrf: expected.clone(),
            next: safe_next(&form.next).unwrap_or("").to_owned(),
            username,
            error: Some("Benutzername oder Passwort ist falsch."),
        };
        return Ok(with_login_cookie(&state, &expected, StatusCode::UNAUTHORIZED, page.render()?));
    };
    state.limiter.clear(&user_key(&username));
    if let Err(err) = state.store.purge_admin_sessions(now).await {
        tracing::warn!(error = %err, "could not purge expired admin sessions");
    }
    let token = random_token();
    let csrf = random_token();
    let hashed = token_hash(&token);
    state
        .store
        .create_admin_session(NewAdminSession {
            token_hash: &hashed,
            user_id: user.id,
            csrf_token: &csrf,
            created_at: now,
            expires_at: now + state.session_ttl,
        })
        .await?;
    tracing::info!(user = %user.username, role = %user.role, "admin signed in");
    let target = safe_next(&form.next).unwrap_or(HOME);
    let mut response = Redirect::to(target).into_response();
    let max_age = state.session_ttl.num_seconds();
    append_cookie(&mut response, &set_cookie(SESSION_COOKIE, &token, "/admin", max_age, state.secure_cookies));
    append_cookie(&mut response, &set_cookie(LOGIN_COOKIE, "", "/admin/login", 0, state.secure_cookies));
    Ok(response)
}

/// POST /admin/logout (behind the session and CSRF check): the session row is deleted.
pub async fn logout(State(state): State<AdminState>, session: AdminSession) -> Result<Response, AdminError> {
    state.store.delete_admin_session(&session.token_hash).await?;
    tracing::info!(user = %session.username, "admin signed out");
    let mut response = Redirect::to("/admin/login").into_response();
    append_cookie(&mut response, &set_cookie(SESSION_COOKIE, "", "/admin", 0, state.secure_cookies));
    Ok(response)
}

fn with_login_cookie(state: &AdminState, csrf: &str, status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    append_cookie(
        &mut response,
        &set_cookie(LOGIN_COOKIE, csrf, "/admin/login", LOGIN_COOKIE_MAX_AGE_SECS, state.secure_cookies),
    );
    response
}

fn append_cookie(response: &mut Response, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
