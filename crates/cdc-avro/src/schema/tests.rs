use serde_json::json;

use super::to_avro::{avro_full_name, avro_name};
use super::*;

/// Compares serialized text, so key order counts.
fn assert_json(actual: &J, expected: &J) {
    assert_eq!(actual.to_string(), expected.to_string());
}

fn avro_json(connect: &J) -> J {
    let avro = from_connect(connect).expect("translatable");
    serde_json::from_str(&avro.text).expect("JSON text")
}

fn field(name: &str, schema: J) -> J {
    let mut schema = schema;
    schema["field"] = J::from(name);
    schema
}

#[test]
fn names_are_adjusted_per_segment_and_kept_verbatim_in_connect_name() {
    assert_eq!(
        avro_full_name("cdc.My Schema.2024 sales.Value"),
        (Some("cdc.My_Schema._2024_sales".to_owned()), "Value".to_owned())
    );
    assert_eq!(avro_name("ünits"), "_nits");
    assert_eq!(avro_name(""), "_");
    let connect = json!({
        "type": "struct", "optional": false, "name": "cdc.My Schema.2024 sales.Key",
        "fields": [field("order id", json!({ "type": "int32", "optional": false }))]
    });
    let avro = from_connect(&connect).expect("translatable");
    let expected = concat!(
        r#"{"type":"record","name":"Key","namespace":"cdc.My_Schema._2024_sales","#,
        r#""fields":[{"name":"order_id","type":"int","cdc.field.name":"order id"}],"#,
        r#""connect.name":"cdc.My Schema.2024 sales.Key"}"#
    );
    assert_eq!(avro.text, expected);
    assert_eq!(avro.full_name(), "cdc.My_Schema._2024_sales.Key");
    assert_eq!(to_connect(&serde_json::from_str(&avro.text).expect("JSON")).expect("back"), connect);
}

#[test]
fn fields_that_would_share_an_avro_name_are_refused() {
    let connect = json!({
        "type": "struct", "optional": false, "name": "t.Value",
        "fields": [
            field("a b", json!({ "type": "int32", "optional": false })),
            field("a_b", json!({ "type": "int32", "optional": false }))
        ]
    });
    let error = from_connect(&connect).expect_err("collision");
    assert!(error.to_string().contains("\"a b\" and \"a_b\""), "{error}");
}

#[test]
fn unnamed_structs_are_connect_defaults_numbered_in_order_and_reused_by_reference() {
    let inner = json!({ "type": "struct", "optional": false,
                        "fields": [field("x", json!({ "type": "int64", "optional": false }))] });
    let other = json!({ "type": "struct", "optional": true,
                        "fields": [field("y", json!({ "type": "string", "optional": false }))] });
    let connect = json!({
        "type": "struct", "optional": false,
        "fields": [
            field("a", json!({ "type": "array", "items": inner, "optional": false })),
            field("b", other),
            field("c", inner)
        ]
    });
    let avro = avro_json(&connect);
    assert_eq!(avro["name"], "ConnectDefault");
    assert_eq!(avro["namespace"], "io.confluent.connect.avro");
    assert_eq!(avro["fields"][0]["type"]["items"]["name"], "ConnectDefault2");
    assert!(avro["fields"][0]["type"]["items"].get("namespace").is_none(), "same namespace as the parent");
    assert_json(&avro["fields"][1]["type"][1]["name"], &json!("ConnectDefault3"));
    // The second use of an identical struct is a reference, short inside its own namespace.
    assert_json(&avro["fields"][2]["type"], &json!("ConnectDefault2"));
    // Unnamed structs come back unnamed.
    assert_eq!(to_connect(&avro).expect("back"), connect);
}

#[test]
fn two_different_structs_under_one_name_are_refused() {
    let a = json!({ "type": "struct", "optional": false, "name": "x.Same",
                    "fields": [field("a", json!({ "type": "int32", "optional": false }))] });
    let b = json!({ "type": "struct", "optional": false, "name": "x.Same",
                    "fields": [field("b", json!({ "type": "int32", "optional": false }))] });
    let connect = json!({ "type": "struct", "optional": false, "name": "x.Outer",
                          "fields": [field("a", a), field("b", b)] });
    let error = from_connect(&connect).expect_err("conflict");
    assert!(error.to_string().contains("x.Same"), "{error}");
}

#[test]
fn optional_fields_with_a_default_put_null_second_and_optional_structs_drop_theirs() {
    let connect = json!({
        "type": "struct", "optional": false, "name": "x.R",
        "fields": [
            field("s", json!({ "type": "string", "optional": true, "default": "false" })),
            field("n", json!({ "type": "int64", "optional": false, "default": 7 })),
            field("b", json!({ "type": "bytes", "optional": true, "default": "AP8=" })),
            field("r", json!({ "type": "struct", "optional": true, "name": "x.Inner",
                               "fields": [field("i", json!({ "type": "int32", "optional": false }))],
                               "default": { "i": 1 } }))
        ]
    });
    let avro = avro_json(&connect);
    assert_json(
        &avro["fields"][0],
        &json!({ "name": "s", "type": [{ "type": "string", "connect.default": "false" }, "null"],
                 "default": "false" }),
    );
    assert_json(
        &avro["fields"][1],
        &json!({ "name": "n", "type": { "type": "long", "connect.default": 7 }, "default": 7 }),
    );
    // Bytes defaults are ISO-8859-1 text in Avro.
    assert_json(&avro["fields"][2]["default"], &json!("\u{0}\u{ff}"));
    assert_eq!(avro["fields"][3]["type"][0], "null");
    assert!(avro["fields"][3].get("default").is_none());
    assert_eq!(to_connect(&avro).expect("back"), connect);
}

#[test]
fn maps_with_string_keys_are_avro_maps_and_others_arrays_of_map_entries() {
    let hstore = json!({ "type": "map", "keys": { "type": "string", "optional": false },
                         "values": { "type": "string", "optional": true }, "optional": true });
    let by_int = json!({ "type": "map", "keys": { "type": "int32", "optional": false },
                         "values": { "type": "string", "optional": false }, "optional": false });
    let named = json!({ "type": "map", "keys": { "type": "int64", "optional": false },
                        "values": { "type": "int64", "optional": false }, "optional": false,
                        "name": "x.Counts" });
    let connect = json!({ "type": "struct", "optional": false, "name": "x.R",
                          "fields": [field("h", hstore), field("m", by_int), field("c", named)] });
    let avro = avro_json(&connect);
    assert_json(
        &avro["fields"][0]["type"],
        &json!(["null", { "type": "map", "values": ["null", "string"] }]),
    );
    assert_json(
        &avro["fields"][1]["type"],
        &json!({ "type": "array", "items": { "type": "record", "name": "MapEntry",
                 "namespace": "io.confluent.connect.avro",
                 "fields": [{ "name": "key", "type": "int" }, { "name": "value", "type": "string" }] } }),
    );
    assert_json(
        &avro["fields"][2]["type"],
        &json!({ "type": "array", "items": { "type": "record", "name": "Counts",
                 "fields": [{ "name": "key", "type": "long" }, { "name": "value", "type": "long" }],
                 "connect.internal.type": "MapEntry" }, "connect.name": "x.Counts" }),
    );
    assert_eq!(to_connect(&avro).expect("back"), connect);
}

#[test]
fn logical_types_annotate_without_changing_the_physical_type() {
    fn logical(type_name: &str, name: &str) -> J {
        json!({ "type": type_name, "optional": false, "name": name, "version": 1 })
    }
    let connect = json!({
        "type": "struct", "optional": false, "name": "x.R",
        "fields": [
            field("dec", json!({ "type": "bytes", "optional": false, "name": DECIMAL, "version": 1,
                                 "parameters": { "scale": "2", "connect.decimal.precision": "10" } })),
            field("money", json!({ "type": "bytes", "optional": false, "name": DECIMAL, "version": 1,
                                   "parameters": { "scale": "2" } })),
            field("d", logical("int32", DATE)),
            field("t", logical("int32", TIME)),
            field("ts", logical("int64", TIMESTAMP)),
            field("dd", logical("int32", "io.debezium.time.Date")),
            field("dt", logical("int32", "io.debezium.time.Time")),
            field("dts", logical("int64", "io.debezium.time.Timestamp")),
            field("mt", logical("int64", "io.debezium.time.MicroTime")),
            field("mts", logical("int64", "io.debezium.time.MicroTimestamp")),
            field("u", logical("string", "io.debezium.data.Uuid")),
            field("small", json!({ "type": "int16", "optional": false }))
        ]
    });
    let avro = from_connect(&connect).expect("translatable");
    let json: J = serde_json::from_str(&avro.text).expect("JSON");
    assert_json(
        &json["fields"][0]["type"],
        &json!({ "type": "bytes", "scale": 2, "precision": 10, "connect.version": 1,
                 "connect.parameters": { "scale": "2", "connect.decimal.precision": "10" },
                 "connect.name": DECIMAL, "logicalType": "decimal" }),
    );
    assert_eq!(json["fields"][1]["type"]["precision"], 64);
    assert_json(
        &json["fields"][2]["type"],
        &json!({ "type": "int", "connect.version": 1, "connect.name": DATE, "logicalType": "date" }),
    );
    let logical_of = |i: usize| json["fields"][i]["type"].get("logicalType").cloned();
    assert_eq!(logical_of(3), Some(json!("time-millis")));
    assert_eq!(logical_of(4), Some(json!("timestamp-millis")));
    // Java's toConnectSchema would refuse Debezium's names under these (see the module documentation).
    assert_eq!(logical_of(5), None);
    assert_eq!(logical_of(6), None);
    assert_eq!(logical_of(7), None);
    assert_eq!(logical_of(8), Some(json!("time-micros")));
    assert_eq!(logical_of(9), Some(json!("timestamp-micros")));
    assert_eq!(logical_of(10), Some(json!("uuid")));
    assert_json(&json["fields"][11]["type"], &json!({ "type": "int", "connect.type": "int16" }));

    // apache-avro reads the annotations as logical types.
    let apache_avro::Schema::Record(record) = &avro.schema else {
        panic!("a record: {:?}", avro.schema);
    };
    let kind = |i: usize| apache_avro::schema::SchemaKind::from(&record.fields[i].schema);
    use apache_avro::schema::SchemaKind as K;
    assert_eq!(
        (0..12).map(kind).collect::<Vec<_>>(),
        vec![
            K::Decimal,
            K::Decimal,
            K::Date,
            K::TimeMillis,
            K::TimestampMillis,
            K::Int,
            K::Int,
            K::Long,
            K::TimeMicros,
            K::TimestampMicros,
            K::Uuid,
            K::Int
        ]
    );
    assert_eq!(to_connect(&json).expect("back"), connect);
}

#[test]
fn plain_avro_reads_as_connect_like_avro_data_reads_it() {
    let avro = json!({
        "type": "record", "name": "Thing", "namespace": "com.example", "doc": "a thing",
        "fields": [
            { "name": "id", "type": "long" },
            { "name": "born", "type": { "type": "int", "logicalType": "date" } },
            { "name": "price",
              "type": { "type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 3 } },
            { "name": "color", "type": { "type": "enum", "name": "Color", "symbols": ["RED", "BLUE"] } },
            { "name": "either", "type": ["null", "int", "string"], "default": null },
            { "name": "tags", "type": { "type": "map", "values": "long" }, "doc": "labels" },
            { "name": "next", "type": ["null", "Color"], "default": null }
        ]
    });
    let expected = json!({
        "type": "struct",
        "fields": [
            { "type": "int64", "optional": false, "field": "id" },
            { "type": "int32", "optional": false, "name": DATE, "version": 1, "field": "born" },
            { "type": "bytes", "optional": false, "name": DECIMAL, "version": 1,
              "parameters": { "scale": "3", "connect.decimal.precision": "9" }, "field": "price" },
            { "type": "string", "optional": false, "name": "com.example.Color",
              "parameters": { "io.confluent.connect.avro.Enum": "com.example.Color",
                              "io.confluent.connect.avro.Enum.RED": "RED",
                              "io.confluent.connect.avro.Enum.BLUE": "BLUE" }, "field": "color" },
            { "type": "struct",
              "fields": [{ "type": "int32", "optional": true, "field": "int" },
                         { "type": "string", "optional": true, "field": "string" }],
              "optional": true, "name": UNION_NAME, "field": "either" },
            { "type": "map", "keys": { "type": "string", "optional": false },
              "values": { "type": "int64", "optional": false }, "optional": false, "field": "tags" },
            { "type": "string", "optional": true, "name": "com.example.Color",
              "parameters": { "io.confluent.connect.avro.Enum": "com.example.Color",
                              "io.confluent.connect.avro.Enum.RED": "RED",
                              "io.confluent.connect.avro.Enum.BLUE": "BLUE" }, "field": "next" }
        ],
        "optional": false, "name": "com.example.Thing",
        "parameters": { "io.confluent.connect.avro.record.doc": "a thing",
                        "io.confluent.connect.avro.field.doc.tags": "labels" }
    });
    assert_eq!(to_connect(&avro).expect("readable"), expected);
}

#[test]
fn unreadable_avro_schemas_are_errors_with_a_location() {
    let unknown = json!({ "type": "record", "name": "R", "fields": [{ "name": "a", "type": "Nope" }] });
    let error = to_connect(&unknown).expect_err("unknown type");
    assert_eq!(error.path().map(|p| p.as_str()), Some("a"));
    assert!(to_connect(&json!({ "type": "record", "name": "R" })).is_err());
    assert!(to_connect(&json!(42)).is_err());
    assert!(to_connect(&json!("null")).is_err());
    let recursive = json!({ "type": "record", "name": "List",
                            "fields": [{ "name": "next", "type": ["null", "List"] }] });
    assert!(to_connect(&recursive).expect_err("recursive").to_string().contains("recursive"));
    let twice = json!({ "type": "record", "name": "R", "fields": [
        { "name": "a", "type": { "type": "fixed", "name": "F", "size": 2 } },
        { "name": "b", "type": { "type": "fixed", "name": "F", "size": 3 } } ] });
    assert!(to_connect(&twice).is_err());
}

#[test]
fn unknown_connect_types_and_broken_decimals_are_refused() {
    assert!(from_connect(&json!({ "type": "int128", "optional": false })).is_err());
    assert!(from_connect(&json!({ "type": "bytes", "optional": false, "name": DECIMAL })).is_err());
    assert!(from_connect(&json!({ "type": "struct", "optional": false })).is_err());
    assert!(from_connect(&json!([1])).is_err());
    let error = from_connect(&json!({ "type": "struct", "optional": false, "name": "x.R",
        "fields": [field("a", json!({ "type": "array", "optional": false }))] }))
    .expect_err("no items");
    assert_eq!(error.path().map(|p| p.as_str()), Some("a"));
}

/// `public.items (id int4 PRIMARY KEY, note text)`: one insert through cdc-core's envelope, without
/// propagated source types (Debezium's default), as `{schema, payload}` for the value and the key.
fn items_messages() -> (J, J) {
    use cdc_core::envelope::{Envelope, EnvelopeConfig, EventFormat};
    use cdc_core::{ChangeEvent, Column, Lsn, Op, PgType, ReplicaIdentity, Row, SnapshotMarker, TableId};
    use cdc_core::{TableSchema, TxInfo, Value};
    let column = |name: &str, oid: u32, nullable: bool, key: bool| Column {
        name: name.into(),
        pg_type: PgType::builtin(oid).expect("built-in"),
        type_modifier: -1,
        nullable,
        key,
        fill_value: None,
    };
    let table = std::sync::Arc::new(TableSchema {
        relation_oid: 16_385,
        id: TableId::new("public", "items"),
        columns: vec![column("id", 23, false, true), column("note", 25, true, false)],
        replica_identity: ReplicaIdentity::Default,
        version: 1,
    });
    let insert = ChangeEvent {
        op: Op::Insert,
        schema: table,
        before: None,
        after: Some(Row(vec![Value::Int32(1), Value::Text("first".into())])),
        lsn: Lsn::new(24_023_000),
        tx: TxInfo {
            xid: 555,
            commit_lsn: Lsn::new(24_023_128),
            commit_time_micros: 0,
            total_order: 1,
            table_order: 1,
        },
        snapshot: SnapshotMarker::No,
        origin: None,
    };
    let config = EnvelopeConfig {
        format: EventFormat::JsonSchema,
        propagate_source_types: false,
        ..EnvelopeConfig::default()
    };
    let mut envelope = Envelope::new(config, "inventory");
    let value = envelope.value_at(&insert, 0);
    let key = envelope.key(&insert).expect("a key");
    (value, key)
}

#[test]
fn a_two_column_table_translates_to_the_schemas_debezium_with_avro_converter_registers() {
    let (value, key) = items_messages();
    let avro = from_connect(&value["schema"]).expect("translatable");
    // Written out by hand from AvroData's rules and Java's `Schema.toString()`: the second use of `Value`
    // is a short reference, the snapshot enum with a default puts null second, the transaction block is
    // `event.block`.
    let expected = concat!(
        r#"{"type":"record","name":"Envelope","namespace":"cdc.public.items","fields":["#,
        r#"{"name":"before","type":["null",{"type":"record","name":"Value","fields":["#,
        r#"{"name":"id","type":"int"},{"name":"note","type":["null","string"],"default":null}],"#,
        r#""connect.name":"cdc.public.items.Value"}],"default":null},"#,
        r#"{"name":"after","type":["null","Value"],"default":null},"#,
        r#"{"name":"source","type":{"type":"record","name":"Source","#,
        r#""namespace":"io.debezium.connector.postgresql","fields":["#,
        r#"{"name":"version","type":"string"},{"name":"connector","type":"string"},{"name":"name","#,
        r#""type":"string"},"#,
        r#"{"name":"ts_ms","type":"long"},"#,
        r#"{"name":"snapshot","type":[{"type":"string","connect.version":1,"#,
        r#""connect.parameters":{"allowed":"#,
        r#""true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"#,
        r#""connect.default":"false","connect.name":"io.debezium.data.Enum"},"null"],"#,
        r#""default":"false"},"#,
        r#"{"name":"db","type":"string"},{"name":"sequence","type":["null","string"],"default":null},"#,
        r#"{"name":"schema","type":"string"},{"name":"table","type":"string"},"#,
        r#"{"name":"txId","type":["null","long"],"default":null},{"name":"lsn","type":["null","long"],"#,
        r#""default":null},"#,
        r#"{"name":"xmin","type":["null","long"],"default":null}],"#,
        r#""connect.name":"io.debezium.connector.postgresql.Source"}},"#,
        r#"{"name":"op","type":"string"},{"name":"ts_ms","type":["null","long"],"default":null},"#,
        r#"{"name":"transaction","type":["null",{"type":"record","name":"block","namespace":"event","#,
        r#""fields":["#,
        r#"{"name":"id","type":"string"},{"name":"total_order","type":"long"}"#,
        r#",{"name":"data_collection_order","type":"long"}],"#,
        r#""connect.version":1,"connect.name":"event.block"}],"default":null}],"#,
        r#""connect.version":1,"connect.name":"cdc.public.items.Envelope"}"#
    );
    assert_eq!(avro.text, expected);
    assert_eq!(avro.full_name(), "cdc.public.items.Envelope");
    let key_avro = from_connect(&key["schema"]).expect("translatable");
    let expected_key = concat!(
        r#"{"type":"record","name":"Key","namespace":"cdc.public.items","fields":[{"name":"id","#,
        r#""type":"int"}],"connect.name":"cdc.public.items.Key"}"#
    );
    assert_eq!(key_avro.text, expected_key);
    // And back, exactly as cdc-core wrote them.
    let back = to_connect(&serde_json::from_str(&avro.text).expect("JSON")).expect("back");
    assert_json(&back, &value["schema"]);
    assert_json(
        &to_connect(&serde_json::from_str(&key_avro.text).expect("JSON")).expect("back"),
        &key["schema"],
    );
}

#[test]
fn a_schema_debeziums_java_avro_converter_registered_reads_back_as_its_connect_schema() {
    // As the registry returns it for `dbserver1.inventory.products` (Debezium 2.x, AvroConverter 7.x):
    // `numeric(10,2)`, an unconstrained numeric used twice, a date, and Java's namespace-less reference.
    let registered = concat!(
        r#"{"type":"record","name":"Value","namespace":"dbserver1.inventory.products","fields":["#,
        r#"{"name":"id","type":"int"},"#,
        r#"{"name":"price","type":["null",{"type":"bytes","scale":2,"precision":10,"#,
        r#""connect.version":1,"connect.parameters":{"scale":"2","connect.decimal.precision":"10"},"#,
        r#""connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}],"#,
        r#""default":null},"#,
        r#"{"name":"weight","type":["null",{"type":"record","name":"VariableScaleDecimal","#,
        r#""namespace":"io.debezium.data","fields":[{"name":"scale","type":"int"},{"name":"value","#,
        r#""type":"bytes"}],"connect.doc":"Variable scaled decimal","connect.version":1,"#,
        r#""connect.name":"io.debezium.data.VariableScaleDecimal"}],"default":null},"#,
        r#"{"name":"tare","type":["null","io.debezium.data.VariableScaleDecimal"],"default":null},"#,
        r#"{"name":"created","type":{"type":"int","connect.version":1,"#,
        r#""connect.name":"io.debezium.time.Date"}}"#,
        r#"],"connect.name":"dbserver1.inventory.products.Value"}"#
    );
    let vsd = |field: &str| {
        json!({ "type": "struct",
                "fields": [{ "type": "int32", "optional": false, "field": "scale" },
                           { "type": "bytes", "optional": false, "field": "value" }],
                "optional": true, "name": "io.debezium.data.VariableScaleDecimal", "version": 1,
                "doc": "Variable scaled decimal", "field": field })
    };
    let expected = json!({
        "type": "struct",
        "fields": [
            { "type": "int32", "optional": false, "field": "id" },
            { "type": "bytes", "optional": true, "name": DECIMAL, "version": 1,
              "parameters": { "scale": "2", "connect.decimal.precision": "10" }, "field": "price" },
            vsd("weight"),
            vsd("tare"),
            { "type": "int32", "optional": false, "name": "io.debezium.time.Date", "version": 1,
              "field": "created" }
        ],
        "optional": false, "name": "dbserver1.inventory.products.Value"
    });
    let back = to_connect(&serde_json::from_str(registered).expect("JSON")).expect("readable");
    assert_json(&back, &expected);
    // Our translation of that Connect schema is the registered text again.
    assert_eq!(from_connect(&expected).expect("translatable").text, registered);
}

#[test]
fn a_struct_reused_with_other_annotations_is_a_reference_with_its_own_noted_beside_it() {
    let vsd = |parameters: Option<J>| {
        let mut schema = json!({ "type": "struct",
            "fields": [{ "type": "int32", "optional": false, "field": "scale" },
                       { "type": "bytes", "optional": false, "field": "value" }],
            "optional": true, "name": "io.debezium.data.VariableScaleDecimal", "version": 1,
            "doc": "Variable scaled decimal" });
        if let Some(parameters) = parameters {
            schema["parameters"] = parameters;
        }
        schema
    };
    let connect = json!({
        "type": "struct",
        "fields": [
            field("amount", vsd(Some(json!({ "__debezium.source.column.type": "AMOUNT" })))),
            field("amounts", json!({ "type": "array", "items": vsd(None), "optional": true,
                                     "parameters": { "__debezium.source.column.type": "_NUMERIC" } }))
        ],
        "optional": false, "name": "x.Value"
    });
    let avro = avro_json(&connect);
    // The text AvroData writes (its first definition wins), plus our note on the field.
    assert_json(
        &avro["fields"][1]["type"][1]["items"],
        &json!(["null", "io.debezium.data.VariableScaleDecimal"]),
    );
    assert_json(
        &avro["fields"][1]["cdc.connect.overrides"],
        &json!({ "items": { "version": 1, "doc": "Variable scaled decimal", "parameters": null,
                            "default": null } }),
    );
    assert_json(&to_connect(&avro).expect("back"), &connect);
}

#[test]
fn decimals_whose_scale_avro_cannot_express_still_translate() {
    // PostgreSQL 15 allows numeric(2,5) and numeric(2,-3); AvroData keeps `logicalType: decimal` for them
    // (its legacy path) and apache-avro reads them as plain bytes.
    for (scale, precision) in [("5", "2"), ("-3", "2")] {
        let connect = json!({ "type": "bytes", "optional": false, "name": DECIMAL, "version": 1,
                              "parameters": { "scale": scale, "connect.decimal.precision": precision } });
        let avro = from_connect(&connect).expect("translatable");
        let json: J = serde_json::from_str(&avro.text).expect("JSON");
        assert_eq!(json["logicalType"], "decimal");
        assert_eq!(to_connect(&json).expect("back"), connect);
    }
}

#[test]
fn a_named_primitive_schema_is_translated_on_its_own() {
    let avro = from_connect(&json!({ "type": "int64", "optional": false })).expect("translatable");
    assert_eq!(avro.text, r#""long""#);
    assert_eq!(avro.full_name(), "long");
    let avro = from_connect(&json!({ "type": "string", "optional": true })).expect("translatable");
    assert_eq!(avro.text, r#"["null","string"]"#);
}
