//! The load generator: a fixed number of keep-alive HTTP/1.1 connections (hyper's low-level
//! client, no pool, no redirects, no cookie logic), each sending one GET after another and
//! reading every body to the end. Requests completed during the warm-up are not timed; every
//! request completed in the measured window is, so the rate is completions per second.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::header::{COOKIE, HOST};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

type Sender = http1::SendRequest<Empty<Bytes>>;

/// What to ask for: `path` on `addr`, with this `Cookie` header (signed in) or none.
pub struct Target {
    pub addr: SocketAddr,
    pub path: String,
    pub cookie: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub connections: usize,
    pub warm_up: Duration,
    pub measure: Duration,
}

/// What one URL's phase gave: the latencies of the measured window, sorted, and every failure
/// (a transport error or a status other than 200) of the whole phase, warm-up included.
pub struct Outcome {
    latencies: Vec<Duration>,
    measured: Duration,
    pub failures: u64,
    pub first_failure: Option<String>,
}

impl Outcome {
    pub fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.measured.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        self.latencies[index]
    }

    pub fn max(&self) -> Duration {
        self.latencies.last().copied().unwrap_or_default()
    }
}

/// One connection's share of a phase.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    failures: u64,
    first_failure: Option<String>,
}

impl Tally {
    fn fail(&mut self, what: String) {
        self.failures += 1;
        self.first_failure.get_or_insert(what);
    }
}

/// Runs one phase against `target` and waits for every connection to finish.
pub async fn run(target: Arc<Target>, plan: Plan) -> Outcome {
    let measure_from = Instant::now() + plan.warm_up;
    let end = measure_from + plan.measure;
    let workers: Vec<_> = (0..plan.connections)
        .map(|_| tokio::spawn(connection(target.clone(), measure_from, end)))
        .collect();
    let mut outcome = Outcome {
        latencies: Vec::new(),
        measured: plan.measure,
        failures: 0,
        first_failure: None,
    };
    for worker in workers {
        let tally = worker.await.unwrap_or_else(|e| {
            let mut tally = Tally::default();
            tally.fail(format!("a connection task failed: {e}"));
            tally
        });
        outcome.latencies.extend(tally.latencies);
        outcome.failures += tally.failures;
        if outcome.first_failure.is_none() {
            outcome.first_failure = tally.first_failure;
        }
    }
    outcome.latencies.sort_unstable();
    outcome
}

/// One connection: GETs back to back until `end`, reconnecting after a transport error.
async fn connection(target: Arc<Target>, measure_from: Instant, end: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut sender: Option<Sender> = None;
    while Instant::now() < end {
        let mut current = match sender.take() {
            Some(current) => current,
            None => match connect(target.addr).await {
                Ok(fresh) => fresh,
                Err(e) => {
                    tally.fail(format!("{e:#}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let started = Instant::now();
        match get(&mut current, &target).await {
            Ok(status) => {
                let done = Instant::now();
                if done >= measure_from && done <= end {
                    tally.latencies.push(done - started);
                }
                if status != StatusCode::OK {
                    tally.fail(format!("GET {} answered {status}", target.path));
                }
                sender = Some(current);
            }
            Err(e) => tally.fail(format!("GET {}: {e:#}", target.path)),
        }
    }
    tally
}

async fn connect(addr: SocketAddr) -> Result<Sender> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP/1.1 handshake")?;
    // Drives the socket; ends when the sender is dropped or the server closes.
    tokio::spawn(connection);
    Ok(sender)
}

/// One request with its whole body read: the latency is the time to the last byte.
async fn get(sender: &mut Sender, target: &Target) -> Result<StatusCode> {
    let mut request = Request::get(target.path.as_str()).header(HOST, target.addr.to_string());
    if let Some(cookie) = &target.cookie {
        request = request.header(COOKIE, cookie);
    }
    let request = request.body(Empty::new()).context("building the request")?;
    sender.ready().await.context("waiting for the connection")?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    response.into_body().collect().await?;
    Ok(status)
}
