//! The simulator's one error type: a 4xx answer in Cal.com's error envelope.
//!
//! Cal.com answers errors as `{"status": "error", "timestamp", "path", "error": {"code",
//! "message"}}`, the code being the NestJS exception's name (`BadRequestException`, …)
//! (`apps/api/v2/src/filters/http-exception.filter.ts`). Every refusal of the simulator is built
//! here, so its shape is Cal.com's everywhere.

use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use calcom_api::types::{ErrorBody, ErrorDetail};
use chrono::Utc;
use serde::Serialize;

use super::state::CalError;

/// A 4xx answer in Cal.com's error shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }
    pub fn bad(m: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequestException", m)
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFoundException", m)
    }
    pub fn unauthorized(m: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UnauthorizedException", m)
    }
    pub fn unprocessable(m: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "UnprocessableEntityException", m)
    }
    pub fn too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLargeException", "request entity too large")
    }
    pub fn respond(self, path: &str) -> Response {
        error_response(self.status, self.code, &self.message, path)
    }
}

impl From<CalError> for ApiError {
    fn from(e: CalError) -> Self {
        match e {
            CalError::BadRequest(m) | CalError::SlotTaken(m) => ApiError::bad(m),
            CalError::NotFound(m) => ApiError::not_found(m),
            CalError::Unprocessable(m) => ApiError::unprocessable(m),
        }
    }
}

pub(crate) fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "sim answer not serialisable");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub(crate) fn exception_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "BadRequestException",
        401 => "UnauthorizedException",
        403 => "ForbiddenException",
        404 => "NotFoundException",
        409 => "ConflictException",
        422 => "UnprocessableEntityException",
        429 => "ThrottlerException",
        500 => "InternalServerErrorException",
        502 => "BadGatewayException",
        503 => "ServiceUnavailableException",
        504 => "GatewayTimeoutException",
        _ => "HttpException",
    }
}

pub(crate) fn error_response(status: StatusCode, code: &str, message: &str, path: &str) -> Response {
    let body = ErrorBody {
        status: "error".to_owned(),
        timestamp: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        path: path.to_owned(),
        error: ErrorDetail { code: code.to_owned(), message: message.to_owned(), details: None },
    };
    json_response(status, &body)
}
