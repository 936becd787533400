//! `[snowflake]` settings and the seed's `SNOWFLAKE_*` variables.

use std::path::PathBuf;

use cdc_core::config::{ConfigError, EnvOverrides, Secret};

use crate::DeleteMode;

/// How the sink logs in. `None` in the config picks from what is set: a private key → key pair, a token →
/// OAuth, else password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Authenticator {
    /// User and password (`SNOWFLAKE_PASSWORD`).
    Snowflake,
    /// Key-pair JWT (`SNOWFLAKE_PRIVATE_KEY_PATH`, optionally `SNOWFLAKE_PRIVATE_KEY_PASSPHRASE`).
    SnowflakeJwt,
    /// An OAuth access token (`SNOWFLAKE_TOKEN`).
    Oauth,
    /// A programmatic access token (`SNOWFLAKE_TOKEN`).
    ProgrammaticAccessToken,
}

impl Authenticator {
    /// The `AUTHENTICATOR` value of the login request.
    pub fn wire_name(self) -> &'static str {
        match self {
            Authenticator::Snowflake => "SNOWFLAKE",
            Authenticator::SnowflakeJwt => "SNOWFLAKE_JWT",
            Authenticator::Oauth => "OAUTH",
            Authenticator::ProgrammaticAccessToken => "PROGRAMMATIC_ACCESS_TOKEN",
        }
    }
}

/// `[snowflake]`: the warehouse of `cdc run --sink snowflake` and `cdc load --sink snowflake`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnowflakeConfig {
    /// Account identifier: `orgname-account` or a locator such as `xy12345.us-east-2.aws` (`SNOWFLAKE_ACCOUNT`).
    pub account: String,
    /// Login name (`SNOWFLAKE_USER`).
    pub user: String,
    /// `SNOWFLAKE_PASSWORD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// `SNOWFLAKE_AUTHENTICATOR`: snowflake, snowflake_jwt, oauth or programmatic_access_token.
    pub authenticator: Option<Authenticator>,
    /// PEM private key for key-pair auth, PKCS#8 (encrypted or not) or PKCS#1 (`SNOWFLAKE_PRIVATE_KEY_PATH`).
    pub private_key_path: Option<PathBuf>,
    /// `SNOWFLAKE_PRIVATE_KEY_PASSPHRASE`, for an encrypted key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_key_passphrase: Option<Secret>,
    /// OAuth or programmatic access token (`SNOWFLAKE_TOKEN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// `SNOWFLAKE_DATABASE`.
    pub database: String,
    /// Schema for the sink's own tables and default for target tables (`SNOWFLAKE_SCHEMA`).
    pub schema: String,
    /// `SNOWFLAKE_WAREHOUSE`.
    pub warehouse: String,
    /// `SNOWFLAKE_ROLE`; empty = the user's default role.
    pub role: String,
    /// Explicit host (a proxy, a private link, a test server); default `<account>.snowflakecomputing.com`.
    pub host: Option<String>,
    /// Explicit port; default 443 (https) or 80 (http).
    pub port: Option<u16>,
    /// `https` (default) or `http` (test servers only).
    pub protocol: String,
    /// Create the database and schemas that do not exist (needs the privilege).
    pub create_schemas: bool,
    /// `hard` removes deleted rows; `soft` keeps them with `_cdc_deleted = true`.
    pub delete_mode: DeleteMode,
    /// Names this pipeline's rows in the progress tables (several pipelines may share a database).
    pub sink_name: String,
    /// A statement running longer than this fails (`STATEMENT_TIMEOUT_IN_SECONDS`, and the HTTP wait).
    pub query_timeout_secs: u64,
    /// How long to keep retrying a request that fails with 429, 5xx or a network error.
    pub retry_timeout_secs: u64,
}

impl Default for SnowflakeConfig {
    fn default() -> Self {
        SnowflakeConfig {
            account: String::new(),
            user: String::new(),
            password: None,
            authenticator: None,
            private_key_path: None,
            private_key_passphrase: None,
            token: None,
            database: String::new(),
            schema: "PUBLIC".into(),
            warehouse: String::new(),
            role: String::new(),
            host: None,
            port: None,
            protocol: "https".into(),
            create_schemas: true,
            delete_mode: DeleteMode::Hard,
            sink_name: "default".into(),
            query_timeout_secs: 600,
            retry_timeout_secs: 300,
        }
    }
}

impl SnowflakeConfig {
    /// The seed's variables (and ours): returns the names that were set.
    pub fn apply_env(
        &mut self,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<&'static str>, ConfigError> {
        let mut env = EnvOverrides::new(get);
        if let Some(v) = env.take("SNOWFLAKE_ACCOUNT") {
            self.account = v;
        }
        if let Some(v) = env.take("SNOWFLAKE_USER") {
            self.user = v;
        }
        if let Some(v) = env.take("SNOWFLAKE_PASSWORD") {
            self.password = Some(Secret::new(v));
        }
        if let Some(v) = env.take("SNOWFLAKE_AUTHENTICATOR") {
            self.authenticator = Some(match v.to_ascii_lowercase().as_str() {
                "snowflake" => Authenticator::Snowflake,
                "snowflake_jwt" => Authenticator::SnowflakeJwt,
                "oauth" => Authenticator::Oauth,
                "programmatic_access_token" => Authenticator::ProgrammaticAccessToken,
                _ => {
                    return Err(ConfigError::invalid(
                        "SNOWFLAKE_AUTHENTICATOR",
                        format!(
                            "{v:?}: expected snowflake, snowflake_jwt, oauth or programmatic_access_token"
                        ),
                    ))
                }
            });
        }
        if let Some(v) = env.take("SNOWFLAKE_PRIVATE_KEY_PATH") {
            self.private_key_path = Some(v.into());
        }
        if let Some(v) = env.take("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE") {
            self.private_key_passphrase = Some(Secret::new(v));
        }
        if let Some(v) = env.take("SNOWFLAKE_TOKEN") {
            self.token = Some(Secret::new(v));
        }
        if let Some(v) = env.take("SNOWFLAKE_DATABASE") {
            self.database = v;
        }
        if let Some(v) = env.take("SNOWFLAKE_SCHEMA") {
            self.schema = v;
        }
        if let Some(v) = env.take("SNOWFLAKE_WAREHOUSE") {
            self.warehouse = v;
        }
        if let Some(v) = env.take("SNOWFLAKE_ROLE") {
            self.role = v;
        }
        if let Some(v) = env.take("SNOWFLAKE_HOST") {
            self.host = Some(v);
        }
        if let Some(v) = env.take("SNOWFLAKE_PORT") {
            self.port = Some(v.parse().map_err(|_| {
                ConfigError::invalid("SNOWFLAKE_PORT", format!("{v:?} is not a port number 1-65535"))
            })?);
        }
        if let Some(v) = env.take("SNOWFLAKE_PROTOCOL") {
            self.protocol = v;
        }
        Ok(env.applied())
    }

    /// The authenticator in effect.
    pub fn authenticator(&self) -> Authenticator {
        self.authenticator.unwrap_or(if self.private_key_path.is_some() {
            Authenticator::SnowflakeJwt
        } else if self.token.is_some() {
            Authenticator::Oauth
        } else {
            Authenticator::Snowflake
        })
    }

    /// Checks that the settings can work, naming the key (under `section`) and its variable.
    pub fn validate(&self, section: &str) -> Result<(), ConfigError> {
        let key = |k: &str| format!("{section}.{k}");
        let missing = |k: &str, var: &str, what: &str| {
            ConfigError::invalid(key(k), format!("is required: {what} (or set {var})"))
        };
        if self.account.trim().is_empty() {
            return Err(missing(
                "account",
                "SNOWFLAKE_ACCOUNT",
                "the account identifier, e.g. myorg-myaccount",
            ));
        }
        if self.user.trim().is_empty() {
            return Err(missing("user", "SNOWFLAKE_USER", "the login name"));
        }
        if self.database.trim().is_empty() {
            return Err(missing("database", "SNOWFLAKE_DATABASE", "the target database"));
        }
        if self.schema.trim().is_empty() {
            return Err(missing("schema", "SNOWFLAKE_SCHEMA", "the schema for the sink's tables"));
        }
        if self.warehouse.trim().is_empty() {
            return Err(missing(
                "warehouse",
                "SNOWFLAKE_WAREHOUSE",
                "the virtual warehouse that runs the MERGEs",
            ));
        }
        match self.authenticator() {
            Authenticator::Snowflake if self.password.is_none() => {
                return Err(missing(
                    "password",
                    "SNOWFLAKE_PASSWORD",
                    "the password (or configure key-pair auth)",
                ))
            }
            Authenticator::SnowflakeJwt if self.private_key_path.is_none() => {
                return Err(missing("private_key_path", "SNOWFLAKE_PRIVATE_KEY_PATH", "the PEM private key"))
            }
            Authenticator::Oauth | Authenticator::ProgrammaticAccessToken if self.token.is_none() => {
                return Err(missing("token", "SNOWFLAKE_TOKEN", "the access token"))
            }
            _ => {}
        }
        if !matches!(self.protocol.as_str(), "https" | "http") {
            return Err(ConfigError::invalid(
                key("protocol"),
                format!("{:?}: expected https or http", self.protocol),
            ));
        }
        if self.query_timeout_secs == 0 {
            return Err(ConfigError::invalid(key("query_timeout_secs"), "must be at least 1"));
        }
        if self.sink_name.is_empty() {
            return Err(ConfigError::invalid(key("sink_name"), "must not be empty"));
        }
        Ok(())
    }

    /// `https://host:port`, from `host`/`port`/`protocol` or the account identifier.
    pub fn base_url(&self) -> String {
        let host = match &self.host {
            Some(host) => host.clone(),
            None => {
                let account = self.account.trim().trim_end_matches(".snowflakecomputing.com");
                format!("{}.snowflakecomputing.com", account.to_ascii_lowercase())
            }
        };
        let default_port = if self.protocol == "http" { 80 } else { 443 };
        format!("{}://{host}:{}", self.protocol, self.port.unwrap_or(default_port))
    }

    /// The `ACCOUNT_NAME` of the login request: the identifier without region, cloud or domain.
    pub fn account_name(&self) -> String {
        let account = self.account.trim().trim_end_matches(".snowflakecomputing.com");
        account.split('.').next().unwrap_or(account).to_ascii_uppercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_forms_give_host_and_account_name() {
        let mut c = SnowflakeConfig { account: "myorg-acct1".into(), ..Default::default() };
        assert_eq!(c.base_url(), "https://myorg-acct1.snowflakecomputing.com:443");
        assert_eq!(c.account_name(), "MYORG-ACCT1");
        c.account = "xy12345.us-east-2.aws".into();
        assert_eq!(c.base_url(), "https://xy12345.us-east-2.aws.snowflakecomputing.com:443");
        assert_eq!(c.account_name(), "XY12345");
        c.host = Some("127.0.0.1".into());
        c.port = Some(8080);
        c.protocol = "http".into();
        assert_eq!(c.base_url(), "http://127.0.0.1:8080");
    }

    #[test]
    fn authenticator_follows_what_is_configured() {
        let mut c = SnowflakeConfig::default();
        assert_eq!(c.authenticator(), Authenticator::Snowflake);
        c.token = Some(Secret::new("t"));
        assert_eq!(c.authenticator(), Authenticator::Oauth);
        c.private_key_path = Some("k.p8".into());
        assert_eq!(c.authenticator(), Authenticator::SnowflakeJwt);
    }
}
