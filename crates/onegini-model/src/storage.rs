//! Device storage behind a trait, with in-memory and file implementations.
//!
//! What is stored (spec §5.2): the client credentials and the application settings from DCR,
//! and per profile its id, the refresh-token id (public), the PIN-protected refresh-token
//! secret ([`PinProtectedSecret`]: salt, iterations, untagged ciphertext), the registered
//! authenticators and the preferred one. Never the PIN, never the access token.
//!
//! The fingerprint refresh token is stored only sealed by the platform keystore
//! ([`crate::Keystore`]) under a key the storage does not hold
//! ([`StoredFingerprint`]): the storage alone (a copied file on another device) cannot use it.
//! Its public id is kept in clear, so it can be revoked without the biometric. An older file
//! with a `fingerprint_token` in clear is read without it (the fingerprint is then simply not
//! registered) and the next save drops it from the disk.
//!
//! Model note: the client secret stands for what the SDK keeps in the platform's secure
//! storage; a real app would put it behind the platform keystore as well.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::client::Authenticator;
use crate::crypto::PinProtectedSecret;
use crate::keystore::KeystoreError;
use crate::pin::PinPolicy;
use crate::wire::SecretField;
use auth_core::sync::lock;

/// The storage failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// Reading or writing failed.
    #[error("storage I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// The stored data does not decode.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The platform keystore failed.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
}

/// Everything the client keeps on the device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredState {
    /// Client credentials and application settings, after DCR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<StoredCredentials>,
    /// The registered user profiles.
    #[serde(default)]
    pub profiles: Vec<StoredProfile>,
}

/// Client credentials (one set per installation) and the application's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredCredentials {
    /// The client id (the app may read it).
    pub client_id: String,
    /// The client secret.
    pub client_secret: SecretField,
    /// The PIN policy.
    pub pin_policy: PinPolicy,
    /// Wrong PIN attempts before deregistration.
    pub max_pin_failures: u32,
    /// Whether the application allows fingerprint authentication.
    pub fingerprint_allowed: bool,
}

/// One user profile's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredProfile {
    /// The profile id (6 characters `[A-Z0-9]`).
    pub profile_id: String,
    /// The PIN refresh token's public id (16 hex).
    pub rt_id: String,
    /// The PIN refresh token's secret, sealed under the PIN.
    pub pin_secret: PinProtectedSecret,
    /// The fingerprint refresh token (sealed by the keystore), when that authenticator is
    /// registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<StoredFingerprint>,
    /// The preferred authenticator.
    pub preferred: Authenticator,
    /// Failed PIN attempts as last reported by the server (the server owns the counter).
    #[serde(default)]
    pub failed_attempts: u32,
}

/// The fingerprint refresh token as stored: its public id, and the whole token sealed by the
/// platform keystore under the profile's key (model choice, see [`crate::docs::security`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredFingerprint {
    /// The token's public id (16 hex), to revoke it without opening the sealed token.
    pub rt_id: String,
    /// What [`crate::Keystore::seal`] returned, hex.
    pub sealed: String,
}

/// Where the client keeps its data.
pub trait Storage: Send + Sync + fmt::Debug {
    /// The stored state (`Default` when nothing is stored yet).
    fn load(&self) -> Result<StoredState, StorageError>;
    /// Replaces the stored state.
    fn save(&self, state: &StoredState) -> Result<(), StorageError>;
}

/// Storage in memory (a process's lifetime). Keeps the state as JSON, so it exercises the
/// same encoding as [`FileStorage`]. Its `Debug` shows nothing stored.
#[derive(Default)]
pub struct MemoryStorage {
    json: Mutex<Option<String>>,
}

impl fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStorage").finish_non_exhaustive()
    }
}

impl MemoryStorage {
    /// Empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stored JSON, for tests that look at what is on the "disk".
    pub fn raw(&self) -> Option<String> {
        lock(&self.json).clone()
    }
}

impl Storage for MemoryStorage {
    fn load(&self) -> Result<StoredState, StorageError> {
        match &*lock(&self.json) {
            None => Ok(StoredState::default()),
            Some(json) => {
                serde_json::from_str(json).map_err(|e| StorageError::Corrupt(e.to_string()))
            }
        }
    }

    fn save(&self, state: &StoredState) -> Result<(), StorageError> {
        let json =
            serde_json::to_string(state).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        *lock(&self.json) = Some(json);
        Ok(())
    }
}

/// Storage in a JSON file, replaced atomically (write to a temporary file, then rename) and
/// readable only by the owner on Unix.
#[derive(Debug, Clone)]
pub struct FileStorage {
    path: PathBuf,
}

impl FileStorage {
    /// Storage at `path` (created on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStorage { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Storage for FileStorage {
    fn load(&self) -> Result<StoredState, StorageError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| StorageError::Corrupt(e.to_string()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoredState::default()),
            Err(e) => Err(e.into()),
        }
    }

    fn save(&self, state: &StoredState) -> Result<(), StorageError> {
        let json =
            serde_json::to_vec_pretty(state).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        // A leftover temporary file (an earlier crash) may have other permissions: start
        // from a new file, so the mode below applies.
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&tmp)?;
            file.write_all(&json)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pin::Pin;

    fn sample() -> StoredState {
        StoredState {
            credentials: Some(StoredCredentials {
                client_id: "CID".into(),
                client_secret: SecretField::new("client-secret-xyz"),
                pin_policy: PinPolicy::default(),
                max_pin_failures: 3,
                fingerprint_allowed: true,
            }),
            profiles: vec![StoredProfile {
                profile_id: "W8DUJ2".into(),
                rt_id: "00112233aabbccdd".into(),
                pin_secret: PinProtectedSecret::seal(&[1u8; 32], &Pin::new("31415"), 10).unwrap(),
                fingerprint: Some(StoredFingerprint {
                    rt_id: "0011223344556677".into(),
                    sealed: "00ff".into(),
                }),
                preferred: Authenticator::Pin,
                failed_attempts: 1,
            }],
        }
    }

    #[test]
    fn memory_and_file_round_trip() {
        let sample = sample();
        let mem = MemoryStorage::new();
        assert_eq!(mem.load().unwrap(), StoredState::default());
        mem.save(&sample).unwrap();
        assert_eq!(mem.load().unwrap(), sample);

        let dir = std::env::temp_dir().join(format!(
            "onegini-model-storage-{}",
            crate::crypto::random_hex(8).unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = FileStorage::new(dir.join("state.json"));
        assert_eq!(file.load().unwrap(), StoredState::default());
        file.save(&sample).unwrap();
        assert_eq!(file.load().unwrap(), sample);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(file.path(), b"{not json").unwrap();
        assert!(matches!(file.load(), Err(StorageError::Corrupt(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_leftover_temporary_file_does_not_lend_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!(
            "onegini-model-storage-{}",
            crate::crypto::random_hex(8).unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = FileStorage::new(dir.join("state.json"));
        let tmp = dir.join("state.json.tmp");
        std::fs::write(&tmp, b"stale").unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).unwrap();
        let state = sample();
        file.save(&state).unwrap();
        let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!tmp.exists());
        assert_eq!(file.load().unwrap(), state);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn debug_hides_secrets() {
        let dbg = format!("{:?}", sample());
        assert!(!dbg.contains("client-secret-xyz"), "{dbg}");
    }

    #[test]
    fn a_fingerprint_token_in_clear_from_an_older_file_is_not_read() {
        let mut json = serde_json::to_value(sample()).unwrap();
        let profile = json["profiles"][0].as_object_mut().unwrap();
        profile.remove("fingerprint");
        profile.insert("fingerprint_token".into(), "fp-token-in-clear".into());
        let mem = MemoryStorage::new();
        *mem.json.lock().unwrap() = Some(json.to_string());
        let state = mem.load().unwrap();
        assert_eq!(state.profiles[0].fingerprint, None);
        mem.save(&state).unwrap();
        assert!(!mem.raw().unwrap().contains("fp-token-in-clear"));
    }
}
