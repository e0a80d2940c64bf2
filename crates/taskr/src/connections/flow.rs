//! Creating and removing connections: the OAuth 2.0 authorization-code flow with PKCE and a
//! single-use, session-bound, expiring `state`; saving a secret; disconnecting (revoking at the
//! provider first when it has a revocation URL). Only admins manage workspace connections.

use subtle::ConstantTimeEq;
use url::Url;

use super::oauth;
use super::providers::{redirect_uri, Provider, ProviderKind};
use super::service::{Connections, Ctx, NewValue};
use crate::crypto::random_token;
use crate::store::{contexts, ConnectionFlow, Owner, OwnerKind, ProviderName};

/// How long a user has to approve at the provider.
pub const FLOW_TTL_SECS: i64 = 10 * 60;

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("There is no connection provider by that name.")]
    UnknownProvider,
    #[error("{0} does not offer this kind of connection.")]
    ScopeNotAllowed(String),
    #[error("Only workspace admins can manage workspace connections. Ask an admin of your Attio workspace.")]
    AdminOnly,
    #[error("Connect an Attio workspace first: workspace connections belong to one.")]
    NoWorkspace,
    #[error("This connection attempt is not valid (it was already used, or started in another session). Start again.")]
    BadState,
    #[error("This connection attempt expired. Start again.")]
    Expired,
    #[error("You cancelled at {0}, so nothing was connected.")]
    Denied(String),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    InvalidSecret(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::store::StoreError> for FlowError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Internal(e.into())
    }
}

/// The callback registered at the provider, as oauth2 takes it.
fn callback_url(
    public_url: &Url,
    provider: &ProviderName,
) -> Result<oauth::RedirectUrl, FlowError> {
    oauth::RedirectUrl::new(redirect_uri(public_url, provider)).map_err(|e| {
        FlowError::Internal(anyhow::Error::from(e).context("the connections callback URL"))
    })
}

/// The provider, and the owner a connection of `scope` would have for this user.
fn target<'a>(
    connections: &'a Connections,
    ctx: &Ctx,
    name: &ProviderName,
    scope: OwnerKind,
) -> Result<(&'a Provider, Owner), FlowError> {
    let provider = connections
        .provider(name)
        .ok_or(FlowError::UnknownProvider)?;
    let allowed = match scope {
        OwnerKind::User => provider.allow_user,
        OwnerKind::Workspace => provider.allow_workspace,
    };
    if !allowed {
        return Err(FlowError::ScopeNotAllowed(provider.display_name.clone()));
    }
    if scope == OwnerKind::Workspace {
        if ctx.workspace.is_none() {
            return Err(FlowError::NoWorkspace);
        }
        if !ctx.is_admin {
            return Err(FlowError::AdminOnly);
        }
    }
    let owner = connections
        .owner(ctx, scope)
        .ok_or(FlowError::NoWorkspace)?;
    Ok((provider, owner))
}

pub async fn begin_oauth(
    connections: &Connections,
    ctx: &Ctx,
    session_hash: Vec<u8>,
    public_url: &Url,
    name: &ProviderName,
    scope: OwnerKind,
    return_to: &str,
) -> Result<Url, FlowError> {
    let (provider, owner) = target(connections, ctx, name, scope)?;
    let Some(config) = provider.oauth2() else {
        return Err(FlowError::ScopeNotAllowed(provider.display_name.clone()));
    };
    let state = random_token();
    let state_hash = connections
        .cipher()
        .mac(crate::crypto::purposes::CONNECTION_STATE, state.as_bytes())
        .to_vec();
    let (challenge, verifier) = oauth::new_pkce();
    connections
        .store()
        .put_connection_flow(&ConnectionFlow {
            verifier: connections.cipher().seal(
                verifier.secret().as_bytes(),
                &contexts::flow_verifier(&state_hash),
            ),
            state_hash,
            session_hash,
            user_id: ctx.user,
            provider: provider.name.clone(),
            owner,
            return_to: return_to.to_owned(),
            expires_at: crate::now() + FLOW_TTL_SECS,
        })
        .await?;
    Ok(oauth::authorize_url(
        config,
        &callback_url(public_url, &provider.name)?,
        &state,
        config.pkce.then_some(challenge),
    ))
}

/// Finishes a flow; returns the page to send the user back to.
pub async fn complete_oauth(
    connections: &Connections,
    ctx: &Ctx,
    session_hash: &[u8],
    public_url: &Url,
    name: &ProviderName,
    params: &crate::oauth_callback::CallbackParams,
) -> Result<String, FlowError> {
    let raw_state = params.state.as_deref().unwrap_or_default();
    if raw_state.is_empty() || raw_state.len() > 256 {
        return Err(FlowError::BadState);
    }
    let state_hash = connections.cipher().mac(
        crate::crypto::purposes::CONNECTION_STATE,
        raw_state.as_bytes(),
    );
    let flow = connections
        .store()
        .take_connection_flow(&state_hash)
        .await?
        .ok_or(FlowError::BadState)?;
    let same_session: bool = flow.session_hash.ct_eq(session_hash).into();
    if !same_session || flow.user_id != ctx.user || flow.provider != *name {
        return Err(FlowError::BadState);
    }
    if flow.expires_at <= crate::now() {
        return Err(FlowError::Expired);
    }
    // The user's role may have changed since the flow started: check again.
    let (provider, owner) = target(connections, ctx, name, flow.owner.kind)?;
    if owner != flow.owner {
        return Err(FlowError::BadState);
    }
    if let Some(error) = &params.error {
        return Err(if error == "access_denied" {
            FlowError::Denied(provider.display_name.clone())
        } else {
            FlowError::Refused(format!(
                "{} did not connect ({}).",
                provider.display_name,
                params
                    .error_description
                    .as_deref()
                    .unwrap_or(error)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ))
        });
    }
    let code = params
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            FlowError::Refused(format!(
                "{}'s answer had no authorization code.",
                provider.display_name
            ))
        })?;
    let config = provider.oauth2().ok_or(FlowError::UnknownProvider)?;
    let verifier = String::from_utf8(
        connections
            .cipher()
            .open(&flow.verifier, &contexts::flow_verifier(&flow.state_hash))
            .map_err(anyhow::Error::from)?,
    )
    .map_err(anyhow::Error::from)?;
    let tokens = oauth::exchange_code(
        connections.http(),
        config,
        code,
        &callback_url(public_url, name)?,
        config.pkce.then(|| oauth::PkceCodeVerifier::new(verifier)),
    )
    .await
    .map_err(|e| {
        FlowError::Refused(format!(
            "{} refused the authorization ({e}). Start again.",
            provider.display_name
        ))
    })?;
    connections
        .store_value(
            provider,
            owner,
            ctx.user,
            NewValue {
                value: tokens.access_token.secret(),
                refresh: tokens.refresh_token.as_ref().map(|t| t.secret().as_str()),
                expires_at: tokens.expires_in.map(|d| crate::now() + d.as_secs() as i64),
                scope: tokens.scope,
            },
        )
        .await?;
    tracing::info!(provider = %name, scope = flow.owner.kind.as_str(), user = %ctx.user, "connected");
    Ok(flow.return_to)
}

/// Stores a secret after checking it against the provider's pattern.
pub async fn save_secret(
    connections: &Connections,
    ctx: &Ctx,
    name: &ProviderName,
    scope: OwnerKind,
    value: &str,
) -> Result<(), FlowError> {
    let (provider, owner) = target(connections, ctx, name, scope)?;
    let ProviderKind::Secret { pattern, .. } = &provider.kind else {
        return Err(FlowError::ScopeNotAllowed(provider.display_name.clone()));
    };
    let value = value.trim();
    if value.is_empty() {
        return Err(FlowError::InvalidSecret("Enter the secret.".into()));
    }
    if value.len() > 4096 {
        return Err(FlowError::InvalidSecret("That secret is too long.".into()));
    }
    if let Some(pattern) = pattern {
        if !pattern.is_match(value) {
            return Err(FlowError::InvalidSecret(format!(
                "That does not look like a {} secret.",
                provider.display_name
            )));
        }
    }
    connections
        .store_value(
            provider,
            owner,
            ctx.user,
            NewValue {
                value,
                refresh: None,
                expires_at: None,
                scope: None,
            },
        )
        .await?;
    tracing::info!(provider = %name, scope = scope.as_str(), user = %ctx.user, "secret saved");
    Ok(())
}

/// Revokes at the provider when it has a revocation URL, then deletes. Returns false when the
/// provider could not be told (the connection is deleted all the same).
pub async fn disconnect(
    connections: &Connections,
    ctx: &Ctx,
    name: &ProviderName,
    scope: OwnerKind,
) -> Result<bool, FlowError> {
    let (provider, owner) = target(connections, ctx, name, scope)?;
    let Some(record) = connections.store().connection(name, &owner).await? else {
        return Ok(true);
    };
    let mut revoked = true;
    let revocation = provider
        .oauth2()
        .and_then(|config| Some((config, config.revocation_url.as_ref()?)));
    if let Some((config, url)) = revocation {
        // Revoking the refresh token ends the whole grant; the access token is revoked too in
        // case the provider treats them separately.
        let mut tokens = Vec::new();
        if let Some(refresh) = &record.refresh {
            tokens.push(oauth::Revocable::Refresh(oauth::RefreshToken::new(
                connections.open_part(&record, refresh, "refresh")?,
            )));
        }
        tokens.push(oauth::Revocable::Access(oauth::AccessToken::new(
            connections.open_part(&record, &record.value, "value")?,
        )));
        for token in tokens {
            if let Err(e) = oauth::revoke(connections.http(), config, url, token).await {
                tracing::warn!(provider = %name, error = %e, "could not revoke at the provider");
                revoked = false;
            }
        }
    }
    connections.store().delete_connection(name, &owner).await?;
    connections.invalidate(name, &owner);
    tracing::info!(provider = %name, scope = scope.as_str(), user = %ctx.user, revoked, "disconnected");
    Ok(revoked)
}
