//! The store's types for webhooks, the inbox and the activity feed.

use uuid::Uuid;

use crate::store::{EventFamily, NameMark, Names, WorkspaceId};

use crate::crypto::Sealed;

/// A workspace's webhook at Attio, with its sealed signing secret.
#[derive(Debug, Clone)]
pub struct WebhookRecord {
    pub workspace_id: WorkspaceId,
    pub webhook_id: Uuid,
    pub target_url: String,
    pub secret: Sealed,
    /// `active`, `degraded` or `inactive`, as Attio last reported it.
    pub status: String,
    pub checked_at: i64,
    pub created_at: i64,
}

/// A verified delivery, as it is written before Taskr answers 2xx.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub idempotency_key: String,
    pub webhook_id: Uuid,
    pub workspace_id: WorkspaceId,
    pub body: Vec<u8>,
    pub received_ms: i64,
}

#[derive(Debug, Clone)]
pub struct InboxRow {
    pub id: i64,
    pub idempotency_key: String,
    pub workspace_id: WorkspaceId,
    pub body: Vec<u8>,
    pub received_ms: i64,
    pub attempts: i64,
}

/// One event for the activity feed.
#[derive(Debug, Clone)]
pub struct NewActivity {
    pub inbox_id: i64,
    pub event_index: i64,
    pub event_type: String,
    pub actor_type: Option<String>,
    pub actor_id: Option<String>,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
    pub occurred_ms: i64,
    /// The event as delivered (JSON), so that its sentence can name what it refers to.
    pub event: Option<String>,
}

impl NewActivity {
    pub fn family(&self) -> EventFamily {
        EventFamily::of(&self.event_type)
    }
}

/// What the worker applies for one workspace in one transaction.
#[derive(Debug, Clone, Default)]
pub struct AppliedBatch {
    pub workspace_id: WorkspaceId,
    pub upserts: Vec<attio::Task>,
    pub deletions: Vec<Uuid>,
    pub members: Option<Vec<attio::WorkspaceMember>>,
    pub activities: Vec<NewActivity>,
    /// What the events change in the names cache, in order (after the task writes).
    pub marks: Vec<NameMark>,
    pub done: Vec<i64>,
}

/// What a full sync changed in the cache.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheDiff {
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
}

impl CacheDiff {
    pub fn is_empty(&self) -> bool {
        self.added + self.changed + self.removed == 0
    }
}

#[derive(Debug, Clone, Default)]
pub struct Backlog {
    pub waiting: u64,
    pub failing: u64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ActivityQuery {
    /// One event type (links from before the family filter).
    pub event_type: Option<String>,
    pub family: Option<EventFamily>,
    /// Events by this workspace member (the actor's id).
    pub actor: Option<Uuid>,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Debug, Clone)]
pub struct Activity {
    pub id: i64,
    pub event_type: String,
    pub actor_type: Option<String>,
    pub actor_id: Option<String>,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
    /// The cached task the event refers to, when it is a task that still exists.
    pub task: Option<attio::Task>,
    pub occurred_ms: i64,
    /// The event as delivered; `None` for entries stored before events were kept.
    pub event: Option<attio::WebhookEvent>,
}

pub struct ActivityPage {
    pub entries: Vec<Activity>,
    pub total: u64,
    /// The names the entries refer to, read with them.
    pub names: Names,
}

/// What Attio answered the last time Taskr read a workspace, when that was not a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamProblem {
    /// A 5xx answer, with its status.
    Status(u16),
    /// A 429.
    RateLimited,
    /// No answer: connection refused or dropped, or a time-out.
    Unreachable,
    /// No token of the workspace works any more; a user must reconnect.
    NoAccess,
}

impl UpstreamProblem {
    /// The stored form (`status:503`, `rate-limited`, `unreachable`, `no-access`).
    pub fn code(&self) -> String {
        match self {
            Self::Status(status) => format!("status:{status}"),
            Self::RateLimited => "rate-limited".to_owned(),
            Self::Unreachable => "unreachable".to_owned(),
            Self::NoAccess => "no-access".to_owned(),
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "rate-limited" => Some(Self::RateLimited),
            "unreachable" => Some(Self::Unreachable),
            "no-access" => Some(Self::NoAccess),
            other => other
                .strip_prefix("status:")
                .and_then(|s| s.parse().ok())
                .map(Self::Status),
        }
    }
}

/// A workspace's undelivered changes, for the staleness label.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboxHealth {
    /// Pending rows that are late (see `InboxStore::inbox_health`).
    pub waiting: u64,
    /// When the oldest of them was received (unix ms).
    pub oldest_received_ms: Option<i64>,
    /// The error that last put one of them back, if any did.
    pub last_error: Option<String>,
    /// When the first pending row that is not late yet becomes late (unix ms), if there is
    /// one: until then, and until the inbox changes, these figures stay true.
    pub next_late_ms: Option<i64>,
}
