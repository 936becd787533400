//! Each transform fed Debezium-shaped records (built by cdc-core's `Envelope` in json-schema format, as the
//! Kafka sink builds them) and compared field by field, schemas included, with the output the Debezium or
//! Kafka documentation shows for that input; the example and its source are quoted in each test.

mod chain;
mod fields;
mod filter;
mod routers;
mod timestamp;
mod unwrap;

pub(super) mod fixtures {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use cdc_core::envelope::{Envelope, EnvelopeConfig, EventFormat};
    use cdc_core::{ChangeEvent, Column, Lsn, Op, PgType, ReplicaIdentity, Row, SchemaRef, SnapshotMarker};
    use cdc_core::{TableId, TableSchema, TxInfo, Value};
    use serde_json::Value as J;

    use crate::transforms::{Chain, PredicateSpec, Record, TransformError, TransformSpec};

    /// The envelope `ts_ms` and record timestamp of every test record.
    pub const TS_MS: i64 = 1_700_000_000_000;
    /// The LSN of every test event (`source.lsn`).
    pub const LSN: u64 = 24_023_000;

    pub const INT4: u32 = 23;
    pub const INT8: u32 = 20;
    pub const TEXT: u32 = 25;
    pub const VARCHAR: u32 = 1043;
    pub const BYTEA: u32 = 17;
    pub const TIMESTAMP: u32 = 1114;
    pub const DATE: u32 = 1082;

    /// A column: name, type oid, nullable, part of the key.
    pub fn col(name: &str, oid: u32, nullable: bool, key: bool) -> Column {
        let pg_type = PgType::builtin(oid).expect("a built-in type");
        Column { name: name.into(), pg_type, type_modifier: -1, nullable, key, fill_value: None }
    }

    /// `public.<name>` with REPLICA IDENTITY FULL (deletes carry the whole old row).
    pub fn table(name: &str, columns: Vec<Column>) -> SchemaRef {
        Arc::new(TableSchema {
            relation_oid: 16_385,
            id: TableId::new("public", name),
            columns,
            replica_identity: ReplicaIdentity::Full,
            version: 1,
        })
    }

    pub fn row(values: Vec<Value>) -> Option<Row> {
        Some(Row(values))
    }

    pub fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    /// A streamed event of transaction 555 committed at 2019-05-28T09:11:44.863123Z.
    pub fn event(op: Op, schema: SchemaRef, before: Option<Row>, after: Option<Row>) -> ChangeEvent {
        ChangeEvent {
            op,
            schema,
            before,
            after,
            lsn: Lsn::new(LSN),
            tx: TxInfo {
                xid: 555,
                commit_lsn: Lsn::new(24_023_128),
                commit_time_micros: 1_559_033_904_863_123,
                total_order: 3,
                table_order: 2,
            },
            snapshot: SnapshotMarker::No,
            origin: None,
        }
    }

    /// Debezium's JSON with schemas (`JsonConverter` `schemas.enable=true`), topic prefix `cdc`, database
    /// `inventory`, without the source-type parameters (they are Debezium's optional
    /// `column.propagate.source.type`, and the documentation's examples do not show them).
    pub fn envelope() -> Envelope {
        envelope_with(EnvelopeConfig {
            format: EventFormat::JsonSchema,
            propagate_source_types: false,
            ..EnvelopeConfig::default()
        })
    }

    pub fn envelope_with(config: EnvelopeConfig) -> Envelope {
        Envelope::new(config, "inventory")
    }

    /// The record the Kafka sink would send for `event`.
    pub fn record(env: &mut Envelope, event: &ChangeEvent) -> Record {
        let topic = env.topic(&event.schema.id);
        let (key_schema, key) = match env.key_parts(event) {
            Some((schema, key)) => (schema.cloned(), Some(key)),
            None => (None, None),
        };
        let (value_schema, value) = env.value_parts_at(event, TS_MS);
        Record {
            topic,
            key_schema,
            key,
            value_schema: value_schema.cloned(),
            value: Some(value),
            headers: Vec::new(),
            timestamp_ms: TS_MS,
        }
    }

    /// The tombstone the sink sends after a delete's record.
    pub fn tombstone(delete: &Record) -> Record {
        Record { value_schema: None, value: None, ..delete.clone() }
    }

    /// The same record with schemas stripped (plain JSON, `schemas.enable=false`).
    pub fn schemaless(record: &Record) -> Record {
        Record { key_schema: None, value_schema: None, ..record.clone() }
    }

    pub fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    pub fn spec(name: &str, class: &str, pairs: &[(&str, &str)]) -> TransformSpec {
        TransformSpec { name: name.into(), class: class.into(), props: props(pairs) }
    }

    pub fn predicate(name: &str, class: &str, pairs: &[(&str, &str)]) -> PredicateSpec {
        PredicateSpec { name: name.into(), class: class.into(), props: props(pairs) }
    }

    /// A chain of one transform named `t`.
    pub fn one(class: &str, pairs: &[(&str, &str)]) -> Chain {
        try_one(class, pairs).expect("a valid transform")
    }

    pub fn try_one(class: &str, pairs: &[(&str, &str)]) -> Result<Chain, TransformError> {
        Chain::build(&[spec("t", class, pairs)], &[])
    }

    /// Applies and expects the record to be kept.
    pub fn kept(chain: &mut Chain, record: Record) -> Record {
        chain.apply(record).expect("no error").expect("the record is kept")
    }

    /// Applies and expects the record to be dropped.
    pub fn dropped(chain: &mut Chain, record: Record) {
        assert_eq!(chain.apply(record).expect("no error"), None, "the record is dropped");
    }

    /// Compares as serialized text, so key order counts too.
    pub fn assert_json(actual: &J, expected: &J) {
        assert_eq!(actual.to_string(), expected.to_string());
    }

    pub const UNWRAP: &str = "io.debezium.transforms.ExtractNewRecordState";
}
