//! The emulated OP's state, its Rust helpers and its control vocabulary.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use auth_core::emulator::{
    Control, ControlError, EmulatorClock, Faults, LogEntry, PendingStepUp, RequestLog,
};
use auth_core::sync::lock;
use auth_core::{Clock, HttpRequest, HttpResponse, SharedClock};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::op::TokenPlan;
use super::{
    ClientAuthMethod, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EmulatedClient, EmulatedRequest,
    EmulatorBuilder, EmulatorError, Fault, KEY_GENERATIONS, MAX_NOTIFICATIONS, MAX_SEEN_ASSERTIONS,
    RequestState,
};
use crate::keys::{Algorithm, SigningKey, install_jwt_crypto};
use crate::types::{AuthReqId, DeliveryMode, UserCode};

/// The most protocol faults waiting at once (they are added by control commands only).
const MAX_FAULTS: usize = 1_000;

/// A user of the emulated OP.
#[derive(Debug, Clone)]
pub(super) struct User {
    pub(super) name: String,
    pub(super) email: String,
    pub(super) user_code: Option<UserCode>,
}

/// One backchannel request.
pub(super) struct Req {
    pub(super) view: EmulatedRequest,
    pub(super) created: SystemTime,
    /// Creation order (requests made in the same instant are listed as they came).
    pub(super) seq: u64,
    /// The issuer the request was made at (its tokens name it).
    pub(super) issuer: String,
    pub(super) notification_token: Option<String>,
    pub(super) last_poll: Option<SystemTime>,
    pub(super) auth_time: Option<SystemTime>,
    pub(super) error_description: Option<String>,
    /// Counted among the settled requests (answered or expired).
    pub(super) settled: bool,
}

/// Client-assertion ids seen, against replay: at most [`MAX_SEEN_ASSERTIONS`], expired ones
/// dropped first.
#[derive(Default)]
pub(super) struct SeenAssertions {
    expiry: HashMap<String, i64>,
    order: VecDeque<String>,
}

impl SeenAssertions {
    /// Remembers `jti` (valid until `exp`, unix seconds); `false` if it was seen already.
    pub(super) fn insert(&mut self, jti: &str, exp: i64, now: i64) -> bool {
        if self.expiry.contains_key(jti) {
            return false;
        }
        while let Some(oldest) = self.order.front() {
            let expired = self
                .expiry
                .get(oldest)
                .is_none_or(|e| e.saturating_add(super::op::LEEWAY_SECONDS) < now);
            if !expired && self.order.len() < MAX_SEEN_ASSERTIONS {
                break;
            }
            if let Some(old) = self.order.pop_front() {
                self.expiry.remove(&old);
            }
        }
        self.expiry.insert(jti.to_owned(), exp);
        self.order.push_back(jti.to_owned());
        true
    }
}

pub(super) struct State {
    /// The issuer named in discovery and tokens (`None`: each request's own URL).
    pub(super) issuer: Option<String>,
    /// The current signing keys first, then older generations.
    pub(super) keys: Vec<SigningKey>,
    pub(super) clients: HashMap<String, EmulatedClient>,
    pub(super) users: HashMap<String, User>,
    pub(super) login_hint_tokens: HashMap<String, String>,
    pub(super) requests: HashMap<String, Req>,
    /// The number of requests made so far.
    pub(super) made: u64,
    /// Settled requests, oldest first.
    pub(super) settled: VecDeque<String>,
    pub(super) settled_capacity: usize,
    pub(super) faults: VecDeque<Fault>,
    pub(super) interval: Option<u64>,
    pub(super) expiry: u64,
    /// The interval and expiry the model was built with (what `{"reset": true}` restores).
    pub(super) built_with: (Option<u64>, u64),
    pub(super) jwks_fetches: usize,
    pub(super) seen_assertions: SeenAssertions,
    pub(super) outbox: VecDeque<HttpRequest>,
    /// No open request ends before this (`None`: none is open). Lowered as requests are made,
    /// worked out again by each sweep of [`State::settle_expired`].
    pub(super) next_expiry: Option<SystemTime>,
    pub(super) metadata: Map<String, Value>,
}

impl State {
    /// Requests waiting for the user: every request kept is open until it settles, and only
    /// settled ones are ever forgotten.
    pub(super) fn open(&self) -> usize {
        self.requests.len().saturating_sub(self.settled.len())
    }

    /// Counts `id` as settled, dropping the oldest settled requests beyond the capacity.
    pub(super) fn settle(&mut self, id: &str) {
        let Some(r) = self.requests.get_mut(id) else {
            return;
        };
        if r.settled {
            return;
        }
        r.settled = true;
        self.settled.push_back(id.to_owned());
        while self.settled.len() > self.settled_capacity {
            if let Some(old) = self.settled.pop_front() {
                self.requests.remove(&old);
            }
        }
    }

    /// Settles the requests whose time ran out, oldest first, and queues the `expired_token`
    /// payload for each (an open request is one still waiting for its user). CIBA §12 lets an
    /// OP send it to a push client (it need not); this one does, so that a push client's tests
    /// see it. Poll and ping clients learn of an expiry from the token endpoint. Called on
    /// every look at the notifications, so it scans the requests only once one may have
    /// ended ([`State::next_expiry`]).
    pub(super) fn settle_expired(&mut self, now: SystemTime) {
        if self.next_expiry.is_none_or(|next| now < next) {
            return;
        }
        let mut expired: Vec<(SystemTime, u64, String)> = Vec::new();
        let mut next_expiry: Option<SystemTime> = None;
        for (id, r) in self.requests.iter().filter(|(_, r)| !r.settled) {
            if now >= r.view.expires_at {
                expired.push((r.view.expires_at, r.seq, id.clone()));
            } else {
                next_expiry =
                    Some(next_expiry.map_or(r.view.expires_at, |t| t.min(r.view.expires_at)));
            }
        }
        self.next_expiry = next_expiry;
        expired.sort();
        for (_, _, id) in expired {
            self.settle(&id);
            // An expiry's payload is plain JSON: nothing to sign, so it is built here.
            if let Some(request) =
                notification(self, &id, now, Tell::Expiry).and_then(Planned::into_request)
            {
                self.push_notification(request);
            }
        }
    }

    /// Queues a notification for delivery, dropping the oldest beyond [`MAX_NOTIFICATIONS`].
    fn push_notification(&mut self, request: HttpRequest) {
        if self.outbox.len() >= MAX_NOTIFICATIONS {
            self.outbox.pop_front();
        }
        self.outbox.push_back(request);
    }

    /// Takes the first fault `wanted` matches.
    pub(super) fn take_fault(&mut self, wanted: impl Fn(&Fault) -> bool) -> Option<Fault> {
        let i = self.faults.iter().position(wanted)?;
        self.faults.remove(i)
    }

    fn add_user(&mut self, login_hint: &str, user_code: Option<UserCode>) {
        let name = login_hint.split('@').next().unwrap_or(login_hint);
        let mut chars = name.chars();
        let display = match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        };
        self.users.insert(
            login_hint.to_owned(),
            User {
                name: display,
                email: format!("{name}@example.com"),
                user_code,
            },
        );
    }
}

/// The emulated CIBA OP: the wire protocol in, responses out, the [`Control`] vocabulary, no
/// sockets (see the [module documentation](super)).
///
/// Its control commands:
///
/// | command | here |
/// | --- | --- |
/// | `add_user` | a user found by `login_hint` = `user`; `details: {"user_code": "…"}` makes them need that user code |
/// | `approve`, `deny`, `expire`, `fail` | play the user on request `id` (an `auth_req_id`); ping and push clients get their notification queued |
/// | `rotate_keys` | new signing keys first, the previous generations still published (at most [`KEY_GENERATIONS`]) |
/// | `inject_fault` | the next matching requests get that status (and `Retry-After`) |
/// | `advance_clock` | moves the model's [`OffsetClock`](auth_core::emulator::OffsetClock) forward (refused on a clock of your own) |
/// | `read_log` | the recent requests: time, method, path, status (never parameters) |
/// | `list_pending` | the requests waiting for the user |
/// | `set_rules` | unsupported |
/// | `provider` | `{"fault": "<name>"}` ([`Fault::from_name`]); `{"interval": n \| null}`; `{"expiry": n}`; `{"metadata": {"<member>": value \| null}}`; `{"login_hint_token": "…", "user": "…"}`; `{"register_client": {…}}` with OpenID registration metadata (`client_id`, `token_endpoint_auth_method`, `client_secret` or `jwks`, `backchannel_token_delivery_mode`, `backchannel_client_notification_endpoint`, `id_token_signed_response_alg`, `backchannel_authentication_request_signing_alg`); `{"take_notifications": true}`: the waiting ping and push notifications as requests (method, path, headers, body), taken; `{"fault": "unavailable", "retry_after": n}`, `{"fault": "delay", "ms": n}`, `{"fault": "oauth_error", "status": n, "error": "…"}`; `{"request": "<auth_req_id>"}` and `{"requests": true}`: what the OP saw ([`EmulatedRequest`]: hints, binding message, polls, interval, state…); `{"jwks_fetches": true}`; `{"reset": true}` ([`Model::reset`]); a registration with `grant_types` lacking `refresh_token` gets no refresh tokens |
pub struct Model {
    pub(super) state: Mutex<State>,
    /// The builder's clock, or an [`OffsetClock`](auth_core::emulator::OffsetClock) that [`Control::AdvanceClock`](auth_core::emulator::Control::AdvanceClock) moves.
    pub(super) clock: EmulatorClock,
    pub(super) log: RequestLog,
    pub(super) faults: Faults,
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Model")
            .field("issuer", &st.issuer)
            .field("clients", &st.clients.len())
            .field("users", &st.users.len())
            .field("requests", &st.requests.len())
            .finish_non_exhaustive()
    }
}

pub(super) fn random_token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    // The system RNG does not fail in practice; were it to, this test tool would hand out
    // predictable ids, which its tests would notice.
    let _ = aws_lc_rs::rand::fill(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn op_keys() -> Result<Vec<SigningKey>, EmulatorError> {
    let n = random_token(6);
    let key = |alg: Algorithm, prefix: &str| {
        SigningKey::generate(alg)
            .map(|k| k.with_kid(format!("{prefix}-{n}")))
            .map_err(|e| EmulatorError::Keys(e.to_string()))
    };
    Ok(vec![
        key(Algorithm::RS256, "rs256")?,
        key(Algorithm::PS256, "ps256")?,
        key(Algorithm::ES256, "es256")?,
    ])
}

/// The body of `{"command": "provider", "body": {"register_client": …}}`: OpenID Connect
/// Dynamic Client Registration metadata, as far as CIBA needs it.
#[derive(Deserialize)]
struct Registration {
    client_id: String,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    jwks: Option<Value>,
    #[serde(default)]
    backchannel_token_delivery_mode: Option<String>,
    #[serde(default)]
    backchannel_client_notification_endpoint: Option<String>,
    #[serde(default)]
    id_token_signed_response_alg: Option<String>,
    #[serde(default)]
    backchannel_authentication_request_signing_alg: Option<String>,
    #[serde(default)]
    grant_types: Option<Vec<String>>,
}

impl Registration {
    fn into_client(self) -> Result<EmulatedClient, ControlError> {
        let invalid = |m: &str| ControlError::Invalid(format!("register_client: {m}"));
        let secret = || {
            self.client_secret
                .clone()
                .ok_or_else(|| invalid("no client_secret"))
        };
        let method = self
            .token_endpoint_auth_method
            .as_deref()
            .unwrap_or("client_secret_basic");
        let mut client = match method {
            "client_secret_basic" => EmulatedClient::secret_basic(&self.client_id, &secret()?),
            "client_secret_post" => EmulatedClient::secret_post(&self.client_id, &secret()?),
            "private_key_jwt" => {
                let jwk = self
                    .jwks
                    .as_ref()
                    .and_then(|j| j.get("keys"))
                    .and_then(|k| k.get(0))
                    .cloned()
                    .ok_or_else(|| invalid("private_key_jwt needs jwks with a key"))?;
                EmulatedClient::private_key_jwt_with_jwk(&self.client_id, jwk)
            }
            _ => return Err(invalid("unsupported token_endpoint_auth_method")),
        };
        let mode = match self.backchannel_token_delivery_mode.as_deref() {
            None | Some("poll") => DeliveryMode::Poll,
            Some("ping") => DeliveryMode::Ping,
            Some("push") => DeliveryMode::Push,
            Some(_) => return Err(invalid("unknown backchannel_token_delivery_mode")),
        };
        if mode != DeliveryMode::Poll {
            let endpoint = self
                .backchannel_client_notification_endpoint
                .ok_or_else(|| invalid("ping and push need a notification endpoint"))?;
            client = client.notify(mode, endpoint);
        }
        if let Some(alg) = &self.id_token_signed_response_alg {
            let alg = Algorithm::from_name(alg)
                .filter(|a| matches!(a, Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256))
                .ok_or_else(|| invalid("id_token_signed_response_alg: RS256, PS256 or ES256"))?;
            client = client.id_token_alg(alg);
        }
        if self
            .backchannel_authentication_request_signing_alg
            .is_some()
        {
            client = client.require_signed_requests();
        }
        if self
            .grant_types
            .as_ref()
            .is_some_and(|g| !g.iter().any(|t| t == "refresh_token"))
        {
            client = client.without_refresh_tokens();
        }
        Ok(client)
    }
}

impl Model {
    /// A model with the default client ([`DEFAULT_CLIENT_ID`]) and no users, on an
    /// [`OffsetClock`](auth_core::emulator::OffsetClock); as [`EmulatorBuilder::model`] with no settings.
    pub fn new() -> Result<Model, EmulatorError> {
        EmulatorBuilder::default().model()
    }

    pub(super) fn from_builder(b: EmulatorBuilder) -> Result<Model, EmulatorError> {
        install_jwt_crypto();
        let clock = b.clock.unwrap_or_default();
        let mut clients = HashMap::new();
        for c in std::iter::once(EmulatedClient::secret_basic(
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
        ))
        .chain(b.clients)
        {
            clients.insert(c.client_id.clone(), c);
        }
        let mut state = State {
            issuer: b.issuer.map(|i| i.trim_end_matches('/').to_owned()),
            keys: op_keys()?,
            clients,
            users: HashMap::new(),
            login_hint_tokens: b.login_hint_tokens.into_iter().collect(),
            requests: HashMap::new(),
            made: 0,
            settled: VecDeque::new(),
            settled_capacity: b.settled_capacity.max(1),
            faults: VecDeque::new(),
            interval: b.interval,
            expiry: b.expiry.max(1),
            built_with: (b.interval, b.expiry.max(1)),
            jwks_fetches: 0,
            seen_assertions: SeenAssertions::default(),
            outbox: VecDeque::new(),
            next_expiry: None,
            metadata: Map::new(),
        };
        for (hint, code) in b.users {
            state.add_user(&hint, code.map(UserCode::new));
        }
        Ok(Model {
            state: Mutex::new(state),
            clock,
            log: RequestLog::with_capacity(b.log_capacity),
            faults: Faults::default(),
        })
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The model's time.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The model's clock (a client on the same clock agrees on expiry and intervals).
    pub fn clock(&self) -> SharedClock {
        Arc::new(self.clock.clone())
    }

    /// The issuer set for the model (`None`: each request's own URL).
    pub fn issuer(&self) -> Option<String> {
        self.lock().issuer.clone()
    }

    /// Sets the issuer: the URL the model is served at (`http://127.0.0.1:<port>`, or with the
    /// path prefix it is mounted under).
    pub fn set_issuer(&self, issuer: &str) {
        self.lock().issuer = Some(issuer.trim_end_matches('/').to_owned());
    }

    /// Registers (or replaces) a client.
    pub fn register_client(&self, client: EmulatedClient) {
        self.lock().clients.insert(client.client_id.clone(), client);
    }

    /// Adds a user the OP finds by `login_hint`.
    pub fn add_user(&self, login_hint: &str) {
        self.lock().add_user(login_hint, None);
    }

    /// Adds a user who set up `user_code`: requests for them must carry it.
    pub fn add_user_with_code(&self, login_hint: &str, user_code: &str) {
        self.lock()
            .add_user(login_hint, Some(UserCode::new(user_code)));
    }

    /// Accepts `token` as a `login_hint_token` for `login_hint`.
    pub fn add_login_hint_token(&self, token: &str, login_hint: &str) {
        self.lock()
            .login_hint_tokens
            .insert(token.to_owned(), login_hint.to_owned());
    }

    /// The interval announced in acknowledgements (`None`: none, so clients use 5 s).
    pub fn set_interval(&self, seconds: Option<u64>) {
        self.lock().interval = seconds;
    }

    /// How long requests stay open unless the client asks for less.
    pub fn set_expiry(&self, seconds: u64) {
        self.lock().expiry = seconds.max(1);
    }

    /// Replaces (or with `Value::Null`, removes) a member of the discovery document.
    pub fn set_metadata(&self, name: &str, value: Value) {
        self.lock().metadata.insert(name.to_owned(), value);
    }

    /// Makes new signing keys current; the previous generations stay in the JWKS (at most
    /// [`KEY_GENERATIONS`] in all). Returns the new kids.
    pub fn rotate_keys(&self) -> Result<Vec<String>, EmulatorError> {
        let new = op_keys()?;
        let per_generation = new.len();
        let kids = new.iter().map(|k| k.kid().to_owned()).collect();
        let mut st = self.lock();
        let old = std::mem::take(&mut st.keys);
        st.keys = new.into_iter().chain(old).collect();
        st.keys.truncate(per_generation * KEY_GENERATIONS);
        Ok(kids)
    }

    /// The kids the JWKS publishes, current first.
    pub fn published_kids(&self) -> Vec<String> {
        self.lock()
            .keys
            .iter()
            .map(|k| k.kid().to_owned())
            .collect()
    }

    /// How often the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.lock().jwks_fetches
    }

    /// Applies `fault` to the next response it concerns (at most 1000 wait; more are
    /// dropped).
    pub fn inject(&self, fault: Fault) {
        let mut st = self.lock();
        if st.faults.len() < MAX_FAULTS {
            st.faults.push_back(fault);
        }
    }

    /// The recent requests (time, method, path, status), oldest first.
    pub fn log(&self) -> Vec<LogEntry> {
        self.log.recent(None)
    }

    /// The requests kept (waiting and settled), oldest first.
    pub fn requests(&self) -> Vec<EmulatedRequest> {
        let st = self.lock();
        let mut v: Vec<&Req> = st.requests.values().collect();
        v.sort_by_key(|r| r.seq);
        v.into_iter().map(|r| r.view.clone()).collect()
    }

    /// One request, if kept.
    pub fn request(&self, id: &AuthReqId) -> Option<EmulatedRequest> {
        self.lock()
            .requests
            .get(id.as_str())
            .map(|r| r.view.clone())
    }

    /// Changes request `id` under the lock (`change` says whether its client is told, and
    /// only a push client about an expiry), settles it, and queues the notification.
    fn update(
        &self,
        id: &AuthReqId,
        change: impl FnOnce(&mut Req, SystemTime) -> Result<Tell, EmulatorError>,
    ) -> Result<(), EmulatorError> {
        let now = self.now();
        let plan = {
            let mut st = self.lock();
            let r = st
                .requests
                .get_mut(id.as_str())
                .ok_or(EmulatorError::UnknownRequest)?;
            // A refused change settles nothing: a request whose time ran out while nobody
            // looked is left to `settle_expired`, which tells a push client of it.
            let told = change(r, now)?;
            st.settle(id.as_str());
            notification(&mut st, id.as_str(), now, told)
        };
        self.queue(plan);
        Ok(())
    }

    fn answer(
        &self,
        id: &AuthReqId,
        to: RequestState,
        description: Option<&str>,
    ) -> Result<(), EmulatorError> {
        self.update(id, |r, now| {
            if r.view.state != RequestState::Pending {
                return Err(EmulatorError::NotPending(r.view.state.name()));
            }
            if now >= r.view.expires_at {
                return Err(EmulatorError::NotPending("expired"));
            }
            r.view.state = to;
            r.auth_time = Some(now);
            r.error_description = description.map(str::to_owned);
            Ok(Tell::Answer)
        })
    }

    /// Finishes a notification planned under the lock (signing its tokens outside it) and
    /// queues it.
    fn queue(&self, plan: Option<Planned>) {
        if let Some(request) = plan.and_then(Planned::into_request) {
            self.lock().push_notification(request);
        }
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

    /// The request expires now (push clients get an `expired_token` error payload queued,
    /// unless it had expired already: a client is told once).
    pub fn expire(&self, id: &AuthReqId) -> Result<(), EmulatorError> {
        self.update(id, |r, now| {
            // An open request is one still waiting for its user; a settled one was told.
            let told = r.settled;
            r.view.expires_at = r.view.expires_at.min(now);
            Ok(if told { Tell::Nothing } else { Tell::Expiry })
        })
    }

    /// How many ping and push notifications wait for delivery (a push client's expiry counts
    /// once its time has run out).
    pub fn pending_notifications(&self) -> usize {
        let now = self.now();
        let mut st = self.lock();
        st.settle_expired(now);
        st.outbox.len()
    }

    /// Takes the waiting ping and push notifications: each a `POST` to the client's
    /// notification endpoint with `Authorization: Bearer <client_notification_token>` and the
    /// JSON body, for whoever serves the model to send. Requests whose time has run out since
    /// the last look are settled first, so a push client's `expired_token` payload is among
    /// them even when nothing else happened (whoever serves the model calls this now and then:
    /// the oob-auth emulator server every second).
    pub fn take_notifications(&self) -> Vec<HttpRequest> {
        let now = self.now();
        let mut st = self.lock();
        st.settle_expired(now);
        st.outbox.drain(..).collect()
    }

    fn provider_command(&self, body: &Value) -> Result<Value, ControlError> {
        if let Some(name) = body.get("fault").and_then(Value::as_str) {
            let fault = match Fault::from_name(name) {
                Some(fault) => fault,
                None => parameterized_fault(name, body)?,
            };
            self.inject(fault);
            return Ok(json!({"fault": name}));
        }
        if let Some(id) = body.get("request").and_then(Value::as_str) {
            let request = AuthReqId::new(id)
                .ok()
                .and_then(|id| self.request(&id))
                .ok_or_else(|| not_found(id))?;
            return Ok(request_json(&request));
        }
        if body.get("requests").and_then(Value::as_bool) == Some(true) {
            return Ok(Value::Array(
                self.requests().iter().map(request_json).collect(),
            ));
        }
        if body.get("jwks_fetches").and_then(Value::as_bool) == Some(true) {
            return Ok(json!({"jwks_fetches": self.jwks_fetches()}));
        }
        if body.get("reset").and_then(Value::as_bool) == Some(true) {
            self.reset();
            return Ok(json!({"reset": true}));
        }
        if let Some(interval) = body.get("interval") {
            self.set_interval(interval.as_u64());
            return Ok(json!({"interval": interval}));
        }
        if let Some(expiry) = body.get("expiry").and_then(Value::as_u64) {
            self.set_expiry(expiry);
            return Ok(json!({"expiry": expiry}));
        }
        if let Some(members) = body.get("metadata").and_then(Value::as_object) {
            for (name, value) in members {
                self.set_metadata(name, value.clone());
            }
            return Ok(json!({"metadata": members.len()}));
        }
        if let (Some(token), Some(user)) = (
            body.get("login_hint_token").and_then(Value::as_str),
            body.get("user").and_then(Value::as_str),
        ) {
            self.add_login_hint_token(token, user);
            return Ok(json!({"user": user}));
        }
        if let Some(registration) = body.get("register_client") {
            let client = Registration::deserialize(registration)
                .map_err(|e| ControlError::Invalid(format!("register_client: {e}")))?
                .into_client()?;
            let id = client.client_id.clone();
            self.register_client(client);
            return Ok(json!({"client_id": id}));
        }
        if body.get("take_notifications").and_then(Value::as_bool) == Some(true) {
            let taken: Vec<Value> = self
                .take_notifications()
                .iter()
                .map(auth_core::emulator::request_json)
                .collect();
            return Ok(Value::Array(taken));
        }
        Err(ControlError::Invalid(
            "ciba's provider commands: fault, interval, expiry, metadata, login_hint_token + user, register_client, take_notifications, request, requests, jwks_fetches, reset".into(),
        ))
    }

    /// Forgets what tests changed: the discovery overrides, the protocol faults waiting, the
    /// interval and expiry (back to the builder's), and the notifications not yet delivered.
    /// Requests still open end now, silently: their clients are told nothing, and a token
    /// request for one is `expired_token`, so that nothing a test left behind reaches the next
    /// test's notification endpoint. Users, clients and keys stay.
    pub fn reset(&self) {
        let now = self.now();
        let mut st = self.lock();
        st.metadata.clear();
        st.faults.clear();
        (st.interval, st.expiry) = st.built_with;
        let open: Vec<String> = st
            .requests
            .iter_mut()
            .filter(|(_, r)| !r.settled)
            .map(|(id, r)| {
                r.view.expires_at = r.view.expires_at.min(now);
                id.clone()
            })
            .collect();
        for id in open {
            st.settle(&id);
        }
        st.outbox.clear();
    }
}

/// A fault with parameters, from the provider command `{"fault": "<name>", …}`:
/// `unavailable` (`retry_after`, seconds, default 1), `delay` (`ms`), `oauth_error` (`status`,
/// `error`).
fn parameterized_fault(name: &str, body: &Value) -> Result<Fault, ControlError> {
    let number = |key: &str| body.get(key).and_then(Value::as_u64);
    let missing = |key: &str| ControlError::Invalid(format!("the `{name}` fault needs `{key}`"));
    Ok(match name {
        "unavailable" => Fault::Unavailable(number("retry_after").unwrap_or(1)),
        "delay" => Fault::Delay(Duration::from_millis(
            number("ms").ok_or_else(|| missing("ms"))?,
        )),
        "oauth_error" => {
            let status = number("status")
                .and_then(|s| u16::try_from(s).ok())
                .filter(|s| (400..600).contains(s))
                .ok_or_else(|| missing("status"))?;
            let error = body
                .get("error")
                .and_then(Value::as_str)
                .ok_or_else(|| missing("error"))?;
            Fault::OAuthError(status, error.to_owned())
        }
        _ => {
            return Err(ControlError::Invalid(format!(
                "unknown ciba fault `{}`",
                name.chars().take(64).collect::<String>()
            )));
        }
    })
}

/// A request as the control vocabulary shows it (times in Unix seconds).
fn request_json(r: &EmulatedRequest) -> Value {
    let expires_at = auth_core::emulator::unix_seconds(r.expires_at);
    json!({
        "auth_req_id": r.auth_req_id,
        "client_id": r.client_id,
        "user": r.user,
        "scope": r.scope,
        "binding_message": r.binding_message,
        "acr_values": r.acr_values,
        "requested_expiry": r.requested_expiry,
        "user_code_checked": r.user_code_checked,
        "signed": r.signed,
        "polls": r.polls,
        "interval": r.interval,
        "expires_at": expires_at,
        "state": r.state.name(),
    })
}

/// What a notification carries.
enum Body {
    Json(Value),
    /// Tokens to sign outside the lock, for this `auth_req_id`.
    Tokens(Box<TokenPlan>, String),
}

/// A notification planned under the lock.
struct Planned {
    url: String,
    token: String,
    body: Body,
}

impl Planned {
    /// The notification's request (its tokens signed, if it carries any). An endpoint that is
    /// not a URI cannot be called: then there is none, and the notification is dropped.
    fn into_request(self) -> Option<HttpRequest> {
        let body = match self.body {
            Body::Json(v) => v,
            Body::Tokens(plan, id) => {
                let mut body = plan.finish();
                if let Some(o) = body.as_object_mut() {
                    o.insert("auth_req_id".into(), json!(id));
                }
                body
            }
        };
        http::Request::post(self.url.as_str())
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", self.token),
            )
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.to_string().into_bytes())
            .ok()
    }
}

/// What a change of a request tells its client.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tell {
    /// Nothing.
    Nothing,
    /// The user's answer (ping and push clients).
    Answer,
    /// That it expired (push clients only: a ping client learns it from its token request).
    Expiry,
}

/// Plans the ping or push notification of a request that just settled.
fn notification(st: &mut State, id: &str, now: SystemTime, tell: Tell) -> Option<Planned> {
    let r = st.requests.get(id)?;
    let client = st.clients.get(&r.view.client_id)?.clone();
    match (tell, &client.mode) {
        (Tell::Nothing, _) => return None,
        (Tell::Expiry, mode) if *mode != DeliveryMode::Push => return None,
        _ => {}
    }
    let url = client.notification_endpoint.clone()?;
    let token = r.notification_token.clone()?;
    let body = match client.mode {
        DeliveryMode::Ping => Body::Json(json!({ "auth_req_id": id })),
        DeliveryMode::Push => {
            let (state, description) = (r.view.state, r.error_description.clone());
            let expired = now >= r.view.expires_at;
            match state {
                RequestState::Approved if !expired => {
                    let plan = super::op::plan_tokens(st, id, &client, now, true)?;
                    if let Some(r) = st.requests.get_mut(id) {
                        r.view.state = RequestState::Done;
                    }
                    Body::Tokens(Box::new(plan), id.to_owned())
                }
                RequestState::Denied => Body::Json(
                    json!({"auth_req_id": id, "error": "access_denied", "error_description": description}),
                ),
                RequestState::Failed => Body::Json(
                    json!({"auth_req_id": id, "error": "transaction_failed", "error_description": description}),
                ),
                _ => Body::Json(
                    json!({"auth_req_id": id, "error": "expired_token", "error_description": "the request expired"}),
                ),
            }
        }
        _ => return None,
    };
    Some(Planned { url, token, body })
}

fn not_found(id: &str) -> ControlError {
    ControlError::NotFound {
        what: "request",
        id: id.chars().take(64).collect(),
    }
}

#[auth_core::async_trait]
impl auth_core::emulator::Model for Model {
    fn provider(&self) -> &'static str {
        crate::PROVIDER
    }

    async fn handle(&self, request: HttpRequest) -> HttpResponse {
        let now = self.now();
        self.log
            .answer(now, request, |request| async move {
                let (response, delay) = match self.faults.take(request.uri().path()) {
                    Some(injected) => (injected, None),
                    None => self.route(&request, now),
                };
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                response
            })
            .await
    }

    fn control(&self, command: Control) -> Result<Value, ControlError> {
        let request_id = |id: &str| AuthReqId::new(id).map_err(|_| not_found(id));
        let settle = |id: &str, r: Result<(), EmulatorError>| match r {
            Ok(()) => Ok(json!({"id": id})),
            Err(EmulatorError::UnknownRequest) => Err(not_found(id)),
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
                    .map_err(|e| ControlError::Conflict(e.to_string()))?;
                Ok(json!({"kids": kids}))
            }
            Control::InjectFault { fault } => self.faults.inject_command(fault),
            Control::AdvanceClock { seconds } => {
                self.clock.advance(Duration::from_secs(seconds))?;
                Ok(auth_core::emulator::clock_answer(self.now()))
            }
            Control::ReadLog { limit } => self.log.read(limit),
            Control::ListPending => {
                auth_core::emulator::pending_answer(&auth_core::emulator::Model::pending(self))
            }
            Control::Provider { body } => self.provider_command(&body),
            other => Err(ControlError::Unsupported {
                provider: crate::PROVIDER,
                command: other.name(),
            }),
        }
    }

    /// The requests waiting for the user, as their phone shows them: the binding message (or,
    /// without one, who asks).
    fn pending(&self) -> Vec<PendingStepUp> {
        let now = self.now();
        let st = self.lock();
        let mut waiting: Vec<&Req> = st
            .requests
            .values()
            .filter(|r| r.view.state == RequestState::Pending && now < r.view.expires_at)
            .collect();
        waiting.sort_by_key(|r| r.seq);
        waiting
            .into_iter()
            .map(|r| {
                let message = r
                    .view
                    .binding_message
                    .clone()
                    .unwrap_or_else(|| format!("{} asks you to sign in", r.view.client_id));
                PendingStepUp::new(
                    crate::PROVIDER,
                    r.view.auth_req_id.clone(),
                    r.view.user.clone(),
                    message,
                    r.created,
                )
                .with_title(format!("Sign in to {}", r.view.client_id))
                .with_expiry(r.view.expires_at)
            })
            .collect()
    }
}

impl ClientAuthMethod {
    /// The shared secret, for HS256 faults.
    pub(super) fn secret(&self) -> Option<&str> {
        match self {
            ClientAuthMethod::SecretBasic(s) | ClientAuthMethod::SecretPost(s) => {
                Some(s.expose_secret())
            }
            ClientAuthMethod::PrivateKeyJwt(_) => None,
        }
    }
}
