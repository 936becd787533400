//! [`ColumnPolicyTransform`]: Debezium's column properties applied to the change events a `cdc connect`
//! connector produces. The worker puts it in front of the connector's SMTs ([`Chain::prepend`]), since
//! Debezium applies these inside the connector, before any transform sees the record:
//!
//! ```text
//!  Envelope ─▶ Record ─▶ ColumnPolicyTransform ─▶ transforms=… (SMTs) ─▶ serializer ─▶ Kafka
//!                        │ column.include.list / column.exclude.list: the column leaves before/after, payload
//!                        │   and row schema (the key keeps its columns)
//!                        └ column.truncate.to.N.chars, column.mask.with.N.chars,
//!                          column.mask.hash[.v2].<algorithm>.with.salt.<salt>: the first matching rule
//!                          (`ColumnPolicies::action_for`) rewrites the column's value in before/after
//! ```
//!
//! Only Debezium change events are touched: a value with `op` and `source.schema`/`source.table`. Transaction
//! markers, tombstones and anything else pass unchanged. With a value schema (`json-schema`, Avro) the row
//! struct of `before` and `after` is edited together with the payload; without one (plain JSON) the payload
//! alone, as Debezium's schemaless output would show it.
//!
//! What Debezium does, and is done here (Debezium PostgreSQL connector documentation, "Connector
//! properties": <https://debezium.io/documentation/reference/stable/connectors/postgresql.html#postgresql-property-column-exclude-list>,
//! `#postgresql-property-column-truncate-to-length-chars`, `#postgresql-property-column-mask-with-length-chars`,
//! `#postgresql-property-column-mask-hash`; the code in `io.debezium.relational.mapping`: `ColumnMappers`,
//! `MaskStrings`, `TruncateStrings`, and `TableSchemaBuilder`, which wraps each column's converter as
//! `mapper.convert(converter.convert(value))` for the value only, never the key):
//! - **Exclusion**: an excluded column is missing from `before`, `after` and the `…Value` schema; the key
//!   still carries it ("Primary key columns are always included in an event's key").
//! - **Mask with N chars** (`MaskStrings.MaskingValueConverter`): a character column's value becomes N `*`
//!   whatever it was, null included (`ColumnMappersTest`: "null values are masked, too").
//! - **Hash** (`MaskStrings.HashValueConverter`): a character column's value becomes the lower-case hex digest
//!   of the salt's UTF-8 bytes followed by the value's bytes: for `.v2`, the UTF-8 bytes of the string; for
//!   v1, the string as Java serialization writes it (`ObjectOutputStream.writeObject`: `AC ED 00 05`, then
//!   `TC_STRING` 0x74 with a 16-bit length, or `TC_LONGSTRING` 0x7C with a 64-bit one, and the modified
//!   UTF-8 bytes). Null stays null. When the column declares a length (`varchar(20)`), the hex is cut to it.
//!   Algorithms: Java `MessageDigest` names, of which MD5, SHA-1 and the SHA-2 family are implemented; MD2
//!   and SHA3-* are refused when the connector is created ([`unsupported`]).
//! - **Truncate to N chars** (`TruncateStrings`): a string value (of a `string` column) longer than N
//!   characters keeps its first N; null, shorter and non-string values are unchanged.
//! - The unchanged-TOAST placeholder (`__debezium_unavailable_value`) goes through the rule like any value.
//! - **Schema**: a masked or hashed column's schema gains the parameter `masked=true` (`MaskStrings.
//!   alterFieldSchema`, whatever the column's type), a truncated string column's `truncateLength=N` unless its
//!   declared length is at most N (`TruncateStrings.isTruncationPossible`).
//! - **Character columns**: masks and hashes apply to columns of the JDBC character types only, and leave
//!   other columns unchanged (`MaskStrings.create`). Debezium's PostgreSQL types of those JDBC types are
//!   `text`, `varchar`, `bpchar`, `name` and `"char"`, and enums (`TypeRegistry` maps them to `VARCHAR`);
//!   `json`, `uuid`, `xml`, `citext`, `inet` and the like are not. Here a column is a character column when
//!   its Connect schema is a `string` and either its `__debezium.source.column.type` parameter names one of
//!   those types, or it is an `io.debezium.data.Enum`, or, without that parameter, the schema has no logical
//!   name. A rule that matches a column it cannot apply to is logged once per column.
//!
//! Where this departs from Debezium, and why:
//! - Without `__debezium.source.column.type` (`propagate_source_types = false`), every plain `string` column
//!   counts as a character column: `inet`, `macaddr`, `citext`, numerics with `decimal.handling.mode=string`
//!   and bytea in `binary.handling.mode=base64|hex` are masked and hashed too, where Debezium leaves them. A
//!   domain over `text` is not masked when the parameter names the domain (Debezium resolves it to its base
//!   type): the rule is logged as not applicable.
//! - Without a value schema (plain JSON), a string or null value is a character column, anything else is not.
//! - A hash is cut to the declared length only when the schema carries `__debezium.source.column.length`.
//! - Characters are Unicode scalar values; Java counts UTF-16 units, so Debezium may cut a character
//!   outside the Basic Multilingual Plane in half where this keeps or drops it whole.
//! - `truncateLength` is added to `string` columns only (Debezium also adds it to other columns whose JDBC
//!   length exceeds N, and truncates any value its converter produced as a string: a `uuid` or `json`
//!   column too, as is done here).
//! - Debezium's first-match rule list also holds `column.propagate.source.type`, so a masked, hashed or
//!   truncated column loses its source-type parameters there; here it keeps them.
//!
//! [`Chain::prepend`]: cdc_kafka::transforms::Chain::prepend

use std::collections::{HashMap, HashSet};

use cdc_kafka::transforms::{Record, Transform, TransformError};
use serde_json::{Map, Value as J};
use sha2::Digest as _;

use super::filters::{ColumnAction, ColumnPolicies, HashAlgorithm, HashVersion, TableFilters};

/// `MaskStrings.alterFieldSchema`'s schema parameter.
const MASKED_PARAMETER: &str = "masked";
/// `TruncateStrings.alterFieldSchema`'s schema parameter.
const TRUNCATE_LENGTH_PARAMETER: &str = "truncateLength";
/// `column.propagate.source.type`'s parameters (cdc-core's envelope writes them).
const SOURCE_TYPE_PARAMETER: &str = "__debezium.source.column.type";
const SOURCE_LENGTH_PARAMETER: &str = "__debezium.source.column.length";
/// The logical name of an enum column's schema.
const ENUM_SCHEMA_NAME: &str = "io.debezium.data.Enum";
/// PostgreSQL's types of the JDBC character types, as `__debezium.source.column.type` names them.
const CHARACTER_TYPES: [&str; 5] = ["TEXT", "VARCHAR", "BPCHAR", "NAME", "CHAR"];
/// The name in this transform's errors.
const NAME: &str = "column properties";
/// The row images a change event carries.
const ROWS: [&str; 2] = ["before", "after"];

/// Why a column rule cannot run here, for the worker to refuse it when the connector is created; `None` when
/// it can.
pub(crate) fn unsupported(action: &ColumnAction) -> Option<String> {
    match action {
        ColumnAction::Hash { algorithm, .. } if !algorithm_supported(*algorithm) => Some(format!(
            "hashing with {} (MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512, SHA-512/224 and SHA-512/256 are)",
            algorithm_name(*algorithm)
        )),
        _ => None,
    }
}

/// Debezium's column filter and column rules, applied to each change event. See the module doc.
#[derive(Debug)]
pub struct ColumnPolicyTransform {
    filters: TableFilters,
    policies: ColumnPolicies,
    /// Per `schema.table`, per column: what to do (the lists are regular expressions; each name is matched once).
    plans: HashMap<String, HashMap<String, Plan>>,
    /// `schema.table.column` of the rules already reported as not applying to their column.
    reported: HashSet<String>,
}

/// What the properties do to one column.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    Keep,
    /// Excluded by `column.include.list` / `column.exclude.list`.
    Drop,
    /// The first rule that matches the column.
    Apply(ColumnAction),
}

impl ColumnPolicyTransform {
    pub fn new(filters: &TableFilters, policies: &ColumnPolicies) -> Self {
        ColumnPolicyTransform {
            filters: filters.clone(),
            policies: policies.clone(),
            plans: HashMap::new(),
            reported: HashSet::new(),
        }
    }

    fn plan(&self, schema: &str, table: &str, column: &str) -> Plan {
        if !self.filters.column_included(schema, table, column) {
            return Plan::Drop;
        }
        match self.policies.action_for(schema, table, column) {
            Some(action) => Plan::Apply(action.clone()),
            None => Plan::Keep,
        }
    }
}

impl Transform for ColumnPolicyTransform {
    fn apply(&mut self, mut record: Record) -> Result<Option<Record>, TransformError> {
        let Some((schema, table)) = change_event_table(record.value.as_ref()) else {
            return Ok(Some(record));
        };
        // Plan each column once; most records of most tables then leave here unchanged.
        let key = format!("{schema}.{table}");
        let names = column_names(&record);
        let known = self.plans.get(&key);
        let new: Vec<(String, Plan)> = names
            .iter()
            .filter(|n| known.is_none_or(|plans| !plans.contains_key(**n)))
            .map(|n| ((*n).to_owned(), self.plan(&schema, &table, n)))
            .collect();
        let plans = self.plans.entry(key).or_default();
        plans.extend(new);
        if names.iter().all(|n| plans.get(*n).is_none_or(|p| *p == Plan::Keep)) {
            return Ok(Some(record));
        }

        let columns = Columns { schema: &schema, table: &table, plans };
        let shapes = row_shapes(record.value_schema.as_ref());
        if let Some(J::Object(payload)) = record.value.as_mut() {
            for side in ROWS {
                if let Some(J::Object(row)) = payload.get_mut(side) {
                    columns.edit_row(side, row, shapes.as_ref(), &mut self.reported).map_err(|reason| {
                        TransformError::Record { transform: NAME.into(), topic: record.topic.clone(), reason }
                    })?;
                }
            }
        }
        if let Some(value_schema) = record.value_schema.as_mut() {
            columns.edit_schema(value_schema);
        }
        Ok(Some(record))
    }
}

/// `(source.schema, source.table)` of a change event's value; `None` for any other record.
fn change_event_table(value: Option<&J>) -> Option<(String, String)> {
    let payload = value?.as_object()?;
    payload.get("op")?.as_str()?;
    let source = payload.get("source")?.as_object()?;
    Some((source.get("schema")?.as_str()?.to_owned(), source.get("table")?.as_str()?.to_owned()))
}

/// The row struct's fields of the value schema (`before`'s and `after`'s are the same `…Value` schema).
fn row_fields(value_schema: Option<&J>) -> Option<&Vec<J>> {
    value_schema?
        .get("fields")?
        .as_array()?
        .iter()
        .filter(|f| f.get("field").and_then(J::as_str).is_some_and(|name| ROWS.contains(&name)))
        .find_map(|f| f.get("fields")?.as_array())
}

/// The event's columns: the row schema's fields, or without a schema the keys of `before` and `after`.
fn column_names(record: &Record) -> Vec<&str> {
    if let Some(fields) = row_fields(record.value_schema.as_ref()) {
        return fields.iter().filter_map(|f| f.get("field")?.as_str()).collect();
    }
    let mut names: Vec<&str> = Vec::new();
    let payload = record.value.as_ref().and_then(J::as_object);
    for row in ROWS.iter().filter_map(|side| payload?.get(*side)?.as_object()) {
        for name in row.keys() {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
    }
    names
}

/// Each column's schema, by name, when the value has a schema.
fn row_shapes(value_schema: Option<&J>) -> Option<HashMap<&str, Shape<'_>>> {
    let fields = row_fields(value_schema)?;
    Some(fields.iter().filter_map(|f| Some((f.get("field")?.as_str()?, Shape::of(f)))).collect())
}

/// What the rules need of a column's Connect schema.
#[derive(Debug, Clone, Copy)]
struct Shape<'a> {
    connect_type: &'a str,
    /// The logical type (`io.debezium.data.Json`, …).
    name: Option<&'a str>,
    /// `__debezium.source.column.type`.
    source_type: Option<&'a str>,
    /// `__debezium.source.column.length`.
    length: Option<usize>,
}

impl<'a> Shape<'a> {
    fn of(field: &'a J) -> Shape<'a> {
        let parameter = |key: &str| field.get("parameters")?.get(key)?.as_str();
        Shape {
            connect_type: field.get("type").and_then(J::as_str).unwrap_or_default(),
            name: field.get("name").and_then(J::as_str),
            source_type: parameter(SOURCE_TYPE_PARAMETER),
            length: parameter(SOURCE_LENGTH_PARAMETER).and_then(|l| l.parse().ok()),
        }
    }

    /// Whether Debezium's masks apply (see the module doc).
    fn is_character(&self) -> bool {
        self.connect_type == "string"
            && match (self.name, self.source_type) {
                (Some(name), _) => name == ENUM_SCHEMA_NAME,
                (None, Some(source_type)) => CHARACTER_TYPES.contains(&source_type),
                (None, None) => true,
            }
    }
}

/// One event's table and its column plans.
struct Columns<'a> {
    schema: &'a str,
    table: &'a str,
    plans: &'a HashMap<String, Plan>,
}

impl Columns<'_> {
    fn plan(&self, column: &str) -> &Plan {
        self.plans.get(column).unwrap_or(&Plan::Keep)
    }

    /// Drops excluded columns from one row image and rewrites those a rule matches.
    fn edit_row(
        &self,
        side: &str,
        row: &mut Map<String, J>,
        shapes: Option<&HashMap<&str, Shape<'_>>>,
        reported: &mut HashSet<String>,
    ) -> Result<(), String> {
        row.retain(|column, _| *self.plan(column) != Plan::Drop);
        for (column, value) in row.iter_mut() {
            let Plan::Apply(action) = self.plan(column) else { continue };
            // Without a schema, the value is all there is to go by.
            let character = match shapes {
                Some(shapes) => shapes.get(column.as_str()).is_some_and(Shape::is_character),
                None => value.is_string() || value.is_null(),
            };
            match action {
                ColumnAction::TruncateTo(max) => {
                    let is_string_column = shapes
                        .is_none_or(|s| s.get(column.as_str()).is_some_and(|s| s.connect_type == "string"));
                    if let (true, J::String(text)) = (is_string_column, &mut *value) {
                        if let Some((cut, _)) = text.char_indices().nth(*max) {
                            text.truncate(cut);
                        }
                    }
                }
                ColumnAction::MaskWithChars(_) | ColumnAction::Hash { .. } if !character => {
                    let key = format!("{}.{}.{column}", self.schema, self.table);
                    if reported.insert(key) {
                        tracing::warn!(
                            table = %format!("{}.{}", self.schema, self.table),
                            column = %column,
                            rule = %describe(action),
                            "column rule not applied: not a character column (Debezium leaves it unchanged too)"
                        );
                    }
                }
                ColumnAction::MaskWithChars(count) => *value = J::String("*".repeat(*count)),
                ColumnAction::Hash { algorithm, salt, version } => match value {
                    J::Null => {}
                    J::String(text) => {
                        let mut hex = hash(*algorithm, *version, salt, text).ok_or_else(|| {
                            format!("hashing with {} is not supported", algorithm_name(*algorithm))
                        })?;
                        let declared = shapes.and_then(|s| s.get(column.as_str())?.length);
                        if let Some(length) = declared.filter(|l| *l > 0) {
                            hex.truncate(length);
                        }
                        *value = J::String(hex);
                    }
                    // Not the value itself in the message: the rule is there to keep it out of sight.
                    other => {
                        let kind = match other {
                            J::Bool(_) => "a boolean",
                            J::Number(_) => "a number",
                            J::Array(_) => "an array",
                            _ => "an object",
                        };
                        return Err(format!(
                            "{side}.{column} of {}.{} is {kind}, not a string, although its schema makes it a \
                             character column, which {} hashes",
                            self.schema,
                            self.table,
                            describe(action)
                        ));
                    }
                },
            }
        }
        Ok(())
    }

    /// The same on the row struct of `before` and `after` in the value schema: excluded fields go, masked and
    /// truncated ones get Debezium's parameters.
    fn edit_schema(&self, value_schema: &mut J) {
        let Some(fields) = value_schema.get_mut("fields").and_then(J::as_array_mut) else { return };
        for row in fields.iter_mut() {
            if !row.get("field").and_then(J::as_str).is_some_and(|name| ROWS.contains(&name)) {
                continue;
            }
            let Some(columns) = row.get_mut("fields").and_then(J::as_array_mut) else { continue };
            columns
                .retain(|c| c.get("field").and_then(J::as_str).is_none_or(|n| *self.plan(n) != Plan::Drop));
            for column in columns.iter_mut() {
                let Some(name) = column.get("field").and_then(J::as_str) else { continue };
                let Plan::Apply(action) = self.plan(name) else { continue };
                let parameter = match action {
                    ColumnAction::MaskWithChars(_) | ColumnAction::Hash { .. } => {
                        Some((MASKED_PARAMETER, "true".to_owned()))
                    }
                    ColumnAction::TruncateTo(max) => {
                        let shape = Shape::of(column);
                        (shape.connect_type == "string" && shape.length.is_none_or(|l| l > *max))
                            .then(|| (TRUNCATE_LENGTH_PARAMETER, max.to_string()))
                    }
                };
                if let (Some((key, value)), J::Object(schema)) = (parameter, column) {
                    add_parameter(schema, key, value);
                }
            }
        }
    }
}

/// Adds a schema parameter where `JsonConverter.asJsonSchema` writes `parameters`: after `doc`, before
/// `default` and the struct member's `field`.
fn add_parameter(schema: &mut Map<String, J>, key: &str, value: String) {
    if let Some(J::Object(parameters)) = schema.get_mut("parameters") {
        parameters.insert(key.to_owned(), J::String(value));
        return;
    }
    let mut parameters = Map::new();
    parameters.insert(key.to_owned(), J::String(value));
    let mut rebuilt = Map::new();
    let mut pending = Some(J::Object(parameters));
    for (k, v) in std::mem::take(schema) {
        if k == "default" || k == "field" {
            if let Some(parameters) = pending.take() {
                rebuilt.insert("parameters".to_owned(), parameters);
            }
        }
        rebuilt.insert(k, v);
    }
    if let Some(parameters) = pending {
        rebuilt.insert("parameters".to_owned(), parameters);
    }
    *schema = rebuilt;
}

/// The property shape of a rule, for messages.
fn describe(action: &ColumnAction) -> String {
    match action {
        ColumnAction::TruncateTo(n) => format!("column.truncate.to.{n}.chars"),
        ColumnAction::MaskWithChars(n) => format!("column.mask.with.{n}.chars"),
        ColumnAction::Hash { algorithm, version, .. } => {
            let v2 = if *version == HashVersion::V2 { "v2." } else { "" };
            format!("column.mask.hash.{v2}{}.with.salt.…", algorithm_name(*algorithm))
        }
    }
}

fn algorithm_name(algorithm: HashAlgorithm) -> &'static str {
    match algorithm {
        HashAlgorithm::Md2 => "MD2",
        HashAlgorithm::Md5 => "MD5",
        HashAlgorithm::Sha1 => "SHA-1",
        HashAlgorithm::Sha224 => "SHA-224",
        HashAlgorithm::Sha256 => "SHA-256",
        HashAlgorithm::Sha384 => "SHA-384",
        HashAlgorithm::Sha512 => "SHA-512",
        HashAlgorithm::Sha512_224 => "SHA-512/224",
        HashAlgorithm::Sha512_256 => "SHA-512/256",
        HashAlgorithm::Sha3_224 => "SHA3-224",
        HashAlgorithm::Sha3_256 => "SHA3-256",
        HashAlgorithm::Sha3_384 => "SHA3-384",
        HashAlgorithm::Sha3_512 => "SHA3-512",
    }
}

fn algorithm_supported(algorithm: HashAlgorithm) -> bool {
    digest(algorithm, &[]).is_some()
}

/// `MaskStrings.HashValueConverter`: the hex digest of the salt and the value's bytes (see the module doc).
fn hash(algorithm: HashAlgorithm, version: HashVersion, salt: &str, value: &str) -> Option<String> {
    let mut data = salt.as_bytes().to_vec();
    match version {
        HashVersion::V2 => data.extend_from_slice(value.as_bytes()),
        HashVersion::V1 => data.extend(java_serialized(value)),
    }
    Some(digest(algorithm, &data)?.iter().map(|b| format!("{b:02x}")).collect())
}

/// The digest of `data`; `None` for the algorithms without an implementation here.
fn digest(algorithm: HashAlgorithm, data: &[u8]) -> Option<Vec<u8>> {
    Some(match algorithm {
        HashAlgorithm::Md5 => <md5::Md5 as md5::Digest>::digest(data).to_vec(),
        HashAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
        HashAlgorithm::Sha224 => sha2::Sha224::digest(data).to_vec(),
        HashAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
        HashAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
        HashAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        HashAlgorithm::Sha512_224 => sha2::Sha512_224::digest(data).to_vec(),
        HashAlgorithm::Sha512_256 => sha2::Sha512_256::digest(data).to_vec(),
        HashAlgorithm::Md2
        | HashAlgorithm::Sha3_224
        | HashAlgorithm::Sha3_256
        | HashAlgorithm::Sha3_384
        | HashAlgorithm::Sha3_512 => return None,
    })
}

/// A `String` as `new ObjectOutputStream(out).writeObject(s)` writes it: the stream header, then `TC_STRING`
/// and a 16-bit length, or `TC_LONGSTRING` and a 64-bit one past 65535 bytes, then the modified UTF-8 of its
/// UTF-16 units (`DataOutputStream.writeUTF`: NUL as two bytes, a supplementary character as two three-byte
/// surrogates).
fn java_serialized(s: &str) -> Vec<u8> {
    const STREAM_HEADER: [u8; 4] = [0xAC, 0xED, 0x00, 0x05];
    const TC_STRING: u8 = 0x74;
    const TC_LONGSTRING: u8 = 0x7C;
    let mut body = Vec::with_capacity(s.len());
    for unit in s.encode_utf16() {
        let [high, low] = unit.to_be_bytes();
        match unit {
            0x0001..=0x007F => body.push(low),
            0x0000 | 0x0080..=0x07FF => {
                body.extend([0xC0 | ((high & 0x07) << 2) | (low >> 6), 0x80 | (low & 0x3F)]);
            }
            _ => body.extend([
                0xE0 | (high >> 4),
                0x80 | ((high & 0x0F) << 2) | (low >> 6),
                0x80 | (low & 0x3F),
            ]),
        }
    }
    let mut out = STREAM_HEADER.to_vec();
    match u16::try_from(body.len()) {
        Ok(length) => {
            out.push(TC_STRING);
            out.extend(length.to_be_bytes());
        }
        Err(_) => {
            out.push(TC_LONGSTRING);
            out.extend((body.len() as u64).to_be_bytes());
        }
    }
    out.extend(body);
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use cdc_core::envelope::{Envelope, EnvelopeConfig, EventFormat};
    use cdc_core::{ChangeEvent, Column, Lsn, Op, PgType, ReplicaIdentity, Row, SchemaRef, SnapshotMarker};
    use cdc_core::{TableId, TableSchema, TxInfo, TypeKind, Value};
    use cdc_kafka::transforms::{Chain, TransformSpec};
    use serde_json::json;

    use super::*;
    use crate::connect::properties::{translate_with, ConnectorConfig};

    const TS_MS: i64 = 1_700_000_000_000;
    const VARHDRSZ: i32 = 4;

    /// The transform a connector with these Debezium properties gets.
    fn transform(properties: &[(&str, &str)]) -> ColumnPolicyTransform {
        let config: BTreeMap<String, String> = [
            ("connector.class", "io.debezium.connector.postgresql.PostgresConnector"),
            ("database.hostname", "db.internal"),
            ("database.user", "replicator"),
            ("database.dbname", "shop"),
            ("topic.prefix", "shop"),
            ("plugin.name", "pgoutput"),
        ]
        .into_iter()
        .chain(properties.iter().copied())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let connector = ConnectorConfig { name: "shop-connector".into(), config };
        let mut base = crate::config::Config::default();
        base.kafka.bootstrap_servers = "kafka:9092".into();
        let translated = translate_with(&connector, &base, &|_| None).unwrap_or_else(|r| panic!("{r}"));
        ColumnPolicyTransform::new(&translated.filters, &translated.column_policies)
    }

    fn column(name: &str, pg_type: PgType, type_modifier: i32, nullable: bool, key: bool) -> Column {
        Column { name: name.into(), pg_type, type_modifier, nullable, key, fill_value: None }
    }

    fn builtin(oid: u32) -> PgType {
        PgType::builtin(oid).unwrap()
    }

    /// `public.customers`: a key, character columns (varchar(n), text, an enum), and others (int4, json).
    fn customers() -> SchemaRef {
        let mood = PgType::new(16_400, "mood", TypeKind::Enum(vec!["happy".into(), "sad".into()]));
        Arc::new(TableSchema {
            relation_oid: 16_385,
            id: TableId::new("public", "customers"),
            columns: vec![
                column("customer_id", builtin(23), -1, false, true),
                column("email", builtin(1043), 255 + VARHDRSZ, false, false),
                column("phone", builtin(1043), 50 + VARHDRSZ, true, false),
                column("note", builtin(25), -1, true, false),
                column("code", builtin(1043), 3 + VARHDRSZ, true, false),
                column("mood", mood, -1, true, false),
                column("visits", builtin(23), -1, true, false),
                column("profile", builtin(114), -1, true, false),
            ],
            replica_identity: ReplicaIdentity::Full,
            version: 1,
        })
    }

    fn ada() -> Vec<Value> {
        vec![
            Value::Int32(1),
            Value::Text("ada@example.com".into()),
            Value::Null,
            Value::Text("naïve café".into()),
            Value::Text("AB1".into()),
            Value::Enum("happy".into()),
            Value::Int32(7),
            Value::Json(r#"{"vip":true}"#.into()),
        ]
    }

    fn event(op: Op, before: Option<Vec<Value>>, after: Option<Vec<Value>>) -> ChangeEvent {
        ChangeEvent {
            op,
            schema: customers(),
            before: before.map(Row),
            after: after.map(Row),
            lsn: Lsn::new(24_023_000),
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

    /// The record the Kafka sink builds for `event` in json-schema format (with the source-type parameters).
    fn record(event: &ChangeEvent) -> Record {
        let config = EnvelopeConfig { format: EventFormat::JsonSchema, ..EnvelopeConfig::default() };
        let mut envelope = Envelope::new(config, "shop");
        let topic = envelope.topic(&event.schema.id);
        let (key_schema, key) = match envelope.key_parts(event) {
            Some((schema, key)) => (schema.cloned(), Some(key)),
            None => (None, None),
        };
        let (value_schema, value) = envelope.value_parts_at(event, TS_MS);
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

    /// An update of Ada (REPLICA IDENTITY FULL: `before` is the whole old row).
    fn update() -> Record {
        let mut after = ada();
        after[3] = Value::Text("changed".into());
        record(&event(Op::Update, Some(ada()), Some(after)))
    }

    fn applied(transform: &mut ColumnPolicyTransform, record: Record) -> Record {
        Transform::apply(transform, record).unwrap().unwrap()
    }

    /// `before` or `after` of the payload.
    fn row<'a>(record: &'a Record, side: &str) -> &'a Map<String, J> {
        record.value.as_ref().unwrap()[side].as_object().unwrap()
    }

    /// The column schemas of the row struct `side` in the value schema.
    fn row_schema<'a>(record: &'a Record, side: &str) -> &'a Vec<J> {
        let fields = record.value_schema.as_ref().unwrap()["fields"].as_array().unwrap();
        fields.iter().find(|f| f["field"] == side).unwrap()["fields"].as_array().unwrap()
    }

    fn field<'a>(record: &'a Record, side: &str, name: &str) -> &'a J {
        row_schema(record, side).iter().find(|f| f["field"] == name).unwrap()
    }

    fn names(row: &Map<String, J>) -> Vec<&str> {
        row.keys().map(String::as_str).collect()
    }

    #[test]
    fn an_excluded_column_leaves_before_after_and_the_row_schema_but_not_the_key() {
        let mut t =
            transform(&[("column.exclude.list", "public.customers.phone, public\\.customers\\.customer_id")]);
        let out = applied(&mut t, update());
        let kept = ["email", "note", "code", "mood", "visits", "profile"];
        for side in ROWS {
            assert_eq!(names(row(&out, side)), kept, "{side}");
            let schema: Vec<&str> =
                row_schema(&out, side).iter().map(|f| f["field"].as_str().unwrap()).collect();
            assert_eq!(schema, kept, "{side}");
        }
        assert_eq!(row(&out, "after")["note"], "changed");
        assert_eq!(out.key, Some(json!({ "customer_id": 1 })), "key columns stay in the key");
        assert_eq!(out.key_schema, update().key_schema);

        // The include list keeps only what it names; a delete's `after` is null and stays so.
        let mut t = transform(&[("column.include.list", "public.customers.(customer_id|email)")]);
        let out = applied(&mut t, record(&event(Op::Delete, Some(ada()), None)));
        assert_eq!(names(row(&out, "before")), ["customer_id", "email"]);
        assert_eq!(out.value.as_ref().unwrap()["after"], J::Null);
        assert_eq!(row_schema(&out, "after").len(), 2);
    }

    /// `ColumnMappersTest.shouldMaskStringsToFixedLength`: any value, null included, becomes N asterisks;
    /// `MaskStrings.create`: only character columns; `alterFieldSchema`: `masked=true` on every matched column.
    #[test]
    fn masking_replaces_character_values_and_nulls_with_n_asterisks() {
        let mut t =
            transform(&[("column.mask.with.5.chars", "public.customers.(email|phone|mood|visits|profile)")]);
        let out = applied(&mut t, update());
        for side in ROWS {
            let r = row(&out, side);
            assert_eq!(
                (&r["email"], &r["phone"], &r["mood"]),
                (&json!("*****"), &json!("*****"), &json!("*****"))
            );
            assert_eq!(
                (&r["visits"], &r["profile"]),
                (&json!(7), &json!(r#"{"vip":true}"#)),
                "not character columns"
            );
            assert_eq!(r["code"], "AB1");
        }
        assert_eq!(
            field(&out, "after", "email").to_string(),
            json!({
                "type": "string",
                "optional": false,
                "parameters": {
                    "__debezium.source.column.type": "VARCHAR",
                    "__debezium.source.column.length": "255",
                    "masked": "true"
                },
                "field": "email"
            })
            .to_string()
        );
        assert_eq!(field(&out, "before", "visits")["parameters"]["masked"], "true");
        assert_eq!(field(&out, "after", "code").get("parameters").unwrap().get("masked"), None);
        assert_eq!(out.key, Some(json!({ "customer_id": 1 })));
        let mut zero = transform(&[("column.mask.with.0.chars", "public.customers.email")]);
        assert_eq!(row(&applied(&mut zero, update()), "after")["email"], "");
    }

    /// The digests in Debezium's own tests: `ColumnMappersTest.shouldMaskStringsToMaskHashV1Column` / `…V2Column`
    /// and `OracleConnectorIT.shouldConsumeEventsWithMaskedAndTruncatedColumns` (`test`, SHA-256, salt
    /// `CzQMA0cB5K`: the full digest in a `varchar2(255)`, its first 20 characters in a `varchar2(20)`).
    #[test]
    fn hashes_are_debezium_s_v1_and_v2_digests() {
        let v = "12345678901234567890";
        let sha256 = HashAlgorithm::Sha256;
        assert_eq!(
            hash(sha256, HashVersion::V1, "salt123", v).unwrap(),
            "5944c66655670e4ce234df8529d452ba1cae10a641b9cd1583abf62585b8515a"
        );
        assert_eq!(
            hash(sha256, HashVersion::V2, "salt123", v).unwrap(),
            "b65875d34a3dedf070f3a012970bf3b5da424560d7be3d2c23b986b525d2d7f3"
        );
        assert_eq!(
            hash(sha256, HashVersion::V1, "CzQMA0cB5K", "test").unwrap(),
            "8e68c68edbbac316dfe2f6ada6b0d2d3e2002b487a985d4b7c7c82dd83b0f4d7"
        );
        // The other algorithms, against Python's hashlib over the same bytes.
        let ada = "ada@example.com";
        assert_eq!(
            hash(HashAlgorithm::Md5, HashVersion::V2, "pepper", ada).unwrap(),
            "8b33de83b4480ca4c85dab4e54a63eb2"
        );
        assert_eq!(
            hash(HashAlgorithm::Sha1, HashVersion::V1, "pepper", ada).unwrap(),
            "e308ba302ee66d3ef9de2cace66c8afe736bcf2e"
        );
        assert_eq!(
            hash(HashAlgorithm::Sha512_256, HashVersion::V2, "pepper", ada).unwrap(),
            "ad368a71017d5fab2c62e4f08f644caf13e1ae164544d8ca2707223ac148efb2"
        );
        assert_eq!(hash(HashAlgorithm::Sha3_256, HashVersion::V2, "pepper", ada), None);
    }

    #[test]
    fn v1_hashes_the_java_serialization_of_the_string() {
        // Modified UTF-8: NUL as C0 80, é as C3 A9, U+1F600 as two three-byte surrogates.
        assert_eq!(
            java_serialized("é\0😀"),
            [
                0xAC, 0xED, 0x00, 0x05, 0x74, 0x00, 0x0A, 0xC3, 0xA9, 0xC0, 0x80, 0xED, 0xA0, 0xBD, 0xED,
                0xB8, 0x80
            ]
        );
        let long = java_serialized(&"x".repeat(70_000));
        assert_eq!(long[..13], [0xAC, 0xED, 0x00, 0x05, 0x7C, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70]);
        assert_eq!(long.len(), 13 + 70_000);
    }

    #[test]
    fn hashing_rewrites_character_values_cut_to_the_declared_length_and_keeps_nulls() {
        let mut t = transform(&[
            ("column.mask.hash.SHA-256.with.salt.CzQMA0cB5K", "public.customers.(note|code|phone|visits)"),
            ("column.mask.hash.v2.MD5.with.salt.pepper", "public.customers.email"),
        ]);
        let mut values = ada();
        values[3] = Value::Text("test".into());
        values[4] = Value::Text("test".into());
        let out = applied(&mut t, record(&event(Op::Insert, None, Some(values))));
        let after = row(&out, "after");
        // note is text (no declared length), code varchar(3).
        assert_eq!(after["note"], "8e68c68edbbac316dfe2f6ada6b0d2d3e2002b487a985d4b7c7c82dd83b0f4d7");
        assert_eq!(after["code"], "8e6");
        assert_eq!(after["email"], "8b33de83b4480ca4c85dab4e54a63eb2");
        assert_eq!((&after["phone"], &after["visits"]), (&J::Null, &json!(7)));
        assert_eq!(field(&out, "after", "note")["parameters"]["masked"], "true");
    }

    /// `ColumnMappersTest.shouldTruncateStrings`; `TruncateStrings.isTruncationPossible` for the parameter.
    #[test]
    fn truncation_keeps_the_first_n_characters_of_longer_strings() {
        let mut t =
            transform(&[("column.truncate.to.4.chars", "public.customers.(email|phone|note|code|visits)")]);
        let out = applied(&mut t, update());
        let before = row(&out, "before");
        assert_eq!((&before["email"], &before["note"]), (&json!("ada@"), &json!("naïv")));
        assert_eq!(
            (&before["phone"], &before["code"], &before["visits"]),
            (&J::Null, &json!("AB1"), &json!(7))
        );
        assert_eq!(row(&out, "after")["note"], "chan");
        assert_eq!(field(&out, "after", "note")["parameters"]["truncateLength"], "4");
        assert_eq!(field(&out, "after", "email")["parameters"]["truncateLength"], "4");
        assert_eq!(field(&out, "after", "code")["parameters"].get("truncateLength"), None, "varchar(3) fits");
        assert_eq!(field(&out, "after", "visits")["parameters"].get("truncateLength"), None, "not a string");
    }

    /// `JsonConverter.asJsonSchema` writes `parameters` after `doc` and before `default` and `field`.
    #[test]
    fn a_new_parameters_object_goes_where_the_converter_writes_it() {
        let mut schema = json!({ "type": "int32", "optional": true, "default": 0, "field": "visits" });
        let J::Object(map) = &mut schema else { unreachable!() };
        add_parameter(map, MASKED_PARAMETER, "true".into());
        let expected = json!({
            "type": "int32", "optional": true, "parameters": { "masked": "true" }, "default": 0, "field": "visits"
        });
        assert_eq!(schema.to_string(), expected.to_string());
    }

    #[test]
    fn the_first_matching_rule_wins() {
        // Debezium's order: truncate, then mask with chars, then hashes; whatever the order of the properties.
        let mut t = transform(&[
            ("column.mask.hash.v2.SHA-256.with.salt.s", "public.customers.(email|note|code)"),
            ("column.mask.with.8.chars", "public.customers.(email|note)"),
            ("column.truncate.to.3.chars", "public.customers.email"),
        ]);
        let out = applied(&mut t, update());
        let after = row(&out, "after");
        assert_eq!((&after["email"], &after["note"]), (&json!("ada"), &json!("********")));
        assert_eq!(after["code"].as_str().unwrap().len(), 3, "hashed, cut to varchar(3)");
        assert_eq!(field(&out, "after", "email")["parameters"].get("masked"), None);
    }

    #[test]
    fn records_that_are_not_change_events_pass_unchanged() {
        let mut t = transform(&[
            ("column.exclude.list", ".*\\.phone"),
            ("column.mask.with.3.chars", ".*\\.email,.*\\.status"),
        ]);
        let delete = record(&event(Op::Delete, Some(ada()), None));
        let tombstone = Record { value_schema: None, value: None, ..delete };
        let marker = Record {
            topic: "shop.transaction".into(),
            key: Some(json!({ "id": "555:24023128" })),
            value: Some(
                json!({ "status": "BEGIN", "id": "555:24023128", "event_count": null, "ts_ms": TS_MS }),
            ),
            ..Record::default()
        };
        let heartbeat = Record { value: Some(json!({ "ts_ms": TS_MS })), ..Record::default() };
        for r in [tombstone, marker, heartbeat] {
            assert_eq!(applied(&mut t, r.clone()), r);
        }
        // A change event no property matches is left as it was, too.
        let mut other = transform(&[("column.mask.with.3.chars", "inventory\\..*")]);
        assert_eq!(applied(&mut other, update()), update());
    }

    #[test]
    fn schemaless_values_are_edited_in_the_payload_only() {
        let mut t = transform(&[
            ("column.exclude.list", "public.customers.phone"),
            ("column.mask.with.3.chars", "public.customers.(email|visits)"),
            ("column.truncate.to.2.chars", "public.customers.code"),
        ]);
        let update = update();
        let plain = Record { key_schema: None, value_schema: None, ..update };
        let out = applied(&mut t, plain);
        assert_eq!(out.value_schema, None);
        for side in ROWS {
            let r = row(&out, side);
            assert!(!r.contains_key("phone"));
            assert_eq!((&r["email"], &r["visits"], &r["code"]), (&json!("***"), &json!(7), &json!("AB")));
        }
    }

    /// The worker prepends the transform: the SMTs see the edited event (here the seed's RegexRouter, then
    /// ExtractNewRecordState, which flattens `after`).
    #[test]
    fn the_transform_runs_before_the_connector_s_smts() {
        let spec = |name: &str, class: &str, props: &[(&str, &str)]| TransformSpec {
            name: name.into(),
            class: class.into(),
            props: props.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        };
        let mut chain = Chain::build(
            &[
                spec(
                    "route",
                    "org.apache.kafka.connect.transforms.RegexRouter",
                    &[("regex", "([^.]+)\\.([^.]+)\\.([^.]+)"), ("replacement", "cdc.$3")],
                ),
                spec("unwrap", "io.debezium.transforms.ExtractNewRecordState", &[]),
            ],
            &[],
        )
        .unwrap();
        chain.prepend(Box::new(transform(&[
            ("column.exclude.list", "public.customers.phone"),
            ("column.mask.with.5.chars", "public.customers.email"),
        ])));
        let out = chain.apply(update()).unwrap().unwrap();
        assert_eq!(out.topic, "cdc.customers");
        let value = out.value.unwrap();
        assert_eq!(value["email"], "*****");
        assert!(value.get("phone").is_none() && value.get("note").is_some(), "{value}");
        let fields = out.value_schema.unwrap()["fields"].as_array().unwrap().len();
        assert_eq!(fields, 7);
    }

    #[test]
    fn algorithms_without_an_implementation_are_named() {
        let action = |algorithm| ColumnAction::Hash { algorithm, salt: "s".into(), version: HashVersion::V2 };
        let refused = unsupported(&action(HashAlgorithm::Sha3_256)).unwrap();
        assert!(refused.starts_with("hashing with SHA3-256"), "{refused}");
        assert!(unsupported(&action(HashAlgorithm::Md2)).is_some());
        for ok in [HashAlgorithm::Md5, HashAlgorithm::Sha1, HashAlgorithm::Sha224, HashAlgorithm::Sha512_224]
        {
            assert_eq!(unsupported(&action(ok)), None);
        }
        assert_eq!(unsupported(&ColumnAction::MaskWithChars(3)), None);
    }
}
