//! This crate's fuzz targets, replayed on stable in a plain `cargo test`: every input under
//! `fuzz/regressions/<target>/` (minimised findings, since fixed) and `fuzz/seeds/<target>/`
//! runs through the target's own harness, `fuzz/src/<target>.rs`, the code libFuzzer runs. A
//! fixed finding cannot come back unnoticed, and a seed that stops passing an invariant shows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../../fuzz/src/replay.rs"]
mod replay;
use replay::replay;

#[path = "../../../../fuzz/src/logonbox_key_blob.rs"]
mod logonbox_key_blob;

#[path = "../../../../fuzz/src/logonbox_listing.rs"]
mod logonbox_listing;

// The harness (fuzz/src, shared with libFuzzer) nests two `if let`s that clippy would collapse.
#[allow(clippy::collapsible_if)]
#[path = "../../../../fuzz/src/logonbox_response_blob.rs"]
mod logonbox_response_blob;

#[test]
fn logonbox_key_blob() {
    replay("logonbox_key_blob", logonbox_key_blob::run);
}

#[test]
fn logonbox_listing() {
    replay("logonbox_listing", logonbox_listing::run);
}

#[test]
fn logonbox_response_blob() {
    replay("logonbox_response_blob", logonbox_response_blob::run);
}
