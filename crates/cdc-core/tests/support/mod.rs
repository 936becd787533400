//! Shared setup for cdc-core's integration tests: a cluster, a database, and a running pipeline into a
//! [`MemorySink`] that the test reads.

use std::time::Duration;

use cdc_core::config::{PipelineConfig, PostgresConfig, Secret, SnapshotMode, SourceConfig};
use cdc_core::pipeline::Pipeline;
use cdc_core::postgres::PgSource;
use cdc_core::sinks::MemorySink;
use cdc_core::{ChangeEvent, Value};
use cdc_test_support::PgCluster;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub const WAIT: Duration = Duration::from_secs(60);

/// A cluster with one database `app`, prepared by `setup_sql`.
pub struct TestDb {
    pub cluster: PgCluster,
    pub client: tokio_postgres::Client,
}

impl TestDb {
    pub async fn new(setup_sql: &str) -> TestDb {
        let cluster = PgCluster::start();
        cluster.create_database("app").await;
        let client = cluster.connect("app").await;
        client.batch_execute(setup_sql).await.expect("setup SQL");
        TestDb { cluster, client }
    }

    pub fn pg_config(&self) -> PostgresConfig {
        PostgresConfig {
            host: self.cluster.host().into(),
            port: self.cluster.port(),
            dbname: "app".into(),
            user: "postgres".into(),
            password: Some(Secret::new(self.cluster.password())),
            ..PostgresConfig::default()
        }
    }

    pub fn source_config(&self, tables: &[&str], snapshot: SnapshotMode) -> SourceConfig {
        SourceConfig {
            tables: tables.iter().map(|t| t.to_string()).collect(),
            snapshot_mode: snapshot,
            heartbeat_interval_ms: 200,
            status_interval_ms: 200,
            ..SourceConfig::default()
        }
    }

    /// Starts a pipeline PgSource → MemorySink in the background.
    pub async fn capture(&self, source: SourceConfig) -> Running {
        let sink = MemorySink::new();
        let pg = self.pg_config();
        let src = PgSource::start(pg, source).await.expect("source starts");
        let (stop, stop_rx) = watch::channel(false);
        let mut pipeline =
            Pipeline::new(src, sink.clone(), PipelineConfig { batch_size: 500, poll_timeout_ms: 100 });
        let task = tokio::spawn(async move {
            pipeline.run(stop_rx).await.expect("pipeline runs");
            let (source, _) = pipeline.into_parts();
            source
        });
        Running { sink, stop, task }
    }
}

/// A pipeline running in the background.
pub struct Running {
    pub sink: MemorySink,
    stop: watch::Sender<bool>,
    task: JoinHandle<PgSource>,
}

impl Running {
    pub async fn wait_for(&self, count: usize) -> Vec<ChangeEvent> {
        tokio::time::timeout(WAIT, self.sink.wait_for_events(count)).await.unwrap_or_else(|_| {
            panic!("timed out waiting for {count} events; got {}", self.sink.events().len())
        })
    }

    pub async fn stop(self) -> cdc_core::Lsn {
        self.stop_source().await.durable_lsn()
    }

    /// Stops the pipeline and hands back its source.
    pub async fn stop_source(self) -> PgSource {
        let _ = self.stop.send(true);
        self.task.await.expect("pipeline task")
    }
}

/// The value of `column` in the event's `after` (or `before` when there is no after).
pub fn col<'a>(event: &'a ChangeEvent, column: &str) -> &'a Value {
    let index = event.schema.column_index(column).unwrap_or_else(|| panic!("no column {column}"));
    let row = event.after.as_ref().or(event.before.as_ref()).expect("a row");
    &row.0[index]
}

pub fn before_col<'a>(event: &'a ChangeEvent, column: &str) -> &'a Value {
    let index = event.schema.column_index(column).unwrap_or_else(|| panic!("no column {column}"));
    &event.before.as_ref().expect("a before image").0[index]
}
