//! [`auth_core::StepUp`] for LaunchKey: start = create an authorization request, check = poll.

use std::time::Duration;

use auth_core::poll::PollStatus;
use auth_core::stepup::{Capabilities, Started};
use auth_core::{StepUp, StepUpHandle, StepUpOutcome, StepUpRequest};
use serde_json::json;

use crate::{
    AuthRequestId, AuthResponseType, AuthorizationPoll, AuthorizationRequest, Client, Error,
};

/// LaunchKey as a step-up provider.
///
/// * `start` pushes an authorization request with `request.message` as the context shown on
///   the device (`title` is a Directory-only field and is not sent) and returns at once:
///   [`Started::Pending`].
/// * The handle carries the authorization request id (and the device ids, for the record): any
///   process holding the service's key can check it — the handle is portable.
/// * The answer is polled (`GET /service/v3/auths/{id}`), or arrives by webhook
///   ([`Client::handle_webhook`]). No browser is involved.
#[async_trait::async_trait]
impl StepUp for Client {
    type Error = Error;

    fn provider(&self) -> &'static str {
        Client::PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new().pollable().webhook().portable_handle()
    }

    fn transport(&self) -> Option<&auth_core::Transport> {
        Some(Client::transport(self))
    }

    async fn begin(&self, request: StepUpRequest) -> Result<Started, Error> {
        let mut auth =
            AuthorizationRequest::new(request.user.clone()).context(request.message.clone());
        if let Some(ttl) = request.ttl {
            auth = auth.ttl(Duration::from_secs(ttl.as_secs()));
        }
        let now = self.shared_clock().now();
        let created = self.authorize(&auth).await?;
        let handle = StepUpHandle::new(Client::PROVIDER, created.id.as_str(), request.user)
            .with_expiry(now + auth.effective_ttl())
            .with_state(json!({"device_ids": created.device_ids}));
        Ok(Started::Pending(handle))
    }

    async fn check_handle(
        &self,
        handle: &StepUpHandle,
    ) -> Result<PollStatus<StepUpOutcome>, Error> {
        let id = AuthRequestId::parse(&handle.id)?;
        let outcome = match self.get_authorization_response(&id).await {
            Ok(AuthorizationPoll::Pending) => return Ok(PollStatus::pending()),
            Ok(AuthorizationPoll::TimedOut) | Err(Error::AuthorizationExpired) => {
                StepUpOutcome::Expired
            }
            Ok(AuthorizationPoll::Responded(r)) if r.authorized => StepUpOutcome::approved(
                Client::PROVIDER,
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
            Err(e) => return Err(e),
        };
        Ok(PollStatus::Ready(outcome))
    }
}
