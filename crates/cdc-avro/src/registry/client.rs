//! [`RegistryClient`]: registers and fetches Avro schemas in any registry that speaks Confluent's REST API
//! (Confluent, Redpanda, Karapace, Apicurio's `ccompat` API, and the embedded one in [`super::server`]).
//!
//! Ids are immutable, so id → schema is cached for the life of the client, and so is (subject, schema) → id: a
//! producer asks the registry once per schema, not once per message. Connection failures, 429 and 5xx answers
//! are retried a few times with a short doubling backoff; registration may be repeated safely because the
//! registry answers the same id for the same schema.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cdc_core::config::Secret;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde_json::json;

use super::error::RegistryError;
use super::SchemaId;

/// Per-request timeout when the configuration gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Tries per call, the first included.
const ATTEMPTS: u32 = 4;
/// Wait before the second try; doubled before each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// What `Accept` offers: Confluent's media types first, plain JSON for registries that only speak that.
const ACCEPT_TYPES: &str =
    "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json; q=0.9, application/json; q=0.5";

/// How to reach a schema registry.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// Base URL: `http://localhost:8081`, or with a path prefix such as Apicurio's
    /// `http://host:8080/apis/ccompat/v7`. Credentials in the URL (`https://user:pw@host`) move to basic auth.
    pub url: String,
    /// HTTP basic authentication: user and password (Confluent Cloud: API key and secret).
    pub basic_auth: Option<(String, Secret)>,
    /// PEM file of extra trusted CA certificates, for a registry whose certificate the system roots do not
    /// cover.
    pub ca_file: Option<PathBuf>,
    /// Limit for one request, connection included.
    pub timeout: Duration,
}

impl RegistryConfig {
    /// `url` without authentication or extra CA, with [`DEFAULT_TIMEOUT`].
    pub fn new(url: impl Into<String>) -> Self {
        RegistryConfig { url: url.into(), basic_auth: None, ca_file: None, timeout: DEFAULT_TIMEOUT }
    }
}

/// The answer of a compatibility check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompatibilityCheck {
    Compatible,
    /// The registry's reasons (its `verbose` messages), which say what changed.
    Incompatible {
        messages: Vec<String>,
    },
}

/// A client of one schema registry; cheap to share behind an `Arc`.
pub struct RegistryClient {
    http: reqwest::Client,
    /// The base URL, without credentials.
    base: Url,
    basic_auth: Option<(String, Secret)>,
    schemas: Mutex<HashMap<SchemaId, Arc<str>>>,
    ids: Mutex<HashMap<(String, String), SchemaId>>,
}

impl std::fmt::Debug for RegistryClient {
    /// The URL and cache sizes; neither the password nor every cached schema.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("url", &self.base.as_str())
            .field("basic_auth_user", &self.basic_auth.as_ref().map(|(user, _)| user))
            .field("cached_schemas", &self.schemas.lock().map(|c| c.len()).unwrap_or_default())
            .field("cached_ids", &self.ids.lock().map(|c| c.len()).unwrap_or_default())
            .finish()
    }
}

#[derive(serde::Deserialize)]
struct IdBody {
    id: u32,
}

#[derive(serde::Deserialize)]
struct SchemaBody {
    schema: String,
}

#[derive(serde::Deserialize)]
struct CompatibilityBody {
    is_compatible: bool,
    #[serde(default)]
    messages: Vec<serde_json::Value>,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    error_code: Option<i64>,
    message: Option<String>,
}

impl RegistryClient {
    /// Builds the client; no request is sent until the first call.
    pub fn new(config: RegistryConfig) -> Result<Self, RegistryError> {
        let RegistryConfig { url, basic_auth, ca_file, timeout } = config;
        let mut base =
            Url::parse(url.trim()).map_err(|e| RegistryError::Url { url: redact(&url), source: Some(e) })?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(RegistryError::Url { url: redact(&url), source: None });
        }
        // Credentials in the URL would otherwise end up in every error message that prints it.
        let mut basic_auth = basic_auth;
        if !base.username().is_empty() || base.password().is_some() {
            if basic_auth.is_none() {
                basic_auth = Some((
                    percent_decode(base.username()),
                    Secret::new(percent_decode(base.password().unwrap_or(""))),
                ));
            }
            // Cannot fail: the URL has a host, being http(s).
            let _ = base.set_username("");
            let _ = base.set_password(None);
        }
        let mut builder = reqwest::Client::builder().timeout(timeout).connect_timeout(timeout);
        if let Some(path) = ca_file {
            let pem = std::fs::read(&path)
                .map_err(|e| RegistryError::CaFile { path: path.clone(), source: Box::new(e) })?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| RegistryError::CaFile { path: path.clone(), source: Box::new(e) })?;
            if certificates.is_empty() {
                return Err(RegistryError::CaFile { path, source: "no PEM certificate in the file".into() });
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let http = builder.build().map_err(RegistryError::Client)?;
        Ok(RegistryClient {
            http,
            base,
            basic_auth,
            schemas: Mutex::new(HashMap::new()),
            ids: Mutex::new(HashMap::new()),
        })
    }

    /// The registry's base URL (without credentials), for messages.
    pub fn url(&self) -> &str {
        self.base.as_str()
    }

    /// Registers `schema` (Avro JSON text) under `subject` and returns its id; the same schema again returns the
    /// same id. A 409 error ([`RegistryError::is_incompatible`]) says what made it incompatible.
    pub async fn register(&self, subject: &str, schema: &str) -> Result<SchemaId, RegistryError> {
        if let Some(id) = self.cached_id(subject, schema) {
            return Ok(id);
        }
        let operation = format!("register a schema under subject {subject:?}");
        let body = json!({ "schema": schema });
        let response =
            self.call(&operation, Method::POST, &["subjects", subject, "versions"], &[], Some(&body)).await?;
        let IdBody { id } = parse(&operation, response).await?;
        let id = SchemaId(id);
        self.remember(subject, schema, id);
        Ok(id)
    }

    /// Whether `schema` may be registered next under `subject` (checked against its latest version under the
    /// subject's level). A subject that does not exist yet accepts anything.
    pub async fn check_compatibility(
        &self,
        subject: &str,
        schema: &str,
    ) -> Result<CompatibilityCheck, RegistryError> {
        let operation = format!("check a schema's compatibility with subject {subject:?}");
        let body = json!({ "schema": schema });
        let path = ["compatibility", "subjects", subject, "versions", "latest"];
        let response =
            match self.call(&operation, Method::POST, &path, &[("verbose", "true")], Some(&body)).await {
                Ok(response) => response,
                // 40401: no such subject; 40402: every version deleted. Nothing to be incompatible with.
                Err(RegistryError::Api { status: 404, error_code: 40401 | 40402, .. }) => {
                    return Ok(CompatibilityCheck::Compatible);
                }
                Err(e) => return Err(e),
            };
        let CompatibilityBody { is_compatible, messages } = parse(&operation, response).await?;
        Ok(if is_compatible {
            CompatibilityCheck::Compatible
        } else {
            let messages = messages
                .into_iter()
                .map(|m| match m {
                    serde_json::Value::String(text) => text,
                    other => other.to_string(),
                })
                .collect();
            CompatibilityCheck::Incompatible { messages }
        })
    }

    /// The schema text with id `id`; asked once per id, then cached (ids never change).
    pub async fn schema_by_id(&self, id: SchemaId) -> Result<Arc<str>, RegistryError> {
        if let Some(schema) = self.schemas.lock().ok().and_then(|cache| cache.get(&id).cloned()) {
            return Ok(schema);
        }
        let operation = format!("fetch schema {id}");
        let id_text = id.to_string();
        let response = self.call(&operation, Method::GET, &["schemas", "ids", &id_text], &[], None).await?;
        let SchemaBody { schema } = parse(&operation, response).await?;
        let schema: Arc<str> = schema.into();
        if let Ok(mut cache) = self.schemas.lock() {
            cache.insert(id, schema.clone());
        }
        Ok(schema)
    }

    /// The id of `schema` if it is registered under `subject`, without registering it.
    pub async fn lookup(&self, subject: &str, schema: &str) -> Result<Option<SchemaId>, RegistryError> {
        if let Some(id) = self.cached_id(subject, schema) {
            return Ok(Some(id));
        }
        let operation = format!("look up a schema under subject {subject:?}");
        let body = json!({ "schema": schema });
        let response =
            match self.call(&operation, Method::POST, &["subjects", subject], &[], Some(&body)).await {
                Ok(response) => response,
                // 40401: no such subject; 40403: not registered under it. A bare 404 (a wrong path prefix in
                // the URL) stays an error.
                Err(RegistryError::Api { status: 404, error_code: 40401 | 40403, .. }) => return Ok(None),
                Err(e) => return Err(e),
            };
        let IdBody { id } = parse(&operation, response).await?;
        let id = SchemaId(id);
        self.remember(subject, schema, id);
        Ok(Some(id))
    }

    fn cached_id(&self, subject: &str, schema: &str) -> Option<SchemaId> {
        let cache = self.ids.lock().ok()?;
        cache.get(&(subject.to_owned(), schema.to_owned())).copied()
    }

    fn remember(&self, subject: &str, schema: &str, id: SchemaId) {
        if let Ok(mut cache) = self.ids.lock() {
            cache.insert((subject.to_owned(), schema.to_owned()), id);
        }
    }

    /// `base/segments…` with every segment percent-encoded (subjects may hold `/`, spaces, anything).
    fn endpoint(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// Sends one call, retrying what may succeed on another try; an error answer becomes
    /// [`RegistryError::Api`].
    async fn call(
        &self,
        operation: &str,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<reqwest::Response, RegistryError> {
        let url = self.endpoint(segments, query);
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let mut request = self.http.request(method.clone(), url.clone()).header(ACCEPT, ACCEPT_TYPES);
            if let Some((user, password)) = &self.basic_auth {
                request = request.basic_auth(user, Some(password.expose()));
            }
            if let Some(body) = body {
                request = request.header(CONTENT_TYPE, super::CONTENT_TYPE).body(body.to_string());
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => {
                    let status = response.status();
                    let retryable = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
                    if attempt >= ATTEMPTS || !retryable {
                        return Err(api_error(operation, response).await);
                    }
                    tracing::debug!(%status, attempt, operation, "schema registry call failed, retrying");
                }
                Err(error) => {
                    let retryable = error.is_connect() || error.is_timeout() || error.is_request();
                    if attempt >= ATTEMPTS || !retryable {
                        return Err(RegistryError::Unreachable {
                            url: self.base.to_string(),
                            attempts: attempt,
                            source: error.without_url(),
                        });
                    }
                    tracing::debug!(error = %error, attempt, operation, "schema registry unreachable, retrying");
                }
            }
            tokio::time::sleep(backoff).await;
            backoff *= 2;
            attempt += 1;
        }
    }
}

/// The JSON body of a success answer.
async fn parse<T: serde::de::DeserializeOwned>(
    operation: &str,
    response: reqwest::Response,
) -> Result<T, RegistryError> {
    response
        .json()
        .await
        .map_err(|source| RegistryError::Response { operation: operation.to_owned(), source })
}

/// An error answer as [`RegistryError::Api`]: Confluent's `{error_code, message}`, or the status and the start of
/// whatever else the body holds (a proxy's HTML page).
async fn api_error(operation: &str, response: reqwest::Response) -> RegistryError {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let (error_code, message) = match serde_json::from_str::<ErrorBody>(&text) {
        Ok(ErrorBody { error_code, message }) => {
            (error_code.unwrap_or(i64::from(status)), message.unwrap_or_default())
        }
        Err(_) => (i64::from(status), text.chars().take(300).collect()),
    };
    RegistryError::Api { operation: operation.to_owned(), status, error_code, message }
}

/// `url` for messages, without a password.
fn redact(url: &str) -> String {
    match Url::parse(url.trim()) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) if url.contains('@') => "<unparsable URL with credentials>".into(),
        Err(_) => url.to_owned(),
    }
}

/// `%xx` escapes of URL user info, decoded.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes.get(i).copied().unwrap_or_default();
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (byte, hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_percent_encoded_as_one_path_segment() {
        let client =
            RegistryClient::new(RegistryConfig::new("http://registry:8081/apis/ccompat/v7/")).unwrap();
        let url = client.endpoint(&["subjects", "a/b c-value", "versions"], &[("verbose", "true")]);
        assert_eq!(
            url.as_str(),
            "http://registry:8081/apis/ccompat/v7/subjects/a%2Fb%20c-value/versions?verbose=true"
        );
    }

    #[test]
    fn credentials_in_the_url_move_to_basic_auth_and_out_of_messages() {
        let client =
            RegistryClient::new(RegistryConfig::new("https://key:s%40cret@registry.example")).unwrap();
        assert_eq!(client.url(), "https://registry.example/");
        let (user, password) = client.basic_auth.as_ref().unwrap();
        assert_eq!((user.as_str(), password.expose()), ("key", "s@cret"));
        assert!(!format!("{client:?}").contains("s@cret"));
    }

    #[test]
    fn a_url_that_is_not_http_is_refused_with_a_hint() {
        let error = RegistryClient::new(RegistryConfig::new("localhost:8081")).unwrap_err();
        assert!(matches!(error, RegistryError::Url { .. }), "{error:?}");
        assert!(error.hint().unwrap().contains("http://"));
    }
}
