//! This crate's fuzz targets, replayed on stable in a plain `cargo test`: every input under
//! `fuzz/regressions/<target>/` (minimised findings, since fixed) and `fuzz/seeds/<target>/`
//! runs through the target's own harness, `fuzz/src/<target>.rs`, the code libFuzzer runs. A
//! fixed finding cannot come back unnoticed, and a seed that stops passing an invariant shows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../../fuzz/src/replay.rs"]
mod replay;
use replay::replay;

#[path = "../../../../fuzz/src/onegini_model_ocra.rs"]
mod onegini_model_ocra;

#[path = "../../../../fuzz/src/onegini_model_pin_secret.rs"]
mod onegini_model_pin_secret;

#[test]
fn onegini_model_ocra() {
    replay("onegini_model_ocra", onegini_model_ocra::run);
}

#[test]
fn onegini_model_pin_secret() {
    replay("onegini_model_pin_secret", onegini_model_pin_secret::run);
}
