//! The sandbox's whole state in one place. Every mutation is a method here and emits its webhook
//! events itself (through [`Store::emit`]), so no caller can change data without its event.

mod attributes;
mod auth;
mod calls;
mod comments;
mod lists;
mod notes;
mod records;
mod tasks;
mod webhooks;

pub(crate) use attributes::{
    Attribute, AttributeError, AttributeParent, AttributePatch, NewAttribute,
};
pub(crate) use auth::{PendingAuthorization, RedeemError, TokenKind};
pub(crate) use calls::{CallRecording, Meeting};
pub(crate) use comments::{Comment, CommentTarget, Thread};
pub(crate) use lists::{Entry, List, ListPatch, NewList};
pub(crate) use notes::{NewNote, Note};
pub(crate) use records::RecordChanges;
pub(crate) use tasks::{
    AssigneeFilter, LinkedRecord, NewTask, Task, TaskFilter, TaskPatch, TaskSort,
};
pub(crate) use webhooks::{Owner, Subscription, Webhook};

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::delivery::{Deliveries, DeliverySettings};
use crate::events::Event;
use crate::faults::Faults;
use crate::seed::Seed;
use crate::OAuthApp;

/// Who made a change, as Attio's `created_by_actor` and webhook `actor` report it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Actor {
    WorkspaceMember(Uuid),
    ApiToken(Uuid),
    System,
}

impl Actor {
    pub fn type_and_id(self) -> (&'static str, Option<Uuid>) {
        match self {
            Actor::WorkspaceMember(id) => ("workspace-member", Some(id)),
            Actor::ApiToken(id) => ("api-token", Some(id)),
            Actor::System => ("system", None),
        }
    }

    /// `{"type": ..., "id": ...}`; the id of `system` is `null`.
    pub fn event_json(self) -> Value {
        let (kind, id) = self.type_and_id();
        json!({ "type": kind, "id": id })
    }
}

pub(crate) struct Workspace {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccessLevel {
    Admin,
    Member,
    Suspended,
}

impl AccessLevel {
    pub fn parse(value: &str) -> Option<AccessLevel> {
        [
            AccessLevel::Admin,
            AccessLevel::Member,
            AccessLevel::Suspended,
        ]
        .into_iter()
        .find(|level| level.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::Admin => "admin",
            AccessLevel::Member => "member",
            AccessLevel::Suspended => "suspended",
        }
    }
}

#[derive(Clone)]
pub(crate) struct Member {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub access_level: AccessLevel,
    pub created_at: OffsetDateTime,
}

/// The two standard objects tasks can link to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ObjectKind {
    People,
    Companies,
}

impl ObjectKind {
    pub fn slug(self) -> &'static str {
        match self {
            ObjectKind::People => "people",
            ObjectKind::Companies => "companies",
        }
    }

    /// The unique attribute a linked record can be matched by instead of its id.
    pub fn unique_attribute(self) -> (&'static str, &'static str) {
        match self {
            ObjectKind::People => ("email_addresses", "email_address"),
            ObjectKind::Companies => ("domains", "domain"),
        }
    }
}

pub(crate) struct Object {
    pub id: Uuid,
    pub kind: ObjectKind,
}

/// A person or a company. `name` and `uniques` back the system attributes (`name`, and
/// `email_addresses` or `domains`); every other attribute's value is in `values`.
#[derive(Clone)]
pub(crate) struct Record {
    pub id: Uuid,
    pub object: ObjectKind,
    pub name: String,
    /// The unique attribute's values: email addresses for people, domains for companies.
    pub uniques: Vec<String>,
    /// Other attribute values by attribute id.
    pub values: BTreeMap<Uuid, Value>,
    pub created_at: OffsetDateTime,
}

pub(crate) struct Store {
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
    pub faults: Faults,
    apps: Vec<OAuthApp>,
    tasks: Vec<Task>,
    auth: auth::AuthState,
    code_ttl: Duration,
    /// Numbers the names of things the console and `trigger` create.
    serial: u64,
}

impl Store {
    pub fn new(
        seed: Seed,
        apps: Vec<OAuthApp>,
        code_ttl: Duration,
        delivery: DeliverySettings,
    ) -> Store {
        Store {
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
            delivery: Deliveries::new(delivery),
            faults: Faults::default(),
            apps,
            tasks: seed.tasks,
            auth: auth::AuthState::default(),
            code_ttl,
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

    pub fn app(&self, client_id: &str) -> Option<&OAuthApp> {
        self.apps.iter().find(|app| app.client_id == client_id)
    }

    /// Changes the scopes that tokens issued from now on carry; existing tokens keep theirs.
    pub fn set_app_scopes(&mut self, client_id: &str, scopes: Vec<String>) {
        if let Some(app) = self.apps.iter_mut().find(|app| app.client_id == client_id) {
            app.scopes = scopes;
        }
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
            .find(|o| o.kind.slug() == slug_or_id || Some(o.id) == id)
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
