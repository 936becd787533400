//! One module per subcommand; `run` dispatches.

mod capture;
mod config_check;
mod db;
mod ingest;
mod tail;

use anyhow::Result;

use crate::cli::{Cli, Command, ConfigCommand, DbCommand};
use crate::config::Config;

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run(args) => capture::run(Config::load(cli.config.as_deref())?.config, args).await,
        Command::Capture(args) => capture::capture(Config::load(cli.config.as_deref())?.config, args).await,
        Command::Tail(args) => tail::run(Config::load(cli.config.as_deref())?.config, args).await,
        Command::Ingest(args) => ingest::run(Config::load(cli.config.as_deref())?.config, args).await,
        Command::Db { command: DbCommand::Init { no_sample_data, replication_role } } => {
            db::init(Config::load(cli.config.as_deref())?.config, no_sample_data, replication_role).await
        }
        Command::Config { command: ConfigCommand::Check { connect } } => {
            config_check::run(Config::load(cli.config.as_deref())?, connect).await
        }
    }
}

/// A watch channel that turns true on SIGINT or SIGTERM.
pub fn shutdown_signal() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutdown requested");
        let _ = tx.send(true);
    });
    rx
}
