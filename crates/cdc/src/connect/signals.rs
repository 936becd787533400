//! Debezium's signalling table (`signal.data.collection`): a row `(id, type, data)` inserted there asks the
//! connector for something. `execute-snapshot` (`{"data-collections": ["public.orders"], …}`) snapshots the named
//! captured tables again; other signal types are logged as not supported.
//!
//! Debezium reads signal rows from the WAL; here a watcher polls the table every second and remembers the ids it
//! handled in `public.cdc_signals_done` (per slot), so each signal is acted on once, across restarts. A snapshot
//! signal forgets the tables' snapshot progress (done or in chunks) and restarts the connector's pipeline, which
//! resumes streaming from the slot and reads those tables again with an incremental snapshot
//! (`cdc_core::postgres::incremental`), chunk by chunk between streamed transactions. A `"type": "blocking"`
//! signal is read incrementally too (logged): the result in the topics is the same, only interleaved.

use std::sync::Arc;
use std::time::Duration;

use cdc_core::config::PostgresConfig;
use cdc_core::postgres::incremental;
use cdc_core::schema::TableId;
use tokio::sync::watch;

use super::pattern::Pattern;
use crate::admin::Connector;

const DONE_TABLE: &str = "cdc_signals_done";
const POLL: Duration = Duration::from_secs(1);

/// What the watcher needs to know about its connector.
#[derive(Debug, Clone)]
pub struct Signals {
    pub postgres: PostgresConfig,
    pub slot: String,
    /// `schema.table` of the signal table.
    pub table: TableId,
    /// The tables the connector captures, `schema.table`.
    pub captured: Vec<String>,
}

/// Whether the signal table exists (checked before the connector starts).
pub async fn table_exists(postgres: &PostgresConfig, table: &TableId) -> anyhow::Result<bool> {
    let client = cdc_core::postgres::connect(postgres).await?;
    let row = client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table.quoted()]).await?;
    Ok(row.get(0))
}

/// Watches the signal table until `stop` turns true.
pub fn spawn(signals: Signals, connector: Arc<Connector>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = poll(&signals, &connector).await {
                tracing::warn!(table = %signals.table, error = %e, "cannot read the signal table; retrying");
            }
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    });
}

async fn poll(signals: &Signals, connector: &Connector) -> anyhow::Result<()> {
    let mut client = cdc_core::postgres::connect(&signals.postgres).await?;
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS public.{DONE_TABLE} (slot_name text, signal_id text, handled_at timestamptz \
             DEFAULT now(), PRIMARY KEY (slot_name, signal_id))"
        ))
        .await?;
    let pending = client
        .query(
            &format!(
                "SELECT s.id::text, s.type::text, s.data::text FROM {} s WHERE NOT EXISTS (SELECT 1 FROM \
                 public.{DONE_TABLE} d WHERE d.slot_name = $1 AND d.signal_id = s.id::text)",
                signals.table.quoted()
            ),
            &[&signals.slot],
        )
        .await?;
    for row in pending {
        let (id, kind, data): (String, Option<String>, Option<String>) = (row.get(0), row.get(1), row.get(2));
        let tables = match kind.as_deref() {
            Some("execute-snapshot") => snapshot_tables(signals, data.as_deref()),
            other => {
                tracing::warn!(signal = %id, kind = ?other, "signal type not supported by cdc connect; ignored");
                Vec::new()
            }
        };
        let tx = client.transaction().await?;
        tx.execute(
            &format!("INSERT INTO public.{DONE_TABLE} (slot_name, signal_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"),
            &[&signals.slot, &id],
        )
        .await?;
        for table in &tables {
            incremental::forget_table(&tx, &signals.slot, &TableId::parse(table)).await?;
        }
        tx.commit().await?;
        if !tables.is_empty() {
            tracing::info!(signal = %id, ?tables, "execute-snapshot: snapshotting the tables again");
            connector.restart();
        }
    }
    Ok(())
}

/// The captured tables an `execute-snapshot` signal names (entries are regular expressions, as in Debezium).
fn snapshot_tables(signals: &Signals, data: Option<&str>) -> Vec<String> {
    let parsed: Option<serde_json::Value> = data.and_then(|d| serde_json::from_str(d).ok());
    let Some(entries) = parsed.as_ref().and_then(|d| d.get("data-collections")).and_then(|c| c.as_array())
    else {
        tracing::warn!(data = ?data, "execute-snapshot signal without a data-collections list; ignored");
        return Vec::new();
    };
    let mut tables = Vec::new();
    for entry in entries.iter().filter_map(|e| e.as_str()) {
        let Ok(pattern) = Pattern::new(entry, true) else {
            tracing::warn!(entry, "execute-snapshot entry is not a valid regular expression; ignored");
            continue;
        };
        let matched: Vec<&String> = signals.captured.iter().filter(|t| pattern.full_match(t)).collect();
        if matched.is_empty() {
            tracing::warn!(entry, "execute-snapshot names no captured table; ignored");
        }
        tables.extend(matched.into_iter().cloned());
    }
    tables.sort();
    tables.dedup();
    tables
}
