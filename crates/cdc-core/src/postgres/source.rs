//! [`PgSource`]: the PostgreSQL [`Source`]: prerequisites, publication and slot, the consistent snapshot, then
//! the pgoutput stream, with progress acknowledged to the slot only as the pipeline reports it durable.
//!
//! ```text
//!  start ─▶ check server ─▶ publication ─▶ slot (create + export snapshot, or reuse)
//!                                          │
//!          SnapshotReader (COPY per table) ◀┘  rows as op=r; a table is recorded done only after its ack
//!                    │
//!                    ▼
//!          START_REPLICATION ─▶ StreamDecoder ─▶ batches; checkpoint = commit end LSN
//!                    ▲                                   │
//!                    └─ standby status (flush = acked) ◀─┘ ack
//! ```
//!
//! Progress tracking: the slot's `confirmed_flush_lsn` only moves when the pipeline acknowledges a checkpoint,
//! which it does after the sink's flush. When the captured tables are idle but the server writes WAL elsewhere,
//! the source asks the walsender for a keepalive and, with nothing of ours in flight, hands out the keepalive's
//! position as a checkpoint of an empty batch: the slot then advances and retained WAL stays bounded.
//!
//! A restart during the snapshot redoes only the tables not recorded done, at a fresh consistent point taken from
//! a temporary slot; changes to those tables that the main slot replays from before that point are skipped, so
//! nothing is emitted twice or out of order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio_postgres::Client;

use super::catalog::{Catalog, TableInfo};
use super::decode::{Decoded, StreamDecoder};
use super::error::PgError;
use super::incremental::{self, ChunkRows, IncrementalSnapshot};
use super::setup;
use super::snapshot::{SnapshotItem, SnapshotOptions, SnapshotReader};
use super::streamed::{Replay, StreamedTransactions};
use super::walsender::{ReplicationStream, WalSender};
use crate::change::{ChangeBatch, ChangeEvent};
use crate::config::{PostgresConfig, SnapshotMode, SnapshotNewTables, SourceConfig};
use crate::lsn::Lsn;
use crate::pgoutput::{self, PgOutputMessage, ReplicationMessage};
use crate::schema::{SchemaRef, TableId};
use crate::source::Source;

/// Messages (snapshot rows) handled between two readings of the clock while the stream keeps coming.
const CLOCK_EVERY: usize = 256;

/// How often a keepalive is asked for while a chunk waits for its high watermark.
const WATERMARK_POLL: Duration = Duration::from_millis(100);

/// A position of the PostgreSQL source that the pipeline can acknowledge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgCheckpoint {
    /// The snapshot of `table` is wholly in the sink; it will not be read again.
    SnapshotDone { table: TableId, lsn: Lsn },
    /// Every transaction that ends at or before this WAL position is in the sink.
    Wal(Lsn),
    /// A chunk of `table`'s incremental snapshot is in the sink: its next chunk starts after `last_key`, or it
    /// is done (`None`). With `wal`, also what [`PgCheckpoint::Wal`] says.
    Chunk { table: TableId, last_key: Option<Vec<String>>, wal: Option<Lsn> },
}

enum Phase {
    Snapshot(Box<SnapshotReader>),
    /// Snapshot over (or skipped); the stream starts on the next call.
    BeforeStream,
    Streaming(Box<Streaming>),
    /// `initial_only`: nothing more will come.
    Finished,
}

/// The replication stream and what it carries across batches.
struct Streaming {
    stream: ReplicationStream,
    /// Protocol v2's open transactions (unused under v1).
    streamed: StreamedTransactions,
    /// A committed streamed transaction being decoded, with the Commit (and its position) that closes it; the
    /// stream is not read until it is through.
    replay: Option<(Replay, PgOutputMessage, Lsn)>,
    /// When to stop waiting for the stream: one timer, reset only when the time changes — a reader that keeps
    /// up waits once per message, and a fresh timer each time was a measurable cost.
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
}

/// See [`PgSource::streamed_stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamedStats {
    pub committed: u64,
    pub spilled_bytes: u64,
}

/// What to do after a message.
enum Flow {
    Continue,
    /// The batch ends here (a chunk closed, or a keepalive position became its checkpoint).
    Return,
}

/// The PostgreSQL source. See the module doc.
pub struct PgSource {
    pg: PostgresConfig,
    config: SourceConfig,
    /// `server_version_num`: protocol v2 streaming needs 14 or newer.
    server_version: i32,
    client: Client,
    catalog: Catalog,
    captured: HashSet<TableId>,
    phase: Phase,
    /// Replication connection kept from slot creation for streaming.
    walsender: Option<WalSender>,
    decoder: StreamDecoder,
    /// Tables re-snapshotted at a later point: their changes from transactions committed before it are skipped.
    skip_before: HashMap<TableId, Lsn>,
    /// Tables read in chunks while streaming (`snapshot_new_tables = "incremental"`).
    incremental: Option<IncrementalSnapshot>,
    /// Highest position acknowledged durable (the slot's flush LSN we report).
    durable: Lsn,
    /// Highest WAL checkpoint handed out in a batch.
    emitted: Lsn,
    /// Highest WAL position received from the server.
    received: Lsn,
    last_status: Instant,
    last_keepalive_request: Instant,
}

impl std::fmt::Debug for PgSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSource")
            .field("slot", &self.config.slot_name)
            .field("durable", &self.durable)
            .finish()
    }
}

impl PgSource {
    /// Checks prerequisites, prepares publication and slot, and plans the snapshot.
    pub async fn start(pg: PostgresConfig, config: SourceConfig) -> Result<PgSource, PgError> {
        let client = super::connect(&pg).await?;
        let server_version = setup::check_server(&client).await?;
        let mut catalog = Catalog::default();
        let tables = setup::prepare_publication(&client, &mut catalog, &config).await?;
        let captured = tables.iter().map(|t| t.id.clone()).collect();
        let slot = setup::slot_state(&client, &config.slot_name).await?;
        let wants_snapshot = config.snapshot_mode != SnapshotMode::Never;
        if wants_snapshot {
            setup::ensure_progress_table(&client).await?;
        }
        let mut source = PgSource {
            pg,
            config,
            server_version,
            client,
            catalog,
            captured,
            phase: Phase::BeforeStream,
            walsender: None,
            decoder: StreamDecoder::default(),
            skip_before: HashMap::new(),
            incremental: None,
            durable: Lsn::ZERO,
            emitted: Lsn::ZERO,
            received: Lsn::ZERO,
            last_status: Instant::now(),
            last_keepalive_request: Instant::now(),
        };
        match slot {
            None => {
                let mut walsender = WalSender::connect(&source.pg).await?;
                let temporary = source.config.temporary_slot;
                let created =
                    walsender.create_slot(&source.config.slot_name, temporary, wants_snapshot).await?;
                tracing::info!(slot = %source.config.slot_name, consistent_point = %created.consistent_point,
                    "created replication slot");
                source.durable = created.consistent_point;
                source.emitted = created.consistent_point;
                if let Some(name) = created.snapshot_name.as_deref().filter(|_| wants_snapshot) {
                    setup::clear_snapshot_progress(&source.client, &source.config.slot_name).await?;
                    source.begin_snapshot(&tables, name, created.consistent_point, false).await?;
                }
                source.walsender = Some(walsender);
            }
            Some(state) => {
                source.durable = state.confirmed_flush.unwrap_or(Lsn::ZERO);
                source.emitted = source.durable;
                if wants_snapshot {
                    let done = setup::completed_snapshots(&source.client, &source.config.slot_name).await?;
                    let missing: Vec<TableInfo> =
                        tables.into_iter().filter(|t| !done.contains(&t.id)).collect();
                    if !missing.is_empty()
                        && source.config.snapshot_new_tables == SnapshotNewTables::Incremental
                    {
                        source.plan_incremental(&missing).await?;
                    } else if !missing.is_empty() {
                        // The slot's own snapshot is gone with the connection that exported it: take a fresh
                        // consistent point from a temporary slot for the tables still to do.
                        let mut temporary = WalSender::connect(&source.pg).await?;
                        let temp_name = format!("{}_snap_{}", source.config.slot_name, std::process::id());
                        let created = temporary.create_slot(&temp_name, true, true).await?;
                        let name = created.snapshot_name.clone().unwrap_or_default();
                        for t in &missing {
                            source.skip_before.insert(t.id.clone(), created.consistent_point);
                        }
                        tracing::info!(tables = missing.len(), at = %created.consistent_point,
                            "resuming snapshot of tables not yet done");
                        source.begin_snapshot(&missing, &name, created.consistent_point, true).await?;
                        drop(temporary);
                    }
                }
            }
        }
        if matches!(source.phase, Phase::BeforeStream)
            && source.config.snapshot_mode == SnapshotMode::InitialOnly
        {
            source.phase = Phase::Finished;
        }
        Ok(source)
    }

    /// The tables this source captures.
    pub fn captured_tables(&self) -> impl Iterator<Item = &TableId> {
        self.captured.iter()
    }

    /// Large transactions streamed before commit (protocol v2): how many committed, and the bytes spilled.
    pub fn streamed_stats(&self) -> StreamedStats {
        match &self.phase {
            Phase::Streaming(s) => {
                StreamedStats { committed: s.streamed.committed(), spilled_bytes: s.streamed.spilled_bytes() }
            }
            _ => StreamedStats::default(),
        }
    }

    /// The position last acknowledged durable.
    pub fn durable_lsn(&self) -> Lsn {
        self.durable
    }

    /// Starts reading `tables` at `at`. `redo`: some of them may have rows in the sink from an unfinished earlier
    /// snapshot, so each is preceded by a truncate.
    async fn begin_snapshot(
        &mut self,
        tables: &[TableInfo],
        snapshot_name: &str,
        at: Lsn,
        redo: bool,
    ) -> Result<(), PgError> {
        let mut schemas: Vec<SchemaRef> = Vec::with_capacity(tables.len());
        for info in tables {
            let mut schema =
                self.catalog.schema(&self.client, info, &info.columns, info.replica_identity).await?;
            schema.version = 1;
            let schema = Arc::new(schema);
            self.decoder.seed(schema.clone());
            schemas.push(schema);
        }
        let options = SnapshotOptions {
            max_threads: self.config.snapshot_max_threads,
            split_tables: self.server_version >= setup::TID_RANGE_SCANS_SINCE,
            partition_blocks: self.config.snapshot_partition_blocks,
            truncate_first: redo,
        };
        let reader = SnapshotReader::begin(&self.pg, snapshot_name, at, schemas, options).await?;
        self.phase = Phase::Snapshot(Box::new(reader));
        Ok(())
    }

    /// Plans the incremental snapshot of `tables`; their chunks are read once streaming runs.
    async fn plan_incremental(&mut self, tables: &[TableInfo]) -> Result<(), PgError> {
        let mut schemas = Vec::with_capacity(tables.len());
        for info in tables {
            schemas.push(self.current_schema(info.oid).await?);
        }
        let plan = IncrementalSnapshot::plan(
            &self.client,
            &self.config.slot_name,
            &schemas,
            self.config.incremental_chunk_size,
        )
        .await?;
        self.incremental = Some(plan);
        Ok(())
    }

    /// The stream's current shape of a table, described from the catalog (and given to the decoder) when no
    /// Relation message has yet.
    async fn current_schema(&mut self, oid: u32) -> Result<SchemaRef, PgError> {
        if let Some(schema) = self.decoder.relation(oid) {
            return Ok(schema.clone());
        }
        let info = self.catalog.table(&self.client, oid).await?.ok_or_else(|| PgError::Prerequisite {
            problem: format!("table with oid {oid} was dropped before its snapshot"),
            hint: "remove it from the captured tables".into(),
        })?;
        let mut schema =
            self.catalog.schema(&self.client, &info, &info.columns, info.replica_identity).await?;
        schema.version = 1;
        let schema = Arc::new(schema);
        self.decoder.seed(schema.clone());
        Ok(schema)
    }

    /// Reads the next incremental-snapshot chunk when one is due (between transactions, none waiting). A table
    /// found done at once comes back to be checkpointed.
    async fn read_chunk_if_due(&mut self) -> Result<Option<ChunkRows>, PgError> {
        if self.decoder.in_transaction() {
            return Ok(None);
        }
        let Some(oid) = self.incremental.as_ref().and_then(|i| i.next_table().map(|(_, oid)| oid)) else {
            return Ok(None);
        };
        let schema = self.current_schema(oid).await?;
        let Some(incremental) = self.incremental.as_mut() else { return Ok(None) };
        let done = incremental.read_chunk(&self.client, schema).await?;
        if incremental.waiting() {
            // Ask for a keepalive now: an idle server otherwise tells us nothing about passing the watermark.
            self.last_keepalive_request = Instant::now() - Duration::from_secs(3600);
        }
        Ok(done)
    }

    /// Closes the waiting chunk if `position` is past its high watermark.
    fn close_chunk(&mut self, position: Lsn) -> Option<ChunkRows> {
        let incremental = self.incremental.as_mut()?;
        let current = incremental.waiting_relation().and_then(|oid| self.decoder.relation(oid));
        incremental.close(position, current)
    }

    /// Ends `batch` with a chunk's rows and its checkpoint (which carries the batch's WAL checkpoint, if any).
    fn finish_with_chunk(&mut self, batch: &mut ChangeBatch<PgCheckpoint>, chunk: ChunkRows) {
        let wal = match batch.checkpoint.take() {
            Some(PgCheckpoint::Wal(lsn)) => Some(lsn),
            _ => None,
        };
        batch.events.extend(chunk.events);
        batch.checkpoint = Some(PgCheckpoint::Chunk { table: chunk.table, last_key: chunk.last_key, wal });
        if self.incremental.as_ref().is_some_and(IncrementalSnapshot::is_done) {
            tracing::info!("incremental snapshot complete");
            self.incremental = None;
        }
    }

    /// Protocol v2 with `streaming 'on'`: asked for when configured and the server can (PostgreSQL ≥ 14).
    fn streams_in_progress(&self) -> bool {
        self.config.stream_large_transactions && self.server_version >= setup::STREAMING_SINCE
    }

    async fn start_stream(&mut self) -> Result<ReplicationStream, PgError> {
        let v2 = self.streams_in_progress();
        let mut options = vec![
            ("proto_version", if v2 { "2" } else { "1" }.to_owned()),
            ("publication_names", format!("\"{}\"", self.config.publication.replace('"', "\"\""))),
        ];
        if v2 {
            options.push(("streaming", "on".to_owned()));
        }
        let mut attempt = 0;
        loop {
            let walsender = match self.walsender.take() {
                Some(w) => w,
                None => WalSender::connect(&self.pg).await?,
            };
            match walsender.start_replication(&self.config.slot_name, Lsn::ZERO, &options).await {
                Ok(stream) => {
                    tracing::info!(slot = %self.config.slot_name, from = %self.durable, "streaming started");
                    return Ok(stream);
                }
                // A previous process's walsender may not have noticed its client died yet (kill -9).
                Err(PgError::Server { code, .. }) if code == "55006" && attempt < 50 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn send_status(&mut self, reply_requested: bool) -> Result<(), PgError> {
        let Phase::Streaming(streaming) = &mut self.phase else { return Ok(()) };
        let mut payload = Vec::with_capacity(34);
        let now = pgoutput::unix_micros_to_pg_epoch_micros(chrono::Utc::now().timestamp_micros());
        let write = self.received.max(self.durable);
        pgoutput::encode_standby_status_update(
            write,
            self.durable,
            self.durable,
            now,
            reply_requested,
            &mut payload,
        );
        streaming.stream.send_copy_data(&payload).await?;
        self.last_status = Instant::now();
        Ok(())
    }

    async fn next_snapshot_batch(
        &mut self,
        max_events: usize,
        deadline: Instant,
    ) -> Result<ChangeBatch<PgCheckpoint>, PgError> {
        let mut batch = ChangeBatch::new(Vec::new(), None);
        let Phase::Snapshot(reader) = &mut self.phase else { return Ok(batch) };
        while batch.events.len() < max_events {
            // The clock every CLOCK_EVERY rows, as in the stream: per row it was a visible share of a snapshot.
            if batch.events.len() % CLOCK_EVERY == 0 && Instant::now() >= deadline {
                break;
            }
            match reader.next().await? {
                Some(SnapshotItem::Row(event)) => batch.events.push(event),
                Some(SnapshotItem::TableDone(table)) => {
                    let lsn = self.skip_before.get(&table).copied().unwrap_or(self.durable);
                    batch.checkpoint = Some(PgCheckpoint::SnapshotDone { table, lsn });
                    return Ok(batch);
                }
                None => {
                    tracing::info!("snapshot complete");
                    self.phase = if self.config.snapshot_mode == SnapshotMode::InitialOnly {
                        Phase::Finished
                    } else {
                        Phase::BeforeStream
                    };
                    return Ok(batch);
                }
            }
        }
        Ok(batch)
    }

    async fn next_stream_batch(
        &mut self,
        max_events: usize,
        deadline: Instant,
    ) -> Result<ChangeBatch<PgCheckpoint>, PgError> {
        let mut batch = ChangeBatch::new(Vec::new(), None);
        // The clock is read before every wait and every CLOCK_EVERY messages, not per message: a stream that
        // keeps coming needs no timer, and `Instant::now` per message was a visible share of the drain.
        let mut unclocked = CLOCK_EVERY;
        loop {
            if batch.events.len() >= max_events {
                return Ok(batch);
            }
            if let Some(done) = self.read_chunk_if_due().await? {
                self.finish_with_chunk(&mut batch, done);
                return Ok(batch);
            }
            if unclocked >= CLOCK_EVERY {
                unclocked = 0;
                if self.tick(&batch, deadline).await?.is_none() {
                    return Ok(batch);
                }
            }
            unclocked += 1;
            let Phase::Streaming(streaming) = &mut self.phase else { return Ok(batch) };
            if let Some((message, lsn)) = streaming.next_replayed()? {
                match self.apply_message(message, lsn, &mut batch).await? {
                    Flow::Continue => continue,
                    Flow::Return => return Ok(batch),
                }
            }
            let data = match streaming.stream.try_recv_buffered()? {
                Some(data) => data,
                None => {
                    unclocked = 0;
                    let Some(wake) = self.tick(&batch, deadline).await? else { return Ok(batch) };
                    let Phase::Streaming(streaming) = &mut self.phase else { return Ok(batch) };
                    let Streaming { stream, timer, .. } = &mut **streaming;
                    if timer.deadline() != wake.into() {
                        timer.as_mut().reset(wake.into());
                    }
                    tokio::select! {
                        biased;
                        data = stream.recv() => data?,
                        _ = timer.as_mut() => continue,
                    }
                }
            };
            match pgoutput::parse_replication_message(&data).map_err(PgError::Decode)? {
                ReplicationMessage::XLogData { wal_start, wal_end, data: message, .. } => {
                    self.received = self.received.max(wal_end);
                    // A slice of the read buffer, not a copy: tuple cells are slices of it in turn.
                    let message = data.slice_ref(message);
                    if let Flow::Return = self.on_xlog_data(wal_start, message, &mut batch).await? {
                        return Ok(batch);
                    }
                }
                ReplicationMessage::PrimaryKeepalive { wal_end, reply_requested, .. } => {
                    self.received = self.received.max(wal_end);
                    if !self.decoder.in_transaction() {
                        if let Some(chunk) = self.close_chunk(wal_end) {
                            self.finish_with_chunk(&mut batch, chunk);
                            if reply_requested {
                                self.send_status(false).await?;
                            }
                            return Ok(batch);
                        }
                    }
                    if self.nothing_in_flight(&batch) && wal_end > self.durable && batch.checkpoint.is_none()
                    {
                        // Everything before wal_end was decoded and none of it was ours: safe to confirm.
                        self.emitted = wal_end;
                        batch.checkpoint = Some(PgCheckpoint::Wal(wal_end));
                        if reply_requested {
                            self.send_status(false).await?;
                        }
                        return Ok(batch);
                    }
                    if reply_requested {
                        self.send_status(false).await?;
                    }
                }
            }
        }
    }

    /// What the clock asks for: a standby status update on its interval, a keepalive request (idle heartbeat,
    /// or a chunk waiting for its high watermark). `None` once `deadline` has passed; otherwise the latest time
    /// to wake up at when nothing arrives.
    async fn tick(
        &mut self,
        batch: &ChangeBatch<PgCheckpoint>,
        deadline: Instant,
    ) -> Result<Option<Instant>, PgError> {
        let status_every = Duration::from_millis(self.config.status_interval_ms);
        let keepalive_every = Duration::from_millis(self.config.heartbeat_interval_ms.max(1));
        let now = Instant::now();
        if now.duration_since(self.last_status) >= status_every {
            self.send_status(false).await?;
        }
        let idle = self.nothing_in_flight(batch);
        let chunk_waits = self.incremental.as_ref().is_some_and(IncrementalSnapshot::waiting);
        let keepalive_due = if chunk_waits { WATERMARK_POLL } else { keepalive_every };
        if (chunk_waits || (idle && self.config.heartbeat_interval_ms > 0))
            && now.duration_since(self.last_keepalive_request) >= keepalive_due
        {
            self.last_keepalive_request = now;
            self.send_status(true).await?;
        }
        if now >= deadline {
            return Ok(None);
        }
        let mut wake = deadline.min(self.last_status + status_every);
        if chunk_waits {
            wake = wake.min(self.last_keepalive_request + WATERMARK_POLL);
        }
        Ok(Some(wake))
    }

    /// One pgoutput message from the wire: protocol v2's stream framing is handled here, a message inside a stream
    /// block is buffered undecoded, everything else is decoded and applied.
    async fn on_xlog_data(
        &mut self,
        wal_start: Lsn,
        data: Bytes,
        batch: &mut ChangeBatch<PgCheckpoint>,
    ) -> Result<Flow, PgError> {
        let Phase::Streaming(streaming) = &mut self.phase else { return Ok(Flow::Continue) };
        let streamed = &mut streaming.streamed;
        if streamed.in_block() && !is_stream_framing(&data) {
            streamed.push(wal_start, &data)?;
            return Ok(Flow::Continue);
        }
        match pgoutput::decode(&data, false).map_err(PgError::Decode)? {
            PgOutputMessage::StreamStart { xid, .. } => streamed.start_block(xid)?,
            PgOutputMessage::StreamStop => streamed.stop_block()?,
            PgOutputMessage::StreamAbort { xid, subxact_xid } => streamed.abort(xid, subxact_xid),
            PgOutputMessage::StreamCommit { xid, flags, commit_lsn, end_lsn, commit_time_micros } => {
                let replay = streamed.commit(xid)?;
                let commit = PgOutputMessage::Commit { flags, commit_lsn, end_lsn, commit_time_micros };
                streaming.replay = Some((replay, commit, commit_lsn));
                let begin = PgOutputMessage::Begin { final_lsn: commit_lsn, commit_time_micros, xid };
                return self.apply_message(begin, wal_start, batch).await;
            }
            message => return self.apply_message(message, wal_start, batch).await,
        }
        Ok(Flow::Continue)
    }

    /// Decodes one message of a transaction (or its Begin/Commit) into the batch.
    async fn apply_message(
        &mut self,
        message: PgOutputMessage,
        lsn: Lsn,
        batch: &mut ChangeBatch<PgCheckpoint>,
    ) -> Result<Flow, PgError> {
        match self.decoder.apply(message, lsn, &self.client, &mut self.catalog).await? {
            Decoded::Nothing => {}
            Decoded::Events(events) => {
                for event in events {
                    if self.keep(&event) {
                        if let Some(incremental) = self.incremental.as_mut() {
                            incremental.observe(&event);
                        }
                        batch.events.push(event);
                    }
                }
            }
            Decoded::Commit { end_lsn, xid } => {
                self.emitted = self.emitted.max(end_lsn);
                batch.checkpoint = Some(PgCheckpoint::Wal(end_lsn));
                batch.complete_through = Some(end_lsn);
                if let Some(incremental) = self.incremental.as_mut() {
                    incremental.committed(xid);
                }
                if let Some(chunk) = self.close_chunk(end_lsn) {
                    self.finish_with_chunk(batch, chunk);
                    return Ok(Flow::Return);
                }
            }
        }
        Ok(Flow::Continue)
    }

    /// No change of ours is pending: none in the batch being built, no transaction open in the decoder, and every
    /// checkpoint handed out acknowledged. Only then may a keepalive's position be confirmed.
    fn nothing_in_flight(&self, batch: &ChangeBatch<PgCheckpoint>) -> bool {
        batch.events.is_empty() && !self.decoder.in_transaction() && self.emitted <= self.durable
    }

    /// Drops changes of tables not captured, and of re-snapshotted tables from before their snapshot point.
    fn keep(&self, event: &crate::change::ChangeEvent) -> bool {
        if !self.captured.contains(&event.schema.id) {
            return false;
        }
        match self.skip_before.get(&event.schema.id) {
            Some(point) => event.tx.commit_lsn >= *point,
            None => true,
        }
    }
}

impl Streaming {
    /// The next message of the streamed transaction being replayed (changes of rolled-back subtransactions
    /// skipped), then its Commit; `None` when no replay runs.
    fn next_replayed(&mut self) -> Result<Option<(PgOutputMessage, Lsn)>, PgError> {
        let Some((replay, _, _)) = &mut self.replay else { return Ok(None) };
        while let Some((lsn, bytes)) = replay.next_message()? {
            let message = pgoutput::decode(&Bytes::copy_from_slice(bytes), true).map_err(PgError::Decode)?;
            if change_xid(&message).is_some_and(|xid| replay.rolled_back(xid)) {
                continue;
            }
            return Ok(Some((message, lsn)));
        }
        Ok(self.replay.take().map(|(_, commit, at)| (commit, at)))
    }
}

/// StreamStart, StreamStop, StreamCommit and StreamAbort: the v2 messages that frame, rather than belong to, a
/// stream block.
fn is_stream_framing(message: &[u8]) -> bool {
    matches!(message.first(), Some(b'S' | b'E' | b'c' | b'A'))
}

/// The (sub)transaction of a streamed data change. Relation and Type messages are not changes: they describe
/// the schema from then on even when sent inside a subtransaction that later rolled back.
fn change_xid(message: &PgOutputMessage) -> Option<u32> {
    match message {
        PgOutputMessage::Insert { xid, .. }
        | PgOutputMessage::Update { xid, .. }
        | PgOutputMessage::Delete { xid, .. }
        | PgOutputMessage::Truncate { xid, .. }
        | PgOutputMessage::Message { xid, .. } => *xid,
        _ => None,
    }
}

impl PgSource {
    async fn ack_wal(&mut self, lsn: Lsn) -> Result<(), PgError> {
        if lsn > self.durable {
            self.durable = lsn;
            self.send_status(false).await?;
        }
        Ok(())
    }
}

impl Source for PgSource {
    type Checkpoint = PgCheckpoint;
    type Error = PgError;

    async fn next_batch(
        &mut self,
        max_events: usize,
        deadline: Instant,
    ) -> Result<Option<ChangeBatch<PgCheckpoint>>, PgError> {
        match self.phase {
            Phase::Snapshot(_) => return self.next_snapshot_batch(max_events, deadline).await.map(Some),
            Phase::Finished => return Ok(None),
            Phase::BeforeStream => {
                let stream = self.start_stream().await?;
                let memory_limit = self.config.stream_memory_limit_kb.saturating_mul(1024);
                self.phase = Phase::Streaming(Box::new(Streaming {
                    stream,
                    streamed: StreamedTransactions::new(memory_limit),
                    replay: None,
                    timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
                }));
                self.last_status = Instant::now() - Duration::from_secs(3600);
            }
            Phase::Streaming(_) => {}
        }
        self.next_stream_batch(max_events, deadline).await.map(Some)
    }

    fn recycle(&mut self, events: Vec<ChangeEvent>) {
        match &self.phase {
            Phase::Snapshot(reader) => reader.recycle(events),
            _ => self.decoder.recycle(events),
        }
    }

    async fn ack(&mut self, checkpoint: PgCheckpoint) -> Result<(), PgError> {
        match checkpoint {
            PgCheckpoint::SnapshotDone { table, lsn } => {
                setup::record_snapshot_done(&self.client, &self.config.slot_name, &table, lsn).await
            }
            PgCheckpoint::Wal(lsn) => self.ack_wal(lsn).await,
            PgCheckpoint::Chunk { table, last_key, wal } => {
                let at = wal.unwrap_or(self.durable);
                incremental::record_chunk(
                    &mut self.client,
                    &self.config.slot_name,
                    &table,
                    last_key.as_deref(),
                    at,
                )
                .await?;
                match wal {
                    Some(lsn) => self.ack_wal(lsn).await,
                    None => Ok(()),
                }
            }
        }
    }
}
