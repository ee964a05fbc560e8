//! The ciba integration tests against the emulator, in one binary (`cargo test -p ciba` runs
//! them; the crate's dev-dependency on itself turns the `emulator` feature on). The tests
//! against the real OpenID Provider are the other binary, `tests/real_op.rs`.
//!
//! | module | what |
//! | --- | --- |
//! | [`conformance`] | the client against the emulated OP, one test per scenario |
//! | [`fuzz_regressions`] | the fuzz target's seeds and regressions, replayed on stable |
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod conformance;
mod fuzz_regressions;
