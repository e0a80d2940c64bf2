//! Webhook figures for BENCHMARKS.md: `cargo bench -p taskr --bench webhooks`.
//!
//! 1. Ingest: verified deliveries acknowledged per second on SQLite. Each acknowledgement comes
//!    after the delivery is committed to the inbox. The worker runs at the same time, as in
//!    production, applying what arrives.
//! 2. Change to cache: the time from a change in the sandbox (a task created) until Taskr has
//!    applied the webhook to its cache, measured over sequential changes.
//!
//! Everything runs in this process on loopback: the sandbox, Taskr and the load generator share
//! the machine's cores, so the figures are a floor for a dedicated host.

#[path = "../tests/app/database.rs"]
#[allow(dead_code)]
mod database;
#[path = "../tests/app/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Semaphore;

use helpers::TestApp;

const DELIVERIES: usize = 20_000;
const CONCURRENCY: usize = 64;
const CHANGES: usize = 300;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn ingest(app: &TestApp) {
    let (webhook_id, secret) = app.webhook().await;
    let workspace = app.sandbox.sandbox.workspace_id();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let url = app.url("/webhooks/attio");
    let bodies: Vec<(String, Vec<u8>)> = (0..DELIVERIES)
        .map(|i| {
            let body = serde_json::to_vec(&json!({
                "webhook_id": webhook_id,
                "events": [{"event_type": "note.created",
                            "id": {"workspace_id": workspace, "note_id": uuid::Uuid::new_v4()},
                            "parent_object_id": "people", "parent_record_id": uuid::Uuid::new_v4(),
                            "actor": {"type": "workspace-member", "id": uuid::Uuid::new_v4()}}]
            }))
            .unwrap();
            (format!("bench-{i}"), body)
        })
        .collect();
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let started = Instant::now();
    let mut handles = Vec::with_capacity(DELIVERIES);
    for (key, body) in bodies {
        let permit = permits.clone().acquire_owned().await.unwrap();
        let client = client.clone();
        let url = url.clone();
        let signature = secret.sign(&body);
        handles.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .header("attio-signature", signature)
                .header("idempotency-key", key)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("request");
            drop(permit);
            response.status().as_u16()
        }));
    }
    let mut ok = 0;
    for handle in handles {
        if handle.await.unwrap() == 200 {
            ok += 1;
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(ok, DELIVERIES, "every delivery acknowledged");
    println!(
        "ingest: {DELIVERIES} signed deliveries, {CONCURRENCY} in flight: {:.2} s, {:.0} acknowledged/s",
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

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let app = TestApp::spawn().await;
        let browser = app.user("bench").await;
        app.connect(&browser).await;
        ingest(&app).await;
        change_to_cache(&app).await;
    });
}
