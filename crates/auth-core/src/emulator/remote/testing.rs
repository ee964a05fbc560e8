//! What a provider crate's conformance suite uses to run one scenario three ways: over a
//! loopback socket, in process (no socket), and against the `oob-auth-emulator` server binary.
//!
//! - [`Wire`]: which of the three a scenario runs on.
//! - [`Controller`]: the one test-side handle on the emulator behind it — the crate's own
//!   model, or the server binary — whose every call is a [`Control`] command (the same words
//!   reach both), its errors [`RemoteError`]s either way.
//! - [`Controller::connect`]: the server binary at `OOB_EMULATOR_URL` (failing loudly without
//!   it) and the provider's entry of `GET /providers` ([`ProviderInfo`]).
//! - [`LogMark`]: where the request log stood, to read what a scenario sent since.
//! - [`unique`]: names no other scenario (or run against the same shared server) uses.
//! - [`needs_emulator_server!`](crate::needs_emulator_server): the `binary::` tests, ignored
//!   unless `cargo xtask conformance --binary` runs them.
//!
//! A provider crate keeps its own helpers (approve by user name, read a passcode, …) as thin
//! wrappers over [`Controller::control`] and [`Controller::provider`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), auth_core::emulator::RemoteError> {
//! use auth_core::emulator::testing::{Controller, Wire};
//! # use auth_core::emulator::{Control, ControlError, Model, PendingStepUp};
//! # use auth_core::{HttpRequest, HttpResponse};
//! # struct Toy;
//! # #[auth_core::async_trait]
//! # impl Model for Toy {
//! #     fn provider(&self) -> &'static str { "toy" }
//! #     async fn handle(&self, _: HttpRequest) -> HttpResponse { http::Response::new(Vec::new()) }
//! #     fn control(&self, command: Control) -> Result<serde_json::Value, ControlError> {
//! #         Err(ControlError::Unsupported { provider: "toy", command: command.name() })
//! #     }
//! #     fn pending(&self) -> Vec<PendingStepUp> { Vec::new() }
//! # }
//!
//! async fn controller(wire: Wire) -> Result<Controller, auth_core::emulator::RemoteError> {
//!     Ok(match wire {
//!         Wire::Socket | Wire::InProcess => Controller::local(std::sync::Arc::new(Toy)),
//!         // Fails loudly when OOB_EMULATOR_URL is not set.
//!         Wire::Binary => Controller::connect("toy").await?.0,
//!     })
//! }
//!
//! let emu = controller(Wire::InProcess).await?;
//! assert!(emu.pending().await?.is_empty());
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::{RemoteEmulator, RemoteError, now_of};
use crate::BaseUrl;
use crate::emulator::{Control, ControlError, LogEntry, Model, PendingStepUp};

/// How a conformance scenario's client reaches the emulator.
///
/// ```
/// use auth_core::emulator::testing::Wire;
///
/// assert!(Wire::Binary.is_binary());
/// assert!(!Wire::InProcess.is_binary() && !Wire::Socket.is_binary());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_enums,
    reason = "every suite matches on the wires: a new one must make each say how it runs there"
)]
pub enum Wire {
    /// The crate's emulator on a loopback port: real HTTP.
    Socket,
    /// The crate's emulator's model, called in process (`Emulator::in_process()`: no socket).
    InProcess,
    /// The `oob-auth-emulator` server binary whose control URL is in `OOB_EMULATOR_URL`.
    Binary,
}

impl Wire {
    /// Whether this is the server binary.
    pub fn is_binary(self) -> bool {
        self == Wire::Binary
    }
}

/// A name no other scenario, nor another run against the same server, uses:
/// `<prefix>-<process id, hex>-<nanoseconds, hex>-<counter>`.
///
/// ```
/// use auth_core::emulator::testing::unique;
///
/// let (a, b) = (unique("alice"), unique("alice"));
/// assert!(a.starts_with("alice-") && b.starts_with("alice-"));
/// assert_ne!(a, b);
/// ```
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{:x}-{nanos:x}-{n}", std::process::id())
}

/// Declares the `binary::` tests of a conformance suite: each `async fn` becomes a
/// `#[tokio::test]` ignored with the one text every suite gives ("needs the emulator server:
/// cargo xtask conformance --binary"), which `cargo xtask conformance --binary` runs (it starts
/// the server and sets `OOB_EMULATOR_URL`). Attributes written before a function stay on it.
///
/// (`#[ignore = …]` takes a literal only: a constant or a macro there loses the text.)
///
/// ```
/// mod binary {
///     auth_core::needs_emulator_server! {
///         /// Runs against the server at `OOB_EMULATOR_URL`.
///         async fn a_scenario() {
///             assert_eq!(1 + 1, 2);
///         }
///         async fn another() {}
///     }
/// }
/// ```
#[macro_export]
macro_rules! needs_emulator_server {
    ($($(#[$attr:meta])* async fn $name:ident() $body:block)*) => {
        $(
            $(#[$attr])*
            #[::tokio::test]
            #[ignore = "needs the emulator server: cargo xtask conformance --binary"]
            async fn $name() $body
        )*
    };
}

/// One provider's entry of the server's `GET /providers` (what `--print-json` prints for it:
/// `base_url`, `api_url`, ids, keys, secrets), as [`Controller::connect`] reads it. Its
/// `Debug` names the keys only: the values hold secrets.
///
/// ```
/// use auth_core::emulator::testing::ProviderInfo;
///
/// let info = ProviderInfo::new("toy", serde_json::json!({
///     "api_url": "http://127.0.0.1:4701/v1", "secret": "s3cr3t", "port": 4701
/// }));
/// assert_eq!(info.text("secret").unwrap(), "s3cr3t");
/// assert_eq!(info.url("api_url").unwrap().path(), "/v1");
/// assert_eq!(info.json()["port"], 4701);
/// // Absent, or not text: an error that names what is missing (never the values).
/// let e = info.text("port").unwrap_err().to_string();
/// assert!(e.contains("toy.port") && !e.contains("s3cr3t"), "{e}");
/// assert!(info.url("secret").is_err());
/// assert!(!format!("{info:?}").contains("s3cr3t"));
/// ```
#[derive(Clone)]
pub struct ProviderInfo {
    provider: String,
    info: Value,
}

impl std::fmt::Debug for ProviderInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self
            .info
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        f.debug_struct("ProviderInfo")
            .field("provider", &self.provider)
            .field("keys", &keys)
            .finish()
    }
}

impl ProviderInfo {
    /// `provider`'s entry `info`.
    pub fn new(provider: &str, info: Value) -> Self {
        ProviderInfo {
            provider: provider.to_owned(),
            info,
        }
    }

    /// The entry as JSON.
    pub fn json(&self) -> &Value {
        &self.info
    }

    /// The text at `key`.
    pub fn text(&self, key: &str) -> Result<&str, RemoteError> {
        self.info[key].as_str().ok_or_else(|| RemoteError::Decode {
            what: "providers",
            reason: format!("GET /providers has no text {}.{key}", self.provider),
        })
    }

    /// The URL at `key` (`base_url`, `api_url`, `issuer`, …).
    pub fn url(&self, key: &str) -> Result<BaseUrl, RemoteError> {
        BaseUrl::parse(self.text(key)?).map_err(|e| RemoteError::Decode {
            what: "providers",
            reason: format!("{}.{key} is not a URL: {e}", self.provider),
        })
    }
}

/// Where a request log stood: what came after it is what a scenario sent since
/// ([`Controller::log_since`]). The default mark stands before every entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogMark(Option<LogEntry>);

/// The emulator a scenario runs against, as the test drives it: the crate's own model (in this
/// process) or one provider of the `oob-auth-emulator` server binary (through its control API).
/// Every call is a [`Control`] command, so the same words reach both; a refusal is the model's
/// [`ControlError`] either way ([`RemoteError::Control`]).
#[derive(Clone)]
pub struct Controller {
    provider: String,
    target: Target,
}

#[derive(Clone)]
enum Target {
    Local(Arc<dyn Model>),
    Remote(RemoteEmulator),
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("Controller");
        s.field("provider", &self.provider);
        match &self.target {
            Target::Local(_) => s.field("target", &"in process"),
            Target::Remote(r) => s.field("target", r),
        };
        s.finish()
    }
}

impl Controller {
    /// The crate's own model, called in this process (the socket and in-process wires share
    /// it: `Emulator::model()`).
    pub fn local(model: Arc<dyn Model>) -> Self {
        Controller {
            provider: model.provider().to_owned(),
            target: Target::Local(model),
        }
    }

    /// `provider` on the server binary behind `server`.
    pub fn remote(server: RemoteEmulator, provider: &str) -> Self {
        Controller {
            provider: provider.to_owned(),
            target: Target::Remote(server),
        }
    }

    /// `provider` on the server binary whose control URL is in `OOB_EMULATOR_URL`, and its
    /// entry of `GET /providers` (`base_url`, `api_url`, ids, keys, secrets). Without the
    /// variable: [`RemoteError::NotConfigured`], whose text says how to start the server (a
    /// `binary::` scenario fails with it, loudly, never passes).
    #[cfg(feature = "reqwest")]
    pub async fn connect(provider: &str) -> Result<(Self, ProviderInfo), RemoteError> {
        let server = RemoteEmulator::from_env()?;
        let info = ProviderInfo::new(provider, server.provider_info(provider).await?);
        Ok((Controller::remote(server, provider), info))
    }

    /// The provider's name (`"launchkey"`, …).
    pub fn provider_name(&self) -> &str {
        &self.provider
    }

    /// Whether this is the server binary.
    pub fn is_remote(&self) -> bool {
        matches!(self.target, Target::Remote(_))
    }

    /// The server binary's handle (for what only it has: `providers`, …); `None` in process.
    pub fn remote_emulator(&self) -> Option<&RemoteEmulator> {
        match &self.target {
            Target::Local(_) => None,
            Target::Remote(r) => Some(r),
        }
    }

    /// Runs `command`, in process or on the server: its JSON answer, or the model's refusal
    /// as [`RemoteError::Control`].
    pub async fn control(&self, command: Control) -> Result<Value, RemoteError> {
        match &self.target {
            Target::Local(model) => model.control(command).map_err(RemoteError::from),
            Target::Remote(server) => server.control(&self.provider, &command).await,
        }
    }

    /// Runs `command`: `Ok` with the model's own outcome (its answer or its refusal), `Err`
    /// only when the server could not run it at all (not there, no such provider, …).
    pub async fn answer(
        &self,
        command: Control,
    ) -> Result<Result<Value, ControlError>, RemoteError> {
        match self.control(command).await {
            Ok(answer) => Ok(Ok(answer)),
            Err(RemoteError::Control(refusal)) => Ok(Err(refusal)),
            Err(e) => Err(e),
        }
    }

    /// A provider-specific command (`{"command": "provider", "body": …}`).
    pub async fn provider(&self, body: Value) -> Result<Value, RemoteError> {
        self.control(Control::Provider { body }).await
    }

    /// The step-ups waiting for the user, oldest first, with the text the user sees.
    pub async fn pending(&self) -> Result<Vec<PendingStepUp>, RemoteError> {
        match &self.target {
            Target::Local(model) => Ok(model.pending()),
            Target::Remote(server) => server.pending(&self.provider).await,
        }
    }

    /// The provider's most recent requests (method, path, status), oldest first.
    pub async fn read_log(&self) -> Result<Vec<LogEntry>, RemoteError> {
        match &self.target {
            Target::Local(model) => {
                let answer = model.control(Control::ReadLog { limit: None })?;
                super::decode("read_log", answer)
            }
            Target::Remote(server) => server.read_log(&self.provider).await,
        }
    }

    /// Where the request log stands now.
    pub async fn log_mark(&self) -> Result<LogMark, RemoteError> {
        Ok(LogMark(self.read_log().await?.pop()))
    }

    /// The requests logged since `mark`, oldest first (all that are kept when the log no
    /// longer holds the mark).
    pub async fn log_since(&self, mark: &LogMark) -> Result<Vec<LogEntry>, RemoteError> {
        let log = self.read_log().await?;
        let Some(last) = &mark.0 else { return Ok(log) };
        Ok(match log.iter().rposition(|e| e == last) {
            Some(i) => log[i + 1..].to_vec(),
            None => log,
        })
    }

    /// Moves the emulator's clock forward by `seconds` (on the server: its one clock, every
    /// provider's); its time afterwards.
    pub async fn advance_clock(&self, seconds: u64) -> Result<SystemTime, RemoteError> {
        match &self.target {
            Target::Local(model) => {
                let answer = model.control(Control::AdvanceClock { seconds })?;
                now_of("advance_clock", answer)
            }
            Target::Remote(server) => server.advance_clock(seconds).await,
        }
    }

    /// The emulator's time (in process: what a zero-second [`Controller::advance_clock`]
    /// answers).
    pub async fn now(&self) -> Result<SystemTime, RemoteError> {
        match &self.target {
            Target::Local(_) => self.advance_clock(0).await,
            Target::Remote(server) => server.now().await,
        }
    }
}

/// A client's clock that shares the emulator's time, for scenarios whose client and emulator
/// must agree on it (against the server binary, whose one clock runs on real time): it shows
/// the emulator's time (real time plus how far the emulator's clock was moved), and a sleep
/// moves the emulator's clock by as much (rounded up to whole seconds, as it moves), at once.
/// Every sleep is recorded ([`SyncedClock::sleeps`]).
#[derive(Debug)]
pub struct SyncedClock {
    emulator: Controller,
    /// How far the emulator's clock is ahead of real time.
    offset: std::sync::Mutex<Duration>,
    sleeps: std::sync::Mutex<Vec<Duration>>,
}

impl SyncedClock {
    /// A clock showing `emulator`'s time now.
    pub async fn of(emulator: Controller) -> Result<Arc<SyncedClock>, RemoteError> {
        let clock = Arc::new(SyncedClock {
            emulator,
            offset: std::sync::Mutex::new(Duration::ZERO),
            sleeps: std::sync::Mutex::new(Vec::new()),
        });
        clock.resync().await?;
        Ok(clock)
    }

    /// Reads the emulator's time again (after a command moved its clock).
    pub async fn resync(&self) -> Result<(), RemoteError> {
        let now = self.emulator.now().await?;
        self.follow(now);
        Ok(())
    }

    /// Moves the emulator's clock (and this one) by `by`, rounded up to whole seconds.
    pub async fn advance(&self, by: Duration) -> Result<(), RemoteError> {
        let seconds = by.as_secs() + u64::from(by.subsec_nanos() > 0);
        let now = self.emulator.advance_clock(seconds).await?;
        self.follow(now);
        Ok(())
    }

    /// Every sleep so far, as asked.
    pub fn sleeps(&self) -> Vec<Duration> {
        crate::sync::lock(&self.sleeps).clone()
    }

    fn follow(&self, emulator_now: SystemTime) {
        *crate::sync::lock(&self.offset) = emulator_now
            .duration_since(SystemTime::now())
            .unwrap_or_default();
    }
}

#[async_trait::async_trait]
impl crate::Clock for SyncedClock {
    fn now(&self) -> SystemTime {
        SystemTime::now() + *crate::sync::lock(&self.offset)
    }

    /// Moves the emulator's clock by `duration` at once. A clock is infallible: an emulator
    /// that cannot move its clock fails the test here.
    #[allow(clippy::panic)]
    async fn sleep(&self, duration: Duration) {
        crate::sync::lock(&self.sleeps).push(duration);
        if !duration.is_zero()
            && let Err(e) = self.advance(duration).await
        {
            panic!("the emulator's clock did not move: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::emulator::{RequestLog, clock_answer, pending_answer};
    use crate::{HttpRequest, HttpResponse};
    use std::sync::Mutex;
    use std::time::Duration;

    /// A model with a clock, a log and one pending step-up that approving settles.
    struct Toy {
        now: Mutex<SystemTime>,
        log: RequestLog,
        pending: Mutex<Vec<PendingStepUp>>,
    }

    fn toy() -> Arc<Toy> {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let log = RequestLog::default();
        for path in ["/a", "/b"] {
            log.record(t0, "GET", path, 200);
        }
        Arc::new(Toy {
            now: Mutex::new(t0),
            log,
            pending: Mutex::new(vec![PendingStepUp::new("toy", "r1", "alice", "Pay", t0)]),
        })
    }

    #[async_trait::async_trait]
    impl Model for Toy {
        fn provider(&self) -> &'static str {
            "toy"
        }
        async fn handle(&self, _: HttpRequest) -> HttpResponse {
            http::Response::new(Vec::new())
        }
        fn control(&self, command: Control) -> Result<Value, ControlError> {
            match command {
                Control::Approve { id } => {
                    let mut pending = self.pending.lock().unwrap();
                    let before = pending.len();
                    pending.retain(|p| p.id != id);
                    if pending.len() == before {
                        return Err(ControlError::NotFound {
                            what: "step-up",
                            id,
                        });
                    }
                    Ok(serde_json::json!({ "approved": id }))
                }
                Control::Provider { body } => Ok(serde_json::json!({ "echo": body })),
                Control::AdvanceClock { seconds } => {
                    let mut now = self.now.lock().unwrap();
                    *now += Duration::from_secs(seconds);
                    Ok(clock_answer(*now))
                }
                Control::ReadLog { limit } => self.log.read(limit),
                Control::ListPending => pending_answer(&self.pending()),
                other => Err(ControlError::Unsupported {
                    provider: "toy",
                    command: other.name(),
                }),
            }
        }
        fn pending(&self) -> Vec<PendingStepUp> {
            self.pending.lock().unwrap().clone()
        }
    }

    #[tokio::test]
    async fn in_process_every_call_is_a_control_command() {
        let model = toy();
        let emu = Controller::local(model.clone());
        assert_eq!(emu.provider_name(), "toy");
        assert!(!emu.is_remote() && emu.remote_emulator().is_none());

        assert_eq!(emu.pending().await.unwrap()[0].id, "r1");
        let approve = |id: &str| Control::Approve { id: id.into() };
        assert_eq!(
            emu.control(approve("r1")).await.unwrap(),
            serde_json::json!({"approved": "r1"})
        );
        assert!(emu.pending().await.unwrap().is_empty());
        // The model's refusal, both ways of asking.
        let refusal = ControlError::NotFound {
            what: "step-up",
            id: "r1".into(),
        };
        match emu.control(approve("r1")).await {
            Err(RemoteError::Control(e)) => assert_eq!(e, refusal),
            other => panic!("{other:?}"),
        }
        assert_eq!(emu.answer(approve("r1")).await.unwrap(), Err(refusal));
        assert_eq!(
            emu.provider(serde_json::json!({"x": 1})).await.unwrap(),
            serde_json::json!({"echo": {"x": 1}})
        );
        assert!(matches!(
            emu.control(Control::RotateKeys).await,
            Err(RemoteError::Control(ControlError::Unsupported { .. }))
        ));
    }

    #[tokio::test]
    async fn in_process_the_log_and_the_clock_are_read() {
        let model = toy();
        let emu = Controller::local(model.clone());
        let log = emu.read_log().await.unwrap();
        assert_eq!(log, model.log.recent(None));
        assert_eq!(log.len(), 2);

        let mark = emu.log_mark().await.unwrap();
        assert!(emu.log_since(&mark).await.unwrap().is_empty());
        assert_eq!(emu.log_since(&LogMark::default()).await.unwrap(), log);
        let t0 = *model.now.lock().unwrap();
        model.log.record(t0, "POST", "/c", 201);
        let since = emu.log_since(&mark).await.unwrap();
        assert_eq!(since.len(), 1);
        assert_eq!((since[0].path.as_str(), since[0].status), ("/c", 201));
        // A mark the log no longer holds: all that is kept.
        let gone = LogMark(Some(LogEntry {
            at: UNIX_EPOCH,
            method: "GET".into(),
            path: "/gone".into(),
            status: 200,
        }));
        assert_eq!(emu.log_since(&gone).await.unwrap().len(), 3);

        assert_eq!(emu.now().await.unwrap(), t0);
        assert_eq!(
            emu.advance_clock(60).await.unwrap(),
            t0 + Duration::from_secs(60)
        );
        assert_eq!(emu.now().await.unwrap(), t0 + Duration::from_secs(60));
    }

    #[cfg(feature = "reqwest")]
    #[tokio::test]
    async fn on_the_server_the_same_calls_go_through_the_control_api() {
        let (server, model) = super::super::tests::remote().await;
        let emu = Controller::remote(server, "launchkey");
        assert!(emu.is_remote());
        assert_eq!(emu.provider_name(), "launchkey");
        assert!(emu.remote_emulator().is_some());
        assert!(format!("{emu:?}").contains("launchkey"));

        let ok = emu.control(Control::Approve { id: "r1".into() }).await;
        assert_eq!(ok.unwrap(), serde_json::json!({"approved": "r1"}));
        assert_eq!(*model.approved.lock().unwrap(), ["r1"]);
        let refused = emu.answer(Control::Approve { id: "gone".into() }).await;
        assert!(matches!(refused, Ok(Err(ControlError::NotFound { .. }))));

        let pending = emu.pending().await.unwrap();
        assert_eq!(
            (pending[0].id.as_str(), pending[0].user.as_str()),
            ("r1", "alice")
        );
        let log = emu.read_log().await.unwrap();
        assert_eq!(log[0].path, "/service/v3/auths");
        let mark = emu.log_mark().await.unwrap();
        assert!(emu.log_since(&mark).await.unwrap().is_empty());
        assert_eq!(
            emu.advance_clock(60).await.unwrap(),
            UNIX_EPOCH + Duration::from_secs(1_700_000_060)
        );
        // The fake answers `GET /clock` with no JSON: a decode error, not a panic.
        assert!(matches!(emu.now().await, Err(RemoteError::Decode { .. })));

        // A provider the server does not serve: the server's error, not a refusal.
        let (server, _) = super::super::tests::remote().await;
        let other = Controller::remote(server, "ciba");
        assert!(matches!(
            other.answer(Control::RotateKeys).await,
            Err(RemoteError::UnknownProvider { .. })
        ));
    }
}
