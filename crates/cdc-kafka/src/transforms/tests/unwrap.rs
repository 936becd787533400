//! `ExtractNewRecordState`. Source of the examples: Debezium, "New Record State Extraction",
//! <https://debezium.io/documentation/reference/stable/transformations/event-flattening.html>.

use cdc_core::{Op, Value};
use serde_json::json;

use super::fixtures::*;
use crate::transforms::{Record, TransformError};

fn doc_table() -> cdc_core::SchemaRef {
    table("t", vec![col("field1", VARCHAR, true, false), col("field2", VARCHAR, true, false)])
}

/// Doc, "Change event structure": an `UPDATE` event
/// `{"op": "u", "source": {...}, "ts_ms": "...", "before": {"field1": "oldvalue1", "field2": "oldvalue2"},
///   "after": {"field1": "newvalue1", "field2": "newvalue2"}}`
/// becomes `{"field1": "newvalue1", "field2": "newvalue2"}`.
#[test]
fn an_update_becomes_its_after_row_and_the_schema_the_after_struct() {
    let mut env = envelope();
    let update = event(
        Op::Update,
        doc_table(),
        row(vec![text("oldvalue1"), text("oldvalue2")]),
        row(vec![text("newvalue1"), text("newvalue2")]),
    );
    let input = record(&mut env, &update);
    assert_eq!(input.value_schema.as_ref().unwrap()["name"], "cdc.public.t.Envelope");

    let out = kept(&mut one(UNWRAP, &[]), input.clone());
    assert_json(out.value.as_ref().unwrap(), &json!({ "field1": "newvalue1", "field2": "newvalue2" }));
    // The `after` struct's schema, rebuilt by copySchemaBasics (so required, where the envelope's `after`
    // field is optional).
    assert_json(
        out.value_schema.as_ref().unwrap(),
        &json!({
            "type": "struct",
            "fields": [
                { "type": "string", "optional": true, "field": "field1" },
                { "type": "string", "optional": true, "field": "field2" }
            ],
            "optional": false,
            "name": "cdc.public.t.Value"
        }),
    );
    assert_eq!(
        (out.topic.as_str(), &out.key, &out.key_schema),
        (input.topic.as_str(), &input.key, &input.key_schema)
    );
    assert!(out.headers.is_empty());
}

fn pk_cola() -> cdc_core::SchemaRef {
    table("test", vec![col("pk", INT4, false, true), col("cola", VARCHAR, true, false)])
}

/// Doc, "Configuration": with `drop.tombstones=false` and `delete.handling.mode=rewrite`, a delete's record
/// "directly contains the key/value pairs that were in the `before` field. The SMT adds `__deleted` and sets
/// it to `true`": `"value": {"pk": 2, "cola": null, "__deleted": "true"}`; the tombstone stays.
#[test]
fn rewrite_turns_a_delete_into_its_before_row_with_deleted_true_and_keeps_tombstones_when_asked() {
    let mut env = envelope();
    let delete =
        record(&mut env, &event(Op::Delete, pk_cola(), row(vec![Value::Int32(2), Value::Null]), None));
    let mut chain = one(UNWRAP, &[("drop.tombstones", "false"), ("delete.handling.mode", "rewrite")]);

    let out = kept(&mut chain, delete.clone());
    assert_json(out.value.as_ref().unwrap(), &json!({ "pk": 2, "cola": null, "__deleted": "true" }));
    assert_json(
        out.value_schema.as_ref().unwrap(),
        &json!({
            "type": "struct",
            "fields": [
                { "type": "int32", "optional": false, "field": "pk" },
                { "type": "string", "optional": true, "field": "cola" },
                { "type": "string", "optional": true, "field": "__deleted" }
            ],
            "optional": false,
            "name": "cdc.public.test.Value"
        }),
    );
    assert_json(out.key.as_ref().unwrap(), &json!({ "pk": 2 }));

    let grave = tombstone(&delete);
    assert_eq!(kept(&mut chain, grave.clone()), grave);

    // Creates and updates get `__deleted: "false"` in rewrite mode.
    let create = record(&mut env, &event(Op::Insert, pk_cola(), None, row(vec![Value::Int32(3), text("x")])));
    let out = kept(&mut chain, create);
    assert_json(out.value.as_ref().unwrap(), &json!({ "pk": 3, "cola": "x", "__deleted": "false" }));
}

/// Doc, "Behavior": by default the SMT drops delete records and tombstones.
#[test]
fn by_default_deletes_and_tombstones_are_dropped() {
    let mut env = envelope();
    let delete =
        record(&mut env, &event(Op::Delete, pk_cola(), row(vec![Value::Int32(2), Value::Null]), None));
    let mut chain = one(UNWRAP, &[]);
    dropped(&mut chain, delete.clone());
    dropped(&mut chain, tombstone(&delete));
}

/// Doc, "Adding metadata": `add.fields=op,table,lsn,source.ts_ms`, `add.headers=db`,
/// `delete.handling.mode=rewrite` give a record with `"__op": "c", "__table": "MY_TABLE", "__lsn": "123456789",
/// "__source_ts_ms": "123456789"` and a `__db` header. (The doc's values are placeholders; the types are the
/// envelope fields': `lsn` and `ts_ms` are int64.)
#[test]
fn add_fields_and_add_headers_copy_envelope_metadata_with_optional_schemas() {
    let mut env = envelope();
    let customers =
        table("customers", vec![col("id", INT4, false, true), col("name", VARCHAR, false, false)]);
    let create =
        record(&mut env, &event(Op::Insert, customers, None, row(vec![Value::Int32(1), text("Anne")])));
    let mut chain = one(
        UNWRAP,
        &[
            ("add.fields", "op,table,lsn,source.ts_ms"),
            ("add.headers", "db"),
            ("delete.handling.mode", "rewrite"),
        ],
    );
    let out = kept(&mut chain, create);
    assert_json(
        out.value.as_ref().unwrap(),
        &json!({
            "id": 1, "name": "Anne", "__op": "c", "__table": "customers", "__lsn": LSN,
            "__source_ts_ms": 1_559_033_904_863_i64, "__deleted": "false"
        }),
    );
    assert_json(
        out.value_schema.as_ref().unwrap(),
        &json!({
            "type": "struct",
            "fields": [
                { "type": "int32", "optional": false, "field": "id" },
                { "type": "string", "optional": false, "field": "name" },
                { "type": "string", "optional": true, "field": "__op" },
                { "type": "string", "optional": true, "field": "__table" },
                { "type": "int64", "optional": true, "field": "__lsn" },
                { "type": "int64", "optional": true, "field": "__source_ts_ms" },
                { "type": "string", "optional": true, "field": "__deleted" }
            ],
            "optional": false,
            "name": "cdc.public.customers.Value"
        }),
    );
    assert_eq!(out.headers, vec![("__db".to_owned(), Some(b"inventory".to_vec()))]);
}

/// Doc, `add.fields`: "you can override the field name via `<field name>:<new field name>`"; with
/// `add.fields.prefix` / `add.headers.prefix` the prefix changes. A kept tombstone gets `op` = `d` as header.
#[test]
fn renamed_and_prefixed_metadata_and_the_op_header_of_a_kept_tombstone() {
    let mut env = envelope();
    let delete = record(&mut env, &event(Op::Delete, pk_cola(), row(vec![Value::Int32(2), text("a")]), None));
    let mut chain = one(
        UNWRAP,
        &[
            ("delete.tombstone.handling.mode", "rewrite-with-tombstone"),
            ("add.fields", "source.ts_ms:EVENT_TS,db"),
            ("add.fields.prefix", "meta_"),
            ("add.headers", "op,lsn"),
            ("add.headers.prefix", "h_"),
        ],
    );
    let out = kept(&mut chain, delete.clone());
    assert_json(
        out.value.as_ref().unwrap(),
        &json!({ "pk": 2, "cola": "a", "meta_EVENT_TS": 1_559_033_904_863_i64, "meta_db": "inventory", "__deleted": "true" }),
    );
    assert_eq!(
        out.headers,
        vec![
            ("h_op".to_owned(), Some(b"d".to_vec())),
            ("h_lsn".to_owned(), Some(LSN.to_string().into_bytes()))
        ]
    );
    let grave = kept(&mut chain, tombstone(&delete));
    assert_eq!(grave.value, None);
    assert_eq!(grave.headers, vec![("h_op".to_owned(), Some(b"d".to_vec()))]);
}

/// Doc, `delete.tombstone.handling.mode`: `tombstone` (default) "retains TOMBSTONE records"
/// (a delete becomes `"value": null`, the connector's own tombstone is removed); `drop` removes both;
/// `rewrite` rewrites the delete and removes tombstones. The new option wins over the deprecated ones.
#[test]
fn delete_tombstone_handling_mode_overrides_the_deprecated_options() {
    let mut env = envelope();
    let delete =
        record(&mut env, &event(Op::Delete, pk_cola(), row(vec![Value::Int32(2), Value::Null]), None));
    let grave = tombstone(&delete);

    let mut chain =
        one(UNWRAP, &[("delete.tombstone.handling.mode", "tombstone"), ("delete.handling.mode", "rewrite")]);
    let out = kept(&mut chain, delete.clone());
    assert_eq!(out.value, None);
    assert_eq!(out.key, delete.key);
    assert_eq!(out.value_schema.as_ref().unwrap()["name"], "cdc.public.test.Value");
    dropped(&mut chain, grave.clone());

    let mut chain = one(UNWRAP, &[("delete.tombstone.handling.mode", "drop"), ("drop.tombstones", "false")]);
    dropped(&mut chain, delete.clone());
    dropped(&mut chain, grave.clone());

    let mut chain = one(UNWRAP, &[("delete.tombstone.handling.mode", "Rewrite")]);
    assert_eq!(kept(&mut chain, delete.clone()).value.unwrap()["__deleted"], "true");
    dropped(&mut chain, grave);

    // The deprecated `none`: the delete becomes a tombstone.
    let mut chain = one(UNWRAP, &[("delete.handling.mode", "none")]);
    assert_eq!(kept(&mut chain, delete).value, None);
}

/// `ExtractNewRecordState.java`: a truncate (neither `before` nor `after`) is dropped; a record that is not
/// a Debezium envelope (a transaction marker, a heartbeat) passes unchanged.
#[test]
fn truncates_are_dropped_and_records_that_are_not_envelopes_pass_unchanged() {
    let mut env = envelope();
    let truncate = record(&mut env, &event(Op::Truncate, pk_cola(), None, None));
    dropped(&mut one(UNWRAP, &[]), truncate);

    let marker = Record {
        topic: "cdc.transaction".into(),
        value_schema: Some(json!({
            "type": "struct", "fields": [{ "type": "string", "optional": false, "field": "status" }],
            "optional": false, "name": "io.debezium.connector.common.TransactionMetadataValue", "version": 1
        })),
        value: Some(json!({ "status": "BEGIN" })),
        ..Record::default()
    };
    assert_eq!(kept(&mut one(UNWRAP, &[]), marker.clone()), marker);
}

/// Departure (module doc): a schemaless envelope is unwrapped on the payload alone.
#[test]
fn a_schemaless_envelope_is_unwrapped_on_the_payload() {
    let mut env = envelope();
    let update = event(
        Op::Update,
        doc_table(),
        row(vec![text("oldvalue1"), text("oldvalue2")]),
        row(vec![text("newvalue1"), text("newvalue2")]),
    );
    let input = schemaless(&record(&mut env, &update));
    let out = kept(&mut one(UNWRAP, &[("add.fields", "op"), ("delete.handling.mode", "rewrite")]), input);
    assert_json(
        out.value.as_ref().unwrap(),
        &json!({ "field1": "newvalue1", "field2": "newvalue2", "__op": "u", "__deleted": "false" }),
    );
    assert_eq!(out.value_schema, None);
}

/// Doc, `route.by.field`: "configuration of `route.by.field=destination` routes records to the topic whose
/// name is the value of `after.destination`" (`before` for a delete).
#[test]
fn route_by_field_takes_the_topic_from_the_row() {
    let mut env = envelope();
    let orders = table("orders", vec![col("id", INT4, false, true), col("destination", TEXT, true, false)]);
    let mut chain = one(UNWRAP, &[("route.by.field", "destination"), ("delete.handling.mode", "rewrite")]);
    let create =
        record(&mut env, &event(Op::Insert, orders.clone(), None, row(vec![Value::Int32(1), text("eu")])));
    assert_eq!(kept(&mut chain, create).topic, "eu");
    let delete =
        record(&mut env, &event(Op::Delete, orders.clone(), row(vec![Value::Int32(1), text("us")]), None));
    assert_eq!(kept(&mut chain, delete).topic, "us");
    let unrouted =
        record(&mut env, &event(Op::Insert, orders, None, row(vec![Value::Int32(2), Value::Null])));
    assert_eq!(kept(&mut chain, unrouted).topic, "cdc.public.orders");
}

#[test]
fn invalid_options_name_the_transform_and_property() {
    let err = try_one(UNWRAP, &[("delete.handling.mode", "remove")]).unwrap_err();
    assert!(
        matches!(&err, TransformError::InvalidProperty { scope, property, .. }
            if scope == "transforms.t" && property == "delete.handling.mode"),
        "{err:?}"
    );
    assert!(err.to_string().contains("drop, rewrite, none"), "{err}");
    let err = try_one(UNWRAP, &[("add.fields", "source.ts_ms:A:B")]).unwrap_err();
    assert!(err.to_string().starts_with("transforms.t.add.fields"), "{err}");
    let err = try_one(UNWRAP, &[("drop.tombstones", "yes")]).unwrap_err();
    assert!(err.to_string().contains("drop.tombstones"), "{err}");
    let err = try_one(UNWRAP, &[("drop.fields.header.name", "h")]).unwrap_err();
    assert!(err.to_string().contains("not supported"), "{err}");
}
