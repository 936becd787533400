//! Schema evolution rules: whether a new schema may follow a subject's earlier ones under a compatibility level,
//! and, when not, which field broke it and how.
//!
//! The reader/writer check is `apache_avro`'s [`SchemaCompatibility::can_read`]. Two adjustments make it agree
//! with Confluent's registry, which runs Java Avro's checker:
//!
//! 1. Logical types are compared by their physical type, as Java Avro does. `apache_avro` 0.21 otherwise calls
//!    two identical `decimal` columns "inconclusive" and would refuse every Debezium table with a `numeric`
//!    column on its second schema version.
//! 2. `apache_avro` reports a failure inside a union only as "all elements in union must match". Debezium's
//!    `before`/`after` are `["null", Value]` unions, so that would hide every column change; the failing branch is
//!    checked again here to name the column.

use std::collections::HashMap;
use std::fmt;

use apache_avro::error::CompatibilityError;
use apache_avro::schema::{Name, ResolvedSchema, Schema};
use apache_avro::schema_compatibility::SchemaCompatibility;

use super::Compatibility;

/// A new schema that the compatibility level refuses, with every reason found.
#[derive(Debug, Clone, PartialEq)]
pub struct Incompatible {
    pub level: Compatibility,
    pub problems: Vec<Problem>,
}

/// One way in which a new schema and one earlier schema cannot read each other's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Index of the earlier schema in the `existing_newest_first` slice given to [`check`].
    pub existing: usize,
    pub direction: Direction,
    /// Dotted path of the field that differs (`after.age`); `None` for the top-level type.
    pub field: Option<String>,
    pub reason: Reason,
}

/// Which side reads which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The new schema must read data written with the earlier one.
    Backward,
    /// The earlier schema must read data written with the new one.
    Forward,
}

/// Why the reader cannot read what the writer wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The reader has a field without a default that the writer's data lacks.
    MissingDefault,
    /// The reader's type cannot be promoted from the writer's.
    TypeMismatch { writer: String, reader: String },
    /// The writer's enum has symbols the reader's lacks.
    MissingSymbols { missing: Vec<String> },
    /// A named type was renamed.
    NameMismatch { writer: String, reader: String },
    /// Anything else `apache_avro` reports.
    Other(String),
}

impl Problem {
    /// One sentence for an operator; `existing` names the earlier schema ("version 3").
    pub fn describe(&self, existing: &str) -> String {
        let (reader, writer) = match self.direction {
            Direction::Backward => ("the new schema", existing),
            Direction::Forward => (existing, "the new schema"),
        };
        let subject = match &self.field {
            Some(field) => format!("field '{field}'"),
            None => "the schema".to_owned(),
        };
        let detail = match &self.reason {
            Reason::MissingDefault => format!("{subject} has no default value and is missing from {writer}"),
            Reason::TypeMismatch { writer: w, reader: r } => {
                format!("{subject} is {w} in {writer} and {r} in {reader}, which cannot read it")
            }
            Reason::MissingSymbols { missing } if missing.is_empty() => {
                format!("the enum at {subject} lacks symbols that {writer} may write")
            }
            Reason::MissingSymbols { missing } => {
                format!("the enum at {subject} lacks the symbols {} of {writer}", missing.join(", "))
            }
            Reason::NameMismatch { writer: w, reader: r } => {
                format!("{subject} is named {w} in {writer} but {r} in {reader}")
            }
            Reason::Other(text) => format!("{subject}: {text}"),
        };
        format!("{reader} cannot read data written with {writer}: {detail}")
    }
}

impl Incompatible {
    /// One message per problem, `label` naming the earlier schema at an index of `existing_newest_first`.
    pub fn messages(&self, label: impl Fn(usize) -> String) -> Vec<String> {
        self.problems.iter().map(|p| p.describe(&label(p.existing))).collect()
    }
}

impl fmt::Display for Incompatible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let messages = self.messages(|i| match i {
            0 => "the latest schema".to_owned(),
            n => format!("the schema {n} versions before the latest"),
        });
        write!(f, "incompatible under {}: {}", self.level, messages.join("; "))
    }
}

impl std::error::Error for Incompatible {}

/// Checks `new` against a subject's earlier schemas (newest first) under `level`: the latest only, or every one
/// for the transitive levels. An empty history accepts anything.
pub fn check(
    level: Compatibility,
    new: &Schema,
    existing_newest_first: &[Schema],
) -> Result<(), Incompatible> {
    if level == Compatibility::None || existing_newest_first.is_empty() {
        return Ok(());
    }
    let against = if level.transitive() { existing_newest_first } else { &existing_newest_first[..1] };
    let new = physical(new);
    let mut problems = Vec::new();
    for (index, old) in against.iter().enumerate() {
        let old = physical(old);
        if level.backward() {
            if let Err(problem) = read(&old, &new) {
                problems.push(Problem { existing: index, direction: Direction::Backward, ..problem });
            }
        }
        if level.forward() {
            if let Err(problem) = read(&new, &old) {
                problems.push(Problem { existing: index, direction: Direction::Forward, ..problem });
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Incompatible { level, problems })
    }
}

/// Whether `reader` reads data written with `writer`; the problem's `existing` and `direction` are filled in by
/// the caller.
fn read(writer: &Schema, reader: &Schema) -> Result<(), Problem> {
    let Err(error) = SchemaCompatibility::can_read(writer, reader) else {
        return Ok(());
    };
    let writer_names = names(writer);
    let reader_names = names(reader);
    let sides = Sides { writer_names: &writer_names, reader_names: &reader_names };
    let (field, reason) = sides.explain(&error, writer, reader, Vec::new());
    Err(Problem {
        existing: 0,
        direction: Direction::Backward,
        field: (!field.is_empty()).then(|| field.join(".")),
        reason,
    })
}

/// The named types of both schemas, to follow references while explaining.
struct Sides<'a> {
    writer_names: &'a HashMap<Name, &'a Schema>,
    reader_names: &'a HashMap<Name, &'a Schema>,
}

impl<'a> Sides<'a> {
    /// The field path and reason of `error`, found checking `writer` against `reader` at `prefix`.
    fn explain(
        &self,
        error: &CompatibilityError,
        writer: &'a Schema,
        reader: &'a Schema,
        mut path: Vec<String>,
    ) -> (Vec<String>, Reason) {
        let mut error = error;
        let mut relative = Vec::new();
        while let CompatibilityError::FieldTypeMismatch(field, inner) = error {
            relative.push(field.clone());
            error = inner;
        }
        if let CompatibilityError::MissingDefaultValue(field) = error {
            path.extend(relative);
            path.push(field.clone());
            return (path, Reason::MissingDefault);
        }
        let at_writer = navigate(writer, &relative, self.writer_names);
        let at_reader = navigate(reader, &relative, self.reader_names);
        path.extend(relative);
        let (Some(w), Some(r)) = (at_writer, at_reader) else {
            return (path, fallback(error));
        };
        let w = resolve(w, self.writer_names);
        let r = resolve(r, self.reader_names);
        match error {
            CompatibilityError::NameMismatch { writer_name, reader_name } => {
                (path, Reason::NameMismatch { writer: writer_name.clone(), reader: reader_name.clone() })
            }
            CompatibilityError::MissingSymbols => {
                let missing = match (w, r) {
                    (Schema::Enum(w), Schema::Enum(r)) => {
                        w.symbols.iter().filter(|s| !r.symbols.contains(s)).cloned().collect()
                    }
                    _ => Vec::new(),
                };
                (path, Reason::MissingSymbols { missing })
            }
            _ => {
                // A union hides which branch failed: find the writer branch no reader branch reads and, when the
                // reader has a branch of the same kind and name, explain that pair instead.
                for w_branch in branches(w) {
                    let w_branch = resolve(w_branch, self.writer_names);
                    let readable = branches(r).iter().any(|r_branch| {
                        SchemaCompatibility::can_read(w_branch, resolve(r_branch, self.reader_names)).is_ok()
                    });
                    if readable {
                        continue;
                    }
                    let counterpart = branches(r)
                        .iter()
                        .map(|r_branch| resolve(r_branch, self.reader_names))
                        .find(|r_branch| same_kind(w_branch, r_branch));
                    if let Some(r_branch) = counterpart {
                        if !std::ptr::eq(w_branch, w) || !std::ptr::eq(r_branch, r) {
                            if let Err(inner) = SchemaCompatibility::can_read(w_branch, r_branch) {
                                return self.explain(&inner, w_branch, r_branch, path);
                            }
                        }
                    }
                    return (path, Reason::TypeMismatch { writer: describe(w_branch), reader: describe(r) });
                }
                (path, Reason::TypeMismatch { writer: describe(w), reader: describe(r) })
            }
        }
    }
}

/// The reason when the schemas at the error's path cannot be found (a path through an unresolved reference).
fn fallback(error: &CompatibilityError) -> Reason {
    match error {
        CompatibilityError::WrongType { .. } | CompatibilityError::TypeExpected { .. } => {
            Reason::Other("the types are incompatible".into())
        }
        CompatibilityError::MissingSymbols => Reason::MissingSymbols { missing: Vec::new() },
        CompatibilityError::NameMismatch { writer_name, reader_name } => {
            Reason::NameMismatch { writer: writer_name.clone(), reader: reader_name.clone() }
        }
        other => Reason::Other(other.to_string()),
    }
}

/// Named types by full name (a schema that fails to resolve explains less, but is still checked).
fn names(schema: &Schema) -> HashMap<Name, &Schema> {
    ResolvedSchema::try_from(schema).map(|resolved| resolved.get_names().clone()).unwrap_or_default()
}

/// The definition behind a reference, or the schema itself.
fn resolve<'a>(schema: &'a Schema, names: &HashMap<Name, &'a Schema>) -> &'a Schema {
    match schema {
        Schema::Ref { name } => names
            .get(name)
            .copied()
            .or_else(|| names.iter().find(|(n, _)| n.fullname(None) == name.fullname(None)).map(|(_, s)| *s))
            .unwrap_or(schema),
        other => other,
    }
}

/// The schema of the field at `path` below `schema`, looking through unions, arrays and maps, as the checker
/// descends into them.
fn navigate<'a>(
    schema: &'a Schema,
    path: &[String],
    names: &HashMap<Name, &'a Schema>,
) -> Option<&'a Schema> {
    let Some((first, rest)) = path.split_first() else {
        return Some(schema);
    };
    let field_type = field_of(resolve(schema, names), first, names, 0)?;
    navigate(field_type, rest, names)
}

fn field_of<'a>(
    schema: &'a Schema,
    field: &str,
    names: &HashMap<Name, &'a Schema>,
    depth: usize,
) -> Option<&'a Schema> {
    if depth > 16 {
        return None;
    }
    match resolve(schema, names) {
        Schema::Record(record) => record.fields.iter().find(|f| f.name == field).map(|f| &f.schema),
        Schema::Union(union) => union.variants().iter().find_map(|v| field_of(v, field, names, depth + 1)),
        Schema::Array(array) => field_of(&array.items, field, names, depth + 1),
        Schema::Map(map) => field_of(&map.types, field, names, depth + 1),
        _ => None,
    }
}

/// A union's branches, or the schema alone.
fn branches(schema: &Schema) -> &[Schema] {
    match schema {
        Schema::Union(union) => union.variants(),
        other => std::slice::from_ref(other),
    }
}

/// Same kind and, for named types, the same unqualified name: the branch a reader would pick.
fn same_kind(a: &Schema, b: &Schema) -> bool {
    use apache_avro::schema::SchemaKind;
    SchemaKind::from(a) == SchemaKind::from(b)
        && match (a.name(), b.name()) {
            (Some(x), Some(y)) => x.name == y.name,
            (None, None) => true,
            _ => false,
        }
}

/// A short type description for messages: `int`, `record Value`, `union [null, string]`.
fn describe(schema: &Schema) -> String {
    match schema {
        Schema::Null => "null".into(),
        Schema::Boolean => "boolean".into(),
        Schema::Int => "int".into(),
        Schema::Long => "long".into(),
        Schema::Float => "float".into(),
        Schema::Double => "double".into(),
        Schema::Bytes => "bytes".into(),
        Schema::String => "string".into(),
        Schema::Array(array) => format!("array<{}>", short(&array.items)),
        Schema::Map(map) => format!("map<{}>", short(&map.types)),
        Schema::Union(union) => {
            format!("union [{}]", union.variants().iter().map(short).collect::<Vec<_>>().join(", "))
        }
        Schema::Record(record) => format!("record {}", record.name.fullname(None)),
        Schema::Enum(e) => format!("enum {} {{{}}}", e.name.fullname(None), e.symbols.join(", ")),
        Schema::Fixed(fixed) => format!("fixed {}({})", fixed.name.fullname(None), fixed.size),
        Schema::Ref { name } => name.fullname(None),
        other => format!("{:?}", apache_avro::schema::SchemaKind::from(other)).to_lowercase(),
    }
}

/// [`describe`] without expanding unions' named members.
fn short(schema: &Schema) -> String {
    match schema {
        Schema::Record(record) => record.name.fullname(None),
        Schema::Enum(e) => e.name.fullname(None),
        Schema::Fixed(f) => f.name.fullname(None),
        other => describe(other),
    }
}

/// The schema with logical types replaced by their physical types, which is what Java Avro's checker compares
/// (see the module doc). Falls back to the schema itself should the round trip fail.
fn physical(schema: &Schema) -> Schema {
    let Ok(mut json) = serde_json::to_value(schema) else {
        return schema.clone();
    };
    strip_logical_types(&mut json);
    Schema::parse(&json).unwrap_or_else(|_| schema.clone())
}

/// Removes `logicalType` from every type object, following only schema positions (never `default` values).
fn strip_logical_types(json: &mut serde_json::Value) {
    match json {
        serde_json::Value::Array(union) => union.iter_mut().for_each(strip_logical_types),
        serde_json::Value::Object(object) => {
            object.remove("logicalType");
            for key in ["type", "items", "values"] {
                if let Some(inner) = object.get_mut(key) {
                    strip_logical_types(inner);
                }
            }
            if let Some(serde_json::Value::Array(fields)) = object.get_mut("fields") {
                for field in fields {
                    if let Some(inner) = field.get_mut("type") {
                        strip_logical_types(inner);
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(fields: &str) -> Schema {
        Schema::parse_str(&format!(
            r#"{{"type":"record","name":"User","namespace":"app","fields":[{fields}]}}"#
        ))
        .unwrap()
    }

    const ID: &str = r#"{"name":"id","type":"int"}"#;

    #[test]
    fn adding_an_optional_field_with_default_null_is_backward_compatible() {
        let old = schema(ID);
        let new = schema(&format!(r#"{ID},{{"name":"email","type":["null","string"],"default":null}}"#));
        assert_eq!(check(Compatibility::Backward, &new, &[old]), Ok(()));
    }

    #[test]
    fn adding_a_field_without_default_is_not_backward_compatible() {
        let old = schema(ID);
        let new = schema(&format!(r#"{ID},{{"name":"email","type":"string"}}"#));
        let refused = check(Compatibility::Backward, &new, &[old]).unwrap_err();
        assert_eq!(refused.problems.len(), 1);
        assert_eq!(refused.problems[0].field.as_deref(), Some("email"));
        assert_eq!(refused.problems[0].reason, Reason::MissingDefault);
        assert_eq!(
            refused.problems[0].describe("version 1"),
            "the new schema cannot read data written with version 1: field 'email' has no default value and is \
             missing from version 1"
        );
    }

    #[test]
    fn widening_int_to_long_is_backward_compatible() {
        let old = schema(ID);
        let new = schema(r#"{"name":"id","type":"long"}"#);
        assert_eq!(check(Compatibility::Backward, &new, &[old]), Ok(()));
    }

    #[test]
    fn changing_int_to_string_is_not_backward_compatible_and_names_the_field_and_types() {
        let old = schema(ID);
        let new = schema(r#"{"name":"id","type":"string"}"#);
        let refused = check(Compatibility::Backward, &new, &[old]).unwrap_err();
        assert_eq!(refused.problems[0].field.as_deref(), Some("id"));
        assert_eq!(
            refused.problems[0].reason,
            Reason::TypeMismatch { writer: "int".into(), reader: "string".into() }
        );
        assert!(refused
            .to_string()
            .contains("field 'id' is int in the latest schema and string in the new schema"));
    }

    #[test]
    fn forward_checks_that_the_old_schema_reads_the_new_one() {
        // long → int: the new schema reads old data (backward) but old readers cannot read longs (forward).
        let old = schema(ID);
        let new = schema(r#"{"name":"id","type":"long"}"#);
        let refused = check(Compatibility::Forward, &new, std::slice::from_ref(&old)).unwrap_err();
        assert_eq!(refused.problems[0].direction, Direction::Forward);
        assert!(check(Compatibility::Full, &new, &[old]).is_err());
    }

    #[test]
    fn removing_a_field_without_default_is_not_forward_compatible() {
        let old = schema(&format!(r#"{ID},{{"name":"name","type":"string"}}"#));
        let new = schema(ID);
        assert_eq!(check(Compatibility::Backward, &new, std::slice::from_ref(&old)), Ok(()));
        let refused = check(Compatibility::Forward, &new, &[old]).unwrap_err();
        assert_eq!(refused.problems[0].field.as_deref(), Some("name"));
        assert!(refused.problems[0]
            .describe("version 1")
            .starts_with("version 1 cannot read data written with the new schema"));
    }

    #[test]
    fn transitive_levels_check_every_version_and_the_others_only_the_latest() {
        // v1 had no `email`; v2 added it with a default; v3 drops the default. v3 reads v2 but not v1.
        let v1 = schema(ID);
        let v2 = schema(&format!(r#"{ID},{{"name":"email","type":"string","default":""}}"#));
        let v3 = schema(&format!(r#"{ID},{{"name":"email","type":"string"}}"#));
        let newest_first = [v2, v1];
        assert_eq!(check(Compatibility::Backward, &v3, &newest_first), Ok(()));
        let refused = check(Compatibility::BackwardTransitive, &v3, &newest_first).unwrap_err();
        assert_eq!(refused.problems.len(), 1);
        assert_eq!(refused.problems[0].existing, 1);
    }

    #[test]
    fn none_accepts_anything_and_an_empty_history_accepts_anything() {
        let old = schema(ID);
        let new = schema(r#"{"name":"id","type":"string"}"#);
        assert_eq!(check(Compatibility::None, &new, &[old]), Ok(()));
        assert_eq!(check(Compatibility::FullTransitive, &new, &[]), Ok(()));
    }

    #[test]
    fn identical_decimal_columns_are_compatible() {
        let decimal = r#"{"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2,
            "connect.name":"org.apache.kafka.connect.data.Decimal"}}"#;
        let s = schema(decimal);
        assert_eq!(check(Compatibility::FullTransitive, &s, std::slice::from_ref(&s)), Ok(()));
    }

    #[test]
    fn a_column_change_inside_a_debezium_style_nullable_envelope_names_the_column() {
        let envelope = |age: &str| {
            Schema::parse_str(&format!(
                r#"{{"type":"record","name":"Envelope","namespace":"db.public.users","fields":[
                    {{"name":"before","type":["null",{{"type":"record","name":"Value","fields":[
                        {{"name":"id","type":"int"}},{{"name":"age","type":{age}}}]}}],"default":null}},
                    {{"name":"after","type":["null","Value"],"default":null}},
                    {{"name":"op","type":"string"}}]}}"#
            ))
            .unwrap()
        };
        let refused =
            check(Compatibility::Backward, &envelope(r#""string""#), &[envelope(r#""int""#)]).unwrap_err();
        assert_eq!(refused.problems[0].field.as_deref(), Some("before.age"), "{refused}");
        assert_eq!(
            refused.problems[0].reason,
            Reason::TypeMismatch { writer: "int".into(), reader: "string".into() }
        );
    }

    #[test]
    fn removing_an_enum_symbol_lists_it() {
        let with = |symbols: &str| {
            schema(&format!(
                r#"{{"name":"color","type":{{"type":"enum","name":"Color","symbols":[{symbols}]}}}}"#
            ))
        };
        let refused =
            check(Compatibility::Backward, &with(r#""RED""#), &[with(r#""RED","BLUE""#)]).unwrap_err();
        assert_eq!(refused.problems[0].reason, Reason::MissingSymbols { missing: vec!["BLUE".into()] });
    }
}
