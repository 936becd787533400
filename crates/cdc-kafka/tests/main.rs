//! cdc-kafka's integration tests: real PostgreSQL → KafkaSink → a real Kafka-protocol broker (tansu).
#![allow(clippy::unwrap_used)] // a panic is how a test reports

mod producer;
