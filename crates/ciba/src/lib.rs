//! # ciba
//!
//! A Rust client for **OpenID Connect Client-Initiated Backchannel Authentication** (CIBA Core
//! 1.0): your backend asks an OpenID Provider to authenticate a named user on *another* device
//! ("approve it on your phone"), then learns the answer by polling, by a ping, or by a push. It
//! is the open standard behind Keycloak, PingOne, Duende IdentityServer, Authlete, Curity,
//! Janssen, Gravitee, IBM Verify, cidaas and BankID brokers, and the profile FAPI-CIBA and UK
//! Open Banking require. The [`Client`] also implements [`auth_core::StepUp`], so the step-up
//! code written for the other oob-auth providers runs on any CIBA OP unchanged.
//!
//! ## The flow
//!
//! 1. Build a [`Client`] with the client id and its authentication ([`ClientAuth`]:
//!    `client_secret_basic`, `client_secret_post` or `private_key_jwt`) and the OP's issuer
//!    (discovery) or its [`Endpoints`].
//! 2. [`Client::authenticate`] sends an [`AuthenticationRequest`]: who (exactly one
//!    [`UserHint`]), what to show (`binding_message`), and optionally `user_code`,
//!    `requested_expiry`, `acr_values`, scopes. The OP answers with an [`AuthRequest`]
//!    (`auth_req_id`, `expires_in`, `interval`).
//! 3. Get the result: [`Client::poll`] (poll mode), [`Client::handle_ping`] (ping mode),
//!    [`Client::handle_push`] (push mode). An approval is an [`Outcome::Approved`] whose ID
//!    token has been validated; a denial, an expiry or a failure are outcomes too.
//!
//! ```
//! # #[cfg(feature = "emulator")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use ciba::{AuthenticationRequest, Client, ClientAuth, ClientId, Outcome};
//! # let emulator = ciba::emulator::Emulator::builder()
//! #     .user("alice@example.com")
//! #     .clock(Arc::new(auth_core::FakeClock::at_unix(1_800_000_000)))
//! #     .start()
//! #     .await?;
//! # let issuer = emulator.base_url();
//! # let secret = ciba::emulator::DEFAULT_CLIENT_SECRET;
//!
//! let client = Client::builder(ClientId::new("emulated-client")?, ClientAuth::secret_basic(secret))
//!     .issuer(issuer) // https://op.example.com: endpoints from its discovery document
//! #   .clock(emulator.clock())
//!     .build()?;
//!
//! let started = client
//!     .authenticate(
//!         AuthenticationRequest::login_hint("alice@example.com")
//!             .binding_message("Sign in to ACME? Code 7B")
//!             .requested_expiry(Duration::from_secs(120)),
//!     )
//!     .await?;
//! # emulator.approve(&started.auth_req_id)?;
//!
//! match client.poll(&started).await? {
//!     Outcome::Approved(tokens) => println!("signed in as {}", tokens.claims.sub),
//!     Outcome::Denied { .. } => println!("the user said no"),
//!     Outcome::Expired => println!("no answer in time"),
//!     other => println!("{other:?}"),
//! }
//! # Ok(()) }
//! # #[cfg(not(feature = "emulator"))] fn main() {}
//! ```
//!
//! The same through [`auth_core::StepUp`]: `start` sends the request (the step-up's message is
//! the `binding_message`, shown on the phone), `check` makes one token request, and an
//! approval's evidence holds the ID token's claims (`iss`, `sub`, `acr`, `amr`, `auth_time`…),
//! never the tokens.
//!
//! ## Configuration
//!
//! | knob | default | |
//! | --- | --- | --- |
//! | [`ClientBuilder::issuer`] / [`ClientBuilder::endpoints`] | required | discovery (fetched once, on first use, single-flight) or endpoints by hand; `https://`, or `http://` for loopback only |
//! | [`ClientBuilder::delivery_mode`] | poll | what the client is registered with; ping and push requests get a fresh 256-bit `client_notification_token` |
//! | [`ClientBuilder::signed_requests`] | off (on with FAPI) | requests as signed request objects (CIBA §7.1.1), `typ` `oauth-authz-req+jwt`, `nbf`/`exp` 5 minutes apart |
//! | [`ClientBuilder::id_token_algorithms`] | RS256, PS256, ES256 | the allow-list; `none` and `HS*` are never accepted |
//! | [`ClientBuilder::leeway`] | 60 s | on `exp`, `iat`, `nbf`, against the client's [`auth_core::Clock`] |
//! | [`ClientBuilder::fapi_ciba`] | off | refuses `client_secret_*`, RS256, unsigned requests and push mode |
//! | timeouts, your own HTTP client | 10 s connect, 30 s total | [`ClientBuilder::http_client`], [`ClientBuilder::reqwest_client`], [`ClientBuilder::timeout`] |
//!
//! **Client authentication** is the same at both endpoints. `private_key_jwt` assertions have
//! `iss` = `sub` = the client id, `aud` = the OP's issuer (which CIBA §7.1 requires OPs to
//! accept), a fresh random `jti`, `iat`, and `exp` one minute later; a new one is signed for
//! every request. Keys: [`SigningKey`] (PEM PKCS#8 or PKCS#1; RSA for RS256/PS256, P-256 for
//! ES256); register [`SigningKey::public_jwk`] with the OP.
//!
//! ## Ping and push
//!
//! The OP calls your notification endpoint with `Authorization: Bearer <token>`. Hand the
//! header value and the **raw body bytes** to [`Client::handle_ping`] or
//! [`Client::handle_push`]; they compare the bearer token with the request's token in constant
//! time, then fetch the result with one token request (ping) or validate the pushed ID token
//! with its `at_hash`, `rt_hash` and `urn:openid:params:jwt:claim:auth_req_id` (push). Answer
//! `204` on success and [`NotificationError::http_status`] on a notification error. Those two
//! keep each request's token in the client's memory; an application with several instances
//! stores the token with the request and uses [`PingNotification`] / [`PushNotification`],
//! [`Client::fetch_after_ping`], [`Client::accept_push`] ([`docs::notifications`]). See
//! `examples/callbacks_axum.rs`.
//!
//! ## More
//!
//! The rules the client keeps, in [`docs`]: [`docs::polling`] (never faster than `interval`,
//! `slow_down`, never past expiry, what is retried), [`docs::validation`] (every check an ID
//! token passes; the OP's key set cache), [`docs::spec`] (CIBA Core 1.0 section by section,
//! FAPI-CIBA, what is left out on purpose). Limits and tuning constants: [`limits`].
//!
//! ## Testing your integration
//!
//! The `emulator` feature provides [`emulator::Emulator`]: a CIBA OP with real keys, for poll,
//! ping and push clients, served on a loopback port or called in process with no socket, where
//! a test plays the user with the control vocabulary every oob-auth emulator shares
//! (`approve`/`deny`/`fail`/`expire`, …) and injects faults. The crate's own suite also runs the
//! client against a real, OpenID-certified OP (npm `oidc-provider`, `tests/it/real_op.rs`).
//!
//! ## Cargo features
//!
//! * `reqwest` (default): the reqwest + rustls HTTP client. Without it, pass your own
//!   [`auth_core::HttpClient`] with [`ClientBuilder::http_client`].
//! * `emulator`: the emulated OP ([`emulator::Model`], served by [`emulator::Emulator`]).
//!
//! ## Dependencies, and why
//!
//! | crate | why |
//! | --- | --- |
//! | `jsonwebtoken` (AWS-LC backend only) | JWS signing (client assertions, request objects) and verification (ID tokens); its process-wide crypto provider is installed on first use so it never panics on feature unification |
//! | `aws-lc-rs` | key checks and public parts, `at_hash`/`rt_hash` digests, constant-time comparison, CSPRNG (`jti`, notification tokens); the AWS-LC rustls already builds |
//! | `rustls-pki-types` | PEM decoding only |
//! | `tokio` (`sync` only) | single-flight discovery and JWKS refetches (`OnceCell`, `Mutex`); no runtime is started |
//! | `url`, `serde`, `serde_json`, `base64`, `http`, `thiserror`, `async-trait`, `zeroize` | form encoding and URL checks, wire types, errors, the `StepUp` trait, wiping request bodies |
//! | `reqwest`, `tokio` `time` (feature `emulator`) | the emulator's ping/push deliveries and its response delays; its server is auth-core's |
//!
//! No other JOSE stack (`josekit`, `biscuit`, `jwt-simple`), no `rsa`, no `ring`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod discovery;
pub mod docs;
#[cfg(feature = "emulator")]
pub mod emulator;
mod error;
mod id_token;
mod jwks;
mod keys;
pub mod limits;
mod notification;
#[cfg(test)]
mod null_tolerance;
mod request;
mod stepup;
mod token;
mod types;

pub use client::{Client, ClientAuth, ClientBuilder};
pub use discovery::{Endpoints, EndpointsBuilder, ProviderMetadata};
pub use error::{Endpoint, Error, IdTokenError, NotificationError, ProviderError};
pub use id_token::{Expected, IdTokenClaims, IdTokenVerifier};
pub use jwks::{KeySet, KeyType, PublicKey};
pub use keys::{Algorithm, SigningKey};
pub use notification::{
    PingNotification, PushNotification, PushPayload, VerifiedPing, VerifiedPush,
};
pub use request::{AuthRequest, AuthenticationRequest, UserHint};
pub use stepup::PROVIDER;
pub use token::{Outcome, TokenPoll, TokenResponse, Tokens};
pub use types::{
    AccessToken, AuthReqId, ClientId, ClientNotificationToken, ClientSecret, DeliveryMode,
    ErrorCode, IdTokenJwt, LoginHintToken, RefreshToken, UserCode,
};
