//! cdc-avro: change events as Avro, byte-compatible with Debezium + Confluent's `AvroConverter`.
//!
//! ```text
//!  Envelope (cdc-core) ── Connect schema + JSON payload ──▶ schema/: Connect schema → Avro schema
//!                                                          datum/:  JSON payload → Avro binary
//!                                                          wire.rs:   magic byte 0 + schema id + datum
//!  registry/: client.rs (any Confluent-compatible registry), server.rs + store.rs (the embedded one),
//!             compat.rs (BACKWARD/FORWARD/FULL, transitive or not)
//! ```
//!
//! Avro here is a second wire encoding of the json-schema envelope: the Connect schema cdc-core already builds
//! (Debezium's names, logical types and source-type parameters) is translated as Confluent's `AvroData` does,
//! so decoding can run the other way back into the same `{schema, payload}` form that `cdc load` reads.

pub mod datum;
mod error;
pub mod registry;
pub mod schema;
pub mod wire;

pub use error::{AvroError, FieldPath, Malformed};
