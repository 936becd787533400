//! Connect schema → Avro schema JSON: [`ToAvro`] walks a Connect schema and writes the Avro text
//! [`super::from_connect`] registers.
//!
//! ## Connect → Avro (`AvroData.fromConnectSchema`)
//! - `struct` → `record` named by the Connect name split at its last dot (`cdc.public.customers.Value` →
//!   namespace `cdc.public.customers`, name `Value`); unnamed structs are AvroData's `ConnectDefault`,
//!   `ConnectDefault2`, … (namespace `io.confluent.connect.avro`) in the order met. A record met again
//!   (before and after share `…Value`) is a name reference, short when it lives in the enclosing namespace,
//!   as Java's `Schema.toString()` writes it. As in AvroData, the first struct of a name defines the record
//!   and later structs of that name refer to it even when their own annotations differ (with propagated
//!   source types, an unconstrained `numeric` column and a `numeric[]` column both hold
//!   `io.debezium.data.VariableScaleDecimal` with different `parameters`); we note such a reference's own
//!   annotations on its field, in a `cdc.connect.overrides` property keyed by the path in the field's type
//!   (`""`, `items`, `values`), so reading back restores them. Java ignores the property and the registry
//!   keeps it. Two structs of one name that differ in more than their own annotations are refused: no single
//!   record could carry both.
//! - Optional → `["null", T]` with `"default": null`; optional with a default → `[T, "null"]` with that
//!   default. An optional struct is always `["null", record]`, and a default it has is dropped (Avro requires
//!   a union's default to match its first branch; AvroData logs and drops it too).
//! - `int8`/`int16` → `int` + `connect.type`; `int32` → `int`; `int64` → `long`; `float` → `float`;
//!   `double` → `double`; `boolean`, `string`, `bytes` as themselves; `array` → `array`; a map with required
//!   string keys → `map`, any other map → an array of `{key, value}` records (`io.confluent.connect.avro.
//!   MapEntry`, or the map's own name with `connect.internal.type: MapEntry`).
//! - Properties, in AvroData's order: Decimal's `scale` and `precision` (64 when the Connect schema has no
//!   `connect.decimal.precision`), `connect.doc`, `connect.version`, `connect.parameters` (when non-empty),
//!   `connect.default`, `connect.name`, `connect.type`, `logicalType`, then any parameter whose key starts
//!   with `avro` (AvroData copies those verbatim).
//! - Logical types: AvroData's own four (Connect `Decimal` → `decimal`, `Date` → `date`, `Time` →
//!   `time-millis`, `Timestamp` → `timestamp-millis`), plus three for Debezium's types that Java's
//!   `toConnectSchema` reads back harmlessly: `io.debezium.time.MicroTime` → `time-micros`,
//!   `io.debezium.time.MicroTimestamp` → `timestamp-micros`, `io.debezium.data.Uuid` → `uuid`. Debezium's
//!   `io.debezium.time.{Date, Time, Timestamp}` get none: for `date`, `time-millis` and `timestamp-millis`
//!   `toConnectSchema` starts from Connect's own `Date`/`Time`/`Timestamp` builder and then throws
//!   "Mismatched names" against `connect.name`, so every Java consumer (Connect sinks, Debezium's tooling)
//!   would fail on our topics. The annotations change no bytes: every logical type keeps its physical type.
//! - Names: Avro wants `[A-Za-z_][A-Za-z0-9_]*` per segment. Each namespace segment, record name and field
//!   name has every other character replaced by `_` and a leading digit prefixed with `_` (Debezium's
//!   `schema.name.adjustment.mode=avro`, applied per segment because Avro validates namespaces per segment).
//!   `connect.name` keeps the Connect name verbatim, and a renamed field keeps its Connect name in a
//!   `cdc.field.name` property (ours; Java ignores unknown properties), so reading back restores both.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value as J};

use super::{
    full_name, CONNECT_DEFAULT, CONNECT_DOC, CONNECT_INTERNAL_TYPE, CONNECT_NAME, CONNECT_NAMESPACE,
    CONNECT_PARAMETERS, CONNECT_TYPE, CONNECT_VERSION, DATE, DECIMAL, DECIMAL_PRECISION_DEFAULT,
    DECIMAL_PRECISION_PARAMETER, DECIMAL_SCALE_PARAMETER, DEFAULT_SCHEMA_NAME, FIELD_DOC_PARAMETER_PREFIX,
    FIELD_NAME_PROPERTY, KEY_FIELD, LOGICAL_TYPE, MAP_ENTRY_NAME, OVERRIDES_PROPERTY, RECORD_DOC_PARAMETER,
    TIME, TIMESTAMP, UNION_NAME, VALUE_FIELD,
};
use crate::error::AvroError;

/// Logical names that get an Avro `logicalType` (besides Decimal): (Connect name, Avro type, logical type).
const LOGICAL_TYPES: [(&str, &str, &str); 6] = [
    (DATE, "int", "date"),
    (TIME, "int", "time-millis"),
    (TIMESTAMP, "long", "timestamp-millis"),
    ("io.debezium.time.MicroTime", "long", "time-micros"),
    ("io.debezium.time.MicroTimestamp", "long", "timestamp-micros"),
    ("io.debezium.data.Uuid", "string", "uuid"),
];

/// Avro's type names: a record called one of these must always be referred to by its full name.
const AVRO_TYPE_NAMES: [&str; 14] = [
    "record", "enum", "array", "map", "union", "fixed", "string", "bytes", "int", "long", "float", "double",
    "boolean", "null",
];

/// The parts of a Connect schema that the translation reads.
struct ConnectSchema<'a> {
    json: &'a Map<String, J>,
    type_name: &'a str,
    optional: bool,
    name: Option<&'a str>,
    version: Option<&'a J>,
    doc: Option<&'a str>,
    parameters: Option<&'a Map<String, J>>,
    /// A non-null default.
    default: Option<&'a J>,
}

impl<'a> ConnectSchema<'a> {
    fn read(json: &'a J) -> Result<Self, AvroError> {
        let J::Object(map) = json else {
            return Err(AvroError::unsupported("a schema must be a JSON object"));
        };
        let string = |key: &str| match map.get(key) {
            None | Some(J::Null) => Ok(None),
            Some(J::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(AvroError::unsupported(format!("\"{key}\" must be a string"))),
        };
        let type_name =
            string("type")?.ok_or_else(|| AvroError::unsupported("a schema without a \"type\""))?;
        let optional = match map.get("optional") {
            None | Some(J::Null) => false,
            Some(J::Bool(optional)) => *optional,
            Some(_) => return Err(AvroError::unsupported("\"optional\" must be a boolean")),
        };
        let version = match map.get("version") {
            None | Some(J::Null) => None,
            Some(version @ J::Number(n)) if n.is_u64() => Some(version),
            Some(_) => return Err(AvroError::unsupported("\"version\" must be a non-negative integer")),
        };
        let parameters = match map.get("parameters") {
            None | Some(J::Null) => None,
            Some(J::Object(parameters)) if parameters.values().all(J::is_string) => Some(parameters),
            Some(_) => {
                return Err(AvroError::unsupported("\"parameters\" must be an object of strings"));
            }
        };
        Ok(ConnectSchema {
            json: map,
            type_name,
            optional,
            name: string("name")?,
            version,
            doc: string("doc")?,
            parameters,
            default: map.get("default").filter(|d| !d.is_null()),
        })
    }

    fn parameter(&self, key: &str) -> Option<&'a str> {
        self.parameters?.get(key).and_then(J::as_str)
    }

    /// `items`, `keys` or `values`.
    fn child(&self, key: &'static str) -> Result<&'a J, AvroError> {
        self.json
            .get(key)
            .ok_or_else(|| AvroError::unsupported(format!("a {} schema without \"{key}\"", self.type_name)))
    }

    fn fields(&self) -> Result<&'a [J], AvroError> {
        self.json
            .get("fields")
            .and_then(J::as_array)
            .map(Vec::as_slice)
            .ok_or_else(|| AvroError::unsupported("a struct without \"fields\""))
    }

    fn is(&self, logical_name: &str) -> bool {
        self.name.is_some_and(|name| name.eq_ignore_ascii_case(logical_name))
    }
}

/// One translation's state: the records defined so far and the count of unnamed ones.
#[derive(Default)]
pub(super) struct ToAvro {
    /// Records defined so far: full Avro name → the identity of what defined it (a named struct's structure
    /// without its own annotations; everything else's whole schema).
    defined: HashMap<String, String>,
    /// A named struct's Connect annotations where it was defined, by full Avro name.
    annotations: HashMap<String, J>,
    /// Unnamed structs defined so far: their whole Connect schema → their (namespace, name).
    unnamed: HashMap<String, (Option<String>, String)>,
    /// Unnamed structs named so far (`ConnectDefault`, `ConnectDefault2`, …).
    unnamed_count: u32,
    /// Where the translation is inside the type of the field being translated (`items`, `values`).
    path: Vec<&'static str>,
    /// Connect annotations of references, in the field being translated, that differ from the definition's.
    overrides: Map<String, J>,
}

impl ToAvro {
    /// `json` as an Avro schema inside namespace `namespace`, optional or not.
    pub(super) fn convert(&mut self, json: &J, namespace: Option<&str>) -> Result<J, AvroError> {
        let schema = ConnectSchema::read(json)?;
        let base = self.base(&schema, json, namespace)?;
        let null = || J::from("null");
        Ok(match (schema.optional, schema.type_name) {
            (false, _) => base,
            (true, "struct") => J::Array(vec![null(), base]),
            (true, _) if schema.default.is_some() => J::Array(vec![base, null()]),
            (true, _) => J::Array(vec![null(), base]),
        })
    }

    /// The schema without its optionality.
    fn base(&mut self, schema: &ConnectSchema, json: &J, namespace: Option<&str>) -> Result<J, AvroError> {
        let mut out = Map::new();
        let mut connect_type = None;
        let avro_type = match schema.type_name {
            "int8" | "int16" => {
                connect_type = Some(schema.type_name);
                "int"
            }
            "int32" => "int",
            "int64" => "long",
            "float" | "float32" => "float",
            "double" | "float64" => "double",
            "boolean" => "boolean",
            "string" => "string",
            "bytes" => "bytes",
            "array" => "array",
            "map" => return self.map(schema, json, namespace),
            "struct" => return self.record(schema, json, namespace),
            other => return Err(AvroError::unsupported(format!("unknown type {other:?}"))),
        };
        out.insert("type".into(), J::from(avro_type));
        if avro_type == "bytes" && schema.is(DECIMAL) {
            let scale = schema
                .parameter(DECIMAL_SCALE_PARAMETER)
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| AvroError::unsupported("a Decimal without an integer \"scale\" parameter"))?;
            let precision = match schema.parameter(DECIMAL_PRECISION_PARAMETER) {
                Some(p) => p.parse::<u64>().map_err(|_| {
                    AvroError::unsupported(format!("Decimal precision {p:?} is not an integer"))
                })?,
                None => DECIMAL_PRECISION_DEFAULT,
            };
            out.insert("scale".into(), J::from(scale));
            out.insert("precision".into(), J::from(precision));
        }
        if avro_type == "array" {
            self.path.push("items");
            let items = self.convert(schema.child("items")?, namespace).map_err(|e| e.in_field("items"));
            self.path.pop();
            out.insert("items".into(), items?);
        }
        annotate(&mut out, schema, json, connect_type)?;
        Ok(match out.len() {
            1 => J::from(avro_type),
            _ => J::Object(out),
        })
    }

    fn map(&mut self, schema: &ConnectSchema, json: &J, namespace: Option<&str>) -> Result<J, AvroError> {
        let keys_json = schema.child("keys")?;
        let values_json = schema.child("values")?;
        let keys = ConnectSchema::read(keys_json).map_err(|e| e.in_field("keys"))?;
        let mut out = Map::new();
        if keys.type_name == "string" && !keys.optional {
            out.insert("type".into(), J::from("map"));
            self.path.push("values");
            let values = self.convert(values_json, namespace).map_err(|e| e.in_field("values"));
            self.path.pop();
            out.insert("values".into(), values?);
        } else {
            let (entry_namespace, entry_name) = match schema.name {
                Some(name) => avro_full_name(name),
                None => (Some(CONNECT_NAMESPACE.to_owned()), MAP_ENTRY_NAME.to_owned()),
            };
            let entry_namespace = entry_namespace.as_deref();
            // The entry record depends on the key and value schemas only (the map's annotations go on the
            // array).
            let identity = format!("map:{keys_json}:{values_json}");
            let entry = if self.claim(entry_namespace, &entry_name, identity)? {
                J::from(qualified(entry_namespace, &entry_name, namespace))
            } else {
                {
                    let fields = vec![
                        self.field(KEY_FIELD, KEY_FIELD, keys_json, entry_namespace, None)?,
                        self.field(VALUE_FIELD, VALUE_FIELD, values_json, entry_namespace, None)?,
                    ];
                    let mut record = Map::new();
                    record.insert("type".into(), J::from("record"));
                    record.insert("name".into(), J::from(entry_name));
                    write_namespace(&mut record, entry_namespace, namespace);
                    record.insert("fields".into(), J::Array(fields));
                    if schema.name.is_some() {
                        record.insert(CONNECT_INTERNAL_TYPE.into(), J::from(MAP_ENTRY_NAME));
                    }
                    J::Object(record)
                }
            };
            out.insert("type".into(), J::from("array"));
            out.insert("items".into(), entry);
        }
        annotate(&mut out, schema, json, None)?;
        Ok(J::Object(out))
    }

    fn record(&mut self, schema: &ConnectSchema, json: &J, namespace: Option<&str>) -> Result<J, AvroError> {
        if schema.name == Some(UNION_NAME) {
            return Err(AvroError::unsupported(
                "Connect unions (io.confluent.connect.avro.Union) are not translated",
            ));
        }
        let (record_namespace, record_name) = match schema.name {
            Some(name) => {
                let (record_namespace, record_name) = avro_full_name(name);
                let full = full_name(record_namespace.as_deref(), &record_name);
                let annotations = annotations(schema);
                if self.claim(record_namespace.as_deref(), &record_name, structure(json))? {
                    // AvroData reuses the first record of a name; where this use is annotated differently, we
                    // note its annotations beside the reference (the module documentation says where).
                    if self.annotations.get(&full) != Some(&annotations) {
                        self.overrides.insert(self.path.join("."), annotations);
                    }
                    return Ok(J::from(qualified(record_namespace.as_deref(), &record_name, namespace)));
                }
                self.annotations.insert(full, annotations);
                (record_namespace, record_name)
            }
            None => {
                let identity = canonical(json);
                if let Some((record_namespace, name)) = self.unnamed.get(&identity) {
                    return Ok(J::from(qualified(record_namespace.as_deref(), name, namespace)));
                }
                self.unnamed_count += 1;
                let name = match self.unnamed_count {
                    1 => DEFAULT_SCHEMA_NAME.to_owned(),
                    n => format!("{DEFAULT_SCHEMA_NAME}{n}"),
                };
                self.claim(Some(CONNECT_NAMESPACE), &name, identity.clone())?;
                self.unnamed.insert(identity, (Some(CONNECT_NAMESPACE.to_owned()), name.clone()));
                (Some(CONNECT_NAMESPACE.to_owned()), name)
            }
        };
        let record_ns = record_namespace.as_deref();
        let members = schema.fields()?;
        let mut fields = Vec::with_capacity(members.len());
        let mut taken: HashMap<String, &str> = HashMap::with_capacity(members.len());
        for member in members {
            let connect_name = member
                .get("field")
                .and_then(J::as_str)
                .ok_or_else(|| AvroError::unsupported("a struct member without a \"field\" name"))?;
            let name = avro_name(connect_name);
            if let Some(other) = taken.insert(name.clone(), connect_name) {
                return Err(AvroError::unsupported(format!(
                    "fields {other:?} and {connect_name:?} would both be the Avro field {name:?}"
                )));
            }
            let doc = schema.parameter(&format!("{FIELD_DOC_PARAMETER_PREFIX}{connect_name}"));
            let field = self
                .field(&name, connect_name, member, record_ns, doc)
                .map_err(|e| e.in_field(connect_name))?;
            fields.push(field);
        }
        let mut out = Map::new();
        out.insert("type".into(), J::from("record"));
        out.insert("name".into(), J::from(record_name));
        write_namespace(&mut out, record_ns, namespace);
        if let Some(doc) = schema.parameter(RECORD_DOC_PARAMETER) {
            out.insert("doc".into(), J::from(doc));
        }
        out.insert("fields".into(), J::Array(fields));
        annotate(&mut out, schema, json, None)?;
        Ok(J::Object(out))
    }

    /// A record field (AvroData's `addAvroRecordField`).
    fn field(
        &mut self,
        name: &str,
        connect_name: &str,
        json: &J,
        namespace: Option<&str>,
        doc: Option<&str>,
    ) -> Result<J, AvroError> {
        let schema = ConnectSchema::read(json)?;
        let outer_path = std::mem::take(&mut self.path);
        let outer_overrides = std::mem::take(&mut self.overrides);
        let avro_type = self.convert(json, namespace);
        self.path = outer_path;
        let overrides = std::mem::replace(&mut self.overrides, outer_overrides);
        let avro_type = avro_type?;
        let null_first =
            matches!(&avro_type, J::Array(branches) if branches.first() == Some(&J::from("null")));
        let default = match schema.default {
            Some(default) if !null_first => Some(default_to_avro(json, default)?),
            // Avro wants a union's default to match its first branch; AvroData drops such a default too.
            Some(_) => None,
            None if schema.optional => Some(J::Null),
            None => None,
        };
        let mut out = Map::new();
        out.insert("name".into(), J::from(name));
        out.insert("type".into(), avro_type);
        if let Some(doc) = doc {
            out.insert("doc".into(), J::from(doc));
        }
        if let Some(default) = default {
            out.insert("default".into(), default);
        }
        if name != connect_name {
            out.insert(FIELD_NAME_PROPERTY.into(), J::from(connect_name));
        }
        if !overrides.is_empty() {
            out.insert(OVERRIDES_PROPERTY.into(), J::Object(overrides));
        }
        Ok(J::Object(out))
    }

    /// Claims a record name for a definition with this identity: `Ok(true)` when the same definition already
    /// holds it (write a reference), `Ok(false)` when it was free (write the definition).
    fn claim(&mut self, namespace: Option<&str>, name: &str, identity: String) -> Result<bool, AvroError> {
        let full_name = full_name(namespace, name);
        match self.defined.get(&full_name) {
            Some(defined) if *defined == identity => Ok(true),
            Some(_) => Err(AvroError::unsupported(format!(
                "two different schemas would both be the Avro record {full_name:?}"
            ))),
            None => {
                self.defined.insert(full_name, identity);
                Ok(false)
            }
        }
    }
}

/// The properties AvroData adds after the type's own, in its order.
fn annotate(
    out: &mut Map<String, J>,
    schema: &ConnectSchema,
    json: &J,
    connect_type: Option<&str>,
) -> Result<(), AvroError> {
    if let Some(doc) = schema.doc {
        out.insert(CONNECT_DOC.into(), J::from(doc));
    }
    if let Some(version) = schema.version {
        out.insert(CONNECT_VERSION.into(), version.clone());
    }
    if let Some(parameters) = schema.parameters.filter(|p| !p.is_empty()) {
        out.insert(CONNECT_PARAMETERS.into(), J::Object(parameters.clone()));
    }
    if let Some(default) = schema.default {
        out.insert(CONNECT_DEFAULT.into(), default_to_avro(json, default)?);
    }
    if let Some(name) = schema.name {
        out.insert(CONNECT_NAME.into(), J::from(name));
    }
    if let Some(connect_type) = connect_type {
        out.insert(CONNECT_TYPE.into(), J::from(connect_type));
    }
    let avro_type = out.get("type").and_then(J::as_str).unwrap_or_default();
    let logical = if avro_type == "bytes" && schema.is(DECIMAL) {
        Some("decimal")
    } else {
        LOGICAL_TYPES
            .iter()
            .find(|(name, physical, _)| schema.is(name) && *physical == avro_type)
            .map(|(_, _, logical)| *logical)
    };
    if let Some(logical) = logical {
        out.insert(LOGICAL_TYPE.into(), J::from(logical));
    }
    for (key, value) in schema.parameters.into_iter().flatten() {
        if key.starts_with("avro") {
            out.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    Ok(())
}

/// A Connect default (JsonConverter's JSON) as Avro's JSON for defaults (AvroData's
/// `defaultValueFromConnect`): bytes become ISO-8859-1 text instead of base64, struct members take their Avro
/// names.
fn default_to_avro(json: &J, value: &J) -> Result<J, AvroError> {
    if value.is_null() {
        return Ok(J::Null);
    }
    let schema = ConnectSchema::read(json)?;
    let invalid =
        || AvroError::unsupported(format!("the default {value} does not fit the {} type", schema.type_name));
    Ok(match schema.type_name {
        "bytes" => {
            let bytes = value.as_str().and_then(|text| STANDARD.decode(text).ok()).ok_or_else(invalid)?;
            J::String(bytes.into_iter().map(char::from).collect())
        }
        "array" => {
            let items = schema.child("items")?;
            let values = value.as_array().ok_or_else(invalid)?;
            J::Array(values.iter().map(|v| default_to_avro(items, v)).collect::<Result<_, _>>()?)
        }
        "map" => {
            let keys = schema.child("keys")?;
            let values = schema.child("values")?;
            match value {
                J::Object(entries) => J::Object(
                    entries
                        .iter()
                        .map(|(k, v)| Ok((k.clone(), default_to_avro(values, v)?)))
                        .collect::<Result<_, AvroError>>()?,
                ),
                // JsonConverter's form of a map with non-string keys: `[[key, value], …]`.
                J::Array(entries) => J::Array(
                    entries
                        .iter()
                        .map(|entry| match entry.as_array().map(Vec::as_slice) {
                            Some([k, v]) => {
                                Ok(J::Array(vec![default_to_avro(keys, k)?, default_to_avro(values, v)?]))
                            }
                            _ => Err(invalid()),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                _ => return Err(invalid()),
            }
        }
        "struct" => {
            let object = value.as_object().ok_or_else(invalid)?;
            let mut out = Map::new();
            for member in schema.fields()? {
                let name = member.get("field").and_then(J::as_str).unwrap_or_default();
                let member_default = default_to_avro(member, object.get(name).unwrap_or(&J::Null))?;
                out.insert(avro_name(name), member_default);
            }
            J::Object(out)
        }
        _ => value.clone(),
    })
}

/// The identity of an unnamed struct for reuse (AvroData's `schemaMap`): its JSON without the member name and
/// optionality.
fn canonical(json: &J) -> String {
    let mut json = json.clone();
    if let J::Object(map) = &mut json {
        map.shift_remove("field");
        map.insert("optional".into(), J::Bool(false));
    }
    format!("struct:{json}")
}

/// The identity of a named struct: what decides its Avro record, so not its own annotations (those of its
/// members are part of it).
fn structure(json: &J) -> String {
    let mut json = json.clone();
    if let J::Object(map) = &mut json {
        for key in ["field", "optional", "version", "doc", "parameters", "default"] {
            map.shift_remove(key);
        }
    }
    format!("struct:{json}")
}

/// A struct's own Connect annotations, as noted in [`OVERRIDES_PROPERTY`] (the default in Connect's JSON).
fn annotations(schema: &ConnectSchema) -> J {
    let mut out = Map::new();
    out.insert("version".into(), schema.version.cloned().unwrap_or(J::Null));
    out.insert("doc".into(), schema.doc.map_or(J::Null, J::from));
    out.insert("parameters".into(), schema.parameters.cloned().map_or(J::Null, J::Object));
    out.insert("default".into(), schema.default.cloned().unwrap_or(J::Null));
    J::Object(out)
}

/// An Avro name segment: characters outside `[A-Za-z0-9_]` become `_`, and a leading digit (or nothing at
/// all) gets a `_` in front.
pub(super) fn avro_name(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len() + 1);
    if segment.is_empty() || segment.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    out.extend(segment.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }));
    out
}

/// A Connect name as an Avro (namespace, name), split at the last dot, each segment adjusted.
pub(super) fn avro_full_name(connect_name: &str) -> (Option<String>, String) {
    match connect_name.rsplit_once('.') {
        Some((namespace, name)) => {
            let namespace: Vec<String> = namespace.split('.').map(avro_name).collect();
            (Some(namespace.join(".")), avro_name(name))
        }
        None => (None, avro_name(connect_name)),
    }
}

/// How Java's `Schema.toString()` refers to a defined type: the short name inside its own namespace.
fn qualified(namespace: Option<&str>, name: &str, enclosing: Option<&str>) -> String {
    if namespace.is_some() && namespace == enclosing && !AVRO_TYPE_NAMES.contains(&name) {
        name.to_owned()
    } else {
        full_name(namespace, name)
    }
}

/// Java writes `namespace` only when it differs from the enclosing one, and `""` to leave a namespace.
fn write_namespace(out: &mut Map<String, J>, namespace: Option<&str>, enclosing: Option<&str>) {
    if namespace != enclosing {
        out.insert("namespace".into(), J::from(namespace.unwrap_or_default()));
    }
}
