//! libFuzzer entry point of `launchkey_jwe`: the harness, with the invariants it checks, is
//! `src/launchkey_jwe.rs` (also replayed on stable by the crate's `tests/it/fuzz_regressions.rs`).
#![no_main]

#[path = "../src/launchkey_jwe.rs"]
mod launchkey_jwe;

libfuzzer_sys::fuzz_target!(|data: &[u8]| launchkey_jwe::run(data));
