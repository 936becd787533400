//! One cell: JSON as [`FieldCodec::encode`] (or Debezium) wrote it → [`Value`], the inverse of `value.rs`.
//!
//! The codec says how the cell is spelled on the wire; the column's [`PgType`] says which [`Value`] variant it
//! becomes (a Connect string is `Text`, `Inet`, `Enum` … by the column type; an int64 is `Int64` or `Oid`).
//! What cannot come back exactly is listed in the `decode` module documentation.
//!
//! Every function here returns a [`CellError`] rather than panicking: cells come from other people's bytes.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde_json::{Map, Value as J};

use crate::envelope::config::{BinaryHandling, UNAVAILABLE_VALUE_PLACEHOLDER as PLACEHOLDER};
use crate::envelope::decimal::{Decimal, MAX_UNSCALED_BYTES};
use crate::envelope::temporal::{self, MICROS_PER_DAY};
use crate::envelope::value::FieldCodec;
use crate::pgtype::{PgType, TypeKind};
use crate::schema::Column;
use crate::value::{parse_text, DateValue, Numeric, TimestampValue, Value};

/// The most text one record may synthesize beyond its own bytes: the zeros a decimal's scale implies and the
/// padding of `bit(n)` strings. A few bytes of hostile input could otherwise ask for gigabytes.
const MAX_SYNTHESIZED_PER_RECORD: usize = 64 * 1024 * 1024;
/// NUMERIC's largest display scale (`NUMERIC_DSCALE_MAX`); a Connect decimal scale beyond it is not from
/// PostgreSQL.
const MAX_DECIMAL_SCALE: i64 = 16_383;
/// PostgreSQL's longest bit string (`MaxAttrSize` in bits).
const MAX_BIT_LENGTH: usize = 83_886_080;
/// The `pg_type` oid of fixed-length `bit(n)`: its values are padded back to `n` bits.
const BIT_OID: u32 = 1560;
/// Longest excerpt of an offending value quoted in an error (errors end up in dead-letter headers).
const MAX_EXCERPT_CHARS: usize = 60;

/// How a cell is spelled on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CellCodec {
    /// A shape our encoder writes too.
    Field(FieldCodec),
    /// A Connect shape we do not model (Debezium's geometry structs, maps that are not hstore, …): kept as
    /// its JSON text in [`Value::Other`], as the source keeps types it does not know as their text.
    Raw,
}

/// A cell that could not be read: `at` locates it inside the column (`[2]` for an array element, else empty).
#[derive(Debug)]
pub(super) struct CellError {
    pub(super) at: String,
    pub(super) reason: String,
}

impl CellError {
    fn new(reason: impl Into<String>) -> Self {
        CellError { at: String::new(), reason: reason.into() }
    }

    /// "expected …, found <kind> <excerpt>".
    fn expected(what: &str, found: &J) -> Self {
        CellError::new(format!("expected {what}, found {}", describe(found)))
    }

    fn in_element(mut self, index: usize) -> Self {
        self.at = format!("[{index}]{}", self.at);
        self
    }
}

/// The synthesized-text allowance of one record ([`MAX_SYNTHESIZED_PER_RECORD`]).
#[derive(Debug)]
pub(super) struct Budget(usize);

impl Budget {
    pub(super) fn per_record() -> Self {
        Budget(MAX_SYNTHESIZED_PER_RECORD)
    }

    fn spend(&mut self, chars: usize) -> Result<(), CellError> {
        self.0 = self.0.checked_sub(chars).ok_or_else(|| {
            CellError::new(format!(
                "the record expands to more than {MAX_SYNTHESIZED_PER_RECORD} characters of padding"
            ))
        })?;
        Ok(())
    }
}

/// Decodes the cells of one column.
#[derive(Debug, Clone)]
pub(super) struct CellDecoder {
    codec: CellCodec,
    /// What an unchanged TOASTed cell of this column looks like (`FieldCodec::placeholder`), and for a
    /// Connect `Json` column also hstore's (an hstore read without its source type is a `Json` column).
    placeholders: Vec<J>,
    pg_type: PgType,
    /// The scale a `double` decimal is printed at: the column's declared scale (money: 2), when known.
    declared_scale: Option<i64>,
}

impl CellDecoder {
    pub(super) fn new(codec: CellCodec, column: &Column) -> Self {
        let placeholders = match &codec {
            CellCodec::Field(FieldCodec::Json) => {
                vec![FieldCodec::Json.placeholder(), FieldCodec::HstoreJson.placeholder()]
            }
            CellCodec::Field(field) => vec![field.placeholder()],
            CellCodec::Raw => vec![J::String(PLACEHOLDER.to_owned())],
        };
        // An array column's modifier is its element's.
        let declared_scale = match column.pg_type.element().unwrap_or(&column.pg_type).kind {
            TypeKind::Money => Some(2),
            TypeKind::Numeric => column.numeric_precision_scale().map(|(_, scale)| i64::from(scale)),
            _ => None,
        };
        CellDecoder { codec, placeholders, pg_type: column.pg_type.clone(), declared_scale }
    }

    pub(super) fn decode(&self, json: &J, budget: &mut Budget) -> Result<Value, CellError> {
        if json.is_null() {
            return Ok(Value::Null);
        }
        // Any column may carry the bare placeholder text (fixed-width types have no placeholder of their own).
        if json.as_str() == Some(PLACEHOLDER) || self.placeholders.contains(json) {
            return Ok(Value::Unchanged);
        }
        let cell = Cell { ty: &self.pg_type, declared_scale: self.declared_scale };
        match &self.codec {
            CellCodec::Field(codec) => cell.decode(codec, json, budget),
            CellCodec::Raw => Ok(Value::Other(match json {
                J::String(text) => text.clone(),
                other => other.to_string(),
            })),
        }
    }
}

/// The column type a cell (or array element) decodes to.
#[derive(Debug, Clone, Copy)]
struct Cell<'a> {
    ty: &'a PgType,
    declared_scale: Option<i64>,
}

impl Cell<'_> {
    fn decode(self, codec: &FieldCodec, json: &J, budget: &mut Budget) -> Result<Value, CellError> {
        use FieldCodec as C;
        let kind = &self.ty.kind;
        match codec {
            C::Bool => boolean(json).map(Value::Bool),
            C::BitBool => boolean(json).map(|b| Value::Bits(if b { "1" } else { "0" }.to_owned())),
            C::Int16 | C::Int32 | C::Int64 => integer(codec, kind, json),
            C::Float32 => float::<f32>(json).map(Value::Float32),
            C::Float64 => float::<f64>(json).map(Value::Float64),
            C::Decimal { scale, .. } => self.numeric(decimal_bytes(string(json)?, *scale, budget)),
            C::VariableDecimal => self.numeric(variable_decimal(json, budget)),
            C::DecimalString => self.numeric(decimal_string(string(json)?, budget)),
            C::DecimalDouble => self.numeric(decimal_double(json, self.declared_scale, budget)),
            C::Text | C::Uuid | C::Json | C::Enum { .. } => Ok(self.text(string(json)?)),
            C::Binary(mode) => binary(*mode, string(json)?).map(Value::Bytes),
            C::Bits { length } => self.bits(string(json)?, *length, budget),
            C::Date { .. } => date(json),
            C::TimeMillis { .. } => time(json, 1_000),
            C::TimeMicros => time(json, 1),
            C::ZonedTime => zoned_time(string(json)?),
            C::TimestampMillis { .. } => self.timestamp(epoch(json, 1_000)?),
            C::TimestampMicros => self.timestamp(epoch(json, 1)?),
            C::ZonedTimestamp { .. } => self.timestamp(zoned_timestamp(string(json)?)?),
            C::IntervalMicros => Ok(Value::Interval {
                months: 0,
                days: 0,
                micros: json.as_i64().ok_or_else(|| not_i64(json))?,
            }),
            C::IntervalIso => interval_iso(string(json)?),
            C::HstoreJson => {
                let text = string(json)?;
                let object: J = serde_json::from_str(text)
                    .map_err(|_| CellError::expected("a JSON object as text", json))?;
                hstore(&object)
            }
            C::HstoreMap => hstore(json),
            C::Array(element) => self.array(element, json, budget),
        }
    }

    /// A Connect string → the column's text variant. A string for a type that is not text-like (a custom
    /// converter's doing) is read as PostgreSQL's text output when it parses as one, else kept as `Other`.
    fn text(self, text: &str) -> Value {
        let owned = text.to_owned();
        match &self.ty.kind {
            TypeKind::Text => Value::Text(owned),
            TypeKind::Uuid => Value::Uuid(owned),
            TypeKind::Json | TypeKind::Jsonb => Value::Json(owned),
            TypeKind::Inet => Value::Inet(owned),
            TypeKind::MacAddr => Value::MacAddr(owned),
            TypeKind::Enum(_) => Value::Enum(owned),
            TypeKind::Other => Value::Other(owned),
            _ => parse_text(self.ty, text).unwrap_or(Value::Other(owned)),
        }
    }

    fn numeric(self, numeric: Result<Numeric, CellError>) -> Result<Value, CellError> {
        Ok(match self.ty.kind {
            TypeKind::Money => Value::Money(numeric?),
            _ => Value::Numeric(numeric?),
        })
    }

    fn timestamp(self, ts: TimestampValue) -> Result<Value, CellError> {
        Ok(match self.ty.kind {
            TypeKind::TimestampTz => Value::TimestampTz(ts),
            _ => Value::Timestamp(ts),
        })
    }

    /// `io.debezium.data.Bits` → the bit string. `bit(n)` is padded back to its `n` bits; a `varbit` comes back
    /// without the leading zeros the encoding dropped.
    fn bits(self, text: &str, length: u32, budget: &mut Budget) -> Result<Value, CellError> {
        let bytes = binary(BinaryHandling::Bytes, text)?;
        let available = bytes.len().saturating_mul(8);
        let fixed = usize::try_from(length).ok().filter(|_| self.ty.oid == BIT_OID);
        let width = fixed.unwrap_or(available);
        if width > MAX_BIT_LENGTH {
            return Err(CellError::new(format!(
                "a bit string of {width} bits is longer than PostgreSQL allows"
            )));
        }
        let bit = |i: usize| bytes.get(i / 8).is_some_and(|byte| byte >> (i % 8) & 1 == 1);
        if (width..available).any(bit) {
            return Err(CellError::new(format!("bits set beyond the declared length {width}")));
        }
        budget.spend(width)?;
        let mut out: String = (0..width).rev().map(|i| if bit(i) { '1' } else { '0' }).collect();
        if fixed.is_none() {
            let leading = out.bytes().take_while(|&b| b == b'0').count();
            out.drain(..leading);
        }
        Ok(Value::Bits(out))
    }

    /// A JSON array with one codec for every element; a nested array that the element codec does not expect
    /// is a dimension of a multi-dimensional PostgreSQL array (the encoder's `encode_element`).
    fn array(self, element: &FieldCodec, json: &J, budget: &mut Budget) -> Result<Value, CellError> {
        let items = json.as_array().ok_or_else(|| CellError::expected("an array", json))?;
        let cell = Cell { ty: self.ty.element().unwrap_or(self.ty), ..self };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let value = match item {
                J::Null => Ok(Value::Null),
                J::Array(_) if !matches!(element, FieldCodec::Array(_)) => self.array(element, item, budget),
                _ => cell.decode(element, item, budget),
            };
            out.push(value.map_err(|e| e.in_element(i))?);
        }
        Ok(Value::Array(out))
    }
}

fn string(json: &J) -> Result<&str, CellError> {
    json.as_str().ok_or_else(|| CellError::expected("a string", json))
}

fn boolean(json: &J) -> Result<bool, CellError> {
    json.as_bool().ok_or_else(|| CellError::expected("a boolean", json))
}

fn not_i64(json: &J) -> CellError {
    CellError::expected("a 64-bit integer", json)
}

/// Connect integers: the Value follows the column (`oid` is an int64 on the wire), range-checked.
fn integer(codec: &FieldCodec, kind: &TypeKind, json: &J) -> Result<Value, CellError> {
    let n = json.as_i64().ok_or_else(|| not_i64(json))?;
    let range = |target: &str| CellError::new(format!("{n} is out of range for {target}"));
    Ok(match (codec, kind) {
        (_, TypeKind::Oid) => Value::Oid(u32::try_from(n).map_err(|_| range("oid"))?),
        (FieldCodec::Int16, _) => Value::Int16(i16::try_from(n).map_err(|_| range("int16"))?),
        (FieldCodec::Int32, _) => Value::Int32(i32::try_from(n).map_err(|_| range("int32"))?),
        _ => Value::Int64(n),
    })
}

/// A Connect float: a JSON number read from its shortest text (so `1.1` is `1.1f32`, not a rounded
/// `f64`), or Jackson's `NaN`, `Infinity`, `-Infinity`.
fn float<F: std::str::FromStr>(json: &J) -> Result<F, CellError> {
    let text = match json {
        J::Number(n) => n.to_string(),
        J::String(s) if matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity") => s.clone(),
        other => return Err(CellError::expected("a number", other)),
    };
    text.parse().map_err(|_| CellError::new(format!("{text} is not a float")))
}

/// Connect `Decimal`: base64 of the unscaled two's-complement value.
fn decimal_bytes(text: &str, scale: i64, budget: &mut Budget) -> Result<Numeric, CellError> {
    let bytes = binary(BinaryHandling::Bytes, text)?;
    if bytes.len() > MAX_UNSCALED_BYTES {
        return Err(CellError::new(format!("a decimal of {} bytes is longer than any NUMERIC", bytes.len())));
    }
    plain(&Decimal::from_unscaled_twos_complement(&bytes, scale), budget)
}

/// `io.debezium.data.VariableScaleDecimal`: `{"scale": s, "value": <Decimal bytes>}`.
fn variable_decimal(json: &J, budget: &mut Budget) -> Result<Numeric, CellError> {
    let object = json.as_object().ok_or_else(|| CellError::expected("a {scale, value} object", json))?;
    let scale =
        object.get("scale").and_then(J::as_i64).ok_or_else(|| CellError::new("`scale` is not an integer"))?;
    let value =
        object.get("value").and_then(J::as_str).ok_or_else(|| CellError::new("`value` is not a string"))?;
    decimal_bytes(value, scale, budget)
}

/// `decimal.handling.mode=string`: PostgreSQL's text (kept as is), Debezium's `NAN`/`POSITIVE_INFINITY`/
/// `NEGATIVE_INFINITY`, or Java's `1E-7` (rewritten without the exponent).
fn decimal_string(text: &str, budget: &mut Budget) -> Result<Numeric, CellError> {
    if let Some(special) = special_numeric(text) {
        return Ok(special);
    }
    match parse_text(&PgType::new(1700, "numeric", TypeKind::Numeric), text) {
        Ok(Value::Numeric(numeric)) => Ok(numeric),
        _ => plain(&parse_decimal(text)?, budget),
    }
}

/// `decimal.handling.mode=double`: the number's shortest text (`19.99` stays `19.99`), at the column's
/// declared scale when known (`12.5` in a `numeric(10,2)` is `12.50`), else without trailing zeros.
fn decimal_double(json: &J, declared_scale: Option<i64>, budget: &mut Budget) -> Result<Numeric, CellError> {
    let text = match json {
        J::Number(n) => n.to_string(),
        J::String(s) => return special_numeric(s).ok_or_else(|| CellError::expected("a number", json)),
        other => return Err(CellError::expected("a number", other)),
    };
    let decimal = parse_decimal(&text)?;
    let decimal = match declared_scale {
        Some(scale) => decimal.rescale(scale),
        None => decimal.strip_trailing_zeros(),
    };
    plain(&decimal, budget)
}

fn special_numeric(text: &str) -> Option<Numeric> {
    match text {
        "NAN" | "NaN" => Some(Numeric::NaN),
        "POSITIVE_INFINITY" | "Infinity" => Some(Numeric::PosInfinity),
        "NEGATIVE_INFINITY" | "-Infinity" => Some(Numeric::NegInfinity),
        _ => None,
    }
}

fn parse_decimal(text: &str) -> Result<Decimal, CellError> {
    Decimal::parse(text).ok_or_else(|| CellError::new(format!("{} is not a decimal number", excerpt(text))))
}

/// The decimal's plain text, after charging the zeros its scale implies to the record's budget.
fn plain(decimal: &Decimal, budget: &mut Budget) -> Result<Numeric, CellError> {
    let scale = decimal.scale();
    if scale.unsigned_abs() > MAX_DECIMAL_SCALE.unsigned_abs() {
        return Err(CellError::new(format!(
            "decimal scale {scale} is beyond NUMERIC's ±{MAX_DECIMAL_SCALE}"
        )));
    }
    budget.spend(scale.unsigned_abs() as usize)?;
    Ok(Numeric::Finite(decimal.to_plain_string()))
}

/// Lenient base64 (standard or URL-safe alphabet, padding optional), so `bytes`, `base64` and
/// `base64-url-safe` all read back with one decoder; or hexadecimal in either case.
fn binary(mode: BinaryHandling, text: &str) -> Result<Vec<u8>, CellError> {
    const CONFIG: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, CONFIG);
    let decoded = match mode {
        BinaryHandling::Hex => hex(text),
        _ => STANDARD.decode(text).or_else(|_| URL_SAFE.decode(text)).ok(),
    };
    decoded.ok_or_else(|| {
        let what = if mode == BinaryHandling::Hex { "hexadecimal" } else { "base64" };
        CellError::new(format!("{} is not {what}", excerpt(text)))
    })
}

fn hex(text: &str) -> Option<Vec<u8>> {
    let nibble = |b: u8| char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok());
    text.as_bytes()
        .chunks(2)
        .map(|pair| match *pair {
            [hi, lo] => Some((nibble(hi)? << 4) | nibble(lo)?),
            _ => None,
        })
        .collect()
}

/// Days since the epoch; the `int32` extremes are PostgreSQL's infinities.
fn date(json: &J) -> Result<Value, CellError> {
    let days = json.as_i64().and_then(|n| i32::try_from(n).ok());
    Ok(Value::Date(match days.ok_or_else(|| CellError::expected("a 32-bit integer", json))? {
        i32::MAX => DateValue::PosInfinity,
        i32::MIN => DateValue::NegInfinity,
        days => DateValue::Days(days),
    }))
}

/// A time of day in `unit` microseconds, within 00:00:00 ..= 24:00:00.
fn time(json: &J, unit: i64) -> Result<Value, CellError> {
    let n = json.as_i64().ok_or_else(|| not_i64(json))?;
    match n.checked_mul(unit) {
        Some(micros) if (0..=MICROS_PER_DAY).contains(&micros) => Ok(Value::Time(micros)),
        _ => Err(CellError::new(format!("{n} is not a time of day"))),
    }
}

fn zoned_time(text: &str) -> Result<Value, CellError> {
    let (micros, offset_seconds) = temporal::parse_zoned_time(text)
        .ok_or_else(|| CellError::new(format!("{} is not an ISO time with offset", excerpt(text))))?;
    Ok(Value::TimeTz { micros, offset_seconds })
}

/// An epoch count in `unit` microseconds; the `int64` extremes are PostgreSQL's infinities.
fn epoch(json: &J, unit: i64) -> Result<TimestampValue, CellError> {
    match json.as_i64().ok_or_else(|| not_i64(json))? {
        i64::MAX => Ok(TimestampValue::PosInfinity),
        i64::MIN => Ok(TimestampValue::NegInfinity),
        n => n
            .checked_mul(unit)
            .map(TimestampValue::Micros)
            .ok_or_else(|| CellError::new(format!("{n} is out of the timestamp range"))),
    }
}

fn zoned_timestamp(text: &str) -> Result<TimestampValue, CellError> {
    temporal::parse_zoned_timestamp(text)
        .ok_or_else(|| CellError::new(format!("{} is not an ISO timestamp", excerpt(text))))
}

fn interval_iso(text: &str) -> Result<Value, CellError> {
    let (months, days, micros) = temporal::parse_interval_iso(text)
        .ok_or_else(|| CellError::new(format!("{} is not an ISO 8601 interval", excerpt(text))))?;
    Ok(Value::Interval { months, days, micros })
}

/// An object of string (or null) values, in the order written; Debezium's `{"placeholder": "placeholder"}`
/// is an unchanged TOASTed hstore.
fn hstore(json: &J) -> Result<Value, CellError> {
    let object: &Map<String, J> = json.as_object().ok_or_else(|| CellError::expected("an object", json))?;
    let mut pairs = Vec::with_capacity(object.len());
    for (key, value) in object {
        let value = match value {
            J::Null => None,
            J::String(s) => Some(s.clone()),
            other => {
                return Err(CellError::expected(&format!("a string or null for key {}", excerpt(key)), other))
            }
        };
        pairs.push((key.clone(), value));
    }
    if let [(key, Some(value))] = pairs.as_slice() {
        if key == PLACEHOLDER && value == PLACEHOLDER {
            return Ok(Value::Unchanged);
        }
    }
    Ok(Value::Hstore(pairs))
}

/// `a string "abc…"`: the JSON kind and a short excerpt, for error messages.
fn describe(json: &J) -> String {
    match json {
        J::Null => "null".into(),
        J::Bool(b) => format!("a boolean {b}"),
        J::Number(n) => format!("a number {}", excerpt(&n.to_string())),
        J::String(s) => format!("a string {}", excerpt(s)),
        J::Array(items) => format!("an array of {} elements", items.len()),
        J::Object(_) => "an object".into(),
    }
}

/// The text quoted, cut to [`MAX_EXCERPT_CHARS`].
pub(super) fn excerpt(text: &str) -> String {
    match text.char_indices().nth(MAX_EXCERPT_CHARS) {
        Some((cut, _)) => format!("{:?}…", text.get(..cut).unwrap_or_default()),
        None => format!("{text:?}"),
    }
}
