//! [`Worker`]: `cdc connect`, a Kafka Connect worker for Debezium PostgreSQL connectors.
//!
//! Connectors arrive as Debezium connector JSON through the Connect REST API (`rest.rs`), are translated
//! (`properties.rs`), stored in the worker's state file, and each runs as its own supervised pipeline
//! (PostgreSQL → transforms → Kafka) in this process. The state file is rewritten whole (write, fsync,
//! rename) on every change, so a crash leaves the old or the new list, never half of one; at start the worker
//! runs every stored connector again, each resuming from its slot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use cdc_core::envelope::Envelope;
use cdc_core::postgres::PgSource;
use cdc_kafka::transforms::Chain;
use cdc_kafka::{AvroEncoder, KafkaSink};
use tokio::sync::watch;

use super::columns::{self, ColumnPolicyTransform};
use super::filters::Filter;
use super::properties::{translate, ConnectorConfig, PropertyError, Rejected, SkippedOperation, Translated};
use super::signals;
use crate::admin::{Connector, Connectors, Offsets};
use crate::commands::supervise;
use crate::config::Config;
use crate::registry;
use cdc_core::Op;

pub const DEFAULT_STATE_FILE: &str = "cdc-connectors.json";

/// `[connect]`: the `cdc connect` worker.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectSettings {
    /// Where the connectors POSTed to this worker are kept between runs.
    pub state_file: PathBuf,
}

impl Default for ConnectSettings {
    fn default() -> Self {
        ConnectSettings { state_file: PathBuf::from(DEFAULT_STATE_FILE) }
    }
}

/// Why a REST call failed, as Kafka Connect answers it.
#[derive(Debug)]
pub enum WorkerError {
    /// 400: the configuration is invalid; every problem, by property.
    Invalid(Vec<PropertyError>),
    /// 404.
    NotFound(String),
    /// 409.
    Conflict(String),
    /// 500.
    Internal(anyhow::Error),
}

impl From<Rejected> for WorkerError {
    fn from(rejected: Rejected) -> Self {
        WorkerError::Invalid(rejected.errors)
    }
}

/// One connector this worker runs.
struct Running {
    connector: Arc<Connector>,
    submitted: ConnectorConfig,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    /// `slot.drop.on.stop`: the slot goes when the connector is deleted.
    drop_slot: Option<(cdc_core::config::PostgresConfig, String)>,
}

/// The worker. See the module doc.
pub struct Worker {
    base: Config,
    state_file: PathBuf,
    running: Mutex<BTreeMap<String, Running>>,
    /// Held across each create/update/delete (check, stop, start, save): operations on connectors are rare, and
    /// one at a time nothing can launch a name twice or write the state file concurrently.
    operations: tokio::sync::Mutex<()>,
    shutdown: watch::Receiver<bool>,
}

/// A connector ready to run: everything that can fail is done.
struct Prepared {
    submitted: ConnectorConfig,
    translated: Translated,
    sink: KafkaSink,
    connector: Arc<Connector>,
    signals: Option<signals::Signals>,
    /// The schema registry of an Avro connector, shared by its sink and its heartbeats (one cache of ids).
    registry: Option<Arc<cdc_avro::registry::RegistryClient>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("state_file", &self.state_file).finish_non_exhaustive()
    }
}

impl Connectors for Worker {
    fn all(&self) -> Vec<Arc<Connector>> {
        self.running.lock().map(|r| r.values().map(|c| c.connector.clone()).collect()).unwrap_or_default()
    }
}

impl Worker {
    /// A worker over `base` (Kafka, registry and defaults for every connector) that starts the connectors kept
    /// in its state file.
    pub async fn start(base: Config, shutdown: watch::Receiver<bool>) -> Result<Arc<Worker>> {
        let state_file = base.connect.state_file.clone();
        let worker = Arc::new(Worker {
            base,
            state_file,
            running: Mutex::new(BTreeMap::new()),
            operations: tokio::sync::Mutex::new(()),
            shutdown,
        });
        for stored in read_state(&worker.state_file)? {
            let name = stored.name.clone();
            match worker.prepare(stored.clone()).await {
                Ok(prepared) => {
                    worker.spawn(prepared);
                    tracing::info!(connector = %name, "connector restored from the state file");
                }
                // Kept, FAILED, so that it is neither lost from the state file nor invisible to the API.
                Err(e) => {
                    let trace = describe(&e);
                    tracing::error!(connector = %name, error = %trace, "a stored connector cannot start");
                    worker.keep_failed(stored, trace);
                }
            }
        }
        Ok(worker)
    }

    /// The configuration as submitted (secrets redacted), or 404.
    pub fn submitted(&self, name: &str) -> Result<ConnectorConfig, WorkerError> {
        self.with(name, |running| running.submitted.clone())
    }

    /// `POST /connectors`: 409 when the name is taken.
    pub async fn create(&self, submitted: ConnectorConfig) -> Result<(), WorkerError> {
        let _one_at_a_time = self.operations.lock().await;
        if self.exists(&submitted.name) {
            return Err(WorkerError::Conflict(format!("Connector {} already exists", submitted.name)));
        }
        let prepared = self.prepare(submitted).await?;
        self.spawn(prepared);
        self.save().map_err(WorkerError::Internal)
    }

    /// `PUT /connectors/{name}/config`: creates, or replaces and restarts. `true` when it created. Everything
    /// that can fail happens before the old connector stops: a bad PUT leaves it running.
    pub async fn put(&self, submitted: ConnectorConfig) -> Result<bool, WorkerError> {
        let _one_at_a_time = self.operations.lock().await;
        let existed = self.exists(&submitted.name);
        let prepared = self.prepare(submitted).await?;
        if existed {
            let _ = self.stop(&prepared.submitted.name, false).await;
        }
        self.spawn(prepared);
        self.save().map_err(WorkerError::Internal)?;
        Ok(!existed)
    }

    /// `DELETE /connectors/{name}`: stops it and forgets it; the slot stays unless `slot.drop.on.stop=true`.
    pub async fn delete(&self, name: &str) -> Result<(), WorkerError> {
        let _one_at_a_time = self.operations.lock().await;
        if !self.exists(name) {
            return Err(WorkerError::NotFound(format!("Connector {name} not found")));
        }
        let dropped = self.stop(name, true).await;
        self.save().map_err(WorkerError::Internal)?;
        dropped.map_err(WorkerError::Internal)
    }

    /// Validates without running: what `PUT /connector-plugins/{plugin}/config/validate` reports.
    pub async fn validate(&self, submitted: &ConnectorConfig) -> Vec<PropertyError> {
        match self.check(submitted).await {
            Ok(_) => Vec::new(),
            Err(WorkerError::Invalid(errors)) => errors,
            Err(other) => {
                vec![PropertyError { property: "connector.class".into(), message: describe(&other) }]
            }
        }
    }

    /// Stops every connector (process shutdown): each finishes its batch in flight first.
    pub async fn stop_all(&self) {
        let _one_at_a_time = self.operations.lock().await;
        let names: Vec<String> = self.running.lock().map(|r| r.keys().cloned().collect()).unwrap_or_default();
        for name in names {
            let _ = self.stop(&name, false).await;
        }
    }

    fn exists(&self, name: &str) -> bool {
        self.running.lock().is_ok_and(|r| r.contains_key(name))
    }

    fn with<T>(&self, name: &str, f: impl FnOnce(&Running) -> T) -> Result<T, WorkerError> {
        let running =
            self.running.lock().map_err(|_| WorkerError::Internal(anyhow::anyhow!("worker poisoned")))?;
        running.get(name).map(f).ok_or_else(|| WorkerError::NotFound(format!("Connector {name} not found")))
    }

    /// Translates and checks what only the database can tell (tables of the include list that do not exist).
    async fn check(&self, submitted: &ConnectorConfig) -> Result<Translated, WorkerError> {
        let mut translated = translate(submitted, &self.base)?;
        let not_yet = not_yet_supported(&translated);
        if !not_yet.is_empty() {
            return Err(WorkerError::Invalid(not_yet));
        }
        Chain::build(&translated.transforms, &translated.predicates).map_err(|e| {
            WorkerError::Invalid(vec![PropertyError {
                property: "transforms".into(),
                message: e.to_string(),
            }])
        })?;
        let filtered = translated.filters.tables != Filter::All || translated.filters.schemas != Filter::All;
        if filtered {
            let tables = catalog_tables(&translated.config.postgres).await?;
            let unmatched = translated.filters.unmatched_entries(&tables);
            if !unmatched.is_empty() {
                return Err(WorkerError::Invalid(vec![PropertyError {
                    property: "table.include.list".into(),
                    message: format!(
                        "{} match no table in database {}; check the spelling (entries are regular expressions \
                         matched against schema.table)",
                        unmatched.join(", "),
                        translated.config.postgres.dbname
                    ),
                }]));
            }
            // Regular expressions and exclude lists: the tables they select now. (Debezium also picks up tables
            // created later; here a table created later is captured after a PUT or restart of the connector.)
            if translated.config.source.tables.is_empty() {
                let selected: Vec<String> = tables
                    .iter()
                    .filter(|(schema, table)| translated.filters.matches(schema, table))
                    .map(|(schema, table)| format!("{schema}.{table}"))
                    .collect();
                if selected.is_empty() {
                    return Err(WorkerError::Invalid(vec![PropertyError {
                        property: "table.include.list".into(),
                        message: "the schema and table filters select no table".into(),
                    }]));
                }
                translated.config.source.tables = selected;
            }
        }
        Ok(translated)
    }

    /// Checks a configuration and builds what its pipeline needs, starting nothing.
    async fn prepare(&self, submitted: ConnectorConfig) -> Result<Prepared, WorkerError> {
        let translated = self.check(&submitted).await?;
        let name = submitted.name.clone();
        let config = translated.config.clone();
        let mut chain = Chain::build(&translated.transforms, &translated.predicates)
            .map_err(|e| WorkerError::Internal(e.into()))?;
        // Debezium applies the column lists and rules inside the connector, before any SMT.
        if translated.filters.columns != Filter::All || !translated.column_policies.rules.is_empty() {
            chain.prepend(Box::new(ColumnPolicyTransform::new(
                &translated.filters,
                &translated.column_policies,
            )));
        }
        let envelope = Envelope::new(config.events.clone(), config.postgres.dbname.clone());
        let registry = match registry::uses_avro(&config) {
            true => Some(registry::required_client(&config).map_err(WorkerError::Internal)?),
            false => None,
        };
        let strategy = config.schema_registry.subject_name_strategy;
        let avro = registry.clone().map(|client| AvroEncoder::new(client, strategy));
        let sink = KafkaSink::new(config.kafka.clone(), envelope, avro)
            .map_err(|e| WorkerError::Internal(e.into()))?
            .with_transforms(chain)
            .skipping(translated.skipped_operations.iter().map(|op| match op {
                SkippedOperation::Create => Op::Insert,
                SkippedOperation::Update => Op::Update,
                SkippedOperation::Delete => Op::Delete,
                SkippedOperation::Truncate => Op::Truncate,
            }));
        let shown =
            serde_json::to_value(submitted.redacted()).map_err(|e| WorkerError::Internal(e.into()))?;
        let offsets =
            Offsets::Slot { postgres: config.postgres.clone(), slot: config.source.slot_name.clone() };
        let connector = Arc::new(
            Connector::new(
                name.clone(),
                "source",
                shown,
                Envelope::new(config.events.clone(), config.postgres.dbname.clone()),
            )
            .with_offsets(offsets),
        );
        let signals = match &translated.signal_data_collection {
            Some(table) => Some(self.signals_for(&translated, table).await?),
            None => None,
        };
        Ok(Prepared { submitted, translated, sink, connector, signals, registry })
    }

    /// Runs a prepared connector (its pipeline, heartbeats and signal watcher) and lists it.
    fn spawn(&self, prepared: Prepared) {
        let Prepared { submitted, translated, sink, connector, signals, registry } = prepared;
        let name = submitted.name.clone();
        let config = translated.config.clone();
        let (stop, stopped) = watch::channel(false);
        let mut process_shutdown = self.shutdown.clone();
        let forward = stop.clone();
        tokio::spawn(async move {
            let _ = process_shutdown.wait_for(|s| *s).await;
            let _ = forward.send(true);
        });
        if translated.heartbeat.interval_ms > 0 {
            let strategy = config.schema_registry.subject_name_strategy;
            let avro = registry.map(|client| AvroEncoder::new(client, strategy));
            let heartbeats = cdc_kafka::heartbeat::Heartbeats {
                topic: translated.heartbeat.topic(&config.events.topic_prefix),
                server_name: config.events.topic_prefix.clone(),
                key_format: config.events.key_format(),
                value_format: config.events.format,
                interval: std::time::Duration::from_millis(translated.heartbeat.interval_ms),
                avro,
            };
            cdc_kafka::heartbeat::spawn(config.kafka.clone(), heartbeats, stopped.clone());
        }
        if let Some(signals) = signals {
            signals::spawn(signals, connector.clone(), stopped.clone());
        }
        let supervised = connector.clone();
        let task_name = name.clone();
        let task = tokio::spawn(async move {
            let (postgres, source) = (config.postgres.clone(), config.source.clone());
            let start = move || PgSource::start(postgres.clone(), source.clone());
            let result = supervise::run(
                &task_name,
                Some(supervised.clone()),
                start,
                sink,
                config.pipeline.clone(),
                stopped,
            )
            .await;
            if let Err(e) = result {
                tracing::error!(connector = %task_name, error = %format!("{e:#}"), "connector stopped");
                supervised.set(crate::admin::State::Failed, Some(format!("{e:#}")));
            }
        });
        let drop_slot = translated
            .slot_drop_on_stop
            .then(|| (translated.config.postgres.clone(), translated.config.source.slot_name.clone()));
        let running = Running { connector, submitted, stop, task, drop_slot };
        if let Ok(mut all) = self.running.lock() {
            all.insert(name, running);
        }
    }

    /// Lists a stored connector that cannot start, FAILED with why.
    fn keep_failed(&self, submitted: ConnectorConfig, trace: String) {
        let shown = serde_json::to_value(submitted.redacted()).unwrap_or_default();
        let envelope = Envelope::new(self.base.events.clone(), self.base.postgres.dbname.clone());
        let connector = Arc::new(Connector::new(submitted.name.clone(), "source", shown, envelope));
        connector.set(
            crate::admin::State::Failed,
            Some(format!("{trace}\n(fix the cause, then PUT /connectors/{}/config again)", submitted.name)),
        );
        let (stop, _) = watch::channel(false);
        let running = Running { connector, submitted, stop, task: tokio::spawn(async {}), drop_slot: None };
        if let Ok(mut all) = self.running.lock() {
            all.insert(running.submitted.name.clone(), running);
        }
    }

    /// The signal table's watcher settings; 400 when the table does not exist.
    async fn signals_for(&self, t: &Translated, table: &str) -> Result<signals::Signals, WorkerError> {
        let table = cdc_core::TableId::parse(table);
        let exists =
            signals::table_exists(&t.config.postgres, &table).await.map_err(WorkerError::Internal)?;
        if !exists {
            return Err(WorkerError::Invalid(vec![PropertyError {
                property: "signal.data.collection".into(),
                message: format!("table {table} does not exist; create it as (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))"),
            }]));
        }
        let captured = if t.config.source.tables.is_empty() {
            catalog_tables(&t.config.postgres).await?.iter().map(|(s, n)| format!("{s}.{n}")).collect()
        } else {
            t.config.source.tables.iter().map(|n| cdc_core::TableId::parse(n).to_string()).collect()
        };
        Ok(signals::Signals {
            postgres: t.config.postgres.clone(),
            slot: t.config.source.slot_name.clone(),
            table,
            captured,
        })
    }

    /// Stops a connector after its batch in flight; `forget`: also drop its slot if it asked for that.
    async fn stop(&self, name: &str, forget: bool) -> Result<()> {
        let Some(running) = self.running.lock().ok().and_then(|mut r| r.remove(name)) else { return Ok(()) };
        let _ = running.stop.send(true);
        let _ = running.task.await;
        if let (true, Some((postgres, slot))) = (forget, running.drop_slot) {
            drop_slot(&postgres, &slot).await.with_context(|| {
                format!("connector {name} stopped, but its slot {slot} could not be dropped")
            })?;
            tracing::info!(connector = %name, %slot, "slot dropped (slot.drop.on.stop)");
        }
        Ok(())
    }

    fn save(&self) -> Result<()> {
        let stored: Vec<ConnectorConfig> = self
            .running
            .lock()
            .map_err(|_| anyhow::anyhow!("worker poisoned"))?
            .values()
            .map(|r| r.submitted.clone())
            .collect();
        write_state(&self.state_file, &stored)
    }
}

/// Debezium behaviours the translation understands but the pipeline does not apply yet: refused by name
/// rather than accepted and silently ignored (a connector that streams other rows than its configuration says
/// is worse than one that does not start).
fn not_yet_supported(t: &Translated) -> Vec<PropertyError> {
    let mut refused = Vec::new();
    let mut refuse = |property: &str, what: &str| {
        refused.push(PropertyError {
            property: property.to_owned(),
            message: format!("{what} is not supported by this version of cdc connect yet"),
        });
    };
    for rule in &t.column_policies.rules {
        if let Some(what) = columns::unsupported(&rule.action) {
            refuse(&rule.property, &what);
        }
    }
    if !t.column_policies.message_key_columns.is_empty() {
        refuse("message.key.columns", "choosing message key columns");
    }
    if t.snapshot_mode_extra.is_some() {
        refuse("snapshot.mode", "this snapshot mode (initial, initial_only, no_data and never are)");
    }
    if t.heartbeat.action_query.is_some() {
        refuse("heartbeat.action.query", "a heartbeat action query");
    }
    if t.errors_tolerance_all {
        refuse("errors.tolerance", "errors.tolerance=all (a failed record stops the connector)");
    }
    refused
}

/// The database's tables, outside the system schemas.
async fn catalog_tables(
    postgres: &cdc_core::config::PostgresConfig,
) -> Result<Vec<(String, String)>, WorkerError> {
    let client = cdc_core::postgres::connect(postgres).await.map_err(|e| {
        WorkerError::Invalid(vec![PropertyError {
            property: "database.hostname".into(),
            message: format!("cannot connect to check the table filters: {e}"),
        }])
    })?;
    let rows = client
        .query(
            "SELECT table_schema, table_name FROM information_schema.tables
             WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
             ORDER BY 1, 2",
            &[],
        )
        .await
        .map_err(|e| WorkerError::Internal(e.into()))?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// Drops the slot once its walsender has let go (the server releases it shortly after the connection closes).
async fn drop_slot(postgres: &cdc_core::config::PostgresConfig, slot: &str) -> Result<()> {
    let client = cdc_core::postgres::connect(postgres).await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let active: Option<bool> = client
            .query_opt("SELECT active FROM pg_replication_slots WHERE slot_name = $1", &[&slot])
            .await?
            .map(|row| row.get(0));
        match active {
            None => return Ok(()),
            Some(false) => {
                client.execute("SELECT pg_drop_replication_slot($1)", &[&slot]).await?;
                return Ok(());
            }
            Some(true) if std::time::Instant::now() > deadline => {
                anyhow::bail!("the slot is still in use after 30 s")
            }
            Some(true) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
}

/// A worker error for messages and traces.
fn describe(e: &WorkerError) -> String {
    match e {
        WorkerError::Invalid(errors) => {
            errors.iter().map(|e| format!("{}: {}", e.property, e.message)).collect::<Vec<_>>().join("; ")
        }
        WorkerError::NotFound(m) | WorkerError::Conflict(m) => m.clone(),
        WorkerError::Internal(e) => format!("{e:#}"),
    }
}

/// The stored connectors; none when the file does not exist yet.
fn read_state(path: &Path) -> Result<Vec<ConnectorConfig>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
            format!("the connector state file {} is not valid; fix or remove it", path.display())
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read the connector state file {}", path.display())),
    }
}

/// Writes the whole list to a temporary file, syncs it, and renames it over the old one. Owner-only: the
/// configurations hold database passwords unless they use `${env:…}` / `${file:…}` references (stored as such).
fn write_state(path: &Path, stored: &[ConnectorConfig]) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let temporary = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(&serde_json::to_vec_pretty(stored)?)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        // The rename itself is durable once the directory is.
        let directory = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::File::open(directory)?.sync_all()
    };
    write().with_context(|| format!("cannot write the connector state file {}", path.display()))
}
