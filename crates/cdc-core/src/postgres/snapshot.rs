//! The consistent initial snapshot: every captured table read with `COPY … TO STDOUT` in REPEATABLE READ
//! transactions that all imported the slot's exported snapshot, so the rows are exactly the state at the slot's
//! consistent point and streaming continues from there with no gap and no overlap.
//!
//! ```text
//!  parts queue ── (table, block range) ──▶ worker 1 … worker n   (own connection, same imported snapshot)
//!                                            │ COPY → typed rows, 1024 per message
//!                                            ▼
//!                         bounded channel ──▶ SnapshotReader::next ──▶ rows as op=r, TableDone per table
//! ```
//!
//! Up to `snapshot_max_threads` workers read in parallel: different tables, and on PostgreSQL ≥ 14 (TID range
//! scans) the block ranges of a large table (`WHERE ctid >= '(a,0)' AND ctid < '(b,0)'`, the last range open so
//! blocks added after planning are still read). Each worker parses COPY's text format itself, so decoding runs
//! beside the pipeline's encoding. A table is done when every one of its parts is through the channel; progress
//! is recorded per table, and a restart redoes only tables not recorded done (resumable per chunk is the
//! incremental snapshot's job: a fresh blocking snapshot is at a new point, so earlier chunks would not fit it).
//! Text COPY, not binary: on this machine text COPY reads as fast as binary (bench: 0.69–0.80M vs 0.58–0.71M
//! rows/s), and the text parsers are the ones the stream uses already.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bytes::{Buf, BytesMut};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_postgres::Client;

use super::error::PgError;
use super::spare_rows::{self, SpareRows};
use crate::change::{ChangeEvent, Op, Row, SnapshotMarker, TxInfo};
use crate::config::PostgresConfig;
use crate::lsn::Lsn;
use crate::progress::{Task, Unit};
use crate::schema::{quote_ident, SchemaRef, TableId};
use crate::value::{parse_text_into, Value};

/// What the snapshot reader yields.
#[derive(Debug)]
pub enum SnapshotItem {
    Row(ChangeEvent),
    /// Every row of this table has been yielded.
    TableDone(TableId),
}

/// How the snapshot is read.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotOptions {
    /// Connections reading at once.
    pub max_threads: usize,
    /// Split large tables into block ranges (needs TID range scans, PostgreSQL ≥ 14)…
    pub split_tables: bool,
    /// …of this many blocks; a table of fewer than two such ranges is read whole.
    pub partition_blocks: i64,
    /// Emit a truncate before each table's rows: this is a redo, and rows of an earlier, unfinished snapshot of
    /// the table may be in the sink, some deleted since (their deletes are older than this snapshot and skipped).
    pub truncate_first: bool,
}

/// Rows per message from a worker.
const ROWS_PER_MESSAGE: usize = 1024;
/// Messages buffered per worker: bounds the snapshot's memory whatever the table size.
const MESSAGES_PER_WORKER: usize = 4;

/// Rows handed back by the pipeline ([`SnapshotReader::recycle`]) for the workers to refill, shared by them.
#[derive(Debug, Default)]
struct RowPool {
    rows: Mutex<SpareRows<POOL_ROWS>>,
}

/// Rows the pool holds at most: what the workers have in flight.
const POOL_ROWS: usize = 4 * ROWS_PER_MESSAGE * MESSAGES_PER_WORKER;

impl RowPool {
    fn give(&self, rows: impl Iterator<Item = Row>) {
        if let Ok(mut pool) = self.rows.lock() {
            pool.keep(rows);
        }
    }

    /// Up to `n` rows, one lock for all of them.
    fn take(&self, n: usize, into: &mut Vec<Row>) {
        if let Ok(mut pool) = self.rows.lock() {
            pool.take_into(n, into);
        }
    }
}

/// One unit of work: a table, or a block range of one.
#[derive(Debug, Clone, Copy)]
struct Part {
    table: usize,
    /// `[from, to)` in blocks; `None` = the whole table, `to = None` = to its end.
    blocks: Option<(i64, Option<i64>)>,
}

enum WorkerMessage {
    Rows { table: usize, rows: Vec<Row> },
    PartDone { table: usize },
}

type Incoming = Result<WorkerMessage, PgError>;

/// Reads the planned tables with parallel workers in one exported snapshot. See the module doc.
pub struct SnapshotReader {
    tables: Vec<TableState>,
    incoming: mpsc::Receiver<Incoming>,
    /// Aborted when the reader is dropped (the pipeline stopped): their transactions end with them.
    workers: JoinSet<()>,
    pool: Arc<RowPool>,
    current: Option<(usize, std::vec::IntoIter<Row>)>,
    ready: VecDeque<SnapshotItem>,
    tables_left: usize,
    consistent_point: Lsn,
    started_micros: i64,
    emitted_any: bool,
}

impl std::fmt::Debug for SnapshotReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotReader")
            .field("consistent_point", &self.consistent_point)
            .field("tables_left", &self.tables_left)
            .finish_non_exhaustive()
    }
}

struct TableState {
    schema: SchemaRef,
    parts_left: usize,
    /// The latest row, held back until the next one (or the table's end) tells whether it is the last.
    held: Option<ChangeEvent>,
    rows: u64,
    /// Rows not yet added to the rows-copied counter and the progress bar.
    unreported: u64,
    estimate: f64,
    progress: Option<Task>,
}

const PROGRESS_EVERY: u64 = 1024;

impl SnapshotReader {
    /// Opens the workers' connections, imports `snapshot_name` (exported by the slot creation, which must stay
    /// open until this returns) in each, plans the parts and starts reading.
    pub async fn begin(
        pg: &PostgresConfig,
        snapshot_name: &str,
        consistent_point: Lsn,
        tables: Vec<SchemaRef>,
        options: SnapshotOptions,
    ) -> Result<SnapshotReader, PgError> {
        // One connection plans; the others are opened only as far as there are parts for them.
        let mut clients = vec![import_snapshot(pg, snapshot_name).await?];
        let mut states = Vec::with_capacity(tables.len());
        let mut parts = VecDeque::new();
        for (index, schema) in tables.into_iter().enumerate() {
            let (blocks, estimate) = table_size(&clients[0], &schema).await?;
            let partition = options.split_tables.then_some(options.partition_blocks.max(1));
            let table_parts = split(index, blocks, partition);
            metrics::gauge!(crate::metrics::SNAPSHOT_ROWS_ESTIMATED, "pipeline" => crate::metrics::pipeline(), "table" => schema.id.to_string())
                .set(estimate);
            states.push(TableState {
                schema,
                parts_left: table_parts.len(),
                held: None,
                rows: 0,
                unreported: 0,
                estimate,
                progress: None,
            });
            parts.extend(table_parts);
        }
        let pipeline = crate::metrics::pipeline();
        metrics::gauge!(crate::metrics::SNAPSHOT_TABLES_PLANNED, "pipeline" => pipeline.clone())
            .set(states.len() as f64);
        metrics::gauge!(crate::metrics::SNAPSHOT_TABLES_DONE, "pipeline" => pipeline).set(0.0);
        while clients.len() < options.max_threads.min(parts.len()) {
            clients.push(import_snapshot(pg, snapshot_name).await?);
        }
        tracing::info!(tables = states.len(), parts = parts.len(), workers = clients.len(), at = %consistent_point,
            "snapshot planned");

        let (sender, incoming) = mpsc::channel(MESSAGES_PER_WORKER * clients.len());
        let queue = Arc::new(Mutex::new(parts));
        let schemas: Arc<[SchemaRef]> = states.iter().map(|t| t.schema.clone()).collect();
        let pool = Arc::new(RowPool::default());
        let mut workers = JoinSet::new();
        for client in clients {
            workers.spawn(worker(client, queue.clone(), schemas.clone(), pool.clone(), sender.clone()));
        }
        let started_micros = chrono::Utc::now().timestamp_micros();
        let mut reader = SnapshotReader {
            tables_left: states.len(),
            tables: states,
            incoming,
            workers,
            pool,
            current: None,
            ready: VecDeque::new(),
            consistent_point,
            started_micros,
            emitted_any: false,
        };
        if options.truncate_first {
            for index in 0..reader.tables.len() {
                let truncate = reader.truncate_event(index);
                reader.ready.push_back(SnapshotItem::Row(truncate));
            }
        }
        Ok(reader)
    }

    /// The next row or table boundary; `None` when every table is done.
    pub async fn next(&mut self) -> Result<Option<SnapshotItem>, PgError> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Ok(Some(item));
            }
            if let Some((table, rows)) = self.current.as_mut() {
                let table = *table;
                match rows.next() {
                    Some(row) => {
                        let event = self.row_event(table, row);
                        if let Some(previous) = self.tables[table].held.replace(event) {
                            return Ok(Some(SnapshotItem::Row(self.mark(previous, false))));
                        }
                        continue;
                    }
                    None => self.current = None,
                }
            }
            if self.tables_left == 0 {
                return Ok(None);
            }
            match self.incoming.recv().await {
                Some(Ok(WorkerMessage::Rows { table, rows })) => {
                    self.tables[table].count(rows.len() as u64);
                    self.current = Some((table, rows.into_iter()));
                }
                Some(Ok(WorkerMessage::PartDone { table })) => {
                    let state = &mut self.tables[table];
                    state.parts_left -= 1;
                    if state.parts_left > 0 {
                        continue;
                    }
                    state.finish();
                    self.tables_left -= 1;
                    let id = state.schema.id.clone();
                    match state.held.take() {
                        Some(last) => {
                            self.ready.push_back(SnapshotItem::TableDone(id));
                            return Ok(Some(SnapshotItem::Row(self.mark(last, true))));
                        }
                        None => return Ok(Some(SnapshotItem::TableDone(id))),
                    }
                }
                Some(Err(error)) => return Err(error),
                None => return Err(PgError::Protocol("snapshot workers stopped before the end".into())),
            }
        }
    }

    /// Takes back the rows of events the sink is done with, for the workers to refill.
    pub fn recycle(&self, events: Vec<ChangeEvent>) {
        self.pool.give(events.into_iter().filter_map(|event| event.after));
    }

    /// "Forget this table's rows": positioned at the consistent point, so the snapshot rows that follow (at the
    /// same position) are not older than it.
    fn truncate_event(&self, table: usize) -> ChangeEvent {
        let mut event = self.row_event(table, Row(Vec::new()));
        event.op = Op::Truncate;
        event.after = None;
        event
    }

    fn row_event(&self, table: usize, row: Row) -> ChangeEvent {
        ChangeEvent {
            op: Op::Read,
            schema: self.tables[table].schema.clone(),
            before: None,
            after: Some(row),
            lsn: self.consistent_point,
            tx: TxInfo {
                xid: 0,
                commit_lsn: self.consistent_point,
                commit_time_micros: self.started_micros,
                total_order: 0,
                table_order: 0,
            },
            snapshot: SnapshotMarker::InProgress,
            origin: None,
        }
    }

    fn mark(&mut self, mut event: ChangeEvent, last_of_table: bool) -> ChangeEvent {
        event.snapshot = if last_of_table && self.tables_left == 0 {
            SnapshotMarker::Last
        } else if last_of_table {
            SnapshotMarker::LastInTable
        } else if !self.emitted_any {
            SnapshotMarker::First
        } else {
            SnapshotMarker::InProgress
        };
        self.emitted_any = true;
        event
    }
}

impl Drop for SnapshotReader {
    fn drop(&mut self) {
        self.workers.abort_all();
    }
}

impl TableState {
    fn count(&mut self, rows: u64) {
        if self.progress.is_none() {
            tracing::info!(table = %self.schema.id, "snapshot of table started");
            let total = (self.estimate >= 1.0).then_some(self.estimate as u64);
            self.progress = Some(Task::start(&format!("snapshot {}", self.schema.id), total, Unit::Rows));
        }
        self.rows += rows;
        self.unreported += rows;
        if self.unreported >= PROGRESS_EVERY {
            self.report_rows();
        }
    }

    fn report_rows(&mut self) {
        metrics::counter!(crate::metrics::SNAPSHOT_ROWS_COPIED, "pipeline" => crate::metrics::pipeline(), "table" => self.schema.id.to_string())
            .increment(self.unreported);
        if let Some(progress) = self.progress.as_mut() {
            progress.advance(self.unreported);
        }
        self.unreported = 0;
    }

    fn finish(&mut self) {
        tracing::info!(table = %self.schema.id, rows = self.rows, "snapshot of table done");
        self.report_rows();
        if let Some(progress) = self.progress.take() {
            progress.finish();
        }
        metrics::gauge!(crate::metrics::SNAPSHOT_TABLES_DONE, "pipeline" => crate::metrics::pipeline())
            .increment(1.0);
    }
}

/// A connection inside a REPEATABLE READ transaction that imported the slot's exported snapshot.
async fn import_snapshot(pg: &PostgresConfig, snapshot_name: &str) -> Result<Client, PgError> {
    let client = super::connect(pg).await?;
    client
        .batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{}'",
            snapshot_name.replace('\'', "''")
        ))
        .await
        .map_err(PgError::query("importing the slot's snapshot"))?;
    Ok(client)
}

/// The table's size in blocks (for splitting) and the planner's row estimate (for progress; -1, never
/// analyzed, shows as unknown).
async fn table_size(client: &Client, schema: &SchemaRef) -> Result<(i64, f64), PgError> {
    let row = client
        .query_one(
            "SELECT pg_relation_size(c.oid) / current_setting('block_size')::bigint,
                    greatest(c.reltuples, 0)::float8
             FROM pg_class c WHERE c.oid = $1",
            &[&schema.relation_oid],
        )
        .await
        .map_err(PgError::query(format!("sizing {} for its snapshot", schema.id)))?;
    Ok((row.get(0), row.get(1)))
}

/// A table's parts: block ranges of `partition` blocks when it is large enough and splitting is possible.
fn split(table: usize, blocks: i64, partition: Option<i64>) -> Vec<Part> {
    let Some(size) = partition.filter(|size| blocks >= 2 * size) else {
        return vec![Part { table, blocks: None }];
    };
    let mut parts = Vec::new();
    let mut from = 0;
    while from + size < blocks {
        parts.push(Part { table, blocks: Some((from, Some(from + size))) });
        from += size;
    }
    parts.push(Part { table, blocks: Some((from, None)) });
    parts
}

/// One worker: takes parts off the queue until it is empty, sends their rows and a done marker per part.
async fn worker(
    client: Client,
    queue: Arc<Mutex<VecDeque<Part>>>,
    schemas: Arc<[SchemaRef]>,
    pool: Arc<RowPool>,
    sender: mpsc::Sender<Incoming>,
) {
    loop {
        let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
        let Some(part) = next else { break };
        let schema = &schemas[part.table];
        let result = copy_part(&client, schema, part, &pool, &sender).await;
        let message = result.map(|()| WorkerMessage::PartDone { table: part.table });
        let failed = message.is_err();
        if sender.send(message).await.is_err() || failed {
            return;
        }
    }
    let _ = client.batch_execute("COMMIT").await;
}

async fn copy_part(
    client: &Client,
    schema: &SchemaRef,
    part: Part,
    pool: &RowPool,
    sender: &mpsc::Sender<Incoming>,
) -> Result<(), PgError> {
    let columns = schema.columns.iter().map(|c| quote_ident(&c.name)).collect::<Vec<_>>().join(", ");
    let range = match part.blocks {
        None => String::new(),
        Some((from, Some(to))) => format!(" WHERE ctid >= '({from},0)'::tid AND ctid < '({to},0)'::tid"),
        Some((from, None)) => format!(" WHERE ctid >= '({from},0)'::tid"),
    };
    let sql = format!("COPY (SELECT {columns} FROM {}{range}) TO STDOUT", schema.id.quoted());
    let during = || format!("snapshot of {}", schema.id);
    let stream = client.copy_out(&sql).await.map_err(PgError::query(during()))?;
    let mut stream = std::pin::pin!(stream);
    // The tail of a line split across messages. The server sends one message per row, so lines are parsed
    // straight from the message and only a split line's bytes are ever copied.
    let mut buf = BytesMut::new();
    let mut rows = Vec::with_capacity(ROWS_PER_MESSAGE);
    let mut spares = Vec::with_capacity(ROWS_PER_MESSAGE);
    pool.take(ROWS_PER_MESSAGE, &mut spares);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| PgError::query(during())(e))?;
        let mut data = chunk.chunk();
        if !buf.is_empty() {
            let Some(end) = memchr::memchr(b'\n', data) else {
                buf.extend_from_slice(data);
                continue;
            };
            buf.extend_from_slice(&data[..end]);
            rows.push(parse_copy_line(schema, &buf, spares.pop().unwrap_or_default())?);
            buf.clear();
            data = &data[end + 1..];
        }
        while let Some(end) = memchr::memchr(b'\n', data) {
            rows.push(parse_copy_line(schema, &data[..end], spares.pop().unwrap_or_default())?);
            data = &data[end + 1..];
            if rows.len() == ROWS_PER_MESSAGE {
                let full = std::mem::replace(&mut rows, Vec::with_capacity(ROWS_PER_MESSAGE));
                send_rows(sender, part.table, full).await?;
                pool.take(ROWS_PER_MESSAGE - spares.len(), &mut spares);
            }
        }
        buf.extend_from_slice(data);
    }
    if !buf.is_empty() {
        return Err(PgError::Protocol(format!("COPY of {} ended mid-row", schema.id)));
    }
    if !rows.is_empty() {
        send_rows(sender, part.table, rows).await?;
    }
    Ok(())
}

async fn send_rows(sender: &mpsc::Sender<Incoming>, table: usize, rows: Vec<Row>) -> Result<(), PgError> {
    sender
        .send(Ok(WorkerMessage::Rows { table, rows }))
        .await
        .map_err(|_| PgError::Protocol("snapshot reader went away".into()))
}

/// Parses one line of COPY's text format into typed values, refilling `spare`'s cells (a recycled row, or an
/// empty one).
fn parse_copy_line(schema: &SchemaRef, line: &[u8], spare: Row) -> Result<Row, PgError> {
    let columns = &schema.columns;
    let fields = memchr::memchr_iter(b'\t', line).count() + 1;
    if fields != columns.len() {
        return Err(PgError::Protocol(format!(
            "COPY of {} returned {fields} fields for {} columns",
            schema.id,
            columns.len()
        )));
    }
    let mut values = spare_rows::cells(spare, columns.len());
    // Most lines are valid UTF-8 without an escape: checked once for the whole line, their fields are borrowed
    // as they are (a tab is ASCII, so it never splits a character).
    let plain = std::str::from_utf8(line).ok().filter(|_| memchr::memchr(b'\\', line).is_none());
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\t', line).chain(std::iter::once(line.len()));
    for ((end, column), cell) in ends.zip(columns).zip(&mut values) {
        let range = start..end;
        start = end + 1;
        let field = line.get(range.clone()).unwrap_or_default();
        if field == b"\\N" {
            *cell = Value::Null;
            continue;
        }
        let text = match plain.and_then(|line| line.get(range)) {
            Some(text) => std::borrow::Cow::Borrowed(text),
            None => unescape_copy_text(field),
        };
        parse_text_into(&column.pg_type, &text, cell).map_err(|source| PgError::Value {
            table: schema.id.to_string(),
            column: column.name.clone(),
            source,
        })?;
    }
    Ok(Row(values))
}

/// Undoes COPY text-format escaping (`\t`, `\n`, `\\`, octal and hex escapes); borrows when there is none.
pub fn unescape_copy_text(field: &[u8]) -> std::borrow::Cow<'_, str> {
    if !field.contains(&b'\\') {
        // from_utf8 first: its validation is several times faster than from_utf8_lossy's chunk iterator.
        return match std::str::from_utf8(field) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(field),
        };
    }
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while let Some(&b) = field.get(i) {
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some(&next) = field.get(i) else {
            out.push(b'\\');
            break;
        };
        i += 1;
        match next {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut value = u32::from(next - b'0');
                for _ in 0..2 {
                    match field.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(value as u8);
            }
            b'x' => {
                let mut value = 0u32;
                let mut digits = 0;
                while digits < 2 {
                    match field.get(i).and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            value = value * 16 + d;
                            i += 1;
                            digits += 1;
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    out.push(b'x');
                } else {
                    out.push(value as u8);
                }
            }
            other => out.push(other),
        }
    }
    std::borrow::Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{parse_copy_line, split, unescape_copy_text, RowPool, POOL_ROWS};
    use crate::change::Row;
    use crate::pgtype::{PgType, TypeKind};
    use crate::schema::{Column, ReplicaIdentity, TableId, TableSchema};
    use crate::value::{Numeric, Value};

    fn table(columns: &[(&str, TypeKind)]) -> Arc<TableSchema> {
        let columns = columns
            .iter()
            .map(|(name, kind)| Column {
                name: (*name).into(),
                pg_type: PgType::new(0, "t", kind.clone()),
                type_modifier: -1,
                nullable: true,
                key: false,
                fill_value: None,
            })
            .collect();
        Arc::new(TableSchema {
            relation_oid: 1,
            id: TableId::new("public", "t"),
            columns,
            replica_identity: ReplicaIdentity::Default,
            version: 1,
        })
    }

    #[test]
    fn recycled_rows_are_refilled_whatever_they_held() {
        let schema =
            table(&[("id", TypeKind::Int8), ("name", TypeKind::Text), ("amount", TypeKind::Numeric)]);
        let fresh = parse_copy_line(&schema, b"1\tann\t12.50", Row::default()).expect("a valid line");
        let want = Row(vec![
            Value::Int64(1),
            Value::Text("ann".into()),
            Value::Numeric(Numeric::Finite("12.50".into())),
        ]);
        assert_eq!(fresh, want);
        // A row of the same table, a longer row of another one, a shorter one, and one of other kinds.
        let spares = [
            Row(vec![Value::Int64(9), Value::Text("a much longer earlier name".into()), Value::Null]),
            Row(vec![Value::Text("x".into()); 6]),
            Row(vec![Value::Null]),
            Row(vec![Value::Bool(true), Value::Json("{}".into()), Value::Numeric(Numeric::NaN)]),
        ];
        for spare in spares {
            let refilled = parse_copy_line(&schema, b"1\tann\t12.50", spare.clone()).expect("a valid line");
            assert_eq!(refilled, want, "refilling {spare:?}");
        }
        let nulls = parse_copy_line(&schema, b"\\N\t\\N\t\\N", fresh).expect("a valid line");
        assert_eq!(nulls, Row(vec![Value::Null; 3]));
        // The field count is checked against the line, not the row that was refilled.
        let long_spare = Row(vec![Value::Null; 3]);
        for line in [&b"1\tann"[..], b"1\tann\t1\t2", b""] {
            let error = parse_copy_line(&schema, line, long_spare.clone()).expect_err("a wrong field count");
            assert!(error.to_string().contains("fields for 3 columns"), "{error}");
        }
    }

    #[test]
    fn the_row_pool_is_bounded_and_skips_rows_holding_large_values() {
        let pool = RowPool::default();
        pool.give((0..POOL_ROWS + 10).map(|_| Row(vec![Value::Text("small".into())])));
        pool.give(std::iter::once(Row(vec![Value::Text("x".repeat(100_000))])));
        let mut taken = Vec::new();
        pool.take(usize::MAX, &mut taken);
        assert_eq!(taken.len(), POOL_ROWS);
        assert!(taken.iter().all(|row| row.0 == [Value::Text("small".into())]));
    }

    #[test]
    fn large_tables_split_into_block_ranges_with_an_open_last_one() {
        assert_eq!(split(3, 10, Some(8)).len(), 1, "tables under two ranges are read whole");
        assert!(split(3, 1000, None)[0].blocks.is_none(), "no splitting without TID range scans");
        let ranges: Vec<_> = split(0, 16 + 5, Some(8)).iter().map(|p| p.blocks).collect();
        assert_eq!(ranges, [Some((0, Some(8))), Some((8, Some(16))), Some((16, None))]);
        let ranges: Vec<_> = split(0, 16, Some(8)).iter().map(|p| p.blocks).collect();
        assert_eq!(ranges, [Some((0, Some(8))), Some((8, None))]);
    }

    #[test]
    fn copy_escapes_are_undone() {
        assert_eq!(unescape_copy_text(b"a\\tb\\nc\\\\d"), "a\tb\nc\\d");
        assert_eq!(unescape_copy_text(b"\\101\\x42"), "AB");
        assert_eq!(unescape_copy_text("plain ünïcode".as_bytes()), "plain ünïcode");
    }
}
