//! libFuzzer entry point of `launchkey_jws`: the harness, with the invariants it checks, is
//! `src/launchkey_jws.rs` (also replayed on stable by the crate's `tests/it/fuzz_regressions.rs`).
#![no_main]

#[path = "../src/launchkey_jws.rs"]
mod launchkey_jws;

libfuzzer_sys::fuzz_target!(|data: &[u8]| launchkey_jws::run(data));
