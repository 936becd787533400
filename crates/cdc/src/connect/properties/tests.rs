use std::collections::BTreeMap;

use cdc_avro::registry::SubjectNameStrategy;
use cdc_core::config::{SnapshotMode, SslMode};
use cdc_core::envelope::{DecimalHandling, EventFormat, TimePrecision};

use super::*;

/// The seed's connector template (`${POSTGRES_*}` placeholders), as its deploy script renders it with envsubst.
const SEED_TEMPLATE: &str = include_str!("../../../tests/fixtures/postgres-connector.json");

fn seed() -> ConnectorConfig {
    let rendered = SEED_TEMPLATE
        .replace("${POSTGRES_HOST}", "postgres")
        .replace("${POSTGRES_PORT}", "5432")
        .replace("${POSTGRES_USER}", "cdc_replicator")
        .replace("${POSTGRES_PASSWORD}", "replicator-s3cret")
        .replace("${POSTGRES_DB}", "postgres");
    serde_json::from_str(&rendered).unwrap()
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn base() -> Config {
    let mut base = Config::default();
    base.kafka.bootstrap_servers = "kafka-1:9092,kafka-2:9092".into();
    base
}

/// The smallest configuration Debezium accepts, plus `extra`.
fn minimal(extra: &[(&str, &str)]) -> ConnectorConfig {
    let mut config: BTreeMap<String, String> = [
        ("connector.class", POSTGRES_CONNECTOR_CLASS),
        ("database.hostname", "db.internal"),
        ("database.user", "replicator"),
        ("database.dbname", "shop"),
        ("topic.prefix", "shop"),
        ("plugin.name", "pgoutput"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        config.insert((*k).to_owned(), (*v).to_owned());
    }
    ConnectorConfig { name: "shop-connector".into(), config }
}

fn ok(connector: &ConnectorConfig) -> Translated {
    translate_with(connector, &base(), &no_env).unwrap_or_else(|rejected| panic!("{rejected}"))
}

fn rejected(connector: &ConnectorConfig) -> Rejected {
    match translate_with(connector, &base(), &no_env) {
        Ok(_) => panic!("the configuration was accepted"),
        Err(rejected) => rejected,
    }
}

/// The single error about `property`.
fn error_for(rejected: &Rejected, property: &str) -> String {
    let messages = rejected.messages_for(property);
    assert_eq!(messages.len(), 1, "errors about {property}: {rejected}");
    messages[0].to_owned()
}

#[test]
fn the_seed_connector_translates_field_by_field() {
    let t = ok(&seed());
    let c = &t.config;

    assert_eq!(c.postgres.host, "postgres");
    assert_eq!(c.postgres.port, 5432);
    assert_eq!(c.postgres.user, "cdc_replicator");
    assert_eq!(c.postgres.password.as_ref().map(|p| p.expose()), Some("replicator-s3cret"));
    assert_eq!(c.postgres.dbname, "postgres");
    assert_eq!(c.postgres.sslmode, SslMode::Prefer, "Debezium's default sslmode");

    assert_eq!(c.source.slot_name, "debezium_slot");
    assert_eq!(c.source.publication, "dbz_publication");
    assert_eq!(t.publication_autocreate, PublicationAutocreate::Filtered);
    assert_eq!(
        c.source.tables,
        [
            "public.customers",
            "public.products",
            "public.orders",
            "public.order_items",
            "public.inventory_transactions",
            "public.linkedin_jobs"
        ]
    );
    assert_eq!(c.source.snapshot_mode, SnapshotMode::Initial);
    assert_eq!(t.snapshot_mode_extra, None);
    assert_eq!(c.source.heartbeat_interval_ms, 10_000);

    assert_eq!(c.events.topic_prefix, "dbserver");
    assert_eq!(c.events.template(), "{prefix}.{schema}.{table}");
    assert_eq!(c.events.format, EventFormat::JsonSchema, "value.converter.schemas.enable=true");
    assert_eq!(c.events.key_format(), EventFormat::Json, "key.converter.schemas.enable=false");
    assert_eq!(c.events.decimal_handling, DecimalHandling::Double);
    assert_eq!(c.events.time_precision, TimePrecision::AdaptiveTimeMicroseconds);
    assert!(c.events.tombstones);
    assert!(c.events.transaction_metadata);

    assert_eq!(
        t.heartbeat,
        Heartbeat {
            interval_ms: 10_000,
            topics_prefix: "__debezium-heartbeat".into(),
            delimiter: ".".into(),
            action_query: None,
        }
    );
    assert_eq!(t.heartbeat.topic(&c.events.topic_prefix), "__debezium-heartbeat.dbserver");
    assert_eq!(t.transforms.len(), 1);
    let route = &t.transforms[0];
    assert_eq!(route.name, "route");
    assert_eq!(route.class, "org.apache.kafka.connect.transforms.RegexRouter");
    assert_eq!(route.props.get("regex").map(String::as_str), Some("([^.]+)\\.([^.]+)\\.([^.]+)"));
    assert_eq!(route.props.get("replacement").map(String::as_str), Some("cdc.$3"));
    assert_eq!(route.props.len(), 2);
    assert!(t.predicates.is_empty());

    assert!(t.filters.matches("public", "customers"));
    assert!(t.filters.matches("public", "linkedin_jobs"));
    assert!(!t.filters.matches("public", "ingestion_runs"));
    assert!(t.filters.column_included("public", "customers", "email"));
    assert_eq!(t.column_policies, ColumnPolicies::default());

    // Debezium's defaults for what the seed leaves out.
    assert!(!t.slot_drop_on_stop);
    assert_eq!(t.signal_data_collection, None);
    assert_eq!(t.incremental_snapshot_chunk_size, 1_024);
    // Except the snapshot's threads: Debezium's 1 would leave cdc's parallel snapshot idle.
    assert_eq!(t.snapshot_max_threads, cdc_core::config::DEFAULT_SNAPSHOT_MAX_THREADS);
    assert_eq!(t.skipped_operations, [SkippedOperation::Truncate]);
    assert!(!t.errors_tolerance_all && !t.errors_log_enable && !t.errors_log_include_messages);
    assert_eq!((t.max_batch_size, t.max_queue_size, t.poll_interval_ms), (2_048, 8_192, 500));

    // The worker's settings stand where the connector says nothing.
    assert_eq!(c.kafka.bootstrap_servers, "kafka-1:9092,kafka-2:9092");
    assert_eq!(c.pipeline, base().pipeline);
    assert_eq!(c.schema_registry.url, None);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);

    assert!(!format!("{t:?}").contains("replicator-s3cret"), "the password leaked into Debug output");
    assert!(!format!("{:?}", seed()).contains("replicator-s3cret"));
}

#[test]
fn a_misspelt_include_entry_is_detectable() {
    let connector = minimal(&[("table.include.list", "public.customers,public.custmers,sales\\..*")]);
    let t = ok(&connector);
    assert_eq!(t.config.source.tables, Vec::<String>::new(), "a regex entry needs the catalog");
    let existing = [("public".to_owned(), "customers".to_owned()), ("sales".to_owned(), "orders".to_owned())];
    assert_eq!(t.filters.unmatched_entries(&existing), ["public.custmers"]);
}

#[test]
fn absent_properties_take_debeziums_defaults() {
    let t = ok(&minimal(&[]));
    assert_eq!(t.config.source.slot_name, "debezium");
    assert_eq!(t.config.source.publication, "dbz_publication");
    assert_eq!(t.config.postgres.port, 5432);
    assert_eq!(t.config.postgres.password, None);
    assert_eq!(t.heartbeat.interval_ms, 0);
    assert_eq!(t.config.source.heartbeat_interval_ms, base().source.heartbeat_interval_ms);
    assert_eq!(t.publication_autocreate, PublicationAutocreate::AllTables);
    assert_eq!(t.config.source.tables, Vec::<String>::new());
    assert_eq!(t.config.events.decimal_handling, DecimalHandling::Precise);
    // No converter in the connector: the worker's format.
    assert_eq!(t.config.events.format, base().events.format);

    let mut without_plugin = minimal(&[]);
    without_plugin.config.remove("plugin.name");
    let t = ok(&without_plugin);
    assert!(t.warnings.iter().any(|w| w.starts_with("plugin.name")), "{:?}", t.warnings);
}

#[test]
fn json_numbers_and_booleans_are_accepted_as_values() {
    let connector: ConnectorConfig = serde_json::from_value(serde_json::json!({
        "name": "n",
        "config": {
            "connector.class": POSTGRES_CONNECTOR_CLASS, "database.hostname": "h", "database.user": "u",
            "database.dbname": "d", "topic.prefix": "p", "plugin.name": "pgoutput",
            "database.port": 6543, "tombstones.on.delete": false, "heartbeat.action.query": null
        }
    }))
    .unwrap();
    let t = ok(&connector);
    assert_eq!(t.config.postgres.port, 6543);
    assert!(!t.config.events.tombstones);
    assert_eq!(t.heartbeat.action_query, None);

    let err =
        ConnectorConfig::from_values("n", [("tasks.max".to_owned(), serde_json::json!([1]))]).unwrap_err();
    assert_eq!(err.errors[0].property, "tasks.max");
}

#[test]
fn an_unknown_property_is_refused_by_name() {
    let r = rejected(&minimal(&[("table.incluude.list", "public.x"), ("table.whitelist", "public.x")]));
    assert!(error_for(&r, "table.incluude.list").contains("not a Debezium PostgreSQL connector property"));
    assert!(error_for(&r, "table.whitelist").contains("table.include.list"));
    let r = rejected(&minimal(&[("producer.override.linger.ms", "5")]));
    assert!(error_for(&r, "producer.override.linger.ms").contains("[kafka] client"));
}

#[test]
fn a_bad_number_or_boolean_names_the_property_and_the_value() {
    let r = rejected(&minimal(&[
        ("database.port", "54x2"),
        ("tombstones.on.delete", "yes"),
        ("heartbeat.interval.ms", "-5"),
        ("column.mask.with.many.chars", "public.c.email"),
    ]));
    assert!(error_for(&r, "database.port").contains("\"54x2\""));
    assert!(error_for(&r, "tombstones.on.delete").contains("\"yes\""));
    assert!(error_for(&r, "heartbeat.interval.ms").contains("\"-5\""));
    assert!(error_for(&r, "column.mask.with.many.chars").contains("\"many\""));
    assert_eq!(r.errors.len(), 4, "{r}");
}

#[test]
fn every_error_is_reported_at_once_in_kafka_connects_shape() {
    let mut connector = minimal(&[("connector.class", "io.debezium.connector.mysql.MySqlConnector")]);
    connector.config.remove("database.hostname");
    connector.config.remove("topic.prefix");
    let r = rejected(&connector);
    assert!(error_for(&r, "connector.class").contains("MySqlConnector"));
    assert!(error_for(&r, "database.hostname").contains("required"));
    assert!(error_for(&r, "topic.prefix").contains("required"));
    let text = r.to_string();
    assert!(
        text.starts_with("Connector configuration is invalid and contains the following 3 error(s):\n"),
        "{text}"
    );
    assert!(text.contains("\ndatabase.hostname: is required"), "{text}");
    assert_eq!(r.connect_body()["error_code"], 400);
}

#[test]
fn only_pgoutput_is_decoded() {
    for plugin in ["decoderbufs", "wal2json"] {
        let r = rejected(&minimal(&[("plugin.name", plugin)]));
        let message = error_for(&r, "plugin.name");
        assert!(message.contains(plugin) && message.contains("pgoutput"), "{message}");
    }
    assert!(ok(&minimal(&[("plugin.name", "PGOUTPUT")])).warnings.is_empty());
}

#[test]
fn include_and_exclude_lists_of_one_level_are_mutually_exclusive() {
    let r = rejected(&minimal(&[("table.include.list", "public.a"), ("table.exclude.list", "public.b")]));
    assert!(error_for(&r, "table.exclude.list").contains("table.include.list"));
    let r = rejected(&minimal(&[("schema.include.list", "public"), ("schema.exclude.list", "audit")]));
    assert!(error_for(&r, "schema.exclude.list").contains("schema.include.list"));
    // Different levels combine.
    let t = ok(&minimal(&[("schema.include.list", "public"), ("table.exclude.list", "public\\.audit_.*")]));
    assert!(t.filters.matches("public", "orders"));
    assert!(!t.filters.matches("public", "audit_log"));
    assert!(!t.filters.matches("sales", "orders"));
    let r = rejected(&minimal(&[("table.include.list", "public.(a")]));
    assert!(error_for(&r, "table.include.list").contains("public.(a"));
}

#[test]
fn config_providers_resolve_and_their_failures_name_the_property() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secrets.properties");
    std::fs::write(&file, "# database\npg.password = from-file\n").unwrap();
    let env = |name: &str| (name == "PG_USER").then(|| "env-user".to_owned());

    let connector = minimal(&[
        ("database.user", "${env:PG_USER}"),
        ("database.password", &format!("${{file:{}:pg.password}}", file.display())),
    ]);
    let t = translate_with(&connector, &base(), &env).unwrap();
    assert_eq!(t.config.postgres.user, "env-user");
    assert_eq!(t.config.postgres.password.as_ref().map(|p| p.expose()), Some("from-file"));

    let connector = minimal(&[
        ("database.user", "${env:PG_USR}"),
        ("database.password", &format!("${{file:{}:pg.pasword}}", file.display())),
        ("database.hostname", "${file:/nonexistent/db.properties:host}"),
        ("slot.name", "${vault:slot}"),
    ]);
    let r = translate_with(&connector, &base(), &env).unwrap_err();
    assert!(error_for(&r, "database.user").contains("PG_USR"));
    assert!(error_for(&r, "database.password").contains("pg.pasword"));
    assert!(error_for(&r, "database.hostname").contains("/nonexistent/db.properties"));
    assert!(error_for(&r, "slot.name").contains("vault"));
    assert_eq!(r.errors.len(), 4, "a failed provider is not also reported missing: {r}");
}

#[test]
fn a_secret_is_never_in_a_message() {
    const SECRET: &str = "hunter2-s3cret";
    let connector = minimal(&[
        ("database.password", SECRET),
        ("database.sslpassword", SECRET),
        ("value.converter", AVRO_CONVERTER_CLASS),
        ("value.converter.schema.registry.url", "http://registry:8081"),
        ("value.converter.basic.auth.user.info", SECRET),
        ("some.secret", SECRET),
        ("unknown.password", SECRET),
        ("message.key.columns", "public.c id"),
    ]);
    let r = rejected(&connector);
    let text = format!("{r} {r:?} {:?}", connector);
    assert!(!text.contains(SECRET), "{text}");
    assert!(r.errors.len() >= 4, "{r}");
    let shown = connector.redacted();
    assert_eq!(shown.config["database.password"], "[hidden]");
    assert_eq!(shown.config["database.hostname"], "db.internal");
    let by_reference = minimal(&[("database.password", "${env:PGPASSWORD}")]).redacted();
    assert_eq!(
        by_reference.config["database.password"], "${env:PGPASSWORD}",
        "a reference is not the secret"
    );
    // Not a secret: shown.
    assert!(error_for(&r, "message.key.columns").contains("public.c id"));
    assert!(
        is_secret("database.password") && is_secret("sasl.jaas.config") && !is_secret("message.key.columns")
    );
}

const AVRO_CONVERTER_CLASS: &str = "io.confluent.connect.avro.AvroConverter";

#[test]
fn the_avro_converter_selects_avro_and_the_registry() {
    let t = ok(&minimal(&[
        ("key.converter", AVRO_CONVERTER_CLASS),
        ("key.converter.schema.registry.url", "http://registry:8081"),
        ("value.converter", AVRO_CONVERTER_CLASS),
        ("value.converter.schema.registry.url", "http://registry:8081"),
        ("value.converter.basic.auth.credentials.source", "USER_INFO"),
        ("value.converter.basic.auth.user.info", "api-key:api-secret"),
        (
            "value.converter.value.subject.name.strategy",
            "io.confluent.kafka.serializers.subject.RecordNameStrategy",
        ),
    ]));
    assert_eq!(t.config.events.format, EventFormat::Avro);
    assert_eq!(t.config.events.key_format(), EventFormat::Avro);
    let registry = &t.config.schema_registry;
    assert_eq!(registry.url.as_deref(), Some("http://registry:8081"));
    assert_eq!(registry.username.as_deref(), Some("api-key"));
    assert_eq!(registry.password.as_ref().map(|p| p.expose()), Some("api-secret"));
    assert_eq!(registry.subject_name_strategy, SubjectNameStrategy::RecordNameStrategy);

    let r = rejected(&minimal(&[("value.converter", AVRO_CONVERTER_CLASS)]));
    assert!(error_for(&r, "value.converter.schema.registry.url").contains("required"));
    let r = rejected(&minimal(&[("value.converter", "org.apache.kafka.connect.storage.StringConverter")]));
    assert!(error_for(&r, "value.converter").contains("StringConverter"));
}

#[test]
fn converter_properties_without_a_converter_are_the_workers_business() {
    let t = ok(&minimal(&[("value.converter.schemas.enable", "false")]));
    assert_eq!(t.config.events.format, base().events.format);
    assert!(t.warnings.iter().any(|w| w.starts_with("value.converter.schemas.enable")), "{:?}", t.warnings);
}

#[test]
fn snapshot_modes_map_or_are_carried() {
    let mode = |m: &str| {
        let t = ok(&minimal(&[("snapshot.mode", m)]));
        (t.config.source.snapshot_mode, t.snapshot_mode_extra, t.warnings.len())
    };
    assert_eq!(mode("initial_only"), (SnapshotMode::InitialOnly, None, 0));
    assert_eq!(mode("no_data"), (SnapshotMode::Never, None, 0));
    assert_eq!(mode("never"), (SnapshotMode::Never, None, 1));
    assert_eq!(mode("when_needed"), (SnapshotMode::Initial, Some(SnapshotModeExtra::WhenNeeded), 0));
    assert_eq!(mode("ALWAYS"), (SnapshotMode::Initial, Some(SnapshotModeExtra::Always), 0));
    let r = rejected(&minimal(&[("snapshot.mode", "custom")]));
    assert!(error_for(&r, "snapshot.mode").contains("custom"));
}

#[test]
fn column_rules_and_message_keys_are_typed() {
    let t = ok(&minimal(&[
        ("column.mask.with.8.chars", "public.customers.email, .*\\.ssn"),
        ("column.mask.hash.SHA-256.with.salt.CzQMA0cB5K", "public.customers.phone"),
        ("column.mask.hash.v2.MD5.with.salt.pepper", "public.orders.note"),
        ("column.truncate.to.20.chars", "public.products.description"),
        ("message.key.columns", "public.orders:customer_id,order_id;(.*).products:sku"),
    ]));
    let p = &t.column_policies;
    assert_eq!(p.rules.len(), 4);
    assert_eq!(p.rules[0].action, ColumnAction::TruncateTo(20));
    assert_eq!(p.action_for("public", "customers", "email"), Some(&ColumnAction::MaskWithChars(8)));
    assert_eq!(p.action_for("hr", "people", "SSN"), Some(&ColumnAction::MaskWithChars(8)));
    assert_eq!(
        p.action_for("public", "customers", "phone"),
        Some(&ColumnAction::Hash {
            algorithm: HashAlgorithm::Sha256,
            salt: "CzQMA0cB5K".into(),
            version: HashVersion::V1
        })
    );
    assert!(matches!(
        p.action_for("public", "orders", "note"),
        Some(ColumnAction::Hash { algorithm: HashAlgorithm::Md5, version: HashVersion::V2, .. })
    ));
    assert_eq!(p.action_for("public", "customers", "name"), None);
    assert_eq!(
        p.key_columns("public", "orders", &["order_id", "customer_id", "total"]).unwrap(),
        ["customer_id", "order_id"]
    );
    assert_eq!(p.key_columns("inventory", "products", &["id", "sku"]).unwrap(), ["sku"]);
    assert_eq!(p.key_columns("public", "customers", &["customer_id"]), None);

    let r = rejected(&minimal(&[
        ("column.truncate.to.0.chars", "public.a.b"),
        ("column.mask.hash.SHA-999.with.salt.x", "public.a.b"),
        ("message.key.columns", "public.orders"),
    ]));
    assert!(error_for(&r, "column.truncate.to.0.chars").contains("at least 1"));
    assert!(error_for(&r, "column.mask.hash.SHA-999.with.salt.x").contains("SHA-999"));
    assert!(error_for(&r, "message.key.columns").contains("public.orders"));
}

#[test]
fn transforms_and_predicates_are_collected_in_order_uninterpreted() {
    let t = ok(&minimal(&[
        ("transforms", "unwrap, route"),
        ("transforms.route.type", "org.apache.kafka.connect.transforms.RegexRouter"),
        ("transforms.route.regex", "(.*)"),
        ("transforms.route.replacement", "x.$1"),
        ("transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState"),
        ("transforms.unwrap.predicate", "isOrders"),
        ("transforms.unwrap.negate", "true"),
        ("predicates", "isOrders"),
        ("predicates.isOrders.type", "org.apache.kafka.connect.transforms.predicates.TopicNameMatches"),
        ("predicates.isOrders.pattern", ".*orders"),
        ("transforms.stale.type", "org.example.Old"),
    ]));
    let names: Vec<&str> = t.transforms.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["unwrap", "route"]);
    assert_eq!(t.transforms[0].props.get("predicate").map(String::as_str), Some("isOrders"));
    assert_eq!(t.predicates.len(), 1);
    assert_eq!(t.predicates[0].props.get("pattern").map(String::as_str), Some(".*orders"));
    assert!(t.warnings.iter().any(|w| w.starts_with("transforms.stale.type")), "{:?}", t.warnings);

    let r = rejected(&minimal(&[
        ("transforms", "a,b,a"),
        ("transforms.a.type", "X"),
        ("transforms.a.predicate", "nope"),
    ]));
    assert!(error_for(&r, "transforms").contains("duplicate"));
    assert!(error_for(&r, "transforms.b.type").contains("required"));
    assert!(error_for(&r, "transforms.a.predicate").contains("nope"));
}

#[test]
fn batching_heartbeats_and_framework_properties() {
    let t = ok(&minimal(&[
        ("max.batch.size", "500"),
        ("max.queue.size", "2000"),
        ("poll.interval.ms", "250"),
        ("tasks.max", "4"),
        ("topic.heartbeat.prefix", "hb"),
        ("heartbeat.interval.ms", "5000"),
        ("heartbeat.action.query", "UPDATE heartbeat SET ts = now()"),
        ("errors.tolerance", "all"),
        ("errors.log.enable", "true"),
        ("errors.log.include.messages", "true"),
        ("slot.drop.on.stop", "true"),
        ("signal.data.collection", "public.debezium_signal"),
        ("incremental.snapshot.chunk.size", "4096"),
        ("snapshot.max.threads", "4"),
        ("topic.creation.default.partitions", "6"),
        ("topic.creation.default.replication.factor", "3"),
        ("schema.history.internal.kafka.topic", "history"),
        ("custom.metric.tags", "env=prod"),
        ("database.server.name", "legacy"),
        ("skipped.operations", "none"),
    ]));
    assert_eq!((t.max_batch_size, t.max_queue_size, t.poll_interval_ms), (500, 2_000, 250));
    assert_eq!((t.config.pipeline.batch_size, t.config.pipeline.poll_timeout_ms), (500, 250));
    assert_eq!(t.heartbeat.topic("shop"), "hb.shop");
    assert_eq!(t.heartbeat.action_query.as_deref(), Some("UPDATE heartbeat SET ts = now()"));
    assert_eq!(t.config.source.heartbeat_interval_ms, 5_000);
    assert!(t.errors_tolerance_all && t.errors_log_enable && t.errors_log_include_messages);
    assert!(t.slot_drop_on_stop);
    assert_eq!(t.signal_data_collection.as_deref(), Some("public.debezium_signal"));
    assert_eq!((t.incremental_snapshot_chunk_size, t.snapshot_max_threads), (4_096, 4));
    assert_eq!((t.config.kafka.topic_partitions, t.config.kafka.topic_replication), (6, 3));
    assert!(t.skipped_operations.is_empty());
    assert_eq!(t.config.events.topic_prefix, "shop", "topic.prefix wins over database.server.name");
    for property in
        ["tasks.max", "schema.history.internal.kafka.topic", "custom.metric.tags", "database.server.name"]
    {
        assert!(
            t.warnings.iter().any(|w| w.starts_with(property)),
            "no warning for {property}: {:?}",
            t.warnings
        );
    }

    let r = rejected(&minimal(&[("max.batch.size", "9000")]));
    assert!(error_for(&r, "max.queue.size").contains("max.batch.size"));
    let r = rejected(&minimal(&[("topic.prefix", " ")]));
    assert!(error_for(&r, "topic.prefix").contains("empty"));
    let r = rejected(&minimal(&[("slot.name", "Bad-Slot")]));
    assert!(error_for(&r, "slot.name").contains("a-z"));

    let mut legacy = minimal(&[("database.server.name", "legacy_name"), ("topic.delimiter", "_")]);
    legacy.config.remove("topic.prefix");
    let t = ok(&legacy);
    assert_eq!(t.config.events.topic_prefix, "legacy_name");
    assert_eq!(t.config.events.template(), "{prefix}_{schema}_{table}");
    assert_eq!(t.heartbeat.topic("legacy_name"), "__debezium-heartbeat_legacy_name");
}
