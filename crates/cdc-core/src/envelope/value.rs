//! Per-column encoding: a [`FieldCodec`] is decided once per column from its type, modifier and the handling
//! modes, then turns each [`Value`] into the JSON that Kafka Connect's `JsonConverter` would write for
//! Debezium's Connect value.
//!
//! Choices where Debezium has no answer, or one we do not copy:
//! - NaN and ±Infinity NUMERIC in `precise` mode: Connect's `Decimal` cannot hold them and Debezium fails the
//!   connector; we send `null`. In `string` mode we send Debezium's `NAN`, `POSITIVE_INFINITY` and
//!   `NEGATIVE_INFINITY`; in `double` mode `"NaN"`, `"Infinity"`, `"-Infinity"` (Jackson's spelling).
//! - `string` decimals are PostgreSQL's plain text (`0.0000001`), never Java's `1E-7`.
//! - Date and timestamp infinities become the integer extremes (`i32::MAX`/`MIN` days, `i64::MAX`/`MIN` ms or
//!   µs), PostgreSQL's own sentinels; Debezium's constants for them are known to be wrong
//!   (debezium/dbz#2524). `timestamptz` infinities are Debezium's `"infinity"`/`"-infinity"`.
//! - A value whose variant does not match the column's codec (a decoder fallback) is written by its own
//!   variant ([`natural`]) rather than dropped.
//!
//! Unchanged TOAST ([`Value::Unchanged`]) follows Debezium's `UnchangedToastedPlaceholder`: the placeholder
//! text for string fields, its bytes for byte fields (Connect `Decimal` and `Bits` included), `{"p": "p"}`
//! for hstore, `{"scale": 0, "value": <bytes>}` for `VariableScaleDecimal`, and for arrays a single
//! placeholder element for string elements or one element per placeholder byte for numeric ones. Fixed-width
//! types (integers, floats, dates, times, uuid) are never TOASTed by PostgreSQL; should one arrive, it gets
//! the placeholder text, which does not match its schema type but cannot be mistaken for data.

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine as _;
use serde_json::{json, Map, Value as J};

use super::config::{
    BinaryHandling, DecimalHandling, EnvelopeConfig, HstoreHandling, IntervalHandling, TimePrecision,
    UNAVAILABLE_VALUE_PLACEHOLDER,
};
use super::decimal::{self, Decimal};
use super::temporal::{self, Fraction};
use crate::pgtype::{PgType, TypeKind};
use crate::schema::Column;
use crate::value::{DateValue, Numeric, TimestampValue, Value};

/// `UUID.nameUUIDFromBytes(placeholder)`: Debezium's placeholder element for `uuid[]` columns.
const UUID_PLACEHOLDER: &str = "b68a35a7-17ad-35b3-af2a-ae46edb4545a";

/// How one column is encoded; [`super::schema`] gives the matching Connect schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FieldCodec {
    Bool,
    Int16,
    Int32,
    /// int8 and oid.
    Int64,
    Float32,
    Float64,
    /// Connect `Decimal` at a fixed scale; `precision` is absent for money.
    Decimal {
        scale: i64,
        precision: Option<u32>,
    },
    /// `io.debezium.data.VariableScaleDecimal`: an unconstrained NUMERIC in `precise` mode.
    VariableDecimal,
    DecimalString,
    DecimalDouble,
    /// Plain text: text types, inet, cidr, macaddr, types we do not know.
    Text,
    Uuid,
    /// json and jsonb: the server's text, as a string.
    Json,
    Enum {
        allowed: String,
    },
    Binary(BinaryHandling),
    /// bit(1) and varbit(1).
    BitBool,
    /// `io.debezium.data.Bits`: little-endian bytes; `length` is the declared bit count.
    Bits {
        length: u32,
    },
    /// `io.debezium.time.Date` (`connect: false`) or Connect's `Date`: days since the epoch.
    Date {
        connect: bool,
    },
    /// `io.debezium.time.Time` or Connect's `Time`: milliseconds past midnight.
    TimeMillis {
        connect: bool,
    },
    /// `io.debezium.time.MicroTime`.
    TimeMicros,
    ZonedTime,
    /// `io.debezium.time.Timestamp` or Connect's `Timestamp`: milliseconds since the epoch.
    TimestampMillis {
        connect: bool,
    },
    /// `io.debezium.time.MicroTimestamp`.
    TimestampMicros,
    /// `io.debezium.time.ZonedTimestamp` with the column's fractional digits.
    ZonedTimestamp {
        fraction_digits: u32,
    },
    IntervalMicros,
    IntervalIso,
    HstoreJson,
    HstoreMap,
    Array(Box<FieldCodec>),
}

impl FieldCodec {
    pub(crate) fn for_column(column: &Column, config: &EnvelopeConfig) -> FieldCodec {
        Self::for_type(&column.pg_type, column.type_modifier, config)
    }

    fn for_type(ty: &PgType, type_modifier: i32, config: &EnvelopeConfig) -> FieldCodec {
        // The modifier helpers live on `Column`; an array column's modifier is its element's.
        let column = || Column {
            name: String::new(),
            pg_type: ty.clone(),
            type_modifier,
            nullable: true,
            key: false,
            fill_value: None,
        };
        let adaptive_millis = |precision: u32| precision <= 3;
        match &ty.kind {
            TypeKind::Bool => FieldCodec::Bool,
            TypeKind::Int2 => FieldCodec::Int16,
            TypeKind::Int4 => FieldCodec::Int32,
            TypeKind::Int8 | TypeKind::Oid => FieldCodec::Int64,
            TypeKind::Float4 => FieldCodec::Float32,
            TypeKind::Float8 => FieldCodec::Float64,
            TypeKind::Numeric => match (config.decimal_handling, column().numeric_precision_scale()) {
                (DecimalHandling::Precise, Some((precision, scale))) => {
                    FieldCodec::Decimal { scale: i64::from(scale), precision: Some(precision) }
                }
                (DecimalHandling::Precise, None) => FieldCodec::VariableDecimal,
                (DecimalHandling::String, _) => FieldCodec::DecimalString,
                (DecimalHandling::Double, _) => FieldCodec::DecimalDouble,
            },
            TypeKind::Money => match config.decimal_handling {
                DecimalHandling::Precise => FieldCodec::Decimal { scale: 2, precision: None },
                DecimalHandling::String => FieldCodec::DecimalString,
                DecimalHandling::Double => FieldCodec::DecimalDouble,
            },
            TypeKind::Text | TypeKind::Inet | TypeKind::MacAddr | TypeKind::Other => FieldCodec::Text,
            TypeKind::Bytea => FieldCodec::Binary(config.binary_handling),
            TypeKind::Date => FieldCodec::Date { connect: config.time_precision == TimePrecision::Connect },
            TypeKind::Time => match config.time_precision {
                TimePrecision::Adaptive if adaptive_millis(column().time_precision()) => {
                    FieldCodec::TimeMillis { connect: false }
                }
                TimePrecision::Adaptive | TimePrecision::AdaptiveTimeMicroseconds => FieldCodec::TimeMicros,
                TimePrecision::Connect => FieldCodec::TimeMillis { connect: true },
            },
            TypeKind::TimeTz => FieldCodec::ZonedTime,
            TypeKind::Timestamp => match config.time_precision {
                TimePrecision::Connect => FieldCodec::TimestampMillis { connect: true },
                _ if adaptive_millis(column().time_precision()) => {
                    FieldCodec::TimestampMillis { connect: false }
                }
                _ => FieldCodec::TimestampMicros,
            },
            TypeKind::TimestampTz => {
                FieldCodec::ZonedTimestamp { fraction_digits: column().time_precision() }
            }
            TypeKind::Interval => match config.interval_handling {
                IntervalHandling::Numeric => FieldCodec::IntervalMicros,
                IntervalHandling::String => FieldCodec::IntervalIso,
            },
            TypeKind::Uuid => FieldCodec::Uuid,
            TypeKind::Json | TypeKind::Jsonb => FieldCodec::Json,
            TypeKind::Bit => {
                // bit(n) and varbit(n) carry n; an unconstrained varbit reports 2^31 - 1, as Debezium does.
                let length = u32::try_from(type_modifier).unwrap_or(i32::MAX as u32);
                if length > 1 {
                    FieldCodec::Bits { length }
                } else {
                    FieldCodec::BitBool
                }
            }
            TypeKind::Hstore => match config.hstore_handling {
                HstoreHandling::Json => FieldCodec::HstoreJson,
                HstoreHandling::Map => FieldCodec::HstoreMap,
            },
            TypeKind::Enum(labels) => FieldCodec::Enum { allowed: labels.join(",") },
            TypeKind::Array(element) => {
                FieldCodec::Array(Box::new(Self::for_type(element, type_modifier, config)))
            }
        }
    }

    /// The JSON for one cell.
    /// What Debezium writes for a NOT NULL column that has no value in an image (the non-key columns of a delete's
    /// before image under REPLICA IDENTITY DEFAULT): its value converters' fallback, zero or empty of the type, so
    /// the required field holds a value, as Connect's converters (JSON with schemas, Avro) demand.
    pub(crate) fn fallback(&self) -> J {
        use FieldCodec as C;
        match self {
            C::Bool | C::BitBool => J::Bool(false),
            C::Int16 | C::Int32 | C::Int64 => J::from(0),
            C::Date { .. } | C::TimeMillis { .. } | C::TimeMicros => J::from(0),
            C::TimestampMillis { .. } | C::TimestampMicros | C::IntervalMicros => J::from(0),
            C::Float32 | C::Float64 | C::DecimalDouble => J::from(0.0),
            // The unscaled zero as one big-endian byte, base64.
            C::Decimal { .. } => J::from("AA=="),
            C::VariableDecimal => serde_json::json!({ "scale": 0, "value": "AA==" }),
            C::DecimalString => J::from("0"),
            C::ZonedTimestamp { .. } => J::from("1970-01-01T00:00:00Z"),
            C::ZonedTime => J::from("00:00:00Z"),
            C::Text | C::Uuid | C::Json | C::Enum { .. } | C::IntervalIso | C::HstoreJson => J::from(""),
            C::Binary(_) | C::Bits { .. } => J::from(""),
            C::HstoreMap => J::Object(serde_json::Map::new()),
            C::Array(_) => J::Array(Vec::new()),
        }
    }

    /// `value` of a column that may not be null: a missing one (null) is written as [`FieldCodec::fallback`].
    pub(crate) fn encode_required(&self, value: &Value, nullable: bool) -> J {
        match value {
            Value::Null if !nullable => self.fallback(),
            value => self.encode(value),
        }
    }

    pub(crate) fn encode(&self, value: &Value) -> J {
        match value {
            Value::Null => J::Null,
            Value::Unchanged => self.placeholder(),
            _ => self.encode_present(value).unwrap_or_else(|| natural(value)),
        }
    }

    /// [`FieldCodec::write_required`]'s bytes for a cell that may be null.
    pub(crate) fn write(&self, value: &Value, out: &mut Vec<u8>) {
        use FieldCodec as C;
        match (self, value) {
            (_, Value::Null) => out.extend_from_slice(b"null"),
            (C::Bool, Value::Bool(b)) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            (C::Int16 | C::Int32 | C::Int64, Value::Int16(v)) => write_integer(*v, out),
            (C::Int16 | C::Int32 | C::Int64, Value::Int32(v)) => write_integer(*v, out),
            (C::Int16 | C::Int32 | C::Int64, Value::Int64(v)) => write_integer(*v, out),
            (C::Text | C::Uuid | C::Json | C::Enum { .. }, _) => match text(value) {
                Some(text) => write_string(text, out),
                None => self.write_encoded(value, out),
            },
            (
                C::Decimal { scale, .. },
                Value::Numeric(Numeric::Finite(text)) | Value::Money(Numeric::Finite(text)),
            ) => match decimal::unscaled_i128_bytes(text, *scale) {
                Some((bytes, start)) => write_base64(bytes.get(start..).unwrap_or_default(), out),
                None => self.write_encoded(value, out),
            },
            (
                C::ZonedTimestamp { fraction_digits },
                Value::TimestampTz(TimestampValue::Micros(micros))
                | Value::Timestamp(TimestampValue::Micros(micros)),
            ) => {
                out.push(b'"');
                temporal::write_zoned_timestamp(*micros, fraction(*fraction_digits), out);
                out.push(b'"');
            }
            _ => self.write_encoded(value, out),
        }
    }

    /// Appends the JSON of [`FieldCodec::encode_required`] to `out`: the byte writer's path. The cells every
    /// table has (integers, text, fixed-scale decimals, timestamps) are written directly; building their
    /// `serde_json::Value` first cost an allocation or more per cell. Every other cell goes through `encode`.
    pub(crate) fn write_required(&self, value: &Value, nullable: bool, out: &mut Vec<u8>) {
        match value {
            Value::Null if !nullable => {
                let _ = serde_json::to_writer(&mut *out, &self.fallback());
            }
            value => self.write(value, out),
        }
    }

    fn write_encoded(&self, value: &Value, out: &mut Vec<u8>) {
        let _ = serde_json::to_writer(&mut *out, &self.encode(value));
    }

    /// `None` when the value's variant does not fit this codec.
    fn encode_present(&self, value: &Value) -> Option<J> {
        use FieldCodec as C;
        Some(match (self, value) {
            (C::Bool, Value::Bool(b)) => J::Bool(*b),
            (C::Int16 | C::Int32 | C::Int64, _) => integer(value)?,
            (C::Float32 | C::Float64, Value::Float32(f)) => float32(*f),
            (C::Float32 | C::Float64, Value::Float64(f)) => float64(*f),
            (C::Decimal { scale, .. }, Value::Numeric(n) | Value::Money(n)) => decimal_bytes(n, *scale),
            (C::VariableDecimal, Value::Numeric(n) | Value::Money(n)) => variable_decimal(n),
            (C::DecimalString, Value::Numeric(n) | Value::Money(n)) => decimal_string(n),
            (C::DecimalDouble, Value::Numeric(n) | Value::Money(n)) => decimal_double(n),
            (C::Text | C::Uuid | C::Json | C::Enum { .. }, _) => J::String(text(value)?.to_owned()),
            (C::Binary(mode), Value::Bytes(bytes)) => binary(*mode, bytes),
            (C::BitBool, Value::Bits(bits)) => J::Bool(bits.contains('1')),
            (C::Bits { .. }, Value::Bits(bits)) => J::String(STANDARD.encode(bits_little_endian(bits))),
            (C::Date { .. }, Value::Date(date)) => J::from(match date {
                DateValue::Days(days) => *days,
                DateValue::PosInfinity => i32::MAX,
                DateValue::NegInfinity => i32::MIN,
            }),
            (C::TimeMillis { .. }, Value::Time(micros)) => J::from(micros / 1_000),
            (C::TimeMicros, Value::Time(micros)) => J::from(*micros),
            (C::ZonedTime, Value::TimeTz { micros, offset_seconds }) => {
                J::String(temporal::zoned_time(*micros, *offset_seconds))
            }
            (C::TimestampMillis { .. }, Value::Timestamp(ts) | Value::TimestampTz(ts)) => {
                J::from(epoch(ts, |micros| micros.div_euclid(1_000)))
            }
            (C::TimestampMicros, Value::Timestamp(ts) | Value::TimestampTz(ts)) => {
                J::from(epoch(ts, |micros| micros))
            }
            (C::ZonedTimestamp { fraction_digits }, Value::TimestampTz(ts) | Value::Timestamp(ts)) => {
                zoned_timestamp(ts, *fraction_digits)
            }
            (C::IntervalMicros, Value::Interval { months, days, micros }) => {
                J::from(temporal::interval_micros(*months, *days, *micros))
            }
            (C::IntervalIso, Value::Interval { months, days, micros }) => {
                J::String(temporal::interval_iso(*months, *days, *micros))
            }
            (C::HstoreJson, Value::Hstore(pairs)) => J::String(hstore_object(pairs).to_string()),
            (C::HstoreMap, Value::Hstore(pairs)) => hstore_object(pairs),
            (C::Array(element), Value::Array(items)) => {
                J::Array(items.iter().map(|v| element.encode_element(v)).collect())
            }
            _ => return None,
        })
    }

    /// An array element; a nested array (a multi-dimensional PostgreSQL array) keeps the element codec.
    fn encode_element(&self, value: &Value) -> J {
        match value {
            Value::Array(items) if !matches!(self, FieldCodec::Array(_)) => {
                J::Array(items.iter().map(|v| self.encode_element(v)).collect())
            }
            _ => self.encode(value),
        }
    }

    /// What an unchanged TOASTed cell of this column carries (see the module documentation).
    pub(crate) fn placeholder(&self) -> J {
        use FieldCodec as C;
        let bytes = UNAVAILABLE_VALUE_PLACEHOLDER.as_bytes();
        match self {
            C::Binary(mode) => binary(*mode, bytes),
            C::Decimal { .. } | C::Bits { .. } => J::String(STANDARD.encode(bytes)),
            C::VariableDecimal => json!({ "scale": 0, "value": STANDARD.encode(bytes) }),
            C::HstoreJson => J::String(placeholder_map().to_string()),
            C::HstoreMap => placeholder_map(),
            C::Array(element) => J::Array(element.array_placeholder()),
            _ => J::String(UNAVAILABLE_VALUE_PLACEHOLDER.to_owned()),
        }
    }

    /// Debezium's `UnchangedToastedPlaceholder.getArrayValue`, keyed on the element's Connect type.
    fn array_placeholder(&self) -> Vec<J> {
        use FieldCodec as C;
        let per_byte = |f: fn(u8) -> J| UNAVAILABLE_VALUE_PLACEHOLDER.bytes().map(f).collect();
        match self {
            C::Int16 | C::Int32 | C::Int64 | C::Date { .. } | C::TimeMillis { .. } | C::TimeMicros => {
                per_byte(J::from)
            }
            C::TimestampMillis { .. } | C::TimestampMicros | C::IntervalMicros => per_byte(J::from),
            C::Float32 | C::Float64 | C::DecimalDouble => per_byte(|b| J::from(f64::from(b))),
            C::Bool | C::BitBool => per_byte(|b| J::Bool(b != 0)),
            C::Decimal { .. } => per_byte(|b| J::String(STANDARD.encode([b]))),
            C::VariableDecimal => per_byte(|b| json!({ "scale": 0, "value": STANDARD.encode([b]) })),
            C::Uuid => vec![J::String(UUID_PLACEHOLDER.to_owned())],
            C::Binary(BinaryHandling::Bytes) | C::Bits { .. } => {
                vec![J::String(STANDARD.encode(UNAVAILABLE_VALUE_PLACEHOLDER))]
            }
            // No Debezium representation: the element's own placeholder.
            C::HstoreMap | C::Array(_) => vec![self.placeholder()],
            // Every other element is a Connect string: the placeholder text itself.
            _ => vec![J::String(UNAVAILABLE_VALUE_PLACEHOLDER.to_owned())],
        }
    }
}

fn integer(value: &Value) -> Option<J> {
    Some(match value {
        Value::Int16(v) => J::from(*v),
        Value::Int32(v) => J::from(*v),
        Value::Int64(v) => J::from(*v),
        Value::Oid(v) => J::from(*v),
        _ => return None,
    })
}

fn text(value: &Value) -> Option<&str> {
    match value {
        Value::Text(s)
        | Value::Uuid(s)
        | Value::Json(s)
        | Value::Inet(s)
        | Value::MacAddr(s)
        | Value::Enum(s)
        | Value::Other(s) => Some(s),
        _ => None,
    }
}

/// A double as Jackson writes it: a number, or the strings `NaN`, `Infinity`, `-Infinity`.
fn float64(f: f64) -> J {
    match serde_json::Number::from_f64(f) {
        Some(n) => J::Number(n),
        None if f.is_nan() => J::String("NaN".into()),
        None if f > 0.0 => J::String("Infinity".into()),
        None => J::String("-Infinity".into()),
    }
}

/// A float through its shortest decimal form, so `1.1f32` is `1.1` and not `1.100000023841858`.
fn float32(f: f32) -> J {
    if f.is_finite() {
        float64(f.to_string().parse().unwrap_or(f64::from(f)))
    } else {
        float64(f64::from(f))
    }
}

fn decimal_bytes(n: &Numeric, scale: i64) -> J {
    match n {
        Numeric::Finite(text) => match Decimal::parse(text) {
            Some(d) => J::String(STANDARD.encode(d.rescale(scale).unscaled_twos_complement())),
            None => J::String(text.clone()),
        },
        Numeric::NaN | Numeric::PosInfinity | Numeric::NegInfinity => J::Null,
    }
}

fn variable_decimal(n: &Numeric) -> J {
    match n {
        Numeric::Finite(text) => match Decimal::parse(text) {
            Some(d) => {
                let d = d.strip_trailing_zeros();
                json!({ "scale": d.scale(), "value": STANDARD.encode(d.unscaled_twos_complement()) })
            }
            None => J::String(text.clone()),
        },
        Numeric::NaN | Numeric::PosInfinity | Numeric::NegInfinity => J::Null,
    }
}

fn decimal_string(n: &Numeric) -> J {
    J::String(match n {
        Numeric::Finite(text) => text.clone(),
        Numeric::NaN => "NAN".into(),
        Numeric::PosInfinity => "POSITIVE_INFINITY".into(),
        Numeric::NegInfinity => "NEGATIVE_INFINITY".into(),
    })
}

fn decimal_double(n: &Numeric) -> J {
    float64(match n {
        Numeric::Finite(text) => match text.trim().parse::<f64>() {
            Ok(f) => f,
            Err(_) => return J::String(text.clone()),
        },
        Numeric::NaN => f64::NAN,
        Numeric::PosInfinity => f64::INFINITY,
        Numeric::NegInfinity => f64::NEG_INFINITY,
    })
}

fn binary(mode: BinaryHandling, bytes: &[u8]) -> J {
    J::String(match mode {
        BinaryHandling::Bytes | BinaryHandling::Base64 => STANDARD.encode(bytes),
        BinaryHandling::Base64UrlSafe => URL_SAFE.encode(bytes),
        BinaryHandling::Hex => bytes.iter().map(|b| format!("{b:02x}")).collect(),
    })
}

/// Debezium's `Bits`: the bit string read as a binary number (last character = bit 0), its bytes least
/// significant first, as long as its highest set bit needs (`java.util.BitSet.toByteArray()`): `101` →
/// `[0x05]`, `0000` → `[]`.
fn bits_little_endian(bits: &str) -> Vec<u8> {
    let mut bytes = vec![0u8; bits.len().div_ceil(8)];
    for (i, c) in bits.bytes().rev().enumerate() {
        if c == b'1' {
            if let Some(byte) = bytes.get_mut(i / 8) {
                *byte |= 1 << (i % 8);
            }
        }
    }
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    bytes
}

fn epoch(ts: &TimestampValue, unit: impl Fn(i64) -> i64) -> i64 {
    match ts {
        TimestampValue::Micros(micros) => unit(*micros),
        TimestampValue::PosInfinity => i64::MAX,
        TimestampValue::NegInfinity => i64::MIN,
    }
}

fn zoned_timestamp(ts: &TimestampValue, fraction_digits: u32) -> J {
    J::String(match ts {
        TimestampValue::Micros(micros) => temporal::zoned_timestamp(*micros, fraction(fraction_digits)),
        TimestampValue::PosInfinity => "infinity".into(),
        TimestampValue::NegInfinity => "-infinity".into(),
    })
}

/// A `ZonedTimestamp` column's fraction: its precision's digits, or trimmed when it has none.
fn fraction(fraction_digits: u32) -> Fraction {
    if (1..=6).contains(&fraction_digits) {
        Fraction::Fixed(fraction_digits)
    } else {
        Fraction::Trimmed
    }
}

/// An integer through `itoa` (`write!` costs a formatter per field; an envelope has five integers besides cells).
pub(super) fn write_integer(value: impl itoa::Integer, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// `text` as a JSON string. Most cells need no escaping at all; those are found eight bytes at a time and
/// copied whole (serde_json looks every byte up in its escape table). Anything else goes through serde_json.
fn write_string(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    let clean = words.map(|w| u64::from_le_bytes(w.try_into().unwrap_or([b'"'; 8]))).all(needs_no_escape)
        && tail.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\');
    if clean {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
    } else {
        // Serializing a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// True when none of the eight bytes of `word` is a `"`, a `\` or a control character below 0x20 (the bytes
/// JSON escapes). The classic "has a byte less than n" bit trick, exact as a yes/no over the word.
fn needs_no_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let has_byte_below = |word: u64, n: u64| word.wrapping_sub(ONES * n) & !word & HIGH_BITS;
    let has_zero_byte = |word: u64| has_byte_below(word, 1);
    let control = has_byte_below(word, 0x20);
    let quote = has_zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = has_zero_byte(word ^ (ONES * u64::from(b'\\')));
    control | quote | backslash == 0
}

/// `bytes` as a JSON string of their standard base64 (Connect's JSON for bytes); at most 16 bytes.
fn write_base64(bytes: &[u8], out: &mut Vec<u8>) {
    let mut text = [0u8; 24];
    let written = STANDARD.encode_slice(bytes, &mut text).unwrap_or(0);
    out.push(b'"');
    out.extend_from_slice(text.get(..written).unwrap_or_default());
    out.push(b'"');
}

fn hstore_object(pairs: &[(String, Option<String>)]) -> J {
    let map: Map<String, J> = pairs
        .iter()
        .map(|(k, v)| (k.clone(), v.as_ref().map_or(J::Null, |v| J::String(v.clone()))))
        .collect();
    J::Object(map)
}

fn placeholder_map() -> J {
    json!({ UNAVAILABLE_VALUE_PLACEHOLDER: UNAVAILABLE_VALUE_PLACEHOLDER })
}

/// A value written by its own variant, for a cell whose variant does not match its column's codec.
pub(crate) fn natural(value: &Value) -> J {
    match value {
        Value::Null => J::Null,
        Value::Unchanged => J::String(UNAVAILABLE_VALUE_PLACEHOLDER.to_owned()),
        Value::Bool(b) => J::Bool(*b),
        Value::Int16(_) | Value::Int32(_) | Value::Int64(_) | Value::Oid(_) => {
            integer(value).unwrap_or(J::Null)
        }
        Value::Float32(f) => float32(*f),
        Value::Float64(f) => float64(*f),
        Value::Numeric(n) | Value::Money(n) => decimal_string(n),
        Value::Text(_)
        | Value::Uuid(_)
        | Value::Json(_)
        | Value::Inet(_)
        | Value::MacAddr(_)
        | Value::Enum(_)
        | Value::Other(_) => J::String(text(value).unwrap_or_default().to_owned()),
        Value::Bits(bits) => J::String(bits.clone()),
        Value::Bytes(bytes) => J::String(STANDARD.encode(bytes)),
        Value::Date(_) => FieldCodec::Date { connect: false }.encode(value),
        Value::Time(micros) => J::from(*micros),
        Value::TimeTz { .. } => FieldCodec::ZonedTime.encode(value),
        Value::Timestamp(ts) => J::from(epoch(ts, |micros| micros)),
        Value::TimestampTz(ts) => zoned_timestamp(ts, 6),
        Value::Interval { .. } => FieldCodec::IntervalMicros.encode(value),
        Value::Hstore(pairs) => hstore_object(pairs),
        Value::Array(items) => J::Array(items.iter().map(natural).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_exactly_as_serde_json_escapes_them() {
        let mut cases: Vec<String> = vec![
            String::new(),
            "plain".into(),
            "exactly8".into(),
            "sixteen bytes ok".into(),
            "a\"quote".into(),
            "back\\slash".into(),
            "tab\there".into(),
            "line\nbreak".into(),
            "\u{1}\u{1f}\u{7f}".into(),
            "é ü 日本 🎉 and more".into(),
            "\"".into(),
            "0123456\"".into(),
            "01234567\\".into(),
        ];
        // Every byte value that can stand alone in UTF-8, at every position of a 17-byte string.
        for c in (0u8..0x80).map(char::from) {
            for at in 0..17 {
                let mut text: String = "x".repeat(16);
                text.insert(at, c);
                cases.push(text);
            }
        }
        for text in cases {
            let mut written = Vec::new();
            write_string(&text, &mut written);
            assert_eq!(written, serde_json::to_vec(&text).unwrap_or_default(), "{text:?}");
        }
    }
}
