//! Fixtures made by an independent implementation (Python jwcrypto + cryptography, see
//! xtask/independent/launchkey.py) decrypt and verify with this crate's code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;

use auth_core::FakeClock;
use launchkey::hazmat::jwe::ParsedJwe;
use launchkey::hazmat::jws::UnverifiedJws;
use launchkey::{Client, Kid, RsaPublicKey, ServiceId, WebhookPackage};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!(
        "{}/../../fixtures/launchkey/independent/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(v["_provenance"].as_str().unwrap().contains("jwcrypto"));
    v
}

#[test]
fn key_ids_match_python_md5_of_spki() {
    let v = load("kids.json");
    for (file, pem) in [
        ("service-a-pkcs1.pub.pem", common::SERVICE_A_PUB),
        ("service-b-pkcs8.pub.pem", common::SERVICE_B_PUB),
        ("api.pub.pem", common::API_PUB),
    ] {
        let kid = RsaPublicKey::from_pem(pem).unwrap().fingerprint();
        assert_eq!(kid.as_str(), v["kids"][file].as_str().unwrap(), "{file}");
    }
    assert_eq!(
        common::key_a().kid().as_str(),
        v["kids"]["service-a-pkcs1.pub.pem"].as_str().unwrap()
    );
    assert_eq!(
        common::key_b().kid().as_str(),
        v["kids"]["service-b-pkcs8.pub.pem"].as_str().unwrap()
    );
}

#[test]
fn jwcrypto_jwes_decrypt() {
    let v = load("jwe.json");
    let key = common::key_a();
    for alg in ["RSA-OAEP", "RSA-OAEP-256"] {
        let compact = v["compact"][alg].as_str().unwrap();
        let jwe = ParsedJwe::parse(compact).unwrap();
        assert_eq!(jwe.kid(), Some(key.kid().as_str()));
        let got: Value = serde_json::from_slice(&decrypt_with(&key, compact)).unwrap();
        assert_eq!(got, v["plaintext"], "{alg}");
        // Flip one ciphertext character: one undifferentiated error.
        let mut parts: Vec<String> = compact.split('.').map(str::to_owned).collect();
        let c = parts[3].pop().unwrap();
        parts[3].push(if c == 'A' { 'B' } else { 'A' });
        let bad = ParsedJwe::parse(&parts.join(".")).unwrap();
        assert_eq!(
            bad.decrypt_with_key(&key).unwrap_err(),
            launchkey::JoseError::Decryption
        );
    }
    // The other service key cannot decrypt it.
    let compact = v["compact"]["RSA-OAEP"].as_str().unwrap();
    assert!(
        ParsedJwe::parse(compact)
            .unwrap()
            .decrypt_with_key(&common::key_b())
            .is_err()
    );
}

fn decrypt_with(key: &launchkey::ServicePrivateKey, compact: &str) -> Vec<u8> {
    ParsedJwe::parse(compact)
        .unwrap()
        .decrypt_with_key(key)
        .unwrap()
}

#[test]
fn jwcrypto_jwss_verify() {
    let v = load("jws.json");
    let api = RsaPublicKey::from_pem(common::API_PUB).unwrap();
    let other = RsaPublicKey::from_pem(common::SERVICE_A_PUB).unwrap();
    for alg in ["RS256", "RS384", "RS512"] {
        let t = UnverifiedJws::parse(v["compact"][alg].as_str().unwrap()).unwrap();
        assert_eq!(t.algorithm().as_str(), alg);
        assert_eq!(t.header().kid.as_deref(), v["kid"].as_str());
        let claims: Value = serde_json::from_slice(t.verify(api.der()).unwrap()).unwrap();
        assert_eq!(claims, v["claims"]);
        assert!(t.verify(other.der()).is_err());
    }
}

#[test]
fn jwcrypto_legacy_auth_package_decrypts_line_wrapped() {
    let v = load("legacy_auth.json");
    let wrapped = v["base64_wrapped"].as_str().unwrap();
    assert!(wrapped.contains('\n'));
    let plain =
        launchkey::hazmat::rsa_oaep::decrypt_legacy_auth(&common::key_a(), wrapped).unwrap();
    let got: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(got, v["plaintext"]);
}

/// A complete webhook made by jwcrypto: the client fetches the API key by kid from a local
/// server once, verifies the RS512 JWT, the method, path and body hash, decrypts the JWE body
/// and the `auth_jwe` device package inside it.
#[tokio::test]
async fn jwcrypto_webhook_is_accepted() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let v = load("webhook.json");
    let server = MockServer::start().await;
    let kid = v["api_kid"].as_str().unwrap().to_owned();
    Mock::given(method("GET"))
        .and(path(format!("/public/v3/public-key/{kid}")))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-IOV-KEY-ID", kid.as_str())
                .set_body_string(common::API_PUB),
        )
        .expect(1)
        .mount(&server)
        .await;
    let clock = FakeClock::at_unix(v["iat"].as_u64().unwrap() + 2);
    let client = Client::builder(
        ServiceId::parse(v["service_id"].as_str().unwrap()).unwrap(),
        common::key_a(),
    )
    .base_url(server.uri())
    .clock(Arc::new(clock))
    .build()
    .unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "x-iov-jwt",
        v["x_iov_jwt"].as_str().unwrap().parse().unwrap(),
    );
    headers.insert(
        "content-type",
        v["content_type"].as_str().unwrap().parse().unwrap(),
    );
    let body = v["body"].as_str().unwrap().as_bytes();
    let wh_path = v["path"].as_str().unwrap();
    for _ in 0..2 {
        match client
            .handle_webhook(&common::webhook(&headers, body, "POST", wh_path))
            .await
            .unwrap()
        {
            WebhookPackage::AuthorizationResponse(r) => {
                assert!(r.authorized);
                assert!(!r.legacy_package);
                assert_eq!(
                    r.authorization_request_id,
                    v["device_package"]["auth_request"].as_str().unwrap()
                );
                assert_eq!(r.service_user_hash, "suh-123");
                assert_eq!(r.organization_user_hash.as_deref(), Some("ouh-456"));
                assert_eq!(r.user_push_id, "upi-789");
                assert_eq!(r.service_pins, ["1234", "2345"]);
                assert!(r.policy.as_ref().unwrap().knowledge_required());
            }
            other => panic!("{other:?}"),
        }
    }
    // Wrong path → rejected.
    let err = client
        .handle_webhook(&common::webhook(&headers, body, "POST", "/other"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            launchkey::Error::ResponseVerification(launchkey::VerificationError::Path { .. })
        ),
        "{err:?}"
    );
    assert_eq!(Kid::new(&kid).unwrap().as_str(), kid);
}
