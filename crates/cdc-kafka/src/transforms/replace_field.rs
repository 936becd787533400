//! `org.apache.kafka.connect.transforms.ReplaceField$Key` / `$Value`: keeps, drops and renames the
//! top-level fields of the key or value.
//!
//! Properties (Kafka's `ReplaceField.CONFIG_DEF`): `exclude` (fields to drop; wins over `include`),
//! `include` (when not empty, only these fields are kept), `renames` (`old:new,…`; each entry exactly one
//! `:`), and the pre-KIP-629 aliases `blacklist` / `whitelist`, used only when `exclude` / `include` are
//! absent (as `ConfigUtils.translateDeprecatedConfigs` does).
//!
//! With a schema, the output schema is `copySchemaBasics` of the input (name, version, doc, parameters;
//! `optional` not copied) with the kept fields renamed, in input order; the payload follows it. Without a
//! schema, the payload object's keys are filtered and renamed in place (Kafka builds a `HashMap`, so its key
//! order is unspecified; here it is the input's). A null side passes unchanged.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value as J};

use super::connect::{self, member, require_map, require_struct, struct_like, Side};
use super::{DataError, Outcome, Props, Record, Smt, TransformError};

const PURPOSE: &str = "field replacement";

#[derive(Debug)]
pub(crate) struct ReplaceField {
    side: Side,
    exclude: BTreeSet<String>,
    include: BTreeSet<String>,
    renames: BTreeMap<String, String>,
}

impl ReplaceField {
    pub(crate) fn build(side: Side, props: &Props<'_>) -> Result<Self, TransformError> {
        let list = |key: &str, legacy: &str| -> BTreeSet<String> {
            if props.get(key).is_some() { props.list(key) } else { props.list(legacy) }.into_iter().collect()
        };
        let exclude = list("exclude", "blacklist");
        let include = list("include", "whitelist");
        let mut renames = BTreeMap::new();
        for mapping in props.list("renames") {
            match mapping.split(':').collect::<Vec<_>>().as_slice() {
                [from, to] if !from.is_empty() && !to.is_empty() => {
                    renames.insert((*from).to_owned(), (*to).to_owned());
                }
                _ => {
                    return Err(props.invalid(
                        "renames",
                        format!("invalid rename mapping `{mapping}`: expected colon-delimited pairs, e.g. foo:bar,abc:xyz"),
                    ))
                }
            }
        }
        Ok(ReplaceField { side, exclude, include, renames })
    }

    fn keep(&self, field: &str) -> bool {
        !self.exclude.contains(field) && (self.include.is_empty() || self.include.contains(field))
    }

    fn renamed<'a>(&'a self, field: &'a str) -> &'a str {
        self.renames.get(field).map_or(field, String::as_str)
    }

    fn replace(&self, payload: &mut Map<String, J>) {
        let old = std::mem::take(payload);
        *payload = old
            .into_iter()
            .filter(|(name, _)| self.keep(name))
            .map(|(name, value)| (self.renamed(&name).to_owned(), value))
            .collect();
    }
}

impl Smt for ReplaceField {
    fn apply(&mut self, record: &mut Record) -> Result<Outcome, DataError> {
        let (schema, payload) = self.side.parts(record);
        let Some(payload) = payload else { return Ok(Outcome::Keep) };
        match schema {
            None => self.replace(require_map(payload, PURPOSE)?),
            Some(schema) => {
                let payload = require_struct(schema, payload, PURPOSE)?;
                let members = connect::members(schema)
                    .iter()
                    .filter_map(|m| {
                        let name = connect::member_name(m)?;
                        self.keep(name).then(|| member(connect::unnamed(m), self.renamed(name)))
                    })
                    .collect();
                *schema = struct_like(schema, members, false);
                self.replace(payload);
            }
        }
        Ok(Outcome::Keep)
    }
}
