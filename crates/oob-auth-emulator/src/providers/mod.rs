//! One small module per provider: it builds the provider's protocol model from the settings
//! and says what a client needs to talk to it (ids, keys, secrets).

use std::path::Path;
use std::sync::Arc;

use auth_core::emulator::{Model, OffsetClock};
use serde_json::{Map, Value};

use crate::delivery::Outbox;
use crate::{Provider, StartError};

mod airlock_iam;
mod authsignal;
mod ciba;
mod launchkey;
mod logonbox;
mod onegini_model;

/// What a provider module gets to build its model.
pub(crate) struct Ctx<'a> {
    /// The provider's own URL (`http://127.0.0.1:4701`): for the links its pages hand out.
    pub(crate) base_url: &'a str,
    /// The server's clock.
    pub(crate) clock: OffsetClock,
    /// How many requests a model's own log keeps.
    pub(crate) log_capacity: usize,
    /// Where generated keys go.
    pub(crate) dir: &'a Path,
    /// The provider's `settings` from the config file (`null` when none).
    pub(crate) settings: &'a Value,
}

impl Ctx<'_> {
    /// A string setting.
    pub(crate) fn setting(&self, name: &str) -> Option<&str> {
        self.settings.get(name).and_then(Value::as_str)
    }

    /// A whole-number setting: a JSON number, or a string of digits (as `--setting` gives).
    pub(crate) fn number(&self, provider: Provider, name: &str) -> Result<Option<u64>, StartError> {
        match self.settings.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
                StartError::provider(
                    provider,
                    format!("setting `{name}`: {n} is not a whole number"),
                )
            }),
            Some(Value::String(s)) => s.parse().map(Some).map_err(|_| {
                StartError::provider(
                    provider,
                    format!("setting `{name}`: `{s}` is not a whole number"),
                )
            }),
            Some(other) => Err(StartError::provider(
                provider,
                format!("setting `{name}`: {other} is not a whole number"),
            )),
        }
    }

    /// The clock, as providers take it.
    pub(crate) fn shared_clock(&self) -> auth_core::SharedClock {
        Arc::new(self.clock.clone())
    }
}

/// A built provider.
pub(crate) struct Built {
    pub(crate) model: Arc<dyn Model>,
    /// What the official SDKs append to the port's URL to get their base URL (`/v1`).
    pub(crate) api_path: &'static str,
    /// What a client needs beyond the URL: ids, keys, secrets.
    pub(crate) info: Map<String, Value>,
    /// The `add_user` details of a user created without any (`--user alice`).
    pub(crate) default_user_details: Value,
    /// What the model queues for the server to send (webhooks, notifications), if anything.
    pub(crate) outbox: Option<Arc<dyn Outbox>>,
}

pub(crate) async fn build(provider: Provider, ctx: &Ctx<'_>) -> Result<Built, StartError> {
    match provider {
        Provider::Launchkey => launchkey::build(ctx).await,
        Provider::Authsignal => authsignal::build(ctx).await,
        Provider::AirlockIam => airlock_iam::build(ctx).await,
        Provider::Logonbox => logonbox::build(ctx).await,
        Provider::OneginiModel => onegini_model::build(ctx).await,
        Provider::Ciba => ciba::build(ctx).await,
    }
}

/// `url` as an absolute `http` or `https` URL, or why it is not one.
pub(crate) fn absolute_http_url(url: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = url.parse().map_err(|_| format!("`{url}` is not a URL"))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http" | "https"), Some(_)) => Ok(uri),
        _ => Err(format!("`{url}` is not an absolute http or https URL")),
    }
}

/// Checks that a URL setting is an absolute `http` or `https` URL, and returns it parsed.
pub(crate) fn check_url(
    provider: Provider,
    name: &str,
    url: &str,
) -> Result<http::Uri, StartError> {
    absolute_http_url(url)
        .map_err(|why| StartError::provider(provider, format!("setting `{name}`: {why}")))
}

/// Writes a private key file readable by its owner only.
pub(crate) fn write_private(path: &Path, text: &str) -> Result<(), StartError> {
    crate::tls::write_private(path, text.as_bytes()).map_err(|e| StartError::io(path, e))
}
