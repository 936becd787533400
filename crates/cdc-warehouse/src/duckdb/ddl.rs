//! DuckDB spelling of target types, table creation and schema evolution.

use crate::meta;
use crate::types::TargetType;

/// The type as DuckDB spells it in `information_schema.columns.data_type`, so existing tables compare equal.
pub fn type_name(t: &TargetType) -> String {
    match t {
        TargetType::Boolean => "BOOLEAN".into(),
        TargetType::SmallInt => "SMALLINT".into(),
        TargetType::Integer => "INTEGER".into(),
        TargetType::BigInt => "BIGINT".into(),
        TargetType::UBigInt => "UBIGINT".into(),
        TargetType::Float => "FLOAT".into(),
        TargetType::Double => "DOUBLE".into(),
        TargetType::Decimal { precision, scale } => format!("DECIMAL({precision},{scale})"),
        TargetType::Varchar => "VARCHAR".into(),
        TargetType::Blob => "BLOB".into(),
        TargetType::Date => "DATE".into(),
        TargetType::Time => "TIME".into(),
        TargetType::TimeTz => "TIME WITH TIME ZONE".into(),
        TargetType::Timestamp => "TIMESTAMP".into(),
        TargetType::TimestampTz => "TIMESTAMP WITH TIME ZONE".into(),
        TargetType::Interval => "INTERVAL".into(),
        TargetType::Uuid => "UUID".into(),
        TargetType::Json => "JSON".into(),
        TargetType::Bit => "BIT".into(),
        TargetType::List(elem) => format!("{}[]", type_name(elem)),
    }
}

/// Metadata columns and their types, in table order after the source columns.
pub const META_COLUMNS: [(&str, &str); 7] = [
    (meta::OP, "VARCHAR"),
    (meta::LSN, "UBIGINT"),
    (meta::EVENT_LSN, "UBIGINT"),
    (meta::TX_ID, "BIGINT"),
    (meta::SOURCE_TS, "TIMESTAMP WITH TIME ZONE"),
    (meta::SYNCED_AT, "TIMESTAMP WITH TIME ZONE"),
    (meta::DELETED, "BOOLEAN"),
];

/// Whether a column of type `target` is staged in that type (values appended natively) rather than as text.
/// Only types whose values convert losslessly without the text detour: the rest keep one exact, tested
/// conversion (text, cast by DuckDB) instead of a second one here.
pub fn staged_natively(target: &TargetType) -> bool {
    matches!(
        target,
        TargetType::Boolean
            | TargetType::SmallInt
            | TargetType::Integer
            | TargetType::BigInt
            | TargetType::UBigInt
            | TargetType::Float
            | TargetType::Double
            | TargetType::Varchar
    )
}

/// The staging column type of a column of type `target`.
pub fn staging_type(target: &TargetType) -> String {
    if staged_natively(target) {
        type_name(target)
    } else {
        "VARCHAR".into()
    }
}

/// The SQL expression turning staging column `column` into `target`.
pub fn from_staging(column: &str, target: &TargetType) -> String {
    if staged_natively(target) {
        column.to_owned()
    } else {
        cast_from_staging(column, target)
    }
}

/// The SQL expression turning text `column` (a staging column, or a literal) into `target`.
pub fn cast_from_staging(column: &str, target: &TargetType) -> String {
    match target {
        TargetType::Blob => format!("unhex({column})"),
        TargetType::List(_) => format!("CAST(CAST({column} AS JSON) AS {})", type_name(target)),
        TargetType::Varchar => column.to_owned(),
        other => format!("CAST({column} AS {})", type_name(other)),
    }
}

/// Double-quotes an identifier (short name: it appears in every line of generated SQL).
pub use cdc_core::schema::quote_ident as q;
