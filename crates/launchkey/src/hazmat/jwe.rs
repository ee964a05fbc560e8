//! Compact JWE: `alg` `RSA-OAEP` or `RSA-OAEP-256`, `enc` `A256CBC-HS512`, nothing else.

use aws_lc_rs::rsa::{OaepPrivateDecryptingKey, PublicEncryptingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::a256cbc_hs512::{self, IV_LEN, KEY_LEN};
use super::rsa_oaep;
use super::{JoseError, JweAlgorithm, MAX_JWE_LEN, b64d, b64e, random, split_compact};

/// The content encryption algorithm: always `A256CBC-HS512`.
pub const ENC: &str = "A256CBC-HS512";

/// The protected header of a JWE as far as LaunchKey uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JweHeader {
    /// Key management algorithm.
    pub alg: String,
    /// Content encryption algorithm.
    pub enc: String,
    /// Key id of the recipient key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Content type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cty: Option<String>,
    /// Compression (never supported; present only to reject it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    /// Critical extensions (none is understood; present only to reject it, RFC 7516 §4.1.13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<serde_json::Value>,
}

/// Encrypts `plaintext` to `key` as a compact JWE with a fresh CEK and IV.
pub fn encrypt(
    alg: JweAlgorithm,
    key: &PublicEncryptingKey,
    kid: Option<&str>,
    cty: Option<&str>,
    plaintext: &[u8],
) -> Result<String, JoseError> {
    let mut cek = Zeroizing::new([0u8; KEY_LEN]);
    random(cek.as_mut())?;
    let mut iv = [0u8; IV_LEN];
    random(&mut iv)?;
    encrypt_with(alg, key, kid, cty, plaintext, &cek, &iv)
}

/// [`encrypt`] to a parsed [`crate::RsaPublicKey`].
pub fn encrypt_to(
    alg: JweAlgorithm,
    key: &crate::RsaPublicKey,
    kid: Option<&str>,
    cty: Option<&str>,
    plaintext: &[u8],
) -> Result<String, JoseError> {
    encrypt(alg, key.encrypting(), kid, cty, plaintext)
}

/// [`encrypt`] with the CEK and IV it drew. Private: a caller-chosen CEK or IV (reused, or
/// predictable) would break the encryption, so no public API accepts them.
fn encrypt_with(
    alg: JweAlgorithm,
    key: &PublicEncryptingKey,
    kid: Option<&str>,
    cty: Option<&str>,
    plaintext: &[u8],
    cek: &[u8; KEY_LEN],
    iv: &[u8; IV_LEN],
) -> Result<String, JoseError> {
    let header = JweHeader {
        alg: alg.as_str().to_owned(),
        enc: ENC.to_owned(),
        kid: kid.map(str::to_owned),
        cty: cty.map(str::to_owned),
        zip: None,
        crit: None,
    };
    let header_json = serde_json::to_vec(&header).map_err(|_| JoseError::Crypto)?;
    let aad = b64e(&header_json);
    let encrypted_key = rsa_oaep::encrypt(key, alg.hash(), cek)?;
    let (ct, tag) = a256cbc_hs512::encrypt(cek, iv, aad.as_bytes(), plaintext)?;
    Ok(format!(
        "{aad}.{}.{}.{}.{}",
        b64e(&encrypted_key),
        b64e(iv),
        b64e(&ct),
        b64e(&tag)
    ))
}

/// Whether `text` looks like a compact JWE (five base64url parts).
pub fn looks_like_jwe(text: &[u8]) -> bool {
    let t = match std::str::from_utf8(text) {
        Ok(t) => t.trim(),
        Err(_) => return false,
    };
    t.len() <= MAX_JWE_LEN
        && t.bytes().filter(|&b| b == b'.').count() == 4
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// A parsed compact JWE whose header passed the allow-list.
#[derive(Debug, Clone)]
pub struct ParsedJwe {
    header: JweHeader,
    alg: JweAlgorithm,
    aad: String,
    encrypted_key: Vec<u8>,
    iv: Vec<u8>,
    ciphertext: Vec<u8>,
    tag: Vec<u8>,
}

impl ParsedJwe {
    /// Splits and decodes a compact JWE; rejects any `alg`/`enc`/`zip` outside the allow-list
    /// before any cryptography.
    pub fn parse(token: &str) -> Result<Self, JoseError> {
        let token = token.trim();
        let [h, k, iv, ct, tag] =
            split_compact::<5>(token, MAX_JWE_LEN, "a compact JWE has five parts")?;
        let header: JweHeader = serde_json::from_slice(&b64d(h)?)
            .map_err(|_| JoseError::Malformed("JWE header is not a JSON object"))?;
        if header.crit.is_some() {
            return Err(JoseError::Malformed(
                "JWE header has `crit`: no extension is understood",
            ));
        }
        let alg = JweAlgorithm::parse(&header.alg)?;
        if header.enc != ENC {
            return Err(JoseError::UnsupportedAlgorithm(
                header.enc.chars().take(32).collect(),
            ));
        }
        if let Some(zip) = &header.zip {
            return Err(JoseError::UnsupportedAlgorithm(format!(
                "zip={}",
                zip.chars().take(16).collect::<String>()
            )));
        }
        Ok(ParsedJwe {
            header,
            alg,
            aad: h.to_owned(),
            encrypted_key: b64d(k)?,
            iv: b64d(iv)?,
            ciphertext: b64d(ct)?,
            tag: b64d(tag)?,
        })
    }

    /// The protected header.
    pub fn header(&self) -> &JweHeader {
        &self.header
    }

    /// The key-management algorithm.
    pub fn algorithm(&self) -> JweAlgorithm {
        self.alg
    }

    /// The recipient key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.header.kid.as_deref()
    }

    /// Decrypts with a service key (see [`ParsedJwe::decrypt`]).
    pub fn decrypt_with_key(&self, key: &crate::ServicePrivateKey) -> Result<Vec<u8>, JoseError> {
        self.decrypt(key.decrypter())
    }

    /// Decrypts with `key`. Every failure is the same [`JoseError::Decryption`]; when the RSA
    /// step fails, a random CEK is used so that the work done does not reveal which step failed
    /// (RFC 7516 §11.5).
    pub fn decrypt(&self, key: &OaepPrivateDecryptingKey) -> Result<Vec<u8>, JoseError> {
        let cek = match rsa_oaep::decrypt(key, self.alg.hash(), &self.encrypted_key, None) {
            Ok(cek) if cek.len() == KEY_LEN => cek,
            _ => {
                let mut fake = Zeroizing::new(vec![0u8; KEY_LEN]);
                random(&mut fake).map_err(|_| JoseError::Decryption)?;
                fake
            }
        };
        a256cbc_hs512::decrypt(
            &cek,
            &self.iv,
            self.aad.as_bytes(),
            &self.ciphertext,
            &self.tag,
        )
    }
}
