//! One representative real change per event type in one workspace, for the console's "trigger"
//! form, `POST /_sandbox/trigger` and [`Sandbox::trigger`]. Each change emits exactly events of the
//! asked type (two for `record.merged`, as Attio sends).

use serde_json::json;
use uuid::Uuid;

use crate::events::event_type;
use crate::helpers::console_actor;
use crate::store::{
    AccessLevel, Actor, AttributeParent, AttributePatch, CommentTarget, ListPatch, NewAttribute,
    NewList, NewNote, NewTask, ObjectKind, RecordChanges, TaskFilter, TaskPatch, TaskSort,
    WorkspaceStore,
};
use crate::timestamp::now;
use crate::Sandbox;

impl Sandbox {
    /// Performs a representative change that emits `event_type`, as the workspace admin
    /// (e.g. `task.updated` toggles the newest task's completion, `record.deleted` deletes the
    /// newest person).
    ///
    /// # Errors
    /// An unknown event type, or nothing left to change (e.g. every note already deleted).
    pub fn trigger(&self, event_type: &str) -> Result<(), String> {
        let mut store = self.first_workspace();
        let actor = console_actor(&store);
        trigger(&mut store, event_type, actor)
    }

    /// [`Sandbox::trigger`] in `workspace_id`, as its admin.
    ///
    /// # Errors
    /// As [`Sandbox::trigger`], or an unknown workspace.
    pub fn trigger_in(&self, workspace_id: Uuid, event_type: &str) -> Result<(), String> {
        let mut store = self
            .workspace_store(workspace_id)
            .ok_or_else(|| format!("No workspace with ID \"{workspace_id}\"."))?;
        let actor = console_actor(&store);
        trigger(&mut store, event_type, actor)
    }
}

fn nothing(what: &str) -> String {
    format!("There is no {what} left to change.")
}

pub(crate) fn trigger(store: &mut WorkspaceStore, name: &str, actor: Actor) -> Result<(), String> {
    let kind = event_type(name).ok_or_else(|| format!("\"{name}\" is not an Attio event type."))?;
    let n = store.next_serial();
    let at = now();
    let people = AttributeParent::Object(ObjectKind::People);
    match kind {
        "task.created" | "task.updated" | "task.deleted" => {
            let newest = store
                .list_tasks(&TaskFilter::default(), TaskSort::CreatedDesc, 0, 1)
                .pop();
            match (kind, newest) {
                ("task.created", _) => {
                    let new = NewTask {
                        content: format!("Sandbox task {n}"),
                        deadline_at: None,
                        is_completed: false,
                        linked_records: Vec::new(),
                        assignees: Vec::new(),
                    };
                    store.create_task(new, actor, at);
                }
                ("task.updated", Some(task)) => {
                    let patch = TaskPatch {
                        is_completed: Some(!task.is_completed),
                        ..TaskPatch::default()
                    };
                    store.update_task(task.id, patch, actor, at);
                }
                (_, Some(task)) => {
                    store.delete_task(task.id, actor);
                }
                (_, None) => return Err(nothing("task")),
            }
        }
        "workspace-member.created" => {
            let email = format!("sam.sandbox{n}@acme-demo.test");
            store.add_member(
                "Sam",
                &format!("Sandbox{n}"),
                &email,
                AccessLevel::Member,
                actor,
                at,
            )?;
        }
        "record.created" => {
            let changes = RecordChanges {
                name: Some(format!("Sandbox Person {n}")),
                uniques: Some(vec![format!("sandbox.person{n}@example.test")]),
                values: Vec::new(),
            };
            store
                .create_record(ObjectKind::People, changes, actor, at)
                .map_err(|taken| format!("{taken} is taken"))?;
        }
        "record.updated" => {
            let id = newest_person(store, 0)?;
            let job_title = store.attribute_id(people, "job_title");
            let changes = RecordChanges {
                values: vec![(job_title, Some(json!(format!("Sandbox title {n}"))))],
                ..RecordChanges::default()
            };
            store.update_record(ObjectKind::People, id, changes, actor)?;
        }
        "record.deleted" => {
            let id = newest_person(store, 0)?;
            store.delete_record(ObjectKind::People, id, actor);
        }
        "record.merged" => {
            let (original, duplicate) = (newest_person(store, 1)?, newest_person(store, 0)?);
            store.merge_records(ObjectKind::People, original, duplicate, actor, at);
        }
        "note.created" => {
            let record_id = oldest_person(store)?;
            let new = NewNote {
                object: ObjectKind::People,
                record_id,
                title: format!("Sandbox note {n}"),
                content: "Written from the sandbox.".to_owned(),
                meeting_id: None,
            };
            store.create_note(new, actor, at);
        }
        "note.updated" | "note-content.updated" | "note.deleted" => {
            let id = store
                .notes
                .last()
                .map(|n| n.id)
                .ok_or_else(|| nothing("note"))?;
            match kind {
                "note.updated" => {
                    store.update_note(id, Some(format!("Sandbox title {n}")), None, actor);
                }
                "note-content.updated" => {
                    store.update_note(id, None, Some(format!("Sandbox content {n}")), actor);
                }
                _ => {
                    store.delete_note(id, actor);
                }
            }
        }
        "comment.created" => {
            let record_id = oldest_person(store)?;
            let target = CommentTarget::Record {
                object: ObjectKind::People,
                record_id,
            };
            let thread = store.start_thread(target, at);
            let author = store.admin_member_id();
            store.create_comment(thread, format!("Sandbox comment {n}"), author, actor, at);
        }
        "comment.resolved" | "comment.unresolved" => {
            let resolve = kind == "comment.resolved";
            let id = store
                .comments
                .iter()
                .rev()
                .find(|c| c.resolved.is_some() != resolve)
                .map(|c| c.id)
                .ok_or_else(|| nothing("comment"))?;
            store.set_comment_resolved(id, resolve, actor, at);
        }
        "comment.deleted" => {
            let id = store
                .comments
                .last()
                .map(|c| c.id)
                .ok_or_else(|| nothing("comment"))?;
            store.delete_comment(id, actor);
        }
        "list.created" => {
            let new = NewList {
                name: format!("Sandbox list {n}"),
                api_slug: format!("sandbox_list_{n}"),
                parent_object: ObjectKind::People,
                workspace_access: Some("full-access".to_owned()),
                member_access: Vec::new(),
            };
            store
                .create_list(new, actor, at)
                .map_err(|slug| format!("{slug} is taken"))?;
        }
        "list.updated" | "list.deleted" => {
            let id = store
                .lists
                .last()
                .map(|l| l.id)
                .ok_or_else(|| nothing("list"))?;
            if kind == "list.deleted" {
                store.delete_list(id, actor);
            } else {
                let patch = ListPatch {
                    name: Some(format!("Sandbox list {n}")),
                    ..ListPatch::default()
                };
                store.update_list(id, patch, actor)?;
            }
        }
        "list-attribute.created" | "object-attribute.created" => {
            let parent = if kind == "object-attribute.created" {
                people
            } else {
                AttributeParent::List(
                    store
                        .lists
                        .first()
                        .map(|l| l.id)
                        .ok_or_else(|| nothing("list"))?,
                )
            };
            let new = NewAttribute {
                title: format!("Sandbox {n}"),
                api_slug: format!("sandbox_{n}"),
                description: None,
                kind: "text".to_owned(),
                is_required: false,
                is_unique: false,
                is_multiselect: false,
            };
            store
                .create_attribute(parent, new, actor, at)
                .map_err(|_| "the attribute slug is taken".to_owned())?;
        }
        "list-attribute.updated" | "object-attribute.updated" => {
            let id = store
                .attributes
                .iter()
                .rev()
                .find(|a| match a.parent {
                    AttributeParent::List(_) => kind == "list-attribute.updated",
                    AttributeParent::Object(o) => {
                        kind == "object-attribute.updated" && o == ObjectKind::People
                    }
                })
                .map(|a| a.id)
                .ok_or_else(|| nothing("attribute"))?;
            let patch = AttributePatch {
                title: Some(format!("Sandbox {n}")),
                ..AttributePatch::default()
            };
            store
                .update_attribute(id, patch, actor)
                .map_err(|_| "the attribute cannot be changed".to_owned())?;
        }
        "list-entry.created" => {
            let list = store
                .lists
                .first()
                .cloned()
                .ok_or_else(|| nothing("list"))?;
            let record_id = store
                .records
                .iter()
                .find(|r| r.object == list.parent_object)
                .map(|r| r.id)
                .ok_or_else(|| nothing("record"))?;
            store.create_entry(
                list.id,
                list.parent_object,
                record_id,
                Default::default(),
                actor,
                at,
            );
        }
        "list-entry.updated" => {
            let (list_id, entry_id, attribute_id) = store
                .entries
                .iter()
                .rev()
                .find_map(|e| {
                    let first = store
                        .attributes_of(AttributeParent::List(e.list_id))
                        .first()
                        .map(|a| a.id);
                    first.map(|a| (e.list_id, e.id, a))
                })
                .ok_or_else(|| nothing("list entry"))?;
            let value = Some(json!(format!("Sandbox {n}")));
            store.update_entry(list_id, entry_id, vec![(attribute_id, value)], actor);
        }
        "list-entry.deleted" => {
            let (list_id, id) = store
                .entries
                .last()
                .map(|e| (e.list_id, e.id))
                .ok_or_else(|| nothing("list entry"))?;
            store.delete_entry(list_id, id, actor);
        }
        "call-recording.created" => {
            let meeting = store
                .meetings
                .first()
                .map(|m| m.id)
                .ok_or_else(|| nothing("meeting"))?;
            store.finish_recording(meeting, actor, at);
        }
        _ => return Err(format!("\"{name}\" cannot be triggered.")),
    }
    Ok(())
}

/// The `skip`-th newest person record.
fn newest_person(store: &WorkspaceStore, skip: usize) -> Result<Uuid, String> {
    store
        .records
        .iter()
        .rev()
        .filter(|r| r.object == ObjectKind::People)
        .nth(skip)
        .map(|r| r.id)
        .ok_or_else(|| nothing("person"))
}

fn oldest_person(store: &WorkspaceStore) -> Result<Uuid, String> {
    store
        .records
        .iter()
        .find(|r| r.object == ObjectKind::People)
        .map(|r| r.id)
        .ok_or_else(|| nothing("person"))
}
