//! RSA keys: the service's private keys (PEM, PKCS#1 or PKCS#8) and the API's public keys.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{
    KeyPair, OaepPrivateDecryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use base64::Engine as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{PrivateKeyDer, SubjectPublicKeyInfoDer};
use zeroize::Zeroize;

use crate::{Error, Kid};

/// Normalises CR and CRLF line ends to LF (the Java SDK's tests use all three).
fn normalise(pem: &str) -> String {
    pem.replace("\r\n", "\n").replace('\r', "\n")
}

fn key_error(reason: &str) -> Error {
    Error::InvalidKey {
        reason: reason.to_owned(),
    }
}

/// One of the service's RSA private keys (2048–8192 bits).
///
/// Holds the key in AWS-LC structures only (signing and constant-time OAEP decryption); the
/// PEM text is not kept. `Debug` shows the key id, never key material.
pub struct ServicePrivateKey {
    kid: Kid,
    signer: KeyPair,
    decrypter: OaepPrivateDecryptingKey,
    public: RsaPublicKey,
}

impl fmt::Debug for ServicePrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServicePrivateKey")
            .field("kid", &self.kid)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl ServicePrivateKey {
    /// Parses a PEM private key: `BEGIN RSA PRIVATE KEY` (PKCS#1) or `BEGIN PRIVATE KEY`
    /// (PKCS#8), with LF, CR or CRLF line ends.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let text = normalise(pem);
        let der = PrivateKeyDer::from_pem_slice(text.as_bytes())
            .map_err(|_| key_error("no RSA private key PEM block found"))?;
        match der {
            PrivateKeyDer::Pkcs1(pkcs1) => {
                let pair = KeyPair::from_der(pkcs1.secret_pkcs1_der())
                    .map_err(|_| key_error("PKCS#1 key rejected"))?;
                let mut pkcs8: Vec<u8> = pair
                    .as_der()
                    .map_err(|_| key_error("could not re-encode the key"))
                    .map(|d: Pkcs8V1Der<'static>| d.as_ref().to_vec())?;
                let out = Self::from_parts(pair, &pkcs8);
                pkcs8.zeroize();
                out
            }
            PrivateKeyDer::Pkcs8(pkcs8) => {
                let pair = KeyPair::from_pkcs8(pkcs8.secret_pkcs8_der())
                    .map_err(|_| key_error("PKCS#8 key is not an acceptable RSA key"))?;
                Self::from_parts(pair, pkcs8.secret_pkcs8_der())
            }
            _ => Err(key_error("not an RSA key")),
        }
    }

    /// Parses a PKCS#8 DER private key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        let pair = KeyPair::from_pkcs8(der)
            .map_err(|_| key_error("PKCS#8 key is not an acceptable RSA key"))?;
        Self::from_parts(pair, der)
    }

    fn from_parts(signer: KeyPair, pkcs8: &[u8]) -> Result<Self, Error> {
        let dec = PrivateDecryptingKey::from_pkcs8(pkcs8)
            .map_err(|_| key_error("key rejected for decryption"))?;
        let encrypting = dec.public_key();
        let spki_der = encrypting
            .as_der()
            .map(|d: PublicKeyX509Der<'static>| d.as_ref().to_vec())
            .map_err(|_| key_error("could not encode the public key"))?;
        let decrypter =
            OaepPrivateDecryptingKey::new(dec).map_err(|_| key_error("key rejected for OAEP"))?;
        Ok(ServicePrivateKey {
            kid: Kid::fingerprint(&spki_der),
            signer,
            decrypter,
            public: RsaPublicKey {
                spki_der,
                encrypting,
            },
        })
    }

    /// Generates a fresh 2048-bit key (for tests and the emulator; production keys are made on
    /// the LaunchKey dashboard).
    pub fn generate() -> Result<Self, Error> {
        let pair = KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|_| key_error("key generation failed"))?;
        let mut pkcs8: Vec<u8> = pair
            .as_der()
            .map(|d: Pkcs8V1Der<'static>| d.as_ref().to_vec())
            .map_err(|_| key_error("could not encode the key"))?;
        let out = Self::from_parts(pair, &pkcs8);
        pkcs8.zeroize();
        out
    }

    /// The key id (MD5 fingerprint of the public key's DER SubjectPublicKeyInfo).
    pub fn kid(&self) -> &Kid {
        &self.kid
    }

    /// The public key (uploaded to the LaunchKey dashboard).
    pub fn public_key(&self) -> RsaPublicKey {
        self.public.clone()
    }

    /// The public key as DER SubjectPublicKeyInfo.
    pub fn public_key_der(&self) -> &[u8] {
        self.public.der()
    }

    /// The public key as PEM (`BEGIN PUBLIC KEY`), as uploaded to the LaunchKey dashboard.
    pub fn public_key_pem(&self) -> String {
        self.public.to_pem()
    }

    /// Signs `payload` as a compact JWS with this key (header `alg` and `kid`).
    pub fn sign_jws(
        &self,
        alg: crate::JwsAlgorithm,
        payload: &[u8],
    ) -> Result<String, crate::JoseError> {
        crate::hazmat::jws::sign(alg, &self.signer, Some(self.kid.as_str()), payload)
    }

    pub(crate) fn signer(&self) -> &KeyPair {
        &self.signer
    }

    pub(crate) fn decrypter(&self) -> &OaepPrivateDecryptingKey {
        &self.decrypter
    }
}

/// PEM-encodes a DER SubjectPublicKeyInfo.
pub(crate) fn spki_pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END PUBLIC KEY-----\n");
    out
}

/// An RSA public key of the LaunchKey API (or of a service, as the emulator sees it).
#[derive(Clone)]
pub struct RsaPublicKey {
    spki_der: Vec<u8>,
    encrypting: PublicEncryptingKey,
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaPublicKey")
            .field("fingerprint", &Kid::fingerprint(&self.spki_der))
            .finish()
    }
}

impl RsaPublicKey {
    /// Parses `BEGIN PUBLIC KEY` PEM (SubjectPublicKeyInfo).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let text = normalise(pem);
        let der = SubjectPublicKeyInfoDer::from_pem_slice(text.as_bytes())
            .map_err(|_| key_error("no PUBLIC KEY PEM block found"))?;
        Self::from_der(der.as_ref())
    }

    /// Parses a DER SubjectPublicKeyInfo.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let encrypting = PublicEncryptingKey::from_der(der)
            .map_err(|_| key_error("not an acceptable RSA public key"))?;
        Ok(RsaPublicKey {
            spki_der: der.to_vec(),
            encrypting,
        })
    }

    /// DER SubjectPublicKeyInfo.
    pub fn der(&self) -> &[u8] {
        &self.spki_der
    }

    /// PEM SubjectPublicKeyInfo.
    pub fn to_pem(&self) -> String {
        spki_pem(&self.spki_der)
    }

    /// The MD5 fingerprint key id.
    pub fn fingerprint(&self) -> Kid {
        Kid::fingerprint(&self.spki_der)
    }

    pub(crate) fn encrypting(&self) -> &PublicEncryptingKey {
        &self.encrypting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PKCS1: &str = include_str!("../../../fixtures/launchkey/keys/service-a-pkcs1.pem");
    const PKCS1_PUB: &str =
        include_str!("../../../fixtures/launchkey/keys/service-a-pkcs1.pub.pem");
    const PKCS8: &str = include_str!("../../../fixtures/launchkey/keys/service-b-pkcs8.pem");

    #[test]
    fn parses_pkcs1_and_pkcs8_with_any_line_end() {
        let a = ServicePrivateKey::from_pem(PKCS1).unwrap();
        let pubkey = RsaPublicKey::from_pem(PKCS1_PUB).unwrap();
        assert_eq!(a.public_key_der(), pubkey.der());
        assert_eq!(a.kid(), &pubkey.fingerprint());
        for variant in [PKCS1.replace('\n', "\r\n"), PKCS1.replace('\n', "\r")] {
            let k = ServicePrivateKey::from_pem(&variant).unwrap();
            assert_eq!(k.kid(), a.kid());
        }
        let b = ServicePrivateKey::from_pem(PKCS8).unwrap();
        assert_ne!(a.kid(), b.kid());
        assert_eq!(
            RsaPublicKey::from_pem(&b.public_key_pem()).unwrap().der(),
            b.public_key_der()
        );
    }

    #[test]
    fn rejects_junk_without_leaking() {
        for bad in [
            "",
            "hello",
            PKCS1_PUB,
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        ] {
            let err = ServicePrivateKey::from_pem(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidKey { .. }), "{err:?}");
        }
        let k = ServicePrivateKey::from_pem(PKCS1).unwrap();
        let dbg = format!("{k:?}");
        assert!(!dbg.contains("MII"), "{dbg}");
        assert!(dbg.contains(k.kid().as_str()));
    }
}
