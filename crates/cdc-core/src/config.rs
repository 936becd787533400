//! Configuration sections owned by cdc-core: the PostgreSQL connection, the source, the pipeline and the event
//! encoding. The binary layers `cdc.toml`, `.env` and the environment into these once; every struct rejects
//! unknown keys and `validate()` names the failing key path.

use std::fmt;
use std::path::PathBuf;

use crate::schema::TableId;

/// Environment overrides read through `get` (the process environment, or a map in tests): an empty value
/// counts as unset, and the names that were set are remembered (`cdc config check` lists them).
#[derive(Debug)]
pub struct EnvOverrides<F> {
    get: F,
    applied: Vec<&'static str>,
}

impl<F: Fn(&str) -> Option<String>> EnvOverrides<F> {
    pub fn new(get: F) -> Self {
        EnvOverrides { get, applied: Vec::new() }
    }

    /// The variable's value when it is set and not empty.
    pub fn take(&mut self, name: &'static str) -> Option<String> {
        let value = (self.get)(name).filter(|v| !v.is_empty());
        if value.is_some() {
            self.applied.push(name);
        }
        value
    }

    /// The names that were set, in the order they were read.
    pub fn applied(self) -> Vec<&'static str> {
        self.applied
    }
}

/// A secret string (password, token): printed as `***` by `Debug` and `Display`, never serialized.
#[derive(Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; call only where it is sent to the server it belongs to.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// libpq's `sslmode` values that we support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    /// Plain TCP.
    #[default]
    Disable,
    /// TLS if the server offers it, without certificate checks.
    Prefer,
    /// TLS, without certificate checks (encryption only).
    Require,
    /// TLS, the server certificate must chain to `sslrootcert` (or the system roots); any host name.
    VerifyCa,
    /// TLS, chain and host name verified.
    VerifyFull,
}

pub const DEFAULT_PG_PORT: u16 = 5432;
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;

/// How to reach PostgreSQL (`[postgres]`; environment `POSTGRES_HOST|PORT|DB|USER|PASSWORD`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresConfig {
    /// Host name, IP address, or an absolute directory holding the Unix socket (`/var/run/postgresql`).
    pub host: String,
    pub port: u16,
    /// Database name (`POSTGRES_DB`).
    pub dbname: String,
    pub user: String,
    /// Password for password or SCRAM authentication; never logged.
    pub password: Option<Secret>,
    pub sslmode: SslMode,
    /// PEM file of trusted roots for `verify-ca`/`verify-full` (defaults to the bundled web PKI roots).
    pub sslrootcert: Option<PathBuf>,
    pub connect_timeout_secs: u64,
    /// Shown in `pg_stat_activity` and `pg_stat_replication`.
    pub application_name: String,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig {
            host: "localhost".into(),
            port: DEFAULT_PG_PORT,
            dbname: "postgres".into(),
            user: "postgres".into(),
            password: None,
            sslmode: SslMode::default(),
            sslrootcert: None,
            connect_timeout_secs: DEFAULT_CONNECT_TIMEOUT_SECS,
            application_name: "cdc".into(),
        }
    }
}

impl PostgresConfig {
    /// `host:port/dbname` for messages (no user, no secret).
    pub fn describe(&self) -> String {
        format!("{}:{}/{}", self.host, self.port, self.dbname)
    }

    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        if self.host.is_empty() {
            return Err(ConfigError::invalid(format!("{path}.host"), "must not be empty"));
        }
        if self.port == 0 {
            return Err(ConfigError::invalid(format!("{path}.port"), "must be 1-65535"));
        }
        if self.dbname.is_empty() {
            return Err(ConfigError::invalid(format!("{path}.dbname"), "must not be empty"));
        }
        if self.user.is_empty() {
            return Err(ConfigError::invalid(format!("{path}.user"), "must not be empty"));
        }
        Ok(())
    }
}

/// What the initial snapshot does (Debezium's `snapshot.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotMode {
    /// Snapshot every table once, then stream.
    #[default]
    Initial,
    /// Stream only; existing rows are not emitted.
    Never,
    /// Snapshot, then stop without streaming.
    InitialOnly,
}

/// How the publication is kept (Debezium's `publication.autocreate.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicationAutocreate {
    /// Created for the configured tables when missing (for all tables when none are configured); a configured
    /// table it lacks is added to it.
    #[default]
    Filtered,
    /// `CREATE PUBLICATION … FOR ALL TABLES` when missing.
    AllTables,
    /// Must exist and publish every configured table; never created or altered.
    Disabled,
}

/// How tables are read whose snapshot is not recorded done while the slot already exists: a table added to
/// `tables` later, an initial snapshot interrupted by a crash, a table an `execute-snapshot` signal names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotNewTables {
    /// Stop the stream, read them whole at a fresh consistent point, then stream on.
    #[default]
    Blocking,
    /// Read them in primary-key chunks while streaming (DBLog watermarks), resumable per chunk.
    Incremental,
}

pub const DEFAULT_SLOT_NAME: &str = "cdc_slot";
pub const DEFAULT_INCREMENTAL_CHUNK_SIZE: usize = 1_024;
pub const DEFAULT_SNAPSHOT_MAX_THREADS: usize = 2;
/// 32 MiB of table per range at the default block size.
pub const DEFAULT_SNAPSHOT_PARTITION_BLOCKS: i64 = 4096;
/// 64 MiB, PostgreSQL's own default `logical_decoding_work_mem`.
pub const DEFAULT_STREAM_MEMORY_LIMIT_KB: usize = 64 * 1024;
pub const DEFAULT_PUBLICATION: &str = "dbz_publication";
pub const DEFAULT_STATUS_INTERVAL_MS: u64 = 1_000;
pub const DEFAULT_HEARTBEAT_INTERVAL_MS: u64 = 10_000;

/// The PostgreSQL source (`[source]`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceConfig {
    /// Logical replication slot (pgoutput), created if absent.
    pub slot_name: String,
    /// Publication, created if absent (for `tables`, or for all tables when `tables` is empty).
    pub publication: String,
    /// Tables to capture as `schema.table` (or `table` for `public`); empty = every table of the publication.
    pub tables: Vec<String>,
    pub publication_autocreate: PublicationAutocreate,
    pub snapshot_mode: SnapshotMode,
    pub snapshot_new_tables: SnapshotNewTables,
    /// Connections reading the initial snapshot at once: tables in parallel, and large tables in block ranges
    /// (PostgreSQL ≥ 14). Debezium's `snapshot.max.threads`.
    pub snapshot_max_threads: usize,
    /// Blocks (8 KiB each by default) per range of a large table's snapshot; tables under two ranges are read
    /// whole.
    pub snapshot_partition_blocks: i64,
    /// Rows per chunk of an incremental snapshot (Debezium's `incremental.snapshot.chunk.size`).
    pub incremental_chunk_size: usize,
    /// How often a standby status update is sent even when nothing changed.
    pub status_interval_ms: u64,
    /// How often, when idle, a logical heartbeat message is written so the slot can advance past WAL written by
    /// other databases or unpublished tables; 0 disables.
    pub heartbeat_interval_ms: u64,
    /// Ask PostgreSQL ≥ 14 to stream large transactions before they commit (pgoutput protocol v2); they are
    /// buffered here, spilled past `stream_memory_limit_kb`, and emitted at commit. Off: protocol v1.
    pub stream_large_transactions: bool,
    /// Memory for streamed, not yet committed transactions, across all of them; beyond it they spill to `TMPDIR`.
    pub stream_memory_limit_kb: usize,
    /// A slot that lives only as long as the connection (`cdc tail`); not a file setting.
    #[serde(skip)]
    pub temporary_slot: bool,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            slot_name: DEFAULT_SLOT_NAME.into(),
            publication: DEFAULT_PUBLICATION.into(),
            tables: Vec::new(),
            publication_autocreate: PublicationAutocreate::default(),
            snapshot_mode: SnapshotMode::default(),
            snapshot_new_tables: SnapshotNewTables::default(),
            snapshot_max_threads: DEFAULT_SNAPSHOT_MAX_THREADS,
            snapshot_partition_blocks: DEFAULT_SNAPSHOT_PARTITION_BLOCKS,
            incremental_chunk_size: DEFAULT_INCREMENTAL_CHUNK_SIZE,
            status_interval_ms: DEFAULT_STATUS_INTERVAL_MS,
            heartbeat_interval_ms: DEFAULT_HEARTBEAT_INTERVAL_MS,
            stream_large_transactions: true,
            stream_memory_limit_kb: DEFAULT_STREAM_MEMORY_LIMIT_KB,
            temporary_slot: false,
        }
    }
}

impl SourceConfig {
    pub fn table_ids(&self) -> Vec<TableId> {
        self.tables.iter().map(|t| TableId::parse(t)).collect()
    }

    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        let valid_name = |s: &str| {
            !s.is_empty()
                && s.len() <= 63
                && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if !valid_name(&self.slot_name) {
            return Err(ConfigError::invalid(
                format!("{path}.slot_name"),
                "must be 1-63 characters of a-z, 0-9 and _ (PostgreSQL's rule for slot names)",
            ));
        }
        if self.publication.is_empty() {
            return Err(ConfigError::invalid(format!("{path}.publication"), "must not be empty"));
        }
        if self.status_interval_ms == 0 {
            return Err(ConfigError::invalid(format!("{path}.status_interval_ms"), "must be at least 1"));
        }
        if self.snapshot_max_threads == 0 || self.snapshot_max_threads > 64 {
            return Err(ConfigError::invalid(
                format!("{path}.snapshot_max_threads"),
                "must be between 1 and 64",
            ));
        }
        if self.snapshot_partition_blocks < 1 {
            return Err(ConfigError::invalid(
                format!("{path}.snapshot_partition_blocks"),
                "must be at least 1",
            ));
        }
        if self.stream_memory_limit_kb == 0 {
            return Err(ConfigError::invalid(format!("{path}.stream_memory_limit_kb"), "must be at least 1"));
        }
        if self.incremental_chunk_size == 0 {
            return Err(ConfigError::invalid(format!("{path}.incremental_chunk_size"), "must be at least 1"));
        }
        for t in &self.tables {
            if t.is_empty() || t.split('.').count() > 2 {
                return Err(ConfigError::invalid(
                    format!("{path}.tables"),
                    format!("{t:?} is not schema.table"),
                ));
            }
        }
        Ok(())
    }
}

pub const DEFAULT_BATCH_SIZE: usize = 1_000;
pub const DEFAULT_POLL_TIMEOUT_MS: u64 = 1_000;

/// Batching of the pipeline loop (`[pipeline]`; environment `BATCH_SIZE`, `POLL_TIMEOUT` in seconds).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// A batch is flushed once it holds this many events…
    pub batch_size: usize,
    /// …or once its first event is this old.
    pub poll_timeout_ms: u64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig { batch_size: DEFAULT_BATCH_SIZE, poll_timeout_ms: DEFAULT_POLL_TIMEOUT_MS }
    }
}

impl PipelineConfig {
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        if self.batch_size == 0 {
            return Err(ConfigError::invalid(format!("{path}.batch_size"), "must be at least 1"));
        }
        Ok(())
    }
}

/// A configuration value is wrong.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {key}: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

impl ConfigError {
    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError { key: key.into(), reason: reason.into() }
    }
}
