//! `[schema_registry]`: where Avro schemas live (`format = "avro"` in `[events]`).
//!
//! Any Confluent-compatible registry (Confluent, Redpanda, Karapace, Apicurio's ccompat API), or the embedded
//! one: with `[admin] schema_registry = true` the admin server also answers the registry's REST API, storing
//! schemas in the source database, and a `cdc` role with no `url` uses its own admin server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use cdc_avro::registry::{RegistryClient, RegistryConfig, SubjectNameStrategy};
use cdc_core::config::{ConfigError, EnvOverrides, Secret};
use cdc_core::envelope::EventFormat;

use crate::config::Config;

/// `[schema_registry]` (`SCHEMA_REGISTRY_URL`, `SCHEMA_REGISTRY_USERNAME`, `SCHEMA_REGISTRY_PASSWORD`).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchemaRegistrySettings {
    /// The registry's base URL, e.g. `http://localhost:8081`. Unset: the embedded registry of this process's
    /// admin server (`[admin] schema_registry = true`).
    pub url: Option<String>,
    /// Basic auth (Confluent Cloud: the API key).
    pub username: Option<String>,
    /// Basic auth password (Confluent Cloud: the API secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// A PEM file of extra CA certificates for an `https` registry.
    pub ca_file: Option<PathBuf>,
    /// How subjects are named: `TopicNameStrategy` (`{topic}-key`, `{topic}-value`; Confluent's default),
    /// `RecordNameStrategy` (the record's full name) or `TopicRecordNameStrategy` (Confluent's class names work
    /// too).
    pub subject_name_strategy: SubjectNameStrategy,
}

impl SchemaRegistrySettings {
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Vec<&'static str> {
        let mut env = EnvOverrides::new(get);
        if let Some(v) = env.take("SCHEMA_REGISTRY_URL") {
            self.url = Some(v);
        }
        if let Some(v) = env.take("SCHEMA_REGISTRY_USERNAME") {
            self.username = Some(v);
        }
        if let Some(v) = env.take("SCHEMA_REGISTRY_PASSWORD") {
            self.password = Some(Secret::new(v));
        }
        env.applied()
    }
}

/// Whether this configuration writes or reads Avro.
pub fn uses_avro(config: &Config) -> bool {
    config.events.format == EventFormat::Avro || config.events.key_format() == EventFormat::Avro
}

/// The registry client of this configuration: `[schema_registry].url`, else this process's embedded registry.
/// `None` when neither is configured.
pub fn client(config: &Config) -> Result<Option<Arc<RegistryClient>>> {
    let settings = &config.schema_registry;
    let url = match (&settings.url, config.admin.listen) {
        (Some(url), _) => url.clone(),
        (None, Some(listen)) if config.admin.schema_registry => format!("http://{listen}"),
        (None, _) => return Ok(None),
    };
    let basic_auth = match (&settings.username, &settings.password, &config.admin.token) {
        (Some(user), Some(password), _) => Some((user.clone(), password.clone())),
        // Our own admin server with a token: the token is the basic-auth password.
        (None, None, Some(token)) if settings.url.is_none() => Some(("cdc".to_owned(), token.clone())),
        (None, None, _) => None,
        _ => return Err(ConfigError::invalid(
            "schema_registry",
            "set both username and password (SCHEMA_REGISTRY_USERNAME, SCHEMA_REGISTRY_PASSWORD), or neither",
        )
        .into()),
    };
    let mut registry = RegistryConfig::new(url);
    registry.basic_auth = basic_auth;
    registry.ca_file = settings.ca_file.clone();
    let client = RegistryClient::new(registry)
        .context("cannot set up the schema registry client ([schema_registry])")?;
    Ok(Some(Arc::new(client)))
}

/// [`client`], required: Avro needs a registry.
pub fn required_client(config: &Config) -> Result<Arc<RegistryClient>> {
    client(config)?.ok_or_else(|| {
        ConfigError::invalid(
            "schema_registry.url",
            "format = \"avro\" needs a schema registry: set [schema_registry].url (SCHEMA_REGISTRY_URL), or serve \
             the embedded one with [admin] listen and schema_registry = true",
        )
        .into()
    })
}

/// The embedded registry's routes, when `[admin] schema_registry = true`: schemas stored in the source database.
pub async fn embedded(config: &Config) -> Result<Option<axum::Router>> {
    if !config.admin.schema_registry {
        return Ok(None);
    }
    let router = cdc_avro::registry::router(&config.postgres)
        .await
        .context("cannot start the embedded schema registry (it stores schemas in the source database)")?;
    Ok(Some(router))
}
