//! Tests of the `cdc` binary: crash safety, idle safety and operator-facing errors, against real PostgreSQL.
#![allow(clippy::unwrap_used)] // a panic is how a test reports; helpers outside #[test] fns unwrap too

mod support;

mod admin;
mod avro;
mod bad_input;
mod connect;
mod crash;
mod events;
mod load;
mod progress;
mod run;
mod seed;
mod snowflake;
mod warehouse_errors;
