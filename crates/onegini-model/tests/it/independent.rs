//! The crate against fixtures made by an independent implementation
//! (`xtask/independent/onegini-model.py`, Python standard library, written from the RFC and spec
//! text): OCRA for suites beyond RFC 6287 Appendix C, the PIN-protected refresh token, PKCE.

use crate::common::hex;
use onegini_model::Pin;
use onegini_model::hazmat::ocra::{OcraInputs, OcraSuite};
use onegini_model::hazmat::{PinProtectedSecret, pkce_s256};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!(
        "{}/../../fixtures/onegini-model/independent/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(
        doc["_provenance"]["tool"].is_string(),
        "{name} has no provenance"
    );
    doc
}

#[test]
fn ocra_matches_the_independent_implementation_beyond_the_rfc_suites() {
    let doc = load("ocra-extra.json");
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 10);
    for v in vectors {
        let suite: OcraSuite = v["suite"].as_str().unwrap().parse().unwrap();
        let key = hex::decode(v["key_hex"].as_str().unwrap()).unwrap();
        let session = v["session_hex"].as_str().map(|s| hex::decode(s).unwrap());
        let mut inputs = OcraInputs::new(v["question"].as_str().unwrap());
        if let Some(c) = v["counter"].as_u64() {
            inputs = inputs.counter(c);
        }
        if let Some(p) = v["pin"].as_str() {
            inputs = inputs.pin(p.as_bytes());
        }
        if let Some(s) = &session {
            inputs = inputs.session(s);
        }
        if let Some(unix) = v["unix_time"].as_i64() {
            // The time step comes from the suite's T (S, M or H) applied to the Unix time.
            let t = suite.timestamp().unwrap().counter_for_unix(unix).unwrap();
            assert_eq!(Some(t), v["timestamp"].as_u64(), "{}", v["suite"]);
            inputs = inputs.timestamp(t);
        }
        assert_eq!(
            suite.compute(&key, &inputs).unwrap(),
            v["expected"].as_str().unwrap(),
            "{}",
            v["suite"]
        );
    }
}

#[test]
fn pin_protected_token_matches_the_independent_implementation() {
    let doc = load("pin-protected-token.json");
    for c in doc["cases"].as_array().unwrap() {
        let pin = Pin::new(c["pin"].as_str().unwrap());
        let salt = hex::decode(c["salt_hex"].as_str().unwrap()).unwrap();
        let secret = hex::decode(c["secret_hex"].as_str().unwrap()).unwrap();
        let iterations = u32::try_from(c["iterations"].as_u64().unwrap()).unwrap();
        let sealed = PinProtectedSecret::seal_with_salt(&secret, &pin, iterations, &salt).unwrap();
        assert_eq!(
            sealed.ciphertext_hex(),
            c["ciphertext_hex"].as_str().unwrap()
        );
        assert_eq!(sealed.open(&pin).unwrap().as_slice(), secret.as_slice());
    }
}

#[test]
fn pkce_matches_the_independent_implementation() {
    let doc = load("pkce.json");
    for c in doc["cases"].as_array().unwrap() {
        assert_eq!(
            pkce_s256(c["verifier"].as_str().unwrap()),
            c["challenge"].as_str().unwrap()
        );
    }
}
