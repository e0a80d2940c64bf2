//! A faithful local emulator of Attio (OAuth consent and tokens, the REST API, signed webhook
//! deliveries of all 27 event types) over several workspaces (two seeded demo workspaces, more
//! created at run time), so Taskr runs and is tested without the internet.
//!
//! One [`Sandbox`] serves both Attio hosts on one address: the "app" host (`/authorize`,
//! `/oauth/token`, `/oauth/revoke`) and the "api" host (`/v2/...`), plus loopback-only sandbox
//! controls (`/` console, `/_sandbox/...`).

mod delivery;
mod events;
mod faults;
mod helpers;
mod http;
mod ids;
mod pages;
mod persist;
pub mod provider;
mod query;
mod scopes;
mod seed;
mod shared;
mod state;
mod store;
mod timestamp;
mod transcript;
mod trigger;
mod workspaces;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use uuid::Uuid;

pub use delivery::DeliveryAttempt;
pub use events::EVENT_TYPES;
pub use persist::{StateError, STATE_FILE};
pub use scopes::{parse_scope_list, ALL_SCOPES};
/// How the sandbox serves connections (timeouts, connection cap); re-exported from `serve`.
pub use serve::Limits;
pub use store::AccessLevel;
pub use workspaces::{NewMember, NewWorkspace, WorkspaceInfo};

use shared::{Shared, StoreGuard};

/// The OAuth client registered by default, matching Taskr's local defaults.
pub const DEFAULT_CLIENT_ID: &str = "sandbox-client";
/// A local-only default secret: the sandbox never runs anywhere but on a developer's machine or CI.
pub const DEFAULT_CLIENT_SECRET: &str = "sandbox-secret";
pub const DEFAULT_REDIRECT_URI: &str = "http://localhost:3050/integrations/attio/callback";
pub const DEFAULT_APP_NAME: &str = "Taskr";
/// Space-separated scopes of the default app: what Taskr needs to read tasks and manage webhooks.
pub const DEFAULT_APP_SCOPES: &str =
    "task:read user_management:read object_configuration:read record_permission:read webhook:read-write";

/// An OAuth app registered with the sandbox, as in Attio's developer dashboard.
#[derive(Clone)]
pub struct OAuthApp {
    pub name: String,
    pub client_id: String,
    pub client_secret: String,
    /// Redirect URIs accepted at `/authorize`, compared exactly.
    pub redirect_uris: Vec<String>,
    /// The scopes every token issued to this app carries (Attio has no per-request `scope`).
    pub scopes: Vec<String>,
}

impl fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthApp")
            .field("name", &self.name)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uris", &self.redirect_uris)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl Default for OAuthApp {
    /// The local Taskr app: `sandbox-client` / `sandbox-secret`, redirecting to Taskr on port 3050.
    fn default() -> Self {
        OAuthApp {
            name: DEFAULT_APP_NAME.to_owned(),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            redirect_uris: vec![DEFAULT_REDIRECT_URI.to_owned()],
            scopes: DEFAULT_APP_SCOPES.split(' ').map(str::to_owned).collect(),
        }
    }
}

/// How the sandbox behaves. Build it with `..Default::default()`: fields are only ever added.
#[derive(Clone, Debug)]
pub struct Config {
    pub apps: Vec<OAuthApp>,
    /// How long an authorization code can be exchanged after it is issued.
    pub code_ttl: Duration,
    /// The first retry of a failed delivery waits this long; retry `n` waits
    /// `retry_base * 2^(n-1)`. The default (250 s) spreads 10 retries over about 3 days.
    pub retry_base: Duration,
    /// Retries after the first attempt before the webhook becomes `degraded` (Attio: 10).
    pub max_retries: u32,
    /// A delivery attempt that has no answer after this long failed (5 s).
    pub delivery_timeout: Duration,
    /// At most this many delivery requests per second to one target URL (Attio: 25).
    pub target_rate_per_second: u32,
    /// A webhook `degraded` for this long becomes `inactive` (Attio: 7 days). Shrink it together
    /// with `retry_base` to run the whole schedule in a test.
    pub degraded_to_inactive: Duration,
    /// Enforce Attio's documented API rate limits (100 reads/s, 25 writes/s) from the start;
    /// `POST /_sandbox/rate-limits` switches them at run time.
    pub rate_limits: bool,
    /// A generic OAuth 2.0 provider and mail-sequencing API served on the same address under
    /// `/provider` and `/sequencer` (see [`provider`]); `None` leaves them out.
    pub provider: Option<provider::ProviderConfig>,
}

/// The real-time default of [`Config::retry_base`]: 250 s × (2^10 − 1) ≈ 2.96 days for 10 retries.
pub const DEFAULT_RETRY_BASE: Duration = Duration::from_secs(250);

impl Default for Config {
    /// The default app ([`OAuthApp::default`]), a five-minute code lifetime, Attio's delivery
    /// schedule in real time and no API rate limits.
    fn default() -> Self {
        Config {
            apps: vec![OAuthApp::default()],
            code_ttl: Duration::from_secs(5 * 60),
            retry_base: DEFAULT_RETRY_BASE,
            max_retries: 10,
            delivery_timeout: Duration::from_secs(5),
            target_rate_per_second: 25,
            degraded_to_inactive: Duration::from_secs(7 * 24 * 60 * 60),
            rate_limits: false,
            provider: Some(provider::ProviderConfig::default()),
        }
    }
}

/// A running emulator; clones share state.
#[derive(Clone)]
pub struct Sandbox {
    shared: Arc<Shared>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("workspace_id", &self.workspace_id())
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Creates a sandbox holding the deterministic demo workspace. Deliveries start on the first
    /// event emitted inside a Tokio runtime (or when [`Sandbox::serve`] starts).
    pub fn new(config: Config) -> Sandbox {
        Sandbox {
            shared: Arc::new(Shared::new(config, delivery::worker::start)),
        }
    }

    /// A sandbox whose state lives in `data_dir` (created 0700 if missing): loaded from its
    /// [`STATE_FILE`], or seeded and written there when it has none. Every change is saved: a
    /// request is answered once the file holds its change, other changes (delivery attempts,
    /// typed helpers) within 100 ms, and serving ends with a last save. Blocking file I/O:
    /// call it at start-up.
    ///
    /// # Errors
    /// The directory cannot be created or written, or its file cannot be read, is not a
    /// sandbox state, is of another version or holds invalid data; the error names the file.
    /// The file is never replaced by a new seed in that case.
    pub fn open(config: Config, data_dir: impl AsRef<Path>) -> Result<Sandbox, StateError> {
        Ok(Sandbox {
            shared: Arc::new(Shared::open(
                config,
                data_dir.as_ref(),
                delivery::worker::start,
            )?),
        })
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> Sandbox {
        Sandbox { shared }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Locks the state. Never held across an `.await`. Releasing the guard starts delivery
    /// workers for events the change emitted.
    pub(crate) fn store(&self) -> StoreGuard<'_> {
        StoreGuard::lock(&self.shared)
    }

    /// The fault rules and rate-limit windows (not part of the saved state).
    pub(crate) fn faults(&self) -> std::sync::MutexGuard<'_, faults::Faults> {
        self.shared.faults()
    }

    /// The whole HTTP app. Serve it with connect info (as [`Sandbox::serve`] does), or the
    /// loopback-only routes answer 403.
    pub fn router(&self) -> axum::Router {
        http::router(self.clone())
    }

    /// Serves with the default [`Limits`] until `shutdown` completes, then drains in-flight
    /// requests.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.serve_with(listener, Limits::default(), shutdown).await
    }

    /// Serves like a public server (header-read and idle timeouts, a connection cap; see the
    /// `serve` crate) until `shutdown` completes, then drains in-flight requests.
    pub async fn serve_with(
        self,
        listener: TcpListener,
        limits: Limits,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // Events emitted before a runtime existed (e.g. by `Sandbox::new` callers in sync code)
        // get their workers now.
        drop(self.store());
        let served = serve::serve(listener, self.router(), limits, shutdown).await;
        // A last save; afterwards this sandbox writes nothing, so another one may take the
        // directory. Failures are logged inside.
        let _ = self.shared.close().await;
        served
    }

    /// Serves on `127.0.0.1` with a free port in a background task, until the handle is dropped.
    pub async fn spawn(self) -> std::io::Result<SpawnedSandbox> {
        self.spawn_with(Limits::default()).await
    }

    /// [`Sandbox::spawn`] with these serving limits.
    pub async fn spawn_with(self, limits: Limits) -> std::io::Result<SpawnedSandbox> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = self.clone();
        let serving = tokio::spawn(async move {
            let shutdown = async {
                // A send or a dropped sender both mean "stop".
                let _ = stopped.await;
            };
            if let Err(error) = server.serve_with(listener, limits, shutdown).await {
                tracing::error!(%error, "sandbox server stopped");
            }
        });
        Ok(SpawnedSandbox {
            addr,
            sandbox: self,
            _shutdown: shutdown,
            serving,
        })
    }

    /// The first workspace's id ("Acme Demo" in the demo seed); see [`Sandbox::workspace_ids`].
    pub fn workspace_id(&self) -> Uuid {
        self.store().first().workspace.id
    }

    /// The first workspace's name.
    pub fn workspace_name(&self) -> String {
        self.store().first().workspace.name.clone()
    }

    /// Mints an API key of the first workspace acting as its admin; `None` grants every scope.
    pub fn mint_api_key(&self, scopes: Option<Vec<String>>) -> String {
        let scopes = scopes.unwrap_or_else(|| ALL_SCOPES.iter().map(|s| (*s).to_owned()).collect());
        let mut store = self.store();
        let key = store.first_key();
        store.mint_api_key(key, scopes)
    }

    /// Makes every OAuth access token and API key of every workspace inactive.
    pub fn revoke_all_tokens(&self) {
        self.store().revoke_all_tokens();
    }

    /// Every token issued through `/oauth/token`, for tests that check tokens never leak.
    pub fn issued_access_tokens(&self) -> Vec<String> {
        self.store().issued_access_tokens()
    }

    /// Changes an app's scopes for tokens issued from now on; existing tokens keep theirs.
    pub fn set_app_scopes(&self, client_id: &str, scopes: Vec<String>) {
        self.store().set_app_scopes(client_id, scopes);
    }

    /// The OAuth provider and sequencer API served beside Attio, when configured.
    pub fn provider(&self) -> Option<&provider::Provider> {
        self.shared.provider.as_ref()
    }

    /// How many requests the sandbox answered for exactly this path (any method, any status).
    pub fn request_count(&self, path: &str) -> usize {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// The first workspace's admin.
    pub fn admin_member_id(&self) -> Uuid {
        self.store().first().admin_member_id()
    }

    /// The first workspace's member ids in seeded order.
    pub fn member_ids(&self) -> Vec<Uuid> {
        self.store().first().members.iter().map(|m| m.id).collect()
    }
}

/// A sandbox serving in the background; dropping it shuts the server down.
#[derive(Debug)]
pub struct SpawnedSandbox {
    pub addr: SocketAddr,
    pub sandbox: Sandbox,
    /// Dropping the sender completes the server's shutdown future.
    _shutdown: oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<()>,
}

impl SpawnedSandbox {
    /// `http://127.0.0.1:PORT`, the base URL of both the app and the API host.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving as a signal would and waits until the server has drained and, with a data
    /// directory, made its last save: a sandbox opened on the same directory afterwards starts
    /// from everything this one did.
    pub async fn shut_down(self) {
        let SpawnedSandbox {
            _shutdown, serving, ..
        } = self;
        drop(_shutdown);
        let _ = serving.await;
    }
}
