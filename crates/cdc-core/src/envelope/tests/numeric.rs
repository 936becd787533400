//! NUMERIC and MONEY under each `decimal_handling`, and the exact base-10 → base-256 conversion behind them.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value as J};

use super::fixtures::numeric_typmod;
use super::types::{enc, num, schema, with};
use crate::envelope::decimal::{magnitude_bytes, Decimal};
use crate::envelope::{DecimalHandling, EnvelopeConfig};
use crate::value::{Numeric, Value};

#[test]
fn precise_numerics_are_connect_decimals_or_variable_scale_decimals() {
    let d = EnvelopeConfig::default();
    let n10_2 = numeric_typmod(10, 2);
    assert_eq!(enc(1700, n10_2, &d, num("12.50")), json!("BOI="));
    assert_eq!(enc(1700, n10_2, &d, num("12.5")), json!("BOI="), "rescaled to the column's scale");
    assert_eq!(enc(1700, numeric_typmod(5, 0), &d, num("-1")), json!("/w=="));
    assert_eq!(enc(1700, n10_2, &d, num("0.00")), json!("AA=="));
    assert_eq!(
        schema(1700, n10_2, &d),
        json!({ "type": "bytes", "optional": false,
          "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
                "parameters": { "scale": "2", "connect.decimal.precision": "10" } })
    );
    // PostgreSQL 15's negative scales: numeric(3, -2) holds 12300 as 123 × 10².
    let n3_m2 = ((3 << 16) | (-2_i32 & 0x7FF)) + 4;
    assert_eq!(enc(1700, n3_m2, &d, num("12300")), json!("ew=="));
    assert_eq!(schema(1700, n3_m2, &d)["parameters"]["scale"], json!("-2"));
    // Special values have no Decimal form.
    for special in [Numeric::NaN, Numeric::PosInfinity, Numeric::NegInfinity] {
        assert_eq!(enc(1700, n10_2, &d, Value::Numeric(special.clone())), J::Null);
        assert_eq!(enc(1700, -1, &d, Value::Numeric(special)), J::Null);
    }
    // Unconstrained numeric: the scale travels with each value, trailing zeros stripped.
    assert_eq!(enc(1700, -1, &d, num("12.50")), json!({ "scale": 1, "value": "fQ==" }));
    assert_eq!(enc(1700, -1, &d, num("100")), json!({ "scale": 0, "value": "ZA==" }));
    assert_eq!(
        schema(1700, -1, &d),
        json!({ "type": "struct", "fields": [
                    { "type": "int32", "optional": false, "field": "scale" },
                    { "type": "bytes", "optional": false, "field": "value" }],
                "optional": false, "name": "io.debezium.data.VariableScaleDecimal", "version": 1,
                "doc": "Variable scaled decimal" })
    );
}

#[test]
fn string_and_double_numerics() {
    let s = with(|c| c.decimal_handling = DecimalHandling::String);
    let n10_2 = numeric_typmod(10, 2);
    assert_eq!(enc(1700, n10_2, &s, num("12.50")), json!("12.50"));
    assert_eq!(enc(1700, -1, &s, num("0.0000001")), json!("0.0000001"));
    assert_eq!(enc(1700, -1, &s, Value::Numeric(Numeric::NaN)), json!("NAN"));
    assert_eq!(enc(1700, -1, &s, Value::Numeric(Numeric::PosInfinity)), json!("POSITIVE_INFINITY"));
    assert_eq!(enc(1700, -1, &s, Value::Numeric(Numeric::NegInfinity)), json!("NEGATIVE_INFINITY"));
    assert_eq!(schema(1700, n10_2, &s), json!({ "type": "string", "optional": false }));

    let f = with(|c| c.decimal_handling = DecimalHandling::Double);
    assert_eq!(enc(1700, n10_2, &f, num("12.50")), json!(12.5));
    assert_eq!(enc(1700, -1, &f, Value::Numeric(Numeric::NaN)), json!("NaN"));
    assert_eq!(enc(1700, -1, &f, Value::Numeric(Numeric::PosInfinity)), json!("Infinity"));
    assert_eq!(enc(1700, -1, &f, Value::Numeric(Numeric::NegInfinity)), json!("-Infinity"));
    assert_eq!(schema(1700, n10_2, &f), json!({ "type": "double", "optional": false }));
}

#[test]
fn money_is_a_decimal_of_scale_two_or_text_or_a_double() {
    let money = |text: &str| Value::Money(Numeric::Finite(text.into()));
    let d = EnvelopeConfig::default();
    assert_eq!(enc(790, -1, &d, money("1234.56")), json!("AeJA"));
    assert_eq!(
        schema(790, -1, &d),
        json!({ "type": "bytes", "optional": false,
          "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
                "parameters": { "scale": "2" } })
    );
    let s = with(|c| c.decimal_handling = DecimalHandling::String);
    assert_eq!(enc(790, -1, &s, money("-1234.56")), json!("-1234.56"));
    let f = with(|c| c.decimal_handling = DecimalHandling::Double);
    assert_eq!(enc(790, -1, &f, money("1234.56")), json!(1234.56));
}

/// Deterministic pseudo-random digits, the first one non-zero.
fn digits(count: usize, seed: u64) -> String {
    let mut state = seed;
    (0..count)
        .map(|i| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let d = (state >> 33) % 10;
            char::from(b'0' + if i == 0 { d.max(1) } else { d } as u8)
        })
        .collect()
}

/// Reference: schoolbook division of the decimal string by 256.
fn reference_magnitude(decimal: &str) -> Vec<u8> {
    let mut number: Vec<u32> = decimal.bytes().map(|b| u32::from(b - b'0')).collect();
    let mut out = Vec::new();
    while !number.is_empty() {
        let mut remainder = 0;
        let mut quotient = Vec::new();
        for d in &number {
            let current = remainder * 10 + d;
            if !quotient.is_empty() || current / 256 != 0 {
                quotient.push(current / 256);
            }
            remainder = current % 256;
        }
        out.push(remainder as u8);
        number = quotient;
    }
    out.reverse();
    out
}

/// Reference: two's-complement bytes back to signed decimal text, by multiply-and-add in base 10.
fn reference_decimal(bytes: &[u8]) -> String {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut magnitude = bytes.to_vec();
    if negative {
        magnitude.iter_mut().for_each(|b| *b = !*b);
        for b in magnitude.iter_mut().rev() {
            let (sum, overflow) = b.overflowing_add(1);
            *b = sum;
            if !overflow {
                break;
            }
        }
    }
    let mut decimal: Vec<u32> = vec![0]; // least significant digit first
    for byte in magnitude {
        let mut carry = u32::from(byte);
        for d in decimal.iter_mut() {
            let v = *d * 256 + carry;
            *d = v % 10;
            carry = v / 10;
        }
        while carry > 0 {
            decimal.push(carry % 10);
            carry /= 10;
        }
    }
    while decimal.len() > 1 && decimal.last() == Some(&0) {
        decimal.pop();
    }
    let text: String = decimal.iter().rev().map(|d| char::from(b'0' + *d as u8)).collect();
    if negative {
        format!("-{text}")
    } else {
        text
    }
}

#[test]
fn a_thousand_digit_numeric_round_trips_through_base_256() {
    for seed in [1, 2, 3] {
        let unscaled = digits(1_000, seed);
        assert_eq!(magnitude_bytes(unscaled.as_bytes()), reference_magnitude(&unscaled));
        for negative in [false, true] {
            let sign = if negative { "-" } else { "" };
            let text = format!("{sign}{}.{}", &unscaled[..500], &unscaled[500..]);
            let bytes = Decimal::parse(&text).expect("valid").rescale(500).unscaled_twos_complement();
            assert_eq!(reference_decimal(&bytes), format!("{sign}{unscaled}"));
            // And through the column encoder, numeric(1000, 500).
            let json = enc(1700, numeric_typmod(1000, 500), &EnvelopeConfig::default(), num(&text));
            let decoded = STANDARD.decode(json.as_str().expect("base64 text")).expect("valid base64");
            assert_eq!(decoded, bytes);
        }
    }
}
