//! Bad input: each mistake exits non-zero with one line that says what is wrong and how to fix it.

use cdc_test_support::PgCluster;

use crate::support::{assert_clear_failure, cdc, output_within};

#[tokio::test]
async fn a_wrong_password_is_named_and_never_printed() {
    let cluster = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let out = cdc(&cluster, "postgres", dir.path())
        .env("POSTGRES_PASSWORD", "wrong-Secret-42")
        .args(["capture", "--output", "out.jsonl"])
        .output()
        .unwrap();
    assert_clear_failure(&out, &["password", "hint", "POSTGRES_PASSWORD"], "wrong-Secret-42");
}

#[tokio::test]
async fn an_unreachable_host_is_named() {
    let cluster = PgCluster::start();
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let out = cdc(&cluster, "postgres", dir.path())
        .env("POSTGRES_PORT", closed_port.to_string())
        .args(["config", "check", "--connect"])
        .output()
        .unwrap();
    assert_clear_failure(&out, &["refused", &closed_port.to_string(), "POSTGRES_HOST"], cluster.password());
}

#[tokio::test]
async fn wal_level_replica_is_refused_with_the_fix() {
    let cluster = PgCluster::builder().wal_level("replica").start();
    let dir = tempfile::tempdir().unwrap();
    let out =
        cdc(&cluster, "postgres", dir.path()).args(["capture", "--output", "out.jsonl"]).output().unwrap();
    assert_clear_failure(&out, &["wal_level", "logical", "ALTER SYSTEM"], cluster.password());
}

#[tokio::test]
async fn a_role_without_replication_is_refused_with_the_fix() {
    let cluster = PgCluster::start();
    let client = cluster.connect("postgres").await;
    client.batch_execute("CREATE ROLE plain LOGIN PASSWORD 'plain-pw-77'").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = cdc(&cluster, "postgres", dir.path())
        .env("POSTGRES_USER", "plain")
        .env("POSTGRES_PASSWORD", "plain-pw-77")
        .args(["capture", "--output", "out.jsonl"])
        .output()
        .unwrap();
    assert_clear_failure(&out, &["REPLICATION", "ALTER ROLE"], "plain-pw-77");
}

#[tokio::test]
async fn an_unknown_table_in_the_config_is_named() {
    let cluster = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let out = cdc(&cluster, "postgres", dir.path())
        .env("CDC_TABLES", "public.no_such_table")
        .args(["capture", "--output", "out.jsonl"])
        .output()
        .unwrap();
    assert_clear_failure(&out, &["public.no_such_table", "does not exist"], cluster.password());
}

#[tokio::test]
async fn a_table_without_key_or_full_identity_is_refused_with_the_fix() {
    let cluster = PgCluster::start();
    let client = cluster.connect("postgres").await;
    client.batch_execute("CREATE TABLE loose (a int, b text)").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = cdc(&cluster, "postgres", dir.path())
        .env("CDC_TABLES", "loose")
        .args(["capture", "--output", "out.jsonl"])
        .output()
        .unwrap();
    assert_clear_failure(&out, &["public.loose", "primary key", "REPLICA IDENTITY FULL"], cluster.password());
}

#[tokio::test]
async fn a_malformed_config_file_names_the_file_and_the_key() {
    let cluster = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cdc.toml"), "[postgres]\nhots = \"db\"\n").unwrap();
    let out = cdc(&cluster, "postgres", dir.path()).args(["config", "check"]).output().unwrap();
    assert_clear_failure(&out, &["cdc.toml", "hots"], cluster.password());
    assert_eq!(out.status.code(), Some(2), "configuration errors exit with 2");

    std::fs::write(dir.path().join("cdc.toml"), "[postgres\nhost = 1").unwrap();
    let out = cdc(&cluster, "postgres", dir.path()).args(["config", "check"]).output().unwrap();
    assert_clear_failure(&out, &["cdc.toml", "invalid"], cluster.password());

    // A misspelt or unquoted password in the file is named by position, never echoed.
    std::fs::write(dir.path().join("cdc.toml"), "[postgres]\npasword = \"file-Secret-9\"\n").unwrap();
    let out = cdc(&cluster, "postgres", dir.path()).args(["config", "check"]).output().unwrap();
    assert_clear_failure(&out, &["cdc.toml", "line 2", "pasword"], "file-Secret-9");
    std::fs::write(dir.path().join("cdc.toml"), "[postgres]\npassword = file-Secret-9\n").unwrap();
    let out = cdc(&cluster, "postgres", dir.path()).args(["config", "check"]).output().unwrap();
    assert_clear_failure(&out, &["cdc.toml", "line 2"], "file-Secret-9");
}

#[tokio::test]
async fn a_valid_config_checks_out_with_secrets_redacted() {
    let cluster = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let out = cdc(&cluster, "postgres", dir.path()).args(["config", "check", "--connect"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("configuration ok") && stdout.contains("ready for logical replication"),
        "{stdout}"
    );
    assert!(!stdout.contains(cluster.password()), "secret printed:\n{stdout}");
}

#[tokio::test]
async fn a_publication_that_lacks_a_configured_table_is_refused_with_the_fix() {
    let cluster = PgCluster::start();
    let client = cluster.connect("postgres").await;
    client
        .batch_execute(
            "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);
             CREATE PUBLICATION dbz_publication FOR TABLE a;",
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A publication managed by someone else: cdc may not alter it.
    std::fs::write(dir.path().join("cdc.toml"), "[source]\npublication_autocreate = \"disabled\"\n").unwrap();
    let out = cdc(&cluster, "postgres", dir.path())
        .env("CDC_TABLES", "a,b")
        .args(["capture", "--output", "out.jsonl"])
        .output()
        .unwrap();
    assert_clear_failure(&out, &["dbz_publication", "public.b", "ALTER PUBLICATION"], cluster.password());

    // The default (`filtered`, Debezium's mode of that name): the configured table is added to it.
    std::fs::write(dir.path().join("cdc.toml"), "[source]\nsnapshot_mode = \"initial_only\"\n").unwrap();
    let mut capture = cdc(&cluster, "postgres", dir.path());
    capture.env("CDC_TABLES", "a,b").args(["capture", "--output", "out.jsonl"]);
    let out = output_within(capture, std::time::Duration::from_secs(120));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let published: i64 = client
        .query_one("SELECT count(*) FROM pg_publication_tables WHERE pubname = 'dbz_publication' AND tablename = 'b'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(published, 1, "b was added to the publication");
}
