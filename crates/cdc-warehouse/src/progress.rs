//! What a warehouse holds, and what a batch moves it to: the rule both sinks apply before and after a commit.
//!
//! Two kinds of position, by where the events came from:
//! - read from PostgreSQL (`cdc run`): the newest streamed change's [`Position`];
//! - read from Kafka (`cdc load`, events with an [`origin`](cdc_core::ChangeEvent::origin)): the next offset of
//!   each topic partition. LSNs cannot serve there: partitions are consumed at different paces.

use std::collections::HashMap;

use cdc_core::{ChangeEvent, SnapshotMarker};

use crate::plan::Position;

/// Next offset per (topic, partition).
pub type LogOffsets = HashMap<(String, i32), i64>;

/// Whether `event` is in the warehouse already: a log record below its partition's recorded offset, or a
/// streamed change before the recorded position. Snapshot events from PostgreSQL (rows, and the truncate before
/// a redone table) always go through: the MERGE's position guard sorts them out.
pub fn already_applied(event: &ChangeEvent, applied: Option<Position>, offsets: &LogOffsets) -> bool {
    match &event.origin {
        Some(origin) => offsets
            .get(&(origin.topic.to_string(), origin.partition))
            .is_some_and(|&next| origin.offset < next),
        None => event.snapshot == SnapshotMarker::No && applied.is_some_and(|a| Position::of(event) < a),
    }
}

/// The position `fresh` moves the warehouse to from `applied`, and the next offsets of the partitions it read.
/// Snapshot rows never move the position: a table re-snapshotted at a later point must not make the sink skip
/// older changes of other tables.
pub fn reached(fresh: &[ChangeEvent], applied: Option<Position>) -> (Option<Position>, LogOffsets) {
    let streamed = fresh
        .iter()
        .filter(|e| e.origin.is_none() && e.snapshot == SnapshotMarker::No)
        .map(Position::of)
        .max();
    let mut offsets = LogOffsets::new();
    for origin in fresh.iter().filter_map(|e| e.origin.as_ref()) {
        let next = offsets.entry((origin.topic.to_string(), origin.partition)).or_default();
        *next = (*next).max(origin.offset + 1);
    }
    (applied.max(streamed), offsets)
}
