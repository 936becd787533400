//! `org.apache.kafka.connect.transforms.InsertField$Key` / `$Value`: adds fields from record metadata or a
//! static value.
//!
//! Properties: `topic.field`, `partition.field`, `offset.field`, `timestamp.field`, `static.field` with
//! `static.value` (required with it). At least one field must be configured. A field name ending in `!` is a
//! required field and `?` (or nothing) an optional one; the suffix is not part of the name. The added fields,
//! in this order, with a schema: topic `string`, partition `int32`, timestamp the `Timestamp` logical type
//! (`int64` milliseconds), static `string`; the schema is `copySchemaBasics` of the input (required) plus
//! these. Without a schema the topic is a string, the timestamp a number of milliseconds and the static
//! value a string. A null side passes unchanged.
//!
//! The timestamp is [`Record::timestamp_ms`], the timestamp the sink gives the message.
//!
//! Partition and offset: transforms run before the producer sends, so neither is known (Kafka Connect source
//! records are the same: `kafkaPartition()` is null unless the connector picks one, and `offset.field`
//! fails every source record with "Only SinkRecord supported"). Hence:
//! - `partition.field` adds an optional `int32` field that is always null (schemaless: no key is added, as
//!   Kafka skips a null partition); `partition.field=name!` is refused, since a required field cannot be null;
//! - `offset.field` is refused at build time.

use serde_json::Value as J;

use super::connect::{self, logical, member, primitive, require_map, require_struct, struct_like, Side};
use super::{DataError, Outcome, Props, Record, Smt, TransformError};

const PURPOSE: &str = "field insertion";

/// A field name with its optionality (`InsertionSpec`).
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    optional: bool,
}

impl Spec {
    fn parse(spec: Option<&str>) -> Option<Spec> {
        let spec = spec?;
        Some(match (spec.strip_suffix('?'), spec.strip_suffix('!')) {
            (Some(name), _) => Spec { name: name.to_owned(), optional: true },
            (_, Some(name)) => Spec { name: name.to_owned(), optional: false },
            _ => Spec { name: spec.to_owned(), optional: true },
        })
    }
}

#[derive(Debug)]
pub(crate) struct InsertField {
    side: Side,
    topic: Option<Spec>,
    partition: Option<Spec>,
    timestamp: Option<Spec>,
    static_field: Option<(Spec, String)>,
}

impl InsertField {
    pub(crate) fn build(side: Side, props: &Props<'_>) -> Result<Self, TransformError> {
        let topic = Spec::parse(props.get("topic.field"));
        let partition = Spec::parse(props.get("partition.field"));
        let offset = Spec::parse(props.get("offset.field"));
        let timestamp = Spec::parse(props.get("timestamp.field"));
        let static_spec = Spec::parse(props.get("static.field"));
        if topic.is_none()
            && partition.is_none()
            && offset.is_none()
            && timestamp.is_none()
            && static_spec.is_none()
        {
            return Err(TransformError::MissingProperty {
                scope: props.scope.clone(),
                property: "topic.field, partition.field, timestamp.field or static.field (no field insertion configured)".into(),
            });
        }
        if offset.is_some() {
            return Err(props.invalid(
                "offset.field",
                "records are transformed before they are produced, so they have no offset (Kafka Connect allows \
                 offset.field only for sink connectors)",
            ));
        }
        if partition.as_ref().is_some_and(|p| !p.optional) {
            return Err(props.invalid(
                "partition.field",
                "the partition is chosen by the producer after transforms run, so this field is always null and \
                 cannot be required; drop the `!`",
            ));
        }
        let static_field = match static_spec {
            Some(spec) => Some((
                spec,
                props.get("static.value").ok_or_else(|| props.missing("static.value"))?.to_owned(),
            )),
            None => None,
        };
        Ok(InsertField { side, topic, partition, timestamp, static_field })
    }
}

impl Smt for InsertField {
    fn apply(&mut self, record: &mut Record) -> Result<Outcome, DataError> {
        let topic = J::from(record.topic.as_str());
        let timestamp = J::from(record.timestamp_ms);
        let (schema, payload) = self.side.parts(record);
        let Some(payload) = payload else { return Ok(Outcome::Keep) };
        match schema {
            None => {
                let payload = require_map(payload, PURPOSE)?;
                if let Some(spec) = &self.topic {
                    payload.insert(spec.name.clone(), topic);
                }
                if let Some(spec) = &self.timestamp {
                    payload.insert(spec.name.clone(), timestamp);
                }
                if let Some((spec, value)) = &self.static_field {
                    payload.insert(spec.name.clone(), J::from(value.as_str()));
                }
            }
            Some(schema) => {
                let payload = require_struct(schema, payload, PURPOSE)?;
                let mut members = connect::members(schema).to_vec();
                let mut added = Vec::new();
                if let Some(spec) = &self.topic {
                    added.push((spec, primitive("string", spec.optional), topic));
                }
                if let Some(spec) = &self.partition {
                    added.push((spec, primitive("int32", true), J::Null));
                }
                if let Some(spec) = &self.timestamp {
                    added.push((spec, logical("int64", connect::TIMESTAMP, spec.optional), timestamp));
                }
                if let Some((spec, value)) = &self.static_field {
                    added.push((spec, primitive("string", spec.optional), J::from(value.as_str())));
                }
                for (spec, field_schema, value) in added {
                    if members.iter().any(|m| connect::member_name(m) == Some(spec.name.as_str())) {
                        return Err(DataError::new(format!(
                            "Cannot create field because of field name duplication {}",
                            spec.name
                        )));
                    }
                    members.push(member(field_schema, &spec.name));
                    payload.insert(spec.name.clone(), value);
                }
                *schema = struct_like(schema, members, false);
            }
        }
        Ok(Outcome::Keep)
    }
}
