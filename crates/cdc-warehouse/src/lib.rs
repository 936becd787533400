//! cdc-warehouse: change batches into warehouse tables, exactly once in final state.
//!
//! ```text
//!  ChangeBatch ──plan::plan()──▶ TablePlan per (table, schema version): one folded row per key, truncates
//!                                     │
//!                 types (PG → warehouse) + encode (values → staging text)
//!                                     │
//!  duckdb::DuckDbSink ─ one transaction: evolve tables, stage rows (Appender), MERGE, write progress ─▶ commit
//! ```
//!
//! The plan is warehouse-neutral (the Snowflake sink reuses it); a dialect renders DDL and the MERGE.
//!
//! Ordering and replays: every warehouse row holds the stream position of the change that wrote it
//! (`_cdc_lsn` = commit LSN, `_cdc_event_lsn` = the change's own LSN). A change is applied only when its position
//! is higher, and the sink's progress row, written in the same transaction, skips changes already applied, so a
//! replay after a crash changes nothing and a deleted row is never resurrected.

pub mod encode;
pub mod error;
pub mod plan;
pub mod progress;
pub mod types;

#[cfg(feature = "duckdb")]
pub mod duckdb;
#[cfg(feature = "snowflake")]
pub mod snowflake;

pub use error::WarehouseError;
pub use plan::{plan, Position, RowAction, TablePlan};

/// Records a committed batch: its commit time and the rows merged per table.
pub(crate) fn record_merge(plans: &[TablePlan], took: std::time::Duration) {
    use cdc_core::metrics as m;
    let pipeline = m::pipeline();
    metrics::histogram!(m::WAREHOUSE_MERGE_DURATION, "pipeline" => pipeline.clone())
        .record(took.as_secs_f64());
    for plan in plans {
        metrics::counter!(m::WAREHOUSE_ROWS_MERGED, "pipeline" => pipeline.clone(), "table" => plan.schema.id.to_string())
            .increment(plan.rows.len() as u64);
    }
}

/// What a delete does in the warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeleteMode {
    /// The row is removed.
    #[default]
    Hard,
    /// The row stays with `_cdc_deleted = true`.
    Soft,
}

/// Names of the metadata columns every target table carries.
pub mod meta {
    pub const OP: &str = "_cdc_op";
    pub const LSN: &str = "_cdc_lsn";
    pub const EVENT_LSN: &str = "_cdc_event_lsn";
    pub const TX_ID: &str = "_cdc_tx_id";
    pub const SOURCE_TS: &str = "_cdc_source_ts";
    pub const SYNCED_AT: &str = "_cdc_synced_at";
    pub const DELETED: &str = "_cdc_deleted";
    /// The sink's progress table.
    pub const PROGRESS_TABLE: &str = "_cdc_progress";
    /// The sink's progress through Kafka: next offset per topic partition (`cdc load`).
    pub const LOG_OFFSETS_TABLE: &str = "_cdc_log_offsets";
}
