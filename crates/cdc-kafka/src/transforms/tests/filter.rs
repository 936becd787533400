//! Kafka's `Filter` with predicates, and Debezium's `Filter` with simple conditions.

use cdc_core::{Op, Value};

use super::fixtures::*;
use crate::transforms::{Chain, Record, TransformError};

const FILTER: &str = "org.apache.kafka.connect.transforms.Filter";
const DBZ_FILTER: &str = "io.debezium.transforms.Filter";
const TOPIC_MATCHES: &str = "org.apache.kafka.connect.transforms.predicates.TopicNameMatches";
const IS_TOMBSTONE: &str = "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone";
const HAS_HEADER: &str = "org.apache.kafka.connect.transforms.predicates.HasHeaderKey";

fn orders() -> cdc_core::SchemaRef {
    table("orders", vec![col("id", INT4, false, true), col("status", TEXT, true, false)])
}

fn sample() -> (Record, Record, Record, Record) {
    let mut env = envelope();
    let create =
        record(&mut env, &event(Op::Insert, orders(), None, row(vec![Value::Int32(1), text("new")])));
    let update = record(
        &mut env,
        &event(
            Op::Update,
            orders(),
            row(vec![Value::Int32(2), text("new")]),
            row(vec![Value::Int32(2), text("paid")]),
        ),
    );
    let delete =
        record(&mut env, &event(Op::Delete, orders(), row(vec![Value::Int32(3), text("paid")]), None));
    let grave = tombstone(&delete);
    (create, update, delete, grave)
}

/// Apache Kafka, "Predicates" (<https://kafka.apache.org/documentation/#connect_predicates>): the example
/// `transforms=Filter`, `transforms.Filter.type=org.apache.kafka.connect.transforms.Filter`,
/// `transforms.Filter.predicate=IsFoo`, `predicates=IsFoo`, `predicates.IsFoo.type=…TopicNameMatches`,
/// `predicates.IsFoo.pattern=foo` "drops records whose topic is foo"; `negate=true` inverts the predicate.
#[test]
fn kafka_filter_drops_what_its_predicate_matches_or_with_negate_what_it_does_not() {
    let (create, ..) = sample();
    let foo = Record { topic: "foo".into(), ..create.clone() };
    let preds = [predicate("IsFoo", TOPIC_MATCHES, &[("pattern", "foo")])];

    let mut chain = Chain::build(&[spec("Filter", FILTER, &[("predicate", "IsFoo")])], &preds).unwrap();
    dropped(&mut chain, foo.clone());
    assert_eq!(kept(&mut chain, create.clone()), create);
    // The pattern must match the whole topic.
    let foobar = Record { topic: "foobar".into(), ..create.clone() };
    assert_eq!(kept(&mut chain, foobar.clone()), foobar);

    let mut chain =
        Chain::build(&[spec("Filter", FILTER, &[("predicate", "IsFoo"), ("negate", "true")])], &preds)
            .unwrap();
    assert_eq!(kept(&mut chain, foo.clone()), foo);
    dropped(&mut chain, create);

    // Without a predicate, Filter drops everything.
    dropped(&mut one(FILTER, &[]), foo);
}

/// `RecordIsTombstone` and `HasHeaderKey` (`name`).
#[test]
fn tombstone_and_header_predicates() {
    let (create, _, delete, grave) = sample();
    let preds = [predicate("tomb", IS_TOMBSTONE, &[]), predicate("marked", HAS_HEADER, &[("name", "skip")])];
    let mut chain = Chain::build(
        &[
            spec("dropTombstones", FILTER, &[("predicate", "tomb")]),
            spec("dropMarked", FILTER, &[("predicate", "marked")]),
        ],
        &preds,
    )
    .unwrap();
    dropped(&mut chain, grave);
    assert_eq!(kept(&mut chain, delete.clone()), delete);
    let marked = Record { headers: vec![("skip".into(), None)], ..create.clone() };
    dropped(&mut chain, marked);
    assert_eq!(kept(&mut chain, create.clone()), create);

    let err = Chain::build(&[], &[predicate("p", HAS_HEADER, &[])]).unwrap_err();
    assert_eq!(err.to_string(), "predicates.p.name is required");
}

/// Debezium, "Message Filtering" (<https://debezium.io/documentation/reference/stable/transformations/filtering.html>):
/// `language=jsr223.groovy`, `condition=value.op == 'u' && value.before.id == 2` "removes all messages,
/// except those that represent update (u) records with id values that are equal to 2"; tombstones are kept
/// by default (`null.handling.mode=keep`).
#[test]
fn debezium_filter_keeps_what_the_condition_accepts() {
    let (create, update, delete, grave) = sample();
    let mut chain = one(
        DBZ_FILTER,
        &[("language", "jsr223.groovy"), ("condition", "value.op == 'u' && value.before.id == 2")],
    );
    assert_eq!(kept(&mut chain, update.clone()), update);
    dropped(&mut chain, create.clone());
    dropped(&mut chain, delete.clone());
    assert_eq!(kept(&mut chain, grave.clone()), grave);

    // The brief's forms: != and ||, paths into source; && binds tighter than ||.
    let mut chain = one(
        DBZ_FILTER,
        &[
            ("language", "jsr223.groovy"),
            (
                "condition",
                "value.op != 'c' && value.source.table == \"orders\" || value.after.status == 'new'",
            ),
            ("null.handling.mode", "drop"),
        ],
    );
    assert_eq!(kept(&mut chain, create.clone()), create); // op c, but after.status == 'new'
    assert_eq!(kept(&mut chain, delete.clone()), delete);
    dropped(&mut chain, grave.clone());

    // topic.regex: other topics pass untouched; `evaluate` runs the condition on tombstones (value null).
    let mut chain = one(
        DBZ_FILTER,
        &[
            ("language", "jsr223.graal.js"),
            ("condition", "value.op == 'd' || value == null"),
            ("topic.regex", "cdc\\.public\\.orders"),
            ("null.handling.mode", "evaluate"),
        ],
    );
    dropped(&mut chain, create.clone());
    assert_eq!(kept(&mut chain, grave.clone()), grave);
    let elsewhere = Record { topic: "cdc.public.other".into(), ..create };
    assert_eq!(kept(&mut chain, elsewhere.clone()), elsewhere);
}

#[test]
fn debezium_filter_refuses_conditions_it_cannot_evaluate_with_the_supported_forms_in_the_error() {
    for condition in [
        "(value.op == 'd')",
        "value.after.id > 2",
        "value.op.equals('d')",
        "value.op == value.before.op",
        "value.op == 'd' &&",
        "op == 'd'",
        "value.op = 'd'",
    ] {
        let err =
            try_one(DBZ_FILTER, &[("language", "jsr223.groovy"), ("condition", condition)]).unwrap_err();
        assert!(
            matches!(&err, TransformError::InvalidProperty { scope, property, .. } if scope == "transforms.t" && property == "condition"),
            "{condition}: {err:?}"
        );
        assert!(err.to_string().contains("value.op == 'd'"), "{condition}: {err}");
    }
    let err = try_one(DBZ_FILTER, &[("condition", "value.op == 'd'")]).unwrap_err();
    assert_eq!(err.to_string(), "transforms.t.language is required");
    let err = try_one(DBZ_FILTER, &[("language", "groovy"), ("condition", "value.op == 'd'")]).unwrap_err();
    assert!(err.to_string().contains("jsr223."), "{err}");
}
