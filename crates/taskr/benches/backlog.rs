//! Backlog figures for BENCHMARKS.md: `cargo bench -p taskr --bench backlog`.
//!
//! An outage: Attio answers every task read with 503 while N tasks are created, with Attio's
//! rate limits on (100 reads/s). Their deliveries reach Taskr's inbox, the worker (running
//! throughout) meets the outage, then Attio comes back. Measured: the time from the outage's end until all N tasks
//! are in Taskr's cache, and the Attio requests that took (pages of `GET /v2/tasks` against
//! single `GET /v2/tasks/{id}`). Everything runs in this process on loopback.

#[path = "../tests/app/database.rs"]
#[allow(dead_code)]
mod database;
#[path = "../tests/app/forms.rs"]
mod forms;
#[path = "../tests/app/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::time::{Duration, Instant};

use serde_json::json;
use uuid::Uuid;

use helpers::{wait_until, TestApp, TestOptions};

async fn cached(app: &TestApp, ids: &[Uuid]) -> i64 {
    let list: Vec<String> = ids.iter().map(|id| format!("'{id}'")).collect();
    app.count(&format!(
        "SELECT COUNT(*) FROM tasks WHERE task_id IN ({})",
        list.join(",")
    ))
    .await
}

async fn single_reads(app: &TestApp, ids: &[Uuid]) -> usize {
    let mut total = 0;
    for id in ids {
        total += app.sandbox_requests_for(&format!("/v2/tasks/{id}")).await;
    }
    total
}

async fn outage(tasks: usize) {
    // The production worker runs throughout, as in a real outage.
    let app = TestApp::spawn_with(TestOptions {
        sandbox: attio_sandbox::Config {
            retry_base: Duration::from_millis(20),
            target_rate_per_second: 1000,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let browser = app.user("bench").await;
    app.connect(&browser).await;
    app.settle().await;

    app.set_rate_limits(true).await;
    app.add_fault(json!({"path_prefix": "/v2/tasks", "error_rate": 1.0, "error_status": 503}))
        .await;
    let listings_at_start = app.sandbox_requests_for("/v2/tasks").await;
    let ids: Vec<Uuid> = (0..tasks)
        .map(|i| {
            app.sandbox
                .sandbox
                .create_task_as_member(&format!("Backlog task {i}"))
        })
        .collect();
    app.settle().await;
    // The outage lasts five more seconds once every delivery is in Taskr's inbox.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let listings_before = app.sandbox_requests_for("/v2/tasks").await;
    let singles_before = single_reads(&app, &ids).await;
    app.clear_faults().await;
    let ended = Instant::now();
    wait_until(
        "the whole backlog cached",
        Duration::from_secs(120),
        || async { cached(&app, &ids).await == tasks as i64 },
    )
    .await;
    let drained = ended.elapsed();
    println!(
        "backlog of {tasks} task changes, rate limits on: all cached {:.2} s after the outage \
         ended, with {} task listings and {} single reads; during the outage {} listings and {} \
         single reads",
        drained.as_secs_f64(),
        app.sandbox_requests_for("/v2/tasks").await - listings_before,
        single_reads(&app, &ids).await - singles_before,
        listings_before - listings_at_start,
        singles_before,
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for tasks in [150, 1000] {
            outage(tasks).await;
        }
    });
}
