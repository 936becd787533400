//! [`JsonLinesSink`]: one JSON object per line, `{"topic", "key", "value"}`, exactly what would be produced to
//! Kafka (a delete is followed by a tombstone line with `"value": null` unless tombstones are off).
//!
//! Durability: `flush` writes the buffer and, for a file, `fsync`s it; the pipeline acknowledges the source only
//! after that, so a crash can repeat lines (at least once) but never lose one.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::change::ChangeBatch;
use crate::envelope::Envelope;
use crate::sink::{Sink, SinkError};

enum Output {
    Stdout(std::io::Stdout),
    /// `sync`: a regular file, `fsync`ed on flush; devices and pipes (`/dev/null`, a FIFO) cannot be.
    File {
        file: std::fs::File,
        path: PathBuf,
        sync: bool,
    },
}

/// Writes events as JSON lines to a file (appending) or stdout.
pub struct JsonLinesSink {
    out: Output,
    envelope: Envelope,
    buf: Vec<u8>,
}

impl std::fmt::Debug for JsonLinesSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLinesSink").field("target", &self.target()).finish_non_exhaustive()
    }
}

impl JsonLinesSink {
    /// Appends to `path` (created if missing); `-` means stdout.
    pub fn open(path: &Path, envelope: Envelope) -> Result<JsonLinesSink, SinkError> {
        let out = if path == Path::new("-") {
            Output::Stdout(std::io::stdout())
        } else {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| SinkError::Io { target: path.display().to_string(), source })?;
            let sync = file.metadata().map(|m| m.is_file()).unwrap_or(false);
            Output::File { file, path: path.to_path_buf(), sync }
        };
        Ok(JsonLinesSink { out, envelope, buf: Vec::with_capacity(1 << 16) })
    }

    fn target(&self) -> String {
        match &self.out {
            Output::Stdout(_) => "stdout".into(),
            Output::File { path, .. } => path.display().to_string(),
        }
    }

    fn io_error(&self, source: std::io::Error) -> SinkError {
        SinkError::Io { target: self.target(), source }
    }
}

impl Sink for JsonLinesSink {
    async fn write<C: Send + Sync>(&mut self, batch: &ChangeBatch<C>) -> Result<(), SinkError> {
        // Written straight into the buffer (no JSON value per line): this is the capture's hot path.
        let ts_ms = crate::envelope::now_ms();
        let JsonLinesSink { envelope, buf, .. } = self;
        for event in &batch.events {
            let line_start = buf.len();
            buf.extend_from_slice(b"{\"topic\":");
            envelope.write_topic(event, buf);
            buf.extend_from_slice(b",\"key\":");
            let has_key = envelope.write_key(event, buf);
            if !has_key {
                buf.extend_from_slice(b"null");
            }
            let key_end = buf.len();
            buf.extend_from_slice(b",\"value\":");
            envelope.write_value(event, ts_ms, buf);
            buf.extend_from_slice(b"}\n");
            if envelope.emits_tombstone(event) && has_key {
                // The same topic and key, then a null value.
                buf.extend_from_within(line_start..key_end);
                buf.extend_from_slice(b",\"value\":null}\n");
            }
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = match &mut self.out {
            Output::Stdout(out) => {
                let mut lock = out.lock();
                lock.write_all(&self.buf).and_then(|_| lock.flush())
            }
            Output::File { file, sync, .. } => {
                file.write_all(&self.buf).and_then(|_| if *sync { file.sync_data() } else { Ok(()) })
            }
        };
        result.map_err(|e| self.io_error(e))?;
        self.buf.clear();
        Ok(())
    }
}
