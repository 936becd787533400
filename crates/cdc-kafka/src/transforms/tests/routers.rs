//! `RegexRouter` and `ByLogicalTableRouter`.

use cdc_core::{Op, Value};
use serde_json::json;

use super::fixtures::*;
use crate::transforms::TransformError;

const REGEX_ROUTER: &str = "org.apache.kafka.connect.transforms.RegexRouter";
const LOGICAL: &str = "io.debezium.transforms.ByLogicalTableRouter";

fn customers(name: &str) -> cdc_core::SchemaRef {
    table(name, vec![col("id", INT4, false, true), col("name", VARCHAR, true, false)])
}

/// The seed stack's route: `regex=([^.]+)\.([^.]+)\.([^.]+)`, `replacement=cdc.$3` turns
/// `cdc.public.customers` into `cdc.customers`; only the topic changes.
#[test]
fn regex_router_renames_a_fully_matching_topic_and_nothing_else() {
    let mut env = envelope();
    let input = record(
        &mut env,
        &event(Op::Insert, customers("customers"), None, row(vec![Value::Int32(1), text("a")])),
    );
    let mut chain = one(REGEX_ROUTER, &[("regex", r"([^.]+)\.([^.]+)\.([^.]+)"), ("replacement", "cdc.$3")]);
    let out = kept(&mut chain, input.clone());
    assert_eq!(out.topic, "cdc.customers");
    assert_eq!(crate::transforms::Record { topic: input.topic.clone(), ..out }, input);

    // Two parts do not match the whole pattern: unchanged.
    let marker = crate::transforms::Record { topic: "cdc.transaction".into(), ..input };
    assert_eq!(kept(&mut chain, marker).topic, "cdc.transaction");
}

/// Confluent, "RegexRouter" (<https://docs.confluent.io/platform/current/connect/transforms/regexrouter.html>):
/// - `regex=soe-(.*)`, `replacement=$1`: Before `soe-Order`, After `Order`;
/// - `regex=.*`, `replacement=acme_$0`: Before `Order`, After `acme_Order`;
/// - `regex=(.*)Stream_(.*)`, `replacement=$1$2`: Before `Order_Stream_Data`, After `Order_Data` (the page's
///   `(.)Stream_(.)` lost its asterisks to the markup: as printed it does not match the whole topic).
#[test]
fn regex_router_doc_examples() {
    let cases = [
        ("soe-(.*)", "$1", "soe-Order", "Order"),
        (".*", "acme_$0", "Order", "acme_Order"),
        ("(.*)Stream_(.*)", "$1$2", "Order_Stream_Data", "Order_Data"),
        ("(.)Stream_(.)", "$1$2", "Order_Stream_Data", "Order_Stream_Data"),
        // Java replacement syntax: named groups, escapes, `$12` as group 1 then "2" with one group.
        ("(?<db>[^.]+)\\.(.*)", "${db}\\$$12", "cdc.x", "cdc$cdc2"),
        // matches() is true, but replaceFirst() replaces the first (shorter) match found by find().
        ("a|ab", "X", "ab", "Xb"),
    ];
    for (regex, replacement, before, after) in cases {
        let mut chain = one(REGEX_ROUTER, &[("regex", regex), ("replacement", replacement)]);
        let input = crate::transforms::Record { topic: before.into(), ..Default::default() };
        assert_eq!(kept(&mut chain, input).topic, after, "{regex} / {replacement}");
    }
}

#[test]
fn regex_router_refuses_bad_regexes_and_group_references_at_build_time() {
    let err = try_one(REGEX_ROUTER, &[("regex", "(a)(b)(c)"), ("replacement", "$4")]).unwrap_err();
    assert!(
        matches!(&err, TransformError::InvalidProperty { scope, property, .. } if scope == "transforms.t" && property == "replacement"),
        "{err:?}"
    );
    let err = try_one(REGEX_ROUTER, &[("regex", "(?<=a)b"), ("replacement", "x")]).unwrap_err();
    assert!(err.to_string().starts_with("transforms.t.regex"), "{err}");
    let err = try_one(REGEX_ROUTER, &[("regex", ".*")]).unwrap_err();
    assert_eq!(err.to_string(), "transforms.t.replacement is required");
    let err = try_one(REGEX_ROUTER, &[("regex", ".*"), ("replacement", "cost: $")]).unwrap_err();
    assert!(err.to_string().contains("illegal group reference"), "{err}");
}

/// Debezium, "Topic Routing" (<https://debezium.io/documentation/reference/stable/transformations/topic-routing.html>):
/// `topic.regex=(.*)customers_shard(.*)`, `topic.replacement=$1customers_all_shards` routes
/// `myserver.mydb.customers_shard1` to `myserver.mydb.customers_all_shards`; "the topic routing
/// transformation inserts a field into change event keys. By default, the name of the inserted field is
/// `__dbz__physicalTableIdentifier`. The value of the inserted field is the default destination topic name."
#[test]
fn logical_table_router_routes_shards_to_one_topic_and_makes_keys_unique() {
    let mut env = envelope();
    let input = record(
        &mut env,
        &event(Op::Insert, customers("customers_shard1"), None, row(vec![Value::Int32(1), text("a")])),
    );
    let mut chain = one(
        LOGICAL,
        &[("topic.regex", "(.*)customers_shard(.*)"), ("topic.replacement", "$1customers_all_shards")],
    );
    let out = kept(&mut chain, input.clone());

    assert_eq!(out.topic, "cdc.public.customers_all_shards");
    assert_json(
        out.key.as_ref().unwrap(),
        &json!({ "id": 1, "__dbz__physicalTableIdentifier": "cdc.public.customers_shard1" }),
    );
    assert_json(
        out.key_schema.as_ref().unwrap(),
        &json!({
            "type": "struct",
            "fields": [
                { "type": "int32", "optional": false, "field": "id" },
                { "type": "string", "optional": false, "field": "__dbz__physicalTableIdentifier" }
            ],
            "optional": false,
            "name": "cdc.public.customers_all_shards.Key"
        }),
    );
    // The payload is unchanged; the envelope's and the rows' schemas are renamed after the new topic.
    assert_eq!(out.value, input.value);
    let schema = out.value_schema.as_ref().unwrap();
    assert_eq!(schema["name"], "cdc.public.customers_all_shards.Envelope");
    assert_eq!(schema["version"], input.value_schema.as_ref().unwrap()["version"]);
    let row_schema = json!({
        "type": "struct",
        "fields": [
            { "type": "int32", "optional": false, "field": "id" },
            { "type": "string", "optional": true, "field": "name" }
        ],
        "optional": true,
        "name": "cdc.public.customers_all_shards.Value"
    });
    assert_json(&schema["fields"][0], &crate::transforms::connect::member(row_schema.clone(), "before"));
    assert_json(&schema["fields"][1], &crate::transforms::connect::member(row_schema, "after"));
    assert_json(&schema["fields"][2], &input.value_schema.as_ref().unwrap()["fields"][2]);

    // The tombstone after a delete: the key is rewritten the same way, the null value stays.
    let delete = record(
        &mut env,
        &event(Op::Delete, customers("customers_shard1"), row(vec![Value::Int32(1), text("a")]), None),
    );
    let grave = kept(&mut chain, tombstone(&delete));
    assert_eq!(grave.value, None);
    assert_eq!(grave.key.unwrap()["__dbz__physicalTableIdentifier"], "cdc.public.customers_shard1");
}

/// Same page, "Ensure unique key": `key.field.name=shard_id`, and `key.field.regex=(.*)customers_shard(.*)`
/// with `key.field.replacement=$2` make the inserted values "1, 2, or 3"; `key.enforce.uniqueness=false`
/// leaves the key's fields alone.
#[test]
fn logical_table_router_key_field_options() {
    let mut env = envelope();
    let input = record(
        &mut env,
        &event(Op::Insert, customers("customers_shard2"), None, row(vec![Value::Int32(7), text("b")])),
    );
    let base = [("topic.regex", "(.*)customers_shard(.*)"), ("topic.replacement", "$1customers_all_shards")];

    let mut chain = one(
        LOGICAL,
        &[
            base[0],
            base[1],
            ("key.field.name", "shard_id"),
            ("key.field.regex", "(.*)customers_shard(.*)"),
            ("key.field.replacement", "$2"),
        ],
    );
    assert_json(kept(&mut chain, input.clone()).key.as_ref().unwrap(), &json!({ "id": 7, "shard_id": "2" }));

    let mut chain = one(LOGICAL, &[base[0], base[1], ("key.enforce.uniqueness", "false")]);
    let out = kept(&mut chain, input.clone());
    assert_eq!(out.key, input.key);
    assert_eq!(out.key_schema.as_ref().unwrap()["name"], "cdc.public.customers_all_shards.Key");

    // A schemaless key object gets the field as well (departure: Debezium needs a Struct).
    let out = kept(&mut one(LOGICAL, &base), schemaless(&input));
    assert_json(
        out.key.as_ref().unwrap(),
        &json!({ "id": 7, "__dbz__physicalTableIdentifier": "cdc.public.customers_shard2" }),
    );
    assert_eq!(out.value, input.value);

    // Topics that do not match pass unchanged.
    let other = record(
        &mut env,
        &event(Op::Insert, customers("orders"), None, row(vec![Value::Int32(1), text("c")])),
    );
    assert_eq!(kept(&mut one(LOGICAL, &base), other.clone()), other);

    let err = try_one(LOGICAL, &[base[0], base[1], ("key.field.regex", "(.*)")]).unwrap_err();
    assert!(err.to_string().starts_with("transforms.t.key.field.replacement"), "{err}");
    let err = try_one(LOGICAL, &[("topic.regex", "x")]).unwrap_err();
    assert_eq!(err.to_string(), "transforms.t.topic.replacement is required");
}
