//! [`PgError`]: everything the PostgreSQL source can fail with, each with an operator hint, and the one place
//! that decides whether a failure is worth retrying.

/// Whether retrying the same operation can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A network blip, a restarting server: reconnect with backoff.
    Transient,
    /// Wrong configuration or missing prerequisite: retrying cannot help; stop and tell the operator.
    Permanent,
}

/// A failure of the PostgreSQL source.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("cannot connect to PostgreSQL at {target}: {reason}")]
    Connect {
        target: String,
        reason: String,
        hint: &'static str,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error("PostgreSQL is not ready for logical replication: {problem}")]
    Prerequisite { problem: String, hint: String },
    #[error("PostgreSQL error during {during}: {message}")]
    Server { during: String, message: String, code: String },
    #[error("query failed during {during}")]
    Query {
        during: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("replication protocol error: {0}")]
    Protocol(String),
    #[error("cannot decode pgoutput message")]
    Decode(#[source] crate::pgoutput::DecodeError),
    #[error("cannot decode column {column} of {table}")]
    Value {
        table: String,
        column: String,
        #[source]
        source: crate::value::ValueParseError,
    },
    #[error("connection to PostgreSQL lost during {during}")]
    Io {
        during: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("cannot spill a large streamed transaction to a temporary file")]
    Spill(#[source] std::io::Error),
}

impl PgError {
    /// What the operator should do, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            PgError::Connect { hint, .. } => Some((*hint).to_owned()),
            PgError::Prerequisite { hint, .. } => Some(hint.clone()),
            PgError::Spill(_) => Some(
                "free space in TMPDIR (or point TMPDIR elsewhere), or raise [source] stream_memory_limit_kb"
                    .into(),
            ),
            PgError::Server { code, .. } if code == "42501" => {
                Some("grant the missing privilege to the replication role (see sql/ and the README)".into())
            }
            _ => None,
        }
    }

    /// The one classification of source failures.
    pub fn retry(&self) -> Retry {
        match self {
            PgError::Connect { reason, .. } if reason.contains("refused") || reason.contains("timed out") => {
                Retry::Transient
            }
            PgError::Connect { .. } | PgError::Prerequisite { .. } | PgError::Tls(_) => Retry::Permanent,
            // 57P01 admin shutdown, 57P03 cannot connect now, 08xxx connection exceptions, 55006 slot in use.
            PgError::Server { code, .. }
                if code.starts_with("08") || code == "57P01" || code == "57P03" || code == "55006" =>
            {
                Retry::Transient
            }
            PgError::Server { .. } | PgError::Decode(_) | PgError::Value { .. } | PgError::Protocol(_) => {
                Retry::Permanent
            }
            PgError::Query { source, .. } => match source.code() {
                Some(code) if code.code().starts_with("08") || code.code().starts_with("57") => {
                    Retry::Transient
                }
                Some(_) => Retry::Permanent,
                None => Retry::Transient,
            },
            PgError::Io { .. } | PgError::Spill(_) => Retry::Transient,
        }
    }

    pub(crate) fn query(during: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> PgError {
        let during = during.into();
        move |source| match source.as_db_error() {
            Some(db) => PgError::Server {
                during,
                message: db.message().to_owned(),
                code: db.code().code().to_owned(),
            },
            None => PgError::Query { during, source },
        }
    }
}
