//! Kafka Connect single message transforms (SMTs): the transforms Debezium users put in a connector's
//! `transforms=` list, applied to records after the envelope is built and before they are serialized.
//! Pure: no I/O, no clock, no Kafka; the sink (or `cdc tail`) decides where a [`Chain`] runs.
//!
//! ```text
//!  connector properties ──parse_properties──▶ [TransformSpec] + [PredicateSpec] ──Chain::build──▶ Chain
//!                                              (transforms=a,b / transforms.a.type=… / predicates=p …)
//!
//!  Record {topic, key(+schema), value(+schema), headers, timestamp}
//!      ──▶ stage a: predicate? (negate?) ─ no ─▶ unchanged ─┐
//!                     └─ yes ─▶ transform a ─▶ Some(record) ─┴─▶ stage b … ─▶ Some(record) | None (dropped)
//! ```
//!
//! A [`Record`] holds what Kafka Connect's `JsonConverter` would hold: each side (key, value) is an optional
//! Connect schema in the converter's schema-JSON form plus a JSON payload. With a schema (`json-schema` and
//! Avro formats) every transform rewrites the schema together with the payload, so that the output schema
//! describes the output payload exactly as Kafka Connect's `Struct`/`Schema` code would build it (down to
//! details such as `SchemaUtil.copySchemaBasics` not copying `optional`). Without a schema (plain JSON)
//! transforms work on the payload alone, as Kafka's "schemaless" code paths do on `Map`s.
//!
//! Supported classes ([`TRANSFORM_CLASSES`], [`PREDICATE_CLASSES`]):
//!
//! | class | file |
//! |---|---|
//! | `io.debezium.transforms.ExtractNewRecordState` | `unwrap.rs` |
//! | `org.apache.kafka.connect.transforms.RegexRouter` | `regex_router.rs` |
//! | `io.debezium.transforms.ByLogicalTableRouter` | `logical_router.rs` |
//! | `org.apache.kafka.connect.transforms.Filter`, `io.debezium.transforms.Filter` (simple conditions only) | `filter.rs` |
//! | `org.apache.kafka.connect.transforms.ReplaceField$Key` / `$Value` | `replace_field.rs` |
//! | `org.apache.kafka.connect.transforms.MaskField$Key` / `$Value` | `mask_field.rs` |
//! | `org.apache.kafka.connect.transforms.InsertField$Key` / `$Value` | `insert_field.rs` |
//! | `org.apache.kafka.connect.transforms.TimestampConverter$Key` / `$Value` | `timestamp.rs` |
//! | predicates `TopicNameMatches`, `RecordIsTombstone`, `HasHeaderKey` | `predicates.rs` |
//!
//! Each file's doc lists its properties and where it departs from the Java original. Common to all:
//! - Configuration errors (unknown class, missing or invalid property) are found by [`Chain::build`], where
//!   Kafka Connect would answer the connector's `PUT /config` with 400; they name `transforms.<name>.<property>`.
//!   Some errors Kafka raises per record (a `$` group that does not exist, `offset.field` on a source record)
//!   are raised at build time instead.
//! - Regular expressions are Java's, compiled by the `regex` crate: Java-only constructs (look-around,
//!   back-references, possessive quantifiers) are refused at build time. Full-match and `replaceFirst`
//!   semantics and the `$1`/`${name}`/`\$` replacement syntax are Java's (`java.rs`).
//! - `replace.null.with.default` is accepted and ignored: replacing a null with the schema default is the
//!   converter's business (`JsonConverter` does it again on output), and the payloads here already went
//!   through it.
//! - A tombstone (no value) passes through the field transforms unchanged (Kafka's `InsertField` and
//!   `ReplaceField`; older `MaskField` versions threw instead).

mod connect;
mod filter;
mod insert_field;
mod java;
mod logical_router;
mod mask_field;
mod predicates;
mod regex_router;
mod replace_field;
mod timestamp;
mod unwrap;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use self::connect::Side;
use self::java::JavaRegex;

/// One record as the Kafka sink produces it, before serialization.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record {
    pub topic: String,
    /// The key's Connect schema (JsonConverter schema JSON), when the key format carries one.
    pub key_schema: Option<serde_json::Value>,
    /// The key payload; `None` for a record without a key (a truncate, a table without a key).
    pub key: Option<serde_json::Value>,
    /// The value's Connect schema, when the value format carries one.
    pub value_schema: Option<serde_json::Value>,
    /// The value payload; `None` is a tombstone.
    pub value: Option<serde_json::Value>,
    /// Headers in order; a header may have no value.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// The record timestamp, milliseconds since the epoch.
    pub timestamp_ms: i64,
}

/// A single message transform.
///
/// Contract: `apply` takes one record and returns it (changed or not), or `None` to drop it; records are
/// transformed one at a time, in order, by one owner (`&mut self`), so a transform may keep caches. An `Err`
/// is about this record's data (Kafka's `DataException`): the pipeline must stop rather than skip the record.
pub trait Transform: Send {
    fn apply(&mut self, record: Record) -> Result<Option<Record>, TransformError>;
}

/// One entry of `transforms=`: `transforms.<name>.type=<class>` and the other `transforms.<name>.*`
/// properties with the prefix stripped (`predicate` and `negate` among them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformSpec {
    pub name: String,
    pub class: String,
    pub props: BTreeMap<String, String>,
}

/// One entry of `predicates=`: `predicates.<name>.type=<class>` and its properties, prefix stripped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredicateSpec {
    pub name: String,
    pub class: String,
    pub props: BTreeMap<String, String>,
}

/// The transform classes [`Chain::build`] knows.
pub const TRANSFORM_CLASSES: &[&str] = &[
    unwrap::CLASS,
    regex_router::CLASS,
    logical_router::CLASS,
    filter::KAFKA_CLASS,
    filter::DEBEZIUM_CLASS,
    "org.apache.kafka.connect.transforms.ReplaceField$Key",
    "org.apache.kafka.connect.transforms.ReplaceField$Value",
    "org.apache.kafka.connect.transforms.MaskField$Key",
    "org.apache.kafka.connect.transforms.MaskField$Value",
    "org.apache.kafka.connect.transforms.InsertField$Key",
    "org.apache.kafka.connect.transforms.InsertField$Value",
    "org.apache.kafka.connect.transforms.TimestampConverter$Key",
    "org.apache.kafka.connect.transforms.TimestampConverter$Value",
];

/// The predicate classes [`Chain::build`] knows.
pub const PREDICATE_CLASSES: &[&str] =
    &[predicates::TOPIC_NAME_MATCHES, predicates::RECORD_IS_TOMBSTONE, predicates::HAS_HEADER_KEY];

/// A transform or predicate that cannot be built, or a record a transform cannot process.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error("{scope}.type: unknown class {class}")]
    UnknownClass { scope: String, class: String },
    #[error("{scope}.{property} is required")]
    MissingProperty { scope: String, property: String },
    #[error("{scope}.{property} = {value:?} is invalid: {reason}")]
    InvalidProperty { scope: String, property: String, value: String, reason: String },
    #[error("{scope}.predicate = {predicate:?} is not one of the predicates listed in `predicates`")]
    UnknownPredicate { scope: String, predicate: String },
    #[error("transform {transform} cannot process a record of topic {topic}: {reason}")]
    Record { transform: String, topic: String, reason: String },
}

impl TransformError {
    /// What the operator should do.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            TransformError::UnknownClass { .. } => format!(
                "supported transforms: {}; supported predicates: {}",
                TRANSFORM_CLASSES.join(", "),
                PREDICATE_CLASSES.join(", ")
            ),
            TransformError::MissingProperty { scope, property } => {
                format!("set {scope}.{property} in the connector properties")
            }
            TransformError::InvalidProperty { scope, property, .. } => {
                format!("correct {scope}.{property}; the transform's documentation lists the accepted values")
            }
            TransformError::UnknownPredicate { predicate, .. } => format!(
                "add {predicate} to `predicates` and define predicates.{predicate}.type, or correct the name"
            ),
            TransformError::Record { transform, .. } => format!(
                "the record does not have the shape transforms.{transform} expects: restrict the transform \
                 with a predicate, or change its properties; nothing after this record was acknowledged"
            ),
        })
    }
}

/// A transform's per-record failure, before the chain names the transform and topic.
#[derive(Debug)]
pub(crate) struct DataError(pub(crate) String);

impl DataError {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        DataError(reason.into())
    }
}

/// What a transform does with a record it processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Keep,
    Drop,
}

/// The transforms implemented here: they edit the record in place.
pub(crate) trait Smt: Send + fmt::Debug {
    fn apply(&mut self, record: &mut Record) -> Result<Outcome, DataError>;
}

/// The condition of a transform's `predicate` property.
pub(crate) trait Predicate: Send + Sync + fmt::Debug {
    fn test(&self, record: &Record) -> bool;
}

/// Transforms applied in order, each behind its optional predicate; see the module doc.
pub struct Chain {
    stages: Vec<Stage>,
}

struct Stage {
    name: String,
    transform: Box<dyn Smt>,
    /// The predicate and `negate`: the transform runs when `predicate.test(record) != negate`.
    predicate: Option<(Arc<dyn Predicate>, bool)>,
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for stage in &self.stages {
            list.entry(&format_args!("{}: {:?}", stage.name, stage.transform));
        }
        list.finish()
    }
}

impl Chain {
    /// Builds every transform and predicate, checking all properties.
    pub fn build(
        transforms: &[TransformSpec],
        predicates: &[PredicateSpec],
    ) -> Result<Chain, TransformError> {
        let mut built: BTreeMap<&str, Arc<dyn Predicate>> = BTreeMap::new();
        for spec in predicates {
            let props = Props::new(format!("predicates.{}", spec.name), &spec.props);
            built.insert(spec.name.as_str(), predicates::build(&spec.class, &props)?);
        }
        let mut stages = Vec::with_capacity(transforms.len());
        for spec in transforms {
            let props = Props::new(format!("transforms.{}", spec.name), &spec.props);
            let negate = props.bool("negate", false)?;
            let predicate = match props.get("predicate") {
                Some(name) => {
                    let predicate = built.get(name).ok_or_else(|| TransformError::UnknownPredicate {
                        scope: props.scope.clone(),
                        predicate: name.to_owned(),
                    })?;
                    Some((Arc::clone(predicate), negate))
                }
                None if props.get("negate").is_some() => {
                    return Err(props.invalid("negate", "`negate` only applies together with `predicate`"));
                }
                None => None,
            };
            let transform = build_transform(&spec.name, &spec.class, &props)?;
            stages.push(Stage { name: spec.name.clone(), transform, predicate });
        }
        Ok(Chain { stages })
    }

    /// Reads `transforms=…`, `transforms.<name>.*`, `predicates=…` and `predicates.<name>.*` from connector
    /// properties (other keys are ignored) and builds the chain.
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<Chain, TransformError> {
        let (transforms, predicates) = parse_properties(props)?;
        Chain::build(&transforms, &predicates)
    }

    /// Puts `transform` before every configured stage, without a predicate: for what the connector itself does
    /// to its records before any SMT sees them (Debezium applies its column properties inside the connector).
    /// Its errors are reported as coming from the transform named [`PREPENDED_STAGE`], with the reason it gave.
    pub fn prepend(&mut self, transform: Box<dyn Transform>) {
        let stage = Stage {
            name: PREPENDED_STAGE.to_owned(),
            transform: Box::new(Prepended(transform)),
            predicate: None,
        };
        self.stages.insert(0, stage);
    }

    /// Whether the chain has no transforms (every record passes unchanged).
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Runs the record through every stage; `None` when a stage dropped it.
    pub fn apply(&mut self, mut record: Record) -> Result<Option<Record>, TransformError> {
        for stage in &mut self.stages {
            if let Some((predicate, negate)) = &stage.predicate {
                if predicate.test(&record) == *negate {
                    continue;
                }
            }
            match stage.transform.apply(&mut record) {
                Ok(Outcome::Keep) => {}
                Ok(Outcome::Drop) => return Ok(None),
                Err(DataError(reason)) => {
                    return Err(TransformError::Record {
                        transform: stage.name.clone(),
                        topic: record.topic.clone(),
                        reason,
                    })
                }
            }
        }
        Ok(Some(record))
    }
}

impl Transform for Chain {
    fn apply(&mut self, record: Record) -> Result<Option<Record>, TransformError> {
        Chain::apply(self, record)
    }
}

/// The stage name of a transform added with [`Chain::prepend`], in its errors.
pub const PREPENDED_STAGE: &str = "connector";

/// A [`Transform`] run as a stage: the record is moved through it and back.
struct Prepended(Box<dyn Transform>);

impl fmt::Debug for Prepended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Prepended")
    }
}

impl Smt for Prepended {
    fn apply(&mut self, record: &mut Record) -> Result<Outcome, DataError> {
        // The chain names the record's topic in an error: keep it when the record went into a failing transform.
        let topic = record.topic.clone();
        match self.0.apply(std::mem::take(record)) {
            Ok(Some(out)) => {
                *record = out;
                Ok(Outcome::Keep)
            }
            Ok(None) => Ok(Outcome::Drop),
            Err(error) => {
                record.topic = topic;
                // The chain names the stage and the topic again: keep only the reason of a per-record error.
                match error {
                    TransformError::Record { reason, .. } => Err(DataError(reason)),
                    other => Err(DataError(other.to_string())),
                }
            }
        }
    }
}

/// Splits connector properties into transform and predicate specs, in the order `transforms=` and
/// `predicates=` list them. A listed name without a `type` is an error, as is a name listed twice.
pub fn parse_properties(
    props: &BTreeMap<String, String>,
) -> Result<(Vec<TransformSpec>, Vec<PredicateSpec>), TransformError> {
    let transforms = aliases(props, "transforms")?
        .into_iter()
        .map(|(name, class, props)| TransformSpec { name, class, props })
        .collect();
    let predicates = aliases(props, "predicates")?
        .into_iter()
        .map(|(name, class, props)| PredicateSpec { name, class, props })
        .collect();
    Ok((transforms, predicates))
}

type Alias = (String, String, BTreeMap<String, String>);

fn aliases(props: &BTreeMap<String, String>, list: &str) -> Result<Vec<Alias>, TransformError> {
    let Some(names) = props.get(list) else { return Ok(Vec::new()) };
    let mut out: Vec<Alias> = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if out.iter().any(|(seen, _, _)| seen == name) {
            return Err(TransformError::InvalidProperty {
                scope: "connector".into(),
                property: list.into(),
                value: names.clone(),
                reason: format!("{name} is listed twice"),
            });
        }
        let prefix = format!("{list}.{name}.");
        let class = props.get(&format!("{prefix}type")).ok_or_else(|| TransformError::MissingProperty {
            scope: format!("{list}.{name}"),
            property: "type".into(),
        })?;
        let own = props
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, v)| {
                let key = k.get(prefix.len()..)?;
                (key != "type").then(|| (key.to_owned(), v.clone()))
            })
            .collect();
        out.push((name.to_owned(), class.trim().to_owned(), own));
    }
    Ok(out)
}

fn build_transform(name: &str, class: &str, props: &Props<'_>) -> Result<Box<dyn Smt>, TransformError> {
    let (base, variant) = match class.split_once('$') {
        Some((base, variant)) => (base, Some(variant)),
        None => (class, None),
    };
    let unknown = || TransformError::UnknownClass { scope: props.scope.clone(), class: class.to_owned() };
    let side = match variant {
        Some("Key") => Some(Side::Key),
        Some("Value") => Some(Side::Value),
        Some(_) => return Err(unknown()),
        None => None,
    };
    const KAFKA: &str = "org.apache.kafka.connect.transforms.";
    let transform: Box<dyn Smt> = match (base, side) {
        (unwrap::CLASS, None) => Box::new(unwrap::ExtractNewRecordState::build(props)?),
        (regex_router::CLASS, None) => Box::new(regex_router::RegexRouter::build(props)?),
        (logical_router::CLASS, None) => Box::new(logical_router::ByLogicalTableRouter::build(props)?),
        (filter::KAFKA_CLASS, None) => Box::new(filter::DropAll),
        (filter::DEBEZIUM_CLASS, None) => Box::new(filter::ConditionFilter::build(props)?),
        (_, Some(side)) => match base.strip_prefix(KAFKA) {
            Some("ReplaceField") => Box::new(replace_field::ReplaceField::build(side, props)?),
            Some("MaskField") => Box::new(mask_field::MaskField::build(side, props)?),
            Some("InsertField") => Box::new(insert_field::InsertField::build(side, props)?),
            Some("TimestampConverter") => Box::new(timestamp::TimestampConverter::build(side, props)?),
            _ => return Err(unknown()),
        },
        _ => return Err(unknown()),
    };
    tracing::debug!(transform = name, class, "built transform");
    Ok(transform)
}

/// A transform's or predicate's properties, with errors that name `<scope>.<property>`.
#[derive(Debug)]
pub(crate) struct Props<'a> {
    /// `transforms.<name>` or `predicates.<name>`.
    pub(crate) scope: String,
    map: &'a BTreeMap<String, String>,
}

impl<'a> Props<'a> {
    pub(crate) fn new(scope: String, map: &'a BTreeMap<String, String>) -> Self {
        Props { scope, map }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a str> {
        self.map.get(key).map(String::as_str)
    }

    /// The value, or `None` when absent or blank.
    pub(crate) fn non_blank(&self, key: &str) -> Option<&'a str> {
        self.get(key).filter(|v| !v.trim().is_empty())
    }

    /// A property without a default (Kafka's `NO_DEFAULT_VALUE`): present, possibly empty.
    pub(crate) fn required(&self, key: &str) -> Result<&'a str, TransformError> {
        self.get(key).ok_or_else(|| self.missing(key))
    }

    /// A `BOOLEAN` property: `true` or `false`, any case.
    pub(crate) fn bool(&self, key: &str, default: bool) -> Result<bool, TransformError> {
        match self.get(key).map(str::trim) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(self.invalid(key, "expected true or false")),
        }
    }

    /// A `LIST` property: comma-separated, items trimmed, empty items left out; absent is empty.
    pub(crate) fn list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// One of `allowed` (compared as `case_insensitive` says), or `default` when absent.
    pub(crate) fn choice(
        &self,
        key: &str,
        allowed: &[&'static str],
        default: &'static str,
        case_insensitive: bool,
    ) -> Result<&'static str, TransformError> {
        let Some(value) = self.get(key) else { return Ok(default) };
        let value = value.trim();
        allowed
            .iter()
            .find(|a| if case_insensitive { a.eq_ignore_ascii_case(value) } else { **a == value })
            .copied()
            .ok_or_else(|| self.invalid(key, format!("expected one of {}", allowed.join(", "))))
    }

    /// A Java regular expression.
    pub(crate) fn regex(&self, key: &str, pattern: &str) -> Result<JavaRegex, TransformError> {
        JavaRegex::new(pattern).map_err(|reason| self.invalid(key, reason))
    }

    pub(crate) fn missing(&self, key: &str) -> TransformError {
        TransformError::MissingProperty { scope: self.scope.clone(), property: key.to_owned() }
    }

    pub(crate) fn invalid(&self, key: &str, reason: impl Into<String>) -> TransformError {
        TransformError::InvalidProperty {
            scope: self.scope.clone(),
            property: key.to_owned(),
            value: self.get(key).unwrap_or_default().to_owned(),
            reason: reason.into(),
        }
    }

    /// Refuses properties of the Java transform that this implementation does not support.
    pub(crate) fn refuse(&self, keys: &[&str], reason: &str) -> Result<(), TransformError> {
        match keys.iter().find(|k| self.get(k).is_some()) {
            Some(key) => Err(self.invalid(key, reason)),
            None => Ok(()),
        }
    }
}
