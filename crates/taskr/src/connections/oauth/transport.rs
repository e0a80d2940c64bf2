//! How oauth2's requests reach a provider: through Taskr's own HTTP client (its timeouts, and no
//! redirects: a token endpoint that redirects would carry the client secret and the code
//! wherever it points), and how the outcome is sorted into what the callers branch on.
//!
//! oauth2 reports an answer's parsed error but not its status, so the transport keeps the
//! status of the answer it passed on; and it turns the answers that mean "try again later"
//! (5xx, 429) into transport failures before oauth2 reads them.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, Ordering};

use oauth2::http::StatusCode;
use oauth2::{
    AsyncHttpClient, ErrorResponseType, HttpClientError, HttpRequest, HttpResponse,
    RequestTokenError, StandardErrorResponse,
};
use url::Url;

use super::TokenError;

/// Why no usable answer came back: network trouble, a timeout, a 5xx or a 429.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct Unreachable(String);

pub(super) struct Transport {
    /// Taskr's client (a handle: clones share its connection pool).
    http: reqwest::Client,
    /// The status of the answer passed on to oauth2 (0 until there is one).
    status: AtomicU16,
    /// Where the request really goes when that is not the URL oauth2 was given (see
    /// `super::revoke`).
    target: Option<Url>,
}

impl Transport {
    pub(super) fn new(http: &reqwest::Client) -> Self {
        Self {
            http: http.clone(),
            status: AtomicU16::new(0),
            target: None,
        }
    }

    /// Sends every request to `target` instead of the URL it was built for.
    pub(super) fn to(mut self, target: Url) -> Self {
        self.target = Some(target);
        self
    }

    fn status(&self) -> Option<StatusCode> {
        StatusCode::from_u16(self.status.load(Ordering::Relaxed)).ok()
    }

    /// Sorts a failure as Taskr always has: the provider's RFC 6749 error (`invalid_grant`, …)
    /// is a refusal, and so is an answer that cannot be read (named by its status when it was
    /// not a success); only a failure to get an answer at all is worth retrying.
    pub(super) fn classify<T>(
        &self,
        failure: RequestTokenError<Unreachable, StandardErrorResponse<T>>,
    ) -> TokenError
    where
        T: ErrorResponseType + AsRef<str> + std::fmt::Display + 'static,
    {
        let unreadable = |detail: String| match self.status() {
            None => TokenError::Refused {
                error: "request_not_sent".to_owned(),
                description: Some(detail),
            },
            Some(status) if !status.is_success() => TokenError::Refused {
                error: format!("HTTP {}", status.as_u16()),
                description: None,
            },
            Some(_) => TokenError::Refused {
                error: "invalid_response".to_owned(),
                description: Some(detail),
            },
        };
        match failure {
            RequestTokenError::Request(Unreachable(why)) => TokenError::Unavailable(why),
            RequestTokenError::ServerResponse(answer) => TokenError::Refused {
                error: answer.error().as_ref().to_owned(),
                description: answer.error_description().cloned(),
            },
            RequestTokenError::Parse(e, _) => unreadable(e.to_string()),
            RequestTokenError::Other(why) => unreadable(why),
        }
    }
}

impl<'c> AsyncHttpClient<'c> for Transport {
    type Error = Unreachable;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Unreachable>> + Send + 'c>>;

    fn call(&'c self, mut request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            if let Some(target) = &self.target {
                *request.uri_mut() = target
                    .as_str()
                    .parse()
                    .map_err(|e| Unreachable(format!("invalid URL: {e}")))?;
            }
            let mut response = self.http.call(request).await.map_err(|e| match e {
                // Without the URL: its query could hold something private.
                HttpClientError::Reqwest(e) => Unreachable(e.without_url().to_string()),
                other => Unreachable(other.to_string()),
            })?;
            let status = response.status();
            self.status.store(status.as_u16(), Ordering::Relaxed);
            if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                return Err(Unreachable(format!("HTTP {status}")));
            }
            // oauth2 accepts exactly 200; Taskr has always taken any 2xx as a success (a
            // revocation endpoint answering 204, say).
            if status.is_success() {
                *response.status_mut() = StatusCode::OK;
                // oauth2 refuses a token answer labelled other than JSON; Taskr has always read
                // the body (some providers label JSON `text/plain` or `text/html`), so a body
                // that is a JSON object is passed on labelled as what it is.
                let labelled_json = response
                    .headers()
                    .get(oauth2::http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.trim_start().starts_with("application/json"));
                if !labelled_json
                    && serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(
                        response.body(),
                    )
                    .is_ok()
                {
                    response.headers_mut().insert(
                        oauth2::http::header::CONTENT_TYPE,
                        oauth2::http::HeaderValue::from_static("application/json"),
                    );
                }
            }
            Ok(response)
        })
    }
}
