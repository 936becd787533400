//! `cdc capture` (PostgreSQL → Debezium-style events, as JSON lines or onto Kafka topics) and `cdc run`
//! (PostgreSQL → DuckDB in one process) share one supervised pipeline loop.
//!
//! Transient failures (the server restarting, a dropped connection) rebuild the source after a backoff; the
//! sink is kept, and since nothing was acknowledged past what it made durable, the replay is complete.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use cdc_core::envelope::Envelope;
use cdc_core::pipeline::{Pipeline, PipelineError};
use cdc_core::postgres::{PgSource, Retry};
use cdc_core::sinks::JsonLinesSink;
use cdc_core::Sink;
use cdc_kafka::KafkaSink;
use cdc_warehouse::duckdb::DuckDbSink;
use cdc_warehouse::snowflake::SnowflakeSink;
use tokio::sync::watch;

use crate::admin::{self, Connector, Desired, Offsets, State};
use crate::cli::{CaptureArgs, CaptureSink, RunArgs, WarehouseSink};
use crate::config::Config;

const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub async fn capture(config: Config, args: CaptureArgs, shutdown: watch::Receiver<bool>) -> Result<()> {
    let envelope = Envelope::new(config.events.clone(), config.postgres.dbname.clone());
    match args.sink {
        CaptureSink::Jsonl => {
            let sink = JsonLinesSink::open(&args.output, envelope).context("cannot open the output")?;
            supervise(&config, "cdc-capture", sink, shutdown).await
        }
        CaptureSink::Kafka => {
            let sink =
                KafkaSink::new(config.kafka.clone(), envelope).context("cannot set up the Kafka producer")?;
            supervise(&config, "cdc-capture", sink, shutdown).await
        }
    }
}

pub async fn run(mut config: Config, args: RunArgs, shutdown: watch::Receiver<bool>) -> Result<()> {
    if let Some(path) = args.duckdb {
        config.duckdb.path = path;
    }
    match args.sink {
        WarehouseSink::Duckdb => {
            let sink = DuckDbSink::open(config.duckdb.clone())?;
            tracing::info!(path = %config.duckdb.path.display(), applied = ?sink.applied(), "warehouse open");
            supervise(&config, "cdc-run", sink, shutdown).await
        }
        WarehouseSink::Snowflake => {
            config.snowflake.validate("snowflake")?;
            let sink = SnowflakeSink::open(config.snowflake.clone()).await?;
            tracing::info!(url = %config.snowflake.base_url(), applied = ?sink.applied(), "Snowflake open");
            supervise(&config, "cdc-run", sink, shutdown).await
        }
    }
}

/// Runs PgSource → `sink` until shutdown, rebuilding the source after transient failures. With the admin API on,
/// it also obeys pause, resume and restart, and a failure leaves the connector FAILED (with its trace) until a
/// restart instead of ending the process.
async fn supervise<K: Sink>(
    config: &Config,
    role: &'static str,
    sink: K,
    shutdown: watch::Receiver<bool>,
) -> Result<()> {
    use tracing::Instrument;
    // Every log line of the pipeline carries its name (a `pipeline` field in JSON logs, for Loki).
    let name = config.admin.name.clone().unwrap_or_else(|| role.to_owned());
    supervise_pipeline(config, role, sink, shutdown)
        .instrument(tracing::info_span!("pipeline", pipeline = %name))
        .await
}

async fn supervise_pipeline<K: Sink>(
    config: &Config,
    role: &'static str,
    mut sink: K,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let connector = admin_for(config, role).await?;
    let name = connector.as_ref().map_or_else(|| role.to_owned(), |c| c.name.clone());
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
        let source = match PgSource::start(config.postgres.clone(), config.source.clone()).await {
            Ok(source) => source,
            Err(e) if e.retry() == Retry::Transient && !*shutdown.borrow() => {
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
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => {}
                _ = async { match desired { Some(d) => { let _ = d.changed().await; } None => std::future::pending().await } } => {}
            }
            let _ = stop_tx.send(true);
        });
        let mut pipeline = Pipeline::new(source, sink, config.pipeline.clone()).named(name.clone());
        let result = pipeline.run(stop).await;
        forward.abort();
        let (_, returned_sink) = pipeline.into_parts();
        sink = returned_sink;
        match result {
            Ok(stats) if *shutdown.borrow() => {
                tracing::info!(events = stats.events, batches = stats.batches, "pipeline stopped");
                return Ok(());
            }
            Ok(_) => tracing::info!("pipeline stopped on request of the admin API"),
            Err(PipelineError::Source(e)) if e.retry() == Retry::Transient && !*shutdown.borrow() => {
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

/// Starts the admin API when `[admin].listen` is set, with a connector named after the role, and the slot's
/// WAL metrics.
async fn admin_for(config: &Config, role: &'static str) -> Result<Option<Arc<Connector>>> {
    let name = config.admin.name.clone().unwrap_or_else(|| role.to_owned());
    cdc_core::metrics::set_pipeline(&name);
    let Some(listen) = config.admin.listen else { return Ok(None) };
    let redacted = serde_json::to_value(config).context("cannot show the configuration")?;
    let connector = Arc::new(Connector::new(name.clone(), "source", redacted));
    let offsets = Offsets::Slot { postgres: config.postgres.clone(), slot: config.source.slot_name.clone() };
    admin::serve(listen, config.admin.token.clone(), connector.clone(), offsets).await?;
    tokio::spawn(slot_metrics(config.postgres.clone(), config.source.slot_name.clone(), name));
    Ok(Some(connector))
}

/// Every 10 s: the server's WAL position, and the slot's lag and retained WAL, as gauges.
async fn slot_metrics(postgres: cdc_core::config::PostgresConfig, slot: String, pipeline: String) {
    use cdc_core::metrics as m;
    let mut client = None;
    loop {
        if client.is_none() {
            client = cdc_core::postgres::connect(&postgres).await.ok();
        }
        if let Some(c) = &client {
            let row = c
                .query_one(
                    "SELECT (pg_current_wal_lsn() - '0/0')::float8,
                            (SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::float8 FROM pg_replication_slots WHERE slot_name = $1),
                            (SELECT (pg_current_wal_lsn() - restart_lsn)::float8 FROM pg_replication_slots WHERE slot_name = $1)",
                    &[&slot],
                )
                .await;
            match row {
                Ok(row) => {
                    let label = [("pipeline", pipeline.clone())];
                    metrics::gauge!(m::SOURCE_WAL_POSITION, &label).set(row.get::<_, f64>(0));
                    if let Some(lag) = row.get::<_, Option<f64>>(1) {
                        metrics::gauge!(m::REPLICATION_LAG, &label).set(lag);
                    }
                    if let Some(retained) = row.get::<_, Option<f64>>(2) {
                        metrics::gauge!(m::SLOT_RETAINED_WAL, &label).set(retained);
                    }
                }
                Err(_) => client = None,
            }
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
}
