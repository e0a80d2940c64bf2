//! The sandbox's whole state in one place. Every mutation is a method here, so that a later
//! event emitter (webhooks) can hook each change at a single point.

mod auth;
mod tasks;

pub(crate) use auth::{PendingAuthorization, RedeemError, TokenKind};
pub(crate) use tasks::{
    Actor, AssigneeFilter, LinkedRecord, NewTask, Task, TaskFilter, TaskPatch, TaskSort,
};

use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::seed::Seed;
use crate::OAuthApp;

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

/// A person (with an email address) or a company (with a domain).
pub(crate) struct Record {
    pub id: Uuid,
    pub object: ObjectKind,
    pub name: String,
    /// The unique attribute value: an email address for people, a domain for companies.
    pub unique_value: String,
}

pub(crate) struct Store {
    pub workspace: Workspace,
    pub members: Vec<Member>,
    pub objects: Vec<Object>,
    pub records: Vec<Record>,
    apps: Vec<OAuthApp>,
    tasks: Vec<Task>,
    auth: auth::AuthState,
    code_ttl: Duration,
}

impl Store {
    pub fn new(seed: Seed, apps: Vec<OAuthApp>, code_ttl: Duration) -> Store {
        Store {
            workspace: seed.workspace,
            members: seed.members,
            objects: seed.objects,
            records: seed.records,
            apps,
            tasks: seed.tasks,
            auth: auth::AuthState::default(),
            code_ttl,
        }
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
            .find(|r| r.object == kind && r.unique_value.eq_ignore_ascii_case(value))
    }
}
