//! `org.apache.kafka.connect.transforms.RegexRouter`: renames the topic.
//!
//! Properties: `regex` (required, a Java regex) and `replacement` (required, may be empty). When the regex
//! matches the whole topic (`Matcher.matches()`), the topic becomes `Matcher.replaceFirst(replacement)`;
//! otherwise the record is unchanged. Key, value, schemas and headers are never touched.
//!
//! Departure: a replacement that names a group the regex does not have fails at build time (Kafka fails on
//! the first matching record).

use super::java::{JavaRegex, Replacement};
use super::{DataError, Outcome, Props, Record, Smt, TransformError};

pub(crate) const CLASS: &str = "org.apache.kafka.connect.transforms.RegexRouter";

#[derive(Debug)]
pub(crate) struct RegexRouter {
    regex: JavaRegex,
    replacement: Replacement,
}

impl RegexRouter {
    pub(crate) fn build(props: &Props<'_>) -> Result<Self, TransformError> {
        let regex = props.regex("regex", props.required("regex")?)?;
        let replacement = Replacement::parse(props.required("replacement")?, &regex)
            .map_err(|reason| props.invalid("replacement", reason))?;
        Ok(RegexRouter { regex, replacement })
    }
}

impl Smt for RegexRouter {
    fn apply(&mut self, record: &mut Record) -> Result<Outcome, DataError> {
        if let Some(topic) = self.regex.replace_full_match(&record.topic, &self.replacement) {
            tracing::trace!(from = %record.topic, to = %topic, "rerouting");
            record.topic = topic;
        }
        Ok(Outcome::Keep)
    }
}
