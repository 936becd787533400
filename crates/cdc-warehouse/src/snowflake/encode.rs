//! Values → the staging text Snowflake converts into the target type (see `sql::convert`).
//!
//! The shared [`staging_text`](crate::encode::staging_text) with Snowflake's spellings where they differ:
//! timestamps with a `+00:00` offset, `inf` for infinite floats. Values Snowflake's types cannot hold become NULL
//! (and are counted, so the sink can warn): infinite or BC dates and timestamps, `24:00:00`.

use cdc_core::{DateValue, TimestampValue, Value};

use crate::types::TargetType;

/// The staging text of `value`, or `Err(())` when the target type cannot hold it (staged as NULL).
pub fn staging_text(value: &Value, target: &TargetType) -> Result<Option<String>, Unrepresentable> {
    match value {
        Value::Date(DateValue::PosInfinity | DateValue::NegInfinity)
        | Value::Timestamp(TimestampValue::PosInfinity | TimestampValue::NegInfinity)
        | Value::TimestampTz(TimestampValue::PosInfinity | TimestampValue::NegInfinity)
            if !matches!(target, TargetType::Varchar) =>
        {
            Err(Unrepresentable)
        }
        Value::Time(micros) if *micros >= 86_400_000_000 => Err(Unrepresentable),
        Value::Float32(_) | Value::Float64(_) => {
            Ok(crate::encode::staging_text(value, target).map(|text| match text.as_str() {
                "Infinity" => "inf".to_owned(),
                "-Infinity" => "-inf".to_owned(),
                _ => text,
            }))
        }
        Value::Timestamp(_) | Value::TimestampTz(_) | Value::Date(_) => {
            match crate::encode::staging_text(value, target) {
                Some(text) if text.ends_with(" (BC)") => Err(Unrepresentable),
                Some(text) => Ok(Some(match text.strip_suffix("+00") {
                    Some(utc) => format!("{utc}+00:00"),
                    None => text,
                })),
                None => Ok(None),
            }
        }
        _ => Ok(crate::encode::staging_text(value, target)),
    }
}

/// A value outside the range of its Snowflake type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unrepresentable;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_carry_a_full_offset_and_infinity_is_unrepresentable() {
        let ts = Value::TimestampTz(TimestampValue::Micros(1_704_164_645_678_901));
        assert_eq!(
            staging_text(&ts, &TargetType::TimestampTz),
            Ok(Some("2024-01-02 03:04:05.678901+00:00".into()))
        );
        assert_eq!(
            staging_text(&Value::Timestamp(TimestampValue::PosInfinity), &TargetType::Timestamp),
            Err(Unrepresentable)
        );
        assert_eq!(
            staging_text(&Value::Float64(f64::NEG_INFINITY), &TargetType::Double),
            Ok(Some("-inf".into()))
        );
        assert_eq!(staging_text(&Value::Time(86_400_000_000), &TargetType::Time), Err(Unrepresentable));
    }
}
