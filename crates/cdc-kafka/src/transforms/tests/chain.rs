//! The chain: order, predicates with `negate`, building from connector properties, errors.

use cdc_core::{Op, Value};
use serde_json::json;

use super::fixtures::*;
use crate::transforms::{parse_properties, Chain, Record, TransformError, TRANSFORM_CLASSES};

const REGEX_ROUTER: &str = "org.apache.kafka.connect.transforms.RegexRouter";
const FILTER: &str = "org.apache.kafka.connect.transforms.Filter";
const TOPIC_MATCHES: &str = "org.apache.kafka.connect.transforms.predicates.TopicNameMatches";

fn customer() -> Record {
    let customers = table("customers", vec![col("id", INT4, false, true), col("name", VARCHAR, true, false)]);
    record(&mut envelope(), &event(Op::Insert, customers, None, row(vec![Value::Int32(1), text("Anne")])))
}

/// Transforms run in `transforms=` order, each seeing the previous one's output: a filter on the routed
/// topic name drops the record only when it runs after the router.
#[test]
fn transforms_apply_in_order() {
    let route =
        spec("route", REGEX_ROUTER, &[("regex", r"([^.]+)\.([^.]+)\.([^.]+)"), ("replacement", "cdc.$3")]);
    let filter = spec("drop", FILTER, &[("predicate", "routed")]);
    let preds = [predicate("routed", TOPIC_MATCHES, &[("pattern", r"cdc\.customers")])];

    let mut route_then_filter = Chain::build(&[route.clone(), filter.clone()], &preds).unwrap();
    dropped(&mut route_then_filter, customer());

    let mut filter_then_route = Chain::build(&[filter, route], &preds).unwrap();
    assert_eq!(kept(&mut filter_then_route, customer()).topic, "cdc.customers");
}

/// KIP-585: a transform with `predicate` applies only to matching records, with `negate=true` only to the
/// others; records it does not apply to pass to the next stage unchanged.
#[test]
fn a_predicate_limits_a_transform_and_negate_inverts_it() {
    let preds = [predicate("isCustomers", TOPIC_MATCHES, &[("pattern", r".*\.customers")])];
    let unwrap_customers = spec("unwrap", UNWRAP, &[("predicate", "isCustomers")]);
    let mut chain = Chain::build(&[unwrap_customers], &preds).unwrap();
    let out = kept(&mut chain, customer());
    assert_json(out.value.as_ref().unwrap(), &json!({ "id": 1, "name": "Anne" }));
    let orders = Record { topic: "cdc.public.orders".into(), ..customer() };
    assert_eq!(kept(&mut chain, orders.clone()), orders);

    let unwrap_others = spec("unwrap", UNWRAP, &[("predicate", "isCustomers"), ("negate", "true")]);
    let mut chain = Chain::build(&[unwrap_others], &preds).unwrap();
    assert_eq!(kept(&mut chain, customer()), customer());
    assert_json(kept(&mut chain, orders).value.as_ref().unwrap(), &json!({ "id": 1, "name": "Anne" }));
}

/// The seed's configuration as connector properties: `transforms=unwrap,route`, `transforms.<name>.type`,
/// `transforms.<name>.<property>`; other keys are ignored.
#[test]
fn a_chain_builds_from_connector_properties() {
    let config = props(&[
        ("connector.class", "io.debezium.connector.postgresql.PostgresConnector"),
        ("transforms", "unwrap, route"),
        ("transforms.unwrap.type", UNWRAP),
        ("transforms.unwrap.drop.tombstones", "false"),
        ("transforms.route.type", REGEX_ROUTER),
        ("transforms.route.regex", r"([^.]+)\.([^.]+)\.([^.]+)"),
        ("transforms.route.replacement", "cdc.$3"),
        ("transforms.route.predicate", "notHeartbeat"),
        ("transforms.route.negate", "true"),
        ("predicates", "notHeartbeat"),
        ("predicates.notHeartbeat.type", TOPIC_MATCHES),
        ("predicates.notHeartbeat.pattern", "__debezium-heartbeat.*"),
    ]);
    let (transforms, predicates) = parse_properties(&config).unwrap();
    assert_eq!(transforms.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["unwrap", "route"]);
    assert_eq!(transforms[1].props.get("regex").map(String::as_str), Some(r"([^.]+)\.([^.]+)\.([^.]+)"));
    assert!(!transforms[1].props.contains_key("type"));
    assert_eq!(predicates[0].props.get("pattern").map(String::as_str), Some("__debezium-heartbeat.*"));

    let mut chain = Chain::from_properties(&config).unwrap();
    let out = kept(&mut chain, customer());
    assert_eq!(out.topic, "cdc.customers");
    assert_json(out.value.as_ref().unwrap(), &json!({ "id": 1, "name": "Anne" }));
    assert_eq!(chain.apply(tombstone(&customer())).unwrap().unwrap().topic, "cdc.customers");

    let missing_type = props(&[("transforms", "a"), ("transforms.a.regex", "x")]);
    assert_eq!(
        Chain::from_properties(&missing_type).unwrap_err().to_string(),
        "transforms.a.type is required"
    );
    assert!(Chain::from_properties(&props(&[])).unwrap().is_empty());
}

/// Kafka Connect answers an unknown class with 400; here the error names the transform and the class, and
/// the hint lists what is supported.
#[test]
fn unknown_classes_and_predicates_are_configuration_errors() {
    let err = try_one("org.apache.kafka.connect.transforms.Flatten$Value", &[]).unwrap_err();
    assert!(
        matches!(&err, TransformError::UnknownClass { scope, class } if scope == "transforms.t" && class.ends_with("Flatten$Value")),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "transforms.t.type: unknown class org.apache.kafka.connect.transforms.Flatten$Value"
    );
    let hint = err.hint().unwrap();
    assert!(TRANSFORM_CLASSES.iter().all(|c| hint.contains(c)), "{hint}");

    for class in [
        "org.apache.kafka.connect.transforms.ReplaceField",
        "org.apache.kafka.connect.transforms.RegexRouter$Value",
    ] {
        assert!(matches!(try_one(class, &[]).unwrap_err(), TransformError::UnknownClass { .. }), "{class}");
    }

    let err = Chain::build(&[spec("t", FILTER, &[("predicate", "nope")])], &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "transforms.t.predicate = \"nope\" is not one of the predicates listed in `predicates`"
    );
    let err = Chain::build(&[spec("t", FILTER, &[("negate", "true")])], &[]).unwrap_err();
    assert!(err.to_string().starts_with("transforms.t.negate"), "{err}");
    let err = Chain::build(&[], &[predicate("p", "com.example.Nope", &[])]).unwrap_err();
    assert!(matches!(&err, TransformError::UnknownClass { scope, .. } if scope == "predicates.p"), "{err:?}");

    let twice = props(&[("transforms", "a,a"), ("transforms.a.type", FILTER)]);
    assert!(Chain::from_properties(&twice).unwrap_err().to_string().contains("listed twice"));
}
