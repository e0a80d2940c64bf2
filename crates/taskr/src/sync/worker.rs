//! The inbox worker: claims stored deliveries and applies them. `task.*` events refetch or
//! delete the task (one read per task per batch, however many events name it, or pages of the
//! task list when that costs fewer requests: see `fetch`), `workspace-member.created` refreshes
//! the members, every event lands in the activity feed, and what events and tasks refer to is
//! marked in the names cache and then read (`sync::names`), never holding a row back.
//!
//! A row is done when everything it names was read; only the rows whose reads failed are put
//! back, each on a schedule that fits why: a 429 waits exactly its `Retry-After`, a 5xx or a
//! dropped connection at most a few seconds (so a backlog drains soon after Attio is back), and
//! "no working token" long, until a user reconnects and wakes the rows. No row is ever dropped.

mod fetch;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use attio::webhooks::Subject;
use attio::{EventType, WebhookPayload};
use uuid::Uuid;

use self::fetch::{Class, Failure};
use crate::live::{Change, LiveEvent};
use crate::store::{
    AppliedBatch, ClaimWrite, InboxRow, NameKey, NameKind, NameMark, NewActivity, WorkspaceId,
};
use crate::sync::names::{self, Pace};
use crate::sync::SyncService;

/// Rows claimed at once.
const BATCH: u32 = 200;
/// After a wake-up, wait this long so that a burst of deliveries is applied as one batch.
const COALESCE: Duration = Duration::from_millis(20);
/// Upper bound of the back-off between attempts.
const MAX_BACKOFF_MS: i64 = 5 * 60_000;

/// Names read after a batch at most (the rest waits for the next batch or reconciliation).
const NAME_READS_PER_BATCH: usize = 100;

/// The longest the worker sleeps without looking at the inbox.
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Runs until `stop` turns true: applies due rows whenever one is stored, and when a retry
/// comes due (so that a `Retry-After` or a short back-off is kept to the millisecond, not
/// rounded up to a polling interval).
pub async fn run(state: SyncService, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        match process_due(&state).await {
            Ok(0) => {}
            Ok(_) => continue,
            Err(e) => tracing::error!(error = format!("{e:#}"), "inbox worker step failed"),
        }
        let idle = match state.store.inbox_next_due().await {
            Ok(Some(at)) => Duration::from_millis(u64::try_from(at - crate::now_ms()).unwrap_or(0))
                .clamp(COALESCE, IDLE_POLL),
            Ok(None) | Err(_) => IDLE_POLL,
        };
        tokio::select! {
            _ = state.coordinator.worker_woken() => tokio::time::sleep(COALESCE).await,
            _ = tokio::time::sleep(idle) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Applies due rows until none is left; returns how many were handled. For tests and tools.
pub async fn drain(state: &SyncService) -> anyhow::Result<usize> {
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

/// Claims one batch and applies it; returns the number of rows claimed. The claim is exclusive
/// per workspace across instances (see `InboxStore::inbox_claim`); each workspace's lease is
/// renewed while its rows are applied, and given up when they are.
pub async fn process_due(state: &SyncService) -> anyhow::Result<usize> {
    let lease = state.settings.inbox_lease;
    let holder = state.leases.holder();
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    let rows = state
        .store
        .inbox_claim(holder, crate::now_ms(), lease_ms, BATCH)
        .await?;
    let claimed = rows.len();
    let mut by_workspace: BTreeMap<WorkspaceId, Vec<InboxRow>> = BTreeMap::new();
    for row in rows {
        by_workspace.entry(row.workspace_id).or_default().push(row);
    }
    for (workspace, rows) in by_workspace {
        let applied = state
            .leases
            .holding_inbox(workspace, lease, apply_workspace(state, workspace, &rows))
            .await;
        if let Err(e) = applied {
            // Taskr itself failed (the database, a token it cannot open): the whole batch
            // goes back with the ordinary back-off.
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            let attempts = rows.iter().map(|r| r.attempts).max().unwrap_or(0);
            let wait = backoff_ms(attempts);
            let message = format!("{e:#}");
            state.metrics.count(
                crate::metrics::WORKER_ROWS,
                &[("outcome", "failed")],
                ids.len() as u64,
            );
            tracing::warn!(%workspace, rows = ids.len(), wait_ms = wait, error = %message, "could not apply deliveries; will retry");
            let retried = state
                .store
                .inbox_retry(holder, workspace, &ids, crate::now_ms() + wait, &message)
                .await?;
            if retried == ClaimWrite::LeaseLost {
                lease_lost(workspace);
            }
            state
                .coordinator
                .publish(LiveEvent::new(workspace, Change::Health));
        }
        state.leases.release_inbox(workspace).await;
    }
    Ok(claimed)
}

/// This instance's claim ran out and another took the workspace over: what this one read is
/// dropped (it may be older than what the other reads), and the rows are the other's now.
fn lease_lost(workspace: WorkspaceId) {
    tracing::warn!(%workspace, "the claim of these deliveries ran out and another instance took them over; nothing written");
}

/// The shortest wait before a rate-limited row is tried again, so that a `Retry-After` in the
/// past cannot make the worker spin.
const MIN_RATE_LIMIT_WAIT_MS: i64 = 50;
/// The longest wait after a transient failure (5xx, no answer): Attio's outages end without
/// notice, and a backlog should follow within seconds.
const MAX_TRANSIENT_BACKOFF_MS: i64 = 2_000;

/// When a row that failed for `failure` is tried again.
fn next_attempt_ms(failure: &Failure, attempts: i64, now_ms: i64) -> i64 {
    let wait = match failure.class {
        Class::RateLimited(after) => after
            .map_or(1_000, |d| {
                i64::try_from(d.as_millis()).unwrap_or(MAX_BACKOFF_MS)
            })
            .max(MIN_RATE_LIMIT_WAIT_MS),
        Class::Transient => backoff_ms(attempts).min(MAX_TRANSIENT_BACKOFF_MS),
        Class::NoAccess | Class::Other => backoff_ms(attempts),
    };
    now_ms + wait
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

/// What one row needs before it is done.
struct RowPlan<'a> {
    row: &'a InboxRow,
    tasks: Vec<Uuid>,
    members: bool,
    activities: Vec<NewActivity>,
    marks: Vec<NameMark>,
}

fn plan<'a>(row: &'a InboxRow, task_ops: &mut HashMap<Uuid, TaskOp>) -> RowPlan<'a> {
    let mut plan = RowPlan {
        row,
        tasks: Vec::new(),
        members: false,
        activities: Vec::new(),
        marks: Vec::new(),
    };
    let payload: WebhookPayload = match serde_json::from_slice(&row.body) {
        Ok(payload) => payload,
        Err(e) => {
            // It was valid when received; if it no longer parses, it is marked done and
            // stays visible in the inbox.
            tracing::error!(row = row.id, error = %e, "stored delivery does not parse");
            return plan;
        }
    };
    for (index, event) in payload.events.iter().enumerate() {
        // A delivery belongs to the workspace of the webhook whose secret signed it. An event
        // that names another workspace is forged or misrouted: it changes nothing and is not
        // shown in this workspace's feed.
        if event.id.workspace_id.is_some_and(|w| w != row.workspace_id) {
            tracing::warn!(
                row = row.id,
                "a delivery names another workspace; event ignored"
            );
            continue;
        }
        // The last event for a task decides: fetched (created/updated) or deleted.
        match (&event.event_type, event.id.task_id) {
            (EventType::TaskCreated | EventType::TaskUpdated, Some(id)) => {
                task_ops.insert(id, TaskOp::Fetch);
                plan.tasks.push(id);
            }
            (EventType::TaskDeleted, Some(id)) => {
                task_ops.insert(id, TaskOp::Delete);
            }
            (EventType::WorkspaceMemberCreated, _) => plan.members = true,
            _ => {}
        }
        plan.marks.extend(names::marks_of(event));
        let (subject_kind, subject_id) = subject_columns(event.subject());
        plan.activities.push(NewActivity {
            inbox_id: row.id,
            event_index: index as i64,
            event_type: event.event_type.as_str().to_owned(),
            actor_type: event.actor.kind.clone(),
            actor_id: event.actor.id.clone(),
            subject_kind,
            subject_id,
            occurred_ms: row.received_ms,
            event: serde_json::to_string(event).ok(),
        });
    }
    plan
}

/// Reads what the workspace's rows name (once per task), writes what was read and the rows it
/// completes in one transaction, and puts back only the rows whose reads failed.
async fn apply_workspace(
    state: &SyncService,
    workspace: WorkspaceId,
    rows: &[InboxRow],
) -> anyhow::Result<()> {
    let mut task_ops: HashMap<Uuid, TaskOp> = HashMap::new();
    let plans: Vec<RowPlan> = rows.iter().map(|row| plan(row, &mut task_ops)).collect();
    let to_fetch: Vec<Uuid> = task_ops
        .iter()
        .filter(|(_, op)| **op == TaskOp::Fetch)
        .map(|(id, _)| *id)
        .collect();
    let members = plans.iter().any(|p| p.members);
    let fetched = if to_fetch.is_empty() && !members {
        fetch::Fetched::default()
    } else {
        fetch::fetch(state, workspace, to_fetch, members).await?
    };

    let mut batch = AppliedBatch {
        workspace_id: workspace,
        deletions: task_ops
            .iter()
            .filter(|(_, op)| **op == TaskOp::Delete)
            .map(|(id, _)| *id)
            .chain(fetched.gone.iter().copied())
            .collect(),
        ..Default::default()
    };
    // A deleted task is no longer in the cache to be named from: its content is kept as a
    // name, so that the feed still says which task it was.
    for id in &batch.deletions {
        if let Some(task) = state.store.task(workspace, *id).await? {
            batch.marks.push(NameMark::Deleted {
                key: NameKey::new(NameKind::Task, id),
                name: Some(task.content_plaintext),
            });
        }
    }
    let now = crate::now_ms();
    let mut retries: BTreeMap<(i64, String), Vec<i64>> = BTreeMap::new();
    let mut marked: HashSet<NameMark> = batch.marks.iter().cloned().collect();
    // Whether the page's "waiting" count changes: a row is late for the first time, or a row
    // that was late is done.
    let mut health_changed = false;
    for plan in plans {
        let failure = plan
            .tasks
            .iter()
            .filter(|id| task_ops.get(id) == Some(&TaskOp::Fetch))
            .filter_map(|id| fetched.failed.get(id))
            .chain(fetched.members_failed.as_ref().filter(|_| plan.members))
            .max_by_key(|f| next_attempt_ms(f, plan.row.attempts, now));
        match failure {
            None => {
                health_changed |= plan.row.attempts > 0;
                batch.done.push(plan.row.id);
                batch.activities.extend(plan.activities);
                for mark in plan.marks {
                    if marked.insert(mark.clone()) {
                        batch.marks.push(mark);
                    }
                }
            }
            Some(failure) => {
                health_changed |= plan.row.attempts == 0;
                let next = next_attempt_ms(failure, plan.row.attempts, now);
                retries
                    .entry((next, failure.message.clone()))
                    .or_default()
                    .push(plan.row.id);
            }
        }
    }
    // Only tasks of this workspace are written to its cache, whatever an upstream answered.
    batch.upserts = fetched
        .tasks
        .into_iter()
        .filter(|task| task.id.workspace_id == workspace)
        .collect();
    batch.members = fetched.members;
    let tasks_changed = !batch.upserts.is_empty() || !batch.deletions.is_empty();
    let any_done = !batch.done.is_empty();
    let holder = state.leases.holder();
    if state.store.inbox_apply(holder, &batch, now).await? == ClaimWrite::LeaseLost {
        lease_lost(workspace);
        return Ok(());
    }
    // Said at once: until then, this instance's read model keeps serving the pages from before
    // the write (the names read below can take a while).
    if any_done {
        state
            .coordinator
            .publish(LiveEvent::new(workspace, Change::Activity));
    }
    if tasks_changed {
        state
            .coordinator
            .publish(LiveEvent::new(workspace, Change::Tasks));
    }
    let put_back: usize = retries.values().map(Vec::len).sum();
    state.metrics.count(
        crate::metrics::WORKER_ROWS,
        &[("outcome", "applied")],
        batch.done.len() as u64,
    );
    state.metrics.count(
        crate::metrics::WORKER_ROWS,
        &[("outcome", "failed")],
        put_back as u64,
    );
    for ((next, message), ids) in &retries {
        tracing::warn!(%workspace, rows = ids.len(), wait_ms = next - now, error = %message, "could not read what deliveries name; will retry");
        if state
            .store
            .inbox_retry(holder, workspace, ids, *next, message)
            .await?
            == ClaimWrite::LeaseLost
        {
            lease_lost(workspace);
            return Ok(());
        }
    }
    if let Some(outage) = &fetched.outage {
        // Attio failed for the whole workspace: its other rows, and rows that arrive meanwhile
        // once they fail, wait for the same moment. Each retry is then one pass (one page or a
        // few reads), not one request per row, and when Attio is back the whole backlog comes
        // due at once and is read in pages.
        let attempts = rows.iter().map(|r| r.attempts).max().unwrap_or(0);
        let until = next_attempt_ms(outage, attempts, now);
        state.store.inbox_defer(workspace, until, now).await?;
    }
    tracing::debug!(
        %workspace,
        done = batch.done.len(),
        put_back,
        requests = fetched.requests,
        "applied deliveries"
    );
    if fetched.asked {
        crate::sync::health::record(state, workspace, fetched.problem).await?;
    }
    // What the batch named and the tasks it wrote link, read now (it publishes what changed).
    if let Err(e) = names::fill(state, workspace, NAME_READS_PER_BATCH, Pace::Worker).await {
        tracing::warn!(%workspace, error = format!("{e:#}"), "could not read names");
    }
    if health_changed {
        state
            .coordinator
            .publish(LiveEvent::new(workspace, Change::Health));
    }
    Ok(())
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

    #[test]
    fn each_kind_of_failure_waits_its_own_way() {
        let failure = |class| Failure {
            class,
            message: String::new(),
        };
        let now = 1_000_000;
        let wait = |class, attempts| next_attempt_ms(&failure(class), attempts, now) - now;
        assert_eq!(
            wait(Class::RateLimited(Some(Duration::from_millis(700))), 9),
            700,
            "Retry-After exactly, whatever the attempts"
        );
        assert_eq!(wait(Class::RateLimited(None), 0), 1_000);
        assert_eq!(
            wait(Class::RateLimited(Some(Duration::ZERO)), 0),
            MIN_RATE_LIMIT_WAIT_MS
        );
        assert_eq!(wait(Class::Transient, 0), 500);
        assert_eq!(wait(Class::Transient, 30), MAX_TRANSIENT_BACKOFF_MS);
        assert_eq!(wait(Class::NoAccess, 30), MAX_BACKOFF_MS);
        assert_eq!(wait(Class::Other, 2), 2_000);
    }
}
