//! The inbox worker: claims stored deliveries and applies them. `task.*` events refetch or
//! delete the task (one fetch per task per batch, however many events name it),
//! `workspace-member.created` refreshes the members, and every event lands in the activity feed.
//! A batch that cannot be applied (Attio down, rate limited, no working token) is put back with
//! back-off and stays visible; no row is ever dropped.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use attio::webhooks::Subject;
use attio::{AttioError, EventType, WebhookPayload};
use uuid::Uuid;

use crate::attio_link::open_token;
use crate::live::Change;
use crate::state::AppState;
use crate::store::{AppliedBatch, InboxRow, NewActivity};

/// Rows claimed at once.
const BATCH: u32 = 200;
/// How long a claim is held before another worker may take the rows over.
const LEASE_MS: i64 = 30_000;
/// After a wake-up, wait this long so that a burst of deliveries is applied as one batch.
const COALESCE: Duration = Duration::from_millis(20);
/// Upper bound of the back-off between attempts.
const MAX_BACKOFF_MS: i64 = 5 * 60_000;

/// Runs until `stop` turns true: applies due rows whenever one is stored, and at least every
/// second for retries that come due.
pub async fn run(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        match process_due(&state).await {
            Ok(0) => {}
            Ok(_) => continue,
            Err(e) => tracing::error!(error = format!("{e:#}"), "inbox worker step failed"),
        }
        tokio::select! {
            _ = state.inbox_ready.notified() => tokio::time::sleep(COALESCE).await,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Applies due rows until none is left; returns how many were handled. For tests and tools.
pub async fn drain(state: &AppState) -> anyhow::Result<usize> {
    let mut total = 0;
    loop {
        let handled = process_due(state).await?;
        if handled == 0 {
            return Ok(total);
        }
        total += handled;
    }
}

fn backoff_ms(attempts: i64) -> i64 {
    let exp = attempts.clamp(0, 20) as u32;
    (500i64.saturating_mul(1i64 << exp)).min(MAX_BACKOFF_MS)
}

/// Claims one batch and applies it; returns the number of rows claimed.
pub async fn process_due(state: &AppState) -> anyhow::Result<usize> {
    let rows = state
        .store
        .inbox_claim(crate::now_ms(), LEASE_MS, BATCH)
        .await?;
    let claimed = rows.len();
    let mut by_workspace: BTreeMap<Uuid, Vec<InboxRow>> = BTreeMap::new();
    for row in rows {
        by_workspace.entry(row.workspace_id).or_default().push(row);
    }
    for (workspace, rows) in by_workspace {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let attempts = rows.iter().map(|r| r.attempts).max().unwrap_or(0);
        match apply_workspace(state, workspace, &rows).await {
            Ok(changed_tasks) => {
                state.live.publish(workspace, Change::Activity);
                if changed_tasks {
                    state.live.publish(workspace, Change::Tasks);
                }
            }
            Err(Failure {
                message,
                retry_after,
            }) => {
                let wait =
                    backoff_ms(attempts).max(retry_after.map_or(0, |d| d.as_millis() as i64));
                tracing::warn!(%workspace, rows = ids.len(), wait_ms = wait, error = %message, "could not apply deliveries; will retry");
                state
                    .store
                    .inbox_retry(&ids, crate::now_ms() + wait, &message)
                    .await?;
                state.live.publish(workspace, Change::Activity);
            }
        }
    }
    Ok(claimed)
}

struct Failure {
    message: String,
    retry_after: Option<Duration>,
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self {
            message: format!("{e:#}"),
            retry_after: None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TaskOp {
    Fetch,
    Delete,
}

fn subject_columns(subject: Option<Subject>) -> (Option<String>, Option<String>) {
    let (kind, id) = match subject {
        Some(Subject::Task(id)) => ("task", id.to_string()),
        Some(Subject::WorkspaceMember(id)) => ("member", id.to_string()),
        Some(Subject::Record { object, record }) => {
            return (Some(format!("record:{object}")), Some(record.to_string()))
        }
        Some(Subject::Note(id)) => ("note", id.to_string()),
        Some(Subject::Comment(id)) => ("comment", id.to_string()),
        Some(Subject::List(id)) => ("list", id),
        Some(Subject::ListEntry { entry, .. }) => ("list-entry", entry.to_string()),
        Some(Subject::Attribute { attribute, .. }) => ("attribute", attribute),
        Some(Subject::CallRecording(id)) => ("call-recording", id.to_string()),
        None => return (None, None),
    };
    (Some(kind.to_owned()), Some(id))
}

/// Reads a workspace's rows, fetches what changed (once per task), and writes it all in one
/// transaction. Returns whether the task cache changed.
async fn apply_workspace(
    state: &AppState,
    workspace: Uuid,
    rows: &[InboxRow],
) -> Result<bool, Failure> {
    let mut batch = AppliedBatch {
        workspace_id: workspace,
        ..Default::default()
    };
    // The last event for a task decides: fetched (created/updated) or deleted.
    let mut task_ops: HashMap<Uuid, TaskOp> = HashMap::new();
    let mut refresh_members = false;
    for row in rows {
        batch.done.push(row.id);
        let payload: WebhookPayload = match serde_json::from_slice(&row.body) {
            Ok(payload) => payload,
            Err(e) => {
                // It was valid when received; if it no longer parses, keep the row visible.
                tracing::error!(row = row.id, error = %e, "stored delivery does not parse");
                continue;
            }
        };
        for (index, event) in payload.events.iter().enumerate() {
            match &event.event_type {
                EventType::TaskCreated | EventType::TaskUpdated => {
                    if let Some(id) = event.id.task_id {
                        task_ops.insert(id, TaskOp::Fetch);
                    }
                }
                EventType::TaskDeleted => {
                    if let Some(id) = event.id.task_id {
                        task_ops.insert(id, TaskOp::Delete);
                    }
                }
                EventType::WorkspaceMemberCreated => refresh_members = true,
                _ => {}
            }
            let (subject_kind, subject_id) = subject_columns(event.subject());
            batch.activities.push(NewActivity {
                inbox_id: row.id,
                event_index: index as i64,
                event_type: event.event_type.as_str().to_owned(),
                actor_type: event.actor.kind.clone(),
                actor_id: event.actor.id.clone(),
                subject_kind,
                subject_id,
                occurred_ms: row.received_ms,
            });
        }
    }

    let fetches: Vec<Uuid> = task_ops
        .iter()
        .filter(|(_, op)| **op == TaskOp::Fetch)
        .map(|(id, _)| *id)
        .collect();
    batch.deletions = task_ops
        .iter()
        .filter(|(_, op)| **op == TaskOp::Delete)
        .map(|(id, _)| *id)
        .collect();
    if !fetches.is_empty() || refresh_members {
        fetch_changes(state, workspace, &fetches, refresh_members, &mut batch).await?;
    }
    let changed = !batch.upserts.is_empty() || !batch.deletions.is_empty();
    state
        .store
        .inbox_apply(&batch, crate::now_ms())
        .await
        .map_err(|e| Failure::from(anyhow::Error::from(e)))?;
    Ok(changed)
}

/// Fetches the named tasks (and the members) with the first working link of the workspace. A
/// link whose token Attio refuses is marked broken and the next one is tried.
async fn fetch_changes(
    state: &AppState,
    workspace: Uuid,
    tasks: &[Uuid],
    refresh_members: bool,
    batch: &mut AppliedBatch,
) -> Result<(), Failure> {
    let links = state
        .store
        .active_links(workspace)
        .await
        .map_err(anyhow::Error::from)?;
    if links.is_empty() {
        if state
            .store
            .link_count(workspace)
            .await
            .map_err(anyhow::Error::from)?
            == 0
        {
            // Nobody links the workspace any more: the rows are only marked done.
            return Ok(());
        }
        return Err(Failure {
            message: "no working Attio connection for this workspace; a user must reconnect".into(),
            retry_after: None,
        });
    }
    let mut last_error = None;
    for link in links {
        // A 429 comes back at once: the inbox's own back-off honours its Retry-After without
        // holding up other workspaces.
        let client = state
            .attio
            .client(open_token(state, &link)?)
            .with_rate_limit_retries(0);
        let attempt = async {
            let mut upserts = Vec::new();
            let mut deletions = Vec::new();
            for id in tasks {
                match client.get_task(*id).await {
                    Ok(task) => upserts.push(task),
                    Err(AttioError::NotFound(_)) => deletions.push(*id),
                    Err(e) => return Err(e),
                }
            }
            let members = if refresh_members {
                Some(client.list_members().await?)
            } else {
                None
            };
            Ok((upserts, deletions, members))
        }
        .await;
        match attempt {
            Ok((upserts, deletions, members)) => {
                batch.upserts = upserts;
                batch.deletions.extend(deletions);
                batch.members = members;
                return Ok(());
            }
            Err(e) if e.is_auth_failure() => {
                tracing::warn!(user = %link.user_id, error = %e, "Attio refused a token; marking the link broken");
                state
                    .store
                    .mark_link_broken(link.user_id, &e.to_string())
                    .await
                    .map_err(anyhow::Error::from)?;
                last_error = Some(Failure {
                    message: e.to_string(),
                    retry_after: None,
                });
            }
            Err(e) => {
                let retry_after = match &e {
                    AttioError::RateLimited { retry_after } => *retry_after,
                    _ => None,
                };
                return Err(Failure {
                    message: e.to_string(),
                    retry_after,
                });
            }
        }
    }
    Err(last_error.unwrap_or(Failure {
        message: "no working Attio connection".into(),
        retry_after: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_and_is_capped() {
        assert_eq!(backoff_ms(0), 500);
        assert_eq!(backoff_ms(1), 1000);
        assert_eq!(backoff_ms(3), 4000);
        assert_eq!(backoff_ms(30), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(-1), 500);
    }
}
