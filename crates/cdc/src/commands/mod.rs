//! One module per subcommand; `run` dispatches.

mod capture;
mod config_check;
mod connect;
mod db;
mod ingest;
mod load;
mod status;
pub(crate) mod supervise;
mod tail;
mod verify;

use anyhow::Result;

use crate::cli::{Cli, Command, ConfigCommand, DbCommand};
use crate::config::Config;

pub async fn run(cli: Cli) -> Result<()> {
    // Installed first, so a SIGTERM during start-up takes the clean path.
    let shutdown = shutdown_signal();
    // A file-size limit (ulimit -f) would otherwise kill the process with SIGXFSZ mid-write; with a handler the
    // write fails with EFBIG instead, the warehouse transaction rolls back, and the error is reported.
    let _file_size_limit = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(SIGXFSZ));
    match cli.command {
        Command::Run(args) => capture::run(Config::load(cli.config.as_deref())?.config, args, shutdown).await,
        Command::Verify(args) => verify::run(Config::load(cli.config.as_deref())?.config, args).await,
        Command::Capture(args) => {
            capture::capture(Config::load(cli.config.as_deref())?.config, args, shutdown).await
        }
        Command::Load(args) => load::run(Config::load(cli.config.as_deref())?.config, args, shutdown).await,
        Command::Connect(args) => {
            connect::run(Config::load(cli.config.as_deref())?.config, args, shutdown).await
        }
        Command::Status(args) => status::run(Config::load(cli.config.as_deref())?.config, args).await,
        Command::Tail(args) => tail::run(Config::load(cli.config.as_deref())?.config, args, shutdown).await,
        Command::Ingest(args) => {
            ingest::run(Config::load(cli.config.as_deref())?.config, args, shutdown).await
        }
        Command::Db { command: DbCommand::Init { no_sample_data, replication_role } } => {
            db::init(Config::load(cli.config.as_deref())?.config, no_sample_data, replication_role).await
        }
        Command::Config { command: ConfigCommand::Check { connect, snowflake } } => {
            config_check::run(Config::load(cli.config.as_deref())?, connect, snowflake).await
        }
    }
}

/// SIGXFSZ on Linux.
const SIGXFSZ: i32 = 25;

/// A watch channel that turns true on SIGINT or SIGTERM. The handlers are installed before this returns, so a
/// signal that arrives while the command is still starting is not lost (nor fatal).
pub fn shutdown_signal() -> tokio::sync::watch::Receiver<bool> {
    use tokio::signal::unix::{signal, SignalKind};
    let (tx, rx) = tokio::sync::watch::channel(false);
    let (mut term, mut int) = match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(term), Ok(int)) => (term, int),
        _ => {
            tracing::warn!("cannot install signal handlers; stop with SIGKILL");
            return rx;
        }
    };
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("shutdown requested");
        let _ = tx.send(true);
    });
    rx
}
