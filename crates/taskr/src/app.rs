//! Start-up: the store, the key, the Attio gateway (the real Attio or an embedded sandbox), the
//! router, and background upkeep. `main` and the tests start Taskr through the same
//! `Application::build`, which takes an already-bound listener.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use url::Url;

use crate::attio_gateway::AttioGateway;
use crate::config::{AttioMode, KeySource, Settings};
use crate::crypto::{random_token, Cipher, KeyMaterial};
use crate::state::AppState;
use crate::store::Backend;

/// The scopes Taskr asks for: tasks (read-write, so that tasks can be completed and edited from
/// Taskr; with `task:read` only, the pages say why those controls are missing), the members
/// they are assigned to and the records they link, webhooks, and the names of what events are
/// about. The embedded sandbox's app is configured with exactly these.
pub const ATTIO_SCOPES: &[&str] = &[
    "task:read-write",
    "user_management:read",
    "object_configuration:read",
    "record_permission:read",
    "webhook:read-write",
    // To name what events are about: note titles, list and list-attribute names, meeting
    // titles. A link made without them still works; the feed then says "a note".
    "note:read",
    "list_configuration:read",
    "meeting:read",
];

pub struct Application {
    listener: TcpListener,
    state: AppState,
    sandbox: Option<EmbeddedSandbox>,
}

struct EmbeddedSandbox {
    sandbox: attio_sandbox::Sandbox,
    listener: TcpListener,
    sequencer: SequencerClient,
}

/// Taskr's client registration at the embedded sandbox's OAuth provider.
struct SequencerClient {
    client_id: String,
    client_secret: String,
}

/// The sealing key: configured, or (demo mode only) read or created in the data directory. A
/// demo key is only created for a database that holds nothing sealed: replacing a key that
/// data depends on would make that data unreadable without a word.
fn load_key(settings: &Settings, sealed_ids: &[String]) -> anyhow::Result<KeyMaterial> {
    Ok(match &settings.key {
        KeySource::Given(key) => key.clone(),
        KeySource::DataDirFile => {
            let path = settings.data_dir.join("encryption.key");
            if !path.exists() && !sealed_ids.is_empty() {
                anyhow::bail!(
                    "demo mode: {} is missing, but the database holds values sealed with key {}; \
                     restore that file (or set TASKR_ENCRYPTION_KEY to that key). Taskr does not \
                     make a new key, which would leave those values unreadable.",
                    path.display(),
                    sealed_ids.join(", ")
                );
            }
            let (key, created) = KeyMaterial::load_or_create_file(&settings.data_dir)?;
            if created {
                tracing::warn!(
                    path = %path.display(),
                    "demo mode: generated an encryption key; set TASKR_ENCRYPTION_KEY in production"
                );
            }
            key
        }
    })
}

/// Opens the store with private files, loads the key, and refuses to go on when stored values
/// are sealed under a key id that no configured key has (a lost or mistyped key is caught at
/// start-up, not at the first "Sync now").
async fn open_store_and_cipher(
    settings: &Settings,
) -> anyhow::Result<(Arc<dyn crate::store::Store>, Cipher)> {
    // Only SQLite keeps the data in files of ours; a PostgreSQL server keeps its own.
    if settings.database_url.backend() == Backend::Sqlite {
        crate::private_files::private_dir(&settings.data_dir)?;
    }
    let store = crate::store::connect(&settings.database_url).await?;
    let sealed_ids = store
        .sealed_key_ids()
        .await
        .context("reading which keys sealed the stored values")?;
    let key = load_key(settings, &sealed_ids)?;
    let cipher = Cipher::with_older_keys(&key, &settings.old_keys);
    let missing: Vec<&str> = sealed_ids
        .iter()
        .map(String::as_str)
        .filter(|id| !cipher.opens(id))
        .collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "the database holds values sealed with key {} but no configured key has that id \
             (TASKR_ENCRYPTION_KEY is key {}); set TASKR_ENCRYPTION_KEY or \
             TASKR_OLD_ENCRYPTION_KEYS to the key with that id",
            missing.join(", "),
            cipher.key_id()
        );
    }
    Ok((store, cipher))
}

/// The store and cipher alone, for commands that do not serve (`taskr keys rotate`).
pub async fn open_store(
    settings: &Settings,
) -> anyhow::Result<(Arc<dyn crate::store::Store>, Cipher)> {
    open_store_and_cipher(settings).await
}

impl Application {
    pub async fn build(settings: Settings, listener: TcpListener) -> anyhow::Result<Self> {
        let (store, cipher) = open_store_and_cipher(&settings).await?;
        crate::accounts::backfill_username_keys(store.as_ref())
            .await
            .context("normalising the usernames of existing accounts")?;
        // SQLite serves one Taskr instance: leases left by a process that died (a crash, a
        // SIGKILL) are void, so its claimed rows are due again at once. A PostgreSQL database
        // may be shared by several instances, and a lease there may belong to one that is alive
        // and applying the rows right now: releasing it would let two instances apply the same
        // deliveries at once. There, a dead instance's leases simply run out (lease_ms).
        if settings.database_url.backend() == Backend::Sqlite {
            let released = store.inbox_release_leases().await?;
            if released > 0 {
                tracing::warn!(
                    rows = released,
                    "took back inbox rows claimed by a previous run"
                );
            }
        }
        let http = attio::http_client()
            .context("building the HTTP client for Attio and the connection providers")?;
        let metrics = crate::metrics::Metrics::new();
        let redirect_uri = settings.attio_redirect_uri();

        let (gateway, sandbox) = match &settings.attio {
            AttioMode::Remote {
                app_url,
                api_url,
                client_id,
                client_secret,
            } => (
                AttioGateway {
                    oauth: attio::OAuthApp::new(
                        app_url.clone(),
                        client_id.clone(),
                        client_secret.0.clone(),
                        http.clone(),
                    ),
                    app_url: app_url.clone(),
                    api_url: api_url.clone(),
                    redirect_uri,
                    http,
                    metrics: metrics.clone(),
                },
                None,
            ),
            AttioMode::EmbeddedSandbox { listen } => {
                let listener = TcpListener::bind(listen).await.with_context(|| {
                    format!("binding the embedded Attio sandbox to {listen} (TASKR_SANDBOX_LISTEN)")
                })?;
                let client_secret = random_token();
                let sequencer_secret = random_token();
                let config = attio_sandbox::Config {
                    apps: vec![attio_sandbox::OAuthApp {
                        name: "Taskr".to_owned(),
                        client_id: "taskr-demo".to_owned(),
                        client_secret: client_secret.clone(),
                        redirect_uris: vec![redirect_uri.clone()],
                        scopes: ATTIO_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
                    }],
                    provider: Some(attio_sandbox::provider::ProviderConfig {
                        client_id: "taskr-demo".to_owned(),
                        client_secret: sequencer_secret.clone(),
                        redirect_uris: vec![crate::connections::providers::redirect_uri(
                            &settings.public_url,
                            &crate::sequencer::PROVIDER,
                        )],
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                let sandbox = open_demo_sandbox(config, &settings.data_dir).await?;
                let base = Url::parse(&format!("http://{}", listener.local_addr()?))?;
                (
                    AttioGateway {
                        oauth: attio::OAuthApp::new(
                            base.clone(),
                            "taskr-demo",
                            client_secret,
                            http.clone(),
                        ),
                        app_url: base.clone(),
                        api_url: base,
                        redirect_uri,
                        http,
                        metrics: metrics.clone(),
                    },
                    Some(EmbeddedSandbox {
                        sandbox,
                        listener,
                        sequencer: SequencerClient {
                            client_id: "taskr-demo".to_owned(),
                            client_secret: sequencer_secret,
                        },
                    }),
                )
            }
        };
        let mut settings = settings;
        if let Some(embedded) = &sandbox {
            add_demo_sequencer(&mut settings, embedded)?;
        }
        let coordinator = crate::coordination::Coordinator::connect(&settings.database_url).await?;
        let state = AppState::new(store, cipher, gateway, settings, metrics, coordinator);
        // Made once here, off the request path: unknown-user log-ins verify against it.
        crate::accounts::dummy_hash(&state.accounts.hasher)
            .await
            .context("preparing the password check for unknown users")?;
        Ok(Self {
            listener,
            state,
            sandbox,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The embedded sandbox's address, when Taskr runs in demo mode.
    pub fn sandbox_addr(&self) -> Option<SocketAddr> {
        self.sandbox
            .as_ref()
            .and_then(|s| s.listener.local_addr().ok())
    }

    /// The one line that tells a person where everything is.
    pub fn banner(&self) -> String {
        let public = self
            .state
            .settings
            .public_url
            .as_str()
            .trim_end_matches('/');
        match self.sandbox_addr() {
            Some(sandbox) => format!(
                "Taskr is running on {public} (listening on {}) with an embedded Attio sandbox on \
                 http://{sandbox}: demo mode, no real Attio credentials configured.",
                self.local_addr().map(|a| a.to_string()).unwrap_or_default()
            ),
            None => format!(
                "Taskr is running on {public} (listening on {}), connected to Attio at {}.",
                self.local_addr().map(|a| a.to_string()).unwrap_or_default(),
                self.state.sync.attio.api_url
            ),
        }
    }

    /// Serves until `shutdown` completes, then drains: readiness turns 503 and live streams end
    /// at once, the server stops accepting and lets requests in flight finish, the worker
    /// finishes its batch; all within the shutdown deadline (`server_limits.drain_timeout`).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let upkeep = tokio::spawn(upkeep(self.state.clone(), stop_rx.clone()));
        let worker = self.state.settings.run_worker.then(|| {
            tokio::spawn(crate::sync::worker::run(
                self.state.sync.clone(),
                stop_rx.clone(),
            ))
        });
        let reconciler = tokio::spawn(crate::sync::run_reconciler(
            self.state.sync.clone(),
            self.state.settings.reconcile_interval,
            stop_rx.clone(),
        ));
        // The embedded sandbox is as exposed as Taskr (same machine, its own port): same limits.
        let limits = self.state.settings.server_limits;
        let sandbox = self.sandbox.map(|embedded| {
            let mut stop = stop_rx.clone();
            tokio::spawn(
                embedded
                    .sandbox
                    .serve_with(embedded.listener, limits, async move {
                        let _ = stop.wait_for(|stopped| *stopped).await;
                    }),
            )
        });
        let drain = self.state.drain.clone();
        let leases = self.state.sync.leases.clone();
        let deadline = std::sync::Arc::new(std::sync::OnceLock::new());
        let started = deadline.clone();
        let app = crate::web::router(self.state);
        let served = serve::serve(self.listener, app, limits, async move {
            shutdown.await;
            let _ = started.set(tokio::time::Instant::now() + limits.drain_timeout);
            drain.begin();
            let _ = stop_tx.send(true);
        })
        .await;
        upkeep.abort();
        // The worker finishes the batch in hand (a committed apply is never half-done), within
        // what is left of the deadline, plus a second like the server's own last cut.
        if let Some(mut worker) = worker {
            let until = deadline
                .get()
                .copied()
                .unwrap_or_else(|| tokio::time::Instant::now() + limits.drain_timeout)
                + Duration::from_secs(1);
            if tokio::time::timeout_at(until, &mut worker).await.is_err() {
                tracing::warn!(
                    "the inbox worker did not finish its batch in time; its rows are retried later"
                );
                worker.abort();
            }
        }
        reconciler.abort();
        // Give up every lease (workspace claims and their rows, backfills, the reconciler)
        // so that the other instances take over now rather than when the leases run out.
        match leases.release_all().await {
            Ok(released) => tracing::debug!(leases = released, "gave up this instance's leases"),
            Err(e) => tracing::warn!(error = %e, "could not give up leases; they will run out"),
        }
        if let Some(sandbox) = sandbox {
            let _ = sandbox.await;
        }
        served.context("serving HTTP")
    }
}

/// The embedded sandbox keeps its state in `<data dir>/sandbox`, so that a restart keeps every
/// user's Attio link (the sandbox's tokens), webhooks, deliveries and demo data. Deleting that
/// folder starts the demo over (users then reconnect).
async fn open_demo_sandbox(
    config: attio_sandbox::Config,
    data_dir: &std::path::Path,
) -> anyhow::Result<attio_sandbox::Sandbox> {
    let dir = data_dir.join("sandbox");
    let shown = dir.display().to_string();
    tokio::task::spawn_blocking(move || attio_sandbox::Sandbox::open(config, &dir))
        .await
        .context("loading the embedded Attio sandbox's state")?
        .with_context(|| {
            format!(
                "demo mode: the embedded Attio sandbox's state in {shown} cannot be used; \
                 move that folder away (or delete it) to start the demo data over"
            )
        })
}

/// Demo mode ships a "sequencer" provider backed by the embedded sandbox's OAuth server, and
/// points "Add to sequence" at its mail-sequencing API (unless configured otherwise).
fn add_demo_sequencer(settings: &mut Settings, embedded: &EmbeddedSandbox) -> anyhow::Result<()> {
    if settings
        .providers
        .iter()
        .any(|p| p.name == crate::sequencer::PROVIDER)
    {
        return Ok(());
    }
    let base = Url::parse(&format!("http://{}", embedded.listener.local_addr()?))?;
    let at = |path: &str| -> anyhow::Result<Url> { Ok(base.join(path)?) };
    settings.providers.push(crate::connections::Provider {
        name: crate::sequencer::PROVIDER,
        display_name: "Sequencer".to_owned(),
        allow_user: true,
        allow_workspace: true,
        kind: crate::connections::providers::ProviderKind::OAuth2(Box::new(
            crate::connections::providers::OAuth2Config {
                authorize_url: at("/provider/authorize")?,
                token_url: at("/provider/token")?,
                client_id: embedded.sequencer.client_id.clone(),
                client_secret: crate::redacted::Redacted(embedded.sequencer.client_secret.clone()),
                scopes: vec!["sequences:read".into(), "enrollments:write".into()],
                pkce: true,
                extra_authorize_params: Default::default(),
                revocation_url: Some(at("/provider/revoke")?),
                refresh_margin: Duration::from_secs(300),
            },
        )),
    });
    if settings.sequencer_api_url.is_none() {
        settings.sequencer_api_url = Some(base);
    }
    Ok(())
}

/// Removes expired sessions and OAuth states, forgets idle rate-limit entries, and folds
/// recorded latencies into the metrics' histograms.
async fn upkeep(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    // Recorded latencies wait in a buffer until folded into their histograms: often enough
    // that the buffer stays small when nobody scrapes.
    let mut fold = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = fold.tick() => {
                state.metrics.run_upkeep();
                continue;
            }
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        match state.store.purge_expired(crate::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rows = n, "purged expired sessions and states"),
            Err(e) => tracing::warn!(error = %e, "could not purge expired sessions"),
        }
        state.accounts.limits.prune().await;
        // Attio retries for about 3 days; idempotency keys are kept for 5.
        let horizon = crate::now_ms() - 5 * 24 * 3600 * 1000;
        if let Err(e) = state.store.inbox_purge(horizon).await {
            tracing::warn!(error = %e, "could not purge the inbox");
        }
    }
}
