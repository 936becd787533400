//! `cdc capture` (PostgreSQL → Debezium-style events, as JSON lines or onto Kafka topics) and `cdc run`
//! (PostgreSQL → DuckDB in one process) share one supervised pipeline loop.
//!
//! Transient failures (the server restarting, a dropped connection) rebuild the source after a backoff; the
//! sink is kept, and since nothing was acknowledged past what it made durable, the replay is complete.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use cdc_core::envelope::Envelope;
use cdc_core::postgres::PgSource;
use cdc_core::sinks::JsonLinesSink;
use cdc_core::Sink;
use cdc_kafka::{AvroEncoder, KafkaSink};
use cdc_warehouse::duckdb::DuckDbSink;
use cdc_warehouse::snowflake::SnowflakeSink;
use tokio::sync::watch;

use super::supervise;
use crate::admin::{self, Connector, Offsets, One};
use crate::cli::{CaptureArgs, CaptureSink, RunArgs, WarehouseSink};
use crate::config::Config;
use crate::registry;

pub async fn capture(config: Config, args: CaptureArgs, shutdown: watch::Receiver<bool>) -> Result<()> {
    let envelope = Envelope::new(config.events.clone(), config.postgres.dbname.clone());
    match args.sink {
        CaptureSink::Jsonl => {
            let sink = JsonLinesSink::open(&args.output, envelope).context("cannot open the output")?;
            supervise(&config, "cdc-capture", sink, shutdown).await
        }
        CaptureSink::Kafka => {
            let avro = match registry::uses_avro(&config) {
                true => Some(AvroEncoder::new(
                    registry::required_client(&config)?,
                    config.schema_registry.subject_name_strategy,
                )),
                false => None,
            };
            let sink = KafkaSink::new(config.kafka.clone(), envelope, avro)
                .context("cannot set up the Kafka producer")?;
            supervise(&config, "cdc-capture", sink, shutdown).await
        }
    }
}

pub async fn run(mut config: Config, args: RunArgs, shutdown: watch::Receiver<bool>) -> Result<()> {
    if let Some(path) = args.duckdb {
        config.duckdb.path = path;
    }
    match args.sink {
        WarehouseSink::Duckdb => {
            config.pipeline = cdc_warehouse::duckdb::run_batching(&config.pipeline);
            let sink = DuckDbSink::open(config.duckdb.clone())?;
            tracing::info!(
                path = %config.duckdb.path.display(),
                applied = ?sink.applied(),
                batch_size = config.pipeline.batch_size,
                poll_timeout_ms = config.pipeline.poll_timeout_ms,
                "warehouse open"
            );
            supervise(&config, "cdc-run", sink, shutdown).await
        }
        WarehouseSink::Snowflake => {
            config.snowflake.validate("snowflake")?;
            let sink = SnowflakeSink::open(config.snowflake.clone()).await?;
            tracing::info!(url = %config.snowflake.base_url(), applied = ?sink.applied(), "Snowflake open");
            supervise(&config, "cdc-run", sink, shutdown).await
        }
    }
}

/// Runs PgSource → `sink` until shutdown (see [`supervise::run`]).
async fn supervise<K: Sink + Send + 'static>(
    config: &Config,
    role: &'static str,
    sink: K,
    shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let name = config.admin.name.clone().unwrap_or_else(|| role.to_owned());
    cdc_core::metrics::set_pipeline(&name);
    let connector = admin_for(config, &name).await?;
    let (postgres, source) = (config.postgres.clone(), config.source.clone());
    let start = move || PgSource::start(postgres.clone(), source.clone());
    supervise::run(&name, connector, start, sink, config.pipeline.clone(), shutdown).await
}

/// Starts the admin API when `[admin].listen` is set, with a connector named after the role, and the slot's
/// WAL metrics.
async fn admin_for(config: &Config, name: &str) -> Result<Option<Arc<Connector>>> {
    let Some(listen) = config.admin.listen else { return Ok(None) };
    let name = name.to_owned();
    let redacted = serde_json::to_value(config).context("cannot show the configuration")?;
    let envelope = Envelope::new(config.events.clone(), config.postgres.dbname.clone());
    let offsets = Offsets::Slot { postgres: config.postgres.clone(), slot: config.source.slot_name.clone() };
    let connector =
        Arc::new(Connector::new(name.clone(), "source", redacted, envelope).with_offsets(offsets));
    let routes = registry::embedded(config).await?.into_iter().collect();
    admin::serve(listen, config.admin.token.clone(), Arc::new(One(connector.clone())), routes).await?;
    tokio::spawn(slot_metrics(config.postgres.clone(), config.source.slot_name.clone(), name));
    Ok(Some(connector))
}

/// Every 10 s: the server's WAL position, and the slot's lag and retained WAL, as gauges.
async fn slot_metrics(postgres: cdc_core::config::PostgresConfig, slot: String, pipeline: String) {
    use cdc_core::metrics as m;
    let mut client = None;
    let mut slot_seen = false;
    loop {
        if client.is_none() {
            client = cdc_core::postgres::connect(&postgres).await.ok();
        }
        if let Some(c) = &client {
            let row = c
                .query_one(
                    "SELECT (pg_current_wal_lsn() - '0/0')::float8,
                            (SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::float8 FROM pg_replication_slots WHERE slot_name = $1),
                            (SELECT (pg_current_wal_lsn() - restart_lsn)::float8 FROM pg_replication_slots WHERE slot_name = $1)",
                    &[&slot],
                )
                .await;
            match row {
                Ok(row) => {
                    let label = [("pipeline", pipeline.clone())];
                    metrics::gauge!(m::SOURCE_WAL_POSITION, &label).set(row.get::<_, f64>(0));
                    if let Some(lag) = row.get::<_, Option<f64>>(1) {
                        metrics::gauge!(m::REPLICATION_LAG, &label).set(lag);
                        slot_seen = true;
                    }
                    if let Some(retained) = row.get::<_, Option<f64>>(2) {
                        metrics::gauge!(m::SLOT_RETAINED_WAL, &label).set(retained);
                    }
                }
                Err(_) => client = None,
            }
        }
        // Every second until the slot exists (the source creates it just after this starts), then every 10 s.
        tokio::time::sleep(Duration::from_secs(if slot_seen { 10 } else { 1 })).await;
    }
}
