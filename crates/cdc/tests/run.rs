//! `cdc run` (PostgreSQL → DuckDB): exactly-once final state across kill -9 restarts.
//!
//! Size: `CDC_TEST_FULL=1` runs 200k changes (the acceptance size); CI runs 4k through the same paths.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cdc_test_support::workload::{workload, workload_size, DUMPS, TABLES};
use cdc_test_support::{wait_for, PgCluster};

use crate::support::{cdc, confirmed_flush, slot_caught_up};

const WAIT: Duration = Duration::from_secs(300);

fn spawn_run(cluster: &PgCluster, dir: &Path) -> Child {
    let mut cmd: Command = cdc(cluster, "postgres", dir);
    cmd.env("CDC_TABLES", "accounts,docs,events,pairs")
        .args(["run", "--duckdb", "warehouse.duckdb"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn cdc run")
}

fn duck_dump(path: &Path, sql: &str) -> Vec<Vec<Option<String>>> {
    let conn = duckdb::Connection::open(path).expect("open the warehouse");
    let mut stmt = conn.prepare(sql).unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        out.push(
            (0..row.as_ref().column_count()).map(|i| row.get::<_, Option<String>>(i).unwrap()).collect(),
        );
    }
    out.sort();
    out
}

#[tokio::test]
async fn kill_dash_nine_of_cdc_run_ten_times_leaves_duckdb_equal_to_the_source() {
    let cluster = PgCluster::start();
    let client = cluster.connect("postgres").await;
    client.batch_execute(TABLES).await.unwrap();
    let total = workload_size(4_000);
    // Some rows exist before the first start, so the snapshot is crashed into too.
    workload(&client, total / 10, 11).await;
    let dir = tempfile::tempdir().unwrap();

    let writer_client = cluster.connect("postgres").await;
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = writing.clone();
    let writer = tokio::spawn(async move {
        workload(&writer_client, total - total / 10, 12).await;
        flag.store(false, std::sync::atomic::Ordering::SeqCst);
    });
    let mut rng = fastrand::Rng::with_seed(99);
    for round in 0..10 {
        let mut child = spawn_run(&cluster, dir.path());
        let before = confirmed_flush(&client).await;
        let advances = rng.usize(1..=3);
        let mut last = before.clone();
        // Kill after the slot advanced a random 1-3 times (or, once the writer is done, when it has caught up).
        for _ in 0..advances {
            let c = &client;
            let previous = last.clone();
            let writing = writing.clone();
            last = wait_for(&format!("round {round}: the slot to advance"), WAIT, || {
                let previous = previous.clone();
                let writing = writing.load(std::sync::atomic::Ordering::SeqCst);
                async move {
                    let now = confirmed_flush(c).await;
                    if now.is_some() && now != previous {
                        return Some(now);
                    }
                    (!writing && slot_caught_up(c).await).then_some(now)
                }
            })
            .await;
        }
        child.kill().expect("kill -9");
        let _ = child.wait();
    }
    writer.await.unwrap();

    // The final run catches up; SIGTERM ends it cleanly.
    let mut child = spawn_run(&cluster, dir.path());
    let c = &client;
    wait_for("the final run to stream and catch up", WAIT, || async move {
        let streaming = c
            .query_opt("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'cdc_slot' AND active", &[])
            .await
            .unwrap()
            .is_some();
        (streaming && slot_caught_up(c).await).then_some(())
    })
    .await;
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGTERM exits 0, got {status}");

    for (table, source_sql, warehouse_sql) in DUMPS {
        let mut source: Vec<Vec<Option<String>>> = client
            .query(source_sql, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| (0..r.len()).map(|i| r.get::<_, Option<String>>(i)).collect())
            .collect();
        source.sort();
        let warehouse = duck_dump(&dir.path().join("warehouse.duckdb"), warehouse_sql);
        assert_eq!(source.len(), warehouse.len(), "{table}: row counts differ");
        assert!(source == warehouse, "{table}: rows differ");
    }
}
