//! The PostgreSQL side of capture: connections, prerequisites, slot and publication, snapshot, stream.
//!
//! - `connect`/`tls`: query connections (tokio-postgres) with fixed session settings, TLS per `sslmode`.
//! - `walsender`: the replication-protocol connection (hand-written; its module doc says why).
//! - `setup`: prerequisite checks, publication, slot lookup, snapshot-progress table.
//! - `catalog`: table shapes, keys and non-built-in types.
//! - `snapshot`: the consistent initial snapshot.
//! - `incremental`: chunked snapshots of tables that join while streaming (DBLog watermarks).
//! - `streamed`: large transactions streamed before commit (protocol v2), buffered and spilled until they commit.
//! - `decode`: pgoutput messages → change events.
//! - `source`: [`PgSource`], which ties them together behind the `Source` trait.

pub mod catalog;
pub mod connect;
pub mod decode;
pub mod error;
pub mod incremental;
pub mod setup;
pub mod snapshot;
pub mod source;
mod spare_rows;
pub mod streamed;
pub mod tls;
pub mod walsender;

pub use connect::connect;
pub use error::{PgError, Retry};
pub use source::{PgCheckpoint, PgSource, StreamedStats};
