//! The [`Source`] contract: where change batches come from.
//!
//! - **Ordering**: batches and the events in them are in commit order (per key at least).
//! - **Delivery**: at least once. On restart a source resumes after the last checkpoint passed to
//!   [`Source::ack`]; everything after it is produced again.
//! - **Concurrency**: none; `&mut self`, owned by the pipeline loop.
//! - **Progress**: `ack(checkpoint)` is called only after every batch up to the one carrying `checkpoint` is
//!   durable in the sink; the source then records it durably (the slot's flush LSN, a Kafka offset commit).

use std::future::Future;
use std::time::Instant;

use crate::change::{ChangeBatch, ChangeEvent};

/// A producer of change batches. See the module doc for the contract.
pub trait Source: Send {
    /// A position that can be acknowledged.
    type Checkpoint: Clone + Send + Sync + std::fmt::Debug;
    type Error: std::error::Error + Send + Sync + 'static;

    /// Collects up to `max_events` events, returning early at `deadline`. `Ok(None)` means the source has
    /// nothing more to produce, ever (a finished snapshot-only run). A batch may be empty but carry a checkpoint
    /// (an idle source advancing past WAL of other tables).
    fn next_batch(
        &mut self,
        max_events: usize,
        deadline: Instant,
    ) -> impl Future<Output = Result<Option<ChangeBatch<Self::Checkpoint>>, Self::Error>> + Send;

    /// Records that everything up to `checkpoint` is durable downstream.
    fn ack(&mut self, checkpoint: Self::Checkpoint) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Takes back the events of a batch the sink is done with, for the source to reuse their allocations (the
    /// PostgreSQL snapshot workers and stream decoder refill the rows' cells). The default drops them.
    fn recycle(&mut self, events: Vec<ChangeEvent>) {
        drop(events);
    }
}
