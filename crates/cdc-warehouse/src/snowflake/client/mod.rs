//! The Snowflake driver protocol: the REST endpoints Snowflake's official drivers use
//! (`/session/v1/login-request`, `/queries/v1/query-request`), over reqwest + rustls.
//!
//! Written here because no maintained Rust crate speaks it with what a sink needs (key-pair JWT, array
//! bindings, Arrow results, retries that never repeat a SQL error). The same requests go to real Snowflake and to
//! the `fakesnow` test server.
//!
//! - **Login** with password, key-pair JWT, OAuth or a programmatic access token; the session token is renewed by
//!   logging in again when the server says it expired (390112/390114), and the statement is then resent.
//! - **Queries** carry positional bindings (one value per `?`) or array bindings (a list per `?`, one element per
//!   row: a multi-row INSERT in one request). Bodies are gzipped. Results come back as JSON or Arrow and are
//!   returned as JSON-format cells ([`arrow`] decodes the latter).
//! - **Retries**: 429, 5xx and network errors are retried with exponential backoff and jitter until
//!   `retry_timeout_secs`, resending the same `requestId` (Snowflake uses it to recognise a resent statement). SQL
//!   errors are never retried. A statement still running after the server's wait comes back as "in progress"
//!   (333333/333334) and is polled at its result URL until `query_timeout_secs`.

pub mod arrow;
pub mod auth;
mod error;

use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use cdc_core::config::Secret;
use serde_json::{json, Value as Json};
use tokio::sync::Mutex;

pub use self::arrow::ColumnType;
pub use self::error::SnowflakeError;
use self::error::{login_setting, SESSION_EXPIRED};
use super::config::{Authenticator, SnowflakeConfig};

/// A bound value's Snowflake type and text (`None` = NULL), as the drivers send them.
#[derive(Debug, Clone, PartialEq)]
pub struct Bind {
    pub kind: &'static str,
    pub value: Option<String>,
}

impl Bind {
    pub fn text(value: impl Into<String>) -> Bind {
        Bind { kind: "TEXT", value: Some(value.into()) }
    }
    pub fn fixed(value: impl ToString) -> Bind {
        Bind { kind: "FIXED", value: Some(value.to_string()) }
    }
}

/// A statement's bindings.
#[derive(Debug, Clone, Default)]
pub enum Bindings {
    #[default]
    None,
    /// One value per `?`.
    Row(Vec<Bind>),
    /// Per `?`, its type and one value per row: the statement runs once per row, in one request.
    Columns(Vec<(&'static str, Vec<Option<String>>)>),
}

/// A statement's result, in JSON-format cells.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub columns: Vec<ColumnType>,
    pub rows: Vec<Vec<Option<String>>>,
    pub query_id: Option<String>,
}

impl QueryResult {
    /// The first cell of the first row.
    pub fn scalar(&self) -> Option<&str> {
        self.rows.first()?.first()?.as_deref()
    }
}

/// A logged-in Snowflake session.
pub struct Client {
    http: reqwest::Client,
    config: SnowflakeConfig,
    base_url: String,
    key: Option<auth::KeyPair>,
    /// The session token; replaced when the session is renewed.
    token: Mutex<Secret>,
    sequence: std::sync::atomic::AtomicU64,
    /// Counts logins: a new session has lost the temporary tables of the old one.
    generation: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("url", &self.base_url).field("user", &self.config.user).finish()
    }
}

const CLIENT_APP_ID: &str = "cdc-pipeline";
const IN_PROGRESS: [&str; 2] = ["333333", "333334"];

impl Client {
    /// Logs in with the configured credentials and session parameters.
    pub async fn connect(config: &SnowflakeConfig) -> Result<Client, SnowflakeError> {
        let key = match (config.authenticator(), &config.private_key_path) {
            (Authenticator::SnowflakeJwt, Some(path)) => {
                let key_error = |source| SnowflakeError::Key { path: path.display().to_string(), source };
                let pem = std::fs::read_to_string(path).map_err(|e| SnowflakeError::KeyFile {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                let passphrase = config.private_key_passphrase.as_ref().map(Secret::expose);
                Some(auth::KeyPair::from_pem(&pem, passphrase).map_err(key_error)?)
            }
            _ => None,
        };
        let http = reqwest::Client::builder()
            .user_agent(concat!("cdc-pipeline/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| SnowflakeError::Protocol(format!("cannot build the HTTP client: {e}")))?;
        let client = Client {
            http,
            base_url: config.base_url(),
            config: config.clone(),
            key,
            token: Mutex::new(Secret::default()),
            sequence: std::sync::atomic::AtomicU64::new(1),
            generation: std::sync::atomic::AtomicU64::new(0),
        };
        let token = client.login().await?;
        *client.token.lock().await = token;
        Ok(client)
    }

    /// Changes whenever the client logs in again (an expired session): temporary tables of the previous session
    /// are gone, so work that created some must start over.
    pub fn session_generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The base URL requests go to.
    pub fn url(&self) -> &str {
        &self.base_url
    }

    async fn login(&self) -> Result<Secret, SnowflakeError> {
        let c = &self.config;
        let authenticator = c.authenticator();
        let mut data = json!({
            "CLIENT_APP_ID": CLIENT_APP_ID,
            "CLIENT_APP_VERSION": env!("CARGO_PKG_VERSION"),
            "ACCOUNT_NAME": c.account_name(),
            "LOGIN_NAME": c.user,
            "CLIENT_ENVIRONMENT": {"APPLICATION": CLIENT_APP_ID, "OS": std::env::consts::OS},
            "SESSION_PARAMETERS": {
                "AUTOCOMMIT": true,
                "STATEMENT_TIMEOUT_IN_SECONDS": c.query_timeout_secs,
                // Timestamps read back as UTC offsets we can compare; binary as hex.
                "TIMEZONE": "UTC",
                "BINARY_OUTPUT_FORMAT": "HEX",
            },
        });
        match authenticator {
            Authenticator::Snowflake => {
                data["PASSWORD"] = json!(c.password.as_ref().map(Secret::expose).unwrap_or_default());
            }
            Authenticator::SnowflakeJwt => {
                let key = self
                    .key
                    .as_ref()
                    .ok_or_else(|| SnowflakeError::Protocol("key-pair login without a loaded key".into()))?;
                data["AUTHENTICATOR"] = json!(authenticator.wire_name());
                data["TOKEN"] =
                    json!(key.login_jwt(&c.account, &c.user, SystemTime::now(), Duration::from_secs(3600)));
            }
            Authenticator::Oauth | Authenticator::ProgrammaticAccessToken => {
                data["AUTHENTICATOR"] = json!(authenticator.wire_name());
                data["TOKEN"] = json!(c.token.as_ref().map(Secret::expose).unwrap_or_default());
            }
        }
        let mut query = vec![
            ("request_id", request_id()),
            ("databaseName", c.database.clone()),
            ("schemaName", c.schema.clone()),
            ("warehouse", c.warehouse.clone()),
        ];
        if !c.role.is_empty() {
            query.push(("roleName", c.role.clone()));
        }
        let body = json!({ "data": data });
        let response = self.post("/session/v1/login-request", &query, &body, None).await?;
        if response["success"].as_bool() != Some(true) {
            let code = code_of(&response);
            return Err(SnowflakeError::Login {
                setting: login_setting(&code, authenticator),
                message: response["message"].as_str().unwrap_or("login refused").to_owned(),
                code,
            });
        }
        let token = response["data"]["token"]
            .as_str()
            .ok_or_else(|| SnowflakeError::Protocol("login response without a session token".into()))?;
        tracing::debug!(url = %self.base_url, user = %c.user, "logged in to Snowflake");
        Ok(Secret::new(token))
    }

    /// Runs one statement.
    pub async fn query(&self, sql: &str, bindings: Bindings) -> Result<QueryResult, SnowflakeError> {
        let mut body = json!({
            "sqlText": sql,
            "asyncExec": false,
            "sequenceId": self.sequence.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            "querySubmissionTime": SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        });
        match &bindings {
            Bindings::None => {}
            Bindings::Row(values) => {
                body["bindings"] = values
                    .iter()
                    .enumerate()
                    .map(|(i, b)| ((i + 1).to_string(), json!({"type": b.kind, "value": b.value})))
                    .collect::<serde_json::Map<_, _>>()
                    .into();
            }
            Bindings::Columns(columns) => {
                body["bindings"] = columns
                    .iter()
                    .enumerate()
                    .map(|(i, (kind, values))| ((i + 1).to_string(), json!({"type": kind, "value": values})))
                    .collect::<serde_json::Map<_, _>>()
                    .into();
            }
        }
        let request_id = request_id();
        let mut renewed = false;
        loop {
            let token = self.token.lock().await.clone();
            let query = [("requestId", request_id.clone())];
            let response = self.post("/queries/v1/query-request", &query, &body, Some(&token)).await?;
            let code = code_of(&response);
            if response["success"].as_bool() == Some(true) || IN_PROGRESS.contains(&code.as_str()) {
                let response = self.wait_for_result(response, &token).await?;
                return parse_result(&response["data"]);
            }
            if SESSION_EXPIRED.contains(&code.as_str()) && !renewed {
                // The statement did not run: log in again and resend it once.
                tracing::info!(code = %code, "Snowflake session expired; logging in again");
                let fresh = self.login().await?;
                *self.token.lock().await = fresh;
                self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                renewed = true;
                continue;
            }
            let data = &response["data"];
            return Err(SnowflakeError::Sql {
                sql_state: data["sqlState"].as_str().unwrap_or_default().to_owned(),
                query_id: data["queryId"].as_str().map(str::to_owned),
                message: response["message"].as_str().unwrap_or("statement failed").to_owned(),
                code,
            });
        }
    }

    /// Polls an "in progress" statement's result URL until it completes or the query timeout passes.
    async fn wait_for_result(&self, mut response: Json, token: &Secret) -> Result<Json, SnowflakeError> {
        let deadline = Instant::now() + Duration::from_secs(self.config.query_timeout_secs);
        let mut pause = Duration::from_millis(100);
        while IN_PROGRESS.contains(&code_of(&response).as_str()) {
            let Some(path) = response["data"]["getResultUrl"].as_str().map(str::to_owned) else {
                return Err(SnowflakeError::Protocol("statement in progress without a result URL".into()));
            };
            if Instant::now() >= deadline {
                return Err(SnowflakeError::Timeout { seconds: self.config.query_timeout_secs });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
            response =
                self.send_with_retries(|| self.http.get(format!("{}{path}", self.base_url)), token).await?;
        }
        if response["success"].as_bool() != Some(true) {
            return Err(SnowflakeError::Sql {
                code: code_of(&response),
                sql_state: response["data"]["sqlState"].as_str().unwrap_or_default().to_owned(),
                message: response["message"].as_str().unwrap_or("statement failed").to_owned(),
                query_id: response["data"]["queryId"].as_str().map(str::to_owned),
            });
        }
        Ok(response)
    }

    /// Logs the session out (its temporary tables go with it). Best effort.
    pub async fn close(&self) {
        let token = self.token.lock().await.clone();
        let request = self
            .http
            .post(format!("{}/session?delete=true", self.base_url))
            .header("Authorization", auth_header(&token));
        let _ = request.timeout(Duration::from_secs(5)).send().await;
    }

    async fn post(
        &self,
        path: &str,
        query: &[(&str, String)],
        body: &Json,
        token: Option<&Secret>,
    ) -> Result<Json, SnowflakeError> {
        let gzipped = gzip(body)?;
        let url = format!("{}{path}", self.base_url);
        let make = || {
            let mut request = self
                .http
                .post(&url)
                .query(query)
                .header("Content-Type", "application/json")
                .header("Content-Encoding", "gzip")
                .body(gzipped.clone());
            if let Some(token) = token {
                request = request.header("Authorization", auth_header(token));
            }
            request
        };
        self.send_with_retries(make, token.unwrap_or(&Secret::default())).await
    }

    /// Sends until a response that is not 429/5xx or a network error, within `retry_timeout_secs`.
    async fn send_with_retries(
        &self,
        make: impl Fn() -> reqwest::RequestBuilder,
        token: &Secret,
    ) -> Result<Json, SnowflakeError> {
        let deadline = Instant::now() + Duration::from_secs(self.config.retry_timeout_secs);
        let mut pause = Duration::from_millis(200);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut request = make().header("Accept", "application/snowflake");
            if !token.expose().is_empty() {
                request = request.header("Authorization", auth_header(token));
            }
            // Leave the server its statement timeout to answer, plus a margin.
            let request = request.timeout(Duration::from_secs(self.config.query_timeout_secs + 30));
            let last = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() || !(status.as_u16() == 429 || status.is_server_error()) {
                        let bytes = response.bytes().await;
                        match bytes.map(|b| serde_json::from_slice::<Json>(&b).map_err(|e| (e, b))) {
                            Ok(Ok(json)) => return Ok(json),
                            Ok(Err((e, b))) if status.is_success() => {
                                return Err(SnowflakeError::Protocol(format!(
                                    "HTTP {status} with a body that is not JSON ({e}): {}",
                                    excerpt(&b)
                                )))
                            }
                            Ok(Err((_, b))) => {
                                // 4xx with a non-JSON body (a proxy's page): not retryable, not a statement error.
                                return Err(SnowflakeError::Protocol(format!(
                                    "HTTP {status}: {}",
                                    excerpt(&b)
                                )));
                            }
                            Err(e) => format!("reading the response: {e}"),
                        }
                    } else {
                        format!("HTTP {status}")
                    }
                }
                Err(e) => format!("{e}"),
            };
            if Instant::now() + pause >= deadline {
                return Err(SnowflakeError::Unavailable { url: self.base_url.clone(), attempts, last });
            }
            tracing::warn!(attempt = attempts, error = %last, retry_in = ?pause, "Snowflake request failed; retrying");
            tokio::time::sleep(
                pause + Duration::from_millis(fastrand::u64(0..=pause.as_millis() as u64 / 2)),
            )
            .await;
            pause = (pause * 2).min(Duration::from_secs(10));
        }
    }
}

fn auth_header(token: &Secret) -> String {
    format!("Snowflake Token=\"{}\"", token.expose())
}

fn code_of(response: &Json) -> String {
    match &response["code"] {
        Json::String(s) => s.clone(),
        Json::Number(n) => format!("{:0>6}", n.to_string()),
        _ => response["data"]["errorCode"].as_str().unwrap_or_default().to_owned(),
    }
}

fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.chars().take(200).collect()
}

fn request_id() -> String {
    // A v4-shaped UUID from a non-cryptographic RNG: it only has to be unique per request.
    let mut bytes = [0u8; 16];
    bytes.iter_mut().for_each(|b| *b = fastrand::u8(..));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

fn gzip(body: &Json) -> Result<Vec<u8>, SnowflakeError> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let bytes = serde_json::to_vec(body).map_err(|e| SnowflakeError::Protocol(e.to_string()))?;
    encoder
        .write_all(&bytes)
        .and_then(|()| encoder.finish())
        .map_err(|e| SnowflakeError::Protocol(e.to_string()))
}

/// The rows of a successful response, JSON or Arrow.
fn parse_result(data: &Json) -> Result<QueryResult, SnowflakeError> {
    let columns: Vec<ColumnType> = match data.get("rowtype") {
        Some(rowtype) if !rowtype.is_null() => serde_json::from_value(rowtype.clone())
            .map_err(|e| SnowflakeError::Protocol(format!("rowtype: {e}")))?,
        _ => Vec::new(),
    };
    if data["chunks"].as_array().is_some_and(|c| !c.is_empty()) {
        return Err(SnowflakeError::Protocol(
            "the result was split into chunks, which this client does not download; select fewer rows".into(),
        ));
    }
    let rows = match data["queryResultFormat"].as_str() {
        Some("arrow") => match data["rowsetBase64"].as_str() {
            Some(b64) => arrow::decode_rowset(b64, &columns)
                .map_err(|e| SnowflakeError::Protocol(format!("Arrow result: {e}")))?,
            None => Vec::new(),
        },
        _ => match data["rowset"].as_array() {
            Some(rows) => rows
                .iter()
                .map(|row| {
                    row.as_array()
                        .map(|cells| {
                            cells
                                .iter()
                                .map(|c| match c {
                                    Json::Null => None,
                                    Json::String(s) => Some(s.clone()),
                                    other => Some(other.to_string()),
                                })
                                .collect()
                        })
                        .ok_or_else(|| SnowflakeError::Protocol("a rowset row is not an array".into()))
                })
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        },
    };
    Ok(QueryResult { columns, rows, query_id: data["queryId"].as_str().map(str::to_owned) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rowsets_keep_nulls_and_text() {
        let data = json!({
            "rowtype": [{"name": "A", "type": "fixed", "precision": 38, "scale": 0, "nullable": true}],
            "queryResultFormat": "json",
            "rowset": [["1"], [null]],
            "queryId": "q1",
        });
        let result = parse_result(&data).expect("parses");
        assert_eq!(result.rows, vec![vec![Some("1".to_owned())], vec![None]]);
        assert_eq!(result.scalar(), Some("1"));
    }

    #[test]
    fn error_codes_read_as_strings() {
        assert_eq!(code_of(&json!({"code": "390100"})), "390100");
        assert_eq!(code_of(&json!({"code": 2043})), "002043");
        assert_eq!(code_of(&json!({"data": {"errorCode": "000606"}})), "000606");
    }

    #[test]
    fn request_ids_are_uuid_shaped() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
    }
}
