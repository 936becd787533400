//! [`Topics`]: making sure a topic exists before the first message goes to it.
//!
//! With `[kafka].create_topics` (the default) a missing topic is created with the configured partitions and
//! replication; otherwise it must exist. Existence is checked on the full topic list: asking a broker for one
//! topic by name lets a broker with auto-creation on create it, with its own defaults.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::ClientConfig;
use rdkafka::error::RDKafkaErrorCode;

use crate::config::KafkaConfig;
use crate::context::WatchedContext;
use crate::sink::KafkaError;

/// Topics known to exist, and the admin client that creates the others.
pub(crate) struct Topics {
    admin: Arc<AdminClient<WatchedContext>>,
    context: WatchedContext,
    config: KafkaConfig,
    /// Topics known to exist, with their partition counts.
    known: HashMap<String, i32>,
}

impl Topics {
    /// `context` is shared with the client that writes, so a side-channel error of either explains a failure.
    pub fn new(config: &KafkaConfig, context: WatchedContext) -> Result<Topics, KafkaError> {
        let mut admin_config = ClientConfig::new();
        admin_config.set("bootstrap.servers", &config.bootstrap_servers);
        for (key, value) in &config.client {
            admin_config.set(key, value);
        }
        let admin = admin_config.create_with_context(context.clone()).map_err(KafkaError::Config)?;
        Ok(Topics { admin: Arc::new(admin), context, config: config.clone(), known: HashMap::new() })
    }

    /// Makes sure `topic` exists (creating it when allowed) and returns its partition count; remembered once
    /// seen.
    pub async fn ensure(&mut self, topic: &str) -> Result<i32, KafkaError> {
        if let Some(&partitions) = self.known.get(topic) {
            return Ok(partitions);
        }
        if self.config.create_topics {
            self.create(topic).await?;
        }
        let Some(partitions) = self.partitions(topic).await else {
            return Err(KafkaError::MissingTopic { topic: topic.into() });
        };
        self.known.insert(topic.to_owned(), partitions);
        Ok(partitions)
    }

    async fn create(&self, topic: &str) -> Result<(), KafkaError> {
        let new = NewTopic::new(
            topic,
            self.config.topic_partitions,
            TopicReplication::Fixed(self.config.topic_replication),
        );
        let timeout = Some(Duration::from_millis(u64::from(self.config.message_timeout_ms)));
        let options = AdminOptions::new().operation_timeout(timeout).request_timeout(timeout);
        // A timeout often hides the cause the client reported on the side (a failed SASL handshake).
        let failed = |reason: String| KafkaError::CreateTopic {
            topic: topic.into(),
            bootstrap: self.config.bootstrap_servers.clone(),
            reason: self.context.fatal.peek().unwrap_or(reason),
        };
        let results = self.admin.create_topics(&[new], &options).await.map_err(|e| failed(e.to_string()))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((_, code)) => return Err(failed(code.to_string())),
            }
        }
        tracing::info!(topic, "topic ready");
        Ok(())
    }

    /// The topic's partition count, `None` when it does not exist.
    async fn partitions(&self, topic: &str) -> Option<i32> {
        let admin = Arc::clone(&self.admin);
        let name = topic.to_owned();
        tokio::task::spawn_blocking(move || {
            let metadata = admin.inner().fetch_metadata(None, Duration::from_secs(30)).ok()?;
            let topic = metadata.topics().iter().find(|t| t.name() == name && t.error().is_none())?;
            i32::try_from(topic.partitions().len()).ok().filter(|&n| n > 0)
        })
        .await
        .ok()
        .flatten()
    }
}
