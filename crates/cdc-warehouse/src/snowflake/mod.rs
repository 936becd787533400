//! [`SnowflakeSink`]: change batches into Snowflake tables through the protocol of Snowflake's official drivers
//! ([`client`]), the same code path against real Snowflake and the `fakesnow` test server.
//!
//! Each flush applies the warehouse-neutral plan ([`crate::plan`]) table by table: evolve the table (create it,
//! add new columns, widen numbers), stage the rows (`sql` module doc), MERGE with a position guard, then record
//! the progress reached (LSN in `_CDC_PROGRESS`, or Kafka offsets per partition in `_CDC_LOG_OFFSETS`). On open
//! the sink reads that progress back and skips what the warehouse already holds.
//!
//! **Statements commit one by one** (autocommit), not in one transaction as in DuckDB: fakesnow cannot run a
//! MERGE inside an explicit transaction (its MERGE creates a temporary table, which fails there), and a client
//! killed inside an open Snowflake transaction leaves it detached, holding locks for hours. Every statement is
//! idempotent instead: the MERGE changes a row only for a change newer than the one it holds, staging dedups,
//! and the progress is written last. A crash between a MERGE and the progress write replays the batch's tail
//! from the source; the replay converges to the same rows (a replayed insert of a row deleted later is deleted
//! again by the replayed delete that follows it).

pub mod client;
pub mod config;
mod encode;
pub mod sql;

use std::collections::{HashMap, HashSet};

use cdc_core::{ChangeBatch, ChangeEvent, Lsn, Sink, SinkError, TableId, Value};

use self::client::{Bind, Bindings, Client, SnowflakeError};
pub use self::config::{Authenticator, SnowflakeConfig};
use self::sql::{config_ident, fold, meta_columns, q, reported_type, type_name, Staging, STAGE_META_BINDS};
use crate::error::WarehouseError;
use crate::meta;
use crate::plan::{plan, Position, RowAction, TablePlan};
use crate::types::{target_type, TargetType};

/// Rows per array-bound INSERT request.
const ROWS_PER_INSERT: usize = 1000;

/// An existing column: Snowflake name, `data_type`, NUMBER precision and scale.
type ExistingColumn = (String, String, Option<(u32, u32)>);

/// The Snowflake sink. See the module doc.
pub struct SnowflakeSink {
    client: Client,
    config: SnowflakeConfig,
    /// `"DB"`, quoted.
    database: String,
    /// `"DB"."SCHEMA"` of the sink's own tables.
    home: String,
    tables: HashMap<TableId, Vec<ExistingColumn>>,
    schemas: HashSet<String>,
    pending: Vec<ChangeEvent>,
    applied: Option<Position>,
    applied_offsets: HashMap<(String, i32), i64>,
    /// Per table, the columns added in the source with a fill value (what older rows read as), as staging text.
    fills: HashMap<TableId, Vec<(String, TargetType, String)>>,
    /// Table schema versions whose older rows were filled in this process.
    filled: HashSet<(TableId, u32)>,
}

impl std::fmt::Debug for SnowflakeSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnowflakeSink")
            .field("url", &self.client.url())
            .field("database", &self.database)
            .field("applied", &self.applied)
            .finish()
    }
}

fn failed(during: impl Into<String>) -> impl FnOnce(SnowflakeError) -> WarehouseError {
    let during = during.into();
    move |source| WarehouseError::Snowflake { during, source }
}

impl SnowflakeSink {
    /// Logs in, selects the warehouse, creates the database and schema if allowed, and reads back the progress.
    pub async fn open(config: SnowflakeConfig) -> Result<SnowflakeSink, WarehouseError> {
        let client =
            Client::connect(&config).await.map_err(failed(format!("logging in at {}", config.base_url())))?;
        let database = config_ident(&config.database);
        let home = format!("{database}.{}", config_ident(&config.schema));
        let mut sink = SnowflakeSink {
            client,
            database,
            home,
            config,
            tables: HashMap::new(),
            schemas: HashSet::new(),
            pending: Vec::new(),
            applied: None,
            applied_offsets: HashMap::new(),
            fills: HashMap::new(),
            filled: HashSet::new(),
        };
        sink.use_objects(true).await?;
        sink.run(
            &format!(
                "CREATE TABLE IF NOT EXISTS {}.{} (\"SINK_NAME\" VARCHAR, \"COMMIT_LSN\" NUMBER(20,0), \
                 \"EVENT_LSN\" NUMBER(20,0), \"UPDATED_AT\" TIMESTAMP_TZ(6))",
                sink.home,
                q(&fold(meta::PROGRESS_TABLE))
            ),
            Bindings::None,
            "creating the progress table",
        )
        .await?;
        sink.run(
            &format!(
                "CREATE TABLE IF NOT EXISTS {}.{} (\"SINK_NAME\" VARCHAR, \"TOPIC\" VARCHAR, \
                 \"PARTITION\" NUMBER(10,0), \"NEXT_OFFSET\" NUMBER(19,0), \"UPDATED_AT\" TIMESTAMP_TZ(6))",
                sink.home,
                q(&fold(meta::LOG_OFFSETS_TABLE))
            ),
            Bindings::None,
            "creating the offsets table",
        )
        .await?;
        sink.read_progress().await?;
        sink.tables = sink.read_tables().await?;
        Ok(sink)
    }

    /// `cdc config check`: logs in, selects the warehouse, database and schema, and checks the role may create
    /// tables there (a temporary table, dropped at once: nothing persists).
    pub async fn check(config: &SnowflakeConfig) -> Result<(), WarehouseError> {
        let client =
            Client::connect(config).await.map_err(failed(format!("logging in at {}", config.base_url())))?;
        let database = config_ident(&config.database);
        let sink = SnowflakeSink {
            client,
            home: format!("{database}.{}", config_ident(&config.schema)),
            database,
            config: config.clone(),
            tables: HashMap::new(),
            schemas: HashSet::new(),
            pending: Vec::new(),
            applied: None,
            applied_offsets: HashMap::new(),
            fills: HashMap::new(),
            filled: HashSet::new(),
        };
        sink.use_objects(false).await?;
        sink.run(
            "CREATE OR REPLACE TEMPORARY TABLE \"_CDC_PRIVILEGE_CHECK\" (\"X\" NUMBER(1,0))",
            Bindings::None,
            &format!("checking that the role may create tables in {}", sink.home),
        )
        .await?;
        sink.run("DROP TABLE IF EXISTS \"_CDC_PRIVILEGE_CHECK\"", Bindings::None, "dropping the check table")
            .await?;
        sink.client.close().await;
        Ok(())
    }

    /// `USE` the configured warehouse, database and schema; with `create`, creates the latter two if allowed.
    async fn use_objects(&self, create: bool) -> Result<(), WarehouseError> {
        let c = &self.config;
        self.run(
            &format!("USE WAREHOUSE {}", config_ident(&c.warehouse)),
            Bindings::None,
            &format!("selecting warehouse {} (SNOWFLAKE_WAREHOUSE / [snowflake].warehouse)", c.warehouse),
        )
        .await?;
        if create && c.create_schemas {
            self.run(
                &format!("CREATE DATABASE IF NOT EXISTS {}", self.database),
                Bindings::None,
                &format!("creating database {} ([snowflake].create_schemas)", c.database),
            )
            .await?;
        }
        self.run(
            &format!("USE DATABASE {}", self.database),
            Bindings::None,
            &format!("selecting database {} (SNOWFLAKE_DATABASE / [snowflake].database)", c.database),
        )
        .await?;
        if create && c.create_schemas {
            self.run(
                &format!("CREATE SCHEMA IF NOT EXISTS {}", self.home),
                Bindings::None,
                &format!("creating schema {} ([snowflake].create_schemas)", c.schema),
            )
            .await?;
        }
        // Temporary staging tables are created unqualified, in the current schema.
        self.run(
            &format!("USE SCHEMA {}", self.home),
            Bindings::None,
            &format!("selecting schema {} (SNOWFLAKE_SCHEMA / [snowflake].schema)", c.schema),
        )
        .await
        .map(drop)
    }

    async fn run(
        &self,
        sql: &str,
        bindings: Bindings,
        during: &str,
    ) -> Result<client::QueryResult, WarehouseError> {
        self.client.query(sql, bindings).await.map_err(failed(during))
    }

    async fn read_progress(&mut self) -> Result<(), WarehouseError> {
        let name = Bindings::Row(vec![Bind::text(&self.config.sink_name)]);
        let progress = self
            .run(
                &format!(
                    "SELECT \"COMMIT_LSN\", \"EVENT_LSN\" FROM {}.{} WHERE \"SINK_NAME\" = ?",
                    self.home,
                    q(&fold(meta::PROGRESS_TABLE))
                ),
                name.clone(),
                "reading progress",
            )
            .await?;
        let unreadable = |table: &str| WarehouseError::Snowflake {
            during: format!("reading progress from {}.{}", self.home, q(&fold(table))),
            source: SnowflakeError::Protocol(
                "a progress row has a NULL or non-numeric position; fix or delete the row".into(),
            ),
        };
        self.applied = match progress.rows.first() {
            None => None,
            Some(row) => {
                let lsn = |i: usize| row.get(i)?.as_deref()?.parse::<u64>().ok().map(Lsn::new);
                match (lsn(0), lsn(1)) {
                    (Some(commit_lsn), Some(event_lsn)) => Some(Position { commit_lsn, event_lsn }),
                    _ => return Err(unreadable(meta::PROGRESS_TABLE)),
                }
            }
        };
        let offsets = self
            .run(
                &format!(
                    "SELECT \"TOPIC\", \"PARTITION\", \"NEXT_OFFSET\" FROM {}.{} WHERE \"SINK_NAME\" = ?",
                    self.home,
                    q(&fold(meta::LOG_OFFSETS_TABLE))
                ),
                name,
                "reading offsets",
            )
            .await?;
        self.applied_offsets = offsets
            .rows
            .iter()
            .map(|row| {
                let topic = row.first()?.clone()?;
                let partition = row.get(1)?.as_deref()?.parse().ok()?;
                let next = row.get(2)?.as_deref()?.parse().ok()?;
                Some(((topic, partition), next))
            })
            .collect::<Option<_>>()
            .ok_or_else(|| unreadable(meta::LOG_OFFSETS_TABLE))?;
        Ok(())
    }

    /// Every table's columns in the database, by source-side name is not known here: keyed by Snowflake names.
    async fn read_tables(&mut self) -> Result<HashMap<TableId, Vec<ExistingColumn>>, WarehouseError> {
        let result = self
            .run(
                &format!(
                    "SELECT table_schema, table_name, column_name, data_type, numeric_precision, numeric_scale \
                     FROM {}.information_schema.columns WHERE table_schema <> 'INFORMATION_SCHEMA' \
                     ORDER BY table_schema, table_name, ordinal_position",
                    self.database
                ),
                Bindings::None,
                "reading existing tables",
            )
            .await?;
        let mut tables: HashMap<TableId, Vec<ExistingColumn>> = HashMap::new();
        for row in &result.rows {
            let cell = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
            let numeric = match (cell(4).parse::<u32>(), cell(5).parse::<u32>()) {
                (Ok(p), Ok(s)) => Some((p, s)),
                _ => None,
            };
            self.schemas.insert(cell(0));
            tables.entry(TableId::new(cell(0), cell(1))).or_default().push((
                cell(2),
                cell(3).to_ascii_uppercase(),
                numeric,
            ));
        }
        Ok(tables)
    }

    /// The position of the newest change the warehouse holds.
    pub fn applied(&self) -> Option<Position> {
        self.applied
    }

    /// The next offset of each (topic, partition) whose records the warehouse holds (`cdc load`).
    pub fn applied_offsets(&self) -> &HashMap<(String, i32), i64> {
        &self.applied_offsets
    }

    /// The client, for reading the warehouse back (`cdc verify`, tests).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Whether an event is in the warehouse already ([`crate::progress::already_applied`]).
    fn already_applied(&self, event: &ChangeEvent) -> bool {
        crate::progress::already_applied(event, self.applied, &self.applied_offsets)
    }

    /// The Snowflake id and quoted name of a source table.
    fn target(&self, id: &TableId) -> (TableId, String) {
        let sf = TableId::new(fold(&id.schema), fold(&id.name));
        let name = format!("{}.{}.{}", self.database, q(&sf.schema), q(&sf.name));
        (sf, name)
    }

    /// Creates the table, or adds new columns and widens numbers. A column the source dropped stays.
    async fn evolve(
        &mut self,
        plan: &TablePlan,
        columns: &[(String, TargetType)],
    ) -> Result<(), WarehouseError> {
        let (sf, target) = self.target(&plan.schema.id);
        let id = &plan.schema.id;
        if !self.schemas.contains(&sf.schema) && self.config.create_schemas {
            self.run(
                &format!("CREATE SCHEMA IF NOT EXISTS {}.{}", self.database, q(&sf.schema)),
                Bindings::None,
                &format!("creating schema {} for {id} ([snowflake].create_schemas)", sf.schema),
            )
            .await?;
            self.schemas.insert(sf.schema.clone());
        }
        let Some(existing) = self.tables.get(&sf).cloned() else {
            let defs = columns
                .iter()
                .map(|(n, t)| format!("{} {}", q(n), type_name(t)))
                .chain(meta_columns().iter().map(|(n, t)| format!("{} {t}", q(n))))
                .collect::<Vec<_>>()
                .join(", ");
            self.run(
                &format!("CREATE TABLE IF NOT EXISTS {target} ({defs})"),
                Bindings::None,
                &format!("creating table {id}"),
            )
            .await?;
            tracing::info!(table = %id, columns = columns.len(), "created Snowflake table");
            let known = columns
                .iter()
                .map(|(n, t)| {
                    let (ty, numeric) = reported_type(t);
                    (n.clone(), ty, numeric)
                })
                .chain(meta_columns().iter().map(|(n, _)| (n.clone(), String::new(), None)))
                .collect();
            self.tables.insert(sf, known);
            return Ok(());
        };
        for (name, ty) in columns {
            let (wanted, wanted_numeric) = reported_type(ty);
            match existing.iter().find(|(n, _, _)| n == name) {
                None => {
                    // IF NOT EXISTS: another loader of the group, or this one before a crash, may have added it.
                    // Older rows get the source's fill value after the MERGE (`fill_older_rows`).
                    self.run(
                        &format!(
                            "ALTER TABLE {target} ADD COLUMN IF NOT EXISTS {} {}",
                            q(name),
                            type_name(ty)
                        ),
                        Bindings::None,
                        &format!("adding column {name} to {id}"),
                    )
                    .await?;
                    tracing::info!(table = %id, column = %name, r#type = %type_name(ty), "added Snowflake column");
                }
                Some((_, have, have_numeric)) if have.is_empty() || *have == wanted => {
                    if let (Some((hp, hs)), Some((wp, ws))) = (have_numeric, wanted_numeric) {
                        if hs == &ws && wp > *hp {
                            self.run(
                                &format!(
                                    "ALTER TABLE {target} ALTER COLUMN {} SET DATA TYPE {}",
                                    q(name),
                                    type_name(ty)
                                ),
                                Bindings::None,
                                &format!("widening column {name} of {id}"),
                            )
                            .await?;
                            tracing::info!(table = %id, column = %name, to = %type_name(ty), "widened Snowflake column");
                        } else if hs != &ws || wp > *hp {
                            return Err(WarehouseError::IncompatibleType {
                                table: id.to_string(),
                                column: name.clone(),
                                from: format!("NUMBER({hp},{hs})"),
                                to: type_name(ty),
                            });
                        }
                    }
                }
                Some((_, have, _)) => {
                    return Err(WarehouseError::IncompatibleType {
                        table: id.to_string(),
                        column: name.clone(),
                        from: have.clone(),
                        to: type_name(ty),
                    })
                }
            }
        }
        for (name, _, _) in &existing {
            if !name.starts_with("_CDC_") && !columns.iter().any(|(n, _)| n == name) {
                tracing::warn!(table = %id, column = %name, "column no longer in the source; kept in Snowflake");
            }
        }
        let known = self.tables.entry(sf).or_default();
        for (name, ty) in columns {
            let (wanted, numeric) = reported_type(ty);
            match known.iter_mut().find(|(n, _, _)| n == name) {
                Some(entry) => *entry = (name.clone(), wanted, numeric),
                None => known.push((name.clone(), wanted, numeric)),
            }
        }
        Ok(())
    }

    /// [`Self::apply_once`], started over once if the session was renewed meanwhile (a new session has lost the
    /// staging tables; every step is idempotent, so redoing them is safe).
    async fn apply(&self, plan: &TablePlan, columns: &[(String, TargetType)]) -> Result<(), WarehouseError> {
        let generation = self.client.session_generation();
        match self.apply_once(plan, columns).await {
            Err(e) if self.client.session_generation() != generation => {
                tracing::info!(table = %plan.schema.id, error = %e, "Snowflake session renewed mid-batch; staging again");
                self.apply_once(plan, columns).await
            }
            result => result,
        }
    }

    async fn apply_once(
        &self,
        plan: &TablePlan,
        columns: &[(String, TargetType)],
    ) -> Result<(), WarehouseError> {
        let id = &plan.schema.id;
        let (_, target) = self.target(id);
        if let Some(truncate) = plan.truncate {
            let (statement, values) = sql::truncate(
                &target,
                self.config.delete_mode,
                truncate.commit_lsn.as_u64(),
                truncate.event_lsn.as_u64(),
            );
            self.run(
                &statement,
                Bindings::Row(values.into_iter().map(Bind::fixed).collect()),
                &format!("truncating {id}"),
            )
            .await?;
        }
        if plan.rows.is_empty() {
            return Ok(());
        }
        let key = plan.key_indexes();
        let staging = Staging {
            raw: format!("_CDC_RAW_{}", plan.schema.relation_oid),
            typed: format!("_CDC_STAGE_{}", plan.schema.relation_oid),
            columns,
            key: &key,
        };
        self.run(&staging.create_raw(), Bindings::None, &format!("creating the staging table of {id}"))
            .await?;
        let mut unsent = vec![false; columns.len()];
        let mut unrepresentable: HashSet<&str> = HashSet::new();
        for rows in plan.rows.chunks(ROWS_PER_INSERT) {
            let mut binds: Vec<(&'static str, Vec<Option<String>>)> = STAGE_META_BINDS
                .iter()
                .map(|kind| (*kind, Vec::with_capacity(rows.len())))
                .chain(columns.iter().flat_map(|_| {
                    [("TEXT", Vec::with_capacity(rows.len())), ("BOOLEAN", Vec::with_capacity(rows.len()))]
                }))
                .collect();
            for row in rows {
                let meta = [
                    Some(if row.action == RowAction::Delete { "d" } else { "u" }.to_owned()),
                    Some(row.op.code().to_owned()),
                    Some(row.position.commit_lsn.as_u64().to_string()),
                    Some(row.position.event_lsn.as_u64().to_string()),
                    Some(row.xid.to_string()),
                    encode::staging_text(
                        &Value::TimestampTz(cdc_core::TimestampValue::Micros(row.source_ts_micros)),
                        &TargetType::TimestampTz,
                    )
                    .ok()
                    .flatten(),
                ];
                for (i, cell) in meta.into_iter().enumerate() {
                    binds[i].1.push(cell);
                }
                for (c, (value, (name, ty))) in row.values.iter().zip(columns).enumerate() {
                    let sent = !matches!(value, Value::Unchanged);
                    unsent[c] |= !sent;
                    let text = match encode::staging_text(value, ty) {
                        Ok(text) => text,
                        // NULL would merge distinct keys into one row.
                        Err(_) if key.contains(&c) => {
                            return Err(WarehouseError::UnrepresentableKey {
                                table: id.to_string(),
                                column: name.clone(),
                            })
                        }
                        Err(_) => {
                            unrepresentable.insert(name.as_str());
                            None
                        }
                    };
                    binds[6 + 2 * c].1.push(text);
                    binds[7 + 2 * c].1.push(Some(sent.to_string()));
                }
            }
            self.run(&staging.insert_raw(), Bindings::Columns(binds), &format!("staging rows of {id}"))
                .await?;
        }
        if !unrepresentable.is_empty() {
            tracing::warn!(table = %id, columns = ?unrepresentable, "values outside Snowflake's range (infinite or BC dates, 24:00:00) loaded as NULL");
        }
        self.run(&staging.create_typed(), Bindings::None, &format!("converting the staged rows of {id}"))
            .await?;
        for (c, (name, _)) in columns.iter().enumerate() {
            if unsent[c] {
                self.run(
                    &staging.fill_unsent(&target, c),
                    Bindings::None,
                    &format!("keeping unchanged {name} of {id}"),
                )
                .await?;
            }
        }
        self.run(
            &staging.merge(&target, self.config.delete_mode),
            Bindings::None,
            &format!("merging into {id}"),
        )
        .await?;
        for table in [&staging.raw, &staging.typed] {
            self.run(
                &format!("DROP TABLE IF EXISTS {}", q(table)),
                Bindings::None,
                "dropping a staging table",
            )
            .await?;
        }
        Ok(())
    }

    /// Gives rows written before a column existed in the source the value the source reads for them (PostgreSQL's
    /// fill value of a column added with a default). Runs after a plan's MERGE, so it is repeated after a crash:
    /// - a plan of the version that has the column fills rows older than its first change, once per version and
    ///   process (its own rows carry the column);
    /// - a plan of an older version, merged after the column was added (a late partition, a replay), fills the rows
    ///   it may just have written without the column, each time.
    async fn fill_older_rows(
        &mut self,
        plan: &TablePlan,
        columns: &[(String, TargetType)],
    ) -> Result<(), WarehouseError> {
        let (sf, target) = self.target(&plan.schema.id);
        let id = &plan.schema.id;
        for (column, (name, ty)) in plan.schema.columns.iter().zip(columns) {
            let Some(text) = column.fill_value.as_deref() else { continue };
            let Some(fill) = cdc_core::value::parse_text(&column.pg_type, text)
                .ok()
                .and_then(|value| encode::staging_text(&value, ty).ok().flatten())
            else {
                continue;
            };
            let known = self.fills.entry(sf.clone()).or_default();
            if !known.iter().any(|(n, _, _)| n == name) {
                known.push((name.clone(), ty.clone(), fill));
            }
        }
        let (Some(first), Some(last)) =
            (plan.rows.iter().map(|r| r.position).min(), plan.rows.iter().map(|r| r.position).max())
        else {
            return Ok(());
        };
        let mut work = Vec::new();
        for (name, ty, fill) in self.fills.get(&sf).into_iter().flatten() {
            if columns.iter().any(|(n, _)| n == name) {
                if !self.filled.contains(&(sf.clone(), plan.schema.version)) {
                    work.push((name.clone(), ty.clone(), fill.clone(), first));
                }
            } else {
                // Everything this older version wrote is at or before `last`; the column came after.
                let after = Position {
                    commit_lsn: last.commit_lsn,
                    event_lsn: Lsn::new(last.event_lsn.as_u64() + 1),
                };
                work.push((name.clone(), ty.clone(), fill.clone(), after));
            }
        }
        for (name, ty, fill, before) in work {
            let binds = vec![
                Bind::text(fill),
                Bind::fixed(before.commit_lsn.as_u64()),
                Bind::fixed(before.commit_lsn.as_u64()),
                Bind::fixed(before.event_lsn.as_u64()),
            ];
            self.run(
                &Staging::fill_older(&target, &name, &ty),
                Bindings::Row(binds),
                &format!("filling column {name} of {id} for rows that predate it"),
            )
            .await?;
        }
        self.filled.insert((sf, plan.schema.version));
        Ok(())
    }

    /// Upserts one progress row: UPDATE, then INSERT when there was none.
    async fn upsert(
        &self,
        table: &str,
        key: &[(&str, Bind)],
        values: &[(&str, Bind)],
    ) -> Result<(), WarehouseError> {
        let table = format!("{}.{}", self.home, q(&fold(table)));
        let set = values.iter().map(|(c, _)| format!("{} = ?", q(c))).collect::<Vec<_>>().join(", ");
        let filter = key.iter().map(|(c, _)| format!("{} = ?", q(c))).collect::<Vec<_>>().join(" AND ");
        let binds = values.iter().chain(key).map(|(_, b)| b.clone()).collect();
        let updated = self
            .run(
                &format!("UPDATE {table} SET {set}, \"UPDATED_AT\" = CURRENT_TIMESTAMP() WHERE {filter}"),
                Bindings::Row(binds),
                "recording progress",
            )
            .await?;
        if updated.scalar().is_some_and(|n| n != "0") {
            return Ok(());
        }
        let names = key.iter().chain(values).map(|(c, _)| q(c)).collect::<Vec<_>>().join(", ");
        let marks = vec!["?"; key.len() + values.len()].join(", ");
        let binds = key.iter().chain(values).map(|(_, b)| b.clone()).collect();
        self.run(
            &format!("INSERT INTO {table} ({names}, \"UPDATED_AT\") SELECT {marks}, CURRENT_TIMESTAMP()"),
            Bindings::Row(binds),
            "recording progress",
        )
        .await
        .map(drop)
    }

    /// Commits the pending events that the warehouse does not hold yet; on failure they stay pending.
    async fn commit_pending(&mut self) -> Result<(), WarehouseError> {
        // Other loaders of a consumer group may have applied (and recorded) some of these since we last looked:
        // skip them exactly as a replay is skipped.
        self.read_progress().await?;
        let mut fresh = std::mem::take(&mut self.pending);
        fresh.retain(|e| !self.already_applied(e));
        let committed = self.commit(&fresh).await;
        if committed.is_err() {
            self.pending = fresh;
        }
        committed
    }

    async fn commit(&mut self, fresh: &[ChangeEvent]) -> Result<(), WarehouseError> {
        let (reached, offsets) = crate::progress::reached(fresh, self.applied);
        // Each plan's table change just before its rows: a plan of an older schema version then lands before
        // the column it lacks is added and filled.
        let started = std::time::Instant::now();
        let plans = plan(fresh);
        for plan in plans.iter().cloned() {
            let columns: Vec<(String, TargetType)> =
                plan.schema.columns.iter().map(|c| (fold(&c.name), target_type(c))).collect();
            check_unique(&plan, &columns)?;
            self.evolve(&plan, &columns).await?;
            self.apply(&plan, &columns).await?;
            self.fill_older_rows(&plan, &columns).await?;
        }
        for ((topic, partition), next) in &offsets {
            self.upsert(
                meta::LOG_OFFSETS_TABLE,
                &[
                    ("SINK_NAME", Bind::text(&self.config.sink_name)),
                    ("TOPIC", Bind::text(topic)),
                    ("PARTITION", Bind::fixed(partition)),
                ],
                &[("NEXT_OFFSET", Bind::fixed(next))],
            )
            .await?;
        }
        if let Some(reached) = reached.filter(|r| Some(*r) != self.applied) {
            self.upsert(
                meta::PROGRESS_TABLE,
                &[("SINK_NAME", Bind::text(&self.config.sink_name))],
                &[
                    ("COMMIT_LSN", Bind::fixed(reached.commit_lsn.as_u64())),
                    ("EVENT_LSN", Bind::fixed(reached.event_lsn.as_u64())),
                ],
            )
            .await?;
        }
        self.applied = reached;
        self.applied_offsets.extend(offsets);
        crate::record_merge(&plans, started.elapsed());
        Ok(())
    }
}

/// Two source columns must not fold to one Snowflake name (`id` and `"ID"`).
fn check_unique(plan: &TablePlan, columns: &[(String, TargetType)]) -> Result<(), WarehouseError> {
    for (i, (name, _)) in columns.iter().enumerate() {
        if let Some(j) = columns[..i].iter().position(|(other, _)| other == name) {
            return Err(WarehouseError::NameClash {
                table: plan.schema.id.to_string(),
                first: plan.schema.columns[j].name.clone(),
                second: plan.schema.columns[i].name.clone(),
                warehouse: name.clone(),
            });
        }
    }
    Ok(())
}

impl Sink for SnowflakeSink {
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
        let result = self.commit_pending().await;
        if result.is_err() {
            // Tables may have been created or altered before the failure: re-learn what exists.
            if let Ok(tables) = self.read_tables().await {
                self.tables = tables;
            }
        }
        result.map_err(|e| SinkError::Other(Box::new(e)))
    }
}
