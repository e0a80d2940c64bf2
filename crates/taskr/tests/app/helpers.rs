//! The test harness: each test gets its own in-process sandbox, its own Taskr on port 0 with a
//! temporary data directory, and HTTP clients that keep cookies and do not follow redirects.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Once;

use attio_sandbox::{Sandbox, SpawnedSandbox};
use reqwest::header::LOCATION;
use reqwest::{Client, Response, StatusCode};
use taskr::app::{Application, ATTIO_SCOPES};
use taskr::config::{AttioMode, KeySource, Redacted, Settings};
use taskr::crypto::KeyMaterial;
use taskr::state::AppState;
use taskr::store::ProviderName;
use tempfile::TempDir;
use url::Url;

pub const PASSWORD: &str = "correct horse battery";

/// The provider `sequencer_provider` declares (the sandbox's OAuth server).
pub const SEQUENCER: ProviderName = taskr::sequencer::PROVIDER;
/// The secret-kind provider some tests declare beside it.
pub const MAILER: ProviderName = ProviderName::from_static("mailer");

pub struct TestOptions {
    /// Serve the sandbox's OAuth provider and sequencer API, and configure Taskr's
    /// "sequencer" provider for it.
    pub sequencer: Option<attio_sandbox::provider::ProviderConfig>,
    /// Whether Taskr asks the provider for PKCE.
    pub pkce: bool,
    /// Extra providers (e.g. a secret kind) besides the sequencer.
    pub extra_providers: Vec<taskr::connections::Provider>,
    pub app_scopes: Vec<String>,
    pub auth_rate_per_minute: u32,
    pub reconcile_interval: std::time::Duration,
    /// Run the background inbox worker; tests that count exactly drain it themselves.
    pub worker: bool,
    /// The sandbox's settings (its `apps` are replaced by Taskr's). Retries are fast by
    /// default so that a failed delivery is retried within a test.
    pub sandbox: attio_sandbox::Config,
    /// The sealing key (64 hex digits); a random one when `None`.
    pub key: Option<String>,
    pub password_hashing: taskr::config::PasswordHashing,
    pub login_throttle: taskr::accounts::ThrottlePolicy,
    /// How Taskr serves connections (timeouts, connection cap, shutdown deadline).
    pub server_limits: serve::Limits,
    pub trusted_proxies: taskr::proxies::TrustedProxies,
    pub metrics_token: Option<String>,
    /// How long inbox claims and backfill leases last without renewal.
    pub inbox_lease: std::time::Duration,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            sequencer: None,
            pkce: true,
            extra_providers: Vec::new(),
            app_scopes: ATTIO_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            auth_rate_per_minute: 1000,
            // Tests reconcile on demand; the periodic pass stays out of their way.
            reconcile_interval: std::time::Duration::from_secs(3600),
            worker: true,
            sandbox: attio_sandbox::Config {
                retry_base: std::time::Duration::from_millis(20),
                ..Default::default()
            },
            key: None,
            password_hashing: Default::default(),
            login_throttle: Default::default(),
            server_limits: serve::Limits::default(),
            trusted_proxies: Default::default(),
            metrics_token: None,
            inbox_lease: std::time::Duration::from_secs(30),
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub sandbox: SpawnedSandbox,
    /// The OAuth provider and sequencer API, when the options asked for them.
    pub provider: Option<(attio_sandbox::provider::Provider, String)>,
    pub state: AppState,
    pub data_dir: TempDir,
    /// SQLite in `data_dir`, or a PostgreSQL database of its own (`TASKR_TEST_BACKEND`).
    pub database: crate::database::TestDatabase,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    running: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            tracing_subscriber::fmt()
                .with_env_filter("info,taskr=debug")
                .with_test_writer()
                .init();
        }
    });
}

/// Waits for `check` to hold, polling, and fails the test after `limit`.
pub async fn wait_until<F, Fut>(what: &str, limit: std::time::Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A client like a browser without JavaScript: it keeps cookies and shows redirects.
pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location header on {}", response.status()))
        .to_str()
        .expect("ascii location")
        .to_owned()
}

/// Taskr's provider entry for the sandbox's OAuth server at `url`.
pub fn sequencer_provider(
    url: &str,
    config: &attio_sandbox::provider::ProviderConfig,
    pkce: bool,
) -> taskr::connections::Provider {
    use taskr::connections::providers::{OAuth2Config, ProviderKind};
    let at = |path: &str| Url::parse(&format!("{url}{path}")).unwrap();
    taskr::connections::Provider {
        name: SEQUENCER,
        display_name: "Sequencer".into(),
        allow_user: true,
        allow_workspace: true,
        kind: ProviderKind::OAuth2(Box::new(OAuth2Config {
            authorize_url: at("/provider/authorize"),
            token_url: at("/provider/token"),
            client_id: config.client_id.clone(),
            client_secret: Redacted(config.client_secret.clone()),
            scopes: vec!["sequences:read".into(), "enrollments:write".into()],
            pkce,
            extra_authorize_params: [("prompt".to_owned(), "consent".to_owned())].into(),
            revocation_url: Some(at("/provider/revoke")),
            refresh_margin: std::time::Duration::from_secs(300),
        })),
    }
}

pub use crate::forms::{form_value, selected_option};

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(TestOptions::default()).await
    }

    pub async fn spawn_with(options: TestOptions) -> Self {
        init_logs();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let base = format!("http://127.0.0.1:{}", addr.port());
        let redirect_uri = format!("{base}/integrations/attio/callback");
        let client_secret = "test-client-secret".to_owned();
        let sandbox = Sandbox::new(attio_sandbox::Config {
            apps: vec![attio_sandbox::OAuthApp {
                name: "Taskr".to_owned(),
                client_id: "taskr-test".to_owned(),
                client_secret: client_secret.clone(),
                redirect_uris: vec![redirect_uri],
                scopes: options.app_scopes.clone(),
            }],
            ..options.sandbox.clone()
        })
        .spawn()
        .await
        .unwrap();
        let sandbox_url = Url::parse(&sandbox.base_url()).unwrap();

        let mut providers = options.extra_providers.clone();
        let mut sequencer_api_url = None;
        let provider = match options.sequencer.clone() {
            Some(mut config) => {
                config.redirect_uris = vec![format!("{base}/connections/sequencer/callback")];
                let provider = attio_sandbox::provider::Provider::new(config.clone());
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let url = format!("http://{}", listener.local_addr().unwrap());
                let router = provider.router();
                tokio::spawn(async move { axum::serve(listener, router).await });
                providers.push(sequencer_provider(&url, &config, options.pkce));
                sequencer_api_url = Some(Url::parse(&url).unwrap());
                Some((provider, url))
            }
            None => None,
        };
        let data_dir = tempfile::tempdir().unwrap();
        let database = crate::database::TestDatabase::create(data_dir.path()).await;
        let settings = Settings {
            listen: addr,
            public_url: Url::parse(&base).unwrap(),
            data_dir: data_dir.path().to_owned(),
            database_url: database.url(),
            key: KeySource::Given(match &options.key {
                Some(raw) => KeyMaterial::parse(raw).unwrap(),
                None => KeyMaterial::generate(),
            }),
            attio: AttioMode::Remote {
                app_url: sandbox_url.clone(),
                api_url: sandbox_url,
                client_id: "taskr-test".to_owned(),
                client_secret: Redacted(client_secret),
            },
            auth_rate_per_minute: NonZeroU32::new(options.auth_rate_per_minute).unwrap(),
            reconcile_interval: options.reconcile_interval,
            run_worker: options.worker,
            inbox_lease: options.inbox_lease,
            old_keys: Vec::new(),
            providers,
            sequencer_api_url,
            password_hashing: options.password_hashing,
            login_throttle: options.login_throttle.clone(),
            server_limits: options.server_limits,
            trusted_proxies: options.trusted_proxies.clone(),
            metrics_token: options.metrics_token.clone().map(Redacted),
        };
        let app = Application::build(settings, listener).await.unwrap();
        let state = app.state().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Self {
            base,
            sandbox,
            provider,
            state,
            data_dir,
            database,
            stop: Some(stop),
            running: Some(running),
        }
    }

    /// A second Taskr instance on the same database and sandbox, as behind a reverse proxy: it
    /// listens on a port of its own, and its public URL (hence the OAuth redirect URIs and the
    /// webhook target registered at the sandbox) is this instance's. `edit` adjusts its
    /// settings (say, no worker).
    pub async fn spawn_peer_with(&self, edit: impl FnOnce(&mut Settings)) -> Peer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let mut settings = (*self.state.settings).clone();
        settings.listen = addr;
        edit(&mut settings);
        let app = Application::build(settings, listener).await.unwrap();
        let state = app.state().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Peer {
            base: format!("http://127.0.0.1:{}", addr.port()),
            state,
            _stop: stop,
        }
    }

    /// Shuts Taskr down as a signal would and waits until `run_until_stopped` returns.
    pub async fn shut_down(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.running.take() {
            Some(running) => running.await?,
            None => Ok(()),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, client: &Client, path: &str) -> Response {
        client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn page(&self, client: &Client, path: &str) -> String {
        let response = self.get(client, path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    /// The CSRF token of this client's session, read from a form as a browser would.
    pub async fn csrf(&self, client: &Client) -> String {
        let response = self.get(client, "/login").await;
        let html = if response.status() == StatusCode::OK {
            response.text().await.unwrap()
        } else {
            // Logged-in users are sent away from /login; the log-out form carries it too.
            self.page(client, "/logout").await
        };
        form_value(&html, "csrf_token").expect("a csrf token on the page")
    }

    pub async fn post_form(
        &self,
        client: &Client,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let csrf = self.csrf(client).await;
        let mut body: Vec<(&str, &str)> = vec![("csrf_token", &csrf)];
        body.extend_from_slice(fields);
        client
            .post(self.url(path))
            .form(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_up(&self, client: &Client, username: &str) -> Response {
        self.post_form(
            client,
            "/signup",
            &[("username", username), ("password", PASSWORD)],
        )
        .await
    }

    /// A new browser with a fresh account.
    pub async fn user(&self, username: &str) -> Client {
        let client = browser();
        let response = self.sign_up(&client, username).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "sign up {username}"
        );
        client
    }

    /// Follows "Connect Attio" to the sandbox's consent page; returns its HTML and URL.
    pub async fn open_consent(&self, client: &Client) -> (String, String) {
        let response = self.get(client, "/integrations/attio/connect").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let authorize = location(&response);
        assert!(
            authorize.starts_with(&self.sandbox.base_url()),
            "{authorize}"
        );
        let consent = client.get(&authorize).send().await.unwrap();
        assert_eq!(consent.status(), StatusCode::OK, "consent page");
        (consent.text().await.unwrap(), authorize)
    }

    /// Answers the consent page; returns where the sandbox sends the browser back to.
    pub async fn decide(
        &self,
        client: &Client,
        consent_html: &str,
        decision: &str,
        member: Option<&str>,
    ) -> String {
        let request_id =
            form_value(consent_html, "request_id").expect("request_id on consent page");
        // As a browser does, send the member selected on the page unless told otherwise.
        let selected = selected_option(consent_html);
        let member = member.or(selected.as_deref());
        let mut fields = vec![("request_id", request_id.as_str()), ("decision", decision)];
        if let Some(member) = member {
            fields.push(("member_id", member));
        }
        let response = client
            .post(format!("{}/authorize", self.sandbox.base_url()))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16() / 100,
            3,
            "consent answer redirects"
        );
        location(&response)
    }

    /// The whole "Connect Attio" journey with approval; returns Taskr's final redirect.
    pub async fn connect(&self, client: &Client) -> String {
        self.connect_as(client, None).await
    }

    /// "Connect Attio", choosing the sandbox workspace (and the member, or its admin) on the
    /// consent page as a person who belongs to several would.
    pub async fn connect_in(
        &self,
        client: &Client,
        workspace: uuid::Uuid,
        member: Option<&str>,
    ) -> String {
        let response = self.get(client, "/integrations/attio/connect").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let authorize = format!("{}&workspace_id={workspace}", location(&response));
        let consent = client.get(&authorize).send().await.unwrap();
        assert_eq!(consent.status(), StatusCode::OK, "consent page");
        let html = consent.text().await.unwrap();
        let callback = self.decide(client, &html, "approve", member).await;
        assert!(
            callback.starts_with(&self.url("/integrations/attio/callback")),
            "{callback}"
        );
        let response = client.get(&callback).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "callback");
        location(&response)
    }

    pub async fn connect_as(&self, client: &Client, member: Option<&str>) -> String {
        let (html, _) = self.open_consent(client).await;
        let callback = self.decide(client, &html, "approve", member).await;
        assert!(
            callback.starts_with(&self.url("/integrations/attio/callback")),
            "{callback}"
        );
        let response = client.get(&callback).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "callback");
        location(&response)
    }

    /// An API key for the sandbox workspace, to change data behind Taskr's back.
    pub fn api_key(&self) -> String {
        self.sandbox.sandbox.mint_api_key(None)
    }

    /// A GET against the sandbox's API with a bearer token, as JSON.
    pub async fn sandbox_get(&self, path: &str, token: &str) -> serde_json::Value {
        Client::new()
            .get(format!("{}{path}", self.sandbox.base_url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn create_task(&self, content: &str) -> serde_json::Value {
        let response = Client::new()
            .post(format!("{}/v2/tasks", self.sandbox.base_url()))
            .bearer_auth(self.api_key())
            .json(&serde_json::json!({"data": {
                "content": content, "format": "plaintext", "deadline_at": null,
                "is_completed": false, "linked_records": [], "assignees": []
            }}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "create task in sandbox");
        response.json().await.unwrap()
    }

    /// The workspace's webhook as Taskr stored it. Where the sandbox registered none (it cannot
    /// reach us, say), one is planted so that deliveries can still be signed.
    pub async fn webhook(&self) -> (uuid::Uuid, attio::WebhookSecret) {
        let workspace = taskr::store::WorkspaceId(self.sandbox.sandbox.workspace_id());
        if self
            .state
            .store
            .webhook_for_workspace(workspace)
            .await
            .unwrap()
            .is_none()
        {
            let secret = "a".repeat(64);
            let record = taskr::store::WebhookRecord {
                workspace_id: workspace,
                webhook_id: uuid::Uuid::new_v4(),
                target_url: self.url("/webhooks/attio"),
                secret: self
                    .state
                    .cipher
                    .seal(secret.as_bytes(), &format!("webhook_secret:{workspace}")),
                status: "active".into(),
                checked_at: taskr::now(),
                created_at: taskr::now(),
            };
            self.state.store.insert_webhook(&record).await.unwrap();
        }
        let record = self
            .state
            .store
            .webhook_for_workspace(workspace)
            .await
            .unwrap()
            .unwrap();
        let (_, secret) =
            taskr::sync::registration::secret_for(&self.state.sync, record.webhook_id)
                .await
                .unwrap()
                .unwrap();
        (record.webhook_id, secret)
    }

    /// A number from Taskr's database, read behind its back.
    pub async fn count(&self, sql: &str) -> i64 {
        self.database.count(sql).await
    }

    /// A statement run on Taskr's database behind its back (to break or repair something).
    /// Taskr's own writes tell its read model what they changed; a write behind its back
    /// cannot, so this drops every cached copy as a restart would.
    pub async fn execute(&self, sql: &str) {
        self.database.execute(sql).await;
        self.state
            .coordinator
            .read_model()
            .forget(taskr::read_model::Forget::Everything);
    }

    /// Adds a fault rule at the sandbox (`/_sandbox/faults`, see its README).
    pub async fn add_fault(&self, rule: serde_json::Value) {
        let response = Client::new()
            .post(format!("{}/_sandbox/faults", self.sandbox.base_url()))
            .json(&rule)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "fault rule {rule}");
    }

    /// Removes every fault rule: Attio is back.
    pub async fn clear_faults(&self) {
        let response = Client::new()
            .delete(format!("{}/_sandbox/faults", self.sandbox.base_url()))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "clear faults");
    }

    /// Switches the sandbox's Attio rate limits (100 reads/s, 25 writes/s) on or off.
    pub async fn set_rate_limits(&self, enabled: bool) {
        let response = Client::new()
            .post(format!("{}/_sandbox/rate-limits", self.sandbox.base_url()))
            .json(&serde_json::json!({ "enabled": enabled }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "rate limits");
    }

    /// Waits until the sandbox has delivered everything its changes emitted.
    pub async fn settle(&self) {
        assert!(
            self.sandbox
                .sandbox
                .wait_for_idle(std::time::Duration::from_secs(20))
                .await,
            "the sandbox finished delivering"
        );
    }

    /// How many requests the sandbox has answered for exactly this path.
    pub async fn sandbox_requests_for(&self, path: &str) -> usize {
        self.sandbox.sandbox.request_count(path)
    }

    /// Everything Taskr has stored (see `TestDatabase::bytes`).
    pub async fn database_bytes(&self) -> Vec<u8> {
        self.database.bytes(self.data_dir.path()).await
    }
}

/// An open `/live` stream, read as a page's script would.
/// Another instance of a `TestApp`'s Taskr (`TestApp::spawn_peer_with`); stops when dropped.
pub struct Peer {
    pub base: String,
    pub state: AppState,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Peer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

pub struct LiveStream {
    response: reqwest::Response,
    seen: String,
}

impl LiveStream {
    /// Opens the stream; once the answer's head is here, the server is subscribed.
    pub async fn open(app: &TestApp, browser: &Client) -> Self {
        Self::open_at(&app.url("/live"), browser).await
    }

    /// Opens the stream at `url` (another instance's `/live`, say).
    pub async fn open_at(url: &str, browser: &Client) -> Self {
        let response = browser.get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        Self {
            response,
            seen: String::new(),
        }
    }

    /// Waits for the next event called `name`.
    pub async fn expect(&mut self, name: &str) {
        let marker = format!("event: {name}");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(at) = self.seen.find(&marker) {
                self.seen.drain(..at + marker.len());
                return;
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("a {name} event before the deadline"))
                .unwrap()
                .expect("the stream stays open");
            self.seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Reads and forgets whatever arrives within `quiet` of the last event (what earlier
    /// work published), so that the next `expect` waits for something new.
    pub async fn skip_until_quiet(&mut self, quiet: std::time::Duration) {
        while let Ok(chunk) = tokio::time::timeout(quiet, self.response.chunk()).await {
            chunk.unwrap().expect("the stream stays open");
        }
        self.seen.clear();
    }

    /// Waits for the server to end the stream cleanly (the body's last chunk, not a cut
    /// connection), and fails the test after `limit`.
    pub async fn expect_end(&mut self, limit: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("the stream did not end within {limit:?}"));
            match chunk {
                Ok(Some(bytes)) => self.seen.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(None) => return,
                Err(e) => panic!("the stream was cut instead of ended: {e}"),
            }
        }
    }

    /// Asserts that no event arrives within `grace`. An absence cannot be waited for; the grace
    /// is many times what a published event takes to arrive in the same process.
    pub async fn expect_nothing_within(&mut self, grace: std::time::Duration, why: &str) {
        let deadline = tokio::time::Instant::now() + grace;
        while let Ok(chunk) = tokio::time::timeout_at(deadline, self.response.chunk()).await {
            let chunk = chunk.unwrap().expect("the stream stays open");
            self.seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(!self.seen.contains("event:"), "{why}: got {:?}", self.seen);
    }
}
