//! [`auth_core::StepUp`] for the LogonBox client.
//!
//! LogonBox's direct flow has no "check later" call: the sign request blocks until the user
//! answers on the phone. So [`StepUp::start`] runs the whole direct flow (bounded by the sign
//! timeout, 180 s by default: [`Capabilities::start_blocks`]) and returns
//! [`Started::Settled`] with the outcome, recorded in the handle as well; [`StepUp::check`]
//! returns the recorded outcome. The handle is portable ([`Capabilities::portable_handle`]):
//! any process with a client for the same credential server can check it, because an
//! approval recorded in a handle is **verified again** by `check` (the key is fetched from the
//! server again and the signature checked over the signed bytes), so a handle edited in an
//! application's session cannot turn into an approval. The signed payload starts with the
//! handle's id (16 random bytes, then 112 more), so an approval recorded for one handle does
//! not pass `check` when pasted into another.
//!
//! Mapping: [`StepUpRequest::message`] becomes the prompt text on the phone (placeholders are
//! replaced), an empty message keeps the client's prompt; [`StepUpRequest::title`] has no place
//! in a LogonBox prompt and is not sent; [`StepUpRequest::ttl`] is not sent either (the client's
//! sign timeout bounds the wait). Outcomes: approval → `Approved` (evidence: principal, key
//! fingerprint, type and comment, flags, signature in base64url); rejection on the phone →
//! `Denied { fraud: false }` (the app has no fraud report); no answer before the sign timeout →
//! `Expired`; a server failure (`success: false`) → `Failed`. Everything else (unknown user, no
//! key, bad signature, transport errors, an error status) is an error of `start`.

use auth_core::poll::PollStatus;
use auth_core::stepup::{
    Capabilities, Started, StepUp, StepUpHandle, StepUpOutcome, StepUpRequest,
};
use auth_core::{Classify, ErrorKind, async_trait};
use serde::{Deserialize, Serialize};

use crate::b64;
use crate::client::{Approval, Client};
use crate::error::Error;
use crate::key::Fingerprint;
use crate::request::{AuthRequest, PAYLOAD_LEN};

/// The provider name in [`StepUpHandle::provider`].
pub(crate) const PROVIDER: &str = "logonbox";

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

/// The evidence of an approval: who signed with which key (never the signed payload).
fn approved(approval: &Approval, signature: &str) -> StepUpOutcome {
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

#[async_trait]
impl StepUp for Client {
    type Error = Error;

    fn provider(&self) -> &'static str {
        PROVIDER
    }

    /// `start` blocks until the user answers (up to the sign timeout) and the handle can be
    /// checked anywhere; there is nothing to poll and no webhook.
    fn capabilities(&self) -> Capabilities {
        Capabilities::new().start_blocks().portable_handle()
    }

    /// The client's transport. `start` waits up to the sign timeout for the user
    /// ([`Capabilities::start_blocks`]), so it is not admitted; its requests take a slot each,
    /// the signing request too, and the wait for one counts against that request's own
    /// deadline.
    fn transport(&self) -> Option<&auth_core::Transport> {
        Some(Client::transport(self))
    }

    async fn begin(&self, request: StepUpRequest) -> Result<Started, Error> {
        let id = self.random(HANDLE_ID_LEN)?;
        let mut payload = id.clone();
        payload.extend_from_slice(&self.random(PAYLOAD_LEN - HANDLE_ID_LEN)?);
        let mut auth = AuthRequest::new(request.user.clone()).payload(payload);
        if !request.message.trim().is_empty() {
            auth = auth.prompt_text(request.message.clone());
        }
        let mut sent = false;
        let (recorded, outcome) = match self.authenticate_observed(auth, &mut sent).await {
            Ok(approval) => {
                let signature = b64::encode_url(approval.signature());
                let outcome = approved(&approval, &signature);
                let recorded = Recorded::Approved {
                    fingerprint: approval.key().fingerprint().clone(),
                    flags: approval.flags(),
                    payload: b64::encode_url(approval.signed_data()),
                    signature,
                };
                (recorded, outcome)
            }
            Err(Error::Rejected { message }) => {
                let outcome = StepUpOutcome::Denied {
                    fraud: false,
                    reason: Some(message.clone()),
                };
                (Recorded::Denied { reason: message }, outcome)
            }
            // The user did not answer before the sign timeout (not: the server was down).
            Err(e) if sent && e.kind() == ErrorKind::Timeout => {
                (Recorded::Expired, StepUpOutcome::Expired)
            }
            Err(Error::Server { message }) => {
                let outcome = StepUpOutcome::Failed {
                    reason: message.clone(),
                };
                (Recorded::Failed { reason: message }, outcome)
            }
            Err(e) => return Err(e),
        };
        let state =
            serde_json::to_value(&recorded).map_err(|e| Error::decode("step-up state", ".", e))?;
        // Already settled: there is nothing left to expire.
        let handle =
            StepUpHandle::new(PROVIDER, b64::encode_url(&id), request.user).with_state(state);
        Ok(Started::Settled { handle, outcome })
    }

    async fn check_handle(
        &self,
        handle: &StepUpHandle,
    ) -> Result<PollStatus<StepUpOutcome>, Error> {
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
                approved(&approval, &signature)
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
