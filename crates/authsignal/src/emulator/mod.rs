//! An Authsignal Server API emulator (feature `emulator`): a protocol [`Model`] with no socket
//! code, served on a real loopback port by auth-core's server ([`Emulator`]) or called in
//! process ([`Served::in_process`]).
//!
//! It speaks the wire of the spec, so the official SDKs (Python, Node) work against it as
//! they are: HTTP Basic with per-tenant secret keys (401 with the official body on a bad key),
//! camelCase JSON with `Content-Type: application/json`, error bodies with `error`,
//! `errorCode`, `errorDescription` and the seed era's `message`, paths with or without `/v1`,
//! and `PATCH` or `POST` on `/users/{userId}`.
//!
//! What it models:
//! * **users** (unknown users read as `isEnrolled: false`), **authenticators** (verified
//!   enrolment, passkey batch import, delete, recovery codes on the first one), **devices**;
//! * **rules**: default `ALLOW`; the most severe matching [`Rule`] wins (`BLOCK` > review >
//!   challenge > allow); a challenge becomes `CHALLENGE_REQUIRED` only for enrolled users, else
//!   `ALLOW` with `isEnrolled: false`;
//! * **idempotency**: a track with a known (user, action, key) returns the stored action with a
//!   fresh token;
//! * **the pre-built challenge UI**: track's `url` is a real HTML page at `/ui/challenge`,
//!   where the user approves or denies; the browser then goes back to track's `redirectUrl`
//!   with `?token=…` for `/validate` (tokens are HS256 with the seed-era claims);
//! * **OTP** `/challenge` → `/verify` → `/claim` (codes readable with [`Model::otp_code`] or
//!   from the `sms.created` / `email.created` webhooks), `GET /challenges`;
//! * **sessions** (create, validate, refresh with rotation, revoke, revoke all of a user);
//! * **webhooks**: events queued, signed with `X-Signature-V2` (two `v2` while a secret is
//!   rotated), delivered to the webhook URL ([`Model::deliver_webhooks`]) or handed over
//!   ([`Model::take_webhooks`]);
//! * **CallConnect** `/call/start` and `/call/finish` at [`Emulator::call_connect_url`].
//!
//! ## Control
//!
//! auth-core's [`Control`] vocabulary is the canonical way to
//! drive it (from Rust with [`Model::control`], from any language through the emulator
//! server's control API); the Rust methods are shorthands for the same operations.
//!
//! | command | here |
//! | --- | --- |
//! | `add_user` | enrols a verified authenticator: `details.phone_number` (SMS), `details.email` (e-mail OTP), else SMS to a made-up number |
//! | `approve` / `deny` / `fail` | `id` = the action's idempotency key: the user passes or fails the challenge (for a `REVIEW_REQUIRED` action, the operator decides); approving answers the redirect `token` |
//! | `expire` | every token of the action runs out now (the action stays `CHALLENGE_REQUIRED`, as on the platform) |
//! | `set_rules` | replaces the default tenant's rules: a list of `{"id", "action"?, "name"?, "outcome": "ALLOW"\|"CHALLENGE"\|"REVIEW"\|"BLOCK", "when"?}` (see [`Rule::from_json`]) |
//! | `rotate_keys` | signs webhooks with a new secret as well (two `v2`); answers the new secret |
//! | `inject_fault` | the next matching authenticated requests get that status (`Retry-After` too), with Authsignal's error body |
//! | `advance_clock` | moves the model's time forward (tokens, OTPs, sessions expire) |
//! | `read_log` / `list_pending` | the bounded request log / [`Model::pending`] |
//! | `provider` | `{"webhook_url": url}`, `{"take_webhooks": true}`, `{"otp_code": challengeId}`, `{"set_retention": {"log", "settled", "pending"?}}`, `{"stats": true}`, `{"add_tenant": secret}`, `{"call_state": referenceId}` |
//! | a command the vocabulary gains later | `Unsupported` |
//!
//! [`Model::pending`] lists the actions waiting in `CHALLENGE_REQUIRED`, with the text the
//! challenge page shows (track's `custom.title` / `custom.message`, which auth-core's
//! `StepUp::start` sends) and the page's URL.
//!
//! ## Bounded
//!
//! Nothing grows per request beyond limits: the request log is auth-core's ring
//! ([`DEFAULT_LOG_CAPACITY`], no headers or bodies, query values redacted); settled records
//! beyond [`DEFAULT_SETTLED_CAPACITY`] of each kind (a finished action nobody has read yet is
//! kept until [`UNREAD_ANSWER_TTL`]) and pending ones beyond
//! [`DEFAULT_PENDING_CAPACITY`] are forgotten, oldest (expired) first ([`Model::set_retention`],
//! [`Model::set_pending_limit`], [`Model::stats`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_core::emulator::Control;
//! use authsignal::emulator::{Emulator, Rule, RuleOutcome};
//! use authsignal::{ActionCode, ActionState, TrackRequest, UserId};
//!
//! let emulator = Emulator::builder()
//!     .rule(Rule::new("r1", RuleOutcome::Challenge).for_action("withdraw"))
//!     .start()
//!     .await?;
//! let client = emulator.client()?;
//! let (user, action) = (UserId::new("ada")?, ActionCode::new("withdraw")?);
//!
//! // Not enrolled: the challenge rule yields ALLOW.
//! let d = client.track(&user, &action, TrackRequest::new()).await?;
//! assert_eq!((d.state, d.is_enrolled), (ActionState::Allow, false));
//!
//! emulator.control(Control::AddUser { user: "ada".into(), details: serde_json::json!({"phone_number": "+64270000001"}) })?;
//! let d = client.track(&user, &action, TrackRequest::new()).await?;
//! assert_eq!(d.state, ActionState::ChallengeRequired);
//! assert_eq!(emulator.pending()[0].id, d.idempotency_key.as_str());
//!
//! // The user approves (as on the challenge page).
//! emulator.control(Control::Approve { id: d.idempotency_key.to_string() })?;
//! let a = client.get_action(&user, &action, &d.idempotency_key).await?;
//! assert_eq!(a.state, ActionState::ChallengeSucceeded);
//! # Ok(()) }
//! ```

mod model;
mod rules;
mod ui;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

#[cfg(doc)]
use auth_core::emulator::InProcess;
use auth_core::emulator::{Control, ControlError, Fault, Served};
use auth_core::{BaseUrl, HttpClient, SharedClock};

pub use model::{
    DEFAULT_LOG_CAPACITY, DEFAULT_PENDING_CAPACITY, DEFAULT_SETTLED_CAPACITY, EmulatorStats, Model,
    UNAUTHORIZED_BODY, UNREAD_ANSWER_TTL,
};
pub use rules::{Condition, Rule, RuleOutcome};

use crate::client::{Client, ClientBuilder};
use crate::types::SecretKey;

impl Model {
    /// Answers the next authenticated request (matching any path) with `status`, and with
    /// `Retry-After: <retry_after_secs>` when given: the `inject_fault` command.
    pub fn inject(&self, status: u16, retry_after_secs: Option<u64>) -> Result<(), ControlError> {
        let fault = Fault::status(status);
        let fault = match retry_after_secs {
            Some(secs) => fault.retry_after(secs),
            None => fault,
        };
        self.control(Control::InjectFault { fault }).map(drop)
    }
}

/// Seeds for an emulator: the clock, the default tenant's key, rules, retention, the URL its
/// links use, the webhook URL and client. [`EmulatorBuilder::start`] serves it;
/// [`EmulatorBuilder::model`] builds the model alone.
#[derive(Default)]
pub struct EmulatorBuilder {
    settings: model::Settings,
}

impl std::fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field("rules", &self.settings.rules)
            .field("public_url", &self.settings.public_url)
            .finish_non_exhaustive()
    }
}

impl EmulatorBuilder {
    /// The clock tokens, OTPs and sessions expire by (default: real time, which
    /// `advance_clock` moves; tests use [`auth_core::FakeClock`]).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.settings.clock = Some(clock);
        self
    }

    /// The default tenant's secret key (default: a random one).
    pub fn secret(mut self, secret: SecretKey) -> Self {
        self.settings.secret = Some(secret);
        self
    }

    /// Adds a rule to the default tenant.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.settings.rules.push(rule);
        self
    }

    /// How many requests the log keeps and how many settled records of each kind a tenant
    /// keeps (defaults [`DEFAULT_LOG_CAPACITY`], [`DEFAULT_SETTLED_CAPACITY`]).
    pub fn retention(mut self, log: usize, settled: usize) -> Self {
        self.settings.log_capacity = log;
        self.settings.settled_capacity = settled;
        self
    }

    /// How many pending records of each kind a tenant keeps (default
    /// [`DEFAULT_PENDING_CAPACITY`]).
    pub fn pending_limit(mut self, pending: usize) -> Self {
        self.settings.pending_capacity = pending;
        self
    }

    /// The `scheme://host:port` the challenge UI's links use (default: where each request
    /// was sent), for a model served behind TLS or a proxy.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.settings.public_url = Some(url.into());
        self
    }

    /// Where webhooks go ([`Model::deliver_webhooks`]).
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.settings.webhook_url = Some(url.into());
        self
    }

    /// The HTTP client webhooks are delivered with (default: auth-core's reqwest client).
    pub fn webhook_client(mut self, client: Arc<dyn HttpClient>) -> Self {
        self.settings.webhook_client = Some(client);
        self
    }

    /// The model alone (no socket), e.g. for the `oob-auth-emulator` server or an
    /// [`InProcess`] client.
    pub fn model(self) -> Model {
        Model::from_settings(self.settings)
    }

    /// Serves the model on a free loopback port (auth-core's server) until the [`Emulator`]
    /// is dropped.
    pub async fn start(self) -> io::Result<Emulator> {
        let served = Served::start(Arc::new(self.model())).await?.under("/v1")?;
        Ok(Emulator(served))
    }
}

auth_core::served_emulator! {
    /// A running emulator: auth-core's [`Served`] [`Model`], on HTTP/1.1 on a loopback port (a
    /// body shorter than its `Content-Length` gets a prompt 400). Dropping it stops the server.
    /// `Emulator::start()` starts one with one tenant (random secret key), no rules and real
    /// time.
    ///
    /// [`base_url`](Served::base_url) is the Server API's, with `/v1`;
    /// [`control`](Served::control), [`pending`](Served::pending), [`model`](Served::model),
    /// [`in_process`](Served::in_process) and every model method (`complete_challenge`,
    /// `otp_code`, …) are called on it directly.
    pub struct Emulator(Served<Model>);
    builder: EmulatorBuilder;
}

impl Emulator {
    /// The CallConnect base URL (the same server, no `/v1`); the challenge UI is there too.
    pub fn call_connect_url(&self) -> &BaseUrl {
        self.root_url()
    }

    /// The server's address (`127.0.0.1:<port>`), for tests that speak raw TCP to it.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr()
    }

    /// A client builder for the default tenant (base URL and key set).
    pub fn client_builder(&self) -> ClientBuilder {
        Client::builder(self.secret()).base_url(self.base_url())
    }

    /// A client for the default tenant.
    pub fn client(&self) -> Result<Client, crate::Error> {
        self.client_builder().build()
    }
}
