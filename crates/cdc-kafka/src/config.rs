//! `[kafka]`: the cluster and the producer (environment `KAFKA_BOOTSTRAP_SERVERS`).

use std::collections::BTreeMap;

pub const DEFAULT_BOOTSTRAP: &str = "localhost:9092";
pub const DEFAULT_COMPRESSION: &str = "lz4";
pub const DEFAULT_LINGER_MS: u32 = 5;
pub const DEFAULT_MESSAGE_TIMEOUT_MS: u32 = 60_000;
pub const DEFAULT_PARTITIONS: i32 = 1;
pub const DEFAULT_REPLICATION: i32 = 1;
pub const DEFAULT_MAX_IN_FLIGHT: usize = 100_000;

/// Producer settings. Everything librdkafka knows (SASL, SSL, batching) passes through `client`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// `bootstrap.servers` (`KAFKA_BOOTSTRAP_SERVERS`).
    pub bootstrap_servers: String,
    /// `compression.type`: lz4 (default), zstd, snappy, gzip or none.
    pub compression: String,
    /// `linger.ms`: how long the producer waits to fill a batch.
    pub linger_ms: u32,
    /// `message.timeout.ms`: a delivery not acknowledged by then fails the flush (and the pipeline).
    pub message_timeout_ms: u32,
    /// Create missing topics with these settings; with `create_topics = false` they must exist.
    pub create_topics: bool,
    pub topic_partitions: i32,
    pub topic_replication: i32,
    /// Messages awaiting a delivery report before `write` waits (backpressure).
    pub max_in_flight: usize,
    /// Extra librdkafka properties, e.g. `"security.protocol" = "SASL_SSL"`, `"sasl.mechanism" = "SCRAM-SHA-512"`.
    /// Values of keys containing `password`, `secret` or `key` are never printed.
    pub client: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            bootstrap_servers: DEFAULT_BOOTSTRAP.into(),
            compression: DEFAULT_COMPRESSION.into(),
            linger_ms: DEFAULT_LINGER_MS,
            message_timeout_ms: DEFAULT_MESSAGE_TIMEOUT_MS,
            create_topics: true,
            topic_partitions: DEFAULT_PARTITIONS,
            topic_replication: DEFAULT_REPLICATION,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            client: BTreeMap::new(),
        }
    }
}

impl serde::Serialize for KafkaConfig {
    /// Printed by `cdc config check`: secrets in `client` are redacted.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let client: BTreeMap<&str, &str> = self
            .client
            .iter()
            .map(|(k, v)| {
                let secret = ["password", "secret", "key"].iter().any(|w| k.contains(w));
                (k.as_str(), if secret { "***" } else { v.as_str() })
            })
            .collect();
        let mut st = s.serialize_struct("KafkaConfig", 9)?;
        st.serialize_field("bootstrap_servers", &self.bootstrap_servers)?;
        st.serialize_field("compression", &self.compression)?;
        st.serialize_field("linger_ms", &self.linger_ms)?;
        st.serialize_field("message_timeout_ms", &self.message_timeout_ms)?;
        st.serialize_field("create_topics", &self.create_topics)?;
        st.serialize_field("topic_partitions", &self.topic_partitions)?;
        st.serialize_field("topic_replication", &self.topic_replication)?;
        st.serialize_field("max_in_flight", &self.max_in_flight)?;
        st.serialize_field("client", &client)?;
        st.end()
    }
}

impl KafkaConfig {
    /// The librdkafka properties of the producer.
    pub fn producer_properties(&self) -> Vec<(String, String)> {
        let mut props = vec![
            ("bootstrap.servers".to_owned(), self.bootstrap_servers.clone()),
            // Idempotence: no duplicates or reordering from producer retries; implies acks=all.
            ("enable.idempotence".to_owned(), "true".to_owned()),
            ("acks".to_owned(), "all".to_owned()),
            ("compression.type".to_owned(), self.compression.clone()),
            ("linger.ms".to_owned(), self.linger_ms.to_string()),
            ("message.timeout.ms".to_owned(), self.message_timeout_ms.to_string()),
        ];
        props.extend(self.client.iter().map(|(k, v)| (k.clone(), v.clone())));
        props
    }

    /// [`KafkaConfig::producer_properties`] as a librdkafka client configuration.
    pub(crate) fn producer_client(&self) -> rdkafka::config::ClientConfig {
        let mut client = rdkafka::config::ClientConfig::new();
        for (key, value) in self.producer_properties() {
            client.set(key, value);
        }
        client
    }
}

pub const DEFAULT_GROUP_ID: &str = "cdc-load";

/// `[load]`: the consumer group of `cdc load` (environment `KAFKA_GROUP_ID`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadConfig {
    /// `group.id`: loaders in one group share the partitions.
    pub group_id: String,
    /// Topics to read: names, or one `^regex`. Empty: every topic the `[events]` topic template can produce.
    pub topics: Vec<String>,
    /// Where undecodable records go; `None` means `{topic_prefix}.dlq`.
    pub dead_letter_topic: Option<String>,
    /// Where a group without committed offsets starts: the oldest record (true, the default) or new ones only.
    pub from_beginning: bool,
}

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            group_id: DEFAULT_GROUP_ID.into(),
            topics: Vec::new(),
            dead_letter_topic: None,
            from_beginning: true,
        }
    }
}

/// A subscription regex matching every topic `[events].topic_template` can name (librdkafka's `^` form).
/// Literal parts are bracketed (`[.]`) rather than backslash-escaped: librdkafka's regex engine is small.
pub fn topic_pattern(events: &cdc_core::envelope::EnvelopeConfig) -> String {
    let literal = |text: &str| -> String {
        text.chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_string() } else { format!("[{c}]") })
            .collect()
    };
    let mut pattern = String::from("^");
    let mut rest = events.template();
    while let Some(start) = rest.find('{') {
        pattern.push_str(&literal(&rest[..start]));
        let Some(end) = rest[start..].find('}') else { break };
        match &rest[start..start + end + 1] {
            "{prefix}" => pattern.push_str(&literal(&events.topic_prefix)),
            _ => pattern.push_str(".+"),
        }
        rest = &rest[start + end + 1..];
    }
    pattern.push_str(&literal(rest));
    pattern.push('$');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;
    use cdc_core::envelope::EnvelopeConfig;

    #[test]
    fn the_pattern_follows_the_topic_template() {
        let mut events = EnvelopeConfig::default();
        assert_eq!(topic_pattern(&events), "^cdc[.].+[.].+$");
        events.topic_template = Some("{prefix}.{table}".into());
        events.topic_prefix = "db-1".into();
        assert_eq!(topic_pattern(&events), "^db[-]1[.].+$");
    }
}
