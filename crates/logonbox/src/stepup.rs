//! [`auth_core::StepUp`] for the LogonBox client.
//!
//! LogonBox's direct flow has no "check later" call: the sign request blocks until the user
//! answers on the phone. So [`StepUp::start`] runs the whole direct flow (bounded by the sign
//! timeout) and records the settled outcome in the handle; [`StepUp::check`] returns it at
//! once. An approval recorded in a handle is **verified again** by `check` (the key is fetched
//! from the server again and the signature checked over the signed bytes), so a handle edited
//! in an application's session cannot turn into an approval. The signed payload starts with
//! the handle's id (16 random bytes, then 112 more), so an approval recorded for one handle
//! does not pass `check` when pasted into another.
//!
//! Mapping: [`StepUpRequest::message`] becomes the prompt text on the phone (placeholders are
//! replaced), an empty message keeps the client's prompt; [`StepUpRequest::title`] has no place
//! in a LogonBox prompt and is not sent; [`StepUpRequest::ttl`] is not sent either (the client's
//! sign timeout bounds the wait). Outcomes: approval → `Approved` (evidence: principal, key
//! fingerprint and type, flags, payload and signature in base64url); rejection on the phone →
//! `Denied { fraud: false }`; no answer before the sign timeout → `Expired`; a server failure (`success: false`) →
//! `Failed`. Everything else (unknown user, no key, bad signature, transport errors) is an
//! error of `start`.

use auth_core::async_trait;
use auth_core::poll::PollStatus;
use auth_core::stepup::{StepUp, StepUpHandle, StepUpOutcome, StepUpRequest};
use serde::{Deserialize, Serialize};

use crate::b64;
use crate::client::Client;
use crate::error::Error;
use crate::key::Fingerprint;
use crate::request::{AuthRequest, PAYLOAD_LEN};

/// The provider name in [`StepUpHandle::provider`].
pub const PROVIDER: &str = "logonbox";

/// Bytes of the handle id, which the signed payload starts with.
const HANDLE_ID_LEN: usize = 16;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum Recorded {
    Approved {
        fingerprint: Fingerprint,
        flags: u32,
        payload: String,
        signature: String,
    },
    Denied {
        reason: String,
    },
    Expired,
    Failed {
        reason: String,
    },
}

#[async_trait]
impl StepUp for Client {
    type Error = Error;

    async fn start(&self, request: StepUpRequest) -> Result<StepUpHandle, Error> {
        let id = self.random(HANDLE_ID_LEN)?;
        let mut payload = id.clone();
        payload.extend_from_slice(&self.random(PAYLOAD_LEN - HANDLE_ID_LEN)?);
        let mut auth = AuthRequest::new(request.user.clone()).payload(payload);
        if !request.message.trim().is_empty() {
            auth = auth.prompt_text(request.message.clone());
        }
        let mut sent = false;
        let recorded = match self.authenticate_observed(auth, &mut sent).await {
            Ok(approval) => Recorded::Approved {
                fingerprint: approval.key().fingerprint().clone(),
                flags: approval.flags(),
                payload: b64::encode_url(approval.signed_data()),
                signature: b64::encode_url(approval.signature()),
            },
            Err(Error::Rejected { message }) => Recorded::Denied { reason: message },
            // The user did not answer before the sign timeout (not: the server was down).
            Err(e) if sent && e.is_timeout() => Recorded::Expired,
            Err(Error::Server { message, .. }) => Recorded::Failed { reason: message },
            Err(e) => return Err(e),
        };
        let state =
            serde_json::to_value(&recorded).map_err(|e| Error::decode("step-up state", ".", e))?;
        Ok(StepUpHandle {
            provider: PROVIDER.to_owned(),
            id: b64::encode_url(&id),
            user: request.user,
            user_url: None,
            // Already settled: there is nothing left to expire.
            expires_at: None,
            state,
        })
    }

    async fn check(&self, handle: &StepUpHandle) -> Result<PollStatus<StepUpOutcome>, Error> {
        if handle.provider != PROVIDER {
            return Err(Error::config(
                "handle",
                format!("a `{}` handle, not a LogonBox one", handle.provider),
            ));
        }
        let recorded: Recorded =
            auth_core::json::from_value("step-up state", handle.state.clone())?;
        let outcome = match recorded {
            Recorded::Approved {
                fingerprint,
                flags,
                payload,
                signature,
            } => {
                let payload = b64::decode_lenient(&payload)
                    .map_err(|e| Error::decode("step-up state", "payload", e))?;
                let id = b64::decode_lenient(&handle.id)
                    .map_err(|e| Error::decode("step-up handle", "id", e))?;
                if id.len() != HANDLE_ID_LEN || !payload.starts_with(&id) {
                    return Err(Error::ResponseMismatch { field: "handle id" });
                }
                let signature_bytes = b64::decode_lenient(&signature)
                    .map_err(|e| Error::decode("step-up state", "signature", e))?;
                let approval = self
                    .reverify(&handle.user, &fingerprint, flags, payload, signature_bytes)
                    .await?;
                StepUpOutcome::approved(
                    PROVIDER,
                    serde_json::json!({
                        "principal": approval.principal(),
                        "fingerprint": approval.key().fingerprint(),
                        "key_type": approval.key().key_type(),
                        "key_comment": approval.key().comment(),
                        "flags": approval.flags(),
                        "signature": signature,
                    }),
                )
            }
            Recorded::Denied { reason } => StepUpOutcome::Denied {
                fraud: false,
                reason: Some(reason),
            },
            Recorded::Expired => StepUpOutcome::Expired,
            Recorded::Failed { reason } => StepUpOutcome::Failed { reason },
        };
        Ok(PollStatus::Ready(outcome))
    }
}
