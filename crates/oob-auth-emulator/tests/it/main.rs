//! The emulator server's tests: its control API, TLS, the binary, the phone page in a real
//! browser, our own clients against it, and the webhooks and notifications it delivers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod binary;
mod browser;
mod ciba;
mod clients;
mod common;
mod control;
mod tls;
mod webhooks;
