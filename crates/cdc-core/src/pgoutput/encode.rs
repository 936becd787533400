//! Test-only encoder: [`PgOutputMessage`] back to pgoutput bytes, the inverse of [`super::decode`], so property
//! tests can check `decode(encode(m)) == m`. Xids are written when present, so a message with `xid: Some(_)`
//! must be decoded with `in_stream_block = true`.

use super::message::{OldTuple, PgOutputMessage, RelationBody, TupleCell, TupleData};
use super::replication::unix_micros_to_pg_epoch_micros;
use crate::lsn::Lsn;
use crate::schema::ReplicaIdentity;

pub(super) fn encode(message: &PgOutputMessage, out: &mut Vec<u8>) {
    use PgOutputMessage as M;
    match message {
        M::Begin {
            final_lsn,
            commit_time_micros,
            xid,
        } => {
            out.push(b'B');
            lsn(out, *final_lsn);
            time(out, *commit_time_micros);
            out.extend_from_slice(&xid.to_be_bytes());
        }
        M::Commit {
            flags,
            commit_lsn,
            end_lsn,
            commit_time_micros,
        } => {
            out.push(b'C');
            out.push(*flags);
            lsn(out, *commit_lsn);
            lsn(out, *end_lsn);
            time(out, *commit_time_micros);
        }
        M::Origin { commit_lsn, name } => {
            out.push(b'O');
            lsn(out, *commit_lsn);
            cstr(out, name);
        }
        M::Relation(RelationBody {
            xid,
            oid,
            namespace,
            name,
            replica_identity,
            columns,
        }) => {
            out.push(b'R');
            opt_xid(out, *xid);
            out.extend_from_slice(&oid.to_be_bytes());
            cstr(out, namespace);
            cstr(out, name);
            out.push(match replica_identity {
                ReplicaIdentity::Default => b'd',
                ReplicaIdentity::Full => b'f',
                ReplicaIdentity::Nothing => b'n',
                ReplicaIdentity::Index => b'i',
            });
            count_i16(out, columns.len());
            for column in columns {
                out.push(u8::from(column.is_key));
                cstr(out, &column.name);
                out.extend_from_slice(&column.type_oid.to_be_bytes());
                out.extend_from_slice(&column.type_modifier.to_be_bytes());
            }
        }
        M::Type {
            xid,
            oid,
            namespace,
            name,
        } => {
            out.push(b'Y');
            opt_xid(out, *xid);
            out.extend_from_slice(&oid.to_be_bytes());
            cstr(out, namespace);
            cstr(out, name);
        }
        M::Insert {
            xid,
            relation_oid,
            new,
        } => {
            out.push(b'I');
            opt_xid(out, *xid);
            out.extend_from_slice(&relation_oid.to_be_bytes());
            out.push(b'N');
            tuple(out, new);
        }
        M::Update {
            xid,
            relation_oid,
            old,
            new,
        } => {
            out.push(b'U');
            opt_xid(out, *xid);
            out.extend_from_slice(&relation_oid.to_be_bytes());
            if let Some(old) = old {
                old_tuple(out, old);
            }
            out.push(b'N');
            tuple(out, new);
        }
        M::Delete {
            xid,
            relation_oid,
            old,
        } => {
            out.push(b'D');
            opt_xid(out, *xid);
            out.extend_from_slice(&relation_oid.to_be_bytes());
            old_tuple(out, old);
        }
        M::Truncate {
            xid,
            cascade,
            restart_identity,
            relation_oids,
        } => {
            out.push(b'T');
            opt_xid(out, *xid);
            count_i32(out, relation_oids.len());
            out.push(u8::from(*cascade) | (u8::from(*restart_identity) << 1));
            for oid in relation_oids {
                out.extend_from_slice(&oid.to_be_bytes());
            }
        }
        M::Message {
            xid,
            transactional,
            lsn: at,
            prefix,
            content,
        } => {
            out.push(b'M');
            opt_xid(out, *xid);
            out.push(u8::from(*transactional));
            lsn(out, *at);
            cstr(out, prefix);
            count_i32(out, content.len());
            out.extend_from_slice(content);
        }
        M::StreamStart { xid, first_segment } => {
            out.push(b'S');
            out.extend_from_slice(&xid.to_be_bytes());
            out.push(u8::from(*first_segment));
        }
        M::StreamStop => out.push(b'E'),
        M::StreamCommit {
            xid,
            flags,
            commit_lsn,
            end_lsn,
            commit_time_micros,
        } => {
            out.push(b'c');
            out.extend_from_slice(&xid.to_be_bytes());
            out.push(*flags);
            lsn(out, *commit_lsn);
            lsn(out, *end_lsn);
            time(out, *commit_time_micros);
        }
        M::StreamAbort { xid, subxact_xid } => {
            out.push(b'A');
            out.extend_from_slice(&xid.to_be_bytes());
            out.extend_from_slice(&subxact_xid.to_be_bytes());
        }
    }
}

fn lsn(out: &mut Vec<u8>, lsn: Lsn) {
    out.extend_from_slice(&lsn.as_u64().to_be_bytes());
}

fn time(out: &mut Vec<u8>, unix_micros: i64) {
    out.extend_from_slice(&unix_micros_to_pg_epoch_micros(unix_micros).to_be_bytes());
}

fn opt_xid(out: &mut Vec<u8>, xid: Option<u32>) {
    if let Some(xid) = xid {
        out.extend_from_slice(&xid.to_be_bytes());
    }
}

fn cstr(out: &mut Vec<u8>, text: &str) {
    assert!(!text.contains('\0'), "pgoutput strings cannot contain NUL");
    out.extend_from_slice(text.as_bytes());
    out.push(0);
}

fn count_i16(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&i16::try_from(n).expect("count fits Int16").to_be_bytes());
}

fn count_i32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&i32::try_from(n).expect("length fits Int32").to_be_bytes());
}

fn old_tuple(out: &mut Vec<u8>, old: &OldTuple) {
    match old {
        OldTuple::Key(t) => {
            out.push(b'K');
            tuple(out, t);
        }
        OldTuple::Full(t) => {
            out.push(b'O');
            tuple(out, t);
        }
    }
}

fn tuple(out: &mut Vec<u8>, TupleData(cells): &TupleData) {
    count_i16(out, cells.len());
    for cell in cells {
        match cell {
            TupleCell::Null => out.push(b'n'),
            TupleCell::UnchangedToast => out.push(b'u'),
            TupleCell::Text(bytes) => {
                out.push(b't');
                count_i32(out, bytes.len());
                out.extend_from_slice(bytes);
            }
            TupleCell::Binary(bytes) => {
                out.push(b'b');
                count_i32(out, bytes.len());
                out.extend_from_slice(bytes);
            }
        }
    }
}
