//! The LaunchKey platform for tests and demos (feature `emulator`): a protocol model of the
//! Service API v3 — its own RSA keys, the same JOSE transport as the platform (request tokens
//! verified: signature, claims, method, path, body hash; request bodies decrypted; response
//! bodies encrypted to the service key that signed the request; every signed response carrying
//! an `X-IOV-JWT` with the `jti` echo, status and body hash) — with the user's phone played by
//! control commands.
//!
//! * [`Model`]: the platform alone, an [`auth_core::emulator::Model`] (HTTP request in,
//!   response out, [`Control`] commands, an injected clock; no sockets). Every RSA operation
//!   runs outside its state lock.
//! * [`Emulator`]: a model served on a real loopback port ([`Served::base_url`]), also
//!   reachable with no socket at all ([`Served::in_process`]).
//!
//! The official Python SDK 4.0.1 accepts it as the platform: the paths, the kid-based public
//! key endpoint `/public/v3/public-key/{kid}`, the JWT and JWE shapes are the platform's.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_core::emulator::Control;
//! use launchkey::emulator::Emulator;
//! use launchkey::{AuthorizationPoll, AuthorizationRequest, Client, ServiceId, ServicePrivateKey};
//!
//! let service_id = ServiceId::from_uuid(uuid::Uuid::new_v4());
//! let key = ServicePrivateKey::generate()?;
//! let emulator = Emulator::builder()
//!     .service(service_id, key.public_key())
//!     .user("alice")
//!     .start()
//!     .await?;
//! let client = Client::builder(service_id, key).base_url(emulator.base_url()).build()?;
//!
//! let created = client.authorize(&AuthorizationRequest::new("alice").context("Log in?")).await?;
//! let pending = emulator.pending();
//! assert_eq!((pending[0].user.as_str(), pending[0].message.as_str()), ("alice", "Log in?"));
//! emulator.control(Control::Approve { id: created.id.to_string() })?;
//! let AuthorizationPoll::Responded(answer) = client.get_authorization_response(&created.id).await? else {
//!     unreachable!()
//! };
//! assert!(answer.authorized);
//! # Ok(()) }
//! ```

mod model;
mod platform;

use std::sync::Arc;
use std::time::Duration;

use auth_core::emulator::EmulatorClock;
use auth_core::emulator::Served;
#[cfg(doc)]
use auth_core::emulator::{Control, InProcess};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use model::Model;

use crate::keys::{RsaPublicKey, ServicePrivateKey};
use crate::{AuthResponseReason, AuthResponseType, Error, JweAlgorithm, JwsAlgorithm, ServiceId};

/// How many accepted calls [`Model::received`] keeps by default (the most recent ones), and
/// how many requests the request log ([`Control::ReadLog`]) keeps.
pub const DEFAULT_LOG_CAPACITY: usize = auth_core::emulator::DEFAULT_LOG_CAPACITY;
/// How many settled (answered, cancelled or expired) authorization requests the emulator keeps
/// by default; older settled ones are forgotten (a poll for them then answers 204, as the
/// platform does for an unknown id). Pending requests are always kept (at most one per user).
pub const DEFAULT_SETTLED_CAPACITY: usize = 1000;

/// A fault applied to the next signed response (one per [`Model::inject`] call, in order):
/// what a broken or hostile platform could send, for the client's negative tests. (Bare error
/// statuses at any path, as a proxy sends them, are [`Control::InjectFault`].)
///
/// As JSON (the `response_fault` provider command): `"tamper_body"`, `{"status": 503}`,
/// `{"rate_limited": 30}`, `{"api_error": [400, "SVC-003"]}`, …
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Fault {
    /// Change the body after signing (the hash no longer matches).
    TamperBody,
    /// Put the hash of other bytes in `response.hash`.
    WrongBodyHash,
    /// Leave `func`/`hash` out although there is a body.
    OmitBodyHash,
    /// Name a kid the API does not know (`GET /public/v3/public-key/{kid}` answers 404).
    UnknownKid,
    /// Sign with a key that is not the one the kid names.
    ForeignSignature,
    /// `aud` other than the service.
    WrongAudience,
    /// `iss` other than `lka`.
    WrongIssuer,
    /// `sub` other than the service.
    WrongSubject,
    /// `jti` that does not echo the request's.
    WrongJti,
    /// `response.status` other than the HTTP status.
    WrongStatusClaim,
    /// Token times two minutes in the past.
    ExpiredToken,
    /// Token times two minutes in the future.
    FutureToken,
    /// No `X-IOV-JWT` header.
    MissingJwt,
    /// A JWT whose header says `alg: none`.
    AlgNone,
    /// Cut the JWE body short (hash recomputed, so only decryption can notice).
    TruncateJwe,
    /// Replace the JWE ciphertext with other bytes (hash recomputed).
    GarbleJwe,
    /// Flip a bit of the JWE authentication tag (hash recomputed).
    BadTag,
    /// Send the 2xx body as plain JSON instead of a JWE (hash recomputed).
    PlainBody,
    /// Answer a poll with a device package for a different request id.
    WrongRequestId,
    /// Answer with this HTTP status and an empty body (signed).
    Status(u16),
    /// Answer 429 with an empty body (signed) and, when given, `Retry-After: <seconds>`.
    RateLimited(Option<u64>),
    /// Send a `Cache-Control` header and sign it in `response.cache` (listed in another order,
    /// which must still match).
    SignedCacheControl,
    /// Send a `Cache-Control` header that the token does not cover.
    UnsignedCacheControl,
    /// Send a `Location` header and sign it in `response.location`.
    SignedLocation,
    /// Send a `Location` header that differs from the signed `response.location`.
    WrongLocation,
    /// Answer with this HTTP status and an encrypted error body with this `error_code`
    /// (`error_detail` = `"emulated"`).
    ApiError(u16, String),
}

/// What the phone answers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PhoneAnswer {
    /// `type`.
    pub response_type: AuthResponseType,
    /// `reason`.
    pub reason: AuthResponseReason,
    /// The denial reason id picked, if any.
    pub denial_reason: Option<String>,
    /// Service PINs.
    pub service_pins: Vec<String>,
    /// `auth_policy` as sent by the device; `None`: the policy the request asked for (see
    /// [`Model::respond`]).
    pub auth_policy: Option<Value>,
    /// `auth_methods` as sent by the device.
    pub auth_methods: Value,
}

impl PhoneAnswer {
    /// An answer with the given type and reason and typical details.
    pub fn new(response_type: AuthResponseType, reason: AuthResponseReason) -> Self {
        PhoneAnswer {
            response_type,
            reason,
            denial_reason: None,
            service_pins: vec!["1234".into(), "3456".into(), "5678".into()],
            auth_policy: None,
            auth_methods: json!([
                {"method": "PIN_CODE", "set": true, "active": true, "allowed": true, "supported": true, "user_required": true, "passed": true, "error": false},
                {"method": "FINGERPRINT", "set": false, "active": false, "allowed": true, "supported": true, "user_required": null, "passed": null, "error": null}
            ]),
        }
    }

    /// Sets the denial reason id.
    pub fn with_denial_reason(mut self, id: impl Into<String>) -> Self {
        self.denial_reason = Some(id.into());
        self
    }

    /// Sends this `auth_policy` as it is (any JSON, `null`s and lower-case values included)
    /// instead of the one derived from the request.
    pub fn with_auth_policy(mut self, policy: Value) -> Self {
        self.auth_policy = Some(policy);
        self
    }

    /// Sends these `auth_methods` as they are (any JSON).
    pub fn with_auth_methods(mut self, methods: Value) -> Self {
        self.auth_methods = methods;
        self
    }
}

/// A user known to the emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EmulatedUser {
    /// Username.
    pub username: String,
    /// Service user hash.
    pub service_user_hash: String,
    /// Organisation user hash.
    pub org_user_hash: String,
    /// User Push ID.
    pub user_push_id: String,
    /// The user's device.
    pub device_id: String,
}

/// A call the emulator received and accepted, with its decrypted body (for wire-shape asserts).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReceivedCall {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// The request JWT's header `alg`.
    pub jws_alg: String,
    /// The request JWT's claims.
    pub claims: Value,
    /// The JWE header of the body, if any.
    pub jwe_header: Option<Value>,
    /// The decrypted body, if any.
    pub body: Option<Value>,
}

/// How many requests each kind of endpoint has answered (for asserting on caching and
/// single-flight behaviour from the outside).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointCounts {
    /// `GET /public/v3/ping`.
    pub ping: u64,
    /// `GET /public/v3/public-key` (the current key).
    pub current_key: u64,
    /// `GET /public/v3/public-key/{kid}`, found or not.
    pub key_by_kid: u64,
    /// Signed `/service/v3/*` calls, accepted or not.
    pub signed: u64,
}

impl EndpointCounts {
    /// Both public-key endpoints together.
    pub fn key_fetches(&self) -> u64 {
        self.current_key + self.key_by_kid
    }
}

/// Builds an [`Emulator`] (or just its [`Model`]) with its seeds: services and their keys,
/// users, the API key, the clock, the default ttl, what it keeps, how it answers.
#[derive(Debug)]
#[must_use]
pub struct EmulatorBuilder {
    clock: EmulatorClock,
    services: Vec<(ServiceId, RsaPublicKey)>,
    users: Vec<String>,
    api_key: Option<Arc<ServicePrivateKey>>,
    log_capacity: usize,
    settings: platform::Settings,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            clock: EmulatorClock::default(),
            services: Vec::new(),
            users: Vec::new(),
            api_key: None,
            log_capacity: DEFAULT_LOG_CAPACITY,
            settings: platform::Settings {
                response_jwe: JweAlgorithm::RsaOaep,
                response_jws: JwsAlgorithm::RS256,
                legacy_packages: false,
                create_status: 201,
                in_progress_status: 409,
                default_ttl: 300,
                settled_capacity: DEFAULT_SETTLED_CAPACITY,
                received_capacity: DEFAULT_LOG_CAPACITY,
            },
        }
    }
}

impl EmulatorBuilder {
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

    /// Registers a service and one of its public keys (call again to add keys).
    pub fn service(mut self, service_id: ServiceId, public_key: RsaPublicKey) -> Self {
        self.services.push((service_id, public_key));
        self
    }

    /// Adds a user with one device.
    pub fn user(mut self, username: impl Into<String>) -> Self {
        self.users.push(username.into());
        self
    }

    /// Signs with this API key (default: one generated per process).
    pub fn api_key(mut self, key: ServicePrivateKey) -> Self {
        self.api_key = Some(Arc::new(key));
        self
    }

    /// The time to live of a request that names none (default 300 s, as the platform).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.settings.default_ttl = i64::try_from(ttl.as_secs()).unwrap_or(300);
        self
    }

    /// Keeps the newest `entries` requests in the log and accepted calls in
    /// [`Model::received`] (default [`DEFAULT_LOG_CAPACITY`]; 0 keeps no calls).
    pub fn log_capacity(mut self, entries: usize) -> Self {
        self.log_capacity = entries;
        self.settings.received_capacity = entries;
        self
    }

    /// Keeps at most `requests` settled authorization requests (default
    /// [`DEFAULT_SETTLED_CAPACITY`]).
    pub fn settled_capacity(mut self, requests: usize) -> Self {
        self.settings.settled_capacity = requests;
        self
    }

    /// Sends only the legacy RSA `auth` package (no `auth_jwe`), as old platform versions.
    pub fn legacy_packages(mut self) -> Self {
        self.settings.legacy_packages = true;
        self
    }

    /// Encrypts response bodies with `alg` (default `RSA-OAEP`, as the platform).
    pub fn response_jwe_algorithm(mut self, alg: JweAlgorithm) -> Self {
        self.settings.response_jwe = alg;
        self
    }

    /// Signs responses with `alg` (default `RS256`).
    pub fn response_jws_algorithm(mut self, alg: JwsAlgorithm) -> Self {
        self.settings.response_jws = alg;
        self
    }

    /// The model alone (for a server of your own, or [`InProcess`]).
    pub fn model(self) -> Result<Model, Error> {
        Model::from_builder(self)
    }

    /// Serves the model on a free loopback port.
    pub async fn start(self) -> std::io::Result<Emulator> {
        let model = Arc::new(self.model().map_err(std::io::Error::other)?);
        Ok(Emulator(Served::start(model).await?))
    }
}

auth_core::served_emulator! {
    /// The LaunchKey platform served on a loopback port until dropped: auth-core's [`Served`]
    /// [`Model`], so [`base_url`](Served::base_url) (what
    /// [`Client::builder`](crate::Client::builder)`(..).base_url(..)` takes),
    /// [`control`](Served::control), [`pending`](Served::pending), [`model`](Served::model) and
    /// [`in_process`](Served::in_process) are called on it, and so is every method of the model
    /// (`approve`, `received`, webhooks, …). `Emulator::start()` starts one with no services and
    /// no users.
    pub struct Emulator(Served<Model>);
    builder: EmulatorBuilder;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Client;
    use auth_core::http_types::Method;

    /// The platform's create rules hold whoever the client is: bodies this crate's client would
    /// never send (it validates first) are sent signed and encrypted as they are, and the
    /// emulator answers `ARG-001` as the API does.
    #[tokio::test]
    async fn create_rules_apply_whoever_the_client_is() {
        let service_id = ServiceId::from_uuid(uuid::Uuid::new_v4());
        let key = ServicePrivateKey::generate().unwrap();
        let emulator = Emulator::builder()
            .service(service_id, key.public_key())
            .user("alice")
            .start()
            .await
            .unwrap();
        let client = Client::builder(service_id, key)
            .base_url(emulator.base_url())
            .build()
            .unwrap();
        let reasons = |list: Value| json!({"username": "alice", "denial_reasons": list});
        let dr =
            |id: &str, fraud: bool| json!({"id": id, "reason": format!("r{id}"), "fraud": fraud});
        let cases = [
            (
                json!({"username": "alice", "title": "t".repeat(201)}),
                "title",
            ),
            (
                json!({"username": "alice", "title": "é".repeat(201)}),
                "title",
            ),
            (json!({"username": "alice", "title": 5}), "title"),
            (
                json!({"username": "alice", "context": "c".repeat(401)}),
                "context",
            ),
            (json!({"username": "alice", "ttl": 10}), "ttl"),
            (json!({"username": "alice", "ttl": "60"}), "ttl"),
            (json!({"username": " "}), "username"),
            (json!({"username": "alice", "colour": "red"}), "unexpected"),
            (reasons(json!([dr("123456", true), dr("2", false)])), "1-5"),
            (reasons(json!([dr("", true), dr("2", false)])), "1-5"),
            (reasons(json!([dr("1", true), dr("1", false)])), "unique"),
            (reasons(json!([dr("1", true)])), "two"),
            (reasons(json!([dr("1", true), dr("2", true)])), "fraud"),
            (reasons(json!([dr("1", false), dr("2", false)])), "fraud"),
            (
                reasons(json!([{"id": "1", "fraud": true}, dr("2", false)])),
                "needs",
            ),
            (reasons(json!({"id": "1"})), "array"),
        ];
        for (body, expected) in cases {
            let v = client
                .signed(Method::POST, "/service/v3/auths", Some(&body))
                .await
                .unwrap();
            assert_eq!(v.status, 400, "{body}");
            match client.api_error(&v) {
                Error::InvalidParameters { detail } => {
                    assert!(detail.contains(expected), "{body}: {detail}")
                }
                other => panic!("{body}: {other:?}"),
            }
            assert_eq!(emulator.pending_request("alice"), None, "{body}");
        }
        // The limits themselves are allowed (200 and 400 characters, 5-character ids).
        let ok = json!({"username": "alice", "title": "é".repeat(200), "context": "c".repeat(400),
                        "ttl": 30, "denial_reasons": [dr("12345", true), dr("2", false)]});
        let v = client
            .signed(Method::POST, "/service/v3/auths", Some(&ok))
            .await
            .unwrap();
        assert_eq!(v.status, 201);
    }
}
