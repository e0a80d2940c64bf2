//! The Attio link: the OAuth 2.0 client side (state, code exchange, identity, sealed storage,
//! revocation). Handlers in `web::attio` call these functions; nothing here knows about HTTP
//! requests or pages. It works through the sync service: a new link wakes the workspace's
//! waiting deliveries and registers its webhook, and the last link takes the webhook with it.

use subtle::ConstantTimeEq;
use url::Url;

use attio::{AttioError, SelfInfo};

use crate::attio_gateway::{open_token, seal_token};
use crate::crypto::random_token;
use crate::live::{Change, LiveEvent};
pub use crate::oauth_callback::CallbackParams;
use crate::store::{Link, LinkStatus, OAuthState, UserId, WorkspaceId, WorkspaceInfo};
use crate::sync::SyncService;

/// How long a user has to approve at Attio.
pub const STATE_TTL_SECS: i64 = 10 * 60;

/// Why a callback did not produce a link. Each maps to a message for the user.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("You cancelled the connection at Attio, so nothing was connected.")]
    Denied,
    #[error("Attio did not connect your workspace ({0}). Please try again.")]
    AttioRefused(String),
    #[error("This connection attempt is not valid (it was already used, or started in another session). Start again from Taskr.")]
    BadState,
    #[error("This connection attempt expired. Start again from Taskr.")]
    ExpiredState,
    #[error("Attio's answer had no authorization code.")]
    MissingCode,
    #[error("Attio reports that the new token is not active.")]
    InactiveToken,
    #[error(transparent)]
    Attio(#[from] AttioError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Creates a single-use state bound to this session and user, and returns where to send the
/// browser.
pub async fn begin(
    state: &SyncService,
    user: UserId,
    session_hash: Vec<u8>,
) -> Result<Url, LinkError> {
    let token = random_token();
    state
        .store
        .put_oauth_state(&OAuthState {
            state_hash: state
                .cipher
                .mac(crate::crypto::purposes::OAUTH_STATE, token.as_bytes())
                .to_vec(),
            session_hash,
            user_id: user,
            expires_at: crate::now() + STATE_TTL_SECS,
        })
        .await?;
    Ok(state.attio.oauth.authorize_url(&attio::AuthorizeRequest {
        redirect_uri: &state.attio.redirect_uri,
        state: &token,
    }))
}

/// Checks the state (consuming it), then either records a refusal or exchanges the code,
/// learns the workspace from `/v2/self` and stores the sealed token.
pub async fn complete(
    state: &SyncService,
    user: UserId,
    session_hash: &[u8],
    params: CallbackParams,
) -> Result<WorkspaceInfo, LinkError> {
    let raw_state = params.state.as_deref().unwrap_or_default();
    if raw_state.is_empty() || raw_state.len() > 256 {
        return Err(LinkError::BadState);
    }
    let stored = state
        .store
        .take_oauth_state(
            &state
                .cipher
                .mac(crate::crypto::purposes::OAUTH_STATE, raw_state.as_bytes()),
        )
        .await?
        .ok_or(LinkError::BadState)?;
    let same_session: bool = stored.session_hash.ct_eq(session_hash).into();
    if !same_session || stored.user_id != user {
        return Err(LinkError::BadState);
    }
    if stored.expires_at <= crate::now() {
        return Err(LinkError::ExpiredState);
    }
    if let Some(error) = params.error {
        return Err(if error == "access_denied" {
            LinkError::Denied
        } else {
            let detail = params.error_description.unwrap_or(error);
            LinkError::AttioRefused(detail.chars().take(200).collect())
        });
    }
    let code = params
        .code
        .filter(|c| !c.is_empty())
        .ok_or(LinkError::MissingCode)?;

    let token = state
        .attio
        .oauth
        .exchange_code(&code, &state.attio.redirect_uri)
        .await?;
    let info = match state.attio.client(token.clone()).self_info().await? {
        SelfInfo::Active(info) => info,
        SelfInfo::Inactive => return Err(LinkError::InactiveToken),
    };
    let workspace = WorkspaceInfo {
        id: WorkspaceId(info.workspace_id),
        name: info.workspace_name.clone(),
        slug: info.workspace_slug.clone(),
    };
    let link = Link {
        user_id: user,
        workspace_id: workspace.id,
        member_id: info.authorized_by_workspace_member_id,
        scopes: info.scope.clone(),
        token: seal_token(&state.cipher, user, &token),
        status: LinkStatus::Active,
        broken_reason: None,
        created_at: crate::now(),
    };
    state.store.save_link(&workspace, &link).await?;
    state.coordinator.user_changed(user);
    // The workspace's name may have changed.
    state
        .coordinator
        .publish(LiveEvent::new(workspace.id, Change::Health));
    tracing::info!(user = %user, workspace = %workspace.id, "linked an Attio workspace");
    // Deliveries that waited for a working token (possibly minutes of back-off) are due now.
    let woken = state
        .store
        .inbox_wake(workspace.id, crate::now_ms())
        .await?;
    if woken > 0 {
        tracing::info!(
            rows = woken,
            "woke deliveries that waited for a working token"
        );
        state.coordinator.wake_worker();
    }
    if let Err(e) = crate::sync::registration::ensure(state, &link).await {
        tracing::warn!(
            error = format!("{e:#}"),
            "could not set up the workspace's webhook"
        );
    }
    Ok(workspace)
}

/// Revokes the token at Attio, then forgets the link. Returns false when Attio could not be
/// told (the link is forgotten all the same: the user asked to disconnect).
pub async fn disconnect(state: &SyncService, user: UserId) -> anyhow::Result<bool> {
    let Some(link) = state.store.link(user).await? else {
        return Ok(true);
    };
    // The webhook goes with the workspace's last link, while this token can still delete it.
    if let Err(e) = crate::sync::registration::remove_for_last_link(state, &link).await {
        tracing::warn!(
            error = format!("{e:#}"),
            "could not remove the workspace's webhook"
        );
    }
    let revoked = match open_token(&state.cipher, &link) {
        Ok(token) => match state.attio.oauth.revoke(&token).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "could not revoke the Attio token");
                false
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "could not open the stored Attio token");
            false
        }
    };
    state.store.delete_link(user).await?;
    state.coordinator.user_changed(user);
    tracing::info!(user = %user, revoked, "disconnected from Attio");
    Ok(revoked)
}
