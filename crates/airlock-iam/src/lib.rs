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
//! # let emulator = airlock_iam::emulator::Emulator::start().await;
//! # let loginapp_url = emulator.loginapp_url();
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
//! ## Decisions
//!
//! The spec (`shared/specs/airlock-iam.md`) tags each fact; for every point it marks
//! *unconfirmed* this crate decided as follows (the emulator follows the same choices and labels
//! them *model choice*; none of them is a claim about Airlock). Spec sections in parentheses.
//!
//! - **Session binding** (§1.1, §9 #3): flow state is assumed to live in a cookie-bound server
//!   session. A generic per-flow [`CookieJar`] stores and echoes every cookie; no cookie name
//!   appears in the client. The jar implements the RFC 6265 subset that matters for isolation:
//!   host-only cookies go to their host only, a `Domain` must cover the answering host and may
//!   not be a single label (`com`; a stand-in for the public-suffix list), IP hosts match only
//!   themselves, `Path` and `Secure` are honoured, expiry arithmetic is clamped (a hostile
//!   `Max-Age` cannot overflow). At most [`cookie::MAX_COOKIES`] per flow.
//! - **Saved flows** (the issue's resume requirement): [`SavedFlow`] is versioned
//!   ([`SavedFlow::VERSION`]); [`Client::resume`] refuses another version, cookies with
//!   invalid names/values/paths, cookies whose domain the client's Loginapp host does not belong
//!   to (a flow saved for another Loginapp is refused, never sent anywhere) and bad session ids,
//!   before anything is sent.
//! - **Paths** (§1.6, §1.7, §1.8, §1.10, §1.11, §9 #1) of the offline switch, passcode check
//!   (body key `otp`, not `passcode`), QR retrieval, device selection (`devices/{deviceId}/select/`,
//!   not the body form the emulator also accepts), password change and logout are in
//!   [`Endpoints`], each overridable; the trailing-slash form is sent. A device id may not be
//!   `.`/`..` ([`DeviceId`]), so it can never re-target the selection call.
//! - **Step codes** (§5.1, §9 #4, #5): [`NextAuthStep`] has only the documented/observed codes;
//!   everything else (including the emulator's `AIRLOCK_2FA_OTP_REQUIRED` and
//!   `PASSWORD_CHANGE_REQUIRED`) is [`NextAuthStep::Other`], with the raw attributes in
//!   [`StepResponse::attributes`]. Both polling codes mean "poll again" in every flow. After a
//!   mobile-only challenge retrieval (a document without `nextAuthStep`) the flow's state is
//!   set to `AIRLOCK_2FA_POLLING_REQUIRED`, as in the observed transcript; a QR retrieval
//!   leaves the state as it was (it only fetches the code of the current step).
//! - **Error codes** (§1.4, §6.1, §9 #2): a rejected / timed-out 2FA and a missing CSRF header
//!   are recognised by the emulator's codes (`AIRLOCK_2FA_AUTHENTICATION_REJECTED`,
//!   `AIRLOCK_2FA_AUTHENTICATION_TIMEOUT`, `CSRF_HEADER_MISSING`); a real server's other codes
//!   arrive as [`Error::Api`] with [`ErrorCode::Other`] and end polling all the same. Codes are
//!   classified by `errors[0].code` whatever the HTTP status (the status of `UNEXPECTED_CALL` is
//!   unconfirmed). `meta.nextAuthStep` on any error document moves the flow's state.
//! - **Error members** (§3.5, §9 #7): `title`, `detail` and per-error `meta` are kept when
//!   present ([`ApiError`]); unknown members are ignored everywhere. Every string of an error
//!   document is scrubbed of the call's password/OTP and the flow's cookie values before it
//!   reaches an [`Error`], so a server echoing input cannot leak a secret into a message.
//! - **Media type** (§9 #6): bodies are parsed as JSON whatever the `Content-Type`;
//!   `errors[].status` may be a number or a string; `data.id` a string or a number. A non-2xx
//!   body that is no error document is [`auth_core::Error::Status`] in [`Error::Core`] (truncated, scrubbed).
//! - **Timestamps**: RFC 3339 with an offset, `+0200` tolerated
//!   ([`auth_core::time::Timestamp`]); anything
//!   else is a decode error naming the JSON path. Decode messages never quote the offending
//!   value (it could be a secret).
//! - **Polling** (§1.12): no interval is documented; every 1.5 s for at most 3 minutes by
//!   default ([`ClientBuilder::poll_config`]), with auth-core's poller (deadline,
//!   cancellation via [`Flow::wait_or_cancel`]). Only the status poll is ever retried by the
//!   transport ([`auth_core::Replay::SideEffectFree`]); the password, OTP, device-selection and
//!   offline-switch calls are sent once (a retry could send a second push or count a failure).
//!   A 429 that outlasts the retries is [`Error::RateLimited`]; while polling (also through
//!   the step-up's `check`) it keeps the flow pending, waiting `Retry-After` (or 5 s), until the
//!   deadline — the rule of every provider crate.
//! - **Device list and QR** (§1.6, §1.8, §9 #8): every device attribute but `id` is optional
//!   ([`Device`]); the QR image is read from `qrCode` ([`QrCode`]), other shapes stay in the raw
//!   attributes.
//! - **Mandatory password change** (§1.10): `password/change/` with `oldPassword` (optional)
//!   and `newPassword` ([`Flow::change_password`]); its step code arrives as
//!   [`NextAuthStep::Other`].
//! - **Application access after completion** (§1.2, §9 #9): a 2xx answer to an access call is
//!   read as "authorized" ([`FlowState::Done`]); 401 `NOT_AUTHORIZED` with `meta.nextAuthStep`
//!   as "the flow continues there". No "final session / redirect" call was found (§1.11): a
//!   client confirms with [`Flow::access_application`].
//! - **Abort** (§1.11): no public logout was found; [`Flow::abort`] sends `POST public/logout/`
//!   (overridable) and then drops the cookies whatever the answer (404/405/`UNEXPECTED_CALL`
//!   count as "no such call", `Ok(false)`), so the next call starts a new server session.
//! - **Step-up** (§1.1, S19): an access to a 2FA application
//!   ([`ClientBuilder::step_up_application`]) from the user's logged-in session
//!   ([`Client::attach_session`]); the request's title and message cannot be shown on the
//!   phone. The handle's state carries the flow (Loginapp, cookies, `X-Same-Domain`, step) and
//!   the `mobileAuthUri` / QR code, so any client of the same Loginapp checks it after
//!   validating it ([`Client::resume`]'s rules); `Debug` redacts the state, but serialized it
//!   holds the session: store it server-side. An approval is always the server's answer (a
//!   finished poll, or an authorized application access).
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
//! | `wiremock`, `tokio` (feature `emulator`) | the emulator's HTTP server on a loopback port |
//!
//! No cryptography of its own, and no reqwest cookie store: each flow keeps its own jar, so
//! concurrent flows never share a session.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod cookie;
pub mod document;
pub mod endpoints;
pub mod error;
pub mod limits;
pub mod model;
pub mod stepup;

#[cfg(feature = "emulator")]
pub mod emulator;

pub use client::{Client, ClientBuilder, Flow, SavedFlow, X_SAME_DOMAIN};
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
pub use stepup::PROVIDER;

/// Re-exported: polling configuration and status, as used by [`Flow::wait_with`] and
/// [`Flow::poll`].
pub use auth_core::poll::{PollConfig, PollStatus};
