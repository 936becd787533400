//! [`Value`]: one typed cell, decoded from the server's text output (pgoutput and snapshot COPY alike).
//!
//! Exactness rules: NUMERIC and money stay decimal text (never `f64`); json keeps the server's text byte for
//! byte; timestamps are integer microseconds. `Unchanged` is the TOAST marker: PostgreSQL did not send the
//! column because an update left a large out-of-line value untouched.

mod text;

pub use text::{parse_text, parse_text_into, ValueParseError};

/// `(year, month, day)` of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A date, or one of PostgreSQL's infinities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateValue {
    /// Days since 1970-01-01.
    Days(i32),
    PosInfinity,
    NegInfinity,
}

/// A timestamp (with or without time zone), or one of PostgreSQL's infinities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampValue {
    /// Microseconds since 1970-01-01 00:00:00 (UTC for `timestamptz`).
    Micros(i64),
    PosInfinity,
    NegInfinity,
}

/// An exact decimal: canonical text such as `-12.50` (trailing zeros kept: `1.0` is not `1.00`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Numeric {
    Finite(String),
    NaN,
    PosInfinity,
    NegInfinity,
}

/// One cell of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// TOAST: the server did not send this column; the value it holds did not change.
    Unchanged,
    Bool(bool),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    Numeric(Numeric),
    /// `money`, as an exact decimal of its amount (the currency symbol and separators removed).
    Money(Numeric),
    Text(String),
    Bytes(Vec<u8>),
    Date(DateValue),
    /// Microseconds since midnight (`24:00:00` is 86 400 000 000).
    Time(i64),
    /// Microseconds since midnight of local time, and the zone's offset east of UTC in seconds.
    TimeTz {
        micros: i64,
        offset_seconds: i32,
    },
    Timestamp(TimestampValue),
    TimestampTz(TimestampValue),
    Interval {
        months: i32,
        days: i32,
        micros: i64,
    },
    /// Canonical lower-case hyphenated text.
    Uuid(String),
    /// json or jsonb text exactly as the server printed it.
    Json(String),
    /// inet/cidr/macaddr as the server prints them.
    Inet(String),
    MacAddr(String),
    /// bit/varbit as a string of `0` and `1`.
    Bits(String),
    Oid(u32),
    Enum(String),
    Hstore(Vec<(String, Option<String>)>),
    /// Elements of a one-dimensional array; a multi-dimensional array nests `Array`s.
    Array(Vec<Value>),
    /// A type the decoder does not know: its text output.
    Other(String),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Roughly the bytes the cell holds on the heap; containers count as too large to keep. Rows are recycled
    /// (their text cells refilled by [`parse_text_into`]) only when they hold little.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::Text(text)
            | Value::Json(text)
            | Value::Enum(text)
            | Value::Uuid(text)
            | Value::Inet(text)
            | Value::MacAddr(text)
            | Value::Bits(text)
            | Value::Other(text)
            | Value::Numeric(Numeric::Finite(text))
            | Value::Money(Numeric::Finite(text)) => text.capacity(),
            Value::Bytes(bytes) => bytes.capacity(),
            Value::Array(_) | Value::Hstore(_) => usize::MAX,
            _ => 0,
        }
    }
}
