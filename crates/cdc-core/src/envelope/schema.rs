//! Kafka Connect schemas for the `{"schema": …, "payload": …}` wrapper (`format = "json-schema"`).
//!
//! [`ConnectSchema`] is a Connect `Schema`; [`ConnectSchema::to_json`] writes it exactly as
//! `JsonConverter.asJsonSchema` does: `type`, then `fields` / `items` / `keys` and `values`, then `optional`,
//! `name`, `version`, `doc`, `parameters` and `default`, and for a struct member a trailing `field`.
//! Consumers that compare schemas textually (schema-registry-less pipelines, caches keyed on the JSON) see
//! the bytes Debezium's converter would produce.
//!
//! With `propagate_source_types`, each column's schema also carries Debezium's `column.propagate.source.type`
//! parameters (`PropagateSourceTypeToSchemaParameter`), after the logical type's own ones:
//! `__debezium.source.column.type` is the type name in upper case (`INT4`, `VARCHAR`, `_TEXT`, `MOOD`);
//! `…length` and `…scale` carry what the column's `atttypmod` declares, and only that: `numeric(10,2)` has
//! length 10 and scale 2, `varchar(100)` and `bit(8)` a length, `timestamp(3)` (and the other time types) a
//! scale of 3. Debezium fills them from the JDBC driver instead, so it also writes lengths such as 10 for
//! `int4` and 2147483647 for `text`, and scale 0 for most types; [`modifier_from_source_type`], the inverse
//! used by the decoder, reads both. Interval field restrictions (`interval year to month`) are not carried.

use serde_json::{Map, Value as J};

use super::config::BinaryHandling;
use super::value::FieldCodec;
use crate::pgtype::{PgType, TypeKind};
use crate::schema::{Column, TableId, TableSchema};

/// Debezium's `__debezium.source.column.type`: the column's type name, upper case.
pub(crate) const SOURCE_TYPE_PARAMETER: &str = "__debezium.source.column.type";
/// `__debezium.source.column.length`: the declared length or numeric precision.
pub(crate) const SOURCE_LENGTH_PARAMETER: &str = "__debezium.source.column.length";
/// `__debezium.source.column.scale`: the declared numeric scale or fractional-second precision.
pub(crate) const SOURCE_SCALE_PARAMETER: &str = "__debezium.source.column.scale";

/// PostgreSQL's limits on declared modifiers, beyond which a length or scale is not one PostgreSQL could have
/// declared (Debezium's JDBC-derived 2147483647, for instance) and means "unconstrained".
const MAX_NUMERIC_PRECISION: i64 = 1_000;
const MAX_NUMERIC_SCALE: i64 = 1_000;
const MAX_CHAR_LENGTH: i64 = 10_485_760;
const MAX_BIT_LENGTH: i64 = 83_886_080;
const MAX_TIME_PRECISION: i64 = 6;
/// `VARHDRSZ`: varchar and numeric modifiers are offset by it.
const VARHDRSZ: i64 = 4;

/// The version of the envelope schema (`<prefix>.<schema>.<table>.Envelope`).
const ENVELOPE_SCHEMA_VERSION: u32 = 1;
/// Values of `source.snapshot` (an `io.debezium.data.Enum`).
const SNAPSHOT_ALLOWED: &str =
    "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental";

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Primitive(&'static str),
    Struct(Vec<(String, ConnectSchema)>),
    Array(Box<ConnectSchema>),
    Map(Box<ConnectSchema>, Box<ConnectSchema>),
}

/// A Kafka Connect schema.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConnectSchema {
    kind: Kind,
    optional: bool,
    name: Option<String>,
    version: Option<u32>,
    doc: Option<&'static str>,
    parameters: Vec<(&'static str, String)>,
    default: Option<J>,
}

impl ConnectSchema {
    fn of(kind: Kind) -> Self {
        ConnectSchema {
            kind,
            optional: false,
            name: None,
            version: None,
            doc: None,
            parameters: Vec::new(),
            default: None,
        }
    }

    fn primitive(type_name: &'static str) -> Self {
        Self::of(Kind::Primitive(type_name))
    }

    fn structure(fields: Vec<(String, ConnectSchema)>) -> Self {
        Self::of(Kind::Struct(fields))
    }

    fn optional(mut self, optional: bool) -> Self {
        self.optional = optional;
        self
    }

    /// A logical type: a name and version 1, as all of Debezium's and Connect's logical types have.
    fn logical(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self.version = Some(1);
        self
    }

    fn named(mut self, name: String) -> Self {
        self.name = Some(name);
        self
    }

    fn parameter(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.parameters.push((key, value.into()));
        self
    }

    /// `JsonConverter.asJsonSchema`.
    pub(crate) fn to_json(&self) -> J {
        let mut out = Map::new();
        match &self.kind {
            Kind::Primitive(type_name) => {
                out.insert("type".into(), J::from(*type_name));
            }
            Kind::Struct(fields) => {
                out.insert("type".into(), J::from("struct"));
                let fields = fields.iter().map(|(name, schema)| schema.to_field_json(name)).collect();
                out.insert("fields".into(), J::Array(fields));
            }
            Kind::Array(items) => {
                out.insert("type".into(), J::from("array"));
                out.insert("items".into(), items.to_json());
            }
            Kind::Map(keys, values) => {
                out.insert("type".into(), J::from("map"));
                out.insert("keys".into(), keys.to_json());
                out.insert("values".into(), values.to_json());
            }
        }
        out.insert("optional".into(), J::Bool(self.optional));
        if let Some(name) = &self.name {
            out.insert("name".into(), J::from(name.as_str()));
        }
        if let Some(version) = self.version {
            out.insert("version".into(), J::from(version));
        }
        if let Some(doc) = self.doc {
            out.insert("doc".into(), J::from(doc));
        }
        if !self.parameters.is_empty() {
            let parameters =
                self.parameters.iter().map(|(k, v)| ((*k).to_owned(), J::from(v.as_str()))).collect();
            out.insert("parameters".into(), J::Object(parameters));
        }
        if let Some(default) = &self.default {
            out.insert("default".into(), default.clone());
        }
        J::Object(out)
    }

    fn to_field_json(&self, field: &str) -> J {
        let mut json = self.to_json();
        if let J::Object(map) = &mut json {
            map.insert("field".into(), J::from(field));
        }
        json
    }
}

impl FieldCodec {
    /// The Connect schema of a column with this codec (required; the caller sets `optional`).
    pub(crate) fn connect_schema(&self) -> ConnectSchema {
        use ConnectSchema as S;
        use FieldCodec as C;
        match self {
            C::Bool | C::BitBool => S::primitive("boolean"),
            C::Int16 => S::primitive("int16"),
            C::Int32 => S::primitive("int32"),
            C::Int64 => S::primitive("int64"),
            C::Float32 => S::primitive("float"),
            C::Float64 | C::DecimalDouble => S::primitive("double"),
            C::Decimal { scale, precision } => {
                let schema = S::primitive("bytes")
                    .logical("org.apache.kafka.connect.data.Decimal")
                    .parameter("scale", scale.to_string());
                match precision {
                    Some(precision) => schema.parameter("connect.decimal.precision", precision.to_string()),
                    None => schema,
                }
            }
            C::VariableDecimal => {
                let mut schema = S::structure(vec![
                    ("scale".into(), S::primitive("int32")),
                    ("value".into(), S::primitive("bytes")),
                ])
                .logical("io.debezium.data.VariableScaleDecimal");
                schema.doc = Some("Variable scaled decimal");
                schema
            }
            C::DecimalString | C::Text => S::primitive("string"),
            C::Uuid => S::primitive("string").logical("io.debezium.data.Uuid"),
            C::Json | C::HstoreJson => S::primitive("string").logical("io.debezium.data.Json"),
            C::Enum { allowed } => {
                S::primitive("string").logical("io.debezium.data.Enum").parameter("allowed", allowed.as_str())
            }
            C::Binary(BinaryHandling::Bytes) => S::primitive("bytes"),
            C::Binary(_) => S::primitive("string"),
            C::Bits { length } => {
                S::primitive("bytes").logical("io.debezium.data.Bits").parameter("length", length.to_string())
            }
            C::Date { connect: false } => S::primitive("int32").logical("io.debezium.time.Date"),
            C::Date { connect: true } => S::primitive("int32").logical("org.apache.kafka.connect.data.Date"),
            C::TimeMillis { connect: false } => S::primitive("int32").logical("io.debezium.time.Time"),
            C::TimeMillis { connect: true } => {
                S::primitive("int32").logical("org.apache.kafka.connect.data.Time")
            }
            C::TimeMicros => S::primitive("int64").logical("io.debezium.time.MicroTime"),
            C::ZonedTime => S::primitive("string").logical("io.debezium.time.ZonedTime"),
            C::TimestampMillis { connect: false } => {
                S::primitive("int64").logical("io.debezium.time.Timestamp")
            }
            C::TimestampMillis { connect: true } => {
                S::primitive("int64").logical("org.apache.kafka.connect.data.Timestamp")
            }
            C::TimestampMicros => S::primitive("int64").logical("io.debezium.time.MicroTimestamp"),
            C::ZonedTimestamp { .. } => S::primitive("string").logical("io.debezium.time.ZonedTimestamp"),
            C::IntervalMicros => S::primitive("int64").logical("io.debezium.time.MicroDuration"),
            C::IntervalIso => S::primitive("string").logical("io.debezium.time.Interval"),
            C::HstoreMap => S::of(Kind::Map(
                Box::new(S::primitive("string")),
                Box::new(S::primitive("string").optional(true)),
            )),
            C::Array(element) => S::of(Kind::Array(Box::new(element.connect_schema().optional(true)))),
        }
    }
}

/// `<prefix>.<schema>.<table>`: the stem of the table's schema names.
fn stem(prefix: &str, table: &TableId) -> String {
    format!("{prefix}.{}.{}", table.schema, table.name)
}

/// Debezium's `column.propagate.source.type` parameters of a column (see the module documentation).
pub(crate) fn source_type_parameters(column: &Column) -> Vec<(&'static str, String)> {
    let mut parameters = vec![(SOURCE_TYPE_PARAMETER, column.pg_type.name.to_uppercase())];
    let declared = column.type_modifier >= 0;
    // An array column's modifier is its element's.
    match &column.pg_type.element().unwrap_or(&column.pg_type).kind {
        TypeKind::Numeric => {
            if let Some((precision, scale)) = column.numeric_precision_scale() {
                parameters.push((SOURCE_LENGTH_PARAMETER, precision.to_string()));
                parameters.push((SOURCE_SCALE_PARAMETER, scale.to_string()));
            }
        }
        TypeKind::Text if i64::from(column.type_modifier) >= VARHDRSZ => {
            parameters
                .push((SOURCE_LENGTH_PARAMETER, (i64::from(column.type_modifier) - VARHDRSZ).to_string()));
        }
        TypeKind::Bit if declared => {
            parameters.push((SOURCE_LENGTH_PARAMETER, column.type_modifier.to_string()));
        }
        TypeKind::Time | TypeKind::TimeTz | TypeKind::Timestamp | TypeKind::TimestampTz if declared => {
            parameters.push((SOURCE_SCALE_PARAMETER, column.type_modifier.to_string()));
        }
        _ => {}
    }
    parameters
}

/// The inverse of [`source_type_parameters`]: the `atttypmod` PostgreSQL would store for a column of type `ty`
/// declared with this length and scale (numeric: `((p << 16) | s) + 4`; varchar/char: `n + 4`; bit: `n`;
/// time types: the precision), or -1 when they declare nothing PostgreSQL could have declared.
pub(crate) fn modifier_from_source_type(ty: &PgType, length: Option<i64>, scale: Option<i64>) -> i32 {
    let element = ty.element().unwrap_or(ty);
    let modifier = match &element.kind {
        TypeKind::Numeric => match length {
            Some(precision @ 1..=MAX_NUMERIC_PRECISION) => {
                let scale = scale.unwrap_or(0);
                (-MAX_NUMERIC_SCALE..=MAX_NUMERIC_SCALE)
                    .contains(&scale)
                    .then(|| ((precision << 16) | (scale & 0x7FF)) + VARHDRSZ)
            }
            _ => None,
        },
        TypeKind::Text if matches!(element.name.as_str(), "varchar" | "bpchar") => {
            length.filter(|n| (1..=MAX_CHAR_LENGTH).contains(n)).map(|n| n + VARHDRSZ)
        }
        TypeKind::Bit => length.filter(|n| (1..=MAX_BIT_LENGTH).contains(n)),
        TypeKind::Time | TypeKind::TimeTz | TypeKind::Timestamp | TypeKind::TimestampTz => {
            scale.filter(|p| (0..=MAX_TIME_PRECISION).contains(p))
        }
        _ => None,
    };
    modifier.and_then(|m| i32::try_from(m).ok()).unwrap_or(-1)
}

fn column_fields(
    table: &TableSchema,
    codecs: &[FieldCodec],
    propagate_source_types: bool,
    wanted: impl Fn(usize) -> bool,
) -> Vec<(String, ConnectSchema)> {
    table
        .columns
        .iter()
        .zip(codecs)
        .enumerate()
        .filter(|(i, _)| wanted(*i))
        .map(|(_, (column, codec))| {
            let mut schema = codec.connect_schema().optional(column.nullable);
            // A column added with a default: what rows older than it read as, as Debezium puts a column's
            // default in its schema. Avro readers need it to read records written before the column existed
            // (a NOT NULL column added with a default is then a BACKWARD-compatible change).
            schema.default = column
                .fill_value
                .as_deref()
                .and_then(|text| crate::value::parse_text(&column.pg_type, text).ok())
                .map(|value| codec.encode(&value))
                .filter(|default| !default.is_null());
            if propagate_source_types {
                schema.parameters.extend(source_type_parameters(column));
            }
            (column.name.clone(), schema)
        })
        .collect()
}

/// `<prefix>.<schema>.<table>.Key`: the key columns.
pub(crate) fn key_schema(
    prefix: &str,
    table: &TableSchema,
    codecs: &[FieldCodec],
    key_columns: &[usize],
    propagate_source_types: bool,
) -> ConnectSchema {
    ConnectSchema::structure(column_fields(table, codecs, propagate_source_types, |i| {
        key_columns.contains(&i)
    }))
    .named(format!("{}.Key", stem(prefix, &table.id)))
}

/// `<prefix>.<schema>.<table>.Envelope`: before, after, source, op, ts_ms, transaction.
pub(crate) fn envelope_schema(
    prefix: &str,
    table: &TableSchema,
    codecs: &[FieldCodec],
    propagate_source_types: bool,
) -> ConnectSchema {
    let row = ConnectSchema::structure(column_fields(table, codecs, propagate_source_types, |_| true))
        .optional(true)
        .named(format!("{}.Value", stem(prefix, &table.id)));
    let mut envelope = ConnectSchema::structure(vec![
        ("before".into(), row.clone()),
        ("after".into(), row),
        ("source".into(), source_schema()),
        ("op".into(), ConnectSchema::primitive("string")),
        ("ts_ms".into(), ConnectSchema::primitive("int64").optional(true)),
        ("transaction".into(), transaction_schema()),
    ])
    .named(format!("{}.Envelope", stem(prefix, &table.id)));
    envelope.version = Some(ENVELOPE_SCHEMA_VERSION);
    envelope
}

/// `io.debezium.connector.postgresql.Source`.
fn source_schema() -> ConnectSchema {
    use ConnectSchema as S;
    let mut snapshot = S::primitive("string")
        .optional(true)
        .logical("io.debezium.data.Enum")
        .parameter("allowed", SNAPSHOT_ALLOWED);
    snapshot.default = Some(J::from("false"));
    S::structure(vec![
        ("version".into(), S::primitive("string")),
        ("connector".into(), S::primitive("string")),
        ("name".into(), S::primitive("string")),
        ("ts_ms".into(), S::primitive("int64")),
        ("snapshot".into(), snapshot),
        ("db".into(), S::primitive("string")),
        ("sequence".into(), S::primitive("string").optional(true)),
        ("schema".into(), S::primitive("string")),
        ("table".into(), S::primitive("string")),
        ("txId".into(), S::primitive("int64").optional(true)),
        ("lsn".into(), S::primitive("int64").optional(true)),
        ("xmin".into(), S::primitive("int64").optional(true)),
    ])
    .named("io.debezium.connector.postgresql.Source".into())
}

/// `event.block`: the transaction an event belongs to.
fn transaction_schema() -> ConnectSchema {
    use ConnectSchema as S;
    S::structure(vec![
        ("id".into(), S::primitive("string")),
        ("total_order".into(), S::primitive("int64")),
        ("data_collection_order".into(), S::primitive("int64")),
    ])
    .optional(true)
    .logical("event.block")
}
