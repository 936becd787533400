//! Avro binary datums ⇄ the Connect JSON payloads of the json-schema envelope.
//!
//! ```text
//!  payload (JsonConverter JSON) ──encode(AvroSchema)──▶ Avro binary, as AvroData + GenericDatumWriter write
//!  Avro binary ──Decoder (writer schema)──▶ payload, the same JSON again
//! ```
//!
//! The binary is written by hand over the compiled `Plan` (`schema.rs`) rather than through
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
//! Where the bytes can differ from Java's: a map with several entries. AvroData copies a Connect map into a
//! `java.util.HashMap` before writing, so Java's entry order is hash order; we write the payload's order.
//! Both decode to the same map.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Number, Value as J};

use crate::error::{AvroError, FieldPath, Malformed};
use crate::schema::{AvroSchema, Kind, Node, Plan};

/// The deepest nesting of records, arrays, maps and unions the codec follows: far beyond any Connect schema,
/// and a bound on the stack a recursive writer schema can make the decoder use.
const MAX_DEPTH: usize = 128;
/// The most items of a zero-width type (null, an empty record) one array may have: each costs no input byte,
/// so without a bound a few bytes could ask for 2^63 of them.
const MAX_ZERO_WIDTH_ITEMS: u64 = 1 << 20;

/// Appends the Avro binary of `payload` (the envelope's JSON for a value of `connect`) to `out`.
///
/// `connect` must be the schema `avro` was translated from; a named one that is not is refused. A null (or
/// missing) field with a Connect default is written as that default, as AvroData does. On error `out` is left
/// as it was.
pub fn encode(avro: &AvroSchema, connect: &J, payload: &J, out: &mut Vec<u8>) -> Result<(), AvroError> {
    avro.check_source(connect)?;
    let start = out.len();
    let writer = Writer { plan: &avro.plan, flavor: Flavor::Connect };
    let result = writer.write(&avro.plan.root, payload, out, 0);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Decodes one datum written with the writer schema `writer` (Avro schema JSON) into the envelope's JSON.
///
/// Compiles the schema on every call; a consumer decoding many records with one schema keeps a [`Decoder`].
pub fn decode(writer: &J, datum: &[u8]) -> Result<J, AvroError> {
    Decoder::new(writer)?.decode(datum)
}

/// A writer schema compiled once for decoding many datums.
#[derive(Debug, Clone)]
pub struct Decoder {
    plan: Plan,
}

impl Decoder {
    /// Compiles a writer schema (a registry's text, parsed).
    pub fn new(writer: &J) -> Result<Self, AvroError> {
        Ok(Decoder { plan: Plan::parse(writer)? })
    }

    /// The writer schema's Connect schema ([`crate::schema::to_connect`] without compiling again).
    pub fn connect_schema(&self) -> Result<J, AvroError> {
        self.plan.to_connect()
    }

    /// One datum as the envelope's JSON. The whole input must be the datum: trailing bytes are an error.
    pub fn decode(&self, datum: &[u8]) -> Result<J, AvroError> {
        let mut reader = Reader { plan: &self.plan, bytes: datum, pos: 0 };
        let value = reader.read(&self.plan.root, 0)?;
        match datum.len() - reader.pos {
            0 => Ok(value),
            left => Err(AvroError::malformed(reader.pos, Malformed::TrailingBytes(left))),
        }
    }
}

/// A default in Avro's JSON for defaults, encoded: what a null field with a default is written as.
pub(crate) fn encode_avro_json(plan: &Plan, node: &Node, value: &J) -> Result<Vec<u8>, AvroError> {
    let mut out = Vec::new();
    Writer { plan, flavor: Flavor::AvroJson }.write(node, value, &mut out, 0)?;
    Ok(out)
}

/// Which JSON the writer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// JsonConverter's: bytes as base64, fields by their Connect names, AvroData's union structs.
    Connect,
    /// Avro's JSON for defaults: bytes as ISO-8859-1 text, fields by their Avro names, a union's value as its
    /// first non-null branch.
    AvroJson,
}

struct Writer<'a> {
    plan: &'a Plan,
    flavor: Flavor,
}

impl Writer<'_> {
    fn write(&self, node: &Node, value: &J, out: &mut Vec<u8>, depth: usize) -> Result<(), AvroError> {
        match &node.kind {
            Kind::Null if value.is_null() => {}
            Kind::Null => return Err(AvroError::encode("null", value)),
            Kind::Boolean => {
                let b = value.as_bool().ok_or_else(|| AvroError::encode("a boolean", value))?;
                out.push(u8::from(b));
            }
            Kind::Int => write_long(out, i64::from(int(node, value)?)),
            Kind::Long => {
                let n = value.as_i64().ok_or_else(|| AvroError::encode("a 64-bit integer", value))?;
                write_long(out, n);
            }
            // An f64 holding the shortest decimal of an f32 rounds back to that f32 exactly.
            Kind::Float => out.extend_from_slice(&(float(value)? as f32).to_le_bytes()),
            Kind::Double => out.extend_from_slice(&float(value)?.to_le_bytes()),
            Kind::Bytes => write_bytes(out, &self.bytes(value)?),
            Kind::Fixed { size, .. } => {
                let bytes = self.bytes(value)?;
                if bytes.len() != *size {
                    return Err(AvroError::encode(format!("{size} bytes"), value));
                }
                out.extend_from_slice(&bytes);
            }
            Kind::String => {
                let s = value.as_str().ok_or_else(|| AvroError::encode("a string", value))?;
                write_bytes(out, s.as_bytes());
            }
            Kind::Enum { symbols, .. } => {
                let index = value
                    .as_str()
                    .and_then(|s| symbols.iter().position(|symbol| symbol == s))
                    .ok_or_else(|| AvroError::encode(format!("one of the symbols {symbols:?}"), value))?;
                write_long(out, index as i64);
            }
            Kind::Array(items) => {
                let depth = deeper(depth)?;
                if let Some((keys, values)) = self.plan.map_entry(items) {
                    return self.write_entries(&keys.node, &values.node, value, out, depth);
                }
                let array = value.as_array().ok_or_else(|| AvroError::encode("an array", value))?;
                write_block_count(out, array.len());
                for (i, item) in array.iter().enumerate() {
                    self.write(items, item, out, depth).map_err(|e| e.in_index(i))?;
                }
                out.push(0);
            }
            Kind::Map(values) => {
                let depth = deeper(depth)?;
                let map = value.as_object().ok_or_else(|| AvroError::encode("an object (a map)", value))?;
                write_block_count(out, map.len());
                for (key, item) in map {
                    write_bytes(out, key.as_bytes());
                    self.write(values, item, out, depth).map_err(|e| e.in_key(key))?;
                }
                out.push(0);
            }
            Kind::Union(branches) => {
                let depth = deeper(depth)?;
                let (index, branch, inner) = self.branch(branches, value)?;
                write_long(out, index as i64);
                self.write(branch, inner, out, depth)?;
            }
            Kind::Record(index) => {
                let depth = deeper(depth)?;
                let record = self.plan.record(*index)?;
                let object =
                    value.as_object().ok_or_else(|| AvroError::encode("an object (a struct)", value))?;
                for field in &record.fields {
                    let key = match self.flavor {
                        Flavor::Connect => &field.connect_name,
                        Flavor::AvroJson => &field.name,
                    };
                    let member = object.get(key).unwrap_or(&J::Null);
                    if member.is_null() && self.flavor == Flavor::Connect {
                        if let Some(fallback) = &field.fallback {
                            out.extend_from_slice(fallback);
                            continue;
                        }
                    }
                    self.write(&field.node, member, out, depth)
                        .map_err(|e| e.in_field(&field.connect_name))?;
                }
            }
        }
        Ok(())
    }

    /// The bytes of a `bytes` or `fixed` value.
    fn bytes(&self, value: &J) -> Result<Vec<u8>, AvroError> {
        let text = value.as_str();
        match self.flavor {
            Flavor::Connect => text
                .and_then(|text| STANDARD.decode(text).ok())
                .ok_or_else(|| AvroError::encode("base64 bytes", value)),
            Flavor::AvroJson => text
                .and_then(|text| text.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect())
                .ok_or_else(|| AvroError::encode("ISO-8859-1 bytes", value)),
        }
    }

    /// A map with non-string keys: AvroData's array of `{key, value}` records, from JsonConverter's
    /// `[[key, value], …]` (or Avro's `[{"key": …, "value": …}, …]` in a default).
    fn write_entries(
        &self,
        keys: &Node,
        values: &Node,
        value: &J,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), AvroError> {
        let entries =
            value.as_array().ok_or_else(|| AvroError::encode("an array of [key, value] pairs", value))?;
        write_block_count(out, entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let (k, v) = match entry {
                J::Array(pair) => match pair.as_slice() {
                    [k, v] => (k, v),
                    _ => return Err(AvroError::encode("a [key, value] pair", entry).in_index(i)),
                },
                J::Object(record) => {
                    (record.get("key").unwrap_or(&J::Null), record.get("value").unwrap_or(&J::Null))
                }
                _ => return Err(AvroError::encode("a [key, value] pair", entry).in_index(i)),
            };
            self.write(keys, k, out, depth).map_err(|e| e.in_index(0).in_index(i))?;
            self.write(values, v, out, depth).map_err(|e| e.in_index(1).in_index(i))?;
        }
        out.push(0);
        Ok(())
    }

    /// The union branch for `value`, and the value to write with it: the value itself, or for one of
    /// AvroData's union structs (several non-null branches) its one non-null member.
    fn branch<'n, 'v>(
        &self,
        branches: &'n [Node],
        value: &'v J,
    ) -> Result<(usize, &'n Node, &'v J), AvroError> {
        let mut non_null = branches.iter().enumerate().filter(|(_, b)| !matches!(b.kind, Kind::Null));
        if value.is_null() {
            return branches
                .iter()
                .enumerate()
                .find(|(_, b)| matches!(b.kind, Kind::Null))
                .map(|(i, b)| (i, b, value))
                .ok_or_else(|| AvroError::encode("a value (the schema does not allow null here)", value));
        }
        let first = non_null.next();
        let single = non_null.next().is_none();
        match (first, single, self.flavor) {
            (Some((i, branch)), true, _) | (Some((i, branch)), false, Flavor::AvroJson) => {
                Ok((i, branch, value))
            }
            (Some(_), false, Flavor::Connect) => {
                let object = value.as_object();
                branches
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| !matches!(b.kind, Kind::Null))
                    .find_map(|(i, b)| {
                        let member = object?.get(self.plan.member_name(b)).filter(|m| !m.is_null())?;
                        Some((i, b, member))
                    })
                    .ok_or_else(|| AvroError::encode("a union struct with one non-null member", value))
            }
            (None, _, _) => Err(AvroError::encode("null (the only branch)", value)),
        }
    }
}

/// An `int` value, within the range of its Connect type (`connect.type` `int8`/`int16`, else int32).
fn int(node: &Node, value: &J) -> Result<i32, AvroError> {
    let (expected, min, max) = match node.meta.connect_type.as_deref() {
        Some("int8") => ("an int8 integer", i64::from(i8::MIN), i64::from(i8::MAX)),
        Some("int16") => ("an int16 integer", i64::from(i16::MIN), i64::from(i16::MAX)),
        _ => ("an int32 integer", i64::from(i32::MIN), i64::from(i32::MAX)),
    };
    value
        .as_i64()
        .filter(|n| (min..=max).contains(n))
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| AvroError::encode(expected, value))
}

/// A float or double: a JSON number, or Jackson's strings for the non-finite ones.
fn float(value: &J) -> Result<f64, AvroError> {
    match value {
        J::Number(n) => n.as_f64(),
        J::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
    .ok_or_else(|| AvroError::encode("a number (or \"NaN\", \"Infinity\", \"-Infinity\")", value))
}

fn deeper(depth: usize) -> Result<usize, AvroError> {
    if depth >= MAX_DEPTH {
        return Err(AvroError::Encode {
            path: FieldPath::default(),
            expected: format!("at most {MAX_DEPTH} levels of nesting").into(),
            found: "deeper nesting".into(),
        });
    }
    Ok(depth + 1)
}

/// A zigzag varint.
fn write_long(out: &mut Vec<u8>, n: i64) {
    let mut zigzag = ((n << 1) ^ (n >> 63)) as u64;
    while zigzag >= 0x80 {
        out.push((zigzag as u8) | 0x80);
        zigzag >>= 7;
    }
    out.push(zigzag as u8);
}

fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_long(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

/// The count of the one block Java writes (none for an empty array or map, whose only byte is the final 0).
fn write_block_count(out: &mut Vec<u8>, count: usize) {
    if count > 0 {
        write_long(out, count as i64);
    }
}

/// Reads one datum; every access is checked, every failure a [`Malformed`] at a byte offset.
struct Reader<'a> {
    plan: &'a Plan,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn read(&mut self, node: &Node, depth: usize) -> Result<J, AvroError> {
        Ok(match &node.kind {
            Kind::Null => J::Null,
            Kind::Boolean => {
                let at = self.pos;
                match self.byte()? {
                    0 => J::Bool(false),
                    1 => J::Bool(true),
                    b => return Err(AvroError::malformed(at, Malformed::Boolean(b))),
                }
            }
            Kind::Int => J::from(self.int()?),
            Kind::Long => J::from(self.long()?),
            Kind::Float => float_json(f32::from_le_bytes(self.array()?)),
            Kind::Double => double_json(f64::from_le_bytes(self.array()?)),
            Kind::Bytes => J::String(STANDARD.encode(self.length_prefixed()?)),
            Kind::Fixed { size, .. } => J::String(STANDARD.encode(self.take(*size)?)),
            Kind::String => {
                let at = self.pos;
                let bytes = self.length_prefixed()?;
                let text =
                    std::str::from_utf8(bytes).map_err(|_| AvroError::malformed(at, Malformed::Utf8))?;
                J::String(text.to_owned())
            }
            Kind::Enum { symbols, .. } => {
                let at = self.pos;
                let index = self.long()?;
                let symbol = usize::try_from(index).ok().and_then(|i| symbols.get(i)).ok_or_else(|| {
                    AvroError::malformed(at, Malformed::EnumSymbol { index, symbols: symbols.len() })
                })?;
                J::String(symbol.clone())
            }
            Kind::Array(items) => {
                let depth = self.deeper(depth)?;
                if let Some((keys, values)) = self.plan.map_entry(items) {
                    let mut entries = Vec::new();
                    let min_item = self.plan.min_len(items);
                    self.blocks(min_item, |reader, i| {
                        let key = reader.read(&keys.node, depth).map_err(|e| e.in_index(0).in_index(i))?;
                        let value =
                            reader.read(&values.node, depth).map_err(|e| e.in_index(1).in_index(i))?;
                        entries.push(J::Array(vec![key, value]));
                        Ok(())
                    })?;
                    J::Array(entries)
                } else {
                    let mut array = Vec::new();
                    self.blocks(self.plan.min_len(items), |reader, i| {
                        array.push(reader.read(items, depth).map_err(|e| e.in_index(i))?);
                        Ok(())
                    })?;
                    J::Array(array)
                }
            }
            Kind::Map(values) => {
                let depth = self.deeper(depth)?;
                let mut map = Map::new();
                self.blocks(1, |reader, _| {
                    let at = reader.pos;
                    let key = reader.length_prefixed()?;
                    let key =
                        std::str::from_utf8(key).map_err(|_| AvroError::malformed(at, Malformed::Utf8))?;
                    let value = reader.read(values, depth).map_err(|e| e.in_key(key))?;
                    map.insert(key.to_owned(), value);
                    Ok(())
                })?;
                J::Object(map)
            }
            Kind::Union(branches) => {
                let depth = self.deeper(depth)?;
                let at = self.pos;
                let index = self.long()?;
                let branch = usize::try_from(index).ok().and_then(|i| branches.get(i)).ok_or_else(|| {
                    AvroError::malformed(at, Malformed::UnionBranch { index, branches: branches.len() })
                })?;
                let value = self.read(branch, depth)?;
                if branches.iter().filter(|b| !matches!(b.kind, Kind::Null)).count() <= 1 || value.is_null() {
                    value
                } else {
                    // AvroData's union struct: every non-null branch a member, all null but the one written.
                    let mut members = Map::new();
                    for candidate in branches.iter().filter(|b| !matches!(b.kind, Kind::Null)) {
                        let name = self.plan.member_name(candidate);
                        let member = if std::ptr::eq(candidate, branch) { value.clone() } else { J::Null };
                        members.insert(name.to_owned(), member);
                    }
                    J::Object(members)
                }
            }
            Kind::Record(index) => {
                let depth = self.deeper(depth)?;
                let record = self.plan.record(*index)?;
                let mut object = Map::with_capacity(record.fields.len());
                for field in &record.fields {
                    let value = self.read(&field.node, depth).map_err(|e| e.in_field(&field.connect_name))?;
                    object.insert(field.connect_name.clone(), value);
                }
                J::Object(object)
            }
        })
    }

    /// Reads an array's or a map's blocks, calling `item` once per item with its ordinal. `min_item` is the
    /// fewest bytes one item takes (0 for zero-width types): a block count the remaining input cannot hold is
    /// refused before any item is read.
    fn blocks(
        &mut self,
        min_item: usize,
        mut item: impl FnMut(&mut Self, usize) -> Result<(), AvroError>,
    ) -> Result<(), AvroError> {
        let mut ordinal = 0usize;
        let mut zero_width_items = 0u64;
        loop {
            let at = self.pos;
            let count = self.long()?;
            if count == 0 {
                return Ok(());
            }
            let count = if count < 0 {
                // A negative count is followed by the block's size in bytes, which we do not need.
                self.long()?;
                count
                    .checked_neg()
                    .ok_or_else(|| AvroError::malformed(at, Malformed::NegativeLength(count)))?
            } else {
                count
            };
            let left = self.bytes.len() - self.pos;
            if min_item > 0 {
                if (count as u128) * (min_item as u128) > left as u128 {
                    return Err(AvroError::malformed(at, Malformed::BlockPastEnd { count, left }));
                }
            } else {
                zero_width_items = zero_width_items.saturating_add(count as u64);
                if zero_width_items > MAX_ZERO_WIDTH_ITEMS {
                    return Err(AvroError::malformed(at, Malformed::TooManyItems(zero_width_items)));
                }
            }
            for _ in 0..count {
                item(self, ordinal)?;
                ordinal += 1;
            }
        }
    }

    fn deeper(&self, depth: usize) -> Result<usize, AvroError> {
        if depth >= MAX_DEPTH {
            return Err(AvroError::malformed(self.pos, Malformed::TooDeep(MAX_DEPTH)));
        }
        Ok(depth + 1)
    }

    fn byte(&mut self) -> Result<u8, AvroError> {
        let byte =
            *self.bytes.get(self.pos).ok_or_else(|| AvroError::malformed(self.pos, Malformed::Truncated))?;
        self.pos += 1;
        Ok(byte)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], AvroError> {
        let bytes = self.bytes;
        let slice = self
            .pos
            .checked_add(n)
            .and_then(|end| bytes.get(self.pos..end))
            .ok_or_else(|| AvroError::malformed(self.pos, Malformed::Truncated))?;
        self.pos += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], AvroError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A zigzag varint of at most 10 bytes.
    fn long(&mut self) -> Result<i64, AvroError> {
        let at = self.pos;
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            if shift == 63 && byte > 1 {
                return Err(AvroError::malformed(at, Malformed::VarintOverflow));
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
            }
        }
        Err(AvroError::malformed(at, Malformed::VarintOverflow))
    }

    fn int(&mut self) -> Result<i32, AvroError> {
        let at = self.pos;
        let n = self.long()?;
        i32::try_from(n).map_err(|_| AvroError::malformed(at, Malformed::IntOutOfRange(n)))
    }

    fn length_prefixed(&mut self) -> Result<&'a [u8], AvroError> {
        let at = self.pos;
        let length = self.long()?;
        let left = self.bytes.len() - self.pos;
        let n = usize::try_from(length)
            .map_err(|_| AvroError::malformed(at, Malformed::NegativeLength(length)))?;
        if n > left {
            return Err(AvroError::malformed(at, Malformed::LengthPastEnd { length, left }));
        }
        self.take(n)
    }
}

/// A float as cdc-core writes one: through its shortest decimal, so `1.1f32` is `1.1`.
fn float_json(f: f32) -> J {
    if f.is_finite() {
        double_json(f.to_string().parse().unwrap_or(f64::from(f)))
    } else {
        double_json(f64::from(f))
    }
}

/// A double as Jackson writes it: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
fn double_json(f: f64) -> J {
    match Number::from_f64(f) {
        Some(n) => J::Number(n),
        None if f.is_nan() => J::from("NaN"),
        None if f > 0.0 => J::from("Infinity"),
        None => J::from("-Infinity"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use cdc_core::envelope::{
        BinaryHandling, DecimalHandling, Envelope, EnvelopeConfig, EventFormat, HstoreHandling,
        IntervalHandling, TimePrecision,
    };
    use cdc_core::{
        ChangeEvent, Column, DateValue, Lsn, Numeric, Op, PgType, ReplicaIdentity, Row, SnapshotMarker,
        TableId, TableSchema, TimestampValue, TxInfo, TypeKind, Value,
    };
    use serde_json::json;

    use super::*;
    use crate::schema::{from_connect, to_connect};

    /// A small deterministic generator (xorshift64*), so failures reproduce.
    pub(crate) struct Rng(u64);

    impl Rng {
        pub(crate) fn new(seed: u64) -> Self {
            Rng(seed.max(1))
        }

        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        pub(crate) fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }

        fn signed(&mut self, bound: i64) -> i64 {
            self.below(2 * bound.unsigned_abs() + 1) as i64 - bound
        }

        fn text(&mut self) -> String {
            const PIECES: [&str; 12] =
                ["a", "Z", "0", " ", "é", "日本", "🦀", "\"", "\\", "\n", "\u{0}", "__debezium"];
            (0..self.below(12)).map(|_| PIECES[self.below(PIECES.len() as u64) as usize]).collect()
        }

        fn digits(&mut self, n: u64) -> String {
            (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
        }
    }

    fn builtin(oid: u32) -> PgType {
        PgType::builtin(oid).expect("a built-in type")
    }

    fn col(name: &str, pg_type: PgType, type_modifier: i32, nullable: bool, key: bool) -> Column {
        Column { name: name.into(), pg_type, type_modifier, nullable, key, fill_value: None }
    }

    const MOOD: [&str; 3] = ["sad", "ok", "happy"];

    /// `public.everything`: a key, one column of each kind cdc-core encodes differently, and a column whose
    /// name Avro cannot hold as it is.
    pub(crate) fn everything() -> Arc<TableSchema> {
        let numeric = |p: i32, s: i32| ((p << 16) | s) + 4;
        let hstore = PgType::new(16_500, "hstore", TypeKind::Hstore);
        let mood =
            PgType::new(16_600, "mood", TypeKind::Enum(MOOD.iter().map(|s| (*s).to_owned()).collect()));
        let columns = vec![
            col("id", builtin(23), -1, false, true),
            col("small", builtin(21), -1, true, false),
            col("big", builtin(20), -1, true, false),
            col("real", builtin(700), -1, true, false),
            col("dbl", builtin(701), -1, true, false),
            col("price", builtin(1700), numeric(10, 2), true, false),
            col("anynum", builtin(1700), -1, true, false),
            col("cash", builtin(790), -1, true, false),
            col("label", builtin(1043), 24, false, false),
            col("code", builtin(1042), 7, true, false),
            col("flag", builtin(16), -1, true, false),
            col("blob", builtin(17), -1, true, false),
            col("uid", builtin(2950), -1, true, false),
            col("doc", builtin(114), -1, true, false),
            col("docb", builtin(3802), -1, true, false),
            col("day", builtin(1082), -1, true, false),
            col("t3", builtin(1083), 3, true, false),
            col("t", builtin(1083), -1, true, false),
            col("ttz", builtin(1266), -1, true, false),
            col("ts3", builtin(1114), 3, true, false),
            col("ts", builtin(1114), -1, true, false),
            col("tstz", builtin(1184), -1, true, false),
            col("span", builtin(1186), -1, true, false),
            col("b1", builtin(1560), 1, true, false),
            col("b8", builtin(1560), 8, true, false),
            col("vb", builtin(1562), -1, true, false),
            col("ip", builtin(869), -1, true, false),
            col("mac", builtin(829), -1, true, false),
            col("ints", builtin(1007), -1, true, false),
            col("texts", builtin(1009), -1, true, false),
            col("nums", builtin(1231), -1, true, false),
            col("mood", mood, -1, true, false),
            col("attrs", hstore, -1, true, false),
            col("oid", builtin(26), -1, true, false),
            col("Order Date", builtin(1082), -1, true, false),
        ];
        Arc::new(TableSchema {
            relation_oid: 16_385,
            id: TableId::new("public", "everything"),
            columns,
            replica_identity: ReplicaIdentity::Full,
            version: 1,
        })
    }

    /// A value for a column of `table`, null a fifth of the time where allowed.
    fn random_value(rng: &mut Rng, column: &Column) -> Value {
        if column.nullable && rng.chance(20) {
            return Value::Null;
        }
        random_of(rng, &column.pg_type, column.type_modifier)
    }

    fn random_of(rng: &mut Rng, ty: &PgType, type_modifier: i32) -> Value {
        let micros_of_day = |rng: &mut Rng| rng.below(86_400_000_000) as i64;
        let timestamp = |rng: &mut Rng| match rng.below(20) {
            0 => TimestampValue::PosInfinity,
            1 => TimestampValue::NegInfinity,
            _ => TimestampValue::Micros(rng.signed(8_000_000_000_000_000)),
        };
        let numeric = |rng: &mut Rng| match rng.below(12) {
            0 => Numeric::NaN,
            _ => {
                let sign = if rng.chance(30) { "-" } else { "" };
                let (int_digits, frac_digits) = (1 + rng.below(12), rng.below(8));
                let fraction =
                    if frac_digits == 0 { String::new() } else { format!(".{}", rng.digits(frac_digits)) };
                Numeric::Finite(format!(
                    "{sign}{}{fraction}",
                    rng.digits(int_digits).trim_start_matches('0').to_owned() + "0"
                ))
            }
        };
        match &ty.kind {
            TypeKind::Bool => Value::Bool(rng.chance(50)),
            TypeKind::Int2 => Value::Int16(rng.next() as i16),
            TypeKind::Int4 => Value::Int32(rng.next() as i32),
            TypeKind::Int8 => Value::Int64(rng.next() as i64),
            TypeKind::Float4 => Value::Float32(match rng.below(10) {
                0 => [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, f32::MIN_POSITIVE]
                    [rng.below(5) as usize],
                1..=4 => f32::from_bits(rng.next() as u32),
                _ => (rng.signed(1_000_000) as f32) / 100.0,
            }),
            TypeKind::Float8 => Value::Float64(match rng.below(10) {
                0 => [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 5e-324][rng.below(5) as usize],
                1..=4 => f64::from_bits(rng.next()),
                _ => (rng.signed(1_000_000) as f64) / 1000.0,
            }),
            TypeKind::Numeric if type_modifier >= 0 => {
                let cents = rng.signed(9_999_999_999);
                Value::Numeric(Numeric::Finite(format!("{}.{:02}", cents / 100, (cents % 100).abs())))
            }
            TypeKind::Numeric => Value::Numeric(numeric(rng)),
            TypeKind::Money => {
                Value::Money(Numeric::Finite(format!("{}.{:02}", rng.signed(1_000_000), rng.below(100))))
            }
            TypeKind::Text | TypeKind::Other => Value::Text(rng.text()),
            TypeKind::Bytea => Value::Bytes((0..rng.below(20)).map(|_| rng.next() as u8).collect()),
            TypeKind::Uuid => {
                let hex = format!("{:016x}{:016x}", rng.next(), rng.next());
                Value::Uuid(format!(
                    "{}-{}-{}-{}-{}",
                    &hex[..8],
                    &hex[8..12],
                    &hex[12..16],
                    &hex[16..20],
                    &hex[20..]
                ))
            }
            TypeKind::Json | TypeKind::Jsonb => {
                Value::Json(json!({ "k": rng.text(), "n": rng.next() }).to_string())
            }
            TypeKind::Date => Value::Date(match rng.below(20) {
                0 => DateValue::PosInfinity,
                1 => DateValue::NegInfinity,
                _ => DateValue::Days(rng.signed(2_900_000) as i32),
            }),
            TypeKind::Time if type_modifier == 3 => Value::Time(micros_of_day(rng) / 1000 * 1000),
            TypeKind::Time => Value::Time(micros_of_day(rng)),
            TypeKind::TimeTz => {
                Value::TimeTz { micros: micros_of_day(rng), offset_seconds: rng.signed(50_400) as i32 }
            }
            TypeKind::Timestamp => Value::Timestamp(timestamp(rng)),
            TypeKind::TimestampTz => Value::TimestampTz(timestamp(rng)),
            TypeKind::Interval => Value::Interval {
                months: rng.signed(1200) as i32,
                days: rng.signed(400) as i32,
                micros: rng.signed(100_000_000_000),
            },
            TypeKind::Bit => {
                let length = if type_modifier > 0 { type_modifier as u64 } else { rng.below(40) };
                Value::Bits((0..length).map(|_| if rng.chance(50) { '1' } else { '0' }).collect())
            }
            TypeKind::Inet => Value::Inet(format!("10.0.{}.{}/32", rng.below(256), rng.below(256))),
            TypeKind::MacAddr => Value::MacAddr("08:00:2b:01:02:03".into()),
            TypeKind::Oid => Value::Oid(rng.next() as u32),
            TypeKind::Enum(labels) => Value::Enum(labels[rng.below(labels.len() as u64) as usize].clone()),
            TypeKind::Hstore => Value::Hstore(
                (0..rng.below(4))
                    .map(|i| (format!("k{i}{}", rng.text()), (!rng.chance(25)).then(|| rng.text())))
                    .collect(),
            ),
            TypeKind::Array(element) => Value::Array(
                (0..rng.below(5))
                    .map(
                        |_| if rng.chance(15) { Value::Null } else { random_of(rng, element, type_modifier) },
                    )
                    .collect(),
            ),
        }
    }

    fn random_row(rng: &mut Rng, table: &TableSchema) -> Row {
        Row(table.columns.iter().map(|c| random_value(rng, c)).collect())
    }

    /// Unchanged TOAST in every column PostgreSQL can TOAST, but numerics in `double` mode: cdc-core writes
    /// the placeholder text into their `double` field, which no Avro double holds (see
    /// `an_unchanged_numeric_in_double_mode_cannot_be_encoded`).
    fn toasted_row(rng: &mut Rng, table: &TableSchema, config: &EnvelopeConfig) -> Row {
        const TOASTABLE: [&str; 10] =
            ["price", "anynum", "label", "blob", "docb", "ints", "texts", "nums", "attrs", "vb"];
        let double = config.decimal_handling == DecimalHandling::Double;
        let mut row = random_row(rng, table);
        for (i, column) in table.columns.iter().enumerate() {
            let numeric = matches!(column.pg_type.kind, TypeKind::Numeric);
            if TOASTABLE.contains(&column.name.as_str()) && !(double && numeric) {
                row.0[i] = Value::Unchanged;
            }
        }
        row
    }

    fn event(
        op: Op,
        schema: Arc<TableSchema>,
        before: Option<Row>,
        after: Option<Row>,
        n: u64,
    ) -> ChangeEvent {
        ChangeEvent {
            op,
            schema,
            before,
            after,
            lsn: Lsn::new(24_023_000 + n),
            tx: TxInfo {
                xid: 555,
                commit_lsn: Lsn::new(24_023_128 + n),
                commit_time_micros: 1_559_033_904_863_123,
                total_order: n,
                table_order: n,
            },
            snapshot: if op == Op::Read { SnapshotMarker::InProgress } else { SnapshotMarker::No },
            origin: None,
        }
    }

    /// The configurations the round trip runs under: every handling mode at least once.
    pub(crate) fn configs() -> Vec<EnvelopeConfig> {
        let base = EnvelopeConfig { format: EventFormat::JsonSchema, ..EnvelopeConfig::default() };
        vec![
            base.clone(),
            EnvelopeConfig {
                propagate_source_types: false,
                decimal_handling: DecimalHandling::String,
                time_precision: TimePrecision::Connect,
                binary_handling: BinaryHandling::Hex,
                interval_handling: IntervalHandling::String,
                hstore_handling: HstoreHandling::Map,
                transaction_metadata: true,
                ..base.clone()
            },
            EnvelopeConfig {
                decimal_handling: DecimalHandling::Double,
                time_precision: TimePrecision::AdaptiveTimeMicroseconds,
                binary_handling: BinaryHandling::Base64UrlSafe,
                hstore_handling: HstoreHandling::Map,
                ..base
            },
        ]
    }

    /// `{schema, payload}` messages (values and keys) of a spread of events on `everything`, per
    /// configuration.
    pub(crate) fn messages(seed: u64, per_config: usize) -> Vec<J> {
        let mut rng = Rng::new(seed);
        let table = everything();
        let mut out = Vec::new();
        for config in configs() {
            let mut envelope = Envelope::new(config.clone(), "inventory");
            for n in 0..per_config as u64 {
                let row = |rng: &mut Rng| random_row(rng, &table);
                let event = match n % 6 {
                    0 => event(Op::Insert, table.clone(), None, Some(row(&mut rng)), n),
                    1 => event(
                        Op::Update,
                        table.clone(),
                        Some(row(&mut rng)),
                        Some(toasted_row(&mut rng, &table, &config)),
                        n,
                    ),
                    2 => event(Op::Delete, table.clone(), Some(row(&mut rng)), None, n),
                    3 => event(Op::Truncate, table.clone(), None, None, n),
                    4 => event(Op::Read, table.clone(), None, Some(row(&mut rng)), n),
                    _ => event(Op::Update, table.clone(), Some(row(&mut rng)), Some(row(&mut rng)), n),
                };
                out.push(envelope.value_at(&event, 1_700_000_000_000 + n as i64));
                out.extend(envelope.key(&event));
            }
        }
        out
    }

    fn encoded(message: &J) -> (AvroSchema, Vec<u8>) {
        let avro = from_connect(&message["schema"]).expect("translatable");
        let mut out = Vec::new();
        encode(&avro, &message["schema"], &message["payload"], &mut out)
            .unwrap_or_else(|e| panic!("{e}: {}", message["payload"]));
        (avro, out)
    }

    #[test]
    fn every_envelope_cdc_core_writes_decodes_back_to_the_same_payload_and_schema() {
        for message in messages(0x5EED, 60) {
            let (avro, datum) = encoded(&message);
            let writer: J = serde_json::from_str(&avro.text).expect("JSON");
            let decoder = Decoder::new(&writer).expect("compiles");
            let payload = decoder.decode(&datum).unwrap_or_else(|e| panic!("{e}: {}", message["payload"]));
            assert_eq!(payload.to_string(), message["payload"].to_string());
            // The schema comes back too, key order and all.
            assert_eq!(decoder.connect_schema().expect("Connect").to_string(), message["schema"].to_string());
            assert_eq!(to_connect(&writer).expect("Connect").to_string(), message["schema"].to_string());
        }
    }

    #[test]
    fn apache_avro_reads_every_datum_we_write() {
        for message in messages(0xA11CE, 30) {
            let (avro, datum) = encoded(&message);
            let mut reader = datum.as_slice();
            let value = apache_avro::from_avro_datum(&avro.schema, &mut reader, None)
                .unwrap_or_else(|e| panic!("{e}: {}", message["payload"]));
            assert!(reader.is_empty(), "apache-avro left {} bytes", reader.len());
            assert!(matches!(value, apache_avro::types::Value::Record(_)));
        }
    }

    #[test]
    fn the_bytes_are_the_ones_avro_prescribes() {
        let connect = json!({
            "type": "struct",
            "fields": [
                { "type": "int32", "optional": false, "field": "id" },
                { "type": "string", "optional": true, "field": "note" },
                { "type": "array", "items": { "type": "int64", "optional": false }, "optional": false,
                  "field": "xs" },
                { "type": "map", "keys": { "type": "string", "optional": false },
                  "values": { "type": "boolean", "optional": false }, "optional": false, "field": "m" },
                { "type": "double", "optional": false, "field": "d" },
                { "type": "bytes", "optional": true, "field": "b" }
            ],
            "optional": false, "name": "x.R"
        });
        let avro = from_connect(&connect).expect("translatable");
        let payload =
            json!({ "id": -1, "note": "hé", "xs": [1, -64], "m": { "k": true }, "d": 1.5, "b": null });
        let mut ours = Vec::new();
        encode(&avro, &connect, &payload, &mut ours).expect("encodes");
        let expected: Vec<u8> = [
            vec![0x01],                         // id -1 (zigzag 1)
            vec![0x02, 0x06, b'h', 0xC3, 0xA9], // branch 1 (string), 3 bytes
            vec![0x04, 0x02, 0x7F, 0x00],       // one block of 2: 1 → 2, -64 → 127; end
            vec![0x02, 0x02, b'k', 0x01, 0x00], // one block of 1: "k" → true; end
            1.5f64.to_le_bytes().to_vec(),
            vec![0x00], // branch 0 (null)
        ]
        .concat();
        assert_eq!(ours, expected);
        let theirs = apache_avro::to_avro_datum(
            &avro.schema,
            apache_avro::types::Value::Record(vec![
                ("id".into(), apache_avro::types::Value::Int(-1)),
                ("note".into(), apache_avro::types::Value::Union(1, Box::new("hé".into()))),
                ("xs".into(), apache_avro::types::Value::Array(vec![1i64.into(), (-64i64).into()])),
                ("m".into(), apache_avro::types::Value::Map([("k".to_owned(), true.into())].into())),
                ("d".into(), apache_avro::types::Value::Double(1.5)),
                ("b".into(), apache_avro::types::Value::Union(0, Box::new(apache_avro::types::Value::Null))),
            ]),
        )
        .expect("apache-avro encodes");
        assert_eq!(ours, theirs);
    }

    fn envelope_message(config: EnvelopeConfig) -> J {
        let mut rng = Rng::new(7);
        let table = everything();
        let insert = event(Op::Insert, table.clone(), None, Some(random_row(&mut rng, &table)), 1);
        Envelope::new(config, "inventory").value_at(&insert, 1_700_000_000_000)
    }

    #[test]
    fn a_null_in_a_field_with_a_default_is_written_as_the_default() {
        let message = envelope_message(configs().remove(0));
        let mut payload = message["payload"].clone();
        payload["source"]["snapshot"] = J::Null;
        let avro = from_connect(&message["schema"]).expect("translatable");
        let mut datum = Vec::new();
        encode(&avro, &message["schema"], &payload, &mut datum).expect("encodes");
        let writer: J = serde_json::from_str(&avro.text).expect("JSON");
        assert_eq!(decode(&writer, &datum).expect("decodes")["source"]["snapshot"], "false");
        // A missing member too.
        payload["source"].as_object_mut().expect("object").shift_remove("snapshot");
        let mut again = Vec::new();
        encode(&avro, &message["schema"], &payload, &mut again).expect("encodes");
        assert_eq!(again, datum);
    }

    #[test]
    fn payloads_that_do_not_fit_say_which_field_and_what_was_expected() {
        let message = envelope_message(configs().remove(0));
        let avro = from_connect(&message["schema"]).expect("translatable");
        let attempt = |path: &[&str], value: J| {
            let mut payload = message["payload"].clone();
            let mut at = &mut payload;
            for key in path {
                at = &mut at[*key];
            }
            *at = value;
            let mut out = b"kept".to_vec();
            let error = encode(&avro, &message["schema"], &payload, &mut out).expect_err("does not fit");
            assert_eq!(out, b"kept", "a failed encode leaves the buffer as it was");
            error
        };
        let error = attempt(&["after", "price"], json!("not base64!"));
        assert_eq!(
            error.to_string(),
            "cannot encode `after.price` as Avro: expected base64 bytes, found the string \"not base64!\""
        );
        let error = attempt(&["after", "small"], json!(70_000));
        assert_eq!(error.path().map(|p| p.as_str()), Some("after.small"));
        assert!(error.to_string().contains("int16"), "{error}");
        let error = attempt(&["after", "label"], J::Null);
        assert_eq!(error.path().map(|p| p.as_str()), Some("after.label"));
        let error = attempt(&["after", "ints"], json!([1, "two"]));
        assert_eq!(error.path().map(|p| p.as_str()), Some("after.ints[1]"));
        let error = attempt(&["after", "Order Date"], json!("yesterday"));
        assert_eq!(error.path().map(|p| p.as_str()), Some("after.Order Date"));
        let error = attempt(&["op"], json!(1));
        assert_eq!(error.path().map(|p| p.as_str()), Some("op"));
    }

    #[test]
    fn a_connect_schema_other_than_the_translated_one_is_refused() {
        let message = envelope_message(configs().remove(0));
        let avro = from_connect(&message["schema"]).expect("translatable");
        let other =
            json!({ "type": "struct", "fields": [], "optional": false, "name": "cdc.public.other.Envelope" });
        let error = encode(&avro, &other, &json!({}), &mut Vec::new()).expect_err("mismatch");
        assert!(matches!(error, AvroError::SchemaMismatch { .. }), "{error}");
    }

    #[test]
    fn multi_dimensional_arrays_are_an_error_not_a_panic() {
        let mut table = (*everything()).clone();
        table.columns.truncate(1);
        table.columns.push(col("grid", builtin(1007), -1, true, false));
        let table = Arc::new(table);
        let grid =
            Value::Array(vec![Value::Array(vec![Value::Int32(1)]), Value::Array(vec![Value::Int32(2)])]);
        let insert = event(Op::Insert, table, None, Some(Row(vec![Value::Int32(1), grid])), 1);
        let message = Envelope::new(configs().remove(0), "inventory").value_at(&insert, 0);
        let avro = from_connect(&message["schema"]).expect("translatable");
        let error = encode(&avro, &message["schema"], &message["payload"], &mut Vec::new()).expect_err("2-D");
        assert_eq!(error.path().map(|p| p.as_str()), Some("after.grid[0]"));
    }

    #[test]
    fn an_unchanged_numeric_in_double_mode_cannot_be_encoded() {
        let config = EnvelopeConfig { decimal_handling: DecimalHandling::Double, ..configs().remove(0) };
        let mut rng = Rng::new(3);
        let table = everything();
        let mut row = random_row(&mut rng, &table);
        row.0[5] = Value::Unchanged;
        let update = event(Op::Update, table.clone(), None, Some(row), 1);
        let message = Envelope::new(config, "inventory").value_at(&update, 0);
        assert_eq!(message["payload"]["after"]["price"], "__debezium_unavailable_value");
        let avro = from_connect(&message["schema"]).expect("translatable");
        let error =
            encode(&avro, &message["schema"], &message["payload"], &mut Vec::new()).expect_err("a string");
        assert_eq!(error.path().map(|p| p.as_str()), Some("after.price"));
    }

    #[test]
    fn every_truncation_of_a_datum_is_an_error() {
        for message in messages(0x7A11, 12) {
            let (avro, datum) = encoded(&message);
            let decoder = Decoder::new(&serde_json::from_str(&avro.text).expect("JSON")).expect("compiles");
            for len in 0..datum.len() {
                let error = decoder.decode(&datum[..len]).expect_err("a strict prefix is not a datum");
                assert!(matches!(error, AvroError::Malformed { .. }), "{error}");
            }
            let mut longer = datum.clone();
            longer.push(0);
            let error = decoder.decode(&longer).expect_err("trailing byte");
            assert!(
                matches!(error, AvroError::Malformed { problem: Malformed::TrailingBytes(1), .. }),
                "{error}"
            );
        }
    }

    #[test]
    fn corrupted_datums_decode_or_fail_but_never_panic() {
        let mut rng = Rng::new(0xF1_1B);
        let mut failures = 0;
        let mut total = 0;
        for message in messages(0xC0FFEE, 12) {
            let (avro, datum) = encoded(&message);
            let decoder = Decoder::new(&serde_json::from_str(&avro.text).expect("JSON")).expect("compiles");
            for _ in 0..300 {
                let mut bytes = datum.clone();
                for _ in 0..=rng.below(3) {
                    let i = rng.below(bytes.len() as u64) as usize;
                    if let Some(byte) = bytes.get_mut(i) {
                        *byte = match rng.below(3) {
                            0 => *byte ^ (1 << rng.below(8)),
                            1 => 0xFF,
                            _ => rng.next() as u8,
                        };
                    }
                }
                total += 1;
                failures += usize::from(decoder.decode(&bytes).is_err());
            }
            // Random bytes of random lengths, too.
            for _ in 0..100 {
                let junk: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
                let _ = decoder.decode(&junk);
            }
        }
        assert!(failures > total / 4, "most corruptions are caught: {failures} of {total}");
    }

    #[test]
    fn hostile_counts_and_nesting_are_refused_before_they_cost_anything() {
        let nulls =
            decode(&json!({ "type": "array", "items": "null" }), &[0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0x00]);
        assert!(
            matches!(nulls, Err(AvroError::Malformed { problem: Malformed::TooManyItems(_), .. })),
            "{nulls:?}"
        );
        let longs = decode(&json!({ "type": "array", "items": "long" }), &[0xD0, 0x0F, 0x02, 0x00]);
        assert!(
            matches!(
                longs,
                Err(AvroError::Malformed { problem: Malformed::BlockPastEnd { count: 1000, .. }, .. })
            ),
            "{longs:?}"
        );
        let string = decode(&json!("string"), &[0xC8, 0x01, b'a']);
        assert!(matches!(
            string,
            Err(AvroError::Malformed { problem: Malformed::LengthPastEnd { length: 100, .. }, .. })
        ));
        let negative = decode(&json!("bytes"), &[0x01]);
        assert!(matches!(negative, Err(AvroError::Malformed { problem: Malformed::NegativeLength(-1), .. })));
        let varint = decode(&json!("long"), &[0xFF; 11]);
        assert!(matches!(
            varint,
            Err(AvroError::Malformed { problem: Malformed::VarintOverflow, position: 0, .. })
        ));
        let int = decode(&json!("int"), &[0x80, 0x80, 0x80, 0x80, 0x20]);
        assert!(
            matches!(int, Err(AvroError::Malformed { problem: Malformed::IntOutOfRange(_), .. })),
            "{int:?}"
        );
        let boolean = decode(&json!("boolean"), &[0x02]);
        assert!(matches!(boolean, Err(AvroError::Malformed { problem: Malformed::Boolean(2), .. })));
        let utf8 = decode(&json!("string"), &[0x02, 0xFF]);
        assert!(matches!(utf8, Err(AvroError::Malformed { problem: Malformed::Utf8, .. })));
        let branch = decode(&json!(["null", "int"]), &[0x04]);
        assert!(matches!(
            branch,
            Err(AvroError::Malformed { problem: Malformed::UnionBranch { index: 2, .. }, .. })
        ));
        // A recursive schema and bytes that keep choosing the recursive branch: a typed error, not a stack
        // overflow.
        let list = json!({ "type": "record", "name": "List", "fields": [
            { "name": "head", "type": "int" }, { "name": "tail", "type": ["null", "List"] } ] });
        let deep: Vec<u8> = std::iter::repeat_n([0x00, 0x02], 10_000).flatten().collect();
        let error = decode(&list, &deep).expect_err("too deep");
        assert!(matches!(error, AvroError::Malformed { problem: Malformed::TooDeep(_), .. }), "{error}");
        assert!(error.path().is_some_and(|p| p.as_str().starts_with("tail.tail.")));
        // … and a shallow one decodes.
        assert_eq!(
            decode(&list, &[0x02, 0x02, 0x04, 0x00]).expect("decodes"),
            json!({ "head": 1, "tail": { "head": 2, "tail": null } })
        );
    }

    #[test]
    fn negative_block_counts_from_other_writers_are_read() {
        // -2 items, then the block's byte size (2), then the items; then the end.
        let datum = [0x03, 0x04, 0x02, 0x04, 0x00];
        assert_eq!(
            decode(&json!({ "type": "array", "items": "long" }), &datum).expect("decodes"),
            json!([1, 2])
        );
    }

    #[test]
    fn non_finite_floats_travel_as_jacksons_strings() {
        let connect =
            json!({ "type": "array", "items": { "type": "double", "optional": false }, "optional": false });
        let avro = from_connect(&connect).expect("translatable");
        let payload = json!(["NaN", "Infinity", "-Infinity", -0.0, 1e308, 5e-324]);
        let mut datum = Vec::new();
        encode(&avro, &connect, &payload, &mut datum).expect("encodes");
        let writer: J = serde_json::from_str(&avro.text).expect("JSON");
        assert_eq!(decode(&writer, &datum).expect("decodes").to_string(), payload.to_string());
        let floats = json!({ "type": "float", "optional": false });
        let avro = from_connect(&floats).expect("translatable");
        let mut datum = Vec::new();
        encode(&avro, &floats, &json!(1.1), &mut datum).expect("encodes");
        assert_eq!(datum, 1.1f32.to_le_bytes());
        assert_eq!(decode(&json!("float"), &datum).expect("decodes").to_string(), "1.1");
    }

    #[test]
    fn maps_with_non_string_keys_travel_as_key_value_pairs() {
        let connect = json!({ "type": "map", "keys": { "type": "int32", "optional": false },
                              "values": { "type": "string", "optional": true }, "optional": false });
        let avro = from_connect(&connect).expect("translatable");
        let payload = json!([[1, "one"], [2, null]]);
        let mut datum = Vec::new();
        encode(&avro, &connect, &payload, &mut datum).expect("encodes");
        let writer: J = serde_json::from_str(&avro.text).expect("JSON");
        assert_eq!(decode(&writer, &datum).expect("decodes"), payload);
    }

    #[test]
    fn unions_of_several_types_read_as_avro_datas_union_struct() {
        let writer = json!(["null", "int", "string"]);
        assert_eq!(
            decode(&writer, &[0x04, 0x02, b'x']).expect("decodes"),
            json!({ "int": null, "string": "x" })
        );
        assert_eq!(decode(&writer, &[0x00]).expect("decodes"), J::Null);
        let enum_writer = json!({ "type": "enum", "name": "E", "symbols": ["A", "B"] });
        assert_eq!(decode(&enum_writer, &[0x02]).expect("decodes"), json!("B"));
        assert!(decode(&enum_writer, &[0x04]).is_err());
    }
}
