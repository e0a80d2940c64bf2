//! OAuth state: pending consent requests, authorization codes and access tokens (OAuth and API
//! keys). Codes and tokens are global tables, and each records the one workspace it belongs to.
//!
//! Consent requests, codes and tokens are keyed by a hash of the secret (so a saved state holds
//! hashes only); only `issued` keeps raw OAuth tokens, so that tests can prove those never leak
//! anywhere else, and it is never saved.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::{Store, WorkspaceKey};
use crate::ids::{random_secret, secret_key};

/// How long a consent page stays valid between `GET` and `POST /authorize`.
pub(super) const PENDING_TTL: Duration = Duration::from_secs(10 * 60);

/// Who a token was issued to.
pub(crate) enum TokenKind {
    OAuth { client_id: String },
    ApiKey,
}

/// An access token or API key. Deliberately not `Debug`: it sits next to secrets.
pub(crate) struct AccessToken {
    pub id: Uuid,
    pub kind: TokenKind,
    pub scopes: Vec<String>,
    /// The workspace the token was issued in; it sees nothing else.
    pub workspace_id: Uuid,
    pub member_id: Uuid,
    pub iat: i64,
    pub active: bool,
}

/// A consent page shown but not yet answered.
pub(crate) struct PendingAuthorization {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    /// The workspace the page was rendered for: the answer's default when its form names none.
    pub workspace_id: Uuid,
    pub(super) created: Instant,
}

pub(super) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub workspace_id: Uuid,
    pub member_id: Uuid,
    pub issued: Instant,
    /// Key of the token this code was exchanged for; set once the code is used.
    pub redeemed_as: Option<String>,
}

/// Why `POST /oauth/token` refused a code; all map to `invalid_grant`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RedeemError {
    Unknown,
    AlreadyUsed,
    Expired,
    OtherClient,
    RedirectMismatch,
}

/// Each table is keyed by [`secret_key`] of the secret the client holds.
#[derive(Default)]
pub(super) struct AuthState {
    pub pending: HashMap<String, PendingAuthorization>,
    pub codes: HashMap<String, AuthCode>,
    pub tokens: HashMap<String, AccessToken>,
    pub issued: Vec<String>,
}

impl Store {
    /// Remembers a consent request and returns its single-use id.
    pub fn begin_authorization(
        &mut self,
        client_id: &str,
        redirect_uri: &str,
        state: Option<String>,
        workspace_id: Uuid,
    ) -> String {
        let now = Instant::now();
        self.auth
            .pending
            .retain(|_, p| now.duration_since(p.created) < PENDING_TTL);
        let id = random_secret();
        self.auth.pending.insert(
            secret_key(&id),
            PendingAuthorization {
                client_id: client_id.to_owned(),
                redirect_uri: redirect_uri.to_owned(),
                state,
                workspace_id,
                created: now,
            },
        );
        id
    }

    /// Removes and returns a consent request, unless it is unknown or expired.
    pub fn take_pending(&mut self, request_id: &str) -> Option<PendingAuthorization> {
        let pending = self.auth.pending.remove(&secret_key(request_id))?;
        (pending.created.elapsed() < PENDING_TTL).then_some(pending)
    }

    /// Issues an authorization code for an approved request, for a member of `workspace_id`.
    pub fn issue_code(
        &mut self,
        pending: &PendingAuthorization,
        workspace_id: Uuid,
        member_id: Uuid,
    ) -> String {
        let code = random_secret();
        self.auth.codes.insert(
            secret_key(&code),
            AuthCode {
                client_id: pending.client_id.clone(),
                redirect_uri: pending.redirect_uri.clone(),
                workspace_id,
                member_id,
                issued: Instant::now(),
                redeemed_as: None,
            },
        );
        code
    }

    /// Exchanges a code for an access token. A second use revokes the token the first use
    /// produced (RFC 6749 §10.5); a code presented by another client is left untouched.
    pub fn redeem_code(
        &mut self,
        client_id: &str,
        code: &str,
        redirect_uri: Option<&str>,
    ) -> Result<String, RedeemError> {
        let ttl = self.code_ttl;
        let entry = self
            .auth
            .codes
            .get_mut(&secret_key(code))
            .ok_or(RedeemError::Unknown)?;
        if entry.client_id != client_id {
            return Err(RedeemError::OtherClient);
        }
        if let Some(token_key) = &entry.redeemed_as {
            if let Some(token) = self.auth.tokens.get_mut(token_key) {
                token.active = false;
            }
            return Err(RedeemError::AlreadyUsed);
        }
        if entry.issued.elapsed() >= ttl {
            return Err(RedeemError::Expired);
        }
        if redirect_uri != Some(entry.redirect_uri.as_str()) {
            return Err(RedeemError::RedirectMismatch);
        }
        let (workspace_id, member_id) = (entry.workspace_id, entry.member_id);
        let token = random_secret();
        entry.redeemed_as = Some(secret_key(&token));
        let scopes = self
            .app(client_id)
            .map(|app| app.scopes.clone())
            .unwrap_or_default();
        self.insert_token(
            &token,
            TokenKind::OAuth {
                client_id: client_id.to_owned(),
            },
            scopes,
            workspace_id,
            member_id,
        );
        self.auth.issued.push(token.clone());
        Ok(token)
    }

    /// Creates an API key of one workspace, acting as its admin member.
    pub fn mint_api_key(&mut self, workspace: WorkspaceKey, scopes: Vec<String>) -> String {
        let token = random_secret();
        let store = self.at(workspace);
        let (workspace_id, admin) = (store.workspace.id, store.admin_member_id());
        self.insert_token(&token, TokenKind::ApiKey, scopes, workspace_id, admin);
        token
    }

    fn insert_token(
        &mut self,
        token: &str,
        kind: TokenKind,
        scopes: Vec<String>,
        workspace_id: Uuid,
        member: Uuid,
    ) {
        self.auth.tokens.insert(
            secret_key(token),
            AccessToken {
                id: Uuid::new_v4(),
                kind,
                scopes,
                workspace_id,
                member_id: member,
                iat: time::OffsetDateTime::now_utc().unix_timestamp(),
                active: true,
            },
        );
    }

    /// The token behind a bearer secret, if it is known and still active.
    pub fn active_token(&self, token: &str) -> Option<&AccessToken> {
        self.auth
            .tokens
            .get(&secret_key(token))
            .filter(|t| t.active)
    }

    /// Deactivates a token; unknown tokens are ignored (RFC 7009).
    pub fn revoke_token(&mut self, token: &str) {
        if let Some(t) = self.auth.tokens.get_mut(&secret_key(token)) {
            t.active = false;
        }
    }

    pub fn revoke_all_tokens(&mut self) {
        for token in self.auth.tokens.values_mut() {
            token.active = false;
        }
    }

    pub fn issued_access_tokens(&self) -> Vec<String> {
        self.auth.issued.clone()
    }
}
