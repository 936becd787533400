//! A throwaway Prometheus (Debian's `prometheus` package, installed by `scripts/install-deps.sh`) scraping given
//! targets every second, with its HTTP API on a free loopback port; killed on drop.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Prometheus owned by one test.
#[derive(Debug)]
pub struct Prometheus {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Prometheus {
    /// Scrapes `targets` (`host:port`) at `/metrics` every second, sending `bearer` when given.
    pub fn start(targets: &[String], bearer: Option<&str>) -> Prometheus {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = TcpListener::bind("127.0.0.1:0").expect("bind port 0").local_addr().expect("addr").port();
        let auth =
            bearer.map(|t| format!("    authorization:\n      credentials: \"{t}\"\n")).unwrap_or_default();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: cdc\n{auth}    \
             static_configs:\n      - targets: [{}]\n",
            targets.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ")
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new(binary())
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start prometheus (run scripts/install-deps.sh): {e}"));
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "prometheus did not listen on {port} within 60 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        Prometheus { child, port, dir }
    }

    /// Base URL of its HTTP API.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `PROMETHEUS_BIN`, else `prometheus` on the PATH.
fn binary() -> PathBuf {
    std::env::var_os("PROMETHEUS_BIN").map_or_else(|| PathBuf::from("prometheus"), PathBuf::from)
}
