//! The transaction-metadata topic (`{prefix}.transaction`), like Debezium's `provide.transaction.metadata`:
//! a `BEGIN` before a transaction's first change and an `END` with its event counts per table after its last.
//!
//! `BEGIN` is sent when the first change of a new transaction is seen. `END` is sent as soon as the
//! transaction is known to be complete: the source marks batches with the commit position they complete
//! ([`ChangeBatch::complete_through`]), so an idle database does not hold an `END` back until the next write.
//! Snapshot rows belong to no transaction and get no markers, as in Debezium.

use std::collections::BTreeMap;

use cdc_core::envelope::EventFormat;
use cdc_core::{ChangeBatch, ChangeEvent, Lsn, SnapshotMarker};
use serde_json::{json, Value as J};

/// A transaction marker to send: its topic key and value as JSON in the tracker's format, and their payloads
/// for other encodings (Avro, with [`Marker::parts`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Marker {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    key_payload: J,
    value_payload: J,
}

impl Marker {
    /// Key schema, key payload, value schema, value payload (Debezium's Connect schemas).
    pub fn parts(&self) -> (J, &J, J, &J) {
        (key_schema(), &self.key_payload, value_schema(), &self.value_payload)
    }
}

#[derive(Debug)]
struct OpenTransaction {
    id: String,
    commit_lsn: Lsn,
    commit_ms: i64,
    events: u64,
    /// `schema.table` → events, in name order.
    tables: BTreeMap<String, u64>,
}

/// Follows transaction boundaries through the change stream. See the module doc.
#[derive(Debug)]
pub(crate) struct TransactionTracker {
    /// Key and value formats (JSON with or without the schema wrapper; Avro is encoded by the sink).
    formats: (EventFormat, EventFormat),
    open: Option<OpenTransaction>,
}

impl TransactionTracker {
    pub fn new(key_format: EventFormat, value_format: EventFormat) -> Self {
        TransactionTracker { formats: (key_format, value_format), open: None }
    }

    /// The markers due before `event` is sent (an `END` of the previous transaction, a `BEGIN` of its own).
    /// Each message then sent for it is counted with [`TransactionTracker::count`].
    pub fn before_event(&mut self, event: &ChangeEvent) -> Vec<Marker> {
        if event.snapshot != SnapshotMarker::No {
            return Vec::new();
        }
        let mut markers = Vec::new();
        if self.open.as_ref().is_some_and(|open| open.commit_lsn != event.tx.commit_lsn) {
            markers.extend(self.end());
        }
        self.open.get_or_insert_with(|| {
            let opened = OpenTransaction {
                id: format!("{}:{}", event.tx.xid, event.tx.commit_lsn.as_u64()),
                commit_lsn: event.tx.commit_lsn,
                commit_ms: event.tx.commit_time_micros.div_euclid(1_000),
                events: 0,
                tables: BTreeMap::new(),
            };
            markers.push(marker(self.formats, &opened.id, begin_value(&opened)));
            opened
        });
        markers
    }

    /// Counts one data message sent for `event` (a key change is two: the delete and the create).
    pub fn count(&mut self, event: &ChangeEvent) {
        if event.snapshot != SnapshotMarker::No {
            return;
        }
        if let Some(open) = self.open.as_mut() {
            open.events += 1;
            *open.tables.entry(event.schema.id.to_string()).or_default() += 1;
        }
    }

    /// The `END` due after a batch, if it completes the open transaction.
    pub fn after_batch<C>(&mut self, batch: &ChangeBatch<C>) -> Option<Marker> {
        let through = batch.complete_through?;
        if self.open.as_ref().is_some_and(|open| open.commit_lsn < through) {
            return self.end();
        }
        None
    }

    fn end(&mut self) -> Option<Marker> {
        let open = self.open.take()?;
        Some(marker(self.formats, &open.id, end_value(&open)))
    }
}

fn begin_value(open: &OpenTransaction) -> J {
    json!({ "status": "BEGIN", "id": open.id, "event_count": null, "data_collections": null, "ts_ms": open.commit_ms })
}

fn end_value(open: &OpenTransaction) -> J {
    let collections: Vec<J> = open
        .tables
        .iter()
        .map(|(table, count)| json!({ "data_collection": table, "event_count": count }))
        .collect();
    json!({
        "status": "END", "id": open.id, "event_count": open.events, "data_collections": collections,
        "ts_ms": open.commit_ms,
    })
}

fn marker((key_format, value_format): (EventFormat, EventFormat), id: &str, payload: J) -> Marker {
    let key_payload = json!({ "id": id });
    let key = match key_format {
        EventFormat::JsonSchema => json!({ "schema": key_schema(), "payload": key_payload }).to_string(),
        EventFormat::Json | EventFormat::Avro => key_payload.to_string(),
    };
    let value = match value_format {
        EventFormat::JsonSchema => json!({ "schema": value_schema(), "payload": payload }).to_string(),
        EventFormat::Json | EventFormat::Avro => payload.to_string(),
    };
    Marker { key: key.into_bytes(), value: value.into_bytes(), key_payload, value_payload: payload }
}

/// `io.debezium.connector.common.TransactionMetadataKey`.
fn key_schema() -> J {
    json!({
        "type": "struct",
        "fields": [{ "type": "string", "optional": false, "field": "id" }],
        "optional": false,
        "name": "io.debezium.connector.common.TransactionMetadataKey",
    })
}

/// `io.debezium.connector.common.TransactionMetadataValue`.
fn value_schema() -> J {
    json!({
        "type": "struct",
        "fields": [
            { "type": "string", "optional": false, "field": "status" },
            { "type": "string", "optional": false, "field": "id" },
            { "type": "int64", "optional": true, "field": "event_count" },
            {
                "type": "array",
                "items": {
                    "type": "struct",
                    "fields": [
                        { "type": "string", "optional": false, "field": "data_collection" },
                        { "type": "int64", "optional": false, "field": "event_count" },
                    ],
                    "optional": false,
                },
                "optional": true,
                "field": "data_collections",
            },
            { "type": "int64", "optional": false, "field": "ts_ms" },
        ],
        "optional": false,
        "name": "io.debezium.connector.common.TransactionMetadataValue",
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cdc_core::{Op, PgType, ReplicaIdentity, TableId, TableSchema, TxInfo};

    use super::*;

    fn event(table: &str, xid: u32, commit_lsn: u64, snapshot: SnapshotMarker) -> ChangeEvent {
        let schema = Arc::new(TableSchema {
            relation_oid: 1,
            id: TableId::new("public", table),
            columns: vec![cdc_core::Column {
                name: "id".into(),
                pg_type: PgType::builtin(23).unwrap(),
                type_modifier: -1,
                nullable: false,
                key: true,
                fill_value: None,
            }],
            replica_identity: ReplicaIdentity::Default,
            version: 1,
        });
        ChangeEvent {
            op: Op::Insert,
            schema,
            before: None,
            after: Some(cdc_core::Row(vec![cdc_core::Value::Int32(1)])),
            lsn: Lsn::new(commit_lsn - 1),
            tx: TxInfo {
                xid,
                commit_lsn: Lsn::new(commit_lsn),
                commit_time_micros: 1_700_000_000_123_456,
                total_order: 1,
                table_order: 1,
            },
            snapshot,
            origin: None,
        }
    }

    fn values(markers: &[Marker]) -> Vec<J> {
        markers.iter().map(|m| serde_json::from_slice(&m.value).unwrap()).collect()
    }

    #[test]
    fn begin_and_end_frame_each_transaction_with_counts_per_table() {
        let mut tracker = TransactionTracker::new(EventFormat::Json, EventFormat::Json);
        let mut sent = Vec::new();
        for e in [event("a", 7, 100, SnapshotMarker::No), event("b", 7, 100, SnapshotMarker::No)] {
            sent.extend(tracker.before_event(&e));
            tracker.count(&e);
        }
        // A key change: two messages for one event.
        let key_change = event("a", 7, 100, SnapshotMarker::No);
        sent.extend(tracker.before_event(&key_change));
        tracker.count(&key_change);
        tracker.count(&key_change);
        // The next transaction closes the first.
        sent.extend(tracker.before_event(&event("a", 8, 200, SnapshotMarker::No)));
        // A batch completing commits up to 250 closes the second without waiting for a third.
        let mut batch = ChangeBatch::<()>::new(Vec::new(), None);
        batch.complete_through = Some(Lsn::new(250));
        sent.extend(tracker.after_batch(&batch));
        let values = values(&sent);
        let statuses: Vec<&str> = values.iter().map(|v| v["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["BEGIN", "END", "BEGIN", "END"]);
        assert_eq!(values[0]["id"], "7:100");
        assert_eq!(values[0]["ts_ms"], 1_700_000_000_123_i64);
        assert_eq!(values[1]["event_count"], 4);
        assert_eq!(
            values[1]["data_collections"],
            json!([{ "data_collection": "public.a", "event_count": 3 }, { "data_collection": "public.b", "event_count": 1 }])
        );
        assert_eq!(values[3]["id"], "8:200");
        assert_eq!(serde_json::from_slice::<J>(&sent[0].key).unwrap(), json!({ "id": "7:100" }));
    }

    #[test]
    fn snapshot_rows_get_no_markers_and_an_unfinished_transaction_stays_open() {
        let mut tracker = TransactionTracker::new(EventFormat::Json, EventFormat::JsonSchema);
        assert!(tracker.before_event(&event("a", 1, 50, SnapshotMarker::InProgress)).is_empty());
        let begin = tracker.before_event(&event("a", 2, 300, SnapshotMarker::No));
        assert_eq!(values(&begin)[0]["payload"]["status"], "BEGIN");
        assert_eq!(
            values(&begin)[0]["schema"]["name"],
            "io.debezium.connector.common.TransactionMetadataValue"
        );
        let mut batch = ChangeBatch::<()>::new(Vec::new(), None);
        batch.complete_through = Some(Lsn::new(300));
        assert_eq!(tracker.after_batch(&batch), None, "commit 300 is not below 300");
    }
}
