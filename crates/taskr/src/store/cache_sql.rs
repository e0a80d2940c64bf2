//! The per-workspace cache of tasks and members: the statements both backends run (numbered
//! placeholders serve both; see `links_sql`) and the diff of a full sync, worked out once.
//! How each backend writes a list (row by row, or `UNNEST`), locks and orders stays with it.

use std::collections::{HashMap, HashSet};

use super::rows::to_json;
use super::{CacheDiff, StoreResult, TaskFilter, TaskQuery, TaskSort};

pub(super) const UPSERT_TASK: &str =
    "INSERT INTO tasks (workspace_id, task_id, is_completed, created_at, data, content_key,
                        deadline_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (workspace_id, task_id) DO UPDATE SET
        is_completed = excluded.is_completed, created_at = excluded.created_at,
        data = excluded.data, content_key = excluded.content_key,
        deadline_key = excluded.deadline_key";

pub(super) const DELETE_TASK_ASSIGNEES: &str =
    "DELETE FROM task_assignees WHERE workspace_id = $1 AND task_id = $2";

pub(super) const DELETE_TASK: &str = "DELETE FROM tasks WHERE workspace_id = $1 AND task_id = $2";

pub(super) const DELETE_MEMBERS: &str = "DELETE FROM members WHERE workspace_id = $1";

/// Each cached task's JSON; NULL for a row without search keys (cached before they existed),
/// which the full sync then rewrites as if it had changed.
pub(super) const CACHED_TASKS: &str =
    "SELECT task_id, CASE WHEN content_key IS NULL THEN NULL ELSE data END
     FROM tasks WHERE workspace_id = $1";

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

/// Compares the fetched `tasks` with the cached ones (`existing`: task id → stored JSON, `None`
/// for a row to rewrite whatever it holds).
pub(super) fn plan_sync(
    existing: HashMap<String, Option<String>>,
    tasks: &[attio::Task],
) -> StoreResult<SyncPlan<'_>> {
    let mut diff = CacheDiff::default();
    let mut upserts = Vec::new();
    let mut seen = HashSet::new();
    for task in tasks {
        let id = task.id.task_id.to_string();
        let data = to_json(task)?;
        match existing.get(&id) {
            Some(Some(old)) if *old == data => {}
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

/// What a task is searched and sorted by besides its JSON: its content folded to lower case,
/// and its deadline as a key that sorts in time order.
pub(super) struct TaskKeys {
    pub content: String,
    pub deadline: Option<String>,
}

impl TaskKeys {
    pub fn of(task: &attio::Task) -> Self {
        Self {
            content: fold(&task.content_plaintext),
            deadline: task.deadline_at.as_deref().and_then(deadline_key),
        }
    }
}

/// Text as search compares it: Unicode lower case (SQLite's own `lower` and `LIKE` fold ASCII
/// only, so both sides are folded here, the same way for both backends).
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// A deadline as a sort key: a timestamp in UTC as `YYYY-MM-DDTHH:MM:SS`, a bare date as
/// `YYYY-MM-DD` (before that day's timestamps); `None` for text that is neither, which sorts
/// with the tasks that have no deadline.
fn deadline_key(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if let Ok(date) = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Some(date.format("%Y-%m-%d").to_string());
    }
    let at = chrono::DateTime::parse_from_rfc3339(raw).ok()?;
    Some(at.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string())
}

/// A `LIKE` pattern matching `needle` anywhere, with `\` escaping its wildcards.
fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The statements of one page of a workspace's tasks, the same for both backends but for how
/// text is ordered (`collate`: PostgreSQL orders by bytes with `COLLATE "C"`, as SQLite does).
/// The workspace id is `$1`; `params` are bound after it in order, then the limit and offset.
pub(super) struct TaskListing {
    pub count: String,
    pub list: String,
    pub params: Vec<String>,
}

pub(super) fn task_listing(query: &TaskQuery, collate: &str) -> TaskListing {
    let mut params = Vec::new();
    let mut conditions = vec!["t.workspace_id = $1".to_owned()];
    match query.filter {
        TaskFilter::All => {}
        TaskFilter::Open => conditions.push("NOT t.is_completed".to_owned()),
        TaskFilter::Completed => conditions.push("t.is_completed".to_owned()),
        TaskFilter::AssignedTo(member) => {
            params.push(member.to_string());
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM task_assignees a WHERE a.workspace_id = t.workspace_id
                         AND a.task_id = t.task_id AND a.member_id = ${})",
                params.len() + 1
            ));
        }
    }
    if let Some(search) = query.search.as_deref().filter(|s| !s.is_empty()) {
        params.push(contains_pattern(&fold(search)));
        let n = params.len() + 1;
        // The task's content, or the name of a record it links.
        conditions.push(format!(
            "(t.content_key LIKE ${n} ESCAPE '\\'
              OR EXISTS (SELECT 1 FROM task_records tr JOIN records r
                           ON r.workspace_id = tr.workspace_id AND r.record_id = tr.record_id
                         WHERE tr.workspace_id = t.workspace_id AND tr.task_id = t.task_id
                           AND r.name_key LIKE ${n} ESCAPE '\\'))"
        ));
    }
    let from = format!("FROM tasks t WHERE {}", conditions.join(" AND "));
    // Open tasks first whatever the order, then the chosen order; the task id breaks ties so
    // that pages never overlap.
    let order = match query.sort {
        TaskSort::Created => format!("t.created_at{collate} ASC"),
        TaskSort::Newest => format!("t.created_at{collate} DESC"),
        TaskSort::Deadline => format!(
            "t.deadline_key IS NULL, t.deadline_key{collate} ASC, t.created_at{collate} ASC"
        ),
    };
    let limit = params.len() + 2;
    TaskListing {
        count: format!("SELECT COUNT(*) {from}"),
        list: format!(
            "SELECT t.data {from} ORDER BY t.is_completed ASC, {order}, t.task_id{collate}
             LIMIT ${limit} OFFSET ${}",
            limit + 1
        ),
        params,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_sort_as_time_and_dates_come_before_that_days_times() {
        assert_eq!(deadline_key("2026-12-05").as_deref(), Some("2026-12-05"));
        assert_eq!(
            deadline_key("2026-12-05T23:30:00.000000000Z").as_deref(),
            Some("2026-12-05T23:30:00")
        );
        // An offset is brought to UTC, so that the keys compare as instants.
        assert_eq!(
            deadline_key("2026-12-06T01:00:00+02:00").as_deref(),
            Some("2026-12-05T23:00:00")
        );
        assert!(
            deadline_key("2026-12-05").unwrap() < deadline_key("2026-12-05T00:00:00Z").unwrap()
        );
        assert_eq!(deadline_key("soon"), None);
    }

    #[test]
    fn search_patterns_escape_wildcards_and_fold_case() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
        assert_eq!(fold("ÉMILIE Straße"), "émilie straße");
    }
}
