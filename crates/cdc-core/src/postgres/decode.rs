//! From pgoutput messages to [`ChangeEvent`]s: the relation cache (schema versions), transaction context
//! (xid, commit LSN and time, event order) and tuple → typed row conversion.

use std::collections::HashMap;
use std::sync::Arc;

use tokio_postgres::Client;

use super::catalog::{Catalog, RawColumn, TableInfo};
use super::error::PgError;
use crate::change::{ChangeEvent, Op, Row, SnapshotMarker, TxInfo};
use crate::lsn::Lsn;
use crate::pgoutput::{OldTuple, PgOutputMessage, RelationBody, TupleCell, TupleData};
use crate::schema::{SchemaRef, TableSchema};
use crate::value::{parse_text_owned, Value};

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
}

impl StreamDecoder {
    /// Seeds the relation cache with the schemas the snapshot used, so identical shapes keep their version.
    pub fn seed(&mut self, schema: SchemaRef) {
        self.relations.insert(schema.relation_oid, schema);
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
                let after = tuple_row(&schema, new)?;
                Ok(Decoded::Events(vec![self.event(Op::Insert, schema, None, Some(after), lsn)?]))
            }
            PgOutputMessage::Update { relation_oid, old, new, .. } => {
                let schema = self.schema(relation_oid)?;
                let old_is_full = matches!(old, Some(OldTuple::Full(_)));
                let before = old.map(|o| old_row(&schema, o)).transpose()?;
                let mut after = tuple_row(&schema, new)?;
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
                let before = old_row(&schema, old)?;
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

fn old_row(schema: &TableSchema, old: OldTuple) -> Result<Row, PgError> {
    match old {
        OldTuple::Key(t) | OldTuple::Full(t) => tuple_row(schema, t),
    }
}

/// Converts a tuple to a typed row in the schema's column order, taking over the cells' bytes.
fn tuple_row(schema: &TableSchema, tuple: TupleData) -> Result<Row, PgError> {
    if tuple.0.len() != schema.columns.len() {
        return Err(PgError::Protocol(format!(
            "tuple for {} has {} columns, its schema {}",
            schema.id,
            tuple.0.len(),
            schema.columns.len()
        )));
    }
    let mut values = Vec::with_capacity(tuple.0.len());
    for (cell, column) in tuple.0.into_iter().zip(&schema.columns) {
        let value = match cell {
            TupleCell::Null => Value::Null,
            TupleCell::UnchangedToast => Value::Unchanged,
            TupleCell::Text(bytes) | TupleCell::Binary(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| {
                    PgError::Protocol(format!("column {} of {} is not valid UTF-8", column.name, schema.id))
                })?;
                parse_text_owned(&column.pg_type, text).map_err(|source| PgError::Value {
                    table: schema.id.to_string(),
                    column: column.name.clone(),
                    source,
                })?
            }
        };
        values.push(value);
    }
    Ok(Row(values))
}
