//! The integration tests of auth-core, one binary (as in every crate of the workspace):
//! [`transport`] runs the shared HTTP transport against real loopback servers.
// Test helpers outside `#[test]` functions may unwrap too (clippy.toml covers only the tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod transport;
