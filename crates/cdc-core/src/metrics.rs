//! The metrics contract: every metric `cdc` exports, named `cdc_<name>_<unit>[_total]`, described once.
//!
//! Components record through the `metrics` facade (`metrics::counter!(EVENTS_CAPTURED, …)`); the binary installs
//! the Prometheus recorder and serves `/metrics`. Labels are low-cardinality: `pipeline` (the connector name),
//! `table` (`schema.table`), `op` (`c`, `u`, `d`, `r`, `t`), `topic`/`partition` for consumer lag. The Grafana
//! dashboard and the alert rules in `deploy/` use only these names; a test checks that against a live `/metrics`.

/// Changes read from the source (PostgreSQL or Kafka), by table and op.
pub const EVENTS_CAPTURED: &str = "cdc_events_captured_total";
/// Changes the sink made durable, by table and op.
pub const EVENTS_APPLIED: &str = "cdc_events_applied_total";
/// Batches made durable.
pub const BATCHES: &str = "cdc_batches_total";
/// Seconds from reading a batch to acknowledging it (write + flush + ack).
pub const BATCH_DURATION: &str = "cdc_batch_duration_seconds";
/// Events per durable batch.
pub const BATCH_EVENTS: &str = "cdc_batch_events";
/// Unix time (seconds) of the last change made durable.
pub const LAST_EVENT_TIMESTAMP: &str = "cdc_last_event_timestamp_seconds";
/// Milliseconds between the newest durable change's source commit and its application.
pub const TIME_BEHIND_SOURCE: &str = "cdc_time_behind_source_milliseconds";
/// Bytes of WAL between the server's current position and what the slot has confirmed.
pub const REPLICATION_LAG: &str = "cdc_replication_lag_bytes";
/// Bytes of WAL the slot retains on the server (`pg_current_wal_lsn() - restart_lsn`).
pub const SLOT_RETAINED_WAL: &str = "cdc_slot_retained_wal_bytes";
/// The server's current WAL position in bytes: its rate is how busy the source is.
pub const SOURCE_WAL_POSITION: &str = "cdc_source_wal_position_bytes";
/// Snapshot progress: tables done and in total, rows copied and estimated (by table).
pub const SNAPSHOT_TABLES_DONE: &str = "cdc_snapshot_tables_done";
pub const SNAPSHOT_TABLES_PLANNED: &str = "cdc_snapshot_tables_planned";
pub const SNAPSHOT_ROWS_COPIED: &str = "cdc_snapshot_rows_copied_total";
pub const SNAPSHOT_ROWS_ESTIMATED: &str = "cdc_snapshot_rows_estimated";
/// Kafka producer: seconds from send to delivery report, and failed deliveries.
pub const KAFKA_PRODUCE_LATENCY: &str = "cdc_kafka_produce_latency_seconds";
pub const KAFKA_PRODUCE_ERRORS: &str = "cdc_kafka_produce_errors_total";
/// Kafka consumer: records behind the end of each partition (`topic`, `partition`).
pub const CONSUMER_LAG: &str = "cdc_consumer_lag_records";
/// Records sent to the dead-letter topic.
pub const DEAD_LETTERS: &str = "cdc_dead_letter_records_total";
/// Warehouse: seconds per MERGE (by table) and rows merged.
pub const WAREHOUSE_MERGE_DURATION: &str = "cdc_warehouse_merge_duration_seconds";
pub const WAREHOUSE_ROWS_MERGED: &str = "cdc_warehouse_rows_merged_total";
/// `cdc ingest`: runs by outcome (`status`), jobs upserted, failed requests, the API quota left.
pub const INGEST_RUNS: &str = "cdc_ingest_runs_total";
pub const INGEST_JOBS: &str = "cdc_ingest_jobs_total";
pub const INGEST_ERRORS: &str = "cdc_ingest_errors_total";
pub const INGEST_QUOTA_REMAINING: &str = "cdc_ingest_api_quota_remaining";
/// 1 while the connector runs, by `state` (RUNNING, PAUSED, FAILED).
pub const CONNECTOR_STATE: &str = "cdc_connector_state";
/// The process: resident memory and uptime.
pub const PROCESS_RSS: &str = "cdc_process_resident_memory_bytes";
pub const PROCESS_UPTIME: &str = "cdc_process_uptime_seconds";

/// Every name, with its help text and kind, for `describe` and for tests.
pub const ALL: &[(&str, Kind, &str)] = &[
    (EVENTS_CAPTURED, Kind::Counter, "Changes read from the source, by table and op."),
    (EVENTS_APPLIED, Kind::Counter, "Changes the sink made durable, by table and op."),
    (BATCHES, Kind::Counter, "Batches made durable and acknowledged."),
    (BATCH_DURATION, Kind::Histogram, "Seconds from reading a batch to acknowledging it."),
    (BATCH_EVENTS, Kind::Histogram, "Events per durable batch."),
    (LAST_EVENT_TIMESTAMP, Kind::Gauge, "Unix time of the last change made durable."),
    (
        TIME_BEHIND_SOURCE,
        Kind::Gauge,
        "Milliseconds from the newest durable change's commit to its application.",
    ),
    (
        REPLICATION_LAG,
        Kind::Gauge,
        "WAL bytes between the server's position and the slot's confirmed position.",
    ),
    (SLOT_RETAINED_WAL, Kind::Gauge, "WAL bytes the replication slot retains."),
    (SOURCE_WAL_POSITION, Kind::Gauge, "The source server's current WAL position, in bytes."),
    (SNAPSHOT_TABLES_DONE, Kind::Gauge, "Tables whose snapshot is done."),
    (SNAPSHOT_TABLES_PLANNED, Kind::Gauge, "Tables the snapshot covers."),
    (SNAPSHOT_ROWS_COPIED, Kind::Counter, "Snapshot rows copied, by table."),
    (SNAPSHOT_ROWS_ESTIMATED, Kind::Gauge, "Estimated rows of each table being snapshotted."),
    (KAFKA_PRODUCE_LATENCY, Kind::Histogram, "Seconds from produce to delivery report."),
    (KAFKA_PRODUCE_ERRORS, Kind::Counter, "Kafka deliveries that failed."),
    (CONSUMER_LAG, Kind::Gauge, "Records between the group's position and the end of each partition."),
    (DEAD_LETTERS, Kind::Counter, "Records sent to the dead-letter topic."),
    (WAREHOUSE_MERGE_DURATION, Kind::Histogram, "Seconds per warehouse commit of a batch."),
    (WAREHOUSE_ROWS_MERGED, Kind::Counter, "Rows merged into warehouse tables, by table."),
    (INGEST_RUNS, Kind::Counter, "Ingestion runs, by status."),
    (INGEST_JOBS, Kind::Counter, "Job postings upserted."),
    (INGEST_ERRORS, Kind::Counter, "Failed API requests."),
    (INGEST_QUOTA_REMAINING, Kind::Gauge, "Requests left in the API quota."),
    (CONNECTOR_STATE, Kind::Gauge, "1 for the connector's current state (RUNNING, PAUSED, FAILED), else 0."),
    (PROCESS_RSS, Kind::Gauge, "Resident memory of the process, in bytes."),
    (PROCESS_UPTIME, Kind::Gauge, "Seconds since the process started."),
];

/// A metric's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

static PIPELINE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Names this process's pipeline for the `pipeline` label of metrics recorded by components that do not know it
/// (sinks, the Kafka source). The first name set wins; a process running several pipelines (`cdc connect`)
/// names each with [`in_pipeline`].
pub fn set_pipeline(name: &str) {
    let _ = PIPELINE.set(name.to_owned());
}

tokio::task_local! {
    static TASK_PIPELINE: String;
}

/// Runs `future` with `name` as the `pipeline` label of everything it records.
pub async fn in_pipeline<F: std::future::Future>(name: String, future: F) -> F::Output {
    TASK_PIPELINE.scope(name, future).await
}

/// The `pipeline` label value: the task's ([`in_pipeline`]), else the process's ([`set_pipeline`]), else `cdc`.
pub fn pipeline() -> String {
    TASK_PIPELINE
        .try_with(Clone::clone)
        .unwrap_or_else(|_| PIPELINE.get().cloned().unwrap_or_else(|| "cdc".to_owned()))
}

/// Registers the help text of every metric with the installed recorder (call once, after installing it).
pub fn describe() {
    for &(name, kind, help) in ALL {
        match kind {
            Kind::Counter => metrics::describe_counter!(name, help),
            Kind::Gauge => metrics::describe_gauge!(name, help),
            Kind::Histogram => metrics::describe_histogram!(name, help),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_convention_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for (name, kind, _) in ALL {
            assert!(name.starts_with("cdc_"), "{name}");
            assert!(seen.insert(name), "{name} twice");
            assert_eq!(
                name.ends_with("_total"),
                *kind == Kind::Counter,
                "{name}: counters, and only they, end in _total"
            );
        }
    }
}
