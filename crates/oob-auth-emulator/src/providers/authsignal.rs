//! Authsignal: the crate's tenant model (`authsignal::emulator::Model`), its secret key
//! generated at start, on the server's clock; its challenge page links to the served URL.
//! The model queues webhook events; once a webhook URL is set (the setting `webhook_url`, or
//! the provider command `{"webhook_url": …}`), the server POSTs them there, signed
//! `X-Signature-V2`, after every request and command (see `crate::delivery`). As the real
//! tenant does, an authenticator event that fails (no answer, or not 2xx) is sent again, up to
//! [`WEBHOOK_RETRIES`] times, [`DEFAULT_WEBHOOK_RETRY_SECONDS`] apart (the setting
//! `webhook_retry_seconds`, at most [`MAX_WEBHOOK_RETRY_SECONDS`]; 0 turns retries off),
//! unchanged: same event `id`, same signature.

use std::sync::Arc;
use std::time::Duration;

use auth_core::HttpRequest;
use auth_core::emulator::ControlError;
use authsignal::emulator::{Emulator, Model};
use serde_json::{Map, Value, json};

use super::{Built, Ctx};
use crate::delivery::{Outbox, Retry};
use crate::{Provider, StartError};

/// How often a failed authenticator event is sent again (Authsignal: "up to 3 times").
pub(crate) const WEBHOOK_RETRIES: u32 = 3;
/// The wait before each retry (Authsignal: "after at least 30 seconds").
pub(crate) const DEFAULT_WEBHOOK_RETRY_SECONDS: u64 = 30;
/// The longest wait the setting takes: a retry is sent unchanged, so the last one must still
/// fall within the 5 minutes for which verifiers take the first attempt's signature.
pub(crate) const MAX_WEBHOOK_RETRY_SECONDS: u64 = 60;

pub(crate) async fn build(ctx: &Ctx<'_>) -> Result<Built, StartError> {
    let model = Emulator::builder()
        .clock(ctx.shared_clock())
        .public_url(ctx.base_url)
        .retention(
            ctx.log_capacity,
            authsignal::emulator::DEFAULT_SETTLED_CAPACITY,
        )
        .model();
    let webhook_url = ctx.setting("webhook_url");
    if let Some(url) = webhook_url {
        super::check_url(Provider::Authsignal, "webhook_url", url)?;
        model.set_webhook_url(url);
    }
    let retry_seconds = ctx
        .number(Provider::Authsignal, "webhook_retry_seconds")?
        .unwrap_or(DEFAULT_WEBHOOK_RETRY_SECONDS);
    if retry_seconds > MAX_WEBHOOK_RETRY_SECONDS {
        return Err(StartError::provider(
            Provider::Authsignal,
            format!(
                "setting `webhook_retry_seconds`: at most {MAX_WEBHOOK_RETRY_SECONDS} (a retry \
                 carries the first attempt's signature, which verifiers take for 5 minutes)"
            ),
        ));
    }
    let mut info = Map::new();
    info.insert("webhook_retry_seconds".into(), json!(retry_seconds));
    info.insert("secret_key".into(), json!(model.secret().expose_secret()));
    info.insert("tenant_id".into(), json!(model.tenant_id()));
    if let Some(url) = webhook_url {
        info.insert("webhook_url".into(), json!(url));
    }
    let model = Arc::new(model);
    Ok(Built {
        model: model.clone(),
        api_path: "/v1",
        info,
        default_user_details: Value::Null,
        outbox: Some(Arc::new(Webhooks {
            model,
            retry: (retry_seconds > 0).then(|| Retry {
                times: WEBHOOK_RETRIES,
                after: Duration::from_secs(retry_seconds),
            }),
        })),
    })
}

/// The model's webhook queue, for the server to deliver, and the tenant's retries.
struct Webhooks {
    model: Arc<Model>,
    /// How authenticator events are retried (`None`: they are not).
    retry: Option<Retry>,
}

impl Outbox for Webhooks {
    /// The queued events as signed POSTs to the webhook URL; none while no URL is set (they
    /// stay queued, within the model's bounds, until one is).
    fn take(&self) -> Vec<HttpRequest> {
        // The model refuses only when no URL is set (normal: nothing to say), or when the URL
        // set cannot be requested (said, and those events are gone).
        self.model.take_webhooks().unwrap_or_else(|e| {
            if !matches!(e, ControlError::Conflict(_)) {
                eprintln!("oob-auth-emulator: authsignal: webhooks: {e}");
            }
            Vec::new()
        })
    }

    /// Authenticator events are retried (Authsignal documents it for them alone).
    fn retry(&self, request: &HttpRequest) -> Option<Retry> {
        let event: Value = serde_json::from_slice(request.body()).ok()?;
        let kind = event.get("type").and_then(Value::as_str)?;
        kind.starts_with("authenticator.")
            .then_some(self.retry)
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str) -> HttpRequest {
        http::Request::post("http://127.0.0.1:9/hooks")
            .body(
                json!({"version": 1, "id": "e1", "type": kind, "data": {}})
                    .to_string()
                    .into_bytes(),
            )
            .unwrap()
    }

    #[test]
    fn only_authenticator_events_are_retried() {
        let model = Arc::new(Emulator::builder().model());
        let retry = Retry {
            times: WEBHOOK_RETRIES,
            after: Duration::from_secs(30),
        };
        let hooks = Webhooks {
            model: model.clone(),
            retry: Some(retry),
        };
        for kind in [
            "authenticator.created",
            "authenticator.updated",
            "authenticator.deleted",
        ] {
            assert_eq!(hooks.retry(&event(kind)), Some(retry), "{kind}");
        }
        for kind in ["email.created", "action.verify", "challenge.log_created"] {
            assert_eq!(hooks.retry(&event(kind)), None, "{kind}");
        }
        let off = Webhooks { model, retry: None };
        assert_eq!(off.retry(&event("authenticator.created")), None);
    }
}
