//! An in-process LaunchKey API for tests and demos (feature `emulator`).
//!
//! Real HTTP on a loopback port ([`wiremock`]), its own RSA keys, and the same JOSE transport
//! as the platform: request JWTs verified (signature, claims, method, path, body hash), request
//! bodies decrypted, response bodies encrypted to the service key that signed the request, and
//! every signed response carrying an `X-IOV-JWT` (jti echo, status, body hash).
//!
//! A test plays the user's phone with [`Emulator::approve`], [`Emulator::deny`],
//! [`Emulator::deny_fraud`], [`Emulator::fail`] or [`Emulator::respond`], makes webhooks with
//! [`Emulator::authorization_webhook`] and [`Emulator::session_end_webhook`], and injects
//! transport faults with [`Emulator::inject`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), launchkey::Error> {
//! use launchkey::emulator::Emulator;
//! use launchkey::{AuthorizationPoll, AuthorizationRequest, Client, ServiceId, ServicePrivateKey};
//!
//! let emulator = Emulator::start().await?;
//! let service_id = ServiceId::from_uuid(uuid::Uuid::new_v4());
//! let key = ServicePrivateKey::generate()?;
//! emulator.register_service(service_id, &key.public_key_pem())?;
//! emulator.add_user("alice");
//! let client = Client::builder(service_id, key).base_url(emulator.base_url()).build()?;
//!
//! let created = client.authorize(&AuthorizationRequest::new("alice")).await?;
//! emulator.approve(&created.id)?;
//! let AuthorizationPoll::Responded(answer) = client.get_authorization_response(&created.id).await? else {
//!     unreachable!()
//! };
//! assert!(answer.authorized);
//! # Ok(()) }
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use auth_core::http_types::header::{AUTHORIZATION, CONTENT_TYPE};
use auth_core::http_types::{HeaderValue, Method};
use auth_core::sync::lock;
use auth_core::time::Timestamp;
use auth_core::{SharedClock, SystemClock};
use base64::Engine as _;
use serde_json::{Map, Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use auth_core::base_url::percent_decode;
use auth_core::secret::constant_time_eq;

use crate::JweAlgorithm;
use crate::JwsAlgorithm;
use crate::client::{API_ENTITY, X_IOV_JWT, X_IOV_KEY_ID, body_hash};
use crate::hazmat::jwe::{self, ParsedJwe};
use crate::hazmat::jws::{self, UnverifiedJws};
use crate::hazmat::rsa_oaep::{self, OaepHash};
use crate::hazmat::{b64d, b64e};
use crate::keys::{RsaPublicKey, ServicePrivateKey};
use crate::{AuthRequestId, AuthResponseReason, AuthResponseType, Error, ServiceId};

/// Leeway the emulator allows on request token times.
const REQUEST_LEEWAY: i64 = 30;

/// How many accepted calls [`Emulator::received`] keeps by default (the most recent ones).
pub const DEFAULT_LOG_CAPACITY: usize = 1000;
/// How many settled (answered, cancelled or expired) authorization requests the emulator keeps
/// by default; older settled ones are forgotten (a poll for them then answers 204, as the
/// platform does for an unknown id). Pending requests are always kept.
pub const DEFAULT_SETTLED_CAPACITY: usize = 1000;

static FIRST_API_KEY: OnceLock<Arc<ServicePrivateKey>> = OnceLock::new();

fn first_api_key() -> Result<Arc<ServicePrivateKey>, Error> {
    if let Some(k) = FIRST_API_KEY.get() {
        return Ok(k.clone());
    }
    let key = Arc::new(ServicePrivateKey::generate()?);
    Ok(FIRST_API_KEY.get_or_init(|| key).clone())
}

/// A fault applied to the next signed response (one per [`Emulator::inject`] call, in order).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Change the body after signing (the hash no longer matches).
    TamperBody,
    /// Put the hash of other bytes in `response.hash`.
    WrongBodyHash,
    /// Leave `func`/`hash` out although there is a body.
    OmitBodyHash,
    /// Name a kid the API does not know (`GET /public/v3/public-key/{kid}` answers 404).
    UnknownKid,
    /// Sign with a key that is not the one the kid names.
    ForeignSignature,
    /// `aud` other than the service.
    WrongAudience,
    /// `iss` other than `lka`.
    WrongIssuer,
    /// `sub` other than the service.
    WrongSubject,
    /// `jti` that does not echo the request's.
    WrongJti,
    /// `response.status` other than the HTTP status.
    WrongStatusClaim,
    /// Token times two minutes in the past.
    ExpiredToken,
    /// Token times two minutes in the future.
    FutureToken,
    /// No `X-IOV-JWT` header.
    MissingJwt,
    /// A JWT whose header says `alg: none`.
    AlgNone,
    /// Cut the JWE body short (hash recomputed, so only decryption can notice).
    TruncateJwe,
    /// Replace the JWE ciphertext with other bytes (hash recomputed).
    GarbleJwe,
    /// Flip a bit of the JWE authentication tag (hash recomputed).
    BadTag,
    /// Send the 2xx body as plain JSON instead of a JWE (hash recomputed).
    PlainBody,
    /// Answer a poll with a device package for a different request id.
    WrongRequestId,
    /// Answer with this HTTP status and an empty body (signed).
    Status(u16),
    /// Answer 429 with an empty body (signed) and, when given, `Retry-After: <seconds>`.
    RateLimited(Option<u64>),
    /// Send a `Cache-Control` header and sign it in `response.cache` (listed in another order,
    /// which must still match).
    SignedCacheControl,
    /// Send a `Cache-Control` header that the token does not cover.
    UnsignedCacheControl,
    /// Send a `Location` header and sign it in `response.location`.
    SignedLocation,
    /// Send a `Location` header that differs from the signed `response.location`.
    WrongLocation,
    /// Answer with this HTTP status and an encrypted error body with this `error_code`
    /// (`error_detail` = `"emulated"`).
    ApiError(u16, String),
}

/// What the phone answers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PhoneAnswer {
    /// `type`.
    pub response_type: AuthResponseType,
    /// `reason`.
    pub reason: AuthResponseReason,
    /// The denial reason id picked, if any.
    pub denial_reason: Option<String>,
    /// Service PINs.
    pub service_pins: Vec<String>,
    /// `auth_policy` as sent by the device; `None`: the policy the request asked for (see
    /// [`Emulator::respond`]).
    pub auth_policy: Option<Value>,
    /// `auth_methods` as sent by the device.
    pub auth_methods: Value,
}

impl PhoneAnswer {
    /// An answer with the given type and reason and typical details.
    pub fn new(response_type: AuthResponseType, reason: AuthResponseReason) -> Self {
        PhoneAnswer {
            response_type,
            reason,
            denial_reason: None,
            service_pins: vec!["1234".into(), "3456".into(), "5678".into()],
            auth_policy: None,
            auth_methods: json!([
                {"method": "PIN_CODE", "set": true, "active": true, "allowed": true, "supported": true, "user_required": true, "passed": true, "error": false},
                {"method": "FINGERPRINT", "set": false, "active": false, "allowed": true, "supported": true, "user_required": null, "passed": null, "error": null}
            ]),
        }
    }

    /// Sets the denial reason id.
    pub fn with_denial_reason(mut self, id: impl Into<String>) -> Self {
        self.denial_reason = Some(id.into());
        self
    }

    /// Sends this `auth_policy` as it is (any JSON, `null`s and lower-case values included)
    /// instead of the one derived from the request.
    pub fn with_auth_policy(mut self, policy: Value) -> Self {
        self.auth_policy = Some(policy);
        self
    }

    /// Sends these `auth_methods` as they are (any JSON).
    pub fn with_auth_methods(mut self, methods: Value) -> Self {
        self.auth_methods = methods;
        self
    }
}

/// A user known to the emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EmulatedUser {
    /// Username.
    pub username: String,
    /// Service user hash.
    pub service_user_hash: String,
    /// Organisation user hash.
    pub org_user_hash: String,
    /// User Push ID.
    pub user_push_id: String,
    /// The user's device.
    pub device_id: String,
}

/// A call the emulator received and accepted, with its decrypted body (for wire-shape asserts).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReceivedCall {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// The request JWT's header `alg`.
    pub jws_alg: String,
    /// The request JWT's claims.
    pub claims: Value,
    /// The JWE header of the body, if any.
    pub jwe_header: Option<Value>,
    /// The decrypted body, if any.
    pub body: Option<Value>,
}

/// A webhook as the platform POSTs it to the service's callback URL (method, path, headers,
/// raw body): hand it to [`Client::handle_webhook`](crate::Client::handle_webhook) as it is,
/// or send it to your own route.
pub type WebhookRequest = http::Request<Vec<u8>>;

#[derive(Debug, Clone)]
enum ReqState {
    Pending,
    Responded(PhoneAnswer),
    Canceled,
}

#[derive(Debug, Clone)]
struct AuthReq {
    service: ServiceId,
    service_kid: String,
    username: String,
    created: i64,
    ttl: i64,
    /// The `auth_policy` the device reports: the one the request asked for.
    auth_policy: Value,
    state: ReqState,
}

impl AuthReq {
    fn settled(&self, now: i64) -> bool {
        !matches!(self.state, ReqState::Pending) || now >= self.created + self.ttl
    }
}

struct Service {
    keys: HashMap<String, RsaPublicKey>,
}

struct State {
    api_keys: Vec<Arc<ServicePrivateKey>>,
    foreign_key: Option<Arc<ServicePrivateKey>>,
    services: HashMap<ServiceId, Service>,
    users: HashMap<String, EmulatedUser>,
    requests: HashMap<String, AuthReq>,
    /// Request ids in creation order (for forgetting the oldest settled ones).
    request_order: VecDeque<String>,
    settled_capacity: usize,
    sessions: HashMap<(ServiceId, String), Option<String>>,
    totp: HashMap<String, String>,
    response_jwe: JweAlgorithm,
    response_jws: JwsAlgorithm,
    legacy_packages: bool,
    create_status: u16,
    in_progress_status: u16,
    faults: VecDeque<Fault>,
    received: VecDeque<ReceivedCall>,
    log_capacity: usize,
    counts: EndpointCounts,
}

/// How many requests each kind of endpoint has answered (for asserting on caching and
/// single-flight behaviour from the outside).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointCounts {
    /// `GET /public/v3/ping`.
    pub ping: u64,
    /// `GET /public/v3/public-key` (the current key).
    pub current_key: u64,
    /// `GET /public/v3/public-key/{kid}`, found or not.
    pub key_by_kid: u64,
    /// Signed `/service/v3/*` calls, accepted or not.
    pub signed: u64,
}

impl EndpointCounts {
    /// Both public-key endpoints together.
    pub fn key_fetches(&self) -> u64 {
        self.current_key + self.key_by_kid
    }
}

struct Shared {
    state: Mutex<State>,
    clock: SharedClock,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }
    fn now(&self) -> i64 {
        self.clock.unix_seconds()
    }
}

/// The LaunchKey API emulator. Dropping it stops the server.
pub struct Emulator {
    server: MockServer,
    shared: Arc<Shared>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("base_url", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Starts an emulator on a random loopback port, on the system clock.
    pub async fn start() -> Result<Self, Error> {
        Self::start_with_clock(Arc::new(SystemClock)).await
    }

    /// Starts an emulator whose time (token times, TTLs, `api_time`) comes from `clock`.
    pub async fn start_with_clock(clock: SharedClock) -> Result<Self, Error> {
        let state = State {
            api_keys: vec![first_api_key()?],
            foreign_key: None,
            services: HashMap::new(),
            users: HashMap::new(),
            requests: HashMap::new(),
            request_order: VecDeque::new(),
            settled_capacity: DEFAULT_SETTLED_CAPACITY,
            sessions: HashMap::new(),
            totp: HashMap::new(),
            response_jwe: JweAlgorithm::RsaOaep,
            response_jws: JwsAlgorithm::RS256,
            legacy_packages: false,
            create_status: 201,
            in_progress_status: 409,
            faults: VecDeque::new(),
            received: VecDeque::new(),
            log_capacity: DEFAULT_LOG_CAPACITY,
            counts: EndpointCounts::default(),
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            clock,
        });
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(Router {
                shared: shared.clone(),
            })
            .mount(&server)
            .await;
        Ok(Emulator { server, shared })
    }

    /// The base URL (`http://127.0.0.1:<port>`).
    pub fn base_url(&self) -> String {
        self.server.uri()
    }

    /// Registers a service and one of its public keys (PEM SPKI); call again to add keys.
    pub fn register_service(
        &self,
        service_id: ServiceId,
        public_key_pem: &str,
    ) -> Result<(), Error> {
        let key = RsaPublicKey::from_pem(public_key_pem)?;
        let kid = key.fingerprint().as_str().to_owned();
        self.shared
            .lock()
            .services
            .entry(service_id)
            .or_insert_with(|| Service {
                keys: HashMap::new(),
            })
            .keys
            .insert(kid, key);
        Ok(())
    }

    /// Adds a user with one device; returns its identifiers.
    pub fn add_user(&self, username: &str) -> EmulatedUser {
        let d = crate::md5::md5(username.as_bytes());
        let user = EmulatedUser {
            username: username.to_owned(),
            service_user_hash: format!("suh{}", crate::client::hex(&d)),
            org_user_hash: format!("ouh{}", crate::client::hex(&d[..8])),
            user_push_id: format!("upi{}", crate::client::hex(&d[8..])),
            device_id: uuid::Uuid::new_v4().to_string(),
        };
        self.shared
            .lock()
            .users
            .insert(username.to_owned(), user.clone());
        user
    }

    /// Sets the TOTP code the user's authenticator currently shows.
    pub fn set_totp(&self, username: &str, code: &str) {
        self.shared
            .lock()
            .totp
            .insert(username.to_owned(), code.to_owned());
    }

    /// The key id of the current API key.
    pub fn api_kid(&self) -> String {
        self.shared
            .lock()
            .api_keys
            .last()
            .map(|k| k.kid().as_str().to_owned())
            .unwrap_or_default()
    }

    /// Makes a new API key the current one (the old one stays resolvable by kid).
    pub fn rotate_api_key(&self) -> Result<String, Error> {
        let key = Arc::new(ServicePrivateKey::generate()?);
        let kid = key.kid().as_str().to_owned();
        self.shared.lock().api_keys.push(key);
        Ok(kid)
    }

    /// Encrypts response bodies with this algorithm (default `RSA-OAEP`).
    pub fn set_response_jwe_algorithm(&self, alg: JweAlgorithm) {
        self.shared.lock().response_jwe = alg;
    }

    /// Signs responses with this algorithm (default `RS256`).
    pub fn set_response_jws_algorithm(&self, alg: JwsAlgorithm) {
        self.shared.lock().response_jws = alg;
    }

    /// Sends only the legacy RSA `auth` package (no `auth_jwe`) in responses and webhooks.
    pub fn set_legacy_packages(&self, legacy: bool) {
        self.shared.lock().legacy_packages = legacy;
    }

    /// Answers a successful create with `create_status` (default 201; the SDKs accept any 2xx)
    /// and `SVC-005` with `in_progress_status` (default 409; older API versions used 400).
    pub fn set_status_variants(&self, create_status: u16, in_progress_status: u16) {
        let mut st = self.shared.lock();
        st.create_status = create_status;
        st.in_progress_status = in_progress_status;
    }

    /// Applies `fault` to the next signed response.
    pub fn inject(&self, fault: Fault) -> Result<(), Error> {
        if matches!(fault, Fault::ForeignSignature) {
            let key = Arc::new(ServicePrivateKey::generate()?);
            self.shared.lock().foreign_key.get_or_insert(key);
        }
        self.shared.lock().faults.push_back(fault);
        Ok(())
    }

    /// The accepted signed calls, oldest first, with decrypted bodies: the most recent
    /// [`DEFAULT_LOG_CAPACITY`] (see [`Emulator::set_retention`]).
    pub fn received(&self) -> Vec<ReceivedCall> {
        self.shared.lock().received.iter().cloned().collect()
    }

    /// How many requests each kind of endpoint has answered so far.
    pub fn counts(&self) -> EndpointCounts {
        self.shared.lock().counts
    }

    /// Bounds what the emulator keeps: the last `log` accepted calls for
    /// [`Emulator::received`], and at most `settled_requests` settled authorization requests
    /// (pending ones are always kept). Defaults: [`DEFAULT_LOG_CAPACITY`],
    /// [`DEFAULT_SETTLED_CAPACITY`].
    pub fn set_retention(&self, log: usize, settled_requests: usize) {
        let mut st = self.shared.lock();
        st.log_capacity = log;
        st.settled_capacity = settled_requests;
        while st.received.len() > log {
            st.received.pop_front();
        }
        let now = self.shared.now();
        prune_settled(&mut st, now);
    }

    /// How many authorization requests the emulator holds (pending and settled).
    pub fn stored_requests(&self) -> usize {
        self.shared.lock().requests.len()
    }

    /// The pending (unanswered, unexpired, not cancelled) request for `username`.
    pub fn pending_request(&self, username: &str) -> Option<AuthRequestId> {
        let now = self.shared.now();
        let st = self.shared.lock();
        st.requests
            .iter()
            .find(|(_, r)| {
                r.username == username
                    && matches!(r.state, ReqState::Pending)
                    && now < r.created + r.ttl
            })
            .and_then(|(id, _)| AuthRequestId::parse(id).ok())
    }

    /// Whether the service has an open session for the user.
    pub fn has_session(&self, service_id: ServiceId, username: &str) -> bool {
        self.shared
            .lock()
            .sessions
            .contains_key(&(service_id, username.to_owned()))
    }

    /// The phone answers `id` with `answer`.
    ///
    /// The device package reports `answer.auth_policy`, or, when that is `None`, the policy
    /// the request asked for (its legacy `minimum_requirements` and geofences; "any one
    /// factor" when it sent none).
    pub fn respond(&self, id: &AuthRequestId, answer: PhoneAnswer) -> Result<(), Error> {
        let now = self.shared.now();
        let mut st = self.shared.lock();
        let r = st.requests.get_mut(id.as_str()).ok_or(Error::NotFound)?;
        match r.state {
            ReqState::Pending if now < r.created + r.ttl => {
                r.state = ReqState::Responded(answer);
                prune_settled(&mut st, now);
                Ok(())
            }
            ReqState::Pending => Err(Error::AuthorizationExpired),
            ReqState::Responded(_) => Err(Error::AuthorizationResponseExists),
            ReqState::Canceled => Err(Error::AuthorizationCanceled),
        }
    }

    /// The user approves.
    pub fn approve(&self, id: &AuthRequestId) -> Result<(), Error> {
        self.respond(
            id,
            PhoneAnswer::new(AuthResponseType::Authorized, AuthResponseReason::Approved),
        )
    }

    /// The user denies (not fraud), optionally with a denial reason id.
    pub fn deny(&self, id: &AuthRequestId, denial_reason: Option<&str>) -> Result<(), Error> {
        let mut a = PhoneAnswer::new(AuthResponseType::Denied, AuthResponseReason::Disapproved);
        a.denial_reason = denial_reason.map(str::to_owned);
        self.respond(id, a)
    }

    /// The user denies and flags fraud, optionally with a denial reason id.
    pub fn deny_fraud(&self, id: &AuthRequestId, denial_reason: Option<&str>) -> Result<(), Error> {
        let mut a = PhoneAnswer::new(AuthResponseType::Denied, AuthResponseReason::Fraudulent);
        a.denial_reason = denial_reason.map(str::to_owned);
        self.respond(id, a)
    }

    /// The authorization fails on the device for `reason` (`SENSOR`, `POLICY`, …).
    pub fn fail(&self, id: &AuthRequestId, reason: AuthResponseReason) -> Result<(), Error> {
        self.respond(id, PhoneAnswer::new(AuthResponseType::Failed, reason))
    }

    /// Makes the request expire now (as if its TTL had passed).
    pub fn expire(&self, id: &AuthRequestId) -> Result<(), Error> {
        let now = self.shared.now();
        let mut st = self.shared.lock();
        let r = st.requests.get_mut(id.as_str()).ok_or(Error::NotFound)?;
        r.created = now - r.ttl;
        Ok(())
    }

    /// The webhook the platform POSTs to `path` once `id` has been answered.
    pub fn authorization_webhook(
        &self,
        id: &AuthRequestId,
        path: &str,
    ) -> Result<WebhookRequest, Error> {
        let st = self.shared.lock();
        let r = st.requests.get(id.as_str()).ok_or(Error::NotFound)?;
        let ReqState::Responded(answer) = &r.state else {
            return Err(Error::InvalidRequest {
                field: "auth_request",
                reason: "not answered yet".into(),
            });
        };
        let service = st.services.get(&r.service).ok_or(Error::ServiceNotFound)?;
        let skey = service
            .keys
            .get(&r.service_kid)
            .ok_or(Error::ServiceNotFound)?;
        let mut core = core_package(&st, id.as_str(), r, answer, skey)?;
        if let Some(obj) = core.as_object_mut() {
            obj.insert("type".into(), json!("AUTHORIZATION_RESPONSE"));
        }
        let plain =
            serde_json::to_vec(&core).map_err(|e| auth_core::Error::decode("webhook", ".", e))?;
        let body = jwe::encrypt(
            st.response_jwe,
            skey.encrypting(),
            Some(&r.service_kid),
            Some("application/json"),
            &plain,
        )?
        .into_bytes();
        webhook(
            &st,
            self.shared.now(),
            r.service,
            path,
            body,
            "application/jose",
        )
    }

    /// The same webhook with another body, signed afresh (method, path and body hash match), so
    /// that only the body's own checks can reject it.
    pub fn resign_webhook(
        &self,
        original: &WebhookRequest,
        body: Vec<u8>,
    ) -> Result<WebhookRequest, Error> {
        let token = crate::webhook::webhook_token(original.headers()).ok_or(Error::NotFound)?;
        let jws = UnverifiedJws::parse(token)?;
        let claims: Value =
            serde_json::from_slice(jws.verify(&self.api_public_der(jws.header().kid.as_deref())?)?)
                .map_err(|e| auth_core::Error::decode("webhook", ".", e))?;
        let aud = claims
            .get("aud")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let service = ServiceId::parse(aud.trim_start_matches("svc:"))?;
        let content_type = original
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/jose")
            .to_owned();
        let st = self.shared.lock();
        webhook(
            &st,
            self.shared.now(),
            service,
            original.uri().path(),
            body,
            &content_type,
        )
    }

    /// An encrypted webhook with any JSON plaintext (for webhook kinds the emulator does not
    /// model), encrypted to `service_public_key_pem` and signed.
    pub fn encrypted_webhook(
        &self,
        service_id: ServiceId,
        service_public_key_pem: &str,
        path: &str,
        plaintext: &Value,
    ) -> Result<WebhookRequest, Error> {
        let key = RsaPublicKey::from_pem(service_public_key_pem)?;
        let kid = key.fingerprint().as_str().to_owned();
        let st = self.shared.lock();
        let plain = serde_json::to_vec(plaintext)
            .map_err(|e| auth_core::Error::decode("webhook", ".", e))?;
        let body = jwe::encrypt(
            st.response_jwe,
            key.encrypting(),
            Some(&kid),
            Some("application/json"),
            &plain,
        )?
        .into_bytes();
        webhook(
            &st,
            self.shared.now(),
            service_id,
            path,
            body,
            "application/jose",
        )
    }

    fn api_public_der(&self, kid: Option<&str>) -> Result<Vec<u8>, Error> {
        let st = self.shared.lock();
        st.api_keys
            .iter()
            .find(|k| Some(k.kid().as_str()) == kid)
            .map(|k| k.public_key_der().to_vec())
            .ok_or(Error::ApiKeyNotFound {
                kid: kid.unwrap_or_default().to_owned(),
            })
    }

    /// The webhook the platform POSTs to `path` when `username` ends their session with the
    /// service on the device (plain JSON, signed).
    pub fn session_end_webhook(
        &self,
        service_id: ServiceId,
        username: &str,
        path: &str,
    ) -> Result<WebhookRequest, Error> {
        let st = self.shared.lock();
        let user = st.users.get(username).ok_or(Error::NotFound)?;
        let now = self.shared.now();
        let body = serde_json::to_vec(&json!({
            "service_user_hash": user.service_user_hash,
            "api_time": Timestamp::from_unix(now).to_utc_string(),
        }))
        .map_err(|e| auth_core::Error::decode("webhook", ".", e))?;
        webhook(&st, now, service_id, path, body, "application/json")
    }
}

fn webhook(
    st: &State,
    now: i64,
    service: ServiceId,
    path: &str,
    body: Vec<u8>,
    content_type: &str,
) -> Result<WebhookRequest, Error> {
    let api = st.api_keys.last().ok_or(Error::ServiceNotFound)?;
    let entity = service.entity();
    let claims = json!({
        "iss": API_ENTITY, "aud": entity, "sub": entity,
        "iat": now, "nbf": now, "exp": now + 5,
        "jti": uuid::Uuid::new_v4().to_string(),
        "request": {"meth": "POST", "path": path, "func": "S256", "hash": body_hash("S256", &body)},
    });
    let payload =
        serde_json::to_vec(&claims).map_err(|e| auth_core::Error::decode("claims", ".", e))?;
    let token = jws::sign(
        st.response_jws,
        api.signer(),
        Some(api.kid().as_str()),
        &payload,
    )?;
    // The token is marked sensitive: `Debug` of the request shows `Sensitive` in its place.
    let sensitive = |text: String| {
        let mut value = HeaderValue::try_from(text).map_err(|e| Error::InvalidRequest {
            field: "token",
            reason: e.to_string(),
        })?;
        value.set_sensitive(true);
        Ok::<_, Error>(value)
    };
    http::Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(X_IOV_JWT, sensitive(token.clone())?)
        .header(AUTHORIZATION, sensitive(format!("IOV-JWT {token}"))?)
        .header(CONTENT_TYPE, content_type)
        .body(body)
        .map_err(|e| Error::InvalidRequest {
            field: "path",
            reason: e.to_string(),
        })
}

fn core_package(
    st: &State,
    id: &str,
    r: &AuthReq,
    answer: &PhoneAnswer,
    skey: &RsaPublicKey,
) -> Result<Value, Error> {
    let user = st.users.get(&r.username).ok_or(Error::NotFound)?;
    let mut core = json!({
        "service_user_hash": user.service_user_hash,
        "org_user_hash": user.org_user_hash,
        "user_push_id": user.user_push_id,
        "public_key_id": r.service_kid,
    });
    let obj = core.as_object_mut().ok_or(Error::Decryption)?;
    let legacy = json!({
        "auth_request": id,
        "response": answer.response_type == AuthResponseType::Authorized,
        "device_id": user.device_id,
        "service_pins": answer.service_pins,
    });
    let legacy_plain =
        serde_json::to_vec(&legacy).map_err(|e| auth_core::Error::decode("auth", ".", e))?;
    let ct = rsa_oaep::encrypt(skey.encrypting(), OaepHash::Sha1, &legacy_plain)?;
    obj.insert(
        "auth".into(),
        json!(base64::engine::general_purpose::STANDARD.encode(ct)),
    );
    if !st.legacy_packages {
        let device = json!({
            "type": answer.response_type.as_str(),
            "reason": answer.reason.as_str(),
            "denial_reason": answer.denial_reason,
            "auth_request": id,
            "device_id": user.device_id,
            "service_pins": answer.service_pins,
            "auth_policy": answer.auth_policy.clone().unwrap_or_else(|| r.auth_policy.clone()),
            "auth_methods": answer.auth_methods,
        });
        let plain = serde_json::to_vec(&device)
            .map_err(|e| auth_core::Error::decode("auth_jwe", ".", e))?;
        let token = jwe::encrypt(
            st.response_jwe,
            skey.encrypting(),
            Some(&r.service_kid),
            Some("application/json"),
            &plain,
        )?;
        obj.insert("auth_jwe".into(), json!(token));
    } else {
        obj.insert("auth_jwe".into(), Value::Null);
    }
    Ok(core)
}

struct Router {
    shared: Arc<Shared>,
}

/// What a signed route answers before signing: status and optional JSON body.
struct Reply {
    status: u16,
    body: Option<Value>,
}

impl Reply {
    fn empty(status: u16) -> Self {
        Reply { status, body: None }
    }
    fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            body: Some(body),
        }
    }
    fn error(status: u16, code: &str, detail: &str, data: Value) -> Self {
        Reply::json(
            status,
            json!({"error_code": code, "error_detail": detail, "error_data": data}),
        )
    }
}

/// A verified incoming call.
struct Caller {
    service: ServiceId,
    kid: String,
    jti: String,
    body: Option<Value>,
}

impl Respond for Router {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        // Serve under any path prefix (a base URL such as `http://127.0.0.1:1234/lk`); request
        // tokens are still checked against the full path as sent.
        let full = req.url.path();
        let path = full
            .find("/public/v3/")
            .or_else(|| full.find("/service/v3/"))
            .map_or(full, |i| &full[i..])
            .to_owned();
        let now = self.shared.now();
        if req.method == Method::GET {
            if path == "/public/v3/ping" {
                self.shared.lock().counts.ping += 1;
                return ResponseTemplate::new(200).set_body_raw(
                    json!({"api_time": Timestamp::from_unix(now).to_utc_string()}).to_string(),
                    "application/json",
                );
            }
            if let Some(rest) = path.strip_prefix("/public/v3/public-key") {
                let mut st = self.shared.lock();
                if rest.is_empty() {
                    st.counts.current_key += 1;
                } else {
                    st.counts.key_by_kid += 1;
                }
                let key = if rest.is_empty() {
                    st.api_keys.last().cloned()
                } else {
                    let kid = rest.trim_start_matches('/');
                    percent_decode(kid, false).and_then(|kid| {
                        st.api_keys
                            .iter()
                            .find(|k| k.kid().as_str() == kid)
                            .cloned()
                    })
                };
                return match key {
                    Some(k) => ResponseTemplate::new(200)
                        .insert_header(X_IOV_KEY_ID, k.kid().as_str())
                        .set_body_raw(k.public_key_pem(), "text/plain"),
                    None => ResponseTemplate::new(404),
                };
            }
        }
        self.shared.lock().counts.signed += 1;
        let caller = match self.verify(req, now) {
            Ok(c) => c,
            Err(jti) => return self.unauthorized(jti, now),
        };
        let reply = self.route(req.method.clone(), &path, &caller, now);
        self.sign_reply(&caller, reply, now)
    }
}

impl Router {
    /// Verifies the request JWT and decrypts the body; `Err(jti)` means 401.
    fn verify(&self, req: &Request, now: i64) -> Result<Caller, Option<String>> {
        let auth = req
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(None)?;
        let token = auth.strip_prefix("IOV-JWT ").ok_or(None)?;
        let jws = UnverifiedJws::parse(token).map_err(|_| None)?;
        let kid = jws.header().kid.clone().ok_or(None)?;
        let st = self.shared.lock();
        let (service, key) = st
            .services
            .iter()
            .find_map(|(id, s)| s.keys.get(&kid).map(|k| (*id, k.clone())))
            .ok_or(None)?;
        let payload = jws.verify(key.der()).map_err(|_| None)?;
        let claims: Map<String, Value> = serde_json::from_slice(payload).map_err(|_| None)?;
        let jti = claims.get("jti").and_then(Value::as_str).map(str::to_owned);
        let fail = || jti.clone();
        let entity = service.entity();
        let s = |k: &str| claims.get(k).and_then(Value::as_str);
        if s("iss") != Some(&entity) || s("sub") != Some(&entity) || s("aud") != Some(API_ENTITY) {
            return Err(fail());
        }
        let t = |k: &str| claims.get(k).and_then(Value::as_i64);
        let (Some(iat), Some(nbf), Some(exp)) = (t("iat"), t("nbf"), t("exp")) else {
            return Err(fail());
        };
        if exp + REQUEST_LEEWAY < now
            || nbf - REQUEST_LEEWAY > now
            || iat - REQUEST_LEEWAY > now
            || exp <= iat
        {
            return Err(fail());
        }
        let Some(jti_s) = jti.clone() else {
            return Err(None);
        };
        let request = claims
            .get("request")
            .and_then(Value::as_object)
            .ok_or_else(fail)?;
        if request.get("meth").and_then(Value::as_str) != Some(req.method.as_str())
            || request.get("path").and_then(Value::as_str) != Some(req.url.path())
        {
            return Err(fail());
        }
        if crate::client::check_body_hash(request, &req.body).is_err() {
            return Err(fail());
        }
        let (jwe_header, body) = if req.body.is_empty() {
            (None, None)
        } else {
            let text = std::str::from_utf8(&req.body).map_err(|_| fail())?;
            let parsed = ParsedJwe::parse(text).map_err(|_| fail())?;
            let api = st
                .api_keys
                .iter()
                .find(|k| Some(k.kid().as_str()) == parsed.kid())
                .ok_or_else(fail)?;
            let plain = parsed.decrypt(api.decrypter()).map_err(|_| fail())?;
            let header: Value = text
                .split('.')
                .next()
                .and_then(|h| b64d(h).ok())
                .and_then(|h| serde_json::from_slice(&h).ok())
                .unwrap_or(Value::Null);
            let body: Value = serde_json::from_slice(&plain).map_err(|_| fail())?;
            (Some(header), Some(body))
        };
        let call = ReceivedCall {
            method: req.method.to_string(),
            path: req.url.path().to_owned(),
            content_type: req
                .headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            jws_alg: jws.header().alg.clone(),
            claims: Value::Object(claims.clone()),
            jwe_header,
            body: body.clone(),
        };
        drop(st);
        let mut st = self.shared.lock();
        if st.log_capacity > 0 {
            if st.received.len() >= st.log_capacity {
                st.received.pop_front();
            }
            st.received.push_back(call);
        }
        drop(st);
        Ok(Caller {
            service,
            kid,
            jti: jti_s,
            body,
        })
    }

    fn unauthorized(&self, jti: Option<String>, now: i64) -> ResponseTemplate {
        let st = self.shared.lock();
        let mut resp = ResponseTemplate::new(401);
        if let Some(api) = st.api_keys.last() {
            let claims = json!({
                "iss": API_ENTITY, "aud": "public", "sub": "public",
                "iat": now, "nbf": now, "exp": now + 5,
                "jti": jti, "response": {"status": 401},
            });
            if let Ok(payload) = serde_json::to_vec(&claims)
                && let Ok(token) = jws::sign(
                    st.response_jws,
                    api.signer(),
                    Some(api.kid().as_str()),
                    &payload,
                )
            {
                resp = resp.insert_header(X_IOV_JWT, token.as_str());
            }
        }
        resp
    }

    fn route(&self, method: Method, path: &str, caller: &Caller, now: i64) -> Reply {
        let body = caller.body.clone().unwrap_or(Value::Null);
        let mut st = self.shared.lock();
        // Only peek: `sign_reply` consumes the fault of this response (popping here too would
        // swallow the next injected fault).
        match st.faults.front().cloned() {
            Some(Fault::Status(s)) => return Reply::empty(s),
            Some(Fault::RateLimited(_)) => return Reply::empty(429),
            Some(Fault::ApiError(s, code)) => {
                return Reply::error(s, &code, "emulated", Value::Null);
            }
            _ => {}
        }
        match (method, path) {
            (Method::POST, "/service/v3/auths") => create(&mut st, caller, &body, now),
            (Method::POST, "/service/v3/sessions") => {
                let Some(user) = body.get("username").and_then(Value::as_str) else {
                    return Reply::error(400, "ARG-001", "username is required", Value::Null);
                };
                if !st.users.contains_key(user) {
                    return Reply::empty(404);
                }
                let auth = body
                    .get("auth_request")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                st.sessions.insert((caller.service, user.to_owned()), auth);
                Reply::empty(204)
            }
            (Method::DELETE, "/service/v3/sessions") => {
                let Some(user) = body.get("username").and_then(Value::as_str) else {
                    return Reply::error(400, "ARG-001", "username is required", Value::Null);
                };
                if !st.users.contains_key(user) {
                    return Reply::empty(404);
                }
                st.sessions.remove(&(caller.service, user.to_owned()));
                Reply::empty(204)
            }
            (Method::POST, "/service/v3/totp") => {
                let (Some(user), Some(otp)) = (
                    body.get("identifier").and_then(Value::as_str),
                    body.get("otp").and_then(Value::as_str),
                ) else {
                    return Reply::error(
                        400,
                        "ARG-001",
                        "identifier and otp are required",
                        Value::Null,
                    );
                };
                if !st.users.contains_key(user) {
                    return Reply::empty(404);
                }
                let valid = st
                    .totp
                    .get(user)
                    .is_some_and(|c| constant_time_eq(c.as_bytes(), otp.as_bytes()));
                Reply::json(200, json!({"valid": valid}))
            }
            (m, p) if p.starts_with("/service/v3/auths/") => {
                let id = p.trim_start_matches("/service/v3/auths/").to_owned();
                if m == Method::GET {
                    poll(&mut st, caller, &id, now)
                } else if m == Method::DELETE {
                    cancel(&mut st, caller, &id, now)
                } else {
                    Reply::error(400, "ARG-002", "route/method does not exist", Value::Null)
                }
            }
            _ => Reply::error(400, "ARG-002", "route/method does not exist", Value::Null),
        }
    }

    fn sign_reply(&self, caller: &Caller, reply: Reply, now: i64) -> ResponseTemplate {
        let mut st = self.shared.lock();
        let fault = st.faults.pop_front();
        let Some(skey) = st
            .services
            .get(&caller.service)
            .and_then(|s| s.keys.get(&caller.kid))
            .cloned()
        else {
            return ResponseTemplate::new(500);
        };
        let mut body: Vec<u8> = match &reply.body {
            None => Vec::new(),
            Some(v) if fault == Some(Fault::PlainBody) => v.to_string().into_bytes(),
            Some(v) => {
                let plain = v.to_string().into_bytes();
                match jwe::encrypt(
                    st.response_jwe,
                    skey.encrypting(),
                    Some(&caller.kid),
                    Some("application/json"),
                    &plain,
                ) {
                    Ok(t) => t.into_bytes(),
                    Err(_) => return ResponseTemplate::new(500),
                }
            }
        };
        match fault {
            Some(Fault::TruncateJwe) => body.truncate(body.len() / 2),
            Some(Fault::GarbleJwe) => body = garble(&body, 3),
            Some(Fault::BadTag) => body = garble(&body, 4),
            _ => {}
        }
        let mut claims = json!({
            "iss": API_ENTITY,
            "aud": caller.service.entity(),
            "sub": caller.service.entity(),
            "iat": now, "nbf": now, "exp": now + 5,
            "jti": caller.jti,
            "response": {"status": reply.status},
        });
        if !body.is_empty() && fault != Some(Fault::OmitBodyHash) {
            claims["response"]["func"] = json!("S256");
            claims["response"]["hash"] = json!(body_hash("S256", &body));
        }
        match fault {
            Some(Fault::WrongBodyHash) => {
                claims["response"]["hash"] = json!(body_hash("S256", b"other bytes"))
            }
            Some(Fault::WrongAudience) => {
                claims["aud"] = json!("svc:00000000-0000-4000-8000-000000000000")
            }
            Some(Fault::WrongIssuer) => claims["iss"] = json!("not-lka"),
            Some(Fault::WrongSubject) => {
                claims["sub"] = json!("svc:00000000-0000-4000-8000-000000000000")
            }
            Some(Fault::WrongJti) => claims["jti"] = json!(uuid::Uuid::new_v4().to_string()),
            Some(Fault::WrongStatusClaim) => {
                claims["response"]["status"] = json!(if reply.status == 200 { 201 } else { 200 })
            }
            Some(Fault::ExpiredToken) => {
                claims["iat"] = json!(now - 120);
                claims["nbf"] = json!(now - 120);
                claims["exp"] = json!(now - 115);
            }
            Some(Fault::FutureToken) => {
                claims["iat"] = json!(now + 120);
                claims["nbf"] = json!(now + 120);
                claims["exp"] = json!(now + 125);
            }
            _ => {}
        }
        match fault {
            Some(Fault::SignedCacheControl) => {
                claims["response"]["cache"] = json!("private, no-store")
            }
            Some(Fault::SignedLocation) => {
                claims["response"]["location"] = json!("/service/v3/auths/x")
            }
            Some(Fault::WrongLocation) => {
                claims["response"]["location"] = json!("/service/v3/auths/y")
            }
            _ => {}
        }
        if fault == Some(Fault::TamperBody) {
            if body.is_empty() {
                body = b"{}".to_vec();
            } else {
                body = garble(&body, 3);
            }
        }
        let Some(api) = st.api_keys.last().cloned() else {
            return ResponseTemplate::new(500);
        };
        let signer = match fault {
            Some(Fault::ForeignSignature) => st.foreign_key.clone().unwrap_or(api.clone()),
            _ => api.clone(),
        };
        let kid = if fault == Some(Fault::UnknownKid) {
            "00:unknown:kid".to_owned()
        } else {
            api.kid().as_str().to_owned()
        };
        let Ok(payload) = serde_json::to_vec(&claims) else {
            return ResponseTemplate::new(500);
        };
        let token = if fault == Some(Fault::AlgNone) {
            format!(
                "{}.{}.",
                b64e(format!(r#"{{"alg":"none","kid":"{kid}"}}"#).as_bytes()),
                b64e(&payload)
            )
        } else {
            match jws::sign(st.response_jws, signer.signer(), Some(&kid), &payload) {
                Ok(t) => t,
                Err(_) => return ResponseTemplate::new(500),
            }
        };
        let mut resp = ResponseTemplate::new(reply.status);
        match fault {
            Some(Fault::SignedCacheControl | Fault::UnsignedCacheControl) => {
                resp = resp.insert_header("cache-control", "no-store,private");
            }
            Some(Fault::SignedLocation | Fault::WrongLocation) => {
                resp = resp.insert_header("location", "/service/v3/auths/x");
            }
            Some(Fault::RateLimited(Some(secs))) => {
                resp = resp.insert_header("retry-after", secs.to_string().as_str());
            }
            _ => {}
        }
        if fault != Some(Fault::MissingJwt) {
            resp = resp.insert_header(X_IOV_JWT, token.as_str());
        }
        if body.is_empty() {
            resp
        } else {
            let ct = if fault == Some(Fault::PlainBody) {
                "application/json"
            } else {
                "application/jose"
            };
            resp.set_body_raw(body, ct)
        }
    }
}

/// Replaces part `index` of a compact JWE with other bytes of the same length.
fn garble(body: &[u8], index: usize) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let mut parts: Vec<String> = text.split('.').map(str::to_owned).collect();
    if let Some(p) = parts.get_mut(index)
        && let Ok(mut bytes) = b64d(p)
    {
        if let Some(b) = bytes.last_mut() {
            *b ^= 0x01;
        }
        if let Some(b) = bytes.first_mut() {
            *b ^= 0x80;
        }
        *p = b64e(&bytes);
    }
    parts.join(".").into_bytes()
}

/// `ARG-001` with `detail`.
fn invalid(detail: &str) -> Reply {
    Reply::error(400, "ARG-001", detail, Value::Null)
}

/// The platform's parameter rules for a create (spec §5.1, §5.3), applied to whatever the
/// client sent: `Err` is the `ARG-001` reply.
fn check_create(obj: &Map<String, Value>) -> Result<(), Reply> {
    const KEYS: [&str; 8] = [
        "username",
        "context",
        "title",
        "ttl",
        "push_title",
        "push_body",
        "policy",
        "denial_reasons",
    ];
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(invalid(&format!("unexpected field {k}")));
    }
    match obj.get("username").and_then(Value::as_str) {
        Some(u) if !u.trim().is_empty() => {}
        _ => return Err(invalid("username is required")),
    }
    if let Some(v) = obj.get("ttl")
        && !v.as_i64().is_some_and(|t| (30..=600).contains(&t))
    {
        return Err(Reply::error(
            400,
            "ARG-001",
            "ttl must be 30..600",
            json!({"ttl": "invalid"}),
        ));
    }
    for (field, max) in [
        ("context", 400),
        ("title", 200),
        ("push_title", usize::MAX),
        ("push_body", usize::MAX),
    ] {
        match obj.get(field) {
            None => {}
            Some(Value::String(text)) if text.chars().count() <= max => {}
            Some(Value::String(_)) => {
                return Err(invalid(&format!("{field} is longer than {max} characters")));
            }
            Some(_) => return Err(invalid(&format!("{field} must be a string"))),
        }
    }
    if let Some(dr) = obj.get("denial_reasons") {
        check_denial_reasons(dr)?;
    }
    Ok(())
}

/// Denial reasons: a list of at least two `{id, reason, fraud}` objects, ids 1–5 characters
/// and unique, at least one fraud and one non-fraud reason.
fn check_denial_reasons(value: &Value) -> Result<(), Reply> {
    let Some(list) = value.as_array() else {
        return Err(invalid("denial_reasons must be an array"));
    };
    if list.len() < 2 {
        return Err(invalid("at least two denial_reasons are required"));
    }
    let mut ids = std::collections::HashSet::new();
    let (mut fraud, mut not_fraud) = (false, false);
    for entry in list {
        let id = entry.get("id").and_then(Value::as_str);
        let reason = entry.get("reason").and_then(Value::as_str);
        let is_fraud = entry.get("fraud").and_then(Value::as_bool);
        let (Some(id), Some(reason), Some(is_fraud)) = (id, reason, is_fraud) else {
            return Err(invalid("each denial reason needs id, reason and fraud"));
        };
        if !(1..=5).contains(&id.chars().count()) {
            return Err(invalid("denial reason ids must be 1-5 characters"));
        }
        if reason.trim().is_empty() {
            return Err(invalid("denial reason text must not be empty"));
        }
        if !ids.insert(id) {
            return Err(invalid("denial reason ids must be unique"));
        }
        fraud |= is_fraud;
        not_fraud |= !is_fraud;
    }
    if !(fraud && not_fraud) {
        return Err(invalid("denial_reasons need fraud and non-fraud entries"));
    }
    Ok(())
}

/// The `auth_policy` a device reports for a request: what the request's legacy policy asked
/// for (the emulated services have no policy of their own to merge it with), or "any one
/// factor" when the request sent no policy.
fn reported_policy(policy: Option<&Value>) -> Value {
    let Some(policy) = policy else {
        return json!({"requirement": "amount", "amount": 1, "types": [], "geofences": []});
    };
    let minimum = policy
        .get("minimum_requirements")
        .and_then(Value::as_array)
        .and_then(|list| list.first());
    let number = |key: &str| {
        minimum.and_then(|m| m.get(key)).map_or(0, |v| match v {
            Value::Bool(b) => i64::from(*b),
            other => other.as_i64().unwrap_or(0),
        })
    };
    let types: Vec<&str> = [
        ("knowledge", "KNOWLEDGE"),
        ("inherence", "INHERENCE"),
        ("possession", "POSSESSION"),
    ]
    .into_iter()
    .filter(|(key, _)| number(key) > 0)
    .map(|(_, wire)| wire)
    .collect();
    let fences: Vec<Value> = policy
        .get("factors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| f.get("factor").and_then(Value::as_str) == Some("geofence"))
        .filter_map(|f| f.pointer("/attributes/locations").and_then(Value::as_array))
        .flatten()
        .map(|l| {
            let mut fence = json!({
                "latitude": l.get("latitude"), "longitude": l.get("longitude"), "radius": l.get("radius"),
            });
            if let (Some(name), Some(obj)) = (l.get("name"), fence.as_object_mut()) {
                obj.insert("name".into(), name.clone());
            }
            fence
        })
        .collect();
    let any = number("any");
    let (requirement, amount) = if any > 0 {
        (json!("amount"), any)
    } else if !types.is_empty() {
        (json!("types"), 0)
    } else {
        (Value::Null, 0)
    };
    json!({"requirement": requirement, "amount": amount, "types": types, "geofences": fences})
}

/// Forgets the oldest settled requests beyond the configured capacity.
fn prune_settled(st: &mut State, now: i64) {
    let settled = |st: &State| st.requests.values().filter(|r| r.settled(now)).count();
    let mut excess = settled(st).saturating_sub(st.settled_capacity);
    let mut kept = VecDeque::with_capacity(st.request_order.len());
    while let Some(id) = st.request_order.pop_front() {
        let drop_it = excess > 0 && st.requests.get(&id).is_none_or(|r| r.settled(now));
        if drop_it {
            if st.requests.remove(&id).is_some() {
                excess -= 1;
            }
        } else {
            kept.push_back(id);
        }
    }
    st.request_order = kept;
}

fn create(st: &mut State, caller: &Caller, body: &Value, now: i64) -> Reply {
    let Some(obj) = body.as_object() else {
        return invalid("body must be an object");
    };
    if let Err(reply) = check_create(obj) {
        return reply;
    }
    let username = obj
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let ttl = obj.get("ttl").and_then(Value::as_i64).unwrap_or(300);
    if let Some(p) = obj.get("policy")
        && (p
            .get("minimum_requirements")
            .and_then(Value::as_array)
            .is_none()
            || p.get("factors").and_then(Value::as_array).is_none())
    {
        return Reply::error(400, "SVC-002", "policy is invalid", Value::Null);
    }
    let Some(user) = st.users.get(username).cloned() else {
        return Reply::empty(404);
    };
    if let Some((id, r)) = st.requests.iter().find(|(_, r)| {
        r.username == username && matches!(r.state, ReqState::Pending) && now < r.created + r.ttl
    }) {
        return Reply::error(
            st.in_progress_status,
            "SVC-005",
            "Authorization in progress",
            json!({
                "auth_request": id,
                "from_same_service": r.service == caller.service,
                "expires": Timestamp::from_unix(r.created + r.ttl).to_utc_string(),
            }),
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    st.requests.insert(
        id.clone(),
        AuthReq {
            service: caller.service,
            service_kid: caller.kid.clone(),
            username: username.to_owned(),
            created: now,
            ttl,
            auth_policy: reported_policy(obj.get("policy")),
            state: ReqState::Pending,
        },
    );
    st.request_order.push_back(id.clone());
    prune_settled(st, now);
    let mut out = json!({"auth_request": id, "device_ids": [user.device_id]});
    if obj.contains_key("push_title") || obj.contains_key("push_body") {
        out["push_package"] = json!(b64e(format!("push:{id}").as_bytes()));
    }
    Reply::json(st.create_status, out)
}

fn poll(st: &mut State, caller: &Caller, id: &str, now: i64) -> Reply {
    let Some(r) = st.requests.get(id).cloned() else {
        return Reply::empty(204);
    };
    if r.service != caller.service {
        return Reply::empty(204);
    }
    match &r.state {
        ReqState::Canceled => Reply::error(
            400,
            "SVC-007",
            "Authorization request canceled",
            Value::Null,
        ),
        ReqState::Pending if now >= r.created + r.ttl => Reply::empty(408),
        ReqState::Pending => Reply::empty(204),
        ReqState::Responded(answer) => {
            let Some(skey) = st
                .services
                .get(&r.service)
                .and_then(|s| s.keys.get(&r.service_kid))
                .cloned()
            else {
                return Reply::empty(500);
            };
            let pkg_id = if st.faults.front() == Some(&Fault::WrongRequestId) {
                st.faults.pop_front();
                uuid::Uuid::new_v4().to_string()
            } else {
                id.to_owned()
            };
            match core_package(st, &pkg_id, &r, answer, &skey) {
                Ok(core) => Reply::json(200, core),
                Err(_) => Reply::empty(500),
            }
        }
    }
}

fn cancel(st: &mut State, caller: &Caller, id: &str, now: i64) -> Reply {
    let Some(r) = st.requests.get_mut(id) else {
        return Reply::empty(404);
    };
    if r.service != caller.service {
        return Reply::empty(404);
    }
    match r.state {
        ReqState::Canceled => Reply::error(
            400,
            "SVC-007",
            "Authorization request already canceled",
            Value::Null,
        ),
        ReqState::Responded(_) => {
            Reply::error(400, "SVC-006", "Authorization response exists", Value::Null)
        }
        ReqState::Pending if now >= r.created + r.ttl => Reply::empty(408),
        ReqState::Pending => {
            r.state = ReqState::Canceled;
            prune_settled(st, now);
            Reply::empty(204)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Client, ServicePrivateKey};

    /// The platform's create rules hold whoever the client is: bodies this crate's client would
    /// never send (it validates first) are sent signed and encrypted as they are, and the
    /// emulator answers `ARG-001` as the API does.
    #[tokio::test]
    async fn create_rules_apply_whoever_the_client_is() {
        let emulator = Emulator::start().await.unwrap();
        let service_id = ServiceId::from_uuid(uuid::Uuid::new_v4());
        let key = ServicePrivateKey::generate().unwrap();
        emulator
            .register_service(service_id, &key.public_key_pem())
            .unwrap();
        emulator.add_user("alice");
        let client = Client::builder(service_id, key)
            .base_url(emulator.base_url())
            .build()
            .unwrap();
        let reasons = |list: Value| json!({"username": "alice", "denial_reasons": list});
        let dr =
            |id: &str, fraud: bool| json!({"id": id, "reason": format!("r{id}"), "fraud": fraud});
        let cases = [
            (
                json!({"username": "alice", "title": "t".repeat(201)}),
                "title",
            ),
            (
                json!({"username": "alice", "title": "é".repeat(201)}),
                "title",
            ),
            (json!({"username": "alice", "title": 5}), "title"),
            (
                json!({"username": "alice", "context": "c".repeat(401)}),
                "context",
            ),
            (json!({"username": "alice", "ttl": 10}), "ttl"),
            (json!({"username": "alice", "ttl": "60"}), "ttl"),
            (json!({"username": " "}), "username"),
            (json!({"username": "alice", "colour": "red"}), "unexpected"),
            (reasons(json!([dr("123456", true), dr("2", false)])), "1-5"),
            (reasons(json!([dr("", true), dr("2", false)])), "1-5"),
            (reasons(json!([dr("1", true), dr("1", false)])), "unique"),
            (reasons(json!([dr("1", true)])), "two"),
            (reasons(json!([dr("1", true), dr("2", true)])), "fraud"),
            (reasons(json!([dr("1", false), dr("2", false)])), "fraud"),
            (
                reasons(json!([{"id": "1", "fraud": true}, dr("2", false)])),
                "needs",
            ),
            (reasons(json!({"id": "1"})), "array"),
        ];
        for (body, expected) in cases {
            let v = client
                .signed(Method::POST, "/service/v3/auths", Some(&body))
                .await
                .unwrap();
            assert_eq!(v.status, 400, "{body}");
            match client.api_error(&v) {
                Error::InvalidParameters { detail } => {
                    assert!(detail.contains(expected), "{body}: {detail}")
                }
                other => panic!("{body}: {other:?}"),
            }
            assert_eq!(emulator.pending_request("alice"), None, "{body}");
        }
        // The limits themselves are allowed (200 and 400 characters, 5-character ids).
        let ok = json!({"username": "alice", "title": "é".repeat(200), "context": "c".repeat(400),
                        "ttl": 30, "denial_reasons": [dr("12345", true), dr("2", false)]});
        let v = client
            .signed(Method::POST, "/service/v3/auths", Some(&ok))
            .await
            .unwrap();
        assert_eq!(v.status, 201);
    }

    #[test]
    fn reported_policy_follows_the_legacy_request_policy() {
        use crate::{AuthPolicy, Geofence};
        assert_eq!(
            reported_policy(None),
            json!({"requirement": "amount", "amount": 1, "types": [], "geofences": []})
        );
        let p = AuthPolicy::factor_count(2).to_wire();
        assert_eq!(
            reported_policy(Some(&p)),
            json!({"requirement": "amount", "amount": 2, "types": [], "geofences": []})
        );
        let p = AuthPolicy::new()
            .require_knowledge()
            .require_possession()
            .geofence(Geofence::new(36.1, -115.1, 200.0).named("hq"))
            .geofence(Geofence::new(1.0, 2.0, 3.0))
            .to_wire();
        assert_eq!(
            reported_policy(Some(&p)),
            json!({"requirement": "types", "amount": 0, "types": ["KNOWLEDGE", "POSSESSION"],
                   "geofences": [{"name": "hq", "latitude": 36.1, "longitude": -115.1, "radius": 200.0},
                                 {"latitude": 1.0, "longitude": 2.0, "radius": 3.0}]})
        );
        let p = AuthPolicy::new().deny_rooted_jailbroken().to_wire();
        assert_eq!(
            reported_policy(Some(&p)),
            json!({"requirement": null, "amount": 0, "types": [], "geofences": []})
        );
        // Flags written as booleans (a hand-made policy) count too.
        let p = json!({"minimum_requirements": [{"requirement": "authenticated", "any": 0,
                       "knowledge": true, "inherence": false, "possession": false}], "factors": []});
        assert_eq!(reported_policy(Some(&p))["types"], json!(["KNOWLEDGE"]));
    }
}
