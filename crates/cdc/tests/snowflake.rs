//! `cdc run --sink snowflake` against the fakesnow server: exact final state across kill -9 restarts, and clear
//! failures (naming the setting, advancing nothing, printing no credential) for wrong credentials, an expired
//! token, an unknown warehouse and a missing privilege; `cdc config check --snowflake`.
//!
//! Size: `CDC_TEST_FULL=1` runs 200k changes and 10 kills; CI runs 1.5k changes and 3 kills.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cdc_test_support::workload::{workload, workload_size, SNOWFLAKE_DUMPS, TABLES};
use cdc_test_support::{wait_for, FakeSnow, FakeSnowOptions, PgCluster};
use cdc_warehouse::snowflake::client::{Bindings, Client};
use cdc_warehouse::snowflake::SnowflakeConfig;

use crate::support::{assert_clear_failure, cdc, confirmed_flush, output_within, slot_caught_up, spawn};

const WAIT: Duration = Duration::from_secs(300);
/// The last run drains what the killed ones left: at full size a backlog of ~100k changes, and fakesnow stages
/// rows at about 6 ms each.
const FINAL_WAIT: Duration = Duration::from_secs(1800);
pub const PASSWORD: &str = "s3cret-Snow-pw";

/// `[snowflake]` pointing at `server`, plus the workload's tables.
pub fn snowflake_toml(server: &FakeSnow) -> String {
    format!(
        r#"
[snowflake]
account = "fakesnow"
user = "cdc_loader"
password = "{PASSWORD}"
database = "cdc_db"
warehouse = "compute_wh"
host = "127.0.0.1"
port = {port}
protocol = "http"
retry_timeout_secs = 60
"#,
        port = server.port()
    )
}

pub fn server() -> FakeSnow {
    FakeSnow::start_with(FakeSnowOptions {
        password: Some(PASSWORD.into()),
        oauth_token: Some("good-oauth-token".into()),
        expired_oauth_token: Some("expired-oauth-token".into()),
        warehouses: vec!["COMPUTE_WH".into()],
        read_only_roles: vec!["READER".into()],
        ..FakeSnowOptions::default()
    })
}

/// A client reading the warehouse back through the same protocol.
pub async fn reader(server: &FakeSnow) -> Client {
    let config = SnowflakeConfig {
        account: "fakesnow".into(),
        user: "reader".into(),
        password: Some(cdc_core::config::Secret::new(PASSWORD)),
        database: "CDC_DB".into(),
        warehouse: "COMPUTE_WH".into(),
        host: Some("127.0.0.1".into()),
        port: Some(server.port()),
        protocol: "http".into(),
        ..SnowflakeConfig::default()
    };
    Client::connect(&config).await.expect("reader login")
}

/// JSON compared as values with sorted keys (VARIANT text is compact and key-sorted; jsonb's is not).
fn canonical_json(text: &str) -> String {
    fn sort(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.into_iter().map(|(k, v)| (k, sort(v))).collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                serde_json::Value::Object(entries.into_iter().collect())
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(sort).collect())
            }
            other => other,
        }
    }
    serde_json::from_str(text).map_or_else(|_| text.to_owned(), |v| sort(v).to_string())
}

/// Every workload table in Snowflake equals its source, row by row.
pub async fn assert_snowflake_equal(pg: &tokio_postgres::Client, sf: &Client) {
    if let Some(difference) = snowflake_difference(pg, sf).await {
        panic!("{difference}");
    }
}

/// The first workload table whose Snowflake rows differ from the source's, described.
pub async fn snowflake_difference(pg: &tokio_postgres::Client, sf: &Client) -> Option<String> {
    for (table, source_sql, warehouse_sql) in SNOWFLAKE_DUMPS {
        let normalise = |mut rows: Vec<Vec<Option<String>>>| {
            if table == "events" {
                for row in rows.iter_mut() {
                    if let Some(Some(json)) = row.get_mut(2) {
                        *json = canonical_json(json);
                    }
                }
            }
            rows.sort();
            rows
        };
        let source = normalise(
            pg.query(source_sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| (0..r.len()).map(|i| r.get::<_, Option<String>>(i)).collect())
                .collect(),
        );
        let warehouse = match sf.query(warehouse_sql, Bindings::None).await {
            Ok(result) => normalise(result.rows),
            Err(e) => return Some(format!("{table}: not readable yet: {e}")),
        };
        if source != warehouse {
            let first = source.iter().zip(&warehouse).position(|(a, b)| a != b);
            return Some(format!(
                "{table}: source {} rows, Snowflake {}; first difference at {first:?}: {:?} vs {:?}",
                source.len(),
                warehouse.len(),
                first.and_then(|i| source.get(i)),
                first.and_then(|i| warehouse.get(i))
            ));
        }
    }
    None
}

fn write_config(dir: &Path, server: &FakeSnow) {
    let config = format!(
        "[source]\ntables = [\"accounts\", \"docs\", \"events\", \"pairs\"]\n[pipeline]\nbatch_size = 20000\n\
         poll_timeout_ms = 200\n{}",
        snowflake_toml(server)
    );
    std::fs::write(dir.join("cdc.toml"), config).unwrap();
}

#[tokio::test]
async fn kill_dash_nine_of_cdc_run_into_snowflake_leaves_it_equal_to_the_source() {
    let server = server();
    let cluster = PgCluster::start();
    let client = cluster.connect("postgres").await;
    client.batch_execute(TABLES).await.unwrap();
    let full = std::env::var_os("CDC_TEST_FULL").is_some();
    let total = workload_size(1_500);
    workload(&client, total / 10, 21).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &server);

    let writer_client = cluster.connect("postgres").await;
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = writing.clone();
    let writer = tokio::spawn(async move {
        workload(&writer_client, total - total / 10, 22).await;
        flag.store(false, std::sync::atomic::Ordering::SeqCst);
    });
    let mut rng = fastrand::Rng::with_seed(7);
    for round in 0..if full { 10 } else { 3 } {
        let mut role = spawn(&cluster, dir.path(), &["run", "--sink", "snowflake"]);
        let mut last = confirmed_flush(&client).await;
        // Kill after the slot advanced 1-3 times (each advance follows a Snowflake commit of progress), or once
        // the writer is done and everything is confirmed.
        for _ in 0..rng.usize(1..=3) {
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
        let mut child = role.child();
        child.kill().expect("kill -9");
        let _ = child.wait();
    }
    writer.await.unwrap();

    let mut role = spawn(&cluster, dir.path(), &["run", "--sink", "snowflake"]);
    let c = &client;
    wait_for("the final run to catch up", FINAL_WAIT, || async move {
        let streaming = c
            .query_opt("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'cdc_slot' AND active", &[])
            .await
            .unwrap()
            .is_some();
        (streaming && slot_caught_up(c).await).then_some(())
    })
    .await;
    let mut child = role.child();
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success(), "SIGTERM exits 0");
    assert_snowflake_equal(&client, &reader(&server).await).await;
    assert!(!role.log_contains(PASSWORD), "the password was logged");
    // The operator's check agrees.
    let mut verify = cdc(&cluster, "postgres", dir.path());
    verify.args(["verify", "--sink", "snowflake"]);
    let out = output_within(verify, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("all 4 tables match"), "{stdout}");
}

/// `cdc run --sink snowflake` with one setting broken: a clear error naming it, the slot not created or
/// advanced, no credential printed.
async fn refused(server: &FakeSnow, env: &[(&str, &str)], expect: &[&str], secret: &str) {
    let cluster = PgCluster::start();
    let client = cluster.connect("postgres").await;
    client.batch_execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = cdc(&cluster, "postgres", dir.path());
    cmd.args(["run", "--sink", "snowflake"])
        .env("CDC_LOG", "debug")
        .env("SNOWFLAKE_ACCOUNT", "fakesnow")
        .env("SNOWFLAKE_USER", "cdc_loader")
        .env("SNOWFLAKE_DATABASE", "cdc_db")
        .env("SNOWFLAKE_WAREHOUSE", "compute_wh")
        .env("SNOWFLAKE_HOST", "127.0.0.1")
        .env("SNOWFLAKE_PORT", server.port().to_string())
        .env("SNOWFLAKE_PROTOCOL", "http");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = output_within(cmd, Duration::from_secs(120));
    assert_clear_failure(&out, expect, secret);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
    assert_eq!(confirmed_flush(&client).await, None, "no slot, so nothing acknowledged");
}

#[tokio::test]
async fn wrong_credentials_expired_tokens_unknown_warehouses_and_missing_privileges_fail_clearly() {
    let server = server();
    refused(
        &server,
        &[("SNOWFLAKE_PASSWORD", "not-the-password")],
        &["login failed", "SNOWFLAKE_PASSWORD"],
        "not-the-password",
    )
    .await;
    refused(
        &server,
        &[("SNOWFLAKE_AUTHENTICATOR", "oauth"), ("SNOWFLAKE_TOKEN", "expired-oauth-token")],
        &["expired", "SNOWFLAKE_TOKEN"],
        "expired-oauth-token",
    )
    .await;
    refused(
        &server,
        &[("SNOWFLAKE_PASSWORD", PASSWORD), ("SNOWFLAKE_WAREHOUSE", "no_such_wh")],
        &["warehouse", "SNOWFLAKE_WAREHOUSE", "does not exist"],
        PASSWORD,
    )
    .await;
    refused(
        &server,
        &[("SNOWFLAKE_PASSWORD", PASSWORD), ("SNOWFLAKE_ROLE", "reader")],
        &["privileges", "SNOWFLAKE_ROLE"],
        PASSWORD,
    )
    .await;
    refused(&server, &[], &["snowflake.password", "SNOWFLAKE_PASSWORD"], PASSWORD).await;
}

#[tokio::test]
async fn config_check_logs_in_and_checks_privileges_without_writing() {
    let server = server();
    let cluster = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let check = |env: &[(&str, &str)]| {
        let mut cmd = cdc(&cluster, "postgres", dir.path());
        cmd.args(["config", "check", "--snowflake"])
            .env("SNOWFLAKE_ACCOUNT", "fakesnow")
            .env("SNOWFLAKE_USER", "cdc_loader")
            .env("SNOWFLAKE_DATABASE", "cdc_db")
            .env("SNOWFLAKE_WAREHOUSE", "compute_wh")
            .env("SNOWFLAKE_HOST", "127.0.0.1")
            .env("SNOWFLAKE_PORT", server.port().to_string())
            .env("SNOWFLAKE_PROTOCOL", "http");
        for (k, v) in env {
            cmd.env(k, v);
        }
        output_within(cmd, Duration::from_secs(120))
    };
    // The database must exist for a check (it never creates anything).
    reader(&server).await.query("CREATE DATABASE IF NOT EXISTS cdc_db", Bindings::None).await.unwrap();
    let ok = check(&[("SNOWFLAKE_PASSWORD", PASSWORD)]);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&ok.stderr));
    assert!(stdout.contains("may create tables"), "{stdout}");
    assert!(!stdout.contains(PASSWORD), "secret printed: {stdout}");
    assert_clear_failure(&check(&[("SNOWFLAKE_PASSWORD", "wrong-pw")]), &["SNOWFLAKE_PASSWORD"], "wrong-pw");
    assert_clear_failure(
        &check(&[("SNOWFLAKE_PASSWORD", PASSWORD), ("SNOWFLAKE_ROLE", "READER")]),
        &["privileges"],
        PASSWORD,
    );
    let tables = reader(&server)
        .await
        .query(
            "SELECT COUNT(*) FROM cdc_db.information_schema.tables WHERE table_schema = 'PUBLIC'",
            Bindings::None,
        )
        .await
        .unwrap();
    assert_eq!(tables.scalar(), Some("0"), "config check wrote nothing");
}
