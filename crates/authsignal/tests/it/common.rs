//! Helpers shared by the test modules.

use std::path::PathBuf;

use authsignal::{ActionCode, UserId};

pub mod scenario;

/// The emulator on its own socket, on a fake clock at 1_800_000_000 (the test moves time).
pub async fn emulator_on_fake_clock() -> (authsignal::emulator::Emulator, auth_core::FakeClock) {
    let clock = auth_core::FakeClock::at_unix(1_800_000_000);
    let emu = authsignal::emulator::Emulator::builder()
        .clock(std::sync::Arc::new(clock.clone()))
        .start()
        .await
        .unwrap();
    (emu, clock)
}

/// A user id that must be valid.
pub fn uid(s: &str) -> UserId {
    UserId::new(s).unwrap()
}

/// An action code that must be valid.
pub fn code(s: &str) -> ActionCode {
    ActionCode::new(s).unwrap()
}

/// `fixtures/authsignal/<relative>`.
pub fn fixture_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/authsignal")
        .join(relative)
}

/// A fixture file, as JSON.
pub fn fixture_json(relative: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixture_path(relative)).unwrap()).unwrap()
}
