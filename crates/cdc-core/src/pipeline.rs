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
    /// The `pipeline` label of its metrics.
    name: String,
    /// Keeps the last durable events for the admin UI's event browser.
    tap: Option<std::sync::Arc<EventTap>>,
}

/// The last `capacity` events made durable, newest last (the admin UI's recent-events browser).
#[derive(Debug)]
pub struct EventTap {
    events: std::sync::Mutex<std::collections::VecDeque<crate::change::ChangeEvent>>,
    capacity: usize,
}

impl EventTap {
    pub fn new(capacity: usize) -> EventTap {
        EventTap {
            events: std::sync::Mutex::new(std::collections::VecDeque::with_capacity(capacity)),
            capacity,
        }
    }

    fn record(&self, batch: &[crate::change::ChangeEvent]) {
        let Ok(mut events) = self.events.lock() else { return };
        for event in &batch[batch.len().saturating_sub(self.capacity)..] {
            if events.len() == self.capacity {
                events.pop_front();
            }
            events.push_back(event.clone());
        }
    }

    /// The recent events, oldest first.
    pub fn snapshot(&self) -> Vec<crate::change::ChangeEvent> {
        self.events.lock().map(|e| e.iter().cloned().collect()).unwrap_or_default()
    }
}

impl<S: Source, K: Sink> Pipeline<S, K> {
    pub fn new(source: S, sink: K, config: PipelineConfig) -> Self {
        Pipeline {
            source,
            sink,
            config,
            stats: PipelineStats::default(),
            name: crate::metrics::pipeline(),
            tap: None,
        }
    }

    /// Keeps the last durable events in `tap`.
    pub fn tapped(mut self, tap: Option<std::sync::Arc<EventTap>>) -> Self {
        self.tap = tap;
        self
    }

    /// Names the pipeline in its metrics (`pipeline` label).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
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
            let started = Instant::now();
            let counts = BatchCounts::of(&batch.events);
            counts.record(crate::metrics::EVENTS_CAPTURED, &self.name);
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
            if !batch.events.is_empty() {
                if let Some(tap) = &self.tap {
                    tap.record(&batch.events);
                }
                counts.record(crate::metrics::EVENTS_APPLIED, &self.name);
                counts.record_batch(&self.name, started.elapsed(), batch.events.len());
            }
            drop(counts);
            self.source.recycle(batch.events);
        }
    }

    pub fn into_parts(self) -> (S, K) {
        (self.source, self.sink)
    }
}

/// Per-batch event counts by (table, op), and the newest streamed commit time, for the metrics. Keyed by
/// reference: the table names are formatted once per batch, not once per event.
struct BatchCounts<'a> {
    by_table_op: std::collections::HashMap<(&'a crate::schema::TableId, &'static str), u64>,
    newest_commit_micros: Option<i64>,
}

impl<'a> BatchCounts<'a> {
    fn of(events: &'a [crate::change::ChangeEvent]) -> BatchCounts<'a> {
        let mut by_table_op = std::collections::HashMap::new();
        let mut newest_commit_micros = None;
        // Counted in runs of the same table and op (a batch is mostly a few long runs): one hash per run, not
        // one per event.
        let mut run: Option<((&'a crate::schema::TableId, &'static str), u64)> = None;
        for event in events {
            let key = (&event.schema.id, event.op.code());
            match &mut run {
                Some((current, n)) if std::ptr::eq(current.0, key.0) && current.1 == key.1 => *n += 1,
                _ => {
                    if let Some((done, n)) = run.replace((key, 1)) {
                        *by_table_op.entry(done).or_insert(0) += n;
                    }
                }
            }
            if event.snapshot == crate::change::SnapshotMarker::No {
                newest_commit_micros = newest_commit_micros.max(Some(event.tx.commit_time_micros));
            }
        }
        if let Some((done, n)) = run {
            *by_table_op.entry(done).or_insert(0) += n;
        }
        BatchCounts { by_table_op, newest_commit_micros }
    }

    fn record(&self, name: &'static str, pipeline: &str) {
        for ((table, op), n) in &self.by_table_op {
            metrics::counter!(name, "pipeline" => pipeline.to_owned(), "table" => table.to_string(), "op" => *op)
                .increment(*n);
        }
    }

    fn record_batch(&self, pipeline: &str, took: Duration, events: usize) {
        use crate::metrics as m;
        let labels = [("pipeline", pipeline.to_owned())];
        metrics::counter!(m::BATCHES, &labels).increment(1);
        metrics::histogram!(m::BATCH_DURATION, &labels).record(took.as_secs_f64());
        metrics::histogram!(m::BATCH_EVENTS, &labels).record(events as f64);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        metrics::gauge!(m::LAST_EVENT_TIMESTAMP, &labels).set(now.as_secs_f64());
        if let Some(commit) = self.newest_commit_micros {
            let behind_ms = (now.as_micros() as i64 - commit) as f64 / 1000.0;
            metrics::gauge!(m::TIME_BEHIND_SOURCE, &labels).set(behind_ms.max(0.0));
        }
    }
}
