//! The SSH wire key parser (`AuthorizedKey::from_blob`, RFC 4251 `string`/`mpint`), with the
//! signature verifier behind it.
//!
//! Invariants checked on every input that parses: the key keeps exactly the input bytes as its
//! blob; the blob is canonical (re-encoding the parsed key gives the same bytes, so the
//! fingerprint is the OpenSSH one); the key line round-trips; verifying garbage never panics
//! and never succeeds.

use logonbox::{AuthorizedKey, KeyType};

/// Runs one input (what libFuzzer hands the target); panics when an invariant breaks.
pub fn run(data: &[u8]) {
    let Ok(key) = AuthorizedKey::from_blob(data, "fuzz") else {
        return;
    };
    assert_eq!(key.blob(), data);
    match key.key_type() {
        KeyType::Ed25519 => {
            let pk = key
                .ed25519_public_key()
                .expect("an ed25519 key has 32 bytes");
            assert_eq!(AuthorizedKey::ed25519(*pk, "fuzz").blob(), data);
        }
        KeyType::Rsa => {
            let (e, n) = key.rsa_components().expect("an RSA key has e and n");
            let again = AuthorizedKey::rsa(e, n, "fuzz").expect("a parsed RSA key rebuilds");
            assert_eq!(again.blob(), data, "non-canonical RSA blob accepted");
        }
        _ => {}
    }
    let line = key.to_line();
    let reparsed = AuthorizedKey::parse_line(&line).expect("our own key line parses");
    assert_eq!(reparsed, key);
    for flags in [0, 1, 2, 4, u32::MAX] {
        assert!(key.verify(flags, data, data).is_err());
    }
}
