//! What `cdc capture` and `cdc tail` print: Debezium envelopes a Debezium consumer can read.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use cdc_test_support::{wait_for, PgCluster};
use serde_json::Value as Json;

use crate::support::{cdc, spawn_capture};

const SEED_LIKE: &str = "
    CREATE TABLE customers (customer_id serial PRIMARY KEY, name text NOT NULL, balance numeric(10,2),
                            attrs jsonb, updated_at timestamptz DEFAULT now());
    ALTER TABLE customers REPLICA IDENTITY FULL;
    INSERT INTO customers (name, balance, attrs) VALUES ('Ada', 10.50, '{\"vip\": true}');
";

fn lines(path: &std::path::Path) -> Vec<Json> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test]
async fn capture_writes_seed_compatible_envelopes_with_the_schema_wrapper_and_tombstones() {
    let cluster = PgCluster::start();
    let client = cluster.connect("postgres").await;
    client.batch_execute(SEED_LIKE).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cdc.toml"),
        "[events]\ntopic_prefix = \"dbserver\"\ntopic_template = \"cdc.{table}\"\nformat = \"json-schema\"\n\
         key_format = \"json\"\ndecimal_handling = \"double\"\n",
    )
    .unwrap();
    let output = dir.path().join("events.jsonl");
    let mut child = spawn_capture(cdc(&cluster, "postgres", dir.path()), &output);
    let out = output.clone();
    wait_for("the snapshot row", Duration::from_secs(60), || {
        let n = lines(&out).len();
        async move { (n >= 1).then_some(()) }
    })
    .await;
    client.batch_execute("UPDATE customers SET balance = 11.25 WHERE customer_id = 1").await.unwrap();
    client.batch_execute("DELETE FROM customers WHERE customer_id = 1").await.unwrap();
    let out = output.clone();
    let records = wait_for("update, delete and tombstone", Duration::from_secs(60), || {
        let records = lines(&out);
        async move { (records.len() >= 4).then_some(records) }
    })
    .await;
    child.kill().unwrap();
    let _ = child.wait();

    assert!(records.iter().all(|r| r["topic"] == "cdc.customers"), "{records:?}");
    assert!(records.iter().all(|r| r["key"] == serde_json::json!({"customer_id": 1})), "plain JSON keys");
    let ops: Vec<&Json> = records.iter().map(|r| &r["value"]["payload"]["op"]).collect();
    assert_eq!(ops, [&Json::from("r"), &Json::from("u"), &Json::from("d"), &Json::Null]);
    assert!(records[3]["value"].is_null(), "a tombstone follows the delete");

    let read = &records[0]["value"];
    assert_eq!(read["schema"]["name"], "dbserver.public.customers.Envelope");
    let after = &read["payload"]["after"];
    assert_eq!(after["balance"], 10.5, "decimal.handling.mode=double");
    assert_eq!(after["attrs"], "{\"vip\": true}", "jsonb travels as a JSON string (io.debezium.data.Json)");
    assert_eq!(read["payload"]["source"]["snapshot"], "last");
    assert_eq!(read["payload"]["source"]["connector"], "postgresql");

    let update = &records[1]["value"]["payload"];
    assert_eq!(update["before"]["balance"], 10.5, "full before image");
    assert_eq!(update["after"]["balance"], 11.25);
    assert!(update["source"]["lsn"].as_u64().unwrap() > 0);
    assert!(update["source"]["txId"].as_u64().unwrap() > 0);
    assert_eq!(records[2]["value"]["payload"]["before"]["name"], "Ada");
}

#[tokio::test]
async fn tail_prints_live_changes_of_the_chosen_table_and_leaves_no_slot_behind() {
    let cluster = PgCluster::start();
    let client = cluster.connect("postgres").await;
    client.batch_execute(&format!("{SEED_LIKE} CREATE TABLE other (id int PRIMARY KEY);")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut child = cdc(&cluster, "postgres", dir.path())
        .args(["tail", "--format", "json", "--table", "customers", "--max-events", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        BufReader::new(stderr).lines().map_while(Result::ok).find(|l| l.starts_with("tailing changes"))
    });
    tokio::time::timeout(Duration::from_secs(60), ready).await.unwrap().unwrap().expect("tail reports ready");
    client
        .batch_execute("INSERT INTO other VALUES (1); INSERT INTO customers (name) VALUES ('Grace')")
        .await
        .unwrap();
    client.batch_execute("UPDATE customers SET name = 'Grace H.' WHERE name = 'Grace'").await.unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output());
    let out = tokio::time::timeout(Duration::from_secs(60), out).await.unwrap().unwrap().unwrap();
    assert!(out.status.success());
    let printed: Vec<Json> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let summary: Vec<(String, String)> = printed
        .iter()
        .map(|v| (v["op"].as_str().unwrap().to_owned(), v["after"]["name"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(summary, [("c".into(), "Grace".into()), ("u".into(), "Grace H.".into())]);
    let slots: i64 = client.query_one("SELECT count(*) FROM pg_replication_slots", &[]).await.unwrap().get(0);
    assert_eq!(slots, 0, "the temporary slot is gone with the process");
}

#[tokio::test]
async fn capture_to_unreachable_kafka_fails_clearly_without_advancing_the_slot() {
    let cluster = PgCluster::start();
    let client = cluster.connect("postgres").await;
    client.batch_execute(SEED_LIKE).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(dir.path().join("cdc.toml"), "[kafka]\nmessage_timeout_ms = 3000\n").unwrap();
    let started = std::time::Instant::now();
    let out = cdc(&cluster, "postgres", dir.path())
        .env("KAFKA_BOOTSTRAP_SERVERS", format!("127.0.0.1:{closed}"))
        .args(["capture", "--sink", "kafka"])
        .output()
        .unwrap();
    crate::support::assert_clear_failure(
        &out,
        &["kafka", "topic", &closed.to_string(), "KAFKA_BOOTSTRAP_SERVERS"],
        cluster.password(),
    );
    eprintln!("failed after {:?}", started.elapsed());
    let confirmed = crate::support::confirmed_flush(&client).await;
    let consistent: bool =
        client.query_one("SELECT count(*) = 0 FROM cdc_snapshot_progress", &[]).await.unwrap().get(0);
    assert!(consistent, "no snapshot table may be recorded done ({confirmed:?})");
}

#[tokio::test]
async fn capture_to_kafka_then_tail_from_kafka_reads_the_changes_back() {
    let cluster = PgCluster::start();
    let broker = cdc_test_support::Tansu::start();
    let client = cluster.connect("postgres").await;
    client.batch_execute(SEED_LIKE).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let with_kafka = |cmd: &mut std::process::Command| {
        cmd.env("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap()).env("CDC_TOPIC_TEMPLATE", "{prefix}.{table}");
    };
    let mut capture = cdc(&cluster, "postgres", dir.path());
    with_kafka(&mut capture);
    let mut capture = capture.args(["capture", "--sink", "kafka"]).stderr(Stdio::null()).spawn().unwrap();
    let c = &client;
    wait_for("capture to stream", Duration::from_secs(60), || async move {
        c.query_opt("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'cdc_slot' AND active", &[])
            .await
            .unwrap()
    })
    .await;
    client.batch_execute("INSERT INTO customers (name) VALUES ('Grace')").await.unwrap();
    client.batch_execute("UPDATE customers SET name = 'Ada L.' WHERE customer_id = 1").await.unwrap();

    let mut tail = cdc(&cluster, "postgres", dir.path());
    with_kafka(&mut tail);
    tail.args(["tail", "--from-kafka", "--from-beginning", "--table", "customers", "--format", "json"])
        .args(["--max-events", "3"]);
    let out =
        tokio::time::timeout(Duration::from_secs(120), tokio::task::spawn_blocking(move || tail.output()))
            .await
            .expect("tail stops after three events")
            .unwrap()
            .unwrap();
    capture.kill().unwrap();
    let _ = capture.wait();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let seen: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).unwrap())
        .map(|v| (v["op"].as_str().unwrap().to_owned(), v["after"]["name"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        seen,
        [("r".into(), "Ada".into()), ("c".into(), "Grace".into()), ("u".into(), "Ada L.".into())]
    );
}
