//! The client side: what the Onegini SDK does for the app ([`Client`]).
//!
//! Handlers mirror the SDK's (spec §5.6): the app implements [`BrowserRegistrationHandler`]
//! (open the browser URL, hand back the redirect or deny), [`CreatePinHandler`] (collect a new
//! PIN, again after a policy error), [`PinAuthenticationHandler`] (collect the PIN, again with the
//! attempt counter after a wrong one) and [`FingerprintHandler`] (the OS fingerprint prompt).
//! Where the SDK hands the app a callback object (`OneginiPinCallback.acceptAuthenticationRequest`
//! / `denyAuthenticationRequest`, `handleRegistrationCallback` / `denyRegistration`), the Rust
//! handler *returns* the answer ([`PinAnswer`], [`BrowserRegistrationAnswer`]).
//!
//! Secrets: the access token lives only in memory; the refresh token is stored only sealed
//! under the PIN ([`crate::hazmat::PinProtectedSecret`], untagged, spec §3.3); the PIN is never
//! stored or sent; the client secret stays in the [`Storage`].

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::{BaseUrl, ConfigError, Replay, Transport};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use url::Url;
use zeroize::Zeroizing;

use crate::crypto::{self, PinProtectedSecret};
use crate::error::{Error, config_error};
use crate::hazmat::ocra::{OcraInputs, OcraSuite};
use crate::hex;
use crate::keystore::{Keystore, KeystoreError};
use crate::pin::{Pin, PinPolicy, PinValidationError};
use crate::storage::{
    Storage, StorageError, StoredCredentials, StoredFingerprint, StoredProfile, StoredState,
};
use crate::wire::{self, SecretField};
use auth_core::secret::constant_time_eq;
use auth_core::sync::lock;

auth_core::secret_type! {
    /// The application signature configured for the app version on the Token Server (signing
    /// certificate fingerprint, iOS App ID or binary checksum text). Its UTF-8 bytes are the
    /// DCR OCRA key (model choice, spec §3.1).
    pub struct ApplicationSignature;
}

auth_core::secret_type! {
    /// An access token (in memory only).
    struct AccessToken;
}

/// The model's default DCR suite (spec §3.1, model choice).
pub(crate) const DEFAULT_DCR_SUITE: &str = "OCRA-1:HOTP-SHA256-8:QH64-T1M";

/// Fingerprint mismatches the model's "OS" allows before it locks the sensor out (which the
/// SDK treats like a sensor error: fingerprint is revoked and PIN is used).
pub(crate) const FINGERPRINT_MAX_MISMATCHES: u32 = 5;

auth_core::id_type! {
    /// The client id the Token Server issued at DCR (64 uppercase hex characters in the
    /// model). Not a secret: the app may read it (the client secret stays in the [`Storage`]).
    pub struct ClientId("client id", max = 256);
}

/// A user profile: an opaque value with a profile id (`"W8DUJ2"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserProfile {
    profile_id: String,
}

impl UserProfile {
    /// A profile value for an id (e.g. one the app kept).
    pub fn new(profile_id: impl Into<String>) -> Self {
        UserProfile {
            profile_id: profile_id.into(),
        }
    }

    /// The profile id.
    pub fn profile_id(&self) -> &str {
        &self.profile_id
    }
}

impl fmt::Display for UserProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.profile_id)
    }
}

/// Authenticator types (documented values: `PIN = 0`, `FINGERPRINT = 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Authenticator {
    /// The PIN, always registered, cannot be deregistered.
    Pin,
    /// The fingerprint authenticator.
    Fingerprint,
}

impl Authenticator {
    /// The SDK's numeric type.
    pub fn type_code(self) -> u8 {
        match self {
            Authenticator::Pin => 0,
            Authenticator::Fingerprint => 1,
        }
    }
}

/// `AuthenticationAttemptCounter`: values from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptCounter {
    failed_attempts: u32,
    max_attempts: u32,
}

impl AttemptCounter {
    /// A counter.
    pub fn new(failed_attempts: u32, max_attempts: u32) -> Self {
        AttemptCounter {
            failed_attempts,
            max_attempts,
        }
    }

    /// Failed attempts so far.
    pub fn failed_attempts(&self) -> u32 {
        self.failed_attempts
    }

    /// The maximum.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// `max − failed`.
    pub fn remaining_attempts(&self) -> u32 {
        self.max_attempts.saturating_sub(self.failed_attempts)
    }
}

/// The app's answer to a PIN request (`OneginiPinCallback`).
#[derive(Debug)]
#[non_exhaustive]
pub enum PinAnswer {
    /// `acceptAuthenticationRequest(pin)`.
    Accept(Pin),
    /// `denyAuthenticationRequest()`.
    Deny,
}

/// The app's answer to the browser step (`OneginiBrowserRegistrationCallback`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BrowserRegistrationAnswer {
    /// `handleRegistrationCallback(uri)`: the redirect to the app's scheme.
    Callback(Url),
    /// `denyRegistration()`.
    Deny,
}

/// `OneginiBrowserRegistrationRequestHandler`.
#[async_trait]
pub trait BrowserRegistrationHandler: Send + Sync {
    /// Open `url` in a browser; answer with the redirect to the app's scheme, or deny.
    async fn start_registration(&self, url: Url) -> BrowserRegistrationAnswer;
}

/// `OneginiCreatePinRequestHandler`. The PIN confirmation (second entry) is the app's job.
#[async_trait]
pub trait CreatePinHandler: Send + Sync {
    /// Ask the user for a new PIN of `pin_length` digits.
    async fn start_pin_creation(&self, profile: &UserProfile, pin_length: usize) -> PinAnswer;
    /// The last PIN broke the policy: show `error`, ask again.
    async fn on_next_pin_creation_attempt(&self, error: &PinValidationError) -> PinAnswer;
    /// PIN creation is over (successfully or not).
    async fn finish_pin_creation(&self) {}
}

/// The PIN part of `OneginiAuthenticationHandler`.
#[async_trait]
pub trait PinAuthenticationHandler: Send + Sync {
    /// Ask the user for the PIN of `profile`.
    async fn start_authentication(
        &self,
        profile: &UserProfile,
        counter: AttemptCounter,
    ) -> PinAnswer;
    /// The PIN was wrong: show the counter, ask again.
    async fn on_next_authentication_attempt(&self, counter: AttemptCounter) -> PinAnswer;
    /// Authentication is over (successfully or not).
    async fn finish_authentication(&self) {}
}

/// What the OS fingerprint prompt answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FingerprintScan {
    /// A registered finger: the OS releases the fingerprint token.
    Match,
    /// Another finger: the OS asks again (no server call, no PIN counter).
    NoMatch,
    /// The user cancelled.
    Canceled,
    /// The OS fingerprint API failed (e.g. lockout): fingerprint is revoked, PIN is used.
    SensorError,
}

/// The OS fingerprint prompt (the fingerprint part of `OneginiAuthenticationHandler`).
#[async_trait]
pub trait FingerprintHandler: Send + Sync {
    /// Show the prompt (attempt 1, 2, …) and report the result.
    async fn scan(&self, profile: &UserProfile, attempt: u32) -> FingerprintScan;
    /// Fingerprint authentication is over.
    async fn finish_authentication(&self) {}
}

/// The app configuration (spec §2.1): who the app is to the Token Server, and what the device
/// offers. Built with [`ClientConfig::builder`] (named steps); the Token Server's base URL is
/// given to [`Client::builder`]'s `base_url`.
///
/// ```
/// use onegini_model::{ApplicationSignature, ClientConfig};
///
/// let app = ClientConfig::builder()
///     .app_identifier("ExampleApp")
///     .app_platform("android")
///     .app_version("1.0.0")
///     .signature(ApplicationSignature::new("3F:1A:…:signing-cert-sha256"))
///     .redirect_uri("oneginiexample://loginsuccess")
///     .device_name("Pixel 8")
///     .build()?;
/// assert_eq!(app.redirect_uri().scheme(), "oneginiexample");
/// # Ok::<(), onegini_model::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientConfig {
    app_identifier: String,
    app_platform: String,
    app_version: String,
    signature: ApplicationSignature,
    redirect_uri: Url,
    device_name: Option<String>,
    dcr_suite: OcraSuite,
    pbkdf2_iterations: u32,
    fingerprint_sensor: bool,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("app_identifier", &self.app_identifier)
            .field("app_platform", &self.app_platform)
            .field("app_version", &self.app_version)
            .field("signature", &self.signature)
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("device_name", &self.device_name)
            .field("dcr_suite", &self.dcr_suite)
            .field("pbkdf2_iterations", &self.pbkdf2_iterations)
            .field("fingerprint_sensor", &self.fingerprint_sensor)
            .finish()
    }
}

impl ClientConfig {
    /// Starts a configuration: every step is named; [`ClientConfigBuilder::build`] checks that
    /// the required ones (identifier, platform, version, signature, redirect URI) were given.
    pub fn builder() -> ClientConfigBuilder {
        ClientConfigBuilder::default()
    }

    /// The redirect URI.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// The PBKDF2 iteration count for new PIN-protected tokens.
    pub fn pbkdf2_iterations(&self) -> u32 {
        self.pbkdf2_iterations
    }
}

/// Builds a [`ClientConfig`] step by step.
#[derive(Default)]
pub struct ClientConfigBuilder {
    app_identifier: Option<String>,
    app_platform: Option<String>,
    app_version: Option<String>,
    signature: Option<ApplicationSignature>,
    redirect_uri: Option<String>,
    device_name: Option<String>,
    dcr_suite: Option<String>,
    pbkdf2_iterations: Option<u32>,
    fingerprint_sensor: bool,
}

impl fmt::Debug for ClientConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfigBuilder")
            .field("app_identifier", &self.app_identifier)
            .field("app_platform", &self.app_platform)
            .field("app_version", &self.app_version)
            .field("signature", &self.signature)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl ClientConfigBuilder {
    /// The application identifier configured on the Token Server (required).
    pub fn app_identifier(mut self, identifier: impl Into<String>) -> Self {
        self.app_identifier = Some(identifier.into());
        self
    }

    /// The application platform, `android` or `ios` (required).
    pub fn app_platform(mut self, platform: impl Into<String>) -> Self {
        self.app_platform = Some(platform.into());
        self
    }

    /// The application version (required).
    pub fn app_version(mut self, version: impl Into<String>) -> Self {
        self.app_version = Some(version.into());
        self
    }

    /// The application signature configured for the version on the Token Server (required).
    pub fn signature(mut self, signature: ApplicationSignature) -> Self {
        self.signature = Some(signature);
        self
    }

    /// The redirect URI, with the app's custom scheme (required).
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }

    /// The device name sent with DCR.
    pub fn device_name(mut self, name: impl Into<String>) -> Self {
        self.device_name = Some(name.into());
        self
    }

    /// The DCR OCRA suite (default `OCRA-1:HOTP-SHA256-8:QH64-T1M`, the model's choice, spec
    /// §3.1). A server naming another suite is a configuration mismatch (10001).
    pub fn dcr_suite(mut self, suite: impl Into<String>) -> Self {
        self.dcr_suite = Some(suite.into());
        self
    }

    /// The PBKDF2 iteration count for new PIN-protected tokens (default 10 000, at most
    /// 10 000 000).
    pub fn pbkdf2_iterations(mut self, iterations: u32) -> Self {
        self.pbkdf2_iterations = Some(iterations);
        self
    }

    /// The device has a usable fingerprint sensor (default: it has none). The fingerprint
    /// authenticator also needs a keystore ([`ClientBuilder::keystore`]) and the application's
    /// permission.
    pub fn fingerprint_sensor(mut self) -> Self {
        self.fingerprint_sensor = true;
        self
    }

    /// Checks the configuration: 10001 when a required step is missing or a value is invalid.
    pub fn build(self) -> Result<ClientConfig, Error> {
        fn required(value: Option<String>, name: &'static str) -> Result<String, Error> {
            value
                .filter(|v| !v.is_empty())
                .ok_or_else(|| config_error(name, "is required"))
        }
        let app_identifier = required(self.app_identifier, "app_identifier")?;
        let app_platform = required(self.app_platform, "app_platform")?;
        let app_version = required(self.app_version, "app_version")?;
        let signature = self
            .signature
            .ok_or_else(|| config_error("signature", "the application signature is required"))?;
        let redirect_uri = required(self.redirect_uri, "redirect_uri")?;
        let redirect_uri =
            Url::parse(&redirect_uri).map_err(|e| config_error("redirect_uri", e.to_string()))?;
        let dcr_suite = OcraSuite::parse(self.dcr_suite.as_deref().unwrap_or(DEFAULT_DCR_SUITE))?;
        let pbkdf2_iterations = self.pbkdf2_iterations.unwrap_or(10_000);
        if pbkdf2_iterations == 0 || pbkdf2_iterations > crate::crypto::MAX_ITERATIONS {
            return Err(config_error(
                "pbkdf2_iterations",
                format!("must be between 1 and {}", crate::crypto::MAX_ITERATIONS),
            ));
        }
        Ok(ClientConfig {
            app_identifier,
            app_platform,
            app_version,
            signature,
            redirect_uri,
            device_name: self.device_name,
            dcr_suite,
            pbkdf2_iterations,
            fingerprint_sensor: self.fingerprint_sensor,
        })
    }
}

/// Builds a [`Client`]: [`Client::builder`], the Token Server's `base_url`, then the shared
/// transport settings (`config(&shared)`, `http_client`, `clock`, `timeout`, …) and the
/// platform keystore.
pub struct ClientBuilder {
    app: ClientConfig,
    storage: Arc<dyn Storage>,
    keystore: Option<Arc<dyn Keystore>>,
    config: auth_core::Config,
    base_url: Option<Result<BaseUrl, ConfigError>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("app", &self.app)
            .field("config", &self.config)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    auth_core::client_builder_setters!(config, base_url);

    /// The platform keystore the fingerprint refresh token is sealed under (see
    /// [`Keystore`]). Without one the fingerprint authenticator is not offered (10006):
    /// the storage alone must never hold a usable fingerprint token.
    pub fn keystore(mut self, keystore: Arc<dyn Keystore>) -> Self {
        self.keystore = Some(keystore);
        self
    }

    /// Builds the client (`OneginiClient.start`): reads the storage once to check it. The
    /// Token Server's base URL (its origin, without `/oauth`) is required: Onegini has no
    /// default one (10001 without it).
    pub fn build(self) -> Result<Client, Error> {
        let base = self.base_url.ok_or_else(|| {
            config_error(
                "base_url",
                "the Token Server's base URL is required (`.base_url(..)`)",
            )
        })?;
        let base = base.map_err(auth_core::Error::from)?;
        let transport = self
            .config
            .build(base, "onegini-model", env!("CARGO_PKG_VERSION"))?;
        self.storage.load()?;
        Ok(Client {
            inner: Arc::new(Inner {
                config: self.app,
                transport,
                storage: self.storage,
                keystore: self.keystore,
                session: Mutex::new(None),
                busy: AtomicBool::new(false),
            }),
        })
    }
}

struct Session {
    profile: UserProfile,
    access_token: AccessToken,
    expires_at: Option<SystemTime>,
}

struct Inner {
    config: ClientConfig,
    transport: Transport,
    storage: Arc<dyn Storage>,
    keystore: Option<Arc<dyn Keystore>>,
    session: Mutex<Option<Session>>,
    busy: AtomicBool,
}

/// The client: what the SDK's `UserClient` does (registration, PIN and fingerprint
/// authentication, logout, deregistration). Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field("authenticated", &self.authenticated_user_profile())
            .finish_non_exhaustive()
    }
}

struct FlowGuard<'a>(&'a AtomicBool);

impl Drop for FlowGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// How a refresh grant ended, as the client reads the server's answer.
enum RefreshFailure {
    WrongPin {
        remaining: Option<u32>,
        max: Option<u32>,
    },
    UserGone,
    /// The fingerprint token was revoked on its own: the authenticator is gone, the profile
    /// stays (model choice: `invalid_grant` + `authenticator_deregistered`).
    AuthenticatorGone,
    Other(Error),
}

impl From<Error> for RefreshFailure {
    fn from(e: Error) -> Self {
        RefreshFailure::Other(e)
    }
}

/// A refresh token split into its public id and secret.
struct RefreshToken {
    id: String,
    secret: Zeroizing<Vec<u8>>,
}

fn split_refresh_token(token: &SecretField) -> Result<RefreshToken, Error> {
    let malformed = || Error::General("the server sent a refresh token of an unknown shape".into());
    let (id, secret) = token
        .expose_secret()
        .split_once('.')
        .ok_or_else(malformed)?;
    let secret = Zeroizing::new(hex::decode(secret).map_err(|_| malformed())?);
    if id.is_empty() || secret.len() != 32 {
        return Err(malformed());
    }
    Ok(RefreshToken {
        id: id.to_owned(),
        secret,
    })
}

/// The secrets one request sends (client secret and its Basic header, tokens, PKCE verifier,
/// codes, PIN-derived refresh-token candidates). Whatever the server answers is scrubbed of
/// them, in every spelling [`auth_core::error::scrub_secrets`] knows (raw, JSON-escaped,
/// percent-encoded, base64 at any alignment), before it can reach an error's `Display` or
/// `Debug`: a server that echoes a request back must not turn an error into a leak.
#[derive(Default)]
struct Sent(Vec<Zeroizing<String>>);

impl Sent {
    /// Form fields whose values are secrets.
    const SECRET_FIELDS: [&'static str; 5] = [
        "client_secret",
        "code",
        "code_verifier",
        "refresh_token",
        "token",
    ];

    /// A request authenticated with the client credentials (HTTP Basic): the secret, the
    /// `client_id:secret` pair and its base64 as it is in the header.
    fn client(creds: &StoredCredentials) -> Self {
        let secret = creds.client_secret.expose_secret();
        let pair = Zeroizing::new(format!("{}:{secret}", creds.client_id));
        let header = Zeroizing::new(STANDARD.encode(pair.as_bytes()));
        Sent(vec![Zeroizing::new(secret.to_owned()), pair, header])
    }

    /// Adds a secret; for a `<id>.<secret>` refresh token, its secret part on its own as well.
    fn with(mut self, secret: &str) -> Self {
        if let Some((_, part)) = secret.split_once('.') {
            self.0.push(Zeroizing::new(part.to_owned()));
        }
        self.0.push(Zeroizing::new(secret.to_owned()));
        self
    }

    /// Adds the secret values of a form.
    fn with_form(mut self, pairs: &[(&str, &str)]) -> Self {
        for (k, v) in pairs {
            if Self::SECRET_FIELDS.contains(k) {
                self = self.with(v);
            }
        }
        self
    }

    fn scrub(&self, text: &str) -> String {
        let secrets: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        auth_core::error::scrub_secrets(text, &secrets)
    }

    /// An unexpected status: the body kept in the error is bounded and scrubbed.
    fn status(&self, status: StatusCode, body: &[u8]) -> Error {
        let secrets: Vec<&str> = self.0.iter().map(|s| s.as_str()).collect();
        auth_core::Error::status(status.as_u16(), body, &secrets).into()
    }

    /// Decodes a JSON answer; a decoding error (whose message may quote a value) is scrubbed.
    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        body: &[u8],
    ) -> Result<T, Error> {
        auth_core::json::from_slice(what, body).map_err(|e| match e {
            auth_core::Error::Decode {
                what,
                path,
                message,
            } => auth_core::Error::decode(what, self.scrub(&path), self.scrub(&message)).into(),
            e => e.into(),
        })
    }

    /// The server's OAuth error with its free-text fields scrubbed.
    fn scrub_oauth_error(&self, mut e: wire::TokenError) -> wire::TokenError {
        e.error = self.scrub(&e.error);
        e.error_description = e.error_description.map(|d| self.scrub(&d));
        e
    }
}

impl Client {
    /// Starts building a client for the app `config`, keeping its data in `storage`. Give it
    /// the Token Server's `base_url` before [`ClientBuilder::build`].
    pub fn builder(config: ClientConfig, storage: Arc<dyn Storage>) -> ClientBuilder {
        ClientBuilder {
            app: config,
            storage,
            keystore: None,
            config: auth_core::Config::new(),
            base_url: None,
        }
    }

    fn begin(&self) -> Result<FlowGuard<'_>, Error> {
        self.inner
            .busy
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .map_err(|_| Error::ActionAlreadyInProgress)?;
        Ok(FlowGuard(&self.inner.busy))
    }

    fn load(&self) -> Result<StoredState, Error> {
        Ok(self.inner.storage.load()?)
    }

    fn save(&self, state: &StoredState) -> Result<(), Error> {
        Ok(self.inner.storage.save(state)?)
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Option<Session>> {
        lock(&self.inner.session)
    }

    /// The client's transport.
    pub(crate) fn transport(&self) -> &auth_core::Transport {
        &self.inner.transport
    }

    /// The client id after DCR (the app may read it; the secret stays inside).
    pub fn client_id(&self) -> Result<Option<ClientId>, Error> {
        self.load()?
            .credentials
            .map(|c| ClientId::new(c.client_id))
            .transpose()
            .map_err(|e| StorageError::Corrupt(e.to_string()).into())
    }

    /// `getUserProfiles()`.
    pub fn user_profiles(&self) -> Result<BTreeSet<UserProfile>, Error> {
        Ok(self
            .load()?
            .profiles
            .into_iter()
            .map(|p| UserProfile::new(p.profile_id))
            .collect())
    }

    /// `isUserRegistered(profile)`.
    pub fn is_user_registered(&self, profile: &UserProfile) -> Result<bool, Error> {
        Ok(self
            .load()?
            .profiles
            .iter()
            .any(|p| p.profile_id == profile.profile_id))
    }

    /// `getAuthenticatedUserProfile()`: the profile whose access token is in memory and not
    /// expired (by the client's clock).
    pub fn authenticated_user_profile(&self) -> Option<UserProfile> {
        let now = self.inner.transport.clock().now();
        self.session()
            .as_ref()
            .filter(|s| s.expires_at.is_none_or(|e| now < e))
            .map(|s| s.profile.clone())
    }

    /// The PIN policy (runs DCR first if the device is not registered yet).
    pub async fn pin_policy(&self) -> Result<PinPolicy, Error> {
        Ok(self.ensure_credentials().await?.pin_policy)
    }

    /// `validatePinWithPolicy(pin)`: the local policy check (no server call besides DCR).
    pub async fn validate_pin_with_policy(&self, pin: &Pin) -> Result<(), Error> {
        Ok(self.pin_policy().await?.validate(pin)?)
    }

    /// The authenticators registered for `profile`.
    pub fn registered_authenticators(
        &self,
        profile: &UserProfile,
    ) -> Result<BTreeSet<Authenticator>, Error> {
        let state = self.load()?;
        let p = self.stored_profile(&state, profile)?;
        let mut set = BTreeSet::from([Authenticator::Pin]);
        if p.fingerprint.is_some() {
            set.insert(Authenticator::Fingerprint);
        }
        Ok(set)
    }

    /// `getNotRegisteredAuthenticators(profile)`: fingerprint, when the device (sensor and
    /// keystore) and the application allow it and it is not registered yet.
    pub fn not_registered_authenticators(
        &self,
        profile: &UserProfile,
    ) -> Result<BTreeSet<Authenticator>, Error> {
        let state = self.load()?;
        let p = self.stored_profile(&state, profile)?;
        let allowed = state
            .credentials
            .as_ref()
            .is_some_and(|c| self.fingerprint_supported(c));
        let mut set = BTreeSet::new();
        if allowed && p.fingerprint.is_none() {
            set.insert(Authenticator::Fingerprint);
        }
        Ok(set)
    }

    /// The preferred authenticator of `profile`.
    pub fn preferred_authenticator(&self, profile: &UserProfile) -> Result<Authenticator, Error> {
        Ok(self.stored_profile(&self.load()?, profile)?.preferred)
    }

    fn stored_profile<'s>(
        &self,
        state: &'s StoredState,
        profile: &UserProfile,
    ) -> Result<&'s StoredProfile, Error> {
        state
            .profiles
            .iter()
            .find(|p| p.profile_id == profile.profile_id)
            .ok_or_else(|| Error::InvalidRequest(format!("profile {profile} is not registered")))
    }

    /// `OneginiClient.start`: asks the Token Server which stored profiles it removed (model
    /// choice: [`wire::CLIENT_STATUS_PATH`]), deletes them locally and returns them.
    ///
    /// Errors as the SDK's start: 9002 `DEVICE_DEREGISTERED` (all local data wiped), 9004
    /// `OUTDATED_APP`, 9000 `NETWORK_CONNECTIVITY_PROBLEM` when no connection can be made and
    /// 9001 `SERVER_NOT_REACHABLE` for other transport failures (the app may go on offline).
    /// Before DCR there is nothing to check and the answer is empty.
    pub async fn start(&self) -> Result<BTreeSet<UserProfile>, Error> {
        let _guard = self.begin()?;
        let state = self.load()?;
        let Some(creds) = state.credentials.clone() else {
            return Ok(BTreeSet::new());
        };
        let request = wire::ClientStatusRequest {
            refresh_token_ids: state.profiles.iter().map(|p| p.rt_id.clone()).collect(),
        };
        let body = serde_json::to_vec(&request).map_err(|e| Error::General(e.to_string()))?;
        let auth = Self::basic_auth(&creds);
        let http_request = self
            .post(wire::CLIENT_STATUS_PATH, "application/json")
            .header(AUTHORIZATION, auth.as_str());
        let response = self.send(http_request, body).await?;
        let sent = Sent::client(&creds);
        let status: wire::ClientStatusResponse = match self.read_token_answer(&sent, response)? {
            Ok(s) => s,
            Err(e) => {
                return Err(Error::General(format!(
                    "the client status check answered `{}`",
                    e.error
                )));
            }
        };
        let mut removed = BTreeSet::new();
        for stored in &state.profiles {
            if status.revoked.contains(&stored.rt_id) {
                let profile = UserProfile::new(stored.profile_id.clone());
                self.remove_profile_locally(&profile)?;
                removed.insert(profile);
            }
        }
        Ok(removed)
    }

    // ---------------------------------------------------------------- HTTP helpers

    fn post(&self, path: &str, content_type: &str) -> http::request::Builder {
        self.inner
            .transport
            .request(Method::POST, path)
            .header(CONTENT_TYPE, content_type)
            .header(ACCEPT, "application/json")
    }

    async fn send(
        &self,
        request: http::request::Builder,
        body: Vec<u8>,
    ) -> Result<auth_core::HttpResponse, Error> {
        let request = request
            .body(body)
            .map_err(|e| Error::General(format!("could not build the request: {e}")))?;
        let response = self.inner.transport.send(request, Replay::Never).await?;
        self.refuse_rate_limit(&response)?;
        Ok(response)
    }

    /// A 429, whatever its body, is [`Error::RateLimited`] with the server's `Retry-After`
    /// (at most [`auth_core::retry::MAX_RETRY_AFTER`]; `0` is no hint): the one way a 429 is reported.
    fn refuse_rate_limit(&self, response: &auth_core::HttpResponse) -> Result<(), Error> {
        if response.status() != StatusCode::TOO_MANY_REQUESTS {
            return Ok(());
        }
        let retry_after = auth_core::retry::rate_limit_retry_after(
            response.headers(),
            self.inner.transport.clock().now(),
        );
        Err(Error::RateLimited { retry_after })
    }

    fn basic_auth(creds: &StoredCredentials) -> Zeroizing<String> {
        let raw = Zeroizing::new(format!(
            "{}:{}",
            creds.client_id,
            creds.client_secret.expose_secret()
        ));
        Zeroizing::new(format!("Basic {}", STANDARD.encode(raw.as_bytes())))
    }

    /// Wipes all local data (9002 `DEVICE_DEREGISTERED`).
    fn wipe_all(&self) -> Error {
        let removed: Vec<UserProfile> = self
            .load()
            .map(|s| {
                s.profiles
                    .into_iter()
                    .map(|p| UserProfile::new(p.profile_id))
                    .collect()
            })
            .unwrap_or_default();
        for profile in &removed {
            self.delete_fingerprint_key(profile.profile_id());
        }
        *self.session() = None;
        if let Err(e) = self.save(&StoredState::default()) {
            return e;
        }
        Error::DeviceDeregistered {
            removed_profiles: removed,
        }
    }

    /// Removes one profile's local data.
    fn remove_profile_locally(
        &self,
        profile: &UserProfile,
    ) -> Result<Option<StoredProfile>, Error> {
        let mut state = self.load()?;
        let pos = state
            .profiles
            .iter()
            .position(|p| p.profile_id == profile.profile_id);
        let removed = pos.map(|i| state.profiles.remove(i));
        self.save(&state)?;
        if removed.as_ref().is_some_and(|p| p.fingerprint.is_some()) {
            self.delete_fingerprint_key(&profile.profile_id);
        }
        let mut session = self.session();
        if session.as_ref().is_some_and(|s| &s.profile == profile) {
            *session = None;
        }
        Ok(removed)
    }

    /// A token-endpoint call with client authentication. `invalid_client` wipes everything
    /// (9002); a disabled app version is 9004; other errors come back as the server's answer.
    async fn token_call(
        &self,
        creds: &StoredCredentials,
        pairs: &[(&str, &str)],
    ) -> Result<Result<wire::TokenResponse, wire::TokenError>, Error> {
        let body = wire::form(pairs).into_bytes();
        let auth = Self::basic_auth(creds);
        let request = self
            .post(wire::TOKEN_PATH, "application/x-www-form-urlencoded")
            .header(AUTHORIZATION, auth.as_str());
        let response = self.send(request, body).await?;
        self.read_token_answer(&Sent::client(creds).with_form(pairs), response)
    }

    /// Reads a Token Server answer to a request that sent `sent`: 200 decodes as `T`, an OAuth
    /// error comes back scrubbed (`invalid_client` wipes everything, 9002; a disabled app
    /// version is 9004), anything else is a status error with a scrubbed body.
    fn read_token_answer<T: serde::de::DeserializeOwned>(
        &self,
        sent: &Sent,
        response: auth_core::HttpResponse,
    ) -> Result<Result<T, wire::TokenError>, Error> {
        let status = response.status();
        if status == StatusCode::OK {
            return Ok(Ok(sent.decode("token response", response.body())?));
        }
        // A server failure is not an OAuth answer, whatever its body says.
        if status.is_server_error() {
            return Err(sent.status(status, response.body()));
        }
        let Ok(err) = serde_json::from_slice::<wire::TokenError>(response.body()) else {
            return Err(sent.status(status, response.body()));
        };
        if err.error == "invalid_client" {
            return Err(self.wipe_all());
        }
        if err.error_description.as_deref() == Some("app_version_disabled") {
            return Err(Error::OutdatedApp);
        }
        Ok(Err(sent.scrub_oauth_error(err)))
    }

    // ---------------------------------------------------------------- DCR

    async fn ensure_credentials(&self) -> Result<StoredCredentials, Error> {
        if let Some(creds) = self.load()?.credentials {
            return Ok(creds);
        }
        self.dynamic_client_registration().await
    }

    /// DCR (model choice, spec §3.1, §4.1): ask for a challenge, answer it with OCRA keyed by
    /// the application signature, store the credentials and application settings.
    async fn dynamic_client_registration(&self) -> Result<StoredCredentials, Error> {
        let cfg = &self.inner.config;
        let round1 = wire::DcrChallengeRequest {
            application_identifier: cfg.app_identifier.clone(),
            application_platform: cfg.app_platform.clone(),
            application_version: cfg.app_version.clone(),
            device_name: cfg.device_name.clone(),
        };
        let body = serde_json::to_vec(&round1).map_err(|e| Error::General(e.to_string()))?;
        let response = self
            .send(self.post(wire::DCR_PATH, "application/json"), body)
            .await?;
        let challenge: wire::DcrChallenge = match response.status() {
            StatusCode::OK => Sent::default().decode("DCR challenge", response.body())?,
            status => return Err(Self::dcr_failure(&Sent::default(), status, response.body())),
        };
        // The configured suite is authoritative; a server naming another one is a
        // configuration mismatch, not something to follow silently.
        if let Some(named) = &challenge.ocra_suite
            && named != cfg.dcr_suite.as_str()
        {
            return Err(config_error(
                "dcr_suite",
                format!(
                    "the server expects the DCR suite `{named}`, the client is configured with `{}`",
                    cfg.dcr_suite
                ),
            ));
        }
        let suite = &cfg.dcr_suite;
        let mut inputs = OcraInputs::new(&challenge.challenge);
        if let Some(step) = suite.timestamp() {
            inputs = inputs.timestamp(step.counter_at(self.inner.transport.clock().as_ref())?);
        }
        let ocra_response = suite
            .compute(cfg.signature.expose_secret().as_bytes(), &inputs)
            .map_err(|_| Error::DeviceRegistrationError)?;
        let round2 = wire::DcrAnswer {
            registration_id: challenge.registration_id,
            ocra_response,
        };
        let body = serde_json::to_vec(&round2).map_err(|e| Error::General(e.to_string()))?;
        let response = self
            .send(self.post(wire::DCR_PATH, "application/json"), body)
            .await?;
        let sent = Sent::default().with(&round2.ocra_response);
        let issued: wire::DcrCredentials = match response.status() {
            StatusCode::OK => sent.decode("DCR credentials", response.body())?,
            status => return Err(Self::dcr_failure(&sent, status, response.body())),
        };
        issued
            .pin_policy
            .check()
            .map_err(|e| config_error("pin_policy", e.to_string()))?;
        let creds = StoredCredentials {
            client_id: issued.client_id.clone(),
            client_secret: issued.client_secret.clone(),
            pin_policy: issued.pin_policy.clone(),
            max_pin_failures: issued
                .max_pin_failures
                .unwrap_or(wire::DEFAULT_MAX_PIN_FAILURES),
            fingerprint_allowed: issued.fingerprint_allowed,
        };
        let mut state = self.load()?;
        state.credentials = Some(creds.clone());
        self.save(&state)?;
        Ok(creds)
    }

    fn dcr_failure(sent: &Sent, status: StatusCode, body: &[u8]) -> Error {
        if status.is_server_error() {
            return sent.status(status, body);
        }
        match serde_json::from_slice::<wire::TokenError>(body) {
            Ok(e) if e.error == "invalid_dcr" => Error::DeviceRegistrationError,
            Ok(e) if e.error == "unsupported_app_version" => Error::OutdatedApp,
            _ => sent.status(status, body),
        }
    }

    // ---------------------------------------------------------------- registration

    /// `registerUser(scopes, handlers)`: DCR when needed, the browser step, the code exchange
    /// (PKCE S256), then PIN creation. The new profile becomes the authenticated one.
    ///
    /// Errors: 9006 when the browser step, the consent or the PIN is denied (tokens already
    /// issued are revoked), 9008 / 9004 from DCR, 10015 for a redirect that is not ours or has
    /// the wrong `state`.
    pub async fn register_user(
        &self,
        scopes: &[&str],
        browser: &dyn BrowserRegistrationHandler,
        pin_handler: &dyn CreatePinHandler,
    ) -> Result<UserProfile, Error> {
        let _guard = self.begin()?;
        let creds = self.ensure_credentials().await?;
        let cfg = &self.inner.config;
        let state_param = crypto::random_hex(16)?;
        let verifier = Zeroizing::new(crypto::pkce_verifier()?);
        let mut url = self.inner.transport.base_url().join(wire::AUTHORIZE_PATH);
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &creds.client_id)
            .append_pair("redirect_uri", cfg.redirect_uri.as_str())
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", &state_param)
            .append_pair("code_challenge", &crypto::pkce_s256(&verifier))
            .append_pair("code_challenge_method", "S256");
        let callback = match browser.start_registration(url).await {
            BrowserRegistrationAnswer::Deny => {
                return Err(Error::ActionCanceled("the registration was denied"));
            }
            BrowserRegistrationAnswer::Callback(u) => u,
        };
        let code = self.read_registration_callback(&callback, &state_param)?;
        let answer = self
            .token_call(
                &creds,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", cfg.redirect_uri.as_str()),
                    ("code_verifier", &verifier),
                ],
            )
            .await?;
        let tokens = answer.map_err(|e| {
            Error::General(format!("the token endpoint refused the code: {}", e.error))
        })?;
        let refresh = tokens
            .refresh_token
            .as_ref()
            .ok_or_else(|| Error::General("no refresh token was issued".into()))?;
        let rt = split_refresh_token(refresh)?;

        let taken = self.load()?;
        let profile = loop {
            let id = crypto::random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 6)?;
            if !taken.profiles.iter().any(|p| p.profile_id == id) {
                break UserProfile::new(id);
            }
        };
        let policy = &creds.pin_policy;
        let mut answer = pin_handler
            .start_pin_creation(&profile, policy.pin_length)
            .await;
        let pin = loop {
            match answer {
                PinAnswer::Deny => {
                    pin_handler.finish_pin_creation().await;
                    // Model choice: tokens already issued are revoked.
                    let _ = self
                        .revoke(&creds, refresh.expose_secret(), "refresh_token")
                        .await;
                    return Err(Error::ActionCanceled("PIN creation was denied"));
                }
                PinAnswer::Accept(pin) => match policy.validate(&pin) {
                    Ok(()) => break pin,
                    Err(e) => answer = pin_handler.on_next_pin_creation_attempt(&e).await,
                },
            }
        };
        let sealed = PinProtectedSecret::seal(&rt.secret, &pin, cfg.pbkdf2_iterations)?;
        drop(pin);
        let mut state = self.load()?;
        state.profiles.push(StoredProfile {
            profile_id: profile.profile_id.clone(),
            rt_id: rt.id,
            pin_secret: sealed,
            fingerprint: None,
            preferred: Authenticator::Pin,
            failed_attempts: 0,
        });
        self.save(&state)?;
        let previous = self.set_session(&profile, &tokens);
        pin_handler.finish_pin_creation().await;
        // The new profile is registered even if the old session's revocation fails.
        let _ = self.revoke_quietly(previous).await;
        Ok(profile)
    }

    fn read_registration_callback(
        &self,
        callback: &Url,
        expected_state: &str,
    ) -> Result<String, Error> {
        let ours = &self.inner.config.redirect_uri;
        let same_target = callback.scheme() == ours.scheme()
            && callback.host_str() == ours.host_str()
            && callback.port() == ours.port()
            && callback.path().trim_end_matches('/') == ours.path().trim_end_matches('/');
        if !same_target {
            return Err(Error::InvalidRequest(
                "the callback is not the app's redirect URI".into(),
            ));
        }
        let mut code = None;
        let mut state = None;
        let mut error = None;
        let mut description = None;
        for (k, v) in callback.query_pairs() {
            match &*k {
                "code" => code = Some(v.into_owned()),
                "state" => state = Some(v.into_owned()),
                "error" => error = Some(v.into_owned()),
                "error_description" => description = Some(v.into_owned()),
                _ => {}
            }
        }
        let state_ok = state
            .as_deref()
            .is_some_and(|s| constant_time_eq(s.as_bytes(), expected_state.as_bytes()));
        if !state_ok {
            return Err(Error::InvalidRequest(
                "the callback's state does not match the request".into(),
            ));
        }
        match (error.as_deref(), description.as_deref()) {
            (Some("access_denied"), _) => {
                return Err(Error::ActionCanceled("the user denied consent at the IdP"));
            }
            (Some(_), Some("app_version_disabled")) => return Err(Error::OutdatedApp),
            (Some(e), _) => {
                return Err(Error::General(format!(
                    "the authorization server answered `{e}`"
                )));
            }
            (None, _) => {}
        }
        code.filter(|c| !c.is_empty())
            .ok_or_else(|| Error::InvalidRequest("the callback has no code".into()))
    }

    fn set_session(&self, profile: &UserProfile, tokens: &wire::TokenResponse) -> Option<Session> {
        // `expires_in` comes from the server: an absurd value must not overflow the clock
        // (no local expiry then; the server still refuses the token when it expires).
        let now = self.inner.transport.clock().now();
        let expires_at = tokens
            .expires_in
            .and_then(|s| now.checked_add(Duration::from_secs(s)));
        self.session().replace(Session {
            profile: profile.clone(),
            access_token: AccessToken::new(tokens.access_token.expose_secret()),
            expires_at,
        })
    }

    /// Revokes a dropped session's access token (used when another profile takes over the
    /// session). Failures are ignored, except that the server no longer knowing the client
    /// (9002, all local data wiped) is reported.
    async fn revoke_quietly(&self, previous: Option<Session>) -> Result<(), Error> {
        if let (Some(prev), Ok(state)) = (previous, self.load())
            && let Some(creds) = state.credentials
        {
            let result = self
                .revoke(&creds, prev.access_token.expose_secret(), "access_token")
                .await;
            if let Err(e @ Error::DeviceDeregistered { .. }) = result {
                return Err(e);
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- authentication

    /// `authenticateUser(profile, handler)` with the profile's **preferred** authenticator.
    /// `fingerprint` is needed only when that is the fingerprint.
    ///
    /// A user who is authenticated is logged out first. Wrong PINs are retried through the
    /// handler with the server's counter; when the server says the attempts are exhausted the
    /// profile is removed and the error is 9003 with the profile.
    pub async fn authenticate_user(
        &self,
        profile: &UserProfile,
        pin: &dyn PinAuthenticationHandler,
        fingerprint: Option<&dyn FingerprintHandler>,
    ) -> Result<UserProfile, Error> {
        let preferred = self.preferred_authenticator(profile)?;
        self.authenticate_user_with(profile, preferred, pin, fingerprint)
            .await
    }

    /// `authenticateUser(profile, authenticator, handler)`: with a chosen authenticator, which
    /// must be registered for the profile (10007 otherwise).
    pub async fn authenticate_user_with(
        &self,
        profile: &UserProfile,
        authenticator: Authenticator,
        pin: &dyn PinAuthenticationHandler,
        fingerprint: Option<&dyn FingerprintHandler>,
    ) -> Result<UserProfile, Error> {
        let _guard = self.begin()?;
        let state = self.load()?;
        let stored = self.stored_profile(&state, profile)?.clone();
        let creds = state
            .credentials
            .clone()
            .ok_or_else(|| Error::InvalidRequest("the device is not registered".into()))?;
        // Logs the current user out first.
        let previous = self.session().take();
        self.revoke_quietly(previous).await?;
        match authenticator {
            Authenticator::Pin => {
                let (the_pin, tokens) = self.pin_refresh(&creds, &stored, pin).await?;
                self.finish_pin_login(&stored, &tokens, &the_pin)?;
                drop(the_pin);
                self.set_session(profile, &tokens);
                pin.finish_authentication().await;
                Ok(profile.clone())
            }
            Authenticator::Fingerprint => {
                let Some(sealed) = stored.fingerprint.clone() else {
                    return Err(Error::AuthenticatorNotRegistered);
                };
                let Some(fp) = fingerprint else {
                    return Err(Error::InvalidRequest(
                        "fingerprint authentication needs a FingerprintHandler".into(),
                    ));
                };
                self.fingerprint_login(&creds, &stored, &sealed, fp, pin)
                    .await
            }
        }
    }

    /// Re-seals a rotated PIN refresh token under the same PIN (fresh salt) and resets the
    /// stored counter.
    fn finish_pin_login(
        &self,
        stored: &StoredProfile,
        tokens: &wire::TokenResponse,
        pin: &Pin,
    ) -> Result<(), Error> {
        let mut state = self.load()?;
        if let Some(p) = state
            .profiles
            .iter_mut()
            .find(|p| p.profile_id == stored.profile_id)
        {
            if let Some(rt) = &tokens.refresh_token {
                let rt = split_refresh_token(rt)?;
                p.pin_secret =
                    PinProtectedSecret::seal(&rt.secret, pin, self.inner.config.pbkdf2_iterations)?;
                p.rt_id = rt.id;
            }
            p.failed_attempts = 0;
        }
        self.save(&state)
    }

    /// The PIN loop: ask, decrypt the candidate, refresh grant; repeat on a wrong PIN.
    /// Returns the PIN (to re-seal the rotated token) and the tokens.
    async fn pin_refresh(
        &self,
        creds: &StoredCredentials,
        stored: &StoredProfile,
        handler: &dyn PinAuthenticationHandler,
    ) -> Result<(Pin, wire::TokenResponse), Error> {
        let profile = UserProfile::new(stored.profile_id.clone());
        let mut counter = AttemptCounter::new(stored.failed_attempts, creds.max_pin_failures);
        let mut answer = handler.start_authentication(&profile, counter).await;
        loop {
            let pin = match answer {
                PinAnswer::Deny => {
                    handler.finish_authentication().await;
                    return Err(Error::ActionCanceled("PIN authentication was denied"));
                }
                PinAnswer::Accept(pin) => pin,
            };
            let candidate = stored.pin_secret.open(&pin)?;
            let candidate_hex = Zeroizing::new(hex::encode(&*candidate));
            let token = Zeroizing::new(format!("{}.{}", stored.rt_id, candidate_hex.as_str()));
            match self.refresh_grant(creds, &token).await {
                Ok(tokens) => return Ok((pin, tokens)),
                Err(RefreshFailure::WrongPin { remaining, max }) => {
                    let max = max.unwrap_or(counter.max_attempts());
                    let failed = match remaining {
                        Some(r) => max.saturating_sub(r),
                        None => counter.failed_attempts() + 1,
                    };
                    counter = AttemptCounter::new(failed, max);
                    self.store_failed_attempts(&profile, failed)?;
                    answer = handler.on_next_authentication_attempt(counter).await;
                }
                Err(RefreshFailure::UserGone) => {
                    self.remove_profile_locally(&profile)?;
                    handler.finish_authentication().await;
                    return Err(Error::UserDeregistered { profile });
                }
                Err(RefreshFailure::AuthenticatorGone) => {
                    handler.finish_authentication().await;
                    return Err(Error::General(
                        "the server called the PIN refresh token an authenticator's".into(),
                    ));
                }
                Err(RefreshFailure::Other(e)) => {
                    handler.finish_authentication().await;
                    return Err(e);
                }
            }
        }
    }

    fn store_failed_attempts(&self, profile: &UserProfile, failed: u32) -> Result<(), Error> {
        let mut state = self.load()?;
        if let Some(p) = state
            .profiles
            .iter_mut()
            .find(|p| p.profile_id == profile.profile_id)
        {
            p.failed_attempts = failed;
        }
        self.save(&state)
    }

    async fn refresh_grant(
        &self,
        creds: &StoredCredentials,
        token: &str,
    ) -> Result<wire::TokenResponse, RefreshFailure> {
        let answer = self
            .token_call(
                creds,
                &[("grant_type", "refresh_token"), ("refresh_token", token)],
            )
            .await?;
        match answer {
            Ok(tokens) => Ok(tokens),
            Err(e) if e.error == "invalid_grant" => match e.error_description.as_deref() {
                Some("user_deregistered") => Err(RefreshFailure::UserGone),
                Some("authenticator_deregistered") => Err(RefreshFailure::AuthenticatorGone),
                _ => Err(RefreshFailure::WrongPin {
                    remaining: e.remaining_attempts,
                    max: e.max_attempts,
                }),
            },
            Err(e) => Err(RefreshFailure::Other(Error::General(format!(
                "the token endpoint answered `{}`",
                e.error
            )))),
        }
    }

    /// The fingerprint authenticator is usable on this client: a sensor, a keystore to seal
    /// its token under, and the application allows it.
    fn fingerprint_supported(&self, creds: &StoredCredentials) -> bool {
        self.inner.config.fingerprint_sensor
            && self.inner.keystore.is_some()
            && creds.fingerprint_allowed
    }

    /// The keystore alias of a profile's fingerprint key (model choice).
    fn fingerprint_alias(profile_id: &str) -> String {
        format!("onegini-model/fingerprint/{profile_id}")
    }

    /// Seals a fingerprint refresh token under the profile's keystore key; only the token's
    /// public id and the sealed bytes go to the storage.
    fn seal_fingerprint(
        &self,
        profile_id: &str,
        token: &SecretField,
    ) -> Result<StoredFingerprint, Error> {
        let rt = split_refresh_token(token)?;
        let keystore = self
            .inner
            .keystore
            .as_ref()
            .ok_or(Error::AuthenticatorNotSupported)?;
        let sealed = keystore
            .seal(
                &Self::fingerprint_alias(profile_id),
                token.expose_secret().as_bytes(),
            )
            .map_err(|e| Error::DataStorageNotAvailable(e.into()))?;
        Ok(StoredFingerprint {
            rt_id: rt.id,
            sealed: hex::encode(sealed),
        })
    }

    /// Opens the sealed fingerprint token (after the OS matched the finger). No keystore on
    /// this client is the same as a lost key.
    fn open_fingerprint(
        &self,
        profile_id: &str,
        stored: &StoredFingerprint,
    ) -> Result<SecretField, KeystoreError> {
        let keystore = self
            .inner
            .keystore
            .as_ref()
            .ok_or(KeystoreError::KeyNotFound)?;
        let sealed = hex::decode(&stored.sealed).map_err(|_| KeystoreError::Unsealing)?;
        let plain = keystore.open(&Self::fingerprint_alias(profile_id), &sealed)?;
        let text = std::str::from_utf8(&plain).map_err(|_| KeystoreError::Unsealing)?;
        Ok(SecretField::new(text))
    }

    /// Deletes a profile's fingerprint key (best effort: a key left behind opens nothing the
    /// storage still holds).
    fn delete_fingerprint_key(&self, profile_id: &str) {
        if let Some(keystore) = &self.inner.keystore {
            let _ = keystore.delete(&Self::fingerprint_alias(profile_id));
        }
    }

    async fn fingerprint_login(
        &self,
        creds: &StoredCredentials,
        stored: &StoredProfile,
        sealed: &StoredFingerprint,
        fp: &dyn FingerprintHandler,
        pin: &dyn PinAuthenticationHandler,
    ) -> Result<UserProfile, Error> {
        let profile = UserProfile::new(stored.profile_id.clone());
        let mut mismatches = 0;
        let mut attempt = 1;
        loop {
            let scan = fp.scan(&profile, attempt).await;
            attempt += 1;
            match scan {
                FingerprintScan::Match => break,
                FingerprintScan::NoMatch => {
                    mismatches += 1;
                    if mismatches >= FINGERPRINT_MAX_MISMATCHES {
                        // The OS locks the sensor out: handled like a sensor error.
                        return self
                            .fingerprint_fallback(creds, stored, sealed, fp, pin)
                            .await;
                    }
                }
                FingerprintScan::Canceled => {
                    fp.finish_authentication().await;
                    return Err(Error::ActionCanceled(
                        "fingerprint authentication was cancelled",
                    ));
                }
                FingerprintScan::SensorError => {
                    return self
                        .fingerprint_fallback(creds, stored, sealed, fp, pin)
                        .await;
                }
            }
        }
        // The finger matched: the keystore releases the token.
        let token = match self.open_fingerprint(&stored.profile_id, sealed) {
            Ok(token) => token,
            Err(e) if e.is_key_lost() => {
                // No key on this device (a copied storage, or the key was invalidated): the
                // fingerprint authenticator is gone; revoke its token by id, keep the profile.
                fp.finish_authentication().await;
                self.drop_fingerprint_locally(&profile)?;
                let _ = self.revoke(creds, &sealed.rt_id, "refresh_token").await;
                return Err(Error::AuthenticatorDeregistered);
            }
            Err(e) => {
                fp.finish_authentication().await;
                return Err(Error::DataStorageNotAvailable(e.into()));
            }
        };
        match self.refresh_grant(creds, token.expose_secret()).await {
            Ok(tokens) => {
                if let Some(rt) = &tokens.refresh_token {
                    let resealed = match self.seal_fingerprint(&stored.profile_id, rt) {
                        Ok(r) => r,
                        Err(e) => {
                            fp.finish_authentication().await;
                            self.drop_fingerprint_locally(&profile)?;
                            return Err(e);
                        }
                    };
                    let mut state = self.load()?;
                    if let Some(p) = state
                        .profiles
                        .iter_mut()
                        .find(|p| p.profile_id == stored.profile_id)
                    {
                        p.fingerprint = Some(resealed);
                    }
                    self.save(&state)?;
                }
                self.set_session(&profile, &tokens);
                fp.finish_authentication().await;
                Ok(profile)
            }
            Err(RefreshFailure::UserGone) => {
                self.remove_profile_locally(&profile)?;
                fp.finish_authentication().await;
                Err(Error::UserDeregistered { profile })
            }
            Err(RefreshFailure::AuthenticatorGone) => {
                // Only the fingerprint is gone: drop it, keep the profile; PIN is preferred.
                self.drop_fingerprint_locally(&profile)?;
                fp.finish_authentication().await;
                Err(Error::AuthenticatorDeregistered)
            }
            Err(RefreshFailure::WrongPin { .. }) => {
                fp.finish_authentication().await;
                Err(Error::General(
                    "the server refused the fingerprint token".into(),
                ))
            }
            Err(RefreshFailure::Other(e)) => {
                fp.finish_authentication().await;
                Err(e)
            }
        }
    }

    /// OS fingerprint failure: revoke fingerprint authentication (by the token's public id:
    /// the biometric-gated key cannot be used now), fall back to the PIN.
    async fn fingerprint_fallback(
        &self,
        creds: &StoredCredentials,
        stored: &StoredProfile,
        sealed: &StoredFingerprint,
        fp: &dyn FingerprintHandler,
        pin: &dyn PinAuthenticationHandler,
    ) -> Result<UserProfile, Error> {
        fp.finish_authentication().await;
        self.drop_fingerprint_locally(&UserProfile::new(stored.profile_id.clone()))?;
        let _ = self.revoke(creds, &sealed.rt_id, "refresh_token").await;
        let mut stored = stored.clone();
        stored.fingerprint = None;
        let profile = UserProfile::new(stored.profile_id.clone());
        let (the_pin, tokens) = self.pin_refresh(creds, &stored, pin).await?;
        self.finish_pin_login(&stored, &tokens, &the_pin)?;
        self.set_session(&profile, &tokens);
        pin.finish_authentication().await;
        Ok(profile)
    }

    /// Removes the fingerprint authenticator locally (sealed token and keystore key); the PIN
    /// becomes the preferred authenticator.
    fn drop_fingerprint_locally(&self, profile: &UserProfile) -> Result<(), Error> {
        let mut state = self.load()?;
        if let Some(p) = state
            .profiles
            .iter_mut()
            .find(|p| p.profile_id == profile.profile_id)
        {
            p.fingerprint = None;
            p.preferred = Authenticator::Pin;
        }
        self.save(&state)?;
        self.delete_fingerprint_key(&profile.profile_id);
        Ok(())
    }

    // ---------------------------------------------------------------- authenticators

    /// `registerAuthenticator(FINGERPRINT)` for the authenticated profile: obtains a separate
    /// fingerprint refresh token from the server (model choice). It does not become preferred.
    pub async fn register_fingerprint(&self) -> Result<(), Error> {
        let _guard = self.begin()?;
        let (profile, access) = self.current_session()?;
        let state = self.load()?;
        let stored = self.stored_profile(&state, &profile)?;
        if stored.fingerprint.is_some() {
            return Err(Error::AuthenticatorAlreadyRegistered);
        }
        let creds = state
            .credentials
            .clone()
            .ok_or_else(|| Error::InvalidRequest("the device is not registered".into()))?;
        if !self.fingerprint_supported(&creds) {
            return Err(Error::AuthenticatorNotSupported);
        }
        let bearer = Zeroizing::new(format!("Bearer {}", access.expose_secret()));
        let request = self
            .post(wire::FINGERPRINT_PATH, "application/json")
            .header(AUTHORIZATION, bearer.as_str());
        let response = self.send(request, b"{}".to_vec()).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            *self.session() = None;
            return Err(Error::UserNotAuthenticated);
        }
        let sent = Sent::default().with(access.expose_secret());
        let registration: wire::AuthenticatorRegistration =
            match self.read_token_answer(&sent, response)? {
                Ok(r) => r,
                Err(e) if e.error == "authenticator_not_allowed" => {
                    return Err(Error::AuthenticatorNotSupported);
                }
                Err(e) => {
                    return Err(Error::General(format!(
                        "fingerprint registration failed: `{}`",
                        e.error
                    )));
                }
            };
        let sealed = match self.seal_fingerprint(&profile.profile_id, &registration.refresh_token) {
            Ok(sealed) => sealed,
            Err(e) => {
                // Never stored in clear: give the token back instead.
                if let Some((id, _)) = registration.refresh_token.expose_secret().split_once('.') {
                    let _ = self.revoke(&creds, id, "refresh_token").await;
                }
                return Err(e);
            }
        };
        let mut state = self.load()?;
        if let Some(p) = state
            .profiles
            .iter_mut()
            .find(|p| p.profile_id == profile.profile_id)
        {
            p.fingerprint = Some(sealed);
        }
        self.save(&state)
    }

    /// Deregisters the fingerprint authenticator of `profile` (revokes its token by its public
    /// id, so no biometric is needed). The PIN cannot be deregistered (10008).
    pub async fn deregister_authenticator(
        &self,
        profile: &UserProfile,
        authenticator: Authenticator,
    ) -> Result<(), Error> {
        if authenticator == Authenticator::Pin {
            return Err(Error::PinDeregistrationNotPossible);
        }
        let _guard = self.begin()?;
        let state = self.load()?;
        let stored = self.stored_profile(&state, profile)?;
        let Some(sealed) = stored.fingerprint.clone() else {
            return Err(Error::AuthenticatorNotRegistered);
        };
        self.drop_fingerprint_locally(profile)?;
        if let Some(creds) = &state.credentials {
            self.revoke(creds, &sealed.rt_id, "refresh_token").await?;
        }
        Ok(())
    }

    /// `setPreferredAuthenticator` for the authenticated profile.
    pub fn set_preferred_authenticator(&self, authenticator: Authenticator) -> Result<(), Error> {
        let (profile, _) = self.current_session()?;
        let mut state = self.load()?;
        let p = state
            .profiles
            .iter_mut()
            .find(|p| p.profile_id == profile.profile_id)
            .ok_or(Error::UserNotAuthenticated)?;
        if authenticator == Authenticator::Fingerprint && p.fingerprint.is_none() {
            return Err(Error::AuthenticatorNotRegistered);
        }
        p.preferred = authenticator;
        self.save(&state)
    }

    fn current_session(&self) -> Result<(UserProfile, AccessToken), Error> {
        let now = self.inner.transport.clock().now();
        let session = self.session();
        match session.as_ref() {
            Some(s) if s.expires_at.is_none_or(|e| now < e) => {
                Ok((s.profile.clone(), s.access_token.clone()))
            }
            _ => Err(Error::UserNotAuthenticated),
        }
    }

    // ---------------------------------------------------------------- change PIN

    /// `changePin`: PIN authentication of the authenticated profile (counter semantics as in
    /// [`Client::authenticate_user`], can end in 9003), then PIN creation; the rotated
    /// refresh token is sealed under the new PIN.
    pub async fn change_pin(
        &self,
        current: &dyn PinAuthenticationHandler,
        new_pin: &dyn CreatePinHandler,
    ) -> Result<(), Error> {
        let _guard = self.begin()?;
        let (profile, _) = self.current_session()?;
        let state = self.load()?;
        let stored = self.stored_profile(&state, &profile)?.clone();
        let creds = state
            .credentials
            .clone()
            .ok_or_else(|| Error::InvalidRequest("the device is not registered".into()))?;
        let (old_pin, tokens) = self.pin_refresh(&creds, &stored, current).await?;
        current.finish_authentication().await;
        // The rotated token is sealed under the old PIN first, so a denied PIN creation
        // leaves a working profile behind.
        self.finish_pin_login(&stored, &tokens, &old_pin)?;
        drop(old_pin);
        self.set_session(&profile, &tokens);
        let policy = &creds.pin_policy;
        let mut answer = new_pin
            .start_pin_creation(&profile, policy.pin_length)
            .await;
        let pin = loop {
            match answer {
                PinAnswer::Deny => {
                    new_pin.finish_pin_creation().await;
                    return Err(Error::ActionCanceled("PIN creation was denied"));
                }
                PinAnswer::Accept(pin) => match policy.validate(&pin) {
                    Ok(()) => break pin,
                    Err(e) => answer = new_pin.on_next_pin_creation_attempt(&e).await,
                },
            }
        };
        if let Some(rt) = &tokens.refresh_token {
            let rt = split_refresh_token(rt)?;
            let mut state = self.load()?;
            if let Some(p) = state
                .profiles
                .iter_mut()
                .find(|p| p.profile_id == profile.profile_id)
            {
                p.pin_secret = PinProtectedSecret::seal(
                    &rt.secret,
                    &pin,
                    self.inner.config.pbkdf2_iterations,
                )?;
                p.rt_id = rt.id;
            }
            self.save(&state)?;
        }
        new_pin.finish_pin_creation().await;
        Ok(())
    }

    // ---------------------------------------------------------------- logout, deregistration

    async fn revoke(
        &self,
        creds: &StoredCredentials,
        token: &str,
        hint: &str,
    ) -> Result<(), Error> {
        let body = wire::form(&[("token", token), ("token_type_hint", hint)]).into_bytes();
        let auth = Self::basic_auth(creds);
        let request = self
            .post(wire::REVOKE_PATH, "application/x-www-form-urlencoded")
            .header(AUTHORIZATION, auth.as_str());
        let response = self.send(request, body).await?;
        if response.status() == StatusCode::OK {
            return Ok(());
        }
        let sent = Sent::client(creds).with(token);
        match self.read_token_answer::<serde_json::Value>(&sent, response)? {
            Ok(_) => Ok(()),
            Err(e) => Err(Error::General(format!("revocation failed: `{}`", e.error))),
        }
    }

    /// `logout`: revokes the access token and drops it from memory; the refresh token stays,
    /// so the next login needs only the PIN (or fingerprint). When the server call fails, the
    /// local logout still happens and the error is 10009 `LOCAL_LOGOUT`; when the server no
    /// longer knows the client, all local data is wiped and the error is 9002.
    pub async fn logout(&self) -> Result<(), Error> {
        let _guard = self.begin()?;
        let session = self.session().take().ok_or(Error::UserNotAuthenticated)?;
        let creds = self.load()?.credentials;
        let result = match creds {
            Some(creds) => {
                self.revoke(&creds, session.access_token.expose_secret(), "access_token")
                    .await
            }
            None => Ok(()),
        };
        result.map_err(|e| match e {
            // Stronger than a failed logout: everything was wiped; say so.
            e @ Error::DeviceDeregistered { .. } => e,
            e => Error::LocalLogout {
                source: Box::new(e),
            },
        })
    }

    /// `deregisterUser(profile)`: removes the profile's data from the device (tokens,
    /// authenticators) and asks the Token Server to revoke all of the user's tokens for this
    /// client (model: revocation by the refresh token's public id, authenticated by the client
    /// credentials). Client credentials and other profiles stay. When the server call fails the
    /// local data is gone anyway and the error is 10003 `LOCAL_DEREGISTRATION`; when the server
    /// no longer knows the client, all local data is wiped and the error is 9002.
    pub async fn deregister_user(&self, profile: &UserProfile) -> Result<(), Error> {
        let _guard = self.begin()?;
        let state = self.load()?;
        self.stored_profile(&state, profile)?;
        let removed = self.remove_profile_locally(profile)?;
        let (Some(creds), Some(removed)) = (state.credentials, removed) else {
            return Ok(());
        };
        let mut result = self.revoke(&creds, &removed.rt_id, "refresh_token").await;
        if let (Ok(()), Some(fp)) = (&result, &removed.fingerprint) {
            result = self.revoke(&creds, &fp.rt_id, "refresh_token").await;
        }
        result.map_err(|e| match e {
            // Stronger than a failed deregistration: everything was wiped; say so.
            e @ Error::DeviceDeregistered { .. } => e,
            e => Error::LocalDeregistration {
                source: Box::new(e),
            },
        })
    }

    // ---------------------------------------------------------------- resources

    /// Fetches the model's user resource with the access token (what an app's resource call
    /// does). 9010 when no profile is authenticated or the server refuses the token (the
    /// access token is then dropped).
    pub async fn fetch_user_resource(&self) -> Result<wire::UserResource, Error> {
        let (_, access) = self.current_session()?;
        let bearer = Zeroizing::new(format!("Bearer {}", access.expose_secret()));
        let request = self
            .inner
            .transport
            .request(Method::GET, wire::USER_RESOURCE_PATH)
            .header(AUTHORIZATION, bearer.as_str())
            .header(ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|e| Error::General(e.to_string()))?;
        let response = self.inner.transport.send(request, Replay::ByMethod).await?;
        self.refuse_rate_limit(&response)?;
        let sent = Sent::default().with(access.expose_secret());
        match response.status() {
            StatusCode::OK => sent.decode("user resource", response.body()),
            StatusCode::UNAUTHORIZED => {
                *self.session() = None;
                Err(Error::UserNotAuthenticated)
            }
            s => Err(sent.status(s, response.body())),
        }
    }
}
