//! `io.debezium.transforms.ExtractNewRecordState` ("unwrap", event flattening): the value becomes the row
//! state after the change, its schema the `after` struct's schema.
//!
//! Reference: Debezium's "New Record State Extraction" page
//! (<https://debezium.io/documentation/reference/stable/transformations/event-flattening.html>) and
//! `ExtractNewRecordState.java` / `DefaultDeleteHandlingStrategy.java` / `LegacyDeleteHandlingStrategy.java`.
//!
//! Properties:
//! - `delete.tombstone.handling.mode`: `drop` (deletes and tombstones dropped), `tombstone` (a delete becomes
//!   a tombstone, tombstones dropped), `rewrite` (a delete becomes its `before` row plus `__deleted: "true"`,
//!   tombstones dropped), `rewrite-with-tombstone` (as `rewrite`, tombstones kept). In both rewrite modes
//!   creates and updates get `__deleted: "false"`. When set, it overrides the two deprecated options:
//! - `drop.tombstones` (default `true`) and `delete.handling.mode`: `drop` (default), `rewrite`, `none` (a
//!   delete becomes a tombstone).
//! - `add.fields`, `add.headers`: comma-separated envelope fields copied into the value / into headers.
//!   `op` and `ts_ms` (and `ts_us`, `ts_ns`) are top-level, `id`, `total_order` and `data_collection_order`
//!   are in `transaction`, anything else in `source`; `struct.field` names the struct (`source.ts_ms`).
//!   The new name is the prefix (`add.fields.prefix` / `add.headers.prefix`, default `__`) plus the field, or
//!   `struct_field` for a qualified one, or the part after a `:` (`source.ts_ms:EVENT_TS`). A field the
//!   envelope does not have is left out. Added fields' schemas are the envelope field's schema made optional
//!   (no default). Headers are written as Kafka Connect's `SimpleHeaderConverter` writes them (strings as
//!   text, numbers as their decimal text); a kept tombstone gets an `op` header of `d`.
//! - `route.by.field`: the record's topic becomes the value of this `after` field (`before` for a delete);
//!   a null or blank value keeps the topic.
//!
//! Behaviour, as Debezium's: tombstones first (dropped or kept per the mode); a record whose value schema is
//! not a Debezium envelope (name ending `.Envelope`) passes unchanged (heartbeats, transaction markers); a
//! truncate (no `before`, no `after`) is dropped; the rebuilt value schema is `copySchemaBasics` of the row
//! schema, so it is required (`"optional": false`) even though the envelope's `after` is optional.
//!
//! Departures:
//! - Schemaless values: Debezium passes any record without a value schema through unchanged. Here a
//!   schemaless value that is an envelope (an object with a string `op` and both `before` and `after`) is
//!   unwrapped the same way on the payload alone; our default format is schemaless JSON, where unwrapping
//!   is what users configure the transform for.
//! - `drop.fields.header.name`, `drop.fields.from.key`, `drop.fields.keep.schema.compatible` (which act on a
//!   header listing fields, set by other SMTs this module does not have) and the long-removed
//!   `add.source.fields` / `operation.header` are refused rather than ignored.
//! - `route.by.field` applies to a rewritten delete too (Debezium 2.x loses the route in that case).

use serde_json::{Map, Value as J};

use super::connect::{self, header_bytes, is_struct, member, name_of, optional_copy, primitive, struct_like};
use super::{DataError, Outcome, Props, Record, Smt, TransformError};

pub(crate) const CLASS: &str = "io.debezium.transforms.ExtractNewRecordState";

/// The field rewrite modes add.
const DELETED_FIELD: &str = "__deleted";
const DEFAULT_PREFIX: &str = "__";

/// What happens to a delete event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deletes {
    Drop,
    /// The value becomes null (a tombstone of the delete's key).
    Tombstone,
    /// The value becomes the `before` row with `__deleted: "true"`.
    Rewrite,
}

#[derive(Debug)]
pub(crate) struct ExtractNewRecordState {
    keep_tombstones: bool,
    deletes: Deletes,
    /// Whether creates and updates get `__deleted: "false"`.
    rewrite: bool,
    fields: Vec<FieldRef>,
    headers: Vec<FieldRef>,
    route_by_field: Option<String>,
}

/// An `add.fields` / `add.headers` entry (Debezium's `FieldReference`).
#[derive(Debug)]
struct FieldRef {
    /// The envelope struct holding the field; `None` for top-level fields.
    parent: Option<String>,
    field: String,
    new_name: String,
}

impl ExtractNewRecordState {
    pub(crate) fn build(props: &Props<'_>) -> Result<Self, TransformError> {
        props.refuse(
            &["drop.fields.header.name", "drop.fields.from.key", "drop.fields.keep.schema.compatible"],
            "not supported here: it drops fields listed in a header set by another SMT; use ReplaceField \
             with `exclude` instead",
        )?;
        props.refuse(
            &["add.source.fields", "operation.header"],
            "removed from Debezium; use `add.fields` (e.g. `source.lsn`) or `add.headers=op`",
        )?;
        let (keep_tombstones, deletes, rewrite) = match props.non_blank("delete.tombstone.handling.mode") {
            Some(_) => {
                let mode = props.choice(
                    "delete.tombstone.handling.mode",
                    &["drop", "tombstone", "rewrite", "rewrite-with-tombstone"],
                    "tombstone",
                    true,
                )?;
                match mode {
                    "drop" => (false, Deletes::Drop, false),
                    "tombstone" => (false, Deletes::Tombstone, false),
                    "rewrite" => (false, Deletes::Rewrite, true),
                    _ => (true, Deletes::Rewrite, true),
                }
            }
            None => {
                let drop_tombstones = props.bool("drop.tombstones", true)?;
                let mode =
                    props.choice("delete.handling.mode", &["drop", "rewrite", "none"], "drop", true)?;
                let deletes = match mode {
                    "drop" => Deletes::Drop,
                    "rewrite" => Deletes::Rewrite,
                    _ => Deletes::Tombstone,
                };
                (!drop_tombstones, deletes, deletes == Deletes::Rewrite)
            }
        };
        let field_prefix = props.get("add.fields.prefix").unwrap_or(DEFAULT_PREFIX);
        let header_prefix = props.get("add.headers.prefix").unwrap_or(DEFAULT_PREFIX);
        let refs = |key: &str, prefix: &str| -> Result<Vec<FieldRef>, TransformError> {
            props
                .list(key)
                .iter()
                .map(|spec| FieldRef::parse(prefix, spec).map_err(|r| props.invalid(key, r)))
                .collect()
        };
        let fields = refs("add.fields", field_prefix)?;
        let headers = refs("add.headers", header_prefix)?;
        let route_by_field = props.non_blank("route.by.field").map(|f| f.trim().to_owned());
        Ok(ExtractNewRecordState { keep_tombstones, deletes, rewrite, fields, headers, route_by_field })
    }
}

impl FieldRef {
    fn parse(prefix: &str, spec: &str) -> Result<Self, String> {
        // Java's String.split drops trailing empty strings.
        let mut parts: Vec<&str> = spec.split(':').collect();
        while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
            parts.pop();
        }
        let path: Vec<&str> = parts.first().copied().unwrap_or_default().split('.').collect();
        let (parent, field) = match path.as_slice() {
            [field] => (top_level_parent(field), (*field).to_owned()),
            [parent, field, ..] => (Some((*parent).to_owned()), (*field).to_owned()),
            [] => return Err(format!("unexpected field name: {spec}")),
        };
        let new_name = match parts.as_slice() {
            [_] if path.len() == 1 => format!("{prefix}{field}"),
            [_] => format!("{prefix}{}_{field}", parent.as_deref().unwrap_or_default()),
            [_, renamed] => format!("{prefix}{renamed}"),
            _ => return Err(format!("unexpected field name: {spec} (at most one `:`)")),
        };
        Ok(FieldRef { parent, field, new_name })
    }

    /// The schema of the field, made optional; `None` when the envelope schema has no such field.
    fn schema(&self, envelope: &J) -> Option<J> {
        let found = match &self.parent {
            Some(parent) => {
                let parent = connect::field_schema(envelope, parent)?;
                connect::field_schema(&parent, &self.field)
            }
            None => None,
        };
        found.or_else(|| connect::field_schema(envelope, &self.field)).map(|s| optional_copy(&s))
    }

    /// The field's value in an envelope payload; `None` when the payload does not have the field.
    fn value(&self, envelope: &Map<String, J>) -> Option<J> {
        let parent = match &self.parent {
            Some(parent) => match envelope.get(parent) {
                // The struct is there but null (`transaction` of a snapshot row): the field is null.
                Some(J::Null) => return Some(J::Null),
                Some(parent) => parent,
                None => return envelope.get(&self.field).cloned(),
            },
            None => return envelope.get(&self.field).cloned(),
        };
        parent.get(&self.field).or_else(|| envelope.get(&self.field)).cloned()
    }

    /// Schema (when the record has one) and value, or `None` when the envelope lacks the field.
    fn lookup(&self, schema: Option<&J>, envelope: &Map<String, J>) -> Option<(Option<J>, J)> {
        let field_schema = match schema {
            Some(schema) => Some(self.schema(schema)?),
            None => None,
        };
        let value = self.value(envelope);
        match (field_schema, value) {
            (Some(schema), value) => Some((Some(schema), value.unwrap_or(J::Null))),
            (None, Some(value)) => Some((None, value)),
            (None, None) => None,
        }
    }
}

/// Debezium's `determineStruct`.
fn top_level_parent(field: &str) -> Option<String> {
    match field {
        "id" | "total_order" | "data_collection_order" => Some("transaction".into()),
        "op" | "ts_ms" | "ts_us" | "ts_ns" => None,
        _ => Some("source".into()),
    }
}

impl Smt for ExtractNewRecordState {
    fn apply(&mut self, record: &mut Record) -> Result<Outcome, DataError> {
        let Some(value) = &record.value else {
            if !self.keep_tombstones {
                return Ok(Outcome::Drop);
            }
            for header in self.headers.iter().filter(|h| h.field == "op") {
                record.headers.push((header.new_name.clone(), Some(b"d".to_vec())));
            }
            return Ok(Outcome::Keep);
        };
        let is_envelope = match &record.value_schema {
            Some(schema) => name_of(schema).is_some_and(|n| n.ends_with(".Envelope")) && value.is_object(),
            None => {
                value.get("op").is_some_and(J::is_string)
                    && value.get("before").is_some()
                    && value.get("after").is_some()
            }
        };
        if !is_envelope {
            return Ok(Outcome::Keep);
        }
        let envelope = match record.value.take() {
            Some(J::Object(envelope)) => envelope,
            other => {
                record.value = other;
                return Ok(Outcome::Keep);
            }
        };
        let schema = record.value_schema.take();
        let schema = schema.as_ref();

        for header in &self.headers {
            if let Some((_, value)) = header.lookup(schema, &envelope) {
                record.headers.push((header.new_name.clone(), header_bytes(&value)));
            }
        }

        let present = |name: &str| envelope.get(name).is_some_and(|v| !v.is_null());
        let row_name = match (present("after"), present("before")) {
            (false, false) => return Ok(Outcome::Drop), // a truncate
            (true, _) => "after",
            (false, true) => "before",
        };
        let deleted = row_name == "before";
        if let Some(field) = &self.route_by_field {
            route(record, &envelope, row_name, field)?;
        }
        if deleted {
            match self.deletes {
                Deletes::Drop => return Ok(Outcome::Drop),
                Deletes::Tombstone => {
                    record.value_schema = schema.and_then(|s| connect::field_schema(s, "after"));
                    record.value = None;
                    return Ok(Outcome::Keep);
                }
                Deletes::Rewrite => {}
            }
        }

        let row_schema = match schema {
            Some(schema) => Some(
                connect::field_schema(schema, row_name)
                    .ok_or_else(|| DataError::new(format!("the envelope schema has no field {row_name}")))?,
            ),
            None => None,
        };
        let mut row = match envelope.get(row_name) {
            Some(J::Object(row)) => row.clone(),
            Some(other) => {
                return Err(DataError::new(format!(
                    "Only Struct objects supported for [source field insertion], found {} in {row_name}",
                    connect::kind(other)
                )))
            }
            None => Map::new(),
        };
        let mut members = match &row_schema {
            Some(s) if is_struct(s) => connect::members(s).to_vec(),
            Some(_) => {
                return Err(DataError::new(format!(
                    "Only Struct objects supported for [source field insertion], found a non-struct {row_name} schema"
                )))
            }
            None => Vec::new(),
        };
        let mut add = |name: &str, field_schema: Option<J>, value: J| -> Result<(), DataError> {
            if row.contains_key(name) || members.iter().any(|m| connect::member_name(m) == Some(name)) {
                return Err(DataError::new(format!(
                    "Cannot create field because of field name duplication {name}"
                )));
            }
            if let Some(field_schema) = field_schema {
                members.push(member(field_schema, name));
            }
            row.insert(name.to_owned(), value);
            Ok(())
        };
        for field in &self.fields {
            if let Some((field_schema, value)) = field.lookup(schema, &envelope) {
                add(&field.new_name, field_schema, value)?;
            }
        }
        if self.rewrite {
            let deleted_schema = row_schema.as_ref().map(|_| primitive("string", true));
            add(DELETED_FIELD, deleted_schema, J::from(if deleted { "true" } else { "false" }))?;
        }
        record.value_schema = row_schema.map(|s| struct_like(&s, members, false));
        record.value = Some(J::Object(row));
        Ok(Outcome::Keep)
    }
}

/// `route.by.field`: the topic becomes the row's field value, unless null or blank.
fn route(
    record: &mut Record,
    envelope: &Map<String, J>,
    row_name: &str,
    field: &str,
) -> Result<(), DataError> {
    let row = envelope.get(row_name).and_then(J::as_object);
    match row.and_then(|r| r.get(field)) {
        None => {
            Err(DataError::new(format!("route.by.field: {field} is not a valid field name of {row_name}")))
        }
        Some(J::Null) => Ok(()),
        Some(J::String(topic)) if topic.trim().is_empty() => Ok(()),
        Some(J::String(topic)) => {
            record.topic = topic.clone();
            Ok(())
        }
        Some(other) => Err(DataError::new(format!(
            "route.by.field: {row_name}.{field} is {}, not a string",
            connect::kind(other)
        ))),
    }
}
