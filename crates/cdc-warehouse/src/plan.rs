//! The warehouse-neutral apply plan: a batch of changes becomes, per table and schema version, one folded row
//! per key in stream order, plus the truncates that precede them.
//!
//! Folding keeps the newest change of a key, except that a column an update did not send (TOAST `Unchanged`)
//! keeps the value an earlier change in the same batch gave it. A primary-key change is a delete of the old key
//! and an upsert of the new one.
//!
//! "Newest" is by stream position, not by place in the batch. From PostgreSQL the two agree. Read back from
//! Kafka they need not: partitions interleave freely. Our producer keeps a key's changes in one partition (a key
//! change goes out as a delete keyed by the old key and a create keyed by the new one), but a truncate goes to
//! every partition, and a Debezium-style `u` event that changes the key carries the old key's delete in the new
//! key's partition. So an older change never replaces a newer one of its key, and a truncate removes only what
//! is older than itself, including older changes that arrive after it.

use std::collections::HashMap;

use cdc_core::{ChangeEvent, Lsn, Op, Row, SchemaRef, TableId, Value};

/// A change's place in the stream: commit order first, then order within the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub commit_lsn: Lsn,
    pub event_lsn: Lsn,
}

impl Position {
    pub fn of(event: &ChangeEvent) -> Position {
        Position { commit_lsn: event.tx.commit_lsn, event_lsn: event.lsn }
    }
}

/// Whether the key ends up present or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowAction {
    Upsert,
    Delete,
}

/// The folded outcome for one key.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRow {
    pub action: RowAction,
    /// Cells in schema order; `Unchanged` = not sent, leave the warehouse value as it is.
    pub values: Vec<Value>,
    pub position: Position,
    pub op: Op,
    pub xid: u32,
    pub source_ts_micros: i64,
}

/// What to apply to one table, for one schema version.
#[derive(Debug, Clone)]
pub struct TablePlan {
    pub schema: SchemaRef,
    /// Remove every row older than this position first (a TRUNCATE in the batch).
    pub truncate: Option<Position>,
    pub rows: Vec<PlannedRow>,
    index: HashMap<String, usize>,
}

impl TablePlan {
    fn new(schema: SchemaRef) -> Self {
        TablePlan { schema, truncate: None, rows: Vec::new(), index: HashMap::new() }
    }

    /// Indexes of the key columns (every column when the table has no key).
    pub fn key_indexes(&self) -> Vec<usize> {
        key_indexes(&self.schema)
    }

    fn apply(&mut self, event: &ChangeEvent) {
        let position = Position::of(event);
        match event.op {
            Op::Truncate => {
                self.truncate = self.truncate.max(Some(position));
                self.drop_rows_older_than(position);
            }
            Op::Delete => {
                if let Some(before) = &event.before {
                    self.put(event, RowAction::Delete, before, position);
                }
            }
            Op::Insert | Op::Read | Op::Update => {
                let Some(after) = &event.after else { return };
                if let Some(before) = &event.before {
                    if self.key_of(before).is_some_and(|old| Some(old) != self.key_of(after)) {
                        self.put(event, RowAction::Delete, before, position);
                    }
                }
                self.put(event, RowAction::Upsert, after, position);
            }
        }
    }

    fn key_of(&self, row: &Row) -> Option<String> {
        let mut key = String::new();
        for i in key_indexes(&self.schema) {
            match row.get(i)? {
                // An old image without the key (REPLICA IDENTITY DEFAULT update that kept it) cannot key a row.
                Value::Unchanged => return None,
                // NULL is a legitimate key cell of a table keyed by all its columns (no primary key).
                v => key.push_str(&format!("{v:?}\u{1f}")),
            }
        }
        Some(key)
    }

    fn drop_rows_older_than(&mut self, position: Position) {
        let mut renumbered = vec![None; self.rows.len()];
        let mut kept = 0;
        for (i, row) in self.rows.iter().enumerate() {
            if row.position >= position {
                renumbered[i] = Some(kept);
                kept += 1;
            }
        }
        self.rows.retain(|row| row.position >= position);
        self.index.retain(|_, i| match renumbered[*i] {
            Some(new) => {
                *i = new;
                true
            }
            None => false,
        });
    }

    fn put(&mut self, event: &ChangeEvent, action: RowAction, row: &Row, position: Position) {
        let Some(key) = self.key_of(row) else { return };
        if self.truncate.is_some_and(|truncate| position < truncate) {
            return;
        }
        let planned = PlannedRow {
            action,
            values: row.0.clone(),
            position,
            op: event.op,
            xid: event.tx.xid,
            source_ts_micros: event.tx.commit_time_micros,
        };
        match self.index.get(&key) {
            Some(&i) => {
                let previous = &mut self.rows[i];
                if previous.position > position {
                    return;
                }
                let mut folded = planned;
                if folded.action == RowAction::Upsert && previous.action == RowAction::Upsert {
                    for (cell, old) in folded.values.iter_mut().zip(&previous.values) {
                        if matches!(cell, Value::Unchanged) {
                            *cell = old.clone();
                        }
                    }
                }
                *previous = folded;
            }
            None => {
                self.index.insert(key, self.rows.len());
                self.rows.push(planned);
            }
        }
    }
}

fn key_indexes(schema: &SchemaRef) -> Vec<usize> {
    let keys: Vec<usize> = schema.key_columns().map(|(i, _)| i).collect();
    if keys.is_empty() {
        (0..schema.columns.len()).collect()
    } else {
        keys
    }
}

/// Plans a batch. Plans come out in the order they must be applied: a table whose schema changed mid-batch gets
/// one plan per version, in stream order.
pub fn plan(events: &[ChangeEvent]) -> Vec<TablePlan> {
    let mut plans: Vec<TablePlan> = Vec::new();
    // Keyed by name, not `relation_oid`: events read back from Kafka carry a synthesized oid.
    let mut current: HashMap<&TableId, usize> = HashMap::new();
    for event in events {
        let table = &event.schema.id;
        let index = match current.get(table) {
            Some(&i) if plans[i].schema.version == event.schema.version => i,
            _ => {
                plans.push(TablePlan::new(event.schema.clone()));
                current.insert(table, plans.len() - 1);
                plans.len() - 1
            }
        };
        plans[index].apply(event);
    }
    plans
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cdc_core::{Column, PgType, ReplicaIdentity, SnapshotMarker, TableId, TableSchema, TxInfo};

    use super::*;

    fn schema() -> SchemaRef {
        let col = |name: &str, oid: u32, key: bool| Column {
            name: name.into(),
            pg_type: PgType::builtin(oid).unwrap(),
            type_modifier: -1,
            nullable: !key,
            key,
            fill_value: None,
        };
        Arc::new(TableSchema {
            relation_oid: 1,
            id: TableId::new("public", "t"),
            columns: vec![col("id", 23, true), col("body", 25, false), col("n", 23, false)],
            replica_identity: ReplicaIdentity::Default,
            version: 1,
        })
    }

    fn event(op: Op, lsn: u64, before: Option<Vec<Value>>, after: Option<Vec<Value>>) -> ChangeEvent {
        ChangeEvent {
            op,
            schema: schema(),
            before: before.map(Row),
            after: after.map(Row),
            lsn: Lsn::new(lsn),
            tx: TxInfo {
                xid: 9,
                commit_lsn: Lsn::new(lsn),
                commit_time_micros: 0,
                total_order: 1,
                table_order: 1,
            },
            snapshot: SnapshotMarker::No,
            origin: None,
        }
    }

    fn row(id: i32, body: Value, n: i32) -> Option<Vec<Value>> {
        Some(vec![Value::Int32(id), body, Value::Int32(n)])
    }

    #[test]
    fn the_last_change_of_a_key_wins_and_keeps_earlier_toast_values() {
        let text = |s: &str| Value::Text(s.into());
        let events = vec![
            event(Op::Insert, 10, None, row(1, text("big"), 1)),
            event(Op::Update, 20, None, row(1, Value::Unchanged, 2)),
            event(Op::Insert, 30, None, row(2, text("x"), 1)),
        ];
        let plans = plan(&events);
        assert_eq!(plans.len(), 1);
        let rows = &plans[0].rows;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].values, row(1, text("big"), 2).unwrap());
        assert_eq!(rows[0].position.commit_lsn, Lsn::new(20));
    }

    #[test]
    fn a_key_change_deletes_the_old_key() {
        let text = |s: &str| Value::Text(s.into());
        let events = vec![event(Op::Update, 10, row(1, Value::Null, 0), row(5, text("a"), 1))];
        let rows = &plan(&events)[0].rows;
        assert_eq!(rows.iter().map(|r| r.action).collect::<Vec<_>>(), [RowAction::Delete, RowAction::Upsert]);
        assert_eq!(rows[0].values[0], Value::Int32(1));
    }

    #[test]
    fn a_truncate_drops_what_came_before_it_in_the_batch() {
        let events = vec![
            event(Op::Insert, 10, None, row(1, Value::Null, 1)),
            event(Op::Truncate, 20, None, None),
            event(Op::Insert, 30, None, row(2, Value::Null, 1)),
        ];
        let plans = plan(&events);
        assert_eq!(plans[0].truncate.map(|p| p.commit_lsn), Some(Lsn::new(20)));
        assert_eq!(plans[0].rows.len(), 1);
    }

    #[test]
    fn a_delete_after_an_insert_leaves_a_delete() {
        let events = vec![
            event(Op::Insert, 10, None, row(1, Value::Null, 1)),
            event(Op::Delete, 20, row(1, Value::Null, 0), None),
        ];
        let rows = &plan(&events)[0].rows;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].action, RowAction::Delete);
    }

    /// Kafka partitions interleave: a key-changing `u` event carries the old key's delete in the new key's partition.
    #[test]
    fn an_older_change_read_late_never_replaces_a_newer_one() {
        let events = vec![
            event(Op::Insert, 30, None, row(1, Value::Null, 3)),
            // A key change 1 → 2 at 20, from another partition, read after the re-insert of key 1 at 30.
            event(Op::Update, 20, row(1, Value::Null, 1), row(2, Value::Null, 1)),
        ];
        let plans = plan(&events);
        let rows = &plans[0].rows;
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].action, rows[0].position.commit_lsn), (RowAction::Upsert, Lsn::new(30)));
        assert_eq!(rows[1].values[0], Value::Int32(2));
    }

    #[test]
    fn a_truncate_keeps_newer_rows_read_before_it_and_drops_older_rows_read_after_it() {
        let events = vec![
            event(Op::Insert, 50, None, row(5, Value::Null, 1)),
            event(Op::Insert, 10, None, row(6, Value::Null, 1)),
            event(Op::Truncate, 40, None, None),
            event(Op::Insert, 30, None, row(7, Value::Null, 1)),
            event(Op::Insert, 60, None, row(8, Value::Null, 1)),
        ];
        let plans = plan(&events);
        assert_eq!(plans[0].truncate.map(|p| p.commit_lsn), Some(Lsn::new(40)));
        let ids: Vec<&Value> = plans[0].rows.iter().map(|r| &r.values[0]).collect();
        assert_eq!(ids, [&Value::Int32(5), &Value::Int32(8)]);
    }
}
