//! The payload (JsonConverter JSON) → Avro binary, as AvroData and Java's `GenericDatumWriter` write it; also
//! the Avro JSON of a field default → its binary, which the plan precomputes.
//!
//! Where the bytes can differ from Java's: a map with several entries. AvroData copies a Connect map into a
//! `java.util.HashMap` before writing, so Java's entry order is hash order; we write the payload's order.
//! Both decode to the same map.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value as J;

use super::MAX_DEPTH;
use crate::error::{AvroError, FieldPath};
use crate::schema::{AvroSchema, Kind, Node, Plan};

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
