//! Authsignal: the crate's tenant model (`authsignal::emulator::Model`), its secret key
//! generated at start, on the server's clock; its challenge page links to the served URL.
//! One command more than the model's: `{"deliver_webhooks": true}` posts the queued events to
//! the webhook URL (the model only hands them over; the server delivers).

use std::sync::Arc;

use auth_core::emulator::{Control, ControlError, PendingStepUp};
use auth_core::{HttpRequest, HttpResponse};
use authsignal::emulator::{Emulator, Model};
use serde_json::{Map, Value, json};

use super::{Built, Ctx};
use crate::StartError;

pub(crate) async fn build(ctx: &Ctx<'_>) -> Result<Built, StartError> {
    let model = Emulator::builder()
        .clock(ctx.shared_clock())
        .public_url(ctx.base_url)
        .retention(
            ctx.log_capacity,
            authsignal::emulator::DEFAULT_SETTLED_CAPACITY,
        )
        .model();
    let mut info = Map::new();
    info.insert("secret_key".into(), json!(model.secret().expose_secret()));
    info.insert("tenant_id".into(), json!(model.tenant_id()));
    Ok(Built {
        model: Arc::new(Authsignal(model)),
        api_path: "/v1",
        info,
        default_user_details: Value::Null,
    })
}

/// The model, and webhook delivery.
struct Authsignal(Model);

#[async_trait::async_trait]
impl auth_core::emulator::Model for Authsignal {
    fn provider(&self) -> &'static str {
        self.0.provider()
    }

    async fn handle(&self, request: HttpRequest) -> HttpResponse {
        self.0.handle(request).await
    }

    fn control(&self, command: Control) -> Result<Value, ControlError> {
        match command {
            Control::Provider { body } if body.get("deliver_webhooks").is_some() => {
                // Control commands run on a blocking thread of the server's runtime.
                let runtime = tokio::runtime::Handle::try_current()
                    .map_err(|_| ControlError::Conflict("no runtime to deliver on".into()))?;
                let statuses = runtime.block_on(self.0.deliver_webhooks())?;
                Ok(json!({ "delivered": statuses }))
            }
            other => self.0.control(other),
        }
    }

    fn pending(&self) -> Vec<PendingStepUp> {
        self.0.pending()
    }
}
