//! cdc-core's integration tests, against a real PostgreSQL per test.

mod support;

mod capture;
mod snapshot;
mod tls;
mod types;
