//! The read API for server code: `user(ctx, provider)` and `workspace(ctx, provider)` give a
//! `Connection`, refreshed first when it is about to expire. At most one refresh runs per
//! connection: concurrent readers wait for it and get the new token. A missing or broken
//! connection is a typed `ConnectionRequired`, which the web layer turns into a prompt.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::oauth::{self, TokenError};
use super::providers::Provider;
use crate::coordination::Invalidation;
use crate::crypto::{Cipher, Sealed};
use crate::store::{
    contexts, ConnectionRecord, ConnectionStatus, Owner, OwnerKind, ProviderName, Store,
    TokenUpdate, UserId,
};

/// Who is asking: the user, and the workspace they are linked to (if any) with their role there.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub user: UserId,
    pub workspace: Option<crate::store::WorkspaceId>,
    pub is_admin: bool,
}

/// A connection's value, hidden from `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone)]
pub struct Connection {
    pub id: i64,
    pub value: Secret,
    pub owned_by: Owner,
    pub created_by: UserId,
    provider: ProviderName,
    version: i64,
}

/// What the user must do before the code that asked can go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRequired {
    pub provider: ProviderName,
    pub display_name: String,
    pub scope: OwnerKind,
    /// Why: never connected, or broken (with the reason).
    pub reason: Option<String>,
    /// False for a workspace connection and a non-admin (they must ask an admin), or when the
    /// user has no linked workspace for a workspace connection.
    pub can_connect: bool,
    pub has_workspace: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("a {} connection to {} is required", .0.scope.as_str(), .0.display_name)]
    Required(Box<ConnectionRequired>),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What a call to a provider's API reports back to [`Connections::call`].
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The provider answered 401: the token is stale or revoked.
    #[error("the provider refused the credentials")]
    Unauthorized,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// What a new connection holds: a secret, or an OAuth grant's tokens.
pub(super) struct NewValue<'a> {
    pub value: &'a str,
    pub refresh: Option<&'a str>,
    pub expires_at: Option<i64>,
    pub scope: Option<String>,
}

/// How long an opened connection is served from memory. Writes made through this process
/// invalidate it at once, and so do writes made by another instance when the coordinator is
/// shared (PostgreSQL); this bound only remains as a safety net for a missed message.
const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

type CacheKey = (ProviderName, Owner);

pub struct Connections {
    providers: Vec<Provider>,
    store: Arc<dyn Store>,
    cipher: Cipher,
    http: reqwest::Client,
    refreshing: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
    cache: Mutex<HashMap<CacheKey, (std::time::Instant, ConnectionRecord, Connection)>>,
    /// Counts invalidations heard: a read that began before one does not cache what it read
    /// (it may be the value from just before the write the invalidation is about).
    epoch: AtomicU64,
    metrics: crate::metrics::Metrics,
    /// Tells the other instances about writes; `None` in a standalone service (tools, tests).
    coordinator: Option<crate::coordination::Coordinator>,
}

/// Applies what the coordinator says about connections to `connections`' cache, for as long
/// as both exist.
pub fn follow_invalidations(
    connections: &Arc<Connections>,
    mut heard: tokio::sync::broadcast::Receiver<Invalidation>,
) {
    let connections = Arc::downgrade(connections);
    tokio::spawn(async move {
        loop {
            let what = match heard.recv().await {
                Ok(what) => what,
                // Missed some: forget everything rather than guess.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => Invalidation::All,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            let Some(connections) = connections.upgrade() else {
                return;
            };
            connections.forget(&what);
        }
    });
}

fn value_context(provider: &ProviderName, owner: &Owner, part: &str) -> String {
    contexts::connection(provider.as_str(), owner.kind.as_str(), &owner.id, part)
}

/// Values shorter than this are never hinted at: 4 characters of a 5-character secret give
/// most of it away.
pub const HINT_MIN_LENGTH: usize = 12;

/// The last 4 characters of a value of at least [`HINT_MIN_LENGTH`], the only part ever shown;
/// nothing for a shorter one.
pub fn hint(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < HINT_MIN_LENGTH {
        return String::new();
    }
    chars[chars.len() - 4..].iter().collect()
}

impl Connections {
    pub fn new(
        providers: Vec<Provider>,
        store: Arc<dyn Store>,
        cipher: Cipher,
        http: reqwest::Client,
    ) -> Self {
        Self {
            providers,
            store,
            cipher,
            http,
            refreshing: Mutex::new(HashMap::new()),
            cache: Mutex::new(HashMap::new()),
            epoch: AtomicU64::new(0),
            metrics: crate::metrics::Metrics::default(),
            coordinator: None,
        }
    }

    /// Tells every instance sharing the coordinator when a connection is written.
    pub fn with_coordinator(mut self, coordinator: crate::coordination::Coordinator) -> Self {
        self.coordinator = Some(coordinator);
        self
    }

    /// Counts refreshes in the application's metrics (a detached registry otherwise).
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    fn count_refresh(&self, outcome: &str) {
        self.metrics.count(
            crate::metrics::CONNECTION_REFRESHES,
            &[("outcome", outcome)],
            1,
        );
    }

    /// Drops every cached copy, so that the next reads go to the store (for tools and tests
    /// that change the store behind this process's back).
    pub fn forget_cached(&self) {
        self.forget(&Invalidation::All);
    }

    /// Forgets cached copies in this process only.
    fn forget(&self, what: &Invalidation) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::SeqCst);
        match what {
            Invalidation::One { provider, owner } => {
                cache.remove(&(provider.clone(), owner.clone()));
            }
            Invalidation::All => cache.clear(),
        }
    }

    /// Forgets the cached copy of a connection in this process (before a write: the others
    /// hear of it after the write, through `invalidate`).
    fn forget_here(&self, provider: &ProviderName, owner: &Owner) {
        self.forget(&Invalidation::One {
            provider: provider.clone(),
            owner: owner.clone(),
        });
    }

    /// Forgets the cached copy of a connection here and on every other instance: called
    /// after any write to it (after, so that nobody re-reads the old value in between).
    pub(super) fn invalidate(&self, provider: &ProviderName, owner: &Owner) {
        let what = Invalidation::One {
            provider: provider.clone(),
            owner: owner.clone(),
        };
        self.forget(&what);
        if let Some(coordinator) = &self.coordinator {
            coordinator.invalidate_connection(provider, owner);
        }
    }

    fn cached(
        &self,
        provider: &ProviderName,
        owner: &Owner,
    ) -> Option<(ConnectionRecord, Connection)> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(&(provider.clone(), owner.clone()))
            .filter(|(at, _, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, record, connection)| (record.clone(), connection.clone()))
    }

    /// Caches a copy read when the epoch was `epoch`, unless something was invalidated since.
    fn remember(&self, epoch: u64, record: &ConnectionRecord, connection: &Connection) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return;
        }
        cache.insert(
            (record.provider.clone(), record.owner.clone()),
            (
                std::time::Instant::now(),
                record.clone(),
                connection.clone(),
            ),
        );
    }

    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    pub fn provider(&self, name: &ProviderName) -> Option<&Provider> {
        self.providers.iter().find(|p| p.name == *name)
    }

    pub(super) fn cipher(&self) -> &Cipher {
        &self.cipher
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(super) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The user's own connection to `provider`.
    pub async fn user(
        &self,
        ctx: &Ctx,
        provider: &ProviderName,
    ) -> Result<Connection, ConnectionError> {
        self.read(ctx, provider, OwnerKind::User).await
    }

    /// The connection to `provider` shared by the user's workspace.
    pub async fn workspace(
        &self,
        ctx: &Ctx,
        provider: &ProviderName,
    ) -> Result<Connection, ConnectionError> {
        self.read(ctx, provider, OwnerKind::Workspace).await
    }

    pub(super) fn required(
        &self,
        provider: &Provider,
        ctx: &Ctx,
        scope: OwnerKind,
        reason: Option<String>,
    ) -> ConnectionError {
        let can_connect = match scope {
            OwnerKind::User => true,
            OwnerKind::Workspace => ctx.workspace.is_some() && ctx.is_admin,
        };
        ConnectionError::Required(Box::new(ConnectionRequired {
            provider: provider.name.clone(),
            display_name: provider.display_name.clone(),
            scope,
            reason,
            can_connect,
            has_workspace: ctx.workspace.is_some(),
        }))
    }

    pub(super) fn owner(&self, ctx: &Ctx, scope: OwnerKind) -> Option<Owner> {
        match scope {
            OwnerKind::User => Some(Owner::user(ctx.user)),
            OwnerKind::Workspace => ctx.workspace.map(Owner::workspace),
        }
    }

    fn provider_for(
        &self,
        name: &ProviderName,
        scope: OwnerKind,
    ) -> Result<&Provider, ConnectionError> {
        let provider = self.provider(name).ok_or_else(|| {
            anyhow::anyhow!("no connection provider is named {:?}", name.as_str())
        })?;
        let allowed = match scope {
            OwnerKind::User => provider.allow_user,
            OwnerKind::Workspace => provider.allow_workspace,
        };
        if !allowed {
            return Err(anyhow::anyhow!(
                "provider {:?} does not allow {} connections",
                name.as_str(),
                scope.as_str()
            )
            .into());
        }
        Ok(provider)
    }

    async fn read(
        &self,
        ctx: &Ctx,
        name: &ProviderName,
        scope: OwnerKind,
    ) -> Result<Connection, ConnectionError> {
        let provider = self.provider_for(name, scope)?;
        let Some(owner) = self.owner(ctx, scope) else {
            return Err(self.required(
                provider,
                ctx,
                scope,
                Some("Connect an Attio workspace first.".into()),
            ));
        };
        // The common case: a recent, valid copy in memory, not due for renewal.
        if let Some((record, connection)) = self.cached(name, &owner) {
            if record.status == ConnectionStatus::Active && !Self::due(provider, &record) {
                return Ok(connection);
            }
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let record = self
            .store
            .connection(name, &owner)
            .await
            .map_err(anyhow::Error::from)?
            .ok_or_else(|| self.required(provider, ctx, scope, None))?;
        let record = self.fresh(provider, ctx, record, false).await?;
        let connection = self.open(&record)?;
        self.remember(epoch, &record, &connection);
        Ok(connection)
    }

    fn open(&self, record: &ConnectionRecord) -> Result<Connection, ConnectionError> {
        let bytes = self
            .cipher
            .open(
                &record.value,
                &value_context(&record.provider, &record.owner, "value"),
            )
            .map_err(anyhow::Error::from)?;
        Ok(Connection {
            id: record.id,
            value: Secret(String::from_utf8(bytes).map_err(anyhow::Error::from)?),
            owned_by: record.owner.clone(),
            created_by: record.created_by,
            provider: record.provider.clone(),
            version: record.version,
        })
    }

    fn due(provider: &Provider, record: &ConnectionRecord) -> bool {
        match (provider.oauth2(), record.expires_at) {
            (Some(config), Some(expires_at)) => {
                expires_at - crate::now() <= config.refresh_margin.as_secs() as i64
            }
            _ => false,
        }
    }

    fn lock_for(&self, id: i64) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.refreshing.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(id).or_default().clone()
    }

    /// Returns a usable record: as stored, or refreshed when due (or when `force`d by a 401 on
    /// the version the caller saw). One refresh per connection at a time.
    async fn fresh(
        &self,
        provider: &Provider,
        ctx: &Ctx,
        record: ConnectionRecord,
        force: bool,
    ) -> Result<ConnectionRecord, ConnectionError> {
        let scope = record.owner.kind;
        if record.status == ConnectionStatus::NeedsReconnect {
            return Err(self.required(provider, ctx, scope, record.status_reason.clone()));
        }
        if !force && !Self::due(provider, &record) {
            return Ok(record);
        }
        self.forget_here(&record.provider, &record.owner);
        let Some(config) = provider.oauth2() else {
            // A secret cannot be refreshed: a 401 means it is wrong or revoked.
            let reason = format!("{} refused the stored secret.", provider.display_name);
            self.store
                .mark_needs_reconnect(record.id, &reason, crate::now())
                .await
                .map_err(anyhow::Error::from)?;
            self.invalidate(&record.provider, &record.owner);
            return Err(self.required(provider, ctx, scope, Some(reason)));
        };
        let seen_version = record.version;
        let lock = self.lock_for(record.id);
        let _guard = lock.lock().await;
        // Whoever held the lock before us may have refreshed already.
        let current = self.reload(provider, ctx, &record).await?;
        if let Some(settled) = self.settled(provider, ctx, &current, seen_version, force) {
            return settled;
        }
        // Only now, one reader of this instance asks the other instances (PostgreSQL).
        let Some(coordinator) = &self.coordinator else {
            return self
                .refresh_now(provider, ctx, config, current, force)
                .await;
        };
        match coordinator
            .lock_refresh(&current.provider, &current.owner)
            .await
        {
            Ok(None) => {
                self.refresh_now(provider, ctx, config, current, force)
                    .await
            }
            Ok(Some(shared)) => {
                self.count_refresh_lock("acquired");
                // Another instance may have refreshed while we waited for the lock.
                let latest = self.reload(provider, ctx, &current).await;
                let outcome = match latest {
                    Err(e) => Err(e),
                    Ok(latest) => match self.settled(provider, ctx, &latest, seen_version, force) {
                        Some(settled) => settled,
                        None => self.refresh_now(provider, ctx, config, latest, force).await,
                    },
                };
                // After the new token is stored: the next instance in line reads it.
                shared.release().await;
                outcome
            }
            Err(e @ crate::coordination::RefreshLockError::TimedOut(_)) => {
                self.count_refresh_lock("timed_out");
                tracing::warn!(connection = current.id, error = %e, "gave up waiting for another instance's refresh");
                let latest = self.reload(provider, ctx, &current).await?;
                if let Some(settled) = self.settled(provider, ctx, &latest, seen_version, force) {
                    return settled;
                }
                // Still not renewed: what is stored serves while it lasts, as when the
                // provider is unavailable.
                if !force && latest.expires_at.is_none_or(|t| t > crate::now()) {
                    return Ok(latest);
                }
                Err(anyhow::anyhow!(
                    "could not renew the {} connection: {e}",
                    provider.display_name
                )
                .into())
            }
            Err(e @ crate::coordination::RefreshLockError::Database(_)) => {
                // Without the lock two instances may both refresh; the store's version check
                // still keeps a slower one from overwriting a newer token, and an
                // `invalid_grant` after a rotation reloads (below). Better than no refresh.
                self.count_refresh_lock("error");
                tracing::warn!(connection = current.id, error = %e, "refreshing without the lock across instances");
                self.refresh_now(provider, ctx, config, current, force)
                    .await
            }
        }
    }

    /// After waiting for a refresh lock, whether the stored `latest` leaves nothing to do:
    /// broken meanwhile, renewed meanwhile (`seen_version` is what the caller read), or no
    /// longer due.
    fn settled(
        &self,
        provider: &Provider,
        ctx: &Ctx,
        latest: &ConnectionRecord,
        seen_version: i64,
        force: bool,
    ) -> Option<Result<ConnectionRecord, ConnectionError>> {
        if latest.status == ConnectionStatus::NeedsReconnect {
            let reason = latest.status_reason.clone();
            return Some(Err(self.required(provider, ctx, latest.owner.kind, reason)));
        }
        if latest.version != seen_version {
            // Renewed while we waited (or since the caller read it): that is the new token,
            // even if the provider's tokens are so short-lived that it is due again already.
            return Some(Ok(latest.clone()));
        }
        if !force && !Self::due(provider, latest) {
            return Some(Ok(latest.clone()));
        }
        None
    }

    fn count_refresh_lock(&self, outcome: &str) {
        self.metrics.count(
            crate::metrics::CONNECTION_REFRESH_LOCKS,
            &[("outcome", outcome)],
            1,
        );
    }

    /// Calls the provider with the stored refresh token and stores the answer (or marks the
    /// connection for reconnecting). The caller holds the refresh locks.
    async fn refresh_now(
        &self,
        provider: &Provider,
        ctx: &Ctx,
        config: &super::providers::OAuth2Config,
        current: ConnectionRecord,
        force: bool,
    ) -> Result<ConnectionRecord, ConnectionError> {
        let scope = current.owner.kind;
        let Some(sealed_refresh) = &current.refresh else {
            let reason = "The token expired and the provider gave no refresh token.".to_owned();
            self.store
                .mark_needs_reconnect(current.id, &reason, crate::now())
                .await
                .map_err(anyhow::Error::from)?;
            self.invalidate(&current.provider, &current.owner);
            return Err(self.required(provider, ctx, scope, Some(reason)));
        };
        let refresh_token = String::from_utf8(
            self.cipher
                .open(
                    sealed_refresh,
                    &value_context(&current.provider, &current.owner, "refresh"),
                )
                .map_err(anyhow::Error::from)?,
        )
        .map_err(anyhow::Error::from)?;
        tracing::info!(connection = current.id, provider = %current.provider, "refreshing a connection");
        let refresh_token = oauth::RefreshToken::new(refresh_token);
        let refreshed = oauth::refresh(&self.http, config, &refresh_token).await;
        self.count_refresh(match &refreshed {
            Ok(_) => "refreshed",
            Err(TokenError::Refused { .. }) => "refused",
            Err(TokenError::Unavailable(_)) => "unavailable",
        });
        match refreshed {
            Ok(tokens) => {
                let update = TokenUpdate {
                    value: self.cipher.seal(
                        tokens.access_token.secret().as_bytes(),
                        &value_context(&current.provider, &current.owner, "value"),
                    ),
                    // No new refresh token in the answer: the old one stays.
                    refresh: tokens.refresh_token.as_ref().map(|t| {
                        self.cipher.seal(
                            t.secret().as_bytes(),
                            &value_context(&current.provider, &current.owner, "refresh"),
                        )
                    }),
                    expires_at: tokens.expires_in.map(|d| crate::now() + d.as_secs() as i64),
                    scope: tokens.scope,
                    hint: hint(tokens.access_token.secret()),
                };
                let stored = self
                    .store
                    .update_tokens(current.id, current.version, &update, crate::now())
                    .await
                    .map_err(anyhow::Error::from)?;
                if !stored {
                    tracing::info!(connection = current.id, "another instance refreshed first");
                }
                self.invalidate(&current.provider, &current.owner);
                self.reload(provider, ctx, &current).await
            }
            Err(e) if e.is_invalid_grant() => {
                // Another instance may have refreshed (and rotated the refresh token) meanwhile.
                let latest = self.reload(provider, ctx, &current).await?;
                if latest.version != current.version {
                    return Ok(latest);
                }
                let reason = format!(
                    "{} refused to renew access ({e}). Reconnect to continue.",
                    provider.display_name
                );
                tracing::warn!(connection = current.id, error = %e, "refresh failed for good");
                self.store
                    .mark_needs_reconnect(current.id, &reason, crate::now())
                    .await
                    .map_err(anyhow::Error::from)?;
                self.invalidate(&current.provider, &current.owner);
                Err(self.required(provider, ctx, scope, Some(reason)))
            }
            Err(e @ TokenError::Refused { .. }) => {
                let reason = format!(
                    "{} refused to renew access ({e}). Reconnect to continue.",
                    provider.display_name
                );
                self.store
                    .mark_needs_reconnect(current.id, &reason, crate::now())
                    .await
                    .map_err(anyhow::Error::from)?;
                self.invalidate(&current.provider, &current.owner);
                Err(self.required(provider, ctx, scope, Some(reason)))
            }
            Err(e @ TokenError::Unavailable(_)) => {
                let still_valid = current.expires_at.is_none_or(|t| t > crate::now());
                if still_valid && !force {
                    tracing::warn!(connection = current.id, error = %e, "refresh postponed; the token is still valid");
                    Ok(current)
                } else {
                    Err(anyhow::anyhow!(
                        "could not renew the {} connection: {e}",
                        provider.display_name
                    )
                    .into())
                }
            }
        }
    }

    async fn reload(
        &self,
        provider: &Provider,
        ctx: &Ctx,
        record: &ConnectionRecord,
    ) -> Result<ConnectionRecord, ConnectionError> {
        self.store
            .connection(&record.provider, &record.owner)
            .await
            .map_err(anyhow::Error::from)?
            .ok_or_else(|| self.required(provider, ctx, record.owner.kind, None))
    }

    /// After the provider answered 401 to `connection`: refresh once (unless someone already
    /// did since it was read) and return the new connection.
    pub async fn after_unauthorized(
        &self,
        ctx: &Ctx,
        connection: &Connection,
    ) -> Result<Connection, ConnectionError> {
        self.forget_here(&connection.provider, &connection.owned_by);
        let provider = self.provider_for(&connection.provider, connection.owned_by.kind)?;
        let record = self
            .store
            .connection(&connection.provider, &connection.owned_by)
            .await
            .map_err(anyhow::Error::from)?
            .ok_or_else(|| self.required(provider, ctx, connection.owned_by.kind, None))?;
        let record = if record.version == connection.version {
            self.fresh(provider, ctx, record, true).await?
        } else {
            self.fresh(provider, ctx, record, false).await?
        };
        self.open(&record)
    }

    /// Calls a provider's API with the user's or workspace's connection: on a 401 it refreshes
    /// once and retries once, never more; a second 401 marks the connection for reconnecting.
    pub async fn call<T, F, Fut>(
        &self,
        ctx: &Ctx,
        provider: &ProviderName,
        scope: OwnerKind,
        f: F,
    ) -> Result<T, ConnectionError>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let connection = self.read(ctx, provider, scope).await?;
        match f(connection.clone()).await {
            Ok(value) => return Ok(value),
            Err(CallError::Other(e)) => return Err(e.into()),
            Err(CallError::Unauthorized) => {}
        }
        let retried = self.after_unauthorized(ctx, &connection).await?;
        match f(retried.clone()).await {
            Ok(value) => Ok(value),
            Err(CallError::Other(e)) => Err(e.into()),
            Err(CallError::Unauthorized) => {
                self.forget_here(provider, &retried.owned_by);
                let provider = self.provider_for(provider, scope)?;
                let reason = format!("{} refused a freshly renewed token.", provider.display_name);
                self.store
                    .mark_needs_reconnect(retried.id, &reason, crate::now())
                    .await
                    .map_err(anyhow::Error::from)?;
                self.invalidate(&retried.provider, &retried.owned_by);
                Err(self.required(provider, ctx, scope, Some(reason)))
            }
        }
    }

    /// Seals and stores a value for `owner` (a secret, or an OAuth grant's tokens).
    pub(super) async fn store_value(
        &self,
        provider: &Provider,
        owner: Owner,
        created_by: UserId,
        value: NewValue<'_>,
    ) -> anyhow::Result<ConnectionRecord> {
        let now = crate::now();
        let record = ConnectionRecord {
            id: 0,
            provider: provider.name.clone(),
            kind: provider.kind_name().to_owned(),
            value: self.cipher.seal(
                value.value.as_bytes(),
                &value_context(&provider.name, &owner, "value"),
            ),
            refresh: value.refresh.map(|r| {
                self.cipher.seal(
                    r.as_bytes(),
                    &value_context(&provider.name, &owner, "refresh"),
                )
            }),
            expires_at: value.expires_at,
            scope: value.scope,
            hint: hint(value.value),
            status: ConnectionStatus::Active,
            status_reason: None,
            created_by,
            created_at: now,
            updated_at: now,
            version: 1,
            owner,
        };
        let stored = self.store.put_connection(&record).await?;
        self.invalidate(&record.provider, &record.owner);
        Ok(stored)
    }

    /// Opens a sealed part of a stored connection (for revocation at disconnect).
    pub(super) fn open_part(
        &self,
        record: &ConnectionRecord,
        sealed: &Sealed,
        part: &str,
    ) -> anyhow::Result<String> {
        Ok(String::from_utf8(self.cipher.open(
            sealed,
            &value_context(&record.provider, &record.owner, part),
        )?)?)
    }
}
