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
//! // let client = authsignal::Client::builder(SecretKey::new(secret_from_env)).region(Region::Eu).build()?;
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
//! * **Transport**: [`ClientBuilder`] has auth-core's shared setters — `.config(&shared)`
//!   takes one [`auth_core::Config`] built for every provider (HTTP client, clock, retries,
//!   timeouts, limits, your application's user-agent token), or set them one by one
//!   (`timeout`, `reqwest_client`, `http_client`, `clock` …). Timeouts are on by default
//!   (5 s connect, 10 s per request).
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
//! | devices | [`Client::get_devices`], [`Client::invalidate_device`], [`Client::update_device`] |
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
//! The spec (`shared/specs/authsignal.md`) records what each official SDK does; where they
//! disagree with each other or with safe behaviour, this crate chose:
//!
//! | topic | official SDKs | this crate |
//! | --- | --- | --- |
//! | retries | Node/Java/.NET retry any request that got no response (a second SMS); Python/Go/PHP never retry | at most 2 retries (≈100 ms, 200 ms) of `GET`/`DELETE`, `/sessions/validate`, and track — which **always** carries an idempotency key (yours or a fresh UUID), so a retry finds the same action. OTP challenges, claims, sessions, enrolments are sent once |
//! | timeouts | Python 4.x's never applies (hangs forever); Node/Java/.NET none | always on: 5 s connect, 10 s per request |
//! | path parameters | unencoded (Node/Go/Java/.NET), `/` left raw (Python 4.x) | every segment percent-encoded, `/` included; action codes validated (`^[a-zA-Z0-9_-]{1,64}$`) |
//! | error code | `error` (Node/Java/.NET/Ruby) or `errorCode` (Python/Go/PHP) | `errorCode`, else `error`, else the seed era's `message`, else `HTTP-<status>`; typed by status and code |
//! | transport errors | Python: `ApiException` with `None` fields; Node: fake status 500 | a distinct transport error, never a made-up status |
//! | webhook comparison | `===` / `==` (all but Go) | constant time (aws-lc-rs), one HMAC per configured secret, at most [`webhook::MAX_SIGNATURES`] `v2` values and 4096 header bytes |
//! | webhook timestamp | only too-old rejected; tolerance ≤ 0 disables | within the tolerance **either way** (default 5 min); disabling is [`WebhookVerifier::insecure_disable_timestamp_check`]; an empty secret never verifies |
//! | webhook `v2` padding | Node strips one `=`, others all | the unpadded and the padded form both accepted |
//! | validate | token sent, answer trusted | [`ValidateChallengeRequest::new`] always sends the expected user and action, and an answer for another user or action is [`Error::TokenMismatch`] |
//! | update user | `PATCH` (Node/Python/Go/.NET/PHP), `POST` (Java/Ruby, seed `identify`) | `PATCH` ([`Client::identify`] is an alias) |
//! | get challenge | `POST /challenges` (Java/.NET), double `/v1` (Go) | `GET /challenges?…` as Node |
//! | `redirectToSettings` | Go sends `null`, .NET `false` by default | omitted unless set |
//! | response media type | Python 4.x crashes on `application/json; charset=utf-8` | any media type parsed as JSON |
//! | UK region | third-party READMEs only | no [`Region`] variant; reachable with [`ClientBuilder::base_url`] |
//! | secrets | key in a header; tokens, OTPs, recovery codes in bodies | the key and the ready-made `Basic` value live in zeroizing secret types; `Debug` never shows the key, tokens, OTP or recovery codes, magic links, webhook payload values (only their shape), nor the query of the challenge URLs; they are scrubbed from error texts — raw, JSON-escaped, percent-encoded or base64, as a server may echo them |
//!
//! The spec left some points open; the emulator and this crate take the tolerant reading:
//! re-tracking with a known key returns the stored action (never assumed to be new); a bad
//! token at `/validate` may be a 200 with `isValid: false` or a 4xx (both handled); success is
//! `isValid == true` only; timestamps are kept raw and parsed on demand; track's `crypto`
//! amounts (Go only) are sent as whatever JSON value you give ([`TrackCrypto`]); `PATCH
//! /users/{u}/devices/{d}` ([`Client::update_device`]) is in the docs but in no SDK.
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
//! ## Dependencies, and why
//!
//! | crate | why |
//! | --- | --- |
//! | `aws-lc-rs` | HMAC-SHA-256 and constant-time comparison for webhook signatures; already in the tree as rustls' crypto provider, so it costs nothing extra |
//! | `uuid` | idempotency keys generated for every track call |
//! | `base64`, `url`, `serde`, `serde_json`, `http`, `thiserror`, `tracing`, `async-trait` | Basic auth, path encoding, wire types, errors, logging |
//! | `axum`, `tokio` (feature `emulator`) | the emulator's HTTP server on a loopback port (its own thread and runtime; bounded body reads) |
//!
//! Light on purpose: no RSA, ed25519 or JOSE crate is in this crate's tree (checked by
//! `cargo xtask ci` and by `tests/dependencies.rs`).
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
    ChallengeRequest, ClaimRequest, CreateSessionRequest, EnrollVerifiedAuthenticatorRequest,
    GetChallengeRequest, OtpUri, PasskeyImport, QueryActionsRequest, QueryUsersRequest,
    TrackCrypto, TrackRequest, UpdateUserRequest, ValidateChallengeRequest,
};
pub use response::*;
pub use types::*;
pub use webhook::{AuthenticatorEvent, WebhookError, WebhookVerifier};
