//! `cdc db init`: idempotence, sample data, replica identity, publication, the replication role, privileges.

use std::collections::BTreeMap;
use std::time::Duration;

use cdc_core::config::Secret;
use cdc_ingest::{db_init, DbInitOptions, IngestError, SampleData};

use crate::support::{init_options, TestDb};

/// Catalog and data versions of everything `db init` touches, to prove a second run writes nothing.
async fn catalog_snapshot(db: &TestDb) -> Vec<String> {
    let client = db.client().await;
    let sql = "
        SELECT 'class ' || relname || ' ' || xmin::text || ' ' || relreplident::text FROM pg_class
            WHERE relnamespace = 'public'::regnamespace
        UNION ALL SELECT 'proc ' || proname || ' ' || xmin::text FROM pg_proc
            WHERE pronamespace = 'public'::regnamespace
        UNION ALL SELECT 'role ' || rolname || ' ' || xmin::text FROM pg_authid WHERE rolname = 'cdc_replicator'
        UNION ALL SELECT 'pub ' || pubname || ' ' || xmin::text FROM pg_publication
        UNION ALL SELECT 'pubrel ' || prrelid::regclass::text || ' ' || xmin::text FROM pg_publication_rel
        UNION ALL SELECT 'db ' || datname || ' ' || xmin::text FROM pg_database WHERE datname = 'cdc'
        UNION ALL SELECT 'customer ' || customer_id || ' ' || xmin::text FROM customers
        UNION ALL SELECT 'order ' || order_id || ' ' || xmin::text FROM orders
        ORDER BY 1";
    client.query(sql, &[]).await.expect("catalog snapshot").iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn db_init_twice_in_a_row_succeeds_and_changes_nothing_the_second_time() {
    let db = TestDb::empty().await;

    let first = db_init(&db.pg, &init_options()).await.expect("first db init");
    for object in [
        "function cdc_set_updated_at()",
        "function linkedin_jobs_touch()",
        "table customers",
        "table products",
        "table orders",
        "table order_items",
        "table inventory_transactions",
        "table linkedin_jobs",
        "table ingestion_runs",
        "role cdc_replicator",
        "grant SELECT on linkedin_jobs to cdc_replicator",
        "publication dbz_publication",
    ] {
        assert!(first.created.iter().any(|c| c == object), "first run did not create {object}: {first:?}");
    }
    assert!(first.changed());
    let before = catalog_snapshot(&db).await;

    let second = db_init(&db.pg, &init_options()).await.expect("second db init");
    assert!(second.created.is_empty(), "second run created {:?}", second.created);
    assert!(second.altered.is_empty(), "second run altered {:?}", second.altered);
    assert_eq!(second.sample_data, SampleData::SkippedNotEmpty);
    assert!(!second.changed());
    assert_eq!(
        second.present.len(),
        first.created.len() + first.present.len(),
        "every object is reported present: {second:?}"
    );
    assert_eq!(catalog_snapshot(&db).await, before, "the second run wrote to the catalog or the data");
}

#[tokio::test]
async fn db_init_loads_the_documented_sample_data() {
    let db = TestDb::empty().await;
    let report = db_init(&db.pg, &init_options()).await.expect("db init");
    assert_eq!(
        report.sample_data,
        SampleData::Loaded {
            customers: 10,
            products: 15,
            orders: 5,
            order_items: 11,
            inventory_transactions: 15
        }
    );
    assert_eq!(db.count("SELECT count(*) FROM customers").await, 10);
    assert_eq!(db.count("SELECT count(*) FROM products").await, 15);
    assert_eq!(db.count("SELECT count(*) FROM orders").await, 5);
    assert_eq!(db.count("SELECT count(*) FROM order_items").await, 11);
    // Every order's total is the sum of its items, and every order has items.
    let mismatched = db
        .count(
            "SELECT count(*) FROM orders o WHERE o.total_amount IS DISTINCT FROM \
             (SELECT sum(quantity * unit_price) FROM order_items i WHERE i.order_id = o.order_id)",
        )
        .await;
    assert_eq!(mismatched, 0);
    assert_eq!(db.count("SELECT count(*) FROM linkedin_jobs").await, 0);
}

#[tokio::test]
async fn db_init_with_no_sample_data_creates_the_schema_with_empty_tables() {
    let db = TestDb::empty().await;
    let options = DbInitOptions { sample_data: false, ..init_options() };
    let report = db_init(&db.pg, &options).await.expect("db init");
    assert_eq!(report.sample_data, SampleData::SkippedByOption);
    assert_eq!(db.count("SELECT count(*) FROM customers").await, 0);
    assert_eq!(db.count("SELECT count(*) FROM orders").await, 0);
    // Sample data can still be added later: the tables are empty.
    let later = db_init(&db.pg, &init_options()).await.expect("db init with sample data");
    assert!(matches!(later.sample_data, SampleData::Loaded { customers: 10, .. }));
}

#[tokio::test]
async fn every_source_table_is_replica_identity_full_keyed_and_published_but_not_the_audit_table() {
    let db = TestDb::initialized().await;
    let client = db.client().await;
    let rows = client
        .query(
            "SELECT c.relname::text, c.relreplident::text, \
                    EXISTS (SELECT 1 FROM pg_publication_tables p \
                            WHERE p.pubname = 'dbz_publication' AND p.tablename = c.relname), \
                    (SELECT string_agg(a.attname::text, ',') FROM pg_index i \
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
                     WHERE i.indrelid = c.oid AND i.indisprimary) \
             FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1",
            &[],
        )
        .await
        .expect("read tables");
    let tables: BTreeMap<String, (String, bool, String)> =
        rows.iter().map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3)))).collect();
    let expected = [
        ("customers", "customer_id"),
        ("products", "product_id"),
        ("orders", "order_id"),
        ("order_items", "order_item_id"),
        ("inventory_transactions", "transaction_id"),
        ("linkedin_jobs", "job_id"),
    ];
    for (table, key) in expected {
        let (identity, published, pk) = tables.get(table).unwrap_or_else(|| panic!("{table} missing"));
        assert_eq!(identity, "f", "{table} is not REPLICA IDENTITY FULL");
        assert!(published, "{table} is not in dbz_publication");
        assert_eq!(pk, key, "{table} primary key");
    }
    let (_, audit_published, _) = tables.get("ingestion_runs").expect("ingestion_runs exists");
    assert!(!audit_published, "ingestion_runs must not be published");
    assert_eq!(tables.len(), 7, "unexpected tables: {:?}", tables.keys());
    // order_items cascade with their order.
    client
        .execute("DELETE FROM orders WHERE order_id = (SELECT min(order_id) FROM orders)", &[])
        .await
        .expect("delete");
    assert_eq!(
        db.count("SELECT count(*) FROM order_items WHERE order_id NOT IN (SELECT order_id FROM orders)")
            .await,
        0
    );
}

#[tokio::test]
async fn updated_at_moves_on_a_real_change_and_not_on_a_no_op_update() {
    let db = TestDb::initialized().await;
    let client = db.client().await;
    let moved =
        "SELECT count(*) FROM customers WHERE email = 'ada.lovelace@example.com' AND updated_at > created_at";
    assert_eq!(db.count(moved).await, 0);
    client
        .batch_execute("UPDATE customers SET phone = phone WHERE email = 'ada.lovelace@example.com'")
        .await
        .expect("no-op");
    assert_eq!(db.count(moved).await, 0, "a no-op update moved updated_at");
    client
        .batch_execute("UPDATE customers SET phone = '+1-555-9999' WHERE email = 'ada.lovelace@example.com'")
        .await
        .expect("update");
    assert_eq!(db.count(moved).await, 1, "a real update did not move updated_at");
}

#[tokio::test]
async fn the_replication_role_can_snapshot_and_stream_but_not_write() {
    let db = TestDb::initialized().await;
    let attrs = db
        .client()
        .await
        .query_one(
            "SELECT rolcanlogin, rolreplication, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls \
             FROM pg_roles WHERE rolname = 'cdc_replicator'",
            &[],
        )
        .await
        .expect("role exists");
    let attrs: (bool, bool, bool, bool, bool, bool) =
        (attrs.get(0), attrs.get(1), attrs.get(2), attrs.get(3), attrs.get(4), attrs.get(5));
    assert_eq!(attrs, (true, true, false, false, false, false), "login, replication, and nothing else");

    let conn = format!(
        "host=127.0.0.1 port={} user=cdc_replicator password={} dbname=cdc",
        db.cluster.port(),
        crate::support::REPLICATOR_PASSWORD
    );
    let (replicator, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
        .await
        .expect("replicator logs in with its password");
    tokio::spawn(connection);
    for table in cdc_ingest::SOURCE_TABLES {
        replicator
            .query(&format!("SELECT * FROM {table} LIMIT 1"), &[])
            .await
            .unwrap_or_else(|e| panic!("SELECT {table}: {e}"));
    }
    let denied = |result: Result<u64, tokio_postgres::Error>| {
        result.err().and_then(|e| e.code().cloned())
            == Some(tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
    };
    assert!(denied(replicator.execute("DELETE FROM customers", &[]).await), "replicator may delete");
    assert!(denied(replicator.execute("UPDATE products SET price = 0", &[]).await), "replicator may update");
    assert!(denied(
        replicator
            .execute(
                "INSERT INTO linkedin_jobs (job_id, raw_data, content_fingerprint) VALUES ('x', '{}', 'x')",
                &[]
            )
            .await
    ));
    assert!(
        denied(replicator.execute("SELECT * FROM ingestion_runs", &[]).await),
        "replicator may read the audit table"
    );
    assert!(
        denied(replicator.execute("CREATE TABLE public.intruder (id int)", &[]).await),
        "replicator may create tables"
    );

    // It can create a pgoutput slot and read changes through the publication.
    replicator
        .batch_execute("SELECT pg_create_logical_replication_slot('role_test', 'pgoutput')")
        .await
        .expect("create slot as the replication role");
    // Heartbeats of `cdc capture` are logical messages.
    replicator
        .batch_execute("SELECT pg_logical_emit_message(false, 'cdc_heartbeat', 'x')")
        .await
        .expect("emit a logical message as the replication role");
    db.client()
        .await
        .batch_execute("UPDATE customers SET city = 'Dallas' WHERE email = 'ada.lovelace@example.com'")
        .await
        .expect("update");
    // synchronous_commit is off in test clusters: the commit becomes decodable once the WAL writer flushed it.
    cdc_test_support::wait_for("the update to be decodable", Duration::from_secs(10), || async {
        let changes = replicator
            .query_one(
                "SELECT count(*) FROM pg_logical_slot_peek_binary_changes('role_test', NULL, NULL, \
                 'proto_version', '1', 'publication_names', 'dbz_publication')",
                &[],
            )
            .await
            .expect("peek changes as the replication role");
        // begin, relation, update, commit
        (changes.get::<_, i64>(0) >= 4).then_some(())
    })
    .await;
    replicator.batch_execute("SELECT pg_drop_replication_slot('role_test')").await.expect("drop slot");
}

#[tokio::test]
async fn db_init_fails_clearly_without_create_privileges() {
    let db = TestDb::empty().await;
    db.client().await.batch_execute("CREATE ROLE app LOGIN PASSWORD 'app-pw'").await.expect("create role");
    let pg = cdc_core::config::PostgresConfig {
        user: "app".into(),
        password: Some(Secret::new("app-pw")),
        ..db.pg.clone()
    };
    let error = db_init(&pg, &init_options()).await.expect_err("db init without CREATE must fail");
    assert!(matches!(error, IngestError::InitPermission { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("permission denied"), "{text}");
    assert!(text.contains("\"app\""), "the error names the user: {text}");
    assert!(error.hint().is_some_and(|h| h.contains("CREATE")), "{:?}", error.hint());
    // Nothing was left behind: the transaction rolled back.
    assert_eq!(
        db.count("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace").await,
        0
    );
}
