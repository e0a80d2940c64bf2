//! The server's resident memory, read from outside as an operator would: `/proc/<pid>/status`
//! every 100 ms while a load phase runs.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

const PERIOD: Duration = Duration::from_millis(100);

/// The highest `VmRSS` seen, and `VmHWM` (the kernel's own peak since start) at the end; KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Peak {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

/// One field of /proc/<pid>/status, such as `VmRSS:     1234 kB`.
fn status_field(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `(VmRSS, VmHWM)` now, or `None` once the process is gone.
pub fn read(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some((
        status_field(&status, "VmRSS:")?,
        status_field(&status, "VmHWM:")?,
    ))
}

pub struct Sampler {
    stop: watch::Sender<bool>,
    task: JoinHandle<Peak>,
}

impl Sampler {
    pub fn start(pid: u32) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut peak = Peak::default();
            let mut tick = tokio::time::interval(PERIOD);
            // The first tick is immediate; the last reading is taken as the phase ends.
            loop {
                let stopping = tokio::select! {
                    _ = tick.tick() => false,
                    _ = stopped.changed() => true,
                };
                let Some((rss, hwm)) = read(pid) else { break };
                peak.rss_kib = peak.rss_kib.max(rss);
                peak.hwm_kib = hwm;
                if stopping {
                    break;
                }
            }
            peak
        });
        Self { stop, task }
    }

    pub async fn stop(self) -> Peak {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
