//! cdc-ingest: job postings from the JSearch API (RapidAPI) into PostgreSQL, and `cdc db init` for the source
//! schema the rest of the pipeline captures.
//!
//! ```text
//!  JSearch GET /search ──client.rs──▶ model.rs ──Job + fingerprint──▶ store.rs ──▶ linkedin_jobs
//!  (or saved responses, run_from_dir)   (parse, map)                    (one tx per page)  ingestion_runs
//!                                                                                              │
//!                                                    cdc capture (pgoutput, dbz_publication) ◀─┘
//! ```
//!
//! - [`db_init`]: applies `sql/` (tables, triggers, `REPLICA IDENTITY FULL`, sample data), the replication
//!   role and the publication; idempotent, one transaction, reports created vs present.
//! - [`run_once`] / [`run_scheduled`] / [`run_from_dir`]: ingestion passes. A re-seen job whose content
//!   fingerprint is unchanged only moves `last_seen_at`, so CDC carries real changes, not hourly rewrites.
//! - [`IngestConfig`]: the `[ingest]` section and the seed's environment variables.
//! - [`IngestError`]: typed failures with a hint and one retry classification.

mod client;
mod config;
mod error;
mod model;
mod offline;
mod run;
mod schema;
mod store;

pub use config::{
    DatePosted, EmploymentType, IngestConfig, DEFAULT_API_HOST, DEFAULT_BASE_URL, DEFAULT_COUNTRY,
    DEFAULT_INITIAL_BACKOFF_MS, DEFAULT_LOCATION, DEFAULT_MAX_BACKOFF_MS, DEFAULT_MAX_PAGES,
    DEFAULT_MAX_RETRIES, DEFAULT_MAX_RETRY_AFTER_SECS, DEFAULT_QUERIES, DEFAULT_REQUESTS_PER_SECOND,
    DEFAULT_REQUEST_TIMEOUT_SECS, DEFAULT_SCHEDULE_INTERVAL_MINUTES, MAX_MAX_PAGES,
};
pub use error::{IngestError, MalformedBody, PageRef, Retry};
pub use model::{fingerprint, VOLATILE_FIELDS};
pub use offline::run_from_dir;
pub use run::{run_once, run_scheduled, QueryReport, RunReport, RunStatus};
pub use schema::{db_init, DbInitOptions, DbInitReport, SampleData, DEFAULT_REPLICATION_ROLE, SOURCE_TABLES};
