//! Debezium's heartbeat messages (`heartbeat.interval.ms`): every interval, a record on
//! `__debezium-heartbeat.<topic.prefix>` keyed by the server name (`io.debezium.connector.common.ServerNameKey`)
//! carrying the time (`io.debezium.connector.common.Heartbeat`), in the connector's key and value formats.
//! Consumers and monitors use them to tell an idle source from a dead connector.

use std::time::Duration;

use cdc_core::envelope::{now_ms, EventFormat};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{json, Value as J};
use tokio::sync::watch;

use crate::avro::{AvroEncoder, Shape};
use crate::config::KafkaConfig;
use crate::topics::Topics;

/// Where and how heartbeats go.
#[derive(Debug)]
pub struct Heartbeats {
    pub topic: String,
    /// `serverName` of the key: the topic prefix.
    pub server_name: String,
    pub key_format: EventFormat,
    pub value_format: EventFormat,
    pub interval: Duration,
    /// Required when either format is Avro.
    pub avro: Option<AvroEncoder>,
}

/// Sends heartbeats every interval until `stop` turns true. Failures are logged and retried at the next beat: a
/// heartbeat is a signal, not data.
pub fn spawn(kafka: KafkaConfig, mut heartbeats: Heartbeats, mut stop: watch::Receiver<bool>) {
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
        let topic = heartbeats.topic.clone();
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(heartbeats.interval) => {}
            }
            if let Err(e) = topics.ensure(&topic).await {
                tracing::warn!(%topic, error = %e, "heartbeat topic unavailable");
                continue;
            }
            let (key, value) = match heartbeats.encode(now_ms()).await {
                Ok(encoded) => encoded,
                Err(e) => {
                    tracing::warn!(%topic, error = %e, "heartbeat not encoded");
                    continue;
                }
            };
            let record: FutureRecord<'_, [u8], [u8]> =
                FutureRecord::to(&topic).key(key.as_slice()).payload(value.as_slice());
            if let Err((e, _)) = producer.send(record, Duration::from_secs(30)).await {
                tracing::warn!(%topic, error = %e, "heartbeat not delivered");
            }
        }
    });
}

impl Heartbeats {
    /// Key and value of one heartbeat at `ts_ms`.
    async fn encode(&mut self, ts_ms: i64) -> Result<(Vec<u8>, Vec<u8>), crate::KafkaError> {
        let key = json!({ "serverName": self.server_name });
        let value = json!({ "ts_ms": ts_ms });
        Ok((self.part(true, &key_schema(), &key).await?, self.part(false, &value_schema(), &value).await?))
    }

    async fn part(&mut self, is_key: bool, schema: &J, payload: &J) -> Result<Vec<u8>, crate::KafkaError> {
        let format = if is_key { self.key_format } else { self.value_format };
        Ok(match (format, self.avro.as_mut()) {
            (EventFormat::Avro, Some(avro)) => {
                avro.encode(&self.topic, is_key, Shape::Heartbeat, schema, payload).await?
            }
            (EventFormat::Avro, None) => return Err(crate::AvroError::NoSchema.into()),
            (EventFormat::JsonSchema, _) => {
                json!({ "schema": schema, "payload": payload }).to_string().into_bytes()
            }
            (EventFormat::Json, _) => payload.to_string().into_bytes(),
        })
    }
}

/// `io.debezium.connector.common.ServerNameKey`.
fn key_schema() -> J {
    json!({
        "type": "struct",
        "fields": [{ "type": "string", "optional": false, "field": "serverName" }],
        "optional": false,
        "name": "io.debezium.connector.common.ServerNameKey",
    })
}

/// `io.debezium.connector.common.Heartbeat`.
fn value_schema() -> J {
    json!({
        "type": "struct",
        "fields": [{ "type": "int64", "optional": false, "field": "ts_ms" }],
        "optional": false,
        "name": "io.debezium.connector.common.Heartbeat",
    })
}
