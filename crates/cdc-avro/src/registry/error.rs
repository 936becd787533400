//! [`RegistryError`]: what a call to a schema registry can fail with, Confluent's `error_code` kept, each with
//! what the operator should do, and the one place that decides whether retrying can help.

use std::path::PathBuf;

/// Whether retrying the same call can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// The registry is down, restarting or overloaded.
    Transient,
    /// Configuration, credentials or the schema itself must change first.
    Permanent,
}

/// The error of the URL parser that `reqwest` uses.
pub type UrlError = <reqwest::Url as std::str::FromStr>::Err;

/// A failed call to a Confluent-compatible schema registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The configured URL does not parse or cannot carry a path.
    #[error("invalid schema registry URL {url:?}")]
    Url {
        url: String,
        #[source]
        source: Option<UrlError>,
    },
    /// The extra CA file cannot be read or holds no PEM certificate.
    #[error("cannot use the schema registry CA file {}", path.display())]
    CaFile {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The HTTP client cannot be built (TLS backend initialization).
    #[error("cannot build the schema registry HTTP client")]
    Client(#[source] reqwest::Error),
    /// No HTTP answer (refused, DNS, TLS handshake, timeout), still after retrying.
    #[error("schema registry at {url} is unreachable ({attempts} attempts)")]
    Unreachable {
        url: String,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },
    /// The registry answered with an error: Confluent's `error_code` and `message`.
    #[error("schema registry refused to {operation}: HTTP {status}, error code {error_code}: {message}")]
    Api { operation: String, status: u16, error_code: i64, message: String },
    /// A success status whose body is not what the API documents.
    #[error("unexpected answer from the schema registry to {operation}")]
    Response {
        operation: String,
        #[source]
        source: reqwest::Error,
    },
}

impl RegistryError {
    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Confluent's `error_code` (40401 subject not found, 409 incompatible, 42201 invalid schema, …).
    pub fn error_code(&self) -> Option<i64> {
        match self {
            RegistryError::Api { error_code, .. } => Some(*error_code),
            _ => None,
        }
    }

    /// The registry refused a schema as incompatible with the subject's earlier versions (409; 40901 in
    /// Confluent 8).
    pub fn is_incompatible(&self) -> bool {
        matches!(self, RegistryError::Api { status: 409, .. } | RegistryError::Api { error_code: 40901, .. })
    }

    /// What the operator should do, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            RegistryError::Url { .. } => {
                Some("schema_registry_url must be an http:// or https:// URL, e.g. http://localhost:8081".into())
            }
            RegistryError::CaFile { .. } => {
                Some("the CA file must be PEM with one or more certificates that signed the registry's".into())
            }
            RegistryError::Unreachable { .. } => Some(
                "is schema_registry_url right? check that the registry runs and that this host reaches it (and, \
                 for https, that its certificate chains to the system roots or the configured CA file)"
                    .into(),
            ),
            RegistryError::Api { status: 401 | 403, .. } => Some(
                "check the schema registry credentials (basic auth user and password) and that the user may \
                 read and write the subject"
                    .into(),
            ),
            _ if self.is_incompatible() => Some(
                "the message says what changed; make the change compatible (new fields need a default, types \
                 may only widen) or relax the subject's level with PUT /config/{subject}"
                    .into(),
            ),
            RegistryError::Api { error_code: 42201, .. } => {
                Some("the registry cannot parse the schema; the message says where".into())
            }
            _ => None,
        }
    }

    /// The one classification of registry failures.
    pub fn retry(&self) -> Retry {
        match self {
            RegistryError::Unreachable { .. } => Retry::Transient,
            RegistryError::Api { status, .. } if *status >= 500 || *status == 429 => Retry::Transient,
            _ => Retry::Permanent,
        }
    }
}
