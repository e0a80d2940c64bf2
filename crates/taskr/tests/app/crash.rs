//! Crash safety: while the sandbox delivers a steady stream of webhooks, the Taskr process is
//! killed with SIGKILL and restarted several times. Every delivery Taskr acknowledged must be in
//! its inbox afterwards, and applied exactly once.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use attio_sandbox::{Sandbox, SpawnedSandbox};
use reqwest::Client;
use sqlx::Row;

use crate::helpers::{browser, form_value, location, selected_option, PASSWORD};

struct Taskr {
    child: Child,
}

impl Drop for Taskr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(port: u16, data_dir: &std::path::Path, sandbox: &SpawnedSandbox) -> Taskr {
    let child = Command::new(env!("CARGO_BIN_EXE_taskr"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--public-url", &format!("http://127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .args([
            "--attio-client-id",
            "crash-test",
            "--attio-client-secret",
            "crash-secret",
        ])
        .args([
            "--attio-app-url",
            &sandbox.base_url(),
            "--attio-api-url",
            &sandbox.base_url(),
        ])
        .args(["--encryption-key", &"11".repeat(32)])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("taskr starts");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "taskr did not start listening"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Taskr { child }
}

async fn csrf(client: &Client, base: &str) -> String {
    let html = client
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    form_value(&html, "csrf_token").unwrap()
}

/// Signs up and connects Attio through the child's pages, as a browser would.
async fn sign_up_and_connect(base: &str, sandbox: &SpawnedSandbox) {
    let client = browser();
    let token = csrf(&client, base).await;
    let response = client
        .post(format!("{base}/signup"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", "crash"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let response = client
        .get(format!("{base}/integrations/attio/connect"))
        .send()
        .await
        .unwrap();
    let consent = client
        .get(location(&response))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let member = selected_option(&consent).unwrap();
    let response = client
        .post(format!("{}/authorize", sandbox.base_url()))
        .form(&[
            (
                "request_id",
                form_value(&consent, "request_id").unwrap().as_str(),
            ),
            ("decision", "approve"),
            ("member_id", member.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let response = client.get(location(&response)).send().await.unwrap();
    assert_eq!(location(&response), "/?notice=connected");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_deliveries_survive_sigkill_and_apply_exactly_once() {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let sandbox = Sandbox::new(attio_sandbox::Config {
        apps: vec![attio_sandbox::OAuthApp {
            name: "Taskr".into(),
            client_id: "crash-test".into(),
            client_secret: "crash-secret".into(),
            redirect_uris: vec![format!("{base}/integrations/attio/callback")],
            scopes: taskr::app::ATTIO_SCOPES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }],
        retry_base: Duration::from_millis(25),
        ..Default::default()
    })
    .spawn()
    .await
    .unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let mut taskr = start(port, data_dir.path(), &sandbox).await;
    sign_up_and_connect(&base, &sandbox).await;

    // A steady stream of changes, while Taskr is killed and restarted three times.
    let stream = {
        let sandbox = sandbox.sandbox.clone();
        tokio::spawn(async move {
            for i in 0..300 {
                sandbox.create_task_as_member(&format!("Crash probe {i}"));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        taskr.child.kill().unwrap(); // SIGKILL
        taskr.child.wait().unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        taskr = start(port, data_dir.path(), &sandbox).await;
    }
    stream.await.unwrap();
    assert!(
        sandbox.sandbox.wait_for_idle(Duration::from_secs(60)).await,
        "the sandbox delivered everything"
    );

    // Let the last Taskr apply its inbox, then look at its database.
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        data_dir.path().join("taskr.db").display()
    ))
    .await
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE status = 'pending'")
                .fetch_one(&db)
                .await
                .unwrap();
        if pending == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pending} rows never applied"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(taskr);

    let webhook_id: String = sqlx::query_scalar("SELECT webhook_id FROM webhooks")
        .fetch_one(&db)
        .await
        .unwrap();
    let attempts = sandbox.sandbox.deliveries(webhook_id.parse().unwrap());
    let acknowledged: std::collections::BTreeSet<String> = attempts
        .iter()
        .filter(|a| a.status.is_some_and(|s| (200..300).contains(&s)))
        .map(|a| a.idempotency_key.clone())
        .collect();
    let task_created = attempts
        .iter()
        .filter(|a| a.event_type == "task.created")
        .map(|a| &a.idempotency_key)
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(task_created.len(), 300, "one message per change");
    assert!(
        acknowledged.len() >= 300,
        "every message was acknowledged in the end"
    );
    let stored: std::collections::BTreeSet<String> =
        sqlx::query("SELECT idempotency_key FROM inbox")
            .fetch_all(&db)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<String, _>(0))
            .collect();
    let missing: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not in the inbox: {missing:?}"
    );
    let (rows, activities): (i64, i64) = (
        sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
            .fetch_one(&db)
            .await
            .unwrap(),
        sqlx::query_scalar("SELECT COUNT(*) FROM activity")
            .fetch_one(&db)
            .await
            .unwrap(),
    );
    assert_eq!(
        rows, activities,
        "each stored delivery applied exactly once"
    );
    let probes: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE data LIKE '%Crash probe%'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(probes, 300, "every created task is in the cache once");
}
