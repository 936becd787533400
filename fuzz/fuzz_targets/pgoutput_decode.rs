//! Fuzzes the pgoutput decoder: any bytes must give `Ok` or `Err`, never a panic, an overflow or a huge
//! allocation.
//!
//! The first byte chooses the entry point, so one corpus covers both framing layers:
//! - even: `decode(rest, in_stream_block)` with `in_stream_block` from bit 1;
//! - odd: `parse_replication_message(rest)`, then `decode` of an XLogData body in both stream modes.
//!
//! A decoded message is also checked to be deterministic: decoding the same bytes twice gives the same value.

#![no_main]

use cdc_core::pgoutput::{decode, parse_replication_message, ReplicationMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 0 {
        let in_stream_block = mode & 2 != 0;
        if let Ok(message) = decode(rest, in_stream_block) {
            assert_eq!(decode(rest, in_stream_block), Ok(message));
        }
    } else if let Ok(ReplicationMessage::XLogData { data, .. }) = parse_replication_message(rest) {
        let _ = decode(data, false);
        let _ = decode(data, true);
    }
});
