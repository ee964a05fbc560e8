//! A LogonBox credential server and phone app with real keys (feature `emulator`; for tests,
//! demos and the oob-auth emulator server).
//!
//! [`Model`] is the protocol model: it answers what the official clients call (the key
//! listing per user, also on the Node SDK's legacy `/authorizedKeys/{principal}`; the
//! direct-flow `signPayload`; the browser's sign page, a real HTML page), takes the
//! [`Control`] commands every oob-auth emulator takes, and runs on an injected clock. It has no
//! socket code: [`Emulator`] serves it on a real loopback port, and [`Served::in_process`]
//! calls it with no socket at all.
//!
//! The phone is played per user by a [`Behaviour`]: approve (sign with the user's real
//! private key, as the app does: ed25519 raw, RSA PKCS#1 v1.5 with SHA-512 for flags 4 and
//! SHA-256 for flags 2), reject, fail, misbehave in ways a verifier must catch, each after the
//! user's delay; or [`Behaviour::Manual`]: the request waits, listed by [`Served::pending`]
//! with the text the user sees, until a control command answers it
//! ([`Control::Approve`], [`Control::Deny`], [`Control::Fail`], [`Control::Expire`]) or the
//! server gives up ([`EmulatorBuilder::answer_timeout`]).
//!
//! Like the real server as the official clients need it: the key listing ends without a final
//! line break (the Node client fails on one); once the sign page could read a request, every
//! failure (unknown user or key, a failing server, a key that cannot sign) sends the browser
//! back to the redirect URL with a failure response (`false` + message), not an error page;
//! while the phone has not answered, the sign page shows the prompt and reloads itself;
//! base64url padding of signatures and of response blobs is switched separately
//! ([`Model::set_padded_signatures`], [`Model::set_padded_responses`]).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_core::emulator::Control;
//! use auth_core::{Classify, ErrorKind};
//! use logonbox::emulator::{Behaviour, Emulator};
//! use logonbox::{Client, KeyType};
//!
//! let emulator = Emulator::builder()
//!     .user("lee@logonbox.com", &[KeyType::Ed25519])
//!     .start()
//!     .await?;
//! let client = Client::builder(emulator.base_url()).build()?;
//! let approval = client.authenticate("lee@logonbox.com").await?;
//! assert_eq!(approval.key().key_type(), KeyType::Ed25519);
//!
//! emulator.set_behaviour("lee@logonbox.com", Behaviour::reject());
//! let err = client.authenticate("lee@logonbox.com").await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Rejected);
//!
//! // The user answers by hand: the request waits until a control command settles it.
//! emulator.set_behaviour("lee@logonbox.com", Behaviour::Manual);
//! let waiting = tokio::spawn({
//!     let client = client.clone();
//!     async move { client.authenticate("lee@logonbox.com").await }
//! });
//! let pending = loop {
//!     match emulator.pending().pop() {
//!         Some(p) => break p,
//!         None => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
//!     }
//! };
//! assert!(pending.message.starts_with("lee@logonbox.com wants to authenticate"));
//! emulator.control(Control::Approve { id: pending.id })?;
//! assert!(waiting.await?.is_ok());
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

#[cfg(doc)]
use auth_core::emulator::Control;
use auth_core::emulator::{EmulatorClock, Served};

mod keys;
mod model;

pub use keys::{EmulatorKey, RsaBits};
pub use model::Model;

use crate::key::KeyType;

/// How many sign requests the model keeps by default ([`Model::sign_requests`]; a ring: the
/// oldest go first).
pub const DEFAULT_RECORD_CAPACITY: usize = 1000;

/// How long a request waiting for a control command ([`Behaviour::Manual`]) waits by default
/// before the server gives up (the real server's limit is not documented).
pub const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// The message the emulated phone sends when the user rejects.
pub const REJECT_MESSAGE: &str = "The keystore rejected the signature request.";

/// The message of a server failure ([`Control::Fail`] without a reason).
pub const FAIL_MESSAGE: &str = "The server failed.";

/// The message of the server's failure answer when nobody answered in time.
pub const EXPIRED_MESSAGE: &str = "The user did not answer in time.";

/// A failure of the emulator's own Rust API (a key that cannot be made or used).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("emulator: {0}")]
pub struct EmulatorError(pub(crate) String);

impl From<EmulatorError> for std::io::Error {
    fn from(e: EmulatorError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
    }
}

/// How the emulated phone (and server) answers for a user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Behaviour {
    /// The user approves: the key signs.
    Approve,
    /// The user answers by hand: the request waits (listed by [`Served::pending`]) until a
    /// control command answers it or the server gives up.
    Manual,
    /// The user rejects: `success: true`, empty signature, response `false` + message (direct);
    /// a failure response blob (redirect).
    Reject {
        /// The message.
        message: String,
    },
    /// The server fails: `success: false` with a message (direct); the browser is sent back
    /// to the redirect URL with a failure response (`false` + the message), as for any failure
    /// once the request could be read (redirect).
    Fail {
        /// The message.
        message: String,
    },
    /// The server answers the sign call (or the sign page) with this HTTP status; with a JSON
    /// `message` when given (sign call).
    HttpStatus {
        /// The status.
        status: u16,
        /// The JSON message, if any.
        message: Option<String>,
    },
    /// The key signs, then one bit of the signature is flipped.
    CorruptSignature,
    /// Direct flow: `success: true`, empty signature, response `true` (a nonsensical answer).
    EmptySignaturePositive,
    /// Redirect flow: the response claims these flags (the key signs with them when it can,
    /// else with its usual hash).
    AnswerWithFlags(u32),
    /// The first key of another user signs, and the response names that user and key.
    SignAs(String),
}

impl Behaviour {
    /// [`Behaviour::Reject`] with the app's message.
    pub fn reject() -> Self {
        Behaviour::Reject {
            message: REJECT_MESSAGE.to_owned(),
        }
    }

    /// Its name in the `provider` control command.
    pub fn name(&self) -> &'static str {
        match self {
            Behaviour::Approve => "approve",
            Behaviour::Manual => "manual",
            Behaviour::Reject { .. } => "reject",
            Behaviour::Fail { .. } => "fail",
            Behaviour::HttpStatus { .. } => "http_status",
            Behaviour::CorruptSignature => "corrupt_signature",
            Behaviour::EmptySignaturePositive => "empty_signature_positive",
            Behaviour::AnswerWithFlags(_) => "answer_with_flags",
            Behaviour::SignAs(_) => "sign_as",
        }
    }
}

/// One signature request the emulated phone received (serialized as the `{"records": true}`
/// provider command answers it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SignRecord {
    /// `direct` (signPayload) or `redirect` (sign page).
    pub flow: &'static str,
    /// The principal.
    pub username: String,
    /// The key fingerprint asked for.
    pub fingerprint: String,
    /// The flags.
    pub flags: u32,
    /// The prompt text shown.
    pub text: String,
    /// The approve-button label.
    pub authorize_text: String,
    /// The remote name.
    pub remote_name: String,
    /// How many bytes were to be signed.
    pub payload_len: usize,
    /// The `payload` form field exactly as received (direct flow).
    pub payload_field: String,
}

/// Configures a [`Model`] (users and their keys, clock, answer timeout, log size) and starts an
/// [`Emulator`] serving it, or builds the model alone.
pub struct EmulatorBuilder {
    users: Vec<(String, Seed)>,
    clock: EmulatorClock,
    answer_timeout: Duration,
    log_capacity: usize,
    address: String,
}

/// A user's keys as given to the builder.
enum Seed {
    Types(Vec<KeyType>),
    Keys(Vec<EmulatorKey>),
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            users: Vec::new(),
            clock: EmulatorClock::default(),
            answer_timeout: DEFAULT_ANSWER_TIMEOUT,
            log_capacity: auth_core::emulator::DEFAULT_LOG_CAPACITY,
            address: "127.0.0.1:0".to_owned(),
        }
    }
}

impl fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field("users", &self.users.len())
            .field("answer_timeout", &self.answer_timeout)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl EmulatorBuilder {
    /// A user with fresh keys of these types, in listing order (RSA keys are 3072-bit).
    pub fn user(mut self, principal: &str, key_types: &[KeyType]) -> Self {
        self.users
            .push((principal.to_owned(), Seed::Types(key_types.to_vec())));
        self
    }

    /// A user with these keys (e.g. [`EmulatorKey::ed25519_from_seed`] for fixtures).
    pub fn user_with_keys(mut self, principal: &str, keys: Vec<EmulatorKey>) -> Self {
        self.users.push((principal.to_owned(), Seed::Keys(keys)));
        self
    }

    /// The model's clock: an [`OffsetClock`](auth_core::emulator::OffsetClock), real time that
    /// [`Control::AdvanceClock`] moves (the
    /// default, and what the emulator server shares with every provider); a
    /// [`FakeClock`](auth_core::FakeClock) (`advance_clock` moves it too); or any other clock
    /// (`Arc::new(clock)`, a [`SharedClock`](auth_core::SharedClock)), which you move yourself:
    /// `advance_clock` is refused.
    pub fn clock(mut self, clock: impl Into<EmulatorClock>) -> Self {
        self.clock = clock.into();
        self
    }

    /// How long a request waiting for a control command waits before the server gives up
    /// (default [`DEFAULT_ANSWER_TIMEOUT`]).
    pub fn answer_timeout(mut self, timeout: Duration) -> Self {
        self.answer_timeout = timeout;
        self
    }

    /// How many requests the model's request log keeps (default
    /// [`auth_core::emulator::DEFAULT_LOG_CAPACITY`]).
    pub fn log_capacity(mut self, capacity: usize) -> Self {
        self.log_capacity = capacity;
        self
    }

    /// Where [`EmulatorBuilder::start`] listens (default `127.0.0.1:0`: a free loopback port).
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = address.into();
        self
    }

    /// Builds the model alone (to serve it elsewhere, e.g. the emulator server). Fails when a
    /// key cannot be generated.
    pub fn build(self) -> Result<Model, EmulatorError> {
        let model = Model::from_parts(self.clock, self.answer_timeout, self.log_capacity);
        for (principal, seed) in self.users {
            match seed {
                Seed::Types(types) => {
                    model.add_user(&principal, &types)?;
                }
                Seed::Keys(keys) => {
                    model.add_user_with_keys(&principal, keys);
                }
            }
        }
        Ok(model)
    }

    /// Builds the model and serves it on a real port ([`auth_core::emulator::serve`]).
    pub async fn start(self) -> std::io::Result<Emulator> {
        let address = self.address.clone();
        let model = Arc::new(self.build()?);
        Ok(Emulator(Served::start_on(model, &address).await?))
    }
}

auth_core::served_emulator! {
    /// A [`Model`] served on a real loopback port (plain http), until dropped: auth-core's
    /// [`Served`] model. [`base_url`](Served::base_url) is the credential server's (what
    /// [`Client::builder`](crate::Client::builder) takes); [`control`](Served::control),
    /// [`pending`](Served::pending) (the sign requests waiting for the phone, with the text the
    /// user sees), [`model`](Served::model), [`in_process`](Served::in_process) (give it to
    /// [`ClientBuilder::http_client`](crate::ClientBuilder::http_client)) and every method of the
    /// model ([`Model::add_user`], [`Model::set_behaviour`], [`Model::sign_requests`], …) are called
    /// on it directly. `Emulator::start()` starts one with no users.
    pub struct Emulator(Served<Model>);
    builder: EmulatorBuilder;
}

impl Emulator {
    /// Plays the browser: opens the sign URL (without following redirects), reloads the
    /// waiting page while the phone has not answered (at most the answer timeout), and returns
    /// where the server sends the browser back to (the redirect URL with the response in it).
    pub async fn follow_sign_url(&self, sign_url: &url::Url) -> Result<url::Url, EmulatorError> {
        let failed = |e: reqwest::Error| EmulatorError(e.without_url().to_string());
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(failed)?;
        let give_up = tokio::time::Instant::now() + self.answer_timeout();
        loop {
            let page = browser
                .get(sign_url.as_str())
                .send()
                .await
                .map_err(failed)?;
            let status = page.status();
            if status == reqwest::StatusCode::FOUND {
                let location = page
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| EmulatorError("no Location header".into()))?;
                return url::Url::parse(location).map_err(|e| EmulatorError(e.to_string()));
            }
            let body = page.text().await.unwrap_or_default();
            let waiting =
                status == reqwest::StatusCode::OK && body.contains("http-equiv=\"refresh\"");
            if !waiting || tokio::time::Instant::now() >= give_up {
                return Err(EmulatorError(format!(
                    "the sign page answered {status}: {body}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Returns the `response` query parameter of a URL the browser was sent back to.
pub fn response_param(url: &url::Url) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == "response")
        .map(|(_, v)| v.into_owned())
}
