//! The LaunchKey platform as a protocol model: an HTTP request in, the platform's response out.
//!
//! The state lock is held only to read and change the platform's state; every RSA operation
//! (verifying a request token, decrypting a request body, building a response package,
//! encrypting a response body, signing a response token) runs outside it, on `Arc`s of the keys
//! taken under the lock.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use auth_core::base_url::percent_decode;
use auth_core::emulator::{
    Control, ControlError, EmulatorClock, Faults, PendingStepUp, RequestLog, json_response,
};
use auth_core::http_types::header::{AUTHORIZATION, CONTENT_TYPE};
use auth_core::http_types::{HeaderValue, Method, Request};
use auth_core::sync::lock;
use auth_core::time::Timestamp;
use auth_core::{Clock, HttpRequest, HttpResponse};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::platform::{
    self, AuthReq, Caller, PackageJob, Reply, ReplyBody, ReqState, Service, State,
};
use super::{EmulatedUser, EmulatorBuilder, EndpointCounts, Fault, PhoneAnswer, ReceivedCall};
use crate::client::{API_ENTITY, X_IOV_JWT, X_IOV_KEY_ID, body_hash, check_body_hash};
use crate::hazmat::jwe::{self, ParsedJwe};
use crate::hazmat::jws::{self, UnverifiedJws};
use crate::hazmat::rsa_oaep::{self, OaepHash};
use crate::hazmat::{b64d, b64e};
use crate::keys::{RsaPublicKey, ServicePrivateKey};
use crate::{AuthRequestId, AuthResponseReason, AuthResponseType, Client, Error, ServiceId};

/// Leeway the emulator allows on request token times.
const REQUEST_LEEWAY: i64 = 30;

static FIRST_API_KEY: OnceLock<Arc<ServicePrivateKey>> = OnceLock::new();

/// The API key every emulator starts with (made once per process: RSA key generation is slow).
fn first_api_key() -> Result<Arc<ServicePrivateKey>, Error> {
    if let Some(k) = FIRST_API_KEY.get() {
        return Ok(k.clone());
    }
    let key = Arc::new(ServicePrivateKey::generate()?);
    Ok(FIRST_API_KEY.get_or_init(|| key).clone())
}

/// The LaunchKey platform as a protocol model ([`auth_core::emulator::Model`]): the Service API
/// v3 (`/public/v3/*`, `/service/v3/*`) with its JOSE transport, the user's phone (control
/// commands), and webhooks, on an injected clock. No socket code: [`super::Emulator`] serves
/// it on a loopback port, [`auth_core::emulator::InProcess`] calls it directly, and the
/// `oob-auth-emulator` binary mounts it.
///
/// Build it with [`Model::new`] or [`EmulatorBuilder::model`]; it is `Send + Sync + 'static`
/// and works as an `Arc<dyn auth_core::emulator::Model>`.
pub struct Model {
    state: Mutex<State>,
    /// The builder's clock, or the real clock plus an offset that [`Control::AdvanceClock`]
    /// moves.
    clock: EmulatorClock,
    log: RequestLog,
    faults: Faults,
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Model")
            .field("services", &st.services.len())
            .field("users", &st.users.len())
            .field("requests", &st.requests.len())
            .finish_non_exhaustive()
    }
}

/// A control error for an authorization request id that names nothing.
fn no_request(id: &str) -> ControlError {
    ControlError::NotFound {
        what: "authorization request",
        id: id.chars().take(64).collect(),
    }
}

/// Builds a response; a header that cannot be written becomes a 500 (never a panic).
fn response(status: u16, headers: &[(&str, String)], body: Vec<u8>) -> HttpResponse {
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, value.as_str());
    }
    builder.body(body).unwrap_or_else(|_| {
        let mut r = http::Response::new(Vec::new());
        *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

impl Model {
    /// A model with the defaults of [`EmulatorBuilder`] (no services, no users, the real clock
    /// plus an offset that [`Control::AdvanceClock`] moves).
    pub fn new() -> Result<Self, Error> {
        EmulatorBuilder::default().model()
    }

    pub(super) fn from_builder(b: EmulatorBuilder) -> Result<Self, Error> {
        let api_key = match b.api_key {
            Some(key) => key,
            None => first_api_key()?,
        };
        let clock = b.clock;
        let mut services: HashMap<ServiceId, Service> = HashMap::new();
        for (id, key) in b.services {
            services
                .entry(id)
                .or_default()
                .keys
                .insert(key.fingerprint().as_str().to_owned(), Arc::new(key));
        }
        let model = Model {
            state: Mutex::new(State {
                api_keys: vec![api_key],
                foreign_key: None,
                services,
                users: HashMap::new(),
                requests: HashMap::new(),
                request_order: VecDeque::new(),
                sessions: HashMap::new(),
                totp: HashMap::new(),
                settings: b.settings,
                faults: VecDeque::new(),
                received: VecDeque::new(),
                counts: EndpointCounts::default(),
            }),
            clock,
            log: RequestLog::with_capacity(b.log_capacity),
            faults: Faults::default(),
        };
        for user in b.users {
            model.add_user(&user);
        }
        Ok(model)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn now(&self) -> i64 {
        self.clock.unix_seconds()
    }

    /// The model's clock.
    pub fn clock(&self) -> &EmulatorClock {
        &self.clock
    }

    // ----- the control surface ------------------------------------------------------------

    /// Runs a control command (the canonical way to play the user and the back office):
    ///
    /// | command | effect | answer |
    /// | --- | --- | --- |
    /// | `add_user` | a user with one device (`details.totp`: their current TOTP code) | the user's ids |
    /// | `approve`, `deny` (`fraud`, `reason` = a denial reason id), `fail` (`reason` = `SENSOR`, `POLICY`, …), `expire` | the phone answers request `id` | `{"id", "state"}` |
    /// | `rotate_keys` | a new current API key (the old ones stay resolvable by kid) | `{"kid"}` |
    /// | `inject_fault` | the next matching requests get a bare error status (as a proxy would send) | `{"injected"}` |
    /// | `advance_clock` | the default clock moves forward (not an injected clock: move that one) | `{"now"}` |
    /// | `read_log` | the newest requests (method, path, status; no bodies) | a list |
    /// | `list_pending` | what [`Model::pending`] returns | a list |
    /// | `provider` | LaunchKey's own commands, see below | |
    ///
    /// `set_rules` is unsupported. Provider commands (`{"command": "provider", "body": …}`):
    /// `{"register_service": "<uuid>", "public_key": "<PEM>"}`;
    /// `{"totp": "<code>", "user": "<username>"}`;
    /// `{"webhook": "authorization", "id": "<auth request>", "path": "/webhook"}` and
    /// `{"webhook": "session_end", "service": "<uuid>", "user": "<username>", "path": …}`,
    /// which answer the webhook the platform would POST (`method`, `path`, `headers`, `body`);
    /// `{"response_fault": <Fault>}` (e.g. `"tamper_body"`, `{"status": 503}`), applied to the
    /// next signed response; `{"legacy_packages": true|false}`, only the legacy RSA `auth`
    /// package from now on (or both again); `{"has_session": "<username>", "service":
    /// "<uuid>"}` (`service` optional with one service), whether the service has an open session
    /// for the user (`{"session": bool}`); `{"counts": {}}`, the requests each endpoint answered.
    pub fn control(&self, command: Control) -> Result<Value, ControlError> {
        match command {
            Control::AddUser { user, details } => {
                if user.trim().is_empty() || user.chars().count() > 256 {
                    return Err(ControlError::Invalid(
                        "a user name is 1-256 characters".into(),
                    ));
                }
                let created = self.add_user(&user);
                if let Some(code) = details.get("totp").and_then(Value::as_str) {
                    self.set_totp(&user, code);
                }
                Ok(json!({
                    "user": created.username,
                    "service_user_hash": created.service_user_hash,
                    "org_user_hash": created.org_user_hash,
                    "user_push_id": created.user_push_id,
                    "device_id": created.device_id,
                }))
            }
            Control::Approve { id } => {
                self.answer_request(
                    &id,
                    PhoneAnswer::new(AuthResponseType::Authorized, AuthResponseReason::Approved),
                )?;
                Ok(json!({"id": id, "state": "approved"}))
            }
            Control::Deny { id, fraud, reason } => {
                let why = if fraud {
                    AuthResponseReason::Fraudulent
                } else {
                    AuthResponseReason::Disapproved
                };
                let mut answer = PhoneAnswer::new(AuthResponseType::Denied, why);
                answer.denial_reason = reason;
                self.answer_request(&id, answer)?;
                Ok(json!({"id": id, "state": "denied", "fraud": fraud}))
            }
            Control::Fail { id, reason } => {
                let reason = reason
                    .as_deref()
                    .map(|r| AuthResponseReason::from_wire(&r.to_ascii_uppercase()))
                    .unwrap_or(AuthResponseReason::Sensor);
                self.answer_request(&id, PhoneAnswer::new(AuthResponseType::Failed, reason))?;
                Ok(json!({"id": id, "state": "failed"}))
            }
            Control::Expire { id } => {
                let now = self.now();
                let mut st = self.lock();
                let r = st.requests.get_mut(&id).ok_or_else(|| no_request(&id))?;
                r.created = now - r.ttl;
                platform::prune_settled(&mut st, now);
                Ok(json!({"id": id, "state": "expired"}))
            }
            Control::RotateKeys => {
                let key = Arc::new(
                    ServicePrivateKey::generate()
                        .map_err(|e| ControlError::Conflict(e.to_string()))?,
                );
                let kid = key.kid().as_str().to_owned();
                self.lock().api_keys.push(key);
                Ok(json!({"kid": kid}))
            }
            Control::InjectFault { fault } => self.faults.inject_command(fault),
            Control::AdvanceClock { seconds } => {
                self.clock.advance(Duration::from_secs(seconds))?;
                Ok(auth_core::emulator::clock_answer(self.clock.now()))
            }
            Control::ReadLog { limit } => self.log.read(limit),
            Control::ListPending => auth_core::emulator::pending_answer(&self.pending()),
            Control::Provider { body } => self.provider_command(&body),
            other => Err(ControlError::Unsupported {
                provider: Client::PROVIDER,
                command: other.name(),
            }),
        }
    }

    fn provider_command(&self, body: &Value) -> Result<Value, ControlError> {
        let s = |k: &str| body.get(k).and_then(Value::as_str);
        let missing = |k: &str| ControlError::Invalid(format!("`{k}` is missing"));
        let service = |k: &str| -> Result<ServiceId, ControlError> {
            ServiceId::parse(s(k).ok_or_else(|| missing(k))?)
                .map_err(|e| ControlError::Invalid(e.to_string()))
        };
        if body.get("register_service").is_some() {
            let id = service("register_service")?;
            let pem = s("public_key").ok_or_else(|| missing("public_key"))?;
            self.register_service(id, pem)?;
            return Ok(json!({"service_id": id.as_str()}));
        }
        if let Some(code) = s("totp") {
            let user = s("user").ok_or_else(|| missing("user"))?;
            self.set_totp(user, code);
            return Ok(json!({"user": user}));
        }
        if let Some(kind) = s("webhook") {
            let path = s("path").unwrap_or("/webhook");
            let request = match kind {
                "authorization" => {
                    let id = s("id").ok_or_else(|| missing("id"))?;
                    let id = AuthRequestId::parse(id).map_err(|_| no_request(id))?;
                    self.authorization_webhook(&id, path)?
                }
                "session_end" => {
                    let user = s("user").ok_or_else(|| missing("user"))?;
                    let service = match s("service") {
                        Some(_) => service("service")?,
                        None => self.only_service()?,
                    };
                    self.session_end_webhook(service, user, path)?
                }
                other => {
                    return Err(ControlError::Invalid(format!(
                        "no webhook `{}`",
                        other.chars().take(32).collect::<String>()
                    )));
                }
            };
            return Ok(auth_core::emulator::request_json(&request));
        }
        if let Some(fault) = body.get("response_fault") {
            let fault: Fault = serde_json::from_value(fault.clone())
                .map_err(|e| ControlError::Invalid(e.to_string()))?;
            self.inject(fault)?;
            return Ok(json!({"injected": 1}));
        }
        if let Some(legacy) = body.get("legacy_packages") {
            let legacy = legacy.as_bool().ok_or_else(|| {
                ControlError::Invalid("`legacy_packages` is true or false".into())
            })?;
            self.set_legacy_packages(legacy);
            return Ok(json!({"legacy_packages": legacy}));
        }
        if let Some(user) = s("has_session") {
            let service = match s("service") {
                Some(_) => service("service")?,
                None => self.only_service()?,
            };
            return Ok(json!({"session": self.has_session(service, user)}));
        }
        if body.get("counts").is_some() {
            let c = self.counts();
            return Ok(json!({
                "ping": c.ping, "current_key": c.current_key,
                "key_by_kid": c.key_by_kid, "signed": c.signed,
            }));
        }
        Err(ControlError::Invalid(
            "launchkey's provider commands: register_service, totp, webhook, response_fault, \
             legacy_packages, has_session, counts"
                .into(),
        ))
    }

    /// The one registered service (for commands that may leave it out).
    fn only_service(&self) -> Result<ServiceId, ControlError> {
        let st = self.lock();
        let mut ids = st.services.keys();
        match (ids.next(), ids.next()) {
            (Some(id), None) => Ok(*id),
            _ => Err(ControlError::Invalid(
                "`service` is missing (there is not exactly one service)".into(),
            )),
        }
    }

    /// The phone answers request `id` (text from a control command).
    fn answer_request(&self, id: &str, answer: PhoneAnswer) -> Result<(), ControlError> {
        let now = self.now();
        let mut st = self.lock();
        let r = st.requests.get_mut(id).ok_or_else(|| no_request(id))?;
        match r.state {
            ReqState::Pending if !r.expired(now) => {
                r.state = ReqState::Responded(answer);
                platform::prune_settled(&mut st, now);
                Ok(())
            }
            ReqState::Pending => Err(ControlError::Conflict(
                "the authorization request has expired".into(),
            )),
            ReqState::Responded(_) => Err(ControlError::Conflict(
                "the authorization request was already answered".into(),
            )),
            ReqState::Canceled => Err(ControlError::Conflict(
                "the authorization request was cancelled".into(),
            )),
        }
    }

    /// The step-ups waiting for the user: each pending authorization request, with what the
    /// LaunchKey app shows (the request's `title`, else "Authorization request", and its
    /// `context`).
    pub fn pending(&self) -> Vec<PendingStepUp> {
        let now = self.now();
        let at = |unix: i64| Timestamp::from_unix(unix).to_system_time();
        let st = self.lock();
        let mut list: Vec<(&String, &AuthReq)> =
            st.requests.iter().filter(|(_, r)| r.pending(now)).collect();
        list.sort_by_key(|(_, r)| r.created);
        list.into_iter()
            .map(|(id, r)| {
                PendingStepUp::new(
                    Client::PROVIDER,
                    id.as_str(),
                    r.username.as_str(),
                    r.context.clone().unwrap_or_default(),
                    at(r.created),
                )
                .with_title(
                    r.title
                        .clone()
                        .unwrap_or_else(|| "Authorization request".to_owned()),
                )
                .with_expiry(at(r.created + r.ttl))
            })
            .collect()
    }

    // ----- Rust helpers over the same state (thin; tests and demos use them) ---------------

    /// Registers a service and one of its public keys (PEM SPKI); call again to add keys.
    pub fn register_service(
        &self,
        service_id: ServiceId,
        public_key_pem: &str,
    ) -> Result<(), ControlError> {
        let key = RsaPublicKey::from_pem(public_key_pem)
            .map_err(|e| ControlError::Invalid(e.to_string()))?;
        let kid = key.fingerprint().as_str().to_owned();
        self.lock()
            .services
            .entry(service_id)
            .or_default()
            .keys
            .insert(kid, Arc::new(key));
        Ok(())
    }

    /// Adds a user with one device (again: the same user, a new device); returns its ids.
    pub fn add_user(&self, username: &str) -> EmulatedUser {
        let d = crate::md5::md5(username.as_bytes());
        let user = EmulatedUser {
            username: username.to_owned(),
            service_user_hash: format!("suh{}", crate::client::hex(&d)),
            org_user_hash: format!("ouh{}", crate::client::hex(&d[..8])),
            user_push_id: format!("upi{}", crate::client::hex(&d[8..])),
            device_id: uuid::Uuid::new_v4().to_string(),
        };
        self.lock().users.insert(username.to_owned(), user.clone());
        user
    }

    /// Sets the TOTP code the user's authenticator currently shows.
    pub fn set_totp(&self, username: &str, code: &str) {
        self.lock()
            .totp
            .insert(username.to_owned(), code.to_owned());
    }

    /// The key id of the current API key.
    pub fn api_kid(&self) -> String {
        self.lock()
            .current_api_key()
            .map(|k| k.kid().as_str().to_owned())
            .unwrap_or_default()
    }

    /// Makes a new API key the current one (the old one stays resolvable by kid):
    /// [`Control::RotateKeys`].
    pub fn rotate_api_key(&self) -> Result<String, ControlError> {
        let answer = self.control(Control::RotateKeys)?;
        Ok(answer
            .get("kid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned())
    }

    /// Encrypts response bodies with this algorithm (default `RSA-OAEP`, as the platform).
    pub fn set_response_jwe_algorithm(&self, alg: crate::JweAlgorithm) {
        self.lock().settings.response_jwe = alg;
    }

    /// Signs responses with this algorithm (default `RS256`).
    pub fn set_response_jws_algorithm(&self, alg: crate::JwsAlgorithm) {
        self.lock().settings.response_jws = alg;
    }

    /// Sends only the legacy RSA `auth` package (no `auth_jwe`) in responses and webhooks.
    pub fn set_legacy_packages(&self, legacy: bool) {
        self.lock().settings.legacy_packages = legacy;
    }

    /// Answers a successful create with this status (default 201; the SDKs accept any 2xx).
    pub fn set_create_status(&self, status: u16) {
        self.lock().settings.create_status = status;
    }

    /// Answers `SVC-005` with this status (default 409; older API versions used 400).
    pub fn set_in_progress_status(&self, status: u16) {
        self.lock().settings.in_progress_status = status;
    }

    /// Applies `fault` to the next signed response (in order, one per call).
    pub fn inject(&self, fault: Fault) -> Result<(), ControlError> {
        if matches!(fault, Fault::ForeignSignature) && self.lock().foreign_key.is_none() {
            let key = Arc::new(
                ServicePrivateKey::generate().map_err(|e| ControlError::Conflict(e.to_string()))?,
            );
            self.lock().foreign_key.get_or_insert(key);
        }
        self.lock().faults.push_back(fault);
        Ok(())
    }

    /// The accepted signed calls, oldest first, with decrypted bodies (a bounded ring; see
    /// [`EmulatorBuilder::log_capacity`]).
    pub fn received(&self) -> Vec<ReceivedCall> {
        self.lock().received.iter().cloned().collect()
    }

    /// How many requests each kind of endpoint has answered so far.
    pub fn counts(&self) -> EndpointCounts {
        self.lock().counts
    }

    /// How many authorization requests the emulator holds (pending and settled).
    pub fn stored_requests(&self) -> usize {
        self.lock().requests.len()
    }

    /// The pending (unanswered, unexpired, not cancelled) request for `username`.
    pub fn pending_request(&self, username: &str) -> Option<AuthRequestId> {
        let now = self.now();
        let st = self.lock();
        st.pending_for(username, now)
            .and_then(|(id, _)| AuthRequestId::parse(id).ok())
    }

    /// Whether the service has an open session for the user.
    pub fn has_session(&self, service_id: ServiceId, username: &str) -> bool {
        self.lock()
            .sessions
            .contains_key(&(service_id, username.to_owned()))
    }

    /// The phone answers `id` with `answer`.
    ///
    /// The device package reports `answer.auth_policy`, or, when that is `None`, the policy
    /// the request asked for (its legacy `minimum_requirements` and geofences; "any one
    /// factor" when it sent none).
    pub fn respond(&self, id: &AuthRequestId, answer: PhoneAnswer) -> Result<(), ControlError> {
        self.answer_request(id.as_str(), answer)
    }

    /// The user approves: [`Control::Approve`].
    pub fn approve(&self, id: &AuthRequestId) -> Result<(), ControlError> {
        self.control(Control::Approve { id: id.to_string() })
            .map(drop)
    }

    /// The user denies (not fraud), optionally with a denial reason id: [`Control::Deny`].
    pub fn deny(
        &self,
        id: &AuthRequestId,
        denial_reason: Option<&str>,
    ) -> Result<(), ControlError> {
        self.deny_as(id, false, denial_reason)
    }

    /// The user denies and flags fraud, optionally with a denial reason id.
    pub fn deny_fraud(
        &self,
        id: &AuthRequestId,
        denial_reason: Option<&str>,
    ) -> Result<(), ControlError> {
        self.deny_as(id, true, denial_reason)
    }

    fn deny_as(
        &self,
        id: &AuthRequestId,
        fraud: bool,
        denial_reason: Option<&str>,
    ) -> Result<(), ControlError> {
        self.control(Control::Deny {
            id: id.to_string(),
            fraud,
            reason: denial_reason.map(str::to_owned),
        })
        .map(drop)
    }

    /// The authorization fails on the device for `reason` (`SENSOR`, `POLICY`, …).
    pub fn fail(&self, id: &AuthRequestId, reason: AuthResponseReason) -> Result<(), ControlError> {
        self.control(Control::Fail {
            id: id.to_string(),
            reason: Some(reason.as_str().to_owned()),
        })
        .map(drop)
    }

    /// Makes the request expire now (as if its TTL had passed): [`Control::Expire`].
    pub fn expire(&self, id: &AuthRequestId) -> Result<(), ControlError> {
        self.control(Control::Expire { id: id.to_string() })
            .map(drop)
    }

    // ----- webhooks -----------------------------------------------------------------------

    /// The webhook the platform POSTs to `path` once `id` has been answered (its token headers
    /// are marked sensitive: `Debug` does not show them).
    pub fn authorization_webhook(
        &self,
        id: &AuthRequestId,
        path: &str,
    ) -> Result<http::Request<Vec<u8>>, ControlError> {
        let (job, service, jws_alg, api) = {
            let st = self.lock();
            let r = st
                .requests
                .get(id.as_str())
                .ok_or_else(|| no_request(id.as_str()))?;
            let ReqState::Responded(answer) = &r.state else {
                return Err(ControlError::Conflict("not answered yet".into()));
            };
            let job = platform::package_job(&st, id.as_str(), r, answer).ok_or_else(|| {
                ControlError::Conflict("the user or the service key is gone".into())
            })?;
            let api = st.current_api_key().ok_or_else(no_api_key)?;
            (job, r.service, st.settings.response_jws, api)
        };
        let (kid, key, jwe_alg) = (job.service_kid.clone(), job.service_key.clone(), job.jwe);
        let mut core = build_package(job).map_err(crypto_failed)?;
        if let Some(obj) = core.as_object_mut() {
            obj.insert("type".into(), json!("AUTHORIZATION_RESPONSE"));
        }
        let sealed = Sealing {
            api: &api,
            jws: jws_alg,
            jwe: jwe_alg,
            key: &key,
            kid: &kid,
        };
        self.sealed_webhook(&sealed, service, path, &core)
    }

    /// The same webhook with another body, signed afresh (method, path and body hash match), so
    /// that only the body's own checks can reject it.
    pub fn resign_webhook(
        &self,
        original: &http::Request<Vec<u8>>,
        body: Vec<u8>,
    ) -> Result<http::Request<Vec<u8>>, ControlError> {
        let invalid =
            |what: &str| ControlError::Invalid(format!("not a webhook of this emulator: {what}"));
        let token =
            crate::webhook::webhook_token(original.headers()).ok_or_else(|| invalid("no token"))?;
        let parsed = UnverifiedJws::parse(token).map_err(|_| invalid("token"))?;
        let (signer, jws_alg) = {
            let st = self.lock();
            let key = parsed
                .header()
                .kid
                .as_deref()
                .and_then(|kid| st.api_key(kid))
                .ok_or_else(|| invalid("kid"))?;
            (key, st.settings.response_jws)
        };
        let claims: Value = serde_json::from_slice(
            parsed
                .verify(signer.public_key_der())
                .map_err(|_| invalid("signature"))?,
        )
        .map_err(|_| invalid("claims"))?;
        let aud = claims
            .get("aud")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let service =
            ServiceId::parse(aud.trim_start_matches("svc:")).map_err(|_| invalid("audience"))?;
        let content_type = original
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/jose")
            .to_owned();
        let api = self.lock().current_api_key().ok_or_else(no_api_key)?;
        webhook(
            &api,
            jws_alg,
            self.now(),
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
    ) -> Result<http::Request<Vec<u8>>, ControlError> {
        let key = RsaPublicKey::from_pem(service_public_key_pem)
            .map_err(|e| ControlError::Invalid(e.to_string()))?;
        let kid = key.fingerprint().as_str().to_owned();
        let (api, jwe_alg, jws_alg) = {
            let st = self.lock();
            let api = st.current_api_key().ok_or_else(no_api_key)?;
            (api, st.settings.response_jwe, st.settings.response_jws)
        };
        let sealed = Sealing {
            api: &api,
            jws: jws_alg,
            jwe: jwe_alg,
            key: &key,
            kid: &kid,
        };
        self.sealed_webhook(&sealed, service_id, path, plaintext)
    }

    /// A webhook whose body is `plaintext` encrypted to the service's key, signed by the API.
    fn sealed_webhook(
        &self,
        sealing: &Sealing<'_>,
        service: ServiceId,
        path: &str,
        plaintext: &Value,
    ) -> Result<http::Request<Vec<u8>>, ControlError> {
        let body = jwe::encrypt(
            sealing.jwe,
            sealing.key.encrypting(),
            Some(sealing.kid),
            Some("application/json"),
            plaintext.to_string().as_bytes(),
        )
        .map_err(|e| crypto_failed(e.into()))?
        .into_bytes();
        webhook(
            sealing.api,
            sealing.jws,
            self.now(),
            service,
            path,
            body,
            "application/jose",
        )
    }

    /// The webhook the platform POSTs to `path` when `username` ends their session with the
    /// service on the device (plain JSON, signed).
    pub fn session_end_webhook(
        &self,
        service_id: ServiceId,
        username: &str,
        path: &str,
    ) -> Result<http::Request<Vec<u8>>, ControlError> {
        let now = self.now();
        let (hash, api, jws_alg) = {
            let st = self.lock();
            let user = st
                .users
                .get(username)
                .ok_or_else(|| ControlError::NotFound {
                    what: "user",
                    id: username.chars().take(64).collect(),
                })?;
            let api = st.current_api_key().ok_or_else(no_api_key)?;
            (
                user.service_user_hash.clone(),
                api,
                st.settings.response_jws,
            )
        };
        let body = json!({
            "service_user_hash": hash,
            "api_time": Timestamp::from_unix(now).to_utc_string(),
        })
        .to_string()
        .into_bytes();
        webhook(
            &api,
            jws_alg,
            now,
            service_id,
            path,
            body,
            "application/json",
        )
    }

    // ----- the wire -----------------------------------------------------------------------

    /// Answers one request of the LaunchKey API.
    fn answer(&self, request: &HttpRequest) -> HttpResponse {
        // Serve under any path prefix (a base URL such as `http://127.0.0.1:1234/lk`); request
        // tokens are still checked against the full path as sent.
        let full = request.uri().path();
        let path = full
            .find("/public/v3/")
            .or_else(|| full.find("/service/v3/"))
            .map_or(full, |i| &full[i..]);
        let now = self.now();
        if request.method() == Method::GET {
            if path == "/public/v3/ping" {
                self.lock().counts.ping += 1;
                return json_response(
                    200,
                    &json!({"api_time": Timestamp::from_unix(now).to_utc_string()}),
                );
            }
            if let Some(rest) = path.strip_prefix("/public/v3/public-key") {
                let key = {
                    let mut st = self.lock();
                    if rest.is_empty() {
                        st.counts.current_key += 1;
                        st.current_api_key()
                    } else {
                        st.counts.key_by_kid += 1;
                        rest.strip_prefix('/')
                            .and_then(|kid| percent_decode(kid, false))
                            .and_then(|kid| st.api_key(&kid))
                    }
                };
                return match key {
                    Some(k) => response(
                        200,
                        &[
                            (X_IOV_KEY_ID, k.kid().as_str().to_owned()),
                            ("content-type", "text/plain".to_owned()),
                        ],
                        k.public_key_pem().into_bytes(),
                    ),
                    None => response(404, &[], Vec::new()),
                };
            }
        }
        self.lock().counts.signed += 1;
        let caller = match self.verify(request, now) {
            Ok(c) => c,
            Err(jti) => return self.unauthorized(jti, now),
        };
        let reply = platform::route(
            &mut self.lock(),
            request.method().as_str(),
            path,
            &caller,
            now,
        );
        self.sign_reply(&caller, reply, now)
    }

    /// Verifies the request JWT and decrypts the body; `Err(jti)` means 401.
    fn verify(&self, req: &HttpRequest, now: i64) -> Result<Caller, Option<String>> {
        let auth = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(None)?;
        let token = auth.strip_prefix("IOV-JWT ").ok_or(None)?;
        let jws = UnverifiedJws::parse(token).map_err(|_| None)?;
        let kid = jws.header().kid.clone().ok_or(None)?;
        let (service, key) = self.lock().service_by_kid(&kid).ok_or(None)?;
        // RSA verification outside the state lock.
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
        if request.get("meth").and_then(Value::as_str) != Some(req.method().as_str())
            || request.get("path").and_then(Value::as_str) != Some(req.uri().path())
        {
            return Err(fail());
        }
        if check_body_hash(request, req.body()).is_err() {
            return Err(fail());
        }
        let (jwe_header, body) = if req.body().is_empty() {
            (None, None)
        } else {
            let text = std::str::from_utf8(req.body()).map_err(|_| fail())?;
            let parsed = ParsedJwe::parse(text).map_err(|_| fail())?;
            let api = parsed
                .kid()
                .and_then(|kid| self.lock().api_key(kid))
                .ok_or_else(fail)?;
            // RSA decryption outside the state lock.
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
        self.lock().remember_call(ReceivedCall {
            method: req.method().to_string(),
            path: req.uri().path().to_owned(),
            content_type: req
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            jws_alg: jws.header().alg.clone(),
            claims: Value::Object(claims.clone()),
            jwe_header,
            body: body.clone(),
        });
        Ok(Caller {
            service,
            kid,
            jti: jti_s,
            body,
        })
    }

    /// A 401: empty body, a token for the audience `public` (what the platform sends is
    /// unknown; no SDK reads it).
    fn unauthorized(&self, jti: Option<String>, now: i64) -> HttpResponse {
        let (api, alg) = {
            let st = self.lock();
            (st.current_api_key(), st.settings.response_jws)
        };
        let mut headers = Vec::new();
        if let Some(api) = api {
            let claims = json!({
                "iss": API_ENTITY, "aud": "public", "sub": "public",
                "iat": now, "nbf": now, "exp": now + 5,
                "jti": jti, "response": {"status": 401},
            });
            if let Ok(token) = jws::sign(
                alg,
                api.signer(),
                Some(api.kid().as_str()),
                claims.to_string().as_bytes(),
            ) {
                headers.push((X_IOV_JWT, token));
            }
        }
        response(401, &headers, Vec::new())
    }

    /// Encrypts and signs a reply (applying the next injected response fault), outside the
    /// state lock.
    fn sign_reply(&self, caller: &Caller, reply: Reply, now: i64) -> HttpResponse {
        let (fault, skey, settings, api, foreign) = {
            let mut st = self.lock();
            let fault = st.faults.pop_front();
            (
                fault,
                st.service_key(caller.service, &caller.kid),
                st.settings.clone(),
                st.current_api_key(),
                st.foreign_key.clone(),
            )
        };
        let (Some(skey), Some(api)) = (skey, api) else {
            return response(500, &[], Vec::new());
        };
        let plain = match reply.body {
            ReplyBody::Empty => None,
            ReplyBody::Json(v) => Some(v),
            ReplyBody::Package(job) => match build_package(*job) {
                Ok(v) => Some(v),
                Err(_) => return response(500, &[], Vec::new()),
            },
        };
        let mut body: Vec<u8> = match &plain {
            None => Vec::new(),
            Some(v) if fault == Some(Fault::PlainBody) => v.to_string().into_bytes(),
            Some(v) => match jwe::encrypt(
                settings.response_jwe,
                skey.encrypting(),
                Some(&caller.kid),
                Some("application/json"),
                v.to_string().as_bytes(),
            ) {
                Ok(t) => t.into_bytes(),
                Err(_) => return response(500, &[], Vec::new()),
            },
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
            body = if body.is_empty() {
                b"{}".to_vec()
            } else {
                garble(&body, 3)
            };
        }
        let signer = match fault {
            Some(Fault::ForeignSignature) => foreign.unwrap_or(api.clone()),
            _ => api.clone(),
        };
        let kid = if fault == Some(Fault::UnknownKid) {
            "00:unknown:kid".to_owned()
        } else {
            api.kid().as_str().to_owned()
        };
        let payload = claims.to_string().into_bytes();
        let token = if fault == Some(Fault::AlgNone) {
            format!(
                "{}.{}.",
                b64e(format!(r#"{{"alg":"none","kid":"{kid}"}}"#).as_bytes()),
                b64e(&payload)
            )
        } else {
            match jws::sign(settings.response_jws, signer.signer(), Some(&kid), &payload) {
                Ok(t) => t,
                Err(_) => return response(500, &[], Vec::new()),
            }
        };
        let mut headers: Vec<(&str, String)> = Vec::new();
        match fault {
            Some(Fault::SignedCacheControl | Fault::UnsignedCacheControl) => {
                headers.push(("cache-control", "no-store,private".to_owned()));
            }
            Some(Fault::SignedLocation | Fault::WrongLocation) => {
                headers.push(("location", "/service/v3/auths/x".to_owned()));
            }
            Some(Fault::RateLimited(Some(secs))) => {
                headers.push(("retry-after", secs.to_string()));
            }
            _ => {}
        }
        if fault != Some(Fault::MissingJwt) {
            headers.push((X_IOV_JWT, token));
        }
        if !body.is_empty() {
            let ct = if fault == Some(Fault::PlainBody) {
                "application/json"
            } else {
                "application/jose"
            };
            headers.push(("content-type", ct.to_owned()));
        }
        response(reply.status, &headers, body)
    }
}

#[auth_core::async_trait]
impl auth_core::emulator::Model for Model {
    fn provider(&self) -> &'static str {
        Client::PROVIDER
    }

    async fn handle(&self, request: HttpRequest) -> HttpResponse {
        self.log
            .answer(self.clock.now(), request, |r| async move {
                match self.faults.take(r.uri().path()) {
                    Some(injected) => injected,
                    None => self.answer(&r),
                }
            })
            .await
    }

    fn control(&self, command: Control) -> Result<Value, ControlError> {
        Model::control(self, command)
    }

    fn pending(&self) -> Vec<PendingStepUp> {
        Model::pending(self)
    }
}

fn no_api_key() -> ControlError {
    ControlError::Conflict("the emulator has no API key".into())
}

fn crypto_failed(e: Error) -> ControlError {
    ControlError::Conflict(format!("could not build the webhook: {e}"))
}

/// Builds an authorization response package ("core", spec §5.6): the legacy RSA `auth`
/// package and, unless legacy only, the `auth_jwe` device package. RSA work: run it outside
/// the state lock.
fn build_package(job: PackageJob) -> Result<Value, Error> {
    let PackageJob {
        id,
        user,
        service_kid,
        service_key,
        answer,
        auth_policy,
        legacy,
        jwe: jwe_alg,
    } = job;
    let mut core = Map::new();
    core.insert("service_user_hash".into(), json!(user.service_user_hash));
    core.insert("org_user_hash".into(), json!(user.org_user_hash));
    core.insert("user_push_id".into(), json!(user.user_push_id));
    core.insert("public_key_id".into(), json!(service_kid));
    let legacy_package = json!({
        "auth_request": id,
        "response": answer.response_type == AuthResponseType::Authorized,
        "device_id": user.device_id,
        "service_pins": answer.service_pins,
    });
    let ct = rsa_oaep::encrypt(
        service_key.encrypting(),
        OaepHash::Sha1,
        legacy_package.to_string().as_bytes(),
    )?;
    core.insert(
        "auth".into(),
        json!(base64::engine::general_purpose::STANDARD.encode(ct)),
    );
    if legacy {
        core.insert("auth_jwe".into(), Value::Null);
    } else {
        let device = json!({
            "type": answer.response_type.as_str(),
            "reason": answer.reason.as_str(),
            "denial_reason": answer.denial_reason,
            "auth_request": id,
            "device_id": user.device_id,
            "service_pins": answer.service_pins,
            "auth_policy": auth_policy,
            "auth_methods": answer.auth_methods,
        });
        let token = jwe::encrypt(
            jwe_alg,
            service_key.encrypting(),
            Some(&service_kid),
            Some("application/json"),
            device.to_string().as_bytes(),
        )?;
        core.insert("auth_jwe".into(), json!(token));
    }
    Ok(Value::Object(core))
}

/// What seals a webhook: the API key that signs it, the algorithms, and the service key (and
/// its kid) it is encrypted to.
struct Sealing<'a> {
    api: &'a ServicePrivateKey,
    jws: crate::JwsAlgorithm,
    jwe: crate::JweAlgorithm,
    key: &'a RsaPublicKey,
    kid: &'a str,
}

/// A webhook signed by `api` (both token headers, marked sensitive: `Debug` of the request
/// shows `Sensitive` in their place).
fn webhook(
    api: &ServicePrivateKey,
    alg: crate::JwsAlgorithm,
    now: i64,
    service: ServiceId,
    path: &str,
    body: Vec<u8>,
    content_type: &str,
) -> Result<http::Request<Vec<u8>>, ControlError> {
    let entity = service.entity();
    let claims = json!({
        "iss": API_ENTITY, "aud": entity, "sub": entity,
        "iat": now, "nbf": now, "exp": now + 5,
        "jti": uuid::Uuid::new_v4().to_string(),
        "request": {"meth": "POST", "path": path, "func": "S256", "hash": body_hash("S256", &body)},
    });
    let token = jws::sign(
        alg,
        api.signer(),
        Some(api.kid().as_str()),
        claims.to_string().as_bytes(),
    )
    .map_err(|e| crypto_failed(e.into()))?;
    let sensitive = |text: String| {
        let mut value =
            HeaderValue::try_from(text).map_err(|e| ControlError::Invalid(e.to_string()))?;
        value.set_sensitive(true);
        Ok::<_, ControlError>(value)
    };
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(X_IOV_JWT, sensitive(token.clone())?)
        .header(AUTHORIZATION, sensitive(format!("IOV-JWT {token}"))?)
        .header(CONTENT_TYPE, content_type)
        .body(body)
        .map_err(|e| ControlError::Invalid(format!("webhook path: {e}")))
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
