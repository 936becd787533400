//! Avro binary datums ⇄ the Connect JSON payloads of the json-schema envelope.
//!
//! ```text
//!  payload (JsonConverter JSON) ──encode(AvroSchema)──▶ Avro binary, as AvroData + GenericDatumWriter write
//!  Avro binary ──Decoder (writer schema)──▶ payload, the same JSON again
//! ```
//!
//! The binary is written by hand over the compiled `Plan` (`crate::schema`) rather than through
//! `apache_avro::types::Value` and `to_avro_datum`: the payload's conventions (bytes and Decimals as base64,
//! non-finite floats as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`, non-string-keyed maps as `[[key,
//! value], …]`, Connect field names Avro had to adjust, a field's default written for a null) need a walk of
//! our own anyway, and one walk writes straight into the caller's buffer with no tree of values per record.
//! The decoder is ours for the same reasons, and so that malformed bytes give a typed error with the byte
//! offset and the field, never a panic.
//!
//! The encoding is the Avro specification's: `int`/`long` as zigzag varints; `float`/`double` as
//! little-endian IEEE 754; `bytes`/`string` as a long length then the bytes; a union as the branch index then
//! the value; a record as its fields in order; arrays and maps as blocks (a count, the items, and a final 0;
//! Java's writer puts everything in one block, and so do we, so the bytes match). The decoder also reads
//! negative block counts (followed by the block's byte size), which other writers use.
//!
//! `encode.rs` writes (the payload → Avro binary), `decode.rs` reads (Avro binary → the payload).

mod decode;
mod encode;
#[cfg(test)]
pub(crate) mod tests;

pub use decode::{decode, Decoder};
pub use encode::encode;
pub(crate) use encode::encode_avro_json;

/// The deepest nesting of records, arrays, maps and unions the codec follows: far beyond any Connect schema,
/// and a bound on the stack a recursive writer schema can make the decoder use.
const MAX_DEPTH: usize = 128;
