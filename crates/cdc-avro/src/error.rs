//! [`AvroError`]: everything that can go wrong translating schemas and encoding or decoding datums.
//!
//! Every variant is permanent: a schema or a record that fails once fails the same way again, so callers stop
//! (producer side) or skip and report (consumer side) rather than retry. Errors that point into a schema or a
//! datum carry a [`FieldPath`] such as `after.tags[2]`, built while the error unwinds (the happy path never
//! formats one), and decoding errors the byte offset where the datum went wrong.

use std::borrow::Cow;
use std::fmt;

/// Where in a schema or a value an error is: field names joined by `.`, array indices as `[i]`, map keys as
/// `["key"]`. Empty means the top level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(String);

impl FieldPath {
    /// The path as text, `""` for the top level.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `segment` prepended: the error unwinds from the leaf towards the root.
    fn prepend(&mut self, segment: &str) {
        let rest = std::mem::take(&mut self.0);
        self.0 = if rest.is_empty() || rest.starts_with('[') {
            format!("{segment}{rest}")
        } else {
            format!("{segment}.{rest}")
        };
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("the top level")
        } else {
            write!(f, "`{}`", self.0)
        }
    }
}

/// A failure to translate a schema or to encode or decode a datum.
#[derive(Debug, thiserror::Error)]
pub enum AvroError {
    /// A Connect schema with no Avro translation (an unknown type, a struct without fields, two different
    /// schemas under one name).
    #[error("the Connect schema at {path} cannot be translated to Avro: {reason}")]
    UnsupportedConnect { path: FieldPath, reason: Cow<'static, str> },
    /// An Avro schema (a registry's text) that is not valid Avro or has no Connect form.
    #[error("the Avro schema at {path} is not usable: {reason}")]
    InvalidSchema { path: FieldPath, reason: Cow<'static, str> },
    /// apache-avro refused the schema text we translated: a bug in the translation, or a Connect schema whose
    /// names or defaults Avro cannot express.
    #[error("apache-avro rejects the translated Avro schema")]
    Rejected {
        #[source]
        source: Box<apache_avro::Error>,
    },
    /// [`crate::datum::encode`] was given a Connect schema other than the one the Avro schema came from.
    #[error(
        "the Connect schema {found:?} is not the one the Avro schema was translated from ({expected:?})"
    )]
    SchemaMismatch { expected: String, found: String },
    /// A payload value that does not fit its schema.
    #[error("cannot encode {path} as Avro: expected {expected}, found {found}")]
    Encode { path: FieldPath, expected: Cow<'static, str>, found: String },
    /// Bytes that are not a datum of the writer schema: truncated, corrupted, or written with another schema.
    #[error("malformed Avro datum at byte {position} ({path}): {problem}")]
    Malformed { path: FieldPath, position: usize, problem: Malformed },
}

/// What is wrong with a malformed datum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("the datum ends early")]
    Truncated,
    #[error("a variable-length integer runs past 64 bits")]
    VarintOverflow,
    #[error("the int {0} does not fit 32 bits")]
    IntOutOfRange(i64),
    #[error("negative length {0}")]
    NegativeLength(i64),
    #[error("length {length} but only {left} bytes left")]
    LengthPastEnd { length: i64, left: usize },
    #[error("a block of {count} items cannot fit in the {left} bytes left")]
    BlockPastEnd { count: i64, left: usize },
    #[error("{0} items of a zero-width type exceed the limit")]
    TooManyItems(u64),
    #[error("union branch {index} of {branches}")]
    UnionBranch { index: i64, branches: usize },
    #[error("enum symbol {index} of {symbols}")]
    EnumSymbol { index: i64, symbols: usize },
    #[error("boolean byte {0:#04x} is neither 0 nor 1")]
    Boolean(u8),
    #[error("a string that is not UTF-8")]
    Utf8,
    #[error("values nest deeper than {0} levels")]
    TooDeep(usize),
    #[error("{0} bytes follow the datum")]
    TrailingBytes(usize),
}

impl AvroError {
    /// An unusable Avro schema with no particular location, for callers that fail before translating (a
    /// registry answer that is not JSON).
    pub fn invalid_schema(reason: impl Into<String>) -> Self {
        AvroError::InvalidSchema { path: FieldPath::default(), reason: Cow::Owned(reason.into()) }
    }

    pub(crate) fn unsupported(reason: impl Into<Cow<'static, str>>) -> Self {
        AvroError::UnsupportedConnect { path: FieldPath::default(), reason: reason.into() }
    }

    pub(crate) fn schema(reason: impl Into<Cow<'static, str>>) -> Self {
        AvroError::InvalidSchema { path: FieldPath::default(), reason: reason.into() }
    }

    pub(crate) fn encode(expected: impl Into<Cow<'static, str>>, found: &serde_json::Value) -> Self {
        AvroError::Encode { path: FieldPath::default(), expected: expected.into(), found: describe(found) }
    }

    pub(crate) fn malformed(position: usize, problem: Malformed) -> Self {
        AvroError::Malformed { path: FieldPath::default(), position, problem }
    }

    /// The same error, one field further from the root.
    pub(crate) fn in_field(mut self, field: &str) -> Self {
        if let Some(path) = self.path_mut() {
            path.prepend(field);
        }
        self
    }

    /// The same error, inside element `index` of an array.
    pub(crate) fn in_index(mut self, index: usize) -> Self {
        if let Some(path) = self.path_mut() {
            path.prepend(&format!("[{index}]"));
        }
        self
    }

    /// The same error, inside the value of `key` in a map.
    pub(crate) fn in_key(mut self, key: &str) -> Self {
        if let Some(path) = self.path_mut() {
            path.prepend(&format!("[{key:?}]"));
        }
        self
    }

    /// Where the error is, for the variants that point into a schema or a value.
    pub fn path(&self) -> Option<&FieldPath> {
        match self {
            AvroError::UnsupportedConnect { path, .. }
            | AvroError::InvalidSchema { path, .. }
            | AvroError::Encode { path, .. }
            | AvroError::Malformed { path, .. } => Some(path),
            AvroError::Rejected { .. } | AvroError::SchemaMismatch { .. } => None,
        }
    }

    fn path_mut(&mut self) -> Option<&mut FieldPath> {
        match self {
            AvroError::UnsupportedConnect { path, .. }
            | AvroError::InvalidSchema { path, .. }
            | AvroError::Encode { path, .. }
            | AvroError::Malformed { path, .. } => Some(path),
            AvroError::Rejected { .. } | AvroError::SchemaMismatch { .. } => None,
        }
    }
}

/// A short description of a JSON value for error messages: the value itself when small, its shape otherwise.
fn describe(value: &serde_json::Value) -> String {
    use serde_json::Value as J;
    const MAX_CHARS: usize = 40;
    match value {
        J::Null => "null".into(),
        J::Bool(b) => format!("the boolean {b}"),
        J::Number(n) => format!("the number {n}"),
        J::String(s) if s.chars().count() <= MAX_CHARS => format!("the string {s:?}"),
        J::String(s) => format!("the string {:?}…", s.chars().take(MAX_CHARS).collect::<String>()),
        J::Array(items) => format!("an array of {} elements", items.len()),
        J::Object(map) => format!("an object with {} keys", map.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_built_from_the_leaf_outwards() {
        let error = AvroError::encode("an int", &serde_json::json!("x"))
            .in_index(2)
            .in_field("tags")
            .in_field("after");
        assert_eq!(error.path().map(FieldPath::as_str), Some("after.tags[2]"));
        let error = AvroError::encode("a string", &serde_json::Value::Null).in_key("k").in_field("attrs");
        assert_eq!(error.path().map(FieldPath::as_str), Some("attrs[\"k\"]"));
        assert_eq!(error.to_string(), "cannot encode `attrs[\"k\"]` as Avro: expected a string, found null");
    }

    #[test]
    fn errors_and_compiled_schemas_cross_threads() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<AvroError>();
        send_sync::<crate::schema::AvroSchema>();
        send_sync::<crate::datum::Decoder>();
        send_sync::<crate::wire::WireError>();
    }

    #[test]
    fn long_strings_are_shortened_in_messages() {
        let long = "x".repeat(100);
        let error = AvroError::encode("an int", &serde_json::json!(long));
        assert!(error.to_string().ends_with("…"), "{error}");
        assert_eq!(
            AvroError::encode("an int", &serde_json::json!(1.5)).to_string(),
            "cannot encode the top level as Avro: expected an int, found the number 1.5"
        );
    }
}
