//! The compiled form of an Avro schema that both directions share: every name resolved, each record defined
//! once and referred to by index, the `connect.*` annotations kept per node. `parse.rs` builds it,
//! `crate::datum` encodes and decodes over it, `to_connect.rs` reads it back as a Connect schema.

use serde_json::{Map, Value as J};

use super::parse;
use crate::error::AvroError;

/// An Avro schema compiled for the datum codec and for the way back to Connect.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) root: Node,
    pub(crate) records: Vec<Record>,
}

/// One type of the schema and its Connect annotations (a record's are on the [`Record`]).
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    pub(crate) meta: Meta,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed {
        full_name: String,
        size: usize,
    },
    Enum {
        full_name: String,
        symbols: Vec<String>,
    },
    Array(Box<Node>),
    Map(Box<Node>),
    Union(Vec<Node>),
    /// An index into [`Plan::records`].
    Record(usize),
}

/// The properties of an Avro type that carry the Connect schema.
#[derive(Debug, Clone, Default)]
pub(crate) struct Meta {
    pub(crate) name: Option<String>,
    pub(crate) version: Option<J>,
    pub(crate) doc: Option<String>,
    pub(crate) parameters: Option<Map<String, J>>,
    /// `connect.default`, in Avro's JSON for defaults.
    pub(crate) default: Option<J>,
    /// `int8` or `int16`.
    pub(crate) connect_type: Option<String>,
    pub(crate) logical_type: Option<String>,
    pub(crate) precision: Option<u64>,
    pub(crate) scale: Option<i64>,
    pub(crate) internal_type: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) full_name: String,
    pub(crate) doc: Option<String>,
    pub(crate) fields: Vec<Field>,
    pub(crate) meta: Meta,
    /// AvroData's `{key, value}` entry of a map with non-string keys.
    pub(crate) map_entry: bool,
    /// Whether a datum of this record can take no bytes at all (only nulls and empty records inside).
    pub(crate) zero_width: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Field {
    /// The Avro name.
    pub(crate) name: String,
    /// The Connect name: the payload's key.
    pub(crate) connect_name: String,
    pub(crate) doc: Option<String>,
    pub(crate) node: Node,
    /// The Avro field default, as written.
    pub(crate) default: Option<J>,
    /// The encoded datum of the field's Connect default, written when the payload has null or nothing here
    /// (Connect's `Struct.get` returns the default for a null, and AvroData writes what it returns).
    pub(crate) fallback: Option<Vec<u8>>,
    /// [`OVERRIDES_PROPERTY`](super::OVERRIDES_PROPERTY): Connect annotations of references in the type, by
    /// path.
    pub(crate) overrides: Option<Map<String, J>>,
}

impl Plan {
    /// Compiles an Avro schema: resolves names (relative to the enclosing namespace, then bare), checks the
    /// shape, and precomputes what the codec needs.
    pub(crate) fn parse(avro: &J) -> Result<Plan, AvroError> {
        let (root, records) = parse::read(avro)?;
        let mut plan = Plan { root, records };
        plan.mark_zero_width();
        let fallbacks: Vec<Vec<Option<Vec<u8>>>> = plan
            .records
            .iter()
            .map(|record| record.fields.iter().map(|field| plan.fallback(field)).collect())
            .collect();
        for (record, fallbacks) in plan.records.iter_mut().zip(fallbacks) {
            for (field, fallback) in record.fields.iter_mut().zip(fallbacks) {
                field.fallback = fallback;
            }
        }
        Ok(plan)
    }

    pub(crate) fn record(&self, index: usize) -> Result<&Record, AvroError> {
        self.records.get(index).ok_or_else(|| AvroError::schema("a record index out of range"))
    }

    /// A node's Connect annotations: its own, or its record's.
    pub(crate) fn meta_of<'a>(&'a self, node: &'a Node) -> &'a Meta {
        match node.kind {
            Kind::Record(index) => self.records.get(index).map_or(&node.meta, |record| &record.meta),
            _ => &node.meta,
        }
    }

    /// The key and value fields when `items` is AvroData's map entry.
    pub(crate) fn map_entry<'a>(&'a self, items: &Node) -> Option<(&'a Field, &'a Field)> {
        let Kind::Record(index) = items.kind else {
            return None;
        };
        let record = self.records.get(index).filter(|record| record.map_entry)?;
        match record.fields.as_slice() {
            [key, value] => Some((key, value)),
            _ => None,
        }
    }

    /// The fewest bytes a datum of `node` takes: 0 or at least 1 (all the block reader needs to know).
    pub(crate) fn min_len(&self, node: &Node) -> usize {
        match &node.kind {
            Kind::Null => 0,
            Kind::Fixed { size, .. } => *size,
            Kind::Record(index) => {
                self.records.get(*index).map_or(0, |record| usize::from(!record.zero_width))
            }
            Kind::Float => 4,
            Kind::Double => 8,
            _ => 1,
        }
    }

    /// The name AvroData gives a union member: a named type's short name, otherwise the Avro type's name.
    pub(crate) fn member_name<'a>(&'a self, node: &'a Node) -> &'a str {
        let name = self.type_name(node);
        name.rsplit('.').next().unwrap_or(name)
    }

    /// A type's full name (records, enums, fixed) or its Avro type name.
    pub(super) fn type_name<'a>(&'a self, node: &'a Node) -> &'a str {
        match &node.kind {
            Kind::Null => "null",
            Kind::Boolean => "boolean",
            Kind::Int => "int",
            Kind::Long => "long",
            Kind::Float => "float",
            Kind::Double => "double",
            Kind::Bytes => "bytes",
            Kind::String => "string",
            Kind::Fixed { full_name, .. } | Kind::Enum { full_name, .. } => full_name,
            Kind::Array(_) => "array",
            Kind::Map(_) => "map",
            Kind::Union(_) => "union",
            Kind::Record(index) => self.records.get(*index).map_or("record", |record| &record.full_name),
        }
    }

    /// Marks the records whose datums can be empty, to a fixed point (records may refer to each other).
    fn mark_zero_width(&mut self) {
        self.records.iter_mut().for_each(|record| record.zero_width = true);
        loop {
            let mut changed = false;
            for index in 0..self.records.len() {
                let zero_width = self
                    .records
                    .get(index)
                    .is_some_and(|record| record.fields.iter().all(|field| self.min_len(&field.node) == 0));
                if let Some(record) = self.records.get_mut(index) {
                    if record.zero_width != zero_width {
                        record.zero_width = zero_width;
                        changed = true;
                    }
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// The encoded Connect default of a field: the Avro field default, else the type's `connect.default`
    /// (inside an optional union, the non-null branch's; an optional struct's default is not a field
    /// default). A default that does not encode is ignored, as AvroData ignores invalid defaults.
    fn fallback(&self, field: &Field) -> Option<Vec<u8>> {
        let inner = match &field.node.kind {
            Kind::Union(branches) => match branches.as_slice() {
                [a, b] if matches!(a.kind, Kind::Null) => b,
                [a, b] if matches!(b.kind, Kind::Null) => a,
                _ => &field.node,
            },
            _ => &field.node,
        };
        let default =
            field.default.as_ref().filter(|d| !d.is_null()).or(self.meta_of(inner).default.as_ref())?;
        crate::datum::encode_avro_json(self, &field.node, default).ok()
    }
}
