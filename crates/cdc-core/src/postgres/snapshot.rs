//! The consistent initial snapshot: every captured table read with `COPY … TO STDOUT` inside one REPEATABLE
//! READ transaction that imported the slot's exported snapshot, so the rows are exactly the state at the slot's
//! consistent point and streaming continues from there with no gap and no overlap.

use std::collections::VecDeque;
use std::pin::Pin;

use bytes::{Buf, BytesMut};
use futures_util::StreamExt;
use tokio_postgres::{Client, CopyOutStream};

use super::error::PgError;
use crate::change::{ChangeEvent, Op, Row, SnapshotMarker, TxInfo};
use crate::lsn::Lsn;
use crate::progress::{Task, Unit};
use crate::schema::{quote_ident, SchemaRef, TableId};
use crate::value::{parse_text, Value};

/// What the snapshot reader yields.
#[derive(Debug)]
pub enum SnapshotItem {
    Row(ChangeEvent),
    /// Every row of this table has been yielded.
    TableDone(TableId),
}

/// Reads the tables one after another in one snapshot transaction.
pub struct SnapshotReader {
    client: Client,
    tables: VecDeque<SchemaRef>,
    current: Option<TableCopy>,
    consistent_point: Lsn,
    started_micros: i64,
    emitted_any: bool,
    held: Option<ChangeEvent>,
    pending_done: Option<TableId>,
    /// Emit a truncate before each table's rows: this is a redo, and rows of an earlier, unfinished snapshot of
    /// the table may be in the sink, some deleted since (their deletes are older than this snapshot and skipped).
    truncate_first: bool,
}

impl std::fmt::Debug for SnapshotReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotReader")
            .field("consistent_point", &self.consistent_point)
            .finish_non_exhaustive()
    }
}

struct TableCopy {
    schema: SchemaRef,
    stream: Pin<Box<CopyOutStream>>,
    buf: BytesMut,
    finished: bool,
    rows: u64,
    /// Rows not yet added to the rows-copied counter and the progress bar (both move every
    /// [`PROGRESS_EVERY`] rows, so a large table's progress shows while it is copied).
    unreported: u64,
    progress: Task,
}

const PROGRESS_EVERY: u64 = 1024;

impl SnapshotReader {
    /// Opens the snapshot transaction on `client` and imports `snapshot_name` (exported by the slot creation).
    pub async fn begin(
        client: Client,
        snapshot_name: &str,
        consistent_point: Lsn,
        tables: Vec<SchemaRef>,
        truncate_first: bool,
    ) -> Result<SnapshotReader, PgError> {
        client
            .batch_execute(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{}'",
                snapshot_name.replace('\'', "''")
            ))
            .await
            .map_err(PgError::query("importing the slot's snapshot"))?;
        let pipeline = crate::metrics::pipeline();
        metrics::gauge!(crate::metrics::SNAPSHOT_TABLES_PLANNED, "pipeline" => pipeline.clone())
            .set(tables.len() as f64);
        metrics::gauge!(crate::metrics::SNAPSHOT_TABLES_DONE, "pipeline" => pipeline).set(0.0);
        Ok(SnapshotReader {
            client,
            tables: tables.into(),
            current: None,
            consistent_point,
            started_micros: chrono::Utc::now().timestamp_micros(),
            emitted_any: false,
            held: None,
            pending_done: None,
            truncate_first,
        })
    }

    /// The next row or table boundary; `None` when every table is done (the transaction is then closed).
    pub async fn next(&mut self) -> Result<Option<SnapshotItem>, PgError> {
        if let Some(done) = self.pending_done.take() {
            return Ok(Some(SnapshotItem::TableDone(done)));
        }
        loop {
            if self.current.is_none() {
                let Some(schema) = self.tables.pop_front() else {
                    let _ = self.client.batch_execute("COMMIT").await;
                    return Ok(None);
                };
                let truncate = self.truncate_first.then(|| self.truncate_event(schema.clone()));
                self.current = Some(self.open(schema).await?);
                if let Some(truncate) = truncate {
                    return Ok(Some(SnapshotItem::Row(truncate)));
                }
            }
            let Some(copy) = self.current.as_mut() else { continue };
            match copy.next_row().await? {
                Some(row) => {
                    let event = self.row_event(row);
                    if let Some(previous) = self.held.replace(event) {
                        return Ok(Some(SnapshotItem::Row(self.mark(previous, false))));
                    }
                }
                None => {
                    let finished = self.current.take().map(|c| c.schema.id.clone());
                    let Some(table) = finished else { continue };
                    match self.held.take() {
                        Some(last) => {
                            self.pending_done = Some(table);
                            return Ok(Some(SnapshotItem::Row(self.mark(last, true))));
                        }
                        None => return Ok(Some(SnapshotItem::TableDone(table))),
                    }
                }
            }
        }
    }

    async fn open(&mut self, schema: SchemaRef) -> Result<TableCopy, PgError> {
        let columns = schema.columns.iter().map(|c| quote_ident(&c.name)).collect::<Vec<_>>().join(", ");
        let sql = format!("COPY (SELECT {columns} FROM {}) TO STDOUT", schema.id.quoted());
        // The planner's estimate, for progress bars; -1 (never analyzed) is shown as unknown (0).
        let estimate: f64 = self
            .client
            .query_one(
                "SELECT greatest(reltuples, 0)::float8 FROM pg_class WHERE oid = $1",
                &[&schema.relation_oid],
            )
            .await
            .map(|row| row.get(0))
            .unwrap_or(0.0);
        metrics::gauge!(crate::metrics::SNAPSHOT_ROWS_ESTIMATED, "pipeline" => crate::metrics::pipeline(), "table" => schema.id.to_string())
            .set(estimate);
        let stream =
            self.client.copy_out(&sql).await.map_err(PgError::query(format!("snapshot of {}", schema.id)))?;
        tracing::info!(table = %schema.id, "snapshot of table started");
        let progress = Task::start(
            &format!("snapshot {}", schema.id),
            (estimate >= 1.0).then_some(estimate as u64),
            Unit::Rows,
        );
        Ok(TableCopy {
            schema,
            stream: Box::pin(stream),
            buf: BytesMut::new(),
            finished: false,
            rows: 0,
            unreported: 0,
            progress,
        })
    }

    /// "Forget this table's rows": positioned at the consistent point, so the snapshot rows that follow (at the
    /// same position) are not older than it.
    fn truncate_event(&self, schema: SchemaRef) -> ChangeEvent {
        let mut event = self.row_event((schema, Row(Vec::new())));
        event.op = Op::Truncate;
        event.after = None;
        event
    }

    fn row_event(&self, row: (SchemaRef, Row)) -> ChangeEvent {
        let (schema, row) = row;
        ChangeEvent {
            op: Op::Read,
            schema,
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
        event.snapshot = if last_of_table && self.tables.is_empty() {
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

impl TableCopy {
    fn report_rows(&mut self) {
        metrics::counter!(crate::metrics::SNAPSHOT_ROWS_COPIED, "pipeline" => crate::metrics::pipeline(), "table" => self.schema.id.to_string())
            .increment(self.unreported);
        self.progress.advance(self.unreported);
        self.unreported = 0;
    }

    async fn next_row(&mut self) -> Result<Option<(SchemaRef, Row)>, PgError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line = self.buf.split_to(pos + 1);
                let row = parse_copy_line(&self.schema, &line[..pos])?;
                self.rows += 1;
                self.unreported += 1;
                if self.unreported == PROGRESS_EVERY {
                    self.report_rows();
                }
                return Ok(Some((self.schema.clone(), row)));
            }
            if self.finished {
                if !self.buf.is_empty() {
                    return Err(PgError::Protocol(format!("COPY of {} ended mid-row", self.schema.id)));
                }
                tracing::info!(table = %self.schema.id, rows = self.rows, "snapshot of table done");
                self.report_rows();
                std::mem::replace(&mut self.progress, Task::none()).finish();
                metrics::gauge!(crate::metrics::SNAPSHOT_TABLES_DONE, "pipeline" => crate::metrics::pipeline())
                    .increment(1.0);
                return Ok(None);
            }
            match self.stream.next().await {
                Some(chunk) => {
                    let chunk = chunk.map_err(PgError::query(format!("snapshot of {}", self.schema.id)))?;
                    self.buf.extend_from_slice(chunk.chunk());
                }
                None => self.finished = true,
            }
        }
    }
}

/// Parses one line of COPY's text format into typed values.
fn parse_copy_line(schema: &SchemaRef, line: &[u8]) -> Result<Row, PgError> {
    let fields: Vec<&[u8]> = line.split(|b| *b == b'\t').collect();
    if fields.len() != schema.columns.len() {
        return Err(PgError::Protocol(format!(
            "COPY of {} returned {} fields for {} columns",
            schema.id,
            fields.len(),
            schema.columns.len()
        )));
    }
    let mut values = Vec::with_capacity(fields.len());
    for (field, column) in fields.into_iter().zip(&schema.columns) {
        if field == b"\\N" {
            values.push(Value::Null);
            continue;
        }
        let text = unescape_copy_text(field);
        let value = parse_text(&column.pg_type, &text).map_err(|source| PgError::Value {
            table: schema.id.to_string(),
            column: column.name.clone(),
            source,
        })?;
        values.push(value);
    }
    Ok(Row(values))
}

/// Undoes COPY text-format escaping (`\t`, `\n`, `\\`, octal and hex escapes).
pub fn unescape_copy_text(field: &[u8]) -> String {
    if !field.contains(&b'\\') {
        return String::from_utf8_lossy(field).into_owned();
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
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::unescape_copy_text;

    #[test]
    fn copy_escapes_are_undone() {
        assert_eq!(unescape_copy_text(b"a\\tb\\nc\\\\d"), "a\tb\nc\\d");
        assert_eq!(unescape_copy_text(b"\\101\\x42"), "AB");
        assert_eq!(unescape_copy_text("plain ünïcode".as_bytes()), "plain ünïcode");
    }
}
