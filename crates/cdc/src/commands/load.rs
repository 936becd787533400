//! `cdc load`: Kafka topics → warehouse, as one member of a consumer group.
//!
//! The same [`Pipeline`] as `cdc run`, with [`KafkaSource`] in place of PostgreSQL: offsets are committed
//! only after the warehouse commit, and the warehouse records the offsets it applied in that commit, so a
//! crash anywhere replays nothing twice.

use std::collections::HashSet;

use anyhow::{Context, Result};
use cdc_core::config::ConfigError;
use cdc_core::envelope::EventFormat;
use cdc_core::pipeline::Pipeline;
use cdc_core::Sink;
use cdc_kafka::{topic_pattern, KafkaSource};
use cdc_warehouse::duckdb::DuckDbSink;
use cdc_warehouse::snowflake::SnowflakeSink;
use tokio::sync::watch;

use crate::cli::{LoadArgs, WarehouseSink};
use crate::config::Config;

pub async fn run(mut config: Config, args: LoadArgs, shutdown: watch::Receiver<bool>) -> Result<()> {
    if let Some(path) = args.duckdb {
        config.duckdb.path = path;
    }
    if let Some(group) = args.group {
        config.load.group_id = group;
    }
    cdc_core::metrics::set_pipeline(config.admin.name.as_deref().unwrap_or("cdc-load"));
    if config.events.format == EventFormat::Json {
        // Bare JSON carries no column types: every record would go to the dead-letter topic.
        return Err(ConfigError::invalid(
            "events.format",
            "cdc load needs the values' schemas: set format = \"json-schema\" in [events] for capture and load \
             (the seed's JsonConverter with schemas.enable=true)",
        )
        .into());
    }
    let prefix = &config.events.topic_prefix;
    let dead_letter_topic = config.load.dead_letter_topic.clone().unwrap_or_else(|| format!("{prefix}.dlq"));
    let side_topics = HashSet::from([dead_letter_topic.clone(), format!("{prefix}.transaction")]);
    let topics = if config.load.topics.is_empty() {
        vec![topic_pattern(&config.events)]
    } else {
        config.load.topics.clone()
    };
    match args.sink {
        WarehouseSink::Duckdb => {
            let sink = DuckDbSink::open(config.duckdb.clone())?;
            tracing::info!(path = %config.duckdb.path.display(), offsets = ?sink.applied_offsets(), "warehouse open");
            consume(&config, &topics, dead_letter_topic, side_topics, sink, shutdown).await
        }
        WarehouseSink::Snowflake => {
            config.snowflake.validate("snowflake")?;
            let sink = SnowflakeSink::open(config.snowflake.clone()).await?;
            tracing::info!(url = %config.snowflake.base_url(), offsets = ?sink.applied_offsets(), "Snowflake open");
            consume(&config, &topics, dead_letter_topic, side_topics, sink, shutdown).await
        }
    }
}

/// Runs the consumer group into `sink` until shutdown.
async fn consume<K: Sink>(
    config: &Config,
    topics: &[String],
    dead_letter_topic: String,
    side_topics: HashSet<String>,
    sink: K,
    shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let source = KafkaSource::start(&config.kafka, &config.load, topics, dead_letter_topic, side_topics)
        .await
        .context("cannot start the Kafka consumer")?;
    let mut pipeline = Pipeline::new(source, sink, config.pipeline.clone());
    let stats = pipeline.run(shutdown).await?;
    let (source, _) = pipeline.into_parts();
    let load = source.stats();
    tracing::info!(
        events = stats.events,
        batches = stats.batches,
        records = load.records,
        tombstones = load.tombstones,
        dead_lettered = load.dead_lettered,
        "load stopped"
    );
    Ok(())
}
