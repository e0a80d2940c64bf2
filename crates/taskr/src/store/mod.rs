//! The store: one API for everything Taskr keeps, so that handlers never see SQL and a second
//! backend (PostgreSQL) can be added beside SQLite without touching them. Every query of
//! user-owned data takes the owner's id.
//!
//! The API is split by concern into nine traits; `Store` is all of them. Callers import
//! `crate::store::prelude::*` to call any of it.

mod accounts_sql;
mod cache_sql;
mod connection_types;
mod database_url;
mod ids;
mod leases_sql;
mod links_sql;
mod names_types;
mod ops_sql;
mod postgres;
mod records_sql;
mod rows;
mod sqlite;
mod sync_types;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

/// Re-exported: the store's rotation code and the connections service name them from here.
pub use crate::crypto::contexts;
pub use connection_types::*;
pub use database_url::{Backend, DatabaseUrl};
pub use ids::*;
pub use names_types::*;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use sync_types::*;

/// Opens the store the URL names and brings its schema up to date (migrations are embedded
/// per backend). Start-up steps that only make sense for one backend stay with the caller,
/// which asks `url.backend()`.
pub async fn connect(url: &DatabaseUrl) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match url.backend() {
        Backend::Sqlite => Arc::new(SqliteStore::connect(url).await?),
        Backend::Postgres => Arc::new(PostgresStore::connect(url).await?),
    })
}

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
    /// The IANA time zone the user's pages show times in; `None`: not chosen (UTC, or the
    /// browser's zone once its script has reported it).
    pub time_zone: Option<String>,
}

/// A live session: whose it is and when it ends (unix seconds).
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub expires_at: i64,
}

pub struct UserWithPassword {
    pub user: User,
    pub password_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("that username is taken")]
    UsernameTaken,
    #[error("that username looks like an existing one")]
    UsernameLookalike,
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
    pub id: WorkspaceId,
    pub name: String,
    pub slug: String,
}

#[derive(Debug, Clone)]
pub struct Workspace {
    pub info: WorkspaceInfo,
    pub last_synced_at: Option<i64>,
    pub sync_error: Option<String>,
    /// Why live updates are off, when they are.
    pub webhook_note: Option<String>,
    /// What Attio answered Taskr's last read of the workspace, when it was not a success.
    pub upstream_problem: Option<UpstreamProblem>,
    /// Since when (unix ms) Attio has been answering with problems, without a success between.
    pub upstream_problem_since_ms: Option<i64>,
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
    pub workspace_id: WorkspaceId,
    pub member_id: Option<Uuid>,
    pub scopes: String,
    pub token: Sealed,
    pub status: LinkStatus,
    pub broken_reason: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TaskFilter {
    #[default]
    All,
    AssignedTo(Uuid),
    Open,
    Completed,
}

/// The order of a page of tasks; open tasks always come before completed ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TaskSort {
    /// Oldest first: Attio's own order.
    #[default]
    Created,
    Newest,
    /// Soonest deadline first; tasks without one last.
    Deadline,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskQuery {
    pub filter: TaskFilter,
    /// Words the task's content must contain (any case).
    pub search: Option<String>,
    pub sort: TaskSort,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Default)]
pub struct TaskList {
    pub tasks: Vec<attio::Task>,
    pub total: u64,
    /// The cached records the page's tasks link, by record id (read with the page).
    pub records: std::collections::HashMap<Uuid, CachedRecord>,
}

/// Users, sessions and pending OAuth states.
#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn create_user(
        &self,
        username: &str,
        username_key: &str,
        username_skeleton: &str,
        password_hash: &str,
        now: i64,
    ) -> StoreResult<User>;
    /// Whether a user has this key or this confusable skeleton.
    async fn username_in_use(&self, key: &str, skeleton: &str) -> StoreResult<bool>;
    /// Users created before usernames had skeletons.
    async fn users_without_skeleton(&self) -> StoreResult<Vec<User>>;
    /// Sets a user's key and skeleton; false when another user already has either.
    async fn set_username_keys(&self, user: UserId, key: &str, skeleton: &str)
        -> StoreResult<bool>;
    async fn user_by_username_key(&self, key: &str) -> StoreResult<Option<UserWithPassword>>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    /// Sets (or, with `None`, clears) the user's time zone, an IANA name checked by the caller.
    async fn set_time_zone(&self, user: UserId, time_zone: Option<&str>) -> StoreResult<()>;

    async fn create_session(
        &self,
        id_hash: &[u8],
        user: UserId,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()>;
    async fn session_user(&self, id_hash: &[u8], now: i64) -> StoreResult<Option<User>> {
        Ok(self.session(id_hash, now).await?.map(|s| s.user))
    }
    /// The session's user and when it ends, unless it has ended by `now`.
    async fn session(&self, id_hash: &[u8], now: i64) -> StoreResult<Option<Session>>;
    async fn delete_session(&self, id_hash: &[u8]) -> StoreResult<()>;

    async fn put_oauth_state(&self, state: &OAuthState) -> StoreResult<()>;
    /// Removes and returns the state, so that it can be used once only.
    async fn take_oauth_state(&self, state_hash: &[u8]) -> StoreResult<Option<OAuthState>>;

    /// Deletes expired sessions and OAuth states; returns how many rows went.
    async fn purge_expired(&self, now: i64) -> StoreResult<u64>;
}

/// Attio links, the workspaces they point at, and each workspace's webhook.
#[async_trait]
pub trait LinkStore: Send + Sync {
    /// Records the workspace and replaces the user's link in one transaction.
    async fn save_link(&self, workspace: &WorkspaceInfo, link: &Link) -> StoreResult<()>;
    async fn link(&self, user: UserId) -> StoreResult<Option<Link>>;
    async fn mark_link_broken(&self, user: UserId, reason: &str) -> StoreResult<()>;
    /// Deletes the user's link; when it was the workspace's last, the workspace's cache goes too.
    async fn delete_link(&self, user: UserId) -> StoreResult<Option<Link>>;
    /// Active links of a workspace, oldest first: whose token the worker may use.
    async fn active_links(&self, workspace: WorkspaceId) -> StoreResult<Vec<Link>>;
    /// How many links (of any status) point at the workspace.
    async fn link_count(&self, workspace: WorkspaceId) -> StoreResult<u64>;
    /// Every workspace that at least one user links.
    async fn linked_workspaces(&self) -> StoreResult<Vec<WorkspaceId>>;

    async fn workspace_for_user(&self, user: UserId) -> StoreResult<Option<Workspace>>;
    async fn workspace(&self, id: WorkspaceId) -> StoreResult<Option<Workspace>>;
    async fn record_sync_error(&self, workspace: WorkspaceId, error: &str) -> StoreResult<()>;
    /// Records how Attio answered the latest read of the workspace (`None`: it succeeded).
    /// Returns true when that changes what the workspace's pages say (another problem, or a
    /// problem starting or ending); the start of a run of problems is kept as its `since`.
    async fn record_upstream(
        &self,
        workspace: WorkspaceId,
        problem: Option<UpstreamProblem>,
        now_ms: i64,
    ) -> StoreResult<bool>;

    async fn webhook_for_workspace(
        &self,
        workspace: WorkspaceId,
    ) -> StoreResult<Option<WebhookRecord>>;
    async fn webhook_by_id(&self, webhook_id: Uuid) -> StoreResult<Option<WebhookRecord>>;
    /// Stores the workspace's webhook unless it already has one; false when it had.
    async fn insert_webhook(&self, webhook: &WebhookRecord) -> StoreResult<bool>;
    /// Replaces the workspace's webhook (after re-creating it at Attio).
    async fn replace_webhook(&self, webhook: &WebhookRecord) -> StoreResult<()>;
    async fn set_webhook_status(
        &self,
        workspace: WorkspaceId,
        status: &str,
        checked_at: i64,
    ) -> StoreResult<()>;
    async fn delete_webhook(&self, workspace: WorkspaceId) -> StoreResult<()>;
    async fn set_webhook_note(&self, workspace: WorkspaceId, note: Option<&str>)
        -> StoreResult<()>;
}

/// The per-workspace cache of tasks and members.
#[async_trait]
pub trait CacheStore: Send + Sync {
    /// Replaces the workspace's cached members and tasks with a fresh full copy; returns what
    /// changed compared with the cache before.
    async fn replace_workspace_cache(
        &self,
        workspace: WorkspaceId,
        members: &[attio::WorkspaceMember],
        tasks: &[attio::Task],
        now: i64,
    ) -> StoreResult<CacheDiff>;

    /// A page of a workspace's cached tasks.
    async fn tasks(&self, workspace: WorkspaceId, query: &TaskQuery) -> StoreResult<TaskList>;
    async fn members(&self, workspace: WorkspaceId) -> StoreResult<Vec<attio::WorkspaceMember>>;
    /// How many tasks the workspace's cache holds (to price a full listing against single reads).
    async fn task_count(&self, workspace: WorkspaceId) -> StoreResult<u64>;
    /// One cached task of a workspace; `None` for an id of another workspace.
    async fn task(&self, workspace: WorkspaceId, task: Uuid) -> StoreResult<Option<attio::Task>>;
    /// Writes one task as Attio just answered it (after a change Taskr made), unless it belongs
    /// to another workspace.
    async fn put_task(&self, workspace: WorkspaceId, task: &attio::Task) -> StoreResult<()>;
    /// Removes one task (Attio answered that it no longer exists).
    async fn remove_task(&self, workspace: WorkspaceId, task: Uuid) -> StoreResult<()>;
}

/// The names of what tasks and events refer to: linked records, objects, notes, lists,
/// attributes, meetings. Events mark what to read (`InboxStore::inbox_apply`, with their
/// batch); a reader asks for what is wanted and saves what Attio answered.
#[async_trait]
pub trait NameStore: Send + Sync {
    /// Writes marks outside a delivery batch (the backfill's, a test's).
    async fn mark_names(&self, workspace: WorkspaceId, marks: &[NameMark]) -> StoreResult<()>;
    /// What is wanted from Attio and due at `now_ms`: at most `limit` records and `limit`
    /// other names, those waiting longest first.
    async fn wanted_names(
        &self,
        workspace: WorkspaceId,
        now_ms: i64,
        limit: u32,
    ) -> StoreResult<Wanted>;
    /// Saves what Attio answered; says whether it changed what pages show.
    async fn save_reads(
        &self,
        workspace: WorkspaceId,
        reads: &Reads,
        now_ms: i64,
    ) -> StoreResult<ReadsChanged>;
    /// Reconciliation: wants again up to `limit` records that tasks link and that were last
    /// read before `read_before_ms` (or never), oldest read first, and every name a missing
    /// scope kept from being read (a new link may have it); returns how many records.
    async fn refresh_names(
        &self,
        workspace: WorkspaceId,
        read_before_ms: i64,
        limit: u32,
    ) -> StoreResult<u64>;
    /// The workspace's objects.
    async fn objects(&self, workspace: WorkspaceId) -> StoreResult<Vec<ObjectInfo>>;
    /// The cached records among `ids` (of this workspace only).
    async fn records(
        &self,
        workspace: WorkspaceId,
        ids: &[Uuid],
    ) -> StoreResult<std::collections::HashMap<Uuid, CachedRecord>>;
    /// The cached names among `keys` (of this workspace only).
    async fn names(&self, workspace: WorkspaceId, keys: &[NameKey]) -> StoreResult<Names>;
}

/// The durable webhook inbox and the activity feed.
#[async_trait]
pub trait InboxStore: Send + Sync {
    /// Stores a verified delivery; false when its idempotency key was seen before.
    async fn inbox_insert(&self, delivery: &NewDelivery) -> StoreResult<bool> {
        Ok(self
            .inbox_insert_many(std::slice::from_ref(delivery))
            .await?[0])
    }
    /// Stores several deliveries in one transaction (one commit for all); for each, false when
    /// its idempotency key was seen before.
    async fn inbox_insert_many(&self, deliveries: &[NewDelivery]) -> StoreResult<Vec<bool>>;
    /// Leases up to `limit` due rows (pending, next attempt in the past, no live lease) to
    /// `holder`, exclusively per workspace: in one transaction it takes (or extends) the lease
    /// `inbox:<workspace>` ([`inbox_lease`]) of each workspace it claims from, and skips every
    /// workspace whose lease another holder has or that has rows leased already. So no two
    /// claims hold rows of one workspace at once, while different workspaces may be claimed by
    /// different instances in parallel. Rows of a holder whose lease ran out are claimable.
    async fn inbox_claim(
        &self,
        holder: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<InboxRow>>;
    /// Extends `holder`'s lease of the workspace's inbox and of the rows it claimed there (a
    /// batch that takes long); false when the lease is no longer `holder`'s.
    async fn inbox_renew(
        &self,
        holder: &str,
        workspace: WorkspaceId,
        now_ms: i64,
        lease_ms: i64,
    ) -> StoreResult<bool>;
    /// When the next pending row comes due (its next attempt, or its lease's end if later).
    async fn inbox_next_due(&self) -> StoreResult<Option<i64>>;
    /// Releases every lease, of inbox rows and named ones: at start-up of the only instance
    /// using this database, leases held by a process that died are void. Only for SQLite: a
    /// PostgreSQL database may be shared by instances whose leases are live, so there leases
    /// simply expire (or are given up by their holder at shutdown: `lease_release_all`).
    async fn inbox_release_leases(&self) -> StoreResult<u64>;
    /// Applies a workspace's batch in one transaction: task upserts and deletions, an optional
    /// full member list, the activity entries, and marks the rows done. Only while `holder`
    /// still holds the workspace's inbox lease (checked under a lock in the same transaction):
    /// otherwise nothing is written and the answer is `LeaseLost`, so that a batch whose lease
    /// ran out and was taken over never commits an older read over a newer one.
    async fn inbox_apply(
        &self,
        holder: &str,
        batch: &AppliedBatch,
        now_ms: i64,
    ) -> StoreResult<ClaimWrite>;
    /// Puts `holder`'s rows of `workspace` back for a later attempt, with the error that
    /// stopped them; `LeaseLost` (and nothing changed) when the workspace's lease is no longer
    /// `holder`'s.
    async fn inbox_retry(
        &self,
        holder: &str,
        workspace: WorkspaceId,
        ids: &[i64],
        next_attempt_ms: i64,
        error: &str,
    ) -> StoreResult<ClaimWrite>;
    /// A workspace's rows that are not applied yet, and how many have failed.
    async fn inbox_backlog(&self, workspace: WorkspaceId) -> StoreResult<Backlog>;
    /// The workspace's late rows: pending and either put back at least once or received more
    /// than `late_after_ms` before `now_ms`.
    async fn inbox_health(
        &self,
        workspace: WorkspaceId,
        now_ms: i64,
        late_after_ms: i64,
    ) -> StoreResult<InboxHealth>;
    /// Gives every pending, unleased row of the workspace the same next attempt (Attio is down
    /// or rate limiting for the whole workspace); returns how many.
    async fn inbox_defer(
        &self,
        workspace: WorkspaceId,
        until_ms: i64,
        now_ms: i64,
    ) -> StoreResult<u64>;
    /// Makes the workspace's pending rows due now (a user reconnected); returns how many.
    async fn inbox_wake(&self, workspace: WorkspaceId, now_ms: i64) -> StoreResult<u64>;
    /// Forgets applied deliveries older than `before_ms` (their keys are no longer needed).
    async fn inbox_purge(&self, before_ms: i64) -> StoreResult<u64>;

    async fn activity(
        &self,
        workspace: WorkspaceId,
        query: &ActivityQuery,
    ) -> StoreResult<ActivityPage>;
}

/// The name of the lease that makes a workspace's inbox claims exclusive.
pub fn inbox_lease(workspace: WorkspaceId) -> String {
    format!("{INBOX_LEASE_PREFIX}{workspace}")
}

/// What `inbox_lease` puts before the workspace id (the SQL strips it again).
pub const INBOX_LEASE_PREFIX: &str = "inbox:";

/// Whether a write on behalf of a claim happened.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimWrite {
    Written,
    /// The claim's lease is no longer the claimer's (it ran out and another instance took it,
    /// or it was given up); nothing was written.
    LeaseLost,
}

/// Named leases shared by every instance on the database: `acquire` is one atomic upsert
/// ("free, expired, or already mine"), never a read followed by a write.
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes the lease `name` for `holder` until `now_ms + ttl_ms` if it is free, expired or
    /// already `holder`'s (then it is extended); false when another holder has it.
    async fn lease_acquire(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> StoreResult<bool>;
    /// Extends `holder`'s lease; false when it is not `holder`'s any more (taken over or
    /// released). Never takes a lease that was not held.
    async fn lease_renew(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> StoreResult<bool>;
    /// Gives the lease up if it is `holder`'s; true when it was.
    async fn lease_release(&self, name: &str, holder: &str) -> StoreResult<bool>;
    /// Gives up every lease `holder` has, named ones and those of inbox rows (which become
    /// claimable at once), in one transaction; returns how many named leases went.
    async fn lease_release_all(&self, holder: &str) -> StoreResult<u64>;
    /// Who holds the lease at `now_ms`, if anyone.
    async fn lease_holder(&self, name: &str, now_ms: i64) -> StoreResult<Option<String>>;
}

/// Connections and their OAuth flows in progress.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    async fn connection(
        &self,
        provider: &ProviderName,
        owner: &Owner,
    ) -> StoreResult<Option<ConnectionRecord>>;
    /// The user's own connections and those of the workspace they are linked to.
    async fn connections_visible_to(
        &self,
        user: UserId,
        workspace: Option<WorkspaceId>,
    ) -> StoreResult<Vec<ConnectionRecord>>;
    /// Creates or replaces the connection of `provider` for its owner; returns it with its id.
    async fn put_connection(&self, record: &ConnectionRecord) -> StoreResult<ConnectionRecord>;
    /// Stores refreshed tokens if the connection is still at `expected_version`; false when
    /// another refresh got there first.
    async fn update_tokens(
        &self,
        id: i64,
        expected_version: i64,
        update: &TokenUpdate,
        now: i64,
    ) -> StoreResult<bool>;
    async fn mark_needs_reconnect(&self, id: i64, reason: &str, now: i64) -> StoreResult<()>;
    async fn delete_connection(
        &self,
        provider: &ProviderName,
        owner: &Owner,
    ) -> StoreResult<Option<ConnectionRecord>>;
    async fn put_connection_flow(&self, flow: &ConnectionFlow) -> StoreResult<()>;
    /// Removes and returns the flow, so that its state is used once only.
    async fn take_connection_flow(&self, state_hash: &[u8]) -> StoreResult<Option<ConnectionFlow>>;
}

/// Every sealed value, for `taskr keys rotate`.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every key id that some stored sealed value names, so that start-up can refuse to run
    /// without a key the data depends on.
    async fn sealed_key_ids(&self) -> StoreResult<Vec<String>>;
    /// Sealed values whose key is not `current_key_id`.
    async fn sealed_values_not_under(&self, current_key_id: &str) -> StoreResult<Vec<SealedValue>>;
    /// Replaces a sealed value if it still is `old` (a concurrent change wins); true if replaced.
    async fn reseal(
        &self,
        slot: &SealedSlot,
        old: &crate::crypto::Sealed,
        new: &crate::crypto::Sealed,
    ) -> StoreResult<bool>;
}

/// What operators watch: readiness (`/readyz`) and gauges (`/metrics`). Cheap queries only.
#[async_trait]
pub trait OpsStore: Send + Sync {
    /// Asks the database which embedded migrations are applied; returns the versions that are
    /// not (empty: the schema is current). An error means the database did not answer.
    async fn schema_missing(&self) -> StoreResult<Vec<i64>>;
    /// Pending deliveries across all workspaces, and when the oldest was received.
    async fn inbox_totals(&self) -> StoreResult<InboxTotals>;
    /// The connection pool right now.
    fn pool_usage(&self) -> PoolUsage;
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxTotals {
    pub pending: u64,
    pub oldest_received_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolUsage {
    /// Connections open, in use or idle.
    pub size: u32,
    pub in_use: u32,
}

/// Everything Taskr keeps.
pub trait Store:
    AccountStore
    + LinkStore
    + CacheStore
    + NameStore
    + InboxStore
    + LeaseStore
    + ConnectionStore
    + KeyStore
    + OpsStore
    + 'static
{
}
impl<T> Store for T where
    T: AccountStore
        + LinkStore
        + CacheStore
        + NameStore
        + InboxStore
        + LeaseStore
        + ConnectionStore
        + KeyStore
        + OpsStore
        + 'static
{
}

/// The store's traits, for calling any of them on `dyn Store`.
pub mod prelude {
    pub use super::{
        AccountStore, CacheStore, ConnectionStore, InboxStore, KeyStore, LeaseStore, LinkStore,
        NameStore, OpsStore, Store,
    };
}
