//! The logonbox integration tests, one binary: `cargo test -p logonbox` runs them all (the
//! crate's own dev-dependency turns the `emulator` feature on).
//!
//! | module | what |
//! | --- | --- |
//! | [`conformance`] | both flows with both key types against the emulator, every documented failure, step-up, recorded transcripts (`cargo xtask conformance` lists it; `binary::` runs them against the emulator server binary: `cargo xtask conformance --binary`) |
//! | [`emu`] | the emulator a conformance scenario runs against: the crate's, or the emulator server binary |
//! | [`fixtures`] | `fixtures_are_fresh`: the generated transcripts (`cargo xtask fixtures`) |
//! | [`client`] | the exact requests sent, timeouts, retries, bring-your-own clients, Debug output |
//! | [`vectors`] | the published key, signature, blob and URL vectors |
//! | [`independent`] | fixtures made by an independent implementation (PyNaCl, cryptography) |
//! | [`logging`] | what goes to `tracing`, and what never does |
//! | [`examples`] | the axum redirect example's routes over real HTTP |
//! | [`fuzz_regressions`] | the fuzz targets' regressions and seeds, through their harnesses in `fuzz/src/` |

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod client;
mod common;
mod conformance;
mod emu;
mod examples;
mod fixtures;
mod fuzz_regressions;
mod independent;
mod logging;
mod vectors;
