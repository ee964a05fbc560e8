//! libFuzzer entry point of `airlock_iam_documents`: the harness, with the invariants it checks, is
//! `src/airlock_iam_documents.rs` (also replayed on stable by the crate's `tests/fuzz_regressions.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oob_auth_fuzz::airlock_iam_documents::run(data));
