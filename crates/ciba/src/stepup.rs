//! [`auth_core::StepUp`] for CIBA: start = a backchannel authentication request, check = one
//! token request (poll and ping modes) or a look at the pushed results (push mode).

use std::time::Duration;

use auth_core::poll::PollStatus;
use auth_core::stepup::{Capabilities, Started};
use auth_core::{StepUp, StepUpHandle, StepUpOutcome, StepUpRequest};
use serde_json::{Value, json};

use crate::limits::DEFAULT_INTERVAL;
use crate::types::{AuthReqId, DeliveryMode};
use crate::{AuthenticationRequest, Client, Error, Outcome};

/// The provider name in [`StepUpHandle::provider`].
pub const PROVIDER: &str = "ciba";

/// The step-up's approval evidence: the validated ID token claims, never the tokens.
fn evidence(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Approved(t) => {
            let c = &t.claims;
            json!({
                "auth_req_id": t.auth_req_id.as_str(),
                "iss": c.iss,
                "sub": c.sub,
                "aud": c.aud,
                "iat": c.iat,
                "auth_time": c.auth_time,
                "acr": c.acr,
                "amr": c.amr,
                "scope": t.scope,
            })
        }
        _ => Value::Null,
    }
}

fn to_step_up(outcome: Outcome) -> StepUpOutcome {
    match &outcome {
        Outcome::Approved(_) => StepUpOutcome::approved(PROVIDER, evidence(&outcome)),
        Outcome::Denied { description } => StepUpOutcome::Denied {
            fraud: false,
            reason: description.clone(),
        },
        Outcome::Expired => StepUpOutcome::Expired,
        Outcome::Failed { description } => StepUpOutcome::Failed {
            reason: description
                .clone()
                .unwrap_or_else(|| "transaction_failed".into()),
        },
    }
}

/// CIBA as a step-up provider.
///
/// * `start` sends a backchannel authentication request with `login_hint` = `request.user`,
///   `binding_message` = `request.message` (shown on the user's device) and
///   `requested_expiry` = `request.ttl`, and returns at once: [`Started::Pending`]. `title` has
///   no CIBA parameter and is not sent.
/// * Poll and ping clients: `check` makes one token request when the interval has passed (and
///   none after the request expired). The handle holds the `auth_req_id`, expiry and interval,
///   no secret: any process with the client's credentials can check it (portable).
/// * Push clients: `check` looks at what [`Client::handle_push`] received in this process (the
///   handle is not portable).
/// * An approval's evidence is the ID token's claims, never the tokens.
#[async_trait::async_trait]
impl StepUp for Client {
    type Error = Error;

    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        match self.delivery_mode() {
            DeliveryMode::Push => Capabilities::new().webhook(),
            DeliveryMode::Ping => Capabilities::new().pollable().webhook().portable_handle(),
            _ => Capabilities::new().pollable().portable_handle(),
        }
    }

    fn transport(&self) -> Option<&auth_core::Transport> {
        Some(Client::transport(self))
    }

    async fn begin(&self, request: StepUpRequest) -> Result<Started, Error> {
        let mut auth = AuthenticationRequest::login_hint(request.user.clone());
        if !request.message.is_empty() {
            auth = auth.binding_message(request.message.clone());
        }
        if let Some(ttl) = request.ttl {
            auth = auth.requested_expiry(ttl);
        }
        let started = self.authenticate(auth).await?;
        // No secret in the handle: the notification token stays in the client.
        let handle = StepUpHandle::new(PROVIDER, started.auth_req_id.as_str(), request.user)
            .with_expiry(started.expires_at)
            .with_state(json!({
                "interval": started.interval.as_secs(),
                "mode": started.delivery_mode.as_str(),
            }));
        Ok(Started::Pending(handle))
    }

    async fn check_handle(
        &self,
        handle: &StepUpHandle,
    ) -> Result<PollStatus<StepUpOutcome>, Error> {
        let id = AuthReqId::new(handle.id.clone())?;
        let expires_at = handle.expires_at.ok_or(Error::InvalidInput {
            field: "expires_at",
            reason: "a CIBA handle always has one".into(),
        })?;
        let interval = handle
            .state
            .get("interval")
            .and_then(Value::as_u64)
            .filter(|s| *s > 0)
            .map_or(DEFAULT_INTERVAL, Duration::from_secs);
        if *self.delivery_mode() == DeliveryMode::Push {
            if let Some(outcome) = self.take_pushed(&id) {
                return Ok(PollStatus::Ready(to_step_up(outcome)));
            }
            let now = Client::clock(self).now();
            if now >= expires_at {
                return Ok(PollStatus::Ready(StepUpOutcome::Expired));
            }
            return Ok(PollStatus::Pending {
                retry_after: Some(Duration::from_secs(1)),
            });
        }
        Ok(match self.step(&id, expires_at, interval).await? {
            PollStatus::Ready(outcome) => PollStatus::Ready(to_step_up(outcome)),
            PollStatus::Pending { retry_after } => PollStatus::Pending { retry_after },
            _ => PollStatus::pending(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::time::SystemTime;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::{ClientAuth, ClientId, Endpoints};

    /// An OP that answers every request with `response`, whatever it is asked.
    async fn answering(response: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let _ = sock.read(&mut buf).await;
                    let _ = sock.write_all(response.as_bytes()).await;
                });
            }
        });
        format!("http://{addr}")
    }

    /// A handle's interval and an OP's `Retry-After` are input: absurd ones give a bounded
    /// wait, never a panic on time arithmetic.
    #[tokio::test]
    async fn absurd_intervals_and_retry_after_are_bounded_not_a_panic() {
        let op = answering(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
             retry-after: 18446744073709551615\r\ncontent-length: 35\r\nconnection: close\r\n\r\n\
             {\"error\":\"temporarily_unavailable\"}",
        )
        .await;
        let endpoints = Endpoints::builder(op.as_str())
            .backchannel_authentication(format!("{op}/bc"))
            .token(format!("{op}/token"))
            .jwks(format!("{op}/jwks"))
            .build()
            .unwrap();
        let client = Client::builder(
            ClientId::new("c").unwrap(),
            ClientAuth::secret_basic("s3cret"),
        )
        .endpoints(endpoints)
        .retry(auth_core::RetryPolicy::none())
        .build()
        .unwrap();
        let expires_at = SystemTime::now() + Duration::from_secs(600);
        let handle = StepUpHandle::new(PROVIDER, "req-1", "alice")
            .with_expiry(expires_at)
            .with_state(json!({"interval": u64::MAX, "mode": "poll"}));
        for _ in 0..2 {
            match client.check(&handle).await.unwrap() {
                PollStatus::Pending {
                    retry_after: Some(wait),
                } => assert!(wait <= Duration::from_secs(600), "{wait:?}"),
                other => panic!("{other:?}"),
            }
        }
    }
}
