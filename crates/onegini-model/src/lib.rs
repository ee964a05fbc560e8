//! # onegini-model
//!
//! An **executable model** of the Onegini mobile SDK's user authentication, for people who
//! need to read, run or test that protocol: the client side ([`Client`]: what the SDK does
//! for the app) and, behind the `emulator` feature, a **Token Server model** to run it
//! against (`emulator`, with its IdP's login and consent pages). It is not Onegini's SDK:
//! where Onegini does not document its wire protocol, the model makes a choice and says so
//! ([`docs::model_choices`]).
//!
//! What the client does, like the SDK: dynamic client registration proven with OCRA
//! (automatic), user registration through the browser (authorization code + PKCE), PIN
//! creation under the Token Server's PIN policy, PIN and fingerprint authentication (refresh
//! grants; wrong PINs counted by the server), logout, deregistration, and the SDK's error
//! codes ([`Error::code`]). The app supplies the SDK's handlers ([`CreatePinHandler`],
//! [`PinAuthenticationHandler`], [`BrowserRegistrationHandler`], [`FingerprintHandler`]), a
//! [`Storage`] and a platform [`Keystore`].
//!
//! ## Example: the whole lifecycle against the Token Server model
//!
//! ```
//! # #[cfg(feature = "emulator")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use onegini_model::emulator::{AppConfig, AppVersion, Consent, Emulator};
//! use onegini_model::testing::ScriptedUser;
//! use onegini_model::{ApplicationSignature, Client, ClientConfig, MemoryStorage};
//!
//! // The Token Server model on a loopback port, with one app version and one IdP user.
//! let signature = ApplicationSignature::new("3F:1A:…:signing-cert-sha256");
//! let app = AppConfig::new(
//!     "ExampleApp",
//!     "oneginiexample://loginsuccess",
//!     AppVersion::new("1.0.0", "android", signature.clone()),
//! )?;
//! let emu = Emulator::builder()
//!     .app(app)
//!     .user("alice", "correct horse")
//!     .start()
//!     .await?;
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
//!     .base_url(emu.base_url())
//!     .build()?;
//!
//! // Register: the browser logs in and consents; the user creates a PIN.
//! let browser = emu.browser("alice", "correct horse", Consent::Allow)?;
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
//! ## Where things are
//!
//! | what | where |
//! | --- | --- |
//! | the client, its builder and configuration | [`Client`], [`ClientBuilder`], [`ClientConfig`] |
//! | the SDK's handlers and their answers | [`CreatePinHandler`], [`PinAuthenticationHandler`], [`BrowserRegistrationHandler`], [`FingerprintHandler`], [`PinAnswer`], [`BrowserRegistrationAnswer`], [`FingerprintScan`] |
//! | PIN and policy | [`Pin`], [`PinPolicy`], [`PinValidationError`] (9011–9014) |
//! | device storage and keystore | [`Storage`] ([`MemoryStorage`], [`FileStorage`]), [`Keystore`] ([`MemoryKeystore`]) |
//! | errors | [`Error`] with the SDK's codes, classified by [`auth_core::Classify`] |
//! | step-up | [`OneginiStepUp`]: [`auth_core::StepUp`] as re-authentication of a profile ([`docs::step_up`]) |
//! | wire types (no crypto: wasm-clean) | [`wire`] |
//! | scripted users for tests and demos | [`testing`] |
//! | the Token Server model (feature `emulator`): `Emulator::builder()…start()`, the `TokenServer` model, the emulated browser | `emulator` |
//! | the model's cryptography (OCRA, PIN-protected token) | [`hazmat`] |
//! | decisions, security properties, endpoints | [`docs`] |
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
//! | `auth-core` | the shared transport, configuration, errors, secrets, clock and step-up contract (and, with `emulator`, the model trait and server) |
//! | `aws-lc-rs` | HMAC-SHA1/256/512 for OCRA, PBKDF2 for the PIN-protected refresh token, SHA-256 for PKCE, AES-256-GCM for the in-memory keystore, CSPRNG |
//! | `zeroize` | PINs, refresh-token secrets and derived keys are wiped |
//! | `base64`, `url`, `serde`, `serde_json`, `http`, `thiserror`, `async-trait` | wire types (kept free of crypto types), handlers as async traits |
//!
//! The refresh token's PIN protection is deliberately *untagged* (no AEAD such as AES-GCM), so
//! a wrong PIN cannot be told from the right one offline; see [`hazmat`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod crypto;
pub mod docs;
#[cfg(feature = "emulator")]
pub mod emulator;
mod error;
pub mod hazmat;
mod hex;
mod keystore;
mod pin;
mod stepup;
mod storage;
pub mod testing;
pub mod wire;

pub use client::{
    ApplicationSignature, AttemptCounter, Authenticator, BrowserRegistrationAnswer,
    BrowserRegistrationHandler, Client, ClientBuilder, ClientConfig, ClientConfigBuilder, ClientId,
    CreatePinHandler, FingerprintHandler, FingerprintScan, PinAnswer, PinAuthenticationHandler,
    UserProfile,
};
pub use error::Error;
pub use keystore::{Keystore, KeystoreError, MemoryKeystore};
pub use pin::{InvalidPinPolicy, Pin, PinPolicy, PinValidationError};
pub use stepup::OneginiStepUp;
pub use storage::{
    FileStorage, MemoryStorage, Storage, StorageError, StoredCredentials, StoredFingerprint,
    StoredProfile, StoredState,
};
