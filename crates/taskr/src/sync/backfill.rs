//! Filling the workspace cache from Attio: a full backfill of members and tasks, one at a time
//! per workspace, then the names they need (the objects list, and the records tasks link:
//! those never read, and a bounded number of the others again, oldest read first, so that a
//! rename or deletion missed while webhooks were down is caught by the next reconciliation).
//! A token that Attio reports inactive, or answers 401/403 for, marks the link broken so that
//! the user is asked to reconnect.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use attio::SelfInfo;

use crate::attio_gateway::open_token;
use crate::live::{Change, LiveEvent};
use crate::store::{LinkStatus, NameKey, NameRead, Reads, UpstreamProblem, UserId, WorkspaceId};
use crate::sync::names::{self, Pace};
use crate::sync::SyncService;

/// Linked records read again by each full sync at most (oldest read first): every linked
/// record of a workspace with fewer is re-read at each reconciliation; a bigger one is covered
/// over several.
const RECORDS_REFRESHED_PER_SYNC: u32 = 500;
/// Names read by each full sync at most (the records it wants again, and any never read).
const NAME_READS_PER_SYNC: usize = 2_000;

/// How long a request waits for a sync before it lets it finish in the background.
pub const WAIT_FOR_SYNC: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct Syncer {
    locks: Mutex<HashMap<WorkspaceId, Arc<tokio::sync::Mutex<()>>>>,
}

impl Syncer {
    fn lock_for(&self, workspace: WorkspaceId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(workspace).or_default().clone()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    Synced {
        tasks: usize,
        members: usize,
    },
    NotLinked,
    /// The link is (now) broken; the reason is stored on it.
    LinkBroken,
    /// Attio could not be read this time; the message is stored on the workspace.
    Failed(String),
}

/// Backfills the cache of the user's workspace with the user's own token.
#[tracing::instrument(skip(state))]
pub async fn sync_for_user(state: &SyncService, user: UserId) -> anyhow::Result<SyncOutcome> {
    let Some(link) = state.store.link(user).await? else {
        return Ok(SyncOutcome::NotLinked);
    };
    if link.status == LinkStatus::Broken {
        return Ok(SyncOutcome::LinkBroken);
    }
    let lock = state.syncer.lock_for(link.workspace_id);
    let _guard = lock.lock().await;
    // Other instances sharing the database: one backfill of a workspace at a time. When
    // another instance is at it, wait for it to finish (or for its lease to run out, if it
    // died) and then read afresh, rather than fetching alongside it.
    let lease = crate::coordination::sync_lease(link.workspace_id);
    let ttl = state.settings.inbox_lease;
    if !state.leases.acquire_waiting(&lease, ttl, 2 * ttl).await? {
        return Ok(SyncOutcome::Failed(
            "another instance is still syncing this workspace".to_owned(),
        ));
    }
    let outcome = state
        .leases
        .holding(&lease, ttl, sync_with_link(state, user, link))
        .await;
    state.leases.release(&lease).await;
    outcome
}

/// The backfill itself, with the workspace's sync lease held.
async fn sync_with_link(
    state: &SyncService,
    user: UserId,
    link: crate::store::Link,
) -> anyhow::Result<SyncOutcome> {
    let client = state.attio.client(open_token(&state.cipher, &link)?);
    let result = async {
        match client.self_info().await? {
            SelfInfo::Inactive => return Ok(None),
            SelfInfo::Active(info) if info.workspace_id != link.workspace_id => {
                return Err(attio::AttioError::Decode(
                    "the token now belongs to another workspace".into(),
                ))
            }
            SelfInfo::Active(_) => {}
        }
        let members = client.list_members().await?;
        let mut tasks = client.all_tasks().await?;
        // The cache of a workspace only ever holds that workspace's tasks.
        tasks.retain(|task| task.id.workspace_id == link.workspace_id);
        Ok(Some((members, tasks)))
    }
    .await;

    let workspace = link.workspace_id;
    let outcome = match result {
        Ok(Some((members, tasks))) => {
            let diff = state
                .store
                .replace_workspace_cache(link.workspace_id, &members, &tasks, crate::now())
                .await?;
            if !diff.is_empty() {
                state
                    .coordinator
                    .publish(LiveEvent::new(link.workspace_id, Change::Tasks));
            }
            tracing::info!(
                tasks = tasks.len(),
                members = members.len(),
                ?diff,
                "workspace synced"
            );
            crate::sync::health::record(state, workspace, None).await?;
            if let Err(e) = sync_names(state, &client, workspace).await {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "could not read the workspace's names"
                );
            }
            if let Err(e) = crate::sync::registration::check(state, &link).await {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "could not check the workspace's webhook"
                );
            }
            Ok(SyncOutcome::Synced {
                tasks: tasks.len(),
                members: members.len(),
            })
        }
        Ok(None) => {
            state
                .store
                .mark_link_broken(
                    user,
                    "Attio reports that the access token is no longer active.",
                )
                .await?;
            state.coordinator.user_changed(user);
            no_access_unless_another_link(state, workspace).await?;
            Ok(SyncOutcome::LinkBroken)
        }
        Err(e) if e.is_auth_failure() => {
            tracing::warn!(error = %e, "Attio refused the token; marking the link broken");
            state.store.mark_link_broken(user, &e.to_string()).await?;
            state.coordinator.user_changed(user);
            no_access_unless_another_link(state, workspace).await?;
            Ok(SyncOutcome::LinkBroken)
        }
        Err(e) => {
            tracing::warn!(error = %e, "sync failed");
            let message = e.to_string();
            state.store.record_sync_error(workspace, &message).await?;
            if let Some(problem) = crate::sync::health::problem_of(&e) {
                crate::sync::health::record(state, workspace, Some(problem)).await?;
            }
            Ok(SyncOutcome::Failed(message))
        }
    };
    // Every finished sync can change what the page says (last synced, its error, staleness).
    state
        .coordinator
        .publish(LiveEvent::new(workspace, Change::Health));
    outcome
}

/// The objects list, then the linked records (never read, or read longest ago) and whatever
/// else the names cache wants. Names never fail a sync: what Attio does not answer stays
/// wanted.
async fn sync_names(
    state: &SyncService,
    client: &attio::Client,
    workspace: WorkspaceId,
) -> anyhow::Result<()> {
    match client.list_objects().await {
        Ok(objects) => {
            let reads = Reads {
                objects: Some(objects.into_iter().map(names::object_info).collect()),
                names: vec![NameRead::Found {
                    key: NameKey::objects(),
                    name: "*".to_owned(),
                    parent: None,
                }],
                ..Reads::default()
            };
            let changed = state
                .store
                .save_reads(workspace, &reads, crate::now_ms())
                .await?;
            if changed.records {
                state
                    .coordinator
                    .publish(LiveEvent::new(workspace, Change::Tasks));
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not read the workspace's objects"),
    }
    state
        .store
        .refresh_names(workspace, crate::now_ms(), RECORDS_REFRESHED_PER_SYNC)
        .await?;
    names::fill(state, workspace, NAME_READS_PER_SYNC, Pace::Backfill).await?;
    Ok(())
}

/// The workspace has lost access only when none of its links works any more.
async fn no_access_unless_another_link(
    state: &SyncService,
    workspace: WorkspaceId,
) -> anyhow::Result<()> {
    if state.store.active_links(workspace).await?.is_empty() {
        crate::sync::health::record(state, workspace, Some(UpstreamProblem::NoAccess)).await?;
    }
    Ok(())
}

/// Runs a sync in the background and waits for it up to `WAIT_FOR_SYNC`; returns `None` when it
/// is still running (it carries on and the page shows its progress when reloaded).
pub async fn sync_and_wait(
    state: &SyncService,
    user: UserId,
) -> Option<anyhow::Result<SyncOutcome>> {
    let background = state.clone();
    let handle = tokio::spawn(async move { sync_for_user(&background, user).await });
    match tokio::time::timeout(WAIT_FOR_SYNC, handle).await {
        Ok(Ok(result)) => Some(result),
        Ok(Err(join_error)) => Some(Err(anyhow::anyhow!("sync task failed: {join_error}"))),
        Err(_) => None,
    }
}

/// One reconciliation pass over every linked workspace: a full sync (which also catches
/// deletions missed while Taskr was down or unreachable) and a webhook check, each with the
/// oldest working link of the workspace.
pub async fn reconcile_all(state: &SyncService) -> anyhow::Result<()> {
    for workspace in state.store.linked_workspaces().await? {
        for link in state.store.active_links(workspace).await? {
            match sync_for_user(state, link.user_id).await {
                // A broken link was just found; try the workspace's next one.
                Ok(SyncOutcome::LinkBroken) => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(%workspace, error = format!("{e:#}"), "reconciliation failed");
                    break;
                }
            }
        }
    }
    Ok(())
}

/// One turn of the periodic reconciler: [`reconcile_all`] if this instance holds the
/// `reconciler` lease (taken for one interval and kept by whoever keeps taking turns), so that
/// of several instances only one reconciles per interval. True when this instance ran it.
pub async fn reconcile_turn(state: &SyncService) -> anyhow::Result<bool> {
    let interval = state.settings.reconcile_interval;
    if !state
        .leases
        .try_acquire(crate::coordination::RECONCILER, interval)
        .await?
    {
        tracing::debug!("another instance reconciles this interval");
        return Ok(false);
    }
    reconcile_all(state).await?;
    Ok(true)
}

/// Runs [`reconcile_turn`] every `interval` until `stop` turns true.
pub async fn run_reconciler(
    state: SyncService,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = reconcile_turn(&state).await {
            tracing::warn!(error = format!("{e:#}"), "reconciliation pass failed");
        }
    }
}
