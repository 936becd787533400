//! cdc-core's integration tests, against a real PostgreSQL per test.
#![allow(clippy::unwrap_used)] // a panic is how a test reports; helpers outside #[test] fns unwrap too

mod support;

mod capture;
mod incremental;
mod snapshot;
mod streaming;
mod tls;
mod types;
