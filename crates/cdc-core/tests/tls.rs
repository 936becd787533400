//! TLS to PostgreSQL: `sslmode` require / verify-full on query and replication connections alike.

use cdc_core::config::{SnapshotMode, SslMode};
use cdc_core::postgres::PgSource;
use cdc_core::{Op, Value};
use cdc_test_support::PgCluster;

use crate::support::{col, TestDb};

async fn tls_db() -> TestDb {
    let cluster = PgCluster::builder().tls().start();
    cluster.create_database("app").await;
    let client = cluster.connect("app").await;
    client.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text)").await.unwrap();
    TestDb { cluster, client }
}

#[tokio::test]
async fn capture_works_over_tls_with_require_and_verify_full() {
    let db = tls_db().await;
    for (mode, root) in [(SslMode::Require, None), (SslMode::VerifyFull, Some(db.cluster.ca_cert()))] {
        let mut pg = db.pg_config();
        pg.sslmode = mode;
        pg.sslrootcert = root;
        let mut source = db.source_config(&["t"], SnapshotMode::Never);
        source.slot_name = format!("slot_{mode:?}").to_lowercase();
        let src = PgSource::start(pg, source).await.expect("source starts over TLS");
        let sink = cdc_core::sinks::MemorySink::new();
        let (stop, rx) = tokio::sync::watch::channel(false);
        let mut pipeline = cdc_core::pipeline::Pipeline::new(src, sink.clone(), Default::default());
        let task = tokio::spawn(async move { pipeline.run(rx).await.map(|_| ()) });
        db.client
            .batch_execute(&format!("INSERT INTO t SELECT coalesce(max(id), 0) + 1, '{mode:?}' FROM t"))
            .await
            .unwrap();
        let events = tokio::time::timeout(crate::support::WAIT, sink.wait_for_events(1))
            .await
            .expect("an event over TLS");
        let _ = stop.send(true);
        task.await.unwrap().unwrap();
        let last = events.iter().rev().find(|e| e.op == Op::Insert).expect("an insert");
        assert_eq!(col(last, "v"), &Value::Text(format!("{mode:?}")));
    }
}

#[tokio::test]
async fn verify_full_rejects_a_certificate_it_cannot_trust() {
    let db = tls_db().await;
    let mut pg = db.pg_config();
    pg.sslmode = SslMode::VerifyFull;
    let err = PgSource::start(pg, db.source_config(&["t"], SnapshotMode::Never)).await.unwrap_err();
    let text = format!("{err}: {}", err.hint().unwrap_or_default());
    assert!(text.contains("certificate") || text.contains("TLS"), "{text}");
    assert!(text.contains("sslrootcert"), "the hint names the setting: {text}");
}

#[tokio::test]
async fn require_against_a_server_without_tls_fails_clearly() {
    let db = TestDb::new("CREATE TABLE t (id int PRIMARY KEY)").await;
    let mut pg = db.pg_config();
    pg.sslmode = SslMode::Require;
    let err = PgSource::start(pg, db.source_config(&["t"], SnapshotMode::Never)).await.unwrap_err();
    let text = format!("{err}: {}", err.hint().unwrap_or_default());
    assert!(text.to_lowercase().contains("tls") || text.to_lowercase().contains("ssl"), "{text}");
}
