//! One column: a Connect field schema → a [`Column`] (type, modifier, nullability) and the [`CellCodec`] its
//! cells are spelled in, the inverse of `schema.rs` plus `FieldCodec::for_column`.
//!
//! The PostgreSQL type comes from Debezium's propagated source type when the field has one
//! (`__debezium.source.column.type` and its length and scale, see `schema.rs`), else from the Connect type and
//! logical name alone, which is lossy (see the `decode` module documentation).
//!
//! The codec always comes from the Connect schema, because the schema is what describes the bytes; the column
//! type only picks between spellings the schema leaves open (a `double` is a NUMERIC in `double` mode when
//! the source type says NUMERIC). For our own events, the codec equals `FieldCodec::for_column` of the rebuilt
//! column under the producer's modes (a test asserts it); the decoder never needs to know those modes, except
//! for hexadecimal bytea, which no schema distinguishes from base64 ([`super::EventDecoder::with_binary_handling`]).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value as J};

use super::cells::CellCodec;
use crate::envelope::config::BinaryHandling;
use crate::envelope::schema::{
    modifier_from_source_type, SOURCE_LENGTH_PARAMETER, SOURCE_SCALE_PARAMETER, SOURCE_TYPE_PARAMETER,
};
use crate::envelope::value::FieldCodec;
use crate::pgtype::{PgType, TypeKind};
use crate::schema::Column;

/// Connect's and Debezium's logical type names.
mod logical {
    pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
    pub const CONNECT_DATE: &str = "org.apache.kafka.connect.data.Date";
    pub const CONNECT_TIME: &str = "org.apache.kafka.connect.data.Time";
    pub const CONNECT_TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
    pub const VARIABLE_SCALE_DECIMAL: &str = "io.debezium.data.VariableScaleDecimal";
    pub const UUID: &str = "io.debezium.data.Uuid";
    pub const JSON: &str = "io.debezium.data.Json";
    pub const XML: &str = "io.debezium.data.Xml";
    pub const ENUM: &str = "io.debezium.data.Enum";
    pub const BITS: &str = "io.debezium.data.Bits";
    pub const DATE: &str = "io.debezium.time.Date";
    pub const TIME: &str = "io.debezium.time.Time";
    pub const MICRO_TIME: &str = "io.debezium.time.MicroTime";
    pub const TIMESTAMP: &str = "io.debezium.time.Timestamp";
    pub const MICRO_TIMESTAMP: &str = "io.debezium.time.MicroTimestamp";
    pub const ZONED_TIME: &str = "io.debezium.time.ZonedTime";
    pub const ZONED_TIMESTAMP: &str = "io.debezium.time.ZonedTimestamp";
    pub const MICRO_DURATION: &str = "io.debezium.time.MicroDuration";
    pub const INTERVAL: &str = "io.debezium.time.Interval";
}

/// Built-in type oids are below `FirstGenbkiObjectId`; everything above comes from the catalog.
const FIRST_GENBKI_OBJECT_ID: u32 = 10_000;
/// The modifier adaptive `io.debezium.time.Time`/`Timestamp` imply: millisecond precision.
const MILLISECOND_PRECISION: i32 = 3;
/// Connect's `connect.decimal.precision` parameter.
const PRECISION_PARAMETER: &str = "connect.decimal.precision";

/// A Connect schema as JSON, with typed access to the parts decoding needs.
#[derive(Debug, Clone, Copy)]
pub(super) struct ConnectField<'a> {
    object: &'a Map<String, J>,
    type_name: &'a str,
}

impl<'a> ConnectField<'a> {
    /// `None` when `json` is not an object with a string `type`.
    pub(super) fn new(json: &'a J) -> Option<Self> {
        let object = json.as_object()?;
        let type_name = object.get("type")?.as_str()?;
        Some(ConnectField { object, type_name })
    }

    /// The struct member name (`field`).
    pub(super) fn field_name(self) -> Option<&'a str> {
        self.object.get("field")?.as_str()
    }

    pub(super) fn optional(self) -> bool {
        self.object.get("optional").and_then(J::as_bool).unwrap_or(false)
    }

    /// The logical type name (`name`).
    fn name(self) -> Option<&'a str> {
        self.object.get("name")?.as_str()
    }

    fn parameter(self, key: &str) -> Option<&'a str> {
        self.object.get("parameters")?.as_object()?.get(key)?.as_str()
    }

    fn integer_parameter(self, key: &str) -> Option<i64> {
        self.parameter(key)?.trim().parse().ok()
    }

    /// An array's `items`, or a struct's `fields`.
    fn child(self, key: &str) -> Option<&'a J> {
        self.object.get(key)
    }

    /// The members of a struct schema.
    pub(super) fn fields(self) -> Option<&'a [J]> {
        Some(self.object.get("fields")?.as_array()?.as_slice())
    }
}

/// A column and how its cells are spelled, or why the field cannot be one.
pub(super) fn column(
    field: ConnectField<'_>,
    key: bool,
    binary: BinaryHandling,
) -> Result<(Column, CellCodec), String> {
    let name = field.field_name().ok_or("the field has no string `field` name")?;
    let (pg_type, type_modifier) = match field.parameter(SOURCE_TYPE_PARAMETER) {
        Some(type_name) => propagated_type(type_name, field),
        None => connect_type(field),
    };
    let codec = codec(field, &pg_type, type_modifier, binary);
    let column = Column {
        name: name.to_owned(),
        pg_type,
        type_modifier,
        nullable: field.optional(),
        key,
        fill_value: None,
    };
    Ok((column, codec))
}

/// The type Debezium propagated, by name: a built-in, an array of one (`_INT4`), hstore, an enum (the Connect
/// `Enum`'s `allowed` labels), or a catalog type we cannot resolve (oid 0, classified by its Connect shape).
/// Names are compared in lower case, as Debezium upper-cases them.
fn propagated_type(type_name: &str, field: ConnectField<'_>) -> (PgType, i32) {
    let ty = named_type(&type_name.to_lowercase(), field);
    let modifier = modifier_from_source_type(
        &ty,
        field.integer_parameter(SOURCE_LENGTH_PARAMETER),
        field.integer_parameter(SOURCE_SCALE_PARAMETER),
    );
    (ty, modifier)
}

fn named_type(name: &str, field: ConnectField<'_>) -> PgType {
    match (builtin_by_name(canonical_name(name)), name.strip_prefix('_')) {
        (Some(ty), _) => ty,
        (None, Some(element_name)) => {
            // The element's Connect schema is the array's `items`. PostgreSQL has no arrays of arrays, so
            // the element is not looked at for a further `_`.
            let items = field.child("items").and_then(ConnectField::new).unwrap_or(field);
            array_of(scalar_type(element_name, items))
        }
        (None, None) => scalar_type(name, field),
    }
}

/// A type that is not an array: a built-in, hstore, an enum, or a catalog type we cannot resolve.
fn scalar_type(name: &str, field: ConnectField<'_>) -> PgType {
    if let Some(ty) = builtin_by_name(canonical_name(name)) {
        return ty;
    }
    let kind = match (field.name(), field.parameter("allowed")) {
        _ if name == "hstore" => TypeKind::Hstore,
        (Some(logical::ENUM), Some(allowed)) => TypeKind::Enum(split_labels(allowed)),
        _ => connect_type(field).0.kind,
    };
    PgType::new(0, name, kind)
}

/// Names JDBC metadata reports instead of `pg_type.typname` (serial columns, SQL spellings).
fn canonical_name(name: &str) -> &str {
    match name {
        "serial" | "serial4" | "integer" | "int" => "int4",
        "bigserial" | "serial8" | "bigint" => "int8",
        "smallserial" | "serial2" | "smallint" => "int2",
        "boolean" => "bool",
        "real" => "float4",
        "double precision" => "float8",
        "decimal" => "numeric",
        "character varying" => "varchar",
        "character" => "bpchar",
        "timestamp without time zone" => "timestamp",
        "timestamp with time zone" => "timestamptz",
        "time without time zone" => "time",
        "time with time zone" => "timetz",
        "bit varying" => "varbit",
        other => other,
    }
}

/// Labels of `io.debezium.data.Enum`'s `allowed` parameter (comma-separated, as the encoder joins them).
fn split_labels(allowed: &str) -> Vec<String> {
    if allowed.is_empty() {
        Vec::new()
    } else {
        allowed.split(',').map(str::to_owned).collect()
    }
}

/// Every built-in type by name, and every built-in array type by its element's oid.
#[derive(Debug)]
struct Builtins {
    by_name: HashMap<String, PgType>,
    array_by_element: HashMap<u32, PgType>,
}

fn builtins() -> &'static Builtins {
    static BUILTINS: OnceLock<Builtins> = OnceLock::new();
    BUILTINS.get_or_init(|| {
        let all: Vec<PgType> = (0..FIRST_GENBKI_OBJECT_ID).filter_map(PgType::builtin).collect();
        let array_by_element = all.iter().filter_map(|ty| Some((ty.element()?.oid, ty.clone()))).collect();
        let by_name = all.into_iter().map(|ty| (ty.name.clone(), ty)).collect();
        Builtins { by_name, array_by_element }
    })
}

fn builtin_by_name(name: &str) -> Option<PgType> {
    builtins().by_name.get(name).cloned()
}

fn builtin(oid: u32) -> PgType {
    PgType::builtin(oid).unwrap_or_else(|| PgType::new(oid, "unknown", TypeKind::Other))
}

/// The array type of `element`: the built-in one when there is one, else `_<name>` with oid 0.
fn array_of(element: PgType) -> PgType {
    match builtins().array_by_element.get(&element.oid) {
        Some(array) if element.oid != 0 => array.clone(),
        _ => PgType::new(0, format!("_{}", element.name), TypeKind::Array(Box::new(element))),
    }
}

/// The type a Connect schema implies without a propagated source type (the mapping in the `decode` module
/// documentation), and the modifier the schema reveals.
fn connect_type(field: ConnectField<'_>) -> (PgType, i32) {
    use logical as L;
    let typed = |oid| (builtin(oid), -1);
    match (field.type_name, field.name()) {
        ("boolean", _) => typed(16),
        ("int8" | "int16", _) => typed(21),
        ("int32", Some(L::DATE | L::CONNECT_DATE)) => typed(1082),
        ("int32", Some(L::TIME)) => (builtin(1083), MILLISECOND_PRECISION),
        ("int32", Some(L::CONNECT_TIME)) => typed(1083),
        ("int32", _) => typed(23),
        ("int64", Some(L::MICRO_TIME)) => typed(1083),
        ("int64", Some(L::TIMESTAMP)) => (builtin(1114), MILLISECOND_PRECISION),
        ("int64", Some(L::CONNECT_TIMESTAMP | L::MICRO_TIMESTAMP)) => typed(1114),
        ("int64", Some(L::MICRO_DURATION)) => typed(1186),
        ("int64", _) => typed(20),
        ("float", _) => typed(700),
        ("double", _) => typed(701),
        ("bytes", Some(L::DECIMAL)) => decimal_type(field),
        ("bytes", Some(L::BITS)) => bits_type(field),
        ("bytes", _) => typed(17),
        ("string", Some(L::UUID)) => typed(2950),
        ("string", Some(L::JSON)) => typed(3802),
        ("string", Some(L::XML)) => typed(142),
        ("string", Some(L::ZONED_TIME)) => typed(1266),
        ("string", Some(L::ZONED_TIMESTAMP)) => typed(1184),
        ("string", Some(L::INTERVAL)) => typed(1186),
        ("string", _) => typed(25),
        ("struct", Some(L::VARIABLE_SCALE_DECIMAL)) => typed(1700),
        ("array", _) => {
            let items = field.child("items").and_then(ConnectField::new);
            let (element, modifier) = items.map_or((builtin(25), -1), connect_type);
            (array_of(element), modifier)
        }
        ("map", _) => (PgType::new(0, "hstore", TypeKind::Hstore), -1),
        (_, name) => (PgType::new(0, name.unwrap_or(field.type_name), TypeKind::Other), -1),
    }
}

/// Connect `Decimal`: `numeric(p, s)` when `connect.decimal.precision` is there, else money (the one
/// Decimal that Debezium and our encoder write without a precision).
fn decimal_type(field: ConnectField<'_>) -> (PgType, i32) {
    match field.integer_parameter(PRECISION_PARAMETER) {
        Some(precision) => {
            let numeric = builtin(1700);
            let modifier =
                modifier_from_source_type(&numeric, Some(precision), field.integer_parameter("scale"));
            (numeric, modifier)
        }
        None => (builtin(790), -1),
    }
}

/// `io.debezium.data.Bits`: `bit(length)`, or an unconstrained `varbit` for length 2147483647.
fn bits_type(field: ConnectField<'_>) -> (PgType, i32) {
    match field.integer_parameter("length").and_then(|n| i32::try_from(n).ok()) {
        Some(length) if length < i32::MAX => (builtin(1560), length),
        _ => (builtin(1562), -1),
    }
}

/// How the cells of a field are spelled: read off the Connect schema, with the column type choosing where
/// the schema alone leaves it open.
fn codec(field: ConnectField<'_>, ty: &PgType, type_modifier: i32, binary: BinaryHandling) -> CellCodec {
    use logical as L;
    use FieldCodec as C;
    let kind = &ty.kind;
    let numeric = matches!(kind, TypeKind::Numeric | TypeKind::Money);
    let field_codec = match (field.type_name, field.name()) {
        ("boolean", _) if *kind == TypeKind::Bit => C::BitBool,
        ("boolean", _) => C::Bool,
        ("int8" | "int16", _) => C::Int16,
        ("int32", Some(L::DATE)) => C::Date { connect: false },
        ("int32", Some(L::CONNECT_DATE)) => C::Date { connect: true },
        ("int32", Some(L::TIME)) => C::TimeMillis { connect: false },
        ("int32", Some(L::CONNECT_TIME)) => C::TimeMillis { connect: true },
        ("int32", _) => C::Int32,
        ("int64", Some(L::MICRO_TIME)) => C::TimeMicros,
        ("int64", Some(L::TIMESTAMP)) => C::TimestampMillis { connect: false },
        ("int64", Some(L::CONNECT_TIMESTAMP)) => C::TimestampMillis { connect: true },
        ("int64", Some(L::MICRO_TIMESTAMP)) => C::TimestampMicros,
        ("int64", Some(L::MICRO_DURATION)) => C::IntervalMicros,
        ("int64", _) => C::Int64,
        ("float", _) => C::Float32,
        ("double", _) if numeric => C::DecimalDouble,
        ("double", _) => C::Float64,
        ("bytes", Some(L::DECIMAL)) => match field.integer_parameter("scale") {
            Some(scale) => C::Decimal {
                scale,
                precision: field.integer_parameter(PRECISION_PARAMETER).and_then(|p| u32::try_from(p).ok()),
            },
            None => return CellCodec::Raw,
        },
        ("bytes", Some(L::BITS)) => C::Bits {
            length: field
                .integer_parameter("length")
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(i32::MAX as u32),
        },
        ("bytes", _) => C::Binary(BinaryHandling::Bytes),
        ("string", Some(L::UUID)) => C::Uuid,
        ("string", Some(L::JSON)) if *kind == TypeKind::Hstore => C::HstoreJson,
        ("string", Some(L::JSON)) => C::Json,
        ("string", Some(L::ENUM)) => {
            C::Enum { allowed: field.parameter("allowed").unwrap_or_default().to_owned() }
        }
        ("string", Some(L::ZONED_TIME)) => C::ZonedTime,
        ("string", Some(L::ZONED_TIMESTAMP)) => {
            let precision = u32::try_from(type_modifier).unwrap_or(6);
            C::ZonedTimestamp { fraction_digits: precision }
        }
        ("string", Some(L::INTERVAL)) => C::IntervalIso,
        ("string", _) if numeric => C::DecimalString,
        ("string", _) if *kind == TypeKind::Bytea => C::Binary(match binary {
            // A string is never Connect `bytes`: read it as base64.
            BinaryHandling::Bytes => BinaryHandling::Base64,
            mode => mode,
        }),
        ("string", _) => C::Text,
        ("struct", Some(L::VARIABLE_SCALE_DECIMAL)) => C::VariableDecimal,
        ("array", _) => {
            let element = ty.element().unwrap_or(ty);
            match field.child("items").and_then(ConnectField::new) {
                Some(items) => match codec(items, element, type_modifier, binary) {
                    CellCodec::Field(element) => C::Array(Box::new(element)),
                    CellCodec::Raw => return CellCodec::Raw,
                },
                None => return CellCodec::Raw,
            }
        }
        ("map", _) if is_string_map(field) => C::HstoreMap,
        _ => return CellCodec::Raw,
    };
    CellCodec::Field(field_codec)
}

/// A Connect map of strings to (optional) strings: hstore in `map` mode.
fn is_string_map(field: ConnectField<'_>) -> bool {
    let is_string =
        |key| field.child(key).and_then(ConnectField::new).is_some_and(|s| s.type_name == "string");
    is_string("keys") && is_string("values")
}
