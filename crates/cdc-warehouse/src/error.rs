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
    #[error("cannot change column {column} of {table} from {from} to {to}")]
    IncompatibleType { table: String, column: String, from: String, to: String },
}

impl WarehouseError {
    pub fn hint(&self) -> Option<String> {
        match self {
            WarehouseError::Open { hint, .. } => Some((*hint).to_owned()),
            WarehouseError::IncompatibleType { .. } => {
                Some("the source narrowed a column type; rename or recreate the warehouse column".into())
            }
            WarehouseError::Sql { .. } => None,
            #[cfg(feature = "snowflake")]
            WarehouseError::Snowflake { source, .. } => source.hint(),
        }
    }
}
