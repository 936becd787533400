//! The embedded schema registry over a real PostgreSQL, driven by Confluent's Python client, by our
//! [`RegistryClient`] and by raw HTTP where the exact answer matters.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;

use axum::http::{header, StatusCode};
use cdc_avro::registry::client::RegistryConfig;
use cdc_avro::registry::compat::Direction;
use cdc_avro::registry::server::routes;
use cdc_avro::registry::{CompatibilityCheck, RegistryClient, RegistryError, SchemaId, SchemaStore};
use cdc_core::config::{PostgresConfig, Secret};
use cdc_test_support::PgCluster;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// An embedded registry serving on a free loopback port until [`Registry::stop`] or drop.
struct Registry {
    url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Registry {
    /// Opens the store in `db` and serves it.
    async fn start(pg: &PgCluster, db: &str) -> Registry {
        Registry::serve(routes(Arc::new(SchemaStore::open(&postgres(pg, db)).await.unwrap()))).await
    }

    async fn serve(app: axum::Router) -> Registry {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Registry { url: format!("http://{addr}"), shutdown: Some(shutdown), task: Some(task) }
    }

    fn client(&self) -> RegistryClient {
        RegistryClient::new(RegistryConfig::new(&self.url)).unwrap()
    }

    /// Stops serving and waits until the server has finished.
    async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

fn postgres(pg: &PgCluster, db: &str) -> PostgresConfig {
    PostgresConfig {
        host: pg.host().into(),
        port: pg.port(),
        dbname: db.into(),
        user: "postgres".into(),
        password: Some(Secret::new(pg.password())),
        ..PostgresConfig::default()
    }
}

/// An `Order` record with `fields` after its `id`.
fn order(fields: &[Value]) -> String {
    let mut all = vec![json!({"name": "id", "type": "long"})];
    all.extend_from_slice(fields);
    json!({"type": "record", "name": "Order", "namespace": "shop", "fields": all}).to_string()
}

async fn http_get(url: &str) -> (StatusCode, Option<String>, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status();
    let content_type =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = response.json().await.unwrap_or(Value::Null);
    (status, content_type, body)
}

async fn http_send(method: reqwest::Method, url: impl reqwest::IntoUrl, body: Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .request(method, url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluents_python_client_works_against_the_embedded_registry() {
    let pg = PgCluster::start();
    let registry = Registry::start(&pg, "postgres").await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/registry_check.py");
    let output = tokio::process::Command::new("python3")
        .arg(script)
        .arg(&registry.url)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("python3 with confluent-kafka (scripts/install-deps.sh installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "registry_check.py failed:\n{stderr}\nstdout:\n{stdout}");
    let results: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(results["latest_version"][0], 2);
    assert_eq!(results["incompatible_schema"]["http_status"], 409);
    let message = results["incompatible_schema"]["message"].as_str().unwrap();
    assert!(message.contains("field 'customer' has no default value"), "{message}");
    assert_eq!(results["invalid_schema"]["http_status"], 422);
    registry.stop().await;
}

#[tokio::test]
async fn registering_the_same_schema_again_returns_the_same_id_under_every_subject() {
    let pg = PgCluster::start();
    let registry = Registry::start(&pg, "postgres").await;
    let v1 = order(&[]);
    let id = registry.client().register("shop.orders-value", &v1).await.unwrap();
    assert_eq!(id, SchemaId(1));
    // A fresh client (empty cache) asks the registry again; whitespace and key order do not matter.
    let reordered = json!({"namespace": "shop", "fields": [{"type": "long", "name": "id"}], "name": "Order",
                           "type": "record"})
    .to_string();
    assert_eq!(registry.client().register("shop.orders-value", &reordered).await.unwrap(), id);
    assert_eq!(registry.client().register("archive.orders-value", &v1).await.unwrap(), id);
    let (_, _, versions) = http_get(&format!("{}/subjects/shop.orders-value/versions", registry.url)).await;
    assert_eq!(versions, json!([1]));
    assert_eq!(registry.client().lookup("shop.orders-value", &v1).await.unwrap(), Some(id));
    assert_eq!(registry.client().lookup("nobody-value", &v1).await.unwrap(), None);
}

#[tokio::test]
async fn schema_by_id_returns_the_registered_schema() {
    let pg = PgCluster::start();
    let registry = Registry::start(&pg, "postgres").await;
    let client = registry.client();
    let text = order(&[json!({"name": "note", "type": ["null", "string"], "default": null})]);
    let id = client.register("shop.orders-value", &text).await.unwrap();
    let fetched = client.schema_by_id(id).await.unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&fetched).unwrap(),
        serde_json::from_str::<Value>(&text).unwrap()
    );
    let missing = client.schema_by_id(SchemaId(42)).await.unwrap_err();
    assert_eq!((missing.status(), missing.error_code()), (Some(404), Some(40403)), "{missing}");
}

#[tokio::test]
async fn schemas_differing_only_in_connect_properties_get_different_ids() {
    let pg = PgCluster::start();
    let registry = Registry::start(&pg, "postgres").await;
    let client = registry.client();
    let plain = order(&[json!({"name": "at", "type": "string"})]);
    let connect = order(&[json!({"name": "at", "type": {"type": "string", "connect.version": 1,
                                                        "connect.name": "io.debezium.time.ZonedTimestamp"}})]);
    let plain_id = client.register("a-value", &plain).await.unwrap();
    let connect_id = client.register("b-value", &connect).await.unwrap();
    assert_ne!(plain_id, connect_id);
    assert!(client.schema_by_id(connect_id).await.unwrap().contains("io.debezium.time.ZonedTimestamp"));
}

#[tokio::test]
async fn an_incompatible_change_is_refused_with_an_error_naming_the_field() {
    let pg = PgCluster::start();
    let registry = Registry::start(&pg, "postgres").await;
    let client = registry.client();
    client.register("shop.orders-value", &order(&[])).await.unwrap();
    let breaking = order(&[json!({"name": "customer", "type": "string"})]);

    let check = client.check_compatibility("shop.orders-value", &breaking).await.unwrap();
    let CompatibilityCheck::Incompatible { messages } = check else {
        panic!("expected incompatible: {check:?}")
    };
    assert!(messages.iter().any(|m| m.contains("field 'customer' has no default value")), "{messages:?}");

    let refused = client.register("shop.orders-value", &breaking).await.unwrap_err();
    assert!(refused.is_incompatible(), "{refused:?}");
    assert_eq!(refused.status(), Some(409));
    let text = refused.to_string();
    assert!(text.contains("customer") && text.contains("version 1") && text.contains("BACKWARD"), "{text}");
    assert!(refused.hint().unwrap().contains("default"));

    // With a default the same field is fine, and a subject nobody registered accepts anything.
    let fixed = order(&[json!({"name": "customer", "type": "string", "default": ""})]);
    let check = client.check_compatibility("shop.orders-value", &fixed).await.unwrap();
    assert_eq!(check, CompatibilityCheck::Compatible);
    assert_eq!(
        client.check_compatibility("new-value", &breaking).await.unwrap(),
        CompatibilityCheck::Compatible
    );
    assert_eq!(client.register("shop.orders-value", &fixed).await.unwrap(), SchemaId(2));
}

#[tokio::test]
async fn ids_and_versions_survive_a_restart_of_the_registry() {
    let pg = PgCluster::start();
    let db = pg.create_database("registry").await;
    let first = Registry::start(&pg, &db).await;
    let v1 = order(&[]);
    let v2 = order(&[json!({"name": "note", "type": ["null", "string"], "default": null})]);
    let id1 = first.client().register("shop.orders-value", &v1).await.unwrap();
    let id2 = first.client().register("shop.orders-value", &v2).await.unwrap();
    first.stop().await;

    let second = Registry::start(&pg, &db).await;
    let client = second.client();
    assert_eq!(client.register("shop.orders-value", &v1).await.unwrap(), id1);
    assert_eq!(
        serde_json::from_str::<Value>(&client.schema_by_id(id2).await.unwrap()).unwrap(),
        serde_json::from_str::<Value>(&v2).unwrap()
    );
    let v3 = order(&[
        json!({"name": "note", "type": ["null", "string"], "default": null}),
        json!({"name": "paid", "type": "boolean", "default": false}),
    ]);
    assert_eq!(client.register("shop.orders-value", &v3).await.unwrap(), SchemaId(3));
    let (_, _, latest) =
        http_get(&format!("{}/subjects/shop.orders-value/versions/latest", second.url)).await;
    assert_eq!((latest["version"].clone(), latest["id"].clone()), (json!(3), json!(3)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_registrations_through_two_registries_hand_out_each_id_and_version_once() {
    let pg = PgCluster::start();
    let db = pg.create_database("registry").await;
    let a = Registry::start(&pg, &db).await;
    let b = Registry::start(&pg, &db).await;
    let (_, level) =
        http_send(reqwest::Method::PUT, &format!("{}/config", a.url), json!({"compatibility": "NONE"})).await;
    assert_eq!(level, json!({"compatibility": "NONE"}));

    let mut tasks = Vec::new();
    for i in 0..8 {
        let url = if i % 2 == 0 { a.url.clone() } else { b.url.clone() };
        // Eight distinct schemas under one subject, and the same shared schema under another from everyone.
        let own = order(&[json!({"name": format!("f{i}"), "type": "int", "default": 0})]);
        tasks.push(tokio::spawn(async move {
            let client = RegistryClient::new(RegistryConfig::new(url)).unwrap();
            let own = client.register("many-value", &own).await.unwrap();
            let shared = client.register("shared-value", &order(&[])).await.unwrap();
            (own, shared)
        }));
    }
    let mut own_ids = Vec::new();
    let mut shared_ids = Vec::new();
    for task in tasks {
        let (own, shared) = task.await.unwrap();
        own_ids.push(own);
        shared_ids.push(shared);
    }
    shared_ids.dedup();
    assert_eq!(shared_ids.len(), 1, "one schema, one id: {shared_ids:?}");
    own_ids.sort();
    own_ids.dedup();
    assert_eq!(own_ids.len(), 8);
    let (_, _, versions) = http_get(&format!("{}/subjects/many-value/versions", b.url)).await;
    assert_eq!(versions, json!([1, 2, 3, 4, 5, 6, 7, 8]));
    let (_, _, shared_versions) = http_get(&format!("{}/subjects/shared-value/versions", a.url)).await;
    assert_eq!(shared_versions, json!([1]));
}

#[tokio::test]
async fn the_http_api_answers_with_confluents_bodies_codes_and_media_type() {
    let pg = PgCluster::start();
    let registry = Registry::start(&pg, "postgres").await;
    let url = &registry.url;
    // Subjects with `/` and spaces travel percent-encoded.
    let subject = "team a/orders-value";
    let id = registry.client().register(subject, &order(&[])).await.unwrap();

    let (status, content_type, body) =
        http_get(&format!("{url}/subjects/team%20a%2Forders-value/versions/-1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("application/vnd.schemaregistry.v1+json"));
    assert_eq!(body["subject"], subject);
    assert_eq!((body["version"].clone(), body["id"].clone()), (json!(1), json!(id.0)));
    assert!(body.get("schemaType").is_none(), "AVRO is implied: {body}");

    let (status, _, body) = http_get(&format!("{url}/subjects/team%20a%2Forders-value/versions/first")).await;
    assert_eq!((status, body["error_code"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!(42202)));
    let (status, _, body) = http_get(&format!("{url}/schemas/ids/{id}/versions")).await;
    assert_eq!((status, body), (StatusCode::OK, json!([{"subject": subject, "version": 1}])));
    let (_, _, body) = http_get(&format!("{url}/schemas/ids/77")).await;
    assert_eq!(body, json!({"error_code": 40403, "message": "Schema 77 not found"}));

    // Per-subject configuration: absent until set, unless the global one is asked for.
    let config = format!("{url}/config/team%20a%2Forders-value");
    let (status, _, body) = http_get(&config).await;
    assert_eq!((status, body["error_code"].clone()), (StatusCode::NOT_FOUND, json!(40408)));
    let (_, _, body) = http_get(&format!("{config}?defaultToGlobal=true")).await;
    assert_eq!(body, json!({"compatibilityLevel": "BACKWARD"}));
    let (status, body) = http_send(reqwest::Method::PUT, &config, json!({"compatibility": "SIDEWAYS"})).await;
    assert_eq!((status, body["error_code"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!(42203)));
    let (_, body) =
        http_send(reqwest::Method::PUT, &config, json!({"compatibility": "full_transitive"})).await;
    assert_eq!(body, json!({"compatibility": "FULL_TRANSITIVE"}));
    let (_, _, body) = http_get(&config).await;
    assert_eq!(body, json!({"compatibilityLevel": "FULL_TRANSITIVE"}));

    // Verbose compatibility answers carry the reasons.
    let breaking = json!({"schema": order(&[json!({"name": "x", "type": "int"})])});
    let (status, body) = http_send(
        reqwest::Method::POST,
        &format!("{url}/compatibility/subjects/team%20a%2Forders-value/versions/latest?verbose=true"),
        breaking,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["is_compatible"], false);
    assert!(
        body["messages"].as_array().unwrap().iter().any(|m| m.as_str().unwrap().contains("field 'x'")),
        "{body}"
    );

    // Only Avro, and no references.
    let (status, body) = http_send(
        reqwest::Method::POST,
        &format!("{url}/subjects/p-value/versions"),
        json!({"schema": "syntax = \"proto3\";", "schemaType": "PROTOBUF"}),
    )
    .await;
    assert_eq!((status, body["error_code"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!(42201)));
    let (_, _, types) = http_get(&format!("{url}/schemas/types")).await;
    assert_eq!(types, json!(["AVRO"]));
    let (_, _, mode) = http_get(&format!("{url}/mode")).await;
    assert_eq!(mode, json!({"mode": "READWRITE"}));
}

#[tokio::test]
async fn deletes_go_soft_then_permanent_as_confluents_do() {
    let pg = PgCluster::start();
    let registry = Registry::start(&pg, "postgres").await;
    let url = &registry.url;
    let client = registry.client();
    let v1 = order(&[]);
    let v2 = order(&[json!({"name": "note", "type": ["null", "string"], "default": null})]);
    let id1 = client.register("s-value", &v1).await.unwrap();
    client.register("s-value", &v2).await.unwrap();
    let delete = |path: &str| http_send(reqwest::Method::DELETE, format!("{url}{path}"), Value::Null);

    assert_eq!(delete("/subjects/s-value?permanent=true").await.1["error_code"], 40405);
    assert_eq!(delete("/subjects/s-value/versions/2?permanent=true").await.1["error_code"], 40407);
    assert_eq!(delete("/subjects/s-value/versions/latest").await, (StatusCode::OK, json!(2)));
    assert_eq!(delete("/subjects/s-value/versions/2").await.1["error_code"], 40406);
    let (_, _, latest) = http_get(&format!("{url}/subjects/s-value/versions/latest")).await;
    assert_eq!(latest["version"], 1);
    let (_, _, all) = http_get(&format!("{url}/subjects/s-value/versions?deleted=true")).await;
    assert_eq!(all, json!([1, 2]));
    assert_eq!(delete("/subjects/s-value").await, (StatusCode::OK, json!([1])));
    assert_eq!(delete("/subjects/s-value").await.1["error_code"], 40404);
    assert_eq!(delete("/subjects/s-value?permanent=true").await, (StatusCode::OK, json!([1, 2])));
    assert_eq!(delete("/subjects/s-value").await.1["error_code"], 40401);

    // Data written with the schema stays decodable, and registering it again gives the same id, version 1.
    assert!(client.schema_by_id(id1).await.is_ok());
    assert_eq!(registry.client().register("s-value", &v1).await.unwrap(), id1);
    let (_, _, versions) = http_get(&format!("{url}/subjects/s-value/versions")).await;
    assert_eq!(versions, json!([1]));
}

#[tokio::test]
async fn basic_auth_credentials_are_sent_and_a_refusal_names_them() {
    let pg = PgCluster::start();
    let store = Arc::new(SchemaStore::open(&postgres(&pg, "postgres")).await.unwrap());
    // The registry behind a basic-auth check, as a deployment would put it.
    let expected = "Basic dXNlcjpzM2NyZXQ="; // user:s3cret
    let app = routes(store).layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| async move {
            let presented = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            if presented == Some(expected) {
                next.run(request).await
            } else {
                let body = json!({"error_code": 40101, "message": "Unauthorized"}).to_string();
                axum::response::IntoResponse::into_response((StatusCode::UNAUTHORIZED, body))
            }
        },
    ));
    let registry = Registry::serve(app).await;

    let mut config = RegistryConfig::new(&registry.url);
    config.basic_auth = Some(("user".into(), Secret::new("s3cret")));
    assert_eq!(
        RegistryClient::new(config).unwrap().register("a-value", &order(&[])).await.unwrap(),
        SchemaId(1)
    );

    let in_url = registry.url.replace("http://", "http://user:s3cret@");
    let client = RegistryClient::new(RegistryConfig::new(in_url)).unwrap();
    assert_eq!(client.schema_by_id(SchemaId(1)).await.map(|_| ()).unwrap(), ());

    let mut wrong = RegistryConfig::new(&registry.url);
    wrong.basic_auth = Some(("user".into(), Secret::new("guess")));
    let refused = RegistryClient::new(wrong).unwrap().schema_by_id(SchemaId(1)).await.unwrap_err();
    assert_eq!((refused.status(), refused.error_code()), (Some(401), Some(40101)));
    assert!(refused.hint().unwrap().contains("credentials"), "{:?}", refused.hint());
    assert!(!format!("{refused:?} {refused}").contains("guess"));
}

#[tokio::test]
async fn an_unreachable_registry_fails_after_retries_with_a_hint_about_the_url() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = RegistryClient::new(RegistryConfig::new(format!("http://127.0.0.1:{port}"))).unwrap();
    let error = client.register("a-value", &order(&[])).await.unwrap_err();
    let RegistryError::Unreachable { attempts, .. } = &error else {
        panic!("expected unreachable: {error:?}")
    };
    assert_eq!(*attempts, 4);
    assert!(error.hint().unwrap().contains("is schema_registry_url right?"));
    assert_eq!(error.retry(), cdc_avro::registry::Retry::Transient);
}

#[test]
fn compat_problems_report_the_direction_that_failed() {
    // FULL: a new required field breaks backward reading, a widened type breaks forward reading.
    let old = apache_avro::Schema::parse_str(&order(&[])).unwrap();
    let new = apache_avro::Schema::parse_str(
        &json!({"type": "record", "name": "Order", "namespace": "shop",
                "fields": [{"name": "id", "type": "double"}, {"name": "x", "type": "int"}]})
        .to_string(),
    )
    .unwrap();
    let refused =
        cdc_avro::registry::check(cdc_avro::registry::Compatibility::Full, &new, &[old]).unwrap_err();
    let directions: Vec<Direction> = refused.problems.iter().map(|p| p.direction).collect();
    assert_eq!(directions, vec![Direction::Backward, Direction::Forward]);
}

#[tokio::test]
async fn the_registry_reconnects_after_postgresql_restarts() {
    let pg = PgCluster::start();
    let registry = Registry::start(&pg, "postgres").await;
    let id = registry.client().register("a-value", &order(&[])).await.unwrap();
    pg.restart();
    // The store finds its connection closed and opens a new one before answering.
    let client = registry.client();
    assert_eq!(client.schema_by_id(id).await.unwrap().len(), order(&[]).len());
    assert_eq!(client.register("b-value", &order(&[])).await.unwrap(), id);
}

#[test]
fn an_extra_ca_file_is_trusted_and_a_file_without_certificates_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("ca.key"), dir.path().join("ca.crt"));
    let status = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=registry-ca"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let mut config = RegistryConfig::new("https://registry.example:8081");
    config.ca_file = Some(cert);
    RegistryClient::new(config.clone()).unwrap();

    config.ca_file = Some(key.with_extension("txt"));
    std::fs::write(config.ca_file.as_ref().unwrap(), "not a certificate").unwrap();
    let error = RegistryClient::new(config).unwrap_err();
    assert!(matches!(error, RegistryError::CaFile { .. }), "{error:?}");
    assert!(error.hint().unwrap().contains("PEM"));
}
