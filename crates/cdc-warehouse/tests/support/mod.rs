//! Real PostgreSQL → PgSource → DuckDbSink pipelines, and row-by-row comparison of source and warehouse.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cdc_core::config::{PipelineConfig, PostgresConfig, Secret, SnapshotMode, SourceConfig};
use cdc_core::pipeline::Pipeline;
use cdc_core::postgres::PgSource;
use cdc_core::Sink;
use cdc_test_support::{wait_for, PgCluster};
use cdc_warehouse::duckdb::{DuckDbConfig, DuckDbSink};
use cdc_warehouse::DeleteMode;
use tokio::sync::watch;

pub struct Db {
    pub cluster: PgCluster,
    pub client: tokio_postgres::Client,
    pub dir: tempfile::TempDir,
}

impl Db {
    pub async fn new(setup: &str) -> Db {
        let cluster = PgCluster::start();
        let client = cluster.connect("postgres").await;
        client.batch_execute(setup).await.expect("setup SQL");
        Db { cluster, client, dir: tempfile::tempdir().unwrap() }
    }

    pub fn pg(&self) -> PostgresConfig {
        PostgresConfig {
            host: "127.0.0.1".into(),
            port: self.cluster.port(),
            user: "postgres".into(),
            password: Some(Secret::new(self.cluster.password())),
            ..PostgresConfig::default()
        }
    }

    pub fn duckdb_path(&self) -> PathBuf {
        self.dir.path().join("warehouse.duckdb")
    }

    /// Runs the pipeline until the slot has confirmed everything written so far, then stops it and closes the
    /// warehouse.
    pub async fn sync(&self, tables: &[&str], mode: DeleteMode) {
        let sink = DuckDbSink::open(DuckDbConfig {
            path: self.duckdb_path(),
            delete_mode: mode,
            ..Default::default()
        })
        .expect("open duckdb");
        self.sync_into(tables, sink, 2000).await;
    }

    /// [`Db::sync`] into any sink, `batch_size` events per flush at most; returns the sink.
    pub async fn sync_into<K: Sink + Send + 'static>(
        &self,
        tables: &[&str],
        sink: K,
        batch_size: usize,
    ) -> K {
        let source = SourceConfig {
            tables: tables.iter().map(|t| t.to_string()).collect(),
            snapshot_mode: SnapshotMode::Initial,
            heartbeat_interval_ms: 100,
            status_interval_ms: 100,
            ..SourceConfig::default()
        };
        let src = PgSource::start(self.pg(), source).await.expect("source");
        let (stop, rx) = watch::channel(false);
        let mut pipeline = Pipeline::new(src, sink, PipelineConfig { batch_size, poll_timeout_ms: 100 });
        let task = tokio::spawn(async move {
            pipeline.run(rx).await.expect("pipeline");
            pipeline.into_parts().1
        });
        self.wait_snapshot_done(tables.len()).await;
        self.wait_caught_up().await;
        let _ = stop.send(true);
        task.await.unwrap()
    }

    /// Waits until `tables` snapshots are recorded done (their rows are then in the warehouse).
    pub async fn wait_snapshot_done(&self, tables: usize) {
        let c = &self.client;
        wait_for("the snapshot to complete", Duration::from_secs(120), || async move {
            let done: i64 = c
                .query_one("SELECT count(*) FROM cdc_snapshot_progress WHERE slot_name = 'cdc_slot'", &[])
                .await
                .map(|r| r.get(0))
                .unwrap_or(0);
            (done as usize >= tables).then_some(())
        })
        .await;
    }

    /// Waits until the capture slot confirmed the current end of WAL.
    pub async fn wait_caught_up(&self) {
        // The insert position, not pg_current_wal_lsn(): with synchronous_commit = off the latter can lag the
        // last commits, which the slot then has not seen yet.
        let end: String =
            self.client.query_one("SELECT pg_current_wal_insert_lsn()::text", &[]).await.unwrap().get(0);
        let c = &self.client;
        let end = &end;
        wait_for("the slot to confirm the end of WAL", Duration::from_secs(900), || async move {
            c.query_opt(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'cdc_slot'
                 AND confirmed_flush_lsn >= $1::text::pg_lsn",
                &[end],
            )
            .await
            .unwrap()
            .map(|_| ())
        })
        .await;
    }
}

pub type Dump = Vec<Vec<Option<String>>>;

pub async fn pg_dump(client: &tokio_postgres::Client, sql: &str) -> Dump {
    client
        .query(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| (0..r.len()).map(|i| r.get::<_, Option<String>>(i)).collect())
        .collect()
}

pub fn duck_dump(path: &Path, sql: &str) -> Dump {
    let conn = duckdb::Connection::open(path).expect("open duckdb for reading");
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut rows = stmt.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        let n = row.as_ref().column_count();
        out.push((0..n).map(|i| row.get::<_, Option<String>>(i).unwrap()).collect());
    }
    out
}

/// Asserts equal dumps (compared in sorted order), reporting the first differing rows.
pub fn assert_same(table: &str, source: &Dump, warehouse: &Dump) {
    let (mut source, mut warehouse) = (source.clone(), warehouse.clone());
    source.sort();
    warehouse.sort();
    if source == warehouse {
        return;
    }
    let first =
        source.iter().zip(&warehouse).position(|(a, b)| a != b).unwrap_or(source.len().min(warehouse.len()));
    panic!(
        "{table}: source has {} rows, warehouse {}; first difference at row {first}:\n  source    {:?}\n  warehouse {:?}",
        source.len(),
        warehouse.len(),
        source.get(first),
        warehouse.get(first)
    );
}
