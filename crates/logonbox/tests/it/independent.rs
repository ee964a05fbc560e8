//! Fixtures made by an independent implementation (xtask/independent/logonbox.py: Python
//! `cryptography` + PyNaCl, its own SSH wire writer), checked with this crate's code: key lines
//! and fingerprints, redirect request blobs and responses, direct signatures, and a valid SHA-1
//! signature that must be refused.

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY, RsaPublicKeyComponents};
use logonbox::emulator::Emulator;
use logonbox::{AuthorizedKey, Client, Error, KeyType, PendingRequest, RequestBlob, ResponseBlob};
use serde_json::Value;

use crate::common::{decode, fixture_json};

fn fixture(name: &str) -> Value {
    let v = fixture_json(&format!("independent/{name}"));
    assert!(v["_provenance"].as_str().unwrap().contains("PyNaCl"));
    v
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn check_key(v: &Value, key_type: KeyType) -> AuthorizedKey {
    let key = AuthorizedKey::parse_line(v["key_line"].as_str().unwrap()).unwrap();
    assert_eq!(key.key_type(), key_type);
    assert_eq!(
        key.fingerprint().as_str(),
        v["fingerprint"].as_str().unwrap()
    );
    assert_eq!(key.to_line(), v["key_line"].as_str().unwrap());
    key
}

fn check_direct(v: &Value, key: &AuthorizedKey) {
    let d = &v["direct"];
    let payload = decode(d["payload"].as_str().unwrap());
    assert_eq!(payload.len(), 128);
    let sig = decode(d["signature"].as_str().unwrap());
    let flags = u32::try_from(d["flags"].as_u64().unwrap()).unwrap();
    key.verify(flags, &payload, &sig).unwrap();
    let mut other = payload.clone();
    other[127] ^= 1;
    assert!(matches!(
        key.verify(flags, &other, &sig),
        Err(Error::SignatureInvalid)
    ));
}

/// Serves the fixture's key line from the emulator and runs `process_response` on each
/// recorded request/response pair.
async fn check_redirects(v: &Value, key: &AuthorizedKey) {
    let principal = v["principal"].as_str().unwrap();
    let emulator = Emulator::start().await.unwrap();
    emulator.add_user_with_keys(principal, Vec::new());
    emulator.set_listing(
        principal,
        format!(
            "# Authorized keys for {principal}\n{}\n",
            v["key_line"].as_str().unwrap()
        ),
    );
    let client = Client::builder(emulator.base_url()).build().unwrap();
    for r in v["redirect"].as_array().unwrap() {
        let flags = u32::try_from(r["flags"].as_u64().unwrap()).unwrap();
        let pending = PendingRequest::from_encoded(r["request"].as_str().unwrap(), now()).unwrap();
        let blob = RequestBlob::parse(pending.blob()).unwrap();
        assert_eq!(blob.principal, principal);
        assert_eq!(&blob.fingerprint, key.fingerprint());
        assert_eq!(blob.flags, flags);
        assert_eq!(blob.noise.len(), 16);
        assert_eq!(
            blob.redirect_url,
            "https://app.example.com/logonbox/finish?response={response}"
        );
        let response = r["response"].as_str().unwrap();
        let ResponseBlob::Signed { signature, .. } =
            ResponseBlob::parse(&decode(response)).unwrap()
        else {
            panic!("not a signed response");
        };
        let result = client.process_response(pending.clone(), response).await;
        match r["expect"].as_str().unwrap() {
            "approved" => {
                let approval = result.unwrap();
                assert_eq!(approval.signed_data(), pending.blob());
                assert_eq!(approval.flags(), flags);
            }
            "refused: SHA-1" => {
                assert!(
                    matches!(result, Err(Error::UnsupportedFlags { flags: 1, .. })),
                    "{result:?}"
                );
                assert!(matches!(
                    key.verify(flags, pending.blob(), &signature),
                    Err(Error::UnsupportedFlags { .. })
                ));
                // The refusal is meaningful: it is a valid SHA-1 signature.
                let (e, n) = key.rsa_components().unwrap();
                RsaPublicKeyComponents { n, e }
                    .verify(
                        &RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                        pending.blob(),
                        &signature,
                    )
                    .unwrap();
            }
            other => panic!("unknown expectation {other}"),
        }
    }
}

#[tokio::test]
async fn independent_ed25519_fixtures_verify() {
    let v = fixture("ed25519.json");
    let key = check_key(&v, KeyType::Ed25519);
    check_direct(&v, &key);
    check_redirects(&v, &key).await;
}

#[tokio::test]
async fn independent_rsa_fixtures_verify_and_sha1_is_refused() {
    let v = fixture("rsa.json");
    let key = check_key(&v, KeyType::Rsa);
    assert_eq!(key.rsa_bits(), Some(3072));
    check_direct(&v, &key);
    check_redirects(&v, &key).await;
    let flags: Vec<u64> = v["redirect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["flags"].as_u64().unwrap())
        .collect();
    assert_eq!(flags, vec![4, 2, 1]);
}
