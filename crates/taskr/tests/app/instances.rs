//! Several Taskr instances on one PostgreSQL database and one sandbox, as behind a reverse
//! proxy: a change delivered to one reaches the open pages of another (through `LISTEN/NOTIFY`),
//! sessions are shared, and a connection written on one is read fresh on the others at once
//! (not after the connection cache's 5 seconds); a workspace's deliveries are applied by one
//! instance at a time, one instance reconciles, and a stopped instance's leases are free at
//! once; log-in limits and the account throttle hold in total, and one refresh of a connection
//! is in flight across all instances. These tests
//! need PostgreSQL: on SQLite (one instance by design) they print why they are skipped.

use std::sync::Arc;
use std::time::Duration;

use attio_sandbox::provider::ProviderConfig;
use reqwest::{Client, StatusCode};
use serde_json::json;
use sqlx::Connection;
use taskr::accounts::ThrottlePolicy;
use taskr::connections::ConnectionError;
use taskr::store::NewDelivery;

use crate::connections::{app_with, connected_user, ctx};
use crate::helpers::{
    browser, form_value, location, wait_until, LiveStream, Peer, TestApp, TestOptions, PASSWORD,
    SEQUENCER,
};

/// Comfortably under the connection cache's lifetime (5 s): seeing a change within this
/// bound proves it did not come from the cache expiring.
const SOONER_THAN_THE_CACHE: Duration = Duration::from_secs(3);

pub fn skipped(test: &str) -> bool {
    if crate::database::is_postgres() {
        return false;
    }
    eprintln!("skipped {test}: several instances need PostgreSQL (TASKR_TEST_BACKEND=postgres)");
    true
}

#[tokio::test]
async fn a_webhook_delivered_to_one_instance_updates_an_open_page_on_another() {
    if skipped("a_webhook_delivered_to_one_instance_updates_an_open_page_on_another") {
        return;
    }
    let a = TestApp::spawn().await;
    // Without a worker, B can only hear of the change from A (which applies it).
    let b = a.spawn_peer_with(|s| s.run_worker = false).await;
    let browser = a.user("ann").await;
    a.connect(&browser).await;
    a.settle().await;
    let mut live = LiveStream::open_at(&b.url("/live"), &browser).await;
    a.sandbox
        .sandbox
        .create_task_as_member("Told on A, seen on B");
    hears_then_lists(&mut live, &browser, &b, "Told on A, seen on B").await;
}

/// Waits for `tasks` events on `peer`'s page until the page lists `content` (each event makes
/// a browser fetch again; events published before the change may come first).
async fn hears_then_lists(live: &mut LiveStream, browser: &Client, peer: &Peer, content: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        live.expect("tasks").await;
        let page = browser.get(peer.url("/tasks")).send().await.unwrap();
        if page.text().await.unwrap().contains(content) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the peer's page never listed {content:?}"
        );
    }
}

#[tokio::test]
async fn a_session_made_on_one_instance_works_on_another_until_it_logs_out_on_the_first() {
    if skipped("a_session_made_on_one_instance_works_on_another_until_it_logs_out_on_the_first") {
        return;
    }
    let a = TestApp::spawn().await;
    let b = a.spawn_peer_with(|_| {}).await;
    let browser = a.user("bea").await;
    let home = browser.get(b.url("/")).send().await.unwrap();
    assert!(home.text().await.unwrap().contains("Signed in as"));
    let response = a.post_form(&browser, "/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let home = browser.get(b.url("/")).send().await.unwrap();
    assert!(!home.text().await.unwrap().contains("Signed in as"));
}

#[tokio::test]
async fn an_attio_link_started_on_one_instance_completes_on_another() {
    if skipped("an_attio_link_started_on_one_instance_completes_on_another") {
        return;
    }
    let a = TestApp::spawn().await;
    let b = a.spawn_peer_with(|_| {}).await;
    let browser = a.user("gus").await;
    // The flow starts on A (its state and PKCE verifier are stored there)...
    let (html, _) = a.open_consent(&browser).await;
    let callback = a.decide(&browser, &html, "approve", None).await;
    // ...and Attio's redirect lands on B, as a proxy may send it.
    let on_b = callback.replacen(&a.base, &b.base, 1);
    assert_ne!(on_b, callback, "{callback}");
    let response = browser.get(&on_b).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "callback on B");
    let page = browser.get(b.url("/")).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("Sync now"));
    let page = browser.get(a.url("/")).send().await.unwrap();
    assert!(
        page.text().await.unwrap().contains("Sync now"),
        "the link made on B is A's too"
    );
    // The state was used up on B: replaying the callback on A is refused.
    let replay = browser.get(&callback).send().await.unwrap();
    assert_ne!(replay.status(), StatusCode::SEE_OTHER, "a replayed state");
}

#[tokio::test]
async fn a_connection_flow_started_on_one_instance_completes_on_another() {
    if skipped("a_connection_flow_started_on_one_instance_completes_on_another") {
        return;
    }
    let a = app_with(ProviderConfig::default()).await;
    let b = a.spawn_peer_with(|_| {}).await;
    let client = a.user("hal").await;
    a.connect(&client).await;
    // "Connect Sequencer" on A...
    let response = a.get(&client, "/connections/sequencer/user/connect").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let consent = client.get(location(&response)).send().await.unwrap();
    let html = consent.text().await.unwrap();
    let provider_base = &a.provider.as_ref().unwrap().1;
    let answer = client
        .post(format!("{provider_base}/provider/authorize"))
        .form(&[
            (
                "request_id",
                form_value(&html, "request_id").unwrap().as_str(),
            ),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    // ...and the provider's redirect lands on B.
    let callback = location(&answer);
    let on_b = callback.replacen(&a.base, &b.base, 1);
    assert_ne!(on_b, callback, "{callback}");
    let response = client.get(&on_b).send().await.unwrap();
    assert_eq!(location(&response), "/connections");
    let page = a.page(&client, "/connections").await;
    assert!(page.contains("Connected</span> by you"), "{page}");
}

#[tokio::test]
async fn a_connection_disconnected_on_one_instance_is_required_at_once_on_another() {
    if skipped("a_connection_disconnected_on_one_instance_is_required_at_once_on_another") {
        return;
    }
    let a = app_with(ProviderConfig::default()).await;
    let b = a.spawn_peer_with(|_| {}).await;
    let client = connected_user(&a, "cleo").await;
    let ctx = ctx(&a, "cleo").await;
    // B reads it, so B's cache holds it.
    b.state.connections.user(&ctx, &SEQUENCER).await.unwrap();
    let response = a
        .post_form(&client, "/connections/sequencer/user/disconnect", &[])
        .await;
    assert_eq!(
        location(&response),
        "/connections?notice=connection-removed"
    );
    wait_until(
        "B to find the connection gone",
        SOONER_THAN_THE_CACHE,
        || async {
            matches!(
                b.state.connections.user(&ctx, &SEQUENCER).await,
                Err(ConnectionError::Required(_))
            )
        },
    )
    .await;
}

#[tokio::test]
async fn after_its_listening_connection_drops_an_instance_refreshes_its_pages_and_listens_again() {
    if skipped(
        "after_its_listening_connection_drops_an_instance_refreshes_its_pages_and_listens_again",
    ) {
        return;
    }
    let a = TestApp::spawn().await;
    let b = a.spawn_peer_with(|s| s.run_worker = false).await;
    let browser = a.user("dora").await;
    a.connect(&browser).await;
    a.settle().await;
    let mut live = LiveStream::open_at(&b.url("/live"), &browser).await;
    // Cut every instance's listening connection, as a database restart or a network cut would.
    let cut = a
        .count(&format!(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = '{}'",
            taskr::coordination::LISTENER_NAME
        ))
        .await;
    assert_eq!(cut, 2, "one listener per instance");
    // Whatever was sent meanwhile is lost to B: its pages are told to refresh everything.
    live.expect("tasks").await;
    // And it listens again: a change applied by A reaches B's page.
    a.sandbox
        .sandbox
        .create_task_as_member("Made after the reconnect");
    hears_then_lists(&mut live, &browser, &b, "Made after the reconnect").await;
}

/// Rows of the inbox that `holder` has claimed.
async fn leased_to(app: &TestApp, holder: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM inbox WHERE status = 'pending' AND lease_holder = '{holder}'"
    ))
    .await
}

/// Puts A (its worker driven by hand) in the middle of a batch: every earlier delivery applied,
/// Attio's task reads slowed to `latency_ms`, a new task `content` delivered, and A's worker
/// holding its claim while it reads. Returns that batch and A's lease holder id.
async fn mid_batch(
    a: &TestApp,
    latency_ms: u64,
    content: &str,
) -> (tokio::task::JoinHandle<usize>, String) {
    a.settle().await;
    taskr::sync::worker::drain(&a.state.sync).await.unwrap();
    a.add_fault(json!({"path_prefix": "/v2/tasks", "latency_ms": latency_ms}))
        .await;
    a.sandbox.sandbox.create_task_as_member(content);
    a.settle().await;
    let busy = {
        let state = a.state.clone();
        tokio::spawn(async move { taskr::sync::worker::process_due(&state.sync).await.unwrap() })
    };
    let holder = a.state.sync.leases.holder().to_owned();
    wait_until(
        "A to claim the delivery",
        Duration::from_secs(5),
        || async { leased_to(a, &holder).await > 0 },
    )
    .await;
    (busy, holder)
}

#[tokio::test]
async fn two_instances_never_apply_one_workspaces_deliveries_at_once() {
    if skipped("two_instances_never_apply_one_workspaces_deliveries_at_once") {
        return;
    }
    // Both workers are driven by hand, so that A is in the middle of a batch for certain.
    let a = TestApp::spawn_with(TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let b = a.spawn_peer_with(|s| s.run_worker = false).await;
    let browser = a.user("eve").await;
    a.connect(&browser).await;
    // Attio reads slowly: A's batch takes seconds, and the next change arrives meanwhile.
    let (busy, holder) = mid_batch(&a, 1500, "Read by A").await;
    a.sandbox
        .sandbox
        .create_task_as_member("Arrives while A reads");
    a.settle().await;
    assert_eq!(
        taskr::sync::worker::process_due(&b.state.sync)
            .await
            .unwrap(),
        0,
        "B leaves the workspace's new delivery alone while A applies the workspace"
    );
    assert!(busy.await.unwrap() > 0);
    assert_eq!(leased_to(&a, &holder).await, 0);
    assert!(
        taskr::sync::worker::process_due(&b.state.sync)
            .await
            .unwrap()
            > 0,
        "once A is done, B takes the workspace's next delivery"
    );
    assert_eq!(
        a.count("SELECT COUNT(*) FROM inbox WHERE status = 'pending'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_reconciliation_pass_runs_on_one_instance_only() {
    if skipped("a_reconciliation_pass_runs_on_one_instance_only") {
        return;
    }
    let a = TestApp::spawn().await;
    let b = a.spawn_peer_with(|_| {}).await;
    let browser = a.user("finn").await;
    a.connect(&browser).await;
    a.settle().await;
    let before = a.sandbox_requests_for("/v2/self").await;
    assert!(taskr::sync::reconcile_turn(&a.state.sync).await.unwrap());
    assert!(
        !taskr::sync::reconcile_turn(&b.state.sync).await.unwrap(),
        "B leaves this interval's pass to A"
    );
    assert_eq!(
        a.sandbox_requests_for("/v2/self").await - before,
        1,
        "one pass over the one workspace"
    );
    assert!(
        taskr::sync::reconcile_turn(&a.state.sync).await.unwrap(),
        "A keeps its turn at its next tick"
    );
}

#[tokio::test]
async fn a_shut_down_instance_gives_up_its_leases_so_another_takes_its_work_at_once() {
    if skipped("a_shut_down_instance_gives_up_its_leases_so_another_takes_its_work_at_once") {
        return;
    }
    let mut a = TestApp::spawn_with(TestOptions {
        worker: false,
        ..Default::default()
    })
    .await;
    let b = a.spawn_peer_with(|s| s.run_worker = false).await;
    let workspace = taskr::store::WorkspaceId(uuid::Uuid::new_v4());
    let now = taskr::now_ms();
    a.state
        .store
        .inbox_insert(&NewDelivery {
            idempotency_key: "held-by-a".to_owned(),
            webhook_id: uuid::Uuid::new_v4(),
            workspace_id: workspace,
            body: b"{}".to_vec(),
            received_ms: now,
        })
        .await
        .unwrap();
    // A holds rows (for ten minutes), a backfill and the reconciler when it is stopped.
    let holder = a.state.sync.leases.holder().to_owned();
    let claimed = a.state.store.inbox_claim(&holder, now, 600_000, 10).await;
    assert_eq!(claimed.unwrap().len(), 1);
    let backfill = taskr::coordination::sync_lease(workspace);
    let long = Duration::from_secs(600);
    assert!(a
        .state
        .sync
        .leases
        .try_acquire(&backfill, long)
        .await
        .unwrap());
    assert!(taskr::sync::reconcile_turn(&a.state.sync).await.unwrap());
    assert!(!taskr::sync::reconcile_turn(&b.state.sync).await.unwrap());

    a.shut_down().await.unwrap();
    assert_eq!(
        taskr::sync::worker::process_due(&b.state.sync)
            .await
            .unwrap(),
        1,
        "B claims A's rows without waiting for their lease to end"
    );
    assert!(taskr::sync::reconcile_turn(&b.state.sync).await.unwrap());
    assert!(b
        .state
        .sync
        .leases
        .try_acquire(&backfill, long)
        .await
        .unwrap());
}

#[tokio::test]
async fn an_instance_keeps_a_workspace_while_its_batch_outlasts_the_lease() {
    if skipped("an_instance_keeps_a_workspace_while_its_batch_outlasts_the_lease") {
        return;
    }
    let lease = Duration::from_secs(1);
    let a = TestApp::spawn_with(TestOptions {
        worker: false,
        inbox_lease: lease,
        ..Default::default()
    })
    .await;
    let b = a.spawn_peer_with(|s| s.run_worker = false).await;
    let browser = a.user("gus").await;
    a.connect(&browser).await;
    // A's reads take 2.5 times the lease.
    let (busy, _) = mid_batch(&a, 2500, "Slow to read").await;
    let claimed_at = taskr::now_ms();
    wait_until(
        "the lease A took to have run out, had A not renewed it",
        Duration::from_secs(5),
        || async { taskr::now_ms() > claimed_at + 1_500 },
    )
    .await;
    assert_eq!(
        taskr::sync::worker::process_due(&b.state.sync)
            .await
            .unwrap(),
        0,
        "A renews its claim while it reads, so B does not take the rows over"
    );
    assert!(busy.await.unwrap() > 0);
    assert_eq!(
        a.count("SELECT COUNT(*) FROM inbox WHERE status = 'pending'")
            .await,
        0,
        "A's batch was written, not refused"
    );
}
/// Logs in at the instance at `base` as a browser would: the form (for its CSRF token), then
/// the post.
async fn log_in_at(base: &str, browser: &Client, username: &str, password: &str) -> StatusCode {
    let form = browser
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form_value(&form, "csrf_token").expect("a csrf token on the log-in form");
    browser
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

/// A counter's value in an instance's metrics (0 when it was never counted).
fn counted(state: &taskr::state::AppState, series: &str) -> u64 {
    state
        .metrics
        .render()
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn log_ins_from_one_address_spread_over_two_instances_share_one_limit() {
    if skipped("log_ins_from_one_address_spread_over_two_instances_share_one_limit") {
        return;
    }
    let a = TestApp::spawn_with(TestOptions {
        auth_rate_per_minute: 4,
        ..Default::default()
    })
    .await;
    let b = a.spawn_peer_with(|_| {}).await;
    let browser = browser();
    for (attempt, base) in [&a.base, &b.base, &a.base, &b.base].iter().enumerate() {
        assert_eq!(
            log_in_at(base, &browser, "ghost", "whatever1").await,
            StatusCode::UNAUTHORIZED,
            "attempt {} (on {base})",
            attempt + 1
        );
    }
    // The limit is 4 in all, as on one instance, not 4 on each.
    for base in [&a.base, &b.base] {
        assert_eq!(
            log_in_at(base, &browser, "ghost", "whatever1").await,
            StatusCode::TOO_MANY_REQUESTS,
            "on {base}"
        );
    }
    let sign_up = browser
        .post(b.url("/signup"))
        .form(&[
            ("csrf_token", a.csrf(&browser).await.as_str()),
            ("username", "newperson"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        sign_up.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "sign-up shares the budget"
    );
    assert_eq!(
        counted(&a.state, "taskr_auth_rate_limited_total")
            + counted(&b.state, "taskr_auth_rate_limited_total"),
        3,
        "each refusal is counted where it was made"
    );
}

#[tokio::test]
async fn the_account_throttle_holds_across_instances_and_the_owners_browser_still_gets_in() {
    if skipped("the_account_throttle_holds_across_instances_and_the_owners_browser_still_gets_in") {
        return;
    }
    let a = TestApp::spawn_with(TestOptions {
        login_throttle: ThrottlePolicy {
            free_failures: 3,
            first_delay: Duration::from_secs(60),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let b = a.spawn_peer_with(|_| {}).await;
    // The owner signed up (on A) in this browser: a known device for the account.
    let owner = a.user("victoria").await;
    a.post_form(&owner, "/logout", &[]).await;

    let attacker = browser();
    for base in [&a.base, &b.base, &a.base, &b.base] {
        assert_eq!(
            log_in_at(base, &attacker, "victoria", "guess-number-x").await,
            StatusCode::UNAUTHORIZED
        );
    }
    // Two failures on each instance, four in all: past the three free ones on both.
    for base in [&b.base, &a.base] {
        assert_eq!(
            log_in_at(base, &attacker, "victoria", PASSWORD).await,
            StatusCode::TOO_MANY_REQUESTS,
            "the right password waits too, on {base}"
        );
    }
    assert_eq!(
        counted(&b.state, "taskr_login_throttle_refusals_total"),
        1,
        "B counted its refusal"
    );
    // The owner's browser has its own count, on whichever instance it lands.
    assert_eq!(
        log_in_at(&b.base, &owner, "victoria", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    a.post_form(&owner, "/logout", &[]).await;
    // And the known device's own failures are shared too.
    for base in [&a.base, &b.base, &a.base, &b.base] {
        log_in_at(base, &owner, "victoria", "not-my-password").await;
    }
    assert_eq!(
        log_in_at(&a.base, &owner, "victoria", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "a stolen device cookie gets no more guesses by switching instances"
    );
}

#[tokio::test]
async fn when_the_shared_limits_fail_each_instance_limits_on_its_own_and_counts_it() {
    if skipped("when_the_shared_limits_fail_each_instance_limits_on_its_own_and_counts_it") {
        return;
    }
    let a = TestApp::spawn_with(TestOptions {
        auth_rate_per_minute: 5,
        login_throttle: ThrottlePolicy {
            free_failures: 2,
            first_delay: Duration::from_secs(60),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let owner = a.user("olga").await;
    a.post_form(&owner, "/logout", &[]).await;
    a.execute("DROP TABLE auth_rate_limits").await;
    a.execute("DROP TABLE login_throttle").await;
    // Not locked out: the right password still logs in (one attempt of the address's five).
    assert_eq!(
        log_in_at(&a.base, &owner, "olga", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    // Failures are still throttled, by this instance's own count.
    let attacker = browser();
    for _ in 0..3 {
        assert_eq!(
            log_in_at(&a.base, &attacker, "olga", "guess-number-x").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        log_in_at(&a.base, &attacker, "olga", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "throttled by the local count"
    );
    // And a flood from one address is still cut, at the same rate (five attempts so far).
    assert_eq!(
        log_in_at(&a.base, &attacker, "someone", "guess-number-x").await,
        StatusCode::TOO_MANY_REQUESTS,
        "limited by the local rate limiter"
    );
    assert!(
        counted(
            &a.state,
            "taskr_shared_limits_fallbacks_total{limit=\"address\"}"
        ) >= 6
    );
    assert!(
        counted(
            &a.state,
            "taskr_shared_limits_fallbacks_total{limit=\"account\"}"
        ) >= 4
    );
}

/// The provider's token endpoint behind a delay: every refresh takes `delay`, so that several
/// instances would all be in the middle of one at the same moment unless they take turns.
async fn slow_provider(provider_url: String, delay: Duration) -> String {
    async fn forward(
        axum::extract::State((http, to, delay)): axum::extract::State<(Client, String, Duration)>,
        request: axum::extract::Request,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        tokio::time::sleep(delay).await;
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut out = http.request(parts.method, format!("{to}{path}")).body(body);
        for (name, value) in &parts.headers {
            // reqwest sets these itself for the body it sends.
            if name != reqwest::header::HOST && name != reqwest::header::CONTENT_LENGTH {
                out = out.header(name, value);
            }
        }
        let answer = out.send().await.unwrap();
        let (status, headers) = (answer.status(), answer.headers().clone());
        (status, headers, answer.bytes().await.unwrap()).into_response()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router =
        axum::Router::new()
            .fallback(forward)
            .with_state((Client::new(), provider_url, delay));
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// Points an instance's "sequencer" provider's token endpoint at `base`.
fn token_url_at(settings: &mut taskr::config::Settings, base: &str) {
    use taskr::connections::providers::ProviderKind;
    for provider in &mut settings.providers {
        if let ProviderKind::OAuth2(config) = &mut provider.kind {
            config.token_url = url::Url::parse(&format!("{base}/provider/token")).unwrap();
        }
    }
}

#[tokio::test]
async fn fifty_concurrent_reads_of_an_expiring_connection_over_two_instances_make_one_refresh() {
    if skipped(
        "fifty_concurrent_reads_of_an_expiring_connection_over_two_instances_make_one_refresh",
    ) {
        return;
    }
    let a = app_with(ProviderConfig::default()).await;
    let (provider, provider_url) = a.provider.clone().unwrap();
    // B and C reach the provider through a slow path: both are mid-refresh at once unless
    // they take turns. (A only sets up; a fast refresh there would let the race go either way.)
    let slow = slow_provider(provider_url, Duration::from_millis(300)).await;
    let b = a.spawn_peer_with(|s| token_url_at(s, &slow)).await;
    let c = a.spawn_peer_with(|s| token_url_at(s, &slow)).await;
    connected_user(&a, "erin").await;
    let ctx = Arc::new(ctx(&a, "erin").await);
    let states = [b.state.clone(), c.state.clone()];
    let original = a.state.connections.user(&ctx, &SEQUENCER).await.unwrap();
    // Both instances have read it (and cached it); now make the stored token due.
    for state in &states {
        state.connections.user(&ctx, &SEQUENCER).await.unwrap();
    }
    a.execute(&format!(
        "UPDATE connections SET expires_at = {}",
        taskr::now() + 60
    ))
    .await;
    for state in &states {
        state.connections.forget_cached();
    }
    let before = provider.refresh_requests();
    let reads: Vec<_> = (0..50)
        .map(|n| {
            let (state, ctx) = (states[n % 2].clone(), ctx.clone());
            tokio::spawn(async move { state.connections.user(&ctx, &SEQUENCER).await })
        })
        .collect();
    let mut values = std::collections::HashSet::new();
    for read in reads {
        values.insert(read.await.unwrap().unwrap().value.expose().to_owned());
    }
    assert_eq!(
        provider.refresh_requests() - before,
        1,
        "exactly one refresh request at the provider"
    );
    assert_eq!(values.len(), 1, "every reader got the new token");
    assert!(!values.contains(original.value.expose()));
    // Each instance's readers queued in the instance: at most one lock attempt per instance.
    for state in &states {
        let locks = counted(
            state,
            "taskr_connection_refresh_locks_total{outcome=\"acquired\"}",
        );
        assert!(locks <= 1, "{locks} lock attempts on one instance");
    }
}

#[tokio::test]
async fn a_reader_waits_a_bounded_time_for_another_instances_refresh_then_serves_the_valid_token() {
    if skipped(
        "a_reader_waits_a_bounded_time_for_another_instances_refresh_then_serves_the_valid_token",
    ) {
        return;
    }
    let a = app_with(ProviderConfig::default()).await;
    let provider = a.provider.clone().unwrap().0;
    connected_user(&a, "finn").await;
    let ctx = ctx(&a, "finn").await;
    let original = a.state.connections.user(&ctx, &SEQUENCER).await.unwrap();
    a.execute(&format!(
        "UPDATE connections SET expires_at = {}",
        taskr::now() + 60
    ))
    .await;
    a.state.connections.forget_cached();
    a.state
        .coordinator
        .set_refresh_lock_wait(Duration::from_millis(300));
    // Another instance is refreshing this connection (and hangs): it holds the lock.
    let mut other = sqlx::PgConnection::connect(a.database.url().expose())
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut other).await.unwrap();
    let name = taskr::coordination::refresh_lock::lock_name(&SEQUENCER, &original.owned_by);
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(&name)
        .execute(&mut other)
        .await
        .unwrap();
    let before = provider.refresh_requests();
    let read = tokio::time::timeout(
        Duration::from_secs(5),
        a.state.connections.user(&ctx, &SEQUENCER),
    )
    .await
    .expect("the wait is bounded")
    .expect("the stored token is still valid for a minute");
    assert_eq!(read.value, original.value);
    assert_eq!(
        provider.refresh_requests(),
        before,
        "no refresh behind the lock"
    );
    assert_eq!(
        counted(
            &a.state,
            "taskr_connection_refresh_locks_total{outcome=\"timed_out\"}"
        ),
        1
    );
    // Once the other instance lets go, the next read refreshes.
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    let renewed = a.state.connections.user(&ctx, &SEQUENCER).await.unwrap();
    assert_ne!(renewed.value, original.value);
    assert_eq!(provider.refresh_requests(), before + 1);
}
