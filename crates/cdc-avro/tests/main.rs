//! Tests of cdc-avro against real PostgreSQL and Confluent's Python client.
#![allow(clippy::unwrap_used)]

mod registry;
