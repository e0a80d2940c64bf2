//! What saving the state costs with 5,000 records: the file's size, how long a start-up takes to
//! load it, how long one save takes (copy under the lock, serialise, write, fsync, rename), and
//! what a request that changes something pays for being answered only once its change is on
//! disk, alone and with 16 writers sharing saves. The same requests against an in-memory sandbox
//! with the same data are the baseline.
//!
//! `cargo bench -p attio-sandbox --bench persistence` (the data directory is made under the
//! target directory, on disk, so fsync is real).

use std::time::{Duration, Instant};

use attio_sandbox::{Config, Sandbox, SpawnedSandbox, STATE_FILE};
use serde_json::{json, Value};

const RECORDS: usize = 5_000;
const SEQUENTIAL: usize = 200;
const WRITERS: usize = 16;
const PER_WRITER: usize = 50;

#[tokio::main]
async fn main() {
    if std::env::var_os("BENCH_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter("attio_sandbox::shared=debug")
            .init();
    }
    let http = reqwest::Client::new();
    let memory = Sandbox::new(Config::default())
        .spawn()
        .await
        .expect("spawn");
    let key = memory.sandbox.mint_api_key(None);
    fill(&http, &memory, &key).await;
    let state = memory.sandbox.snapshot();

    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let persisted = Sandbox::open(Config::default(), dir.path()).expect("open");
    persisted.restore(&state).await.expect("restore");
    persisted.flush().await.expect("flush");
    let bytes = std::fs::metadata(dir.path().join(STATE_FILE))
        .expect("file")
        .len();
    drop(persisted);

    let started = Instant::now();
    let persisted = Sandbox::open(Config::default(), dir.path()).expect("open");
    let load = started.elapsed();
    let mut saves = Vec::new();
    for n in 0..20 {
        persisted.create_task_as_member(&format!("save {n}"));
        let started = Instant::now();
        persisted.flush().await.expect("flush");
        saves.push(started.elapsed());
    }
    let persisted = persisted.spawn().await.expect("spawn");

    println!(
        "state with {RECORDS} extra records: {:.2} MiB; loading it at start: {} ms",
        bytes as f64 / (1024.0 * 1024.0),
        load.as_millis()
    );
    println!(
        "one save (typed change, then flush): {}",
        summary(&mut saves)
    );
    for (name, spawned) in [("in memory", &memory), ("--data-dir", &persisted)] {
        let mut latencies = Vec::new();
        for n in 0..SEQUENTIAL {
            let started = Instant::now();
            create_task(&http, spawned, &key, &format!("sequential {n}")).await;
            latencies.push(started.elapsed());
        }
        let started = Instant::now();
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let (http, url, key) = (http.clone(), spawned.base_url(), key.clone());
            writers.push(tokio::spawn(async move {
                for n in 0..PER_WRITER {
                    post_task(&http, &url, &key, &format!("w{w} {n}")).await;
                }
            }));
        }
        for writer in writers {
            writer.await.expect("writer");
        }
        let rate = (WRITERS * PER_WRITER) as f64 / started.elapsed().as_secs_f64();
        println!(
            "{name}: POST /v2/tasks one at a time {}; {WRITERS} writers: {rate:.0} tasks/s",
            summary(&mut latencies)
        );
    }
}

/// Creates the records in the in-memory sandbox, 16 at a time.
async fn fill(http: &reqwest::Client, spawned: &SpawnedSandbox, key: &str) {
    let mut writers = Vec::new();
    for w in 0..16 {
        let (http, url, key) = (http.clone(), spawned.base_url(), key.to_owned());
        writers.push(tokio::spawn(async move {
            for n in (w..RECORDS).step_by(16) {
                let body = json!({"data": {"values": {
                    "name": format!("Person {n}"),
                    "email_addresses": [format!("person{n}@bench.test")],
                    "job_title": "Account executive",
                }}});
                let response = http
                    .post(format!("{url}/v2/objects/people/records"))
                    .bearer_auth(&key)
                    .json(&body)
                    .send()
                    .await
                    .expect("record");
                assert!(response.status().is_success(), "{}", response.status());
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer");
    }
}

async fn create_task(http: &reqwest::Client, spawned: &SpawnedSandbox, key: &str, content: &str) {
    post_task(http, &spawned.base_url(), key, content).await;
}

async fn post_task(http: &reqwest::Client, url: &str, key: &str, content: &str) {
    let body = json!({"data": {"content": content, "format": "plaintext", "deadline_at": null,
        "is_completed": false, "linked_records": [], "assignees": []}});
    let response = http
        .post(format!("{url}/v2/tasks"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("task");
    assert!(response.status().is_success(), "{}", response.status());
    let _: Value = response.json().await.expect("json");
}

fn summary(samples: &mut [Duration]) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    format!(
        "p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        at(0.5).as_secs_f64() * 1e3,
        at(0.95).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3
    )
}
