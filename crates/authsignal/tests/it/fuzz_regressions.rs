//! This crate's fuzz targets, replayed on stable in a plain `cargo test`: every input under
//! `fuzz/regressions/<target>/` (minimised findings, since fixed) and `fuzz/seeds/<target>/`
//! runs through the target's own harness, `fuzz/src/<target>.rs`, the code libFuzzer runs. A
//! fixed finding cannot come back unnoticed, and a seed that stops passing an invariant shows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../../fuzz/src/replay.rs"]
mod replay;
use replay::replay;

#[path = "../../../../fuzz/src/authsignal_webhook.rs"]
mod authsignal_webhook;

#[test]
fn authsignal_webhook() {
    replay("authsignal_webhook", authsignal_webhook::run);
}
