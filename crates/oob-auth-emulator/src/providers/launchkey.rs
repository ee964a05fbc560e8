//! LaunchKey: the crate's platform model (`launchkey::emulator::Model`) with one service, made
//! at start (id and RSA key generated, or from the settings `service_id` and
//! `private_key_file`), on the server's clock.
//!
//! The platform POSTs the user's answer to the service's webhook URL when one is configured.
//! The model builds those webhooks on request (it has no queue); here, once a webhook URL is
//! set (the setting `webhook_url`, or the provider command `{"webhook_url": …}`), every
//! authorization request answered through the control API (`approve`, `deny`, `fail`) queues
//! its signed and encrypted webhook for the server to send (see `crate::delivery`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use auth_core::emulator::{Control, ControlError, PendingStepUp};
use auth_core::sync::lock;
use auth_core::{HttpRequest, HttpResponse};
use launchkey::emulator::{Emulator, Model};
use launchkey::{AuthRequestId, ServiceId, ServicePrivateKey};
use serde_json::{Map, Value, json};

use super::{Built, Ctx};
use crate::delivery::Outbox;
use crate::{Provider, StartError};

/// The most webhooks waiting for the server to take them; the oldest go first.
const MAX_WEBHOOKS: usize = 1_000;

const P: Provider = Provider::Launchkey;

pub(crate) async fn build(ctx: &Ctx<'_>) -> Result<Built, StartError> {
    let err = |e: &dyn std::fmt::Display| StartError::provider(P, e);
    let service_id = match ctx.setting("service_id") {
        Some(s) => ServiceId::parse(s).map_err(|e| err(&e))?,
        None => ServiceId::from_uuid(uuid::Uuid::new_v4()),
    };
    let (pem, key_file) = match ctx.setting("private_key_file") {
        Some(path) => {
            let path = std::path::PathBuf::from(path);
            let pem = std::fs::read_to_string(&path).map_err(|e| StartError::io(&path, e))?;
            (pem, path)
        }
        None => {
            // The official SDK needs the private key itself: made here, written to --dir.
            let pair =
                rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).map_err(|e| err(&e))?;
            let pem = crate::tls::pem("PRIVATE KEY", &pair.serialize_der());
            let path = ctx.dir.join("launchkey-service.pem");
            super::write_private(&path, &pem)?;
            (pem, path)
        }
    };
    let key = ServicePrivateKey::from_pem(&pem).map_err(|e| err(&e))?;
    let model = Emulator::builder()
        .clock(ctx.clock.clone())
        .service(service_id, key.public_key())
        .log_capacity(ctx.log_capacity)
        .model()
        .map_err(|e| err(&e))?;

    let webhook_url = match ctx.setting("webhook_url") {
        Some(url) => Some(super::check_url(P, "webhook_url", url)?),
        None => None,
    };

    let mut info = Map::new();
    if let Some(url) = &webhook_url {
        info.insert("webhook_url".into(), json!(url.to_string()));
    }
    info.insert("service_id".into(), json!(service_id.to_string()));
    info.insert("service_private_key_pem".into(), json!(pem));
    info.insert("service_private_key_file".into(), json!(key_file));
    info.insert("service_key_id".into(), json!(key.kid().as_str()));
    let served = Arc::new(Launchkey {
        model,
        webhooks: Mutex::new(Webhooks {
            url: webhook_url,
            queue: VecDeque::new(),
        }),
    });
    Ok(Built {
        model: served.clone(),
        api_path: "",
        info,
        default_user_details: Value::Null,
        outbox: Some(served),
    })
}

/// The platform model, and the webhooks of the answers given through the control API.
struct Launchkey {
    model: Model,
    webhooks: Mutex<Webhooks>,
}

struct Webhooks {
    /// The service's webhook URL (`None`: none configured, nothing is queued).
    url: Option<http::Uri>,
    queue: VecDeque<HttpRequest>,
}

impl Launchkey {
    /// Queues the authorization webhook of the answered request `id`, if a URL is set.
    fn queue_authorization(&self, id: &str) {
        let Some(url) = lock(&self.webhooks).url.clone() else {
            return;
        };
        let Ok(id) = AuthRequestId::parse(id) else {
            return;
        };
        // Signed for the path the service receives it on; sent to the whole URL.
        let request = match self.model.authorization_webhook(&id, url.path()) {
            Ok(request) => request,
            Err(e) => {
                eprintln!("oob-auth-emulator: launchkey: the webhook of {id}: {e}");
                return;
            }
        };
        let (mut parts, body) = request.into_parts();
        parts.uri = url;
        let mut webhooks = lock(&self.webhooks);
        if webhooks.queue.len() >= MAX_WEBHOOKS {
            webhooks.queue.pop_front();
        }
        webhooks
            .queue
            .push_back(HttpRequest::from_parts(parts, body));
    }

    /// `{"webhook_url": "http://…" | null}`: where answers are posted from now on.
    fn set_webhook_url(&self, url: &Value) -> Result<Value, ControlError> {
        let parsed = match url {
            Value::Null => None,
            Value::String(s) => Some(super::absolute_http_url(s).map_err(ControlError::Invalid)?),
            _ => return Err(ControlError::Invalid("webhook_url is a URL or null".into())),
        };
        lock(&self.webhooks).url = parsed;
        Ok(json!({ "webhook_url": url }))
    }
}

#[async_trait::async_trait]
impl auth_core::emulator::Model for Launchkey {
    fn provider(&self) -> &'static str {
        self.model.provider()
    }

    async fn handle(&self, request: HttpRequest) -> HttpResponse {
        self.model.handle(request).await
    }

    fn control(&self, command: Control) -> Result<Value, ControlError> {
        let answered = match &command {
            Control::Approve { id } | Control::Deny { id, .. } | Control::Fail { id, .. } => {
                Some(id.clone())
            }
            Control::Provider { body } => {
                if let Some(url) = body.get("webhook_url") {
                    return self.set_webhook_url(url);
                }
                None
            }
            _ => None,
        };
        let answer = self.model.control(command)?;
        if let Some(id) = answered {
            self.queue_authorization(&id);
        }
        Ok(answer)
    }

    fn pending(&self) -> Vec<PendingStepUp> {
        self.model.pending()
    }
}

impl Outbox for Launchkey {
    fn take(&self) -> Vec<HttpRequest> {
        lock(&self.webhooks).queue.drain(..).collect()
    }
}
