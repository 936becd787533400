//! Parsing of PostgreSQL's text output format into [`Value`]s.
//!
//! pgoutput (without `binary`) and the snapshot's `COPY … TO STDOUT` both hand us each column as the text of
//! the type's output function. That text depends on session settings, so every connection pins them
//! (`postgres::connect::SESSION_SETTINGS`) and this module reads exactly that dialect:
//!
//! | setting              | value       | what it fixes                                                    |
//! |----------------------|-------------|------------------------------------------------------------------|
//! | `DateStyle`          | `ISO, YMD`  | `2024-01-31 12:00:00.5`, years ≥ 1 with a ` BC` suffix           |
//! | `TimeZone`           | `UTC`       | timestamptz prints `+00` (any other offset is still accepted)    |
//! | `IntervalStyle`      | `iso_8601`  | `P1Y2M3DT4H5M6.5S`: every unit labelled, no words to translate   |
//! | `extra_float_digits` | `3`         | floats print enough digits to round-trip exactly                 |
//! | `bytea_output`       | `hex`       | `\x0a0b`                                                         |
//!
//! `lc_monetary` is not pinned, so money accepts any currency symbol around a C/en_US-style amount.
//!
//! Layout: scalars live here; [`datetime`] holds dates, times and intervals (integer calendar arithmetic,
//! because PostgreSQL's range of 4713 BC to 5874897 AD outruns chrono's); [`array`] and [`hstore`] read the
//! two quoted container formats. Nothing here panics on any input: malformed text is a [`ValueParseError`].

mod array;
mod datetime;
mod hstore;

use super::{Numeric, Value};
use crate::pgtype::{PgType, TypeKind};

/// The text could not be read as the column's type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read {text:?} as {type_name}: {reason}")]
pub struct ValueParseError {
    pub type_name: String,
    pub text: String,
    pub reason: String,
}

/// Longest prefix of the offending text kept in a [`ValueParseError`]; a bad 1 MB json must not become a
/// 1 MB log line.
const MAX_ERROR_TEXT_CHARS: usize = 200;

/// Parses `text` as PostgreSQL prints it for `ty` under the session settings in the module doc. SQL NULL is
/// the caller's business (pgoutput and COPY mark it out of band); an unquoted `NULL` inside an array is
/// [`Value::Null`].
pub fn parse_text(ty: &PgType, text: &str) -> Result<Value, ValueParseError> {
    let owned = || text.to_owned();
    let value = match &ty.kind {
        TypeKind::Array(elem) => return array::parse(ty, elem, text),
        TypeKind::Bool => parse_bool(text),
        TypeKind::Int2 => parse_number(text).map(Value::Int16),
        TypeKind::Int4 => parse_number(text).map(Value::Int32),
        TypeKind::Int8 => parse_number(text).map(Value::Int64),
        TypeKind::Oid => parse_number(text).map(Value::Oid),
        TypeKind::Float4 => parse_number(text).map(Value::Float32),
        TypeKind::Float8 => parse_number(text).map(Value::Float64),
        TypeKind::Numeric => parse_numeric(text).map(Value::Numeric),
        TypeKind::Money => parse_money(text).map(Value::Money),
        TypeKind::Text => Ok(Value::Text(owned())),
        TypeKind::Enum(_) => Ok(Value::Enum(owned())),
        TypeKind::Json | TypeKind::Jsonb => Ok(Value::Json(owned())),
        TypeKind::Inet => Ok(Value::Inet(owned())),
        TypeKind::MacAddr => Ok(Value::MacAddr(owned())),
        TypeKind::Other => Ok(Value::Other(owned())),
        TypeKind::Uuid => parse_uuid(text).map(Value::Uuid),
        TypeKind::Bytea => parse_bytea(text).map(Value::Bytes),
        TypeKind::Bit => parse_bits(text).map(Value::Bits),
        TypeKind::Date => datetime::parse_date(text).map(Value::Date),
        TypeKind::Time => datetime::parse_time(text).map(Value::Time),
        TypeKind::TimeTz => datetime::parse_timetz(text),
        TypeKind::Timestamp => datetime::parse_timestamp(text, false).map(Value::Timestamp),
        TypeKind::TimestampTz => datetime::parse_timestamp(text, true).map(Value::TimestampTz),
        TypeKind::Interval => datetime::parse_interval(text),
        TypeKind::Hstore => hstore::parse(text).map(Value::Hstore),
    };
    value.map_err(|reason| error(ty, text, reason))
}

/// [`parse_text`] into `cell`, which holds an earlier value (a recycled row): when the new value is of the same
/// text-valued kind, the cell keeps its `String`'s allocation. The snapshot reuses its rows this way: an
/// allocation on a worker and a free on the pipeline's thread per text cell were a fifth of its CPU.
pub fn parse_text_into(ty: &PgType, text: &str, cell: &mut Value) -> Result<(), ValueParseError> {
    let reusable = match (&ty.kind, &mut *cell) {
        (TypeKind::Text, Value::Text(held))
        | (TypeKind::Enum(_), Value::Enum(held))
        | (TypeKind::Json | TypeKind::Jsonb, Value::Json(held)) => Some(held),
        (TypeKind::Numeric, Value::Numeric(Numeric::Finite(held))) if is_decimal(text) => Some(held),
        _ => None,
    };
    match reusable {
        Some(held) => {
            held.clear();
            held.push_str(text);
        }
        None => *cell = parse_text(ty, text)?,
    }
    Ok(())
}

/// Builds the error for `text` of type `ty`, truncating the text.
fn error(ty: &PgType, text: &str, reason: impl Into<String>) -> ValueParseError {
    let text = match text.char_indices().nth(MAX_ERROR_TEXT_CHARS) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or_default()),
        None => text.to_owned(),
    };
    ValueParseError { type_name: ty.name.clone(), text, reason: reason.into() }
}

fn parse_bool(text: &str) -> Result<Value, String> {
    match text {
        "t" => Ok(Value::Bool(true)),
        "f" => Ok(Value::Bool(false)),
        _ => Err("expected `t` or `f`".into()),
    }
}

/// Integers (range-checked by the target type) and floats. Rust's float syntax covers PostgreSQL's output,
/// including `NaN`, `Infinity`, `-Infinity` and `-0`; `f32` is parsed directly, never rounded via `f64`.
fn parse_number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse().map_err(|_| "not a number in the type's range".into())
}

fn parse_numeric(text: &str) -> Result<Numeric, String> {
    match text {
        "NaN" => Ok(Numeric::NaN),
        "Infinity" => Ok(Numeric::PosInfinity),
        "-Infinity" => Ok(Numeric::NegInfinity),
        _ if is_decimal(text) => Ok(Numeric::Finite(text.to_owned())),
        _ => Err("not a decimal number".into()),
    }
}

/// `[+-]digits[.digits]`, the shape numeric_out prints (never an exponent).
fn is_decimal(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    match unsigned.split_once('.') {
        Some((int, frac)) => is_digits(int) && is_digits(frac),
        None => is_digits(unsigned),
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// cash_out prints `$1,234.56`; a negative amount carries `-` (or parentheses) before or after the currency
/// symbol, depending on the locale. Everything around the digits is symbol or sign; inside, `,` groups.
fn parse_money(text: &str) -> Result<Numeric, String> {
    let first = text.find(|c: char| c.is_ascii_digit()).ok_or("no digits")?;
    let end = text.rfind(|c: char| c.is_ascii_digit()).map_or(first, |last| last + 1);
    let (prefix, amount, suffix) = match (text.get(..first), text.get(first..end), text.get(end..)) {
        (Some(p), Some(a), Some(s)) => (p, a, s),
        _ => return Err("not a money amount".into()),
    };
    if [prefix, suffix].iter().any(|s| s.contains(['.', ','])) {
        return Err("misplaced separator".into());
    }
    let (int, frac) = amount.split_once('.').unwrap_or((amount, ""));
    if !int.bytes().all(|b| b.is_ascii_digit() || b == b',') || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a money amount".into());
    }
    let mut decimal = String::with_capacity(amount.len() + 1);
    if [prefix, suffix].iter().any(|s| s.contains(['-', '('])) {
        decimal.push('-');
    }
    decimal.extend(int.chars().filter(|&c| c != ','));
    if amount.contains('.') {
        decimal.push('.');
        decimal.push_str(frac);
    }
    Ok(Numeric::Finite(decimal))
}

/// uuid_out prints lower-case `8-4-4-4-12` hex; anything else is not from the server.
fn parse_uuid(text: &str) -> Result<String, String> {
    let canonical = text.len() == 36
        && text.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    if canonical {
        Ok(text.to_ascii_lowercase())
    } else {
        Err("expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".into())
    }
}

fn parse_bytea(text: &str) -> Result<Vec<u8>, String> {
    let hex = text.strip_prefix("\\x").ok_or("expected `\\x` hex format (bytea_output=hex)")?;
    let nibble = |b: &u8| char::from(*b).to_digit(16).and_then(|d| u8::try_from(d).ok());
    hex.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some(nibble(hi)? << 4 | nibble(lo)?),
            _ => None,
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| "expected an even number of hex digits".into())
}

fn parse_bits(text: &str) -> Result<String, String> {
    if text.bytes().all(|b| b == b'0' || b == b'1') {
        Ok(text.to_owned())
    } else {
        Err("expected only `0` and `1`".into())
    }
}

/// Whitespace as PostgreSQL's `scanner_isspace` sees it: array_out quotes exactly these, and array_in and
/// hstore_in skip them. Unicode spaces are ordinary characters.
fn is_pg_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0C')
}

/// A read position in a container literal (arrays, hstore).
#[derive(Debug)]
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor { rest: text }
    }

    fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.rest = self.rest.get(c.len_utf8()..).unwrap_or_default();
        Some(c)
    }

    fn eat(&mut self, prefix: &str) -> bool {
        match self.rest.strip_prefix(prefix) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start_matches(is_pg_space);
    }

    /// Everything up to (not including) the first character matching `stop`, or the rest.
    fn take_until(&mut self, stop: impl Fn(char) -> bool) -> &'a str {
        let end = self.rest.find(stop).unwrap_or(self.rest.len());
        let (head, tail) = self.rest.split_at_checked(end).unwrap_or((self.rest, ""));
        self.rest = tail;
        head
    }

    /// A double-quoted string in which `\` takes the next character literally.
    fn quoted(&mut self) -> Result<String, &'static str> {
        if !self.eat("\"") {
            return Err("expected '\"'");
        }
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err("unterminated quoted string"),
                Some('"') => return Ok(out),
                Some('\\') => out.push(self.bump().ok_or("unterminated quoted string")?),
                Some(c) => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Cells a recycled row may hold before `parse_text_into` refills them: every text-valued kind it reuses,
    /// and others.
    fn earlier_cells() -> Vec<Value> {
        vec![
            Value::Null,
            Value::Text("an earlier text".into()),
            Value::Json("{\"earlier\": 1}".into()),
            Value::Enum("earlier".into()),
            Value::Numeric(Numeric::Finite("-12.50".into())),
            Value::Numeric(Numeric::NaN),
            Value::Int64(7),
        ]
    }

    /// Asserts that each text parses as `kind` into the value paired with it, by every entry point.
    pub(super) fn ok(kind: TypeKind, cases: &[(&str, Value)]) {
        let ty = PgType::new(0, "test", kind);
        for (text, want) in cases {
            assert_eq!(parse_text(&ty, text).as_ref(), Ok(want), "parsing {text:?}");
            for mut cell in earlier_cells() {
                let earlier = cell.clone();
                assert_eq!(
                    parse_text_into(&ty, text, &mut cell),
                    Ok(()),
                    "parsing {text:?} into {earlier:?}"
                );
                assert_eq!(&cell, want, "parsing {text:?} into {earlier:?}");
            }
        }
    }

    /// Asserts that each text is rejected as `kind`.
    pub(super) fn bad(kind: TypeKind, texts: &[&str]) {
        let ty = PgType::new(0, "test", kind);
        for text in texts {
            assert!(parse_text(&ty, text).is_err(), "{text:?} should be rejected");
            for mut cell in earlier_cells() {
                assert!(
                    parse_text_into(&ty, text, &mut cell).is_err(),
                    "{text:?} should be rejected into {cell:?}"
                );
            }
        }
    }

    #[test]
    fn bools_are_t_or_f() {
        ok(TypeKind::Bool, &[("t", Value::Bool(true)), ("f", Value::Bool(false))]);
        bad(TypeKind::Bool, &["true", "T", ""]);
    }

    #[test]
    fn integers_are_range_checked() {
        ok(TypeKind::Int2, &[("-32768", Value::Int16(i16::MIN))]);
        ok(TypeKind::Int4, &[("2147483647", Value::Int32(i32::MAX))]);
        ok(TypeKind::Int8, &[("-9223372036854775808", Value::Int64(i64::MIN))]);
        ok(TypeKind::Oid, &[("4294967295", Value::Oid(u32::MAX))]);
        bad(TypeKind::Int2, &["32768", "1.0", ""]);
        bad(TypeKind::Int4, &["2147483648", " 1", "1e3"]);
        bad(TypeKind::Oid, &["-1", "4294967296"]);
    }

    #[test]
    fn floats_keep_specials_and_the_sign_of_zero() {
        let f8 = |text| parse_text(&PgType::new(701, "float8", TypeKind::Float8), text);
        let f4 = |text| parse_text(&PgType::new(700, "float4", TypeKind::Float4), text);
        assert_eq!(f8("1e+300"), Ok(Value::Float64(1e300)));
        assert_eq!(f8("0.30000000000000004"), Ok(Value::Float64(0.1 + 0.2)));
        assert_eq!(f8("Infinity"), Ok(Value::Float64(f64::INFINITY)));
        assert_eq!(f8("-Infinity"), Ok(Value::Float64(f64::NEG_INFINITY)));
        assert!(matches!(f8("NaN"), Ok(Value::Float64(x)) if x.is_nan()));
        assert!(matches!(f8("-0"), Ok(Value::Float64(x)) if x == 0.0 && x.is_sign_negative()));
        assert_eq!(f4("3.4028235e+38"), Ok(Value::Float32(f32::MAX)));
        assert_eq!(f4("0.1"), Ok(Value::Float32(0.1)));
        assert_eq!(f4("-Infinity"), Ok(Value::Float32(f32::NEG_INFINITY)));
        assert!(matches!(f4("NaN"), Ok(Value::Float32(x)) if x.is_nan()));
        assert!(matches!(f4("-0"), Ok(Value::Float32(x)) if x.is_sign_negative()));
        bad(TypeKind::Float8, &["", "abc", "1.5x", "1,5"]);
        bad(TypeKind::Float4, &["", "abc", "1.5x", "1,5"]);
    }

    #[test]
    fn numerics_keep_their_exact_text() {
        let num = |text: &str| Value::Numeric(Numeric::Finite(text.into()));
        let long = format!("{}.{}", "9".repeat(1000), "0".repeat(1000));
        ok(TypeKind::Numeric, &[("0", num("0")), ("-12.50", num("-12.50")), (&long, num(&long))]);
        ok(TypeKind::Numeric, &[("NaN", Value::Numeric(Numeric::NaN))]);
        ok(TypeKind::Numeric, &[("Infinity", Value::Numeric(Numeric::PosInfinity))]);
        ok(TypeKind::Numeric, &[("-Infinity", Value::Numeric(Numeric::NegInfinity))]);
        bad(TypeKind::Numeric, &["", "1e5", "1.", ".5", "--1", " 1", "1,000", "inf", "nan", "1.2.3"]);
    }

    #[test]
    fn money_drops_symbol_and_grouping() {
        let money = |text: &str| Value::Money(Numeric::Finite(text.into()));
        ok(
            TypeKind::Money,
            &[
                ("$1,234.56", money("1234.56")),
                ("-$1,234.56", money("-1234.56")),
                ("$0.00", money("0.00")),
                ("($5.00)", money("-5.00")),
                ("$-5.00", money("-5.00")),
                ("1.234 €", money("1.234")),
                ("-$92,233,720,368,547,758.08", money("-92233720368547758.08")),
            ],
        );
        bad(TypeKind::Money, &["$", "", "$1.2.3", "$1.0,0", "$.50", "$1,0.0,0"]);
    }

    #[test]
    fn strings_pass_through_unchanged() {
        let text = " {\"a\": 1}  ";
        type Wrap = fn(String) -> Value;
        let kinds: [(TypeKind, Wrap); 7] = [
            (TypeKind::Text, Value::Text),
            (TypeKind::Json, Value::Json),
            (TypeKind::Jsonb, Value::Json),
            (TypeKind::Enum(vec!["happy".into()]), Value::Enum),
            (TypeKind::Inet, Value::Inet),
            (TypeKind::MacAddr, Value::MacAddr),
            (TypeKind::Other, Value::Other),
        ];
        for (kind, wrap) in kinds {
            ok(kind, &[(text, wrap(text.to_owned()))]);
        }
    }

    #[test]
    fn uuids_are_validated_and_lowercased() {
        let lower = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        ok(TypeKind::Uuid, &[(lower, Value::Uuid(lower.into()))]);
        ok(TypeKind::Uuid, &[(&lower.to_uppercase(), Value::Uuid(lower.into()))]);
        let braced = format!("{{{lower}}}");
        bad(TypeKind::Uuid, &[&lower.replace('-', ""), &braced, &lower.replace('a', "g"), ""]);
        bad(TypeKind::Uuid, &[&lower.replace('1', "é")]);
    }

    #[test]
    fn bytea_is_hex() {
        ok(TypeKind::Bytea, &[("\\x", Value::Bytes(vec![]))]);
        ok(TypeKind::Bytea, &[("\\x00ffAb", Value::Bytes(vec![0, 255, 0xab]))]);
        bad(TypeKind::Bytea, &["\\x0", "\\xzz", "00ff", "\\000", "\\x é"]);
    }

    #[test]
    fn bits_are_zeros_and_ones() {
        ok(TypeKind::Bit, &[("", Value::Bits("".into())), ("0101", Value::Bits("0101".into()))]);
        bad(TypeKind::Bit, &["012", "1 0"]);
    }

    #[test]
    fn errors_truncate_long_text() {
        let err = parse_text(&PgType::new(23, "int4", TypeKind::Int4), &"é".repeat(10_000));
        let err = err.expect_err("not an int4");
        assert_eq!(err.type_name, "int4");
        assert_eq!(err.text.chars().count(), MAX_ERROR_TEXT_CHARS + 1);
    }

    /// Every built-in type and array type, plus the kinds only the catalog yields and a `box[]`.
    fn every_kind() -> Vec<PgType> {
        let box_type = PgType::new(603, "box", TypeKind::Other);
        let catalog = [TypeKind::Hstore, TypeKind::Enum(vec![]), TypeKind::Other];
        let catalog = catalog.into_iter().chain([TypeKind::Array(Box::new(box_type))]);
        let catalog = catalog.map(|kind| PgType::new(0, "t", kind));
        (0..4_000).filter_map(PgType::builtin).chain(catalog).collect()
    }

    proptest! {
        #[test]
        fn parse_text_never_panics(
            text in prop_oneof![any::<String>(), r#"[-+0-9:. TPYMDHSBCx{}",\\=>NUL$()\[\]]{0,40}"#],
        ) {
            for ty in every_kind() {
                let _ = parse_text(&ty, &text);
            }
        }
    }
}
