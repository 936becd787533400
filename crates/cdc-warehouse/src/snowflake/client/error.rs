//! [`SnowflakeError`]: Snowflake's error codes as types, each with what to do about it.

/// A failed login or statement.
#[derive(Debug, thiserror::Error)]
pub enum SnowflakeError {
    /// The server refused the credentials; `setting` names what to fix.
    #[error("Snowflake login failed ({code}): {message}")]
    Login { code: String, message: String, setting: &'static str },
    /// A statement failed: SQL compilation, access control, a missing object. Never retried.
    #[error("Snowflake statement failed ({code}, SQLSTATE {sql_state}): {message}")]
    Sql { code: String, sql_state: String, message: String, query_id: Option<String> },
    /// 429, 5xx or network errors persisted past the retry deadline.
    #[error("Snowflake at {url} did not answer successfully after {attempts} attempts: {last}")]
    Unavailable { url: String, attempts: u32, last: String },
    /// The statement ran past `[snowflake].query_timeout_secs`.
    #[error("Snowflake statement did not finish within {seconds} s")]
    Timeout { seconds: u64 },
    /// A response that is not what the protocol says.
    #[error("unexpected response from Snowflake: {0}")]
    Protocol(String),
    /// The private key file cannot be read.
    #[error("cannot read the private key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    /// The private key cannot be used.
    #[error("cannot use the private key {path}: {source}")]
    Key {
        path: String,
        #[source]
        source: super::auth::AuthError,
    },
}

/// Error codes that mean "log in again": the session or its token expired.
pub(crate) const SESSION_EXPIRED: [&str; 3] = ["390112", "390114", "390104"];

impl SnowflakeError {
    /// The statement error's code, if this is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            SnowflakeError::Sql { code, .. } | SnowflakeError::Login { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Access control: the role lacks a privilege.
    pub fn is_privilege(&self) -> bool {
        matches!(self, SnowflakeError::Sql { code, sql_state, .. } if code == "003001" || sql_state == "42501")
    }

    /// An object (warehouse, database, schema, table) does not exist or the role cannot see it.
    pub fn is_missing_object(&self) -> bool {
        matches!(self, SnowflakeError::Sql { code, .. } if code == "002043" || code == "002003")
    }

    /// What to do, for the operator.
    pub fn hint(&self) -> Option<String> {
        match self {
            SnowflakeError::Login { setting, .. } => Some(format!("check {setting}")),
            SnowflakeError::Unavailable { .. } => Some(
                "check SNOWFLAKE_ACCOUNT (or [snowflake].host/port/protocol) and the network; the sink retried \
                 for [snowflake].retry_timeout_secs"
                    .into(),
            ),
            SnowflakeError::Timeout { .. } => {
                Some("raise [snowflake].query_timeout_secs or use a larger warehouse".into())
            }
            SnowflakeError::Key { .. } | SnowflakeError::KeyFile { .. } => Some(
                "SNOWFLAKE_PRIVATE_KEY_PATH must be a PEM RSA key (PKCS#8, encrypted with \
                 SNOWFLAKE_PRIVATE_KEY_PASSPHRASE, or PKCS#1)"
                    .into(),
            ),
            _ if self.is_missing_object() => Some(
                "the object does not exist or the role cannot see it: check SNOWFLAKE_WAREHOUSE, \
                 SNOWFLAKE_DATABASE and SNOWFLAKE_SCHEMA, grant the role in SNOWFLAKE_ROLE USAGE on them, or set \
                 [snowflake].create_schemas = true"
                    .into(),
            ),
            _ if self.is_privilege() => Some(
                "grant the role in SNOWFLAKE_ROLE USAGE on the warehouse, database and schema and CREATE TABLE \
                 on the schema (or point SNOWFLAKE_ROLE at a role that has them)"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// The setting a login error code points at.
pub(crate) fn login_setting(
    code: &str,
    authenticator: crate::snowflake::config::Authenticator,
) -> &'static str {
    use crate::snowflake::config::Authenticator as A;
    match (code, authenticator) {
        // The role is not granted to the user, or does not exist.
        ("390189", _) => "SNOWFLAKE_ROLE ([snowflake].role): a role granted to SNOWFLAKE_USER",
        ("390201", _) => "SNOWFLAKE_ACCOUNT ([snowflake].account)",
        (_, A::Snowflake) => "SNOWFLAKE_USER and SNOWFLAKE_PASSWORD ([snowflake].user, .password)",
        (_, A::SnowflakeJwt) => {
            "SNOWFLAKE_USER and SNOWFLAKE_PRIVATE_KEY_PATH (the user's RSA_PUBLIC_KEY must match the key)"
        }
        ("390318", A::Oauth) => "SNOWFLAKE_TOKEN: the OAuth access token expired; get a new one",
        (_, A::Oauth) => {
            "SNOWFLAKE_TOKEN (an OAuth access token for SNOWFLAKE_USER; for a programmatic access token set \
             SNOWFLAKE_AUTHENTICATOR=programmatic_access_token)"
        }
        (_, A::ProgrammaticAccessToken) => "SNOWFLAKE_TOKEN (a programmatic access token for SNOWFLAKE_USER)",
    }
}
