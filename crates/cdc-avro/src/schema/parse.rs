//! Avro schema JSON → the [`Plan`](super::Plan)'s nodes and records: names resolved relative to the
//! enclosing namespace, then bare; every named type defined once; the `connect.*` properties read into each
//! node's [`Meta`].

use std::collections::HashMap;

use serde_json::{Map, Value as J};

use super::plan::{Field, Kind, Meta, Node, Record};
use super::{
    full_name, CONNECT_DEFAULT, CONNECT_DOC, CONNECT_INTERNAL_TYPE, CONNECT_NAME, CONNECT_NAMESPACE,
    CONNECT_PARAMETERS, CONNECT_TYPE, CONNECT_VERSION, FIELD_NAME_PROPERTY, KEY_FIELD, LOGICAL_TYPE,
    MAP_ENTRY_NAME, OVERRIDES_PROPERTY, VALUE_FIELD,
};
use crate::error::AvroError;

/// Reads `avro` into its root node and the records it defines (indexed by [`Kind::Record`]).
pub(super) fn read(avro: &J) -> Result<(Node, Vec<Record>), AvroError> {
    let mut parser = Parser { records: Vec::new(), names: HashMap::new() };
    let root = parser.node(avro, None)?;
    Ok((root, parser.records))
}

impl Node {
    fn plain(kind: Kind) -> Self {
        Node { kind, meta: Meta::default() }
    }
}

impl Meta {
    fn read(map: &Map<String, J>) -> Self {
        let string = |key: &str| map.get(key).and_then(J::as_str).map(str::to_owned);
        Meta {
            name: string(CONNECT_NAME),
            version: map.get(CONNECT_VERSION).filter(|v| v.is_u64()).cloned(),
            doc: string(CONNECT_DOC),
            parameters: map.get(CONNECT_PARAMETERS).and_then(J::as_object).cloned(),
            default: map.get(CONNECT_DEFAULT).filter(|d| !d.is_null()).cloned(),
            connect_type: string(CONNECT_TYPE),
            logical_type: string(LOGICAL_TYPE),
            precision: map.get("precision").and_then(J::as_u64),
            scale: map.get("scale").and_then(J::as_i64),
            internal_type: string(CONNECT_INTERNAL_TYPE),
        }
    }
}

/// Reads Avro schema JSON into records and nodes.
struct Parser {
    records: Vec<Record>,
    /// Full name → the named type (records by index).
    names: HashMap<String, Node>,
}

impl Parser {
    fn node(&mut self, json: &J, namespace: Option<&str>) -> Result<Node, AvroError> {
        match json {
            J::String(name) => self.named(name, namespace),
            J::Array(branches) => {
                let branches = branches
                    .iter()
                    .enumerate()
                    .map(|(i, branch)| self.node(branch, namespace).map_err(|e| e.in_index(i)))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Node::plain(Kind::Union(branches)))
            }
            J::Object(map) => self.complex(map, namespace),
            other => Err(AvroError::schema(format!("{other} is not a schema"))),
        }
    }

    /// A primitive type's name, or a reference to a type defined earlier.
    fn named(&self, name: &str, namespace: Option<&str>) -> Result<Node, AvroError> {
        if let Some(kind) = primitive(name) {
            return Ok(Node::plain(kind));
        }
        let relative = match namespace {
            Some(namespace) if !name.contains('.') => self.names.get(&format!("{namespace}.{name}")),
            _ => None,
        };
        relative
            .or_else(|| self.names.get(name))
            .cloned()
            .ok_or_else(|| AvroError::schema(format!("unknown type {name:?}")))
    }

    fn complex(&mut self, map: &Map<String, J>, namespace: Option<&str>) -> Result<Node, AvroError> {
        let meta = Meta::read(map);
        let kind = match map.get("type") {
            Some(J::String(type_name)) => match type_name.as_str() {
                "record" | "error" => return self.record(map, namespace, meta),
                "enum" => {
                    let (full_name, _) = self.declared_name(map, namespace)?;
                    let symbols = map
                        .get("symbols")
                        .and_then(J::as_array)
                        .and_then(|symbols| symbols.iter().map(|s| s.as_str().map(str::to_owned)).collect())
                        .ok_or_else(|| AvroError::schema("an enum without a list of \"symbols\""))?;
                    let node = Node { kind: Kind::Enum { full_name: full_name.clone(), symbols }, meta };
                    self.define(full_name, node.clone())?;
                    return Ok(node);
                }
                "fixed" => {
                    let (full_name, _) = self.declared_name(map, namespace)?;
                    let size = map
                        .get("size")
                        .and_then(J::as_u64)
                        .and_then(|size| usize::try_from(size).ok())
                        .ok_or_else(|| AvroError::schema("a fixed without a \"size\""))?;
                    let node = Node { kind: Kind::Fixed { full_name: full_name.clone(), size }, meta };
                    self.define(full_name, node.clone())?;
                    return Ok(node);
                }
                "array" => {
                    let items =
                        map.get("items").ok_or_else(|| AvroError::schema("an array without \"items\""))?;
                    Kind::Array(Box::new(self.node(items, namespace).map_err(|e| e.in_field("items"))?))
                }
                "map" => {
                    let values =
                        map.get("values").ok_or_else(|| AvroError::schema("a map without \"values\""))?;
                    Kind::Map(Box::new(self.node(values, namespace).map_err(|e| e.in_field("values"))?))
                }
                other => match primitive(other) {
                    Some(kind) => kind,
                    None => return self.named(other, namespace),
                },
            },
            Some(nested @ (J::Object(_) | J::Array(_))) => return self.node(nested, namespace),
            _ => return Err(AvroError::schema("an object without a \"type\"")),
        };
        Ok(Node { kind, meta })
    }

    fn record(
        &mut self,
        map: &Map<String, J>,
        namespace: Option<&str>,
        meta: Meta,
    ) -> Result<Node, AvroError> {
        let (full_name, record_namespace) = self.declared_name(map, namespace)?;
        let index = self.records.len();
        self.records.push(Record {
            full_name: full_name.clone(),
            doc: map.get("doc").and_then(J::as_str).map(str::to_owned),
            fields: Vec::new(),
            meta,
            map_entry: false,
            zero_width: false,
        });
        self.define(full_name.clone(), Node::plain(Kind::Record(index)))?;
        let members = map
            .get("fields")
            .and_then(J::as_array)
            .ok_or_else(|| AvroError::schema(format!("the record {full_name:?} has no \"fields\" list")))?;
        let mut fields = Vec::with_capacity(members.len());
        for member in members {
            let name = member
                .get("name")
                .and_then(J::as_str)
                .ok_or_else(|| AvroError::schema(format!("a field of {full_name:?} has no \"name\"")))?;
            let type_json =
                member.get("type").ok_or_else(|| AvroError::schema("a field without a \"type\""))?;
            let node = self.node(type_json, record_namespace.as_deref()).map_err(|e| e.in_field(name))?;
            fields.push(Field {
                name: name.to_owned(),
                connect_name: member.get(FIELD_NAME_PROPERTY).and_then(J::as_str).unwrap_or(name).to_owned(),
                doc: member.get("doc").and_then(J::as_str).map(str::to_owned),
                node,
                default: member.get("default").cloned(),
                fallback: None,
                overrides: member.get(OVERRIDES_PROPERTY).and_then(J::as_object).cloned(),
            });
        }
        let entry_named = full_name == format!("{CONNECT_NAMESPACE}.{MAP_ENTRY_NAME}");
        if let Some(record) = self.records.get_mut(index) {
            record.map_entry = (entry_named || record.meta.internal_type.as_deref() == Some(MAP_ENTRY_NAME))
                && matches!(fields.as_slice(), [k, v] if k.name == KEY_FIELD && v.name == VALUE_FIELD);
            record.fields = fields;
        }
        Ok(Node::plain(Kind::Record(index)))
    }

    /// A named type's full name and namespace: from a dotted name, else `namespace` (`""` for none), else the
    /// enclosing namespace.
    fn declared_name(
        &self,
        map: &Map<String, J>,
        enclosing: Option<&str>,
    ) -> Result<(String, Option<String>), AvroError> {
        let name = map
            .get("name")
            .and_then(J::as_str)
            .ok_or_else(|| AvroError::schema("a named type without a \"name\""))?;
        let namespace = match name.rsplit_once('.') {
            Some((namespace, _)) => Some(namespace.to_owned()),
            None => match map.get("namespace") {
                Some(J::String(namespace)) if namespace.is_empty() => None,
                Some(J::String(namespace)) => Some(namespace.clone()),
                _ => enclosing.map(str::to_owned),
            },
        };
        let short = name.rsplit('.').next().unwrap_or(name);
        Ok((full_name(namespace.as_deref(), short), namespace))
    }

    fn define(&mut self, full_name: String, node: Node) -> Result<(), AvroError> {
        if self.names.contains_key(&full_name) {
            return Err(AvroError::schema(format!("the name {full_name:?} is defined twice")));
        }
        self.names.insert(full_name, node);
        Ok(())
    }
}

fn primitive(name: &str) -> Option<Kind> {
    Some(match name {
        "null" => Kind::Null,
        "boolean" => Kind::Boolean,
        "int" => Kind::Int,
        "long" => Kind::Long,
        "float" => Kind::Float,
        "double" => Kind::Double,
        "bytes" => Kind::Bytes,
        "string" => Kind::String,
        _ => return None,
    })
}
