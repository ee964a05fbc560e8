//! What every provider's emulator shares (feature `emulator`): the protocol-model trait, one
//! control vocabulary, a bounded request log, an in-process [`HttpClient`] that calls a model
//! with no socket, and a real-port HTTP server for tests (and the `oob-auth-emulator` binary)
//! that need one.
//!
//! A provider's emulator is a [`Model`]: it takes an HTTP request of the provider's wire
//! protocol and returns the response, takes [`Control`] commands (play the user, change the
//! tenant, inject a fault, move the clock), and runs on an injected [`Clock`]. It has no socket
//! code: [`InProcess`] and [`serve`] put it on the wire.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use auth_core::emulator::{Control, ControlError, Model, PendingStepUp, serve, InProcess};
//! use auth_core::{HttpClient, HttpRequest, HttpResponse};
//!
//! /// A toy provider: GET /ping answers "pong".
//! struct Toy;
//!
//! #[auth_core::async_trait]
//! impl Model for Toy {
//!     fn provider(&self) -> &'static str { "toy" }
//!     async fn handle(&self, request: HttpRequest) -> HttpResponse {
//!         let status = if request.uri().path() == "/ping" { 200 } else { 404 };
//!         http::Response::builder().status(status).body(b"pong".to_vec()).unwrap()
//!     }
//!     fn control(&self, command: Control) -> Result<serde_json::Value, ControlError> {
//!         Err(ControlError::Unsupported { provider: "toy", command: command.name() })
//!     }
//!     fn pending(&self) -> Vec<PendingStepUp> { Vec::new() }
//! }
//!
//! // No socket:
//! let client = InProcess::new(std::sync::Arc::new(Toy));
//! let req = http::Request::get("http://toy.invalid/ping").body(Vec::new()).unwrap();
//! assert_eq!(client.execute(req).await.unwrap().body(), b"pong");
//!
//! // A real port on loopback:
//! let server = serve(std::sync::Arc::new(Toy), "127.0.0.1:0").await.unwrap();
//! assert!(server.base_url().as_str().starts_with("http://127.0.0.1:"));
//! # }
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::sync::lock;
use crate::{
    BaseUrl, Clock, FakeClock, HttpClient, HttpRequest, HttpResponse, SharedClock, TransportError,
};

mod remote;
pub use remote::{EMULATOR_URL_ENV, RemoteEmulator, RemoteError, testing};

/// A provider's protocol model: its wire protocol in, responses out, control commands, no
/// sockets.
#[async_trait]
pub trait Model: Send + Sync + 'static {
    /// The provider's name (`"launchkey"`, …), as in step-up handles.
    fn provider(&self) -> &'static str;

    /// Answers one request of the provider's wire protocol. Never panics on bad input: a
    /// request the provider would refuse gets the provider's error response. It may wait (a
    /// provider whose request blocks until the user answers).
    async fn handle(&self, request: HttpRequest) -> HttpResponse;

    /// Runs a control command; the answer is JSON (what was created, the log, …).
    fn control(&self, command: Control) -> Result<serde_json::Value, ControlError>;

    /// The step-ups waiting for the user, with the text the user would see.
    fn pending(&self) -> Vec<PendingStepUp>;
}

/// The one control vocabulary of every emulator: a test in any language plays the user and
/// the provider's back office with it (JSON: `{"command": "approve", "id": "…"}`).
///
/// A model answers the commands that make sense for its provider and
/// [`ControlError::Unsupported`] for the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Control {
    /// Creates a user (with provider-specific details: devices, phone, PIN, keys…).
    AddUser {
        /// The user's id at the provider.
        user: String,
        /// Provider-specific details.
        #[serde(default)]
        details: serde_json::Value,
    },
    /// The user approves the pending step-up `id`.
    Approve {
        /// The step-up's id (as in [`PendingStepUp::id`]).
        id: String,
    },
    /// The user denies the pending step-up `id`.
    Deny {
        /// The step-up's id.
        id: String,
        /// The user says they did not start it.
        #[serde(default)]
        fraud: bool,
        /// The reason the user picked, where the provider has reasons.
        #[serde(default)]
        reason: Option<String>,
    },
    /// The step-up `id` runs out of time now.
    Expire {
        /// The step-up's id.
        id: String,
    },
    /// The step-up `id` fails on the user's side (the factor cannot be used).
    Fail {
        /// The step-up's id.
        id: String,
        /// Why.
        #[serde(default)]
        reason: Option<String>,
    },
    /// Replaces the provider's decision rules (Authsignal's tenant rules).
    SetRules {
        /// Provider-specific rules.
        rules: serde_json::Value,
    },
    /// Rotates the provider's signing keys.
    RotateKeys,
    /// Makes the next matching requests fail.
    InjectFault {
        /// What to inject.
        fault: Fault,
    },
    /// Moves the emulator's clock forward; answers [`clock_answer`]: `{"now": <Unix seconds>}`.
    AdvanceClock {
        /// How far, in seconds.
        seconds: u64,
    },
    /// The most recent requests (method, path, status; never bodies).
    ReadLog {
        /// At most this many, newest last (default: all that are kept).
        #[serde(default)]
        limit: Option<usize>,
    },
    /// The pending step-ups (as [`Model::pending`]).
    ListPending,
    /// A provider-specific command (its own JSON shape).
    Provider {
        /// The command.
        body: serde_json::Value,
    },
}

impl Control {
    /// The command's wire name (`"approve"`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Control::AddUser { .. } => "add_user",
            Control::Approve { .. } => "approve",
            Control::Deny { .. } => "deny",
            Control::Expire { .. } => "expire",
            Control::Fail { .. } => "fail",
            Control::SetRules { .. } => "set_rules",
            Control::RotateKeys => "rotate_keys",
            Control::InjectFault { .. } => "inject_fault",
            Control::AdvanceClock { .. } => "advance_clock",
            Control::ReadLog { .. } => "read_log",
            Control::ListPending => "list_pending",
            Control::Provider { .. } => "provider",
        }
    }
}

/// A fault for the next requests that match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Fault {
    /// Only requests whose path contains this (every request when absent).
    #[serde(default)]
    pub path_contains: Option<String>,
    /// Answer with this status (e.g. 429, 503).
    pub status: u16,
    /// With this `Retry-After` (seconds).
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// For this many requests (default 1).
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

impl Fault {
    /// Answer the next request with `status` (every path, once).
    pub fn status(status: u16) -> Self {
        Fault {
            path_contains: None,
            status,
            retry_after: None,
            times: 1,
        }
    }

    /// Only for requests whose path contains `needle`.
    pub fn on_path(mut self, needle: impl Into<String>) -> Self {
        self.path_contains = Some(needle.into());
        self
    }

    /// With this `Retry-After`, in seconds.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// For this many requests.
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }
}

/// A control command the model could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The provider has no such thing (`approve` on a provider without push…).
    #[error("{provider} does not support `{command}`")]
    Unsupported {
        /// The provider.
        provider: &'static str,
        /// The command's wire name.
        command: &'static str,
    },
    /// No step-up, user or key with that id.
    #[error("no {what} `{id}`")]
    NotFound {
        /// What was looked for.
        what: &'static str,
        /// The id given.
        id: String,
    },
    /// The command does not fit the current state (approving a settled step-up…).
    #[error("{0}")]
    Conflict(String),
    /// The command's arguments are invalid.
    #[error("invalid command: {0}")]
    Invalid(String),
}

impl ControlError {
    /// The `error` code a control API answers this error with (`{"error": code, "message"}`).
    pub fn code(&self) -> &'static str {
        match self {
            ControlError::Unsupported { .. } => "unsupported",
            ControlError::NotFound { .. } => "not_found",
            ControlError::Conflict(_) => "conflict",
            ControlError::Invalid(_) => "invalid",
        }
    }

    /// The HTTP status a control API answers this error with.
    pub fn status(&self) -> u16 {
        match self {
            ControlError::Unsupported { .. } => 501,
            ControlError::NotFound { .. } => 404,
            ControlError::Conflict(_) => 409,
            ControlError::Invalid(_) => 400,
        }
    }
}

/// A step-up waiting for the user, as the user's phone (or browser) would show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PendingStepUp {
    /// The provider.
    pub provider: String,
    /// The id to approve or deny it with.
    pub id: String,
    /// The user it asks.
    pub user: String,
    /// The title the user sees.
    pub title: String,
    /// The text the user sees.
    pub message: String,
    /// When it was created (on the wire: Unix seconds, as every time of the control API).
    #[serde(with = "unix_time")]
    pub created_at: SystemTime,
    /// When it runs out, if it does.
    #[serde(default, with = "unix_time::option")]
    pub expires_at: Option<SystemTime>,
    /// A page the user answers on instead of the phone (a browser challenge), if any.
    pub page: Option<String>,
}

impl PendingStepUp {
    /// A pending step-up of `provider`.
    pub fn new(
        provider: &str,
        id: impl Into<String>,
        user: impl Into<String>,
        message: impl Into<String>,
        created_at: SystemTime,
    ) -> Self {
        PendingStepUp {
            provider: provider.to_owned(),
            id: id.into(),
            user: user.into(),
            title: String::new(),
            message: message.into(),
            created_at,
            expires_at: None,
            page: None,
        }
    }

    /// Sets the title.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Sets the expiry.
    pub fn with_expiry(mut self, at: SystemTime) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Sets the page the user answers on.
    pub fn with_page(mut self, page: impl Into<String>) -> Self {
        self.page = Some(page.into());
        self
    }
}

/// One request, as the log keeps it: no headers, no bodies (they carry secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// When it arrived (emulator clock; on the wire: Unix seconds).
    #[serde(with = "unix_time")]
    pub at: SystemTime,
    /// The method.
    pub method: String,
    /// The path, query redacted.
    pub path: String,
    /// The status answered.
    pub status: u16,
}

/// Unix seconds (fractional): how the control vocabulary writes a time.
pub fn unix_seconds(at: SystemTime) -> f64 {
    match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// The instant `seconds` (fractional Unix seconds, as [`unix_seconds`] writes them); `None`
/// for what is no time (not finite, or out of range).
pub fn from_unix_seconds(seconds: f64) -> Option<SystemTime> {
    let magnitude = Duration::try_from_secs_f64(seconds.abs()).ok()?;
    if seconds >= 0.0 {
        std::time::UNIX_EPOCH.checked_add(magnitude)
    } else {
        std::time::UNIX_EPOCH.checked_sub(magnitude)
    }
}

/// Serde for the control vocabulary's times: Unix seconds, fractional.
mod unix_time {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    pub(super) fn serialize<S: Serializer>(at: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(super::unix_seconds(*at))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let seconds = f64::deserialize(d)?;
        super::from_unix_seconds(seconds)
            .ok_or_else(|| D::Error::custom(format!("{seconds} is not a time")))
    }

    /// The same, for an optional time (`null` is none).
    pub(super) mod option {
        use std::time::SystemTime;

        use serde::{Deserialize, Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(
            at: &Option<SystemTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, s),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<SystemTime>, D::Error> {
            #[derive(Deserialize)]
            struct Wrapped(#[serde(with = "super")] SystemTime);
            Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(at)| at))
        }
    }
}

/// The answer to [`Control::AdvanceClock`], the same from every model and the server:
/// `{"now": <Unix seconds>}`, the emulator's time after the move.
pub fn clock_answer(now: SystemTime) -> serde_json::Value {
    serde_json::json!({ "now": unix_seconds(now) })
}

/// The answer to [`Control::ListPending`]: `pending` as JSON.
pub fn pending_answer(pending: &[PendingStepUp]) -> Result<serde_json::Value, ControlError> {
    to_answer(&pending)
}

/// A control command's answer as JSON (the shapes here always serialize; a failure is still
/// an error, never a panic).
fn to_answer(value: &impl Serialize) -> Result<serde_json::Value, ControlError> {
    serde_json::to_value(value).map_err(|e| ControlError::Invalid(e.to_string()))
}

/// The default number of requests a [`RequestLog`] keeps.
pub const DEFAULT_LOG_CAPACITY: usize = 1000;

/// A bounded request log: the newest `capacity` entries, nothing more, ever.
#[derive(Debug)]
pub struct RequestLog {
    ring: Mutex<Ring>,
}

/// The log's entries and their bound, under one lock.
#[derive(Debug)]
struct Ring {
    capacity: usize,
    entries: VecDeque<LogEntry>,
}

impl Default for RequestLog {
    fn default() -> Self {
        RequestLog::with_capacity(DEFAULT_LOG_CAPACITY)
    }
}

impl RequestLog {
    /// A log keeping at most `capacity` entries (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        RequestLog {
            ring: Mutex::new(Ring {
                capacity,
                entries: VecDeque::with_capacity(capacity.min(1024)),
            }),
        }
    }

    /// Answers `request` with `answer` and records it — method, path and query (redacted),
    /// the answer's status — as received at `at`: what a model's [`Model::handle`] does around
    /// its routing.
    pub async fn answer<F, Fut>(
        &self,
        at: SystemTime,
        request: HttpRequest,
        answer: F,
    ) -> HttpResponse
    where
        F: FnOnce(HttpRequest) -> Fut,
        Fut: std::future::Future<Output = HttpResponse>,
    {
        let method = request.method().clone();
        let path = request
            .uri()
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        let response = answer(request).await;
        self.record(at, method.as_str(), &path, response.status().as_u16());
        response
    }

    /// The answer to [`Control::ReadLog`]: the newest `limit` entries (all kept when `None`),
    /// oldest first, as JSON.
    pub fn read(&self, limit: Option<usize>) -> Result<serde_json::Value, ControlError> {
        to_answer(&self.recent(limit))
    }

    /// Records a request and its status, dropping the oldest entry when full.
    pub fn record(&self, at: SystemTime, method: &str, path_and_query: &str, status: u16) {
        let mut ring = lock(&self.ring);
        // Never more than one over: a smaller capacity drops the excess when it is set.
        if ring.entries.len() >= ring.capacity {
            ring.entries.pop_front();
        }
        ring.entries.push_back(LogEntry {
            at,
            method: method.to_owned(),
            path: crate::base_url::redact_url(path_and_query),
            status,
        });
    }

    /// The newest `limit` entries (all kept when `None`), oldest first.
    pub fn recent(&self, limit: Option<usize>) -> Vec<LogEntry> {
        let entries = &lock(&self.ring).entries;
        let n = limit.unwrap_or(entries.len()).min(entries.len());
        entries.iter().skip(entries.len() - n).cloned().collect()
    }

    /// How many entries are kept now.
    pub fn len(&self) -> usize {
        lock(&self.ring).entries.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most entries it keeps.
    pub fn capacity(&self) -> usize {
        lock(&self.ring).capacity
    }

    /// Keeps at most `capacity` entries (at least one) from now on; the oldest beyond it go at
    /// once.
    pub fn set_capacity(&self, capacity: usize) {
        let mut ring = lock(&self.ring);
        ring.capacity = capacity.max(1);
        let excess = ring.entries.len().saturating_sub(ring.capacity);
        ring.entries.drain(..excess);
    }
}

/// Faults waiting for the next matching requests (the [`Control::InjectFault`] state every
/// model can reuse).
#[derive(Debug, Default)]
pub struct Faults {
    queue: Mutex<Vec<Fault>>,
}

impl Faults {
    /// Adds a fault.
    pub fn inject(&self, fault: Fault) {
        if fault.times > 0 {
            lock(&self.queue).push(fault);
        }
    }

    /// The `inject_fault` command, answered as every model answers it: the fault is added, and
    /// the answer says for how many requests (`{"injected": n}`).
    pub fn inject_command(&self, fault: Fault) -> Result<serde_json::Value, ControlError> {
        let times = fault.times;
        self.inject(fault);
        Ok(serde_json::json!({ "injected": times }))
    }

    /// The response for `path` if a fault matches it (using up one of its times).
    pub fn take(&self, path: &str) -> Option<HttpResponse> {
        let mut queue = lock(&self.queue);
        let i = queue.iter().position(|f| {
            f.path_contains
                .as_deref()
                .is_none_or(|needle| path.contains(needle))
        })?;
        let fault = queue.get_mut(i)?;
        fault.times -= 1;
        let (status, retry_after) = (fault.status, fault.retry_after);
        if fault.times == 0 {
            queue.remove(i);
        }
        let mut builder = http::Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, "application/json");
        if let Some(secs) = retry_after {
            builder = builder.header(http::header::RETRY_AFTER, secs.to_string());
        }
        builder
            .body(br#"{"error":"injected fault","message":"injected fault"}"#.to_vec())
            .ok()
    }
}

/// A clock for emulator servers: real time plus an offset that [`Control::AdvanceClock`]
/// moves; sleeps are real.
#[derive(Debug, Clone, Default)]
pub struct OffsetClock {
    offset: Arc<Mutex<Duration>>,
}

impl OffsetClock {
    /// Real time, no offset.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves this clock (and its clones) forward.
    pub fn advance(&self, by: Duration) {
        let mut offset = lock(&self.offset);
        *offset = offset.saturating_add(by);
    }
}

#[async_trait]
impl Clock for OffsetClock {
    fn now(&self) -> SystemTime {
        SystemTime::now() + *lock(&self.offset)
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// The clock a model runs on, and whether [`Control::AdvanceClock`] can move it: a builder's
/// `clock(..)` setting, the model's time source, and the `advance_clock` command in one.
///
/// ```
/// use std::time::Duration;
/// use auth_core::emulator::{ControlError, EmulatorClock, OffsetClock};
/// use auth_core::{Clock, FakeClock, SharedClock};
///
/// // The default: real time plus an offset that `advance_clock` moves.
/// let clock = EmulatorClock::default();
/// let before = clock.now();
/// clock.advance(Duration::from_secs(60)).unwrap();
/// assert!(clock.now().duration_since(before).unwrap() >= Duration::from_secs(60));
///
/// // A fake clock moves too, and so does the test holding it.
/// let fake = FakeClock::at_unix(1_700_000_000);
/// let clock = EmulatorClock::from(fake.clone());
/// clock.advance(Duration::from_secs(5)).unwrap();
/// assert_eq!(fake.unix_seconds(), 1_700_000_005);
///
/// // Any other clock is its owner's to move.
/// let other: SharedClock = std::sync::Arc::new(FakeClock::at_unix(0));
/// let clock = EmulatorClock::from(other);
/// assert!(matches!(clock.advance(Duration::from_secs(1)), Err(ControlError::Conflict(_))));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum EmulatorClock {
    /// Real time plus an offset that `advance_clock` moves (the default).
    Offset(OffsetClock),
    /// A fake clock (tests): `advance_clock` moves it, and so does the test.
    Fake(FakeClock),
    /// Any other clock; `advance_clock` cannot move it (a conflict).
    Shared(SharedClock),
}

impl Default for EmulatorClock {
    fn default() -> Self {
        EmulatorClock::Offset(OffsetClock::new())
    }
}

impl From<OffsetClock> for EmulatorClock {
    fn from(clock: OffsetClock) -> Self {
        EmulatorClock::Offset(clock)
    }
}

impl From<FakeClock> for EmulatorClock {
    fn from(clock: FakeClock) -> Self {
        EmulatorClock::Fake(clock)
    }
}

impl From<SharedClock> for EmulatorClock {
    fn from(clock: SharedClock) -> Self {
        EmulatorClock::Shared(clock)
    }
}

/// `Arc::new(clock)` of any clock: a [`EmulatorClock::Shared`], as a [`SharedClock`] is.
impl<C: Clock + 'static> From<Arc<C>> for EmulatorClock {
    fn from(clock: Arc<C>) -> Self {
        EmulatorClock::Shared(clock)
    }
}

impl EmulatorClock {
    /// Moves the clock forward: the [`Control::AdvanceClock`] command. A clock the model was
    /// merely given ([`EmulatorClock::Shared`]) is a [`ControlError::Conflict`]: its owner
    /// moves it.
    pub fn advance(&self, by: Duration) -> Result<(), ControlError> {
        match self {
            EmulatorClock::Offset(c) => c.advance(by),
            EmulatorClock::Fake(c) => c.advance(by),
            EmulatorClock::Shared(_) => {
                return Err(ControlError::Conflict(
                    "this model runs on a clock it was given: its owner moves it".into(),
                ));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Clock for EmulatorClock {
    fn now(&self) -> SystemTime {
        match self {
            EmulatorClock::Offset(c) => c.now(),
            EmulatorClock::Fake(c) => Clock::now(c),
            EmulatorClock::Shared(c) => c.now(),
        }
    }

    async fn sleep(&self, duration: Duration) {
        match self {
            EmulatorClock::Offset(c) => c.sleep(duration).await,
            EmulatorClock::Fake(c) => c.sleep(duration).await,
            EmulatorClock::Shared(c) => c.sleep(duration).await,
        }
    }
}

/// An [`HttpClient`] that hands each request straight to a model: no socket, no port.
pub struct InProcess {
    model: Arc<dyn Model>,
}

impl fmt::Debug for InProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InProcess")
            .field("provider", &self.model.provider())
            .finish()
    }
}

impl InProcess {
    /// A client for `model`.
    pub fn new(model: Arc<dyn Model>) -> Self {
        InProcess { model }
    }
}

#[async_trait]
impl HttpClient for InProcess {
    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        Ok(self.model.handle(request).await)
    }
}

/// How long the server waits for a request body to arrive whole before answering `400`: a
/// body shorter than its `Content-Length` must not hang the client.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// The largest request body the server reads (1 MiB).
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// A model served on a real loopback port, until dropped.
pub struct Server {
    addr: SocketAddr,
    base: BaseUrl,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").field("addr", &self.addr).finish()
    }
}

impl Server {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Serves `model` over HTTP/1.1 on `addr` (`"127.0.0.1:0"` picks a free port) until the
/// returned [`Server`] is dropped.
///
/// Requests whose body is shorter than their `Content-Length`, or larger than
/// [`MAX_REQUEST_BYTES`], get a prompt `400` / `413` instead of a hung connection.
pub async fn serve(model: Arc<dyn Model>, addr: &str) -> std::io::Result<Server> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let base = BaseUrl::parse(&format!("http://{addr}"))
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(model);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(Server {
        addr,
        base,
        shutdown: Some(tx),
    })
}

/// An axum router answering every request with `model` (to mount under a prefix, or serve).
pub fn router(model: Arc<dyn Model>) -> axum::Router {
    axum::Router::new().fallback(move |request: axum::extract::Request| {
        let model = model.clone();
        async move { answer(model.as_ref(), request).await }
    })
}

async fn answer(model: &dyn Model, request: axum::extract::Request) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (parts, body) = request.into_parts();
    let bytes = match tokio::time::timeout(
        BODY_READ_TIMEOUT,
        axum::body::to_bytes(body, MAX_REQUEST_BYTES),
    )
    .await
    {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.to_string().contains("length limit"));
            let status = if too_large { 413 } else { 400 };
            return error_response(status, "the request body could not be read");
        }
        Err(_) => return error_response(400, "the request body did not arrive"),
    };
    let request = http::Request::from_parts(parts, bytes.to_vec());
    let response = model.handle(request).await;
    let (parts, body) = response.into_parts();
    (parts, body).into_response()
}

fn error_response(status: u16, message: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = serde_json::json!({"error": "bad_request", "message": message}).to_string();
    let status = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    (
        status,
        [(http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// A model served on a loopback port, with the one emulator API every provider crate offers:
/// `base_url`, `control`, `pending`, `model`, `in_process`. Dereferences to the model, so the
/// model's own Rust helpers stay at hand.
///
/// A provider crate's `Emulator` wraps one ([`served_emulator!`](crate::served_emulator)
/// declares it: a newtype that dereferences to its `Served`, with `builder()` and `start()`)
/// and adds its own extras.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// # use auth_core::emulator::{Control, ControlError, Model, PendingStepUp, Served};
/// # use auth_core::{HttpClient, HttpRequest, HttpResponse};
/// # struct Toy;
/// # #[auth_core::async_trait]
/// # impl Model for Toy {
/// #     fn provider(&self) -> &'static str { "toy" }
/// #     async fn handle(&self, request: HttpRequest) -> HttpResponse {
/// #         let status = if request.uri().path() == "/api/ping" { 200 } else { 404 };
/// #         http::Response::builder().status(status).body(Vec::new()).unwrap()
/// #     }
/// #     fn control(&self, command: Control) -> Result<serde_json::Value, ControlError> {
/// #         Err(ControlError::Unsupported { provider: "toy", command: command.name() })
/// #     }
/// #     fn pending(&self) -> Vec<PendingStepUp> { Vec::new() }
/// # }
/// // The API under `/api`: clients take `base_url()`, pages outside it live at `root_url()`.
/// let served = Served::start(std::sync::Arc::new(Toy)).await?.under("/api")?;
/// assert_eq!(served.base_url().as_str(), format!("{}/api", served.root_url()));
/// assert_eq!(served.base_url().path(), "/api");
///
/// // The same model with no socket.
/// let ping = http::Request::get(served.base_url().join("/ping").as_str()).body(Vec::new()).unwrap();
/// assert_eq!(served.in_process().execute(ping).await.unwrap().status(), 200);
/// assert_eq!(served.model().provider(), "toy");
/// # Ok(()) }
/// ```
pub struct Served<M: Model> {
    model: Arc<M>,
    server: Server,
    base: BaseUrl,
}

impl<M: Model> fmt::Debug for Served<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Served")
            .field("provider", &self.model.provider())
            .field("base_url", &self.base.as_str())
            .finish()
    }
}

impl<M: Model> Served<M> {
    /// Serves `model` on a free loopback port.
    pub async fn start(model: Arc<M>) -> std::io::Result<Self> {
        Self::start_on(model, "127.0.0.1:0").await
    }

    /// Serves `model` on `addr`.
    pub async fn start_on(model: Arc<M>, addr: &str) -> std::io::Result<Self> {
        let server = serve(model.clone(), addr).await?;
        let base = server.base_url().clone();
        Ok(Served {
            model,
            server,
            base,
        })
    }

    /// The provider's API lives under `path` on the server (`"/v1"`, `"/auth"`):
    /// [`Served::base_url`] names it from now on; [`Served::root_url`] stays the server's root.
    pub fn under(mut self, path: &str) -> std::io::Result<Self> {
        let url = format!(
            "{}/{}",
            self.server.base_url(),
            path.trim_start_matches('/')
        );
        self.base = BaseUrl::parse(&url)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        Ok(self)
    }

    /// The served API's base URL (`http://127.0.0.1:<port>`, with the path given to
    /// [`Served::under`]): what the provider crate's client builder takes.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base
    }

    /// The server's root (`http://127.0.0.1:<port>`), whatever path the API is under.
    pub fn root_url(&self) -> &BaseUrl {
        self.server.base_url()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Runs a control command on the model.
    pub fn control(&self, command: Control) -> Result<serde_json::Value, ControlError> {
        self.model.control(command)
    }

    /// The step-ups waiting for the user.
    pub fn pending(&self) -> Vec<PendingStepUp> {
        self.model.pending()
    }

    /// The model, to serve it elsewhere too (it is the same state).
    pub fn model(&self) -> Arc<M> {
        self.model.clone()
    }

    /// An [`HttpClient`] that reaches the same model with no socket.
    pub fn in_process(&self) -> Arc<dyn HttpClient> {
        Arc::new(InProcess::new(self.model.clone()))
    }
}

impl<M: Model> std::ops::Deref for Served<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.model
    }
}

/// Declares a provider crate's `Emulator`: a newtype over [`Served`]`<Model>` that dereferences
/// to it (so `base_url`, `root_url`, `control`, `pending`, `model`, `in_process` and the
/// model's own methods are called on it), with `builder()` (the builder's `Default`) and
/// `start()` (`builder().start()`). The builder's `start(self)` serves the model and wraps the
/// [`Served`] in the newtype; the crate adds its extras in an `impl` block of its own.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// # use auth_core::emulator::{Control, ControlError, Model as _, PendingStepUp, Served};
/// # use auth_core::{HttpRequest, HttpResponse};
/// /// A toy provider's protocol model.
/// pub struct Model;
/// # #[auth_core::async_trait]
/// # impl auth_core::emulator::Model for Model {
/// #     fn provider(&self) -> &'static str { "toy" }
/// #     async fn handle(&self, _: HttpRequest) -> HttpResponse { http::Response::new(Vec::new()) }
/// #     fn control(&self, command: Control) -> Result<serde_json::Value, ControlError> {
/// #         Err(ControlError::Unsupported { provider: "toy", command: command.name() })
/// #     }
/// #     fn pending(&self) -> Vec<PendingStepUp> { Vec::new() }
/// # }
///
/// /// Seeds for an [`Emulator`].
/// #[derive(Default)]
/// pub struct EmulatorBuilder;
///
/// impl EmulatorBuilder {
///     /// Serves the model on a free loopback port, its API under `/v1`.
///     pub async fn start(self) -> std::io::Result<Emulator> {
///         Ok(Emulator(Served::start(std::sync::Arc::new(Model)).await?.under("/v1")?))
///     }
/// }
///
/// auth_core::served_emulator! {
///     /// The toy provider, served.
///     pub struct Emulator(Served<Model>);
///     builder: EmulatorBuilder;
/// }
///
/// let emulator = Emulator::start().await?;
/// assert!(emulator.base_url().as_str().ends_with("/v1"));
/// assert_eq!(emulator.model().provider(), "toy");
/// assert!(emulator.pending().is_empty());
/// # Ok(()) }
/// ```
#[macro_export]
macro_rules! served_emulator {
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident(Served<$model:ty>);
        builder: $builder:ty;
    ) => {
        $(#[$attr])*
        #[derive(Debug)]
        $vis struct $name($crate::emulator::Served<$model>);

        impl ::core::ops::Deref for $name {
            type Target = $crate::emulator::Served<$model>;

            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl $name {
            /// A builder for the emulator's seeds.
            $vis fn builder() -> $builder {
                <$builder as ::core::default::Default>::default()
            }

            /// An emulator with the builder's defaults, on a free loopback port:
            /// `Emulator::builder().start()`.
            $vis async fn start() -> ::std::io::Result<$name> {
                Self::builder().start().await
            }
        }
    };
}

/// A request as JSON, for a log or a captured webhook a test in any language reads: method,
/// path (query included), headers (values as text, lossy) and the body (as text, lossy).
pub fn request_json(request: &HttpRequest) -> serde_json::Value {
    let headers: serde_json::Map<String, serde_json::Value> = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                serde_json::Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()),
            )
        })
        .collect();
    serde_json::json!({
        "method": request.method().as_str(),
        "path": request.uri().path_and_query().map_or("/", |p| p.as_str()),
        "headers": headers,
        "body": String::from_utf8_lossy(request.body()),
    })
}

/// Escapes text for HTML (element content and quoted attribute values): `&`, `<`, `>`, `"`
/// and `'`. For the pages emulators serve (challenge pages, login forms, the phone).
///
/// ```
/// assert_eq!(
///     auth_core::emulator::escape_html(r#"<a href="x">Tom & 'Jerry'</a>"#),
///     "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
/// );
/// ```
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An HTML response (for models' browser pages).
pub fn html_response(status: u16, body: String) -> HttpResponse {
    let mut response = http::Response::new(body.into_bytes());
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// A JSON response (for models).
pub fn json_response(status: u16, body: &serde_json::Value) -> HttpResponse {
    let mut response = http::Response::new(body.to_string().into_bytes());
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_a_ring() {
        let log = RequestLog::with_capacity(3);
        for i in 0..10 {
            log.record(
                SystemTime::UNIX_EPOCH,
                "GET",
                &format!("/x/{i}?token=t"),
                200,
            );
        }
        assert_eq!(log.len(), 3);
        let recent = log.recent(None);
        assert_eq!(recent[0].path, "/x/7?token=[redacted]");
        assert_eq!(log.recent(Some(1))[0].path, "/x/9?token=[redacted]");
    }

    #[test]
    fn faults_are_used_up() {
        let faults = Faults::default();
        faults.inject(Fault::status(429).on_path("/poll").retry_after(3).times(2));
        assert!(faults.take("/other").is_none());
        let r = faults.take("/v1/poll").unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "3");
        assert!(faults.take("/v1/poll").is_some());
        assert!(faults.take("/v1/poll").is_none());
    }

    #[test]
    fn control_commands_are_json() {
        let c: Control =
            serde_json::from_str(r#"{"command":"deny","id":"r1","fraud":true}"#).unwrap();
        assert_eq!(
            c,
            Control::Deny {
                id: "r1".into(),
                fraud: true,
                reason: None
            }
        );
        assert_eq!(c.name(), "deny");
        let c: Control = serde_json::from_str(
            r#"{"command":"inject_fault","fault":{"status":503,"path_contains":"/auths"}}"#,
        )
        .unwrap();
        assert!(matches!(c, Control::InjectFault { fault } if fault.times == 1));
        assert!(serde_json::from_str::<Control>(r#"{"command":"explode"}"#).is_err());
    }

    #[test]
    fn the_offset_clock_moves() {
        let c = OffsetClock::new();
        let before = c.now();
        c.advance(Duration::from_secs(3600));
        assert!(c.now().duration_since(before).unwrap() >= Duration::from_secs(3600));
    }
}
