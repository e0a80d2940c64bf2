//! Operations: health, readiness, metrics and who may read them, the client address behind a
//! trusted proxy, and a shutdown that does not wait on open live streams.

use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, SET_COOKIE};
use reqwest::{Client, StatusCode};
use taskr::proxies::TrustedProxies;

use crate::helpers::{browser, wait_until, LiveStream, TestApp, TestOptions};

/// The value of the sample whose line starts with `series` (name and labels, exactly).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn scrape(app: &TestApp) -> String {
    let response = Client::new().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "metrics from loopback");
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    response.text().await.unwrap()
}

async fn readyz(app: &TestApp) -> (StatusCode, serde_json::Value) {
    let response = Client::new().get(app.url("/readyz")).send().await.unwrap();
    assert!(response.headers().get(SET_COOKIE).is_none(), "no session");
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn health_and_readiness_answer_without_a_session() {
    let app = TestApp::spawn().await;
    let response = Client::new().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(SET_COOKIE).is_none(), "no session");
    assert_eq!(response.text().await.unwrap(), "ok\n");
    let (status, body) = readyz(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn readiness_fails_with_a_reason_when_the_schema_is_behind_or_the_database_is_broken() {
    let app = TestApp::spawn().await;
    // The newest migration "not applied": this binary expects a schema the database lacks.
    app.execute(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let reason = body["reason"].as_str().unwrap();
    assert!(reason.contains("schema is not current"), "{reason}");

    // A table Taskr reads is gone: the database cannot answer the question at all.
    app.execute("DROP TABLE _sqlx_migrations").await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["reason"], "the database did not answer");
    assert!(
        !body.to_string().contains("_sqlx"),
        "no SQL details: {body}"
    );

    // The process still serves: liveness does not depend on the database.
    let response = Client::new().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn readiness_turns_unavailable_and_live_streams_end_as_soon_as_a_drain_begins() {
    let app = TestApp::spawn().await;
    let browser = app.user("drainer").await;
    let mut stream = LiveStream::open(&app, &browser).await;
    assert_eq!(readyz(&app).await.0, StatusCode::OK);

    app.state.drain.begin();
    let (status, body) = readyz(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["reason"], "shutting down");
    stream.expect_end(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn shutdown_with_an_open_live_stream_ends_it_and_finishes_well_before_the_deadline() {
    let deadline = Duration::from_secs(30);
    let mut app = TestApp::spawn_with(TestOptions {
        server_limits: serve::Limits {
            drain_timeout: deadline,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let browser = app.user("leaver").await;
    let mut stream = LiveStream::open(&app, &browser).await;
    let metrics = scrape(&app).await;
    assert_eq!(sample(&metrics, "taskr_live_streams_open"), Some(1.0));

    let started = Instant::now();
    let stopping = tokio::spawn(async move {
        app.shut_down().await.expect("a clean shutdown");
        app
    });
    stream.expect_end(Duration::from_secs(10)).await;
    let app = tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("shutdown finishes")
        .unwrap();
    // A generous bound: without the streams ending, the drain waits the whole 30 seconds.
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
    assert!(app.state.drain.is_draining());
    assert_eq!(
        sample(&app.state.metrics.render(), "taskr_live_streams_open"),
        Some(0.0)
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_live_streams_and_refused_deliveries() {
    let app = TestApp::spawn().await;
    let browser = app.user("watcher").await;
    let _stream = LiveStream::open(&app, &browser).await;
    // Ids in the path are not labels: the route template is.
    let response = app
        .get(&browser, "/connections/nosuch-provider/callback")
        .await;
    let refused = Client::new()
        .post(app.url("/webhooks/attio"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    let text = scrape(&app).await;
    assert_eq!(
        sample(
            &text,
            "taskr_http_requests_total{route=\"/signup\",method=\"POST\",status=\"303\"}"
        ),
        Some(1.0),
        "{text}"
    );
    let callback = format!(
        "taskr_http_requests_total{{route=\"/connections/{{provider}}/callback\",method=\"GET\",status=\"{}\"}}",
        response.status().as_u16()
    );
    assert_eq!(sample(&text, &callback), Some(1.0), "{text}");
    assert!(
        !text.contains("nosuch-provider"),
        "raw paths are not labels"
    );
    assert!(
        text.contains("taskr_http_request_duration_seconds_bucket{route=\"/login\",le=\"+Inf\"}")
    );
    assert_eq!(sample(&text, "taskr_live_streams_open"), Some(1.0));
    assert_eq!(
        sample(
            &text,
            "taskr_webhook_deliveries_refused_total{reason=\"no_signature\"}"
        ),
        Some(1.0)
    );
    assert_eq!(sample(&text, "taskr_inbox_pending"), Some(0.0));
    assert_eq!(
        sample(&text, "taskr_inbox_oldest_pending_age_seconds"),
        Some(0.0)
    );
    assert!(sample(&text, "taskr_db_pool_connections").is_some_and(|n| n >= 1.0));
    assert!(text.contains("# HELP taskr_webhook_deliveries_refused_total"));
}

#[tokio::test]
async fn metrics_follow_a_change_from_attio_through_the_inbox_and_the_worker() {
    let app = TestApp::spawn().await;
    let browser = app.user("follower").await;
    app.connect(&browser).await;
    app.create_task("Counted on the way").await;
    app.settle().await;
    wait_until(
        "the worker applied a row",
        Duration::from_secs(10),
        || async {
            let text = scrape(&app).await;
            sample(&text, "taskr_worker_rows_total{outcome=\"applied\"}").is_some_and(|n| n >= 1.0)
        },
    )
    .await;
    let text = scrape(&app).await;
    assert!(
        sample(
            &text,
            "taskr_webhook_deliveries_accepted_total{kind=\"stored\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        sample(&text, "taskr_attio_requests_total{status=\"200\"}").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "taskr_worker_rows_total{outcome=\"failed\"}"),
        Some(0.0)
    );
}

#[tokio::test]
async fn metrics_are_for_loopback_and_a_forwarded_request_is_not_loopback() {
    let app = TestApp::spawn_with(TestOptions {
        trusted_proxies: TrustedProxies::parse("127.0.0.1/32").unwrap(),
        ..Default::default()
    })
    .await;
    scrape(&app).await;
    // nginx on this machine connects from 127.0.0.1 too: what it forwards comes from outside.
    for (header, value) in [
        ("x-forwarded-for", "127.0.0.1"),
        ("x-forwarded-for", "203.0.113.7"),
        ("forwarded", "for=203.0.113.7"),
    ] {
        let response = Client::new()
            .get(app.url("/metrics"))
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{header}: {value}"
        );
    }
}

#[tokio::test]
async fn metrics_from_elsewhere_need_the_configured_bearer_token() {
    let app = TestApp::spawn_with(TestOptions {
        trusted_proxies: TrustedProxies::parse("127.0.0.1/32").unwrap(),
        metrics_token: Some("scrape-me-please".into()),
        ..Default::default()
    })
    .await;
    let forwarded = |auth: Option<&str>| {
        let mut request = Client::new()
            .get(app.url("/metrics"))
            .header("x-forwarded-for", "203.0.113.7");
        if let Some(auth) = auth {
            request = request.header(AUTHORIZATION, auth);
        }
        request.send()
    };
    for (auth, why) in [
        (None, "no token"),
        (Some("Bearer wrong"), "a wrong token"),
        (Some("Bearer "), "an empty token"),
        (Some("Basic c2NyYXBlLW1lLXBsZWFzZQ=="), "another scheme"),
    ] {
        let response = forwarded(auth).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{why}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{why}");
    }
    let response = forwarded(Some("Bearer scrape-me-please")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("taskr_http_requests_total"));
}

/// Log-in attempts with `X-Forwarded-For: forwarded`; returns each answer's status.
async fn log_ins(app: &TestApp, forwarded: &str, n: usize) -> Vec<StatusCode> {
    let client = browser();
    let csrf = app.csrf(&client).await;
    let mut statuses = Vec::new();
    for _ in 0..n {
        let response = client
            .post(app.url("/login"))
            .header("x-forwarded-for", forwarded)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("username", "ghost"),
                ("password", "whatever1"),
            ])
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
    }
    statuses
}

const LIMITED: StatusCode = StatusCode::TOO_MANY_REQUESTS;
const TRIED: StatusCode = StatusCode::UNAUTHORIZED;

#[tokio::test]
async fn a_forwarded_address_from_an_untrusted_peer_is_ignored_by_the_rate_limit() {
    let app = TestApp::spawn_with(TestOptions {
        auth_rate_per_minute: 2,
        ..Default::default()
    })
    .await;
    assert_eq!(log_ins(&app, "198.51.100.1", 2).await, [TRIED, TRIED]);
    // Another spoofed address changes nothing: the budget is the peer's.
    assert_eq!(log_ins(&app, "198.51.100.2", 1).await, [LIMITED]);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let app = TestApp::spawn_with(TestOptions {
        auth_rate_per_minute: 2,
        trusted_proxies: TrustedProxies::parse("127.0.0.1/32").unwrap(),
        ..Default::default()
    })
    .await;
    assert_eq!(
        log_ins(&app, "198.51.100.1", 3).await,
        [TRIED, TRIED, LIMITED]
    );
    assert_eq!(log_ins(&app, "198.51.100.2", 2).await, [TRIED, TRIED]);
    // What a client wrote to the left of the proxy's entry is not believed.
    assert_eq!(
        log_ins(&app, "198.51.100.3, 198.51.100.1", 1).await,
        [LIMITED]
    );
}

#[tokio::test]
async fn a_malformed_forwarded_header_counts_against_the_proxy_itself() {
    let app = TestApp::spawn_with(TestOptions {
        auth_rate_per_minute: 2,
        trusted_proxies: TrustedProxies::parse("127.0.0.1/32").unwrap(),
        ..Default::default()
    })
    .await;
    assert_eq!(log_ins(&app, "unknown", 1).await, [TRIED]);
    assert_eq!(
        log_ins(&app, "198.51.100.9 junk", 2).await,
        [TRIED, LIMITED]
    );
    // Well-formed clients of the proxy still have their own budgets.
    assert_eq!(log_ins(&app, "198.51.100.1", 1).await, [TRIED]);
}

/// The real binary, stopped by SIGTERM while a page's live stream is open: the stream ends, and
/// the process exits 0 long before its 30-second deadline.
#[cfg(unix)]
#[tokio::test]
async fn sigterm_with_an_open_live_stream_exits_zero_well_before_the_deadline() {
    use std::process::{Command, Stdio};

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data_dir = tempfile::tempdir().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    /// Killed if the test fails before the process exits by itself.
    struct Running(Option<std::process::Child>);
    impl Drop for Running {
        fn drop(&mut self) {
            if let Some(mut child) = self.0.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
    let child = Command::new(env!("CARGO_BIN_EXE_taskr"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--public-url",
            &base,
        ])
        .args([
            "--sandbox-listen",
            "127.0.0.1:0",
            "--shutdown-timeout-secs",
            "30",
        ])
        .arg("--data-dir")
        .arg(data_dir.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("taskr starts");
    let pid = child.id();
    let mut running = Running(Some(child));
    let client = browser();
    wait_until("taskr is ready", Duration::from_secs(20), || async {
        client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
    })
    .await;
    let html = client
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::helpers::form_value(&html, "csrf_token").unwrap();
    let response = client
        .post(format!("{base}/signup"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "signalled"),
            ("password", crate::helpers::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let mut stream = client.get(format!("{base}/live")).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);

    let started = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while stream.chunk().await.expect("ended, not cut").is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the live stream ended");
    let mut child = running.0.take().unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "exit status {status}");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
}
