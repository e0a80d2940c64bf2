//! Demo mode (no Attio credentials: an embedded sandbox) across a restart: the sandbox keeps its
//! state in `<data dir>/sandbox`, so a user's Attio link still works afterwards.

use std::net::SocketAddr;
use std::path::Path;

use reqwest::{Client, StatusCode};
use taskr::app::Application;
use taskr::config::{AttioMode, KeySource, Settings};

use crate::database::TestDatabase;
use crate::helpers::{browser, form_value, location, selected_option, wait_until, PASSWORD};

/// A demo-mode Taskr serving in the background on free ports (its sandbox's too).
struct Demo {
    base: String,
    sandbox: String,
    stop: tokio::sync::oneshot::Sender<()>,
    running: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Demo {
    async fn start(data_dir: &Path, database: &TestDatabase) -> Demo {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let base = format!("http://127.0.0.1:{}", addr.port());
        let settings = Settings {
            listen: addr,
            public_url: url::Url::parse(&base).unwrap(),
            data_dir: data_dir.to_owned(),
            database_url: database.url(),
            key: KeySource::DataDirFile,
            attio: AttioMode::EmbeddedSandbox {
                listen: "127.0.0.1:0".parse().unwrap(),
            },
            auth_rate_per_minute: std::num::NonZeroU32::new(1000).unwrap(),
            reconcile_interval: std::time::Duration::from_secs(3600),
            run_worker: true,
            inbox_lease: std::time::Duration::from_secs(30),
            old_keys: Vec::new(),
            providers: Vec::new(),
            sequencer_api_url: None,
            password_hashing: Default::default(),
            login_throttle: Default::default(),
            server_limits: serve::Limits::default(),
            trusted_proxies: Default::default(),
            metrics_token: None,
        };
        let app = Application::build(settings, listener).await.unwrap();
        let sandbox = format!("http://{}", app.sandbox_addr().expect("demo mode"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Demo {
            base,
            sandbox,
            stop,
            running,
        }
    }

    /// Shuts down as a signal would and waits until everything (the sandbox's last save too)
    /// is done.
    async fn shut_down(self) {
        let _ = self.stop.send(());
        self.running.await.unwrap().unwrap();
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The session's CSRF token, read from a form as a browser would (logged-in users are
    /// sent away from /login; the log-out form carries it too).
    async fn csrf(&self, client: &Client) -> String {
        let response = client.get(self.url("/login")).send().await.unwrap();
        let response = if response.status() == StatusCode::OK {
            response
        } else {
            client.get(self.url("/logout")).send().await.unwrap()
        };
        let html = response.text().await.unwrap();
        form_value(&html, "csrf_token").expect("a csrf token on the page")
    }

    /// Signs up (or logs in) `username` in a new browser.
    async fn session(&self, path: &str, username: &str) -> Client {
        let client = browser();
        let csrf = self.csrf(&client).await;
        let response = client
            .post(self.url(path))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("username", username),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        client
    }

    /// "Connect Attio" and approve on the embedded sandbox's consent page.
    async fn connect(&self, client: &Client) {
        let response = client
            .get(self.url("/integrations/attio/connect"))
            .send()
            .await
            .unwrap();
        let authorize = location(&response);
        assert!(authorize.starts_with(&self.sandbox), "{authorize}");
        let consent = client.get(&authorize).send().await.unwrap();
        let html = consent.text().await.unwrap();
        let request_id = form_value(&html, "request_id").expect("request_id");
        let member = selected_option(&html).expect("a member");
        let response = client
            .post(format!("{}/authorize", self.sandbox))
            .form(&[
                ("request_id", request_id.as_str()),
                ("decision", "approve"),
                ("member_id", member.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let callback = location(&response);
        let response = client.get(&callback).send().await.unwrap();
        assert_eq!(location(&response), "/?notice=connected");
    }

    /// Creates a task in the embedded sandbox with an API key from its loopback controls.
    async fn create_sandbox_task(&self, content: &str) {
        let http = Client::new();
        let key: serde_json::Value = http
            .post(format!("{}/_sandbox/api-keys", self.sandbox))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let response = http
            .post(format!("{}/v2/tasks", self.sandbox))
            .bearer_auth(key["token"].as_str().unwrap())
            .json(&serde_json::json!({"data": {
                "content": content, "format": "plaintext", "deadline_at": null,
                "is_completed": false, "linked_records": [], "assignees": []
            }}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// "Sync now"; returns where Taskr sends the browser.
    async fn sync_now(&self, client: &Client) -> String {
        let csrf = self.csrf(client).await;
        let response = client
            .post(self.url("/tasks/sync"))
            .form(&[("csrf_token", csrf.as_str())])
            .send()
            .await
            .unwrap();
        location(&response)
    }

    async fn tasks_page(&self, client: &Client) -> String {
        let response = client.get(self.url("/tasks")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }
}

#[tokio::test]
async fn a_restarted_demo_keeps_the_users_attio_link_working() {
    let data_dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::create(data_dir.path()).await;
    let demo = Demo::start(data_dir.path(), &database).await;
    let client = demo.session("/signup", "restarter").await;
    demo.connect(&client).await;
    demo.create_sandbox_task("Made before the restart").await;
    assert_eq!(demo.sync_now(&client).await, "/tasks?notice=synced");
    assert!(demo
        .tasks_page(&client)
        .await
        .contains("Made before the restart"));
    demo.shut_down().await;
    assert!(
        data_dir.path().join("sandbox/state.json").exists(),
        "the sandbox keeps its state in the data directory"
    );

    let demo = Demo::start(data_dir.path(), &database).await;
    let client = demo.session("/login", "restarter").await;
    // The stored token still opens the sandbox: a sync goes through, nothing asks to reconnect.
    assert_eq!(demo.sync_now(&client).await, "/tasks?notice=synced");
    let page = demo.tasks_page(&client).await;
    assert!(page.contains("Made before the restart"), "{page}");
    assert!(!page.contains("Reconnect Attio"), "{page}");
    // And it follows changes made in the sandbox after the restart.
    demo.create_sandbox_task("Made after the restart").await;
    wait_until(
        "the new task on the page",
        std::time::Duration::from_secs(10),
        || async {
            demo.sync_now(&client).await == "/tasks?notice=synced"
                && demo
                    .tasks_page(&client)
                    .await
                    .contains("Made after the restart")
        },
    )
    .await;
    demo.shut_down().await;
}
