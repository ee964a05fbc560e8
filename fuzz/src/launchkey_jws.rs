//! Compact JWS as the LaunchKey API sends it (`X-IOV-JWT` on every response and webhook):
//! `jose::jws::UnverifiedJws::parse` and `verify` against fixed RSA public keys, plus the
//! API public-key parsers (`RsaPublicKey::from_pem` / `from_der`, the answer to a kid fetch)
//! and `jws::raw_verify` with attacker-chosen key bytes.
//!
//! Two kinds of input:
//! * anything: parsed as a token. Invariants: never a panic; the parsed algorithm is the
//!   header's `alg` and on the allow-list; a token that verifies under one test key verifies
//!   again (re-parsed) with the same payload, and never under another key.
//! * `!` + payload: the payload is signed with the fixed API test key (RS256/384/512 by
//!   length), then one character of the token (position and value from the input) is
//!   changed. Invariants: the genuine token verifies to exactly the payload; the changed token,
//!   if it differs after trimming, never verifies (no malleability of the signed text).

use std::sync::LazyLock;

use launchkey::hazmat::jws::{self, UnverifiedJws};
use launchkey::{JwsAlgorithm, RsaPublicKey, ServicePrivateKey};

const API_PEM: &str = include_str!("../../fixtures/launchkey/keys/api.pem");
const SERVICE_A_PUB: &str = include_str!("../../fixtures/launchkey/keys/service-a-pkcs1.pub.pem");
const SERVICE_B_PUB: &str = include_str!("../../fixtures/launchkey/keys/service-b-pkcs8.pub.pem");

struct Keys {
    api: ServicePrivateKey,
    /// DER SPKI of the API key, of service A and of service B (the keys fixtures are signed
    /// with: the API key signs `X-IOV-JWT`s, service A the generated request tokens).
    public: [Vec<u8>; 3],
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let api = ServicePrivateKey::from_pem(API_PEM).expect("api.pem parses");
    let a = RsaPublicKey::from_pem(SERVICE_A_PUB).expect("service A public key");
    let b = RsaPublicKey::from_pem(SERVICE_B_PUB).expect("service B public key");
    let public = [
        api.public_key_der().to_vec(),
        a.der().to_vec(),
        b.der().to_vec(),
    ];
    Keys { api, public }
});

fn check_token(token: &str) {
    let Ok(jws) = UnverifiedJws::parse(token) else {
        return;
    };
    assert_eq!(jws.algorithm().as_str(), jws.header().alg);
    assert!(jws.header().crit.is_none() && jws.header().b64.is_none());
    let keys = &*KEYS;
    let verified: Vec<usize> = (0..keys.public.len())
        .filter(|&i| jws.verify(&keys.public[i]).is_ok())
        .collect();
    assert!(verified.len() <= 1, "one token verified under two keys");
    if let Some(&i) = verified.first() {
        let payload = jws
            .verify(&keys.public[i])
            .expect("verifies twice")
            .to_vec();
        let again = UnverifiedJws::parse(token).expect("re-parses");
        assert_eq!(again.verify(&keys.public[i]).expect("re-verifies"), payload);
        assert_eq!(again.algorithm(), jws.algorithm());
    }
}

fn sign_and_tamper(input: &[u8]) {
    let keys = &*KEYS;
    let alg = match input.len() % 3 {
        0 => JwsAlgorithm::RS256,
        1 => JwsAlgorithm::RS384,
        _ => JwsAlgorithm::RS512,
    };
    let token = keys.api.sign_jws(alg, input).expect("signing works");
    let jws = UnverifiedJws::parse(&token).expect("our own token parses");
    assert_eq!(jws.algorithm(), alg);
    assert_eq!(
        jws.verify(&keys.public[0]).expect("genuine token verifies"),
        input
    );
    assert!(jws.verify(&keys.public[1]).is_err());
    // Change one character: position and new byte from the input.
    let (pos_seed, byte) = match input {
        [a, b, c, ..] => (usize::from(*a) << 8 | usize::from(*b), *c),
        [a, ..] => (usize::from(*a), b'A'),
        [] => (0, b'A'),
    };
    let mut bytes = token.clone().into_bytes();
    let pos = pos_seed % bytes.len();
    bytes[pos] = if byte.is_ascii() { byte } else { b'_' };
    let Ok(changed) = String::from_utf8(bytes) else {
        return;
    };
    if changed.trim() == token.trim() {
        return;
    }
    if let Ok(parsed) = UnverifiedJws::parse(&changed) {
        assert!(
            parsed.verify(&keys.public[0]).is_err(),
            "a changed token still verifies: {changed}"
        );
    }
}

/// Runs one input (what libFuzzer hands the target); panics when an invariant breaks.
pub fn run(data: &[u8]) {
    if let Some(payload) = data.strip_prefix(b"!") {
        if payload.len() <= 4096 {
            sign_and_tamper(payload);
        }
        return;
    }
    let text = std::str::from_utf8(data).ok();
    if let Some(text) = text {
        check_token(text);
        // A PEM public key, as a kid fetch returns it.
        if let Ok(key) = RsaPublicKey::from_pem(text) {
            let again = RsaPublicKey::from_pem(&key.to_pem()).expect("our PEM re-parses");
            assert_eq!(again.der(), key.der());
            assert_eq!(again.fingerprint(), key.fingerprint());
        }
    }
    if let Ok(key) = RsaPublicKey::from_der(data) {
        assert_eq!(key.der(), data);
        let _ = key.fingerprint();
    }
    // Arbitrary bytes as a public key must fail cleanly.
    for alg in [JwsAlgorithm::RS256, JwsAlgorithm::RS512] {
        assert!(jws::raw_verify(alg, data, data, data).is_err());
    }
}
