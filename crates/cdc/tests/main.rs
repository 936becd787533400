//! Tests of the `cdc` binary: crash safety, idle safety and operator-facing errors, against real PostgreSQL.

mod support;

mod bad_input;
mod crash;
mod events;
