//! Confluent's wire format: every Kafka key or value is `0x00`, the schema's registry id as a 4-byte
//! big-endian integer, then the Avro datum (no container, no schema).
//!
//! ```text
//!  ┌──────┬───────────────────┬──────────────────────┐
//!  │ 0x00 │ schema id (u32 BE)│ Avro binary datum …  │
//!  └──────┴───────────────────┴──────────────────────┘
//! ```
//!
//! The producer writes the header into its buffer and the datum after it ([`write_header`], then
//! [`crate::datum::encode`] appending), so a message is built without copies; [`frame`] is the same for a
//! datum already encoded. [`split`] is the consumer's side and never panics on what a topic holds.

/// The first byte of every message in Confluent's format.
pub const MAGIC_BYTE: u8 = 0;
/// Magic byte and schema id.
pub const HEADER_LEN: usize = 5;

/// Appends the header for `schema_id` to `out`; the datum goes after it.
pub fn write_header(schema_id: u32, out: &mut Vec<u8>) {
    out.push(MAGIC_BYTE);
    out.extend_from_slice(&schema_id.to_be_bytes());
}

/// A whole message: header and `datum`.
pub fn frame(schema_id: u32, datum: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + datum.len());
    write_header(schema_id, &mut out);
    out.extend_from_slice(datum);
    out
}

/// A message's schema id and datum.
pub fn split(message: &[u8]) -> Result<(u32, &[u8]), WireError> {
    let (&magic, rest) = message.split_first().ok_or(WireError::Empty)?;
    if magic != MAGIC_BYTE {
        return Err(WireError::MagicByte { found: magic });
    }
    match rest.split_first_chunk::<4>() {
        Some((id, datum)) => Ok((u32::from_be_bytes(*id), datum)),
        None => Err(WireError::TooShort { len: message.len() }),
    }
}

/// A message that is not in Confluent's wire format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("not Confluent Avro: the message is empty")]
    Empty,
    #[error("not Confluent Avro: magic byte {found:#04x}, expected 0x00{}", hint(*found))]
    MagicByte { found: u8 },
    #[error("not Confluent Avro: {len} bytes, shorter than the 5-byte header (magic byte and schema id)")]
    TooShort { len: usize },
}

/// What a wrong first byte suggests the topic holds instead.
fn hint(found: u8) -> &'static str {
    match found {
        b'{' | b'[' | b'"' => " (the message looks like JSON: is the topic written with format = \"json\"?)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_framed_datum_splits_back_into_its_id_and_datum() {
        let message = frame(0x0102_0304, b"datum");
        assert_eq!(message, b"\x00\x01\x02\x03\x04datum");
        assert_eq!(split(&message), Ok((0x0102_0304, &b"datum"[..])));
        let mut appended = b"prefix".to_vec();
        write_header(7, &mut appended);
        assert_eq!(appended, b"prefix\x00\x00\x00\x00\x07");
        // An empty datum is a valid message (a schema whose datums take no bytes).
        assert_eq!(split(&frame(u32::MAX, b"")), Ok((u32::MAX, &b""[..])));
    }

    #[test]
    fn messages_not_in_the_wire_format_are_refused_with_what_is_wrong() {
        assert_eq!(split(b""), Err(WireError::Empty));
        assert_eq!(split(b"\x00\x00\x01"), Err(WireError::TooShort { len: 3 }));
        let json = split(br#"{"id":1}"#).expect_err("JSON");
        assert_eq!(json, WireError::MagicByte { found: b'{' });
        assert_eq!(
            json.to_string(),
            "not Confluent Avro: magic byte 0x7b, expected 0x00 (the message looks like JSON: is the topic \
             written with format = \"json\"?)"
        );
        assert_eq!(
            split(b"\x01abcd").expect_err("magic").to_string(),
            "not Confluent Avro: magic byte 0x01, expected 0x00"
        );
    }
}
