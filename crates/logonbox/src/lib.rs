//! # logonbox
//!
//! A client for the **LogonBox Authenticator**, for servers that want a sign-in or a sensitive
//! action approved on the user's phone: the credential server (e.g. `corp.logonbox.directory`)
//! publishes each user's public keys and relays the request to the phone, the user taps
//! *Authorize*, and this crate **verifies the phone's signature itself, with a key it fetched
//! itself** — an approval is never taken from anyone's word.
//!
//! Both flows of the official SDKs (Java `com.nervepoint:logonbox-authenticator-java`, Python,
//! Node, PHP) are here:
//!
//! | flow | calls | use it when |
//! | --- | --- | --- |
//! | direct | [`Client::authenticate`] | your server can wait (up to the sign timeout, 180 s) while the user answers |
//! | redirect | [`Client::generate_request`] → [`Client::sign_url`] → [`Client::process_response`] | a web app: the browser goes to the credential server and comes back |
//!
//! The client is also an [`auth_core::StepUp`] provider: `start` blocks until the user answers
//! and returns the settled outcome, and the handle can be checked again anywhere.
//!
//! ## Against the emulator
//!
//! With the `emulator` feature, [`emulator::Emulator`] plays the credential server and the
//! phone over real HTTP on a loopback port, with real keys (its [`emulator::Model`] is the
//! protocol model the oob-auth emulator server serves too). This runs as it is:
//!
//! ```
//! # #[cfg(feature = "emulator")]
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use logonbox::emulator::{response_param, Emulator};
//! use logonbox::{Client, KeyType, RedirectRequest};
//!
//! let emulator = Emulator::builder()
//!     .user("lee@logonbox.com", &[KeyType::Ed25519])
//!     .start()
//!     .await?;
//! let client = Client::builder(emulator.base_url()).build()?;
//!
//! // Direct: the phone signs 128 random bytes; the client verifies.
//! let approval = client.authenticate("lee@logonbox.com").await?;
//! assert_eq!(approval.signed_data().len(), 128);
//!
//! // Redirect: keep `pending` in the session, send the browser to the sign URL.
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
//! ## Against your credential server
//!
//! ```no_run
//! # async fn run() -> Result<(), logonbox::Error> {
//! use auth_core::{Classify, ErrorKind};
//! use logonbox::{AuthRequest, Client, Error};
//!
//! let client = Client::builder("https://corp.logonbox.directory").build()?;
//! let request = AuthRequest::new("lee@logonbox.com").remote_name("Payroll");
//! match client.authenticate(request).await {
//!     Ok(approval) => println!("approved with key {}", approval.key().fingerprint()),
//!     Err(Error::Rejected { message }) => println!("the user said no: {message}"),
//!     Err(e) if e.is_not_enrolled() => println!("no LogonBox key for this user"),
//!     Err(e) if e.kind() == ErrorKind::Timeout => println!("no answer in time"),
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```
//!
//! In a web app, the redirect flow's [`PendingRequest`] goes into the user's server-side
//! session; take it out (once!) when the browser comes back to your `{response}` URL, and hand
//! it to [`Client::process_response`] with the `response` query parameter. It checks the
//! response against the request, fetches the key again and verifies the signature over the
//! request blob.
//!
//! ## Configuration and logging
//!
//! [`ClientBuilder`]: the credential server's base URL (https; plain http only for loopback
//! addresses), the transport settings every oob-auth client shares ([`auth_core::Config`]:
//! your own `reqwest::Client` or [`auth_core::HttpClient`], clock, retries, timeouts), the sign
//! timeout (how long the user may take), texts shown on the phone, allowed key types, key
//! selection, RSA hash, pending-request age. Errors are classified the oob-auth way
//! ([`auth_core::Classify`]). Logging goes through [`tracing`] (what the official SDKs'
//! debug/logger switch prints): the listing's fingerprints, skipped lines, the chosen key, the
//! outcome — never payloads or signatures.
//!
//! More in [`docs`]: the protocol step by step, every check the client makes beyond the
//! official SDKs, and the design decisions.
//!
//! ## Dependencies, and why
//!
//! | crate | why |
//! | --- | --- |
//! | `auth-core` | the shared transport, configuration, errors, step-up contract and emulator plumbing of oob-auth |
//! | `aws-lc-rs` | Ed25519 verification, RSA PKCS#1 v1.5 verification (SHA-256/SHA-512) from `(n, e)` components, SHA-256 fingerprints, CSPRNG; Ed25519/RSA signing in the emulator. One backend, the same AWS-LC rustls builds |
//! | `base64`, `url`, `serde`, `serde_json`, `http`, `thiserror`, `tracing`, `async-trait` | the SSH and base64 encodings, URLs, wire types, errors, the SDKs' logger option |
//! | `tokio` (`sync`, `time`, `macros`; feature `emulator`) | the emulated phone's wait for an answer (already in the tree through `auth-core`); the emulator's server is `auth-core`'s |
//!
//! Not used: `ed25519-dalek` (a second backend for one verification), `ssh-key` (still a
//! release candidate; the SSH wire format is a small bounds-checked module here, fuzzed in
//! `fuzz/`), `rsa`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod b64;
mod client;
pub mod docs;
#[cfg(feature = "emulator")]
pub mod emulator;
mod error;
mod key;
mod request;
mod stepup;
mod wire;

pub use client::{Approval, Client, ClientBuilder};
pub use error::Error;
pub use key::{
    AuthorizedKey, Fingerprint, KeyListing, KeySelection, KeyType, ListingError, RsaHash,
    SkipReason, SkippedLine,
};
pub use request::{AuthRequest, PendingRequest, RedirectRequest, RequestBlob, ResponseBlob};
pub use wire::WireError;
