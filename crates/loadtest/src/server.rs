//! The server under test: a Taskr release binary started as a child process in demo mode, on
//! free loopback ports with a fresh data directory, and killed when the run ends or fails.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rlimit::Resource;
use tokio::process::{Child, Command};

/// How long start-up (migrations, key generation, sandbox seeding) may take.
const READY_DEADLINE: Duration = Duration::from_secs(60);

pub struct Server {
    child: Child,
    pub pid: u32,
    /// `http://127.0.0.1:P`
    pub base_url: String,
    pub addr: SocketAddr,
    pub sandbox_addr: SocketAddr,
    log_path: PathBuf,
    // Dropped (deleted) after the child: the data directory lives as long as the server.
    _data_dir: tempfile::TempDir,
}

/// A loopback port nobody listens on right now. The port is released before Taskr binds it;
/// on a machine where nothing else grabs ports in that instant this is good enough for a tool.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

impl Server {
    /// Starts `taskr` in demo mode. `nofile` is the soft open-file limit the child inherits
    /// (`None`: ours); a fixed server raises it to the hard limit itself, which the report shows.
    pub async fn start(taskr: &Path, nofile: Option<u64>) -> Result<Self> {
        let taskr = taskr.canonicalize().with_context(|| {
            format!(
                "no Taskr binary at {} (build it with `cargo build --release -p taskr`, or pass --taskr)",
                taskr.display()
            )
        })?;
        let data_dir = tempfile::Builder::new()
            .prefix("taskr-load-")
            .tempdir()
            .context("creating a temporary data directory")?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let sandbox_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let base_url = format!("http://{addr}");
        let log_path = data_dir.path().join("taskr.log");
        let log = std::fs::File::create(&log_path).context("creating the server log")?;

        let mut command = Command::new(&taskr);
        command
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--sandbox-listen")
            .arg(sandbox_addr.to_string())
            .arg("--public-url")
            .arg(&base_url)
            .arg("--data-dir")
            .arg(data_dir.path().join("data"))
            // The data directory is the working directory too, so no `.env` of ours is read.
            .current_dir(data_dir.path())
            // Plain log lines: the tail is quoted in error messages.
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        // Demo mode with default limits: nothing from our environment may configure the child.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("TASKR_") || name.starts_with("ATTIO_") {
                command.env_remove(name.as_ref());
            }
        }

        // The child inherits our limits at spawn time; set the soft one just for that moment.
        let (soft, hard) = rlimit::getrlimit(Resource::NOFILE)?;
        if let Some(n) = nofile {
            rlimit::setrlimit(Resource::NOFILE, n.min(hard), hard)
                .context("setting the open-file limit for the child")?;
        }
        let spawned = command.spawn();
        rlimit::setrlimit(Resource::NOFILE, soft, hard)?;
        let child = spawned.with_context(|| format!("starting {}", taskr.display()))?;
        let pid = child.id().context("the child has no pid")?;

        let mut server = Self {
            child,
            pid,
            base_url,
            addr,
            sandbox_addr,
            log_path,
            _data_dir: data_dir,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()?;
        let started = Instant::now();
        let url = format!("{}/login", self.base_url);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "Taskr exited during start-up ({status}):\n{}",
                    self.log_tail()
                );
            }
            if let Ok(response) = client.get(&url).send().await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            if started.elapsed() > READY_DEADLINE {
                bail!(
                    "Taskr did not answer GET /login within {READY_DEADLINE:?}:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last lines of the child's log, for error messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The child's "Max open files" line from /proc/<pid>/limits (soft and hard).
    pub fn max_open_files(&self) -> String {
        std::fs::read_to_string(format!("/proc/{}/limits", self.pid))
            .ok()
            .and_then(|limits| {
                limits
                    .lines()
                    .find(|l| l.starts_with("Max open files"))
                    .map(|l| {
                        let fields: Vec<&str> = l.split_whitespace().collect();
                        format!("soft {}, hard {}", fields[3], fields[4])
                    })
            })
            .unwrap_or_else(|| "unknown".to_owned())
    }

    /// Still running? (A crash under load is a finding, not a tool error.)
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the child and waits for it, so that no process outlives the run.
    pub async fn stop(mut self) -> Result<()> {
        self.child.start_kill().ok();
        self.child
            .wait()
            .await
            .context("waiting for Taskr to exit")?;
        Ok(())
    }
}
