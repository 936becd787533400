//! Incremental snapshots: a table that joins a running capture is read in key chunks between streamed
//! transactions, under concurrent writes, and a crash resumes from the last durable chunk.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cdc_core::config::{SnapshotMode, SnapshotNewTables, SourceConfig};
use cdc_core::postgres::{PgCheckpoint, PgSource};
use cdc_core::source::Source;
use cdc_core::{ChangeEvent, Lsn, Op, SnapshotMarker, Value};

use crate::support::TestDb;

/// Rows of `b` (as created below) and the chunk size: 400 chunks, so a crash after 8 is mid-way.
const ROWS: i32 = 20_000;
const CHUNK: usize = 50;

/// A table image as a warehouse keeps it: per key the newest position seen and the row then (`None` = deleted).
/// A change older than what a key holds is ignored, as the warehouse MERGE's position guard does, so a replay
/// after a crash cannot move a row back.
#[derive(Default, Clone)]
struct Image {
    rows: HashMap<String, ((Lsn, Lsn), Option<String>)>,
}

impl Image {
    fn apply(&mut self, event: &ChangeEvent) {
        let position = (event.tx.commit_lsn, event.lsn);
        let key = |row: &cdc_core::Row| -> String {
            event.schema.key_columns().map(|(i, _)| format!("{:?}|", row.0[i])).collect()
        };
        let mut put = |k: String, v: Option<String>| {
            let newer = self.rows.get(&k).is_none_or(|(held, _)| position > *held);
            if newer {
                self.rows.insert(k, (position, v));
            }
        };
        match event.op {
            Op::Read | Op::Insert | Op::Update => {
                let after = event.after.as_ref().expect("after");
                if let Some(before) = &event.before {
                    if key(before) != key(after) {
                        put(key(before), None);
                    }
                }
                let v = event.schema.column_index("v").map(|i| format!("{:?}", after.0[i]));
                put(key(after), v);
            }
            Op::Delete => put(key(event.before.as_ref().expect("before")), None),
            Op::Truncate => panic!("no truncates in this test"),
        }
    }

    fn present(&self) -> BTreeMap<String, String> {
        self.rows.iter().filter_map(|(k, (_, v))| v.clone().map(|v| (k.clone(), v))).collect()
    }
}

async fn source_image(client: &tokio_postgres::Client, table: &str, key: &str) -> BTreeMap<String, String> {
    let rows = client.query(&format!("SELECT {key}, v FROM {table}"), &[]).await.unwrap();
    rows.into_iter()
        .map(|r| {
            let k = if key.contains(',') {
                format!("{:?}|{:?}|", Value::Text(r.get(0)), Value::Int32(r.get(1)))
            } else {
                format!("{:?}|", Value::Int32(r.get(0)))
            };
            let v: String = r.get(if key.contains(',') { 2 } else { 1 });
            (k, format!("{:?}", Value::Text(v)))
        })
        .collect()
}

/// Random single-statement transactions on `a`, `b` and `c`, including key changes on `b`; most aim at the keys
/// just after `hot` (the chunk being read), where a change racing with the chunk matters.
fn random_write(rng: &mut fastrand::Rng, i: u32, hot: i32) -> String {
    let id = if rng.bool() { hot + rng.i32(1..=CHUNK as i32) } else { rng.i32(1..=ROWS + ROWS / 10) };
    match rng.u32(0..8) {
        0 => format!("INSERT INTO a VALUES ({id}, 'a{i}') ON CONFLICT (id) DO UPDATE SET v = 'a-upd{i}'"),
        1 => format!("INSERT INTO b VALUES ({id}, 'new{i}') ON CONFLICT (id) DO UPDATE SET v = 'ins{i}'"),
        2 | 3 => format!("UPDATE b SET v = 'upd{i}' WHERE id = {id}"),
        4 => format!("DELETE FROM b WHERE id = {id}"),
        5 => format!(
            "UPDATE b SET id = {} WHERE id = {id} AND NOT EXISTS (SELECT 1 FROM b WHERE id = {})",
            id + 2 * ROWS,
            id + 2 * ROWS
        ),
        6 => format!("UPDATE c SET v = 'c{i}' WHERE k1 = 'k''{}' AND k2 = {}", id % 40, id % 10),
        _ => format!(
            "BEGIN; UPDATE b SET v = 'tx{i}' WHERE id = {id}; DELETE FROM b WHERE id = {}; COMMIT",
            id + 1
        ),
    }
}

struct Images {
    a: Image,
    b: Image,
    c: Image,
}

impl Images {
    fn apply(&mut self, events: &[ChangeEvent]) {
        for e in events {
            match e.schema.id.name.as_str() {
                "a" => self.a.apply(e),
                "b" => self.b.apply(e),
                "c" => self.c.apply(e),
                other => panic!("event of {other}"),
            }
        }
    }
}

fn config(db: &TestDb, tables: &[&str]) -> SourceConfig {
    SourceConfig {
        snapshot_new_tables: SnapshotNewTables::Incremental,
        incremental_chunk_size: CHUNK,
        ..db.source_config(tables, SnapshotMode::Initial)
    }
}

#[tokio::test]
async fn a_table_added_later_is_read_in_chunks_while_streaming_and_resumes_after_a_crash() {
    let db = TestDb::new(
        "CREATE TABLE a (id int PRIMARY KEY, v text NOT NULL);
         CREATE TABLE b (id int PRIMARY KEY, v text NOT NULL);
         CREATE TABLE c (k1 text, k2 int, v text NOT NULL, PRIMARY KEY (k1, k2));
         INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 50) g;
         INSERT INTO b SELECT g, 'b' || g FROM generate_series(1, 20000) g;
         INSERT INTO c SELECT 'k''' || (g % 40), g / 40, 'c' || g FROM generate_series(0, 399) g;",
    )
    .await;
    let deadline = || Instant::now() + Duration::from_millis(300);
    let mut images = Images { a: Image::default(), b: Image::default(), c: Image::default() };

    // 1. Capture `a` alone: its initial snapshot.
    let mut source = PgSource::start(db.pg_config(), config(&db, &["a"])).await.unwrap();
    while images.a.present().len() < 50 {
        let batch = source.next_batch(1000, deadline()).await.unwrap().unwrap();
        images.apply(&batch.events);
        if let Some(checkpoint) = batch.checkpoint {
            source.ack(checkpoint).await.unwrap();
        }
    }
    drop(source);

    // 2. `b` and `c` join while a writer keeps all three tables busy.
    let stop_writer = Arc::new(AtomicBool::new(false));
    let writer_client = db.cluster.connect("app").await;
    let stop = stop_writer.clone();
    let hot = Arc::new(AtomicI32::new(0));
    let hot_key = hot.clone();
    let writer = tokio::spawn(async move {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut i = 0;
        // A steady load (about 500 transactions/s), not a flood a debug build could never catch up with.
        let mut pace = tokio::time::interval(Duration::from_millis(2));
        while !stop.load(Ordering::Relaxed) {
            pace.tick().await;
            writer_client
                .batch_execute(&random_write(&mut rng, i, hot_key.load(Ordering::Relaxed)))
                .await
                .unwrap();
            i += 1;
        }
        i
    });
    let both = config(&db, &["a", "b", "c"]);
    let mut source = PgSource::start(db.pg_config(), both.clone()).await.unwrap();
    let mut inline = fastrand::Rng::with_seed(11);
    let mut chunks_of_b = 0;
    let mut reads_before_crash = 0;
    while chunks_of_b < 8 {
        let batch = source.next_batch(1000, deadline()).await.unwrap().unwrap();
        assert!(batch.events.iter().all(|e| e.op != Op::Read || e.snapshot == SnapshotMarker::Incremental));
        reads_before_crash += batch.events.iter().filter(|e| e.op == Op::Read).count();
        images.apply(&batch.events);
        if let Some(checkpoint) = batch.checkpoint {
            if let PgCheckpoint::Chunk { table, last_key: Some(key), .. } = &checkpoint {
                if table.name == "b" {
                    chunks_of_b += 1;
                    hot.store(key[0].parse().unwrap(), Ordering::Relaxed);
                }
            }
            source.ack(checkpoint).await.unwrap();
        }
        db.client.batch_execute(&random_write(&mut inline, 100_000 + chunks_of_b, 0)).await.unwrap();
    }
    assert!(reads_before_crash >= 6 * CHUNK, "8 chunks of b were read ({reads_before_crash} reads)");
    // One more chunk reaches the sink but the crash comes before it is acknowledged.
    loop {
        let batch = source.next_batch(1000, deadline()).await.unwrap().unwrap();
        images.apply(&batch.events);
        if matches!(batch.checkpoint, Some(PgCheckpoint::Chunk { .. })) {
            break;
        }
    }
    drop(source);
    let resume_after: Vec<String> = db
        .client
        .query_one("SELECT last_key FROM cdc_incremental_snapshot WHERE table_name = 'b'", &[])
        .await
        .unwrap()
        .get(0);
    let resume_after: i32 = resume_after[0].parse().unwrap();
    assert!(
        resume_after >= 8 * CHUNK as i32,
        "the progress of 8 chunks is recorded (last key {resume_after})"
    );

    // 3. Restart: b resumes after its last durable chunk; a and c go on; the writer stops midway.
    let mut source = PgSource::start(db.pg_config(), both).await.unwrap();
    let mut b_reads = Vec::new();
    let mut finished = false;
    let started = Instant::now();
    let mut expected = None;
    let mut writer = Some(writer);
    let mut writes = 0;
    loop {
        let batch = source.next_batch(1000, deadline()).await.unwrap().unwrap();
        for e in batch.events.iter().filter(|e| e.op == Op::Read && e.schema.id.name == "b") {
            let Value::Int32(id) = e.after.as_ref().unwrap().0[0] else { panic!("id") };
            b_reads.push(id);
        }
        images.apply(&batch.events);
        if let Some(checkpoint) = batch.checkpoint {
            match &checkpoint {
                PgCheckpoint::Chunk { table, last_key: None, .. } if table.name == "c" => finished = true,
                PgCheckpoint::Chunk { table, last_key: Some(key), .. } if table.name == "b" => {
                    hot.store(key[0].parse().unwrap(), Ordering::Relaxed)
                }
                _ => {}
            }
            source.ack(checkpoint).await.unwrap();
        }
        if let Some(running) = writer.take_if(|_| finished) {
            stop_writer.store(true, Ordering::Relaxed);
            writes = running.await.unwrap();
            expected = Some((
                source_image(&db.client, "a", "id").await,
                source_image(&db.client, "b", "id").await,
                source_image(&db.client, "c", "k1, k2").await,
            ));
        }
        if let Some((a, b, c)) = &expected {
            if images.a.present() == *a && images.b.present() == *b && images.c.present() == *c {
                break;
            }
        }
        if started.elapsed() > Duration::from_secs(120) {
            let (a, b, c) = expected.as_ref().expect("the snapshot finished");
            for (name, image, want) in [("a", &images.a, a), ("b", &images.b, b), ("c", &images.c, c)] {
                let got = image.present();
                let wrong: Vec<_> = want.iter().filter(|(k, v)| got.get(*k) != Some(v)).take(5).collect();
                let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).take(5).collect();
                eprintln!(
                    "{name}: {} rows, want {}; wrong {wrong:?}; extra {extra:?}",
                    got.len(),
                    want.len()
                );
                for (k, _) in &wrong {
                    eprintln!("  {k}: {:?}", image.rows.get(*k));
                }
            }
            panic!("the images did not converge");
        }
    }
    assert!(writes > 100, "the writer ran during the snapshot ({writes} writes)");
    assert!(!b_reads.is_empty());
    assert!(
        b_reads.iter().all(|id| *id > resume_after),
        "b resumed after its last durable chunk ({resume_after}); first read after restart {}",
        b_reads[0]
    );
    assert!(b_reads.windows(2).all(|w| w[0] < w[1]), "chunks are read in key order");
}
