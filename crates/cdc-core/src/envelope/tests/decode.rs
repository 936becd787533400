//! [`EventDecoder`]: our events read back (every type, every handling mode), Debezium's own, the schema cache.
//! Malformed and hostile records are in `decode/hostile.rs`.

mod hostile;

use std::sync::Arc;

use serde_json::{json, Value as J};

use super::fixtures::{col, event, numeric_typmod, table, TS_MS};
use crate::change::{ChangeEvent, Op, Row, SnapshotMarker};
use crate::envelope::schema::{modifier_from_source_type, source_type_parameters};
use crate::envelope::temporal::{interval_micros, MICROS_PER_DAY};
use crate::envelope::{
    BinaryHandling, DecimalHandling, Envelope, EnvelopeConfig, EventDecoder, EventFormat, HstoreHandling,
    IntervalHandling, TimePrecision,
};
use crate::lsn::Lsn;
use crate::pgtype::{PgType, TypeKind};
use crate::schema::{Column, ReplicaIdentity, SchemaRef, TableId};
use crate::value::{DateValue, Numeric, TimestampValue, Value};

/// `numeric(3, -2)`: PostgreSQL 15's negative scale, masked as PostgreSQL stores it.
const NUMERIC_3_MINUS_2: i32 = ((3 << 16) | (-2_i32 & 0x7FF)) + 4;

/// One column per type that `types.rs` covers, keyed by `id`, REPLICA IDENTITY FULL.
fn every_type() -> SchemaRef {
    let custom = |name: &str, pg_type: PgType| Column {
        name: name.into(),
        pg_type,
        type_modifier: -1,
        nullable: true,
        key: false,
        fill_value: None,
    };
    let hstore = PgType::new(16_400, "hstore", TypeKind::Hstore);
    let mood = PgType::new(16_401, "mood", TypeKind::Enum(vec!["happy".into(), "sad".into()]));
    let c = |name: &str, oid: u32, typmod: i32| col(name, oid, typmod, true, false);
    table(
        "public",
        "every_type",
        vec![
            col("id", 23, -1, false, true),
            c("flag", 16, -1),
            c("small", 21, -1),
            c("big", 20, -1),
            c("oid", 26, -1),
            c("real", 700, -1),
            c("double", 701, -1),
            c("price", 1700, numeric_typmod(10, 2)),
            c("amount", 1700, -1),
            c("hundreds", 1700, NUMERIC_3_MINUS_2),
            c("cash", 790, -1),
            c("note", 25, -1),
            col("name", 1043, 104, false, false),
            c("code", 1042, 7),
            c("uuid", 2950, -1),
            c("doc", 114, -1),
            c("docb", 3802, -1),
            c("ip", 869, -1),
            c("net", 650, -1),
            c("mac", 829, -1),
            c("blob", 17, -1),
            c("bit1", 1560, 1),
            c("bits", 1560, 10),
            c("varbits", 1562, -1),
            c("day", 1082, -1),
            c("clock_ms", 1083, 3),
            c("clock", 1083, -1),
            c("clock_tz", 1266, -1),
            c("stamp_ms", 1114, 3),
            c("stamp", 1114, -1),
            c("stamp_tz", 1184, -1),
            c("stamp_tz_ms", 1184, 3),
            c("span", 1186, -1),
            custom("attrs", hstore),
            custom("mood", mood),
            c("ints", 1007, -1),
            c("texts", 1009, -1),
            c("prices", 1231, numeric_typmod(10, 2)),
        ],
        ReplicaIdentity::Full,
    )
}

fn num(text: &str) -> Value {
    Value::Numeric(Numeric::Finite(text.into()))
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn ts(micros: i64) -> TimestampValue {
    TimestampValue::Micros(micros)
}

/// Ordinary values, chosen to be exact under the default modes (no trailing zeros in the unconstrained
/// numeric, a UTC timetz).
fn ordinary() -> Row {
    let doc = r#"{"b": [1, 2], "a": null}"#;
    Row(vec![
        Value::Int32(1),
        Value::Bool(true),
        Value::Int16(-7),
        Value::Int64(i64::MAX),
        Value::Oid(4_000_000_000),
        Value::Float32(1.1),
        Value::Float64(0.1),
        num("12.50"),
        num("-1234.5678"),
        num("12300"),
        Value::Money(Numeric::Finite("1234.56".into())),
        text("some text"),
        text("Anne"),
        text("ab "),
        Value::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into()),
        Value::Json(doc.into()),
        Value::Json(doc.into()),
        Value::Inet("10.0.0.1/8".into()),
        Value::Inet("10.0.0.0/8".into()),
        Value::MacAddr("08:00:2b:01:02:03".into()),
        Value::Bytes(vec![0xDE, 0xAD, 0xBE, 0xEF, 0xFB, 0xFF]),
        Value::Bits("1".into()),
        Value::Bits("0000000101".into()),
        Value::Bits("101101".into()),
        Value::Date(DateValue::Days(19_724)),
        Value::Time(37_230_123_000),
        Value::Time(37_230_123_456),
        Value::TimeTz { micros: 30_030_123_456, offset_seconds: 0 },
        Value::Timestamp(ts(1_704_164_645_123_000)),
        Value::Timestamp(ts(1_704_164_645_123_456)),
        Value::TimestampTz(ts(1_704_164_645_123_456)),
        Value::TimestampTz(ts(1_704_164_645_120_000)),
        Value::Interval { months: 14, days: 3, micros: 14_706_780_000 },
        Value::Hstore(vec![("a".into(), Some("1".into())), ("b".into(), None)]),
        Value::Enum("sad".into()),
        Value::Array(vec![Value::Int32(1), Value::Null, Value::Int32(3)]),
        Value::Array(vec![text("a"), text("b")]),
        Value::Array(vec![num("12.50"), Value::Null]),
    ])
}

/// Extremes, infinities, empties, a two-dimensional array.
fn extremes() -> Row {
    let ints = |v: &[i32]| Value::Array(v.iter().map(|&i| Value::Int32(i)).collect());
    Row(vec![
        Value::Int32(2),
        Value::Bool(false),
        Value::Int16(i16::MIN),
        Value::Int64(i64::MIN),
        Value::Oid(0),
        Value::Float32(f32::NEG_INFINITY),
        Value::Float64(f64::INFINITY),
        num("-0.01"),
        num("0.0000001"),
        num("0"),
        Value::Money(Numeric::Finite("-5.00".into())),
        text(""),
        text("ünïcödé \"quoted\""),
        text("xyz"),
        Value::Uuid("00000000-0000-0000-0000-000000000000".into()),
        Value::Json("[]".into()),
        Value::Json("null".into()),
        Value::Inet("::1/128".into()),
        Value::Inet("::/0".into()),
        Value::MacAddr("ff:ff:ff:ff:ff:ff".into()),
        Value::Bytes(vec![]),
        Value::Bits("0".into()),
        Value::Bits("1000000001".into()),
        Value::Bits("1".into()),
        Value::Date(DateValue::PosInfinity),
        Value::Time(0),
        Value::Time(MICROS_PER_DAY),
        Value::TimeTz { micros: MICROS_PER_DAY, offset_seconds: 0 },
        Value::Timestamp(TimestampValue::NegInfinity),
        Value::Timestamp(TimestampValue::PosInfinity),
        Value::TimestampTz(TimestampValue::NegInfinity),
        Value::TimestampTz(ts(-1_000)),
        Value::Interval { months: -14, days: -1, micros: -500_000 },
        Value::Hstore(vec![]),
        Value::Enum("happy".into()),
        Value::Array(vec![ints(&[1, 2]), ints(&[3, 4])]),
        Value::Array(vec![]),
        Value::Array(vec![]),
    ])
}

fn json_schema(f: impl FnOnce(&mut EnvelopeConfig)) -> EnvelopeConfig {
    let mut config = EnvelopeConfig {
        format: EventFormat::JsonSchema,
        transaction_metadata: true,
        ..EnvelopeConfig::default()
    };
    f(&mut config);
    config
}

/// The default modes, then each other mode of each option on its own, then everything non-default at once.
fn every_mode() -> Vec<EnvelopeConfig> {
    let mut configs = vec![json_schema(|_| {})];
    for mode in [DecimalHandling::String, DecimalHandling::Double] {
        configs.push(json_schema(|c| c.decimal_handling = mode));
    }
    for mode in [TimePrecision::AdaptiveTimeMicroseconds, TimePrecision::Connect] {
        configs.push(json_schema(|c| c.time_precision = mode));
    }
    for mode in [BinaryHandling::Base64, BinaryHandling::Base64UrlSafe, BinaryHandling::Hex] {
        configs.push(json_schema(|c| c.binary_handling = mode));
    }
    configs.push(json_schema(|c| c.interval_handling = IntervalHandling::String));
    configs.push(json_schema(|c| c.hstore_handling = HstoreHandling::Map));
    configs.push(json_schema(|c| c.key_format = Some(EventFormat::Json)));
    configs.push(json_schema(|c| {
        c.decimal_handling = DecimalHandling::Double;
        c.time_precision = TimePrecision::Connect;
        c.binary_handling = BinaryHandling::Hex;
        c.interval_handling = IntervalHandling::String;
        c.hstore_handling = HstoreHandling::Map;
        c.key_format = Some(EventFormat::Json);
        c.transaction_metadata = false;
    }));
    configs
}

/// The Kafka key and value bytes of `event` as the sink writes them.
fn record(config: &EnvelopeConfig, event: &ChangeEvent) -> (Option<Vec<u8>>, Vec<u8>) {
    let mut envelope = Envelope::new(config.clone(), "inventory");
    (envelope.key_bytes(event), envelope.value_bytes_at(event, TS_MS))
}

fn decoder_for(config: &EnvelopeConfig) -> EventDecoder {
    EventDecoder::new().with_binary_handling(config.binary_handling)
}

fn round_trip(config: &EnvelopeConfig, event: &ChangeEvent) -> ChangeEvent {
    let (key, value) = record(config, event);
    decoder_for(config)
        .decode(key.as_deref(), Some(&value))
        .unwrap_or_else(|e| panic!("{config:?}: {e}"))
        .expect("not a tombstone")
}

/// What `original` reads back as under `config`: the documented lossy encodings applied, everything else
/// unchanged.
fn expected(config: &EnvelopeConfig, schema: &SchemaRef, original: &Row) -> Row {
    let cells = schema.columns.iter().zip(&original.0).map(|(column, value)| {
        let micro_column = column.type_modifier < 0 || column.type_modifier > 3;
        match value {
            Value::Interval { months, days, micros }
                if config.interval_handling == IntervalHandling::Numeric =>
            {
                Value::Interval { months: 0, days: 0, micros: interval_micros(*months, *days, *micros) }
            }
            Value::Time(micros) if config.time_precision == TimePrecision::Connect && micro_column => {
                Value::Time(micros - micros.rem_euclid(1_000))
            }
            Value::Timestamp(TimestampValue::Micros(m))
                if config.time_precision == TimePrecision::Connect && micro_column =>
            {
                Value::Timestamp(ts(m - m.rem_euclid(1_000)))
            }
            other => other.clone(),
        }
    });
    Row(cells.collect())
}

#[test]
fn every_type_reads_back_in_every_mode_with_source_types() {
    let schema = every_type();
    for config in every_mode() {
        for row in [ordinary(), extremes()] {
            let insert = event(Op::Insert, schema.clone(), None, Some(row.clone()));
            let decoded = round_trip(&config, &insert);
            let want = expected(&config, &schema, &row);
            for ((column, got), want) in
                schema.columns.iter().zip(decoded.after.expect("after").0).zip(want.0)
            {
                assert_eq!(got, want, "{} under {config:?}", column.name);
            }
        }
    }
}

#[test]
fn decoding_then_encoding_reproduces_the_record_byte_for_byte() {
    // Also the lossy encodings: what is lost was not in the record to begin with.
    let schema = every_type();
    for config in every_mode() {
        for row in [ordinary(), extremes()] {
            let update = event(Op::Update, schema.clone(), Some(extremes()), Some(row));
            let (key, value) = record(&config, &update);
            let decoded = round_trip(&config, &update);
            assert_eq!(record(&config, &decoded), (key, value), "{config:?}");
        }
    }
}

#[test]
fn string_bytea_needs_a_hint_only_when_hexadecimal() {
    let schema = every_type();
    let insert = event(Op::Insert, schema, None, Some(ordinary()));
    let blob = |config: &EnvelopeConfig, decoder: &mut EventDecoder| {
        let (key, value) = record(config, &insert);
        let decoded = decoder.decode(key.as_deref(), Some(&value)).expect("valid").expect("not a tombstone");
        decoded.after.expect("after").0[20].clone()
    };
    let want = ordinary().0[20].clone();
    for mode in [BinaryHandling::Bytes, BinaryHandling::Base64, BinaryHandling::Base64UrlSafe] {
        assert_eq!(blob(&json_schema(|c| c.binary_handling = mode), &mut EventDecoder::new()), want);
    }
    // "deadbeeffbff" is valid base64 too: without the hint it reads as the wrong bytes.
    let hex = json_schema(|c| c.binary_handling = BinaryHandling::Hex);
    assert_ne!(blob(&hex, &mut EventDecoder::new()), want);
    assert_eq!(blob(&hex, &mut EventDecoder::new().with_binary_handling(BinaryHandling::Hex)), want);
}

#[test]
fn source_types_rebuild_the_columns() {
    let schema = every_type();
    let insert = event(Op::Insert, schema.clone(), None, Some(ordinary()));
    let decoded = round_trip(&json_schema(|_| {}), &insert).schema;
    assert_eq!(decoded.id, schema.id);
    assert_eq!(decoded.version, 1);
    for (got, want) in decoded.columns.iter().zip(&schema.columns) {
        if want.pg_type.oid < 10_000 {
            assert_eq!(got, want);
        } else {
            // Catalog types come back by name, without their oid.
            let Column { pg_type, .. } = got;
            assert_eq!(
                (pg_type.oid, &pg_type.name, &pg_type.kind),
                (0, &want.pg_type.name, &want.pg_type.kind)
            );
            assert_eq!(Column { pg_type: want.pg_type.clone(), ..got.clone() }, *want);
        }
    }
    assert_eq!(decoded.columns.len(), schema.columns.len());
}

#[test]
fn source_type_parameters_carry_only_declared_modifiers() {
    let params = |oid, typmod| source_type_parameters(&col("c", oid, typmod, true, false));
    let owned = |pairs: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    };
    const TYPE: &str = "__debezium.source.column.type";
    const LENGTH: &str = "__debezium.source.column.length";
    const SCALE: &str = "__debezium.source.column.scale";
    assert_eq!(params(23, -1), owned(&[(TYPE, "INT4")]));
    assert_eq!(
        params(1700, numeric_typmod(10, 2)),
        owned(&[(TYPE, "NUMERIC"), (LENGTH, "10"), (SCALE, "2")])
    );
    assert_eq!(params(1700, NUMERIC_3_MINUS_2), owned(&[(TYPE, "NUMERIC"), (LENGTH, "3"), (SCALE, "-2")]));
    assert_eq!(params(1700, -1), owned(&[(TYPE, "NUMERIC")]));
    assert_eq!(params(1043, 104), owned(&[(TYPE, "VARCHAR"), (LENGTH, "100")]));
    assert_eq!(params(1043, -1), owned(&[(TYPE, "VARCHAR")]));
    assert_eq!(params(1560, 10), owned(&[(TYPE, "BIT"), (LENGTH, "10")]));
    assert_eq!(params(1114, 3), owned(&[(TYPE, "TIMESTAMP"), (SCALE, "3")]));
    assert_eq!(params(1231, numeric_typmod(5, 1)), owned(&[(TYPE, "_NUMERIC"), (LENGTH, "5"), (SCALE, "1")]));
    assert_eq!(params(1009, -1), owned(&[(TYPE, "_TEXT")]));

    // The inverse reads ours and Debezium's JDBC-derived values (int4 length 10, text 2147483647, scale 0).
    let builtin = |oid| PgType::builtin(oid).expect("built in");
    assert_eq!(modifier_from_source_type(&builtin(1700), Some(10), Some(2)), numeric_typmod(10, 2));
    assert_eq!(modifier_from_source_type(&builtin(1700), Some(3), Some(-2)), NUMERIC_3_MINUS_2);
    assert_eq!(modifier_from_source_type(&builtin(1700), Some(131_089), Some(0)), -1);
    assert_eq!(modifier_from_source_type(&builtin(1043), Some(255), Some(0)), 259);
    assert_eq!(modifier_from_source_type(&builtin(25), Some(2_147_483_647), Some(0)), -1);
    assert_eq!(modifier_from_source_type(&builtin(23), Some(10), Some(0)), -1);
    assert_eq!(modifier_from_source_type(&builtin(1184), Some(35), Some(6)), 6);
    assert_eq!(modifier_from_source_type(&builtin(1562), Some(2_147_483_647), None), -1);
}

#[test]
fn without_source_types_the_connect_schema_decides_the_column_types() {
    let schema = every_type();
    let insert = event(Op::Insert, schema.clone(), None, Some(ordinary()));
    let types = |config: &EnvelopeConfig| -> Vec<(String, i32)> {
        let decoded =
            round_trip(&EnvelopeConfig { propagate_source_types: false, ..config.clone() }, &insert);
        decoded.schema.columns.iter().map(|c| (c.pg_type.name.clone(), c.type_modifier)).collect()
    };
    let n10_2 = numeric_typmod(10, 2);
    let precise = [
        ("int4", -1),
        ("bool", -1),
        ("int2", -1),
        ("int8", -1),
        ("int8", -1),
        ("float4", -1),
        ("float8", -1),
        ("numeric", n10_2),
        ("numeric", -1),
        ("numeric", NUMERIC_3_MINUS_2),
        ("money", -1),
        ("text", -1),
        ("text", -1),
        ("text", -1),
        ("uuid", -1),
        ("jsonb", -1),
        ("jsonb", -1),
        ("text", -1),
        ("text", -1),
        ("text", -1),
        ("bytea", -1),
        ("bool", -1),
        ("bit", 10),
        ("varbit", -1),
        ("date", -1),
        ("time", 3),
        ("time", -1),
        ("timetz", -1),
        ("timestamp", 3),
        ("timestamp", -1),
        ("timestamptz", -1),
        ("timestamptz", -1),
        ("interval", -1),
        ("jsonb", -1),
        ("text", -1),
        ("_int4", -1),
        ("_text", -1),
        ("_numeric", n10_2),
    ];
    let owned: Vec<(String, i32)> = precise.iter().map(|(n, m)| ((*n).to_owned(), *m)).collect();
    assert_eq!(types(&json_schema(|_| {})), owned);
    // The lossy modes: a double NUMERIC is a float8, a string NUMERIC or bytea is text.
    let double = types(&json_schema(|c| c.decimal_handling = DecimalHandling::Double));
    assert_eq!(double[7], ("float8".to_owned(), -1));
    let string = types(&json_schema(|c| c.decimal_handling = DecimalHandling::String));
    assert_eq!(string[7], ("text".to_owned(), -1));
    let base64 = types(&json_schema(|c| c.binary_handling = BinaryHandling::Base64));
    assert_eq!(base64[20], ("text".to_owned(), -1));
    let map = types(&json_schema(|c| c.hstore_handling = HstoreHandling::Map));
    assert_eq!(map[33], ("hstore".to_owned(), -1));

    // The values follow the rebuilt types.
    let plain = json_schema(|c| {
        c.propagate_source_types = false;
        c.decimal_handling = DecimalHandling::Double;
    });
    let after = round_trip(&plain, &insert).after.expect("after");
    assert_eq!(after.0[4], Value::Int64(4_000_000_000), "oid");
    assert_eq!(after.0[7], Value::Float64(12.5), "numeric as double");
    assert_eq!(after.0[17], text("10.0.0.1/8"), "inet");
    assert_eq!(after.0[21], Value::Bool(true), "bit(1)");
    assert_eq!(after.0[33], Value::Json(r#"{"a":"1","b":null}"#.into()), "hstore as json");
    assert_eq!(after.0[34], text("sad"), "enum");
    // What survives exactly is the same as with source types.
    let exact = round_trip(&EnvelopeConfig { propagate_source_types: false, ..json_schema(|_| {}) }, &insert);
    let after = exact.after.expect("after");
    for i in [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 14, 15, 20, 22, 24, 25, 26, 27, 28, 29, 30, 31, 35, 36, 37] {
        assert_eq!(after.0[i], ordinary().0[i], "{}", schema.columns[i].name);
    }
}

#[test]
fn the_known_lossy_encodings_come_back_as_documented() {
    let schema = every_type();
    let mut row = ordinary();
    row.0[8] = num("12.50"); // unconstrained numeric: trailing zeros stripped by VariableScaleDecimal
    row.0[27] = Value::TimeTz { micros: 37_230_123_456, offset_seconds: 7_200 }; // 10:20:30.123456+02
    row.0[23] = Value::Bits("000101".into()); // varbit: leading zeros dropped by Bits
    row.0[7] = Value::Numeric(Numeric::NaN); // precise has no NaN
    let insert = event(Op::Insert, schema.clone(), None, Some(row));
    let after = round_trip(&json_schema(|_| {}), &insert).after.expect("after");
    assert_eq!(after.0[8], num("12.5"));
    assert_eq!(after.0[27], Value::TimeTz { micros: 30_030_123_456, offset_seconds: 0 });
    assert_eq!(after.0[23], Value::Bits("101".into()));
    assert_eq!(after.0[7], Value::Null);
    assert_eq!(after.0[32], Value::Interval { months: 0, days: 0, micros: 37_091_106_780_000 });

    // double: ~15 significant digits, printed at the declared scale (numeric(10,2)) or stripped.
    let mut row = ordinary();
    row.0[7] = num("19.99");
    row.0[8] = num("3.14159265358979323846");
    let double = json_schema(|c| c.decimal_handling = DecimalHandling::Double);
    let after =
        round_trip(&double, &event(Op::Insert, schema.clone(), None, Some(row))).after.expect("after");
    assert_eq!(after.0[7], num("19.99"));
    assert_eq!(after.0[8], num("3.141592653589793"));

    // NaN: doubles and NUMERIC in string and double modes keep it.
    let mut row = ordinary();
    row.0[6] = Value::Float64(f64::NAN);
    row.0[8] = Value::Numeric(Numeric::NaN);
    row.0[9] = Value::Numeric(Numeric::NegInfinity);
    for mode in [DecimalHandling::String, DecimalHandling::Double] {
        let config = json_schema(|c| c.decimal_handling = mode);
        let after = round_trip(&config, &event(Op::Insert, schema.clone(), None, Some(row.clone()))).after;
        let after = after.expect("after");
        assert!(matches!(after.0[6], Value::Float64(f) if f.is_nan()));
        assert_eq!(after.0[8], Value::Numeric(Numeric::NaN));
        assert_eq!(after.0[9], Value::Numeric(Numeric::NegInfinity));
    }
}

#[test]
fn unchanged_toast_placeholders_read_back_as_unchanged() {
    let schema = every_type();
    let mut after = vec![Value::Int32(1)];
    after.resize(schema.columns.len(), Value::Unchanged);
    let update = event(Op::Update, schema.clone(), Some(ordinary()), Some(Row(after.clone())));
    for config in every_mode() {
        let decoded = round_trip(&config, &update);
        assert_eq!(decoded.after, Some(Row(after.clone())), "{config:?}");
        // Without source types too, except bytea sent as a string: that is a text column then, and its
        // placeholder just text.
        if config.binary_handling == BinaryHandling::Bytes {
            let plain = EnvelopeConfig { propagate_source_types: false, ..config.clone() };
            let decoded = round_trip(&plain, &update);
            assert_eq!(decoded.after, Some(Row(after.clone())), "without source types, {plain:?}");
        }
    }
}

#[test]
fn a_tombstone_is_none() {
    let mut decoder = EventDecoder::new();
    assert!(matches!(decoder.decode(Some(b"{\"id\":1}"), None), Ok(None)));
    let wrapped_null = br#"{"schema":{"type":"struct","fields":[]},"payload":null}"#;
    assert!(matches!(decoder.decode(None, Some(wrapped_null)), Ok(None)));
}

#[test]
fn each_operation_keeps_its_images_and_key() {
    let config = json_schema(|_| {});
    let schema = super::fixtures::customers(ReplicaIdentity::Default);
    let anne = super::anne();
    let key_only = Row(vec![Value::Int32(1), Value::Null, Value::Null, Value::Null, Value::Null]);
    let cases = [
        (Op::Insert, None, Some(anne.clone())),
        (Op::Update, None, Some(anne.clone())),
        (Op::Delete, Some(key_only), None),
        (Op::Read, None, Some(anne.clone())),
        (Op::Truncate, None, None),
    ];
    for (op, before, after) in cases {
        let original = event(op, schema.clone(), before, after);
        let decoded = round_trip(&config, &original);
        assert_eq!((decoded.op, &decoded.before, &decoded.after), (op, &original.before, &original.after));
        let keys: Vec<&str> = decoded.schema.key_columns().map(|(_, c)| c.name.as_str()).collect();
        // A truncate seen first has no key to learn the key columns from.
        assert_eq!(keys, if op == Op::Truncate { vec![] } else { vec!["customer_id"] }, "{op:?}");
        assert_eq!(decoded.schema.replica_identity, ReplicaIdentity::Default);
        assert_eq!(decoded.origin, None);
    }
}

#[test]
fn positions_transactions_and_snapshot_markers_read_back() {
    let config = json_schema(|_| {});
    let schema = super::fixtures::customers(ReplicaIdentity::Full);
    let insert = event(Op::Insert, schema.clone(), None, Some(super::anne()));
    let decoded = round_trip(&config, &insert);
    assert_eq!(decoded.lsn, Lsn::new(24_023_000));
    assert_eq!(decoded.tx.commit_lsn, Lsn::new(24_023_128));
    assert_eq!(decoded.tx.xid, 555);
    assert_eq!((decoded.tx.total_order, decoded.tx.table_order), (3, 2));
    // source.ts_ms has millisecond precision.
    assert_eq!(decoded.tx.commit_time_micros, 1_559_033_904_863_000);
    assert_eq!(decoded.snapshot, SnapshotMarker::No);
    let quiet = round_trip(&json_schema(|c| c.transaction_metadata = false), &insert);
    assert_eq!((quiet.tx.total_order, quiet.tx.table_order), (0, 0));

    for marker in
        [SnapshotMarker::First, SnapshotMarker::InProgress, SnapshotMarker::LastInTable, SnapshotMarker::Last]
    {
        let mut read = event(Op::Read, schema.clone(), None, Some(super::anne()));
        read.snapshot = marker;
        let decoded = round_trip(&config, &read);
        assert_eq!(decoded.snapshot, marker);
        // Snapshot rows belong to no transaction.
        assert_eq!((decoded.tx.total_order, decoded.tx.table_order), (0, 0));
    }
}

/// A Debezium 2.7 PostgreSQL read event, trimmed to the parts the decoder reads: propagated source types as
/// Debezium's JDBC metadata fills them, `ts_us`, a `sequence` without a commit LSN, an incremental snapshot.
fn debezium_event(balance: J) -> J {
    let row = json!({
        "type": "struct", "optional": true, "name": "dbserver1.inventory.customers.Value",
        "fields": [
            { "type": "int32", "optional": false, "default": 0, "field": "id",
              "parameters": { "__debezium.source.column.type": "SERIAL", "__debezium.source.column.length": "10",
                              "__debezium.source.column.scale": "0", "__debezium.source.column.name": "id" } },
            { "type": "string", "optional": false, "field": "first_name",
              "parameters": { "__debezium.source.column.type": "VARCHAR",
                              "__debezium.source.column.length": "255", "__debezium.source.column.scale": "0" } },
            { "type": "double", "optional": true, "field": "balance",
              "parameters": { "__debezium.source.column.type": "NUMERIC", "__debezium.source.column.length": "10",
                              "__debezium.source.column.scale": "2" } },
            { "type": "string", "optional": true, "name": "io.debezium.time.ZonedTimestamp", "version": 1,
              "field": "updated_at",
              "parameters": { "__debezium.source.column.type": "TIMESTAMPTZ",
                              "__debezium.source.column.length": "35", "__debezium.source.column.scale": "6" } },
            { "type": "string", "optional": true, "field": "notes",
              "parameters": { "__debezium.source.column.type": "CITEXT",
                              "__debezium.source.column.length": "2147483647" } }
        ]
    });
    let mut before = row.clone();
    before["field"] = json!("before");
    let mut after = row;
    after["field"] = json!("after");
    json!({
        "schema": { "type": "struct", "optional": false, "name": "dbserver1.inventory.customers.Envelope",
                    "version": 2, "fields": [before, after] },
        "payload": {
            "before": null,
            "after": { "id": 1004, "first_name": "Anne", "balance": balance,
                       "updated_at": "2024-01-02T03:04:05.123456Z", "notes": "__debezium_unavailable_value" },
            "source": { "version": "2.7.0.Final", "connector": "postgresql", "name": "dbserver1",
                        "ts_ms": 1_559_033_904_863_i64, "ts_us": 1_559_033_904_863_123_i64,
                        "ts_ns": 1_559_033_904_863_123_000_i64, "snapshot": "incremental", "db": "postgres",
                        "sequence": "[null,\"24023128\"]", "schema": "inventory", "table": "customers",
                        "txId": 4_294_967_851_i64, "lsn": 24_023_128, "xmin": null },
            "op": "r", "ts_ms": 1_559_033_904_900_i64, "ts_us": 1_559_033_904_900_000_i64, "transaction": null
        }
    })
}

#[test]
fn debeziums_own_events_read_back() {
    let value = debezium_event(json!(19.99)).to_string();
    let decoded = EventDecoder::new()
        .decode(Some(br#"{"id":1004}"#), Some(value.as_bytes()))
        .expect("a valid event")
        .expect("not a tombstone");
    let columns: Vec<(&str, &str, i32, bool)> = decoded
        .schema
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.pg_type.name.as_str(), c.type_modifier, c.key))
        .collect();
    assert_eq!(
        columns,
        [
            ("id", "int4", -1, true),
            ("first_name", "varchar", 259, false),
            ("balance", "numeric", numeric_typmod(10, 2), false),
            ("updated_at", "timestamptz", 6, false),
            ("notes", "citext", -1, false),
        ]
    );
    assert_eq!(decoded.schema.id, TableId::new("inventory", "customers"));
    let after = decoded.after.expect("after");
    assert_eq!(
        after.0,
        [
            Value::Int32(1004),
            text("Anne"),
            num("19.99"),
            Value::TimestampTz(ts(1_704_164_645_123_456)),
            Value::Unchanged
        ]
    );
    assert_eq!(decoded.op, Op::Read);
    assert_eq!(decoded.snapshot, SnapshotMarker::Incremental);
    assert_eq!(decoded.lsn, Lsn::new(24_023_128));
    assert_eq!(decoded.tx.commit_lsn, decoded.lsn, "no commit LSN in the sequence");
    assert_eq!(decoded.tx.commit_time_micros, 1_559_033_904_863_123, "ts_us wins over ts_ms");
    assert_eq!(decoded.tx.xid, 555, "the low 32 bits of a 64-bit snapshot txid");
}

#[test]
fn the_schema_cache_shares_shapes_and_versions_new_ones() {
    let config = json_schema(|_| {});
    let mut decoder = EventDecoder::new();
    let mut decode = |event: &ChangeEvent| {
        let (key, value) = record(&config, event);
        decoder.decode(key.as_deref(), Some(&value)).expect("valid").expect("not a tombstone").schema
    };
    let v1 = super::fixtures::customers(ReplicaIdentity::Default);
    let insert = |schema: &SchemaRef, id: i32| {
        let mut row = super::anne();
        row.0[0] = Value::Int32(id);
        row.0.truncate(schema.columns.len());
        event(Op::Insert, schema.clone(), None, Some(row))
    };
    let first = decode(&insert(&v1, 1));
    let second = decode(&insert(&v1, 2));
    assert!(Arc::ptr_eq(&first, &second), "the same schema yields the same Arc");
    assert_eq!(first.version, 1);
    // A truncate has no key to name the key columns: it takes the table's shape as it is.
    assert!(Arc::ptr_eq(&decode(&event(Op::Truncate, v1.clone(), None, None)), &first));

    // Dropping a column is a new shape of the same table: a new version, the same synthetic oid.
    let mut v2 = (*v1).clone();
    v2.columns.pop();
    let v2: SchemaRef = v2.into();
    let dropped = decode(&insert(&v2, 3));
    assert_eq!(dropped.version, 2);
    assert_eq!(dropped.relation_oid, first.relation_oid);
    // An old-shape event after the new one (another partition) gets its old Arc back.
    assert!(Arc::ptr_eq(&decode(&insert(&v1, 4)), &first));

    // A before image with non-key columns shows REPLICA IDENTITY FULL: one more version, kept from then on.
    let update = event(Op::Update, v1.clone(), Some(super::anne()), Some(super::anne()));
    let full = decode(&update);
    assert_eq!((full.replica_identity, full.version), (ReplicaIdentity::Full, 3));
    assert!(Arc::ptr_eq(&decode(&insert(&v1, 5)), &full));

    // Other tables have their own versions and oids; the oid is stable across decoders.
    let lines = super::fixtures::order_lines();
    let row = Row(vec![Value::Int64(10), Value::Int32(5), Value::Int16(2)]);
    let other = decode(&event(Op::Insert, lines.clone(), None, Some(row.clone())));
    assert_eq!(other.version, 1);
    assert_ne!(other.relation_oid, first.relation_oid);
    let again = round_trip(&config, &event(Op::Insert, lines, None, Some(row)));
    assert_eq!(again.schema.relation_oid, other.relation_oid);
}
