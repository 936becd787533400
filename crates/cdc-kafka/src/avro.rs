//! Avro on Kafka (`[events] format = "avro"`): messages in Confluent's wire format with their schemas in a
//! Confluent-compatible registry, as Debezium with `AvroConverter` writes them.
//!
//! ```text
//!  producer: Envelope::{key,value}_parts ─▶ Connect schema + JSON payload
//!              ─▶ first time per (topic, table version, key|value): Avro schema, compatibility check, register
//!              ─▶ datum ─▶ 0x00 + schema id + Avro binary
//!  consumer: 0x00 + id ─▶ writer schema by id (cached) ─▶ Connect schema + JSON payload ─▶ EventDecoder
//! ```
//!
//! A schema the subject's compatibility rule refuses stops the sink before any message with it is sent: the
//! topic never holds a record its readers cannot read, and the source is not acknowledged past it.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;

use cdc_avro::datum::Decoder;
use cdc_avro::registry::{CompatibilityCheck, RegistryClient, RegistryError, SchemaId, SubjectNameStrategy};
use cdc_avro::schema::AvroSchema;
use cdc_core::schema::TableId;
use serde_json::{json, Value as J};

/// A failure to encode or decode Avro.
#[derive(Debug, thiserror::Error)]
pub enum AvroError {
    #[error("schema registry: {0}")]
    Registry(#[from] RegistryError),
    #[error("the new schema of subject {subject} is not compatible with its registered versions: {reasons}")]
    Incompatible { subject: String, reasons: String },
    #[error("cannot encode {what} as Avro")]
    Encode {
        what: String,
        #[source]
        source: cdc_avro::AvroError,
    },
    #[error("cannot decode an Avro {part} (schema id {id}, {stage})")]
    Decode {
        part: &'static str,
        id: u32,
        stage: DecodeStage,
        #[source]
        source: cdc_avro::AvroError,
    },
    #[error("the envelope built no Connect schema to translate (format is not avro)")]
    NoSchema,
    #[error("the {part} is not in Confluent's Avro wire format")]
    Wire {
        part: &'static str,
        #[source]
        source: cdc_avro::wire::WireError,
    },
}

impl AvroError {
    /// The registry could not be asked (down, unreachable, refusing our credentials), or does not know a schema
    /// id, or holds a writer schema we cannot read: the configuration is wrong (another registry than the
    /// producer's?), not the record. Loading stops instead of dead-lettering every record.
    pub fn stops_the_load(&self) -> bool {
        matches!(self, AvroError::Registry(_) | AvroError::Decode { stage: DecodeStage::Schema, .. })
    }
}

/// Where decoding failed: reading the writer schema, or the record's bytes against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeStage {
    Schema,
    Datum,
}

impl std::fmt::Display for DecodeStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DecodeStage::Schema => "its writer schema",
            DecodeStage::Datum => "the record's bytes",
        })
    }
}

/// What the producer registered for one shape of one topic's keys or values.
#[derive(Debug)]
struct Registered {
    id: SchemaId,
    avro: AvroSchema,
}

/// Which schema a message uses: a version of a table, or the transaction topic's fixed one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Shape {
    Table(TableId, u32),
    Transaction,
    Heartbeat,
    /// After transforms: whatever schema they produced, by its text.
    Transformed(String),
}

/// The producer side: registers each new schema once and writes the wire format.
#[derive(Debug)]
pub struct AvroEncoder {
    registry: Arc<RegistryClient>,
    strategy: SubjectNameStrategy,
    registered: HashMap<(String, bool, Shape), Registered>,
}

impl AvroEncoder {
    pub fn new(registry: Arc<RegistryClient>, strategy: SubjectNameStrategy) -> Self {
        AvroEncoder { registry, strategy, registered: HashMap::new() }
    }

    /// `payload` under `connect` (its Connect schema) as one message body for `topic`.
    pub(crate) async fn encode(
        &mut self,
        topic: &str,
        is_key: bool,
        shape: Shape,
        connect: &J,
        payload: &J,
    ) -> Result<Vec<u8>, AvroError> {
        let Registered { id, avro } = match self.registered.entry((topic.to_owned(), is_key, shape)) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => {
                new.insert(register(&self.registry, &self.strategy, topic, is_key, connect).await?)
            }
        };
        let mut out = Vec::with_capacity(128);
        cdc_avro::wire::write_header(id.0, &mut out);
        cdc_avro::datum::encode(avro, connect, payload, &mut out).map_err(|source| AvroError::Encode {
            what: format!("a {} of topic {topic}", if is_key { "key" } else { "value" }),
            source,
        })?;
        Ok(out)
    }
}

/// Translates, checks and registers a new schema (or finds it registered already).
async fn register(
    registry: &RegistryClient,
    strategy: &SubjectNameStrategy,
    topic: &str,
    is_key: bool,
    connect: &J,
) -> Result<Registered, AvroError> {
    let part = if is_key { "key" } else { "value" };
    let avro = cdc_avro::schema::from_connect(connect).map_err(|source| AvroError::Encode {
        what: format!("the {part} schema of topic {topic}"),
        source,
    })?;
    let subject = strategy.subject(topic, is_key, &avro.full_name());
    if let CompatibilityCheck::Incompatible { messages } =
        registry.check_compatibility(&subject, &avro.text).await?
    {
        return Err(AvroError::Incompatible { subject, reasons: messages.join("; ") });
    }
    let id = registry.register(&subject, &avro.text).await?;
    tracing::info!(%subject, id = id.0, "schema registered");
    Ok(Registered { id, avro })
}

/// The consumer side: Avro records back into the `{schema, payload}` form of json-schema.
#[derive(Debug)]
pub struct AvroDecoder {
    registry: Arc<RegistryClient>,
    /// Writer schemas by id, compiled, with the Connect schema they translate back to.
    schemas: HashMap<u32, (Decoder, J)>,
}

impl AvroDecoder {
    pub fn new(registry: Arc<RegistryClient>) -> Self {
        AvroDecoder { registry, schemas: HashMap::new() }
    }

    /// Whether a message body is in Confluent's wire format (JSON never starts with a zero byte).
    pub fn is_avro(bytes: &[u8]) -> bool {
        bytes.first() == Some(&0)
    }

    /// One message body as `{"schema": <Connect schema>, "payload": …}`.
    pub async fn decode(&mut self, part: &'static str, bytes: &[u8]) -> Result<J, AvroError> {
        let (id, datum) = cdc_avro::wire::split(bytes).map_err(|source| AvroError::Wire { part, source })?;
        let (decoder, connect) = match self.schemas.entry(id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => new.insert(writer_schema(&self.registry, part, id).await?),
        };
        let payload = decoder.decode(datum).map_err(|source| AvroError::Decode {
            part,
            id,
            stage: DecodeStage::Datum,
            source,
        })?;
        Ok(json!({ "schema": connect, "payload": payload }))
    }
}

/// A writer schema fetched by id, compiled, and its Connect schema.
async fn writer_schema(
    registry: &RegistryClient,
    part: &'static str,
    id: u32,
) -> Result<(Decoder, J), AvroError> {
    let text = registry.schema_by_id(SchemaId(id)).await?;
    let invalid = |source| AvroError::Decode { part, id, stage: DecodeStage::Schema, source };
    let avro: J = serde_json::from_str(&text)
        .map_err(|e| invalid(cdc_avro::AvroError::invalid_schema(e.to_string())))?;
    let decoder = Decoder::new(&avro).map_err(invalid)?;
    let connect = decoder.connect_schema().map_err(invalid)?;
    Ok((decoder, connect))
}
