use std::sync::Arc;

use cdc_core::envelope::{
    BinaryHandling, DecimalHandling, Envelope, EnvelopeConfig, EventFormat, HstoreHandling, IntervalHandling,
    TimePrecision,
};
use cdc_core::{
    ChangeEvent, Column, DateValue, Lsn, Numeric, Op, PgType, ReplicaIdentity, Row, SnapshotMarker, TableId,
    TableSchema, TimestampValue, TxInfo, TypeKind, Value,
};
use serde_json::{json, Value as J};

use super::{decode, encode, Decoder};
use crate::error::{AvroError, Malformed};
use crate::schema::{from_connect, to_connect, AvroSchema};

/// A small deterministic generator (xorshift64*), so failures reproduce.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn signed(&mut self, bound: i64) -> i64 {
        self.below(2 * bound.unsigned_abs() + 1) as i64 - bound
    }

    fn text(&mut self) -> String {
        const PIECES: [&str; 12] =
            ["a", "Z", "0", " ", "é", "日本", "🦀", "\"", "\\", "\n", "\u{0}", "__debezium"];
        (0..self.below(12)).map(|_| PIECES[self.below(PIECES.len() as u64) as usize]).collect()
    }

    fn digits(&mut self, n: u64) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }
}

fn builtin(oid: u32) -> PgType {
    PgType::builtin(oid).expect("a built-in type")
}

fn col(name: &str, pg_type: PgType, type_modifier: i32, nullable: bool, key: bool) -> Column {
    Column { name: name.into(), pg_type, type_modifier, nullable, key, fill_value: None }
}

const MOOD: [&str; 3] = ["sad", "ok", "happy"];

/// `public.everything`: a key, one column of each kind cdc-core encodes differently, and a column whose
/// name Avro cannot hold as it is.
pub(crate) fn everything() -> Arc<TableSchema> {
    let numeric = |p: i32, s: i32| ((p << 16) | s) + 4;
    let hstore = PgType::new(16_500, "hstore", TypeKind::Hstore);
    let mood = PgType::new(16_600, "mood", TypeKind::Enum(MOOD.iter().map(|s| (*s).to_owned()).collect()));
    let columns = vec![
        col("id", builtin(23), -1, false, true),
        col("small", builtin(21), -1, true, false),
        col("big", builtin(20), -1, true, false),
        col("real", builtin(700), -1, true, false),
        col("dbl", builtin(701), -1, true, false),
        col("price", builtin(1700), numeric(10, 2), true, false),
        col("anynum", builtin(1700), -1, true, false),
        col("cash", builtin(790), -1, true, false),
        col("label", builtin(1043), 24, false, false),
        col("code", builtin(1042), 7, true, false),
        col("flag", builtin(16), -1, true, false),
        col("blob", builtin(17), -1, true, false),
        col("uid", builtin(2950), -1, true, false),
        col("doc", builtin(114), -1, true, false),
        col("docb", builtin(3802), -1, true, false),
        col("day", builtin(1082), -1, true, false),
        col("t3", builtin(1083), 3, true, false),
        col("t", builtin(1083), -1, true, false),
        col("ttz", builtin(1266), -1, true, false),
        col("ts3", builtin(1114), 3, true, false),
        col("ts", builtin(1114), -1, true, false),
        col("tstz", builtin(1184), -1, true, false),
        col("span", builtin(1186), -1, true, false),
        col("b1", builtin(1560), 1, true, false),
        col("b8", builtin(1560), 8, true, false),
        col("vb", builtin(1562), -1, true, false),
        col("ip", builtin(869), -1, true, false),
        col("mac", builtin(829), -1, true, false),
        col("ints", builtin(1007), -1, true, false),
        col("texts", builtin(1009), -1, true, false),
        col("nums", builtin(1231), -1, true, false),
        col("mood", mood, -1, true, false),
        col("attrs", hstore, -1, true, false),
        col("oid", builtin(26), -1, true, false),
        col("Order Date", builtin(1082), -1, true, false),
    ];
    Arc::new(TableSchema {
        relation_oid: 16_385,
        id: TableId::new("public", "everything"),
        columns,
        replica_identity: ReplicaIdentity::Full,
        version: 1,
    })
}

/// A value for a column of `table`, null a fifth of the time where allowed.
fn random_value(rng: &mut Rng, column: &Column) -> Value {
    if column.nullable && rng.chance(20) {
        return Value::Null;
    }
    random_of(rng, &column.pg_type, column.type_modifier)
}

fn random_of(rng: &mut Rng, ty: &PgType, type_modifier: i32) -> Value {
    let micros_of_day = |rng: &mut Rng| rng.below(86_400_000_000) as i64;
    let timestamp = |rng: &mut Rng| match rng.below(20) {
        0 => TimestampValue::PosInfinity,
        1 => TimestampValue::NegInfinity,
        _ => TimestampValue::Micros(rng.signed(8_000_000_000_000_000)),
    };
    let numeric = |rng: &mut Rng| match rng.below(12) {
        0 => Numeric::NaN,
        _ => {
            let sign = if rng.chance(30) { "-" } else { "" };
            let (int_digits, frac_digits) = (1 + rng.below(12), rng.below(8));
            let fraction =
                if frac_digits == 0 { String::new() } else { format!(".{}", rng.digits(frac_digits)) };
            Numeric::Finite(format!(
                "{sign}{}{fraction}",
                rng.digits(int_digits).trim_start_matches('0').to_owned() + "0"
            ))
        }
    };
    match &ty.kind {
        TypeKind::Bool => Value::Bool(rng.chance(50)),
        TypeKind::Int2 => Value::Int16(rng.next() as i16),
        TypeKind::Int4 => Value::Int32(rng.next() as i32),
        TypeKind::Int8 => Value::Int64(rng.next() as i64),
        TypeKind::Float4 => Value::Float32(match rng.below(10) {
            0 => [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, f32::MIN_POSITIVE][rng.below(5) as usize],
            1..=4 => f32::from_bits(rng.next() as u32),
            _ => (rng.signed(1_000_000) as f32) / 100.0,
        }),
        TypeKind::Float8 => Value::Float64(match rng.below(10) {
            0 => [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 5e-324][rng.below(5) as usize],
            1..=4 => f64::from_bits(rng.next()),
            _ => (rng.signed(1_000_000) as f64) / 1000.0,
        }),
        TypeKind::Numeric if type_modifier >= 0 => {
            let cents = rng.signed(9_999_999_999);
            Value::Numeric(Numeric::Finite(format!("{}.{:02}", cents / 100, (cents % 100).abs())))
        }
        TypeKind::Numeric => Value::Numeric(numeric(rng)),
        TypeKind::Money => {
            Value::Money(Numeric::Finite(format!("{}.{:02}", rng.signed(1_000_000), rng.below(100))))
        }
        TypeKind::Text | TypeKind::Other => Value::Text(rng.text()),
        TypeKind::Bytea => Value::Bytes((0..rng.below(20)).map(|_| rng.next() as u8).collect()),
        TypeKind::Uuid => {
            let hex = format!("{:016x}{:016x}", rng.next(), rng.next());
            Value::Uuid(format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..]
            ))
        }
        TypeKind::Json | TypeKind::Jsonb => {
            Value::Json(json!({ "k": rng.text(), "n": rng.next() }).to_string())
        }
        TypeKind::Date => Value::Date(match rng.below(20) {
            0 => DateValue::PosInfinity,
            1 => DateValue::NegInfinity,
            _ => DateValue::Days(rng.signed(2_900_000) as i32),
        }),
        TypeKind::Time if type_modifier == 3 => Value::Time(micros_of_day(rng) / 1000 * 1000),
        TypeKind::Time => Value::Time(micros_of_day(rng)),
        TypeKind::TimeTz => {
            Value::TimeTz { micros: micros_of_day(rng), offset_seconds: rng.signed(50_400) as i32 }
        }
        TypeKind::Timestamp => Value::Timestamp(timestamp(rng)),
        TypeKind::TimestampTz => Value::TimestampTz(timestamp(rng)),
        TypeKind::Interval => Value::Interval {
            months: rng.signed(1200) as i32,
            days: rng.signed(400) as i32,
            micros: rng.signed(100_000_000_000),
        },
        TypeKind::Bit => {
            let length = if type_modifier > 0 { type_modifier as u64 } else { rng.below(40) };
            Value::Bits((0..length).map(|_| if rng.chance(50) { '1' } else { '0' }).collect())
        }
        TypeKind::Inet => Value::Inet(format!("10.0.{}.{}/32", rng.below(256), rng.below(256))),
        TypeKind::MacAddr => Value::MacAddr("08:00:2b:01:02:03".into()),
        TypeKind::Oid => Value::Oid(rng.next() as u32),
        TypeKind::Enum(labels) => Value::Enum(labels[rng.below(labels.len() as u64) as usize].clone()),
        TypeKind::Hstore => Value::Hstore(
            (0..rng.below(4))
                .map(|i| (format!("k{i}{}", rng.text()), (!rng.chance(25)).then(|| rng.text())))
                .collect(),
        ),
        TypeKind::Array(element) => Value::Array(
            (0..rng.below(5))
                .map(|_| if rng.chance(15) { Value::Null } else { random_of(rng, element, type_modifier) })
                .collect(),
        ),
    }
}

fn random_row(rng: &mut Rng, table: &TableSchema) -> Row {
    Row(table.columns.iter().map(|c| random_value(rng, c)).collect())
}

/// Unchanged TOAST in every column PostgreSQL can TOAST, but numerics in `double` mode: cdc-core writes
/// the placeholder text into their `double` field, which no Avro double holds (see
/// `an_unchanged_numeric_in_double_mode_cannot_be_encoded`).
fn toasted_row(rng: &mut Rng, table: &TableSchema, config: &EnvelopeConfig) -> Row {
    const TOASTABLE: [&str; 10] =
        ["price", "anynum", "label", "blob", "docb", "ints", "texts", "nums", "attrs", "vb"];
    let double = config.decimal_handling == DecimalHandling::Double;
    let mut row = random_row(rng, table);
    for (i, column) in table.columns.iter().enumerate() {
        let numeric = matches!(column.pg_type.kind, TypeKind::Numeric);
        if TOASTABLE.contains(&column.name.as_str()) && !(double && numeric) {
            row.0[i] = Value::Unchanged;
        }
    }
    row
}

fn event(op: Op, schema: Arc<TableSchema>, before: Option<Row>, after: Option<Row>, n: u64) -> ChangeEvent {
    ChangeEvent {
        op,
        schema,
        before,
        after,
        lsn: Lsn::new(24_023_000 + n),
        tx: TxInfo {
            xid: 555,
            commit_lsn: Lsn::new(24_023_128 + n),
            commit_time_micros: 1_559_033_904_863_123,
            total_order: n,
            table_order: n,
        },
        snapshot: if op == Op::Read { SnapshotMarker::InProgress } else { SnapshotMarker::No },
        origin: None,
    }
}

/// The configurations the round trip runs under: every handling mode at least once.
pub(crate) fn configs() -> Vec<EnvelopeConfig> {
    let base = EnvelopeConfig { format: EventFormat::JsonSchema, ..EnvelopeConfig::default() };
    vec![
        base.clone(),
        EnvelopeConfig {
            propagate_source_types: false,
            decimal_handling: DecimalHandling::String,
            time_precision: TimePrecision::Connect,
            binary_handling: BinaryHandling::Hex,
            interval_handling: IntervalHandling::String,
            hstore_handling: HstoreHandling::Map,
            transaction_metadata: true,
            ..base.clone()
        },
        EnvelopeConfig {
            decimal_handling: DecimalHandling::Double,
            time_precision: TimePrecision::AdaptiveTimeMicroseconds,
            binary_handling: BinaryHandling::Base64UrlSafe,
            hstore_handling: HstoreHandling::Map,
            ..base
        },
    ]
}

/// `{schema, payload}` messages (values and keys) of a spread of events on `everything`, per
/// configuration.
pub(crate) fn messages(seed: u64, per_config: usize) -> Vec<J> {
    let mut rng = Rng::new(seed);
    let table = everything();
    let mut out = Vec::new();
    for config in configs() {
        let mut envelope = Envelope::new(config.clone(), "inventory");
        for n in 0..per_config as u64 {
            let row = |rng: &mut Rng| random_row(rng, &table);
            let event = match n % 6 {
                0 => event(Op::Insert, table.clone(), None, Some(row(&mut rng)), n),
                1 => event(
                    Op::Update,
                    table.clone(),
                    Some(row(&mut rng)),
                    Some(toasted_row(&mut rng, &table, &config)),
                    n,
                ),
                2 => event(Op::Delete, table.clone(), Some(row(&mut rng)), None, n),
                3 => event(Op::Truncate, table.clone(), None, None, n),
                4 => event(Op::Read, table.clone(), None, Some(row(&mut rng)), n),
                _ => event(Op::Update, table.clone(), Some(row(&mut rng)), Some(row(&mut rng)), n),
            };
            out.push(envelope.value_at(&event, 1_700_000_000_000 + n as i64));
            out.extend(envelope.key(&event));
        }
    }
    out
}

fn encoded(message: &J) -> (AvroSchema, Vec<u8>) {
    let avro = from_connect(&message["schema"]).expect("translatable");
    let mut out = Vec::new();
    encode(&avro, &message["schema"], &message["payload"], &mut out)
        .unwrap_or_else(|e| panic!("{e}: {}", message["payload"]));
    (avro, out)
}

#[test]
fn every_envelope_cdc_core_writes_decodes_back_to_the_same_payload_and_schema() {
    for message in messages(0x5EED, 60) {
        let (avro, datum) = encoded(&message);
        let writer: J = serde_json::from_str(&avro.text).expect("JSON");
        let decoder = Decoder::new(&writer).expect("compiles");
        let payload = decoder.decode(&datum).unwrap_or_else(|e| panic!("{e}: {}", message["payload"]));
        assert_eq!(payload.to_string(), message["payload"].to_string());
        // The schema comes back too, key order and all.
        assert_eq!(decoder.connect_schema().expect("Connect").to_string(), message["schema"].to_string());
        assert_eq!(to_connect(&writer).expect("Connect").to_string(), message["schema"].to_string());
    }
}

#[test]
fn apache_avro_reads_every_datum_we_write() {
    for message in messages(0xA11CE, 30) {
        let (avro, datum) = encoded(&message);
        let mut reader = datum.as_slice();
        let value = apache_avro::from_avro_datum(&avro.schema, &mut reader, None)
            .unwrap_or_else(|e| panic!("{e}: {}", message["payload"]));
        assert!(reader.is_empty(), "apache-avro left {} bytes", reader.len());
        assert!(matches!(value, apache_avro::types::Value::Record(_)));
    }
}

#[test]
fn the_bytes_are_the_ones_avro_prescribes() {
    let connect = json!({
        "type": "struct",
        "fields": [
            { "type": "int32", "optional": false, "field": "id" },
            { "type": "string", "optional": true, "field": "note" },
            { "type": "array", "items": { "type": "int64", "optional": false }, "optional": false,
              "field": "xs" },
            { "type": "map", "keys": { "type": "string", "optional": false },
              "values": { "type": "boolean", "optional": false }, "optional": false, "field": "m" },
            { "type": "double", "optional": false, "field": "d" },
            { "type": "bytes", "optional": true, "field": "b" }
        ],
        "optional": false, "name": "x.R"
    });
    let avro = from_connect(&connect).expect("translatable");
    let payload = json!({ "id": -1, "note": "hé", "xs": [1, -64], "m": { "k": true }, "d": 1.5, "b": null });
    let mut ours = Vec::new();
    encode(&avro, &connect, &payload, &mut ours).expect("encodes");
    let expected: Vec<u8> = [
        vec![0x01],                         // id -1 (zigzag 1)
        vec![0x02, 0x06, b'h', 0xC3, 0xA9], // branch 1 (string), 3 bytes
        vec![0x04, 0x02, 0x7F, 0x00],       // one block of 2: 1 → 2, -64 → 127; end
        vec![0x02, 0x02, b'k', 0x01, 0x00], // one block of 1: "k" → true; end
        1.5f64.to_le_bytes().to_vec(),
        vec![0x00], // branch 0 (null)
    ]
    .concat();
    assert_eq!(ours, expected);
    let theirs = apache_avro::to_avro_datum(
        &avro.schema,
        apache_avro::types::Value::Record(vec![
            ("id".into(), apache_avro::types::Value::Int(-1)),
            ("note".into(), apache_avro::types::Value::Union(1, Box::new("hé".into()))),
            ("xs".into(), apache_avro::types::Value::Array(vec![1i64.into(), (-64i64).into()])),
            ("m".into(), apache_avro::types::Value::Map([("k".to_owned(), true.into())].into())),
            ("d".into(), apache_avro::types::Value::Double(1.5)),
            ("b".into(), apache_avro::types::Value::Union(0, Box::new(apache_avro::types::Value::Null))),
        ]),
    )
    .expect("apache-avro encodes");
    assert_eq!(ours, theirs);
}

fn envelope_message(config: EnvelopeConfig) -> J {
    let mut rng = Rng::new(7);
    let table = everything();
    let insert = event(Op::Insert, table.clone(), None, Some(random_row(&mut rng, &table)), 1);
    Envelope::new(config, "inventory").value_at(&insert, 1_700_000_000_000)
}

#[test]
fn a_null_in_a_field_with_a_default_is_written_as_the_default() {
    let message = envelope_message(configs().remove(0));
    let mut payload = message["payload"].clone();
    payload["source"]["snapshot"] = J::Null;
    let avro = from_connect(&message["schema"]).expect("translatable");
    let mut datum = Vec::new();
    encode(&avro, &message["schema"], &payload, &mut datum).expect("encodes");
    let writer: J = serde_json::from_str(&avro.text).expect("JSON");
    assert_eq!(decode(&writer, &datum).expect("decodes")["source"]["snapshot"], "false");
    // A missing member too.
    payload["source"].as_object_mut().expect("object").shift_remove("snapshot");
    let mut again = Vec::new();
    encode(&avro, &message["schema"], &payload, &mut again).expect("encodes");
    assert_eq!(again, datum);
}

#[test]
fn payloads_that_do_not_fit_say_which_field_and_what_was_expected() {
    let message = envelope_message(configs().remove(0));
    let avro = from_connect(&message["schema"]).expect("translatable");
    let attempt = |path: &[&str], value: J| {
        let mut payload = message["payload"].clone();
        let mut at = &mut payload;
        for key in path {
            at = &mut at[*key];
        }
        *at = value;
        let mut out = b"kept".to_vec();
        let error = encode(&avro, &message["schema"], &payload, &mut out).expect_err("does not fit");
        assert_eq!(out, b"kept", "a failed encode leaves the buffer as it was");
        error
    };
    let error = attempt(&["after", "price"], json!("not base64!"));
    assert_eq!(
        error.to_string(),
        "cannot encode `after.price` as Avro: expected base64 bytes, found the string \"not base64!\""
    );
    let error = attempt(&["after", "small"], json!(70_000));
    assert_eq!(error.path().map(|p| p.as_str()), Some("after.small"));
    assert!(error.to_string().contains("int16"), "{error}");
    let error = attempt(&["after", "label"], J::Null);
    assert_eq!(error.path().map(|p| p.as_str()), Some("after.label"));
    let error = attempt(&["after", "ints"], json!([1, "two"]));
    assert_eq!(error.path().map(|p| p.as_str()), Some("after.ints[1]"));
    let error = attempt(&["after", "Order Date"], json!("yesterday"));
    assert_eq!(error.path().map(|p| p.as_str()), Some("after.Order Date"));
    let error = attempt(&["op"], json!(1));
    assert_eq!(error.path().map(|p| p.as_str()), Some("op"));
}

#[test]
fn a_connect_schema_other_than_the_translated_one_is_refused() {
    let message = envelope_message(configs().remove(0));
    let avro = from_connect(&message["schema"]).expect("translatable");
    let other =
        json!({ "type": "struct", "fields": [], "optional": false, "name": "cdc.public.other.Envelope" });
    let error = encode(&avro, &other, &json!({}), &mut Vec::new()).expect_err("mismatch");
    assert!(matches!(error, AvroError::SchemaMismatch { .. }), "{error}");
}

#[test]
fn multi_dimensional_arrays_are_an_error_not_a_panic() {
    let mut table = (*everything()).clone();
    table.columns.truncate(1);
    table.columns.push(col("grid", builtin(1007), -1, true, false));
    let table = Arc::new(table);
    let grid = Value::Array(vec![Value::Array(vec![Value::Int32(1)]), Value::Array(vec![Value::Int32(2)])]);
    let insert = event(Op::Insert, table, None, Some(Row(vec![Value::Int32(1), grid])), 1);
    let message = Envelope::new(configs().remove(0), "inventory").value_at(&insert, 0);
    let avro = from_connect(&message["schema"]).expect("translatable");
    let error = encode(&avro, &message["schema"], &message["payload"], &mut Vec::new()).expect_err("2-D");
    assert_eq!(error.path().map(|p| p.as_str()), Some("after.grid[0]"));
}

#[test]
fn an_unchanged_numeric_in_double_mode_cannot_be_encoded() {
    let config = EnvelopeConfig { decimal_handling: DecimalHandling::Double, ..configs().remove(0) };
    let mut rng = Rng::new(3);
    let table = everything();
    let mut row = random_row(&mut rng, &table);
    row.0[5] = Value::Unchanged;
    let update = event(Op::Update, table.clone(), None, Some(row), 1);
    let message = Envelope::new(config, "inventory").value_at(&update, 0);
    assert_eq!(message["payload"]["after"]["price"], "__debezium_unavailable_value");
    let avro = from_connect(&message["schema"]).expect("translatable");
    let error =
        encode(&avro, &message["schema"], &message["payload"], &mut Vec::new()).expect_err("a string");
    assert_eq!(error.path().map(|p| p.as_str()), Some("after.price"));
}

#[test]
fn every_truncation_of_a_datum_is_an_error() {
    for message in messages(0x7A11, 12) {
        let (avro, datum) = encoded(&message);
        let decoder = Decoder::new(&serde_json::from_str(&avro.text).expect("JSON")).expect("compiles");
        for len in 0..datum.len() {
            let error = decoder.decode(&datum[..len]).expect_err("a strict prefix is not a datum");
            assert!(matches!(error, AvroError::Malformed { .. }), "{error}");
        }
        let mut longer = datum.clone();
        longer.push(0);
        let error = decoder.decode(&longer).expect_err("trailing byte");
        assert!(
            matches!(error, AvroError::Malformed { problem: Malformed::TrailingBytes(1), .. }),
            "{error}"
        );
    }
}

#[test]
fn corrupted_datums_decode_or_fail_but_never_panic() {
    let mut rng = Rng::new(0xF1_1B);
    let mut failures = 0;
    let mut total = 0;
    for message in messages(0xC0FFEE, 12) {
        let (avro, datum) = encoded(&message);
        let decoder = Decoder::new(&serde_json::from_str(&avro.text).expect("JSON")).expect("compiles");
        for _ in 0..300 {
            let mut bytes = datum.clone();
            for _ in 0..=rng.below(3) {
                let i = rng.below(bytes.len() as u64) as usize;
                if let Some(byte) = bytes.get_mut(i) {
                    *byte = match rng.below(3) {
                        0 => *byte ^ (1 << rng.below(8)),
                        1 => 0xFF,
                        _ => rng.next() as u8,
                    };
                }
            }
            total += 1;
            failures += usize::from(decoder.decode(&bytes).is_err());
        }
        // Random bytes of random lengths, too.
        for _ in 0..100 {
            let junk: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
            let _ = decoder.decode(&junk);
        }
    }
    assert!(failures > total / 4, "most corruptions are caught: {failures} of {total}");
}

#[test]
fn hostile_counts_and_nesting_are_refused_before_they_cost_anything() {
    let nulls = decode(&json!({ "type": "array", "items": "null" }), &[0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0x00]);
    assert!(
        matches!(nulls, Err(AvroError::Malformed { problem: Malformed::TooManyItems(_), .. })),
        "{nulls:?}"
    );
    let longs = decode(&json!({ "type": "array", "items": "long" }), &[0xD0, 0x0F, 0x02, 0x00]);
    assert!(
        matches!(
            longs,
            Err(AvroError::Malformed { problem: Malformed::BlockPastEnd { count: 1000, .. }, .. })
        ),
        "{longs:?}"
    );
    let string = decode(&json!("string"), &[0xC8, 0x01, b'a']);
    assert!(matches!(
        string,
        Err(AvroError::Malformed { problem: Malformed::LengthPastEnd { length: 100, .. }, .. })
    ));
    let negative = decode(&json!("bytes"), &[0x01]);
    assert!(matches!(negative, Err(AvroError::Malformed { problem: Malformed::NegativeLength(-1), .. })));
    let varint = decode(&json!("long"), &[0xFF; 11]);
    assert!(matches!(
        varint,
        Err(AvroError::Malformed { problem: Malformed::VarintOverflow, position: 0, .. })
    ));
    let int = decode(&json!("int"), &[0x80, 0x80, 0x80, 0x80, 0x20]);
    assert!(matches!(int, Err(AvroError::Malformed { problem: Malformed::IntOutOfRange(_), .. })), "{int:?}");
    let boolean = decode(&json!("boolean"), &[0x02]);
    assert!(matches!(boolean, Err(AvroError::Malformed { problem: Malformed::Boolean(2), .. })));
    let utf8 = decode(&json!("string"), &[0x02, 0xFF]);
    assert!(matches!(utf8, Err(AvroError::Malformed { problem: Malformed::Utf8, .. })));
    let branch = decode(&json!(["null", "int"]), &[0x04]);
    assert!(matches!(
        branch,
        Err(AvroError::Malformed { problem: Malformed::UnionBranch { index: 2, .. }, .. })
    ));
    // A recursive schema and bytes that keep choosing the recursive branch: a typed error, not a stack
    // overflow.
    let list = json!({ "type": "record", "name": "List", "fields": [
        { "name": "head", "type": "int" }, { "name": "tail", "type": ["null", "List"] } ] });
    let deep: Vec<u8> = std::iter::repeat_n([0x00, 0x02], 10_000).flatten().collect();
    let error = decode(&list, &deep).expect_err("too deep");
    assert!(matches!(error, AvroError::Malformed { problem: Malformed::TooDeep(_), .. }), "{error}");
    assert!(error.path().is_some_and(|p| p.as_str().starts_with("tail.tail.")));
    // … and a shallow one decodes.
    assert_eq!(
        decode(&list, &[0x02, 0x02, 0x04, 0x00]).expect("decodes"),
        json!({ "head": 1, "tail": { "head": 2, "tail": null } })
    );
}

#[test]
fn negative_block_counts_from_other_writers_are_read() {
    // -2 items, then the block's byte size (2), then the items; then the end.
    let datum = [0x03, 0x04, 0x02, 0x04, 0x00];
    assert_eq!(decode(&json!({ "type": "array", "items": "long" }), &datum).expect("decodes"), json!([1, 2]));
}

#[test]
fn non_finite_floats_travel_as_jacksons_strings() {
    let connect =
        json!({ "type": "array", "items": { "type": "double", "optional": false }, "optional": false });
    let avro = from_connect(&connect).expect("translatable");
    let payload = json!(["NaN", "Infinity", "-Infinity", -0.0, 1e308, 5e-324]);
    let mut datum = Vec::new();
    encode(&avro, &connect, &payload, &mut datum).expect("encodes");
    let writer: J = serde_json::from_str(&avro.text).expect("JSON");
    assert_eq!(decode(&writer, &datum).expect("decodes").to_string(), payload.to_string());
    let floats = json!({ "type": "float", "optional": false });
    let avro = from_connect(&floats).expect("translatable");
    let mut datum = Vec::new();
    encode(&avro, &floats, &json!(1.1), &mut datum).expect("encodes");
    assert_eq!(datum, 1.1f32.to_le_bytes());
    assert_eq!(decode(&json!("float"), &datum).expect("decodes").to_string(), "1.1");
}

#[test]
fn maps_with_non_string_keys_travel_as_key_value_pairs() {
    let connect = json!({ "type": "map", "keys": { "type": "int32", "optional": false },
                          "values": { "type": "string", "optional": true }, "optional": false });
    let avro = from_connect(&connect).expect("translatable");
    let payload = json!([[1, "one"], [2, null]]);
    let mut datum = Vec::new();
    encode(&avro, &connect, &payload, &mut datum).expect("encodes");
    let writer: J = serde_json::from_str(&avro.text).expect("JSON");
    assert_eq!(decode(&writer, &datum).expect("decodes"), payload);
}

#[test]
fn unions_of_several_types_read_as_avro_datas_union_struct() {
    let writer = json!(["null", "int", "string"]);
    assert_eq!(decode(&writer, &[0x04, 0x02, b'x']).expect("decodes"), json!({ "int": null, "string": "x" }));
    assert_eq!(decode(&writer, &[0x00]).expect("decodes"), J::Null);
    let enum_writer = json!({ "type": "enum", "name": "E", "symbols": ["A", "B"] });
    assert_eq!(decode(&enum_writer, &[0x02]).expect("decodes"), json!("B"));
    assert!(decode(&enum_writer, &[0x04]).is_err());
}
