//! The HTTP layer's one error enum and its one mapping to status codes.
//!
//! Every error body is JSON: `{"success": false, "error": {"code", "message"}, "message": "<German>"}`
//! — the German sentence is there because Retell may hand an error body to the agent, which then
//! reads something sensible instead of a stack trace. Internal details never reach the body; they
//! are logged with the request's span.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::booking::ContextError;
use crate::http::signature::SignatureError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unauthorized: {0}")]
    Unauthorized(SignatureError),
    #[error("content type must be application/json")]
    UnsupportedMediaType,
    #[error("body larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("unknown function {0:?}")]
    UnknownFunction(String),
    #[error("{0}")]
    Context(ContextError),
    #[error("not found")]
    NotFound,
    #[error("overloaded")]
    Overloaded,
    #[error("request timed out")]
    Timeout,
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_SECS: &str = "1";

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest { code, message: message.into() }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Context(ContextError::CallId(_)) => StatusCode::BAD_REQUEST,
            ApiError::Context(_) | ApiError::UnknownFunction(_) | ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Overloaded | ApiError::Timeout | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(e) => e.reason(),
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::BadRequest { code, .. } => code,
            ApiError::UnknownFunction(_) => "unknown_function",
            ApiError::Context(ContextError::CallId(_)) => "invalid_call_id",
            ApiError::Context(ContextError::UnknownTenant) => "unknown_tenant",
            ApiError::Context(ContextError::AmbiguousTenant) => "ambiguous_tenant",
            ApiError::NotFound => "not_found",
            ApiError::Overloaded => "overloaded",
            ApiError::Timeout => "timeout",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// What a phone agent could say if it reads this body.
    fn german(&self) -> &'static str {
        match self.status() {
            StatusCode::SERVICE_UNAVAILABLE => crate::booking::speech::BUSY,
            StatusCode::NOT_FOUND if matches!(self, ApiError::Context(_)) => {
                "Dieser Anruf kann leider keinem Salon zugeordnet werden. Bitte wenden Sie sich direkt an den Salon."
            }
            _ => {
                "Es ist ein technischer Fehler aufgetreten. Bitte versuchen Sie es noch einmal oder wenden Sie sich direkt an den Salon."
            }
        }
    }

    /// The message in the body: specific for client errors, generic for our own failures.
    fn public_message(&self) -> String {
        match self {
            ApiError::Internal(_) => "internal error".into(),
            ApiError::Unavailable(_) => "temporarily unavailable, retry shortly".into(),
            other => other.to_string(),
        }
    }
}

impl From<ContextError> for ApiError {
    fn from(err: ContextError) -> Self {
        ApiError::Context(err)
    }
}

impl From<crate::booking::BookingError> for ApiError {
    fn from(err: crate::booking::BookingError) -> Self {
        match err {
            crate::booking::BookingError::Context(context) => ApiError::Context(context),
            other => ApiError::Unavailable(other.to_string()),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        ApiError::Unavailable(err.to_string())
    }
}

/// Recorded on error responses so the logging middleware can log the cause with the request.
#[derive(Debug, Clone)]
pub struct ErrorDetail(pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = json!({
            "success": false,
            "error": {"code": self.code(), "message": self.public_message()},
            "message": self.german(),
        });
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
        }
        response.extensions_mut().insert(ErrorDetail(self.to_string()));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_one_status() {
        assert_eq!(ApiError::Unauthorized(SignatureError::Missing).status(), StatusCode::UNAUTHORIZED);
        assert_eq!(ApiError::PayloadTooLarge(1).status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(ApiError::Context(ContextError::UnknownTenant).status(), StatusCode::NOT_FOUND);
        assert_eq!(ApiError::Overloaded.status(), StatusCode::SERVICE_UNAVAILABLE);
        let placeholder = ContextError::CallId(crate::domain::ids::CallIdError::Placeholder("call_1".into()));
        assert_eq!(ApiError::Context(placeholder).status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn internal_details_stay_out_of_the_body() {
        let response = ApiError::Internal("password=hunter2 at db".into()).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let detail = response.extensions().get::<ErrorDetail>().unwrap();
        assert!(detail.0.contains("hunter2"), "kept for the log line");
    }
}
