//! The three error shapes the sandbox speaks: Attio's flat JSON (`/v2`, `/_sandbox`, revoke),
//! RFC 6749 JSON (`/oauth/token`), and HTML pages (the consent flow, which must never redirect
//! to an unverified URI).

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Attio's flat error: `{status_code, type, code, message}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    kind: &'static str,
    code: &'static str,
    message: String,
    /// Also spell the status `statusCode`, as the document's comment-create error does.
    camel_case_status: bool,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, code: &'static str, message: String) -> Self {
        ApiError {
            status,
            kind,
            code,
            message,
            camel_case_status: false,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The same error with the status also as `statusCode`: Attio's document spells the
    /// comment-create and meeting-create 400s that way, while every other error says
    /// `status_code`; the sandbox sends both there so that a client reading either finds it.
    pub fn with_camel_case_status(self) -> Self {
        Self {
            camel_case_status: true,
            ..self
        }
    }

    /// 400 `validation_type`: the request is malformed.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "validation_type",
            message.into(),
        )
    }

    /// The same answer as a 400 `validation_type` when it is a 400 `value_not_found`: for
    /// operations whose documented 400 answers have no other code (tasks).
    pub fn into_validation(self) -> Self {
        if self.code == "value_not_found" {
            Self {
                code: "validation_type",
                ..self
            }
        } else {
            self
        }
    }

    /// 400 `missing_value`: an update clears a required value.
    pub fn missing_value(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "missing_value",
            message.into(),
        )
    }

    /// 400 `immutable_value`: an update tries to change what cannot change.
    pub fn immutable_value(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "immutable_value",
            message.into(),
        )
    }

    /// 400 `multiple_match_results`: an assert matched more than one thing.
    pub fn multiple_match_results(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "multiple_match_results",
            message.into(),
        )
    }

    /// 400 `value_not_found`: the request names something that does not exist.
    pub fn value_not_found(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "value_not_found",
            message.into(),
        )
    }

    /// 400 `filter_error`: a query's `filter` or `sorts` that cannot be run.
    pub fn filter_error(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "filter_error",
            message.into(),
        )
    }

    /// 404 `value_not_found`: a record a request body names is missing, where the operation
    /// answers that with a 404 (record merge).
    pub fn value_not_found_404(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "value_not_found",
            message.into(),
        )
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "not_found",
            message.into(),
        )
    }

    /// 401: no usable credentials (the status is our choice; Attio's spec does not document it).
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "auth_error",
            "unauthorized",
            message.into(),
        )
    }

    /// 403 `auth_error`/`unauthorized`: valid credentials, not allowed (missing scope, not loopback).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "auth_error",
            "unauthorized",
            message.into(),
        )
    }

    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "validation_type",
            message.into(),
        )
    }

    /// 409 `slug_conflict`: an `api_slug` already in use.
    pub fn slug_conflict(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "slug_conflict",
            message.into(),
        )
    }

    /// 409 `uniqueness_conflict`: a unique attribute value another record already has. The
    /// document lists no answer for this case; Attio answers conflicts with 409 elsewhere
    /// (`slug_conflict`).
    pub fn uniqueness_conflict(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "uniqueness_conflict",
            message.into(),
        )
    }

    /// 400 `system_edit_unauthorized`: a change to a built-in attribute.
    pub fn system_edit(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "system_edit_unauthorized",
            message.into(),
        )
    }

    /// 400 `self_merge`: a record merged with itself.
    pub fn self_merge(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "self_merge",
            message.into(),
        )
    }

    /// 429 with Attio's documented body; the caller adds `Retry-After`.
    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "rate_limit_exceeded",
            "Rate limit exceeded, please try again later".to_owned(),
        )
    }

    /// An injected server error (the body shape of Attio's 5xx is undocumented).
    /// An answer of the fault rules: 5xx as Attio's `api_error`, and the 4xx an operation may
    /// answer with the `type` and `code` Attio gives them (403 as a missing permission, 404 as
    /// a resource that is gone).
    pub fn injected(status: u16) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (kind, code) = match status.as_u16() {
            400 => ("invalid_request_error", "validation_type"),
            401 | 403 => ("auth_error", "unauthorized"),
            404 => ("invalid_request_error", "not_found"),
            409 => ("invalid_request_error", "uniqueness_conflict"),
            _ if status.is_client_error() => ("invalid_request_error", "injected"),
            _ => ("api_error", "internal_server_error"),
        };
        Self::new(
            status,
            kind,
            code,
            format!(
                "{} (injected by the sandbox's fault rules).",
                status.canonical_reason().unwrap_or("An error")
            ),
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            "method_not_allowed",
            "This path does not support this HTTP method.".to_owned(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "status_code": self.status.as_u16(),
            "type": self.kind,
            "code": self.code,
            "message": self.message,
        });
        if self.camel_case_status {
            body["statusCode"] = json!(self.status.as_u16());
        }
        (self.status, Json(body)).into_response()
    }
}

/// An RFC 6749 §5.2 error from the token endpoint.
#[derive(Debug)]
pub(crate) struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// The client tried HTTP Basic, so a 401 must carry `WWW-Authenticate`.
    basic_challenge: bool,
}

impl OAuthError {
    pub fn invalid_client(description: impl Into<String>, basic_challenge: bool) -> Self {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: description.into(),
            basic_challenge,
        }
    }

    pub fn bad_request(error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
            basic_challenge: false,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.basic_challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"attio-sandbox\""),
            );
        }
        response
    }
}

/// An HTML error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

#[derive(Debug)]
pub(crate) struct PageError {
    status: StatusCode,
    title: &'static str,
    message: String,
}

impl PageError {
    pub fn bad_request(title: &'static str, message: impl Into<String>) -> Self {
        PageError {
            status: StatusCode::BAD_REQUEST,
            title,
            message: message.into(),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            title: self.title,
            message: &self.message,
        };
        render_page(self.status, &page)
    }
}

pub(crate) use crate::pages::render_page;
