//! `cdc run` against a warehouse it cannot use: a clear error, a non-zero exit, the slot not advanced past what
//! DuckDB holds, and after the fix a restart that loses nothing.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use cdc_test_support::{wait_for, PgCluster};

use crate::support::{assert_clear_failure, cdc};

async fn setup() -> (PgCluster, tokio_postgres::Client) {
    let cluster = PgCluster::start();
    let client = cluster.connect("postgres").await;
    client
        .batch_execute(
            "CREATE TABLE t (id int PRIMARY KEY, body text);
             INSERT INTO t SELECT g, repeat(md5(g::text), 20) FROM generate_series(1, 200) g;",
        )
        .await
        .unwrap();
    (cluster, client)
}

fn run(cluster: &PgCluster, dir: &Path, duckdb: &str) -> Command {
    let mut cmd = cdc(cluster, "postgres", dir);
    cmd.env("CDC_TABLES", "t").args(["run", "--duckdb", duckdb]);
    cmd
}

/// Runs `cdc run` until the slot confirmed the end of WAL, then stops it with SIGTERM.
async fn run_to_completion(cluster: &PgCluster, client: &tokio_postgres::Client, dir: &Path, duckdb: &str) {
    let child = run(cluster, dir, duckdb).stderr(Stdio::piped()).spawn().unwrap();
    // Errors (the progress table not created yet) mean "not yet".
    wait_for("the run to catch up", Duration::from_secs(120), || async move {
        client
            .query_opt(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'cdc_slot' AND active
                 AND confirmed_flush_lsn >= pg_current_wal_insert_lsn()
                 AND EXISTS (SELECT 1 FROM cdc_snapshot_progress)",
                &[],
            )
            .await
            .ok()
            .flatten()
    })
    .await;
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn count(path: &Path) -> i64 {
    let conn = duckdb::Connection::open(path).unwrap();
    conn.query_row("SELECT count(*) FROM public.t", [], |r| r.get(0)).unwrap()
}

async fn slot_exists(client: &tokio_postgres::Client, slot: &str) -> bool {
    client
        .query_opt("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", &[&slot])
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn an_unwritable_warehouse_path_fails_clearly_and_a_fixed_path_loses_nothing() {
    let (cluster, client) = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let out: Output = run(&cluster, dir.path(), "/nonexistent-dir/w.duckdb").output().unwrap();
    assert_clear_failure(&out, &["/nonexistent-dir/w.duckdb", "hint", "[duckdb].path"], cluster.password());
    assert!(!slot_exists(&client, "cdc_slot").await, "no slot is created for a pipeline that cannot write");

    run_to_completion(&cluster, &client, dir.path(), "w.duckdb").await;
    assert_eq!(count(&dir.path().join("w.duckdb")), 200);
}

#[tokio::test]
async fn a_warehouse_locked_by_another_process_fails_clearly() {
    let (cluster, client) = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let mut holder = run(&cluster, dir.path(), "w.duckdb").stderr(Stdio::null()).spawn().unwrap();
    let c = &client;
    wait_for("the first run to stream", Duration::from_secs(60), || async move {
        c.query_opt("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'cdc_slot' AND active", &[])
            .await
            .unwrap()
    })
    .await;
    let out = run(&cluster, dir.path(), "w.duckdb").env("CDC_SLOT_NAME", "second").output().unwrap();
    holder.kill().unwrap();
    let _ = holder.wait();
    assert_clear_failure(&out, &["w.duckdb", "lock", "another process"], cluster.password());
    assert!(!slot_exists(&client, "second").await, "the second pipeline created no slot");
}

#[tokio::test]
async fn a_full_disk_fails_the_batch_without_confirming_its_commit_and_a_restart_loses_nothing() {
    let (cluster, client) = setup().await;
    let dir = tempfile::tempdir().unwrap();
    // The first run lands the snapshot; then a file-size limit stands in for a full disk.
    run_to_completion(&cluster, &client, dir.path(), "w.duckdb").await;
    let confirmed_before = crate::support::confirmed_flush(&client).await.expect("the capture slot");
    client
        .batch_execute(
            "INSERT INTO t SELECT g, repeat(md5(g::text), 200) FROM generate_series(1000, 20000) g",
        )
        .await
        .unwrap();
    let after_insert: String =
        client.query_one("SELECT pg_current_wal_insert_lsn()::text", &[]).await.unwrap().get(0);
    let size = std::fs::metadata(dir.path().join("w.duckdb")).unwrap().len();
    let mut limited = Command::new("prlimit");
    limited
        .arg(format!("--fsize={}", size + 64 * 1024))
        .arg("--")
        .arg(crate::support::cdc_bin())
        .args(["run", "--duckdb", "w.duckdb"])
        .current_dir(dir.path())
        .envs(run(&cluster, dir.path(), "w.duckdb").get_envs().filter_map(|(k, v)| Some((k, v?))));
    let out =
        tokio::time::timeout(Duration::from_secs(120), tokio::task::spawn_blocking(move || limited.output()))
            .await
            .expect("the limited run stops by itself")
            .unwrap()
            .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the limited run must fail: {stderr}");
    assert!(out.status.code().is_some(), "an error exit, not a signal: {:?}\n{stderr}", out.status);
    assert!(stderr.lines().any(|l| l.starts_with("cdc: error:")), "{stderr}");
    // The slot may confirm positions inside the big transaction (keepalives while the server decodes it), never
    // its commit: the transaction is sent again after a restart.
    let not_past_commit: bool = client
        .query_one(
            "SELECT confirmed_flush_lsn < $1::text::pg_lsn AND confirmed_flush_lsn >= $2::text::pg_lsn
             FROM pg_replication_slots WHERE slot_name = 'cdc_slot'",
            &[&after_insert, &confirmed_before],
        )
        .await
        .unwrap()
        .get(0);
    assert!(not_past_commit, "the slot confirmed the transaction DuckDB failed to commit");

    run_to_completion(&cluster, &client, dir.path(), "w.duckdb").await;
    assert_eq!(count(&dir.path().join("w.duckdb")), 200 + 19_001);
}
