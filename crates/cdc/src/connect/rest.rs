//! The create/update side of Kafka Connect's REST API, for [`Worker`]: what `deploy-connector.sh`-style scripts
//! and Connect tooling call. The read side (`GET /connectors…`, status, pause, resume, restart, offsets) is
//! the admin server's, shared with every `cdc` role.
//!
//! ```text
//! POST   /connectors                                     201 | 400 invalid | 409 exists
//! PUT    /connectors/{name}/config                       201 created | 200 updated | 400
//! DELETE /connectors/{name}                              204 | 404
//! GET    /connector-plugins                              the PostgreSQL connector class
//! PUT    /connector-plugins/{plugin}/config/validate     per-property errors, as Connect reports them
//! ```

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value as J};

use super::properties::{ConnectorConfig, PropertyError, CONNECTOR_CLASS};
use super::worker::{Worker, WorkerError};

/// The routes, to merge into the admin server.
pub fn routes(worker: Arc<Worker>) -> Router {
    Router::new()
        .route("/connectors", post(create))
        .route("/connectors/{name}/config", put(put_config))
        .route("/connectors/{name}", delete(remove))
        .route("/connector-plugins", get(plugins))
        .route("/connector-plugins/{plugin}/config/validate", put(validate))
        .with_state(worker)
}

/// Kafka Connect's error body.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error_code": status.as_u16(), "message": message.into() }))).into_response()
}

fn answer(e: WorkerError) -> Response {
    match e {
        WorkerError::Invalid(errors) => {
            let mut message = format!(
                "Connector configuration is invalid and contains the following {} error(s):",
                errors.len()
            );
            for e in &errors {
                message.push_str(&format!("\n{}: {}", e.property, e.message));
            }
            message.push_str(&format!(
                "\nYou can also find the above list of errors at the endpoint \
                 `/connector-plugins/{CONNECTOR_CLASS}/config/validate`"
            ));
            error(StatusCode::BAD_REQUEST, message)
        }
        WorkerError::NotFound(message) => error(StatusCode::NOT_FOUND, message),
        WorkerError::Conflict(message) => error(StatusCode::CONFLICT, message),
        WorkerError::Internal(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
    }
}

/// `{name, config, tasks, type}` of a connector.
fn info(submitted: &ConnectorConfig) -> J {
    let shown = submitted.redacted();
    json!({
        "name": shown.name,
        "config": shown.config,
        "tasks": [{ "connector": shown.name, "task": 0 }],
        "type": "source",
    })
}

async fn create(State(worker): State<Arc<Worker>>, Json(body): Json<J>) -> Response {
    let Some(name) = body.get("name").and_then(J::as_str).filter(|n| !n.trim().is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "the request needs a non-empty \"name\"");
    };
    let Some(config) = body.get("config").filter(|c| c.is_object()) else {
        return error(StatusCode::BAD_REQUEST, "the request needs a \"config\" object");
    };
    let submitted = match ConnectorConfig::from_json(name, config) {
        Ok(submitted) => submitted,
        Err(rejected) => return answer(rejected.into()),
    };
    match worker.create(submitted.clone()).await {
        Ok(()) => (StatusCode::CREATED, Json(info(&submitted))).into_response(),
        Err(e) => answer(e),
    }
}

async fn put_config(
    State(worker): State<Arc<Worker>>,
    Path(name): Path<String>,
    Json(config): Json<J>,
) -> Response {
    if !config.is_object() {
        return error(StatusCode::BAD_REQUEST, "the body must be the connector's configuration object");
    }
    if let Some(other) = config.get("name").and_then(J::as_str).filter(|n| *n != name) {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "Connector name configuration ({other}) doesn't match connector name in the URL ({name})"
            ),
        );
    }
    let submitted = match ConnectorConfig::from_json(&name, &config) {
        Ok(submitted) => submitted,
        Err(rejected) => return answer(rejected.into()),
    };
    match worker.put(submitted.clone()).await {
        Ok(true) => (StatusCode::CREATED, Json(info(&submitted))).into_response(),
        Ok(false) => (StatusCode::OK, Json(info(&submitted))).into_response(),
        Err(e) => answer(e),
    }
}

async fn remove(State(worker): State<Arc<Worker>>, Path(name): Path<String>) -> Response {
    match worker.delete(&name).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => answer(e),
    }
}

async fn plugins() -> Json<J> {
    Json(json!([{ "class": CONNECTOR_CLASS, "type": "source", "version": env!("CARGO_PKG_VERSION") }]))
}

/// Connect's validation answer: every submitted property with its errors.
async fn validate(
    State(worker): State<Arc<Worker>>,
    Path(plugin): Path<String>,
    Json(config): Json<J>,
) -> Response {
    let plugin_class = plugin.rsplit('.').next().unwrap_or_default();
    if plugin != CONNECTOR_CLASS && !CONNECTOR_CLASS.ends_with(&format!(".{plugin_class}")) {
        return error(
            StatusCode::NOT_FOUND,
            format!("Failed to find any class that implements Connector and which name matches {plugin}"),
        );
    }
    let name = config.get("name").and_then(J::as_str).unwrap_or("validate").to_owned();
    let errors: Vec<PropertyError> = match ConnectorConfig::from_json(&name, &config) {
        Ok(submitted) => worker.validate(&submitted).await,
        Err(rejected) => rejected.errors,
    };
    let shown = ConnectorConfig::from_json(&name, &config).map(|c| c.redacted().config).unwrap_or_default();
    let mut configs: Vec<J> = shown
        .iter()
        .map(|(property, value)| {
            let mine: Vec<&str> =
                errors.iter().filter(|e| &e.property == property).map(|e| e.message.as_str()).collect();
            config_entry(property, Some(value), &mine)
        })
        .collect();
    for e in errors.iter().filter(|e| !shown.contains_key(&e.property)) {
        configs.push(config_entry(&e.property, None, &[e.message.as_str()]));
    }
    Json(json!({
        "name": CONNECTOR_CLASS,
        "error_count": errors.len(),
        "groups": ["Common", "Connector"],
        "configs": configs,
    }))
    .into_response()
}

fn config_entry(property: &str, value: Option<&String>, errors: &[&str]) -> J {
    json!({
        "definition": {
            "name": property, "type": "STRING", "required": false, "default_value": null, "importance": "MEDIUM",
            "documentation": "", "group": "Connector", "width": "NONE", "display_name": property,
            "dependents": [], "order": -1,
        },
        "value": {
            "name": property, "value": value, "recommended_values": [], "errors": errors, "visible": true,
        },
    })
}
