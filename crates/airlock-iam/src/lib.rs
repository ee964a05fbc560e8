//! # airlock-iam
//!
//! A Rust client for the **Airlock IAM Loginapp REST authentication API**: the password step,
//! then Airlock 2FA (mobile-only, One-Touch, passcode, QR, device choice) or a generic OTP,
//! until the flow is done. Built on [`auth_core`]; with feature `emulator`, a Loginapp emulator
//! over real loopback HTTP for tests and demos.
//!
//! ## The model
//!
//! The Loginapp is a flow engine: every call performs one step and names the next one in
//! `nextAuthStep` ([`NextAuthStep`]); a step response with empty attributes means the flow is
//! finished ([`FlowState::Done`]). Flow state lives in a server session bound to cookies, so
//! each authentication flow is a [`Flow`] with **its own cookie jar** ([`CookieJar`]): two
//! users' flows never share cookies. A web application can [`Flow::save`] a flow between two
//! of its own HTTP requests and [`AirlockClient::resume`] it later.
//!
//! Every request carries `X-Same-Domain` (the Loginapp's CSRF protection) and
//! `Content-Type: application/json`. Error documents become typed [`Error`]s
//! ([`Error::WrongPassword`] with its temporary-lock expiry, [`Error::UserLocked`],
//! [`Error::TemporarilyLocked`], [`Error::WrongOtp`], [`Error::UnexpectedCall`],
//! [`Error::Rejected`], [`Error::TimedOut`], [`Error::CsrfHeaderMissing`]; unknown codes in
//! [`Error::Api`] with [`ErrorCode::Other`]). Passwords, OTPs, cookies and the `mobileAuthUri`
//! never appear in `Debug`, `Display`, logs or errors.
//!
//! ## Mobile-only, step by step
//!
//! The user logs in on their phone; the business app opens the `mobileAuthUri` (app-to-app) or
//! hands its session token and user id to the Futurae SDK; the client polls until approved.
//!
//! ```
//! # #[cfg(all(feature = "emulator", feature = "reqwest"))]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), airlock_iam::Error> {
//! use airlock_iam::{AirlockClient, FlowState, NextAuthStep, Password};
//! # let emulator = airlock_iam::emulator::Emulator::start().await;
//! # let loginapp_url = emulator.loginapp_url();
//!
//! let client = AirlockClient::new(&loginapp_url)?; // e.g. "https://iam.example.com/auth"
//! let flow = client.flow();
//!
//! // 1. password/check → AIRLOCK_2FA_MOBILE_ONLY_CHALLENGE_RETRIEVAL_REQUIRED
//! let step = flow.check_password("jdoe", &Password::new("password1")).await?;
//! assert_eq!(step.next, Some(NextAuthStep::Airlock2faMobileOnlyChallengeRetrievalRequired));
//!
//! // 2. mobile-only/challenge/retrieve → mobileAuthUri (hand it to the app)
//! let challenge = flow.retrieve_mobile_only_challenge().await?;
//! let futurae_user = challenge.uri.user_id();
//! # assert!(!futurae_user.is_empty());
//! # emulator.approve_session_token(challenge.uri.session_token().expose_secret());
//!
//! // 3. status/poll until the user approved on the phone → attributes {} (done)
//! let done = flow.wait().await?;
//! assert!(done.is_done());
//! assert_eq!(flow.state(), FlowState::Done);
//! # Ok(()) }
//! # #[cfg(not(all(feature = "emulator", feature = "reqwest")))]
//! # fn main() {}
//! ```
//!
//! ## The other variants
//!
//! | `nextAuthStep` | call |
//! | --- | --- |
//! | `AIRLOCK_2FA_POLLING_OR_OFFLINE_REQUIRED` (One-Touch, push sent) | [`Flow::wait`], or [`Flow::switch_to_offline`] then [`Flow::check_passcode`] |
//! | `AIRLOCK_2FA_DEVICE_CHOICE_REQUIRED` | [`Flow::retrieve_devices`], [`Flow::select_device`] |
//! | `AIRLOCK_2FA_MOBILE_ONLY_CHALLENGE_RETRIEVAL_REQUIRED` | [`Flow::retrieve_mobile_only_challenge`], [`Flow::wait`] |
//! | `OTP_REQUIRED`, `MTAN_OTP_REQUIRED` | [`Flow::check_otp`] |
//! | online QR (code unconfirmed) | [`Flow::retrieve_qr_code`], [`Flow::wait`] |
//! | mandatory password change (code unconfirmed) | [`Flow::change_password`] |
//! | anything else | [`NextAuthStep::Other`]: read [`StepResponse::attributes`], drive it yourself |
//!
//! Flows can start with an application access ([`Flow::start`],
//! [`Flow::access_application`]: 401 `NOT_AUTHORIZED` + `meta.nextAuthStep` is the normal start
//! and comes back as `Ok(FlowState::Next(..))`) or directly with the password check.
//! [`Flow::abort`] ends a flow. [`AirlockStepUp`] implements [`auth_core::StepUp`].
//!
//! ## Where the public documentation is silent
//!
//! The spec (`shared/specs/airlock-iam.md`) tags each fact; for the unconfirmed ones this crate
//! decided as follows (the emulator follows the same choices, labelled *model choice*):
//!
//! - **Paths** of the offline switch, passcode check (body key `otp`), QR retrieval, device
//!   selection (`devices/{deviceId}/select/`), password change and logout are in [`Endpoints`],
//!   overridable; the trailing-slash form is sent.
//! - **Step codes**: [`NextAuthStep`] has only the documented/observed codes; everything else
//!   (including the emulator's `AIRLOCK_2FA_OTP_REQUIRED`, `AIRLOCK_2FA_QR_CODE_RETRIEVAL_REQUIRED`,
//!   `PASSWORD_CHANGE_REQUIRED`) is [`NextAuthStep::Other`]. Both polling codes mean "poll
//!   again" in every flow. After a challenge or QR retrieval (documents without
//!   `nextAuthStep`) the flow's state is set to `AIRLOCK_2FA_POLLING_REQUIRED`.
//! - **Error codes** for a rejected / timed-out 2FA and a missing CSRF header are the emulator's
//!   (`AIRLOCK_2FA_AUTHENTICATION_REJECTED`, `AIRLOCK_2FA_AUTHENTICATION_TIMEOUT`,
//!   `CSRF_HEADER_MISSING`); a real server's other codes arrive as [`Error::Api`] and end polling
//!   all the same. `meta.nextAuthStep` on any error document moves the flow's state.
//! - **Cookies**: a generic per-flow jar, no cookie name anywhere in the client.
//! - **Media type**: bodies are parsed as JSON whatever the `Content-Type`; unknown members are
//!   ignored; `errors[].status` may be a number or a string; `data.id` a string or a number.
//! - **Timestamps**: RFC 3339, or any ISO-8601 form with an offset; anything else is a decode
//!   error naming the JSON path.
//! - **Polling**: every 1.5 s for at most 3 minutes by default ([`AirlockClient::builder`]);
//!   only the status poll is ever retried by the transport.
//! - **Abort**: `POST public/logout/`, then the cookies are dropped whatever the answer
//!   ([`Flow::abort`]).
//! - **Device list**: every attribute but `id` optional ([`Device`]); QR image read from
//!   `qrCode` ([`QrCode`]).
//! - **Step-up**: an access to a 2FA application from the user's logged-in session
//!   ([`AirlockStepUp`]); the request's title and message cannot be shown on the phone.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod cookie;
pub mod document;
pub mod endpoints;
pub mod error;
pub mod model;
pub mod stepup;
pub mod timestamp;

#[cfg(feature = "emulator")]
pub mod emulator;

pub use client::{AirlockClient, AirlockClientBuilder, Flow, SavedFlow, X_SAME_DOMAIN};
pub use cookie::{Cookie, CookieJar};
pub use document::{
    ApiError, Device, DocumentMeta, ErrorDocument, MobileAuthUri, MobileOnlyChallenge, QrCode,
    Resource, StepResponse,
};
pub use endpoints::Endpoints;
pub use error::Error;
pub use model::{
    ApplicationId, DeviceId, ErrorCode, FlowState, NextAuthStep, Otp, Password, SessionToken,
};
pub use stepup::AirlockStepUp;
pub use timestamp::Timestamp;

/// Re-exported: polling configuration and status, as used by [`Flow::wait_with`] and
/// [`Flow::poll`].
pub use auth_core::poll::{PollConfig, PollStatus};
