//! [`WarehouseError`]: what can go wrong writing to a warehouse, with the retry decision in one place.

/// A warehouse sink failure.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error("cannot open the warehouse at {path}: {reason}")]
    Open { path: String, reason: String, hint: &'static str },
    #[error("warehouse statement failed while {during}")]
    Sql {
        during: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A Snowflake login or statement failed.
    #[cfg(feature = "snowflake")]
    #[error("Snowflake failed while {during}")]
    Snowflake {
        during: String,
        #[source]
        source: crate::snowflake::client::SnowflakeError,
    },
    /// Two source names map to one warehouse name (Snowflake folds unquoted names to upper case).
    #[error("columns {first:?} and {second:?} of {table} both become warehouse column {warehouse:?}")]
    NameClash { table: String, first: String, second: String, warehouse: String },
    /// A key value the warehouse type cannot hold.
    #[error("key column {column} of {table} holds a value the warehouse type cannot hold")]
    UnrepresentableKey { table: String, column: String },
    #[error("cannot change column {column} of {table} from {from} to {to}")]
    IncompatibleType { table: String, column: String, from: String, to: String },
}

impl WarehouseError {
    pub fn hint(&self) -> Option<String> {
        match self {
            WarehouseError::Open { hint, .. } => Some((*hint).to_owned()),
            WarehouseError::IncompatibleType { .. } => {
                Some("the warehouse cannot change the column to the new type; rename or recreate the warehouse column".into())
            }
            WarehouseError::Sql { .. } => None,
            WarehouseError::NameClash { .. } => {
                Some("rename one of the source columns; names PostgreSQL folds to lower case are upper-cased".into())
            }
            WarehouseError::UnrepresentableKey { .. } => Some(
                "Snowflake has no infinite or BC dates and timestamps, nor 24:00:00; such a key cannot be loaded"
                    .into(),
            ),
            #[cfg(feature = "snowflake")]
            WarehouseError::Snowflake { source, .. } => source.hint(),
        }
    }
}
