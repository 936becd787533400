//! Malformed and hostile records: every one is a [`DecodeError`] that says where, never a panic or a huge
//! allocation.

use serde_json::{json, Value as J};

use super::{event, every_type, extremes, json_schema, ordinary, record};
use crate::change::Op;
use crate::envelope::{DecodeError, EventDecoder, HstoreHandling};
use crate::schema::ReplicaIdentity;

/// Decodes `value` (with the customers key) and returns the error.
fn error_of(value: &J) -> DecodeError {
    let bytes = value.to_string();
    match EventDecoder::new().decode(Some(br#"{"customer_id":1}"#), Some(bytes.as_bytes())) {
        Err(e) => e,
        Ok(event) => panic!("decoded {event:?}"),
    }
}

/// A valid customers insert as JSON, to break.
fn valid_value() -> J {
    let insert = event(
        Op::Insert,
        crate::envelope::tests::fixtures::customers(ReplicaIdentity::Full),
        None,
        Some(crate::envelope::tests::anne()),
    );
    let (_, value) = record(&json_schema(|_| {}), &insert);
    serde_json::from_slice(&value).expect("valid JSON")
}

/// Breaks a valid record in one place.
type Corruption = fn(&mut J);

#[test]
fn malformed_records_are_errors_that_say_where() {
    let mut decoder = EventDecoder::new();
    let garbage = decoder.decode(None, Some(b"\x00\xffnot json"));
    assert!(matches!(garbage, Err(DecodeError::NotJson { part: "value", .. })), "{garbage:?}");
    let bad_key = decoder.decode(Some(b"{"), Some(valid_value().to_string().as_bytes()));
    assert!(matches!(bad_key, Err(DecodeError::NotJson { part: "key", .. })), "{bad_key:?}");

    // A bare payload, as `format = "json"` writes it.
    let bare = valid_value()["payload"].clone();
    let message = error_of(&bare).to_string();
    assert!(message.contains(r#"set [envelope].format = "json-schema" on the producing side"#), "{message}");

    let cases: [(Corruption, &str); 17] = [
        (|v| *v = json!([1, 2]), "value: expected a JSON object {schema, payload}, found an array"),
        (|v| v["payload"]["op"] = json!("m"), "payload.op: unknown operation \"m\""),
        (|v| v["payload"]["op"] = json!(1), "payload.op: expected a string, found a number"),
        (|v| v["payload"]["after"]["balance"] = json!(5), "payload.after.balance: expected a string"),
        (|v| v["payload"]["after"]["balance"] = json!("%%%"), "payload.after.balance: \"%%%\" is not"),
        (|v| v["payload"]["after"]["customer_id"] = json!(1e10), "payload.after.customer_id: expected"),
        (|v| v["payload"]["after"] = json!("x"), "payload.after: expected an object, found a string"),
        (|v| v["payload"]["after"] = J::Null, "payload.after is missing"),
        (|v| v["payload"]["source"] = J::Null, "payload.source is missing"),
        (|v| v["payload"]["source"]["lsn"] = json!("16/B374D848"), "payload.source.lsn: expected a non"),
        (|v| v["payload"]["source"]["sequence"] = json!("[x"), "payload.source.sequence: \"[x\" is not"),
        (|v| v["payload"]["source"]["snapshot"] = json!("maybe"), "unknown snapshot marker"),
        (|v| v["payload"]["transaction"] = json!({ "id": "1" }), "payload.transaction.total_order is"),
        (|v| v["schema"]["fields"] = json!([]), "schema: no `after` or `before` field"),
        (|v| v["schema"]["fields"][1]["fields"][0] = json!(7), "schema.after.fields[0]: not a schema"),
        (|v| v["schema"]["fields"][1]["fields"][0]["field"] = json!("id"), "key field \"customer_id\""),
        (|v| v["payload"] = json!(3), "payload: expected an object, found a number"),
    ];
    for (corrupt, want) in cases {
        let mut value = valid_value();
        corrupt(&mut value);
        let message = error_of(&value).to_string();
        assert!(message.contains(want), "{message:?} should contain {want:?}");
    }
}

#[test]
fn array_elements_are_located_in_errors() {
    let schema = every_type();
    let insert = event(Op::Insert, schema, None, Some(ordinary()));
    let (key, value) = record(&json_schema(|_| {}), &insert);
    let mut value: J = serde_json::from_slice(&value).expect("valid");
    value["payload"]["after"]["ints"] = json!([1, "two"]);
    let bytes = value.to_string();
    let error = EventDecoder::new().decode(key.as_deref(), Some(bytes.as_bytes())).expect_err("bad element");
    assert_eq!(error.to_string(), "payload.after.ints[1]: expected a 64-bit integer, found a string \"two\"");
}

#[test]
fn hostile_sizes_are_refused_rather_than_allocated() {
    let schema = every_type();
    let insert = event(Op::Insert, schema, None, Some(ordinary()));
    let (key, value) = record(&json_schema(|_| {}), &insert);
    let value: J = serde_json::from_slice(&value).expect("valid");
    let decode = |value: &J| EventDecoder::new().decode(key.as_deref(), Some(value.to_string().as_bytes()));
    let field = |value: &mut J, name: &str| -> J {
        let fields = value["schema"]["fields"][1]["fields"].as_array_mut().expect("fields");
        let found = fields.iter_mut().find(|f| f["field"] == name).expect("column");
        std::mem::take(found)
    };
    // A scale of two billion digits.
    let mut huge_scale = value.clone();
    let mut price = field(&mut huge_scale, "price");
    price["parameters"]["scale"] = json!("2000000000");
    let fields = huge_scale["schema"]["fields"][1]["fields"].as_array_mut().expect("fields");
    fields[7] = price;
    let error = decode(&huge_scale).expect_err("scale out of range");
    assert!(error.to_string().contains("payload.after.price: decimal scale 2000000000"), "{error}");
    // A bit(n) of 2^31 - 2 bits from a single byte.
    let mut huge_bits = value.clone();
    let mut bits = field(&mut huge_bits, "bits");
    bits["parameters"]["length"] = json!("2147483646");
    bits["parameters"]["__debezium.source.column.length"] = json!("2147483646");
    let fields = huge_bits["schema"]["fields"][1]["fields"].as_array_mut().expect("fields");
    fields[22] = bits;
    let error = decode(&huge_bits).expect_err("too many bits");
    assert!(error.to_string().starts_with("payload.after.bits:"), "{error}");
    // A type name of a hundred thousand array prefixes is one array level, not a deep recursion.
    let mut deep = value.clone();
    deep["schema"]["fields"][1]["fields"][7]["parameters"]["__debezium.source.column.type"] =
        json!("_".repeat(100_000));
    assert!(decode(&deep).is_ok());
    // A VariableScaleDecimal far past NUMERIC's scale.
    let mut wide = value;
    wide["payload"]["after"]["amount"] = json!({ "scale": -16_384, "value": "AQ==" });
    assert!(decode(&wide).expect_err("scale").to_string().contains("payload.after.amount"));
}

/// JSON values that every corrupted node is replaced with.
fn hostile_values() -> Vec<J> {
    vec![
        J::Null,
        json!(0),
        json!(-1),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(1e308),
        json!("x"),
        json!(""),
        json!("__debezium_unavailable_value"),
        json!([]),
        json!([null, [1]]),
        json!({}),
        json!({ "scale": i64::MIN, "value": "////" }),
        json!(true),
    ]
}

/// Every node of `json`, by index in a pre-order walk.
fn node_count(json: &J) -> usize {
    1 + match json {
        J::Array(items) => items.iter().map(node_count).sum(),
        J::Object(map) => map.values().map(node_count).sum(),
        _ => 0,
    }
}

fn replace_node(json: &mut J, mut index: usize, with: &J) -> usize {
    if index == 0 {
        *json = with.clone();
        return usize::MAX;
    }
    index -= 1;
    let children: Vec<&mut J> = match json {
        J::Array(items) => items.iter_mut().collect(),
        J::Object(map) => map.values_mut().collect(),
        _ => return index,
    };
    for child in children {
        index = replace_node(child, index, with);
        if index == usize::MAX {
            return index;
        }
    }
    index
}

#[test]
fn corrupted_records_never_panic() {
    let schema = every_type();
    let update = event(Op::Update, schema, Some(extremes()), Some(ordinary()));
    for config in [json_schema(|_| {}), json_schema(|c| c.hstore_handling = HstoreHandling::Map)] {
        let (key, value) = record(&config, &update);
        let parsed: J = serde_json::from_slice(&value).expect("valid");
        let mut decoder = EventDecoder::new();
        // Every node of the record (schema and payload) replaced by two of the hostile values, in rotation.
        let hostile = hostile_values();
        for index in 0..node_count(&parsed) {
            for pick in [index, index + 5] {
                let mut corrupted = parsed.clone();
                replace_node(&mut corrupted, index, &hostile[pick % hostile.len()]);
                let _ = decoder.decode(key.as_deref(), Some(corrupted.to_string().as_bytes()));
            }
        }
        // Byte-level damage: truncations and random overwrites.
        let mut rng = fastrand::Rng::with_seed(7);
        for cut in (0..value.len()).step_by(97) {
            let _ = decoder.decode(key.as_deref(), value.get(..cut));
        }
        for _ in 0..500 {
            let mut damaged = value.clone();
            for _ in 0..rng.usize(1..4) {
                let at = rng.usize(..damaged.len());
                damaged[at] = rng.u8(..);
            }
            let _ = decoder.decode(key.as_deref(), Some(&damaged));
        }
        let _ = decoder.decode(Some(&value), Some(&value));
    }
}
