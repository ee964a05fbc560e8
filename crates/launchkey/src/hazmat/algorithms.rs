//! The algorithm allow-lists and the JOSE error: public at the crate root (a client setting
//! and an error), used by the primitives in [`crate::hazmat`].

use aws_lc_rs::signature::{self, RsaEncoding, VerificationAlgorithm};
use serde::{Deserialize, Serialize};

use super::rsa_oaep::OaepHash;

/// A JOSE failure. Carries no key material and no plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoseError {
    /// The compact serialisation is malformed (part count, base64url, header JSON).
    #[error("malformed JOSE object: {0}")]
    Malformed(&'static str),
    /// The header names an algorithm outside the allow-list.
    #[error("unsupported JOSE algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    /// Decryption failed (deliberately undifferentiated).
    #[error("decryption failed")]
    Decryption,
    /// The signature does not verify under the given key.
    #[error("invalid signature")]
    BadSignature,
    /// A key was rejected (wrong type or size).
    #[error("key rejected: {0}")]
    KeyRejected(&'static str),
    /// The crypto backend failed for another reason (random number generator…).
    #[error("cryptographic operation failed")]
    Crypto,
}

/// A JWE key-management algorithm from the allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum JweAlgorithm {
    /// RSA-OAEP with SHA-1 and MGF1-SHA-1 (the Python SDK's choice).
    #[serde(rename = "RSA-OAEP")]
    RsaOaep,
    /// RSA-OAEP with SHA-256 and MGF1-SHA-256 (the Java/.NET SDKs' choice, and our default).
    #[default]
    #[serde(rename = "RSA-OAEP-256")]
    RsaOaep256,
}

impl JweAlgorithm {
    /// The `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            JweAlgorithm::RsaOaep => "RSA-OAEP",
            JweAlgorithm::RsaOaep256 => "RSA-OAEP-256",
        }
    }

    /// Parses an `alg` header value; anything outside the allow-list is rejected.
    pub fn parse(alg: &str) -> Result<Self, JoseError> {
        match alg {
            "RSA-OAEP" => Ok(JweAlgorithm::RsaOaep),
            "RSA-OAEP-256" => Ok(JweAlgorithm::RsaOaep256),
            other => Err(JoseError::UnsupportedAlgorithm(
                other.chars().take(32).collect(),
            )),
        }
    }

    pub(crate) fn hash(self) -> OaepHash {
        match self {
            JweAlgorithm::RsaOaep => OaepHash::Sha1,
            JweAlgorithm::RsaOaep256 => OaepHash::Sha256,
        }
    }
}

/// A JWS algorithm from the allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum JwsAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512 (the Python SDK's default, and ours).
    #[default]
    RS512,
}

impl JwsAlgorithm {
    /// The `alg` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            JwsAlgorithm::RS256 => "RS256",
            JwsAlgorithm::RS384 => "RS384",
            JwsAlgorithm::RS512 => "RS512",
        }
    }

    /// Parses an `alg` header value; anything outside the allow-list is rejected.
    pub fn parse(alg: &str) -> Result<Self, JoseError> {
        match alg {
            "RS256" => Ok(JwsAlgorithm::RS256),
            "RS384" => Ok(JwsAlgorithm::RS384),
            "RS512" => Ok(JwsAlgorithm::RS512),
            other => Err(JoseError::UnsupportedAlgorithm(
                other.chars().take(32).collect(),
            )),
        }
    }

    pub(crate) fn encoding(self) -> &'static dyn RsaEncoding {
        match self {
            JwsAlgorithm::RS256 => &signature::RSA_PKCS1_SHA256,
            JwsAlgorithm::RS384 => &signature::RSA_PKCS1_SHA384,
            JwsAlgorithm::RS512 => &signature::RSA_PKCS1_SHA512,
        }
    }

    pub(crate) fn verification(self) -> &'static dyn VerificationAlgorithm {
        match self {
            JwsAlgorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            JwsAlgorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            JwsAlgorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        }
    }
}
