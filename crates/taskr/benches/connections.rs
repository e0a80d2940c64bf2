//! The cost of reading a connection that needs no refresh (a store read plus decryption), for
//! BENCHMARKS.md: `cargo bench -p taskr --bench connections`.

#[path = "../tests/app/database.rs"]
#[allow(dead_code)]
mod database;
#[path = "../tests/app/forms.rs"]
mod forms;
#[path = "../tests/app/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::time::{Duration, Instant};

use attio_sandbox::provider::ProviderConfig;
use helpers::{location, TestApp, TestOptions, SEQUENCER};

const READS: u32 = 20_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let app = TestApp::spawn_with(TestOptions {
            sequencer: Some(ProviderConfig {
                access_token_ttl: Duration::from_secs(24 * 3600),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await;
        let client = app.user("bench").await;
        app.connect(&client).await;
        // Connect the sequencer through its consent page.
        let response = app.get(&client, "/connections/sequencer/user/connect").await;
        let consent = client.get(location(&response)).send().await.unwrap().text().await.unwrap();
        let base = &app.provider.as_ref().unwrap().1;
        let answer = client
            .post(format!("{base}/provider/authorize"))
            .form(&[
                ("request_id", helpers::form_value(&consent, "request_id").unwrap().as_str()),
                ("decision", "approve"),
            ])
            .send()
            .await
            .unwrap();
        client.get(location(&answer)).send().await.unwrap();

        let user = app.state.store.user_by_username_key("bench").await.unwrap().unwrap().user;
        let link = app.state.store.link(user.id).await.unwrap().unwrap();
        let ctx = taskr::connections::Ctx { user: user.id, workspace: Some(link.workspace_id), is_admin: true };
        for _ in 0..1000 {
            app.state.connections.user(&ctx, &SEQUENCER).await.unwrap();
        }
        let mut samples = Vec::with_capacity(READS as usize);
        let started = Instant::now();
        for _ in 0..READS {
            let one = Instant::now();
            let connection = app.state.connections.user(&ctx, &SEQUENCER).await.unwrap();
            samples.push(one.elapsed());
            std::hint::black_box(connection);
        }
        let total = started.elapsed();
        samples.sort();
        let at = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
        println!(
            "connection read (no refresh, served from the in-process cache): {READS} sequential reads, mean {:.1} µs, p50 {:.1} µs, p99 {:.1} µs",
            total.as_secs_f64() * 1e6 / f64::from(READS),
            at(0.50),
            at(0.99)
        );

        // The same read when the cache has nothing: a store query plus decryption.
        let mut misses = Vec::with_capacity(READS as usize);
        for _ in 0..READS {
            app.state.connections.forget_cached();
            let one = Instant::now();
            let connection = app.state.connections.user(&ctx, &SEQUENCER).await.unwrap();
            misses.push(one.elapsed());
            std::hint::black_box(connection);
        }
        misses.sort();
        let mean = misses.iter().sum::<Duration>().as_secs_f64() * 1e6 / f64::from(READS);
        let at = |p: f64| misses[((misses.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
        println!(
            "connection read (no refresh, cache miss: {} read + XChaCha20-Poly1305 open): mean {mean:.1} µs, p50 {:.1} µs, p99 {:.1} µs",
            if database::is_postgres() { "PostgreSQL" } else { "SQLite" },
            at(0.50),
            at(0.99)
        );
    });
}
