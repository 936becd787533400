//! `cdc load`: Kafka topics → warehouse, as one member of a consumer group.
//!
//! The same [`Pipeline`] as `cdc run`, with [`KafkaSource`] in place of PostgreSQL: offsets are committed
//! only after the warehouse commit, and the warehouse records the offsets it applied in that commit, so a
//! crash anywhere replays nothing twice.

use std::collections::HashSet;
use std::sync::Arc;

use anyhow::{Context, Result};
use cdc_core::config::ConfigError;
use cdc_core::envelope::EventFormat;
use cdc_core::Sink;
use cdc_kafka::{topic_pattern, AvroDecoder, KafkaSource};
use cdc_warehouse::duckdb::DuckDbSink;
use cdc_warehouse::snowflake::SnowflakeSink;
use tokio::sync::watch;

use super::supervise;
use crate::admin::{self, Connector, Offsets, One};
use crate::cli::{LoadArgs, WarehouseSink};
use crate::config::Config;
use crate::registry;

pub async fn run(mut config: Config, args: LoadArgs, shutdown: watch::Receiver<bool>) -> Result<()> {
    if let Some(path) = args.duckdb {
        config.duckdb.path = path;
    }
    if let Some(group) = args.group {
        config.load.group_id = group;
    }
    cdc_core::metrics::set_pipeline(config.admin.name.as_deref().unwrap_or("cdc-load"));
    if config.events.format == EventFormat::Json {
        // (Avro records carry their schema's id; json-schema ones the schema itself.)
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

/// Runs the consumer group into `sink` until shutdown (see [`supervise::run`]); with `[admin].listen`, behind the
/// admin API, with the group's offsets and per-partition lag.
async fn consume<K: Sink + Send + 'static>(
    config: &Config,
    topics: &[String],
    dead_letter_topic: String,
    side_topics: HashSet<String>,
    sink: K,
    shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let name = config.admin.name.clone().unwrap_or_else(|| "cdc-load".to_owned());
    let connector = match config.admin.listen {
        Some(listen) => {
            let redacted = serde_json::to_value(config).context("cannot show the configuration")?;
            let envelope =
                cdc_core::envelope::Envelope::new(config.events.clone(), config.postgres.dbname.clone());
            let offsets = Offsets::Group {
                kafka: config.kafka.clone(),
                group: config.load.group_id.clone(),
                topics: topics.to_vec(),
            };
            let connector =
                Arc::new(Connector::new(name.clone(), "sink", redacted, envelope).with_offsets(offsets));
            let routes = registry::embedded(config).await?.into_iter().collect();
            admin::serve(listen, config.admin.token.clone(), Arc::new(One(connector.clone())), routes)
                .await?;
            tokio::spawn(lag_metrics(
                config.kafka.clone(),
                config.load.group_id.clone(),
                topics.to_vec(),
                name.clone(),
            ));
            Some(connector)
        }
        None => None,
    };
    let (kafka, load, topics) = (config.kafka.clone(), config.load.clone(), topics.to_vec());
    // Avro records are read through the registry whatever [events].format says (a topic may hold both).
    let registry = registry::client(config)?;
    let start = move || {
        let (kafka, load, topics) = (kafka.clone(), load.clone(), topics.clone());
        let (dead_letter_topic, side_topics) = (dead_letter_topic.clone(), side_topics.clone());
        let avro = registry.clone().map(AvroDecoder::new);
        async move { KafkaSource::start(&kafka, &load, &topics, dead_letter_topic, side_topics, avro).await }
    };
    supervise::run(&name, connector, start, sink, config.pipeline.clone(), shutdown).await
}

/// Every 10 s: records between the group's committed offset and the end of each partition.
async fn lag_metrics(kafka: cdc_kafka::KafkaConfig, group: String, topics: Vec<String>, pipeline: String) {
    loop {
        if let Ok(lag) = cdc_kafka::group_lag(&kafka, &group, &topics).await {
            for p in lag {
                metrics::gauge!(cdc_core::metrics::CONSUMER_LAG, "pipeline" => pipeline.clone(),
                    "topic" => p.topic.clone(), "partition" => p.partition.to_string())
                .set(p.lag() as f64);
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    }
}
