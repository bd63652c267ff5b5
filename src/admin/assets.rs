//! The admin pages' only static files, compiled into the binary: one stylesheet, one script.
//! No CDN, no build step; the pages work offline. Public (the login page needs the stylesheet);
//! they hold no data. Cached for an hour: a deploy shows new styles within that time.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::AdminError;

const STYLESHEET: &str = include_str!("assets/admin.css");
const SCRIPT: &str = include_str!("assets/admin.js");

/// GET /admin/assets/{file}
pub async fn serve(Path(file): Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "admin.css" => ("text/css; charset=utf-8", STYLESHEET),
        "admin.js" => ("text/javascript; charset=utf-8", SCRIPT),
        _ => return AdminError::NotFound.into_response(),
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}
