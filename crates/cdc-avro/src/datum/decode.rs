//! Avro binary → the payload, over a writer schema's compiled plan. Every access is checked: malformed bytes
//! are a typed [`Malformed`] error with the byte offset and the field, never a panic, and counts and nesting
//! are bounded before they cost memory or stack.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Number, Value as J};

use super::MAX_DEPTH;
use crate::error::{AvroError, Malformed};
use crate::schema::{Kind, Node, Plan};

/// The most items of a zero-width type (null, an empty record) one array may have: each costs no input byte,
/// so without a bound a few bytes could ask for 2^63 of them.
const MAX_ZERO_WIDTH_ITEMS: u64 = 1 << 20;

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
