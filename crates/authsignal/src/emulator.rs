//! An Authsignal Server API emulator over real HTTP on a loopback port (feature `emulator`).
//!
//! It speaks the wire of the spec: HTTP Basic with per-tenant secret keys (401 with the
//! official body on a bad key), camelCase JSON with `Content-Type: application/json`, error
//! bodies with `error`, `errorCode`, `errorDescription` and the seed era's `message`, paths
//! with or without `/v1`, and `PATCH` or `POST` on `/users/{userId}`.
//!
//! What it models:
//! * **users** (unknown users read as `isEnrolled: false`), **authenticators** (verified
//!   enrolment, passkey batch import, delete, recovery codes on the first one), **devices**;
//! * **rules**: default `ALLOW`; the most severe matching [`Rule`] wins (`BLOCK` > review >
//!   challenge > allow); a challenge becomes `CHALLENGE_REQUIRED` only for enrolled users, else
//!   `ALLOW` with `isEnrolled: false`;
//! * **idempotency**: a track with a known (user, action, key) returns the stored action with a
//!   fresh token;
//! * **challenges** completed or failed by the test ([`Emulator::complete_challenge`],
//!   [`Emulator::fail_challenge`]), tokens (HS256, the seed-era claims) and `/validate`;
//! * **OTP** `/challenge` → `/verify` → `/claim` (codes readable with [`Emulator::otp_code`] or
//!   from the `sms.created` / `email.created` webhooks), `GET /challenges`;
//! * **sessions** (create, validate, refresh with rotation, revoke, revoke all of a user);
//! * **webhooks**: events queued and delivered, signed with `X-Signature-V2`, to a URL
//!   ([`Emulator::set_webhook_url`], [`Emulator::deliver_webhooks`]), with key rotation
//!   ([`Emulator::rotate_webhook_secret`]);
//! * **CallConnect** `/call/start` and `/call/finish` at [`Emulator::call_connect_url`].
//! * **faults** on demand ([`Emulator::inject`]: any status, or 429 with `Retry-After`).
//!
//! The server is axum on a current-thread tokio runtime of its own thread, so it answers
//! whatever the test's runtime is doing. It reads a body for at most [`BODY_TIMEOUT`] (a body
//! shorter than its `Content-Length` gets a 400, not a hung connection) and at most
//! [`MAX_BODY_BYTES`] (413). What it keeps is bounded: the request log
//! ([`Emulator::received`]: method, path and status only) is a ring buffer, and settled
//! records beyond a limit are forgotten ([`Emulator::set_retention`], [`Emulator::stats`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), authsignal::Error> {
//! use authsignal::emulator::{Emulator, Rule, RuleOutcome};
//! use authsignal::{ActionCode, ActionState, EnrollVerifiedAuthenticatorRequest, TrackRequest, UserId};
//!
//! let emulator = Emulator::start().await;
//! emulator.add_rule(Rule::new("r1", RuleOutcome::Challenge).for_action("withdraw"));
//! let client = emulator.client()?;
//! let (user, action) = (UserId::new("ada")?, ActionCode::new("withdraw")?);
//!
//! // Not enrolled: the challenge rule yields ALLOW.
//! let d = client.track(&user, &action, TrackRequest::new()).await?;
//! assert_eq!((d.state, d.is_enrolled), (ActionState::Allow, false));
//!
//! client.enroll_verified_authenticator(&user, &EnrollVerifiedAuthenticatorRequest::sms("+64270000001")).await?;
//! let d = client.track(&user, &action, TrackRequest::new()).await?;
//! assert_eq!(d.state, ActionState::ChallengeRequired);
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::secret::constant_time_eq;
use auth_core::sync::lock;
use auth_core::{SharedClock, SystemClock};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Method, Uri};
use serde_json::{Map, Value, json};

use crate::client::{Client, ClientBuilder};
use crate::types::{
    ActionCode, ChallengeId, ChallengeToken, IdempotencyKey, SecretKey, Timestamp, UserId,
    VerificationCode, VerificationMethod,
};
use crate::webhook;

/// The 401 body for a refused secret key: the real API's (spec §3.1, verbatim) plus the
/// seed era's `message`, which every error body of the emulator carries (Python 0.1.1 raises
/// `KeyError` without it).
pub const UNAUTHORIZED_BODY: &str = r#"{"error":"unauthorized","errorCode":"unauthorized","errorDescription":"The request is unauthorized. Check that your API key and region base URL are correctly configured.","message":"The request is unauthorized. Check that your API key and region base URL are correctly configured."}"#;

/// How long the emulator waits for a request body to arrive in full. A body shorter than its
/// `Content-Length` (Python 4.x sends one when it drops a `None` field) is answered with 400
/// after this long instead of holding the connection open.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(1);

/// The largest request body the emulator reads (larger ones are answered with 413).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How many requests [`Emulator::received`] remembers by default (the oldest are forgotten).
pub const DEFAULT_LOG_CAPACITY: usize = 1000;

/// How many *settled* records of each kind a tenant keeps by default: finished actions (not
/// `CHALLENGE_REQUIRED` / `REVIEW_REQUIRED`), issued tokens, claimed or expired OTP
/// challenges, sessions, finished calls and undelivered webhooks. Older ones are forgotten
/// (expired ones first); pending actions are always kept. See [`Emulator::set_retention`].
pub const DEFAULT_SETTLED_CAPACITY: usize = 1000;

const TOKEN_TTL: i64 = 600;
const SESSION_TTL: i64 = 3600;
const MAX_OTP_ATTEMPTS: u32 = 3;

/// What a rule decides when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RuleOutcome {
    /// Allow.
    Allow,
    /// Challenge (enrolled users only; others are allowed).
    Challenge,
    /// Manual review.
    Review,
    /// Block.
    Block,
}

/// When a rule matches.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Condition {
    /// Always.
    Always,
    /// The tracked `ipAddress` equals this.
    IpAddress(String),
    /// `custom[key]` equals the value.
    CustomEquals(String, Value),
    /// `custom[key]` is a number greater than the value.
    CustomGreaterThan(String, f64),
    /// A `deviceId` was given that the user has not used before (or that was invalidated).
    NewDevice,
}

/// A rule of the emulated tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    id: String,
    name: String,
    action: Option<String>,
    condition: Condition,
    outcome: RuleOutcome,
}

impl Rule {
    /// A rule for every action that always matches.
    pub fn new(id: impl Into<String>, outcome: RuleOutcome) -> Self {
        let id = id.into();
        Rule {
            name: format!("rule {id}"),
            id,
            action: None,
            condition: Condition::Always,
            outcome,
        }
    }

    /// Only for this action code.
    pub fn for_action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }

    /// Only when `condition` holds.
    pub fn when(mut self, condition: Condition) -> Self {
        self.condition = condition;
        self
    }

    /// A display name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

/// A failure the emulator answers the next authenticated request with, instead of serving it
/// (see [`Emulator::inject`]). Faults queue up: one per request, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// This status, with an error body (`error`, `errorCode`, `errorDescription`, `message`).
    Status(u16),
    /// 429 `too_many_requests` with `Retry-After: <retry_after_secs>`.
    RateLimited {
        /// The `Retry-After` value, in seconds.
        retry_after_secs: u64,
    },
}

impl Fault {
    fn reply(&self) -> (Reply, Option<u64>) {
        let (status, retry_after) = match self {
            Fault::Status(s) => (*s, None),
            Fault::RateLimited { retry_after_secs } => (429, Some(*retry_after_secs)),
        };
        let code = match status {
            400 | 422 => "invalid_request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            429 => "too_many_requests",
            500..=599 => "internal_error",
            _ => "error",
        };
        (
            error(status, code, "Injected by the emulator."),
            retry_after,
        )
    }
}

/// A control call of the emulator failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// No such action.
    #[error("no action for this user, action and key")]
    UnknownAction,
    /// The action is not waiting for a challenge.
    #[error("the action is in state {0}, not CHALLENGE_REQUIRED")]
    NotChallenged(String),
    /// No webhook URL set.
    #[error("no webhook URL set")]
    NoWebhookUrl,
    /// Delivering a webhook failed.
    #[error("webhook delivery failed: {0}")]
    Delivery(String),
    /// The emulator's HTTP server could not be started.
    #[error("the emulator's server could not start: {0}")]
    Server(String),
}

#[derive(Debug, Clone)]
struct Authenticator {
    id: String,
    method: String,
    email: Option<String>,
    phone: Option<String>,
    created_at: i64,
    credential: Option<Value>,
}

impl Authenticator {
    fn json(&self, user: &str) -> Value {
        let mut m = json!({
            "userAuthenticatorId": self.id,
            "userId": user,
            "verificationMethod": self.method,
            "createdAt": ts(self.created_at),
            "verifiedAt": ts(self.created_at),
        });
        if let Some(e) = &self.email {
            m["email"] = json!(e);
        }
        if let Some(p) = &self.phone {
            m["phoneNumber"] = json!(p);
        }
        if let Some(c) = &self.credential {
            m["webauthnCredential"] = c.clone();
        }
        m
    }

    /// The seed era's shape (2022: Python 0.1.1, Node 1.x), for an `oobChannel` enrolment:
    /// `authenticatorType` / `oobChannel` instead of `verificationMethod`, plus `isDefault`
    /// and `isActive`.
    fn seed_json(&self, user: &str, is_default: bool) -> Value {
        let mut m = json!({
            "userAuthenticatorId": self.id,
            "userId": user,
            "authenticatorType": "OOB",
            "oobChannel": self.method,
            "isDefault": is_default,
            "isActive": true,
            "createdAt": ts(self.created_at),
            "verifiedAt": ts(self.created_at),
        });
        if let Some(e) = &self.email {
            m["email"] = json!(e);
        }
        if let Some(p) = &self.phone {
            m["phoneNumber"] = json!(p);
        }
        m
    }

    /// The `data` of `authenticator.created` / `authenticator.deleted`, as documented: flat,
    /// with the passkey's details as `credentialId`, `aaguid`, `credentialName`.
    fn event_data(&self, user: &str) -> Value {
        let mut m = json!({
            "userId": user,
            "verificationMethod": self.method,
            "createdAt": ts(self.created_at),
            "userAuthenticatorId": self.id,
        });
        if let Some(e) = &self.email {
            m["email"] = json!(e);
        }
        if let Some(p) = &self.phone {
            m["phoneNumber"] = json!(p);
        }
        if let Some(c) = &self.credential {
            for (from, to) in [
                ("credentialId", "credentialId"),
                ("aaguid", "aaguid"),
                ("name", "credentialName"),
            ] {
                if let Some(v) = c.get(from).filter(|v| !v.is_null()) {
                    m[to] = v.clone();
                }
            }
        }
        m
    }
}

#[derive(Debug, Clone)]
struct DeviceRec {
    id: String,
    created_at: i64,
    authenticated_at: Option<i64>,
    invalidated_at: Option<i64>,
    last_method: Option<String>,
    remembered_until: Option<i64>,
}

impl DeviceRec {
    fn json(&self, user: &str) -> Value {
        json!({
            "userId": user,
            "deviceId": self.id,
            "createdAt": ts(self.created_at),
            "authenticatedAt": self.authenticated_at.map(ts),
            "invalidatedAt": self.invalidated_at.map(ts),
            "lastVerificationMethod": self.last_method,
            "rememberedUntil": self.remembered_until.map(ts),
        })
    }
}

#[derive(Debug, Clone, Default)]
struct User {
    attrs: Map<String, Value>,
    authenticators: Vec<Authenticator>,
    devices: Vec<DeviceRec>,
}

impl User {
    fn enrolled_methods(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for a in &self.authenticators {
            if !v.contains(&a.method) {
                v.push(a.method.clone());
            }
        }
        v
    }
}

#[derive(Debug, Clone)]
struct Action {
    user: String,
    code: String,
    key: String,
    state: String,
    created_at: i64,
    updated_at: i64,
    state_updated_at: i64,
    verification_method: Option<String>,
    rule_ids: Vec<String>,
    device_id: Option<String>,
}

#[derive(Debug, Clone)]
struct TokenInfo {
    user: String,
    action: String,
    key: String,
    expires_at: i64,
    claims: Value,
}

#[derive(Debug, Clone)]
struct OtpChallenge {
    id: String,
    code: String,
    method: String,
    action: String,
    key: String,
    email: Option<String>,
    phone: Option<String>,
    sms_channel: Option<String>,
    user: Option<String>,
    expires_at: i64,
    attempts: u32,
    verified: bool,
    claimed: bool,
}

#[derive(Debug, Clone)]
struct Session {
    user: String,
    client_id: String,
    refresh: String,
    method: Option<String>,
    expires_at: i64,
}

#[derive(Debug, Clone)]
struct CallRec {
    reference: String,
    state: Option<String>,
}

#[derive(Debug)]
struct Tenant {
    id: String,
    secret: SecretKey,
    users: BTreeMap<String, User>,
    actions: Vec<Action>,
    rules: Vec<Rule>,
    tokens: HashMap<String, TokenInfo>,
    /// Token keys, oldest first (for pruning).
    token_order: VecDeque<String>,
    challenges: Vec<OtpChallenge>,
    sessions: HashMap<String, Session>,
    outbox: Vec<Vec<u8>>,
    calls: Vec<CallRec>,
}

impl Tenant {
    fn new(secret: SecretKey) -> Self {
        Tenant {
            id: uuid::Uuid::new_v4().to_string(),
            secret,
            users: BTreeMap::new(),
            actions: Vec::new(),
            rules: Vec::new(),
            tokens: HashMap::new(),
            token_order: VecDeque::new(),
            challenges: Vec::new(),
            sessions: HashMap::new(),
            outbox: Vec::new(),
            calls: Vec::new(),
        }
    }
}

fn is_pending(state: &str) -> bool {
    matches!(state, "CHALLENGE_REQUIRED" | "REVIEW_REQUIRED")
}

/// Removes the oldest items for which `settled` holds until at most `keep` of them remain.
fn keep_newest_settled<T>(items: &mut Vec<T>, keep: usize, settled: impl Fn(&T) -> bool) {
    let count = items.iter().filter(|x| settled(x)).count();
    let mut excess = count.saturating_sub(keep);
    if excess > 0 {
        items.retain(|x| {
            if excess > 0 && settled(x) {
                excess -= 1;
                false
            } else {
                true
            }
        });
    }
}

impl Tenant {
    /// Forgets settled records beyond `keep` of each kind, expired ones first: what the
    /// emulator holds stays bounded however many requests it serves.
    fn prune(&mut self, now: i64, keep: usize) {
        keep_newest_settled(&mut self.actions, keep, |a| !is_pending(&a.state));
        while let Some(front) = self.token_order.front() {
            let expired = self.tokens.get(front).is_none_or(|t| t.expires_at <= now);
            if !expired && self.tokens.len() <= keep {
                break;
            }
            if let Some(k) = self.token_order.pop_front() {
                self.tokens.remove(&k);
            }
        }
        keep_newest_settled(&mut self.challenges, keep, |c| {
            c.claimed || c.expires_at <= now
        });
        self.sessions.retain(|_, s| s.expires_at > now);
        if self.sessions.len() > keep {
            let mut by_age: Vec<(i64, String)> = self
                .sessions
                .iter()
                .map(|(k, s)| (s.expires_at, k.clone()))
                .collect();
            by_age.sort();
            let excess = self.sessions.len() - keep;
            for (_, k) in by_age.into_iter().take(excess) {
                self.sessions.remove(&k);
            }
        }
        keep_newest_settled(&mut self.calls, keep, |c| c.state.is_some());
        let excess = self.outbox.len().saturating_sub(keep);
        self.outbox.drain(..excess);
    }
}

/// One request the emulator answered (see [`Emulator::received`]). Only the method, the path
/// (no query: it may carry tokens) and the status are kept, never headers or bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedRequest {
    /// `GET`, `POST` ….
    pub method: String,
    /// The path as sent (percent-encoded), without the query.
    pub path: String,
    /// The status answered.
    pub status: u16,
}

/// What the emulator holds, summed over its tenants (see [`Emulator::stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct EmulatorStats {
    /// Tracked actions, pending and settled.
    pub actions: usize,
    /// Actions waiting for a challenge or a review.
    pub pending_actions: usize,
    /// Issued tokens still remembered.
    pub tokens: usize,
    /// OTP challenges.
    pub challenges: usize,
    /// Live sessions.
    pub sessions: usize,
    /// Webhooks waiting for delivery.
    pub pending_webhooks: usize,
    /// Requests in the [`Emulator::received`] log.
    pub logged_requests: usize,
}

struct State {
    base: String,
    tenants: Vec<Tenant>,
    track_requests: usize,
    webhook_url: Option<String>,
    extra_webhook_secret: Option<SecretKey>,
    faults: VecDeque<Fault>,
    log: VecDeque<ReceivedRequest>,
    log_capacity: usize,
    settled_capacity: usize,
}

impl State {
    fn new(base: String) -> Self {
        let secret = SecretKey::new(random_token("sk_emu_"));
        State {
            base,
            tenants: vec![Tenant::new(secret)],
            track_requests: 0,
            webhook_url: None,
            extra_webhook_secret: None,
            faults: VecDeque::new(),
            log: VecDeque::new(),
            log_capacity: DEFAULT_LOG_CAPACITY,
            settled_capacity: DEFAULT_SETTLED_CAPACITY,
        }
    }

    fn record(&mut self, method: &Method, uri: &Uri, status: u16) {
        if self.log_capacity == 0 {
            return;
        }
        while self.log.len() >= self.log_capacity {
            self.log.pop_front();
        }
        self.log.push_back(ReceivedRequest {
            method: method.as_str().to_owned(),
            path: uri.path().to_owned(),
            status,
        });
    }
}

/// The running emulator: a real HTTP/1.1 server on a loopback port, on its own thread.
/// Dropping it stops the server (open connections included).
pub struct Emulator {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    clock: SharedClock,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn ts(secs: i64) -> String {
    Timestamp::from_unix(secs).as_str().to_owned()
}

fn random_token(prefix: &str) -> String {
    let mut b = [0u8; 24];
    // SystemRandom only fails when the OS has no entropy; a uuid is the fallback.
    if aws_lc_rs::rand::fill(&mut b).is_err() {
        return format!("{prefix}{}", uuid::Uuid::new_v4().simple());
    }
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(b))
}

fn random_code() -> String {
    let mut b = [0u8; 4];
    let n = if aws_lc_rs::rand::fill(&mut b).is_ok() {
        u32::from_le_bytes(b)
    } else {
        uuid::Uuid::new_v4().as_u128() as u32
    };
    format!("{:06}", n % 1_000_000)
}

impl Emulator {
    /// Starts an emulator with one tenant (random secret key) and the system clock.
    pub async fn start() -> Self {
        Self::start_with_clock(Arc::new(SystemClock)).await
    }

    /// Starts an emulator whose tokens, OTPs and sessions expire by `clock`.
    ///
    /// Should no loopback port be available, the emulator still starts, and every request to
    /// it fails to connect (see [`Emulator::try_start_with_clock`] to get the error instead).
    pub async fn start_with_clock(clock: SharedClock) -> Self {
        match Self::try_start_with_clock(clock.clone()).await {
            Ok(emulator) => emulator,
            Err(e) => {
                tracing::error!(target: "authsignal::emulator", error = %e, "emulator not started");
                let (stop, _) = tokio::sync::oneshot::channel();
                Emulator {
                    // Nothing listens on the discard port: connections are refused.
                    addr: SocketAddr::from(([127, 0, 0, 1], 9)),
                    state: Arc::new(Mutex::new(State::new("http://127.0.0.1:9/v1".into()))),
                    clock,
                    stop: Some(stop),
                }
            }
        }
    }

    /// Starts an emulator whose tokens, OTPs and sessions expire by `clock`; fails when no
    /// loopback port can be bound or the server's runtime cannot be built.
    pub async fn try_start_with_clock(clock: SharedClock) -> Result<Self, EmulatorError> {
        let server_error = |e: std::io::Error| EmulatorError::Server(e.to_string());
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(server_error)?;
        listener.set_nonblocking(true).map_err(server_error)?;
        let addr = listener.local_addr().map_err(server_error)?;
        let state = Arc::new(Mutex::new(State::new(format!("http://{addr}/v1"))));
        let router = Arc::new(Router {
            state: state.clone(),
            clock: clock.clone(),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, started) = tokio::sync::oneshot::channel::<Result<(), String>>();
        std::thread::Builder::new()
            .name(format!("authsignal-emulator-{}", addr.port()))
            .spawn(move || serve(listener, router, stopped, ready))
            .map_err(server_error)?;
        match started.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(EmulatorError::Server(e)),
            Err(_) => return Err(EmulatorError::Server("the server thread ended".into())),
        }
        Ok(Emulator {
            addr,
            state,
            clock,
            stop: Some(stop),
        })
    }

    /// The base URL, with `/v1` (`http://127.0.0.1:<port>/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The CallConnect base URL (the same server, no `/v1`).
    pub fn call_connect_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's address (`127.0.0.1:<port>`), for tests that speak raw TCP to it.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The most recent requests answered, oldest first (method, path, status; at most
    /// [`DEFAULT_LOG_CAPACITY`], see [`Emulator::set_retention`]).
    pub fn received(&self) -> Vec<ReceivedRequest> {
        lock(&self.state).log.iter().cloned().collect()
    }

    /// Sets how many requests [`Emulator::received`] remembers, and how many settled records of
    /// each kind every tenant keeps (see [`DEFAULT_SETTLED_CAPACITY`]; pending actions are
    /// always kept). Takes effect at once.
    pub fn set_retention(&self, log: usize, settled: usize) {
        let now = self.clock.unix_seconds();
        let mut st = lock(&self.state);
        st.log_capacity = log;
        st.settled_capacity = settled;
        while st.log.len() > log {
            st.log.pop_front();
        }
        for t in &mut st.tenants {
            t.prune(now, settled);
        }
    }

    /// What the emulator holds right now, summed over its tenants.
    pub fn stats(&self) -> EmulatorStats {
        let st = lock(&self.state);
        let mut s = EmulatorStats {
            logged_requests: st.log.len(),
            ..EmulatorStats::default()
        };
        for t in &st.tenants {
            s.actions += t.actions.len();
            s.pending_actions += t.actions.iter().filter(|a| is_pending(&a.state)).count();
            s.tokens += t.tokens.len();
            s.challenges += t.challenges.len();
            s.sessions += t.sessions.len();
            s.pending_webhooks += t.outbox.len();
        }
        s
    }

    /// The state a CallConnect call was finished with (`None`: unknown or not finished).
    pub fn call_state(&self, reference_id: &str) -> Option<String> {
        lock(&self.state).tenants[0]
            .calls
            .iter()
            .find(|c| c.reference == reference_id)
            .and_then(|c| c.state.clone())
    }

    /// The default tenant's secret key.
    pub fn secret(&self) -> SecretKey {
        lock(&self.state).tenants[0].secret.clone()
    }

    /// The default tenant's id.
    pub fn tenant_id(&self) -> String {
        lock(&self.state).tenants[0].id.clone()
    }

    /// A client builder for the default tenant (base URL and key set).
    pub fn client_builder(&self) -> ClientBuilder {
        Client::builder(self.secret()).base_url(self.base_url())
    }

    /// A client for the default tenant.
    pub fn client(&self) -> Result<Client, crate::Error> {
        self.client_builder().build()
    }

    /// Adds a tenant with its own key and data; returns its id.
    pub fn add_tenant(&self, secret: SecretKey) -> String {
        let t = Tenant::new(secret);
        let id = t.id.clone();
        lock(&self.state).tenants.push(t);
        id
    }

    /// Adds a rule to the default tenant.
    pub fn add_rule(&self, rule: Rule) {
        lock(&self.state).tenants[0].rules.push(rule);
    }

    /// Removes every rule of the default tenant.
    pub fn clear_rules(&self) {
        lock(&self.state).tenants[0].rules.clear();
    }

    /// Answers the next authenticated request (any tenant, any endpoint) with `fault`; several
    /// calls queue several faults, one per request. A retried request meets the next one.
    pub fn inject(&self, fault: Fault) {
        lock(&self.state).faults.push_back(fault);
    }

    /// How many actions the default tenant holds.
    pub fn action_count(&self) -> usize {
        lock(&self.state).tenants[0].actions.len()
    }

    /// How many track requests reached the emulator (all tenants, replays included).
    pub fn track_requests(&self) -> usize {
        lock(&self.state).track_requests
    }

    /// Plays the user completing the challenge of an action with `method`; returns the token
    /// the pre-built UI would append to the redirect URL.
    pub fn complete_challenge(
        &self,
        user: &UserId,
        action: &ActionCode,
        key: &IdempotencyKey,
        method: VerificationMethod,
    ) -> Result<ChallengeToken, EmulatorError> {
        self.finish_challenge(user, action, key, Some(method), "CHALLENGE_SUCCEEDED")
    }

    /// Plays the user failing the challenge; returns the redirect token.
    pub fn fail_challenge(
        &self,
        user: &UserId,
        action: &ActionCode,
        key: &IdempotencyKey,
    ) -> Result<ChallengeToken, EmulatorError> {
        self.finish_challenge(user, action, key, None, "CHALLENGE_FAILED")
    }

    fn finish_challenge(
        &self,
        user: &UserId,
        action: &ActionCode,
        key: &IdempotencyKey,
        method: Option<VerificationMethod>,
        to: &str,
    ) -> Result<ChallengeToken, EmulatorError> {
        let now = self.clock.unix_seconds();
        let mut st = lock(&self.state);
        let t = &mut st.tenants[0];
        let a = t
            .actions
            .iter_mut()
            .find(|a| a.user == user.as_str() && a.code == action.as_str() && a.key == key.as_str())
            .ok_or(EmulatorError::UnknownAction)?;
        if a.state != "CHALLENGE_REQUIRED" {
            return Err(EmulatorError::NotChallenged(a.state.clone()));
        }
        a.state = to.to_owned();
        a.state_updated_at = now;
        a.updated_at = now;
        a.verification_method = method.as_ref().map(|m| m.as_str().to_owned());
        let (user_s, code, k, device) = (
            a.user.clone(),
            a.code.clone(),
            a.key.clone(),
            a.device_id.clone(),
        );
        if let (Some(m), Some(d)) = (&method, device)
            && let Some(u) = t.users.get_mut(&user_s)
            && let Some(dev) = u.devices.iter_mut().find(|x| x.id == d)
        {
            dev.authenticated_at = Some(now);
            dev.last_method = Some(m.as_str().to_owned());
        }
        let token = issue_token(t, &user_s, &code, &k, now);
        Ok(ChallengeToken::new(token))
    }

    /// The code of an OTP challenge (what the user received).
    pub fn otp_code(&self, challenge: &ChallengeId) -> Option<VerificationCode> {
        lock(&self.state).tenants[0]
            .challenges
            .iter()
            .find(|c| c.id == challenge.as_str())
            .map(|c| VerificationCode::new(c.code.clone()))
    }

    /// Delivers webhooks of the default tenant to `url` (see [`Emulator::deliver_webhooks`]).
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        lock(&self.state).webhook_url = Some(url.into());
    }

    /// Signs webhooks with `new_secret` as well as the tenant key (two `v2` values), as
    /// Authsignal does while a secret is rotated.
    pub fn rotate_webhook_secret(&self, new_secret: SecretKey) {
        lock(&self.state).extra_webhook_secret = Some(new_secret);
    }

    /// The raw bodies of the events waiting for delivery.
    pub fn pending_webhooks(&self) -> Vec<Vec<u8>> {
        lock(&self.state).tenants[0].outbox.clone()
    }

    /// Posts every queued event (signed, `X-Signature-V2`) to the webhook URL; returns the
    /// HTTP statuses. Events answered with a non-2xx status stay queued.
    pub async fn deliver_webhooks(&self) -> Result<Vec<u16>, EmulatorError> {
        let (url, bodies, secrets) = {
            let mut st = lock(&self.state);
            let url = st.webhook_url.clone().ok_or(EmulatorError::NoWebhookUrl)?;
            let extra = st.extra_webhook_secret.clone();
            let t = &mut st.tenants[0];
            let mut secrets = vec![t.secret.clone()];
            secrets.extend(extra);
            (url, std::mem::take(&mut t.outbox), secrets)
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| EmulatorError::Delivery(e.to_string()))?;
        let mut statuses = Vec::new();
        let mut failed = Vec::new();
        let mut queue = bodies.into_iter();
        let refs: Vec<&SecretKey> = secrets.iter().collect();
        while let Some(body) = queue.next() {
            let header = webhook::sign_header(&refs, self.clock.unix_seconds(), &body);
            let result = http
                .post(&url)
                .header("content-type", "application/json")
                .header(webhook::SIGNATURE_HEADER, header)
                .body(body.clone())
                .send()
                .await;
            match result {
                Ok(r) => {
                    statuses.push(r.status().as_u16());
                    if !r.status().is_success() {
                        failed.push(body);
                    }
                }
                Err(e) => {
                    // Keep this event and every one not tried yet, in order.
                    failed.push(body);
                    failed.extend(queue);
                    let mut st = lock(&self.state);
                    let outbox = &mut st.tenants[0].outbox;
                    let newer = std::mem::take(outbox);
                    outbox.extend(failed);
                    outbox.extend(newer);
                    return Err(EmulatorError::Delivery(e.to_string()));
                }
            }
        }
        let mut st = lock(&self.state);
        let outbox = &mut st.tenants[0].outbox;
        let newer = std::mem::take(outbox);
        outbox.extend(failed);
        outbox.extend(newer);
        Ok(statuses)
    }
}

fn issue_token(t: &mut Tenant, user: &str, action: &str, key: &str, now: i64) -> String {
    let iss = format!("https://challenge.authsignal.com/{}", t.id);
    let user_rec = t.users.get(user);
    let attr = |k: &str| user_rec.and_then(|u| u.attrs.get(k)).cloned();
    let claims = json!({
        "iat": now,
        "exp": now + TOKEN_TTL,
        "sub": user,
        "iss": iss,
        "aud": iss,
        "scope": "read:authenticators",
        "jti": uuid::Uuid::new_v4().to_string(),
        "other": {
            "tenantId": t.id,
            "publishableKey": format!("pk_{}", &t.id[..8]),
            "userId": user,
            "email": attr("email"),
            "phoneNumber": attr("phoneNumber"),
            "actionCode": action,
            "idempotencyKey": key,
        }
    });
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    let key_h = hmac::Key::new(hmac::HMAC_SHA256, t.secret.expose_secret().as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(hmac::sign(&key_h, signing_input.as_bytes()).as_ref());
    let token = format!("{signing_input}.{sig}");
    t.token_order.push_back(token.clone());
    t.tokens.insert(
        token.clone(),
        TokenInfo {
            user: user.to_owned(),
            action: action.to_owned(),
            key: key.to_owned(),
            expires_at: now + TOKEN_TTL,
            claims,
        },
    );
    token
}

fn queue_event(t: &mut Tenant, now: i64, event_type: &str, data: Value) {
    let event = json!({
        "version": 1,
        "id": uuid::Uuid::new_v4().to_string(),
        "source": "https://authsignal.com",
        "time": ts(now),
        "tenantId": t.id,
        "type": event_type,
        "data": data,
    });
    t.outbox.push(event.to_string().into_bytes());
}

struct Router {
    state: Arc<Mutex<State>>,
    clock: SharedClock,
}

type Reply = (u16, Value);

fn error(status: u16, code: &str, description: &str) -> Reply {
    (
        status,
        json!({
            "error": code,
            "errorCode": code,
            "errorDescription": description,
            "message": description,
        }),
    )
}

fn bad_request(description: &str) -> Reply {
    error(400, "invalid_request", description)
}

fn not_found(description: &str) -> Reply {
    error(404, "not_found", description)
}

/// The server thread: a current-thread runtime serving `router` until `stop` fires (or the
/// [`Emulator`] is dropped); leaving drops the runtime, which ends every open connection.
fn serve(
    listener: std::net::TcpListener,
    router: Arc<Router>,
    stop: tokio::sync::oneshot::Receiver<()>,
    ready: tokio::sync::oneshot::Sender<Result<(), String>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                let _ = ready.send(Err(e.to_string()));
                return;
            }
        };
        let app = axum::Router::new().fallback(handle).with_state(router);
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(target: "authsignal::emulator", error = %e, "server stopped");
            }
        });
        let _ = ready.send(Ok(()));
        let _ = stop.await;
        server.abort();
    });
}

/// The HTTP adapter: reads the body (bounded in time and size), then hands the request to the
/// protocol model ([`Router::respond`]).
async fn handle(
    axum::extract::State(router): axum::extract::State<Arc<Router>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let too_large = || error(413, "invalid_request", "The request body is too large.");
    let body = if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        Err(too_large())
    } else {
        match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY_BYTES)).await {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(_)) if declared.is_none() => Err(too_large()),
            Ok(Err(_)) => Err(bad_request("The request body could not be read.")),
            // The client declared more bytes than it sent and is waiting for an answer.
            Err(_) => Err(bad_request(
                "The request body is shorter than its Content-Length.",
            )),
        }
    };
    let answer = match body {
        Ok(bytes) => router.respond(&parts.method, &parts.uri, &parts.headers, &bytes),
        Err((status, reply)) => router.refuse(&parts.method, &parts.uri, status, &reply),
    };
    answer.into_response()
}

/// An answer of the protocol model.
struct Answer {
    status: u16,
    body: Vec<u8>,
    retry_after: Option<u64>,
}

impl Answer {
    fn json(status: u16, body: &Value) -> Self {
        Answer {
            status,
            body: body.to_string().into_bytes(),
            retry_after: None,
        }
    }

    fn into_response(self) -> axum::response::Response {
        let mut response = axum::response::Response::new(axum::body::Body::from(self.body));
        *response.status_mut() = http::StatusCode::from_u16(self.status)
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        // Exactly `application/json`: Python 4.x only decodes that media type.
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
        }
        response
    }
}

fn basic_secret(headers: &HeaderMap) -> Option<String> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, _password) = text.split_once(':')?;
    Some(user.to_owned())
}

impl Router {
    /// Logs and answers a request refused before it was read (body too large, or shorter
    /// than declared).
    fn refuse(&self, method: &Method, uri: &Uri, status: u16, body: &Value) -> Answer {
        lock(&self.state).record(method, uri, status);
        Answer::json(status, body)
    }

    /// The protocol model: one request in, one answer out. Every request is logged, and the
    /// tenant that served it is pruned to its retention limits afterwards.
    fn respond(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Answer {
        let now = self.clock.unix_seconds();
        let mut st = lock(&self.state);
        let (answer, tenant) = self.answer(&mut st, now, method, uri, headers, body);
        st.record(method, uri, answer.status);
        let keep = st.settled_capacity;
        if let Some(t) = tenant.and_then(|ix| st.tenants.get_mut(ix)) {
            t.prune(now, keep);
        }
        answer
    }

    fn answer(
        &self,
        st: &mut State,
        now: i64,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> (Answer, Option<usize>) {
        let unauthorized = || Answer {
            status: 401,
            body: UNAUTHORIZED_BODY.as_bytes().to_vec(),
            retry_after: None,
        };
        let Some(secret) = basic_secret(headers) else {
            return (unauthorized(), None);
        };
        let Some(tenant_ix) = st.tenants.iter().position(|t| t.secret.matches(&secret)) else {
            return (unauthorized(), None);
        };
        if let Some(fault) = st.faults.pop_front() {
            let ((status, reply), retry_after) = fault.reply();
            let mut answer = Answer::json(status, &reply);
            answer.retry_after = retry_after;
            return (answer, Some(tenant_ix));
        }
        let path = uri.path();
        let path = path.strip_prefix("/v1").unwrap_or(path);
        let Some(segments) = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| auth_core::base_url::percent_decode(s, false))
            .collect::<Option<Vec<String>>>()
        else {
            let (s, b) = bad_request("Malformed path.");
            return (Answer::json(s, &b), Some(tenant_ix));
        };
        let query: HashMap<String, String> =
            url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let body: Value = if body.is_empty() {
            Value::Object(Map::new())
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Null) => Value::Object(Map::new()),
                Ok(v @ Value::Object(_)) => v,
                Ok(_) | Err(_) => {
                    let (s, b) = bad_request("The request body must be a JSON object.");
                    return (Answer::json(s, &b), Some(tenant_ix));
                }
            }
        };
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let method = method.as_str();
        if method == "POST" && matches!(segs.as_slice(), ["users", _, "actions", _]) {
            st.track_requests += 1;
        }
        let base = st.base.clone();
        let t = &mut st.tenants[tenant_ix];
        let mut ctx = Ctx {
            t,
            now,
            base: &base,
            body: &body,
            query: &query,
        };
        let (status, reply) = ctx.route(method, &segs);
        (Answer::json(status, &reply), Some(tenant_ix))
    }
}

struct Ctx<'a> {
    t: &'a mut Tenant,
    now: i64,
    base: &'a str,
    body: &'a Value,
    query: &'a HashMap<String, String>,
}

fn str_field<'v>(v: &'v Value, k: &str) -> Result<Option<&'v str>, Reply> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(bad_request(&format!("`{k}` must be a string."))),
    }
}

fn required<'v>(v: &'v Value, k: &str) -> Result<&'v str, Reply> {
    match str_field(v, k)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(bad_request(&format!("`{k}` is required."))),
    }
}

fn valid_action_code(code: &str) -> Result<(), Reply> {
    ActionCode::new(code)
        .map(drop)
        .map_err(|e| bad_request(&e.to_string()))
}

impl Ctx<'_> {
    fn route(&mut self, method: &str, segs: &[&str]) -> Reply {
        let r = match (method, segs) {
            ("POST", ["users", "authenticators"]) => self.batch_enroll(),
            ("POST", ["users", u, "actions", a]) => self.track(u, a),
            ("GET", ["users", u, "actions", a, k]) => self.get_action(u, a, k),
            ("PATCH", ["users", u, "actions", a, k]) => self.update_action(u, a, k),
            ("GET", ["users", u, "actions"]) => self.query_actions(u),
            ("GET", ["users", u]) => Ok(self.get_user(u)),
            ("PATCH" | "POST", ["users", u]) => self.update_user(u),
            ("DELETE", ["users", u]) => Ok(self.delete_user(u)),
            ("GET", ["users"]) => self.query_users(),
            ("GET", ["users", u, "authenticators"]) => Ok(self.authenticators(u)),
            ("POST", ["users", u, "authenticators"]) => self.enroll(u),
            ("DELETE", ["users", u, "authenticators", id]) => self.delete_authenticator(u, id),
            ("GET", ["users", u, "devices"]) => Ok(self.devices(u)),
            ("POST", ["users", u, "devices", d, "invalidate"]) => self.invalidate_device(u, d),
            ("PATCH", ["users", u, "devices", d]) => self.update_device(u, d),
            ("POST", ["validate"]) => self.validate(),
            ("POST", ["challenge"]) => self.challenge(),
            ("POST", ["verify"]) => self.verify(),
            ("POST", ["claim"]) => self.claim(),
            ("GET", ["challenges"]) => self.get_challenge(),
            ("POST", ["sessions"]) => self.create_session(),
            ("POST", ["sessions", "validate"]) => self.validate_session(),
            ("POST", ["sessions", "refresh"]) => self.refresh_session(),
            ("POST", ["sessions", "revoke"]) => self.revoke_session(),
            ("POST", ["sessions", "user", "revoke"]) => self.revoke_user_sessions(),
            ("POST", ["call", "start"]) => self.start_call(),
            ("POST", ["call", "finish"]) => self.finish_call(),
            _ => Err(not_found("The requested resource was not found.")),
        };
        r.unwrap_or_else(|e| e)
    }

    fn track(&mut self, user: &str, code: &str) -> Result<Reply, Reply> {
        valid_action_code(code)?;
        let b = self.body;
        let key = match str_field(b, "idempotencyKey")? {
            Some(k) if !k.is_empty() => k.to_owned(),
            _ => uuid::Uuid::new_v4().to_string(),
        };
        str_field(b, "redirectUrl")?;
        let existing = self
            .t
            .actions
            .iter()
            .position(|a| a.user == user && a.code == code && a.key == key);
        let ix = match existing {
            Some(ix) => ix,
            None => {
                let device = str_field(b, "deviceId")?.map(str::to_owned);
                let ip = str_field(b, "ipAddress")?;
                let custom = match b.get("custom") {
                    None | Some(Value::Null) => Map::new(),
                    Some(Value::Object(m)) => m.clone(),
                    Some(_) => return Err(bad_request("`custom` must be an object.")),
                };
                let u = self.t.users.entry(user.to_owned()).or_default();
                for k in ["email", "phoneNumber", "username"] {
                    if let Some(v) = str_field(b, k)?
                        && !u.attrs.contains_key(k)
                    {
                        u.attrs.insert(k.to_owned(), json!(v));
                    }
                }
                let enrolled = !u.authenticators.is_empty();
                let known_device = device.as_ref().is_some_and(|d| {
                    u.devices
                        .iter()
                        .any(|x| &x.id == d && x.invalidated_at.is_none())
                });
                let mut outcome = RuleOutcome::Allow;
                let mut rule_ids = Vec::new();
                for r in &self.t.rules {
                    if r.action.as_deref().is_some_and(|a| a != code) {
                        continue;
                    }
                    let matches = match &r.condition {
                        Condition::Always => true,
                        Condition::IpAddress(want) => ip == Some(want.as_str()),
                        Condition::CustomEquals(k, v) => custom.get(k) == Some(v),
                        Condition::CustomGreaterThan(k, v) => custom
                            .get(k)
                            .and_then(Value::as_f64)
                            .is_some_and(|x| x > *v),
                        Condition::NewDevice => device.is_some() && !known_device,
                    };
                    if matches {
                        rule_ids.push(r.id.clone());
                        outcome = outcome.max(r.outcome);
                    }
                }
                let state = match outcome {
                    RuleOutcome::Allow => "ALLOW",
                    RuleOutcome::Challenge if enrolled => "CHALLENGE_REQUIRED",
                    RuleOutcome::Challenge => "ALLOW",
                    RuleOutcome::Review => "REVIEW_REQUIRED",
                    RuleOutcome::Block => "BLOCK",
                };
                if let Some(d) = &device
                    && !u.devices.iter().any(|x| &x.id == d)
                {
                    u.devices.push(DeviceRec {
                        id: d.clone(),
                        created_at: self.now,
                        authenticated_at: None,
                        invalidated_at: None,
                        last_method: None,
                        remembered_until: None,
                    });
                }
                self.t.actions.push(Action {
                    user: user.to_owned(),
                    code: code.to_owned(),
                    key: key.clone(),
                    state: state.to_owned(),
                    created_at: self.now,
                    updated_at: self.now,
                    state_updated_at: self.now,
                    verification_method: None,
                    rule_ids,
                    device_id: device,
                });
                self.t.actions.len() - 1
            }
        };
        let a = self.t.actions[ix].clone();
        let token = issue_token(self.t, user, code, &key, self.now);
        let methods = self
            .t
            .users
            .get(user)
            .map(User::enrolled_methods)
            .unwrap_or_default();
        let url = format!(
            "{}/ui/challenge?token={}",
            self.base.trim_end_matches("/v1"),
            token
        );
        let mut out = json!({
            "idempotencyKey": a.key,
            "state": a.state,
            "url": url,
            "token": token,
            "isEnrolled": !methods.is_empty(),
            "enrolledVerificationMethods": methods,
            "allowedVerificationMethods": methods,
            "defaultVerificationMethod": methods.first(),
            "ruleIds": a.rule_ids,
        });
        if a.state == "CHALLENGE_REQUIRED" {
            out["challengeUrl"] = json!(url);
        }
        Ok((200, out))
    }

    fn find_action(&self, user: &str, code: &str, key: &str) -> Result<usize, Reply> {
        self.t
            .actions
            .iter()
            .position(|a| a.user == user && a.code == code && a.key == key)
            .ok_or_else(|| not_found("The action was not found."))
    }

    fn action_json(&self, a: &Action) -> Value {
        let rules: Vec<Value> = a
            .rule_ids
            .iter()
            .map(|id| {
                let name = self
                    .t
                    .rules
                    .iter()
                    .find(|r| &r.id == id)
                    .map(|r| r.name.clone());
                json!({"ruleId": id, "name": name})
            })
            .collect();
        json!({
            "state": a.state,
            "stateUpdatedAt": ts(a.state_updated_at),
            "createdAt": ts(a.created_at),
            "verificationMethod": a.verification_method,
            "rules": rules,
            "output": {},
        })
    }

    fn get_action(&mut self, user: &str, code: &str, key: &str) -> Result<Reply, Reply> {
        let ix = self.find_action(user, code, key)?;
        Ok((200, self.action_json(&self.t.actions[ix])))
    }

    fn update_action(&mut self, user: &str, code: &str, key: &str) -> Result<Reply, Reply> {
        let state = required(self.body, "state")?.to_owned();
        const STATES: [&str; 8] = [
            "ALLOW",
            "BLOCK",
            "CHALLENGE_REQUIRED",
            "CHALLENGE_SUCCEEDED",
            "CHALLENGE_FAILED",
            "REVIEW_REQUIRED",
            "REVIEW_SUCCEEDED",
            "REVIEW_FAILED",
        ];
        if !STATES.contains(&state.as_str()) {
            return Err(bad_request(&format!("`{state}` is not an action state.")));
        }
        let ix = self.find_action(user, code, key)?;
        let a = &mut self.t.actions[ix];
        a.state = state.clone();
        a.state_updated_at = self.now;
        a.updated_at = self.now;
        Ok((200, json!({"state": state})))
    }

    fn query_actions(&mut self, user: &str) -> Result<Reply, Reply> {
        let oldest = self.now - 30 * 86_400;
        let from = match self.query.get("fromDate") {
            Some(f) => Timestamp::new(f.as_str())
                .unix_seconds()
                .ok_or_else(|| bad_request("`fromDate` must be an ISO-8601 date."))?
                .max(oldest),
            None => oldest,
        };
        let codes: Option<Vec<&str>> = self.query.get("codes").map(|c| c.split(',').collect());
        let state = self.query.get("state");
        let list: Vec<Value> = self
            .t
            .actions
            .iter()
            .filter(|a| a.user == user && a.created_at >= from)
            .filter(|a| codes.as_ref().is_none_or(|c| c.contains(&a.code.as_str())))
            .filter(|a| state.is_none_or(|s| *s == a.state))
            .map(|a| {
                json!({
                    "actionCode": a.code,
                    "idempotencyKey": a.key,
                    "createdAt": ts(a.created_at),
                    "updatedAt": ts(a.updated_at),
                    "state": a.state,
                    "stateUpdatedAt": ts(a.state_updated_at),
                    "verificationMethod": a.verification_method,
                })
            })
            .collect();
        Ok((200, Value::Array(list)))
    }

    fn get_user(&mut self, user: &str) -> Reply {
        let u = self.t.users.get(user).cloned().unwrap_or_default();
        let methods = u.enrolled_methods();
        let mut out = json!({
            "isEnrolled": !methods.is_empty(),
            "emailVerified": false,
            "phoneNumberVerified": false,
            "enrolledVerificationMethods": methods,
            "allowedVerificationMethods": methods,
            "defaultVerificationMethod": methods.first(),
        });
        for (k, v) in &u.attrs {
            out[k.as_str()] = v.clone();
        }
        if let Some(redirect) = self.query.get("redirectUrl") {
            let token = issue_token(self.t, user, "manage-authenticators", "settings", self.now);
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("token", &token)
                .append_pair("redirectUrl", redirect)
                .finish();
            out["url"] = json!(format!(
                "{}/ui/settings?{q}",
                self.base.trim_end_matches("/v1")
            ));
        }
        (200, out)
    }

    fn update_user(&mut self, user: &str) -> Result<Reply, Reply> {
        let b = self.body;
        let mut changes = Map::new();
        for k in [
            "email",
            "phoneNumber",
            "username",
            "displayName",
            "locale",
            "defaultVerificationMethod",
        ] {
            if let Some(v) = str_field(b, k)? {
                changes.insert(k.to_owned(), json!(v));
            }
        }
        for k in ["emailVerified", "phoneNumberVerified"] {
            match b.get(k) {
                None | Some(Value::Null) => {}
                Some(Value::Bool(v)) => {
                    changes.insert(k.to_owned(), json!(v));
                }
                Some(_) => return Err(bad_request(&format!("`{k}` must be a boolean."))),
            }
        }
        let custom = match b.get("custom") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m.clone()),
            Some(_) => return Err(bad_request("`custom` must be an object.")),
        };
        let u = self.t.users.entry(user.to_owned()).or_default();
        // A new e-mail address or phone number is not verified (unless this request says so).
        for (field, flag) in [
            ("email", "emailVerified"),
            ("phoneNumber", "phoneNumberVerified"),
        ] {
            if let Some(new) = changes.get(field)
                && u.attrs.get(field) != Some(new)
                && !changes.contains_key(flag)
            {
                changes.insert(flag.to_owned(), json!(false));
            }
        }
        u.attrs.extend(changes);
        if let Some(c) = custom {
            let entry = u
                .attrs
                .entry("custom".to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = entry {
                m.extend(c);
            }
        }
        let mut out = Value::Object(u.attrs.clone());
        out["userId"] = json!(user);
        Ok((200, out))
    }

    fn delete_user(&mut self, user: &str) -> Reply {
        self.t.users.remove(user);
        self.t.sessions.retain(|_, s| s.user != user);
        (200, json!({}))
    }

    fn query_users(&mut self) -> Result<Reply, Reply> {
        let limit = match self.query.get("limit") {
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|l| (1..=1000).contains(l))
                .ok_or_else(|| bad_request("`limit` must be between 1 and 1000."))?,
            None => 100,
        };
        let mut token_payload = None;
        let mut token_user = None;
        if let Some(tok) = self.query.get("token") {
            let info = self
                .t
                .tokens
                .get(tok)
                .ok_or_else(|| bad_request("The token is invalid."))?;
            token_payload = Some(info.claims.clone());
            token_user = Some(info.user.clone());
        }
        let filter = |k: &str, u: &User| {
            self.query
                .get(k)
                .is_none_or(|want| u.attrs.get(k).and_then(Value::as_str) == Some(want.as_str()))
        };
        let after = self.query.get("lastEvaluatedUserId");
        let matching: Vec<(&String, &User)> = self
            .t
            .users
            .iter()
            .filter(|(id, _)| after.is_none_or(|a| id.as_str() > a.as_str()))
            .filter(|(id, _)| token_user.as_ref().is_none_or(|t| t == *id))
            .filter(|(_, u)| {
                filter("username", u) && filter("email", u) && filter("phoneNumber", u)
            })
            .collect();
        let page: Vec<Value> = matching
            .iter()
            .take(limit)
            .map(|(id, u)| {
                let mut v = json!({
                    "userId": id,
                    "emailVerified": u.attrs.get("emailVerified").cloned().unwrap_or(json!(false)),
                    "phoneNumberVerified": u.attrs.get("phoneNumberVerified").cloned().unwrap_or(json!(false)),
                });
                for k in ["email", "phoneNumber", "username"] {
                    if let Some(x) = u.attrs.get(k) {
                        v[k] = x.clone();
                    }
                }
                v
            })
            .collect();
        let mut out = json!({"users": page});
        if matching.len() > limit
            && let Some((id, _)) = matching.get(limit - 1)
        {
            out["lastEvaluatedUserId"] = json!(id);
        }
        if let Some(p) = token_payload {
            out["tokenPayload"] = p;
        }
        Ok((200, out))
    }

    fn authenticators(&mut self, user: &str) -> Reply {
        let list: Vec<Value> = self
            .t
            .users
            .get(user)
            .map(|u| u.authenticators.iter().map(|a| a.json(user)).collect())
            .unwrap_or_default();
        (200, Value::Array(list))
    }

    fn enroll(&mut self, user: &str) -> Result<Reply, Reply> {
        let b = self.body;
        let (method, seed) = match str_field(b, "verificationMethod")? {
            Some(m) => (m, false),
            // Seed era: `oobChannel`, answered in the seed era's shape.
            None => (required(b, "oobChannel")?, true),
        };
        let email = str_field(b, "email")?.map(str::to_owned);
        let phone = str_field(b, "phoneNumber")?.map(str::to_owned);
        match method {
            "SMS" | "WHATSAPP" if phone.is_none() => {
                return Err(bad_request("`phoneNumber` is required for this method."));
            }
            "EMAIL_OTP" | "EMAIL_MAGIC_LINK" if email.is_none() => {
                return Err(bad_request("`email` is required for this method."));
            }
            "AUTHENTICATOR_APP" => {
                required(b, "otpUri")?;
            }
            "SMS" | "WHATSAPP" | "EMAIL_OTP" | "EMAIL_MAGIC_LINK" => {}
            other => {
                return Err(bad_request(&format!(
                    "`{other}` cannot be enrolled as a verified authenticator."
                )));
            }
        }
        let a = Authenticator {
            id: uuid::Uuid::new_v4().to_string(),
            method: method.to_owned(),
            email,
            phone,
            created_at: self.now,
            credential: None,
        };
        let u = self.t.users.entry(user.to_owned()).or_default();
        let first = u.authenticators.is_empty();
        if let Some(p) = &a.phone {
            u.attrs.insert("phoneNumber".into(), json!(p));
            u.attrs.insert("phoneNumberVerified".into(), json!(true));
        }
        if let Some(e) = &a.email {
            u.attrs.insert("email".into(), json!(e));
            u.attrs.insert("emailVerified".into(), json!(true));
        }
        u.authenticators.push(a.clone());
        let aj = if seed {
            a.seed_json(user, first)
        } else {
            a.json(user)
        };
        let mut out = json!({"authenticator": aj});
        if first {
            let codes: Vec<String> = (0..10).map(|_| random_token("")[..10].to_owned()).collect();
            out["recoveryCodes"] = json!(codes);
        }
        queue_event(
            self.t,
            self.now,
            "authenticator.created",
            a.event_data(user),
        );
        Ok((200, out))
    }

    fn batch_enroll(&mut self) -> Result<Reply, Reply> {
        let list = match self.body.get("authenticators") {
            Some(Value::Array(v)) => v.clone(),
            _ => return Err(bad_request("`authenticators` must be an array.")),
        };
        let mut failures = Vec::new();
        let mut ok = 0;
        for item in &list {
            let user = item.get("userId").and_then(Value::as_str).unwrap_or("");
            let cred = item
                .get("credentialId")
                .and_then(Value::as_str)
                .unwrap_or("");
            let key = item
                .get("credentialPublicKey")
                .and_then(Value::as_str)
                .unwrap_or("");
            let method = item.get("verificationMethod").and_then(Value::as_str);
            let fail = |code: &str, d: &str| json!({"userId": user, "credentialId": cred, "errorCode": code, "errorDescription": d});
            if user.is_empty() || cred.is_empty() || key.is_empty() {
                failures.push(fail(
                    "invalid_request",
                    "userId, credentialId and credentialPublicKey are required",
                ));
                continue;
            }
            if method != Some("PASSKEY") {
                failures.push(fail("invalid_request", "only PASSKEY can be imported"));
                continue;
            }
            let dup = self.t.users.values().any(|u| {
                u.authenticators.iter().any(|a| {
                    a.credential
                        .as_ref()
                        .and_then(|c| c.get("credentialId"))
                        .and_then(Value::as_str)
                        == Some(cred)
                })
            });
            if dup {
                failures.push(fail(
                    "duplicate_credential",
                    "this credential is already enrolled",
                ));
                continue;
            }
            let a = Authenticator {
                id: uuid::Uuid::new_v4().to_string(),
                method: "PASSKEY".into(),
                email: None,
                phone: None,
                created_at: self.now,
                credential: Some(json!({
                    "credentialId": cred,
                    "name": item.get("name").cloned().unwrap_or(json!("Imported passkey")),
                    "aaguid": item.get("aaguid"),
                })),
            };
            self.t
                .users
                .entry(user.to_owned())
                .or_default()
                .authenticators
                .push(a);
            ok += 1;
        }
        Ok((
            200,
            json!({"total": list.len(), "succeeded": ok, "failed": failures.len(), "failures": failures}),
        ))
    }

    fn delete_authenticator(&mut self, user: &str, id: &str) -> Result<Reply, Reply> {
        let u = self
            .t
            .users
            .get_mut(user)
            .ok_or_else(|| not_found("The authenticator was not found."))?;
        let ix = u
            .authenticators
            .iter()
            .position(|a| a.id == id)
            .ok_or_else(|| not_found("The authenticator was not found."))?;
        let a = u.authenticators.remove(ix);
        let mut data = a.event_data(user);
        data["deletedAt"] = json!(ts(self.now));
        queue_event(self.t, self.now, "authenticator.deleted", data);
        Ok((200, json!({})))
    }

    fn devices(&mut self, user: &str) -> Reply {
        let list: Vec<Value> = self
            .t
            .users
            .get(user)
            .map(|u| u.devices.iter().map(|d| d.json(user)).collect())
            .unwrap_or_default();
        (200, Value::Array(list))
    }

    fn invalidate_device(&mut self, user: &str, device: &str) -> Result<Reply, Reply> {
        let now = self.now;
        let d = self
            .t
            .users
            .get_mut(user)
            .and_then(|u| u.devices.iter_mut().find(|d| d.id == device))
            .ok_or_else(|| not_found("The device was not found."))?;
        d.invalidated_at = Some(now);
        Ok((200, d.json(user)))
    }

    fn update_device(&mut self, user: &str, device: &str) -> Result<Reply, Reply> {
        let until = required(self.body, "rememberedUntil")?;
        let until = Timestamp::new(until)
            .unix_seconds()
            .ok_or_else(|| bad_request("`rememberedUntil` must be an ISO-8601 date."))?;
        let d = self
            .t
            .users
            .get_mut(user)
            .and_then(|u| u.devices.iter_mut().find(|d| d.id == device))
            .ok_or_else(|| not_found("The device was not found."))?;
        d.remembered_until = Some(until);
        Ok((200, d.json(user)))
    }

    fn validate(&mut self) -> Result<Reply, Reply> {
        let token = required(self.body, "token")?;
        let want_user = str_field(self.body, "userId")?;
        let want_action = str_field(self.body, "action")?;
        let invalid = |e: &str| (200, json!({"isValid": false, "error": e}));
        let Some(info) = self.t.tokens.get(token).cloned() else {
            return Ok(invalid("The token is invalid."));
        };
        if info.expires_at <= self.now {
            return Ok(invalid("The token has expired."));
        }
        if want_user.is_some_and(|u| u != info.user)
            || want_action.is_some_and(|a| a != info.action)
        {
            return Ok(invalid(
                "The token was not issued for this user and action.",
            ));
        }
        let Some(a) = self
            .t
            .actions
            .iter()
            .find(|a| a.user == info.user && a.code == info.action && a.key == info.key)
        else {
            return Ok(invalid("The action no longer exists."));
        };
        Ok((
            200,
            json!({
                "isValid": a.state == "CHALLENGE_SUCCEEDED",
                "state": a.state,
                "stateUpdatedAt": ts(a.state_updated_at),
                "userId": a.user,
                "action": a.code,
                "actionCode": a.code,
                "idempotencyKey": a.key,
                "verificationMethod": a.verification_method,
            }),
        ))
    }

    fn challenge(&mut self) -> Result<Reply, Reply> {
        let b = self.body;
        let method = required(b, "verificationMethod")?.to_owned();
        let action = required(b, "action")?.to_owned();
        valid_action_code(&action)?;
        let email = str_field(b, "email")?.map(str::to_owned);
        let phone = str_field(b, "phoneNumber")?.map(str::to_owned);
        let dest = match method.as_str() {
            "SMS" | "WHATSAPP" => phone
                .clone()
                .ok_or_else(|| bad_request("`phoneNumber` is required for this method."))?,
            "EMAIL_OTP" => email
                .clone()
                .ok_or_else(|| bad_request("`email` is required for this method."))?,
            other => {
                return Err(bad_request(&format!(
                    "`{other}` is not supported for server-initiated challenges."
                )));
            }
        };
        let code = random_code();
        let user = str_field(b, "userId")?.map(str::to_owned);
        let key = str_field(b, "idempotencyKey")?
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let expires_at = self.now + TOKEN_TTL;
        let id = match str_field(b, "challengeId")? {
            Some(existing) => {
                let c = self
                    .t
                    .challenges
                    .iter_mut()
                    .find(|c| c.id == existing)
                    .ok_or_else(|| not_found("The challenge was not found."))?;
                c.code = code.clone();
                c.expires_at = expires_at;
                c.attempts = 0;
                c.id.clone()
            }
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                self.t.challenges.push(OtpChallenge {
                    id: id.clone(),
                    code: code.clone(),
                    method: method.clone(),
                    action: action.clone(),
                    key: key.clone(),
                    email,
                    phone,
                    sms_channel: str_field(b, "smsChannel")?.map(str::to_owned),
                    user: user.clone(),
                    expires_at,
                    attempts: 0,
                    verified: false,
                    claimed: false,
                });
                id
            }
        };
        let event = if method == "EMAIL_OTP" {
            "email.created"
        } else {
            "sms.created"
        };
        queue_event(
            self.t,
            self.now,
            event,
            json!({
                "to": dest,
                "code": code,
                "userId": user,
                "actionCode": action,
                "idempotencyKey": key,
                "verificationMethod": method,
            }),
        );
        Ok((
            200,
            json!({"challengeId": id, "idempotencyKey": key, "expiresAt": expires_at}),
        ))
    }

    fn verify(&mut self) -> Result<Reply, Reply> {
        let id = required(self.body, "challengeId")?;
        let code = required(self.body, "verificationCode")?;
        let now = self.now;
        let c = self
            .t
            .challenges
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| not_found("The challenge was not found."))?;
        if c.attempts >= MAX_OTP_ATTEMPTS {
            return Ok((
                200,
                json!({"isVerified": false, "failureReason": "MAX_ATTEMPTS_EXCEEDED"}),
            ));
        }
        c.attempts += 1;
        let right = constant_time_eq(c.code.as_bytes(), code.as_bytes());
        if !right || c.expires_at <= now {
            return Ok((
                200,
                json!({"isVerified": false, "failureReason": "CODE_INVALID_OR_EXPIRED"}),
            ));
        }
        c.verified = true;
        Ok((
            200,
            json!({
                "isVerified": true,
                "email": c.email,
                "phoneNumber": c.phone,
                "verificationMethod": c.method,
            }),
        ))
    }

    fn claim(&mut self) -> Result<Reply, Reply> {
        let id = required(self.body, "challengeId")?;
        let user = required(self.body, "userId")?.to_owned();
        let skip = self.body.get("skipVerificationCheck") == Some(&Value::Bool(true));
        let c = self
            .t
            .challenges
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| not_found("The challenge was not found."))?;
        if c.claimed {
            return Err(bad_request("The challenge was already claimed."));
        }
        if !c.verified && !skip {
            return Err(bad_request("The challenge has not been verified."));
        }
        if c.user.as_ref().is_some_and(|u| *u != user) {
            return Err(bad_request("The challenge belongs to another user."));
        }
        c.claimed = true;
        let c = c.clone();
        let u = self.t.users.entry(user.clone()).or_default();
        if let Some(p) = &c.phone {
            u.attrs.insert("phoneNumber".into(), json!(p));
            u.attrs.insert("phoneNumberVerified".into(), json!(true));
        }
        if let Some(e) = &c.email {
            u.attrs.insert("email".into(), json!(e));
            u.attrs.insert("emailVerified".into(), json!(true));
        }
        self.t.actions.push(Action {
            user: user.clone(),
            code: c.action.clone(),
            key: c.key.clone(),
            state: "CHALLENGE_SUCCEEDED".into(),
            created_at: self.now,
            updated_at: self.now,
            state_updated_at: self.now,
            verification_method: Some(c.method.clone()),
            rule_ids: Vec::new(),
            device_id: None,
        });
        let token = issue_token(self.t, &user, &c.action, &c.key, self.now);
        Ok((200, json!({"token": token, "verificationMethod": c.method})))
    }

    fn get_challenge(&mut self) -> Result<Reply, Reply> {
        let q = self.query;
        let found = if let Some(id) = q.get("challengeId") {
            self.t.challenges.iter().find(|c| &c.id == id)
        } else {
            let user = q
                .get("userId")
                .ok_or_else(|| bad_request("`challengeId` or `userId` is required."))?;
            self.t.challenges.iter().rev().find(|c| {
                c.user.as_ref() == Some(user)
                    && q.get("action").is_none_or(|a| *a == c.action)
                    && q.get("verificationMethod").is_none_or(|m| *m == c.method)
            })
        };
        let c = found.ok_or_else(|| not_found("The challenge was not found."))?;
        Ok((
            200,
            json!({
                "challengeId": c.id,
                "expiresAt": c.expires_at,
                "verificationMethod": c.method,
                "smsChannel": c.sms_channel,
                "phoneNumber": c.phone,
                "email": c.email,
                "action": c.action,
            }),
        ))
    }

    fn new_session(&mut self, user: String, client_id: String, method: Option<String>) -> Value {
        let access = random_token("ast_");
        let refresh = random_token("rst_");
        self.t.sessions.insert(
            access.clone(),
            Session {
                user,
                client_id,
                refresh: refresh.clone(),
                method,
                expires_at: self.now + SESSION_TTL,
            },
        );
        json!({"accessToken": access, "refreshToken": refresh})
    }

    fn create_session(&mut self) -> Result<Reply, Reply> {
        let client_id = required(self.body, "clientId")?.to_owned();
        let token = required(self.body, "token")?;
        let action = str_field(self.body, "action")?;
        let info = self
            .t
            .tokens
            .get(token)
            .cloned()
            .filter(|i| i.expires_at > self.now)
            .ok_or_else(|| bad_request("The token is invalid or has expired."))?;
        if action.is_some_and(|a| a != info.action) {
            return Err(bad_request("The token was not issued for this action."));
        }
        let a = self
            .t
            .actions
            .iter()
            .find(|a| a.user == info.user && a.code == info.action && a.key == info.key)
            .ok_or_else(|| bad_request("The token's action no longer exists."))?;
        if !matches!(
            a.state.as_str(),
            "CHALLENGE_SUCCEEDED" | "ALLOW" | "REVIEW_SUCCEEDED"
        ) {
            return Err(bad_request("The token's action was not successful."));
        }
        let method = a.verification_method.clone();
        Ok((200, self.new_session(info.user, client_id, method)))
    }

    fn validate_session(&mut self) -> Result<Reply, Reply> {
        let access = required(self.body, "accessToken")?;
        let s = self
            .t
            .sessions
            .get(access)
            .filter(|s| s.expires_at > self.now)
            .ok_or_else(|| {
                error(
                    401,
                    "unauthorized",
                    "The access token is invalid, expired or revoked.",
                )
            })?;
        if let Some(Value::Array(ids)) = self.body.get("clientIds")
            && !ids.is_empty()
            && !ids.iter().any(|i| i.as_str() == Some(s.client_id.as_str()))
        {
            return Err(bad_request(
                "The access token was issued for another client.",
            ));
        }
        let mut user = json!({"userId": s.user});
        if let Some(u) = self.t.users.get(&s.user) {
            for (k, v) in &u.attrs {
                user[k.as_str()] = v.clone();
            }
        }
        Ok((
            200,
            json!({"user": user, "expiresAt": s.expires_at, "verificationMethod": s.method}),
        ))
    }

    fn refresh_session(&mut self) -> Result<Reply, Reply> {
        let refresh = required(self.body, "refreshToken")?;
        let access = self
            .t
            .sessions
            .iter()
            .find(|(_, s)| s.refresh == refresh)
            .map(|(a, _)| a.clone())
            .ok_or_else(|| {
                error(
                    401,
                    "unauthorized",
                    "The refresh token is invalid or revoked.",
                )
            })?;
        let Some(old) = self.t.sessions.remove(&access) else {
            return Err(error(
                401,
                "unauthorized",
                "The refresh token is invalid or revoked.",
            ));
        };
        Ok((200, self.new_session(old.user, old.client_id, old.method)))
    }

    fn revoke_session(&mut self) -> Result<Reply, Reply> {
        let access = required(self.body, "accessToken")?;
        self.t.sessions.remove(access);
        Ok((200, json!({})))
    }

    fn revoke_user_sessions(&mut self) -> Result<Reply, Reply> {
        let user = required(self.body, "userId")?.to_owned();
        self.t.sessions.retain(|_, s| s.user != user);
        Ok((200, json!({})))
    }

    fn start_call(&mut self) -> Result<Reply, Reply> {
        let b = self.body;
        let reference = required(b, "referenceId")?.to_owned();
        let phone = str_field(b, "phoneNumber")?.map(str::to_owned);
        let email = str_field(b, "email")?.map(str::to_owned);
        let user = str_field(b, "userId")?;
        let (phone, email) = match (phone, email, user) {
            (None, None, Some(u)) => {
                let attrs = self
                    .t
                    .users
                    .get(u)
                    .map(|x| x.attrs.clone())
                    .unwrap_or_default();
                let get = |k: &str| attrs.get(k).and_then(Value::as_str).map(str::to_owned);
                (get("phoneNumber"), get("email"))
            }
            other => (other.0, other.1),
        };
        let channel = match str_field(b, "channel")? {
            Some(c) => c.to_owned(),
            None if phone.is_some() => "SMS".to_owned(),
            None => "EMAIL".to_owned(),
        };
        let ok = match channel.as_str() {
            "SMS" | "WHATSAPP" => phone.is_some(),
            "EMAIL" => email.is_some(),
            _ => return Err(bad_request("`channel` must be WHATSAPP, SMS or EMAIL.")),
        };
        if !ok {
            return Ok((
                200,
                json!({"error": "no_destination", "errorCode": "no_destination",
                       "errorDescription": "No phone number or e-mail address for this channel.",
                       "message": "No phone number or e-mail address for this channel."}),
            ));
        }
        let message_id = uuid::Uuid::new_v4().to_string();
        self.t.calls.retain(|c| c.reference != reference);
        self.t.calls.push(CallRec {
            reference,
            state: None,
        });
        let mut out = json!({"messageId": message_id, "channel": channel});
        if channel == "EMAIL" {
            out["email"] = json!(email);
        } else {
            out["phoneNumber"] = json!(phone);
        }
        Ok((200, out))
    }

    fn finish_call(&mut self) -> Result<Reply, Reply> {
        let reference = required(self.body, "referenceId")?;
        let state = required(self.body, "state")?;
        if !matches!(state, "CHALLENGE_SUCCEEDED" | "CHALLENGE_FAILED") {
            return Err(bad_request(
                "`state` must be CHALLENGE_SUCCEEDED or CHALLENGE_FAILED.",
            ));
        }
        let call = self
            .t
            .calls
            .iter_mut()
            .find(|c| c.reference == reference)
            .ok_or_else(|| not_found("The call was not found."))?;
        call.state = Some(state.to_owned());
        Ok((200, json!({"success": true})))
    }
}
