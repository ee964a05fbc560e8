//! The authsignal integration tests, one binary: the conformance suite (`cargo xtask
//! conformance` runs `it::conformance::`), the generated fixtures (`it::fixtures::`), the
//! emulator's API, null tolerance, secrets, robustness, webhook vectors and the dependency
//! tree.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod conformance;
mod dependencies;
mod emulator_api;
mod emulator_model;
mod fixtures;
mod fuzz_regressions;
mod null_tolerance;
mod robustness;
mod secrets;
mod webhook_vectors;
