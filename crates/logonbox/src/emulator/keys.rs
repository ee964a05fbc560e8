//! The phone's keys: real Ed25519 and RSA key pairs (aws-lc-rs), signing as the app does.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair as _, RsaKeyPair};

use super::EmulatorError;
use crate::key::{AuthorizedKey, FLAGS_RSA_SHA2_256, FLAGS_RSA_SHA2_512, KeyType};

/// The size of generated RSA keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RsaBits {
    /// 2048 bits.
    Rsa2048,
    /// 3072 bits (what the app's "Legacy RSA" keys are; the default).
    #[default]
    Rsa3072,
}

enum Pair {
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A key pair held by the emulated phone. `Debug` shows only the public part.
pub struct EmulatorKey {
    pair: Pair,
    public: AuthorizedKey,
}

impl fmt::Debug for EmulatorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorKey")
            .field("public", &self.public)
            .field("private", &"[redacted]")
            .finish()
    }
}

impl EmulatorKey {
    /// A fresh ed25519 key ("LogonBox Key").
    pub fn generate_ed25519() -> Result<Self, EmulatorError> {
        let pair = Ed25519KeyPair::generate()
            .map_err(|_| EmulatorError("ed25519 key generation failed".into()))?;
        Ok(Self::from_ed25519(pair))
    }

    /// An ed25519 key from a 32-byte seed (deterministic keys for fixtures).
    pub fn ed25519_from_seed(seed: &[u8; 32]) -> Result<Self, EmulatorError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|e| EmulatorError(format!("bad ed25519 seed: {e}")))?;
        Ok(Self::from_ed25519(pair))
    }

    fn from_ed25519(pair: Ed25519KeyPair) -> Self {
        let mut pk = [0u8; 32];
        pk.copy_from_slice(pair.public_key().as_ref());
        EmulatorKey {
            public: AuthorizedKey::ed25519(pk, "LogonBox Key"),
            pair: Pair::Ed25519(pair),
        }
    }

    /// A fresh RSA key ("Legacy RSA").
    pub fn generate_rsa(bits: RsaBits) -> Result<Self, EmulatorError> {
        let size = match bits {
            RsaBits::Rsa2048 => KeySize::Rsa2048,
            RsaBits::Rsa3072 => KeySize::Rsa3072,
        };
        let pair = RsaKeyPair::generate(size)
            .map_err(|_| EmulatorError("RSA key generation failed".into()))?;
        Self::from_rsa(pair)
    }

    /// An RSA key from a PKCS#8 DER private key.
    pub fn rsa_from_pkcs8(der: &[u8]) -> Result<Self, EmulatorError> {
        let pair = RsaKeyPair::from_pkcs8(der)
            .map_err(|e| EmulatorError(format!("bad RSA PKCS#8 key: {e}")))?;
        Self::from_rsa(pair)
    }

    fn from_rsa(pair: RsaKeyPair) -> Result<Self, EmulatorError> {
        let public = pair.public_key();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let public = AuthorizedKey::rsa(&e, &n, "Legacy RSA")
            .map_err(|e| EmulatorError(format!("unusable RSA key: {e}")))?;
        Ok(EmulatorKey {
            pair: Pair::Rsa(pair),
            public,
        })
    }

    /// The public key, as the server lists it.
    pub fn public(&self) -> &AuthorizedKey {
        &self.public
    }

    /// The private key as PKCS#8 DER (to check a fixture in; treat it as a secret).
    pub fn pkcs8_der(&self) -> Result<Vec<u8>, EmulatorError> {
        match &self.pair {
            Pair::Ed25519(p) => p
                .to_pkcs8()
                .map(|d| d.as_ref().to_vec())
                .map_err(|_| EmulatorError("cannot export the key".into())),
            Pair::Rsa(p) => p
                .as_der()
                .map(|d| d.as_ref().to_vec())
                .map_err(|_| EmulatorError("cannot export the key".into())),
        }
    }

    /// Signs as the phone app does: ed25519 raw over `message` (flags ignored); RSA PKCS#1
    /// v1.5 with SHA-512 for flags 4, SHA-256 for flags 2. Other RSA flags (SHA-1 in the
    /// official clients) cannot be signed here: aws-lc-rs has no SHA-1 signing.
    pub fn sign(&self, flags: u32, message: &[u8]) -> Result<Vec<u8>, EmulatorError> {
        match &self.pair {
            Pair::Ed25519(p) => Ok(p.sign(message).as_ref().to_vec()),
            Pair::Rsa(p) => {
                let encoding: &'static dyn signature::RsaEncoding = match flags {
                    FLAGS_RSA_SHA2_512 => &signature::RSA_PKCS1_SHA512,
                    FLAGS_RSA_SHA2_256 => &signature::RSA_PKCS1_SHA256,
                    other => {
                        return Err(EmulatorError(format!(
                            "RSA flags {other} (SHA-1) are not supported by the emulator"
                        )));
                    }
                };
                let mut sig = vec![0u8; p.public_modulus_len()];
                p.sign(
                    encoding,
                    &aws_lc_rs::rand::SystemRandom::new(),
                    message,
                    &mut sig,
                )
                .map_err(|_| EmulatorError("RSA signing failed".into()))?;
                Ok(sig)
            }
        }
    }
}

impl EmulatorKey {
    /// A fresh key of this type (RSA keys are 3072-bit, as the app's "Legacy RSA" keys).
    pub fn generate(key_type: KeyType) -> Result<Self, EmulatorError> {
        match key_type {
            KeyType::Ed25519 => EmulatorKey::generate_ed25519(),
            KeyType::Rsa => EmulatorKey::generate_rsa(RsaBits::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sign_and_verify_and_debug_is_redacted() {
        let seed = [7u8; 32];
        let k = EmulatorKey::ed25519_from_seed(&seed).unwrap();
        let sig = k.sign(0, b"hello").unwrap();
        k.public().verify(0, b"hello", &sig).unwrap();
        assert!(k.public().verify(0, b"hellO", &sig).is_err());
        let dbg = format!("{k:?}");
        let der = k.pkcs8_der().unwrap();
        assert!(!dbg.contains(&crate::b64::encode_std(&der)));
        assert!(!dbg.contains(&format!("{:?}", &seed[..])));
        assert!(dbg.contains("[redacted]"));
    }
}
