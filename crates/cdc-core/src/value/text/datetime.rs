//! Dates, times, timestamps and intervals as printed under `DateStyle=ISO, YMD` and `IntervalStyle=iso_8601`.
//!
//! Years print as 4+ digits ≥ 1 with a ` BC` suffix (`0001-01-01 BC` is astronomical year 0), fractions of a
//! second as 1–6 digits with trailing zeros dropped, zones as `+HH[:MM[:SS]]` east of UTC. Days are counted
//! with the proleptic Gregorian "days from civil" formula (H. Hinnant, *chrono-Compatible Low-Level Date
//! Algorithms*) in plain integers, since PostgreSQL's dates reach 5874897 AD and chrono stops at 262143.
//! One range is narrower than PostgreSQL's: timestamps are `i64` micros since 1970, so the last 30 years it
//! allows (after 294247-01-10 04:00:54.775807) are rejected as out of range rather than wrapped.

use super::super::{DateValue, TimestampValue};
use super::{is_digits, Value};

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// Beyond PostgreSQL's last date (5874897 AD), small enough that day arithmetic cannot overflow.
const MAX_YEAR: i64 = 10_000_000;

/// PostgreSQL 17's infinite intervals, stored as it stores them: every field at its maximum (minimum).
const INTERVAL_INFINITY: Value = Value::Interval { months: i32::MAX, days: i32::MAX, micros: i64::MAX };
const INTERVAL_NEG_INFINITY: Value = Value::Interval { months: i32::MIN, days: i32::MIN, micros: i64::MIN };

pub(super) fn parse_date(text: &str) -> Result<DateValue, String> {
    match text {
        "infinity" => return Ok(DateValue::PosInfinity),
        "-infinity" => return Ok(DateValue::NegInfinity),
        _ => {}
    }
    let (ymd, bc) = strip_era(text);
    let days = parse_ymd(ymd, bc)?;
    i32::try_from(days).map(DateValue::Days).map_err(|_| "date out of range".into())
}

pub(super) fn parse_time(text: &str) -> Result<i64, String> {
    parse_clock(text, true)
}

pub(super) fn parse_timetz(text: &str) -> Result<Value, String> {
    let (clock, offset) = split_offset(text).ok_or("missing zone offset")?;
    Ok(Value::TimeTz { micros: parse_clock(clock, true)?, offset_seconds: parse_offset(offset)? })
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]][ BC]` → microseconds since 1970 (UTC when `with_zone`).
pub(super) fn parse_timestamp(text: &str, with_zone: bool) -> Result<TimestampValue, String> {
    match text {
        "infinity" => return Ok(TimestampValue::PosInfinity),
        "-infinity" => return Ok(TimestampValue::NegInfinity),
        _ => {}
    }
    match common_timestamp(text.as_bytes(), with_zone) {
        Some(micros) => Ok(TimestampValue::Micros(micros)),
        None => parse_any_timestamp(text, with_zone),
    }
}

/// [`parse_timestamp`] for every shape, with a message for what is wrong.
fn parse_any_timestamp(text: &str, with_zone: bool) -> Result<TimestampValue, String> {
    let (text, bc) = strip_era(text);
    let (ymd, time) = text.split_once(' ').ok_or("expected `YYYY-MM-DD HH:MM:SS`")?;
    let (clock, offset_seconds) = if with_zone {
        let (clock, offset) = split_offset(time).ok_or("missing zone offset")?;
        (clock, parse_offset(offset)?)
    } else {
        (time, 0)
    };
    let local =
        i128::from(parse_ymd(ymd, bc)?) * i128::from(MICROS_PER_DAY) + i128::from(parse_clock(clock, false)?);
    let utc = local - i128::from(offset_seconds) * i128::from(MICROS_PER_SECOND);
    i64::try_from(utc).map(TimestampValue::Micros).map_err(|_| "timestamp out of range".into())
}

/// The fast path of [`parse_timestamp`] for the shape nearly every cell has, read by position:
/// `YYYY-MM-DD HH:MM:SS[.f…]` with a four-digit year, AD, and for `with_zone` a `+HH` or `+HH:MM` offset.
/// `None` for anything else (and for anything out of range), which the general parser then reads or rejects
/// with its message. Snapshots parse one or more timestamps per row; the general path's splitting was a tenth
/// of a snapshot's CPU.
fn common_timestamp(text: &[u8], with_zone: bool) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(range)?;
        digits.iter().try_fold(0_i64, |n, &d| d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0')))
    };
    let punctuation = [(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':')];
    if !punctuation.iter().all(|&(at, expected)| text.get(at) == Some(&expected)) {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let valid_date = year >= 1 && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
    if !valid_date || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut at = 19;
    let mut fraction = 0;
    if text.get(at) == Some(&b'.') {
        let digits = text.get(at + 1..)?.iter().take_while(|d| d.is_ascii_digit()).count();
        if !(1..=6).contains(&digits) {
            return None;
        }
        fraction = number(at + 1..at + 1 + digits)? * 10_i64.pow(6 - digits as u32);
        at += 1 + digits;
    }
    let offset_seconds = match (with_zone, text.get(at..)?) {
        (false, []) => 0,
        (true, [sign @ (b'+' | b'-'), ..]) => {
            let sign = if *sign == b'-' { -1 } else { 1 };
            let minutes = match text.len() - at {
                3 => 0,
                6 if text.get(at + 3) == Some(&b':') => number(at + 4..at + 6).filter(|&m| m <= 59)?,
                _ => return None,
            };
            sign * (number(at + 1..at + 3)? * 3_600 + minutes * 60)
        }
        _ => return None,
    };
    let clock = ((hour * 60 + minute) * 60 + second) * MICROS_PER_SECOND + fraction;
    Some(days_from_civil(year, month, day) * MICROS_PER_DAY + clock - offset_seconds * MICROS_PER_SECOND)
}

/// `P[nY][nM][nD][T[nH][nM][n[.ffffff]S]]`, each number with its own sign, `PT0S` for zero, as
/// EncodeInterval prints for iso_8601. Only seconds carry a fraction there, so all sums are exact integers.
pub(super) fn parse_interval(text: &str) -> Result<Value, String> {
    match text {
        "infinity" => return Ok(INTERVAL_INFINITY),
        "-infinity" => return Ok(INTERVAL_NEG_INFINITY),
        _ => {}
    }
    let body = text.strip_prefix('P').ok_or("expected an ISO 8601 interval `P…` (IntervalStyle=iso_8601)")?;
    let (date, time) = match body.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date, time),
        Some(_) => return Err("no time units after `T`".into()),
        None if body.is_empty() => return Err("no units after `P`".into()),
        None => (body, ""),
    };
    let (mut months, mut days, mut micros) = (0_i128, 0_i128, 0_i128);
    for (unit, number) in units(date, "YMD")? {
        let n = i128::from(signed_int(number)?);
        match unit {
            'Y' => months += n * 12,
            'M' => months += n,
            _ => days += n,
        }
    }
    for (unit, number) in units(time, "HMS")? {
        micros += match unit {
            'H' => i128::from(signed_int(number)?) * 3_600 * i128::from(MICROS_PER_SECOND),
            'M' => i128::from(signed_int(number)?) * 60 * i128::from(MICROS_PER_SECOND),
            _ => signed_seconds(number)?,
        };
    }
    match (i32::try_from(months), i32::try_from(days), i64::try_from(micros)) {
        (Ok(months), Ok(days), Ok(micros)) => Ok(Value::Interval { months, days, micros }),
        _ => Err("interval out of range".into()),
    }
}

/// Splits `1Y-2M3D` into `[('Y', "1"), ('M', "-2"), ('D', "3")]`; units must follow the order of `allowed`
/// and appear at most once.
fn units<'a>(text: &'a str, allowed: &str) -> Result<Vec<(char, &'a str)>, String> {
    let (mut rest, mut allowed) = (text, allowed);
    let mut out = Vec::new();
    while !rest.is_empty() {
        let at = rest.find(|c: char| c.is_ascii_alphabetic()).ok_or("number without a unit")?;
        let (number, tail) = rest.split_at_checked(at).ok_or("number without a unit")?;
        let mut chars = tail.chars();
        let unit = chars.next().ok_or("number without a unit")?;
        let next = allowed.find(unit).ok_or_else(|| format!("unexpected unit `{unit}`"))?;
        allowed = allowed.get(next + 1..).unwrap_or_default();
        out.push((unit, number));
        rest = chars.as_str();
    }
    Ok(out)
}

fn split_sign(text: &str) -> (bool, &str) {
    match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    }
}

fn signed_int(text: &str) -> Result<i64, String> {
    let (negative, digits) = split_sign(text);
    let n = parse_digits::<i64>(digits)?;
    Ok(if negative { -n } else { n })
}

/// `-6.123456` → -6 123 456 µs; the sign covers the fraction too.
fn signed_seconds(text: &str) -> Result<i128, String> {
    let (negative, unsigned) = split_sign(text);
    let (whole, frac) = match unsigned.split_once('.') {
        Some((whole, frac)) => (whole, parse_fraction(frac)?),
        None => (unsigned, 0),
    };
    let micros = i128::from(parse_digits::<i64>(whole)?) * i128::from(MICROS_PER_SECOND) + i128::from(frac);
    Ok(if negative { -micros } else { micros })
}

/// ASCII digits only (no sign, no spaces), parsed into `T` with its range check.
fn parse_digits<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    if !is_digits(text) {
        return Err(format!("expected digits, found {text:?}"));
    }
    text.parse().map_err(|_| "number out of range".into())
}

fn strip_era(text: &str) -> (&str, bool) {
    match text.strip_suffix(" BC") {
        Some(rest) => (rest, true),
        None => (text, false),
    }
}

/// `YYYY-MM-DD` (four or more year digits, `bc` for the era) → days since 1970-01-01.
fn parse_ymd(text: &str, bc: bool) -> Result<i64, String> {
    let mut parts = text.split('-');
    let (Some(y), Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err("expected `YYYY-MM-DD`".into());
    };
    if y.len() < 4 || m.len() != 2 || d.len() != 2 {
        return Err("expected `YYYY-MM-DD`".into());
    }
    let (year, month, day) = (parse_digits::<i64>(y)?, parse_digits::<i64>(m)?, parse_digits::<i64>(d)?);
    if year == 0 || year > MAX_YEAR {
        return Err("year out of range".into());
    }
    let year = if bc { 1 - year } else { year };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err("no such day".into());
    }
    Ok(days_from_civil(year, month, day))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a valid proleptic Gregorian date (astronomical year).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `HH:MM:SS[.ffffff]` → microseconds since midnight; `24:00:00` only when `allow_24` (time, timetz).
fn parse_clock(text: &str, allow_24: bool) -> Result<i64, String> {
    let (hms, frac) = match text.split_once('.') {
        Some((hms, frac)) => (hms, parse_fraction(frac)?),
        None => (text, 0),
    };
    let mut parts = hms.split(':').map(two_digits);
    let (Some(h), Some(m), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err("expected `HH:MM:SS`".into());
    };
    let (h, m, s) = (h?, m?, s?);
    let past_midnight = h == 24 && (!allow_24 || m + s + frac > 0);
    if h > 24 || m > 59 || s > 59 || past_midnight {
        return Err("time out of range".into());
    }
    Ok(((h * 60 + m) * 60 + s) * MICROS_PER_SECOND + frac)
}

fn two_digits(text: &str) -> Result<i64, String> {
    if text.len() != 2 {
        return Err("expected two digits".into());
    }
    parse_digits(text)
}

/// The 1–6 digits after the decimal point → microseconds.
fn parse_fraction(digits: &str) -> Result<i64, String> {
    if digits.len() > 6 {
        return Err("more than 6 fraction digits".into());
    }
    let value: i64 = parse_digits(digits)?;
    let scale = (digits.len()..6).fold(1, |scale, _| scale * 10);
    Ok(value * scale)
}

/// Splits `12:00:00+05:30` before the sign of its zone offset.
fn split_offset(text: &str) -> Option<(&str, &str)> {
    text.find(['+', '-']).and_then(|at| text.split_at_checked(at))
}

/// `+HH[:MM[:SS]]` or `-…` → seconds east of UTC.
fn parse_offset(text: &str) -> Result<i32, String> {
    let (sign, rest) = match (text.strip_prefix('+'), text.strip_prefix('-')) {
        (Some(rest), _) => (1, rest),
        (_, Some(rest)) => (-1, rest),
        _ => return Err("expected a zone offset `+HH[:MM[:SS]]`".into()),
    };
    if rest.split(':').count() > 3 {
        return Err("expected a zone offset `+HH[:MM[:SS]]`".into());
    }
    let mut seconds = 0;
    for (i, (part, scale)) in rest.split(':').zip([3_600, 60, 1]).enumerate() {
        let value = two_digits(part)?;
        if i > 0 && value > 59 {
            return Err("zone offset out of range".into());
        }
        seconds += value * scale;
    }
    i32::try_from(sign * seconds).map_err(|_| "zone offset out of range".into())
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, NaiveDate, Timelike};
    use proptest::prelude::*;

    use super::super::tests::{bad, ok};
    use super::*;
    use crate::pgtype::TypeKind;

    /// PostgreSQL's first timestamp, 4714-11-24 00:00:00 BC, in micros since 1970 (not 2000, PG's epoch).
    const PG_MIN_MICROS: i64 = -210_866_803_200_000_000;
    /// Year 255 477 AD: inside chrono's range, which ends before PostgreSQL's (294276 AD).
    const CHRONO_SAFE_MAX_MICROS: i64 = 8_000_000_000_000_000_000;

    /// chrono's day count for an astronomical-year date, as a [`Value::Date`].
    fn days(y: i32, m: u32, d: u32) -> Value {
        let date = NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
        let days = (date - NaiveDate::default()).num_days();
        Value::Date(DateValue::Days(i32::try_from(days).expect("in range")))
    }

    /// Formats like timestamp_out under DateStyle=ISO: BC suffix, fraction without trailing zeros.
    fn format_like_postgres(micros: i64, zone: &str) -> String {
        let t = chrono::DateTime::from_timestamp_micros(micros).expect("in chrono's range");
        let (year, era) = if t.year() <= 0 { (1 - t.year(), " BC") } else { (t.year(), "") };
        let frac = match t.nanosecond() / 1_000 {
            0 => String::new(),
            us => format!(".{us:06}").trim_end_matches('0').to_owned(),
        };
        let (mo, d, h, mi, s) = (t.month(), t.day(), t.hour(), t.minute(), t.second());
        format!("{year:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}{frac}{zone}{era}")
    }

    #[test]
    fn dates_count_days_from_1970_across_eras() {
        ok(
            TypeKind::Date,
            &[
                ("1970-01-01", Value::Date(DateValue::Days(0))),
                ("1969-12-31", Value::Date(DateValue::Days(-1))),
                ("2000-02-29", days(2000, 2, 29)),
                ("0001-01-01", Value::Date(DateValue::Days(-719_162))),
                ("0001-12-31 BC", days(0, 12, 31)),
                ("0001-01-01 BC", days(0, 1, 1)),
                ("4714-11-24 BC", days(-4713, 11, 24)),
                ("10000-01-01", days(10_000, 1, 1)),
                ("262142-12-31", days(262_142, 12, 31)),
                ("infinity", Value::Date(DateValue::PosInfinity)),
                ("-infinity", Value::Date(DateValue::NegInfinity)),
            ],
        );
        let last = parse_date("5874897-12-31");
        assert!(matches!(last, Ok(DateValue::Days(d)) if d > 2_145_000_000), "{last:?}");
        bad(
            TypeKind::Date,
            &[
                "",
                "2001-02-29",
                "1900-02-29",
                "2024-13-01",
                "2024-00-10",
                "2024-04-31",
                "0000-01-01",
                "24-01-01",
                "2024-1-01",
                "2024-01-01 AD",
                "+2024-01-01",
                "99999999-01-01",
                "2024/01/01",
                "2024-01-01 00:00:00",
            ],
        );
    }

    #[test]
    fn times_are_micros_since_midnight_up_to_24_00() {
        ok(TypeKind::Time, &[("00:00:00", Value::Time(0)), ("24:00:00", Value::Time(MICROS_PER_DAY))]);
        ok(TypeKind::Time, &[("12:34:56.789", Value::Time(45_296_789_000))]);
        ok(TypeKind::Time, &[("23:59:59.999999", Value::Time(MICROS_PER_DAY - 1))]);
        bad(
            TypeKind::Time,
            &[
                "",
                "24:00:00.000001",
                "25:00:00",
                "12:60:00",
                "12:00:60",
                "12:00",
                "1:00:00",
                "12:00:00.",
                "12:00:00.1234567",
                "12:00:00+00",
                "-1:00:00",
            ],
        );
    }

    #[test]
    fn timetz_offsets_are_seconds_east_of_utc() {
        let tz = |micros, offset_seconds| Value::TimeTz { micros, offset_seconds };
        ok(
            TypeKind::TimeTz,
            &[
                ("12:00:00+00", tz(43_200_000_000, 0)),
                ("12:00:00.5+05:30", tz(43_200_500_000, 19_800)),
                ("00:00:00-03", tz(0, -10_800)),
                ("00:00:00+05:53:28", tz(0, 21_208)),
                ("24:00:00-00:00:30", tz(MICROS_PER_DAY, -30)),
            ],
        );
        bad(
            TypeKind::TimeTz,
            &[
                "12:00:00",
                "12:00:00+5",
                "12:00:00+05:60",
                "12:00:00+",
                "+05",
                "12:00:00+05:00:00:00",
                "12:00:00 +05",
            ],
        );
    }

    #[test]
    fn timestamps_cover_postgres_range_and_eras() {
        let ts = |micros| Value::Timestamp(TimestampValue::Micros(micros));
        ok(
            TypeKind::Timestamp,
            &[
                ("1970-01-01 00:00:00", ts(0)),
                ("2000-01-01 00:00:00.5", ts(946_684_800_500_000)),
                ("1969-12-31 23:59:59.999999", ts(-1)),
                ("4714-11-24 00:00:00 BC", ts(PG_MIN_MICROS)),
                ("294247-01-10 04:00:54.775807", ts(i64::MAX)),
                ("infinity", Value::Timestamp(TimestampValue::PosInfinity)),
                ("-infinity", Value::Timestamp(TimestampValue::NegInfinity)),
            ],
        );
        bad(TypeKind::Timestamp, &["2024-01-01", "2024-01-01T00:00:00", "2024-02-30 00:00:00"]);
        bad(TypeKind::Timestamp, &["2024-01-01 24:00:00", "2024-01-01 00:00:00+00"]);
        // PostgreSQL goes on to 294276-12-31, but i64 micros since 1970 end here: an error, not a wrap.
        bad(TypeKind::Timestamp, &["294247-01-10 04:00:54.775808", "294276-12-31 23:59:59"]);
    }

    #[test]
    fn timestamptz_converts_any_offset_to_utc() {
        let ts = |micros| Value::TimestampTz(TimestampValue::Micros(micros));
        let ides = NaiveDate::from_ymd_opt(-43, 3, 15).and_then(|d| d.and_hms_opt(12, 0, 0));
        let ides = ides.expect("valid").and_utc().timestamp_micros();
        ok(
            TypeKind::TimestampTz,
            &[
                ("2024-01-01 00:00:00+00", ts(1_704_067_200_000_000)),
                ("2024-01-01 05:30:00+05:30", ts(1_704_067_200_000_000)),
                ("2023-12-31 23:59:30-00:00:30", ts(1_704_067_200_000_000)),
                ("0044-03-15 12:00:00+00 BC", ts(ides)),
            ],
        );
        bad(TypeKind::TimestampTz, &["2024-01-01 00:00:00", "2024-01-01 00:00:00 +00"]);
    }

    #[test]
    fn intervals_read_iso_8601_exactly() {
        let iv = |months, days, micros| Value::Interval { months, days, micros };
        ok(
            TypeKind::Interval,
            &[
                ("PT0S", iv(0, 0, 0)),
                ("P1D", iv(0, 1, 0)),
                ("P1Y2M3DT4H5M6.5S", iv(14, 3, 14_706_500_000)),
                ("P-1Y-2M3DT-4H-5M-6.123456S", iv(-14, 3, -14_706_123_456)),
                ("PT-0.000001S", iv(0, 0, -1)),
                ("P178956970Y7M", iv(i32::MAX, 0, 0)),
                ("PT2562047788H54.775807S", iv(0, 0, i64::MAX)),
                ("PT-2562047788H-54.775808S", iv(0, 0, i64::MIN)),
                ("infinity", INTERVAL_INFINITY),
                ("-infinity", INTERVAL_NEG_INFINITY),
            ],
        );
        bad(TypeKind::Interval, &["", "P", "PT", "1 day", "P1H", "PT1Y", "P1M1Y", "P1D1D", "PT1.5H"]);
        bad(TypeKind::Interval, &["P1.5Y", "PT-S", "P--1D", "P1DT", "P1", "P 1D", "PT1S2S"]);
        bad(TypeKind::Interval, &["PT1.1234567S", "P178956970Y8M", "PT2562047789H", "01:00:00"]);
    }

    proptest! {
        #[test]
        fn the_common_timestamp_path_agrees_with_the_general_parser(
            date in "[0-9]{4}-[01][0-9]-[0-3][0-9]", clock in "[0-2][0-9]:[0-6][0-9]:[0-6][0-9]",
            fraction in "(\\.[0-9]{1,7})?", zone in "([+-][01][0-9](:[0-6][0-9])?)?", bc in "( BC)?",
        ) {
            let text = format!("{date} {clock}{fraction}{zone}{bc}");
            for with_zone in [false, true] {
                if let Some(micros) = common_timestamp(text.as_bytes(), with_zone) {
                    prop_assert_eq!(parse_any_timestamp(&text, with_zone), Ok(TimestampValue::Micros(micros)), "{}", text);
                }
            }
        }

        #[test]
        fn timestamps_formatted_like_postgres_parse_back(micros in PG_MIN_MICROS..CHRONO_SAFE_MAX_MICROS) {
            let naive = format_like_postgres(micros, "");
            prop_assert_eq!(parse_timestamp(&naive, false), Ok(TimestampValue::Micros(micros)), "{}", naive);
            let utc = format_like_postgres(micros, "+00");
            prop_assert_eq!(parse_timestamp(&utc, true), Ok(TimestampValue::Micros(micros)), "{}", utc);
        }
    }
}
