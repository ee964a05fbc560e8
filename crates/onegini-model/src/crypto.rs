//! The model's cryptography on aws-lc-rs: the PIN-protected refresh token (spec §3.3; the
//! scheme is described in [`crate::hazmat`], which makes it public), PKCE `S256` (RFC 7636)
//! and random values.

use std::fmt;
use std::num::NonZeroU32;

use aws_lc_rs::{digest, hmac, pbkdf2, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::hex;
use crate::pin::Pin;

/// The keystream label (spec §3.3).
pub const KEYSTREAM_LABEL: &[u8] = b"onegini-model/rt";

/// The most PBKDF2 iterations a blob may ask for (about 1.7 s on a laptop-class core; the
/// default is 10 000). The count is read from storage, so without a bound an edited file could
/// make one PIN attempt run for many minutes.
pub const MAX_ITERATIONS: u32 = 10_000_000;

/// The random source failed, or a parameter is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The system random generator failed.
    #[error("the random generator failed")]
    Random,
    /// PBKDF2 iterations must be above zero.
    #[error("PBKDF2 iterations must be above zero")]
    ZeroIterations,
    /// More PBKDF2 iterations than [`MAX_ITERATIONS`].
    #[error("PBKDF2 iterations above the maximum of {MAX_ITERATIONS}")]
    TooManyIterations,
    /// A stored blob is malformed (bad hex, wrong lengths).
    #[error("malformed protected secret: {0}")]
    Malformed(&'static str),
}

/// `n` random bytes from the system CSPRNG.
pub(crate) fn random_bytes(n: usize) -> Result<Vec<u8>, CryptoError> {
    let mut out = vec![0u8; n];
    rand::fill(&mut out).map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// `2n` random lowercase hex characters.
pub(crate) fn random_hex(n: usize) -> Result<String, CryptoError> {
    Ok(hex::encode(random_bytes(n)?))
}

/// The longest string [`random_from`] makes.
pub(crate) const MAX_RANDOM_LEN: usize = 4096;

/// A random string of `len` (at most [`MAX_RANDOM_LEN`]) characters from `alphabet`
/// (rejection sampling, no modulo bias).
pub(crate) fn random_from(alphabet: &[u8], len: usize) -> Result<String, CryptoError> {
    let n = alphabet.len();
    if n == 0 || n > 256 {
        return Err(CryptoError::Malformed("alphabet size"));
    }
    if len > MAX_RANDOM_LEN {
        return Err(CryptoError::Malformed("random string length"));
    }
    let limit = 256 - (256 % n);
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes(len * 2)? {
            if usize::from(b) < limit && out.len() < len {
                out.push(char::from(alphabet[usize::from(b) % n]));
            }
        }
    }
    Ok(out)
}

/// PKCE `S256` challenge of a verifier: `BASE64URL(SHA-256(ASCII(verifier)))` (RFC 7636 §4.2).
pub fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

/// A new PKCE verifier: 32 random bytes, base64url (43 characters).
pub(crate) fn pkce_verifier() -> Result<String, CryptoError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes(32)?))
}

/// A secret sealed under a PIN, as stored on the device: salt, iterations, ciphertext.
/// Serializes as hex; `Debug` shows only the lengths and the iteration count.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinProtectedSecret {
    /// 16 random bytes, hex.
    salt: String,
    /// PBKDF2 iterations (stored so the count can be raised later).
    iterations: u32,
    /// `secret XOR keystream`, hex (as long as the secret; no tag).
    ciphertext: String,
}

impl fmt::Debug for PinProtectedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinProtectedSecret")
            .field("iterations", &self.iterations)
            .field("ciphertext_len", &(self.ciphertext.len() / 2))
            .finish_non_exhaustive()
    }
}

fn keystream(
    pin: &Pin,
    salt: &[u8],
    iterations: u32,
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let iterations = NonZeroU32::new(iterations).ok_or(CryptoError::ZeroIterations)?;
    if iterations.get() > MAX_ITERATIONS {
        return Err(CryptoError::TooManyIterations);
    }
    if len > 32 {
        return Err(CryptoError::Malformed("secrets are at most 32 bytes"));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        pin.expose_secret().as_bytes(),
        key.as_mut(),
    );
    let mac_key = hmac::Key::new(hmac::HMAC_SHA256, key.as_ref());
    let mut ctx = hmac::Context::with_key(&mac_key);
    ctx.update(KEYSTREAM_LABEL);
    ctx.update(salt);
    let tag = ctx.sign();
    Ok(Zeroizing::new(tag.as_ref()[..len].to_vec()))
}

impl PinProtectedSecret {
    /// Seals `secret` (at most 32 bytes) under `pin` with a fresh random salt.
    pub fn seal(secret: &[u8], pin: &Pin, iterations: u32) -> Result<Self, CryptoError> {
        let salt = random_bytes(16)?;
        Self::seal_with_salt(secret, pin, iterations, &salt)
    }

    /// Seals with a given salt. Only for deterministic fixtures: never reuse a salt.
    pub fn seal_with_salt(
        secret: &[u8],
        pin: &Pin,
        iterations: u32,
        salt: &[u8],
    ) -> Result<Self, CryptoError> {
        let stream = keystream(pin, salt, iterations, secret.len())?;
        let ciphertext: Vec<u8> = secret
            .iter()
            .zip(stream.iter())
            .map(|(a, b)| a ^ b)
            .collect();
        Ok(PinProtectedSecret {
            salt: hex::encode(salt),
            iterations,
            ciphertext: hex::encode(ciphertext),
        })
    }

    /// Decrypts with `pin`. Always yields a candidate of the right length, whatever the PIN:
    /// only the Token Server can say whether it is right.
    pub fn open(&self, pin: &Pin) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let salt = hex::decode(&self.salt).map_err(|_| CryptoError::Malformed("salt"))?;
        let ct = hex::decode(&self.ciphertext).map_err(|_| CryptoError::Malformed("ciphertext"))?;
        let stream = keystream(pin, &salt, self.iterations, ct.len())?;
        Ok(Zeroizing::new(
            ct.iter().zip(stream.iter()).map(|(a, b)| a ^ b).collect(),
        ))
    }

    /// The PBKDF2 iteration count.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// The salt, hex.
    pub fn salt_hex(&self) -> &str {
        &self.salt
    }

    /// The ciphertext, hex.
    pub fn ciphertext_hex(&self) -> &str {
        &self.ciphertext
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_rfc7636_appendix_b() {
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let v = pkce_verifier().unwrap();
        assert_eq!(v.len(), 43);
    }

    #[test]
    fn sealing_is_untagged_and_salted_freshly() {
        let secret = random_bytes(32).unwrap();
        let pin = Pin::new("31415");
        let a = PinProtectedSecret::seal(&secret, &pin, 1000).unwrap();
        let b = PinProtectedSecret::seal(&secret, &pin, 1000).unwrap();
        assert_ne!(a.salt_hex(), b.salt_hex());
        assert_ne!(a.ciphertext_hex(), b.ciphertext_hex());
        // No tag: ciphertext is exactly as long as the secret.
        assert_eq!(a.ciphertext_hex().len(), 64);
        assert_eq!(a.open(&pin).unwrap().as_slice(), secret.as_slice());
        // Every wrong PIN yields a 32-byte candidate and no error.
        for wrong in ["00000", "31416", "99999"] {
            let c = a.open(&Pin::new(wrong)).unwrap();
            assert_eq!(c.len(), 32);
            assert_ne!(c.as_slice(), secret.as_slice());
        }
        assert!(!format!("{a:?}").contains(a.ciphertext_hex()));
        assert_eq!(
            PinProtectedSecret::seal(&secret, &pin, 0),
            Err(CryptoError::ZeroIterations)
        );
    }

    #[test]
    fn no_offline_pin_oracle() {
        // What is stored: salt, iterations and a ciphertext exactly as long as the secret.
        // Nothing else (no tag, no hash, no check value) that a PIN guess could be tested on.
        let secret = random_bytes(32).unwrap();
        let blob = PinProtectedSecret::seal(&secret, &Pin::new("31415"), 1).unwrap();
        let json = serde_json::to_value(&blob).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["ciphertext", "iterations", "salt"]);
        assert_eq!(blob.ciphertext_hex().len(), 2 * secret.len());
        // Every wrong PIN opens without an error to a full-length candidate; the candidates
        // differ from the secret and from each other in about half of their bits, so none is
        // recognisable as "almost right" or "malformed".
        let mut seen = std::collections::HashSet::new();
        let mut differing_bits = 0u32;
        let wrong: Vec<String> = (0..300).map(|i| format!("{:05}", i * 7 + 1)).collect();
        for pin in &wrong {
            let candidate = blob.open(&Pin::new(pin.as_str())).unwrap();
            assert_eq!(candidate.len(), 32);
            assert_ne!(candidate.as_slice(), secret.as_slice(), "{pin}");
            assert!(seen.insert(candidate.to_vec()), "{pin} repeats a candidate");
            differing_bits += candidate
                .iter()
                .zip(&secret)
                .map(|(a, b)| (a ^ b).count_ones())
                .sum::<u32>();
        }
        let ratio = f64::from(differing_bits) / (300.0 * 256.0);
        assert!(
            (0.47..0.53).contains(&ratio),
            "bit difference ratio {ratio}"
        );
        // Empty and non-digit "PINs" are no special case either.
        for odd in ["", "abcde", "３１４１５"] {
            assert_eq!(blob.open(&Pin::new(odd)).unwrap().len(), 32);
        }
    }

    #[test]
    fn malformed_blobs_are_errors() {
        let blob: PinProtectedSecret =
            serde_json::from_str(r#"{"salt":"zz","iterations":1,"ciphertext":"00"}"#).unwrap();
        assert_eq!(
            blob.open(&Pin::new("1")),
            Err(CryptoError::Malformed("salt"))
        );
        for (json, err) in [
            (
                r#"{"salt":"00","iterations":1,"ciphertext":"0"}"#.to_owned(),
                CryptoError::Malformed("ciphertext"),
            ),
            (
                r#"{"salt":"00","iterations":0,"ciphertext":"00"}"#.to_owned(),
                CryptoError::ZeroIterations,
            ),
            (
                // Found by fuzz/fuzz_targets/onegini_model_pin_secret.rs: an edited count would
                // make one PIN attempt run for many minutes.
                r#"{"salt":"00","iterations":4294967295,"ciphertext":"00"}"#.to_owned(),
                CryptoError::TooManyIterations,
            ),
            (
                format!(
                    r#"{{"salt":"00","iterations":1,"ciphertext":"{}"}}"#,
                    "00".repeat(33)
                ),
                CryptoError::Malformed("secrets are at most 32 bytes"),
            ),
        ] {
            let blob: PinProtectedSecret = serde_json::from_str(&json).unwrap();
            assert_eq!(blob.open(&Pin::new("1")), Err(err), "{json}");
        }
        assert_eq!(
            PinProtectedSecret::seal(&[0u8; 33], &Pin::new("1"), 1),
            Err(CryptoError::Malformed("secrets are at most 32 bytes"))
        );
    }

    #[test]
    fn random_from_alphabet() {
        let s = random_from(b"ABC", 50).unwrap();
        assert_eq!(s.len(), 50);
        assert!(s.bytes().all(|b| b"ABC".contains(&b)));
        assert!(random_from(b"", 3).is_err());
        assert!(random_from(&[b'x'; 257], 3).is_err());
        assert_eq!(
            random_from(b"ABC", usize::MAX),
            Err(CryptoError::Malformed("random string length"))
        );
        assert_eq!(
            random_from(b"A", MAX_RANDOM_LEN).unwrap().len(),
            MAX_RANDOM_LEN
        );
    }
}
