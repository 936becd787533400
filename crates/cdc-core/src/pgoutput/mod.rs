//! pgoutput: a pure decoder for PostgreSQL's logical replication stream, from bytes to typed messages.
//!
//! This module owns the wire formats and nothing else: no I/O, no schema cache, no allocation beyond the
//! decoded values. `postgres::source` feeds it CopyData payloads and `postgres::decode` turns its messages
//! into change events. Every parser returns a [`DecodeError`] on malformed input and never panics (fuzzed in
//! `fuzz/`, property-tested here).
//!
//! Three layers of framing:
//!
//! ```text
//!  CopyData ──parse_replication_message──┬─▶ XLogData { data } ──decode(data, in_stream)──▶ PgOutputMessage
//!                                        └─▶ PrimaryKeepalive ──▶ reply: encode_standby_status_update
//! ```
//!
//! 1. The walsender streams CopyData messages once `START_REPLICATION` succeeds.
//! 2. Each payload is XLogData (`w`: WAL positions, server time, one logical message) or a keepalive (`k`);
//!    [`parse_replication_message`] parses both and [`encode_standby_status_update`] writes our answer.
//!    Times at this layer stay PostgreSQL-epoch (2000-01-01) microseconds, as on the wire.
//! 3. The XLogData body is one pgoutput message (Begin, Relation, Insert, …), decoded by [`decode()`]; its
//!    commit times are converted to Unix-epoch microseconds.
//!
//! **Protocol version 2 (streaming of in-progress transactions).** With `proto_version '2'` and
//! `streaming 'on'`, the server may send a large transaction before it commits, in blocks that open with
//! StreamStart and close with StreamStop; a StreamCommit or StreamAbort later settles it. Inside a block,
//! Relation, Type, Insert, Update, Delete, Truncate and Message carry the xid of their transaction right
//! after the tag, and nothing in the message itself says so. The caller therefore tracks the block and passes
//! `in_stream_block` to [`decode()`].
//!
//! Formats: <https://www.postgresql.org/docs/15/protocol-replication.html> and
//! <https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html>.

mod cursor;
mod decode;
#[cfg(test)]
mod encode;
mod error;
mod message;
mod replication;

pub use decode::decode;
pub use error::DecodeError;
pub use message::{OldTuple, PgOutputMessage, RelationBody, RelationColumn, TupleCell, TupleData};
pub use replication::{
    encode_standby_status_update, parse_replication_message, pg_epoch_micros_to_unix_micros,
    unix_micros_to_pg_epoch_micros, ReplicationMessage,
};
