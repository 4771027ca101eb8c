//! A scripted HTTP server on loopback: answers from a queue, records every request.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// One canned answer.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Canned {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }

    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub at: Instant,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<Canned>>,
    /// Answer when the queue is empty.
    fallback: Mutex<Option<Canned>>,
    seen: Mutex<Vec<Recorded>>,
}

pub struct ScriptedServer {
    pub base: String,
    shared: Arc<Shared>,
}

impl ScriptedServer {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new().fallback(answer).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base: format!("http://{addr}"),
            shared,
        }
    }

    pub fn push(&self, canned: Canned) {
        self.shared.queue.lock().unwrap().push_back(canned);
    }

    pub fn always(&self, canned: Canned) {
        *self.shared.fallback.lock().unwrap() = Some(canned);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.seen.lock().unwrap().clone()
    }
}

async fn answer(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    // Read in full, as a real server would, though no test looks at it.
    _body: Bytes,
) -> Response {
    shared.seen.lock().unwrap().push(Recorded {
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        headers,
        at: Instant::now(),
    });
    let next = shared.queue.lock().unwrap().pop_front();
    let canned = next.or_else(|| shared.fallback.lock().unwrap().clone());
    let Some(canned) = canned else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "script ran out").into_response();
    };
    let mut response = (StatusCode::from_u16(canned.status).unwrap(), canned.body).into_response();
    for (name, value) in canned.headers {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    response
}
pub mod bad_configs;
pub mod calls;
pub mod provision;
pub mod sim;

/// Every file under `dir` (none if it does not exist), with its text, for leak scans.
pub fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            found.push((path, text));
        }
    }
    found
}
