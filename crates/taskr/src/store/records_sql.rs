//! The names cache (records, objects, other names, task links): the statements both backends
//! run (numbered placeholders serve both; booleans as `TRUE`/`FALSE`, which SQLite reads as 1
//! and 0) and what is worked out once in Rust (re-pointing a merged record's tasks, the keys
//! a page of the feed refers to). How each backend writes a list stays with it.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::{refs_of, Activity, NameKey, NameKind, NameRef};

/// A task's link to a record (`task_records`), kept with the task like its assignees.
pub(super) const DELETE_TASK_RECORDS: &str =
    "DELETE FROM task_records WHERE workspace_id = $1 AND task_id = $2";

pub(super) const INSERT_TASK_RECORD: &str =
    "INSERT INTO task_records (workspace_id, task_id, record_id) VALUES ($1, $2, $3)
     ON CONFLICT DO NOTHING";

/// A record seen for the first time: a placeholder row, wanted from Attio.
pub(super) const RECORD_SEEN: &str =
    "INSERT INTO records (workspace_id, record_id, object) VALUES ($1, $2, $3)
     ON CONFLICT (workspace_id, record_id) DO NOTHING";

/// A record that changed: wanted again at once.
pub(super) const RECORD_CHANGED: &str =
    "INSERT INTO records (workspace_id, record_id, object) VALUES ($1, $2, $3)
     ON CONFLICT (workspace_id, record_id) DO UPDATE SET
        stale = TRUE, retry_at_ms = 0, attempts = 0";

pub(super) const RECORD_DELETED: &str =
    "INSERT INTO records (workspace_id, record_id, object, deleted, stale) VALUES ($1, $2, $3, TRUE, FALSE)
     ON CONFLICT (workspace_id, record_id) DO UPDATE SET deleted = TRUE, stale = FALSE";

/// The duplicate of a merge keeps its row (and name), pointing at the survivor ($4).
pub(super) const RECORD_MERGED: &str =
    "INSERT INTO records (workspace_id, record_id, object, merged_into, stale)
     VALUES ($1, $2, $3, $4, FALSE)
     ON CONFLICT (workspace_id, record_id) DO UPDATE SET merged_into = $4, stale = FALSE";

/// The cached tasks linking a record, to be re-pointed.
pub(super) const TASKS_LINKING: &str = "SELECT t.data FROM tasks t JOIN task_records l
        ON l.workspace_id = t.workspace_id AND l.task_id = t.task_id
     WHERE l.workspace_id = $1 AND l.record_id = $2";

pub(super) const NAME_SEEN: &str =
    "INSERT INTO names (workspace_id, kind, id, parent) VALUES ($1, $2, $3, $4)
     ON CONFLICT (workspace_id, kind, id) DO NOTHING";

pub(super) const NAME_CHANGED: &str =
    "INSERT INTO names (workspace_id, kind, id, parent) VALUES ($1, $2, $3, $4)
     ON CONFLICT (workspace_id, kind, id) DO UPDATE SET
        stale = TRUE, retry_at_ms = 0, attempts = 0,
        parent = COALESCE(excluded.parent, names.parent)";

/// Deleted in Attio: never read again; the last known name stays unless one is given ($4).
pub(super) const NAME_DELETED: &str =
    "INSERT INTO names (workspace_id, kind, id, name, deleted, stale) VALUES ($1, $2, $3, $4, TRUE, FALSE)
     ON CONFLICT (workspace_id, kind, id) DO UPDATE SET
        deleted = TRUE, stale = FALSE, name = COALESCE(excluded.name, names.name)";

pub(super) const WANTED_RECORDS: &str = "SELECT record_id, object, attempts FROM records
     WHERE workspace_id = $1 AND stale = TRUE AND retry_at_ms <= $2
     ORDER BY retry_at_ms, record_id LIMIT $3";

pub(super) const WANTED_NAMES: &str = "SELECT kind, id, parent, attempts FROM names
     WHERE workspace_id = $1 AND stale = TRUE AND retry_at_ms <= $2
     ORDER BY retry_at_ms, kind, id LIMIT $3";

pub(super) const RECORD_BEFORE: &str =
    "SELECT name, deleted FROM records WHERE workspace_id = $1 AND record_id = $2";

pub(super) const RECORD_FOUND: &str =
    "UPDATE records SET object_id = $3, name = $4, web_url = $5, deleted = FALSE, fetched_ms = $6,
        stale = FALSE, attempts = 0, retry_at_ms = 0, problem = NULL, name_key = $7
     WHERE workspace_id = $1 AND record_id = $2";

pub(super) const RECORD_GONE: &str =
    "UPDATE records SET deleted = TRUE, fetched_ms = $3, stale = FALSE, attempts = 0,
        retry_at_ms = 0, problem = NULL
     WHERE workspace_id = $1 AND record_id = $2";

/// $3 the problem, $4 whether it is for good (no scope), $5 when to try again.
pub(super) const RECORD_FAILED: &str =
    "UPDATE records SET problem = $3, stale = NOT $4, attempts = attempts + 1, retry_at_ms = $5
     WHERE workspace_id = $1 AND record_id = $2";

pub(super) const NAME_BEFORE: &str =
    "SELECT name, deleted FROM names WHERE workspace_id = $1 AND kind = $2 AND id = $3";

pub(super) const NAME_FOUND: &str =
    "UPDATE names SET name = $4, parent = COALESCE($5, parent), deleted = FALSE, fetched_ms = $6,
        stale = FALSE, attempts = 0, retry_at_ms = 0, problem = NULL
     WHERE workspace_id = $1 AND kind = $2 AND id = $3";

pub(super) const NAME_GONE: &str =
    "UPDATE names SET deleted = TRUE, fetched_ms = $4, stale = FALSE, attempts = 0,
        retry_at_ms = 0, problem = NULL
     WHERE workspace_id = $1 AND kind = $2 AND id = $3";

pub(super) const NAME_FAILED: &str =
    "UPDATE names SET problem = $4, stale = NOT $5, attempts = attempts + 1, retry_at_ms = $6
     WHERE workspace_id = $1 AND kind = $2 AND id = $3";

pub(super) const DELETE_OBJECTS: &str = "DELETE FROM objects WHERE workspace_id = $1";

pub(super) const INSERT_OBJECT: &str =
    "INSERT INTO objects (workspace_id, object_id, api_slug, singular_noun, plural_noun)
     VALUES ($1, $2, $3, $4, $5)";

pub(super) const OBJECTS: &str =
    "SELECT object_id, api_slug, singular_noun, plural_noun FROM objects WHERE workspace_id = $1";

/// Records tasks link that were last read before $2 (never read counts as oldest), at most $3.
pub(super) const REFRESH_RECORDS: &str =
    "UPDATE records SET stale = TRUE, retry_at_ms = 0, attempts = 0
     WHERE workspace_id = $1 AND record_id IN (
        SELECT r.record_id FROM records r
        WHERE r.workspace_id = $1 AND r.deleted = FALSE AND r.merged_into IS NULL
          AND COALESCE(r.fetched_ms, 0) < $2
          AND EXISTS (SELECT 1 FROM task_records l
                      WHERE l.workspace_id = r.workspace_id AND l.record_id = r.record_id)
        ORDER BY COALESCE(r.fetched_ms, 0), r.record_id LIMIT $3)";

/// Names and records a missing scope kept from being read: tried again (a scope check costs
/// no request while the link still lacks it).
pub(super) const RETRY_FORBIDDEN_RECORDS: &str =
    "UPDATE records SET stale = TRUE, retry_at_ms = 0 WHERE workspace_id = $1 AND problem = 'forbidden'";

pub(super) const RETRY_FORBIDDEN_NAMES: &str =
    "UPDATE names SET stale = TRUE, retry_at_ms = 0 WHERE workspace_id = $1 AND problem = 'forbidden'";

/// The columns a `CachedRecord` is read from.
pub(super) const RECORD_COLUMNS: &str =
    "record_id, object, object_id, name, web_url, deleted, merged_into, fetched_ms, problem";

pub(super) const NAME_COLUMNS: &str = "n.kind, n.id, n.parent, n.name, n.deleted, n.problem";

/// The task's links after `duplicate` was merged into `into` (of `object`): each link to the
/// duplicate goes to the survivor, once. False when the task did not link the duplicate.
pub(super) fn repoint(task: &mut attio::Task, duplicate: Uuid, into: Uuid, object: &str) -> bool {
    if !task
        .linked_records
        .iter()
        .any(|l| l.target_record_id == duplicate)
    {
        return false;
    }
    let mut seen = BTreeSet::new();
    let links = std::mem::take(&mut task.linked_records);
    for mut link in links {
        if link.target_record_id == duplicate {
            link.target_record_id = into;
            link.target_object_id = object.to_owned();
        }
        if seen.insert(link.target_record_id) {
            task.linked_records.push(link);
        }
    }
    true
}

/// The records and other names a page of the feed refers to.
pub(super) fn keys_of(entries: &[Activity]) -> (Vec<Uuid>, Vec<NameKey>) {
    let mut records = BTreeSet::new();
    let mut names = BTreeSet::new();
    for entry in entries {
        let Some(event) = &entry.event else { continue };
        for reference in refs_of(event) {
            match reference {
                NameRef::Record { record, .. } => {
                    records.insert(record);
                }
                NameRef::Name { key, .. } => {
                    names.insert(key);
                }
            }
        }
    }
    (records.into_iter().collect(), names.into_iter().collect())
}

/// Whether two object lists say the same, whatever their order.
pub(super) fn same_objects(a: &[super::ObjectInfo], b: &[super::ObjectInfo]) -> bool {
    fn key(list: &[super::ObjectInfo]) -> Vec<(Uuid, &str, &str, &str)> {
        let mut list: Vec<_> = list
            .iter()
            .map(|o| {
                let nouns = (o.singular_noun.as_str(), o.plural_noun.as_str());
                (o.object_id, o.api_slug.as_str(), nouns.0, nouns.1)
            })
            .collect();
        list.sort();
        list
    }
    key(a) == key(b)
}

/// The record ids a page of tasks links.
pub(super) fn linked_ids(tasks: &[attio::Task]) -> Vec<Uuid> {
    let ids: BTreeSet<Uuid> = tasks
        .iter()
        .flat_map(|t| t.linked_records.iter().map(|l| l.target_record_id))
        .collect();
    ids.into_iter().collect()
}

/// A stored name kind read back; an unknown one is corrupt data.
pub(super) fn parse_kind(raw: &str) -> super::StoreResult<NameKind> {
    NameKind::parse(raw).ok_or_else(|| super::StoreError::Corrupt(format!("name kind {raw:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(links: &[Uuid]) -> attio::Task {
        serde_json::from_value(serde_json::json!({
            "id": {"workspace_id": Uuid::nil(), "task_id": Uuid::nil()},
            "linked_records": links.iter().map(|id| serde_json::json!({
                "target_object_id": "people", "target_record_id": id
            })).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    #[test]
    fn a_merge_repoints_links_once_and_leaves_other_tasks_alone() {
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut both = task(&[a, b, c]);
        assert!(repoint(&mut both, b, a, "obj"));
        let ids: Vec<Uuid> = both
            .linked_records
            .iter()
            .map(|l| l.target_record_id)
            .collect();
        assert_eq!(ids, vec![a, c], "the survivor is linked once");
        let mut one = task(&[b]);
        assert!(repoint(&mut one, b, a, "obj"));
        assert_eq!(one.linked_records[0].target_record_id, a);
        assert_eq!(one.linked_records[0].target_object_id, "obj");
        let mut other = task(&[c]);
        assert!(!repoint(&mut other, b, a, "obj"));
        assert_eq!(other.linked_records[0].target_record_id, c);
    }
}
