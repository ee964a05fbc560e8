//! A Loginapp REST emulator over real HTTP on a loopback port (feature `emulator`).
//!
//! It speaks the documented wire shapes (JSON:API documents, error documents, 401
//! `NOT_AUTHORIZED` + `meta.nextAuthStep`, 400 `USERNAME_PASSWORD_WRONG` with
//! `temporaryLockExpiry`, 403 `USER_LOCKED` / `USER_TEMPORARILY_LOCKED`, 400 `OTP_WRONG`),
//! keeps flow state per `JSESSIONID` cookie, enforces `X-Same-Domain`, and lets a test play the
//! phone: approve, reject or time out a pending Airlock 2FA request.
//!
//! **Everything Airlock does not document is a model choice of this emulator, not Airlock
//! behaviour** (spec §8.2): the cookie name, the codes for rejected / timed-out 2FA and for a
//! missing CSRF header, the offline switch / passcode / QR / device-select / password-change /
//! logout paths, the step codes [`codes::AIRLOCK_2FA_OTP_REQUIRED`] and
//! [`codes::PASSWORD_CHANGE_REQUIRED`], where a QR code is offered (the `qrCode` attribute of
//! the step that shows it, and `qr-code/retrieve/` while at that step, which fetches it again
//! and leaves the flow where it is), the device list's resource type, and the passcode
//! generator (a random 6-digit code per user and 30-second window, not TOTP).
//!
//! Default users (spec §8.2, plus one per further variant), all with password `password1`:
//!
//! | user | second factor |
//! | --- | --- |
//! | `jdoe` | mobile-only |
//! | `alice` | One-Touch, one device (offline passcode available) |
//! | `bob` | One-Touch, two devices (device choice) |
//! | `carol` | generic OTP (`OTP_REQUIRED`) |
//! | `dave` | online QR (`AIRLOCK_2FA_POLLING_REQUIRED` with a `qrCode` to scan, then polling) |
//! | `erin` | One-Touch with offline QR (the offline switch answers `AIRLOCK_2FA_OTP_REQUIRED` with a `qrCode`) |
//! | `frank` | password only, then `TERMS_OF_SERVICES_ACCEPTANCE_REQUIRED` (a step the client does not know) |
//! | `grace` | mandatory password change, then mobile-only |
//! | `locked` | locked (`USER_LOCKED`) |
//!
//! Applications: the default application and `ebanking` require the second factor;
//! `portal` needs the password only (for step-up tests).
//!
//! What it keeps is bounded, however many requests it serves: the request log and the pushes
//! are rings, sessions beyond a cap are forgotten (finished flows first), and nothing is kept
//! for user names that came from requests ([`Emulator::set_retention`], [`Emulator::stored`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_core::SharedClock;
use auth_core::clock::system_clock;
use auth_core::secret::constant_time_eq;
use auth_core::sync::lock;
use serde_json::{Map, Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use auth_core::time::Timestamp;

/// Step and error codes the emulator uses where Airlock's are unconfirmed (model choices).
pub mod codes {
    /// Step after the offline switch: type the passcode (model choice).
    pub const AIRLOCK_2FA_OTP_REQUIRED: &str = "AIRLOCK_2FA_OTP_REQUIRED";
    /// Mandatory password change step (model choice; the step is documented, its code not).
    pub const PASSWORD_CHANGE_REQUIRED: &str = "PASSWORD_CHANGE_REQUIRED";
    /// A password that violates the policy on change (model choice).
    pub const PASSWORD_POLICY_VIOLATION: &str = "PASSWORD_POLICY_VIOLATION";
    /// An unknown device id on selection (model choice).
    pub const INVALID_DEVICE_ID: &str = "INVALID_DEVICE_ID";
    /// A request body that is not the expected JSON (model choice).
    pub const INVALID_REQUEST: &str = "INVALID_REQUEST";
    /// An unknown path or application (model choice).
    pub const NOT_FOUND: &str = "NOT_FOUND";
}

/// How many received requests the emulator keeps by default (a ring: the oldest go first).
pub const DEFAULT_LOG_CAPACITY: usize = 1000;
/// How many server sessions (flows) the emulator keeps by default: beyond it, finished flows go
/// first (done, or not started), then the least recently used.
pub const DEFAULT_SESSION_CAPACITY: usize = 1000;

/// The session cookie's name (model choice; Airlock's is unconfirmed).
pub const SESSION_COOKIE: &str = "JSESSIONID";
/// The password of every default user.
pub const DEFAULT_PASSWORD: &str = "password1";
/// The id the emulator gives the default application.
pub const DEFAULT_APPLICATION: &str = "default";

/// A user's second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecondFactor {
    /// No second factor: the password finishes the flow.
    None,
    /// The generic OTP step (`OTP_REQUIRED`, `otp/check/`); the OTP is [`Emulator::passcode`].
    Otp,
    /// Airlock 2FA mobile-only (the seed's flow).
    MobileOnly,
    /// Airlock 2FA One-Touch; with several devices, device choice first.
    OneTouch,
    /// Airlock 2FA online QR: the password step's answer carries the QR code to scan
    /// (`AIRLOCK_2FA_POLLING_REQUIRED` + `qrCode`); the app approves; the client polls.
    OnlineQr,
}

/// An Airlock 2FA device of an emulated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmulatedDevice {
    /// The device id.
    pub id: String,
    /// `displayName`.
    pub display_name: String,
    /// `type` (`IOS`, `ANDROID`).
    pub kind: String,
}

impl EmulatedDevice {
    /// A device.
    pub fn new(id: &str, display_name: &str, kind: &str) -> Self {
        EmulatedDevice {
            id: id.into(),
            display_name: display_name.into(),
            kind: kind.into(),
        }
    }
}

/// A user of the emulator.
#[derive(Debug, Clone)]
pub struct EmulatedUser {
    username: String,
    password: String,
    factor: SecondFactor,
    devices: Vec<EmulatedDevice>,
    locked: bool,
    offline_qr: bool,
    extra_step: Option<String>,
    must_change_password: bool,
    futurae_user_id: String,
    passcode_seed: u64,
}

impl EmulatedUser {
    /// A user with one device (`<username>-phone`).
    pub fn new(username: &str, password: &str, factor: SecondFactor) -> Self {
        let mut rng = fastrand::Rng::new();
        EmulatedUser {
            username: username.into(),
            password: password.into(),
            factor,
            devices: vec![EmulatedDevice::new(
                &format!("{username}-phone"),
                &format!("{username}'s phone"),
                "IOS",
            )],
            locked: false,
            offline_qr: false,
            extra_step: None,
            must_change_password: false,
            futurae_user_id: uuid_like(&mut rng),
            passcode_seed: rng.u64(..),
        }
    }

    /// Replaces the user's devices (more than one → device choice for One-Touch).
    pub fn with_devices(mut self, devices: Vec<EmulatedDevice>) -> Self {
        self.devices = devices;
        self
    }

    /// Locks the account (`USER_LOCKED`).
    pub fn locked(mut self) -> Self {
        self.locked = true;
        self
    }

    /// The offline switch returns a QR code too (offline QR factor).
    pub fn with_offline_qr(mut self) -> Self {
        self.offline_qr = true;
        self
    }

    /// After the other steps, the flow stops at this step code (one the client may not know).
    pub fn with_extra_step(mut self, code: &str) -> Self {
        self.extra_step = Some(code.into());
        self
    }

    /// The password must be changed right after the password check.
    pub fn must_change_password(mut self) -> Self {
        self.must_change_password = true;
        self
    }
}

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
    user: String,
    status: ChallengeStatus,
    created: SystemTime,
    polling_code: &'static str,
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
    clock: SharedClock,
    users: HashMap<String, EmulatedUser>,
    failures: HashMap<String, u32>,
    temp_locks: HashMap<String, SystemTime>,
    sessions: HashMap<String, Session>,
    challenges: HashMap<String, Challenge>,
    applications: HashMap<String, bool>,
    pushes: VecDeque<(String, String)>,
    received: VecDeque<Request>,
    log_capacity: usize,
    session_capacity: usize,
    uses: u64,
    lock_duration: Duration,
    max_failures: u32,
    challenge_ttl: Duration,
    csrf_protection: bool,
    push_to_all: bool,
}

/// Builds an [`Emulator`].
#[derive(Debug)]
pub struct EmulatorBuilder {
    clock: SharedClock,
    users: Vec<EmulatedUser>,
    default_users: bool,
    lock_duration: Duration,
    max_failures: u32,
    challenge_ttl: Duration,
    csrf_protection: bool,
    push_to_all: bool,
    log_capacity: usize,
    session_capacity: usize,
}

impl EmulatorBuilder {
    /// How many received requests (and pushes) to keep, and how many server sessions: see
    /// [`Emulator::set_retention`].
    pub fn retention(mut self, log: usize, sessions: usize) -> Self {
        self.log_capacity = log;
        self.session_capacity = sessions.max(1);
        self
    }

    /// The emulator's clock (lock expiry, challenge expiry, passcode windows). Default: system.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Adds a user (replacing a default user of the same name).
    pub fn user(mut self, user: EmulatedUser) -> Self {
        self.users.push(user);
        self
    }

    /// Starts without the default users.
    pub fn without_default_users(mut self) -> Self {
        self.default_users = false;
        self
    }

    /// How long a wrong password or OTP locks the user temporarily (default 3 s, as in
    /// Airlock's examples).
    pub fn temporary_lock(mut self, duration: Duration) -> Self {
        self.lock_duration = duration;
        self
    }

    /// Failed attempts until the account is locked for good (default 5).
    pub fn max_failed_attempts(mut self, n: u32) -> Self {
        self.max_failures = n.max(1);
        self
    }

    /// How long a 2FA request waits for the user before timing out (default 120 s).
    pub fn challenge_ttl(mut self, ttl: Duration) -> Self {
        self.challenge_ttl = ttl;
        self
    }

    /// Whether `X-Same-Domain` is required (default on).
    pub fn csrf_protection(mut self, on: bool) -> Self {
        self.csrf_protection = on;
        self
    }

    /// "Push-to-All" (IAM ≥ 8.3): no device choice, the push goes to every device.
    pub fn push_to_all(mut self, on: bool) -> Self {
        self.push_to_all = on;
        self
    }

    /// Starts the HTTP server on a random loopback port.
    pub async fn start(self) -> Emulator {
        let mut users = HashMap::new();
        if self.default_users {
            for u in default_users() {
                users.insert(u.username.clone(), u);
            }
        }
        for u in self.users {
            users.insert(u.username.clone(), u);
        }
        let applications = HashMap::from([
            (DEFAULT_APPLICATION.to_owned(), true),
            ("ebanking".to_owned(), true),
            ("portal".to_owned(), false),
        ]);
        let state = Arc::new(Mutex::new(State {
            clock: self.clock,
            users,
            failures: HashMap::new(),
            temp_locks: HashMap::new(),
            sessions: HashMap::new(),
            challenges: HashMap::new(),
            applications,
            pushes: VecDeque::new(),
            received: VecDeque::new(),
            log_capacity: self.log_capacity,
            session_capacity: self.session_capacity,
            uses: 0,
            lock_duration: self.lock_duration,
            max_failures: self.max_failures,
            challenge_ttl: self.challenge_ttl,
            csrf_protection: self.csrf_protection,
            push_to_all: self.push_to_all,
        }));
        // The emulator keeps its own bounded log instead of wiremock's unbounded one.
        let server = MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        Mock::given(wiremock::matchers::any())
            .respond_with(Router {
                state: state.clone(),
            })
            .mount(&server)
            .await;
        Emulator { server, state }
    }
}

fn default_users() -> Vec<EmulatedUser> {
    let p = DEFAULT_PASSWORD;
    vec![
        EmulatedUser::new("jdoe", p, SecondFactor::MobileOnly),
        EmulatedUser::new("alice", p, SecondFactor::OneTouch),
        EmulatedUser::new("bob", p, SecondFactor::OneTouch).with_devices(vec![
            EmulatedDevice::new("bob-iphone", "Bob's iPhone", "IOS"),
            EmulatedDevice::new("bob-pixel", "Bob's Pixel", "ANDROID"),
        ]),
        EmulatedUser::new("carol", p, SecondFactor::Otp),
        EmulatedUser::new("dave", p, SecondFactor::OnlineQr),
        EmulatedUser::new("erin", p, SecondFactor::OneTouch).with_offline_qr(),
        EmulatedUser::new("frank", p, SecondFactor::None)
            .with_extra_step("TERMS_OF_SERVICES_ACCEPTANCE_REQUIRED"),
        EmulatedUser::new("grace", p, SecondFactor::MobileOnly).must_change_password(),
        EmulatedUser::new("locked", p, SecondFactor::MobileOnly).locked(),
    ]
}

/// How many records an [`Emulator`] holds ([`Emulator::stored`]).
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

/// The running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct Emulator {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl Emulator {
    /// An emulator with the default users and settings.
    pub async fn start() -> Emulator {
        Emulator::builder().start().await
    }

    /// Configures an emulator.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            clock: system_clock(),
            users: Vec::new(),
            default_users: true,
            lock_duration: Duration::from_secs(3),
            max_failures: 5,
            challenge_ttl: Duration::from_secs(120),
            csrf_protection: true,
            push_to_all: false,
            log_capacity: DEFAULT_LOG_CAPACITY,
            session_capacity: DEFAULT_SESSION_CAPACITY,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The server's root, e.g. `http://127.0.0.1:41234`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// A Loginapp URL on the emulator, `<root>/auth` (any prefix works; the REST root is found
    /// by its `/rest/` segment).
    pub fn loginapp_url(&self) -> String {
        format!("{}/auth", self.server.uri())
    }

    /// Adds or replaces a user.
    pub fn add_user(&self, user: EmulatedUser) {
        self.state().users.insert(user.username.clone(), user);
    }

    /// Adds an application; `requires_second_factor` decides whether accessing it asks for 2FA.
    pub fn add_application(&self, id: &str, requires_second_factor: bool) {
        self.state()
            .applications
            .insert(id.to_owned(), requires_second_factor);
    }

    /// Sets the temporary-lock duration (tests use zero to retry at once).
    pub fn set_temporary_lock(&self, duration: Duration) {
        self.state().lock_duration = duration;
    }

    /// Turns CSRF protection on or off.
    pub fn set_csrf_protection(&self, on: bool) {
        self.state().csrf_protection = on;
    }

    fn settle_user(&self, username: &str, status: ChallengeStatus) -> bool {
        let mut st = self.state();
        let mut found = false;
        for c in st.challenges.values_mut() {
            if c.user == username && c.status == ChallengeStatus::Pending {
                c.status = status;
                found = true;
            }
        }
        found
    }

    fn settle_token(&self, token: &str, status: ChallengeStatus) -> bool {
        let mut st = self.state();
        match st.challenges.get_mut(token) {
            Some(c) if c.status == ChallengeStatus::Pending => {
                c.status = status;
                true
            }
            _ => false,
        }
    }

    /// The phone approves every pending 2FA request of `username`. Returns whether there was one.
    pub fn approve(&self, username: &str) -> bool {
        self.settle_user(username, ChallengeStatus::Approved)
    }

    /// The phone declines every pending 2FA request of `username`.
    pub fn reject(&self, username: &str) -> bool {
        self.settle_user(username, ChallengeStatus::Rejected)
    }

    /// Every pending 2FA request of `username` times out.
    pub fn time_out(&self, username: &str) -> bool {
        self.settle_user(username, ChallengeStatus::TimedOut)
    }

    /// The app that received a `mobileAuthUri` (or scanned a QR code) approves its session token.
    pub fn approve_session_token(&self, session_token: &str) -> bool {
        self.settle_token(session_token, ChallengeStatus::Approved)
    }

    /// The app declines the request of this session token.
    pub fn reject_session_token(&self, session_token: &str) -> bool {
        self.settle_token(session_token, ChallengeStatus::Rejected)
    }

    /// The status of the request with this session token.
    pub fn challenge_status(&self, session_token: &str) -> Option<ChallengeStatus> {
        self.state().challenges.get(session_token).map(|c| c.status)
    }

    /// How many 2FA requests of `username` are pending.
    pub fn pending_count(&self, username: &str) -> usize {
        self.state()
            .challenges
            .values()
            .filter(|c| c.user == username && c.status == ChallengeStatus::Pending)
            .count()
    }

    /// How much the emulator keeps: at most `log` received requests and pushes (the oldest are
    /// forgotten first; 0 keeps none) and at most `sessions` server sessions. Beyond
    /// `sessions`, finished flows (done, or not started: a later password check starts afresh)
    /// are forgotten first, oldest first, then the least recently used flow (with its pending
    /// 2FA request). Nothing else grows with the number of requests: failure counters and
    /// temporary locks are kept for the emulator's users only, and 2FA requests only while
    /// their flow holds them (or up to `sessions` more). Defaults: [`DEFAULT_LOG_CAPACITY`],
    /// [`DEFAULT_SESSION_CAPACITY`].
    pub fn set_retention(&self, log: usize, sessions: usize) {
        let mut st = self.state();
        st.log_capacity = log;
        st.session_capacity = sessions.max(1);
        while st.received.len() > log {
            st.received.pop_front();
        }
        while st.pushes.len() > log {
            st.pushes.pop_front();
        }
        st.prune_sessions(None);
        st.prune_challenges();
    }

    /// How many records the emulator holds now.
    pub fn stored(&self) -> Stored {
        let st = self.state();
        Stored {
            requests: st.received.len(),
            pushes: st.pushes.len(),
            sessions: st.sessions.len(),
            challenges: st.challenges.len(),
            failure_counters: st.failures.len(),
            temporary_locks: st.temp_locks.len(),
        }
    }

    /// The device ids pushes went to for `username`, in order.
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
        Some(passcode_at(user, st.clock.now()))
    }

    /// How many server sessions exist.
    pub fn session_count(&self) -> usize {
        self.state().sessions.len()
    }

    /// Whether `username` is locked for good.
    pub fn is_locked(&self, username: &str) -> bool {
        self.state().users.get(username).is_some_and(|u| u.locked)
    }

    /// Forgets sessions, challenges, pushes, failure counters and temporary locks.
    pub fn reset(&self) {
        let mut st = self.state();
        st.sessions.clear();
        st.challenges.clear();
        st.pushes.clear();
        st.failures.clear();
        st.temp_locks.clear();
    }

    /// The requests the server received (method, URL, headers, body), oldest first: the last
    /// [`DEFAULT_LOG_CAPACITY`] (see [`Emulator::set_retention`]).
    pub async fn received_requests(&self) -> Vec<Request> {
        self.state().received.iter().cloned().collect()
    }
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

fn uuid_like(rng: &mut fastrand::Rng) -> String {
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

// ---- HTTP -------------------------------------------------------------------------------

struct Router {
    state: Arc<Mutex<State>>,
}

/// One answer under construction.
struct Reply {
    status: u16,
    body: Value,
    set_cookie: Option<String>,
}

impl Respond for Router {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut st = lock(&self.state);
        st.log_request(request);
        let reply = st.handle(request);
        let mut t = ResponseTemplate::new(reply.status);
        if let Some(c) = reply.set_cookie {
            t = t.append_header("Set-Cookie", c.as_str());
        }
        if reply.body.is_null() {
            t
        } else {
            let bytes = serde_json::to_vec(&reply.body).unwrap_or_default();
            t.set_body_raw(bytes, "application/json")
        }
    }
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

fn session_cookie(request: &Request) -> Option<String> {
    for value in request.headers.get_all("cookie") {
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
        self.clock.now()
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

    fn handle(&mut self, request: &Request) -> Reply {
        let path = request.url.path();
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
        let Some(op) = route(request.method.as_str(), rest) else {
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

    /// Keeps the request in the log ring.
    fn log_request(&mut self, request: &Request) {
        if self.log_capacity == 0 {
            return;
        }
        while self.received.len() >= self.log_capacity {
            self.received.pop_front();
        }
        self.received.push_back(request.clone());
    }

    /// Keeps a push in its ring (same capacity as the request log).
    fn log_push(&mut self, user: &str, device: &str) {
        if self.log_capacity == 0 {
            return;
        }
        while self.pushes.len() >= self.log_capacity {
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

    fn dispatch(&mut self, sid: &str, op: Op, request: &Request) -> Reply {
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

    fn body(request: &Request) -> Option<Map<String, Value>> {
        serde_json::from_slice::<Value>(&request.body)
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

    fn password_check(&mut self, s: &mut Session, request: &Request) -> Reply {
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
            s.stage = self.enter_second_factor(&user, None);
        } else if let Some(extra) = user.extra_step.clone() {
            s.stage = Stage::Extra(extra);
        } else {
            s.stage = Stage::Done;
        }
    }

    fn enter_second_factor(&mut self, user: &EmulatedUser, device: Option<String>) -> Stage {
        match user.factor {
            SecondFactor::None => Stage::Done,
            SecondFactor::Otp => Stage::Otp,
            SecondFactor::MobileOnly => Stage::MobileOnlyRetrieve,
            SecondFactor::OnlineQr => {
                let token = self.new_challenge(&user.username, "AIRLOCK_2FA_POLLING_REQUIRED");
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
                let token =
                    self.new_challenge(&user.username, "AIRLOCK_2FA_POLLING_OR_OFFLINE_REQUIRED");
                Stage::Polling {
                    token,
                    offline_allowed: true,
                    qr: None,
                }
            }
        }
    }

    fn new_challenge(&mut self, user: &str, polling_code: &'static str) -> String {
        let token = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let now = self.now();
        self.challenges.insert(
            token.clone(),
            Challenge {
                user: user.to_owned(),
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

    fn otp_check(&mut self, s: &mut Session, request: &Request, airlock_2fa: bool) -> Reply {
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
        let token = self.new_challenge(&user.username, "AIRLOCK_2FA_POLLING_REQUIRED");
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

    fn select(&mut self, s: &mut Session, id: Option<String>, request: &Request) -> Reply {
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
                s.stage = self.enter_second_factor(&user, Some(id));
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

    fn password_change(&mut self, s: &mut Session, request: &Request) -> Reply {
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

    /// The HTTP server keeps no log of its own: the emulator's ring is the only one.
    #[cfg(feature = "reqwest")]
    #[tokio::test]
    async fn the_http_server_keeps_no_request_log() {
        let emu = Emulator::builder().retention(3, 10).start().await;
        let http = auth_core::ReqwestClient::new(&auth_core::HttpConfig::default()).unwrap();
        for _ in 0..5 {
            let request = http::Request::builder()
                .method("POST")
                .uri(format!("{}/rest/public/logout/", emu.loginapp_url()))
                .header("x-same-domain", "1")
                .body(Vec::new())
                .unwrap();
            auth_core::HttpClient::execute(&http, request)
                .await
                .unwrap();
        }
        assert!(emu.server.received_requests().await.is_none());
        assert_eq!(emu.received_requests().await.len(), 3);
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
