//! The seed's flow: `cdc db init` prepares the source, `cdc capture` runs as the least-privilege replication
//! role and snapshots every seed table under the seed's topic names.

use std::collections::BTreeMap;
use std::time::Duration;

use cdc_test_support::{wait_for, PgCluster};

use crate::support::{cdc, spawn_capture};

#[tokio::test]
async fn db_init_then_capture_as_the_replication_role_snapshots_every_seed_table() {
    let cluster = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let out = cdc(&cluster, "postgres", dir.path())
        .env("CDC_REPLICATION_PASSWORD", "repl-pw-31")
        .args(["db", "init"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("database initialised"));
    let again = cdc(&cluster, "postgres", dir.path()).args(["db", "init"]).output().unwrap();
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing changed"), "db init is idempotent");

    std::fs::write(dir.path().join("cdc.toml"), "[events]\ntopic_template = \"{prefix}.{table}\"\n").unwrap();
    let output = dir.path().join("events.jsonl");
    let mut command = cdc(&cluster, "postgres", dir.path());
    command.env("POSTGRES_USER", "cdc_replicator").env("POSTGRES_PASSWORD", "repl-pw-31");
    let mut child = spawn_capture(command, &output);
    let out = output.clone();
    let counts = wait_for("the snapshot of the seed tables", Duration::from_secs(60), || {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for line in std::fs::read_to_string(&out).unwrap_or_default().lines() {
            if let Ok(record) = serde_json::from_str::<serde_json::Value>(line) {
                *counts.entry(record["topic"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
            }
        }
        // Tables are read in parallel (snapshot_max_threads), so no table's end says the others are through.
        let through = counts.get("cdc.orders") == Some(&5)
            && counts.get("cdc.products") == Some(&15)
            && counts.get("cdc.customers") == Some(&10)
            && counts.contains_key("cdc.order_items");
        async move { through.then_some(counts) }
    })
    .await;
    child.kill().unwrap();
    let stderr = child.wait_with_output().unwrap().stderr;
    assert_eq!(counts.get("cdc.customers"), Some(&10), "{counts:?}\n{}", String::from_utf8_lossy(&stderr));
    assert!(counts.contains_key("cdc.order_items"), "{counts:?}");
}
