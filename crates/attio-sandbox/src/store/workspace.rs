//! One workspace's data: members, objects, records, lists, tasks, notes, comments, meetings,
//! webhooks and their delivery queues. Nothing here can reach another workspace: a handler that
//! holds a `WorkspaceStore` sees exactly one tenant.

use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Seed;
use super::{
    AccessLevel, Actor, Attribute, CallRecording, Comment, Entry, List, Meeting, Member, Note,
    Object, ObjectKind, Record, Task, Thread, Webhook, Workspace,
};
use crate::delivery::Deliveries;
use crate::events::Event;

pub(crate) struct WorkspaceStore {
    pub workspace: Workspace,
    pub members: Vec<Member>,
    pub objects: Vec<Object>,
    pub records: Vec<Record>,
    pub attributes: Vec<Attribute>,
    pub lists: Vec<List>,
    pub entries: Vec<Entry>,
    pub notes: Vec<Note>,
    pub threads: Vec<Thread>,
    pub comments: Vec<Comment>,
    pub meetings: Vec<Meeting>,
    pub recordings: Vec<CallRecording>,
    pub webhooks: Vec<Webhook>,
    pub delivery: Deliveries,
    pub(super) tasks: Vec<Task>,
    /// Numbers the names of things the console and `trigger` create.
    pub(super) serial: u64,
}

impl WorkspaceStore {
    pub fn new(seed: Seed, delivery: Deliveries) -> WorkspaceStore {
        WorkspaceStore {
            workspace: seed.workspace,
            members: seed.members,
            objects: seed.objects,
            records: seed.records,
            attributes: seed.crm.attributes,
            lists: seed.crm.lists,
            entries: seed.crm.entries,
            notes: seed.crm.notes,
            threads: seed.crm.threads,
            comments: seed.crm.comments,
            meetings: seed.crm.meetings,
            recordings: Vec::new(),
            webhooks: Vec::new(),
            delivery,
            tasks: seed.tasks,
            serial: 0,
        }
    }

    /// A number not handed out before, for names like "Sandbox note 3".
    pub fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    /// The object's UUID, which events carry as `object_id` / `parent_object_id`.
    pub fn object_id(&self, kind: ObjectKind) -> Uuid {
        self.objects
            .iter()
            .find(|o| o.kind == kind)
            .map_or(Uuid::nil(), |o| o.id)
    }

    /// Adds a workspace member (Attio has no public endpoint for this) and emits
    /// `workspace-member.created`.
    pub fn add_member(
        &mut self,
        first_name: &str,
        last_name: &str,
        email: &str,
        access_level: AccessLevel,
        actor: Actor,
        now: OffsetDateTime,
    ) -> Result<Member, String> {
        let email = check_member(first_name, last_name, email)?;
        if self.member_by_email(email).is_some() {
            return Err(format!(
                "A workspace member with email address \"{email}\" already exists."
            ));
        }
        let member = Member {
            id: Uuid::new_v4(),
            first_name: first_name.trim().to_owned(),
            last_name: last_name.trim().to_owned(),
            email: email.to_owned(),
            access_level,
            created_at: now,
        };
        self.members.push(member.clone());
        let id = json!({ "workspace_id": self.workspace.id, "workspace_member_id": member.id });
        self.emit(Event::new("workspace-member.created", id, vec![], actor));
        Ok(member)
    }

    pub fn member(&self, id: Uuid) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    pub fn member_by_email(&self, email: &str) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.email.eq_ignore_ascii_case(email))
    }

    /// The one admin, who acts for API keys minted by the sandbox itself.
    pub fn admin_member_id(&self) -> Uuid {
        self.members
            .iter()
            .find(|m| m.access_level == AccessLevel::Admin)
            .map_or(Uuid::nil(), |m| m.id)
    }

    /// Finds an object by slug or by ID, as Attio's `target_object` and `linked_object` allow.
    pub fn object(&self, slug_or_id: &str) -> Option<&Object> {
        let id = Uuid::parse_str(slug_or_id).ok();
        self.objects
            .iter()
            .find(|o| o.api_slug == slug_or_id || Some(o.id) == id)
    }

    /// Creates a custom object; `Err` names the slug or noun another object already has
    /// (compared without case, as Attio asks for unique slugs and names).
    pub fn create_object(
        &mut self,
        api_slug: String,
        singular_noun: String,
        plural_noun: String,
        now: time::OffsetDateTime,
    ) -> Result<&Object, String> {
        if let Some(taken) = self.name_taken(
            None,
            Some(&api_slug),
            Some(&singular_noun),
            Some(&plural_noun),
        ) {
            return Err(taken);
        }
        let id = Uuid::new_v4();
        self.objects.push(Object {
            id,
            kind: ObjectKind::Custom(id),
            api_slug,
            singular_noun,
            plural_noun,
            created_at: now,
        });
        Ok(&self.objects[self.objects.len() - 1])
    }

    /// Changes an object's slug and nouns (`None` leaves one alone); `Err` names a slug or noun
    /// another object has.
    pub fn update_object(
        &mut self,
        id: Uuid,
        api_slug: Option<String>,
        singular_noun: Option<String>,
        plural_noun: Option<String>,
    ) -> Result<Option<&Object>, String> {
        if let Some(taken) = self.name_taken(
            Some(id),
            api_slug.as_deref(),
            singular_noun.as_deref(),
            plural_noun.as_deref(),
        ) {
            return Err(taken);
        }
        let Some(object) = self.objects.iter_mut().find(|o| o.id == id) else {
            return Ok(None);
        };
        if let Some(slug) = api_slug {
            object.api_slug = slug;
        }
        if let Some(noun) = singular_noun {
            object.singular_noun = noun;
        }
        if let Some(noun) = plural_noun {
            object.plural_noun = noun;
        }
        Ok(Some(object))
    }

    fn name_taken(
        &self,
        except: Option<Uuid>,
        slug: Option<&str>,
        singular: Option<&str>,
        plural: Option<&str>,
    ) -> Option<String> {
        let same = |a: &str, b: Option<&str>| b.is_some_and(|b| a.eq_ignore_ascii_case(b));
        self.objects
            .iter()
            .filter(|o| Some(o.id) != except)
            .find_map(|o| {
                if same(&o.api_slug, slug) {
                    slug.map(str::to_owned)
                } else if same(&o.singular_noun, singular) || same(&o.plural_noun, singular) {
                    singular.map(str::to_owned)
                } else if same(&o.singular_noun, plural) || same(&o.plural_noun, plural) {
                    plural.map(str::to_owned)
                } else {
                    None
                }
            })
    }

    /// The api slug of an object (empty for one that does not exist, which no caller has).
    pub fn object_slug(&self, kind: ObjectKind) -> &str {
        self.objects
            .iter()
            .find(|o| o.kind == kind)
            .map_or("", |o| o.api_slug.as_str())
    }

    pub fn record(&self, kind: ObjectKind, id: Uuid) -> Option<&Record> {
        self.records.iter().find(|r| r.object == kind && r.id == id)
    }

    pub fn record_by_unique_value(&self, kind: ObjectKind, value: &str) -> Option<&Record> {
        self.records
            .iter()
            .find(|r| r.object == kind && r.uniques.iter().any(|u| u.eq_ignore_ascii_case(value)))
    }
}

/// Checks a new member's names and email address; returns the trimmed address.
pub(crate) fn check_member<'a>(
    first_name: &str,
    last_name: &str,
    email: &'a str,
) -> Result<&'a str, String> {
    let email = email.trim();
    if first_name.trim().is_empty() || last_name.trim().is_empty() {
        return Err("first_name and last_name must not be empty.".to_owned());
    }
    let valid_email = email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if !valid_email || email.chars().any(char::is_whitespace) {
        return Err(format!("\"{email}\" is not an email address."));
    }
    Ok(email)
}
