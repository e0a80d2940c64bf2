//! Changing a task from Taskr (complete, reopen, assignees, deadline): the change goes to Attio
//! first, and only Attio's answer is written to the cache. The `task.updated` webhook that
//! follows refetches the task, which changes nothing more: applying it is idempotent.
//!
//! A change is one `PATCH`, so Attio applies all of it or none; a failure leaves the cache as it
//! was (except a 404, after which the task is gone from Attio and so from the cache too).

use std::time::Duration;

use attio::{AttioError, TaskUpdate};
use uuid::Uuid;

use crate::attio_gateway::open_token;
use crate::live::{Change, LiveEvent};
use crate::store::{Link, LinkStatus};
use crate::sync::SyncService;

/// The scope a link needs for any change to a task.
pub const WRITE_SCOPE: &str = "task:read-write";

/// Whether the link's token may change tasks.
pub fn can_write(link: &Link) -> bool {
    link.status == LinkStatus::Active && link.scopes.split_whitespace().any(|s| s == WRITE_SCOPE)
}

/// Why a change did not happen; each says so in words a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(
        "Taskr's access to this workspace is read-only (Attio did not grant the task:read-write \
         scope), so tasks cannot be changed from here."
    )]
    ReadOnly,
    #[error("That task no longer exists in Attio, so it was removed from this list.")]
    Gone,
    #[error("Attio refused the change (403): {0}. Nothing was changed.")]
    Denied(String),
    #[error("Attio did not accept the change: {0}. Nothing was changed.")]
    Rejected(String),
    #[error(
        "Attio is limiting how fast Taskr may write (429); try again in {} s. Nothing was changed.",
        .0.map_or(1, |d| d.as_secs().max(1))
    )]
    RateLimited(Option<Duration>),
    #[error("Attio had a problem (HTTP {0}) and did not change the task; try again shortly.")]
    Unavailable(u16),
    #[error("Attio could not be reached, so the task was not changed; try again shortly.")]
    Unreachable,
    #[error("Attio no longer accepts Taskr's access; reconnect Attio and try again.")]
    LinkBroken,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl WriteError {
    /// A short code for a redirect's notice (the page shows a fixed text for each).
    pub fn code(&self) -> &'static str {
        match self {
            Self::ReadOnly => "task-read-only",
            Self::Gone => "task-gone",
            Self::Denied(_) => "task-denied",
            Self::Rejected(_) => "task-rejected",
            Self::RateLimited(_) => "task-rate-limited",
            Self::Unavailable(_) => "task-attio-error",
            Self::Unreachable => "task-unreachable",
            Self::LinkBroken => "broken",
            Self::Internal(_) => "task-failed",
        }
    }
}

/// Sends `update` for `task_id` to Attio with the link's token and writes Attio's answer to the
/// workspace's cache; open pages follow through the usual live event.
pub async fn update_task(
    state: &SyncService,
    link: &Link,
    task_id: Uuid,
    update: &TaskUpdate,
) -> Result<attio::Task, WriteError> {
    if !can_write(link) {
        return Err(WriteError::ReadOnly);
    }
    let workspace = link.workspace_id;
    // A person is waiting: a 429 is told at once rather than waited out here.
    let client = state
        .attio
        .client(open_token(&state.cipher, link)?)
        .with_rate_limit_retries(0);
    match client.update_task(task_id, update).await {
        Ok(task) => {
            if task.id.workspace_id != workspace.0 {
                return Err(WriteError::Internal(anyhow::anyhow!(
                    "Attio answered with a task of another workspace"
                )));
            }
            state
                .store
                .put_task(workspace, &task)
                .await
                .map_err(anyhow::Error::from)?;
            state
                .coordinator
                .publish(LiveEvent::new(workspace, Change::Tasks));
            Ok(task)
        }
        Err(AttioError::NotFound(_)) => {
            state
                .store
                .remove_task(workspace, task_id)
                .await
                .map_err(anyhow::Error::from)?;
            state
                .coordinator
                .publish(LiveEvent::new(workspace, Change::Tasks));
            Err(WriteError::Gone)
        }
        Err(AttioError::Unauthorized(reason)) => {
            tracing::warn!("Attio refused the token on a task change; marking the link broken");
            state
                .store
                .mark_link_broken(
                    link.user_id,
                    &format!("Attio rejected the access token: {reason}"),
                )
                .await
                .map_err(anyhow::Error::from)?;
            state.coordinator.user_changed(link.user_id);
            Err(WriteError::LinkBroken)
        }
        Err(AttioError::Forbidden(message)) => Err(WriteError::Denied(message)),
        Err(AttioError::RateLimited { retry_after }) => Err(WriteError::RateLimited(retry_after)),
        Err(AttioError::Api { status, .. }) if status >= 500 => {
            Err(WriteError::Unavailable(status))
        }
        Err(AttioError::Api { message, .. }) | Err(AttioError::OAuth(message)) => {
            Err(WriteError::Rejected(message))
        }
        Err(AttioError::Transport(e)) => {
            tracing::warn!(error = %e, "could not reach Attio to change a task");
            Err(WriteError::Unreachable)
        }
        Err(AttioError::Decode(message)) => Err(WriteError::Internal(anyhow::anyhow!(
            "Attio's answer to a task change could not be read: {message}"
        ))),
    }
}
