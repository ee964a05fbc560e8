//! The model's cryptography, for fixtures, benchmarks, fuzzing and other implementations of
//! the model. **Hazardous**: an application needs none of it ([`crate::Client`] does all of
//! it), and misusing it (a reused salt, a tag added to the PIN-protected token, a
//! variable-time comparison of responses) undoes what the model protects.
//!
//! * [`ocra`]: RFC 6287 OCRA, complete (the DCR proof, spec §3.1).
//! * [`PinProtectedSecret`]: the PIN-protected refresh token (spec §3.3), and [`pkce_s256`]
//!   (RFC 7636).
//!
//! # PIN-protected refresh token (model choice, spec §3.3)
//!
//! ```text
//! key        = PBKDF2-HMAC-SHA256(PIN as ASCII digits, salt (16 random bytes), iterations, 32)
//! keystream  = HMAC-SHA256(key, "onegini-model/rt" ‖ salt)
//! ciphertext = rt_secret XOR keystream            (32 bytes, NO tag)
//! ```
//!
//! Deliberately **untagged**: any PIN decrypts to a well-formed 32-byte candidate, so the
//! stored blob cannot confirm a PIN guess offline; only the Token Server, which counts wrong
//! attempts, can tell. Do not replace it with an AEAD. A fresh salt is drawn on every
//! (re-)encryption so a keystream is never reused.
//!
//! ```
//! use onegini_model::Pin;
//! use onegini_model::hazmat::PinProtectedSecret;
//!
//! let secret = [7u8; 32];
//! let blob = PinProtectedSecret::seal(&secret, &Pin::new("31415"), 1_000).unwrap();
//! assert_eq!(blob.open(&Pin::new("31415")).unwrap().as_slice(), &secret);
//! // A wrong PIN gives a different candidate, not an error: no offline PIN test.
//! assert_ne!(blob.open(&Pin::new("27182")).unwrap().as_slice(), &secret);
//! ```

pub mod ocra;

pub use crate::crypto::{
    CryptoError, KEYSTREAM_LABEL, MAX_ITERATIONS, PinProtectedSecret, pkce_s256,
};
