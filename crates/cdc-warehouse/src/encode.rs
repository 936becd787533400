//! Values → the text a warehouse casts into the target type. Staging every column as text keeps one staging
//! shape for every table and lets the warehouse do the (exact) conversion; `None` is SQL NULL.

use std::borrow::Cow;

use cdc_core::value::civil_from_days;
use cdc_core::{DateValue, Numeric, TimestampValue, Value};

use crate::types::TargetType;

/// The staging text of `value` for a column of type `target`.
pub fn staging_text(value: &Value, target: &TargetType) -> Option<String> {
    staging_text_ref(value, target).map(Cow::into_owned)
}

/// [`staging_text`], borrowed from the value where it already is that text (strings, finite decimals).
pub fn staging_text_ref<'a>(value: &'a Value, target: &TargetType) -> Option<Cow<'a, str>> {
    Some(Cow::Owned(match value {
        Value::Null | Value::Unchanged => return None,
        Value::Bool(b) => b.to_string(),
        Value::Int16(v) => v.to_string(),
        Value::Int32(v) => v.to_string(),
        Value::Int64(v) => v.to_string(),
        Value::Oid(v) => v.to_string(),
        Value::Float32(v) => float(f64::from(*v)),
        Value::Float64(v) => float(*v),
        Value::Numeric(n) | Value::Money(n) => match (n, target) {
            (Numeric::Finite(text), _) => return Some(Cow::Borrowed(text)),
            // DECIMAL has no NaN or infinity; a text column keeps them.
            (_, TargetType::Decimal { .. }) => return None,
            (Numeric::NaN, _) => "NaN".into(),
            (Numeric::PosInfinity, _) => "Infinity".into(),
            (Numeric::NegInfinity, _) => "-Infinity".into(),
        },
        Value::Text(s)
        | Value::Enum(s)
        | Value::Inet(s)
        | Value::MacAddr(s)
        | Value::Bits(s)
        | Value::Other(s)
        | Value::Uuid(s)
        | Value::Json(s) => return Some(Cow::Borrowed(s)),
        Value::Bytes(b) => b.iter().map(|x| format!("{x:02X}")).collect(),
        Value::Date(d) => date(*d),
        Value::Time(micros) => time(*micros),
        Value::TimeTz { micros, offset_seconds } => format!("{}{}", time(*micros), offset(*offset_seconds)),
        Value::Timestamp(ts) => timestamp(ts, ""),
        Value::TimestampTz(ts) => timestamp(ts, "+00"),
        Value::Interval { months, days, micros } => {
            format!("{months} months {days} days {micros} microseconds")
        }
        Value::Hstore(pairs) => serde_json::Value::Object(
            pairs
                .iter()
                .map(|(k, v)| {
                    (k.clone(), v.clone().map_or(serde_json::Value::Null, serde_json::Value::String))
                })
                .collect(),
        )
        .to_string(),
        Value::Array(items) => {
            let elem = match target {
                TargetType::List(elem) => elem.as_ref(),
                other => other,
            };
            serde_json::Value::Array(items.iter().map(|v| json_element(v, elem)).collect()).to_string()
        }
    }))
}

/// An array element as JSON, for a `CAST(json AS T[])`.
fn json_element(value: &Value, elem: &TargetType) -> serde_json::Value {
    match value {
        Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(|v| json_element(v, elem)).collect())
        }
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int16(_) | Value::Int32(_) | Value::Int64(_) | Value::Oid(_) => {
            staging_text(value, elem).and_then(|t| t.parse().ok()).unwrap_or(serde_json::Value::Null)
        }
        other => staging_text(other, elem).map_or(serde_json::Value::Null, serde_json::Value::String),
    }
}

fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        // Shortest text that reads back to the same f64.
        format!("{v:?}")
    }
}

/// Days since 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian; ` (BC)` for years before 1).
fn ymd(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    if y <= 0 {
        format!("{:04}-{m:02}-{d:02} (BC)", 1 - y)
    } else {
        format!("{y:04}-{m:02}-{d:02}")
    }
}

fn date(d: DateValue) -> String {
    match d {
        DateValue::Days(days) => ymd(i64::from(days)),
        DateValue::PosInfinity => "infinity".into(),
        DateValue::NegInfinity => "-infinity".into(),
    }
}

fn time(micros: i64) -> String {
    let (secs, frac) = (micros / 1_000_000, micros % 1_000_000);
    format!("{:02}:{:02}:{:02}.{frac:06}", secs / 3600, secs / 60 % 60, secs % 60)
}

fn offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.abs();
    format!("{sign}{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn timestamp(ts: &TimestampValue, zone: &str) -> String {
    match ts {
        TimestampValue::PosInfinity => "infinity".into(),
        TimestampValue::NegInfinity => "-infinity".into(),
        TimestampValue::Micros(m) => {
            let days = m.div_euclid(86_400_000_000);
            let rest = m.rem_euclid(86_400_000_000);
            let day = ymd(days);
            match day.strip_suffix(" (BC)") {
                Some(day) => format!("{day} {}{zone} (BC)", time(rest)),
                None => format!("{day} {}{zone}", time(rest)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps_read_like_iso() {
        assert_eq!(ymd(0), "1970-01-01");
        assert_eq!(ymd(19_782), "2024-02-29");
        assert_eq!(ymd(-719_528), "0000-01-01".replace("0000-01-01", "0001-01-01 (BC)"));
        assert_eq!(
            timestamp(&TimestampValue::Micros(1_704_164_645_678_901), "+00"),
            "2024-01-02 03:04:05.678901+00"
        );
    }

    #[test]
    fn decimals_without_a_finite_value_are_null() {
        let t = TargetType::Decimal { precision: 10, scale: 2 };
        assert_eq!(staging_text(&Value::Numeric(Numeric::NaN), &t), None);
        assert_eq!(staging_text(&Value::Numeric(Numeric::NaN), &TargetType::Varchar).as_deref(), Some("NaN"));
    }
}
