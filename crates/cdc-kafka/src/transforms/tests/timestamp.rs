//! `TimestampConverter`.

use cdc_core::envelope::{EnvelopeConfig, EventFormat, TimePrecision};
use cdc_core::{DateValue, Op, TimestampValue, Value};
use serde_json::json;

use super::fixtures::*;
use crate::transforms::{Chain, Record, TransformError};

const CONVERTER: &str = "org.apache.kafka.connect.transforms.TimestampConverter$Value";

/// 2024-01-02T03:04:05.123456Z.
const MICROS: i64 = 1_704_164_645_123_456;

fn after_unwrap(pairs: &[(&str, &str)]) -> Chain {
    Chain::build(&[spec("unwrap", UNWRAP, &[]), spec("t", CONVERTER, pairs)], &[]).unwrap()
}

/// `public.events (id int4 PK, created_at timestamp, updated_at timestamptz, day date)`.
fn events(config: Option<EnvelopeConfig>) -> Record {
    let schema = table(
        "events",
        vec![
            col("id", INT4, false, true),
            col("created_at", TIMESTAMP, true, false),
            col("updated_at", 1184, true, false),
            col("day", DATE, true, false),
        ],
    );
    let values = vec![
        Value::Int32(1),
        Value::Timestamp(TimestampValue::Micros(MICROS)),
        Value::TimestampTz(TimestampValue::Micros(MICROS)),
        Value::Date(DateValue::Days(19_724)),
    ];
    let mut env = match config {
        Some(config) => envelope_with(config),
        None => envelope(),
    };
    record(&mut env, &event(Op::Insert, schema, None, row(values)))
}

/// Confluent, "TimestampConverter" (<https://docs.confluent.io/platform/current/connect/transforms/timestampconverter.html>):
/// `format=yyyy-MM-dd`, `target.type=string`, "transform a Unix epoch (represented as an int64 value) into a
/// formatted date string": Before `1696521093`, After `"2023-10-05"`. That holds for epoch seconds, i.e.
/// with `unix.precision=seconds`; with the default milliseconds the same number is 1970-01-20.
#[test]
fn a_unix_epoch_becomes_a_formatted_date_string() {
    let input = Record { value: Some(json!(1_696_521_093_i64)), ..Record::default() };
    let mut seconds =
        one(CONVERTER, &[("format", "yyyy-MM-dd"), ("target.type", "string"), ("unix.precision", "seconds")]);
    assert_eq!(kept(&mut seconds, input.clone()).value, Some(json!("2023-10-05")));
    let mut millis = one(CONVERTER, &[("format", "yyyy-MM-dd"), ("target.type", "string")]);
    assert_eq!(kept(&mut millis, input.clone()).value, Some(json!("1970-01-20")));

    // With a schema, the whole value's schema becomes the target's, keeping its optionality.
    let typed = Record { value_schema: Some(json!({ "type": "int64", "optional": false })), ..input };
    let out = kept(&mut seconds, typed);
    assert_eq!(out.value_schema, Some(json!({ "type": "string", "optional": false })));
    assert_eq!(out.value, Some(json!("2023-10-05")));
}

/// Same page: `field=event_date_long`, `unix.precision=microseconds`, `target.type=Timestamp` converts a Unix
/// time in microseconds to a Connect `Timestamp` ("there will be precision loss"). Debezium's
/// `io.debezium.time.MicroTimestamp` (a `timestamp` column) is such an `int64`.
#[test]
fn a_debezium_micro_timestamp_becomes_a_connect_timestamp() {
    let input = events(None);
    let unwrapped = kept(&mut one(UNWRAP, &[]), input.clone());
    assert_eq!(
        unwrapped.value_schema.as_ref().unwrap()["fields"][1],
        json!({ "type": "int64", "optional": true, "name": "io.debezium.time.MicroTimestamp", "version": 1, "field": "created_at" })
    );

    let mut chain = after_unwrap(&[
        ("field", "created_at"),
        ("unix.precision", "microseconds"),
        ("target.type", "Timestamp"),
    ]);
    let out = kept(&mut chain, input.clone());
    assert_eq!(out.value.as_ref().unwrap()["created_at"], json!(1_704_164_645_123_i64));
    let schema = out.value_schema.as_ref().unwrap();
    assert_json(
        &schema["fields"][1],
        &json!({ "type": "int64", "optional": true, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1, "field": "created_at" }),
    );
    // The other fields and the struct's basics are kept (the struct keeps its optionality here).
    assert_eq!(schema["fields"][0], unwrapped.value_schema.as_ref().unwrap()["fields"][0]);
    assert_eq!((&schema["name"], &schema["optional"]), (&json!("cdc.public.events.Value"), &json!(false)));

    let mut chain = after_unwrap(&[
        ("field", "created_at"),
        ("unix.precision", "microseconds"),
        ("target.type", "string"),
        ("format", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"),
    ]);
    assert_eq!(kept(&mut chain, input.clone()).value.unwrap()["created_at"], "2024-01-02T03:04:05.123Z");

    // Schemaless: the number is inferred as a Unix time. Conversions go through milliseconds (Kafka's
    // `java.util.Date`), so even microseconds to microseconds loses the sub-millisecond digits.
    let mut chain =
        after_unwrap(&[("field", "created_at"), ("unix.precision", "microseconds"), ("target.type", "unix")]);
    let out = kept(&mut chain, schemaless(&input));
    assert_eq!(out.value.unwrap()["created_at"], json!(1_704_164_645_123_000_i64));
}

/// A `ZonedTimestamp` string parsed with a `SimpleDateFormat` pattern. `S` counts milliseconds, so Java's
/// lenient parse reads the six digits `123456` as 123.456 seconds, and this does the same.
#[test]
fn a_string_timestamp_is_parsed_as_simple_date_format_does() {
    let input = events(None);
    let mut chain = after_unwrap(&[
        ("field", "updated_at"),
        ("target.type", "unix"),
        ("format", "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"),
    ]);
    let out = kept(&mut chain, input.clone());
    assert_eq!(out.value.as_ref().unwrap()["updated_at"], json!(1_704_164_645_000_i64 + 123_456));
    assert_eq!(
        out.value_schema.as_ref().unwrap()["fields"][2],
        json!({ "type": "int64", "optional": true, "field": "updated_at" })
    );

    let mut chain =
        after_unwrap(&[("field", "updated_at"), ("target.type", "Date"), ("format", "yyyy-MM-dd")]);
    let out = kept(&mut chain, input);
    assert_eq!(out.value.as_ref().unwrap()["updated_at"], json!(19_724));
    assert_eq!(
        out.value_schema.as_ref().unwrap()["fields"][2],
        json!({ "type": "int32", "optional": true, "name": "org.apache.kafka.connect.data.Date", "version": 1, "field": "updated_at" })
    );
}

/// With `time.precision.mode=connect` the envelope carries Connect's own `Timestamp` and `Date`, which convert
/// to `Date` (the day) and `Time` (milliseconds of the day).
#[test]
fn connect_logical_types_convert_to_date_and_time() {
    let config = EnvelopeConfig {
        format: EventFormat::JsonSchema,
        propagate_source_types: false,
        time_precision: TimePrecision::Connect,
        ..EnvelopeConfig::default()
    };
    let input = events(Some(config));
    let out = kept(&mut after_unwrap(&[("field", "created_at"), ("target.type", "Time")]), input.clone());
    assert_eq!(out.value.as_ref().unwrap()["created_at"], json!(11_045_123));
    assert_eq!(out.value_schema.as_ref().unwrap()["fields"][1]["name"], "org.apache.kafka.connect.data.Time");
    let out = kept(&mut after_unwrap(&[("field", "day"), ("target.type", "Timestamp")]), input);
    assert_eq!(out.value.as_ref().unwrap()["day"], json!(19_724_i64 * 86_400_000));
}

/// Kafka's `timestampTypeFromSchema` knows Connect's logical types, strings and int64s; Debezium's
/// `io.debezium.time.Date` (`int32` days) is none of them.
#[test]
fn a_debezium_date_is_not_a_known_timestamp_type() {
    let err = after_unwrap(&[("field", "day"), ("target.type", "string"), ("format", "yyyy")])
        .apply(events(None))
        .unwrap_err();
    assert!(
        matches!(&err, TransformError::Record { transform, reason, .. }
            if transform == "t" && reason.contains("does not correspond to a known timestamp type format")),
        "{err:?}"
    );
}

#[test]
fn invalid_configurations_name_the_property() {
    assert_eq!(try_one(CONVERTER, &[]).unwrap_err().to_string(), "transforms.t.target.type is required");
    let err = try_one(CONVERTER, &[("target.type", "timestamp")]).unwrap_err();
    assert!(err.to_string().starts_with("transforms.t.target.type"), "{err}");
    let err = try_one(CONVERTER, &[("target.type", "string")]).unwrap_err();
    assert!(err.to_string().starts_with("transforms.t.format"), "{err}");
    let err = try_one(CONVERTER, &[("target.type", "string"), ("format", "EEE, dd MMM yyyy")]).unwrap_err();
    assert!(err.to_string().contains("pattern letter 'E'"), "{err}");
    let err = try_one(CONVERTER, &[("target.type", "unix"), ("unix.precision", "minutes")]).unwrap_err();
    assert!(err.to_string().starts_with("transforms.t.unix.precision"), "{err}");
}
