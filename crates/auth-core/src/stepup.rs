//! One provider-neutral step-up interface.
//!
//! An application writes its "is this really you?" logic once against [`StepUp`] and runs it
//! on any provider crate: [`StepUp::start`] asks the user on the second channel, [`StepUp::check`]
//! looks at the answer, [`StepUp::wait`] polls until it settles.
//!
//! [`StepUpHandle`] is serializable, so a web application can keep it in its session between
//! two HTTP requests of its own. [`testing::ScriptedStepUp`] is a test double for applications'
//! own tests.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use auth_core::clock::FakeClock;
//! use auth_core::poll::PollConfig;
//! use auth_core::stepup::{testing::ScriptedStepUp, StepUp, StepUpOutcome, StepUpRequest};
//!
//! // Application code, written once for every provider:
//! async fn confirm_payment<S: StepUp>(provider: &S, user: &str, clock: &FakeClock) -> bool
//! where
//!     S::Error: From<auth_core::Error>,
//! {
//!     let request = StepUpRequest::new(user, "Confirm payment", "Pay 120 EUR to ACME?");
//!     let Ok(handle) = provider.start(request).await else { return false };
//!     matches!(
//!         provider.wait(&handle, clock, &PollConfig::default()).await,
//!         Ok(StepUpOutcome::Approved { .. })
//!     )
//! }
//!
//! let double = ScriptedStepUp::new();
//! double.script("alice", 2, StepUpOutcome::approved("test", serde_json::json!({"device": "d1"})));
//! assert!(confirm_payment(&double, "alice", &FakeClock::at_unix(0)).await);
//! # }
//! ```

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::poll::{PollConfig, PollStatus, poll_until};
use crate::{Clock, Error};

/// What to ask the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct StepUpHandle {
    /// The provider crate's name (`"launchkey"`, `"authsignal"`, …).
    pub provider: String,
    /// The provider's id for this step-up (auth request id, action idempotency key, …).
    pub id: String,
    /// The user it was started for.
    pub user: String,
    /// A URL to send the user's browser to, for providers whose challenge happens there.
    pub user_url: Option<String>,
    /// When the provider will stop waiting for the user, if known.
    pub expires_at: Option<SystemTime>,
    /// Provider-specific state needed to check (opaque to the application).
    pub state: serde_json::Value,
}

impl std::fmt::Debug for StepUpHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = self
            .user_url
            .as_deref()
            .map(|u| match u.split_once(['?', '#']) {
                Some((before, _)) => format!("{before}?[redacted]"),
                None => u.to_owned(),
            });
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

/// A step-up provider. Every provider crate implements it.
#[async_trait]
pub trait StepUp: Send + Sync {
    /// The provider crate's error type.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Asks the user on the second channel.
    async fn start(&self, request: StepUpRequest) -> Result<StepUpHandle, Self::Error>;

    /// Looks at the answer once: `Pending`, or `Ready` with the outcome.
    async fn check(&self, handle: &StepUpHandle) -> Result<PollStatus<StepUpOutcome>, Self::Error>;

    /// Polls [`StepUp::check`] until the step-up settles or the deadline passes.
    async fn wait(
        &self,
        handle: &StepUpHandle,
        clock: &dyn Clock,
        poll: &PollConfig,
    ) -> Result<StepUpOutcome, Self::Error>
    where
        Self::Error: From<Error>,
    {
        poll_until(clock, poll, |_| self.check(handle)).await
    }
}

/// Test doubles for applications' tests.
pub mod testing {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    /// A [`StepUp`] that answers from a script: per user, pending for `n` checks, then an
    /// outcome. Unknown users fail to start with [`Error::Config`].
    #[derive(Debug, Default)]
    pub struct ScriptedStepUp {
        scripts: Mutex<HashMap<String, (u32, StepUpOutcome)>>,
        started: Mutex<Vec<StepUpRequest>>,
        checks: Mutex<HashMap<String, u32>>,
    }

    impl ScriptedStepUp {
        /// An empty script.
        pub fn new() -> Self {
            Self::default()
        }

        /// `user` stays pending for `pending_checks` checks, then ends with `outcome`.
        pub fn script(&self, user: &str, pending_checks: u32, outcome: StepUpOutcome) {
            self.scripts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(user.to_owned(), (pending_checks, outcome));
        }

        /// Every request started so far.
        pub fn started(&self) -> Vec<StepUpRequest> {
            self.started
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
        }
    }

    #[async_trait]
    impl StepUp for ScriptedStepUp {
        type Error = Error;

        async fn start(&self, request: StepUpRequest) -> Result<StepUpHandle, Error> {
            if !self
                .scripts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains_key(&request.user)
            {
                return Err(crate::ConfigError::Invalid {
                    name: "user",
                    reason: format!("no script for user `{}`", request.user),
                }
                .into());
            }
            let mut started = self.started.lock().unwrap_or_else(|p| p.into_inner());
            let id = format!("scripted-{}", started.len() + 1);
            let handle = StepUpHandle {
                provider: "scripted".into(),
                id: id.clone(),
                user: request.user.clone(),
                user_url: None,
                expires_at: None,
                state: serde_json::Value::Null,
            };
            started.push(request);
            Ok(handle)
        }

        async fn check(&self, handle: &StepUpHandle) -> Result<PollStatus<StepUpOutcome>, Error> {
            let scripts = self.scripts.lock().unwrap_or_else(|p| p.into_inner());
            let Some((pending, outcome)) = scripts.get(&handle.user) else {
                return Err(Error::Cancelled);
            };
            let mut checks = self.checks.lock().unwrap_or_else(|p| p.into_inner());
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
        use crate::clock::FakeClock;

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
            let clock = FakeClock::at_unix(0);
            let h = d.start(StepUpRequest::new("bob", "t", "m")).await.unwrap();
            let json = serde_json::to_string(&h).unwrap();
            let back: StepUpHandle = serde_json::from_str(&json).unwrap();
            let out = d.wait(&back, &clock, &PollConfig::default()).await.unwrap();
            assert!(matches!(out, StepUpOutcome::Denied { fraud: true, .. }));

            let h = d
                .start(StepUpRequest::new("carol", "t", "m"))
                .await
                .unwrap();
            let cfg = PollConfig::every(Duration::from_secs(1), Duration::from_secs(5));
            let r = d.wait(&h, &clock, &cfg).await;
            assert!(matches!(r, Err(Error::DeadlineExceeded { .. })));

            assert!(
                d.start(StepUpRequest::new("nobody", "t", "m"))
                    .await
                    .is_err()
            );
            assert_eq!(d.started().len(), 2);
        }
    }
}
