//! Taskr's webhook at Attio: one per linked workspace, for all 27 event types. Registered when a
//! workspace is first linked, checked on every reconciliation (re-created when deleted or
//! inactive), deleted with the workspace's last link. Secrets are sealed at rest and kept
//! opened in memory for verification.

use std::collections::HashMap;
use std::sync::RwLock;

use attio::{AttioError, Subscription, WebhookSecret};
use uuid::Uuid;

use crate::attio_gateway::open_token;
use crate::live::{Change, LiveEvent};
use crate::store::{Link, WebhookRecord, WorkspaceId};
use crate::sync::SyncService;

/// Opened webhook secrets by webhook id, so that verifying a delivery costs no database read.
#[derive(Default)]
pub struct SecretCache {
    secrets: RwLock<HashMap<Uuid, (WorkspaceId, WebhookSecret)>>,
}

impl SecretCache {
    fn get(&self, webhook: Uuid) -> Option<(WorkspaceId, WebhookSecret)> {
        self.secrets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&webhook)
            .cloned()
    }

    fn put(&self, webhook: Uuid, workspace: WorkspaceId, secret: WebhookSecret) {
        self.secrets
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(webhook, (workspace, secret));
    }

    pub fn forget(&self, webhook: Uuid) {
        self.secrets
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&webhook);
    }

    fn all(&self) -> Vec<(Uuid, WorkspaceId, WebhookSecret)> {
        self.secrets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(w, (ws, s))| (*w, *ws, s.clone()))
            .collect()
    }
}

fn secret_context(workspace: WorkspaceId) -> String {
    crate::crypto::contexts::webhook_secret(&workspace.to_string())
}

/// The workspace and secret of a webhook Taskr registered, or `None` for an unknown id.
pub async fn secret_for(
    state: &SyncService,
    webhook: Uuid,
) -> anyhow::Result<Option<(WorkspaceId, WebhookSecret)>> {
    if let Some(found) = state.webhook_secrets.get(webhook) {
        return Ok(Some(found));
    }
    let Some(record) = state.store.webhook_by_id(webhook).await? else {
        return Ok(None);
    };
    let secret = WebhookSecret::new(String::from_utf8(
        state
            .cipher
            .open(&record.secret, &secret_context(record.workspace_id))?,
    )?);
    state
        .webhook_secrets
        .put(webhook, record.workspace_id, secret.clone());
    Ok(Some((record.workspace_id, secret)))
}

/// Every secret of every webhook Taskr knows, for a body whose webhook id cannot be read.
pub async fn all_secrets(
    state: &SyncService,
) -> anyhow::Result<Vec<(Uuid, WorkspaceId, WebhookSecret)>> {
    for workspace in state.store.linked_workspaces().await? {
        if let Some(record) = state.store.webhook_for_workspace(workspace).await? {
            secret_for(state, record.webhook_id).await?;
        }
    }
    Ok(state.webhook_secrets.all())
}

async fn create(state: &SyncService, link: &Link) -> Result<WebhookRecord, anyhow::Error> {
    let client = state.attio.client(open_token(&state.cipher, link)?);
    let created = client
        .create_webhook(&state.settings.webhook_url(), &Subscription::all_events())
        .await?;
    let now = crate::now();
    Ok(WebhookRecord {
        workspace_id: link.workspace_id,
        webhook_id: created.webhook.id.webhook_id,
        target_url: created.webhook.target_url,
        secret: state.cipher.seal(
            created.secret.expose().as_bytes(),
            &secret_context(link.workspace_id),
        ),
        status: if created.webhook.status.is_empty() {
            "active".to_owned()
        } else {
            created.webhook.status
        },
        checked_at: now,
        created_at: now,
    })
}

/// Makes sure the link's workspace has Taskr's webhook. Failures are recorded on the workspace
/// (its pages say live updates are off) rather than returned: reconciliation still works.
#[tracing::instrument(skip_all, fields(workspace = %link.workspace_id))]
pub async fn ensure(state: &SyncService, link: &Link) -> anyhow::Result<()> {
    if let Err(why) = state.settings.webhook_reachability() {
        if state.webhook_unreachable_logged.set(()).is_ok() {
            tracing::warn!("{why}");
        }
        state
            .store
            .set_webhook_note(link.workspace_id, Some(&why))
            .await?;
        webhook_changed(state, link);
        return Ok(());
    }
    if state
        .store
        .webhook_for_workspace(link.workspace_id)
        .await?
        .is_some()
    {
        return Ok(());
    }
    match create(state, link).await {
        Ok(record) => {
            if state.store.insert_webhook(&record).await? {
                tracing::info!(webhook = %record.webhook_id, "registered the workspace's webhook");
                state
                    .store
                    .set_webhook_note(link.workspace_id, None)
                    .await?;
            } else {
                // Another link of the same workspace won the race; ours is surplus.
                delete_at_attio(state, link, record.webhook_id).await;
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not register a webhook at Attio");
            state
                .store
                .set_webhook_note(
                    link.workspace_id,
                    Some(&format!(
                        "Taskr could not register its webhook at Attio ({e}); live updates are off \
                         until the next reconciliation succeeds."
                    )),
                )
                .await?;
        }
    }
    webhook_changed(state, link);
    Ok(())
}

/// Pages show the webhook's status and note: tell them (and the read model) it changed.
fn webhook_changed(state: &SyncService, link: &Link) {
    state
        .coordinator
        .publish(LiveEvent::new(link.workspace_id, Change::Health));
}

async fn delete_at_attio(state: &SyncService, link: &Link, webhook: Uuid) {
    let result = match open_token(&state.cipher, link) {
        Ok(token) => state.attio.client(token).delete_webhook(webhook).await,
        Err(e) => {
            tracing::warn!(error = %e, "could not open a token to delete a webhook");
            return;
        }
    };
    match result {
        Ok(()) | Err(AttioError::NotFound(_)) => {}
        Err(e) => tracing::warn!(error = %e, %webhook, "could not delete a webhook at Attio"),
    }
}

/// Called before the workspace's last link goes: the webhook is deleted at Attio while a token
/// can still do it.
pub async fn remove_for_last_link(state: &SyncService, link: &Link) -> anyhow::Result<()> {
    if state.store.link_count(link.workspace_id).await? > 1 {
        return Ok(());
    }
    if let Some(record) = state.store.webhook_for_workspace(link.workspace_id).await? {
        delete_at_attio(state, link, record.webhook_id).await;
        state.store.delete_webhook(link.workspace_id).await?;
        state.webhook_secrets.forget(record.webhook_id);
        webhook_changed(state, link);
    }
    Ok(())
}

/// The periodic check: re-creates a webhook that was deleted at Attio or became inactive, and
/// records what Attio says of its status.
#[tracing::instrument(skip_all, fields(workspace = %link.workspace_id))]
pub async fn check(state: &SyncService, link: &Link) -> anyhow::Result<()> {
    let Some(record) = state.store.webhook_for_workspace(link.workspace_id).await? else {
        return ensure(state, link).await;
    };
    let client = state.attio.client(open_token(&state.cipher, link)?);
    let status = match client.get_webhook(record.webhook_id).await {
        Ok(webhook) => webhook.status,
        Err(AttioError::NotFound(_)) => "deleted".to_owned(),
        Err(e) => return Err(e.into()),
    };
    if status == "deleted" || status == "inactive" {
        tracing::warn!(webhook = %record.webhook_id, %status, "re-creating the workspace's webhook");
        if status == "inactive" {
            delete_at_attio(state, link, record.webhook_id).await;
        }
        let fresh = create(state, link).await?;
        state.store.replace_webhook(&fresh).await?;
        state.webhook_secrets.forget(record.webhook_id);
        state
            .store
            .set_webhook_note(link.workspace_id, None)
            .await?;
    } else {
        state
            .store
            .set_webhook_status(link.workspace_id, &status, crate::now())
            .await?;
    }
    webhook_changed(state, link);
    Ok(())
}
