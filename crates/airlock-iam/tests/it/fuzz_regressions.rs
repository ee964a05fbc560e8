//! This crate's fuzz targets, replayed on stable in a plain `cargo test`: every input under
//! `fuzz/regressions/<target>/` (minimised findings, since fixed) and `fuzz/seeds/<target>/`
//! runs through the target's own harness, `fuzz/src/<target>.rs`, the code libFuzzer runs. A
//! fixed finding cannot come back unnoticed, and a seed that stops passing an invariant shows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../../fuzz/src/replay.rs"]
mod replay;
use replay::replay;

#[path = "../../../../fuzz/src/airlock_iam_cookies.rs"]
mod airlock_iam_cookies;

#[path = "../../../../fuzz/src/airlock_iam_documents.rs"]
mod airlock_iam_documents;

#[test]
fn airlock_iam_cookies() {
    replay("airlock_iam_cookies", airlock_iam_cookies::run);
}

#[test]
fn airlock_iam_documents() {
    replay("airlock_iam_documents", airlock_iam_documents::run);
}
