//! A local JSearch stand-in: a minimal HTTP/1.1 server on 127.0.0.1:0 that answers `GET /search` from the
//! fixtures (`tests/data/jsearch/responses.json`), scripted per (query, page), and records every request.
//!
//! A script is a queue of replies for one (query, page): each request takes the next one, and the last one
//! repeats. Requests with no script get a 404 gateway message.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/jsearch")
}

/// One canned HTTP response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// A fixture file with the status and headers its `responses.json` entry gives.
    pub fn fixture(file: &str) -> Reply {
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(data_dir().join("responses.json")).expect("read responses.json"),
        )
        .expect("parse responses.json");
        let entry = manifest
            .as_array()
            .expect("manifest is an array")
            .iter()
            .find(|e| e["file"] == file)
            .unwrap_or_else(|| panic!("{file} is not in responses.json"));
        let status = entry["status"].as_u64().expect("status") as u16;
        let headers = entry["headers"]
            .as_object()
            .map(|h| h.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
            .unwrap_or_default();
        Reply { status, headers, body: std::fs::read(data_dir().join(file)).expect("read fixture") }
    }

    /// A 200 JSON page holding `jobs`.
    pub fn page(query: &str, page: u32, jobs: Vec<serde_json::Value>) -> Reply {
        let body = serde_json::json!({
            "status": "OK",
            "request_id": "00000000-0000-4000-8000-000000000000",
            "parameters": {"query": query, "page": page, "num_pages": 1, "date_posted": "all"},
            "data": jobs,
        });
        Reply::json(200, &body)
    }

    pub fn json(status: u16, body: &serde_json::Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(body).expect("serialize"),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// The jobs of a fixture page.
pub fn fixture_jobs(file: &str) -> Vec<serde_json::Value> {
    let body: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data_dir().join(file)).expect("read fixture"))
            .expect("parse fixture");
    body["data"].as_array().expect("data array").clone()
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// Lower-cased names.
    pub headers: BTreeMap<String, String>,
    pub at: Instant,
}

impl Seen {
    pub fn param(&self, name: &str) -> &str {
        self.query.get(name).map(String::as_str).unwrap_or_default()
    }
}

#[derive(Default)]
struct State {
    scripts: HashMap<(String, String), VecDeque<Reply>>,
    seen: Vec<Seen>,
}

/// The running server; stopped on drop.
pub struct FakeJsearch {
    url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeJsearch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub const DE: &str = "data engineer in United States";
pub const RUST: &str = "rust developer in United States";

impl FakeJsearch {
    /// Serves nothing until scripted.
    pub async fn start() -> FakeJsearch {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(Mutex::new(State::default()));
        let accept_state = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_connection(stream, accept_state.clone()));
            }
        });
        FakeJsearch { url, state, task }
    }

    /// Serves the fixture set's first fetch: both queries, pages 1-4 (page 4 empty).
    pub async fn with_first_fetch() -> FakeJsearch {
        let server = FakeJsearch::start().await;
        for (query, slug) in [(DE, "data-engineer"), (RUST, "rust-developer")] {
            for page in 1..=4 {
                server.script(query, page, vec![Reply::fixture(&format!("search-{slug}-page{page}.json"))]);
            }
        }
        server
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Replaces the replies of (query, page).
    pub fn script(&self, query: &str, page: u32, replies: Vec<Reply>) {
        let mut state = self.state.lock().expect("lock");
        state.scripts.insert((query.to_owned(), page.to_string()), replies.into());
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.state.lock().expect("lock").seen.clone()
    }

    pub fn clear_requests(&self) {
        self.state.lock().expect("lock").seen.clear();
    }
}

fn next_reply(state: &Mutex<State>, seen: Seen) -> Reply {
    let mut state = state.lock().expect("lock");
    let key = (seen.param("query").to_owned(), seen.param("page").to_owned());
    state.seen.push(seen);
    match state.scripts.get_mut(&key) {
        Some(queue) if queue.len() > 1 => queue.pop_front().expect("non-empty"),
        Some(queue) if !queue.is_empty() => queue[0].clone(),
        _ => Reply::json(404, &serde_json::json!({"message": "no fixture for this request"})),
    }
}

async fn serve_connection(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut buffer = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        buffer.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let target = lines.next().and_then(|l| l.split(' ').nth(1)).unwrap_or("/").to_owned();
        let headers: BTreeMap<String, String> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let query = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect();
        let seen = Seen { path: path.to_owned(), query, headers, at: Instant::now() };
        let reply = next_reply(&state, seen);
        let mut response =
            format!("HTTP/1.1 {} Fixture\r\ncontent-length: {}\r\n", reply.status, reply.body.len());
        for (name, value) in &reply.headers {
            response.push_str(&format!("{name}: {value}\r\n"));
        }
        response.push_str("\r\n");
        let mut bytes = response.into_bytes();
        bytes.extend_from_slice(&reply.body);
        if stream.write_all(&bytes).await.is_err() {
            return;
        }
    }
}

/// `application/x-www-form-urlencoded` decoding.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
