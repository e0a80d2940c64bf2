//! `attio-sandbox`: runs the Attio emulator on its own, with one registered OAuth app.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use attio_sandbox::{
    parse_scope_list, Config, Limits, OAuthApp, Sandbox, DEFAULT_APP_NAME, DEFAULT_APP_SCOPES,
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REDIRECT_URI, STATE_FILE,
};
use clap::Parser;
use tokio::net::TcpListener;

/// A local emulator of Attio's OAuth server and REST API, with two seeded demo workspaces.
#[derive(Parser)]
#[command(name = "attio-sandbox", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "ATTIO_SANDBOX_LISTEN", default_value = "127.0.0.1:3051")]
    listen: SocketAddr,

    /// OAuth client id of the registered app.
    #[arg(long, default_value = DEFAULT_CLIENT_ID, value_parser = non_empty)]
    client_id: String,

    /// OAuth client secret of the registered app. The default is for local use only.
    #[arg(
        long,
        env = "ATTIO_SANDBOX_CLIENT_SECRET",
        hide_env_values = true,
        default_value = DEFAULT_CLIENT_SECRET,
        value_parser = non_empty
    )]
    client_secret: String,

    /// Redirect URI accepted for the app, compared exactly; repeat for several.
    #[arg(long = "redirect-uri", value_name = "URL", default_value = DEFAULT_REDIRECT_URI, value_parser = absolute_url)]
    redirect_uris: Vec<String>,

    /// Name shown on the consent page.
    #[arg(long, default_value = DEFAULT_APP_NAME, value_parser = non_empty)]
    app_name: String,

    /// Scopes granted to the app's tokens, space- or comma-separated.
    #[arg(long, default_value = DEFAULT_APP_SCOPES, value_parser = scope_list)]
    scopes: ScopeList,

    /// Wait before the first delivery retry, in ms; retry n waits base × 2^(n-1). The default
    /// (250 s) spreads 10 retries over about 3 days; e.g. 50 runs the schedule in under a minute.
    #[arg(long, default_value_t = 250_000, value_parser = clap::value_parser!(u64).range(1..))]
    retry_base_ms: u64,

    /// Retries after a failed delivery before the webhook becomes degraded.
    #[arg(long, default_value_t = 10)]
    max_retries: u32,

    /// A delivery attempt without an answer after this many ms has failed.
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..))]
    delivery_timeout_ms: u64,

    /// At most this many delivery requests per second to one target URL.
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u32).range(1..))]
    target_rate: u32,

    /// A webhook degraded this long (ms) becomes inactive. Default: 7 days.
    #[arg(long, default_value_t = 7 * 24 * 60 * 60 * 1000, value_parser = clap::value_parser!(u64).range(1..))]
    degraded_to_inactive_ms: u64,

    /// Enforce Attio's API rate limits (100 reads/s, 25 writes/s) from the start.
    #[arg(long)]
    rate_limits: bool,

    /// A client must finish sending a request head within this many seconds of connecting (or
    /// of its first byte on a kept-alive connection).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_read_timeout_secs: u64,

    /// A kept-alive connection with no request for this many seconds is closed.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    idle_timeout_secs: u64,

    /// Connections served at once; more get a 503. Default: derived from the open-file limit.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: Option<u64>,

    /// Keep the state in this directory (created 0700): loaded from its state.json at start,
    /// seeded when there is none, saved after every change. Without it, state lives in memory.
    #[arg(long, env = "ATTIO_SANDBOX_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// One flag value holding many scopes (a bare `Vec` would make clap expect one scope per value).
#[derive(Clone)]
struct ScopeList(Vec<String>);

fn scope_list(value: &str) -> Result<ScopeList, String> {
    parse_scope_list(value).map(ScopeList)
}

fn non_empty(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(value.to_owned())
    }
}

fn absolute_url(value: &str) -> Result<String, String> {
    url::Url::parse(value)
        .map(|_| value.to_owned())
        .map_err(|e| format!("not an absolute URL: {e}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let app = OAuthApp {
        name: args.app_name,
        client_id: args.client_id,
        client_secret: args.client_secret,
        redirect_uris: args.redirect_uris,
        scopes: args.scopes.0,
    };
    let config = Config {
        apps: vec![app],
        retry_base: Duration::from_millis(args.retry_base_ms),
        max_retries: args.max_retries,
        delivery_timeout: Duration::from_millis(args.delivery_timeout_ms),
        target_rate_per_second: args.target_rate,
        degraded_to_inactive: Duration::from_millis(args.degraded_to_inactive_ms),
        rate_limits: args.rate_limits,
        ..Config::default()
    };
    let (sandbox, kept) = match &args.data_dir {
        None => (Sandbox::new(config), "state in memory".to_owned()),
        Some(dir) => {
            let sandbox =
                Sandbox::open(config, dir).context("--data-dir: the saved state cannot be used")?;
            let kept = format!("state in {}", dir.join(STATE_FILE).display());
            (sandbox, kept)
        }
    };
    let limits = Limits {
        header_read_timeout: Duration::from_secs(args.header_read_timeout_secs),
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
        max_connections: args
            .max_connections
            .and_then(|n| NonZeroUsize::new(usize::try_from(n).ok()?)),
        ..Limits::default()
    };
    serve::raise_fd_limit_and_log(&limits);
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on --listen {}", args.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let names: Vec<String> = sandbox
        .workspaces()
        .into_iter()
        .map(|w| format!("\"{}\"", w.name))
        .collect();
    println!(
        "Attio sandbox listening on http://{addr} (workspaces {}; {kept}); console at http://{addr}/",
        names.join(", ")
    );
    sandbox
        .serve_with(listener, limits, shutdown_signal())
        .await
        .context("serving the sandbox")
}

/// Ctrl-C, or SIGTERM on Unix (how containers and process managers stop us).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
