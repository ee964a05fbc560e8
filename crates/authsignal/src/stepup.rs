//! auth-core's [`StepUp`] on [`Client`]: see [`crate::docs::step_up`].

use std::time::Duration;

use auth_core::poll::PollStatus;
use auth_core::stepup::{Capabilities, Started, ensure_provider};
use auth_core::{StepUp, StepUpHandle, StepUpOutcome, StepUpRequest};
use serde_json::json;

use crate::client::Client;
use crate::error::Error;
use crate::request::{TrackRequest, ValidateChallengeRequest};
use crate::types::{ActionCode, ActionState, ChallengeToken, IdempotencyKey, InvalidId, UserId};

/// The provider name in [`StepUpHandle::provider`].
pub(crate) const PROVIDER: &str = "authsignal";

/// How long a step-up waits by default: the track token's lifetime (10 minutes).
pub(crate) const DEFAULT_STEP_UP_TTL: Duration = Duration::from_secs(600);

fn outcome_for(state: &ActionState, details: serde_json::Value) -> PollStatus<StepUpOutcome> {
    match state {
        ActionState::Allow | ActionState::ChallengeSucceeded | ActionState::ReviewSucceeded => {
            PollStatus::Ready(StepUpOutcome::approved(PROVIDER, details))
        }
        ActionState::ChallengeRequired | ActionState::ReviewRequired => PollStatus::pending(),
        ActionState::Block | ActionState::ChallengeFailed | ActionState::ReviewFailed => {
            PollStatus::Ready(StepUpOutcome::Denied {
                fraud: false,
                reason: Some(state.as_str().to_owned()),
            })
        }
        ActionState::Other(s) => PollStatus::Ready(StepUpOutcome::Failed {
            reason: format!("unknown action state `{s}`"),
        }),
    }
}

/// What a handle names: the user, the action and its key (validated like any input).
struct Parsed {
    user: UserId,
    action: ActionCode,
    key: IdempotencyKey,
}

fn parse_handle(handle: &StepUpHandle) -> Result<Parsed, Error> {
    let action = handle
        .state
        .get("action")
        .and_then(|a| a.as_str())
        .ok_or_else(|| InvalidId::new("step-up handle", "no action in its state"))?;
    Ok(Parsed {
        user: UserId::new(handle.user.as_str())?,
        action: ActionCode::new(action)?,
        key: IdempotencyKey::new(handle.id.as_str())?,
    })
}

impl Client {
    /// Finishes a step-up with the `token` the user came back with: validates it server-side
    /// for the handle's user and action. `Approved` only when `isValid` is true.
    pub async fn finish_step_up(
        &self,
        handle: &StepUpHandle,
        token: ChallengeToken,
    ) -> Result<StepUpOutcome, Error> {
        ensure_provider(PROVIDER, handle)?;
        let p = parse_handle(handle)?;
        let resp = self
            .validate_challenge(&ValidateChallengeRequest::new(token, p.user, p.action))
            .await?;
        if resp.idempotency_key.as_ref().is_some_and(|k| *k != p.key) {
            return Err(InvalidId::new(
                "challenge token",
                "issued for another action instance than this step-up",
            )
            .into());
        }
        if resp.is_valid {
            return Ok(StepUpOutcome::approved(
                PROVIDER,
                json!({
                    "state": resp.state.as_ref().map(ActionState::as_str),
                    "verificationMethod": resp.verification_method.as_ref().map(|m| m.as_str()),
                    "idempotencyKey": p.key.as_str(),
                }),
            ));
        }
        Ok(match resp.state {
            Some(ActionState::ChallengeFailed) | Some(ActionState::Block) => {
                StepUpOutcome::Denied {
                    fraud: false,
                    reason: resp.state.map(|s| s.as_str().to_owned()),
                }
            }
            _ => StepUpOutcome::Failed {
                reason: resp
                    .error
                    .unwrap_or_else(|| "the challenge was not completed".to_owned()),
            },
        })
    }
}

#[auth_core::async_trait]
impl StepUp for Client {
    type Error = Error;

    fn provider(&self) -> &'static str {
        PROVIDER
    }

    /// Pollable (get action), webhooks, a browser for `CHALLENGE_REQUIRED` (the pre-built
    /// UI), and portable handles (the handle names user, action and key).
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .pollable()
            .webhook()
            .needs_browser()
            .portable_handle()
    }

    fn transport(&self) -> Option<&auth_core::Transport> {
        Some(Client::transport(self))
    }

    async fn begin(&self, request: StepUpRequest) -> Result<Started, Error> {
        let user = UserId::new(request.user.as_str())?;
        let action = self.step_up_action().clone();
        let mut track = TrackRequest::new()
            .custom("title", request.title.as_str())
            .custom("message", request.message.as_str());
        if let Some(url) = self.step_up_redirect_url() {
            track = track.redirect_url(url);
        }
        let resp = self.track(&user, &action, track).await?;
        let ttl = request.ttl.unwrap_or(DEFAULT_STEP_UP_TTL);
        let mut handle = StepUpHandle::new(PROVIDER, resp.idempotency_key.as_str(), user.as_str())
            .with_state(json!({
                "action": action.as_str(),
                "decision": resp.state.as_str(),
                "isEnrolled": resp.is_enrolled,
            }));
        if let Some(at) = Client::clock(self).now().checked_add(ttl) {
            handle = handle.with_expiry(at);
        }
        let details = json!({
            "state": resp.state.as_str(),
            "idempotencyKey": resp.idempotency_key.as_str(),
            "ruleIds": resp.rule_ids,
        });
        if let PollStatus::Ready(outcome) = outcome_for(&resp.state, details) {
            return Ok(Started::Settled { handle, outcome });
        }
        Ok(match resp.challenge_url() {
            Some(url) if resp.state == ActionState::ChallengeRequired => {
                let url = url.to_owned();
                Started::Redirect {
                    handle: handle.with_user_url(url.as_str()),
                    url,
                }
            }
            _ => Started::Pending(handle),
        })
    }

    async fn check_handle(
        &self,
        handle: &StepUpHandle,
    ) -> Result<PollStatus<StepUpOutcome>, Error> {
        let p = parse_handle(handle)?;
        let action = self.get_action(&p.user, &p.action, &p.key).await?;
        let details = json!({
            "state": action.state.as_str(),
            "verificationMethod": action.verification_method.as_ref().map(|m| m.as_str()),
            "idempotencyKey": p.key.as_str(),
            "ruleIds": action.rules.iter().map(|r| r.rule_id.as_str()).collect::<Vec<_>>(),
        });
        let status = outcome_for(&action.state, details);
        let expired = handle
            .expires_at
            .is_some_and(|exp| Client::clock(self).now() >= exp);
        if matches!(status, PollStatus::Pending { .. }) && expired {
            return Ok(PollStatus::Ready(StepUpOutcome::Expired));
        }
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_mapping() {
        let d = serde_json::Value::Null;
        assert!(matches!(
            outcome_for(&ActionState::Allow, d.clone()),
            PollStatus::Ready(StepUpOutcome::Approved { .. })
        ));
        assert!(matches!(
            outcome_for(&ActionState::ReviewRequired, d.clone()),
            PollStatus::Pending { .. }
        ));
        assert!(matches!(
            outcome_for(&ActionState::ChallengeFailed, d.clone()),
            PollStatus::Ready(StepUpOutcome::Denied { .. })
        ));
        assert!(matches!(
            outcome_for(&ActionState::Other("X".into()), d),
            PollStatus::Ready(StepUpOutcome::Failed { .. })
        ));
    }

    #[test]
    fn a_handle_names_a_valid_user_action_and_key() {
        let h = StepUpHandle::new(PROVIDER, "k-1", "usr_1")
            .with_state(serde_json::json!({"action": "stepUp"}));
        let p = parse_handle(&h).unwrap();
        assert_eq!(
            (p.user.as_str(), p.action.as_str(), p.key.as_str()),
            ("usr_1", "stepUp", "k-1")
        );
        for bad in [
            StepUpHandle::new(PROVIDER, "k-1", "usr_1").with_state(serde_json::json!({})),
            StepUpHandle::new(PROVIDER, "k-1", "usr_1")
                .with_state(serde_json::json!({"action": "../x"})),
            StepUpHandle::new(PROVIDER, "", "usr_1")
                .with_state(serde_json::json!({"action": "stepUp"})),
        ] {
            assert!(matches!(parse_handle(&bad), Err(Error::InvalidInput(_))));
        }
    }
}
