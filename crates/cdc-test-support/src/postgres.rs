//! A throwaway PostgreSQL cluster: `initdb` in a temp dir, `pg_ctl start` on a free loopback port, `pg_ctl stop
//! -m immediate` and removal on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// Password of the superuser `postgres` in every test cluster (the clusters listen on loopback only).
pub const SUPERUSER_PASSWORD: &str = "postgres-test-pw";

/// Options for [`PgCluster`].
#[derive(Debug, Clone)]
pub struct PgClusterBuilder {
    wal_level: &'static str,
    extra_conf: Vec<String>,
    tls: bool,
}

impl Default for PgClusterBuilder {
    fn default() -> Self {
        PgClusterBuilder { wal_level: "logical", extra_conf: Vec::new(), tls: false }
    }
}

impl PgClusterBuilder {
    /// `replica` to test the prerequisite check.
    pub fn wal_level(mut self, level: &'static str) -> Self {
        self.wal_level = level;
        self
    }

    /// One `name = value` line appended to postgresql.conf.
    pub fn conf(mut self, line: impl Into<String>) -> Self {
        self.extra_conf.push(line.into());
        self
    }

    /// Serve TLS with a certificate for `localhost` and `127.0.0.1` signed by a fresh test CA
    /// ([`PgCluster::ca_cert`] is the CA's path, usable as `sslrootcert`).
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    pub fn start(self) -> PgCluster {
        PgCluster::start_with(self)
    }
}

/// A running PostgreSQL cluster owned by one test.
#[derive(Debug)]
pub struct PgCluster {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

impl PgCluster {
    /// Starts a cluster with `wal_level=logical`.
    pub fn start() -> PgCluster {
        PgClusterBuilder::default().start()
    }

    pub fn builder() -> PgClusterBuilder {
        PgClusterBuilder::default()
    }

    fn start_with(options: PgClusterBuilder) -> PgCluster {
        let bin = find_bindir();
        let as_postgres_user = is_root();
        let dir = tempfile::Builder::new().prefix("cdc-pg-").tempdir().expect("create temp dir");
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, SUPERUSER_PASSWORD).expect("write pwfile");
        if as_postgres_user {
            chown_postgres(dir.path());
        }
        let initdb = bin.join("initdb");
        run(
            command(as_postgres_user, &initdb)
                .arg("-D")
                .arg(&data)
                .args(["-U", "postgres", "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"])
                .arg(format!("--pwfile={}", pwfile.display())),
            "initdb",
        );
        let port = free_port();
        let mut conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             wal_level = {}\nmax_wal_senders = 20\nmax_replication_slots = 20\nfsync = off\n\
             synchronous_commit = off\nfull_page_writes = off\nshared_buffers = 64MB\nmax_connections = 100\n\
             wal_sender_timeout = 60s\nlog_min_messages = warning\n",
            dir.path().display(),
            options.wal_level
        );
        if options.tls {
            make_certificate(dir.path(), &data);
            conf.push_str("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
            if as_postgres_user {
                chown_postgres(&data);
            }
        }
        for line in &options.extra_conf {
            conf.push_str(line);
            conf.push('\n');
        }
        append(&data.join("postgresql.conf"), &conf);
        // Password auth everywhere, replication included, so tests exercise SCRAM like production.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all scram-sha-256\nlocal replication all scram-sha-256\n\
             host all all 127.0.0.1/32 scram-sha-256\nhost replication all 127.0.0.1/32 scram-sha-256\n",
        )
        .expect("write pg_hba.conf");
        let cluster = PgCluster { dir, bin, port, as_postgres_user };
        cluster.pg_ctl_start();
        cluster
    }

    fn pg_ctl_start(&self) {
        let log = self.dir.path().join("server.log");
        run(
            command(self.as_postgres_user, &self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(self.data_dir())
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "start"]),
            "pg_ctl start",
        );
    }

    /// Stops with `-m fast` and starts again on the same port (to test reconnects).
    pub fn restart(&self) {
        self.stop("fast");
        self.pg_ctl_start();
    }

    fn stop(&self, mode: &str) {
        let _ = command(self.as_postgres_user, &self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", mode, "-w", "stop"])
            .output();
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The directory holding the server's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    pub fn password(&self) -> &'static str {
        SUPERUSER_PASSWORD
    }

    /// A libpq-style keyword/value connection string for the superuser.
    pub fn conn_string(&self, dbname: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres password={} dbname={dbname}",
            self.port, SUPERUSER_PASSWORD
        )
    }

    /// Creates a database and returns its name.
    pub async fn create_database(&self, name: &str) -> String {
        let client = self.connect("postgres").await;
        client.batch_execute(&format!("CREATE DATABASE \"{name}\"")).await.expect("create database");
        name.to_owned()
    }

    /// A superuser client; its connection task runs until the client is dropped.
    pub async fn connect(&self, dbname: &str) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.conn_string(dbname), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect to test cluster on port {}: {e}", self.port));
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }

    /// The CA certificate of a cluster started with [`PgClusterBuilder::tls`].
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// The server log, for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop("immediate");
    }
}

/// A test CA (`ca.crt` beside the data directory) and a server certificate it signed for `localhost` and
/// `127.0.0.1` (`server.crt`/`server.key` in the data directory). WebPKI verifiers refuse a self-signed
/// certificate used directly by a server, so the chain is real.
fn make_certificate(dir: &Path, data: &Path) {
    let ca_key = dir.join("ca.key");
    let ca_crt = dir.join("ca.crt");
    let csr = dir.join("server.csr");
    let ext = dir.join("server.ext");
    let key = data.join("server.key");
    let crt = data.join("server.crt");
    std::fs::write(&ext, "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
        .expect("ext");
    run(
        Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=cdc-test-ca"])
            .arg("-keyout")
            .arg(&ca_key)
            .arg("-out")
            .arg(&ca_crt),
        "openssl req (CA)",
    );
    run(
        Command::new("openssl")
            .args(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr),
        "openssl req (server)",
    );
    run(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-set_serial", "1"])
            .arg("-in")
            .arg(&csr)
            .arg("-CA")
            .arg(&ca_crt)
            .arg("-CAkey")
            .arg(&ca_key)
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(&crt),
        "openssl x509 (sign)",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod server.key");
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn command(as_postgres_user: bool, program: &Path) -> Command {
    if as_postgres_user {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn chown_postgres(path: &Path) {
    run(Command::new("chown").arg("-R").arg("postgres:postgres").arg(path), "chown");
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).expect("open postgresql.conf");
    f.write_all(text.as_bytes()).expect("append postgresql.conf");
}

/// The newest installed PostgreSQL's bin directory (`/usr/lib/postgresql/<v>/bin`), or `PG_BINDIR`.
fn find_bindir() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BINDIR") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|v| std::path::Path::new(&format!("/usr/lib/postgresql/{v}/bin/initdb")).exists())
        .collect();
    versions.sort_unstable();
    let v =
        versions.last().expect("no PostgreSQL server under /usr/lib/postgresql: run scripts/install-deps.sh");
    PathBuf::from(format!("/usr/lib/postgresql/{v}/bin"))
}

/// A port the OS just handed out; PostgreSQL binds it a moment later (a race other tests could only lose by
/// binding the same ephemeral port in that window, which the kernel's port rotation makes unlikely).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind port 0").local_addr().expect("local addr").port()
}
