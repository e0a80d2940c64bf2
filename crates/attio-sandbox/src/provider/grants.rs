//! The authorization server's memory: consent requests waiting for an answer, authorization
//! codes, and grants with their access and refresh tokens. Every lifetime is measured against the
//! wall clock so tests can also force expiry without sleeping.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::secrets::{digest, pkce_matches, random_token, Digest};
use super::ProviderConfig;

/// How long a consent page can be answered.
const PENDING_TTL: Duration = Duration::from_secs(10 * 60);
/// How long an authorization code can be exchanged.
const CODE_TTL: Duration = Duration::from_secs(5 * 60);

/// The person who approved a grant.
#[derive(Clone)]
pub(super) struct Subject {
    pub sub: String,
    pub email: String,
}

/// A validated authorization request shown on the consent page.
pub(super) struct Pending {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub scopes: Vec<String>,
    pub code_challenge: Option<String>,
    pub subject: Subject,
    created: SystemTime,
}

impl Pending {
    pub fn new(
        redirect_uri: String,
        state: Option<String>,
        scopes: Vec<String>,
        code_challenge: Option<String>,
        subject: Subject,
    ) -> Self {
        Pending {
            redirect_uri,
            state,
            scopes,
            code_challenge,
            subject,
            created: SystemTime::now(),
        }
    }
}

struct Code {
    redirect_uri: String,
    scopes: Vec<String>,
    code_challenge: Option<String>,
    subject: Subject,
    created: SystemTime,
    /// Set by the first exchange attempt: a code is presented at most once.
    spent: bool,
    /// The grant its successful exchange created, revoked if the code is replayed.
    grant: Option<u64>,
}

struct Grant {
    scopes: Vec<String>,
    subject: Subject,
    revoked: bool,
}

struct Access {
    grant: u64,
    expires_at: SystemTime,
    revoked: bool,
}

struct Refresh {
    grant: u64,
    expires_at: Option<SystemTime>,
    /// False once rotated away or revoked.
    active: bool,
}

/// What `POST /provider/token` hands out.
pub(super) struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: Option<String>,
    pub scopes: Vec<String>,
}

/// Why a code or refresh token was refused (`invalid_grant` or `invalid_scope` on the wire).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum GrantError {
    Unknown,
    Reused,
    Expired,
    Revoked,
    RedirectMismatch,
    VerifierMissing,
    VerifierWrong,
    VerifierUnexpected,
    ScopeWidened,
}

impl GrantError {
    pub fn description(&self) -> &'static str {
        match self {
            GrantError::Unknown => "The grant is unknown.",
            GrantError::Reused => {
                "The authorization code was already used; tokens issued from it are revoked."
            }
            GrantError::Expired => "The grant has expired.",
            GrantError::Revoked => "The grant was revoked or the refresh token was rotated away.",
            GrantError::RedirectMismatch => {
                "redirect_uri does not match the one of the authorization request."
            }
            GrantError::VerifierMissing => "code_verifier is required: a code_challenge was sent.",
            GrantError::VerifierWrong => "code_verifier does not match the code_challenge.",
            GrantError::VerifierUnexpected => {
                "code_verifier was sent but the authorization request had no code_challenge."
            }
            GrantError::ScopeWidened => "The requested scope exceeds the scope of the grant.",
        }
    }
}

#[derive(Default)]
pub(super) struct Grants {
    pending: HashMap<String, Pending>,
    codes: HashMap<Digest, Code>,
    grants: HashMap<u64, Grant>,
    access: HashMap<Digest, Access>,
    refresh: HashMap<Digest, Refresh>,
    next_grant: u64,
}

fn older_than(t: SystemTime, ttl: Duration, now: SystemTime) -> bool {
    now.duration_since(t).is_ok_and(|age| age >= ttl)
}

impl Grants {
    /// Remembers a consent request; returns its single-use id.
    pub fn begin(&mut self, pending: Pending) -> String {
        let now = SystemTime::now();
        self.pending
            .retain(|_, p| !older_than(p.created, PENDING_TTL, now));
        let id = random_token("req_");
        self.pending.insert(id.clone(), pending);
        id
    }

    /// Removes a consent request, unless it is unknown or expired.
    pub fn take_pending(&mut self, id: &str) -> Option<Pending> {
        let pending = self.pending.remove(id)?;
        (!older_than(pending.created, PENDING_TTL, SystemTime::now())).then_some(pending)
    }

    pub fn issue_code(&mut self, pending: Pending) -> String {
        let code = random_token("code_");
        self.codes.insert(
            digest(&code),
            Code {
                redirect_uri: pending.redirect_uri,
                scopes: pending.scopes,
                code_challenge: pending.code_challenge,
                subject: pending.subject,
                created: SystemTime::now(),
                spent: false,
                grant: None,
            },
        );
        code
    }

    /// Exchanges a code. The first presentation spends it whatever the outcome, so a verifier
    /// cannot be guessed; a replay of a redeemed code revokes its grant (RFC 6749 §4.1.2).
    pub fn redeem(
        &mut self,
        config: &ProviderConfig,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<Issued, GrantError> {
        let entry = self
            .codes
            .get_mut(&digest(code))
            .ok_or(GrantError::Unknown)?;
        if entry.spent {
            if let Some(grant) = entry.grant.and_then(|id| self.grants.get_mut(&id)) {
                grant.revoked = true;
            }
            return Err(GrantError::Reused);
        }
        entry.spent = true;
        if older_than(entry.created, CODE_TTL, SystemTime::now()) {
            return Err(GrantError::Expired);
        }
        if redirect_uri != Some(entry.redirect_uri.as_str()) {
            return Err(GrantError::RedirectMismatch);
        }
        match (&entry.code_challenge, verifier) {
            (Some(_), None) => return Err(GrantError::VerifierMissing),
            (Some(challenge), Some(v)) if !pkce_matches(v, challenge) => {
                return Err(GrantError::VerifierWrong)
            }
            (None, Some(_)) => return Err(GrantError::VerifierUnexpected),
            _ => {}
        }
        let id = self.next_grant;
        self.next_grant += 1;
        entry.grant = Some(id);
        let scopes = entry.scopes.clone();
        self.grants.insert(
            id,
            Grant {
                scopes: scopes.clone(),
                subject: entry.subject.clone(),
                revoked: false,
            },
        );
        let access_token = self.issue_access(config, id);
        let refresh_token = self.issue_refresh(config, id);
        Ok(Issued {
            access_token,
            expires_in: config.access_token_ttl.as_secs(),
            refresh_token: Some(refresh_token),
            scopes,
        })
    }

    /// Exchanges a refresh token for a new access token, rotating or keeping the refresh token
    /// as configured. `scope`, when given, may only narrow the grant (RFC 6749 §6).
    pub fn refresh(
        &mut self,
        config: &ProviderConfig,
        presented: &str,
        scope: Option<Vec<String>>,
    ) -> Result<Issued, GrantError> {
        let now = SystemTime::now();
        let key = digest(presented);
        let token = self.refresh.get(&key).ok_or(GrantError::Unknown)?;
        let grant = self.grants.get(&token.grant).ok_or(GrantError::Unknown)?;
        if !token.active || grant.revoked {
            return Err(GrantError::Revoked);
        }
        if token.expires_at.is_some_and(|at| now >= at) {
            return Err(GrantError::Expired);
        }
        let scopes = match scope {
            Some(asked) if asked.iter().all(|s| grant.scopes.contains(s)) => asked,
            Some(_) => return Err(GrantError::ScopeWidened),
            None => grant.scopes.clone(),
        };
        let grant_id = token.grant;
        let access_token = self.issue_access(config, grant_id);
        // Omitting wins over rotating: a client that gets no refresh token must be able to keep
        // using the one it has.
        let refresh_token = if config.omit_refresh_token_on_refresh {
            None
        } else if config.rotate_refresh_tokens {
            if let Some(old) = self.refresh.get_mut(&key) {
                old.active = false;
            }
            Some(self.issue_refresh(config, grant_id))
        } else {
            Some(presented.to_owned())
        };
        Ok(Issued {
            access_token,
            expires_in: config.access_token_ttl.as_secs(),
            refresh_token,
            scopes,
        })
    }

    fn issue_access(&mut self, config: &ProviderConfig, grant: u64) -> String {
        let token = random_token("at_");
        let expires_at = SystemTime::now() + config.access_token_ttl;
        self.access.insert(
            digest(&token),
            Access {
                grant,
                expires_at,
                revoked: false,
            },
        );
        token
    }

    fn issue_refresh(&mut self, config: &ProviderConfig, grant: u64) -> String {
        let token = random_token("rt_");
        let expires_at = config.refresh_token_ttl.map(|ttl| SystemTime::now() + ttl);
        self.refresh.insert(
            digest(&token),
            Refresh {
                grant,
                expires_at,
                active: true,
            },
        );
        token
    }

    /// Who a live (known, unrevoked, unexpired) access token acts for.
    pub fn access_subject(&self, token: &str) -> Option<Subject> {
        let access = self.access.get(&digest(token))?;
        let grant = self.grants.get(&access.grant)?;
        let live = !access.revoked && !grant.revoked && SystemTime::now() < access.expires_at;
        live.then(|| grant.subject.clone())
    }

    /// RFC 7009: revokes an access token, or a refresh token together with its whole grant.
    /// Returns whether a token that was still in force got revoked.
    pub fn revoke(&mut self, token: &str) -> bool {
        self.revoke_access(token) || self.revoke_refresh(token)
    }

    fn revoke_access(&mut self, token: &str) -> bool {
        let Some(access) = self.access.get_mut(&digest(token)) else {
            return false;
        };
        let grant_live = self.grants.get(&access.grant).is_some_and(|g| !g.revoked);
        let was_live = grant_live && !access.revoked;
        access.revoked = true;
        was_live
    }

    fn revoke_refresh(&mut self, token: &str) -> bool {
        let Some(refresh) = self.refresh.get_mut(&digest(token)) else {
            return false;
        };
        if !refresh.active {
            return false;
        }
        refresh.active = false;
        match self.grants.get_mut(&refresh.grant) {
            Some(grant) if !grant.revoked => {
                grant.revoked = true;
                true
            }
            _ => false,
        }
    }

    pub fn revoke_all(&mut self) {
        for grant in self.grants.values_mut() {
            grant.revoked = true;
        }
    }

    pub fn expire_access_tokens(&mut self) {
        let now = SystemTime::now();
        for access in self.access.values_mut() {
            access.expires_at = access.expires_at.min(now);
        }
    }
}
