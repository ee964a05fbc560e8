//! A LogonBox credential server and phone app, over real HTTP on a loopback port, with real keys
//! (feature `emulator`; for tests and demos only).
//!
//! It serves what the official clients call (spec §4): the key listing per user
//! (`GET /app/api/authenticator/keys/{principal}`, and the legacy `/authorizedKeys/{principal}`),
//! the direct-flow `POST /app/api/authenticator/signPayload`, and the browser's
//! `GET /authenticator/sign/{blob}` page, which "pushes to the phone" and then answers `302` to
//! the redirect URL with `{response}` replaced. The phone is played by per-user
//! [`Behaviour`]s: approve (sign with the user's real private key, as the app does: ed25519
//! raw, RSA PKCS#1 v1.5 with SHA-512 for flags 4 and SHA-256 for flags 2), reject, fail, delay,
//! or misbehave in ways a verifier must catch.
//!
//! Like the real server as the official clients need it: the key listing ends without a final
//! line break (the Node client fails on one); once the sign page could read a request, every
//! failure (unknown user or key, a failing server, a key that cannot sign) sends the browser
//! back to the redirect URL with a failure response (`false` + message), not an error page;
//! base64url padding of signatures and of response blobs is switched separately
//! ([`Emulator::set_padded_signatures`], [`Emulator::set_padded_responses`]).
//!
//! Keys are generated when a user is added (aws-lc-rs), or given with
//! [`EmulatorKey::ed25519_from_seed`] / [`EmulatorKey::rsa_from_pkcs8`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use logonbox::emulator::{Behaviour, Emulator};
//! use logonbox::KeyType;
//!
//! let emulator = Emulator::start().await;
//! emulator.add_user("lee@logonbox.com", &[KeyType::Ed25519])?;
//! let client = emulator.client_builder().build()?;
//! let approval = client.authenticate("lee@logonbox.com").await?;
//! assert_eq!(approval.key().key_type(), KeyType::Ed25519);
//!
//! emulator.set_behaviour("lee@logonbox.com", Behaviour::reject());
//! let err = client.authenticate("lee@logonbox.com").await.unwrap_err();
//! assert_eq!(auth_core::Classify::kind(&err), auth_core::ErrorKind::Rejected);
//! # Ok(()) }
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use auth_core::base_url::percent_decode;
use auth_core::sync::lock;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::b64;
use crate::client::{ClientBuilder, KEYS_PATH, SIGN_PAGE_PATH, SIGN_PAYLOAD_PATH};
use crate::key::{AuthorizedKey, FLAGS_RSA_SHA2_256, FLAGS_RSA_SHA2_512, KeyType};
use crate::request::{RESPONSE_PLACEHOLDER, RequestBlob, ResponseBlob};
use crate::wire::Writer;

/// The legacy key-listing path (Node SDK).
pub const LEGACY_KEYS_PATH: &str = "/authorizedKeys/";

/// How many sign requests the emulator keeps by default ([`Emulator::sign_requests`]; a ring:
/// the oldest go first).
pub const DEFAULT_LOG_CAPACITY: usize = 1000;

/// The message the emulated phone sends when the user rejects.
pub const REJECT_MESSAGE: &str = "The keystore rejected the signature request.";

/// A failure of the emulator's own control API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("emulator: {0}")]
pub struct EmulatorError(String);

/// The size of generated RSA keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RsaBits {
    /// 2048 bits.
    Rsa2048,
    /// 3072 bits (what the app's "Legacy RSA" keys are; the default).
    #[default]
    Rsa3072,
}

enum Pair {
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A key pair held by the emulated phone. `Debug` shows only the public part.
pub struct EmulatorKey {
    pair: Pair,
    public: AuthorizedKey,
}

impl fmt::Debug for EmulatorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorKey")
            .field("public", &self.public)
            .field("private", &"[redacted]")
            .finish()
    }
}

impl EmulatorKey {
    /// A fresh ed25519 key ("LogonBox Key").
    pub fn generate_ed25519() -> Result<Self, EmulatorError> {
        let pair = Ed25519KeyPair::generate()
            .map_err(|_| EmulatorError("ed25519 key generation failed".into()))?;
        Ok(Self::from_ed25519(pair))
    }

    /// An ed25519 key from a 32-byte seed (deterministic keys for fixtures).
    pub fn ed25519_from_seed(seed: &[u8; 32]) -> Result<Self, EmulatorError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|e| EmulatorError(format!("bad ed25519 seed: {e}")))?;
        Ok(Self::from_ed25519(pair))
    }

    fn from_ed25519(pair: Ed25519KeyPair) -> Self {
        let mut pk = [0u8; 32];
        pk.copy_from_slice(pair.public_key().as_ref());
        EmulatorKey {
            public: AuthorizedKey::ed25519(pk, "LogonBox Key"),
            pair: Pair::Ed25519(pair),
        }
    }

    /// A fresh RSA key ("Legacy RSA").
    pub fn generate_rsa(bits: RsaBits) -> Result<Self, EmulatorError> {
        let size = match bits {
            RsaBits::Rsa2048 => KeySize::Rsa2048,
            RsaBits::Rsa3072 => KeySize::Rsa3072,
        };
        let pair = RsaKeyPair::generate(size)
            .map_err(|_| EmulatorError("RSA key generation failed".into()))?;
        Self::from_rsa(pair)
    }

    /// An RSA key from a PKCS#8 DER private key.
    pub fn rsa_from_pkcs8(der: &[u8]) -> Result<Self, EmulatorError> {
        let pair = RsaKeyPair::from_pkcs8(der)
            .map_err(|e| EmulatorError(format!("bad RSA PKCS#8 key: {e}")))?;
        Self::from_rsa(pair)
    }

    fn from_rsa(pair: RsaKeyPair) -> Result<Self, EmulatorError> {
        let public = pair.public_key();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let public = AuthorizedKey::rsa(&e, &n, "Legacy RSA")
            .map_err(|e| EmulatorError(format!("unusable RSA key: {e}")))?;
        Ok(EmulatorKey {
            pair: Pair::Rsa(pair),
            public,
        })
    }

    /// The public key, as the server lists it.
    pub fn public(&self) -> &AuthorizedKey {
        &self.public
    }

    /// The private key as PKCS#8 DER (to check a fixture in; treat it as a secret).
    pub fn pkcs8_der(&self) -> Result<Vec<u8>, EmulatorError> {
        match &self.pair {
            Pair::Ed25519(p) => p
                .to_pkcs8()
                .map(|d| d.as_ref().to_vec())
                .map_err(|_| EmulatorError("cannot export the key".into())),
            Pair::Rsa(p) => p
                .as_der()
                .map(|d| d.as_ref().to_vec())
                .map_err(|_| EmulatorError("cannot export the key".into())),
        }
    }

    /// Signs as the phone app does: ed25519 raw over `message` (flags ignored); RSA PKCS#1
    /// v1.5 with SHA-512 for flags 4, SHA-256 for flags 2. Other RSA flags (SHA-1 in the
    /// official clients) cannot be signed here: aws-lc-rs has no SHA-1 signing.
    pub fn sign(&self, flags: u32, message: &[u8]) -> Result<Vec<u8>, EmulatorError> {
        match &self.pair {
            Pair::Ed25519(p) => Ok(p.sign(message).as_ref().to_vec()),
            Pair::Rsa(p) => {
                let encoding: &'static dyn signature::RsaEncoding = match flags {
                    FLAGS_RSA_SHA2_512 => &signature::RSA_PKCS1_SHA512,
                    FLAGS_RSA_SHA2_256 => &signature::RSA_PKCS1_SHA256,
                    other => {
                        return Err(EmulatorError(format!(
                            "RSA flags {other} (SHA-1) are not supported by the emulator"
                        )));
                    }
                };
                let mut sig = vec![0u8; p.public_modulus_len()];
                p.sign(
                    encoding,
                    &aws_lc_rs::rand::SystemRandom::new(),
                    message,
                    &mut sig,
                )
                .map_err(|_| EmulatorError("RSA signing failed".into()))?;
                Ok(sig)
            }
        }
    }
}

/// How the emulated phone (and server) answers for a user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Behaviour {
    /// The user approves: the key signs.
    Approve,
    /// The user rejects: `success: true`, empty signature, response `false` + message (direct);
    /// a failure response blob (redirect).
    Reject {
        /// The message.
        message: String,
    },
    /// The server fails: `success: false` with a message (direct); the browser is sent back
    /// to the redirect URL with a failure response (`false` + the message), as for any failure
    /// once the request could be read (redirect).
    Fail {
        /// The message.
        message: String,
    },
    /// The server answers the sign call (or the sign page) with this HTTP status; with a JSON
    /// `message` when given (sign call).
    HttpStatus {
        /// The status.
        status: u16,
        /// The JSON message, if any.
        message: Option<String>,
    },
    /// The key signs, then one bit of the signature is flipped.
    CorruptSignature,
    /// Direct flow: `success: true`, empty signature, response `true` (a nonsensical answer).
    EmptySignaturePositive,
    /// Redirect flow: the response claims these flags (the key signs with them when it can,
    /// else with its usual hash).
    AnswerWithFlags(u32),
    /// The first key of another user signs, and the response names that user and key.
    SignAs(String),
}

impl Behaviour {
    /// [`Behaviour::Reject`] with the app's message.
    pub fn reject() -> Self {
        Behaviour::Reject {
            message: REJECT_MESSAGE.to_owned(),
        }
    }
}

/// One signature request the emulated phone received.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignRecord {
    /// `direct` (signPayload) or `redirect` (sign page).
    pub flow: &'static str,
    /// The principal.
    pub username: String,
    /// The key fingerprint asked for.
    pub fingerprint: String,
    /// The flags.
    pub flags: u32,
    /// The prompt text shown.
    pub text: String,
    /// The approve-button label.
    pub authorize_text: String,
    /// The remote name.
    pub remote_name: String,
    /// How many bytes were to be signed.
    pub payload_len: usize,
    /// The `payload` form field exactly as received (direct flow).
    pub payload_field: String,
}

struct User {
    keys: Vec<EmulatorKey>,
    behaviour: Behaviour,
    delay: Duration,
    listing: Option<String>,
}

struct State {
    users: HashMap<String, User>,
    faults: std::sync::Arc<auth_core::emulator::Faults>,
    signs: VecDeque<SignRecord>,
    log_capacity: usize,
    padded_signatures: bool,
    padded_responses: bool,
    listing_requests: usize,
}

impl State {
    /// Keeps a sign request in the ring.
    fn record(&mut self, record: SignRecord) {
        if self.log_capacity == 0 {
            return;
        }
        while self.signs.len() >= self.log_capacity {
            self.signs.pop_front();
        }
        self.signs.push_back(record);
    }
}

/// The running emulator. Dropping it stops the server.
pub struct Emulator {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Starts an emulator on a random loopback port, with no users.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State {
            users: HashMap::new(),
            faults: Arc::default(),
            signs: VecDeque::new(),
            log_capacity: DEFAULT_LOG_CAPACITY,
            padded_signatures: false,
            padded_responses: false,
            listing_requests: 0,
        }));
        // The emulator keeps its own bounded log (the sign requests) instead of wiremock's
        // unbounded one of every request.
        let server = MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        Mock::given(wiremock::matchers::any())
            .respond_with(Router {
                state: state.clone(),
            })
            .mount(&server)
            .await;
        Emulator { server, state }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The loopback host.
    pub fn host(&self) -> String {
        self.server.address().ip().to_string()
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.server.address().port()
    }

    /// A client builder pointed at the emulator (plain http on loopback, short sign timeout).
    pub fn client_builder(&self) -> ClientBuilder {
        crate::Client::builder(self.uri()).sign_timeout(Duration::from_secs(20))
    }

    /// Adds (or replaces) a user with fresh keys of these types, in this order (RSA keys are
    /// 3072-bit); returns the public keys. The user approves until told otherwise.
    pub fn add_user(
        &self,
        principal: &str,
        key_types: &[KeyType],
    ) -> Result<Vec<AuthorizedKey>, EmulatorError> {
        let keys = key_types
            .iter()
            .map(|t| match t {
                KeyType::Ed25519 => EmulatorKey::generate_ed25519(),
                KeyType::Rsa => EmulatorKey::generate_rsa(RsaBits::default()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.add_user_with_keys(principal, keys))
    }

    /// Adds (or replaces) a user with these keys; returns the public keys.
    pub fn add_user_with_keys(
        &self,
        principal: &str,
        keys: Vec<EmulatorKey>,
    ) -> Vec<AuthorizedKey> {
        let public = keys.iter().map(|k| k.public.clone()).collect();
        lock(&self.state).users.insert(
            principal.to_owned(),
            User {
                keys,
                behaviour: Behaviour::Approve,
                delay: Duration::ZERO,
                listing: None,
            },
        );
        public
    }

    /// Removes a user (the server then answers 404 for them).
    pub fn remove_user(&self, principal: &str) {
        lock(&self.state).users.remove(principal);
    }

    /// How the phone answers for this user from now on.
    pub fn set_behaviour(&self, principal: &str, behaviour: Behaviour) {
        if let Some(u) = lock(&self.state).users.get_mut(principal) {
            u.behaviour = behaviour;
        }
    }

    /// How long the user takes to answer (the sign call and sign page block that long).
    pub fn set_delay(&self, principal: &str, delay: Duration) {
        if let Some(u) = lock(&self.state).users.get_mut(principal) {
            u.delay = delay;
        }
    }

    /// Serves this text as the user's key listing instead of the generated one (the keys still
    /// sign). Use it for malformed listings.
    pub fn set_listing(&self, principal: &str, listing: impl Into<String>) {
        if let Some(u) = lock(&self.state).users.get_mut(principal) {
            u.listing = Some(listing.into());
        }
    }

    /// Whether base64url in answers is padded (the Java stub's style) or not (default): both
    /// [`Emulator::set_padded_signatures`] and [`Emulator::set_padded_responses`].
    pub fn set_padded_base64(&self, padded: bool) {
        let mut state = lock(&self.state);
        state.padded_signatures = padded;
        state.padded_responses = padded;
    }

    /// Whether the `signature` of a sign answer is padded base64url (default: unpadded).
    pub fn set_padded_signatures(&self, padded: bool) {
        lock(&self.state).padded_signatures = padded;
    }

    /// Whether response blobs are padded base64url (default: unpadded): the `response` of a
    /// sign answer (a rejection) and the `response` the browser brings back (redirect).
    pub fn set_padded_responses(&self, padded: bool) {
        lock(&self.state).padded_responses = padded;
    }

    /// The user's public keys, in listing order.
    pub fn public_keys(&self, principal: &str) -> Vec<AuthorizedKey> {
        lock(&self.state)
            .users
            .get(principal)
            .map(|u| u.keys.iter().map(|k| k.public.clone()).collect())
            .unwrap_or_default()
    }

    /// Signs `message` with the user's key at `index`, as the phone would (for crafting
    /// responses in tests).
    pub fn sign_with(
        &self,
        principal: &str,
        index: usize,
        flags: u32,
        message: &[u8],
    ) -> Result<Vec<u8>, EmulatorError> {
        let state = lock(&self.state);
        let key = state
            .users
            .get(principal)
            .and_then(|u| u.keys.get(index))
            .ok_or_else(|| EmulatorError(format!("no key {index} for {principal}")))?;
        key.sign(flags, message)
    }

    /// The signature requests the phone received, oldest first: the last
    /// [`DEFAULT_LOG_CAPACITY`] (see [`Emulator::set_retention`]).
    pub fn sign_requests(&self) -> Vec<SignRecord> {
        lock(&self.state).signs.iter().cloned().collect()
    }

    /// How many sign requests to keep (the oldest are forgotten first; 0 keeps none). Nothing
    /// else the emulator holds grows with the number of requests (users, keys and behaviours
    /// come from the control API only; listings are only counted).
    pub fn set_retention(&self, sign_requests: usize) {
        let mut state = lock(&self.state);
        state.log_capacity = sign_requests;
        while state.signs.len() > sign_requests {
            state.signs.pop_front();
        }
    }

    /// Makes the next matching requests fail with the fault's status.
    pub fn inject_fault(&self, fault: auth_core::emulator::Fault) {
        lock(&self.state).faults.inject(fault);
    }

    /// How many key listings were served.
    pub fn listing_requests(&self) -> usize {
        lock(&self.state).listing_requests
    }

    /// Plays the browser: opens the sign URL (without following redirects) and returns where
    /// the server sends the browser back to (the redirect URL with the response in it).
    pub async fn follow_sign_url(&self, sign_url: &url::Url) -> Result<url::Url, EmulatorError> {
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| EmulatorError(e.to_string()))?;
        let page = browser
            .get(sign_url.as_str())
            .send()
            .await
            .map_err(|e| EmulatorError(e.to_string()))?;
        if page.status() != reqwest::StatusCode::FOUND {
            let status = page.status();
            let body = page.text().await.unwrap_or_default();
            return Err(EmulatorError(format!(
                "the sign page answered {status}: {body}"
            )));
        }
        let location = page
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| EmulatorError("no Location header".into()))?;
        url::Url::parse(location).map_err(|e| EmulatorError(e.to_string()))
    }
}

/// Returns the `response` query parameter of a URL the browser was sent back to.
pub fn response_param(url: &url::Url) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == "response")
        .map(|(_, v)| v.into_owned())
}

struct Router {
    state: Arc<Mutex<State>>,
}

/// A template with a valid status (out-of-range statuses configured by a test become 500).
fn template(status: u16) -> ResponseTemplate {
    let status = if (100..=599).contains(&status) {
        status
    } else {
        500
    };
    ResponseTemplate::new(status)
}

fn text(status: u16, body: impl Into<String>) -> ResponseTemplate {
    template(status).set_body_raw(body.into().into_bytes(), "text/plain")
}

fn json(status: u16, value: serde_json::Value) -> ResponseTemplate {
    template(status).set_body_raw(value.to_string().into_bytes(), "application/json")
}

fn html(status: u16, body: &str) -> ResponseTemplate {
    template(status).set_body_raw(
        format!("<!doctype html><title>LogonBox</title><p>{body}</p>").into_bytes(),
        "text/html",
    )
}

impl Respond for Router {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path();
        let method = request.method.as_str();
        let faults = lock(&self.state).faults.clone();
        if let Some(fault) = faults.take(path) {
            let mut template = template(fault.status().as_u16());
            for (name, value) in fault.headers() {
                template = template.insert_header(name.as_str(), value.as_bytes());
            }
            return template.set_body_raw(fault.body().clone(), "application/json");
        }
        if method == "GET" {
            if let Some(p) = path
                .strip_prefix(KEYS_PATH)
                .or_else(|| path.strip_prefix(LEGACY_KEYS_PATH))
            {
                return self.listing(p);
            }
            if let Some(blob) = path.strip_prefix(SIGN_PAGE_PATH) {
                return self.sign_page(blob);
            }
        }
        if method == "POST" && path == SIGN_PAYLOAD_PATH {
            return self.sign_payload(&request.body);
        }
        text(404, format!("no route for {method} {path}"))
    }
}

impl Router {
    fn listing(&self, encoded: &str) -> ResponseTemplate {
        let Some(principal) = percent_decode(encoded, false) else {
            return text(400, "bad principal");
        };
        let mut state = lock(&self.state);
        state.listing_requests += 1;
        let Some(user) = state.users.get(&principal) else {
            return text(404, format!("{principal} is not registered"));
        };
        if let Some(listing) = &user.listing {
            return text(200, listing.clone());
        }
        // Lines joined, no final line break: the official Node client reads the empty string
        // after a final break as a key and fails on the whole listing.
        let mut body = format!("# Authorized keys for {principal}");
        for key in &user.keys {
            body.push('\n');
            body.push_str(&key.public.to_line());
        }
        text(200, body)
    }

    fn encode(&self, padded: bool, bytes: &[u8]) -> String {
        if padded {
            b64::encode_url_padded(bytes)
        } else {
            b64::encode_url(bytes)
        }
    }

    fn sign_payload(&self, body: &[u8]) -> ResponseTemplate {
        let form: HashMap<String, String> = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let field = |name: &str| form.get(name).cloned().unwrap_or_default();
        let Ok(flags) = field("flags").parse::<u32>() else {
            return json(
                400,
                serde_json::json!({"success": false, "message": "bad flags"}),
            );
        };
        // A raw `=` survives form parsing; `+` would have turned into a space (padded Java
        // payloads are sent unencoded), so map it back before decoding.
        let payload_field = field("payload");
        let Ok(payload) = b64::decode_lenient(&payload_field.replace(' ', "+")) else {
            return json(
                400,
                serde_json::json!({"success": false, "message": "bad payload"}),
            );
        };
        let username = field("username");
        let fingerprint = field("fingerprint");
        let mut state = lock(&self.state);
        let (padded_sig, padded_resp) = (state.padded_signatures, state.padded_responses);
        state.record(SignRecord {
            flow: "direct",
            username: username.clone(),
            fingerprint: fingerprint.clone(),
            flags,
            text: field("text"),
            authorize_text: field("authorizeText"),
            remote_name: field("remoteName"),
            payload_len: payload.len(),
            payload_field,
        });
        let Some(user) = state.users.get(&username) else {
            return json(
                200,
                serde_json::json!({"success": false, "message": format!("{username} is not registered")}),
            );
        };
        let delay = user.delay;
        let Some(key_index) = user
            .keys
            .iter()
            .position(|k| k.public.fingerprint().as_str() == fingerprint)
        else {
            return json(
                200,
                serde_json::json!({"success": false, "message": "No key with that fingerprint"}),
            );
        };
        let key = &user.keys[key_index];
        let answer = match &user.behaviour {
            Behaviour::Approve | Behaviour::AnswerWithFlags(_) => match key.sign(flags, &payload) {
                Ok(sig) => signed(&self.encode(padded_sig, &sig)),
                Err(e) => failure(&e.to_string()),
            },
            Behaviour::CorruptSignature => match key.sign(flags, &payload) {
                Ok(mut sig) => {
                    if let Some(b) = sig.last_mut() {
                        *b ^= 1;
                    }
                    signed(&self.encode(padded_sig, &sig))
                }
                Err(e) => failure(&e.to_string()),
            },
            Behaviour::SignAs(other) => match state.users.get(other).and_then(|u| u.keys.first()) {
                Some(other_key) => match other_key.sign(flags, &payload) {
                    Ok(sig) => signed(&self.encode(padded_sig, &sig)),
                    Err(e) => failure(&e.to_string()),
                },
                None => failure("no such user to sign as"),
            },
            Behaviour::Reject { message } => {
                let mut w = Writer::new();
                w.boolean(false).text(message);
                json(
                    200,
                    serde_json::json!({"success": true, "message": "", "signature": "",
                        "response": self.encode(padded_resp, &w.into_bytes())}),
                )
            }
            Behaviour::EmptySignaturePositive => {
                let mut w = Writer::new();
                w.boolean(true).text("");
                json(
                    200,
                    serde_json::json!({"success": true, "message": "", "signature": "",
                        "response": self.encode(padded_resp, &w.into_bytes())}),
                )
            }
            Behaviour::Fail { message } => failure(message),
            Behaviour::HttpStatus { status, message } => match message {
                Some(m) => json(*status, serde_json::json!({"success": false, "message": m})),
                None => text(*status, "Internal Server Error"),
            },
        };
        answer.set_delay(delay)
    }

    fn sign_page(&self, encoded: &str) -> ResponseTemplate {
        let Some(encoded) = percent_decode(encoded, false) else {
            return html(400, "Bad request");
        };
        let Ok(bytes) = b64::decode_lenient(&encoded) else {
            return html(400, "The request is not valid base64");
        };
        let Ok(request) = RequestBlob::parse(&bytes) else {
            return html(400, "The request could not be read");
        };
        if request.redirect_url.matches(RESPONSE_PLACEHOLDER).count() != 1 {
            return html(400, "The redirect URL has no {response} placeholder");
        }
        let mut state = lock(&self.state);
        let padded = state.padded_responses;
        state.record(SignRecord {
            flow: "redirect",
            username: request.principal.clone(),
            fingerprint: request.fingerprint.as_str().to_owned(),
            flags: request.flags,
            text: request.prompt_text.clone(),
            authorize_text: request.authorize_text.clone(),
            remote_name: request.remote_name.clone(),
            payload_len: bytes.len(),
            payload_field: String::new(),
        });
        // From here on the request could be read: every failure sends the browser back to the
        // application with a failure response (`false` + message), never an error page.
        let failed = |message: String| ResponseBlob::Rejected { message };
        let Some(user) = state.users.get(&request.principal) else {
            let message = format!(
                "{} is not registered in the LogonBox Authenticator directory!",
                request.principal
            );
            return back_to_app(&request.redirect_url, padded, &failed(message));
        };
        let delay = user.delay;
        let Some(key) = user
            .keys
            .iter()
            .find(|k| k.public.fingerprint() == &request.fingerprint)
        else {
            let message = "No key with that fingerprint".to_owned();
            return back_to_app(&request.redirect_url, padded, &failed(message)).set_delay(delay);
        };
        let sign = |key: &EmulatorKey, flags: u32| key.sign(flags, &bytes);
        let response = match &user.behaviour {
            Behaviour::Approve | Behaviour::EmptySignaturePositive => {
                sign(key, request.flags).map(|signature| ResponseBlob::Signed {
                    username: request.principal.clone(),
                    fingerprint: request.fingerprint.clone(),
                    flags: request.flags,
                    signature,
                })
            }
            Behaviour::CorruptSignature => sign(key, request.flags).map(|mut signature| {
                if let Some(b) = signature.last_mut() {
                    *b ^= 1;
                }
                ResponseBlob::Signed {
                    username: request.principal.clone(),
                    fingerprint: request.fingerprint.clone(),
                    flags: request.flags,
                    signature,
                }
            }),
            Behaviour::AnswerWithFlags(flags) => sign(key, *flags)
                .or_else(|_| sign(key, request.flags))
                .map(|signature| ResponseBlob::Signed {
                    username: request.principal.clone(),
                    fingerprint: request.fingerprint.clone(),
                    flags: *flags,
                    signature,
                }),
            Behaviour::SignAs(other) => match state.users.get(other).and_then(|u| u.keys.first()) {
                Some(other_key) => {
                    sign(other_key, request.flags).map(|signature| ResponseBlob::Signed {
                        username: other.clone(),
                        fingerprint: other_key.public.fingerprint().clone(),
                        flags: request.flags,
                        signature,
                    })
                }
                None => Err(EmulatorError("no such user to sign as".into())),
            },
            Behaviour::Reject { message } => Ok(ResponseBlob::Rejected {
                message: message.clone(),
            }),
            Behaviour::Fail { message } => Ok(failed(message.clone())),
            Behaviour::HttpStatus { status, .. } => return html(*status, "Error").set_delay(delay),
        };
        let response = response.unwrap_or_else(|e| failed(e.to_string()));
        back_to_app(&request.redirect_url, padded, &response).set_delay(delay)
    }
}

/// The `302` that sends the browser back to the application's redirect URL, with the literal
/// `{response}` replaced (once) by the response blob.
fn back_to_app(redirect_url: &str, padded: bool, response: &ResponseBlob) -> ResponseTemplate {
    let bytes = response.to_bytes();
    let encoded = if padded {
        b64::encode_url_padded(&bytes)
    } else {
        b64::encode_url(&bytes)
    };
    let location = redirect_url.replacen(RESPONSE_PLACEHOLDER, &encoded, 1);
    ResponseTemplate::new(302)
        .insert_header("Location", location.as_str())
        .set_body_raw(
            b"<!doctype html><p>Returning to the application</p>".to_vec(),
            "text/html",
        )
}

fn signed(signature: &str) -> ResponseTemplate {
    json(
        200,
        serde_json::json!({"success": true, "message": "", "signature": signature, "response": ""}),
    )
}

fn failure(message: &str) -> ResponseTemplate {
    json(
        200,
        serde_json::json!({"success": false, "message": message}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the number of requests, the emulator keeps a bounded ring of sign requests
    /// (the newest) and no per-request log of its HTTP server.
    #[tokio::test]
    async fn memory_is_bounded_whatever_the_number_of_requests() {
        let emulator = Emulator::start().await;
        emulator
            .add_user("ring@example.com", &[KeyType::Ed25519])
            .unwrap();
        emulator.set_retention(5);
        let client = emulator.client_builder().build().unwrap();
        let texts: Vec<String> = (0..12).map(|i| format!("request {i}")).collect();
        for text in &texts {
            let request = crate::AuthRequest::new("ring@example.com").prompt_text(text.clone());
            client.authenticate(request).await.unwrap();
        }
        // The redirect page and unknown routes are requests too.
        let browser = reqwest::Client::new();
        for _ in 0..5 {
            let _ = browser
                .get(format!("{}/nowhere", emulator.uri()))
                .send()
                .await
                .unwrap();
        }
        let kept: Vec<String> = emulator
            .sign_requests()
            .into_iter()
            .map(|r| r.text)
            .collect();
        assert_eq!(kept, texts[7..], "the newest five");
        assert_eq!(emulator.listing_requests(), 12);
        assert!(
            emulator.server.received_requests().await.is_none(),
            "the HTTP server keeps no log of its own"
        );
        emulator.set_retention(2);
        assert_eq!(emulator.sign_requests().len(), 2);
        emulator.set_retention(0);
        client.authenticate("ring@example.com").await.unwrap();
        assert!(emulator.sign_requests().is_empty());
    }

    #[test]
    fn keys_sign_and_verify_and_debug_is_redacted() {
        let seed = [7u8; 32];
        let k = EmulatorKey::ed25519_from_seed(&seed).unwrap();
        let sig = k.sign(0, b"hello").unwrap();
        k.public().verify(0, b"hello", &sig).unwrap();
        assert!(k.public().verify(0, b"hellO", &sig).is_err());
        let dbg = format!("{k:?}");
        let der = k.pkcs8_der().unwrap();
        assert!(!dbg.contains(&b64::encode_std(&der)));
        assert!(!dbg.contains(&format!("{:?}", &seed[..])));
        assert!(dbg.contains("[redacted]"));
    }
}
