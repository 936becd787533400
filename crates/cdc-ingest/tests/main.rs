//! cdc-ingest against a real PostgreSQL (one throwaway cluster per test) and a local JSearch stand-in serving
//! the fixture set. Each test is one sentence of issue 4's acceptance.

mod support;

mod db_init;
mod http_errors;
mod malformed;
mod operations;
mod upsert;
