//! The ciba integration tests, in one binary (`cargo test -p ciba` runs them all; the crate's
//! dev-dependency on itself turns the `emulator` feature on).
//!
//! | module | what |
//! | --- | --- |
//! | [`conformance`] | the client against the emulated OP, one test per scenario, over a socket, in process and against the emulator server binary (`binary::`, ignored unless `cargo xtask conformance --binary`) |
//! | [`emu`] | the OP a conformance scenario runs against: the crate's emulator, or the emulator server binary |
//! | [`emulator_model`] | the emulator as a protocol model: no socket, its issuer, bounded memory, key rotation, provider commands |
//! | [`fuzz_regressions`] | the fuzz target's seeds and regressions, replayed on stable |
//! | [`real_op`] | the client against a real, OpenID-certified OP (npm `oidc-provider`, installed under `target/ciba-op`) |
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod conformance;
mod emu;
mod emulator_model;
mod fuzz_regressions;
mod real_op;
