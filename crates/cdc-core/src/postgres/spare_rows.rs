//! Rows whose events the sink is done with ([`crate::source::Source::recycle`]), kept for the snapshot workers
//! and the stream decoder to refill in place ([`crate::value::parse_text_into`]): a refilled row keeps its
//! `Vec` and its text cells' allocations, so a steady reader allocates next to nothing per row.

use crate::change::Row;
use crate::value::Value;

/// Heap a kept row may hold ([`Row::heap_bytes`]): rows of large values are dropped, not kept.
const MAX_ROW_HEAP_BYTES: usize = 8 * 1024;

/// At most `LIMIT` spare rows, each holding little; what does not fit is dropped.
#[derive(Debug, Default)]
pub(super) struct SpareRows<const LIMIT: usize> {
    rows: Vec<Row>,
}

impl<const LIMIT: usize> SpareRows<LIMIT> {
    pub(super) fn keep(&mut self, rows: impl IntoIterator<Item = Row>) {
        let room = LIMIT.saturating_sub(self.rows.len());
        let small = |row: &Row| row.heap_bytes() <= MAX_ROW_HEAP_BYTES;
        self.rows.extend(rows.into_iter().filter(small).take(room));
    }

    /// A row to refill, or an empty one.
    pub(super) fn take(&mut self) -> Row {
        self.rows.pop().unwrap_or_default()
    }

    /// Up to `n` rows, appended to `into`.
    pub(super) fn take_into(&mut self, n: usize, into: &mut Vec<Row>) {
        let keep = self.rows.len().saturating_sub(n);
        into.extend(self.rows.drain(keep..));
    }
}

/// `spare`'s cells, `columns` of them, for a reader that overwrites every one.
pub(super) fn cells(spare: Row, columns: usize) -> Vec<Value> {
    let mut cells = spare.0;
    cells.resize(columns, Value::Null);
    cells
}
