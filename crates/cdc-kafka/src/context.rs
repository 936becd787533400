//! librdkafka client contexts: what the client reports through callbacks, kept for the owning task.
//!
//! librdkafka reports some failures only through its error callback, never through a request: a failed SASL
//! handshake, for one, just makes every request time out. The contexts here remember the first such error
//! that retrying cannot fix, so the caller can fail with the cause instead of a timeout.

use std::sync::{Arc, Mutex, PoisonError};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError as RdKafkaError, RDKafkaErrorCode};

/// The first unrecoverable client error seen, if any.
#[derive(Debug, Clone, Default)]
pub(crate) struct FatalError(Arc<Mutex<Option<String>>>);

impl FatalError {
    fn record(&self, error: &RdKafkaError, reason: &str) {
        if is_fatal(error) {
            let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            // The first one is the cause; later ones are usually its echoes.
            slot.get_or_insert_with(|| format!("{error}: {reason}"));
        }
    }

    pub fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    pub fn peek(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// Errors after which retrying cannot succeed. A missing topic is not one: a pattern subscription reports
/// "not available" until capture creates the first topic (named topics are checked once at start instead).
pub(crate) fn is_fatal(error: &RdKafkaError) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        error.rdkafka_error_code(),
        Some(
            C::Authentication
                | C::SaslAuthenticationFailed
                | C::TopicAuthorizationFailed
                | C::GroupAuthorizationFailed
                | C::ClusterAuthorizationFailed
                | C::SSL
                | C::InvalidArgument
        )
    )
}

/// The producer's and admin client's context.
#[derive(Debug, Clone, Default)]
pub(crate) struct WatchedContext {
    pub fatal: FatalError,
}

impl ClientContext for WatchedContext {
    fn error(&self, error: RdKafkaError, reason: &str) {
        self.fatal.record(&error, reason);
        tracing::warn!(%error, reason, "kafka client error");
    }
}

/// The consumer's context: fatal errors, and the partitions revoked since the source last looked.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConsumerWatch {
    pub fatal: FatalError,
    revoked: Arc<Mutex<Vec<(String, i32)>>>,
}

impl ConsumerWatch {
    pub fn take_revoked(&self) -> Vec<(String, i32)> {
        std::mem::take(&mut *self.revoked.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl ClientContext for ConsumerWatch {
    fn error(&self, error: RdKafkaError, reason: &str) {
        self.fatal.record(&error, reason);
        tracing::warn!(%error, reason, "kafka client error");
    }
}

impl ConsumerContext for ConsumerWatch {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let partitions = |list: &rdkafka::TopicPartitionList| -> Vec<(String, i32)> {
            list.elements().iter().map(|p| (p.topic().to_owned(), p.partition())).collect()
        };
        match rebalance {
            Rebalance::Revoke(list) => {
                let revoked = partitions(list);
                tracing::info!(partitions = ?revoked, "partitions revoked");
                self.revoked.lock().unwrap_or_else(PoisonError::into_inner).extend(revoked);
            }
            Rebalance::Assign(list) => tracing::info!(partitions = ?partitions(list), "partitions assigned"),
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance error"),
        }
    }
}
