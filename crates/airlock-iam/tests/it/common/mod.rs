//! Test support: replaying the hand-written transcripts of `fixtures/airlock-iam/` from a real
//! local HTTP server that checks every request the client sends; [`emu`]: the emulator a
//! conformance scenario runs against (the crate's, or the emulator server binary).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod emu;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The fixtures directory.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/airlock-iam")
}

/// Loads a fixture by name (without `.json`).
pub fn load(name: &str) -> Value {
    let path = fixtures_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

#[derive(Default)]
struct Progress {
    next: usize,
    mismatches: Vec<String>,
}

struct Replayer {
    exchanges: Vec<Value>,
    progress: Arc<Mutex<Progress>>,
}

impl Respond for Replayer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut p = self.progress.lock().unwrap();
        let i = p.next;
        p.next += 1;
        let Some(ex) = self.exchanges.get(i) else {
            p.mismatches.push(format!(
                "request #{i} {} {}: transcript exhausted",
                request.method,
                request.url.path()
            ));
            return ResponseTemplate::new(599).set_body_string("transcript exhausted");
        };
        let want = &ex["request"];
        let mut problems = Vec::new();
        if want["method"].as_str() != Some(request.method.as_str()) {
            problems.push(format!("method {} != {}", request.method, want["method"]));
        }
        if want["path"].as_str() != Some(request.url.path()) {
            problems.push(format!("path {} != {}", request.url.path(), want["path"]));
        }
        let header = |n: &str| {
            request
                .headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        if header("x-same-domain").is_none_or(|v| v.trim().is_empty()) {
            problems.push("no X-Same-Domain header".into());
        }
        if header("content-type").as_deref() != Some("application/json") {
            problems.push(format!("content-type {:?}", header("content-type")));
        }
        match want.get("body") {
            Some(body) => match serde_json::from_slice::<Value>(&request.body) {
                Ok(got) if &got == body => {}
                Ok(got) => problems.push(format!("body {got} != {body}")),
                Err(_) => problems.push("body is not JSON".into()),
            },
            None if !request.body.is_empty() => problems.push("unexpected body".into()),
            None => {}
        }
        let cookie = header("cookie");
        if want["expectCookie"].as_bool() == Some(true) {
            // The cookie set by the first response must come back verbatim.
            let set = self
                .exchanges
                .iter()
                .take(i)
                .filter_map(|e| e["response"]["headers"]["Set-Cookie"].as_str())
                .next_back()
                .map(|s| s.split(';').next().unwrap_or_default().to_owned());
            if cookie != set {
                problems.push(format!("cookie {cookie:?} != {set:?}"));
            }
        } else if cookie.is_some() {
            problems.push(format!("unexpected cookie {cookie:?}"));
        }
        if !problems.is_empty() {
            p.mismatches
                .push(format!("request #{i}: {}", problems.join("; ")));
            return ResponseTemplate::new(599).set_body_string(problems.join("; "));
        }
        let resp = &ex["response"];
        let mut t = ResponseTemplate::new(resp["status"].as_u64().unwrap() as u16);
        if let Some(h) = resp["headers"].as_object() {
            for (k, v) in h {
                t = t.append_header(k.as_str(), v.as_str().unwrap());
            }
        }
        t.set_body_raw(
            serde_json::to_vec(&resp["body"]).unwrap(),
            "application/json",
        )
    }
}

/// A server replaying one transcript.
pub struct Replay {
    pub server: MockServer,
    pub fixture: Value,
    progress: Arc<Mutex<Progress>>,
}

impl Replay {
    /// Starts a server for the fixture `name`.
    pub async fn start(name: &str) -> Replay {
        let fixture = load(name);
        let exchanges = fixture["exchanges"].as_array().unwrap().clone();
        let progress = Arc::new(Mutex::new(Progress::default()));
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(Replayer {
                exchanges,
                progress: progress.clone(),
            })
            .mount(&server)
            .await;
        Replay {
            server,
            fixture,
            progress,
        }
    }

    /// The Loginapp URL: the server root plus the transcript's prefix before `/rest/`.
    pub fn loginapp_url(&self) -> String {
        let first = self.fixture["exchanges"][0]["request"]["path"]
            .as_str()
            .unwrap();
        let prefix = &first[..first.find("/rest/").unwrap()];
        format!("{}{prefix}", self.server.uri())
    }

    /// The response body of exchange `i`.
    pub fn response(&self, i: usize) -> &Value {
        &self.fixture["exchanges"][i]["response"]["body"]
    }

    /// Asserts every exchange was used, in order, and every request matched.
    pub fn assert_complete(&self) {
        let p = self.progress.lock().unwrap();
        assert!(p.mismatches.is_empty(), "{:#?}", p.mismatches);
        let total = self.fixture["exchanges"].as_array().unwrap().len();
        assert_eq!(p.next, total, "the client made {} of {total} calls", p.next);
    }
}

/// One request as the client sent it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub method: String,
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

/// An `HttpClient` that records every request on its way to another one (what the emulator's
/// log does not keep: headers and bodies).
pub struct Recording {
    inner: Arc<dyn auth_core::HttpClient>,
    sent: Mutex<Vec<Sent>>,
}

impl Recording {
    /// Records what goes to `inner`.
    pub fn new(inner: Arc<dyn auth_core::HttpClient>) -> Arc<Recording> {
        Arc::new(Recording {
            inner,
            sent: Mutex::new(Vec::new()),
        })
    }

    /// Every request so far.
    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }
}

#[auth_core::async_trait]
impl auth_core::HttpClient for Recording {
    async fn execute(
        &self,
        request: auth_core::HttpRequest,
    ) -> Result<auth_core::HttpResponse, auth_core::TransportError> {
        self.sent.lock().unwrap().push(Sent {
            method: request.method().as_str().to_owned(),
            path: request.uri().path().to_owned(),
            headers: request.headers().clone(),
            body: request.body().clone(),
        });
        self.inner.execute(request).await
    }
}
