//! The Token Server model (feature `emulator`): an in-process HTTP server on a loopback port,
//! plus an emulated browser that plays the user at the IdP.
//!
//! It serves, over real HTTP (wiremock with one routing responder, state behind a mutex):
//!
//! | endpoint | what | tag |
//! | --- | --- | --- |
//! | `POST /oauth/client/v1/register` | DCR in two rounds, OCRA proof keyed by the app version's signature, T1M ±10 steps | model choice |
//! | `GET /oauth/authorize`, `/oauth/v1/authorize` | authorization request; redirects to the IdP login | documented (RFC 6749) |
//! | `GET`/`POST /idp/login` | the IdP's login form (username + password) | model |
//! | `GET`/`POST /oauth/v1/consent` | consent; redirects to the app's scheme with `code` or `error=access_denied` | model |
//! | `POST /oauth/token`, `/oauth/v1/token` | `authorization_code` (+ PKCE S256 when the request had a challenge), `refresh_token` with the wrong-PIN counter; a fingerprint token revoked on its own → `authenticator_deregistered` | documented grants; counter fields and `authenticator_deregistered` model |
//! | `POST /oauth/revoke`, `/oauth/v1/revoke` | RFC 7009 style; revoking a PIN refresh token revokes the user's tokens for the client, revoking a fingerprint token only that one | model choice |
//! | `POST /oauth/v1/authenticators/fingerprint` | fingerprint refresh token for the bearer's user | model choice |
//! | `GET /resources/v1/user` | a user resource for the bearer | model |
//! | `POST /oauth/v1/client/status` | which stored refresh tokens were revoked (for `start`) | model choice |
//!
//! The control API ([`TokenServer`]'s methods) lets a test act as the administrator: add IdP
//! users, change an app version's status, revoke a user's tokens, delete a client, read the
//! attempt counter, and see the server's event log.
//!
//! The [`EmulatedBrowser`] plays the user's browser over real HTTP too: it reads each redirect
//! (`auth_core::Transport::send_reading_redirect`, never followed automatically), refuses to
//! leave the Token Server's origin, and hands the final redirect to the app's scheme back.
//! What the model keeps per request is bounded: expired pending DCRs, login sessions, codes and
//! access tokens are forgotten as time passes; revoked and rotated tokens are removed (a
//! fingerprint token leaves at most one retired entry per registration, see the token
//! endpoint); the event log and the request log are ring buffers of [`LOG_CAPACITY`] entries,
//! each request kept to at most [`LOGGED_REQUEST_LIMIT`] bytes. What stays is registration
//! state: IdP users, clients (one per DCR) and the live refresh tokens of registered profiles.
//! [`TokenServer::record_counts`] shows the sizes.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_core::{BaseUrl, Replay, SharedClock, Transport};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::Method;
use url::Url;
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

use crate::client::{
    ApplicationSignature, BrowserRegistrationAnswer, BrowserRegistrationHandler, ClientId,
};
use crate::crypto::{self, random_hex};
use crate::hazmat::ocra::{OcraInputs, OcraSuite};
use crate::hex;
use crate::pin::PinPolicy;
use crate::wire::{self, SecretField, TokenError};
use auth_core::secret::constant_time_eq;
use auth_core::sync::lock;

/// The status of an application version on the Token Server (documented states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VersionStatus {
    /// May register new installations and keep using existing ones.
    Enabled,
    /// Only previously registered installations keep working.
    LoginEnabledRegistrationDisabled,
    /// Nothing works (`OUTDATED_APP`).
    Disabled,
}

/// One application version (identifier + version + platform).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AppVersion {
    /// The version string.
    pub version: String,
    /// `android` / `ios`.
    pub platform: String,
    /// Its status.
    pub status: VersionStatus,
    /// Accepted application signatures (several while a signing key is rotated).
    pub signatures: Vec<ApplicationSignature>,
    /// Skip the signature check ("development mode").
    pub development_mode: bool,
}

impl AppVersion {
    /// An enabled version with one signature.
    pub fn new(version: &str, platform: &str, signature: ApplicationSignature) -> Self {
        AppVersion {
            version: version.into(),
            platform: platform.into(),
            status: VersionStatus::Enabled,
            signatures: vec![signature],
            development_mode: false,
        }
    }
}

/// The application's Token Server configuration (spec §2.2, §2.4 defaults).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AppConfig {
    /// The application identifier.
    pub identifier: String,
    /// Its versions.
    pub versions: Vec<AppVersion>,
    /// The redirect URL (custom scheme).
    pub redirect_uri: String,
    /// Scopes granted when the request names none.
    pub default_scopes: Vec<String>,
    /// Further scopes the application may request.
    pub additional_scopes: Vec<String>,
    /// The PIN policy.
    pub pin_policy: PinPolicy,
    /// Wrong PIN attempts before the user is deregistered (default 3).
    pub max_pin_failures: u32,
    /// Whether the fingerprint authenticator is allowed.
    pub fingerprint_allowed: bool,
    /// Authorization code validity (default 30 s).
    pub grant_validity: Duration,
    /// Access token validity (default 900 s).
    pub token_validity: Duration,
    /// The DCR OCRA suite (default `OCRA-1:HOTP-SHA256-8:QH64-T1M`).
    pub dcr_suite: OcraSuite,
    /// Accepted DCR time-step offset (default 10: the documented ten minutes with T1M).
    pub dcr_window: u64,
    /// Pending DCR lifetime (default 5 min).
    pub dcr_pending_validity: Duration,
}

impl AppConfig {
    /// An application with one enabled version and the model defaults.
    pub fn new(
        identifier: &str,
        redirect_uri: &str,
        version: AppVersion,
    ) -> Result<Self, crate::Error> {
        Ok(AppConfig {
            identifier: identifier.into(),
            versions: vec![version],
            redirect_uri: redirect_uri.into(),
            default_scopes: vec!["read".into()],
            additional_scopes: vec!["write".into(), "openid".into()],
            pin_policy: PinPolicy::default(),
            max_pin_failures: 3,
            fingerprint_allowed: true,
            grant_validity: Duration::from_secs(30),
            token_validity: Duration::from_secs(900),
            dcr_suite: OcraSuite::parse(crate::client::DEFAULT_DCR_SUITE)?,
            dcr_window: 10,
            dcr_pending_validity: Duration::from_secs(300),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Pin,
    Fingerprint,
}

struct PendingDcr {
    version: Option<(String, String)>,
    challenge: String,
    expires: SystemTime,
}

struct ClientRecord {
    secret: SecretField,
    version: (String, String),
}

struct AuthSession {
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    user_id: Option<String>,
    expires: SystemTime,
}

struct CodeRecord {
    client_id: String,
    user_id: String,
    scopes: Vec<String>,
    redirect_uri: String,
    code_challenge: Option<String>,
    expires: SystemTime,
    used: bool,
}

/// A live refresh token. Revoked and rotated tokens are removed (only a fingerprint token
/// leaves a [`RetiredFingerprint`] behind).
struct RefreshRecord {
    client_id: String,
    user_id: String,
    /// The registration (code exchange) the token descends from: a PIN token and the
    /// fingerprint tokens registered with its access tokens share it, across rotations.
    grant: String,
    kind: TokenKind,
    secret: Vec<u8>,
    scopes: Vec<String>,
    failed: u32,
}

/// A live access token (revoked ones are removed, expired ones forgotten).
struct AccessRecord {
    client_id: String,
    user_id: String,
    grant: String,
    scopes: Vec<String>,
    expires: SystemTime,
}

/// A fingerprint token that is no longer honoured while its registration's PIN token still
/// is (revoked on its own, or rotated away): presenting it is answered with
/// `authenticator_deregistered`, not `user_deregistered`. At most one per registration.
struct RetiredFingerprint {
    client_id: String,
    user_id: String,
    grant: String,
    secret: Vec<u8>,
}

struct IdpUser {
    password: SecretField,
    user_id: String,
}

/// How many entries the event log and the request log keep (the oldest are dropped).
pub const LOG_CAPACITY: usize = 512;

/// How much of one request (method, URL and body) the request log keeps, in bytes.
pub const LOGGED_REQUEST_LIMIT: usize = 4096;

/// How many records of each kind the Token Server model holds right now (see
/// [`TokenServer::record_counts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RecordCounts {
    /// Pending DCR registrations (until answered or expired).
    pub pending_dcr: usize,
    /// Login sessions of authorization requests (until consent or expiry).
    pub login_sessions: usize,
    /// Authorization codes (until expiry; used ones too, so reuse is recognised).
    pub codes: usize,
    /// Live refresh tokens (PIN and fingerprint).
    pub refresh_tokens: usize,
    /// Retired fingerprint tokens remembered (at most one per registration).
    pub retired_fingerprints: usize,
    /// Live access tokens.
    pub access_tokens: usize,
    /// Registered clients.
    pub clients: usize,
    /// Entries in the event log (at most [`LOG_CAPACITY`]).
    pub events: usize,
    /// Entries in the request log (at most [`LOG_CAPACITY`]).
    pub requests: usize,
}

/// A ring buffer of text entries: the newest [`LOG_CAPACITY`].
#[derive(Default)]
struct Log(VecDeque<String>);

impl Log {
    fn push(&mut self, entry: String) {
        if self.0.len() == LOG_CAPACITY {
            self.0.pop_front();
        }
        self.0.push_back(entry);
    }

    fn to_vec(&self) -> Vec<String> {
        self.0.iter().cloned().collect()
    }
}

struct State {
    app: AppConfig,
    users: HashMap<String, IdpUser>,
    pending_dcr: HashMap<String, PendingDcr>,
    clients: HashMap<String, ClientRecord>,
    sessions: HashMap<String, AuthSession>,
    codes: HashMap<String, CodeRecord>,
    refresh_tokens: HashMap<String, RefreshRecord>,
    retired_fingerprints: HashMap<String, RetiredFingerprint>,
    access_tokens: HashMap<String, AccessRecord>,
    events: Log,
    requests: Log,
}

impl State {
    fn event(&mut self, text: String) {
        self.events.push(text);
    }

    /// Logs a request: method, URL and body, cut to [`LOGGED_REQUEST_LIMIT`] bytes.
    fn log_request(&mut self, request: &wiremock::Request) {
        let mut entry = format!(
            "{} {} {}",
            request.method,
            request.url,
            String::from_utf8_lossy(&request.body)
        );
        if entry.len() > LOGGED_REQUEST_LIMIT {
            let mut cut = LOGGED_REQUEST_LIMIT;
            while !entry.is_char_boundary(cut) {
                cut -= 1;
            }
            entry.truncate(cut);
        }
        self.requests.push(entry);
    }

    fn user_name(&self, user_id: &str) -> String {
        self.users
            .iter()
            .find(|(_, u)| u.user_id == user_id)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| user_id.to_owned())
    }

    /// Revokes every token of `user_id` (for one client, or all): refresh tokens of both
    /// kinds, access tokens, and what is remembered of retired fingerprint tokens.
    fn revoke_user(&mut self, client_id: Option<&str>, user_id: &str) {
        let keep = |c: &str, u: &str| u != user_id || client_id.is_some_and(|id| id != c);
        self.refresh_tokens
            .retain(|_, r| keep(&r.client_id, &r.user_id));
        self.access_tokens
            .retain(|_, a| keep(&a.client_id, &a.user_id));
        self.retired_fingerprints
            .retain(|_, r| keep(&r.client_id, &r.user_id));
    }

    /// Takes the fingerprint token `rt_id` out of service while its registration's PIN token
    /// lives on: it is remembered (one per registration) so that presenting it is answered
    /// with `authenticator_deregistered`.
    fn retire_fingerprint(&mut self, rt_id: &str) {
        let Some(record) = self
            .refresh_tokens
            .remove(rt_id)
            .filter(|r| r.kind == TokenKind::Fingerprint)
        else {
            return;
        };
        self.retired_fingerprints
            .retain(|_, r| r.grant != record.grant);
        self.retired_fingerprints.insert(
            rt_id.to_owned(),
            RetiredFingerprint {
                client_id: record.client_id,
                user_id: record.user_id,
                grant: record.grant,
                secret: record.secret,
            },
        );
    }

    /// Whether the registration `grant` still has a live PIN token.
    fn pin_token_lives(&self, grant: &str) -> bool {
        self.refresh_tokens
            .values()
            .any(|r| r.grant == grant && r.kind == TokenKind::Pin)
    }

    /// Drops pending DCRs, login sessions, codes and access tokens whose time is over, so a
    /// client hammering the endpoints cannot grow the server's memory without bound. (A used
    /// code stays until it expires, so its reuse is still reported as such.)
    fn forget_expired(&mut self, now: SystemTime) {
        self.pending_dcr.retain(|_, p| now < p.expires);
        self.sessions.retain(|_, x| now < x.expires);
        self.codes.retain(|_, c| now < c.expires);
        self.access_tokens.retain(|_, a| now < a.expires);
    }

    fn version_status(&self, version: &(String, String)) -> Option<VersionStatus> {
        self.app
            .versions
            .iter()
            .find(|v| v.version == version.0 && v.platform == version.1)
            .map(|v| v.status)
    }
}

/// The in-memory Token Server model, serving on a loopback port.
pub struct TokenServer {
    server: MockServer,
    state: Arc<Mutex<State>>,
    clock: SharedClock,
}

impl fmt::Debug for TokenServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenServer")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl TokenServer {
    /// Starts a Token Server for `app` on a random loopback port, with its own `clock`
    /// (give it a different [`auth_core::FakeClock`] than the client's to model clock skew).
    pub async fn start(app: AppConfig, clock: SharedClock) -> Self {
        let state = Arc::new(Mutex::new(State {
            app,
            users: HashMap::new(),
            pending_dcr: HashMap::new(),
            clients: HashMap::new(),
            sessions: HashMap::new(),
            codes: HashMap::new(),
            refresh_tokens: HashMap::new(),
            retired_fingerprints: HashMap::new(),
            access_tokens: HashMap::new(),
            events: Log::default(),
            requests: Log::default(),
        }));
        // The model keeps its own bounded request log; wiremock would keep every request.
        let server = MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        Mock::given(wiremock::matchers::any())
            .respond_with(Router {
                state: state.clone(),
                clock: clock.clone(),
            })
            .mount(&server)
            .await;
        TokenServer {
            server,
            state,
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The origin as a [`BaseUrl`] (the client's `baseURL`).
    pub fn base_url(&self) -> Result<BaseUrl, crate::Error> {
        Ok(BaseUrl::parse(&self.server.uri()).map_err(auth_core::Error::from)?)
    }

    /// The server's clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Adds a user at the IdP; returns the user id the IdP delivers.
    pub fn add_user(&self, username: &str, password: &str) -> String {
        let user_id = format!(
            "user-{}",
            random_hex(4).unwrap_or_else(|_| username.to_owned())
        );
        self.lock().users.insert(
            username.to_owned(),
            IdpUser {
                password: SecretField::new(password),
                user_id: user_id.clone(),
            },
        );
        user_id
    }

    /// Changes an app version's status.
    pub fn set_version_status(&self, version: &str, platform: &str, status: VersionStatus) {
        let mut s = self.lock();
        for v in &mut s.app.versions {
            if v.version == version && v.platform == platform {
                v.status = status;
            }
        }
    }

    /// Changes the maximum number of wrong PIN attempts (for new DCRs and every counter check).
    pub fn set_max_pin_failures(&self, max: u32) {
        self.lock().app.max_pin_failures = max;
    }

    /// Administrator action: revokes every token of the IdP user `username` (all clients).
    pub fn revoke_user_tokens(&self, username: &str) {
        let mut s = self.lock();
        if let Some(user_id) = s.users.get(username).map(|u| u.user_id.clone()) {
            s.revoke_user(None, &user_id);
            s.event(format!("admin: revoked every token of {username}"));
        }
    }

    /// Administrator action: revokes only the fingerprint refresh tokens of `username` (all
    /// clients); the PIN tokens stay. The client learns it at its next fingerprint
    /// authentication (`authenticator_deregistered`, 9022) and falls back to the PIN.
    pub fn revoke_fingerprint_tokens(&self, username: &str) {
        let mut s = self.lock();
        let Some(user_id) = s.users.get(username).map(|u| u.user_id.clone()) else {
            return;
        };
        let ids: Vec<String> = s
            .refresh_tokens
            .iter()
            .filter(|(_, r)| r.user_id == user_id && r.kind == TokenKind::Fingerprint)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ids {
            s.retire_fingerprint(id);
        }
        s.event(format!(
            "admin: revoked {} fingerprint token(s) of {username}",
            ids.len()
        ));
    }

    /// Administrator action: removes a device registration (client); its tokens stop working.
    pub fn delete_client(&self, client_id: &ClientId) {
        let mut s = self.lock();
        let id = client_id.as_str();
        s.clients.remove(id);
        s.refresh_tokens.retain(|_, r| r.client_id != id);
        s.retired_fingerprints.retain(|_, r| r.client_id != id);
        s.access_tokens.retain(|_, a| a.client_id != id);
        s.codes.retain(|_, c| c.client_id != id);
        s.event(format!(
            "admin: deleted client {}",
            short(client_id.as_str())
        ));
    }

    /// Registered client ids.
    pub fn client_ids(&self) -> Vec<ClientId> {
        self.lock()
            .clients
            .keys()
            .cloned()
            .filter_map(|id| ClientId::new(id).ok())
            .collect()
    }

    /// Failed PIN attempts on the user's live PIN refresh token(s) (the highest), if any.
    pub fn failed_pin_attempts(&self, username: &str) -> Option<u32> {
        let s = self.lock();
        let user_id = &s.users.get(username)?.user_id;
        s.refresh_tokens
            .values()
            .filter(|r| &r.user_id == user_id && r.kind == TokenKind::Pin)
            .map(|r| r.failed)
            .max()
    }

    /// Live (not revoked) refresh tokens of the user: `(pin, fingerprint)` counts.
    pub fn active_refresh_tokens(&self, username: &str) -> (usize, usize) {
        let s = self.lock();
        let Some(user) = s.users.get(username) else {
            return (0, 0);
        };
        let live = |k| {
            s.refresh_tokens
                .values()
                .filter(|r| r.user_id == user.user_id && r.kind == k)
                .count()
        };
        (live(TokenKind::Pin), live(TokenKind::Fingerprint))
    }

    /// Live (not revoked, not expired) access tokens of the user.
    pub fn active_access_tokens(&self, username: &str) -> usize {
        let now = self.clock.now();
        let s = self.lock();
        let Some(user) = s.users.get(username) else {
            return 0;
        };
        s.access_tokens
            .values()
            .filter(|a| a.user_id == user.user_id && now < a.expires)
            .count()
    }

    /// The server's event log (what happened, in order; never a secret): the newest
    /// [`LOG_CAPACITY`] events.
    pub fn events(&self) -> Vec<String> {
        self.lock().events.to_vec()
    }

    /// The newest [`LOG_CAPACITY`] requests the server received, as `METHOD URL BODY` text
    /// (each cut to [`LOGGED_REQUEST_LIMIT`] bytes), for checks such as "the PIN never went
    /// over the wire". Bodies carry tokens: a test facility, never logged.
    pub fn received_bodies(&self) -> Vec<String> {
        self.lock().requests.to_vec()
    }

    /// How many records of each kind the model holds now (expired ones are forgotten at the
    /// next request).
    pub fn record_counts(&self) -> RecordCounts {
        let s = self.lock();
        RecordCounts {
            pending_dcr: s.pending_dcr.len(),
            login_sessions: s.sessions.len(),
            codes: s.codes.len(),
            refresh_tokens: s.refresh_tokens.len(),
            retired_fingerprints: s.retired_fingerprints.len(),
            access_tokens: s.access_tokens.len(),
            clients: s.clients.len(),
            events: s.events.0.len(),
            requests: s.requests.0.len(),
        }
    }

    /// An emulated browser that logs in as `username` at the IdP and answers the consent.
    pub fn browser(
        &self,
        username: &str,
        password: &str,
        consent: Consent,
    ) -> Result<EmulatedBrowser, crate::Error> {
        // The browser only ever talks to this server; redirects are read, never followed by
        // the HTTP client (`send_reading_redirect`), so each hop is visible and checked.
        let transport = Transport::builder(self.base_url()?)
            .user_agent("onegini-model-emulated-browser", env!("CARGO_PKG_VERSION"))
            .build()?;
        Ok(EmulatedBrowser {
            transport,
            username: username.into(),
            password: SecretField::new(password),
            consent,
            trail: Arc::new(Mutex::new(Vec::new())),
        })
    }
}

/// `now + validity`; a validity too large for the clock fails closed (expires at once)
/// instead of panicking on overflow.
fn later(now: SystemTime, validity: Duration) -> SystemTime {
    now.checked_add(validity).unwrap_or(now)
}

fn short(id: &str) -> String {
    id.chars().take(8).collect::<String>() + "…"
}

// ------------------------------------------------------------------------- routing

struct Router {
    state: Arc<Mutex<State>>,
    clock: SharedClock,
}

fn json(status: u16, body: impl serde::Serialize) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(body)
        .insert_header("cache-control", "no-store")
}

fn oauth_error(status: u16, e: TokenError) -> ResponseTemplate {
    json(status, e)
}

fn redirect(location: &str) -> ResponseTemplate {
    ResponseTemplate::new(302).insert_header("location", location)
}

fn html(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/html; charset=utf-8")
}

fn form_map(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn query_map(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Respond for Router {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let now = self.clock.now();
        let mut s = lock(&self.state);
        s.log_request(request);
        s.forget_expired(now);
        let path = request.url.path().to_owned();
        match (&request.method, path.as_str()) {
            (&Method::POST, wire::DCR_PATH) => dcr(&mut s, request, now, self.clock.unix_seconds()),
            (&Method::GET, "/oauth/authorize" | "/oauth/v1/authorize") => {
                authorize(&mut s, request, now)
            }
            (&Method::GET, "/idp/login") => login_page(&s, request, None),
            (&Method::POST, "/idp/login") => login(&mut s, request, now),
            (&Method::GET, "/oauth/v1/consent") => consent_page(&s, request),
            (&Method::POST, "/oauth/v1/consent") => consent(&mut s, request, now),
            (&Method::POST, "/oauth/token" | "/oauth/v1/token") => token(&mut s, request, now),
            (&Method::POST, "/oauth/revoke" | "/oauth/v1/revoke") => revoke(&mut s, request),
            (&Method::POST, wire::FINGERPRINT_PATH) => register_fingerprint(&mut s, request, now),
            (&Method::GET, wire::USER_RESOURCE_PATH) => user_resource(&s, request, now),
            (&Method::POST, wire::CLIENT_STATUS_PATH) => client_status(&mut s, request),
            _ => oauth_error(404, TokenError::new("not_found")),
        }
    }
}

fn dcr(s: &mut State, request: &wiremock::Request, now: SystemTime, unix: i64) -> ResponseTemplate {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&request.body) else {
        return oauth_error(400, TokenError::new("invalid_request"));
    };
    if body.get("registration_id").is_some() {
        let Ok(answer) = serde_json::from_value::<wire::DcrAnswer>(body) else {
            return oauth_error(400, TokenError::new("invalid_request"));
        };
        dcr_answer(s, answer, now, unix)
    } else {
        let Ok(ask) = serde_json::from_value::<wire::DcrChallengeRequest>(body) else {
            return oauth_error(400, TokenError::new("invalid_request"));
        };
        let key = (
            ask.application_version.clone(),
            ask.application_platform.clone(),
        );
        let known = ask.application_identifier == s.app.identifier;
        let status = if known { s.version_status(&key) } else { None };
        if matches!(
            status,
            Some(VersionStatus::Disabled | VersionStatus::LoginEnabledRegistrationDisabled)
        ) {
            s.event(format!(
                "DCR: {} {} {} may not register ({status:?})",
                ask.application_identifier, ask.application_version, ask.application_platform
            ));
            return oauth_error(400, TokenError::new("unsupported_app_version"));
        }
        let (Ok(registration_id), Ok(challenge)) = (random_hex(16), random_hex(32)) else {
            return oauth_error(500, TokenError::new("server_error"));
        };
        let registration_id = format!("r-{registration_id}");
        // An unknown version gets a challenge too, and fails in round 2 like a bad signature.
        s.pending_dcr.insert(
            registration_id.clone(),
            PendingDcr {
                version: status.map(|_| key),
                challenge: challenge.clone(),
                expires: later(now, s.app.dcr_pending_validity),
            },
        );
        s.event(format!(
            "DCR round 1: {} {} {} asks to register; challenge sent",
            ask.application_identifier, ask.application_version, ask.application_platform
        ));
        json(
            200,
            wire::DcrChallenge {
                registration_id,
                challenge,
                ocra_suite: Some(s.app.dcr_suite.to_string()),
            },
        )
    }
}

fn dcr_answer(
    s: &mut State,
    answer: wire::DcrAnswer,
    now: SystemTime,
    unix: i64,
) -> ResponseTemplate {
    let invalid = || oauth_error(400, TokenError::new("invalid_dcr"));
    // Single use: removed whatever the outcome.
    let Some(pending) = s.pending_dcr.remove(&answer.registration_id) else {
        return invalid();
    };
    let Some(version_key) = pending.version.filter(|_| now < pending.expires) else {
        s.event("DCR round 2: refused (unknown version or expired registration)".into());
        return invalid();
    };
    let Some(version) = s
        .app
        .versions
        .iter()
        .find(|v| v.version == version_key.0 && v.platform == version_key.1)
        .cloned()
    else {
        return invalid();
    };
    let suite = s.app.dcr_suite.clone();
    let ok = version.development_mode || {
        let t = suite
            .timestamp()
            .map(|step| step.counter_for_unix(unix))
            .transpose();
        match t {
            Ok(t) => {
                let mut inputs = OcraInputs::new(&pending.challenge);
                let mut matched = false;
                for sig in &version.signatures {
                    let key = sig.expose_secret().as_bytes();
                    let hit = match t {
                        Some(t) => {
                            inputs = inputs.timestamp(t);
                            suite
                                .verify_in_window(
                                    key,
                                    &inputs,
                                    s.app.dcr_window,
                                    &answer.ocra_response,
                                )
                                .ok()
                                .flatten()
                                .is_some()
                        }
                        None => suite
                            .verify(key, &inputs, &answer.ocra_response)
                            .unwrap_or(false),
                    };
                    matched |= hit;
                }
                matched
            }
            Err(_) => false,
        }
    };
    if !ok {
        s.event("DCR round 2: OCRA response refused (clock, version or signature)".into());
        return invalid();
    }
    let (Ok(id), Ok(secret)) = (crypto::random_bytes(32), random_hex(32)) else {
        return oauth_error(500, TokenError::new("server_error"));
    };
    let client_id = hex::encode(id).to_ascii_uppercase();
    s.clients.insert(
        client_id.clone(),
        ClientRecord {
            secret: SecretField::new(secret.clone()),
            version: version_key,
        },
    );
    s.event(format!(
        "DCR round 2: OCRA verified; client {} registered",
        short(&client_id)
    ));
    json(
        200,
        wire::DcrCredentials {
            client_id,
            client_secret: SecretField::new(secret),
            pin_policy: s.app.pin_policy.clone(),
            max_pin_failures: Some(s.app.max_pin_failures),
            fingerprint_allowed: s.app.fingerprint_allowed,
        },
    )
}

fn authorize(s: &mut State, request: &wiremock::Request, now: SystemTime) -> ResponseTemplate {
    let q = query_map(&request.url);
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let client_id = get("client_id");
    let Some(client) = s.clients.get(&client_id) else {
        return html_error("unknown client");
    };
    let version = client.version.clone();
    let redirect_uri = get("redirect_uri");
    if redirect_uri != s.app.redirect_uri {
        return html_error("the redirect_uri is not the application's");
    }
    let state_param = q.get("state").cloned();
    let back = |error: &str, description: Option<&str>| {
        let mut url = format!("{redirect_uri}?error={error}");
        if let Some(d) = description {
            url.push_str(&format!("&{}", wire::form(&[("error_description", d)])));
        }
        if let Some(st) = &state_param {
            url.push_str(&format!("&{}", wire::form(&[("state", st)])));
        }
        redirect(&url)
    };
    if get("response_type") != "code" {
        return back("unsupported_response_type", None);
    }
    if s.version_status(&version) != Some(VersionStatus::Enabled) {
        return back("unauthorized_client", Some("app_version_disabled"));
    }
    let requested: Vec<String> = get("scope").split_whitespace().map(str::to_owned).collect();
    let scopes = if requested.is_empty() {
        s.app.default_scopes.clone()
    } else {
        requested
    };
    if scopes
        .iter()
        .any(|sc| !s.app.default_scopes.contains(sc) && !s.app.additional_scopes.contains(sc))
    {
        return back("invalid_scope", None);
    }
    let code_challenge = match (
        q.get("code_challenge"),
        q.get("code_challenge_method").map(String::as_str),
    ) {
        (None, _) => None,
        (Some(c), Some("S256")) => Some(c.clone()),
        (Some(_), _) => return back("invalid_request", Some("only S256 PKCE is supported")),
    };
    let Ok(session_id) = random_hex(16) else {
        return back("server_error", None);
    };
    s.sessions.insert(
        session_id.clone(),
        AuthSession {
            client_id,
            redirect_uri,
            scopes: scopes.clone(),
            state: state_param,
            code_challenge,
            user_id: None,
            expires: later(now, Duration::from_secs(600)),
        },
    );
    s.event(format!(
        "authorize: request for scopes [{}]; browser sent to the IdP",
        scopes.join(" ")
    ));
    redirect(&format!("/idp/login?session={session_id}"))
}

fn html_error(message: &str) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_raw(
        format!(
            "<!doctype html><title>Error</title><p>{}</p>",
            escape(message)
        )
        .into_bytes(),
        "text/html; charset=utf-8",
    )
}

fn login_page(s: &State, request: &wiremock::Request, error: Option<&str>) -> ResponseTemplate {
    let session = query_map(&request.url)
        .get("session")
        .cloned()
        .unwrap_or_default();
    if !s.sessions.contains_key(&session) {
        return html_error("unknown or expired login session");
    }
    html(format!(
        "<!doctype html><title>Log in</title>{}<form method=post action=/idp/login>\
         <input type=hidden name=session value=\"{}\"><input name=username><input type=password name=password>\
         <button>Log in</button></form>",
        error
            .map(|e| format!("<p class=error>{}</p>", escape(e)))
            .unwrap_or_default(),
        escape(&session)
    ))
}

fn login(s: &mut State, request: &wiremock::Request, now: SystemTime) -> ResponseTemplate {
    let f = form_map(&request.body);
    let session_id = f.get("session").cloned().unwrap_or_default();
    let username = f.get("username").cloned().unwrap_or_default();
    let password = f.get("password").cloned().unwrap_or_default();
    let user_id = s
        .users
        .get(&username)
        .filter(|u| u.password.matches(&password))
        .map(|u| u.user_id.clone());
    let Some(session) = s.sessions.get_mut(&session_id).filter(|x| now < x.expires) else {
        return html_error("unknown or expired login session");
    };
    let Some(user_id) = user_id else {
        s.event(format!("IdP: failed login for {username}"));
        return html(format!(
            "<!doctype html><title>Log in</title><p class=error>Wrong username or password</p>\
             <form method=post action=/idp/login><input type=hidden name=session value=\"{}\"></form>",
            escape(&session_id)
        ));
    };
    session.user_id = Some(user_id);
    s.event(format!("IdP: {username} logged in"));
    redirect(&format!("/oauth/v1/consent?session={session_id}"))
}

fn consent_page(s: &State, request: &wiremock::Request) -> ResponseTemplate {
    let session_id = query_map(&request.url)
        .get("session")
        .cloned()
        .unwrap_or_default();
    let Some(session) = s.sessions.get(&session_id).filter(|x| x.user_id.is_some()) else {
        return html_error("unknown login session");
    };
    html(format!(
        "<!doctype html><title>Consent</title><p>The app asks for: {}</p>\
         <form method=post action=/oauth/v1/consent><input type=hidden name=session value=\"{}\">\
         <button name=decision value=allow>Allow</button><button name=decision value=deny>Deny</button></form>",
        escape(&session.scopes.join(", ")),
        escape(&session_id)
    ))
}

fn consent(s: &mut State, request: &wiremock::Request, now: SystemTime) -> ResponseTemplate {
    let f = form_map(&request.body);
    let session_id = f.get("session").cloned().unwrap_or_default();
    let Some(session) = s.sessions.remove(&session_id) else {
        return html_error("unknown login session");
    };
    let Some(user_id) = session.user_id.clone().filter(|_| now < session.expires) else {
        return html_error("not logged in");
    };
    let state_suffix = session
        .state
        .as_ref()
        .map(|st| format!("&{}", wire::form(&[("state", st)])))
        .unwrap_or_default();
    if f.get("decision").map(String::as_str) != Some("allow") {
        s.event(format!("consent: {} denied", s.user_name(&user_id)));
        return redirect(&format!(
            "{}?error=access_denied{state_suffix}",
            session.redirect_uri
        ));
    }
    let Ok(code) = random_hex(16) else {
        return html_error("server error");
    };
    s.codes.insert(
        code.clone(),
        CodeRecord {
            client_id: session.client_id,
            user_id: user_id.clone(),
            scopes: session.scopes,
            redirect_uri: session.redirect_uri.clone(),
            code_challenge: session.code_challenge,
            expires: later(now, s.app.grant_validity),
            used: false,
        },
    );
    s.event(format!(
        "consent: {} allowed; redirect to the app with an authorization code",
        s.user_name(&user_id)
    ));
    redirect(&format!(
        "{}?code={code}{state_suffix}",
        session.redirect_uri
    ))
}

/// Client authentication: HTTP Basic or form parameters. Returns the client id.
fn authenticate_client(
    s: &State,
    request: &wiremock::Request,
    form: &HashMap<String, String>,
) -> Option<String> {
    let (id, secret) = match request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        Some(b64) => {
            let decoded = String::from_utf8(STANDARD.decode(b64).ok()?).ok()?;
            let (id, secret) = decoded.split_once(':')?;
            (id.to_owned(), secret.to_owned())
        }
        None => (
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ),
    };
    let client = s.clients.get(&id)?;
    client.secret.matches(&secret).then_some(id)
}

/// Who a token is issued to: client, user, registration (grant) and scopes.
struct Holder {
    client_id: String,
    user_id: String,
    grant: String,
    scopes: Vec<String>,
}

fn issue_access(s: &mut State, to: &Holder, now: SystemTime) -> Option<String> {
    let token = random_hex(32).ok()?;
    s.access_tokens.insert(
        token.clone(),
        AccessRecord {
            client_id: to.client_id.clone(),
            user_id: to.user_id.clone(),
            grant: to.grant.clone(),
            scopes: to.scopes.clone(),
            expires: later(now, s.app.token_validity),
        },
    );
    Some(token)
}

fn issue_refresh(s: &mut State, to: &Holder, kind: TokenKind) -> Option<String> {
    let id = random_hex(8).ok()?;
    let secret = crypto::random_bytes(32).ok()?;
    let token = format!("{id}.{}", hex::encode(&secret));
    s.refresh_tokens.insert(
        id,
        RefreshRecord {
            client_id: to.client_id.clone(),
            user_id: to.user_id.clone(),
            grant: to.grant.clone(),
            kind,
            secret,
            scopes: to.scopes.clone(),
            failed: 0,
        },
    );
    Some(token)
}

fn token_response(
    s: &State,
    access: String,
    refresh: Option<String>,
    scopes: &[String],
) -> ResponseTemplate {
    json(
        200,
        wire::TokenResponse {
            access_token: SecretField::new(access),
            token_type: "bearer".into(),
            expires_in: Some(s.app.token_validity.as_secs()),
            refresh_token: refresh.map(SecretField::new),
            scope: Some(scopes.join(" ")),
            id_token: None,
        },
    )
}

fn token(s: &mut State, request: &wiremock::Request, now: SystemTime) -> ResponseTemplate {
    let f = form_map(&request.body);
    let Some(client_id) = authenticate_client(s, request, &f) else {
        return oauth_error(401, TokenError::new("invalid_client"));
    };
    let version = s.clients.get(&client_id).map(|c| c.version.clone());
    if version.and_then(|v| s.version_status(&v)) == Some(VersionStatus::Disabled) {
        return oauth_error(
            400,
            TokenError::new("unauthorized_client").with_description("app_version_disabled"),
        );
    }
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => code_grant(s, &f, &client_id, now),
        Some("refresh_token") => refresh_grant(s, &f, &client_id, now),
        _ => oauth_error(400, TokenError::new("unsupported_grant_type")),
    }
}

fn code_grant(
    s: &mut State,
    f: &HashMap<String, String>,
    client_id: &str,
    now: SystemTime,
) -> ResponseTemplate {
    let invalid = |d: &str| oauth_error(400, TokenError::new("invalid_grant").with_description(d));
    let code = f.get("code").cloned().unwrap_or_default();
    let Some(record) = s.codes.get_mut(&code) else {
        return invalid("unknown code");
    };
    if record.used {
        return invalid("code already used");
    }
    record.used = true;
    if now >= record.expires {
        return invalid("code expired");
    }
    if record.client_id != client_id {
        return invalid("code issued to another client");
    }
    if f.get("redirect_uri") != Some(&record.redirect_uri) {
        return invalid("redirect_uri mismatch");
    }
    if let Some(challenge) = &record.code_challenge {
        let verifier = f.get("code_verifier").cloned().unwrap_or_default();
        if !constant_time_eq(
            crypto::pkce_s256(&verifier).as_bytes(),
            challenge.as_bytes(),
        ) {
            return invalid("PKCE verification failed");
        }
    }
    let Ok(grant) = random_hex(8) else {
        return oauth_error(500, TokenError::new("server_error"));
    };
    let to = Holder {
        client_id: client_id.to_owned(),
        user_id: record.user_id.clone(),
        grant,
        scopes: record.scopes.clone(),
    };
    let (Some(access), Some(refresh)) = (
        issue_access(s, &to, now),
        issue_refresh(s, &to, TokenKind::Pin),
    ) else {
        return oauth_error(500, TokenError::new("server_error"));
    };
    s.event(format!(
        "token: code exchanged (PKCE checked); access + PIN refresh token issued to {}",
        s.user_name(&to.user_id)
    ));
    token_response(s, access, Some(refresh), &to.scopes)
}

fn refresh_grant(
    s: &mut State,
    f: &HashMap<String, String>,
    client_id: &str,
    now: SystemTime,
) -> ResponseTemplate {
    let deregistered = || {
        oauth_error(
            400,
            TokenError::new("invalid_grant").with_description("user_deregistered"),
        )
    };
    let presented = f.get("refresh_token").cloned().unwrap_or_default();
    let Some((rt_id, secret_hex)) = presented.split_once('.') else {
        return oauth_error(400, TokenError::new("invalid_request"));
    };
    let max = s.app.max_pin_failures;
    let presented_secret = hex::decode(secret_hex).unwrap_or_default();
    let Some(record) = s
        .refresh_tokens
        .get_mut(rt_id)
        .filter(|r| r.client_id == client_id)
    else {
        return no_longer_honoured(s, rt_id, &presented_secret, client_id);
    };
    if !constant_time_eq(&presented_secret, &record.secret) {
        if record.kind == TokenKind::Fingerprint {
            return oauth_error(400, TokenError::new("invalid_grant"));
        }
        record.failed += 1;
        let failed = record.failed;
        let user_id = record.user_id.clone();
        let name = s.user_name(&user_id);
        if failed >= max {
            s.revoke_user(Some(client_id), &user_id);
            s.event(format!(
                "token: wrong PIN for {name} ({failed}/{max}); maximum reached, tokens revoked"
            ));
            return deregistered();
        }
        s.event(format!(
            "token: wrong PIN for {name} ({failed}/{max}); {} attempt(s) left",
            max - failed
        ));
        return oauth_error(
            400,
            TokenError {
                error: "invalid_grant".into(),
                error_description: None,
                remaining_attempts: Some(max - failed),
                max_attempts: Some(max),
            },
        );
    }
    // Correct: reset the counter, rotate the refresh token, issue an access token.
    let kind = record.kind;
    let to = Holder {
        client_id: client_id.to_owned(),
        user_id: record.user_id.clone(),
        grant: record.grant.clone(),
        scopes: record.scopes.clone(),
    };
    match kind {
        TokenKind::Pin => {
            s.refresh_tokens.remove(rt_id);
        }
        // A fingerprint token rotated away is remembered: a client still holding it (the
        // answer was lost) is told its fingerprint authenticator is gone, not its profile.
        TokenKind::Fingerprint => s.retire_fingerprint(rt_id),
    }
    let (Some(access), Some(refresh)) = (issue_access(s, &to, now), issue_refresh(s, &to, kind))
    else {
        return oauth_error(500, TokenError::new("server_error"));
    };
    let (user_id, scopes) = (to.user_id, to.scopes);
    let name = s.user_name(&user_id);
    s.event(match kind {
        TokenKind::Pin => {
            format!("token: PIN refresh token of {name} accepted; counter reset, token rotated")
        }
        TokenKind::Fingerprint => {
            format!("token: fingerprint refresh token of {name} accepted; token rotated")
        }
    });
    token_response(s, access, Some(refresh), &scopes)
}

/// The answer to a refresh token that is not (or no longer) live.
///
/// A retired fingerprint token whose registration still has its PIN token: the fingerprint
/// authenticator is gone, the profile is not (`authenticator_deregistered`; any fingerprint
/// token of that registration is retired too, since the client drops its fingerprint).
/// Anything else: `user_deregistered`; the user's tokens are already gone, so the client
/// removing the profile leaves nothing behind on the server.
fn no_longer_honoured(
    s: &mut State,
    rt_id: &str,
    presented_secret: &[u8],
    client_id: &str,
) -> ResponseTemplate {
    let retired = s
        .retired_fingerprints
        .get(rt_id)
        .filter(|r| r.client_id == client_id && constant_time_eq(presented_secret, &r.secret))
        .map(|r| (r.grant.clone(), r.user_id.clone()));
    if let Some((grant, user_id)) = retired
        && s.pin_token_lives(&grant)
    {
        let live: Vec<String> = s
            .refresh_tokens
            .iter()
            .filter(|(_, r)| r.grant == grant && r.kind == TokenKind::Fingerprint)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &live {
            s.retire_fingerprint(id);
        }
        let name = s.user_name(&user_id);
        s.event(format!(
            "token: revoked fingerprint token of {name} → fingerprint authenticator deregistered; PIN token kept"
        ));
        return oauth_error(
            400,
            TokenError::new("invalid_grant").with_description("authenticator_deregistered"),
        );
    }
    s.event("token: unknown or revoked refresh token → user deregistered".into());
    oauth_error(
        400,
        TokenError::new("invalid_grant").with_description("user_deregistered"),
    )
}

fn revoke(s: &mut State, request: &wiremock::Request) -> ResponseTemplate {
    let f = form_map(&request.body);
    let Some(client_id) = authenticate_client(s, request, &f) else {
        return oauth_error(401, TokenError::new("invalid_client"));
    };
    let token = f.get("token").cloned().unwrap_or_default();
    if s.access_tokens
        .get(&token)
        .is_some_and(|a| a.client_id == client_id)
        && let Some(at) = s.access_tokens.remove(&token)
    {
        let name = s.user_name(&at.user_id);
        s.event(format!("revoke: access token of {name} revoked"));
        return ResponseTemplate::new(200);
    }
    // A refresh token, or (model choice) its public id alone, authenticated by the client.
    let (rt_id, secret) = match token.split_once('.') {
        Some((id, secret)) => (id.to_owned(), Some(secret.to_owned())),
        None => (token.clone(), None),
    };
    let found = s
        .refresh_tokens
        .get(&rt_id)
        .filter(|r| r.client_id == client_id)
        .filter(|r| {
            secret
                .as_ref()
                .is_none_or(|h| constant_time_eq(&hex::decode(h).unwrap_or_default(), &r.secret))
        })
        .map(|r| (r.user_id.clone(), r.kind));
    match found {
        Some((user_id, TokenKind::Pin)) => {
            s.revoke_user(Some(&client_id), &user_id);
            let name = s.user_name(&user_id);
            s.event(format!(
                "revoke: PIN refresh token of {name} revoked, with all their tokens for this client"
            ));
        }
        Some((user_id, TokenKind::Fingerprint)) => {
            s.retire_fingerprint(&rt_id);
            let name = s.user_name(&user_id);
            s.event(format!(
                "revoke: fingerprint refresh token of {name} revoked"
            ));
        }
        None => {}
    }
    ResponseTemplate::new(200)
}

fn client_status(s: &mut State, request: &wiremock::Request) -> ResponseTemplate {
    let Some(client_id) = authenticate_client(s, request, &HashMap::new()) else {
        return oauth_error(401, TokenError::new("invalid_client"));
    };
    let version = s.clients.get(&client_id).map(|c| c.version.clone());
    if version.and_then(|v| s.version_status(&v)) == Some(VersionStatus::Disabled) {
        return oauth_error(
            400,
            TokenError::new("unauthorized_client").with_description("app_version_disabled"),
        );
    }
    let Ok(ask) = serde_json::from_slice::<wire::ClientStatusRequest>(&request.body) else {
        return oauth_error(400, TokenError::new("invalid_request"));
    };
    let revoked: Vec<String> = ask
        .refresh_token_ids
        .into_iter()
        .filter(|id| {
            s.refresh_tokens
                .get(id)
                .is_none_or(|r| r.client_id != client_id)
        })
        .collect();
    s.event(format!(
        "start: client {} checked its profiles; {} removed on the server",
        short(&client_id),
        revoked.len()
    ));
    json(200, wire::ClientStatusResponse { revoked })
}

fn bearer<'r>(
    s: &'r State,
    request: &wiremock::Request,
    now: SystemTime,
) -> Option<&'r AccessRecord> {
    let token = request
        .headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    s.access_tokens
        .get(token)
        .filter(|a| now < a.expires && s.clients.contains_key(&a.client_id))
}

fn register_fingerprint(
    s: &mut State,
    request: &wiremock::Request,
    now: SystemTime,
) -> ResponseTemplate {
    let Some(at) = bearer(s, request, now) else {
        return oauth_error(401, TokenError::new("invalid_token"));
    };
    if !s.app.fingerprint_allowed {
        return oauth_error(400, TokenError::new("authenticator_not_allowed"));
    }
    let to = Holder {
        client_id: at.client_id.clone(),
        user_id: at.user_id.clone(),
        grant: at.grant.clone(),
        scopes: at.scopes.clone(),
    };
    // One fingerprint token per registration: a new one replaces (retires) the old.
    let old: Vec<String> = s
        .refresh_tokens
        .iter()
        .filter(|(_, r)| r.grant == to.grant && r.kind == TokenKind::Fingerprint)
        .map(|(id, _)| id.clone())
        .collect();
    for id in &old {
        s.retire_fingerprint(id);
    }
    let Some(refresh) = issue_refresh(s, &to, TokenKind::Fingerprint) else {
        return oauth_error(500, TokenError::new("server_error"));
    };
    let name = s.user_name(&to.user_id);
    s.event(format!("authenticators: fingerprint registered for {name}"));
    json(
        200,
        wire::AuthenticatorRegistration {
            authenticator: "fingerprint".into(),
            refresh_token: SecretField::new(refresh),
        },
    )
}

fn user_resource(s: &State, request: &wiremock::Request, now: SystemTime) -> ResponseTemplate {
    match bearer(s, request, now) {
        Some(at) => json(
            200,
            wire::UserResource {
                user_id: at.user_id.clone(),
                scopes: at.scopes.clone(),
            },
        ),
        None => oauth_error(401, TokenError::new("invalid_token")),
    }
}

// ------------------------------------------------------------------------- browser

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
