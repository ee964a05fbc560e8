//! # authsignal
//!
//! A Rust server SDK for the [Authsignal](https://www.authsignal.com) Server API — for back
//! ends that ask "is this really you?" before a risky action (a withdrawal, a new payee, a
//! sign-in from a new device) and let Authsignal's no-code rules decide when to challenge the
//! user. It covers the whole Server API: tracked actions and their pre-built challenge UI,
//! server-side token validation, users and authenticators, server-initiated OTP challenges,
//! sessions, devices, CallConnect, and signed webhooks. It is built on `auth-core` (transport,
//! retries, clock, secrets, errors) and implements auth-core's provider-neutral
//! [`auth_core::StepUp`] contract, so application code written against it runs on any
//! oob-auth provider.
//!
//! ## The flow
//!
//! 1. **Track** an action ([`Client::track`]). The tenant's rules decide: `ALLOW`, `BLOCK`,
//!    `CHALLENGE_REQUIRED` (send the user to [`TrackResponse::challenge_url`]) or
//!    `REVIEW_REQUIRED`. Users without authenticators are allowed even when a rule says
//!    challenge (`is_enrolled == false`).
//! 2. The user completes the challenge in the pre-built UI and comes back to your
//!    `redirect_url` with `?token=…`.
//! 3. **Validate** the token server-side ([`Client::validate_challenge`]) for the expected user
//!    and action; proceed only when `is_valid` is true.
//!
//! The example runs against this crate's emulator (feature `emulator`), which speaks the
//! Server API on a loopback port; in production the client is built for your tenant's region:
//!
//! ```no_run
//! # fn build() -> Result<authsignal::Client, authsignal::Error> {
//! use authsignal::{Client, Region, SecretKey};
//!
//! let secret = std::env::var("AUTHSIGNAL_SECRET").unwrap_or_default();
//! let client = Client::builder(SecretKey::new(secret)).region(Region::Eu).build()?;
//! # Ok(client) }
//! ```
//!
//! ```
//! # #[cfg(feature = "emulator")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use auth_core::emulator::Control;
//! use authsignal::emulator::{Emulator, Rule, RuleOutcome};
//! use authsignal::{ActionCode, ActionState, TrackRequest, UserId, ValidateChallengeRequest};
//!
//! // The emulator stands in for https://api.authsignal.com/v1: a tenant whose rules
//! // challenge every withdrawal, and Ada, enrolled with SMS.
//! let emulator = Emulator::builder()
//!     .rule(Rule::new("withdrawals", RuleOutcome::Challenge).for_action("withdraw"))
//!     .start()
//!     .await?;
//! emulator.control(Control::AddUser {
//!     user: "usr_ada".into(),
//!     details: serde_json::json!({"phone_number": "+64270000001"}),
//! })?;
//! let client = emulator.client()?;
//!
//! let user = UserId::new("usr_ada")?;
//! let action = ActionCode::new("withdraw")?;
//! let decision = client
//!     .track(&user, &action, TrackRequest::new()
//!         .redirect_url("https://bank.example/withdraw/done")
//!         .ip_address("203.0.113.7")
//!         .custom("amount", 5000))
//!     .await?;
//! assert_eq!(decision.state, ActionState::ChallengeRequired);
//! let _send_the_browser_to = decision.challenge_url();
//!
//! // … Ada passes the challenge in the pre-built UI; her browser comes back to the
//! // redirect URL with ?token=… (the emulator plays her here).
//! let answer = emulator.control(Control::Approve { id: decision.idempotency_key.to_string() })?;
//! let token = authsignal::ChallengeToken::new(answer["token"].as_str().unwrap_or_default());
//!
//! let result = client
//!     .validate_challenge(&ValidateChallengeRequest::new(token, user, action))
//!     .await?;
//! assert!(result.is_valid);
//! # Ok(()) }
//! # #[cfg(not(feature = "emulator"))]
//! # fn main() {}
//! ```
//!
//! ## Configuration
//!
//! * **Secret key**: [`SecretKey`] (redacted `Debug`, no `Display`, zeroized on drop); sent as
//!   HTTP Basic `base64("<secret>:")`, marked sensitive in the request headers, scrubbed from
//!   error texts, never logged.
//! * **Region**: [`Region::Us`] (default), `Au`, `Eu`, `Ca`, or any base URL with
//!   [`ClientBuilder::base_url`] (`https://`, or `http://` to loopback only).
//! * **Transport**: [`ClientBuilder`] has auth-core's shared setters — `.config(&shared)`
//!   takes one [`auth_core::Config`] built for every provider (HTTP client, clock, retries,
//!   timeouts, limits, your application's user-agent token), or set them one by one
//!   (`timeout`, `reqwest_client`, `http_client`, `clock` …). Until then this crate's
//!   defaults apply: 5 s to connect, 10 s per request.
//! * **Retries**: at most 2 (about 100 ms, then 200 ms), only for requests that are safe to
//!   repeat — `GET`, `DELETE`, and track, which **always** carries an idempotency key (yours
//!   or a fresh UUID) so a retry after a dropped connection finds the same action instead of
//!   creating a second one. OTP challenges, claims, sessions and enrolments are sent once.
//!
//! ## Everything else
//!
//! | area | calls |
//! | --- | --- |
//! | actions | [`Client::track`], [`Client::get_action`], [`Client::query_actions`], [`Client::update_action`] |
//! | users | [`Client::get_user`], [`Client::get_user_with_redirect`] (seed era), [`Client::update_user`] / [`Client::identify`], [`Client::delete_user`], [`Client::query_users`] |
//! | authenticators | [`Client::get_authenticators`], [`Client::enroll_verified_authenticator`], [`Client::batch_enroll_authenticators`], [`Client::delete_authenticator`] |
//! | challenges | [`Client::validate_challenge`], [`Client::challenge`], [`Client::verify`], [`Client::claim_challenge`], [`Client::get_challenge`] |
//! | sessions | [`Client::create_session`], [`Client::validate_session`], [`Client::refresh_session`], [`Client::revoke_session`], [`Client::revoke_user_sessions`] |
//! | devices | [`Client::get_devices`], [`Client::invalidate_device`], [`Client::update_device`] |
//! | webhooks | [`webhook::WebhookVerifier`] (`X-Signature-V2`, rotation, constant time, ±tolerance) |
//! | CallConnect | [`call_connect::CallConnect`]: `start_call`, `finish_call` (on `us-connect.authsignal.com`) |
//! | step-up | [`auth_core::StepUp`] for [`Client`] ([`docs::step_up`]), [`Client::finish_step_up`] |
//!
//! ## Webhooks
//!
//! Verify over the **raw body bytes** (in axum: take the body as `Bytes`, not `Json`), then
//! parse; see [`webhook`] and `examples/webhook_axum.rs`.
//!
//! ## Errors
//!
//! [`Error`] separates transport failures ([`Error::Core`]) from API errors, which carry the
//! API's `errorCode` and `errorDescription` ([`ApiError`]): [`Error::Unauthorized`] (wrong key
//! *or wrong region*), [`Error::InvalidSession`] (a 401 on a session call: the token it
//! carried is expired, revoked or unknown), [`Error::InvalidRequest`], [`Error::NotFound`],
//! [`Error::RateLimited`], [`Error::Server`] …. Bad input is rejected before sending
//! ([`Error::InvalidInput`]). Every error implements [`auth_core::Classify`], the one
//! classification of every oob-auth crate: `kind()` (transport, timeout, rate limited,
//! unauthorized, protocol, configuration …), `http_status()`, `provider_code()` (the API's
//! `errorCode`), `retry_after()` (a 429's `Retry-After`) and `is_retryable()`.
//! Unknown enum values from the server are kept (`Other(String)`), never an error.
//!
//! ## More
//!
//! [`docs`] holds the long-form notes: [`docs::differences`] (where and why this crate
//! departs from the official SDKs), [`docs::wire`] (how responses, ids, enums, timestamps and
//! error bodies are read), [`docs::step_up`] (the step-up mapping).
//!
//! ## Dependencies, and why
//!
//! | crate | why |
//! | --- | --- |
//! | `aws-lc-rs` | HMAC-SHA-256 for webhook signatures (and the emulator's tokens); already in the tree as rustls' crypto provider, so it costs nothing extra |
//! | `uuid` | idempotency keys generated for every track call |
//! | `base64`, `url`, `serde`, `serde_json`, `http`, `thiserror`, `tracing`, `async-trait` | Basic auth, query strings, wire types, errors, logging |
//! | `auth-core/emulator` (feature `emulator`) | the emulator's model trait, control vocabulary, request log and loopback server (axum); the model itself has no socket code |
//!
//! Light on purpose: no RSA, ed25519 or JOSE crate is in this crate's tree (checked by
//! `cargo xtask ci` and by the `dependencies` test).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod call_connect;
mod client;
pub mod docs;
mod error;
mod request;
mod response;
mod stepup;
mod types;
pub mod webhook;

#[cfg(feature = "emulator")]
pub mod emulator;

pub use auth_core::id::InvalidId;
pub use client::{Client, ClientBuilder, Region};
pub use error::{ApiError, Error, WebhookError};
pub use request::{
    ChallengeRequest, ClaimRequest, CreateSessionRequest, EnrollVerifiedAuthenticatorRequest,
    GetChallengeRequest, OtpUri, PasskeyImport, QueryActionsRequest, QueryUsersRequest,
    TrackCrypto, TrackRequest, UpdateUserRequest, ValidateChallengeRequest,
};
pub use response::{
    AaguidMapping, ActionResponse, ActionSummary, BatchEnrollFailure, BatchEnrollResponse,
    ChallengeResponse, ClaimResponse, Device, EnrollResponse, EpochSeconds, GetChallengeResponse,
    MatchedRule, ParsedUserAgent, QueryUsersResponse, SessionTokens, SessionUser, TrackResponse,
    UpdateActionResponse, UserAttributes, UserAuthenticator, UserResponse, UserSummary,
    ValidateChallengeResponse, ValidateSessionResponse, VerifyResponse, WebauthnCredential,
};
pub use types::{
    AccessToken, ActionCode, ActionState, AuthenticatorId, ChallengeId, ChallengeToken, ClientId,
    DeviceId, IdempotencyKey, RecoveryCode, RefreshToken, Scope, SecretKey, SmsChannel, Timestamp,
    UserId, VerificationCode, VerificationMethod, VerifyFailureReason,
};
