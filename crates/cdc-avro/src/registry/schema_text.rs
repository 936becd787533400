//! [`ParsedSchema`]: a submitted schema text, parsed as Avro, with the forms the store keys on.
//!
//! Identity is the *normalized* JSON (object keys sorted, whitespace dropped, `{"type":"int"}` written `"int"`).
//! Avro's Parsing Canonical Form is too coarse for that: it drops `doc`, defaults and custom properties, and
//! Debezium's `connect.name`/`connect.parameters` are custom properties that consumers rely on, so two schemas that
//! differ only there must get different ids.

use apache_avro::Schema;
use serde_json::Value;

/// Avro primitive type names: `{"type": "int"}` and `"int"` are the same schema.
const PRIMITIVES: [&str; 8] = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"];

/// A schema text that parsed as Avro, with the forms the store keys on.
#[derive(Debug, Clone)]
pub struct ParsedSchema {
    pub schema: Schema,
    /// The text as stored and served: the submitted JSON without insignificant whitespace, keys in their order.
    pub text: String,
    /// The identity key (see the module doc).
    pub normalized: String,
    /// Avro's Parsing Canonical Form.
    pub canonical: String,
}

/// Why a submitted schema cannot be registered.
#[derive(Debug, thiserror::Error)]
pub enum InvalidSchema {
    #[error("the schema is empty")]
    Empty,
    #[error("the schema is not JSON")]
    Json(#[source] serde_json::Error),
    #[error("the schema is not valid Avro")]
    Avro(#[source] apache_avro::Error),
    #[error("schema type {0} is not supported: this registry stores AVRO schemas only")]
    Type(String),
    #[error("schema references are not supported by the embedded registry; inline the referenced types")]
    References,
}

impl ParsedSchema {
    pub fn parse(text: &str) -> Result<Self, InvalidSchema> {
        if text.trim().is_empty() {
            return Err(InvalidSchema::Empty);
        }
        let json: Value = serde_json::from_str(text).map_err(InvalidSchema::Json)?;
        let schema = Schema::parse(&json).map_err(InvalidSchema::Avro)?;
        Ok(ParsedSchema {
            text: json.to_string(),
            normalized: normalize(&json).to_string(),
            canonical: schema.canonical_form(),
            schema,
        })
    }
}

/// Keys sorted at every level, and `{"type": <primitive>}` alone written as the primitive's name.
fn normalize(json: &Value) -> Value {
    match json {
        Value::Object(object) => {
            if let (1, Some(Value::String(name))) = (object.len(), object.get("type")) {
                if PRIMITIVES.contains(&name.as_str()) {
                    return Value::String(name.clone());
                }
            }
            let mut entries: Vec<(&String, &Value)> = object.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_whitespace_and_primitive_objects_do_not_change_identity() {
        let a = ParsedSchema::parse(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#)
            .unwrap();
        let b = ParsedSchema::parse(
            r#"{ "name": "R", "fields": [ {"type": {"type": "int"}, "name": "a"} ], "type": "record" }"#,
        )
        .unwrap();
        assert_eq!(a.normalized, b.normalized);
    }

    #[test]
    fn connect_properties_change_identity_but_not_the_canonical_form() {
        let plain =
            ParsedSchema::parse(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}"#)
                .unwrap();
        let connect = ParsedSchema::parse(
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"string",
                "connect.name":"io.debezium.time.ZonedTimestamp","connect.version":1}}]}"#,
        )
        .unwrap();
        assert_ne!(plain.normalized, connect.normalized);
        assert_eq!(plain.canonical, connect.canonical);
    }

    #[test]
    fn stored_text_keeps_key_order_without_whitespace() {
        let parsed =
            ParsedSchema::parse("{ \"type\" : \"record\", \"name\":\"R\", \"fields\" : [] }").unwrap();
        assert_eq!(parsed.text, r#"{"type":"record","name":"R","fields":[]}"#);
    }

    #[test]
    fn invalid_schemas_say_why() {
        assert!(matches!(ParsedSchema::parse(" "), Err(InvalidSchema::Empty)));
        assert!(matches!(ParsedSchema::parse("{"), Err(InvalidSchema::Json(_))));
        assert!(matches!(ParsedSchema::parse(r#"{"type":"record"}"#), Err(InvalidSchema::Avro(_))));
    }
}
