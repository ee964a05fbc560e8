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
//! ## Polling rules
//!
//! * Never faster than `interval` (5 s when the OP sends none), counted from the previous token
//!   request — also when [`auth_core::StepUp::wait`] is called with a shorter `PollConfig`:
//!   [`Client::poll_once`] and `check` return `Pending` with the time left instead of sending.
//! * `slow_down` adds 5 s to the interval for the rest of that request.
//! * Never after `expires_in`: the request ends as [`Outcome::Expired`] without asking.
//! * `authorization_pending` waits; `expired_token`, `access_denied`, `transaction_failed`
//!   are outcomes; `invalid_grant`, `invalid_client` and the rest are [`Error::Provider`].
//! * Retries: the backchannel request (it makes a phone ring) is sent **once**. A token request
//!   is sent once too (had the OP issued the tokens, a repeat would only get `invalid_grant`);
//!   the poll loop asks again at the next interval only after errors that show the OP did not
//!   process the request — connection refused, 429, 503, honouring `Retry-After` — never after
//!   a timeout. Discovery and JWKS fetches are `GET`s and follow the retry policy.
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
//! stores the token with the request and uses [`notification::PingNotification`] /
//! [`notification::PushNotification`], [`Client::fetch_after_ping`], [`Client::accept_push`].
//! See `examples/callbacks_axum.rs`.
//!
//! ## ID token validation
//!
//! Signature against the OP's JWKS ([`jwks`]: cached, refetched on an unknown `kid` with
//! single-flight and a budget of [`jwks::MAX_UNKNOWN_KID_FETCHES`] a minute), the algorithm
//! allow-list, no `crit`, `iss` equal to the issuer, `aud` containing the client id, `azp`
//! (required with several audiences), `sub`, `exp` and `iat`/`nbf` with leeway, `at_hash` /
//! `rt_hash` when present (required in push mode) and the `auth_req_id` claim (required in push
//! mode, checked when present otherwise). See [`IdTokenVerifier`].
//!
//! ## CIBA Core 1.0, section by section
//!
//! | § | requirement (client side) | where |
//! | --- | --- | --- |
//! | 4 | OP metadata: `backchannel_authentication_endpoint`, `backchannel_token_delivery_modes_supported`, `backchannel_authentication_request_signing_alg_values_supported`, `backchannel_user_code_parameter_supported` | [`ProviderMetadata`]; the client refuses an OP without the endpoint, without its delivery mode, or without its signing algorithm; `user_code` is refused before sending when the OP says it is unsupported |
//! | 4 | client metadata (`backchannel_token_delivery_mode`, `…_notification_endpoint`, `…_signing_alg`, `…_user_code_parameter`) | registration is out of scope (done with the OP); [`ClientBuilder::delivery_mode`] and [`ClientBuilder::signed_requests`] mirror it |
//! | 5 | poll, ping and push modes | [`Client::poll`], [`Client::handle_ping`], [`Client::handle_push`] |
//! | 6 | the backchannel authentication endpoint: form-encoded `POST` over TLS | [`Client::authenticate`] (`https://` off loopback, sent once) |
//! | 7.1 | `scope` with `openid`; exactly one of `login_hint_token`, `id_token_hint`, `login_hint`; `binding_message`, `user_code`, `requested_expiry`, `acr_values`; `client_notification_token` for ping and push (bearer syntax, ≤ 1024 characters, ≥ 128 bits of entropy) | [`AuthenticationRequest`] (`openid` always first; [`UserHint`] makes one hint the only option; extension parameters that would add a hint are refused before sending); [`ClientNotificationToken::generate`] (256 bits) |
//! | 7.1 | client authentication at the backchannel endpoint as at the token endpoint; the OP accepts its issuer as assertion audience | [`ClientAuth`] (`aud` = issuer) |
//! | 7.1.1 | signed authentication request: all parameters as claims of a JWS, plus `aud`, `iss`, `exp`, `iat`, `nbf`, `jti`; nothing outside but `request` and client authentication | [`ClientBuilder::signed_requests`] |
//! | 7.2 | OP-side validation | the OP's job; mirrored by [`emulator`] |
//! | 7.3 | `auth_req_id`, `expires_in` (required), `interval` (default 5) | [`AuthRequest`]; a missing or malformed member is a typed error, `interval` absent or 0 means 5 s |
//! | 7.4 | the client checks the acknowledgement | as above |
//! | 8 | user authentication and consent on the device | the OP's job |
//! | 9 | the client notification endpoint, authenticated by the bearer token | [`notification`]; the endpoint itself is your web framework's (see the axum example) |
//! | 10.1 | token request: `grant_type=urn:openid:params:grant-type:ciba`, `auth_req_id`, client authentication; wait `interval` between requests | [`Client::token_request`], [`Client::poll`] |
//! | 10.1.1 | token response with an ID token, validated as in OIDC Core §3.1.3.7 | [`Client::validate_id_token`] |
//! | 10.2 | ping: verify the bearer token and `auth_req_id`, then one token request; answer 204 | [`Client::handle_ping`] |
//! | 10.3, 10.3.1 | push: verify the bearer token; the ID token must carry `at_hash`, `rt_hash` (with a refresh token) and `urn:openid:params:jwt:claim:auth_req_id`, all checked | [`Client::handle_push`], [`Expected::push`] |
//! | 11 | `authorization_pending`, `slow_down` (+5 s for this and later requests), `expired_token`, `access_denied`, `invalid_grant` | [`TokenPoll`], [`Outcome`], [`Error::Provider`] |
//! | 12 | push error payload: `access_denied`, `expired_token`, `transaction_failed` | [`Client::accept_push`] → [`Outcome`] |
//! | 13 | authentication errors: `invalid_request`, `invalid_scope`, `expired_login_hint_token`, `unknown_user_id`, `unauthorized_client`, `missing_user_code`, `invalid_user_code`, `invalid_binding_message`, `invalid_client`, `access_denied` | [`ErrorCode`] in [`Error::Provider`]; unknown codes are kept |
//! | 14 | TLS; constant-time comparison of the notification token; no token replay | `https://` required off loopback; notification tokens compared over their SHA-256 in constant time; secrets in redacting types |
//! | 15 | privacy: the binding message and hints are personal data | hints and user codes are never logged or put in errors; the binding message is the caller's text |
//!
//! Not implemented, on purpose: mTLS client authentication (`tls_client_auth`) and
//! certificate-bound tokens — bring a `reqwest::Client` with your client certificate
//! ([`ClientBuilder::reqwest_client`]), but the crate does not check `cnf`; DPoP; `client_secret_jwt`
//! (a shared-secret JWT adds nothing over `client_secret_basic` for a confidential backend);
//! encrypted ID tokens (JWE); `login_hint_token` *formats* (the token is passed through as
//! given); the `request_context` and `authorization_details` parameters are passed with
//! [`AuthenticationRequest::param`] without interpretation.
//!
//! ## FAPI-CIBA
//!
//! [`ClientBuilder::fapi_ciba`] refuses at build time what the profile forbids a client:
//! `client_secret_basic`/`client_secret_post` (FAPI 1.0 Advanced allows only mTLS and
//! `private_key_jwt`), RS256 for assertions, request objects and ID tokens (FAPI 1.0 Advanced
//! §8.6: PS256 or ES256), unsigned authentication requests and push mode (FAPI-CIBA). Signed
//! requests are then on, with `nbf`/`exp` at most 60 minutes apart.
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
pub mod discovery;
mod error;
pub mod id_token;
pub mod jwks;
pub mod keys;
pub mod notification;
mod request;
mod stepup;
pub mod token;
mod types;

#[cfg(feature = "emulator")]
pub mod emulator;

pub use client::{
    CLIENT_ASSERTION_LIFETIME, Client, ClientAuth, ClientBuilder, DEFAULT_REQUEST_OBJECT_LIFETIME,
    MAX_TRACKED_REQUESTS, SLOW_DOWN_STEP,
};
pub use discovery::{Endpoints, EndpointsBuilder, ProviderMetadata};
pub use error::{Endpoint, Error, IdTokenError, NotificationError, ProviderError};
pub use id_token::{Expected, IdTokenClaims, IdTokenVerifier};
pub use keys::{Algorithm, SigningKey};
pub use request::{
    AuthRequest, AuthenticationRequest, DEFAULT_INTERVAL, MAX_BINDING_MESSAGE_CHARS, UserHint,
};
pub use stepup::PROVIDER;
pub use token::{Outcome, TokenPoll, TokenResponse, Tokens};
pub use types::{
    AccessToken, AuthReqId, ClientId, ClientNotificationToken, ClientSecret, DeliveryMode,
    ErrorCode, IdTokenJwt, LoginHintToken, RefreshToken, UserCode,
};
