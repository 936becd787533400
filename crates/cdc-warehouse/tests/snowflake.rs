//! PostgreSQL → Snowflake (the fakesnow server, through the drivers' protocol): equality after mixed workloads in
//! both delete modes, schema evolution, every type, awkward names, retried 503s and renewed sessions. Everything
//! is read back through the same client.
//!
//! Size: `CDC_TEST_FULL=1` runs 200k changes; CI runs 2k through the same paths.

use cdc_test_support::workload::{workload, workload_size, SNOWFLAKE_DUMPS, TABLES};
use cdc_test_support::FakeSnow;
use cdc_warehouse::snowflake::client::{Bindings, Client};
use cdc_warehouse::snowflake::{SnowflakeConfig, SnowflakeSink};
use cdc_warehouse::DeleteMode;

use crate::support::{assert_same, pg_dump, Db, Dump};

/// Events per flush: Snowflake favours few large MERGEs (and fakesnow runs an array-bound INSERT row by row, about
/// 6 ms a row), and folding keeps one staged row per key whatever the batch's length.
const BATCH: usize = 20_000;

fn config(server: &FakeSnow, mode: DeleteMode) -> SnowflakeConfig {
    SnowflakeConfig {
        account: "fakesnow".into(),
        user: "cdc".into(),
        password: Some(cdc_core::config::Secret::new("test-password")),
        database: "CDC_DB".into(),
        warehouse: "COMPUTE_WH".into(),
        host: Some("127.0.0.1".into()),
        port: Some(server.port()),
        protocol: "http".into(),
        delete_mode: mode,
        retry_timeout_secs: 60,
        ..SnowflakeConfig::default()
    }
}

async fn open(server: &FakeSnow, mode: DeleteMode) -> SnowflakeSink {
    match SnowflakeSink::open(config(server, mode)).await {
        Ok(sink) => sink,
        Err(e) => panic!("open the Snowflake sink: {e:?}\nserver log:\n{}", server.log()),
    }
}

async fn sf_dump(client: &Client, sql: &str) -> Dump {
    client.query(sql, Bindings::None).await.unwrap_or_else(|e| panic!("{sql}: {e}")).rows
}

async fn assert_equal(db: &Db, client: &Client) {
    for (table, source_sql, warehouse_sql) in SNOWFLAKE_DUMPS {
        let source = pg_dump(&db.client, source_sql).await;
        let mut warehouse = sf_dump(client, warehouse_sql).await;
        if table == "events" {
            // VARIANT text is compact JSON; compare JSON values, not spellings.
            for row in warehouse.iter_mut() {
                if let Some(Some(json)) = row.get_mut(2) {
                    *json = normalise_json(json);
                }
            }
            let source: Dump = source
                .into_iter()
                .map(|mut row| {
                    if let Some(Some(json)) = row.get_mut(2) {
                        *json = normalise_json(json);
                    }
                    row
                })
                .collect();
            assert_same(table, &source, &warehouse);
        } else {
            assert_same(table, &source, &warehouse);
        }
    }
}

fn normalise_json(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text).map_or_else(|_| text.to_owned(), |v| v.to_string())
}

async fn mixed_workload_stays_equal(mode: DeleteMode) {
    let server = FakeSnow::start();
    let db = Db::new(TABLES).await;
    let tables = ["accounts", "docs", "events", "pairs"];
    let total = workload_size(2_000);
    workload(&db.client, total / 4, 1).await;
    let sink = db.sync_into(&tables, open(&server, mode).await, BATCH).await;
    assert_equal(&db, sink.client()).await;
    workload(&db.client, total - total / 4, 2).await;
    let sink = db.sync_into(&tables, open(&server, mode).await, BATCH).await;
    assert_equal(&db, sink.client()).await;
    if mode == DeleteMode::Soft {
        let deleted =
            sf_dump(sink.client(), "SELECT COUNT(*) FROM cdc_db.public.accounts WHERE _cdc_deleted").await;
        assert_ne!(deleted, [vec![Some("0".to_owned())]], "soft deletes keep deleted rows, marked");
    }
}

#[tokio::test]
async fn a_mixed_workload_leaves_snowflake_equal_to_the_source_with_hard_deletes() {
    mixed_workload_stays_equal(DeleteMode::Hard).await;
}

#[tokio::test]
async fn a_mixed_workload_leaves_snowflake_equal_to_the_source_with_soft_deletes() {
    mixed_workload_stays_equal(DeleteMode::Soft).await;
}

#[tokio::test]
async fn a_503_mid_batch_and_an_expired_session_are_retried_and_nothing_is_lost() {
    let server = FakeSnow::start();
    let db = Db::new(TABLES).await;
    workload(&db.client, 300, 3).await;
    let sink = open(&server, DeleteMode::Hard).await;
    // The session expires before the first batch, and two MERGEs and one staging INSERT meet a 503.
    server.expire_sessions();
    server.fail_next(2, 503, Some("MERGE"));
    server.fail_next(1, 503, Some("INSERT INTO"));
    let sink = db.sync_into(&["accounts", "docs", "events", "pairs"], sink, BATCH).await;
    assert_equal(&db, sink.client()).await;
    let stats = server.stats();
    assert_eq!(stats.injected_failures, 3, "{stats:?}");
    assert!(stats.expired >= 1, "{stats:?}");
    assert!(stats.logins >= 2, "the sink logged in again: {stats:?}");
}

#[tokio::test]
async fn lost_replies_and_a_session_expiring_mid_batch_change_nothing() {
    let server = FakeSnow::start();
    let db = Db::new(TABLES).await;
    workload(&db.client, 300, 4).await;
    let sink = db
        .sync_into(&["accounts", "docs", "events", "pairs"], open(&server, DeleteMode::Hard).await, BATCH)
        .await;
    assert_equal(&db, sink.client()).await;
    workload(&db.client, 600, 5).await;
    // Statements that ran but whose replies were lost are resent: a staging INSERT (its rows staged twice), a
    // MERGE (applied twice). Then the session expires at a MERGE, after its staging tables were made in it.
    server.fail_next_after_running(1, 503, Some("INSERT INTO \"_CDC_RAW_"));
    server.fail_next_after_running(1, 503, Some("MERGE INTO"));
    server.expire_sessions_on("MERGE INTO");
    let before = server.stats();
    let sink = db.sync_into(&["accounts", "docs", "events", "pairs"], sink, BATCH).await;
    assert_equal(&db, sink.client()).await;
    let stats = server.stats();
    assert_eq!(stats.injected_failures - before.injected_failures, 2, "{stats:?}");
    assert!(stats.expired > before.expired, "the session expired mid-batch: {stats:?}");
    assert!(stats.logins > before.logins, "the sink logged in again: {stats:?}");
}

#[tokio::test]
async fn schema_changes_mid_stream_add_and_widen_snowflake_columns() {
    let server = FakeSnow::start();
    let db = Db::new(
        "CREATE TABLE s (id int PRIMARY KEY, small int, name varchar(10), gone text);
         INSERT INTO s VALUES (1, 1, 'one', 'x');",
    )
    .await;
    db.sync_into(&["s"], open(&server, DeleteMode::Hard).await, BATCH).await;
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
    let sink = db.sync_into(&["s"], open(&server, DeleteMode::Hard).await, BATCH).await;
    let source = pg_dump(&db.client, "SELECT id::text, small::text, name, extra FROM s").await;
    let warehouse =
        sf_dump(sink.client(), "SELECT id::VARCHAR, small::VARCHAR, name, extra FROM cdc_db.public.s").await;
    assert_same("s", &source, &warehouse);
    let types = sf_dump(
        sink.client(),
        "SELECT column_name, data_type, numeric_precision::VARCHAR FROM cdc_db.information_schema.columns \
         WHERE table_name = 'S' AND column_name IN ('SMALL', 'GONE', 'EXTRA') ORDER BY 1",
    )
    .await;
    let text = |s: &str| Some(s.to_owned());
    assert_eq!(types[0][..2], [text("EXTRA"), text("TEXT")], "{types:?}");
    assert_eq!(types[1][..2], [text("GONE"), text("TEXT")], "the dropped column is kept: {types:?}");
    assert_eq!(types[2], [text("SMALL"), text("NUMBER"), text("19")], "int widened to bigint: {types:?}");
}

const TYPES_SETUP: &str = "
    CREATE EXTENSION IF NOT EXISTS hstore;
    CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
    CREATE TABLE every_type (
        id int PRIMARY KEY, c_bool bool, c_int2 int2, c_int8 int8, c_numeric numeric, c_numeric_ps numeric(10,2),
        c_float4 float4, c_float8 float8, c_text text, c_varchar varchar(20), c_bytea bytea, c_date date,
        c_time time, c_timetz timetz, c_timestamp timestamp, c_timestamptz timestamptz, c_interval interval,
        c_uuid uuid, c_json json, c_jsonb jsonb, c_int_array int[], c_text_array text[], c_enum mood,
        c_inet inet, c_money money, c_bit bit(4), c_oid oid, c_hstore hstore
    );
";

const TYPES_ROW: &str =
    "(1, true, -2, 9000000000, '12.345', 12.5, 1.5, 2.25, 'héllo ✓ 𝄞', 'v', '\\x00ff10', '2024-02-29',
    '13:14:15.123456', '13:14:15+05:30', '2024-01-02 03:04:05.678901', '2024-01-02 03:04:05.678901+02',
    '1 year 2 mons 3 days 04:05:06.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"b\": 1, \"a\": [1, 2]}',
    '{\"b\": 1}', '{1,2,NULL}', '{\"a b\",\"c,d\",NULL}', 'happy', '192.168.0.1/24', 1234.56, B'1010', 42,
    'a=>1, b=>NULL')";

/// (column, Snowflake data_type (with precision,scale for NUMBER), Snowflake expression, expected text).
const TYPES_EXPECTED: &[(&str, &str, &str, &str)] = &[
    ("c_bool", "BOOLEAN", "IFF(c_bool, 'true', 'false')", "true"),
    ("c_int2", "NUMBER(5,0)", "c_int2::VARCHAR", "-2"),
    ("c_int8", "NUMBER(19,0)", "c_int8::VARCHAR", "9000000000"),
    ("c_numeric", "TEXT", "c_numeric", "12.345"),
    ("c_numeric_ps", "NUMBER(10,2)", "c_numeric_ps::VARCHAR", "12.50"),
    ("c_float4", "FLOAT", "c_float4::VARCHAR", "1.5"),
    ("c_float8", "FLOAT", "c_float8::VARCHAR", "2.25"),
    ("c_text", "TEXT", "c_text", "héllo ✓ 𝄞"),
    ("c_varchar", "TEXT", "c_varchar", "v"),
    ("c_bytea", "BINARY", "HEX_ENCODE(c_bytea)", "00FF10"),
    ("c_date", "DATE", "TO_VARCHAR(c_date, 'YYYY-MM-DD')", "2024-02-29"),
    ("c_time", "TIME", "TO_VARCHAR(c_time, 'HH24:MI:SS.FF6')", "13:14:15.123456"),
    ("c_timetz", "TEXT", "c_timetz", "13:14:15.000000+05:30:00"),
    (
        "c_timestamp",
        "TIMESTAMP_NTZ",
        "TO_VARCHAR(c_timestamp, 'YYYY-MM-DD HH24:MI:SS.FF6')",
        "2024-01-02 03:04:05.678901",
    ),
    (
        "c_timestamptz",
        "TIMESTAMP_TZ",
        "TO_VARCHAR(CONVERT_TIMEZONE('UTC', c_timestamptz)::TIMESTAMP_NTZ, 'YYYY-MM-DD HH24:MI:SS.FF6')",
        "2024-01-02 01:04:05.678901",
    ),
    ("c_interval", "TEXT", "c_interval", "14 months 3 days 14706500000 microseconds"),
    ("c_uuid", "TEXT", "c_uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    ("c_json", "VARIANT", "c_json:a[1]::VARCHAR", "2"),
    ("c_jsonb", "VARIANT", "c_jsonb:b::VARCHAR", "1"),
    ("c_int_array", "VARIANT", "c_int_array[1]::VARCHAR", "2"),
    ("c_text_array", "VARIANT", "c_text_array[0]::VARCHAR", "a b"),
    ("c_enum", "TEXT", "c_enum", "happy"),
    ("c_inet", "TEXT", "c_inet", "192.168.0.1/24"),
    ("c_money", "NUMBER(19,2)", "c_money::VARCHAR", "1234.56"),
    ("c_bit", "TEXT", "c_bit", "1010"),
    ("c_oid", "NUMBER(20,0)", "c_oid::VARCHAR", "42"),
    ("c_hstore", "VARIANT", "c_hstore:a::VARCHAR", "1"),
];

#[tokio::test]
async fn every_type_lands_with_its_mapped_snowflake_type_and_the_source_value() {
    let server = FakeSnow::start();
    let db = Db::new(TYPES_SETUP).await;
    db.client.batch_execute(&format!("INSERT INTO every_type VALUES {TYPES_ROW}")).await.unwrap();
    db.sync_into(&["every_type"], open(&server, DeleteMode::Hard).await, BATCH).await;
    db.client
        .batch_execute(&format!("INSERT INTO every_type VALUES {}", TYPES_ROW.replacen("(1,", "(2,", 1)))
        .await
        .unwrap();
    let sink = db.sync_into(&["every_type"], open(&server, DeleteMode::Hard).await, BATCH).await;
    let client = sink.client();
    let mut problems = Vec::new();
    for (column, ty, expr, expected) in TYPES_EXPECTED {
        let described = sf_dump(
            client,
            &format!(
                "SELECT data_type, numeric_precision::VARCHAR, numeric_scale::VARCHAR FROM \
                 cdc_db.information_schema.columns WHERE table_name = 'EVERY_TYPE' AND column_name = '{}'",
                column.to_uppercase()
            ),
        )
        .await;
        let actual = match described.first().map(Vec::as_slice) {
            Some([Some(t), Some(p), Some(s)]) if t == "NUMBER" => format!("NUMBER({p},{s})"),
            Some([Some(t), ..]) => t.clone(),
            other => format!("{other:?}"),
        };
        if actual != *ty {
            problems.push(format!("{column}: type {actual}, want {ty}"));
        }
        for id in [1, 2] {
            let value =
                sf_dump(client, &format!("SELECT {expr} FROM cdc_db.public.every_type WHERE id = {id}"))
                    .await;
            if value != [vec![Some(expected.to_string())]] {
                problems.push(format!("{column} (row {id}): {value:?}, want {expected:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

#[tokio::test]
async fn names_with_spaces_quotes_mixed_case_and_unicode_load_and_cannot_inject_sql() {
    let server = FakeSnow::start();
    let db = Db::new(
        r#"CREATE SCHEMA "Sales Dept";
           CREATE TABLE "Sales Dept"."Order ""Items""" ("Item Id" int PRIMARY KEY, "qty"";DROP TABLE x;--" int,
               "Prix €" numeric(8,2), "CamelCase" text, "ünïcödé" text);
           INSERT INTO "Sales Dept"."Order ""Items""" VALUES (1, 2, 3.5, 'it''s', 'ä'), (2, NULL, NULL, '"; DROP', NULL);"#,
    )
    .await;
    let table = r#""Sales Dept"."Order ""Items""""#;
    let spec = r#"Sales Dept.Order "Items""#;
    db.sync_into(&[spec], open(&server, DeleteMode::Hard).await, BATCH).await;
    db.client
        .batch_execute(&format!(
            r#"UPDATE {table} SET "CamelCase" = 'x''); DELETE FROM t; --' WHERE "Item Id" = 1;
               INSERT INTO {table} VALUES (3, 4, 5.25, 'c', 'ö'); DELETE FROM {table} WHERE "Item Id" = 2;"#
        ))
        .await
        .unwrap();
    let sink = db.sync_into(&[spec], open(&server, DeleteMode::Hard).await, BATCH).await;
    let source = pg_dump(
        &db.client,
        &format!(r#"SELECT "Item Id"::text, "qty"";DROP TABLE x;--"::text, "Prix €"::text, "CamelCase", "ünïcödé" FROM {table}"#),
    )
    .await;
    let warehouse = sf_dump(
        sink.client(),
        r#"SELECT "Item Id"::VARCHAR, "qty"";DROP TABLE x;--"::VARCHAR, "Prix €"::VARCHAR, "CamelCase", "ünïcödé"
           FROM cdc_db."Sales Dept"."Order ""Items""""#,
    )
    .await;
    assert_same("Order \"Items\"", &source, &warehouse);
    assert_eq!(source.len(), 2);
}

/// Key-pair (an encrypted PKCS#8 key, made by openssl), OAuth and programmatic-access-token logins, verified by
/// the server (it checks the JWT's signature against the public key).
#[tokio::test]
async fn key_pair_oauth_and_pat_logins_work_and_a_wrong_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let openssl = |args: &[&str]| {
        let status =
            std::process::Command::new("openssl").args(args).current_dir(dir.path()).status().unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "plain.pem"]);
    openssl(&[
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-256-cbc",
        "-in",
        "plain.pem",
        "-out",
        "key.p8",
        "-passout",
        "pass:kp-pass",
    ]);
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "other.pem"]);
    let server = FakeSnow::start_with(cdc_test_support::FakeSnowOptions {
        public_key_pem: Some(dir.path().join("plain.pem")),
        oauth_token: Some("oauth-ok".into()),
        pat: Some("pat-ok".into()),
        warehouses: vec!["COMPUTE_WH".into()],
        ..Default::default()
    });
    let base = SnowflakeConfig { password: None, ..config(&server, DeleteMode::Hard) };
    let select_one = |config: SnowflakeConfig| async move {
        let client = Client::connect(&config).await?;
        client.query("SELECT 1", Bindings::None).await.map(|r| r.scalar().map(str::to_owned))
    };
    let key_pair = SnowflakeConfig {
        private_key_path: Some(dir.path().join("key.p8")),
        private_key_passphrase: Some(cdc_core::config::Secret::new("kp-pass")),
        ..base.clone()
    };
    assert_eq!(select_one(key_pair).await.expect("key-pair login"), Some("1".to_owned()));
    let oauth = SnowflakeConfig { token: Some(cdc_core::config::Secret::new("oauth-ok")), ..base.clone() };
    assert_eq!(select_one(oauth).await.expect("OAuth login"), Some("1".to_owned()));
    let pat = SnowflakeConfig {
        authenticator: Some(cdc_warehouse::snowflake::Authenticator::ProgrammaticAccessToken),
        token: Some(cdc_core::config::Secret::new("pat-ok")),
        ..base.clone()
    };
    assert_eq!(select_one(pat).await.expect("PAT login"), Some("1".to_owned()));
    let wrong_key = SnowflakeConfig { private_key_path: Some(dir.path().join("other.pem")), ..base.clone() };
    let refused = select_one(wrong_key).await.expect_err("a key the user does not have is refused");
    assert_eq!(refused.code(), Some("390144"), "{refused}");
    assert!(
        refused.hint().unwrap_or_default().contains("SNOWFLAKE_PRIVATE_KEY_PATH"),
        "{:?}",
        refused.hint()
    );
    let wrong_pass = SnowflakeConfig {
        private_key_path: Some(dir.path().join("key.p8")),
        private_key_passphrase: Some(cdc_core::config::Secret::new("nope")),
        ..base
    };
    let refused = select_one(wrong_pass).await.expect_err("wrong passphrase");
    assert!(refused.to_string().contains("passphrase"), "{refused}");
    assert!(!format!("{refused:?}").contains("nope") && !refused.to_string().contains("nope"));
}
