//! The protocol model: the credential server and the phone, request in, response out, on an
//! injected clock. No sockets: [`super::Emulator`] serves it on a loopback port, and
//! [`auth_core::emulator::InProcess`] hands it requests directly.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use auth_core::base_url::percent_decode;
use auth_core::emulator::{
    Control, ControlError, EmulatorClock, Faults, PendingStepUp, RequestLog, escape_html,
    html_response, json_response,
};
use auth_core::http_types::{Method, StatusCode, header};
use auth_core::sync::lock;
use auth_core::{Clock, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::keys::EmulatorKey;
use super::{
    Behaviour, EXPIRED_MESSAGE, EmulatorBuilder, EmulatorError, FAIL_MESSAGE, REJECT_MESSAGE,
    SignRecord,
};
use crate::b64;
use crate::client::{KEYS_PATH, SIGN_PAGE_PATH, SIGN_PAYLOAD_PATH};
use crate::key::{AuthorizedKey, KeyType};
use crate::request::{RESPONSE_PLACEHOLDER, RequestBlob, ResponseBlob};
use crate::stepup::PROVIDER;
use crate::wire::Writer;

/// The legacy key-listing path (Node SDK).
pub(crate) const LEGACY_KEYS_PATH: &str = "/authorizedKeys/";

/// The most sign requests waiting for an answer at once; beyond it the oldest expires.
pub(crate) const MAX_WAITING: usize = 10_000;

/// The most answered sign pages kept for the browser's return; beyond it the oldest goes.
pub(crate) const MAX_ANSWERED_PAGES: usize = 1_000;

/// How often a request waiting for a control command looks at the clock.
const EXPIRY_CHECK: Duration = Duration::from_millis(100);

/// How often the waiting sign page reloads itself, in seconds.
pub(crate) const PAGE_REFRESH_SECONDS: u64 = 1;

struct User {
    keys: Vec<Arc<EmulatorKey>>,
    behaviour: Behaviour,
    delay: Duration,
    listing: Option<String>,
}

impl User {
    /// The user's key with `fingerprint`.
    fn key(&self, fingerprint: &str) -> Result<Arc<EmulatorKey>, String> {
        self.keys
            .iter()
            .find(|k| k.public().fingerprint().as_str() == fingerprint)
            .cloned()
            .ok_or_else(|| "No key with that fingerprint".to_owned())
    }
}

/// A sign request the phone has not answered yet.
struct Waiting {
    id: String,
    principal: String,
    text: String,
    remote_name: String,
    created_at: SystemTime,
    /// When the server gives up (requests waiting for a control command only; an automatic
    /// answer comes after the user's delay).
    expires_at: Option<SystemTime>,
    /// The handler waiting for the answer (the direct flow, and a sign page held open while
    /// the user takes their time).
    answer: Option<oneshot::Sender<Behaviour>>,
    /// The sign page's request blob digest: the answer waits there for the browser's next
    /// visit.
    page: Option<[u8; 32]>,
}

struct State {
    users: HashMap<String, User>,
    waiting: VecDeque<Waiting>,
    /// The digests of the sign pages among `waiting` (a page's reload is found at once).
    waiting_pages: HashSet<[u8; 32]>,
    /// No request in `waiting` expires before this (it may be earlier than the first that
    /// does: answered requests leave without updating it).
    earliest_expiry: Option<SystemTime>,
    answered_pages: VecDeque<([u8; 32], Behaviour)>,
    records: VecDeque<SignRecord>,
    record_capacity: usize,
    padded_signatures: bool,
    padded_responses: bool,
    listing_requests: usize,
}

impl State {
    /// Keeps a sign request in the ring.
    fn record(&mut self, record: SignRecord) {
        if self.record_capacity == 0 {
            return;
        }
        while self.records.len() >= self.record_capacity {
            self.records.pop_front();
        }
        self.records.push_back(record);
    }

    /// Settles a waiting request (already out of `waiting`) with `answer`: to its handler, or
    /// to its page.
    fn settle(&mut self, waiting: Waiting, answer: Behaviour) {
        if let Some(digest) = &waiting.page {
            self.waiting_pages.remove(digest);
        }
        if let Some(tx) = waiting.answer {
            // The handler may be gone (the client hung up): nothing to tell then.
            let _ = tx.send(answer);
        } else if let Some(digest) = waiting.page {
            while self.answered_pages.len() >= MAX_ANSWERED_PAGES {
                self.answered_pages.pop_front();
            }
            self.answered_pages.push_back((digest, answer));
        }
    }

    /// Adds a waiting request; the oldest expires when there are too many.
    fn push_waiting(&mut self, waiting: Waiting) {
        while self.waiting.len() >= MAX_WAITING {
            if let Some(oldest) = self.waiting.pop_front() {
                self.settle(oldest, expired());
            }
        }
        if let Some(at) = waiting.expires_at {
            self.earliest_expiry = Some(self.earliest_expiry.map_or(at, |e| e.min(at)));
        }
        if let Some(digest) = waiting.page {
            self.waiting_pages.insert(digest);
        }
        self.waiting.push_back(waiting);
    }

    /// The keys that answer for `principal` with `fingerprint` (and the first key of another
    /// user, when the behaviour signs as them), cloned out of the lock.
    fn signer(&self, principal: &str, fingerprint: &str) -> Result<Arc<EmulatorKey>, String> {
        self.users
            .get(principal)
            .ok_or_else(|| not_registered(principal))?
            .key(fingerprint)
    }

    fn first_key_of(&self, principal: &str) -> Option<Arc<EmulatorKey>> {
        self.users.get(principal)?.keys.first().cloned()
    }
}

fn not_registered(principal: &str) -> String {
    format!("{principal} is not registered in the LogonBox Authenticator directory!")
}

/// What the phone answers when nobody answered in time.
fn expired() -> Behaviour {
    Behaviour::Fail {
        message: EXPIRED_MESSAGE.to_owned(),
    }
}

/// The LogonBox credential server and phone as a protocol model (feature `emulator`): HTTP
/// requests of the official clients in, responses out, [`Control`] commands to play the user,
/// an injected clock, no sockets.
///
/// Serve it with [`super::Emulator`] (a loopback port) or
/// [`auth_core::emulator::serve`] (any address; the emulator server adds TLS in front, the
/// model does not care about the scheme), or call it with no socket through
/// [`auth_core::emulator::InProcess`]. It is `Send + Sync + 'static` and works as
/// `Arc<dyn auth_core::emulator::Model>`.
///
/// Memory is bounded whatever the number of requests: the request log and the sign-request
/// log are rings, at most 10 000 requests wait for an answer (beyond, the oldest expires) and
/// at most a thousand answered sign pages wait for the browser; users, keys and behaviours
/// come from control commands only.
pub struct Model {
    clock: EmulatorClock,
    answer_timeout: Duration,
    state: Mutex<State>,
    faults: Faults,
    log: RequestLog,
    next_id: AtomicU64,
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Model")
            .field("clock", &self.clock)
            .field("answer_timeout", &self.answer_timeout)
            .field("users", &state.users.len())
            .field("waiting", &state.waiting.len())
            .finish_non_exhaustive()
    }
}

impl Default for Model {
    fn default() -> Self {
        Model::new()
    }
}

/// Removes a waiting request when its handler ends, however it ends (answered, or dropped
/// because the client hung up or timed out).
struct Withdraw<'a> {
    model: &'a Model,
    id: String,
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        lock(&self.model.state).waiting.retain(|w| w.id != self.id);
    }
}

/// What the phone shows: for the pending list and the waiting page.
struct Prompt {
    principal: String,
    text: String,
    remote_name: String,
}

/// The `provider` control command: settings of one user and of the server, each optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderCommand {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    behaviour: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    flags: Option<u32>,
    #[serde(default)]
    sign_as: Option<String>,
    #[serde(default)]
    delay_ms: Option<u64>,
    #[serde(default)]
    listing: Option<String>,
    #[serde(default)]
    remove: bool,
    #[serde(default)]
    padded_signatures: Option<bool>,
    #[serde(default)]
    padded_responses: Option<bool>,
    #[serde(default)]
    retention: Option<usize>,
    #[serde(default)]
    sign: Option<SignCommand>,
    #[serde(default)]
    records: bool,
}

/// `"sign": {"message": "<base64url>", "key": 0, "flags": 0}`: the phone signs `message` with
/// the user's key at `key` (listing order), as [`Model::sign_with`] does.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignCommand {
    message: String,
    #[serde(default)]
    key: usize,
    #[serde(default)]
    flags: u32,
}

impl ProviderCommand {
    /// The behaviour named by `behaviour` (with its `message`, `status`, `flags`, `sign_as`).
    fn behaviour(&self) -> Result<Option<Behaviour>, ControlError> {
        let Some(name) = self.behaviour.as_deref() else {
            return Ok(None);
        };
        let message = |default: &str| self.message.clone().unwrap_or_else(|| default.to_owned());
        let missing = |field: &str| ControlError::Invalid(format!("`{name}` needs `{field}`"));
        Ok(Some(match name {
            "approve" => Behaviour::Approve,
            "manual" => Behaviour::Manual,
            "reject" => Behaviour::Reject {
                message: message(REJECT_MESSAGE),
            },
            "fail" => Behaviour::Fail {
                message: message(FAIL_MESSAGE),
            },
            "http_status" => Behaviour::HttpStatus {
                status: self.status.ok_or_else(|| missing("status"))?,
                message: self.message.clone(),
            },
            "corrupt_signature" => Behaviour::CorruptSignature,
            "empty_signature_positive" => Behaviour::EmptySignaturePositive,
            "answer_with_flags" => {
                Behaviour::AnswerWithFlags(self.flags.ok_or_else(|| missing("flags"))?)
            }
            "sign_as" => Behaviour::SignAs(self.sign_as.clone().ok_or_else(|| missing("sign_as"))?),
            other => {
                return Err(ControlError::Invalid(format!(
                    "unknown behaviour `{other}` (approve, manual, reject, fail, http_status, \
                     corrupt_signature, empty_signature_positive, answer_with_flags, sign_as)"
                )));
            }
        }))
    }
}

impl Model {
    /// A model with no users, on the default [`EmulatorClock`] (real time that
    /// [`Control::AdvanceClock`] moves), waiting up to 120 s for a control command.
    pub fn new() -> Self {
        Model::from_parts(
            EmulatorClock::default(),
            super::DEFAULT_ANSWER_TIMEOUT,
            auth_core::emulator::DEFAULT_LOG_CAPACITY,
        )
    }

    /// Starts configuring a model (users, keys, clock, answer timeout), to build it alone with
    /// [`EmulatorBuilder::build`] or serve it with [`EmulatorBuilder::start`].
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    pub(super) fn from_parts(
        clock: EmulatorClock,
        answer_timeout: Duration,
        log_capacity: usize,
    ) -> Self {
        Model {
            clock,
            answer_timeout,
            state: Mutex::new(State {
                users: HashMap::new(),
                waiting: VecDeque::new(),
                waiting_pages: HashSet::new(),
                earliest_expiry: None,
                answered_pages: VecDeque::new(),
                records: VecDeque::new(),
                record_capacity: super::DEFAULT_RECORD_CAPACITY,
                padded_signatures: false,
                padded_responses: false,
                listing_requests: 0,
            }),
            faults: Faults::default(),
            log: RequestLog::with_capacity(log_capacity),
            next_id: AtomicU64::new(1),
        }
    }

    /// How long a request waiting for a control command ([`Behaviour::Manual`]) waits before
    /// the server gives up.
    pub fn answer_timeout(&self) -> Duration {
        self.answer_timeout
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
            .map(|t| EmulatorKey::generate(*t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.add_user_with_keys(principal, keys))
    }

    /// Adds (or replaces) a user with these keys; returns the public keys.
    pub fn add_user_with_keys(
        &self,
        principal: &str,
        keys: Vec<EmulatorKey>,
    ) -> Vec<AuthorizedKey> {
        let public = keys.iter().map(|k| k.public().clone()).collect();
        lock(&self.state).users.insert(
            principal.to_owned(),
            User {
                keys: keys.into_iter().map(Arc::new).collect(),
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

    /// How long the user takes to answer automatically (the sign call and sign page block that
    /// long, on the model's clock; a control command answers earlier).
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
    /// [`Model::set_padded_signatures`] and [`Model::set_padded_responses`].
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
            .map(|u| u.keys.iter().map(|k| k.public().clone()).collect())
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
        let key = lock(&self.state)
            .users
            .get(principal)
            .and_then(|u| u.keys.get(index).cloned())
            .ok_or_else(|| EmulatorError(format!("no key {index} for {principal}")))?;
        key.sign(flags, message)
    }

    /// The signature requests the phone received, oldest first: the last
    /// [`DEFAULT_RECORD_CAPACITY`](super::DEFAULT_RECORD_CAPACITY) (see
    /// [`Model::set_retention`]).
    pub fn sign_requests(&self) -> Vec<SignRecord> {
        lock(&self.state).records.iter().cloned().collect()
    }

    /// How many sign requests to keep (the oldest are forgotten first; 0 keeps none).
    pub fn set_retention(&self, sign_requests: usize) {
        let mut state = lock(&self.state);
        state.record_capacity = sign_requests;
        while state.records.len() > sign_requests {
            state.records.pop_front();
        }
    }

    /// How many key listings were served.
    pub fn listing_requests(&self) -> usize {
        lock(&self.state).listing_requests
    }

    /// How many requests the request log keeps now (at most its capacity).
    pub fn logged_requests(&self) -> usize {
        self.log.len()
    }

    /// Answers the waiting request `id` as `answer` says.
    fn answer(&self, id: &str, answer: Behaviour) -> Result<Value, ControlError> {
        self.expire_due();
        let mut state = lock(&self.state);
        let Some(index) = state.waiting.iter().position(|w| w.id == id) else {
            return Err(ControlError::NotFound {
                what: "waiting sign request",
                id: id.to_owned(),
            });
        };
        let name = answer.name();
        if let Some(waiting) = state.waiting.remove(index) {
            state.settle(waiting, answer);
        }
        Ok(json!({"id": id, "answer": name}))
    }

    /// Settles every request waiting for a control command past its deadline.
    fn expire_due(&self) {
        let now = self.clock.now();
        let mut state = lock(&self.state);
        if state.earliest_expiry.is_none_or(|at| at > now) {
            return;
        }
        let (due, kept): (VecDeque<Waiting>, VecDeque<Waiting>) =
            std::mem::take(&mut state.waiting)
                .into_iter()
                .partition(|w| w.expires_at.is_some_and(|at| at <= now));
        state.earliest_expiry = kept.iter().filter_map(|w| w.expires_at).min();
        state.waiting = kept;
        for waiting in due {
            state.settle(waiting, expired());
        }
    }

    fn next_id(&self) -> String {
        format!("lbx-{}", self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Waits for the phone's answer: the user's automatic behaviour after their delay, or, for
    /// [`Behaviour::Manual`], a control command (or expiry). The request is listed as pending
    /// meanwhile.
    async fn decide(&self, prompt: Prompt, behaviour: Behaviour, delay: Duration) -> Behaviour {
        let manual = matches!(behaviour, Behaviour::Manual);
        if !manual && delay.is_zero() {
            return behaviour;
        }
        let created_at = self.clock.now();
        let expires_at = manual.then(|| created_at + self.answer_timeout);
        let (tx, mut rx) = oneshot::channel();
        let id = self.next_id();
        lock(&self.state).push_waiting(Waiting {
            id: id.clone(),
            principal: prompt.principal,
            text: prompt.text,
            remote_name: prompt.remote_name,
            created_at,
            expires_at,
            answer: Some(tx),
            page: None,
        });
        let _withdraw = Withdraw { model: self, id };
        match expires_at {
            Some(deadline) => loop {
                // Real time between looks, the model's clock for the deadline: a fake clock
                // moved by a test, or AdvanceClock, expires the request.
                match tokio::time::timeout(EXPIRY_CHECK, &mut rx).await {
                    Ok(Ok(answer)) => return answer,
                    Ok(Err(_)) => return expired(),
                    Err(_) if self.clock.now() >= deadline => return expired(),
                    Err(_) => {}
                }
            },
            None => tokio::select! {
                answer = &mut rx => answer.unwrap_or(behaviour),
                () = self.clock.sleep(delay) => behaviour,
            },
        }
    }

    async fn route(&self, request: HttpRequest) -> HttpResponse {
        let path = request.uri().path().to_owned();
        if let Some(fault) = self.faults.take(&path) {
            return fault;
        }
        let method = request.method().clone();
        if method == Method::GET {
            if let Some(p) = path
                .strip_prefix(KEYS_PATH)
                .or_else(|| path.strip_prefix(LEGACY_KEYS_PATH))
            {
                return self.listing(p);
            }
            if let Some(blob) = path.strip_prefix(SIGN_PAGE_PATH) {
                return self.sign_page(blob).await;
            }
        }
        if method == Method::POST && path == SIGN_PAYLOAD_PATH {
            return self.sign_payload(request.body()).await;
        }
        text(404, format!("no route for {method} {path}"))
    }

    fn listing(&self, encoded: &str) -> HttpResponse {
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
            body.push_str(&key.public().to_line());
        }
        text(200, body)
    }

    async fn sign_payload(&self, body: &[u8]) -> HttpResponse {
        let form: HashMap<String, String> = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let field = |name: &str| form.get(name).cloned().unwrap_or_default();
        let Ok(flags) = field("flags").parse::<u32>() else {
            return json_response(400, &json!({"success": false, "message": "bad flags"}));
        };
        // A raw `=` survives form parsing; `+` would have turned into a space (padded Java
        // payloads are sent unencoded), so map it back before decoding.
        let payload_field = field("payload");
        let Ok(payload) = b64::decode_lenient(&payload_field.replace(' ', "+")) else {
            return json_response(400, &json!({"success": false, "message": "bad payload"}));
        };
        let username = field("username");
        let fingerprint = field("fingerprint");
        let text = field("text");
        let remote_name = field("remoteName");
        let (behaviour, delay) = {
            let mut state = lock(&self.state);
            state.record(SignRecord {
                flow: "direct",
                username: username.clone(),
                fingerprint: fingerprint.clone(),
                flags,
                text: text.clone(),
                authorize_text: field("authorizeText"),
                remote_name: remote_name.clone(),
                payload_len: payload.len(),
                payload_field,
            });
            let Some(user) = state.users.get(&username) else {
                return failure(&not_registered(&username));
            };
            if let Err(message) = user.key(&fingerprint) {
                return failure(&message);
            }
            (user.behaviour.clone(), user.delay)
        };
        let prompt = Prompt {
            principal: username.clone(),
            text,
            remote_name,
        };
        let answer = self.decide(prompt, behaviour, delay).await;
        self.direct_answer(&answer, &username, &fingerprint, flags, &payload)
    }

    /// The `signPayload` answer for the phone's decision.
    fn direct_answer(
        &self,
        answer: &Behaviour,
        username: &str,
        fingerprint: &str,
        flags: u32,
        payload: &[u8],
    ) -> HttpResponse {
        let (key, other, padded_sig, padded_resp) = {
            let state = lock(&self.state);
            let key = match state.signer(username, fingerprint) {
                Ok(key) => key,
                Err(message) => return failure(&message),
            };
            let other = match answer {
                Behaviour::SignAs(other) => state.first_key_of(other),
                _ => None,
            };
            (key, other, state.padded_signatures, state.padded_responses)
        };
        // Signing happens outside the lock.
        let sign = |key: &EmulatorKey, corrupt: bool| match key.sign(flags, payload) {
            Ok(mut sig) => {
                if corrupt && let Some(b) = sig.last_mut() {
                    *b ^= 1;
                }
                signed(&encode(padded_sig, &sig))
            }
            Err(e) => failure(&e.to_string()),
        };
        let rejection = |ok: bool, message: &str| {
            let mut w = Writer::new();
            w.boolean(ok).text(message);
            json_response(
                200,
                &json!({"success": true, "message": "", "signature": "",
                    "response": encode(padded_resp, &w.into_bytes())}),
            )
        };
        match answer {
            Behaviour::Approve | Behaviour::AnswerWithFlags(_) | Behaviour::Manual => {
                sign(&key, false)
            }
            Behaviour::CorruptSignature => sign(&key, true),
            Behaviour::SignAs(_) => match other {
                Some(other) => sign(&other, false),
                None => failure("no such user to sign as"),
            },
            Behaviour::Reject { message } => rejection(false, message),
            Behaviour::EmptySignaturePositive => rejection(true, ""),
            Behaviour::Fail { message } => failure(message),
            Behaviour::HttpStatus { status, message } => match message {
                Some(m) => json_response(*status, &json!({"success": false, "message": m})),
                None => text(*status, "Internal Server Error"),
            },
        }
    }

    async fn sign_page(&self, encoded: &str) -> HttpResponse {
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
        let digest = crate::client::blob_digest(&bytes);
        self.expire_due();
        let (behaviour, delay) = {
            let mut state = lock(&self.state);
            // The browser is back (or reloads): answered, or still waiting for the phone.
            if let Some((_, answer)) = state.answered_pages.iter().find(|(d, _)| *d == digest) {
                let answer = answer.clone();
                drop(state);
                return self.page_answer(&answer, &request, &bytes);
            }
            if state.waiting_pages.contains(&digest)
                && let Some(waiting) = state.waiting.iter().find(|w| w.page == Some(digest))
            {
                return waiting_page(waiting, &request.authorize_text);
            }
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
            // From here on the request could be read: every failure sends the browser back to
            // the application with a failure response (`false` + message), never an error page.
            let Some(user) = state.users.get(&request.principal) else {
                let padded = state.padded_responses;
                let failed = ResponseBlob::Rejected {
                    message: not_registered(&request.principal),
                };
                return back_to_app(&request.redirect_url, padded, &failed);
            };
            (user.behaviour.clone(), user.delay)
        };
        if matches!(behaviour, Behaviour::Manual) {
            let created_at = self.clock.now();
            let waiting = Waiting {
                id: self.next_id(),
                principal: request.principal.clone(),
                text: request.prompt_text.clone(),
                remote_name: request.remote_name.clone(),
                created_at,
                expires_at: Some(created_at + self.answer_timeout),
                answer: None,
                page: Some(digest),
            };
            let page = waiting_page(&waiting, &request.authorize_text);
            lock(&self.state).push_waiting(waiting);
            return page;
        }
        let prompt = Prompt {
            principal: request.principal.clone(),
            text: request.prompt_text.clone(),
            remote_name: request.remote_name.clone(),
        };
        let answer = self.decide(prompt, behaviour, delay).await;
        self.page_answer(&answer, &request, &bytes)
    }

    /// Where the sign page sends the browser for the phone's decision: back to the application
    /// with the response blob (or an error page for [`Behaviour::HttpStatus`]).
    fn page_answer(&self, answer: &Behaviour, request: &RequestBlob, bytes: &[u8]) -> HttpResponse {
        let (key, other, padded) = {
            let state = lock(&self.state);
            let padded = state.padded_responses;
            let key = match state.signer(&request.principal, request.fingerprint.as_str()) {
                Ok(key) => key,
                Err(message) => {
                    let failed = ResponseBlob::Rejected { message };
                    return back_to_app(&request.redirect_url, padded, &failed);
                }
            };
            let other = match answer {
                Behaviour::SignAs(other) => {
                    state.first_key_of(other).map(|key| (other.clone(), key))
                }
                _ => None,
            };
            (key, other, padded)
        };
        let sign = |key: &EmulatorKey, flags: u32| key.sign(flags, bytes);
        let principal = request.principal.as_str();
        let response = match answer {
            Behaviour::Approve | Behaviour::EmptySignaturePositive | Behaviour::Manual => {
                sign(&key, request.flags)
                    .map(|signature| signed_blob(principal, &key, request.flags, signature))
            }
            Behaviour::CorruptSignature => sign(&key, request.flags).map(|mut signature| {
                if let Some(b) = signature.last_mut() {
                    *b ^= 1;
                }
                signed_blob(principal, &key, request.flags, signature)
            }),
            Behaviour::AnswerWithFlags(flags) => sign(&key, *flags)
                .or_else(|_| sign(&key, request.flags))
                .map(|signature| signed_blob(principal, &key, *flags, signature)),
            Behaviour::SignAs(_) => match &other {
                Some((other, other_key)) => sign(other_key, request.flags)
                    .map(|signature| signed_blob(other, other_key, request.flags, signature)),
                None => Err(EmulatorError("no such user to sign as".into())),
            },
            Behaviour::Reject { message } | Behaviour::Fail { message } => {
                Ok(ResponseBlob::Rejected {
                    message: message.clone(),
                })
            }
            Behaviour::HttpStatus { status, .. } => return html(*status, "Error"),
        };
        let response = response.unwrap_or_else(|e| ResponseBlob::Rejected {
            message: e.to_string(),
        });
        back_to_app(&request.redirect_url, padded, &response)
    }

    fn add_user_command(&self, user: &str, details: &Value) -> Result<Value, ControlError> {
        let key_types = match details.get("keys") {
            None | Some(Value::Null) => vec![KeyType::Ed25519],
            Some(Value::Array(list)) => list
                .iter()
                .map(|t| match t.as_str() {
                    Some("ed25519") => Ok(KeyType::Ed25519),
                    Some("rsa") => Ok(KeyType::Rsa),
                    _ => Err(ControlError::Invalid(format!(
                        "key type {t} (\"ed25519\" or \"rsa\")"
                    ))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(ControlError::Invalid(format!(
                    "`keys` is a list of key types, not {other}"
                )));
            }
        };
        let behaviour = match details.get("behaviour") {
            None | Some(Value::Null) => None,
            Some(_) => {
                // The behaviour and its parameters, as the `provider` command takes them.
                let mut settings = details.clone();
                if let Some(map) = settings.as_object_mut() {
                    map.remove("keys");
                }
                ProviderCommand::deserialize(settings)
                    .map_err(|e| ControlError::Invalid(e.to_string()))?
                    .behaviour()?
            }
        };
        if user.trim().is_empty() {
            return Err(ControlError::Invalid("the user name is empty".into()));
        }
        let keys = self
            .add_user(user, &key_types)
            .map_err(|e| ControlError::Invalid(e.to_string()))?;
        if let Some(behaviour) = behaviour {
            self.set_behaviour(user, behaviour);
        }
        let lines: Vec<String> = keys.iter().map(AuthorizedKey::to_line).collect();
        Ok(json!({"user": user, "authorized_keys": lines}))
    }

    /// What the phone and the server recorded: every kept sign request (no signature, no
    /// key) and how many key listings were served.
    fn records_json(&self) -> Value {
        let state = lock(&self.state);
        json!({"sign_requests": state.records, "listing_requests": state.listing_requests})
    }

    fn provider_command(&self, body: Value) -> Result<Value, ControlError> {
        let command: ProviderCommand =
            serde_json::from_value(body).map_err(|e| ControlError::Invalid(e.to_string()))?;
        if command.records {
            return Ok(self.records_json());
        }
        if let Some(sign) = &command.sign {
            let Some(user) = &command.user else {
                return Err(ControlError::Invalid("`sign` needs a `user`".into()));
            };
            let message = b64::decode_lenient(&sign.message)
                .map_err(|_| ControlError::Invalid("`sign.message` is not base64url".into()))?;
            let signature = self
                .sign_with(user, sign.key, sign.flags, &message)
                .map_err(|e| ControlError::NotFound {
                    what: "key",
                    id: e.0,
                })?;
            return Ok(json!({"user": user, "signature": b64::encode_url(&signature)}));
        }
        let behaviour = command.behaviour()?;
        let mut changed = Vec::new();
        if let Some(user) = &command.user {
            let mut state = lock(&self.state);
            if command.remove {
                state.users.remove(user);
                return Ok(json!({"user": user, "removed": true}));
            }
            let Some(u) = state.users.get_mut(user) else {
                return Err(ControlError::NotFound {
                    what: "user",
                    id: user.clone(),
                });
            };
            if let Some(behaviour) = behaviour {
                changed.push(behaviour.name());
                u.behaviour = behaviour;
            }
            if let Some(ms) = command.delay_ms {
                u.delay = Duration::from_millis(ms);
                changed.push("delay");
            }
            if let Some(listing) = command.listing {
                u.listing = Some(listing);
                changed.push("listing");
            }
        } else if behaviour.is_some() || command.delay_ms.is_some() || command.listing.is_some() {
            return Err(ControlError::Invalid(
                "`behaviour`, `delay_ms` and `listing` need a `user`".into(),
            ));
        }
        if let Some(padded) = command.padded_signatures {
            self.set_padded_signatures(padded);
            changed.push("padded_signatures");
        }
        if let Some(padded) = command.padded_responses {
            self.set_padded_responses(padded);
            changed.push("padded_responses");
        }
        if let Some(n) = command.retention {
            self.set_retention(n);
            changed.push("retention");
        }
        Ok(json!({"user": command.user, "changed": changed}))
    }
}

#[auth_core::async_trait]
impl auth_core::emulator::Model for Model {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn handle(&self, request: HttpRequest) -> HttpResponse {
        self.log
            .answer(self.clock.now(), request, |r| self.route(r))
            .await
    }

    /// `add_user` (details: `{"keys": ["ed25519", "rsa"], "behaviour": "manual"}`; default one
    /// ed25519 key, approving), `approve`, `deny` (an optional `reason` is the app's message;
    /// LogonBox has no fraud report, so `fraud: true` is refused), `fail`, `expire`,
    /// `inject_fault`, `advance_clock` (on the model's own offset clock), `read_log`,
    /// `list_pending`, and `provider` with `{"user": …, "behaviour": "approve" | "manual" |
    /// "reject" | "fail" | "http_status" | "corrupt_signature" | "empty_signature_positive" |
    /// "answer_with_flags" | "sign_as", "message", "status", "flags", "sign_as", "delay_ms",
    /// "listing", "remove"}` and the server's `"padded_signatures"`, `"padded_responses"`,
    /// `"retention"`; `{"records": true}` answers the kept sign requests (as
    /// [`Model::sign_requests`]) and how many key listings were served; `{"user": …, "sign":
    /// {"message": base64url, "key": index, "flags": n}}` signs as the phone would
    /// ([`Model::sign_with`]). `set_rules` and `rotate_keys` are unsupported (LogonBox has neither).
    fn control(&self, command: Control) -> Result<Value, ControlError> {
        match command {
            Control::AddUser { user, details } => self.add_user_command(&user, &details),
            Control::Approve { id } => self.answer(&id, Behaviour::Approve),
            Control::Deny { fraud: true, .. } => Err(ControlError::Invalid(
                "the LogonBox app has no fraud report: deny without `fraud`".into(),
            )),
            Control::Deny { id, reason, .. } => self.answer(
                &id,
                Behaviour::Reject {
                    message: reason.unwrap_or_else(|| REJECT_MESSAGE.to_owned()),
                },
            ),
            Control::Fail { id, reason } => self.answer(
                &id,
                Behaviour::Fail {
                    message: reason.unwrap_or_else(|| FAIL_MESSAGE.to_owned()),
                },
            ),
            Control::Expire { id } => self.answer(&id, expired()),
            Control::InjectFault { fault } => self.faults.inject_command(fault),
            Control::AdvanceClock { seconds } => {
                self.clock.advance(Duration::from_secs(seconds))?;
                self.expire_due();
                Ok(auth_core::emulator::clock_answer(self.clock.now()))
            }
            Control::ReadLog { limit } => self.log.read(limit),
            Control::ListPending => {
                auth_core::emulator::pending_answer(&auth_core::emulator::Model::pending(self))
            }
            Control::Provider { body } => self.provider_command(body),
            other => Err(ControlError::Unsupported {
                provider: PROVIDER,
                command: other.name(),
            }),
        }
    }

    /// Every sign request the phone has not answered yet: the prompt text, the requester
    /// (remote name) as the title, and, for one waiting for a control command, when the server
    /// gives up.
    fn pending(&self) -> Vec<PendingStepUp> {
        self.expire_due();
        lock(&self.state)
            .waiting
            .iter()
            .map(|w| {
                let pending = PendingStepUp::new(
                    PROVIDER,
                    w.id.clone(),
                    w.principal.clone(),
                    w.text.clone(),
                    w.created_at,
                )
                .with_title(w.remote_name.clone());
                match w.expires_at {
                    Some(at) => pending.with_expiry(at),
                    None => pending,
                }
            })
            .collect()
    }
}

/// A signed response blob: `username`'s `key` signed with `flags`.
fn signed_blob(username: &str, key: &EmulatorKey, flags: u32, signature: Vec<u8>) -> ResponseBlob {
    ResponseBlob::Signed {
        username: username.to_owned(),
        fingerprint: key.public().fingerprint().clone(),
        flags,
        signature,
    }
}

fn encode(padded: bool, bytes: &[u8]) -> String {
    if padded {
        b64::encode_url_padded(bytes)
    } else {
        b64::encode_url(bytes)
    }
}

/// A plain-text response (an out-of-range status configured by a test becomes 500).
fn text(status: u16, body: impl Into<String>) -> HttpResponse {
    let mut response = HttpResponse::new(body.into().into_bytes());
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    response
}

/// A bare HTML page with `body` (escaped) as its text.
fn html(status: u16, body: &str) -> HttpResponse {
    let page = format!(
        "<!doctype html><title>LogonBox</title><p>{}</p>",
        escape_html(body)
    );
    html_response(status, page)
}

fn signed(signature: &str) -> HttpResponse {
    json_response(
        200,
        &json!({"success": true, "message": "", "signature": signature, "response": ""}),
    )
}

fn failure(message: &str) -> HttpResponse {
    json_response(200, &json!({"success": false, "message": message}))
}

/// The sign page while the phone has not answered: what the user is asked, and a reload
/// every second until the answer sends the browser back.
fn waiting_page(waiting: &Waiting, authorize_text: &str) -> HttpResponse {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"{PAGE_REFRESH_SECONDS}\">\
         <title>LogonBox Authenticator</title></head>\n<body><h1>{}</h1>\n<p>{}</p>\n\
         <p>Waiting for {} to tap <b>{}</b> in the LogonBox Authenticator app \
         (request <code>{}</code>)…</p></body></html>\n",
        escape_html(&waiting.remote_name),
        escape_html(&waiting.text),
        escape_html(&waiting.principal),
        escape_html(authorize_text),
        escape_html(&waiting.id),
    );
    html_response(200, page)
}

/// The `302` that sends the browser back to the application's redirect URL, with the literal
/// `{response}` replaced (once) by the response blob.
fn back_to_app(redirect_url: &str, padded: bool, blob: &ResponseBlob) -> HttpResponse {
    let encoded = encode(padded, &blob.to_bytes());
    let location = redirect_url.replacen(RESPONSE_PLACEHOLDER, &encoded, 1);
    let mut found = html_response(
        302,
        "<!doctype html><p>Returning to the application</p>".to_owned(),
    );
    match header::HeaderValue::from_str(&location) {
        Ok(value) => {
            found.headers_mut().insert(header::LOCATION, value);
            found
        }
        Err(_) => html(400, "The redirect URL cannot be sent back"),
    }
}

#[cfg(test)]
mod tests {
    use auth_core::emulator::Model as _;

    use super::*;
    use crate::key::Fingerprint;

    #[test]
    fn html_is_escaped() {
        let page = html(400, "<script>alert('x')</script> & \"y\"");
        assert_eq!(page.status(), 400);
        assert_eq!(
            page.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert!(String::from_utf8_lossy(page.body()).ends_with(
            "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;</p>"
        ));
    }

    #[test]
    fn the_model_is_a_shareable_protocol_model() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Model>();
        let model: Arc<dyn auth_core::emulator::Model> = Arc::new(Model::new());
        assert_eq!(model.provider(), "logonbox");
        assert!(model.pending().is_empty());
    }

    fn get(path: &str) -> HttpRequest {
        http::Request::get(format!("http://model.invalid{path}"))
            .body(Vec::new())
            .unwrap()
    }

    /// The sign page of a request blob for `principal`'s key, made unique by `n`.
    fn sign_page(principal: &str, fingerprint: &Fingerprint, n: u32) -> HttpRequest {
        let blob = RequestBlob {
            principal: principal.into(),
            fingerprint: fingerprint.clone(),
            remote_name: "Bank".into(),
            prompt_text: format!("Sign in #{n}?"),
            authorize_text: "Authorize".into(),
            flags: 0,
            nonce: n.to_be_bytes(),
            redirect_url: "https://app.example/finish?response={response}".into(),
            noise: vec![0; 16],
        };
        get(&format!(
            "{SIGN_PAGE_PATH}{}",
            b64::encode_url(&blob.to_bytes())
        ))
    }

    fn sign_form(principal: &str, fingerprint: &Fingerprint, text: &str) -> HttpRequest {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("username", principal)
            .append_pair("fingerprint", fingerprint.as_str())
            .append_pair("remoteName", "Bank")
            .append_pair("text", text)
            .append_pair("authorizeText", "Authorize")
            .append_pair("flags", "0")
            .append_pair("payload", &b64::encode_url(&[7; 128]))
            .finish();
        http::Request::post(format!("http://model.invalid{SIGN_PAYLOAD_PATH}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.into_bytes())
            .unwrap()
    }

    /// The records and the phone's signature are control commands too (what a test of the
    /// emulator server reads instead of the Rust methods).
    #[tokio::test]
    async fn records_and_signatures_through_the_provider_command() {
        let model = Model::new();
        let keys = model.add_user("lee", &[KeyType::Ed25519]).unwrap();
        let provider =
            |body: Value| auth_core::emulator::Model::control(&model, Control::Provider { body });
        let empty = provider(json!({"records": true})).unwrap();
        assert_eq!(empty, json!({"sign_requests": [], "listing_requests": 0}));
        let listing =
            auth_core::emulator::Model::handle(&model, get(&format!("{KEYS_PATH}lee"))).await;
        assert_eq!(listing.status(), 200);
        let signed = auth_core::emulator::Model::handle(
            &model,
            sign_form("lee", keys[0].fingerprint(), "Pay?"),
        )
        .await;
        assert_eq!(signed.status(), 200);
        let records = provider(json!({"records": true})).unwrap();
        assert_eq!(records["listing_requests"], 1);
        let sign = &records["sign_requests"][0];
        assert_eq!(sign["flow"], "direct");
        assert_eq!(sign["username"], "lee");
        assert_eq!(sign["text"], "Pay?");
        assert_eq!(sign["fingerprint"], keys[0].fingerprint().as_str());
        assert_eq!(sign["payload_len"], 128);

        let message = b"sign me";
        let answer =
            provider(json!({"user": "lee", "sign": {"message": b64::encode_url(message)}}))
                .unwrap();
        let signature = b64::decode_lenient(answer["signature"].as_str().unwrap()).unwrap();
        keys[0].verify(0, message, &signature).unwrap();
        for bad in [
            json!({"sign": {"message": "AA"}}),
            json!({"user": "lee", "sign": {"message": "AA", "key": 3}}),
            json!({"user": "nobody", "sign": {"message": "AA"}}),
            json!({"user": "lee", "sign": {"message": "@@"}}),
        ] {
            assert!(provider(bad.clone()).is_err(), "{bad}");
        }
    }

    /// Whatever the number of requests, the model keeps bounded rings (request log, sign
    /// requests), at most `MAX_WAITING` waiting requests and `MAX_ANSWERED_PAGES` answered
    /// pages, and nothing per request once it is answered.
    #[tokio::test]
    async fn memory_is_bounded_whatever_the_number_of_requests() {
        let model = Model::builder()
            .user("ring@example.com", &[KeyType::Ed25519])
            .log_capacity(5)
            .build()
            .unwrap();
        let fingerprint = model.public_keys("ring@example.com")[0]
            .fingerprint()
            .clone();
        model.set_retention(5);
        let texts: Vec<String> = (0..12).map(|i| format!("request {i}")).collect();
        for text in &texts {
            let answer = model
                .handle(sign_form("ring@example.com", &fingerprint, text))
                .await;
            assert_eq!(answer.status(), 200);
        }
        for _ in 0..5 {
            assert_eq!(model.handle(get("/nowhere")).await.status(), 404);
        }
        let kept: Vec<String> = model.sign_requests().into_iter().map(|r| r.text).collect();
        assert_eq!(kept, texts[7..], "the newest five");
        assert_eq!(model.logged_requests(), 5);
        let log = model.control(Control::ReadLog { limit: None }).unwrap();
        assert_eq!(log.as_array().unwrap().len(), 5);
        assert!(log.to_string().contains("/nowhere"));
        model.set_retention(0);
        model
            .handle(sign_form("ring@example.com", &fingerprint, "more"))
            .await;
        assert!(model.sign_requests().is_empty());

        // Sign pages waiting for the user: at most MAX_WAITING; the oldest expire (answered,
        // for the browser's return), and answered pages are kept up to MAX_ANSWERED_PAGES.
        model.set_behaviour("ring@example.com", Behaviour::Manual);
        let extra = 5;
        for n in 0..u32::try_from(MAX_WAITING + extra).unwrap() {
            let page = model
                .handle(sign_page("ring@example.com", &fingerprint, n))
                .await;
            assert_eq!(page.status(), 200);
        }
        assert_eq!(model.pending().len(), MAX_WAITING);
        assert_eq!(lock(&model.state).answered_pages.len(), extra);
        // The first request expired: its page sends the browser back with a failure.
        let back = model
            .handle(sign_page("ring@example.com", &fingerprint, 0))
            .await;
        assert_eq!(back.status(), 302);
        let ids: Vec<String> = model.pending().into_iter().map(|p| p.id).collect();
        for id in &ids {
            model.control(Control::Approve { id: id.clone() }).unwrap();
        }
        assert!(model.pending().is_empty());
        assert_eq!(lock(&model.state).answered_pages.len(), MAX_ANSWERED_PAGES);
        assert!(lock(&model.state).waiting.is_empty());
    }

    /// A request waiting for the user is withdrawn when its handler goes away (the client hung
    /// up or timed out): nothing stays behind.
    #[tokio::test]
    async fn a_request_whose_client_left_is_withdrawn() {
        let model = Model::builder()
            .user("lee@example.com", &[KeyType::Ed25519])
            .build()
            .unwrap();
        let fingerprint = model.public_keys("lee@example.com")[0]
            .fingerprint()
            .clone();
        model.set_behaviour("lee@example.com", Behaviour::Manual);
        let waited = tokio::time::timeout(
            Duration::from_millis(300),
            model.handle(sign_form("lee@example.com", &fingerprint, "Pay?")),
        )
        .await;
        assert!(waited.is_err(), "a manual request waits");
        assert!(model.pending().is_empty());
        assert!(lock(&model.state).waiting.is_empty());
    }
}
