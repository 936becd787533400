//! [`ChangeEvent`] and [`ChangeBatch`]: what a source produces and a sink consumes.

use crate::lsn::Lsn;
use crate::schema::SchemaRef;
use crate::value::Value;

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// A row read by the initial snapshot (Debezium `r`).
    Read,
    Insert,
    Update,
    Delete,
    /// The whole table was emptied; the event carries no rows.
    Truncate,
}

impl Op {
    /// Debezium's `op` code.
    pub fn code(self) -> &'static str {
        match self {
            Op::Read => "r",
            Op::Insert => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Truncate => "t",
        }
    }
}

/// A row's cells in the column order of the event's schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    pub fn get(&self, index: usize) -> Option<&Value> {
        self.0.get(index)
    }

    /// [`Value::heap_bytes`] over the cells.
    pub fn heap_bytes(&self) -> usize {
        self.0.iter().map(Value::heap_bytes).fold(0, usize::saturating_add)
    }
}

/// Where a snapshot row sits in the snapshot (Debezium's `source.snapshot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMarker {
    /// A streamed change, not from a snapshot.
    No,
    /// The first row of the whole snapshot.
    First,
    /// A row in the middle of the snapshot.
    InProgress,
    /// The last row of a table's snapshot.
    LastInTable,
    /// The last row of the whole snapshot.
    Last,
    /// A row read by an incremental snapshot, between streamed changes.
    Incremental,
}

impl SnapshotMarker {
    /// Debezium's spelling of `source.snapshot`.
    pub fn code(self) -> &'static str {
        match self {
            SnapshotMarker::No => "false",
            SnapshotMarker::First => "first",
            SnapshotMarker::InProgress => "true",
            SnapshotMarker::LastInTable => "last_in_data_collection",
            SnapshotMarker::Last => "last",
            SnapshotMarker::Incremental => "incremental",
        }
    }
}

/// The transaction an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxInfo {
    pub xid: u32,
    /// The commit record's LSN (for the snapshot: the slot's consistent point).
    pub commit_lsn: Lsn,
    /// Commit time, microseconds since the Unix epoch.
    pub commit_time_micros: i64,
    /// 1-based position of the event within its transaction (Debezium `total_order`).
    pub total_order: u64,
    /// 1-based position among the transaction's events of the same table (`data_collection_order`).
    pub table_order: u64,
}

/// One row change (or a truncate) as decoded from the source.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    pub op: Op,
    /// The table shape this event was decoded with.
    pub schema: SchemaRef,
    /// Old row: full with REPLICA IDENTITY FULL, key columns only (others `Null`) with DEFAULT, absent when the
    /// server sent none (an update that did not change the key under DEFAULT).
    pub before: Option<Row>,
    pub after: Option<Row>,
    /// The WAL position of this change record.
    pub lsn: Lsn,
    pub tx: TxInfo,
    pub snapshot: SnapshotMarker,
    /// The log record this event was read from, when it came through one (a Kafka record read by `cdc load`);
    /// `None` for events read from PostgreSQL. A warehouse sink records these offsets as its progress.
    pub origin: Option<LogOffset>,
}

/// A record's place in a partitioned log (Kafka's topic, partition and offset).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogOffset {
    pub topic: std::sync::Arc<str>,
    pub partition: i32,
    pub offset: i64,
}

impl ChangeEvent {
    /// The row that identifies the key: `after` for inserts and updates, `before` for deletes.
    pub fn key_row(&self) -> Option<&Row> {
        match self.op {
            Op::Delete => self.before.as_ref(),
            _ => self.after.as_ref().or(self.before.as_ref()),
        }
    }
}

/// An ordered run of changes plus the checkpoint that becomes safe to acknowledge once they are durable.
#[derive(Debug, Clone)]
pub struct ChangeBatch<C> {
    pub events: Vec<ChangeEvent>,
    /// Acknowledging this after a successful flush loses nothing: every change before it is in `events` or in an
    /// earlier batch. `None` when the batch ends inside a transaction that began in it.
    pub checkpoint: Option<C>,
    /// Every transaction whose commit LSN is below this has all its events in this batch or an earlier one
    /// (a source that sees commits sets it; the Kafka sink then closes its transaction-metadata `END`).
    pub complete_through: Option<Lsn>,
}

impl<C> ChangeBatch<C> {
    /// A batch that closes no transaction.
    pub fn new(events: Vec<ChangeEvent>, checkpoint: Option<C>) -> Self {
        ChangeBatch { events, checkpoint, complete_through: None }
    }
}
