//! Per-type encodings under each handling mode: the value JSON and the Connect schema of one column.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value as J};

use super::fixtures::{col, numeric_typmod};
use crate::envelope::value::FieldCodec;
use crate::envelope::{
    BinaryHandling, EnvelopeConfig, HstoreHandling, IntervalHandling, TimePrecision,
    UNAVAILABLE_VALUE_PLACEHOLDER as PH,
};
use crate::pgtype::{PgType, TypeKind};
use crate::schema::Column;
use crate::value::{DateValue, Numeric, TimestampValue, Value};

pub(super) fn codec_of(column: &Column, config: &EnvelopeConfig) -> FieldCodec {
    FieldCodec::for_column(column, config)
}

/// The encoding of `value` in a nullable column of built-in type `oid`; checks on the way that the byte writer
/// (`FieldCodec::write`, with its direct paths) writes exactly that JSON.
pub(super) fn enc(oid: u32, typmod: i32, config: &EnvelopeConfig, value: Value) -> J {
    let codec = codec_of(&col("c", oid, typmod, true, false), config);
    let encoded = codec.encode(&value);
    let mut written = Vec::new();
    codec.write(&value, &mut written);
    assert_eq!(
        String::from_utf8_lossy(&written),
        encoded.to_string(),
        "the byte writer differs from encode for {value:?} in a column of type {oid}"
    );
    encoded
}

/// The Connect schema of a NOT NULL column of built-in type `oid`.
pub(super) fn schema(oid: u32, typmod: i32, config: &EnvelopeConfig) -> J {
    codec_of(&col("c", oid, typmod, false, false), config).connect_schema().to_json()
}

pub(super) fn with(f: impl FnOnce(&mut EnvelopeConfig)) -> EnvelopeConfig {
    let mut config = EnvelopeConfig::default();
    f(&mut config);
    config
}

pub(super) fn num(text: &str) -> Value {
    Value::Numeric(Numeric::Finite(text.into()))
}

pub(super) fn named(type_name: &str, name: &str) -> J {
    json!({ "type": type_name, "optional": false, "name": name, "version": 1 })
}

#[test]
fn booleans_and_integers_are_connect_primitives() {
    let d = EnvelopeConfig::default();
    assert_eq!(enc(16, -1, &d, Value::Bool(true)), json!(true));
    assert_eq!(schema(16, -1, &d), json!({ "type": "boolean", "optional": false }));
    assert_eq!(enc(21, -1, &d, Value::Int16(-7)), json!(-7));
    assert_eq!(schema(21, -1, &d), json!({ "type": "int16", "optional": false }));
    assert_eq!(enc(23, -1, &d, Value::Int32(i32::MIN)), json!(i32::MIN));
    assert_eq!(schema(23, -1, &d), json!({ "type": "int32", "optional": false }));
    assert_eq!(enc(20, -1, &d, Value::Int64(i64::MAX)), json!(i64::MAX));
    assert_eq!(schema(20, -1, &d), json!({ "type": "int64", "optional": false }));
    assert_eq!(enc(26, -1, &d, Value::Oid(4_000_000_000)), json!(4_000_000_000_u32));
    assert_eq!(schema(26, -1, &d), json!({ "type": "int64", "optional": false }));
}

#[test]
fn floats_are_numbers_and_their_specials_are_jacksons_strings() {
    let d = EnvelopeConfig::default();
    assert_eq!(enc(700, -1, &d, Value::Float32(1.1)).to_string(), "1.1");
    assert_eq!(schema(700, -1, &d), json!({ "type": "float", "optional": false }));
    assert_eq!(enc(701, -1, &d, Value::Float64(0.1)).to_string(), "0.1");
    assert_eq!(enc(701, -1, &d, Value::Float64(-0.0)).to_string(), "-0.0");
    assert_eq!(schema(701, -1, &d), json!({ "type": "double", "optional": false }));
    assert_eq!(enc(701, -1, &d, Value::Float64(f64::NAN)), json!("NaN"));
    assert_eq!(enc(701, -1, &d, Value::Float64(f64::INFINITY)), json!("Infinity"));
    assert_eq!(enc(700, -1, &d, Value::Float32(f32::NEG_INFINITY)), json!("-Infinity"));
}

#[test]
fn dates_are_days_and_infinities_the_int32_extremes() {
    let d = EnvelopeConfig::default();
    assert_eq!(enc(1082, -1, &d, Value::Date(DateValue::Days(19_724))), json!(19_724));
    assert_eq!(enc(1082, -1, &d, Value::Date(DateValue::PosInfinity)), json!(i32::MAX));
    assert_eq!(enc(1082, -1, &d, Value::Date(DateValue::NegInfinity)), json!(i32::MIN));
    assert_eq!(schema(1082, -1, &d), named("int32", "io.debezium.time.Date"));
    let connect = with(|c| c.time_precision = TimePrecision::Connect);
    assert_eq!(enc(1082, -1, &connect, Value::Date(DateValue::Days(-1))), json!(-1));
    assert_eq!(schema(1082, -1, &connect), named("int32", "org.apache.kafka.connect.data.Date"));
}

#[test]
fn times_follow_the_precision_mode() {
    let t = Value::Time(37_230_123_000); // 10:20:30.123
    let adaptive = EnvelopeConfig::default();
    assert_eq!(enc(1083, 3, &adaptive, t.clone()), json!(37_230_123));
    assert_eq!(schema(1083, 3, &adaptive), named("int32", "io.debezium.time.Time"));
    assert_eq!(enc(1083, -1, &adaptive, t.clone()), json!(37_230_123_000_i64));
    assert_eq!(schema(1083, -1, &adaptive), named("int64", "io.debezium.time.MicroTime"));
    let micros = with(|c| c.time_precision = TimePrecision::AdaptiveTimeMicroseconds);
    assert_eq!(enc(1083, 3, &micros, t.clone()), json!(37_230_123_000_i64));
    assert_eq!(schema(1083, 0, &micros), named("int64", "io.debezium.time.MicroTime"));
    let connect = with(|c| c.time_precision = TimePrecision::Connect);
    assert_eq!(enc(1083, -1, &connect, t), json!(37_230_123));
    assert_eq!(schema(1083, -1, &connect), named("int32", "org.apache.kafka.connect.data.Time"));
    // timetz is always a UTC string.
    let tz = Value::TimeTz { micros: 37_230_123_456, offset_seconds: 7_200 };
    assert_eq!(enc(1266, -1, &adaptive, tz), json!("08:20:30.123456Z"));
    assert_eq!(schema(1266, -1, &connect), named("string", "io.debezium.time.ZonedTime"));
}

#[test]
fn timestamps_follow_the_precision_mode() {
    let ts = |micros| Value::Timestamp(TimestampValue::Micros(micros));
    let adaptive = EnvelopeConfig::default();
    assert_eq!(enc(1114, 3, &adaptive, ts(1_704_164_645_123_000)), json!(1_704_164_645_123_i64));
    assert_eq!(enc(1114, 3, &adaptive, ts(-1_000)), json!(-1));
    assert_eq!(schema(1114, 3, &adaptive), named("int64", "io.debezium.time.Timestamp"));
    assert_eq!(enc(1114, -1, &adaptive, ts(1_704_164_645_123_456)), json!(1_704_164_645_123_456_i64));
    assert_eq!(schema(1114, -1, &adaptive), named("int64", "io.debezium.time.MicroTimestamp"));
    let micros = with(|c| c.time_precision = TimePrecision::AdaptiveTimeMicroseconds);
    assert_eq!(schema(1114, 3, &micros), named("int64", "io.debezium.time.Timestamp"));
    let connect = with(|c| c.time_precision = TimePrecision::Connect);
    assert_eq!(enc(1114, -1, &connect, ts(1_704_164_645_123_456)), json!(1_704_164_645_123_i64));
    assert_eq!(schema(1114, -1, &connect), named("int64", "org.apache.kafka.connect.data.Timestamp"));
    assert_eq!(enc(1114, -1, &adaptive, Value::Timestamp(TimestampValue::PosInfinity)), json!(i64::MAX));
    assert_eq!(enc(1114, 3, &adaptive, Value::Timestamp(TimestampValue::NegInfinity)), json!(i64::MIN));
}

#[test]
fn timestamptz_is_an_iso_string_in_utc_with_the_columns_digits() {
    let tz = |micros| Value::TimestampTz(TimestampValue::Micros(micros));
    let d = EnvelopeConfig::default();
    assert_eq!(enc(1184, -1, &d, tz(1_704_164_645_123_456)), json!("2024-01-02T03:04:05.123456Z"));
    assert_eq!(enc(1184, -1, &d, tz(1_704_164_645_000_000)), json!("2024-01-02T03:04:05.000000Z"));
    assert_eq!(enc(1184, 3, &d, tz(1_704_164_645_120_000)), json!("2024-01-02T03:04:05.120Z"));
    assert_eq!(enc(1184, 0, &d, tz(1_704_164_645_000_000)), json!("2024-01-02T03:04:05Z"));
    assert_eq!(enc(1184, -1, &d, Value::TimestampTz(TimestampValue::PosInfinity)), json!("infinity"));
    assert_eq!(enc(1184, -1, &d, Value::TimestampTz(TimestampValue::NegInfinity)), json!("-infinity"));
    let connect = with(|c| c.time_precision = TimePrecision::Connect);
    assert_eq!(schema(1184, -1, &connect), named("string", "io.debezium.time.ZonedTimestamp"));
}

#[test]
fn intervals_are_micro_durations_or_iso_strings() {
    let i = Value::Interval { months: 14, days: 3, micros: 14_706_780_000 }; // 1 year 2 mons 3 days 04:05:06.78
    let d = EnvelopeConfig::default();
    assert_eq!(enc(1186, -1, &d, i.clone()), json!(37_091_106_780_000_i64));
    assert_eq!(schema(1186, -1, &d), named("int64", "io.debezium.time.MicroDuration"));
    let s = with(|c| c.interval_handling = IntervalHandling::String);
    assert_eq!(enc(1186, -1, &s, i), json!("P1Y2M3DT4H5M6.78S"));
    assert_eq!(schema(1186, -1, &s), named("string", "io.debezium.time.Interval"));
}

#[test]
fn uuid_json_and_network_types_are_strings() {
    let d = EnvelopeConfig::default();
    let uuid = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
    assert_eq!(enc(2950, -1, &d, Value::Uuid(uuid.into())), json!(uuid));
    assert_eq!(schema(2950, -1, &d), named("string", "io.debezium.data.Uuid"));
    // json stays the server's text: a string, not a nested object.
    let doc = r#"{"b": [1, 2], "a": null}"#;
    assert_eq!(enc(114, -1, &d, Value::Json(doc.into())), json!(doc));
    assert_eq!(enc(3802, -1, &d, Value::Json(doc.into())), json!(doc));
    assert_eq!(schema(3802, -1, &d), named("string", "io.debezium.data.Json"));
    assert_eq!(enc(869, -1, &d, Value::Inet("10.0.0.1/8".into())), json!("10.0.0.1/8"));
    assert_eq!(enc(650, -1, &d, Value::Inet("10.0.0.0/8".into())), json!("10.0.0.0/8"));
    assert_eq!(enc(829, -1, &d, Value::MacAddr("08:00:2b:01:02:03".into())), json!("08:00:2b:01:02:03"));
    assert_eq!(schema(829, -1, &d), json!({ "type": "string", "optional": false }));
    assert_eq!(enc(25, -1, &d, Value::Other("(1,2)".into())), json!("(1,2)"));
    assert_eq!(enc(25, -1, &d, Value::Null), J::Null);
}

#[test]
fn hstore_is_a_json_string_or_a_map() {
    let hstore = Column {
        name: "h".into(),
        pg_type: PgType::new(16_400, "hstore", TypeKind::Hstore),
        type_modifier: -1,
        nullable: false,
        key: false,
        fill_value: None,
    };
    let value = Value::Hstore(vec![("a".into(), Some("1".into())), ("b".into(), None)]);
    let json_mode = codec_of(&hstore, &EnvelopeConfig::default());
    assert_eq!(json_mode.encode(&value), json!(r#"{"a":"1","b":null}"#));
    assert_eq!(json_mode.connect_schema().to_json(), named("string", "io.debezium.data.Json"));
    let map_mode = codec_of(&hstore, &with(|c| c.hstore_handling = HstoreHandling::Map));
    assert_eq!(map_mode.encode(&value), json!({ "a": "1", "b": null }));
    assert_eq!(
        map_mode.connect_schema().to_json(),
        json!({ "type": "map", "keys": { "type": "string", "optional": false },
                "values": { "type": "string", "optional": true }, "optional": false })
    );
}

#[test]
fn enums_are_strings_that_list_their_labels() {
    let labels = vec!["happy".to_owned(), "sad".to_owned()];
    let mood = Column {
        name: "m".into(),
        pg_type: PgType::new(16_401, "mood", TypeKind::Enum(labels)),
        type_modifier: -1,
        nullable: false,
        key: false,
        fill_value: None,
    };
    let codec = codec_of(&mood, &EnvelopeConfig::default());
    assert_eq!(codec.encode(&Value::Enum("sad".into())), json!("sad"));
    assert_eq!(
        codec.connect_schema().to_json(),
        json!({ "type": "string", "optional": false, "name": "io.debezium.data.Enum", "version": 1,
                "parameters": { "allowed": "happy,sad" } })
    );
}

#[test]
fn one_bit_is_a_boolean_and_more_are_little_endian_bits() {
    let d = EnvelopeConfig::default();
    let bits = |s: &str| Value::Bits(s.into());
    assert_eq!(enc(1560, 1, &d, bits("1")), json!(true));
    assert_eq!(enc(1562, 1, &d, bits("0")), json!(false));
    assert_eq!(schema(1560, 1, &d), json!({ "type": "boolean", "optional": false }));
    assert_eq!(enc(1560, 10, &d, bits("0000000101")), json!("BQ=="));
    assert_eq!(enc(1560, 10, &d, bits("1000000001")), json!("AQI="));
    assert_eq!(enc(1560, 10, &d, bits("0000000000")), json!(""));
    assert_eq!(
        schema(1560, 10, &d),
        json!({ "type": "bytes", "optional": false, "name": "io.debezium.data.Bits", "version": 1,
                "parameters": { "length": "10" } })
    );
    assert_eq!(schema(1562, -1, &d)["parameters"]["length"], json!("2147483647"));
    // binary.handling.mode does not apply to bits.
    assert_eq!(
        enc(1560, 10, &with(|c| c.binary_handling = BinaryHandling::Hex), bits("0000000101")),
        json!("BQ==")
    );
}

#[test]
fn bytea_follows_the_binary_handling_mode() {
    let bytes = Value::Bytes(vec![0xDE, 0xAD, 0xBE, 0xEF, 0xFB, 0xFF]);
    let mode = |m| with(|c| c.binary_handling = m);
    assert_eq!(enc(17, -1, &mode(BinaryHandling::Bytes), bytes.clone()), json!("3q2+7/v/"));
    assert_eq!(schema(17, -1, &mode(BinaryHandling::Bytes)), json!({ "type": "bytes", "optional": false }));
    assert_eq!(enc(17, -1, &mode(BinaryHandling::Base64), bytes.clone()), json!("3q2+7/v/"));
    assert_eq!(schema(17, -1, &mode(BinaryHandling::Base64)), json!({ "type": "string", "optional": false }));
    assert_eq!(enc(17, -1, &mode(BinaryHandling::Base64UrlSafe), bytes.clone()), json!("3q2-7_v_"));
    assert_eq!(enc(17, -1, &mode(BinaryHandling::Hex), bytes), json!("deadbeeffbff"));
    assert_eq!(schema(17, -1, &mode(BinaryHandling::Hex)), json!({ "type": "string", "optional": false }));
}

#[test]
fn arrays_encode_each_element_with_the_element_codec() {
    let d = EnvelopeConfig::default();
    let ints = Value::Array(vec![Value::Int32(1), Value::Null, Value::Int32(3)]);
    assert_eq!(enc(1007, -1, &d, ints), json!([1, null, 3]));
    assert_eq!(
        schema(1007, -1, &d),
        json!({ "type": "array", "items": { "type": "int32", "optional": true }, "optional": false })
    );
    let texts = Value::Array(vec![Value::Text("a".into()), Value::Text("b".into())]);
    assert_eq!(enc(1009, -1, &d, texts), json!(["a", "b"]));
    // An array column's modifier is its element's: numeric(10,2)[] holds Decimals of scale 2.
    let n10_2 = numeric_typmod(10, 2);
    assert_eq!(enc(1231, n10_2, &d, Value::Array(vec![num("12.50"), Value::Null])), json!(["BOI=", null]));
    assert_eq!(schema(1231, n10_2, &d)["items"]["parameters"]["scale"], json!("2"));
    let grid = Value::Array(vec![
        Value::Array(vec![Value::Int32(1), Value::Int32(2)]),
        Value::Array(vec![Value::Int32(3), Value::Int32(4)]),
    ]);
    assert_eq!(enc(1007, -1, &d, grid), json!([[1, 2], [3, 4]]));
}

#[test]
fn unchanged_toast_values_carry_debeziums_placeholders() {
    let d = EnvelopeConfig::default();
    let b64 = STANDARD.encode(PH);
    let per_byte: Vec<J> = PH.bytes().map(J::from).collect();
    assert_eq!(enc(25, -1, &d, Value::Unchanged), json!(PH));
    assert_eq!(enc(3802, -1, &d, Value::Unchanged), json!(PH));
    assert_eq!(enc(17, -1, &d, Value::Unchanged), json!(b64));
    assert_eq!(
        enc(17, -1, &with(|c| c.binary_handling = BinaryHandling::Hex), Value::Unchanged),
        json!("5f5f646562657a69756d5f756e617661696c61626c655f76616c7565")
    );
    assert_eq!(enc(1009, -1, &d, Value::Unchanged), json!([PH]));
    assert_eq!(enc(1007, -1, &d, Value::Unchanged), J::Array(per_byte.clone()));
    assert_eq!(enc(1016, -1, &d, Value::Unchanged), J::Array(per_byte));
    assert_eq!(enc(2951, -1, &d, Value::Unchanged), json!(["b68a35a7-17ad-35b3-af2a-ae46edb4545a"]));
    assert_eq!(enc(1700, -1, &d, Value::Unchanged), json!({ "scale": 0, "value": b64 }));
    assert_eq!(enc(1700, numeric_typmod(10, 2), &d, Value::Unchanged), json!(b64));
    let decimals = enc(1231, numeric_typmod(10, 2), &d, Value::Unchanged);
    assert_eq!(decimals.as_array().map(Vec::len), Some(PH.len()));
    // One Decimal per placeholder byte: '_' is 95.
    assert_eq!(decimals[0], json!("Xw=="));
    // Fixed-width types are never TOASTed; if one were, the text placeholder still marks it.
    assert_eq!(enc(23, -1, &d, Value::Unchanged), json!(PH));

    let hstore = Column {
        name: "h".into(),
        pg_type: PgType::new(16_400, "hstore", TypeKind::Hstore),
        type_modifier: -1,
        nullable: true,
        key: false,
        fill_value: None,
    };
    let as_json = codec_of(&hstore, &d).encode(&Value::Unchanged);
    assert_eq!(as_json, json!(format!("{{\"{PH}\":\"{PH}\"}}")));
    let as_map =
        codec_of(&hstore, &with(|c| c.hstore_handling = HstoreHandling::Map)).encode(&Value::Unchanged);
    assert_eq!(as_map, json!({ PH: PH }));
}

#[test]
fn a_value_that_does_not_match_its_column_is_written_by_its_own_variant() {
    let d = EnvelopeConfig::default();
    assert_eq!(enc(23, -1, &d, Value::Text("x".into())), json!("x"));
    assert_eq!(enc(1082, -1, &d, Value::Int64(5)), json!(5));
    assert_eq!(enc(1700, -1, &d, Value::Text("not a number".into())), json!("not a number"));
    assert_eq!(enc(1700, numeric_typmod(10, 2), &d, num("garbage")), json!("garbage"));
}
