//! libFuzzer entry point of `logonbox_listing`: the harness, with the invariants it checks, is
//! `src/logonbox_listing.rs` (also replayed on stable by the crate's `tests/it/fuzz_regressions.rs`).
#![no_main]

#[path = "../src/logonbox_listing.rs"]
mod logonbox_listing;

libfuzzer_sys::fuzz_target!(|data: &[u8]| logonbox_listing::run(data));
