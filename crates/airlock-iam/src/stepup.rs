//! [`auth_core::StepUp`] for [`Client`]: see [`crate::docs::step_up`].

use std::collections::HashMap;
use std::sync::Mutex;

use auth_core::poll::PollStatus;
use auth_core::stepup::{Capabilities, Started};
use auth_core::sync::lock;
use auth_core::{StepUp, StepUpHandle, StepUpOutcome, StepUpRequest, async_trait};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::Error;
use crate::client::{Client, Flow, SavedFlow};
use crate::document::{MobileAuthUri, QrCode};
use crate::error::invalid;
use crate::model::{ApplicationId, Bounded, ErrorCode, FlowState, NextAuthStep, SessionToken};

/// The provider name in [`StepUpHandle::provider`].
pub const PROVIDER: &str = "airlock-iam";

/// The format version of the handle's `state`.
const STATE_VERSION: u32 = 1;

/// The step-up interface's part of a [`Client`]: the application it accesses and the users'
/// sessions.
#[derive(Debug)]
pub(crate) struct StepUpState {
    application: Option<ApplicationId>,
    sessions: Mutex<HashMap<String, SavedFlow>>,
}

impl StepUpState {
    pub(crate) fn new(application: Option<ApplicationId>) -> Self {
        StepUpState {
            application,
            sessions: Mutex::new(HashMap::new()),
        }
    }
}

/// What the handle's `state` holds (validated when read back).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HandleState {
    /// [`STATE_VERSION`].
    v: u32,
    /// The handle's id and user, again: a handle whose `id` or `user` was changed is refused.
    id: String,
    user: String,
    application: ApplicationId,
    flow: SavedFlow,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mobile_auth_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    qr_code: Option<StoredQr>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredQr {
    id: String,
    image: String,
}

/// What the user answers with.
enum Prompt {
    /// A push (or nothing to show: the app waits).
    None,
    MobileOnly(MobileAuthUri),
    Qr(QrCode),
}

impl Client {
    /// Registers the logged-in Loginapp session of `user` (from [`Flow::save`] after the
    /// login), for [`StepUp::start`]. After an approved step-up checked by this client it holds
    /// the upgraded session. Sessions live in this client (and its clones) until
    /// [`Client::detach_session`].
    pub fn attach_session(&self, user: &str, session: SavedFlow) {
        lock(&self.inner.step_up.sessions).insert(user.to_owned(), session);
    }

    /// The session of `user` (upgraded after an approved step-up).
    pub fn session(&self, user: &str) -> Option<SavedFlow> {
        lock(&self.inner.step_up.sessions).get(user).cloned()
    }

    /// Forgets the session of `user` (e.g. at logout), returning it.
    pub fn detach_session(&self, user: &str) -> Option<SavedFlow> {
        lock(&self.inner.step_up.sessions).remove(user)
    }

    /// The application the step-up interface accesses, if configured.
    pub fn step_up_application(&self) -> Option<&ApplicationId> {
        self.inner.step_up.application.as_ref()
    }

    /// The `mobileAuthUri` of a mobile-only step-up, to open on the phone (app-to-app) or to
    /// hand to the Futurae SDK; `None` for other factors (or a handle that is not this
    /// provider's).
    pub fn step_up_mobile_auth_uri(&self, handle: &StepUpHandle) -> Option<MobileAuthUri> {
        let state = read_state(handle).ok()?;
        MobileAuthUri::parse(state.mobile_auth_uri.as_deref()?).ok()
    }

    /// The QR code of an online-QR step-up, for the app to show (the user scans it with the
    /// Airlock 2FA app); `None` for other factors.
    pub fn step_up_qr_code(&self, handle: &StepUpHandle) -> Option<QrCode> {
        let qr = read_state(handle).ok()?.qr_code?;
        Some(QrCode::new(qr.id, SessionToken::new(qr.image)))
    }

    /// The step-up's flow, resumed from the handle (validated like [`Client::resume`]): to let
    /// the user answer another way, e.g. [`Flow::switch_to_offline`] and
    /// [`Flow::check_passcode`] when their phone has no network. [`StepUp::check`] then finds
    /// the flow finished and confirms it with the server.
    pub fn step_up_flow(&self, handle: &StepUpHandle) -> Result<Flow, Error> {
        let state = self.validated(handle)?;
        self.resume(state.flow)
    }

    /// Reads and validates a handle's state for this client.
    fn validated(&self, handle: &StepUpHandle) -> Result<HandleState, Error> {
        let state = read_state(handle)?;
        if state.id != handle.id || state.user != handle.user {
            return Err(invalid(
                "step-up handle",
                "its id or user does not match its state",
            ));
        }
        if let Some(app) = self.step_up_application()
            && *app != state.application
        {
            return Err(invalid(
                "step-up handle",
                "it accesses another application than this client's step-up application",
            ));
        }
        Ok(state)
    }

    /// Drives the flow after the application access until the user has something to answer.
    async fn prepare(&self, flow: &Flow, mut state: FlowState) -> Result<Prompt, Error> {
        // Device choice is the only step driven before the user's answer; one round suffices
        // (a second choice would be a server loop).
        for _ in 0..2 {
            match state {
                FlowState::Done => return Ok(Prompt::None),
                FlowState::Next(NextAuthStep::Airlock2faMobileOnlyChallengeRetrievalRequired) => {
                    let challenge = flow.retrieve_mobile_only_challenge().await?;
                    return Ok(Prompt::MobileOnly(challenge.uri));
                }
                FlowState::Next(NextAuthStep::Airlock2faPollingRequired) => {
                    // Online QR polls with this code (unconfirmed, spec §9 #5): fetch its code
                    // for the app to show; a step without one answers UNEXPECTED_CALL.
                    return match flow.retrieve_qr_code().await {
                        Ok(qr) if qr.image.is_some() => Ok(Prompt::Qr(qr)),
                        Ok(_) => Ok(Prompt::None),
                        Err(e) if matches!(e.code(), Some(ErrorCode::UnexpectedCall)) => {
                            Ok(Prompt::None)
                        }
                        Err(e) => Err(e),
                    };
                }
                FlowState::Next(ref step) if step.is_polling() => return Ok(Prompt::None),
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

    /// The approval: the user's upgraded session goes to this client's sessions.
    fn approved(&self, user: &str, application: &ApplicationId, flow: &Flow) -> StepUpOutcome {
        let saved = flow.save();
        let evidence = json!({
            "application": application.as_str(),
            "sessionId": saved.session_id,
        });
        self.attach_session(user, saved);
        StepUpOutcome::approved(PROVIDER, evidence)
    }

    /// Asks the server whether the flow's session reaches the application now (after the
    /// flow ended without this poll seeing how).
    async fn confirm(
        &self,
        user: &str,
        application: &ApplicationId,
        flow: &Flow,
        unanswered: Error,
    ) -> Result<PollStatus<StepUpOutcome>, Error> {
        match flow.access_application(application).await? {
            FlowState::Done => Ok(PollStatus::Ready(self.approved(user, application, flow))),
            _ => Err(unanswered),
        }
    }
}

fn read_state(handle: &StepUpHandle) -> Result<HandleState, Error> {
    let state = HandleState::deserialize(&handle.state).map_err(|_| {
        invalid(
            "step-up handle",
            "its state is not an airlock-iam step-up state",
        )
    })?;
    if state.v != STATE_VERSION {
        return Err(invalid(
            "step-up handle",
            format!("unknown state version {}", state.v),
        ));
    }
    Ok(state)
}

/// Start never blocks (the push is sent, or the user is shown a link or a code), the user
/// answers on their phone, not in a browser page of the provider; the handle is portable and
/// the answer is polled. No webhook: the Loginapp has none.
const CAPABILITIES: Capabilities = Capabilities::new().pollable().portable_handle();

#[async_trait]
impl StepUp for Client {
    type Error = Error;

    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    /// The client's transport: `start` and `check` run in its slots.
    fn transport(&self) -> Option<&auth_core::Transport> {
        Some(Client::transport(self))
    }

    /// Accesses the step-up application with the user's attached session. Already authorized:
    /// [`Started::Settled`] (approved). Otherwise device choice is made (the first One-Touch
    /// device) and the mobile-only challenge or online QR code fetched, and the step-up is
    /// [`Started::Pending`]: a One-Touch push was sent, or the app shows the user the
    /// [`Client::step_up_mobile_auth_uri`] / [`Client::step_up_qr_code`].
    ///
    /// Errors: no step-up application configured, no (logged-in) session for the user
    /// ([`Error::NoSession`]), a step it cannot drive ([`Error::UnsupportedStep`]: e.g. a
    /// generic OTP to type), and every error of the calls.
    async fn begin(&self, request: StepUpRequest) -> Result<Started, Error> {
        let application = self.step_up_application().cloned().ok_or_else(|| {
            invalid(
                "step_up_application",
                "a step-up needs ClientBuilder::step_up_application",
            )
        })?;
        let session = self
            .session(&request.user)
            .ok_or_else(|| Error::NoSession {
                user: request.user.clone(),
            })?;
        let flow = self.resume(session)?;
        let access = flow.access_application(&application).await?;
        if access == FlowState::Next(NextAuthStep::PasswordRequired) {
            // The attached session is not logged in (any more).
            return Err(Error::NoSession { user: request.user });
        }
        let prompt = self.prepare(&flow, access).await?;
        let id = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let (mobile_auth_uri, qr_code) = match prompt {
            Prompt::None => (None, None),
            Prompt::MobileOnly(uri) => (Some(uri.expose_secret().to_owned()), None),
            Prompt::Qr(qr) => {
                let image = qr.image.map(|i| i.expose_secret().to_owned());
                (None, image.map(|image| StoredQr { id: qr.id, image }))
            }
        };
        let state = HandleState {
            v: STATE_VERSION,
            id: id.clone(),
            user: request.user.clone(),
            application: application.clone(),
            flow: flow.save(),
            mobile_auth_uri,
            qr_code,
        };
        let state =
            serde_json::to_value(&state).map_err(|e| invalid("step-up handle", e.to_string()))?;
        let handle = StepUpHandle::new(PROVIDER, id, request.user.clone()).with_state(state);
        if flow.state() == FlowState::Done {
            let outcome = self.approved(&request.user, &application, &flow);
            return Ok(Started::Settled { handle, outcome });
        }
        Ok(Started::Pending(handle))
    }

    /// Resumes the handle's flow (validated first, in any [`Client`] of the same Loginapp) and
    /// polls once: a finished flow is an approval (the upgraded session goes to
    /// [`Client::session`]), a rejection on the phone a denial, a 2FA timeout an expiry. A flow
    /// the server already ended (an approval collected elsewhere, a passcode typed through
    /// [`Client::step_up_flow`]) is confirmed with an application access.
    async fn check_handle(
        &self,
        handle: &StepUpHandle,
    ) -> Result<PollStatus<StepUpOutcome>, Error> {
        let state = self.validated(handle)?;
        let (user, application) = (state.user, state.application);
        let flow = self.resume(state.flow)?;
        if flow.state() == FlowState::Done {
            let unanswered = Error::NoSession { user: user.clone() };
            return self.confirm(&user, &application, &flow, unanswered).await;
        }
        match flow.poll_once().await {
            Ok(Some(step)) if step.is_done() => {
                Ok(PollStatus::Ready(self.approved(&user, &application, &flow)))
            }
            Ok(Some(step)) => Ok(PollStatus::Ready(StepUpOutcome::Failed {
                reason: format!(
                    "the flow continues at step {}",
                    Bounded(
                        step.next
                            .as_ref()
                            .map(NextAuthStep::as_str)
                            .unwrap_or_default()
                    )
                ),
            })),
            Ok(None) => Ok(PollStatus::pending()),
            Err(Error::Rejected { document }) => Ok(PollStatus::Ready(StepUpOutcome::Denied {
                fraud: false,
                reason: Some(Bounded(document.code().as_str()).to_string()),
            })),
            Err(Error::TimedOut { .. }) => Ok(PollStatus::Ready(StepUpOutcome::Expired)),
            Err(e @ Error::UnexpectedCall { .. }) => {
                self.confirm(&user, &application, &flow, e).await
            }
            Err(e) => Err(e),
        }
    }
}
