//! The emulated browser: plays the user at the IdP's login and consent pages over HTTP.

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use auth_core::sync::lock;
use auth_core::{BaseUrl, Replay, Transport};
use http::Method;
use url::Url;

use crate::client::{BrowserRegistrationAnswer, BrowserRegistrationHandler};
use crate::wire::{self, SecretField};

/// What the user does on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Consent {
    /// Allow the requested scopes.
    Allow,
    /// Deny them (the app receives `error=access_denied`).
    Deny,
    /// Close the browser without finishing (the app calls `denyRegistration`).
    CloseBrowser,
}

/// A failure while playing the browser.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrowserError {
    /// The HTTP call failed.
    #[error("browser request failed: {0}")]
    Http(#[from] auth_core::Error),
    /// A page answered something a browser could not follow.
    #[error("unexpected page: {0}")]
    Unexpected(String),
}

/// An emulated browser: follows the authorize redirect, logs in at the IdP, answers the
/// consent, and hands the redirect to the app's scheme back. Implements
/// [`BrowserRegistrationHandler`], so it can be passed to
/// [`crate::Client::register_user`] directly.
#[derive(Clone)]
pub struct EmulatedBrowser {
    transport: Transport,
    username: String,
    password: SecretField,
    consent: Consent,
    trail: Arc<Mutex<Vec<String>>>,
}

impl fmt::Debug for EmulatedBrowser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatedBrowser")
            .field("username", &self.username)
            .field("consent", &self.consent)
            .finish_non_exhaustive()
    }
}

impl EmulatedBrowser {
    /// A browser that talks to the Token Server at `base_url` with the transport settings of
    /// `config` (its HTTP client: a socket client by default, or the model in process), logs
    /// in as `username` and answers the consent. Redirects are read, never followed by the
    /// HTTP client, so each hop is visible and checked; the browser refuses to leave
    /// `base_url`'s origin.
    pub fn new(
        base_url: BaseUrl,
        config: &auth_core::Config,
        username: &str,
        password: &str,
        consent: Consent,
    ) -> Result<EmulatedBrowser, crate::Error> {
        let transport = config.clone().build(
            base_url,
            "onegini-model-emulated-browser",
            env!("CARGO_PKG_VERSION"),
        )?;
        Ok(EmulatedBrowser {
            transport,
            username: username.into(),
            password: SecretField::new(password),
            consent,
            trail: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// The pages visited (method and path, never query secrets such as codes).
    pub fn trail(&self) -> Vec<String> {
        lock(&self.trail).clone()
    }

    fn note(&self, method: &str, url: &Url) {
        lock(&self.trail).push(format!("{method} {}", url.path()));
    }

    async fn fetch(
        &self,
        method: Method,
        url: &Url,
        form: Option<String>,
    ) -> Result<(u16, Option<String>), BrowserError> {
        self.note(method.as_str(), url);
        if url.origin() != self.transport.base_url().url().origin() {
            return Err(BrowserError::Unexpected(format!(
                "the browser was sent off the Token Server to {}",
                url.origin().ascii_serialization()
            )));
        }
        let mut builder = http::Request::builder().method(method).uri(url.as_str());
        if form.is_some() {
            builder = builder.header("content-type", "application/x-www-form-urlencoded");
        }
        let request = builder
            .body(form.unwrap_or_default().into_bytes())
            .map_err(|e| BrowserError::Unexpected(e.to_string()))?;
        let response = self
            .transport
            .send_reading_redirect(request, Replay::Never)
            .await?;
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok((response.status().as_u16(), location))
    }

    fn follow(current: &Url, status: u16, location: Option<String>) -> Result<Url, BrowserError> {
        match (status, location) {
            (302 | 303, Some(loc)) => current
                .join(&loc)
                .map_err(|e| BrowserError::Unexpected(format!("bad location: {e}"))),
            (status, _) => Err(BrowserError::Unexpected(format!(
                "HTTP {status} where a redirect was expected"
            ))),
        }
    }

    /// Plays the whole browser part for an authorization URL and returns the redirect to the
    /// app's scheme (`code` or `error`).
    pub async fn run(&self, authorize_url: &Url) -> Result<Url, BrowserError> {
        let (status, location) = self.fetch(Method::GET, authorize_url, None).await?;
        let login = Self::follow(authorize_url, status, location)?;
        if login.scheme() != authorize_url.scheme() {
            // Redirected straight back to the app (an error before the login).
            return Ok(login);
        }
        let session = login
            .query_pairs()
            .find(|(k, _)| k == "session")
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| BrowserError::Unexpected("no login session".into()))?;
        let (status, _) = self.fetch(Method::GET, &login, None).await?;
        if status != 200 {
            return Err(BrowserError::Unexpected(format!(
                "login page answered HTTP {status}"
            )));
        }
        let form = wire::form(&[
            ("session", &session),
            ("username", &self.username),
            ("password", self.password.expose_secret()),
        ]);
        let (status, location) = self.fetch(Method::POST, &login, Some(form)).await?;
        if status == 200 {
            return Err(BrowserError::Unexpected("the IdP refused the login".into()));
        }
        let consent = Self::follow(&login, status, location)?;
        let (status, _) = self.fetch(Method::GET, &consent, None).await?;
        if status != 200 {
            return Err(BrowserError::Unexpected(format!(
                "consent page answered HTTP {status}"
            )));
        }
        let decision = if self.consent == Consent::Allow {
            "allow"
        } else {
            "deny"
        };
        let form = wire::form(&[("session", &session), ("decision", decision)]);
        let (status, location) = self.fetch(Method::POST, &consent, Some(form)).await?;
        Self::follow(&consent, status, location)
    }
}

#[async_trait]
impl BrowserRegistrationHandler for EmulatedBrowser {
    async fn start_registration(&self, url: Url) -> BrowserRegistrationAnswer {
        if self.consent == Consent::CloseBrowser {
            return BrowserRegistrationAnswer::Deny;
        }
        match self.run(&url).await {
            Ok(callback) => BrowserRegistrationAnswer::Callback(callback),
            Err(e) => {
                lock(&self.trail).push(format!("browser failed: {e}"));
                BrowserRegistrationAnswer::Deny
            }
        }
    }
}
