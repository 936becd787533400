//! Events read from Kafka (`cdc load`): progress by topic-partition offset, and loaders sharing one file.

use std::sync::Arc;

use cdc_core::{
    ChangeBatch, ChangeEvent, Column, LogOffset, Lsn, Op, PgType, ReplicaIdentity, Row, Sink, SnapshotMarker,
    TableId, TableSchema, TxInfo, Value,
};
use cdc_warehouse::duckdb::{DuckDbConfig, DuckDbSink};

use crate::support::duck_dump;

fn schema() -> Arc<TableSchema> {
    let col = |name: &str, oid: u32, key: bool| Column {
        name: name.into(),
        pg_type: PgType::builtin(oid).unwrap(),
        type_modifier: -1,
        nullable: !key,
        key,
        fill_value: None,
    };
    Arc::new(TableSchema {
        relation_oid: 7,
        id: TableId::new("public", "t"),
        columns: vec![col("id", 23, true), col("v", 25, false)],
        replica_identity: ReplicaIdentity::Default,
        version: 1,
    })
}

/// A change of key `id` read from partition `partition` at `offset`; LSNs grow with the offset so the
/// position guard alone would not stop a replay.
fn event(op: Op, id: i32, v: &str, partition: i32, offset: i64, lsn: u64) -> ChangeEvent {
    let row = Some(Row(vec![Value::Int32(id), Value::Text(v.into())]));
    ChangeEvent {
        op,
        schema: schema(),
        before: if op == Op::Delete { row.clone() } else { None },
        after: if op == Op::Delete { None } else { row },
        lsn: Lsn::new(lsn),
        tx: TxInfo {
            xid: 1,
            commit_lsn: Lsn::new(lsn),
            commit_time_micros: 0,
            total_order: 1,
            table_order: 1,
        },
        snapshot: SnapshotMarker::No,
        origin: Some(LogOffset { topic: "cdc.t".into(), partition, offset }),
    }
}

async fn apply(sink: &mut DuckDbSink, events: Vec<ChangeEvent>) {
    sink.write(&ChangeBatch::<()>::new(events, None)).await.unwrap();
    sink.flush().await.unwrap();
}

#[tokio::test]
async fn two_loaders_sharing_a_file_skip_what_the_other_applied_and_never_resurrect_a_delete() {
    let dir = tempfile::tempdir().unwrap();
    let config = DuckDbConfig { path: dir.path().join("w.duckdb"), exclusive: false, ..Default::default() };
    let mut a = DuckDbSink::open(config.clone()).unwrap();
    let mut b = DuckDbSink::open(config.clone()).unwrap();

    // Loader A applies partition 0 up to a delete of key 1.
    let partition0 = vec![
        event(Op::Insert, 1, "one", 0, 0, 100),
        event(Op::Insert, 2, "two", 0, 1, 200),
        event(Op::Delete, 1, "one", 0, 2, 300),
    ];
    apply(&mut a, partition0.clone()).await;
    // A crashed before committing its Kafka offsets: B, which opened the file before A's commit, is handed
    // partition 0 and reads it again from the start. Replayed alone, the insert of key 1 would come back.
    apply(&mut b, partition0[..1].to_vec()).await;
    apply(&mut b, vec![event(Op::Update, 2, "two'", 0, 3, 400), event(Op::Insert, 3, "three", 1, 0, 150)])
        .await;
    let rows = duck_dump(&config.path, "SELECT id::text, v FROM public.t ORDER BY id");
    assert_eq!(
        rows,
        [vec![Some("2".into()), Some("two'".into())], vec![Some("3".into()), Some("three".into())]]
    );
    drop((a, b));
    let reopened = DuckDbSink::open(config).unwrap();
    let mut offsets: Vec<_> = reopened.applied_offsets().iter().map(|(k, v)| (k.clone(), *v)).collect();
    offsets.sort();
    assert_eq!(offsets, [(("cdc.t".to_owned(), 0), 4), (("cdc.t".to_owned(), 1), 1)]);
}
