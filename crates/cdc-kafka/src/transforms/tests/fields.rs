//! `ReplaceField`, `MaskField` and `InsertField`, each after `ExtractNewRecordState` (the order Debezium
//! users configure: unwrap first, then work on the row).

use cdc_core::{Op, Value};
use serde_json::json;

use super::fixtures::*;
use crate::transforms::{Chain, Record, TransformError};

const REPLACE: &str = "org.apache.kafka.connect.transforms.ReplaceField$Value";
const REPLACE_KEY: &str = "org.apache.kafka.connect.transforms.ReplaceField$Key";
const MASK: &str = "org.apache.kafka.connect.transforms.MaskField$Value";
const INSERT: &str = "org.apache.kafka.connect.transforms.InsertField$Value";
const INSERT_KEY: &str = "org.apache.kafka.connect.transforms.InsertField$Key";

/// `unwrap` then one transform `t`.
fn after_unwrap(class: &str, pairs: &[(&str, &str)]) -> Chain {
    Chain::build(&[spec("unwrap", UNWRAP, &[]), spec("t", class, pairs)], &[]).unwrap()
}

fn insert_of(name: &str, columns: Vec<cdc_core::Column>, values: Vec<Value>) -> Record {
    record(&mut envelope(), &event(Op::Insert, table(name, columns), None, row(values)))
}

fn c1_c2() -> Record {
    insert_of(
        "t",
        vec![col("c1", INT4, false, true), col("c2", TEXT, true, false)],
        vec![Value::Int32(22), text("foo")],
    )
}

/// Confluent, "ReplaceField" (<https://docs.confluent.io/platform/current/connect/transforms/replacefield.html>):
/// "Drop a Field": `exclude=c2` turns `{"c1":22,"c2":"foo"}` into `{"c1":22}`.
#[test]
fn replace_field_exclude_drops_the_field_from_payload_and_schema() {
    let out = kept(&mut after_unwrap(REPLACE, &[("exclude", "c2")]), c1_c2());
    assert_json(out.value.as_ref().unwrap(), &json!({ "c1": 22 }));
    assert_json(
        out.value_schema.as_ref().unwrap(),
        &json!({
            "type": "struct",
            "fields": [{ "type": "int32", "optional": false, "field": "c1" }],
            "optional": false,
            "name": "cdc.public.t.Value"
        }),
    );
    // The legacy name, the include list, and schemaless values behave the same.
    let out = kept(&mut after_unwrap(REPLACE, &[("blacklist", "c2")]), c1_c2());
    assert_json(out.value.as_ref().unwrap(), &json!({ "c1": 22 }));
    let out = kept(&mut after_unwrap(REPLACE, &[("include", "c2")]), schemaless(&c1_c2()));
    assert_json(out.value.as_ref().unwrap(), &json!({ "c2": "foo" }));
    assert_eq!(out.value_schema, None);
}

/// Same page, "Rename a Field": `renames=foo:c1,bar:c2`: Before `{"foo":22,"bar":"baz"}`,
/// After `{"c1":22,"c2":"baz"}`. On the key (`$Key`) the key schema's field is renamed too.
#[test]
fn replace_field_renames_in_payload_and_schema_and_on_the_key() {
    let input = insert_of(
        "t",
        vec![col("foo", INT4, false, true), col("bar", TEXT, true, false)],
        vec![Value::Int32(22), text("baz")],
    );
    let out = kept(&mut after_unwrap(REPLACE, &[("renames", "foo:c1,bar:c2")]), input.clone());
    assert_json(out.value.as_ref().unwrap(), &json!({ "c1": 22, "c2": "baz" }));
    assert_json(
        &out.value_schema.as_ref().unwrap()["fields"],
        &json!([
            { "type": "int32", "optional": false, "field": "c1" },
            { "type": "string", "optional": true, "field": "c2" }
        ]),
    );

    let out = kept(&mut one(REPLACE_KEY, &[("renames", "foo:c1")]), input);
    assert_json(out.key.as_ref().unwrap(), &json!({ "c1": 22 }));
    assert_json(
        out.key_schema.as_ref().unwrap(),
        &json!({
            "type": "struct",
            "fields": [{ "type": "int32", "optional": false, "field": "c1" }],
            "optional": false,
            "name": "cdc.public.t.Key"
        }),
    );

    let err = try_one(REPLACE, &[("renames", "foo:c1,bar")]).unwrap_err();
    assert!(
        matches!(&err, TransformError::InvalidProperty { scope, property, .. } if scope == "transforms.t" && property == "renames"),
        "{err:?}"
    );
}

/// Confluent, "MaskField" (<https://docs.confluent.io/platform/current/connect/transforms/maskfield.html>):
/// "Mask value": `fields=string_field` turns `{"integer_field":22, "string_field":"foo"}` into
/// `{"integer_field":22, "string_field":""}`; "Replace value": `fields=SSN`, `replacement=***-***-****`.
/// Masks are the type's null value: 0 for numbers, false, "".
#[test]
fn mask_field_masks_with_the_types_null_value_or_the_replacement() {
    let input = insert_of(
        "m",
        vec![
            col("integer_field", INT4, false, true),
            col("string_field", TEXT, true, false),
            col("SSN", TEXT, true, false),
            col("big", INT8, true, false),
        ],
        vec![Value::Int32(22), text("foo"), text("123-45-6789"), Value::Int64(7)],
    );
    let out = kept(&mut after_unwrap(MASK, &[("fields", "string_field")]), input.clone());
    assert_json(
        out.value.as_ref().unwrap(),
        &json!({ "integer_field": 22, "string_field": "", "SSN": "123-45-6789", "big": 7 }),
    );
    let unwrapped = kept(&mut one(UNWRAP, &[]), input.clone());
    assert_eq!(out.value_schema, unwrapped.value_schema, "MaskField leaves the schema alone");

    let out =
        kept(&mut after_unwrap(MASK, &[("fields", "SSN"), ("replacement", "***-***-****")]), input.clone());
    assert_eq!(out.value.as_ref().unwrap()["SSN"], "***-***-****");

    let out = kept(&mut after_unwrap(MASK, &[("fields", "integer_field,big")]), input.clone());
    assert_json(
        out.value.as_ref().unwrap(),
        &json!({ "integer_field": 0, "string_field": "foo", "SSN": "123-45-6789", "big": 0 }),
    );
    let out = kept(&mut after_unwrap(MASK, &[("fields", "big"), ("replacement", "-1")]), input.clone());
    assert_eq!(out.value.as_ref().unwrap()["big"], -1);

    // A replacement that is not a number cannot mask a number; the record fails with the transform named.
    let err =
        after_unwrap(MASK, &[("fields", "big"), ("replacement", "x")]).apply(input.clone()).unwrap_err();
    assert!(
        matches!(&err, TransformError::Record { transform, topic, .. } if transform == "t" && topic == "cdc.public.m"),
        "{err:?}"
    );
    // Schemaless: a listed field the payload lacks is added as null, as Kafka's put(field, masked(null)).
    let out = kept(&mut after_unwrap(MASK, &[("fields", "string_field,absent")]), schemaless(&input));
    assert_json(
        out.value.as_ref().unwrap(),
        &json!({ "integer_field": 22, "string_field": "", "SSN": "123-45-6789", "big": 7, "absent": null }),
    );

    assert_eq!(try_one(MASK, &[]).unwrap_err().to_string(), "transforms.t.fields is required");
    assert!(try_one(MASK, &[("fields", "a"), ("replacement", "")]).is_err());
}

/// Kafka's MaskField cannot mask bytes ("Cannot mask value of type: class [B").
#[test]
fn mask_field_fails_on_bytes() {
    let input = insert_of(
        "b",
        vec![col("id", INT4, false, true), col("blob", BYTEA, true, false)],
        vec![Value::Int32(1), Value::Bytes(vec![1, 2])],
    );
    let err = after_unwrap(MASK, &[("fields", "blob")]).apply(input).unwrap_err();
    assert!(err.to_string().contains("Cannot mask value of type bytes"), "{err}");
}

/// Confluent, "InsertField" (<https://docs.confluent.io/platform/current/connect/transforms/insertfield.html>):
/// `static.field=MessageSource`, `static.value=Kafka Connect framework`:
/// Before `{"author": "Philip K. Dick", "character": "Palmer Eldritch"}`,
/// After `{"author": "Philip K. Dick", "character": "Palmer Eldritch", "MessageSource": "Kafka Connect framework"}`.
/// The added field's schema is an optional string (`!` makes it required); `topic.field` adds the topic,
/// `timestamp.field` the record timestamp as a `Timestamp`, `partition.field` a null (unknown before produce).
#[test]
fn insert_field_adds_static_topic_and_timestamp_fields_with_schemas() {
    let input = insert_of(
        "books",
        vec![col("author", TEXT, false, true), col("character", TEXT, true, false)],
        vec![text("Philip K. Dick"), text("Palmer Eldritch")],
    );
    let doc = [("static.field", "MessageSource"), ("static.value", "Kafka Connect framework")];
    let out = kept(&mut after_unwrap(INSERT, &doc), input.clone());
    assert_json(
        out.value.as_ref().unwrap(),
        &json!({ "author": "Philip K. Dick", "character": "Palmer Eldritch", "MessageSource": "Kafka Connect framework" }),
    );
    assert_json(
        out.value_schema.as_ref().unwrap(),
        &json!({
            "type": "struct",
            "fields": [
                { "type": "string", "optional": false, "field": "author" },
                { "type": "string", "optional": true, "field": "character" },
                { "type": "string", "optional": true, "field": "MessageSource" }
            ],
            "optional": false,
            "name": "cdc.public.books.Value"
        }),
    );

    let mut chain = after_unwrap(
        INSERT,
        &[
            ("topic.field", "topic!"),
            ("timestamp.field", "ts"),
            ("partition.field", "partition"),
            doc[0],
            doc[1],
        ],
    );
    let out = kept(&mut chain, input.clone());
    assert_json(
        out.value.as_ref().unwrap(),
        &json!({
            "author": "Philip K. Dick", "character": "Palmer Eldritch", "topic": "cdc.public.books",
            "partition": null, "ts": TS_MS, "MessageSource": "Kafka Connect framework"
        }),
    );
    assert_json(
        &out.value_schema.as_ref().unwrap()["fields"],
        &json!([
            { "type": "string", "optional": false, "field": "author" },
            { "type": "string", "optional": true, "field": "character" },
            { "type": "string", "optional": false, "field": "topic" },
            { "type": "int32", "optional": true, "field": "partition" },
            { "type": "int64", "optional": true, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1, "field": "ts" },
            { "type": "string", "optional": true, "field": "MessageSource" }
        ]),
    );

    // Schemaless: no schema; the unknown partition is left out, as Kafka skips a null partition.
    let out = kept(&mut chain, schemaless(&input));
    assert_json(
        out.value.as_ref().unwrap(),
        &json!({
            "author": "Philip K. Dick", "character": "Palmer Eldritch", "topic": "cdc.public.books", "ts": TS_MS,
            "MessageSource": "Kafka Connect framework"
        }),
    );
    assert_eq!(out.value_schema, None);

    // On the key.
    let out =
        kept(&mut one(INSERT_KEY, &[("static.field", "region"), ("static.value", "eu")]), input.clone());
    assert_json(out.key.as_ref().unwrap(), &json!({ "author": "Philip K. Dick", "region": "eu" }));
    assert_eq!(
        out.key_schema.as_ref().unwrap()["fields"][1],
        json!({ "type": "string", "optional": true, "field": "region" })
    );

    // A tombstone passes.
    let grave = Record { value: None, value_schema: None, ..input };
    assert_eq!(kept(&mut one(INSERT, &[("topic.field", "t")]), grave.clone()), grave);
}

#[test]
fn insert_field_refuses_offsets_required_partitions_and_empty_configurations() {
    let err = try_one(INSERT, &[("offset.field", "offset")]).unwrap_err();
    assert!(err.to_string().starts_with("transforms.t.offset.field"), "{err}");
    let err = try_one(INSERT, &[("partition.field", "p!")]).unwrap_err();
    assert!(err.to_string().starts_with("transforms.t.partition.field"), "{err}");
    let err = try_one(INSERT, &[("static.field", "s")]).unwrap_err();
    assert_eq!(err.to_string(), "transforms.t.static.value is required");
    assert!(matches!(try_one(INSERT, &[]).unwrap_err(), TransformError::MissingProperty { .. }));
}
