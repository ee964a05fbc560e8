//! libFuzzer entry point of `onegini_model_pin_secret`: the harness, with the invariants it checks, is
//! `src/onegini_model_pin_secret.rs` (also replayed on stable by the crate's `tests/it/fuzz_regressions.rs`).
#![no_main]

#[path = "../src/onegini_model_pin_secret.rs"]
mod onegini_model_pin_secret;

libfuzzer_sys::fuzz_target!(|data: &[u8]| onegini_model_pin_secret::run(data));
