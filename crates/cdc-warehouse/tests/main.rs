//! cdc-warehouse's integration tests: real PostgreSQL into real DuckDB and the fakesnow server.
#![allow(clippy::unwrap_used)] // a panic is how a test reports

mod support;

mod duckdb;
mod log_offsets;
mod snowflake;
mod types;
