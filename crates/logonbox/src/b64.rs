//! Base64 as LogonBox servers and clients write it: standard or url-safe, padded or not.
//!
//! Spec §3.5: the official clients disagree on padding and the server's own choice is unknown,
//! so every field is decoded whichever alphabet and padding it uses (but never a mix of the two
//! alphabets in one value). We always emit unpadded base64url, except for key lines (standard,
//! padded, as OpenSSH writes them).

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const URL_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);
const STD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);

/// Decodes standard or url-safe base64, padded or unpadded.
///
/// Surrounding whitespace is ignored. A value that mixes `+`/`/` with `-`/`_` is rejected.
pub(crate) fn decode_lenient(input: &str) -> Result<Vec<u8>, String> {
    let input = input.trim();
    let has_std = input.contains(['+', '/']);
    let has_url = input.contains(['-', '_']);
    let engine = match (has_std, has_url) {
        (true, true) => return Err("mixes the standard and url-safe base64 alphabets".into()),
        (true, false) => &STD_LENIENT,
        _ => &URL_LENIENT,
    };
    engine
        .decode(input)
        .map_err(|e| format!("invalid base64: {e}"))
}

/// Unpadded base64url (what we send).
pub(crate) fn encode_url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Padded base64url (what the Java and Python SDKs send).
#[cfg(any(test, feature = "emulator"))]
pub(crate) fn encode_url_padded(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(bytes)
}

/// Padded standard base64 (key blobs in key lines).
pub(crate) fn encode_std(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Unpadded standard base64 (fingerprints).
pub(crate) fn encode_std_unpadded(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_decodes_to_the_same_bytes() {
        let bytes: Vec<u8> = (0u8..=255).collect();
        for n in [0, 1, 2, 3, 62, 63, 64, 200, 256] {
            let b = &bytes[..n];
            for text in [
                encode_url(b),
                encode_url_padded(b),
                encode_std(b),
                encode_std_unpadded(b),
                format!("  {}\n", encode_url(b)),
            ] {
                assert_eq!(decode_lenient(&text).unwrap(), b, "{text}");
            }
        }
    }

    #[test]
    fn junk_is_an_error() {
        assert!(decode_lenient("ab+c-d").is_err());
        assert!(decode_lenient("a").is_err());
        assert!(decode_lenient("ab$c").is_err());
        assert!(decode_lenient("ab==c").is_err());
    }
}
