//! LogonBox: the Authenticator API (key listing, direct signing, the browser's signing page).
//! Each user's phone answers as its behaviour says (approve by default).
//!
//! `add_user` details: `{"keys": ["ed25519", "rsa"]}` (default: one Ed25519 key); the answer
//! lists the user's public keys (authorized_keys lines).
//! Provider commands: `{"behaviour": "approve" | "reject" | "fail", "user": "…"}`.

use std::sync::Arc;

use auth_core::emulator::{Control, ControlError, Model, PendingStepUp};
use auth_core::{HttpRequest, HttpResponse};
use logonbox::KeyType;
use logonbox::emulator::{Behaviour, Emulator};
use serde_json::{Map, Value, json};

use super::proxy::Upstream;
use super::{Built, Ctx};
use crate::{Provider, StartError};

const P: Provider = Provider::Logonbox;

pub(crate) async fn build(_ctx: &Ctx<'_>) -> Result<Built, StartError> {
    let emulator = Emulator::start().await;
    let upstream = Upstream::new(P, &emulator.uri())?;
    Ok(Built {
        model: Arc::new(Logonbox { emulator, upstream }),
        api_path: "",
        info: Map::new(),
    })
}

struct Logonbox {
    emulator: Emulator,
    upstream: Upstream,
}

#[async_trait::async_trait]
impl Model for Logonbox {
    fn provider(&self) -> &'static str {
        "logonbox"
    }

    async fn handle(&self, request: HttpRequest) -> HttpResponse {
        self.upstream.forward(request).await
    }

    fn control(&self, command: Control) -> Result<Value, ControlError> {
        match command {
            Control::AddUser { user, details } => {
                let types = match details.get("keys").and_then(Value::as_array) {
                    None => vec![KeyType::Ed25519],
                    Some(list) => list
                        .iter()
                        .map(|t| match t.as_str() {
                            Some("ed25519") => Ok(KeyType::Ed25519),
                            Some("rsa") => Ok(KeyType::Rsa),
                            _ => Err(ControlError::Invalid(format!(
                                "key type {t} (ed25519 or rsa)"
                            ))),
                        })
                        .collect::<Result<_, _>>()?,
                };
                let keys = self
                    .emulator
                    .add_user(&user, &types)
                    .map_err(|e| ControlError::Invalid(e.to_string()))?;
                let lines: Vec<String> = keys.iter().map(logonbox::AuthorizedKey::to_line).collect();
                Ok(json!({"user": user, "authorized_keys": lines}))
            }
            Control::Provider { body } => {
                let user = body.get("user").and_then(Value::as_str);
                let behaviour = match body.get("behaviour").and_then(Value::as_str) {
                    Some("approve") => Behaviour::Approve,
                    Some("reject") => Behaviour::reject(),
                    Some("fail") => Behaviour::Fail {
                        message: "The server failed.".into(),
                    },
                    _ => {
                        return Err(ControlError::Invalid(
                            "logonbox's provider command: {\"behaviour\": \"approve\"|\"reject\"|\"fail\", \"user\": ...}".into(),
                        ));
                    }
                };
                let user =
                    user.ok_or_else(|| ControlError::Invalid("`user` is missing".into()))?;
                self.emulator.set_behaviour(user, behaviour);
                Ok(json!({"user": user}))
            }
            other => Err(ControlError::Unsupported {
                provider: "logonbox",
                command: other.name(),
            }),
        }
    }

    fn pending(&self) -> Vec<PendingStepUp> {
        Vec::new()
    }
}
