//! The OP a conformance scenario runs against, through one test-side API: the crate's emulator
//! over a loopback socket or in process (on a `FakeClock` the client shares, at `T0`), or the
//! `oob-auth-emulator` server binary (its control URL in `OOB_EMULATOR_URL`), driven through
//! the control API.
//!
//! The server is shared by every scenario of a run (one at a time): each scenario's users are
//! its own (unique names), what it reads back (the log, JWKS fetches, pending requests) is what
//! happened since it began, and its setup turns automatic notification delivery off and puts the
//! OP's settings (discovery, interval, expiry, the default client, waiting faults) back first.
//! The client's clock shows the server's time; each of its sleeps moves the server's clock as
//! far, at once (as the shared `FakeClock` does in process).
//!
//! Auth-core's [`Controller`] runs the control commands either way (and moves the server's
//! clock); [`Setup`] adds the OP's own words on top.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use auth_core::emulator::testing::{Controller, LogMark, SyncedClock};
pub use auth_core::emulator::testing::{Wire, unique};
use auth_core::emulator::{Control, ControlError, LogEntry, PendingStepUp};
use auth_core::{BaseUrl, Clock, FakeClock, HttpClient, SharedClock};
use ciba::emulator::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EmulatedClient, Emulator, Fault, RequestState,
};
use ciba::{AuthReqId, Client, ClientAuth, ClientBuilder, ClientId};
use serde_json::{Value, json};

/// The provider's name at the server.
pub const PROVIDER: &str = "ciba";

/// The crate's emulator's clock starts here (Unix seconds).
pub const T0: u64 = 1_800_000_000;

/// A request as the OP saw it (the emulator's `EmulatedRequest`, read either way).
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub user: String,
    pub binding_message: Option<String>,
    pub acr_values: Option<String>,
    pub requested_expiry: Option<u64>,
    pub user_code_checked: bool,
    pub signed: bool,
    pub polls: u32,
    pub interval: u64,
    pub state: RequestState,
}

/// What a scenario gets: the OP, the default client, two users, the clock they share.
pub struct Setup {
    /// How the client reaches the OP.
    pub wire: Wire,
    /// The default client (`client_secret_basic`), polling: the crate's emulator's
    /// ([`DEFAULT_CLIENT_ID`]), or the one the server printed.
    pub client: Client,
    /// The default client's id.
    pub client_id: String,
    /// The default client's secret.
    pub client_secret: String,
    /// A user of this scenario (`alice` on the crate's emulator).
    pub alice: String,
    /// Another (`bob` on the crate's emulator).
    pub bob: String,
    emu: Emu,
    /// Runs the control commands on it.
    ctl: Controller,
    clock: TestClock,
    /// When the scenario began, on the OP's clock.
    t0: SystemTime,
    /// Where the log stood when the scenario began.
    mark: LogMark,
    /// JWKS fetches before the scenario began.
    jwks_before: usize,
    users: Mutex<Vec<String>>,
}

enum Emu {
    Local(Emulator),
    Remote { base: BaseUrl },
}

/// The clock the client and the OP share.
enum TestClock {
    /// The crate's emulator's `FakeClock`.
    Fake(FakeClock),
    /// The server's time; sleeps move the server's clock.
    Synced(Arc<SyncedClock>),
}

impl Setup {
    /// The OP on `wire` with two users and the default client.
    pub async fn start(wire: Wire) -> Setup {
        match wire {
            Wire::Socket | Wire::InProcess => {
                let clock = FakeClock::at_unix(T0);
                let emulator = Emulator::builder()
                    .clock(Arc::new(clock.clone()))
                    .user("alice")
                    .user("bob")
                    .start()
                    .await
                    .unwrap();
                let mut builder = emulator.client_builder().unwrap();
                if wire == Wire::InProcess {
                    builder = builder.http_client(emulator.in_process());
                }
                Setup {
                    wire,
                    client: builder.build().unwrap(),
                    client_id: DEFAULT_CLIENT_ID.into(),
                    client_secret: DEFAULT_CLIENT_SECRET.into(),
                    alice: "alice".into(),
                    bob: "bob".into(),
                    ctl: Controller::local(emulator.model()),
                    emu: Emu::Local(emulator),
                    clock: TestClock::Fake(clock),
                    t0: SystemTime::UNIX_EPOCH + Duration::from_secs(T0),
                    mark: LogMark::default(),
                    jwks_before: 0,
                    users: Mutex::new(vec!["alice".into(), "bob".into()]),
                }
            }
            Wire::Binary => Setup::remote().await,
        }
    }

    /// The server binary: automatic delivery off, its settings back (its printed client
    /// registered again as printed), two fresh users.
    async fn remote() -> Setup {
        let (ctl, info) = Controller::connect(PROVIDER)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let base = info.url("issuer").unwrap();
        for (key, want) in [
            ("token_endpoint_auth_method", "client_secret_basic"),
            ("delivery_mode", "poll"),
        ] {
            assert_eq!(
                info.json()[key],
                want,
                "the server's printed ciba client is not a client_secret_basic poll client"
            );
        }
        let text = |key: &str| info.text(key).unwrap().to_owned();
        let (client_id, client_secret) = (text("client_id"), text("client_secret"));
        let synced = SyncedClock::of(ctl.clone()).await.unwrap();
        let t0 = synced.now();
        let mut s = Setup {
            wire: Wire::Binary,
            client: Client::builder(
                ClientId::new(&client_id).unwrap(),
                ClientAuth::secret_basic(&client_secret),
            )
            .issuer(base.as_str())
            .clock(synced.clone())
            .build()
            .unwrap(),
            client_id,
            client_secret,
            alice: unique("alice"),
            bob: unique("bob"),
            emu: Emu::Remote { base },
            ctl,
            clock: TestClock::Synced(synced),
            t0,
            mark: LogMark::default(),
            jwks_before: 0,
            users: Mutex::new(Vec::new()),
        };
        for body in [json!({"auto_deliver": false}), json!({"reset": true})] {
            s.provider(body).await;
        }
        s.register_client(EmulatedClient::secret_basic(&s.client_id, &s.client_secret))
            .await;
        for user in [s.alice.clone(), s.bob.clone()] {
            s.add_user(&user).await;
        }
        s.mark = s.ctl.log_mark().await.unwrap();
        s.jwks_before = s.raw_jwks_fetches().await;
        s
    }

    /// Whether this is the server binary.
    pub fn is_remote(&self) -> bool {
        matches!(self.emu, Emu::Remote { .. })
    }

    /// The OP's issuer (its served URL).
    pub fn base_url(&self) -> &BaseUrl {
        match &self.emu {
            Emu::Local(e) => e.base_url(),
            Emu::Remote { base, .. } => base,
        }
    }

    /// The clock the client shares with the OP.
    pub fn clock(&self) -> SharedClock {
        match &self.clock {
            TestClock::Fake(c) => Arc::new(c.clone()),
            TestClock::Synced(c) => c.clone(),
        }
    }

    /// When the scenario began, on the OP's clock (`T0` on the crate's emulator).
    pub fn t0(&self) -> SystemTime {
        self.t0
    }

    /// Moves the shared clock (the OP's and the client's).
    pub async fn advance(&self, by: Duration) {
        match &self.clock {
            TestClock::Fake(c) => c.advance(by),
            TestClock::Synced(c) => {
                assert_eq!(by.subsec_nanos(), 0, "the server's clock moves in seconds");
                c.advance(by).await.unwrap();
            }
        }
    }

    /// After a control command moved the OP's clock: the client's clock follows.
    pub async fn resync(&self) {
        if let TestClock::Synced(c) = &self.clock {
            c.resync().await.unwrap();
        }
    }

    /// `builder` with the HTTP client of this wire.
    pub fn over(&self, builder: ClientBuilder) -> ClientBuilder {
        match (&self.emu, self.wire) {
            (Emu::Local(e), Wire::InProcess) => builder.http_client(e.in_process()),
            _ => builder,
        }
    }

    /// A builder of the default client, on this wire and the shared clock.
    pub fn default_builder(&self) -> ClientBuilder {
        self.client_for(
            &self.client_id,
            ClientAuth::secret_basic(self.client_secret.as_str()),
        )
    }

    /// A client of the OP with its own registration, on this wire and the shared clock.
    pub fn client_for(&self, client_id: &str, auth: ClientAuth) -> ClientBuilder {
        let builder = Client::builder(ClientId::new(client_id).unwrap(), auth)
            .issuer(self.base_url().as_str())
            .clock(self.clock());
        self.over(builder)
    }

    /// The HTTP client a client on this wire uses.
    pub fn http(&self) -> Arc<dyn HttpClient> {
        match (&self.emu, self.wire) {
            (Emu::Local(e), Wire::InProcess) => e.in_process(),
            _ => {
                Arc::new(auth_core::ReqwestClient::new(&auth_core::HttpConfig::default()).unwrap())
            }
        }
    }

    /// A control command.
    pub async fn control(&self, command: Control) -> Result<Value, ControlError> {
        self.ctl
            .answer(command)
            .await
            .unwrap_or_else(|e| panic!("the emulator server: {e}"))
    }

    async fn provider(&self, body: Value) -> Value {
        self.control(Control::Provider { body: body.clone() })
            .await
            .unwrap_or_else(|e| panic!("{body}: {e}"))
    }

    async fn add_user(&self, user: &str) {
        self.control(Control::AddUser {
            user: user.to_owned(),
            details: Value::Null,
        })
        .await
        .unwrap();
        self.users.lock().unwrap().push(user.to_owned());
    }

    /// A user of this scenario who set up `user_code`.
    pub async fn add_user_with_code(&self, prefix: &str, user_code: &str) -> String {
        let user = match &self.emu {
            Emu::Local(_) => prefix.to_owned(),
            Emu::Remote { .. } => unique(prefix),
        };
        match &self.emu {
            Emu::Local(e) => e.add_user_with_code(&user, user_code),
            Emu::Remote { .. } => {
                self.control(Control::AddUser {
                    user: user.clone(),
                    details: json!({"user_code": user_code}),
                })
                .await
                .unwrap();
            }
        }
        self.users.lock().unwrap().push(user.clone());
        user
    }

    /// Counts `user` among this scenario's users (one added through a control command).
    pub fn track(&self, user: &str) {
        self.users.lock().unwrap().push(user.to_owned());
    }

    /// A name for something of this scenario alone (`name` itself on the crate's emulator).
    pub fn name(&self, name: &str) -> String {
        match &self.emu {
            Emu::Local(_) => name.to_owned(),
            Emu::Remote { .. } => unique(name),
        }
    }

    /// Accepts `token` as a `login_hint_token` for `user`.
    pub async fn add_login_hint_token(&self, token: &str, user: &str) {
        match &self.emu {
            Emu::Local(e) => e.add_login_hint_token(token, user),
            Emu::Remote { .. } => {
                self.provider(json!({"login_hint_token": token, "user": user}))
                    .await;
            }
        }
    }

    /// Registers (or replaces) a client.
    pub async fn register_client(&self, client: EmulatedClient) {
        match &self.emu {
            Emu::Local(e) => e.register_client(client),
            Emu::Remote { .. } => {
                self.provider(json!({"register_client": client.registration()}))
                    .await;
            }
        }
    }

    /// Replaces (or with `null`, removes) a member of the discovery document.
    pub async fn set_metadata(&self, name: &str, value: Value) {
        match &self.emu {
            Emu::Local(e) => e.set_metadata(name, value),
            Emu::Remote { .. } => {
                self.provider(json!({"metadata": {name: value}})).await;
            }
        }
    }

    /// The interval announced in acknowledgements.
    pub async fn set_interval(&self, seconds: Option<u64>) {
        match &self.emu {
            Emu::Local(e) => e.set_interval(seconds),
            Emu::Remote { .. } => {
                self.provider(json!({ "interval": seconds })).await;
            }
        }
    }

    /// How long requests stay open unless the client asks for less.
    pub async fn set_expiry(&self, seconds: u64) {
        match &self.emu {
            Emu::Local(e) => e.set_expiry(seconds),
            Emu::Remote { .. } => {
                self.provider(json!({ "expiry": seconds })).await;
            }
        }
    }

    /// Applies `fault` to the next response it concerns.
    pub async fn inject(&self, fault: Fault) {
        match &self.emu {
            Emu::Local(e) => e.inject(fault),
            Emu::Remote { .. } => {
                self.provider(fault_json(&fault)).await;
            }
        }
    }

    /// Plays the user on request `id` with `command` (`approve`, `deny`, `fail`, `expire`).
    async fn answer(&self, id: &AuthReqId, command: Control) -> Result<(), ControlError> {
        let local = match &self.emu {
            Emu::Local(e) => Some(e),
            Emu::Remote { .. } => None,
        };
        match (local, command) {
            (Some(e), Control::Approve { .. }) => e.approve(id).map_err(conflict),
            (Some(e), Control::Deny { .. }) => e.deny(id).map_err(conflict),
            (Some(e), Control::Fail { .. }) => e.fail(id).map_err(conflict),
            (Some(e), Control::Expire { .. }) => e.expire(id).map_err(conflict),
            (_, command) => self.control(command).await.map(|_| ()),
        }
    }

    /// The user approves request `id`.
    pub async fn approve(&self, id: &AuthReqId) -> Result<(), ControlError> {
        self.answer(
            id,
            Control::Approve {
                id: id.as_str().into(),
            },
        )
        .await
    }

    /// The user denies request `id`.
    pub async fn deny(&self, id: &AuthReqId) -> Result<(), ControlError> {
        self.answer(
            id,
            Control::Deny {
                id: id.as_str().into(),
                fraud: false,
                reason: None,
            },
        )
        .await
    }

    /// The authentication fails on the device.
    pub async fn fail(&self, id: &AuthReqId) -> Result<(), ControlError> {
        self.answer(
            id,
            Control::Fail {
                id: id.as_str().into(),
                reason: None,
            },
        )
        .await
    }

    /// Request `id` expires now.
    pub async fn expire(&self, id: &AuthReqId) -> Result<(), ControlError> {
        self.answer(
            id,
            Control::Expire {
                id: id.as_str().into(),
            },
        )
        .await
    }

    /// Delivers the waiting ping and push notifications; each answer's status.
    pub async fn deliver_notifications(&self) -> Vec<u16> {
        match &self.emu {
            Emu::Local(e) => e.deliver_notifications().await.unwrap(),
            Emu::Remote { .. } => {
                let answer = self.provider(json!({"deliver_notifications": true})).await;
                assert_eq!(answer["failed"], json!([]), "{answer}");
                serde_json::from_value(answer["delivered"].clone()).unwrap()
            }
        }
    }

    /// Makes new signing keys current; the new kids.
    pub async fn rotate_keys(&self) -> Vec<String> {
        match &self.emu {
            Emu::Local(e) => e.rotate_keys().unwrap(),
            Emu::Remote { .. } => {
                let answer = self.control(Control::RotateKeys).await.unwrap();
                serde_json::from_value(answer["kids"].clone()).unwrap()
            }
        }
    }

    async fn raw_jwks_fetches(&self) -> usize {
        match &self.emu {
            Emu::Local(e) => e.jwks_fetches(),
            Emu::Remote { .. } => {
                let answer = self.provider(json!({"jwks_fetches": true})).await;
                usize::try_from(answer["jwks_fetches"].as_u64().unwrap()).unwrap()
            }
        }
    }

    /// How often the JWKS was fetched since the scenario began.
    pub async fn jwks_fetches(&self) -> usize {
        self.raw_jwks_fetches().await - self.jwks_before
    }

    /// The requests the OP received since the scenario began, oldest first.
    pub async fn log(&self) -> Vec<LogEntry> {
        self.ctl.log_since(&self.mark).await.unwrap()
    }

    /// The requests logged at `path` since the scenario began, oldest first.
    pub async fn calls(&self, path: &str) -> Vec<LogEntry> {
        self.log()
            .await
            .into_iter()
            .filter(|c| c.path == path)
            .collect()
    }

    /// Whole seconds since the scenario began of each logged request at `path`.
    pub async fn times(&self, path: &str) -> Vec<u64> {
        self.calls(path)
            .await
            .iter()
            .map(|c| c.at.duration_since(self.t0).unwrap().as_secs())
            .collect()
    }

    /// Request `id`, as the OP saw it.
    pub async fn request(&self, id: &AuthReqId) -> Option<Seen> {
        match &self.emu {
            Emu::Local(e) => e.request(id).map(|r| Seen {
                user: r.user,
                binding_message: r.binding_message,
                acr_values: r.acr_values,
                requested_expiry: r.requested_expiry,
                user_code_checked: r.user_code_checked,
                signed: r.signed,
                polls: r.polls,
                interval: r.interval,
                state: r.state,
            }),
            Emu::Remote { .. } => {
                match self
                    .control(Control::Provider {
                        body: json!({"request": id.as_str()}),
                    })
                    .await
                {
                    Ok(v) => Some(seen(&v)),
                    Err(ControlError::NotFound { .. }) => None,
                    Err(e) => panic!("{e}"),
                }
            }
        }
    }

    /// The requests of this scenario's users the OP keeps, oldest first.
    pub async fn requests(&self) -> Vec<Seen> {
        let all: Vec<Seen> = match &self.emu {
            Emu::Local(e) => {
                let mut v = Vec::new();
                for r in e.requests() {
                    v.push(
                        self.request(&AuthReqId::new(r.auth_req_id).unwrap())
                            .await
                            .unwrap(),
                    );
                }
                v
            }
            Emu::Remote { .. } => {
                let answer = self.provider(json!({"requests": true})).await;
                answer.as_array().unwrap().iter().map(seen).collect()
            }
        };
        let users = self.users.lock().unwrap().clone();
        all.into_iter()
            .filter(|r| users.contains(&r.user))
            .collect()
    }

    /// The requests of this scenario's users waiting for them.
    pub async fn pending(&self) -> Vec<PendingStepUp> {
        let all = self.ctl.pending().await.unwrap();
        let users = self.users.lock().unwrap().clone();
        all.into_iter()
            .filter(|p| users.contains(&p.user))
            .collect()
    }
}

fn conflict(e: ciba::emulator::EmulatorError) -> ControlError {
    ControlError::Conflict(e.to_string())
}

/// A request read back from the control API.
fn seen(v: &Value) -> Seen {
    let text = |k: &str| v[k].as_str().map(str::to_owned);
    let state = match v["state"].as_str().unwrap() {
        "pending" => RequestState::Pending,
        "approved" => RequestState::Approved,
        "denied" => RequestState::Denied,
        "failed" => RequestState::Failed,
        "done" => RequestState::Done,
        other => panic!("state {other}"),
    };
    Seen {
        user: text("user").unwrap(),
        binding_message: text("binding_message"),
        acr_values: text("acr_values"),
        requested_expiry: v["requested_expiry"].as_u64(),
        user_code_checked: v["user_code_checked"].as_bool().unwrap(),
        signed: v["signed"].as_bool().unwrap(),
        polls: u32::try_from(v["polls"].as_u64().unwrap()).unwrap(),
        interval: v["interval"].as_u64().unwrap(),
        state,
    }
}

/// The provider command that injects `fault`.
fn fault_json(fault: &Fault) -> Value {
    let name = match fault {
        Fault::OAuthError(status, error) => {
            return json!({"fault": "oauth_error", "status": status, "error": error});
        }
        Fault::Unavailable(retry_after) => {
            return json!({"fault": "unavailable", "retry_after": retry_after});
        }
        Fault::Delay(d) => {
            return json!({"fault": "delay", "ms": u64::try_from(d.as_millis()).unwrap()});
        }
        Fault::SlowDown => "slow_down",
        Fault::WrongIssuer => "wrong_issuer",
        Fault::WrongAudience => "wrong_audience",
        Fault::ExtraAudienceWithoutAzp => "extra_audience_without_azp",
        Fault::WrongAzp => "wrong_azp",
        Fault::ExpiredIdToken => "expired_id_token",
        Fault::FutureIdToken => "future_id_token",
        Fault::BadSignature => "bad_signature",
        Fault::UnknownKid => "unknown_kid",
        Fault::AlgNone => "alg_none",
        Fault::Hs256 => "hs256",
        Fault::WrongAtHash => "wrong_at_hash",
        Fault::MissingAtHash => "missing_at_hash",
        Fault::WrongRtHash => "wrong_rt_hash",
        Fault::MissingRtHash => "missing_rt_hash",
        Fault::WrongAuthReqId => "wrong_auth_req_id",
        Fault::MissingAuthReqId => "missing_auth_req_id",
        Fault::NoIdToken => "no_id_token",
        Fault::NullOptionalFields => "null_optional_fields",
        other => panic!("no provider command for {other:?}"),
    };
    assert_eq!(Fault::from_name(name).as_ref(), Some(fault), "{name}");
    json!({ "fault": name })
}
