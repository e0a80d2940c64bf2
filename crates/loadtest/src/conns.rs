//! Scenarios `conns` and `sandbox-conns`: many idle and slow-header connections held open
//! while a fresh client keeps asking for a page. Shows whether connections can starve the
//! server and whether it closes them by itself (issue 8, point 2).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;

use crate::report::{self, Table};
use crate::sampler::{self, Sampler};
use crate::server::Server;

#[derive(Debug, clap::Args)]
pub struct ConnsArgs {
    /// Idle connections: connect, send nothing.
    #[arg(long, default_value_t = 1100)]
    idle: usize,
    /// Slow-header connections: a request line and Host, then one header byte every 2 s.
    #[arg(long, default_value_t = 300)]
    slow: usize,
    /// Seconds to hold them open (and probe) after they are opened.
    #[arg(long, default_value_t = 90)]
    hold_secs: u64,
}

/// Attackers come from 127.3.0.0/16 (one address each); the probe from its own address.
const ATTACK_BLOCK: u8 = 3;
const PROBE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
const PROBE_EVERY: Duration = Duration::from_millis(500);
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const SLOW_BYTE_EVERY: Duration = Duration::from_secs(2);

/// What happened to one attacking connection.
enum Fate {
    ConnectFailed,
    /// Still open when the hold ended.
    HeldOpen,
    /// The server closed it (EOF or reset) this long after it was opened; `answered` when it
    /// sent something first (a 408, say).
    Closed {
        after: Duration,
        answered: bool,
    },
}

async fn connect(ip: Ipv4Addr, target: SocketAddr) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::new(IpAddr::V4(ip), 0)).ok()?;
    tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(target))
        .await
        .ok()?
        .ok()
}

/// Holds one connection until `until`, sending slow header bytes if `slow`, and notes when
/// and how the server ended it.
async fn hold(mut stream: TcpStream, slow: bool, until: Instant) -> Fate {
    let opened = Instant::now();
    let mut answered = false;
    let mut buf = [0u8; 1024];
    if slow
        && stream
            .write_all(b"GET /login HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .is_err()
    {
        return Fate::Closed {
            after: opened.elapsed(),
            answered,
        };
    }
    let mut drip = tokio::time::interval_at(
        tokio::time::Instant::now() + SLOW_BYTE_EVERY,
        SLOW_BYTE_EVERY,
    );
    let deadline = tokio::time::Instant::from_std(until);
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return Fate::HeldOpen,
            _ = drip.tick(), if slow => {
                if stream.write_all(b"a").await.is_err() {
                    return Fate::Closed { after: opened.elapsed(), answered };
                }
            }
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return Fate::Closed { after: opened.elapsed(), answered },
                Ok(_) => answered = true,
            },
        }
    }
}

/// GET `path` on a fresh connection every 500 ms until `until`; latencies of answers and
/// counts of failures.
async fn probe(
    url: String,
    until: Instant,
) -> Result<(Vec<Duration>, Vec<Duration>, BTreeMap<String, usize>)> {
    let client = reqwest::Client::builder()
        .local_address(IpAddr::V4(PROBE))
        .pool_max_idle_per_host(0)
        .no_proxy()
        .timeout(PROBE_TIMEOUT)
        .build()?;
    let mut tick = tokio::time::interval(PROBE_EVERY);
    let mut probes = tokio::task::JoinSet::new();
    while Instant::now() < until {
        tick.tick().await;
        let (client, url) = (client.clone(), url.clone());
        probes.spawn(async move {
            let started = Instant::now();
            let outcome = match client.get(&url).send().await {
                Ok(r) => {
                    let status = r.status();
                    let body = r.bytes().await;
                    match (status.is_success(), body) {
                        (true, Ok(_)) => Ok(started.elapsed()),
                        (false, _) => Err(status.as_u16().to_string()),
                        (_, Err(_)) => Err("body error".to_owned()),
                    }
                }
                Err(e) if e.is_timeout() => Err("timeout (5 s)".to_owned()),
                Err(e) if e.is_connect() => Err("connect error".to_owned()),
                Err(_) => Err("transport error".to_owned()),
            };
            (outcome, started.elapsed())
        });
    }
    let mut answered = Vec::new();
    let mut all = Vec::new();
    let mut failures = BTreeMap::new();
    while let Some(done) = probes.join_next().await {
        let (outcome, took) = done.context("a probe panicked")?;
        all.push(took);
        match outcome {
            Ok(latency) => answered.push(latency),
            Err(kind) => *failures.entry(kind).or_default() += 1,
        }
    }
    Ok((answered, all, failures))
}

/// Summary of one kind of attacking connection.
fn fates_row(table: &mut Table, kind: &str, fates: &[Fate], aim: &str) {
    let failed = fates
        .iter()
        .filter(|f| matches!(f, Fate::ConnectFailed))
        .count();
    let closed: Vec<Duration> = fates
        .iter()
        .filter_map(|f| match f {
            Fate::Closed { after, .. } => Some(*after),
            _ => None,
        })
        .collect();
    let answered = fates
        .iter()
        .filter(|f| matches!(f, Fate::Closed { answered: true, .. }))
        .count();
    table.row(
        format!("{kind}: opened"),
        format!(
            "{} of {} ({failed} failed to connect within 3 s)",
            fates.len() - failed,
            fates.len()
        ),
        "",
    );
    table.row(
        format!("{kind}: closed by the server"),
        format!("{} ({answered} with a response first)", closed.len()),
        aim,
    );
    table.row(
        format!("{kind}: time to close min / median / max"),
        report::spread_secs(closed),
        "",
    );
}

pub async fn run(server: &mut Server, args: &ConnsArgs, sandbox: bool) -> Result<()> {
    let (target, path) = if sandbox {
        (server.sandbox_addr, "/")
    } else {
        (server.addr, "/login")
    };
    let hold_for = Duration::from_secs(args.hold_secs);
    let sampler = Sampler::start(server.pid, hold_for * 2 + Duration::from_secs(120));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = sampler.samples().last().copied();

    let started = Instant::now();
    let attack_start = sampler.now();
    // The hold is counted from the start, so opening slowly cannot stretch the run.
    let until = started + hold_for;
    let prober = tokio::spawn(probe(format!("http://{target}{path}"), until));
    println!(
        "opening {} idle and {} slow-header connections to {target}, holding {} s…",
        args.idle, args.slow, args.hold_secs
    );
    let connecting = Arc::new(Semaphore::new(64));
    let mut holders = tokio::task::JoinSet::new();
    for i in 0..args.idle + args.slow {
        let slow = i >= args.idle;
        let connecting = connecting.clone();
        holders.spawn(async move {
            let stream = {
                let _permit = connecting.acquire().await;
                connect(report::client_ip(ATTACK_BLOCK, i), target).await
            };
            let fate = match stream {
                Some(stream) => hold(stream, slow, until).await,
                None => Fate::ConnectFailed,
            };
            (slow, fate)
        });
    }
    let (mut idle, mut slowed) = (Vec::new(), Vec::new());
    while let Some(done) = holders.join_next().await {
        let (slow, fate) = done.context("a connection task panicked")?;
        if slow { &mut slowed } else { &mut idle }.push(fate);
    }
    let attack_end = sampler.now();
    let (answered, all, failures) = prober.await.context("the probe panicked")??;
    let alive = server.is_running();
    let samples = sampler.stop().await;

    let mut table = Table::default();
    let within_1s = all.iter().filter(|d| **d <= Duration::from_secs(1)).count();
    fates_row(
        &mut table,
        "idle connections",
        &idle,
        "closed within the idle timeout",
    );
    fates_row(
        &mut table,
        "slow-header connections",
        &slowed,
        "closed within the header timeout",
    );
    table.row(
        format!("GET {path} on a fresh connection every 500 ms: p50 / p99 / max"),
        report::latency_summary(answered),
        "answers within 1 s",
    );
    table.row(
        "probes answered 2xx within 1 s",
        format!("{within_1s} of {}", all.len()),
        "all",
    );
    table.row(
        "probe failures (5 s client timeout)",
        report::counts(&failures),
        "none",
    );
    table.row(
        "server open fds before / peak",
        format!(
            "{} / {}",
            before.map_or(0, |s| s.fds),
            sampler::max_fds(&samples, attack_start, attack_end)
        ),
        "",
    );
    table.row(
        "server resident memory before / peak",
        format!(
            "{} / {}",
            report::mib(before.map_or(0, |s| s.rss_kib)),
            report::mib(sampler::max_rss_kib(&samples, attack_start, attack_end))
        ),
        "",
    );
    table.row(
        "server Max open files",
        server.max_open_files(),
        "raised to the hard limit",
    );
    table.row("hold", report::secs(attack_end - attack_start), "");
    table.row(
        "server still running at the end",
        if alive { "yes" } else { "NO" },
        "yes",
    );
    let title = if sandbox { "sandbox-conns" } else { "conns" };
    table.print(&format!(
        "## {title}: idle and slow-header connections against {target}"
    ));
    Ok(())
}
