//! The [`Sink`] contract: where change batches go.
//!
//! - **Ordering**: batches arrive in source order; a sink keeps per-key order.
//! - **Delivery**: at least once. After a crash the source replays from the last acknowledged checkpoint, so a
//!   sink sees some changes again and must tolerate that (warehouse sinks make replays no-ops by LSN).
//! - **Concurrency**: none; `&mut self`, one owner, the pipeline loop.
//! - **`Ok` means**: `write` staged the batch (nothing is promised yet); `flush` returning `Ok` means every
//!   batch written so far is durable, and only then does the pipeline acknowledge the source.

use std::future::Future;

use crate::change::ChangeBatch;

/// Why a sink could not stage or persist a batch.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("i/o error writing to {target}")]
    Io {
        target: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode event for {table}")]
    Encode {
        table: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A destination for change batches. See the module doc for the contract.
pub trait Sink: Send {
    /// Stages `batch`; nothing is durable until [`Sink::flush`] returns `Ok`.
    fn write<C: Send + Sync>(
        &mut self,
        batch: &ChangeBatch<C>,
    ) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// Makes every staged batch durable; the pipeline acknowledges only after this returns `Ok`.
    fn flush(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send;
}
