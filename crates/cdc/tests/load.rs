//! PostgreSQL → `cdc capture` → Kafka (tansu) → `cdc load` → DuckDB: equality across kill -9 of either role, a
//! consumer group of two loaders losing one, dead letters, an external client reading the topics, bad input.
//!
//! Size: `CDC_TEST_FULL=1` runs the acceptance size (100k changes); CI runs 3k through the same paths.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cdc_kafka::{group_lag, KafkaConfig};
use cdc_test_support::workload::{workload, DUMPS, TABLES};
use cdc_test_support::{wait_for_every, PgCluster, Tansu};

use crate::support::{
    assert_clear_failure, cdc, confirmed_flush, output_within, slot_caught_up, spawn, Role,
};

const WAIT: Duration = Duration::from_secs(300);
/// Checks here create a Kafka client or open the shared DuckDB file (which a loader then waits for): not too often.
const POLL: Duration = Duration::from_millis(250);
const GROUP: &str = "cdc-load";
pub(crate) const ALL: [&str; 4] = ["accounts", "docs", "events", "pairs"];
const TOPICS: [(&str, &str); 4] =
    [("cdc.accounts", "id"), ("cdc.docs", "id"), ("cdc.events", "id"), ("cdc.pairs", "a,b")];

fn size() -> usize {
    if std::env::var_os("CDC_TEST_FULL").is_some() {
        100_000
    } else {
        3_000
    }
}

/// PostgreSQL with the workload's tables, a tansu broker, and the test's directory holding `cdc.toml` (with
/// no extra lines).
pub(crate) struct Stack {
    pub cluster: PgCluster,
    pub broker: Tansu,
    pub client: tokio_postgres::Client,
    pub dir: tempfile::TempDir,
}

impl Stack {
    pub async fn start() -> Stack {
        let cluster = PgCluster::start();
        let broker = Tansu::start();
        let client = cluster.connect("postgres").await;
        client.batch_execute(TABLES).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), &broker, Extra::default());
        Stack { cluster, broker, client, dir }
    }
}

/// Lines added to the test configuration: the event format (default: JSON with schemas, bare JSON keys), in
/// `[kafka]`, in `[kafka.client]`, and new tables at the end.
#[derive(Default)]
pub(crate) struct Extra {
    /// `[source] tables`, default the four workload tables.
    pub source_tables: &'static str,
    pub format: &'static str,
    pub kafka: &'static str,
    pub client: &'static str,
    pub tables: &'static str,
}

/// The seed's event shape, six partitions per topic, and a DuckDB file loaders share.
pub(crate) fn write_config(dir: &Path, broker: &Tansu, extra: Extra) {
    let config = format!(
        r#"
[source]
tables = [{source_tables}]
[events]
topic_template = "{{prefix}}.{{table}}"
{format}
transaction_metadata = true
[kafka]
bootstrap_servers = "{bootstrap}"
topic_partitions = 6
{kafka}
[kafka.client]
"session.timeout.ms" = "6000"
"heartbeat.interval.ms" = "500"
{client}
[duckdb]
path = "warehouse.duckdb"
exclusive = false
[pipeline]
batch_size = 500
poll_timeout_ms = 200
{tables}
"#,
        bootstrap = broker.bootstrap(),
        source_tables = if extra.source_tables.is_empty() {
            r#""accounts", "docs", "events", "pairs""#
        } else {
            extra.source_tables
        },
        format = if extra.format.is_empty() {
            "format = \"json-schema\"\nkey_format = \"json\""
        } else {
            extra.format
        },
        kafka = extra.kafka,
        client = extra.client,
        tables = extra.tables,
    );
    std::fs::write(dir.join("cdc.toml"), config).unwrap();
}

fn kafka(broker: &Tansu) -> KafkaConfig {
    KafkaConfig { bootstrap_servers: broker.bootstrap(), ..KafkaConfig::default() }
}

fn topics() -> Vec<String> {
    TOPICS.iter().map(|(t, _)| (*t).to_owned()).collect()
}

/// Records the group has committed over all partitions of the four topics.
async fn committed(broker: &Tansu) -> i64 {
    let lag = group_lag(&kafka(broker), GROUP, &topics()).await.unwrap_or_default();
    lag.iter().filter_map(|p| p.committed).sum()
}

/// Waits until the group has committed something (so a loader is consuming).
pub(crate) async fn wait_first_commit(broker: &Tansu) {
    wait_for_every("the group's first commit", WAIT, POLL, || async move {
        (committed(broker).await > 0).then_some(())
    })
    .await;
}

/// Capture has confirmed all WAL and the group has loaded all of it: the shared warehouse equals the source
/// (read between the loaders' commits). The group's lag is only reported: tansu's high watermarks can trail
/// the records it serves, so "committed ≥ end" does not prove the end was reached.
pub(crate) async fn wait_all_loaded(
    client: &tokio_postgres::Client,
    broker: &Tansu,
    dir: &Path,
    tables: &[&str],
) {
    let last_seen = std::sync::Mutex::new(String::new());
    let seen = &last_seen;
    let waited = tokio::time::timeout(
        WAIT,
        wait_for_every("capture and load to catch up", WAIT * 2, POLL, || async move {
            if !slot_caught_up(client).await {
                *seen.lock().unwrap() =
                    format!("capture behind: slot at {:?}", confirmed_flush(client).await);
                return None;
            }
            let Some(difference) = first_difference(client, dir, tables).await else { return Some(()) };
            let lag = group_lag(&kafka(broker), GROUP, &topics()).await;
            *seen.lock().unwrap() = format!("{difference}; group: {lag:?}");
            None
        }),
    )
    .await;
    assert!(
        waited.is_ok(),
        "capture and load did not catch up in {WAIT:?}; last seen: {}",
        last_seen.lock().unwrap()
    );
}

pub(crate) fn stop(mut role: Role) {
    let mut child = role.child();
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGTERM exits 0, got {status}");
}

pub(crate) fn kill(mut role: Role) {
    let mut child = role.child();
    child.kill().expect("kill -9");
    let _ = child.wait();
}

pub(crate) type Dump = Vec<Vec<Option<String>>>;

/// The warehouse's rows, sorted; `None` while a loader holds the file (it is shared, `exclusive = false`) or
/// before the table exists.
fn duck_dump(path: &Path, sql: &str) -> Option<Dump> {
    let conn = duckdb::Connection::open(path).ok()?;
    let mut stmt = conn.prepare(sql).ok()?;
    let mut rows = stmt.query([]).ok()?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().ok()? {
        out.push(
            (0..row.as_ref().column_count()).map(|i| row.get::<_, Option<String>>(i).unwrap()).collect(),
        );
    }
    out.sort();
    Some(out)
}

pub(crate) async fn pg_dump(client: &tokio_postgres::Client, sql: &str) -> Dump {
    let mut rows: Dump = client
        .query(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (0..r.len()).map(|i| r.get::<_, Option<String>>(i)).collect())
        .collect();
    rows.sort();
    rows
}

/// The first table whose warehouse rows differ from the source's, with a description.
pub(crate) async fn first_difference(
    client: &tokio_postgres::Client,
    dir: &Path,
    tables: &[&str],
) -> Option<String> {
    for &(table, source_sql, warehouse_sql) in DUMPS.iter().filter(|(t, _, _)| tables.contains(t)) {
        let source = pg_dump(client, source_sql).await;
        match duck_dump(&dir.join("warehouse.duckdb"), warehouse_sql) {
            None => return Some(format!("{table}: warehouse not readable yet")),
            Some(warehouse) if warehouse.len() != source.len() => {
                return Some(format!(
                    "{table}: {} rows in the warehouse, {} in the source",
                    warehouse.len(),
                    source.len()
                ))
            }
            Some(warehouse) if warehouse != source => return Some(format!("{table}: rows differ")),
            Some(_) => {}
        }
    }
    None
}

async fn assert_warehouse_equals_source(client: &tokio_postgres::Client, dir: &Path) {
    assert_tables_equal(client, dir, &ALL).await;
}

pub(crate) async fn assert_tables_equal(client: &tokio_postgres::Client, dir: &Path, tables: &[&str]) {
    if let Some(difference) = first_difference(client, dir, tables).await {
        panic!("{difference}");
    }
}

/// Runs the workload in the background; the flag turns false when it is done.
pub(crate) async fn background_workload(
    cluster: &PgCluster,
    changes: usize,
    seed: u64,
) -> (tokio::task::JoinHandle<()>, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = writing.clone();
    let client = cluster.connect("postgres").await;
    let task = tokio::spawn(async move {
        workload(&client, changes, seed).await;
        flag.store(false, std::sync::atomic::Ordering::SeqCst);
    });
    (task, writing)
}

#[tokio::test]
async fn kill_dash_nine_of_capture_and_of_load_five_times_each_leaves_duckdb_equal_to_the_source() {
    let Stack { cluster, broker, client, dir } = Stack::start().await;
    let total = size();
    workload(&client, total / 10, 21).await;
    let (writer, writing) = background_workload(&cluster, total - total / 10, 22).await;

    let mut capture = Some(spawn(&cluster, dir.path(), &["capture", "--sink", "kafka"]));
    let mut load = Some(spawn(&cluster, dir.path(), &["load"]));
    let mut rng = fastrand::Rng::with_seed(7);
    for round in 0..10 {
        let capture_turn = round % 2 == 0;
        let c = &client;
        let b = &broker;
        // Let the victim make progress 1-3 times (or, once the writer is done, catch up), then kill it.
        for _ in 0..rng.usize(1..=3) {
            if capture_turn {
                let before = confirmed_flush(c).await;
                let writing = writing.clone();
                wait_for_every(&format!("round {round}: the slot to advance"), WAIT, POLL, || {
                    let before = before.clone();
                    let writing = writing.load(std::sync::atomic::Ordering::SeqCst);
                    async move {
                        let now = confirmed_flush(c).await;
                        (now.is_some() && now != before || !writing && slot_caught_up(c).await).then_some(())
                    }
                })
                .await;
            } else {
                let before = committed(b).await;
                let writing = writing.clone();
                wait_for_every(&format!("round {round}: the group to commit"), WAIT, POLL, || {
                    let writing = writing.load(std::sync::atomic::Ordering::SeqCst);
                    async move {
                        let lag = group_lag(&kafka(b), GROUP, &topics()).await.ok()?;
                        let now: i64 = lag.iter().filter_map(|p| p.committed).sum();
                        let idle = !writing && lag.iter().all(|p| p.lag() == 0);
                        (now > before || idle).then_some(())
                    }
                })
                .await;
            }
        }
        if capture_turn {
            kill(capture.take().unwrap());
            capture = Some(spawn(&cluster, dir.path(), &["capture", "--sink", "kafka"]));
        } else {
            kill(load.take().unwrap());
            load = Some(spawn(&cluster, dir.path(), &["load"]));
        }
    }
    writer.await.unwrap();
    wait_all_loaded(&client, &broker, dir.path(), &ALL).await;
    stop(capture.take().unwrap());
    stop(load.take().unwrap());
    assert_warehouse_equals_source(&client, dir.path()).await;
}

#[tokio::test]
async fn two_loaders_share_six_partitions_and_one_takes_over_when_the_other_is_killed() {
    let Stack { cluster, broker, client, dir } = Stack::start().await;
    let total = size();
    // The loaders start first, when no topic matches their subscription yet: librdkafka reports the pattern
    // "not available", which must not stop them.
    let first = spawn(&cluster, dir.path(), &["load"]);
    let second = spawn(&cluster, dir.path(), &["load"]);
    for loader in [&first, &second] {
        wait_for_every("the loader to find no topics", WAIT, POLL, || async move {
            loader.log_contains("Subscribed topic not available").then_some(())
        })
        .await;
    }
    let (writer, _) = background_workload(&cluster, total, 31).await;
    let capture = spawn(&cluster, dir.path(), &["capture", "--sink", "kafka"]);
    // Both members have committed something before one dies mid-stream.
    wait_first_commit(&broker).await;
    kill(first);
    writer.await.unwrap();
    wait_all_loaded(&client, &broker, dir.path(), &ALL).await;
    stop(capture);
    stop(second);
    assert_warehouse_equals_source(&client, dir.path()).await;

    // An unmodified confluent-kafka client reads every topic: envelopes, keys, and per-key LSN order across the
    // six partitions.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_topics.py");
    let specs: Vec<String> = TOPICS.iter().map(|(t, k)| format!("{t}={k}")).collect();
    let out = Command::new("python3")
        .arg(script)
        .arg(broker.bootstrap())
        .args(["--transactions", "cdc.transaction"])
        .args(&specs)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "external check failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(summary["messages"].as_u64().unwrap() >= total as u64 / 2, "{summary}");
    assert!(summary["partitions"].as_u64().unwrap() > 4, "records spread over partitions: {summary}");
    for op in ["c", "u", "d"] {
        assert!(summary["ops"][op].as_u64().unwrap_or(0) > 0, "no {op} events: {summary}");
    }
    assert!(summary["transactions"].as_u64().unwrap() >= total as u64 / 2, "{summary}");
}

#[tokio::test]
async fn a_broker_outage_pauses_capture_without_advancing_the_slot_then_it_catches_up() {
    let Stack { cluster, broker, client, dir } = Stack::start().await;
    let outage_secs = if std::env::var_os("CDC_TEST_FULL").is_some() { 30 } else { 8 };
    let (writer, _) = background_workload(&cluster, size(), 41).await;
    let capture = spawn(&cluster, dir.path(), &["capture", "--sink", "kafka"]);
    let load = spawn(&cluster, dir.path(), &["load"]);
    wait_first_commit(&broker).await;

    broker.pause();
    // Changes keep coming during the outage.
    workload(&client, 300, 42).await;
    // The outage is the scenario: sample the slot through it. The first second lets an acknowledgement already
    // under way land; after that, with the broker silent, nothing may be confirmed.
    let mut samples = Vec::new();
    for _ in 0..outage_secs {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples.push(confirmed_flush(&client).await);
    }
    let written_during: bool = client
        .query_one(
            "SELECT pg_current_wal_insert_lsn() > $1::text::pg_lsn",
            &[&samples[1].clone().unwrap_or_default()],
        )
        .await
        .unwrap()
        .get(0);
    broker.resume();
    assert!(
        samples[1..].iter().all(|s| *s == samples[1]),
        "the slot advanced during the outage: {samples:?}"
    );
    assert!(written_during, "changes were written during the outage and not confirmed");

    writer.await.unwrap();
    wait_all_loaded(&client, &broker, dir.path(), &ALL).await;
    stop(capture);
    stop(load);
    assert_warehouse_equals_source(&client, dir.path()).await;
}

#[tokio::test]
async fn a_poison_record_goes_to_the_dead_letter_topic_and_loading_goes_on() {
    let Stack { cluster, broker, client, dir } = Stack::start().await;
    client.batch_execute("INSERT INTO accounts VALUES (1, 'before', 1.00, true)").await.unwrap();
    let capture = spawn(&cluster, dir.path(), &["capture", "--sink", "kafka"]);
    let load = spawn(&cluster, dir.path(), &["load"]);
    wait_first_commit(&broker).await;
    // Written by hand, as a misbehaving producer would.
    let produce = "import sys; from confluent_kafka import Producer; p = Producer({'bootstrap.servers': sys.argv[1]}); \
                   p.produce('cdc.accounts', key=b'{\"id\": 2}', value=b'not json at all {'); p.flush(30)";
    let out = Command::new("python3").args(["-c", produce, &broker.bootstrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    client.batch_execute("INSERT INTO accounts VALUES (3, 'after', 3.00, false)").await.unwrap();
    wait_all_loaded(&client, &broker, dir.path(), &["accounts"]).await;
    stop(capture);
    stop(load);
    assert_tables_equal(&client, dir.path(), &["accounts"]).await;

    let read_dlq = "import sys, json; from confluent_kafka import Consumer; \
                    c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': 'dlq-check', 'auto.offset.reset': 'earliest'}); \
                    c.subscribe(['cdc.dlq']); m = c.poll(60); \
                    print(json.dumps({'value': m.value().decode(), 'headers': {k: v.decode() for k, v in m.headers()}}))";
    let out = Command::new("python3").args(["-c", read_dlq, &broker.bootstrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dead: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(dead["value"], "not json at all {");
    assert_eq!(dead["headers"]["cdc.source.topic"], "cdc.accounts");
    assert!(!dead["headers"]["cdc.error"].as_str().unwrap().is_empty(), "{dead}");
}

#[tokio::test]
async fn load_fails_clearly_on_unreachable_brokers_a_missing_topic_and_failed_authentication() {
    let cluster = PgCluster::start();
    let broker = Tansu::start();
    let dir = tempfile::tempdir().unwrap();
    // A topic with a record the failed loaders could have consumed.
    let produce = "import sys; from confluent_kafka import Producer; p = Producer({'bootstrap.servers': sys.argv[1]}); \
                   p.produce('cdc.accounts', key=b'{\"id\": 1}', value=b'{}'); p.flush(30)";
    let out = Command::new("python3").args(["-c", produce, &broker.bootstrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Capture's default format, bare JSON, carries no column types: refused as configuration, exit 2.
    let bare = format!("[kafka]\nbootstrap_servers = \"{}\"\n", broker.bootstrap());
    std::fs::write(dir.path().join("cdc.toml"), bare).unwrap();
    let mut cmd = cdc(&cluster, "postgres", dir.path());
    cmd.arg("load");
    let out = output_within(cmd, Duration::from_secs(60));
    assert_clear_failure(&out, &["events.format", "json-schema"], "no-secret-here");
    assert_eq!(out.status.code(), Some(2));

    let run = |extra: Extra, bootstrap: Option<&str>| {
        write_config(dir.path(), &broker, extra);
        let mut cmd = cdc(&cluster, "postgres", dir.path());
        if let Some(bootstrap) = bootstrap {
            cmd.env("KAFKA_BOOTSTRAP_SERVERS", bootstrap);
        }
        cmd.arg("load");
        output_within(cmd, Duration::from_secs(120))
    };
    let short_timeout = Extra { kafka: "message_timeout_ms = 3000", ..Extra::default() };
    let unreachable = run(short_timeout, Some("127.0.0.1:1"));
    assert_clear_failure(&unreachable, &["kafka", "127.0.0.1:1"], "no-secret-here");

    let missing = run(Extra { tables: "[load]\ntopics = [\"cdc.nope\"]", ..Extra::default() }, None);
    assert_clear_failure(&missing, &["cdc.nope", "does not exist"], "no-secret-here");

    let sasl = Extra {
        kafka: "message_timeout_ms = 3000",
        client: "\"security.protocol\" = \"SASL_PLAINTEXT\"\n\"sasl.mechanism\" = \"SCRAM-SHA-512\"\n\
                 \"sasl.username\" = \"u\"\n\"sasl.password\" = \"hunter2-secret\"",
        ..Extra::default()
    };
    let out = run(sasl, None);
    assert_clear_failure(&out, &["kafka", "authentication"], "hunter2-secret");
    // The record is there, and the group committed nothing.
    let lag = group_lag(&kafka(&broker), GROUP, &topics()).await.unwrap();
    assert!(lag.iter().any(|p| p.topic == "cdc.accounts"), "{lag:?}");
    assert!(lag.iter().all(|p| p.committed.is_none()), "{lag:?}");
}

#[tokio::test]
async fn capture_stops_clearly_on_a_missing_topic_an_oversized_message_and_failed_authentication() {
    let Stack { cluster, broker, client, dir } = Stack::start().await;
    client
        .batch_execute("INSERT INTO accounts VALUES (1, 'a', 1, true); INSERT INTO docs VALUES (1, 't', repeat('x', 100000), 1);")
        .await
        .unwrap();
    let capture = |extra: Extra| {
        write_config(dir.path(), &broker, extra);
        let mut cmd = cdc(&cluster, "postgres", dir.path());
        cmd.args(["capture", "--sink", "kafka"]);
        output_within(cmd, Duration::from_secs(120))
    };
    let no_create = Extra { kafka: "create_topics = false", ..Extra::default() };
    let out = capture(no_create);
    assert_clear_failure(&out, &["topic cdc.", "does not exist", "create_topics"], "no-secret-here");
    let slot_after_first = confirmed_flush(&client).await;

    let small_messages = Extra { client: "\"message.max.bytes\" = \"10000\"", ..Extra::default() };
    let out = capture(small_messages);
    assert_clear_failure(&out, &["cdc.docs", "message"], "no-secret-here");

    let sasl = Extra {
        kafka: "message_timeout_ms = 5000",
        client: "\"security.protocol\" = \"SASL_PLAINTEXT\"\n\"sasl.mechanism\" = \"SCRAM-SHA-512\"\n\
                 \"sasl.username\" = \"u\"\n\"sasl.password\" = \"hunter2-secret\"",
        ..Extra::default()
    };
    let out = capture(sasl);
    assert_clear_failure(&out, &["kafka", "authentication"], "hunter2-secret");

    // The refused table's snapshot is not recorded done, and the slot never moved past where it was created.
    assert_eq!(confirmed_flush(&client).await, slot_after_first);
    let done: i64 = client
        .query_one("SELECT count(*) FROM cdc_snapshot_progress WHERE table_name = 'docs'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(done, 0, "the docs snapshot may not count as done");
}

#[tokio::test]
async fn capture_to_kafka_then_load_into_snowflake_with_soft_deletes_survives_killed_loaders() {
    let server = crate::snowflake::server();
    let Stack { cluster, broker, client, dir } = Stack::start().await;
    // The loader's [snowflake] section after the other settings (it is the file's last table); soft deletes here
    // (`cdc run`'s kill test uses hard ones).
    let snowflake = format!("{}delete_mode = \"soft\"\n", crate::snowflake::snowflake_toml(&server));
    let snowflake: &'static str = Box::leak(snowflake.into_boxed_str());
    write_config(dir.path(), &broker, Extra { tables: snowflake, ..Extra::default() });
    let total = size() / 2;
    workload(&client, total / 10, 31).await;
    let (writer, writing) = background_workload(&cluster, total - total / 10, 32).await;
    let capture = spawn(&cluster, dir.path(), &["capture", "--sink", "kafka"]);
    let mut load = spawn(&cluster, dir.path(), &["load", "--sink", "snowflake"]);
    for round in 0..2 {
        let before = committed(&broker).await;
        let b = &broker;
        let writing = writing.clone();
        wait_for_every(&format!("round {round}: the group to commit"), WAIT, POLL, || {
            let writing = writing.load(std::sync::atomic::Ordering::SeqCst);
            async move { (committed(b).await > before || !writing).then_some(()) }
        })
        .await;
        kill(load);
        load = spawn(&cluster, dir.path(), &["load", "--sink", "snowflake"]);
    }
    writer.await.unwrap();
    let sf = crate::snowflake::reader(&server).await;
    let (c, s) = (&client, &sf);
    wait_for_every(
        "capture and the Snowflake loader to catch up",
        WAIT,
        Duration::from_secs(1),
        || async move {
            (slot_caught_up(c).await && crate::snowflake::snowflake_difference(c, s).await.is_none())
                .then_some(())
        },
    )
    .await;
    // One more delete, of a row the warehouse holds: soft mode keeps it, marked.
    let id: i32 = client
        .query_one("DELETE FROM accounts WHERE id = (SELECT min(id) FROM accounts) RETURNING id", &[])
        .await
        .unwrap()
        .get(0);
    wait_for_every("the delete to reach Snowflake", WAIT, Duration::from_secs(1), || async move {
        (slot_caught_up(c).await && crate::snowflake::snowflake_difference(c, s).await.is_none())
            .then_some(())
    })
    .await;
    stop(capture);
    stop(load);
    crate::snowflake::assert_snowflake_equal(&client, &sf).await;
    assert!(committed(&broker).await > 0, "offsets committed after the Snowflake commits");
    let marked = sf
        .query(
            "SELECT _cdc_op, _cdc_deleted::VARCHAR FROM cdc_db.public.accounts WHERE id = ?",
            cdc_warehouse::snowflake::client::Bindings::Row(vec![
                cdc_warehouse::snowflake::client::Bind::fixed(id),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(
        marked.rows,
        [vec![Some("d".to_owned()), Some("true".to_owned())]],
        "soft deletes keep the deleted row, marked"
    );
}

#[tokio::test]
async fn cdc_load_into_snowflake_with_a_wrong_password_fails_clearly_and_commits_no_offset() {
    let server = crate::snowflake::server();
    let Stack { cluster, broker, client, dir } = Stack::start().await;
    let snowflake =
        crate::snowflake::snowflake_toml(&server).replace(crate::snowflake::PASSWORD, "wrong-password");
    let snowflake: &'static str = Box::leak(snowflake.into_boxed_str());
    write_config(dir.path(), &broker, Extra { tables: snowflake, ..Extra::default() });
    workload(&client, 200, 41).await;
    let capture = spawn(&cluster, dir.path(), &["capture", "--sink", "kafka"]);
    let c = &client;
    wait_for_every("capture to publish the workload", WAIT, POLL, || async move {
        slot_caught_up(c).await.then_some(())
    })
    .await;
    let mut cmd = cdc(&cluster, "postgres", dir.path());
    cmd.args(["load", "--sink", "snowflake"]).env("CDC_LOG", "debug");
    let out = output_within(cmd, Duration::from_secs(120));
    assert_clear_failure(&out, &["login failed", "SNOWFLAKE_PASSWORD"], "wrong-password");
    stop(capture);
    assert_eq!(committed(&broker).await, 0, "no offset committed without a warehouse commit");
}

#[tokio::test]
async fn cdc_load_behind_the_admin_api_pauses_resumes_and_reports_offsets_and_lag() {
    let Stack { cluster, broker, client, dir } = Stack::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let capture_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    workload(&client, 300, 51).await;
    // Each role its own admin port: capture reads the file with one, the loader (started later) with the other.
    let admin: &'static str =
        Box::leak(format!("[admin]\nlisten = \"127.0.0.1:{capture_port}\"\n").into_boxed_str());
    write_config(dir.path(), &broker, Extra { tables: admin, ..Extra::default() });
    let capture = spawn(&cluster, dir.path(), &["capture", "--sink", "kafka"]);
    let c = &client;
    wait_for_every("capture to start", WAIT, POLL, || async move { confirmed_flush(c).await.map(|_| ()) })
        .await;
    let admin: &'static str = Box::leak(format!("[admin]\nlisten = \"127.0.0.1:{port}\"\n").into_boxed_str());
    write_config(dir.path(), &broker, Extra { tables: admin, ..Extra::default() });
    let load = spawn(&cluster, dir.path(), &["load"]);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let state = || async {
        let status: serde_json::Value =
            http.get(format!("{base}/connectors/cdc-load/status")).send().await.ok()?.json().await.ok()?;
        status["connector"]["state"].as_str().map(str::to_owned)
    };
    wait_all_loaded(&client, &broker, dir.path(), &ALL).await;
    assert_eq!(state().await.as_deref(), Some("RUNNING"));
    let offsets: serde_json::Value =
        http.get(format!("{base}/connectors/cdc-load/offsets")).send().await.unwrap().json().await.unwrap();
    let partitions = offsets["offsets"].as_array().cloned().unwrap_or_default();
    assert!(partitions.iter().any(|p| p["offset"]["kafka_offset"].as_i64() > Some(0)), "{offsets}");
    let h = &http;
    let b = &base;
    wait_for_every("consumer lag in /metrics", WAIT, POLL, || async move {
        let text = h.get(format!("{b}/metrics")).send().await.ok()?.text().await.ok()?;
        text.lines().any(|l| l.starts_with("cdc_consumer_lag_records{")).then_some(())
    })
    .await;

    // Paused: the consumer leaves, nothing is applied or committed.
    assert_eq!(
        http.put(format!("{base}/connectors/cdc-load/pause")).send().await.unwrap().status().as_u16(),
        202
    );
    wait_for_every("the loader to pause", WAIT, POLL, || async {
        (state().await.as_deref() == Some("PAUSED")).then_some(())
    })
    .await;
    let committed_before = committed(&broker).await;
    workload(&client, 200, 52).await;
    wait_for_every("capture to publish", WAIT, POLL, || async move { slot_caught_up(c).await.then_some(()) })
        .await;
    assert_eq!(committed(&broker).await, committed_before, "a paused loader commits nothing");
    assert!(first_difference(&client, dir.path(), &ALL).await.is_some(), "a paused loader applies nothing");

    // Resumed: everything lands.
    assert_eq!(
        http.put(format!("{base}/connectors/cdc-load/resume")).send().await.unwrap().status().as_u16(),
        202
    );
    wait_all_loaded(&client, &broker, dir.path(), &ALL).await;
    assert_eq!(state().await.as_deref(), Some("RUNNING"));
    // Every metric on the dashboard is exported by capture or load (ingestion's: see cdc-ingest's metrics test);
    // read after streamed changes flowed (snapshot rows do not set the time behind the source).
    let capture_base = format!("http://127.0.0.1:{capture_port}");
    // Gauges polled in the background (slot, consumer lag) may take one poll to appear: look for a while.
    let deadline = std::time::Instant::now() + WAIT;
    let (text, missing) = loop {
        let load_text = http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
        let capture_text =
            http.get(format!("{capture_base}/metrics")).send().await.unwrap().text().await.unwrap();
        let text = format!("{load_text}\n{capture_text}");
        let missing: Vec<&str> = dashboard_metrics()
            .into_iter()
            .filter(|name| !name.starts_with("cdc_ingest_"))
            .filter(|name| !text.lines().any(|l| l.starts_with(name)))
            .collect();
        if missing.is_empty() || std::time::Instant::now() > deadline {
            break (text, missing);
        }
        tokio::time::sleep(POLL).await;
    };
    assert!(missing.is_empty(), "dashboard metrics no role exported: {missing:?}");
    assert!(text.contains("cdc_kafka_produce_latency_seconds"), "capture's producer metrics");
    stop(capture);
    stop(load);
    assert_warehouse_equals_source(&client, dir.path()).await;
}

/// The `cdc_*` metric names the Grafana dashboard queries (histogram suffixes removed).
fn dashboard_metrics() -> Vec<&'static str> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/grafana/cdc-dashboard.json"
    ))
    .expect("the dashboard");
    cdc_core::metrics::ALL
        .iter()
        .map(|(name, _, _)| *name)
        .filter(|name| {
            text.match_indices(name).any(|(i, _)| {
                // A whole name: not a prefix of a longer one (other than the histogram series).
                let rest = &text[i + name.len()..];
                let next = rest.chars().next().unwrap_or(' ');
                !(next.is_ascii_alphanumeric() || next == '_')
                    || ["_bucket", "_sum", "_count"].iter().any(|s| rest.starts_with(s))
            })
        })
        .collect()
}
