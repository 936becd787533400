//! The Kafka Connect framework's own connector properties (converters, error handling, transforms,
//! predicates, topic creation), and the properties accepted with a warning or refused as unknown.

use std::collections::BTreeMap;

use cdc_avro::registry::SubjectNameStrategy;
use cdc_core::config::Secret;
use cdc_core::envelope::EventFormat;
use cdc_kafka::transforms::{PredicateSpec, TransformSpec};

use super::properties::Props;
use crate::config::Config;

pub const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";
pub const AVRO_CONVERTER: &str = "io.confluent.connect.avro.AvroConverter";
const SIMPLE_HEADER_CONVERTER: &str = "org.apache.kafka.connect.storage.SimpleHeaderConverter";

/// What one side's converter decides.
#[derive(Default)]
struct Converter {
    format: Option<EventFormat>,
    registry: Option<Registry>,
}

#[derive(PartialEq)]
struct Registry {
    url: String,
    basic_auth: Option<(String, Secret)>,
    strategy: Option<SubjectNameStrategy>,
}

/// `key.converter`, `value.converter` and their properties → `events.format`, `events.key_format`,
/// `schema_registry`. Without a converter in the connector, the worker's (`base`'s) applies, and Kafka Connect
/// ignores that side's converter properties.
pub(crate) fn converters(p: &mut Props, config: &mut Config, base: &Config) {
    let value = converter(p, "value");
    let key = converter(p, "key");
    let format = value.format.unwrap_or(base.events.format);
    let key_format = key.format.unwrap_or_else(|| base.events.key_format());
    config.events.format = format;
    config.events.key_format = (key_format != format).then_some(key_format);

    let registry = match (value.registry, key.registry) {
        (Some(v), Some(k)) => {
            if v.url != k.url {
                p.error(
                    "key.converter.schema.registry.url",
                    "must equal value.converter.schema.registry.url: cdc uses one schema registry",
                );
            } else if v.basic_auth.is_some() && k.basic_auth.is_some() && v.basic_auth != k.basic_auth {
                p.error(
                    "key.converter.basic.auth.user.info",
                    "must equal value.converter.basic.auth.user.info: cdc uses one schema registry",
                );
            } else if v.strategy.is_some() && k.strategy.is_some() && v.strategy != k.strategy {
                p.error(
                    "key.converter.key.subject.name.strategy",
                    "must name the same strategy as value.converter.value.subject.name.strategy",
                );
            }
            let strategy = v.strategy.or(k.strategy);
            let basic_auth = v.basic_auth.or(k.basic_auth);
            Some(Registry { url: v.url, basic_auth, strategy })
        }
        (Some(r), None) | (None, Some(r)) => Some(r),
        (None, None) => None,
    };
    if let Some(registry) = registry {
        let settings = &mut config.schema_registry;
        settings.url = Some(registry.url);
        if let Some((user, password)) = registry.basic_auth {
            settings.username = Some(user);
            settings.password = Some(password);
        }
        if let Some(strategy) = registry.strategy {
            settings.subject_name_strategy = strategy;
        }
    }

    if let Some(class) = p.take("header.converter") {
        if class.trim() != SIMPLE_HEADER_CONVERTER {
            p.warn(format!(
                "header.converter={class} is ignored: cdc writes no headers a converter would encode"
            ));
        }
    }
    for name in p.names_with_prefix("header.converter.") {
        p.take(&name);
        p.warn(format!("{name} is ignored: cdc writes no headers a converter would encode"));
    }
}

fn converter(p: &mut Props, side: &str) -> Converter {
    let class_property = format!("{side}.converter");
    let prefix = format!("{side}.converter.");
    let Some(class) = p.take(&class_property).map(|c| c.trim().to_owned()) else {
        for name in p.names_with_prefix(&prefix) {
            p.take(&name);
            p.warn(format!(
                "{name} is ignored: {class_property} is not set in the connector, so the worker's converter \
                 applies with the worker's settings (as in Kafka Connect)"
            ));
        }
        return Converter::default();
    };
    let converter = match class.as_str() {
        JSON_CONVERTER => json_converter(p, &prefix),
        AVRO_CONVERTER => avro_converter(p, side, &prefix),
        other => {
            p.error(
                &class_property,
                format!(
                    "{other:?} is not supported: use {JSON_CONVERTER} (with schemas.enable true or false) or \
                     {AVRO_CONVERTER}"
                ),
            );
            // Its own properties mean nothing now; one error is enough.
            for name in p.names_with_prefix(&prefix) {
                p.take(&name);
            }
            return Converter::default();
        }
    };
    for name in p.names_with_prefix(&prefix) {
        p.take(&name);
        p.error(&name, format!("is not a {class} property cdc supports"));
    }
    converter
}

fn json_converter(p: &mut Props, prefix: &str) -> Converter {
    let schemas = p.take_bool(&format!("{prefix}schemas.enable"), true);
    let decimal_format = format!("{prefix}decimal.format");
    if let Some(value) = p.take(&decimal_format) {
        if !value.trim().eq_ignore_ascii_case("BASE64") {
            p.invalid(
                &decimal_format,
                &value,
                "only BASE64 is supported; for numbers, set decimal.handling.mode=double or string",
            );
        }
    }
    let replace_null = format!("{prefix}replace.null.with.default");
    if !p.take_bool(&replace_null, true) {
        p.error(&replace_null, "only true (Kafka's default) is supported");
    }
    let _: u32 = p.take_int(&format!("{prefix}schemas.cache.size"), 1_000, 0, i128::from(i32::MAX));
    Converter {
        format: Some(if schemas { EventFormat::JsonSchema } else { EventFormat::Json }),
        registry: None,
    }
}

fn avro_converter(p: &mut Props, side: &str, prefix: &str) -> Converter {
    let url_property = format!("{prefix}schema.registry.url");
    let url = match p.take(&url_property) {
        Some(urls) if !urls.trim().is_empty() => {
            let mut urls = urls.split(',').map(str::trim).filter(|u| !u.is_empty());
            let first = urls.next().unwrap_or_default().to_owned();
            if urls.next().is_some() {
                p.warn(format!("{url_property}: cdc uses the first registry URL only ({first})"));
            }
            first
        }
        _ => {
            p.error(&url_property, "is required by the AvroConverter and has no default value");
            String::new()
        }
    };
    let source_property = format!("{prefix}basic.auth.credentials.source");
    if let Some(source) = p.take(&source_property) {
        if !source.trim().eq_ignore_ascii_case("USER_INFO") {
            p.invalid(&source_property, &source, "only USER_INFO is supported");
        }
    }
    let mut basic_auth = None;
    for info_property in
        [format!("{prefix}basic.auth.user.info"), format!("{prefix}schema.registry.basic.auth.user.info")]
    {
        if let Some(info) = p.take(&info_property) {
            match info.split_once(':') {
                Some((user, password)) => basic_auth = Some((user.to_owned(), Secret::new(password))),
                None => p.error(&info_property, "expected <user>:<password>"),
            }
        }
    }
    let mut strategy = None;
    let other_side = if side == "key" { "value" } else { "key" };
    let strategy_property = format!("{prefix}{side}.subject.name.strategy");
    if let Some(name) = p.take(&strategy_property) {
        match serde_json::from_value::<SubjectNameStrategy>(serde_json::Value::String(name.trim().to_owned()))
        {
            Ok(s) => strategy = Some(s),
            Err(_) => p.invalid(
                &strategy_property,
                &name,
                "expected TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy",
            ),
        }
    }
    let unused = format!("{prefix}{other_side}.subject.name.strategy");
    if p.take(&unused).is_some() {
        p.warn(format!("{unused} is ignored: the {side} converter uses {side}.subject.name.strategy"));
    }
    let auto_register = format!("{prefix}auto.register.schemas");
    if !p.take_bool(&auto_register, true) {
        p.error(&auto_register, "only true is supported: cdc registers the schemas it writes");
    }
    let latest = format!("{prefix}use.latest.version");
    if p.take_bool(&latest, false) {
        p.error(&latest, "only false is supported: cdc writes with the schema of each event");
    }
    for no_op in ["schemas.cache.size", "max.schemas.per.subject"] {
        let _: u32 = p.take_int(&format!("{prefix}{no_op}"), 1_000, 0, i128::from(i32::MAX));
    }
    Converter { format: Some(EventFormat::Avro), registry: Some(Registry { url, basic_auth, strategy }) }
}

pub(crate) struct ErrorHandling {
    pub tolerance_all: bool,
    pub log_enable: bool,
    pub log_include_messages: bool,
}

pub(crate) fn error_handling(p: &mut Props) -> ErrorHandling {
    let tolerance_all = p.take_choice("errors.tolerance", &[("none", false), ("all", true)], false);
    let log_enable = p.take_bool("errors.log.enable", false);
    let log_include_messages = p.take_bool("errors.log.include.messages", false);
    for name in p.names_with_prefix("errors.deadletterqueue.") {
        p.take(&name);
        p.warn(format!("{name} is ignored: Kafka Connect dead letter queues apply to sink connectors only"));
    }
    ErrorHandling { tolerance_all, log_enable, log_include_messages }
}

/// `transforms` and `predicates`: the declared aliases, each with its class and properties.
pub(crate) fn transforms_and_predicates(p: &mut Props) -> (Vec<TransformSpec>, Vec<PredicateSpec>) {
    let predicates: Vec<PredicateSpec> = specs(p, "predicates")
        .into_iter()
        .map(|(name, class, props)| PredicateSpec { name, class, props })
        .collect();
    let transforms: Vec<TransformSpec> = specs(p, "transforms")
        .into_iter()
        .map(|(name, class, props)| TransformSpec { name, class, props })
        .collect();
    for transform in &transforms {
        if let Some(predicate) = transform.props.get("predicate") {
            if !predicates.iter().any(|declared| &declared.name == predicate) {
                p.error(
                    &format!("transforms.{}.predicate", transform.name),
                    format!("names the predicate {predicate:?}, which `predicates` does not declare"),
                );
            }
        }
        if let Some(negate) = transform.props.get("negate") {
            if !matches!(negate.trim().to_ascii_lowercase().as_str(), "true" | "false") {
                let property = format!("transforms.{}.negate", transform.name);
                p.invalid(&property, negate, "expected true or false");
            }
        }
    }
    (transforms, predicates)
}

/// An alias, its class (`type`) and its other properties, prefix removed.
type Alias = (String, String, BTreeMap<String, String>);

/// The aliases listed in `kind` (`transforms`, `predicates`), in order, with class and properties. Properties of
/// aliases not listed are ignored, as Kafka Connect ignores them.
fn specs(p: &mut Props, kind: &str) -> Vec<Alias> {
    let mut aliases: Vec<String> = Vec::new();
    if let Some(list) = p.take(kind) {
        for alias in list.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            if aliases.iter().any(|a| a == alias) {
                p.error(kind, format!("duplicate alias {alias:?}"));
            } else {
                aliases.push(alias.to_owned());
            }
        }
    }
    // Longer aliases first, so that alias `a` does not take `transforms.a.b.type` from alias `a.b`.
    let mut by_length: Vec<usize> = (0..aliases.len()).collect();
    by_length.sort_by_key(|&i| std::cmp::Reverse(aliases[i].len()));
    let mut found: Vec<Option<Alias>> = vec![None; aliases.len()];
    for i in by_length {
        let alias = &aliases[i];
        let prefix = format!("{kind}.{alias}.");
        let type_property = format!("{prefix}type");
        let class = p.take(&type_property).map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        let mut props = BTreeMap::new();
        for name in p.names_with_prefix(&prefix) {
            if let Some(value) = p.take(&name) {
                props.insert(name[prefix.len()..].to_owned(), value);
            }
        }
        match class {
            Some(class) => found[i] = Some((alias.clone(), class, props)),
            None => p.error(&type_property, "is required and has no default value"),
        }
    }
    let prefix = format!("{kind}.");
    for name in p.names_with_prefix(&prefix) {
        p.take(&name);
        p.warn(format!("{name} is ignored: its alias is not listed in {kind}"));
    }
    found.into_iter().flatten().collect()
}

/// `topic.creation.default.partitions` / `.replication.factor` → `[kafka]` topic creation.
pub(crate) fn topic_creation(p: &mut Props, config: &mut Config) {
    let replication = "topic.creation.default.replication.factor";
    if p.contains(replication) {
        let value: i32 = p.take_int(replication, config.kafka.topic_replication, -1, i128::from(i16::MAX));
        if value == 0 {
            p.error(replication, "must be -1 (the broker's default) or at least 1");
        }
        config.kafka.topic_replication = value;
    }
    let partitions = "topic.creation.default.partitions";
    if p.contains(partitions) {
        let value: i32 = p.take_int(partitions, config.kafka.topic_partitions, -1, i128::from(i32::MAX));
        if value == 0 {
            p.error(partitions, "must be -1 (the broker's default) or at least 1");
        }
        config.kafka.topic_partitions = value;
    }
    for name in p.names_with_prefix("topic.creation.") {
        let value = p.take(&name).unwrap_or_default();
        if name == "topic.creation.groups" && value.trim().is_empty() {
            continue;
        }
        p.warn(format!(
            "{name} is ignored: cdc creates topics with [kafka] topic_partitions and topic_replication only"
        ));
    }
}

/// The kind of value a warned-about property must still have.
#[derive(Clone, Copy)]
enum Kind {
    Bool,
    Int,
    Text,
}

/// Properties accepted with a warning: they tune retries, fetching, metrics or Kafka Connect's own
/// bookkeeping, none of which changes the events.
const IGNORED: [(&str, Kind, &str); 27] = [
    ("snapshot.fetch.size", Kind::Int, "cdc reads snapshots with COPY, not a fetch size"),
    ("snapshot.lock.timeout.ms", Kind::Int, "cdc takes no table locks for a snapshot"),
    ("snapshot.locking.mode", Kind::Text, "cdc takes no table locks for a snapshot"),
    ("snapshot.isolation.mode", Kind::Text, "cdc snapshots in one exported-snapshot transaction"),
    ("snapshot.delay.ms", Kind::Int, "cdc starts the snapshot at once"),
    ("streaming.delay.ms", Kind::Int, "cdc starts streaming at once"),
    ("slot.max.retries", Kind::Int, "cdc retries with its own policy"),
    ("slot.retry.delay.ms", Kind::Int, "cdc retries with its own policy"),
    ("retriable.restart.connector.wait.ms", Kind::Int, "cdc retries with its own policy"),
    ("errors.max.retries", Kind::Int, "cdc retries with its own policy"),
    ("errors.retry.timeout", Kind::Int, "cdc retries with its own policy"),
    ("errors.retry.delay.max.ms", Kind::Int, "cdc retries with its own policy"),
    ("query.fetch.size", Kind::Int, "a fetch-size hint"),
    ("max.queue.size.in.bytes", Kind::Int, "cdc's queue is bounded by max.batch.size"),
    ("xmin.fetch.interval.ms", Kind::Int, "cdc does not poll the slot's xmin"),
    ("database.tcpKeepAlive", Kind::Bool, "cdc's connections always use TCP keep-alive"),
    ("schema.refresh.mode", Kind::Text, "cdc refreshes a table's schema from each Relation message"),
    ("topic.cache.size", Kind::Int, "a cache size"),
    ("custom.metric.tags", Kind::Text, "cdc's metrics are served at /metrics"),
    ("config.action.reload", Kind::Text, "a configuration change restarts the pipeline"),
    ("exactly.once.support", Kind::Text, "cdc's producer is idempotent; the slot position is the offset"),
    ("transaction.boundary", Kind::Text, "cdc's producer is idempotent; the slot position is the offset"),
    ("transaction.boundary.interval.ms", Kind::Int, "cdc's producer is idempotent"),
    ("offsets.storage.topic", Kind::Text, "cdc keeps its position in the replication slot"),
    ("include.schema.changes", Kind::Bool, "the PostgreSQL connector emits no schema change events"),
    ("lsn.flush.timeout.ms", Kind::Int, "cdc confirms the slot position after each durable flush"),
    ("lsn.flush.timeout.action", Kind::Text, "cdc confirms the slot position after each durable flush"),
];

/// Properties accepted only at the value that is cdc's behaviour (Debezium's default).
const DEFAULT_ONLY: [(&str, &str); 9] = [
    ("unavailable.value.placeholder", "__debezium_unavailable_value"),
    ("event.processing.failure.handling.mode", "fail"),
    ("schema.name.adjustment.mode", "none"),
    ("field.name.adjustment.mode", "none"),
    ("include.unknown.datatypes", "false"),
    ("flush.lsn.source", "true"),
    ("money.fraction.digits", "2"),
    ("topic.transaction", "transaction"),
    ("converters", ""),
];

/// Prefixes of properties the PostgreSQL connector accepts and ignores.
const IGNORED_PREFIXES: [(&str, &str); 4] = [
    ("database.history", "the PostgreSQL connector keeps no schema history"),
    ("schema.history.internal", "the PostgreSQL connector keeps no schema history"),
    ("metrics.", "cdc's metrics are served at /metrics"),
    ("jmx.", "cdc exports no JMX; its metrics are served at /metrics"),
];

pub(crate) fn accepted_and_ignored(p: &mut Props) {
    for (name, kind, reason) in IGNORED {
        let Some(value) = p.take(name) else { continue };
        let valid = match kind {
            Kind::Bool => matches!(value.trim().to_ascii_lowercase().as_str(), "true" | "false"),
            Kind::Int => value.trim().parse::<i64>().is_ok(),
            Kind::Text => true,
        };
        if valid {
            p.warn(format!("{name}={value} is ignored: {reason}"));
        } else {
            let expected =
                if matches!(kind, Kind::Bool) { "expected true or false" } else { "expected an integer" };
            p.invalid(name, &value, expected);
        }
    }
    for (name, default) in DEFAULT_ONLY {
        let Some(value) = p.take(name) else { continue };
        if !value.trim().eq_ignore_ascii_case(default) {
            let expected = if default.is_empty() {
                "must be empty: not supported".to_owned()
            } else {
                format!("only {default:?} is supported")
            };
            p.invalid(name, &value, &expected);
        }
    }
    for (name, _) in p.remaining() {
        if let Some((_, reason)) = IGNORED_PREFIXES.iter().find(|(prefix, _)| name.starts_with(prefix)) {
            p.take(&name);
            p.warn(format!("{name} is ignored: {reason}"));
        }
    }
}

/// Whatever no handler read: an error each, with a hint where one helps.
pub(crate) fn unknown(p: &mut Props) {
    let renamed = [
        ("schema.whitelist", "schema.include.list"),
        ("schema.blacklist", "schema.exclude.list"),
        ("table.whitelist", "table.include.list"),
        ("table.blacklist", "table.exclude.list"),
        ("column.whitelist", "column.include.list"),
        ("column.blacklist", "column.exclude.list"),
    ];
    for (name, _) in p.remaining() {
        p.take(&name);
        let message = if let Some((_, new)) = renamed.iter().find(|(old, _)| *old == name) {
            format!("was renamed {new} in Debezium 1.3 and removed in 2.0; use {new}")
        } else if ["producer.override.", "consumer.override.", "admin.override."]
            .iter()
            .any(|pre| name.starts_with(pre))
        {
            "per-connector Kafka client overrides are not supported; set [kafka] client properties on the worker".to_owned()
        } else if name.starts_with("database.") || name.starts_with("driver.") {
            "is not a database property cdc supports (JDBC driver pass-through properties are not supported)"
                .to_owned()
        } else {
            "is not a Debezium PostgreSQL connector property cdc supports; since it might change the events, the \
             connector is refused rather than run without it"
                .to_owned()
        };
        p.error(&name, message);
    }
}
