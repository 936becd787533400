//! The supervised pipeline loop every streaming role shares (`cdc run`, `cdc capture`, `cdc load`).
//!
//! Transient source failures (a server restarting, a dropped connection) rebuild the source after a backoff; the
//! sink is kept, and since nothing was acknowledged past what it made durable, the replay is complete. With the
//! admin API on, the loop also obeys pause, resume and restart, and a failure leaves the connector FAILED (with
//! its error chain) until a restart instead of ending the process.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use cdc_core::config::PipelineConfig;
use cdc_core::pipeline::{Pipeline, PipelineError};
use cdc_core::{Sink, Source};
use tokio::sync::watch;
use tracing::Instrument;

use crate::admin::{Connector, Desired, State};

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Whether an error is worth retrying by rebuilding the source.
pub trait Transient {
    fn transient(&self) -> bool;
}

impl Transient for cdc_core::postgres::PgError {
    fn transient(&self) -> bool {
        self.retry() == cdc_core::postgres::Retry::Transient
    }
}

impl Transient for cdc_kafka::KafkaError {
    /// The consumer retries broker outages itself; what reaches us is fatal (auth, a missing topic, config).
    fn transient(&self) -> bool {
        false
    }
}

/// Runs `start()` → `sink` until shutdown. Every log line inside carries the pipeline's name.
pub async fn run<S, E, F, Fut, K>(
    name: &str,
    connector: Option<Arc<Connector>>,
    start: F,
    sink: K,
    config: PipelineConfig,
    shutdown: watch::Receiver<bool>,
) -> Result<()>
where
    S: Source<Error = E> + Send + 'static,
    S::Checkpoint: Send,
    E: std::error::Error + Transient + Send + Sync + 'static,
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<S, E>> + Send,
    K: Sink + Send + 'static,
{
    let owned_name = name.to_owned();
    let supervised = async move { supervise(&owned_name, connector, start, sink, config, shutdown).await }
        .instrument(tracing::info_span!("pipeline", pipeline = %name));
    // A task of its own rather than polled by the caller: when the caller is `main`'s `block_on`, every read
    // woken by the I/O driver (on a worker thread) would cost a cross-thread wake-up — measured at 15 % of
    // capture's CPU — where a task runs on the worker that saw the read.
    tokio::spawn(cdc_core::metrics::in_pipeline(name.to_owned(), supervised))
        .await
        .unwrap_or_else(|panic| Err(anyhow::anyhow!("pipeline {name} panicked: {panic}")))
}

async fn supervise<S, E, F, Fut, K>(
    name: &str,
    connector: Option<Arc<Connector>>,
    mut start: F,
    mut sink: K,
    config: PipelineConfig,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()>
where
    S: Source<Error = E>,
    E: std::error::Error + Transient + Send + Sync + 'static,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<S, E>>,
    K: Sink,
{
    let mut desired = connector.as_ref().map(|c| c.desired());
    let mut backoff = Duration::from_millis(500);
    loop {
        if let (Some(c), Some(desired)) = (&connector, desired.as_mut()) {
            desired.borrow_and_update();
            while desired.borrow().paused {
                c.set(State::Paused, None);
                tokio::select! {
                    _ = shutdown.changed() => return Ok(()),
                    _ = desired.changed() => {}
                }
            }
        }
        if *shutdown.borrow() {
            return Ok(());
        }
        let source = match start().await {
            Ok(source) => source,
            Err(e) if e.transient() && !*shutdown.borrow() => {
                tracing::warn!(error = %e, retry_in = ?backoff, "source not available; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
            Err(e) => {
                let error = anyhow::Error::from(e);
                match (&connector, desired.as_mut()) {
                    (Some(c), Some(desired)) => {
                        wait_for_restart(c, desired, &mut shutdown, &error).await;
                        continue;
                    }
                    _ => return Err(error),
                }
            }
        };
        if let Some(c) = &connector {
            c.set(State::Running, None);
        }
        // This run stops on shutdown, or on any change the operator asks for (pause, resume, restart).
        let (stop_tx, stop) = watch::channel(false);
        let mut stop_on = (shutdown.clone(), desired.clone());
        let forward = tokio::spawn(async move {
            let (shutdown, desired) = &mut stop_on;
            let operator = async {
                match desired {
                    Some(d) => {
                        let _ = d.changed().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => {}
                _ = operator => {}
            }
            let _ = stop_tx.send(true);
        });
        let tap = connector.as_ref().map(|c| c.tap.clone());
        let mut pipeline = Pipeline::new(source, sink, config.clone()).named(name).tapped(tap);
        let asked_to_stop = stop.clone();
        let result = pipeline.run(stop).await;
        forward.abort();
        let (_, returned_sink) = pipeline.into_parts();
        sink = returned_sink;
        match result {
            Ok(stats) if *shutdown.borrow() => {
                tracing::info!(events = stats.events, batches = stats.batches, "pipeline stopped");
                return Ok(());
            }
            // Nobody asked it to stop: the source has nothing more to give (`snapshot_mode = "initial_only"`).
            Ok(stats) if !*asked_to_stop.borrow() => {
                tracing::info!(events = stats.events, batches = stats.batches, "pipeline finished");
                return Ok(());
            }
            Ok(_) => tracing::info!("pipeline stopped on request of the admin API"),
            Err(PipelineError::Source(e)) if e.transient() && !*shutdown.borrow() => {
                tracing::warn!(error = %e, retry_in = ?backoff, "source failed; reconnecting");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(e) => {
                let error = anyhow::Error::from(e);
                match (&connector, desired.as_mut()) {
                    (Some(c), Some(desired)) => wait_for_restart(c, desired, &mut shutdown, &error).await,
                    _ => return Err(error),
                }
            }
        }
    }
}

/// Marks the connector FAILED with the error chain and waits for a restart (or shutdown).
async fn wait_for_restart(
    connector: &Connector,
    desired: &mut watch::Receiver<Desired>,
    shutdown: &mut watch::Receiver<bool>,
    error: &anyhow::Error,
) {
    let trace = format!("{error:#}");
    tracing::error!(error = %trace, "pipeline failed; waiting for POST /connectors/{}/restart", connector.name);
    connector.set(State::Failed, Some(trace));
    let restarts = desired.borrow_and_update().restarts;
    tokio::select! {
        _ = shutdown.wait_for(|stop| *stop) => {}
        _ = desired.wait_for(|d| d.restarts != restarts) => {}
    }
}
