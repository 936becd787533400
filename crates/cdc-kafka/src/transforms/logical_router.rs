//! `io.debezium.transforms.ByLogicalTableRouter`: routes several physical tables' topics to one logical
//! topic, renaming the schemas and (by default) making keys unique across the tables.
//!
//! Reference: Debezium's "Topic Routing" page
//! (<https://debezium.io/documentation/reference/stable/transformations/topic-routing.html>) and
//! `ByLogicalTableRouter.java`.
//!
//! Properties: `topic.regex` and `topic.replacement` (required; Java regex, full match, `replaceFirst`);
//! `key.enforce.uniqueness` (default `true`); `key.field.name` (default `__dbz__physicalTableIdentifier`);
//! `key.field.regex` with `key.field.replacement` (required when the regex is set): the key field's value
//! is the original topic, or the replacement applied to it when the regex matches it as a whole;
//! `schema.name.adjustment.mode` (`none`, default, or `avro`); `logical.table.cache.size` (checked, unused:
//! nothing is cached per topic here beyond the compiled patterns).
//!
//! For a record whose topic matches (and whose new topic is not empty):
//! - the topic is replaced;
//! - a key, if any, gets the key field (a required string) appended; its schema is renamed
//!   `<new topic>.Key`, keeping version, doc, parameters and optionality;
//! - a Debezium envelope value gets its `before`/`after` schema renamed `<new topic>.Value` and the envelope
//!   `<new topic>.Envelope`; tombstones and other values keep theirs.
//!
//! Departure: Debezium requires keys to be `Struct`s; a schemaless key object gets the field too (and a
//! schemaless key that is not an object is an error, as in Debezium).

use serde_json::{Map, Value as J};

use super::connect::{self, member, primitive, require_map, require_struct};
use super::java::{JavaRegex, Replacement};
use super::{DataError, Outcome, Props, Record, Smt, TransformError};

pub(crate) const CLASS: &str = "io.debezium.transforms.ByLogicalTableRouter";

const DEFAULT_KEY_FIELD: &str = "__dbz__physicalTableIdentifier";

#[derive(Debug)]
pub(crate) struct ByLogicalTableRouter {
    topic_regex: JavaRegex,
    topic_replacement: Replacement,
    /// With `key.enforce.uniqueness`: the key field's name, and how its value derives from the old topic.
    key_field: Option<(String, Option<(JavaRegex, Replacement)>)>,
    avro_names: bool,
}

impl ByLogicalTableRouter {
    pub(crate) fn build(props: &Props<'_>) -> Result<Self, TransformError> {
        let topic_regex = props.regex("topic.regex", props.required("topic.regex")?)?;
        let topic_replacement = Replacement::parse(props.required("topic.replacement")?, &topic_regex)
            .map_err(|reason| props.invalid("topic.replacement", reason))?;
        let enforce = props.bool("key.enforce.uniqueness", true)?;
        let name = props.get("key.field.name").unwrap_or(DEFAULT_KEY_FIELD).to_owned();
        let derive = match props.non_blank("key.field.regex") {
            Some(pattern) => {
                let regex = props.regex("key.field.regex", pattern.trim())?;
                let replacement = props.non_blank("key.field.replacement").ok_or_else(|| {
                    props.invalid("key.field.replacement", "must be non-empty if key.field.regex is set")
                })?;
                let replacement = Replacement::parse(replacement, &regex)
                    .map_err(|reason| props.invalid("key.field.replacement", reason))?;
                Some((regex, replacement))
            }
            None => None,
        };
        let avro_names =
            props.choice("schema.name.adjustment.mode", &["none", "avro"], "none", true)? == "avro";
        if let Some(size) = props.get("logical.table.cache.size") {
            size.trim()
                .parse::<i32>()
                .map_err(|_| props.invalid("logical.table.cache.size", "expected an integer"))?;
        }
        Ok(ByLogicalTableRouter {
            topic_regex,
            topic_replacement,
            key_field: enforce.then_some((name, derive)),
            avro_names,
        })
    }

    fn schema_name(&self, name: String) -> String {
        if self.avro_names {
            avro_name(&name)
        } else {
            name
        }
    }

    /// The key field's value: the old topic, or its replacement when `key.field.regex` matches it.
    fn physical_table(&self, old_topic: &str) -> String {
        match &self.key_field {
            Some((_, Some((regex, replacement)))) => {
                regex.replace_full_match(old_topic, replacement).unwrap_or_else(|| old_topic.to_owned())
            }
            _ => old_topic.to_owned(),
        }
    }
}

impl Smt for ByLogicalTableRouter {
    fn apply(&mut self, record: &mut Record) -> Result<Outcome, DataError> {
        let Some(new_topic) = self.topic_regex.replace_full_match(&record.topic, &self.topic_replacement)
        else {
            return Ok(Outcome::Keep);
        };
        if new_topic.is_empty() {
            tracing::warn!(topic = %record.topic, "routing regex returned an empty topic name, propagating original record");
            return Ok(Outcome::Keep);
        }
        let old_topic = std::mem::replace(&mut record.topic, new_topic);
        let new_topic = record.topic.as_str();

        if let Some(key) = &mut record.key {
            let identifier =
                self.key_field.as_ref().map(|(name, _)| (name.as_str(), self.physical_table(&old_topic)));
            match &mut record.key_schema {
                Some(schema) => {
                    let key = require_struct(schema, key, "Updating schema")?;
                    let mut members = connect::members(schema).to_vec();
                    if let Some((name, value)) = identifier {
                        members.push(member(primitive("string", false), name));
                        key.insert(name.to_owned(), J::from(value));
                    }
                    *schema = renamed(schema, Some(members), self.schema_name(format!("{new_topic}.Key")));
                }
                None => {
                    let key = require_map(key, "Updating schema")?;
                    if let Some((name, value)) = identifier {
                        key.insert(name.to_owned(), J::from(value));
                    }
                }
            }
        }

        let envelope_schema = record.value_schema.as_ref().filter(|s| {
            record.value.is_some() && connect::name_of(s).is_some_and(|n| n.ends_with(".Envelope"))
        });
        if let Some(schema) = envelope_schema {
            let row = connect::field_schema(schema, "before")
                .ok_or_else(|| DataError::new("the envelope schema has no before field"))?;
            let row = renamed(&row, None, self.schema_name(format!("{new_topic}.Value")));
            let members = connect::members(schema)
                .iter()
                .map(|m| match connect::member_name(m) {
                    Some(name @ ("before" | "after")) => member(row.clone(), name),
                    _ => m.clone(),
                })
                .collect();
            record.value_schema =
                Some(renamed(schema, Some(members), self.schema_name(format!("{new_topic}.Envelope"))));
        }
        Ok(Outcome::Keep)
    }
}

/// Debezium's `copySchemaExcludingName` plus the new name: version, doc, parameters and optionality kept;
/// `members` replaces the fields when given.
fn renamed(source: &J, members: Option<Vec<J>>, name: String) -> J {
    let mut out = Map::new();
    out.insert("type".into(), J::from("struct"));
    let members = members.unwrap_or_else(|| connect::members(source).to_vec());
    out.insert("fields".into(), J::Array(members));
    out.insert("optional".into(), J::Bool(connect::is_optional(source)));
    out.insert("name".into(), J::from(name));
    for key in ["version", "doc", "parameters"] {
        if let Some(v) = source.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    J::Object(out)
}

/// Debezium's Avro schema-name adjustment: characters not valid in an Avro full name become `_` (letters,
/// digits and `_`, with `.` between names; a name part may not start with a digit).
fn avro_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut part_start = true;
    for c in name.chars() {
        let valid = c == '_'
            || c.is_ascii_alphabetic()
            || (c.is_ascii_digit() && !part_start)
            || (c == '.' && !part_start);
        out.push(if valid { c } else { '_' });
        part_start = c == '.' && valid;
    }
    out
}
