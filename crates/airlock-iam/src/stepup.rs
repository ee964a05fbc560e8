//! [`auth_core::StepUp`] for Airlock IAM: raising a logged-in user's authentication level by
//! accessing an application whose flow requires Airlock 2FA.
//!
//! Airlock has no "send this message to the phone" API in the Loginapp: a step-up is the flow
//! engine asking for the second factor when the user's session accesses a more demanding
//! application (documented S19: an application's authentication flow "raises the authentication
//! level"). So [`AirlockStepUp`] needs the user's existing Loginapp session: hand it over with
//! [`AirlockStepUp::attach_session`] after the login. [`StepUpRequest::title`] and
//! [`StepUpRequest::message`] cannot be shown on the phone (no such parameter in the Loginapp
//! REST API); they are ignored.
//!
//! The flows' cookies stay in the `AirlockStepUp` (in memory), and so does the mobile-only
//! `mobileAuthUri`: it carries a Futurae session token, and [`StepUpHandle`] (auth-core's type)
//! prints and serializes every field in clear, so [`StepUpHandle::user_url`] stays `None` and
//! the app gets the URI from [`AirlockStepUp::mobile_auth_uri`] (a redacting type). The handle
//! carries no secret. Each pending step-up is bound to the user it was started for: a handle
//! whose `user` was edited is refused with [`Error::NoSession`].

use std::collections::HashMap;
use std::sync::Mutex;

use auth_core::poll::PollStatus;
use auth_core::{StepUp, StepUpHandle, StepUpOutcome, StepUpRequest, async_trait};
use serde_json::json;

use crate::Error;
use crate::client::{Client, SavedFlow};
use crate::document::MobileAuthUri;
use crate::model::{ApplicationId, Bounded, FlowState, NextAuthStep};

/// The provider name in [`StepUpHandle::provider`].
pub const PROVIDER: &str = "airlock-iam";

/// Step-up through Airlock IAM: see the [module docs](self).
#[derive(Debug)]
pub struct AirlockStepUp {
    client: Client,
    application: ApplicationId,
    sessions: Mutex<HashMap<String, SavedFlow>>,
    /// Pending step-ups by handle id: the user they were started for, and the flow.
    flows: Mutex<HashMap<String, (String, SavedFlow)>>,
    challenges: Mutex<HashMap<String, MobileAuthUri>>,
}

impl AirlockStepUp {
    /// Step-ups access `application` (an application whose flow requires Airlock 2FA).
    pub fn new(client: Client, application: ApplicationId) -> Self {
        AirlockStepUp {
            client,
            application,
            sessions: Mutex::new(HashMap::new()),
            flows: Mutex::new(HashMap::new()),
            challenges: Mutex::new(HashMap::new()),
        }
    }

    /// Registers the logged-in Loginapp session of `user` (from [`crate::Flow::save`] after the
    /// login). After an approved step-up it holds the upgraded session.
    pub fn attach_session(&self, user: &str, session: SavedFlow) {
        lock(&self.sessions).insert(user.to_owned(), session);
    }

    /// The session of `user` (upgraded after an approved step-up).
    pub fn session(&self, user: &str) -> Option<SavedFlow> {
        lock(&self.sessions).get(user).cloned()
    }

    /// The `mobileAuthUri` of a pending mobile-only step-up, to open on the phone (app-to-app)
    /// or to hand to the Futurae SDK; `None` for other factors and once the step-up settled.
    pub fn mobile_auth_uri(&self, handle: &StepUpHandle) -> Option<MobileAuthUri> {
        lock(&self.challenges).get(&handle.id).cloned()
    }

    /// Drives the flow after the application access until the user has something to answer.
    async fn prepare(
        &self,
        flow: &crate::Flow,
        mut state: FlowState,
    ) -> Result<Option<MobileAuthUri>, Error> {
        for _ in 0..4 {
            match state {
                FlowState::Done => return Ok(None),
                FlowState::Next(NextAuthStep::Airlock2faMobileOnlyChallengeRetrievalRequired) => {
                    let challenge = flow.retrieve_mobile_only_challenge().await?;
                    return Ok(Some(challenge.uri));
                }
                FlowState::Next(ref step) if step.is_polling() => return Ok(None),
                FlowState::Next(NextAuthStep::Airlock2faDeviceChoiceRequired) => {
                    let devices = flow.retrieve_devices().await?;
                    let device = devices
                        .iter()
                        .find(|d| d.has_capability("ONE_TOUCH"))
                        .or_else(|| devices.first())
                        .ok_or(Error::UnsupportedStep {
                            step: NextAuthStep::Airlock2faDeviceChoiceRequired,
                        })?;
                    let step = flow.select_device(&device.id).await?;
                    state = match step.next {
                        Some(next) => FlowState::Next(next),
                        None => FlowState::Done,
                    };
                }
                FlowState::Next(step) => return Err(Error::UnsupportedStep { step }),
                FlowState::Start => {
                    return Err(Error::UnsupportedStep {
                        step: NextAuthStep::PasswordRequired,
                    });
                }
            }
        }
        Err(Error::UnsupportedStep {
            step: NextAuthStep::Airlock2faDeviceChoiceRequired,
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[async_trait]
impl StepUp for AirlockStepUp {
    type Error = Error;

    async fn start(&self, request: StepUpRequest) -> Result<StepUpHandle, Error> {
        let session = self
            .session(&request.user)
            .ok_or_else(|| Error::NoSession {
                user: request.user.clone(),
            })?;
        let flow = self.client.resume(session)?;
        let state = flow.access_application(&self.application).await?;
        if state == FlowState::Next(NextAuthStep::PasswordRequired) {
            // The attached session is not logged in (any more).
            return Err(Error::NoSession { user: request.user });
        }
        let challenge = self.prepare(&flow, state).await?;
        let id = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let saved = flow.save();
        let handle = StepUpHandle {
            provider: PROVIDER.into(),
            id: id.clone(),
            user: request.user,
            user_url: None,
            expires_at: None,
            state: json!({
                "application": self.application.as_str(),
                "step": saved.state,
                "sessionId": saved.session_id,
            }),
        };
        if let Some(uri) = challenge {
            lock(&self.challenges).insert(id.clone(), uri);
        }
        lock(&self.flows).insert(id, (handle.user.clone(), saved));
        Ok(handle)
    }

    async fn check(&self, handle: &StepUpHandle) -> Result<PollStatus<StepUpOutcome>, Error> {
        // The handle may have travelled through the application's storage: its `user` is
        // checked against the user the step-up was started for, so an edited handle cannot
        // attach someone else's upgraded session to another user.
        let saved = match lock(&self.flows).get(&handle.id) {
            Some((user, saved)) if *user == handle.user => saved.clone(),
            _ => {
                return Err(Error::NoSession {
                    user: handle.user.clone(),
                });
            }
        };
        let flow = self.client.resume(saved.clone())?;
        let settled = |outcome| {
            lock(&self.flows).remove(&handle.id);
            lock(&self.challenges).remove(&handle.id);
            Ok(PollStatus::Ready(outcome))
        };
        if saved.state == FlowState::Done {
            self.attach_session(&handle.user, flow.save());
            return settled(StepUpOutcome::approved(
                PROVIDER,
                json!({"application": self.application.as_str(), "sessionId": saved.session_id}),
            ));
        }
        let answer = flow.poll().await;
        match answer {
            Ok(PollStatus::Ready(step)) if step.is_done() => {
                self.attach_session(&handle.user, flow.save());
                settled(StepUpOutcome::approved(
                    PROVIDER,
                    json!({"application": self.application.as_str(), "sessionId": step.id}),
                ))
            }
            Ok(PollStatus::Ready(step)) => settled(StepUpOutcome::Failed {
                reason: format!(
                    "the flow continues at step {}",
                    Bounded(
                        step.next
                            .as_ref()
                            .map(NextAuthStep::as_str)
                            .unwrap_or_default()
                    )
                ),
            }),
            Err(Error::Rejected { document }) => settled(StepUpOutcome::Denied {
                fraud: false,
                reason: Some(Bounded(document.code().as_str()).to_string()),
            }),
            Err(Error::TimedOut { .. }) => settled(StepUpOutcome::Expired),
            Ok(pending) => {
                // Still pending (a rate-limited poll included, with the server's hint): keep
                // the (possibly refreshed) cookies.
                lock(&self.flows).insert(handle.id.clone(), (handle.user.clone(), flow.save()));
                let retry_after = match pending {
                    PollStatus::Pending { retry_after } => retry_after,
                    _ => None,
                };
                Ok(PollStatus::Pending { retry_after })
            }
            Err(e) => {
                lock(&self.flows).insert(handle.id.clone(), (handle.user.clone(), flow.save()));
                Err(e)
            }
        }
    }
}
