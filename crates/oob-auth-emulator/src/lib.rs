//! `oob-auth-emulator`: one server that speaks every oob-auth provider's wire protocol —
//! LaunchKey, Authsignal, Airlock IAM, LogonBox and the Onegini Token Server — for tests in
//! any language, with a JSON control API to play the user and a web page that is the user's
//! phone.
//!
//! The user guide (starting it, pointing the official SDKs at it, the control API, the phone
//! page, memory figures) is in [`docs`].

mod control;
pub mod docs;
mod options;
mod providers;
mod served;
mod server;
mod tls;

pub use options::{
    Command, DEFAULT_BASE_PORT, Options, Provider, ProviderOptions, USAGE, UsageError, UserSeed,
};
pub use server::{Server, StartError};
