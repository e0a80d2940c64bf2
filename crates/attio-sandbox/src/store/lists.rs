//! Lists and their entries: `list.*` and `list-entry.*` events (one `list-entry.updated` per
//! changed attribute).

use std::collections::BTreeMap;

use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    Actor, AttributeParent, CommentTarget, ObjectKind, ValueHistory, WorkspaceStore, Written,
};
use crate::events::Event;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct List {
    pub id: Uuid,
    pub api_slug: String,
    pub name: String,
    pub parent_object: ObjectKind,
    /// `full-access`, `read-and-write`, `read-only`, or `None` (no access).
    pub workspace_access: Option<String>,
    /// `[{workspace_member_id, level}]`, kept as given.
    pub member_access: Vec<Value>,
    pub created_by: Actor,
    pub created_at: OffsetDateTime,
}

pub(crate) struct NewList {
    pub name: String,
    pub api_slug: String,
    pub parent_object: ObjectKind,
    pub workspace_access: Option<String>,
    pub member_access: Vec<Value>,
}

#[derive(Default)]
pub(crate) struct ListPatch {
    pub name: Option<String>,
    pub api_slug: Option<String>,
    pub workspace_access: Option<Option<String>>,
    pub member_access: Option<Vec<Value>>,
}

/// A record in a list, with values for the list's own attributes (by attribute id).
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub id: Uuid,
    pub list_id: Uuid,
    pub object: ObjectKind,
    pub record_id: Uuid,
    pub values: BTreeMap<Uuid, Value>,
    pub created_at: OffsetDateTime,
    /// When and by whom each value was written, and the values replaced.
    pub history: ValueHistory,
}

impl WorkspaceStore {
    /// Finds a list by slug or ID.
    pub fn list(&self, slug_or_id: &str) -> Option<&List> {
        let id = Uuid::parse_str(slug_or_id).ok();
        self.lists
            .iter()
            .find(|l| l.api_slug == slug_or_id || Some(l.id) == id)
    }

    fn list_event(&mut self, event_type: &'static str, list_id: Uuid, actor: Actor) {
        let id = json!({ "workspace_id": self.workspace.id, "list_id": list_id });
        self.emit(Event::new(event_type, id, vec![], actor));
    }

    fn list_slug_taken(&self, slug: &str, except: Option<Uuid>) -> bool {
        self.lists
            .iter()
            .any(|l| l.api_slug == slug && Some(l.id) != except)
    }

    /// `Err` carries a slug already in use.
    pub fn create_list(
        &mut self,
        new: NewList,
        actor: Actor,
        now: OffsetDateTime,
    ) -> Result<List, String> {
        if self.list_slug_taken(&new.api_slug, None) {
            return Err(new.api_slug);
        }
        let list = List {
            id: Uuid::new_v4(),
            api_slug: new.api_slug,
            name: new.name,
            parent_object: new.parent_object,
            workspace_access: new.workspace_access,
            member_access: new.member_access,
            created_by: actor,
            created_at: now,
        };
        self.lists.push(list.clone());
        self.list_event("list.created", list.id, actor);
        Ok(list)
    }

    /// One `list.updated` when anything changed. `Ok(None)`: no such list.
    pub fn update_list(
        &mut self,
        id: Uuid,
        patch: ListPatch,
        actor: Actor,
    ) -> Result<Option<List>, String> {
        if let Some(slug) = &patch.api_slug {
            if self.list_slug_taken(slug, Some(id)) {
                return Err(slug.clone());
            }
        }
        let Some(list) = self.lists.iter_mut().find(|l| l.id == id) else {
            return Ok(None);
        };
        let before = list.clone();
        if let Some(name) = patch.name {
            list.name = name;
        }
        if let Some(slug) = patch.api_slug {
            list.api_slug = slug;
        }
        if let Some(access) = patch.workspace_access {
            list.workspace_access = access;
        }
        if let Some(access) = patch.member_access {
            list.member_access = access;
        }
        let list = list.clone();
        if list != before {
            self.list_event("list.updated", id, actor);
        }
        Ok(Some(list))
    }

    /// Deletes a list with its attributes, entries and their comment threads (no events of
    /// their own).
    pub fn delete_list(&mut self, id: Uuid, actor: Actor) -> bool {
        let before = self.lists.len();
        self.lists.retain(|l| l.id != id);
        if self.lists.len() == before {
            return false;
        }
        self.entries.retain(|e| e.list_id != id);
        self.attributes
            .retain(|a| a.parent != AttributeParent::List(id));
        self.remove_threads(|t| matches!(t, CommentTarget::Entry { list_id, .. } if list_id == id));
        self.list_event("list.deleted", id, actor);
        true
    }

    pub fn entry(&self, list_id: Uuid, entry_id: Uuid) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.list_id == list_id && e.id == entry_id)
    }

    fn entry_event(
        &mut self,
        event_type: &'static str,
        entry: &Entry,
        attribute_id: Option<Uuid>,
        actor: Actor,
    ) {
        let mut id = json!({
            "workspace_id": self.workspace.id,
            "list_id": entry.list_id,
            "entry_id": entry.id,
        });
        if let (Some(attribute_id), Some(map)) = (attribute_id, id.as_object_mut()) {
            map.insert("attribute_id".to_owned(), json!(attribute_id));
        }
        let extra = vec![
            ("parent_object_id", json!(self.object_id(entry.object))),
            ("parent_record_id", json!(entry.record_id)),
        ];
        self.emit(Event::new(event_type, id, extra, actor));
    }

    /// Adds a record to a list (a record may be in a list more than once). Initial values
    /// emit no `list-entry.updated`.
    pub fn create_entry(
        &mut self,
        list_id: Uuid,
        object: ObjectKind,
        record_id: Uuid,
        values: BTreeMap<Uuid, Value>,
        actor: Actor,
        now: OffsetDateTime,
    ) -> Entry {
        let entry = Entry {
            id: Uuid::new_v4(),
            list_id,
            object,
            record_id,
            values,
            created_at: now,
            history: ValueHistory::new(Written { at: now, by: actor }),
        };
        self.entries.push(entry.clone());
        self.entry_event("list-entry.created", &entry, None, actor);
        entry
    }

    /// Sets (or, with `None`, clears) values; one `list-entry.updated` per changed attribute.
    pub fn update_entry(
        &mut self,
        list_id: Uuid,
        entry_id: Uuid,
        values: Vec<(Uuid, Option<Value>)>,
        actor: Actor,
    ) -> Option<Entry> {
        let entry = self
            .entries
            .iter_mut()
            .find(|e| e.list_id == list_id && e.id == entry_id)?;
        let mut changed = Vec::new();
        let now = Written {
            at: crate::timestamp::now(),
            by: actor,
        };
        for (attribute_id, value) in values {
            if entry.values.get(&attribute_id) == value.as_ref() {
                continue;
            }
            let before = match value {
                Some(value) => entry.values.insert(attribute_id, value),
                None => entry.values.remove(&attribute_id),
            };
            entry.history.changed(attribute_id, before, now);
            changed.push(attribute_id);
        }
        let entry = entry.clone();
        for attribute_id in changed {
            self.entry_event("list-entry.updated", &entry, Some(attribute_id), actor);
        }
        Some(entry)
    }

    pub fn delete_entry(&mut self, list_id: Uuid, entry_id: Uuid, actor: Actor) -> bool {
        let Some(entry) = self.entry(list_id, entry_id).cloned() else {
            return false;
        };
        self.entries.retain(|e| e.id != entry_id);
        self.remove_threads(
            |t| matches!(t, CommentTarget::Entry { entry_id: e, .. } if e == entry_id),
        );
        self.entry_event("list-entry.deleted", &entry, None, actor);
        true
    }
}
