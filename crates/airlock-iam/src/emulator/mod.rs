//! A Loginapp REST emulator (feature `emulator`): the protocol as a [`Model`] (an HTTP request
//! in, the response out, control commands, an injected clock; no socket code), and an
//! [`Emulator`] that serves it on a loopback port ([`auth_core::emulator::serve`]) or hands it
//! to a client with no socket ([`Served::in_process`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use airlock_iam::emulator::Emulator;
//! use airlock_iam::{Client, Password};
//! use auth_core::emulator::Control;
//!
//! let emu = Emulator::start().await?; // a free loopback port
//! let client = Client::builder(emu.base_url()).build()?;
//! let flow = client.flow();
//! flow.check_password("alice", &Password::new("password1")).await?; // One-Touch: push sent
//! let pending = emu.pending();
//! assert_eq!(pending[0].user, "alice");
//! emu.control(Control::Approve { id: pending[0].id.clone() })?; // alice taps "Approve"
//! assert!(flow.wait().await?.is_done());
//! # Ok(()) }
//! ```
//!
//! It speaks the documented wire shapes (JSON:API documents, error documents, 401
//! `NOT_AUTHORIZED` + `meta.nextAuthStep`, 400 `USERNAME_PASSWORD_WRONG` with
//! `temporaryLockExpiry`, 403 `USER_LOCKED` / `USER_TEMPORARILY_LOCKED`, 400 `OTP_WRONG`),
//! keeps flow state per `JSESSIONID` cookie, enforces `X-Same-Domain`, and lets a test play the
//! phone: approve, deny or expire a pending Airlock 2FA request.
//!
//! **Everything Airlock does not document is a model choice of this emulator, not Airlock
//! behaviour** (spec §8.2): the cookie name, the codes for rejected / timed-out 2FA and for a
//! missing CSRF header, the offline switch / passcode / QR / device-select / password-change /
//! logout paths, the step codes [`codes::AIRLOCK_2FA_OTP_REQUIRED`] and
//! [`codes::PASSWORD_CHANGE_REQUIRED`], where a QR code is offered (the `qrCode` attribute of
//! the step that shows it, and `qr-code/retrieve/` while at that step, which fetches it again
//! and leaves the flow where it is), the device list's resource type, and the passcode
//! generator (a random 6-digit code per user and 30-second window, not TOTP). It serves no
//! browser page: the Loginapp REST API has none (the user answers in the Airlock 2FA app).
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
//! ## Control
//!
//! The [`Control`] vocabulary of every oob-auth emulator ([`Served::control`],
//! [`Model::control`]); the Rust methods of [`Model`] (`approve`, `passcode`, …) are thin
//! wrappers for tests.
//!
//! | command | here |
//! | --- | --- |
//! | `add_user` | `{"password"?, "factor"?: "one_touch" \| "mobile_only" \| "otp" \| "online_qr" \| "none", "devices"?: [{"id", "display_name"?, "kind"?}], "locked"?, "offline_qr"?, "must_change_password"?, "extra_step"?}` (default: `password1`, One-Touch) |
//! | `approve`, `deny`, `expire` | the pending 2FA request `id`: its id from `list_pending`, its session token (from a `mobileAuthUri` or QR code), or a user name (all of that user's) |
//! | `inject_fault` | the next matching requests answer with the fault's status |
//! | `advance_clock` | moves the emulator's clock (the default [`OffsetClock`]; a clock given to the builder is moved by its owner) |
//! | `read_log` | the newest requests: method, path (query redacted), status; never headers or bodies |
//! | `list_pending` | [`Model::pending`] |
//! | `provider` | `{"passcode": "<user>"}`, `{"csrf_protection": bool}`, `{"push_to_all": bool}`, `{"temporary_lock_seconds": n}`, `{"max_failed_attempts": n}`, `{"application": "<id>", "second_factor": bool}`, `{"session_capacity": n}`, `{"pushes": "<user>"}` (the devices pushes went to), `{"is_locked": "<user>"}`, `{"stored": true}`, `{"reset": true}` |
//! | `fail`, `set_rules`, `rotate_keys` | [`ControlError::Unsupported`]: no such thing in the Loginapp |
//!
//! ## Bounded
//!
//! What it keeps is bounded, however many requests it serves: the request log and the pushes
//! are rings, sessions beyond a cap are forgotten (finished flows first), settled 2FA requests
//! go with their flow (or beyond the same cap), and nothing is kept for user names that came
//! from requests ([`EmulatorBuilder::log_capacity`], [`Model::set_session_capacity`],
//! [`Model::stored`]).

mod model;

use std::sync::Arc;
use std::time::Duration;

use auth_core::emulator::EmulatorClock;
use auth_core::emulator::Served;
#[cfg(doc)]
use auth_core::emulator::{Control, ControlError, InProcess, OffsetClock};

pub use model::{ChallengeStatus, Model, Stored};

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

/// How many requests the emulator's log (and its pushes ring) keeps by default.
pub const DEFAULT_LOG_CAPACITY: usize = 1000;
/// How many server sessions (flows) the emulator keeps by default: beyond it, finished flows go
/// first (done, or not started), then the least recently used. Large enough for 10,000 users
/// logged in at once, each with a step-up under way on that session (the scale benchmark);
/// about 0.5 KiB each.
pub const DEFAULT_SESSION_CAPACITY: usize = 20_000;

/// The session cookie's name (model choice; Airlock's is unconfirmed).
pub const SESSION_COOKIE: &str = "JSESSIONID";
/// The password of every default user.
pub const DEFAULT_PASSWORD: &str = "password1";
/// The id the emulator gives the default application.
pub const DEFAULT_APPLICATION: &str = "default";
/// The Loginapp's path on the emulator's server: [`Served::base_url`] is `<root>/auth` (any
/// prefix works: the REST root is found by its `/rest/` segment).
pub const LOGINAPP_PATH: &str = "/auth";

/// A user's second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecondFactor {
    /// No second factor: the password finishes the flow.
    None,
    /// The generic OTP step (`OTP_REQUIRED`, `otp/check/`); the OTP is [`Model::passcode`].
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
#[non_exhaustive]
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

/// A user of the emulator: name, password and second factor, then named steps for the rest.
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
            futurae_user_id: model::uuid_like(&mut rng),
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

    /// The user's name.
    pub fn username(&self) -> &str {
        &self.username
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

/// Builds an [`Emulator`] (or just its [`Model`]) with its seeds: users, clock, timings, what
/// it keeps.
#[derive(Debug)]
#[must_use]
pub struct EmulatorBuilder {
    clock: EmulatorClock,
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

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            clock: EmulatorClock::default(),
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
}

impl EmulatorBuilder {
    /// The model's clock: an [`OffsetClock`], real time that
    /// [`Control::AdvanceClock`] moves (the
    /// default, and what the emulator server shares with every provider); a
    /// [`FakeClock`](auth_core::FakeClock) (`advance_clock` moves it too); or any other clock
    /// (`Arc::new(clock)`, a [`SharedClock`](auth_core::SharedClock)), which you move yourself:
    /// `advance_clock` is refused.
    pub fn clock(mut self, clock: impl Into<EmulatorClock>) -> Self {
        self.clock = clock.into();
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

    /// Accepts requests without `X-Same-Domain` ("CSRF Protection" off; default on).
    pub fn without_csrf_protection(mut self) -> Self {
        self.csrf_protection = false;
        self
    }

    /// "Push-to-All" (IAM ≥ 8.3): no device choice, the push goes to every device.
    pub fn push_to_all(mut self) -> Self {
        self.push_to_all = true;
        self
    }

    /// Keeps the newest `entries` requests in the log, and as many pushes (default
    /// [`DEFAULT_LOG_CAPACITY`]; at least one request).
    pub fn log_capacity(mut self, entries: usize) -> Self {
        self.log_capacity = entries;
        self
    }

    /// Keeps at most `sessions` server sessions (default [`DEFAULT_SESSION_CAPACITY`]): see
    /// [`Model::set_session_capacity`].
    pub fn session_capacity(mut self, sessions: usize) -> Self {
        self.session_capacity = sessions.max(1);
        self
    }

    /// The model alone (to serve it elsewhere, or call it with [`InProcess`]); no socket.
    pub fn model(self) -> Model {
        Model::from_builder(self)
    }

    /// Serves the model on a free loopback port.
    pub async fn start(self) -> std::io::Result<Emulator> {
        let served = Served::start(Arc::new(self.model())).await?;
        Ok(Emulator(served.under(LOGINAPP_PATH)?))
    }
}

auth_core::served_emulator! {
    /// The Loginapp served on a loopback port until dropped: auth-core's [`Served`] [`Model`].
    /// [`base_url`](Served::base_url) is the Loginapp's, `http://127.0.0.1:<port>/auth`: what
    /// [`Client::builder`](crate::Client::builder) takes; [`control`](Served::control),
    /// [`pending`](Served::pending), [`model`](Served::model), [`in_process`](Served::in_process)
    /// and the model's test helpers (`approve`, `passcode`, …) are called on it directly.
    /// [`root_url`](Served::root_url) is the server's root (the Loginapp answers under any prefix:
    /// `<root>/auth-login`, `<root>` itself). `Emulator::start()` starts one with the default
    /// users and settings.
    pub struct Emulator(Served<Model>);
    builder: EmulatorBuilder;
}
