//! libFuzzer entry point of `airlock_iam_cookies`: the harness, with the invariants it checks, is
//! `src/airlock_iam_cookies.rs` (also replayed on stable by the crate's `tests/it/fuzz_regressions.rs`).
#![no_main]

#[path = "../src/airlock_iam_cookies.rs"]
mod airlock_iam_cookies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| airlock_iam_cookies::run(data));
