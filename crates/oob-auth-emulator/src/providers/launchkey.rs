//! LaunchKey: one service (its id and RSA key generated at start, or from the settings), users
//! created by `add_user`, authorization requests approved on the phone page.
//!
//! Settings: `service_id` (a UUID), `private_key_file` (a PEM RSA key; PKCS#1 or PKCS#8).
//! Provider commands (`{"command": "provider", "body": {...}}`):
//! `{"webhook": "authorization", "id": "<auth request>", "path": "/webhook"}` and
//! `{"webhook": "session_end", "user": "<username>", "path": "/webhook"}` answer the webhook
//! the platform would POST (`method`, `path`, `headers`, `body`);
//! `{"totp": "<code>", "user": "<username>"}` sets the user's TOTP code.

use std::sync::{Arc, Mutex};

use auth_core::emulator::{Control, ControlError, Model, PendingStepUp};
use auth_core::{HttpRequest, HttpResponse};
use launchkey::emulator::Emulator;
use launchkey::{AuthRequestId, AuthResponseReason, ServiceId, ServicePrivateKey};
use serde_json::{Map, Value, json};

use super::proxy::Upstream;
use super::{Built, Ctx};
use crate::{Provider, StartError};

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
            let pair =
                rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).map_err(|e| err(&e))?;
            let pem = crate::tls::pem("PRIVATE KEY", &pair.serialize_der());
            let path = ctx.dir.join("launchkey-service.pem");
            super::write_private(&path, &pem)?;
            (pem, path)
        }
    };
    let key = ServicePrivateKey::from_pem(&pem).map_err(|e| err(&e))?;

    let emulator = Emulator::start_with_clock(ctx.shared_clock())
        .await
        .map_err(|e| err(&e))?;
    emulator
        .register_service(service_id, &key.public_key_pem())
        .map_err(|e| err(&e))?;
    emulator.set_retention(ctx.log_capacity, launchkey::emulator::DEFAULT_SETTLED_CAPACITY);
    let upstream = Upstream::new(P, &emulator.base_url())?;

    let mut info = Map::new();
    info.insert("service_id".into(), json!(service_id.to_string()));
    info.insert("service_private_key_pem".into(), json!(pem));
    info.insert("service_private_key_file".into(), json!(key_file));
    info.insert("service_key_id".into(), json!(key.kid().as_str()));
    Ok(Built {
        model: Arc::new(Launchkey {
            emulator,
            upstream,
            service_id,
            users: Mutex::new(Vec::new()),
        }),
        api_path: "",
        info,
    })
}

struct Launchkey {
    emulator: Emulator,
    upstream: Upstream,
    service_id: ServiceId,
    /// The users created here (the emulator finds a pending request by user).
    users: Mutex<Vec<String>>,
}

fn lk_error(e: launchkey::Error, id: &str) -> ControlError {
    match e {
        launchkey::Error::NotFound => ControlError::NotFound {
            what: "authorization request",
            id: id.to_owned(),
        },
        other => ControlError::Conflict(other.to_string()),
    }
}

fn request_id(id: &str) -> Result<AuthRequestId, ControlError> {
    AuthRequestId::parse(id).map_err(|_| ControlError::NotFound {
        what: "authorization request",
        id: id.to_owned(),
    })
}

fn webhook_json(request: &http::Request<Vec<u8>>) -> Value {
    let headers: Map<String, Value> = request
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                json!(String::from_utf8_lossy(v.as_bytes())),
            )
        })
        .collect();
    json!({
        "method": request.method().as_str(),
        "path": request.uri().path(),
        "headers": headers,
        "body": String::from_utf8_lossy(request.body()),
    })
}

impl Launchkey {
    fn provider_command(&self, body: &Value) -> Result<Value, ControlError> {
        let s = |k: &str| body.get(k).and_then(Value::as_str);
        let path = s("path").unwrap_or("/webhook");
        match (s("webhook"), s("totp")) {
            (Some("authorization"), _) => {
                let id = s("id").ok_or_else(|| ControlError::Invalid("`id` is missing".into()))?;
                let request = self
                    .emulator
                    .authorization_webhook(&request_id(id)?, path)
                    .map_err(|e| lk_error(e, id))?;
                Ok(webhook_json(&request))
            }
            (Some("session_end"), _) => {
                let user =
                    s("user").ok_or_else(|| ControlError::Invalid("`user` is missing".into()))?;
                let request = self
                    .emulator
                    .session_end_webhook(self.service_id, user, path)
                    .map_err(|e| lk_error(e, user))?;
                Ok(webhook_json(&request))
            }
            (None, Some(code)) => {
                let user =
                    s("user").ok_or_else(|| ControlError::Invalid("`user` is missing".into()))?;
                self.emulator.set_totp(user, code);
                Ok(json!({"user": user}))
            }
            _ => Err(ControlError::Invalid(
                "launchkey's provider commands: {\"webhook\": \"authorization\"|\"session_end\", ...}, {\"totp\": ..., \"user\": ...}".into(),
            )),
        }
    }
}

#[async_trait::async_trait]
impl Model for Launchkey {
    fn provider(&self) -> &'static str {
        launchkey::PROVIDER
    }

    async fn handle(&self, request: HttpRequest) -> HttpResponse {
        self.upstream.forward(request).await
    }

    fn control(&self, command: Control) -> Result<Value, ControlError> {
        match command {
            Control::AddUser { user, .. } => {
                let u = self.emulator.add_user(&user);
                let mut users = auth_core::sync::lock(&self.users);
                if !users.contains(&user) {
                    users.push(user.clone());
                }
                Ok(json!({
                    "user": u.username,
                    "service_user_hash": u.service_user_hash,
                    "user_push_id": u.user_push_id,
                    "device_id": u.device_id,
                }))
            }
            Control::Approve { id } => {
                let rid = request_id(&id)?;
                self.emulator.approve(&rid).map_err(|e| lk_error(e, &id))?;
                Ok(json!({"id": id, "state": "approved"}))
            }
            Control::Deny { id, fraud, reason } => {
                let rid = request_id(&id)?;
                let r = if fraud {
                    self.emulator.deny_fraud(&rid, reason.as_deref())
                } else {
                    self.emulator.deny(&rid, reason.as_deref())
                };
                r.map_err(|e| lk_error(e, &id))?;
                Ok(json!({"id": id, "state": "denied", "fraud": fraud}))
            }
            Control::Fail { id, reason } => {
                let rid = request_id(&id)?;
                let reason = match reason.as_deref().unwrap_or("SENSOR") {
                    "POLICY" => AuthResponseReason::Policy,
                    "PERMISSION" => AuthResponseReason::Permission,
                    "AUTHENTICATION" => AuthResponseReason::Authentication,
                    "CONFIGURATION" => AuthResponseReason::Configuration,
                    "BUSY_LOCAL" => AuthResponseReason::BusyLocal,
                    _ => AuthResponseReason::Sensor,
                };
                self.emulator
                    .fail(&rid, reason)
                    .map_err(|e| lk_error(e, &id))?;
                Ok(json!({"id": id, "state": "failed"}))
            }
            Control::Expire { id } => {
                let rid = request_id(&id)?;
                self.emulator.expire(&rid).map_err(|e| lk_error(e, &id))?;
                Ok(json!({"id": id, "state": "expired"}))
            }
            Control::RotateKeys => {
                let kid = self
                    .emulator
                    .rotate_api_key()
                    .map_err(|e| ControlError::Conflict(e.to_string()))?;
                Ok(json!({"kid": kid}))
            }
            Control::InjectFault { fault } => {
                let f = if fault.status == 429 {
                    launchkey::emulator::Fault::RateLimited(fault.retry_after)
                } else {
                    launchkey::emulator::Fault::Status(fault.status)
                };
                for _ in 0..fault.times {
                    self.emulator
                        .inject(f.clone())
                        .map_err(|e| ControlError::Invalid(e.to_string()))?;
                }
                Ok(json!({"injected": fault.times}))
            }
            Control::ListPending => Ok(serde_json::to_value(
                self.pending()
                    .iter()
                    .map(crate::served::pending_json)
                    .collect::<Vec<_>>(),
            )
            .unwrap_or_default()),
            Control::Provider { body } => self.provider_command(&body),
            other => Err(ControlError::Unsupported {
                provider: launchkey::PROVIDER,
                command: other.name(),
            }),
        }
    }

    fn pending(&self) -> Vec<PendingStepUp> {
        let users = auth_core::sync::lock(&self.users).clone();
        let now = std::time::SystemTime::now();
        users
            .iter()
            .filter_map(|u| {
                let id = self.emulator.pending_request(u)?;
                Some(
                    PendingStepUp::new(
                        launchkey::PROVIDER,
                        id.as_str(),
                        u.as_str(),
                        "Authorization request",
                        now,
                    )
                    .with_title("LaunchKey"),
                )
            })
            .collect()
    }
}
