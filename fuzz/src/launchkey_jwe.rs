//! Compact JWE as the LaunchKey API sends it (response bodies, webhook bodies):
//! `jose::jwe::ParsedJwe::parse`, `decrypt_with_key` with the fixed service test key, the
//! `looks_like_jwe` sniffing, and `rsa_oaep::decrypt_legacy_auth` (the legacy `auth` package).
//!
//! Two kinds of input:
//! * anything: parsed as a token and decrypted with service key A. Invariants: never a panic;
//!   whatever parses is recognised by `looks_like_jwe`; the header's `alg`/`enc` are the
//!   allow-listed ones and `zip`/`crit` are absent; a token that decrypts decrypts again to the
//!   same plaintext, and never with the other service key.
//! * `!` + plaintext: encrypted to service key A (`RSA-OAEP` or `RSA-OAEP-256` by length),
//!   then one character of the token (position and value from the input) is changed.
//!   Invariants: the genuine token decrypts to exactly the plaintext; a changed token (other
//!   than by surrounding whitespace) never decrypts.

use std::sync::LazyLock;

use launchkey::hazmat::jwe::{self, ParsedJwe};
use launchkey::hazmat::rsa_oaep;
use launchkey::{JweAlgorithm, RsaPublicKey, ServicePrivateKey};

const SERVICE_A: &str = include_str!("../../fixtures/launchkey/keys/service-a-pkcs1.pem");
const SERVICE_B: &str = include_str!("../../fixtures/launchkey/keys/service-b-pkcs8.pem");

struct Keys {
    a: ServicePrivateKey,
    a_pub: RsaPublicKey,
    b: ServicePrivateKey,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let a = ServicePrivateKey::from_pem(SERVICE_A).expect("service A key");
    let a_pub = RsaPublicKey::from_der(a.public_key_der()).expect("service A public key");
    let b = ServicePrivateKey::from_pem(SERVICE_B).expect("service B key");
    Keys { a, a_pub, b }
});

fn check_token(token: &str) {
    let Ok(parsed) = ParsedJwe::parse(token) else {
        return;
    };
    assert!(
        jwe::looks_like_jwe(token.as_bytes()),
        "parsed but not sniffed"
    );
    assert_eq!(parsed.algorithm().as_str(), parsed.header().alg);
    assert_eq!(parsed.header().enc, jwe::ENC);
    assert!(parsed.header().zip.is_none() && parsed.header().crit.is_none());
    assert_eq!(parsed.kid(), parsed.header().kid.as_deref());
    let keys = &*KEYS;
    if let Ok(plain) = parsed.decrypt_with_key(&keys.a) {
        let again = ParsedJwe::parse(token).expect("re-parses");
        assert_eq!(
            again.decrypt_with_key(&keys.a).expect("decrypts again"),
            plain
        );
        assert!(
            again.decrypt_with_key(&keys.b).is_err(),
            "decrypts under two keys"
        );
    }
}

fn encrypt_and_tamper(input: &[u8]) {
    let keys = &*KEYS;
    let alg = if input.len().is_multiple_of(2) {
        JweAlgorithm::RsaOaep256
    } else {
        JweAlgorithm::RsaOaep
    };
    let token = jwe::encrypt_to(
        alg,
        &keys.a_pub,
        Some(keys.a.kid().as_str()),
        Some("application/json"),
        input,
    )
    .expect("encryption works");
    assert!(jwe::looks_like_jwe(token.as_bytes()));
    let parsed = ParsedJwe::parse(&token).expect("our own token parses");
    assert_eq!(parsed.algorithm(), alg);
    assert_eq!(parsed.kid(), Some(keys.a.kid().as_str()));
    assert_eq!(parsed.decrypt_with_key(&keys.a).expect("decrypts"), input);
    assert!(parsed.decrypt_with_key(&keys.b).is_err());
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
    if let Ok(parsed) = ParsedJwe::parse(&changed) {
        assert!(
            parsed.decrypt_with_key(&keys.a).is_err(),
            "a changed token still decrypts: {changed}"
        );
    }
}

/// Runs one input (what libFuzzer hands the target); panics when an invariant breaks.
pub fn run(data: &[u8]) {
    if let Some(plain) = data.strip_prefix(b"!") {
        if plain.len() <= 4096 {
            encrypt_and_tamper(plain);
        }
        return;
    }
    let _ = jwe::looks_like_jwe(data);
    if let Ok(text) = std::str::from_utf8(data) {
        check_token(text);
        // The legacy `auth` package: base64 text, RSA-OAEP (SHA-1) to the service key.
        if let Ok(plain) = rsa_oaep::decrypt_legacy_auth(&KEYS.a, text) {
            assert!(plain.len() <= 256 - 2 * 20 - 2);
        }
    }
}
