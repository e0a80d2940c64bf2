//! One workspace's data in a snapshot: the workspace itself, members, objects, records,
//! attributes, lists, entries, notes, comments, meetings, call recordings and tasks (webhooks and
//! deliveries are in `webhooks`). Ids, names and values are kept exactly; times as RFC 3339.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::history::HistoryState;
use super::meetings::{MeetingState, RecordingState};
use super::refs::{ActorState, ObjectSlug};
use super::webhooks::{DeliveriesState, WebhookState};
use super::{Clock, Ts};
use crate::delivery::{AttemptLogs, Deliveries, PendingTarget};
use crate::store::{
    AccessLevel, Attribute, AttributeParent, Choice, Comment, CommentTarget, Entry, LinkedRecord,
    List, Member, Note, Object, ObjectKind, Record, Task, Thread, Workspace, WorkspaceStore,
};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkspaceState {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    /// Numbers the names of things the console and `trigger` create.
    pub serial: u64,
    pub members: Vec<MemberState>,
    pub objects: Vec<ObjectState>,
    pub records: Vec<RecordState>,
    pub attributes: Vec<AttributeState>,
    pub lists: Vec<ListState>,
    pub entries: Vec<EntryState>,
    pub notes: Vec<NoteState>,
    pub threads: Vec<ThreadState>,
    pub comments: Vec<CommentState>,
    pub meetings: Vec<MeetingState>,
    pub call_recordings: Vec<RecordingState>,
    pub tasks: Vec<TaskState>,
    pub webhooks: Vec<WebhookState>,
    pub deliveries: DeliveriesState,
}

#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LevelState {
    Admin,
    Member,
    Suspended,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberState {
    id: Uuid,
    first_name: String,
    last_name: String,
    email: String,
    access_level: LevelState,
    created_at: Ts,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ObjectState {
    id: Uuid,
    kind: ObjectSlug,
    api_slug: String,
    singular_noun: String,
    plural_noun: String,
    created_at: Ts,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordState {
    id: Uuid,
    object: ObjectSlug,
    name: String,
    uniques: Vec<String>,
    values: BTreeMap<Uuid, Value>,
    created_at: Ts,
    history: HistoryState,
}

#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum ParentState {
    Object(ObjectSlug),
    List(Uuid),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttributeState {
    id: Uuid,
    parent: ParentState,
    title: String,
    api_slug: String,
    description: Option<String>,
    kind: String,
    is_required: bool,
    is_unique: bool,
    is_multiselect: bool,
    is_archived: bool,
    is_system: bool,
    created_at: Ts,
    /// Select options or statuses.
    choices: Vec<ChoiceState>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChoiceState {
    id: Uuid,
    title: String,
    is_archived: bool,
    celebration_enabled: bool,
    target_time_in_status: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListState {
    id: Uuid,
    api_slug: String,
    name: String,
    parent_object: ObjectSlug,
    workspace_access: Option<String>,
    member_access: Vec<Value>,
    created_by: ActorState,
    created_at: Ts,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntryState {
    id: Uuid,
    list_id: Uuid,
    object: ObjectSlug,
    record_id: Uuid,
    values: BTreeMap<Uuid, Value>,
    created_at: Ts,
    history: HistoryState,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoteState {
    id: Uuid,
    object: ObjectSlug,
    record_id: Uuid,
    title: String,
    content: String,
    meeting_id: Option<Uuid>,
    created_by: ActorState,
    created_at: Ts,
}

#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum TargetState {
    Record { object: ObjectSlug, record_id: Uuid },
    Entry { list_id: Uuid, entry_id: Uuid },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ThreadState {
    id: Uuid,
    target: TargetState,
    created_at: Ts,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResolvedState {
    at: Ts,
    by: ActorState,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommentState {
    id: Uuid,
    thread_id: Uuid,
    content: String,
    author: Uuid,
    resolved: Option<ResolvedState>,
    created_at: Ts,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkState {
    object: ObjectSlug,
    record_id: Uuid,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaskState {
    id: Uuid,
    content: String,
    deadline_at: Option<Ts>,
    is_completed: bool,
    completed_at: Option<Ts>,
    linked_records: Vec<LinkState>,
    assignees: Vec<Uuid>,
    created_by: ActorState,
    created_at: Ts,
}

impl WorkspaceState {
    pub(super) fn from_store(store: &WorkspaceStore, clock: Clock) -> WorkspaceState {
        let WorkspaceStore {
            workspace,
            members,
            objects,
            records,
            attributes,
            lists,
            entries,
            notes,
            threads,
            comments,
            meetings,
            recordings,
            webhooks,
            delivery,
            tasks,
            serial,
        } = store;
        let Workspace { id, name, slug } = workspace;
        let live: Vec<Uuid> = webhooks.iter().map(|w| w.id).collect();
        WorkspaceState {
            id: *id,
            name: name.clone(),
            slug: slug.clone(),
            serial: *serial,
            members: members.iter().map(member_out).collect(),
            objects: objects.iter().map(object_out).collect(),
            records: records.iter().map(record_out).collect(),
            attributes: attributes.iter().map(attribute_out).collect(),
            lists: lists.iter().map(list_out).collect(),
            entries: entries.iter().map(entry_out).collect(),
            notes: notes.iter().map(note_out).collect(),
            threads: threads.iter().map(thread_out).collect(),
            comments: comments.iter().map(comment_out).collect(),
            meetings: meetings.iter().map(Into::into).collect(),
            call_recordings: recordings.iter().map(Into::into).collect(),
            tasks: tasks.iter().map(task_out).collect(),
            webhooks: webhooks.iter().map(WebhookState::from_webhook).collect(),
            deliveries: DeliveriesState::from_deliveries(delivery, &live, clock),
        }
    }

    /// The workspace as the store holds it; `at` names it in messages. `deliveries` builds the
    /// delivery bookkeeping (settings and idle signal come from the store).
    pub(super) fn into_store(
        self,
        at: &str,
        clock: Clock,
        deliveries: impl FnOnce(Vec<PendingTarget>, AttemptLogs) -> Deliveries,
    ) -> Result<WorkspaceStore, String> {
        let WorkspaceState {
            id,
            name,
            slug,
            serial,
            members,
            objects,
            records,
            attributes,
            lists,
            entries,
            notes,
            threads,
            comments,
            meetings,
            call_recordings,
            tasks,
            webhooks,
            deliveries: queued,
        } = self;
        if name.trim().is_empty() || slug.is_empty() {
            return Err(format!("{at}: name and slug must not be empty"));
        }
        for (kind, name) in [
            (ObjectKind::People, "people"),
            (ObjectKind::Companies, "companies"),
        ] {
            if objects.iter().filter(|o| o.kind == kind.into()).count() != 1 {
                return Err(format!(
                    "{at}.objects: the workspace needs exactly one \"{name}\" object"
                ));
            }
        }
        for (i, object) in objects.iter().enumerate() {
            if let ObjectKind::Custom(kind) = object.kind.into() {
                if kind != object.id {
                    return Err(format!(
                        "{at}.objects[{i}].kind: a custom object's kind is its own id"
                    ));
                }
            }
        }
        let webhooks = webhooks
            .into_iter()
            .enumerate()
            .map(|(i, w)| w.into_webhook(&format!("{at}.webhooks[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let (pending, log) = queued.into_parts(&format!("{at}.deliveries"), &webhooks, clock)?;
        Ok(WorkspaceStore {
            workspace: Workspace { id, name, slug },
            members: members.into_iter().map(member_in).collect(),
            objects: objects.into_iter().map(object_in).collect(),
            records: records.into_iter().map(record_in).collect(),
            attributes: attributes.into_iter().map(attribute_in).collect(),
            lists: lists.into_iter().map(list_in).collect(),
            entries: entries.into_iter().map(entry_in).collect(),
            notes: notes.into_iter().map(note_in).collect(),
            threads: threads.into_iter().map(thread_in).collect(),
            comments: comments.into_iter().map(comment_in).collect(),
            meetings: meetings.into_iter().map(Into::into).collect(),
            recordings: call_recordings.into_iter().map(Into::into).collect(),
            webhooks,
            delivery: deliveries(pending, log),
            tasks: tasks.into_iter().map(task_in).collect(),
            serial,
        })
    }
}

fn member_out(member: &Member) -> MemberState {
    let Member {
        id,
        first_name,
        last_name,
        email,
        access_level,
        created_at,
    } = member;
    MemberState {
        id: *id,
        first_name: first_name.clone(),
        last_name: last_name.clone(),
        email: email.clone(),
        access_level: match access_level {
            AccessLevel::Admin => LevelState::Admin,
            AccessLevel::Member => LevelState::Member,
            AccessLevel::Suspended => LevelState::Suspended,
        },
        created_at: Ts(*created_at),
    }
}

fn member_in(state: MemberState) -> Member {
    Member {
        id: state.id,
        first_name: state.first_name,
        last_name: state.last_name,
        email: state.email,
        access_level: match state.access_level {
            LevelState::Admin => AccessLevel::Admin,
            LevelState::Member => AccessLevel::Member,
            LevelState::Suspended => AccessLevel::Suspended,
        },
        created_at: state.created_at.0,
    }
}

fn object_out(object: &Object) -> ObjectState {
    let Object {
        id,
        kind,
        api_slug,
        singular_noun,
        plural_noun,
        created_at,
    } = object;
    ObjectState {
        id: *id,
        kind: (*kind).into(),
        api_slug: api_slug.clone(),
        singular_noun: singular_noun.clone(),
        plural_noun: plural_noun.clone(),
        created_at: Ts(*created_at),
    }
}

fn object_in(state: ObjectState) -> Object {
    Object {
        id: state.id,
        kind: state.kind.into(),
        api_slug: state.api_slug,
        singular_noun: state.singular_noun,
        plural_noun: state.plural_noun,
        created_at: state.created_at.0,
    }
}

fn record_out(record: &Record) -> RecordState {
    let Record {
        id,
        object,
        name,
        uniques,
        values,
        created_at,
        history,
    } = record;
    RecordState {
        id: *id,
        object: (*object).into(),
        name: name.clone(),
        uniques: uniques.clone(),
        values: values.clone(),
        created_at: Ts(*created_at),
        history: history.into(),
    }
}

fn record_in(state: RecordState) -> Record {
    Record {
        id: state.id,
        object: state.object.into(),
        name: state.name,
        uniques: state.uniques,
        values: state.values,
        created_at: state.created_at.0,
        history: state.history.into(),
    }
}

fn attribute_out(attribute: &Attribute) -> AttributeState {
    let Attribute {
        id,
        parent,
        title,
        api_slug,
        description,
        kind,
        is_required,
        is_unique,
        is_multiselect,
        is_archived,
        is_system,
        created_at,
        choices,
    } = attribute;
    AttributeState {
        id: *id,
        parent: match parent {
            AttributeParent::Object(kind) => ParentState::Object((*kind).into()),
            AttributeParent::List(id) => ParentState::List(*id),
        },
        title: title.clone(),
        api_slug: api_slug.clone(),
        description: description.clone(),
        kind: kind.clone(),
        is_required: *is_required,
        is_unique: *is_unique,
        is_multiselect: *is_multiselect,
        is_archived: *is_archived,
        is_system: *is_system,
        created_at: Ts(*created_at),
        choices: choices.iter().map(choice_out).collect(),
    }
}

fn attribute_in(state: AttributeState) -> Attribute {
    Attribute {
        id: state.id,
        parent: match state.parent {
            ParentState::Object(kind) => AttributeParent::Object(kind.into()),
            ParentState::List(id) => AttributeParent::List(id),
        },
        title: state.title,
        api_slug: state.api_slug,
        description: state.description,
        kind: state.kind,
        is_required: state.is_required,
        is_unique: state.is_unique,
        is_multiselect: state.is_multiselect,
        is_archived: state.is_archived,
        is_system: state.is_system,
        created_at: state.created_at.0,
        choices: state.choices.into_iter().map(choice_in).collect(),
    }
}

fn choice_out(choice: &Choice) -> ChoiceState {
    let Choice {
        id,
        title,
        is_archived,
        celebration_enabled,
        target_time_in_status,
    } = choice;
    ChoiceState {
        id: *id,
        title: title.clone(),
        is_archived: *is_archived,
        celebration_enabled: *celebration_enabled,
        target_time_in_status: target_time_in_status.clone(),
    }
}

fn choice_in(state: ChoiceState) -> Choice {
    Choice {
        id: state.id,
        title: state.title,
        is_archived: state.is_archived,
        celebration_enabled: state.celebration_enabled,
        target_time_in_status: state.target_time_in_status,
    }
}

fn list_out(list: &List) -> ListState {
    let List {
        id,
        api_slug,
        name,
        parent_object,
        workspace_access,
        member_access,
        created_by,
        created_at,
    } = list;
    ListState {
        id: *id,
        api_slug: api_slug.clone(),
        name: name.clone(),
        parent_object: (*parent_object).into(),
        workspace_access: workspace_access.clone(),
        member_access: member_access.clone(),
        created_by: (*created_by).into(),
        created_at: Ts(*created_at),
    }
}

fn list_in(state: ListState) -> List {
    List {
        id: state.id,
        api_slug: state.api_slug,
        name: state.name,
        parent_object: state.parent_object.into(),
        workspace_access: state.workspace_access,
        member_access: state.member_access,
        created_by: state.created_by.into(),
        created_at: state.created_at.0,
    }
}

fn entry_out(entry: &Entry) -> EntryState {
    let Entry {
        id,
        list_id,
        object,
        record_id,
        values,
        created_at,
        history,
    } = entry;
    EntryState {
        id: *id,
        list_id: *list_id,
        object: (*object).into(),
        record_id: *record_id,
        values: values.clone(),
        created_at: Ts(*created_at),
        history: history.into(),
    }
}

fn entry_in(state: EntryState) -> Entry {
    Entry {
        id: state.id,
        list_id: state.list_id,
        object: state.object.into(),
        record_id: state.record_id,
        values: state.values,
        created_at: state.created_at.0,
        history: state.history.into(),
    }
}

fn note_out(note: &Note) -> NoteState {
    let Note {
        id,
        object,
        record_id,
        title,
        content,
        meeting_id,
        created_by,
        created_at,
    } = note;
    NoteState {
        id: *id,
        object: (*object).into(),
        record_id: *record_id,
        title: title.clone(),
        content: content.clone(),
        meeting_id: *meeting_id,
        created_by: (*created_by).into(),
        created_at: Ts(*created_at),
    }
}

fn note_in(state: NoteState) -> Note {
    Note {
        id: state.id,
        object: state.object.into(),
        record_id: state.record_id,
        title: state.title,
        content: state.content,
        meeting_id: state.meeting_id,
        created_by: state.created_by.into(),
        created_at: state.created_at.0,
    }
}

fn thread_out(thread: &Thread) -> ThreadState {
    let Thread {
        id,
        target,
        created_at,
    } = thread;
    ThreadState {
        id: *id,
        target: match *target {
            CommentTarget::Record { object, record_id } => TargetState::Record {
                object: object.into(),
                record_id,
            },
            CommentTarget::Entry { list_id, entry_id } => TargetState::Entry { list_id, entry_id },
        },
        created_at: Ts(*created_at),
    }
}

fn thread_in(state: ThreadState) -> Thread {
    Thread {
        id: state.id,
        target: match state.target {
            TargetState::Record { object, record_id } => CommentTarget::Record {
                object: object.into(),
                record_id,
            },
            TargetState::Entry { list_id, entry_id } => CommentTarget::Entry { list_id, entry_id },
        },
        created_at: state.created_at.0,
    }
}

fn comment_out(comment: &Comment) -> CommentState {
    let Comment {
        id,
        thread_id,
        content,
        author,
        resolved,
        created_at,
    } = comment;
    CommentState {
        id: *id,
        thread_id: *thread_id,
        content: content.clone(),
        author: *author,
        resolved: resolved.map(|(at, by)| ResolvedState {
            at: Ts(at),
            by: by.into(),
        }),
        created_at: Ts(*created_at),
    }
}

fn comment_in(state: CommentState) -> Comment {
    Comment {
        id: state.id,
        thread_id: state.thread_id,
        content: state.content,
        author: state.author,
        resolved: state.resolved.map(|r| (r.at.0, r.by.into())),
        created_at: state.created_at.0,
    }
}

fn task_out(task: &Task) -> TaskState {
    let Task {
        id,
        content,
        deadline_at,
        is_completed,
        completed_at,
        linked_records,
        assignees,
        created_by,
        created_at,
    } = task;
    TaskState {
        id: *id,
        content: content.clone(),
        deadline_at: deadline_at.map(Ts),
        is_completed: *is_completed,
        completed_at: completed_at.map(Ts),
        linked_records: linked_records
            .iter()
            .map(|link| LinkState {
                object: link.object.into(),
                record_id: link.record_id,
            })
            .collect(),
        assignees: assignees.clone(),
        created_by: (*created_by).into(),
        created_at: Ts(*created_at),
    }
}

fn task_in(state: TaskState) -> Task {
    Task {
        id: state.id,
        content: state.content,
        deadline_at: state.deadline_at.map(|t| t.0),
        is_completed: state.is_completed,
        completed_at: state.completed_at.map(|t| t.0),
        linked_records: state
            .linked_records
            .into_iter()
            .map(|link| LinkedRecord {
                object: link.object.into(),
                record_id: link.record_id,
            })
            .collect(),
        assignees: state.assignees,
        created_by: state.created_by.into(),
        created_at: state.created_at.0,
    }
}
