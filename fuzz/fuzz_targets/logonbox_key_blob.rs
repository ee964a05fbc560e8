//! libFuzzer entry point of `logonbox_key_blob`: the harness, with the invariants it checks, is
//! `src/logonbox_key_blob.rs` (also replayed on stable by the crate's `tests/fuzz_regressions.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oob_auth_fuzz::logonbox_key_blob::run(data));
