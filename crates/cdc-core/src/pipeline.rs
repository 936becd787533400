//! [`Pipeline`]: the one loop that moves batches from a [`Source`] to a [`Sink`] and the only code that
//! advances progress.
//!
//! Each turn: (1) stop if shutdown was requested, after the batch in flight is flushed and acknowledged;
//! (2) ask the source for up to `batch_size` events, waiting at most `poll_timeout` (batches are cut by size
//! and by age); (3) write them; (4) flush; (5) only then acknowledge the batch's checkpoint. A crash anywhere
//! before (5) replays the batch; nothing is acknowledged that is not durable.

use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::config::PipelineConfig;
use crate::sink::{Sink, SinkError};
use crate::source::Source;

/// Why the pipeline stopped.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError<E: std::error::Error + Send + Sync + 'static> {
    #[error("source failed")]
    Source(#[source] E),
    #[error("sink failed")]
    Sink(#[source] SinkError),
}

/// Counters of one pipeline run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PipelineStats {
    pub batches: u64,
    pub events: u64,
    pub acks: u64,
}

/// Moves batches from `S` to `K`. See the module doc.
#[derive(Debug)]
pub struct Pipeline<S, K> {
    source: S,
    sink: K,
    config: PipelineConfig,
    stats: PipelineStats,
}

impl<S: Source, K: Sink> Pipeline<S, K> {
    pub fn new(source: S, sink: K, config: PipelineConfig) -> Self {
        Pipeline { source, sink, config, stats: PipelineStats::default() }
    }

    /// Runs until the source is finished or `shutdown` turns true; returns the run's counters.
    pub async fn run(
        &mut self,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<PipelineStats, PipelineError<S::Error>> {
        let poll_timeout = Duration::from_millis(self.config.poll_timeout_ms);
        loop {
            // 1. Shutdown: the previous batch is already flushed and acknowledged, so stopping here loses nothing.
            if *shutdown.borrow_and_update() {
                tracing::info!(events = self.stats.events, "pipeline stopping on request");
                return Ok(self.stats);
            }
            // 2. Next batch, cut by size or age. A shutdown signal abandons the call: what it had read was
            //    never acknowledged, so the next run reads it again, and this run stops right here.
            let deadline = Instant::now() + poll_timeout;
            let next = tokio::select! {
                biased;
                _ = shutdown.changed() => {
                    tracing::info!(events = self.stats.events, "pipeline stopping on request");
                    return Ok(self.stats);
                }
                next = self.source.next_batch(self.config.batch_size, deadline) => next,
            };
            let Some(batch) = next.map_err(PipelineError::Source)? else {
                tracing::info!(events = self.stats.events, "source finished");
                self.sink.flush().await.map_err(PipelineError::Sink)?;
                return Ok(self.stats);
            };
            if batch.events.is_empty() && batch.checkpoint.is_none() {
                continue;
            }
            // 3-4. Write and make durable.
            if !batch.events.is_empty() {
                self.sink.write(&batch).await.map_err(PipelineError::Sink)?;
                self.stats.events += batch.events.len() as u64;
                self.stats.batches += 1;
            }
            self.sink.flush().await.map_err(PipelineError::Sink)?;
            // 5. Acknowledge only what is durable.
            if let Some(checkpoint) = batch.checkpoint {
                self.source.ack(checkpoint).await.map_err(PipelineError::Source)?;
                self.stats.acks += 1;
            }
        }
    }

    pub fn into_parts(self) -> (S, K) {
        (self.source, self.sink)
    }
}
