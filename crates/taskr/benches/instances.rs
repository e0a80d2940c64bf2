//! Several-instance figures for BENCHMARKS.md, on PostgreSQL:
//! `TASKR_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench -p taskr --bench instances`
//! (the server defaults to that URL; each run uses a fresh database, dropped afterwards).
//!
//! 1. Ingest: signed webhook deliveries acknowledged per second (each 200 comes after the
//!    delivery is committed to the inbox), sent to one instance, then spread evenly over two
//!    instances on the same database. Both instances run their workers, as in production.
//!    Measured with two load generators (see `support/ingest.rs`); `TASKR_BENCH_GENERATOR=reqwest`
//!    or `=hyper` runs one.
//! 2. Change to page: a task created in the sandbox is delivered to instance A (its webhook
//!    target); the page is open on instance B (`/live`, server-sent events). Measured from the
//!    change until B's stream carries the `tasks` event, over sequential changes.
//!
//! Both instances are `Application`s in this one process (their own listeners, database pools
//! and coordination connections; one Tokio runtime), with the sandbox and the load generator:
//! everything shares the machine's cores, so the figures are a floor for dedicated hosts.

#[path = "../tests/app/database.rs"]
#[allow(dead_code)]
mod database;
#[path = "../tests/app/forms.rs"]
mod forms;
#[path = "../tests/app/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "support/ingest.rs"]
mod ingest;

use std::time::{Duration, Instant};

use helpers::{Peer, TestApp, TestOptions};
use ingest::Generator;

const DELIVERIES: usize = 20_000;
const CONCURRENCY: usize = 64;
const CHANGES: usize = 300;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// Posts `DELIVERIES` signed deliveries, spread over `targets`; returns deliveries/s.
async fn ingest(app: &TestApp, targets: &[String], label: &str, generator: Generator) -> f64 {
    let (webhook_id, secret) = app.webhook().await;
    let workspace = app.sandbox.sandbox.workspace_id();
    let deliveries = ingest::deliveries(DELIVERIES, label, webhook_id, workspace, &secret);
    let elapsed = ingest::send(generator, targets, deliveries, CONCURRENCY).await;
    let rate = DELIVERIES as f64 / elapsed.as_secs_f64();
    println!(
        "ingest, {label} ({}): {DELIVERIES} signed deliveries, {CONCURRENCY} in flight: {:.2} s, {rate:.0} acknowledged/s",
        generator.name(),
        elapsed.as_secs_f64(),
    );
    rate
}

/// Waits until both workers have applied every stored delivery.
async fn drain(app: &TestApp) {
    let started = Instant::now();
    loop {
        let pending = app
            .count("SELECT COUNT(*) FROM inbox WHERE status = 'pending'")
            .await;
        if pending == 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(300) {
            println!("  (workers still had {pending} rows to apply after 300 s; going on)");
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "  (workers drained the backlog {:.1} s after the burst)",
        started.elapsed().as_secs_f64()
    );
}

async fn change_to_page(app: &TestApp, page_on: &Peer, browser: &reqwest::Client) {
    let mut stream = browser.get(page_on.url("/live")).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let mut samples = Vec::with_capacity(CHANGES);
    for i in 0..CHANGES {
        // Whatever earlier changes still publish (the feed, say) is read before timing.
        while let Ok(chunk) = tokio::time::timeout(Duration::from_millis(30), stream.chunk()).await
        {
            chunk.unwrap().expect("the stream stays open");
        }
        let started = Instant::now();
        app.sandbox
            .sandbox
            .create_task_as_member(&format!("Page probe {i}"));
        let mut seen = String::new();
        while !seen.contains("event: tasks") {
            let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
                .await
                .expect("the change reaches the other instance's page")
                .unwrap()
                .expect("the stream stays open");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        samples.push(started.elapsed());
    }
    samples.sort();
    println!(
        "change to page (delivered to A, page open on B): {CHANGES} sequential task creations: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.95).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
}

/// Both load generators unless `TASKR_BENCH_GENERATOR` names one (`reqwest` or `hyper`).
fn generators() -> Vec<Generator> {
    match std::env::var("TASKR_BENCH_GENERATOR").as_deref() {
        Ok("reqwest") => vec![Generator::Reqwest],
        Ok("hyper") => vec![Generator::Hyper],
        _ => vec![Generator::Reqwest, Generator::Hyper],
    }
}

fn main() {
    // The helpers choose PostgreSQL by this variable; set before any thread exists.
    std::env::set_var("TASKR_TEST_BACKEND", "postgres");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let app = TestApp::spawn_with(TestOptions {
            sandbox: attio_sandbox::Config {
                retry_base: Duration::from_millis(20),
                // No throttle between two sequential changes' deliveries.
                target_rate_per_second: 10_000,
                ..Default::default()
            },
            ..Default::default()
        })
        .await;
        let browser = app.user("bench").await;
        app.connect(&browser).await;
        app.settle().await;

        let generators = generators();
        let mut one = Vec::new();
        for generator in &generators {
            one.push(
                ingest(
                    &app,
                    std::slice::from_ref(&app.base),
                    "one instance",
                    *generator,
                )
                .await,
            );
            drain(&app).await;
        }
        let b = app.spawn_peer_with(|_| {}).await;
        for (generator, one) in generators.iter().zip(one) {
            let targets = [app.base.clone(), b.base.clone()];
            let two = ingest(&app, &targets, "two instances", *generator).await;
            drain(&app).await;
            println!(
                "ingest ({}): two instances / one = {:.2}",
                generator.name(),
                two / one
            );
        }

        change_to_page(&app, &b, &browser).await;
    });
}
