//! Helpers the test modules share.

use base64::Engine;
use serde_json::Value;

/// Unpadded base64url, as the client sends it.
pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url, padded or not.
pub fn decode(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .unwrap()
}

/// Reads a JSON file under `fixtures/logonbox/`.
pub fn fixture_json(relative: &str) -> Value {
    let path = format!(
        "{}/../../fixtures/logonbox/{relative}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}
