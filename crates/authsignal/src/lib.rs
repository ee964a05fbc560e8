//! # authsignal
//!
//! A Rust server SDK for the [Authsignal](https://www.authsignal.com) Server API: step-up
//! authentication decided by a no-code rules engine, with a pre-built challenge UI, OTP
//! challenges, sessions and signed webhooks. Built on `auth-core` (transport, retries,
//! clock, secrets, the provider-neutral [`auth_core::StepUp`] interface).
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
//! ```
//! # #[cfg(feature = "emulator")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use authsignal::emulator::{Emulator, Rule, RuleOutcome};
//! use authsignal::{
//!     ActionCode, ActionState, EnrollVerifiedAuthenticatorRequest, TrackRequest, UserId,
//!     ValidateChallengeRequest, VerificationMethod,
//! };
//!
//! // A local emulator stands in for https://api.authsignal.com/v1 here. In production:
//! // let client = authsignal::Client::new(SecretKey::new(secret_from_env), Region::Eu)?;
//! let emulator = Emulator::start().await;
//! emulator.add_rule(Rule::new("big-withdrawals", RuleOutcome::Challenge).for_action("withdraw"));
//! let client = emulator.client()?;
//!
//! let user = UserId::new("usr_ada")?;
//! let action = ActionCode::new("withdraw")?;
//! client
//!     .enroll_verified_authenticator(&user, &EnrollVerifiedAuthenticatorRequest::sms("+64270000001"))
//!     .await?;
//!
//! let decision = client
//!     .track(&user, &action, TrackRequest::new()
//!         .redirect_url("https://bank.example/withdraw/done")
//!         .ip_address("203.0.113.7")
//!         .custom("amount", 5000))
//!     .await?;
//! assert_eq!(decision.state, ActionState::ChallengeRequired);
//! let _send_the_browser_to = decision.challenge_url();
//!
//! // … the user passes the SMS challenge; the browser returns with ?token=…
//! let token = emulator.complete_challenge(&user, &action, &decision.idempotency_key, VerificationMethod::Sms)?;
//!
//! let result = client
//!     .validate_challenge(&ValidateChallengeRequest::new(token, user.clone(), action.clone()))
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
//! * **Timeouts** on by default (5 s connect, 10 s per request); your own `reqwest::Client`
//!   ([`ClientBuilder::reqwest_client`]) or any [`auth_core::HttpClient`]
//!   ([`ClientBuilder::http_client`]).
//! * **Retries** ([`client::default_retry_policy`]): at most 2, only for requests that are safe
//!   to repeat — `GET`, `DELETE`, and track, which **always** carries an idempotency key (yours
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
//! | devices | [`Client::get_devices`], [`Client::invalidate_device`] |
//! | webhooks | [`webhook::WebhookVerifier`] (`X-Signature-V2`, rotation, constant time, ±tolerance) |
//! | CallConnect | [`call_connect::CallConnect`]: `start_call`, `finish_call` (on `us-connect.authsignal.com`) |
//! | step-up | [`auth_core::StepUp`] for [`Client`], [`Client::finish_step_up`] |
//!
//! ## Webhooks
//!
//! Verify over the **raw body bytes** (in axum: take the body as `Bytes`, not `Json`), then
//! parse; see [`webhook`] and `examples/webhook_axum.rs`.
//!
//! ## Where this crate differs from the official SDKs (deliberately)
//!
//! * Track always carries an idempotency key (generated when you give none), and only track
//!   is retried among `POST`s; OTP challenges, claims, sessions and enrolments are sent once.
//!   (Node retries any request that got no response, which can send a second SMS.)
//! * Timeouts are always on. Path segments are percent-encoded fully (`/` included).
//! * Webhooks: constant-time comparison, every `v2` in the header is tried in any order, and
//!   the timestamp must be within the tolerance **either way** (the official SDKs reject only
//!   old timestamps).
//! * [`ValidateChallengeRequest::new`] always sends the expected user and action and checks
//!   the answer ([`Error::TokenMismatch`]).
//! * `Debug` never shows the secret key, tokens, OTP or recovery codes, nor the query of the
//!   challenge URLs (it carries the token).
//!
//! ## Errors
//!
//! [`Error`] separates transport failures ([`Error::Core`]) from API errors, which carry the
//! API's `errorCode` and `errorDescription` ([`ApiError`]): [`Error::Unauthorized`] (wrong key
//! *or wrong region*), [`Error::InvalidRequest`], [`Error::NotFound`], [`Error::RateLimited`],
//! [`Error::Server`] …. Bad input is rejected before sending ([`Error::InvalidInput`]).
//! Unknown enum values from the server are kept (`Other(String)`), never an error.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod call_connect;
pub mod client;
pub mod error;
pub mod request;
pub mod response;
pub mod stepup;
pub mod types;
pub mod webhook;

#[cfg(feature = "emulator")]
pub mod emulator;

pub use client::{Client, ClientBuilder, Region};
pub use error::{ApiError, Error};
pub use request::{
    ChallengeRequest, CreateSessionRequest, EnrollVerifiedAuthenticatorRequest,
    GetChallengeRequest, OtpUri, PasskeyImport, QueryActionsRequest, QueryUsersRequest,
    TrackRequest, UpdateUserRequest, ValidateChallengeRequest,
};
pub use response::*;
pub use types::*;
pub use webhook::{WebhookError, WebhookVerifier};
