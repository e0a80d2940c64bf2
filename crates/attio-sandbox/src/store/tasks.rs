//! Tasks: the stored shape, and the list/create/update/delete operations with Attio's semantics.
//! Each change emits `task.created`, `task.updated` or `task.deleted`.

use std::cmp::Ordering;

use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Actor, ObjectKind, WorkspaceStore};
use crate::events::Event;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct LinkedRecord {
    pub object: ObjectKind,
    pub record_id: Uuid,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Task {
    pub id: Uuid,
    pub content: String,
    pub deadline_at: Option<OffsetDateTime>,
    pub is_completed: bool,
    pub completed_at: Option<OffsetDateTime>,
    pub linked_records: Vec<LinkedRecord>,
    /// Workspace member ids; only members can be assigned.
    pub assignees: Vec<Uuid>,
    pub created_by: Actor,
    pub created_at: OffsetDateTime,
}

/// A validated create body.
pub(crate) struct NewTask {
    pub content: String,
    pub deadline_at: Option<OffsetDateTime>,
    pub is_completed: bool,
    pub linked_records: Vec<LinkedRecord>,
    pub assignees: Vec<Uuid>,
}

/// A validated update body; `None` leaves a field alone, lists are replaced whole.
#[derive(Default)]
pub(crate) struct TaskPatch {
    pub deadline_at: Option<Option<OffsetDateTime>>,
    pub is_completed: Option<bool>,
    pub linked_records: Option<Vec<LinkedRecord>>,
    pub assignees: Option<Vec<Uuid>>,
}

#[derive(Default, Debug, PartialEq, Eq)]
pub(crate) enum AssigneeFilter {
    #[default]
    Any,
    Unassigned,
    Member(Uuid),
    /// The filter named someone who is not a member: nothing matches.
    Nobody,
}

#[derive(Default, Debug)]
pub(crate) struct TaskFilter {
    pub linked_record: Option<LinkedRecord>,
    pub assignee: AssigneeFilter,
    pub is_completed: Option<bool>,
}

#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) enum TaskSort {
    #[default]
    CreatedAsc,
    CreatedDesc,
    CompletedAsc,
    CompletedDesc,
}

impl TaskFilter {
    fn matches(&self, task: &Task) -> bool {
        let linked = self
            .linked_record
            .is_none_or(|link| task.linked_records.contains(&link));
        let assignee = match self.assignee {
            AssigneeFilter::Any => true,
            AssigneeFilter::Unassigned => task.assignees.is_empty(),
            AssigneeFilter::Member(id) => task.assignees.contains(&id),
            AssigneeFilter::Nobody => false,
        };
        let completed = self.is_completed.is_none_or(|c| task.is_completed == c);
        linked && assignee && completed
    }
}

/// `completed_at:asc`: open tasks first (oldest created first), then completed ones, oldest
/// completion first. The `desc` orders are the exact reverse of the `asc` ones.
fn completed_order(a: &Task, b: &Task) -> Ordering {
    match (a.completed_at, b.completed_at) {
        (None, None) => a.created_at.cmp(&b.created_at),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(&y).then(a.created_at.cmp(&b.created_at)),
    }
}

impl WorkspaceStore {
    /// One page of tasks. `tasks` is kept in creation order, which breaks every tie.
    pub fn list_tasks(
        &self,
        filter: &TaskFilter,
        sort: TaskSort,
        offset: usize,
        limit: usize,
    ) -> Vec<Task> {
        let mut matching: Vec<&Task> = self.tasks.iter().filter(|t| filter.matches(t)).collect();
        match sort {
            TaskSort::CreatedAsc | TaskSort::CreatedDesc => {
                matching.sort_by_key(|t| t.created_at);
            }
            TaskSort::CompletedAsc | TaskSort::CompletedDesc => {
                matching.sort_by(|a, b| completed_order(a, b))
            }
        }
        if matches!(sort, TaskSort::CreatedDesc | TaskSort::CompletedDesc) {
            matching.reverse();
        }
        matching
            .into_iter()
            .skip(offset)
            .take(limit)
            .cloned()
            .collect()
    }

    pub fn task(&self, id: Uuid) -> Option<&Task> {
        self.tasks.iter().find(|t| t.id == id)
    }

    /// Every task's id, in creation order.
    pub fn task_ids(&self) -> Vec<Uuid> {
        self.tasks.iter().map(|t| t.id).collect()
    }

    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    fn task_event(&mut self, event_type: &'static str, task_id: Uuid, actor: Actor) {
        let id: Value = json!({ "workspace_id": self.workspace.id, "task_id": task_id });
        self.emit(Event::new(event_type, id, vec![], actor));
    }

    pub fn create_task(&mut self, new: NewTask, actor: Actor, now: OffsetDateTime) -> Task {
        let task = Task {
            id: Uuid::new_v4(),
            content: new.content,
            deadline_at: new.deadline_at,
            is_completed: new.is_completed,
            completed_at: new.is_completed.then_some(now),
            linked_records: new.linked_records,
            assignees: new.assignees,
            created_by: actor,
            created_at: now,
        };
        self.tasks.push(task.clone());
        self.task_event("task.created", task.id, actor);
        task
    }

    /// Applies a patch. Completing stamps `completed_at` (kept if already completed);
    /// re-opening clears it. One `task.updated` when anything changed, none otherwise.
    pub fn update_task(
        &mut self,
        id: Uuid,
        patch: TaskPatch,
        actor: Actor,
        now: OffsetDateTime,
    ) -> Option<Task> {
        let task = self.tasks.iter_mut().find(|t| t.id == id)?;
        let before = task.clone();
        if let Some(deadline) = patch.deadline_at {
            task.deadline_at = deadline;
        }
        if let Some(completed) = patch.is_completed {
            if completed && !task.is_completed {
                task.completed_at = Some(now);
            } else if !completed {
                task.completed_at = None;
            }
            task.is_completed = completed;
        }
        if let Some(links) = patch.linked_records {
            task.linked_records = links;
        }
        if let Some(assignees) = patch.assignees {
            task.assignees = assignees;
        }
        let task = task.clone();
        if task != before {
            self.task_event("task.updated", id, actor);
        }
        Some(task)
    }

    pub fn delete_task(&mut self, id: Uuid, actor: Actor) -> bool {
        let before = self.tasks.len();
        self.tasks.retain(|t| t.id != id);
        let deleted = self.tasks.len() != before;
        if deleted {
            self.task_event("task.deleted", id, actor);
        }
        deleted
    }

    /// Drops task and meeting links to a record that no longer exists (no event: the task
    /// itself did not change in a way Attio reports).
    pub(super) fn unlink_record(&mut self, object: ObjectKind, record_id: Uuid) {
        for task in &mut self.tasks {
            task.linked_records
                .retain(|l| !(l.object == object && l.record_id == record_id));
        }
        self.unlink_meetings(object, record_id);
    }

    /// Points task and meeting links at `from` to `to` instead, keeping each link once (after a
    /// merge).
    pub(super) fn relink_record(&mut self, object: ObjectKind, from: Uuid, to: Uuid) {
        for task in &mut self.tasks {
            let mut links = Vec::with_capacity(task.linked_records.len());
            for mut link in task.linked_records.drain(..) {
                if link.object == object && link.record_id == from {
                    link.record_id = to;
                }
                if !links.contains(&link) {
                    links.push(link);
                }
            }
            task.linked_records = links;
        }
        self.relink_meetings(object, from, to);
    }
}
