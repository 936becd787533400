//! Reading our topics back: `cdc tail --from-kafka` (the seed's local test consumer).

use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::Message;

use crate::avro::AvroDecoder;
use crate::config::KafkaConfig;
use crate::sink::KafkaError;
use crate::source::consumer_config;

/// One record as read: JSON key and value (`None` for a tombstone); Avro ones decoded through the registry to
/// their payload, as `kafka-avro-console-consumer` prints them.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub topic: String,
    pub key: Option<serde_json::Value>,
    pub value: Option<serde_json::Value>,
}

/// What to read.
#[derive(Debug, Clone)]
pub struct TailOptions {
    /// Topic names, or one `^regex`.
    pub topics: Vec<String>,
    pub group: String,
    pub from_beginning: bool,
}

/// Consumes until `on_record` returns false; undecodable records are reported with their position and skipped.
pub async fn tail(
    config: &KafkaConfig,
    options: &TailOptions,
    mut avro: Option<AvroDecoder>,
    mut on_record: impl FnMut(Record) -> bool,
) -> Result<(), KafkaError> {
    let mut client = consumer_config(config, &options.group, options.from_beginning);
    client.set("enable.auto.commit", "true");
    let consumer: StreamConsumer = client.create().map_err(KafkaError::Config)?;
    let topics: Vec<&str> = options.topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics).map_err(KafkaError::Config)?;
    loop {
        let message = match tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await {
            Err(_) => continue,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "kafka consumer error");
                continue;
            }
            Ok(Ok(message)) => message,
        };
        let key = decode(avro.as_mut(), "key", message.key()).await?;
        let value = decode(avro.as_mut(), "value", message.payload()).await?;
        match (key, value) {
            (Ok(key), Ok(value)) => {
                let record = Record { topic: message.topic().to_owned(), key, value };
                if !on_record(record) {
                    return Ok(());
                }
            }
            (Err(e), _) | (_, Err(e)) => tracing::warn!(
                topic = message.topic(),
                partition = message.partition(),
                offset = message.offset(),
                error = %e,
                "record is neither JSON nor Avro; skipped"
            ),
        }
    }
}

/// A key or value as JSON; the inner error is the record's fault, the outer one a registry outage.
async fn decode(
    avro: Option<&mut AvroDecoder>,
    part: &'static str,
    bytes: Option<&[u8]>,
) -> Result<Result<Option<serde_json::Value>, String>, KafkaError> {
    let Some(bytes) = bytes else { return Ok(Ok(None)) };
    match avro {
        Some(avro) if AvroDecoder::is_avro(bytes) => match avro.decode(part, bytes).await {
            Ok(mut decoded) => Ok(Ok(Some(decoded["payload"].take()))),
            Err(e) if e.stops_the_load() => Err(e.into()),
            Err(e) => Ok(Err(e.to_string())),
        },
        _ => Ok(serde_json::from_slice(bytes).map(Some).map_err(|e| e.to_string())),
    }
}
