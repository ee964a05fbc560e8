//! # airlock-iam
//!
//! A Rust client for the **Airlock IAM Loginapp REST authentication API**, for applications that
//! log their users in (or raise their authentication level) through an Airlock IAM Loginapp:
//! the password step, then Airlock 2FA (mobile-only, One-Touch, passcode, QR, device choice) or
//! a generic OTP, until the flow is done. Built on [`auth_core`]; with feature `emulator`, a
//! Loginapp emulator (a protocol model) for tests and demos.
//!
//! ## The model
//!
//! The Loginapp is a flow engine: every call performs one step and names the next one in
//! `nextAuthStep` ([`NextAuthStep`]); a step response with empty attributes means the flow is
//! finished ([`FlowState::Done`]). Flow state lives in a server session bound to cookies, so
//! each authentication flow is a [`Flow`] with **its own cookie jar** ([`CookieJar`]): two
//! users' flows never share cookies. A web application can [`Flow::save`] a flow between two
//! of its own HTTP requests and [`Client::resume`] it later.
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
//! use airlock_iam::{Client, FlowState, NextAuthStep, Password};
//! # let emulator = airlock_iam::emulator::Emulator::start().await.unwrap();
//! # let loginapp_url = emulator.base_url().to_string();
//!
//! let client = Client::builder(&loginapp_url).build()?; // e.g. "https://iam.example.com/auth"
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
//! | offline QR, after [`Flow::switch_to_offline`] (the step's `qrCode`; code unconfirmed) | [`Flow::retrieve_qr_code`] to fetch it again, [`Flow::check_passcode`] |
//! | online QR (a polling step with a `qrCode`; unconfirmed) | [`Flow::wait`] ([`Flow::retrieve_qr_code`] fetches the code again) |
//! | mandatory password change (code unconfirmed) | [`Flow::change_password`] |
//! | anything else | [`NextAuthStep::Other`]: read [`StepResponse::attributes`], drive it yourself |
//!
//! Flows can start with an application access ([`Flow::start`],
//! [`Flow::access_application`]: 401 `NOT_AUTHORIZED` + `meta.nextAuthStep` is the normal start
//! and comes back as `Ok(FlowState::Next(..))`) or directly with the password check.
//! [`Flow::abort`] ends a flow. [`Client`] implements [`auth_core::StepUp`] (a step-up is an
//! access to a 2FA application with the user's logged-in session; its handle is portable).
//!
//! ## Step-up
//!
//! [`Client`] implements [`auth_core::StepUp`], the one step-up contract of every oob-auth
//! provider: a step-up is an access to a more demanding application
//! ([`ClientBuilder::step_up_application`]) with the user's logged-in session
//! ([`Client::attach_session`]). The handle is portable: another client of the same Loginapp
//! (another process, or after a restart) checks it. See [`docs::step_up`].
//!
//! ## Errors, configuration
//!
//! [`Error`] implements [`auth_core::Classify`] (kind, HTTP status, the Loginapp's error code,
//! retry hint); a 429 keeps polling pending. [`ClientBuilder::config`] takes the transport
//! settings (HTTP client, clock, retries, timeouts, limits) from one [`auth_core::Config`]
//! shared by every provider. The numbers the client lives by are in [`limits`].
//!
//! ## Testing your integration
//!
//! The `emulator` feature provides [`emulator::Emulator`]: the Loginapp REST API as a protocol
//! model, on a loopback port or in process, where a test plays the user's phone.
//!
//! ## More
//!
//! [`docs`]: the step-up ([`docs::step_up`]) and every decision taken where the Airlock
//! documentation is silent ([`docs::decisions`]).
//!
//! ## Cargo features
//!
//! * `reqwest` (default): the reqwest + rustls HTTP client. Without it, pass your own
//!   [`auth_core::HttpClient`] with [`ClientBuilder::http_client`].
//! * `emulator`: the Loginapp emulator (a protocol model, and a loopback server for it).
//!
//! ## Dependencies, and why
//!
//! | crate | why |
//! | --- | --- |
//! | `auth-core` | transport, configuration, errors, ids, timestamps, path encoding, polling, the step-up contract |
//! | `url` | cookie domain/path matching |
//! | `httpdate` | cookie `Expires` dates |
//! | `serde`, `serde_json`, `http`, `thiserror`, `tracing` | documents, transport types, errors, logging |
//! | `fastrand` | step-up handle ids (opaque, bound to their user; not a secret) |
//! | auth-core's `emulator` feature (feature `emulator`) | the emulator's model trait, control vocabulary and loopback server |
//!
//! No cryptography of its own, and no reqwest cookie store: each flow keeps its own jar, so
//! concurrent flows never share a session.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod cookie;
pub mod docs;
mod document;
#[cfg(feature = "emulator")]
pub mod emulator;
mod endpoints;
mod error;
pub mod limits;
mod model;
mod stepup;

pub use client::{Client, ClientBuilder, Flow, SavedFlow};
pub use cookie::{Cookie, CookieJar};
pub use document::{
    ApiError, Device, DocumentMeta, ErrorDocument, MobileAuthUri, MobileOnlyChallenge, QrCode,
    StepResponse,
};
pub use endpoints::Endpoints;
pub use error::Error;
pub use model::{
    ApplicationId, DeviceId, ErrorCode, FlowState, NextAuthStep, Otp, Password, SessionToken,
};
pub use stepup::PROVIDER;
