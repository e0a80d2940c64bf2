//! The provider's three error shapes: RFC 6749 JSON from the token and revocation endpoints,
//! `{"error","message"}` JSON with a Bearer challenge from the protected APIs, and HTML pages
//! for authorization requests that must not be redirected to an unverified URI.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An RFC 6749 §5.2 error answer.
pub(super) struct TokenError {
    status: StatusCode,
    error: String,
    description: &'static str,
    /// The client tried HTTP Basic, so a 401 carries a Basic challenge (RFC 6749 §5.2).
    basic_challenge: bool,
}

impl TokenError {
    fn new(status: StatusCode, error: &str, description: &'static str) -> Self {
        TokenError {
            status,
            error: error.to_owned(),
            description,
            basic_challenge: false,
        }
    }

    pub fn invalid_request(description: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_client(basic_challenge: bool) -> Self {
        TokenError {
            basic_challenge,
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed.",
            )
        }
    }

    pub fn invalid_grant(description: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub fn invalid_scope(description: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }

    pub fn unsupported_grant_type() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Supported grant types: authorization_code, refresh_token.",
        )
    }

    /// A failure scripted by a test; a status outside 400–599 becomes 500.
    pub fn injected(status: u16, error: &str) -> Self {
        let status = StatusCode::from_u16(status)
            .ok()
            .filter(|s| s.is_client_error() || s.is_server_error())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(status, error, "Failure injected by the test provider.")
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.basic_challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"sequencer\""),
            );
        }
        response
    }
}

/// A JSON error of the protected APIs (`/provider/userinfo`, `/sequencer/...`).
pub(super) struct ApiError {
    status: StatusCode,
    error: &'static str,
    message: String,
}

impl ApiError {
    /// 401 for a missing, unknown, revoked or expired token (RFC 6750 §3.1).
    pub fn invalid_token(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            message: message.into(),
        }
    }

    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            error,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "message": self.message });
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sequencer\", error=\"invalid_token\""),
            );
        }
        response
    }
}

#[derive(Template)]
#[template(path = "provider/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// A 400 HTML page for an authorization request that cannot be answered by redirect.
pub(super) struct PageError {
    title: &'static str,
    message: &'static str,
}

impl PageError {
    pub fn new(title: &'static str, message: &'static str) -> Self {
        PageError { title, message }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            title: self.title,
            message: self.message,
        };
        render_page(StatusCode::BAD_REQUEST, &page)
    }
}

pub(super) use crate::pages::render_page;
