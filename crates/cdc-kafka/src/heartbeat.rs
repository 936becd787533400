//! Debezium's heartbeat messages (`heartbeat.interval.ms`): every interval, a record on
//! `__debezium-heartbeat.<topic.prefix>` keyed by the server name, carrying the time. Consumers and monitors
//! use them to tell an idle source from a dead connector.

use std::time::Duration;

use cdc_core::envelope::EventFormat;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{json, Value as J};
use tokio::sync::watch;

use crate::config::KafkaConfig;
use crate::topics::Topics;

/// Sends heartbeats to `topic` every `interval` until `stop` turns true. Failures are logged and retried at the
/// next beat: a heartbeat is a signal, not data.
pub fn spawn(
    kafka: KafkaConfig,
    topic: String,
    server_name: String,
    format: EventFormat,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let producer: FutureProducer = match kafka.producer_client().create() {
            Ok(producer) => producer,
            Err(e) => {
                tracing::warn!(error = %e, "no heartbeats: cannot create their producer");
                return;
            }
        };
        let mut topics = match Topics::new(&kafka, crate::context::WatchedContext::default()) {
            Ok(topics) => topics,
            Err(e) => {
                tracing::warn!(error = %e, "no heartbeats: cannot reach Kafka's admin API");
                return;
            }
        };
        let key = json!({ "serverName": server_name }).to_string();
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(interval) => {}
            }
            if let Err(e) = topics.ensure(&topic).await {
                tracing::warn!(%topic, error = %e, "heartbeat topic unavailable");
                continue;
            }
            let value = value(format, now_ms()).to_string();
            let record: FutureRecord<'_, str, str> =
                FutureRecord::to(&topic).key(key.as_str()).payload(value.as_str());
            if let Err((e, _)) = producer.send(record, Duration::from_secs(30)).await {
                tracing::warn!(%topic, error = %e, "heartbeat not delivered");
            }
        }
    });
}

/// `io.debezium.connector.common.Heartbeat`: `{"ts_ms": …}`, wrapped with its schema in json-schema format.
fn value(format: EventFormat, ts_ms: i64) -> J {
    let payload = json!({ "ts_ms": ts_ms });
    match format {
        EventFormat::JsonSchema => json!({
            "schema": {
                "type": "struct",
                "fields": [{ "type": "int64", "optional": false, "field": "ts_ms" }],
                "optional": false,
                "name": "io.debezium.connector.common.Heartbeat",
            },
            "payload": payload,
        }),
        EventFormat::Json | EventFormat::Avro => payload,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
