//! # launchkey
//!
//! A Rust LaunchKey **Service Client** (iovation / TransUnion TruValidate Multifactor, API v3):
//! push an authorization request to a user's phone, learn the answer by polling or by webhook,
//! and start and end the user's session — what the official Python/Java/.NET SDKs 4.x do.
//!
//! ## The flow
//!
//! 1. Build a [`Client`] with the service id and the service's RSA private key (PEM,
//!    PKCS#1 or PKCS#8; upload its public key on the LaunchKey dashboard).
//! 2. [`Client::authorize`] pushes an [`AuthorizationRequest`] to the user's phone and
//!    returns its [`AuthRequestId`]. The request is validated first (ttl 30–600 s, lengths,
//!    [`DenialReason`] rules); invalid requests are never sent.
//! 3. Learn the answer by polling ([`Client::get_authorization_response`] once, or
//!    [`Client::wait_for_response`] until it settles) or by webhook
//!    ([`Client::handle_webhook`]). An [`AuthorizationResponse`] is `authorized` only for
//!    `type == AUTHORIZED` **and** `reason == APPROVED`.
//! 4. After an approval call [`Client::session_start`]; on logout (or on a
//!    [`WebhookPackage::ServiceUserSessionEnd`]) call [`Client::session_end`].
//!
//! ```
//! # #[cfg(feature = "emulator")]
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), launchkey::Error> {
//! use std::time::Duration;
//! use auth_core::poll::PollConfig;
//! use launchkey::{AuthorizationRequest, Client, ServiceId, ServicePrivateKey};
//! # let emulator = launchkey::emulator::Emulator::start().await?;
//! # let pem = include_str!("../../../fixtures/launchkey/keys/service-a-pkcs1.pem");
//! # emulator.register_service("9e4a2c8b-5d3f-4b1a-8c7e-6f5d4c3b2a19".parse()?, include_str!("../../../fixtures/launchkey/keys/service-a-pkcs1.pub.pem"))?;
//! # emulator.add_user("alice");
//! # let base_url = emulator.base_url();
//!
//! let client = Client::builder(
//!     ServiceId::parse("9e4a2c8b-5d3f-4b1a-8c7e-6f5d4c3b2a19")?,
//!     ServicePrivateKey::from_pem(pem)?,
//! )
//! .base_url(base_url) // default: https://api.launchkey.com
//! .build()?;
//!
//! let request = AuthorizationRequest::new("alice")
//!     .context("Log in to ACME from Firefox?")
//!     .ttl(Duration::from_secs(120));
//! let created = client.authorize(&request).await?;
//! # emulator.approve(&created.id)?;
//!
//! let poll = PollConfig::every(Duration::from_secs(1), Duration::from_secs(130));
//! let answer = client.wait_for_response(&created.id, &poll).await?;
//! if answer.authorized {
//!     client.session_start("alice", Some(&created.id)).await?;
//! } else if answer.fraud {
//!     println!("alice says she did not ask for this");
//! }
//! # Ok(()) }
//! # #[cfg(not(feature = "emulator"))] fn main() {}
//! ```
//!
//! ## Transport and security
//!
//! Every call is made the way the platform expects (see the `launchkey.md` protocol spec):
//!
//! * requests carry `Authorization: IOV-JWT <jws>` (RS512 by default; RS256/RS384 selectable)
//!   with `iss`/`sub` = `svc:<id>`, `aud` = `lka`, a 5-second lifetime on the **server's** clock
//!   (from `GET /public/v3/ping`), a fresh `jti`, and a `request` claim binding method, path and
//!   the SHA-256 of the exact body bytes;
//! * request bodies are compact JWEs (`RSA-OAEP-256` by default, `RSA-OAEP` selectable, with
//!   `A256CBC-HS512`) to the API's current public key (cached 300 s; keys seen are kept by
//!   kid, at most 32);
//! * every response's `X-IOV-JWT` is verified before the body is touched: allow-listed
//!   algorithm, signature under the API key its `kid` names (an unknown kid is fetched from the
//!   configured base URL), `iss`, `aud`, `sub`, times (30 s leeway),
//!   the `jti` echo, `response.status` equal to the HTTP status, and the body hash. Response
//!   bodies are decrypted with the service key their `kid` names;
//! * the ping, the current API key and each key by kid are fetched single-flight: concurrent
//!   callers share one request and its result. A kid named by a response to the client's own
//!   signed call is always fetched; a kid named by unauthenticated input (a webhook) is first
//!   looked for in the current key (the platform signs webhooks with it), misses are
//!   remembered, and at most 10 other unknown kids a minute are fetched — so junk webhooks
//!   naming random kids cannot starve genuine webhooks or the client's own calls;
//! * a 429 is [`Error::RateLimited`] with the server's `Retry-After` (at most an hour);
//!   [`Client::wait_for_response`] and [`auth_core::StepUp::check`] keep polling after
//!   it, never faster than the poll interval;
//! * only `GET`s are retried (on transport errors, 429 and 503), each attempt with a freshly
//!   signed token; `POST` calls are never retried on transport errors or 429/5xx (a create
//!   pushes to a phone); after a 401 — which the API answers before acting — a call is signed again once
//!   with a freshly pinged server time. Redirects are never followed;
//!   `http://` base URLs are accepted for loopback addresses only.
//!
//! All RSA private-key operations run in AWS-LC (aws-lc-rs): blinded, constant-time OAEP
//! decryption and PKCS#1 v1.5 signing. The JOSE code ([`jose`]) is tested against RFC 7518
//! App. B.3, Wycheproof, and fixtures made independently with Python `jwcrypto`. Every JWE
//! decryption failure is the same [`Error::Decryption`]. Private keys, tokens and decrypted
//! packages never appear in `Debug`, `Display` or errors.
//!
//! ## Webhooks
//!
//! Hand [`Client::handle_webhook`] the headers, the **raw** body bytes, the method and
//! the path as the platform addressed them; it accepts `X-IOV-JWT` and, failing that,
//! `Authorization: IOV-JWT …`. See `examples/axum_webhook.rs` for an axum route.
//!
//! ## Testing your integration
//!
//! The `emulator` feature provides [`emulator::Emulator`]: the LaunchKey API over real HTTP on a
//! loopback port with its own keys, where a test plays the user's phone. The client also
//! implements [`auth_core::StepUp`] (start = create a request, check = poll).
//!
//! ## Performance
//!
//! `cargo bench -p launchkey` measures the JOSE work per call and per webhook (criterion,
//! `benches/jose.rs`). Roughly, on one core: an RSA-2048 private-key operation (OAEP decrypt
//! or PKCS#1 v1.5 sign) costs 0.3–0.4 ms, a public-key one (encrypt, verify) 25–40 µs, so a
//! webhook (one verify, two decrypts) takes about 0.6 ms once the API key is cached.
//!
//! ## Cargo features
//!
//! * `reqwest` (default): the reqwest + rustls HTTP client. Without it, pass your own
//!   [`auth_core::HttpClient`] with [`ClientBuilder::http_client`].
//! * `emulator`: the in-process API emulator.
//!
//! ## Dependencies, and why
//!
//! | crate | why |
//! | --- | --- |
//! | `aws-lc-rs` | every primitive: RSA-OAEP (SHA-1, SHA-256) encrypt/decrypt with constant-time (blinded) private-key operations, RSA PKCS#1 v1.5 sign/verify, AES-256-CBC, HMAC-SHA-512, CSPRNG, constant-time compare. The same AWS-LC that rustls already builds, so no second C crypto library |
//! | `rustls-pki-types` | PEM/DER decoding only (no arithmetic) |
//! | `base64`, `serde`, `serde_json`, `uuid`, `zeroize`, `thiserror`, `http`, `async-trait` | JOSE encodings, wire types, `jti`s, wiping keys and CEKs, errors, transport types |
//! | `wiremock` (feature `emulator`) | the emulator's HTTP server on a loopback port |
//!
//! Not used: `rsa` (RUSTSEC-2023-0071, timing leak on private-key operations; `deny.toml` bans
//! it), `ring` (no RSA-OAEP, no AES-CBC), `jsonwebtoken` (no JWE; its crypto-provider selection
//! panics when unconfigured or doubly configured). The JOSE here is deliberately small: exactly
//! `RSA-OAEP`/`RSA-OAEP-256` with `A256CBC-HS512`, and `RS256/384/512`, checked against RFC 7518
//! and Wycheproof vectors and against fixtures made with Python's `jwcrypto`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod error;
mod ids;
pub mod jose;
mod keys;
mod md5;
#[cfg(test)]
mod null_tolerance;
mod policy;
mod request;
mod response;
mod single_flight;
mod stepup;
mod webhook;

#[cfg(feature = "emulator")]
pub mod emulator;

pub use client::{
    API_ENTITY, CURRENT_KEY_RECHECK, CURRENT_KEY_TTL, Client, ClientBuilder, DEFAULT_BASE_URL,
    DEFAULT_LEEWAY, KID_FETCH_WINDOW, MAX_CACHED_API_KEYS, MAX_KID_FETCHES_PER_WINDOW,
    MAX_RETRY_AFTER, NEGATIVE_KID_TTL, OFFSET_TTL, RATE_LIMIT_BACKOFF, REQUEST_TOKEN_LIFETIME,
    X_IOV_JWT, X_IOV_KEY_ID,
};
pub use error::{AuthorizationInProgress, Error, VerificationError};
pub use ids::{AuthRequestId, Kid, ServiceId};
pub use jose::jwe::JweAlgorithm;
pub use jose::jws::JwsAlgorithm;
pub use keys::{RsaPublicKey, ServicePrivateKey};
pub use policy::{
    AuthPolicy, FactorRequirement, FactorType, Fence, Geofence, PolicyRequirement, ResponsePolicy,
};
pub use request::{
    AuthorizationRequest, AuthorizationRequestCreated, DEFAULT_TTL, DenialReason,
    MAX_CONTEXT_CHARS, MAX_TITLE_CHARS, MAX_TTL, MIN_TTL,
};
pub use response::{
    AuthMethod, AuthMethodType, AuthResponseReason, AuthResponseType, AuthorizationPoll,
    AuthorizationResponse,
};
pub use stepup::PROVIDER;
pub use webhook::{SessionEnd, WebhookPackage};
