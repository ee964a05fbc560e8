//! # authsignal
//!
//! placeholder
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod error;
pub mod request;
pub mod response;
pub mod stepup;
pub mod types;
pub mod webhook;

#[cfg(feature = "emulator")]
pub mod emulator;

pub use client::{Client, ClientBuilder, Region};
pub use error::{ApiError, Error};
pub use request::*;
pub use response::*;
pub use types::*;
