//! libFuzzer entry point of `authsignal_webhook`: the harness, with the invariants it checks, is
//! `src/authsignal_webhook.rs` (also replayed on stable by the crate's `tests/it/fuzz_regressions.rs`).
#![no_main]

#[path = "../src/authsignal_webhook.rs"]
mod authsignal_webhook;

libfuzzer_sys::fuzz_target!(|data: &[u8]| authsignal_webhook::run(data));
