//! [`KafkaSink`]: one topic per table, primary-key keys, Debezium envelope values, tombstones after deletes.
//!
//! Delivery: the producer is idempotent with `acks=all`, so the broker neither loses nor duplicates what it
//! acknowledged, and per-partition order is the send order (a row's changes share a key, hence a partition).
//! `flush` awaits the delivery report of every message written since the last flush; the pipeline acknowledges
//! the source only after that, so the slot never passes a message the cluster did not take. A message the broker
//! refuses (too large, authorization, a timeout) fails the flush with the topic named: the pipeline stops rather
//! than skip data.
//!
//! An update that changes the key is sent as Debezium sends it: a delete of the old key (and its tombstone),
//! then a create of the new key, with `__debezium.newkey` / `__debezium.oldkey` headers.
//!
//! A truncate (no key) goes to every partition of its topic, so that in each partition it comes after all
//! older changes: a consumer applying partitions at different paces (our `cdc load`) never sees a pre-truncate
//! row after the truncate that removed it. Debezium sends it once; consumers that apply it get duplicates that
//! change nothing.

use std::collections::VecDeque;
use std::time::Duration;

use cdc_core::envelope::{now_ms, Envelope, EventFormat};
use cdc_core::{ChangeBatch, ChangeEvent, Op, Sink, SinkError};
use rdkafka::error::{KafkaError as RdKafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

use crate::avro::{AvroEncoder, AvroError, Shape};
use crate::config::KafkaConfig;
use crate::context::WatchedContext;
use crate::topics::Topics;
use crate::transactions::{Marker, TransactionTracker};
use crate::transforms::{Chain, Record};

/// A failure of the Kafka sink.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("invalid Kafka client configuration")]
    Config(#[source] RdKafkaError),
    #[error("cannot create topic {topic} on Kafka at {bootstrap}: {reason}")]
    CreateTopic { topic: String, bootstrap: String, reason: String },
    #[error("topic {topic} does not exist and [kafka].create_topics is false")]
    MissingTopic { topic: String },
    #[error("the Kafka broker did not accept a message for topic {topic}")]
    Delivery {
        topic: String,
        #[source]
        source: RdKafkaError,
    },
    #[error("the Kafka producer dropped a message for topic {topic} before its delivery report")]
    Canceled { topic: String },
    #[error("cannot reach Kafka at {bootstrap}: {reason}")]
    Unreachable { bootstrap: String, reason: String },
    #[error("the Kafka consumer failed: {reason}")]
    Consumer { reason: String },
    #[error(transparent)]
    Avro(#[from] AvroError),
    #[error("a transform failed: {0}")]
    Transform(String),
}

impl KafkaError {
    /// What the operator should do.
    pub fn hint(&self) -> Option<String> {
        Some(
            match self {
                KafkaError::Config(_) => "check the [kafka] settings and the librdkafka properties in [kafka.client]",
                KafkaError::CreateTopic { .. } => {
                    "check KAFKA_BOOTSTRAP_SERVERS ([kafka].bootstrap_servers), that the brokers are reachable, and \
                     that this client may create topics (or create them and set [kafka].create_topics = false)"
                }
                KafkaError::MissingTopic { .. } => {
                    "create the topic, or set [kafka].create_topics = true to let cdc create it"
                }
                KafkaError::Unreachable { .. } => {
                    "check KAFKA_BOOTSTRAP_SERVERS ([kafka].bootstrap_servers), that the brokers are up, and the \
                     security settings in [kafka.client] (security.protocol, sasl.*, ssl.*)"
                }
                KafkaError::Consumer { .. } => {
                    "check the security settings in [kafka.client], the ACLs of this consumer group, and that the \
                     topics exist; no offset past the last warehouse commit was committed, so a restart resumes there"
                }
                KafkaError::Avro(AvroError::Incompatible { .. }) => {
                    "the table's new shape breaks the subject's compatibility rule, so nothing with it was sent and \
                     PostgreSQL was not acknowledged past it: make the change compatible (add columns with a default \
                     or nullable, widen rather than change types), or relax the subject's rule \
                     (PUT /config/{subject}), then restart"
                }
                KafkaError::Avro(AvroError::Registry(e)) => return e.hint(),
                KafkaError::Transform(_) => {
                    "the record did not fit the transform's configuration (a field it names is missing, a value \
                     it cannot convert); fix the transforms.* properties; nothing after this record was \
                     acknowledged to PostgreSQL"
                }
                KafkaError::Avro(_) => {
                    "the schema registry's schemas and the messages disagree: check [schema_registry].url points at the \
                     registry the producer used"
                }
                KafkaError::Delivery { .. } | KafkaError::Canceled { .. } => {
                    "check the broker's logs and limits (message.max.bytes, ACLs); nothing after this message was \
                     acknowledged to PostgreSQL, so a restart resumes from it"
                }
            }
            .to_owned(),
        )
    }
}

/// A message sent and not yet confirmed.
struct InFlight {
    topic: String,
    delivery: DeliveryFuture,
    sent: std::time::Instant,
}

/// The Kafka producer sink. See the module doc.
pub struct KafkaSink {
    producer: FutureProducer<WatchedContext>,
    topics: Topics,
    envelope: Envelope,
    config: KafkaConfig,
    in_flight: VecDeque<InFlight>,
    /// With `transaction_metadata`: the `{prefix}.transaction` topic and the transaction being framed.
    transactions: Option<(String, TransactionTracker)>,
    /// With `format = "avro"` (or `key_format`): the registry and the schemas registered so far.
    avro: Option<AvroEncoder>,
    /// Single message transforms every record goes through before it is serialized (`transforms=`).
    transforms: Option<Chain>,
    /// Operations not sent at all (Debezium's `skipped.operations`; its default skips truncates).
    skipped: Vec<Op>,
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("bootstrap_servers", &self.config.bootstrap_servers)
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

impl KafkaSink {
    /// `avro`: required when the envelope's format (or key format) is Avro.
    pub fn new(
        config: KafkaConfig,
        envelope: Envelope,
        avro: Option<AvroEncoder>,
    ) -> Result<KafkaSink, KafkaError> {
        let context = WatchedContext::default();
        let producer: FutureProducer<WatchedContext> =
            config.producer_client().create_with_context(context.clone()).map_err(KafkaError::Config)?;
        let topics = Topics::new(&config, context)?;
        let transactions = envelope.config().transaction_metadata.then(|| {
            let topic = format!("{}.transaction", envelope.config().topic_prefix);
            (topic, TransactionTracker::new(envelope.config().key_format(), envelope.config().format))
        });
        Ok(KafkaSink {
            producer,
            topics,
            envelope,
            config,
            in_flight: VecDeque::new(),
            transactions,
            avro,
            transforms: None,
            skipped: Vec::new(),
        })
    }

    /// Sends no message for these operations (`skipped.operations`); snapshot reads cannot be skipped.
    pub fn skipping(mut self, ops: impl IntoIterator<Item = Op>) -> Self {
        self.skipped = ops.into_iter().filter(|op| *op != Op::Read).collect();
        self
    }

    /// Runs every record through `chain` (Kafka Connect's SMTs) before it is serialized.
    pub fn with_transforms(mut self, chain: Chain) -> Self {
        self.transforms = (!chain.is_empty()).then_some(chain);
        self
    }

    /// Sends one message, waiting for room when the producer's queue or the in-flight bound is full.
    async fn send(
        &mut self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: Option<OwnedHeaders>,
    ) -> Result<(), KafkaError> {
        loop {
            if self.in_flight.len() >= self.config.max_in_flight {
                self.await_oldest().await?;
            }
            let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic);
            if let Some(key) = key {
                record = record.key(key);
            }
            if let Some(value) = value {
                record = record.payload(value);
            }
            if let Some(partition) = partition {
                record = record.partition(partition);
            }
            if let Some(headers) = &headers {
                record = record.headers(headers.clone());
            }
            match self.producer.send_result(record) {
                Ok(delivery) => {
                    let sent = std::time::Instant::now();
                    self.in_flight.push_back(InFlight { topic: topic.to_owned(), delivery, sent });
                    return Ok(());
                }
                Err((RdKafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    if self.in_flight.is_empty() {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    } else {
                        self.await_oldest().await?;
                    }
                }
                Err((source, _)) => return Err(KafkaError::Delivery { topic: topic.to_owned(), source }),
            }
        }
    }

    /// Sends transaction markers to the transaction topic (created like any other).
    async fn send_markers(&mut self, markers: Vec<Marker>) -> Result<(), KafkaError> {
        let Some((topic, _)) = &self.transactions else { return Ok(()) };
        let topic = topic.clone();
        for marker in markers {
            self.topics.ensure(&topic).await?;
            let (key_schema, key_payload, value_schema, value_payload) = marker.parts();
            let config = self.envelope.config();
            let (avro_key, avro_value) =
                (config.key_format() == EventFormat::Avro, config.format == EventFormat::Avro);
            let key = match self.avro.as_mut() {
                Some(avro) if avro_key => {
                    avro.encode(&topic, true, Shape::Transaction, &key_schema, key_payload).await?
                }
                _ => marker.key.clone(),
            };
            let value = match self.avro.as_mut() {
                Some(avro) if avro_value => {
                    avro.encode(&topic, false, Shape::Transaction, &value_schema, value_payload).await?
                }
                _ => marker.value.clone(),
            };
            self.send(&topic, None, Some(&key), Some(&value), None).await?;
        }
        Ok(())
    }

    async fn await_oldest(&mut self) -> Result<(), KafkaError> {
        let Some(InFlight { topic, delivery, sent }) = self.in_flight.pop_front() else { return Ok(()) };
        let pipeline = cdc_core::metrics::pipeline();
        let result = match delivery.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err((source, _))) => Err(KafkaError::Delivery { topic, source }),
            Err(_) => Err(KafkaError::Canceled { topic }),
        };
        match &result {
            // Awaited in send order, so this is an upper bound on the message's own delivery latency.
            Ok(()) => metrics::histogram!(cdc_core::metrics::KAFKA_PRODUCE_LATENCY, "pipeline" => pipeline)
                .record(sent.elapsed().as_secs_f64()),
            Err(_) => metrics::counter!(cdc_core::metrics::KAFKA_PRODUCE_ERRORS, "pipeline" => pipeline)
                .increment(1),
        }
        result
    }
}

fn sink_error(e: KafkaError) -> SinkError {
    SinkError::Other(Box::new(e))
}

/// Debezium's headers on the two halves of a key change: each names the other key.
const NEW_KEY_HEADER: &str = "__debezium.newkey";
const OLD_KEY_HEADER: &str = "__debezium.oldkey";

impl KafkaSink {
    /// Sends one change event (and the tombstone after a delete) keyed by its own key.
    async fn send_event(
        &mut self,
        topic: &str,
        event: &ChangeEvent,
        header: Option<(&str, &[u8])>,
    ) -> Result<(), KafkaError> {
        if let Some((_, tracker)) = &mut self.transactions {
            tracker.count(event);
        }
        let key = self.key_bytes(topic, event).await?;
        let value = self.value_bytes(topic, event).await?;
        let headers =
            header.map(|(name, value)| OwnedHeaders::new().insert(Header { key: name, value: Some(value) }));
        self.send(topic, None, key.as_deref(), Some(&value), headers).await?;
        if self.envelope.emits_tombstone(event) && key.is_some() {
            self.send(topic, None, key.as_deref(), None, None).await?;
        }
        Ok(())
    }

    /// The message key in the configured key format; `None` as for [`Envelope::key`].
    async fn key_bytes(&mut self, topic: &str, event: &ChangeEvent) -> Result<Option<Vec<u8>>, KafkaError> {
        let avro = self.avro.as_mut().filter(|_| self.envelope.config().key_format() == EventFormat::Avro);
        let Some(avro) = avro else { return Ok(self.envelope.key_bytes(event)) };
        let Some((Some(schema), payload)) = self.envelope.key_parts(event) else { return Ok(None) };
        let shape = Shape::Table(event.schema.id.clone(), event.schema.version);
        Ok(Some(avro.encode(topic, true, shape, schema, &payload).await?))
    }

    /// The message value in the configured format.
    async fn value_bytes(&mut self, topic: &str, event: &ChangeEvent) -> Result<Vec<u8>, KafkaError> {
        let avro = self.avro.as_mut().filter(|_| self.envelope.config().format == EventFormat::Avro);
        let Some(avro) = avro else { return Ok(self.envelope.value_bytes(event)) };
        let (schema, payload) = self.envelope.value_parts_at(event, now_ms());
        let schema = schema.ok_or(KafkaError::Avro(AvroError::NoSchema))?;
        let shape = Shape::Table(event.schema.id.clone(), event.schema.version);
        Ok(avro.encode(topic, false, shape, schema, &payload).await?)
    }

    /// An update that changes the row's key, as Debezium sends it: a delete of the old key (with its tombstone)
    /// and a create of the new one, each in its key's partition, so both keys keep their order. `None` when the
    /// key did not change.
    fn split_key_change(
        &mut self,
        event: &ChangeEvent,
    ) -> Option<(ChangeEvent, ChangeEvent, Vec<u8>, Vec<u8>)> {
        if event.op != Op::Update {
            return None;
        }
        let delete = ChangeEvent { op: Op::Delete, after: None, ..event.clone() };
        let old_key = self.envelope.key_bytes(&delete)?;
        let new_key = self.envelope.key_bytes(event)?;
        if old_key == new_key {
            return None;
        }
        let create = ChangeEvent { op: Op::Insert, before: None, ..event.clone() };
        Some((delete, create, old_key, new_key))
    }
}

/// The transformed path: every message becomes a [`Record`] of Connect schemas and payloads, goes through the
/// chain, and is serialized in the configured format afterwards (what a Connect worker does with a source
/// connector's records).
impl KafkaSink {
    /// The records of one event as the untransformed path would send them: the event (with an optional header)
    /// and, after a delete, its tombstone.
    fn records_of(&mut self, topic: &str, event: &ChangeEvent, header: Option<(&str, &[u8])>) -> Vec<Record> {
        let timestamp_ms = now_ms();
        let (key_schema, key) = match self.envelope.key_parts(event) {
            Some((schema, key)) => (schema.cloned(), Some(key)),
            None => (None, None),
        };
        let (value_schema, value) = self.envelope.value_parts_at(event, timestamp_ms);
        let value_schema = value_schema.cloned();
        let headers =
            header.map(|(name, value)| vec![(name.to_owned(), Some(value.to_vec()))]).unwrap_or_default();
        let record = Record {
            topic: topic.to_owned(),
            key_schema,
            key,
            value_schema,
            value: Some(value),
            headers,
            timestamp_ms,
        };
        let mut records = vec![record.clone()];
        if self.envelope.emits_tombstone(event) && record.key.is_some() {
            records.push(Record { value_schema: None, value: None, headers: Vec::new(), ..record });
        }
        records
    }

    /// Transforms and sends one record; a truncate (`to_every_partition`) goes to every partition of the topic
    /// the transforms route it to.
    async fn emit(&mut self, record: Record, to_every_partition: bool) -> Result<(), KafkaError> {
        let record = match self.transforms.as_mut() {
            Some(chain) => match chain.apply(record).map_err(|e| KafkaError::Transform(e.to_string()))? {
                Some(record) => record,
                None => return Ok(()),
            },
            None => record,
        };
        let partitions = self.topics.ensure(&record.topic).await?;
        let key = self.serialize(&record, true).await?;
        let value = self.serialize(&record, false).await?;
        let headers = (!record.headers.is_empty()).then(|| {
            record.headers.iter().fold(OwnedHeaders::new(), |headers, (name, value)| {
                headers.insert(Header { key: name, value: value.as_deref() })
            })
        });
        if to_every_partition {
            for partition in 0..partitions {
                self.send(&record.topic, Some(partition), key.as_deref(), value.as_deref(), headers.clone())
                    .await?;
            }
            Ok(())
        } else {
            self.send(&record.topic, None, key.as_deref(), value.as_deref(), headers).await
        }
    }

    /// A record's key or value in the configured format.
    async fn serialize(&mut self, record: &Record, is_key: bool) -> Result<Option<Vec<u8>>, KafkaError> {
        let (schema, payload, format) = if is_key {
            (&record.key_schema, &record.key, self.envelope.config().key_format())
        } else {
            (&record.value_schema, &record.value, self.envelope.config().format)
        };
        let Some(payload) = payload else { return Ok(None) };
        let bytes = match (format, schema, self.avro.as_mut()) {
            (EventFormat::Avro, Some(schema), Some(avro)) => {
                let shape = Shape::Transformed(schema.to_string());
                avro.encode(&record.topic, is_key, shape, schema, payload).await?
            }
            (EventFormat::Avro, _, _) => return Err(KafkaError::Avro(AvroError::NoSchema)),
            // JsonConverter with schemas.enable writes the wrapper even for a record without a schema.
            (EventFormat::JsonSchema, schema, _) => {
                serde_json::json!({ "schema": schema, "payload": payload }).to_string().into_bytes()
            }
            _ => payload.to_string().into_bytes(),
        };
        Ok(Some(bytes))
    }

    async fn write_transformed(&mut self, event: &ChangeEvent) -> Result<(), KafkaError> {
        if let Some((_, tracker)) = &mut self.transactions {
            let markers = tracker.before_event(event);
            self.send_markers_transformed(markers).await?;
        }
        let topic = self.envelope.topic(&event.schema.id);
        let mut records = Vec::new();
        if event.op == Op::Truncate {
            records.extend(self.records_of(&topic, event, None).into_iter().map(|r| (r, true)));
            self.count_in_transaction(event);
        } else if let Some((delete, create, old_key, new_key)) = self.split_key_change(event) {
            self.count_in_transaction(&delete);
            self.count_in_transaction(&create);
            records.extend(
                self.records_of(&topic, &delete, Some((NEW_KEY_HEADER, &new_key)))
                    .into_iter()
                    .map(|r| (r, false)),
            );
            records.extend(
                self.records_of(&topic, &create, Some((OLD_KEY_HEADER, &old_key)))
                    .into_iter()
                    .map(|r| (r, false)),
            );
        } else {
            self.count_in_transaction(event);
            records.extend(self.records_of(&topic, event, None).into_iter().map(|r| (r, false)));
        }
        for (record, every_partition) in records {
            self.emit(record, every_partition).await?;
        }
        Ok(())
    }

    fn count_in_transaction(&mut self, event: &ChangeEvent) {
        if let Some((_, tracker)) = &mut self.transactions {
            tracker.count(event);
        }
    }

    async fn send_markers_transformed(&mut self, markers: Vec<Marker>) -> Result<(), KafkaError> {
        let Some((topic, _)) = &self.transactions else { return Ok(()) };
        let topic = topic.clone();
        let with_schemas = |format: EventFormat| format.has_schema();
        for marker in markers {
            let (key_schema, key, value_schema, value) = marker.parts();
            let record = Record {
                topic: topic.clone(),
                key_schema: with_schemas(self.envelope.config().key_format()).then_some(key_schema),
                key: Some(key.clone()),
                value_schema: with_schemas(self.envelope.config().format).then_some(value_schema),
                value: Some(value.clone()),
                headers: Vec::new(),
                timestamp_ms: now_ms(),
            };
            self.emit(record, false).await?;
        }
        Ok(())
    }
}

impl Sink for KafkaSink {
    async fn write<C: Send + Sync>(&mut self, batch: &ChangeBatch<C>) -> Result<(), SinkError> {
        if self.transforms.is_some() {
            for event in &batch.events {
                if self.skipped.contains(&event.op) {
                    continue;
                }
                self.write_transformed(event).await.map_err(sink_error)?;
            }
            if let Some((_, tracker)) = &mut self.transactions {
                let end = tracker.after_batch(batch).into_iter().collect();
                self.send_markers_transformed(end).await.map_err(sink_error)?;
            }
            return Ok(());
        }
        for event in &batch.events {
            if self.skipped.contains(&event.op) {
                continue;
            }
            if let Some((_, tracker)) = &mut self.transactions {
                let markers = tracker.before_event(event);
                self.send_markers(markers).await.map_err(sink_error)?;
            }
            let topic = self.envelope.topic(&event.schema.id);
            let partitions = self.topics.ensure(&topic).await.map_err(sink_error)?;
            if event.op == Op::Truncate {
                // A truncate has no key. Sent to one partition it could overtake, or be overtaken by, older
                // changes in the others; sent to every partition it follows everything before it in each.
                if let Some((_, tracker)) = &mut self.transactions {
                    tracker.count(event);
                }
                let value = self.value_bytes(&topic, event).await.map_err(sink_error)?;
                for partition in 0..partitions {
                    self.send(&topic, Some(partition), None, Some(&value), None).await.map_err(sink_error)?;
                }
            } else if let Some((delete, create, old_key, new_key)) = self.split_key_change(event) {
                self.send_event(&topic, &delete, Some((NEW_KEY_HEADER, &new_key)))
                    .await
                    .map_err(sink_error)?;
                self.send_event(&topic, &create, Some((OLD_KEY_HEADER, &old_key)))
                    .await
                    .map_err(sink_error)?;
            } else {
                self.send_event(&topic, event, None).await.map_err(sink_error)?;
            }
        }
        if let Some((_, tracker)) = &mut self.transactions {
            let end = tracker.after_batch(batch).into_iter().collect();
            self.send_markers(end).await.map_err(sink_error)?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        while !self.in_flight.is_empty() {
            self.await_oldest().await.map_err(sink_error)?;
        }
        Ok(())
    }
}
