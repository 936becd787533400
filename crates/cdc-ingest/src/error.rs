//! [`IngestError`]: everything ingestion and `db init` can fail with. `Display` says what failed and where (query
//! and page, file, or init step) without the cause chain; [`IngestError::hint`] says what to do; and
//! [`IngestError::retry`] is the one place that decides whether trying again can help.
//!
//! No variant carries the API key: the key only ever travels in a request header, and every text taken from a
//! response body goes through [`excerpt`], which also scrubs the key should a proxy echo it back.

use std::fmt;
use std::time::Duration;

use cdc_core::config::ConfigError;

/// Whether retrying the same operation can succeed.
// TODO: use cdc_core's `Retry` once it is exported at the crate root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A network blip, a restarting server, an exhausted quota that resets: the next scheduled run may succeed.
    Transient,
    /// Wrong key, wrong configuration, missing schema or privileges: stop and tell the operator.
    Permanent,
}

/// Where a page came from: an API request or a saved response file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRef {
    Api { query: String, page: u32 },
    File { path: String },
}

impl fmt::Display for PageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageRef::Api { query, page } => write!(f, "page {page} of query {query:?}"),
            PageRef::File { path } => write!(f, "file {path}"),
        }
    }
}

/// Why a 200 response body could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MalformedBody {
    /// Not JSON at all, or cut off (`detail` is serde_json's position message, no content).
    NotJson { detail: String },
    /// JSON, but not an object.
    NotAnObject,
    /// The envelope has no `data` field.
    MissingData,
    /// `data` is present but not an array (`found` is its JSON type).
    DataNotArray { found: &'static str },
    /// The provider's own error envelope (`status: "ERROR"`).
    ProviderError { message: String },
}

impl fmt::Display for MalformedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MalformedBody::NotJson { detail } => write!(f, "the body is not valid JSON ({detail})"),
            MalformedBody::NotAnObject => f.write_str("the body is not a JSON object"),
            MalformedBody::MissingData => f.write_str("the response has no `data` field"),
            MalformedBody::DataNotArray { found } => write!(f, "`data` is {found}, not an array"),
            MalformedBody::ProviderError { message } => {
                write!(f, "the provider answered with an error: {message}")
            }
        }
    }
}

/// A failure of ingestion or `db init`.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("invalid ingest configuration")]
    Config(#[from] ConfigError),

    #[error("no JSearch API key is configured (RAPIDAPI_KEY is unset)")]
    MissingApiKey,

    #[error("cannot connect to PostgreSQL at {target}")]
    Connect {
        target: String,
        #[source]
        source: tokio_postgres::Error,
    },

    #[error("PostgreSQL failed during {during}")]
    Database {
        during: String,
        #[source]
        source: tokio_postgres::Error,
    },

    #[error("the ingestion tables are missing from {target} (table {table} not found)")]
    SchemaMissing { target: String, table: &'static str },

    #[error("db init: permission denied at step {step:?} for user {user:?}: {message}")]
    InitPermission { step: String, user: String, message: String },

    #[error("db init failed at step {step:?}")]
    Init {
        step: String,
        #[source]
        source: tokio_postgres::Error,
    },

    #[error("JSearch refused the API key in RAPIDAPI_KEY (HTTP {status} for {at}): {message}")]
    Unauthorized { status: u16, at: PageRef, message: String },

    #[error("JSearch monthly quota is exhausted (HTTP 429 for {at}){}", reset_text(*reset_in))]
    QuotaExhausted { at: PageRef, reset_in: Option<Duration> },

    #[error("the monthly request budget of {budget} requests is used up ({used} this month) before {at}")]
    BudgetExhausted { at: PageRef, budget: u64, used: u64 },

    #[error("JSearch kept rate-limiting {at} (HTTP 429, {attempts} attempts)")]
    RateLimited { at: PageRef, attempts: u32, retry_after: Option<Duration> },

    #[error("JSearch answered HTTP {status} for {at} after {attempts} attempts: {excerpt}")]
    Server { at: PageRef, status: u16, attempts: u32, excerpt: String },

    #[error("JSearch rejected the request for {at} (HTTP {status}): {message}")]
    Rejected { at: PageRef, status: u16, message: String },

    #[error("cannot reach JSearch for {at} after {attempts} attempts")]
    Network {
        at: PageRef,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },

    #[error("malformed response for {at}: {reason}")]
    Malformed { at: PageRef, reason: MalformedBody },

    #[error("cannot read {path}")]
    ReadFile {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot build the HTTP client")]
    HttpClient(#[source] reqwest::Error),
}

fn reset_text(reset_in: Option<Duration>) -> String {
    match reset_in {
        Some(d) => format!("; it resets in {}", human_duration(d)),
        None => String::new(),
    }
}

fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

impl IngestError {
    /// What the operator should do, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        let hint = match self {
            IngestError::Config(_) => "fix the named key in cdc.toml or the environment variable of the same meaning",
            IngestError::MissingApiKey | IngestError::Unauthorized { status: 401, .. } => {
                "set RAPIDAPI_KEY (or [ingest].api_key) to a valid key from your RapidAPI app (Apps → Security)"
            }
            IngestError::Unauthorized { .. } => {
                "subscribe the app of RAPIDAPI_KEY to the JSearch API on RapidAPI, or set RAPIDAPI_KEY to a key \
                 that is subscribed"
            }
            IngestError::Connect { .. } => {
                "check POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD and that PostgreSQL is running"
            }
            IngestError::SchemaMissing { .. } => "run `cdc db init` against this database first",
            IngestError::InitPermission { .. } => {
                "run `cdc db init` as the database owner or a superuser: it needs CREATE on the database and on \
                 schema public, and superuser (PostgreSQL 15) to create a role with REPLICATION"
            }
            IngestError::QuotaExhausted { .. } => {
                "wait for the quota to reset, or upgrade the RapidAPI plan; lower [ingest].max_pages or the number \
                 of SEARCH_QUERIES to use fewer requests"
            }
            IngestError::BudgetExhausted { .. } => {
                "raise [ingest].monthly_request_budget, or wait for the next month (UTC)"
            }
            IngestError::RateLimited { .. } => "lower [ingest].requests_per_second",
            IngestError::Server { .. } | IngestError::Network { .. } => {
                "JSearch or the network is failing; the next scheduled run tries again"
            }
            IngestError::Rejected { .. } => "check [ingest] query parameters (date_posted, employment_types, country)",
            IngestError::Database { .. } | IngestError::Init { .. } => "see the PostgreSQL server log for details",
            IngestError::Malformed { .. }
            | IngestError::ReadFile { .. }
            | IngestError::HttpClient(_) => return None,
        };
        Some(hint.to_owned())
    }

    /// The one classification of ingestion failures.
    pub fn retry(&self) -> Retry {
        match self {
            IngestError::Connect { .. }
            | IngestError::QuotaExhausted { .. }
            | IngestError::BudgetExhausted { .. }
            | IngestError::RateLimited { .. }
            | IngestError::Server { .. }
            | IngestError::Network { .. }
            | IngestError::Malformed { .. } => Retry::Transient,
            IngestError::Database { source, .. } | IngestError::Init { source, .. } => match source.code() {
                // 08 connection exceptions, 57 operator intervention (shutdown), 40 serialization/deadlock.
                Some(code) if ["08", "57", "40"].iter().any(|c| code.code().starts_with(c)) => {
                    Retry::Transient
                }
                Some(_) => Retry::Permanent,
                None => Retry::Transient,
            },
            IngestError::Config(_)
            | IngestError::MissingApiKey
            | IngestError::SchemaMissing { .. }
            | IngestError::InitPermission { .. }
            | IngestError::Unauthorized { .. }
            | IngestError::Rejected { .. }
            | IngestError::ReadFile { .. }
            | IngestError::HttpClient(_) => Retry::Permanent,
        }
    }

    /// Whether this failure ends the whole run (every query), not just the query it happened in.
    pub(crate) fn ends_run(&self) -> bool {
        !matches!(
            self,
            IngestError::RateLimited { .. }
                | IngestError::Server { .. }
                | IngestError::Network { .. }
                | IngestError::Rejected { .. }
                | IngestError::Malformed { .. }
        )
    }

    pub(crate) fn database(during: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> IngestError {
        let during = during.into();
        move |source| IngestError::Database { during, source }
    }
}

/// At most 200 characters of a response body on one line, with `secret` removed, for messages.
pub(crate) fn excerpt(body: &[u8], secret: &str) -> String {
    let text = String::from_utf8_lossy(body);
    let mut one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if !secret.is_empty() {
        one_line = one_line.replace(secret, "***");
    }
    match one_line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}
