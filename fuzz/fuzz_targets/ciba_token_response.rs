//! libFuzzer entry point of `ciba_token_response`: the harness, with the invariants it checks,
//! is `crates/ciba/tests/fuzz/ciba_token_response.rs` (also replayed on stable by the crate's
//! `tests/it/fuzz_regressions.rs`).
#![no_main]

#[path = "../../crates/ciba/tests/fuzz/ciba_token_response.rs"]
mod ciba_token_response;

libfuzzer_sys::fuzz_target!(|data: &[u8]| ciba_token_response::run(data));
