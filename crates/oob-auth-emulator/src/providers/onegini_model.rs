//! Onegini: the Token Server model for one application (identifier, version, platform and
//! signature printed at start) and its IdP's login and consent pages (a browser registers a
//! user there). Users are IdP users.
//!
//! Settings: `identifier`, `redirect_uri`, `version`, `platform`, `signature` (defaults:
//! `oob-auth-app`, `oobauthapp://callback`, `1.0.0`, `android`, a random signature).
//! `add_user` details: `{"password": "…"}` (default `password1`).

use std::sync::Arc;

use auth_core::emulator::{Control, ControlError, Model, PendingStepUp};
use auth_core::{HttpRequest, HttpResponse};
use onegini_model::emulator::{AppConfig, AppVersion, TokenServer};
use serde_json::{Map, Value, json};

use super::proxy::Upstream;
use super::{Built, Ctx};
use crate::{Provider, StartError};

const P: Provider = Provider::OneginiModel;
const DEFAULT_PASSWORD: &str = "password1";

pub(crate) async fn build(ctx: &Ctx<'_>) -> Result<Built, StartError> {
    let identifier = ctx.setting("identifier").unwrap_or("oob-auth-app");
    let redirect_uri = ctx.setting("redirect_uri").unwrap_or("oobauthapp://callback");
    let version = ctx.setting("version").unwrap_or("1.0.0");
    let platform = ctx.setting("platform").unwrap_or("android");
    let signature = match ctx.setting("signature") {
        Some(s) => s.to_owned(),
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    let app = AppConfig::new(
        identifier,
        redirect_uri,
        AppVersion::new(
            version,
            platform,
            onegini_model::ApplicationSignature::new(signature.clone()),
        ),
    )
    .map_err(|e| StartError::provider(P, e))?;
    let server = TokenServer::start(app, ctx.shared_clock()).await;
    let upstream = Upstream::new(P, &server.uri())?;
    let mut info = Map::new();
    info.insert("identifier".into(), json!(identifier));
    info.insert("redirect_uri".into(), json!(redirect_uri));
    info.insert("version".into(), json!(version));
    info.insert("platform".into(), json!(platform));
    info.insert("application_signature".into(), json!(signature));
    Ok(Built {
        model: Arc::new(Onegini { server, upstream }),
        api_path: "",
        info,
    })
}

struct Onegini {
    server: TokenServer,
    upstream: Upstream,
}

#[async_trait::async_trait]
impl Model for Onegini {
    fn provider(&self) -> &'static str {
        "onegini-model"
    }

    async fn handle(&self, request: HttpRequest) -> HttpResponse {
        self.upstream.forward(request).await
    }

    fn control(&self, command: Control) -> Result<Value, ControlError> {
        match command {
            Control::AddUser { user, details } => {
                let password = details
                    .get("password")
                    .and_then(Value::as_str)
                    .unwrap_or(DEFAULT_PASSWORD);
                let user_id = self.server.add_user(&user, password);
                Ok(json!({"user": user, "user_id": user_id, "password": password}))
            }
            other => Err(ControlError::Unsupported {
                provider: "onegini-model",
                command: other.name(),
            }),
        }
    }

    fn pending(&self) -> Vec<PendingStepUp> {
        Vec::new()
    }
}
