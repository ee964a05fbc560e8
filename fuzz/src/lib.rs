//! The fuzz targets' harnesses, one module per target (`fuzz_targets/<target>.rs` is only the
//! libFuzzer entry point calling `<target>::run`).
//!
//! Each module uses nothing but its crate's public API, the crate's own dependencies and the
//! standard library, so the crate's `tests/fuzz_regressions.rs` can include the same file
//! (`#[path]`) and replay `regressions/<target>/` and `seeds/<target>/` in a plain `cargo test`
//! on stable.

pub mod airlock_iam_cookies;
pub mod airlock_iam_documents;
pub mod authsignal_webhook;
pub mod launchkey_jwe;
pub mod launchkey_jws;
pub mod logonbox_key_blob;
pub mod logonbox_listing;
pub mod logonbox_response_blob;
pub mod onegini_model_ocra;
pub mod onegini_model_pin_secret;
