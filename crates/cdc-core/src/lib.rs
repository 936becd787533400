//! cdc-core: the event model, the pgoutput decoder, the PostgreSQL source, the [`Sink`] contract and the one
//! loop that moves changes and owns progress.
//!
//! ```text
//!  PostgreSQL ──walsender (pgoutput)──▶ postgres::ReplicationStream ──▶ PgSource ──ChangeBatch──▶ Pipeline
//!      ▲                                                                                          │
//!      └──────── standby status update (flush LSN = what the sink made durable) ◀── ack ◀── Sink::flush
//! ```
//!
//! - [`Lsn`], [`TableSchema`], [`Value`], [`ChangeEvent`]: one vocabulary for every crate.
//! - [`pgoutput`]: pure bytes → messages decoding, fuzzed and property-tested.
//! - [`postgres`]: connections, prerequisites, slot and publication, the consistent snapshot and the stream.
//! - [`Pipeline`]: cuts batches by size and age, writes them, flushes, and only then acknowledges.

pub mod change;
pub mod config;
pub mod envelope;
pub mod lsn;
pub mod metrics;
pub mod pgoutput;
pub mod pgtype;
pub mod pipeline;
pub mod postgres;
pub mod progress;
pub mod schema;
pub mod sink;
pub mod sinks;
pub mod source;
pub mod value;

pub use change::{ChangeBatch, ChangeEvent, LogOffset, Op, Row, SnapshotMarker, TxInfo};
pub use lsn::Lsn;
pub use pgtype::{PgType, TypeKind};
pub use schema::{Column, ReplicaIdentity, SchemaRef, TableId, TableSchema};
pub use sink::{Sink, SinkError};
pub use source::Source;
pub use value::{DateValue, Numeric, TimestampValue, Value};
