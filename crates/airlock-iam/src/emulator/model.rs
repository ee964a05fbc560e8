//! The Loginapp as a protocol model: requests in, responses out, control commands, an injected
//! clock. See the [module docs](super).

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::emulator::{
    Control, ControlError, EmulatorClock, Faults, LogEntry, PendingStepUp, RequestLog,
};
use auth_core::secret::constant_time_eq;
use auth_core::sync::lock;
use auth_core::time::Timestamp;
use auth_core::{Clock, HttpRequest, HttpResponse, async_trait};
use http::HeaderMap;
use serde_json::{Map, Value, json};

use super::{
    DEFAULT_APPLICATION, DEFAULT_PASSWORD, EmulatedDevice, EmulatedUser, EmulatorBuilder,
    SESSION_COOKIE, SecondFactor, codes,
};
use crate::PROVIDER;

/// How a pending 2FA request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChallengeStatus {
    /// Waiting for the user.
    Pending,
    /// Approved on the phone.
    Approved,
    /// Declined on the phone.
    Rejected,
    /// Expired.
    TimedOut,
}

#[derive(Debug, Clone)]
struct Challenge {
    /// The public id: what [`Model::pending`] lists and `approve` takes.
    id: String,
    user: String,
    /// The application the login is for.
    app: String,
    kind: Kind,
    status: ChallengeStatus,
    created: SystemTime,
    polling_code: &'static str,
}

/// How the user answers a 2FA request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A One-Touch push to their device(s).
    Push,
    /// The Airlock 2FA app opened from the business app on the same phone.
    MobileOnly,
    /// A QR code the application shows, scanned with the app.
    OnlineQr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    Password,
    PasswordChange,
    Otp,
    MobileOnlyRetrieve,
    DeviceChoice,
    Polling {
        token: String,
        offline_allowed: bool,
        /// The QR code shown at this step (online QR), if any.
        qr: Option<String>,
    },
    OfflineOtp {
        /// The QR code shown at this step (offline QR), if any.
        qr: Option<String>,
    },
    Extra(String),
    Done,
}

impl Stage {
    fn code(&self) -> Option<String> {
        Some(
            match self {
                Stage::Password => "PASSWORD_REQUIRED",
                Stage::PasswordChange => codes::PASSWORD_CHANGE_REQUIRED,
                Stage::Otp => "OTP_REQUIRED",
                Stage::MobileOnlyRetrieve => "AIRLOCK_2FA_MOBILE_ONLY_CHALLENGE_RETRIEVAL_REQUIRED",
                Stage::DeviceChoice => "AIRLOCK_2FA_DEVICE_CHOICE_REQUIRED",
                Stage::Polling {
                    offline_allowed: true,
                    ..
                } => "AIRLOCK_2FA_POLLING_OR_OFFLINE_REQUIRED",
                Stage::Polling { .. } => "AIRLOCK_2FA_POLLING_REQUIRED",
                Stage::OfflineOtp { .. } => codes::AIRLOCK_2FA_OTP_REQUIRED,
                Stage::Extra(code) => return Some(code.clone()),
                Stage::Done => return None,
            }
            .to_owned(),
        )
    }
}

#[derive(Debug, Clone)]
struct Session {
    /// When it was last used (a counter, for least-recently-used eviction).
    used: u64,
    id: String,
    user: Option<String>,
    app: String,
    password_done: bool,
    password_changed: bool,
    second_done: bool,
    stage: Stage,
}

#[derive(Debug)]
struct State {
    users: HashMap<String, EmulatedUser>,
    failures: HashMap<String, u32>,
    temp_locks: HashMap<String, SystemTime>,
    sessions: HashMap<String, Session>,
    challenges: HashMap<String, Challenge>,
    applications: HashMap<String, bool>,
    pushes: VecDeque<(String, String)>,
    push_capacity: usize,
    session_capacity: usize,
    uses: u64,
    lock_duration: Duration,
    max_failures: u32,
    challenge_ttl: Duration,
    csrf_protection: bool,
    push_to_all: bool,
    /// The model's clock, read once per request (so one answer has one time).
    now: SystemTime,
}

/// How many records the emulator holds ([`Model::stored`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stored {
    /// Received requests in the log.
    pub requests: usize,
    /// Pushes in the log.
    pub pushes: usize,
    /// Server sessions (flows).
    pub sessions: usize,
    /// 2FA requests (pending or settled, not yet collected by a poll).
    pub challenges: usize,
    /// Failed-attempt counters.
    pub failure_counters: usize,
    /// Temporary locks.
    pub temporary_locks: usize,
}

/// The Airlock IAM Loginapp REST API as a protocol model: an HTTP request in, the response out
/// ([`auth_core::emulator::Model`]), control commands, the 2FA requests waiting for the user.
/// No socket: serve it with [`auth_core::emulator::serve`] (as [`super::Emulator`] does) or
/// call it with [`auth_core::emulator::InProcess`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), airlock_iam::Error> {
/// use std::sync::Arc;
/// use airlock_iam::{Client, Password};
/// use airlock_iam::emulator::Emulator;
/// use auth_core::emulator::InProcess;
///
/// let model = Arc::new(Emulator::builder().model()); // no socket, no runtime needed
/// let client = Client::builder("http://127.0.0.1/auth")
///     .http_client(Arc::new(InProcess::new(model.clone())))
///     .build()?;
/// let flow = client.flow();
/// flow.check_password("alice", &Password::new("password1")).await?;
/// assert!(model.approve("alice"));
/// assert!(flow.wait().await?.is_done());
/// # Ok(()) }
/// ```
pub struct Model {
    /// The builder's clock, or real time plus an offset that [`Control::AdvanceClock`] moves.
    clock: EmulatorClock,
    log: RequestLog,
    faults: Faults,
    state: Mutex<State>,
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("stored", &self.stored())
            .finish_non_exhaustive()
    }
}

impl Model {
    pub(super) fn from_builder(b: EmulatorBuilder) -> Model {
        let mut users = HashMap::new();
        if b.default_users {
            for u in super::default_users() {
                users.insert(u.username.clone(), u);
            }
        }
        for u in b.users {
            users.insert(u.username.clone(), u);
        }
        let applications = HashMap::from([
            (DEFAULT_APPLICATION.to_owned(), true),
            ("ebanking".to_owned(), true),
            ("portal".to_owned(), false),
        ]);
        let clock = b.clock;
        let now = clock.now();
        Model {
            clock,
            log: RequestLog::with_capacity(b.log_capacity),
            faults: Faults::default(),
            state: Mutex::new(State {
                users,
                failures: HashMap::new(),
                temp_locks: HashMap::new(),
                sessions: HashMap::new(),
                challenges: HashMap::new(),
                applications,
                pushes: VecDeque::new(),
                push_capacity: b.log_capacity,
                session_capacity: b.session_capacity,
                uses: 0,
                lock_duration: b.lock_duration,
                max_failures: b.max_failures,
                challenge_ttl: b.challenge_ttl,
                csrf_protection: b.csrf_protection,
                push_to_all: b.push_to_all,
                now,
            }),
        }
    }

    /// The state, with the clock read now.
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        let mut st = lock(&self.state);
        st.now = self.clock.now();
        st
    }

    /// Adds or replaces a user ([`Control::AddUser`]).
    pub fn add_user(&self, user: EmulatedUser) {
        self.state().users.insert(user.username.clone(), user);
    }

    /// Adds an application whose flow asks for the second factor (like `ebanking`).
    pub fn add_application(&self, id: &str) {
        self.state().applications.insert(id.to_owned(), true);
    }

    /// Adds an application the password alone reaches (like `portal`).
    pub fn add_password_only_application(&self, id: &str) {
        self.state().applications.insert(id.to_owned(), false);
    }

    /// Sets the temporary-lock duration (tests use zero to retry at once).
    pub fn set_temporary_lock(&self, duration: Duration) {
        self.state().lock_duration = duration;
    }

    /// Sets how many failed attempts lock an account for good (at least one).
    pub fn set_max_failed_attempts(&self, n: u32) {
        self.state().max_failures = n.max(1);
    }

    /// Accepts requests without `X-Same-Domain` from now on.
    pub fn disable_csrf_protection(&self) {
        self.state().csrf_protection = false;
    }

    /// Requires `X-Same-Domain` again (the default).
    pub fn enable_csrf_protection(&self) {
        self.state().csrf_protection = true;
    }

    /// Settles the pending 2FA requests `id` names: a request's id (from [`Model::pending`]),
    /// its session token (from a `mobileAuthUri` or QR code), or a user name (all of that
    /// user's). How many it settled.
    fn settle(&self, id: &str, status: ChallengeStatus) -> usize {
        let mut st = self.state();
        let now = st.now;
        let ttl = st.challenge_ttl;
        let mut settled = 0;
        for (token, c) in st.challenges.iter_mut() {
            let named =
                c.id == id || constant_time_eq(token.as_bytes(), id.as_bytes()) || c.user == id;
            if named && c.status == ChallengeStatus::Pending && now < c.created + ttl {
                c.status = status;
                settled += 1;
            }
        }
        settled
    }

    /// The phone approves every pending 2FA request of `username`. Whether there was one.
    pub fn approve(&self, username: &str) -> bool {
        self.settle(username, ChallengeStatus::Approved) > 0
    }

    /// The phone declines every pending 2FA request of `username`.
    pub fn reject(&self, username: &str) -> bool {
        self.settle(username, ChallengeStatus::Rejected) > 0
    }

    /// Every pending 2FA request of `username` times out.
    pub fn time_out(&self, username: &str) -> bool {
        self.settle(username, ChallengeStatus::TimedOut) > 0
    }

    /// The app that received a `mobileAuthUri` (or scanned a QR code) approves its session
    /// token.
    pub fn approve_session_token(&self, session_token: &str) -> bool {
        self.settle(session_token, ChallengeStatus::Approved) > 0
    }

    /// The app declines the request of this session token.
    pub fn reject_session_token(&self, session_token: &str) -> bool {
        self.settle(session_token, ChallengeStatus::Rejected) > 0
    }

    /// The status of the request with this session token.
    pub fn challenge_status(&self, session_token: &str) -> Option<ChallengeStatus> {
        self.state().challenges.get(session_token).map(|c| c.status)
    }

    /// How many 2FA requests of `username` are pending.
    pub fn pending_count(&self, username: &str) -> usize {
        self.pending().iter().filter(|p| p.user == username).count()
    }

    /// How many server sessions it keeps at most: beyond it, finished flows (done, or not
    /// started: a later password check starts afresh) are forgotten first, oldest first, then
    /// the least recently used flow (with its pending 2FA request). Nothing else grows with
    /// the number of requests: the log and the pushes are rings
    /// ([`EmulatorBuilder::log_capacity`]), failure counters and temporary locks are kept for
    /// the emulator's users only, and 2FA requests only while their flow holds them (or up to
    /// `sessions` more).
    pub fn set_session_capacity(&self, sessions: usize) {
        let mut st = self.state();
        st.session_capacity = sessions.max(1);
        st.prune_sessions(None);
        st.prune_challenges();
    }

    /// How many records the emulator holds now.
    pub fn stored(&self) -> Stored {
        let st = lock(&self.state);
        Stored {
            requests: self.log.len(),
            pushes: st.pushes.len(),
            sessions: st.sessions.len(),
            challenges: st.challenges.len(),
            failure_counters: st.failures.len(),
            temporary_locks: st.temp_locks.len(),
        }
    }

    /// The device ids pushes went to for `username`, in order (the newest, up to the log's
    /// capacity).
    pub fn pushes(&self, username: &str) -> Vec<String> {
        self.state()
            .pushes
            .iter()
            .filter(|(u, _)| u == username)
            .map(|(_, d)| d.clone())
            .collect()
    }

    /// The passcode / OTP of `username` valid now (changes every 30 s on the emulator's clock).
    pub fn passcode(&self, username: &str) -> Option<String> {
        let st = self.state();
        let user = st.users.get(username)?;
        Some(passcode_at(user, st.now))
    }

    /// How many server sessions exist.
    pub fn session_count(&self) -> usize {
        self.state().sessions.len()
    }

    /// Whether `username` is locked for good.
    pub fn is_locked(&self, username: &str) -> bool {
        self.state().users.get(username).is_some_and(|u| u.locked)
    }

    /// Forgets sessions, 2FA requests, pushes, failure counters and temporary locks.
    pub fn reset(&self) {
        let mut st = self.state();
        st.sessions.clear();
        st.challenges.clear();
        st.pushes.clear();
        st.failures.clear();
        st.temp_locks.clear();
    }

    /// The newest requests (method, path with its query redacted, status), oldest first: no
    /// headers, no bodies ([`Control::ReadLog`]).
    pub fn log(&self) -> Vec<LogEntry> {
        self.log.recent(None)
    }

    /// The 2FA requests waiting for the user, as the Airlock 2FA app would show them; a
    /// request past its time to live is no longer waiting.
    pub fn pending(&self) -> Vec<PendingStepUp> {
        let st = self.state();
        let mut pending: Vec<PendingStepUp> = st
            .challenges
            .values()
            .filter(|c| {
                c.status == ChallengeStatus::Pending && st.now < c.created + st.challenge_ttl
            })
            .map(|c| {
                let message = match c.kind {
                    Kind::Push => format!("Log in to {}?", c.app),
                    Kind::MobileOnly => format!("Log in to {} on this phone?", c.app),
                    Kind::OnlineQr => format!("Log in to {} with the QR code you scanned?", c.app),
                };
                PendingStepUp::new(PROVIDER, c.id.clone(), c.user.clone(), message, c.created)
                    .with_title("Airlock 2FA")
                    .with_expiry(c.created + st.challenge_ttl)
            })
            .collect();
        pending.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        pending
    }

    /// Runs a control command (see the [module docs](super#control)).
    pub fn control(&self, command: Control) -> Result<Value, ControlError> {
        match command {
            Control::AddUser { user, details } => {
                let user = user_from_details(&user, &details)?;
                let name = user.username.clone();
                self.add_user(user);
                Ok(json!({"user": name}))
            }
            Control::Approve { id } => self.settle_command(&id, ChallengeStatus::Approved),
            Control::Deny { id, .. } => self.settle_command(&id, ChallengeStatus::Rejected),
            Control::Expire { id } => self.settle_command(&id, ChallengeStatus::TimedOut),
            Control::InjectFault { fault } => self.faults.inject_command(fault),
            Control::AdvanceClock { seconds } => {
                self.clock.advance(Duration::from_secs(seconds))?;
                Ok(auth_core::emulator::clock_answer(self.clock.now()))
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

    fn settle_command(&self, id: &str, status: ChallengeStatus) -> Result<Value, ControlError> {
        match self.settle(id, status) {
            0 => Err(ControlError::NotFound {
                what: "pending 2FA request",
                id: id.chars().take(64).collect(),
            }),
            n => Ok(json!({"id": id, "settled": n})),
        }
    }

    fn provider_command(&self, body: &Value) -> Result<Value, ControlError> {
        let usage = || {
            ControlError::Invalid(
                "airlock-iam's provider commands: {\"passcode\": user}, {\"csrf_protection\": bool}, \
                 {\"push_to_all\": bool}, {\"temporary_lock_seconds\": n}, \
                 {\"max_failed_attempts\": n}, {\"application\": id, \"second_factor\": bool}, \
                 {\"session_capacity\": n}, {\"pushes\": user}, {\"is_locked\": user}, \
                 {\"stored\": true}, {\"reset\": true}"
                    .into(),
            )
        };
        let obj = body.as_object().ok_or_else(usage)?;
        if let Some(user) = obj.get("passcode") {
            let user = user.as_str().ok_or_else(usage)?;
            let code = self.passcode(user).ok_or_else(|| ControlError::NotFound {
                what: "user",
                id: user.chars().take(64).collect(),
            })?;
            return Ok(json!({"user": user, "passcode": code}));
        }
        if let Some(on) = obj.get("csrf_protection") {
            let on = on.as_bool().ok_or_else(usage)?;
            self.state().csrf_protection = on;
            return Ok(json!({"csrf_protection": on}));
        }
        if let Some(on) = obj.get("push_to_all") {
            let on = on.as_bool().ok_or_else(usage)?;
            self.state().push_to_all = on;
            return Ok(json!({"push_to_all": on}));
        }
        if let Some(secs) = obj.get("temporary_lock_seconds") {
            let secs = secs.as_u64().ok_or_else(usage)?;
            self.set_temporary_lock(Duration::from_secs(secs));
            return Ok(json!({"temporary_lock_seconds": secs}));
        }
        if let Some(n) = obj.get("max_failed_attempts") {
            let n = n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(usage)?;
            self.set_max_failed_attempts(n);
            return Ok(json!({"max_failed_attempts": n.max(1)}));
        }
        if let Some(user) = obj.get("pushes") {
            let user = user.as_str().ok_or_else(usage)?;
            return Ok(json!({"user": user, "devices": self.pushes(user)}));
        }
        if let Some(user) = obj.get("is_locked") {
            let user = user.as_str().ok_or_else(usage)?;
            return Ok(json!({"user": user, "locked": self.is_locked(user)}));
        }
        if let Some(app) = obj.get("application") {
            let app = app.as_str().ok_or_else(usage)?;
            crate::ApplicationId::new(app).map_err(|e| ControlError::Invalid(e.to_string()))?;
            let second_factor = obj
                .get("second_factor")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            if second_factor {
                self.add_application(app);
            } else {
                self.add_password_only_application(app);
            }
            return Ok(json!({"application": app, "second_factor": second_factor}));
        }
        if let Some(n) = obj.get("session_capacity") {
            let n = n
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(usage)?;
            self.set_session_capacity(n);
            return Ok(json!({"session_capacity": n.max(1)}));
        }
        if obj.get("stored").is_some() {
            let s = self.stored();
            return Ok(
                json!({"requests": s.requests, "pushes": s.pushes, "sessions": s.sessions,
                "challenges": s.challenges, "failure_counters": s.failure_counters,
                "temporary_locks": s.temporary_locks}),
            );
        }
        if obj.get("reset").is_some() {
            self.reset();
            return Ok(json!({"reset": true}));
        }
        Err(usage())
    }

    /// Answers one request (what [`auth_core::emulator::Model::handle`] does).
    fn answer(&self, request: &HttpRequest) -> HttpResponse {
        let path = request.uri().path();
        if let Some(fault) = self.faults.take(path) {
            return fault;
        }
        let reply = {
            let mut st = self.state();
            st.handle(&Req {
                method: request.method().as_str(),
                path,
                headers: request.headers(),
                body: request.body(),
            })
        };
        let mut response = auth_core::emulator::json_response(reply.status, &reply.body);
        if let Some(cookie) = reply.set_cookie
            && let Ok(value) = http::HeaderValue::from_str(&cookie)
        {
            response
                .headers_mut()
                .insert(http::header::SET_COOKIE, value);
        }
        response
    }
}

#[async_trait]
impl auth_core::emulator::Model for Model {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn handle(&self, request: HttpRequest) -> HttpResponse {
        self.log
            .answer(
                self.clock.now(),
                request,
                |r| async move { self.answer(&r) },
            )
            .await
    }

    fn control(&self, command: Control) -> Result<Value, ControlError> {
        Model::control(self, command)
    }

    fn pending(&self) -> Vec<PendingStepUp> {
        Model::pending(self)
    }
}

/// A user from [`Control::AddUser`] details.
fn user_from_details(name: &str, details: &Value) -> Result<EmulatedUser, ControlError> {
    if name.is_empty() || name.len() > 256 || name.chars().any(char::is_control) {
        return Err(ControlError::Invalid(
            "a user name is 1 to 256 printable bytes".into(),
        ));
    }
    let text = |key: &str| details.get(key).and_then(Value::as_str);
    let flag = |key: &str| details.get(key).and_then(Value::as_bool).unwrap_or(false);
    let factor = match text("factor") {
        None | Some("one_touch") => SecondFactor::OneTouch,
        Some("mobile_only") => SecondFactor::MobileOnly,
        Some("otp") => SecondFactor::Otp,
        Some("online_qr") => SecondFactor::OnlineQr,
        Some("none") => SecondFactor::None,
        Some(other) => {
            return Err(ControlError::Invalid(format!(
                "unknown factor `{}` (one_touch, mobile_only, otp, online_qr, none)",
                other.chars().take(32).collect::<String>()
            )));
        }
    };
    let mut user = EmulatedUser::new(name, text("password").unwrap_or(DEFAULT_PASSWORD), factor);
    if let Some(devices) = details.get("devices").and_then(Value::as_array) {
        let mut list = Vec::new();
        for d in devices {
            let id = d
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| ControlError::Invalid("a device needs an `id`".into()))?;
            let label = d.get("display_name").and_then(Value::as_str).unwrap_or(id);
            let kind = d.get("kind").and_then(Value::as_str).unwrap_or("IOS");
            list.push(EmulatedDevice::new(id, label, kind));
        }
        if list.is_empty() {
            return Err(ControlError::Invalid("`devices` is empty".into()));
        }
        user = user.with_devices(list);
    }
    if flag("locked") {
        user = user.locked();
    }
    if flag("offline_qr") {
        user = user.with_offline_qr();
    }
    if flag("must_change_password") {
        user = user.must_change_password();
    }
    if let Some(step) = text("extra_step") {
        user = user.with_extra_step(step);
    }
    Ok(user)
}

/// The request as the model reads it.
struct Req<'a> {
    method: &'a str,
    path: &'a str,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

fn passcode_at(user: &EmulatedUser, now: SystemTime) -> String {
    let window = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 30)
        .unwrap_or(0);
    let mut rng =
        fastrand::Rng::with_seed(user.passcode_seed ^ window.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    format!("{:06}", rng.u32(0..1_000_000))
}

pub(super) fn uuid_like(rng: &mut fastrand::Rng) -> String {
    let a = rng.u128(..);
    let h = format!("{a:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

fn random_digits(rng: &mut fastrand::Rng, n: usize) -> String {
    let mut s = String::with_capacity(n);
    s.push(char::from(b'1' + rng.u8(0..9)));
    for _ in 1..n {
        s.push(char::from(b'0' + rng.u8(0..10)));
    }
    s
}

/// One answer under construction.
struct Reply {
    status: u16,
    body: Value,
    set_cookie: Option<String>,
}
enum Op {
    PasswordCheck,
    DefaultAccess,
    AppAccess(String),
    OtpCheck,
    MobileOnlyRetrieve,
    Poll,
    DevicesRetrieve,
    DeviceSelect(Option<String>),
    OfflineSwitch,
    PasscodeCheck,
    QrRetrieve,
    PasswordChange,
    Logout,
    SessionInfo,
}

fn route(method: &str, rest: &str) -> Option<Op> {
    let p: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let auth = |tail: &[&str]| -> bool {
        p.len() == 2 + tail.len() && p[0] == "public" && p[1] == "authentication" && p[2..] == *tail
    };
    Some(match method {
        "POST" if auth(&["password", "check"]) => Op::PasswordCheck,
        "POST" if auth(&["default-application", "access"]) => Op::DefaultAccess,
        "POST"
            if p.len() == 5
                && p[..3] == ["public", "authentication", "applications"]
                && p[4] == "access" =>
        {
            Op::AppAccess(decode(p[3]))
        }
        "POST" if auth(&["otp", "check"]) => Op::OtpCheck,
        "POST" if auth(&["airlock-2fa", "mobile-only", "challenge", "retrieve"]) => {
            Op::MobileOnlyRetrieve
        }
        "POST" if auth(&["airlock-2fa", "status", "poll"]) => Op::Poll,
        "POST" if auth(&["airlock-2fa", "devices", "retrieve"]) => Op::DevicesRetrieve,
        "POST" if auth(&["airlock-2fa", "devices", "select"]) => Op::DeviceSelect(None),
        "POST"
            if p.len() == 6
                && p[..4] == ["public", "authentication", "airlock-2fa", "devices"]
                && p[5] == "select" =>
        {
            Op::DeviceSelect(Some(decode(p[4])))
        }
        "POST" if auth(&["airlock-2fa", "offline", "switch"]) => Op::OfflineSwitch,
        "POST"
            if auth(&["airlock-2fa", "otp", "check"])
                || auth(&["airlock-2fa", "passcode", "check"]) =>
        {
            Op::PasscodeCheck
        }
        "POST" if auth(&["airlock-2fa", "qr-code", "retrieve"]) => Op::QrRetrieve,
        "POST" if auth(&["password", "change"]) => Op::PasswordChange,
        "POST" if p == ["public", "logout"] => Op::Logout,
        "DELETE" if p == ["public", "authentication", "flow"] => Op::Logout,
        "GET" if p == ["protected", "my", "session"] => Op::SessionInfo,
        _ => return None,
    })
}

/// A path segment, decoded (a malformed escape is kept as it came: it then matches nothing).
fn decode(segment: &str) -> String {
    auth_core::base_url::percent_decode(segment, false).unwrap_or_else(|| segment.to_owned())
}

fn session_cookie(request: &Req<'_>) -> Option<String> {
    for value in request.headers.get_all(http::header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=')
                && name == SESSION_COOKIE
            {
                return Some(value.to_owned());
            }
        }
    }
    None
}

impl State {
    fn now(&self) -> SystemTime {
        self.now
    }

    fn meta(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("type".into(), "jsonapi.metadata.document".into());
        m.insert(
            "timestamp".into(),
            Timestamp::from_system_time(self.now())
                .to_rfc3339_millis()
                .into(),
        );
        m
    }

    fn error(
        &self,
        status: u16,
        code: &str,
        next: Option<String>,
        lock: Option<SystemTime>,
    ) -> Reply {
        let mut meta = self.meta();
        if let Some(next) = next {
            meta.insert("nextAuthStep".into(), next.into());
        }
        if let Some(lock) = lock {
            meta.insert(
                "temporaryLockExpiry".into(),
                Timestamp::from_system_time(lock).to_rfc3339_millis().into(),
            );
        }
        let mut rng = fastrand::Rng::new();
        Reply {
            status,
            body: json!({
                "meta": meta,
                "errors": [{
                    "id": format!("{}:{}", rng.u16(1000..9999), rng.u16(1000..9999)),
                    "status": status,
                    "code": code,
                }],
            }),
            set_cookie: None,
        }
    }

    fn session_doc(&self, session: &Session) -> Reply {
        let mut attributes = Map::new();
        if let Some(code) = session.stage.code() {
            attributes.insert("nextAuthStep".into(), code.into());
        }
        if let Stage::Polling { qr: Some(qr), .. } | Stage::OfflineOtp { qr: Some(qr) } =
            &session.stage
        {
            attributes.insert("qrCode".into(), qr.clone().into());
        }
        Reply {
            status: 200,
            body: json!({
                "meta": self.meta(),
                "data": {"type": "authentication.session", "id": session.id, "attributes": attributes},
            }),
            set_cookie: None,
        }
    }

    fn handle(&mut self, request: &Req<'_>) -> Reply {
        let path = request.path;
        let Some(idx) = path.find("/rest/") else {
            return self.error(404, codes::NOT_FOUND, None, None);
        };
        let rest = &path[idx + "/rest/".len()..];
        if self.csrf_protection
            && request
                .headers
                .get("x-same-domain")
                .and_then(|v| v.to_str().ok())
                .is_none_or(|v| v.trim().is_empty())
        {
            return self.error(403, "CSRF_HEADER_MISSING", None, None);
        }
        let Some(op) = route(request.method, rest) else {
            return self.error(404, codes::NOT_FOUND, None, None);
        };
        let cookie = session_cookie(request);
        let known = cookie.filter(|c| self.sessions.contains_key(c));
        let creates = matches!(op, Op::PasswordCheck | Op::DefaultAccess | Op::AppAccess(_));
        let (sid, new_cookie) = match known {
            Some(sid) => (sid, None),
            None if creates => {
                let sid = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
                let mut rng = fastrand::Rng::new();
                self.sessions.insert(
                    sid.clone(),
                    Session {
                        used: 0,
                        id: random_digits(&mut rng, 18),
                        user: None,
                        app: DEFAULT_APPLICATION.into(),
                        password_done: false,
                        password_changed: false,
                        second_done: false,
                        stage: Stage::Password,
                    },
                );
                (
                    sid.clone(),
                    Some(format!("{SESSION_COOKIE}={sid}; Path=/; HttpOnly")),
                )
            }
            None => {
                return match op {
                    Op::Logout => Reply {
                        status: 200,
                        body: json!({"meta": self.meta()}),
                        set_cookie: None,
                    },
                    Op::SessionInfo => self.error(
                        401,
                        "NOT_AUTHORIZED",
                        Some("PASSWORD_REQUIRED".into()),
                        None,
                    ),
                    _ => self.error(
                        400,
                        "UNEXPECTED_CALL",
                        Some("PASSWORD_REQUIRED".into()),
                        None,
                    ),
                };
            }
        };
        let mut reply = self.dispatch(&sid, op, request);
        if reply.set_cookie.is_none() {
            reply.set_cookie = new_cookie;
        }
        self.prune_sessions(Some(&sid));
        self.prune_challenges();
        reply
    }

    /// Keeps a push in its ring (same capacity as the request log).
    fn log_push(&mut self, user: &str, device: &str) {
        if self.push_capacity == 0 {
            return;
        }
        while self.pushes.len() >= self.push_capacity {
            self.pushes.pop_front();
        }
        self.pushes.push_back((user.to_owned(), device.to_owned()));
    }

    /// Forgets sessions beyond the capacity: finished flows first (done, or not started), the
    /// oldest first; then the least recently used. `keep` (the session that just answered) is
    /// never forgotten.
    fn prune_sessions(&mut self, keep: Option<&str>) {
        while self.sessions.len() > self.session_capacity {
            let victim = self
                .sessions
                .iter()
                .filter(|(sid, _)| Some(sid.as_str()) != keep)
                .min_by_key(|(_, s)| {
                    let finished = matches!(s.stage, Stage::Done | Stage::Password);
                    (!finished, s.used)
                })
                .map(|(sid, _)| sid.clone());
            let Some(victim) = victim else { return };
            self.end_session(&victim);
        }
    }

    /// Removes a session and the 2FA request it holds.
    fn end_session(&mut self, sid: &str) {
        if let Some(Session {
            stage: Stage::Polling { token, .. },
            ..
        }) = self.sessions.remove(sid)
        {
            self.challenges.remove(&token);
        }
    }

    /// Forgets 2FA requests no flow holds any more (a flow restarted or forgotten) beyond the
    /// session capacity, the oldest first.
    fn prune_challenges(&mut self) {
        if self.challenges.len() <= self.session_capacity {
            return;
        }
        let held: HashSet<&str> = self
            .sessions
            .values()
            .filter_map(|s| match &s.stage {
                Stage::Polling { token, .. } => Some(token.as_str()),
                _ => None,
            })
            .collect();
        let mut orphans: Vec<(SystemTime, String)> = self
            .challenges
            .iter()
            .filter(|(token, _)| !held.contains(token.as_str()))
            .map(|(token, c)| (c.created, token.clone()))
            .collect();
        orphans.sort();
        let excess = self.challenges.len() - self.session_capacity;
        for (_, token) in orphans.into_iter().take(excess) {
            self.challenges.remove(&token);
        }
    }

    fn session(&self, sid: &str) -> Session {
        self.sessions.get(sid).cloned().unwrap_or(Session {
            used: 0,
            id: String::new(),
            user: None,
            app: DEFAULT_APPLICATION.into(),
            password_done: false,
            password_changed: false,
            second_done: false,
            stage: Stage::Password,
        })
    }

    fn unexpected(&self, s: &Session) -> Reply {
        self.error(400, "UNEXPECTED_CALL", s.stage.code(), None)
    }

    fn dispatch(&mut self, sid: &str, op: Op, request: &Req<'_>) -> Reply {
        let mut s = self.session(sid);
        let reply = match op {
            Op::PasswordCheck => self.password_check(&mut s, request),
            Op::DefaultAccess => self.access(&mut s, DEFAULT_APPLICATION),
            Op::AppAccess(app) => self.access(&mut s, &app),
            Op::OtpCheck => self.otp_check(&mut s, request, false),
            Op::PasscodeCheck => self.otp_check(&mut s, request, true),
            Op::MobileOnlyRetrieve => self.mobile_only(&mut s),
            Op::Poll => self.poll(&mut s),
            Op::DevicesRetrieve => self.devices(&s),
            Op::DeviceSelect(id) => self.select(&mut s, id, request),
            Op::OfflineSwitch => self.offline(&mut s),
            Op::QrRetrieve => self.qr(&mut s),
            Op::PasswordChange => self.password_change(&mut s, request),
            Op::Logout => {
                self.end_session(sid);
                return Reply {
                    status: 200,
                    body: json!({"meta": self.meta()}),
                    set_cookie: Some(format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly")),
                };
            }
            Op::SessionInfo => {
                if s.stage == Stage::Done && s.password_done {
                    Reply {
                        status: 200,
                        body: json!({"meta": self.meta(), "data": {
                            "type": "my.session", "id": s.id,
                            "attributes": {"username": s.user, "application": s.app,
                                           "secondFactor": s.second_done}}}),
                        set_cookie: None,
                    }
                } else {
                    self.error(401, "NOT_AUTHORIZED", s.stage.code(), None)
                }
            }
        };
        self.uses += 1;
        s.used = self.uses;
        self.sessions.insert(sid.to_owned(), s);
        reply
    }

    fn body(request: &Req<'_>) -> Option<Map<String, Value>> {
        serde_json::from_slice::<Value>(request.body)
            .ok()?
            .as_object()
            .cloned()
    }

    fn temp_locked(&self, username: &str) -> Option<SystemTime> {
        self.temp_locks
            .get(username)
            .copied()
            .filter(|until| self.now() < *until)
    }

    fn fail(&mut self, username: &str) -> SystemTime {
        let until = self.now() + self.lock_duration;
        if !self.users.contains_key(username) {
            // Nothing to lock: the answer looks the same, but nothing is kept for a name that
            // came from a request (any number of them could).
            return until;
        }
        self.temp_locks.insert(username.to_owned(), until);
        let n = self.failures.entry(username.to_owned()).or_insert(0);
        *n += 1;
        let n = *n;
        if n >= self.max_failures
            && let Some(u) = self.users.get_mut(username)
        {
            u.locked = true;
        }
        until
    }

    fn password_check(&mut self, s: &mut Session, request: &Req<'_>) -> Reply {
        let body = Self::body(request).unwrap_or_default();
        let (Some(username), Some(password)) = (
            body.get("username").and_then(Value::as_str),
            body.get("password").and_then(Value::as_str),
        ) else {
            return self.error(
                400,
                codes::INVALID_REQUEST,
                Some("PASSWORD_REQUIRED".into()),
                None,
            );
        };
        // A new password check restarts the flow.
        s.user = None;
        s.password_done = false;
        s.password_changed = false;
        s.second_done = false;
        s.stage = Stage::Password;
        if let Some(until) = self.temp_locked(username) {
            return self.error(403, "USER_TEMPORARILY_LOCKED", None, Some(until));
        }
        if self.users.get(username).is_some_and(|u| u.locked) {
            return self.error(403, "USER_LOCKED", None, None);
        }
        let ok = self
            .users
            .get(username)
            .is_some_and(|u| constant_time_eq(u.password.as_bytes(), password.as_bytes()));
        if !ok {
            let until = self.fail(username);
            return self.error(
                400,
                "USERNAME_PASSWORD_WRONG",
                Some("PASSWORD_REQUIRED".into()),
                Some(until),
            );
        }
        self.failures.remove(username);
        s.user = Some(username.to_owned());
        s.password_done = true;
        self.advance(s);
        self.session_doc(s)
    }

    /// Decides the next stage after a completed step.
    fn advance(&mut self, s: &mut Session) {
        let Some(user) = s.user.as_ref().and_then(|u| self.users.get(u)).cloned() else {
            s.stage = Stage::Password;
            return;
        };
        if !s.password_done {
            s.stage = Stage::Password;
        } else if user.must_change_password && !s.password_changed {
            s.stage = Stage::PasswordChange;
        } else if self.applications.get(&s.app).copied().unwrap_or(true)
            && !s.second_done
            && user.factor != SecondFactor::None
        {
            let app = s.app.clone();
            s.stage = self.enter_second_factor(&user, &app, None);
        } else if let Some(extra) = user.extra_step.clone() {
            s.stage = Stage::Extra(extra);
        } else {
            s.stage = Stage::Done;
        }
    }

    fn enter_second_factor(
        &mut self,
        user: &EmulatedUser,
        app: &str,
        device: Option<String>,
    ) -> Stage {
        match user.factor {
            SecondFactor::None => Stage::Done,
            SecondFactor::Otp => Stage::Otp,
            SecondFactor::MobileOnly => Stage::MobileOnlyRetrieve,
            SecondFactor::OnlineQr => {
                let token = self.new_challenge(
                    &user.username,
                    app,
                    Kind::OnlineQr,
                    "AIRLOCK_2FA_POLLING_REQUIRED",
                );
                Stage::Polling {
                    qr: Some(qr_data_uri("online", &token)),
                    token,
                    offline_allowed: false,
                }
            }
            SecondFactor::OneTouch => {
                if device.is_none() && user.devices.len() > 1 && !self.push_to_all {
                    return Stage::DeviceChoice;
                }
                let targets: Vec<String> = match device {
                    Some(d) => vec![d],
                    None => user.devices.iter().map(|d| d.id.clone()).collect(),
                };
                for d in &targets {
                    self.log_push(&user.username, d);
                }
                let token = self.new_challenge(
                    &user.username,
                    app,
                    Kind::Push,
                    "AIRLOCK_2FA_POLLING_OR_OFFLINE_REQUIRED",
                );
                Stage::Polling {
                    token,
                    offline_allowed: true,
                    qr: None,
                }
            }
        }
    }

    fn new_challenge(
        &mut self,
        user: &str,
        app: &str,
        kind: Kind,
        polling_code: &'static str,
    ) -> String {
        let token = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let now = self.now();
        self.challenges.insert(
            token.clone(),
            Challenge {
                id: format!("2fa-{:016x}", fastrand::u64(..)),
                user: user.to_owned(),
                app: app.to_owned(),
                kind,
                status: ChallengeStatus::Pending,
                created: now,
                polling_code,
            },
        );
        token
    }

    fn access(&mut self, s: &mut Session, app: &str) -> Reply {
        let Some(requires) = self.applications.get(app).copied() else {
            return self.error(404, codes::NOT_FOUND, None, None);
        };
        if s.app != app {
            s.app = app.to_owned();
            // A different application: re-evaluate where the flow stands (a running 2FA step
            // is kept; nothing is sent twice).
            if matches!(s.stage, Stage::Done | Stage::Extra(_)) && s.password_done {
                self.advance(s);
            }
        } else if s.stage == Stage::Done && requires && !s.second_done && s.password_done {
            self.advance(s);
        }
        if !s.password_done {
            s.stage = Stage::Password;
        }
        match s.stage.code() {
            None => self.session_doc(s),
            Some(code) => self.error(401, "NOT_AUTHORIZED", Some(code), None),
        }
    }

    fn otp_check(&mut self, s: &mut Session, request: &Req<'_>, airlock_2fa: bool) -> Reply {
        let at_step = if airlock_2fa {
            matches!(s.stage, Stage::OfflineOtp { .. })
        } else {
            s.stage == Stage::Otp
        };
        if !at_step {
            return self.unexpected(s);
        }
        let Some(username) = s.user.clone() else {
            return self.unexpected(s);
        };
        let body = Self::body(request).unwrap_or_default();
        let given = body
            .get("otp")
            .or_else(|| body.get("passcode"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if let Some(until) = self.temp_locked(&username) {
            return self.error(403, "USER_TEMPORARILY_LOCKED", s.stage.code(), Some(until));
        }
        let Some(user) = self.users.get(&username).cloned() else {
            return self.unexpected(s);
        };
        if !constant_time_eq(given.as_bytes(), passcode_at(&user, self.now()).as_bytes()) {
            let until = self.fail(&username);
            return self.error(400, "OTP_WRONG", None, Some(until));
        }
        self.failures.remove(&username);
        s.second_done = true;
        self.advance(s);
        self.session_doc(s)
    }

    fn mobile_only(&mut self, s: &mut Session) -> Reply {
        if s.stage != Stage::MobileOnlyRetrieve {
            return self.unexpected(s);
        }
        let Some(user) = s.user.as_ref().and_then(|u| self.users.get(u)).cloned() else {
            return self.unexpected(s);
        };
        let token = self.new_challenge(
            &user.username,
            &s.app,
            Kind::MobileOnly,
            "AIRLOCK_2FA_POLLING_REQUIRED",
        );
        let uri = format!(
            "airlock2fa://auth?session_token={token}&user_id={}",
            user.futurae_user_id
        );
        s.stage = Stage::Polling {
            token,
            offline_allowed: false,
            qr: None,
        };
        let mut rng = fastrand::Rng::new();
        Reply {
            status: 200,
            body: json!({
                "meta": self.meta(),
                "data": {
                    "type": "authentication.airlock-2fa.mobile-only.challenge",
                    "id": random_digits(&mut rng, 18),
                    "attributes": {"mobileAuthUri": uri},
                },
            }),
            set_cookie: None,
        }
    }

    fn poll(&mut self, s: &mut Session) -> Reply {
        let Stage::Polling { token, .. } = s.stage.clone() else {
            return self.unexpected(s);
        };
        let now = self.now();
        let ttl = self.challenge_ttl;
        let Some(challenge) = self.challenges.get_mut(&token) else {
            return self.unexpected(s);
        };
        if challenge.status == ChallengeStatus::Pending && now >= challenge.created + ttl {
            challenge.status = ChallengeStatus::TimedOut;
        }
        let status = challenge.status;
        let code = challenge.polling_code;
        match status {
            ChallengeStatus::Pending => {
                let mut attributes = Map::new();
                attributes.insert("nextAuthStep".into(), code.into());
                Reply {
                    status: 200,
                    body: json!({"meta": self.meta(), "data": {
                        "type": "authentication.session", "id": s.id, "attributes": attributes}}),
                    set_cookie: None,
                }
            }
            ChallengeStatus::Approved => {
                self.challenges.remove(&token);
                s.second_done = true;
                self.advance(s);
                self.session_doc(s)
            }
            ChallengeStatus::Rejected | ChallengeStatus::TimedOut => {
                self.challenges.remove(&token);
                s.password_done = false;
                s.second_done = false;
                s.stage = Stage::Password;
                let code = if status == ChallengeStatus::Rejected {
                    "AIRLOCK_2FA_AUTHENTICATION_REJECTED"
                } else {
                    "AIRLOCK_2FA_AUTHENTICATION_TIMEOUT"
                };
                self.error(400, code, None, None)
            }
        }
    }

    fn devices(&self, s: &Session) -> Reply {
        if s.stage != Stage::DeviceChoice {
            return self.unexpected(s);
        }
        let Some(user) = s.user.as_ref().and_then(|u| self.users.get(u)) else {
            return self.unexpected(s);
        };
        let data: Vec<Value> = user
            .devices
            .iter()
            .map(|d| {
                json!({
                    "type": "authentication.airlock-2fa.device",
                    "id": d.id,
                    "attributes": {
                        "displayName": d.display_name,
                        "capabilities": ["ONE_TOUCH", "TOTP"],
                        "type": d.kind,
                        "appVersion": "3.4.0",
                        "appVersionSupported": true,
                    },
                })
            })
            .collect();
        Reply {
            status: 200,
            body: json!({"meta": self.meta(), "data": data}),
            set_cookie: None,
        }
    }

    fn select(&mut self, s: &mut Session, id: Option<String>, request: &Req<'_>) -> Reply {
        if s.stage != Stage::DeviceChoice {
            return self.unexpected(s);
        }
        let id = id.or_else(|| {
            Self::body(request)
                .and_then(|b| b.get("deviceId").and_then(Value::as_str).map(str::to_owned))
        });
        let Some(user) = s.user.as_ref().and_then(|u| self.users.get(u)).cloned() else {
            return self.unexpected(s);
        };
        match id {
            Some(id) if user.devices.iter().any(|d| d.id == id) => {
                let app = s.app.clone();
                s.stage = self.enter_second_factor(&user, &app, Some(id));
                self.session_doc(s)
            }
            _ => self.error(400, codes::INVALID_DEVICE_ID, s.stage.code(), None),
        }
    }

    fn offline(&mut self, s: &mut Session) -> Reply {
        let Stage::Polling {
            token,
            offline_allowed: true,
            ..
        } = s.stage.clone()
        else {
            return self.unexpected(s);
        };
        self.challenges.remove(&token);
        let offline_qr = s
            .user
            .as_ref()
            .and_then(|u| self.users.get(u))
            .is_some_and(|u| u.offline_qr);
        s.stage = Stage::OfflineOtp {
            qr: offline_qr.then(|| qr_data_uri("offline", &token)),
        };
        self.session_doc(s)
    }

    /// `qr-code/retrieve/`: the QR code of the step the flow is at (online QR while polling,
    /// offline QR at the OTP step after the switch), fetched again. The answer names no next
    /// step and the flow stays where it is (model choice).
    fn qr(&mut self, s: &mut Session) -> Reply {
        let qr = match &s.stage {
            Stage::Polling { qr: Some(qr), .. } | Stage::OfflineOtp { qr: Some(qr) } => qr.clone(),
            _ => return self.unexpected(s),
        };
        let mut rng = fastrand::Rng::new();
        Reply {
            status: 200,
            body: json!({"meta": self.meta(), "data": {
                "type": "authentication.airlock-2fa.qr-code",
                "id": random_digits(&mut rng, 18),
                "attributes": {"qrCode": qr},
            }}),
            set_cookie: None,
        }
    }

    fn password_change(&mut self, s: &mut Session, request: &Req<'_>) -> Reply {
        if s.stage != Stage::PasswordChange {
            return self.unexpected(s);
        }
        let Some(username) = s.user.clone() else {
            return self.unexpected(s);
        };
        let body = Self::body(request).unwrap_or_default();
        let old = body.get("oldPassword").and_then(Value::as_str);
        let new = body
            .get("newPassword")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let current = self
            .users
            .get(&username)
            .map(|u| u.password.clone())
            .unwrap_or_default();
        if !old.is_some_and(|old| constant_time_eq(old.as_bytes(), current.as_bytes())) {
            let until = self.fail(&username);
            return self.error(400, "USERNAME_PASSWORD_WRONG", s.stage.code(), Some(until));
        }
        if new.chars().count() < 8 || new == current {
            return self.error(400, codes::PASSWORD_POLICY_VIOLATION, s.stage.code(), None);
        }
        if let Some(u) = self.users.get_mut(&username) {
            u.password = new.to_owned();
        }
        s.password_changed = true;
        self.advance(s);
        self.session_doc(s)
    }
}

fn qr_data_uri(kind: &str, token: &str) -> String {
    // Not an image: the emulator's QR "payload" as a text data URI (model choice).
    format!("data:text/plain,airlock2fa%3A%2F%2Fqr%3Fkind%3D{kind}%26session_token%3D{token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::Arc;

    use auth_core::emulator::Model as _;

    fn post(path: &str, body: &str, cookie: Option<&str>) -> HttpRequest {
        let mut b = http::Request::builder()
            .method("POST")
            .uri(format!("http://emulator.invalid/auth/rest/{path}"))
            .header("x-same-domain", "1")
            .header("content-type", "application/json");
        if let Some(c) = cookie {
            b = b.header("cookie", c);
        }
        b.body(body.as_bytes().to_vec()).unwrap()
    }

    fn cookie_of(r: &HttpResponse) -> String {
        let c = r.headers()["set-cookie"].to_str().unwrap();
        c.split(';').next().unwrap().to_owned()
    }

    fn json_of(r: &HttpResponse) -> Value {
        serde_json::from_slice(r.body()).unwrap()
    }

    const LOGIN: &str = "public/authentication/password/check/";
    const POLL: &str = "public/authentication/airlock-2fa/status/poll/";

    /// The log is a bounded ring of method, path (query redacted) and status: no headers, no
    /// bodies (the password never reaches it).
    #[tokio::test]
    async fn the_log_is_a_bounded_ring_without_bodies() {
        let model = EmulatorBuilder::default().log_capacity(3).model();
        for i in 0..5 {
            let body = format!(r#"{{"username":"alice","password":"secret-{i}"}}"#);
            model
                .handle(post(&format!("{LOGIN}?token=t{i}"), &body, None))
                .await;
        }
        let log = model.log();
        assert_eq!(log.len(), 3);
        assert_eq!(model.stored().requests, 3);
        assert_eq!(log[2].method, "POST");
        assert_eq!(
            log[2].status, 403,
            "after a wrong password, alice is locked for 3 s"
        );
        assert_eq!(log[2].path, format!("/auth/rest/{LOGIN}?token=[redacted]"));
        let shown =
            serde_json::to_string(&model.control(Control::ReadLog { limit: Some(2) }).unwrap())
                .unwrap();
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(
            model
                .control(Control::ReadLog { limit: Some(2) })
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    /// The control vocabulary drives the model with no socket: a user added, their push
    /// listed with its text and approved by id, denials and expiries by user name, faults,
    /// the clock, the provider's own commands.
    #[tokio::test]
    async fn the_control_vocabulary_plays_the_user_and_the_back_office() {
        let model = EmulatorBuilder::default().without_default_users().model();
        assert!(matches!(
            model.control(Control::Approve {
                id: "nobody".into()
            }),
            Err(ControlError::NotFound { .. })
        ));
        model
            .control(Control::AddUser {
                user: "zoe".into(),
                details: json!({"password": "pw-zoe-123", "factor": "one_touch",
                    "devices": [{"id": "zoe-ipad", "display_name": "Zoe's iPad"}]}),
            })
            .unwrap();
        assert!(matches!(
            model.control(Control::AddUser {
                user: "x".into(),
                details: json!({"factor": "smoke signals"})
            }),
            Err(ControlError::Invalid(_))
        ));
        let login = model
            .handle(post(
                LOGIN,
                r#"{"username":"zoe","password":"pw-zoe-123"}"#,
                None,
            ))
            .await;
        assert_eq!(login.status(), 200);
        let cookie = cookie_of(&login);
        assert_eq!(model.pushes("zoe"), vec!["zoe-ipad".to_string()]);
        let pushes = model
            .control(Control::Provider {
                body: json!({"pushes": "zoe"}),
            })
            .unwrap();
        assert_eq!(pushes["devices"], json!(["zoe-ipad"]));
        let pending = model.control(Control::ListPending).unwrap();
        let pending: Vec<PendingStepUp> = serde_json::from_value(pending).unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(
            (pending[0].user.as_str(), pending[0].title.as_str()),
            ("zoe", "Airlock 2FA")
        );
        assert_eq!(pending[0].message, "Log in to default?");
        assert!(pending[0].expires_at.is_some());
        let poll = model.handle(post(POLL, "", Some(&cookie))).await;
        assert_eq!(
            json_of(&poll)["data"]["attributes"]["nextAuthStep"],
            "AIRLOCK_2FA_POLLING_OR_OFFLINE_REQUIRED"
        );
        model
            .control(Control::Approve {
                id: pending[0].id.clone(),
            })
            .unwrap();
        assert!(model.pending().is_empty());
        let done = model.handle(post(POLL, "", Some(&cookie))).await;
        assert_eq!(json_of(&done)["data"]["attributes"], json!({}));

        // Denied and expired, named by the user.
        for (command, code) in [
            (
                Control::Deny {
                    id: "zoe".into(),
                    fraud: true,
                    reason: None,
                },
                "AIRLOCK_2FA_AUTHENTICATION_REJECTED",
            ),
            (
                Control::Expire { id: "zoe".into() },
                "AIRLOCK_2FA_AUTHENTICATION_TIMEOUT",
            ),
        ] {
            let login = model
                .handle(post(
                    LOGIN,
                    r#"{"username":"zoe","password":"pw-zoe-123"}"#,
                    None,
                ))
                .await;
            let cookie = cookie_of(&login);
            assert_eq!(model.control(command).unwrap()["settled"], 1);
            let answer = model.handle(post(POLL, "", Some(&cookie))).await;
            assert_eq!(answer.status(), 400);
            assert_eq!(json_of(&answer)["errors"][0]["code"], code);
        }

        // A fault for the next matching request, then the real answer again.
        model
            .control(Control::InjectFault {
                fault: serde_json::from_value(
                    json!({"status": 503, "retry_after": 2, "path_contains": "/status/poll"}),
                )
                .unwrap(),
            })
            .unwrap();
        let faulty = model.handle(post(POLL, "", None)).await;
        assert_eq!(faulty.status(), 503);
        assert_eq!(faulty.headers()["retry-after"], "2");
        assert_eq!(model.handle(post(POLL, "", None)).await.status(), 400);

        // The clock: the passcode window moves with it.
        let before = model.passcode("zoe").unwrap();
        let moved = (0..20).any(|_| {
            model
                .control(Control::AdvanceClock { seconds: 30 })
                .unwrap();
            model.passcode("zoe").unwrap() != before
        });
        assert!(moved);
        let via = model
            .control(Control::Provider {
                body: json!({"passcode": "zoe"}),
            })
            .unwrap();
        assert_eq!(via["passcode"], model.passcode("zoe").unwrap());
        model
            .control(Control::Provider {
                body: json!({"csrf_protection": false}),
            })
            .unwrap();
        let mut bare = post(LOGIN, r#"{"username":"zoe","password":"pw-zoe-123"}"#, None);
        bare.headers_mut().remove("x-same-domain");
        assert_eq!(model.handle(bare).await.status(), 200);
        assert!(
            model
                .control(Control::Provider {
                    body: json!({"explode": 1})
                })
                .is_err()
        );
        for unsupported in [
            Control::RotateKeys,
            Control::Fail {
                id: "zoe".into(),
                reason: None,
            },
        ] {
            assert!(matches!(
                model.control(unsupported),
                Err(ControlError::Unsupported { .. })
            ));
        }
        // Failed attempts until the account is locked for good, and whether it is.
        let provider = |body: Value| model.control(Control::Provider { body });
        provider(json!({"max_failed_attempts": 1})).unwrap();
        provider(json!({"temporary_lock_seconds": 0})).unwrap();
        assert_eq!(
            provider(json!({"is_locked": "zoe"})).unwrap()["locked"],
            false
        );
        let wrong = model
            .handle(post(LOGIN, r#"{"username":"zoe","password":"nope"}"#, None))
            .await;
        assert_eq!(wrong.status(), 400);
        assert_eq!(
            provider(json!({"is_locked": "zoe"})).unwrap()["locked"],
            true
        );
        assert!(provider(json!({"max_failed_attempts": "many"})).is_err());
        model.add_user(EmulatedUser::new(
            "zoe",
            "pw-zoe-123",
            SecondFactor::OneTouch,
        ));
        // A password-only application added by the back office: no push for it.
        model
            .control(Control::Provider {
                body: json!({"application": "savings", "second_factor": false}),
            })
            .unwrap();
        let access = "public/authentication/applications/savings/access/";
        let first = model.handle(post(access, "", None)).await;
        assert_eq!(first.status(), 401);
        assert_eq!(json_of(&first)["meta"]["nextAuthStep"], "PASSWORD_REQUIRED");
        let pushes = model.pushes("zoe").len();
        let login = model
            .handle(post(
                LOGIN,
                r#"{"username":"zoe","password":"pw-zoe-123"}"#,
                Some(&cookie_of(&first)),
            ))
            .await;
        assert_eq!(
            json_of(&login)["data"]["attributes"],
            json!({}),
            "done without 2FA"
        );
        assert_eq!(model.pushes("zoe").len(), pushes);
        assert!(
            model
                .control(Control::Provider {
                    body: json!({"application": "Not Valid"})
                })
                .is_err()
        );
        // A clock given to the builder is moved by its owner.
        let fixed = EmulatorBuilder::default()
            .clock(Arc::new(auth_core::FakeClock::at_unix(1_800_000_000)))
            .model();
        assert!(matches!(
            fixed.control(Control::AdvanceClock { seconds: 1 }),
            Err(ControlError::Conflict(_))
        ));
    }

    #[test]
    fn routes_accept_any_prefix_and_both_slash_forms() {
        assert!(matches!(
            route("POST", "public/authentication/password/check/"),
            Some(Op::PasswordCheck)
        ));
        assert!(matches!(
            route("POST", "public/authentication/password/check"),
            Some(Op::PasswordCheck)
        ));
        assert!(matches!(
            route("POST", "public/authentication/airlock-2fa/devices/a%2Fb/select/"),
            Some(Op::DeviceSelect(Some(ref d))) if d == "a/b"
        ));
        assert!(
            matches!(route("POST", "public/authentication/applications/ebanking/access"), Some(Op::AppAccess(ref a)) if a == "ebanking")
        );
        assert!(route("GET", "public/authentication/password/check/").is_none());
        assert!(route("POST", "public/public/authentication/password/check/").is_none());
    }

    #[test]
    fn passcodes_change_with_the_window() {
        let u = EmulatedUser::new("x", "y", SecondFactor::Otp);
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_010);
        assert_eq!(
            passcode_at(&u, t),
            passcode_at(&u, t + Duration::from_secs(5))
        );
        assert_eq!(passcode_at(&u, t).len(), 6);
        let many: std::collections::HashSet<String> = (0..20)
            .map(|i| passcode_at(&u, t + Duration::from_secs(30 * i)))
            .collect();
        assert!(many.len() > 10);
    }
}
