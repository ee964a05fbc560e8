//! Onegini: the crate's Token Server model (`onegini_model::emulator::TokenServer`) for one
//! application, on the server's clock. Its pending step-ups are login sessions waiting at the
//! IdP (the login or the consent page).

use std::sync::Arc;

use onegini_model::emulator::{
    AppConfig, AppVersion, DEFAULT_APP_IDENTIFIER, DEFAULT_APP_VERSION, DEFAULT_REDIRECT_URI,
    Emulator,
};
use serde_json::{Map, json};

use super::{Built, Ctx};
use crate::{Provider, StartError};

const P: Provider = Provider::OneginiModel;
/// The password of users created without one.
const DEFAULT_PASSWORD: &str = "password1";

pub(crate) async fn build(ctx: &Ctx<'_>) -> Result<Built, StartError> {
    let identifier = ctx.setting("identifier").unwrap_or(DEFAULT_APP_IDENTIFIER);
    let redirect_uri = ctx.setting("redirect_uri").unwrap_or(DEFAULT_REDIRECT_URI);
    let version = ctx.setting("version").unwrap_or(DEFAULT_APP_VERSION);
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
    let model = Emulator::builder()
        .app(app)
        .clock(ctx.clock.clone())
        .build_model()
        .map_err(|e| StartError::provider(P, e))?;
    let mut info = Map::new();
    info.insert("identifier".into(), json!(identifier));
    info.insert("redirect_uri".into(), json!(redirect_uri));
    info.insert("version".into(), json!(version));
    info.insert("platform".into(), json!(platform));
    info.insert("application_signature".into(), json!(signature));
    Ok(Built {
        model: Arc::new(model),
        api_path: "",
        info,
        default_user_details: json!({ "password": DEFAULT_PASSWORD }),
        outbox: None,
    })
}
