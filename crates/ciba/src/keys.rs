//! The client's signing keys (`private_key_jwt` assertions, signed authentication requests) and
//! the JWS algorithms.
//!
//! JWS signing and verification go through `jsonwebtoken` with its AWS-LC backend only. Key
//! parsing (PEM via `rustls-pki-types`, checks and public parts via `aws-lc-rs`) happens here,
//! once, when a key is loaded.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};

use crate::Error;

/// Makes `jsonwebtoken` use AWS-LC. Without a process-wide provider it panics on first use
/// when feature unification turns on both of its backends (see STYLE.md §3); installing ours
/// first prevents that. An `Err` means one is installed already, which is fine.
pub(crate) fn install_jwt_crypto() {
    let _ = jsonwebtoken::crypto::CryptoProvider::install_default(
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER,
    );
}

/// A JWS algorithm this crate signs or verifies with.
///
/// Signing keys support [`Algorithm::RS256`], [`Algorithm::PS256`] and [`Algorithm::ES256`];
/// ID tokens may also be verified with the others when you allow them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (not allowed by FAPI).
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384.
    ES384,
}

impl Algorithm {
    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
        }
    }

    /// Parses a JOSE name (exact match; `none` and `HS*` are not algorithms here).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "RS256" => Algorithm::RS256,
            "RS384" => Algorithm::RS384,
            "RS512" => Algorithm::RS512,
            "PS256" => Algorithm::PS256,
            "PS384" => Algorithm::PS384,
            "PS512" => Algorithm::PS512,
            "ES256" => Algorithm::ES256,
            "ES384" => Algorithm::ES384,
            _ => return None,
        })
    }

    pub(crate) fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::RS384 => jsonwebtoken::Algorithm::RS384,
            Algorithm::RS512 => jsonwebtoken::Algorithm::RS512,
            Algorithm::PS256 => jsonwebtoken::Algorithm::PS256,
            Algorithm::PS384 => jsonwebtoken::Algorithm::PS384,
            Algorithm::PS512 => jsonwebtoken::Algorithm::PS512,
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::ES384 => jsonwebtoken::Algorithm::ES384,
        }
    }

    /// Whether the algorithm uses an RSA key.
    pub fn is_rsa(self) -> bool {
        !matches!(self, Algorithm::ES256 | Algorithm::ES384)
    }

    /// The EC curve the algorithm needs (`P-256`, `P-384`), for EC algorithms.
    pub fn curve(self) -> Option<&'static str> {
        match self {
            Algorithm::ES256 => Some("P-256"),
            Algorithm::ES384 => Some("P-384"),
            _ => None,
        }
    }

    /// The hash behind the algorithm, for `at_hash` / `rt_hash` (OIDC Core §3.1.3.6).
    pub(crate) fn digest(self) -> &'static aws_lc_rs::digest::Algorithm {
        match self {
            Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256 => &aws_lc_rs::digest::SHA256,
            Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => &aws_lc_rs::digest::SHA384,
            Algorithm::RS512 | Algorithm::PS512 => &aws_lc_rs::digest::SHA512,
        }
    }

    /// Whether FAPI 1.0 Advanced (and so FAPI-CIBA) allows it: PS256 and ES256 only.
    pub fn fapi_allowed(self) -> bool {
        matches!(self, Algorithm::PS256 | Algorithm::ES256)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn key_error(reason: impl Into<String>) -> Error {
    crate::error::config("signing key", reason.into())
}

/// A private key the client signs with: RSA (2048–8192 bits) for RS256 / PS256, EC P-256 for
/// ES256.
///
/// Register [`SigningKey::public_jwk`] with the OP (the client's `jwks`). The key id defaults
/// to the RFC 7638 thumbprint. `Debug` shows the algorithm and key id, never key material, and
/// the key is wiped from memory on drop.
#[derive(Clone)]
pub struct SigningKey {
    alg: Algorithm,
    kid: String,
    key: EncodingKey,
    public: Value,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl SigningKey {
    /// Parses a PEM private key for `alg`: `BEGIN PRIVATE KEY` (PKCS#8, RSA or EC) or
    /// `BEGIN RSA PRIVATE KEY` (PKCS#1).
    pub fn from_pem(pem: &str, alg: Algorithm) -> Result<Self, Error> {
        let text = pem.replace("\r\n", "\n");
        let der = PrivateKeyDer::from_pem_slice(text.as_bytes())
            .map_err(|_| key_error("no private key PEM block found"))?;
        match der {
            PrivateKeyDer::Pkcs1(k) => Self::from_rsa_pkcs1(k.secret_pkcs1_der(), alg),
            PrivateKeyDer::Pkcs8(k) => Self::from_pkcs8_der(k.secret_pkcs8_der(), alg),
            PrivateKeyDer::Sec1(_) => Err(key_error(
                "SEC1 `EC PRIVATE KEY` PEM is not supported: convert it to PKCS#8 (`openssl pkcs8 -topk8 -nocrypt`)",
            )),
            _ => Err(key_error("unsupported private key format")),
        }
    }

    /// Parses a PKCS#8 DER private key for `alg`.
    pub fn from_pkcs8_der(der: &[u8], alg: Algorithm) -> Result<Self, Error> {
        match alg {
            Algorithm::RS256 | Algorithm::PS256 => {
                RsaKeyPair::from_pkcs8(der)
                    .map_err(|e| key_error(format!("RSA key rejected: {e}")))?;
                let pkcs1 =
                    pkcs8_inner_key(der).ok_or_else(|| key_error("malformed PKCS#8 structure"))?;
                Self::from_rsa_pkcs1(pkcs1, alg)
            }
            Algorithm::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|e| key_error(format!("not a P-256 key: {e}")))?;
                let point = pair.public_key().as_ref();
                if point.len() != 65 || point.first() != Some(&4) {
                    return Err(key_error("unexpected EC public key encoding"));
                }
                let (x, y) = point[1..].split_at(32);
                let public = json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(x),
                    "y": URL_SAFE_NO_PAD.encode(y),
                });
                Ok(Self::assemble(alg, EncodingKey::from_ec_der(der), public))
            }
            other => Err(key_error(format!(
                "signing with {other} is not supported (RS256, PS256, ES256)"
            ))),
        }
    }

    fn from_rsa_pkcs1(der: &[u8], alg: Algorithm) -> Result<Self, Error> {
        if !matches!(alg, Algorithm::RS256 | Algorithm::PS256) {
            return Err(key_error(format!("an RSA key cannot sign {alg}")));
        }
        let pair =
            RsaKeyPair::from_der(der).map_err(|e| key_error(format!("RSA key rejected: {e}")))?;
        if pair.public_modulus_len() < 256 {
            return Err(key_error("RSA keys must have at least 2048 bits"));
        }
        let public = pair.public_key();
        let public = json!({
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        });
        Ok(Self::assemble(alg, EncodingKey::from_rsa_der(der), public))
    }

    fn assemble(alg: Algorithm, key: EncodingKey, mut public: Value) -> Self {
        let kid = thumbprint(&public);
        if let Some(o) = public.as_object_mut() {
            o.insert("kid".into(), json!(kid));
            o.insert("use".into(), json!("sig"));
            o.insert("alg".into(), json!(alg.as_str()));
        }
        SigningKey {
            alg,
            kid,
            key,
            public,
        }
    }

    /// A fresh key for `alg` (RSA 2048 for RS256/PS256, P-256 for ES256), for tests and demos.
    pub fn generate(alg: Algorithm) -> Result<Self, Error> {
        let pkcs8: Vec<u8> = if alg.is_rsa() {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048)
                .map_err(|_| key_error("RSA key generation failed"))?;
            let der: Pkcs8V1Der<'static> = pair
                .as_der()
                .map_err(|_| key_error("RSA key encoding failed"))?;
            der.as_ref().to_vec()
        } else {
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| key_error("EC key generation failed"))?
                .as_ref()
                .to_vec()
        };
        let pkcs8 = zeroize::Zeroizing::new(pkcs8);
        Self::from_pkcs8_der(&pkcs8, alg)
    }

    /// Replaces the key id (default: the RFC 7638 SHA-256 thumbprint).
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = kid.into();
        if let Some(o) = self.public.as_object_mut() {
            o.insert("kid".into(), json!(self.kid));
        }
        self
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id sent in the JWS header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (`kty`, `kid`, `use: sig`, `alg` and the public parameters).
    pub fn public_jwk(&self) -> Value {
        self.public.clone()
    }

    /// Signs `claims` as a compact JWS with this key's `alg` and `kid` and the given `typ` (the
    /// client uses it for assertions and request objects; also handy for `login_hint_token`s
    /// and tests).
    pub fn sign(&self, claims: &Value, typ: Option<&str>) -> Result<String, Error> {
        install_jwt_crypto();
        let mut header = Header::new(self.alg.jwt());
        header.kid = Some(self.kid.clone());
        header.typ = typ.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|e| Error::Signing(e.to_string()))
    }

    /// A JWK set (`{"keys": [...]}`) of these keys' public parts: what an OP takes as the
    /// client's `jwks`.
    pub fn public_jwk_set<'a>(keys: impl IntoIterator<Item = &'a SigningKey>) -> Value {
        json!({ "keys": keys.into_iter().map(SigningKey::public_jwk).collect::<Vec<_>>() })
    }
}

/// RFC 7638 JWK thumbprint (SHA-256) of an RSA or EC public JWK.
pub(crate) fn thumbprint(jwk: &Value) -> String {
    let s = |k: &str| jwk.get(k).and_then(Value::as_str).unwrap_or_default();
    // Required members only, in lexicographic order, no white space (RFC 7638 §3).
    let canonical = if s("kty") == "EC" {
        format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            s("crv"),
            s("x"),
            s("y")
        )
    } else {
        format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e"), s("n"))
    };
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        canonical.as_bytes(),
    ))
}

/// One DER element: (tag, contents, rest).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let mut len = 0usize;
        for &b in &rest[..n] {
            len = (len << 8) | usize::from(b);
        }
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

/// The `privateKey` OCTET STRING of a PKCS#8 `PrivateKeyInfo` (RFC 5208): for RSA, the PKCS#1
/// `RSAPrivateKey` that jsonwebtoken's AWS-LC backend signs with.
pub(crate) fn pkcs8_inner_key(der: &[u8]) -> Option<&[u8]> {
    let (0x30, info, _) = der_element(der)? else {
        return None;
    };
    let (0x02, _version, rest) = der_element(info)? else {
        return None;
    };
    let (0x30, _algorithm, rest) = der_element(rest)? else {
        return None;
    };
    let (0x04, key, _) = der_element(rest)? else {
        return None;
    };
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_show_no_secret() {
        for alg in [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256] {
            let key = SigningKey::generate(alg).unwrap();
            let jwt = key.sign(&json!({"iss": "c"}), Some("JWT")).unwrap();
            assert_eq!(jwt.split('.').count(), 3);
            let header = jsonwebtoken::decode_header(&jwt).unwrap();
            assert_eq!(header.kid.as_deref(), Some(key.kid()));
            assert_eq!(header.alg, alg.jwt());
            let shown = format!("{key:?}");
            assert!(
                shown.contains("[redacted]") && !shown.contains("MII"),
                "{shown}"
            );
            let jwk = key.public_jwk();
            assert_eq!(jwk["kid"], json!(key.kid()));
            assert!(jwk.get("d").is_none());
        }
    }

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(&jwk),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn pem_keys_load_in_both_rsa_encodings_and_bad_ones_are_typed_errors() {
        let key = SigningKey::generate(Algorithm::PS256).unwrap();
        let _ = key;
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let pkcs8: Pkcs8V1Der<'static> = pair.as_der().unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref());
        let pem8 = format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n");
        let a = SigningKey::from_pem(&pem8, Algorithm::PS256).unwrap();
        let pkcs1 = pkcs8_inner_key(pkcs8.as_ref()).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs1);
        let pem1 = format!(
            "-----BEGIN RSA PRIVATE KEY-----\r\n{b64}\r\n-----END RSA PRIVATE KEY-----\r\n"
        );
        let b = SigningKey::from_pem(&pem1, Algorithm::RS256).unwrap();
        assert_eq!(a.kid(), b.kid());
        assert!(SigningKey::from_pem(&pem8, Algorithm::ES256).is_err());
        assert!(SigningKey::from_pem("junk", Algorithm::RS256).is_err());
        assert!(SigningKey::from_pkcs8_der(&[0x30, 0x03, 0x02, 0x01], Algorithm::RS256).is_err());
        assert!(pkcs8_inner_key(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
    }
}
