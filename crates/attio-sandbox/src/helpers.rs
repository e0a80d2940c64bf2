//! Typed shortcuts for tests and embedders: wait for deliveries to settle, read the delivery log
//! and webhook status, and make the changes the console makes (acting as the workspace admin)
//! without HTTP plumbing.

use std::time::Duration;

use uuid::Uuid;

use crate::store::{AccessLevel, Actor, NewTask, Store, TaskPatch};
use crate::timestamp::now;
use crate::{DeliveryAttempt, Sandbox};

/// Changes made on the console (and by these helpers) are made by the workspace admin.
pub(crate) fn console_actor(store: &Store) -> Actor {
    Actor::WorkspaceMember(store.admin_member_id())
}

/// Only workspace members who are not suspended can be assigned.
fn assignable(store: &Store, member_id: Uuid) -> bool {
    store
        .member(member_id)
        .is_some_and(|m| m.access_level != AccessLevel::Suspended)
}

fn create_task(store: &mut Store, content: &str, assignees: Vec<Uuid>) -> Uuid {
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
    /// Waits until no delivery is queued, waiting for a retry or in flight. Returns false if that
    /// did not happen within `timeout` (e.g. a target keeps failing on a real-time schedule).
    pub async fn wait_for_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let signal = {
                let store = self.store();
                if store.delivery.is_idle() {
                    return true;
                }
                store.delivery.idle_signal()
            };
            let notified = signal.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.store().delivery.is_idle() {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.store().delivery.is_idle();
            }
        }
    }

    /// Every logged attempt to deliver to a webhook, oldest first (the last 500 are kept).
    pub fn deliveries(&self, webhook_id: Uuid) -> Vec<DeliveryAttempt> {
        self.store().delivery.attempts(webhook_id)
    }

    /// `active`, `degraded` or `inactive`; `None` for an unknown webhook.
    pub fn webhook_status(&self, webhook_id: Uuid) -> Option<String> {
        let store = self.store();
        let webhook = store.webhook(webhook_id)?;
        Some(store.webhook_status_now(webhook).as_str().to_owned())
    }

    /// Every registered webhook, whoever created it, oldest first.
    pub fn webhook_ids(&self) -> Vec<Uuid> {
        self.store().webhooks.iter().map(|w| w.id).collect()
    }

    /// Creates an open, unassigned task with no deadline, as the admin member; emits
    /// `task.created`.
    pub fn create_task_as_member(&self, content: &str) -> Uuid {
        create_task(&mut self.store(), content, Vec::new())
    }

    /// The console's form: like [`Sandbox::create_task_as_member`], optionally assigned to one
    /// member (one `task.created`). `None` if that member cannot be assigned.
    pub(crate) fn create_assigned_task(
        &self,
        content: &str,
        assignee: Option<Uuid>,
    ) -> Option<Uuid> {
        let mut store = self.store();
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
            TaskPatch {
                is_completed: Some(true),
                ..TaskPatch::default()
            },
        )
    }

    /// Makes `member_id` the only assignee, or clears the assignees with `None`. False if the
    /// task is unknown or the member is unknown or suspended.
    pub fn assign_task(&self, task_id: Uuid, member_id: Option<Uuid>) -> bool {
        if member_id.is_some_and(|id| !assignable(&self.store(), id)) {
            return false;
        }
        self.patch_task(
            task_id,
            TaskPatch {
                assignees: Some(member_id.into_iter().collect()),
                ..TaskPatch::default()
            },
        )
    }

    fn patch_task(&self, task_id: Uuid, patch: TaskPatch) -> bool {
        let mut store = self.store();
        let actor = console_actor(&store);
        store.update_task(task_id, patch, actor, now()).is_some()
    }

    /// Deletes a task (`task.deleted`). False if unknown.
    pub fn delete_task(&self, task_id: Uuid) -> bool {
        let mut store = self.store();
        let actor = console_actor(&store);
        store.delete_task(task_id, actor)
    }

    /// Adds a workspace member with access level `member` (`workspace-member.created`).
    ///
    /// # Errors
    /// Blank names, an invalid email address, or one a member already has.
    pub fn add_member(
        &self,
        first_name: &str,
        last_name: &str,
        email: &str,
    ) -> Result<Uuid, String> {
        let mut store = self.store();
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
