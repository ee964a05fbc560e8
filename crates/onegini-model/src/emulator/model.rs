//! The Token Server model: its configuration, its state behind one lock, the
//! [`auth_core::emulator::Model`] implementation and the control commands.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use auth_core::emulator::{
    Control, ControlError, EmulatorClock, Faults, Model, PendingStepUp, RequestLog,
};
use auth_core::sync::lock;
use auth_core::{Clock, HttpRequest, HttpResponse};
#[cfg(doc)]
use auth_core::{FakeClock, emulator::OffsetClock};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::endpoints::{self, Req, short};
use super::records::{IdpUser, State, TokenKind};
use crate::client::{ApplicationSignature, ClientId};
use crate::crypto::random_hex;
use crate::hazmat::ocra::OcraSuite;
use crate::pin::PinPolicy;
use crate::wire::SecretField;

/// The provider name the model answers to.
pub(crate) const PROVIDER: &str = "onegini-model";

/// The status of an application version on the Token Server (documented states). In control
/// commands: `"enabled"`, `"login_enabled_registration_disabled"`, `"disabled"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

/// How many entries the event log and the request log keep (the oldest are dropped).
pub const LOG_CAPACITY: usize = 512;

/// How much of one request (method, URL and body) the request log keeps, in bytes.
pub const LOGGED_REQUEST_LIMIT: usize = 4096;

/// The most records of each kind (pending DCRs, login sessions, codes, access and refresh
/// tokens, retired fingerprint tokens, clients, IdP users) the model holds: beyond it the
/// oldest is dropped, so no flood of requests grows its memory without bound.
pub const MAX_RECORDS: usize = 10_000;

/// How many records of each kind the Token Server model holds right now (see
/// [`TokenServer::record_counts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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

/// The Token Server's administrator commands (the model's own control commands, sent as
/// [`Control::Provider`]; `From<AdminCommand> for Control` builds it). JSON:
/// `{"command": "revoke_user_tokens", "user": "alice"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AdminCommand {
    /// Changes an app version's status. Answers `{}`.
    SetVersionStatus {
        /// The version.
        version: String,
        /// Its platform.
        platform: String,
        /// The new status.
        status: VersionStatus,
    },
    /// Turns an app version's "development mode" (no signature check at DCR) on or off.
    /// Answers `{}`.
    SetDevelopmentMode {
        /// The version.
        version: String,
        /// Its platform.
        platform: String,
        /// Whether the signature check is skipped.
        development_mode: bool,
    },
    /// Changes the maximum number of wrong PIN attempts (for new DCRs and every counter
    /// check). Answers `{}`.
    SetMaxPinFailures {
        /// The new maximum.
        max: u32,
    },
    /// Revokes every token of an IdP user (all clients). Answers `{}`.
    RevokeUserTokens {
        /// The IdP user name.
        user: String,
    },
    /// Revokes only the fingerprint refresh tokens of an IdP user (all clients); the PIN
    /// tokens stay. Answers `{"revoked": n}`.
    RevokeFingerprintTokens {
        /// The IdP user name.
        user: String,
    },
    /// Removes a device registration (client); its tokens stop working. Answers `{}`.
    DeleteClient {
        /// The client id.
        client_id: String,
    },
    /// Answers the registered client ids: `["…"]`.
    ClientIds,
    /// Answers the failed PIN attempts on the user's live PIN refresh token(s) (the highest):
    /// a number or `null`.
    FailedPinAttempts {
        /// The IdP user name.
        user: String,
    },
    /// Answers the user's live tokens: `{"pin_refresh": n, "fingerprint_refresh": n,
    /// "access": n}`.
    ActiveTokens {
        /// The IdP user name.
        user: String,
    },
    /// Answers the event log (what happened, in order; never a secret): `["…"]`.
    Events,
    /// Answers how many records of each kind the model holds ([`RecordCounts`]).
    RecordCounts,
}

impl From<AdminCommand> for Control {
    fn from(command: AdminCommand) -> Self {
        Control::Provider {
            body: serde_json::to_value(command).unwrap_or(Value::Null),
        }
    }
}

/// The Token Server model (and its IdP): the Onegini wire protocol of
/// [`crate::docs::token_server`], answered with no socket of its own. Serve it with
/// [`super::Emulator`] (or `auth_core::emulator::serve`), or call it in process
/// (`auth_core::emulator::InProcess`).
pub struct TokenServer {
    state: Mutex<State>,
    clock: EmulatorClock,
    log: RequestLog,
    faults: Faults,
}

impl fmt::Debug for TokenServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenServer")
            .field("app", &lock(&self.state).app.identifier)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl TokenServer {
    /// A Token Server for `app`, on `clock` (an [`OffsetClock`] by default in
    /// [`super::Emulator`]; give it a [`FakeClock`] other than the client's to model clock
    /// skew).
    pub fn new(app: AppConfig, clock: impl Into<EmulatorClock>) -> Self {
        TokenServer {
            state: Mutex::new(State {
                app,
                users: Default::default(),
                pending_dcr: Default::default(),
                clients: Default::default(),
                sessions: Default::default(),
                codes: Default::default(),
                refresh_tokens: Default::default(),
                retired_fingerprints: Default::default(),
                access_tokens: Default::default(),
                events: Default::default(),
                requests: Default::default(),
            }),
            clock: clock.into(),
            log: RequestLog::with_capacity(LOG_CAPACITY),
            faults: Faults::default(),
        }
    }

    /// The application the model serves (a copy).
    pub fn app(&self) -> AppConfig {
        lock(&self.state).app.clone()
    }

    /// The model's clock.
    pub fn clock(&self) -> &EmulatorClock {
        &self.clock
    }

    /// Adds a user at the IdP (replacing one of the same name); returns the user id the IdP
    /// delivers. The same as [`Control::AddUser`] with `{"password": …}`.
    pub fn add_user(&self, username: &str, password: &str) -> String {
        let user_id = format!(
            "user-{}",
            random_hex(4).unwrap_or_else(|_| username.to_owned())
        );
        lock(&self.state).users.insert(
            username.to_owned(),
            IdpUser {
                password: SecretField::new(password),
                user_id: user_id.clone(),
            },
        );
        user_id
    }

    /// Changes an app version's status ([`AdminCommand::SetVersionStatus`]); whether the
    /// version exists.
    pub fn set_version_status(&self, version: &str, platform: &str, status: VersionStatus) -> bool {
        self.update_version(version, platform, |v| v.status = status)
    }

    /// Turns an app version's development mode (no signature check at DCR) on or off
    /// ([`AdminCommand::SetDevelopmentMode`]); whether the version exists.
    pub fn set_development_mode(
        &self,
        version: &str,
        platform: &str,
        development_mode: bool,
    ) -> bool {
        self.update_version(version, platform, |v| v.development_mode = development_mode)
    }

    /// Applies `change` to the app version `version` on `platform`; whether there is one.
    fn update_version(
        &self,
        version: &str,
        platform: &str,
        mut change: impl FnMut(&mut AppVersion),
    ) -> bool {
        let mut s = lock(&self.state);
        let mut found = false;
        for v in &mut s.app.versions {
            if v.version == version && v.platform == platform {
                change(v);
                found = true;
            }
        }
        found
    }

    /// Changes the maximum number of wrong PIN attempts ([`AdminCommand::SetMaxPinFailures`]).
    pub fn set_max_pin_failures(&self, max: u32) {
        lock(&self.state).app.max_pin_failures = max;
    }

    /// Revokes every token of the IdP user `username`, all clients
    /// ([`AdminCommand::RevokeUserTokens`]). Whether the user exists.
    pub fn revoke_user_tokens(&self, username: &str) -> bool {
        let mut s = lock(&self.state);
        let Some(user_id) = s.users.get(username).map(|u| u.user_id.clone()) else {
            return false;
        };
        s.revoke_user(None, &user_id);
        s.event(format!("admin: revoked every token of {username}"));
        true
    }

    /// Revokes only the fingerprint refresh tokens of `username`, all clients; the PIN tokens
    /// stay. The client learns it at its next fingerprint authentication
    /// (`authenticator_deregistered`, 9022) and falls back to the PIN
    /// ([`AdminCommand::RevokeFingerprintTokens`]). How many were revoked (`None`: no such
    /// user).
    pub fn revoke_fingerprint_tokens(&self, username: &str) -> Option<usize> {
        let mut s = lock(&self.state);
        let user_id = s.users.get(username).map(|u| u.user_id.clone())?;
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
        Some(ids.len())
    }

    /// Removes a device registration (client); its tokens stop working
    /// ([`AdminCommand::DeleteClient`]). Whether it existed.
    pub fn delete_client(&self, client_id: &ClientId) -> bool {
        let mut s = lock(&self.state);
        let id = client_id.as_str();
        let existed = s.clients.remove(id).is_some();
        s.refresh_tokens.retain(|_, r| r.client_id != id);
        s.retired_fingerprints.retain(|_, r| r.client_id != id);
        s.access_tokens.retain(|_, a| a.client_id != id);
        s.codes.retain(|_, c| c.client_id != id);
        s.event(format!("admin: deleted client {}", short(id)));
        existed
    }

    /// Registered client ids ([`AdminCommand::ClientIds`]).
    pub fn client_ids(&self) -> Vec<ClientId> {
        lock(&self.state)
            .clients
            .keys()
            .filter_map(|id| ClientId::new(id.clone()).ok())
            .collect()
    }

    /// Failed PIN attempts on the user's live PIN refresh token(s), the highest, if any
    /// ([`AdminCommand::FailedPinAttempts`]).
    pub fn failed_pin_attempts(&self, username: &str) -> Option<u32> {
        let s = lock(&self.state);
        let user_id = &s.users.get(username)?.user_id;
        s.refresh_tokens
            .values()
            .filter(|r| &r.user_id == user_id && r.kind == TokenKind::Pin)
            .map(|r| r.failed)
            .max()
    }

    /// Live (not revoked) refresh tokens of the user: `(pin, fingerprint)` counts.
    pub fn active_refresh_tokens(&self, username: &str) -> (usize, usize) {
        let s = lock(&self.state);
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
        let s = lock(&self.state);
        let Some(user) = s.users.get(username) else {
            return 0;
        };
        s.access_tokens
            .values()
            .filter(|a| a.user_id == user.user_id && now < a.expires)
            .count()
    }

    /// The event log (what happened, in order; never a secret): the newest [`LOG_CAPACITY`]
    /// events ([`AdminCommand::Events`]).
    pub fn events(&self) -> Vec<String> {
        lock(&self.state).events.to_vec()
    }

    /// The newest [`LOG_CAPACITY`] requests received, as `METHOD PATH BODY` text (each cut to
    /// [`LOGGED_REQUEST_LIMIT`] bytes), for checks such as "the PIN never went over the
    /// wire". Bodies carry tokens: a Rust-only test facility, never a control command
    /// ([`Control::ReadLog`] has no bodies).
    pub fn received_bodies(&self) -> Vec<String> {
        lock(&self.state).requests.to_vec()
    }

    /// How many records of each kind the model holds now (expired ones are forgotten at the
    /// next request) ([`AdminCommand::RecordCounts`]).
    pub fn record_counts(&self) -> RecordCounts {
        let s = lock(&self.state);
        RecordCounts {
            pending_dcr: s.pending_dcr.len(),
            login_sessions: s.sessions.len(),
            codes: s.codes.len(),
            refresh_tokens: s.refresh_tokens.len(),
            retired_fingerprints: s.retired_fingerprints.len(),
            access_tokens: s.access_tokens.len(),
            clients: s.clients.len(),
            events: s.events.len(),
            requests: s.requests.len(),
        }
    }

    fn admin(&self, command: AdminCommand) -> Result<Value, ControlError> {
        let no_user = |user: &str| ControlError::NotFound {
            what: "IdP user",
            id: user.to_owned(),
        };
        let known = |user: &str| lock(&self.state).users.contains_key(user);
        let no_version = |version: &str, platform: &str| ControlError::NotFound {
            what: "app version",
            id: format!("{version} {platform}"),
        };
        Ok(match command {
            AdminCommand::SetVersionStatus {
                version,
                platform,
                status,
            } => {
                if !self.set_version_status(&version, &platform, status) {
                    return Err(no_version(&version, &platform));
                }
                json!({})
            }
            AdminCommand::SetDevelopmentMode {
                version,
                platform,
                development_mode,
            } => {
                if !self.set_development_mode(&version, &platform, development_mode) {
                    return Err(no_version(&version, &platform));
                }
                json!({})
            }
            AdminCommand::SetMaxPinFailures { max } => {
                if max == 0 {
                    return Err(ControlError::Invalid("max must be at least 1".into()));
                }
                self.set_max_pin_failures(max);
                json!({})
            }
            AdminCommand::RevokeUserTokens { user } => {
                if !self.revoke_user_tokens(&user) {
                    return Err(no_user(&user));
                }
                json!({})
            }
            AdminCommand::RevokeFingerprintTokens { user } => {
                let revoked = self
                    .revoke_fingerprint_tokens(&user)
                    .ok_or_else(|| no_user(&user))?;
                json!({ "revoked": revoked })
            }
            AdminCommand::DeleteClient { client_id } => {
                let id = ClientId::new(client_id.clone())
                    .map_err(|e| ControlError::Invalid(e.to_string()))?;
                if !self.delete_client(&id) {
                    return Err(ControlError::NotFound {
                        what: "client",
                        id: client_id,
                    });
                }
                json!({})
            }
            AdminCommand::ClientIds => json!(self.client_ids()),
            AdminCommand::FailedPinAttempts { user } => {
                if !known(&user) {
                    return Err(no_user(&user));
                }
                json!(self.failed_pin_attempts(&user))
            }
            AdminCommand::ActiveTokens { user } => {
                if !known(&user) {
                    return Err(no_user(&user));
                }
                let (pin, fingerprint) = self.active_refresh_tokens(&user);
                json!({
                    "pin_refresh": pin,
                    "fingerprint_refresh": fingerprint,
                    "access": self.active_access_tokens(&user),
                })
            }
            AdminCommand::Events => json!(self.events()),
            AdminCommand::RecordCounts => json!(self.record_counts()),
        })
    }

    /// The user's answer to a login session through the control API (what the consent page
    /// does): the redirect to the app's scheme, for the app's browser handler.
    fn answer_login(&self, id: &str, allow: bool) -> Result<Value, ControlError> {
        let now = self.clock.now();
        let mut s = lock(&self.state);
        s.forget_expired(now);
        if !s.sessions.contains_key(id) {
            return Err(ControlError::NotFound {
                what: "login session",
                id: id.to_owned(),
            });
        }
        let redirect = endpoints::decide(&mut s, id, allow, now)
            .map_err(|e| ControlError::Conflict(e.to_owned()))?;
        Ok(json!({ "redirect": redirect }))
    }
}

fn unsupported(command: &Control) -> ControlError {
    ControlError::Unsupported {
        provider: PROVIDER,
        command: command.name(),
    }
}

/// The control vocabulary for the Token Server:
///
/// | command | what |
/// | --- | --- |
/// | `add_user` | an IdP user; `details`: `{"password": "…"}` (required); answers `{"user", "user_id"}` |
/// | `approve` | the user consents to the login session `id` (they must have logged in): answers `{"redirect"}`, the app's redirect with the code |
/// | `deny` | the user refuses the login session `id` (at login or consent): answers `{"redirect"}` with `error=access_denied` |
/// | `expire` | the login session `id` runs out now |
/// | `inject_fault` | the next matching requests answer the fault's status (and `Retry-After`) |
/// | `advance_clock` | moves the model's clock (an [`OffsetClock`] or a [`FakeClock`]) |
/// | `read_log` | the newest requests: method, path (query redacted), status |
/// | `list_pending` | the login sessions waiting at the IdP ([`Model::pending`]) |
/// | `provider` | an [`AdminCommand`] |
///
/// `fail`, `set_rules` and `rotate_keys` are unsupported: the PIN and fingerprint steps happen
/// on the device, not at the server; the Token Server has no rules and no signing keys.
#[async_trait]
impl Model for TokenServer {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn handle(&self, request: HttpRequest) -> HttpResponse {
        let now = self.clock.now();
        let request = Req::new(request);
        let response = {
            let mut s = lock(&self.state);
            s.log_request(&request);
            match self.faults.take(&request.path) {
                Some(fault) => fault,
                None => {
                    s.forget_expired(now);
                    endpoints::route(&mut s, &request, now)
                }
            }
        };
        self.log.record(
            now,
            request.method.as_str(),
            &request.target,
            response.status().as_u16(),
        );
        response
    }

    fn control(&self, command: Control) -> Result<Value, ControlError> {
        match command {
            Control::AddUser { user, details } => {
                let password =
                    details
                        .get("password")
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            ControlError::Invalid("add_user needs details.password".into())
                        })?;
                if user.is_empty() {
                    return Err(ControlError::Invalid("the user name is empty".into()));
                }
                let user_id = self.add_user(&user, password);
                Ok(json!({ "user": user, "user_id": user_id }))
            }
            Control::Approve { id } => self.answer_login(&id, true),
            Control::Deny { id, .. } => self.answer_login(&id, false),
            Control::Expire { id } => {
                let mut s = lock(&self.state);
                if s.sessions.remove(&id).is_none() {
                    return Err(ControlError::NotFound {
                        what: "login session",
                        id,
                    });
                }
                s.event("admin: a login session was expired".into());
                Ok(json!({ "expired": id }))
            }
            Control::InjectFault { fault } => self.faults.inject_command(fault),
            Control::AdvanceClock { seconds } => {
                self.clock.advance(Duration::from_secs(seconds))?;
                Ok(auth_core::emulator::clock_answer(self.clock.now()))
            }
            Control::ReadLog { limit } => self.log.read(limit),
            Control::ListPending => auth_core::emulator::pending_answer(&self.pending()),
            Control::Provider { body } => {
                let command: AdminCommand = serde_json::from_value(body)
                    .map_err(|e| ControlError::Invalid(e.to_string()))?;
                self.admin(command)
            }
            other => Err(unsupported(&other)),
        }
    }

    /// Each login session waiting at the IdP: the user logs in (`page` is the login page) or,
    /// logged in, consents (`page` is the consent page). The message is what the page shows.
    fn pending(&self) -> Vec<PendingStepUp> {
        let now = self.clock.now();
        let s = lock(&self.state);
        let mut pending: Vec<PendingStepUp> = s
            .sessions
            .iter()
            .filter(|(_, x)| now < x.expires)
            .map(|(id, x)| {
                let scopes = x.scopes.join(", ");
                let (user, title, page, message) = match &x.user_id {
                    None => (
                        String::new(),
                        "Log in",
                        format!("/idp/login?session={id}"),
                        format!("Log in: {} asks for {scopes}", s.app.identifier),
                    ),
                    Some(u) => (
                        s.user_name(u),
                        "Consent",
                        format!("/oauth/v1/consent?session={id}"),
                        format!("The app asks for: {scopes}"),
                    ),
                };
                PendingStepUp::new(PROVIDER, id.clone(), user, message, x.created)
                    .with_title(title)
                    .with_expiry(x.expires)
                    .with_page(page)
            })
            .collect();
        pending.sort_by_key(|p| p.created_at);
        pending
    }
}
