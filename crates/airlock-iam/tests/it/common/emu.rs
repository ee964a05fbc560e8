//! The Loginapp a conformance scenario runs against, through one test-side API: the crate's
//! emulator over a loopback socket or in process, or the `oob-auth-emulator` server binary
//! (its control URL in `OOB_EMULATOR_URL`), driven through the control API.
//!
//! Auth-core's [`Controller`] runs the control commands either way (and moves the clock);
//! [`Emu`] adds the Loginapp's own words on top.
//!
//! The server is shared by every scenario of a run (one at a time): each scenario's users are
//! its own (unique names, created with `add_user`), and a scenario's setup puts the server's
//! settings back to the defaults and forgets its sessions first.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use airlock_iam::emulator::{DEFAULT_SESSION_CAPACITY, Emulator, EmulatorBuilder};
use airlock_iam::{Client, ClientBuilder};
pub use auth_core::emulator::testing::SyncedClock;
use auth_core::emulator::testing::{Controller, LogMark};
pub use auth_core::emulator::testing::{Wire, unique};
use auth_core::emulator::{Control, ControlError, LogEntry, PendingStepUp, RemoteEmulator};
use auth_core::{BaseUrl, HttpClient, HttpConfig, ReqwestClient};
use serde_json::{Value, json};

/// The provider's name at the server.
pub const PROVIDER: &str = "airlock-iam";

/// What a scenario gets: the wire and the emulator behind it.
pub struct Setup {
    /// How the client reaches the emulator.
    pub wire: Wire,
    /// The emulator.
    pub emu: Emu,
}

/// The emulator: the crate's own, or the server binary's, and the control commands that reach
/// either.
pub struct Emu {
    ctl: Controller,
    side: Side,
}

/// Which emulator.
enum Side {
    /// The crate's emulator (its Rust control methods).
    Local(Emulator),
    /// The server binary (its control API).
    Remote(Remote),
}

/// The server binary, as one scenario uses it.
pub struct Remote {
    /// The Loginapp's URL (`api_url`: `<root>/auth`).
    base_url: BaseUrl,
    /// The provider's port (`base_url`).
    root_url: BaseUrl,
    /// The server's log capacity.
    log_capacity: usize,
}

/// How many records the emulator holds (the model's `stored`, read either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub requests: usize,
    pub pushes: usize,
    pub sessions: usize,
    pub challenges: usize,
    pub failure_counters: usize,
    pub temporary_locks: usize,
}

/// The `add_user` details of each default user of the crate's emulator (spec §8.2 and one per
/// further variant), so a scenario can have its own.
pub fn role_details(role: &str) -> Value {
    match role {
        "jdoe" => json!({"factor": "mobile_only"}),
        "alice" => json!({"factor": "one_touch"}),
        "bob" => json!({"factor": "one_touch", "devices": [
            {"id": "bob-iphone", "display_name": "Bob's iPhone", "kind": "IOS"},
            {"id": "bob-pixel", "display_name": "Bob's Pixel", "kind": "ANDROID"},
        ]}),
        "carol" => json!({"factor": "otp"}),
        "dave" => json!({"factor": "online_qr"}),
        "erin" => json!({"factor": "one_touch", "offline_qr": true}),
        "frank" => json!({"factor": "none", "extra_step": "TERMS_OF_SERVICES_ACCEPTANCE_REQUIRED"}),
        "grace" => json!({"factor": "mobile_only", "must_change_password": true}),
        "locked" => json!({"factor": "mobile_only", "locked": true}),
        other => panic!("no default user `{other}`"),
    }
}

impl Setup {
    /// The emulator with its defaults, on `wire`.
    pub async fn start(wire: Wire) -> Setup {
        Setup::with(wire, |b| b).await
    }

    /// On the socket and in process, the crate's emulator as `configure` builds it; the server
    /// binary has the defaults (a scenario sets what it can at run time).
    pub async fn with(
        wire: Wire,
        configure: impl FnOnce(EmulatorBuilder) -> EmulatorBuilder,
    ) -> Setup {
        let emu = match wire {
            Wire::Socket | Wire::InProcess => {
                let e = configure(Emulator::builder()).start().await.unwrap();
                Emu {
                    ctl: Controller::local(e.model()),
                    side: Side::Local(e),
                }
            }
            Wire::Binary => Remote::connect().await,
        };
        Setup { wire, emu }
    }

    /// The HTTP client a client on this wire uses.
    pub fn http(&self) -> Arc<dyn HttpClient> {
        match (&self.emu.side, self.wire) {
            (Side::Local(e), Wire::InProcess) => e.in_process(),
            _ => Arc::new(ReqwestClient::new(&HttpConfig::default()).unwrap()),
        }
    }

    /// A client builder for the Loginapp at `url` on this wire.
    pub fn builder_at(&self, url: &str) -> ClientBuilder {
        let builder = Client::builder(url);
        match (&self.emu.side, self.wire) {
            (Side::Local(e), Wire::InProcess) => builder.http_client(e.in_process()),
            _ => builder,
        }
    }

    /// A client builder for the Loginapp.
    pub fn builder(&self) -> ClientBuilder {
        self.builder_at(self.emu.base_url().as_str())
    }

    /// A user of this scenario alone, with the second factor of the crate's default user
    /// `role` (`alice`: One-Touch, `jdoe`: mobile-only, …) and password `password1`.
    pub async fn user(&self, role: &str) -> String {
        let name = unique(role);
        self.emu.add_user(&name, role_details(role)).await;
        name
    }

    /// A clock for the client that shows the emulator's time and moves it: each sleep moves
    /// the emulator's clock (and its own) by as much, at once.
    pub async fn synced_clock(&self) -> Arc<SyncedClock> {
        SyncedClock::of(self.emu.ctl.clone()).await.unwrap()
    }
}

impl Remote {
    /// The server at `OOB_EMULATOR_URL`, its settings back to the defaults, its sessions,
    /// 2FA requests, failure counters and locks forgotten. Fails loudly without the server.
    pub async fn connect() -> Emu {
        let server = RemoteEmulator::from_env().unwrap_or_else(|e| panic!("{e}"));
        let all = server
            .providers()
            .await
            .unwrap_or_else(|e| panic!("the emulator server: {e}"));
        let info = &all["providers"][PROVIDER];
        let url = |key: &str| {
            BaseUrl::parse(
                info[key]
                    .as_str()
                    .unwrap_or_else(|| panic!("no {key} for {PROVIDER} in {all}")),
            )
            .unwrap()
        };
        let remote = Emu {
            side: Side::Remote(Remote {
                base_url: url("api_url"),
                root_url: url("base_url"),
                log_capacity: all["log_capacity"].as_u64().unwrap_or(1000) as usize,
            }),
            ctl: Controller::remote(server, PROVIDER),
        };
        for body in [
            json!({"csrf_protection": true}),
            json!({"push_to_all": false}),
            json!({"temporary_lock_seconds": 3}),
            json!({"max_failed_attempts": 5}),
            json!({"session_capacity": DEFAULT_SESSION_CAPACITY}),
            json!({"reset": true}),
        ] {
            remote
                .control(Control::Provider { body })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        remote
    }
}

impl Emu {
    /// The Loginapp's URL (`<root>/auth`).
    pub fn base_url(&self) -> &BaseUrl {
        match &self.side {
            Side::Local(e) => e.base_url(),
            Side::Remote(r) => &r.base_url,
        }
    }

    /// The server's root (the Loginapp answers under any prefix).
    pub fn root_url(&self) -> &BaseUrl {
        match &self.side {
            Side::Local(e) => e.root_url(),
            Side::Remote(r) => &r.root_url,
        }
    }

    /// The emulator's port.
    pub fn port(&self) -> u16 {
        self.root_url().url().port().unwrap()
    }

    /// Whether this is the server binary.
    pub fn is_remote(&self) -> bool {
        self.ctl.is_remote()
    }

    /// A control command, as a test in another language sends it: the model's answer or
    /// refusal (the server failing to run it fails the test).
    pub async fn control(&self, command: Control) -> Result<Value, ControlError> {
        self.ctl
            .answer(command)
            .await
            .unwrap_or_else(|e| panic!("the emulator server: {e}"))
    }

    /// A control command given as JSON (`{"command": "approve", "id": …}`).
    pub async fn control_json(&self, command: Value) -> Result<Value, ControlError> {
        self.control(serde_json::from_value(command).unwrap()).await
    }

    /// A provider command that must succeed.
    async fn provider(&self, body: Value) -> Value {
        self.control(Control::Provider { body: body.clone() })
            .await
            .unwrap_or_else(|e| panic!("{body}: {e}"))
    }

    /// Creates (or replaces) a user.
    pub async fn add_user(&self, user: &str, details: Value) {
        self.control(Control::AddUser {
            user: user.to_owned(),
            details,
        })
        .await
        .unwrap_or_else(|e| panic!("add_user {user}: {e}"));
    }

    /// Settles the pending 2FA requests `id` names (an id, a session token, a user name).
    async fn settle(&self, command: Control) -> bool {
        match self.control(command).await {
            Ok(_) => true,
            Err(ControlError::NotFound { .. }) => false,
            Err(e) => panic!("{e}"),
        }
    }

    /// The phone approves every pending 2FA request of `user`. Whether there was one.
    pub async fn approve(&self, user: &str) -> bool {
        match &self.side {
            Side::Local(e) => e.approve(user),
            Side::Remote(_) => self.settle(Control::Approve { id: user.into() }).await,
        }
    }

    /// The phone declines every pending 2FA request of `user`.
    pub async fn reject(&self, user: &str) -> bool {
        match &self.side {
            Side::Local(e) => e.reject(user),
            Side::Remote(_) => {
                self.settle(Control::Deny {
                    id: user.into(),
                    fraud: false,
                    reason: None,
                })
                .await
            }
        }
    }

    /// Every pending 2FA request of `user` times out.
    pub async fn time_out(&self, user: &str) -> bool {
        match &self.side {
            Side::Local(e) => e.time_out(user),
            Side::Remote(_) => self.settle(Control::Expire { id: user.into() }).await,
        }
    }

    /// The app approves the request of this session token.
    pub async fn approve_session_token(&self, token: &str) -> bool {
        match &self.side {
            Side::Local(e) => e.approve_session_token(token),
            Side::Remote(_) => self.settle(Control::Approve { id: token.into() }).await,
        }
    }

    /// The app declines the request of this session token.
    pub async fn reject_session_token(&self, token: &str) -> bool {
        match &self.side {
            Side::Local(e) => e.reject_session_token(token),
            Side::Remote(_) => {
                self.settle(Control::Deny {
                    id: token.into(),
                    fraud: false,
                    reason: None,
                })
                .await
            }
        }
    }

    /// The devices pushes went to for `user`, in order.
    pub async fn pushes(&self, user: &str) -> Vec<String> {
        match &self.side {
            Side::Local(e) => e.pushes(user),
            Side::Remote(_) => serde_json::from_value(
                self.provider(json!({"pushes": user})).await["devices"].take(),
            )
            .unwrap(),
        }
    }

    /// The 2FA requests waiting for the user.
    pub async fn pending(&self) -> Vec<PendingStepUp> {
        self.ctl.pending().await.unwrap()
    }

    /// How many 2FA requests of `user` are pending.
    pub async fn pending_count(&self, user: &str) -> usize {
        self.pending()
            .await
            .iter()
            .filter(|p| p.user == user)
            .count()
    }

    /// The passcode / OTP of `user` valid now.
    pub async fn passcode(&self, user: &str) -> Option<String> {
        match &self.side {
            Side::Local(e) => e.passcode(user),
            Side::Remote(_) => match self
                .control(Control::Provider {
                    body: json!({"passcode": user}),
                })
                .await
            {
                Ok(v) => Some(v["passcode"].as_str().unwrap().to_owned()),
                Err(ControlError::NotFound { .. }) => None,
                Err(e) => panic!("{e}"),
            },
        }
    }

    /// The newest requests, oldest first.
    pub async fn log(&self) -> Vec<LogEntry> {
        self.ctl.read_log().await.unwrap()
    }

    /// Where the log stands now.
    pub async fn log_mark(&self) -> LogMark {
        self.ctl.log_mark().await.unwrap()
    }

    /// The requests received since `mark` (all that are kept when the mark is gone).
    pub async fn log_since(&self, mark: &LogMark) -> Vec<LogEntry> {
        self.ctl.log_since(mark).await.unwrap()
    }

    /// How many records the emulator holds.
    pub async fn stored(&self) -> Stored {
        match &self.side {
            Side::Local(e) => {
                let s = e.stored();
                Stored {
                    requests: s.requests,
                    pushes: s.pushes,
                    sessions: s.sessions,
                    challenges: s.challenges,
                    failure_counters: s.failure_counters,
                    temporary_locks: s.temporary_locks,
                }
            }
            Side::Remote(_) => {
                let v = self.provider(json!({"stored": true})).await;
                let n = |k: &str| v[k].as_u64().unwrap() as usize;
                Stored {
                    requests: n("requests"),
                    pushes: n("pushes"),
                    sessions: n("sessions"),
                    challenges: n("challenges"),
                    failure_counters: n("failure_counters"),
                    temporary_locks: n("temporary_locks"),
                }
            }
        }
    }

    /// How many server sessions exist.
    pub async fn session_count(&self) -> usize {
        match &self.side {
            Side::Local(e) => e.session_count(),
            Side::Remote(_) => self.stored().await.sessions,
        }
    }

    /// How many requests the log (and the pushes ring) keeps.
    pub fn log_capacity(&self, local: usize) -> usize {
        match &self.side {
            Side::Local(_) => local,
            Side::Remote(r) => r.log_capacity,
        }
    }

    /// Keeps at most `sessions` server sessions.
    pub async fn set_session_capacity(&self, sessions: usize) {
        match &self.side {
            Side::Local(e) => e.set_session_capacity(sessions),
            Side::Remote(_) => {
                self.provider(json!({"session_capacity": sessions})).await;
            }
        }
    }

    /// Accepts requests without `X-Same-Domain`.
    pub async fn disable_csrf_protection(&self) {
        match &self.side {
            Side::Local(e) => e.disable_csrf_protection(),
            Side::Remote(_) => {
                self.provider(json!({"csrf_protection": false})).await;
            }
        }
    }

    /// "Push-to-All": no device choice, the push goes to every device.
    pub async fn push_to_all(&self) {
        self.provider(json!({"push_to_all": true})).await;
    }

    /// How long a wrong password or OTP locks the user temporarily.
    pub async fn set_temporary_lock(&self, seconds: u64) {
        match &self.side {
            Side::Local(e) => e.set_temporary_lock(Duration::from_secs(seconds)),
            Side::Remote(_) => {
                self.provider(json!({"temporary_lock_seconds": seconds}))
                    .await;
            }
        }
    }

    /// Failed attempts until an account is locked for good.
    pub async fn set_max_failed_attempts(&self, n: u32) {
        match &self.side {
            Side::Local(e) => e.set_max_failed_attempts(n),
            Side::Remote(_) => {
                self.provider(json!({"max_failed_attempts": n})).await;
            }
        }
    }

    /// Whether `user` is locked for good.
    pub async fn is_locked(&self, user: &str) -> bool {
        match &self.side {
            Side::Local(e) => e.is_locked(user),
            Side::Remote(_) => self.provider(json!({"is_locked": user})).await["locked"]
                .as_bool()
                .unwrap(),
        }
    }
}
