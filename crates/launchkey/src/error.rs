//! The crate's error type.

use std::time::{Duration, SystemTime};

use auth_core::{Classify, ErrorKind};

use crate::AuthRequestId;
use crate::JoseError;

/// Every failure of the LaunchKey client, emulator and webhook handler.
///
/// One way to say each thing: a status the API gives a meaning to has its own variant (401
/// [`Error::Unauthorized`], 403 [`Error::Forbidden`], 404 [`Error::NotFound`], 408
/// [`Error::AuthorizationExpired`], 409 [`Error::Conflict`], 429 [`Error::RateLimited`], and
/// the API's error codes), every other status — 5xx included — is
/// [`Error::Core`]`(`[`auth_core::Error::Status`]`)`, and a client setting that is wrong is
/// [`Error::Core`]`(`[`auth_core::Error::Config`]`)`. Converting an [`auth_core::Error`] keeps
/// to that (a wrapped 401 becomes [`Error::Unauthorized`], …). Classify any of them with
/// [`auth_core::Classify`].
///
/// No variant carries key material, tokens or decrypted packages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A failure shared with the other provider crates: transport, a status without a meaning
    /// of its own (5xx, unexpected ones), decode, configuration, deadline, cancellation.
    #[error(transparent)]
    Core(auth_core::Error),
    /// A private or public key could not be used (the message never contains key material).
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// Why.
        reason: String,
    },
    /// A request failed local validation; nothing was sent.
    #[error("invalid request field `{field}`: {reason}")]
    InvalidRequest {
        /// The offending field (wire name).
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// `ARG-001`: the API rejected the parameters.
    #[error("ARG-001 invalid parameters: {detail}")]
    InvalidParameters {
        /// The API's `error_detail`.
        detail: String,
    },
    /// `ARG-002`: route or method does not exist.
    #[error("ARG-002 invalid route: {detail}")]
    InvalidRoute {
        /// The API's `error_detail`.
        detail: String,
    },
    /// `SVC-002`: the policy in the request is invalid.
    #[error("SVC-002 invalid policy: {detail}")]
    InvalidPolicy {
        /// The API's `error_detail`.
        detail: String,
    },
    /// `SVC-003`: the user's devices cannot satisfy the policy.
    #[error("SVC-003 policy failure: {detail}")]
    PolicyFailure {
        /// The API's `error_detail`.
        detail: String,
    },
    /// `SVC-004`: the service does not exist.
    #[error("SVC-004 service not found")]
    ServiceNotFound,
    /// `SVC-005`: another authorization request is pending for this user.
    #[error(
        "SVC-005 authorization in progress: request {} (from same service: {}) expires {:?}",
        .0.auth_request, .0.from_same_service, .0.expires
    )]
    AuthorizationInProgress(AuthorizationInProgress),
    /// `SVC-006`: the request already has a response.
    #[error("SVC-006 authorization response exists")]
    AuthorizationResponseExists,
    /// `SVC-007`: the request was cancelled.
    #[error("SVC-007 authorization request cancelled")]
    AuthorizationCanceled,
    /// `DIR-001`: invalid directory identifier.
    #[error("DIR-001 invalid directory identifier")]
    InvalidDirectoryIdentifier,
    /// Another API error code (management codes such as `KEY-001`, unknown ones).
    #[error("API error {code} (HTTP {status}): {detail}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The `error_code`.
        code: String,
        /// The `error_detail`, as text.
        detail: String,
    },
    /// HTTP 401: the API did not accept the request's signature or claims (the only way a 401
    /// is reported).
    #[error("unauthorized (HTTP 401)")]
    Unauthorized,
    /// HTTP 403.
    #[error("forbidden (HTTP 403)")]
    Forbidden,
    /// HTTP 404: unknown user, user without devices, unknown request id.
    #[error("not found (HTTP 404)")]
    NotFound,
    /// HTTP 408: the authorization request expired without an answer.
    #[error("authorization request expired (HTTP 408)")]
    AuthorizationExpired,
    /// HTTP 409 without a known error code.
    #[error("conflict (HTTP 409)")]
    Conflict,
    /// HTTP 429 (the only way a 429 is reported).
    #[error("rate limited (HTTP 429)")]
    RateLimited {
        /// The `Retry-After` the API sent, if any (at most
        /// [`MAX_RETRY_AFTER`](crate::limits::MAX_RETRY_AFTER)). [`Classify::retry_after`]
        /// gives the wait to use.
        retry_after: Option<Duration>,
    },
    /// A response's `X-IOV-JWT`, or a webhook's JWT, failed a check.
    #[error("response verification failed: {0}")]
    ResponseVerification(#[from] VerificationError),
    /// The API key named by a JWT's `kid` does not exist (`GET /public/v3/public-key/{kid}` 404).
    #[error("API key `{kid}` not found")]
    ApiKeyNotFound {
        /// The key id.
        kid: String,
    },
    /// An unknown API kid was not fetched: more than
    /// [`MAX_KID_FETCHES_PER_WINDOW`](crate::limits::MAX_KID_FETCHES_PER_WINDOW) unknown kids
    /// were looked up within [`KID_FETCH_WINDOW`](crate::limits::KID_FETCH_WINDOW) (a flood of
    /// tokens naming random kids, e.g. forged webhooks). Transient: a genuine new key is
    /// fetched once the window has passed.
    #[error("API key `{kid}` not fetched: too many unknown key ids recently")]
    ApiKeyFetchThrottled {
        /// The key id (as received, at most 64 characters).
        kid: String,
    },
    /// A payload names a service key this client does not hold.
    #[error("service key `{kid}` not configured")]
    ServiceKeyNotFound {
        /// The key id (as received, at most 64 characters).
        kid: String,
    },
    /// A JWE or legacy package did not decrypt (deliberately undifferentiated).
    #[error("decryption failed")]
    Decryption,
    /// A JOSE object was malformed or used a disallowed algorithm.
    #[error("JOSE error: {0}")]
    Jose(JoseError),
    /// A device package answers a different request than the one asked about.
    #[error("device package answers request {actual}, expected {expected}")]
    AuthRequestMismatch {
        /// The request id polled for.
        expected: AuthRequestId,
        /// The id inside the package.
        actual: String,
    },
    /// A webhook of a kind this Service Client does not handle.
    #[error("unsupported webhook type `{kind}`")]
    UnsupportedWebhook {
        /// The `type` field (truncated).
        kind: String,
    },
}

impl From<JoseError> for Error {
    fn from(e: JoseError) -> Self {
        match e {
            JoseError::Decryption => Error::Decryption,
            other => Error::Jose(other),
        }
    }
}

/// Keeps to one way of saying each failure: the statuses this crate gives a meaning to get
/// their own variant, whoever produced them.
impl From<auth_core::Error> for Error {
    fn from(e: auth_core::Error) -> Self {
        match e.http_status() {
            Some(401) => Error::Unauthorized,
            Some(403) => Error::Forbidden,
            Some(404) => Error::NotFound,
            Some(408) => Error::AuthorizationExpired,
            Some(409) => Error::Conflict,
            Some(429) => Error::RateLimited { retry_after: None },
            _ => Error::Core(e),
        }
    }
}

impl From<auth_core::ConfigError> for Error {
    fn from(e: auth_core::ConfigError) -> Self {
        Error::Core(e.into())
    }
}

impl From<auth_core::id::InvalidId> for Error {
    fn from(e: auth_core::id::InvalidId) -> Self {
        Error::Core(e.into())
    }
}

impl Error {
    /// The LaunchKey error code (`SVC-005`, …) of an API error.
    fn code(&self) -> Option<&str> {
        Some(match self {
            Error::InvalidParameters { .. } => "ARG-001",
            Error::InvalidRoute { .. } => "ARG-002",
            Error::InvalidPolicy { .. } => "SVC-002",
            Error::PolicyFailure { .. } => "SVC-003",
            Error::ServiceNotFound => "SVC-004",
            Error::AuthorizationInProgress(_) => "SVC-005",
            Error::AuthorizationResponseExists => "SVC-006",
            Error::AuthorizationCanceled => "SVC-007",
            Error::InvalidDirectoryIdentifier => "DIR-001",
            Error::Api { code, .. } => code,
            _ => return None,
        })
    }
}

/// The one classification of every oob-auth error.
///
/// | kind | variants |
/// | --- | --- |
/// | `Unauthorized` | [`Error::Unauthorized`], [`Error::Forbidden`] |
/// | `RateLimited` | [`Error::RateLimited`], [`Error::ApiKeyFetchThrottled`] |
/// | `Rejected` | [`Error::PolicyFailure`] (the user's devices cannot satisfy the policy) |
/// | `Timeout` | [`Error::AuthorizationExpired`] (nobody answered in time; not retryable) |
/// | `Cancelled` | [`Error::AuthorizationCanceled`] |
/// | `Configuration` | [`Error::InvalidKey`], [`Error::InvalidRequest`], [`Error::ServiceKeyNotFound`] |
/// | `Protocol` | the other API error codes and statuses, and every failed verification, decryption or decode |
/// | as auth-core says | [`Error::Core`] |
///
/// `provider_code` is the LaunchKey `error_code` (`SVC-005`, …).
impl Classify for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Core(e) => e.kind(),
            Error::Unauthorized | Error::Forbidden => ErrorKind::Unauthorized,
            Error::RateLimited { .. } | Error::ApiKeyFetchThrottled { .. } => {
                ErrorKind::RateLimited
            }
            Error::PolicyFailure { .. } => ErrorKind::Rejected,
            Error::AuthorizationExpired => ErrorKind::Timeout,
            Error::AuthorizationCanceled => ErrorKind::Cancelled,
            Error::InvalidKey { .. }
            | Error::InvalidRequest { .. }
            | Error::ServiceKeyNotFound { .. } => ErrorKind::Configuration,
            Error::InvalidParameters { .. }
            | Error::InvalidRoute { .. }
            | Error::InvalidPolicy { .. }
            | Error::ServiceNotFound
            | Error::AuthorizationInProgress(_)
            | Error::AuthorizationResponseExists
            | Error::InvalidDirectoryIdentifier
            | Error::Api { .. }
            | Error::NotFound
            | Error::Conflict
            | Error::ResponseVerification(_)
            | Error::ApiKeyNotFound { .. }
            | Error::Decryption
            | Error::Jose(_)
            | Error::AuthRequestMismatch { .. }
            | Error::UnsupportedWebhook { .. } => ErrorKind::Protocol,
        }
    }

    /// The HTTP status of errors that come from a bare status (the status variants,
    /// [`Error::Api`], a wrapped [`auth_core::Error::Status`]). Errors mapped from an API
    /// error code report it through [`Classify::provider_code`].
    fn http_status(&self) -> Option<u16> {
        match self {
            Error::Core(e) => Classify::http_status(e),
            Error::Unauthorized => Some(401),
            Error::Forbidden => Some(403),
            Error::NotFound => Some(404),
            Error::AuthorizationExpired => Some(408),
            Error::Conflict => Some(409),
            Error::RateLimited { .. } => Some(429),
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    fn provider_code(&self) -> Option<&str> {
        self.code()
    }

    /// For [`Error::RateLimited`]: auth-core's one rule ([`auth_core::retry::rate_limit_hint`]):
    /// the API's `Retry-After` (at most an hour); none at all gives
    /// [`RATE_LIMIT_BACKOFF`](crate::limits::RATE_LIMIT_BACKOFF) (it asked to slow down without
    /// saying how much); a zero one is no hint, so pollers never go faster than their interval.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Core(e) => e.retry_after(),
            Error::RateLimited { retry_after } => auth_core::retry::rate_limit_hint(*retry_after),
            _ => None,
        }
    }

    /// Transport failures, timeouts of one request, 429, 502–504 and a throttled key fetch;
    /// not an expired authorization request (a new one must be created).
    fn is_retryable(&self) -> bool {
        match self {
            Error::Core(e) => e.is_retryable(),
            Error::AuthorizationExpired => false,
            other => other.kind().is_retryable(),
        }
    }
}

/// `SVC-005` details: the pending request that blocks a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizationInProgress {
    /// The pending request's id.
    pub auth_request: String,
    /// Whether that request was made by this service.
    pub from_same_service: bool,
    /// When it expires, if the API said.
    pub expires: Option<SystemTime>,
}

/// Why a response JWT or webhook JWT was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerificationError {
    /// No `X-IOV-JWT` header (nor, for webhooks, `Authorization: IOV-JWT`).
    #[error("no X-IOV-JWT header")]
    MissingToken,
    /// The token is not a well-formed compact JWS or its claims are not JSON.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// The JWS header has no `kid`.
    #[error("token has no kid")]
    MissingKid,
    /// The algorithm is not RS256/RS384/RS512.
    #[error("algorithm `{0}` not allowed")]
    Algorithm(String),
    /// The signature does not verify under the key named by `kid`.
    #[error("bad signature")]
    Signature,
    /// A required claim is absent.
    #[error("missing claim `{0}`")]
    MissingClaim(&'static str),
    /// `iss` is wrong.
    #[error("issuer: expected `{expected}`, got `{actual}`")]
    Issuer {
        /// Expected value.
        expected: String,
        /// Received value.
        actual: String,
    },
    /// `aud` is wrong.
    #[error("audience: expected `{expected}`, got `{actual}`")]
    Audience {
        /// Expected value.
        expected: String,
        /// Received value.
        actual: String,
    },
    /// `sub` is wrong.
    #[error("subject: expected `{expected}`, got `{actual}`")]
    Subject {
        /// Expected value.
        expected: String,
        /// Received value.
        actual: String,
    },
    /// `jti` does not echo the request's.
    #[error("jti does not echo the request's")]
    Jti,
    /// `exp` has passed (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` or `iat` lies in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `response.status` differs from the HTTP status.
    #[error("status claim {claim} does not match HTTP status {http}")]
    Status {
        /// The claim.
        claim: i64,
        /// The HTTP status.
        http: u16,
    },
    /// The body hash (or its presence) does not match the body.
    #[error("body hash: {0}")]
    BodyHash(&'static str),
    /// `response.location` does not match the `Location` header.
    #[error("location claim does not match the Location header")]
    Location,
    /// `response.cache` does not match the `Cache-Control` header.
    #[error("cache claim does not match the Cache-Control header")]
    Cache,
    /// A webhook token was already accepted (replay protection is on).
    #[error("webhook token replayed")]
    Replayed,
    /// A webhook's `request.meth` differs from the received method.
    #[error("method: expected `{expected}`, got `{actual}`")]
    Method {
        /// The method the token names.
        expected: String,
        /// The received method.
        actual: String,
    },
    /// A webhook's `request.path` differs from the received path.
    #[error("path: token names `{expected}`, request was to `{actual}`")]
    Path {
        /// The path the token names.
        expected: String,
        /// The received path.
        actual: String,
    },
}

impl From<JoseError> for VerificationError {
    fn from(e: JoseError) -> Self {
        match e {
            JoseError::UnsupportedAlgorithm(a) => VerificationError::Algorithm(a),
            JoseError::BadSignature => VerificationError::Signature,
            other => VerificationError::Malformed(other.to_string()),
        }
    }
}
