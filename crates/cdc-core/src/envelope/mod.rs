//! The Debezium JSON envelope: [`Envelope`] turns a [`ChangeEvent`] into the Kafka key and value that
//! Debezium's PostgreSQL connector with Kafka Connect's `JsonConverter` would produce, so existing consumers,
//! the Snowflake Kafka connector and Debezium's own tooling read our topics unchanged.
//!
//! ```text
//!  ChangeEvent ──▶ Envelope::key / value ──▶ serde_json::Value (or bytes) ──▶ Kafka sink, `cdc tail`
//!                      │
//!                      └─ per (table, schema version): one FieldCodec per column (value.rs), and in
//!                         json-schema format the Connect schemas (schema.rs), built once and cached
//! ```
//!
//! The value is `{before, after, source, op, ts_ms, transaction}`:
//! - `before`/`after`: rows as objects in column order, each cell encoded per Debezium's type mapping
//!   (`value.rs`).
//! - `source`: `version`, `connector` (`postgresql`), `name` (the topic prefix), `ts_ms` (commit time),
//!   `snapshot`, `db`, `sequence` (`["<commit lsn>","<event lsn>"]` as a JSON string, LSNs in decimal),
//!   `schema`, `table`, `txId`, `lsn` (decimal) and `xmin` (always null).
//! - `op`: `c`, `u`, `d`, `r` (snapshot) or `t` (truncate); `ts_ms`: when the event was encoded.
//! - `transaction`: null, or `{id: "<txId>:<commit lsn>", total_order, data_collection_order}` when
//!   `transaction_metadata` is on and the event was streamed (snapshot rows belong to no transaction).
//!
//! The key is the key columns as an object (`{"id": 1}`); truncates and tables without key columns have none.
//! Where Debezium's behaviour is unclear or not copied, `value.rs` says so. In json-schema format each column
//! schema also carries Debezium's `column.propagate.source.type` parameters (`propagate_source_types`,
//! `schema.rs`), so that a reader can rebuild the PostgreSQL column types.
//!
//! [`EventDecoder`] (`decode.rs`) runs all of this backwards for `cdc load`: Kafka records, ours or
//! Debezium's, back into [`ChangeEvent`]s, with what cannot come back exactly listed there.

mod config;
mod decimal;
mod decode;
mod schema;
mod temporal;
mod value;
mod write;

#[cfg(test)]
mod tests;

use rustc_hash::FxHashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value as J};

pub use config::{
    BinaryHandling, DecimalHandling, EnvelopeConfig, EventFormat, HstoreHandling, IntervalHandling,
    TimePrecision, DEFAULT_PROPAGATE_SOURCE_TYPES, DEFAULT_TOMBSTONES, DEFAULT_TOPIC_PREFIX,
    DEFAULT_TOPIC_TEMPLATE, DEFAULT_TRANSACTION_METADATA, UNAVAILABLE_VALUE_PLACEHOLDER,
};
pub use decode::{DecodeError, EventDecoder};

use self::value::FieldCodec;
use crate::change::{ChangeEvent, Op, Row, SnapshotMarker};
use crate::schema::{ReplicaIdentity, TableId, TableSchema};
use crate::value::Value;

/// `source.version`.
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// `source.connector`.
const CONNECTOR: &str = "postgresql";

/// Encodes change events as Debezium JSON for one source database.
///
/// Per-table encoders are cached by (table, schema version); a new version of a table replaces the old one,
/// so the cache holds one entry per table. Events of an older version arriving after a newer one (not
/// something a single stream produces) are still encoded correctly, at the cost of a rebuild.
#[derive(Debug)]
pub struct Envelope {
    config: EnvelopeConfig,
    database: String,
    /// Per table: the schema version encoded and its encoder.
    /// Fx, not SipHash: looked up two or three times per event, by names the user configured.
    tables: FxHashMap<TableId, (u32, TableEncoding)>,
    /// `source` parts that are the same for every event (for the byte writer).
    rendered: write::RenderedSource,
}

/// Everything about a table's shape that encoding needs, built once per schema version.
#[derive(Debug)]
struct TableEncoding {
    codecs: Vec<FieldCodec>,
    /// Indices of the key columns, in column order.
    key_columns: Vec<usize>,
    /// The envelope schema, when values carry it.
    value_schema: Option<SchemaJson>,
    /// The key schema, when keys carry it and the table has a key.
    key_schema: Option<SchemaJson>,
    /// Column names and the table's `source` fields as JSON bytes (for the byte writer).
    rendered: write::Rendered,
}

/// A Connect schema as JSON, and pre-serialized for the byte encoders.
#[derive(Debug)]
struct SchemaJson {
    json: J,
    text: String,
}

impl SchemaJson {
    fn new(json: J) -> Self {
        let text = json.to_string();
        SchemaJson { json, text }
    }

    /// `{"schema": …, "payload": …}`.
    fn wrap(&self, payload: J) -> J {
        json!({ "schema": self.json.clone(), "payload": payload })
    }
}

impl Envelope {
    /// An encoder for changes of `database` (`source.db`).
    pub fn new(config: EnvelopeConfig, database: impl Into<String>) -> Self {
        let database = database.into();
        let rendered = write::RenderedSource::new(&config.topic_prefix, &database);
        Envelope { config, database, tables: FxHashMap::default(), rendered }
    }

    pub fn config(&self) -> &EnvelopeConfig {
        &self.config
    }

    /// The topic of a table: the template with `{prefix}`, `{schema}` and `{table}` filled in, and any
    /// character Kafka does not allow in topic names replaced by `_` (as Debezium's topic naming does).
    pub fn topic(&self, table: &TableId) -> String {
        topic_of(&self.config, table)
    }

    /// Whether a tombstone should follow this event's value (a delete, with `tombstones` on).
    pub fn emits_tombstone(&self, event: &ChangeEvent) -> bool {
        self.config.tombstones && event.op == Op::Delete
    }

    /// The message key: the key columns of the event's key row; `None` for a truncate, for a table without
    /// key columns, or when the event carries no row to take the key from.
    pub fn key(&mut self, event: &ChangeEvent) -> Option<J> {
        let wrap = self.config.key_format() == EventFormat::JsonSchema;
        let table = self.encoding(&event.schema);
        let payload = key_payload(table, event)?;
        Some(match (&table.key_schema, wrap) {
            (Some(schema), true) => schema.wrap(payload),
            _ => payload,
        })
    }

    /// [`Envelope::key`] serialized (written straight to bytes, `write.rs`).
    pub fn key_bytes(&mut self, event: &ChangeEvent) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(64);
        self.write_key(event, &mut out).then_some(out)
    }

    /// The key's Connect schema (when the key format has schemas) and payload, for encoders of their own
    /// (Avro); `None` as for [`Envelope::key`].
    pub fn key_parts(&mut self, event: &ChangeEvent) -> Option<(Option<&J>, J)> {
        let table = self.encoding(&event.schema);
        let payload = key_payload(table, event)?;
        Some((table.key_schema.as_ref().map(|s| &s.json), payload))
    }

    /// The value's Connect schema (when the format has schemas) and payload, for encoders of their own (Avro).
    pub fn value_parts_at(&mut self, event: &ChangeEvent, ts_ms: i64) -> (Option<&J>, J) {
        let payload = self.payload(event, ts_ms);
        let schema = self.encoding(&event.schema).value_schema.as_ref().map(|s| &s.json);
        (schema, payload)
    }

    /// The message value, with the envelope's `ts_ms` set to now.
    pub fn value(&mut self, event: &ChangeEvent) -> J {
        self.value_at(event, now_ms())
    }

    /// The message value with an explicit envelope `ts_ms` (milliseconds since the epoch): a sink encoding a
    /// batch reads the clock once, and tests get stable output.
    pub fn value_at(&mut self, event: &ChangeEvent, ts_ms: i64) -> J {
        let payload = self.payload(event, ts_ms);
        let value = match &self.encoding(&event.schema).value_schema {
            Some(schema) => schema.wrap(payload),
            None => payload,
        };
        // Every envelope test goes through here: each also checks that the byte writer, which the sinks use,
        // writes exactly this value.
        #[cfg(test)]
        {
            assert_eq!(
                String::from_utf8(self.value_bytes_at(event, ts_ms)).unwrap_or_default(),
                value.to_string(),
                "the byte writer and the Value path disagree"
            );
            let key = self.key(event).map(|k| k.to_string());
            assert_eq!(self.key_bytes(event).map(|k| String::from_utf8(k).unwrap_or_default()), key);
        }
        value
    }

    /// [`Envelope::value`] serialized.
    pub fn value_bytes(&mut self, event: &ChangeEvent) -> Vec<u8> {
        self.value_bytes_at(event, now_ms())
    }

    /// [`Envelope::value_at`] serialized, written straight to bytes (`write.rs`); in json-schema format the
    /// cached schema text is spliced in.
    pub fn value_bytes_at(&mut self, event: &ChangeEvent, ts_ms: i64) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        self.write_value(event, ts_ms, &mut out);
        out
    }

    /// The encoder for this table version, built on first use; a new version replaces the table's old one.
    fn encoding(&mut self, schema: &TableSchema) -> &TableEncoding {
        table_encoding(&mut self.tables, &self.config, schema)
    }

    /// The envelope itself, without the schema wrapper.
    fn payload(&mut self, event: &ChangeEvent, ts_ms: i64) -> J {
        let source = self.source_block(event);
        let transaction = self.transaction_block(event);
        let table = self.encoding(&event.schema);
        let (before, after) = match event.op {
            Op::Truncate => (J::Null, J::Null),
            _ => {
                // Without REPLICA IDENTITY FULL an old image carries the key only: its other cells are missing,
                // not null.
                let key_only = event.schema.replica_identity != ReplicaIdentity::Full;
                (
                    row_json(table, event, event.before.as_ref(), key_only),
                    row_json(table, event, event.after.as_ref(), false),
                )
            }
        };
        let mut out = Map::with_capacity(6);
        out.insert("before".into(), before);
        out.insert("after".into(), after);
        out.insert("source".into(), source);
        out.insert("op".into(), J::from(event.op.code()));
        out.insert("ts_ms".into(), J::from(ts_ms));
        out.insert("transaction".into(), transaction);
        J::Object(out)
    }

    fn source_block(&self, event: &ChangeEvent) -> J {
        let commit_lsn = event.tx.commit_lsn.as_u64();
        let lsn = event.lsn.as_u64();
        let mut out = Map::with_capacity(12);
        out.insert("version".into(), J::from(VERSION));
        out.insert("connector".into(), J::from(CONNECTOR));
        out.insert("name".into(), J::from(self.config.topic_prefix.as_str()));
        out.insert("ts_ms".into(), J::from(event.tx.commit_time_micros.div_euclid(1_000)));
        out.insert("snapshot".into(), J::from(event.snapshot.code()));
        out.insert("db".into(), J::from(self.database.as_str()));
        out.insert("sequence".into(), J::from(format!("[\"{commit_lsn}\",\"{lsn}\"]")));
        out.insert("schema".into(), J::from(event.schema.id.schema.as_str()));
        out.insert("table".into(), J::from(event.schema.id.name.as_str()));
        out.insert("txId".into(), J::from(event.tx.xid));
        out.insert("lsn".into(), J::from(lsn));
        out.insert("xmin".into(), J::Null);
        J::Object(out)
    }

    fn transaction_block(&self, event: &ChangeEvent) -> J {
        if !self.config.transaction_metadata || event.snapshot != SnapshotMarker::No {
            return J::Null;
        }
        json!({
            "id": format!("{}:{}", event.tx.xid, event.tx.commit_lsn.as_u64()),
            "total_order": event.tx.total_order,
            "data_collection_order": event.tx.table_order,
        })
    }
}

/// See [`Envelope::topic`].
fn topic_of(config: &EnvelopeConfig, table: &TableId) -> String {
    config
        .template()
        .replace("{prefix}", &config.topic_prefix)
        .replace("{schema}", &table.schema)
        .replace("{table}", &table.name)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect()
}

/// [`Envelope::encoding`] over the fields it needs, so that callers can borrow the envelope's other fields.
fn table_encoding<'a>(
    tables: &'a mut FxHashMap<TableId, (u32, TableEncoding)>,
    config: &EnvelopeConfig,
    schema: &TableSchema,
) -> &'a TableEncoding {
    // Looked up by reference first: this runs for every key and value, and the entry API would clone the
    // table's name each time.
    let current = tables.get(&schema.id).is_some_and(|slot| slot.0 == schema.version);
    if !current {
        tables.insert(schema.id.clone(), (schema.version, TableEncoding::build(config, schema)));
    }
    match tables.get(&schema.id) {
        Some(slot) => &slot.1,
        None => unreachable!("the encoding of {} was inserted just above", schema.id),
    }
}

impl TableEncoding {
    fn build(config: &EnvelopeConfig, table: &TableSchema) -> Self {
        let codecs: Vec<FieldCodec> =
            table.columns.iter().map(|c| FieldCodec::for_column(c, config)).collect();
        let key_columns: Vec<usize> = table.key_columns().map(|(i, _)| i).collect();
        let prefix = &config.topic_prefix;
        let propagate = config.propagate_source_types;
        let value_schema = config
            .format
            .has_schema()
            .then(|| SchemaJson::new(schema::envelope_schema(prefix, table, &codecs, propagate).to_json()));
        let key_schema = (config.key_format().has_schema() && !key_columns.is_empty()).then(|| {
            SchemaJson::new(schema::key_schema(prefix, table, &codecs, &key_columns, propagate).to_json())
        });
        let rendered = write::Rendered::new(table, &topic_of(config, &table.id));
        TableEncoding { codecs, key_columns, value_schema, key_schema, rendered }
    }
}

/// A row as an object of the schema's column names in order; missing trailing cells are null. In a key-only
/// image, a NOT NULL column's missing cell gets Debezium's fallback value (a required field cannot be null).
fn row_json(table: &TableEncoding, event: &ChangeEvent, row: Option<&Row>, key_only: bool) -> J {
    let Some(row) = row else {
        return J::Null;
    };
    let object = event
        .schema
        .columns
        .iter()
        .zip(&table.codecs)
        .enumerate()
        .map(|(i, (column, codec))| {
            let value = row.get(i).unwrap_or(&Value::Null);
            let cell = match value {
                Value::Null if key_only && !column.key => codec.encode_required(value, column.nullable),
                value => codec.encode(value),
            };
            (column.name.clone(), cell)
        })
        .collect();
    J::Object(object)
}

fn key_payload(table: &TableEncoding, event: &ChangeEvent) -> Option<J> {
    if event.op == Op::Truncate || table.key_columns.is_empty() {
        return None;
    }
    let row = event.key_row()?;
    let object = table
        .key_columns
        .iter()
        .filter_map(|&i| {
            let column = event.schema.columns.get(i)?;
            let codec = table.codecs.get(i)?;
            Some((column.name.clone(), codec.encode(row.get(i).unwrap_or(&Value::Null))))
        })
        .collect();
    Some(J::Object(object))
}

/// Milliseconds since the epoch: the envelope's `ts_ms`, and the time of records built around it.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
