//! `org.apache.kafka.connect.transforms.TimestampConverter$Key` / `$Value`: converts a timestamp field (or
//! the whole key/value) between Unix numbers, formatted strings and Connect's `Date`/`Time`/`Timestamp`.
//!
//! Properties: `field` (default empty: the whole side), `target.type` (required: `string`, `unix`, `Date`,
//! `Time`, `Timestamp`), `format` (a `SimpleDateFormat` pattern, required for `string`; used to format the
//! output and to parse string input), `unix.precision` (`milliseconds`, default, `seconds`, `microseconds`,
//! `nanoseconds`: the unit of Unix input and output), `field.syntax.version` (`V1` only).
//!
//! The input's kind comes from its schema (`Timestamp`, `Date`, `Time` logical types by name, else a
//! `string` is formatted text and an `int64` a Unix number; anything else fails the record, so Debezium's
//! own `io.debezium.time.Date` (`int32` days) does not convert), or without a schema from the JSON value
//! (integer: Unix; string: formatted). Output values are the Connect JSON encodings: `Timestamp` `int64`
//! milliseconds, `Date` `int32` days, `Time` `int32` milliseconds of the day, `unix` `int64` in
//! `unix.precision`, `string` as formatted. `Date` drops the time of day and `Time` the date (UTC). The
//! converted field's schema becomes the target's, keeping the field's optionality; the struct schema is
//! `copySchemaBasics` plus the input's optionality. A null value stays null. Unit conversions truncate
//! toward zero, as `TimeUnit` does.
//!
//! Patterns (UTC, as Kafka sets): `y` (`yy` two-digit, otherwise zero-padded to the count), `M` (numeric),
//! `d`, `H`, `m`, `s`, `S` (milliseconds, zero-padded to the count: `SSSSSS` prints 123 ms as `000123`),
//! `Z` (`+0000`), `X`/`XX`/`XXX` (`Z` in UTC), text in single quotes (`'T'`, `''` for a quote), other
//! non-letters literal. Other pattern letters (names of months and days, `a`, `h`, `k`, `E`, `z`, …) are
//! refused at build time. Parsing is `SimpleDateFormat`'s lenient parse for these fields: out-of-range
//! values roll over (month 13 is January next year), a field followed directly by another numeric field
//! takes exactly its count of digits and otherwise all the digits present, `S` is a count of milliseconds
//! (`SSSSSS` reads `123456` as 123.456 s), a two-digit `yy` year falls within 80 years before and 20 after
//! now, an offset (`Z`: `+hhmm`, `GMT+hh:mm`, `Z`; `X`: `Z`, `+hh`, `+hhmm`, `+hh:mm`) shifts to UTC, and
//! text after the pattern is ignored.
//!
//! Departure: without a schema, `Date`, `Time` and `Timestamp` targets produce their numeric encodings
//! (Kafka produces `java.util.Date` objects, which its schemaless `JsonConverter` cannot serialize).

use chrono::{Datelike, Months, NaiveDate, Timelike};
use serde_json::Value as J;

use super::connect::{
    self, is_optional, is_struct, kind, logical, member, primitive, require_map, struct_like, Side,
};
use super::{DataError, Outcome, Props, Record, Smt, TransformError};

const PURPOSE: &str = "converting timestamp formats";
const MILLIS_PER_DAY: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

#[derive(Debug)]
pub(crate) struct TimestampConverter {
    side: Side,
    field: String,
    target: Kind,
    format: Option<DateFormat>,
    precision: Precision,
}

impl TimestampConverter {
    pub(crate) fn build(side: Side, props: &Props<'_>) -> Result<Self, TransformError> {
        props.required("target.type")?;
        let target =
            match props.choice("target.type", &["string", "unix", "Date", "Time", "Timestamp"], "", false)? {
                "string" => Kind::String,
                "unix" => Kind::Unix,
                "Date" => Kind::Date,
                "Time" => Kind::Time,
                _ => Kind::Timestamp,
            };
        let format = match props.non_blank("format") {
            Some(pattern) => {
                Some(DateFormat::new(pattern).map_err(|reason| props.invalid("format", reason))?)
            }
            None if target == Kind::String => {
                return Err(props.invalid("format", "required when target.type is string"));
            }
            None => None,
        };
        let precision = match props.choice(
            "unix.precision",
            &["milliseconds", "seconds", "microseconds", "nanoseconds"],
            "milliseconds",
            false,
        )? {
            "seconds" => Precision::Seconds,
            "microseconds" => Precision::Micros,
            "nanoseconds" => Precision::Nanos,
            _ => Precision::Millis,
        };
        if props.choice("field.syntax.version", &["V1", "V2"], "V1", true)? == "V2" {
            return Err(
                props.invalid("field.syntax.version", "nested field paths (V2) are not supported; use V1")
            );
        }
        let field = props.get("field").unwrap_or_default().to_owned();
        Ok(TimestampConverter { side, field, target, format, precision })
    }

    fn target_schema(&self, optional: bool) -> J {
        match self.target {
            Kind::String => primitive("string", optional),
            Kind::Unix => primitive("int64", optional),
            Kind::Date => logical("int32", connect::DATE, optional),
            Kind::Time => logical("int32", connect::TIME, optional),
            Kind::Timestamp => logical("int64", connect::TIMESTAMP, optional),
        }
    }

    /// Converts `value` of kind `from` (inferred from the JSON value when `None`); null stays null.
    fn convert(&self, value: &J, from: Option<Kind>) -> Result<J, DataError> {
        if value.is_null() {
            return Ok(J::Null);
        }
        let from = match from {
            Some(kind) => kind,
            None => match value {
                J::Number(n) if n.is_i64() || n.is_u64() => Kind::Unix,
                J::String(_) => Kind::String,
                other => {
                    return Err(DataError::new(format!(
                        "TimestampConverter does not support {} as timestamps",
                        kind(other)
                    )))
                }
            },
        };
        let millis = self.to_millis(value, from)?;
        self.render(millis)
    }

    fn to_millis(&self, value: &J, from: Kind) -> Result<i64, DataError> {
        let integer = |what: &str| {
            value.as_i64().ok_or_else(|| {
                DataError::new(format!("Expected {what} to be an integer, but found {}", kind(value)))
            })
        };
        Ok(match from {
            Kind::Timestamp | Kind::Time => integer("a Timestamp or Time")?,
            Kind::Date => integer("a Date")?.saturating_mul(MILLIS_PER_DAY),
            Kind::Unix => {
                let n = integer("a Unix timestamp")?;
                match self.precision {
                    Precision::Seconds => n.saturating_mul(1_000),
                    Precision::Millis => n,
                    Precision::Micros => n / 1_000,
                    Precision::Nanos => n / 1_000_000,
                }
            }
            Kind::String => {
                let text = value.as_str().ok_or_else(|| {
                    DataError::new(format!(
                        "Expected string timestamp to be a String, but found {}",
                        kind(value)
                    ))
                })?;
                let format = self.format.as_ref().ok_or_else(|| {
                    DataError::new("a string timestamp needs the `format` property to be parsed")
                })?;
                format.parse(text).ok_or_else(|| {
                    DataError::new(format!(
                        "Could not parse timestamp: value ({text}) does not match pattern ({})",
                        format.pattern
                    ))
                })?
            }
        })
    }

    fn render(&self, millis: i64) -> Result<J, DataError> {
        Ok(match self.target {
            Kind::Timestamp => J::from(millis),
            Kind::Unix => J::from(match self.precision {
                Precision::Seconds => millis / 1_000,
                Precision::Millis => millis,
                Precision::Micros => millis.saturating_mul(1_000),
                Precision::Nanos => millis.saturating_mul(1_000_000),
            }),
            Kind::Date => J::from(
                i32::try_from(millis.div_euclid(MILLIS_PER_DAY))
                    .map_err(|_| DataError::new(format!("{millis} ms is out of range for a Date")))?,
            ),
            Kind::Time => J::from(millis.rem_euclid(MILLIS_PER_DAY)),
            Kind::String => {
                let format = self.format.as_ref().ok_or_else(|| DataError::new("no format"))?;
                J::from(
                    format
                        .format(millis)
                        .ok_or_else(|| DataError::new(format!("{millis} ms is out of range")))?,
                )
            }
        })
    }
}

/// The kind of a value with this schema (`timestampTypeFromSchema`).
fn kind_of_schema(schema: &J) -> Result<Kind, DataError> {
    match (connect::name_of(schema), connect::type_of(schema)) {
        (Some(connect::TIMESTAMP), _) => Ok(Kind::Timestamp),
        (Some(connect::DATE), _) => Ok(Kind::Date),
        (Some(connect::TIME), _) => Ok(Kind::Time),
        (_, Some("string")) => Ok(Kind::String),
        (_, Some("int64")) => Ok(Kind::Unix),
        _ => Err(DataError::new(format!(
            "Schema {schema} does not correspond to a known timestamp type format"
        ))),
    }
}

impl Smt for TimestampConverter {
    fn apply(&mut self, record: &mut Record) -> Result<Outcome, DataError> {
        let (schema, payload) = self.side.parts(record);
        match schema {
            None => {
                let Some(payload) = payload else { return Ok(Outcome::Keep) };
                if self.field.is_empty() {
                    *payload = self.convert(payload, None)?;
                } else {
                    let map = require_map(payload, PURPOSE)?;
                    let current = map.get(&self.field).cloned().unwrap_or(J::Null);
                    let converted = self.convert(&current, None)?;
                    map.insert(self.field.clone(), converted);
                }
            }
            Some(schema) if self.field.is_empty() => {
                if let Some(payload) = payload {
                    *payload = self.convert(payload, Some(kind_of_schema(schema)?))?;
                }
                *schema = self.target_schema(is_optional(schema));
            }
            Some(schema) => {
                if !is_struct(schema) {
                    return Err(DataError::new(format!(
                        "Only Struct objects supported for [{PURPOSE}], found a {} schema",
                        connect::type_of(schema).unwrap_or("malformed")
                    )));
                }
                let mut field_kind = None;
                let members = connect::members(schema)
                    .iter()
                    .map(|m| match connect::member_name(m) {
                        Some(name) if name == self.field => {
                            field_kind = Some(kind_of_schema(m));
                            member(self.target_schema(is_optional(m)), name)
                        }
                        _ => m.clone(),
                    })
                    .collect();
                match payload {
                    Some(J::Object(map)) => {
                        if let (Some(kind), Some(value)) = (field_kind, map.get_mut(&self.field)) {
                            *value = self.convert(value, Some(kind?))?;
                        }
                    }
                    Some(J::Null) | None => {}
                    Some(other) => {
                        return Err(DataError::new(format!(
                            "Only Struct objects supported for [{PURPOSE}], found {}",
                            kind(other)
                        )))
                    }
                }
                *schema = struct_like(schema, members, is_optional(schema));
            }
        }
        Ok(Outcome::Keep)
    }
}

/// A `SimpleDateFormat` pattern (the subset in the module doc), always in UTC.
#[derive(Debug)]
struct DateFormat {
    pattern: String,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Number(Field, usize),
    /// `Z`: RFC 822 offset.
    Rfc822Zone,
    /// `X`, `XX`, `XXX`: ISO 8601 offset.
    IsoZone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Milli,
}

impl DateFormat {
    fn new(pattern: &str) -> Result<Self, String> {
        let mut tokens: Vec<Token> = Vec::new();
        let mut literal = String::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    literal.push('\'');
                    i += 2;
                    continue;
                }
                i += 1;
                loop {
                    match (chars.get(i), chars.get(i + 1)) {
                        (Some('\''), Some('\'')) => {
                            literal.push('\'');
                            i += 2;
                        }
                        (Some('\''), _) => {
                            i += 1;
                            break;
                        }
                        (Some(&other), _) => {
                            literal.push(other);
                            i += 1;
                        }
                        (None, _) => return Err("Unterminated quote".into()),
                    }
                }
                continue;
            }
            if !c.is_ascii_alphabetic() {
                literal.push(c);
                i += 1;
                continue;
            }
            let mut count = 1;
            while chars.get(i + count) == Some(&c) {
                count += 1;
            }
            i += count;
            if !literal.is_empty() {
                tokens.push(Token::Literal(std::mem::take(&mut literal)));
            }
            let field = match c {
                'y' => Field::Year,
                'M' if count <= 2 => Field::Month,
                'd' => Field::Day,
                'H' => Field::Hour,
                'm' => Field::Minute,
                's' => Field::Second,
                'S' => Field::Milli,
                'Z' => {
                    tokens.push(Token::Rfc822Zone);
                    continue;
                }
                'X' if count <= 3 => {
                    tokens.push(Token::IsoZone);
                    continue;
                }
                'X' => return Err(format!("invalid ISO 8601 format: length={count}")),
                _ if "GYMLwWDdFEuaHkKhmsSzZX".contains(c) => {
                    return Err(format!(
                        "pattern letter '{c}' ({}) is not supported; supported: yyyy, yy, MM, dd, HH, mm, ss, SSS, \
                         Z, X/XX/XXX and quoted text",
                        std::iter::repeat_n(c, count).collect::<String>()
                    ))
                }
                _ => return Err(format!("Illegal pattern character '{c}'")),
            };
            tokens.push(Token::Number(field, count));
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        Ok(DateFormat { pattern: pattern.to_owned(), tokens })
    }

    fn format(&self, millis: i64) -> Option<String> {
        let t = chrono::DateTime::from_timestamp_millis(millis)?.naive_utc();
        let mut out = String::new();
        for token in &self.tokens {
            match token {
                Token::Literal(text) => out.push_str(text),
                Token::Rfc822Zone => out.push_str("+0000"),
                Token::IsoZone => out.push('Z'),
                Token::Number(field, count) => {
                    let width = *count;
                    let value = match field {
                        Field::Year if width == 2 => {
                            out.push_str(&format!("{:02}", t.year().rem_euclid(100)));
                            continue;
                        }
                        Field::Year => i64::from(t.year()),
                        Field::Month => i64::from(t.month()),
                        Field::Day => i64::from(t.day()),
                        Field::Hour => i64::from(t.hour()),
                        Field::Minute => i64::from(t.minute()),
                        Field::Second => i64::from(t.second()),
                        Field::Milli => i64::from(t.nanosecond() / 1_000_000),
                    };
                    out.push_str(&format!("{value:0width$}"));
                }
            }
        }
        Some(out)
    }

    /// Milliseconds since the epoch, or `None` when `text` does not match.
    fn parse(&self, text: &str) -> Option<i64> {
        let (mut year, mut month, mut day) = (1970_i64, 1_i64, 1_i64);
        let (mut hour, mut minute, mut second, mut milli, mut offset_minutes) =
            (0_i64, 0_i64, 0_i64, 0_i64, 0_i64);
        let mut rest = text;
        for (i, token) in self.tokens.iter().enumerate() {
            match token {
                Token::Literal(literal) => rest = rest.strip_prefix(literal.as_str())?,
                Token::Rfc822Zone | Token::IsoZone => {
                    let (minutes, after) = parse_offset(rest, *token == Token::Rfc822Zone)?;
                    offset_minutes = minutes;
                    rest = after;
                }
                Token::Number(field, count) => {
                    let abutting = matches!(self.tokens.get(i + 1), Some(Token::Number(..)));
                    let available = rest.bytes().take_while(u8::is_ascii_digit).count();
                    let take = if abutting { *count } else { available };
                    if take == 0 || available < take {
                        return None;
                    }
                    let digits = rest.get(..take)?;
                    rest = rest.get(take..)?;
                    let value: i64 = digits.parse().ok()?;
                    match field {
                        Field::Year if *count <= 2 && digits.len() == 2 => year = two_digit_year(value),
                        Field::Year => year = value,
                        Field::Month => month = value,
                        Field::Day => day = value,
                        Field::Hour => hour = value,
                        Field::Minute => minute = value,
                        Field::Second => second = value,
                        Field::Milli => milli = value,
                    }
                }
            }
        }
        // Lenient, as SimpleDateFormat: out-of-range fields roll over into the next larger one.
        let first = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, 1, 1)?;
        let months = month - 1;
        let month_start = if months >= 0 {
            first.checked_add_months(Months::new(u32::try_from(months).ok()?))?
        } else {
            first.checked_sub_months(Months::new(u32::try_from(-months).ok()?))?
        };
        let base = month_start.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
        let offsets = [
            (day - 1).checked_mul(MILLIS_PER_DAY)?,
            hour.checked_mul(3_600_000)?,
            minute.checked_mul(60_000)?,
            second.checked_mul(1_000)?,
            milli,
            (-offset_minutes).checked_mul(60_000)?,
        ];
        offsets.iter().try_fold(base, |acc, d| acc.checked_add(*d))
    }
}

/// `SimpleDateFormat`'s default century for two-digit years: within 80 years before and 20 after now.
fn two_digit_year(value: i64) -> i64 {
    let start = i64::from(chrono::Utc::now().year()) - 80;
    let mut year = start - start.rem_euclid(100) + value;
    if year < start {
        year += 100;
    }
    year
}

/// An offset at the start of `text`: minutes east of UTC and the rest of the text.
fn parse_offset(text: &str, rfc822: bool) -> Option<(i64, &str)> {
    if let Some(rest) = text.strip_prefix('Z') {
        return Some((0, rest));
    }
    let text = if rfc822 {
        match text.get(..3) {
            Some(prefix) if prefix.eq_ignore_ascii_case("GMT") || prefix.eq_ignore_ascii_case("UTC") => {
                let rest = text.get(3..)?;
                if !rest.starts_with(['+', '-']) {
                    return Some((0, rest));
                }
                rest
            }
            _ => text,
        }
    } else {
        text
    };
    let sign = match text.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let rest = text.get(1..)?;
    let digits = |s: &str, n: usize| -> Option<i64> {
        let part = s.get(..n)?;
        part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    let hours = digits(rest, 2)?;
    let rest = rest.get(2..)?;
    let (minutes, rest) = if let Some(m) = rest.strip_prefix(':').and_then(|r| digits(r, 2)) {
        (m, rest.get(3..)?)
    } else if let Some(m) = digits(rest, 2) {
        (m, rest.get(2..)?)
    } else {
        (0, rest)
    };
    Some((sign * (hours * 60 + minutes), rest))
}
