//! The producer sink on tansu: what a plain Kafka consumer reads back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cdc_core::config::{PipelineConfig, PostgresConfig, Secret, SnapshotMode, SourceConfig};
use cdc_core::envelope::{Envelope, EnvelopeConfig};
use cdc_core::pipeline::Pipeline;
use cdc_core::postgres::PgSource;
use cdc_kafka::{KafkaConfig, KafkaSink};
use cdc_test_support::{PgCluster, Tansu};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::Message;
use serde_json::Value as Json;

/// Reads `count` messages (key, value) from `topic`, from the beginning.
fn consume(bootstrap: &str, topic: &str, count: usize) -> Vec<(Json, Option<Json>)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("test-{}", std::process::id()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = Vec::new();
    while out.len() < count {
        assert!(Instant::now() < deadline, "read {} of {count} messages from {topic}", out.len());
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            let message = message.unwrap();
            let key = serde_json::from_slice(message.key().unwrap()).unwrap();
            let value = message.payload().map(|p| serde_json::from_slice(p).unwrap());
            out.push((key, value));
        }
    }
    out
}

#[tokio::test]
async fn changes_reach_kafka_as_debezium_envelopes_keyed_by_primary_key_with_tombstones() {
    let cluster = PgCluster::start();
    let broker = Tansu::start();
    let client = cluster.connect("postgres").await;
    client
        .batch_execute(
            "CREATE TABLE customers (customer_id int PRIMARY KEY, name text, balance numeric(10,2));
             ALTER TABLE customers REPLICA IDENTITY FULL;
             INSERT INTO customers VALUES (1, 'Ada', 10.50);",
        )
        .await
        .unwrap();
    let pg = PostgresConfig {
        host: "127.0.0.1".into(),
        port: cluster.port(),
        password: Some(Secret::new(cluster.password())),
        ..PostgresConfig::default()
    };
    let source = SourceConfig {
        tables: vec!["customers".into()],
        snapshot_mode: SnapshotMode::Initial,
        ..SourceConfig::default()
    };
    let events =
        EnvelopeConfig { topic_template: Some("{prefix}.{table}".into()), ..EnvelopeConfig::default() };
    let kafka = KafkaConfig { bootstrap_servers: broker.bootstrap(), ..KafkaConfig::default() };
    let sink = KafkaSink::new(kafka, Envelope::new(events, "postgres"), None).unwrap();
    let src = PgSource::start(pg, source).await.unwrap();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let mut pipeline = Pipeline::new(src, sink, PipelineConfig { batch_size: 100, poll_timeout_ms: 100 });
    let task = tokio::spawn(async move { pipeline.run(rx).await.map(|_| ()) });

    for sql in [
        "INSERT INTO customers VALUES (2, 'Grace', 0)",
        "UPDATE customers SET balance = 11.25 WHERE customer_id = 1",
        "UPDATE customers SET name = 'Grace H.' WHERE customer_id = 2",
        "DELETE FROM customers WHERE customer_id = 1",
    ] {
        client.batch_execute(sql).await.unwrap();
    }
    let bootstrap = broker.bootstrap();
    let messages =
        tokio::task::spawn_blocking(move || consume(&bootstrap, "cdc.customers", 6)).await.unwrap();
    let _ = stop.send(true);
    task.await.unwrap().unwrap();

    let ops: Vec<(i64, Option<String>)> = messages
        .iter()
        .map(|(key, value)| {
            (
                key["customer_id"].as_i64().unwrap(),
                value.as_ref().map(|v| v["op"].as_str().unwrap().to_owned()),
            )
        })
        .collect();
    let expected: Vec<(i64, Option<String>)> = vec![
        (1, Some("r".into())),
        (2, Some("c".into())),
        (1, Some("u".into())),
        (2, Some("u".into())),
        (1, Some("d".into())),
        (1, None),
    ];
    assert_eq!(ops, expected, "per-key order, a tombstone after the delete");
    let update = messages[2].1.as_ref().unwrap();
    assert_eq!(update["before"]["balance"], "BBo=", "Decimal 10.50 in Connect's base64 encoding");
    assert_eq!(update["after"]["name"], "Ada");
    let mut last_lsn: HashMap<i64, u64> = HashMap::new();
    for (key, value) in &messages {
        let Some(value) = value else { continue };
        let lsn = value["source"]["lsn"].as_u64().unwrap();
        let id = key["customer_id"].as_i64().unwrap();
        assert!(
            last_lsn.insert(id, lsn).is_none_or(|previous| previous <= lsn),
            "source.lsn monotonic per key"
        );
    }
}
