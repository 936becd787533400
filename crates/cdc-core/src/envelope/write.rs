//! The envelope written straight to bytes: the hot path of every JSON sink (Kafka, JSON lines).
//!
//! Building a `serde_json::Value` first costs an ordered map per row, per `source` block and per envelope, with a
//! copy of every column name and of every constant string, then a second walk to serialize it. Here the constant
//! parts are rendered once per table (column names as `"name":`, the table's part of `source`), and only the cells
//! go through `serde_json` (one small value each). The bytes are the same as serializing
//! [`Envelope::value_at`]; every envelope test checks that (see `value_at`).

use super::value::write_integer;
use super::{table_encoding, Envelope, TableEncoding, CONNECTOR, VERSION};
use crate::change::{ChangeEvent, Op, Row, SnapshotMarker, TxInfo};
use crate::lsn::Lsn;
use crate::schema::{ReplicaIdentity, TableId, TableSchema};
use crate::value::Value;

/// The constant parts of every event of one envelope: `source` up to its `"ts_ms":`, and `source.db`.
#[derive(Debug)]
pub(super) struct RenderedSource {
    source_head: Vec<u8>,
    database: Vec<u8>,
    snapshot_tail: Option<SnapshotTail>,
}

/// The rest of `source` for the last snapshot row written. Snapshot rows share their position and time, so a
/// table's rows repeat it but for the marker: rendered once, not five integers per row.
#[derive(Debug)]
struct SnapshotTail {
    table: TableId,
    marker: SnapshotMarker,
    tx: TxInfo,
    lsn: Lsn,
    bytes: Vec<u8>,
}

impl SnapshotTail {
    fn fits(&self, event: &ChangeEvent) -> bool {
        self.marker == event.snapshot
            && self.lsn == event.lsn
            && self.tx.xid == event.tx.xid
            && self.tx.commit_lsn == event.tx.commit_lsn
            && self.tx.commit_time_micros == event.tx.commit_time_micros
            && self.table == event.schema.id
    }
}

impl RenderedSource {
    pub(super) fn new(topic_prefix: &str, database: &str) -> RenderedSource {
        let mut source_head = b"{\"version\":".to_vec();
        source_head.extend(json_string(VERSION));
        source_head.extend_from_slice(b",\"connector\":");
        source_head.extend(json_string(CONNECTOR));
        source_head.extend_from_slice(b",\"name\":");
        source_head.extend(json_string(topic_prefix));
        source_head.extend_from_slice(b",\"ts_ms\":");
        RenderedSource { source_head, database: json_string(database), snapshot_tail: None }
    }
}

/// The pre-rendered constant parts of one table's events.
#[derive(Debug)]
pub(super) struct Rendered {
    /// `"column":` per column, escaped.
    names: Vec<Box<[u8]>>,
    /// `,"schema":"…","table":"…"` of the `source` block.
    table_source: Box<[u8]>,
    /// The table's topic as a JSON string.
    topic: Box<[u8]>,
}

impl Rendered {
    pub(super) fn new(table: &TableSchema, topic: &str) -> Rendered {
        let names = table
            .columns
            .iter()
            .map(|c| {
                let mut name = json_string(&c.name);
                name.push(b':');
                name.into_boxed_slice()
            })
            .collect();
        let mut table_source = b",\"schema\":".to_vec();
        table_source.extend(json_string(&table.id.schema));
        table_source.extend_from_slice(b",\"table\":");
        table_source.extend(json_string(&table.id.name));
        Rendered {
            names,
            table_source: table_source.into_boxed_slice(),
            topic: json_string(topic).into_boxed_slice(),
        }
    }
}

fn json_string(text: &str) -> Vec<u8> {
    // Serializing a &str cannot fail.
    serde_json::to_vec(text).unwrap_or_default()
}

impl Envelope {
    /// Appends the event's topic ([`Envelope::topic`]) as a JSON string, rendered once per table.
    pub fn write_topic(&mut self, event: &ChangeEvent, out: &mut Vec<u8>) {
        let table = table_encoding(&mut self.tables, &self.config, &event.schema);
        out.extend_from_slice(&table.rendered.topic);
    }

    /// Appends [`Envelope::value_at`]'s bytes (wrapped with its schema in json-schema format) to `out`.
    pub fn write_value(&mut self, event: &ChangeEvent, ts_ms: i64, out: &mut Vec<u8>) {
        let transaction_metadata = self.config.transaction_metadata;
        let Envelope { config, tables, rendered, .. } = self;
        let table = table_encoding(tables, config, &event.schema);
        if let Some(schema) = &table.value_schema {
            out.extend_from_slice(b"{\"schema\":");
            out.extend_from_slice(schema.text.as_bytes());
            out.extend_from_slice(b",\"payload\":");
        }
        out.extend_from_slice(b"{\"before\":");
        match event.op {
            Op::Truncate => out.extend_from_slice(b"null,\"after\":null"),
            _ => {
                // Without REPLICA IDENTITY FULL an old image carries the key only (see `row_json`).
                let key_only = event.schema.replica_identity != ReplicaIdentity::Full;
                write_row(table, event, event.before.as_ref(), key_only, out);
                out.extend_from_slice(b",\"after\":");
                write_row(table, event, event.after.as_ref(), false, out);
            }
        }
        out.extend_from_slice(b",\"source\":");
        out.extend_from_slice(&rendered.source_head);
        if event.snapshot == SnapshotMarker::No {
            write_source_tail(table, &rendered.database, event, out);
        } else {
            if !rendered.snapshot_tail.as_ref().is_some_and(|tail| tail.fits(event)) {
                let mut bytes = Vec::new();
                write_source_tail(table, &rendered.database, event, &mut bytes);
                rendered.snapshot_tail = Some(SnapshotTail {
                    table: event.schema.id.clone(),
                    marker: event.snapshot,
                    tx: event.tx,
                    lsn: event.lsn,
                    bytes,
                });
            }
            if let Some(tail) = &rendered.snapshot_tail {
                out.extend_from_slice(&tail.bytes);
            }
        }
        out.extend_from_slice(b",\"op\":\"");
        out.extend_from_slice(event.op.code().as_bytes());
        out.extend_from_slice(b"\",\"ts_ms\":");
        write_integer(ts_ms, out);
        out.extend_from_slice(b",\"transaction\":");
        if transaction_metadata && event.snapshot == SnapshotMarker::No {
            out.extend_from_slice(b"{\"id\":\"");
            write_integer(event.tx.xid, out);
            out.push(b':');
            write_integer(event.tx.commit_lsn.as_u64(), out);
            out.extend_from_slice(b"\",\"total_order\":");
            write_integer(event.tx.total_order, out);
            out.extend_from_slice(b",\"data_collection_order\":");
            write_integer(event.tx.table_order, out);
            out.push(b'}');
        } else {
            out.extend_from_slice(b"null");
        }
        out.push(b'}');
        if table.value_schema.is_some() {
            out.push(b'}');
        }
    }

    /// Appends [`Envelope::key`]'s bytes (wrapped when the key format has schemas); false, writing nothing, when
    /// there is no key.
    pub fn write_key(&mut self, event: &ChangeEvent, out: &mut Vec<u8>) -> bool {
        let wrap = self.config.key_format() == super::EventFormat::JsonSchema;
        let table = table_encoding(&mut self.tables, &self.config, &event.schema);
        if event.op == Op::Truncate || table.key_columns.is_empty() {
            return false;
        }
        let Some(row) = event.key_row() else { return false };
        let schema = table.key_schema.as_ref().filter(|_| wrap);
        if let Some(schema) = schema {
            out.extend_from_slice(b"{\"schema\":");
            out.extend_from_slice(schema.text.as_bytes());
            out.extend_from_slice(b",\"payload\":");
        }
        out.push(b'{');
        for (n, &i) in table.key_columns.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&table.rendered.names[i]);
            table.codecs[i].write(row.get(i).unwrap_or(&Value::Null), out);
        }
        out.push(b'}');
        if schema.is_some() {
            out.push(b'}');
        }
        true
    }
}

/// The rest of `source` after `"ts_ms":`.
fn write_source_tail(table: &TableEncoding, database: &[u8], event: &ChangeEvent, out: &mut Vec<u8>) {
    write_integer(event.tx.commit_time_micros.div_euclid(1_000), out);
    out.extend_from_slice(b",\"snapshot\":\"");
    out.extend_from_slice(event.snapshot.code().as_bytes());
    out.extend_from_slice(b"\",\"db\":");
    out.extend_from_slice(database);
    let (commit_lsn, lsn) = (event.tx.commit_lsn.as_u64(), event.lsn.as_u64());
    out.extend_from_slice(b",\"sequence\":\"[\\\"");
    write_integer(commit_lsn, out);
    out.extend_from_slice(b"\\\",\\\"");
    write_integer(lsn, out);
    out.extend_from_slice(b"\\\"]\"");
    out.extend_from_slice(&table.rendered.table_source);
    out.extend_from_slice(b",\"txId\":");
    write_integer(event.tx.xid, out);
    out.extend_from_slice(b",\"lsn\":");
    write_integer(lsn, out);
    out.extend_from_slice(b",\"xmin\":null}");
}

/// A row as `{"column":cell,…}`, as `row_json` builds it.
fn write_row(
    table: &TableEncoding,
    event: &ChangeEvent,
    row: Option<&Row>,
    key_only: bool,
    out: &mut Vec<u8>,
) {
    let Some(row) = row else {
        out.extend_from_slice(b"null");
        return;
    };
    out.push(b'{');
    for (i, (column, codec)) in event.schema.columns.iter().zip(&table.codecs).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&table.rendered.names[i]);
        let value = row.get(i).unwrap_or(&Value::Null);
        match value {
            Value::Null if key_only && !column.key => codec.write_required(value, column.nullable, out),
            value => codec.write(value, out),
        }
    }
    out.push(b'}');
}
