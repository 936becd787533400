//! A throwaway Snowflake stand-in: `fakesnow` (PyPI `fakesnow[server]`, installed by `scripts/install-deps.sh`)
//! behind `python/fakesnow_server.py`, on a free loopback port with in-memory databases, killed on drop.
//!
//! fakesnow serves Snowflake's driver REST protocol over DuckDB but has no authentication, warehouses, privileges
//! or network failures. The Python layer in front of it adds them in Snowflake's own response shapes and codes
//! (its module doc lists them), so a client's error handling can be tested:
//!
//! ```text
//!   test ──HTTP──▶ fakesnow_server.py ──(unchanged request)──▶ fakesnow.server.app ──▶ DuckDB (in memory)
//!                  │ login: password / OAuth / PAT / key-pair JWT      390100 390318 390303 390144
//!                  │ USE WAREHOUSE <unknown>                           002043
//!                  │ write in a --read-only-role session               003001
//!                  │ POST /_faults: fail_next (HTTP 5xx), expire_sessions (390112); GET /_stats
//! ```
//!
//! The control calls ([`FakeSnow::fail_next`], [`FakeSnow::expire_sessions`], [`FakeSnow::stats`]) are a few
//! lines of HTTP/1.1 over `std::net::TcpStream`, so this crate needs no HTTP client.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Options for [`FakeSnow::start_with`]. Each credential is optional: an authenticator whose credential is
/// `None` rejects every login. Names follow Snowflake's identifier rule (unquoted names are case-insensitive,
/// `"quoted"` ones exact).
#[derive(Debug, Clone, Default)]
pub struct FakeSnowOptions {
    /// Password for the default (`SNOWFLAKE`) authenticator; `pat` is accepted as a password too, as Snowflake does.
    pub password: Option<String>,
    /// Access token accepted by the `OAUTH` authenticator; any other token gets 390303.
    pub oauth_token: Option<String>,
    /// Access token the `OAUTH` authenticator answers with 390318 (expired).
    pub expired_oauth_token: Option<String>,
    /// Token accepted by the `PROGRAMMATIC_ACCESS_TOKEN` authenticator.
    pub pat: Option<String>,
    /// PEM file with the RSA public key (a private key PEM works too) that `SNOWFLAKE_JWT` tokens must be signed
    /// with; the JWT's `iss`/`sub` must name `ACCOUNT.USER` and this key's SHA-256 fingerprint.
    pub public_key_pem: Option<PathBuf>,
    /// Warehouses `USE WAREHOUSE` accepts; any other name gets 002043.
    pub warehouses: Vec<String>,
    /// Roles whose sessions get 003001 for statements that create or write.
    pub read_only_roles: Vec<String>,
}

/// Counters of the fault layer, from `GET /_stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FakeSnowStats {
    /// Logins that succeeded.
    pub logins: u64,
    /// Logins rejected by the credential checks.
    pub failed_logins: u64,
    /// Every `POST /queries/v1/query-request`, answered or not.
    pub queries: u64,
    /// Query requests answered by [`FakeSnow::fail_next`] instead of fakesnow.
    pub injected_failures: u64,
    /// Requests answered 390112 because of [`FakeSnow::expire_sessions`].
    pub expired: u64,
    /// Queries answered 002043 (unknown warehouse) or 003001 (read-only role).
    pub rejected_queries: u64,
}

/// A running fakesnow server (with the auth/fault layer) owned by one test: its own process and in-memory
/// databases, shared by every session opened on it.
#[derive(Debug)]
pub struct FakeSnow {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl FakeSnow {
    /// The password [`FakeSnow::start`] accepts.
    pub const PASSWORD: &'static str = "test-password";
    /// The one warehouse [`FakeSnow::start`] knows.
    pub const WAREHOUSE: &'static str = "COMPUTE_WH";
    /// The read-only role of [`FakeSnow::start`].
    pub const READ_ONLY_ROLE: &'static str = "READER";

    /// Password `test-password`, warehouse `COMPUTE_WH`, read-only role `READER`.
    pub fn start() -> FakeSnow {
        FakeSnow::start_with(FakeSnowOptions {
            password: Some(Self::PASSWORD.into()),
            warehouses: vec![Self::WAREHOUSE.into()],
            read_only_roles: vec![Self::READ_ONLY_ROLE.into()],
            ..FakeSnowOptions::default()
        })
    }

    pub fn start_with(options: FakeSnowOptions) -> FakeSnow {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python").join("fakesnow_server.py");
        let python = std::env::var_os("FAKESNOW_PYTHON").unwrap_or_else(|| "python3".into());
        let dir = tempfile::Builder::new().prefix("cdc-fakesnow-").tempdir().expect("create temp dir");
        let log = File::create(dir.path().join("fakesnow.log")).expect("create fakesnow log");
        let port = TcpListener::bind("127.0.0.1:0").expect("bind port 0").local_addr().expect("addr").port();

        let mut command = Command::new(&python);
        command.arg(&script).args(["--host", "127.0.0.1", "--port", &port.to_string()]);
        let flags = [
            ("--password", &options.password),
            ("--oauth-token", &options.oauth_token),
            ("--expired-oauth-token", &options.expired_oauth_token),
            ("--pat", &options.pat),
        ];
        for (flag, value) in flags {
            if let Some(value) = value {
                command.args([flag, value]);
            }
        }
        if let Some(pem) = &options.public_key_pem {
            command.arg("--public-key").arg(pem);
        }
        for warehouse in &options.warehouses {
            command.args(["--warehouse", warehouse]);
        }
        for role in &options.read_only_roles {
            command.args(["--read-only-role", role]);
        }
        let child = command
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} {}: {e}; run scripts/install-deps.sh",
                    python.to_string_lossy(),
                    script.display()
                )
            });
        let mut server = FakeSnow { child, port, dir };
        server.wait_ready(Duration::from_secs(60));
        server
    }

    /// Polls `GET /_stats` until this process (not a neighbour that raced for the port) answers it.
    fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let pid = u64::from(self.child.id());
        loop {
            if let Some(status) = self.child.try_wait().expect("poll fakesnow") {
                panic!(
                    "fakesnow_server.py exited early ({status}); is fakesnow[server] installed? run \
                     scripts/install-deps.sh. Log:\n{}",
                    self.log_tail()
                );
            }
            if let Ok((200, body)) = request(self.port, "GET", "/_stats", None) {
                let answered_by =
                    serde_json::from_str::<serde_json::Value>(&body).ok().and_then(|v| v["pid"].as_u64());
                if answered_by == Some(pid) {
                    return;
                }
            }
            if Instant::now() >= deadline {
                panic!(
                    "fakesnow did not answer on port {} within {timeout:?}. Log:\n{}",
                    self.port,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`: plain HTTP, so clients use `protocol=http` and this host and port.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The next `n` query requests whose SQL text contains `matching` (case-insensitive; `None` = any) answer
    /// HTTP `status` with a small HTML body, as a load balancer would, and never reach fakesnow. Rules
    /// accumulate; the first matching one is used.
    pub fn fail_next(&self, n: u32, status: u16, matching: Option<&str>) {
        self.control(serde_json::json!({ "fail_next": n, "status": status, "match": matching }));
    }

    /// Like [`FakeSnow::fail_next`], but each request first runs in fakesnow and only its reply is replaced by the
    /// error: a reply lost on its way back, after the statement took effect.
    pub fn fail_next_after_running(&self, n: u32, status: u16, matching: Option<&str>) {
        self.control(serde_json::json!({ "fail_next": n, "status": status, "match": matching, "after_forwarding": true }));
    }

    /// The next query whose SQL text contains `matching` (case-insensitive) expires every session first, so it
    /// and every later request of those sessions answer 390112.
    pub fn expire_sessions_on(&self, matching: &str) {
        self.control(serde_json::json!({ "expire_on": matching }));
    }

    /// Every session token issued so far answers its next (and every later) request with 390112 "Your session
    /// has expired. Please login again."; new logins work.
    pub fn expire_sessions(&self) {
        self.control(serde_json::json!({ "expire_sessions": true }));
    }

    /// Drops pending [`FakeSnow::fail_next`] rules and zeroes the counters.
    pub fn reset(&self) {
        self.control(serde_json::json!({ "reset": true }));
    }

    pub fn stats(&self) -> FakeSnowStats {
        let (status, body) = request(self.port, "GET", "/_stats", None).expect("GET /_stats");
        assert_eq!(status, 200, "GET /_stats: {body}");
        let value: serde_json::Value = serde_json::from_str(&body).expect("/_stats is JSON");
        let count =
            |name: &str| value[name].as_u64().unwrap_or_else(|| panic!("/_stats lacks {name}: {body}"));
        FakeSnowStats {
            logins: count("logins"),
            failed_logins: count("failed_logins"),
            queries: count("queries"),
            injected_failures: count("injected_failures"),
            expired: count("expired"),
            rejected_queries: count("rejected_queries"),
        }
    }

    /// Everything the server wrote (one line per request; no credentials), for test failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("fakesnow.log")).unwrap_or_default()
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    fn control(&self, body: serde_json::Value) {
        let (status, answer) =
            request(self.port, "POST", "/_faults", Some(&body.to_string())).expect("POST /_faults");
        assert_eq!(status, 200, "POST /_faults {body}: {answer}");
    }
}

impl Drop for FakeSnow {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns the status and the (de-chunked) body.
fn request(port: u16, method: &str, path: &str, json_body: Option<&str>) -> std::io::Result<(u16, String)> {
    request_with(port, method, path, &[], json_body)
}

fn request_with(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json_body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = json_body.unwrap_or("");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if json_body.is_some() {
        head.push_str("Content-Type: application/json\r\nAccept: application/json\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
        .ok_or_else(|| std::io::Error::other(format!("malformed HTTP response to {method} {path}")))
}

fn parse_response(raw: &[u8]) -> Option<(u16, String)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(raw.get(..split)?).ok()?;
    let mut body = raw.get(split + 4..)?.to_vec();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head.lines().any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("transfer-encoding:") && line.contains("chunked")
    });
    if chunked {
        body = dechunk(&body)?;
    }
    Some((status, String::from_utf8_lossy(&body).into_owned()))
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(data.get(..line_end)?).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(line_end + 2..line_end + 2 + size)?);
        data = data.get(line_end + 2 + size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    //! The layer's behaviour as seen by the official Python connector (`snowflake-connector-python`, run as a
    //! subprocess) and by a raw HTTP client, which is what the Rust sink is.

    use super::*;
    use serde_json::{json, Value};

    /// Runs `code` under python3 with `connect(**kw)` predefined for this server; returns its stdout's last line
    /// parsed as JSON.
    fn python(server: &FakeSnow, code: &str) -> Value {
        let prelude = format!(
            r#"
import json, snowflake.connector
def connect(**kw):
    base = dict(host="127.0.0.1", port={port}, protocol="http", account="fakesnow", user="u",
                password="{password}", database="DB1", schema="PUBLIC", login_timeout=30, network_timeout=30)
    base.update(kw)
    return snowflake.connector.connect(**base)
def attempt(fn):
    try:
        fn()
        return "ok"
    except snowflake.connector.errors.Error as e:
        return [e.errno, e.sqlstate]
"#,
            port = server.port(),
            password = FakeSnow::PASSWORD,
        );
        let out = Command::new("python3")
            .arg("-c")
            .arg(format!("{prelude}\n{code}"))
            .output()
            .expect("run python3");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "python failed: {}\n{stdout}\n{}\nserver log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            server.log()
        );
        let last = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(last).unwrap_or_else(|e| panic!("python printed {stdout:?}: {e}"))
    }

    #[test]
    fn connector_sees_passwords_warehouses_and_privileges() {
        let server = FakeSnow::start();
        let result = python(
            &server,
            r#"
def run(conn, sql):
    return attempt(lambda: conn.cursor().execute(sql).fetchall())
out = {}
out["bad_password"] = attempt(lambda: connect(password="wrong"))
conn = connect()
out["create_database"] = run(conn, "CREATE DATABASE IF NOT EXISTS DB1")
out["select"] = conn.cursor().execute("SELECT 1").fetchone()[0]
out["unknown_warehouse"] = run(conn, "USE WAREHOUSE nope")
out["known_warehouse"] = run(conn, "USE WAREHOUSE compute_wh")
out["quoted_wrong_case"] = run(conn, 'USE WAREHOUSE "compute_wh"')
out["owner_create"] = run(conn, "CREATE TABLE T (A INT)")
reader = connect(role="reader")
out["reader_create"] = run(reader, "CREATE TABLE T2 (A INT)")
out["reader_temp"] = run(reader, "CREATE TEMPORARY TABLE T3 (A INT)")
out["reader_insert"] = run(reader, "/* tag */ INSERT INTO T VALUES (1)")
out["reader_select"] = run(reader, "SELECT * FROM T")
out["reader_begin"] = run(reader, "BEGIN")
out["reader_commit"] = run(reader, "COMMIT")
out["role_switch"] = run(reader, "USE ROLE SYSADMIN")
out["after_switch"] = run(reader, "INSERT INTO T VALUES (2)")
try:
    reader.cursor().execute("USE ROLE READER")
    reader.cursor().execute("DELETE FROM T")
except snowflake.connector.errors.ProgrammingError as e:
    out["privilege_message"] = e.raw_msg
print(json.dumps(out))
"#,
        );
        let log = server.log();
        let expected = json!({
            "bad_password": [390100, "28000"],
            "create_database": "ok",
            "select": 1,
            "unknown_warehouse": [2043, "02000"],
            "known_warehouse": "ok",
            "quoted_wrong_case": [2043, "02000"],
            "owner_create": "ok",
            "reader_create": [3001, "42501"],
            "reader_temp": [3001, "42501"],
            "reader_insert": [3001, "42501"],
            "reader_select": "ok",
            "reader_begin": "ok",
            "reader_commit": "ok",
            "role_switch": "ok",
            "after_switch": "ok",
            "privilege_message":
                "SQL access control error:\nInsufficient privileges to operate on schema 'PUBLIC'",
        });
        assert_eq!(result, expected, "server log:\n{log}");
        let stats = server.stats();
        assert_eq!((stats.logins, stats.failed_logins, stats.rejected_queries), (2, 1, 6), "{stats:?}");
        assert!(!log.contains(FakeSnow::PASSWORD), "the log must not show the password:\n{log}");
    }

    #[test]
    fn connector_retries_an_injected_503() {
        let server = FakeSnow::start();
        server.fail_next(1, 503, None);
        let result = python(
            &server,
            r#"print(json.dumps(connect().cursor().execute("SELECT 41 + 1").fetchone()[0]))"#,
        );
        assert_eq!(result, json!(42), "server log:\n{}", server.log());
        let stats = server.stats();
        assert_eq!(stats.injected_failures, 1, "{stats:?}");
        assert!(stats.queries >= 2, "the retry reached fakesnow: {stats:?}");
        assert!(server.log().contains("/queries/v1/query-request 503 injected failure"), "{}", server.log());
    }

    #[test]
    fn matching_faults_spare_other_statements() {
        let server = FakeSnow::start();
        server.fail_next(2, 500, Some("merge"));
        let token = raw_login(&server, FakeSnow::PASSWORD);
        assert_eq!(raw_query(&server, &token, "SELECT 1").0, 200);
        assert_eq!(
            raw_query(&server, &token, "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE").0,
            500
        );
        assert_eq!(
            raw_query(&server, &token, "merge into x using y on true when matched then delete").0,
            500
        );
        let (status, body) =
            raw_query(&server, &token, "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE");
        assert_eq!(status, 200, "the third MERGE reaches fakesnow: {body}");
        assert_eq!(server.stats().injected_failures, 2);
        server.reset();
        assert_eq!(server.stats(), FakeSnowStats::default());
    }

    #[test]
    fn expired_sessions_answer_390112_until_a_new_login() {
        let server = FakeSnow::start();
        let token = raw_login(&server, FakeSnow::PASSWORD);
        let (_, ok) = raw_query(&server, &token, "SELECT 1");
        assert_eq!(ok["success"], json!(true), "{ok}");

        server.expire_sessions();
        for _ in 0..2 {
            let (status, expired) = raw_query(&server, &token, "SELECT 1");
            assert_eq!(status, 200);
            assert_eq!(expired["success"], json!(false), "{expired}");
            assert_eq!(expired["code"], json!("390112"), "{expired}");
            assert_eq!(expired["message"], json!("Your session has expired. Please login again."));
        }
        let fresh = raw_login(&server, FakeSnow::PASSWORD);
        assert_eq!(raw_query(&server, &fresh, "SELECT 1").1["success"], json!(true));
        assert_eq!(server.stats().expired, 2);

        let (status, rejected) = raw_login_response(&server, json!({"LOGIN_NAME": "u", "PASSWORD": "nope"}));
        assert_eq!((status, &rejected["code"], &rejected["success"]), (200, &json!("390100"), &json!(false)));
    }

    #[test]
    fn connector_logs_in_with_oauth_pat_and_key_pair() {
        let keys = tempfile::tempdir().expect("temp dir");
        let generate = format!(
            r#"
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
for name in ["good", "other"]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    open("{dir}/" + name + ".p8", "wb").write(key.private_bytes(serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    open("{dir}/" + name + ".pub", "wb").write(key.public_key().public_bytes(serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo))
"#,
            dir = keys.path().display()
        );
        let status = Command::new("python3").arg("-c").arg(generate).status().expect("run python3");
        assert!(status.success(), "generate RSA keys");

        let server = FakeSnow::start_with(FakeSnowOptions {
            oauth_token: Some("oauth-good".into()),
            expired_oauth_token: Some("oauth-old".into()),
            pat: Some("pat-good".into()),
            public_key_pem: Some(keys.path().join("good.pub")),
            ..FakeSnowOptions::default()
        });
        let code = format!(
            r#"
def login(**kw):
    return attempt(lambda: connect(**kw).cursor().execute("SELECT 1").fetchall())
keys = "{dir}"
print(json.dumps({{
    "password_without_option": login(),
    "oauth": login(authenticator="oauth", token="oauth-good"),
    "oauth_expired": login(authenticator="oauth", token="oauth-old"),
    "oauth_invalid": login(authenticator="oauth", token="forged"),
    "pat": login(authenticator="PROGRAMMATIC_ACCESS_TOKEN", token="pat-good"),
    "pat_as_password": login(password="pat-good"),
    "pat_wrong": login(authenticator="PROGRAMMATIC_ACCESS_TOKEN", token="pat-bad"),
    "jwt": login(authenticator="SNOWFLAKE_JWT", private_key_file=keys + "/good.p8"),
    "jwt_other_key": login(authenticator="SNOWFLAKE_JWT", private_key_file=keys + "/other.p8"),
}}))
"#,
            dir = keys.path().display()
        );
        let result = python(&server, &code);
        let log = server.log();
        let expected = json!({
            "password_without_option": [390100, "28000"],
            "oauth": "ok",
            "oauth_expired": [390318, "08001"],
            "oauth_invalid": [390303, "08001"],
            "pat": "ok",
            "pat_as_password": "ok",
            "pat_wrong": [390100, "28000"],
            "jwt": "ok",
            "jwt_other_key": [390144, "28000"],
        });
        assert_eq!(result, expected, "server log:\n{log}");
        for secret in ["oauth-good", "oauth-old", "pat-good", "forged"] {
            assert!(!log.contains(secret), "the log shows {secret}:\n{log}");
        }
    }

    /// Logs in with a password as a raw client would (no gzip) and returns the session token.
    fn raw_login(server: &FakeSnow, password: &str) -> String {
        let (status, body) = raw_login_response(server, json!({ "LOGIN_NAME": "u", "PASSWORD": password }));
        assert_eq!(status, 200);
        assert_eq!(body["success"], json!(true), "login: {body}\n{}", server.log());
        body["data"]["token"].as_str().expect("token").to_owned()
    }

    fn raw_login_response(server: &FakeSnow, mut data: Value) -> (u16, Value) {
        data["ACCOUNT_NAME"] = json!("fakesnow");
        data["SESSION_PARAMETERS"] = json!({});
        let body = json!({ "data": data }).to_string();
        let path = "/session/v1/login-request?databaseName=DB1&schemaName=PUBLIC";
        let (status, answer) = request(server.port(), "POST", path, Some(&body)).expect("login request");
        (status, serde_json::from_str(&answer).unwrap_or(Value::String(answer)))
    }

    fn raw_query(server: &FakeSnow, token: &str, sql: &str) -> (u16, Value) {
        let auth = format!("Snowflake Token=\"{token}\"");
        let body = json!({ "sqlText": sql, "asyncExec": false, "sequenceId": 1 }).to_string();
        let (status, answer) = request_with(
            server.port(),
            "POST",
            "/queries/v1/query-request?requestId=00000000-0000-0000-0000-000000000001",
            &[("Authorization", &auth)],
            Some(&body),
        )
        .expect("query request");
        (status, serde_json::from_str(&answer).unwrap_or(Value::String(answer)))
    }
}
