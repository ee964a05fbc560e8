//! Hazardous materials: the JOSE primitives under the client — the subset LaunchKey uses, on
//! aws-lc-rs (constant-time RSA, AES, HMAC).
//!
//! **You do not need this module to use LaunchKey**: [`Client`](crate::Client) signs,
//! encrypts, verifies and decrypts every call for you. It is public so that other code (the
//! test suites, the fuzz targets) can check the primitives against published vectors; using
//! them directly means choosing algorithms, keys and checks yourself.
//!
//! | module | what |
//! | --- | --- |
//! | [`a256cbc_hs512`] | content encryption `A256CBC-HS512` (RFC 7518 §5.2.5) |
//! | [`rsa_oaep`] | key encryption `RSA-OAEP` (SHA-1) and `RSA-OAEP-256` (SHA-256) |
//! | [`jwe`] | compact JWE: exactly those two `alg`s with `enc` = `A256CBC-HS512` |
//! | [`jws`] | compact JWS: `RS256`, `RS384`, `RS512` only |
//!
//! Everything else (other algorithms, `none`, `zip`, JSON serialisations) is rejected before
//! any cryptography runs. Every decryption failure — bad RSA padding, bad tag, bad PKCS#7
//! padding — is the same [`JoseError::Decryption`], so no error tells them apart.
//!

pub mod a256cbc_hs512;
pub(crate) mod algorithms;
pub mod jwe;
pub mod jws;
pub mod rsa_oaep;

use crate::{JoseError, JweAlgorithm, JwsAlgorithm};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The longest compact JWS accepted (64 KiB): LaunchKey tokens are about 1 KiB. Longer input
/// is rejected before it is split or decoded.
pub const MAX_JWS_LEN: usize = 64 * 1024;
/// The longest compact JWE accepted (4 MiB; the transport's default body limit is 1 MiB).
pub const MAX_JWE_LEN: usize = 4 * 1024 * 1024;
/// The longest encoded protected header accepted (4 KiB), for JWS and JWE alike.
pub const MAX_HEADER_LEN: usize = 4 * 1024;

/// Encodes base64url without padding.
pub fn b64e(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding (padding or other alphabets are rejected).
pub fn b64d(text: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(text.as_bytes())
        .map_err(|_| JoseError::Malformed("invalid base64url"))
}

/// Splits a compact serialisation into exactly `N` parts without allocating per part, after
/// checking the overall and header lengths (hostile input is bounded before any work).
pub(crate) fn split_compact<'t, const N: usize>(
    token: &'t str,
    max_len: usize,
    what: &'static str,
) -> Result<[&'t str; N], JoseError> {
    if token.len() > max_len {
        return Err(JoseError::Malformed("compact serialisation too long"));
    }
    let mut out = [""; N];
    let mut parts = token.splitn(N + 1, '.');
    for slot in out.iter_mut() {
        *slot = parts.next().ok_or(JoseError::Malformed(what))?;
    }
    if parts.next().is_some() {
        return Err(JoseError::Malformed(what));
    }
    if out[0].len() > MAX_HEADER_LEN {
        return Err(JoseError::Malformed("protected header too long"));
    }
    Ok(out)
}

/// Fills `out` from the system CSPRNG.
pub(crate) fn random(out: &mut [u8]) -> Result<(), JoseError> {
    aws_lc_rs::rand::fill(out).map_err(|_| JoseError::Crypto)
}
