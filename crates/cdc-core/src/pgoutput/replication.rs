//! The CopyData layer of streaming replication: [`ReplicationMessage`] from the server, the standby status
//! update back to it, and the PostgreSQL-epoch clock both use.
//!
//! After `START_REPLICATION` every CopyData payload from the server is either XLogData (`w`, carrying one
//! pgoutput message) or a primary keepalive (`k`); the client answers with standby status updates (`r`) that
//! report how far it has written, flushed and applied. Times at this layer stay as on the wire: microseconds
//! since 2000-01-01 00:00 UTC. See <https://www.postgresql.org/docs/15/protocol-replication.html>.

use super::cursor::Cursor;
use super::error::DecodeError;
use crate::lsn::Lsn;

/// Microseconds from the Unix epoch (1970-01-01) to the PostgreSQL epoch (2000-01-01).
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// PostgreSQL-epoch microseconds (2000-01-01) to Unix-epoch microseconds; saturates rather than overflows.
pub fn pg_epoch_micros_to_unix_micros(pg_micros: i64) -> i64 {
    pg_micros.saturating_add(PG_EPOCH_OFFSET_MICROS)
}

/// Unix-epoch microseconds to PostgreSQL-epoch microseconds (2000-01-01); saturates rather than overflows.
pub fn unix_micros_to_pg_epoch_micros(unix_micros: i64) -> i64 {
    unix_micros.saturating_sub(PG_EPOCH_OFFSET_MICROS)
}

/// One CopyData payload sent by the walsender. Times are PostgreSQL-epoch microseconds, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicationMessage<'a> {
    /// `w`: WAL data; `data` is one pgoutput message, decoded by [`super::decode()`].
    XLogData { wal_start: Lsn, wal_end: Lsn, server_time_micros: i64, data: &'a [u8] },
    /// `k`: the server is alive; with `reply_requested` it wants a status update now, or it will time us out.
    PrimaryKeepalive { wal_end: Lsn, server_time_micros: i64, reply_requested: bool },
}

/// Parses one CopyData payload of the replication stream (`w` or `k`).
pub fn parse_replication_message(buf: &[u8]) -> Result<ReplicationMessage<'_>, DecodeError> {
    let mut cur = Cursor::new(buf);
    match cur.read_u8("replication message tag")? {
        b'w' => Ok(ReplicationMessage::XLogData {
            wal_start: cur.read_lsn("XLogData WAL start")?,
            wal_end: cur.read_lsn("XLogData WAL end")?,
            server_time_micros: cur.read_i64("XLogData server time")?,
            data: cur.read_rest(),
        }),
        b'k' => {
            let message = ReplicationMessage::PrimaryKeepalive {
                wal_end: cur.read_lsn("keepalive WAL end")?,
                server_time_micros: cur.read_i64("keepalive server time")?,
                reply_requested: cur.read_u8("keepalive reply flag")? != 0,
            };
            cur.finish(b'k')?;
            Ok(message)
        }
        tag => Err(DecodeError::UnknownTag(tag)),
    }
}

/// Appends a standby status update (`r`, the whole CopyData payload) to `out`.
///
/// `write`, `flush` and `apply` are each "last byte + 1" positions; the server may recycle WAL and advance
/// the slot up to `flush`. `client_time_micros` is PostgreSQL-epoch (see [`unix_micros_to_pg_epoch_micros`]).
pub fn encode_standby_status_update(
    write: Lsn,
    flush: Lsn,
    apply: Lsn,
    client_time_micros: i64,
    reply_requested: bool,
    out: &mut Vec<u8>,
) {
    out.push(b'r');
    for lsn in [write, flush, apply] {
        out.extend_from_slice(&lsn.as_u64().to_be_bytes());
    }
    out.extend_from_slice(&client_time_micros.to_be_bytes());
    out.push(u8::from(reply_requested));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn be(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn xlogdata_carries_the_rest_of_the_payload() {
        let buf = be(&[b"w", &1u64.to_be_bytes(), &2u64.to_be_bytes(), &3i64.to_be_bytes(), b"Bpayload"]);
        let expected = ReplicationMessage::XLogData {
            wal_start: Lsn::new(1),
            wal_end: Lsn::new(2),
            server_time_micros: 3,
            data: b"Bpayload",
        };
        assert_eq!(parse_replication_message(&buf), Ok(expected));
    }

    #[test]
    fn keepalive_reads_the_reply_flag_and_rejects_trailing_bytes() {
        let mut buf = be(&[b"k", &0x16_B374_D848u64.to_be_bytes(), &(-5i64).to_be_bytes(), &[1]]);
        let expected = ReplicationMessage::PrimaryKeepalive {
            wal_end: Lsn::new(0x16_B374_D848),
            server_time_micros: -5,
            reply_requested: true,
        };
        assert_eq!(parse_replication_message(&buf), Ok(expected));
        buf.push(0);
        assert_eq!(
            parse_replication_message(&buf),
            Err(DecodeError::TrailingBytes { message: 'k', extra: 1 })
        );
    }

    #[test]
    fn every_truncation_of_a_keepalive_or_xlogdata_header_is_an_error() {
        let keepalive = be(&[b"k", &[0; 17]]);
        let xlog = be(&[b"w", &[0; 24]]);
        for buf in [keepalive, xlog] {
            for len in 0..buf.len() {
                let err = parse_replication_message(buf.get(..len).unwrap_or_default());
                assert!(matches!(err, Err(DecodeError::Truncated { .. })), "{len}: {err:?}");
            }
        }
    }

    #[test]
    fn unknown_tags_are_errors() {
        assert_eq!(parse_replication_message(b"r"), Err(DecodeError::UnknownTag(b'r')));
    }

    #[test]
    fn status_update_layout_matches_the_protocol() {
        let mut out = Vec::new();
        encode_standby_status_update(Lsn::new(3), Lsn::new(2), Lsn::new(1), 7, true, &mut out);
        let expected = be(&[
            b"r",
            &3u64.to_be_bytes(),
            &2u64.to_be_bytes(),
            &1u64.to_be_bytes(),
            &7i64.to_be_bytes(),
            &[1],
        ]);
        assert_eq!(out, expected);
        assert_eq!(out.len(), 34);
    }

    #[test]
    fn epoch_conversion_round_trips_and_saturates() {
        assert_eq!(pg_epoch_micros_to_unix_micros(0), 946_684_800_000_000);
        assert_eq!(unix_micros_to_pg_epoch_micros(pg_epoch_micros_to_unix_micros(-42)), -42);
        assert_eq!(pg_epoch_micros_to_unix_micros(i64::MAX), i64::MAX);
        assert_eq!(unix_micros_to_pg_epoch_micros(i64::MIN), i64::MIN);
    }
}
