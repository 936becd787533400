//! Crash and idle safety of `cdc capture` with the JSON-lines sink.
//!
//! Size: `CDC_TEST_FULL=1` runs the acceptance size (100k changes); CI runs 5k through the same code paths.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use cdc_test_support::{wait_for, PgCluster};

use crate::support::{cdc, spawn_capture};

const WAIT: Duration = Duration::from_secs(180);

fn workload_size() -> usize {
    if std::env::var_os("CDC_TEST_FULL").is_some() {
        100_000
    } else {
        5_000
    }
}

/// One change as it appears in the output: (op, id, v) where v is the after value (the before value for a
/// delete); the writer gives every change a fresh v, so (op, id, v) names one change.
type Change = (char, i32, i64);

fn read_changes(path: &Path) -> Vec<Change> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut changes = Vec::new();
    // A kill -9 can cut the last line short; a partial line is not an acknowledged write.
    for line in text.lines() {
        let Ok(record) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let value = &record["value"];
        if value.is_null() {
            continue;
        }
        let op = value["op"].as_str().and_then(|s| s.chars().next()).expect("op");
        let row = if op == 'd' { &value["before"] } else { &value["after"] };
        changes.push((op, row["id"].as_i64().expect("id") as i32, row["v"].as_i64().expect("v")));
    }
    changes
}

/// Changes the reference slot (test_decoding) reports for transactions committed before `upto`.
async fn committed_before(client: &tokio_postgres::Client, upto: &str) -> Vec<Change> {
    let rows = client
        .query("SELECT data FROM pg_logical_slot_peek_changes('reference', $1::text::pg_lsn, NULL)", &[&upto])
        .await
        .expect("peek reference slot");
    rows.iter().filter_map(|r| parse_test_decoding(&r.get::<_, String>(0))).collect()
}

/// `table public.kv: UPDATE: id[integer]:5 v[bigint]:123` → ('u', 5, 123).
fn parse_test_decoding(line: &str) -> Option<Change> {
    let rest = line.strip_prefix("table public.kv: ")?;
    let (op, cols) = rest.split_once(": ")?;
    let op = match op {
        "INSERT" => 'c',
        "UPDATE" => 'u',
        "DELETE" => 'd',
        _ => return None,
    };
    // Updates under REPLICA IDENTITY FULL print `old-key: … new-tuple: …`; deletes print the old row.
    let cols = cols.rsplit_once("new-tuple: ").map_or(cols, |(_, new)| new);
    let field = |name: &str| -> Option<i64> {
        let start = cols.find(&format!("{name}["))?;
        let after = &cols[start..];
        let value = after.split_once("]:")?.1;
        value.split_whitespace().next()?.parse().ok()
    };
    Some((op, field("id")? as i32, field("v")?))
}

#[tokio::test]
async fn kill_dash_nine_during_a_workload_loses_nothing_and_never_acks_ahead_of_the_sink() {
    let cluster = PgCluster::start();
    let client = cluster.connect("postgres").await;
    client
        .batch_execute(
            "CREATE TABLE kv (id int PRIMARY KEY, v bigint NOT NULL);
             ALTER TABLE kv REPLICA IDENTITY FULL;",
        )
        .await
        .unwrap();
    // The reference: PostgreSQL's own test_decoding view of every committed change.
    client
        .batch_execute("SELECT pg_create_logical_replication_slot('reference', 'test_decoding')")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.jsonl");
    let total = workload_size();

    // The first capture creates the slot before any change, so every change is streamed (none is a snapshot row).
    let mut first = Some(spawn_capture(cdc(&cluster, "postgres", dir.path()), &output));
    let c = &client;
    wait_for("the capture slot", WAIT, || async move {
        c.query_opt("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'cdc_slot'", &[])
            .await
            .unwrap()
            .map(|_| ())
    })
    .await;

    // The writer: single-row transactions on 500 keys; inserts, updates and deletes.
    let writer_client = cluster.connect("postgres").await;
    let writer = tokio::spawn(async move {
        let mut present: HashSet<i32> = HashSet::new();
        let mut v: i64 = 0;
        let mut rng = fastrand::Rng::with_seed(7);
        while (v as usize) < total {
            v += 1;
            let id = rng.i32(1..=500);
            if !present.contains(&id) {
                writer_client.execute("INSERT INTO kv VALUES ($1, $2)", &[&id, &v]).await.unwrap();
                present.insert(id);
            } else if rng.u8(0..10) < 8 {
                writer_client.execute("UPDATE kv SET v = $2 WHERE id = $1", &[&id, &v]).await.unwrap();
            } else {
                writer_client.execute("DELETE FROM kv WHERE id = $1", &[&id]).await.unwrap();
                present.remove(&id);
            }
        }
    });

    let mut rng = fastrand::Rng::with_seed(42);
    for round in 0..5 {
        let before = read_changes(&output).len();
        let mut child =
            first.take().unwrap_or_else(|| spawn_capture(cdc(&cluster, "postgres", dir.path()), &output));
        let step = rng.usize(1..=(total / 8).max(2));
        let out = output.clone();
        let writer_done = writer.is_finished();
        // Kill at a random point: after a random number of new lines (or as soon as output appears once the
        // writer is done and the stream may have caught up).
        wait_for(&format!("round {round}: {step} new changes"), WAIT, || {
            let out = out.clone();
            async move {
                let n = read_changes(&out).len();
                (n >= before + step || (writer_done && n > before)).then_some(())
            }
        })
        .await;
        child.kill().expect("kill -9");
        let _ = child.wait();

        // The slot never confirms past what the file holds: every change of a transaction that committed before
        // confirmed_flush_lsn is in the output.
        let confirmed = crate::support::confirmed_flush(&client).await.expect("the capture slot");
        let written: HashSet<Change> = read_changes(&output).into_iter().collect();
        let acked = committed_before(&client, &confirmed).await;
        let missing: Vec<&Change> = acked.iter().filter(|c| !written.contains(c)).collect();
        assert!(
            missing.is_empty(),
            "round {round}: slot confirmed {confirmed} but {} changes are not in the sink: {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
    }
    writer.await.unwrap();

    // A last run catches up; SIGTERM stops it cleanly.
    // The test clusters run with synchronous_commit = off: logical decoding sees a commit once the WAL writer
    // flushed it, a moment after the writer's last statement returned.
    let c = &client;
    let expected = wait_for("the reference slot to see every change", WAIT, || async move {
        let all = committed_before(c, "FFFFFFFF/FFFFFFFF").await;
        (all.len() == total).then_some(all)
    })
    .await;
    let mut child = spawn_capture(cdc(&cluster, "postgres", dir.path()), &output);
    let expected_set: HashSet<Change> = expected.iter().copied().collect();
    let out = output.clone();
    wait_for("the capture to catch up", WAIT, || {
        let out = out.clone();
        let expected_set = expected_set.clone();
        async move {
            let written: HashSet<Change> = read_changes(&out).into_iter().collect();
            expected_set.is_subset(&written).then_some(())
        }
    })
    .await;
    let pid = child.id().to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGTERM exits 0, got {status}");

    // In order per key: after dropping replayed duplicates, each key's changes follow the source's order.
    let written = read_changes(&output);
    let mut seen = HashSet::new();
    let mut per_key: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for change in &written {
        if seen.insert(*change) {
            per_key.entry(change.1).or_default().push(change.2);
        }
    }
    let mut source_order: HashMap<i32, Vec<i64>> = HashMap::new();
    for change in &expected {
        source_order.entry(change.1).or_default().push(change.2);
    }
    for (id, vs) in &per_key {
        assert_eq!(Some(vs), source_order.get(id), "key {id}: order differs from the source");
    }
    let replayed = written.len() - seen.len();
    eprintln!("{total} changes, {} lines written, {replayed} replayed after crashes", written.len());
}

#[tokio::test]
async fn idle_published_tables_do_not_hold_wal_while_another_table_is_written() {
    let cluster = PgCluster::start();
    let client = cluster.connect("postgres").await;
    client
        .batch_execute(
            "CREATE TABLE quiet (id int PRIMARY KEY, v text);
             CREATE TABLE busy (id serial PRIMARY KEY, payload text);
             ALTER TABLE busy ALTER COLUMN payload SET STORAGE EXTERNAL; -- no compression: real WAL volume
             INSERT INTO quiet VALUES (1, 'only row');",
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.jsonl");
    let mut command = cdc(&cluster, "postgres", dir.path());
    command.env("CDC_TABLES", "quiet");
    let mut child = spawn_capture(command, &output);
    let out = output.clone();
    wait_for("the snapshot row", WAIT, || {
        let out = out.clone();
        async move { std::fs::read_to_string(&out).ok().filter(|t| t.contains("only row")).map(|_| ()) }
    })
    .await;

    let start_lsn: String = client.query_one("SELECT pg_current_wal_lsn()::text", &[]).await.unwrap().get(0);
    // ~40 MB of WAL into a table that is not captured.
    let chunk = "x".repeat(4000);
    for _ in 0..100 {
        client
            .execute("INSERT INTO busy (payload) SELECT $1 FROM generate_series(1, 100)", &[&chunk])
            .await
            .unwrap();
    }
    let written_wal: i64 = client
        .query_one("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)::bigint", &[&start_lsn])
        .await
        .unwrap()
        .get(0);
    assert!(written_wal > 20_000_000, "the workload wrote {written_wal} bytes of WAL");
    let c = &client;
    let bounded = wait_for("the slot to advance past the unpublished writes", WAIT, || async move {
        let now = retained(c).await;
        (now < 1_000_000).then_some(now)
    })
    .await;
    eprintln!(
        "unpublished writes: {written_wal} bytes of WAL; retained by the slot afterwards: {bounded} bytes"
    );
    child.kill().unwrap();
    let _ = child.wait();
}

/// Bytes of WAL the capture slot retains beyond what it confirmed.
async fn retained(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint
             FROM pg_replication_slots WHERE slot_name = 'cdc_slot'",
            &[],
        )
        .await
        .unwrap()
        .get::<_, i64>(0)
}
