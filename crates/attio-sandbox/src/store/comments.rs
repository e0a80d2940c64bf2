//! Comment threads on records and list entries: `comment.created`, `comment.resolved`,
//! `comment.unresolved` and `comment.deleted`, each naming the thread, the record and (for
//! entries) the list and entry.

use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Actor, ObjectKind, WorkspaceStore};
use crate::events::Event;

/// What a thread is attached to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum CommentTarget {
    Record { object: ObjectKind, record_id: Uuid },
    Entry { list_id: Uuid, entry_id: Uuid },
}

#[derive(Clone, Debug)]
pub(crate) struct Thread {
    pub id: Uuid,
    pub target: CommentTarget,
    pub created_at: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub(crate) struct Comment {
    pub id: Uuid,
    pub thread_id: Uuid,
    pub content: String,
    /// The workspace member who wrote it.
    pub author: Uuid,
    pub resolved: Option<(OffsetDateTime, Actor)>,
    pub created_at: OffsetDateTime,
}

/// Where a comment sits, as its events and JSON report it.
pub(crate) struct CommentPlace {
    pub object: ObjectKind,
    pub record_id: Uuid,
    pub list_id: Option<Uuid>,
    pub entry_id: Option<Uuid>,
}

impl WorkspaceStore {
    pub fn thread(&self, id: Uuid) -> Option<&Thread> {
        self.threads.iter().find(|t| t.id == id)
    }

    pub fn comment(&self, id: Uuid) -> Option<&Comment> {
        self.comments.iter().find(|c| c.id == id)
    }

    /// The record (and entry) a thread hangs off; `None` if it no longer exists.
    pub fn place(&self, target: CommentTarget) -> Option<CommentPlace> {
        match target {
            CommentTarget::Record { object, record_id } => Some(CommentPlace {
                object,
                record_id,
                list_id: None,
                entry_id: None,
            }),
            CommentTarget::Entry { list_id, entry_id } => {
                let entry = self.entry(list_id, entry_id)?;
                Some(CommentPlace {
                    object: entry.object,
                    record_id: entry.record_id,
                    list_id: Some(list_id),
                    entry_id: Some(entry_id),
                })
            }
        }
    }

    fn comment_event(&mut self, event_type: &'static str, comment: &Comment, actor: Actor) {
        let Some(place) = self
            .thread(comment.thread_id)
            .and_then(|t| self.place(t.target))
        else {
            return;
        };
        let id = json!({ "workspace_id": self.workspace.id, "comment_id": comment.id });
        let extra: Vec<(&'static str, Value)> = vec![
            ("thread_id", json!(comment.thread_id)),
            ("object_id", json!(self.object_id(place.object))),
            ("record_id", json!(place.record_id)),
            ("list_id", json!(place.list_id)),
            ("entry_id", json!(place.entry_id)),
        ];
        self.emit(Event::new(event_type, id, extra, actor));
    }

    /// Starts a thread on a record or entry and returns its id (threads emit no event).
    pub fn start_thread(&mut self, target: CommentTarget, now: OffsetDateTime) -> Uuid {
        let id = Uuid::new_v4();
        self.threads.push(Thread {
            id,
            target,
            created_at: now,
        });
        id
    }

    pub fn create_comment(
        &mut self,
        thread_id: Uuid,
        content: String,
        author: Uuid,
        actor: Actor,
        now: OffsetDateTime,
    ) -> Comment {
        let comment = Comment {
            id: Uuid::new_v4(),
            thread_id,
            content,
            author,
            resolved: None,
            created_at: now,
        };
        self.comments.push(comment.clone());
        self.comment_event("comment.created", &comment, actor);
        comment
    }

    /// Resolves or re-opens a comment; emits only when the state changes.
    pub fn set_comment_resolved(
        &mut self,
        id: Uuid,
        resolved: bool,
        actor: Actor,
        now: OffsetDateTime,
    ) -> Option<Comment> {
        let comment = self.comments.iter_mut().find(|c| c.id == id)?;
        let changed = comment.resolved.is_some() != resolved;
        if changed {
            comment.resolved = resolved.then_some((now, actor));
        }
        let comment = comment.clone();
        if changed {
            let event_type = if resolved {
                "comment.resolved"
            } else {
                "comment.unresolved"
            };
            self.comment_event(event_type, &comment, actor);
        }
        Some(comment)
    }

    /// Deletes a comment (and its thread, once empty).
    pub fn delete_comment(&mut self, id: Uuid, actor: Actor) -> bool {
        let Some(comment) = self.comment(id).cloned() else {
            return false;
        };
        self.comment_event("comment.deleted", &comment, actor);
        self.comments.retain(|c| c.id != id);
        if !self
            .comments
            .iter()
            .any(|c| c.thread_id == comment.thread_id)
        {
            self.threads.retain(|t| t.id != comment.thread_id);
        }
        true
    }

    /// Removes the threads (and their comments) whose target matches, without events.
    pub(super) fn remove_threads(&mut self, gone: impl Fn(CommentTarget) -> bool) {
        let ids: Vec<Uuid> = self
            .threads
            .iter()
            .filter(|t| gone(t.target))
            .map(|t| t.id)
            .collect();
        self.threads.retain(|t| !ids.contains(&t.id));
        self.comments.retain(|c| !ids.contains(&c.thread_id));
    }
}
