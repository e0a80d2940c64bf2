//! The store: one API for everything Taskr keeps, so that handlers never see SQL and a second
//! backend (PostgreSQL) can be added beside SQLite without touching them. Every query of
//! user-owned data takes the owner's id.

mod sqlite;

use async_trait::async_trait;
use uuid::Uuid;

pub use sqlite::SqliteStore;

use crate::crypto::Sealed;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(pub i64);

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub username: String,
}

pub struct UserWithPassword {
    pub user: User,
    pub password_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("that username is taken")]
    UsernameTaken,
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A pending OAuth authorization: single-use, bound to the session that started it.
#[derive(Debug, Clone)]
pub struct OAuthState {
    pub state_hash: Vec<u8>,
    pub session_hash: Vec<u8>,
    pub user_id: UserId,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct WorkspaceInfo {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
}

#[derive(Debug, Clone)]
pub struct Workspace {
    pub info: WorkspaceInfo,
    pub last_synced_at: Option<i64>,
    pub sync_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    Active,
    Broken,
}

/// A user's link to an Attio workspace. The token stays sealed here; `attio_link::open_token`
/// opens it where a call needs it.
#[derive(Debug, Clone)]
pub struct Link {
    pub user_id: UserId,
    pub workspace_id: Uuid,
    pub member_id: Option<Uuid>,
    pub scopes: String,
    pub token: Sealed,
    pub status: LinkStatus,
    pub broken_reason: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskFilter {
    #[default]
    All,
    AssignedTo(Uuid),
    Open,
    Completed,
}

#[derive(Debug, Clone)]
pub struct TaskQuery {
    pub filter: TaskFilter,
    pub limit: u32,
    pub offset: u32,
}

pub struct TaskList {
    pub tasks: Vec<attio::Task>,
    pub total: u64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn create_user(
        &self,
        username: &str,
        username_key: &str,
        password_hash: &str,
        now: i64,
    ) -> StoreResult<User>;
    async fn user_by_username_key(&self, key: &str) -> StoreResult<Option<UserWithPassword>>;

    async fn create_session(
        &self,
        id_hash: &[u8],
        user: UserId,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()>;
    async fn session_user(&self, id_hash: &[u8], now: i64) -> StoreResult<Option<User>>;
    async fn delete_session(&self, id_hash: &[u8]) -> StoreResult<()>;

    async fn put_oauth_state(&self, state: &OAuthState) -> StoreResult<()>;
    /// Removes and returns the state, so that it can be used once only.
    async fn take_oauth_state(&self, state_hash: &[u8]) -> StoreResult<Option<OAuthState>>;

    /// Deletes expired sessions and OAuth states; returns how many rows went.
    async fn purge_expired(&self, now: i64) -> StoreResult<u64>;

    /// Records the workspace and replaces the user's link in one transaction.
    async fn save_link(&self, workspace: &WorkspaceInfo, link: &Link) -> StoreResult<()>;
    async fn link(&self, user: UserId) -> StoreResult<Option<Link>>;
    async fn mark_link_broken(&self, user: UserId, reason: &str) -> StoreResult<()>;
    /// Deletes the user's link; when it was the workspace's last, the workspace's cache goes too.
    async fn delete_link(&self, user: UserId) -> StoreResult<Option<Link>>;

    async fn workspace_for_user(&self, user: UserId) -> StoreResult<Option<Workspace>>;
    /// Replaces the workspace's cached members and tasks with a fresh full copy.
    async fn replace_workspace_cache(
        &self,
        workspace: Uuid,
        members: &[attio::WorkspaceMember],
        tasks: &[attio::Task],
        now: i64,
    ) -> StoreResult<()>;
    async fn record_sync_error(&self, workspace: Uuid, error: &str) -> StoreResult<()>;

    /// Tasks of the workspace the user is linked to; empty when the user has no link.
    async fn tasks_for_user(&self, user: UserId, query: &TaskQuery) -> StoreResult<TaskList>;
    async fn members_for_user(&self, user: UserId) -> StoreResult<Vec<attio::WorkspaceMember>>;
}
