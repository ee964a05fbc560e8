//! `A256CBC-HS512` (RFC 7518 §5.2.5): AES-256-CBC with PKCS#7 padding, authenticated with the
//! first 32 bytes of HMAC-SHA-512 over `AAD ‖ IV ‖ ciphertext ‖ AL`.
//!
//! The 64-byte key is split: the first 32 bytes key the HMAC, the last 32 bytes key AES.

use aws_lc_rs::cipher::{
    AES_256, DecryptionContext, EncryptionContext, PaddedBlockDecryptingKey,
    PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::hmac;
use aws_lc_rs::iv::FixedLength;

use super::JoseError;

/// Key length in bytes (HMAC key ‖ AES key).
pub const KEY_LEN: usize = 64;
/// IV length in bytes.
pub const IV_LEN: usize = 16;
/// Authentication tag length in bytes.
pub const TAG_LEN: usize = 32;

fn tag(mac_key: &[u8], aad: &[u8], iv: &[u8], ciphertext: &[u8]) -> [u8; TAG_LEN] {
    let key = hmac::Key::new(hmac::HMAC_SHA512, mac_key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(aad);
    ctx.update(iv);
    ctx.update(ciphertext);
    let al = (aad.len() as u64).wrapping_mul(8).to_be_bytes();
    ctx.update(&al);
    let full = ctx.sign();
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&full.as_ref()[..TAG_LEN]);
    out
}

/// Encrypts `plaintext` with the given key and IV; returns `(ciphertext, tag)`.
///
/// The IV must be fresh and random for every message (the JWE layer draws it).
pub fn encrypt(
    key: &[u8; KEY_LEN],
    iv: &[u8; IV_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<(Vec<u8>, [u8; TAG_LEN]), JoseError> {
    let (mac_key, enc_key) = key.split_at(32);
    let unbound = UnboundCipherKey::new(&AES_256, enc_key).map_err(|_| JoseError::Crypto)?;
    let cipher = PaddedBlockEncryptingKey::cbc_pkcs7(unbound).map_err(|_| JoseError::Crypto)?;
    let mut buf = plaintext.to_vec();
    cipher
        .less_safe_encrypt(&mut buf, EncryptionContext::Iv128(FixedLength::from(*iv)))
        .map_err(|_| JoseError::Crypto)?;
    let t = tag(mac_key, aad, iv, &buf);
    Ok((buf, t))
}

/// Checks the tag in constant time, then decrypts.
///
/// Any failure (wrong key, IV or tag length, tag mismatch, bad padding) is
/// [`JoseError::Decryption`].
pub fn decrypt(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
    tag_in: &[u8],
) -> Result<Vec<u8>, JoseError> {
    if key.len() != KEY_LEN || iv.len() != IV_LEN || tag_in.len() != TAG_LEN {
        return Err(JoseError::Decryption);
    }
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(16) {
        return Err(JoseError::Decryption);
    }
    let (mac_key, enc_key) = key.split_at(32);
    let expected = tag(mac_key, aad, iv, ciphertext);
    verify_slices_are_equal(&expected, tag_in).map_err(|_| JoseError::Decryption)?;
    let mut iv_arr = [0u8; IV_LEN];
    iv_arr.copy_from_slice(iv);
    let unbound = UnboundCipherKey::new(&AES_256, enc_key).map_err(|_| JoseError::Decryption)?;
    let cipher = PaddedBlockDecryptingKey::cbc_pkcs7(unbound).map_err(|_| JoseError::Decryption)?;
    let mut buf = ciphertext.to_vec();
    let len = cipher
        .decrypt(
            &mut buf,
            DecryptionContext::Iv128(FixedLength::from(iv_arr)),
        )
        .map_err(|_| JoseError::Decryption)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 7518 Appendix B.3 (AES_256_CBC_HMAC_SHA_512).
    #[test]
    fn rfc7518_b3() {
        let key = hex(
            "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f
             20 21 22 23 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f 30 31 32 33 34 35 36 37 38 39 3a 3b 3c 3d 3e 3f",
        );
        let p = hex(
            "41 20 63 69 70 68 65 72 20 73 79 73 74 65 6d 20 6d 75 73 74 20 6e 6f 74 20 62 65 20 72 65 71 75
             69 72 65 64 20 74 6f 20 62 65 20 73 65 63 72 65 74 2c 20 61 6e 64 20 69 74 20 6d 75 73 74 20 62
             65 20 61 62 6c 65 20 74 6f 20 66 61 6c 6c 20 69 6e 74 6f 20 74 68 65 20 68 61 6e 64 73 20 6f 66
             20 74 68 65 20 65 6e 65 6d 79 20 77 69 74 68 6f 75 74 20 69 6e 63 6f 6e 76 65 6e 69 65 6e 63 65",
        );
        let iv = hex("1a f3 8c 2d c2 b9 6f fd d8 66 94 09 23 41 bc 04");
        let a = hex(
            "54 68 65 20 73 65 63 6f 6e 64 20 70 72 69 6e 63 69 70 6c 65 20 6f 66 20 41 75 67 75 73 74 65 20
             4b 65 72 63 6b 68 6f 66 66 73",
        );
        let e = hex(
            "4a ff aa ad b7 8c 31 c5 da 4b 1b 59 0d 10 ff bd 3d d8 d5 d3 02 42 35 26 91 2d a0 37 ec bc c7 bd
             82 2c 30 1d d6 7c 37 3b cc b5 84 ad 3e 92 79 c2 e6 d1 2a 13 74 b7 7f 07 75 53 df 82 94 10 44 6b
             36 eb d9 70 66 29 6a e6 42 7e a7 5c 2e 08 46 a1 1a 09 cc f5 37 0d c8 0b fe cb ad 28 c7 3f 09 b3
             a3 b7 5e 66 2a 25 94 41 0a e4 96 b2 e2 e6 60 9e 31 e6 e0 2c c8 37 f0 53 d2 1f 37 ff 4f 51 95 0b
             be 26 38 d0 9d d7 a4 93 09 30 80 6d 07 03 b1 f6",
        );
        let t = hex(
            "4d d3 b4 c0 88 a7 f4 5c 21 68 39 64 5b 20 12 bf 2e 62 69 a8 c5 6a 81 6d bc 1b 26 77 61 95 5b c5",
        );
        let key_arr: [u8; 64] = key.clone().try_into().unwrap();
        let iv_arr: [u8; 16] = iv.clone().try_into().unwrap();
        let (ct, tag) = encrypt(&key_arr, &iv_arr, &a, &p).unwrap();
        assert_eq!(ct, e);
        assert_eq!(tag.to_vec(), t);
        assert_eq!(decrypt(&key, &iv, &a, &e, &t).unwrap(), p);
        let mut bad = t.clone();
        bad[31] ^= 1;
        assert_eq!(decrypt(&key, &iv, &a, &e, &bad), Err(JoseError::Decryption));
        let mut bad_ct = e.clone();
        bad_ct[0] ^= 1;
        assert_eq!(
            decrypt(&key, &iv, &a, &bad_ct, &t),
            Err(JoseError::Decryption)
        );
        assert_eq!(decrypt(&key, &iv, b"x", &e, &t), Err(JoseError::Decryption));
    }
}
