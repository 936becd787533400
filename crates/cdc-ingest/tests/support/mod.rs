//! Shared test fixtures: a real PostgreSQL with the schema applied, the fake JSearch server, and configs.

#![allow(dead_code)]

pub mod jsearch;

use std::sync::{Arc, Mutex, OnceLock};

use cdc_core::config::{PostgresConfig, Secret};
use cdc_ingest::{DbInitOptions, IngestConfig};
use cdc_test_support::PgCluster;

/// The API key every test configures; it must never show up in an error, a log line or a table.
pub const TEST_KEY: &str = "sk-test-9f8e7d6c5b4a-SECRET";

pub const REPLICATOR_PASSWORD: &str = "replicator-test-pw";

/// A throwaway cluster with database `cdc`.
pub struct TestDb {
    pub cluster: PgCluster,
    pub pg: PostgresConfig,
}

impl TestDb {
    /// A cluster with an empty database `cdc`.
    pub async fn empty() -> TestDb {
        capture_logs();
        let cluster = PgCluster::start();
        cluster.create_database("cdc").await;
        let pg = PostgresConfig {
            host: cluster.host().to_owned(),
            port: cluster.port(),
            dbname: "cdc".into(),
            user: "postgres".into(),
            password: Some(Secret::new(cluster.password())),
            ..PostgresConfig::default()
        };
        TestDb { cluster, pg }
    }

    /// A cluster with `db init` applied (sample data included).
    pub async fn initialized() -> TestDb {
        let db = TestDb::empty().await;
        cdc_ingest::db_init(&db.pg, &init_options()).await.expect("db init");
        db
    }

    /// A superuser client on `cdc`.
    pub async fn client(&self) -> tokio_postgres::Client {
        self.cluster.connect("cdc").await
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.client().await.query_one(sql, &[]).await.expect(sql).get(0)
    }

    /// Every row of `ingestion_runs` as text, for secret checks.
    pub async fn runs_text(&self) -> String {
        let rows = self
            .client()
            .await
            .query("SELECT r::text FROM ingestion_runs r ORDER BY run_id", &[])
            .await
            .expect("read ingestion_runs");
        rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n")
    }
}

/// Status, error count and error messages of the first `ingestion_runs` row.
pub async fn run_row(db: &TestDb) -> (String, i32, serde_json::Value) {
    let row = db
        .client()
        .await
        .query_one("SELECT status, error_count, errors FROM ingestion_runs ORDER BY run_id LIMIT 1", &[])
        .await
        .expect("run row");
    (row.get(0), row.get(1), row.get(2))
}

pub fn init_options() -> DbInitOptions {
    DbInitOptions { replication_password: Some(Secret::new(REPLICATOR_PASSWORD)), ..DbInitOptions::default() }
}

/// Both fixture queries, fast retries, no client-side pacing to speak of.
pub fn ingest_config(base_url: &str) -> IngestConfig {
    IngestConfig {
        api_key: Some(Secret::new(TEST_KEY)),
        base_url: base_url.to_owned(),
        queries: vec!["data engineer".into(), "rust developer".into()],
        location: "United States".into(),
        max_pages: 5,
        requests_per_second: 1000.0,
        max_retries: 3,
        initial_backoff_ms: 5,
        max_backoff_ms: 20,
        ..IngestConfig::default()
    }
}

/// Asserts `text` does not contain the test key.
pub fn assert_no_secret(what: &str, text: &str) {
    assert!(!text.contains(TEST_KEY), "{what} contains the API key: {text}");
    assert!(!text.contains("9f8e7d6c5b4a"), "{what} contains part of the API key: {text}");
}

/// The error, its Debug form and every cause, as one text.
pub fn error_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("{error} {error:?}");
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(&format!(" {c} {c:?}"));
        cause = c.source();
    }
    text
}

/// Log output of every test in this binary (debug level, all crates), for secret checks.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

static LOGS: OnceLock<LogBuffer> = OnceLock::new();

/// Installs the process-wide subscriber once. Global rather than per test: a thread-local subscriber can miss
/// events whose callsite another test thread registered first.
fn capture_logs() -> &'static LogBuffer {
    LOGS.get_or_init(|| {
        let buffer = LogBuffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
        buffer
    })
}

/// Everything logged so far by any test of this binary.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&capture_logs().0.lock().expect("lock")).into_owned()
}
