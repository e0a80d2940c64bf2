//! The `taskr` binary: parse configuration, start logging, run the application.

use anyhow::Context;
use clap::Parser;
use taskr::app::Application;
use taskr::config::{Cli, Command, KeysCommand, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A `.env` file in the working directory, as in Attio's tutorial; real environment
    // variables win. A malformed line stops start-up: silently skipping it (and everything
    // after it) would start Taskr with settings nobody chose.
    if let Err(e) = taskr::config_text::load_dotenv(std::path::Path::new(".env")) {
        eprintln!("taskr: {e}");
        std::process::exit(2);
    }
    let mut cli = Cli::parse();
    let command = cli.command.take();
    let settings = match Settings::from_cli(cli) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("taskr: {e}");
            std::process::exit(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .init();

    if let Some(Command::Keys {
        action: KeysCommand::Rotate,
    }) = command
    {
        let (store, cipher) = taskr::app::open_store(&settings).await?;
        let report = taskr::keys::rotate(store.as_ref(), &cipher, true).await?;
        println!(
            "keys rotate: {} re-sealed under key {}, {} changed meanwhile (already current), {} unreadable",
            report.resealed,
            cipher.key_id(),
            report.skipped,
            report.unreadable
        );
        if report.unreadable > 0 {
            eprintln!("taskr: some values are sealed with a key that is not configured; add it to TASKR_OLD_ENCRYPTION_KEYS and run again");
            std::process::exit(1);
        }
        return Ok(());
    }

    // 1,100 idle connections exhausted a default soft limit of 1,024 files: take what the
    // system allows, and derive the connection cap from it.
    serve::raise_fd_limit_and_log(&settings.server_limits);
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("binding {} (TASKR_LISTEN)", settings.listen))?;
    let app = Application::build(settings, listener).await?;
    tracing::info!("{}", app.banner());
    app.run_until_stopped(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
