//! This crate's fuzz targets, replayed on stable in a plain `cargo test`: every input under
//! `fuzz/regressions/<target>/` (minimised findings, since fixed) and `fuzz/seeds/<target>/`
//! runs through the target's own harness, `fuzz/src/<target>.rs`, the code libFuzzer runs. A
//! fixed finding cannot come back unnoticed, and a seed that stops passing an invariant shows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../../fuzz/src/replay.rs"]
mod replay;
use replay::replay;

#[path = "../../../../fuzz/src/launchkey_jwe.rs"]
mod launchkey_jwe;

#[path = "../../../../fuzz/src/launchkey_jws.rs"]
mod launchkey_jws;

#[test]
fn launchkey_jwe() {
    replay("launchkey_jwe", launchkey_jwe::run);
}

#[test]
fn launchkey_jws() {
    replay("launchkey_jws", launchkey_jws::run);
}
