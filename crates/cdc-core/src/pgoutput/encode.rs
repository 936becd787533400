//! Test-only encoder: [`PgOutputMessage`] back to pgoutput bytes, the inverse of [`super::decode()`], so
//! property tests can check `decode(encode(m)) == m`. Xids are written when present, so a message with
//! `xid: Some(_)` must be decoded with `in_stream_block = true`.

use super::message::{OldTuple, PgOutputMessage, RelationBody, TupleCell, TupleData};
use super::replication::unix_micros_to_pg_epoch_micros;
use crate::lsn::Lsn;
use crate::schema::ReplicaIdentity;

pub(super) fn encode(message: &PgOutputMessage, out: &mut Vec<u8>) {
    use PgOutputMessage as M;
    let mut put = |parts: &[&[u8]]| parts.iter().for_each(|part| out.extend_from_slice(part));
    match message {
        M::Begin { final_lsn, commit_time_micros, xid } => {
            put(&[b"B", &lsn(*final_lsn), &time(*commit_time_micros), &xid.to_be_bytes()])
        }
        M::Commit { flags, commit_lsn, end_lsn, commit_time_micros: t } => {
            put(&[b"C", &[*flags], &lsn(*commit_lsn), &lsn(*end_lsn), &time(*t)])
        }
        M::Origin { commit_lsn, name } => put(&[b"O", &lsn(*commit_lsn), &cstr(name)]),
        M::Relation(RelationBody { xid, oid, namespace, name, replica_identity, columns }) => {
            let identity = match replica_identity {
                ReplicaIdentity::Default => b'd',
                ReplicaIdentity::Full => b'f',
                ReplicaIdentity::Nothing => b'n',
                ReplicaIdentity::Index => b'i',
            };
            let count = i16::try_from(columns.len()).expect("column count fits Int16");
            put(&[b"R", &opt_xid(*xid), &oid.to_be_bytes(), &cstr(namespace), &cstr(name)]);
            put(&[&[identity], &count.to_be_bytes()]);
            for c in columns {
                let flags = u8::from(c.is_key);
                put(&[&[flags], &cstr(&c.name), &c.type_oid.to_be_bytes(), &c.type_modifier.to_be_bytes()]);
            }
        }
        M::Type { xid, oid, namespace, name } => {
            put(&[b"Y", &opt_xid(*xid), &oid.to_be_bytes(), &cstr(namespace), &cstr(name)])
        }
        M::Insert { xid, relation_oid, new } => {
            put(&[b"I", &opt_xid(*xid), &relation_oid.to_be_bytes(), b"N", &tuple(new)])
        }
        M::Update { xid, relation_oid, old, new } => {
            let old = old.as_ref().map(old_tuple).unwrap_or_default();
            put(&[b"U", &opt_xid(*xid), &relation_oid.to_be_bytes(), &old, b"N", &tuple(new)])
        }
        M::Delete { xid, relation_oid, old } => {
            put(&[b"D", &opt_xid(*xid), &relation_oid.to_be_bytes(), &old_tuple(old)])
        }
        M::Truncate { xid, cascade, restart_identity, relation_oids } => {
            let options = u8::from(*cascade) | (u8::from(*restart_identity) << 1);
            put(&[b"T", &opt_xid(*xid), &len_i32(relation_oids.len()), &[options]]);
            relation_oids.iter().for_each(|oid| put(&[&oid.to_be_bytes()]));
        }
        M::Message { xid, transactional, lsn: at, prefix, content } => {
            let flags = u8::from(*transactional);
            put(&[b"M", &opt_xid(*xid), &[flags], &lsn(*at), &cstr(prefix), &len_i32(content.len()), content])
        }
        M::StreamStart { xid, first_segment } => {
            put(&[b"S", &xid.to_be_bytes(), &[u8::from(*first_segment)]])
        }
        M::StreamStop => put(&[b"E"]),
        M::StreamCommit { xid, flags, commit_lsn, end_lsn, commit_time_micros: t } => {
            put(&[b"c", &xid.to_be_bytes(), &[*flags], &lsn(*commit_lsn), &lsn(*end_lsn), &time(*t)])
        }
        M::StreamAbort { xid, subxact_xid } => put(&[b"A", &xid.to_be_bytes(), &subxact_xid.to_be_bytes()]),
    }
}

fn lsn(lsn: Lsn) -> [u8; 8] {
    lsn.as_u64().to_be_bytes()
}

fn time(unix_micros: i64) -> [u8; 8] {
    unix_micros_to_pg_epoch_micros(unix_micros).to_be_bytes()
}

fn opt_xid(xid: Option<u32>) -> Vec<u8> {
    xid.map(|x| x.to_be_bytes().to_vec()).unwrap_or_default()
}

fn cstr(text: &str) -> Vec<u8> {
    assert!(!text.contains('\0'), "pgoutput strings cannot contain NUL");
    [text.as_bytes(), b"\0"].concat()
}

fn len_i32(n: usize) -> [u8; 4] {
    i32::try_from(n).expect("length fits Int32").to_be_bytes()
}

fn old_tuple(old: &OldTuple) -> Vec<u8> {
    match old {
        OldTuple::Key(t) => [b"K", tuple(t).as_slice()].concat(),
        OldTuple::Full(t) => [b"O", tuple(t).as_slice()].concat(),
    }
}

fn tuple(TupleData(cells): &TupleData) -> Vec<u8> {
    let mut out = i16::try_from(cells.len()).expect("cell count fits Int16").to_be_bytes().to_vec();
    for cell in cells {
        match cell {
            TupleCell::Null => out.push(b'n'),
            TupleCell::UnchangedToast => out.push(b'u'),
            TupleCell::Text(bytes) => out.extend(len_prefixed(b't', bytes)),
            TupleCell::Binary(bytes) => out.extend(len_prefixed(b'b', bytes)),
        }
    }
    out
}

fn len_prefixed(kind: u8, bytes: &[u8]) -> Vec<u8> {
    [&[kind], len_i32(bytes.len()).as_slice(), bytes].concat()
}
