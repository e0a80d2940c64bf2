//! Leases in the database: how instances sharing one database agree that only one of them
//! does something at a time (claims a workspace's inbox, backfills a workspace, runs the
//! reconciler), and how a dead instance's work is taken over. A lease has a holder (this
//! instance's random id, made at start-up) and an end; an expired lease is free, and a holder
//! that needs longer renews it. At shutdown an instance gives up everything it holds, so the
//! others take over at once instead of after the leases run out.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::store::WorkspaceId;
use uuid::Uuid;

use crate::store::{inbox_lease, Store, StoreResult};

/// The lease of the periodic reconciliation pass.
pub const RECONCILER: &str = "reconciler";

/// How often a lease that is still wanted is renewed: three times per lease length, so that
/// one slow or failed renewal does not lose it.
const RENEWALS_PER_LEASE: u32 = 3;

/// How often a waiter asks again for a lease another instance holds.
const POLL: Duration = Duration::from_millis(100);

/// The lease that lets one instance at a time backfill a workspace.
pub fn sync_lease(workspace: crate::store::WorkspaceId) -> String {
    format!("sync:{workspace}")
}

/// This instance's name in leases: random, made at start-up, never reused (a restarted
/// process is another holder, so it cannot mistake a dead run's leases for its own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceId(Arc<str>);

impl InstanceId {
    pub fn generate() -> Self {
        Self(Arc::from(Uuid::new_v4().simple().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for InstanceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a renewal keeps: a named lease, or a workspace's inbox lease with its rows.
enum Held<'a> {
    Named(&'a str),
    Inbox(WorkspaceId),
}

/// This instance's leases. Cheap to clone.
#[derive(Clone)]
pub struct Leases {
    store: Arc<dyn Store>,
    holder: InstanceId,
}

fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Leases {
    pub fn new(store: Arc<dyn Store>, holder: InstanceId) -> Self {
        Self { store, holder }
    }

    /// The holder id this instance's leases carry.
    pub fn holder(&self) -> &str {
        self.holder.as_str()
    }

    /// Takes (or extends) the lease for `ttl` unless another instance holds it.
    pub async fn try_acquire(&self, name: &str, ttl: Duration) -> StoreResult<bool> {
        self.store
            .lease_acquire(name, self.holder(), crate::now_ms(), ms(ttl))
            .await
    }

    /// Takes the lease, waiting (polling) while another instance holds it, for at most
    /// `limit`; false when it is still held then.
    pub async fn acquire_waiting(
        &self,
        name: &str,
        ttl: Duration,
        limit: Duration,
    ) -> StoreResult<bool> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if self.try_acquire(name, ttl).await? {
                return Ok(true);
            }
            if tokio::time::Instant::now() + POLL > deadline {
                return Ok(false);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Gives the lease up (if it is still this instance's); a failure is only logged, since
    /// the lease then runs out by itself.
    pub async fn release(&self, name: &str) {
        if let Err(e) = self.store.lease_release(name, self.holder()).await {
            tracing::warn!(lease = name, error = %e, "could not give a lease up; it will run out");
        }
    }

    /// Gives up every lease this instance holds, and its inbox rows (at shutdown).
    pub async fn release_all(&self) -> StoreResult<u64> {
        self.store.lease_release_all(self.holder()).await
    }

    /// Runs `work` while renewing the named lease every `ttl / 3`.
    pub async fn holding<T>(&self, name: &str, ttl: Duration, work: impl Future<Output = T>) -> T {
        self.renewing(Held::Named(name), ttl, work).await
    }

    /// Runs `work` while renewing the workspace's inbox lease (and its claimed rows).
    pub async fn holding_inbox<T>(
        &self,
        workspace: WorkspaceId,
        ttl: Duration,
        work: impl Future<Output = T>,
    ) -> T {
        self.renewing(Held::Inbox(workspace), ttl, work).await
    }

    /// Gives up the workspace's inbox lease once its batch is done, so that any instance can
    /// claim what arrives next.
    pub async fn release_inbox(&self, workspace: WorkspaceId) {
        self.release(&inbox_lease(workspace)).await
    }

    /// Runs `work` and, beside it, renews what is held every `ttl / 3` until `work` ends.
    /// Both are polled together (not one after the other): a renewal may wait on a row that
    /// `work`'s open transaction has locked, and `work` must be able to go on and commit.
    async fn renewing<T>(&self, held: Held<'_>, ttl: Duration, work: impl Future<Output = T>) -> T {
        let every = (ttl / RENEWALS_PER_LEASE).max(Duration::from_millis(10));
        let (finished, mut stop) = tokio::sync::oneshot::channel::<()>();
        let work = async move {
            let done = work.await;
            drop(finished);
            done
        };
        let renew = async {
            loop {
                tokio::select! {
                    _ = &mut stop => return,
                    _ = tokio::time::sleep(every) => {}
                }
                self.renew_once(&held, ttl).await;
            }
        };
        tokio::join!(work, renew).0
    }

    async fn renew_once(&self, held: &Held<'_>, ttl: Duration) {
        let now = crate::now_ms();
        let renewed = match held {
            Held::Named(name) => {
                self.store
                    .lease_renew(name, self.holder(), now, ms(ttl))
                    .await
            }
            Held::Inbox(workspace) => {
                self.store
                    .inbox_renew(self.holder(), *workspace, now, ms(ttl))
                    .await
            }
        };
        match renewed {
            Ok(true) => {}
            // What the work writes under the lease is refused from now on (inbox), or another
            // instance may start the same work (sync): it stays correct, if wasted.
            Ok(false) => tracing::warn!("a lease ran out and was taken over while in use"),
            Err(e) => tracing::warn!(error = %e, "could not renew a lease"),
        }
    }
}
