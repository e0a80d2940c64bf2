//! The per-workspace cache of tasks and members: the statements both backends run (numbered
//! placeholders serve both; see `links_sql`) and the diff of a full sync, worked out once.
//! How each backend writes a list (row by row, or `UNNEST`), locks and orders stays with it.

use std::collections::{HashMap, HashSet};

use super::rows::to_json;
use super::{CacheDiff, StoreResult};

pub(super) const UPSERT_TASK: &str =
    "INSERT INTO tasks (workspace_id, task_id, is_completed, created_at, data)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (workspace_id, task_id) DO UPDATE SET
        is_completed = excluded.is_completed, created_at = excluded.created_at,
        data = excluded.data";

pub(super) const DELETE_TASK_ASSIGNEES: &str =
    "DELETE FROM task_assignees WHERE workspace_id = $1 AND task_id = $2";

pub(super) const DELETE_TASK: &str = "DELETE FROM tasks WHERE workspace_id = $1 AND task_id = $2";

pub(super) const DELETE_MEMBERS: &str = "DELETE FROM members WHERE workspace_id = $1";

pub(super) const CACHED_TASKS: &str = "SELECT task_id, data FROM tasks WHERE workspace_id = $1";

pub(super) const MARK_SYNCED: &str =
    "UPDATE workspaces SET last_synced_at = $1, sync_error = NULL WHERE id = $2";

pub(super) const TASK_COUNT: &str = "SELECT COUNT(*) FROM tasks WHERE workspace_id = $1";

pub(super) const TASK_DATA: &str =
    "SELECT data FROM tasks WHERE workspace_id = $1 AND task_id = $2";

/// What a full sync changes in the cached tasks of a workspace.
pub(super) struct SyncPlan<'a> {
    pub diff: CacheDiff,
    /// New or changed tasks, in the order Attio listed them.
    pub upserts: Vec<&'a attio::Task>,
    /// Ids of cached tasks that Attio no longer lists.
    pub gone: Vec<String>,
}

/// Compares the fetched `tasks` with the cached ones (`existing`: task id → stored JSON).
pub(super) fn plan_sync(
    existing: HashMap<String, String>,
    tasks: &[attio::Task],
) -> StoreResult<SyncPlan<'_>> {
    let mut diff = CacheDiff::default();
    let mut upserts = Vec::new();
    let mut seen = HashSet::new();
    for task in tasks {
        let id = task.id.task_id.to_string();
        let data = to_json(task)?;
        match existing.get(&id) {
            Some(old) if *old == data => {}
            Some(_) => {
                diff.changed += 1;
                upserts.push(task);
            }
            None => {
                diff.added += 1;
                upserts.push(task);
            }
        }
        seen.insert(id);
    }
    let gone: Vec<String> = existing
        .into_keys()
        .filter(|id| !seen.contains(id))
        .collect();
    diff.removed = gone.len() as u64;
    Ok(SyncPlan {
        diff,
        upserts,
        gone,
    })
}
