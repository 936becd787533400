//! Connect schemas ⇄ Avro schemas, translated as Confluent's `AvroData` (`fromConnectSchema` /
//! `toConnectSchema`) does, so that the text we register is the text Debezium with `AvroConverter` registers.
//!
//! ```text
//!  Connect schema ──from_connect──▶ Avro schema JSON ──Plan::parse──▶ AvroSchema { text, schema, plan }
//!  registry text ──serde_json──▶ Avro schema JSON ──Plan::parse──▶ Plan ──to_connect──▶ Connect schema
//! ```
//!
//! The `Plan` is the compiled form both directions share: every name resolved, each record defined once and
//! referred to by index, the `connect.*` annotations kept per node. `datum.rs` encodes and decodes over it.
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
//!
//! ## Avro → Connect (`AvroData.toConnectSchema`)
//! `connect.*` properties first, Avro's own types otherwise: an optional union back to an optional schema,
//! `connect.type` back to `int8`/`int16`, the four Connect logical types back to their names, a `MapEntry`
//! array back to a map, any other union to AvroData's `io.confluent.connect.avro.Union` struct, an enum to a
//! string with AvroData's `io.confluent.connect.avro.Enum` parameters. Unlike Java we do not add the
//! `io.confluent.connect.avro.field.default` parameter to fields whose default came from Avro (Java adds it
//! to every optional field), so `to_connect(from_connect(x)) == x` for every schema cdc-core emits, in the
//! key order `JsonConverter.asJsonSchema` writes.

use std::collections::{HashMap, HashSet};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value as J};

use crate::error::AvroError;

/// The namespace of the names AvroData makes up (`ConnectDefault`, `MapEntry`, `Union`).
const CONNECT_NAMESPACE: &str = "io.confluent.connect.avro";
/// The name of unnamed structs, numbered from the second on.
const DEFAULT_SCHEMA_NAME: &str = "ConnectDefault";
const DEFAULT_SCHEMA_FULL_NAME: &str = "io.confluent.connect.avro.ConnectDefault";
const MAP_ENTRY_NAME: &str = "MapEntry";
/// AvroData's Connect struct for an Avro union of several non-null types.
const UNION_NAME: &str = "io.confluent.connect.avro.Union";
const KEY_FIELD: &str = "key";
const VALUE_FIELD: &str = "value";

const CONNECT_NAME: &str = "connect.name";
const CONNECT_DOC: &str = "connect.doc";
const CONNECT_VERSION: &str = "connect.version";
const CONNECT_PARAMETERS: &str = "connect.parameters";
const CONNECT_DEFAULT: &str = "connect.default";
const CONNECT_TYPE: &str = "connect.type";
const CONNECT_INTERNAL_TYPE: &str = "connect.internal.type";
const LOGICAL_TYPE: &str = "logicalType";
/// Parameters AvroData keeps Avro docs in (with `discard.type.doc.default=false`, its default).
const RECORD_DOC_PARAMETER: &str = "io.confluent.connect.avro.record.doc";
const FIELD_DOC_PARAMETER_PREFIX: &str = "io.confluent.connect.avro.field.doc.";
const ENUM_PARAMETER: &str = "io.confluent.connect.avro.Enum";
const FIXED_SIZE_PARAMETER: &str = "connect.fixed.size";
const DECIMAL_SCALE_PARAMETER: &str = "scale";
const DECIMAL_PRECISION_PARAMETER: &str = "connect.decimal.precision";
/// AvroData's precision for a Decimal that declares none (`CONNECT_AVRO_DECIMAL_PRECISION_DEFAULT`).
const DECIMAL_PRECISION_DEFAULT: u64 = 64;
/// Ours: the Connect name of a field whose Avro name had to be adjusted.
const FIELD_NAME_PROPERTY: &str = "cdc.field.name";
/// Ours: on a field, the Connect annotations (`version`, `doc`, `parameters`, `default`) of named structs in
/// its type that are references to a record defined with other annotations, by path in the type (`""` for the
/// type itself, `items`, `values`, `items.items`, …).
const OVERRIDES_PROPERTY: &str = "cdc.connect.overrides";

const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
const DATE: &str = "org.apache.kafka.connect.data.Date";
const TIME: &str = "org.apache.kafka.connect.data.Time";
const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";

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

/// A Connect schema translated to Avro: what to register, and what to encode with.
#[derive(Debug, Clone)]
pub struct AvroSchema {
    /// The schema as Java's `Schema.toString()` writes it (compact JSON, AvroData's property order): the text
    /// to register.
    pub text: String,
    /// apache-avro's reading of `text`, for compatibility checks and anything else that wants a typed schema.
    pub schema: apache_avro::Schema,
    pub(crate) plan: Plan,
}

impl AvroSchema {
    /// The full name of the top-level type (`cdc.public.customers.Envelope`, with names adjusted for Avro),
    /// or the type's name for an unnamed type: the name Confluent's `RecordNameStrategy` uses.
    pub fn full_name(&self) -> String {
        self.plan.type_name(&self.plan.root).to_owned()
    }

    /// Refuses a Connect schema other than the one this was translated from, when both are named.
    pub(crate) fn check_source(&self, connect: &J) -> Result<(), AvroError> {
        let ours = self.plan.meta_of(&self.plan.root).name.as_deref();
        let theirs = connect.get("name").and_then(J::as_str);
        match (ours, theirs) {
            (Some(ours), Some(theirs)) if ours != theirs => {
                Err(AvroError::SchemaMismatch { expected: ours.to_owned(), found: theirs.to_owned() })
            }
            _ => Ok(()),
        }
    }
}

/// Translates a Connect schema (as `JsonConverter` writes it, the `schema` of the json-schema envelope) to
/// Avro.
pub fn from_connect(connect: &J) -> Result<AvroSchema, AvroError> {
    let json = ToAvro::default().convert(connect, None)?;
    let schema = apache_avro::Schema::parse(&json)
        .map_err(|source| AvroError::Rejected { source: Box::new(source) })?;
    let plan = Plan::parse(&json)?;
    Ok(AvroSchema { text: json.to_string(), schema, plan })
}

/// Rebuilds the Connect schema of an Avro schema (a registry's text, parsed), from its `connect.*` properties
/// where it has them (ours and Debezium's do) and from its Avro types otherwise.
pub fn to_connect(avro: &J) -> Result<J, AvroError> {
    Plan::parse(avro)?.to_connect()
}

// ---------------------------------------------------------------------------------------------------------
// Connect → Avro

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
struct ToAvro {
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
    fn convert(&mut self, json: &J, namespace: Option<&str>) -> Result<J, AvroError> {
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
fn avro_name(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len() + 1);
    if segment.is_empty() || segment.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    out.extend(segment.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }));
    out
}

/// A Connect name as an Avro (namespace, name), split at the last dot, each segment adjusted.
fn avro_full_name(connect_name: &str) -> (Option<String>, String) {
    match connect_name.rsplit_once('.') {
        Some((namespace, name)) => {
            let namespace: Vec<String> = namespace.split('.').map(avro_name).collect();
            (Some(namespace.join(".")), avro_name(name))
        }
        None => (None, avro_name(connect_name)),
    }
}

fn full_name(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(namespace) => format!("{namespace}.{name}"),
        None => name.to_owned(),
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

// ---------------------------------------------------------------------------------------------------------
// The compiled form

/// An Avro schema compiled for the datum codec and for the way back to Connect.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) root: Node,
    pub(crate) records: Vec<Record>,
}

/// One type of the schema and its Connect annotations (a record's are on the [`Record`]).
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    pub(crate) meta: Meta,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed {
        full_name: String,
        size: usize,
    },
    Enum {
        full_name: String,
        symbols: Vec<String>,
    },
    Array(Box<Node>),
    Map(Box<Node>),
    Union(Vec<Node>),
    /// An index into [`Plan::records`].
    Record(usize),
}

/// The properties of an Avro type that carry the Connect schema.
#[derive(Debug, Clone, Default)]
pub(crate) struct Meta {
    pub(crate) name: Option<String>,
    pub(crate) version: Option<J>,
    pub(crate) doc: Option<String>,
    pub(crate) parameters: Option<Map<String, J>>,
    /// `connect.default`, in Avro's JSON for defaults.
    pub(crate) default: Option<J>,
    /// `int8` or `int16`.
    pub(crate) connect_type: Option<String>,
    pub(crate) logical_type: Option<String>,
    pub(crate) precision: Option<u64>,
    pub(crate) scale: Option<i64>,
    pub(crate) internal_type: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) full_name: String,
    pub(crate) doc: Option<String>,
    pub(crate) fields: Vec<Field>,
    pub(crate) meta: Meta,
    /// AvroData's `{key, value}` entry of a map with non-string keys.
    pub(crate) map_entry: bool,
    /// Whether a datum of this record can take no bytes at all (only nulls and empty records inside).
    pub(crate) zero_width: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Field {
    /// The Avro name.
    pub(crate) name: String,
    /// The Connect name: the payload's key.
    pub(crate) connect_name: String,
    pub(crate) doc: Option<String>,
    pub(crate) node: Node,
    /// The Avro field default, as written.
    pub(crate) default: Option<J>,
    /// The encoded datum of the field's Connect default, written when the payload has null or nothing here
    /// (Connect's `Struct.get` returns the default for a null, and AvroData writes what it returns).
    pub(crate) fallback: Option<Vec<u8>>,
    /// [`OVERRIDES_PROPERTY`]: Connect annotations of references in the type, by path.
    pub(crate) overrides: Option<Map<String, J>>,
}

impl Node {
    fn plain(kind: Kind) -> Self {
        Node { kind, meta: Meta::default() }
    }
}

impl Meta {
    fn read(map: &Map<String, J>) -> Self {
        let string = |key: &str| map.get(key).and_then(J::as_str).map(str::to_owned);
        Meta {
            name: string(CONNECT_NAME),
            version: map.get(CONNECT_VERSION).filter(|v| v.is_u64()).cloned(),
            doc: string(CONNECT_DOC),
            parameters: map.get(CONNECT_PARAMETERS).and_then(J::as_object).cloned(),
            default: map.get(CONNECT_DEFAULT).filter(|d| !d.is_null()).cloned(),
            connect_type: string(CONNECT_TYPE),
            logical_type: string(LOGICAL_TYPE),
            precision: map.get("precision").and_then(J::as_u64),
            scale: map.get("scale").and_then(J::as_i64),
            internal_type: string(CONNECT_INTERNAL_TYPE),
        }
    }
}

impl Plan {
    /// Compiles an Avro schema: resolves names (relative to the enclosing namespace, then bare), checks the
    /// shape, and precomputes what the codec needs.
    pub(crate) fn parse(avro: &J) -> Result<Plan, AvroError> {
        let mut parser = Parser { records: Vec::new(), names: HashMap::new() };
        let root = parser.node(avro, None)?;
        let mut plan = Plan { root, records: parser.records };
        plan.mark_zero_width();
        let fallbacks: Vec<Vec<Option<Vec<u8>>>> = plan
            .records
            .iter()
            .map(|record| record.fields.iter().map(|field| plan.fallback(field)).collect())
            .collect();
        for (record, fallbacks) in plan.records.iter_mut().zip(fallbacks) {
            for (field, fallback) in record.fields.iter_mut().zip(fallbacks) {
                field.fallback = fallback;
            }
        }
        Ok(plan)
    }

    pub(crate) fn record(&self, index: usize) -> Result<&Record, AvroError> {
        self.records.get(index).ok_or_else(|| AvroError::schema("a record index out of range"))
    }

    /// A node's Connect annotations: its own, or its record's.
    pub(crate) fn meta_of<'a>(&'a self, node: &'a Node) -> &'a Meta {
        match node.kind {
            Kind::Record(index) => self.records.get(index).map_or(&node.meta, |record| &record.meta),
            _ => &node.meta,
        }
    }

    /// The key and value fields when `items` is AvroData's map entry.
    pub(crate) fn map_entry<'a>(&'a self, items: &Node) -> Option<(&'a Field, &'a Field)> {
        let Kind::Record(index) = items.kind else {
            return None;
        };
        let record = self.records.get(index).filter(|record| record.map_entry)?;
        match record.fields.as_slice() {
            [key, value] => Some((key, value)),
            _ => None,
        }
    }

    /// The fewest bytes a datum of `node` takes: 0 or at least 1 (all the block reader needs to know).
    pub(crate) fn min_len(&self, node: &Node) -> usize {
        match &node.kind {
            Kind::Null => 0,
            Kind::Fixed { size, .. } => *size,
            Kind::Record(index) => {
                self.records.get(*index).map_or(0, |record| usize::from(!record.zero_width))
            }
            Kind::Float => 4,
            Kind::Double => 8,
            _ => 1,
        }
    }

    /// The name AvroData gives a union member: a named type's short name, otherwise the Avro type's name.
    pub(crate) fn member_name<'a>(&'a self, node: &'a Node) -> &'a str {
        let name = self.type_name(node);
        name.rsplit('.').next().unwrap_or(name)
    }

    /// A type's full name (records, enums, fixed) or its Avro type name.
    fn type_name<'a>(&'a self, node: &'a Node) -> &'a str {
        match &node.kind {
            Kind::Null => "null",
            Kind::Boolean => "boolean",
            Kind::Int => "int",
            Kind::Long => "long",
            Kind::Float => "float",
            Kind::Double => "double",
            Kind::Bytes => "bytes",
            Kind::String => "string",
            Kind::Fixed { full_name, .. } | Kind::Enum { full_name, .. } => full_name,
            Kind::Array(_) => "array",
            Kind::Map(_) => "map",
            Kind::Union(_) => "union",
            Kind::Record(index) => self.records.get(*index).map_or("record", |record| &record.full_name),
        }
    }

    /// Marks the records whose datums can be empty, to a fixed point (records may refer to each other).
    fn mark_zero_width(&mut self) {
        self.records.iter_mut().for_each(|record| record.zero_width = true);
        loop {
            let mut changed = false;
            for index in 0..self.records.len() {
                let zero_width = self
                    .records
                    .get(index)
                    .is_some_and(|record| record.fields.iter().all(|field| self.min_len(&field.node) == 0));
                if let Some(record) = self.records.get_mut(index) {
                    if record.zero_width != zero_width {
                        record.zero_width = zero_width;
                        changed = true;
                    }
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// The encoded Connect default of a field: the Avro field default, else the type's `connect.default`
    /// (inside an optional union, the non-null branch's; an optional struct's default is not a field
    /// default). A default that does not encode is ignored, as AvroData ignores invalid defaults.
    fn fallback(&self, field: &Field) -> Option<Vec<u8>> {
        let inner = match &field.node.kind {
            Kind::Union(branches) => match branches.as_slice() {
                [a, b] if matches!(a.kind, Kind::Null) => b,
                [a, b] if matches!(b.kind, Kind::Null) => a,
                _ => &field.node,
            },
            _ => &field.node,
        };
        let default =
            field.default.as_ref().filter(|d| !d.is_null()).or(self.meta_of(inner).default.as_ref())?;
        crate::datum::encode_avro_json(self, &field.node, default).ok()
    }
}

/// Where [`Plan::to_connect`] is inside a field's type, for the field's [`OVERRIDES_PROPERTY`].
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

/// Reads Avro schema JSON into records and nodes.
struct Parser {
    records: Vec<Record>,
    /// Full name → the named type (records by index).
    names: HashMap<String, Node>,
}

impl Parser {
    fn node(&mut self, json: &J, namespace: Option<&str>) -> Result<Node, AvroError> {
        match json {
            J::String(name) => self.named(name, namespace),
            J::Array(branches) => {
                let branches = branches
                    .iter()
                    .enumerate()
                    .map(|(i, branch)| self.node(branch, namespace).map_err(|e| e.in_index(i)))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Node::plain(Kind::Union(branches)))
            }
            J::Object(map) => self.complex(map, namespace),
            other => Err(AvroError::schema(format!("{other} is not a schema"))),
        }
    }

    /// A primitive type's name, or a reference to a type defined earlier.
    fn named(&self, name: &str, namespace: Option<&str>) -> Result<Node, AvroError> {
        if let Some(kind) = primitive(name) {
            return Ok(Node::plain(kind));
        }
        let relative = match namespace {
            Some(namespace) if !name.contains('.') => self.names.get(&format!("{namespace}.{name}")),
            _ => None,
        };
        relative
            .or_else(|| self.names.get(name))
            .cloned()
            .ok_or_else(|| AvroError::schema(format!("unknown type {name:?}")))
    }

    fn complex(&mut self, map: &Map<String, J>, namespace: Option<&str>) -> Result<Node, AvroError> {
        let meta = Meta::read(map);
        let kind = match map.get("type") {
            Some(J::String(type_name)) => match type_name.as_str() {
                "record" | "error" => return self.record(map, namespace, meta),
                "enum" => {
                    let (full_name, _) = self.declared_name(map, namespace)?;
                    let symbols = map
                        .get("symbols")
                        .and_then(J::as_array)
                        .and_then(|symbols| symbols.iter().map(|s| s.as_str().map(str::to_owned)).collect())
                        .ok_or_else(|| AvroError::schema("an enum without a list of \"symbols\""))?;
                    let node = Node { kind: Kind::Enum { full_name: full_name.clone(), symbols }, meta };
                    self.define(full_name, node.clone())?;
                    return Ok(node);
                }
                "fixed" => {
                    let (full_name, _) = self.declared_name(map, namespace)?;
                    let size = map
                        .get("size")
                        .and_then(J::as_u64)
                        .and_then(|size| usize::try_from(size).ok())
                        .ok_or_else(|| AvroError::schema("a fixed without a \"size\""))?;
                    let node = Node { kind: Kind::Fixed { full_name: full_name.clone(), size }, meta };
                    self.define(full_name, node.clone())?;
                    return Ok(node);
                }
                "array" => {
                    let items =
                        map.get("items").ok_or_else(|| AvroError::schema("an array without \"items\""))?;
                    Kind::Array(Box::new(self.node(items, namespace).map_err(|e| e.in_field("items"))?))
                }
                "map" => {
                    let values =
                        map.get("values").ok_or_else(|| AvroError::schema("a map without \"values\""))?;
                    Kind::Map(Box::new(self.node(values, namespace).map_err(|e| e.in_field("values"))?))
                }
                other => match primitive(other) {
                    Some(kind) => kind,
                    None => return self.named(other, namespace),
                },
            },
            Some(nested @ (J::Object(_) | J::Array(_))) => return self.node(nested, namespace),
            _ => return Err(AvroError::schema("an object without a \"type\"")),
        };
        Ok(Node { kind, meta })
    }

    fn record(
        &mut self,
        map: &Map<String, J>,
        namespace: Option<&str>,
        meta: Meta,
    ) -> Result<Node, AvroError> {
        let (full_name, record_namespace) = self.declared_name(map, namespace)?;
        let index = self.records.len();
        self.records.push(Record {
            full_name: full_name.clone(),
            doc: map.get("doc").and_then(J::as_str).map(str::to_owned),
            fields: Vec::new(),
            meta,
            map_entry: false,
            zero_width: false,
        });
        self.define(full_name.clone(), Node::plain(Kind::Record(index)))?;
        let members = map
            .get("fields")
            .and_then(J::as_array)
            .ok_or_else(|| AvroError::schema(format!("the record {full_name:?} has no \"fields\" list")))?;
        let mut fields = Vec::with_capacity(members.len());
        for member in members {
            let name = member
                .get("name")
                .and_then(J::as_str)
                .ok_or_else(|| AvroError::schema(format!("a field of {full_name:?} has no \"name\"")))?;
            let type_json =
                member.get("type").ok_or_else(|| AvroError::schema("a field without a \"type\""))?;
            let node = self.node(type_json, record_namespace.as_deref()).map_err(|e| e.in_field(name))?;
            fields.push(Field {
                name: name.to_owned(),
                connect_name: member.get(FIELD_NAME_PROPERTY).and_then(J::as_str).unwrap_or(name).to_owned(),
                doc: member.get("doc").and_then(J::as_str).map(str::to_owned),
                node,
                default: member.get("default").cloned(),
                fallback: None,
                overrides: member.get(OVERRIDES_PROPERTY).and_then(J::as_object).cloned(),
            });
        }
        let entry_named = full_name == format!("{CONNECT_NAMESPACE}.{MAP_ENTRY_NAME}");
        if let Some(record) = self.records.get_mut(index) {
            record.map_entry = (entry_named || record.meta.internal_type.as_deref() == Some(MAP_ENTRY_NAME))
                && matches!(fields.as_slice(), [k, v] if k.name == KEY_FIELD && v.name == VALUE_FIELD);
            record.fields = fields;
        }
        Ok(Node::plain(Kind::Record(index)))
    }

    /// A named type's full name and namespace: from a dotted name, else `namespace` (`""` for none), else the
    /// enclosing namespace.
    fn declared_name(
        &self,
        map: &Map<String, J>,
        enclosing: Option<&str>,
    ) -> Result<(String, Option<String>), AvroError> {
        let name = map
            .get("name")
            .and_then(J::as_str)
            .ok_or_else(|| AvroError::schema("a named type without a \"name\""))?;
        let namespace = match name.rsplit_once('.') {
            Some((namespace, _)) => Some(namespace.to_owned()),
            None => match map.get("namespace") {
                Some(J::String(namespace)) if namespace.is_empty() => None,
                Some(J::String(namespace)) => Some(namespace.clone()),
                _ => enclosing.map(str::to_owned),
            },
        };
        let short = name.rsplit('.').next().unwrap_or(name);
        Ok((full_name(namespace.as_deref(), short), namespace))
    }

    fn define(&mut self, full_name: String, node: Node) -> Result<(), AvroError> {
        if self.names.contains_key(&full_name) {
            return Err(AvroError::schema(format!("the name {full_name:?} is defined twice")));
        }
        self.names.insert(full_name, node);
        Ok(())
    }
}

fn primitive(name: &str) -> Option<Kind> {
    Some(match name {
        "null" => Kind::Null,
        "boolean" => Kind::Boolean,
        "int" => Kind::Int,
        "long" => Kind::Long,
        "float" => Kind::Float,
        "double" => Kind::Double,
        "bytes" => Kind::Bytes,
        "string" => Kind::String,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------------------
// Avro → Connect

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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Compares serialized text, so key order counts.
    fn assert_json(actual: &J, expected: &J) {
        assert_eq!(actual.to_string(), expected.to_string());
    }

    fn avro_json(connect: &J) -> J {
        let avro = from_connect(connect).expect("translatable");
        serde_json::from_str(&avro.text).expect("JSON text")
    }

    fn field(name: &str, schema: J) -> J {
        let mut schema = schema;
        schema["field"] = J::from(name);
        schema
    }

    #[test]
    fn names_are_adjusted_per_segment_and_kept_verbatim_in_connect_name() {
        assert_eq!(
            avro_full_name("cdc.My Schema.2024 sales.Value"),
            (Some("cdc.My_Schema._2024_sales".to_owned()), "Value".to_owned())
        );
        assert_eq!(avro_name("ünits"), "_nits");
        assert_eq!(avro_name(""), "_");
        let connect = json!({
            "type": "struct", "optional": false, "name": "cdc.My Schema.2024 sales.Key",
            "fields": [field("order id", json!({ "type": "int32", "optional": false }))]
        });
        let avro = from_connect(&connect).expect("translatable");
        let expected = concat!(
            r#"{"type":"record","name":"Key","namespace":"cdc.My_Schema._2024_sales","#,
            r#""fields":[{"name":"order_id","type":"int","cdc.field.name":"order id"}],"#,
            r#""connect.name":"cdc.My Schema.2024 sales.Key"}"#
        );
        assert_eq!(avro.text, expected);
        assert_eq!(avro.full_name(), "cdc.My_Schema._2024_sales.Key");
        assert_eq!(to_connect(&serde_json::from_str(&avro.text).expect("JSON")).expect("back"), connect);
    }

    #[test]
    fn fields_that_would_share_an_avro_name_are_refused() {
        let connect = json!({
            "type": "struct", "optional": false, "name": "t.Value",
            "fields": [
                field("a b", json!({ "type": "int32", "optional": false })),
                field("a_b", json!({ "type": "int32", "optional": false }))
            ]
        });
        let error = from_connect(&connect).expect_err("collision");
        assert!(error.to_string().contains("\"a b\" and \"a_b\""), "{error}");
    }

    #[test]
    fn unnamed_structs_are_connect_defaults_numbered_in_order_and_reused_by_reference() {
        let inner = json!({ "type": "struct", "optional": false,
                            "fields": [field("x", json!({ "type": "int64", "optional": false }))] });
        let other = json!({ "type": "struct", "optional": true,
                            "fields": [field("y", json!({ "type": "string", "optional": false }))] });
        let connect = json!({
            "type": "struct", "optional": false,
            "fields": [
                field("a", json!({ "type": "array", "items": inner, "optional": false })),
                field("b", other),
                field("c", inner)
            ]
        });
        let avro = avro_json(&connect);
        assert_eq!(avro["name"], "ConnectDefault");
        assert_eq!(avro["namespace"], "io.confluent.connect.avro");
        assert_eq!(avro["fields"][0]["type"]["items"]["name"], "ConnectDefault2");
        assert!(
            avro["fields"][0]["type"]["items"].get("namespace").is_none(),
            "same namespace as the parent"
        );
        assert_json(&avro["fields"][1]["type"][1]["name"], &json!("ConnectDefault3"));
        // The second use of an identical struct is a reference, short inside its own namespace.
        assert_json(&avro["fields"][2]["type"], &json!("ConnectDefault2"));
        // Unnamed structs come back unnamed.
        assert_eq!(to_connect(&avro).expect("back"), connect);
    }

    #[test]
    fn two_different_structs_under_one_name_are_refused() {
        let a = json!({ "type": "struct", "optional": false, "name": "x.Same",
                        "fields": [field("a", json!({ "type": "int32", "optional": false }))] });
        let b = json!({ "type": "struct", "optional": false, "name": "x.Same",
                        "fields": [field("b", json!({ "type": "int32", "optional": false }))] });
        let connect = json!({ "type": "struct", "optional": false, "name": "x.Outer",
                              "fields": [field("a", a), field("b", b)] });
        let error = from_connect(&connect).expect_err("conflict");
        assert!(error.to_string().contains("x.Same"), "{error}");
    }

    #[test]
    fn optional_fields_with_a_default_put_null_second_and_optional_structs_drop_theirs() {
        let connect = json!({
            "type": "struct", "optional": false, "name": "x.R",
            "fields": [
                field("s", json!({ "type": "string", "optional": true, "default": "false" })),
                field("n", json!({ "type": "int64", "optional": false, "default": 7 })),
                field("b", json!({ "type": "bytes", "optional": true, "default": "AP8=" })),
                field("r", json!({ "type": "struct", "optional": true, "name": "x.Inner",
                                   "fields": [field("i", json!({ "type": "int32", "optional": false }))],
                                   "default": { "i": 1 } }))
            ]
        });
        let avro = avro_json(&connect);
        assert_json(
            &avro["fields"][0],
            &json!({ "name": "s", "type": [{ "type": "string", "connect.default": "false" }, "null"],
                     "default": "false" }),
        );
        assert_json(
            &avro["fields"][1],
            &json!({ "name": "n", "type": { "type": "long", "connect.default": 7 }, "default": 7 }),
        );
        // Bytes defaults are ISO-8859-1 text in Avro.
        assert_json(&avro["fields"][2]["default"], &json!("\u{0}\u{ff}"));
        assert_eq!(avro["fields"][3]["type"][0], "null");
        assert!(avro["fields"][3].get("default").is_none());
        assert_eq!(to_connect(&avro).expect("back"), connect);
    }

    #[test]
    fn maps_with_string_keys_are_avro_maps_and_others_arrays_of_map_entries() {
        let hstore = json!({ "type": "map", "keys": { "type": "string", "optional": false },
                             "values": { "type": "string", "optional": true }, "optional": true });
        let by_int = json!({ "type": "map", "keys": { "type": "int32", "optional": false },
                             "values": { "type": "string", "optional": false }, "optional": false });
        let named = json!({ "type": "map", "keys": { "type": "int64", "optional": false },
                            "values": { "type": "int64", "optional": false }, "optional": false,
                            "name": "x.Counts" });
        let connect = json!({ "type": "struct", "optional": false, "name": "x.R",
                              "fields": [field("h", hstore), field("m", by_int), field("c", named)] });
        let avro = avro_json(&connect);
        assert_json(
            &avro["fields"][0]["type"],
            &json!(["null", { "type": "map", "values": ["null", "string"] }]),
        );
        assert_json(
            &avro["fields"][1]["type"],
            &json!({ "type": "array", "items": { "type": "record", "name": "MapEntry",
                     "namespace": "io.confluent.connect.avro",
                     "fields": [{ "name": "key", "type": "int" }, { "name": "value", "type": "string" }] } }),
        );
        assert_json(
            &avro["fields"][2]["type"],
            &json!({ "type": "array", "items": { "type": "record", "name": "Counts",
                     "fields": [{ "name": "key", "type": "long" }, { "name": "value", "type": "long" }],
                     "connect.internal.type": "MapEntry" }, "connect.name": "x.Counts" }),
        );
        assert_eq!(to_connect(&avro).expect("back"), connect);
    }

    #[test]
    fn logical_types_annotate_without_changing_the_physical_type() {
        fn logical(type_name: &str, name: &str) -> J {
            json!({ "type": type_name, "optional": false, "name": name, "version": 1 })
        }
        let connect = json!({
            "type": "struct", "optional": false, "name": "x.R",
            "fields": [
                field("dec", json!({ "type": "bytes", "optional": false, "name": DECIMAL, "version": 1,
                                     "parameters": { "scale": "2", "connect.decimal.precision": "10" } })),
                field("money", json!({ "type": "bytes", "optional": false, "name": DECIMAL, "version": 1,
                                       "parameters": { "scale": "2" } })),
                field("d", logical("int32", DATE)),
                field("t", logical("int32", TIME)),
                field("ts", logical("int64", TIMESTAMP)),
                field("dd", logical("int32", "io.debezium.time.Date")),
                field("dt", logical("int32", "io.debezium.time.Time")),
                field("dts", logical("int64", "io.debezium.time.Timestamp")),
                field("mt", logical("int64", "io.debezium.time.MicroTime")),
                field("mts", logical("int64", "io.debezium.time.MicroTimestamp")),
                field("u", logical("string", "io.debezium.data.Uuid")),
                field("small", json!({ "type": "int16", "optional": false }))
            ]
        });
        let avro = from_connect(&connect).expect("translatable");
        let json: J = serde_json::from_str(&avro.text).expect("JSON");
        assert_json(
            &json["fields"][0]["type"],
            &json!({ "type": "bytes", "scale": 2, "precision": 10, "connect.version": 1,
                     "connect.parameters": { "scale": "2", "connect.decimal.precision": "10" },
                     "connect.name": DECIMAL, "logicalType": "decimal" }),
        );
        assert_eq!(json["fields"][1]["type"]["precision"], 64);
        assert_json(
            &json["fields"][2]["type"],
            &json!({ "type": "int", "connect.version": 1, "connect.name": DATE, "logicalType": "date" }),
        );
        let logical_of = |i: usize| json["fields"][i]["type"].get("logicalType").cloned();
        assert_eq!(logical_of(3), Some(json!("time-millis")));
        assert_eq!(logical_of(4), Some(json!("timestamp-millis")));
        // Java's toConnectSchema would refuse Debezium's names under these (see the module documentation).
        assert_eq!(logical_of(5), None);
        assert_eq!(logical_of(6), None);
        assert_eq!(logical_of(7), None);
        assert_eq!(logical_of(8), Some(json!("time-micros")));
        assert_eq!(logical_of(9), Some(json!("timestamp-micros")));
        assert_eq!(logical_of(10), Some(json!("uuid")));
        assert_json(&json["fields"][11]["type"], &json!({ "type": "int", "connect.type": "int16" }));

        // apache-avro reads the annotations as logical types.
        let apache_avro::Schema::Record(record) = &avro.schema else {
            panic!("a record: {:?}", avro.schema);
        };
        let kind = |i: usize| apache_avro::schema::SchemaKind::from(&record.fields[i].schema);
        use apache_avro::schema::SchemaKind as K;
        assert_eq!(
            (0..12).map(kind).collect::<Vec<_>>(),
            vec![
                K::Decimal,
                K::Decimal,
                K::Date,
                K::TimeMillis,
                K::TimestampMillis,
                K::Int,
                K::Int,
                K::Long,
                K::TimeMicros,
                K::TimestampMicros,
                K::Uuid,
                K::Int
            ]
        );
        assert_eq!(to_connect(&json).expect("back"), connect);
    }

    #[test]
    fn plain_avro_reads_as_connect_like_avro_data_reads_it() {
        let avro = json!({
            "type": "record", "name": "Thing", "namespace": "com.example", "doc": "a thing",
            "fields": [
                { "name": "id", "type": "long" },
                { "name": "born", "type": { "type": "int", "logicalType": "date" } },
                { "name": "price",
                  "type": { "type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 3 } },
                { "name": "color", "type": { "type": "enum", "name": "Color", "symbols": ["RED", "BLUE"] } },
                { "name": "either", "type": ["null", "int", "string"], "default": null },
                { "name": "tags", "type": { "type": "map", "values": "long" }, "doc": "labels" },
                { "name": "next", "type": ["null", "Color"], "default": null }
            ]
        });
        let expected = json!({
            "type": "struct",
            "fields": [
                { "type": "int64", "optional": false, "field": "id" },
                { "type": "int32", "optional": false, "name": DATE, "version": 1, "field": "born" },
                { "type": "bytes", "optional": false, "name": DECIMAL, "version": 1,
                  "parameters": { "scale": "3", "connect.decimal.precision": "9" }, "field": "price" },
                { "type": "string", "optional": false, "name": "com.example.Color",
                  "parameters": { "io.confluent.connect.avro.Enum": "com.example.Color",
                                  "io.confluent.connect.avro.Enum.RED": "RED",
                                  "io.confluent.connect.avro.Enum.BLUE": "BLUE" }, "field": "color" },
                { "type": "struct",
                  "fields": [{ "type": "int32", "optional": true, "field": "int" },
                             { "type": "string", "optional": true, "field": "string" }],
                  "optional": true, "name": UNION_NAME, "field": "either" },
                { "type": "map", "keys": { "type": "string", "optional": false },
                  "values": { "type": "int64", "optional": false }, "optional": false, "field": "tags" },
                { "type": "string", "optional": true, "name": "com.example.Color",
                  "parameters": { "io.confluent.connect.avro.Enum": "com.example.Color",
                                  "io.confluent.connect.avro.Enum.RED": "RED",
                                  "io.confluent.connect.avro.Enum.BLUE": "BLUE" }, "field": "next" }
            ],
            "optional": false, "name": "com.example.Thing",
            "parameters": { "io.confluent.connect.avro.record.doc": "a thing",
                            "io.confluent.connect.avro.field.doc.tags": "labels" }
        });
        assert_eq!(to_connect(&avro).expect("readable"), expected);
    }

    #[test]
    fn unreadable_avro_schemas_are_errors_with_a_location() {
        let unknown = json!({ "type": "record", "name": "R", "fields": [{ "name": "a", "type": "Nope" }] });
        let error = to_connect(&unknown).expect_err("unknown type");
        assert_eq!(error.path().map(|p| p.as_str()), Some("a"));
        assert!(to_connect(&json!({ "type": "record", "name": "R" })).is_err());
        assert!(to_connect(&json!(42)).is_err());
        assert!(to_connect(&json!("null")).is_err());
        let recursive = json!({ "type": "record", "name": "List",
                                "fields": [{ "name": "next", "type": ["null", "List"] }] });
        assert!(to_connect(&recursive).expect_err("recursive").to_string().contains("recursive"));
        let twice = json!({ "type": "record", "name": "R", "fields": [
            { "name": "a", "type": { "type": "fixed", "name": "F", "size": 2 } },
            { "name": "b", "type": { "type": "fixed", "name": "F", "size": 3 } } ] });
        assert!(to_connect(&twice).is_err());
    }

    #[test]
    fn unknown_connect_types_and_broken_decimals_are_refused() {
        assert!(from_connect(&json!({ "type": "int128", "optional": false })).is_err());
        assert!(from_connect(&json!({ "type": "bytes", "optional": false, "name": DECIMAL })).is_err());
        assert!(from_connect(&json!({ "type": "struct", "optional": false })).is_err());
        assert!(from_connect(&json!([1])).is_err());
        let error = from_connect(&json!({ "type": "struct", "optional": false, "name": "x.R",
            "fields": [field("a", json!({ "type": "array", "optional": false }))] }))
        .expect_err("no items");
        assert_eq!(error.path().map(|p| p.as_str()), Some("a"));
    }

    /// `public.items (id int4 PRIMARY KEY, note text)`: one insert through cdc-core's envelope, without
    /// propagated source types (Debezium's default), as `{schema, payload}` for the value and the key.
    fn items_messages() -> (J, J) {
        use cdc_core::envelope::{Envelope, EnvelopeConfig, EventFormat};
        use cdc_core::{ChangeEvent, Column, Lsn, Op, PgType, ReplicaIdentity, Row, SnapshotMarker, TableId};
        use cdc_core::{TableSchema, TxInfo, Value};
        let column = |name: &str, oid: u32, nullable: bool, key: bool| Column {
            name: name.into(),
            pg_type: PgType::builtin(oid).expect("built-in"),
            type_modifier: -1,
            nullable,
            key,
            fill_value: None,
        };
        let table = std::sync::Arc::new(TableSchema {
            relation_oid: 16_385,
            id: TableId::new("public", "items"),
            columns: vec![column("id", 23, false, true), column("note", 25, true, false)],
            replica_identity: ReplicaIdentity::Default,
            version: 1,
        });
        let insert = ChangeEvent {
            op: Op::Insert,
            schema: table,
            before: None,
            after: Some(Row(vec![Value::Int32(1), Value::Text("first".into())])),
            lsn: Lsn::new(24_023_000),
            tx: TxInfo {
                xid: 555,
                commit_lsn: Lsn::new(24_023_128),
                commit_time_micros: 0,
                total_order: 1,
                table_order: 1,
            },
            snapshot: SnapshotMarker::No,
            origin: None,
        };
        let config = EnvelopeConfig {
            format: EventFormat::JsonSchema,
            propagate_source_types: false,
            ..EnvelopeConfig::default()
        };
        let mut envelope = Envelope::new(config, "inventory");
        let value = envelope.value_at(&insert, 0);
        let key = envelope.key(&insert).expect("a key");
        (value, key)
    }

    #[test]
    fn a_two_column_table_translates_to_the_schemas_debezium_with_avro_converter_registers() {
        let (value, key) = items_messages();
        let avro = from_connect(&value["schema"]).expect("translatable");
        // Written out by hand from AvroData's rules and Java's `Schema.toString()`: the second use of `Value`
        // is a short reference, the snapshot enum with a default puts null second, the transaction block is
        // `event.block`.
        let expected = concat!(
            r#"{"type":"record","name":"Envelope","namespace":"cdc.public.items","fields":["#,
            r#"{"name":"before","type":["null",{"type":"record","name":"Value","fields":["#,
            r#"{"name":"id","type":"int"},{"name":"note","type":["null","string"],"default":null}],"#,
            r#""connect.name":"cdc.public.items.Value"}],"default":null},"#,
            r#"{"name":"after","type":["null","Value"],"default":null},"#,
            r#"{"name":"source","type":{"type":"record","name":"Source","#,
            r#""namespace":"io.debezium.connector.postgresql","fields":["#,
            r#"{"name":"version","type":"string"},{"name":"connector","type":"string"},{"name":"name","#,
            r#""type":"string"},"#,
            r#"{"name":"ts_ms","type":"long"},"#,
            r#"{"name":"snapshot","type":[{"type":"string","connect.version":1,"#,
            r#""connect.parameters":{"allowed":"#,
            r#""true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"#,
            r#""connect.default":"false","connect.name":"io.debezium.data.Enum"},"null"],"#,
            r#""default":"false"},"#,
            r#"{"name":"db","type":"string"},{"name":"sequence","type":["null","string"],"default":null},"#,
            r#"{"name":"schema","type":"string"},{"name":"table","type":"string"},"#,
            r#"{"name":"txId","type":["null","long"],"default":null},{"name":"lsn","type":["null","long"],"#,
            r#""default":null},"#,
            r#"{"name":"xmin","type":["null","long"],"default":null}],"#,
            r#""connect.name":"io.debezium.connector.postgresql.Source"}},"#,
            r#"{"name":"op","type":"string"},{"name":"ts_ms","type":["null","long"],"default":null},"#,
            r#"{"name":"transaction","type":["null",{"type":"record","name":"block","namespace":"event","#,
            r#""fields":["#,
            r#"{"name":"id","type":"string"},{"name":"total_order","type":"long"}"#,
            r#",{"name":"data_collection_order","type":"long"}],"#,
            r#""connect.version":1,"connect.name":"event.block"}],"default":null}],"#,
            r#""connect.version":1,"connect.name":"cdc.public.items.Envelope"}"#
        );
        assert_eq!(avro.text, expected);
        assert_eq!(avro.full_name(), "cdc.public.items.Envelope");
        let key_avro = from_connect(&key["schema"]).expect("translatable");
        let expected_key = concat!(
            r#"{"type":"record","name":"Key","namespace":"cdc.public.items","fields":[{"name":"id","#,
            r#""type":"int"}],"connect.name":"cdc.public.items.Key"}"#
        );
        assert_eq!(key_avro.text, expected_key);
        // And back, exactly as cdc-core wrote them.
        let back = to_connect(&serde_json::from_str(&avro.text).expect("JSON")).expect("back");
        assert_json(&back, &value["schema"]);
        assert_json(
            &to_connect(&serde_json::from_str(&key_avro.text).expect("JSON")).expect("back"),
            &key["schema"],
        );
    }

    #[test]
    fn a_schema_debeziums_java_avro_converter_registered_reads_back_as_its_connect_schema() {
        // As the registry returns it for `dbserver1.inventory.products` (Debezium 2.x, AvroConverter 7.x):
        // `numeric(10,2)`, an unconstrained numeric used twice, a date, and Java's namespace-less reference.
        let registered = concat!(
            r#"{"type":"record","name":"Value","namespace":"dbserver1.inventory.products","fields":["#,
            r#"{"name":"id","type":"int"},"#,
            r#"{"name":"price","type":["null",{"type":"bytes","scale":2,"precision":10,"#,
            r#""connect.version":1,"connect.parameters":{"scale":"2","connect.decimal.precision":"10"},"#,
            r#""connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}],"#,
            r#""default":null},"#,
            r#"{"name":"weight","type":["null",{"type":"record","name":"VariableScaleDecimal","#,
            r#""namespace":"io.debezium.data","fields":[{"name":"scale","type":"int"},{"name":"value","#,
            r#""type":"bytes"}],"connect.doc":"Variable scaled decimal","connect.version":1,"#,
            r#""connect.name":"io.debezium.data.VariableScaleDecimal"}],"default":null},"#,
            r#"{"name":"tare","type":["null","io.debezium.data.VariableScaleDecimal"],"default":null},"#,
            r#"{"name":"created","type":{"type":"int","connect.version":1,"#,
            r#""connect.name":"io.debezium.time.Date"}}"#,
            r#"],"connect.name":"dbserver1.inventory.products.Value"}"#
        );
        let vsd = |field: &str| {
            json!({ "type": "struct",
                    "fields": [{ "type": "int32", "optional": false, "field": "scale" },
                               { "type": "bytes", "optional": false, "field": "value" }],
                    "optional": true, "name": "io.debezium.data.VariableScaleDecimal", "version": 1,
                    "doc": "Variable scaled decimal", "field": field })
        };
        let expected = json!({
            "type": "struct",
            "fields": [
                { "type": "int32", "optional": false, "field": "id" },
                { "type": "bytes", "optional": true, "name": DECIMAL, "version": 1,
                  "parameters": { "scale": "2", "connect.decimal.precision": "10" }, "field": "price" },
                vsd("weight"),
                vsd("tare"),
                { "type": "int32", "optional": false, "name": "io.debezium.time.Date", "version": 1,
                  "field": "created" }
            ],
            "optional": false, "name": "dbserver1.inventory.products.Value"
        });
        let back = to_connect(&serde_json::from_str(registered).expect("JSON")).expect("readable");
        assert_json(&back, &expected);
        // Our translation of that Connect schema is the registered text again.
        assert_eq!(from_connect(&expected).expect("translatable").text, registered);
    }

    #[test]
    fn a_struct_reused_with_other_annotations_is_a_reference_with_its_own_noted_beside_it() {
        let vsd = |parameters: Option<J>| {
            let mut schema = json!({ "type": "struct",
                "fields": [{ "type": "int32", "optional": false, "field": "scale" },
                           { "type": "bytes", "optional": false, "field": "value" }],
                "optional": true, "name": "io.debezium.data.VariableScaleDecimal", "version": 1,
                "doc": "Variable scaled decimal" });
            if let Some(parameters) = parameters {
                schema["parameters"] = parameters;
            }
            schema
        };
        let connect = json!({
            "type": "struct",
            "fields": [
                field("amount", vsd(Some(json!({ "__debezium.source.column.type": "AMOUNT" })))),
                field("amounts", json!({ "type": "array", "items": vsd(None), "optional": true,
                                         "parameters": { "__debezium.source.column.type": "_NUMERIC" } }))
            ],
            "optional": false, "name": "x.Value"
        });
        let avro = avro_json(&connect);
        // The text AvroData writes (its first definition wins), plus our note on the field.
        assert_json(
            &avro["fields"][1]["type"][1]["items"],
            &json!(["null", "io.debezium.data.VariableScaleDecimal"]),
        );
        assert_json(
            &avro["fields"][1]["cdc.connect.overrides"],
            &json!({ "items": { "version": 1, "doc": "Variable scaled decimal", "parameters": null,
                                "default": null } }),
        );
        assert_json(&to_connect(&avro).expect("back"), &connect);
    }

    #[test]
    fn decimals_whose_scale_avro_cannot_express_still_translate() {
        // PostgreSQL 15 allows numeric(2,5) and numeric(2,-3); AvroData keeps `logicalType: decimal` for them
        // (its legacy path) and apache-avro reads them as plain bytes.
        for (scale, precision) in [("5", "2"), ("-3", "2")] {
            let connect = json!({ "type": "bytes", "optional": false, "name": DECIMAL, "version": 1,
                                  "parameters": { "scale": scale, "connect.decimal.precision": precision } });
            let avro = from_connect(&connect).expect("translatable");
            let json: J = serde_json::from_str(&avro.text).expect("JSON");
            assert_eq!(json["logicalType"], "decimal");
            assert_eq!(to_connect(&json).expect("back"), connect);
        }
    }

    #[test]
    fn a_named_primitive_schema_is_translated_on_its_own() {
        let avro = from_connect(&json!({ "type": "int64", "optional": false })).expect("translatable");
        assert_eq!(avro.text, r#""long""#);
        assert_eq!(avro.full_name(), "long");
        let avro = from_connect(&json!({ "type": "string", "optional": true })).expect("translatable");
        assert_eq!(avro.text, r#"["null","string"]"#);
    }
}
