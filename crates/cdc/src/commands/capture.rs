//! `cdc capture` (PostgreSQL → Debezium-style events, as JSON lines or onto Kafka topics) and `cdc run`
//! (PostgreSQL → DuckDB in one process) share one supervised pipeline loop.
//!
//! Transient failures (the server restarting, a dropped connection) rebuild the source after a backoff; the
//! sink is kept, and since nothing was acknowledged past what it made durable, the replay is complete.

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

use crate::cli::{CaptureArgs, CaptureSink, RunArgs, WarehouseSink};
use crate::config::Config;

const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub async fn capture(config: Config, args: CaptureArgs, shutdown: watch::Receiver<bool>) -> Result<()> {
    let envelope = Envelope::new(config.events.clone(), config.postgres.dbname.clone());
    match args.sink {
        CaptureSink::Jsonl => {
            let sink = JsonLinesSink::open(&args.output, envelope).context("cannot open the output")?;
            supervise(&config, sink, shutdown).await
        }
        CaptureSink::Kafka => {
            let sink =
                KafkaSink::new(config.kafka.clone(), envelope).context("cannot set up the Kafka producer")?;
            supervise(&config, sink, shutdown).await
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
            supervise(&config, sink, shutdown).await
        }
        WarehouseSink::Snowflake => {
            config.snowflake.validate("snowflake")?;
            let sink = SnowflakeSink::open(config.snowflake.clone()).await?;
            tracing::info!(url = %config.snowflake.base_url(), applied = ?sink.applied(), "Snowflake open");
            supervise(&config, sink, shutdown).await
        }
    }
}

/// Runs PgSource → `sink` until shutdown, rebuilding the source after transient failures.
async fn supervise<K: Sink>(config: &Config, mut sink: K, shutdown: watch::Receiver<bool>) -> Result<()> {
    let mut backoff = Duration::from_millis(500);
    loop {
        let source = match PgSource::start(config.postgres.clone(), config.source.clone()).await {
            Ok(source) => source,
            Err(e) if e.retry() == Retry::Transient && !*shutdown.borrow() => {
                tracing::warn!(error = %e, retry_in = ?backoff, "source not available; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let mut pipeline = Pipeline::new(source, sink, config.pipeline.clone());
        let result = pipeline.run(shutdown.clone()).await;
        let (_, returned_sink) = pipeline.into_parts();
        sink = returned_sink;
        match result {
            Ok(stats) => {
                tracing::info!(events = stats.events, batches = stats.batches, "pipeline stopped");
                return Ok(());
            }
            Err(PipelineError::Source(e)) if e.retry() == Retry::Transient && !*shutdown.borrow() => {
                tracing::warn!(error = %e, retry_in = ?backoff, "source failed; reconnecting");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(e) => return Err(e.into()),
        }
    }
}
