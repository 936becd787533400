//! [`MemorySink`]: keeps every flushed event in memory, shared with the test that reads it.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::change::{ChangeBatch, ChangeEvent};
use crate::sink::{Sink, SinkError};

/// Events become visible in [`MemorySink::events`] only when flushed, like durable data in a real sink.
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    staged: Vec<ChangeEvent>,
    flushed: Arc<Mutex<Vec<ChangeEvent>>>,
    notify: Arc<Notify>,
}

impl MemorySink {
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every flushed event, in order.
    pub fn events(&self) -> Vec<ChangeEvent> {
        self.flushed.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Waits until at least `count` events are flushed.
    pub async fn wait_for_events(&self, count: usize) -> Vec<ChangeEvent> {
        loop {
            let notified = self.notify.notified();
            let events = self.events();
            if events.len() >= count {
                return events;
            }
            notified.await;
        }
    }
}

impl Sink for MemorySink {
    async fn write<C: Send + Sync>(&mut self, batch: &ChangeBatch<C>) -> Result<(), SinkError> {
        self.staged.extend(batch.events.iter().cloned());
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        if let Ok(mut flushed) = self.flushed.lock() {
            flushed.append(&mut self.staged);
        }
        self.notify.notify_waiters();
        Ok(())
    }
}
