//! The initial snapshot: consistency with the stream, restart behaviour.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cdc_core::config::SnapshotMode;
use cdc_core::postgres::{PgCheckpoint, PgSource};
use cdc_core::source::Source;
use cdc_core::{ChangeEvent, Op, SnapshotMarker, Value};

use crate::support::TestDb;

/// Applies events to a table image keyed by `id`, as a sink would.
fn apply(image: &mut BTreeMap<i64, String>, events: &[ChangeEvent]) {
    for e in events {
        let id = |row: &cdc_core::Row| match row.0[0] {
            Value::Int32(v) => i64::from(v),
            Value::Int64(v) => v,
            ref other => panic!("id is {other:?}"),
        };
        match e.op {
            Op::Read | Op::Insert | Op::Update => {
                let row = e.after.as_ref().expect("after");
                let Value::Text(v) = &row.0[1] else { panic!("v is {:?}", row.0[1]) };
                image.insert(id(row), v.clone());
            }
            Op::Delete => {
                image.remove(&id(e.before.as_ref().expect("before")));
            }
            Op::Truncate => image.clear(),
        }
    }
}

async fn table_image(client: &tokio_postgres::Client, table: &str) -> BTreeMap<i64, String> {
    client
        .query(&format!("SELECT id::bigint, v FROM {table}"), &[])
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn snapshot_and_stream_together_reproduce_a_table_written_during_the_snapshot() {
    let db = TestDb::new(
        "CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL);
         INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 20000) g;",
    )
    .await;
    let writer_client = db.cluster.connect("app").await;
    let writer = tokio::spawn(async move {
        let mut rng = fastrand::Rng::with_seed(1);
        for i in 0..1500 {
            let id = rng.i32(1..=25000);
            let sql = match i % 3 {
                0 => format!(
                    "INSERT INTO t VALUES ({id}, 'new{i}') ON CONFLICT (id) DO UPDATE SET v = 'ins{i}'"
                ),
                1 => format!("UPDATE t SET v = 'upd{i}' WHERE id = {id}"),
                _ => format!("DELETE FROM t WHERE id = {id}"),
            };
            writer_client.batch_execute(&sql).await.unwrap();
        }
    });
    let running = db.capture(db.source_config(&["t"], SnapshotMode::Initial)).await;
    writer.await.unwrap();
    let expected = table_image(&db.client, "t").await;
    let events = cdc_test_support::wait_for("the image to converge", Duration::from_secs(120), || {
        let events = running.sink.events();
        let mut image = BTreeMap::new();
        apply(&mut image, &events);
        let converged = image == expected;
        async move { converged.then_some(events) }
    })
    .await;
    running.stop().await;

    let reads: Vec<&ChangeEvent> = events.iter().filter(|e| e.op == Op::Read).collect();
    assert!(reads.len() >= 19_000, "{} snapshot rows", reads.len());
    assert_eq!(reads[0].snapshot, SnapshotMarker::First);
    assert_eq!(reads.last().unwrap().snapshot, SnapshotMarker::Last);
    assert!(reads[1..reads.len() - 1].iter().all(|e| e.snapshot == SnapshotMarker::InProgress));
    // No overlap: every streamed change committed at or after the snapshot's consistent point.
    let point = reads[0].tx.commit_lsn;
    assert!(events.iter().filter(|e| e.op != Op::Read).all(|e| e.tx.commit_lsn >= point));
}

#[tokio::test]
async fn parallel_workers_and_block_ranges_read_each_row_once_at_the_consistent_point() {
    let db = TestDb::new(
        "CREATE TABLE a (id int PRIMARY KEY, v text NOT NULL);
         CREATE TABLE b (id int PRIMARY KEY, v text NOT NULL);
         CREATE TABLE c (id int PRIMARY KEY, v text NOT NULL);
         CREATE TABLE d (id int PRIMARY KEY, v text NOT NULL);
         INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 30000) g;
         INSERT INTO b SELECT g, 'b' || g FROM generate_series(1, 500) g;
         INSERT INTO d SELECT g, 'd' || g FROM generate_series(1, 5000) g;",
    )
    .await;
    let writer_client = db.cluster.connect("app").await;
    let writer = tokio::spawn(async move {
        let mut rng = fastrand::Rng::with_seed(2);
        for i in 0..600 {
            let table = ["a", "b", "c", "d"][i % 4];
            let id = rng.i32(1..=31000);
            let sql = match i % 3 {
                0 => format!(
                    "INSERT INTO {table} VALUES ({id}, 'new{i}') ON CONFLICT (id) DO UPDATE SET v = 'x{i}'"
                ),
                1 => format!("UPDATE {table} SET v = 'upd{i}' WHERE id = {id}"),
                _ => format!("DELETE FROM {table} WHERE id = {id}"),
            };
            writer_client.batch_execute(&sql).await.unwrap();
        }
    });
    let mut config = db.source_config(&["a", "b", "c", "d"], SnapshotMode::Initial);
    config.snapshot_max_threads = 3;
    // About 160 blocks of a in ranges of 16: ten parts shared by three workers with the other tables.
    config.snapshot_partition_blocks = 16;
    let running = db.capture(config).await;
    writer.await.unwrap();
    let mut expected = BTreeMap::new();
    for table in ["a", "b", "c", "d"] {
        expected.insert(table, table_image(&db.client, table).await);
    }
    let events = cdc_test_support::wait_for("every image to converge", Duration::from_secs(120), || {
        let events = running.sink.events();
        let mut images: BTreeMap<&str, BTreeMap<i64, String>> = BTreeMap::new();
        for table in ["a", "b", "c", "d"] {
            let of_table: Vec<ChangeEvent> =
                events.iter().filter(|e| e.schema.id.name == table).cloned().collect();
            apply(images.entry(table).or_default(), &of_table);
        }
        let converged = images == expected;
        async move { converged.then_some(events) }
    })
    .await;
    running.stop().await;

    let reads: Vec<&ChangeEvent> = events.iter().filter(|e| e.op == Op::Read).collect();
    for table in ["a", "b", "d"] {
        let keys: Vec<i64> = reads
            .iter()
            .filter(|e| e.schema.id.name == table)
            .map(|e| match e.after.as_ref().unwrap().0[0] {
                Value::Int32(id) => i64::from(id),
                ref other => panic!("{other:?}"),
            })
            .collect();
        let unique: std::collections::BTreeSet<i64> = keys.iter().copied().collect();
        assert_eq!(unique.len(), keys.len(), "table {table}: a row was read twice");
        assert!(
            keys.len() >= [30000, 500, 5000][["a", "b", "d"].iter().position(|t| *t == table).unwrap()] - 200
        );
        // The table's last read carries the end-of-table marker, and no other read of it does.
        let markers: Vec<SnapshotMarker> =
            reads.iter().filter(|e| e.schema.id.name == table).map(|e| e.snapshot).collect();
        assert!(
            matches!(markers.last(), Some(SnapshotMarker::LastInTable | SnapshotMarker::Last)),
            "{table}"
        );
        assert!(!markers[..markers.len() - 1]
            .iter()
            .any(|m| matches!(m, SnapshotMarker::LastInTable | SnapshotMarker::Last)));
    }
    assert_eq!(reads[0].snapshot, SnapshotMarker::First);
    assert_eq!(reads.last().unwrap().snapshot, SnapshotMarker::Last);
    assert_eq!(reads.iter().filter(|e| e.snapshot == SnapshotMarker::Last).count(), 1);
    let point = reads[0].tx.commit_lsn;
    assert!(events.iter().filter(|e| e.op != Op::Read).all(|e| e.tx.commit_lsn >= point));
}

#[tokio::test]
async fn a_restart_after_the_snapshot_completed_never_redoes_it() {
    let db = TestDb::new(
        "CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL); INSERT INTO t VALUES (1, 'a'), (2, 'b');",
    )
    .await;
    let config = db.source_config(&["t"], SnapshotMode::Initial);
    let first = db.capture(config.clone()).await;
    first.wait_for(2).await;
    let durable = first.stop().await;
    assert!(durable > cdc_core::Lsn::ZERO);

    let second = db.capture(config).await;
    db.client.batch_execute("INSERT INTO t VALUES (3, 'c')").await.unwrap();
    let events = second.wait_for(1).await;
    second.stop().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].op, Op::Insert);
}

#[tokio::test]
async fn a_crash_during_the_snapshot_redoes_only_unfinished_tables_without_gaps_or_repeats() {
    let db = TestDb::new(
        "CREATE TABLE a (id int PRIMARY KEY, v text NOT NULL);
         CREATE TABLE b (id int PRIMARY KEY, v text NOT NULL);
         INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 100) g;
         INSERT INTO b SELECT g, 'b' || g FROM generate_series(1, 100) g;",
    )
    .await;
    let mut config = db.source_config(&["a", "b"], SnapshotMode::Initial);
    // One reader, so table a is wholly done before table b starts.
    config.snapshot_max_threads = 1;
    let mut image_a = BTreeMap::new();
    let mut image_b = BTreeMap::new();

    // First run: drive the source by hand and "crash" right after table a is recorded done.
    let mut source = PgSource::start(db.pg_config(), config.clone()).await.unwrap();
    loop {
        let batch = source.next_batch(1000, Instant::now() + Duration::from_secs(5)).await.unwrap().unwrap();
        let (for_a, for_b): (Vec<_>, Vec<_>) =
            batch.events.iter().cloned().partition(|e| e.schema.id.name == "a");
        apply(&mut image_a, &for_a);
        apply(&mut image_b, &for_b);
        if let Some(checkpoint) = batch.checkpoint {
            let a_done = matches!(&checkpoint, PgCheckpoint::SnapshotDone { table, .. } if table.name == "a");
            source.ack(checkpoint).await.unwrap();
            if a_done {
                break;
            }
        }
    }
    // Table b's rows reach the sink, but the crash comes before its snapshot is acknowledged.
    let batch = source.next_batch(1000, Instant::now() + Duration::from_secs(5)).await.unwrap().unwrap();
    apply(&mut image_b, &batch.events);
    assert!(!image_b.is_empty(), "part of b reached the sink before the crash");
    drop(source);

    db.client
        .batch_execute("UPDATE a SET v = 'changed' WHERE id = 1; DELETE FROM b WHERE id = 2; INSERT INTO b VALUES (101, 'b101');")
        .await
        .unwrap();
    let second = db.capture(config).await;
    db.client.batch_execute("UPDATE b SET v = 'after' WHERE id = 3").await.unwrap();
    let expected_a = table_image(&db.client, "a").await;
    let expected_b = table_image(&db.client, "b").await;
    let events = cdc_test_support::wait_for("both images to converge", Duration::from_secs(60), || {
        let events = second.sink.events();
        let (mut a, mut b) = (image_a.clone(), image_b.clone());
        let (for_a, for_b): (Vec<_>, Vec<_>) = events.iter().cloned().partition(|e| e.schema.id.name == "a");
        apply(&mut a, &for_a);
        apply(&mut b, &for_b);
        let done = a == expected_a && b == expected_b;
        async move { done.then_some(events) }
    })
    .await;
    second.stop().await;

    assert!(
        events.iter().all(|e| !(e.schema.id.name == "a" && e.op == Op::Read)),
        "table a was snapshotted again"
    );
    let b_reads = events.iter().filter(|e| e.schema.id.name == "b" && e.op == Op::Read).count();
    assert_eq!(b_reads, 100, "table b is snapshotted once, at its new consistent point");
    // The change to b made before the new snapshot is inside it, not streamed again on top of it; the redone
    // snapshot starts with a truncate, so rows of the unfinished one deleted since (b 2) do not linger.
    assert!(!events.iter().any(|e| e.schema.id.name == "b" && e.op == Op::Delete), "{events:?}");
    assert!(events.iter().any(|e| e.schema.id.name == "b" && e.op == Op::Truncate));
    assert!(!events.iter().any(|e| e.schema.id.name == "a" && e.op == Op::Truncate), "a was not redone");
}

#[tokio::test]
async fn initial_only_emits_the_snapshot_and_then_finishes() {
    let db = TestDb::new(
        "CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL); INSERT INTO t VALUES (1, 'a'), (2, 'b');",
    )
    .await;
    let mut source =
        PgSource::start(db.pg_config(), db.source_config(&["t"], SnapshotMode::InitialOnly)).await.unwrap();
    let mut events = Vec::new();
    while let Some(batch) = source.next_batch(100, Instant::now() + Duration::from_secs(5)).await.unwrap() {
        events.extend(batch.events);
        if let Some(checkpoint) = batch.checkpoint {
            source.ack(checkpoint).await.unwrap();
        }
    }
    assert_eq!(events.iter().map(|e| e.op).collect::<Vec<_>>(), [Op::Read, Op::Read]);
}

#[tokio::test]
async fn snapshot_rows_and_streamed_changes_share_the_key_of_a_replica_identity_index() {
    let db = TestDb::new(
        "CREATE TABLE u (code text NOT NULL, v int);
         CREATE UNIQUE INDEX u_code ON u (code);
         ALTER TABLE u REPLICA IDENTITY USING INDEX u_code;
         INSERT INTO u VALUES ('a', 1);",
    )
    .await;
    let running = db.capture(db.source_config(&["u"], SnapshotMode::Initial)).await;
    running.wait_for(1).await;
    db.client.batch_execute("UPDATE u SET v = 2 WHERE code = 'a'").await.unwrap();
    let events = running.wait_for(2).await;
    running.stop().await;
    let keys = |e: &ChangeEvent| e.schema.key_columns().map(|(_, c)| c.name.clone()).collect::<Vec<_>>();
    assert_eq!(events[0].op, Op::Read);
    assert_eq!(keys(&events[0]), ["code"]);
    assert_eq!(keys(&events[1]), ["code"], "the streamed update is keyed the same way");
    assert_eq!(events[0].schema.version, events[1].schema.version, "one shape, one version");
}
