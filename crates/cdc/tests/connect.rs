//! The Debezium drop-in: `cdc connect` takes the seed's connector JSON, deployed the way the seed's scripts deploy
//! it (envsubst, then POST or PUT with curl), and streams what the seed's consumers read.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use cdc_test_support::{free_port, wait_for_every, PgCluster, Tansu};
use serde_json::{json, Value as J};

use crate::support::{cdc, spawn, Role};

const WAIT: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(250);
const NAME: &str = "postgres-connector";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/postgres-connector.json")
}

/// PostgreSQL with the seed's schema and sample data, a broker, and a `cdc connect` worker.
struct Stack {
    cluster: PgCluster,
    broker: Tansu,
    dir: tempfile::TempDir,
    worker: Option<Role>,
    url: String,
}

impl Stack {
    async fn start() -> Stack {
        let cluster = PgCluster::start();
        let dir = tempfile::tempdir().unwrap();
        let init = cdc(&cluster, "postgres", dir.path()).args(["db", "init"]).output().unwrap();
        assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
        let broker = Tansu::start();
        let config = format!(
            "[kafka]\nbootstrap_servers = \"{}\"\n[connect]\nstate_file = \"connectors.json\"\n",
            broker.bootstrap()
        );
        std::fs::write(dir.path().join("cdc.toml"), config).unwrap();
        let url = format!("http://127.0.0.1:{}", free_port());
        let mut stack = Stack { cluster, broker, dir, worker: None, url };
        stack.start_worker().await;
        stack
    }

    async fn start_worker(&mut self) {
        let listen = self.url.trim_start_matches("http://").to_owned();
        self.worker = Some(spawn(&self.cluster, self.dir.path(), &["connect", "--listen", &listen]));
        let url = self.url.clone();
        wait_for_every("the worker's REST API", WAIT, POLL, || {
            let url = url.clone();
            async move {
                reqwest::get(format!("{url}/connectors")).await.ok()?.status().is_success().then_some(())
            }
        })
        .await;
    }

    /// The seed's deploy script against this worker, with the seed's environment variables.
    fn deploy(&self, template: &Path) -> Output {
        Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/deploy-connector.sh"))
            .arg(template)
            .env("CONNECT_URL", &self.url)
            .env("POSTGRES_HOST", self.cluster.host())
            .env("POSTGRES_PORT", self.cluster.port().to_string())
            .env("POSTGRES_USER", "postgres")
            .env("POSTGRES_PASSWORD", self.cluster.password())
            .env("POSTGRES_DB", "postgres")
            .output()
            .unwrap()
    }

    /// What `check-connector.sh` reads: `connector.state` and `tasks[].state`.
    async fn wait_running(&self) {
        let status = format!("{}/connectors/{NAME}/status", self.url);
        wait_for_every("the connector and its task to run", WAIT, POLL, || {
            let status = status.clone();
            async move {
                let body: J = reqwest::get(&status).await.ok()?.json().await.ok()?;
                (body["connector"]["state"] == "RUNNING" && body["tasks"][0]["state"] == "RUNNING")
                    .then_some(())
            }
        })
        .await;
    }

    /// At least `min` records of `topic`, from the beginning.
    fn read(&self, topic: &str, min: usize) -> Vec<J> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/read_topic.py");
        let out = Command::new("python3")
            .arg(script)
            .args([&self.broker.bootstrap(), topic, &min.to_string(), "90"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// `PUT /connectors/{NAME}/config` of a running connector: 200.
    async fn put_config(&self, config: &J) {
        let put = reqwest::Client::new()
            .put(format!("{}/connectors/{NAME}/config", self.url))
            .json(config)
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());
    }

    async fn post(&self, body: &J) -> (u16, J) {
        let response =
            reqwest::Client::new().post(format!("{}/connectors", self.url)).json(body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(J::Null))
    }
}

/// The fixture rendered with this stack's connection, as a JSON value (for requests built in the test).
fn rendered(stack: &Stack) -> J {
    let text = std::fs::read_to_string(fixture())
        .unwrap()
        .replace("${POSTGRES_HOST}", stack.cluster.host())
        .replace("${POSTGRES_PORT}", &stack.cluster.port().to_string())
        .replace("${POSTGRES_USER}", "postgres")
        .replace("${POSTGRES_PASSWORD}", stack.cluster.password())
        .replace("${POSTGRES_DB}", "postgres");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn the_seed_s_connector_json_deploys_unchanged_and_streams_what_its_consumers_read() {
    let stack = Stack::start().await;
    let deployed = stack.deploy(&fixture());
    assert!(
        deployed.status.success(),
        "{}{}",
        String::from_utf8_lossy(&deployed.stdout),
        String::from_utf8_lossy(&deployed.stderr)
    );
    let created: J = serde_json::from_slice(&deployed.stdout).unwrap();
    assert_eq!(created["name"], NAME);
    assert!(!created.to_string().contains(stack.cluster.password()), "the password is not echoed: {created}");
    stack.wait_running().await;

    // cdc.<table> (the seed's RegexRouter), bare JSON keys, values with the {schema, payload} wrapper.
    let customers = stack.read("cdc.customers", 10);
    for record in &customers {
        assert!(record["key"]["customer_id"].is_i64(), "{record}");
        assert!(record["value"]["schema"].is_object() && record["value"]["payload"]["op"] == "r", "{record}");
    }
    // decimal.handling.mode=double: DECIMAL(10,2) prices are JSON numbers with a double schema.
    let products = stack.read("cdc.products", 15);
    let value = &products[0]["value"];
    assert!(value["payload"]["after"]["price"].is_f64(), "{value}");
    let after = value["schema"]["fields"].as_array().unwrap().iter().find(|f| f["field"] == "after").unwrap();
    let price = after["fields"].as_array().unwrap().iter().find(|f| f["field"] == "price").unwrap();
    assert_eq!(price["type"], "double");

    // provide.transaction.metadata=true: BEGIN and END on dbserver.transaction.
    let client = stack.cluster.connect("postgres").await;
    client
        .batch_execute("INSERT INTO customers (first_name, last_name, email) VALUES ('New', 'Customer', 'new@example.com')")
        .await
        .unwrap();
    let markers = stack.read("dbserver.transaction", 2);
    let statuses: Vec<&J> = markers.iter().map(|m| &m["value"]["payload"]["status"]).collect();
    assert_eq!(statuses, [&json!("BEGIN"), &json!("END")], "{markers:?}");
    let streamed = stack.read("cdc.customers", 11);
    assert!(streamed.iter().any(|r| r["value"]["payload"]["op"] == "c"), "the insert streamed");
    // heartbeat.interval.ms: heartbeats on __debezium-heartbeat.<topic.prefix>.
    let beats = stack.read("__debezium-heartbeat.dbserver", 1);
    assert_eq!(beats[0]["key"]["serverName"], "dbserver", "{beats:?}");
    assert!(beats[0]["value"]["payload"]["ts_ms"].is_i64(), "{beats:?}");
    assert_eq!(beats[0]["value"]["schema"]["name"], "io.debezium.connector.common.Heartbeat");

    // Metrics carry the connector's name, also those recorded inside the sink and the snapshot.
    let metrics = reqwest::get(format!("{}/metrics", stack.url)).await.unwrap().text().await.unwrap();
    for metric in ["cdc_snapshot_rows_copied_total", "cdc_kafka_produce_latency_seconds_count"] {
        let labelled =
            metrics.lines().any(|l| l.starts_with(metric) && l.contains(&format!("pipeline=\"{NAME}\"")));
        assert!(labelled, "{metric} without pipeline=\"{NAME}\":\n{metrics}");
    }

    // Deploying again takes the script's update path.
    let again = stack.deploy(&fixture());
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    stack.wait_running().await;
}

#[tokio::test]
async fn invalid_configurations_are_refused_naming_the_property() {
    let stack = Stack::start().await;
    let seed = rendered(&stack);
    let with = |key: &str, value: &str| {
        let mut body = seed.clone();
        body["config"][key] = json!(value);
        body
    };
    for (body, named) in [
        (with("snapshot.fetch.sizee", "10"), "snapshot.fetch.sizee"),
        (with("table.include.list", "public.customers,public.custmers"), "public.custmers"),
        (with("plugin.name", "decoderbufs"), "plugin.name"),
        (with("heartbeat.interval.ms", "often"), "heartbeat.interval.ms"),
    ] {
        let (status, answer) = stack.post(&body).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error_code"], 400);
        assert!(answer["message"].as_str().unwrap().contains(named), "{named}: {answer}");
        assert!(!answer.to_string().contains(stack.cluster.password()), "{answer}");
    }
    let plain = reqwest::get(format!("{}/connectors", stack.url)).await.unwrap().json::<J>().await.unwrap();
    assert_eq!(plain, json!([]), "nothing was created");

    let (status, _) = stack.post(&seed).await;
    assert_eq!(status, 201);
    let (status, answer) = stack.post(&seed).await;
    assert_eq!((status, answer["error_code"].clone()), (409, json!(409)), "{answer}");
    let unknown =
        reqwest::Client::new().delete(format!("{}/connectors/nope", stack.url)).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let validated: J = reqwest::Client::new()
        .put(format!("{}/connector-plugins/PostgresConnector/config/validate", stack.url))
        .json(&with("snapshot.fetch.sizee", "10")["config"])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(validated["error_count"], 1, "{validated}");
}

#[tokio::test]
async fn delete_keeps_the_slot_and_a_re_post_resumes_with_nothing_lost_and_the_worker_restores_its_connectors(
) {
    let mut stack = Stack::start().await;
    let seed = rendered(&stack);
    assert_eq!(stack.post(&seed).await.0, 201);
    stack.wait_running().await;
    stack.read("cdc.customers", 10);

    let deleted =
        reqwest::Client::new().delete(format!("{}/connectors/{NAME}", stack.url)).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(reqwest::get(format!("{}/connectors/{NAME}", stack.url)).await.unwrap().status(), 404);
    let client = stack.cluster.connect("postgres").await;
    let slot = seed["config"]["slot.name"].as_str().unwrap().to_owned();
    let slots: i64 = client
        .query_one("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", &[&slot])
        .await
        .unwrap()
        .get(0);
    assert_eq!(slots, 1, "slot.drop.on.stop is false: the slot stays");
    for i in 0..5 {
        client
            .execute(
                "INSERT INTO customers (first_name, last_name, email) VALUES ('While', 'Deleted', $1)",
                &[&format!("deleted-{i}@example.com")],
            )
            .await
            .unwrap();
    }
    assert_eq!(stack.post(&seed).await.0, 201);
    stack.wait_running().await;

    // The worker keeps its connectors: stopped and started again, it runs this one without a new POST.
    let mut worker = stack.worker.take().unwrap().child();
    Command::new("kill").args(["-TERM", &worker.id().to_string()]).status().unwrap();
    assert!(worker.wait().unwrap().success());
    stack.start_worker().await;
    stack.wait_running().await;
    client
        .batch_execute(
            "INSERT INTO customers (first_name, last_name, email) VALUES ('Last', 'One', 'last@example.com')",
        )
        .await
        .unwrap();
    // 10 snapshot rows, 5 written while no connector ran, the last one: each once, in order.
    let records = stack.read("cdc.customers", 16);
    let emails: Vec<&str> =
        records.iter().map(|r| r["value"]["payload"]["after"]["email"].as_str().unwrap_or("")).collect();
    assert_eq!(emails.len(), 16);
    assert_eq!(emails[15], "last@example.com", "{emails:?}");
    for i in 0..5 {
        let email = format!("deleted-{i}@example.com");
        assert_eq!(emails.iter().filter(|e| **e == email).count(), 1, "{email} exactly once: {emails:?}");
    }
}

#[tokio::test]
async fn a_table_added_by_put_is_snapshotted_alone_and_regex_lists_select_existing_tables() {
    let stack = Stack::start().await;
    let mut seed = rendered(&stack);
    // A regular expression: customers only.
    seed["config"]["table.include.list"] = json!("public\\.cust.*");
    assert_eq!(stack.post(&seed).await.0, 201);
    stack.wait_running().await;
    assert_eq!(stack.read("cdc.customers", 10).len(), 10);

    // products joins the running connector: its rows arrive once, customers is not read again.
    let mut config = seed["config"].clone();
    config["table.include.list"] = json!("public\\.cust.*,public.products");
    stack.put_config(&config).await;
    stack.wait_running().await;
    let products = stack.read("cdc.products", 15);
    assert!(products.iter().all(|r| r["value"]["payload"]["op"] == "r"), "{products:?}");
    let client = stack.cluster.connect("postgres").await;
    client
        .batch_execute(
            "INSERT INTO customers (first_name, last_name, email) VALUES ('After', 'Put', 'after-put@example.com');
             UPDATE products SET price = price + 1 WHERE product_id = 1",
        )
        .await
        .unwrap();
    let customers = stack.read("cdc.customers", 11);
    let ops: Vec<&str> = customers.iter().map(|r| r["value"]["payload"]["op"].as_str().unwrap()).collect();
    assert_eq!(ops.iter().filter(|op| **op == "r").count(), 10, "customers snapshotted once: {ops:?}");
    assert_eq!(ops.last(), Some(&"c"), "{ops:?}");
    let products = stack.read("cdc.products", 16);
    assert_eq!(products[15]["value"]["payload"]["op"], "u", "the new table streams after its snapshot");

    // customers leaves: its changes stop, products goes on.
    config["table.include.list"] = json!("public.products");
    stack.put_config(&config).await;
    stack.wait_running().await;
    client
        .batch_execute(
            "INSERT INTO customers (first_name, last_name, email) VALUES ('After', 'Removal', 'gone@example.com')",
        )
        .await
        .unwrap();
    client.batch_execute("UPDATE products SET price = price + 1 WHERE product_id = 2").await.unwrap();
    let products = stack.read("cdc.products", 17);
    assert_eq!(products[16]["value"]["payload"]["op"], "u", "products streams on");
    let customers = stack.read("cdc.customers", 0);
    assert_eq!(customers.len(), 11, "no event of a table removed from table.include.list");
}

#[tokio::test]
async fn column_exclude_and_mask_properties_shape_the_events_as_debezium_does() {
    let stack = Stack::start().await;
    let mut seed = rendered(&stack);
    seed["config"]["column.exclude.list"] = json!("public.customers.phone");
    seed["config"]["column.mask.with.5.chars"] = json!("public.customers.email");
    let (status, answer) = stack.post(&seed).await;
    assert_eq!(status, 201, "{answer}");
    stack.wait_running().await;
    let client = stack.cluster.connect("postgres").await;
    client.batch_execute("UPDATE customers SET city = 'Boston' WHERE customer_id = 1").await.unwrap();

    // 10 snapshot rows and the update (REPLICA IDENTITY FULL: its `before` is the whole old row).
    let customers = stack.read("cdc.customers", 11);
    let update = customers.iter().find(|r| r["value"]["payload"]["op"] == "u").expect("the update streamed");
    for record in customers.iter().filter(|r| r["value"]["payload"]["op"] == "r").chain([update]) {
        assert!(record["key"]["customer_id"].is_i64(), "{record}");
        let value = &record["value"];
        let rows = value["schema"]["fields"].as_array().unwrap();
        for side in ["before", "after"] {
            let row = &value["payload"][side];
            if row.is_null() {
                continue;
            }
            assert_eq!(row["email"], "*****", "{record}");
            assert!(row.get("phone").is_none() && row["first_name"].is_string(), "{record}");
            let schema = rows.iter().find(|f| f["field"] == side).unwrap()["fields"].as_array().unwrap();
            assert!(schema.iter().all(|f| f["field"] != "phone"), "{record}");
            let email = schema.iter().find(|f| f["field"] == "email").unwrap();
            assert_eq!(email["parameters"]["masked"], "true", "{email}");
        }
    }
    assert_eq!(update["value"]["payload"]["after"]["city"], "Boston");
}

#[tokio::test]
async fn an_execute_snapshot_signal_reads_the_named_table_again_once_and_no_other() {
    let stack = Stack::start().await;
    let client = stack.cluster.connect("postgres").await;
    let mut seed = rendered(&stack);
    seed["config"]["signal.data.collection"] = json!("public.debezium_signal");
    let (status, answer) = stack.post(&seed).await;
    assert_eq!(status, 400, "the signal table must exist: {answer}");
    assert!(answer["message"].as_str().unwrap().contains("signal.data.collection"), "{answer}");
    client
        .batch_execute(
            "CREATE TABLE debezium_signal (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))",
        )
        .await
        .unwrap();
    assert_eq!(stack.post(&seed).await.0, 201);
    stack.wait_running().await;
    stack.read("cdc.customers", 10);
    stack.read("cdc.products", 15);

    client
        .batch_execute(
            r#"INSERT INTO debezium_signal VALUES
                 ('sig-1', 'execute-snapshot', '{"data-collections": ["public\\.cust.*"], "type": "incremental"}')"#,
        )
        .await
        .unwrap();
    let again = stack.read("cdc.customers", 20);
    assert!(again.iter().all(|r| r["value"]["payload"]["op"] == "r"), "{again:?}");
    stack.wait_running().await;
    client
        .batch_execute(
            "INSERT INTO customers (first_name, last_name, email) VALUES ('After', 'Signal', 'after-signal@example.com');
             UPDATE products SET price = price + 1 WHERE product_id = 2",
        )
        .await
        .unwrap();
    let customers = stack.read("cdc.customers", 21);
    assert_eq!(customers[20]["value"]["payload"]["op"], "c", "the signal was acted on once");
    let products = stack.read("cdc.products", 16);
    assert_eq!(products[15]["value"]["payload"]["op"], "u", "products was not read again");
}

/// Rows of the table that joins, and its chunk size: `CDC_TEST_FULL=1` runs 200k rows; CI runs 20k through the
/// same paths. Either way about 200 chunks, so the kill lands in the middle.
fn joining_rows() -> i64 {
    if std::env::var_os("CDC_TEST_FULL").is_some() {
        200_000
    } else {
        20_000
    }
}

/// Transactions a second of the load generator: the acceptance's 2,000 with `CDC_TEST_FULL=1` (run it with
/// `--release`: a debug build of the worker cannot stream 2,000 transactions a second with their transaction
/// metadata on two shared cores, and a chunk closes only when the stream reaches the present); 500 in CI.
fn write_rate() -> u64 {
    std::env::var("CDC_TEST_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(if std::env::var_os("CDC_TEST_FULL").is_some() { 2_000 } else { 500 })
}

/// What the load generator has written to `events`.
#[derive(Default)]
struct Written {
    inserts: std::sync::atomic::AtomicU64,
    stop: std::sync::atomic::AtomicBool,
}

/// [`write_rate`] single-statement transactions a second on `events` (inserts and updates), with changes to the
/// joining table's rows (updates, deletes, inserts) among them while its snapshot runs.
async fn write_steadily(client: tokio_postgres::Client, written: std::sync::Arc<Written>, rows: i64) {
    use std::sync::atomic::Ordering::SeqCst;
    let mut rng = fastrand::Rng::with_seed(99);
    // Ten transactions per tick.
    let mut pace = tokio::time::interval(Duration::from_micros(10_000_000 / write_rate()));
    while !written.stop.load(SeqCst) {
        pace.tick().await;
        for _ in 0..10 {
            let inserted = written.inserts.load(SeqCst);
            let sql = match rng.u8(0..10) {
                0..=6 => {
                    "INSERT INTO events (kind, payload, at) VALUES ('steady', '{\"n\": 1}', now())".to_owned()
                }
                7 if inserted > 0 => {
                    format!("UPDATE events SET kind = kind || '!' WHERE id = {}", rng.u64(1..=inserted))
                }
                8 => format!(
                    "UPDATE accounts SET balance = balance + 1, active = NOT active WHERE id = {}",
                    rng.i64(1..=rows)
                ),
                9 if rng.bool() => format!("DELETE FROM accounts WHERE id = {}", rng.i64(1..=rows)),
                _ => {
                    let id = rng.i64(1..=rows + rows / 10);
                    format!("INSERT INTO accounts VALUES ({id}, 'new{id}', 1.50, true) ON CONFLICT (id) DO UPDATE SET owner = 'upserted'")
                }
            };
            client.batch_execute(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            if sql.starts_with("INSERT INTO events") {
                written.inserts.fetch_add(1, SeqCst);
            }
        }
    }
}

/// The chunk progress of the joining table: `Some(last key)` while its incremental snapshot is under way.
async fn chunk_progress(client: &tokio_postgres::Client) -> Option<i64> {
    let row = client
        .query_opt(
            "SELECT last_key[1]::bigint FROM cdc_incremental_snapshot WHERE slot_name = 'cdc_slot' AND table_name = 'accounts'",
            &[],
        )
        .await
        .ok()??;
    row.get(0)
}

async fn snapshot_done(client: &tokio_postgres::Client) -> bool {
    client
        .query_opt(
            "SELECT 1 FROM cdc_snapshot_progress WHERE slot_name = 'cdc_slot' AND table_name = 'accounts'",
            &[],
        )
        .await
        .is_ok_and(|row| row.is_some())
}

#[tokio::test]
async fn a_table_added_under_load_is_snapshotted_incrementally_and_resumes_from_its_last_chunk_after_kill_dash_nine(
) {
    use std::sync::atomic::Ordering::SeqCst;
    let mut stack = Stack::start().await;
    let client = stack.cluster.connect("postgres").await;
    let rows = joining_rows();
    client.batch_execute(cdc_test_support::workload::TABLES).await.unwrap();
    client
        .batch_execute(&format!(
            "INSERT INTO accounts SELECT g, 'o' || g, g / 100.0, g % 2 = 0 FROM generate_series(1, {rows}) g"
        ))
        .await
        .unwrap();
    let mut seed = rendered(&stack);
    let config = &mut seed["config"];
    config["table.include.list"] = json!("public.events");
    config["slot.name"] = json!("cdc_slot");
    config["decimal.handling.mode"] = json!("precise");
    config["incremental.snapshot.chunk.size"] = json!((rows / 200).to_string());
    let (status, answer) = stack.post(&seed).await;
    assert_eq!(status, 201, "{answer}");
    stack.wait_running().await;

    // The warehouse side: `cdc load` of cdc.events and cdc.accounts into DuckDB, running throughout.
    let warehouse = tempfile::tempdir().unwrap();
    crate::load::write_config(
        warehouse.path(),
        &stack.broker,
        crate::load::Extra { source_tables: r#""accounts", "events""#, ..Default::default() },
    );
    let loader = spawn(&stack.cluster, warehouse.path(), &["load"]);

    let written = std::sync::Arc::new(Written::default());
    let writer = tokio::spawn(write_steadily(stack.cluster.connect("postgres").await, written.clone(), rows));
    wait_for_every("the load to be under way", WAIT, POLL, || {
        let n = written.inserts.load(SeqCst);
        async move { (n > 500).then_some(()) }
    })
    .await;

    // accounts joins the running connector.
    let mut config = seed["config"].clone();
    config["table.include.list"] = json!("public.events,public.accounts");
    stack.put_config(&config).await;
    wait_for_every("a few chunks of accounts to be durable", WAIT, POLL, || {
        let client = &client;
        async move { chunk_progress(client).await.filter(|key| *key >= 3 * (rows / 200)).map(|_| ()) }
    })
    .await;

    // kill -9 in the middle of the snapshot, with the load going on.
    crate::load::kill(stack.worker.take().unwrap());
    let durable = chunk_progress(&client).await.expect("the snapshot of accounts was under way");
    assert!(!snapshot_done(&client).await, "accounts was not done yet");

    // Up to the kill, events got each insert exactly once and in commit order, across the PUT's restart and the
    // chunks: no gap, no duplicate. (One writer connection, so commit order is id order.)
    let records = stack.read("cdc.events", 0);
    let created: Vec<i64> = records
        .iter()
        .filter(|r| r["value"]["payload"]["op"] == "c")
        .map(|r| r["key"]["id"].as_i64().unwrap())
        .collect();
    assert!(created.len() > 500, "{} inserts of events reached the topic", created.len());
    assert_eq!(created, (1..=created.len() as i64).collect::<Vec<_>>(), "events: no gap, no duplicate");

    stack.start_worker().await;
    stack.wait_running().await;
    wait_for_every("the snapshot of accounts to finish", WAIT * 3, POLL, || {
        let client = &client;
        async move { snapshot_done(client).await.then_some(()) }
    })
    .await;
    let worker = stack.worker.as_ref().unwrap();
    let log = worker.log_text();
    let resumed = log.lines().find(|l| l.contains("incremental snapshot resumes")).unwrap_or_default();
    assert!(
        resumed.contains(&durable.to_string()),
        "the restarted worker resumes accounts after its last durable chunk ({durable}):\n{}",
        worker.log_text()
    );
    assert!(!worker.log_contains("incremental snapshot planned"), "accounts was not started over");

    written.stop.store(true, SeqCst);
    writer.await.unwrap();
    crate::load::wait_all_loaded(&client, &stack.broker, warehouse.path(), &["accounts", "events"]).await;
    crate::load::assert_tables_equal(&client, warehouse.path(), &["accounts", "events"]).await;
    crate::load::stop(loader);
}
