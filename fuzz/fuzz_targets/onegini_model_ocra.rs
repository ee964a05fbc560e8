//! libFuzzer entry point of `onegini_model_ocra`: the harness, with the invariants it checks, is
//! `src/onegini_model_ocra.rs` (also replayed on stable by the crate's `tests/it/fuzz_regressions.rs`).
#![no_main]

#[path = "../src/onegini_model_ocra.rs"]
mod onegini_model_ocra;

libfuzzer_sys::fuzz_target!(|data: &[u8]| onegini_model_ocra::run(data));
