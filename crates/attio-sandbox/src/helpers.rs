//! Typed shortcuts for tests and embedders: wait for deliveries to settle, read the delivery log
//! and webhook status, and make the changes the console makes (acting as the workspace admin)
//! without HTTP plumbing. Helpers that create something act on the first workspace unless their
//! name ends in `_in`; helpers that take a task or webhook id find its workspace.

use std::time::Duration;

use uuid::Uuid;

use crate::shared::WorkspaceGuard;
use crate::store::{AccessLevel, Actor, NewTask, TaskPatch, WorkspaceStore};
use crate::timestamp::now;
use crate::{DeliveryAttempt, Sandbox};

/// Changes made on the console (and by these helpers) are made by the workspace admin.
pub(crate) fn console_actor(store: &WorkspaceStore) -> Actor {
    Actor::WorkspaceMember(store.admin_member_id())
}

/// Only members of the task's workspace who are not suspended can be assigned.
fn assignable(store: &WorkspaceStore, member_id: Uuid) -> bool {
    store
        .member(member_id)
        .is_some_and(|m| m.access_level != AccessLevel::Suspended)
}

fn create_task(store: &mut WorkspaceStore, content: &str, assignees: Vec<Uuid>) -> Uuid {
    let actor = console_actor(store);
    let new = NewTask {
        content: content.to_owned(),
        deadline_at: None,
        is_completed: false,
        linked_records: Vec::new(),
        assignees,
    };
    store.create_task(new, actor, now()).id
}

impl Sandbox {
    /// Waits until no delivery is queued, waiting for a retry or in flight (in any workspace).
    /// Returns false if that did not happen within `timeout` (e.g. a target keeps failing on a
    /// real-time schedule).
    pub async fn wait_for_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let signal = {
                let store = self.store();
                if store.deliveries_idle() {
                    return true;
                }
                store.idle_signal()
            };
            let notified = signal.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.store().deliveries_idle() {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.store().deliveries_idle();
            }
        }
    }

    /// The workspace that holds this webhook, if any.
    fn webhook_workspace(&self, webhook_id: Uuid) -> Option<WorkspaceGuard<'_>> {
        let store = self.store();
        let key = store
            .keys()
            .into_iter()
            .find(|key| store.at(*key).webhook(webhook_id).is_some())?;
        Some(store.into_workspace(key))
    }

    /// The workspace that holds this task, if any.
    fn task_workspace(&self, task_id: Uuid) -> Option<WorkspaceGuard<'_>> {
        let store = self.store();
        let key = store
            .keys()
            .into_iter()
            .find(|key| store.at(*key).task(task_id).is_some())?;
        Some(store.into_workspace(key))
    }

    /// Every logged attempt to deliver to a webhook, oldest first (the last 500 are kept). A
    /// deleted webhook's log stays readable.
    pub fn deliveries(&self, webhook_id: Uuid) -> Vec<DeliveryAttempt> {
        self.store()
            .workspaces()
            .iter()
            .map(|w| w.delivery.attempts(webhook_id))
            .find(|attempts| !attempts.is_empty())
            .unwrap_or_default()
    }

    /// `active`, `degraded` or `inactive`; `None` for an unknown webhook.
    pub fn webhook_status(&self, webhook_id: Uuid) -> Option<String> {
        let store = self.webhook_workspace(webhook_id)?;
        let webhook = store.webhook(webhook_id)?;
        Some(store.webhook_status_now(webhook).as_str().to_owned())
    }

    /// Every registered webhook of every workspace, whoever created it, oldest first within a
    /// workspace, workspaces in creation order (see [`Sandbox::webhook_ids_in`]).
    pub fn webhook_ids(&self) -> Vec<Uuid> {
        self.store()
            .workspaces()
            .iter()
            .flat_map(|w| w.webhooks.iter().map(|h| h.id))
            .collect()
    }

    /// Creates an open, unassigned task with no deadline in the first workspace, as its admin;
    /// emits `task.created`.
    pub fn create_task_as_member(&self, content: &str) -> Uuid {
        create_task(&mut self.first_workspace(), content, Vec::new())
    }

    /// [`Sandbox::create_task_as_member`] in `workspace_id`; `None` for an unknown workspace.
    pub fn create_task_in(&self, workspace_id: Uuid, content: &str) -> Option<Uuid> {
        let mut store = self.workspace_store(workspace_id)?;
        Some(create_task(&mut store, content, Vec::new()))
    }

    /// The console's form: like [`Sandbox::create_task_in`], optionally assigned to one
    /// member (one `task.created`). `None` if that member cannot be assigned.
    pub(crate) fn create_assigned_task(
        &self,
        workspace_id: Uuid,
        content: &str,
        assignee: Option<Uuid>,
    ) -> Option<Uuid> {
        let mut store = self.workspace_store(workspace_id)?;
        if assignee.is_some_and(|id| !assignable(&store, id)) {
            return None;
        }
        Some(create_task(
            &mut store,
            content,
            assignee.into_iter().collect(),
        ))
    }

    /// Marks a task completed (`task.updated` unless it already was). False if unknown.
    pub fn complete_task(&self, task_id: Uuid) -> bool {
        self.patch_task(
            task_id,
            None,
            TaskPatch {
                is_completed: Some(true),
                ..TaskPatch::default()
            },
        )
    }

    /// Makes `member_id` the only assignee, or clears the assignees with `None`. False if the
    /// task is unknown or the member is unknown, suspended or of another workspace.
    pub fn assign_task(&self, task_id: Uuid, member_id: Option<Uuid>) -> bool {
        self.patch_task(
            task_id,
            member_id,
            TaskPatch {
                assignees: Some(member_id.into_iter().collect()),
                ..TaskPatch::default()
            },
        )
    }

    fn patch_task(&self, task_id: Uuid, assignee: Option<Uuid>, patch: TaskPatch) -> bool {
        let Some(mut store) = self.task_workspace(task_id) else {
            return false;
        };
        if assignee.is_some_and(|id| !assignable(&store, id)) {
            return false;
        }
        let actor = console_actor(&store);
        store.update_task(task_id, patch, actor, now()).is_some()
    }

    /// Deletes a task (`task.deleted`). False if unknown.
    pub fn delete_task(&self, task_id: Uuid) -> bool {
        let Some(mut store) = self.task_workspace(task_id) else {
            return false;
        };
        let actor = console_actor(&store);
        store.delete_task(task_id, actor)
    }

    /// Adds a member with access level `member` to the first workspace
    /// (`workspace-member.created`).
    ///
    /// # Errors
    /// Blank names, an invalid email address, or one a member already has.
    pub fn add_member(
        &self,
        first_name: &str,
        last_name: &str,
        email: &str,
    ) -> Result<Uuid, String> {
        let id = self.first_workspace().workspace.id;
        self.add_member_in(id, first_name, last_name, email)
    }

    /// [`Sandbox::add_member`] in `workspace_id`.
    ///
    /// # Errors
    /// As [`Sandbox::add_member`], or an unknown workspace.
    pub fn add_member_in(
        &self,
        workspace_id: Uuid,
        first_name: &str,
        last_name: &str,
        email: &str,
    ) -> Result<Uuid, String> {
        let mut store = self
            .workspace_store(workspace_id)
            .ok_or_else(|| format!("No workspace with ID \"{workspace_id}\"."))?;
        let actor = console_actor(&store);
        store
            .add_member(
                first_name,
                last_name,
                email,
                AccessLevel::Member,
                actor,
                now(),
            )
            .map(|m| m.id)
    }
}
