//! Webhook figures for BENCHMARKS.md: `cargo bench -p taskr --bench webhooks`.
//!
//! 1. Ingest: verified deliveries acknowledged per second on SQLite. Each acknowledgement comes
//!    after the delivery is committed to the inbox. The worker runs at the same time, as in
//!    production, applying what arrives. Measured with two load generators, one after the
//!    other (see `support/ingest.rs`); `TASKR_BENCH_GENERATOR=reqwest` or `=hyper` runs one.
//! 2. Change to cache: the time from a change in the sandbox (a task created) until Taskr has
//!    applied the webhook to its cache, measured over sequential changes.
//!
//! Everything runs in this process on loopback: the sandbox, Taskr and the load generator share
//! the machine's cores, so the figures are a floor for a dedicated host.

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

use helpers::TestApp;
use ingest::Generator;

const DELIVERIES: usize = 20_000;
const CONCURRENCY: usize = 64;
const CHANGES: usize = 300;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn ingest(app: &TestApp, generator: Generator) {
    let (webhook_id, secret) = app.webhook().await;
    let workspace = app.sandbox.sandbox.workspace_id();
    let label = format!("bench-{generator:?}");
    let deliveries = ingest::deliveries(DELIVERIES, &label, webhook_id, workspace, &secret);
    let elapsed = ingest::send(
        generator,
        std::slice::from_ref(&app.base),
        deliveries,
        CONCURRENCY,
    )
    .await;
    println!(
        "ingest ({}): {DELIVERIES} signed deliveries, {CONCURRENCY} in flight: {:.2} s, {:.0} acknowledged/s",
        generator.name(),
        elapsed.as_secs_f64(),
        DELIVERIES as f64 / elapsed.as_secs_f64()
    );
    let drain_started = Instant::now();
    taskr::sync::worker::drain(&app.state.sync).await.unwrap();
    println!(
        "ingest: worker backlog after the burst drained in {:.2} s",
        drain_started.elapsed().as_secs_f64()
    );
}

async fn change_to_cache(app: &TestApp) {
    let workspace = app.sandbox.sandbox.workspace_id();
    let mut live = app.state.coordinator.subscribe();
    let mut samples = Vec::with_capacity(CHANGES);
    for i in 0..CHANGES {
        while live.try_recv().is_ok() {}
        let started = Instant::now();
        app.sandbox
            .sandbox
            .create_task_as_member(&format!("Latency probe {i}"));
        loop {
            let event = tokio::time::timeout(Duration::from_secs(10), live.recv())
                .await
                .expect("the change arrives")
                .expect("live channel open");
            if event.workspace == Some(taskr::store::WorkspaceId(workspace))
                && event.change == taskr::live::Change::Tasks
            {
                break;
            }
        }
        samples.push(started.elapsed());
    }
    samples.sort();
    println!(
        "change to cache: {CHANGES} sequential task creations: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let app = TestApp::spawn().await;
        let browser = app.user("bench").await;
        app.connect(&browser).await;
        for generator in generators() {
            ingest(&app, generator).await;
        }
        change_to_cache(&app).await;
    });
}
