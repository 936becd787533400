//! Running the real `cdc` binary against a real PostgreSQL.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use cdc_test_support::PgCluster;

pub fn cdc_bin() -> &'static str {
    env!("CARGO_BIN_EXE_cdc")
}

/// A `cdc` command with the cluster's connection in the seed's environment variables, no config file, and no
/// inherited configuration.
pub fn cdc(cluster: &PgCluster, db: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(cdc_bin());
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("POSTGRES_HOST", cluster.host())
        .env("POSTGRES_PORT", cluster.port().to_string())
        .env("POSTGRES_DB", db)
        .env("POSTGRES_USER", "postgres")
        .env("POSTGRES_PASSWORD", cluster.password())
        .env("CDC_LOG", "warn");
    cmd
}

pub fn spawn_capture(mut cmd: Command, output: &Path) -> Child {
    cmd.args(["capture", "--output"])
        .arg(output)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cdc capture")
}

/// Asserts a failed run printed one clear error line (with a hint) and no panic.
pub fn assert_clear_failure(out: &Output, expect: &[&str], secret: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure, got success; stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "panic:\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("cdc: error:")).collect();
    assert_eq!(errors.len(), 1, "want exactly one error line, stderr:\n{stderr}");
    let line = errors[0].to_lowercase();
    for word in expect {
        assert!(line.contains(&word.to_lowercase()), "error line lacks {word:?}: {}", errors[0]);
    }
    assert!(!secret.is_empty() && !stderr.contains(secret), "secret printed:\n{stderr}");
}

/// The capture slot has confirmed all WAL written so far.
pub async fn slot_caught_up(client: &tokio_postgres::Client) -> bool {
    client
        .query_opt(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'cdc_slot'
             AND confirmed_flush_lsn >= pg_current_wal_insert_lsn()",
            &[],
        )
        .await
        .unwrap()
        .is_some()
}

/// The capture slot's confirmed_flush_lsn, `None` while the slot does not exist.
pub async fn confirmed_flush(client: &tokio_postgres::Client) -> Option<String> {
    client
        .query_opt(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'cdc_slot'",
            &[],
        )
        .await
        .unwrap()
        .and_then(|r| r.get(0))
}

/// Runs `cmd` to completion like [`Command::output`], but kills it and fails the test if it is still running
/// after `limit` (a command expected to fail must not hang the suite instead).
pub fn output_within(mut cmd: Command, limit: std::time::Duration) -> Output {
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn cdc");
    let pid = child.id();
    let (done, waiting) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let out = child.wait_with_output();
        let _ = done.send(());
        out
    });
    if waiting.recv_timeout(limit).is_err() {
        let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        let out = waiter.join().unwrap().unwrap();
        panic!("still running after {limit:?}; stderr:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    waiter.join().unwrap().expect("wait for cdc")
}

/// A running `cdc` process, killed if the test ends (or panics) without stopping it. Its log (at `CDC_LOG`,
/// default info) goes to a file in the test's directory, or in `CDC_TEST_LOG_DIR` to keep it; when the test
/// panics, the log's tail is printed.
pub struct Role {
    child: Option<Child>,
    log: std::path::PathBuf,
}

impl Role {
    pub fn child(&mut self) -> Child {
        self.child.take().expect("running")
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_contains(&self, text: &str) -> bool {
        std::fs::read_to_string(&self.log).is_ok_and(|log| log.contains(text))
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- last lines of {}:", self.log.display());
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

pub fn spawn(cluster: &PgCluster, dir: &Path, args: &[&str]) -> Role {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let logs = std::env::var_os("CDC_TEST_LOG_DIR").map_or_else(|| dir.to_path_buf(), Into::into);
    let log = logs.join(format!("{}-{n}-{}.log", std::process::id(), args[0]));
    let mut cmd = cdc(cluster, "postgres", dir);
    cmd.args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .env("CDC_LOG", std::env::var("CDC_LOG").unwrap_or_else(|_| "info".into()));
    Role { child: Some(cmd.spawn().unwrap()), log }
}
