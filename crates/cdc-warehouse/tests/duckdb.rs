//! PostgreSQL → DuckDB: equality after mixed workloads, replays, schema evolution, types.
//!
//! Size: `CDC_TEST_FULL=1` runs the acceptance size (200k changes); CI runs 6k through the same paths.

use cdc_test_support::workload::{workload, workload_size, DUMPS, TABLES};
use cdc_warehouse::DeleteMode;

use crate::support::{assert_same, duck_dump, pg_dump, Db};

async fn assert_equal(db: &Db) {
    for (table, source_sql, warehouse_sql) in DUMPS {
        let source = pg_dump(&db.client, source_sql).await;
        let warehouse = duck_dump(&db.duckdb_path(), warehouse_sql);
        assert_same(table, &source, &warehouse);
    }
}

async fn mixed_workload_stays_equal(mode: DeleteMode) {
    let db = Db::new(TABLES).await;
    let tables = ["accounts", "docs", "events", "pairs"];
    let total = workload_size(6_000);
    // Part of the workload before the first run (it arrives through the snapshot), the rest streamed.
    workload(&db.client, total / 4, 1).await;
    db.sync(&tables, mode).await;
    assert_equal(&db).await;
    workload(&db.client, total - total / 4, 2).await;
    db.sync(&tables, mode).await;
    assert_equal(&db).await;
}

#[tokio::test]
async fn a_mixed_workload_leaves_duckdb_equal_to_the_source_with_hard_deletes() {
    mixed_workload_stays_equal(DeleteMode::Hard).await;
}

#[tokio::test]
async fn a_mixed_workload_leaves_duckdb_equal_to_the_source_with_soft_deletes() {
    mixed_workload_stays_equal(DeleteMode::Soft).await;
}

#[tokio::test]
async fn feeding_the_same_batch_twice_changes_nothing() {
    use cdc_core::source::Source;
    use cdc_core::Sink;
    let db = Db::new(
        "CREATE TABLE t (id int PRIMARY KEY, v text);
         INSERT INTO t VALUES (1, 'a'), (2, 'b');",
    )
    .await;
    let source_config = cdc_core::config::SourceConfig {
        tables: vec!["t".into()],
        snapshot_mode: cdc_core::config::SnapshotMode::Never,
        ..Default::default()
    };
    let mut source = cdc_core::postgres::PgSource::start(db.pg(), source_config).await.unwrap();
    db.client
        .batch_execute(
            "UPDATE t SET v = 'a2' WHERE id = 1; DELETE FROM t WHERE id = 2; INSERT INTO t VALUES (3, 'c');",
        )
        .await
        .unwrap();
    let mut events = Vec::new();
    while events.len() < 3 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        events.extend(source.next_batch(100, deadline).await.unwrap().unwrap().events);
    }
    let batch = cdc_core::ChangeBatch::new(events, None::<()>);
    let config = cdc_warehouse::duckdb::DuckDbConfig { path: db.duckdb_path(), ..Default::default() };
    let dump = "SELECT id::VARCHAR, v, _cdc_lsn::VARCHAR, _cdc_synced_at::VARCHAR FROM public.t";
    {
        let mut sink = cdc_warehouse::duckdb::DuckDbSink::open(config.clone()).unwrap();
        sink.write(&batch).await.unwrap();
        sink.flush().await.unwrap();
    }
    let first = duck_dump(&db.duckdb_path(), dump);
    assert_eq!(first.len(), 2, "{first:?}");
    // The same batch again, in a new sink (as after a crash) and in the same one.
    let mut sink = cdc_warehouse::duckdb::DuckDbSink::open(config).unwrap();
    for _ in 0..2 {
        sink.write(&batch).await.unwrap();
        sink.flush().await.unwrap();
    }
    drop(sink);
    assert_eq!(duck_dump(&db.duckdb_path(), dump), first, "a replay changed the warehouse");
}

#[tokio::test]
async fn schema_changes_mid_stream_keep_the_surviving_columns_equal() {
    let db = Db::new(
        "CREATE TABLE s (id int PRIMARY KEY, small int, name varchar(10), gone text);
         INSERT INTO s VALUES (1, 1, 'one', 'x');",
    )
    .await;
    db.sync(&["s"], DeleteMode::Hard).await;
    for sql in [
        "INSERT INTO s VALUES (2, 2, 'two', 'y')",
        "ALTER TABLE s ADD COLUMN extra text DEFAULT 'dflt'",
        "INSERT INTO s VALUES (3, 3, 'three', 'z', 'e3')",
        "ALTER TABLE s DROP COLUMN gone",
        "UPDATE s SET small = 10 WHERE id = 1",
        "ALTER TABLE s ALTER COLUMN small TYPE bigint",
        "INSERT INTO s VALUES (4, 9000000000, 'four', 'e4')",
        "ALTER TABLE s ALTER COLUMN name TYPE text",
        "INSERT INTO s VALUES (5, 5, 'a name longer than ten', 'e5')",
    ] {
        db.client.batch_execute(sql).await.unwrap();
    }
    db.sync(&["s"], DeleteMode::Hard).await;
    let source = pg_dump(&db.client, "SELECT id::text, small::text, name, extra FROM s").await;
    let warehouse =
        duck_dump(&db.duckdb_path(), "SELECT id::VARCHAR, small::VARCHAR, name, extra FROM public.s");
    assert_same("s", &source, &warehouse);
    let types = duck_dump(
        &db.duckdb_path(),
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 's' AND column_name IN ('small', 'gone') ORDER BY 1",
    );
    assert_eq!(
        types,
        [
            vec![Some("gone".to_owned()), Some("VARCHAR".to_owned())],
            vec![Some("small".to_owned()), Some("BIGINT".to_owned())]
        ],
        "int widened to bigint; the dropped column is kept"
    );
}

/// A table without a primary key is keyed by all its columns: changes to rows holding NULLs must find them (the
/// MERGE matches NULL-safely where NULL keys were staged), and rows without NULLs are matched by plain equality.
#[tokio::test]
async fn a_table_keyed_by_nullable_columns_follows_changes_to_rows_holding_nulls() {
    let db = Db::new(
        "CREATE TABLE nk (a int, b text);
         ALTER TABLE nk REPLICA IDENTITY FULL;
         INSERT INTO nk VALUES (1, NULL), (2, 'x'), (3, NULL);",
    )
    .await;
    db.sync(&["nk"], DeleteMode::Hard).await;
    for sql in [
        "UPDATE nk SET a = 10 WHERE a = 1",
        "DELETE FROM nk WHERE a = 3",
        "UPDATE nk SET b = NULL WHERE a = 2",
        "INSERT INTO nk VALUES (4, NULL), (5, 'y')",
    ] {
        db.client.batch_execute(sql).await.unwrap();
    }
    db.sync(&["nk"], DeleteMode::Hard).await;
    let source = pg_dump(&db.client, "SELECT a::text, b FROM nk ORDER BY a").await;
    let warehouse = duck_dump(&db.duckdb_path(), "SELECT a::VARCHAR, b FROM public.nk ORDER BY a");
    assert_same("nk", &source, &warehouse);
}
