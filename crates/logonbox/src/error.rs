//! The crate's error type.

use std::time::Duration;

use crate::key::{Fingerprint, KeyType, ListingError};

/// Everything that can go wrong talking to a LogonBox credential server.
///
/// Variants for the outcomes a caller acts on (the user said no, the user has no key, the
/// signature is bad) are typed; the failures every provider shares (network, HTTP status,
/// decoding, configuration) come from [`auth_core::Error`] through [`Error::Core`].
///
/// No variant carries a secret; payloads and signatures are never part of an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A shared failure: transport, timeout, unexpected HTTP status, decoding, configuration.
    #[error(transparent)]
    Core(#[from] auth_core::Error),
    /// The principal (user name) cannot be sent: empty, too long, control characters, or a
    /// dot segment.
    #[error("invalid principal: {reason}")]
    InvalidPrincipal {
        /// Why.
        reason: String,
    },
    /// The redirect URL given to the redirect flow is unusable.
    #[error("invalid redirect URL: {reason}")]
    InvalidRedirectUrl {
        /// Why.
        reason: String,
    },
    /// The key listing did not start with the `# Authorized` header line.
    #[error("unable to list the user's authorized keys from {host}: {reason}")]
    InvalidKeyListing {
        /// The credential server's host.
        host: String,
        /// What was wrong.
        reason: ListingError,
    },
    /// The server does not know the user (it answered 404 to the key listing).
    #[error("{principal} is not registered in the LogonBox Authenticator directory")]
    UnknownUser {
        /// The principal asked for.
        principal: String,
    },
    /// The user has no key this client can use (none listed, none that parses, or none of the
    /// allowed types).
    #[error("no suitable key found for {principal}")]
    NoSuitableKey {
        /// The principal asked for.
        principal: String,
    },
    /// The credential server reported a failure (`success: false`, or an error status with a
    /// JSON `message`).
    #[error("the credential server failed (HTTP {status}): {message}")]
    Server {
        /// The HTTP status (200 for `success: false` in a normal response).
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The user (or their keystore) rejected the signature request on the phone.
    #[error("the request was rejected: {message}")]
    Rejected {
        /// The message from the phone, e.g. `The keystore rejected the signature request.`.
        message: String,
    },
    /// The server's answer is well-formed but means nothing usable (e.g. an empty signature
    /// with a positive response).
    #[error("the server did not respond with a valid response: {reason}")]
    InvalidServerResponse {
        /// Why.
        reason: String,
    },
    /// Redirect flow: no key of the user has the fingerprint the response claims.
    #[error("no suitable key found for fingerprint {fingerprint}")]
    KeyNotFound {
        /// The fingerprint from the response.
        fingerprint: Fingerprint,
    },
    /// Redirect flow: the response is for another user, key or flags than the request.
    #[error("the response does not match the request: {field} differs")]
    ResponseMismatch {
        /// Which field differs: `username`, `fingerprint` or `flags` (redirect flow), or
        /// `handle id` (a step-up handle whose recorded approval belongs to another handle).
        field: &'static str,
    },
    /// The flags do not select an algorithm this client accepts for the key (SHA-1 is never
    /// accepted; ed25519 requires 0, RSA 2 or 4).
    #[error("flags {flags} are not accepted for a {key_type} key")]
    UnsupportedFlags {
        /// The key type.
        key_type: KeyType,
        /// The flags found.
        flags: u32,
    },
    /// The signature does not verify with the user's key: do not let the user in.
    #[error("the signature does not verify with the user's key")]
    SignatureInvalid,
    /// Redirect flow: this pending request already produced an approval on this client (a
    /// replay of a completed sign-in).
    #[error("the pending request was already used for a sign-in")]
    RequestAlreadyUsed,
    /// Redirect flow: the pending request is older than the configured limit.
    #[error("the pending request expired ({age:?} old, limit {max_age:?})")]
    RequestExpired {
        /// Its age.
        age: Duration,
        /// The limit.
        max_age: Duration,
    },
}

impl Error {
    /// Whether the user cannot use LogonBox at all ([`Error::UnknownUser`] or
    /// [`Error::NoSuitableKey`]): the spec cannot tell these apart reliably, since servers may
    /// answer an unknown user with an empty listing.
    pub fn is_not_enrolled(&self) -> bool {
        matches!(
            self,
            Error::UnknownUser { .. } | Error::NoSuitableKey { .. }
        )
    }

    /// Whether the user said no.
    pub fn is_rejected(&self) -> bool {
        matches!(self, Error::Rejected { .. })
    }

    /// Whether this failure is a timeout (the user did not answer before the read timeout, or
    /// the server was too slow).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Core(e) if e.is_timeout())
    }

    /// Whether this is a verification failure that should be treated as an attack: a bad
    /// signature, a mismatching or unaccepted response.
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            Error::SignatureInvalid
                | Error::ResponseMismatch { .. }
                | Error::UnsupportedFlags { .. }
                | Error::KeyNotFound { .. }
                | Error::RequestAlreadyUsed
        )
    }

    pub(crate) fn decode(what: &'static str, path: &str, message: impl std::fmt::Display) -> Self {
        Error::Core(auth_core::Error::decode(what, path, message))
    }

    pub(crate) fn config(name: &'static str, reason: impl Into<String>) -> Self {
        Error::Core(auth_core::Error::Config(auth_core::ConfigError::Invalid {
            name,
            reason: reason.into(),
        }))
    }
}
