//! Watches the server from outside, as an operator would: resident memory (VmRSS, VmHWM) and
//! open file descriptors read from /proc every 100 ms, kept with their time for the report.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

const PERIOD: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Since the sampler started.
    pub at: Duration,
    pub rss_kib: u64,
    pub hwm_kib: u64,
    pub fds: u64,
    pub threads: u64,
}

pub struct Sampler {
    pub origin: Instant,
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// A number field of /proc/<pid>/status ("VmRSS:   1234 kB", "Threads:  9").
fn status_field(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One reading taken `at`, or `None` once the process is gone.
fn read(pid: u32, at: Duration) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some(Sample {
        at,
        rss_kib: status_field(&status, "VmRSS:")?,
        hwm_kib: status_field(&status, "VmHWM:")?,
        fds,
        threads: status_field(&status, "Threads:")?,
    })
}

impl Sampler {
    /// Samples `pid` until stopped or until `limit` has passed (the tool always ends).
    pub fn start(pid: u32, limit: Duration) -> Self {
        let origin = Instant::now();
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (stop, mut stopped) = watch::channel(false);
        let sink = samples.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(PERIOD);
            while origin.elapsed() < limit {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => break,
                }
                let Some(sample) = read(pid, origin.elapsed()) else {
                    break;
                };
                sink.lock().expect("sampler lock").push(sample);
            }
        });
        Self {
            origin,
            samples,
            stop,
            task,
        }
    }

    /// Time since the sampler started, to mark phases in the same clock as the samples.
    pub fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().expect("sampler lock").clone()
    }

    pub async fn stop(self) -> Vec<Sample> {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let samples = self.samples.lock().expect("sampler lock");
        samples.clone()
    }
}

/// The samples taken within `[from, to]`.
pub fn window(samples: &[Sample], from: Duration, to: Duration) -> impl Iterator<Item = &Sample> {
    samples.iter().filter(move |s| s.at >= from && s.at <= to)
}

pub fn max_rss_kib(samples: &[Sample], from: Duration, to: Duration) -> u64 {
    window(samples, from, to)
        .map(|s| s.rss_kib)
        .max()
        .unwrap_or(0)
}

pub fn max_fds(samples: &[Sample], from: Duration, to: Duration) -> u64 {
    window(samples, from, to).map(|s| s.fds).max().unwrap_or(0)
}

pub fn max_threads(samples: &[Sample], from: Duration, to: Duration) -> u64 {
    window(samples, from, to)
        .map(|s| s.threads)
        .max()
        .unwrap_or(0)
}
