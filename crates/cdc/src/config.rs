//! The `cdc.toml` file, `.env` and the environment, layered once into [`Config`].
//!
//! Order (later wins): built-in defaults, the TOML file (`--config`, else `CDC_CONFIG`, else `./cdc.toml` when
//! present), then environment variables (a `.env` file in the working directory fills in unset ones). The
//! seed's variable names keep working (DESIGN.md §5).

use std::path::{Path, PathBuf};

use cdc_core::config::{
    ConfigError, EnvOverrides, PipelineConfig, PostgresConfig, Secret, SourceConfig, SslMode,
};
use cdc_core::envelope::EnvelopeConfig;

/// Everything `cdc` reads from configuration.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The source database (`POSTGRES_*`).
    pub postgres: PostgresConfig,
    /// Slot, publication, tables, snapshot mode.
    pub source: SourceConfig,
    /// Batching (`BATCH_SIZE`, `POLL_TIMEOUT`).
    pub pipeline: PipelineConfig,
    /// Event encoding: topic naming and Debezium's handling modes.
    pub events: EnvelopeConfig,
    /// `cdc capture --sink kafka` (`KAFKA_BOOTSTRAP_SERVERS`).
    pub kafka: cdc_kafka::KafkaConfig,
    /// `cdc load`: the consumer group and its topics (`KAFKA_GROUP_ID`).
    pub load: cdc_kafka::LoadConfig,
    /// `cdc run`'s warehouse (`CDC_DUCKDB_PATH`).
    pub duckdb: cdc_warehouse::duckdb::DuckDbConfig,
    /// `--sink snowflake` (`SNOWFLAKE_*`).
    pub snowflake: cdc_warehouse::snowflake::SnowflakeConfig,
    /// The admin API and `/metrics` (`CDC_ADMIN_LISTEN`, `CDC_ADMIN_TOKEN`).
    pub admin: crate::admin::AdminConfig,
    /// Avro schemas (`SCHEMA_REGISTRY_URL`).
    pub schema_registry: crate::registry::SchemaRegistrySettings,
    /// `cdc connect`: where POSTed connectors are kept.
    pub connect: crate::connect::worker::ConnectSettings,
    /// `cdc ingest`: the JSearch API (`RAPIDAPI_KEY`, `SEARCH_QUERIES`, `SEARCH_LOCATION`,
    /// `SCHEDULE_INTERVAL_MINUTES`).
    pub ingest: cdc_ingest::IngestConfig,
}

/// Where the configuration came from, for `cdc config check`.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub file: Option<PathBuf>,
    pub env_applied: Vec<&'static str>,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is invalid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Env { name: &'static str, value: String, reason: String },
    #[error("{0} (in the config file or its environment override)")]
    Invalid(#[from] ConfigError),
}

impl Config {
    /// Loads and validates the configuration.
    pub fn load(explicit: Option<&Path>) -> Result<Loaded, LoadError> {
        let _ = dotenvy::dotenv();
        let file = explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("CDC_CONFIG").map(PathBuf::from))
            .or_else(|| Some(PathBuf::from("cdc.toml")).filter(|p| p.exists()));
        let mut config = match &file {
            Some(path) => Self::from_file(path)?,
            None => Config::default(),
        };
        let env_applied = config.apply_env(|name| std::env::var(name).ok())?;
        config.ingest.apply_env(|name| std::env::var(name).ok())?;
        let mut env_applied = env_applied;
        env_applied.extend(config.snowflake.apply_env(|name| std::env::var(name).ok())?);
        env_applied.extend(config.schema_registry.apply_env(|name| std::env::var(name).ok()));
        config.validate()?;
        Ok(Loaded { config, file, env_applied })
    }

    fn from_file(path: &Path) -> Result<Config, LoadError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| LoadError::Read { path: path.into(), source })?;
        toml::from_str(&text).map_err(|e| {
            // The message and the position only: toml's Display quotes the offending line, which may hold a
            // secret (`pasword = "…"`, an unquoted password).
            let at = e.span().map(|span| {
                let before = text.get(..span.start).unwrap_or_default();
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!("line {line}, column {column}: ")
            });
            LoadError::Parse {
                path: path.into(),
                message: format!("{}{}", at.unwrap_or_default(), e.message()),
            }
        })
    }

    /// Applies environment overrides; returns the names of the variables that were set.
    pub fn apply_env(
        &mut self,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<&'static str>, LoadError> {
        let mut env = EnvOverrides::new(get);
        let pg = &mut self.postgres;
        if let Some(v) = env.take("POSTGRES_HOST") {
            pg.host = v;
        }
        if let Some(v) = env.take("POSTGRES_PORT") {
            pg.port = parse_env("POSTGRES_PORT", &v, "a port number 1-65535")?;
        }
        if let Some(v) = env.take("POSTGRES_DB") {
            pg.dbname = v;
        }
        if let Some(v) = env.take("POSTGRES_USER") {
            pg.user = v;
        }
        if let Some(v) = env.take("POSTGRES_PASSWORD") {
            pg.password = Some(Secret::new(v));
        }
        if let Some(v) = env.take("POSTGRES_SSLMODE") {
            pg.sslmode = match v.as_str() {
                "disable" => SslMode::Disable,
                "prefer" => SslMode::Prefer,
                "require" => SslMode::Require,
                "verify-ca" => SslMode::VerifyCa,
                "verify-full" => SslMode::VerifyFull,
                _ => {
                    return Err(LoadError::Env {
                        name: "POSTGRES_SSLMODE",
                        value: v,
                        reason: "expected disable, prefer, require, verify-ca or verify-full".into(),
                    })
                }
            };
        }
        if let Some(v) = env.take("CDC_SLOT_NAME") {
            self.source.slot_name = v;
        }
        if let Some(v) = env.take("CDC_PUBLICATION") {
            self.source.publication = v;
        }
        if let Some(v) = env.take("CDC_TABLES") {
            self.source.tables =
                v.split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();
        }
        if let Some(v) = env.take("BATCH_SIZE") {
            self.pipeline.batch_size = parse_env("BATCH_SIZE", &v, "a positive integer")?;
        }
        if let Some(v) = env.take("POLL_TIMEOUT") {
            // The seed's consumer reads POLL_TIMEOUT in seconds (a float).
            let secs: f64 = parse_env("POLL_TIMEOUT", &v, "seconds, such as 1 or 0.5")?;
            if !(0.0..=3600.0).contains(&secs) {
                return Err(LoadError::Env {
                    name: "POLL_TIMEOUT",
                    value: v,
                    reason: "must be 0-3600 seconds".into(),
                });
            }
            self.pipeline.poll_timeout_ms = (secs * 1000.0).round() as u64;
        }
        if let Some(v) = env.take("CDC_TOPIC_PREFIX") {
            self.events.topic_prefix = v;
        }
        if let Some(v) = env.take("KAFKA_BOOTSTRAP_SERVERS") {
            self.kafka.bootstrap_servers = v;
        }
        if let Some(v) = env.take("KAFKA_GROUP_ID") {
            self.load.group_id = v;
        }
        if let Some(v) = env.take("CDC_DUCKDB_PATH") {
            self.duckdb.path = v.into();
        }
        if let Some(v) = env.take("CDC_DELETE_MODE") {
            self.duckdb.delete_mode = match v.as_str() {
                "hard" => cdc_warehouse::DeleteMode::Hard,
                "soft" => cdc_warehouse::DeleteMode::Soft,
                _ => {
                    return Err(LoadError::Env {
                        name: "CDC_DELETE_MODE",
                        value: v,
                        reason: "expected hard or soft".into(),
                    })
                }
            };
            self.snowflake.delete_mode = self.duckdb.delete_mode;
        }
        if let Some(v) = env.take("CDC_TOPIC_TEMPLATE") {
            self.events.topic_template = Some(v);
        }
        if let Some(v) = env.take("CDC_ADMIN_LISTEN") {
            self.admin.listen = Some(parse_env("CDC_ADMIN_LISTEN", &v, "an address such as 127.0.0.1:8083")?);
        }
        if let Some(v) = env.take("CDC_ADMIN_TOKEN") {
            self.admin.token = Some(Secret::new(v));
        }
        Ok(env.applied())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.postgres.validate("postgres")?;
        self.source.validate("source")?;
        self.pipeline.validate("pipeline")?;
        self.events.validate("events")?;
        // [ingest] is checked by `cdc ingest` alone: capture needs no API key.
        Ok(())
    }
}

fn parse_env<T: std::str::FromStr>(name: &'static str, value: &str, expected: &str) -> Result<T, LoadError> {
    value.trim().parse().map_err(|_| LoadError::Env {
        name,
        value: value.to_owned(),
        reason: format!("expected {expected}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_variables_override_the_file() {
        let mut config: Config = toml::from_str("[postgres]\nhost = \"db\"\nport = 5433\n").unwrap();
        let env = |name: &str| match name {
            "POSTGRES_HOST" => Some("pg.internal".to_owned()),
            "POSTGRES_PASSWORD" => Some("s3cret".to_owned()),
            "BATCH_SIZE" => Some("250".to_owned()),
            "POLL_TIMEOUT" => Some("0.5".to_owned()),
            _ => None,
        };
        let applied = config.apply_env(env).unwrap();
        assert_eq!(config.postgres.host, "pg.internal");
        assert_eq!(config.postgres.port, 5433);
        assert_eq!(config.pipeline.batch_size, 250);
        assert_eq!(config.pipeline.poll_timeout_ms, 500);
        assert_eq!(applied, ["POSTGRES_HOST", "POSTGRES_PASSWORD", "BATCH_SIZE", "POLL_TIMEOUT"]);
        assert!(!format!("{config:?}").contains("s3cret"), "a secret leaked into Debug output");
    }

    #[test]
    fn the_example_file_parses() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/cdc.toml");
        let config = Config::from_file(std::path::Path::new(path)).unwrap();
        config.validate().unwrap();
        assert_eq!(config.load.group_id, "cdc-load");
        assert!(config.duckdb.exclusive);
        assert_eq!(config.snowflake.warehouse, "COMPUTE_WH");
    }

    #[test]
    fn the_seed_s_snowflake_variables_apply_and_stay_secret() {
        let mut config = Config::default();
        let env = |name: &str| {
            Some(
                match name {
                    "SNOWFLAKE_ACCOUNT" => "org-acct",
                    "SNOWFLAKE_USER" => "loader",
                    "SNOWFLAKE_PASSWORD" => "sn0w-s3cret",
                    "SNOWFLAKE_DATABASE" => "ANALYTICS",
                    "SNOWFLAKE_SCHEMA" => "RAW",
                    "SNOWFLAKE_WAREHOUSE" => "WH",
                    "SNOWFLAKE_ROLE" => "LOADER",
                    _ => return None,
                }
                .to_owned(),
            )
        };
        let applied = config.snowflake.apply_env(env).unwrap();
        assert_eq!(applied.len(), 7);
        config.snowflake.validate("snowflake").unwrap();
        assert_eq!(config.snowflake.base_url(), "https://org-acct.snowflakecomputing.com:443");
        assert!(!format!("{config:?}").contains("sn0w-s3cret"));
        assert!(!toml::to_string(&config).unwrap().contains("sn0w-s3cret"));
    }

    #[test]
    fn an_unknown_key_is_named() {
        let err = toml::from_str::<Config>("[postgres]\nhots = \"db\"\n").unwrap_err().to_string();
        assert!(err.contains("hots"), "{err}");
    }

    #[test]
    fn a_bad_number_in_the_environment_names_the_variable() {
        let mut config = Config::default();
        let err = config.apply_env(|n| (n == "BATCH_SIZE").then(|| "many".to_owned())).unwrap_err();
        assert!(err.to_string().contains("BATCH_SIZE"), "{err}");
    }
}
