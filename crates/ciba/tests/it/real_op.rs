//! The client against a real, OpenID-certified OpenID Provider: npm `oidc-provider` (pinned in
//! `crates/ciba/op/package.json`), configured by `crates/ciba/op/server.mjs`, started on a
//! loopback port per test and stopped when the test ends.
//!
//! The OP must be installed first (`.ci/run` does it):
//!
//! ```text
//! mkdir -p target/ciba-op && cp crates/ciba/op/package.json crates/ciba/op/package-lock.json target/ciba-op/
//! npm ci --prefix target/ciba-op --ignore-scripts --no-audit --no-fund
//! ```
//!
//! `CIBA_OP_DIR` points elsewhere (default `<workspace>/target/ciba-op`), `NODE` names the node
//! binary (default `node`). Without the install the tests fail and say so; they never skip.
//!
//! The test plays the user's phone through the server's test-only control API, which calls
//! oidc-provider's own CIBA result API (`provider.backchannelResult`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use auth_core::poll::{PollConfig, PollStatus};
use auth_core::{FakeClock, StepUp, StepUpOutcome, StepUpRequest};
use ciba::{
    Algorithm, AuthRequest, AuthenticationRequest, Client, ClientAuth, ClientId, DeliveryMode,
    ErrorCode, Outcome, SigningKey, TokenPoll, UserCode, UserHint,
};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

const INSTALL: &str = "mkdir -p target/ciba-op && cp crates/ciba/op/package.json crates/ciba/op/package-lock.json target/ciba-op/ && npm ci --prefix target/ciba-op --ignore-scripts --no-audit --no-fund";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The installed OP, checked against the pinned version.
fn op_dir() -> PathBuf {
    let dir = std::env::var_os("CIBA_OP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir().join("../../target/ciba-op"));
    let pinned: Value = serde_json::from_str(
        &std::fs::read_to_string(crate_dir().join("op/package.json")).unwrap(),
    )
    .unwrap();
    let want = pinned["dependencies"]["oidc-provider"]
        .as_str()
        .unwrap()
        .to_owned();
    let installed = std::fs::read_to_string(dir.join("node_modules/oidc-provider/package.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .and_then(|v| v["version"].as_str().map(str::to_owned));
    match installed {
        Some(v) if v == want => dir,
        Some(v) => panic!(
            "oidc-provider {v} is installed in {}, the tests pin {want}: reinstall from the workspace root with\n  {INSTALL}",
            dir.display()
        ),
        None => panic!(
            "the real OpenID Provider (npm oidc-provider {want}) is not installed in {}: from the workspace root run\n  {INSTALL}\n(or set CIBA_OP_DIR to where it is installed)",
            dir.display()
        ),
    }
}

/// A running oidc-provider. Killed on drop (and it exits by itself when its stdin closes).
struct Op {
    issuer: String,
    http: reqwest::Client,
    _child: tokio::process::Child,
}

const BASIC: (&str, &str) = ("ciba-basic", "basic-secret-0123456789abcdef");
const POST: (&str, &str) = ("ciba-post", "post-secret-0123456789abcdef");
const PING: (&str, &str) = ("ciba-ping", "ping-secret-0123456789abcdef");

impl Op {
    async fn start(env: &[(&str, String)]) -> Op {
        let dir = op_dir();
        let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
        let mut cmd = tokio::process::Command::new(&node);
        cmd.arg(crate_dir().join("op/server.mjs"))
            .arg("--modules")
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!("could not run `{node}` ({e}): the real-OP tests need Node.js 20.19+ on PATH")
        });
        // Its diagnostics go through the test harness (shown when a test fails).
        let stderr = child.stderr.take().unwrap();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[oidc-provider] {line}");
            }
        });
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("oidc-provider did not start within 30 s")
            .unwrap()
            .expect("oidc-provider exited before printing its issuer");
        let issuer = line
            .strip_prefix("issuer=")
            .expect("first line is the issuer")
            .to_owned();
        // Keep reading, so the OP never writes into a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Op {
            issuer,
            http: reqwest::Client::new(),
            _child: child,
        }
    }

    async fn control(&self, method: reqwest::Method, path: &str) -> Value {
        let r = self
            .http
            .request(method, format!("{}/test/{path}", self.issuer))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        assert!(status.is_success(), "control {path}: {status} {body}");
        body
    }

    async fn approve(&self, r: &AuthRequest) {
        self.control(
            reqwest::Method::POST,
            &format!("requests/{}/approve", r.auth_req_id),
        )
        .await;
    }

    async fn deny(&self, r: &AuthRequest) {
        self.control(
            reqwest::Method::POST,
            &format!("requests/{}/deny", r.auth_req_id),
        )
        .await;
    }

    async fn request(&self, r: &AuthRequest) -> Value {
        self.control(reqwest::Method::GET, &format!("requests/{}", r.auth_req_id))
            .await
    }

    async fn stats(&self) -> Value {
        self.control(reqwest::Method::GET, "stats").await
    }

    fn client(&self, (id, secret): (&str, &str), clock: &FakeClock) -> Client {
        self.builder(id, ClientAuth::secret_basic(secret), clock)
            .build()
            .unwrap()
    }

    /// A client builder for this OP, on `clock`.
    fn builder(&self, id: &str, auth: ClientAuth, clock: &FakeClock) -> ciba::ClientBuilder {
        Client::builder(ClientId::new(id).unwrap(), auth)
            .issuer(&self.issuer)
            .clock(Arc::new(clock.clone()))
    }
}

/// The client's clock: the real time now, moved forward by the client's own polling waits (so
/// a test does not sleep through 5-second intervals; the OP only sees requests arrive sooner).
fn clock() -> FakeClock {
    FakeClock::new(SystemTime::now())
}

fn approved(outcome: Outcome) -> Box<ciba::Tokens> {
    match outcome {
        Outcome::Approved(t) => t,
        other => panic!("expected an approval, got {other:?}"),
    }
}

async fn login(op: &Op, client: &Client, user: &str) -> Box<ciba::Tokens> {
    let started = client
        .authenticate(AuthenticationRequest::login_hint(user).scope("profile"))
        .await
        .unwrap();
    assert!(matches!(
        client.token_request(&started.auth_req_id).await.unwrap(),
        TokenPoll::Pending
    ));
    op.approve(&started).await;
    approved(client.poll(&started).await.unwrap())
}

#[tokio::test]
async fn approve_with_client_secret_basic() {
    let op = Op::start(&[]).await;
    let clock = clock();
    let client = op.client(BASIC, &clock);
    let m = client.metadata().await.unwrap().unwrap();
    assert_eq!(
        m.backchannel_token_delivery_modes_supported,
        [DeliveryMode::Poll, DeliveryMode::Ping]
    );
    let tokens = login(&op, &client, "alice").await;
    assert_eq!(tokens.claims.sub, "alice");
    assert_eq!(tokens.claims.iss, op.issuer);
    assert_eq!(tokens.claims.aud, ["ciba-basic"]);
    assert_eq!(tokens.token_type, "Bearer");
    assert!(tokens.refresh_token.is_some());
}

#[tokio::test]
async fn approve_with_client_secret_post() {
    let op = Op::start(&[]).await;
    let clock = clock();
    let client = op
        .builder(POST.0, ClientAuth::secret_post(POST.1), &clock)
        .build()
        .unwrap();
    assert_eq!(login(&op, &client, "bob").await.claims.sub, "bob");
}

#[tokio::test]
async fn approve_with_private_key_jwt_rs256_ps256_es256() {
    let keys: Vec<SigningKey> = [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256]
        .into_iter()
        .map(|a| SigningKey::generate(a).unwrap())
        .collect();
    let jwks = ciba::SigningKey::public_jwk_set(&keys).to_string();
    let op = Op::start(&[("CIBA_OP_CLIENT_JWKS", jwks)]).await;
    let clock = clock();
    for key in keys {
        let client_id = format!("ciba-jwt-{}", key.algorithm().as_str().to_lowercase());
        let client = op
            .builder(&client_id, ClientAuth::private_key_jwt(key), &clock)
            .build()
            .unwrap();
        assert_eq!(login(&op, &client, "alice").await.claims.sub, "alice");
    }
}

#[tokio::test]
async fn deny() {
    let op = Op::start(&[]).await;
    let clock = clock();
    let client = op.client(BASIC, &clock);
    let started = client
        .authenticate(AuthenticationRequest::login_hint("alice"))
        .await
        .unwrap();
    op.deny(&started).await;
    assert!(matches!(
        client.poll(&started).await.unwrap(),
        Outcome::Denied { .. }
    ));
}

#[tokio::test]
async fn expire() {
    let op = Op::start(&[]).await;
    let clock = clock();
    let client = op.client(BASIC, &clock);
    let started = client
        .authenticate(
            AuthenticationRequest::login_hint("alice").requested_expiry(Duration::from_secs(2)),
        )
        .await
        .unwrap();
    assert_eq!(
        started.expires_in,
        Duration::from_secs(2),
        "the OP honours requested_expiry"
    );
    // The client stops at expires_in by itself, without asking the OP.
    assert!(matches!(
        client.poll(&started).await.unwrap(),
        Outcome::Expired
    ));
    assert_eq!(op.request(&started).await["polls"], 0);
    // And once the OP's clock has passed it too, the OP says expired_token.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(matches!(
        client.token_request(&started.auth_req_id).await.unwrap(),
        TokenPoll::Done(Outcome::Expired)
    ));
}

#[tokio::test]
async fn slow_down() {
    // This OP answers slow_down to a poll for the same request within 1.5 s of the last one.
    let op = Op::start(&[("CIBA_OP_MIN_POLL_MS", "1500".into())]).await;
    let clock = clock();
    let client = op.client(BASIC, &clock);
    let started = client
        .authenticate(AuthenticationRequest::login_hint("alice"))
        .await
        .unwrap();
    // Not before the interval.
    assert!(matches!(
        client.poll_once(&started).await.unwrap(),
        PollStatus::Pending { .. }
    ));
    assert_eq!(op.request(&started).await["polls"], 0);
    clock.advance(Duration::from_secs(5));
    assert!(matches!(
        client.poll_once(&started).await.unwrap(),
        PollStatus::Pending { .. }
    ));
    // The client's clock says 5 s passed; the OP saw milliseconds: slow_down.
    clock.advance(Duration::from_secs(5));
    match client.poll_once(&started).await.unwrap() {
        PollStatus::Pending { retry_after } => {
            assert_eq!(retry_after, Some(Duration::from_secs(10)))
        }
        other => panic!("{other:?}"),
    }
    // 5 s later is not enough any more: nothing is sent.
    clock.advance(Duration::from_secs(5));
    assert!(matches!(
        client.poll_once(&started).await.unwrap(),
        PollStatus::Pending { .. }
    ));
    assert_eq!(op.request(&started).await["polls"], 2);
    op.approve(&started).await;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    clock.advance(Duration::from_secs(5));
    match client.poll_once(&started).await.unwrap() {
        PollStatus::Ready(outcome) => assert!(outcome.is_approved()),
        other => panic!("{other:?}"),
    }
    assert_eq!(op.request(&started).await["polls"], 3);
}

#[tokio::test]
async fn wrong_client_secret() {
    let op = Op::start(&[]).await;
    let clock = clock();
    let client = op.client((BASIC.0, "not-the-secret-42"), &clock);
    let err = client
        .authenticate(AuthenticationRequest::login_hint("alice"))
        .await
        .unwrap_err();
    assert!(err.is_invalid_client(), "{err}");
    assert!(!format!("{err} {err:?}").contains("not-the-secret-42"));
}

#[tokio::test]
async fn unknown_user() {
    let op = Op::start(&[]).await;
    let clock = clock();
    let client = op.client(BASIC, &clock);
    let err = client
        .authenticate(AuthenticationRequest::login_hint("mallory"))
        .await
        .unwrap_err();
    assert!(err.is_unknown_user(), "{err}");
}

#[tokio::test]
async fn binding_message_and_user_code_passed_through() {
    let op = Op::start(&[]).await;
    let clock = clock();
    let client = op.client(BASIC, &clock);
    let started = client
        .authenticate(
            AuthenticationRequest::login_hint("alice")
                .binding_message("Pay 120 EUR to ACME? 7B")
                .user_code(UserCode::new("246810"))
                .acr_values(["urn:example:acr:phone"]),
        )
        .await
        .unwrap();
    let seen = op.request(&started).await;
    assert_eq!(seen["binding_message"], "Pay 120 EUR to ACME? 7B");
    assert_eq!(seen["user_code_checked"], true);
    assert_eq!(seen["acr_values"], "urn:example:acr:phone");
    let wrong = client
        .authenticate(AuthenticationRequest::login_hint("alice").user_code(UserCode::new("111111")))
        .await
        .unwrap_err();
    assert_eq!(wrong.error_code(), Some(&ErrorCode::InvalidUserCode));
    assert!(!format!("{wrong:?}").contains("111111"));
}

/// An HTTPS listener for axum (oidc-provider only pings https endpoints).
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

fn tls_acceptor(dir: &Path) -> tokio_rustls::TlsAcceptor {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(dir.join("callback-cert.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("callback-key.pem")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

#[tokio::test]
async fn ping_callback_then_token() {
    let tls = crate_dir().join("../../fixtures/ciba/tls");
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}/ciba/ping",
        tcp.local_addr().unwrap().port()
    );
    let slot: Arc<Mutex<Option<Client>>> = Arc::new(Mutex::new(None));
    let results: Arc<Mutex<Vec<TokenPoll>>> = Arc::new(Mutex::new(Vec::new()));
    let (slot2, results2) = (slot.clone(), results.clone());
    let app = axum::Router::new().route(
        "/ciba/ping",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let client = slot2.lock().unwrap().clone().unwrap();
                let results = results2.clone();
                async move {
                    let auth = headers.get("authorization").map(|v| v.as_bytes());
                    match client.handle_ping(auth, &body).await {
                        Ok((_, poll)) => {
                            results.lock().unwrap().push(poll);
                            axum::http::StatusCode::NO_CONTENT
                        }
                        Err(ciba::Error::Notification(e)) => {
                            axum::http::StatusCode::from_u16(e.http_status()).unwrap()
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            },
        ),
    );
    let listener = TlsListener {
        tcp,
        acceptor: tls_acceptor(&tls),
    };
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let op = Op::start(&[
        ("CIBA_OP_PING_URL", url),
        (
            "NODE_EXTRA_CA_CERTS",
            tls.join("callback-cert.pem").display().to_string(),
        ),
    ])
    .await;
    let clock = clock();
    let client = op
        .builder(PING.0, ClientAuth::secret_basic(PING.1), &clock)
        .delivery_mode(DeliveryMode::Ping)
        .build()
        .unwrap();
    *slot.lock().unwrap() = Some(client.clone());
    let started = client
        .authenticate(AuthenticationRequest::login_hint("alice"))
        .await
        .unwrap();
    assert!(started.client_notification_token.is_some());
    let before = op.stats().await["token_requests"].as_u64().unwrap();
    // The OP pings during the approval; the route verifies the bearer and fetches the tokens.
    op.approve(&started).await;
    let got = std::mem::take(&mut *results.lock().unwrap());
    assert_eq!(got.len(), 1);
    match &got[0] {
        TokenPoll::Done(Outcome::Approved(t)) => assert_eq!(t.claims.sub, "alice"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        op.stats().await["token_requests"].as_u64().unwrap() - before,
        1,
        "one token request"
    );
}

#[tokio::test]
async fn jwks_rotation() {
    let op = Op::start(&[]).await;
    let clock = clock();
    let client = op.client(BASIC, &clock);
    let first = login(&op, &client, "alice").await;
    assert_eq!(op.stats().await["jwks_fetches"], 1);
    let rotated = op.control(reqwest::Method::POST, "rotate-keys").await;
    let second = login(&op, &client, "bob").await;
    let kid = |t: &ciba::Tokens| {
        jsonwebtoken::decode_header(t.id_token.expose_secret())
            .unwrap()
            .kid
            .unwrap()
    };
    assert_ne!(kid(&first), kid(&second));
    assert_eq!(Value::String(kid(&second)), rotated["kid"]);
    assert_eq!(
        op.stats().await["jwks_fetches"],
        2,
        "one refetch for the new kid"
    );
    login(&op, &client, "alice").await;
    assert_eq!(op.stats().await["jwks_fetches"], 2);
}

#[tokio::test]
async fn signed_request_with_the_fapi_ciba_profile() {
    let key = SigningKey::generate(Algorithm::PS256).unwrap();
    let jwks = ciba::SigningKey::public_jwk_set([&key]).to_string();
    let op = Op::start(&[("CIBA_OP_CLIENT_JWKS", jwks)]).await;
    let clock = clock();
    let client = op
        .builder("ciba-fapi", ClientAuth::private_key_jwt(key), &clock)
        .fapi_ciba()
        .build()
        .unwrap();
    let started = client
        .authenticate(AuthenticationRequest::login_hint("alice").binding_message("FAPI sign-in 42"))
        .await
        .unwrap();
    let seen = op.request(&started).await;
    assert_eq!(seen["signed_request"], true);
    assert_eq!(seen["binding_message"], "FAPI sign-in 42");
    op.approve(&started).await;
    let tokens = approved(client.poll(&started).await.unwrap());
    let header = jsonwebtoken::decode_header(tokens.id_token.expose_secret()).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::PS256);
}

#[tokio::test]
async fn id_token_hint_from_an_earlier_login() {
    let op = Op::start(&[]).await;
    let clock = clock();
    let client = op.client(BASIC, &clock);
    let first = login(&op, &client, "bob").await;
    let started = client
        .authenticate(AuthenticationRequest::new(UserHint::IdTokenHint(
            first.id_token.clone(),
        )))
        .await
        .unwrap();
    assert_eq!(op.request(&started).await["account"], "bob");
}

#[tokio::test]
async fn step_up_against_the_real_op() {
    let op = Op::start(&[]).await;
    let clock = clock();
    let client = op.client(BASIC, &clock);
    let handle = client
        .start(StepUpRequest::new(
            "alice",
            "Confirm",
            "Pay 120 EUR to ACME?",
        ))
        .await
        .unwrap()
        .into_handle();
    let started = op.control(reqwest::Method::GET, "requests").await;
    assert_eq!(started[0]["binding_message"], "Pay 120 EUR to ACME?");
    let id = started[0]["auth_req_id"].as_str().unwrap().to_owned();
    assert_eq!(id, handle.id);
    op.control(reqwest::Method::POST, &format!("requests/{id}/approve"))
        .await;
    let outcome = client.wait(&handle, &PollConfig::default()).await.unwrap();
    let StepUpOutcome::Approved { evidence } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(evidence.details["sub"], "alice");
    assert_eq!(evidence.details["iss"], op.issuer.as_str());
}
