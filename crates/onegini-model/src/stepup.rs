//! [`auth_core::StepUp`] for the Onegini model.
//!
//! **Choice** (the spec has no push/step-up flow in scope: mobile authentication is §1.11, out of
//! scope): a step-up is *"the user proves presence on this device again"* — authenticating the
//! registered profile with its preferred authenticator (PIN, or fingerprint with PIN fallback)
//! through the app's handlers, which is a fresh refresh grant against the Token Server.
//! [`StepUpRequest::user`] is the **profile id**; the app shows the request's title and message
//! in its PIN or fingerprint prompt.
//!
//! The authentication completes inside [`StepUp::start`]; [`StepUp::check`] then returns the
//! recorded outcome at once (never `Pending`). Outcomes: success → `Approved` (evidence: profile
//! id and authenticator); the user denied → `Denied`; attempts exhausted (9003, the profile is
//! removed) → `Failed`. Other errors are returned as errors.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use auth_core::{PollStatus, StepUp, StepUpHandle, StepUpOutcome, StepUpRequest};

use crate::client::{Client, FingerprintHandler, PinAuthenticationHandler, UserProfile};
use crate::crypto::random_hex;
use crate::error::Error;
use auth_core::sync::lock;

/// The provider name in [`StepUpHandle::provider`].
pub const PROVIDER: &str = "onegini-model";

/// A [`StepUp`] over a [`Client`] and the app's authentication handlers.
#[derive(Clone)]
pub struct OneginiStepUp {
    client: Client,
    pin: Arc<dyn PinAuthenticationHandler>,
    fingerprint: Option<Arc<dyn FingerprintHandler>>,
    outcomes: Arc<Mutex<HashMap<String, StepUpOutcome>>>,
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
            outcomes: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

#[async_trait]
impl StepUp for OneginiStepUp {
    type Error = Error;

    async fn start(&self, request: StepUpRequest) -> Result<StepUpHandle, Error> {
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
        lock(&self.outcomes).insert(id.clone(), outcome);
        Ok(StepUpHandle {
            provider: PROVIDER.into(),
            id,
            user: request.user,
            user_url: None,
            expires_at: None,
            state: serde_json::json!({ "profile_id": profile.profile_id() }),
        })
    }

    async fn check(&self, handle: &StepUpHandle) -> Result<PollStatus<StepUpOutcome>, Error> {
        if handle.provider != PROVIDER {
            return Err(Error::InvalidRequest("not an onegini-model step-up".into()));
        }
        lock(&self.outcomes)
            .get(&handle.id)
            .cloned()
            .map(PollStatus::Ready)
            .ok_or_else(|| Error::InvalidRequest(format!("unknown step-up {}", handle.id)))
    }
}
