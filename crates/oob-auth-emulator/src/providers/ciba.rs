//! CIBA: the crate's OpenID Provider model (`ciba::emulator::Model`), on the server's clock,
//! its issuer the URL it is served at. One client is printed (the model's default, or the one
//! the settings describe); ping and push notifications are delivered by the server to the
//! client's notification endpoint (see `crate::delivery`).

use std::sync::Arc;

use auth_core::HttpRequest;
use auth_core::emulator::{Control, Model as _};
use ciba::emulator::{
    BACKCHANNEL_PATH, DEFAULT_CLIENT_ID, DISCOVERY_PATH, Emulator, JWKS_PATH, Model, TOKEN_PATH,
};
use serde_json::{Map, Value, json};

use super::{Built, Ctx};
use crate::delivery::Outbox;
use crate::{Provider, StartError};

const P: Provider = Provider::Ciba;

pub(crate) async fn build(ctx: &Ctx<'_>) -> Result<Built, StartError> {
    let err = |e: &dyn std::fmt::Display| StartError::provider(P, e);
    let mut builder = Emulator::builder()
        .issuer(ctx.base_url)
        .clock(ctx.clock.clone())
        .log_capacity(ctx.log_capacity);
    let interval = ctx.number(P, "interval")?;
    if interval.is_some() {
        builder = builder.interval(interval);
    }
    if let Some(expiry) = ctx.number(P, "expiry")? {
        builder = builder.expiry(expiry);
    }
    let model = builder.model().map_err(|e| err(&e))?;

    // The printed client: the model's default id with a secret made at start (as the other
    // providers' keys and secrets are), unless the settings describe another.
    let client_id = ctx.setting("client_id").unwrap_or(DEFAULT_CLIENT_ID);
    let client_secret = ctx.setting("client_secret").map_or_else(
        || format!("ciba-{}", uuid::Uuid::new_v4().simple()),
        str::to_owned,
    );
    let auth_method = ctx
        .setting("token_endpoint_auth_method")
        .unwrap_or("client_secret_basic");
    let mode = ctx.setting("delivery_mode").unwrap_or("poll");
    let endpoint = ctx.setting("notification_endpoint");
    if let Some(url) = endpoint {
        super::check_url(P, "notification_endpoint", url)?;
    }
    let mut registration = json!({
        "client_id": client_id,
        "client_secret": client_secret,
        "token_endpoint_auth_method": auth_method,
        "backchannel_token_delivery_mode": mode,
    });
    if let (Some(url), Some(r)) = (endpoint, registration.as_object_mut()) {
        r.insert(
            "backchannel_client_notification_endpoint".into(),
            json!(url),
        );
    }
    let register = |registration: Value| {
        model
            .control(Control::Provider {
                body: json!({ "register_client": registration }),
            })
            .map_err(|e| err(&e))
    };
    register(registration)?;
    // More clients: OpenID registration metadata, as the `register_client` command takes.
    match ctx.settings.get("clients") {
        None | Some(Value::Null) => {}
        Some(Value::Array(clients)) => {
            for client in clients {
                register(client.clone())?;
            }
        }
        Some(_) => return Err(err(&"setting `clients`: a list of client registrations")),
    }

    let issuer = ctx.base_url.trim_end_matches('/');
    let mut info = Map::new();
    info.insert("issuer".into(), json!(issuer));
    info.insert(
        "discovery_url".into(),
        json!(format!("{issuer}{DISCOVERY_PATH}")),
    );
    info.insert(
        "backchannel_authentication_endpoint".into(),
        json!(format!("{issuer}{BACKCHANNEL_PATH}")),
    );
    info.insert(
        "token_endpoint".into(),
        json!(format!("{issuer}{TOKEN_PATH}")),
    );
    info.insert("jwks_uri".into(), json!(format!("{issuer}{JWKS_PATH}")));
    info.insert("client_id".into(), json!(client_id));
    info.insert("client_secret".into(), json!(client_secret));
    info.insert("token_endpoint_auth_method".into(), json!(auth_method));
    info.insert("delivery_mode".into(), json!(mode));
    if let Some(url) = endpoint {
        info.insert("notification_endpoint".into(), json!(url));
    }
    let interval = interval.unwrap_or(ciba::emulator::DEFAULT_INTERVAL);
    info.insert("interval".into(), json!(interval));

    let model = Arc::new(model);
    Ok(Built {
        model: model.clone(),
        api_path: "",
        info,
        default_user_details: Value::Null,
        outbox: Some(Arc::new(Notifications(model))),
    })
}

/// The model's ping and push notifications, for the server to deliver.
struct Notifications(Arc<Model>);

impl Outbox for Notifications {
    fn take(&self) -> Vec<HttpRequest> {
        self.0.take_notifications()
    }

    /// A push client is told when a request's time runs out, with nothing else happening.
    fn ticks(&self) -> bool {
        true
    }
}
