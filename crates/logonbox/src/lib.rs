//! # logonbox
//!
//! A client for the **LogonBox Authenticator**: the user approves a sign-in on their phone, and
//! your server checks the phone's signature itself. The credential server (e.g.
//! `corp.logonbox.directory`) publishes each user's public keys and relays the signing request to
//! the phone; this crate reads the keys, asks for the signature and **verifies it locally with
//! a key it fetched itself** — an approval is never taken from anyone's word.
//!
//! Both flows of the official SDKs (Java `com.nervepoint:logonbox-authenticator-java`, Python,
//! Node, PHP) are here:
//!
//! | flow | calls | use it when |
//! | --- | --- | --- |
//! | direct | [`Client::authenticate`] | your server can wait (up to the sign timeout) while the user answers |
//! | redirect | [`Client::generate_request`] → [`Client::sign_url`] → [`Client::process_response`] | a web app: the browser goes to the credential server and comes back |
//!
//! The client also implements [`auth_core::StepUp`] (see [`stepup`]).
//!
//! ## The direct flow
//!
//! ```no_run
//! # async fn run() -> Result<(), logonbox::Error> {
//! use logonbox::{AuthRequest, Client, Error};
//!
//! let client = Client::builder("https://corp.logonbox.directory").build()?;
//! let request = AuthRequest::new("lee@logonbox.com").remote_name("Payroll");
//! match client.authenticate(request).await {
//!     Ok(approval) => println!("approved with key {}", approval.key().fingerprint()),
//!     Err(Error::Rejected { message }) => println!("the user said no: {message}"),
//!     Err(e) if e.is_not_enrolled() => println!("no LogonBox key for this user"),
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```
//!
//! What happens: `GET /app/api/authenticator/keys/{principal}` (the user's `authorized_keys`),
//! one key is chosen ([`KeySelection`]: ed25519 first, else RSA), 128 random bytes are sent with
//! `POST /app/api/authenticator/signPayload` (it blocks until the user answers), and the returned
//! signature is verified: ed25519, or RSA PKCS#1 v1.5 with SHA-512 (flags 4; SHA-256 with flags
//! 2 on request). SHA-1 is never accepted. Only one key is ever asked, so the user is never
//! prompted twice.
//!
//! ## The redirect flow
//!
//! ```no_run
//! # async fn run(client: logonbox::Client, response_param: String) -> Result<(), logonbox::Error> {
//! use logonbox::RedirectRequest;
//!
//! // 1. On "sign in": make the request, keep it in the session, redirect the browser.
//! let pending = client
//!     .generate_request(RedirectRequest::new(
//!         "lee@logonbox.com",
//!         "https://app.example.com/logonbox/finish?response={response}",
//!     ))
//!     .await?;
//! let redirect_to = client.sign_url(&pending);
//! # let _ = redirect_to;
//!
//! // 2. On /logonbox/finish?response=…: take the request out of the session (once!), check.
//! let approval = client.process_response(pending, &response_param).await?;
//! println!("{} signed in", approval.principal());
//! # Ok(()) }
//! ```
//!
//! Beyond the official SDKs, [`Client::process_response`] checks that the response's user, key
//! fingerprint and flags are the request's (no official client does: without it a response
//! signed by *another* user's key over the same blob verifies), consumes the
//! [`PendingRequest`], refuses one older than 5 minutes and, within that time, one that already
//! produced an approval on this client ([`Error::RequestAlreadyUsed`]: a session kept in a
//! signed cookie can be presented twice). A `PendingRequest` read back from
//! a session store is checked against its own blob, and the `response` parameter is accepted
//! as base64url or standard base64, padded or not, even if URL handling mangled `+` or `=`.
//!
//! ## Against the emulator
//!
//! With the `emulator` feature, [`emulator::Emulator`] is a credential server and phone over
//! real HTTP on a loopback port, with real keys:
//!
//! ```
//! # #[cfg(feature = "emulator")]
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use logonbox::emulator::{response_param, Emulator};
//! use logonbox::{KeyType, RedirectRequest};
//!
//! let emulator = Emulator::start().await;
//! emulator.add_user("lee@logonbox.com", &[KeyType::Ed25519])?;
//! let client = emulator.client_builder().build()?;
//!
//! let approval = client.authenticate("lee@logonbox.com").await?;
//! assert_eq!(approval.signed_data().len(), 128);
//!
//! let pending = client
//!     .generate_request(RedirectRequest::new(
//!         "lee@logonbox.com",
//!         "http://127.0.0.1/finish?response={response}",
//!     ))
//!     .await?;
//! let back = emulator.follow_sign_url(&client.sign_url(&pending)).await?;
//! let response = response_param(&back).unwrap();
//! let approval = client.process_response(pending, &response).await?;
//! assert_eq!(approval.principal(), "lee@logonbox.com");
//! # Ok(()) }
//! # #[cfg(not(feature = "emulator"))] fn main() {}
//! ```
//!
//! ## Configuration and logging
//!
//! [`ClientBuilder`]: the credential server's base URL (https; plain http only for loopback
//! addresses), the transport settings every oob-auth client shares ([`auth_core::Config`]:
//! your own `reqwest::Client` or [`auth_core::HttpClient`], clock, retries, timeouts), the sign
//! timeout (how long the user may take), texts shown on the phone, allowed key types, key
//! selection, RSA hash, pending-request age.
//! Logging goes through [`tracing`] (what the official SDKs' debug/logger switch prints): the
//! listing's fingerprints, skipped lines, the chosen key, the outcome — never payloads or
//! signatures.
//!
//! Wire reference: `shared/specs/logonbox.md` of the oob-auth workspace.
//!
//! ## Dependencies, and why
//!
//! | crate | why |
//! | --- | --- |
//! | `aws-lc-rs` | Ed25519 verification, RSA PKCS#1 v1.5 verification (SHA-256/SHA-512) from `(n, e)` components, SHA-256 fingerprints, CSPRNG; Ed25519/RSA signing in the emulator. One backend, the same AWS-LC rustls builds |
//! | `base64`, `url`, `serde`, `serde_json`, `http`, `thiserror`, `tracing`, `async-trait` | the SSH and base64 encodings, URLs, wire types, errors, the SDKs' logger option |
//! | `wiremock` (feature `emulator`) | the credential server's HTTP on a loopback port |
//!
//! Not used: `ed25519-dalek` (a second backend for one verification), `ssh-key` (still a release
//! candidate; the SSH wire format is a small bounds-checked module here (`wire`), fuzzed in `fuzz/`), `rsa`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod b64;
pub mod client;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod error;
pub mod key;
pub mod request;
pub mod stepup;
mod wire;

pub use client::{Approval, Client, ClientBuilder};
pub use error::Error;
pub use key::{
    AuthorizedKey, FLAGS_ED25519, FLAGS_RSA_SHA2_256, FLAGS_RSA_SHA2_512, Fingerprint, KeyListing,
    KeySelection, KeyType, ListingError, RsaHash, SkipReason, SkippedLine,
};
pub use request::{
    AuthRequest, DEFAULT_AUTHORIZE_TEXT, DEFAULT_PROMPT_TEXT, DEFAULT_REMOTE_NAME, PendingRequest,
    RedirectRequest, RequestBlob, ResponseBlob, replace_placeholders,
};
pub use wire::WireError;
