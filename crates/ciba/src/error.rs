//! The crate's error type.

use std::fmt;
use std::time::Duration;

use auth_core::{Classify, ErrorKind};

use crate::limits::MAX_DESCRIPTION_CHARS;
use crate::types::ErrorCode;

/// Everything that can go wrong.
///
/// No variant ever holds a secret: provider error descriptions are scrubbed of everything the
/// request carried (client secret, user code, tokens, hints) and bounded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Transport, HTTP status without an OAuth error body, decoding, configuration, deadline.
    #[error(transparent)]
    Core(#[from] auth_core::Error),
    /// A request was refused before anything was sent.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The offending parameter.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The OP's discovery document is unusable for CIBA.
    #[error("discovery: {0}")]
    Discovery(String),
    /// The OP answered with an OAuth error (CIBA §11, §13).
    #[error("{0}")]
    Provider(ProviderError),
    /// The OP answered something the protocol does not allow (a 200 without `auth_req_id`…).
    #[error("protocol error at the {endpoint}: {reason}")]
    Protocol {
        /// Which endpoint.
        endpoint: Endpoint,
        /// What was wrong.
        reason: String,
    },
    /// An ID token failed validation.
    #[error("ID token rejected: {0}")]
    IdToken(#[from] IdTokenError),
    /// A ping or push notification was rejected.
    #[error("notification rejected: {0}")]
    Notification(#[from] NotificationError),
    /// The FAPI-CIBA profile is on and forbids this.
    #[error("the FAPI-CIBA profile forbids {0}")]
    Profile(&'static str),
    /// Signing a client assertion or request object failed (or the random generator did).
    #[error("signing failed: {0}")]
    Signing(String),
}

/// An identifier that fails its rules ([`crate::ClientId`], [`crate::AuthReqId`]) is bad input.
impl From<auth_core::id::InvalidId> for Error {
    fn from(e: auth_core::id::InvalidId) -> Self {
        Error::InvalidInput {
            field: e.what,
            reason: e.reason,
        }
    }
}

impl Error {
    /// The OAuth error code, when the OP answered with one.
    pub fn error_code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Provider(p) => Some(&p.code),
            _ => None,
        }
    }

    /// The OP could not identify the user from the hint (`unknown_user_id`).
    pub fn is_unknown_user(&self) -> bool {
        self.error_code() == Some(&ErrorCode::UnknownUserId)
    }

    /// The OP refused the client's credentials (`invalid_client`, or HTTP 401).
    pub fn is_invalid_client(&self) -> bool {
        self.error_code() == Some(&ErrorCode::InvalidClient)
            || matches!(self, Error::Core(e) if e.is_unauthorized())
    }

    /// The request most likely did not reach the OP's logic and may be repeated later:
    /// connection refused or reset, HTTP 429 or 503. Timeouts are not in this list (the OP may
    /// have acted on the request).
    pub fn is_unprocessed(&self) -> bool {
        match self {
            Error::Core(auth_core::Error::Transport(t)) => {
                t.kind() == auth_core::TransportErrorKind::Connect
            }
            Error::Core(e) => matches!(e.http_status(), Some(429 | 503)),
            Error::Provider(p) => matches!(p.status, 429 | 503),
            _ => false,
        }
    }
}

impl Classify for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Core(e) => e.kind(),
            Error::InvalidInput { .. } | Error::Profile(_) | Error::Signing(_) => {
                ErrorKind::Configuration
            }
            Error::Discovery(_)
            | Error::Protocol { .. }
            | Error::IdToken(_)
            | Error::Notification(_) => ErrorKind::Protocol,
            Error::Provider(p) => match (&p.code, p.status) {
                (ErrorCode::InvalidClient | ErrorCode::UnauthorizedClient, _) | (_, 401) => {
                    ErrorKind::Unauthorized
                }
                (ErrorCode::AccessDenied, _) => ErrorKind::Rejected,
                (ErrorCode::SlowDown, _) | (_, 429) => ErrorKind::RateLimited,
                (ErrorCode::ExpiredToken, _) => ErrorKind::Timeout,
                (ErrorCode::TemporarilyUnavailable, _) | (_, 502..=504) => ErrorKind::Transport,
                _ => ErrorKind::Protocol,
            },
        }
    }

    fn http_status(&self) -> Option<u16> {
        match self {
            Error::Core(e) => Classify::http_status(e),
            Error::Provider(p) => Some(p.status),
            _ => None,
        }
    }

    fn provider_code(&self) -> Option<&str> {
        match self {
            Error::Core(e) => e.provider_code(),
            Error::Provider(p) => Some(p.code.as_str()),
            _ => None,
        }
    }

    /// The server's `Retry-After`, when it sent one with a 429 or 503.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Core(e) => Classify::retry_after(e),
            Error::Provider(p) => p.retry_after,
            _ => None,
        }
    }
}

/// A setting that is wrong: auth-core's configuration error, the one way every provider says
/// it ([`auth_core::ConfigError::Invalid`]).
pub(crate) fn config(name: &'static str, reason: impl Into<String>) -> Error {
    Error::Core(auth_core::ConfigError::invalid(name, reason).into())
}

/// Which OP endpoint answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    /// `/.well-known/openid-configuration`.
    Discovery,
    /// The backchannel authentication endpoint.
    Backchannel,
    /// The token endpoint.
    Token,
    /// The JWKS.
    Jwks,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Discovery => "discovery endpoint",
            Endpoint::Backchannel => "backchannel authentication endpoint",
            Endpoint::Token => "token endpoint",
            Endpoint::Jwks => "JWKS endpoint",
        })
    }
}

/// An OAuth error answer from the OP.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProviderError {
    /// Which endpoint answered.
    pub endpoint: Endpoint,
    /// The HTTP status.
    pub status: u16,
    /// `error`.
    pub code: ErrorCode,
    /// `error_description`, scrubbed of secrets, control characters removed, at most 256
    /// characters.
    pub description: Option<String>,
    /// `error_uri`, when sent.
    pub uri: Option<String>,
    /// `Retry-After`, with a 429 or 503.
    pub retry_after: Option<Duration>,
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {} answered HTTP {} `{}`",
            self.endpoint, self.status, self.code
        )?;
        if let Some(d) = &self.description {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

/// Scrubs `secrets`, drops control characters and bounds the length of an OP's free text.
pub(crate) fn clean_description(text: &str, secrets: &[&str]) -> String {
    auth_core::error::scrub_secrets(text, secrets)
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_DESCRIPTION_CHARS)
        .collect()
}

/// Why an ID token was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// Not a compact JWS, or its header or claims do not decode.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The `alg` is not on the allow-list (`none` and `HS*` never are).
    #[error("algorithm `{0}` is not allowed")]
    AlgorithmNotAllowed(String),
    /// The header has a `crit` parameter (no extension is understood).
    #[error("critical header parameters are not supported")]
    CriticalHeader,
    /// No key in the OP's JWKS matches the `kid` (after a bounded refetch).
    #[error("no key in the OP's JWKS for kid {kid:?}")]
    UnknownKey {
        /// The `kid` of the header, if any.
        kid: Option<String>,
    },
    /// Several keys could match a token without `kid`.
    #[error("the token has no kid and the JWKS has several candidate keys")]
    AmbiguousKey,
    /// The key does not fit the algorithm (an EC key for RS256…).
    #[error("the key for kid {kid:?} cannot verify {alg}")]
    KeyMismatch {
        /// The key's id.
        kid: Option<String>,
        /// The token's algorithm.
        alg: String,
    },
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// `iss` is not the OP's issuer.
    #[error("issuer {actual:?} is not {expected:?}")]
    Issuer {
        /// The OP's issuer.
        expected: String,
        /// What the token says.
        actual: String,
    },
    /// `aud` does not contain the client id.
    #[error("audience {actual:?} does not contain {expected:?}")]
    Audience {
        /// The client id.
        expected: String,
        /// What the token says.
        actual: Vec<String>,
    },
    /// `azp` is missing with several audiences, or is not the client id.
    #[error("authorized party {actual:?} is not {expected:?}")]
    AuthorizedParty {
        /// The client id.
        expected: String,
        /// What the token says (`None`: missing).
        actual: Option<String>,
    },
    /// A required claim is missing.
    #[error("missing claim `{0}`")]
    MissingClaim(&'static str),
    /// `exp` has passed (beyond the leeway).
    #[error("expired at {exp}, now {now}")]
    Expired {
        /// `exp`.
        exp: i64,
        /// The client's time.
        now: i64,
    },
    /// `iat` (or `nbf`) is in the future (beyond the leeway).
    #[error("issued in the future: {iat}, now {now}")]
    NotYetValid {
        /// `iat` or `nbf`.
        iat: i64,
        /// The client's time.
        now: i64,
    },
    /// `at_hash` does not match the access token.
    #[error("at_hash does not match the access token")]
    AccessTokenHash,
    /// `rt_hash` does not match the refresh token.
    #[error("rt_hash does not match the refresh token")]
    RefreshTokenHash,
    /// The `urn:openid:params:jwt:claim:auth_req_id` claim is not the request's id.
    #[error("auth_req_id claim {actual:?} is not {expected:?}")]
    AuthReqId {
        /// The request's id.
        expected: String,
        /// What the token says.
        actual: Option<String>,
    },
}

/// Why a ping or push notification was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotificationError {
    /// No `Authorization: Bearer …` header, or not a bearer token.
    #[error("no bearer token")]
    MissingBearer,
    /// The bearer token is not this request's `client_notification_token`.
    #[error("wrong bearer token")]
    WrongToken,
    /// The body is not what CIBA §10.2/§10.3/§12 describes.
    #[error("malformed body: {0}")]
    Malformed(String),
    /// The body is larger than allowed.
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    /// No pending request with this `auth_req_id` (unknown, expired, or already answered).
    #[error("no pending request with this auth_req_id")]
    UnknownRequest,
    /// The client's delivery mode does not receive this kind of notification.
    #[error("this client is not registered for {0} mode")]
    WrongMode(&'static str),
}

impl NotificationError {
    /// The HTTP status a notification endpoint should answer with.
    pub fn http_status(&self) -> u16 {
        match self {
            NotificationError::MissingBearer | NotificationError::WrongToken => 401,
            NotificationError::TooLarge(_) => 413,
            NotificationError::UnknownRequest => 404,
            _ => 400,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_scrubbed_and_bounded() {
        let d = clean_description("bad code 246810\n\u{1b}[31m", &["246810"]);
        assert_eq!(d, "bad code [redacted][31m");
        assert_eq!(clean_description(&"x".repeat(1000), &[]).len(), 256);
    }

    #[test]
    fn classification() {
        let p = |status, code| {
            Error::Provider(ProviderError {
                endpoint: Endpoint::Token,
                status,
                code,
                description: None,
                uri: None,
                retry_after: None,
            })
        };
        assert!(p(400, ErrorCode::UnknownUserId).is_unknown_user());
        assert!(p(401, ErrorCode::InvalidClient).is_invalid_client());
        assert!(p(503, ErrorCode::TemporarilyUnavailable).is_unprocessed());
        assert!(!p(400, ErrorCode::InvalidGrant).is_unprocessed());
        assert_eq!(
            p(401, ErrorCode::InvalidClient).kind(),
            ErrorKind::Unauthorized
        );
        assert_eq!(p(400, ErrorCode::AccessDenied).kind(), ErrorKind::Rejected);
        assert_eq!(
            p(503, ErrorCode::TemporarilyUnavailable).kind(),
            ErrorKind::Transport
        );
        assert_eq!(
            p(400, ErrorCode::InvalidGrant).provider_code(),
            Some("invalid_grant")
        );
        assert_eq!(p(400, ErrorCode::InvalidGrant).kind(), ErrorKind::Protocol);
        let shown = p(400, ErrorCode::SlowDown).to_string();
        assert_eq!(shown, "the token endpoint answered HTTP 400 `slow_down`");
    }
}
