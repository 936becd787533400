//! The admin API of `cdc run` (`[admin].listen`): Kafka-Connect-shaped status, pause and resume with nothing lost
//! and nothing applied meanwhile, FAILED with the error and back to RUNNING on restart, bearer-token auth,
//! `/metrics` moving with the changes, and no secret anywhere it shows.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use cdc_test_support::{wait_for, wait_for_every, PgCluster};
use serde_json::Value as Json;

use crate::support::{confirmed_flush, slot_caught_up, spawn, Role};

const WAIT: Duration = Duration::from_secs(120);
const TOKEN: &str = "admin-t0ken-xyz";
/// A RapidAPI key in the same file: the API shows the configuration, and must not show it.
const API_KEY: &str = "rapid-api-k3y-123";

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn get(&self, path: &str) -> (u16, String) {
        let response =
            self.http.get(format!("{}{path}", self.base)).bearer_auth(TOKEN).send().await.expect("GET");
        (response.status().as_u16(), response.text().await.unwrap_or_default())
    }

    async fn json(&self, path: &str) -> Json {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    async fn send(&self, method: reqwest::Method, path: &str) -> u16 {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("send");
        response.status().as_u16()
    }

    /// The connector's state; `None` while the server is not up yet.
    async fn state(&self) -> Option<String> {
        let url = format!("{}/connectors/cdc-run/status", self.base);
        let response = self.http.get(url).bearer_auth(TOKEN).send().await.ok()?;
        let status: Json = response.json().await.ok()?;
        status["connector"]["state"].as_str().map(str::to_owned)
    }

    async fn wait_state(&self, want: &str) -> Json {
        wait_for(&format!("the connector to be {want}"), WAIT, || async move {
            (self.state().await.as_deref() == Some(want)).then_some(())
        })
        .await;
        self.json("/connectors/cdc-run/status").await
    }
}

fn duck_count(path: &Path) -> Option<i64> {
    let conn = duckdb::Connection::open(path).ok()?;
    conn.query_row("SELECT count(*) FROM public.t", [], |r| r.get(0)).ok()
}

async fn wait_rows(client: &tokio_postgres::Client, db: &Path, want: i64) {
    wait_for_every(&format!("{want} rows in DuckDB"), WAIT, Duration::from_millis(200), || async move {
        (slot_caught_up(client).await && duck_count(db) == Some(want)).then_some(())
    })
    .await;
}

fn start(cluster: &PgCluster, dir: &Path, port: u16) -> Role {
    std::fs::write(
        dir.join("cdc.toml"),
        format!(
            "[source]\ntables = [\"t\"]\n[pipeline]\npoll_timeout_ms = 100\n[duckdb]\npath = \"w.duckdb\"\n\
             exclusive = false\nlock_timeout_ms = 300\n[admin]\nlisten = \"127.0.0.1:{port}\"\ntoken = \"{TOKEN}\"\n\
             [ingest]\napi_key = \"{API_KEY}\"\n"
        ),
    )
    .unwrap();
    spawn(cluster, dir, &["run"])
}

#[tokio::test]
async fn pause_resume_restart_and_auth_through_the_admin_api() {
    let cluster = PgCluster::start();
    let client = cluster.connect("postgres").await;
    client
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'a' FROM generate_series(1, 50) g")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let role = start(&cluster, dir.path(), port);
    let api = Api { base: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() };
    let db = dir.path().join("w.duckdb");

    // Running: status and the snapshot applied.
    let status = api.wait_state("RUNNING").await;
    assert_eq!(status["type"], "source", "{status}");
    assert_eq!(api.json("/connectors").await, serde_json::json!(["cdc-run"]));
    wait_rows(&client, &db, 50).await;

    // Auth: the token is required everywhere but the probes.
    let anonymous = reqwest::get(format!("{}/connectors", api.base)).await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let metrics_anonymous = reqwest::get(format!("{}/metrics", api.base)).await.unwrap();
    assert_eq!(metrics_anonymous.status().as_u16(), 401);
    assert_eq!(reqwest::get(format!("{}/health", api.base)).await.unwrap().status().as_u16(), 200);
    assert_eq!(reqwest::get(format!("{}/ready", api.base)).await.unwrap().status().as_u16(), 200);
    assert_eq!(api.get("/connectors/nope/status").await.0, 404);

    // Metrics count the applied changes.
    let applied = |text: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with("cdc_events_applied_total{") && l.contains("table=\"public.t\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let before = applied(&api.get("/metrics").await.1);
    assert!(before >= 50.0, "the snapshot's 50 rows are counted: {before}");

    // Pause: the slot is let go, nothing is applied, the slot does not move.
    assert_eq!(api.send(reqwest::Method::PUT, "/connectors/cdc-run/pause").await, 202);
    api.wait_state("PAUSED").await;
    let c = &client;
    wait_for("the slot to be released", WAIT, || async move {
        c.query_opt("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'cdc_slot' AND NOT active", &[])
            .await
            .unwrap()
            .map(|_| ())
    })
    .await;
    let flushed = confirmed_flush(&client).await;
    client.batch_execute("INSERT INTO t SELECT g, 'b' FROM generate_series(51, 80) g").await.unwrap();
    assert_eq!(api.state().await.as_deref(), Some("PAUSED"));
    assert_eq!(confirmed_flush(&client).await, flushed, "a paused connector does not advance the slot");
    assert_eq!(duck_count(&db), Some(50), "a paused connector applies nothing");
    assert_eq!(reqwest::get(format!("{}/ready", api.base)).await.unwrap().status().as_u16(), 503);
    // `cdc status` prints the same state (address and token from the same cdc.toml).
    let mut status_cmd = crate::support::cdc(&cluster, "postgres", dir.path());
    status_cmd.arg("status");
    let out = crate::support::output_within(status_cmd, WAIT);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{printed}{}", String::from_utf8_lossy(&out.stderr));
    assert!(printed.lines().any(|l| l.starts_with("cdc-run") && l.contains("PAUSED")), "{printed}");

    // Resume: everything written meanwhile lands.
    assert_eq!(api.send(reqwest::Method::PUT, "/connectors/cdc-run/resume").await, 202);
    api.wait_state("RUNNING").await;
    wait_rows(&client, &db, 80).await;
    assert!(applied(&api.get("/metrics").await.1) >= before + 30.0, "the metric moved with the changes");

    // A failure: hold the DuckDB file while changes arrive, so the sink's commit gives up ([duckdb].lock_timeout_ms).
    let holder = duckdb::Connection::open(&db).expect("hold the warehouse file");
    client.batch_execute("INSERT INTO t SELECT g, 'c' FROM generate_series(81, 90) g").await.unwrap();
    let failed = api.wait_state("FAILED").await;
    let trace = failed["tasks"][0]["trace"].as_str().unwrap_or_default().to_owned();
    assert!(
        trace.contains("lock_timeout_ms") || trace.contains("lock"),
        "the status carries the error: {failed}"
    );
    drop(holder);
    assert_eq!(api.send(reqwest::Method::POST, "/connectors/cdc-run/restart").await, 204);
    api.wait_state("RUNNING").await;
    wait_rows(&client, &db, 90).await;

    // Offsets: the slot's position, as Kafka Connect shapes it.
    let offsets = api.json("/connectors/cdc-run/offsets").await;
    assert_eq!(offsets["offsets"][0]["partition"]["slot"], "cdc_slot", "{offsets}");
    assert!(offsets["offsets"][0]["offset"]["lsn"].is_string(), "{offsets}");

    // Every dashboard metric that `cdc run` records is in its /metrics (the rest come from other roles: Kafka,
    // ingestion; see crates/cdc-core/src/metrics.rs).
    let dashboard: Json = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/grafana/cdc-dashboard.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut exprs = Vec::new();
    collect_exprs(&dashboard, &mut exprs);
    use cdc_core::metrics as m;
    let run_exports = [
        m::EVENTS_CAPTURED,
        m::EVENTS_APPLIED,
        m::BATCHES,
        m::BATCH_DURATION,
        m::BATCH_EVENTS,
        m::LAST_EVENT_TIMESTAMP,
        m::TIME_BEHIND_SOURCE,
        m::REPLICATION_LAG,
        m::SLOT_RETAINED_WAL,
        m::SOURCE_WAL_POSITION,
        m::CONNECTOR_STATE,
        m::PROCESS_RSS,
        m::PROCESS_UPTIME,
        m::WAREHOUSE_MERGE_DURATION,
        m::WAREHOUSE_ROWS_MERGED,
        m::SNAPSHOT_TABLES_DONE,
        m::SNAPSHOT_TABLES_PLANNED,
        m::SNAPSHOT_ROWS_COPIED,
        m::SNAPSHOT_ROWS_ESTIMATED,
    ];
    for name in run_exports {
        assert!(exprs.iter().any(|e| e.contains(name)), "the dashboard shows {name}");
    }
    let api_ref = &api;
    wait_for("every metric of the run role in /metrics", WAIT, || async move {
        let text = api_ref.get("/metrics").await.1;
        run_exports.iter().all(|name| text.lines().any(|l| l.starts_with(name))).then_some(())
    })
    .await;

    // The web UI: one self-contained page (nothing fetched from elsewhere), and the events it browses.
    let page = reqwest::get(format!("{}/ui", api.base)).await.unwrap().text().await.unwrap();
    assert!(page.contains("Recent events") && page.contains("/api/events"), "the UI page is served");
    assert!(!page.contains("http://") && !page.contains("https://"), "the UI loads nothing from the network");
    let events = api.json("/api/events").await;
    let newest = &events["events"][0];
    assert_eq!(newest["table"], "public.t", "{events}");
    assert_eq!(newest["value"]["source"]["table"], "t", "the Debezium envelope: {newest}");
    assert!(newest["key"]["id"].is_i64(), "{newest}");

    // No secret in what the API shows, in /metrics, or in the log.
    let shown = [
        api.get("/connectors/cdc-run").await.1,
        api.get("/connectors/cdc-run/config").await.1,
        api.get("/connectors/cdc-run/status").await.1,
        api.get("/metrics").await.1,
        api.get("/openapi.json").await.1,
        api.get("/api/events").await.1,
        page,
    ]
    .join("\n");
    assert!(shown.contains("\"admin\""), "the config is shown: {shown}");
    for secret in [TOKEN, API_KEY, cluster.password()] {
        assert!(!shown.contains(secret), "secret {secret:?} shown by the API");
        assert!(!role.log_contains(secret), "secret {secret:?} in the log");
    }
}

/// Every `expr` string in a Grafana dashboard.
fn collect_exprs(value: &Json, out: &mut Vec<String>) {
    match value {
        Json::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr", Json::String(expr)) => out.push(expr.clone()),
                    _ => collect_exprs(v, out),
                }
            }
        }
        Json::Array(items) => items.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}

/// `sum(query)` from Prometheus' HTTP API; `None` until it has a sample.
async fn prometheus_value(prometheus: &cdc_test_support::Prometheus, query: &str) -> Option<f64> {
    let url = format!("{}/api/v1/query", prometheus.url());
    let response: Json =
        reqwest::Client::new().get(url).query(&[("query", query)]).send().await.ok()?.json().await.ok()?;
    response["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

#[tokio::test]
async fn prometheus_scrapes_a_running_pipeline_and_sees_the_changes_flow() {
    let cluster = PgCluster::start();
    let client = cluster.connect("postgres").await;
    client
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'a' FROM generate_series(1, 20) g")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _role = start(&cluster, dir.path(), port);
    let prometheus = cdc_test_support::Prometheus::start(&[format!("127.0.0.1:{port}")], Some(TOKEN));
    let p = &prometheus;
    let applied = r#"sum(cdc_events_applied_total{job="cdc", pipeline="cdc-run", table="public.t"})"#;
    let first = wait_for("Prometheus to scrape the snapshot's changes", WAIT, || async move {
        prometheus_value(p, applied).await.filter(|v| *v >= 20.0)
    })
    .await;
    assert_eq!(prometheus_value(p, r#"up{job="cdc"}"#).await, Some(1.0), "{}", prometheus.log());
    client.batch_execute("INSERT INTO t SELECT g, 'b' FROM generate_series(21, 120) g").await.unwrap();
    wait_for("Prometheus to see 100 more changes applied", WAIT, || async move {
        prometheus_value(p, applied).await.filter(|v| *v >= first + 100.0)
    })
    .await;
    let running = r#"cdc_connector_state{job="cdc", pipeline="cdc-run", state="RUNNING"}"#;
    assert_eq!(prometheus_value(p, running).await, Some(1.0));
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_pipeline_name() {
    let cluster = PgCluster::start();
    let client = cluster.connect("postgres").await;
    client
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a')")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cdc.toml"),
        "[source]\ntables = [\"t\"]\n[duckdb]\npath = \"w.duckdb\"\n",
    )
    .unwrap();
    let mut role = spawn(&cluster, dir.path(), &["run", "--log-format", "json"]);
    let c = &client;
    wait_for("the snapshot to be done", WAIT, || async move {
        let done =
            c.query_one("SELECT count(*) FROM cdc_snapshot_progress WHERE slot_name = 'cdc_slot'", &[]).await;
        (done.map(|r| r.get::<_, i64>(0)).unwrap_or(0) > 0).then_some(())
    })
    .await;
    let mut child = role.child();
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
    let log = role.log_text();
    let lines: Vec<Json> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")))
        .collect();
    assert!(lines.iter().all(|l| l["level"].is_string() && l["timestamp"].is_string()), "{log}");
    let line = |message: &str| {
        lines
            .iter()
            .find(|l| l["message"] == message)
            .unwrap_or_else(|| panic!("no {message:?} line:\n{log}"))
    };
    let slot = line("created replication slot");
    assert_eq!(slot["spans"][0]["pipeline"], "cdc-run", "{slot}");
    assert_eq!(slot["slot"], "cdc_slot", "{slot}");
    assert!(slot["consistent_point"].as_str().is_some_and(|lsn| lsn.contains('/')), "an LSN field: {slot}");
    assert_eq!(line("snapshot of table done")["table"], "public.t");
    assert!(!log.contains(cluster.password()), "the password was logged");
}

/// The web UI in Debian's headless Chromium, driven over the DevTools protocol by `tests/python/ui_check.py`: it
/// sees the table and its count change, opens an event, pauses and resumes, and saves a screenshot
/// (`$CARGO_TARGET_TMPDIR/cdc-ui.png`) for a reviewer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_ui_in_headless_chromium_shows_changes_opens_an_event_and_pauses_and_resumes() {
    use std::io::{BufRead, Write};
    let cluster = PgCluster::start();
    let client = cluster.connect("postgres").await;
    client
        .batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'a' FROM generate_series(1, 50) g")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _role = start(&cluster, dir.path(), port);
    let api = Api { base: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() };
    api.wait_state("RUNNING").await;
    wait_rows(&client, &dir.path().join("w.duckdb"), 50).await;

    let screenshot = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cdc-ui.png");
    let _ = std::fs::remove_file(&screenshot);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/ui_check.py");
    let mut driver = std::process::Command::new("python3")
        .arg(script)
        .arg(format!("{}/ui#token={TOKEN}", api.base))
        .arg(&screenshot)
        .arg("50")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 for the UI driver");
    let mut lines = std::io::BufReader::new(driver.stdout.take().unwrap()).lines();
    let mut stdin = driver.stdin.take().unwrap();
    let ready = tokio::task::block_in_place(|| lines.next()).expect("a line from the driver").unwrap();
    assert!(ready.starts_with("READY"), "the UI driver: {ready}");
    client.batch_execute("INSERT INTO t SELECT g, 'b' FROM generate_series(51, 80) g").await.unwrap();
    writeln!(stdin, "MORE 30").unwrap();
    let done = tokio::task::block_in_place(|| lines.next()).expect("a line from the driver").unwrap();
    assert_eq!(done, "OK", "the UI driver");
    assert!(driver.wait().unwrap().success());
    let size = std::fs::metadata(&screenshot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "a screenshot was saved at {} ({size} bytes)", screenshot.display());
    eprintln!("UI screenshot: {}", screenshot.display());
}
