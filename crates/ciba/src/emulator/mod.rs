//! A CIBA OpenID Provider with real keys, for tests, demos and the oob-auth emulator server
//! (feature `emulator`).
//!
//! [`Model`] is the protocol model: it answers discovery, the JWKS, the backchannel
//! authentication endpoint and the token endpoint as CIBA Core 1.0 describes them, for poll,
//! ping **and push** clients (the real OP the `real_op` tests run, oidc-provider, has no push
//! mode), takes the [`Control`](auth_core::emulator::Control) commands every oob-auth emulator takes, and runs on an injected
//! clock. It has no socket code: [`Emulator`] serves it on a real loopback port, and
//! [`Served::in_process`] calls it with no socket at all.
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
//! * ping and push notifications: a model has no sockets, so when the user answers (or, for a
//!   push client, when the request expires), the notification for the client's endpoint (with
//!   its bearer token) waits in the model
//!   ([`Model::take_notifications`], or the provider command `{"take_notifications": true}`)
//!   until [`Emulator::deliver_notifications`] (or whoever serves the model) sends it.
//!
//! The issuer is the URL the model is served at: [`Emulator`] sets it to its base URL; a model
//! served elsewhere takes it from [`EmulatorBuilder::issuer`], or else from each request
//! (`Host`). The endpoints are `<issuer>/backchannel`, `<issuer>/token` and `<issuer>/jwks`.
//!
//! Memory stays bounded whatever clients send: the request log is a ring, at most
//! [`MAX_OPEN_REQUESTS`] requests wait for the user, settled ones are kept up to
//! [`EmulatorBuilder::settled_capacity`], notifications up to [`MAX_NOTIFICATIONS`], seen
//! assertion ids up to [`MAX_SEEN_ASSERTIONS`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_core::emulator::Control;
//! use ciba::emulator::Emulator;
//! use ciba::{AuthenticationRequest, Outcome, TokenPoll};
//!
//! let emulator = Emulator::builder().user("alice").interval(Some(1)).start().await?;
//! let client = emulator.client()?;
//!
//! let started = client
//!     .authenticate(AuthenticationRequest::login_hint("alice").binding_message("Sign in? 7B"))
//!     .await?;
//! assert!(matches!(client.token_request(&started.auth_req_id).await?, TokenPoll::Pending));
//!
//! // The phone shows the binding message; the user approves.
//! let waiting = emulator.pending();
//! assert_eq!(waiting[0].message, "Sign in? 7B");
//! emulator.control(Control::Approve { id: waiting[0].id.clone() })?;
//!
//! let Outcome::Approved(tokens) = client.poll(&started).await? else { panic!() };
//! assert_eq!(tokens.claims.sub, "alice");
//! assert_eq!(tokens.claims.iss, emulator.base_url().as_str());
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auth_core::HttpClient;
use auth_core::emulator::{EmulatorClock, Served};
use serde_json::Value;

mod model;
mod op;

pub use model::Model;

use crate::keys::{Algorithm, SigningKey};
use crate::types::{ClientId, ClientSecret, DeliveryMode};
use crate::{Client, ClientAuth, ClientBuilder, Error};

/// The default client's id.
pub const DEFAULT_CLIENT_ID: &str = "emulated-client";
/// The default client's secret (`client_secret_basic`).
pub const DEFAULT_CLIENT_SECRET: &str = "emulated-secret-6f1d2c3b4a59";
/// How long requests stay open unless the client asks for less (seconds).
pub const DEFAULT_EXPIRY: u64 = 120;
/// The interval the emulator announces by default (seconds).
pub const DEFAULT_INTERVAL: u64 = 5;
/// The longest `binding_message` the emulated OP accepts.
pub const MAX_BINDING_MESSAGE: usize = 100;
/// The most requests waiting for the user at once; beyond, the backchannel endpoint answers
/// `503 temporarily_unavailable`.
pub const MAX_OPEN_REQUESTS: usize = 10_000;
/// How many settled requests (answered or expired) the model keeps by default, for their
/// token requests and [`Model::request`]; the oldest go first.
pub const DEFAULT_SETTLED_CAPACITY: usize = 1_000;
/// The most ping and push notifications waiting for delivery; the oldest go first.
pub const MAX_NOTIFICATIONS: usize = 1_000;
/// The most client-assertion ids (`jti`) remembered against replay; the oldest go first.
pub const MAX_SEEN_ASSERTIONS: usize = 10_000;
/// How many generations of signing keys the JWKS publishes ([`Model::rotate_keys`]).
pub const KEY_GENERATIONS: usize = 3;

/// The discovery document's path, under the issuer (the one the client looks at).
pub const DISCOVERY_PATH: &str = crate::discovery::WELL_KNOWN_PATH;
/// The backchannel authentication endpoint's path, under the issuer.
pub const BACKCHANNEL_PATH: &str = "/backchannel";
/// The token endpoint's path, under the issuer.
pub const TOKEN_PATH: &str = "/token";
/// The JWKS's path, under the issuer.
pub const JWKS_PATH: &str = "/jwks";

/// A protocol fault applied to the next response it concerns (one per [`Model::inject`] call,
/// in order). Status faults on any path are the shared vocabulary's
/// ([`Control::InjectFault`](auth_core::emulator::Control::InjectFault)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The next backchannel or token response: this status with `{"error": code}`.
    OAuthError(u16, String),
    /// The next token response: `slow_down`, whatever the timing.
    SlowDown,
    /// The next backchannel or token response: 503 with this `Retry-After` (seconds) and
    /// `temporarily_unavailable`.
    Unavailable(u64),
    /// The next response arrives after this delay (real time).
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
    /// The fault's name in the provider command `{"fault": "<name>"}`.
    const NAMES: &'static [(&'static str, Fault)] = &[
        ("slow_down", Fault::SlowDown),
        ("wrong_issuer", Fault::WrongIssuer),
        ("wrong_audience", Fault::WrongAudience),
        ("extra_audience_without_azp", Fault::ExtraAudienceWithoutAzp),
        ("wrong_azp", Fault::WrongAzp),
        ("expired_id_token", Fault::ExpiredIdToken),
        ("future_id_token", Fault::FutureIdToken),
        ("bad_signature", Fault::BadSignature),
        ("unknown_kid", Fault::UnknownKid),
        ("alg_none", Fault::AlgNone),
        ("hs256", Fault::Hs256),
        ("wrong_at_hash", Fault::WrongAtHash),
        ("missing_at_hash", Fault::MissingAtHash),
        ("wrong_rt_hash", Fault::WrongRtHash),
        ("missing_rt_hash", Fault::MissingRtHash),
        ("wrong_auth_req_id", Fault::WrongAuthReqId),
        ("missing_auth_req_id", Fault::MissingAuthReqId),
        ("no_id_token", Fault::NoIdToken),
        ("null_optional_fields", Fault::NullOptionalFields),
    ];

    /// The fault named `name` (`"slow_down"`, `"wrong_at_hash"`, `"alg_none"`, …).
    pub fn from_name(name: &str) -> Option<Fault> {
        Fault::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| f.clone())
    }

    fn is_id_token_fault(&self) -> bool {
        !matches!(
            self,
            Fault::OAuthError(..)
                | Fault::SlowDown
                | Fault::Unavailable(_)
                | Fault::Delay(_)
                | Fault::NoIdToken
                | Fault::NullOptionalFields
        )
    }
}

/// A call of the emulator's Rust API failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// No such request (never made, or settled so long ago that it was dropped).
    #[error("no request with this auth_req_id")]
    UnknownRequest,
    /// The request was already answered, consumed or expired.
    #[error("the request is {0}, not pending")]
    NotPending(&'static str),
    /// Making keys failed.
    #[error("keys: {0}")]
    Keys(String),
    /// Delivering a notification failed.
    #[error("delivery failed: {0}")]
    Delivery(String),
}

impl From<EmulatorError> for std::io::Error {
    fn from(e: EmulatorError) -> Self {
        std::io::Error::other(e)
    }
}

/// How an emulated client authenticates (the secrets are the client's own type, compared in
/// constant time; `Debug` shows neither them nor the JWK).
#[derive(Clone)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `client_secret_basic` with this secret.
    SecretBasic(ClientSecret),
    /// `client_secret_post` with this secret.
    SecretPost(ClientSecret),
    /// `private_key_jwt` with this public JWK.
    PrivateKeyJwt(Value),
}

impl fmt::Debug for ClientAuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAuthMethod::SecretBasic(s) => f.debug_tuple("SecretBasic").field(s).finish(),
            ClientAuthMethod::SecretPost(s) => f.debug_tuple("SecretPost").field(s).finish(),
            // A private JWK registered by mistake must not show either.
            ClientAuthMethod::PrivateKeyJwt(_) => f.write_str("PrivateKeyJwt(..)"),
        }
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
        Self::new(
            client_id,
            ClientAuthMethod::SecretBasic(ClientSecret::new(secret)),
        )
    }

    /// A `client_secret_post` poll client.
    pub fn secret_post(client_id: &str, secret: &str) -> Self {
        Self::new(
            client_id,
            ClientAuthMethod::SecretPost(ClientSecret::new(secret)),
        )
    }

    /// A `private_key_jwt` poll client whose key is `key`.
    pub fn private_key_jwt(client_id: &str, key: &SigningKey) -> Self {
        Self::new(client_id, ClientAuthMethod::PrivateKeyJwt(key.public_jwk()))
    }

    /// A `private_key_jwt` poll client with this public JWK.
    pub fn private_key_jwt_with_jwk(client_id: &str, jwk: Value) -> Self {
        Self::new(client_id, ClientAuthMethod::PrivateKeyJwt(jwk))
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

    /// Issues no refresh tokens (by default it does).
    pub fn without_refresh_tokens(mut self) -> Self {
        self.refresh_tokens = false;
        self
    }

    /// The client's id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client as OpenID registration metadata: what the provider command
    /// `{"register_client": …}` takes to register the same client (an emulator served
    /// elsewhere, the `oob-auth-emulator` server). It holds the client's secret, if it has one.
    pub fn registration(&self) -> Value {
        let mut r = serde_json::Map::new();
        r.insert("client_id".into(), Value::from(self.client_id.as_str()));
        let (method, secret, jwk) = match &self.auth {
            ClientAuthMethod::SecretBasic(s) => ("client_secret_basic", Some(s), None),
            ClientAuthMethod::SecretPost(s) => ("client_secret_post", Some(s), None),
            ClientAuthMethod::PrivateKeyJwt(jwk) => ("private_key_jwt", None, Some(jwk)),
        };
        r.insert("token_endpoint_auth_method".into(), Value::from(method));
        if let Some(secret) = secret {
            r.insert("client_secret".into(), Value::from(secret.expose_secret()));
        }
        if let Some(jwk) = jwk {
            r.insert("jwks".into(), serde_json::json!({ "keys": [jwk] }));
        }
        r.insert(
            "backchannel_token_delivery_mode".into(),
            Value::from(self.mode.as_str()),
        );
        if let Some(endpoint) = &self.notification_endpoint {
            r.insert(
                "backchannel_client_notification_endpoint".into(),
                Value::from(endpoint.as_str()),
            );
        }
        r.insert(
            "id_token_signed_response_alg".into(),
            Value::from(self.id_token_alg.as_str()),
        );
        if self.require_signed_requests {
            r.insert(
                "backchannel_authentication_request_signing_alg".into(),
                Value::from(self.id_token_alg.as_str()),
            );
        }
        if !self.refresh_tokens {
            r.insert(
                "grant_types".into(),
                serde_json::json!(["urn:openid:params:grant-type:ciba"]),
            );
        }
        Value::Object(r)
    }
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
    /// Tokens issued (poll/ping) or pushed, or the denial or failure told.
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

/// A backchannel request as the emulated OP saw it (what the phone would show).
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
    pub expires_at: std::time::SystemTime,
    /// Where it stands.
    pub state: RequestState,
}

/// Configures a [`Model`] (users, clients, interval, expiry, clock, issuer, retention) and
/// starts an [`Emulator`] serving it, or builds the model alone ([`EmulatorBuilder::model`]).
pub struct EmulatorBuilder {
    users: Vec<(String, Option<String>)>,
    clients: Vec<EmulatedClient>,
    login_hint_tokens: Vec<(String, String)>,
    interval: Option<u64>,
    expiry: u64,
    clock: Option<EmulatorClock>,
    issuer: Option<String>,
    log_capacity: usize,
    settled_capacity: usize,
    address: String,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            users: Vec::new(),
            clients: Vec::new(),
            login_hint_tokens: Vec::new(),
            interval: Some(DEFAULT_INTERVAL),
            expiry: DEFAULT_EXPIRY,
            clock: None,
            issuer: None,
            log_capacity: auth_core::emulator::DEFAULT_LOG_CAPACITY,
            settled_capacity: DEFAULT_SETTLED_CAPACITY,
            address: "127.0.0.1:0".to_owned(),
        }
    }
}

impl fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field("users", &self.users.len())
            .field("clients", &self.clients.len())
            .field("interval", &self.interval)
            .field("expiry", &self.expiry)
            .field("issuer", &self.issuer)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl EmulatorBuilder {
    /// A user the OP finds by `login_hint`.
    pub fn user(mut self, login_hint: &str) -> Self {
        self.users.push((login_hint.to_owned(), None));
        self
    }

    /// A user who set up `user_code`: requests for them must carry it.
    pub fn user_with_code(mut self, login_hint: &str, user_code: &str) -> Self {
        self.users
            .push((login_hint.to_owned(), Some(user_code.to_owned())));
        self
    }

    /// A client besides the default one ([`DEFAULT_CLIENT_ID`]); one with the same id replaces
    /// it.
    pub fn client(mut self, client: EmulatedClient) -> Self {
        self.clients.push(client);
        self
    }

    /// Accepts `token` as a `login_hint_token` for `login_hint`.
    pub fn login_hint_token(mut self, token: &str, login_hint: &str) -> Self {
        self.login_hint_tokens
            .push((token.to_owned(), login_hint.to_owned()));
        self
    }

    /// The interval announced in acknowledgements (default [`DEFAULT_INTERVAL`]; `None`: none,
    /// so clients use 5 s).
    pub fn interval(mut self, seconds: Option<u64>) -> Self {
        self.interval = seconds;
        self
    }

    /// How long requests stay open unless the client asks for less (default
    /// [`DEFAULT_EXPIRY`]).
    pub fn expiry(mut self, seconds: u64) -> Self {
        self.expiry = seconds.max(1);
        self
    }

    /// The model's clock: an [`OffsetClock`](auth_core::emulator::OffsetClock), real time that
    /// [`Control::AdvanceClock`](auth_core::emulator::Control::AdvanceClock) moves (the
    /// default, and what the emulator server shares with every provider); a
    /// [`FakeClock`](auth_core::FakeClock) (`advance_clock` moves it too); or any other clock
    /// (`Arc::new(clock)`, a [`SharedClock`](auth_core::SharedClock)), which you move yourself:
    /// `advance_clock` is refused.
    pub fn clock(mut self, clock: impl Into<EmulatorClock>) -> Self {
        self.clock = Some(clock.into());
        self
    }

    /// The issuer, for a model served elsewhere (`https://host:port`, or with a path prefix
    /// the model is mounted under). Without one, [`EmulatorBuilder::start`] uses the served
    /// base URL, and a model served elsewhere takes each request's `Host`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// How many requests the request log keeps (default
    /// [`auth_core::emulator::DEFAULT_LOG_CAPACITY`]).
    pub fn log_capacity(mut self, capacity: usize) -> Self {
        self.log_capacity = capacity;
        self
    }

    /// How many settled requests the model keeps (default [`DEFAULT_SETTLED_CAPACITY`], at
    /// least one). A client that asks for the tokens of a dropped one gets `invalid_grant`.
    pub fn settled_capacity(mut self, capacity: usize) -> Self {
        self.settled_capacity = capacity.max(1);
        self
    }

    /// Where [`EmulatorBuilder::start`] listens (default `127.0.0.1:0`: a free loopback port).
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = address.into();
        self
    }

    /// Builds the model alone, with no socket (to serve it elsewhere, e.g. the emulator
    /// server). Fails only when the OP's keys cannot be generated.
    pub fn model(self) -> Result<Model, EmulatorError> {
        Model::from_builder(self)
    }

    /// Builds the model and serves it on a real port ([`auth_core::emulator::Served`]); the
    /// issuer is the served base URL unless [`EmulatorBuilder::issuer`] named one.
    pub async fn start(self) -> std::io::Result<Emulator> {
        let address = self.address.clone();
        let model = Arc::new(self.model()?);
        let served = Served::start_on(model, &address).await?;
        if served.issuer().is_none() {
            served.set_issuer(served.base_url().as_str());
        }
        Ok(Emulator(served))
    }
}

auth_core::served_emulator! {
    /// A [`Model`] served on a real loopback port (plain http), until dropped. Dereferences
    /// (through [`Served`]) to the model, whose Rust helpers ([`Model::approve`],
    /// [`Model::register_client`], …) play the user and the OP's administrator.
    pub struct Emulator(Served<Model>);
    builder: EmulatorBuilder;
}

impl Emulator {
    /// A builder for the default client ([`DEFAULT_CLIENT_ID`], `client_secret_basic`) of this
    /// OP, on the model's clock.
    pub fn client_builder(&self) -> Result<ClientBuilder, Error> {
        let issuer = self
            .issuer()
            .unwrap_or_else(|| self.base_url().as_str().to_owned());
        Ok(Client::builder(
            ClientId::new(DEFAULT_CLIENT_ID)?,
            ClientAuth::secret_basic(DEFAULT_CLIENT_SECRET),
        )
        .issuer(issuer)
        .clock(self.clock()))
    }

    /// The default client.
    pub fn client(&self) -> Result<Client, Error> {
        self.client_builder()?.build()
    }

    /// Delivers the waiting ping and push notifications over HTTP (each a `POST` with the
    /// request's bearer token; redirects are not followed); returns each answer's status.
    pub async fn deliver_notifications(&self) -> Result<Vec<u16>, EmulatorError> {
        let http = auth_core::ReqwestClient::new(&auth_core::HttpConfig::default())
            .map_err(|e| EmulatorError::Delivery(e.to_string()))?;
        self.deliver_notifications_with(&http).await
    }

    /// Delivers the waiting notifications with `http` (a client of your own, or one that
    /// calls the notification endpoint in process). A delivery that fails stops the rest,
    /// which are dropped.
    pub async fn deliver_notifications_with(
        &self,
        http: &dyn HttpClient,
    ) -> Result<Vec<u16>, EmulatorError> {
        let mut statuses = Vec::new();
        for request in self.take_notifications() {
            let response = http
                .execute(request)
                .await
                .map_err(|e| EmulatorError::Delivery(e.to_string()))?;
            statuses.push(response.status().as_u16());
        }
        Ok(statuses)
    }
}
