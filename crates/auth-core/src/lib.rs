//! # auth-core
//!
//! What every oob-auth provider crate shares, and nothing more:
//!
//! | module | what |
//! | --- | --- |
//! | [`error`] | [`Error`]: transport, HTTP status (bounded, scrubbed body), decode (JSON path), configuration, deadline, cancelled |
//! | [`config`] | [`Config`]: one client configuration for every provider, and the builder setters they share |
//! | [`secret`] | secret newtypes: redacted `Debug`, no `Display`, zeroized on drop |
//! | [`base_url`] | [`BaseUrl`]: `https://`, or `http://` for loopback only, validated once |
//! | [`http`] | [`HttpClient`] (bring your own), the reqwest + rustls default, [`Transport`] |
//! | [`retry`] | [`RetryPolicy`]: only safe-to-repeat requests, 429/503/connection errors, `Retry-After` |
//! | [`clock`] | [`Clock`]: injectable time and sleep; [`clock::FakeClock`] for tests |
//! | [`poll`] | [`poll::poll_until`]: interval, back-off, server hints, deadline |
//! | [`stepup`] | [`StepUp`]: one provider-neutral step-up interface, and a test double |
//! | [`id`] | [`id_type!`]: validated identifier newtypes |
//! | [`time`] | [`time::Timestamp`]: RFC 3339 instants with their offset |
//! | [`sync`] | the one rule for poisoned locks |
//! | `emulator` (feature) | what every provider's emulator shares: model trait, control vocabulary, in-process client, server |
//! | [`json`] | JSON decoding that names the failing field's path |
//! | [`wire`] | [`wire_enum!`]: wire enums that keep unknown values as `Other(String)` |
//!
//! auth-core has no cryptography of its own (no RSA, ed25519 or JOSE crates): a service that
//! depends on one provider crate compiles only what that provider needs.
//!
//! ## Example
//!
//! A provider crate's call, end to end, against a local server:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), auth_core::Error> {
//! use auth_core::{BaseUrl, Replay, Transport};
//! use http::Method;
//! # let server = wiremock::MockServer::start().await;
//! # wiremock::Mock::given(wiremock::matchers::path("/v1/ping"))
//! #     .respond_with(wiremock::ResponseTemplate::new(200).set_body_string(r#"{"ok":true}"#))
//! #     .mount(&server).await;
//!
//! let base = BaseUrl::parse(&format!("{}/v1", server.uri()))?;
//! let transport = Transport::builder(base).user_agent("my-provider", "0.1.0").build()?;
//!
//! let request = transport.request(Method::GET, "/ping").body(Vec::new()).unwrap();
//! let response = transport.send(request, Replay::ByMethod).await?;
//! #[derive(serde::Deserialize)]
//! struct Pong { ok: bool }
//! let pong: Pong = auth_core::json::from_slice("ping response", response.body())?;
//! assert!(pong.ok);
//! # Ok(()) }
//! ```
//!
//! ## Dependencies, and why
//!
//! | crate | why |
//! | --- | --- |
//! | `http` | request/response types shared by every provider, independent of any client |
//! | `reqwest` (feature `reqwest`, default) | the default client: rustls on AWS-LC, HTTP/2; kept out of public signatures so a reqwest upgrade is not a breaking change |
//! | `async-trait` | `dyn HttpClient`, `dyn Clock`, `StepUp` as trait objects (native `async fn` in traits is not `dyn`-compatible) |
//! | `tokio` (`time`, `sync`, `rt`) | the system clock's sleep, the transport's timeout, the `max_in_flight` slots and the task-local that marks an admitted call |
//! | `base64` | recognising a secret's base64 forms when errors are redacted |
//! | `axum`, `bytes` (feature `emulator`; `bytes` also with `reqwest`) | the emulators' real-port server; response bodies |
//! | `secrecy`, `zeroize` | redacted, zeroized secrets |
//! | `serde`, `serde_json`, `serde_path_to_error` | wire types, and the JSON path of a field that fails to decode |
//! | `thiserror` | the error enum |
//! | `url` | base-URL validation (already in reqwest's tree) |
//! | `httpdate` | `Retry-After` as an HTTP date |
//! | `fastrand` | back-off jitter (no cryptographic need) |
//!
//! No cryptography: `ring`, `rsa`, `ed25519-dalek` and `jsonwebtoken` live (or not) only in the
//! provider crates that need them, and `cargo xtask ci` checks it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod base_url;
pub mod clock;
pub mod config;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod error;
pub mod http;
pub mod id;
pub mod json;
pub mod poll;
pub mod retry;
pub mod secret;
pub mod stepup;
pub mod sync;
pub mod time;
pub mod wire;

pub use base_url::BaseUrl;
pub use clock::{Clock, FakeClock, SharedClock, SystemClock};
pub use config::{Config, IntoBaseUrl};
pub use error::{
    Classify, ConfigError, Error, ErrorBody, ErrorKind, TransportError, TransportErrorKind,
};
#[cfg(feature = "reqwest")]
pub use http::ReqwestClient;
pub use http::{
    HttpClient, HttpConfig, HttpRequest, HttpResponse, RequestTimeout, Transport, TransportBuilder,
    TransportOptions,
};
pub use poll::{PollConfig, PollStatus, poll_until, poll_until_cancelled};
pub use retry::{Replay, RetryPolicy};
pub use stepup::{
    Capabilities, Evidence, Started, StepUp, StepUpHandle, StepUpOutcome, StepUpRequest,
};

/// Re-exported so provider crates and users name one version of these.
pub use ::http as http_types;
#[cfg(feature = "reqwest")]
#[doc(hidden)]
pub use ::reqwest;
pub use async_trait::async_trait;
