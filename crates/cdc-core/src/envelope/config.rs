//! [`EnvelopeConfig`]: how change events are named and encoded (`[envelope]` in `cdc.toml`).
//!
//! Every option mirrors a Debezium PostgreSQL connector property, spelled the way Debezium spells its values,
//! so a connector configuration can be translated line by line:
//!
//! | ours                     | Debezium                          |
//! |--------------------------|-----------------------------------|
//! | `topic_prefix`           | `topic.prefix`                    |
//! | `topic_template`         | a `RegexRouter` transform         |
//! | `format`                 | `JsonConverter` `schemas.enable`  |
//! | `decimal_handling`       | `decimal.handling.mode`           |
//! | `time_precision`         | `time.precision.mode`             |
//! | `binary_handling`        | `binary.handling.mode`            |
//! | `interval_handling`      | `interval.handling.mode`          |
//! | `hstore_handling`        | `hstore.handling.mode`            |
//! | `tombstones`             | `tombstones.on.delete`            |
//! | `transaction_metadata`   | `provide.transaction.metadata`    |
//! | `propagate_source_types` | `column.propagate.source.type=.*` |

use crate::config::ConfigError;

pub const DEFAULT_TOPIC_PREFIX: &str = "cdc";
pub const DEFAULT_TOPIC_TEMPLATE: &str = "{prefix}.{schema}.{table}";
pub const DEFAULT_TOMBSTONES: bool = true;
pub const DEFAULT_TRANSACTION_METADATA: bool = false;
/// On by default (Debezium's default is off): without the source types, a consumer reading our topics back
/// (`cdc load`) cannot tell `numeric` sent as a double from `float8`, or `bytea` sent as base64 from `text`.
pub const DEFAULT_PROPAGATE_SOURCE_TYPES: bool = true;
/// Debezium's default `unavailable.value.placeholder`: what an unchanged TOASTed column carries on the wire.
pub const UNAVAILABLE_VALUE_PLACEHOLDER: &str = "__debezium_unavailable_value";

/// The placeholders a topic template may use.
const TEMPLATE_PLACEHOLDERS: [&str; 3] = ["{prefix}", "{schema}", "{table}"];

/// Whether each Kafka message carries its Kafka Connect schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventFormat {
    /// The bare payload (`JsonConverter` with `schemas.enable=false`).
    #[default]
    Json,
    /// `{"schema": …, "payload": …}` (`JsonConverter` with `schemas.enable=true`).
    JsonSchema,
    /// Confluent's Avro wire format with the schema in a registry (`AvroConverter`); the Connect schema of
    /// json-schema, translated to Avro by cdc-avro.
    Avro,
}

impl EventFormat {
    /// Whether messages in this format are built from Connect schemas (json-schema carries them inline, Avro
    /// registers their translation).
    pub fn has_schema(self) -> bool {
        matches!(self, EventFormat::JsonSchema | EventFormat::Avro)
    }
}

/// How NUMERIC, DECIMAL and MONEY columns are encoded (`decimal.handling.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DecimalHandling {
    /// Kafka Connect `Decimal` (base64 of the unscaled two's-complement value), or Debezium's
    /// `VariableScaleDecimal` for a NUMERIC without declared scale. Exact.
    #[default]
    Precise,
    /// The decimal as text. Exact.
    String,
    /// A JSON number (IEEE double): loses digits beyond ~17 significant ones.
    Double,
}

/// How time and timestamp columns are encoded (`time.precision.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimePrecision {
    /// Milliseconds for precisions up to 3, microseconds above (Debezium's `io.debezium.time.*` types).
    #[default]
    Adaptive,
    /// Like `adaptive`, but `time` columns are always microseconds (`MicroTime`).
    AdaptiveTimeMicroseconds,
    /// Kafka Connect's built-in `Date`/`Time`/`Timestamp`: milliseconds, sub-millisecond digits are lost.
    Connect,
}

/// How BYTEA columns are encoded (`binary.handling.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BinaryHandling {
    /// Connect `bytes`, which `JsonConverter` writes as standard base64 text.
    #[default]
    Bytes,
    /// A `string` of standard base64 (with padding).
    Base64,
    /// A `string` of URL-safe base64 (with padding, as Java's `Base64.getUrlEncoder()`).
    Base64UrlSafe,
    /// A `string` of lower-case hexadecimal.
    Hex,
}

/// How INTERVAL columns are encoded (`interval.handling.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IntervalHandling {
    /// `io.debezium.time.MicroDuration`: microseconds, a month counted as 30.4375 days (365.25 / 12).
    #[default]
    Numeric,
    /// `io.debezium.time.Interval`: ISO 8601 text such as `P1Y2M3DT4H5M6.78S`. Exact.
    String,
}

/// How HSTORE columns are encoded (`hstore.handling.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HstoreHandling {
    /// `io.debezium.data.Json`: a string holding a JSON object.
    #[default]
    Json,
    /// A Connect `map` of string to optional string: a nested JSON object.
    Map,
}

/// Naming and encoding of Debezium-compatible change events.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnvelopeConfig {
    /// Logical server name (Debezium `topic.prefix`): `source.name`, the first part of schema names such as
    /// `cdc.public.customers.Value`, and `{prefix}` in the topic template.
    pub topic_prefix: String,
    /// Topic name with the placeholders `{prefix}`, `{schema}` and `{table}`; `None` means
    /// `{prefix}.{schema}.{table}`. The seed stack's `cdc.<table>` topics are `"cdc.{table}"`.
    pub topic_template: Option<String>,
    /// Bare JSON, or JSON with the Kafka Connect `{schema, payload}` wrapper.
    pub format: EventFormat,
    /// The format of message keys; `None` means the same as `format`. The seed stack sends keys without a
    /// schema and values with one (`key_format = "json"`, `format = "json-schema"`).
    pub key_format: Option<EventFormat>,
    pub decimal_handling: DecimalHandling,
    pub time_precision: TimePrecision,
    pub binary_handling: BinaryHandling,
    pub interval_handling: IntervalHandling,
    pub hstore_handling: HstoreHandling,
    /// Whether a delete is followed by a tombstone (a null value with the same key) so that log compaction
    /// can drop the key. Not used by the encoder itself; sinks read it.
    pub tombstones: bool,
    /// Whether the value's `transaction` block (`id`, `total_order`, `data_collection_order`) is filled.
    pub transaction_metadata: bool,
    /// Whether each column's Connect schema (value and key, json-schema format) carries Debezium's
    /// `column.propagate.source.type` parameters: `__debezium.source.column.type` (the PostgreSQL type name,
    /// upper case) and, where the column declares them, `…length` and `…scale`. They let a consumer rebuild the
    /// exact PostgreSQL column type, which the Connect type alone does not determine.
    pub propagate_source_types: bool,
}

impl Default for EnvelopeConfig {
    fn default() -> Self {
        EnvelopeConfig {
            topic_prefix: DEFAULT_TOPIC_PREFIX.into(),
            topic_template: None,
            format: EventFormat::default(),
            key_format: None,
            decimal_handling: DecimalHandling::default(),
            time_precision: TimePrecision::default(),
            binary_handling: BinaryHandling::default(),
            interval_handling: IntervalHandling::default(),
            hstore_handling: HstoreHandling::default(),
            tombstones: DEFAULT_TOMBSTONES,
            transaction_metadata: DEFAULT_TRANSACTION_METADATA,
            propagate_source_types: DEFAULT_PROPAGATE_SOURCE_TYPES,
        }
    }
}

impl EnvelopeConfig {
    /// The topic template in force.
    pub fn template(&self) -> &str {
        self.topic_template.as_deref().unwrap_or(DEFAULT_TOPIC_TEMPLATE)
    }

    /// The format of message keys in force.
    pub fn key_format(&self) -> EventFormat {
        self.key_format.unwrap_or(self.format)
    }

    /// Checks the values serde cannot; `path` is the section's key path (`envelope`).
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        let prefix_ok = !self.topic_prefix.is_empty()
            && self.topic_prefix.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !prefix_ok {
            return Err(ConfigError::invalid(
                format!("{path}.topic_prefix"),
                "must be non-empty and use only a-z, A-Z, 0-9, '.', '_' and '-' (Kafka's topic characters)",
            ));
        }
        if let Some(template) = &self.topic_template {
            let mut rest = template.clone();
            for placeholder in TEMPLATE_PLACEHOLDERS {
                rest = rest.replace(placeholder, "");
            }
            if rest.contains('{') || rest.contains('}') {
                return Err(ConfigError::invalid(
                    format!("{path}.topic_template"),
                    format!(
                        "{template:?} has an unknown placeholder; use {{prefix}}, {{schema}} and {{table}}"
                    ),
                ));
            }
        }
        Ok(())
    }
}
