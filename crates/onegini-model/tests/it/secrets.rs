//! No secret the client sends comes back in an error, whatever the server echoes.
//!
//! The client is set up against the Token Server model (registration, fingerprint, a second
//! profile), then its HTTP client is switched to a server that echoes each request back: the
//! `Authorization` header and the body, raw, JSON-escaped, percent-encoded and base64-encoded,
//! as a plain-text 4xx, as an OAuth error's fields, and inside a 200 answer that does not decode.
//! Every client call then fails, and its error (`Display` and `Debug`) must not contain any
//! secret the echo server received (client secret and its Basic pair, access and refresh
//! tokens, PIN-derived refresh-token candidates, PKCE verifier, authorization code) in any
//! spelling: raw, JSON-escaped, percent-encoded, or base64 at any of the three alignments.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::common::*;
use async_trait::async_trait;
use auth_core::{
    HttpClient, HttpConfig, HttpRequest, HttpResponse, ReqwestClient, SharedClock, TransportError,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use onegini_model::testing::{ScriptedFingerprint, ScriptedUser};
use onegini_model::{Authenticator, Client, FingerprintScan, MemoryStorage, UserProfile};

/// How the echo server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Echo {
    /// `400 text/plain` with the echo.
    PlainText,
    /// `400` OAuth error whose `error` and `error_description` are the echo.
    OAuthError,
    /// `200` with the echo in a field of the wrong type (a decode error quotes it).
    Undecodable,
}

/// The request's `Authorization` header and body in every spelling a server might echo.
fn echo_text(request: &HttpRequest) -> String {
    let auth = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = String::from_utf8_lossy(request.body()).into_owned();
    let decoded_basic = auth
        .strip_prefix("Basic ")
        .and_then(|b| STANDARD.decode(b).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let form_values: Vec<String> = url::form_urlencoded::parse(request.body())
        .map(|(_, v)| v.into_owned())
        .collect();
    let raw = format!("{auth} {decoded_basic} {body} {}", form_values.join(" "));
    let json = serde_json::to_string(&raw).unwrap();
    let percent: String = url::form_urlencoded::byte_serialize(raw.as_bytes()).collect();
    // Base64 of the whole text, and of each value on its own after a one- and two-byte prefix
    // (other alignments inside a larger encoded value).
    let mut b64 = STANDARD.encode(raw.as_bytes());
    for v in form_values.iter().chain([&decoded_basic]) {
        b64.push(' ');
        b64.push_str(&URL_SAFE_NO_PAD.encode(format!("x{v}")));
        b64.push(' ');
        b64.push_str(&STANDARD.encode(format!("xy{v}")));
    }
    format!("raw: {raw}\njson: {json}\npercent: {percent}\nbase64: {b64}")
}

struct EchoServer {
    mode: Arc<Mutex<Echo>>,
}

impl EchoServer {
    fn answer(&self, request: &HttpRequest) -> HttpResponse {
        let text = echo_text(request);
        let quoted = serde_json::to_string(&text).unwrap();
        match *self.mode.lock().unwrap() {
            Echo::PlainText => respond(400, Some("text/plain"), text),
            Echo::OAuthError => respond(
                400,
                Some("application/json"),
                format!(r#"{{"error":{quoted},"error_description":{quoted}}}"#),
            ),
            // The field of the wrong type comes first, so decoding fails on it.
            Echo::Undecodable => respond(
                200,
                Some("application/json"),
                format!(
                    r#"{{"expires_in":{quoted},"scopes":{quoted},"revoked":{quoted},"refresh_token":{{"x":{quoted}}},"authenticator":{{"x":{quoted}}},"access_token":"a","token_type":"bearer","user_id":"u"}}"#
                ),
            ),
        }
    }
}

/// Sends to the Token Server model, or (when switched) to the echo server.
struct Switch {
    http: ReqwestClient,
    echo: String,
    on: Arc<AtomicBool>,
}

#[async_trait]
impl HttpClient for Switch {
    async fn execute(&self, mut request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if self.on.load(Ordering::SeqCst) {
            let path = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            *request.uri_mut() = format!("{}{path}", self.echo).parse().unwrap();
        }
        self.http.execute(request).await
    }
}

/// Every secret a request to the echo server carried.
fn secrets_sent(requests: &[Seen]) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |s: &str| {
        if let Some((_, part)) = s.split_once('.') {
            out.push(part.to_owned());
        }
        out.push(s.to_owned());
    };
    for r in requests {
        let auth = r
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Some(b64) = auth.strip_prefix("Basic ") {
            add(b64);
            let pair = String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap();
            add(&pair);
            add(pair.split_once(':').unwrap().1);
        }
        if let Some(token) = auth.strip_prefix("Bearer ") {
            add(token);
        }
        for (k, v) in url::form_urlencoded::parse(&r.body) {
            if [
                "token",
                "refresh_token",
                "code",
                "code_verifier",
                "client_secret",
            ]
            .contains(&k.as_ref())
            {
                add(&v);
            }
        }
    }
    out
}

/// The spellings of `secret` that must not appear: raw, JSON-escaped, percent-encoded (form
/// and RFC 3986 style), and the base64 (standard and URL-safe) of its bytes at each of the
/// three alignments a larger encoded value can put it at.
fn spellings(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_owned()];
    let json = serde_json::to_string(secret).unwrap();
    out.push(json[1..json.len() - 1].to_owned());
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    out.push(form.clone());
    out.push(form.replace('+', "%20"));
    let bytes = secret.as_bytes();
    for skip in 0..3 {
        if bytes.len() < skip + 6 {
            continue;
        }
        let whole = (bytes.len() - skip) / 3 * 3;
        let core = &bytes[skip..skip + whole];
        out.push(STANDARD_NO_PAD.encode(core));
        out.push(URL_SAFE_NO_PAD.encode(core));
    }
    out
}

/// What the test drives: a client, the model, and the switch to the echo server.
struct Setup {
    world: World,
    client: Client,
    _echo: auth_core::emulator::Server,
    seen: Arc<StandIn>,
    mode: Arc<Mutex<Echo>>,
    on: Arc<AtomicBool>,
    alice: UserProfile,
}

async fn setup() -> Setup {
    let world = World::new().await;
    let mode = Arc::new(Mutex::new(Echo::PlainText));
    let server = EchoServer { mode: mode.clone() };
    let (echo, seen) = StandIn::serve(move |request| server.answer(request)).await;
    let on = Arc::new(AtomicBool::new(false));
    let config = client_config(SIGNATURE)
        .pbkdf2_iterations(1_000)
        .fingerprint_sensor()
        .build()
        .unwrap();
    let clock: SharedClock = Arc::new(world.device_clock.clone());
    let client = Client::builder(config, Arc::new(MemoryStorage::new()))
        .base_url(world.base_url())
        .keystore(Arc::new(onegini_model::MemoryKeystore::new()))
        .clock(clock)
        .http_client(Arc::new(Switch {
            http: ReqwestClient::new(&HttpConfig::default()).unwrap(),
            echo: echo.base_url().to_string(),
            on: on.clone(),
        }))
        .build()
        .unwrap();
    // Alice with a fingerprint; Bob (authenticated, no fingerprint yet).
    let alice = client
        .register_user(&[], &world.browser("alice"), &ScriptedUser::typing([PIN]))
        .await
        .unwrap();
    client.register_fingerprint().await.unwrap();
    client
        .register_user(&[], &world.browser("bob"), &ScriptedUser::typing([PIN]))
        .await
        .unwrap();
    Setup {
        world,
        client,
        _echo: echo,
        seen,
        mode,
        on,
        alice,
    }
}

const CALLS: &[&str] = &[
    "registration (code exchange)",
    "PIN authentication",
    "fingerprint authentication",
    "change PIN",
    "user resource",
    "fingerprint registration",
    "start",
    "logout",
    "fingerprint deregistration",
    "deregistration",
];

async fn call(s: &Setup, name: &str) -> Result<(), onegini_model::Error> {
    let c = &s.client;
    match name {
        "registration (code exchange)" => c
            .register_user(&[], &s.world.browser("alice"), &ScriptedUser::typing([PIN]))
            .await
            .map(drop),
        "PIN authentication" => c
            .authenticate_user_with(
                &s.alice,
                Authenticator::Pin,
                &ScriptedUser::typing([PIN]),
                None,
            )
            .await
            .map(drop),
        "fingerprint authentication" => c
            .authenticate_user_with(
                &s.alice,
                Authenticator::Fingerprint,
                &ScriptedUser::default(),
                Some(&ScriptedFingerprint::scanning([FingerprintScan::Match])),
            )
            .await
            .map(drop),
        "change PIN" => {
            c.change_pin(
                &ScriptedUser::typing([PIN]),
                &ScriptedUser::typing([OTHER_PIN]),
            )
            .await
        }
        "user resource" => c.fetch_user_resource().await.map(drop),
        "fingerprint registration" => c.register_fingerprint().await,
        "start" => c.start().await.map(drop),
        "logout" => c.logout().await,
        "fingerprint deregistration" => {
            c.deregister_authenticator(&s.alice, Authenticator::Fingerprint)
                .await
        }
        "deregistration" => c.deregister_user(&s.alice).await,
        other => panic!("unknown call {other}"),
    }
}

#[tokio::test]
async fn no_secret_the_client_sends_comes_back_in_an_error() {
    let mut leaks = Vec::new();
    let mut errors = 0;
    for mode in [Echo::PlainText, Echo::OAuthError, Echo::Undecodable] {
        for name in CALLS {
            let s = setup().await;
            *s.mode.lock().unwrap() = mode;
            s.on.store(true, Ordering::SeqCst);
            let result = call(&s, name).await;
            s.on.store(false, Ordering::SeqCst);
            let requests = s.seen.take_seen();
            assert!(
                !requests.is_empty(),
                "{name} sent nothing to the echo server"
            );
            let secrets = secrets_sent(&requests);
            assert!(!secrets.is_empty(), "{name} ({mode:?}): no secret was sent");
            let Err(err) = result else {
                // Only a revocation may take a 200 it cannot decode as success.
                assert_eq!(mode, Echo::Undecodable, "{name} succeeded against an echo");
                continue;
            };
            errors += 1;
            let text = format!("{err}\n{err:?}");
            for secret in &secrets {
                for spelling in spellings(secret) {
                    if text.contains(&spelling) {
                        leaks.push(format!(
                            "{name} ({mode:?}): `{spelling}` (a spelling of a sent secret) in {text}"
                        ));
                    }
                }
            }
        }
    }
    assert!(errors >= 2 * CALLS.len(), "only {errors} calls failed");
    assert!(leaks.is_empty(), "{}", leaks.join("\n\n"));
}
