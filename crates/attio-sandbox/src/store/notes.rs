//! Notes on records: `note.created`, `note.updated` (title), `note-content.updated` (body) and
//! `note.deleted`.

use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Actor, ObjectKind, WorkspaceStore};
use crate::events::Event;

#[derive(Clone, Debug)]
pub(crate) struct Note {
    pub id: Uuid,
    pub object: ObjectKind,
    pub record_id: Uuid,
    pub title: String,
    /// The body; plaintext and markdown are served as the same text.
    pub content: String,
    pub meeting_id: Option<Uuid>,
    pub created_by: Actor,
    pub created_at: OffsetDateTime,
}

/// A note to create; the parent record is already resolved.
pub(crate) struct NewNote {
    pub object: ObjectKind,
    pub record_id: Uuid,
    pub title: String,
    pub content: String,
    pub meeting_id: Option<Uuid>,
}

impl WorkspaceStore {
    pub fn note(&self, id: Uuid) -> Option<&Note> {
        self.notes.iter().find(|n| n.id == id)
    }

    fn note_event(&mut self, event_type: &'static str, note: &Note, actor: Actor) {
        let id = json!({ "workspace_id": self.workspace.id, "note_id": note.id });
        let extra = vec![
            ("parent_object_id", json!(self.object_id(note.object))),
            ("parent_record_id", json!(note.record_id)),
        ];
        self.emit(Event::new(event_type, id, extra, actor));
    }

    pub fn create_note(&mut self, new: NewNote, actor: Actor, created_at: OffsetDateTime) -> Note {
        let note = Note {
            id: Uuid::new_v4(),
            object: new.object,
            record_id: new.record_id,
            title: new.title,
            content: new.content,
            meeting_id: new.meeting_id,
            created_by: actor,
            created_at,
        };
        self.notes.push(note.clone());
        self.note_event("note.created", &note, actor);
        note
    }

    /// A new title emits `note.updated`; a new body emits `note-content.updated`; both, both.
    pub fn update_note(
        &mut self,
        id: Uuid,
        title: Option<String>,
        content: Option<String>,
        actor: Actor,
    ) -> Option<Note> {
        let note = self.notes.iter_mut().find(|n| n.id == id)?;
        let title_changed = title.as_ref().is_some_and(|t| *t != note.title);
        let content_changed = content.as_ref().is_some_and(|c| *c != note.content);
        if let Some(title) = title {
            note.title = title;
        }
        if let Some(content) = content {
            note.content = content;
        }
        let note = note.clone();
        if title_changed {
            self.note_event("note.updated", &note, actor);
        }
        if content_changed {
            self.note_event("note-content.updated", &note, actor);
        }
        Some(note)
    }

    pub fn delete_note(&mut self, id: Uuid, actor: Actor) -> bool {
        let Some(note) = self.note(id).cloned() else {
            return false;
        };
        self.notes.retain(|n| n.id != id);
        self.note_event("note.deleted", &note, actor);
        true
    }
}
