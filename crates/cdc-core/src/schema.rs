//! Table shapes: [`TableSchema`] is what a change was decoded with.
//!
//! pgoutput sends a Relation message before the first change of a table in each session and again after any DDL
//! that changes the table's shape. Each distinct shape gets a new [`TableSchema::version`]; a change holds an `Arc`
//! to the version it was decoded with, so a consumer never reads a row with the wrong column list.

use std::fmt;
use std::sync::Arc;

use crate::pgtype::PgType;

/// `schema.table`, unquoted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct TableId {
    pub schema: String,
    pub name: String,
}

impl TableId {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        TableId { schema: schema.into(), name: name.into() }
    }

    /// Parses `schema.table` or `table` (schema `public`).
    pub fn parse(text: &str) -> Self {
        match text.split_once('.') {
            Some((schema, name)) => TableId::new(schema, name),
            None => TableId::new("public", text),
        }
    }

    /// `"schema"."table"`, safe to splice into SQL.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// Double-quotes an identifier the way PostgreSQL's `quote_ident` does, unconditionally.
pub fn quote_ident(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Which old-row columns PostgreSQL writes to WAL for updates and deletes (`ALTER TABLE … REPLICA IDENTITY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplicaIdentity {
    /// The primary key only.
    Default,
    /// Every column: full before images.
    Full,
    /// Nothing: updates and deletes cannot be captured with a key.
    Nothing,
    /// The columns of a chosen unique index.
    Index,
}

impl ReplicaIdentity {
    /// The `relreplident` / pgoutput code (`d`, `f`, `n`, `i`).
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            b'd' => Some(ReplicaIdentity::Default),
            b'f' => Some(ReplicaIdentity::Full),
            b'n' => Some(ReplicaIdentity::Nothing),
            b'i' => Some(ReplicaIdentity::Index),
            _ => None,
        }
    }
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub pg_type: PgType,
    /// `atttypmod`: length, precision/scale or time precision; -1 when none.
    pub type_modifier: i32,
    pub nullable: bool,
    /// Part of the primary key (the event key). With no primary key, the replica-identity columns.
    pub key: bool,
    /// What rows written before this column was added read as (PostgreSQL's `attmissingval`, in text form):
    /// `ADD COLUMN … DEFAULT x` changes those rows without a single change event, so a warehouse adding the column
    /// fills its existing rows with this.
    pub fill_value: Option<String>,
}

impl Column {
    /// `(precision, scale)` of a `numeric(p,s)` column, `None` when unconstrained. The scale is signed and may
    /// exceed the precision (PostgreSQL 15+: `numeric(5,-2)`, `numeric(2,5)`).
    pub fn numeric_precision_scale(&self) -> Option<(u32, i32)> {
        if self.type_modifier < 4 {
            return None;
        }
        let m = (self.type_modifier - 4) as u32;
        // The scale is an 11-bit two's-complement field in the low bits.
        let raw = (m & 0x7FF) as i32;
        let scale = if raw & 0x400 != 0 { raw - 0x800 } else { raw };
        Some(((m >> 16) & 0xFFFF, scale))
    }

    /// Fractional-second digits of a time/timestamp column (`timestamp(3)` → 3), 6 when unconstrained.
    pub fn time_precision(&self) -> u32 {
        if self.type_modifier < 0 {
            6
        } else {
            self.type_modifier as u32
        }
    }
}

/// The shape of a table at one point of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSchema {
    /// `pg_class.oid`: stable across renames, which pgoutput uses to refer to the table.
    pub relation_oid: u32,
    pub id: TableId,
    pub columns: Vec<Column>,
    pub replica_identity: ReplicaIdentity,
    /// 1 for the first shape seen, incremented whenever a Relation message brings a different shape.
    pub version: u32,
}

impl TableSchema {
    pub fn key_columns(&self) -> impl Iterator<Item = (usize, &Column)> {
        self.columns.iter().enumerate().filter(|(_, c)| c.key)
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// True when `other` describes the same columns, types and identity (the version is ignored).
    pub fn same_shape(&self, other: &TableSchema) -> bool {
        self.id == other.id
            && self.columns == other.columns
            && self.replica_identity == other.replica_identity
    }
}

pub type SchemaRef = Arc<TableSchema>;
