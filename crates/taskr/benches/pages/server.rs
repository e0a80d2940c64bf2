//! The server under test: the real `taskr` binary (built by `cargo bench` with the bench
//! profile) as a child process, on a free loopback port with a fresh SQLite data directory,
//! talking to the bench's sandbox as if it were Attio. It is killed when dropped, so an error or
//! a panic in the bench leaves no process behind.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::process::{Child, Command};

/// How long start-up (migrations, the password-check hash) may take.
const READY_DEADLINE: Duration = Duration::from_secs(60);

/// Taskr's OAuth registration at the sandbox, handed to the child as `ATTIO_*` variables.
pub struct AttioApp {
    pub url: String,
    pub client_id: String,
    pub client_secret: String,
}

pub struct Taskr {
    // Declared before the data directory: the child dies before its files are deleted.
    child: Child,
    pub pid: u32,
    pub addr: SocketAddr,
    log_path: PathBuf,
    _data_dir: tempfile::TempDir,
}

/// A loopback address nobody listens on right now. Taskr's public URL (and so the redirect URI
/// registered at the sandbox) must be known before Taskr starts, so the port is chosen here and
/// released for the child to bind; nothing else on this machine grabs it in that instant.
pub fn free_addr() -> Result<SocketAddr> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("finding a free loopback port")?;
    Ok(listener.local_addr()?)
}

pub fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// Variables of the caller that would configure the child behind the bench's back: Taskr's
/// settings, Attio credentials, a log filter that changes what the server does per request,
/// and proxies that would route its loopback calls to the sandbox elsewhere.
fn must_not_leak(name: &str) -> bool {
    name.starts_with("TASKR_")
        || name.starts_with("ATTIO_")
        || name == "RUST_LOG"
        || name.to_ascii_lowercase().ends_with("_proxy")
}

fn command(addr: SocketAddr, attio: &AttioApp, data_dir: &tempfile::TempDir) -> Result<Command> {
    let log = std::fs::File::create(data_dir.path().join("taskr.log"))
        .context("creating the server log")?;
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskr"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if must_not_leak(&name) {
            command.env_remove(name.as_ref());
        }
    }
    command
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--public-url")
        .arg(base_url(addr))
        .arg("--data-dir")
        .arg(data_dir.path().join("data"))
        // Secrets go in the environment, not on the command line that `ps` shows.
        .env("ATTIO_CLIENT_ID", &attio.client_id)
        .env("ATTIO_CLIENT_SECRET", &attio.client_secret)
        .env("ATTIO_APP_URL", &attio.url)
        .env("ATTIO_API_URL", &attio.url)
        .env(
            "TASKR_ENCRYPTION_KEY",
            hex::encode(rand::random::<[u8; 32]>()),
        )
        .env("NO_COLOR", "1")
        // The data directory is the working directory too, so no `.env` of ours is read.
        .current_dir(data_dir.path())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    Ok(command)
}

impl Taskr {
    /// Starts Taskr on `addr` and waits until it serves `/login`.
    pub async fn start(addr: SocketAddr, attio: &AttioApp) -> Result<Self> {
        let data_dir = tempfile::Builder::new()
            .prefix("taskr-pages-")
            .tempdir()
            .context("creating a temporary data directory")?;
        let child = command(addr, attio, &data_dir)?
            .spawn()
            .context("starting the taskr binary")?;
        let pid = child.id().context("the child has no pid")?;
        let mut taskr = Self {
            child,
            pid,
            addr,
            log_path: data_dir.path().join("taskr.log"),
            _data_dir: data_dir,
        };
        taskr.wait_ready().await?;
        Ok(taskr)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()?;
        let url = format!("{}/login", base_url(self.addr));
        let started = Instant::now();
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
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of the child's log, for error messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Kills the child and waits for it; the data directory goes with `self`.
    pub async fn stop(mut self) -> Result<()> {
        self.child.start_kill().ok();
        self.child
            .wait()
            .await
            .context("waiting for Taskr to exit")?;
        Ok(())
    }
}
