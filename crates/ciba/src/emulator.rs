//! A CIBA OpenID Provider over real HTTP on a loopback port, for tests and demos (feature
//! `emulator`).
//!
//! It serves discovery, a JWKS, the backchannel authentication endpoint and the token endpoint
//! as CIBA Core 1.0 describes them, for poll, ping **and push** clients (the real OP the
//! `real_op` tests run, oidc-provider, has no push mode), with real keys and signatures:
//!
//! * client authentication: `client_secret_basic`, `client_secret_post`, `private_key_jwt`
//!   (signature, `iss` = `sub` = client id, `aud`, `exp`, single-use `jti`);
//! * authentication requests: exactly one hint, `openid` scope, `binding_message`,
//!   `user_code` (`missing_user_code` / `invalid_user_code`), `requested_expiry`,
//!   `client_notification_token` for ping and push clients, signed request objects;
//! * token requests: `authorization_pending`, `slow_down` when a client polls sooner than the
//!   interval (the interval then grows by 5 s, as CIBA §11 says), `expired_token`,
//!   `access_denied`, `transaction_failed`, `invalid_grant` for a foreign or used
//!   `auth_req_id`; tokens with an ID token (`at_hash`, `rt_hash`, and in push mode the
//!   `auth_req_id` claim);
//! * ping and push deliveries to the client's notification endpoint with its bearer token.
//!
//! The control vocabulary is the other emulators': a test plays the user with
//! [`Emulator::approve`], [`Emulator::deny`], [`Emulator::fail`] and [`Emulator::expire`],
//! delivers ping/push notifications with [`Emulator::deliver_notifications`], injects faults
//! with [`Emulator::inject`] and reads what arrived with [`Emulator::received`] — and the same
//! through [`Emulator::control`], which takes `auth_core::emulator::Control` commands
//! (`approve`, `deny`, `expire`, `fail`, `add_user`, `rotate_keys`, `inject_fault`,
//! `advance_clock`, `read_log`, `list_pending`), as the emulator server sends them.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ciba::emulator::Emulator;
//! use ciba::{AuthenticationRequest, TokenPoll, Outcome};
//!
//! let emulator = Emulator::start().await?;
//! emulator.set_interval(Some(1));
//! emulator.add_user("alice");
//! let client = emulator.client()?;
//!
//! let started = client.authenticate(AuthenticationRequest::login_hint("alice")).await?;
//! assert!(matches!(client.token_request(&started.auth_req_id).await?, TokenPoll::Pending));
//! emulator.approve(&started.auth_req_id)?;
//! let outcome = client.poll(&started).await?;
//! let Outcome::Approved(tokens) = outcome else { panic!("{outcome:?}") };
//! assert_eq!(tokens.claims.sub, "alice");
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use auth_core::emulator::{Control, ControlError, PendingStepUp};
use auth_core::{SharedClock, SystemClock};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::Validation;
use serde_json::{Map, Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::id_token::{AUTH_REQ_ID_CLAIM, token_hash};
use crate::jwks::PublicKey;
use crate::keys::{Algorithm, SigningKey, install_jwt_crypto};
use crate::token::CIBA_GRANT_TYPE;
use crate::types::{AuthReqId, ClientId, DeliveryMode, is_b64token};
use crate::{Client, ClientAuth, ClientBuilder, Error};

/// The default client's id.
pub const DEFAULT_CLIENT_ID: &str = "emulated-client";
/// The default client's secret (`client_secret_basic`).
pub const DEFAULT_CLIENT_SECRET: &str = "emulated-secret-6f1d2c3b4a59";
/// How long requests stay open unless the client asks for less (seconds).
pub const DEFAULT_EXPIRY: u64 = 120;
/// The interval the emulator announces by default (seconds).
pub const DEFAULT_INTERVAL: u64 = 5;
/// The most received calls kept.
pub const MAX_RECEIVED: usize = 1000;
/// The longest `binding_message` the emulated OP accepts.
pub const MAX_BINDING_MESSAGE: usize = 100;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A fault applied to the next response it concerns (one per [`Emulator::inject`] call, in
/// order).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The next response of any endpoint: this status, empty body.
    Status(u16),
    /// The next backchannel or token response: this status with `{"error": code}`.
    OAuthError(u16, String),
    /// The next token response: `slow_down`, whatever the timing.
    SlowDown,
    /// The next backchannel or token response: 503 with this `Retry-After` (seconds) and
    /// `temporarily_unavailable`.
    Unavailable(u64),
    /// The next response arrives after this delay.
    Delay(Duration),
    /// The next ID token: another `iss`.
    WrongIssuer,
    /// The next ID token: another `aud`.
    WrongAudience,
    /// The next ID token: a second audience and no `azp`.
    ExtraAudienceWithoutAzp,
    /// The next ID token: `azp` of another client.
    WrongAzp,
    /// The next ID token: expired ten minutes ago.
    ExpiredIdToken,
    /// The next ID token: issued ten minutes in the future.
    FutureIdToken,
    /// The next ID token: a flipped signature bit.
    BadSignature,
    /// The next ID token: signed by a key the JWKS does not have, under a new kid.
    UnknownKid,
    /// The next ID token: `alg: none`, no signature.
    AlgNone,
    /// The next ID token: HS256 with the client secret as key.
    Hs256,
    /// The next ID token: `at_hash` of another token.
    WrongAtHash,
    /// The next ID token: no `at_hash`.
    MissingAtHash,
    /// The next ID token: `rt_hash` of another token.
    WrongRtHash,
    /// The next ID token: no `rt_hash`.
    MissingRtHash,
    /// The next ID token: the `auth_req_id` claim of another request.
    WrongAuthReqId,
    /// The next ID token: no `auth_req_id` claim (push mode).
    MissingAuthReqId,
    /// The next token response: no `id_token`.
    NoIdToken,
    /// The next token response: `null` for `refresh_token`, `scope` and `expires_in`.
    NullOptionalFields,
}

impl Fault {
    fn is_id_token_fault(&self) -> bool {
        !matches!(
            self,
            Fault::Status(_)
                | Fault::OAuthError(..)
                | Fault::SlowDown
                | Fault::Unavailable(_)
                | Fault::Delay(_)
                | Fault::NoIdToken
                | Fault::NullOptionalFields
        )
    }
}

/// A control call of the emulator failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// No such request.
    #[error("no request with this auth_req_id")]
    UnknownRequest,
    /// The request was already answered, consumed or expired.
    #[error("the request is {0}, not pending")]
    NotPending(&'static str),
    /// Delivering a notification failed.
    #[error("delivery failed: {0}")]
    Delivery(String),
}

/// How an emulated client authenticates.
#[derive(Clone)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `client_secret_basic` with this secret.
    SecretBasic(String),
    /// `client_secret_post` with this secret.
    SecretPost(String),
    /// `private_key_jwt` with this public JWK.
    PrivateKeyJwt(Value),
}

impl fmt::Debug for ClientAuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientAuthMethod::SecretBasic(_) => "SecretBasic([redacted])",
            ClientAuthMethod::SecretPost(_) => "SecretPost([redacted])",
            ClientAuthMethod::PrivateKeyJwt(_) => "PrivateKeyJwt",
        })
    }
}

/// A client registered with the emulated OP.
#[derive(Debug, Clone)]
pub struct EmulatedClient {
    client_id: String,
    auth: ClientAuthMethod,
    mode: DeliveryMode,
    notification_endpoint: Option<String>,
    id_token_alg: Algorithm,
    require_signed_requests: bool,
    refresh_tokens: bool,
}

impl EmulatedClient {
    fn new(client_id: &str, auth: ClientAuthMethod) -> Self {
        EmulatedClient {
            client_id: client_id.to_owned(),
            auth,
            mode: DeliveryMode::Poll,
            notification_endpoint: None,
            id_token_alg: Algorithm::RS256,
            require_signed_requests: false,
            refresh_tokens: true,
        }
    }

    /// A `client_secret_basic` poll client.
    pub fn secret_basic(client_id: &str, secret: &str) -> Self {
        Self::new(client_id, ClientAuthMethod::SecretBasic(secret.to_owned()))
    }

    /// A `client_secret_post` poll client.
    pub fn secret_post(client_id: &str, secret: &str) -> Self {
        Self::new(client_id, ClientAuthMethod::SecretPost(secret.to_owned()))
    }

    /// A `private_key_jwt` poll client whose key is `key`.
    pub fn private_key_jwt(client_id: &str, key: &SigningKey) -> Self {
        Self::new(client_id, ClientAuthMethod::PrivateKeyJwt(key.public_jwk()))
    }

    /// Ping or push mode with this notification endpoint (plain http allowed on loopback).
    pub fn notify(mut self, mode: DeliveryMode, endpoint: impl Into<String>) -> Self {
        self.mode = mode;
        self.notification_endpoint = Some(endpoint.into());
        self
    }

    /// The ID token signing algorithm (default RS256).
    pub fn id_token_alg(mut self, alg: Algorithm) -> Self {
        self.id_token_alg = alg;
        self
    }

    /// Refuses unsigned authentication requests.
    pub fn require_signed_requests(mut self) -> Self {
        self.require_signed_requests = true;
        self
    }

    /// Whether refresh tokens are issued (default yes).
    pub fn refresh_tokens(mut self, on: bool) -> Self {
        self.refresh_tokens = on;
        self
    }
}

/// A user of the emulated OP.
#[derive(Debug, Clone)]
struct User {
    name: String,
    email: String,
    user_code: Option<String>,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestState {
    /// Waiting for the user.
    Pending,
    /// Approved; tokens not fetched yet.
    Approved,
    /// Denied.
    Denied,
    /// Failed (`transaction_failed`).
    Failed,
    /// Tokens issued (poll/ping) or pushed.
    Done,
}

impl RequestState {
    fn name(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Denied => "denied",
            RequestState::Failed => "failed",
            RequestState::Done => "done",
        }
    }
}

/// A backchannel request as the emulated OP saw it (what `triggerAuthenticationDevice` would
/// show on the phone).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EmulatedRequest {
    /// Its id.
    pub auth_req_id: String,
    /// The client that sent it.
    pub client_id: String,
    /// The user it is for.
    pub user: String,
    /// The granted scope.
    pub scope: String,
    /// The binding message shown on the device.
    pub binding_message: Option<String>,
    /// `acr_values`.
    pub acr_values: Option<String>,
    /// `requested_expiry`, seconds.
    pub requested_expiry: Option<u64>,
    /// Whether a user code was sent (and matched: a wrong one is refused).
    pub user_code_checked: bool,
    /// Whether it came as a signed request object.
    pub signed: bool,
    /// Token requests received for it.
    pub polls: u32,
    /// The current interval (grows by 5 s with every `slow_down`).
    pub interval: u64,
    /// When it expires (emulator clock).
    pub expires_at: SystemTime,
    /// Where it stands.
    pub state: RequestState,
}

struct Req {
    view: EmulatedRequest,
    created: SystemTime,
    notification_token: Option<String>,
    last_poll: Option<SystemTime>,
    auth_time: Option<SystemTime>,
    error_description: Option<String>,
}

/// A call the emulator received. Secrets (client secret, assertion, user code, notification
/// token, request object) are replaced by `[redacted]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedCall {
    /// `discovery`, `jwks`, `backchannel` or `token`.
    pub endpoint: &'static str,
    /// When (emulator clock).
    pub at: SystemTime,
    /// The form parameters.
    pub params: BTreeMap<String, String>,
    /// The HTTP status answered.
    pub status: u16,
}

struct Notification {
    url: String,
    token: String,
    body: Value,
}

struct State {
    issuer: String,
    keys: Vec<SigningKey>,
    clients: HashMap<String, EmulatedClient>,
    users: HashMap<String, User>,
    login_hint_tokens: HashMap<String, String>,
    requests: HashMap<String, Req>,
    faults: VecDeque<Fault>,
    received: VecDeque<ReceivedCall>,
    interval: Option<u64>,
    expiry: u64,
    jwks_fetches: usize,
    used_jtis: HashSet<String>,
    outbox: Vec<Notification>,
    metadata: Map<String, Value>,
}

struct Shared {
    state: Mutex<State>,
    clock: SharedClock,
    /// What `advance_clock` added to the clock.
    offset: Mutex<Duration>,
    /// Status faults of the shared vocabulary (`inject_fault`), by path.
    faults: auth_core::emulator::Faults,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> SystemTime {
        self.clock.now() + *self.offset.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The emulated OP. Dropping it stops the server.
pub struct Emulator {
    server: MockServer,
    shared: Arc<Shared>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("issuer", &self.server.uri())
            .finish_non_exhaustive()
    }
}

fn op_keys() -> Result<Vec<SigningKey>, Error> {
    let n = random_token(6);
    Ok(vec![
        SigningKey::generate(Algorithm::RS256)?.with_kid(format!("rs256-{n}")),
        SigningKey::generate(Algorithm::PS256)?.with_kid(format!("ps256-{n}")),
        SigningKey::generate(Algorithm::ES256)?.with_kid(format!("es256-{n}")),
    ])
}

fn random_token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    // The system RNG does not fail in practice; were it to, this test tool would hand out
    // predictable ids, which its tests would notice.
    let _ = aws_lc_rs::rand::fill(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Emulator {
    /// Starts an emulator on a random loopback port, on the system clock, with a default
    /// `client_secret_basic` poll client ([`DEFAULT_CLIENT_ID`]).
    pub async fn start() -> Result<Self, Error> {
        Self::start_with_clock(Arc::new(SystemClock)).await
    }

    /// Starts an emulator whose time (expiry, polling intervals, token times) is `clock`.
    pub async fn start_with_clock(clock: SharedClock) -> Result<Self, Error> {
        install_jwt_crypto();
        let server = MockServer::start().await;
        let mut clients = HashMap::new();
        clients.insert(
            DEFAULT_CLIENT_ID.to_owned(),
            EmulatedClient::secret_basic(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
        );
        let state = State {
            issuer: server.uri(),
            keys: op_keys()?,
            clients,
            users: HashMap::new(),
            login_hint_tokens: HashMap::new(),
            requests: HashMap::new(),
            faults: VecDeque::new(),
            received: VecDeque::new(),
            interval: Some(DEFAULT_INTERVAL),
            expiry: DEFAULT_EXPIRY,
            jwks_fetches: 0,
            used_jtis: HashSet::new(),
            outbox: Vec::new(),
            metadata: Map::new(),
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            clock,
            offset: Mutex::new(Duration::ZERO),
            faults: auth_core::emulator::Faults::default(),
        });
        Mock::given(wiremock::matchers::any())
            .respond_with(Router {
                shared: shared.clone(),
            })
            .mount(&server)
            .await;
        Ok(Emulator { server, shared })
    }

    /// The issuer (`http://127.0.0.1:<port>`).
    pub fn issuer(&self) -> String {
        self.server.uri()
    }

    /// The emulator's clock.
    pub fn clock(&self) -> SharedClock {
        self.shared.clock.clone()
    }

    /// A builder for the default client, on the emulator's clock.
    pub fn client_builder(&self) -> Result<ClientBuilder, Error> {
        Ok(Client::builder(
            ClientId::new(DEFAULT_CLIENT_ID)?,
            ClientAuth::secret_basic(DEFAULT_CLIENT_SECRET),
        )
        .issuer(self.issuer())
        .clock(self.clock()))
    }

    /// The default client.
    pub fn client(&self) -> Result<Client, Error> {
        self.client_builder()?.build()
    }

    /// Registers (or replaces) a client.
    pub fn register_client(&self, client: EmulatedClient) {
        self.shared
            .lock()
            .clients
            .insert(client.client_id.clone(), client);
    }

    /// Adds a user the OP finds by `login_hint`.
    pub fn add_user(&self, login_hint: &str) {
        self.add(login_hint, None);
    }

    /// Adds a user who set up `user_code`: requests for them must carry it.
    pub fn add_user_with_code(&self, login_hint: &str, user_code: &str) {
        self.add(login_hint, Some(user_code.to_owned()));
    }

    fn add(&self, login_hint: &str, user_code: Option<String>) {
        let name = login_hint.split('@').next().unwrap_or(login_hint);
        let mut chars = name.chars();
        let display = match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        };
        self.shared.lock().users.insert(
            login_hint.to_owned(),
            User {
                name: display,
                email: format!("{name}@example.com"),
                user_code,
            },
        );
    }

    /// Accepts `token` as a `login_hint_token` for `login_hint`.
    pub fn add_login_hint_token(&self, token: &str, login_hint: &str) {
        self.shared
            .lock()
            .login_hint_tokens
            .insert(token.to_owned(), login_hint.to_owned());
    }

    /// The interval announced in acknowledgements (`None`: none, so clients use 5 s).
    pub fn set_interval(&self, seconds: Option<u64>) {
        self.shared.lock().interval = seconds;
    }

    /// How long requests stay open unless the client asks for less (default 120 s).
    pub fn set_expiry(&self, seconds: u64) {
        self.shared.lock().expiry = seconds.max(1);
    }

    /// Replaces (or with `Value::Null`, removes) a member of the discovery document.
    pub fn set_metadata(&self, name: &str, value: Value) {
        self.shared.lock().metadata.insert(name.to_owned(), value);
    }

    /// Makes new signing keys current; the old ones stay in the JWKS. Returns the new kids.
    pub fn rotate_keys(&self) -> Result<Vec<String>, Error> {
        let new = op_keys()?;
        let kids = new.iter().map(|k| k.kid().to_owned()).collect();
        let mut st = self.shared.lock();
        let old = std::mem::take(&mut st.keys);
        st.keys = new.into_iter().chain(old).collect();
        Ok(kids)
    }

    /// How often the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.shared.lock().jwks_fetches
    }

    /// Applies `fault` to the next response it concerns.
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.push_back(fault);
    }

    /// The calls received so far (at most [`MAX_RECEIVED`], oldest dropped first).
    pub fn received(&self) -> Vec<ReceivedCall> {
        self.shared.lock().received.iter().cloned().collect()
    }

    /// The calls received at one endpoint.
    pub fn received_at(&self, endpoint: &str) -> Vec<ReceivedCall> {
        self.received()
            .into_iter()
            .filter(|c| c.endpoint == endpoint)
            .collect()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<EmulatedRequest> {
        let mut v: Vec<EmulatedRequest> = self
            .shared
            .lock()
            .requests
            .values()
            .map(|r| r.view.clone())
            .collect();
        v.sort_by_key(|a| a.expires_at);
        v
    }

    /// One request.
    pub fn request(&self, id: &AuthReqId) -> Option<EmulatedRequest> {
        self.shared
            .lock()
            .requests
            .get(id.as_str())
            .map(|r| r.view.clone())
    }

    fn answer(
        &self,
        id: &AuthReqId,
        to: RequestState,
        description: Option<&str>,
    ) -> Result<(), EmulatorError> {
        let now = self.shared.now();
        let mut st = self.shared.lock();
        let r = st
            .requests
            .get_mut(id.as_str())
            .ok_or(EmulatorError::UnknownRequest)?;
        if r.view.state != RequestState::Pending {
            return Err(EmulatorError::NotPending(r.view.state.name()));
        }
        if now >= r.view.expires_at {
            return Err(EmulatorError::NotPending("expired"));
        }
        r.view.state = to;
        r.auth_time = Some(now);
        r.error_description = description.map(str::to_owned);
        let client_id = r.view.client_id.clone();
        queue_notification(&mut st, id.as_str(), &client_id, now);
        Ok(())
    }

    /// The user approves.
    pub fn approve(&self, id: &AuthReqId) -> Result<(), EmulatorError> {
        self.answer(id, RequestState::Approved, None)
    }

    /// The user denies (`access_denied`).
    pub fn deny(&self, id: &AuthReqId) -> Result<(), EmulatorError> {
        self.answer(
            id,
            RequestState::Denied,
            Some("the user denied the request"),
        )
    }

    /// The authentication fails on the device (`transaction_failed`).
    pub fn fail(&self, id: &AuthReqId) -> Result<(), EmulatorError> {
        self.answer(
            id,
            RequestState::Failed,
            Some("the authentication device failed"),
        )
    }

    /// The request expires now (push clients get an `expired_token` error payload queued).
    pub fn expire(&self, id: &AuthReqId) -> Result<(), EmulatorError> {
        let now = self.shared.now();
        let mut st = self.shared.lock();
        let r = st
            .requests
            .get_mut(id.as_str())
            .ok_or(EmulatorError::UnknownRequest)?;
        r.view.expires_at = now;
        let client_id = r.view.client_id.clone();
        if st
            .clients
            .get(&client_id)
            .is_some_and(|c| c.mode == DeliveryMode::Push)
        {
            queue_notification(&mut st, id.as_str(), &client_id, now);
        }
        Ok(())
    }

    /// How many ping/push notifications wait for [`Emulator::deliver_notifications`].
    pub fn pending_notifications(&self) -> usize {
        self.shared.lock().outbox.len()
    }

    /// Delivers the queued ping and push notifications (POST with the request's bearer token);
    /// returns each answer's status.
    pub async fn deliver_notifications(&self) -> Result<Vec<u16>, EmulatorError> {
        let outbox = std::mem::take(&mut self.shared.lock().outbox);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| EmulatorError::Delivery(e.to_string()))?;
        let mut statuses = Vec::new();
        for n in outbox {
            let response = http
                .post(&n.url)
                .header("authorization", format!("Bearer {}", n.token))
                .header("content-type", "application/json")
                .body(n.body.to_string())
                .send()
                .await
                .map_err(|e| EmulatorError::Delivery(e.without_url().to_string()))?;
            statuses.push(response.status().as_u16());
        }
        Ok(statuses)
    }

    /// Sends a notification of your own to `url` (for tests of the notification endpoint:
    /// wrong tokens, forged bodies).
    pub async fn send_raw_notification(
        &self,
        url: &str,
        authorization: Option<&str>,
        body: &str,
    ) -> Result<u16, EmulatorError> {
        let http = reqwest::Client::new();
        let mut req = http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        let r = req
            .send()
            .await
            .map_err(|e| EmulatorError::Delivery(e.without_url().to_string()))?;
        Ok(r.status().as_u16())
    }
}

/// The shared control vocabulary ([`auth_core::emulator::Control`]), as the emulator server
/// and tests in any language drive every provider.
impl Emulator {
    /// Runs one command of the shared vocabulary:
    ///
    /// | command | here |
    /// | --- | --- |
    /// | `add_user` | a user found by `login_hint` = `user`; `details: {"user_code": "…"}` makes them need that user code |
    /// | `approve`, `deny`, `expire`, `fail` | play the user on request `id` (an `auth_req_id`); ping and push clients get their notification queued |
    /// | `rotate_keys` | new signing keys first, the old ones still published |
    /// | `inject_fault` | the next matching requests get that status (and `Retry-After`) |
    /// | `advance_clock` | moves the emulator's time (expiry, token times) forward |
    /// | `read_log` | the recent calls: endpoint, time, status (never parameters) |
    /// | `list_pending` | [`Emulator::pending`] |
    /// | `provider` | `{"fault": "<name>"}` with a [`Fault`] name in snake case (`slow_down`, `wrong_at_hash`, `alg_none`, …), `{"interval": n \| null}`, `{"expiry": n}` |
    pub fn control(&self, command: Control) -> Result<Value, ControlError> {
        let request_id = |id: &str| {
            AuthReqId::new(id).map_err(|_| ControlError::NotFound {
                what: "request",
                id: id.chars().take(64).collect(),
            })
        };
        let settle = |id: &str, r: Result<(), EmulatorError>| match r {
            Ok(()) => Ok(json!({"id": id})),
            Err(EmulatorError::UnknownRequest) => Err(ControlError::NotFound {
                what: "request",
                id: id.chars().take(64).collect(),
            }),
            Err(e) => Err(ControlError::Conflict(e.to_string())),
        };
        match command {
            Control::AddUser { user, details } => {
                match details.get("user_code").and_then(Value::as_str) {
                    Some(code) => self.add_user_with_code(&user, code),
                    None => self.add_user(&user),
                }
                Ok(json!({"user": user}))
            }
            Control::Approve { id } => settle(&id, self.approve(&request_id(&id)?)),
            Control::Deny { id, .. } => settle(&id, self.deny(&request_id(&id)?)),
            Control::Fail { id, .. } => settle(&id, self.fail(&request_id(&id)?)),
            Control::Expire { id } => settle(&id, self.expire(&request_id(&id)?)),
            Control::RotateKeys => {
                let kids = self
                    .rotate_keys()
                    .map_err(|e| ControlError::Invalid(e.to_string()))?;
                Ok(json!({"kids": kids}))
            }
            Control::InjectFault { fault } => {
                self.shared.faults.inject(fault);
                Ok(json!({}))
            }
            Control::AdvanceClock { seconds } => {
                let mut offset = self.shared.offset.lock().unwrap_or_else(|p| p.into_inner());
                *offset = offset.saturating_add(Duration::from_secs(seconds));
                Ok(json!({"offset_seconds": offset.as_secs()}))
            }
            Control::ReadLog { limit } => {
                let calls = self.received();
                let n = limit.unwrap_or(calls.len()).min(calls.len());
                let log: Vec<Value> = calls[calls.len() - n..]
                    .iter()
                    .map(|c| json!({"endpoint": c.endpoint, "at": unix(c.at), "status": c.status}))
                    .collect();
                Ok(Value::Array(log))
            }
            Control::ListPending => serde_json::to_value(self.pending())
                .map_err(|e| ControlError::Invalid(e.to_string())),
            Control::Provider { body } => self.provider_command(&body),
            other => Err(ControlError::Unsupported {
                provider: crate::PROVIDER,
                command: other.name(),
            }),
        }
    }

    fn provider_command(&self, body: &Value) -> Result<Value, ControlError> {
        if let Some(name) = body.get("fault").and_then(Value::as_str) {
            let fault = match name {
                "slow_down" => Fault::SlowDown,
                "wrong_issuer" => Fault::WrongIssuer,
                "wrong_audience" => Fault::WrongAudience,
                "extra_audience_without_azp" => Fault::ExtraAudienceWithoutAzp,
                "wrong_azp" => Fault::WrongAzp,
                "expired_id_token" => Fault::ExpiredIdToken,
                "future_id_token" => Fault::FutureIdToken,
                "bad_signature" => Fault::BadSignature,
                "unknown_kid" => Fault::UnknownKid,
                "alg_none" => Fault::AlgNone,
                "hs256" => Fault::Hs256,
                "wrong_at_hash" => Fault::WrongAtHash,
                "missing_at_hash" => Fault::MissingAtHash,
                "wrong_rt_hash" => Fault::WrongRtHash,
                "missing_rt_hash" => Fault::MissingRtHash,
                "wrong_auth_req_id" => Fault::WrongAuthReqId,
                "missing_auth_req_id" => Fault::MissingAuthReqId,
                "no_id_token" => Fault::NoIdToken,
                "null_optional_fields" => Fault::NullOptionalFields,
                other => {
                    return Err(ControlError::Invalid(format!(
                        "unknown ciba fault `{}`",
                        other.chars().take(64).collect::<String>()
                    )));
                }
            };
            self.inject(fault);
            return Ok(json!({"fault": name}));
        }
        if let Some(interval) = body.get("interval") {
            self.set_interval(interval.as_u64());
            return Ok(json!({"interval": interval}));
        }
        if let Some(expiry) = body.get("expiry").and_then(Value::as_u64) {
            self.set_expiry(expiry);
            return Ok(json!({"expiry": expiry}));
        }
        Err(ControlError::Invalid(
            "ciba's provider commands: {\"fault\": name}, {\"interval\": n | null}, {\"expiry\": n}".into(),
        ))
    }

    /// The requests waiting for the user, as their phone would show them (the binding message
    /// is the text).
    pub fn pending(&self) -> Vec<PendingStepUp> {
        let now = self.shared.now();
        let st = self.shared.lock();
        let mut v: Vec<PendingStepUp> = st
            .requests
            .values()
            .filter(|r| r.view.state == RequestState::Pending && now < r.view.expires_at)
            .map(|r| {
                PendingStepUp::new(
                    crate::PROVIDER,
                    r.view.auth_req_id.clone(),
                    r.view.user.clone(),
                    r.view.binding_message.clone().unwrap_or_default(),
                    r.created,
                )
                .with_title(format!("Sign in to {}", r.view.client_id))
                .with_expiry(r.view.expires_at)
            })
            .collect();
        v.sort_by_key(|p| p.created_at);
        v
    }
}

/// Queues the ping or push notification of a request that just settled.
fn queue_notification(st: &mut State, id: &str, client_id: &str, now: SystemTime) {
    let Some(client) = st.clients.get(client_id).cloned() else {
        return;
    };
    let (Some(url), Some(token)) = (
        client.notification_endpoint.clone(),
        st.requests
            .get(id)
            .and_then(|r| r.notification_token.clone()),
    ) else {
        return;
    };
    let body = match client.mode {
        DeliveryMode::Ping => json!({ "auth_req_id": id }),
        DeliveryMode::Push => {
            let Some(r) = st.requests.get(id) else { return };
            let (state, description) = (r.view.state, r.error_description.clone());
            let expired = now >= r.view.expires_at;
            match state {
                RequestState::Approved if !expired => {
                    let mut body = issue_tokens(st, id, &client, now, true);
                    if let Some(o) = body.as_object_mut() {
                        o.insert("auth_req_id".into(), json!(id));
                    }
                    if let Some(r) = st.requests.get_mut(id) {
                        r.view.state = RequestState::Done;
                    }
                    body
                }
                RequestState::Denied => {
                    json!({"auth_req_id": id, "error": "access_denied", "error_description": description})
                }
                RequestState::Failed => {
                    json!({"auth_req_id": id, "error": "transaction_failed", "error_description": description})
                }
                _ => {
                    json!({"auth_req_id": id, "error": "expired_token", "error_description": "the request expired"})
                }
            }
        }
        _ => return,
    };
    st.outbox.push(Notification { url, token, body });
}

fn take_fault(st: &mut State, wanted: impl Fn(&Fault) -> bool) -> Option<Fault> {
    let i = st.faults.iter().position(wanted)?;
    st.faults.remove(i)
}

/// Issues the token response of an approved request (the ID token carries the faults queued
/// for it).
fn issue_tokens(
    st: &mut State,
    id: &str,
    client: &EmulatedClient,
    now: SystemTime,
    push: bool,
) -> Value {
    let Some(r) = st.requests.get(id) else {
        return json!({});
    };
    let view = r.view.clone();
    let auth_time = r.auth_time.unwrap_or(now);
    let user = st.users.get(&view.user).cloned();
    let access_token = random_token(32);
    let refresh_token = client.refresh_tokens.then(|| random_token(32));
    let alg = client.id_token_alg;
    let n = unix(now);
    let mut claims = json!({
        "iss": st.issuer,
        "sub": view.user,
        "aud": client.client_id,
        "exp": n + 600,
        "iat": n,
        "auth_time": unix(auth_time),
        "acr": "urn:emulator:acr:phone",
        "amr": ["hwk", "user"],
        "at_hash": token_hash(alg, &access_token),
    });
    if let Some(rt) = &refresh_token {
        claims["rt_hash"] = json!(token_hash(alg, rt));
    }
    if push {
        claims[AUTH_REQ_ID_CLAIM] = json!(id);
    }
    if view.scope.split(' ').any(|s| s == "profile")
        && let Some(u) = &user
    {
        claims["name"] = json!(u.name);
    }
    if view.scope.split(' ').any(|s| s == "email")
        && let Some(u) = &user
    {
        claims["email"] = json!(u.email);
    }
    let mut key_override: Option<SigningKey> = None;
    let mut sig_fault: Option<Fault> = None;
    while let Some(f) = take_fault(st, Fault::is_id_token_fault) {
        match f {
            Fault::WrongIssuer => claims["iss"] = json!("https://impostor.example"),
            Fault::WrongAudience => claims["aud"] = json!("someone-else"),
            Fault::ExtraAudienceWithoutAzp => claims["aud"] = json!([client.client_id, "api"]),
            Fault::WrongAzp => claims["azp"] = json!("someone-else"),
            Fault::ExpiredIdToken => {
                claims["exp"] = json!(n - 600);
                claims["iat"] = json!(n - 1200);
            }
            Fault::FutureIdToken => claims["iat"] = json!(n + 600),
            Fault::WrongAtHash => claims["at_hash"] = json!(token_hash(alg, "another token")),
            Fault::MissingAtHash => {
                claims.as_object_mut().map(|o| o.remove("at_hash"));
            }
            Fault::WrongRtHash => claims["rt_hash"] = json!(token_hash(alg, "another token")),
            Fault::MissingRtHash => {
                claims.as_object_mut().map(|o| o.remove("rt_hash"));
            }
            Fault::WrongAuthReqId => claims[AUTH_REQ_ID_CLAIM] = json!("another-request"),
            Fault::MissingAuthReqId => {
                claims.as_object_mut().map(|o| o.remove(AUTH_REQ_ID_CLAIM));
            }
            Fault::UnknownKid => {
                key_override = SigningKey::generate(alg)
                    .ok()
                    .map(|k| k.with_kid(format!("never-published-{}", random_token(6))));
            }
            other => sig_fault = Some(other),
        }
    }
    let key = key_override.or_else(|| st.keys.iter().find(|k| k.algorithm() == alg).cloned());
    let id_token = match (sig_fault, key) {
        (Some(Fault::AlgNone), _) => {
            let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
            let p = URL_SAFE_NO_PAD.encode(claims.to_string());
            format!("{h}.{p}.")
        }
        (Some(Fault::Hs256), _) => {
            let secret = match &client.auth {
                ClientAuthMethod::SecretBasic(s) | ClientAuthMethod::SecretPost(s) => s.clone(),
                ClientAuthMethod::PrivateKeyJwt(_) => "no-secret".into(),
            };
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
            header.kid = st.keys.first().map(|k| k.kid().to_owned());
            jsonwebtoken::encode(
                &header,
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
            )
            .unwrap_or_default()
        }
        (fault, Some(key)) => {
            let jwt = key.sign(&claims, Some("JWT")).unwrap_or_default();
            if fault == Some(Fault::BadSignature) {
                flip_signature_bit(&jwt)
            } else {
                jwt
            }
        }
        (_, None) => String::new(),
    };
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": view.scope,
        "id_token": id_token,
    });
    if let Some(rt) = refresh_token {
        body["refresh_token"] = json!(rt);
    }
    if take_fault(st, |f| *f == Fault::NoIdToken).is_some() {
        body.as_object_mut().map(|o| o.remove("id_token"));
    }
    if take_fault(st, |f| *f == Fault::NullOptionalFields).is_some() {
        body["scope"] = Value::Null;
        body["expires_in"] = Value::Null;
        body["refresh_token"] = Value::Null;
    }
    body
}

fn flip_signature_bit(jwt: &str) -> String {
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    if let Some(sig) = parts.get_mut(2)
        && let Ok(mut bytes) = URL_SAFE_NO_PAD.decode(sig.as_bytes())
        && let Some(b) = bytes.get_mut(3)
    {
        *b ^= 0x01;
        *sig = URL_SAFE_NO_PAD.encode(bytes);
    }
    parts.join(".")
}

struct Router {
    shared: Arc<Shared>,
}

fn json_response(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/json")
        .insert_header("cache-control", "no-store")
        .set_body_string(body.to_string())
}

fn oauth_error(status: u16, code: &str, description: &str) -> ResponseTemplate {
    let mut r = json_response(
        status,
        &json!({"error": code, "error_description": description}),
    );
    if status == 401 {
        r = r.insert_header("www-authenticate", "Basic realm=\"emulator\"");
    }
    r
}

const SECRET_PARAMS: &[&str] = &[
    "client_secret",
    "client_assertion",
    "user_code",
    "client_notification_token",
    "request",
    "id_token_hint",
    "login_hint_token",
];

impl Respond for Router {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let now = self.shared.now();
        let path = request.url.path().to_owned();
        if let Some(injected) = self.shared.faults.take(&path) {
            let status = injected.status().as_u16();
            let mut st = self.shared.lock();
            record(&mut st, "other", now, BTreeMap::new(), status);
            let mut r = ResponseTemplate::new(status).set_body_bytes(injected.body().clone());
            for (name, value) in injected.headers() {
                if let Ok(v) = value.to_str() {
                    r = r.insert_header(name.as_str(), v);
                }
            }
            return r;
        }
        let mut st = self.shared.lock();
        let (endpoint, (status, response)) = match (request.method.as_str(), path.as_str()) {
            ("GET", "/.well-known/openid-configuration") => ("discovery", discovery(&st)),
            ("GET", "/jwks") => {
                st.jwks_fetches += 1;
                let keys: Vec<Value> = st.keys.iter().map(SigningKey::public_jwk).collect();
                ("jwks", (200, json_response(200, &json!({ "keys": keys }))))
            }
            ("POST", "/backchannel") => ("backchannel", backchannel(&mut st, request, now)),
            ("POST", "/token") => ("token", token(&mut st, request, now)),
            _ => (
                "other",
                (404, oauth_error(404, "not_found", "no such endpoint")),
            ),
        };
        // Transport faults apply to whatever comes next.
        let (status, mut response) = match take_fault(&mut st, |f| matches!(f, Fault::Status(_))) {
            Some(Fault::Status(s)) => (s, ResponseTemplate::new(s)),
            _ => (status, response),
        };
        if let Some(Fault::Delay(d)) = take_fault(&mut st, |f| matches!(f, Fault::Delay(_))) {
            response = response.set_delay(d);
        }
        let params = form(request)
            .into_iter()
            .map(|(k, v)| {
                let v = if SECRET_PARAMS.contains(&k.as_str()) {
                    "[redacted]".to_owned()
                } else {
                    v
                };
                (k, v)
            })
            .collect();
        record(&mut st, endpoint, now, params, status);
        response
    }
}

fn record(
    st: &mut State,
    endpoint: &'static str,
    at: SystemTime,
    params: BTreeMap<String, String>,
    status: u16,
) {
    if st.received.len() >= MAX_RECEIVED {
        st.received.pop_front();
    }
    st.received.push_back(ReceivedCall {
        endpoint,
        at,
        params,
        status,
    });
}

fn discovery(st: &State) -> (u16, ResponseTemplate) {
    let i = &st.issuer;
    let mut doc = json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "backchannel_authentication_endpoint": format!("{i}/backchannel"),
        "backchannel_token_delivery_modes_supported": ["poll", "ping", "push"],
        "backchannel_authentication_request_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
        "backchannel_user_code_parameter_supported": true,
        "grant_types_supported": [CIBA_GRANT_TYPE, "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
        "id_token_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
        "scopes_supported": ["openid", "profile", "email"],
        "subject_types_supported": ["public"],
        "response_types_supported": ["code"],
    });
    if let Some(o) = doc.as_object_mut() {
        for (k, v) in &st.metadata {
            if v.is_null() {
                o.remove(k);
            } else {
                o.insert(k.clone(), v.clone());
            }
        }
    }
    (200, json_response(200, &doc))
}

fn form(request: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

type Answer = (u16, ResponseTemplate);
/// A refusal of client authentication, boxed (a response template is large).
type Refusal = Box<Answer>;

/// Client authentication (RFC 6749 §2.3.1, RFC 7523). `Err` is the 401 to send.
fn authenticate_client(
    st: &mut State,
    request: &Request,
    params: &HashMap<String, String>,
    endpoint_url: &str,
    now: SystemTime,
) -> Result<EmulatedClient, Refusal> {
    let fail = |why: &str| Box::new((401, oauth_error(401, "invalid_client", why)));
    let basic = header(request, "authorization")
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(a, b)| (percent_decode(a), percent_decode(b)))
        });
    let claimed = match (&basic, params.get("client_id")) {
        (Some((id, _)), _) => id.clone(),
        (None, Some(id)) => id.clone(),
        (None, None) => {
            // private_key_jwt without client_id: take it from the assertion.
            let Some(a) = params.get("client_assertion") else {
                return Err(fail("no client authentication"));
            };
            match jsonwebtoken::dangerous::insecure_decode_claims::<Map<String, Value>>(a) {
                Ok(c) => c
                    .get("iss")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                Err(_) => return Err(fail("malformed client assertion")),
            }
        }
    };
    let client = st
        .clients
        .get(&claimed)
        .cloned()
        .ok_or_else(|| fail("unknown client"))?;
    match &client.auth {
        ClientAuthMethod::SecretBasic(secret) => match &basic {
            Some((_, s)) if s == secret => Ok(client),
            _ => Err(fail("client authentication failed")),
        },
        ClientAuthMethod::SecretPost(secret) => {
            if basic.is_none() && params.get("client_secret") == Some(secret) {
                Ok(client)
            } else {
                Err(fail("client authentication failed"))
            }
        }
        ClientAuthMethod::PrivateKeyJwt(jwk) => {
            if params.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER) {
                return Err(fail("client_assertion_type must be jwt-bearer"));
            }
            let assertion = params
                .get("client_assertion")
                .ok_or_else(|| fail("no client_assertion"))?;
            let audiences = [st.issuer.clone(), endpoint_url.to_owned()];
            let claims = verify_client_jwt(jwk, assertion, &audiences, now)
                .map_err(|why| fail(&format!("client assertion: {why}")))?;
            if claims.get("iss").and_then(Value::as_str) != Some(client.client_id.as_str())
                || claims.get("sub").and_then(Value::as_str) != Some(client.client_id.as_str())
            {
                return Err(fail("client assertion: iss and sub must be the client id"));
            }
            let jti = claims
                .get("jti")
                .and_then(Value::as_str)
                .ok_or_else(|| fail("client assertion: no jti"))?;
            if !st.used_jtis.insert(jti.to_owned()) {
                return Err(fail("client assertion: jti already used"));
            }
            if st.used_jtis.len() > 100_000 {
                st.used_jtis.clear();
            }
            Ok(client)
        }
    }
}

/// Verifies a JWT signed by a client key: signature, `aud`, `exp`, `iat`/`nbf` (30 s leeway).
fn verify_client_jwt(
    jwk: &Value,
    jwt: &str,
    audiences: &[String],
    now: SystemTime,
) -> Result<Map<String, Value>, String> {
    let header = jsonwebtoken::decode_header(jwt).map_err(|_| "malformed".to_owned())?;
    let alg = Algorithm::from_name(&format!("{:?}", header.alg)).ok_or("algorithm not allowed")?;
    let key = PublicKey::from_jwk(jwk).ok_or("unusable client key")?;
    if !key.fits(alg) {
        return Err(format!("the client key cannot verify {alg}"));
    }
    let mut validation = Validation::new(alg.jwt());
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<Map<String, Value>>(jwt, key.decoding_key(), &validation)
        .map_err(|e| format!("{e}"))?;
    let c = data.claims;
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => audiences.contains(a),
        Some(Value::Array(list)) => list
            .iter()
            .any(|a| a.as_str().is_some_and(|a| audiences.iter().any(|x| x == a))),
        _ => false,
    };
    if !aud_ok {
        return Err("wrong audience".into());
    }
    let n = unix(now);
    let exp = c.get("exp").and_then(Value::as_i64).ok_or("no exp")?;
    if n > exp + 30 {
        return Err("expired".into());
    }
    for claim in ["iat", "nbf"] {
        if let Some(t) = c.get(claim).and_then(Value::as_i64)
            && t > n + 30
        {
            return Err(format!("{claim} in the future"));
        }
    }
    Ok(c)
}

fn backchannel(st: &mut State, request: &Request, now: SystemTime) -> Answer {
    let pairs = form(request);
    let mut params: HashMap<String, String> = HashMap::new();
    for (k, v) in &pairs {
        if params.insert(k.clone(), v.clone()).is_some() {
            return (
                400,
                oauth_error(400, "invalid_request", &format!("`{k}` appears twice")),
            );
        }
    }
    let url = format!("{}/backchannel", st.issuer);
    let client = match authenticate_client(st, request, &params, &url, now) {
        Ok(c) => c,
        Err(answer) => return *answer,
    };
    if let Some(f) = take_fault(st, |f| {
        matches!(f, Fault::OAuthError(..) | Fault::Unavailable(_))
    }) {
        return fault_answer(f);
    }
    let bad = |code: &str, why: &str| (400, oauth_error(400, code, why));
    // Signed request (CIBA §7.1.1): the parameters come from the JWT, none outside it.
    let mut signed = false;
    let mut p: HashMap<String, String> = params.clone();
    if let Some(jwt) = params.get("request") {
        let ClientAuthMethod::PrivateKeyJwt(jwk) = &client.auth else {
            return bad(
                "invalid_request",
                "this client has no key to sign requests with",
            );
        };
        let claims = match verify_client_jwt(jwk, jwt, std::slice::from_ref(&st.issuer), now) {
            Ok(c) => c,
            Err(why) => return bad("invalid_request", &format!("request object: {why}")),
        };
        if claims.get("iss").and_then(Value::as_str) != Some(client.client_id.as_str()) {
            return bad(
                "invalid_request",
                "request object: iss must be the client id",
            );
        }
        for required in ["exp", "iat", "nbf", "jti"] {
            if !claims.contains_key(required) {
                return bad(
                    "invalid_request",
                    &format!("request object: no `{required}`"),
                );
            }
        }
        let outside: Vec<&String> = params
            .keys()
            .filter(|k| {
                !matches!(
                    k.as_str(),
                    "request"
                        | "client_id"
                        | "client_secret"
                        | "client_assertion"
                        | "client_assertion_type"
                )
            })
            .collect();
        if !outside.is_empty() {
            return bad("invalid_request", "parameters outside the signed request");
        }
        p = claims
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                Value::Number(n) => Some((k, n.to_string())),
                _ => None,
            })
            .collect();
        signed = true;
    } else if client.require_signed_requests {
        return bad(
            "invalid_request",
            "this client must sign its authentication requests",
        );
    }
    let scope = p.get("scope").cloned().unwrap_or_default();
    if !scope.split(' ').any(|s| s == "openid") {
        return bad("invalid_scope", "scope must contain openid");
    }
    let hints: Vec<&str> = ["login_hint", "id_token_hint", "login_hint_token"]
        .into_iter()
        .filter(|h| p.get(*h).is_some_and(|v| !v.is_empty()))
        .collect();
    if hints.len() != 1 {
        return bad(
            "invalid_request",
            "exactly one of login_hint, id_token_hint, login_hint_token is required",
        );
    }
    let user = match hints[0] {
        "login_hint" => p
            .get("login_hint")
            .cloned()
            .filter(|u| st.users.contains_key(u)),
        "login_hint_token" => p
            .get("login_hint_token")
            .and_then(|t| st.login_hint_tokens.get(t).cloned()),
        _ => p
            .get("id_token_hint")
            .and_then(|t| id_token_hint_subject(st, t, &client)),
    };
    let Some(user) = user else {
        return bad("unknown_user_id", "could not identify the user");
    };
    let user_code = st.users.get(&user).and_then(|u| u.user_code.clone());
    let sent_code = p.get("user_code");
    match (&user_code, sent_code) {
        (Some(_), None) => return bad("missing_user_code", "this user requires a user_code"),
        (Some(c), Some(s)) if c != s => return bad("invalid_user_code", "wrong user_code"),
        (None, Some(_)) => return bad("invalid_user_code", "this user has no user_code"),
        _ => {}
    }
    let binding_message = p.get("binding_message").cloned();
    if let Some(m) = &binding_message
        && (m.is_empty()
            || m.chars().count() > MAX_BINDING_MESSAGE
            || m.chars().any(char::is_control))
    {
        return bad("invalid_binding_message", "1-100 printable characters");
    }
    let requested_expiry = match p.get("requested_expiry") {
        None => None,
        Some(v) => match v.parse::<u64>() {
            Ok(e) if e > 0 => Some(e),
            _ => {
                return bad(
                    "invalid_request",
                    "requested_expiry must be a positive integer",
                );
            }
        },
    };
    let token = p.get("client_notification_token").cloned();
    let token = match client.mode {
        DeliveryMode::Poll => None,
        _ => match token {
            Some(t) if is_b64token(&t) => Some(t),
            _ => {
                return bad(
                    "invalid_request",
                    "client_notification_token is required (ping and push)",
                );
            }
        },
    };
    let expires_in = requested_expiry.map_or(st.expiry, |e| e.min(st.expiry.max(600)));
    let id = random_token(24);
    let interval = st.interval.unwrap_or(5);
    st.requests.insert(
        id.clone(),
        Req {
            view: EmulatedRequest {
                auth_req_id: id.clone(),
                client_id: client.client_id.clone(),
                user,
                scope,
                binding_message,
                acr_values: p.get("acr_values").cloned(),
                requested_expiry,
                user_code_checked: sent_code.is_some(),
                signed,
                polls: 0,
                interval,
                expires_at: now + Duration::from_secs(expires_in),
                state: RequestState::Pending,
            },
            created: now,
            notification_token: token,
            last_poll: None,
            auth_time: None,
            error_description: None,
        },
    );
    let mut ack = json!({"auth_req_id": id, "expires_in": expires_in});
    if let Some(i) = st.interval {
        ack["interval"] = json!(i);
    }
    (200, json_response(200, &ack))
}

/// The `sub` of an `id_token_hint` this OP issued to `client` (signature checked; expiry not,
/// as OPs accept expired hints).
fn id_token_hint_subject(st: &State, jwt: &str, client: &EmulatedClient) -> Option<String> {
    let header = jsonwebtoken::decode_header(jwt).ok()?;
    let key = st
        .keys
        .iter()
        .find(|k| Some(k.kid()) == header.kid.as_deref())?;
    let public = PublicKey::from_jwk(&key.public_jwk())?;
    let mut validation = Validation::new(key.algorithm().jwt());
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let c = jsonwebtoken::decode::<Map<String, Value>>(jwt, public.decoding_key(), &validation)
        .ok()?
        .claims;
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => *a == client.client_id,
        Some(Value::Array(l)) => l
            .iter()
            .any(|a| a.as_str() == Some(client.client_id.as_str())),
        _ => false,
    };
    (aud_ok && c.get("iss").and_then(Value::as_str) == Some(st.issuer.as_str()))
        .then(|| c.get("sub").and_then(Value::as_str).map(str::to_owned))
        .flatten()
}

fn fault_answer(f: Fault) -> Answer {
    match f {
        Fault::OAuthError(status, code) => (status, oauth_error(status, &code, "injected fault")),
        Fault::Unavailable(secs) => (
            503,
            oauth_error(503, "temporarily_unavailable", "injected fault")
                .insert_header("retry-after", secs.to_string().as_str()),
        ),
        _ => (500, ResponseTemplate::new(500)),
    }
}

fn token(st: &mut State, request: &Request, now: SystemTime) -> Answer {
    let params: HashMap<String, String> = form(request).into_iter().collect();
    let url = format!("{}/token", st.issuer);
    let client = match authenticate_client(st, request, &params, &url, now) {
        Ok(c) => c,
        Err(answer) => return *answer,
    };
    if let Some(f) = take_fault(st, |f| {
        matches!(f, Fault::OAuthError(..) | Fault::Unavailable(_))
    }) {
        return fault_answer(f);
    }
    let bad = |code: &str, why: &str| (400, oauth_error(400, code, why));
    if params.get("grant_type").map(String::as_str) != Some(CIBA_GRANT_TYPE) {
        return bad("unsupported_grant_type", "only the CIBA grant type");
    }
    if client.mode == DeliveryMode::Push {
        return bad(
            "unauthorized_client",
            "push mode clients get their tokens pushed",
        );
    }
    let Some(id) = params.get("auth_req_id").cloned() else {
        return bad("invalid_request", "auth_req_id is required");
    };
    let Some(r) = st.requests.get_mut(&id) else {
        return bad("invalid_grant", "unknown auth_req_id");
    };
    if r.view.client_id != client.client_id {
        return bad("invalid_grant", "auth_req_id was issued to another client");
    }
    r.view.polls += 1;
    let last = r.last_poll.replace(now);
    if r.view.state == RequestState::Done {
        return bad("invalid_grant", "the tokens were issued already");
    }
    if now >= r.view.expires_at {
        return bad("expired_token", "the request expired");
    }
    let pending = r.view.state == RequestState::Pending;
    let too_soon = client.mode == DeliveryMode::Poll
        && pending
        && last.is_some_and(|l| {
            now.duration_since(l).unwrap_or(Duration::ZERO) < Duration::from_secs(r.view.interval)
        });
    let forced = pending && take_fault(st, |f| *f == Fault::SlowDown).is_some();
    let Some(r) = st.requests.get_mut(&id) else {
        return bad("invalid_grant", "unknown auth_req_id");
    };
    if too_soon || forced {
        // CIBA §11: 5 s more for this and all later requests.
        r.view.interval += 5;
        return bad("slow_down", "you are polling too quickly");
    }
    match r.view.state {
        RequestState::Pending => bad("authorization_pending", "the user has not answered yet"),
        RequestState::Denied => {
            r.view.state = RequestState::Done;
            let d = r.error_description.clone().unwrap_or_default();
            bad("access_denied", &d)
        }
        RequestState::Failed => {
            r.view.state = RequestState::Done;
            let d = r.error_description.clone().unwrap_or_default();
            bad("transaction_failed", &d)
        }
        RequestState::Approved => {
            r.view.state = RequestState::Done;
            let body = issue_tokens(st, &id, &client, now, false);
            (200, json_response(200, &body))
        }
        RequestState::Done => bad("invalid_grant", "the tokens were issued already"),
    }
}
