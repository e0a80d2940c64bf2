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
use tempfile::TempDir;
use url::Url;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestOptions {
    pub app_scopes: Vec<String>,
    pub auth_rate_per_minute: u32,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            app_scopes: ATTIO_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            auth_rate_per_minute: 1000,
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub sandbox: SpawnedSandbox,
    pub state: AppState,
    pub data_dir: TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
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

/// The value of the first `name="field" value="…"` in a page.
pub fn form_value(html: &str, field: &str) -> Option<String> {
    let marker = format!("name=\"{field}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&#x2f;", "/")
            .replace("&amp;", "&"),
    )
}

/// The value of the `<option … selected>` on a page.
pub fn selected_option(html: &str) -> Option<String> {
    let end = html.find("\" selected")?;
    let start = html[..end].rfind("value=\"")? + "value=\"".len();
    Some(html[start..end].to_owned())
}

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
            ..Default::default()
        })
        .spawn()
        .await
        .unwrap();
        let sandbox_url = Url::parse(&sandbox.base_url()).unwrap();

        let data_dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            listen: addr,
            public_url: Url::parse(&base).unwrap(),
            data_dir: data_dir.path().to_owned(),
            database_url: format!("sqlite://{}", data_dir.path().join("taskr.db").display()),
            key: KeySource::Given(KeyMaterial::generate()),
            attio: AttioMode::Remote {
                app_url: sandbox_url.clone(),
                api_url: sandbox_url,
                client_id: "taskr-test".to_owned(),
                client_secret: Redacted(client_secret),
            },
            auth_rate_per_minute: NonZeroU32::new(options.auth_rate_per_minute).unwrap(),
        };
        let app = Application::build(settings, listener).await.unwrap();
        let state = app.state().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Self {
            base,
            sandbox,
            state,
            data_dir,
            stop: Some(stop),
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

    /// Every byte Taskr has written to its database files (main file and WAL).
    pub fn database_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(self.data_dir.path()).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with("taskr.db") {
                bytes.extend(std::fs::read(&path).unwrap());
            }
        }
        bytes
    }
}
