//! cdc-kafka: change events onto Kafka topics (any Kafka-protocol cluster: Apache Kafka, Redpanda, MSK,
//! Confluent Cloud, or tansu in tests) through librdkafka.
//!
//! ```text
//!  ChangeBatch ─▶ KafkaSink::write: topic per table, key = primary key JSON, value = Debezium envelope,
//!                 tombstone after a delete; each send returns a delivery future (bounded in-flight queue)
//!              ─▶ KafkaSink::flush: await every delivery; any failure fails the flush, so the slot is not
//!                 acknowledged past a message the broker did not take
//! ```

mod config;
mod consumer;
mod sink;

pub use config::KafkaConfig;
pub use consumer::{tail, Record, TailOptions};
pub use sink::{KafkaError, KafkaSink};
