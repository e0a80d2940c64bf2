//! People and company records: create, update (one `record.updated` per changed attribute),
//! delete, and merge (the newer docs' model: a new record and two `record.merged` events).

use std::collections::BTreeMap;

use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    Actor, AttributeParent, CommentTarget, ObjectKind, Record, ValueHistory, WorkspaceStore,
    Written,
};
use crate::events::Event;

/// A validated set of new values; `None` leaves the system values alone, and a `None` value
/// in `values` clears that attribute.
#[derive(Default)]
pub(crate) struct RecordChanges {
    pub name: Option<String>,
    pub uniques: Option<Vec<String>>,
    pub values: Vec<(Uuid, Option<Value>)>,
}

impl WorkspaceStore {
    /// The ids of an object's `name` attribute and of its unique attribute.
    fn system_ids(&self, object: ObjectKind) -> (Uuid, Uuid) {
        let parent = AttributeParent::Object(object);
        (
            self.attribute_id(parent, "name"),
            object
                .unique_attribute()
                .map_or(Uuid::nil(), |(slug, _)| self.attribute_id(parent, slug)),
        )
    }

    /// A unique value already held by another record of the object, if any.
    pub fn unique_conflict(
        &self,
        object: ObjectKind,
        values: &[String],
        except: Option<Uuid>,
    ) -> Option<String> {
        values.iter().find_map(|value| {
            self.record_by_unique_value(object, value)
                .filter(|r| Some(r.id) != except)
                .map(|_| value.clone())
        })
    }

    fn record_event(
        &mut self,
        event_type: &'static str,
        object: ObjectKind,
        record_id: Uuid,
        extra_id: Option<Uuid>,
        extra: Vec<(&'static str, Value)>,
        actor: Actor,
    ) {
        let mut id = json!({
            "workspace_id": self.workspace.id,
            "object_id": self.object_id(object),
            "record_id": record_id,
        });
        if let (Some(attribute_id), Some(map)) = (extra_id, id.as_object_mut()) {
            map.insert("attribute_id".to_owned(), json!(attribute_id));
        }
        self.emit(Event::new(event_type, id, extra, actor));
    }

    /// Creates a record; unique values must be free (checked by the caller's parser too).
    pub fn create_record(
        &mut self,
        object: ObjectKind,
        changes: RecordChanges,
        actor: Actor,
        now: OffsetDateTime,
    ) -> Result<Record, String> {
        let uniques = changes.uniques.unwrap_or_default();
        if let Some(taken) = self.unique_conflict(object, &uniques, None) {
            return Err(taken);
        }
        let record = Record {
            id: Uuid::new_v4(),
            object,
            name: changes.name.unwrap_or_default(),
            uniques,
            values: changes
                .values
                .into_iter()
                .filter_map(|(id, value)| value.map(|v| (id, v)))
                .collect(),
            created_at: now,
            history: ValueHistory::new(Written { at: now, by: actor }),
        };
        self.records.push(record.clone());
        self.record_event("record.created", object, record.id, None, vec![], actor);
        Ok(record)
    }

    /// Applies changes and emits one `record.updated` per attribute whose value changed.
    /// `Ok(None)` when the record does not exist; `Err` names a unique value already taken.
    pub fn update_record(
        &mut self,
        object: ObjectKind,
        id: Uuid,
        changes: RecordChanges,
        actor: Actor,
    ) -> Result<Option<Record>, String> {
        if let Some(uniques) = &changes.uniques {
            if let Some(taken) = self.unique_conflict(object, uniques, Some(id)) {
                return Err(taken);
            }
        }
        let (name_id, unique_id) = self.system_ids(object);
        let Some(record) = self
            .records
            .iter_mut()
            .find(|r| r.object == object && r.id == id)
        else {
            return Ok(None);
        };
        let mut changed = Vec::new();
        let now = Written {
            at: crate::timestamp::now(),
            by: actor,
        };
        if let Some(name) = changes.name.filter(|n| *n != record.name) {
            let before = record.raw(name_id, name_id, unique_id);
            record.name = name;
            record.history.changed(name_id, before, now);
            changed.push(name_id);
        }
        if let Some(uniques) = changes.uniques.filter(|u| *u != record.uniques) {
            let before = record.raw(unique_id, name_id, unique_id);
            record.uniques = uniques;
            record.history.changed(unique_id, before, now);
            changed.push(unique_id);
        }
        for (attribute_id, value) in changes.values {
            if record.values.get(&attribute_id) == value.as_ref() {
                continue;
            }
            let before = match value {
                Some(value) => record.values.insert(attribute_id, value),
                None => record.values.remove(&attribute_id),
            };
            record.history.changed(attribute_id, before, now);
            changed.push(attribute_id);
        }
        let record = record.clone();
        for attribute_id in changed {
            self.record_event(
                "record.updated",
                object,
                id,
                Some(attribute_id),
                vec![],
                actor,
            );
        }
        Ok(Some(record))
    }

    /// Deletes a record with what hangs off it (list entries, notes, comment threads, task
    /// links), which emit no events of their own.
    pub fn delete_record(&mut self, object: ObjectKind, id: Uuid, actor: Actor) -> bool {
        let before = self.records.len();
        self.records.retain(|r| !(r.object == object && r.id == id));
        if self.records.len() == before {
            return false;
        }
        let gone_entries: Vec<Uuid> = self
            .entries
            .iter()
            .filter(|e| e.object == object && e.record_id == id)
            .map(|e| e.id)
            .collect();
        self.entries.retain(|e| !gone_entries.contains(&e.id));
        self.notes
            .retain(|n| !(n.object == object && n.record_id == id));
        self.remove_threads(|target| match target {
            CommentTarget::Record {
                object: o,
                record_id,
            } => o == object && record_id == id,
            CommentTarget::Entry { entry_id, .. } => gone_entries.contains(&entry_id),
        });
        self.unlink_record(object, id);
        self.record_event("record.deleted", object, id, None, vec![], actor);
        true
    }

    /// Merges `duplicate` and `original` into a new record (the original's values win, unique
    /// values are combined), moves everything that pointed at either to it, removes both, and
    /// emits two `record.merged` events naming the new record and one original each.
    pub fn merge_records(
        &mut self,
        object: ObjectKind,
        original: Uuid,
        duplicate: Uuid,
        actor: Actor,
        now: OffsetDateTime,
    ) -> Option<Record> {
        let first = self.record(object, original)?.clone();
        let second = self.record(object, duplicate)?.clone();
        let mut uniques = first.uniques.clone();
        for value in second.uniques {
            if !uniques.iter().any(|u| u.eq_ignore_ascii_case(&value)) {
                uniques.push(value);
            }
        }
        // The original's values win; each value keeps the time and writer of the record it
        // came from.
        let mut history = ValueHistory::new(Written { at: now, by: actor });
        history.absorb(&second.history, |a| second.values.contains_key(&a));
        history.absorb(&first.history, |a| first.values.contains_key(&a));
        let mut values: BTreeMap<Uuid, Value> = second.values;
        values.extend(first.values);
        let merged = Record {
            id: Uuid::new_v4(),
            object,
            name: if first.name.is_empty() {
                second.name
            } else {
                first.name
            },
            uniques,
            values,
            created_at: now,
            history,
        };
        self.records
            .retain(|r| !(r.object == object && (r.id == original || r.id == duplicate)));
        self.records.push(merged.clone());
        for from in [original, duplicate] {
            self.relink_record(object, from, merged.id);
            for entry in self.entries.iter_mut().filter(|e| e.object == object) {
                if entry.record_id == from {
                    entry.record_id = merged.id;
                }
            }
            for note in self.notes.iter_mut().filter(|n| n.object == object) {
                if note.record_id == from {
                    note.record_id = merged.id;
                }
            }
            for thread in &mut self.threads {
                if let CommentTarget::Record {
                    object: o,
                    record_id,
                } = &mut thread.target
                {
                    if *o == object && *record_id == from {
                        *record_id = merged.id;
                    }
                }
            }
        }
        let object_id = self.object_id(object);
        for old in [original, duplicate] {
            let extra = vec![
                ("duplicate_object_id", json!(object_id)),
                ("duplicate_record_id", json!(old)),
            ];
            self.record_event("record.merged", object, merged.id, None, extra, actor);
        }
        Some(merged)
    }
}
