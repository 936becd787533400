//! Connect schemas ⇄ Avro schemas, translated as Confluent's `AvroData` (`fromConnectSchema` /
//! `toConnectSchema`) does, so that the text we register is the text Debezium with `AvroConverter` registers.
//!
//! ```text
//!  Connect schema ──from_connect──▶ Avro schema JSON ──Plan::parse──▶ AvroSchema { text, schema, plan }
//!  registry text ──serde_json──▶ Avro schema JSON ──Plan::parse──▶ Plan ──to_connect──▶ Connect schema
//! ```
//!
//! The `Plan` is the compiled form both directions share: every name resolved, each record defined once and
//! referred to by index, the `connect.*` annotations kept per node; `crate::datum` encodes and decodes
//! over it.
//!
//! | file | owns |
//! |---|---|
//! | `to_avro.rs` | Connect schema → Avro schema JSON ([`from_connect()`]'s translation) |
//! | `plan.rs` | the compiled `Plan`: nodes, records, fields, and what the codec precomputes |
//! | `parse.rs` | Avro schema JSON → the plan's nodes and records (name resolution, shape checks) |
//! | `to_connect.rs` | the plan → Connect schema ([`to_connect()`]) |

mod parse;
mod plan;
#[cfg(test)]
mod tests;
mod to_avro;
mod to_connect;

use serde_json::Value as J;

use crate::error::AvroError;
pub(crate) use plan::{Kind, Node, Plan};
use to_avro::ToAvro;

/// The namespace of the names AvroData makes up (`ConnectDefault`, `MapEntry`, `Union`).
const CONNECT_NAMESPACE: &str = "io.confluent.connect.avro";
/// The name of unnamed structs, numbered from the second on.
const DEFAULT_SCHEMA_NAME: &str = "ConnectDefault";
const DEFAULT_SCHEMA_FULL_NAME: &str = "io.confluent.connect.avro.ConnectDefault";
const MAP_ENTRY_NAME: &str = "MapEntry";
/// AvroData's Connect struct for an Avro union of several non-null types.
const UNION_NAME: &str = "io.confluent.connect.avro.Union";
const KEY_FIELD: &str = "key";
const VALUE_FIELD: &str = "value";

const CONNECT_NAME: &str = "connect.name";
const CONNECT_DOC: &str = "connect.doc";
const CONNECT_VERSION: &str = "connect.version";
const CONNECT_PARAMETERS: &str = "connect.parameters";
const CONNECT_DEFAULT: &str = "connect.default";
const CONNECT_TYPE: &str = "connect.type";
const CONNECT_INTERNAL_TYPE: &str = "connect.internal.type";
const LOGICAL_TYPE: &str = "logicalType";
/// Parameters AvroData keeps Avro docs in (with `discard.type.doc.default=false`, its default).
const RECORD_DOC_PARAMETER: &str = "io.confluent.connect.avro.record.doc";
const FIELD_DOC_PARAMETER_PREFIX: &str = "io.confluent.connect.avro.field.doc.";
const ENUM_PARAMETER: &str = "io.confluent.connect.avro.Enum";
const FIXED_SIZE_PARAMETER: &str = "connect.fixed.size";
const DECIMAL_SCALE_PARAMETER: &str = "scale";
const DECIMAL_PRECISION_PARAMETER: &str = "connect.decimal.precision";
/// AvroData's precision for a Decimal that declares none (`CONNECT_AVRO_DECIMAL_PRECISION_DEFAULT`).
const DECIMAL_PRECISION_DEFAULT: u64 = 64;
/// Ours: the Connect name of a field whose Avro name had to be adjusted.
const FIELD_NAME_PROPERTY: &str = "cdc.field.name";
/// Ours: on a field, the Connect annotations (`version`, `doc`, `parameters`, `default`) of named structs in
/// its type that are references to a record defined with other annotations, by path in the type (`""` for the
/// type itself, `items`, `values`, `items.items`, …).
const OVERRIDES_PROPERTY: &str = "cdc.connect.overrides";

const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
const DATE: &str = "org.apache.kafka.connect.data.Date";
const TIME: &str = "org.apache.kafka.connect.data.Time";
const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";

/// A Connect schema translated to Avro: what to register, and what to encode with.
#[derive(Debug, Clone)]
pub struct AvroSchema {
    /// The schema as Java's `Schema.toString()` writes it (compact JSON, AvroData's property order): the text
    /// to register.
    pub text: String,
    /// apache-avro's reading of `text`, for compatibility checks and anything else that wants a typed schema.
    pub schema: apache_avro::Schema,
    pub(crate) plan: Plan,
}

impl AvroSchema {
    /// The full name of the top-level type (`cdc.public.customers.Envelope`, with names adjusted for Avro),
    /// or the type's name for an unnamed type: the name Confluent's `RecordNameStrategy` uses.
    pub fn full_name(&self) -> String {
        self.plan.type_name(&self.plan.root).to_owned()
    }

    /// Refuses a Connect schema other than the one this was translated from, when both are named.
    pub(crate) fn check_source(&self, connect: &J) -> Result<(), AvroError> {
        let ours = self.plan.meta_of(&self.plan.root).name.as_deref();
        let theirs = connect.get("name").and_then(J::as_str);
        match (ours, theirs) {
            (Some(ours), Some(theirs)) if ours != theirs => {
                Err(AvroError::SchemaMismatch { expected: ours.to_owned(), found: theirs.to_owned() })
            }
            _ => Ok(()),
        }
    }
}

/// Translates a Connect schema (as `JsonConverter` writes it, the `schema` of the json-schema envelope) to
/// Avro.
pub fn from_connect(connect: &J) -> Result<AvroSchema, AvroError> {
    let json = ToAvro::default().convert(connect, None)?;
    let schema = apache_avro::Schema::parse(&json)
        .map_err(|source| AvroError::Rejected { source: Box::new(source) })?;
    let plan = Plan::parse(&json)?;
    Ok(AvroSchema { text: json.to_string(), schema, plan })
}

/// Rebuilds the Connect schema of an Avro schema (a registry's text, parsed), from its `connect.*` properties
/// where it has them (ours and Debezium's do) and from its Avro types otherwise.
pub fn to_connect(avro: &J) -> Result<J, AvroError> {
    Plan::parse(avro)?.to_connect()
}

/// A named type's full name: `namespace.name`, or `name` alone outside any namespace.
fn full_name(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(namespace) => format!("{namespace}.{name}"),
        None => name.to_owned(),
    }
}
