//! Confluent Schema Registry: a client for any compatible registry, the compatibility rules, and an embedded
//! registry that keeps its schemas in PostgreSQL.
//!
//! ```text
//!  KafkaSink ──▶ RegistryClient ──HTTP──▶ Confluent | Redpanda | Karapace | Apicurio (ccompat)
//!                (client.rs)       └────▶ the embedded registry: server.rs (axum routes, Confluent's bodies and
//!                                         error codes) ──▶ store.rs (PostgreSQL tables, one advisory lock
//!                                         around every write) ──▶ compat.rs (BACKWARD/FORWARD/FULL checks)
//!                                         schema_text.rs: parsing, and which texts are the same schema
//! ```
//!
//! Ids are global and immutable: the same schema text (after normalization) gets the same id under every
//! subject, which is why a client may cache id → schema forever. Versions number the schemas of one subject,
//! from 1. See <https://docs.confluent.io/platform/current/schema-registry/develop/api.html>.

pub mod client;
pub mod compat;
mod error;
pub mod schema_text;
pub mod server;
pub mod store;

use std::fmt;
use std::str::FromStr;

pub use client::{CompatibilityCheck, RegistryClient, RegistryConfig};
pub use compat::{check, Incompatible};
pub use error::{RegistryError, Retry};
pub use server::router;
pub use store::{SchemaStore, StoreError};

/// The media type of every request and response body of the Schema Registry API.
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// A schema's global id: what the Confluent wire format carries after the magic byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SchemaId(pub u32);

impl fmt::Display for SchemaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The version of a schema within one subject, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Version(pub u32);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Which earlier schemas a new schema of a subject must be compatible with, and in which direction.
///
/// Backward: consumers on the new schema read data written with the old one (upgrade consumers first).
/// Forward: consumers on the old schema read data written with the new one (upgrade producers first).
/// Full: both. Transitive levels check every earlier version, the others only the latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compatibility {
    /// Confluent's default.
    #[default]
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
    None,
}

impl Compatibility {
    pub const ALL: [Compatibility; 7] = [
        Compatibility::Backward,
        Compatibility::BackwardTransitive,
        Compatibility::Forward,
        Compatibility::ForwardTransitive,
        Compatibility::Full,
        Compatibility::FullTransitive,
        Compatibility::None,
    ];

    /// The name Confluent uses (`BACKWARD_TRANSITIVE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Compatibility::Backward => "BACKWARD",
            Compatibility::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Compatibility::Forward => "FORWARD",
            Compatibility::ForwardTransitive => "FORWARD_TRANSITIVE",
            Compatibility::Full => "FULL",
            Compatibility::FullTransitive => "FULL_TRANSITIVE",
            Compatibility::None => "NONE",
        }
    }

    /// The new schema must read data written with the old ones.
    pub fn backward(self) -> bool {
        matches!(
            self,
            Compatibility::Backward
                | Compatibility::BackwardTransitive
                | Compatibility::Full
                | Compatibility::FullTransitive
        )
    }

    /// The old schemas must read data written with the new one.
    pub fn forward(self) -> bool {
        matches!(
            self,
            Compatibility::Forward
                | Compatibility::ForwardTransitive
                | Compatibility::Full
                | Compatibility::FullTransitive
        )
    }

    /// Every earlier version is checked, not only the latest.
    pub fn transitive(self) -> bool {
        matches!(
            self,
            Compatibility::BackwardTransitive
                | Compatibility::ForwardTransitive
                | Compatibility::FullTransitive
        )
    }
}

impl fmt::Display for Compatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A compatibility level name that is none of Confluent's seven.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid compatibility level {0:?}: valid values are NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, \
     FORWARD_TRANSITIVE, FULL and FULL_TRANSITIVE"
)]
pub struct InvalidCompatibility(pub String);

impl FromStr for Compatibility {
    type Err = InvalidCompatibility;

    /// Case-insensitive, as Confluent accepts `backward` as well as `BACKWARD`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Compatibility::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| InvalidCompatibility(s.to_owned()))
    }
}

/// How a topic's keys and values map to registry subjects: Confluent's `key.subject.name.strategy` and
/// `value.subject.name.strategy`. Serde accepts the short names and Confluent's class names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum SubjectNameStrategy {
    /// `{topic}-key` / `{topic}-value`: one schema history per topic (Confluent's default).
    #[default]
    #[serde(alias = "io.confluent.kafka.serializers.subject.TopicNameStrategy")]
    TopicNameStrategy,
    /// The record's full name: one history per record type, shared by every topic that carries it.
    #[serde(alias = "io.confluent.kafka.serializers.subject.RecordNameStrategy")]
    RecordNameStrategy,
    /// `{topic}-{record full name}`: several record types in one topic, each with its own history.
    #[serde(alias = "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy")]
    TopicRecordNameStrategy,
}

impl SubjectNameStrategy {
    /// The subject under which the key (`is_key`) or value schema named `record_full_name` of `topic` is
    /// registered.
    pub fn subject(self, topic: &str, is_key: bool, record_full_name: &str) -> String {
        match self {
            SubjectNameStrategy::TopicNameStrategy => {
                format!("{topic}-{}", if is_key { "key" } else { "value" })
            }
            SubjectNameStrategy::RecordNameStrategy => record_full_name.to_owned(),
            SubjectNameStrategy::TopicRecordNameStrategy => format!("{topic}-{record_full_name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_name_strategy_appends_key_or_value_to_the_topic() {
        let s = SubjectNameStrategy::TopicNameStrategy;
        assert_eq!(s.subject("db.public.users", true, "db.public.users.Key"), "db.public.users-key");
        assert_eq!(s.subject("db.public.users", false, "db.public.users.Envelope"), "db.public.users-value");
    }

    #[test]
    fn record_strategies_use_the_record_full_name() {
        assert_eq!(SubjectNameStrategy::RecordNameStrategy.subject("t", false, "a.b.Value"), "a.b.Value");
        assert_eq!(SubjectNameStrategy::TopicRecordNameStrategy.subject("t", true, "a.b.Key"), "t-a.b.Key");
    }

    #[test]
    fn strategies_deserialize_from_short_and_confluent_class_names() {
        let short: SubjectNameStrategy = serde_json::from_str("\"RecordNameStrategy\"").unwrap();
        let class: SubjectNameStrategy =
            serde_json::from_str("\"io.confluent.kafka.serializers.subject.TopicRecordNameStrategy\"")
                .unwrap();
        assert_eq!(short, SubjectNameStrategy::RecordNameStrategy);
        assert_eq!(class, SubjectNameStrategy::TopicRecordNameStrategy);
    }

    #[test]
    fn compatibility_levels_round_trip_as_confluent_names_in_any_case() {
        for level in Compatibility::ALL {
            let json = serde_json::to_string(&level).unwrap();
            assert_eq!(json, format!("\"{}\"", level.as_str()));
            assert_eq!(serde_json::from_str::<Compatibility>(&json).unwrap(), level);
            assert_eq!(level.as_str().to_lowercase().parse::<Compatibility>().unwrap(), level);
        }
        assert_eq!(Compatibility::default(), Compatibility::Backward);
        assert!("SIDEWAYS".parse::<Compatibility>().is_err());
    }
}
