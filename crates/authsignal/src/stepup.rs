//! auth-core's provider-neutral step-up interface on Authsignal: track → challenge → get
//! action / validate.
//!
//! [`StepUp::start`] tracks the configured action (default
//! `stepUp`, see [`ClientBuilder::step_up_action`](crate::ClientBuilder::step_up_action)) with
//! the request's title and message as `custom` data. The handle's `user_url` is where to send
//! the user's browser when a challenge is required; its `id` is the action's idempotency key.
//! [`StepUp::check`] reads the action back:
//!
//! | action state | outcome |
//! | --- | --- |
//! | `ALLOW`, `CHALLENGE_SUCCEEDED`, `REVIEW_SUCCEEDED` | `Approved` (evidence: state, method, rule ids) |
//! | `CHALLENGE_REQUIRED`, `REVIEW_REQUIRED` | pending (`Expired` once the handle's TTL passed) |
//! | `BLOCK`, `CHALLENGE_FAILED`, `REVIEW_FAILED` | `Denied` |
//! | anything else | `Failed` |
//! | *429 after the transport's retries* | pending, with the server's `Retry-After` as the hint (else [`RATE_LIMITED_WAIT`]); `Expired` once the handle's TTL passed |
//!
//! When the user comes back from the pre-built UI with `?token=`, prefer
//! [`Client::finish_step_up`], which validates the token server-side for the handle's user and
//! action.

use std::time::Duration;

use auth_core::poll::PollStatus;
use auth_core::{StepUp, StepUpHandle, StepUpOutcome, StepUpRequest};
use serde_json::json;

use crate::client::Client;
use crate::error::Error;
use crate::request::{TrackRequest, ValidateChallengeRequest};
use crate::types::{ActionCode, ActionState, ChallengeToken, IdempotencyKey, InvalidId, UserId};

/// The provider name in [`StepUpHandle::provider`].
pub const PROVIDER: &str = "authsignal";

/// How long a step-up waits by default: the track token's lifetime (10 minutes).
pub const DEFAULT_STEP_UP_TTL: Duration = Duration::from_secs(600);

/// How long [`StepUp::check`] asks the poller to wait after a 429 without `Retry-After`.
pub const RATE_LIMITED_WAIT: Duration = Duration::from_secs(5);

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

struct Parsed {
    user: UserId,
    action: ActionCode,
    key: IdempotencyKey,
}

fn parse_handle(handle: &StepUpHandle) -> Result<Parsed, Error> {
    if handle.provider != PROVIDER {
        return Err(InvalidId::new(
            "step-up handle",
            format!("made by `{}`, not `{PROVIDER}`", handle.provider),
        )
        .into());
    }
    let action = handle
        .state
        .get("action")
        .and_then(|a| a.as_str())
        .ok_or_else(|| InvalidId::new("step-up handle", "no action in state"))?;
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

    async fn start(&self, request: StepUpRequest) -> Result<StepUpHandle, Error> {
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
        Ok(StepUpHandle {
            provider: PROVIDER.to_owned(),
            id: resp.idempotency_key.as_str().to_owned(),
            user: user.into_string(),
            user_url: resp.challenge_url().map(str::to_owned),
            expires_at: self.clock().now().checked_add(ttl),
            state: json!({
                "action": action.as_str(),
                "decision": resp.state.as_str(),
                "isEnrolled": resp.is_enrolled,
            }),
        })
    }

    async fn check(&self, handle: &StepUpHandle) -> Result<PollStatus<StepUpOutcome>, Error> {
        let p = parse_handle(handle)?;
        let expired = || {
            handle
                .expires_at
                .is_some_and(|exp| self.clock().now() >= exp)
        };
        let action = match self.get_action(&p.user, &p.action, &p.key).await {
            Ok(action) => action,
            // Rate limited once the transport's retries are spent: the action is still
            // waiting for all we know, so keep polling — with the server's hint — until the
            // handle expires (the rule of every provider crate).
            Err(Error::RateLimited { retry_after, .. }) => {
                if expired() {
                    return Ok(PollStatus::Ready(StepUpOutcome::Expired));
                }
                return Ok(PollStatus::Pending {
                    retry_after: Some(retry_after.unwrap_or(RATE_LIMITED_WAIT)),
                });
            }
            Err(e) => return Err(e),
        };
        let details = json!({
            "state": action.state.as_str(),
            "verificationMethod": action.verification_method.as_ref().map(|m| m.as_str()),
            "idempotencyKey": p.key.as_str(),
            "ruleIds": action.rules.iter().map(|r| r.rule_id.as_str()).collect::<Vec<_>>(),
        });
        let status = outcome_for(&action.state, details);
        if matches!(status, PollStatus::Pending { .. }) && expired() {
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
    fn foreign_handles_are_rejected() {
        let h = StepUpHandle {
            provider: "launchkey".into(),
            id: "x".into(),
            user: "u".into(),
            user_url: None,
            expires_at: None,
            state: serde_json::json!({"action": "stepUp"}),
        };
        assert!(parse_handle(&h).is_err());
        let h = StepUpHandle {
            provider: PROVIDER.into(),
            state: serde_json::json!({}),
            ..h
        };
        assert!(parse_handle(&h).is_err());
    }
}
