//! The admin HTTP server: a REST API shaped like Kafka Connect's (so its tooling and habits carry over), health
//! and readiness probes, and `/metrics` for Prometheus. One port (`[admin].listen`, default off; Kafka Connect's
//! is 8083). With `[admin].token` set, every path but `/health` and `/ready` needs `Authorization: Bearer <token>`.
//!
//! ```text
//! GET  /                               version
//! GET  /connectors                     ["name"]
//! GET  /connectors/{name}              name, config, tasks, type
//! GET  /connectors/{name}/status       RUNNING | PAUSED | FAILED (+ trace), per connector and task
//! GET  /connectors/{name}/config       the effective configuration, secrets redacted
//! GET  /connectors/{name}/offsets      the slot's confirmed and restart LSNs
//! POST /connectors/{name}/restart      PUT /connectors/{name}/pause      PUT /connectors/{name}/resume
//! GET  /health   GET /ready   GET /metrics   GET /openapi.json
//! GET  /ui (the web UI)   GET /api/events (the last durable events, as the Debezium envelope)
//! ```

pub mod connector;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, Request, State as AxumState};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use cdc_core::config::{PostgresConfig, Secret};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;

pub use self::connector::{Connector, Desired, State};

/// `[admin]` settings.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Address of the admin server, e.g. `127.0.0.1:8083` (`CDC_ADMIN_LISTEN`); unset: no server. With the server
    /// on, a failed pipeline stays up as FAILED (restart it through the API) instead of exiting.
    pub listen: Option<SocketAddr>,
    /// Bearer token required by every endpoint but the probes (`CDC_ADMIN_TOKEN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// The connector's name in the API and the `pipeline` label of metrics; default: the role (`cdc-run`, …).
    pub name: Option<String>,
    /// Also serve a Confluent-compatible Schema Registry (its REST API at the root: `/subjects`, `/schemas`,
    /// `/config`, `/compatibility`), storing schemas in the source database. Behind the token when one is set,
    /// given as a bearer token or as the basic-auth password (what registry clients send).
    pub schema_registry: bool,
}

/// Where `/offsets` reads positions from.
#[derive(Debug, Clone)]
pub enum Offsets {
    /// The replication slot of this PostgreSQL source.
    Slot { postgres: PostgresConfig, slot: String },
    /// No source positions (`cdc ingest`: a scheduler, not a stream).
    NotApplicable,
    /// The consumer group's committed offsets (`cdc load`).
    Group { kafka: cdc_kafka::KafkaConfig, group: String, topics: Vec<String> },
}

/// The connectors an admin server shows: one role's, or those a `cdc connect` worker runs.
pub trait Connectors: Send + Sync + 'static {
    /// In name order.
    fn all(&self) -> Vec<Arc<Connector>>;

    fn get(&self, name: &str) -> Option<Arc<Connector>> {
        self.all().into_iter().find(|c| c.name == name)
    }
}

/// The one connector of a `cdc run`, `capture`, `load` or `ingest` process.
#[derive(Debug)]
pub struct One(pub Arc<Connector>);

impl Connectors for One {
    fn all(&self) -> Vec<Arc<Connector>> {
        vec![self.0.clone()]
    }
}

#[derive(Clone)]
struct Shared {
    connectors: Arc<dyn Connectors>,
    token: Option<Secret>,
    metrics: PrometheusHandle,
    started: Instant,
    worker_id: String,
}

/// Installs the Prometheus recorder (once per process) and returns its handle.
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    use metrics_exporter_prometheus::Matcher;
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&[0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0])?
        .set_buckets_for_metric(
            Matcher::Full(cdc_core::metrics::BATCH_EVENTS.into()),
            &[1.0, 10.0, 100.0, 500.0, 1000.0, 5000.0, 10000.0, 50000.0],
        )?
        .install_recorder()?;
    cdc_core::metrics::describe();
    Ok(handle)
}

/// Serves the admin API on `listen` until the process ends.
pub async fn serve(
    listen: SocketAddr,
    token: Option<Secret>,
    connectors: Arc<dyn Connectors>,
    extra_routes: Vec<Router>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let metrics = install_metrics()?;
    // Counters that only move on trouble start at 0, so rates and `increase()` see their first increment.
    let pipeline = cdc_core::metrics::pipeline();
    for name in [
        cdc_core::metrics::DEAD_LETTERS,
        cdc_core::metrics::KAFKA_PRODUCE_ERRORS,
        cdc_core::metrics::INGEST_ERRORS,
    ] {
        metrics::counter!(name, "pipeline" => pipeline.clone()).increment(0);
    }
    for status in ["succeeded", "failed"] {
        metrics::counter!(cdc_core::metrics::INGEST_RUNS, "pipeline" => pipeline.clone(), "status" => status)
            .increment(0);
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen} ([admin].listen, CDC_ADMIN_LISTEN): {e}"))?;
    let local = listener.local_addr()?;
    let shared = Shared { connectors, token, metrics, started: Instant::now(), worker_id: local.to_string() };
    let protected = Router::new()
        .route("/", get(root))
        .route("/connectors", get(list))
        .route("/connectors/{name}", get(info))
        .route("/connectors/{name}/status", get(status))
        .route("/connectors/{name}/config", get(config))
        .route("/connectors/{name}/offsets", get(offsets_of))
        .route("/connectors/{name}/restart", post(restart))
        .route("/connectors/{name}/pause", put(pause))
        .route("/connectors/{name}/resume", put(resume))
        .route("/metrics", get(render_metrics))
        .route("/openapi.json", get(openapi))
        .route("/api/events", get(recent_events))
        .with_state(shared.clone());
    let protected = extra_routes
        .into_iter()
        .fold(protected, Router::merge)
        .layer(axum::middleware::from_fn_with_state(shared.clone(), require_token));
    let app = Router::new()
        // The page itself holds no data; it asks for the token and sends it with every call.
        .route("/ui", get(ui))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(shared)
        .merge(protected);
    tracing::info!(listen = %local, "admin API listening");
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "admin API stopped");
        }
    }))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error_code": status.as_u16(), "message": message.into() }))).into_response()
}

async fn require_token(AxumState(shared): AxumState<Shared>, request: Request, next: Next) -> Response {
    if let Some(token) = &shared.token {
        let authorization =
            request.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if !presents(authorization, token.expose()) {
            return error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token ([admin].token)");
        }
    }
    next.run(request).await
}

/// `Bearer <token>`, or `Basic` with the token as the password (schema registry clients speak basic auth).
fn presents(authorization: Option<&str>, token: &str) -> bool {
    use base64::Engine as _;
    let Some(authorization) = authorization else { return false };
    if let Some(bearer) = authorization.strip_prefix("Bearer ") {
        return bearer == token;
    }
    authorization
        .strip_prefix("Basic ")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|pair| pair.split_once(':').map(|(_, password)| password == token))
        .unwrap_or(false)
}

/// The named connector, or Kafka Connect's 404.
fn find(shared: &Shared, name: &str) -> Result<Arc<Connector>, Box<Response>> {
    shared
        .connectors
        .get(name)
        .ok_or_else(|| Box::new(error(StatusCode::NOT_FOUND, format!("Connector {name} not found"))))
}

async fn root() -> Json<serde_json::Value> {
    Json(json!({ "version": env!("CARGO_PKG_VERSION"), "commit": "", "kafka_cluster_id": null }))
}

async fn list(AxumState(shared): AxumState<Shared>) -> Json<serde_json::Value> {
    Json(json!(shared.connectors.all().iter().map(|c| c.name.clone()).collect::<Vec<_>>()))
}

async fn info(AxumState(shared): AxumState<Shared>, Path(name): Path<String>) -> Response {
    match find(&shared, &name) {
        Ok(c) => Json(json!({
            "name": c.name,
            "config": c.config,
            "tasks": [{ "connector": c.name, "task": 0 }],
            "type": c.kind,
        }))
        .into_response(),
        Err(response) => *response,
    }
}

async fn status(AxumState(shared): AxumState<Shared>, Path(name): Path<String>) -> Response {
    let c = match find(&shared, &name) {
        Ok(c) => c,
        Err(response) => return *response,
    };
    let status = c.status();
    let mut task = json!({ "id": 0, "state": status.state, "worker_id": shared.worker_id });
    if let Some(trace) = &status.trace {
        task["trace"] = json!(trace);
    }
    let mut connector = json!({ "state": status.state, "worker_id": shared.worker_id });
    if let Some(trace) = &status.trace {
        connector["trace"] = json!(trace);
    }
    Json(json!({ "name": c.name, "connector": connector, "tasks": [task], "type": c.kind })).into_response()
}

async fn config(AxumState(shared): AxumState<Shared>, Path(name): Path<String>) -> Response {
    match find(&shared, &name) {
        Ok(c) => Json(c.config.clone()).into_response(),
        Err(response) => *response,
    }
}

async fn offsets_of(AxumState(shared): AxumState<Shared>, Path(name): Path<String>) -> Response {
    let connector = match find(&shared, &name) {
        Ok(c) => c,
        Err(response) => return *response,
    };
    match &connector.offsets {
        Offsets::NotApplicable => Json(json!({ "offsets": [] })).into_response(),
        Offsets::Slot { postgres, slot } => match slot_positions(postgres, slot).await {
            Ok(offsets) => Json(offsets).into_response(),
            Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("cannot read the slot's position: {e}")),
        },
        Offsets::Group { kafka, group, topics } => match cdc_kafka::group_lag(kafka, group, topics).await {
            Ok(lag) => Json(json!({ "offsets": lag.iter().map(|p| json!({
                "partition": { "kafka_topic": p.topic, "kafka_partition": p.partition },
                "offset": { "kafka_offset": p.committed, "end": p.end },
            })).collect::<Vec<_>>() }))
            .into_response(),
            Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("cannot read the group's offsets: {e}")),
        },
    }
}

/// The slot's positions in Kafka Connect's offsets shape (`partition` → `offset`).
async fn slot_positions(postgres: &PostgresConfig, slot: &str) -> anyhow::Result<serde_json::Value> {
    let client = cdc_core::postgres::connect(postgres).await?;
    let row = client
        .query_opt(
            "SELECT confirmed_flush_lsn::text, restart_lsn::text, active FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await?;
    let offsets = match row {
        Some(row) => json!([{
            "partition": { "server": postgres.describe(), "slot": slot },
            "offset": {
                "lsn": row.get::<_, Option<String>>(0),
                "restart_lsn": row.get::<_, Option<String>>(1),
                "active": row.get::<_, bool>(2),
            },
        }]),
        None => json!([]),
    };
    Ok(json!({ "offsets": offsets }))
}

async fn restart(AxumState(shared): AxumState<Shared>, Path(name): Path<String>) -> Response {
    match find(&shared, &name) {
        Ok(c) => {
            c.restart();
            StatusCode::NO_CONTENT.into_response()
        }
        Err(response) => *response,
    }
}

async fn pause(AxumState(shared): AxumState<Shared>, Path(name): Path<String>) -> Response {
    match find(&shared, &name) {
        Ok(c) => {
            c.pause();
            StatusCode::ACCEPTED.into_response()
        }
        Err(response) => *response,
    }
}

async fn resume(AxumState(shared): AxumState<Shared>, Path(name): Path<String>) -> Response {
    match find(&shared, &name) {
        Ok(c) => {
            c.resume();
            StatusCode::ACCEPTED.into_response()
        }
        Err(response) => *response,
    }
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "healthy", "message": "the admin server is up" }))
}

/// Ready when every connector runs (a worker with none is ready to take one).
async fn ready(AxumState(shared): AxumState<Shared>) -> Response {
    let not_running: Vec<String> = shared
        .connectors
        .all()
        .iter()
        .filter_map(|c| {
            let state = c.status().state;
            (state != State::Running).then(|| format!("connector {} is {}", c.name, state.as_str()))
        })
        .collect();
    if not_running.is_empty() {
        Json(json!({ "status": "ready" })).into_response()
    } else {
        error(StatusCode::SERVICE_UNAVAILABLE, not_running.join("; "))
    }
}

async fn render_metrics(AxumState(shared): AxumState<Shared>) -> Response {
    let labels = [("pipeline", cdc_core::metrics::pipeline())];
    metrics::gauge!(cdc_core::metrics::PROCESS_UPTIME, &labels).set(shared.started.elapsed().as_secs_f64());
    if let Some(rss) = resident_memory_bytes() {
        metrics::gauge!(cdc_core::metrics::PROCESS_RSS, &labels).set(rss as f64);
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], shared.metrics.render())
        .into_response()
}

/// Resident set size from `/proc/self/statm` (pages × page size; 4 KiB pages on the platforms we ship).
fn resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// `?connector=NAME`: whose events (default: the first connector).
#[derive(Debug, serde::Deserialize)]
struct EventsQuery {
    connector: Option<String>,
}

/// The last durable events of a connector as the Debezium envelope (key and value), newest first.
async fn recent_events(
    AxumState(shared): AxumState<Shared>,
    axum::extract::Query(query): axum::extract::Query<EventsQuery>,
) -> Response {
    let connector = match &query.connector {
        Some(name) => match find(&shared, name) {
            Ok(c) => c,
            Err(response) => return *response,
        },
        None => match shared.connectors.all().into_iter().next() {
            Some(c) => c,
            None => return Json(json!({ "events": [] })).into_response(),
        },
    };
    let events = connector.tap.snapshot();
    let Ok(mut envelope) = connector.envelope.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "the envelope encoder is unavailable");
    };
    let items: Vec<serde_json::Value> = events
        .iter()
        .rev()
        .map(|event| {
            json!({
                "table": event.schema.id.to_string(),
                "op": event.op.code(),
                "lsn": event.lsn.to_string(),
                "topic": envelope.topic(&event.schema.id),
                "key": envelope.key(event),
                "value": envelope.value(event),
            })
        })
        .collect();
    Json(json!({ "events": items })).into_response()
}

/// The web UI: one page, its script and styles inline, nothing fetched from elsewhere.
async fn ui() -> Response {
    ([(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")], include_str!("ui.html"))
        .into_response()
}

async fn openapi() -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], include_str!("openapi.json")).into_response()
}
