//! OAuth state in a snapshot: consent pages not yet answered, authorization codes, and access
//! tokens and API keys. Every secret a client holds (request id, code, token) is kept only as
//! the key the store looks it up by: base64url (no padding) of its SHA-256. The raw tokens the
//! store remembers for leak tests (`issued`) are never saved.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Clock, Ts};
use crate::store::auth::{AccessToken, AuthCode, AuthState, PENDING_TTL};
use crate::store::{PendingAuthorization, TokenKind, WorkspaceStore};

#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthSnapshot {
    pending: Vec<PendingState>,
    codes: Vec<CodeState>,
    tokens: Vec<TokenState>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PendingState {
    request_id_sha256: String,
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    workspace_id: Uuid,
    created_at: Ts,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeState {
    code_sha256: String,
    client_id: String,
    redirect_uri: String,
    workspace_id: Uuid,
    member_id: Uuid,
    issued_at: Ts,
    /// The token the code was exchanged for, once it was.
    redeemed_as_sha256: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenState {
    token_sha256: String,
    id: Uuid,
    kind: KindState,
    scopes: Vec<String>,
    workspace_id: Uuid,
    member_id: Uuid,
    iat: i64,
    active: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum KindState {
    /// Issued at `/oauth/token` to this OAuth app.
    Oauth {
        client_id: String,
    },
    ApiKey,
}

impl AuthSnapshot {
    /// Sorted by key, so that equal states give equal files.
    pub(super) fn from_state(auth: &AuthState, clock: Clock) -> AuthSnapshot {
        let AuthState {
            pending,
            codes,
            tokens,
            issued: _,
        } = auth;
        let mut pending: Vec<PendingState> = pending
            .iter()
            .map(|(key, p)| {
                let PendingAuthorization {
                    client_id,
                    redirect_uri,
                    state,
                    workspace_id,
                    created,
                } = p;
                PendingState {
                    request_id_sha256: key.clone(),
                    client_id: client_id.clone(),
                    redirect_uri: redirect_uri.clone(),
                    state: state.clone(),
                    workspace_id: *workspace_id,
                    created_at: clock.wall_of(*created),
                }
            })
            .collect();
        pending.sort_by(|a, b| a.request_id_sha256.cmp(&b.request_id_sha256));
        let mut codes: Vec<CodeState> = codes
            .iter()
            .map(|(key, c)| {
                let AuthCode {
                    client_id,
                    redirect_uri,
                    workspace_id,
                    member_id,
                    issued,
                    redeemed_as,
                } = c;
                CodeState {
                    code_sha256: key.clone(),
                    client_id: client_id.clone(),
                    redirect_uri: redirect_uri.clone(),
                    workspace_id: *workspace_id,
                    member_id: *member_id,
                    issued_at: clock.wall_of(*issued),
                    redeemed_as_sha256: redeemed_as.clone(),
                }
            })
            .collect();
        codes.sort_by(|a, b| a.code_sha256.cmp(&b.code_sha256));
        let mut tokens: Vec<TokenState> = tokens
            .iter()
            .map(|(key, t)| {
                let AccessToken {
                    id,
                    kind,
                    scopes,
                    workspace_id,
                    member_id,
                    iat,
                    active,
                } = t;
                TokenState {
                    token_sha256: key.clone(),
                    id: *id,
                    kind: match kind {
                        TokenKind::OAuth { client_id } => KindState::Oauth {
                            client_id: client_id.clone(),
                        },
                        TokenKind::ApiKey => KindState::ApiKey,
                    },
                    scopes: scopes.clone(),
                    workspace_id: *workspace_id,
                    member_id: *member_id,
                    iat: *iat,
                    active: *active,
                }
            })
            .collect();
        tokens.sort_by(|a, b| a.token_sha256.cmp(&b.token_sha256));
        AuthSnapshot {
            pending,
            codes,
            tokens,
        }
    }

    /// The tables, checked: keys are SHA-256 digests, every entry belongs to one of
    /// `workspaces`, no key appears twice. Consent requests and codes that have expired since
    /// they were saved are dropped.
    pub(super) fn into_state(
        self,
        workspaces: &[WorkspaceStore],
        clock: Clock,
        code_ttl: std::time::Duration,
    ) -> Result<AuthState, String> {
        let known = |id: Uuid, at: &str| {
            if workspaces.iter().any(|w| w.workspace.id == id) {
                Ok(())
            } else {
                Err(format!("{at}.workspace_id: no workspace {id}"))
            }
        };
        let mut auth = AuthState::default();
        for (i, p) in self.pending.into_iter().enumerate() {
            let at = format!("auth.pending[{i}]");
            digest(&p.request_id_sha256, &format!("{at}.request_id_sha256"))?;
            known(p.workspace_id, &at)?;
            if clock.age(p.created_at) >= PENDING_TTL {
                continue;
            }
            let pending = PendingAuthorization {
                client_id: p.client_id,
                redirect_uri: p.redirect_uri,
                state: p.state,
                workspace_id: p.workspace_id,
                created: clock.instant_of(p.created_at),
            };
            if auth.pending.insert(p.request_id_sha256, pending).is_some() {
                return Err(format!("{at}.request_id_sha256: appears twice"));
            }
        }
        for (i, c) in self.codes.into_iter().enumerate() {
            let at = format!("auth.codes[{i}]");
            digest(&c.code_sha256, &format!("{at}.code_sha256"))?;
            if let Some(token) = &c.redeemed_as_sha256 {
                digest(token, &format!("{at}.redeemed_as_sha256"))?;
            }
            known(c.workspace_id, &at)?;
            if clock.age(c.issued_at) >= code_ttl {
                continue;
            }
            let code = AuthCode {
                client_id: c.client_id,
                redirect_uri: c.redirect_uri,
                workspace_id: c.workspace_id,
                member_id: c.member_id,
                issued: clock.instant_of(c.issued_at),
                redeemed_as: c.redeemed_as_sha256,
            };
            if auth.codes.insert(c.code_sha256, code).is_some() {
                return Err(format!("{at}.code_sha256: appears twice"));
            }
        }
        for (i, t) in self.tokens.into_iter().enumerate() {
            let at = format!("auth.tokens[{i}]");
            digest(&t.token_sha256, &format!("{at}.token_sha256"))?;
            known(t.workspace_id, &at)?;
            let token = AccessToken {
                id: t.id,
                kind: match t.kind {
                    KindState::Oauth { client_id } => TokenKind::OAuth { client_id },
                    KindState::ApiKey => TokenKind::ApiKey,
                },
                scopes: t.scopes,
                workspace_id: t.workspace_id,
                member_id: t.member_id,
                iat: t.iat,
                active: t.active,
            };
            if auth.tokens.insert(t.token_sha256, token).is_some() {
                return Err(format!("{at}.token_sha256: appears twice"));
            }
        }
        Ok(auth)
    }
}

/// A lookup key: base64url without padding of a SHA-256 digest (43 characters); a key of any
/// other shape could never match a secret, so it is refused.
fn digest(key: &str, at: &str) -> Result<(), String> {
    let shaped = key.len() == 43
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if shaped {
        Ok(())
    } else {
        Err(format!(
            "{at}: must be a SHA-256 digest in base64url (43 characters)"
        ))
    }
}
