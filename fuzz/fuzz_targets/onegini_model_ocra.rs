//! libFuzzer entry point of `onegini_model_ocra`: the harness, with the invariants it checks, is
//! `src/onegini_model_ocra.rs` (also replayed on stable by the crate's `tests/fuzz_regressions.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oob_auth_fuzz::onegini_model_ocra::run(data));
