//! From pgoutput messages to [`ChangeEvent`]s: the relation cache (schema versions), transaction context
//! (xid, commit LSN and time, event order) and tuple → typed row conversion.

use std::collections::HashMap;
use std::sync::Arc;

use tokio_postgres::Client;

use super::catalog::{Catalog, RawColumn, TableInfo};
use super::error::PgError;
use super::spare_rows::{self, SpareRows};
use crate::change::{ChangeEvent, Op, Row, SnapshotMarker, TxInfo};
use crate::lsn::Lsn;
use crate::pgoutput::{OldTuple, PgOutputMessage, RelationBody, TupleCell, TupleData};
use crate::schema::{SchemaRef, TableSchema};
use crate::value::{parse_text_into, Value};

/// What one pgoutput message amounts to.
#[derive(Debug)]
pub enum Decoded {
    /// Nothing for the sink (Begin, Relation, Type, Origin, a logical message).
    Nothing,
    Events(Vec<ChangeEvent>),
    /// A transaction ended: acknowledging `end_lsn` once its events are durable loses nothing.
    Commit {
        end_lsn: Lsn,
        xid: u32,
    },
}

#[derive(Debug)]
struct OpenTx {
    xid: u32,
    final_lsn: Lsn,
    commit_time_micros: i64,
    total: u64,
    per_table: HashMap<u32, u64>,
}

/// Decoding state of one replication session.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    relations: HashMap<u32, SchemaRef>,
    tx: Option<OpenTx>,
    /// Rows of events the sink is done with ([`StreamDecoder::recycle`]), refilled by the next tuples; at most
    /// a batch's worth.
    spare_rows: SpareRows<8192>,
}

impl StreamDecoder {
    /// Seeds the relation cache with the schemas the snapshot used, so identical shapes keep their version.
    pub fn seed(&mut self, schema: SchemaRef) {
        self.relations.insert(schema.relation_oid, schema);
    }

    /// Takes back the rows of events the sink is done with, to refill them.
    pub fn recycle(&mut self, events: Vec<ChangeEvent>) {
        self.spare_rows.keep(events.into_iter().flat_map(|event| [event.before, event.after]).flatten());
    }

    fn tuple_row(&mut self, schema: &TableSchema, tuple: TupleData) -> Result<Row, PgError> {
        tuple_row(schema, tuple, self.spare_rows.take())
    }

    fn old_row(&mut self, schema: &TableSchema, old: OldTuple) -> Result<Row, PgError> {
        match old {
            OldTuple::Key(tuple) | OldTuple::Full(tuple) => self.tuple_row(schema, tuple),
        }
    }

    pub fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }

    /// The current schema of a relation, if a Relation message (or the snapshot) described it.
    pub fn relation(&self, oid: u32) -> Option<&SchemaRef> {
        self.relations.get(&oid)
    }

    pub async fn apply(
        &mut self,
        message: PgOutputMessage,
        lsn: Lsn,
        client: &Client,
        catalog: &mut Catalog,
    ) -> Result<Decoded, PgError> {
        match message {
            PgOutputMessage::Begin { final_lsn, commit_time_micros, xid } => {
                self.tx =
                    Some(OpenTx { xid, final_lsn, commit_time_micros, total: 0, per_table: HashMap::new() });
                Ok(Decoded::Nothing)
            }
            PgOutputMessage::Commit { end_lsn, .. } => {
                let xid = self.tx.take().map_or(0, |tx| tx.xid);
                Ok(Decoded::Commit { end_lsn, xid })
            }
            PgOutputMessage::Relation(body) => {
                self.on_relation(body, client, catalog).await?;
                Ok(Decoded::Nothing)
            }
            PgOutputMessage::Type { oid, .. } => {
                catalog.forget_type(oid);
                Ok(Decoded::Nothing)
            }
            PgOutputMessage::Insert { relation_oid, new, .. } => {
                let schema = self.schema(relation_oid)?;
                let after = self.tuple_row(&schema, new)?;
                Ok(Decoded::Events(vec![self.event(Op::Insert, schema, None, Some(after), lsn)?]))
            }
            PgOutputMessage::Update { relation_oid, old, new, .. } => {
                let schema = self.schema(relation_oid)?;
                let old_is_full = matches!(old, Some(OldTuple::Full(_)));
                let before = old.map(|o| self.old_row(&schema, o)).transpose()?;
                let mut after = self.tuple_row(&schema, new)?;
                // With REPLICA IDENTITY FULL the old tuple holds the real value of a TOASTed column the update did
                // not touch; use it rather than reporting the column as unchanged.
                if let (true, Some(before)) = (old_is_full, &before) {
                    for (cell, old_value) in after.0.iter_mut().zip(&before.0) {
                        if matches!(cell, Value::Unchanged) && !matches!(old_value, Value::Unchanged) {
                            *cell = old_value.clone();
                        }
                    }
                }
                Ok(Decoded::Events(vec![self.event(Op::Update, schema, before, Some(after), lsn)?]))
            }
            PgOutputMessage::Delete { relation_oid, old, .. } => {
                let schema = self.schema(relation_oid)?;
                let before = self.old_row(&schema, old)?;
                Ok(Decoded::Events(vec![self.event(Op::Delete, schema, Some(before), None, lsn)?]))
            }
            PgOutputMessage::Truncate { relation_oids, .. } => {
                let mut events = Vec::with_capacity(relation_oids.len());
                for oid in relation_oids {
                    let schema = self.schema(oid)?;
                    events.push(self.event(Op::Truncate, schema, None, None, lsn)?);
                }
                Ok(Decoded::Events(events))
            }
            PgOutputMessage::Origin { .. } | PgOutputMessage::Message { .. } => Ok(Decoded::Nothing),
            PgOutputMessage::StreamStart { .. }
            | PgOutputMessage::StreamStop
            | PgOutputMessage::StreamCommit { .. }
            | PgOutputMessage::StreamAbort { .. } => Err(PgError::Protocol(
                "protocol v2 stream framing must be handled by the source's stream buffer, not decoded"
                    .into(),
            )),
        }
    }

    async fn on_relation(
        &mut self,
        body: RelationBody,
        client: &Client,
        catalog: &mut Catalog,
    ) -> Result<(), PgError> {
        // A table dropped since this WAL was written has no catalog entry any more: describe it from the Relation
        // message alone (its replica-identity columns as the key), so decoding goes on.
        let info = match catalog.table(client, body.oid).await? {
            Some(info) => info,
            None => TableInfo {
                oid: body.oid,
                id: crate::schema::TableId::new(body.namespace.clone(), body.name.clone()),
                replica_identity: body.replica_identity,
                primary_key: body.columns.iter().filter(|c| c.is_key).map(|c| c.name.clone()).collect(),
                not_null: Vec::new(),
                fill_values: Vec::new(),
                columns: Vec::new(),
            },
        };
        let columns: Vec<RawColumn> = body
            .columns
            .iter()
            .map(|c| RawColumn {
                name: c.name.clone(),
                type_oid: c.type_oid,
                type_modifier: c.type_modifier,
                identity: c.is_key,
            })
            .collect();
        let mut schema: TableSchema = catalog.schema(client, &info, &columns, body.replica_identity).await?;
        schema.id = crate::schema::TableId::new(body.namespace, body.name);
        match self.relations.get(&body.oid) {
            Some(existing) if existing.same_shape(&schema) => {}
            existing => {
                schema.version = existing.map_or(1, |e| e.version + 1);
                if let Some(previous) = existing {
                    tracing::info!(table = %schema.id, version = schema.version, previous = previous.version,
                        "table schema changed");
                }
                self.relations.insert(body.oid, Arc::new(schema));
            }
        }
        Ok(())
    }

    fn schema(&self, oid: u32) -> Result<SchemaRef, PgError> {
        self.relations.get(&oid).cloned().ok_or_else(|| {
            PgError::Protocol(format!("change for relation {oid} before its Relation message"))
        })
    }

    fn event(
        &mut self,
        op: Op,
        schema: SchemaRef,
        before: Option<Row>,
        after: Option<Row>,
        lsn: Lsn,
    ) -> Result<ChangeEvent, PgError> {
        let tx = self.tx.as_mut().ok_or_else(|| PgError::Protocol("change outside a transaction".into()))?;
        tx.total += 1;
        let table_order = tx.per_table.entry(schema.relation_oid).or_insert(0);
        *table_order += 1;
        Ok(ChangeEvent {
            op,
            before,
            after,
            lsn,
            tx: TxInfo {
                xid: tx.xid,
                commit_lsn: tx.final_lsn,
                commit_time_micros: tx.commit_time_micros,
                total_order: tx.total,
                table_order: *table_order,
            },
            snapshot: SnapshotMarker::No,
            origin: None,
            schema,
        })
    }
}

/// Converts a tuple to a typed row in the schema's column order, refilling `spare`'s cells (a recycled row, or
/// an empty one); the cells are slices of the message, parsed in place.
fn tuple_row(schema: &TableSchema, tuple: TupleData, spare: Row) -> Result<Row, PgError> {
    if tuple.0.len() != schema.columns.len() {
        return Err(PgError::Protocol(format!(
            "tuple for {} has {} columns, its schema {}",
            schema.id,
            tuple.0.len(),
            schema.columns.len()
        )));
    }
    let mut values = spare_rows::cells(spare, schema.columns.len());
    for ((cell, column), value) in tuple.0.into_iter().zip(&schema.columns).zip(&mut values) {
        match cell {
            TupleCell::Null => *value = Value::Null,
            TupleCell::UnchangedToast => *value = Value::Unchanged,
            TupleCell::Text(bytes) | TupleCell::Binary(bytes) => {
                let text = std::str::from_utf8(&bytes).map_err(|_| {
                    PgError::Protocol(format!("column {} of {} is not valid UTF-8", column.name, schema.id))
                })?;
                parse_text_into(&column.pg_type, text, value).map_err(|source| PgError::Value {
                    table: schema.id.to_string(),
                    column: column.name.clone(),
                    source,
                })?;
            }
        }
    }
    Ok(Row(values))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::tuple_row;
    use crate::change::Row;
    use crate::pgoutput::{TupleCell, TupleData};
    use crate::pgtype::{PgType, TypeKind};
    use crate::schema::{Column, ReplicaIdentity, TableId, TableSchema};
    use crate::value::{Numeric, Value};

    fn table() -> TableSchema {
        let column = |name: &str, kind: TypeKind| Column {
            name: name.into(),
            pg_type: PgType::new(0, "t", kind),
            type_modifier: -1,
            nullable: true,
            key: false,
            fill_value: None,
        };
        TableSchema {
            relation_oid: 1,
            id: TableId::new("public", "t"),
            columns: vec![
                column("id", TypeKind::Int8),
                column("name", TypeKind::Text),
                column("note", TypeKind::Text),
            ],
            replica_identity: ReplicaIdentity::Default,
            version: 1,
        }
    }

    #[test]
    fn recycled_rows_are_refilled_from_the_message_whatever_they_held() {
        let message = Bytes::from_static(b"7ann");
        let tuple = || {
            TupleData(vec![
                TupleCell::Text(message.slice(0..1)),
                TupleCell::Text(message.slice(1..4)),
                TupleCell::UnchangedToast,
            ])
        };
        let want = Row(vec![Value::Int64(7), Value::Text("ann".into()), Value::Unchanged]);
        let spares = [
            Row::default(),
            Row(vec![Value::Int64(1), Value::Text("a longer earlier name".into()), Value::Text("x".into())]),
            Row(vec![Value::Text("x".into()); 5]),
            Row(vec![Value::Numeric(Numeric::NaN)]),
        ];
        for spare in spares {
            assert_eq!(
                tuple_row(&table(), tuple(), spare.clone()).expect("a valid tuple"),
                want,
                "refilling {spare:?}"
            );
        }
        let short = TupleData(vec![TupleCell::Null]);
        let error = tuple_row(&table(), short, Row(vec![Value::Null; 3])).expect_err("a tuple of one cell");
        assert!(error.to_string().contains("has 1 columns, its schema 3"), "{error}");
    }
}
