//! Catalog lookups: table shapes with their primary keys, and types that are not built in (enums, domains,
//! extension types, their arrays). Results are cached per oid for the life of the source.

use std::collections::HashMap;

use tokio_postgres::Client;

use super::error::PgError;
use crate::pgtype::{PgType, TypeKind};
use crate::schema::{Column, ReplicaIdentity, TableId, TableSchema};

/// A column as pgoutput's Relation message (or `pg_attribute`) describes it.
#[derive(Debug, Clone)]
pub struct RawColumn {
    pub name: String,
    pub type_oid: u32,
    pub type_modifier: i32,
    /// Part of the replica identity (pgoutput's key flag).
    pub identity: bool,
}

/// Catalog facts about one table.
#[derive(Debug, Clone)]
pub struct TableInfo {
    pub oid: u32,
    pub id: TableId,
    pub replica_identity: ReplicaIdentity,
    pub primary_key: Vec<String>,
    pub not_null: Vec<String>,
    /// `attmissingval` of columns added with a default, as text.
    pub fill_values: Vec<(String, String)>,
    /// Current columns in attnum order.
    pub columns: Vec<RawColumn>,
}

/// A default expression with no function call or column reference (`'x'::text`, `0`, `true`): evaluating it
/// apart from any row is then safe and gives what `ADD COLUMN … DEFAULT` gave existing rows.
fn is_constant(expr: &str) -> bool {
    let literal = expr.starts_with('\'')
        || expr.starts_with(|c: char| c.is_ascii_digit() || c == '-')
        || matches!(expr, "true" | "false");
    // `CURRENT_TIMESTAMP` and friends have no parentheses but are not constants: only literals qualify.
    literal && !expr.contains('(') && !expr.contains('"')
}

/// Cached catalog access over one query connection.
#[derive(Debug, Default)]
pub struct Catalog {
    types: HashMap<u32, PgType>,
}

impl Catalog {
    /// Looks up a table by name; `None` when it does not exist.
    pub async fn find_table(&mut self, client: &Client, id: &TableId) -> Result<Option<TableInfo>, PgError> {
        let row = client
            .query_opt(
                "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
                &[&id.schema, &id.name],
            )
            .await
            .map_err(PgError::query(format!("looking up table {id}")))?;
        match row {
            Some(row) => self.table(client, row.get::<_, u32>(0)).await,
            None => Ok(None),
        }
    }

    /// Catalog facts for a relation oid, fresh from the catalog (DDL may have changed them); `None` when the
    /// table no longer exists (dropped after the WAL being decoded was written).
    pub async fn table(&mut self, client: &Client, oid: u32) -> Result<Option<TableInfo>, PgError> {
        let during = || format!("reading the catalog for relation {oid}");
        let Some(head) = client
            .query_opt(
                "SELECT n.nspname, c.relname, c.relreplident::text FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
                &[&oid],
            )
            .await
            .map_err(PgError::query(during()))?
        else {
            return Ok(None);
        };
        let rows = client
            .query(
                "SELECT a.attname, a.atttypid, a.atttypmod, a.attnotnull,
                        COALESCE(a.attnum = ANY(i.indkey), false) AS pk,
                        CASE WHEN a.atthasmissing THEN (a.attmissingval::text::text[])[1] END,
                        pg_get_expr(d.adbin, d.adrelid),
                        COALESCE(a.attnum = ANY(r.indkey), false) AS replica_identity_index
                 FROM pg_attribute a
                 LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                 LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
                 LEFT JOIN pg_index r ON r.indrelid = a.attrelid AND r.indisreplident
                 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
                 ORDER BY a.attnum",
                &[&oid],
            )
            .await
            .map_err(PgError::query(during()))?;
        let ident: String = head.get(2);
        let replica_identity = ReplicaIdentity::from_code(ident.as_bytes().first().copied().unwrap_or(b'd'))
            .unwrap_or(ReplicaIdentity::Default);
        let mut info = TableInfo {
            oid,
            id: TableId::new(head.get::<_, String>(0), head.get::<_, String>(1)),
            replica_identity,
            primary_key: Vec::new(),
            not_null: Vec::new(),
            fill_values: Vec::new(),
            columns: Vec::new(),
        };
        for row in rows {
            let name: String = row.get(0);
            if row.get::<_, bool>(4) {
                info.primary_key.push(name.clone());
            }
            if row.get::<_, bool>(3) {
                info.not_null.push(name.clone());
            }
            let constant_default = row.get::<_, Option<String>>(6).filter(|expr| is_constant(expr));
            let fill = match (row.get::<_, Option<String>>(5), constant_default) {
                (Some(missing), _) => Some(missing),
                // A table rewrite (ALTER TYPE, VACUUM FULL) writes the fill value into the rows and clears
                // attmissingval; a constant default is then the best remaining witness of it.
                (None, Some(expr)) => client
                    .query_one(&format!("SELECT ({expr})::text"), &[])
                    .await
                    .ok()
                    .and_then(|r| r.get::<_, Option<String>>(0)),
                (None, None) => None,
            };
            if let Some(fill) = fill {
                info.fill_values.push((name.clone(), fill));
            }
            // What pgoutput would flag as the key: the replica-identity index's columns, or the primary key's
            // under REPLICA IDENTITY DEFAULT (FULL flags all, and keys nothing without a primary key). Snapshot
            // schemas are built from these, so they key rows exactly as streamed changes do.
            let identity = match replica_identity {
                ReplicaIdentity::Index => row.get::<_, bool>(7),
                ReplicaIdentity::Default => row.get::<_, bool>(4),
                ReplicaIdentity::Full => true,
                ReplicaIdentity::Nothing => false,
            };
            info.columns.push(RawColumn { name, type_oid: row.get(1), type_modifier: row.get(2), identity });
        }
        Ok(Some(info))
    }

    /// Builds a schema from columns (the Relation message's, or the catalog's for a snapshot) and the table's
    /// key facts. The event key is the primary key; without one, the replica-identity columns.
    pub async fn schema(
        &mut self,
        client: &Client,
        info: &TableInfo,
        columns: &[RawColumn],
        replica_identity: ReplicaIdentity,
    ) -> Result<TableSchema, PgError> {
        let mut out = Vec::with_capacity(columns.len());
        for raw in columns {
            let pg_type = self.resolve_type(client, raw.type_oid).await?;
            let key = if info.primary_key.is_empty() {
                raw.identity && replica_identity != ReplicaIdentity::Full
            } else {
                info.primary_key.contains(&raw.name)
            };
            out.push(Column {
                name: raw.name.clone(),
                pg_type,
                type_modifier: raw.type_modifier,
                nullable: !info.not_null.contains(&raw.name),
                key,
                fill_value: info.fill_values.iter().find(|(n, _)| *n == raw.name).map(|(_, v)| v.clone()),
            });
        }
        Ok(TableSchema {
            relation_oid: info.oid,
            id: info.id.clone(),
            columns: out,
            replica_identity,
            version: 0,
        })
    }

    /// Classifies a type oid: built-ins without a query, everything else from `pg_type` (cached).
    pub async fn resolve_type(&mut self, client: &Client, oid: u32) -> Result<PgType, PgError> {
        if let Some(t) = PgType::builtin(oid) {
            return Ok(t);
        }
        if let Some(t) = self.types.get(&oid) {
            return Ok(t.clone());
        }
        let resolved = Box::pin(self.query_type(client, oid)).await?;
        self.types.insert(oid, resolved.clone());
        Ok(resolved)
    }

    /// Forgets a cached type (pgoutput's Type message says it may have changed).
    pub fn forget_type(&mut self, oid: u32) {
        self.types.remove(&oid);
    }

    async fn query_type(&mut self, client: &Client, oid: u32) -> Result<PgType, PgError> {
        let row = client
            .query_opt(
                "SELECT t.typname::text, t.typtype::text, t.typbasetype, t.typelem, t.typcategory::text,
                        ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid
                              ORDER BY e.enumsortorder)
                 FROM pg_type t WHERE t.oid = $1",
                &[&oid],
            )
            .await
            .map_err(PgError::query(format!("resolving type oid {oid}")))?;
        let Some(row) = row else {
            return Ok(PgType::new(oid, format!("oid{oid}"), TypeKind::Other));
        };
        let name: String = row.get(0);
        let typtype: String = row.get(1);
        let base: u32 = row.get(2);
        let elem: u32 = row.get(3);
        let category: String = row.get(4);
        let labels: Vec<String> = row.get(5);
        let kind = match (typtype.as_str(), category.as_str()) {
            ("e", _) => TypeKind::Enum(labels),
            ("d", _) => self.resolve_type(client, base).await?.kind,
            (_, "A") if elem != 0 => TypeKind::Array(Box::new(self.resolve_type(client, elem).await?)),
            _ if name == "hstore" => TypeKind::Hstore,
            _ if name == "citext" => TypeKind::Text,
            _ => TypeKind::Other,
        };
        Ok(PgType::new(oid, name, kind))
    }
}
