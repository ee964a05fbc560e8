//! One provider-neutral step-up contract.
//!
//! An application writes its "is this really you?" logic once against [`StepUp`] and runs it
//! on any provider crate:
//! - [`StepUp::capabilities`] says, before anything is sent, what the provider needs: whether
//!   [`StepUp::start`] blocks until the user answers, whether the user's browser must go
//!   somewhere, whether a handle survives a process restart, how the answer arrives.
//! - [`StepUp::start`] asks the user and says what to do next ([`Started`]): wait for the answer
//!   ([`Started::Pending`]), send the browser to a URL ([`Started::Redirect`]), or nothing: the
//!   answer is already there ([`Started::Settled`]).
//! - [`StepUp::check`] looks at the answer once; [`StepUp::wait`] polls until it settles, on
//!   the provider client's own clock.
//!
//! The rules are the same for every provider, written once here: a handle of another provider
//! is refused ([`Error::ForeignHandle`]) before anything is sent; a rate limit (HTTP 429 after
//! the transport's retries) keeps the step-up pending, with the server's hint, until the
//! deadline; errors are classified the same way ([`Classify`]).
//!
//! [`StepUpHandle`] is serializable, so a web application can keep it in its session between
//! two HTTP requests of its own (where [`Capabilities::portable_handle`] says so, in another
//! process too). [`testing::ScriptedStepUp`] is a test double for applications' own tests.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use auth_core::poll::PollConfig;
//! use auth_core::stepup::{testing::ScriptedStepUp, Started, StepUp, StepUpOutcome, StepUpRequest};
//!
//! // Application code, written once for every provider: no extra bounds needed.
//! async fn confirm_payment<S: StepUp>(provider: &S, user: &str) -> Result<bool, S::Error> {
//!     let request = StepUpRequest::new(user, "Confirm payment", "Pay 120 EUR to ACME?");
//!     let outcome = match provider.start(request).await? {
//!         Started::Settled { outcome, .. } => outcome,
//!         Started::Pending(handle) => provider.wait(&handle, &PollConfig::default()).await?,
//!         // A browser-based provider: send the user to `url`, check when they come back.
//!         Started::Redirect { .. } => return Ok(false),
//!         _ => return Ok(false),
//!     };
//!     Ok(outcome.is_approved())
//! }
//!
//! let double = ScriptedStepUp::new();
//! double.script("alice", 2, StepUpOutcome::approved("test", serde_json::json!({"device": "d1"})));
//! assert!(confirm_payment(&double, "alice").await.unwrap());
//! # }
//! ```

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::poll::{PollConfig, PollStatus, poll_until};
use crate::{Classify, Clock, Error, ErrorKind, SystemClock, Transport};

/// What to ask the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StepUpRequest {
    /// The provider's user identifier.
    pub user: String,
    /// A short title (push notification title, page heading).
    pub title: String,
    /// The question or context shown to the user.
    pub message: String,
    /// How long the user has to answer (the provider's default when `None`).
    pub ttl: Option<Duration>,
}

impl StepUpRequest {
    /// A request with the provider's default time to live.
    pub fn new(
        user: impl Into<String>,
        title: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        StepUpRequest {
            user: user.into(),
            title: title.into(),
            message: message.into(),
            ttl: None,
        }
    }

    /// Sets the time to live.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }
}

/// A started step-up: enough to check it later, and to show the user where to go if needed.
///
/// Its `Debug` output is safe for logs: the query of `user_url` (challenge URLs carry tokens
/// there) and the provider `state` are redacted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StepUpHandle {
    /// The provider crate's name (`"launchkey"`, `"authsignal"`, …).
    pub provider: String,
    /// The provider's id for this step-up (auth request id, action idempotency key, …).
    pub id: String,
    /// The user it was started for.
    pub user: String,
    /// A URL to send the user's browser to, for providers whose challenge happens there.
    #[serde(default)]
    pub user_url: Option<String>,
    /// When the provider will stop waiting for the user, if known.
    #[serde(default)]
    pub expires_at: Option<SystemTime>,
    /// Provider-specific state needed to check (opaque to the application).
    #[serde(default)]
    pub state: serde_json::Value,
}

impl StepUpHandle {
    /// A handle of `provider` for its step-up `id`, started for `user`.
    pub fn new(provider: &str, id: impl Into<String>, user: impl Into<String>) -> Self {
        StepUpHandle {
            provider: provider.to_owned(),
            id: id.into(),
            user: user.into(),
            user_url: None,
            expires_at: None,
            state: serde_json::Value::Null,
        }
    }

    /// Sets the URL the user's browser goes to.
    pub fn with_user_url(mut self, url: impl Into<String>) -> Self {
        self.user_url = Some(url.into());
        self
    }

    /// Sets when the provider stops waiting for the user.
    pub fn with_expiry(mut self, at: SystemTime) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Sets the provider-specific state.
    pub fn with_state(mut self, state: serde_json::Value) -> Self {
        self.state = state;
        self
    }
}

impl std::fmt::Debug for StepUpHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = self.user_url.as_deref().map(crate::base_url::redact_url);
        f.debug_struct("StepUpHandle")
            .field("provider", &self.provider)
            .field("id", &self.id)
            .field("user", &self.user)
            .field("user_url", &url)
            .field("expires_at", &self.expires_at)
            .field("state", &"[redacted]")
            .finish()
    }
}

/// What [`StepUp::start`] tells the application to do next. `Debug` redacts the redirect URL's
/// query, as [`StepUpHandle`]'s does.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum Started {
    /// The user was asked on their device: [`StepUp::wait`] (or [`StepUp::check`] now and
    /// then) for the answer.
    Pending(StepUpHandle),
    /// Send the user's browser to `url`; when it comes back, [`StepUp::check`] reads the answer.
    Redirect {
        /// Keep it (in the web session) to check the answer.
        handle: StepUpHandle,
        /// Where the browser goes (it may carry a token: do not log it whole).
        url: String,
    },
    /// The answer came before `start` returned (providers whose request blocks until the user
    /// answers); nothing to wait for.
    Settled {
        /// The step-up's handle ([`StepUp::check`] returns the same outcome).
        handle: StepUpHandle,
        /// How it ended.
        outcome: StepUpOutcome,
    },
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Started::Pending(handle) => f.debug_tuple("Pending").field(handle).finish(),
            Started::Redirect { handle, url } => f
                .debug_struct("Redirect")
                .field("handle", handle)
                .field("url", &crate::base_url::redact_url(url))
                .finish(),
            Started::Settled { handle, outcome } => f
                .debug_struct("Settled")
                .field("handle", handle)
                .field("outcome", outcome)
                .finish(),
        }
    }
}

impl Started {
    /// The step-up's handle, whatever comes next.
    pub fn handle(&self) -> &StepUpHandle {
        match self {
            Started::Pending(handle)
            | Started::Redirect { handle, .. }
            | Started::Settled { handle, .. } => handle,
        }
    }

    /// Takes the handle, whatever comes next.
    pub fn into_handle(self) -> StepUpHandle {
        match self {
            Started::Pending(handle)
            | Started::Redirect { handle, .. }
            | Started::Settled { handle, .. } => handle,
        }
    }

    /// The outcome, when it is already settled.
    pub fn outcome(&self) -> Option<&StepUpOutcome> {
        match self {
            Started::Settled { outcome, .. } => Some(outcome),
            _ => None,
        }
    }

    /// Where the browser must go, when it must.
    pub fn redirect_url(&self) -> Option<&str> {
        match self {
            Started::Redirect { url, .. } => Some(url),
            _ => None,
        }
    }
}

/// What a provider needs from an application, known before anything is sent.
///
/// ```
/// use auth_core::stepup::Capabilities;
///
/// let c = Capabilities::new().pollable().webhook().portable_handle();
/// assert!(c.pollable && c.webhook && c.portable_handle);
/// assert!(!c.start_blocks && !c.needs_browser);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// [`StepUp::start`] waits for the user's answer (up to the provider's timeout) and returns
    /// [`Started::Settled`]: run it where a long request is fine.
    pub start_blocks: bool,
    /// The user answers in a browser page the application sends them to
    /// ([`Started::Redirect`]).
    pub needs_browser: bool,
    /// A handle, serialized, can be checked by another process or after a restart.
    pub portable_handle: bool,
    /// The answer can be polled with [`StepUp::check`] / [`StepUp::wait`].
    pub pollable: bool,
    /// The provider can also push the answer to the application's webhook.
    pub webhook: bool,
}

impl Capabilities {
    /// Nothing yet: add each capability with its method.
    pub const fn new() -> Self {
        Capabilities {
            start_blocks: false,
            needs_browser: false,
            portable_handle: false,
            pollable: false,
            webhook: false,
        }
    }

    /// `start` blocks until the answer.
    pub const fn start_blocks(mut self) -> Self {
        self.start_blocks = true;
        self
    }

    /// The user answers in a browser.
    pub const fn needs_browser(mut self) -> Self {
        self.needs_browser = true;
        self
    }

    /// Handles survive a process restart.
    pub const fn portable_handle(mut self) -> Self {
        self.portable_handle = true;
        self
    }

    /// The answer can be polled.
    pub const fn pollable(mut self) -> Self {
        self.pollable = true;
        self
    }

    /// The answer can arrive by webhook.
    pub const fn webhook(mut self) -> Self {
        self.webhook = true;
        self
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities::new()
    }
}

/// How a step-up ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StepUpOutcome {
    /// The user approved.
    Approved {
        /// The provider's evidence (device id, signature, action state…), for audit logs.
        evidence: Evidence,
    },
    /// The user (or the provider's rules) said no.
    Denied {
        /// The user flagged the request as fraud (they did not start it).
        fraud: bool,
        /// Why, when the provider says.
        reason: Option<String>,
    },
    /// Nobody answered in time.
    Expired,
    /// The step-up could not be completed (the user cannot use the factor, an error on the
    /// phone, a cancelled request…).
    Failed {
        /// Why.
        reason: String,
    },
}

impl StepUpOutcome {
    /// An approval with evidence.
    pub fn approved(provider: &str, details: serde_json::Value) -> Self {
        StepUpOutcome::Approved {
            evidence: Evidence {
                provider: provider.to_owned(),
                details,
            },
        }
    }

    /// Whether the user approved.
    pub fn is_approved(&self) -> bool {
        matches!(self, StepUpOutcome::Approved { .. })
    }
}

/// What a provider offers as proof of an approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The provider crate's name.
    pub provider: String,
    /// Provider-specific details (never secrets).
    pub details: serde_json::Value,
}

/// Refuses a handle that another provider made (or that was edited to say so).
pub fn ensure_provider(expected: &'static str, handle: &StepUpHandle) -> Result<(), Error> {
    if handle.provider == expected {
        return Ok(());
    }
    Err(Error::ForeignHandle {
        expected,
        found: handle.provider.chars().take(32).collect(),
    })
}

/// A step-up provider. Every provider crate's `Client` implements it (onegini-model's
/// `OneginiStepUp`, which holds the in-app PIN or fingerprint prompt).
///
/// Implementors write [`StepUp::provider`], [`StepUp::capabilities`],
/// [`StepUp::transport`], [`StepUp::begin`] and [`StepUp::check_handle`] ([`StepUp::clock`]
/// is the transport's); applications call
/// [`StepUp::start`], [`StepUp::check`] and [`StepUp::wait`], which are the same for everyone
/// and should not be overridden.
///
/// `start` and `check` run each call in one slot of the provider's [`Transport`]
/// ([`Transport::admitted`]): a call is made only once it has its slot, so 10,000 step-ups
/// waiting on one client hold no built request and no connection. Two exceptions: a `start`
/// that waits for the user ([`Capabilities::start_blocks`]) holds no slot, and a provider with
/// no transport (`None`, test doubles) runs its calls unadmitted.
#[async_trait]
pub trait StepUp: Send + Sync {
    /// The provider crate's error type: classified, and able to hold the shared errors.
    type Error: std::error::Error + Classify + From<Error> + Send + Sync + 'static;

    /// The provider's name, as written in its handles (`"launchkey"`, …).
    fn provider(&self) -> &'static str;

    /// What the provider needs from the application.
    fn capabilities(&self) -> Capabilities;

    /// The client's clock ([`StepUp::wait`] sleeps on it; tests inject a fake one): the
    /// transport's, or the system clock for a provider with none.
    fn clock(&self) -> &dyn Clock {
        match self.transport() {
            Some(transport) => transport.clock().as_ref(),
            None => &SystemClock,
        }
    }

    /// The client's transport, whose slots admit this provider's calls
    /// ([`Transport::admitted`]); `None` (test doubles with no transport) runs them
    /// unadmitted, each request taking a slot of its own. A `start` that waits for the user
    /// ([`Capabilities::start_blocks`]) is never admitted: it would hold its slot, and queue
    /// every other call, for as long as the user takes.
    fn transport(&self) -> Option<&Transport>;

    /// The provider's way to ask the user, for [`StepUp::start`] to run once admitted. Call
    /// [`StepUp::start`] instead.
    async fn begin(&self, request: StepUpRequest) -> Result<Started, Self::Error>;

    /// Asks the user on the second channel, and says what comes next.
    async fn start(&self, request: StepUpRequest) -> Result<Started, Self::Error> {
        match self.transport() {
            Some(transport) if !self.capabilities().start_blocks => {
                transport.admitted(|| self.begin(request)).await
            }
            _ => self.begin(request).await,
        }
    }

    /// The provider's one look at the answer, for a handle [`StepUp::check`] has already
    /// matched to this provider. Call [`StepUp::check`] instead.
    async fn check_handle(
        &self,
        handle: &StepUpHandle,
    ) -> Result<PollStatus<StepUpOutcome>, Self::Error>;

    /// Looks at the answer once: `Pending` (with the server's hint, if any), or `Ready` with the
    /// outcome. A handle of another provider is refused before anything is sent; a rate limit
    /// is `Pending`, not an error, and so is a check that got no slot of the client's within
    /// its timeout (it asked nothing).
    async fn check(&self, handle: &StepUpHandle) -> Result<PollStatus<StepUpOutcome>, Self::Error> {
        ensure_provider(self.provider(), handle)?;
        let checked = match self.transport() {
            Some(transport) => match transport.try_admitted(|| self.check_handle(handle)).await {
                Ok(Some(status)) => Ok(status),
                // No slot came free in time: nothing was asked, the step-up is still pending.
                Ok(None) => return Ok(PollStatus::pending()),
                Err(e) => Err(e),
            },
            None => self.check_handle(handle).await,
        };
        match checked {
            Err(e) if e.kind() == ErrorKind::RateLimited => Ok(PollStatus::Pending {
                retry_after: e.retry_after(),
            }),
            other => other,
        }
    }

    /// Polls [`StepUp::check`] on the client's clock until the step-up settles, or until the
    /// deadline ([`Error::DeadlineExceeded`]) or a server hint past it
    /// ([`Error::HintBeyondDeadline`]).
    async fn wait(
        &self,
        handle: &StepUpHandle,
        poll: &PollConfig,
    ) -> Result<StepUpOutcome, Self::Error> {
        poll_until(self.clock(), poll, |_| self.check(handle)).await
    }
}

/// Test doubles for applications' tests.
pub mod testing {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::sync::lock;

    /// A [`StepUp`] that answers from a script: per user, pending for `n` checks, then an
    /// outcome. Unknown users fail to start with [`Error::Config`]. It polls on its own
    /// [`crate::FakeClock`], so `wait` takes no real time.
    #[derive(Debug)]
    pub struct ScriptedStepUp {
        scripts: Mutex<HashMap<String, (u32, StepUpOutcome)>>,
        started: Mutex<Vec<StepUpRequest>>,
        checks: Mutex<HashMap<String, u32>>,
        clock: Arc<crate::FakeClock>,
    }

    impl Default for ScriptedStepUp {
        fn default() -> Self {
            ScriptedStepUp {
                scripts: Mutex::default(),
                started: Mutex::default(),
                checks: Mutex::default(),
                clock: Arc::new(crate::FakeClock::at_unix(1_700_000_000)),
            }
        }
    }

    /// The provider name in the double's handles.
    pub const PROVIDER: &str = "scripted";

    impl ScriptedStepUp {
        /// An empty script.
        pub fn new() -> Self {
            Self::default()
        }

        /// `user` stays pending for `pending_checks` checks, then ends with `outcome`.
        pub fn script(&self, user: &str, pending_checks: u32, outcome: StepUpOutcome) {
            lock(&self.scripts).insert(user.to_owned(), (pending_checks, outcome));
        }

        /// Every request started so far.
        pub fn started(&self) -> Vec<StepUpRequest> {
            lock(&self.started).clone()
        }

        /// The double's clock.
        pub fn fake_clock(&self) -> &crate::FakeClock {
            &self.clock
        }
    }

    #[async_trait]
    impl StepUp for ScriptedStepUp {
        type Error = Error;

        fn provider(&self) -> &'static str {
            PROVIDER
        }

        fn capabilities(&self) -> Capabilities {
            Capabilities::new().pollable().portable_handle()
        }

        fn clock(&self) -> &dyn Clock {
            &*self.clock
        }

        fn transport(&self) -> Option<&Transport> {
            None
        }

        async fn begin(&self, request: StepUpRequest) -> Result<Started, Error> {
            if !lock(&self.scripts).contains_key(&request.user) {
                return Err(crate::ConfigError::Invalid {
                    name: "user",
                    reason: format!("no script for user `{}`", request.user),
                }
                .into());
            }
            let mut started = lock(&self.started);
            let id = format!("scripted-{}", started.len() + 1);
            let handle = StepUpHandle::new(PROVIDER, id, request.user.clone());
            started.push(request);
            Ok(Started::Pending(handle))
        }

        async fn check_handle(
            &self,
            handle: &StepUpHandle,
        ) -> Result<PollStatus<StepUpOutcome>, Error> {
            let scripts = lock(&self.scripts);
            let Some((pending, outcome)) = scripts.get(&handle.user) else {
                return Err(Error::Cancelled);
            };
            let mut checks = lock(&self.checks);
            let seen = checks.entry(handle.id.clone()).or_insert(0);
            *seen += 1;
            if *seen <= *pending {
                Ok(PollStatus::pending())
            } else {
                Ok(PollStatus::Ready(outcome.clone()))
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[tokio::test]
        async fn double_runs_each_outcome() {
            let d = ScriptedStepUp::new();
            d.script(
                "bob",
                0,
                StepUpOutcome::Denied {
                    fraud: true,
                    reason: Some("not me".into()),
                },
            );
            d.script("carol", 100, StepUpOutcome::Expired);
            let h = d
                .start(StepUpRequest::new("bob", "t", "m"))
                .await
                .unwrap()
                .into_handle();
            let json = serde_json::to_string(&h).unwrap();
            let back: StepUpHandle = serde_json::from_str(&json).unwrap();
            let out = d.wait(&back, &PollConfig::default()).await.unwrap();
            assert!(matches!(out, StepUpOutcome::Denied { fraud: true, .. }));

            let h = d
                .start(StepUpRequest::new("carol", "t", "m"))
                .await
                .unwrap()
                .into_handle();
            let cfg = PollConfig::every(Duration::from_secs(1), Duration::from_secs(5));
            let r = d.wait(&h, &cfg).await;
            assert!(matches!(r, Err(Error::DeadlineExceeded { .. })));
            // The double's own clock moved; no real time passed.
            assert!(!d.fake_clock().sleeps().is_empty());

            assert!(
                d.start(StepUpRequest::new("nobody", "t", "m"))
                    .await
                    .is_err()
            );
            assert_eq!(d.started().len(), 2);
        }

        #[test]
        fn a_redirect_shows_no_token_in_debug() {
            let url = "https://ui.example/challenge?token=eyJsecret";
            let handle = StepUpHandle::new("p", "1", "u").with_user_url(url);
            let shown = format!(
                "{:?}",
                Started::Redirect {
                    handle,
                    url: url.into()
                }
            );
            assert!(!shown.contains("eyJsecret"), "{shown}");
            assert!(shown.contains("ui.example/challenge"), "{shown}");
        }

        #[tokio::test]
        async fn a_foreign_handle_is_refused_before_anything_is_sent() {
            let d = ScriptedStepUp::new();
            d.script("bob", 0, StepUpOutcome::Expired);
            let mut h = d
                .start(StepUpRequest::new("bob", "t", "m"))
                .await
                .unwrap()
                .into_handle();
            h.provider = "launchkey".into();
            let err = d.check(&h).await.unwrap_err();
            assert!(matches!(err, Error::ForeignHandle { .. }), "{err:?}");
            assert_eq!(err.kind(), ErrorKind::Configuration);
            assert!(lock(&d.checks).is_empty());
        }

        /// A provider whose checks are rate limited twice, then approved.
        struct RateLimited {
            clock: crate::FakeClock,
            calls: Mutex<u32>,
        }

        #[async_trait]
        impl StepUp for RateLimited {
            type Error = Error;
            fn provider(&self) -> &'static str {
                "limited"
            }
            fn capabilities(&self) -> Capabilities {
                Capabilities::new().pollable()
            }
            fn clock(&self) -> &dyn Clock {
                &self.clock
            }
            fn transport(&self) -> Option<&Transport> {
                None
            }
            async fn begin(&self, r: StepUpRequest) -> Result<Started, Error> {
                Ok(Started::Pending(StepUpHandle::new("limited", "1", r.user)))
            }
            async fn check_handle(
                &self,
                _: &StepUpHandle,
            ) -> Result<PollStatus<StepUpOutcome>, Error> {
                let mut n = lock(&self.calls);
                *n += 1;
                if *n <= 2 {
                    Err(Error::status(429, b"slow down", &[]))
                } else {
                    Ok(PollStatus::Ready(StepUpOutcome::approved(
                        "limited",
                        serde_json::Value::Null,
                    )))
                }
            }
        }

        #[tokio::test]
        async fn a_rate_limit_keeps_the_step_up_pending() {
            let p = RateLimited {
                clock: crate::FakeClock::at_unix(0),
                calls: Mutex::new(0),
            };
            let h = p
                .start(StepUpRequest::new("u", "t", "m"))
                .await
                .unwrap()
                .into_handle();
            assert_eq!(p.check(&h).await.unwrap(), PollStatus::pending());
            let out = p
                .wait(
                    &h,
                    &PollConfig::every(Duration::from_secs(1), Duration::from_secs(30)),
                )
                .await
                .unwrap();
            assert!(out.is_approved());
        }

        /// A provider with a transport of two slots whose calls take a while.
        struct Slow {
            transport: Transport,
            /// Whether its `start` waits for the user.
            blocks: bool,
            running: std::sync::atomic::AtomicU32,
            most: std::sync::atomic::AtomicU32,
        }

        impl Slow {
            async fn work(&self) {
                use std::sync::atomic::Ordering::SeqCst;
                let now = self.running.fetch_add(1, SeqCst) + 1;
                self.most.fetch_max(now, SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                self.running.fetch_sub(1, SeqCst);
            }
        }

        #[async_trait]
        impl StepUp for Slow {
            type Error = Error;
            fn provider(&self) -> &'static str {
                "slow"
            }
            fn capabilities(&self) -> Capabilities {
                if self.blocks {
                    Capabilities::new().start_blocks()
                } else {
                    Capabilities::new().pollable()
                }
            }
            fn clock(&self) -> &dyn Clock {
                self.transport.clock().as_ref()
            }
            fn transport(&self) -> Option<&Transport> {
                Some(&self.transport)
            }
            async fn begin(&self, r: StepUpRequest) -> Result<Started, Error> {
                self.work().await;
                Ok(Started::Pending(StepUpHandle::new("slow", "1", r.user)))
            }
            async fn check_handle(
                &self,
                _: &StepUpHandle,
            ) -> Result<PollStatus<StepUpOutcome>, Error> {
                self.work().await;
                Ok(PollStatus::pending())
            }
        }

        /// An HTTP client for a provider that sends nothing (whatever the crate's features).
        fn never_called() -> std::sync::Arc<dyn crate::HttpClient> {
            std::sync::Arc::new(|_: crate::HttpRequest| async {
                Err::<crate::HttpResponse, _>(crate::TransportError::new(
                    crate::TransportErrorKind::Connect,
                    "this provider sends nothing",
                ))
            })
        }

        /// `start` and `check` run in the provider transport's slots: never more calls at
        /// once than it has slots.
        #[tokio::test]
        async fn start_and_check_are_admitted_by_the_providers_transport() {
            let transport = Transport::builder(crate::BaseUrl::parse("https://x.example").unwrap())
                .http_client(never_called())
                .max_in_flight(2)
                .build()
                .unwrap();
            let p = std::sync::Arc::new(Slow {
                transport,
                blocks: false,
                running: 0.into(),
                most: 0.into(),
            });
            let mut tasks = Vec::new();
            for i in 0..6 {
                let p = p.clone();
                tasks.push(tokio::spawn(async move {
                    let h = p
                        .start(StepUpRequest::new(format!("u{i}"), "t", "m"))
                        .await
                        .unwrap()
                        .into_handle();
                    p.check(&h).await.unwrap()
                }));
            }
            for t in tasks {
                assert_eq!(t.await.unwrap(), PollStatus::pending());
            }
            assert_eq!(p.most.load(std::sync::atomic::Ordering::SeqCst), 2);
        }

        /// A `start` that waits for the user is not admitted, whatever the transport's slots:
        /// held for as long as the user takes, it would queue every other call.
        #[tokio::test]
        async fn a_start_that_waits_for_the_user_holds_no_slot() {
            let transport = Transport::builder(crate::BaseUrl::parse("https://x.example").unwrap())
                .http_client(never_called())
                .max_in_flight(1)
                .build()
                .unwrap();
            let p = std::sync::Arc::new(Slow {
                transport,
                blocks: true,
                running: 0.into(),
                most: 0.into(),
            });
            let starts: Vec<_> = (0..4)
                .map(|i| {
                    let p = p.clone();
                    tokio::spawn(async move {
                        p.start(StepUpRequest::new(format!("u{i}"), "t", "m")).await
                    })
                })
                .collect();
            for started in starts {
                started.await.unwrap().unwrap();
            }
            assert_eq!(p.most.load(std::sync::atomic::Ordering::SeqCst), 4);
        }

        /// A check that gets no slot within the transport's timeout asked nothing: the
        /// step-up is still pending, and `wait` goes on.
        #[tokio::test]
        async fn a_check_with_no_slot_in_time_is_pending_not_an_error() {
            let transport = Transport::builder(crate::BaseUrl::parse("https://x.example").unwrap())
                .http_client(never_called())
                .max_in_flight(1)
                .config(crate::HttpConfig {
                    timeout: Duration::from_millis(100),
                    ..crate::HttpConfig::default()
                })
                .build()
                .unwrap();
            let p = std::sync::Arc::new(Slow {
                transport,
                blocks: false,
                running: 0.into(),
                most: 0.into(),
            });
            let hog = {
                let p = p.clone();
                tokio::spawn(async move {
                    p.transport
                        .admitted(|| async {
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            Ok::<_, Error>(())
                        })
                        .await
                })
            };
            tokio::time::sleep(Duration::from_millis(20)).await;
            let h = StepUpHandle::new("slow", "1", "u");
            assert_eq!(p.check(&h).await.unwrap(), PollStatus::pending());
            assert_eq!(
                p.most.load(std::sync::atomic::Ordering::SeqCst),
                0,
                "not made"
            );
            hog.await.unwrap().unwrap();
        }
    }
}
