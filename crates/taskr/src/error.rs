//! One error type for every handler, with one mapping to a status and a page.
//!
//! Policy: a 4xx carries a message that is safe to show as it is; a 5xx shows a generic page and
//! logs the cause chain once, here. Handlers return `Result<_, AppError>` and use `?`.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "This form has expired or did not come from Taskr. Go back, reload the page and try again."
    )]
    Csrf,
    #[error("{0}")]
    Forbidden(String),
    #[error("That page does not exist.")]
    NotFound,
    #[error("Too many attempts from your address. Wait a minute and try again.")]
    RateLimited,
    /// Taskr is at capacity for this kind of work; the visitor should retry shortly.
    #[error("{message}")]
    Busy {
        message: &'static str,
        retry_after_secs: u64,
    },
    /// Attio (or another upstream) failed; the message is safe to show.
    #[error("{0}")]
    Upstream(String),
    #[error("The request body is too large.")]
    PayloadTooLarge,
    /// A connection is missing or broken; the visitor layer turns this into a prompt page that
    /// offers to connect and then return to the page that asked.
    #[error("a connection is required")]
    ConnectionRequired(Box<crate::connections::ConnectionRequired>),
    /// The page needs a logged-in user; they are sent to log in and brought back.
    #[error("log in first")]
    LoginRequired { next: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::connections::ConnectionError> for AppError {
    fn from(e: crate::connections::ConnectionError) -> Self {
        match e {
            crate::connections::ConnectionError::Required(required) => {
                Self::ConnectionRequired(required)
            }
            crate::connections::ConnectionError::Internal(e) => Self::Internal(e),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(anyhow::anyhow!("rendering a template: {e}"))
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Internal(e.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: String,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Csrf | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::LoginRequired { .. } => StatusCode::SEE_OTHER,
            Self::ConnectionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Renders the error page for a status and a message that is safe to show.
pub fn error_page(status: StatusCode, message: String) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let page = ErrorPage { title, message };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, title.to_owned()).into_response(),
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            Self::LoginRequired { next } => {
                let target = format!(
                    "/login?next={}",
                    form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                Redirect::to(&target).into_response()
            }
            Self::ConnectionRequired(required) => {
                // Rendered by the visitor layer, which knows who asked and from where.
                let mut response = StatusCode::PRECONDITION_REQUIRED.into_response();
                response.extensions_mut().insert(PendingPrompt(required));
                response
            }
            Self::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "request failed");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side. It has been logged; please try again."
                        .to_owned(),
                )
            }
            other => {
                let status = other.status();
                let retry_after = match &other {
                    Self::RateLimited => Some(60),
                    Self::Busy {
                        retry_after_secs, ..
                    } => Some(*retry_after_secs),
                    _ => None,
                };
                let mut response = error_page(status, other.to_string());
                if let Some(secs) = retry_after {
                    response
                        .headers_mut()
                        .insert(axum::http::header::RETRY_AFTER, secs.into());
                }
                response
            }
        }
    }
}

/// A `ConnectionRequired` waiting to be rendered as a prompt page.
#[derive(Clone)]
pub struct PendingPrompt(pub Box<crate::connections::ConnectionRequired>);
