//! libFuzzer entry point of `logonbox_response_blob`: the harness, with the invariants it checks, is
//! `src/logonbox_response_blob.rs` (also replayed on stable by the crate's `tests/it/fuzz_regressions.rs`).
#![no_main]

#[path = "../src/logonbox_response_blob.rs"]
mod logonbox_response_blob;

libfuzzer_sys::fuzz_target!(|data: &[u8]| logonbox_response_blob::run(data));
