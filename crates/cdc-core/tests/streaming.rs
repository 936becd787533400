//! Protocol v2: large transactions streamed before they commit, buffered and spilled here, emitted at commit —
//! the same events, in the same order, as protocol v1 sends for the same WAL.

use cdc_core::config::SnapshotMode;
use cdc_core::ChangeEvent;

use crate::support::TestDb;

const TABLES: &str = "
    CREATE TABLE big (id int PRIMARY KEY, n int NOT NULL, payload text);
    CREATE TABLE small (id int PRIMARY KEY, v text);
    -- The server streams a transaction once its changes pass this (the minimum), instead of 64 MB.
    ALTER DATABASE app SET logical_decoding_work_mem = '64kB';
";

/// Everything an event says, in a form two captures can be compared by.
fn fingerprint(event: &ChangeEvent) -> String {
    let columns: Vec<&str> = event.schema.columns.iter().map(|c| c.name.as_str()).collect();
    format!(
        "{:?} {} v{} {columns:?} before={:?} after={:?} lsn={} tx={:?}",
        event.op, event.schema.id, event.schema.version, event.before, event.after, event.lsn, event.tx
    )
}

fn insert_big(from: i32, to: i32) -> String {
    format!("INSERT INTO big SELECT i, 0, repeat(md5(i::text), 10) FROM generate_series({from}, {to}) i")
}

#[tokio::test]
async fn streamed_transactions_emit_the_same_events_as_protocol_v1() {
    let db = TestDb::new(TABLES).await;
    let other = db.cluster.connect("app").await;
    let config = |slot: &str, stream: bool| {
        let mut config = db.source_config(&["big", "small"], SnapshotMode::Never);
        config.slot_name = slot.into();
        config.stream_large_transactions = stream;
        // 16 KiB for all open transactions: every large one spills to disk.
        config.stream_memory_limit_kb = 16;
        config
    };
    let v1 = db.capture(config("v1", false)).await;
    let v2 = db.capture(config("v2", true)).await;

    // A large transaction with rolled-back and released savepoints and DDL, while small ones commit around it.
    let c1 = &db.client;
    c1.batch_execute(&format!("BEGIN; {}", insert_big(1, 3000))).await.unwrap();
    for i in 1..=10 {
        other.batch_execute(&format!("INSERT INTO small VALUES ({i}, 'between')")).await.unwrap();
    }
    c1.batch_execute(&format!(
        "SAVEPOINT a; {}; ROLLBACK TO a;
         SAVEPOINT b; UPDATE big SET n = n + 1 WHERE id <= 1000;
         SAVEPOINT c; DELETE FROM big WHERE id <= 200; ROLLBACK TO c;
         RELEASE b;
         ALTER TABLE big ADD COLUMN extra int;
         UPDATE big SET extra = id WHERE id > 2900;
         COMMIT",
        insert_big(3001, 3500)
    ))
    .await
    .unwrap();
    // A large transaction that rolls back emits nothing.
    c1.batch_execute(&format!("BEGIN; {}; ROLLBACK", insert_big(10_001, 13_000))).await.unwrap();
    // Two large transactions interleaved, committed in the opposite order to the one they started in.
    c1.batch_execute(&format!("BEGIN; {}", insert_big(20_001, 22_000))).await.unwrap();
    other.batch_execute(&format!("BEGIN; {}", insert_big(30_001, 32_000))).await.unwrap();
    c1.batch_execute("INSERT INTO small VALUES (100, 'inside the first')").await.unwrap();
    other.batch_execute("COMMIT").await.unwrap();
    c1.batch_execute("COMMIT").await.unwrap();
    c1.batch_execute("INSERT INTO small VALUES (-1, 'last')").await.unwrap();

    let expected = 3000 + 1000 + 100 + 10 + 2000 + 2000 + 1 + 1;
    let from_v1 = v1.wait_for(expected).await;
    let from_v2 = v2.wait_for(expected).await;
    let v1_source = v1.stop_source().await;
    let v2_source = v2.stop_source().await;

    assert_eq!(v1_source.streamed_stats().committed, 0, "protocol v1 streams nothing");
    let stats = v2_source.streamed_stats();
    assert_eq!(stats.committed, 3, "the three large committed transactions were streamed: {stats:?}");
    assert!(stats.spilled_bytes > 1_000_000, "past 16 KiB they spilled: {stats:?}");

    assert_eq!(from_v2.len(), from_v1.len(), "no event more after the last one");
    for (i, (a, b)) in from_v1.iter().zip(&from_v2).enumerate() {
        assert_eq!(fingerprint(a), fingerprint(b), "event {i} differs between v1 and v2");
    }
    // And v1 itself saw what was committed: the savepoint rolled back, the released one kept.
    let big_updates =
        from_v1.iter().filter(|e| e.schema.id.name == "big" && e.op == cdc_core::Op::Update).count();
    assert_eq!(big_updates, 1100);
    assert!(from_v1.iter().all(|e| e.schema.id.name != "big" || e.op != cdc_core::Op::Delete));
    assert_eq!(from_v1.last().map(|e| e.tx.xid), from_v2.last().map(|e| e.tx.xid));
}

#[tokio::test]
async fn a_streamed_transaction_open_across_a_restart_arrives_whole_after_it() {
    let db = TestDb::new(TABLES).await;
    let mut config = db.source_config(&["big", "small"], SnapshotMode::Never);
    config.stream_memory_limit_kb = 16;
    let first = db.capture(config.clone()).await;
    db.client.batch_execute("INSERT INTO small VALUES (1, 'before')").await.unwrap();
    // Streamed to the first capture (when its walsender gets there), which stops before the transaction commits:
    // whatever it buffered is gone with it, and the slot's position stays before the commit.
    db.client.batch_execute(&format!("BEGIN; {}", insert_big(1, 3000))).await.unwrap();
    assert_eq!(first.wait_for(1).await.len(), 1);
    let stopped_at = first.stop().await;
    db.client.batch_execute(&format!("{}; COMMIT", insert_big(3001, 4000))).await.unwrap();
    db.client.batch_execute("INSERT INTO small VALUES (2, 'after')").await.unwrap();

    let second = db.capture(config).await;
    let events = second.wait_for(4001).await;
    let source = second.stop_source().await;
    assert!(source.durable_lsn() > stopped_at);
    assert_eq!(source.streamed_stats().committed, 1);
    let ids: Vec<i32> = events
        .iter()
        .map(|e| match &e.after.as_ref().unwrap().0[0] {
            cdc_core::Value::Int32(id) => *id,
            other => panic!("id {other:?}"),
        })
        .collect();
    let expected: Vec<i32> = (1..=4000).chain([2]).collect();
    assert_eq!(ids, expected, "the whole transaction once, in order, then the next one");
}
