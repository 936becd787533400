//! Kafka Connect's predicates (KIP-585), named in a transform's `predicate` property to apply it only to the
//! records they match (or, with `negate=true`, only to the others).
//!
//! - `org.apache.kafka.connect.transforms.predicates.TopicNameMatches`: `pattern` (required, a Java regex)
//!   matches the whole topic name.
//! - `org.apache.kafka.connect.transforms.predicates.RecordIsTombstone`: the value is null.
//! - `org.apache.kafka.connect.transforms.predicates.HasHeaderKey`: `name` (required): the record has at
//!   least one header with this key.

use std::sync::Arc;

use super::java::JavaRegex;
use super::{Predicate, Props, Record, TransformError};

pub(crate) const TOPIC_NAME_MATCHES: &str = "org.apache.kafka.connect.transforms.predicates.TopicNameMatches";
pub(crate) const RECORD_IS_TOMBSTONE: &str =
    "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone";
pub(crate) const HAS_HEADER_KEY: &str = "org.apache.kafka.connect.transforms.predicates.HasHeaderKey";

pub(crate) fn build(class: &str, props: &Props<'_>) -> Result<Arc<dyn Predicate>, TransformError> {
    Ok(match class {
        TOPIC_NAME_MATCHES => {
            let pattern = props.required("pattern")?;
            if pattern.is_empty() {
                return Err(props.invalid("pattern", "must not be empty"));
            }
            Arc::new(TopicNameMatches(props.regex("pattern", pattern)?))
        }
        RECORD_IS_TOMBSTONE => Arc::new(RecordIsTombstone),
        HAS_HEADER_KEY => {
            let name = props.required("name")?;
            if name.is_empty() {
                return Err(props.invalid("name", "must not be empty"));
            }
            Arc::new(HasHeaderKey(name.to_owned()))
        }
        _ => {
            return Err(TransformError::UnknownClass { scope: props.scope.clone(), class: class.to_owned() })
        }
    })
}

#[derive(Debug)]
struct TopicNameMatches(JavaRegex);

impl Predicate for TopicNameMatches {
    fn test(&self, record: &Record) -> bool {
        self.0.matches(&record.topic)
    }
}

#[derive(Debug)]
struct RecordIsTombstone;

impl Predicate for RecordIsTombstone {
    fn test(&self, record: &Record) -> bool {
        record.value.is_none()
    }
}

#[derive(Debug)]
struct HasHeaderKey(String);

impl Predicate for HasHeaderKey {
    fn test(&self, record: &Record) -> bool {
        record.headers.iter().any(|(key, _)| *key == self.0)
    }
}
