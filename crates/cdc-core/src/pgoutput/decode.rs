//! [`decode()`]: the bytes of one pgoutput message (the `data` of an XLogData) to a [`PgOutputMessage`].
//!
//! One function per shared structure (relation, tuple), every read through [`Cursor`], and a final check that
//! the message used every byte. Counts from the server size allocations only up to what the remaining bytes
//! could hold, so a forged count cannot make us allocate gigabytes.

use bytes::Bytes;

use super::cursor::Cursor;
use super::error::DecodeError;
use super::message::{OldTuple, PgOutputMessage, RelationBody, RelationColumn, TupleCell, TupleData};
use super::replication::pg_epoch_micros_to_unix_micros;
use crate::schema::ReplicaIdentity;

/// Decodes one pgoutput message (protocol version 1 or 2).
///
/// `in_stream_block` must be true between a StreamStart and the next StreamStop: only there do Relation,
/// Type, Insert, Update, Delete, Truncate and Message carry the xid of the streamed transaction.
pub fn decode(message: &Bytes, in_stream_block: bool) -> Result<PgOutputMessage, DecodeError> {
    use PgOutputMessage as M;
    let mut cur = Cursor::new(message);
    let stream_xid = |cur: &mut Cursor<'_>| {
        if in_stream_block {
            cur.read_u32("stream xid").map(Some)
        } else {
            Ok(None)
        }
    };
    let tag = cur.read_u8("message tag")?;
    let message = match tag {
        b'B' => M::Begin {
            final_lsn: cur.read_lsn("Begin final LSN")?,
            commit_time_micros: read_time(&mut cur, "Begin commit time")?,
            xid: cur.read_u32("Begin xid")?,
        },
        b'C' => M::Commit {
            flags: cur.read_u8("Commit flags")?,
            commit_lsn: cur.read_lsn("Commit LSN")?,
            end_lsn: cur.read_lsn("Commit end LSN")?,
            commit_time_micros: read_time(&mut cur, "Commit time")?,
        },
        b'O' => {
            M::Origin { commit_lsn: cur.read_lsn("Origin commit LSN")?, name: cur.read_cstr("Origin name")? }
        }
        b'R' => {
            let xid = stream_xid(&mut cur)?;
            M::Relation(read_relation(&mut cur, xid)?)
        }
        b'Y' => M::Type {
            xid: stream_xid(&mut cur)?,
            oid: cur.read_u32("Type oid")?,
            namespace: cur.read_cstr("Type namespace")?,
            name: cur.read_cstr("Type name")?,
        },
        b'I' => M::Insert {
            xid: stream_xid(&mut cur)?,
            relation_oid: cur.read_u32("Insert relation oid")?,
            new: read_new_tuple(&mut cur, message)?,
        },
        b'U' => {
            let xid = stream_xid(&mut cur)?;
            let relation_oid = cur.read_u32("Update relation oid")?;
            let offset = cur.offset();
            let (old, new) = match cur.read_u8("Update tuple marker")? {
                b'K' => {
                    (Some(OldTuple::Key(read_tuple(&mut cur, message)?)), read_new_tuple(&mut cur, message)?)
                }
                b'O' => {
                    (Some(OldTuple::Full(read_tuple(&mut cur, message)?)), read_new_tuple(&mut cur, message)?)
                }
                b'N' => (None, read_tuple(&mut cur, message)?),
                found => {
                    return Err(DecodeError::UnexpectedTupleMarker {
                        expected: "'K', 'O' or 'N'",
                        found,
                        offset,
                    })
                }
            };
            M::Update { xid, relation_oid, old, new }
        }
        b'D' => {
            let xid = stream_xid(&mut cur)?;
            let relation_oid = cur.read_u32("Delete relation oid")?;
            let offset = cur.offset();
            let old = match cur.read_u8("Delete tuple marker")? {
                b'K' => OldTuple::Key(read_tuple(&mut cur, message)?),
                b'O' => OldTuple::Full(read_tuple(&mut cur, message)?),
                found => {
                    return Err(DecodeError::UnexpectedTupleMarker { expected: "'K' or 'O'", found, offset })
                }
            };
            M::Delete { xid, relation_oid, old }
        }
        b'T' => {
            let xid = stream_xid(&mut cur)?;
            let count = cur.read_count_i32("Truncate relation count")?;
            let options = cur.read_u8("Truncate options")?;
            let mut relation_oids = Vec::with_capacity(count.min(cur.remaining() / 4));
            for _ in 0..count {
                relation_oids.push(cur.read_u32("Truncate relation oid")?);
            }
            M::Truncate { xid, cascade: options & 1 != 0, restart_identity: options & 2 != 0, relation_oids }
        }
        b'M' => M::Message {
            xid: stream_xid(&mut cur)?,
            transactional: cur.read_u8("Message flags")? & 1 != 0,
            lsn: cur.read_lsn("Message LSN")?,
            prefix: cur.read_cstr("Message prefix")?,
            content: read_len_bytes(&mut cur, "Message content")?,
        },
        b'S' => M::StreamStart {
            xid: cur.read_u32("StreamStart xid")?,
            first_segment: cur.read_u8("StreamStart first segment")? != 0,
        },
        b'E' => M::StreamStop,
        b'c' => M::StreamCommit {
            xid: cur.read_u32("StreamCommit xid")?,
            flags: cur.read_u8("StreamCommit flags")?,
            commit_lsn: cur.read_lsn("StreamCommit LSN")?,
            end_lsn: cur.read_lsn("StreamCommit end LSN")?,
            commit_time_micros: read_time(&mut cur, "StreamCommit time")?,
        },
        b'A' => M::StreamAbort {
            xid: cur.read_u32("StreamAbort xid")?,
            subxact_xid: cur.read_u32("StreamAbort subtransaction xid")?,
        },
        other => return Err(DecodeError::UnknownTag(other)),
    };
    cur.finish(tag)?;
    Ok(message)
}

/// A PostgreSQL-epoch timestamp, converted to Unix-epoch microseconds.
fn read_time(cur: &mut Cursor<'_>, what: &'static str) -> Result<i64, DecodeError> {
    cur.read_i64(what).map(pg_epoch_micros_to_unix_micros)
}

/// An Int32 length followed by that many bytes.
fn read_len_bytes(cur: &mut Cursor<'_>, what: &'static str) -> Result<Vec<u8>, DecodeError> {
    let len = cur.read_count_i32(what)?;
    cur.read_bytes(len, what).map(<[u8]>::to_vec)
}

fn read_relation(cur: &mut Cursor<'_>, xid: Option<u32>) -> Result<RelationBody, DecodeError> {
    let oid = cur.read_u32("Relation oid")?;
    let namespace = cur.read_cstr("Relation namespace")?;
    let name = cur.read_cstr("Relation name")?;
    let code = cur.read_u8("Relation replica identity")?;
    let replica_identity =
        ReplicaIdentity::from_code(code).ok_or(DecodeError::InvalidReplicaIdentity(code))?;
    let count = cur.read_count_i16("Relation column count")?;
    // A column is at least 10 bytes: flags, an empty name's NUL, type oid and modifier.
    let mut columns = Vec::with_capacity(count.min(cur.remaining() / 10));
    for _ in 0..count {
        columns.push(RelationColumn {
            is_key: cur.read_u8("column flags")? & 1 != 0,
            name: cur.read_cstr("column name")?,
            type_oid: cur.read_u32("column type oid")?,
            type_modifier: cur.read_i32("column type modifier")?,
        });
    }
    Ok(RelationBody { xid, oid, namespace, name, replica_identity, columns })
}

/// The `N` marker, then a tuple.
fn read_new_tuple(cur: &mut Cursor<'_>, message: &Bytes) -> Result<TupleData, DecodeError> {
    let offset = cur.offset();
    match cur.read_u8("new tuple marker")? {
        b'N' => read_tuple(cur, message),
        found => Err(DecodeError::UnexpectedTupleMarker { expected: "'N'", found, offset }),
    }
}

/// A tuple whose cells are slices of `message`, the bytes `cur` reads.
fn read_tuple(cur: &mut Cursor<'_>, message: &Bytes) -> Result<TupleData, DecodeError> {
    let cell = |cur: &mut Cursor<'_>, what| {
        let len = cur.read_count_i32(what)?;
        cur.read_bytes(len, what).map(|bytes| message.slice_ref(bytes))
    };
    let count = cur.read_count_i16("tuple column count")?;
    let mut cells = Vec::with_capacity(count.min(cur.remaining()));
    for _ in 0..count {
        let offset = cur.offset();
        cells.push(match cur.read_u8("tuple cell kind")? {
            b'n' => TupleCell::Null,
            b'u' => TupleCell::UnchangedToast,
            b't' => TupleCell::Text(cell(cur, "text cell")?),
            b'b' => TupleCell::Binary(cell(cur, "binary cell")?),
            tag => return Err(DecodeError::UnknownTupleCell { tag, offset }),
        });
    }
    Ok(TupleData(cells))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::lsn::Lsn;
    use crate::pgoutput::encode::encode;
    use crate::pgoutput::{parse_replication_message, ReplicationMessage};
    use PgOutputMessage as M;

    /// [`super::decode`] of a copy of `buf` (the tests build messages as byte vectors).
    fn decode(buf: &[u8], in_stream_block: bool) -> Result<PgOutputMessage, DecodeError> {
        super::decode(&Bytes::copy_from_slice(buf), in_stream_block)
    }

    /// 2000-01-01 00:00 UTC in Unix micros: what a zero PostgreSQL timestamp decodes to.
    const Y2K: i64 = 946_684_800_000_000;

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    fn text(s: &str) -> TupleCell {
        TupleCell::Text(Bytes::copy_from_slice(s.as_bytes()))
    }

    /// Hand-built messages, bytes written from the protocol docs (not by the encoder), and their values.
    fn samples() -> Vec<(Vec<u8>, bool, PgOutputMessage)> {
        let (lsn, be32) = (|n: u64| n.to_be_bytes(), |n: u32| n.to_be_bytes());
        // Two cells, text "42" and NULL, where the content does not matter.
        let tuple: &[u8] = b"\0\x02t\0\0\0\x0242n";
        let tv = TupleData(vec![text("42"), TupleCell::Null]);
        let relation = |xid, namespace: &str, replica_identity, columns| {
            let (namespace, name) = (namespace.to_owned(), "t".to_owned());
            M::Relation(RelationBody { xid, oid: 16384, namespace, name, replica_identity, columns })
        };
        let column = |is_key, name: &str, type_oid, type_modifier| RelationColumn {
            is_key,
            name: name.to_owned(),
            type_oid,
            type_modifier,
        };
        let update = |xid, old, new| M::Update { xid, relation_oid: 1, old, new };
        let message = |xid, transactional, prefix: &str, content: &[u8]| {
            let (prefix, content) = (prefix.to_owned(), content.to_vec());
            M::Message { xid, transactional, lsn: Lsn::new(8), prefix, content }
        };
        let bytes_ncell: &[u8] = b"N\0\x04nut\0\0\0\x01xb\0\0\0\x02\x00\xff";
        let ncell = TupleData(vec![
            TupleCell::Null,
            TupleCell::UnchangedToast,
            text("x"),
            TupleCell::Binary(Bytes::from_static(&[0, 255])),
        ]);
        vec![
            (
                cat(&[b"B", &lsn(0x10), &1_000_000i64.to_be_bytes(), &be32(77)]),
                false,
                M::Begin { final_lsn: Lsn::new(0x10), commit_time_micros: Y2K + 1_000_000, xid: 77 },
            ),
            (
                cat(&[b"C\0", &lsn(0x10), &lsn(0x18), &0i64.to_be_bytes()]),
                false,
                M::Commit {
                    flags: 0,
                    commit_lsn: Lsn::new(0x10),
                    end_lsn: Lsn::new(0x18),
                    commit_time_micros: Y2K,
                },
            ),
            (cat(&[b"O", &lsn(5), b"up\0"]), false, M::Origin { commit_lsn: Lsn::new(5), name: "up".into() }),
            (
                cat(&[
                    b"R",
                    &be32(16384),
                    b"public\0t\0d\0\x02\x01id\0",
                    &be32(23),
                    &(-1i32).to_be_bytes(),
                    b"\0name\0",
                    &be32(1043),
                    &68i32.to_be_bytes(),
                ]),
                false,
                relation(
                    None,
                    "public",
                    ReplicaIdentity::Default,
                    vec![column(true, "id", 23, -1), column(false, "name", 1043, 68)],
                ),
            ),
            (
                cat(&[b"R", &be32(9), &be32(16384), b"\0t\0f\0\0"]),
                true,
                relation(Some(9), "", ReplicaIdentity::Full, vec![]),
            ),
            (
                cat(&[b"Y", &be32(3), b"public\0mood\0"]),
                false,
                M::Type { xid: None, oid: 3, namespace: "public".into(), name: "mood".into() },
            ),
            (
                cat(&[b"I", &be32(1), bytes_ncell]),
                false,
                M::Insert { xid: None, relation_oid: 1, new: ncell },
            ),
            (
                cat(&[b"I", &be32(9), &be32(1), b"N", tuple]),
                true,
                M::Insert { xid: Some(9), relation_oid: 1, new: tv.clone() },
            ),
            (cat(&[b"U", &be32(1), b"N", tuple]), false, update(None, None, tv.clone())),
            (
                cat(&[b"U", &be32(1), b"K\0\x01t\0\0\0\x017N", tuple]),
                false,
                update(None, Some(OldTuple::Key(TupleData(vec![text("7")]))), tv.clone()),
            ),
            (
                cat(&[b"U", &be32(9), &be32(1), b"O", tuple, b"N", tuple]),
                true,
                update(Some(9), Some(OldTuple::Full(tv.clone())), tv.clone()),
            ),
            (
                cat(&[b"D", &be32(1), b"K", tuple]),
                false,
                M::Delete { xid: None, relation_oid: 1, old: OldTuple::Key(tv.clone()) },
            ),
            (
                cat(&[b"D", &be32(1), b"O", tuple]),
                false,
                M::Delete { xid: None, relation_oid: 1, old: OldTuple::Full(tv) },
            ),
            (
                cat(&[b"T", &2i32.to_be_bytes(), b"\x03", &be32(5), &be32(6)]),
                false,
                M::Truncate { xid: None, cascade: true, restart_identity: true, relation_oids: vec![5, 6] },
            ),
            (
                cat(&[b"M\0", &lsn(8), b"audit\0", &2i32.to_be_bytes(), b"hi"]),
                false,
                message(None, false, "audit", b"hi"),
            ),
            (
                cat(&[b"M", &be32(9), b"\x01", &lsn(8), b"p\0", &0i32.to_be_bytes()]),
                true,
                message(Some(9), true, "p", b""),
            ),
            (cat(&[b"S", &be32(9), b"\x01"]), false, M::StreamStart { xid: 9, first_segment: true }),
            (b"E".to_vec(), true, M::StreamStop),
            (
                cat(&[b"c", &be32(9), b"\0", &lsn(0x20), &lsn(0x28), &(-1i64).to_be_bytes()]),
                false,
                M::StreamCommit {
                    xid: 9,
                    flags: 0,
                    commit_lsn: Lsn::new(0x20),
                    end_lsn: Lsn::new(0x28),
                    commit_time_micros: Y2K - 1,
                },
            ),
            (cat(&[b"A", &be32(9), &be32(10)]), false, M::StreamAbort { xid: 9, subxact_xid: 10 }),
        ]
    }

    #[test]
    fn hand_built_messages_decode_to_the_expected_values() {
        for (buf, in_stream, expected) in samples() {
            assert_eq!(decode(&buf, in_stream), Ok(expected));
        }
    }

    #[test]
    fn the_test_encoder_writes_the_hand_built_bytes() {
        for (buf, _, message) in samples() {
            let mut out = Vec::new();
            encode(&message, &mut out);
            assert_eq!(out, buf, "{message:?}");
        }
    }

    #[test]
    fn every_truncation_of_every_message_is_a_truncated_error() {
        for (buf, in_stream, _) in samples() {
            for len in 0..buf.len() {
                let result = decode(&buf[..len], in_stream);
                assert!(matches!(result, Err(DecodeError::Truncated { .. })), "{buf:?}[..{len}]: {result:?}");
            }
        }
    }

    #[test]
    fn trailing_bytes_after_a_complete_message_are_an_error() {
        for (mut buf, in_stream, _) in samples() {
            buf.push(0);
            let message = char::from(buf[0]);
            assert_eq!(decode(&buf, in_stream), Err(DecodeError::TrailingBytes { message, extra: 1 }));
        }
    }

    #[test]
    fn unknown_tags_including_protocol_v3_two_phase_are_errors() {
        for tag in [b'b', b'P', b'K', b'r', b'p', b'x'] {
            assert_eq!(decode(&[tag, 0, 0, 0, 0], false), Err(DecodeError::UnknownTag(tag)));
        }
    }

    /// `(bytes, expected error)`, decoded outside a stream block.
    fn assert_errors(cases: &[(Vec<u8>, DecodeError)]) {
        for (buf, expected) in cases {
            assert_eq!(decode(buf, false).as_ref(), Err(expected), "{buf:?}");
        }
    }

    #[test]
    fn length_prefixes_larger_than_the_buffer_are_truncated_errors() {
        let truncated = |what, offset| DecodeError::Truncated { what, offset };
        assert_errors(&[
            (cat(&[b"I\0\0\0\x01N\0\x01t", &100i32.to_be_bytes(), b"abc"]), truncated("text cell", 13)),
            (cat(&[b"M\0", &[0; 8], b"p\0", &i32::MAX.to_be_bytes()]), truncated("Message content", 16)),
            // A forged count fails on the missing oids; it does not allocate room for two billion of them.
            (cat(&[b"T", &i32::MAX.to_be_bytes(), b"\0\0\0\0\x05"]), truncated("Truncate relation oid", 10)),
        ]);
    }

    #[test]
    fn negative_counts_and_lengths_are_errors() {
        let negative = |what, offset, value| DecodeError::NegativeCount { what, offset, value };
        assert_errors(&[
            (cat(&[b"I\0\0\0\x01N", &(-1i16).to_be_bytes()]), negative("tuple column count", 6, -1)),
            (
                cat(&[b"R\0\0\0\x01s\0t\0d", &(-2i16).to_be_bytes()]),
                negative("Relation column count", 10, -2),
            ),
            (cat(&[b"T", &(-1i32).to_be_bytes(), b"\0"]), negative("Truncate relation count", 1, -1)),
            (cat(&[b"I\0\0\0\x01N\0\x01b", &i32::MIN.to_be_bytes()]), negative("binary cell", 9, i32::MIN)),
        ]);
    }

    #[test]
    fn invalid_utf8_in_strings_is_an_error() {
        assert_errors(&[
            (
                b"R\0\0\0\x01public\0us\xc3(\0d\0\0".to_vec(),
                DecodeError::InvalidUtf8 { what: "Relation name", offset: 14 },
            ),
            (cat(&[b"O", &[0; 8], b"\xff\0"]), DecodeError::InvalidUtf8 { what: "Origin name", offset: 9 }),
        ]);
    }

    #[test]
    fn bad_markers_cells_and_replica_identities_are_errors() {
        let marker = |expected, found, offset| DecodeError::UnexpectedTupleMarker { expected, found, offset };
        assert_errors(&[
            (b"U\0\0\0\x01X".to_vec(), marker("'K', 'O' or 'N'", b'X', 5)),
            (b"U\0\0\0\x01K\0\0K\0\0".to_vec(), marker("'N'", b'K', 8)),
            (b"D\0\0\0\x01N\0\0".to_vec(), marker("'K' or 'O'", b'N', 5)),
            (b"I\0\0\0\x01N\0\x01z".to_vec(), DecodeError::UnknownTupleCell { tag: b'z', offset: 8 }),
            (b"R\0\0\0\x01s\0t\0x\0\0".to_vec(), DecodeError::InvalidReplicaIdentity(b'x')),
        ]);
    }

    fn arb_lsn() -> impl Strategy<Value = Lsn> {
        any::<u64>().prop_map(Lsn::new)
    }

    /// Unix micros far enough from the i64 limits that the epoch shift does not saturate.
    fn arb_time() -> impl Strategy<Value = i64> {
        -(1i64 << 60)..(1i64 << 60)
    }

    /// Any text without control characters (so without NUL, which pgoutput strings cannot hold).
    fn arb_string() -> impl Strategy<Value = String> {
        "\\PC{0,12}"
    }

    fn arb_bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..16)
    }

    fn arb_tuple() -> impl Strategy<Value = TupleData> {
        let cell = prop_oneof![
            Just(TupleCell::Null),
            Just(TupleCell::UnchangedToast),
            arb_bytes().prop_map(|b| TupleCell::Text(b.into())),
            arb_bytes().prop_map(|b| TupleCell::Binary(b.into())),
        ];
        proptest::collection::vec(cell, 0..6).prop_map(TupleData)
    }

    fn arb_old_tuple() -> impl Strategy<Value = OldTuple> {
        prop_oneof![arb_tuple().prop_map(OldTuple::Key), arb_tuple().prop_map(OldTuple::Full)]
    }

    fn arb_relation(xid: Option<u32>) -> impl Strategy<Value = PgOutputMessage> {
        use ReplicaIdentity::{Default, Full, Index, Nothing};
        let identity = prop_oneof![Just(Default), Just(Full), Just(Nothing), Just(Index)];
        let column = (any::<bool>(), arb_string(), any::<u32>(), any::<i32>()).prop_map(
            |(is_key, name, type_oid, type_modifier)| RelationColumn {
                is_key,
                name,
                type_oid,
                type_modifier,
            },
        );
        let columns = proptest::collection::vec(column, 0..5);
        (any::<u32>(), arb_string(), arb_string(), identity, columns).prop_map(
            move |(oid, namespace, name, replica_identity, columns)| {
                M::Relation(RelationBody { xid, oid, namespace, name, replica_identity, columns })
            },
        )
    }

    /// Any message; the xid-carrying kinds get an xid exactly when `in_stream_block`.
    fn arb_message(in_stream_block: bool) -> impl Strategy<Value = PgOutputMessage> {
        let xid = any::<u32>().prop_map(move |x| in_stream_block.then_some(x));
        let oids = proptest::collection::vec(any::<u32>(), 0..5);
        prop_oneof![
            (arb_lsn(), arb_time(), any::<u32>()).prop_map(|(final_lsn, commit_time_micros, xid)| M::Begin {
                final_lsn,
                commit_time_micros,
                xid
            }),
            (any::<u8>(), arb_lsn(), arb_lsn(), arb_time()).prop_map(|(flags, commit_lsn, end_lsn, t)| {
                M::Commit { flags, commit_lsn, end_lsn, commit_time_micros: t }
            }),
            (arb_lsn(), arb_string()).prop_map(|(commit_lsn, name)| M::Origin { commit_lsn, name }),
            xid.clone().prop_flat_map(arb_relation),
            (xid.clone(), any::<u32>(), arb_string(), arb_string())
                .prop_map(|(xid, oid, namespace, name)| M::Type { xid, oid, namespace, name }),
            (xid.clone(), any::<u32>(), arb_tuple()).prop_map(|(xid, relation_oid, new)| M::Insert {
                xid,
                relation_oid,
                new
            }),
            (xid.clone(), any::<u32>(), proptest::option::of(arb_old_tuple()), arb_tuple())
                .prop_map(|(xid, relation_oid, old, new)| M::Update { xid, relation_oid, old, new }),
            (xid.clone(), any::<u32>(), arb_old_tuple()).prop_map(|(xid, relation_oid, old)| M::Delete {
                xid,
                relation_oid,
                old
            }),
            (xid.clone(), any::<bool>(), any::<bool>(), oids).prop_map(
                |(xid, cascade, restart_identity, oids)| {
                    M::Truncate { xid, cascade, restart_identity, relation_oids: oids }
                }
            ),
            (xid, any::<bool>(), arb_lsn(), arb_string(), arb_bytes()).prop_map(
                |(xid, transactional, lsn, prefix, content)| M::Message {
                    xid,
                    transactional,
                    lsn,
                    prefix,
                    content
                }
            ),
            (any::<u32>(), any::<bool>())
                .prop_map(|(xid, first_segment)| M::StreamStart { xid, first_segment }),
            Just(M::StreamStop),
            (any::<u32>(), any::<u8>(), arb_lsn(), arb_lsn(), arb_time()).prop_map(
                |(xid, flags, commit_lsn, end_lsn, t)| {
                    M::StreamCommit { xid, flags, commit_lsn, end_lsn, commit_time_micros: t }
                }
            ),
            (any::<u32>(), any::<u32>()).prop_map(|(xid, subxact_xid)| M::StreamAbort { xid, subxact_xid }),
        ]
    }

    proptest! {
        #[test]
        fn decode_inverts_encode_and_rejects_every_prefix(
            (in_stream, message) in any::<bool>().prop_flat_map(|s| (Just(s), arb_message(s)))
        ) {
            let mut buf = Vec::new();
            encode(&message, &mut buf);
            prop_assert_eq!(decode(&buf, in_stream), Ok(message));
            for len in 0..buf.len() {
                prop_assert!(decode(&buf[..len], in_stream).is_err());
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            tag in proptest::sample::select(b"BCORYIUDTMSEcAwk".to_vec()),
            body in proptest::collection::vec(any::<u8>(), 0..96),
            in_stream: bool,
        ) {
            let buf = cat(&[&[tag], &body]);
            let _ = decode(&buf, in_stream);
            if let Ok(ReplicationMessage::XLogData { data, .. }) = parse_replication_message(&buf) {
                let _ = decode(data, in_stream);
            }
        }
    }
}
