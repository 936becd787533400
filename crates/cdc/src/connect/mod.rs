//! Kafka Connect compatibility: Debezium connector configurations run as cdc pipelines.
//!
//! [`properties`] is the entry point: `translate` and the types it returns. Its parts: [`providers`] resolves
//! `${env:…}`/`${file:…}` references, `debezium` reads the connector's own properties, `framework` Kafka
//! Connect's (converters, transforms, error handling), and `filters` compiles the filter and column lists with
//! `pattern` (Java regex semantics over the `regex` crate); `columns` applies the column lists and rules to the
//! records.
//! [`worker`] runs translated connectors; [`rest`] is the create/update side of Connect's REST API.

// Wired by the Connect worker.
#![allow(dead_code)]

mod columns;
mod debezium;
mod filters;
mod framework;
mod pattern;
pub mod properties;
pub mod providers;
pub mod rest;
mod signals;
pub mod worker;
