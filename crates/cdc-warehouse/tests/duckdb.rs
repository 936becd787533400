//! PostgreSQL → DuckDB: equality after mixed workloads, replays, schema evolution, types.
//!
//! Size: `CDC_TEST_FULL=1` runs the acceptance size (200k changes); CI runs 6k through the same paths.

use cdc_warehouse::DeleteMode;

use crate::support::{assert_same, duck_dump, pg_dump, Db};

const TABLES: &str = "
    CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2), active bool);
    CREATE TABLE docs (id bigint PRIMARY KEY, title varchar(50), body text, revision int NOT NULL);
    ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL;
    CREATE TABLE events (id serial PRIMARY KEY, kind text, payload jsonb, at timestamptz);
    ALTER TABLE events REPLICA IDENTITY FULL;
    CREATE TABLE pairs (a int, b int, v text, PRIMARY KEY (a, b));
    CREATE SEQUENCE moved_keys START 100000;
";

/// (table, source query, warehouse query) producing comparable text, ordered by key.
const DUMPS: [(&str, &str, &str); 4] = [
    (
        "accounts",
        "SELECT id::text, owner, balance::text, active::text FROM accounts ORDER BY id",
        "SELECT id::VARCHAR, owner, balance::VARCHAR, active::VARCHAR FROM public.accounts WHERE NOT _cdc_deleted ORDER BY id",
    ),
    (
        "docs",
        "SELECT id::text, title, md5(body), length(body)::text, revision::text FROM docs ORDER BY id",
        "SELECT id::VARCHAR, title, md5(body), length(body)::VARCHAR, revision::VARCHAR FROM public.docs WHERE NOT _cdc_deleted ORDER BY id",
    ),
    (
        "events",
        "SELECT id::text, kind, payload::text, (extract(epoch FROM at) * 1000000)::bigint::text FROM events ORDER BY id",
        "SELECT id::VARCHAR, kind, payload::VARCHAR, epoch_us(\"at\")::VARCHAR FROM public.events WHERE NOT _cdc_deleted ORDER BY id",
    ),
    (
        "pairs",
        "SELECT a::text, b::text, v FROM pairs ORDER BY a, b",
        "SELECT a::VARCHAR, b::VARCHAR, v FROM public.pairs WHERE NOT _cdc_deleted ORDER BY a, b",
    ),
];

fn workload_size() -> usize {
    if std::env::var_os("CDC_TEST_FULL").is_some() {
        200_000
    } else {
        6_000
    }
}

/// Mixed single-statement changes over the four tables; returns how many were made.
async fn workload(client: &tokio_postgres::Client, changes: usize, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let big = "lorem ipsum ".repeat(10_000);
    let mut done = 0;
    while done < changes {
        let id = rng.i64(1..=300);
        let sql = match rng.u8(0..20) {
            0..=3 => format!(
                "INSERT INTO accounts VALUES ({id}, 'o{id}', {}.{:02}, {}) ON CONFLICT (id) DO UPDATE SET balance = accounts.balance + 1",
                rng.i32(-1000..1000), rng.u8(0..100), rng.bool()
            ),
            4..=5 => format!("UPDATE accounts SET balance = balance * 2, active = NOT active WHERE id = {id}"),
            6 => format!("DELETE FROM accounts WHERE id = {id}"),
            7..=8 => format!(
                "INSERT INTO docs VALUES ({id}, 't{id}', '{big}' || {id}, 1) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body || 'x'"
            ),
            // A TOAST-untouched update: body is not rewritten.
            9..=10 => format!("UPDATE docs SET revision = revision + 1, title = 'rev' || revision WHERE id = {id}"),
            11 => format!("DELETE FROM docs WHERE id = {id}"),
            12..=13 => format!(
                "INSERT INTO events (kind, payload, at) VALUES ('k{id}', '{{\"n\": {id}, \"tags\": [\"a\", \"b\"]}}', now() - interval '{id} seconds')"
            ),
            14 => format!("UPDATE events SET kind = kind || '!' WHERE id % 300 = {}", id % 300),
            15 => format!("DELETE FROM events WHERE id % 300 = {}", id % 300),
            16..=17 => format!("INSERT INTO pairs VALUES ({id}, {}, 'v') ON CONFLICT DO NOTHING", id % 7),
            // A primary-key change.
            18 => format!("UPDATE pairs SET a = nextval('moved_keys'), v = 'moved' WHERE a = {id}"),
            _ if rng.u8(0..40) == 0 => "TRUNCATE pairs".to_owned(),
            _ => format!("DELETE FROM pairs WHERE a = {id}"),
        };
        client.batch_execute(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        done += 1;
    }
}

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
    let total = workload_size();
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
