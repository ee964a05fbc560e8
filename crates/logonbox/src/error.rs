//! The crate's error type.

use std::time::Duration;

use auth_core::{Classify, ErrorKind};

use crate::key::{Fingerprint, KeyType, ListingError};

/// Everything that can go wrong talking to a LogonBox credential server.
///
/// Variants for the outcomes a caller acts on (the user said no, the user has no key, the
/// signature is bad) are typed; the failures every provider shares (network, HTTP status,
/// decoding, configuration) come from [`auth_core::Error`] through [`Error::Core`]. Every
/// error is classified the oob-auth way by [`Classify`] (kind, HTTP status, retry hint).
///
/// No variant carries a secret; payloads and signatures are never part of an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A shared failure: transport, timeout, an HTTP status other than 200, 404 (of the key
    /// listing) and 429, decoding, configuration.
    #[error(transparent)]
    Core(#[from] auth_core::Error),
    /// The credential server asked us to slow down (HTTP 429, after the transport's retries
    /// of the key listing; the sign call is never repeated).
    #[error("the credential server is rate limiting (HTTP 429)")]
    RateLimited {
        /// How long it asked us to wait (its `Retry-After`, at most an hour), if it said.
        retry_after: Option<Duration>,
    },
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
    /// The credential server answered the sign call with `success: false` (an error status is
    /// [`Error::Core`], with the body).
    #[error("the credential server failed: {message}")]
    Server {
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

    /// Whether this is a verification failure that should be treated as an attack: a bad
    /// signature, a mismatching or unaccepted response, a replayed request.
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
        Error::Core(auth_core::ConfigError::invalid(name, reason).into())
    }
}

impl Classify for Error {
    /// [`ErrorKind::Rejected`] for a rejection on the phone, [`ErrorKind::RateLimited`] for a
    /// 429, [`ErrorKind::Timeout`] for a pending redirect request past its age limit,
    /// [`ErrorKind::Configuration`] for a principal or redirect URL that cannot be sent, the
    /// shared classification for [`Error::Core`], and [`ErrorKind::Protocol`] for the rest
    /// (an unknown user, no usable key, a failing server, every failed verification).
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Core(e) => e.kind(),
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::Rejected { .. } => ErrorKind::Rejected,
            Error::RequestExpired { .. } => ErrorKind::Timeout,
            Error::InvalidPrincipal { .. } | Error::InvalidRedirectUrl { .. } => {
                ErrorKind::Configuration
            }
            Error::InvalidKeyListing { .. }
            | Error::UnknownUser { .. }
            | Error::NoSuitableKey { .. }
            | Error::Server { .. }
            | Error::InvalidServerResponse { .. }
            | Error::KeyNotFound { .. }
            | Error::ResponseMismatch { .. }
            | Error::UnsupportedFlags { .. }
            | Error::SignatureInvalid
            | Error::RequestAlreadyUsed => ErrorKind::Protocol,
        }
    }

    fn http_status(&self) -> Option<u16> {
        match self {
            Error::Core(e) => Classify::http_status(e),
            Error::RateLimited { .. } => Some(429),
            Error::UnknownUser { .. } => Some(404),
            _ => None,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Core(e) => e.retry_after(),
            Error::RateLimited { retry_after } => auth_core::retry::rate_limit_hint(*retry_after),
            _ => None,
        }
    }

    /// Transport failures, timeouts of a call and rate limits (as auth-core says for
    /// [`Error::Core`]); not an expired pending request, which stays expired.
    fn is_retryable(&self) -> bool {
        match self {
            Error::Core(e) => e.is_retryable(),
            Error::RequestExpired { .. } => false,
            other => other.kind().is_retryable(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let cases: Vec<(Error, ErrorKind, Option<u16>, bool)> = vec![
            (
                Error::Rejected {
                    message: "no".into(),
                },
                ErrorKind::Rejected,
                None,
                false,
            ),
            (
                Error::RateLimited {
                    retry_after: Some(Duration::from_secs(7)),
                },
                ErrorKind::RateLimited,
                Some(429),
                true,
            ),
            (
                Error::UnknownUser {
                    principal: "p".into(),
                },
                ErrorKind::Protocol,
                Some(404),
                false,
            ),
            (Error::SignatureInvalid, ErrorKind::Protocol, None, false),
            (
                Error::Server {
                    message: "down".into(),
                },
                ErrorKind::Protocol,
                None,
                false,
            ),
            (
                Error::InvalidPrincipal {
                    reason: "empty".into(),
                },
                ErrorKind::Configuration,
                None,
                false,
            ),
            (
                Error::RequestExpired {
                    age: Duration::from_secs(301),
                    max_age: Duration::from_secs(300),
                },
                ErrorKind::Timeout,
                None,
                false,
            ),
            (
                auth_core::Error::status(503, b"busy", &[]).into(),
                ErrorKind::Transport,
                Some(503),
                true,
            ),
            (
                auth_core::Error::status(500, b"oops", &[]).into(),
                ErrorKind::Protocol,
                Some(500),
                false,
            ),
            (
                Error::config("timeout", "zero"),
                ErrorKind::Configuration,
                None,
                false,
            ),
        ];
        for (error, kind, status, retryable) in cases {
            assert_eq!(error.kind(), kind, "{error:?}");
            assert_eq!(Classify::http_status(&error), status, "{error:?}");
            assert_eq!(error.is_retryable(), retryable, "{error:?}");
            assert_eq!(error.provider_code(), None, "{error:?}");
        }
        let limited = Error::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(Error::SignatureInvalid.retry_after(), None);
    }
}
