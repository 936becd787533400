//! Staging one [`TablePlan`]'s rows for the MERGE: a TEMP table filled through the Appender.
//!
//! TEMP because it lives in memory, outside the database file: creating and dropping it every flush writes
//! nothing to the WAL, where a regular staging table cost two catalog entries per table per flush.
//!
//! Cells are handed to the Appender borrowed from the plan wherever the value already holds its staged form
//! (text, or a number of the column's own type), so staging allocates only for the values rendered as text
//! (dates, decimals without a text form, arrays, …). A value of another type than its column (not expected
//! from PostgreSQL, possible in principle from Kafka) goes in as text: the Appender casts it as the MERGE's
//! `CAST` did.

use std::borrow::Cow;

use cdc_core::Value;
use duckdb::types::{ToSqlOutput, ValueRef};
use duckdb::{appender_params_from_iter, Connection};

use super::ddl::{q, staging_type};
use super::merge::{present_column, KeyColumn};
use super::sql_err;
use crate::encode::staging_text_ref;
use crate::error::WarehouseError;
use crate::meta;
use crate::plan::{RowAction, TablePlan};
use crate::types::TargetType;

/// The TEMP catalog's schema, where DuckDB keeps a connection's temporary tables.
const TEMP_SCHEMA: &str = "main";
const TEMP_CATALOG: &str = "temp";

/// A staging table filled with one plan's rows.
pub struct Staged {
    /// Its qualified name.
    pub table: String,
    /// The key columns, and whether any staged row holds NULL in them.
    pub key: Vec<KeyColumn>,
}

/// Creates (or replaces) the staging table of `plan` and appends its rows.
pub fn stage(
    conn: &Connection,
    plan: &TablePlan,
    columns: &[(String, TargetType)],
) -> Result<Staged, WarehouseError> {
    let id = &plan.schema.id;
    let name = format!("_cdc_stage_{}", plan.schema.relation_oid);
    let table = format!("{TEMP_CATALOG}.{TEMP_SCHEMA}.{}", q(&name));
    conn.execute_batch(&format!("CREATE OR REPLACE TEMP TABLE {} ({})", q(&name), definitions(columns)))
        .map_err(sql_err(format!("creating the staging table for {id}")))?;
    let mut key: Vec<KeyColumn> =
        plan.key_indexes().into_iter().map(|index| KeyColumn { index, has_nulls: false }).collect();
    let mut appender = conn
        .appender_to_catalog_and_db(&name, TEMP_CATALOG, TEMP_SCHEMA)
        .map_err(sql_err("opening the appender"))?;
    let mut cells: Vec<ToSqlOutput<'_>> = Vec::with_capacity(6 + 2 * columns.len());
    for row in &plan.rows {
        let action = if row.action == RowAction::Delete { "d" } else { "u" };
        cells.extend([
            text(action),
            text(row.op.code()),
            ToSqlOutput::Borrowed(ValueRef::UBigInt(row.position.commit_lsn.as_u64())),
            ToSqlOutput::Borrowed(ValueRef::UBigInt(row.position.event_lsn.as_u64())),
            ToSqlOutput::Borrowed(ValueRef::BigInt(i64::from(row.xid))),
            ToSqlOutput::Borrowed(ValueRef::BigInt(row.source_ts_micros)),
        ]);
        for (value, (_, ty)) in row.values.iter().zip(columns) {
            let present = !matches!(value, Value::Unchanged);
            cells.push(cell(value, ty));
            cells.push(ToSqlOutput::Borrowed(ValueRef::Boolean(present)));
        }
        for k in &mut key {
            k.has_nulls |= matches!(cells.get(6 + 2 * k.index), Some(ToSqlOutput::Borrowed(ValueRef::Null)));
        }
        appender
            .append_row(appender_params_from_iter(cells.drain(..)))
            .map_err(sql_err(format!("staging rows of {id}")))?;
    }
    appender.flush().map_err(sql_err(format!("staging rows of {id}")))?;
    Ok(Staged { table, key })
}

/// Drops the staging table (it would be replaced by the next flush anyway; dropping frees its memory now).
pub fn drop(conn: &Connection, staged: &Staged) -> Result<(), WarehouseError> {
    conn.execute_batch(&format!("DROP TABLE {}", staged.table)).map_err(sql_err("dropping the staging table"))
}

/// The staging table's column definitions: the action, the metadata, then value and presence per column.
fn definitions(columns: &[(String, TargetType)]) -> String {
    ["_action VARCHAR".to_owned()]
        .into_iter()
        .chain([
            format!("{} VARCHAR", q(meta::OP)),
            format!("{} UBIGINT", q(meta::LSN)),
            format!("{} UBIGINT", q(meta::EVENT_LSN)),
            format!("{} BIGINT", q(meta::TX_ID)),
            format!("{} BIGINT", q(meta::SOURCE_TS)),
        ])
        .chain(columns.iter().flat_map(|(n, ty)| {
            [format!("{} {}", q(n), staging_type(ty)), format!("{} BOOLEAN", q(&present_column(n)))]
        }))
        .collect::<Vec<_>>()
        .join(", ")
}

fn text(s: &str) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
}

/// The staged cell of `value` in a column of type `target`; SQL NULL for `Unchanged` (its presence flag says
/// false) and for what [`staging_text_ref`] has no text for.
fn cell<'a>(value: &'a Value, target: &TargetType) -> ToSqlOutput<'a> {
    let native = match (value, target) {
        (Value::Null | Value::Unchanged, _) => Some(ValueRef::Null),
        (Value::Bool(b), TargetType::Boolean) => Some(ValueRef::Boolean(*b)),
        (Value::Int16(v), TargetType::SmallInt) => Some(ValueRef::SmallInt(*v)),
        (Value::Int32(v), TargetType::Integer) => Some(ValueRef::Int(*v)),
        (Value::Int64(v), TargetType::BigInt) => Some(ValueRef::BigInt(*v)),
        (Value::Oid(v), TargetType::UBigInt) => Some(ValueRef::UBigInt(u64::from(*v))),
        (Value::Float32(v), TargetType::Float) => Some(ValueRef::Float(*v)),
        (Value::Float64(v), TargetType::Double) => Some(ValueRef::Double(*v)),
        _ => None,
    };
    match native {
        Some(value) => ToSqlOutput::Borrowed(value),
        // Text, borrowed where the value already holds it (strings, finite decimals): no copy.
        None => match staging_text_ref(value, target) {
            Some(Cow::Borrowed(text)) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Some(Cow::Owned(text)) => ToSqlOutput::Owned(duckdb::types::Value::Text(text)),
            None => ToSqlOutput::Borrowed(ValueRef::Null),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cdc_core::Numeric;

    use crate::encode::staging_text;

    /// Every staged cell must be what the text staging gave, read back through the column's staging type.
    #[test]
    fn native_cells_match_the_staging_text() {
        let cases = [
            (Value::Bool(true), TargetType::Boolean),
            (Value::Int16(-7), TargetType::SmallInt),
            (Value::Int32(42), TargetType::Integer),
            (Value::Int64(i64::MIN), TargetType::BigInt),
            (Value::Oid(4_000_000_000), TargetType::UBigInt),
            (Value::Float32(1.1), TargetType::Float),
            (Value::Float64(f64::NAN), TargetType::Double),
            (Value::Float64(-0.1), TargetType::Double),
            (Value::Text("héllo".into()), TargetType::Varchar),
            (Value::Numeric(Numeric::Finite("12.34".into())), TargetType::Decimal { precision: 4, scale: 2 }),
        ];
        let conn = Connection::open_in_memory().unwrap();
        for (value, ty) in cases {
            let text = staging_text(&value, &ty).unwrap();
            let sql = format!(
                "SELECT CAST(?::{t} AS VARCHAR) = CAST(CAST(?::VARCHAR AS {t}) AS VARCHAR)",
                t = staging_type(&ty)
            );
            let same: bool = conn
                .query_row(&sql, duckdb::params![cell(&value, &ty), text], |r| r.get(0))
                .unwrap_or_else(|e| panic!("{value:?} as {ty:?}: {e}"));
            assert!(same, "{value:?} as {ty:?} differs from its staging text {text:?}");
        }
    }

    #[test]
    fn unsent_and_unrepresentable_values_are_null() {
        let decimal = TargetType::Decimal { precision: 10, scale: 2 };
        assert_eq!(cell(&Value::Unchanged, &TargetType::Integer), ToSqlOutput::Borrowed(ValueRef::Null));
        assert_eq!(cell(&Value::Numeric(Numeric::NaN), &decimal), ToSqlOutput::Borrowed(ValueRef::Null));
    }

    #[test]
    fn a_value_of_another_type_than_its_column_goes_in_as_text() {
        assert_eq!(
            cell(&Value::Int64(5), &TargetType::Integer),
            ToSqlOutput::Owned(duckdb::types::Value::Text("5".into()))
        );
    }
}
