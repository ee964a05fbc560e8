//! The published LogonBox test vectors (fixtures/logonbox/vectors.json, copied from the official
//! Java and Python SDKs' tests; provenance in the file): keys, fingerprints, direct-mode
//! signatures, the redirect request blob and the sign URLs.

use base64::Engine;
use logonbox::{
    AuthorizedKey, Client, Error, Fingerprint, KeyListing, KeyType, PendingRequest, RequestBlob,
};
use serde_json::Value;

use crate::common::fixture_json;

fn vectors() -> Value {
    fixture_json("vectors.json")
}

fn payload_bytes(name: &str) -> Vec<u8> {
    match name {
        "zero" => vec![0u8; 128],
        // The test RNG counts 1..255 and wraps to 1: 128 bytes never wrap.
        "sequential" => (1..=128u8).collect(),
        other => panic!("unknown payload {other}"),
    }
}

fn key(v: &Value, name: &str) -> AuthorizedKey {
    AuthorizedKey::parse_line(v["keys"][name].as_str().unwrap()).unwrap()
}

#[test]
fn keys_parse_with_their_types_comments_and_fingerprints() {
    let v = vectors();
    let ed = key(&v, "ed25519");
    assert_eq!(ed.key_type(), KeyType::Ed25519);
    assert_eq!(ed.comment(), "LogonBox Key");
    assert_eq!(ed.fingerprint().as_str(), v["fingerprints"]["ed25519"]);
    let rsa = key(&v, "rsa");
    assert_eq!(rsa.key_type(), KeyType::Rsa);
    assert_eq!(rsa.comment(), "Legacy RSA");
    assert_eq!(rsa.rsa_bits(), Some(3072));
    assert_eq!(rsa.rsa_components().unwrap().0, &[1, 0, 1]);
    assert_eq!(rsa.fingerprint().as_str(), v["fingerprints"]["rsa"]);
    // Lines round-trip exactly.
    assert_eq!(ed.to_line(), v["keys"]["ed25519"].as_str().unwrap());
    assert_eq!(rsa.to_line(), v["keys"]["rsa"].as_str().unwrap());
}

#[test]
fn the_java_listing_fixture_parses() {
    // DefaultKeySourceTest.java: header, blank line, another comment, two keys, CRLF.
    let v = vectors();
    let text = format!(
        "# Authorized keys for test\r\n\r\n# Some other comment\r\n{}\r\n{}\r\n",
        v["keys"]["ed25519"].as_str().unwrap(),
        v["keys"]["rsa"].as_str().unwrap()
    );
    let listing = KeyListing::parse(&text).unwrap();
    assert_eq!(listing.keys().len(), 2);
    assert!(listing.skipped().is_empty());
    assert!(KeyListing::parse("# XXXXXXXXXX\r\nssh-ed25519 AAAA x\r\n").is_err());
}

#[test]
fn every_published_direct_signature_verifies_with_its_flags_only() {
    let v = vectors();
    let sigs = v["direct_signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 4);
    for s in sigs {
        let key = key(&v, s["key"].as_str().unwrap());
        let payload = payload_bytes(s["payload"].as_str().unwrap());
        let flags = u32::try_from(s["flags"].as_u64().unwrap()).unwrap();
        let sig = base64::engine::general_purpose::STANDARD
            .decode(s["signature"].as_str().unwrap())
            .unwrap();
        key.verify(flags, &payload, &sig)
            .unwrap_or_else(|e| panic!("{s}: {e}"));
        // Another payload, one flipped bit, a truncated signature: all refused.
        let other = if s["payload"] == "zero" {
            payload_bytes("sequential")
        } else {
            payload_bytes("zero")
        };
        assert!(matches!(
            key.verify(flags, &other, &sig),
            Err(Error::SignatureInvalid)
        ));
        let mut flipped = sig.clone();
        flipped[10] ^= 0x20;
        assert!(matches!(
            key.verify(flags, &payload, &flipped),
            Err(Error::SignatureInvalid)
        ));
        assert!(matches!(
            key.verify(flags, &payload, &sig[..sig.len() - 1]),
            Err(Error::SignatureInvalid)
        ));
        if key.key_type() == KeyType::Rsa {
            // The vectors are SHA-512: SHA-256 (flags 2) does not verify, and SHA-1 (any
            // other flags) is refused before any crypto.
            assert!(matches!(
                key.verify(2, &payload, &sig),
                Err(Error::SignatureInvalid)
            ));
            for f in [0, 1, 3] {
                assert!(matches!(
                    key.verify(f, &payload, &sig),
                    Err(Error::UnsupportedFlags { .. })
                ));
            }
        } else {
            assert!(matches!(
                key.verify(4, &payload, &sig),
                Err(Error::UnsupportedFlags { .. })
            ));
        }
    }
}

#[test]
fn the_redirect_request_blob_is_reproduced_byte_for_byte() {
    let v = vectors();
    let encoded = v["redirect_request"]["encoded"].as_str().unwrap();
    let blob = RequestBlob {
        principal: "test".into(),
        fingerprint: Fingerprint::new(v["fingerprints"]["rsa"].as_str().unwrap()).unwrap(),
        remote_name: "LogonBox Authenticator API".into(),
        // The Java SDK writes the raw template (we replace placeholders; see the spec §5.5).
        prompt_text:
            "{username} wants to authenticate from {remoteName} using your {hostname} credentials."
                .into(),
        authorize_text: "Authorize".into(),
        flags: 4,
        nonce: [0; 4],
        redirect_url: "https://localhost/app/ui/authenticator-finish?response={response}".into(),
        noise: vec![0; 16],
    };
    let bytes = blob.to_bytes();
    assert_eq!(bytes.len(), 287);
    assert_eq!(
        base64::engine::general_purpose::URL_SAFE.encode(&bytes),
        encoded
    );
    // And it parses back, padded or not.
    let pending = PendingRequest::from_encoded(encoded, 0).unwrap();
    assert_eq!(pending.blob(), bytes);
    assert_eq!(pending.principal(), "test");
    assert_eq!(pending.flags(), 4);
    assert_eq!(pending.fingerprint().as_str(), v["fingerprints"]["rsa"]);
    let unpadded = PendingRequest::from_encoded(encoded.trim_end_matches('='), 0).unwrap();
    assert_eq!(unpadded.blob(), bytes);
    assert_eq!(RequestBlob::parse(&bytes).unwrap(), blob);
}

#[test]
fn sign_urls_match_the_java_and_python_tests() {
    let v = vectors();
    for u in v["urls"].as_array().unwrap() {
        let base = format!("https://{}:{}", u["host"].as_str().unwrap(), u["port"]);
        let client = Client::builder(base).build().unwrap();
        assert_eq!(
            client.sign_url_for(u["encoded"].as_str().unwrap()).as_str(),
            u["url"].as_str().unwrap()
        );
    }
}
