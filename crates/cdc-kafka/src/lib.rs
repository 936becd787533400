//! cdc-kafka: change events onto Kafka topics (any Kafka-protocol cluster: Apache Kafka, Redpanda, MSK,
//! Confluent Cloud, or tansu in tests) through librdkafka.
//!
//! ```text
//!  ChangeBatch ─▶ KafkaSink::write: topic per table, key = primary key JSON, value = Debezium envelope,
//!                 tombstone after a delete; each send returns a delivery future (bounded in-flight queue)
//!              ─▶ KafkaSink::flush: await every delivery; any failure fails the flush, so the slot is not
//!                 acknowledged past a message the broker did not take
//!
//!  topics ─▶ KafkaSource (consumer group, `cdc load`): records decoded back into ChangeEvents that remember
//!            their offsets; offsets committed only when the pipeline acknowledges (after the warehouse commit)
//! ```

mod avro;
mod config;
mod consumer;
mod context;
pub mod heartbeat;
mod sink;
mod source;
mod topics;
mod transactions;
pub mod transforms;

pub use avro::{AvroDecoder, AvroEncoder, AvroError};
pub use config::{topic_pattern, KafkaConfig, LoadConfig};
pub use consumer::{tail, Record, TailOptions};
pub use sink::{KafkaError, KafkaSink};
pub use source::{group_lag, KafkaSource, LoadStats, Offsets, PartitionLag};
