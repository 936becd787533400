//! Date, time and interval text in the shapes Debezium's `io.debezium.time.*` types use.
//!
//! Calendar arithmetic is the proleptic Gregorian calendar (PostgreSQL's and `java.time`'s), done on integers
//! so that PostgreSQL's whole range (4713 BC to 294276 AD) formats without a date library. Years are printed
//! as `java.time`'s ISO formatters print them: four digits, a `+` above 9999, a `-` before year 0 (1 BC).
//!
//! The `parse_*` functions read the same shapes back for the decoder by rewriting them into PostgreSQL's own
//! text output and handing that to [`parse_text`], so there is one date parser, not two.

use crate::pgtype::{PgType, TypeKind};
use crate::value::{civil_from_days, parse_text, TimestampValue, Value};

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_MINUTE: i64 = 60 * MICROS_PER_SECOND;
const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;
pub(crate) const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;
/// Beyond any year PostgreSQL stores (5874897 AD); bounds the year arithmetic of the parsers.
const MAX_YEAR: u64 = 10_000_000;
/// Debezium's `MicroDuration.DAYS_PER_MONTH_AVG` (365.25 / 12 = 30.4375 days) in microseconds, exactly.
const MICROS_PER_AVG_MONTH: i64 = 2_629_800 * MICROS_PER_SECOND;

fn push_year(out: &mut Vec<u8>, year: i64) {
    if year > 9_999 {
        out.push(b'+');
    } else if year < 0 {
        out.push(b'-');
    }
    let year = year.unsigned_abs();
    if year > 9_999 {
        out.extend_from_slice(itoa::Buffer::new().format(year).as_bytes());
    } else {
        push_digits(out, year, 4);
    }
}

/// `value` as exactly `width` decimal digits, zero-padded (it must fit): timestamps are encoded per cell, and
/// `format!` here was a visible share of the snapshot's encoding time.
fn push_digits(out: &mut Vec<u8>, value: u64, width: u32) {
    let mut divisor = 10u64.pow(width.saturating_sub(1));
    while divisor > 0 {
        out.push(b'0' + (value / divisor % 10) as u8);
        divisor /= 10;
    }
}

/// How many fraction digits follow the seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fraction {
    /// Exactly this many digits (1..=6), zeros included: `ZonedTimestamp` with a column precision.
    Fixed(u32),
    /// As few as needed, none for whole seconds: `java.time`'s `ISO_LOCAL_TIME`.
    Trimmed,
}

/// `HH:MM:SS[.ffffff]` of a time of day in microseconds (0 ≤ micros ≤ 24 h).
fn push_time(out: &mut Vec<u8>, micros: i64, fraction: Fraction) {
    let hours = micros / MICROS_PER_HOUR;
    let minutes = micros % MICROS_PER_HOUR / MICROS_PER_MINUTE;
    let seconds = micros % MICROS_PER_MINUTE / MICROS_PER_SECOND;
    let sub = micros % MICROS_PER_SECOND;
    push_digits(out, hours.unsigned_abs(), 2);
    out.push(b':');
    push_digits(out, minutes.unsigned_abs(), 2);
    out.push(b':');
    push_digits(out, seconds.unsigned_abs(), 2);
    let sub = sub.unsigned_abs();
    let width = match fraction {
        Fraction::Fixed(width) => width.min(6),
        // Drop trailing zeros: 6 digits minus the zeros that end `sub` (none shown for whole seconds).
        Fraction::Trimmed if sub == 0 => 0,
        Fraction::Trimmed => {
            let mut width = 6;
            let mut rest = sub;
            while rest.is_multiple_of(10) {
                rest /= 10;
                width -= 1;
            }
            width
        }
    };
    if width > 0 {
        out.push(b'.');
        push_digits(out, sub / 10u64.pow(6 - width), width);
    }
}

/// `io.debezium.time.ZonedTimestamp`: `2024-01-02T03:04:05.123456Z` for microseconds since the epoch (UTC).
pub(crate) fn zoned_timestamp(micros: i64, fraction: Fraction) -> String {
    let mut out = Vec::with_capacity(32);
    write_zoned_timestamp(micros, fraction, &mut out);
    ascii(out)
}

/// [`zoned_timestamp`] appended to `out` (ASCII only, so it needs no JSON escaping): the envelope writer's path.
pub(crate) fn write_zoned_timestamp(micros: i64, fraction: Fraction, out: &mut Vec<u8>) {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    push_year(out, year);
    out.push(b'-');
    push_digits(out, u64::from(month), 2);
    out.push(b'-');
    push_digits(out, u64::from(day), 2);
    out.push(b'T');
    push_time(out, micros.rem_euclid(MICROS_PER_DAY), fraction);
    out.push(b'Z');
}

/// The text of bytes the writers above produced: digits and ASCII punctuation only.
fn ascii(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_default()
}

/// `io.debezium.time.ZonedTime`: the time shifted to UTC, such as `08:15:30.5Z` for `10:15:30.5+02`.
pub(crate) fn zoned_time(local_micros: i64, offset_seconds: i32) -> String {
    let utc = local_micros - i64::from(offset_seconds) * MICROS_PER_SECOND;
    // 24:00:00 is a valid PostgreSQL time; keep it rather than wrapping it to 00:00:00 of no day.
    let utc = if utc == MICROS_PER_DAY { utc } else { utc.rem_euclid(MICROS_PER_DAY) };
    let mut out = Vec::with_capacity(20);
    push_time(&mut out, utc, Fraction::Trimmed);
    out.push(b'Z');
    ascii(out)
}

/// `io.debezium.time.MicroDuration`: months count 30.4375 days and days 24 hours. Computed exactly (Debezium
/// goes through a `double`, which agrees for any interval below ~285 years); saturates at the `i64` range.
pub(crate) fn interval_micros(months: i32, days: i32, micros: i64) -> i64 {
    let total = i128::from(months) * i128::from(MICROS_PER_AVG_MONTH)
        + i128::from(days) * i128::from(MICROS_PER_DAY)
        + i128::from(micros);
    i64::try_from(total).unwrap_or(if total < 0 { i64::MIN } else { i64::MAX })
}

/// `io.debezium.time.Interval`: `P<y>Y<m>M<d>DT<h>H<m>M<s>S` with every component present, split the way the
/// PostgreSQL JDBC driver's `PGInterval` splits the server's text (each part truncated toward zero and
/// carrying its own sign), seconds without trailing zeros: `P1Y2M3DT4H5M6.78S`, `P0Y0M0DT0H0M0S`,
/// `P0Y0M-1DT-2H0M0S`.
pub(crate) fn interval_iso(months: i32, days: i32, micros: i64) -> String {
    let years = months / 12;
    let months = months % 12;
    let hours = micros / MICROS_PER_HOUR;
    let minutes = micros % MICROS_PER_HOUR / MICROS_PER_MINUTE;
    let sub_minute = micros % MICROS_PER_MINUTE;
    let sign = if sub_minute < 0 { "-" } else { "" };
    let whole = (sub_minute / MICROS_PER_SECOND).unsigned_abs();
    let fraction = format!("{:06}", (sub_minute % MICROS_PER_SECOND).unsigned_abs());
    let fraction = fraction.trim_end_matches('0');
    let seconds =
        if fraction.is_empty() { format!("{sign}{whole}") } else { format!("{sign}{whole}.{fraction}") };
    format!("P{years}Y{months}M{days}DT{hours}H{minutes}M{seconds}S")
}

/// The inverse of [`zoned_timestamp`] (and `infinity`/`-infinity`): `2024-01-02T03:04:05.123456Z`, a
/// `java.time` year such as `+10000` or `-0001`, and an explicit offset (`+02:00`) instead of `Z`.
pub(crate) fn parse_zoned_timestamp(text: &str) -> Option<TimestampValue> {
    match text {
        "infinity" => return Some(TimestampValue::PosInfinity),
        "-infinity" => return Some(TimestampValue::NegInfinity),
        _ => {}
    }
    let (date, time) = text.split_once('T')?;
    // The year runs up to the first '-' after an optional sign.
    let sign_len = usize::from(date.starts_with(['+', '-']));
    let year_end = sign_len + date.get(sign_len..)?.find('-')?;
    let year: i64 = date.get(..year_end)?.parse().ok().filter(|y: &i64| y.unsigned_abs() <= MAX_YEAR)?;
    let month_day = date.get(year_end..)?;
    let time = utc_offset(time);
    // PostgreSQL prints years ≥ 1 with a ` BC` suffix: ISO year 0 is 1 BC.
    let pg_text = if year <= 0 {
        format!("{:04}{month_day} {time} BC", 1 - year)
    } else {
        format!("{year:04}{month_day} {time}")
    };
    match parse_text(&PgType::new(1184, "timestamptz", TypeKind::TimestampTz), &pg_text).ok()? {
        Value::TimestampTz(ts) => Some(ts),
        _ => None,
    }
}

/// The inverse of [`zoned_time`]: `(local micros, offset seconds)`; `08:15:30.5Z` is offset 0.
pub(crate) fn parse_zoned_time(text: &str) -> Option<(i64, i32)> {
    match parse_text(&PgType::new(1266, "timetz", TypeKind::TimeTz), &utc_offset(text)).ok()? {
        Value::TimeTz { micros, offset_seconds } => Some((micros, offset_seconds)),
        _ => None,
    }
}

/// The inverse of [`interval_iso`]: `(months, days, micros)`. PostgreSQL's iso_8601 interval style is the
/// same grammar, each component signed.
pub(crate) fn parse_interval_iso(text: &str) -> Option<(i32, i32, i64)> {
    match parse_text(&PgType::new(1186, "interval", TypeKind::Interval), text).ok()? {
        Value::Interval { months, days, micros } => Some((months, days, micros)),
        _ => None,
    }
}

/// `…Z` → `…+00`, PostgreSQL's spelling of UTC.
fn utc_offset(text: &str) -> String {
    match text.strip_suffix('Z') {
        Some(local) => format!("{local}+00"),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_the_calendar() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_724), (2024, 1, 2));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        // 4713-11-24 BC is ISO year -4712; 4714-11-24 BC (Julian day 0) is -2 440 588.
        assert_eq!(civil_from_days(-2_440_588), (-4713, 11, 24));
        assert_eq!(civil_from_days(-2_440_222), (-4712, 11, 24));
    }

    #[test]
    fn zoned_timestamps_print_like_java_time() {
        let t = 1_704_164_645_123_456; // 2024-01-02 03:04:05.123456 UTC
        assert_eq!(zoned_timestamp(t, Fraction::Fixed(6)), "2024-01-02T03:04:05.123456Z");
        assert_eq!(zoned_timestamp(t - 123_456, Fraction::Fixed(6)), "2024-01-02T03:04:05.000000Z");
        assert_eq!(zoned_timestamp(t - 3_456, Fraction::Fixed(3)), "2024-01-02T03:04:05.120Z");
        assert_eq!(zoned_timestamp(t - 123_456, Fraction::Trimmed), "2024-01-02T03:04:05Z");
        assert_eq!(zoned_timestamp(-1, Fraction::Fixed(6)), "1969-12-31T23:59:59.999999Z");
        assert_eq!(zoned_timestamp(253_402_300_800_000_000, Fraction::Trimmed), "+10000-01-01T00:00:00Z");
        assert_eq!(zoned_timestamp(-62_198_755_200_000_000, Fraction::Trimmed), "-0001-01-01T00:00:00Z");
    }

    #[test]
    fn zoned_times_are_shifted_to_utc() {
        let local = (10 * 3_600 + 15 * 60 + 30) * MICROS_PER_SECOND + 123_456;
        assert_eq!(zoned_time(local, 0), "10:15:30.123456Z");
        assert_eq!(zoned_time(local, 2 * 3_600), "08:15:30.123456Z");
        assert_eq!(zoned_time(local - 123_456 + 500_000, -14 * 3_600), "00:15:30.5Z");
        assert_eq!(zoned_time(MICROS_PER_DAY, 0), "24:00:00Z");
    }

    #[test]
    fn zoned_text_reads_back() {
        for (micros, fraction) in [
            (1_704_164_645_123_456, Fraction::Fixed(6)),
            (1_704_164_645_120_000, Fraction::Fixed(3)),
            (-1, Fraction::Fixed(6)),
            (253_402_300_800_000_000, Fraction::Trimmed),
            (-62_198_755_200_000_000, Fraction::Trimmed),
            (-62_167_219_200_000_000, Fraction::Trimmed), // 0000-01-01, 1 BC
        ] {
            let text = zoned_timestamp(micros, fraction);
            assert_eq!(parse_zoned_timestamp(&text), Some(TimestampValue::Micros(micros)), "{text}");
        }
        let two_am_utc = Some(TimestampValue::Micros(7_200_000_000));
        assert_eq!(parse_zoned_timestamp("1970-01-01T04:00:00+02:00"), two_am_utc);
        assert_eq!(parse_zoned_timestamp("infinity"), Some(TimestampValue::PosInfinity));
        for bad in [
            "",
            "2024-01-02",
            "2024-01-02T25:00:00Z",
            "+-1-01-01T00:00:00Z",
            "T",
            "x-01-01T00:00:00Z",
            "-9223372036854775808-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_zoned_timestamp(bad), None, "{bad:?}");
        }
        assert_eq!(parse_zoned_time("08:15:30.5Z"), Some((29_730_500_000, 0)));
        assert_eq!(parse_zoned_time("24:00:00Z"), Some((MICROS_PER_DAY, 0)));
        assert_eq!(parse_zoned_time("10:15:30+02"), Some((36_930_000_000, 7_200)));
        assert_eq!(parse_zoned_time("10:15"), None);
        let micros = ((4 * 60 + 5) * 60 + 6) * MICROS_PER_SECOND + 780_000;
        for (months, days, micros) in [(14, 3, micros), (0, 0, 0), (-14, -1, -micros), (0, 0, -500_000)] {
            assert_eq!(parse_interval_iso(&interval_iso(months, days, micros)), Some((months, days, micros)));
        }
    }

    #[test]
    fn intervals_in_both_modes() {
        let micros = ((4 * 60 + 5) * 60 + 6) * MICROS_PER_SECOND + 780_000;
        assert_eq!(interval_iso(14, 3, micros), "P1Y2M3DT4H5M6.78S");
        assert_eq!(interval_iso(0, 0, 0), "P0Y0M0DT0H0M0S");
        assert_eq!(interval_iso(-14, -1, -micros), "P-1Y-2M-1DT-4H-5M-6.78S");
        assert_eq!(interval_iso(0, 0, -500_000), "P0Y0M0DT0H0M-0.5S");
        assert_eq!(interval_micros(1, 0, 0), 2_629_800_000_000);
        assert_eq!(interval_micros(12, 1, 1), 31_557_600_000_000 + MICROS_PER_DAY + 1);
        assert_eq!(interval_micros(i32::MAX, i32::MAX, i64::MAX), i64::MAX);
    }
}
