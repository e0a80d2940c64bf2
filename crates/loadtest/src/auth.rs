//! Scenario `auth`: a burst of wrong log-ins and then sign-ups, each from its own client
//! address, while a bystander keeps loading /login. Shows what password hashing costs the
//! server in memory and in latency for everybody else (issue 8, point 1).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use reqwest::redirect::Policy;

use crate::report::{self, Table};
use crate::sampler::{self, Sampler};
use crate::server::Server;

#[derive(Debug, clap::Args)]
pub struct AuthArgs {
    /// Wrong log-ins, each from its own client address (distinct unknown usernames).
    #[arg(long, default_value_t = 1000)]
    wrong_logins: usize,
    /// Wrong log-ins in flight at once.
    #[arg(long, default_value_t = 64)]
    login_concurrency: usize,
    /// Sign-ups after the log-ins, each from another address.
    #[arg(long, default_value_t = 300)]
    signups: usize,
    /// Sign-ups in flight at once.
    #[arg(long, default_value_t = 16)]
    signup_concurrency: usize,
    /// Seconds to keep watching memory after the burst.
    #[arg(long, default_value_t = 30)]
    settle_secs: u64,
    /// Give up on a phase (and report what was done) after this many seconds.
    #[arg(long, default_value_t = 600)]
    phase_limit_secs: u64,
}

/// Client addresses: log-ins from 127.1.0.0/16, sign-ups from 127.2.0.0/16, bystander apart.
const LOGIN_BLOCK: u8 = 1;
const SIGNUP_BLOCK: u8 = 2;
const BYSTANDER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// One attempt (GET the form, POST it) may take this long before it counts as a timeout.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Phase {
    outcomes: BTreeMap<String, usize>,
    /// Time of the POST alone, for the answers that came.
    latencies: Vec<Duration>,
    duration: Duration,
}

fn client(ip: Ipv4Addr, timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(ip))
        .cookie_store(true)
        .redirect(Policy::none())
        .no_proxy()
        .timeout(timeout)
        .build()
        .context("building an HTTP client")
}

/// The hidden `csrf_token` field of a Taskr form.
fn csrf_token(html: &str) -> Option<&str> {
    let at = html.find("name=\"csrf_token\"")?;
    let rest = &html[at..];
    let start = rest.find("value=\"")? + "value=\"".len();
    let len = rest[start..].find('"')?;
    Some(&rest[start..start + len])
}

fn error_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect error"
    } else {
        "transport error"
    }
}

/// GET the form (session cookie + CSRF token), then POST it. Returns the outcome label and
/// the POST's latency when it was answered.
async fn attempt(
    base: &str,
    ip: Ipv4Addr,
    path: &str,
    username: &str,
    password: &str,
) -> (String, Option<Duration>) {
    let client = match client(ip, ATTEMPT_TIMEOUT) {
        Ok(c) => c,
        Err(_) => return ("client error".to_owned(), None),
    };
    let url = format!("{base}{path}");
    let page = match client.get(&url).send().await {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => return (format!("GET {}", r.status().as_u16()), None),
        Err(e) => return (format!("GET {}", error_kind(&e)), None),
    };
    let Some(token) = page
        .text()
        .await
        .ok()
        .and_then(|h| csrf_token(&h).map(str::to_owned))
    else {
        return ("GET without a CSRF token".to_owned(), None);
    };
    let form = [
        ("csrf_token", token.as_str()),
        ("username", username),
        ("password", password),
        ("next", "/"),
    ];
    let started = Instant::now();
    match client.post(&url).form(&form).send().await {
        Ok(r) => {
            // A refusal should say when to come back; the label shows whether it does.
            let status = match r.headers().contains_key(reqwest::header::RETRY_AFTER) {
                true => format!("{} with Retry-After", r.status().as_u16()),
                false => r.status().as_u16().to_string(),
            };
            let _ = r.bytes().await;
            (status, Some(started.elapsed()))
        }
        Err(e) => (error_kind(&e).to_owned(), None),
    }
}

/// Runs `count` attempts, `concurrency` at a time, until done or `limit` has passed.
async fn burst(
    base: &str,
    count: usize,
    concurrency: usize,
    limit: Duration,
    one: impl Fn(usize) -> (Ipv4Addr, &'static str, String, String) + Send + Sync + 'static,
) -> Phase {
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let phase = Arc::new(Mutex::new(Phase::default()));
    let one = Arc::new(one);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (next, phase, one, base) = (next.clone(), phase.clone(), one.clone(), base.to_owned());
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count || started.elapsed() > limit {
                    break;
                }
                let (ip, path, username, password) = one(i);
                let (outcome, latency) = attempt(&base, ip, path, &username, &password).await;
                let mut phase = phase.lock().expect("phase lock");
                *phase.outcomes.entry(outcome).or_default() += 1;
                phase.latencies.extend(latency);
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let mut phase = std::mem::take(&mut *phase.lock().expect("phase lock"));
    let done: usize = phase.outcomes.values().sum();
    if done < count {
        phase
            .outcomes
            .insert("not sent (phase limit)".to_owned(), count - done);
    }
    phase.duration = started.elapsed();
    phase
}

/// GETs /login every 100 ms from its own address until stopped; returns latencies and failures.
async fn bystander(
    base: String,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> (Vec<Duration>, BTreeMap<String, usize>) {
    let mut latencies = Vec::new();
    let mut failures = BTreeMap::new();
    let Ok(client) = client(BYSTANDER, Duration::from_secs(10)) else {
        return (latencies, failures);
    };
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Bounded even if nobody stops it: at most an hour of requests.
    for _ in 0..36_000 {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        let started = Instant::now();
        match client.get(format!("{base}/login")).send().await {
            Ok(r) if r.status().is_success() => {
                let _ = r.bytes().await;
                latencies.push(started.elapsed());
            }
            Ok(r) => *failures.entry(r.status().as_u16().to_string()).or_default() += 1,
            Err(e) => *failures.entry(error_kind(&e).to_owned()).or_default() += 1,
        }
    }
    (latencies, failures)
}

pub async fn run(server: &mut Server, args: &AuthArgs) -> Result<()> {
    let limit = Duration::from_secs(args.phase_limit_secs);
    let sampler = Sampler::start(
        server.pid,
        limit * 2 + Duration::from_secs(args.settle_secs + 60),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = sampler.samples().last().map(|s| s.rss_kib).unwrap_or(0);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(bystander(server.base_url.clone(), stop_rx));
    let burst_start = sampler.now();
    println!(
        "{} wrong log-ins, {} at a time…",
        args.wrong_logins, args.login_concurrency
    );
    let logins = burst(
        &server.base_url,
        args.wrong_logins,
        args.login_concurrency,
        limit,
        |i| {
            let ip = report::client_ip(LOGIN_BLOCK, i);
            (
                ip,
                "/login",
                format!("nobody-{i:05}"),
                "wrong password".into(),
            )
        },
    )
    .await;
    println!(
        "{} sign-ups, {} at a time…",
        args.signups, args.signup_concurrency
    );
    let signups = burst(
        &server.base_url,
        args.signups,
        args.signup_concurrency,
        limit,
        |i| {
            let ip = report::client_ip(SIGNUP_BLOCK, i);
            (
                ip,
                "/signup",
                format!("load-user-{i:05}"),
                format!("correct horse {i:05}"),
            )
        },
    )
    .await;
    let burst_end = sampler.now();
    let _ = stop_tx.send(true);
    let (bystander_latencies, bystander_failures) = watcher.await.unwrap_or_default();

    println!("burst over; watching memory for {} s…", args.settle_secs);
    tokio::time::sleep(Duration::from_secs(args.settle_secs)).await;
    let alive = server.is_running();
    let samples = sampler.stop().await;
    let after = samples.last().copied();

    let mut table = Table::default();
    table.row(
        "resident memory before the burst",
        report::mib(idle_rss),
        "",
    );
    table.row(
        "peak resident memory, burst and after (VmRSS every 100 ms)",
        report::mib(sampler::max_rss_kib(&samples, burst_start, Duration::MAX)),
        "≤ 128 MiB",
    );
    table.row(
        format!("resident memory {} s after the burst", args.settle_secs),
        after.map_or("server gone".into(), |s| report::mib(s.rss_kib)),
        "≤ 64 MiB (30 s after)",
    );
    table.row(
        "high-water mark (VmHWM) at the end",
        after.map_or("server gone".into(), |s| report::mib(s.hwm_kib)),
        "",
    );
    let rate = |p: &Phase, n: usize| {
        format!(
            "{} ({:.0}/s)",
            report::secs(p.duration),
            n as f64 / p.duration.as_secs_f64()
        )
    };
    table.row(
        format!(
            "{} wrong log-ins ({} at a time): duration",
            args.wrong_logins, args.login_concurrency
        ),
        rate(&logins, args.wrong_logins),
        "",
    );
    table.row(
        "wrong log-ins: answers",
        report::counts(&logins.outcomes),
        "401, or 429/503 with Retry-After",
    );
    table.row(
        "wrong log-ins: POST latency p50 / p99 / max",
        report::latency_summary(logins.latencies),
        "",
    );
    table.row(
        format!(
            "{} sign-ups ({} at a time): duration",
            args.signups, args.signup_concurrency
        ),
        rate(&signups, args.signups),
        "",
    );
    table.row(
        "sign-ups: answers",
        report::counts(&signups.outcomes),
        "303, or 429/503 with Retry-After",
    );
    table.row(
        "sign-ups: POST latency p50 / p99 / max",
        report::latency_summary(signups.latencies),
        "",
    );
    table.row(
        "bystander GET /login every 100 ms: p50 / p99 / max",
        report::latency_summary(bystander_latencies),
        "p99 < 100 ms",
    );
    table.row(
        "bystander failures",
        report::counts(&bystander_failures),
        "none",
    );
    table.row(
        "total burst duration",
        report::secs(burst_end - burst_start),
        "",
    );
    table.row(
        "server open fds, peak",
        sampler::max_fds(&samples, burst_start, burst_end).to_string(),
        "",
    );
    table.row(
        "server threads, peak",
        sampler::max_threads(&samples, burst_start, burst_end).to_string(),
        "",
    );
    table.row("server Max open files", server.max_open_files(), "");
    table.row(
        "server still running at the end",
        if alive { "yes" } else { "NO" },
        "yes",
    );
    table.print("## auth: password-hashing burst");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_csrf_token_is_read_from_the_hidden_field() {
        let html = r#"<form><input type="hidden" name="csrf_token" value="ab12"><input name="next" value="/"></form>"#;
        assert_eq!(super::csrf_token(html), Some("ab12"));
        assert_eq!(super::csrf_token("<form></form>"), None);
    }
}
