//! [`auth_core::StepUp`] for LaunchKey: start = create an authorization request, check = poll.

use std::time::Duration;

use auth_core::poll::PollStatus;
use auth_core::{StepUp, StepUpHandle, StepUpOutcome, StepUpRequest};
use serde_json::json;

use crate::{
    AuthRequestId, AuthResponseType, AuthorizationPoll, AuthorizationRequest, Client, Error,
};

/// The provider name in [`StepUpHandle::provider`].
pub const PROVIDER: &str = "launchkey";

#[async_trait::async_trait]
impl StepUp for Client {
    type Error = Error;

    /// Creates an authorization request for `request.user` with `request.message` as the
    /// context shown on the device (`title` is a Directory-only field and is not sent).
    async fn start(&self, request: StepUpRequest) -> Result<StepUpHandle, Error> {
        let mut auth =
            AuthorizationRequest::new(request.user.clone()).context(request.message.clone());
        if let Some(ttl) = request.ttl {
            auth = auth.ttl(Duration::from_secs(ttl.as_secs()));
        }
        let now = self.clock().now();
        let created = self.authorize(&auth).await?;
        Ok(StepUpHandle {
            provider: PROVIDER.into(),
            id: created.id.as_str().to_owned(),
            user: request.user,
            user_url: None,
            expires_at: Some(now + auth.effective_ttl()),
            state: json!({"device_ids": created.device_ids}),
        })
    }

    async fn check(&self, handle: &StepUpHandle) -> Result<PollStatus<StepUpOutcome>, Error> {
        if handle.provider != PROVIDER {
            return Err(Error::InvalidRequest {
                field: "provider",
                reason: format!(
                    "handle belongs to `{}`",
                    handle.provider.chars().take(32).collect::<String>()
                ),
            });
        }
        let id = AuthRequestId::parse(&handle.id)?;
        let outcome = match self.get_authorization_response(&id).await {
            Ok(AuthorizationPoll::Pending) => return Ok(PollStatus::pending()),
            Ok(AuthorizationPoll::TimedOut) | Err(Error::AuthorizationExpired) => {
                StepUpOutcome::Expired
            }
            Ok(AuthorizationPoll::Responded(r)) if r.authorized => StepUpOutcome::approved(
                PROVIDER,
                json!({
                    "auth_request": r.authorization_request_id,
                    "device_id": r.device_id,
                    "service_user_hash": r.service_user_hash,
                    "type": r.response_type.as_ref().map(|t| t.as_str().to_owned()),
                    "reason": r.reason.as_ref().map(|t| t.as_str().to_owned()),
                }),
            ),
            Ok(AuthorizationPoll::Responded(r)) => match r.response_type {
                Some(AuthResponseType::Failed) => StepUpOutcome::Failed {
                    reason: r
                        .reason
                        .map(|x| x.as_str().to_owned())
                        .unwrap_or_else(|| "FAILED".into()),
                },
                _ => StepUpOutcome::Denied {
                    fraud: r.fraud,
                    reason: r
                        .denial_reason
                        .clone()
                        .or_else(|| r.reason.as_ref().map(|x| x.as_str().to_owned())),
                },
            },
            Err(Error::AuthorizationCanceled) => StepUpOutcome::Failed {
                reason: "cancelled".into(),
            },
            // Rate limited: still pending (until the caller's deadline), with the server's hint.
            Err(e @ Error::RateLimited { .. }) => {
                return Ok(PollStatus::Pending {
                    retry_after: auth_core::Classify::retry_after(&e),
                });
            }
            Err(e) => return Err(e),
        };
        Ok(PollStatus::Ready(outcome))
    }
}
