//! `cdc capture`: PostgreSQL → Debezium-style events (JSON lines for now; Kafka with the transport issue).
//!
//! Transient failures (the server restarting, a dropped connection) rebuild the source after a backoff; the
//! sink is kept, and since nothing was acknowledged past what it made durable, the replay is complete.

use std::time::Duration;

use anyhow::{Context, Result};
use cdc_core::envelope::Envelope;
use cdc_core::pipeline::{Pipeline, PipelineError};
use cdc_core::postgres::{PgSource, Retry};
use cdc_core::sinks::JsonLinesSink;

use crate::cli::CaptureArgs;
use crate::config::Config;

const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub async fn run(config: Config, args: CaptureArgs) -> Result<()> {
    let envelope = Envelope::new(config.events.clone(), config.postgres.dbname.clone());
    let mut sink = JsonLinesSink::open(&args.output, envelope).context("cannot open the output")?;
    let shutdown = super::shutdown_signal();
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
                tracing::info!(events = stats.events, batches = stats.batches, "capture stopped");
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
