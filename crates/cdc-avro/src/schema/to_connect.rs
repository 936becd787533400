//! The [`Plan`] → a Connect schema, as `JsonConverter.asJsonSchema` writes it.
//!
//! ## Avro → Connect (`AvroData.toConnectSchema`)
//! `connect.*` properties first, Avro's own types otherwise: an optional union back to an optional schema,
//! `connect.type` back to `int8`/`int16`, the four Connect logical types back to their names, a `MapEntry`
//! array back to a map, any other union to AvroData's `io.confluent.connect.avro.Union` struct, an enum to a
//! string with AvroData's `io.confluent.connect.avro.Enum` parameters. Unlike Java we do not add the
//! `io.confluent.connect.avro.field.default` parameter to fields whose default came from Avro (Java adds it
//! to every optional field), so `to_connect(from_connect(x)) == x` for every schema cdc-core emits, in the
//! key order `JsonConverter.asJsonSchema` writes.

use std::collections::HashSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value as J};

use super::plan::{Field, Kind, Node, Plan};
use super::{
    DATE, DECIMAL, DECIMAL_PRECISION_DEFAULT, DECIMAL_PRECISION_PARAMETER, DECIMAL_SCALE_PARAMETER,
    DEFAULT_SCHEMA_FULL_NAME, ENUM_PARAMETER, FIELD_DOC_PARAMETER_PREFIX, FIXED_SIZE_PARAMETER, KEY_FIELD,
    RECORD_DOC_PARAMETER, TIME, TIMESTAMP, UNION_NAME, VALUE_FIELD,
};
use crate::error::AvroError;

/// Where [`Plan::to_connect`] is inside a field's type, for the field's
/// [`OVERRIDES_PROPERTY`](super::OVERRIDES_PROPERTY).
#[derive(Debug, Default, Clone)]
struct At<'a> {
    overrides: Option<&'a Map<String, J>>,
    path: String,
}

impl<'a> At<'a> {
    /// The top of a field's type.
    fn field(field: &'a Field) -> At<'a> {
        At { overrides: field.overrides.as_ref(), path: String::new() }
    }

    fn child(&self, segment: &str) -> At<'a> {
        match self.overrides {
            None => At::default(),
            Some(overrides) if self.path.is_empty() => {
                At { overrides: Some(overrides), path: segment.to_owned() }
            }
            Some(overrides) => At { overrides: Some(overrides), path: format!("{}.{segment}", self.path) },
        }
    }

    /// The annotations noted for this place, if any.
    fn own(&self) -> Option<&'a Map<String, J>> {
        self.overrides?.get(&self.path)?.as_object()
    }
}

impl Plan {
    pub(crate) fn to_connect(&self) -> Result<J, AvroError> {
        self.connect(&self.root, false, None, At::default(), &mut Vec::new())
    }

    /// The Connect schema of `node`, in `JsonConverter.asJsonSchema`'s key order; `field_default` is the Avro
    /// default of the field `node` is the type of, if any.
    fn connect(
        &self,
        node: &Node,
        optional: bool,
        field_default: Option<&J>,
        at: At<'_>,
        records: &mut Vec<usize>,
    ) -> Result<J, AvroError> {
        let meta = self.meta_of(node);
        let mut out = Map::new();
        let mut parameters = Map::new();
        // Connect's own logical types, which Java's builders name (and version) from the Avro logical type.
        let mut implied_name = None;
        let logical = meta.logical_type.as_deref();
        let type_name = match &node.kind {
            Kind::Union(branches) => {
                if let [a, b] = branches.as_slice() {
                    if matches!(a.kind, Kind::Null) {
                        return self.connect(b, true, None, at, records);
                    }
                    if matches!(b.kind, Kind::Null) {
                        return self.connect(a, true, None, at, records);
                    }
                }
                return self.union(branches, records);
            }
            Kind::Null => return Err(AvroError::schema("a null outside a union has no Connect form")),
            Kind::Boolean => "boolean",
            Kind::Int => match (meta.connect_type.as_deref(), logical) {
                (Some("int8"), _) => "int8",
                (Some("int16"), _) => "int16",
                (_, Some("date")) => {
                    implied_name = Some(DATE);
                    "int32"
                }
                (_, Some("time-millis")) => {
                    implied_name = Some(TIME);
                    "int32"
                }
                _ => "int32",
            },
            Kind::Long => {
                if logical == Some("timestamp-millis") {
                    implied_name = Some(TIMESTAMP);
                }
                "int64"
            }
            Kind::Float => "float",
            Kind::Double => "double",
            Kind::String => "string",
            Kind::Bytes | Kind::Fixed { .. } => {
                if logical == Some("decimal") {
                    implied_name = Some(DECIMAL);
                    parameters
                        .insert(DECIMAL_SCALE_PARAMETER.into(), J::from(meta.scale.unwrap_or(0).to_string()));
                    if let Some(precision) = meta.precision.filter(|p| *p != DECIMAL_PRECISION_DEFAULT) {
                        parameters.insert(DECIMAL_PRECISION_PARAMETER.into(), J::from(precision.to_string()));
                    }
                }
                if let Kind::Fixed { size, .. } = node.kind {
                    parameters.insert(FIXED_SIZE_PARAMETER.into(), J::from(size.to_string()));
                }
                "bytes"
            }
            Kind::Enum { full_name, symbols } => {
                parameters.insert(ENUM_PARAMETER.into(), J::from(full_name.as_str()));
                for symbol in symbols {
                    parameters.insert(format!("{ENUM_PARAMETER}.{symbol}"), J::from(symbol.as_str()));
                }
                "string"
            }
            Kind::Array(items) => match self.map_entry(items) {
                Some((keys, values)) => {
                    out.insert("type".into(), J::from("map"));
                    let keys = self
                        .connect(&keys.node, false, None, At::field(keys), records)
                        .map_err(|e| e.in_field("keys"))?;
                    out.insert("keys".into(), keys);
                    let values = self
                        .connect(&values.node, false, None, At::field(values), records)
                        .map_err(|e| e.in_field("values"))?;
                    out.insert("values".into(), values);
                    "map"
                }
                None => {
                    out.insert("type".into(), J::from("array"));
                    let items = self
                        .connect(items, false, None, at.child("items"), records)
                        .map_err(|e| e.in_field("items"))?;
                    out.insert("items".into(), items);
                    "array"
                }
            },
            Kind::Map(values) => {
                out.insert("type".into(), J::from("map"));
                out.insert("keys".into(), serde_json::json!({ "type": "string", "optional": false }));
                let values = self
                    .connect(values, false, None, at.child("values"), records)
                    .map_err(|e| e.in_field("values"))?;
                out.insert("values".into(), values);
                "map"
            }
            Kind::Record(index) => {
                if records.contains(index) {
                    return Err(AvroError::schema("a recursive record has no Connect form"));
                }
                let record = self.record(*index)?;
                records.push(*index);
                if let Some(doc) = &record.doc {
                    parameters.insert(RECORD_DOC_PARAMETER.into(), J::from(doc.as_str()));
                }
                let mut fields = Vec::with_capacity(record.fields.len());
                for field in &record.fields {
                    if let Some(doc) = &field.doc {
                        parameters.insert(
                            format!("{FIELD_DOC_PARAMETER_PREFIX}{}", field.connect_name),
                            J::from(doc.as_str()),
                        );
                    }
                    let default = field.default.as_ref().filter(|d| !d.is_null());
                    let mut schema = self
                        .connect(&field.node, false, default, At::field(field), records)
                        .map_err(|e| e.in_field(&field.connect_name))?;
                    if let J::Object(map) = &mut schema {
                        map.insert("field".into(), J::from(field.connect_name.as_str()));
                    }
                    fields.push(schema);
                }
                records.pop();
                out.insert("type".into(), J::from("struct"));
                out.insert("fields".into(), J::Array(fields));
                "struct"
            }
        };
        out.entry("type").or_insert_with(|| J::from(type_name));
        out.insert("optional".into(), J::Bool(optional));
        let name = meta.name.as_deref().or(implied_name).or(match node.kind {
            Kind::Record(_) | Kind::Enum { .. } | Kind::Fixed { .. } => Some(self.type_name(node)),
            _ => None,
        });
        if let Some(name) = name.filter(|name| !name.starts_with(DEFAULT_SCHEMA_FULL_NAME)) {
            out.insert("name".into(), J::from(name));
        }
        // A reference annotated unlike its definition carries its own annotations (see `OVERRIDES_PROPERTY`).
        if let Some(own) = at.own() {
            let own = |key: &str| own.get(key).filter(|v| !v.is_null());
            let version = own("version");
            let doc = own("doc");
            let own_parameters = own("parameters").and_then(J::as_object);
            let default = own("default");
            for (key, value) in [("version", version), ("doc", doc)] {
                if let Some(value) = value {
                    out.insert(key.into(), value.clone());
                }
            }
            parameters.extend(own_parameters.into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
            if !parameters.is_empty() {
                out.insert("parameters".into(), J::Object(parameters));
            }
            if let Some(default) = default {
                out.insert("default".into(), default.clone());
            }
            return Ok(J::Object(out));
        }
        if let Some(version) = meta.version.clone().or(implied_name.map(|_| J::from(1))) {
            out.insert("version".into(), version);
        }
        if let Some(doc) = &meta.doc {
            out.insert("doc".into(), J::from(doc.as_str()));
        }
        for (key, value) in meta.parameters.iter().flatten() {
            parameters.insert(key.clone(), value.clone());
        }
        if !parameters.is_empty() {
            out.insert("parameters".into(), J::Object(parameters));
        }
        if let Some(default) = meta.default.as_ref().or(field_default) {
            out.insert("default".into(), self.default_to_connect(node, default, 0)?);
        }
        Ok(J::Object(out))
    }

    /// AvroData's struct for a union that is not just `null` and one type.
    fn union(&self, branches: &[Node], records: &mut Vec<usize>) -> Result<J, AvroError> {
        let mut fields = Vec::with_capacity(branches.len());
        let mut names = HashSet::new();
        let mut optional = false;
        for (index, branch) in branches.iter().enumerate() {
            if matches!(branch.kind, Kind::Null) {
                optional = true;
                continue;
            }
            let name = self.member_name(branch);
            if !names.insert(name) {
                return Err(AvroError::schema(format!("two union branches are both named {name:?}")));
            }
            let mut schema =
                self.connect(branch, true, None, At::default(), records).map_err(|e| e.in_index(index))?;
            if let J::Object(map) = &mut schema {
                map.insert("field".into(), J::from(name));
            }
            fields.push(schema);
        }
        let mut out = Map::new();
        out.insert("type".into(), J::from("struct"));
        out.insert("fields".into(), J::Array(fields));
        out.insert("optional".into(), J::Bool(optional));
        out.insert("name".into(), J::from(UNION_NAME));
        Ok(J::Object(out))
    }

    /// An Avro default (Avro's JSON) as JsonConverter's JSON: bytes as base64, members by their Connect
    /// names, map entries as `[key, value]` pairs.
    fn default_to_connect(&self, node: &Node, value: &J, depth: usize) -> Result<J, AvroError> {
        const MAX_DEPTH: usize = 64;
        if value.is_null() {
            return Ok(J::Null);
        }
        if depth > MAX_DEPTH {
            return Err(AvroError::schema("a default nested too deep"));
        }
        let invalid = || AvroError::schema(format!("the default {value} does not fit its type"));
        Ok(match &node.kind {
            Kind::Bytes | Kind::Fixed { .. } => {
                let text = value.as_str().ok_or_else(invalid)?;
                let bytes =
                    text.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect::<Option<Vec<u8>>>();
                J::String(STANDARD.encode(bytes.ok_or_else(invalid)?))
            }
            Kind::Array(items) => {
                let values = value.as_array().ok_or_else(invalid)?;
                match self.map_entry(items) {
                    Some((keys, entry_values)) => J::Array(
                        values
                            .iter()
                            .map(|entry| {
                                let (k, v) = match entry {
                                    J::Array(pair) => match pair.as_slice() {
                                        [k, v] => (k, v),
                                        _ => return Err(invalid()),
                                    },
                                    J::Object(record) => (
                                        record.get(KEY_FIELD).unwrap_or(&J::Null),
                                        record.get(VALUE_FIELD).unwrap_or(&J::Null),
                                    ),
                                    _ => return Err(invalid()),
                                };
                                Ok(J::Array(vec![
                                    self.default_to_connect(&keys.node, k, depth + 1)?,
                                    self.default_to_connect(&entry_values.node, v, depth + 1)?,
                                ]))
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    None => J::Array(
                        values
                            .iter()
                            .map(|v| self.default_to_connect(items, v, depth + 1))
                            .collect::<Result<_, _>>()?,
                    ),
                }
            }
            Kind::Map(values) => J::Object(
                value
                    .as_object()
                    .ok_or_else(invalid)?
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.default_to_connect(values, v, depth + 1)?)))
                    .collect::<Result<_, AvroError>>()?,
            ),
            Kind::Record(index) => {
                let object = value.as_object().ok_or_else(invalid)?;
                let mut out = Map::new();
                for field in &self.record(*index)?.fields {
                    let member = object.get(&field.name).unwrap_or(&J::Null);
                    out.insert(
                        field.connect_name.clone(),
                        self.default_to_connect(&field.node, member, depth + 1)?,
                    );
                }
                J::Object(out)
            }
            Kind::Union(branches) => match branches.iter().find(|b| !matches!(b.kind, Kind::Null)) {
                Some(branch) => self.default_to_connect(branch, value, depth + 1)?,
                None => return Err(invalid()),
            },
            _ => value.clone(),
        })
    }
}
