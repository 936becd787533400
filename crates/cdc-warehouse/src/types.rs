//! PostgreSQL column types → warehouse-neutral target types. Dialects spell them (`duckdb::ddl`).

use cdc_core::{Column, PgType, TypeKind};

/// The largest DECIMAL precision warehouses hold exactly (DuckDB and Snowflake: 38).
pub const MAX_DECIMAL_PRECISION: u32 = 38;

/// A warehouse column type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetType {
    Boolean,
    SmallInt,
    Integer,
    BigInt,
    /// 64-bit unsigned (oid).
    UBigInt,
    Float,
    Double,
    Decimal {
        precision: u32,
        scale: u32,
    },
    /// Text; also numerics beyond DECIMAL's precision, kept exact as text.
    Varchar,
    Blob,
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
    Interval,
    Uuid,
    Json,
    Bit,
    List(Box<TargetType>),
}

/// Maps a column.
pub fn target_type(column: &Column) -> TargetType {
    match &column.pg_type.kind {
        TypeKind::Numeric => match column.numeric_precision_scale() {
            // DECIMAL needs 0 <= scale <= precision <= 38; anything else stays exact as text.
            Some((p, s)) if p <= MAX_DECIMAL_PRECISION && s >= 0 && s as u32 <= p => {
                TargetType::Decimal { precision: p, scale: s as u32 }
            }
            _ => TargetType::Varchar,
        },
        _ => scalar(&column.pg_type),
    }
}

fn scalar(ty: &PgType) -> TargetType {
    match &ty.kind {
        TypeKind::Bool => TargetType::Boolean,
        TypeKind::Int2 => TargetType::SmallInt,
        TypeKind::Int4 => TargetType::Integer,
        TypeKind::Int8 => TargetType::BigInt,
        TypeKind::Oid => TargetType::UBigInt,
        TypeKind::Float4 => TargetType::Float,
        TypeKind::Float8 => TargetType::Double,
        // An unconstrained numeric can hold 1000 digits: text keeps it exact.
        TypeKind::Numeric => TargetType::Varchar,
        // money is int64 cents: 19 digits.
        TypeKind::Money => TargetType::Decimal { precision: 19, scale: 2 },
        TypeKind::Bytea => TargetType::Blob,
        TypeKind::Date => TargetType::Date,
        TypeKind::Time => TargetType::Time,
        TypeKind::TimeTz => TargetType::TimeTz,
        TypeKind::Timestamp => TargetType::Timestamp,
        TypeKind::TimestampTz => TargetType::TimestampTz,
        TypeKind::Interval => TargetType::Interval,
        TypeKind::Uuid => TargetType::Uuid,
        TypeKind::Json | TypeKind::Jsonb | TypeKind::Hstore => TargetType::Json,
        TypeKind::Bit => TargetType::Bit,
        TypeKind::Array(elem) => TargetType::List(Box::new(scalar(elem))),
        TypeKind::Text | TypeKind::Inet | TypeKind::MacAddr | TypeKind::Enum(_) | TypeKind::Other => {
            TargetType::Varchar
        }
    }
}
