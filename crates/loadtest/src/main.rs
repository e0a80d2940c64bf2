//! `taskr-load`: the hostile-load script of issue 8. It starts a Taskr release binary as a
//! child process (demo mode, fresh data directory, free loopback ports), runs one scenario
//! against it while watching its memory and file descriptors, prints a Markdown table, and
//! kills the child at the end, on error and on ctrl-c. Loopback (127.0.0.0/8) only.

mod auth;
mod conns;
mod report;
mod sampler;
mod server;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use rlimit::Resource;

use server::Server;

#[derive(Debug, Parser)]
#[command(
    name = "taskr-load",
    about = "Hostile load against a Taskr release build (issue 8)."
)]
struct Cli {
    /// The Taskr binary to start (build it with `cargo build --release -p taskr`).
    #[arg(long, default_value = "target/release/taskr", global = true)]
    taskr: PathBuf,

    /// Soft open-file limit the server starts with; 1024 is the usual Linux default, so a
    /// server that does not raise its own limit is measured as it would run in most places.
    /// 0 keeps ours.
    #[arg(long, default_value_t = 1024, global = true)]
    server_nofile: u64,

    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Wrong log-ins then sign-ups from many addresses, with a bystander loading /login.
    Auth(auth::AuthArgs),
    /// Idle and slow-header connections against Taskr, with a probe loading /login.
    Conns(conns::ConnsArgs),
    /// The same against the embedded sandbox's port (probing its console page).
    SandboxConns(conns::ConnsArgs),
}

/// The connection scenarios hold well over 1,024 sockets; the usual soft limit is too low.
fn raise_own_fd_limit() -> Result<()> {
    let (soft, hard) = rlimit::getrlimit(Resource::NOFILE)?;
    if soft < hard {
        rlimit::setrlimit(Resource::NOFILE, hard, hard)
            .context("raising this process's open-file limit")?;
    }
    println!("taskr-load: open-file soft limit of this process raised from {soft} to {hard} (hard limit)");
    if hard < 2048 {
        println!("taskr-load: warning: the hard limit is below 2048; the connection scenarios need about 1,500");
    }
    Ok(())
}

async fn run(server: &mut Server, scenario: &Scenario) -> Result<()> {
    match scenario {
        Scenario::Auth(args) => auth::run(server, args).await,
        Scenario::Conns(args) => conns::run(server, args, false).await,
        Scenario::SandboxConns(args) => conns::run(server, args, true).await,
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    // The server is started before our limit is raised: it must not inherit the raised one.
    let nofile = (cli.server_nofile > 0).then_some(cli.server_nofile);
    let mut server = Server::start(&cli.taskr, nofile).await?;
    println!(
        "taskr-load: {} (pid {}) answers on {}, sandbox on {}; Max open files: {}",
        cli.taskr.display(),
        server.pid,
        server.base_url,
        server.sandbox_addr,
        server.max_open_files()
    );
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let outcome = match raise_own_fd_limit() {
        Err(e) => Err(e),
        Ok(()) => tokio::select! {
            outcome = run(&mut server, &cli.scenario) => outcome.map_err(|e| (e, true)),
            _ = tokio::signal::ctrl_c() => Err((anyhow::anyhow!("interrupted"), false)),
            _ = terminate.recv() => Err((anyhow::anyhow!("terminated"), false)),
        }
        .map_err(|(e, show_log)| {
            if show_log {
                eprintln!(
                    "taskr-load: last lines of the server log:\n{}",
                    server.log_tail()
                );
            }
            e
        }),
    };
    server.stop().await?;
    outcome
}
