//! The sandbox's whole state in one place: the workspaces (each a [`WorkspaceStore`]), and what
//! spans them: OAuth apps, codes and tokens (each recording its workspace). Fault rules live
//! beside it (in `Shared`): they are switches of the test harness, not state that is saved. Every
//! mutation of workspace data is a method of its `WorkspaceStore` and emits its webhook events
//! itself (through [`WorkspaceStore::emit`]), so no caller can change data without its event.

mod attributes;
mod auth;
mod calls;
mod comments;
mod contents;
mod history;
mod lists;
mod notes;
mod records;
mod snapshot;
mod tasks;
mod webhooks;
mod workspace;

/// Who made a change: defined with the events that report it.
pub(crate) use crate::events::Actor;
pub(crate) use attributes::{
    Attribute, AttributeError, AttributeParent, AttributePatch, Choice, ChoicePatch, NewAttribute,
};
pub(crate) use auth::{PendingAuthorization, RedeemError, TokenKind};
pub(crate) use calls::{
    CallRecording, ExternalRef, Meeting, NewMeeting, Participant, ParticipantStatus,
};
pub(crate) use comments::{Comment, CommentTarget, Thread};
pub(crate) use contents::{Crm, Seed};
pub(crate) use history::{ValueHistory, Written};
pub(crate) use lists::{Entry, List, ListPatch, NewList};
pub(crate) use notes::{NewNote, Note};
pub(crate) use records::RecordChanges;
pub(crate) use snapshot::Snapshot;
pub(crate) use tasks::{
    AssigneeFilter, LinkedRecord, NewTask, Task, TaskFilter, TaskPatch, TaskSort,
};
pub(crate) use webhooks::{Owner, Subscription, Webhook};
pub(crate) use workspace::{check_member, WorkspaceStore};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::delivery::{Deliveries, DeliverySettings};
use crate::OAuthApp;

pub(crate) struct Workspace {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
}

/// A workspace member's access level.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AccessLevel {
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

/// Which object a record belongs to: one of the two standard objects, or a custom object
/// (by its id) created with `POST /v2/objects`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ObjectKind {
    People,
    Companies,
    Custom(Uuid),
}

impl ObjectKind {
    /// The unique system attribute a record can be matched by instead of its id: emails for
    /// people, domains for companies; custom objects have none.
    pub fn unique_attribute(self) -> Option<(&'static str, &'static str)> {
        match self {
            ObjectKind::People => Some(("email_addresses", "email_address")),
            ObjectKind::Companies => Some(("domains", "domain")),
            ObjectKind::Custom(_) => None,
        }
    }
}

pub(crate) struct Object {
    pub id: Uuid,
    pub kind: ObjectKind,
    pub api_slug: String,
    pub singular_noun: String,
    pub plural_noun: String,
    pub created_at: time::OffsetDateTime,
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
    /// When and by whom each value was written, and the values replaced.
    pub history: ValueHistory,
}

impl Record {
    /// The stored form of an attribute's current value, as history keeps it: the name as a
    /// string, the unique values as an array of strings, any other value as stored.
    pub fn raw(&self, attribute: Uuid, name_id: Uuid, unique_id: Uuid) -> Option<Value> {
        if attribute == name_id {
            (!self.name.is_empty()).then(|| Value::String(self.name.clone()))
        } else if attribute == unique_id {
            (!self.uniques.is_empty()).then(|| serde_json::json!(self.uniques))
        } else {
            self.values.get(&attribute).cloned()
        }
    }
}

/// The position of a workspace in the store. Workspaces are never removed, so a key stays valid;
/// only the store hands keys out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct WorkspaceKey(usize);

pub(crate) struct Store {
    /// In creation order: the first is the default of every control and typed helper.
    workspaces: Vec<WorkspaceStore>,
    apps: Vec<OAuthApp>,
    auth: auth::AuthState,
    code_ttl: Duration,
    delivery: DeliverySettings,
    /// Shared by every workspace's deliveries: notified when one of them becomes idle.
    idle: Arc<Notify>,
    /// Counts replacements of the whole state (reset, restore). Delivery workers hold a
    /// workspace key, which only means something within the epoch it was handed out in.
    epoch: u64,
}

impl Store {
    /// A store holding `seeds` (at least one) in order.
    pub fn new(
        seeds: Vec<Seed>,
        apps: Vec<OAuthApp>,
        code_ttl: Duration,
        delivery: DeliverySettings,
    ) -> Store {
        let mut store = Store {
            workspaces: Vec::new(),
            apps,
            auth: auth::AuthState::default(),
            code_ttl,
            delivery,
            idle: Arc::new(Notify::new()),
            epoch: 0,
        };
        for seed in seeds {
            store.add_workspace(seed);
        }
        store
    }

    /// Adds a workspace; its id and slug must be new (the caller checks).
    pub fn add_workspace(&mut self, seed: Seed) -> WorkspaceKey {
        let deliveries = Deliveries::new(self.delivery, self.idle.clone());
        self.workspaces.push(WorkspaceStore::new(seed, deliveries));
        WorkspaceKey(self.workspaces.len() - 1)
    }

    pub fn workspaces(&self) -> &[WorkspaceStore] {
        &self.workspaces
    }

    /// Every workspace's key, in creation order.
    pub fn keys(&self) -> Vec<WorkspaceKey> {
        (0..self.workspaces.len()).map(WorkspaceKey).collect()
    }

    pub fn key(&self, workspace_id: Uuid) -> Option<WorkspaceKey> {
        self.workspaces
            .iter()
            .position(|w| w.workspace.id == workspace_id)
            .map(WorkspaceKey)
    }

    /// The first workspace ("Acme Demo" in the demo seed).
    pub fn first_key(&self) -> WorkspaceKey {
        WorkspaceKey(0)
    }

    pub fn at(&self, key: WorkspaceKey) -> &WorkspaceStore {
        &self.workspaces[key.0]
    }

    pub fn at_mut(&mut self, key: WorkspaceKey) -> &mut WorkspaceStore {
        &mut self.workspaces[key.0]
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The workspace at `key` if the state is still the one of `epoch`.
    pub fn current_mut(&mut self, key: WorkspaceKey, epoch: u64) -> Option<&mut WorkspaceStore> {
        if epoch != self.epoch {
            return None;
        }
        self.workspaces.get_mut(key.0)
    }

    pub fn first(&self) -> &WorkspaceStore {
        self.at(self.first_key())
    }

    pub fn workspace(&self, id: Uuid) -> Option<&WorkspaceStore> {
        self.key(id).map(|key| self.at(key))
    }

    pub fn slug_taken(&self, slug: &str) -> bool {
        self.workspaces.iter().any(|w| w.workspace.slug == slug)
    }

    /// No delivery queued, waiting for a retry or in flight, in any workspace.
    pub fn deliveries_idle(&self) -> bool {
        self.workspaces.iter().all(|w| w.delivery.is_idle())
    }

    pub fn idle_signal(&self) -> Arc<Notify> {
        self.idle.clone()
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
}
