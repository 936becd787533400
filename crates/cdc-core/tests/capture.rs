//! Streaming capture: order, before/after images, TOAST, schema changes.

use cdc_core::config::SnapshotMode;
use cdc_core::{Op, Value};

use crate::support::{before_col, col, TestDb};

const TWO_TABLES: &str = "
    CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2));
    CREATE TABLE audit (id bigserial PRIMARY KEY, note text, at timestamptz DEFAULT now());
    ALTER TABLE audit REPLICA IDENTITY FULL;
";

#[tokio::test]
async fn changes_arrive_in_commit_order_with_before_and_after_images() {
    let db = TestDb::new(TWO_TABLES).await;
    let running = db.capture(db.source_config(&["accounts", "audit"], SnapshotMode::Never)).await;
    // One simple-query string is one implicit transaction, so each transaction gets its own call.
    for sql in [
        "INSERT INTO accounts VALUES (1, 'ann', 10.50), (2, 'bob', 0)",
        "BEGIN;
           UPDATE accounts SET balance = balance - 5 WHERE id = 1;
           INSERT INTO audit (note) VALUES ('moved 5');
           UPDATE accounts SET balance = balance + 5 WHERE id = 2;
         COMMIT",
        "UPDATE audit SET note = 'moved five'",
        "DELETE FROM accounts WHERE id = 2",
        "DELETE FROM audit",
        "TRUNCATE accounts",
    ] {
        db.client.batch_execute(sql).await.unwrap();
    }
    let events = running.wait_for(9).await;
    running.stop().await;

    let summary: Vec<(Op, String)> = events.iter().map(|e| (e.op, e.schema.id.name.clone())).collect();
    let expected = [
        (Op::Insert, "accounts"),
        (Op::Insert, "accounts"),
        (Op::Update, "accounts"),
        (Op::Insert, "audit"),
        (Op::Update, "accounts"),
        (Op::Update, "audit"),
        (Op::Delete, "accounts"),
        (Op::Delete, "audit"),
        (Op::Truncate, "accounts"),
    ];
    assert_eq!(summary, expected.map(|(op, t)| (op, t.to_owned())));

    // The multi-statement transaction keeps one txId and its order.
    let tx: Vec<_> = events[2..5].iter().map(|e| (e.tx.xid, e.tx.total_order)).collect();
    assert!(tx.iter().all(|(xid, _)| *xid == tx[0].0), "{tx:?}");
    assert_eq!(tx.iter().map(|(_, o)| *o).collect::<Vec<_>>(), [1, 2, 3]);
    assert_ne!(events[0].tx.xid, events[2].tx.xid, "separate transactions get separate txIds");

    // Commit order is LSN order.
    assert!(events.windows(2).all(|w| w[0].tx.commit_lsn <= w[1].tx.commit_lsn));

    // REPLICA IDENTITY DEFAULT: an update that keeps the key sends no before image; a delete sends the key only.
    assert!(events[2].before.is_none());
    assert_eq!(col(&events[2], "balance"), &Value::Numeric(cdc_core::Numeric::Finite("5.50".into())));
    assert_eq!(before_col(&events[6], "id"), &Value::Int32(2));
    assert_eq!(before_col(&events[6], "owner"), &Value::Null);

    // REPLICA IDENTITY FULL: full before images.
    assert_eq!(before_col(&events[5], "note"), &Value::Text("moved 5".into()));
    assert_eq!(col(&events[5], "note"), &Value::Text("moved five".into()));
    assert_eq!(before_col(&events[7], "note"), &Value::Text("moved five".into()));
    assert!(matches!(before_col(&events[7], "at"), Value::TimestampTz(_)));
}

#[tokio::test]
async fn an_untouched_toasted_column_is_unchanged_and_full_identity_sends_its_value() {
    let db = TestDb::new(
        "CREATE TABLE docs_default (id int PRIMARY KEY, title text, body text);
         CREATE TABLE docs_full (id int PRIMARY KEY, title text, body text);
         ALTER TABLE docs_full REPLICA IDENTITY FULL;
         ALTER TABLE docs_default ALTER COLUMN body SET STORAGE EXTERNAL;
         ALTER TABLE docs_full ALTER COLUMN body SET STORAGE EXTERNAL;",
    )
    .await;
    let running = db.capture(db.source_config(&["docs_default", "docs_full"], SnapshotMode::Never)).await;
    let body: String = (0..100_000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    for table in ["docs_default", "docs_full"] {
        db.client.execute(&format!("INSERT INTO {table} VALUES (1, 'v1', $1)"), &[&body]).await.unwrap();
        db.client.batch_execute(&format!("UPDATE {table} SET title = 'v2' WHERE id = 1")).await.unwrap();
    }
    let events = running.wait_for(4).await;
    running.stop().await;

    let is_body = |v: &Value| matches!(v, Value::Text(t) if *t == body);
    assert!(is_body(col(&events[0], "body")), "the inserted 100 KB value arrives whole");
    assert_eq!(col(&events[1], "title"), &Value::Text("v2".into()));
    assert_eq!(col(&events[1], "body"), &Value::Unchanged, "DEFAULT identity: TOAST not re-sent");
    assert!(is_body(col(&events[3], "body")), "FULL identity: the real value, not a marker");
}

#[tokio::test]
async fn ddl_mid_stream_yields_new_schema_versions_and_loses_no_event() {
    let db = TestDb::new("CREATE TABLE items (id int PRIMARY KEY, qty int);").await;
    let running = db.capture(db.source_config(&["items"], SnapshotMode::Never)).await;
    for sql in [
        "INSERT INTO items VALUES (1, 1)",
        "ALTER TABLE items ADD COLUMN label text DEFAULT 'x'",
        "INSERT INTO items VALUES (2, 2, 'two')",
        "UPDATE items SET qty = 10 WHERE id = 1",
        "ALTER TABLE items DROP COLUMN label",
        "INSERT INTO items VALUES (3, 3)",
        "ALTER TABLE items ALTER COLUMN qty TYPE bigint",
        "INSERT INTO items VALUES (4, 4)",
    ] {
        db.client.batch_execute(sql).await.unwrap();
    }
    let events = running.wait_for(5).await;
    running.stop().await;

    let ids: Vec<&Value> = events.iter().map(|e| col(e, "id")).collect();
    assert_eq!(
        ids,
        [&Value::Int32(1), &Value::Int32(2), &Value::Int32(1), &Value::Int32(3), &Value::Int32(4)]
    );
    let versions: Vec<u32> = events.iter().map(|e| e.schema.version).collect();
    assert_eq!(versions, [1, 2, 2, 3, 4]);
    assert_eq!(col(&events[1], "label"), &Value::Text("two".into()));
    assert_eq!(col(&events[2], "label"), &Value::Text("x".into()), "the default fills the new column");
    assert!(events[3].schema.column_index("label").is_none());
    assert_eq!(col(&events[4], "qty"), &Value::Int64(4));
}
