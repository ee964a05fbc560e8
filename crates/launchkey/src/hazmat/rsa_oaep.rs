//! RSA-OAEP key encryption: `RSA-OAEP` (SHA-1, MGF1-SHA-1) and `RSA-OAEP-256` (SHA-256,
//! MGF1-SHA-256), RFC 7518 §4.3. Decryption runs in AWS-LC (blinded, constant time).

use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm, OaepPrivateDecryptingKey,
    OaepPublicEncryptingKey, PublicEncryptingKey,
};
use zeroize::Zeroizing;

use super::JoseError;

/// The OAEP hash (and MGF1 hash, always the same here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OaepHash {
    /// SHA-1 (`RSA-OAEP`, and the legacy `auth` package).
    Sha1,
    /// SHA-256 (`RSA-OAEP-256`).
    Sha256,
}

impl OaepHash {
    fn algorithm(self) -> &'static OaepAlgorithm {
        match self {
            OaepHash::Sha1 => &OAEP_SHA1_MGF1SHA1,
            OaepHash::Sha256 => &OAEP_SHA256_MGF1SHA256,
        }
    }
}

/// Encrypts `plaintext` (a content key) to `key`.
pub fn encrypt(
    key: &PublicEncryptingKey,
    hash: OaepHash,
    plaintext: &[u8],
) -> Result<Vec<u8>, JoseError> {
    let oaep =
        OaepPublicEncryptingKey::new(key.clone()).map_err(|_| JoseError::KeyRejected("rsa"))?;
    let mut out = vec![0u8; oaep.ciphertext_size()];
    let len = oaep
        .encrypt(hash.algorithm(), plaintext, &mut out, None)
        .map_err(|_| JoseError::Crypto)?
        .len();
    out.truncate(len);
    Ok(out)
}

/// Decrypts `ciphertext` with `key`; any failure is [`JoseError::Decryption`].
///
/// `label` is the OAEP label (JOSE never uses one; the vectors do).
pub fn decrypt(
    key: &OaepPrivateDecryptingKey,
    hash: OaepHash,
    ciphertext: &[u8],
    label: Option<&[u8]>,
) -> Result<Zeroizing<Vec<u8>>, JoseError> {
    if ciphertext.len() != key.key_size_bytes() {
        return Err(JoseError::Decryption);
    }
    let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
    let len = key
        .decrypt(hash.algorithm(), ciphertext, &mut out, label)
        .map_err(|_| JoseError::Decryption)?
        .len();
    out.truncate(len);
    Ok(out)
}

/// Decrypts a legacy `auth` package: base64 (whitespace and line breaks ignored), then
/// RSA-OAEP with SHA-1 and MGF1-SHA-1 under `key`.
pub fn decrypt_legacy_auth(
    key: &crate::ServicePrivateKey,
    base64_text: &str,
) -> Result<Zeroizing<Vec<u8>>, JoseError> {
    use base64::Engine as _;
    let compact: String = base64_text.chars().filter(|c| !c.is_whitespace()).collect();
    let ct = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| JoseError::Decryption)?;
    decrypt(key.decrypter(), OaepHash::Sha1, &ct, None)
}
