//! A generic OAuth 2.0 authorization server (consent page, PKCE, refresh rotation, RFC 7009
//! revocation) and the small mail-sequencing API it protects: the "external service" behind
//! Taskr's connections, runnable offline and scriptable from tests (expiry, revocation, faults).
//!
//! All routes are absolute (`/provider/...`, `/sequencer/...`), so [`Provider::router`] can be
//! served alone or merged beside other routes.

mod authorize;
mod client;
mod error;
mod grants;
mod secrets;
mod sequencer;
mod sequences;
mod token;
mod userinfo;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use grants::Grants;
use sequences::Sequences;

/// The one registered client and how tokens behave. Build it with `..Default::default()`.
#[derive(Clone)]
pub struct ProviderConfig {
    pub client_id: String,
    pub client_secret: String,
    /// Redirect URIs accepted at `/provider/authorize`, compared exactly.
    pub redirect_uris: Vec<String>,
    pub access_token_ttl: Duration,
    /// `None`: refresh tokens never expire.
    pub refresh_token_ttl: Option<Duration>,
    /// Each refresh returns a new refresh token and invalidates the one presented.
    pub rotate_refresh_tokens: bool,
    /// A refresh answer carries no `refresh_token`; the client keeps the old one, which stays
    /// valid. Takes precedence over `rotate_refresh_tokens`.
    pub omit_refresh_token_on_refresh: bool,
    /// Static API keys the sequencer API accepts besides access tokens.
    pub api_keys: Vec<String>,
}

/// The API key accepted by default: a local-only demo value, like the sandbox's client secret.
pub const DEFAULT_API_KEY: &str = "seq_demo_key_0123456789";

impl Default for ProviderConfig {
    /// Client `sequencer-client` / `sequencer-secret` redirecting to Taskr's local connections
    /// callback, one-hour access tokens, refresh tokens that never expire and rotate.
    fn default() -> Self {
        ProviderConfig {
            client_id: "sequencer-client".to_owned(),
            client_secret: "sequencer-secret".to_owned(),
            redirect_uris: vec!["http://localhost:3050/connections/sequencer/callback".to_owned()],
            access_token_ttl: Duration::from_secs(60 * 60),
            refresh_token_ttl: None,
            rotate_refresh_tokens: true,
            omit_refresh_token_on_refresh: false,
            api_keys: vec![DEFAULT_API_KEY.to_owned()],
        }
    }
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uris", &self.redirect_uris)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("rotate_refresh_tokens", &self.rotate_refresh_tokens)
            .field(
                "omit_refresh_token_on_refresh",
                &self.omit_refresh_token_on_refresh,
            )
            .field(
                "api_keys",
                &format_args!("[{} redacted]", self.api_keys.len()),
            )
            .finish()
    }
}

/// A scripted failure of the next refresh requests.
struct InjectedFailure {
    remaining: usize,
    status: u16,
    error: String,
}

/// Everything behind the lock. Deliberately not `Debug`: it holds the client secret.
struct Store {
    config: ProviderConfig,
    grants: Grants,
    sequences: Sequences,
    token_requests: usize,
    refresh_requests: usize,
    revoked_tokens: usize,
    refresh_failure: Option<InjectedFailure>,
}

impl Store {
    /// Consumes one injected refresh failure, if any is scheduled.
    fn take_refresh_failure(&mut self) -> Option<(u16, String)> {
        let failure = self.refresh_failure.as_mut()?;
        let answer = (failure.status, failure.error.clone());
        failure.remaining = failure.remaining.saturating_sub(1);
        if failure.remaining == 0 {
            self.refresh_failure = None;
        }
        Some(answer)
    }
}

/// The provider; clones share state.
#[derive(Clone)]
pub struct Provider {
    store: Arc<Mutex<Store>>,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Provider");
        // `try_lock`: formatting must not deadlock when the caller already holds the lock.
        if let Ok(store) = self.store.try_lock() {
            debug.field("config", &store.config);
        }
        debug.finish_non_exhaustive()
    }
}

impl Provider {
    /// A provider with the three seeded sequences and no grants.
    pub fn new(config: ProviderConfig) -> Self {
        let store = Store {
            config,
            grants: Grants::default(),
            sequences: Sequences::seeded(),
            token_requests: 0,
            refresh_requests: 0,
            revoked_tokens: 0,
            refresh_failure: None,
        };
        Provider {
            store: Arc::new(Mutex::new(store)),
        }
    }

    /// Locks the state. Never held across an `.await`; a poisoned lock still holds valid data
    /// because every change is one method call that cannot panic halfway.
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every route: `/provider/{authorize,token,revoke,userinfo,provider.css}` and
    /// `/sequencer/v1/...`.
    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .merge(authorize::router())
            .merge(token::router())
            .merge(userinfo::router())
            .merge(sequencer::router())
            .with_state(self.clone())
    }

    /// `POST /provider/token` requests answered, whatever the outcome.
    pub fn token_requests(&self) -> usize {
        self.store().token_requests
    }

    /// Those of [`Provider::token_requests`] with `grant_type=refresh_token`.
    pub fn refresh_requests(&self) -> usize {
        self.store().refresh_requests
    }

    /// Revokes every grant: all access and refresh tokens issued so far stop working.
    pub fn revoke_all(&self) {
        self.store().grants.revoke_all();
    }

    /// Every access token issued so far expires now; refresh tokens keep working.
    pub fn expire_access_tokens(&self) {
        self.store().grants.expire_access_tokens();
    }

    /// The next `n` refresh requests answer `status` (400–599, else 500) with `{"error": error}`
    /// before anything else is checked; the refresh token presented stays as it was.
    pub fn set_fail_next_refreshes(&self, n: usize, status: u16, error: &str) {
        self.store().refresh_failure = (n > 0).then(|| InjectedFailure {
            remaining: n,
            status,
            error: error.to_owned(),
        });
    }

    /// Emails enrolled in a sequence, in enrollment order (empty for an unknown sequence).
    pub fn enrollments(&self, sequence_id: &str) -> Vec<String> {
        self.store()
            .sequences
            .get(sequence_id)
            .map(|s| s.enrollments.iter().map(|e| e.email.clone()).collect())
            .unwrap_or_default()
    }

    /// How many tokens still in force `POST /provider/revoke` has revoked.
    pub fn revoked_tokens(&self) -> usize {
        self.store().revoked_tokens
    }

    /// Lifetimes of tokens issued from now on; tokens already issued keep theirs.
    pub fn set_lifetimes(&self, access: Duration, refresh: Option<Duration>) {
        let mut store = self.store();
        store.config.access_token_ttl = access;
        store.config.refresh_token_ttl = refresh;
    }
}
