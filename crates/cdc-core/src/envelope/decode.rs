//! [`EventDecoder`]: Debezium change events back into [`ChangeEvent`]s, the inverse of [`super::Envelope`], for
//! `cdc load` (Kafka → warehouse). It reads our events and Debezium's own PostgreSQL events, provided the value
//! carries its Connect schema (`format = "json-schema"`; Debezium: `value.converter.schemas.enable=true`).
//!
//! ```text
//!  key bytes ─▶ key column names ──────────────┐
//!  value bytes ─▶ {schema, payload}            ▼
//!     schema.fields[after] ─▶ cached per table: Arc<TableSchema> + one CellDecoder per column (columns.rs)
//!     payload.before/after ─▶ each cell through its column's decoder (cells.rs) ─▶ Row
//!     payload.source, op, transaction ─▶ op, lsn, TxInfo, SnapshotMarker
//! ```
//!
//! # The table schema
//! The `after` struct (or `before`) of the value schema gives the columns in order, `optional` their
//! nullability, and the column types: exactly when the producer propagated source types
//! (`propagate_source_types`, Debezium's `column.propagate.source.type`), else from the Connect type:
//! int16 → int2, int32 → int4, int64 → int8, float → float4, double → float8, boolean → bool, string → text,
//! bytes → bytea, `Decimal` → numeric(p, s) (money without `connect.decimal.precision`),
//! `VariableScaleDecimal` → numeric, `Uuid` → uuid, `Json` → jsonb, `Xml` → xml, `Enum` → text, `Bits` →
//! bit(n) (varbit for n = 2³¹-1), `Date` → date, `Time`/`MicroTime` → time, `Timestamp`/`MicroTimestamp` →
//! timestamp, `ZonedTimestamp` → timestamptz, `ZonedTime` → timetz, `MicroDuration`/`Interval` → interval,
//! array → array of the element, map → hstore, anything else → an unknown type whose cells are JSON text.
//! Types outside `pg_type`'s built-ins (enums with the Connect `Enum`'s labels, hstore, domains, extension
//! types) come back by their propagated name with oid 0: their oids belong to the source database.
//! The key columns are the fields of the record key (none without a key; a truncate, which has no key, takes
//! the table's latest shape with the same columns). Three fields are synthesized:
//! - `relation_oid` is a hash of the table name (FNV-1a), stable across runs but not the source's `pg_class`
//!   oid; two tables may collide with probability ~n²/2³³.
//! - `replica_identity` is `Default` until a before image shows a non-null non-key column, then `Full` from
//!   then on (a new schema version). Best effort: the schema does not record it.
//! - `version` counts the distinct shapes of a table seen by this decoder, from 1. The same schema text
//!   always yields the same `Arc`; shapes are kept per table ([`MAX_SHAPES_PER_TABLE`]).
//!
//! # What does not come back exactly
//! - Without propagated source types: `decimal_handling = "double"` NUMERIC becomes float8 and
//!   `"string"` NUMERIC becomes text; string-encoded bytea becomes text; inet, macaddr, oid, citext, enums
//!   and domains become their Connect type's; json becomes jsonb, bit(1) bool, varbit(n) bit(n), and
//!   varchar(n), timestamptz(p) and the like lose their modifier.
//! - Hexadecimal bytea (`binary_handling = "hex"`) must be declared with
//!   [`EventDecoder::with_binary_handling`]: its text is often valid base64 as well.
//! - NUMERIC: `precise` cannot carry NaN/±Infinity (they arrive as null); a `VariableScaleDecimal` has its
//!   trailing zeros stripped (`12.50` → `12.5`); `double` keeps ~15 significant digits, printed at the
//!   column's declared scale when the source type says it (`12.5` → `12.50`).
//! - Intervals in `numeric` mode are a total of microseconds with a month counted as 30.4375 days: they come
//!   back as `{months: 0, days: 0, micros: total}`.
//! - Times and timestamps in `connect` mode (and adaptive columns of precision ≤ 3) carry milliseconds.
//! - `timetz` and `timestamptz` are normalised to UTC: a timetz comes back with offset 0.
//! - varbit loses leading zeros (`Bits` drops them; only bit(n) knows its width).
//! - `total_order`/`table_order` are 0 when the event has no `transaction` block (snapshot rows, or
//!   `transaction_metadata` off); `commit_lsn` is the event's LSN when `source.sequence` has none;
//!   `commit_time_micros` has millisecond precision unless the source block has Debezium's `ts_us` (ours
//!   writes `ts_ms` only).
//! - An unchanged TOASTed cell is recognised by Debezium's placeholder (`__debezium_unavailable_value` and
//!   its byte, array and hstore forms): a real value equal to the placeholder reads as `Unchanged` too.
//!
//! Nothing here panics on any input: every malformed record is a [`DecodeError`] naming where it went wrong.

mod cells;
mod columns;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value as J};

use self::cells::{excerpt, Budget, CellDecoder};
use self::columns::ConnectField;
use super::config::BinaryHandling;
use crate::change::{ChangeEvent, Op, Row, SnapshotMarker, TxInfo};
use crate::lsn::Lsn;
use crate::schema::{Column, ReplicaIdentity, SchemaRef, TableId, TableSchema};
use crate::value::Value;

/// A JSON object of the record.
type Object = Map<String, J>;

/// Shapes kept per table. A table alternates between at most two shapes around a schema change (old events
/// on one partition, new ones on another); the bound keeps hostile input from growing the cache.
const MAX_SHAPES_PER_TABLE: usize = 8;

/// A record that could not be read as a change event. Every variant names where: `key`, `value`, or a JSON
/// path such as `payload.after.price`.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the record {part} is not valid JSON")]
    NotJson {
        /// `key` or `value`.
        part: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the record value has no Connect schema; values must carry their schema: set [envelope].format = \
         \"json-schema\" on the producing side (Debezium: value.converter.schemas.enable=true)"
    )]
    MissingSchema,
    #[error("{path} is missing")]
    Missing { path: String },
    #[error("{path}: expected {expected}, found {found}")]
    WrongType { path: String, expected: &'static str, found: &'static str },
    #[error("payload.op: unknown operation {op}; expected c, u, d, r or t")]
    UnknownOp { op: String },
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
    #[error("key field {column} is not a column of {table} in the value schema")]
    UnknownKeyColumn { table: TableId, column: String },
}

/// Reads Debezium change events (ours, or Debezium's own with JsonConverter `schemas.enable=true`) back into
/// [`ChangeEvent`]s.
///
/// Table schemas are rebuilt from the value schema and cached per table: the same schema yields the same
/// `Arc<TableSchema>`, and a new shape of a table a new `version`.
#[derive(Debug, Default)]
pub struct EventDecoder {
    /// How string-encoded bytea was written; only hexadecimal needs saying (see
    /// [`EventDecoder::with_binary_handling`]).
    binary_handling: BinaryHandling,
    tables: HashMap<TableId, TableShapes>,
}

/// The shapes of one table seen so far.
#[derive(Debug)]
struct TableShapes {
    /// Oldest first.
    shapes: Vec<Arc<Shape>>,
    /// The version handed out last.
    last_version: u32,
}

/// One shape of a table: what it was built from, and what decoding it needs.
#[derive(Debug)]
struct Shape {
    /// The row struct of the value schema (`schema.fields[after]`).
    row_schema: J,
    /// The key's field names, sorted.
    key: Vec<String>,
    schema: SchemaRef,
    decoders: Vec<CellDecoder>,
}

impl EventDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// How the producer wrote bytea columns sent as Connect strings (`binary.handling.mode`). The schema says
    /// only "string", and hexadecimal text can be valid base64, so hexadecimal must be declared; `bytes`,
    /// `base64` and `base64-url-safe` all read back without it (the default).
    pub fn with_binary_handling(mut self, mode: BinaryHandling) -> Self {
        self.binary_handling = mode;
        self
    }

    /// `key`/`value`: raw bytes of one Kafka record. `value == None` is a tombstone → `Ok(None)`.
    /// The value must carry its Connect schema (`{"schema":…, "payload":…}`); the key may be a bare JSON object
    /// or `{schema, payload}` too, or absent (table without key columns / truncate).
    pub fn decode(
        &mut self,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<Option<ChangeEvent>, DecodeError> {
        let Some(value) = value else {
            return Ok(None);
        };
        let value: J =
            serde_json::from_slice(value).map_err(|source| DecodeError::NotJson { part: "value", source })?;
        let key = match key.filter(|bytes| !bytes.is_empty()) {
            Some(bytes) => Some(
                serde_json::from_slice::<J>(bytes)
                    .map_err(|source| DecodeError::NotJson { part: "key", source })?,
            ),
            None => None,
        };
        self.decode_json(key.as_ref(), &value)
    }

    /// [`EventDecoder::decode`] of a record already parsed (or decoded from Avro into the same
    /// `{schema, payload}` form); a null payload is a tombstone.
    pub fn decode_json(&mut self, key: Option<&J>, value: &J) -> Result<Option<ChangeEvent>, DecodeError> {
        let Some((schema, payload)) = split_envelope(value)? else {
            return Ok(None);
        };
        let op = op(payload)?;
        let source = object(payload, "payload", "source")?;
        let table = TableId::new(
            string(source, "payload.source", "schema")?,
            string(source, "payload.source", "table")?,
        );
        let key = match key_names(key)? {
            Some(names) => Key::Names(names),
            None if has_rows(payload) => Key::Names(Vec::new()),
            None => Key::Unknown,
        };
        let row_schema = row_schema(schema)?;
        let full = shows_full_identity(payload.get("before"), &key, row_schema);
        let shape = self.shape(&table, row_schema, key, full)?;
        let (before, after) = rows(op, &shape, payload)?;
        let lsn = Lsn::new(u64_field(source, "payload.source", "lsn")?);
        Ok(Some(ChangeEvent {
            op,
            schema: shape.schema.clone(),
            before,
            after,
            lsn,
            tx: tx_info(source, payload, lsn)?,
            snapshot: snapshot(source)?,
            origin: None,
        }))
    }

    /// The cached shape for this row schema and key, built (and versioned) on first sight.
    fn shape(
        &mut self,
        table: &TableId,
        row_schema: &J,
        key: Key,
        full: bool,
    ) -> Result<Arc<Shape>, DecodeError> {
        let binary = self.binary_handling;
        let Some(shapes) = self.tables.get_mut(table) else {
            let shape = Arc::new(Shape::build(table, row_schema, key.names(), full, 1, binary)?);
            self.tables.insert(table.clone(), TableShapes { shapes: vec![shape.clone()], last_version: 1 });
            return Ok(shape);
        };
        shapes.get_or_build(table, row_schema, key, full, binary)
    }
}

/// What the record key says about the key columns.
#[derive(Debug)]
enum Key {
    /// The key's field names, sorted; empty for a table without key columns.
    Names(Vec<String>),
    /// No key, and no row it could have been taken from (a truncate, a delete without a before image): the
    /// key columns are whatever the table's latest shape with these columns says.
    Unknown,
}

impl Key {
    fn names(self) -> Vec<String> {
        match self {
            Key::Names(names) => names,
            Key::Unknown => Vec::new(),
        }
    }
}

impl TableShapes {
    /// The shape with this row schema and key; upgraded to a `Full` replica identity (a new version) when
    /// this event is the first to show it; or a new shape with the next version.
    fn get_or_build(
        &mut self,
        table: &TableId,
        row_schema: &J,
        key: Key,
        full: bool,
        binary: BinaryHandling,
    ) -> Result<Arc<Shape>, DecodeError> {
        let found = match &key {
            Key::Names(names) => {
                self.shapes.iter().position(|s| s.key == *names && s.row_schema == *row_schema)
            }
            Key::Unknown => self.shapes.iter().rposition(|s| s.row_schema == *row_schema),
        };
        if let Some(shape) = found.and_then(|i| self.shapes.get_mut(i)) {
            if full && shape.schema.replica_identity != ReplicaIdentity::Full {
                self.last_version = self.last_version.saturating_add(1);
                *shape = Arc::new(shape.with_full_identity(self.last_version));
            }
            return Ok(shape.clone());
        }
        let version = self.last_version.saturating_add(1);
        let shape = Arc::new(Shape::build(table, row_schema, key.names(), full, version, binary)?);
        self.last_version = version;
        if self.shapes.len() >= MAX_SHAPES_PER_TABLE {
            self.shapes.remove(0);
        }
        self.shapes.push(shape.clone());
        Ok(shape)
    }
}

impl Shape {
    fn build(
        table: &TableId,
        row_schema: &J,
        key: Vec<String>,
        full: bool,
        version: u32,
        binary: BinaryHandling,
    ) -> Result<Shape, DecodeError> {
        let fields = ConnectField::new(row_schema).and_then(ConnectField::fields).ok_or_else(|| {
            DecodeError::Invalid {
                path: "schema.after".into(),
                reason: "not a struct schema with `fields`".into(),
            }
        })?;
        let mut columns: Vec<Column> = Vec::with_capacity(fields.len());
        let mut decoders = Vec::with_capacity(fields.len());
        for (i, field) in fields.iter().enumerate() {
            let invalid =
                |reason: String| DecodeError::Invalid { path: format!("schema.after.fields[{i}]"), reason };
            let field = ConnectField::new(field)
                .ok_or_else(|| invalid("not a schema with a string `type`".into()))?;
            let is_key =
                field.field_name().is_some_and(|name| key.binary_search_by(|k| k.as_str().cmp(name)).is_ok());
            let (column, codec) = columns::column(field, is_key, binary).map_err(invalid)?;
            decoders.push(CellDecoder::new(codec, &column));
            columns.push(column);
        }
        let names: HashSet<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        if let Some(missing) = key.iter().find(|k| !names.contains(k.as_str())) {
            return Err(DecodeError::UnknownKeyColumn { table: table.clone(), column: excerpt(missing) });
        }
        let schema = TableSchema {
            relation_oid: synthetic_oid(table),
            id: table.clone(),
            columns,
            replica_identity: if full { ReplicaIdentity::Full } else { ReplicaIdentity::Default },
            version,
        };
        Ok(Shape { row_schema: row_schema.clone(), key, schema: Arc::new(schema), decoders })
    }

    fn with_full_identity(&self, version: u32) -> Shape {
        let mut schema = (*self.schema).clone();
        schema.replica_identity = ReplicaIdentity::Full;
        schema.version = version;
        Shape {
            row_schema: self.row_schema.clone(),
            key: self.key.clone(),
            schema: Arc::new(schema),
            decoders: self.decoders.clone(),
        }
    }
}

/// `(schema, payload)` of a `{"schema": …, "payload": …}` value; `None` for a null payload (a tombstone).
fn split_envelope(value: &J) -> Result<Option<(&J, &Object)>, DecodeError> {
    let top =
        value.as_object().ok_or_else(|| wrong_type("value", "a JSON object {schema, payload}", value))?;
    let schema = match top.get("schema") {
        None | Some(J::Null) => return Err(DecodeError::MissingSchema),
        Some(schema) => schema,
    };
    match top.get("payload") {
        None => Err(DecodeError::Missing { path: "payload".into() }),
        Some(J::Null) => Ok(None),
        Some(J::Object(payload)) => Ok(Some((schema, payload))),
        Some(other) => Err(wrong_type("payload", "an object", other)),
    }
}

/// The row struct of the envelope schema: the `after` field, else `before`.
fn row_schema(schema: &J) -> Result<&J, DecodeError> {
    let fields = ConnectField::new(schema)
        .and_then(ConnectField::fields)
        .ok_or_else(|| wrong_type("schema", "a struct schema with `fields`", schema))?;
    let named = |name: &str| {
        fields.iter().find(|f| ConnectField::new(f).is_some_and(|f| f.field_name() == Some(name)))
    };
    named("after").or_else(|| named("before")).ok_or_else(|| DecodeError::Invalid {
        path: "schema".into(),
        reason: "no `after` or `before` field: not a Debezium change event".into(),
    })
}

/// The sorted field names of the record key (a bare object or `{schema, payload}`); `None` when the key is
/// absent, empty or null.
fn key_names(key: Option<&J>) -> Result<Option<Vec<String>>, DecodeError> {
    let Some(key) = key else {
        return Ok(None);
    };
    let payload = match key {
        J::Object(object) if is_wrapped(object) => object.get("payload").unwrap_or(&J::Null),
        bare => bare,
    };
    let mut names: Vec<String> = match payload {
        J::Null => return Ok(None),
        J::Object(fields) => fields.keys().cloned().collect(),
        other => return Err(wrong_type("key", "a JSON object", other)),
    };
    names.sort();
    Ok(Some(names))
}

/// Whether the event has a before or after image.
fn has_rows(payload: &Object) -> bool {
    ["before", "after"].iter().any(|image| optional(payload, image).is_some())
}

/// `{"schema": {…}, "payload": …}` rather than a key whose columns happen to be named so.
fn is_wrapped(object: &Object) -> bool {
    object.len() == 2 && object.get("schema").is_some_and(J::is_object) && object.contains_key("payload")
}

/// Whether the before image carries a non-key column, which only REPLICA IDENTITY FULL sends. A nullable column
/// shows it by any non-null value; a NOT NULL one by a value other than the fallback a key-only image carries.
fn shows_full_identity(before: Option<&J>, key: &Key, row_schema: &J) -> bool {
    let (Some(J::Object(before)), Key::Names(key)) = (before, key) else {
        return false;
    };
    let required = |name: &str| {
        row_schema.get("fields").and_then(J::as_array).is_some_and(|fields| {
            fields.iter().any(|f| {
                f.get("field").and_then(J::as_str) == Some(name)
                    && f.get("optional").and_then(J::as_bool) == Some(false)
            })
        })
    };
    before.iter().any(|(name, value)| {
        key.binary_search(name).is_err()
            && if required(name) { !is_fallback(value) } else { !value.is_null() }
    })
}

/// The zero/empty value Debezium (and we) write for a NOT NULL column missing from a key-only before image
/// ([`super::value`]'s `fallback`).
fn is_fallback(value: &J) -> bool {
    match value {
        J::Null => true,
        J::Bool(b) => !b,
        J::Number(n) => n.as_f64() == Some(0.0),
        J::String(s) => matches!(s.as_str(), "" | "0" | "AA==" | "1970-01-01T00:00:00Z" | "00:00:00Z"),
        J::Array(items) => items.is_empty(),
        J::Object(fields) => {
            fields.is_empty() || fields.get("value").and_then(J::as_str) == Some("AA==") && fields.len() == 2
        }
    }
}

fn op(payload: &Object) -> Result<Op, DecodeError> {
    match string(payload, "payload", "op")? {
        "c" => Ok(Op::Insert),
        "u" => Ok(Op::Update),
        "d" => Ok(Op::Delete),
        "r" => Ok(Op::Read),
        "t" => Ok(Op::Truncate),
        other => Err(DecodeError::UnknownOp { op: excerpt(other) }),
    }
}

/// The before and after rows; inserts, reads and updates must have an after image.
fn rows(op: Op, shape: &Shape, payload: &Object) -> Result<(Option<Row>, Option<Row>), DecodeError> {
    if op == Op::Truncate {
        return Ok((None, None));
    }
    let mut budget = Budget::per_record();
    let mut before = row(shape, payload, "before", &mut budget)?;
    // A delete's before image under REPLICA IDENTITY DEFAULT has the key only; its other cells are placeholders.
    let key_only =
        shape.schema.replica_identity != ReplicaIdentity::Full && shape.schema.columns.iter().any(|c| c.key);
    if let (Op::Delete, Some(before), true) = (op, before.as_mut(), key_only) {
        for (cell, column) in before.0.iter_mut().zip(&shape.schema.columns) {
            if !column.key {
                *cell = Value::Null;
            }
        }
    }
    let after = row(shape, payload, "after", &mut budget)?;
    if after.is_none() && matches!(op, Op::Insert | Op::Read | Op::Update) {
        return Err(DecodeError::Missing { path: "payload.after".into() });
    }
    Ok((before, after))
}

/// One image, each cell through its column's decoder; a field the image lacks is null.
fn row(
    shape: &Shape,
    payload: &Object,
    image: &str,
    budget: &mut Budget,
) -> Result<Option<Row>, DecodeError> {
    let cells = match payload.get(image) {
        None | Some(J::Null) => return Ok(None),
        Some(J::Object(cells)) => cells,
        Some(other) => return Err(wrong_type(&format!("payload.{image}"), "an object", other)),
    };
    let mut values = Vec::with_capacity(shape.decoders.len());
    for (column, decoder) in shape.schema.columns.iter().zip(&shape.decoders) {
        let cell = cells.get(&column.name).unwrap_or(&J::Null);
        let value = decoder.decode(cell, budget).map_err(|e| DecodeError::Invalid {
            path: format!("payload.{image}.{}{}", column.name, e.at),
            reason: e.reason,
        })?;
        values.push(value);
    }
    Ok(Some(Row(values)))
}

/// `TxInfo` from `source` and the `transaction` block (see the module documentation for the fallbacks).
fn tx_info(source: &Object, payload: &Object, lsn: Lsn) -> Result<TxInfo, DecodeError> {
    const SOURCE: &str = "payload.source";
    // Debezium's txId is PostgreSQL's xid, or during a snapshot the 64-bit txid_current(), whose low 32 bits
    // are the xid.
    let xid = optional_i64(source, SOURCE, "txId")?.map_or(0, |txid| (txid & 0xFFFF_FFFF) as u32);
    let commit_lsn = sequence_commit_lsn(source.get("sequence"))?.unwrap_or(lsn);
    let commit_time_micros = match optional_i64(source, SOURCE, "ts_us")? {
        Some(micros) => micros,
        None => i64_field(source, SOURCE, "ts_ms")?.checked_mul(1_000).ok_or_else(|| {
            DecodeError::Invalid { path: "payload.source.ts_ms".into(), reason: "out of range".into() }
        })?,
    };
    let (total_order, table_order) = match payload.get("transaction") {
        None | Some(J::Null) => (0, 0),
        Some(J::Object(block)) => (
            u64_field(block, "payload.transaction", "total_order")?,
            u64_field(block, "payload.transaction", "data_collection_order")?,
        ),
        Some(other) => return Err(wrong_type("payload.transaction", "an object or null", other)),
    };
    Ok(TxInfo { xid, commit_lsn, commit_time_micros, total_order, table_order })
}

/// The first element of `source.sequence`, a JSON array as a string: `["<commit lsn>","<event lsn>"]`.
fn sequence_commit_lsn(sequence: Option<&J>) -> Result<Option<Lsn>, DecodeError> {
    let text = match sequence {
        None | Some(J::Null) => return Ok(None),
        Some(J::String(text)) => text,
        Some(other) => return Err(wrong_type("payload.source.sequence", "a string", other)),
    };
    let invalid = || DecodeError::Invalid {
        path: "payload.source.sequence".into(),
        reason: format!("{} is not a JSON array of decimal LSN strings", excerpt(text)),
    };
    let elements: Vec<J> = serde_json::from_str(text).map_err(|_| invalid())?;
    match elements.first() {
        None | Some(J::Null) => Ok(None),
        Some(J::String(lsn)) => lsn.parse().map(|lsn| Some(Lsn::new(lsn))).map_err(|_| invalid()),
        Some(_) => Err(invalid()),
    }
}

/// `source.snapshot`: change.rs's codes, plus Debezium's `incremental` and `first_in_data_collection`.
fn snapshot(source: &Object) -> Result<SnapshotMarker, DecodeError> {
    let Some(code) = optional(source, "snapshot") else {
        return Ok(SnapshotMarker::No);
    };
    let code = code.as_str().ok_or_else(|| wrong_type("payload.source.snapshot", "a string", code))?;
    Ok(match code {
        "false" => SnapshotMarker::No,
        "first" => SnapshotMarker::First,
        "true" | "first_in_data_collection" => SnapshotMarker::InProgress,
        "incremental" => SnapshotMarker::Incremental,
        "last_in_data_collection" => SnapshotMarker::LastInTable,
        "last" => SnapshotMarker::Last,
        other => {
            return Err(DecodeError::Invalid {
                path: "payload.source.snapshot".into(),
                reason: format!("unknown snapshot marker {}", excerpt(other)),
            })
        }
    })
}

/// A synthetic, stable `relation_oid`: FNV-1a of `schema`, a NUL, and `table` (NUL cannot occur in a name).
fn synthetic_oid(table: &TableId) -> u32 {
    let bytes = table.schema.bytes().chain([0]).chain(table.name.bytes());
    bytes.fold(0x811C_9DC5_u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193))
}

/// A present, non-null member.
fn optional<'a>(object: &'a Object, key: &str) -> Option<&'a J> {
    object.get(key).filter(|value| !value.is_null())
}

fn required<'a>(object: &'a Object, path: &str, key: &str) -> Result<&'a J, DecodeError> {
    optional(object, key).ok_or_else(|| DecodeError::Missing { path: format!("{path}.{key}") })
}

fn object<'a>(object: &'a Object, path: &str, key: &str) -> Result<&'a Object, DecodeError> {
    let value = required(object, path, key)?;
    value.as_object().ok_or_else(|| wrong_type(&format!("{path}.{key}"), "an object", value))
}

fn string<'a>(object: &'a Object, path: &str, key: &str) -> Result<&'a str, DecodeError> {
    let value = required(object, path, key)?;
    value.as_str().ok_or_else(|| wrong_type(&format!("{path}.{key}"), "a string", value))
}

fn i64_field(object: &Object, path: &str, key: &str) -> Result<i64, DecodeError> {
    let value = required(object, path, key)?;
    value.as_i64().ok_or_else(|| wrong_type(&format!("{path}.{key}"), "a 64-bit integer", value))
}

fn u64_field(object: &Object, path: &str, key: &str) -> Result<u64, DecodeError> {
    let value = required(object, path, key)?;
    value.as_u64().ok_or_else(|| wrong_type(&format!("{path}.{key}"), "a non-negative integer", value))
}

fn optional_i64(object: &Object, path: &str, key: &str) -> Result<Option<i64>, DecodeError> {
    match optional(object, key) {
        None => Ok(None),
        Some(_) => i64_field(object, path, key).map(Some),
    }
}

fn wrong_type(path: &str, expected: &'static str, found: &J) -> DecodeError {
    let found = match found {
        J::Null => "null",
        J::Bool(_) => "a boolean",
        J::Number(_) => "a number",
        J::String(_) => "a string",
        J::Array(_) => "an array",
        J::Object(_) => "an object",
    };
    DecodeError::WrongType { path: path.to_owned(), expected, found }
}
