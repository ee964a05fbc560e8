//! The integration tests of onegini-model, one binary (`cargo test -p onegini-model` runs them
//! all: the crate is its own dev-dependency with the `emulator` feature).
//!
//! `cargo xtask conformance` selects `it::conformance::` (`--binary`: its `binary::` scenarios,
//! against the emulator server binary; [`emu`] is what a scenario runs against), `cargo xtask
//! fixtures` runs `it::fixtures::`.
// Test helpers outside `#[test]` functions may unwrap too (clippy.toml covers only the tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod conformance;
mod emu;
mod emulator_control;
mod fixtures;
mod flows;
mod fuzz_regressions;
mod independent;
mod null_tolerance;
mod secrets;
