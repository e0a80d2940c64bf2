//! The store's types for names: the records tasks link to, the workspace's objects, the other
//! things events are about (notes, lists, attributes, meetings, deleted tasks), and what an
//! event refers to by name. Pages resolve names from these when they are shown, so a rename
//! in Attio shows everywhere, in the feed's history too.

use std::collections::HashMap;

use attio::webhooks::WebhookEvent;
use attio::EventType;
use uuid::Uuid;

/// An Attio object as cached: the nouns its records are shown with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub object_id: Uuid,
    pub api_slug: String,
    pub singular_noun: String,
    pub plural_noun: String,
}

/// A record as cached. `name` is `None` until Attio has answered for it (or when Taskr may not
/// read it: `problem` is then `forbidden`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedRecord {
    pub record_id: Uuid,
    /// How the record's object was named where Taskr first saw it: a slug or an id.
    pub object: String,
    /// Attio's id of the object, once read.
    pub object_id: Option<Uuid>,
    pub name: Option<String>,
    /// The record's page as Attio reported it.
    pub web_url: Option<String>,
    pub deleted: bool,
    /// The record this one was merged into.
    pub merged_into: Option<Uuid>,
    /// When Attio last answered for it (unix ms).
    pub fetched_ms: Option<i64>,
    pub problem: Option<String>,
}

/// What `problem` holds when the link lacks the scope to read a thing, or Attio refused it.
pub const FORBIDDEN: &str = "forbidden";

/// The kinds of things besides records that Taskr names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NameKind {
    Note,
    List,
    /// An attribute of an object or a list; its `parent` says which (`object:<id>`, `list:<id>`).
    Attribute,
    Meeting,
    /// A deleted task's content (a cached task is named from the task cache).
    Task,
    /// The objects list itself (id `*`): wanted when an object's attributes changed.
    Objects,
}

impl NameKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NameKind::Note => "note",
            NameKind::List => "list",
            NameKind::Attribute => "attribute",
            NameKind::Meeting => "meeting",
            NameKind::Task => "task",
            NameKind::Objects => "objects",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            NameKind::Note,
            NameKind::List,
            NameKind::Attribute,
            NameKind::Meeting,
            NameKind::Task,
            NameKind::Objects,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == raw)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NameKey {
    pub kind: NameKind,
    pub id: String,
}

impl NameKey {
    pub fn new(kind: NameKind, id: impl ToString) -> Self {
        Self {
            kind,
            id: id.to_string(),
        }
    }

    /// The row that asks for the objects list.
    pub fn objects() -> Self {
        Self::new(NameKind::Objects, "*")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedName {
    pub key: NameKey,
    pub parent: Option<String>,
    pub name: Option<String>,
    pub deleted: bool,
    pub problem: Option<String>,
}

/// The names a page refers to, read with it.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub records: HashMap<Uuid, CachedRecord>,
    pub names: HashMap<NameKey, CachedName>,
}

impl Names {
    pub fn name(&self, kind: NameKind, id: impl ToString) -> Option<&CachedName> {
        self.names.get(&NameKey::new(kind, id))
    }
}

/// A thing an event refers to by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NameRef {
    Record {
        object: String,
        record: Uuid,
    },
    Name {
        key: NameKey,
        /// What an attribute belongs to (`object:<id>` or `list:<id>`), needed to read it.
        parent: Option<String>,
    },
}

/// Everything `event` refers to that a sentence about it names: its records (with their
/// object), note, list, attribute, meeting, or task.
pub fn refs_of(event: &WebhookEvent) -> Vec<NameRef> {
    use EventType::*;
    let id = &event.id;
    let record = |object: &Option<String>, record: Option<Uuid>| {
        Some(NameRef::Record {
            object: object.clone()?,
            record: record?,
        })
    };
    let name = |kind, raw: Option<String>, parent: Option<String>| {
        raw.map(|raw| NameRef::Name {
            key: NameKey::new(kind, raw),
            parent,
        })
    };
    let list = |raw: &Option<String>| name(NameKind::List, raw.clone(), None);
    let refs: Vec<Option<NameRef>> = match &event.event_type {
        TaskCreated | TaskUpdated | TaskDeleted => {
            vec![name(
                NameKind::Task,
                id.task_id.map(|t| t.to_string()),
                None,
            )]
        }
        RecordCreated | RecordUpdated | RecordDeleted => vec![record(&id.object_id, id.record_id)],
        RecordMerged => {
            // Both records are of one object; an event without `duplicate_object_id` still
            // names the duplicate's.
            let duplicate_object = event
                .duplicate_object_id
                .clone()
                .or_else(|| id.object_id.clone());
            vec![
                record(&id.object_id, id.record_id),
                record(&duplicate_object, event.duplicate_record_id),
            ]
        }
        NoteCreated | NoteUpdated | NoteContentUpdated | NoteDeleted => vec![
            name(NameKind::Note, id.note_id.map(|n| n.to_string()), None),
            record(&event.parent_object_id, event.parent_record_id),
        ],
        CommentCreated | CommentResolved | CommentUnresolved | CommentDeleted => vec![
            record(&event.object_id, event.record_id),
            list(&event.list_id),
        ],
        ListCreated | ListUpdated | ListDeleted => vec![list(&id.list_id)],
        ListEntryCreated | ListEntryUpdated | ListEntryDeleted => vec![
            list(&id.list_id),
            record(&event.parent_object_id, event.parent_record_id),
        ],
        ListAttributeCreated | ListAttributeUpdated => vec![
            name(
                NameKind::Attribute,
                id.attribute_id.clone(),
                id.list_id.as_ref().map(|l| format!("list:{l}")),
            ),
            list(&id.list_id),
        ],
        ObjectAttributeCreated | ObjectAttributeUpdated => vec![name(
            NameKind::Attribute,
            id.attribute_id.clone(),
            id.object_id.as_ref().map(|o| format!("object:{o}")),
        )],
        CallRecordingCreated => vec![name(
            NameKind::Meeting,
            id.meeting_id.map(|m| m.to_string()),
            None,
        )],
        WorkspaceMemberCreated | Unknown(_) => Vec::new(),
    };
    refs.into_iter().flatten().collect()
}

/// A change a batch of deliveries makes to the names cache, written in the batch's
/// transaction; reading what it asks for comes after (`InboxStore::inbox_apply`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NameMark {
    /// Read the record if it was never read (a placeholder row until then).
    RecordSeen {
        object: String,
        record: Uuid,
    },
    /// Read the record again (it changed).
    RecordChanged {
        object: String,
        record: Uuid,
    },
    RecordDeleted {
        object: String,
        record: Uuid,
    },
    /// `duplicate` went into `into` (of `object`): tasks linking the duplicate link the
    /// survivor instead, the duplicate keeps its row as merged, the survivor is read again.
    RecordMerged {
        object: String,
        duplicate: Uuid,
        into: Uuid,
    },
    /// Read the thing if it was never read.
    Seen {
        key: NameKey,
        parent: Option<String>,
    },
    /// Read the thing again.
    Changed {
        key: NameKey,
        parent: Option<String>,
    },
    /// Attio deleted it; its last known name stays, or becomes `name` when one is given.
    Deleted {
        key: NameKey,
        name: Option<String>,
    },
}

/// What reading a record from Attio gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordRead {
    Found {
        record: Uuid,
        object_id: Option<Uuid>,
        name: Option<String>,
        web_url: Option<String>,
    },
    /// 404: deleted in Attio.
    Gone(Uuid),
    /// Not read: `terminal` (the link may not read it) or tried again from `retry_at_ms`.
    Failed {
        record: Uuid,
        problem: String,
        terminal: bool,
        retry_at_ms: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameRead {
    Found {
        key: NameKey,
        name: String,
        parent: Option<String>,
    },
    Gone(NameKey),
    Failed {
        key: NameKey,
        problem: String,
        terminal: bool,
        retry_at_ms: i64,
    },
}

/// One pass of reads, written at once.
#[derive(Debug, Clone, Default)]
pub struct Reads {
    /// The objects list, when it was read.
    pub objects: Option<Vec<ObjectInfo>>,
    pub records: Vec<RecordRead>,
    pub names: Vec<NameRead>,
}

impl Reads {
    pub fn is_empty(&self) -> bool {
        self.objects.is_none() && self.records.is_empty() && self.names.is_empty()
    }
}

/// Whether saved reads changed what pages show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadsChanged {
    /// A record's name, deletion or object nouns (the tasks page and the feed).
    pub records: bool,
    /// Another name (the feed).
    pub names: bool,
}

/// Something the cache wants read, with how often reading it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedRecord {
    pub record: Uuid,
    pub object: String,
    pub attempts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedName {
    pub key: NameKey,
    pub parent: Option<String>,
    pub attempts: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    pub records: Vec<WantedRecord>,
    pub names: Vec<WantedName>,
}

impl Wanted {
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.names.is_empty()
    }
}

/// What the feed's family filter groups: the part of an event type before the dot, with the
/// note's content events among notes and both kinds of attribute events together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventFamily {
    Task,
    Record,
    Note,
    Comment,
    List,
    ListEntry,
    Attribute,
    Member,
    CallRecording,
    /// A type Taskr does not know.
    Other,
}

impl EventFamily {
    pub const ALL: [EventFamily; 10] = [
        EventFamily::Task,
        EventFamily::Record,
        EventFamily::Note,
        EventFamily::Comment,
        EventFamily::List,
        EventFamily::ListEntry,
        EventFamily::Attribute,
        EventFamily::Member,
        EventFamily::CallRecording,
        EventFamily::Other,
    ];

    /// The stored and URL form.
    pub fn as_str(self) -> &'static str {
        match self {
            EventFamily::Task => "task",
            EventFamily::Record => "record",
            EventFamily::Note => "note",
            EventFamily::Comment => "comment",
            EventFamily::List => "list",
            EventFamily::ListEntry => "list-entry",
            EventFamily::Attribute => "attribute",
            EventFamily::Member => "member",
            EventFamily::CallRecording => "call-recording",
            EventFamily::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            EventFamily::Task => "Tasks",
            EventFamily::Record => "Records",
            EventFamily::Note => "Notes",
            EventFamily::Comment => "Comments",
            EventFamily::List => "Lists",
            EventFamily::ListEntry => "List entries",
            EventFamily::Attribute => "Attributes",
            EventFamily::Member => "Members",
            EventFamily::CallRecording => "Call recordings",
            EventFamily::Other => "Other events",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == raw)
    }

    /// The family of an event type (as Attio names it).
    pub fn of(event_type: &str) -> Self {
        let prefix = event_type.split('.').next().unwrap_or_default();
        match prefix {
            _ if !event_type.contains('.') => EventFamily::Other,
            "task" => EventFamily::Task,
            "record" => EventFamily::Record,
            "note" | "note-content" => EventFamily::Note,
            "comment" => EventFamily::Comment,
            "list" => EventFamily::List,
            "list-entry" => EventFamily::ListEntry,
            "list-attribute" | "object-attribute" => EventFamily::Attribute,
            "workspace-member" => EventFamily::Member,
            "call-recording" => EventFamily::CallRecording,
            _ => EventFamily::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_has_a_family_and_unknown_ones_are_other() {
        for t in EventType::ALL {
            assert_ne!(EventFamily::of(t.as_str()), EventFamily::Other, "{t}");
        }
        assert_eq!(EventFamily::of("note-content.updated"), EventFamily::Note);
        assert_eq!(
            EventFamily::of("object-attribute.created"),
            EventFamily::Attribute
        );
        assert_eq!(EventFamily::of("activity.created"), EventFamily::Other);
        assert_eq!(EventFamily::of("task"), EventFamily::Other);
        for family in EventFamily::ALL {
            assert_eq!(EventFamily::parse(family.as_str()), Some(family));
        }
    }

    #[test]
    fn a_merge_refers_to_both_records_whichever_object_key_it_carries() {
        let survivor = Uuid::new_v4();
        let duplicate = Uuid::new_v4();
        let event: WebhookEvent = serde_json::from_value(serde_json::json!({
            "event_type": "record.merged",
            "id": {"workspace_id": Uuid::new_v4(), "object_id": "obj", "record_id": survivor},
            "duplicate_record_id": duplicate,
            "actor": {"type": "system", "id": null}
        }))
        .unwrap();
        assert_eq!(
            refs_of(&event),
            vec![
                NameRef::Record {
                    object: "obj".into(),
                    record: survivor
                },
                NameRef::Record {
                    object: "obj".into(),
                    record: duplicate
                },
            ],
            "without duplicate_object_id, the duplicate is of the survivor's object"
        );
    }
}
