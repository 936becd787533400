//! [`DuckDbSink`]: change batches into a DuckDB database file, one transaction per flush.
//!
//! Each flush, in one transaction: create or evolve target tables, stage each plan's rows with the Appender,
//! MERGE them, apply truncates, and record the stream position reached in `_cdc_progress`. On open the sink
//! reads that position back and skips anything before it, so a source replaying after a crash (it resumes from
//! its last acknowledgement, which may be behind the warehouse) changes nothing.

mod ddl;
mod merge;

use std::collections::HashMap;
use std::path::PathBuf;

use cdc_core::{ChangeBatch, Lsn, Sink, SinkError, TableId};
use duckdb::{appender_params_from_iter, Connection};

use self::ddl::{q, type_name, META_COLUMNS};
use self::merge::{merge_sql, present_column, truncate_sql};
use crate::error::WarehouseError;
use crate::plan::{plan, Position, RowAction, TablePlan};
use crate::types::{target_type, TargetType};
use crate::{meta, DeleteMode};

pub const DEFAULT_PATH: &str = "warehouse.duckdb";
pub const DEFAULT_SINK_NAME: &str = "default";

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
}

impl Default for DuckDbConfig {
    fn default() -> Self {
        DuckDbConfig {
            path: DEFAULT_PATH.into(),
            delete_mode: DeleteMode::Hard,
            sink_name: DEFAULT_SINK_NAME.into(),
        }
    }
}

/// The DuckDB sink. See the module doc.
pub struct DuckDbSink {
    conn: Connection,
    config: DuckDbConfig,
    /// Known target tables and their columns (name → DuckDB type name).
    tables: HashMap<TableId, Vec<(String, String)>>,
    pending: Vec<TablePlan>,
    /// Position of the newest streamed change staged in `pending`.
    pending_reached: Option<Position>,
    /// Position of the newest streamed change already in the warehouse. Snapshot rows never move it: a table
    /// re-snapshotted at a later point must not make the sink skip older changes of other tables.
    applied: Option<Position>,
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
        let path = config.path.display().to_string();
        let conn = Connection::open(&config.path).map_err(|e| {
            let text = e.to_string();
            let hint = if text.contains("lock") {
                "another process has the database open: stop it, or give this pipeline its own [duckdb].path"
            } else {
                "check that the directory exists and is writable, or set [duckdb].path"
            };
            WarehouseError::Open { path: path.clone(), reason: text, hint }
        })?;
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {p} (sink_name VARCHAR PRIMARY KEY, commit_lsn UBIGINT NOT NULL,
                 event_lsn UBIGINT NOT NULL, updated_at TIMESTAMP WITH TIME ZONE NOT NULL);
             CREATE SCHEMA IF NOT EXISTS _cdc_staging;",
            p = q(meta::PROGRESS_TABLE)
        ))
        .map_err(sql_err("creating the progress table"))?;
        let applied = match conn.query_row(
            &format!("SELECT commit_lsn, event_lsn FROM {} WHERE sink_name = ?", q(meta::PROGRESS_TABLE)),
            [&config.sink_name],
            |row| Ok(Position { commit_lsn: Lsn::new(row.get(0)?), event_lsn: Lsn::new(row.get(1)?) }),
        ) {
            Ok(position) => Some(position),
            Err(duckdb::Error::QueryReturnedNoRows) => None,
            Err(e) => return Err(sql_err("reading progress")(e)),
        };
        let mut sink = DuckDbSink {
            conn,
            config,
            tables: HashMap::new(),
            pending: Vec::new(),
            pending_reached: None,
            applied,
        };
        sink.load_tables()?;
        Ok(sink)
    }

    /// The position of the newest change the warehouse holds.
    pub fn applied(&self) -> Option<Position> {
        self.applied
    }

    fn load_tables(&mut self) -> Result<(), WarehouseError> {
        let mut stmt = self
            .conn
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
        for row in rows {
            let (schema, table, column, ty) = row.map_err(sql_err("reading existing tables"))?;
            self.tables.entry(TableId::new(schema, table)).or_default().push((column, ty));
        }
        Ok(())
    }

    fn target(id: &TableId) -> String {
        format!("{}.{}", q(&id.schema), q(&id.name))
    }

    /// Creates the table, or adds new columns and widens changed ones. A column the source dropped stays.
    fn evolve(&mut self, plan: &TablePlan, columns: &[(String, TargetType)]) -> Result<(), WarehouseError> {
        let id = &plan.schema.id;
        let target = Self::target(id);
        let Some(existing) = self.tables.get(id).cloned() else {
            let defs = columns
                .iter()
                .map(|(n, t)| format!("{} {}", q(n), type_name(t)))
                .chain(META_COLUMNS.iter().map(|(n, t)| format!("{} {t}", q(n))))
                .collect::<Vec<_>>()
                .join(", ");
            self.conn
                .execute_batch(&format!(
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
                    self.conn
                        .execute_batch(&format!("ALTER TABLE {target} ADD COLUMN {} {wanted}{fill}", q(name)))
                        .map_err(sql_err(format!("adding column {name} to {id}")))?;

                    tracing::info!(table = %id, column = %name, r#type = %wanted, "added warehouse column");
                }
                Some((_, have)) if *have != wanted => {
                    self.conn
                        .execute_batch(&format!(
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

    fn apply(&mut self, plan: &TablePlan) -> Result<(), WarehouseError> {
        let columns = target_columns(plan);
        let id = &plan.schema.id;
        let target = Self::target(id);
        if let Some(truncate) = plan.truncate {
            self.conn
                .execute_batch(&truncate_sql(
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
        let stage_name = format!("stage_{}", plan.schema.relation_oid);
        let staging = format!("_cdc_staging.{}", q(&stage_name));
        let defs = ["_action VARCHAR".to_owned()]
            .into_iter()
            .chain([
                format!("{} VARCHAR", q(meta::OP)),
                format!("{} UBIGINT", q(meta::LSN)),
                format!("{} UBIGINT", q(meta::EVENT_LSN)),
                format!("{} BIGINT", q(meta::TX_ID)),
                format!("{} BIGINT", q(meta::SOURCE_TS)),
            ])
            .chain(columns.iter().flat_map(|(n, _)| {
                [format!("{} VARCHAR", q(n)), format!("{} BOOLEAN", q(&present_column(n)))]
            }))
            .collect::<Vec<_>>()
            .join(", ");
        self.conn
            .execute_batch(&format!("CREATE OR REPLACE TABLE {staging} ({defs})"))
            .map_err(sql_err(format!("creating the staging table for {id}")))?;
        {
            let mut appender = self
                .conn
                .appender_to_db(&stage_name, "_cdc_staging")
                .map_err(sql_err("opening the appender"))?;
            for row in &plan.rows {
                let mut cells: Vec<duckdb::types::Value> = Vec::with_capacity(6 + 2 * columns.len());
                cells.push(duckdb::types::Value::Text(
                    if row.action == RowAction::Delete { "d" } else { "u" }.into(),
                ));
                cells.push(duckdb::types::Value::Text(row.op.code().into()));
                cells.push(duckdb::types::Value::UBigInt(row.position.commit_lsn.as_u64()));
                cells.push(duckdb::types::Value::UBigInt(row.position.event_lsn.as_u64()));
                cells.push(duckdb::types::Value::BigInt(i64::from(row.xid)));
                cells.push(duckdb::types::Value::BigInt(row.source_ts_micros));
                for (value, (_, ty)) in row.values.iter().zip(&columns) {
                    let present = !matches!(value, cdc_core::Value::Unchanged);
                    cells.push(match crate::encode::staging_text(value, ty) {
                        Some(text) => duckdb::types::Value::Text(text),
                        None => duckdb::types::Value::Null,
                    });
                    cells.push(duckdb::types::Value::Boolean(present));
                }
                appender
                    .append_row(appender_params_from_iter(cells))
                    .map_err(sql_err(format!("staging rows of {id}")))?;
            }
            appender.flush().map_err(sql_err(format!("staging rows of {id}")))?;
        }
        let key = plan.key_indexes();
        self.conn
            .execute_batch(&merge_sql(&target, &staging, &columns, &key, self.config.delete_mode))
            .map_err(sql_err(format!("merging into {id}")))?;
        self.conn
            .execute_batch(&format!("DROP TABLE {staging}"))
            .map_err(sql_err("dropping the staging table"))?;
        Ok(())
    }

    fn apply_all(&mut self, plans: &[TablePlan], reached: Option<Position>) -> Result<(), WarehouseError> {
        for plan in plans {
            self.apply(plan)?;
        }
        let Some(reached) = reached else { return Ok(()) };
        self.conn
            .execute(
                &format!("INSERT OR REPLACE INTO {} VALUES (?, ?, ?, now())", q(meta::PROGRESS_TABLE)),
                duckdb::params![
                    self.config.sink_name,
                    reached.commit_lsn.as_u64(),
                    reached.event_lsn.as_u64()
                ],
            )
            .map_err(sql_err("recording progress"))?;
        Ok(())
    }
}

fn target_columns(plan: &TablePlan) -> Vec<(String, TargetType)> {
    plan.schema.columns.iter().map(|c| (c.name.clone(), target_type(c))).collect()
}

impl Sink for DuckDbSink {
    async fn write<C: Send + Sync>(&mut self, batch: &ChangeBatch<C>) -> Result<(), SinkError> {
        // Streamed changes strictly before the recorded position are in the warehouse already (a replay after a
        // crash); snapshot events (rows, and the truncate before a redone table) always go through and never
        // move the position: the MERGE's position guard sorts them out.
        let applied = self.applied;
        let streamed = |e: &&cdc_core::ChangeEvent| e.snapshot == cdc_core::SnapshotMarker::No;
        let fresh: Vec<cdc_core::ChangeEvent> = batch
            .events
            .iter()
            .filter(|e| !streamed(e) || applied.is_none_or(|a| Position::of(e) >= a))
            .cloned()
            .collect();
        let reached = fresh.iter().filter(streamed).map(Position::of).max();
        self.pending_reached = self.pending_reached.max(reached);
        self.pending.extend(plan(&fresh));
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let plans = std::mem::take(&mut self.pending);
        let reached = self.applied.max(self.pending_reached.take());
        // Table changes first, each committed on its own: DuckDB loses rows merged into a table altered earlier in
        // the same transaction (seen with 1.5.6). They only add or widen columns, so committing them ahead of the
        // data is harmless if the data transaction then fails.
        for plan in &plans {
            if let Err(e) = self.evolve(plan, &target_columns(plan)) {
                self.pending = plans;
                self.pending_reached = reached;
                return Err(SinkError::Other(Box::new(e)));
            }
        }
        let tables_before = self.tables.clone();
        self.conn.execute_batch("BEGIN TRANSACTION").map_err(|e| SinkError::Other(Box::new(e)))?;
        match self.apply_all(&plans, reached) {
            Ok(()) => {
                if let Err(e) = self.conn.execute_batch("COMMIT") {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    self.tables = tables_before;
                    self.pending = plans;
                    self.pending_reached = reached;
                    return Err(SinkError::Other(Box::new(WarehouseError::Sql {
                        during: "committing".into(),
                        source: Box::new(e),
                    })));
                }
                self.applied = reached;
                Ok(())
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                self.tables = tables_before;
                // Keep the plans: the caller fails the pipeline, and a retry must not lose them.
                self.pending = plans;
                self.pending_reached = reached;
                Err(SinkError::Other(Box::new(e)))
            }
        }
    }
}
