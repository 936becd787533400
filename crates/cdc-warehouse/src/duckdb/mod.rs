//! [`DuckDbSink`]: change batches into a DuckDB database file, one transaction per flush.
//!
//! Each flush, in one transaction: create or evolve target tables, stage each plan's rows with the Appender,
//! MERGE them, apply truncates, and record the stream position reached. On open the sink reads that position
//! back and skips anything before it, so a source replaying after a crash (it resumes from its last
//! acknowledgement, which may be behind the warehouse) changes nothing.
//!
//! The position is one of two kinds, by where the events came from:
//! - read from PostgreSQL (`cdc run`): the newest streamed LSN, one row in `_cdc_progress`;
//! - read from Kafka (`cdc load`, events with an [`origin`](cdc_core::ChangeEvent::origin)): the next offset of
//!   each topic partition, rows in `_cdc_log_offsets`. LSNs cannot serve here: partitions are consumed at
//!   different paces, so a high LSN applied from one partition says nothing about the others.
//!
//! DuckDB lets one process write a file at a time. With `exclusive = false` the sink opens the file only for
//! each commit (waiting while another process holds it) and re-reads the progress inside it, so several
//! `cdc load` processes of one consumer group, or readers, can share a file; what another loader applied
//! meanwhile is skipped exactly as a replay is.

mod ddl;
mod merge;
mod stage;

use std::collections::HashMap;
use std::path::PathBuf;

use cdc_core::config::PipelineConfig;
use cdc_core::{ChangeBatch, ChangeEvent, Lsn, Sink, SinkError, TableId};
use duckdb::Connection;

use self::ddl::{q, type_name, META_COLUMNS};
use self::merge::{merge_sql, truncate_sql};
use crate::error::WarehouseError;
use crate::plan::{plan, Position, TablePlan};
use crate::types::{target_type, TargetType};
use crate::{meta, DeleteMode};

pub const DEFAULT_PATH: &str = "warehouse.duckdb";
pub const DEFAULT_SINK_NAME: &str = "default";
pub const DEFAULT_LOCK_TIMEOUT_MS: u64 = 120_000;
/// `cdc run`'s batch size into DuckDB when `[pipeline].batch_size` is left at its default.
pub const RUN_BATCH_SIZE: usize = 10_000;
/// `cdc run`'s batch age limit into DuckDB when `[pipeline].poll_timeout_ms` is left at its default.
pub const RUN_POLL_TIMEOUT_MS: u64 = 250;

/// The batching for a pipeline into DuckDB, given the configured one. Every flush is a commit with a fixed cost
/// (planning the MERGE, committing, scheduling DuckDB's tasks) of the order of the cost of a thousand rows, so the
/// general default of 1,000 events spent about half the time on it while catching up: a value left at its
/// general default becomes [`RUN_BATCH_SIZE`] and [`RUN_POLL_TIMEOUT_MS`]. The shorter age limit keeps a steady
/// stream from waiting for the larger size (at 5,000 changes/s a batch is a quarter second of changes). A value
/// configured to anything else is kept.
pub fn run_batching(configured: &PipelineConfig) -> PipelineConfig {
    fn or_run<T: PartialEq>(value: T, general_default: T, run: T) -> T {
        if value == general_default {
            run
        } else {
            value
        }
    }
    let general = PipelineConfig::default();
    PipelineConfig {
        batch_size: or_run(configured.batch_size, general.batch_size, RUN_BATCH_SIZE),
        poll_timeout_ms: or_run(configured.poll_timeout_ms, general.poll_timeout_ms, RUN_POLL_TIMEOUT_MS),
    }
}

/// `[duckdb]` settings.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DuckDbConfig {
    /// Database file (created if missing).
    pub path: PathBuf,
    /// `hard` removes deleted rows; `soft` keeps them with `_cdc_deleted = true`.
    pub delete_mode: DeleteMode,
    /// Names this pipeline's row in `_cdc_progress` (several pipelines may share a file).
    pub sink_name: String,
    /// Keep the file open (the default). `false`: open it only to commit each batch, so that several loaders
    /// of a consumer group, or readers, can share it.
    pub exclusive: bool,
    /// With `exclusive = false`: how long a commit waits for another process to release the file.
    pub lock_timeout_ms: u64,
}

impl Default for DuckDbConfig {
    fn default() -> Self {
        DuckDbConfig {
            path: DEFAULT_PATH.into(),
            delete_mode: DeleteMode::Hard,
            sink_name: DEFAULT_SINK_NAME.into(),
            exclusive: true,
            lock_timeout_ms: DEFAULT_LOCK_TIMEOUT_MS,
        }
    }
}

/// The DuckDB sink. See the module doc.
pub struct DuckDbSink {
    /// The open file; `None` between commits when not exclusive.
    conn: Option<Connection>,
    config: DuckDbConfig,
    /// Known target tables and their columns (name → DuckDB type name).
    tables: HashMap<TableId, Vec<(String, String)>>,
    /// Events written since the last commit that were not in the warehouse when written.
    pending: Vec<ChangeEvent>,
    /// Position of the newest streamed change already in the warehouse. Snapshot rows never move it: a table
    /// re-snapshotted at a later point must not make the sink skip older changes of other tables.
    applied: Option<Position>,
    /// Next offset per (topic, partition) of log-borne events in the warehouse.
    applied_offsets: HashMap<(String, i32), i64>,
}

impl std::fmt::Debug for DuckDbSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuckDbSink").field("path", &self.config.path).field("applied", &self.applied).finish()
    }
}

fn sql_err(during: impl Into<String>) -> impl FnOnce(duckdb::Error) -> WarehouseError {
    let during = during.into();
    move |e| WarehouseError::Sql { during, source: Box::new(e) }
}

impl DuckDbSink {
    /// Opens (or creates) the database and reads back the progress position.
    pub fn open(config: DuckDbConfig) -> Result<DuckDbSink, WarehouseError> {
        let conn = connect(&config)?;
        let mut sink = DuckDbSink {
            conn: None,
            config,
            tables: HashMap::new(),
            pending: Vec::new(),
            applied: None,
            applied_offsets: HashMap::new(),
        };
        sink.refresh(&conn)?;
        if sink.config.exclusive {
            sink.conn = Some(conn);
        }
        Ok(sink)
    }

    /// Creates the progress tables if needed and reads back the progress and the target tables' columns.
    fn refresh(&mut self, conn: &Connection) -> Result<(), WarehouseError> {
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {p} (sink_name VARCHAR PRIMARY KEY, commit_lsn UBIGINT NOT NULL,
                 event_lsn UBIGINT NOT NULL, updated_at TIMESTAMP WITH TIME ZONE NOT NULL);
             CREATE TABLE IF NOT EXISTS {o} (sink_name VARCHAR NOT NULL, topic VARCHAR NOT NULL,
                 \"partition\" INTEGER NOT NULL, next_offset BIGINT NOT NULL,
                 updated_at TIMESTAMP WITH TIME ZONE NOT NULL, PRIMARY KEY (sink_name, topic, \"partition\"));
             CREATE SCHEMA IF NOT EXISTS _cdc_staging;",
            p = q(meta::PROGRESS_TABLE),
            o = q(meta::LOG_OFFSETS_TABLE),
        ))
        .map_err(sql_err("creating the progress table"))?;
        self.applied = match conn.query_row(
            &format!("SELECT commit_lsn, event_lsn FROM {} WHERE sink_name = ?", q(meta::PROGRESS_TABLE)),
            [&self.config.sink_name],
            |row| Ok(Position { commit_lsn: Lsn::new(row.get(0)?), event_lsn: Lsn::new(row.get(1)?) }),
        ) {
            Ok(position) => Some(position),
            Err(duckdb::Error::QueryReturnedNoRows) => None,
            Err(e) => return Err(sql_err("reading progress")(e)),
        };
        self.applied_offsets = read_offsets(conn, &self.config.sink_name)?;
        self.tables = read_tables(conn)?;
        Ok(())
    }

    /// The position of the newest change the warehouse holds.
    pub fn applied(&self) -> Option<Position> {
        self.applied
    }

    /// The next offset of each (topic, partition) whose records the warehouse holds (`cdc load`).
    pub fn applied_offsets(&self) -> &HashMap<(String, i32), i64> {
        &self.applied_offsets
    }

    /// Whether an event is in the warehouse already ([`crate::progress::already_applied`]).
    fn already_applied(&self, event: &ChangeEvent) -> bool {
        crate::progress::already_applied(event, self.applied, &self.applied_offsets)
    }

    fn target(id: &TableId) -> String {
        format!("{}.{}", q(&id.schema), q(&id.name))
    }

    /// Creates the table, or adds new columns and widens changed ones. A column the source dropped stays.
    fn evolve(
        &mut self,
        conn: &Connection,
        plan: &TablePlan,
        columns: &[(String, TargetType)],
    ) -> Result<(), WarehouseError> {
        let id = &plan.schema.id;
        let target = Self::target(id);
        let Some(existing) = self.tables.get(id).cloned() else {
            let defs = columns
                .iter()
                .map(|(n, t)| format!("{} {}", q(n), type_name(t)))
                .chain(META_COLUMNS.iter().map(|(n, t)| format!("{} {t}", q(n))))
                .collect::<Vec<_>>()
                .join(", ");
            conn.execute_batch(&format!(
                "CREATE SCHEMA IF NOT EXISTS {}; CREATE TABLE {target} ({defs})",
                q(&id.schema)
            ))
            .map_err(sql_err(format!("creating table {id}")))?;
            tracing::info!(table = %id, columns = columns.len(), "created warehouse table");
            let mut known: Vec<(String, String)> =
                columns.iter().map(|(n, t)| (n.clone(), type_name(t))).collect();
            known.extend(META_COLUMNS.iter().map(|(n, t)| ((*n).to_owned(), (*t).to_owned())));
            self.tables.insert(id.clone(), known);
            return Ok(());
        };
        for (name, ty) in columns {
            let wanted = type_name(ty);
            match existing.iter().find(|(n, _)| n == name) {
                None => {
                    // Rows that predate the column read as its fill value in the source; give them the same. The
                    // default stays: rows of older schema versions merged later (same batch, or a replay) lack the
                    // column and must get it too.
                    let fill = plan
                        .schema
                        .columns
                        .iter()
                        .find(|c| c.name == *name)
                        .and_then(|c| Some((c, c.fill_value.as_deref()?)))
                        .and_then(|(c, text)| cdc_core::value::parse_text(&c.pg_type, text).ok())
                        .and_then(|value| crate::encode::staging_text(&value, ty))
                        .map(|text| {
                            let literal = format!("'{}'", text.replace('\'', "''"));
                            format!(" DEFAULT {}", ddl::cast_from_staging(&literal, ty))
                        })
                        .unwrap_or_default();
                    conn.execute_batch(&format!(
                        "ALTER TABLE {target} ADD COLUMN {} {wanted}{fill}",
                        q(name)
                    ))
                    .map_err(sql_err(format!("adding column {name} to {id}")))?;

                    tracing::info!(table = %id, column = %name, r#type = %wanted, "added warehouse column");
                }
                Some((_, have)) if *have != wanted => {
                    conn.execute_batch(&format!(
                        "ALTER TABLE {target} ALTER COLUMN {} SET DATA TYPE {wanted}",
                        q(name)
                    ))
                    .map_err(|_| WarehouseError::IncompatibleType {
                        table: id.to_string(),
                        column: name.clone(),
                        from: have.clone(),
                        to: wanted.clone(),
                    })?;
                    tracing::info!(table = %id, column = %name, from = %have, to = %wanted, "changed warehouse column type");
                }
                Some(_) => {}
            }
        }
        for (name, _) in &existing {
            if !name.starts_with("_cdc_") && !columns.iter().any(|(n, _)| n == name) {
                tracing::warn!(table = %id, column = %name, "column no longer in the source; kept in the warehouse");
            }
        }
        let known = self.tables.entry(id.clone()).or_default();
        for (name, ty) in columns {
            match known.iter_mut().find(|(n, _)| n == name) {
                Some(entry) => entry.1 = type_name(ty),
                None => known.push((name.clone(), type_name(ty))),
            }
        }
        Ok(())
    }

    fn apply(&self, conn: &Connection, plan: &TablePlan) -> Result<(), WarehouseError> {
        let columns = target_columns(plan);
        let id = &plan.schema.id;
        let target = Self::target(id);
        if let Some(truncate) = plan.truncate {
            conn.execute_batch(&truncate_sql(
                &target,
                truncate.commit_lsn.as_u64(),
                truncate.event_lsn.as_u64(),
                self.config.delete_mode,
            ))
            .map_err(sql_err(format!("truncating {id}")))?;
        }
        if plan.rows.is_empty() {
            return Ok(());
        }
        let staged = stage::stage(conn, plan, &columns)?;
        conn.execute_batch(&merge_sql(
            &target,
            &staged.table,
            &columns,
            &staged.key,
            self.config.delete_mode,
        ))
        .map_err(sql_err(format!("merging into {id}")))?;
        stage::drop(conn, &staged)
    }

    /// Stages and merges every plan and records the progress reached, inside the caller's transaction.
    fn apply_all(
        &self,
        conn: &Connection,
        plans: &[TablePlan],
        reached: Option<Position>,
        offsets: &HashMap<(String, i32), i64>,
    ) -> Result<(), WarehouseError> {
        for plan in plans {
            self.apply(conn, plan)?;
        }
        let mut record_offset = conn
            .prepare(&format!(
                "INSERT OR REPLACE INTO {} VALUES (?, ?, ?, ?, now())",
                q(meta::LOG_OFFSETS_TABLE)
            ))
            .map_err(sql_err("recording offsets"))?;
        for ((topic, partition), next) in offsets {
            record_offset
                .execute(duckdb::params![self.config.sink_name, topic, partition, next])
                .map_err(sql_err("recording offsets"))?;
        }
        let Some(reached) = reached else { return Ok(()) };
        conn.execute(
            &format!("INSERT OR REPLACE INTO {} VALUES (?, ?, ?, now())", q(meta::PROGRESS_TABLE)),
            duckdb::params![self.config.sink_name, reached.commit_lsn.as_u64(), reached.event_lsn.as_u64()],
        )
        .map_err(sql_err("recording progress"))?;
        Ok(())
    }

    /// Commits the pending events that the warehouse does not hold yet; on failure they stay pending.
    fn commit_pending(&mut self, conn: &Connection) -> Result<(), WarehouseError> {
        // Filter again: when not exclusive, the progress was just re-read and another loader may have applied
        // some of these. What is filtered out is in the warehouse, so it need not come back on failure.
        let mut fresh = std::mem::take(&mut self.pending);
        fresh.retain(|e| !self.already_applied(e));
        let committed = self.commit(conn, &fresh);
        if committed.is_err() {
            self.pending = fresh;
        }
        committed
    }

    /// Applies `fresh` in one transaction (table changes committed just before it).
    fn commit(&mut self, conn: &Connection, fresh: &[ChangeEvent]) -> Result<(), WarehouseError> {
        let (reached, offsets) = crate::progress::reached(fresh, self.applied);
        let plans = plan(fresh);
        let started = std::time::Instant::now();
        // Table changes first, each committed on its own: DuckDB loses rows merged into a table altered earlier in
        // the same transaction (seen with 1.5.6). They only add or widen columns, so committing them ahead of the
        // data is harmless if the data transaction then fails.
        for plan in &plans {
            self.evolve(conn, plan, &target_columns(plan))?;
        }
        conn.execute_batch("BEGIN TRANSACTION").map_err(sql_err("beginning a transaction"))?;
        let committed = self
            .apply_all(conn, &plans, reached, &offsets)
            .and_then(|()| conn.execute_batch("COMMIT").map_err(sql_err("committing")));
        if let Err(e) = committed {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        self.applied = reached;
        self.applied_offsets.extend(offsets);
        crate::record_merge(&plans, started.elapsed());
        Ok(())
    }
}

fn target_columns(plan: &TablePlan) -> Vec<(String, TargetType)> {
    plan.schema.columns.iter().map(|c| (c.name.clone(), target_type(c))).collect()
}

impl Sink for DuckDbSink {
    async fn write<C: Send + Sync>(&mut self, batch: &ChangeBatch<C>) -> Result<(), SinkError> {
        let fresh: Vec<ChangeEvent> =
            batch.events.iter().filter(|e| !self.already_applied(e)).cloned().collect();
        self.pending.extend(fresh);
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => {
                let conn = connect(&self.config).map_err(|e| SinkError::Other(Box::new(e)))?;
                self.refresh(&conn).map_err(|e| SinkError::Other(Box::new(e)))?;
                conn
            }
        };
        let result = self.commit_pending(&conn);
        if result.is_err() {
            // Table changes may have committed before the data failed: re-learn what exists.
            if let Ok(tables) = read_tables(&conn) {
                self.tables = tables;
            }
        }
        if self.config.exclusive {
            self.conn = Some(conn);
        }
        // Pending events stay on failure: the caller fails the pipeline, and a retry must not lose them.
        result.map_err(|e| SinkError::Other(Box::new(e)))
    }
}

fn read_offsets(conn: &Connection, sink_name: &str) -> Result<HashMap<(String, i32), i64>, WarehouseError> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT topic, \"partition\", next_offset FROM {} WHERE sink_name = ?",
            q(meta::LOG_OFFSETS_TABLE)
        ))
        .map_err(sql_err("reading offsets"))?;
    let rows = stmt
        .query_map([sink_name], |r| Ok(((r.get::<_, String>(0)?, r.get::<_, i32>(1)?), r.get::<_, i64>(2)?)))
        .map_err(sql_err("reading offsets"))?;
    rows.collect::<Result<_, _>>().map_err(sql_err("reading offsets"))
}

/// Every user table's columns (name → DuckDB type name), in column order.
fn read_tables(conn: &Connection) -> Result<HashMap<TableId, Vec<(String, String)>>, WarehouseError> {
    let mut stmt = conn
        .prepare(
            "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns
             WHERE table_schema NOT IN ('_cdc_staging', 'information_schema', 'pg_catalog')
             ORDER BY table_schema, table_name, ordinal_position",
        )
        .map_err(sql_err("reading existing tables"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(sql_err("reading existing tables"))?;
    let mut tables: HashMap<TableId, Vec<(String, String)>> = HashMap::new();
    for row in rows {
        let (schema, table, column, ty) = row.map_err(sql_err("reading existing tables"))?;
        tables.entry(TableId::new(schema, table)).or_default().push((column, ty));
    }
    Ok(tables)
}

/// Opens the file; when not exclusive, waits (up to `lock_timeout_ms`) while another process holds it.
fn connect(config: &DuckDbConfig) -> Result<Connection, WarehouseError> {
    let path = config.path.display().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(config.lock_timeout_ms);
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        match Connection::open(&config.path) {
            Ok(conn) => return Ok(conn),
            Err(e) => {
                let text = e.to_string();
                let locked = text.contains("lock");
                if locked && !config.exclusive && std::time::Instant::now() < deadline {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(200));
                    continue;
                }
                let hint = if locked && config.exclusive {
                    "another process has the database open: stop it, give this pipeline its own [duckdb].path, \
                     or set [duckdb].exclusive = false on every process sharing the file"
                } else if locked {
                    "another process held the database longer than [duckdb].lock_timeout_ms; check for a \
                     process that keeps it open ([duckdb].exclusive = true elsewhere, an interactive session)"
                } else {
                    "check that the directory exists and is writable, or set [duckdb].path"
                };
                return Err(WarehouseError::Open { path, reason: text, hint });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_batching_replaces_only_values_left_at_the_general_defaults() {
        let defaults = run_batching(&PipelineConfig::default());
        assert_eq!((defaults.batch_size, defaults.poll_timeout_ms), (RUN_BATCH_SIZE, RUN_POLL_TIMEOUT_MS));
        let configured = PipelineConfig { batch_size: 500, poll_timeout_ms: 100 };
        assert_eq!(run_batching(&configured), configured);
        let age_only = run_batching(&PipelineConfig { poll_timeout_ms: 100, ..PipelineConfig::default() });
        assert_eq!((age_only.batch_size, age_only.poll_timeout_ms), (RUN_BATCH_SIZE, 100));
    }
}
