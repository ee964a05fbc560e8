//! The platform keystore the fingerprint refresh token is sealed under (model choice).
//!
//! The SDK keeps the fingerprint refresh token under an OS-keystore key gated by biometrics
//! (Android Keystore, iOS Keychain / Secure Enclave; spec §1.6, §5.2). Such a key never leaves
//! the keystore and never reaches the app's files: a copy of the app's data on another device
//! has the sealed token but not the key. The model puts that behind the [`Keystore`] trait: the
//! client hands the keystore a plaintext and an alias and stores only what comes back.
//!
//! * [`MemoryKeystore`] is the in-memory implementation for tests and demos: random AES-256-GCM
//!   keys held in the process, one per alias. Share one instance (an `Arc`) between clients to
//!   model one device across app restarts; a new instance is another device.
//! * On a device, implement the trait over the platform keystore, with a key that requires the
//!   user's biometric authentication. In the model the biometric gate is the
//!   [`crate::FingerprintHandler`] answering `Match`: the client opens the sealed token only
//!   then.
//!
//! Why an AEAD here and not for the PIN-protected token: the keystore key is random and held
//! by the keystore, so a tag lets nobody test guesses offline; it only makes a swapped or
//! edited blob fail. The PIN-derived key is different: there a tag would confirm PIN guesses
//! offline (see [`crate::crypto`]).
//!
//! ```
//! use onegini_model::{Keystore, MemoryKeystore};
//!
//! let device = MemoryKeystore::new();
//! let sealed = device.seal("fingerprint/W8DUJ2", b"token").unwrap();
//! assert_eq!(device.open("fingerprint/W8DUJ2", &sealed).unwrap().as_slice(), b"token");
//! // Another device (another keystore) has no key for it.
//! assert!(MemoryKeystore::new().open("fingerprint/W8DUJ2", &sealed).is_err());
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::Zeroizing;

use crate::crypto;
use auth_core::sync::lock;

/// A keystore operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// No key under this alias (another device, or the key was deleted or invalidated, e.g.
    /// because the enrolled fingerprints changed).
    #[error("the keystore has no key for this alias")]
    KeyNotFound,
    /// The sealed data does not open under the key (altered, or sealed under another alias).
    #[error("the sealed data does not open under this key")]
    Unsealing,
    /// The keystore itself failed.
    #[error("the keystore is not available: {0}")]
    Unavailable(String),
}

impl KeystoreError {
    /// Whether the sealed data is lost for good (no key, or it does not open), as opposed to
    /// a keystore that failed this time.
    pub fn is_key_lost(&self) -> bool {
        matches!(self, KeystoreError::KeyNotFound | KeystoreError::Unsealing)
    }
}

/// A platform keystore: keys by alias that never leave it.
pub trait Keystore: Send + Sync + fmt::Debug {
    /// Seals `plaintext` under the key `alias`, creating the key if it does not exist yet.
    fn seal(&self, alias: &str, plaintext: &[u8]) -> Result<Vec<u8>, KeystoreError>;
    /// Opens what [`Keystore::seal`] sealed under `alias`.
    fn open(&self, alias: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError>;
    /// Deletes the key `alias` (nothing sealed under it opens again). Deleting a key that does
    /// not exist is not an error.
    fn delete(&self, alias: &str) -> Result<(), KeystoreError>;
}

/// An in-memory keystore (tests, demos): one random AES-256-GCM key per alias, bound to the
/// alias as associated data. `Debug` shows only how many keys it holds.
#[derive(Default)]
pub struct MemoryKeystore {
    keys: Mutex<HashMap<String, Zeroizing<Vec<u8>>>>,
}

impl fmt::Debug for MemoryKeystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryKeystore")
            .field("keys", &self.lock().len())
            .finish()
    }
}

impl MemoryKeystore {
    /// An empty keystore (a new device).
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Zeroizing<Vec<u8>>>> {
        lock(&self.keys)
    }

    fn key(bytes: &[u8]) -> Result<LessSafeKey, KeystoreError> {
        UnboundKey::new(&AES_256_GCM, bytes)
            .map(LessSafeKey::new)
            .map_err(|_| KeystoreError::Unavailable("bad key length".into()))
    }
}

impl Keystore for MemoryKeystore {
    fn seal(&self, alias: &str, plaintext: &[u8]) -> Result<Vec<u8>, KeystoreError> {
        let mut keys = self.lock();
        let key = match keys.get(alias) {
            Some(k) => Self::key(k)?,
            None => {
                let bytes = Zeroizing::new(
                    crypto::random_bytes(32)
                        .map_err(|e| KeystoreError::Unavailable(e.to_string()))?,
                );
                let key = Self::key(&bytes)?;
                keys.insert(alias.to_owned(), bytes);
                key
            }
        };
        drop(keys);
        let nonce = crypto::random_bytes(NONCE_LEN)
            .map_err(|e| KeystoreError::Unavailable(e.to_string()))?;
        let nonce_array: [u8; NONCE_LEN] = nonce
            .as_slice()
            .try_into()
            .map_err(|_| KeystoreError::Unavailable("nonce length".into()))?;
        let mut in_out = plaintext.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce_array),
            Aad::from(alias.as_bytes()),
            &mut in_out,
        )
        .map_err(|_| KeystoreError::Unavailable("sealing failed".into()))?;
        let mut out = nonce;
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    fn open(&self, alias: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        let key = match self.lock().get(alias) {
            Some(k) => Self::key(k)?,
            None => return Err(KeystoreError::KeyNotFound),
        };
        let (nonce, ciphertext) = sealed
            .split_at_checked(NONCE_LEN)
            .ok_or(KeystoreError::Unsealing)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| KeystoreError::Unsealing)?;
        let mut in_out = Zeroizing::new(ciphertext.to_vec());
        let len = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(alias.as_bytes()),
                in_out.as_mut_slice(),
            )
            .map_err(|_| KeystoreError::Unsealing)?
            .len();
        in_out.truncate(len);
        Ok(in_out)
    }

    fn delete(&self, alias: &str) -> Result<(), KeystoreError> {
        self.lock().remove(alias);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_delete() {
        let ks = MemoryKeystore::new();
        let a = ks.seal("a", b"secret token").unwrap();
        let again = ks.seal("a", b"secret token").unwrap();
        assert_ne!(a, again, "a fresh nonce every time");
        assert!(!a.windows(6).any(|w| w == b"secret"));
        assert_eq!(ks.open("a", &a).unwrap().as_slice(), b"secret token");
        // Bound to its alias; an edited blob does not open.
        ks.seal("b", b"x").unwrap();
        assert_eq!(ks.open("b", &a), Err(KeystoreError::Unsealing));
        let mut edited = a.clone();
        let last = edited.len() - 1;
        edited[last] ^= 1;
        assert_eq!(ks.open("a", &edited), Err(KeystoreError::Unsealing));
        assert_eq!(ks.open("a", &a[..5]), Err(KeystoreError::Unsealing));
        // Another keystore has no key; a deleted key is gone.
        assert_eq!(
            MemoryKeystore::new().open("a", &a),
            Err(KeystoreError::KeyNotFound)
        );
        ks.delete("a").unwrap();
        ks.delete("a").unwrap();
        assert_eq!(ks.open("a", &a), Err(KeystoreError::KeyNotFound));
        assert!(KeystoreError::KeyNotFound.is_key_lost());
        assert!(!KeystoreError::Unavailable("x".into()).is_key_lost());
        assert_eq!(format!("{ks:?}"), "MemoryKeystore { keys: 1 }");
    }
}
