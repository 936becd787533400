//! `org.apache.kafka.connect.transforms.MaskField$Key` / `$Value`: replaces the values of top-level fields
//! with their type's "null value", or with a configured replacement (KIP-437).
//!
//! Properties: `fields` (required, non-empty list), `replacement` (optional, non-empty when set).
//!
//! Masks, by the field's Connect type (with a schema) or the JSON value (without), as Kafka's
//! `PRIMITIVE_VALUE_MAPPING`: booleans `false`; int8/16/32/64 `0`; float32/64 `0.0`; strings `""`; the
//! `Date`/`Time`/`Timestamp` logical types `new Date(0)`, i.e. `0`; `Decimal` `BigDecimal.ZERO` (the single
//! byte 0, `"AA=="`); arrays `[]`; maps (and schemaless objects) `{}`. A null stays null. Bytes and structs
//! cannot be masked (Kafka: "Cannot mask value of type"), which fails the record.
//!
//! With `replacement`, numbers get the replacement parsed as the field's type (an error if it does not
//! parse or does not fit) and strings get it verbatim; booleans, dates, decimals, bytes, arrays, maps and
//! structs cannot take one (Kafka: "Cannot mask value of type … with custom replacement").
//!
//! Schemas are unchanged. Without a schema, a configured field absent from the payload is added as null,
//! as Kafka's `updatedValue.put(field, masked(value.get(field)))` does.

use std::collections::BTreeSet;

use serde_json::{Map, Value as J};

use super::connect::{self, kind, name_of, require_map, require_struct, type_of, Side};
use super::{DataError, Outcome, Props, Record, Smt, TransformError};

const PURPOSE: &str = "mask fields";

#[derive(Debug)]
pub(crate) struct MaskField {
    side: Side,
    /// In configuration order (schemaless payloads get absent fields added in this order).
    fields: Vec<String>,
    replacement: Option<String>,
}

impl MaskField {
    pub(crate) fn build(side: Side, props: &Props<'_>) -> Result<Self, TransformError> {
        props.required("fields")?;
        let mut seen = BTreeSet::new();
        let fields: Vec<String> =
            props.list("fields").into_iter().filter(|f| seen.insert(f.clone())).collect();
        if fields.is_empty() {
            return Err(props.invalid("fields", "Empty list: name at least one field to mask"));
        }
        let replacement = match props.get("replacement") {
            Some("") => return Err(props.invalid("replacement", "String must be non-empty")),
            other => other.map(str::to_owned),
        };
        Ok(MaskField { side, fields, replacement })
    }

    /// A masked value for a field of Connect type `schema`.
    fn masked_typed(&self, schema: &J, value: &J) -> Result<J, String> {
        if value.is_null() {
            return Ok(J::Null);
        }
        let type_name = type_of(schema).unwrap_or_default();
        let logical = name_of(schema);
        let cannot = || {
            format!(
                "Cannot mask value of type {type_name}{}",
                logical.map(|n| format!(" ({n})")).unwrap_or_default()
            )
        };
        let Some(replacement) = &self.replacement else {
            return Ok(match (type_name, logical) {
                (_, Some(connect::DECIMAL)) => J::from("AA=="),
                ("boolean", _) => J::Bool(false),
                ("int8" | "int16" | "int32" | "int64", _) => J::from(0),
                ("float32" | "float64", _) => J::from(0.0),
                ("string", _) => J::from(""),
                ("array", _) => J::Array(Vec::new()),
                ("map", _) => J::Object(Map::new()),
                _ => return Err(cannot()),
            });
        };
        let with_replacement = || format!("{} with custom replacement", cannot());
        match (type_name, logical) {
            (_, Some(connect::DECIMAL | connect::DATE | connect::TIME | connect::TIMESTAMP)) => {
                Err(with_replacement())
            }
            ("int8", _) => integer(replacement, i64::from(i8::MIN), i64::from(i8::MAX)),
            ("int16", _) => integer(replacement, i64::from(i16::MIN), i64::from(i16::MAX)),
            ("int32", _) => integer(replacement, i64::from(i32::MIN), i64::from(i32::MAX)),
            ("int64", _) => integer(replacement, i64::MIN, i64::MAX),
            ("float32" | "float64", _) => float(replacement),
            ("string", _) => Ok(J::from(replacement.as_str())),
            _ => Err(with_replacement()),
        }
    }

    /// A masked value for a schemaless JSON value (JsonConverter reads integers as `Long`, other numbers
    /// as `Double`).
    fn masked_untyped(&self, value: &J) -> Result<J, String> {
        Ok(match (value, &self.replacement) {
            (J::Null, _) => J::Null,
            (J::Bool(_), None) => J::Bool(false),
            (J::Number(n), None) if n.is_f64() => J::from(0.0),
            (J::Number(_), None) => J::from(0),
            (J::String(_), None) => J::from(""),
            (J::Array(_), None) => J::Array(Vec::new()),
            (J::Object(_), None) => J::Object(Map::new()),
            (J::Number(n), Some(r)) if n.is_f64() => float(r)?,
            (J::Number(_), Some(r)) => integer(r, i64::MIN, i64::MAX)?,
            (J::String(_), Some(r)) => J::from(r.as_str()),
            (other, Some(_)) => return Err(format!("Cannot mask {} with custom replacement", kind(other))),
        })
    }
}

fn integer(replacement: &str, min: i64, max: i64) -> Result<J, String> {
    replacement
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .map(J::from)
        .ok_or_else(|| format!("Unable to convert {replacement} (String) to number in [{min}, {max}]"))
}

fn float(replacement: &str) -> Result<J, String> {
    replacement
        .trim()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(J::Number)
        .ok_or_else(|| format!("Unable to convert {replacement} (String) to number"))
}

impl Smt for MaskField {
    fn apply(&mut self, record: &mut Record) -> Result<Outcome, DataError> {
        let (schema, payload) = self.side.parts(record);
        let Some(payload) = payload else { return Ok(Outcome::Keep) };
        match schema {
            Some(schema) => {
                let payload = require_struct(schema, payload, PURPOSE)?;
                for m in connect::members(schema) {
                    let Some(name) = connect::member_name(m).filter(|n| self.fields.iter().any(|f| f == n))
                    else {
                        continue;
                    };
                    if let Some(value) = payload.get_mut(name) {
                        *value = self
                            .masked_typed(m, value)
                            .map_err(|e| DataError::new(format!("{name}: {e}")))?;
                    }
                }
            }
            None => {
                let payload = require_map(payload, PURPOSE)?;
                for name in &self.fields {
                    let current = payload.get(name).cloned().unwrap_or(J::Null);
                    let masked =
                        self.masked_untyped(&current).map_err(|e| DataError::new(format!("{name}: {e}")))?;
                    payload.insert(name.clone(), masked);
                }
            }
        }
        Ok(Outcome::Keep)
    }
}
