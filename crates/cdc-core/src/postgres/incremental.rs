//! Incremental snapshots: tables read in primary-key chunks while the stream goes on (the DBLog method, as
//! Debezium and Sequin use it), for tables that join a running pipeline. Resumable after a crash from the last
//! chunk the sink made durable.
//!
//! One chunk, on the query connection, between two transactions of the stream:
//! 1. **Low watermark**: a REPEATABLE READ transaction takes its snapshot (`pg_current_snapshot()`), then reads
//!    the next `chunk_size` rows after the last key, in key order. The snapshot says which transactions the
//!    chunk did not see: those in progress at that instant and those not yet begun.
//! 2. **High watermark**: once the chunk is read, `pg_logical_emit_message(true, …)` writes a record into the
//!    WAL. Every transaction the chunk saw committed before it. It is written in a transaction of its own that
//!    commits with `synchronous_commit = on`: the walsender decodes only flushed WAL, and a lone
//!    non-transactional record would wait for the WAL writer (200 ms by default) on an idle server. pgoutput
//!    sends nothing for it (the `messages` option is off), but the stream's position moves past it.
//! 3. The stream goes on. A change to a chunk key by a transaction the chunk did not see removes that key from
//!    the chunk: the stream carries a newer state of that row than the chunk.
//! 4. When the stream passes the high watermark (a commit ending after it, or a keepalive beyond it between
//!    transactions), every transaction the chunk saw has been emitted, so the rows left are exactly the rows'
//!    state at this point of the stream. They are emitted there as reads (`source.snapshot = "incremental"`),
//!    positioned just before the next transaction, so a warehouse's position guard orders them correctly.
//!
//! Why a snapshot rather than DBLog's low-watermark record: a transaction can write its commit record before a
//! low-watermark record yet become visible only after the chunk's SELECT began; a positional window would keep
//! the chunk's stale copy of its rows. The snapshot's in-progress list names exactly the transactions the chunk
//! missed, wherever their commits land. One case is left: such a transaction already emitted by the stream
//! before the chunk was read (its commit decoded before it became visible). The chunk cannot be corrected then,
//! so it is dropped and read again ([`RECENT_COMMITS`] remembers the transactions just emitted).
//!
//! Progress: `public.cdc_incremental_snapshot` holds, per slot and table, the last key of the last chunk the
//! sink made durable; a finished table moves to the snapshot-progress table.

use std::collections::{HashMap, HashSet, VecDeque};

use tokio_postgres::{Client, SimpleQueryMessage};

use super::error::PgError;
use super::setup::PROGRESS_TABLE;
use crate::change::{ChangeEvent, Op, Row, SnapshotMarker, TxInfo};
use crate::lsn::Lsn;
use crate::schema::{quote_ident, SchemaRef, TableId};
use crate::value::{parse_text, Value};

/// Where chunk progress lives, beside the snapshot-progress table.
pub const CHUNK_PROGRESS_TABLE: &str = "cdc_incremental_snapshot";

/// How many just-emitted transaction ids are remembered to catch the race described in the module doc.
pub const RECENT_COMMITS: usize = 1024;

/// The high watermark's prefix in `pg_logical_emit_message` (visible in `pg_waldump`).
const WATERMARK_PREFIX: &str = "cdc.incremental_snapshot";

/// A table still to be read, and where its next chunk starts.
#[derive(Debug, Clone)]
struct Pending {
    table: TableId,
    relation_oid: u32,
    /// The key columns' SQL types, for the schema version they were read for (looked up once, not per chunk).
    key_types: Option<(u32, Vec<String>)>,
    /// The key of the last row of the last durable chunk, as text; `None` before the first chunk.
    after: Option<Vec<String>>,
}

/// Transactions a chunk's snapshot did not see (`pg_current_snapshot()`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Unseen {
    xmax: u64,
    in_progress: HashSet<u64>,
}

impl Unseen {
    /// Parses `xmin:xmax:xip,…`.
    fn parse(text: &str) -> Option<Unseen> {
        let mut parts = text.split(':');
        let _xmin: u64 = parts.next()?.parse().ok()?;
        let xmax: u64 = parts.next()?.parse().ok()?;
        let in_progress = match parts.next()? {
            "" => HashSet::new(),
            list => list.split(',').map(|x| x.parse().ok()).collect::<Option<HashSet<u64>>>()?,
        };
        Some(Unseen { xmax, in_progress })
    }

    /// Whether the snapshot did not see the transaction with this 32-bit id (as pgoutput's Begin carries it).
    fn contains(&self, xid: u32) -> bool {
        let full = widen(xid, self.xmax);
        full >= self.xmax || self.in_progress.contains(&full)
    }
}

/// The 64-bit id of a 32-bit `xid` near `reference` (PostgreSQL's epoch arithmetic).
fn widen(xid: u32, reference: u64) -> u64 {
    let epoch = reference >> 32;
    let candidate = (epoch << 32) | u64::from(xid);
    if candidate > reference.saturating_add(1 << 31) && epoch > 0 {
        candidate - (1 << 32)
    } else {
        candidate
    }
}

/// A chunk read and waiting for the stream to pass its high watermark.
#[derive(Debug)]
struct Window {
    schema: SchemaRef,
    rows: Vec<Option<Row>>,
    index: HashMap<String, usize>,
    unseen: Unseen,
    high_watermark: Lsn,
    /// The key of the chunk's last row; `None` when the chunk was the table's last.
    last_key: Option<Vec<String>>,
}

/// What a closed window hands to the stream.
#[derive(Debug)]
pub struct ChunkRows {
    pub table: TableId,
    pub events: Vec<ChangeEvent>,
    /// Where the next chunk starts; `None` when the table is done.
    pub last_key: Option<Vec<String>>,
}

/// The state of the incremental snapshots of one source. See the module doc.
#[derive(Debug)]
pub struct IncrementalSnapshot {
    slot: String,
    chunk_size: usize,
    pending: VecDeque<Pending>,
    window: Option<Window>,
    recent_commits: VecDeque<u32>,
}

impl IncrementalSnapshot {
    /// Plans the tables, resuming each from its recorded chunk progress.
    pub async fn plan(
        client: &Client,
        slot: &str,
        tables: &[SchemaRef],
        chunk_size: usize,
    ) -> Result<IncrementalSnapshot, PgError> {
        ensure_chunk_progress_table(client).await?;
        let mut pending = VecDeque::with_capacity(tables.len());
        for schema in tables {
            if schema.key_columns().next().is_none() {
                return Err(PgError::Prerequisite {
                    problem: format!("table {} has no primary key to read it in chunks", schema.id),
                    hint: "add a primary key, or set [source] snapshot_new_tables = \"blocking\"".into(),
                });
            }
            let row = client
                .query_opt(
                    &format!(
                        "SELECT last_key FROM public.{CHUNK_PROGRESS_TABLE}
                         WHERE slot_name = $1 AND table_schema = $2 AND table_name = $3"
                    ),
                    &[&slot, &schema.id.schema, &schema.id.name],
                )
                .await
                .map_err(PgError::query("reading incremental snapshot progress"))?;
            let after: Option<Vec<String>> = row.and_then(|r| r.get(0));
            match &after {
                Some(key) => tracing::info!(table = %schema.id, after = ?key, "incremental snapshot resumes"),
                None => tracing::info!(table = %schema.id, "incremental snapshot planned"),
            }
            pending.push_back(Pending {
                table: schema.id.clone(),
                relation_oid: schema.relation_oid,
                key_types: None,
                after,
            });
        }
        Ok(IncrementalSnapshot {
            slot: slot.to_owned(),
            chunk_size,
            pending,
            window: None,
            recent_commits: VecDeque::with_capacity(RECENT_COMMITS),
        })
    }

    /// The table (and its relation oid) whose next chunk should be read now: none while a chunk waits for its
    /// high watermark.
    pub fn next_table(&self) -> Option<(&TableId, u32)> {
        match self.window {
            Some(_) => None,
            None => self.pending.front().map(|p| (&p.table, p.relation_oid)),
        }
    }

    /// The relation oid of the table whose chunk waits.
    pub fn waiting_relation(&self) -> Option<u32> {
        self.window.as_ref().map(|w| w.schema.relation_oid)
    }

    /// Whether a chunk waits for the stream to pass its high watermark.
    pub fn waiting(&self) -> bool {
        self.window.is_some()
    }

    pub fn is_done(&self) -> bool {
        self.window.is_none() && self.pending.is_empty()
    }

    /// Remembers a transaction the stream emitted (see the module doc).
    pub fn committed(&mut self, xid: u32) {
        if self.recent_commits.len() == RECENT_COMMITS {
            self.recent_commits.pop_front();
        }
        self.recent_commits.push_back(xid);
    }

    /// Reads the next chunk of the front table with `schema` (the stream's current shape of it). Returns the
    /// table's end when the chunk is empty: nothing waits then, and the table is done once that is durable.
    pub async fn read_chunk(
        &mut self,
        client: &Client,
        schema: SchemaRef,
    ) -> Result<Option<ChunkRows>, PgError> {
        let Some(pending) = self.pending.front().cloned() else { return Ok(None) };
        let key: Vec<(usize, &crate::schema::Column)> = schema.key_columns().collect();
        let types = match &pending.key_types {
            Some((version, types)) if *version == schema.version => types.clone(),
            _ => {
                let types = key_types(client, &schema).await?;
                if let Some(front) = self.pending.front_mut() {
                    front.key_types = Some((schema.version, types.clone()));
                }
                types
            }
        };
        let columns = schema.columns.iter().map(|c| quote_ident(&c.name)).collect::<Vec<_>>().join(", ");
        let key_list = key.iter().map(|(_, c)| quote_ident(&c.name)).collect::<Vec<_>>().join(", ");
        let filter = match &pending.after {
            Some(after) if after.len() == key.len() => {
                let literals = after
                    .iter()
                    .zip(&types)
                    .map(|(text, ty)| format!("CAST({} AS {ty})", quote_literal(text)))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("WHERE ({key_list}) > ({literals})")
            }
            Some(after) => {
                return Err(PgError::Prerequisite {
                    problem: format!(
                        "the primary key of {} changed during its incremental snapshot ({} columns recorded, {} now)",
                        schema.id,
                        after.len(),
                        key.len()
                    ),
                    hint: format!(
                        "restart its snapshot: DELETE FROM public.{CHUNK_PROGRESS_TABLE} WHERE slot_name = '{}' \
                         AND table_schema = '{}' AND table_name = '{}';",
                        self.slot, schema.id.schema, schema.id.name
                    ),
                })
            }
            None => String::new(),
        };
        let sql = format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
             SELECT pg_current_snapshot()::text;
             SELECT {columns} FROM {} {filter} ORDER BY {key_list} LIMIT {};
             COMMIT;
             BEGIN;
             SET LOCAL synchronous_commit = on;
             SELECT pg_logical_emit_message(true, '{WATERMARK_PREFIX}', {})::text;
             COMMIT;",
            schema.id.quoted(),
            self.chunk_size,
            quote_literal(&self.slot),
        );
        let results = client.simple_query(&sql).await.map_err(|e| {
            if e.as_db_error().is_some_and(|d| d.code().code() == "42501") {
                PgError::Prerequisite {
                    problem: format!(
                        "cannot read a chunk of {} for its incremental snapshot: {e}",
                        schema.id
                    ),
                    hint: "GRANT SELECT on the table and EXECUTE ON FUNCTION pg_logical_emit_message to the \
                           capture role"
                        .into(),
                }
            } else {
                PgError::query(format!("incremental snapshot chunk of {}", schema.id))(e)
            }
        })?;
        let statements = split_results(results);
        let (Some(snapshot), Some(rows), Some(watermark)) =
            (statements.get(1), statements.get(2), statements.get(6))
        else {
            return Err(PgError::Protocol(
                "incremental snapshot chunk query returned too few results".into(),
            ));
        };
        let unseen = snapshot
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|t| Unseen::parse(&t))
            .ok_or_else(|| PgError::Protocol("pg_current_snapshot() returned no readable snapshot".into()))?;
        let high_watermark: Lsn = watermark
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| PgError::Protocol("pg_logical_emit_message returned no LSN".into()))?;
        if self.recent_commits.iter().any(|xid| unseen.in_progress.contains(&widen(*xid, unseen.xmax))) {
            tracing::info!(table = %schema.id, "a transaction the chunk missed was already emitted; reading it again");
            return Ok(None);
        }
        tracing::debug!(table = %schema.id, rows = rows.len(), %high_watermark, in_progress = unseen.in_progress.len(),
            "incremental snapshot chunk read");
        let mut window = Window {
            schema: schema.clone(),
            rows: Vec::with_capacity(rows.len()),
            index: HashMap::with_capacity(rows.len()),
            unseen,
            high_watermark,
            last_key: None,
        };
        for cells in rows {
            let row = parse_row(&schema, cells)?;
            if let Some(k) = key_string(&schema, &row) {
                window.index.insert(k, window.rows.len());
            }
            window.rows.push(Some(row));
        }
        if rows.len() == self.chunk_size {
            let last = &rows[rows.len() - 1];
            window.last_key = Some(key.iter().map(|(i, _)| last[*i].clone().unwrap_or_default()).collect());
        }
        if rows.is_empty() {
            self.pending.pop_front();
            tracing::info!(table = %schema.id, "incremental snapshot of table done");
            return Ok(Some(ChunkRows { table: schema.id.clone(), events: Vec::new(), last_key: None }));
        }
        metrics::counter!(crate::metrics::SNAPSHOT_ROWS_COPIED, "pipeline" => crate::metrics::pipeline(), "table" => schema.id.to_string())
            .increment(rows.len() as u64);
        self.window = Some(window);
        Ok(None)
    }

    /// Sees a streamed change before the high watermark: a change by a transaction the chunk did not see
    /// takes its keys out of the chunk.
    pub fn observe(&mut self, event: &ChangeEvent) {
        let Some(window) = self.window.as_mut() else { return };
        if event.schema.relation_oid != window.schema.relation_oid || !window.unseen.contains(event.tx.xid) {
            return;
        }
        if event.op == Op::Truncate {
            window.rows.iter_mut().for_each(|r| *r = None);
            return;
        }
        for row in [&event.before, &event.after].into_iter().flatten() {
            if let Some(i) = key_string(&window.schema, row).and_then(|k| window.index.get(&k)) {
                window.rows[*i] = None;
            }
        }
    }

    /// Closes the window when `position` (a commit's end, or a keepalive's position between transactions) is past
    /// the high watermark, with `current` the stream's shape of the table. The rows become reads positioned
    /// just before `position`. A chunk read with a shape the table no longer has is read again.
    pub fn close(&mut self, position: Lsn, current: Option<&SchemaRef>) -> Option<ChunkRows> {
        if self.window.as_ref()?.high_watermark >= position {
            return None;
        }
        let window = self.window.take()?;
        if current
            .is_some_and(|c| !std::sync::Arc::ptr_eq(c, &window.schema) && !c.same_shape(&window.schema))
        {
            tracing::info!(table = %window.schema.id, "table changed shape during a chunk; reading it again");
            return None;
        }
        let schema = current.cloned().unwrap_or(window.schema.clone());
        let at = Lsn::new(position.as_u64().saturating_sub(1));
        let now = chrono::Utc::now().timestamp_micros();
        let events: Vec<ChangeEvent> = window
            .rows
            .into_iter()
            .flatten()
            .map(|row| ChangeEvent {
                op: Op::Read,
                schema: schema.clone(),
                before: None,
                after: Some(row),
                lsn: at,
                tx: TxInfo {
                    xid: 0,
                    commit_lsn: at,
                    commit_time_micros: now,
                    total_order: 0,
                    table_order: 0,
                },
                snapshot: SnapshotMarker::Incremental,
                origin: None,
            })
            .collect();
        let table = schema.id.clone();
        match (&window.last_key, self.pending.front_mut()) {
            (Some(last), Some(front)) => front.after = Some(last.clone()),
            _ => {
                self.pending.pop_front();
                tracing::info!(%table, "incremental snapshot of table done");
            }
        }
        Some(ChunkRows { table, events, last_key: window.last_key })
    }
}

/// The SQL types of the key columns, to cast recorded key text back.
async fn key_types(client: &Client, schema: &SchemaRef) -> Result<Vec<String>, PgError> {
    let mut types = Vec::new();
    for (_, column) in schema.key_columns() {
        let row = client
            .query_one(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1 AND attname = $2",
                &[&schema.relation_oid, &column.name],
            )
            .await
            .map_err(PgError::query(format!("reading the key types of {}", schema.id)))?;
        types.push(row.get(0));
    }
    Ok(types)
}

/// The rows of each statement of a simple query, in order (a statement without rows gives an empty list).
fn split_results(messages: Vec<SimpleQueryMessage>) -> Vec<Vec<Vec<Option<String>>>> {
    let mut statements = Vec::new();
    let mut current = Vec::new();
    for message in messages {
        match message {
            SimpleQueryMessage::Row(row) => {
                current.push((0..row.len()).map(|i| row.get(i).map(str::to_owned)).collect());
            }
            SimpleQueryMessage::CommandComplete(_) => statements.push(std::mem::take(&mut current)),
            _ => {}
        }
    }
    statements
}

fn parse_row(schema: &SchemaRef, cells: &[Option<String>]) -> Result<Row, PgError> {
    if cells.len() != schema.columns.len() {
        return Err(PgError::Protocol(format!(
            "chunk of {} returned {} columns for {}",
            schema.id,
            cells.len(),
            schema.columns.len()
        )));
    }
    let mut values = Vec::with_capacity(cells.len());
    for (cell, column) in cells.iter().zip(&schema.columns) {
        values.push(match cell {
            None => Value::Null,
            Some(text) => parse_text(&column.pg_type, text).map_err(|source| PgError::Value {
                table: schema.id.to_string(),
                column: column.name.clone(),
                source,
            })?,
        });
    }
    Ok(Row(values))
}

/// The key cells of a row, comparable between a chunk row and a streamed row (both parsed from text).
fn key_string(schema: &SchemaRef, row: &Row) -> Option<String> {
    let mut key = String::new();
    for (i, _) in schema.key_columns() {
        match row.get(i)? {
            Value::Unchanged => return None,
            v => key.push_str(&format!("{v:?}\u{1f}")),
        }
    }
    Some(key)
}

/// `'text'` with quotes doubled (`standard_conforming_strings` is on for every supported server).
fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Creates the chunk-progress table when missing.
async fn ensure_chunk_progress_table(client: &Client) -> Result<(), PgError> {
    super::setup::ensure_table(
        client,
        CHUNK_PROGRESS_TABLE,
        "slot_name text NOT NULL,
         table_schema text NOT NULL,
         table_name text NOT NULL,
         last_key text[],
         updated_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (slot_name, table_schema, table_name)",
    )
    .await
}

/// Records that a chunk is durable: the table's next chunk starts after `last_key`; `None` records the table
/// done (moved to the snapshot-progress table at `lsn`).
pub async fn record_chunk(
    client: &mut Client,
    slot: &str,
    table: &TableId,
    last_key: Option<&[String]>,
    lsn: Lsn,
) -> Result<(), PgError> {
    let during = || format!("recording incremental snapshot progress of {table}");
    let tx = client.transaction().await.map_err(PgError::query(during()))?;
    match last_key {
        Some(key) => {
            tx.execute(
                &format!(
                    "INSERT INTO public.{CHUNK_PROGRESS_TABLE} (slot_name, table_schema, table_name, last_key)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (slot_name, table_schema, table_name)
                     DO UPDATE SET last_key = EXCLUDED.last_key, updated_at = now()"
                ),
                &[&slot, &table.schema, &table.name, &key],
            )
            .await
            .map_err(PgError::query(during()))?;
        }
        None => {
            tx.execute(
                &format!(
                    "DELETE FROM public.{CHUNK_PROGRESS_TABLE}
                     WHERE slot_name = $1 AND table_schema = $2 AND table_name = $3"
                ),
                &[&slot, &table.schema, &table.name],
            )
            .await
            .map_err(PgError::query(during()))?;
            super::setup::record_snapshot_done(&tx, slot, table, lsn).await?;
        }
    }
    tx.commit().await.map_err(PgError::query(during()))
}

/// Forgets a table's snapshot (done or in chunks), so the next start reads it again.
pub async fn forget_table(
    client: &impl tokio_postgres::GenericClient,
    slot: &str,
    table: &TableId,
) -> Result<(), PgError> {
    for progress in [PROGRESS_TABLE, CHUNK_PROGRESS_TABLE] {
        if super::setup::table_exists(client, progress).await? {
            client
                .execute(
                    &format!(
                        "DELETE FROM public.{progress} WHERE slot_name = $1 AND table_schema = $2 AND table_name = $3"
                    ),
                    &[&slot, &table.schema, &table.name],
                )
                .await
                .map_err(PgError::query("forgetting snapshot progress"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{widen, Unseen};

    #[test]
    fn snapshot_in_progress_lists_are_read() {
        let unseen = Unseen::parse("740:745:740,742").unwrap();
        assert!(unseen.contains(740) && unseen.contains(742), "in progress at the snapshot");
        assert!(unseen.contains(745) && unseen.contains(900), "begun after the snapshot");
        assert!(!unseen.contains(741) && !unseen.contains(744) && !unseen.contains(10), "seen");
        assert_eq!(Unseen::parse("5:5:").unwrap().in_progress.len(), 0);
        assert!(Unseen::parse("garbage").is_none());
    }

    #[test]
    fn xids_widen_across_an_epoch() {
        let reference = (3u64 << 32) | 10;
        assert_eq!(widen(5, reference), (3 << 32) | 5);
        assert_eq!(widen(u32::MAX - 2, reference), (2 << 32) | u64::from(u32::MAX - 2));
        assert_eq!(widen(7, 100), 7);
    }
}
