//! Exact decimal arithmetic for the `Decimal` and `VariableScaleDecimal` encodings.
//!
//! Kafka Connect's `Decimal` is Java's `BigInteger.toByteArray()` of the unscaled value: minimal big-endian
//! two's complement. PostgreSQL's NUMERIC carries up to 131 072 digits before the point, so the conversion
//! from decimal text to base 256 is done here on arbitrary-length magnitudes (base-2³² limbs, nine decimal
//! digits at a time), without a bignum dependency and without ever going through `f64`. The decoder runs the
//! same conversion backwards ([`Decimal::from_unscaled_twos_complement`], [`Decimal::to_plain_string`]).

/// A finite decimal `(-1)^negative × digits × 10^-scale`, kept exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    negative: bool,
    /// ASCII digits of the unscaled magnitude without leading zeros; empty for zero.
    digits: Vec<u8>,
    scale: i64,
}

/// The largest exponent accepted in `1e…` text; far beyond anything PostgreSQL prints.
const MAX_EXPONENT: i64 = 1_000_000;
/// The longest unscaled value the decoder converts, in bytes. PostgreSQL's NUMERIC holds at most 147 455 digits
/// (about 61 KB); anything longer is not from a NUMERIC, and base-256 → base-10 conversion costs quadratic time.
pub(crate) const MAX_UNSCALED_BYTES: usize = 64 * 1024;

impl Decimal {
    /// Parses `-12.50`, `0.001`, `+7`, `.5` or `1.5e3`; `None` for anything else (including NaN/Infinity).
    pub(crate) fn parse(text: &str) -> Option<Decimal> {
        let text = text.trim();
        let (negative, unsigned) = match text.as_bytes().first()? {
            b'-' => (true, text.get(1..)?),
            b'+' => (false, text.get(1..)?),
            _ => (false, text),
        };
        let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
            Some(at) => {
                let exponent: i64 = unsigned.get(at + 1..)?.parse().ok()?;
                if exponent.abs() > MAX_EXPONENT {
                    return None;
                }
                (unsigned.get(..at)?, exponent)
            }
            None => (unsigned, 0),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part) {
            return None;
        }
        let mut digits: Vec<u8> =
            int_part.bytes().chain(frac_part.bytes()).skip_while(|&b| b == b'0').collect();
        digits.shrink_to_fit();
        let scale = i64::try_from(frac_part.len()).ok()? - exponent;
        Some(Decimal { negative: negative && !digits.is_empty(), digits, scale })
    }

    pub(crate) fn scale(&self) -> i64 {
        self.scale
    }

    /// The same value at `scale` digits after the point, rounding half away from zero when digits are dropped
    /// (Java's `RoundingMode.HALF_UP`).
    pub(crate) fn rescale(&self, scale: i64) -> Decimal {
        let mut digits = self.digits.clone();
        if scale >= self.scale {
            if !digits.is_empty() {
                let zeros = usize::try_from(scale - self.scale).unwrap_or(0);
                digits.resize(digits.len() + zeros, b'0');
            }
        } else {
            let drop = usize::try_from(self.scale - scale).unwrap_or(usize::MAX);
            let keep = digits.len().saturating_sub(drop);
            let round_up = drop <= digits.len() && digits.get(keep).is_some_and(|&d| d >= b'5');
            digits.truncate(keep);
            if round_up {
                increment(&mut digits);
            }
        }
        Decimal { negative: self.negative && !digits.is_empty(), digits, scale }
    }

    /// Java's `stripTrailingZeros()` followed by Debezium's "negative scale becomes 0": the smallest scale ≥
    /// 0 that represents the value exactly.
    pub(crate) fn strip_trailing_zeros(&self) -> Decimal {
        if self.digits.is_empty() {
            return Decimal { negative: false, digits: Vec::new(), scale: 0 };
        }
        if self.scale < 0 {
            return self.rescale(0);
        }
        let trailing = self.digits.iter().rev().take_while(|&&d| d == b'0').count();
        let strip = trailing.min(usize::try_from(self.scale).unwrap_or(usize::MAX));
        let mut digits = self.digits.clone();
        digits.truncate(digits.len() - strip);
        Decimal { negative: self.negative, digits, scale: self.scale - strip as i64 }
    }

    /// The unscaled value as minimal big-endian two's complement (`BigInteger.toByteArray()`): `[0x00]` for
    /// zero, `[0x04, 0xE2]` for 1250, `[0xFF]` for -1.
    pub(crate) fn unscaled_twos_complement(&self) -> Vec<u8> {
        twos_complement(self.negative, &magnitude_bytes(&self.digits))
    }

    /// `new BigDecimal(new BigInteger(bytes), scale)`: the inverse of [`Decimal::unscaled_twos_complement`].
    /// Empty bytes (which Java rejects) read as zero. The caller bounds the length ([`MAX_UNSCALED_BYTES`]).
    pub(crate) fn from_unscaled_twos_complement(bytes: &[u8], scale: i64) -> Decimal {
        let negative = bytes.first().is_some_and(|&b| b & 0x80 != 0);
        let magnitude = if negative { negate(bytes) } else { bytes.to_vec() };
        let digits = decimal_digits(&magnitude);
        Decimal { negative: negative && !digits.is_empty(), digits, scale }
    }

    /// PostgreSQL's `numeric_out` text: no exponent, exactly `scale` digits after the point (`12.50`,
    /// `0.00`), and for a negative scale the unscaled digits followed by that many zeros (`12300`). The text
    /// is about `|scale|` characters longer than the digits; the decoder bounds the scale before calling this.
    pub(crate) fn to_plain_string(&self) -> String {
        let digits: String = self.digits.iter().map(|&d| char::from(d)).collect();
        let mut out = String::with_capacity(digits.len() + self.scale.unsigned_abs() as usize + 3);
        if self.negative {
            out.push('-');
        }
        match usize::try_from(self.scale) {
            Ok(scale) if scale > 0 => {
                let padded = format!("{digits:0>width$}", width = scale + 1);
                let (int, frac) = padded.split_at(padded.len() - scale);
                out.push_str(int);
                out.push('.');
                out.push_str(frac);
            }
            _ if digits.is_empty() => out.push('0'),
            _ => {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', self.scale.unsigned_abs() as usize));
            }
        }
        out
    }
}

/// The magnitude of a negative two's-complement number: invert every byte, then add one.
fn negate(bytes: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = bytes.iter().map(|b| !b).collect();
    for b in out.iter_mut().rev() {
        let (sum, overflow) = b.overflowing_add(1);
        *b = sum;
        if !overflow {
            break;
        }
    }
    out
}

/// Big-endian base-256 magnitude → ASCII decimal digits without leading zeros (empty for zero).
fn decimal_digits(magnitude: &[u8]) -> Vec<u8> {
    const BASE: u64 = 1_000_000_000;
    // Little-endian base-10^9 limbs, fed four bytes at a time: `limb * 2^32 + carry` stays below
    // 10^9 × 2^32 + 2^33 < 2^63.
    let mut limbs: Vec<u64> = Vec::with_capacity(magnitude.len() * 10 / 36 + 1);
    for chunk in magnitude.chunks(4) {
        let mul = 1_u64 << (8 * chunk.len());
        let mut carry = chunk.iter().fold(0_u64, |acc, &b| (acc << 8) | u64::from(b));
        for limb in limbs.iter_mut() {
            let v = *limb * mul + carry;
            *limb = v % BASE;
            carry = v / BASE;
        }
        while carry != 0 {
            limbs.push(carry % BASE);
            carry /= BASE;
        }
    }
    let mut text = String::with_capacity(limbs.len() * 9);
    for (i, limb) in limbs.iter().rev().enumerate() {
        if i == 0 {
            text.push_str(&limb.to_string());
        } else {
            text.push_str(&format!("{limb:09}"));
        }
    }
    let mut digits = text.into_bytes();
    let leading = digits.iter().take_while(|&&d| d == b'0').count();
    digits.drain(..leading);
    digits
}

/// Adds one to a string of ASCII digits (no leading zeros), growing it on carry.
fn increment(digits: &mut Vec<u8>) {
    for d in digits.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return;
        }
    }
    digits.insert(0, b'1');
}

/// Base-10 ASCII digits → minimal big-endian base-256 magnitude (empty for zero).
pub(crate) fn magnitude_bytes(digits: &[u8]) -> Vec<u8> {
    // Little-endian base-2^32 limbs. Each step multiplies by at most 10^9 < 2^30 and adds less than 10^9, so
    // `limb * mul + carry` stays below 2^62 and the carry always fits one limb.
    let mut limbs: Vec<u32> = Vec::with_capacity(digits.len() / 9 + 1);
    for chunk in digits.chunks(9) {
        let mut mul: u64 = 1;
        let mut add: u64 = 0;
        for &d in chunk {
            mul *= 10;
            add = add * 10 + u64::from(d - b'0');
        }
        let mut carry = add;
        for limb in limbs.iter_mut() {
            let v = u64::from(*limb) * mul + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            limbs.push(carry as u32);
        }
    }
    let mut bytes: Vec<u8> = limbs.iter().rev().flat_map(|limb| limb.to_be_bytes()).collect();
    let leading = bytes.iter().take_while(|&&b| b == 0).count();
    bytes.drain(..leading);
    bytes
}

/// A sign and a minimal big-endian magnitude → minimal big-endian two's complement.
fn twos_complement(negative: bool, magnitude: &[u8]) -> Vec<u8> {
    let Some(&top) = magnitude.first() else {
        return vec![0];
    };
    if !negative {
        let mut out = Vec::with_capacity(magnitude.len() + 1);
        if top & 0x80 != 0 {
            out.push(0);
        }
        out.extend_from_slice(magnitude);
        return out;
    }
    // 2^(8n) - magnitude: invert every byte, then add one from the least significant end.
    let mut out: Vec<u8> = magnitude.iter().map(|b| !b).collect();
    for b in out.iter_mut().rev() {
        let (sum, overflow) = b.overflowing_add(1);
        *b = sum;
        if !overflow {
            break;
        }
    }
    // The result is below 2^(8n) and above 2^(8n-1) exactly when its top bit is set; otherwise one more byte
    // of sign is needed (-129 = FF 7F).
    if out.first().is_some_and(|&b| b & 0x80 == 0) {
        out.insert(0, 0xFF);
    }
    out
}

/// The fast path of `Decimal::parse(text)?.rescale(scale).unscaled_twos_complement()` for the plain decimals
/// PostgreSQL prints (`-12.50`, up to 36 digits): the unscaled value as minimal big-endian two's complement in
/// a stack buffer, `(buffer, first byte)`. `None` for anything else (exponents, signs other than a leading
/// `-`, spaces, longer or out-of-range values), which takes the general path. Every NUMERIC cell of a
/// `Decimal` column goes through here, and the general path allocates five times.
pub(crate) fn unscaled_i128_bytes(text: &str, scale: i64) -> Option<([u8; 16], usize)> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digit_count = int_part.len() + frac_part.len();
    if digit_count == 0 || digit_count > 36 {
        return None;
    }
    let mut magnitude: i128 = 0;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        if !b.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude * 10 + i128::from(b - b'0');
    }
    let frac_len = i64::try_from(frac_part.len()).ok()?;
    if scale >= frac_len {
        let zeros = u32::try_from(scale - frac_len).ok()?;
        magnitude = magnitude.checked_mul(10i128.checked_pow(zeros)?)?;
    } else {
        // Rounds half away from zero on the magnitude, as `rescale` does (Java's HALF_UP).
        let drop = u32::try_from(frac_len - scale).ok().filter(|&d| d <= 38)?;
        let first_dropped = magnitude / 10i128.pow(drop - 1) % 10;
        magnitude = magnitude / 10i128.pow(drop) + i128::from(first_dropped >= 5);
    }
    let bytes = if negative { -magnitude } else { magnitude }.to_be_bytes();
    // Minimal: drop a leading 0x00 (0xFF) while the next byte still shows the sign, keeping at least one.
    let start = bytes
        .windows(2)
        .take_while(|pair| {
            matches!(pair, [0x00, next] if next & 0x80 == 0)
                || matches!(pair, [0xFF, next] if next & 0x80 != 0)
        })
        .count();
    Some((bytes, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_i128_fast_path_agrees_with_the_general_path() {
        let cases = [
            "0",
            "-0",
            "0.00",
            "-0.00",
            "12.50",
            "-12.50",
            "1",
            "-1",
            "127",
            "128",
            "-128",
            "-129",
            "255",
            "256",
            "-256",
            "-32768",
            "32767",
            "0.005",
            "-0.005",
            "0.0049",
            "9.995",
            "-9.995",
            "1.5",
            "-1.5",
            ".5",
            "5.",
            "99999999999999999999999999999999.99",
            "-99999999999999999999999999999999.99",
            "170141183460469231731687303715884105727",
            "12345678901234567890123456789012.3456",
        ];
        for text in cases {
            for scale in [0, 1, 2, 3, 5, 10, 38] {
                let general = Decimal::parse(text).map(|d| d.rescale(scale).unscaled_twos_complement());
                let fast = unscaled_i128_bytes(text, scale).map(|(bytes, start)| bytes[start..].to_vec());
                if let Some(fast) = fast {
                    assert_eq!(Some(fast), general, "{text} at scale {scale}");
                }
            }
        }
        // The plain shapes take the fast path; the others fall back.
        assert!(unscaled_i128_bytes("-12.50", 2).is_some());
        for other in
            ["1e3", "+1", " 1", "", "-", ".", "1.2.3", "NaN", "1234567890123456789012345678901234567"]
        {
            assert_eq!(unscaled_i128_bytes(other, 2), None, "{other:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_i128_fast_path_agrees_on_any_plain_decimal(
            negative: bool, int_part in "[0-9]{0,20}", frac_part in "[0-9]{0,12}", point: bool, scale in 0i64..20,
        ) {
            let text = format!("{}{int_part}{}{frac_part}", if negative { "-" } else { "" }, if point { "." } else { "" });
            if let Some((bytes, start)) = unscaled_i128_bytes(&text, scale) {
                let general = Decimal::parse(&text).map(|d| d.rescale(scale).unscaled_twos_complement());
                proptest::prop_assert_eq!(Some(bytes[start..].to_vec()), general, "{} at scale {}", text, scale);
            }
        }
    }

    fn bytes_of(text: &str, scale: i64) -> Vec<u8> {
        Decimal::parse(text).expect("valid decimal").rescale(scale).unscaled_twos_complement()
    }

    #[test]
    fn small_values_match_java_big_integer() {
        assert_eq!(bytes_of("0", 0), [0x00]);
        assert_eq!(bytes_of("12.50", 2), [0x04, 0xE2]);
        assert_eq!(bytes_of("-1", 0), [0xFF]);
        assert_eq!(bytes_of("127", 0), [0x7F]);
        assert_eq!(bytes_of("128", 0), [0x00, 0x80]);
        assert_eq!(bytes_of("-128", 0), [0x80]);
        assert_eq!(bytes_of("-129", 0), [0xFF, 0x7F]);
        assert_eq!(bytes_of("-256", 0), [0xFF, 0x00]);
        assert_eq!(bytes_of("-32768", 0), [0x80, 0x00]);
        assert_eq!(bytes_of("4294967296", 0), [0x01, 0, 0, 0, 0]);
    }

    #[test]
    fn rescaling_pads_or_rounds_half_up() {
        let d = Decimal::parse("-12.345").expect("valid");
        assert_eq!(d.rescale(5), Decimal::parse("-12.34500").expect("valid"));
        assert_eq!(d.rescale(2), Decimal::parse("-12.35").expect("valid"));
        assert_eq!(d.rescale(-1), Decimal::parse("-1e1").expect("valid"));
        assert_eq!(Decimal::parse("0.4").expect("valid").rescale(0), Decimal::parse("0").expect("valid"));
        assert_eq!(Decimal::parse("9.99").expect("valid").rescale(1), Decimal::parse("10.0").expect("valid"));
        assert_eq!(Decimal::parse("0.005").expect("valid").rescale(0).unscaled_twos_complement(), [0]);
    }

    #[test]
    fn stripping_trailing_zeros_never_goes_below_scale_zero() {
        let strip = |t: &str| {
            let d = Decimal::parse(t).expect("valid").strip_trailing_zeros();
            (d.scale(), d.unscaled_twos_complement())
        };
        assert_eq!(strip("12.50"), (1, vec![125]));
        assert_eq!(strip("100"), (0, vec![100]));
        assert_eq!(strip("0.000"), (0, vec![0]));
        assert_eq!(strip("1e2"), (0, vec![100]));
    }

    #[test]
    fn twos_complement_bytes_read_back_as_plain_text() {
        let plain =
            |bytes: &[u8], scale| Decimal::from_unscaled_twos_complement(bytes, scale).to_plain_string();
        assert_eq!(plain(&[0x04, 0xE2], 2), "12.50");
        assert_eq!(plain(&[0x00], 2), "0.00");
        assert_eq!(plain(&[], 0), "0");
        assert_eq!(plain(&[0xFF], 0), "-1");
        assert_eq!(plain(&[0x80], 0), "-128");
        assert_eq!(plain(&[0xFF, 0x7F], 1), "-12.9");
        assert_eq!(plain(&[0x05], 3), "0.005");
        assert_eq!(plain(&[0xFB], 3), "-0.005");
        assert_eq!(plain(&[0x7B], -2), "12300");
        assert_eq!(plain(&[0x00], -2), "0");
        assert_eq!(plain(&[0x01, 0, 0, 0, 0], 0), "4294967296");
        for text in ["-123456789012345678901234567890.000000001", "99999999999999999999", "-1", "0.1"] {
            let d = Decimal::parse(text).expect("valid");
            let back = Decimal::from_unscaled_twos_complement(&d.unscaled_twos_complement(), d.scale());
            assert_eq!(back.to_plain_string(), text);
        }
    }

    #[test]
    fn malformed_text_is_rejected() {
        for bad in ["", "-", ".", "1.2.3", "NaN", "Infinity", "1e", "12a", "--1", "1e99999999"] {
            assert_eq!(Decimal::parse(bad), None, "{bad:?}");
        }
    }
}
