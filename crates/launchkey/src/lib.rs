//! # launchkey
//!
//! A Rust LaunchKey **Service Client** (iovation / TransUnion TruValidate Multifactor, API v3):
//! push an authorization request to a user's phone, learn the answer by polling or by webhook,
//! and start and end the user's session — what the official Python/Java/.NET SDKs 4.x do, for
//! services that run on Rust.
//!
//! ## The flow
//!
//! 1. Build a [`Client`] with the service id and the service's RSA private key (PEM, PKCS#1
//!    or PKCS#8; its public key is uploaded on the LaunchKey dashboard).
//! 2. [`Client::authorize`] pushes an [`AuthorizationRequest`] to the user's phone and returns
//!    its [`AuthRequestId`]. The request is validated first (ttl 30–600 s, lengths,
//!    [`DenialReason`] rules); an invalid request is never sent.
//! 3. Learn the answer by polling ([`Client::get_authorization_response`] once, or
//!    [`Client::wait_for_response`] until it settles) or by webhook
//!    ([`Client::handle_webhook`]). An [`AuthorizationResponse`] is `authorized` only for
//!    `type == AUTHORIZED` **and** `reason == APPROVED`.
//! 4. After an approval call [`Client::session_start`]; on logout (or on a
//!    [`WebhookPackage::ServiceUserSessionEnd`]) call [`Client::session_end`].
//!
//! ```
//! # #[cfg(feature = "emulator")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
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
//! ## Webhooks
//!
//! Hand [`Client::handle_webhook`] the platform's `POST` as your server received it: an
//! [`http::Request`] with the headers and the **raw** body bytes (the token's hash covers them
//! exactly), and the path the platform addressed. `examples/axum_webhook.rs` shows an axum
//! route.
//!
//! ## Step-up, errors, configuration
//!
//! * [`Client`] implements [`auth_core::StepUp`]: start = create a request, check = poll; the
//!   same application code runs on every oob-auth provider.
//! * [`Error`] implements [`auth_core::Classify`] (kind, HTTP status, the LaunchKey
//!   `error_code`, `Retry-After`); a 429 keeps polling pending.
//! * [`ClientBuilder::config`] takes the transport settings (HTTP client, clock, retries,
//!   timeouts, limits) from one [`auth_core::Config`] shared by every provider.
//! * The numbers the client lives by (cache lifetimes, leeway, rate-limit budgets, field
//!   limits) are in [`limits`].
//!
//! ## Testing your integration
//!
//! The `emulator` feature provides [`emulator::Emulator`]: the LaunchKey API on a loopback
//! port (or in process, with no socket) with its own keys, where a test plays the user's
//! phone. The official Python SDK 4.0.1 accepts it as the platform.
//!
//! ## More
//!
//! [`docs`]: how every call is protected ([`docs::security`]), the design decisions
//! ([`docs::decisions`]) and the cost of the cryptography ([`docs::performance`]).
//! [`hazmat`] holds the JOSE primitives, for checking them against published vectors.
//!
//! ## Cargo features
//!
//! * `reqwest` (default): the reqwest + rustls HTTP client. Without it, pass your own
//!   [`auth_core::HttpClient`] with [`ClientBuilder::http_client`].
//! * `emulator`: the LaunchKey API emulator (a protocol model, and a loopback server for it).
//!
//! ## Dependencies, and why
//!
//! | crate | why |
//! | --- | --- |
//! | `auth-core` | the shared transport, configuration, errors, ids, timestamps, polling and step-up contract |
//! | `aws-lc-rs` | every primitive: RSA-OAEP (SHA-1, SHA-256) encrypt/decrypt with constant-time (blinded) private-key operations, RSA PKCS#1 v1.5 sign/verify, AES-256-CBC, HMAC-SHA-512, CSPRNG, constant-time compare. The same AWS-LC that rustls already builds, so no second C crypto library |
//! | `rustls-pki-types` | PEM/DER decoding only (no arithmetic) |
//! | `base64`, `serde`, `serde_json`, `uuid`, `zeroize`, `thiserror`, `http`, `async-trait` | JOSE encodings, wire types, `jti`s and ids, wiping keys and CEKs, errors, transport types |
//! | `reqwest` (feature `reqwest`) | the default HTTP client, through auth-core |
//! | auth-core's `emulator` feature (feature `emulator`) | the emulator's model trait, control vocabulary and loopback server |
//!
//! Not used: `rsa`, `ring`, `jsonwebtoken`, an MD5 crate — see [`docs::decisions`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
pub mod docs;
#[cfg(feature = "emulator")]
pub mod emulator;
mod error;
pub mod hazmat;
mod ids;
mod keys;
pub mod limits;
mod md5;
#[cfg(test)]
mod null_tolerance;
mod policy;
mod request;
mod response;
mod single_flight;
mod stepup;
mod webhook;

pub use client::{Client, ClientBuilder};
pub use error::{AuthorizationInProgress, Error, VerificationError};
pub use hazmat::algorithms::{JoseError, JweAlgorithm, JwsAlgorithm};
pub use ids::{AuthRequestId, Kid, ServiceId};
pub use keys::{RsaPublicKey, ServicePrivateKey};
pub use policy::{
    AuthPolicy, FactorRequirement, FactorType, Fence, Geofence, PolicyRequirement, ResponsePolicy,
};
pub use request::{AuthorizationRequest, AuthorizationRequestCreated, DenialReason};
pub use response::{
    AuthMethod, AuthMethodType, AuthResponseReason, AuthResponseType, AuthorizationPoll,
    AuthorizationResponse,
};
pub use webhook::{SessionEnd, WebhookPackage};
