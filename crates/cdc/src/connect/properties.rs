//! A Debezium PostgreSQL connector configuration (the JSON POSTed to Kafka Connect) translated into a cdc
//! [`Config`] plus the parts our configuration has no field for yet ([`Translated`]).
//!
//! ```text
//!  {"name", "config"} ──resolve ${env:…} ${file:…}──▶ properties ──one handler per property──▶ Translated
//!                                                        │                                      ├ config (base + mapped fields)
//!                                                        └─ left over ─▶ unknown: an error      ├ filters, column policies, …
//!                                                                                               └ warnings (accepted, ignored)
//! ```
//!
//! Every handler removes the properties it reads, so whatever is left at the end is unknown and refused: a
//! property we do not understand might change the data, and a connector that silently behaves differently from
//! its configuration is worse than one that does not start. Properties that cannot change the data (JMX,
//! metrics, retries, fetch sizes, schema history) are accepted with a warning that names them. Every problem is
//! collected, so one answer lists them all ([`Rejected`]), and no message ever shows the value of a secret
//! ([`is_secret`]).
//!
//! | Debezium / Kafka Connect property                       | ours                                               |
//! |---------------------------------------------------------|----------------------------------------------------|
//! | `database.hostname` `.port` `.user` `.password` `.dbname` | `postgres.host` `port` `user` `password` `dbname`  |
//! | `database.sslmode` (`allow` → `prefer`), `.sslrootcert` | `postgres.sslmode`, `postgres.sslrootcert`         |
//! | `topic.prefix` (legacy `database.server.name`)          | `events.topic_prefix`                              |
//! | `topic.delimiter`                                       | `events.topic_template` (`.` → the default)        |
//! | `slot.name`, `publication.name`                         | `source.slot_name`, `source.publication`           |
//! | `table.include.list` when every entry is a plain name   | `source.tables` (else empty: use `filters`)        |
//! | `snapshot.mode` initial, initial_only, no_data/never    | `source.snapshot_mode`                             |
//! | `snapshot.mode` when_needed, always                     | `source.snapshot_mode = initial` + `snapshot_mode_extra` |
//! | `status.update.interval.ms`                             | `source.status_interval_ms`                        |
//! | `heartbeat.interval.ms` (> 0)                           | `source.heartbeat_interval_ms` + `heartbeat`       |
//! | `*.handling.mode`, `time.precision.mode`                | `events.*_handling`, `events.time_precision`       |
//! | `tombstones.on.delete`, `provide.transaction.metadata`  | `events.tombstones`, `events.transaction_metadata` |
//! | `column.propagate.source.type`                          | `events.propagate_source_types`                    |
//! | `value.converter` / `key.converter` (+ `schemas.enable`)| `events.format` / `events.key_format`              |
//! | `*.converter.schema.registry.url`, `basic.auth.*`, `*.subject.name.strategy` | `schema_registry.*`           |
//! | `max.batch.size`, `poll.interval.ms`                    | `pipeline.batch_size`, `pipeline.poll_timeout_ms`  |
//! | `topic.creation.default.partitions` / `.replication.factor` | `kafka.topic_partitions` / `topic_replication` |
//!
//! Everything else that matters lands in [`Translated`]'s own fields. Absent Debezium properties take Debezium's
//! defaults (slot `debezium`, `sslmode=prefer`, no heartbeats), not the worker's: a configuration means what it
//! meant under Kafka Connect. Fields the connector cannot set (the Kafka cluster, sinks, admin) stay as `base`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use cdc_core::config::ConfigError;

use super::filters::split_regex_list;
use super::providers::resolve_with;
use super::{debezium, framework};
use crate::config::Config;

// The types of `Translated`'s fields, for its users (not all are named in this crate yet).
#[allow(unused_imports)]
pub use super::filters::{
    ColumnAction, ColumnPolicies, ColumnRule, Filter, FilterEntry, HashAlgorithm, HashVersion,
    MessageKeyRule, TableFilters,
};
/// Kept uninterpreted here; cdc-kafka's transform chain builds from them.
pub use cdc_kafka::transforms::{PredicateSpec, TransformSpec};

pub const POSTGRES_CONNECTOR_CLASS: &str = "io.debezium.connector.postgresql.PostgresConnector";
/// The one connector class this worker runs.
pub const CONNECTOR_CLASS: &str = POSTGRES_CONNECTOR_CLASS;
/// Debezium's defaults, where they differ from cdc's own.
pub const DEBEZIUM_SLOT_NAME: &str = "debezium";
pub const DEBEZIUM_PUBLICATION_NAME: &str = "dbz_publication";
pub const DEFAULT_HEARTBEAT_TOPICS_PREFIX: &str = "__debezium-heartbeat";
pub const DEFAULT_MAX_BATCH_SIZE: usize = 2_048;
pub const DEFAULT_MAX_QUEUE_SIZE: usize = 8_192;
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 500;
pub const DEFAULT_INCREMENTAL_SNAPSHOT_CHUNK_SIZE: usize = 1_024;

/// A connector as Kafka Connect's REST API receives it: `{"name": …, "config": {…}}`. JSON numbers and booleans
/// in `config` are kept as their text (Kafka Connect stores every value as a string); `null` means unset.
#[derive(Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "RawConnector")]
pub struct ConnectorConfig {
    pub name: String,
    pub config: BTreeMap<String, String>,
}

#[derive(serde::Deserialize)]
struct RawConnector {
    name: String,
    #[serde(default)]
    config: BTreeMap<String, serde_json::Value>,
}

impl TryFrom<RawConnector> for ConnectorConfig {
    type Error = Rejected;

    fn try_from(raw: RawConnector) -> Result<Self, Rejected> {
        ConnectorConfig::from_values(&raw.name, raw.config)
    }
}

impl ConnectorConfig {
    /// `config` as a JSON object (the body of `PUT /connectors/{name}/config`, or the `config` of a POST).
    pub fn from_json(name: &str, config: &serde_json::Value) -> Result<ConnectorConfig, Rejected> {
        match config.as_object() {
            Some(object) => {
                ConnectorConfig::from_values(name, object.iter().map(|(k, v)| (k.clone(), v.clone())))
            }
            None => Err(Rejected { errors: vec![PropertyError::new("config", "must be a JSON object")] }),
        }
    }

    /// The configuration as it may be shown (REST answers, the UI): secret values replaced by `[hidden]`,
    /// except a bare `${env:…}`/`${file:…}` reference, which names where the secret is, not the secret.
    pub fn redacted(&self) -> ConnectorConfig {
        let config = self
            .config
            .iter()
            .map(|(k, v)| {
                let reference = (v.starts_with("${env:") || v.starts_with("${file:"))
                    && v.ends_with('}')
                    && v.matches("${").count() == 1;
                let shown = if is_secret(k) && !reference { "[hidden]".to_owned() } else { v.clone() };
                (k.clone(), shown)
            })
            .collect();
        ConnectorConfig { name: self.name.clone(), config }
    }

    /// From the entries of a `config` object.
    pub fn from_values(
        name: &str,
        values: impl IntoIterator<Item = (String, serde_json::Value)>,
    ) -> Result<ConnectorConfig, Rejected> {
        let mut config = BTreeMap::new();
        let mut errors = Vec::new();
        for (key, value) in values {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Null => continue,
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                    errors.push(PropertyError::new(&key, "must be a string, a number or a boolean"));
                    continue;
                }
            };
            config.insert(key, text);
        }
        if errors.is_empty() {
            Ok(ConnectorConfig { name: name.to_owned(), config })
        } else {
            Err(Rejected { errors })
        }
    }
}

impl fmt::Debug for ConnectorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: BTreeMap<&str, String> =
            self.config.iter().map(|(k, v)| (k.as_str(), shown(k, v))).collect();
        f.debug_struct("ConnectorConfig").field("name", &self.name).field("config", &shown).finish()
    }
}

/// Whether a property holds a secret whose value is never shown: names ending in `password` or `secret`,
/// containing `.password`, `sasl.jaas.config`, or a registry's `basic.auth.user.info` (`user:password`).
pub fn is_secret(property: &str) -> bool {
    let name = property.to_ascii_lowercase();
    name.ends_with("password")
        || name.ends_with("secret")
        || name.contains(".password")
        || name.contains("sasl.jaas.config")
        || name.ends_with("user.info")
}

/// A value as messages show it: quoted, or `[hidden]` (Kafka Connect's word) for a secret.
pub(crate) fn shown(property: &str, value: &str) -> String {
    if is_secret(property) {
        "[hidden]".to_owned()
    } else {
        format!("{value:?}")
    }
}

/// One problem with one property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyError {
    pub property: String,
    pub message: String,
}

impl PropertyError {
    pub(crate) fn new(property: &str, message: impl Into<String>) -> Self {
        PropertyError { property: property.to_owned(), message: message.into() }
    }
}

impl fmt::Display for PropertyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.property, self.message)
    }
}

/// Every problem of a configuration. `Display` is Kafka Connect's 400 message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Rejected {
    pub errors: Vec<PropertyError>,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Connector configuration is invalid and contains the following {} error(s):",
            self.errors.len()
        )?;
        for error in &self.errors {
            write!(f, "\n{error}")?;
        }
        f.write_str(
            "\nYou can also find the above list of errors at the endpoint \
             `/connector-plugins/{connectorType}/config/validate`",
        )
    }
}

impl Rejected {
    /// Kafka Connect's error body: `{"error_code": 400, "message": …}`.
    pub fn connect_body(&self) -> serde_json::Value {
        serde_json::json!({ "error_code": 400, "message": self.to_string() })
    }

    /// The messages about `property`, for the validate endpoint's per-config `errors`.
    pub fn messages_for(&self, property: &str) -> Vec<&str> {
        self.errors.iter().filter(|e| e.property == property).map(|e| e.message.as_str()).collect()
    }
}

/// Debezium snapshot modes our [`SnapshotMode`] does not have; `config.source.snapshot_mode` is `Initial` with
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotModeExtra {
    /// Snapshot when no offsets exist, or when the stored position is no longer available in the slot.
    WhenNeeded,
    /// Snapshot on every start, then stream.
    Always,
}

/// `publication.autocreate.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PublicationAutocreate {
    /// The publication must exist.
    Disabled,
    /// `CREATE PUBLICATION … FOR ALL TABLES` when absent (Debezium's default).
    #[default]
    AllTables,
    /// Created for, and kept in step with, the tables the filters select.
    Filtered,
    /// Created with no tables (they are added by hand).
    NoTables,
}

/// `skipped.operations`: change types not emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkippedOperation {
    Create,
    Update,
    Delete,
    Truncate,
}

/// Debezium heartbeats: a message to [`Heartbeat::topic`] every `interval_ms` (0: none), after running
/// `action_query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    pub interval_ms: u64,
    /// `topic.heartbeat.prefix` (legacy `heartbeat.topics.prefix`).
    pub topics_prefix: String,
    /// `topic.delimiter`, which joins the heartbeat topic's parts too.
    pub delimiter: String,
    /// `heartbeat.action.query`: SQL run against the source on each heartbeat.
    pub action_query: Option<String>,
}

impl Heartbeat {
    /// The heartbeat topic of a connector whose `topic.prefix` is `topic_prefix`:
    /// `<topics_prefix><delimiter><topic.prefix>`, e.g. `__debezium-heartbeat.dbserver`.
    pub fn topic(&self, topic_prefix: &str) -> String {
        format!("{}{}{topic_prefix}", self.topics_prefix, self.delimiter)
    }
}

/// A translated connector.
#[derive(Debug, Clone)]
pub struct Translated {
    /// The pipeline configuration: `base` with every field the connector determines replaced.
    pub config: Config,
    pub filters: TableFilters,
    /// `transforms`, in order, uninterpreted.
    pub transforms: Vec<TransformSpec>,
    /// `predicates`, in declaration order, uninterpreted.
    pub predicates: Vec<PredicateSpec>,
    pub column_policies: ColumnPolicies,
    pub heartbeat: Heartbeat,
    /// `snapshot.mode` values beyond `config.source.snapshot_mode`.
    pub snapshot_mode_extra: Option<SnapshotModeExtra>,
    /// `snapshot.max.threads` (default 1).
    pub snapshot_max_threads: usize,
    pub slot_drop_on_stop: bool,
    pub publication_autocreate: PublicationAutocreate,
    /// `signal.data.collection` as `schema.table`.
    pub signal_data_collection: Option<String>,
    pub incremental_snapshot_chunk_size: usize,
    /// `skipped.operations` (Debezium's default: truncates).
    pub skipped_operations: Vec<SkippedOperation>,
    /// `errors.tolerance=all`.
    pub errors_tolerance_all: bool,
    pub errors_log_enable: bool,
    pub errors_log_include_messages: bool,
    /// `max.batch.size`, also `config.pipeline.batch_size` when set.
    pub max_batch_size: usize,
    /// `max.queue.size`: our queues are bounded by the batch; kept for the status API.
    pub max_queue_size: usize,
    /// `poll.interval.ms`, also `config.pipeline.poll_timeout_ms` when set.
    pub poll_interval_ms: u64,
    /// Accepted properties that change nothing here, each message naming its property.
    pub warnings: Vec<String>,
}

/// Translates `connector` onto `base` (the worker's configuration: Kafka cluster, sinks, admin). Values are
/// first resolved with [`resolve_providers`](super::providers::resolve_providers).
pub fn translate(connector: &ConnectorConfig, base: &Config) -> Result<Translated, Rejected> {
    translate_with(connector, base, &|name| std::env::var(name).ok())
}

/// [`translate`] with the environment given.
pub(crate) fn translate_with(
    connector: &ConnectorConfig,
    base: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Translated, Rejected> {
    let mut p = Props::default();
    for (key, value) in &connector.config {
        match resolve_with(value, env) {
            Ok(resolved) => {
                p.values.insert(key.clone(), resolved);
            }
            Err(error) => {
                p.unresolved.insert(key.clone());
                p.error(key, error.to_string());
            }
        }
    }
    let mut config = base.clone();

    debezium::connector_identity(&mut p, connector);
    debezium::database(&mut p, &mut config);
    let delimiter = debezium::topic_naming(&mut p, &mut config);
    let (slot_drop_on_stop, publication_autocreate) = debezium::replication(&mut p, &mut config);
    let filters = debezium::table_filters(&mut p);
    config.source.tables = filters.literal_tables().unwrap_or_default();
    let column_policies = debezium::column_policies(&mut p);
    let snapshot = debezium::snapshot(&mut p, &mut config);
    let skipped_operations = debezium::encoding(&mut p, &mut config);
    let heartbeat = debezium::heartbeat(&mut p, &mut config, &delimiter);
    let batching = debezium::batching(&mut p, &mut config);
    framework::converters(&mut p, &mut config, base);
    let errors = framework::error_handling(&mut p);
    let (transforms, predicates) = framework::transforms_and_predicates(&mut p);
    framework::topic_creation(&mut p, &mut config);
    framework::accepted_and_ignored(&mut p);
    framework::unknown(&mut p);

    if p.errors.is_empty() {
        validate(&mut p, &config);
    }
    if !p.errors.is_empty() {
        return Err(Rejected { errors: p.errors });
    }
    Ok(Translated {
        config,
        filters,
        transforms,
        predicates,
        column_policies,
        heartbeat,
        snapshot_mode_extra: snapshot.extra,
        snapshot_max_threads: snapshot.max_threads,
        slot_drop_on_stop,
        publication_autocreate,
        signal_data_collection: snapshot.signal_data_collection,
        incremental_snapshot_chunk_size: snapshot.chunk_size,
        skipped_operations,
        errors_tolerance_all: errors.tolerance_all,
        errors_log_enable: errors.log_enable,
        errors_log_include_messages: errors.log_include_messages,
        max_batch_size: batching.max_batch_size,
        max_queue_size: batching.max_queue_size,
        poll_interval_ms: batching.poll_interval_ms,
        warnings: p.warnings,
    })
}

/// The properties not yet read, and what reading them found.
#[derive(Default)]
pub(crate) struct Props {
    values: BTreeMap<String, String>,
    /// Properties whose `${…}` failed: already reported, and not "missing" either.
    unresolved: BTreeSet<String>,
    pub(crate) errors: Vec<PropertyError>,
    pub(crate) warnings: Vec<String>,
}

impl Props {
    /// Removes and returns a property.
    pub(crate) fn take(&mut self, name: &str) -> Option<String> {
        self.values.remove(name)
    }

    /// The names of the remaining properties that start with `prefix`.
    pub(crate) fn names_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.values.keys().filter(|k| k.starts_with(prefix)).cloned().collect()
    }

    pub(crate) fn peek(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Whether the property's `${…}` failed (it is reported; it is not missing).
    pub(crate) fn is_unresolved(&self, name: &str) -> bool {
        self.unresolved.contains(name)
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    pub(crate) fn remaining(&self) -> Vec<(String, String)> {
        self.values.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    pub(crate) fn error(&mut self, property: &str, message: impl Into<String>) {
        self.errors.push(PropertyError::new(property, message));
    }

    pub(crate) fn invalid(&mut self, property: &str, value: &str, expected: &str) {
        self.error(property, format!("invalid value {}: {expected}", shown(property, value)));
    }

    pub(crate) fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    /// A required property, or `None` after reporting it missing (unless its `${…}` already failed).
    pub(crate) fn required(&mut self, name: &str) -> Option<String> {
        let value = self.take(name).filter(|v| !v.trim().is_empty());
        if value.is_none() && !self.unresolved.contains(name) {
            self.error(name, "is required and has no default value");
        }
        value
    }

    /// A boolean (`true`/`false`, any case, as Kafka's `ConfigDef` parses them).
    pub(crate) fn take_bool(&mut self, name: &str, default: bool) -> bool {
        let Some(value) = self.take(name) else { return default };
        match value.trim().to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => {
                self.invalid(name, &value, "expected true or false");
                default
            }
        }
    }

    /// An integer within `min..=max`.
    pub(crate) fn take_int<T: TryFrom<i128> + Copy>(
        &mut self,
        name: &str,
        default: T,
        min: i128,
        max: i128,
    ) -> T {
        let Some(value) = self.take(name) else { return default };
        match value
            .trim()
            .parse::<i128>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .and_then(|n| T::try_from(n).ok())
        {
            Some(n) => n,
            None => {
                let expected = if max >= i128::from(i32::MAX) {
                    format!("expected an integer of at least {min}")
                } else {
                    format!("expected an integer from {min} to {max}")
                };
                self.invalid(name, &value, &expected);
                default
            }
        }
    }

    /// One of `choices`, compared as Debezium does (trimmed, any case).
    pub(crate) fn take_choice<T: Copy>(&mut self, name: &str, choices: &[(&str, T)], default: T) -> T {
        let Some(value) = self.take(name) else { return default };
        match choices.iter().find(|(c, _)| c.eq_ignore_ascii_case(value.trim())) {
            Some((_, choice)) => *choice,
            None => {
                let names: Vec<&str> = choices.iter().map(|(c, _)| *c).collect();
                self.invalid(name, &value, &format!("expected one of {}", names.join(", ")));
                default
            }
        }
    }

    /// A comma-separated regex list, compiled.
    pub(crate) fn take_regex_list(&mut self, name: &str) -> Option<Vec<FilterEntry>> {
        let value = self.take(name)?;
        self.compile_list(name, &value, |entry| entry.to_owned())
    }

    /// Compiles each entry of a list value after `build` (e.g. prefixing a table regex).
    pub(crate) fn compile_list(
        &mut self,
        name: &str,
        value: &str,
        build: impl Fn(&str) -> String,
    ) -> Option<Vec<FilterEntry>> {
        let entries = match split_regex_list(value) {
            Ok(entries) => entries,
            Err(reason) => {
                self.error(name, reason);
                return None;
            }
        };
        let mut compiled = Vec::with_capacity(entries.len());
        for entry in entries {
            match FilterEntry::compile(&build(&entry)) {
                Ok(e) => compiled.push(e),
                Err(e) => self.error(name, e.to_string()),
            }
        }
        Some(compiled)
    }
}

/// Runs the sections' own checks, naming the property behind the failing key.
fn validate(p: &mut Props, config: &Config) {
    let results: [Result<(), ConfigError>; 4] = [
        config.postgres.validate("postgres"),
        config.source.validate("source"),
        config.pipeline.validate("pipeline"),
        config.events.validate("events"),
    ];
    for error in results.into_iter().filter_map(Result::err) {
        let property = match error.key.as_str() {
            "postgres.host" => "database.hostname",
            "postgres.port" => "database.port",
            "postgres.dbname" => "database.dbname",
            "postgres.user" => "database.user",
            "source.slot_name" => "slot.name",
            "source.publication" => "publication.name",
            "source.tables" => "table.include.list",
            "source.status_interval_ms" => "status.update.interval.ms",
            "pipeline.batch_size" => "max.batch.size",
            "events.topic_prefix" => "topic.prefix",
            "events.topic_template" => "topic.delimiter",
            other => other,
        };
        p.error(property, error.reason);
    }
}

#[cfg(test)]
mod tests;
