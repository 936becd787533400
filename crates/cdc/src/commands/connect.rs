//! `cdc connect`: the Kafka Connect worker (see [`crate::connect::worker`]). Serves the admin API with the
//! create/update side of Connect's REST API, runs the stored connectors, and on SIGTERM stops each after its
//! batch in flight.

use std::sync::Arc;

use anyhow::Result;
use tokio::sync::watch;

use crate::admin;
use crate::cli::ConnectArgs;
use crate::config::Config;
use crate::connect::{rest, worker::Worker};

const DEFAULT_LISTEN: &str = "127.0.0.1:8083";

pub async fn run(config: Config, args: ConnectArgs, mut shutdown: watch::Receiver<bool>) -> Result<()> {
    let name = config.admin.name.clone().unwrap_or_else(|| "cdc-connect".to_owned());
    cdc_core::metrics::set_pipeline(&name);
    let listen = match args.listen.or(config.admin.listen) {
        Some(listen) => listen,
        None => DEFAULT_LISTEN.parse()?,
    };
    let token = config.admin.token.clone();
    let mut routes = vec![];
    if let Some(registry) = crate::registry::embedded(&config).await? {
        routes.push(registry);
    }
    let worker = Worker::start(config, shutdown.clone()).await?;
    routes.push(rest::routes(worker.clone()));
    admin::serve(listen, token, worker.clone() as Arc<dyn admin::Connectors>, routes).await?;
    let _ = shutdown.wait_for(|stop| *stop).await;
    worker.stop_all().await;
    Ok(())
}
