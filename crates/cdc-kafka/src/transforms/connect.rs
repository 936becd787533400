//! Kafka Connect schemas in `JsonConverter`'s schema-JSON form, and the record side (key or value) a
//! `$Key`/`$Value` transform works on.
//!
//! A schema is an object `{"type", ["fields" | "items" | "keys"/"values"], "optional", ["name"], ["version"],
//! ["doc"], ["parameters"], ["default"]}` in `JsonConverter.asJsonSchema`'s key order; a struct member is its
//! field's schema plus a trailing `"field": <name>`. A struct payload is an object with every field of the
//! schema, in schema order.

use serde_json::{json, Map, Value as J};

use super::{DataError, Record};

/// The side of a record a `$Key` or `$Value` transform operates on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Key,
    Value,
}

impl Side {
    /// The side's schema and payload.
    pub(crate) fn parts(self, record: &mut Record) -> (&mut Option<J>, &mut Option<J>) {
        match self {
            Side::Key => (&mut record.key_schema, &mut record.key),
            Side::Value => (&mut record.value_schema, &mut record.value),
        }
    }
}

/// `Timestamp.LOGICAL_NAME`.
pub(crate) const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
/// `Date.LOGICAL_NAME`.
pub(crate) const DATE: &str = "org.apache.kafka.connect.data.Date";
/// `Time.LOGICAL_NAME`.
pub(crate) const TIME: &str = "org.apache.kafka.connect.data.Time";
/// `Decimal.LOGICAL_NAME`.
pub(crate) const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";

pub(crate) fn type_of(schema: &J) -> Option<&str> {
    schema.get("type").and_then(J::as_str)
}

pub(crate) fn name_of(schema: &J) -> Option<&str> {
    schema.get("name").and_then(J::as_str)
}

/// `isOptional()`: absent means required, as `JsonConverter.asConnectSchema` reads it.
pub(crate) fn is_optional(schema: &J) -> bool {
    schema.get("optional").and_then(J::as_bool).unwrap_or(false)
}

pub(crate) fn is_struct(schema: &J) -> bool {
    type_of(schema) == Some("struct")
}

/// A struct's members (each with its `field` name); empty for other schemas.
pub(crate) fn members(schema: &J) -> &[J] {
    schema.get("fields").and_then(J::as_array).map_or(&[], Vec::as_slice)
}

pub(crate) fn member_name(member: &J) -> Option<&str> {
    member.get("field").and_then(J::as_str)
}

/// The schema of a struct's field `name`, without its `field` key.
pub(crate) fn field_schema(schema: &J, name: &str) -> Option<J> {
    members(schema).iter().find(|m| member_name(m) == Some(name)).map(unnamed)
}

/// A member's schema without its `field` key.
pub(crate) fn unnamed(member: &J) -> J {
    match member {
        J::Object(map) => J::Object(
            map.iter().filter(|(k, _)| *k != "field").map(|(k, v)| (k.clone(), v.clone())).collect(),
        ),
        other => other.clone(),
    }
}

/// `schema` as the struct member `name` (`field` last, as `asJsonSchema` writes it).
pub(crate) fn member(schema: J, name: &str) -> J {
    match schema {
        J::Object(map) => {
            let mut out: Map<String, J> = map.into_iter().filter(|(k, _)| k != "field").collect();
            out.insert("field".into(), J::from(name));
            J::Object(out)
        }
        other => other,
    }
}

/// `SchemaUtil.copySchemaBasics(source, SchemaBuilder.struct())` with `members`: name, version, doc and
/// parameters copied; `optional` is not (Kafka leaves the copy required) unless `optional` says so.
pub(crate) fn struct_like(source: &J, members: Vec<J>, optional: bool) -> J {
    let mut out = Map::new();
    out.insert("type".into(), J::from("struct"));
    out.insert("fields".into(), J::Array(members));
    out.insert("optional".into(), J::Bool(optional));
    for key in ["name", "version", "doc", "parameters"] {
        if let Some(v) = source.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    J::Object(out)
}

/// `SchemaUtil.copySchemaBasics(source).optional()`: the type (with its element schemas), name, version,
/// doc and parameters; optional; no default.
pub(crate) fn optional_copy(source: &J) -> J {
    let mut out = Map::new();
    for key in ["type", "fields", "items", "keys", "values"] {
        if let Some(v) = source.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    out.insert("optional".into(), J::Bool(true));
    for key in ["name", "version", "doc", "parameters"] {
        if let Some(v) = source.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    J::Object(out)
}

/// A primitive schema (`Schema.STRING_SCHEMA`, `OPTIONAL_INT64_SCHEMA`, …).
pub(crate) fn primitive(type_name: &str, optional: bool) -> J {
    json!({ "type": type_name, "optional": optional })
}

/// A Connect logical type (version 1, as all of Connect's are).
pub(crate) fn logical(type_name: &str, name: &str, optional: bool) -> J {
    json!({ "type": type_name, "optional": optional, "name": name, "version": 1 })
}

/// `Requirements.requireStruct`: the payload of a struct schema.
pub(crate) fn require_struct<'a>(
    schema: &J,
    payload: &'a mut J,
    purpose: &str,
) -> Result<&'a mut Map<String, J>, DataError> {
    if !is_struct(schema) {
        return Err(DataError::new(format!(
            "Only Struct objects supported for [{purpose}], found a {} schema",
            type_of(schema).unwrap_or("malformed")
        )));
    }
    match payload {
        J::Object(map) => Ok(map),
        other => Err(DataError::new(format!(
            "Only Struct objects supported for [{purpose}], found {} for a struct schema",
            kind(other)
        ))),
    }
}

/// `Requirements.requireMap`: a schemaless payload that is an object.
pub(crate) fn require_map<'a>(
    payload: &'a mut J,
    purpose: &str,
) -> Result<&'a mut Map<String, J>, DataError> {
    match payload {
        J::Object(map) => Ok(map),
        other => Err(DataError::new(format!(
            "Only Map objects supported in absence of schema for [{purpose}], found: {}",
            kind(other)
        ))),
    }
}

/// What a JSON value is, for error messages.
pub(crate) fn kind(value: &J) -> &'static str {
    match value {
        J::Null => "null",
        J::Bool(_) => "a boolean",
        J::Number(n) if n.is_f64() => "a floating-point number",
        J::Number(_) => "an integer",
        J::String(_) => "a string",
        J::Array(_) => "an array",
        J::Object(_) => "an object",
    }
}

/// A header value as Kafka Connect's default `SimpleHeaderConverter` writes it: strings as their UTF-8
/// bytes, other primitives as their text, structs, maps and arrays as JSON; null as no value.
pub(crate) fn header_bytes(value: &J) -> Option<Vec<u8>> {
    match value {
        J::Null => None,
        J::String(s) => Some(s.clone().into_bytes()),
        other => Some(other.to_string().into_bytes()),
    }
}
