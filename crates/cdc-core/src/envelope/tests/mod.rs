//! The envelope as a whole: event shapes, keys, topics, the json-schema wrapper, configuration.
//! Per-type encodings are in `types.rs`.

mod decode;
mod numeric;
mod types;

use serde_json::{json, Value as J};

use self::fixtures::{customers, event, order_lines, TS_MS};
use super::{BinaryHandling, DecimalHandling, Envelope, EnvelopeConfig, EventFormat, TimePrecision, VERSION};
use crate::change::{Op, Row, SnapshotMarker};
use crate::schema::{ReplicaIdentity, TableId};
use crate::value::{Numeric, TimestampValue, Value};

pub(super) mod fixtures {
    use std::sync::Arc;

    use crate::change::{ChangeEvent, Op, Row, SnapshotMarker, TxInfo};
    use crate::lsn::Lsn;
    use crate::pgtype::PgType;
    use crate::schema::{Column, ReplicaIdentity, SchemaRef, TableId, TableSchema};

    /// The envelope `ts_ms` used by every test.
    pub const TS_MS: i64 = 1_700_000_000_000;

    /// A column of a built-in type.
    pub fn col(name: &str, oid: u32, type_modifier: i32, nullable: bool, key: bool) -> Column {
        let pg_type = PgType::builtin(oid).expect("a built-in type oid");
        Column { name: name.into(), pg_type, type_modifier, nullable, key, fill_value: None }
    }

    /// `numeric(p, s)`'s `atttypmod`.
    pub fn numeric_typmod(precision: i32, scale: i32) -> i32 {
        ((precision << 16) | scale) + 4
    }

    pub fn table(schema: &str, name: &str, columns: Vec<Column>, identity: ReplicaIdentity) -> SchemaRef {
        Arc::new(TableSchema {
            relation_oid: 16_385,
            id: TableId::new(schema, name),
            columns,
            replica_identity: identity,
            version: 1,
        })
    }

    /// `public.customers (customer_id int4 PK, name varchar(100) NOT NULL, email text, balance numeric(10,2),
    /// updated_at timestamptz)`.
    pub fn customers(identity: ReplicaIdentity) -> SchemaRef {
        table(
            "public",
            "customers",
            vec![
                col("customer_id", 23, -1, false, true),
                col("name", 1043, 104, false, false),
                col("email", 25, -1, true, false),
                col("balance", 1700, numeric_typmod(10, 2), true, false),
                col("updated_at", 1184, -1, true, false),
            ],
            identity,
        )
    }

    /// `public.order_lines (order_id int8, line_no int2, qty int4, PRIMARY KEY (order_id, line_no))`.
    pub fn order_lines() -> SchemaRef {
        table(
            "public",
            "order_lines",
            vec![
                col("order_id", 20, -1, false, true),
                col("qty", 23, -1, true, false),
                col("line_no", 21, -1, false, true),
            ],
            ReplicaIdentity::Default,
        )
    }

    /// A streamed event of transaction 555, committed at LSN 24023128 (2019-05-28T09:11:44.863123Z).
    pub fn event(op: Op, schema: SchemaRef, before: Option<Row>, after: Option<Row>) -> ChangeEvent {
        ChangeEvent {
            op,
            schema,
            before,
            after,
            lsn: Lsn::new(24_023_000),
            tx: TxInfo {
                xid: 555,
                commit_lsn: Lsn::new(24_023_128),
                commit_time_micros: 1_559_033_904_863_123,
                total_order: 3,
                table_order: 2,
            },
            snapshot: SnapshotMarker::No,
            origin: None,
        }
    }
}

pub(super) fn anne() -> Row {
    Row(vec![
        Value::Int32(1),
        Value::Text("Anne".into()),
        Value::Text("annek@noanswer.org".into()),
        Value::Numeric(Numeric::Finite("12.50".into())),
        Value::TimestampTz(TimestampValue::Micros(1_704_164_645_123_456)),
    ])
}

fn source(snapshot: &str) -> J {
    json!({
        "version": VERSION, "connector": "postgresql", "name": "cdc", "ts_ms": 1_559_033_904_863_i64,
        "snapshot": snapshot, "db": "inventory", "sequence": "[\"24023128\",\"24023000\"]",
        "schema": "public", "table": "customers", "txId": 555, "lsn": 24_023_000, "xmin": null
    })
}

fn anne_json() -> J {
    json!({
        "customer_id": 1, "name": "Anne", "email": "annek@noanswer.org", "balance": "BOI=",
        "updated_at": "2024-01-02T03:04:05.123456Z"
    })
}

const SNAPSHOT_ALLOWED: &str =
    "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental";

fn envelope(config: EnvelopeConfig) -> Envelope {
    Envelope::new(config, "inventory")
}

/// Compares serialized text, so field order counts.
fn assert_json(actual: &J, expected: &J) {
    assert_eq!(actual.to_string(), expected.to_string());
}

#[test]
fn an_insert_has_no_before_and_the_whole_after() {
    let mut env = envelope(EnvelopeConfig::default());
    let insert = event(Op::Insert, customers(ReplicaIdentity::Full), None, Some(anne()));
    let expected = json!({
        "before": null, "after": anne_json(), "source": source("false"), "op": "c", "ts_ms": TS_MS,
        "transaction": null
    });
    assert_json(&env.value_at(&insert, TS_MS), &expected);
    assert_json(&env.key(&insert).expect("customers has a key"), &json!({ "customer_id": 1 }));
    assert!(!env.emits_tombstone(&insert));
}

#[test]
fn an_update_carries_both_images() {
    let mut env = envelope(EnvelopeConfig::default());
    let mut after = anne();
    after.0[2] = Value::Null;
    after.0[3] = Value::Numeric(Numeric::Finite("-1.00".into()));
    let update = event(Op::Update, customers(ReplicaIdentity::Full), Some(anne()), Some(after));
    let mut after_json = anne_json();
    after_json["email"] = J::Null;
    after_json["balance"] = json!("nA=="); // -100 = 0x9C
    let expected = json!({
        "before": anne_json(), "after": after_json, "source": source("false"), "op": "u", "ts_ms": TS_MS,
        "transaction": null
    });
    assert_json(&env.value_at(&update, TS_MS), &expected);
}

#[test]
fn a_delete_under_default_identity_has_a_key_only_before_and_a_tombstone() {
    let mut env = envelope(EnvelopeConfig::default());
    let before = Row(vec![Value::Int32(7), Value::Null, Value::Null, Value::Null, Value::Null]);
    let delete = event(Op::Delete, customers(ReplicaIdentity::Default), Some(before), None);
    // `name` is NOT NULL: like Debezium, the required field gets its type's fallback (""), not a null that
    // Connect's converters (JSON with schemas, Avro) would refuse.
    let expected = json!({
        "before": { "customer_id": 7, "name": "", "email": null, "balance": null, "updated_at": null },
        "after": null, "source": source("false"), "op": "d", "ts_ms": TS_MS, "transaction": null
    });
    assert_json(&env.value_at(&delete, TS_MS), &expected);
    assert_json(&env.key(&delete).expect("key from before"), &json!({ "customer_id": 7 }));
    assert!(env.emits_tombstone(&delete));
    let quiet = envelope(EnvelopeConfig { tombstones: false, ..EnvelopeConfig::default() });
    assert!(!quiet.emits_tombstone(&delete));
}

#[test]
fn only_a_key_only_image_gets_fallbacks_a_real_null_stays_null() {
    // A NULL in a column the catalog now says is NOT NULL (written before SET NOT NULL): kept as written.
    let mut env = envelope(EnvelopeConfig::default());
    let mut row = anne();
    row.0[1] = Value::Null;
    let insert = event(Op::Insert, customers(ReplicaIdentity::Default), None, Some(row.clone()));
    assert_eq!(env.value_at(&insert, TS_MS)["after"]["name"], J::Null);
    let full_delete = event(Op::Delete, customers(ReplicaIdentity::Full), Some(row), None);
    assert_eq!(
        env.value_at(&full_delete, TS_MS)["before"]["name"],
        J::Null,
        "a FULL image is the row itself"
    );
}

#[test]
fn a_truncate_has_no_rows_and_no_key() {
    let mut env = envelope(EnvelopeConfig::default());
    let truncate = event(Op::Truncate, customers(ReplicaIdentity::Full), None, None);
    let expected = json!({
        "before": null, "after": null, "source": source("false"), "op": "t", "ts_ms": TS_MS,
        "transaction": null
    });
    assert_json(&env.value_at(&truncate, TS_MS), &expected);
    assert_eq!(env.key(&truncate), None);
    assert!(!env.emits_tombstone(&truncate));
}

#[test]
fn a_snapshot_read_is_op_r_with_its_marker_and_no_transaction() {
    let mut env = envelope(EnvelopeConfig { transaction_metadata: true, ..EnvelopeConfig::default() });
    for (marker, code) in [
        (SnapshotMarker::First, "first"),
        (SnapshotMarker::InProgress, "true"),
        (SnapshotMarker::LastInTable, "last_in_data_collection"),
        (SnapshotMarker::Last, "last"),
    ] {
        let mut read = event(Op::Read, customers(ReplicaIdentity::Full), None, Some(anne()));
        read.snapshot = marker;
        let expected = json!({
            "before": null, "after": anne_json(), "source": source(code), "op": "r", "ts_ms": TS_MS,
            "transaction": null
        });
        assert_json(&env.value_at(&read, TS_MS), &expected);
    }
}

#[test]
fn snapshot_rows_of_each_table_and_position_carry_their_own_source() {
    // The writer renders a snapshot row's `source` once and reuses it while table, position and marker stay.
    let mut env = envelope(EnvelopeConfig::default());
    let mut accounts = (*customers(ReplicaIdentity::Full)).clone();
    accounts.id = TableId::new("public", "accounts");
    let accounts = std::sync::Arc::new(accounts);
    let cases =
        [(customers(ReplicaIdentity::Full), 100), (accounts, 100), (customers(ReplicaIdentity::Full), 100)];
    for (schema, lsn) in cases.into_iter().chain([(customers(ReplicaIdentity::Full), 200)]) {
        let table = schema.id.name.clone();
        let mut read = event(Op::Read, schema, None, Some(anne()));
        read.snapshot = SnapshotMarker::InProgress;
        read.lsn = crate::lsn::Lsn::new(lsn);
        // `value_at` also checks that the written bytes are the serialized value.
        let value = env.value_at(&read, TS_MS);
        assert_eq!(
            (value["source"]["table"].as_str(), value["source"]["lsn"].as_u64()),
            (Some(&*table), Some(lsn))
        );
    }
}

#[test]
fn transaction_metadata_fills_the_transaction_block() {
    let mut env = envelope(EnvelopeConfig { transaction_metadata: true, ..EnvelopeConfig::default() });
    let insert = event(Op::Insert, customers(ReplicaIdentity::Full), None, Some(anne()));
    let value = env.value_at(&insert, TS_MS);
    assert_json(
        &value["transaction"],
        &json!({ "id": "555:24023128", "total_order": 3, "data_collection_order": 2 }),
    );
}

#[test]
fn a_composite_key_lists_its_columns_in_table_order() {
    let mut env = envelope(EnvelopeConfig::default());
    let row = Row(vec![Value::Int64(10), Value::Int32(5), Value::Int16(2)]);
    let insert = event(Op::Insert, order_lines(), None, Some(row.clone()));
    assert_json(&env.key(&insert).expect("composite key"), &json!({ "order_id": 10, "line_no": 2 }));
    // A delete takes its key from the before image.
    let delete = event(Op::Delete, order_lines(), Some(row), None);
    assert_json(&env.key(&delete).expect("composite key"), &json!({ "order_id": 10, "line_no": 2 }));
}

#[test]
fn a_table_without_key_columns_has_no_key() {
    let mut env = envelope(EnvelopeConfig::default());
    let mut schema = (*customers(ReplicaIdentity::Full)).clone();
    schema.columns.iter_mut().for_each(|c| c.key = false);
    let insert = event(Op::Insert, schema.into(), None, Some(anne()));
    assert_eq!(env.key(&insert), None);
    assert_eq!(env.key_bytes(&insert), None);
}

#[test]
fn topics_follow_the_prefix_and_the_template() {
    let customers = TableId::new("public", "customers");
    assert_eq!(envelope(EnvelopeConfig::default()).topic(&customers), "cdc.public.customers");
    let seed =
        EnvelopeConfig { topic_template: Some("{prefix}.{table}".into()), ..EnvelopeConfig::default() };
    assert_eq!(envelope(seed).topic(&customers), "cdc.customers");
    let renamed = EnvelopeConfig {
        topic_prefix: "dbserver".into(),
        topic_template: Some("cdc.{table}".into()),
        ..EnvelopeConfig::default()
    };
    assert_eq!(envelope(renamed).topic(&customers), "cdc.customers");
    // Characters Kafka rejects become underscores.
    assert_eq!(
        envelope(EnvelopeConfig::default()).topic(&TableId::new("My Schema", "ünits")),
        "cdc.My_Schema._nits"
    );
}

#[test]
fn json_schema_wraps_the_value_with_its_connect_schema() {
    let config = EnvelopeConfig { format: EventFormat::JsonSchema, ..EnvelopeConfig::default() };
    let mut env = envelope(config.clone());
    let table = fixtures::table(
        "public",
        "items",
        vec![
            fixtures::col("id", 23, -1, false, true),
            fixtures::col("price", 1700, fixtures::numeric_typmod(10, 2), false, false),
            fixtures::col("note", 25, -1, true, false),
        ],
        ReplicaIdentity::Full,
    );
    let row = Row(vec![Value::Int32(1), Value::Numeric(Numeric::Finite("12.50".into())), Value::Null]);
    let insert = event(Op::Insert, table, None, Some(row));
    let value = env.value_at(&insert, TS_MS);
    // Each column carries its source type (`propagate_source_types`, on by default) after the logical
    // type's own parameters.
    let row_schema = |field: &str| {
        json!({
            "type": "struct",
            "fields": [
                { "type": "int32", "optional": false,
                  "parameters": { "__debezium.source.column.type": "INT4" }, "field": "id" },
                { "type": "bytes", "optional": false,
                  "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
                  "parameters": { "scale": "2", "connect.decimal.precision": "10",
                                  "__debezium.source.column.type": "NUMERIC",
                                  "__debezium.source.column.length": "10",
                                  "__debezium.source.column.scale": "2" }, "field": "price" },
                { "type": "string", "optional": true,
                  "parameters": { "__debezium.source.column.type": "TEXT" }, "field": "note" }
            ],
            "optional": true, "name": "cdc.public.items.Value", "field": field
        })
    };
    let expected_schema = json!({
        "type": "struct",
        "fields": [
            row_schema("before"),
            row_schema("after"),
            {
                "type": "struct",
                "fields": [
                    { "type": "string", "optional": false, "field": "version" },
                    { "type": "string", "optional": false, "field": "connector" },
                    { "type": "string", "optional": false, "field": "name" },
                    { "type": "int64", "optional": false, "field": "ts_ms" },
                    { "type": "string", "optional": true, "name": "io.debezium.data.Enum", "version": 1,
                      "parameters": { "allowed": SNAPSHOT_ALLOWED },
                      "default": "false", "field": "snapshot" },
                    { "type": "string", "optional": false, "field": "db" },
                    { "type": "string", "optional": true, "field": "sequence" },
                    { "type": "string", "optional": false, "field": "schema" },
                    { "type": "string", "optional": false, "field": "table" },
                    { "type": "int64", "optional": true, "field": "txId" },
                    { "type": "int64", "optional": true, "field": "lsn" },
                    { "type": "int64", "optional": true, "field": "xmin" }
                ],
                "optional": false, "name": "io.debezium.connector.postgresql.Source", "field": "source"
            },
            { "type": "string", "optional": false, "field": "op" },
            { "type": "int64", "optional": true, "field": "ts_ms" },
            {
                "type": "struct",
                "fields": [
                    { "type": "string", "optional": false, "field": "id" },
                    { "type": "int64", "optional": false, "field": "total_order" },
                    { "type": "int64", "optional": false, "field": "data_collection_order" }
                ],
                "optional": true, "name": "event.block", "version": 1, "field": "transaction"
            }
        ],
        "optional": false, "name": "cdc.public.items.Envelope", "version": 1
    });
    assert_json(&value["schema"], &expected_schema);
    assert_json(&value["payload"]["after"], &json!({ "id": 1, "price": "BOI=", "note": null }));
    assert_eq!(value.as_object().map(|o| o.len()), Some(2));

    // The byte encoder splices the cached schema text and says the same thing.
    let bytes = env.value_bytes_at(&insert, TS_MS);
    assert_eq!(serde_json::from_slice::<J>(&bytes).expect("valid JSON").to_string(), value.to_string());

    // The key is wrapped too, with its own schema.
    let key = env.key(&insert).expect("items has a key");
    let expected_key = json!({
        "schema": { "type": "struct",
                    "fields": [{ "type": "int32", "optional": false,
                                 "parameters": { "__debezium.source.column.type": "INT4" }, "field": "id" }],
                    "optional": false, "name": "cdc.public.items.Key" },
        "payload": { "id": 1 }
    });
    assert_json(&key, &expected_key);
    let key_bytes = env.key_bytes(&insert).expect("items has a key");
    assert_eq!(String::from_utf8(key_bytes).expect("utf-8"), expected_key.to_string());

    // Without propagated source types, the schemas are Debezium's default bytes: no column parameters
    // beyond the logical types' own.
    let plain = EnvelopeConfig { propagate_source_types: false, ..config };
    let mut env = envelope(plain);
    let value = env.value_at(&insert, TS_MS);
    let fields = &value["schema"]["fields"][1]["fields"];
    assert_json(&fields[0], &json!({ "type": "int32", "optional": false, "field": "id" }));
    assert_json(&fields[1]["parameters"], &json!({ "scale": "2", "connect.decimal.precision": "10" }));
    assert_json(&fields[2], &json!({ "type": "string", "optional": true, "field": "note" }));
    let key = env.key(&insert).expect("items has a key");
    assert_json(&key["schema"]["fields"][0], &json!({ "type": "int32", "optional": false, "field": "id" }));
}

#[test]
fn the_seed_stack_sends_bare_keys_and_wrapped_values() {
    let config = EnvelopeConfig {
        format: EventFormat::JsonSchema,
        key_format: Some(EventFormat::Json),
        decimal_handling: DecimalHandling::Double,
        time_precision: TimePrecision::AdaptiveTimeMicroseconds,
        ..EnvelopeConfig::default()
    };
    let mut env = envelope(config);
    let insert = event(Op::Insert, customers(ReplicaIdentity::Full), None, Some(anne()));
    assert_json(&env.key(&insert).expect("key"), &json!({ "customer_id": 1 }));
    let value = env.value_at(&insert, TS_MS);
    assert_json(&value["payload"]["after"]["balance"], &json!(12.5));
    // The source type tells a reader that this double is a numeric(10,2).
    assert_json(
        &value["schema"]["fields"][1]["fields"][3],
        &json!({ "type": "double", "optional": true,
                 "parameters": { "__debezium.source.column.type": "NUMERIC",
                                 "__debezium.source.column.length": "10",
                                 "__debezium.source.column.scale": "2" },
                 "field": "balance" }),
    );
}

#[test]
fn bare_json_bytes_are_the_serialized_value() {
    let mut env = envelope(EnvelopeConfig::default());
    let insert = event(Op::Insert, customers(ReplicaIdentity::Full), None, Some(anne()));
    let bytes = env.value_bytes_at(&insert, TS_MS);
    assert_eq!(String::from_utf8(bytes).expect("utf-8"), env.value_at(&insert, TS_MS).to_string());
    assert_eq!(env.key_bytes(&insert).map(String::from_utf8), Some(Ok("{\"customer_id\":1}".to_owned())));
    // `value` stamps the current time.
    let stamped = env.value(&insert);
    assert!(stamped["ts_ms"].as_i64().is_some_and(|ms| ms > TS_MS));
}

#[test]
fn a_new_schema_version_replaces_the_cached_encoder() {
    let mut env =
        envelope(EnvelopeConfig { binary_handling: BinaryHandling::Hex, ..EnvelopeConfig::default() });
    let v1 = customers(ReplicaIdentity::Full);
    let insert = event(Op::Insert, v1.clone(), None, Some(anne()));
    assert_eq!(env.value_at(&insert, TS_MS)["after"]["balance"], json!("BOI="));
    // Version 2 turned balance into bytea.
    let mut v2 = (*v1).clone();
    v2.version = 2;
    v2.columns[3] = fixtures::col("balance", 17, -1, true, false);
    let mut row = anne();
    row.0[3] = Value::Bytes(vec![0xDE, 0xAD]);
    let insert = event(Op::Insert, v2.into(), None, Some(row));
    assert_eq!(env.value_at(&insert, TS_MS)["after"]["balance"], json!("dead"));
    assert_eq!(env.tables.len(), 1);
    // A short row (a decoder that sent fewer cells) yields nulls, not a panic.
    let short = event(Op::Insert, v1, None, Some(Row(vec![Value::Int32(2)])));
    assert_eq!(env.value_at(&short, TS_MS)["after"]["email"], J::Null);
}

#[test]
fn configuration_uses_debeziums_spellings_and_rejects_unknown_keys() {
    let config: EnvelopeConfig = serde_json::from_value(json!({
        "topic_prefix": "dbserver",
        "topic_template": "cdc.{table}",
        "format": "json-schema",
        "key_format": "json",
        "decimal_handling": "double",
        "time_precision": "adaptive_time_microseconds",
        "binary_handling": "base64-url-safe",
        "interval_handling": "string",
        "hstore_handling": "map",
        "tombstones": true,
        "transaction_metadata": true,
        "propagate_source_types": false
    }))
    .expect("a valid section");
    assert_eq!(config.binary_handling, BinaryHandling::Base64UrlSafe);
    assert!(!config.propagate_source_types);
    assert_eq!(config.key_format(), EventFormat::Json);
    assert!(config.validate("envelope").is_ok());

    let defaults: EnvelopeConfig = serde_json::from_value(json!({})).expect("all keys have defaults");
    assert_eq!(defaults, EnvelopeConfig::default());
    assert_eq!(defaults.template(), "{prefix}.{schema}.{table}");
    assert_eq!(defaults.key_format(), EventFormat::Json);

    let unknown = serde_json::from_value::<EnvelopeConfig>(json!({ "topic.prefix": "x" }));
    assert!(unknown.is_err());

    let bad_template =
        EnvelopeConfig { topic_template: Some("{prefix}.{tabel}".into()), ..EnvelopeConfig::default() };
    let err = bad_template.validate("envelope").expect_err("unknown placeholder");
    assert_eq!(err.key, "envelope.topic_template");
    let bad_prefix = EnvelopeConfig { topic_prefix: "my prefix".into(), ..EnvelopeConfig::default() };
    assert_eq!(bad_prefix.validate("envelope").expect_err("space").key, "envelope.topic_prefix");
}
