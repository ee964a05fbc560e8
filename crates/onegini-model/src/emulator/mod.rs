//! The Token Server model (feature `emulator`): a protocol model of Onegini's Token Server and
//! its IdP ([`TokenServer`], an [`auth_core::emulator::Model`]: HTTP request in, response
//! out, control commands, an injected clock, no socket of its own), served on a loopback port
//! by [`Emulator`], plus an [`EmulatedBrowser`] that plays the user at the IdP's login and
//! consent pages (real HTML pages the model serves).
//!
//! The endpoints and what the model keeps are described in [`crate::docs::token_server`];
//! the control commands on [`TokenServer`]'s `Model` implementation.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use auth_core::emulator::Control;
//! use onegini_model::emulator::{AdminCommand, Consent, Emulator};
//! use onegini_model::testing::ScriptedUser;
//! use onegini_model::{Client, MemoryStorage};
//!
//! let emu = Emulator::builder().user("alice", "correct horse").start().await?;
//! let client = Client::builder(emu.client_config().build()?, Arc::new(MemoryStorage::new()))
//!     .base_url(emu.base_url())
//!     .build()?;
//! let browser = emu.browser("alice", "correct horse", Consent::Allow)?;
//! client.register_user(&[], &browser, &ScriptedUser::typing(["31415"])).await?;
//!
//! // The administrator revokes Alice's tokens: the next start removes her profile.
//! emu.control(AdminCommand::RevokeUserTokens { user: "alice".into() }.into())?;
//! assert_eq!(client.start().await?.len(), 1);
//! let log = emu.control(Control::ReadLog { limit: Some(1) })?;
//! assert_eq!(log[0]["path"], "/oauth/v1/client/status");
//! # Ok(()) }
//! ```

mod browser;
mod endpoints;
mod model;
mod records;

use std::sync::Arc;

use auth_core::emulator::Served;

pub use auth_core::emulator::EmulatorClock;
pub use browser::{BrowserError, Consent, EmulatedBrowser};
pub use model::{
    AdminCommand, AppConfig, AppVersion, LOG_CAPACITY, LOGGED_REQUEST_LIMIT, MAX_RECORDS,
    RecordCounts, TokenServer, VersionStatus,
};

use crate::client::{ApplicationSignature, ClientConfig, ClientConfigBuilder};

/// The application identifier of the default app ([`EmulatorBuilder::app`] replaces it).
pub const DEFAULT_APP_IDENTIFIER: &str = "ExampleApp";
/// The redirect URI of the default app.
pub const DEFAULT_REDIRECT_URI: &str = "oneginiexample://loginsuccess";
/// The version of the default app (platform `android`).
pub const DEFAULT_APP_VERSION: &str = "1.0.0";

auth_core::served_emulator! {
    /// A [`TokenServer`] served on a loopback port (until dropped): auth-core's [`Served`] model.
    /// [`base_url`](Served::base_url) is the Token Server's (what
    /// [`crate::ClientBuilder::base_url`] takes); [`control`](Served::control),
    /// [`pending`](Served::pending) (the login sessions waiting at the IdP),
    /// [`model`](Served::model), [`in_process`](Served::in_process) (give it to
    /// [`crate::ClientBuilder::http_client`] and [`EmulatedBrowser::new`]) and the model's Rust
    /// control methods are called on it directly. `Emulator::start()` starts one with the
    /// defaults (the default app with a fresh random signature, no users, real time that
    /// `advance_clock` can move).
    pub struct Emulator(Served<TokenServer>);
    builder: EmulatorBuilder;
}

impl Emulator {
    /// The client configuration of the served app's first version (identifier, platform,
    /// version, signature, redirect URI); add device settings and build it.
    pub fn client_config(&self) -> ClientConfigBuilder {
        let app = self.app();
        let mut builder = ClientConfig::builder()
            .app_identifier(app.identifier.clone())
            .redirect_uri(app.redirect_uri.clone());
        if let Some(version) = app.versions.first() {
            builder = builder
                .app_platform(version.platform.clone())
                .app_version(version.version.clone());
            if let Some(signature) = version.signatures.first() {
                builder = builder.signature(signature.clone());
            }
        }
        builder
    }

    /// An emulated browser over the socket that logs in as `username` and answers the
    /// consent.
    pub fn browser(
        &self,
        username: &str,
        password: &str,
        consent: Consent,
    ) -> Result<EmulatedBrowser, crate::Error> {
        EmulatedBrowser::new(
            self.base_url().clone(),
            &auth_core::Config::new(),
            username,
            password,
            consent,
        )
    }

    /// The same browser, talking to the model in process (no socket).
    pub fn in_process_browser(
        &self,
        username: &str,
        password: &str,
        consent: Consent,
    ) -> Result<EmulatedBrowser, crate::Error> {
        EmulatedBrowser::new(
            self.base_url().clone(),
            &auth_core::Config::new().http_client(self.in_process()),
            username,
            password,
            consent,
        )
    }
}

/// Describes an [`Emulator`]: the app the Token Server knows, its IdP users, its clock.
#[derive(Debug, Default)]
pub struct EmulatorBuilder {
    app: Option<AppConfig>,
    users: Vec<(String, String)>,
    clock: EmulatorClock,
    address: Option<String>,
}

impl EmulatorBuilder {
    /// The application (default: [`DEFAULT_APP_IDENTIFIER`] version [`DEFAULT_APP_VERSION`]
    /// on android, redirect [`DEFAULT_REDIRECT_URI`], a fresh random signature).
    pub fn app(mut self, app: AppConfig) -> Self {
        self.app = Some(app);
        self
    }

    /// Adds an IdP user.
    pub fn user(mut self, username: &str, password: &str) -> Self {
        self.users.push((username.to_owned(), password.to_owned()));
        self
    }

    /// The clock: an [`auth_core::emulator::OffsetClock`] (the default), an
    /// [`auth_core::FakeClock`] (tests; `advance_clock` moves it too) or any
    /// [`auth_core::SharedClock`].
    pub fn clock(mut self, clock: impl Into<EmulatorClock>) -> Self {
        self.clock = clock.into();
        self
    }

    /// The address to listen on (default `127.0.0.1:0`, a free loopback port).
    pub fn address(mut self, address: &str) -> Self {
        self.address = Some(address.to_owned());
        self
    }

    /// The model alone, with no socket (for the emulator server binary, or in process).
    pub fn build_model(self) -> std::io::Result<TokenServer> {
        let app = match self.app {
            Some(app) => app,
            None => default_app().map_err(std::io::Error::other)?,
        };
        let model = TokenServer::new(app, self.clock);
        for (user, password) in &self.users {
            model.add_user(user, password);
        }
        Ok(model)
    }

    /// Serves the model on a loopback port.
    pub async fn start(self) -> std::io::Result<Emulator> {
        let address = self
            .address
            .clone()
            .unwrap_or_else(|| "127.0.0.1:0".to_owned());
        let model = Arc::new(self.build_model()?);
        Ok(Emulator(Served::start_on(model, &address).await?))
    }
}

/// The default app, with a fresh random signature.
fn default_app() -> Result<AppConfig, crate::Error> {
    let signature = ApplicationSignature::new(crate::crypto::random_hex(16)?);
    AppConfig::new(
        DEFAULT_APP_IDENTIFIER,
        DEFAULT_REDIRECT_URI,
        AppVersion::new(DEFAULT_APP_VERSION, "android", signature),
    )
}
