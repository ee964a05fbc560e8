//! The launchkey integration tests, in one binary (`cargo test -p launchkey` runs them all; the
//! crate's dev-dependency on itself turns the `emulator` feature on).
//!
//! | module | what |
//! | --- | --- |
//! | [`conformance`] | the Service Client's flows against the emulator, one test per scenario, over a socket and in process; replays of recorded-style transcripts |
//! | [`emulator_flows`] | the client and the emulator in depth: caches, rate limits, webhooks, step-up, the emulator's control surface |
//! | [`emulator_model`] | the emulator as a protocol model: the control vocabulary as JSON, pending step-ups, clocks, in process, bounded memory |
//! | [`negative`] | every way a response, a webhook or an input can be wrong, and the errors they give |
//! | [`jose_vectors`] | the JOSE primitives against RFC 7518, Wycheproof and fixed vectors |
//! | [`independent`] | fixtures made by an independent implementation (Python `jwcrypto`) |
//! | [`fixtures`] | `fixtures_are_fresh`: the generated fixtures are up to date |
//! | [`fuzz_regressions`] | the fuzz targets' regressions and seeds, replayed |
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod conformance;
mod emulator_flows;
mod emulator_model;
mod fixtures;
mod fuzz_regressions;
mod independent;
mod jose_vectors;
mod negative;
