//! Authsignal: the crate's tenant model (`authsignal::emulator::Model`), its secret key
//! generated at start, on the server's clock; its challenge page links to the served URL.
//! The model queues webhook events; once a webhook URL is set (the setting `webhook_url`, or
//! the provider command `{"webhook_url": …}`), the server POSTs them there, signed
//! `X-Signature-V2`, after every request and command (see `crate::delivery`).

use std::sync::Arc;

use auth_core::HttpRequest;
use auth_core::emulator::ControlError;
use authsignal::emulator::{Emulator, Model};
use serde_json::{Map, Value, json};

use super::{Built, Ctx};
use crate::delivery::Outbox;
use crate::{Provider, StartError};

pub(crate) async fn build(ctx: &Ctx<'_>) -> Result<Built, StartError> {
    let model = Emulator::builder()
        .clock(ctx.shared_clock())
        .public_url(ctx.base_url)
        .retention(
            ctx.log_capacity,
            authsignal::emulator::DEFAULT_SETTLED_CAPACITY,
        )
        .model();
    if let Some(url) = ctx.setting("webhook_url") {
        super::check_url(Provider::Authsignal, "webhook_url", url)?;
        model.set_webhook_url(url);
    }
    let mut info = Map::new();
    info.insert("secret_key".into(), json!(model.secret().expose_secret()));
    info.insert("tenant_id".into(), json!(model.tenant_id()));
    if let Some(url) = ctx.setting("webhook_url") {
        info.insert("webhook_url".into(), json!(url));
    }
    let model = Arc::new(model);
    Ok(Built {
        model: model.clone(),
        api_path: "/v1",
        info,
        default_user_details: Value::Null,
        outbox: Some(Arc::new(Webhooks(model))),
    })
}

/// The model's webhook queue, for the server to deliver.
struct Webhooks(Arc<Model>);

impl Outbox for Webhooks {
    /// The queued events as signed POSTs to the webhook URL; none while no URL is set (they
    /// stay queued, within the model's bounds, until one is).
    fn take(&self) -> Vec<HttpRequest> {
        // The model refuses only when no URL is set (normal: nothing to say), or when the URL
        // set cannot be requested (said, and those events are gone).
        self.0.take_webhooks().unwrap_or_else(|e| {
            if !matches!(e, ControlError::Conflict(_)) {
                eprintln!("oob-auth-emulator: authsignal: webhooks: {e}");
            }
            Vec::new()
        })
    }
}
