//! Webhook vectors: the generated set (`fixtures/authsignal/webhook-vectors.json`: rotation,
//! stale, future, tampered, malformed …) and the independent set made with Python
//! `cryptography` (`fixtures/authsignal/independent/webhook-hmac.json`), both verified with
//! the crate's `WebhookVerifier`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use auth_core::FakeClock;
use authsignal::SecretKey;
use authsignal::WebhookError;
use authsignal::webhook::{WebhookPayload, WebhookVerifier, signature};
use serde_json::Value;

fn load(name: &str) -> Value {
    crate::common::fixture_json(name)
}

fn verifier(secrets: &[Value], now: i64, tolerance: u64) -> WebhookVerifier {
    let mut it = secrets.iter().map(|s| SecretKey::new(s.as_str().unwrap()));
    let mut v = WebhookVerifier::new(it.next().unwrap());
    for s in it {
        v = v.also_accept(s);
    }
    v.tolerance(Duration::from_secs(tolerance))
        .clock(Arc::new(FakeClock::at_unix(now as u64)))
}

fn kind(r: &Result<WebhookPayload, WebhookError>) -> String {
    match r {
        Ok(WebhookPayload::Event(_)) => "ok".into(),
        Ok(WebhookPayload::Batch(v)) => format!("ok_batch_{}", v.len()),
        Ok(_) => "ok_other".into(),
        Err(WebhookError::MissingHeader) => "missing_header".into(),
        Err(WebhookError::Malformed { .. }) => "malformed".into(),
        Err(WebhookError::Stale { .. }) => "stale".into(),
        Err(WebhookError::FromTheFuture { .. }) => "from_the_future".into(),
        Err(WebhookError::NoMatchingSignature { .. }) => "no_matching_signature".into(),
        Err(e) => format!("other: {e}"),
    }
}

#[test]
fn generated_vectors() {
    let doc = load("webhook-vectors.json");
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let v = verifier(
            c["secrets"].as_array().unwrap(),
            c["now"].as_i64().unwrap(),
            c["toleranceSecs"].as_u64().unwrap(),
        );
        let header = c["header"].as_str().unwrap();
        let header = (!header.is_empty()).then_some(header);
        let got = v.verify(c["body"].as_str().unwrap().as_bytes(), header);
        assert_eq!(
            kind(&got),
            c["expect"].as_str().unwrap(),
            "case {}",
            c["name"]
        );
    }
}

#[test]
fn independent_python_vectors() {
    let doc = load("independent/webhook-hmac.json");
    assert!(doc["_provenance"]["packages"]["cryptography"].is_string());
    for c in doc["cases"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let t = c["timestamp"].as_i64().unwrap();
        let body = c["body"].as_str().unwrap().as_bytes();
        let secrets = c["secrets"].as_array().unwrap();
        // Same signatures as the independent implementation …
        for (s, want) in secrets.iter().zip(c["signatures"].as_array().unwrap()) {
            let key = SecretKey::new(s.as_str().unwrap());
            assert_eq!(signature(&key, t, body), want.as_str().unwrap(), "{name}");
        }
        // … and its headers verify, with each secret alone (rotation).
        for s in secrets {
            let v = verifier(std::slice::from_ref(s), t, 300);
            let r = v.verify(body, Some(c["header"].as_str().unwrap()));
            assert!(r.is_ok(), "{name}: {r:?}");
        }
        // One flipped bit anywhere in the body fails.
        let mut bad = body.to_vec();
        let i = bad.len() / 2;
        bad[i] ^= 1;
        let v = verifier(secrets, t, 300);
        assert!(
            matches!(
                v.verify(&bad, Some(c["header"].as_str().unwrap())),
                Err(WebhookError::NoMatchingSignature { .. })
                    | Err(WebhookError::InvalidPayload { .. })
            ) && v
                .verify_signature(&bad, Some(c["header"].as_str().unwrap()))
                .is_err(),
            "{name}"
        );
    }
}
