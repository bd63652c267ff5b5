//! The admin pages' one error enum and its one mapping to a status and a German HTML page.
//!
//! Internal details (store messages, actor failures) never reach the page: they are kept in the
//! response extensions as [`ErrorDetail`], where the request-logging middleware picks them up.
//! A tenant wall violation is [`AdminError::NotFound`], the same page as a mistyped id.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::calendar::CalendarError;
use crate::http::error::ErrorDetail;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Unknown, or another tenant's (the wall looks like absence).
    #[error("not found")]
    NotFound,
    /// The CSRF token of the session (or of the login form) is missing or wrong.
    #[error("csrf token missing or wrong")]
    Csrf,
    #[error("too many failed logins; retry in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    /// A form value is unusable; the message is German and shown as is.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("body too large")]
    PayloadTooLarge,
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl AdminError {
    pub fn status(&self) -> StatusCode {
        match self {
            AdminError::NotFound => StatusCode::NOT_FOUND,
            AdminError::Csrf => StatusCode::FORBIDDEN,
            AdminError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            AdminError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AdminError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AdminError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AdminError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Heading and explanation for the page.
    fn german(&self) -> (&'static str, &'static str) {
        match self {
            AdminError::NotFound => (
                "Nicht gefunden",
                "Diese Seite oder dieser Eintrag existiert nicht (oder gehört nicht zu Ihrem Salon).",
            ),
            AdminError::Csrf => (
                "Anfrage abgelehnt",
                "Das Sicherheits-Token des Formulars fehlt oder ist ungültig. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
            ),
            AdminError::TooManyAttempts { .. } => (
                "Zu viele Anmeldeversuche",
                "Zu viele fehlgeschlagene Anmeldeversuche. Bitte warten Sie eine Minute und versuchen Sie es dann erneut.",
            ),
            AdminError::BadRequest(message) => ("Ungültige Eingabe", message),
            AdminError::PayloadTooLarge => ("Anfrage zu groß", "Die gesendeten Daten sind zu umfangreich."),
            AdminError::Unavailable(_) => (
                "Vorübergehend nicht verfügbar",
                "Der Dienst ist gerade nicht erreichbar. Bitte versuchen Sie es in einigen Sekunden noch einmal.",
            ),
            AdminError::Internal(_) => {
                ("Interner Fehler", "Es ist ein interner Fehler aufgetreten. Der Fehler wurde protokolliert.")
            }
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(err: StoreError) -> Self {
        AdminError::Unavailable(err.to_string())
    }
}

impl From<CalendarError> for AdminError {
    fn from(err: CalendarError) -> Self {
        AdminError::Unavailable(err.to_string())
    }
}

impl From<askama::Error> for AdminError {
    fn from(err: askama::Error) -> Self {
        AdminError::Internal(format!("template: {err}"))
    }
}

#[derive(Template)]
#[template(path = "admin/error.html")]
struct ErrorPage {
    status: u16,
    title: &'static str,
    message: &'static str,
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (title, message) = self.german();
        let page = ErrorPage { status: status.as_u16(), title, message };
        let body = page.render().unwrap_or_else(|_| format!("{} – {}", title, message));
        let mut response = (status, Html(body)).into_response();
        if let AdminError::TooManyAttempts { retry_after_secs } = &self
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response.extensions_mut().insert(ErrorDetail(self.to_string()));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_one_status_and_a_german_page() {
        assert_eq!(AdminError::NotFound.status(), StatusCode::NOT_FOUND);
        assert_eq!(AdminError::Csrf.status(), StatusCode::FORBIDDEN);
        assert_eq!(AdminError::TooManyAttempts { retry_after_secs: 60 }.status(), StatusCode::TOO_MANY_REQUESTS);
        let response = AdminError::Unavailable("db password=hunter2".into()).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            response.extensions().get::<ErrorDetail>().is_some_and(|d| d.0.contains("hunter2")),
            "kept for the log only"
        );
    }

    #[test]
    fn too_many_attempts_says_when_to_retry() {
        let response = AdminError::TooManyAttempts { retry_after_secs: 42 }.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "42");
    }
}
