//! What the activity feed says: one sentence per event, for each of Attio's 27 event types and
//! a fallback for types Taskr does not know, naming the actor and what the event is about
//! ("Alice Moreau commented on Initech", "Alice Moreau created note “Kick-off” on Lucas
//! Ferreira"). Names come from the cache when the feed is shown (`store::Names`), so a
//! rename in Attio shows in old entries too; what Taskr cannot name (not read yet, deleted
//! before it was read, or a scope the link lacks) is said generically ("a note").
//!
//! A sentence is a list of parts, text and records (which the page links into Attio), never
//! HTML: the template escapes every part.

use std::collections::HashMap;

use attio::webhooks::WebhookEvent;
use attio::EventType;
use uuid::Uuid;

use crate::naming::{short, Naming, RecordView};
use crate::store::{Activity, CachedName, NameKind, Names};

/// A piece of a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Record {
        view: RecordView,
        /// With its noun ("Initech · Company") or just its name ("Initech").
        with_noun: bool,
        /// Whether to say it is deleted or merged (not when that is what the sentence says).
        with_note: bool,
    },
}

impl Part {
    /// The part's words, as the page shows them.
    pub fn text(&self) -> String {
        match self {
            Part::Text(text) => text.clone(),
            Part::Record {
                view,
                with_noun,
                with_note,
            } => {
                let label = if *with_noun {
                    view.label()
                } else {
                    view.short_label()
                };
                match view.note().filter(|_| *with_note) {
                    Some(note) => format!("{label} {note}"),
                    None => label,
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sentence(pub Vec<Part>);

impl Sentence {
    /// The whole sentence as plain text.
    pub fn text(&self) -> String {
        self.0.iter().map(Part::text).collect()
    }

    fn say(mut self, text: impl Into<String>) -> Self {
        let text = text.into();
        match self.0.last_mut() {
            Some(Part::Text(last)) => last.push_str(&text),
            _ => self.0.push(Part::Text(text)),
        }
        self
    }

    fn record(mut self, view: RecordView, with_noun: bool, with_note: bool) -> Self {
        self.0.push(Part::Record {
            view,
            with_noun,
            with_note,
        });
        self
    }
}

/// What a sentence is built from besides the entry.
pub struct Context<'a> {
    pub members: &'a HashMap<Uuid, String>,
    pub names: &'a Names,
    pub naming: &'a Naming<'a>,
}

/// Who did it: a member by name, or what kind of actor it was.
pub fn actor(entry: &Activity, members: &HashMap<Uuid, String>) -> String {
    match (entry.actor_type.as_deref(), entry.actor_id.as_deref()) {
        (Some("workspace-member"), Some(id)) => id
            .parse::<Uuid>()
            .ok()
            .and_then(|id| members.get(&id).cloned())
            .unwrap_or_else(|| format!("Member {}", short(id))),
        (Some("api-token"), _) => "An API token".to_owned(),
        (Some("app"), _) => "An app".to_owned(),
        (Some("system"), _) => "Attio".to_owned(),
        _ => "Someone".to_owned(),
    }
}

/// “Kick-off”, with “(deleted)” when Attio deleted it and this is not the sentence saying so.
fn quoted(name: &CachedName, deleting: bool) -> Option<String> {
    let text = name.name.as_deref().filter(|n| !n.trim().is_empty())?;
    Some(if name.deleted && !deleting {
        format!("“{text}” (deleted)")
    } else {
        format!("“{text}”")
    })
}

/// The sentence for one feed entry.
pub fn sentence(entry: &Activity, cx: &Context<'_>) -> Sentence {
    let who = actor(entry, cx.members);
    let Some(event) = &entry.event else {
        return Sentence::default().say(format!(
            "{who} sent “{}”, an event Taskr cannot read",
            entry.event_type
        ));
    };
    Words { entry, event, cx }.sentence(who)
}

struct Words<'a> {
    entry: &'a Activity,
    event: &'a WebhookEvent,
    cx: &'a Context<'a>,
}

impl Words<'_> {
    fn record(&self, object: Option<&String>, id: Option<Uuid>) -> Option<RecordView> {
        let (object, id) = (object?, id?);
        Some(
            self.cx
                .naming
                .record(object, id, self.cx.names.records.get(&id)),
        )
    }

    fn name(&self, kind: NameKind, id: Option<String>) -> Option<&CachedName> {
        self.cx.names.name(kind, id?)
    }

    /// `note “Title”`; `a note` when the name is unknown, `a note (deleted)` when all Taskr
    /// knows is that Attio deleted it.
    fn thing(&self, kind: NameKind, id: Option<String>, deleting: bool, what: &str) -> String {
        let cached = self.name(kind, id);
        if let Some(name) = cached.and_then(|n| quoted(n, deleting)) {
            return format!("{what} {name}");
        }
        let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        if cached.is_some_and(|n| n.deleted) && !deleting {
            format!("{article} {what} (deleted)")
        } else {
            format!("{article} {what}")
        }
    }

    fn task(&self, deleting: bool) -> String {
        let id = self.event.id.task_id;
        let content = self
            .entry
            .task
            .as_ref()
            .map(|t| format!("“{}”", t.content_plaintext))
            .or_else(|| {
                self.name(NameKind::Task, id.map(|t| t.to_string()))
                    .and_then(|n| quoted(n, deleting))
            });
        match content {
            Some(content) => format!("task {content}"),
            None => "a task".to_owned(),
        }
    }

    fn list(&self, id: Option<&String>) -> String {
        self.thing(NameKind::List, id.cloned(), false, "list")
    }

    fn sentence(&self, who: String) -> Sentence {
        use EventType::*;
        let event = self.event;
        let id = &event.id;
        let s = Sentence::default();
        let note = |deleting| {
            self.thing(
                NameKind::Note,
                id.note_id.map(|n| n.to_string()),
                deleting,
                "note",
            )
        };
        let attribute = || {
            self.thing(
                NameKind::Attribute,
                id.attribute_id.clone(),
                false,
                "attribute",
            )
        };
        // A sentence that ends with a record (" on Initech"), or without one when the event
        // names none.
        let ending = |s: Sentence, words: &str, record: Option<RecordView>| match record {
            Some(view) => s.say(words).record(view, false, true),
            None => s,
        };
        let parent = || self.record(event.parent_object_id.as_ref(), event.parent_record_id);
        let subject = || self.record(id.object_id.as_ref(), id.record_id);
        let full = |s: Sentence, verb: &str, record: Option<RecordView>, note: bool| match record {
            Some(view) => s.say(format!("{who} {verb} ")).record(view, true, note),
            None => s.say(format!("{who} {verb} a record")),
        };
        match &event.event_type {
            TaskCreated => s.say(format!("{who} created {}", self.task(false))),
            TaskUpdated => s.say(format!("{who} updated {}", self.task(false))),
            TaskDeleted => s.say(format!("{who} deleted {}", self.task(true))),
            WorkspaceMemberCreated => {
                let member = id
                    .workspace_member_id
                    .and_then(|m| self.cx.members.get(&m).cloned())
                    .unwrap_or_else(|| "a member".to_owned());
                s.say(format!("{who} added {member} to the workspace"))
            }
            RecordCreated => full(s, "created", subject(), true),
            RecordUpdated => full(s, "updated", subject(), true),
            RecordDeleted => full(s, "deleted", subject(), false),
            RecordMerged => {
                let object = event.duplicate_object_id.as_ref().or(id.object_id.as_ref());
                let duplicate = self.record(object, event.duplicate_record_id);
                let s = full(s, "merged", duplicate, false);
                match subject() {
                    Some(view) => s.say(" into ").record(view, true, true),
                    None => s,
                }
            }
            NoteCreated => ending(
                s.say(format!("{who} created {}", note(false))),
                " on ",
                parent(),
            ),
            NoteUpdated => ending(
                s.say(format!("{who} retitled {}", note(false))),
                " on ",
                parent(),
            ),
            NoteContentUpdated => ending(
                s.say(format!("{who} edited {}", note(false))),
                " on ",
                parent(),
            ),
            NoteDeleted => ending(
                s.say(format!("{who} deleted {}", note(true))),
                " from ",
                parent(),
            ),
            CommentCreated | CommentResolved | CommentUnresolved | CommentDeleted => {
                let verb = match &event.event_type {
                    CommentCreated => "commented",
                    CommentResolved => "resolved a comment",
                    CommentUnresolved => "reopened a comment",
                    _ => "deleted a comment",
                };
                let s = s.say(format!("{who} {verb} on "));
                let s = match self.record(event.object_id.as_ref(), event.record_id) {
                    Some(view) => s.record(view, false, true),
                    None => s.say("a record"),
                };
                match &event.list_id {
                    Some(list) => s.say(format!(" in {}", self.list(Some(list)))),
                    None => s,
                }
            }
            ListCreated => s.say(format!("{who} created {}", self.list(id.list_id.as_ref()))),
            ListUpdated => s.say(format!("{who} updated {}", self.list(id.list_id.as_ref()))),
            ListDeleted => s.say(format!(
                "{who} deleted {}",
                self.thing(NameKind::List, id.list_id.clone(), true, "list")
            )),
            ListAttributeCreated => s.say(format!(
                "{who} added {} to {}",
                attribute(),
                self.list(id.list_id.as_ref())
            )),
            ListAttributeUpdated => s.say(format!(
                "{who} updated {} of {}",
                attribute(),
                self.list(id.list_id.as_ref())
            )),
            ListEntryCreated | ListEntryUpdated | ListEntryDeleted => {
                let (verb, preposition) = match &event.event_type {
                    ListEntryCreated => ("added", "to"),
                    ListEntryUpdated => ("updated", "in"),
                    _ => ("removed", "from"),
                };
                let s = s.say(format!("{who} {verb} "));
                let s = match parent() {
                    Some(view) => s.record(view, false, true),
                    None => s.say("an entry"),
                };
                s.say(format!(" {preposition} {}", self.list(id.list_id.as_ref())))
            }
            ObjectAttributeCreated | ObjectAttributeUpdated => {
                let object = id
                    .object_id
                    .as_deref()
                    .and_then(|o| self.cx.naming.plural(o))
                    .unwrap_or_else(|| "an object".to_owned());
                let (verb, preposition) = match &event.event_type {
                    ObjectAttributeCreated => ("added", "to"),
                    _ => ("updated", "of"),
                };
                s.say(format!(
                    "{who} {verb} {} {preposition} {object}",
                    attribute()
                ))
            }
            CallRecordingCreated => {
                match self
                    .name(NameKind::Meeting, id.meeting_id.map(|m| m.to_string()))
                    .and_then(|n| quoted(n, false))
                {
                    Some(meeting) => s.say(format!("Call recording of {meeting} is ready")),
                    None => s.say("A call recording is ready"),
                }
            }
            Unknown(name) => s.say(format!(
                "{who} sent “{name}”, an event Taskr does not know yet"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::Objects;
    use crate::store::{CachedRecord, NameKey, ObjectInfo};

    const ALICE: Uuid = Uuid::from_u128(0xa11ce);
    const LUCAS: Uuid = Uuid::from_u128(1);
    const INITECH: Uuid = Uuid::from_u128(2);
    const LUCAS_OLD: Uuid = Uuid::from_u128(3);
    const PEOPLE: Uuid = Uuid::from_u128(10);
    const COMPANIES: Uuid = Uuid::from_u128(11);
    const DEALS: Uuid = Uuid::from_u128(12);
    const NOTE: Uuid = Uuid::from_u128(20);
    const LIST: Uuid = Uuid::from_u128(21);
    const MEETING: Uuid = Uuid::from_u128(22);
    const TASK: Uuid = Uuid::from_u128(23);
    const SAM: Uuid = Uuid::from_u128(24);

    fn record(id: Uuid, object: Uuid, name: &str) -> (Uuid, CachedRecord) {
        (
            id,
            CachedRecord {
                record_id: id,
                object: object.to_string(),
                object_id: Some(object),
                name: Some(name.to_owned()),
                web_url: None,
                deleted: false,
                merged_into: None,
                fetched_ms: Some(1),
                problem: None,
            },
        )
    }

    fn name(kind: NameKind, id: impl ToString, text: &str) -> (NameKey, CachedName) {
        let key = NameKey::new(kind, id);
        (
            key.clone(),
            CachedName {
                key,
                parent: None,
                name: Some(text.to_owned()),
                deleted: false,
                problem: None,
            },
        )
    }

    fn names() -> Names {
        Names {
            records: HashMap::from([
                record(LUCAS, PEOPLE, "Lucas Ferreira"),
                record(INITECH, COMPANIES, "Initech"),
                record(LUCAS_OLD, PEOPLE, "Lucas F."),
            ]),
            names: HashMap::from([
                name(NameKind::Note, NOTE, "Kick-off"),
                name(NameKind::List, LIST, "Q3 pipeline"),
                name(NameKind::Attribute, "stage", "Stage"),
                name(NameKind::Meeting, MEETING, "Weekly sync"),
                name(NameKind::Task, TASK, "Call Lucas"),
            ]),
        }
    }

    fn objects() -> Objects {
        let object = |id, slug: &str, one: &str, many: &str| ObjectInfo {
            object_id: id,
            api_slug: slug.into(),
            singular_noun: one.into(),
            plural_noun: many.into(),
        };
        Objects::new(vec![
            object(PEOPLE, "people", "Person", "People"),
            object(COMPANIES, "companies", "Company", "Companies"),
            object(DEALS, "deals", "Deal", "Deals"),
        ])
    }

    /// The event every type is given: each type reads the keys it has.
    fn entry(event_type: &str, actor: serde_json::Value) -> Activity {
        let event: WebhookEvent = serde_json::from_value(serde_json::json!({
            "event_type": event_type,
            "id": {
                "workspace_id": Uuid::nil(), "task_id": TASK, "workspace_member_id": SAM,
                "object_id": if event_type.starts_with("object-attribute") { DEALS } else { PEOPLE },
                "record_id": LUCAS, "attribute_id": "stage", "list_id": LIST,
                "entry_id": Uuid::from_u128(30), "note_id": NOTE, "comment_id": Uuid::from_u128(31),
                "meeting_id": MEETING, "call_recording_id": Uuid::from_u128(32),
            },
            "actor": actor,
            "parent_object_id": PEOPLE, "parent_record_id": LUCAS,
            "duplicate_object_id": PEOPLE, "duplicate_record_id": LUCAS_OLD,
            "thread_id": Uuid::from_u128(33), "object_id": COMPANIES, "record_id": INITECH,
            "list_id": if event_type == "comment.created" { Some(LIST) } else { None },
        }))
        .unwrap();
        Activity {
            id: 1,
            event_type: event_type.to_owned(),
            actor_type: event.actor.kind.clone(),
            actor_id: event.actor.id.clone(),
            subject_kind: None,
            subject_id: None,
            task: None,
            occurred_ms: 0,
            event: Some(event),
        }
    }

    fn say(entry: &Activity, names: &Names) -> String {
        let app = url::Url::parse("https://app.attio.com").unwrap();
        let objects = objects();
        let naming = Naming {
            app_url: &app,
            workspace_slug: "acme",
            objects: &objects,
        };
        let members = HashMap::from([
            (ALICE, "Alice Moreau".to_owned()),
            (SAM, "Sam Sandbox1".to_owned()),
        ]);
        sentence(
            entry,
            &Context {
                members: &members,
                names,
                naming: &naming,
            },
        )
        .text()
    }

    #[test]
    fn each_of_the_27_event_types_has_its_own_sentence() {
        let alice = serde_json::json!({"type": "workspace-member", "id": ALICE});
        let expected = [
            (
                "call-recording.created",
                "Call recording of “Weekly sync” is ready",
            ),
            (
                "comment.created",
                "Alice Moreau commented on Initech in list “Q3 pipeline”",
            ),
            (
                "comment.resolved",
                "Alice Moreau resolved a comment on Initech",
            ),
            (
                "comment.unresolved",
                "Alice Moreau reopened a comment on Initech",
            ),
            (
                "comment.deleted",
                "Alice Moreau deleted a comment on Initech",
            ),
            ("list.created", "Alice Moreau created list “Q3 pipeline”"),
            ("list.updated", "Alice Moreau updated list “Q3 pipeline”"),
            ("list.deleted", "Alice Moreau deleted list “Q3 pipeline”"),
            (
                "list-attribute.created",
                "Alice Moreau added attribute “Stage” to list “Q3 pipeline”",
            ),
            (
                "list-attribute.updated",
                "Alice Moreau updated attribute “Stage” of list “Q3 pipeline”",
            ),
            (
                "list-entry.created",
                "Alice Moreau added Lucas Ferreira to list “Q3 pipeline”",
            ),
            (
                "list-entry.updated",
                "Alice Moreau updated Lucas Ferreira in list “Q3 pipeline”",
            ),
            (
                "list-entry.deleted",
                "Alice Moreau removed Lucas Ferreira from list “Q3 pipeline”",
            ),
            (
                "object-attribute.created",
                "Alice Moreau added attribute “Stage” to Deals",
            ),
            (
                "object-attribute.updated",
                "Alice Moreau updated attribute “Stage” of Deals",
            ),
            (
                "note.created",
                "Alice Moreau created note “Kick-off” on Lucas Ferreira",
            ),
            (
                "note-content.updated",
                "Alice Moreau edited note “Kick-off” on Lucas Ferreira",
            ),
            (
                "note.updated",
                "Alice Moreau retitled note “Kick-off” on Lucas Ferreira",
            ),
            (
                "note.deleted",
                "Alice Moreau deleted note “Kick-off” from Lucas Ferreira",
            ),
            (
                "record.created",
                "Alice Moreau created Lucas Ferreira · Person",
            ),
            (
                "record.merged",
                "Alice Moreau merged Lucas F. · Person into Lucas Ferreira · Person",
            ),
            (
                "record.updated",
                "Alice Moreau updated Lucas Ferreira · Person",
            ),
            (
                "record.deleted",
                "Alice Moreau deleted Lucas Ferreira · Person",
            ),
            ("task.created", "Alice Moreau created task “Call Lucas”"),
            ("task.updated", "Alice Moreau updated task “Call Lucas”"),
            ("task.deleted", "Alice Moreau deleted task “Call Lucas”"),
            (
                "workspace-member.created",
                "Alice Moreau added Sam Sandbox1 to the workspace",
            ),
        ];
        assert_eq!(expected.len(), 27);
        for (t, _) in &expected {
            assert!(EventType::parse(t).is_known(), "{t}");
        }
        let names = names();
        for (event_type, sentence) in expected {
            assert_eq!(
                say(&entry(event_type, alice.clone()), &names),
                sentence,
                "{event_type}"
            );
        }
        assert_eq!(
            say(&entry("activity.created", alice), &names),
            "Alice Moreau sent “activity.created”, an event Taskr does not know yet"
        );
    }

    #[test]
    fn what_taskr_cannot_name_is_said_generically() {
        let system = serde_json::json!({"type": "system", "id": null});
        let nothing = Names::default();
        let cases = [
            ("note.created", "Attio created a note on Person 00000000"),
            ("list.deleted", "Attio deleted a list"),
            (
                "list-attribute.created",
                "Attio added an attribute to a list",
            ),
            (
                "object-attribute.created",
                "Attio added an attribute to Deals",
            ),
            ("call-recording.created", "A call recording is ready"),
            ("task.deleted", "Attio deleted a task"),
            (
                "comment.created",
                "Attio commented on Company 00000000 in a list",
            ),
        ];
        for (event_type, sentence) in cases {
            assert_eq!(
                say(&entry(event_type, system.clone()), &nothing),
                sentence,
                "{event_type}"
            );
        }
    }

    #[test]
    fn a_thing_deleted_before_taskr_could_name_it_is_said_to_be_deleted() {
        let mut names = Names::default();
        let (key, mut note) = name(NameKind::Note, NOTE, "unused");
        note.name = None;
        note.deleted = true;
        names.names.insert(key, note);
        let system = serde_json::json!({"type": "system", "id": null});
        assert_eq!(
            say(&entry("note.created", system.clone()), &names),
            "Attio created a note (deleted) on Person 00000000"
        );
        assert_eq!(
            say(&entry("note.deleted", system), &names),
            "Attio deleted a note from Person 00000000"
        );
    }

    #[test]
    fn actors_are_named_and_deleted_things_say_so() {
        let mut names = names();
        names.records.get_mut(&INITECH).unwrap().deleted = true;
        names
            .names
            .get_mut(&NameKey::new(NameKind::List, LIST))
            .unwrap()
            .deleted = true;
        let token = serde_json::json!({"type": "api-token", "id": Uuid::nil()});
        assert_eq!(
            say(&entry("comment.created", token), &names),
            "An API token commented on Initech (deleted in Attio) in list “Q3 pipeline” (deleted)"
        );
        let app = serde_json::json!({"type": "app", "id": null});
        assert_eq!(
            say(&entry("list.deleted", app), &names),
            "An app deleted list “Q3 pipeline”",
            "the deleting event itself does not add “(deleted)”"
        );
        let stranger = serde_json::json!({"type": "workspace-member", "id": Uuid::from_u128(99)});
        assert_eq!(
            say(&entry("list.created", stranger), &names),
            "Member 00000000 created list “Q3 pipeline” (deleted)"
        );
    }
}
