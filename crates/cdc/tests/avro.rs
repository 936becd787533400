//! Avro end to end. PostgreSQL → `cdc capture` (`format = "avro"`, schemas in the embedded registry that its
//! admin server hosts) → Kafka (tansu) → an unmodified Confluent Avro consumer, and → `cdc load` → DuckDB.
//! Schema evolution: a column added with a default is a new compatible version; a type change that breaks
//! BACKWARD compatibility stops capture before any message with it is sent.
//!
//! Size: `CDC_TEST_FULL=1` runs 100k workload changes; CI runs 3k through the same paths.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cdc_test_support::workload::workload;
use cdc_test_support::Tansu;
use cdc_test_support::{free_port, wait_for_every};

use crate::load::{pg_dump, stop, wait_all_loaded, write_config, Extra, Stack, ALL};
use crate::support::{confirmed_flush, spawn};

const WAIT: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_millis(250);
const AVRO: &str = "format = \"avro\"\nkey_format = \"avro\"";

/// A table of the types whose Avro logical types a Confluent consumer turns into its own values.
const TYPED: &str =
    "CREATE TABLE typed (id bigint PRIMARY KEY, amount numeric(12,2), day date, at timestamp(6),
                                         uid uuid, score float8, flag bool, name text)";
const TYPED_CHANGES: &str = "
    INSERT INTO typed SELECT i, i * 1.25 - 40, date '2024-02-28' + i, timestamp '2024-02-29 10:11:12.123456' + i * interval '1 hour 1.5 sec',
                             md5(i::text)::uuid, i / 4.0, i % 2 = 0, 'row ' || i FROM generate_series(1, 60) i;
    INSERT INTO typed (id) VALUES (1000);
    UPDATE typed SET amount = -amount, name = NULL, flag = NOT flag WHERE id % 3 = 0;
    DELETE FROM typed WHERE id % 7 = 0;
";
/// The source rows as the consumer script prints them: text; `date` as Debezium's `io.debezium.time.Date`, days
/// since the epoch (no Avro logical type: Java's AvroData would refuse its `connect.name` with one); timestamps
/// as `timestamp-micros`, which the consumer turns into datetimes (ISO 8601 here); UUIDs as `uuid`.
const TYPED_SOURCE: &str = "SELECT id::text, amount::text, (day - date '1970-01-01')::text,
                                   to_char(at, 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), uid::text, score::text, flag::text, name
                            FROM typed";
const TYPED_COLUMNS: [&str; 8] = ["id", "amount", "day", "at", "uid", "score", "flag", "name"];

fn size() -> usize {
    if std::env::var_os("CDC_TEST_FULL").is_some() {
        100_000
    } else {
        3_000
    }
}

/// Avro configuration with the registry at `port`; `hosts_registry`: this role's admin server serves it there.
fn avro_config(dir: &Path, broker: &Tansu, port: u16, hosts_registry: bool, source_tables: &'static str) {
    let admin = if hosts_registry {
        format!("[admin]\nlisten = \"127.0.0.1:{port}\"\nschema_registry = true\n")
    } else {
        String::new()
    };
    let tables = format!("{admin}[schema_registry]\nurl = \"http://127.0.0.1:{port}\"\n");
    let tables: &'static str = Box::leak(tables.into_boxed_str());
    write_config(dir, broker, Extra { source_tables, format: AVRO, tables, ..Extra::default() });
}

/// The consumer script's rows of `topic`, as text in `columns` order, sorted.
fn consumed_rows(consumed: &serde_json::Value, topic: &str, columns: &[&str]) -> Vec<Vec<Option<String>>> {
    let mut rows: Vec<Vec<Option<String>>> = consumed["rows"][topic]
        .as_array()
        .unwrap_or_else(|| panic!("no rows for {topic}"))
        .iter()
        .map(|row| columns.iter().map(|c| row[*c].as_str().map(str::to_owned)).collect())
        .collect();
    rows.sort();
    rows
}

async fn wait_slot_exists(client: &tokio_postgres::Client) {
    wait_for_every("capture to create its slot", WAIT, POLL, || async move {
        confirmed_flush(client).await.map(|_| ())
    })
    .await;
}

async fn registry_get(base: &str, path: &str) -> Option<serde_json::Value> {
    let response = reqwest::get(format!("{base}{path}")).await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

#[tokio::test]
async fn avro_topics_decode_with_confluent_s_deserializer_and_load_into_duckdb_equal_to_the_source() {
    let Stack { cluster, broker, client, dir } = Stack::start().await;
    client.batch_execute(TYPED).await.unwrap();
    let tables = r#""accounts", "docs", "events", "pairs", "typed""#;
    let port = free_port();
    let total = size();
    workload(&client, total / 10, 61).await;
    client.batch_execute(TYPED_CHANGES).await.unwrap();
    avro_config(dir.path(), &broker, port, true, tables);
    let capture = spawn(&cluster, dir.path(), &["capture", "--sink", "kafka"]);
    wait_slot_exists(&client).await;
    avro_config(dir.path(), &broker, port, false, tables);
    let load = spawn(&cluster, dir.path(), &["load"]);
    workload(&client, total - total / 10, 62).await;
    wait_all_loaded(&client, &broker, dir.path(), &ALL).await;

    // Every key and value decodes with Confluent's own deserializer, and the rows it rebuilds are the source's.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/avro_rows.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(broker.bootstrap())
        .arg(format!("http://127.0.0.1:{port}"))
        .args(["cdc.accounts", "cdc.docs", "cdc.events", "cdc.pairs", "cdc.typed", "cdc.transaction"])
        .output()
        .unwrap();
    assert!(out.status.success(), "the Confluent consumer failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let consumed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        consumed_rows(&consumed, "cdc.typed", &TYPED_COLUMNS),
        pg_dump(&client, TYPED_SOURCE).await,
        "typed rows decoded by the Confluent consumer"
    );
    assert!(pg_dump(&client, TYPED_SOURCE).await.iter().any(|r| r[1].as_deref() == Some("-15.00")));
    assert_eq!(
        consumed_rows(&consumed, "cdc.accounts", &["id", "owner", "balance", "active"]),
        pg_dump(&client, "SELECT id::text, owner, balance::text, active::text FROM accounts").await,
    );
    assert_eq!(
        consumed_rows(&consumed, "cdc.pairs", &["a", "b", "v"]),
        pg_dump(&client, "SELECT a::text, b::text, v FROM pairs").await,
    );
    for topic in ["cdc.accounts", "cdc.docs", "cdc.events", "cdc.pairs", "cdc.transaction"] {
        assert!(consumed["decoded"][topic].as_u64().unwrap() > 10, "{topic}: {}", consumed["decoded"]);
    }

    // `cdc tail --from-kafka` prints Avro records decoded through the registry.
    let tail = crate::support::cdc(&cluster, "postgres", dir.path())
        .args([
            "tail",
            "--from-kafka",
            "--from-beginning",
            "--table",
            "typed",
            "--format",
            "json",
            "--max-events",
            "5",
        ])
        .output()
        .unwrap();
    assert!(tail.status.success(), "{}", String::from_utf8_lossy(&tail.stderr));
    let printed: Vec<serde_json::Value> =
        String::from_utf8_lossy(&tail.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(printed.len(), 5, "{printed:?}");
    assert!(
        printed.iter().all(|e| e["source"]["table"] == "typed" && e["after"]["id"].is_i64()),
        "{printed:?}"
    );

    // The schemas are Debezium's, registered under TopicNameStrategy subjects.
    let base = format!("http://127.0.0.1:{port}");
    let subjects = registry_get(&base, "/subjects").await.unwrap();
    for subject in ["cdc.typed-key", "cdc.typed-value", "cdc.accounts-value", "cdc.transaction-value"] {
        assert!(subjects.as_array().unwrap().iter().any(|s| s == subject), "{subject} missing: {subjects}");
    }
    let value = registry_get(&base, "/subjects/cdc.typed-value/versions/latest").await.unwrap();
    let schema: serde_json::Value = serde_json::from_str(value["schema"].as_str().unwrap()).unwrap();
    assert_eq!(schema["name"], "Envelope");
    assert_eq!(schema["namespace"], "cdc.public.typed");
    stop(capture);
    stop(load);
}

/// The schema ids of every value in `topic`, read raw.
fn value_schema_ids(broker: &Tansu, topic: &str) -> Vec<u32> {
    let read = "import sys, json; from confluent_kafka import Consumer, TopicPartition\n\
                c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': 'ids', 'auto.offset.reset': 'earliest'})\n\
                md = c.list_topics(sys.argv[2], timeout=30).topics[sys.argv[2]]\n\
                ids = []\n\
                for p in md.partitions:\n\
                \x20   low, high = c.get_watermark_offsets(TopicPartition(sys.argv[2], p), timeout=30)\n\
                \x20   c.assign([TopicPartition(sys.argv[2], p, low)])\n\
                \x20   while low < high:\n\
                \x20       m = c.poll(30)\n\
                \x20       if m is None: sys.exit('timeout')\n\
                \x20       low = m.offset() + 1\n\
                \x20       if m.value(): ids.append(int.from_bytes(m.value()[1:5], 'big'))\n\
                print(json.dumps(ids))";
    let out = Command::new("python3").args(["-c", read, &broker.bootstrap(), topic]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn a_column_added_with_a_default_is_a_compatible_new_version_and_a_breaking_type_change_stops_capture()
{
    let Stack { cluster, broker, client, dir } = Stack::start().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    avro_config(dir.path(), &broker, port, true, r#""accounts""#);
    client.batch_execute("INSERT INTO accounts VALUES (1, 'one', 1.00, true)").await.unwrap();
    let capture = spawn(&cluster, dir.path(), &["capture", "--sink", "kafka"]);
    let versions = |expected: serde_json::Value| {
        let base = base.clone();
        async move {
            let versions = registry_get(&base, "/subjects/cdc.accounts-value/versions").await?;
            (versions == expected).then_some(())
        }
    };
    wait_for_every("version 1 of cdc.accounts-value", WAIT, POLL, || versions(serde_json::json!([1]))).await;

    client
        .batch_execute(
            "ALTER TABLE accounts ADD COLUMN tier int NOT NULL DEFAULT 3;
             INSERT INTO accounts VALUES (2, 'two', 2.00, false, 5)",
        )
        .await
        .unwrap();
    wait_for_every("version 2 of cdc.accounts-value", WAIT, POLL, || versions(serde_json::json!([1, 2])))
        .await;
    let v2 = registry_get(&base, "/subjects/cdc.accounts-value/versions/2").await.unwrap();
    assert!(v2["schema"].as_str().unwrap().contains("\"tier\""), "{v2}");
    let accepted = value_schema_ids(&broker, "cdc.accounts");
    let v1_id = registry_get(&base, "/subjects/cdc.accounts-value/versions/1").await.unwrap()["id"].as_u64();
    assert!(accepted
        .iter()
        .all(|id| Some(u64::from(*id)) == v1_id || u64::from(*id) == v2["id"].as_u64().unwrap()));

    // owner: text → int reads nothing written before: BACKWARD refuses it, and capture stops at that change.
    client
        .batch_execute(
            "ALTER TABLE accounts ALTER COLUMN owner TYPE int USING length(owner);
             INSERT INTO accounts VALUES (3, 3, 3.00, true, 1)",
        )
        .await
        .unwrap();
    let status = format!("{base}/connectors/cdc-capture/status");
    let trace = wait_for_every("capture to fail on the incompatible schema", WAIT, POLL, || {
        let status = status.clone();
        async move {
            let body: serde_json::Value = reqwest::get(&status).await.ok()?.json().await.ok()?;
            (body["connector"]["state"] == "FAILED")
                .then(|| body["connector"]["trace"].as_str().unwrap_or("").to_owned())
        }
    })
    .await;
    assert!(trace.contains("cdc.accounts-value") && trace.contains("not compatible"), "{trace}");
    assert_eq!(
        registry_get(&base, "/subjects/cdc.accounts-value/versions").await.unwrap(),
        serde_json::json!([1, 2]),
        "the incompatible schema was not registered"
    );
    let after = value_schema_ids(&broker, "cdc.accounts");
    assert_eq!(after.len(), accepted.len(), "no message with the refused schema: {accepted:?} → {after:?}");
    let behind: bool = client
        .query_one(
            "SELECT confirmed_flush_lsn < pg_current_wal_lsn() FROM pg_replication_slots WHERE slot_name = 'cdc_slot'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(behind, "the slot must not pass the change that could not be sent");
    stop(capture);
}

#[tokio::test]
async fn behind_an_admin_token_the_embedded_registry_takes_the_token_as_the_basic_auth_password() {
    let Stack { cluster, broker, client, dir } = Stack::start().await;
    let port = free_port();
    let token = "adm-t0ken-77";
    // No [schema_registry] url: capture registers with its own admin server, the token as its password.
    let admin =
        format!("[admin]\nlisten = \"127.0.0.1:{port}\"\nschema_registry = true\ntoken = \"{token}\"\n");
    let admin: &'static str = Box::leak(admin.into_boxed_str());
    write_config(
        dir.path(),
        &broker,
        Extra { source_tables: r#""accounts""#, format: AVRO, tables: admin, ..Extra::default() },
    );
    client.batch_execute("INSERT INTO accounts VALUES (1, 'one', 1.00, true)").await.unwrap();
    let capture = spawn(&cluster, dir.path(), &["capture", "--sink", "kafka"]);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let subjects = wait_for_every("capture to register its schemas", WAIT, POLL, || {
        let request = http.get(format!("{base}/subjects")).basic_auth("anyone", Some(token));
        async move {
            let subjects: serde_json::Value = request.send().await.ok()?.json().await.ok()?;
            subjects.as_array()?.iter().any(|s| s == "cdc.accounts-value").then_some(subjects)
        }
    })
    .await;
    assert!(subjects.as_array().unwrap().iter().any(|s| s == "cdc.accounts-key"), "{subjects}");
    for refused in [
        http.get(format!("{base}/subjects")),
        http.get(format!("{base}/subjects")).basic_auth("cdc", Some("wrong")),
    ] {
        assert_eq!(refused.send().await.unwrap().status(), 401);
    }
    // Confluent's client, configured as its users would.
    let list = "import sys; from confluent_kafka.schema_registry import SchemaRegistryClient\n\
                print(SchemaRegistryClient({'url': sys.argv[1], 'basic.auth.user.info': 'cdc:' + sys.argv[2]}).get_subjects())";
    let out = Command::new("python3").args(["-c", list, &base, token]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cdc.accounts-value"));
    assert!(!capture.log_text().contains(token), "the token leaked into the log");
    stop(capture);
}
