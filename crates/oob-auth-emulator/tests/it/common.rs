//! Helpers: a server on free ports, JSON over HTTP, a LaunchKey client for the served service.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::poll::PollConfig;
use oob_auth_emulator::{Options, Server};
use serde_json::Value;

/// A server on free loopback ports with `options` (every provider unless `only` says).
pub async fn start(options: Options) -> Server {
    Server::start(options).await.expect("the server starts")
}

pub async fn start_default() -> Server {
    start(Options::ephemeral()).await
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `GET url` → (status, JSON body or Null).
pub async fn get(url: &str) -> (u16, Value) {
    let r = http().get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, json_of(r).await)
}

/// A response's JSON body (Null when it is not JSON).
pub async fn json_of(r: reqwest::Response) -> Value {
    let bytes = r.bytes().await.unwrap();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

/// A request with a JSON body.
pub fn with_json(req: reqwest::RequestBuilder, body: &Value) -> reqwest::RequestBuilder {
    req.header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap())
}

/// `POST url` with a JSON body (or none) → (status, JSON body or Null).
pub async fn post(url: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = http().post(url);
    if let Some(b) = body {
        req = with_json(req, &b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, json_of(r).await)
}

/// A LaunchKey client for the service the emulator described in `info`.
pub fn launchkey_client(info: &Value) -> launchkey::Client {
    let lk = &info["providers"]["launchkey"];
    let service_id = launchkey::ServiceId::parse(lk["service_id"].as_str().unwrap()).unwrap();
    let key =
        launchkey::ServicePrivateKey::from_pem(lk["service_private_key_pem"].as_str().unwrap())
            .unwrap();
    launchkey::Client::builder(service_id, key)
        .base_url(lk["api_url"].as_str().unwrap())
        .build()
        .unwrap()
}

/// An Authsignal client for the tenant the emulator printed in `info`.
pub fn authsignal_client(info: &Value) -> authsignal::Client {
    let sig = &info["providers"]["authsignal"];
    authsignal::Client::builder(authsignal::SecretKey::new(
        sig["secret_key"].as_str().unwrap(),
    ))
    .base_url(sig["api_url"].as_str().unwrap())
    .build()
    .unwrap()
}

/// Sets the tenant's one rule: every `withdraw` needs a challenge.
pub async fn challenge_withdrawals(control_url: &str) {
    let (status, body) = post(
        &format!("{control_url}/authsignal/rules"),
        Some(serde_json::json!([{"id": "r", "action": "withdraw", "outcome": "CHALLENGE"}])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// A CIBA client builder for the client the emulator printed in `info` (its id, secret and
/// issuer).
pub fn ciba_client(info: &Value) -> ciba::ClientBuilder {
    let c = &info["providers"]["ciba"];
    ciba::Client::builder(
        ciba::ClientId::new(c["client_id"].as_str().unwrap()).unwrap(),
        ciba::ClientAuth::secret_basic(c["client_secret"].as_str().unwrap()),
    )
    .issuer(c["issuer"].as_str().unwrap())
}

/// Polls fast, for a while.
pub fn poll() -> PollConfig {
    PollConfig::every(Duration::from_millis(100), Duration::from_secs(20))
}

/// A user name nobody else in this test binary uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Adds `user` at `provider` through the control API; answers what it returned.
pub async fn add_user(control_url: &str, provider: &str, user: &str) -> Value {
    let (status, body) = post(
        &format!("{control_url}/{provider}/users"),
        Some(serde_json::json!({ "user": user })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Plays the user on the control API: `verb` (`approve`, `deny`, …) on the step-up `id` of
/// `provider`; the answer, which must be 200.
pub async fn answer(control_url: &str, provider: &str, id: &str, verb: &str) -> Value {
    let (status, body) = post(
        &format!("{control_url}/{provider}/step-ups/{id}/{verb}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// One request a [`Receiver`] got.
#[derive(Debug)]
pub struct Received {
    pub path: String,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

/// A small HTTP server on a free loopback port that records every request it gets and answers
/// each with one status: the webhook or notification endpoint of an application under test.
pub struct Receiver {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    got: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Received>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// Starts one that answers `status` to everything.
    pub async fn start(status: u16) -> Receiver {
        Receiver::answering(&[status]).await
    }

    /// Starts one that answers its requests with `statuses` in turn, the last to all the rest.
    pub async fn answering(statuses: &[u16]) -> Receiver {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let statuses: Arc<Mutex<VecDeque<u16>>> =
            Arc::new(Mutex::new(statuses.iter().copied().collect()));
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let tx = tx.clone();
                let status = {
                    let mut statuses = statuses.lock().unwrap();
                    match statuses.len() {
                        0 => 204,
                        1 => statuses[0],
                        _ => statuses.pop_front().unwrap(),
                    }
                };
                async move {
                    let _ = tx.send(Received {
                        path: uri.path().to_owned(),
                        headers,
                        body: body.to_vec(),
                    });
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            base,
            got: tokio::sync::Mutex::new(rx),
            task,
        }
    }

    /// The next request it gets (fails after 20 s).
    pub async fn next(&self) -> Received {
        tokio::time::timeout(Duration::from_secs(20), self.got.lock().await.recv())
            .await
            .expect("a delivery within 20 s")
            .expect("the receiver runs")
    }

    /// Requests until one satisfies `wanted` (fails after 20 s without one).
    pub async fn next_matching(&self, wanted: impl Fn(&Received) -> bool) -> Received {
        loop {
            let r = self.next().await;
            if wanted(&r) {
                return r;
            }
        }
    }

    /// What it got so far and nobody read yet.
    pub async fn drain(&self) -> Vec<Received> {
        let mut got = self.got.lock().await;
        let mut all = Vec::new();
        while let Ok(r) = got.try_recv() {
            all.push(r);
        }
        all
    }
}
