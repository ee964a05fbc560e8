//! [`auth_core::StepUp`] for the Onegini model: re-authentication of a registered profile
//! through the app's handlers (the choice is explained in [`crate::docs::step_up`]).

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use auth_core::sync::lock;
use auth_core::{
    Capabilities, PollStatus, Started, StepUp, StepUpHandle, StepUpOutcome, StepUpRequest,
};

use crate::client::{Client, FingerprintHandler, PinAuthenticationHandler, UserProfile};
use crate::crypto::random_hex;
use crate::error::Error;

/// The provider name in [`StepUpHandle::provider`].
pub(crate) const PROVIDER: &str = "onegini-model";

/// How many settled step-ups a [`OneginiStepUp`] remembers for [`StepUp::check`] (the oldest
/// are forgotten first).
pub(crate) const SETTLED_KEPT: usize = 64;

/// A [`StepUp`] over a [`Client`] and the app's authentication handlers: a step-up is the
/// user authenticating their profile again on this device (PIN, or fingerprint with PIN
/// fallback), a fresh refresh grant at the Token Server.
///
/// * The request's `user` is the **profile id** ([`UserProfile::profile_id`]). The handlers
///   are the app's own: it shows the request's title and message with its PIN or fingerprint
///   prompt.
/// * [`StepUp::start`] asks the user through the handlers and returns when they answered:
///   always [`Started::Settled`]. Success is `Approved` (evidence: profile id and
///   authenticator), a denied prompt is `Denied`, attempts exhausted (9003, the profile is
///   removed) is `Failed`; other failures are errors.
/// * [`StepUp::capabilities`]: `start_blocks` only. Nothing is pending at the server, so there
///   is nothing to poll and no webhook; no browser is involved; the outcome is kept in this
///   value's memory (the last 64), so a handle is not portable to another process.
///   [`StepUp::check`] repeats the settled outcome for a handle this value started.
#[derive(Clone)]
pub struct OneginiStepUp {
    client: Client,
    pin: Arc<dyn PinAuthenticationHandler>,
    fingerprint: Option<Arc<dyn FingerprintHandler>>,
    settled: Arc<Mutex<VecDeque<(String, StepUpOutcome)>>>,
}

impl fmt::Debug for OneginiStepUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneginiStepUp")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl OneginiStepUp {
    /// A step-up provider asking through `pin` (and `fingerprint`, when the profile prefers it).
    pub fn new(
        client: Client,
        pin: Arc<dyn PinAuthenticationHandler>,
        fingerprint: Option<Arc<dyn FingerprintHandler>>,
    ) -> Self {
        OneginiStepUp {
            client,
            pin,
            fingerprint,
            settled: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    fn remember(&self, id: &str, outcome: &StepUpOutcome) {
        let mut settled = lock(&self.settled);
        if settled.len() == SETTLED_KEPT {
            settled.pop_front();
        }
        settled.push_back((id.to_owned(), outcome.clone()));
    }
}

#[async_trait]
impl StepUp for OneginiStepUp {
    type Error = Error;

    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new().start_blocks()
    }

    /// The client's transport. `start` waits for the user's PIN or fingerprint in the app
    /// ([`Capabilities::start_blocks`]), so it is not admitted; its requests take a slot each.
    fn transport(&self) -> Option<&auth_core::Transport> {
        Some(self.client.transport())
    }

    async fn begin(&self, request: StepUpRequest) -> Result<Started, Error> {
        let profile = UserProfile::new(request.user.clone());
        if !self.client.is_user_registered(&profile)? {
            return Err(Error::InvalidRequest(format!(
                "profile {profile} is not registered"
            )));
        }
        let result = self
            .client
            .authenticate_user(&profile, self.pin.as_ref(), self.fingerprint.as_deref())
            .await;
        let outcome = match result {
            Ok(p) => {
                let authenticator = self
                    .client
                    .preferred_authenticator(&p)
                    .map(|a| format!("{a:?}").to_lowercase())
                    .unwrap_or_else(|_| "pin".into());
                StepUpOutcome::approved(
                    PROVIDER,
                    serde_json::json!({ "profile_id": p.profile_id(), "authenticator": authenticator }),
                )
            }
            Err(Error::ActionCanceled(reason)) => StepUpOutcome::Denied {
                fraud: false,
                reason: Some(reason.to_owned()),
            },
            Err(e @ Error::UserDeregistered { .. }) => StepUpOutcome::Failed {
                reason: e.to_string(),
            },
            Err(e) => return Err(e),
        };
        let id = format!("su-{}", random_hex(12)?);
        self.remember(&id, &outcome);
        let handle = StepUpHandle::new(PROVIDER, id, request.user)
            .with_state(serde_json::json!({ "profile_id": profile.profile_id() }));
        Ok(Started::Settled { handle, outcome })
    }

    async fn check_handle(
        &self,
        handle: &StepUpHandle,
    ) -> Result<PollStatus<StepUpOutcome>, Error> {
        lock(&self.settled)
            .iter()
            .rev()
            .find(|(id, _)| id == &handle.id)
            .map(|(_, outcome)| PollStatus::Ready(outcome.clone()))
            .ok_or_else(|| {
                let id: String = handle.id.chars().take(32).collect();
                Error::InvalidRequest(format!(
                    "unknown step-up {id} (not started here, or forgotten)"
                ))
            })
    }
}
