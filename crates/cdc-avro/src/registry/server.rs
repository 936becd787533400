//! The embedded registry's HTTP API: Confluent Schema Registry's routes, bodies, status codes and `error_code`s
//! over a [`SchemaStore`], so that Confluent's serializers, Kafka Connect's `AvroConverter` and tools like
//! kcat or AKHQ use it as they would Confluent's.
//!
//! ```text
//! GET    /subjects                                  GET    /schemas/ids/{id}            (+ /schema, /versions, /subjects)
//! POST   /subjects/{s}             lookup           GET    /schemas/types               ["AVRO"]
//! DELETE /subjects/{s}             ?permanent=true  POST   /compatibility/subjects/{s}/versions[/{v}]  ?verbose=true
//! GET    /subjects/{s}/versions                     GET|PUT|DELETE /config, /config/{s}  ?defaultToGlobal=true
//! POST   /subjects/{s}/versions    register         GET    /mode, /mode/{s}             READWRITE
//! GET    /subjects/{s}/versions/{v}[/schema]        (v: a number, latest or -1)
//! DELETE /subjects/{s}/versions/{v}
//! ```
//!
//! No route sits at `/`, so the router merges into the admin server (Kafka Connect's paths) at the root, and
//! Confluent clients take `http://host:8083` as their registry URL. Errors are `{"error_code", "message"}`, as
//! Confluent's: 40401 subject, 40402 version, 40403 schema not found, 409 incompatible, 42201 invalid schema,
//! 42202 invalid version, 42203 invalid compatibility level, 50001 storage failure.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use cdc_core::config::PostgresConfig;
use serde_json::{json, Value};

use super::schema_text::{InvalidSchema, ParsedSchema};
use super::store::{Deleted, SchemaStore, StoreError, VersionRef};
use super::{Compatibility, SchemaId, CONTENT_TYPE};

type Shared = State<Arc<SchemaStore>>;
type Params = Query<HashMap<String, String>>;

/// Opens the store in the database `postgres` names (creating its tables if missing) and returns the routes.
pub async fn router(postgres: &PostgresConfig) -> Result<Router, StoreError> {
    Ok(routes(Arc::new(SchemaStore::open(postgres).await?)))
}

/// The routes over an open store.
pub fn routes(store: Arc<SchemaStore>) -> Router {
    Router::new()
        .route("/subjects", get(list_subjects))
        .route("/subjects/{subject}", post(lookup).delete(delete_subject))
        .route("/subjects/{subject}/versions", get(list_versions).post(register))
        .route("/subjects/{subject}/versions/{version}", get(get_version).delete(delete_version))
        .route("/subjects/{subject}/versions/{version}/schema", get(get_version_schema))
        .route("/schemas/types", get(schema_types))
        .route("/schemas/ids/{id}", get(get_schema))
        .route("/schemas/ids/{id}/schema", get(get_schema_text))
        .route("/schemas/ids/{id}/versions", get(schema_versions))
        .route("/schemas/ids/{id}/subjects", get(schema_subjects))
        .route("/compatibility/subjects/{subject}/versions", post(compatible_with_all))
        .route("/compatibility/subjects/{subject}/versions/{version}", post(compatible_with_version))
        .route("/config", get(get_global_config).put(put_global_config).delete(delete_global_config))
        .route(
            "/config/{subject}",
            get(get_subject_config).put(put_subject_config).delete(delete_subject_config),
        )
        .route("/mode", get(mode))
        .route("/mode/{subject}", get(mode))
        .with_state(store)
}

/// An error answer: HTTP status, Confluent `error_code`, message.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: u32,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }
}

impl From<StoreError> for ApiError {
    /// The one mapping from store outcomes to Confluent's codes.
    fn from(error: StoreError) -> Self {
        let message = error.to_string();
        let (status, code) = match &error {
            StoreError::SubjectNotFound(_) => (StatusCode::NOT_FOUND, 40401),
            StoreError::VersionNotFound(_) => (StatusCode::NOT_FOUND, 40402),
            StoreError::SchemaNotFound(_) | StoreError::NotRegisteredUnderSubject => {
                (StatusCode::NOT_FOUND, 40403)
            }
            StoreError::SubjectSoftDeleted(_) => (StatusCode::NOT_FOUND, 40404),
            StoreError::SubjectNotSoftDeleted(_) => (StatusCode::NOT_FOUND, 40405),
            StoreError::VersionSoftDeleted(..) => (StatusCode::NOT_FOUND, 40406),
            StoreError::VersionNotSoftDeleted(..) => (StatusCode::NOT_FOUND, 40407),
            StoreError::NoSubjectCompatibility(_) => (StatusCode::NOT_FOUND, 40408),
            StoreError::Incompatible { .. } => (StatusCode::CONFLICT, 409),
            StoreError::InvalidSchema(invalid) => {
                return ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, 42201, invalid_message(invalid));
            }
            StoreError::InvalidVersion(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42202),
            StoreError::Connect(_) | StoreError::Query { .. } | StoreError::Corrupt { .. } => {
                tracing::error!(error = %chain(&error), hint = ?error.hint(), "schema registry storage failed");
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    50001,
                    format!("Error in the backend datastore: {}", chain(&error)),
                );
            }
        };
        ApiError::new(status, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        reply(self.status, json!({ "error_code": self.code, "message": self.message }))
    }
}

/// A JSON body with Confluent's media type.
fn reply(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, CONTENT_TYPE)], body.to_string()).into_response()
}

fn ok(body: Value) -> Response {
    reply(StatusCode::OK, body)
}

/// `error: cause: cause`, for messages that must say why.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn invalid_message(invalid: &InvalidSchema) -> String {
    format!("Invalid schema: {}", chain(invalid))
}

/// A boolean query flag; Confluent's clients send `true`, `True` or `1`.
fn flag(params: &HashMap<String, String>, name: &str) -> bool {
    params.get(name).is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

fn deleted_filter(params: &HashMap<String, String>) -> Deleted {
    if flag(params, "deletedOnly") || flag(params, "deleted_only") {
        Deleted::Only
    } else if flag(params, "deleted") {
        Deleted::Include
    } else {
        Deleted::Exclude
    }
}

/// `offset` and `limit` (negative: no limit) of list endpoints.
fn page<T>(items: Vec<T>, params: &HashMap<String, String>) -> Vec<T> {
    let offset = params.get("offset").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    let limit = params.get("limit").and_then(|v| v.parse::<i64>().ok()).unwrap_or(-1);
    let rest = items.into_iter().skip(offset);
    match usize::try_from(limit) {
        Ok(limit) => rest.take(limit).collect(),
        Err(_) => rest.collect(),
    }
}

/// The body of register, lookup and compatibility requests: `{"schema", "schemaType"?, "references"?}`; other
/// fields (`metadata`, `ruleSet`) are accepted and ignored.
#[derive(serde::Deserialize)]
struct SchemaRequest {
    schema: Option<String>,
    #[serde(rename = "schemaType")]
    schema_type: Option<String>,
    #[serde(default)]
    references: Vec<Value>,
}

/// Parses a request body, whatever its declared content type (Confluent's, plain JSON, octet-stream).
fn parse_request(body: &Bytes) -> Result<ParsedSchema, ApiError> {
    let request: SchemaRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, 400, format!("the request body is not a schema request: {e}"))
    })?;
    let invalid = |e: InvalidSchema| ApiError::from(StoreError::InvalidSchema(e));
    if let Some(kind) = request.schema_type.filter(|t| !t.eq_ignore_ascii_case("AVRO")) {
        return Err(invalid(InvalidSchema::Type(kind)));
    }
    if !request.references.is_empty() {
        return Err(invalid(InvalidSchema::References));
    }
    ParsedSchema::parse(request.schema.as_deref().unwrap_or_default()).map_err(invalid)
}

fn version_ref(text: &str) -> Result<VersionRef, ApiError> {
    text.parse::<VersionRef>().map_err(ApiError::from)
}

/// A schema id in a path; anything else is a schema that does not exist.
fn schema_id(text: &str) -> Result<SchemaId, ApiError> {
    text.parse::<u32>()
        .map(SchemaId)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, 40403, format!("Schema {text} not found")))
}

async fn list_subjects(State(store): Shared, Query(params): Params) -> Result<Response, ApiError> {
    let prefix = params.get("subjectPrefix").map(String::as_str).unwrap_or_default();
    let subjects = store.subjects(deleted_filter(&params), prefix).await?;
    Ok(ok(json!(page(subjects, &params))))
}

async fn list_versions(
    State(store): Shared,
    Path(subject): Path<String>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let versions = store.versions(&subject, deleted_filter(&params)).await?;
    Ok(ok(json!(page(versions, &params))))
}

async fn register(
    State(store): Shared,
    Path(subject): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let schema = parse_request(&body)?;
    let registered = store.register(&subject, &schema).await?;
    if registered.created {
        tracing::info!(subject, id = %registered.id, version = %registered.version, "schema registered");
    }
    Ok(ok(json!({ "id": registered.id })))
}

async fn lookup(
    State(store): Shared,
    Path(subject): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let schema = parse_request(&body)?;
    let found = store.lookup(&subject, &schema, flag(&params, "deleted"), flag(&params, "normalize")).await?;
    Ok(ok(
        json!({ "subject": found.subject, "version": found.version, "id": found.id, "schema": found.schema }),
    ))
}

async fn get_version(
    State(store): Shared,
    Path((subject, version)): Path<(String, String)>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let found = store.version(&subject, version_ref(&version)?, flag(&params, "deleted")).await?;
    Ok(ok(
        json!({ "subject": found.subject, "version": found.version, "id": found.id, "schema": found.schema }),
    ))
}

async fn get_version_schema(
    State(store): Shared,
    Path((subject, version)): Path<(String, String)>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let found = store.version(&subject, version_ref(&version)?, flag(&params, "deleted")).await?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], found.schema).into_response())
}

async fn delete_subject(
    State(store): Shared,
    Path(subject): Path<String>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let permanent = flag(&params, "permanent");
    let versions = store.delete_subject(&subject, permanent).await?;
    tracing::info!(subject, permanent, ?versions, "schema registry subject deleted");
    Ok(ok(json!(versions)))
}

async fn delete_version(
    State(store): Shared,
    Path((subject, version)): Path<(String, String)>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let permanent = flag(&params, "permanent");
    let deleted = store.delete_version(&subject, version_ref(&version)?, permanent).await?;
    tracing::info!(subject, permanent, version = %deleted, "schema registry version deleted");
    Ok(ok(json!(deleted)))
}

async fn schema_types() -> Response {
    ok(json!(["AVRO"]))
}

async fn get_schema(State(store): Shared, Path(id): Path<String>) -> Result<Response, ApiError> {
    let schema = store.schema(schema_id(&id)?).await?;
    Ok(ok(json!({ "schema": schema })))
}

async fn get_schema_text(State(store): Shared, Path(id): Path<String>) -> Result<Response, ApiError> {
    let schema = store.schema(schema_id(&id)?).await?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], schema).into_response())
}

async fn schema_versions(
    State(store): Shared,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let usages = store.usages(schema_id(&id)?, flag(&params, "deleted")).await?;
    let pairs: Vec<Value> = usages
        .into_iter()
        .map(|(subject, version)| json!({ "subject": subject, "version": version }))
        .collect();
    Ok(ok(json!(page(pairs, &params))))
}

async fn schema_subjects(
    State(store): Shared,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let mut subjects: Vec<String> =
        store.usages(schema_id(&id)?, flag(&params, "deleted")).await?.into_iter().map(|(s, _)| s).collect();
    subjects.dedup();
    if let Some(only) = params.get("subject") {
        subjects.retain(|s| s == only);
    }
    Ok(ok(json!(page(subjects, &params))))
}

async fn compatible_with_version(
    State(store): Shared,
    Path((subject, version)): Path<(String, String)>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let reference = version_ref(&version)?;
    let schema = parse_request(&body)?;
    let messages = store.test_compatibility(&subject, &schema, Some(reference)).await?;
    Ok(compatibility_answer(messages, flag(&params, "verbose")))
}

async fn compatible_with_all(
    State(store): Shared,
    Path(subject): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<Response, ApiError> {
    let schema = parse_request(&body)?;
    let messages = store.test_compatibility(&subject, &schema, None).await?;
    Ok(compatibility_answer(messages, flag(&params, "verbose")))
}

fn compatibility_answer(messages: Vec<String>, verbose: bool) -> Response {
    let mut body = json!({ "is_compatible": messages.is_empty() });
    if verbose {
        body["messages"] = json!(messages);
    }
    ok(body)
}

/// The level in a PUT /config body: `{"compatibility": …}` (`compatibilityLevel` is accepted too).
fn requested_level(body: &Bytes) -> Result<Compatibility, ApiError> {
    let invalid = |message: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, 42203, message);
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, 400, format!("the request body is not a config request: {e}"))
    })?;
    let level = value
        .get("compatibility")
        .or_else(|| value.get("compatibilityLevel"))
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("Invalid compatibility level: the body needs \"compatibility\"".into()))?;
    level.parse::<Compatibility>().map_err(|e| invalid(format!("Invalid compatibility level. {e}")))
}

async fn get_global_config(State(store): Shared) -> Result<Response, ApiError> {
    let level = store.compatibility(None).await?.unwrap_or_default();
    Ok(ok(json!({ "compatibilityLevel": level })))
}

async fn put_global_config(State(store): Shared, body: Bytes) -> Result<Response, ApiError> {
    let level = requested_level(&body)?;
    store.set_compatibility(None, level).await?;
    tracing::info!(%level, "schema registry global compatibility set");
    Ok(ok(json!({ "compatibility": level })))
}

async fn delete_global_config(State(store): Shared) -> Result<Response, ApiError> {
    let previous = store.delete_compatibility(None).await?.unwrap_or_default();
    Ok(ok(json!({ "compatibilityLevel": previous })))
}

async fn get_subject_config(
    State(store): Shared,
    Path(subject): Path<String>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let level = match store.compatibility(Some(&subject)).await? {
        Some(level) => level,
        None if flag(&params, "defaultToGlobal") => store.effective_compatibility(&subject).await?,
        None => return Err(StoreError::NoSubjectCompatibility(subject).into()),
    };
    Ok(ok(json!({ "compatibilityLevel": level })))
}

async fn put_subject_config(
    State(store): Shared,
    Path(subject): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let level = requested_level(&body)?;
    store.set_compatibility(Some(&subject), level).await?;
    tracing::info!(subject, %level, "schema registry subject compatibility set");
    Ok(ok(json!({ "compatibility": level })))
}

async fn delete_subject_config(
    State(store): Shared,
    Path(subject): Path<String>,
) -> Result<Response, ApiError> {
    match store.delete_compatibility(Some(&subject)).await? {
        Some(previous) => Ok(ok(json!({ "compatibilityLevel": previous }))),
        None => Err(StoreError::NoSubjectCompatibility(subject).into()),
    }
}

/// Always READWRITE: the embedded registry has no import mode.
async fn mode() -> Response {
    ok(json!({ "mode": "READWRITE" }))
}
