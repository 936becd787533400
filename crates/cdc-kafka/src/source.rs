//! [`KafkaSource`]: change events read back from our topics by a consumer group (`cdc load`).
//!
//! ```text
//!  poll ─▶ record ─▶ EventDecoder ─▶ ChangeEvent (origin = topic/partition/offset) ─▶ batch
//!                         └─ undecodable ─▶ dead-letter topic (error in headers), delivery awaited
//!  ack(Offsets) ─▶ commit the next offsets, only after the sink made the batch durable
//! ```
//!
//! Offsets are committed manually (`enable.auto.commit=false`) and only through [`Source::ack`], which the
//! pipeline calls after the warehouse commit. The warehouse also records the offsets it applied in its own
//! transaction, so a crash between its commit and ours replays nothing twice.
//!
//! Rebalances: the pipeline flushes and acknowledges every batch before it polls again, so when partitions
//! are revoked (always inside a poll) everything applied has been committed, and the only records not yet
//! applied are those of the batch being gathered. Those of revoked partitions are dropped from it: the
//! partitions' new owner reads them from the committed offsets.
//!
//! Tombstones carry nothing a warehouse needs (the delete before them does); they and records of our own
//! side topics (dead letters, transaction metadata) are consumed and committed without producing events.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cdc_core::envelope::EventDecoder;
use cdc_core::{ChangeBatch, ChangeEvent, LogOffset, Source};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError as RdKafkaError;
use rdkafka::message::{Header, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

use crate::avro::AvroDecoder;
use crate::config::{KafkaConfig, LoadConfig};
use crate::context::{is_fatal, ConsumerWatch, WatchedContext};
use crate::sink::KafkaError;
use crate::topics::Topics;

const METADATA_REFRESH: &str = "topic.metadata.refresh.interval.ms";
const PATTERN_METADATA_REFRESH_MS: &str = "10000";

/// The next offset to read of each (topic, partition) consumed in a batch: what [`Source::ack`] commits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Offsets(pub BTreeMap<(String, i32), i64>);

/// Counters of a [`KafkaSource`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadStats {
    pub records: u64,
    pub tombstones: u64,
    pub dead_lettered: u64,
    pub commit_failures: u64,
}

/// The consumer-group source of `cdc load`. See the module doc.
pub struct KafkaSource {
    consumer: Arc<StreamConsumer<ConsumerWatch>>,
    context: ConsumerWatch,
    decoder: EventDecoder,
    dead_letters: FutureProducer,
    dead_letter_topic: String,
    topics: Topics,
    /// Our own side topics a pattern subscription also matches; their records are not change events.
    side_topics: HashSet<String>,
    stats: LoadStats,
    /// Reads Avro records (Confluent wire format) through the registry; JSON records need none.
    avro: Option<AvroDecoder>,
}

impl std::fmt::Debug for KafkaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSource").field("stats", &self.stats).finish_non_exhaustive()
    }
}

impl KafkaSource {
    /// Joins the consumer group and subscribes. `topics` are names or one `^regex`; `side_topics` are skipped.
    /// Fails with a clear error when no broker answers within `[kafka].message_timeout_ms`.
    pub async fn start(
        kafka: &KafkaConfig,
        load: &LoadConfig,
        topics: &[String],
        dead_letter_topic: String,
        side_topics: HashSet<String>,
        avro: Option<AvroDecoder>,
    ) -> Result<KafkaSource, KafkaError> {
        let context = ConsumerWatch::default();
        let mut client = consumer_config(kafka, &load.group_id, load.from_beginning);
        client.set("enable.auto.commit", "false").set("enable.auto.offset.store", "false");
        // A pattern subscription sees topics created later (a table added to capture) only at a metadata
        // refresh, every 5 minutes by default: a new table's first changes would wait that long.
        if topics.iter().any(|t| t.starts_with('^')) && !kafka.client.contains_key(METADATA_REFRESH) {
            client.set(METADATA_REFRESH, PATTERN_METADATA_REFRESH_MS);
        }
        let consumer: StreamConsumer<ConsumerWatch> =
            client.create_with_context(context.clone()).map_err(KafkaError::Config)?;
        let consumer = Arc::new(consumer);
        check_reachable(&consumer, kafka, topics).await?;
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&names).map_err(KafkaError::Config)?;
        let dead_letters: FutureProducer = kafka.producer_client().create().map_err(KafkaError::Config)?;
        let side_topic_admin = Topics::new(kafka, WatchedContext::default())?;
        tracing::info!(group = %load.group_id, ?topics, "consumer subscribed");
        Ok(KafkaSource {
            consumer,
            context,
            decoder: EventDecoder::new(),
            dead_letters,
            dead_letter_topic,
            topics: side_topic_admin,
            side_topics,
            stats: LoadStats::default(),
            avro,
        })
    }

    pub fn stats(&self) -> LoadStats {
        self.stats
    }

    /// Sends an undecodable record to the dead-letter topic and waits for the broker to take it: its offset is
    /// committed with the batch, so the record must be safe elsewhere first.
    async fn dead_letter(&mut self, message: &OwnedMessage, reason: String) -> Result<(), KafkaError> {
        let dead_letter_topic = self.dead_letter_topic.clone();
        self.topics.ensure(&dead_letter_topic).await?;
        let headers = OwnedHeaders::new()
            .insert(Header { key: "cdc.error", value: Some(reason.as_str()) })
            .insert(Header { key: "cdc.source.topic", value: Some(message.topic()) })
            .insert(Header { key: "cdc.source.partition", value: Some(&message.partition().to_string()) })
            .insert(Header { key: "cdc.source.offset", value: Some(&message.offset().to_string()) });
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(&self.dead_letter_topic).headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(payload) = message.payload() {
            record = record.payload(payload);
        }
        let topic = self.dead_letter_topic.clone();
        self.dead_letters
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(source, _)| KafkaError::Delivery { topic, source })?;
        self.stats.dead_lettered += 1;
        metrics::counter!(cdc_core::metrics::DEAD_LETTERS, "pipeline" => cdc_core::metrics::pipeline())
            .increment(1);
        tracing::warn!(
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            error = %reason,
            dead_letter_topic = %self.dead_letter_topic,
            "undecodable record sent to the dead-letter topic"
        );
        Ok(())
    }

    /// Turns one record into at most one event; undecodable ones go to the dead-letter topic.
    async fn take(&mut self, message: OwnedMessage) -> Result<Option<ChangeEvent>, KafkaError> {
        self.stats.records += 1;
        if self.side_topics.contains(message.topic()) {
            return Ok(None);
        }
        match self.decode(&message).await? {
            Ok(Some(mut event)) => {
                event.origin = Some(LogOffset {
                    topic: message.topic().into(),
                    partition: message.partition(),
                    offset: message.offset(),
                });
                Ok(Some(event))
            }
            Ok(None) => {
                self.stats.tombstones += 1;
                Ok(None)
            }
            Err(error) => {
                self.dead_letter(&message, error_chain(error.as_ref())).await?;
                Ok(None)
            }
        }
    }

    /// The record as a change event (`Ok(None)` for a tombstone); the inner error is the record's fault (it goes
    /// to the dead-letter topic), the outer one ours (a registry that cannot be reached stops the load).
    async fn decode(
        &mut self,
        message: &OwnedMessage,
    ) -> Result<Result<Option<ChangeEvent>, Box<dyn std::error::Error + Send + Sync>>, KafkaError> {
        let (key, value) = (message.key(), message.payload());
        let is_avro = [key, value].into_iter().flatten().any(AvroDecoder::is_avro);
        if !is_avro {
            return Ok(self.decoder.decode(key, value).map_err(Into::into));
        }
        let Some(avro) = self.avro.as_mut() else {
            return Err(KafkaError::Consumer {
                reason: format!(
                    "a record of {} is Avro (Confluent wire format) but no schema registry is configured \
                     ([schema_registry].url)",
                    message.topic()
                ),
            });
        };
        let Some(value) = value else { return Ok(Ok(None)) };
        // Key and value each by their own first byte: Avro keys with JSON values (or the reverse) are a valid
        // converter setup.
        let value = match Self::part(avro, "value", value).await? {
            Ok(value) => value,
            Err(e) => return Ok(Err(e)),
        };
        let key = match key.filter(|k| !k.is_empty()) {
            Some(key) => match Self::part(avro, "key", key).await? {
                Ok(key) => Some(key),
                Err(e) => return Ok(Err(e)),
            },
            None => None,
        };
        Ok(self.decoder.decode_json(key.as_ref(), &value).map_err(Into::into))
    }

    /// One key or value as JSON: Avro through the registry, else JSON text. The outer error stops the load (the
    /// registry cannot be asked, or does not know the schema: a configuration problem that would otherwise send
    /// every record to the dead-letter topic); the inner one is this record's.
    async fn part(
        avro: &mut AvroDecoder,
        part: &'static str,
        bytes: &[u8],
    ) -> Result<Result<serde_json::Value, Box<dyn std::error::Error + Send + Sync>>, KafkaError> {
        if !AvroDecoder::is_avro(bytes) {
            return Ok(serde_json::from_slice(bytes).map_err(|e| DecodePart { part, source: e }.into()));
        }
        match avro.decode(part, bytes).await {
            Ok(json) => Ok(Ok(json)),
            Err(e) if e.stops_the_load() => Err(e.into()),
            Err(e) => Ok(Err(e.into())),
        }
    }
}

/// A JSON key or value that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("the {part} is not JSON")]
struct DecodePart {
    part: &'static str,
    #[source]
    source: serde_json::Error,
}

/// An error and its causes on one line: the decoder keeps the parser's own message (line, column) as the cause.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut reason = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        reason.push_str(": ");
        reason.push_str(&inner.to_string());
        cause = inner.source();
    }
    reason
}

/// The consumer settings shared by `cdc load` and `cdc tail --from-kafka`.
pub(crate) fn consumer_config(kafka: &KafkaConfig, group: &str, from_beginning: bool) -> ClientConfig {
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", &kafka.bootstrap_servers)
        .set("group.id", group)
        .set("auto.offset.reset", if from_beginning { "earliest" } else { "latest" });
    for (key, value) in &kafka.client {
        client.set(key, value);
    }
    client
}

/// Asks the cluster for metadata (of the named topics, when they are names): an unreachable cluster, failed
/// authentication or a missing topic is reported now rather than retried forever.
async fn check_reachable(
    consumer: &Arc<StreamConsumer<ConsumerWatch>>,
    kafka: &KafkaConfig,
    topics: &[String],
) -> Result<(), KafkaError> {
    let fetching = Arc::clone(consumer);
    let timeout = Duration::from_millis(u64::from(kafka.message_timeout_ms.min(30_000)));
    let named: Vec<String> = topics.iter().filter(|t| !t.starts_with('^')).cloned().collect();
    let bootstrap = kafka.bootstrap_servers.clone();
    let missing = tokio::task::spawn_blocking(move || {
        let metadata = fetching.fetch_metadata(None, timeout)?;
        Ok::<_, RdKafkaError>(
            named
                .into_iter()
                .find(|name| !metadata.topics().iter().any(|t| t.name() == *name && t.error().is_none())),
        )
    })
    .await;
    if matches!(missing, Ok(Err(_))) {
        // The client reports why it could not connect (a failed SASL handshake, a TLS error) as events on its
        // queue, which only a poll serves; give it one so the error names the cause.
        let _ = tokio::time::timeout(Duration::from_millis(500), consumer.recv()).await;
    }
    if let Some(fatal) = consumer.context().fatal.take() {
        return Err(KafkaError::Unreachable { bootstrap, reason: fatal });
    }
    match missing {
        Ok(Ok(None)) => Ok(()),
        Ok(Ok(Some(topic))) => Err(KafkaError::MissingTopic { topic }),
        Ok(Err(e)) => Err(KafkaError::Unreachable { bootstrap, reason: e.to_string() }),
        Err(e) => Err(KafkaError::Unreachable { bootstrap, reason: e.to_string() }),
    }
}

impl Source for KafkaSource {
    type Checkpoint = Offsets;
    type Error = KafkaError;

    async fn next_batch(
        &mut self,
        max_events: usize,
        deadline: Instant,
    ) -> Result<Option<ChangeBatch<Offsets>>, KafkaError> {
        let mut events: Vec<ChangeEvent> = Vec::new();
        let mut offsets = Offsets::default();
        while events.len() < max_events {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else { break };
            let received = tokio::time::timeout(left, self.consumer.recv()).await;
            // A revocation happens inside `recv`: forget what was gathered from those partitions.
            let revoked = self.context.take_revoked();
            if !revoked.is_empty() {
                events.retain(|e| {
                    e.origin.as_ref().is_none_or(|o| !revoked.contains(&(o.topic.to_string(), o.partition)))
                });
                offsets.0.retain(|key, _| !revoked.contains(key));
            }
            if let Some(fatal) = self.context.fatal.take() {
                return Err(KafkaError::Consumer { reason: fatal });
            }
            let message = match received {
                Err(_) => break,
                Ok(Err(e)) if is_fatal(&e) => return Err(KafkaError::Consumer { reason: e.to_string() }),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "kafka consumer error; retrying");
                    continue;
                }
                Ok(Ok(message)) => message.detach(),
            };
            offsets.0.insert((message.topic().to_owned(), message.partition()), message.offset() + 1);
            if let Some(event) = self.take(message).await? {
                events.push(event);
            }
        }
        let checkpoint = (!offsets.0.is_empty()).then_some(offsets);
        Ok(Some(ChangeBatch::new(events, checkpoint)))
    }

    async fn ack(&mut self, checkpoint: Offsets) -> Result<(), KafkaError> {
        let mut list = TopicPartitionList::new();
        for ((topic, partition), next) in &checkpoint.0 {
            list.add_partition_offset(topic, *partition, Offset::Offset(*next))
                .map_err(KafkaError::Config)?;
        }
        let consumer = Arc::clone(&self.consumer);
        let committed = tokio::task::spawn_blocking(move || consumer.commit(&list, CommitMode::Sync)).await;
        match committed {
            Ok(Ok(())) => Ok(()),
            // The warehouse holds these offsets too, so a failed commit (a rebalance took the partition, the
            // coordinator moved) only means the next owner reads a few records it will skip.
            Ok(Err(e)) => {
                self.stats.commit_failures += 1;
                tracing::warn!(error = %e, offsets = ?checkpoint.0, "offset commit failed; the warehouse has them");
                Ok(())
            }
            Err(e) => Err(KafkaError::Consumer { reason: e.to_string() }),
        }
    }
}

/// How far a consumer group is behind on one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    /// The group's committed offset, `None` when it has committed nothing there.
    pub committed: Option<i64>,
    /// The partition's high watermark (the next offset to be written).
    pub end: i64,
}

impl PartitionLag {
    /// Records written and not yet committed by the group. Never negative: some brokers (tansu) report a high
    /// watermark that trails the records they already serve.
    pub fn lag(&self) -> i64 {
        (self.end - self.committed.unwrap_or(0)).max(0)
    }
}

/// The committed offsets of `group` against the end of each partition of `topics` (names); topics that do not
/// exist are left out.
pub async fn group_lag(
    kafka: &KafkaConfig,
    group: &str,
    topics: &[String],
) -> Result<Vec<PartitionLag>, KafkaError> {
    let consumer: BaseConsumer = consumer_config(kafka, group, true).create().map_err(KafkaError::Config)?;
    // Names, or `^regex` patterns as librdkafka subscribes them.
    let patterns: Vec<regex::Regex> =
        topics.iter().filter(|t| t.starts_with('^')).filter_map(|t| regex::Regex::new(t).ok()).collect();
    let topics = topics.to_vec();
    let bootstrap = kafka.bootstrap_servers.clone();
    let timeout = Duration::from_secs(10);
    tokio::task::spawn_blocking(move || {
        let unreachable =
            |e: RdKafkaError| KafkaError::Unreachable { bootstrap: bootstrap.clone(), reason: e.to_string() };
        // All topics: asking for one by name lets a broker with auto-creation on create it.
        let metadata = consumer.fetch_metadata(None, timeout).map_err(unreachable)?;
        let mut list = TopicPartitionList::new();
        for t in metadata.topics().iter().filter(|t| {
            t.error().is_none()
                && (topics.iter().any(|n| n == t.name()) || patterns.iter().any(|p| p.is_match(t.name())))
        }) {
            for p in t.partitions() {
                list.add_partition(t.name(), p.id());
            }
        }
        let committed = consumer.committed_offsets(list, timeout).map_err(unreachable)?;
        committed
            .elements()
            .iter()
            .map(|e| {
                let (_, end) =
                    consumer.fetch_watermarks(e.topic(), e.partition(), timeout).map_err(unreachable)?;
                let committed = match e.offset() {
                    Offset::Offset(n) => Some(n),
                    _ => None,
                };
                Ok(PartitionLag { topic: e.topic().to_owned(), partition: e.partition(), committed, end })
            })
            .collect()
    })
    .await
    .map_err(|e| KafkaError::Consumer { reason: e.to_string() })?
}
