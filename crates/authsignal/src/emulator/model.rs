//! The protocol model: the Authsignal Server API (and CallConnect, and the pre-built
//! challenge UI) as a function from HTTP request to HTTP response, plus the control commands
//! of auth-core's vocabulary. No sockets: [`super::Emulator`] serves it on a loopback port,
//! [`auth_core::emulator::InProcess`] calls it directly.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use auth_core::emulator::{
    Control, ControlError, Faults, LogEntry, PendingStepUp, RequestLog, html_response,
    json_response, request_json,
};
use auth_core::secret::constant_time_eq;
use auth_core::sync::lock;
use auth_core::{HttpClient, HttpRequest, HttpResponse, SharedClock};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::rules::{Rule, RuleOutcome};
use super::ui;
use crate::types::{
    ActionCode, ChallengeId, ChallengeToken, IdempotencyKey, SecretKey, Timestamp, UserId,
    VerificationCode, VerificationMethod,
};
use crate::webhook;

/// The provider name (in pending step-ups and control errors).
const PROVIDER: &str = "authsignal";

/// The 401 body for a refused secret key: the real API's (spec §3.1, verbatim) plus the
/// seed era's `message`, which every error body of the emulator carries (Python 0.1.1 raises
/// `KeyError` without it).
pub const UNAUTHORIZED_BODY: &str = r#"{"error":"unauthorized","errorCode":"unauthorized","errorDescription":"The request is unauthorized. Check that your API key and region base URL are correctly configured.","message":"The request is unauthorized. Check that your API key and region base URL are correctly configured."}"#;

/// How many requests the request log keeps by default (the oldest are forgotten).
pub const DEFAULT_LOG_CAPACITY: usize = auth_core::emulator::DEFAULT_LOG_CAPACITY;

/// How many *settled* records of each kind a tenant keeps by default: finished actions (not
/// `CHALLENGE_REQUIRED` / `REVIEW_REQUIRED`), issued tokens, claimed or expired OTP
/// challenges, sessions, finished calls and undelivered webhooks. Older ones are forgotten
/// (expired ones first). A finished action nobody has read yet (with a get-action call) is
/// not counted and is kept until [`UNREAD_ANSWER_TTL`] after it settled, so a server that polls
/// thousands of step-ups never loses an answer; at most [`DEFAULT_PENDING_CAPACITY`] (the
/// pending limit) unread ones are kept. See [`Model::set_retention`].
pub const DEFAULT_SETTLED_CAPACITY: usize = 1000;

/// How many *pending* records of each kind a tenant keeps by default: actions waiting for a
/// challenge or a review, live OTP challenges, unfinished calls, and users without
/// authenticators. Beyond it the oldest are forgotten. See [`Model::set_pending_limit`].
pub const DEFAULT_PENDING_CAPACITY: usize = 10_000;

const TOKEN_TTL: i64 = 600;
/// How long (seconds) a finished action nobody has read yet is kept whatever the retention: as
/// long as the challenge token it produced is valid.
pub const UNREAD_ANSWER_TTL: i64 = TOKEN_TTL;
const SESSION_TTL: i64 = 3600;
const MAX_OTP_ATTEMPTS: u32 = 3;
/// The devices a user keeps (the oldest go first).
const MAX_DEVICES_PER_USER: usize = 100;
/// The longest title or message a challenge page shows (characters).
const MAX_PAGE_TEXT: usize = 200;

/// A text for the challenge page, cut to [`MAX_PAGE_TEXT`] characters.
fn short(s: &str) -> String {
    s.chars().take(MAX_PAGE_TEXT).collect()
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
    /// Creation order in the tenant (the oldest authenticator-less users go first).
    seq: u64,
}

/// The user `id` of a tenant, created (in creation order) when unknown.
fn user_entry<'u>(
    users: &'u mut BTreeMap<String, User>,
    next_seq: &mut u64,
    id: &str,
) -> &'u mut User {
    users.entry(id.to_owned()).or_insert_with(|| {
        *next_seq += 1;
        User {
            seq: *next_seq,
            ..User::default()
        }
    })
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
    /// Where the pre-built UI sends the browser afterwards (track's `redirectUrl`).
    redirect_url: Option<String>,
    /// What the challenge page shows (track's `custom.title` / `custom.message`).
    title: Option<String>,
    message: Option<String>,
    /// The challenge page's URL, as track handed it out.
    page: Option<String>,
    /// The server has read the settled state once (get action); until then a settled action
    /// is not forgettable before [`UNREAD_ANSWER_TTL`].
    fetched: bool,
}

impl Action {
    /// Moves the action to `state` at `now`: an answer the server has not read yet.
    fn set_state(&mut self, state: String, now: i64) {
        self.state = state;
        self.state_updated_at = now;
        self.fetched = false;
        self.updated_at = now;
    }

    /// Settled, and either read by the server or settled longer than [`UNREAD_ANSWER_TTL`] ago.
    fn forgettable(&self, now: i64) -> bool {
        !is_pending(&self.state)
            && (self.fetched || now >= self.state_updated_at.saturating_add(UNREAD_ANSWER_TTL))
    }
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
    next_seq: u64,
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
            next_seq: 0,
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
    if items.len() <= keep {
        return; // fewer settled than `keep` whatever they are: nothing to count
    }
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
    /// Forgets settled records beyond `keep` of each kind, expired ones first, and pending
    /// ones beyond `pending`, oldest first: what the emulator holds stays bounded however many
    /// requests it serves.
    fn prune(&mut self, now: i64, keep: usize, pending: usize) {
        keep_newest_settled(&mut self.actions, keep, |a| a.forgettable(now));
        // Unread answers are kept until their time to live, but never more than `pending` of
        // them (a server that never reads cannot grow the emulator without bound).
        keep_newest_settled(&mut self.actions, pending, |a| {
            !is_pending(&a.state) && !a.forgettable(now)
        });
        keep_newest_settled(&mut self.actions, pending, |a| is_pending(&a.state));
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
        keep_newest_settled(&mut self.challenges, pending, |c| {
            !c.claimed && c.expires_at > now
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
        keep_newest_settled(&mut self.calls, pending, |c| c.state.is_none());
        let excess = self.outbox.len().saturating_sub(keep);
        self.outbox.drain(..excess);
        // Users a track or an update created, without authenticators: the oldest go first.
        if self.users.len() <= pending {
            return; // fewer bare users than `pending` whatever they are
        }
        let bare = self
            .users
            .values()
            .filter(|u| u.authenticators.is_empty())
            .count();
        if bare > pending {
            let mut by_age: Vec<(u64, String)> = self
                .users
                .iter()
                .filter(|(_, u)| u.authenticators.is_empty())
                .map(|(id, u)| (u.seq, id.clone()))
                .collect();
            by_age.sort();
            for (_, id) in by_age.into_iter().take(bare - pending) {
                self.users.remove(&id);
            }
        }
    }
}

/// What the emulator holds, summed over its tenants (see [`Model::stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmulatorStats {
    /// Users (with or without authenticators).
    pub users: usize,
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
    /// Requests in the request log.
    pub logged_requests: usize,
    /// Track requests that reached the model (all tenants, replays included).
    pub track_requests: usize,
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

/// The model's mutable state, behind one lock.
struct State {
    tenants: Vec<Tenant>,
    track_requests: usize,
    webhook_url: Option<String>,
    extra_webhook_secret: Option<SecretKey>,
    settled_capacity: usize,
    pending_capacity: usize,
}

/// What [`Model::new`] starts with; [`super::EmulatorBuilder`] sets it.
pub(crate) struct Settings {
    pub(crate) clock: Option<SharedClock>,
    pub(crate) secret: Option<SecretKey>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) log_capacity: usize,
    pub(crate) settled_capacity: usize,
    pub(crate) pending_capacity: usize,
    pub(crate) public_url: Option<String>,
    pub(crate) webhook_url: Option<String>,
    pub(crate) webhook_client: Option<Arc<dyn HttpClient>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            clock: None,
            secret: None,
            rules: Vec::new(),
            log_capacity: DEFAULT_LOG_CAPACITY,
            settled_capacity: DEFAULT_SETTLED_CAPACITY,
            pending_capacity: DEFAULT_PENDING_CAPACITY,
            public_url: None,
            webhook_url: None,
            webhook_client: None,
        }
    }
}

/// The Authsignal Server API as a protocol model (an [`auth_core::emulator::Model`]): one
/// tenant to start with (a random secret key), rules, users and authenticators, tracked
/// actions, tokens and `/validate`, OTP challenges, sessions, devices, CallConnect, signed
/// webhooks, and the pre-built challenge UI as an HTML page at `/ui/challenge`.
///
/// It runs on an injected clock (default: real time, which `advance_clock` moves) and keeps
/// a bounded request log and bounded records (see [`DEFAULT_SETTLED_CAPACITY`],
/// [`DEFAULT_PENDING_CAPACITY`]). `Send + Sync + 'static`: serve it with
/// [`auth_core::emulator::serve`], call it with [`auth_core::emulator::InProcess`], or let
/// [`super::Emulator`] do both.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::sync::Arc;
/// use auth_core::emulator::{Control, InProcess, Model as _};
/// use authsignal::emulator::Model;
/// use authsignal::{Client, UserId};
///
/// let model = Arc::new(Model::new());
/// model.control(Control::SetRules { rules: serde_json::json!([{"id": "r", "outcome": "BLOCK"}]) }).unwrap();
/// let client = Client::builder(model.secret())
///     .base_url("http://127.0.0.1:9/v1") // never dialled: the requests go to the model
///     .http_client(Arc::new(InProcess::new(model.clone())))
///     .build()
///     .unwrap();
/// let user = client.get_user(&UserId::new("ada").unwrap()).await.unwrap();
/// assert!(!user.is_enrolled);
/// # }
/// ```
pub struct Model {
    state: Mutex<State>,
    clock: SharedClock,
    /// How far `advance_clock` moved the model's time past its clock's.
    offset: Mutex<Duration>,
    faults: Faults,
    log: RequestLog,
    public_url: Option<String>,
    webhook_client: Option<Arc<dyn HttpClient>>,
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("tenants", &lock(&self.state).tenants.len())
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl Default for Model {
    fn default() -> Self {
        Model::new()
    }
}

/// The model's JSON answer (exactly `application/json`: Python 4.x only decodes that media
/// type).
fn reply((status, body): Reply) -> HttpResponse {
    json_response(status, &body)
}

/// Sends the browser to `location`.
fn see_other(location: &str) -> HttpResponse {
    let mut response = http::Response::new(Vec::new());
    *response.status_mut() = http::StatusCode::SEE_OTHER;
    if let Ok(location) = http::HeaderValue::from_str(location) {
        response
            .headers_mut()
            .insert(http::header::LOCATION, location);
    }
    response
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

/// The API error code the emulator answers an injected status with.
fn fault_code(status: u16) -> &'static str {
    match status {
        400 | 422 => "invalid_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        429 => "too_many_requests",
        500..=599 => "internal_error",
        _ => "error",
    }
}

/// `(tenant, action)` of the action `key` answers to: a pending one first.
fn find_by_key(st: &State, key: &str) -> Option<(usize, usize)> {
    let mut settled = None;
    for (ti, t) in st.tenants.iter().enumerate() {
        for (ai, a) in t.actions.iter().enumerate() {
            if a.key == key {
                if is_pending(&a.state) {
                    return Some((ti, ai));
                }
                settled.get_or_insert((ti, ai));
            }
        }
    }
    settled
}

/// Ends the challenge of action `ix` (`CHALLENGE_REQUIRED`) in state `to`; returns the token
/// the pre-built UI appends to the redirect URL.
fn finish_challenge(
    t: &mut Tenant,
    ix: usize,
    method: Option<String>,
    to: &str,
    now: i64,
) -> Result<String, ControlError> {
    let a = t
        .actions
        .get_mut(ix)
        .ok_or_else(|| ControlError::NotFound {
            what: "action",
            id: String::new(),
        })?;
    if a.state != "CHALLENGE_REQUIRED" {
        return Err(ControlError::Conflict(format!(
            "the action is in state {}, not CHALLENGE_REQUIRED",
            a.state
        )));
    }
    a.set_state(to.to_owned(), now);
    a.verification_method = method.clone();
    let (user, code, key, device) = (
        a.user.clone(),
        a.code.clone(),
        a.key.clone(),
        a.device_id.clone(),
    );
    if let (Some(m), Some(d)) = (&method, device)
        && let Some(u) = t.users.get_mut(&user)
        && let Some(dev) = u.devices.iter_mut().find(|x| x.id == d)
    {
        dev.authenticated_at = Some(now);
        dev.last_method = Some(m.clone());
    }
    Ok(issue_token(t, &user, &code, &key, now))
}

/// The default (first) tenant.
fn default_tenant(st: &mut State) -> Result<&mut Tenant, ControlError> {
    st.tenants
        .first_mut()
        .ok_or_else(|| ControlError::NotFound {
            what: "tenant",
            id: String::new(),
        })
}

/// The method an approval is made with: the user's first enrolled one, else SMS.
fn approval_method(t: &Tenant, user: &str) -> String {
    t.users
        .get(user)
        .and_then(|u| u.authenticators.first())
        .map(|a| a.method.clone())
        .unwrap_or_else(|| "SMS".to_owned())
}

/// A webhook POST as Authsignal sends it: JSON body, `X-Signature-V2` with one `v2` per secret.
fn signed_webhook(
    url: &str,
    secrets: &[&SecretKey],
    now: i64,
    body: Vec<u8>,
) -> Result<HttpRequest, ControlError> {
    let header = webhook::sign_header(secrets, now, &body);
    http::Request::post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(webhook::SIGNATURE_HEADER, header)
        .body(body)
        .map_err(|e| ControlError::Invalid(format!("webhook URL: {e}")))
}

impl Model {
    /// A model with one tenant (a random secret key), no rules, real time, and the default
    /// retention.
    pub fn new() -> Self {
        Model::from_settings(Settings::default())
    }

    pub(crate) fn from_settings(s: Settings) -> Self {
        let secret = s
            .secret
            .unwrap_or_else(|| SecretKey::new(random_token("sk_emu_")));
        let mut tenant = Tenant::new(secret);
        tenant.rules = s.rules;
        Model {
            state: Mutex::new(State {
                tenants: vec![tenant],
                track_requests: 0,
                webhook_url: s.webhook_url,
                extra_webhook_secret: None,
                settled_capacity: s.settled_capacity,
                pending_capacity: s.pending_capacity,
            }),
            clock: s.clock.unwrap_or_else(auth_core::clock::system_clock),
            offset: Mutex::new(Duration::ZERO),
            faults: Faults::default(),
            log: RequestLog::with_capacity(s.log_capacity),
            public_url: s.public_url.map(|u| u.trim_end_matches('/').to_owned()),
            webhook_client: s.webhook_client,
        }
    }

    /// The model's time: its clock, plus what `advance_clock` added.
    fn now(&self) -> SystemTime {
        self.clock.now() + *lock(&self.offset)
    }

    fn unix_now(&self) -> i64 {
        auth_core::time::Timestamp::from_system_time(self.now()).unix_seconds()
    }

    /// `scheme://host:port` for the links the model hands out: the public URL it was given,
    /// else where the request went (an absolute URI, or the `Host` header over plain HTTP).
    fn origin(&self, parts: &http::request::Parts) -> String {
        if let Some(url) = &self.public_url {
            return url.clone();
        }
        if let (Some(scheme), Some(authority)) = (parts.uri.scheme_str(), parts.uri.authority()) {
            return format!("{scheme}://{authority}");
        }
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
            .unwrap_or("127.0.0.1");
        format!("http://{host}")
    }

    /// The default tenant's secret key.
    pub fn secret(&self) -> SecretKey {
        lock(&self.state)
            .tenants
            .first()
            .map(|t| t.secret.clone())
            .unwrap_or_else(|| SecretKey::new(""))
    }

    /// The default tenant's id.
    pub fn tenant_id(&self) -> String {
        lock(&self.state)
            .tenants
            .first()
            .map(|t| t.id.clone())
            .unwrap_or_default()
    }

    /// Adds a tenant with its own key and data; returns its id.
    pub fn add_tenant(&self, secret: SecretKey) -> String {
        let t = Tenant::new(secret);
        let id = t.id.clone();
        lock(&self.state).tenants.push(t);
        id
    }

    /// Runs `f` on the default tenant.
    fn with_default<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> Option<R> {
        lock(&self.state).tenants.first_mut().map(f)
    }

    /// Adds a rule to the default tenant (the `set_rules` command replaces them all).
    pub fn add_rule(&self, rule: Rule) {
        self.with_default(|t| t.rules.push(rule));
    }

    /// Removes every rule of the default tenant.
    pub fn clear_rules(&self) {
        self.with_default(|t| t.rules.clear());
    }

    /// How many actions the default tenant holds.
    pub fn action_count(&self) -> usize {
        self.with_default(|t| t.actions.len()).unwrap_or_default()
    }

    /// How many track requests reached the model (all tenants, replays included).
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
    ) -> Result<ChallengeToken, ControlError> {
        let method = method.as_str().to_owned();
        self.end_challenge(user, action, key, Some(method), "CHALLENGE_SUCCEEDED")
    }

    /// Plays the user failing the challenge; returns the redirect token.
    pub fn fail_challenge(
        &self,
        user: &UserId,
        action: &ActionCode,
        key: &IdempotencyKey,
    ) -> Result<ChallengeToken, ControlError> {
        self.end_challenge(user, action, key, None, "CHALLENGE_FAILED")
    }

    fn end_challenge(
        &self,
        user: &UserId,
        action: &ActionCode,
        key: &IdempotencyKey,
        method: Option<String>,
        to: &str,
    ) -> Result<ChallengeToken, ControlError> {
        let now = self.unix_now();
        let mut st = lock(&self.state);
        let t = default_tenant(&mut st)?;
        let ix = t
            .actions
            .iter()
            .position(|a| {
                a.user == user.as_str() && a.code == action.as_str() && a.key == key.as_str()
            })
            .ok_or_else(|| ControlError::NotFound {
                what: "action",
                id: key.as_str().to_owned(),
            })?;
        finish_challenge(t, ix, method, to, now).map(ChallengeToken::new)
    }

    /// The code of an OTP challenge (what the user received).
    pub fn otp_code(&self, challenge: &ChallengeId) -> Option<VerificationCode> {
        lock(&self.state).tenants.iter().find_map(|t| {
            t.challenges
                .iter()
                .find(|c| c.id == challenge.as_str())
                .map(|c| VerificationCode::new(c.code.clone()))
        })
    }

    /// The state a CallConnect call was finished with (`None`: unknown or not finished).
    pub fn call_state(&self, reference_id: &str) -> Option<String> {
        lock(&self.state).tenants.iter().find_map(|t| {
            t.calls
                .iter()
                .find(|c| c.reference == reference_id)
                .and_then(|c| c.state.clone())
        })
    }

    /// Delivers the default tenant's webhooks to `url` (see [`Model::deliver_webhooks`]).
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        lock(&self.state).webhook_url = Some(url.into());
    }

    /// Signs webhooks with `new_secret` as well as the tenant key (two `v2` values), as
    /// Authsignal does while a secret is rotated.
    pub fn rotate_webhook_secret(&self, new_secret: SecretKey) {
        lock(&self.state).extra_webhook_secret = Some(new_secret);
    }

    /// The raw bodies of the default tenant's events waiting for delivery.
    pub fn pending_webhooks(&self) -> Vec<Vec<u8>> {
        self.with_default(|t| t.outbox.clone()).unwrap_or_default()
    }

    /// Takes the waiting events out of the queue as the signed POSTs Authsignal would send to
    /// the webhook URL (for a test that delivers them itself).
    pub fn take_webhooks(&self) -> Result<Vec<HttpRequest>, ControlError> {
        let now = self.unix_now();
        let mut st = lock(&self.state);
        let url = st
            .webhook_url
            .clone()
            .ok_or_else(|| ControlError::Conflict("no webhook URL set".into()))?;
        let extra = st.extra_webhook_secret.clone();
        let Some(t) = st.tenants.first_mut() else {
            return Ok(Vec::new());
        };
        let mut secrets = vec![t.secret.clone()];
        secrets.extend(extra);
        let refs: Vec<&SecretKey> = secrets.iter().collect();
        std::mem::take(&mut t.outbox)
            .into_iter()
            .map(|body| signed_webhook(&url, &refs, now, body))
            .collect()
    }

    /// Posts every queued event (signed, `X-Signature-V2`) to the webhook URL with the
    /// model's webhook client (default: auth-core's reqwest client); returns the HTTP
    /// statuses. Events answered with a non-2xx status stay queued, in order.
    pub async fn deliver_webhooks(&self) -> Result<Vec<u16>, ControlError> {
        let requests = self.take_webhooks()?;
        let client: Arc<dyn HttpClient> = match &self.webhook_client {
            Some(c) => c.clone(),
            None => Arc::new(
                auth_core::ReqwestClient::new(&auth_core::HttpConfig::default())
                    .map_err(|e| ControlError::Conflict(e.to_string()))?,
            ),
        };
        let mut statuses = Vec::new();
        let mut failed = Vec::new();
        let mut queue = requests.into_iter();
        let mut error = None;
        while let Some(request) = queue.next() {
            let body = request.body().clone();
            match client.execute(request).await {
                Ok(r) => {
                    statuses.push(r.status().as_u16());
                    if !r.status().is_success() {
                        failed.push(body);
                    }
                }
                Err(e) => {
                    // Keep this event and every one not tried yet, in order.
                    failed.push(body);
                    failed.extend(queue.map(|r| r.into_body()));
                    error = Some(ControlError::Conflict(format!(
                        "webhook delivery failed: {e}"
                    )));
                    break;
                }
            }
        }
        self.with_default(|t| {
            let newer = std::mem::take(&mut t.outbox);
            t.outbox.extend(failed);
            t.outbox.extend(newer);
        });
        match error {
            Some(e) => Err(e),
            None => Ok(statuses),
        }
    }

    /// What the model holds right now, summed over its tenants.
    pub fn stats(&self) -> EmulatorStats {
        let st = lock(&self.state);
        let mut s = EmulatorStats {
            logged_requests: self.log.len(),
            track_requests: st.track_requests,
            ..EmulatorStats::default()
        };
        for t in &st.tenants {
            s.users += t.users.len();
            s.actions += t.actions.len();
            s.pending_actions += t.actions.iter().filter(|a| is_pending(&a.state)).count();
            s.tokens += t.tokens.len();
            s.challenges += t.challenges.len();
            s.sessions += t.sessions.len();
            s.pending_webhooks += t.outbox.len();
        }
        s
    }

    /// The most recent requests, oldest first (method, path with query values redacted,
    /// status; never headers or bodies).
    pub fn received(&self) -> Vec<LogEntry> {
        self.log.recent(None)
    }

    /// Sets how many requests the log keeps (at least one), and how many settled records of
    /// each kind every tenant keeps (see [`DEFAULT_SETTLED_CAPACITY`]). Takes effect at once.
    pub fn set_retention(&self, log: usize, settled: usize) {
        self.log.set_capacity(log);
        let now = self.unix_now();
        let mut st = lock(&self.state);
        st.settled_capacity = settled;
        let pending = st.pending_capacity;
        for t in &mut st.tenants {
            t.prune(now, settled, pending);
        }
    }

    /// Sets how many pending records of each kind every tenant keeps (see
    /// [`DEFAULT_PENDING_CAPACITY`]). Takes effect at once.
    pub fn set_pending_limit(&self, pending: usize) {
        let now = self.unix_now();
        let mut st = lock(&self.state);
        st.pending_capacity = pending;
        let settled = st.settled_capacity;
        for t in &mut st.tenants {
            t.prune(now, settled, pending);
        }
    }

    /// Runs a control command (auth-core's vocabulary): see the module docs for what each
    /// command does here.
    pub fn control(&self, command: Control) -> Result<Value, ControlError> {
        match command {
            Control::AddUser { user, details } => self.add_user(&user, &details),
            Control::Approve { id } => self.decide(&id, true),
            Control::Deny { id, .. } | Control::Fail { id, .. } => self.decide(&id, false),
            Control::Expire { id } => self.expire(&id),
            Control::SetRules { rules } => {
                let list = rules
                    .as_array()
                    .ok_or_else(|| ControlError::Invalid("rules are a JSON list".into()))?
                    .iter()
                    .map(Rule::from_json)
                    .collect::<Result<Vec<_>, _>>()?;
                let n = list.len();
                self.with_default(|t| t.rules = list);
                Ok(json!({"rules": n}))
            }
            Control::RotateKeys => {
                let secret = SecretKey::new(random_token("whsec_emu_"));
                let shown = secret.expose_secret().to_owned();
                self.rotate_webhook_secret(secret);
                Ok(json!({"webhook_secret": shown}))
            }
            Control::InjectFault { fault } => self.faults.inject_command(fault),
            Control::AdvanceClock { seconds } => {
                {
                    let mut offset = lock(&self.offset);
                    *offset = offset.saturating_add(Duration::from_secs(seconds));
                }
                Ok(auth_core::emulator::clock_answer(self.now()))
            }
            Control::ReadLog { limit } => self.log.read(limit),
            Control::ListPending => auth_core::emulator::pending_answer(&self.pending()),
            Control::Provider { body } => self.provider_command(&body),
            other => Err(ControlError::Unsupported {
                provider: PROVIDER,
                command: other.name(),
            }),
        }
    }

    /// The challenges waiting for the user (actions in `CHALLENGE_REQUIRED`), with what the
    /// challenge page shows, oldest first. Their id is the action's idempotency key.
    pub fn pending(&self) -> Vec<PendingStepUp> {
        let st = lock(&self.state);
        let mut out = Vec::new();
        for t in &st.tenants {
            for a in t.actions.iter().filter(|a| a.state == "CHALLENGE_REQUIRED") {
                let expires = t
                    .tokens
                    .values()
                    .filter(|i| i.user == a.user && i.action == a.code && i.key == a.key)
                    .map(|i| i.expires_at)
                    .max();
                let mut p = PendingStepUp::new(
                    PROVIDER,
                    a.key.as_str(),
                    a.user.as_str(),
                    ui::message(a.message.as_deref(), &a.code),
                    auth_core::time::Timestamp::from_unix(a.created_at).to_system_time(),
                )
                .with_title(ui::title(a.title.as_deref()));
                if let Some(e) = expires {
                    p = p.with_expiry(auth_core::time::Timestamp::from_unix(e).to_system_time());
                }
                if let Some(page) = &a.page {
                    p = p.with_page(page.as_str());
                }
                out.push(p);
            }
        }
        out.sort_by_key(|p| p.created_at);
        out
    }

    /// `add_user`: enrols a verified authenticator (SMS to `details.phone_number`, or an
    /// e-mail OTP to `details.email`; an SMS to a made-up number without details).
    fn add_user(&self, user: &str, details: &Value) -> Result<Value, ControlError> {
        UserId::new(user).map_err(|e| ControlError::Invalid(e.to_string()))?;
        let body = if let Some(email) = details.get("email").and_then(Value::as_str) {
            json!({"verificationMethod": "EMAIL_OTP", "email": email})
        } else {
            let phone = details
                .get("phone_number")
                .and_then(Value::as_str)
                .unwrap_or("+64270000000");
            json!({"verificationMethod": "SMS", "phoneNumber": phone})
        };
        let now = self.unix_now();
        let mut st = lock(&self.state);
        let t = default_tenant(&mut st)?;
        let query = HashMap::new();
        let mut ctx = Ctx {
            t,
            now,
            origin: "",
            body: &body,
            query: &query,
        };
        match ctx.enroll(user) {
            Ok((_, answer)) => Ok(json!({"user": user, "authenticator": answer["authenticator"]})),
            Err((_, e)) => Err(ControlError::Invalid(e["errorDescription"].to_string())),
        }
    }

    /// `approve` / `deny`: the user (or, for a review, the operator) decides the action whose
    /// idempotency key is `id`.
    fn decide(&self, id: &str, approve: bool) -> Result<Value, ControlError> {
        let now = self.unix_now();
        let mut st = lock(&self.state);
        let (ti, ai) = find_by_key(&st, id).ok_or_else(|| ControlError::NotFound {
            what: "action",
            id: id.to_owned(),
        })?;
        let t = &mut st.tenants[ti];
        let state = t.actions[ai].state.clone();
        if state == "REVIEW_REQUIRED" {
            let to = if approve {
                "REVIEW_SUCCEEDED"
            } else {
                "REVIEW_FAILED"
            };
            let a = &mut t.actions[ai];
            a.set_state(to.to_owned(), now);
            return Ok(json!({"id": id, "state": to}));
        }
        let (method, to) = if approve {
            let user = t.actions[ai].user.clone();
            (Some(approval_method(t, &user)), "CHALLENGE_SUCCEEDED")
        } else {
            (None, "CHALLENGE_FAILED")
        };
        let token = finish_challenge(t, ai, method, to, now)?;
        Ok(json!({"id": id, "state": to, "token": token}))
    }

    /// `expire`: every token of the action `id` runs out now (its state stays: an abandoned
    /// challenge stays `CHALLENGE_REQUIRED` on the platform too).
    fn expire(&self, id: &str) -> Result<Value, ControlError> {
        let now = self.unix_now();
        let mut st = lock(&self.state);
        let (ti, ai) = find_by_key(&st, id).ok_or_else(|| ControlError::NotFound {
            what: "action",
            id: id.to_owned(),
        })?;
        let t = &mut st.tenants[ti];
        let (user, code) = (t.actions[ai].user.clone(), t.actions[ai].code.clone());
        let mut n = 0;
        for info in t.tokens.values_mut() {
            if info.user == user && info.action == code && info.key == id && info.expires_at > now {
                info.expires_at = now;
                n += 1;
            }
        }
        Ok(json!({"id": id, "expired_tokens": n}))
    }

    /// Authsignal's own commands (`{"command": "provider", "body": {...}}`).
    fn provider_command(&self, body: &Value) -> Result<Value, ControlError> {
        let s = |k: &str| body.get(k).and_then(Value::as_str);
        if let Some(url) = s("webhook_url") {
            self.set_webhook_url(url);
            return Ok(json!({"webhook_url": url}));
        }
        if body.get("take_webhooks").is_some() {
            let list: Vec<Value> = self
                .take_webhooks()?
                .iter()
                .map(|r| {
                    // auth-core's request JSON, and the whole URL the webhook went to.
                    let mut hook = request_json(r);
                    hook["url"] = json!(r.uri().to_string());
                    hook
                })
                .collect();
            return Ok(Value::Array(list));
        }
        if let Some(c) = s("otp_code") {
            let id = ChallengeId::new(c).map_err(|e| ControlError::Invalid(e.to_string()))?;
            let code = self.otp_code(&id).ok_or_else(|| ControlError::NotFound {
                what: "challenge",
                id: c.to_owned(),
            })?;
            return Ok(json!({"code": code.expose_secret()}));
        }
        if let Some(r) = body.get("set_retention") {
            let n = |k: &str| {
                r.get(k)
                    .and_then(Value::as_u64)
                    .map(|v| usize::try_from(v).unwrap_or(usize::MAX))
            };
            let (Some(log), Some(settled)) = (n("log"), n("settled")) else {
                return Err(ControlError::Invalid(
                    "set_retention takes {\"log\": n, \"settled\": n, \"pending\"?: n}".into(),
                ));
            };
            self.set_retention(log, settled);
            if let Some(p) = n("pending") {
                self.set_pending_limit(p);
            }
            return Ok(json!({"log": log, "settled": settled}));
        }
        if body.get("stats").is_some() {
            return serde_json::to_value(self.stats())
                .map_err(|e| ControlError::Invalid(e.to_string()));
        }
        if let Some(secret) = s("add_tenant") {
            let id = self.add_tenant(SecretKey::new(secret));
            return Ok(json!({"tenant_id": id}));
        }
        if let Some(reference) = s("call_state") {
            return Ok(json!({"state": self.call_state(reference)}));
        }
        Err(ControlError::Invalid(
            "authsignal's provider commands: {\"webhook_url\": url}, {\"take_webhooks\": true}, \
             {\"otp_code\": challengeId}, {\"set_retention\": {\"log\", \"settled\", \"pending\"?}}, \
             {\"stats\": true}, {\"add_tenant\": secret}, {\"call_state\": referenceId}"
                .into(),
        ))
    }

    /// One request in, one answer out; every tenant that served it is pruned afterwards.
    fn respond(&self, parts: &http::request::Parts, body: &[u8]) -> HttpResponse {
        let now = self.unix_now();
        let origin = self.origin(parts);
        let mut st = lock(&self.state);
        let path = parts.uri.path();
        let (answer, tenant) = if path == "/ui/challenge" || path == "/ui/settings" {
            ui_request(&mut st, now, parts, body)
        } else {
            self.api(&mut st, now, &origin, parts, body)
        };
        let (keep, pending) = (st.settled_capacity, st.pending_capacity);
        if let Some(t) = tenant.and_then(|ix| st.tenants.get_mut(ix)) {
            t.prune(now, keep, pending);
        }
        answer
    }

    /// The Server API (and CallConnect): Basic authentication, faults, routing.
    fn api(
        &self,
        st: &mut State,
        now: i64,
        origin: &str,
        parts: &http::request::Parts,
        body: &[u8],
    ) -> (HttpResponse, Option<usize>) {
        let unauthorized = || {
            let mut response = json_response(401, &Value::Null);
            *response.body_mut() = UNAUTHORIZED_BODY.as_bytes().to_vec();
            response
        };
        let Some(secret) = basic_secret(&parts.headers) else {
            return (unauthorized(), None);
        };
        let Some(tenant_ix) = st.tenants.iter().position(|t| t.secret.matches(&secret)) else {
            return (unauthorized(), None);
        };
        let path = parts.uri.path();
        if let Some(fault) = self.faults.take(path) {
            let status = fault.status().as_u16();
            let mut answer = reply(error(
                status,
                fault_code(status),
                "Injected by the emulator.",
            ));
            if let Some(ra) = fault.headers().get(http::header::RETRY_AFTER) {
                answer
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, ra.clone());
            }
            return (answer, Some(tenant_ix));
        }
        let path = path.strip_prefix("/v1").unwrap_or(path);
        let Some(segments) = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| auth_core::base_url::percent_decode(s, false))
            .collect::<Option<Vec<String>>>()
        else {
            return (reply(bad_request("Malformed path.")), Some(tenant_ix));
        };
        let query: HashMap<String, String> =
            url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let body: Value = if body.is_empty() {
            Value::Object(Map::new())
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Null) => Value::Object(Map::new()),
                Ok(v @ Value::Object(_)) => v,
                Ok(_) | Err(_) => {
                    return (
                        reply(bad_request("The request body must be a JSON object.")),
                        Some(tenant_ix),
                    );
                }
            }
        };
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let method = parts.method.as_str();
        if method == "POST" && matches!(segs.as_slice(), ["users", _, "actions", _]) {
            st.track_requests += 1;
        }
        let t = &mut st.tenants[tenant_ix];
        let mut ctx = Ctx {
            t,
            now,
            origin,
            body: &body,
            query: &query,
        };
        (reply(ctx.route(method, &segs)), Some(tenant_ix))
    }
}

/// The pre-built UI: `GET /ui/challenge?token=…` shows the challenge, `POST /ui/challenge`
/// (a form: `token`, `decision` = `approve` | `deny`) ends it and sends the browser back to
/// the track's `redirectUrl` with a fresh `?token=`; `GET /ui/settings` lists the user's
/// authenticators. No Basic authentication: the token is the capability.
fn ui_request(
    st: &mut State,
    now: i64,
    parts: &http::request::Parts,
    body: &[u8],
) -> (HttpResponse, Option<usize>) {
    let mut form: HashMap<String, String> =
        url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    if parts.method == http::Method::POST {
        form.extend(url::form_urlencoded::parse(body).into_owned());
    }
    let token = form.get("token").map(String::as_str).unwrap_or_default();
    let found = st.tenants.iter().enumerate().find_map(|(ti, t)| {
        let info = t.tokens.get(token).filter(|i| i.expires_at > now)?;
        let ai = t
            .actions
            .iter()
            .position(|a| a.user == info.user && a.code == info.action && a.key == info.key);
        Some((ti, ai, info.user.clone()))
    });
    let settings = parts.uri.path() == "/ui/settings";
    let Some((ti, ai, user)) = found else {
        return (html_response(404, ui::invalid_link()), None);
    };
    if settings {
        let t = &st.tenants[ti];
        let methods: Vec<String> = t
            .users
            .get(&user)
            .map(|u| u.authenticators.iter().map(|a| a.method.clone()).collect())
            .unwrap_or_default();
        let back = form.get("redirectUrl").map(String::as_str);
        return (
            html_response(200, ui::settings_page(&user, &methods, back)),
            Some(ti),
        );
    }
    let Some(ai) = ai else {
        return (html_response(404, ui::invalid_link()), Some(ti));
    };
    let t = &mut st.tenants[ti];
    let a = &t.actions[ai];
    if a.state != "CHALLENGE_REQUIRED" {
        return (
            html_response(200, ui::finished_page(&a.state, true)),
            Some(ti),
        );
    }
    match (&parts.method, form.get("decision").map(String::as_str)) {
        (&http::Method::GET, _) => {
            let page = ui::challenge_page(
                &ui::title(a.title.as_deref()),
                &ui::message(a.message.as_deref(), &a.code),
                &a.user,
                token,
            );
            (html_response(200, page), Some(ti))
        }
        (&http::Method::POST, Some(decision @ ("approve" | "deny"))) => {
            let approve = decision == "approve";
            let redirect = a.redirect_url.clone();
            let (method, to) = if approve {
                let u = a.user.clone();
                (Some(approval_method(t, &u)), "CHALLENGE_SUCCEEDED")
            } else {
                (None, "CHALLENGE_FAILED")
            };
            let fresh = match finish_challenge(t, ai, method, to, now) {
                Ok(token) => token,
                Err(e) => return (html_response(409, ui::error_page(&e.to_string())), Some(ti)),
            };
            let back = redirect
                .and_then(|r| url::Url::parse(&r).ok())
                .map(|mut u| {
                    u.query_pairs_mut().append_pair("token", &fresh);
                    u.to_string()
                });
            match back {
                Some(location) => (see_other(&location), Some(ti)),
                None => (html_response(200, ui::finished_page(to, false)), Some(ti)),
            }
        }
        _ => (
            html_response(400, ui::error_page("Choose approve or deny.")),
            Some(ti),
        ),
    }
}

#[auth_core::async_trait]
impl auth_core::emulator::Model for Model {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn handle(&self, request: HttpRequest) -> HttpResponse {
        self.log
            .answer(self.now(), request, |r| async move {
                let (parts, body) = r.into_parts();
                self.respond(&parts, &body)
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

/// One API request, for one tenant.
struct Ctx<'a> {
    t: &'a mut Tenant,
    now: i64,
    /// `scheme://host:port` of the emulator as the client reached it (for the UI links).
    origin: &'a str,
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
        let redirect_url = str_field(b, "redirectUrl")?.map(str::to_owned);
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
                let u = user_entry(&mut self.t.users, &mut self.t.next_seq, user);
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
                let new_device = device.is_some() && !known_device;
                let mut outcome = RuleOutcome::Allow;
                let mut rule_ids = Vec::new();
                for r in &self.t.rules {
                    if r.matches(code, ip, &custom, new_device) {
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
                    if u.devices.len() >= MAX_DEVICES_PER_USER {
                        u.devices.remove(0);
                    }
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
                    redirect_url,
                    title: custom.get("title").and_then(Value::as_str).map(short),
                    message: custom.get("message").and_then(Value::as_str).map(short),
                    page: None,
                    // An action settled at once was answered by track itself.
                    fetched: !is_pending(state),
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
        let url = format!("{}/ui/challenge?token={token}", self.origin);
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
            self.t.actions[ix].page = Some(url);
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
        let body = self.action_json(&self.t.actions[ix]);
        let a = &mut self.t.actions[ix];
        if !is_pending(&a.state) {
            a.fetched = true;
        }
        Ok((200, body))
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
        a.set_state(state.clone(), self.now);
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
            out["url"] = json!(format!("{}/ui/settings?{q}", self.origin));
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
        let u = user_entry(&mut self.t.users, &mut self.t.next_seq, user);
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
        let u = user_entry(&mut self.t.users, &mut self.t.next_seq, user);
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
            user_entry(&mut self.t.users, &mut self.t.next_seq, user)
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
        let u = user_entry(&mut self.t.users, &mut self.t.next_seq, &user);
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
            redirect_url: None,
            title: None,
            message: None,
            page: None,
            // Settled and answered in this very response.
            fetched: true,
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
