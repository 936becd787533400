//! [`PgOutputMessage`] and its parts: one logical replication message as the pgoutput plugin sends it, owned
//! and typed, with no interpretation against a schema (that is `postgres::decode`'s job).
//!
//! `xid: Option<u32>` fields are `Some` exactly when the message was decoded inside a protocol v2 stream
//! block. Times are Unix-epoch microseconds. Formats:
//! <https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html>.

use bytes::Bytes;

use crate::lsn::Lsn;
use crate::schema::ReplicaIdentity;

/// One logical replication message (protocol versions 1 and 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgOutputMessage {
    /// `B`: a transaction starts; `final_lsn` is the LSN of its commit record.
    Begin { final_lsn: Lsn, commit_time_micros: i64, xid: u32 },
    /// `C`: the transaction ends; `end_lsn` is where the next one starts, the position to acknowledge.
    Commit { flags: u8, commit_lsn: Lsn, end_lsn: Lsn, commit_time_micros: i64 },
    /// `O`: the transaction was replicated here from `name` (only with `origin` filtering set up upstream).
    Origin { commit_lsn: Lsn, name: String },
    /// `R`: the shape of a table, sent before its first change in a session and after DDL.
    Relation(RelationBody),
    /// `Y`: a non-builtin type used by a following Relation.
    Type { xid: Option<u32>, oid: u32, namespace: String, name: String },
    /// `I`
    Insert { xid: Option<u32>, relation_oid: u32, new: TupleData },
    /// `U`: `old` is present only when the key changed (`K`) or the replica identity is FULL (`O`).
    Update { xid: Option<u32>, relation_oid: u32, old: Option<OldTuple>, new: TupleData },
    /// `D`
    Delete { xid: Option<u32>, relation_oid: u32, old: OldTuple },
    /// `T`: one message for all tables of one `TRUNCATE` statement.
    Truncate { xid: Option<u32>, cascade: bool, restart_identity: bool, relation_oids: Vec<u32> },
    /// `M`: `pg_logical_emit_message`; non-transactional messages arrive outside Begin/Commit.
    Message { xid: Option<u32>, transactional: bool, lsn: Lsn, prefix: String, content: Vec<u8> },
    /// `S` (v2): the following messages, up to StreamStop, belong to in-progress transaction `xid`.
    StreamStart { xid: u32, first_segment: bool },
    /// `E` (v2): the end of a stream block.
    StreamStop,
    /// `c` (v2): streamed transaction `xid` committed; apply what was streamed for it.
    StreamCommit { xid: u32, flags: u8, commit_lsn: Lsn, end_lsn: Lsn, commit_time_micros: i64 },
    /// `A` (v2): discard what was streamed for `subxact_xid` (`== xid` when the whole transaction aborted).
    StreamAbort { xid: u32, subxact_xid: u32 },
}

/// The body of a Relation message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationBody {
    pub xid: Option<u32>,
    pub oid: u32,
    /// Empty for `pg_catalog`.
    pub namespace: String,
    pub name: String,
    pub replica_identity: ReplicaIdentity,
    pub columns: Vec<RelationColumn>,
}

/// One column of a Relation message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    /// Part of the replica identity (flag bit 1).
    pub is_key: bool,
    pub name: String,
    pub type_oid: u32,
    /// `atttypmod`; -1 when the type has none.
    pub type_modifier: i32,
}

/// The before image of an Update or Delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OldTuple {
    /// `K`: only the replica-identity columns are set; the others are [`TupleCell::Null`].
    Key(TupleData),
    /// `O`: every column (replica identity FULL).
    Full(TupleData),
}

/// The cells of one row, in the column order of the latest Relation message for the table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TupleData(pub Vec<TupleCell>);

/// One column value of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TupleCell {
    /// `n`
    Null,
    /// `u`: a TOASTed value that the update did not change; the server does not send it again.
    UnchangedToast,
    /// `t`: the type's text output, a slice of the message it came in (no copy per cell).
    Text(Bytes),
    /// `b`: the type's binary send format (only with the `binary` option).
    Binary(Bytes),
}
