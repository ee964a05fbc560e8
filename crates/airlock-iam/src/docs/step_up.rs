//! [`auth_core::StepUp`] for Airlock IAM: raising a logged-in user's authentication level by
//! accessing an application whose flow requires Airlock 2FA.
//!
//! Airlock has no "send this message to the phone" API in the Loginapp: a step-up is the flow
//! engine asking for the second factor when the user's session accesses a more demanding
//! application (documented S19: an application's authentication flow "raises the authentication
//! level"). So the step-up needs the application
//! ([`ClientBuilder::step_up_application`](crate::ClientBuilder::step_up_application)) and
//! the user's existing Loginapp session: hand it over with [`Client::attach_session`](crate::Client::attach_session) after the
//! login. [`StepUpRequest::title`](auth_core::StepUpRequest::title) and [`StepUpRequest::message`](auth_core::StepUpRequest::message) cannot be shown on the phone
//! (no such parameter in the Loginapp REST API); they are ignored.
//!
//! **The handle is portable.** Its `state` carries the step-up's flow: the Loginapp it belongs
//! to, the session cookies, the `X-Same-Domain` value, the step, the application, and what the
//! user needs to answer (the mobile-only `mobileAuthUri`, an online QR code). Another
//! [`Client`](crate::Client) of the same Loginapp — another process, or this one after a restart — checks it:
//! the state is validated like any saved flow ([`Client::resume`](crate::Client::resume)) before anything is sent.
//! Because it holds the session, a serialized handle is a secret: keep it where the user cannot
//! read or edit it (a server-side session store), as you would the session itself. Its `Debug`
//! redacts the state.
//!
//! Answers are always the server's: an approval is a status poll that finished the flow, or an
//! application access that is authorized now (when the poll finds the flow already over:
//! another process collected the approval, or the app drove an offline passcode through
//! [`Client::step_up_flow`](crate::Client::step_up_flow)). After an approval, the checking client holds the user's upgraded
//! session ([`Client::session`](crate::Client::session)). Cookies the server changes while polling are not written
//! back into the handle (a handle is read, never rewritten); the Loginapp keeps its session
//! cookie for the flow (unconfirmed, spec §3.3).
//!
//! ```
//! # #[cfg(all(feature = "emulator", feature = "reqwest"))]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), airlock_iam::Error> {
//! use airlock_iam::{ApplicationId, Client, Password};
//! use auth_core::stepup::{Started, StepUp, StepUpHandle, StepUpRequest};
//! # let emulator = airlock_iam::emulator::Emulator::start().await.unwrap();
//! # let url = emulator.base_url().to_string();
//!
//! let app = |id| ApplicationId::new(id).unwrap();
//! let client = Client::builder(url.as_str())
//!     .target_application(app("portal")) // users log in here (password only)
//!     .step_up_application(app("ebanking")) // and step up here (Airlock 2FA)
//!     .build()?;
//! let login = client.flow();
//! login.start().await?;
//! login.check_password("alice", &Password::new("password1")).await?;
//! client.attach_session("alice", login.save());
//!
//! let Started::Pending(handle) = client.start(StepUpRequest::new("alice", "Pay", "Pay 120 EUR?")).await? else {
//!     unreachable!("alice is not authorized for ebanking yet")
//! };
//! let stored = serde_json::to_string(&handle).unwrap(); // keep it server-side: it holds the session
//! # emulator.approve("alice"); // alice taps "Approve" on her phone
//!
//! // Later, perhaps in another process: a fresh client of the same Loginapp.
//! let other = Client::builder(url.as_str()).step_up_application(app("ebanking")).build()?;
//! let handle: StepUpHandle = serde_json::from_str(&stored).unwrap();
//! let outcome = other.wait(&handle, &auth_core::PollConfig::default()).await?;
//! assert!(outcome.is_approved());
//! assert!(other.session("alice").is_some()); // the upgraded session
//! # Ok(()) }
//! # #[cfg(not(all(feature = "emulator", feature = "reqwest")))]
//! # fn main() {}
//! ```
