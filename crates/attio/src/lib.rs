//! A client for Attio: the OAuth 2.0 authorization-code flow, and typed REST calls for the
//! resources Taskr reads (tasks, workspace members, the token's own identity).
//!
//! The wire formats follow `shared/attio-api.md`. Where that reference marks a detail as
//! unconfirmed, the types here accept every plausible form rather than fail on a surprise.

mod catalog;
mod client;
mod error;
mod model;
mod oauth;
mod secret;
pub mod webhooks;

pub use catalog::{Attribute, List, Meeting, Note, Object, ObjectId};
pub use client::{Client, Observer, TaskPage, TaskUpdate, TASK_PAGE_LIMIT};
pub use error::{AttioError, ErrorBody};
pub use model::{
    scope_granted, Actor, Assignee, LinkedRecord, Record, RecordId, SelfInfo, Task, TaskId,
    TokenInfo, WorkspaceMember, WorkspaceMemberId,
};
pub use oauth::{AuthorizeRequest, OAuthApp};
pub use secret::AccessToken;
pub use webhooks::{
    CreatedWebhook, EventType, Subscription, Webhook, WebhookEvent, WebhookPayload, WebhookSecret,
};

/// The public Attio hosts; both are configurable so that the sandbox can stand in for them.
pub const DEFAULT_APP_URL: &str = "https://app.attio.com";
pub const DEFAULT_API_URL: &str = "https://api.attio.com";

/// Builds the HTTP client every Attio call (and every call to a connection provider) goes
/// through: rustls, bounded time, no redirects (an API that redirects is a misconfiguration we
/// want to see, not follow; a token endpoint that redirects would send secrets wherever it
/// points).
///
/// Building fails only when the TLS backend cannot be set up. The caller stops there: going on
/// with a default client would quietly drop the timeouts and follow redirects.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("taskr/", env!("CARGO_PKG_VERSION")))
        .build()
}
