//! Command-line interface: one binary, one subcommand per role.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// cdc-pipeline: PostgreSQL change data capture into Kafka, DuckDB and Snowflake, in one binary.
#[derive(Debug, Parser)]
#[command(name = "cdc", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (TOML). Default: $CDC_CONFIG, else ./cdc.toml when present.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "CDC_LOG_FORMAT")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (also accepted as `pretty`).
    #[value(alias = "pretty")]
    Text,
    /// One JSON object per line, for Loki and friends.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The embedded pipeline: PostgreSQL → DuckDB in one process (no Kafka).
    Run(RunArgs),
    /// Compare the source with the warehouse (DuckDB, or Snowflake with --sink snowflake) table by table: row
    /// counts and checksums.
    Verify(VerifyArgs),
    /// Capture changes from PostgreSQL (snapshot, then logical replication) and write Debezium-style events.
    Capture(CaptureArgs),
    /// Load change events from Kafka topics into the warehouse (a consumer group; run more to scale out).
    Load(LoadArgs),
    /// A Kafka Connect worker: Debezium PostgreSQL connector JSON POSTed to its REST API runs as cdc pipelines
    /// into Kafka (several connectors per process, kept in [connect].state_file).
    Connect(ConnectArgs),
    /// Print live changes from PostgreSQL as they happen (a temporary slot; the capture slot is untouched).
    Tail(TailArgs),
    /// Fetch job postings from the JSearch API (RapidAPI) into PostgreSQL's `linkedin_jobs`, on a schedule.
    Ingest(IngestArgs),
    /// Source database setup.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Show what the admin API of a running `cdc` reports: connector, state, slot position, last error.
    Status(StatusArgs),
    /// Validate configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// One pass over every query and page, then exit (non-zero if a query failed).
    #[arg(long)]
    pub once: bool,
    /// Load saved JSearch responses (`*.json`) from this directory instead of calling the API; implies --once.
    #[arg(long, value_name = "DIR")]
    pub from_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the source schema (sample tables, `linkedin_jobs`, `ingestion_runs`), sample data, the replication
    /// role and the publication; idempotent, in one transaction.
    Init {
        /// Skip the sample rows (for real databases).
        #[arg(long)]
        no_sample_data: bool,
        /// Name of the least-privilege replication role to create.
        #[arg(long, default_value = cdc_ingest::DEFAULT_REPLICATION_ROLE)]
        replication_role: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    /// The REST API's address (Kafka Connect's default port); default [admin].listen, else 127.0.0.1:8083.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, clap::Args)]
pub struct CaptureArgs {
    /// Where events go: `jsonl` (a file or stdout, see --output) or `kafka` ([kafka], KAFKA_BOOTSTRAP_SERVERS).
    #[arg(long, value_enum, default_value_t = CaptureSink::Jsonl)]
    pub sink: CaptureSink,
    /// With `--sink jsonl`: a JSON-lines file (appended to), or `-` for stdout.
    #[arg(long, short, default_value = "-", value_name = "PATH")]
    pub output: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CaptureSink {
    Jsonl,
    Kafka,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The warehouse: `duckdb` (the embedded default) or `snowflake` ([snowflake], SNOWFLAKE_*).
    #[arg(long, value_enum, default_value_t = WarehouseSink::Duckdb)]
    pub sink: WarehouseSink,
    /// DuckDB database file (overrides [duckdb].path).
    #[arg(long, value_name = "PATH")]
    pub duckdb: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// The warehouse: `duckdb` or `snowflake` ([snowflake], SNOWFLAKE_*).
    #[arg(long, value_enum, default_value_t = WarehouseSink::Duckdb)]
    pub sink: WarehouseSink,
    /// DuckDB database file (overrides [duckdb].path).
    #[arg(long, value_name = "PATH")]
    pub duckdb: Option<PathBuf>,
    /// Consumer group (overrides [load].group_id, KAFKA_GROUP_ID).
    #[arg(long)]
    pub group: Option<String>,
}

/// Where `cdc run` and `cdc load` apply changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WarehouseSink {
    Duckdb,
    Snowflake,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The admin API (default: http://[admin].listen).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The warehouse to compare with: `duckdb` or `snowflake` ([snowflake], SNOWFLAKE_*).
    #[arg(long, value_enum, default_value_t = WarehouseSink::Duckdb)]
    pub sink: WarehouseSink,
    /// DuckDB database file (overrides [duckdb].path).
    #[arg(long, value_name = "PATH")]
    pub duckdb: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct TailArgs {
    /// Only this table (`schema.table` or `table`); repeatable.
    #[arg(long)]
    pub table: Vec<String>,
    /// `pretty`: one readable block per change; `json`: the event envelope, one per line.
    #[arg(long, value_enum, default_value_t = TailFormat::Pretty)]
    pub format: TailFormat,
    /// Stop after this many events.
    #[arg(long)]
    pub max_events: Option<u64>,
    /// Read the Kafka topics ([kafka], KAFKA_BOOTSTRAP_SERVERS) instead of PostgreSQL.
    #[arg(long)]
    pub from_kafka: bool,
    /// With --from-kafka: start at the oldest retained record (default: only new ones).
    #[arg(long, requires = "from_kafka")]
    pub from_beginning: bool,
    /// With --from-kafka: the consumer group (default: a fresh one per run).
    #[arg(long, requires = "from_kafka")]
    pub group: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TailFormat {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Parse and validate the configuration and print it with secrets redacted; `--connect` also checks the
    /// database prerequisites.
    Check {
        /// Also connect to PostgreSQL and check wal_level, privileges, tables and publication.
        #[arg(long)]
        connect: bool,
        /// Also log in to Snowflake ([snowflake], SNOWFLAKE_*) and check the warehouse, database, schema and the
        /// privilege to create tables, without writing anything.
        #[arg(long)]
        snowflake: bool,
    },
}
