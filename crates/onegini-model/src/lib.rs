//! # onegini-model
//!
//! An **executable model** of the Onegini mobile SDK's user authentication: the client side
//! (what the SDK does for the app: [`Client`]) and, behind the `emulator` feature, an
//! in-process **Token Server model** to run it against ([`emulator::TokenServer`]). It exists so
//! the protocol can be read, run, tested and reused. It is not Onegini's SDK.
//!
//! **Documented vs model choice.** Onegini documents the OAuth endpoints, the error codes, the
//! handler shapes, the PIN policy rules, that DCR is proven with OCRA including a timestamp
//! (ten minutes tolerance), and that a PIN is validated only by the server through the
//! refresh token it decrypts. The SDK's own wire protocol is not public: the DCR path and fields,
//! the OCRA suite (`OCRA-1:HOTP-SHA256-8:QH64-T1M`), the PIN-to-key derivation (PBKDF2 + an
//! untagged HMAC keystream), the wrong-PIN error fields, the revocation path and the fingerprint
//! registration endpoint are **this model's choices** (see [`wire`] and the spec).
//!
//! | module | what |
//! | --- | --- |
//! | [`ocra`] | RFC 6287 OCRA, complete: suites, all data inputs, one-way / mutual / signature |
//! | [`client`] | [`Client`] and the SDK-shaped handlers |
//! | [`pin`] | [`pin::Pin`], the PIN policy and its errors (9011–9014) |
//! | [`crypto`] | PIN-protected refresh token (untagged, no offline PIN test), PKCE S256 |
//! | [`storage`] | [`storage::Storage`] with memory and file implementations |
//! | [`keystore`] | [`keystore::Keystore`], the platform keystore the fingerprint token is sealed under, with [`MemoryKeystore`] |
//! | [`wire`] | serde wire types (no crypto: wasm-clean) |
//! | [`error`] | [`Error`] with the SDK's codes |
//! | [`stepup`] | [`auth_core::StepUp`]: re-authentication of a profile |
//! | [`testing`] | scripted users (PINs, fingerprints) for tests and demos |
//! | `emulator` | the Token Server model and an emulated browser (feature `emulator`) |
//!
//! ## The lifecycle
//!
//! ```text
//! start (profiles removed on the server) ─> DCR (automatic) ─> registerUser: browser → IdP login → consent → redirect
//!           ─> code + PKCE at the token endpoint ─> PIN creation ─> authenticated
//! authenticateUser (PIN / fingerprint = refresh grant) ─> authenticated ─> logout (refresh token kept)
//! deregisterUser ─> that profile gone (credentials and other profiles kept)
//! ```
//!
//! ## Example: the whole lifecycle against the Token Server model
//!
//! ```
//! # #[cfg(feature = "emulator")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use onegini_model::emulator::{AppConfig, AppVersion, Consent, TokenServer};
//! use onegini_model::testing::ScriptedUser;
//! use onegini_model::{ApplicationSignature, Client, ClientConfig, MemoryStorage};
//!
//! // The Token Server, with one app version and one IdP user.
//! let signature = ApplicationSignature::new("3F:1A:…:signing-cert-sha256");
//! let app = AppConfig::new(
//!     "ExampleApp",
//!     "oneginiexample://loginsuccess",
//!     AppVersion::new("1.0.0", "android", signature.clone()),
//! )?;
//! let server = TokenServer::start(app, auth_core::clock::system_clock()).await;
//! server.add_user("alice", "correct horse");
//!
//! // The app's client.
//! let config = ClientConfig::builder()
//!     .app_identifier("ExampleApp")
//!     .app_platform("android")
//!     .app_version("1.0.0")
//!     .signature(signature)
//!     .redirect_uri("oneginiexample://loginsuccess")
//!     .pbkdf2_iterations(1_000)
//!     .build()?;
//! let client = Client::builder(config, Arc::new(MemoryStorage::new()))
//!     .base_url(server.base_url()?)
//!     .build()?;
//!
//! // Register: the browser logs in and consents; the user creates a PIN.
//! let browser = server.browser("alice", "correct horse", Consent::Allow)?;
//! let user = ScriptedUser::typing(["12345", "31415"]); // the first is a sequence (9012)
//! let profile = client.register_user(&["read"], &browser, &user).await?;
//! assert_eq!(client.authenticated_user_profile(), Some(profile.clone()));
//!
//! // Log out (the refresh token stays), log in again with the PIN, no browser.
//! client.logout().await?;
//! user.then_type(["31415"]);
//! client.authenticate_user(&profile, &user, None).await?;
//! assert!(client.fetch_user_resource().await.is_ok());
//!
//! // Deregister.
//! client.deregister_user(&profile).await?;
//! assert!(client.user_profiles()?.is_empty());
//! # Ok(()) }
//! # #[cfg(not(feature = "emulator"))]
//! # fn main() {}
//! ```
//!
//! ## Not modelled (yet)
//!
//! Mobile authentication (push/OTP enrollment, spec §1.11), custom registration,
//! `INVALID_DATETIME` (9031), the
//! `client_credentials` grant, persistent consent, ID tokens and PrivateKeyJWT client
//! authentication.
//!
//! ## Security properties the model keeps
//!
//! * The PIN never leaves the device and is never stored; [`pin::Pin`] is zeroized on drop.
//! * The stored refresh token carries no tag: a wrong PIN gives a well-formed wrong candidate,
//!   so only the server (with its attempt counter) can tell. Fresh salt on every re-encryption.
//! * The access token lives only in memory; secrets never appear in `Debug`, `Display` or errors.
//!   Whatever the server answers is scrubbed, before it reaches an error, of every secret the
//!   request sent (client secret and its Basic header, tokens, PIN-derived refresh-token
//!   candidates, PKCE verifier, code) in every spelling `auth_core::error::scrub_secrets` knows.
//! * The fingerprint refresh token is stored only sealed by the platform [`Keystore`], under
//!   a key the storage does not hold: a copy of the storage on another device cannot use it.
//! * OCRA responses, client secrets, refresh-token secrets and every [`wire::SecretField`] are
//!   compared in constant time.
//! * Every time comes from an [`auth_core::Clock`]; tests move time with `FakeClock`.
//!
//! ## Cost
//!
//! Measured only in criterion benchmarks (`cargo bench -p onegini-model`, `benches/crypto.rs`):
//! OCRA suite parsing and computation, the server's ±10-step DCR window check, and sealing /
//! opening the PIN-protected refresh token, whose cost is PBKDF2's (linear in the iteration
//! count of [`ClientConfigBuilder::pbkdf2_iterations`]).
//!
//! ## Dependencies, and why
//!
//! | crate | why |
//! | --- | --- |
//! | `aws-lc-rs` | HMAC-SHA1/256/512 for OCRA, PBKDF2 for the PIN-protected refresh token, SHA-256 for PKCE, CSPRNG |
//! | `zeroize` | PINs, refresh-token secrets and derived keys are wiped |
//! | `base64`, `url`, `serde`, `serde_json`, `http`, `thiserror`, `async-trait` | wire types (kept free of crypto types), handlers as async traits |
//! | `wiremock` (feature `emulator`) | the Token Server model's HTTP on a loopback port |
//!
//! The refresh token's PIN protection is deliberately *untagged* (no AEAD such as AES-GCM), so
//! a wrong PIN cannot be told from the right one offline; see the `crypto` module.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod crypto;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod error;
pub mod hex;
pub mod keystore;
pub mod ocra;
pub mod pin;
pub mod stepup;
pub mod storage;
pub mod testing;
pub mod wire;

pub use client::{
    ApplicationSignature, AttemptCounter, Authenticator, BrowserRegistrationAnswer,
    BrowserRegistrationHandler, Client, ClientBuilder, ClientConfig, ClientConfigBuilder, ClientId,
    CreatePinHandler, FingerprintHandler, FingerprintScan, PinAnswer, PinAuthenticationHandler,
    UserProfile,
};
pub use error::Error;
pub use keystore::{Keystore, MemoryKeystore};
pub use ocra::{OcraError, OcraInputs, OcraSuite};
pub use pin::{Pin, PinPolicy, PinValidationError};
pub use stepup::OneginiStepUp;
pub use storage::{FileStorage, MemoryStorage, Storage};
