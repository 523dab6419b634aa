//! The shapes of the sandbox's answers: Zoom's error body, OAuth's error body, the 429 headers,
//! gateway pages, and the marker that asks for a connection to be dropped.

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;

use super::config::RetryAfterForm;
use super::limits::retry_after_value;
use crate::zoom::wire::{ErrorBody, FieldError, OAuthErrorBody};

/// Put on a response to have the connection closed instead of the response sent. The
/// connection layer in [`super::server`] looks for it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DropConnection;

/// A response that closes its connection without any answer.
pub(crate) fn drop_connection() -> Response {
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(DropConnection);
    response
}

/// A Zoom API error: `{"code": .., "message": ..}` with the given status.
pub(crate) fn zoom_error(status: StatusCode, code: i64, message: impl Into<String>) -> Response {
    let body = ErrorBody {
        code,
        message: message.into(),
        errors: Vec::new(),
    };
    (status, Json(body)).into_response()
}

/// A 400 code 300 validation failure naming each field at fault.
pub(crate) fn validation_failed(message: &str, errors: Vec<FieldError>) -> Response {
    let body = ErrorBody {
        code: 300,
        message: message.to_owned(),
        errors,
    };
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// An OAuth refusal: `{"error": .., "reason": ..}`.
pub(crate) fn oauth_error(status: StatusCode, error: &str, reason: &str) -> Response {
    let body = OAuthErrorBody {
        error: error.to_owned(),
        reason: reason.to_owned(),
    };
    (status, Json(body)).into_response()
}

/// What a gateway in front of Zoom answers with: a small HTML page, not JSON.
pub(crate) fn gateway_page(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = status.as_u16();
    let page = format!(
        "<html>\r\n<head><title>{code} {reason}</title></head>\r\n\
         <body>\r\n<center><h1>{code} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    (status, [(header::CONTENT_TYPE, "text/html")], page).into_response()
}

/// The facts a 429 carries in its headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateLimitHeaders {
    /// `QPS` or `Daily-limit`.
    pub(crate) kind: &'static str,
    /// The limit in force.
    pub(crate) limit: u32,
    /// The form of `Retry-After`.
    pub(crate) form: RetryAfterForm,
    /// The sandbox's now.
    pub(crate) now: Timestamp,
    /// How long until a request would be accepted.
    pub(crate) wait: std::time::Duration,
}

/// A 429 with Zoom's headers and the given message.
pub(crate) fn too_many_requests(facts: RateLimitHeaders, message: &str) -> Response {
    let mut response = zoom_error(StatusCode::TOO_MANY_REQUESTS, 429, message);
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-category", HeaderValue::from_static("Light"));
    headers.insert("x-ratelimit-type", HeaderValue::from_static(facts.kind));
    headers.insert("x-ratelimit-limit", HeaderValue::from(facts.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(0_u32));
    if let Some(value) = retry_after_value(facts.form, facts.now, facts.wait)
        .and_then(|value| HeaderValue::from_str(&value).ok())
    {
        headers.insert(header::RETRY_AFTER, value);
    }
    response
}

/// Adds the daily quota's headers to a successful create.
pub(crate) fn with_quota_headers(mut response: Response, limit: u32, remaining: u32) -> Response {
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    response
}

/// Puts a header on a response, skipping values that are not valid header text.
pub(crate) fn set_header(response: &mut Response, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(name), value);
    }
}
