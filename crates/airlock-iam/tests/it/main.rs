//! airlock-iam's integration tests, one binary (`cargo test -p airlock-iam` runs them all, no
//! feature flags: the crate's emulator comes in through its dev-dependency on itself).
//!
//! | module | what |
//! | --- | --- |
//! | [`conformance`] | the canonical exchanges replayed from `fixtures/airlock-iam/`, and every flow, error and step-up against the emulator (over a socket, in process, and against the emulator server binary: `binary::`, ignored unless `cargo xtask conformance --binary` runs them) |
//! | [`fixtures`] | the hand-written transcripts are well-formed and all replayed |
//! | [`errors`] | non-document answers, malformed documents, input validation, rate limits, configuration |
//! | [`redaction`] | no secret in any `Debug` / `Display`, whatever the server echoes |
//! | [`null_tolerance`] | `null` is the same as absent in every answer |
//! | [`examples`] | the axum example's routes over real HTTP |
//! | [`fuzz_regressions`] | the fuzz targets' seeds and fixed findings, through their harnesses in `fuzz/src/` |

// Test code: panicking on a broken expectation is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod conformance;
mod errors;
mod examples;
mod fixtures;
mod fuzz_regressions;
mod null_tolerance;
mod redaction;
