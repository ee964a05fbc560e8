//! The emulator server's tests: its control API, TLS, the binary, the phone page in a real
//! browser, and our own clients against it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod binary;
mod browser;
mod clients;
mod common;
mod control;
mod tls;
