//! The crate's error type.
//!
//! API errors carry the server's `errorCode` (falling back to `error`, then the seed era's
//! `message`, then `HTTP-<status>`) and `errorDescription`. Transport failures stay transport
//! failures ([`auth_core::Error::Transport`]): no status is ever made up.

use std::time::Duration;

use auth_core::{Classify, ErrorKind};

use crate::types::InvalidId;
use crate::webhook::SIGNATURE_HEADER;

/// An error response from the Authsignal API.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The API's error code (`errorCode`, else `error`, else `message`, else `HTTP-<status>`).
    pub code: String,
    /// The API's `errorDescription`, when it sent one (scrubbed of the secret key).
    pub description: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} `{}`", self.status, self.code)?;
        if let Some(d) = &self.description {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

impl ApiError {
    /// The API's own code, when its answer carried one (not the `HTTP-<status>` stand-in).
    pub fn provider_code(&self) -> Option<&str> {
        (self.code != format!("HTTP-{}", self.status)).then_some(self.code.as_str())
    }

    /// Reads an error body (JSON or not) for `status`, scrubbing `secrets` (the key, and
    /// tokens or codes the request carried) out of the texts.
    pub(crate) fn from_body(status: u16, body: &[u8], secrets: &[&str]) -> Self {
        let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let field = |name: &str| {
            json.as_ref()
                .and_then(|j| j.get(name))
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(|s| scrub(s, secrets))
        };
        let code = field("errorCode")
            .or_else(|| field("error"))
            .or_else(|| field("message"))
            .unwrap_or_else(|| format!("HTTP-{status}"));
        let description = field("errorDescription").or_else(|| {
            // Seed era: the text was in `message`; keep it unless it already is the code.
            field("message").filter(|m| *m != code)
        });
        ApiError {
            status,
            code,
            description,
        }
    }
}

fn scrub(text: &str, secrets: &[&str]) -> String {
    // Scrub the whole text first, so a secret cut by the length limit cannot survive.
    auth_core::error::scrub_secrets(text, secrets)
        .chars()
        .take(1024)
        .collect()
}

/// Why a webhook was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// No `X-Signature-V2` header.
    #[error("the {SIGNATURE_HEADER} header is missing")]
    MissingHeader,
    /// The header has no `t` or no `v2`, or a bad timestamp.
    #[error("the signature header is malformed: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// The timestamp is older than the tolerance allows.
    #[error("the webhook timestamp {timestamp} is {age_secs} s old (tolerance {tolerance_secs} s)")]
    Stale {
        /// The header's `t`.
        timestamp: i64,
        /// How old it is, in seconds.
        age_secs: i64,
        /// The tolerance, in seconds.
        tolerance_secs: u64,
    },
    /// The timestamp is further in the future than the tolerance allows.
    #[error(
        "the webhook timestamp {timestamp} is {ahead_secs} s in the future (tolerance {tolerance_secs} s)"
    )]
    FromTheFuture {
        /// The header's `t`.
        timestamp: i64,
        /// How far ahead, in seconds.
        ahead_secs: i64,
        /// The tolerance, in seconds.
        tolerance_secs: u64,
    },
    /// No `v2` matched any of the secrets.
    #[error("no signature matches ({count} checked)")]
    NoMatchingSignature {
        /// How many `v2` values the header had.
        count: usize,
    },
    /// The signature matched but the body is not a webhook event.
    #[error("the webhook body is not a valid event at `{path}`: {message}")]
    InvalidPayload {
        /// JSON path of the problem.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Transport, timeout, decoding, configuration: the failures every provider shares.
    #[error(transparent)]
    Core(#[from] auth_core::Error),
    /// A value was rejected before anything was sent.
    #[error(transparent)]
    InvalidInput(#[from] InvalidId),
    /// 401: the secret key is wrong — or the base URL is for another region.
    #[error("unauthorized ({0}); check the secret key and the region base URL")]
    Unauthorized(ApiError),
    /// 401 on a session call (create, validate, refresh, revoke): the token it carried is
    /// invalid, expired or revoked. Start a new session; the secret key is not the problem
    /// (a refused key keeps the API's own "check your API key" description, and stays
    /// [`Error::Unauthorized`]).
    #[error("the session token was refused (invalid, expired or revoked): {0}")]
    InvalidSession(ApiError),
    /// 400 (or 422 other than a bad token): the request failed validation.
    #[error("invalid request: {0}")]
    InvalidRequest(ApiError),
    /// 403.
    #[error("forbidden: {0}")]
    Forbidden(ApiError),
    /// 404: unknown action, key, authenticator, challenge or device (unknown *users* are not
    /// 404: the API answers `isEnrolled: false`).
    #[error("not found: {0}")]
    NotFound(ApiError),
    /// 422 `invalid_request_token`.
    #[error("invalid request token: {0}")]
    InvalidRequestToken(ApiError),
    /// 429, after the retry policy gave up.
    #[error("rate limited: {error}")]
    RateLimited {
        /// The error body.
        error: ApiError,
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// 5xx, after the retry policy gave up (for requests it may repeat).
    #[error("server error: {0}")]
    Server(ApiError),
    /// Any other error status or code (`invalid_configuration`, `invalid_credential`,
    /// `AUTHENTICATOR_NOT_FOUND` …).
    #[error("API error: {0}")]
    Api(ApiError),
    /// `/validate` answered for a different user or action than the one expected: the token
    /// must not be trusted.
    #[error("token was issued for user `{user}` and action `{action}`, not the expected ones")]
    TokenMismatch {
        /// The user id the server returned.
        user: String,
        /// The action code the server returned.
        action: String,
    },
    /// A webhook failed verification.
    #[error(transparent)]
    Webhook(#[from] WebhookError),
}

impl Error {
    /// The API error, for errors that came from an API response.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Unauthorized(e)
            | Error::InvalidSession(e)
            | Error::InvalidRequest(e)
            | Error::Forbidden(e)
            | Error::NotFound(e)
            | Error::InvalidRequestToken(e)
            | Error::Server(e)
            | Error::Api(e)
            | Error::RateLimited { error: e, .. } => Some(e),
            _ => None,
        }
    }

    /// Whether a session call's token was refused (expired, revoked or unknown): start a new
    /// session. ([`Classify::kind`] says [`ErrorKind::Unauthorized`] for this and for a
    /// refused secret key alike.)
    pub fn is_invalid_session(&self) -> bool {
        matches!(self, Error::InvalidSession(_))
    }

    /// On a session endpoint, a 401 is about the token the call carried — unless the body is
    /// the API's refused-key answer (its description names the API key), which stays
    /// [`Error::Unauthorized`].
    pub(crate) fn for_session(self) -> Self {
        match self {
            Error::Unauthorized(e)
                if e.status == 401
                    && !e
                        .description
                        .as_deref()
                        .is_some_and(|d| d.to_ascii_lowercase().contains("api key")) =>
            {
                Error::InvalidSession(e)
            }
            other => other,
        }
    }

    /// Maps an error response.
    pub(crate) fn from_response(
        status: u16,
        body: &[u8],
        retry_after: Option<Duration>,
        secrets: &[&str],
    ) -> Self {
        let e = ApiError::from_body(status, body, secrets);
        match (status, e.code.as_str()) {
            (_, "invalid_request_token") => Error::InvalidRequestToken(e),
            (401, _) | (_, "unauthorized") => Error::Unauthorized(e),
            (400 | 422, "invalid_configuration" | "invalid_credential") => Error::Api(e),
            (400 | 422, c) if c.eq_ignore_ascii_case("authenticator_not_found") => Error::Api(e),
            (400 | 422, _) => Error::InvalidRequest(e),
            (403, _) => Error::Forbidden(e),
            (404, _) => Error::NotFound(e),
            (429, _) => Error::RateLimited {
                error: e,
                retry_after,
            },
            (500..=599, _) => Error::Server(e),
            _ => Error::Api(e),
        }
    }
}

/// The one classification of every oob-auth error: what kind of failure, the HTTP status,
/// the API's `errorCode`, and the `Retry-After` hint of a 429.
///
/// | variant | kind |
/// | --- | --- |
/// | [`Error::Core`] | auth-core's ([`auth_core::Error`]'s [`Classify`]) |
/// | [`Error::InvalidInput`] | `Configuration` (nothing was sent) |
/// | [`Error::Unauthorized`], [`Error::InvalidSession`], [`Error::Forbidden`] | `Unauthorized` |
/// | [`Error::RateLimited`] | `RateLimited` (with [`Classify::retry_after`]) |
/// | [`Error::Server`] 502, 503, 504 | `Transport` (the gateway failed: retryable) |
/// | [`Error::Server`] other 5xx, [`Error::InvalidRequest`], [`Error::NotFound`], [`Error::InvalidRequestToken`], [`Error::Api`] | `Protocol` |
/// | [`Error::TokenMismatch`], [`Error::Webhook`] | `Protocol` (verification failed) |
impl Classify for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Core(e) => e.kind(),
            Error::InvalidInput(_) => ErrorKind::Configuration,
            Error::Unauthorized(_) | Error::InvalidSession(_) | Error::Forbidden(_) => {
                ErrorKind::Unauthorized
            }
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::Server(e) if matches!(e.status, 502..=504) => ErrorKind::Transport,
            Error::Server(_)
            | Error::InvalidRequest(_)
            | Error::NotFound(_)
            | Error::InvalidRequestToken(_)
            | Error::Api(_)
            | Error::TokenMismatch { .. }
            | Error::Webhook(_) => ErrorKind::Protocol,
        }
    }

    fn http_status(&self) -> Option<u16> {
        match self {
            Error::Core(e) => e.http_status(),
            _ => self.api_error().map(|e| e.status),
        }
    }

    /// The API's `errorCode` (else `error`, else the seed era's `message`); `None` when the
    /// answer carried none (the `HTTP-<status>` stand-in is not the API's).
    fn provider_code(&self) -> Option<&str> {
        match self {
            Error::Core(e) => e.provider_code(),
            _ => self.api_error().and_then(ApiError::provider_code),
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Core(e) => e.retry_after(),
            Error::RateLimited { retry_after, .. } => {
                auth_core::retry::rate_limit_hint(*retry_after)
            }
            _ => None,
        }
    }

    fn is_retryable(&self) -> bool {
        match self {
            Error::Core(e) => e.is_retryable(),
            _ => self.kind().is_retryable(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_and_fallbacks() {
        let body = br#"{"error":"unauthorized","errorCode":"unauthorized","errorDescription":"The request is unauthorized. Check that your API key and region base URL are correctly configured."}"#;
        let e = Error::from_response(401, body, None, &["sk"]);
        assert!(matches!(&e, Error::Unauthorized(a) if a.code == "unauthorized"));
        assert!(e.to_string().contains("region"));

        let e = Error::from_response(400, br#"{"error":"invalid_request"}"#, None, &[]);
        assert!(
            matches!(&e, Error::InvalidRequest(a) if a.code == "invalid_request" && a.description.is_none())
        );

        let e = Error::from_response(404, br#"{"message":"Not Found"}"#, None, &[]);
        assert!(matches!(&e, Error::NotFound(a) if a.code == "Not Found"));

        let e = Error::from_response(502, b"<html>bad gateway</html>", None, &[]);
        assert!(matches!(&e, Error::Server(a) if a.code == "HTTP-502"));
        assert!(e.is_retryable());

        let e = Error::from_response(
            400,
            br#"{"errorCode":"AUTHENTICATOR_NOT_FOUND","errorDescription":"none configured"}"#,
            None,
            &[],
        );
        assert!(matches!(&e, Error::Api(_)));
        let e = Error::from_response(422, br#"{"errorCode":"invalid_request_token"}"#, None, &[]);
        assert!(matches!(&e, Error::InvalidRequestToken(_)));
        let e = Error::from_response(
            429,
            br#"{"errorCode":"too_many_requests"}"#,
            Some(Duration::from_secs(3)),
            &[],
        );
        assert!(matches!(
            e,
            Error::RateLimited {
                retry_after: Some(_),
                ..
            }
        ));
    }

    /// Every variant's kind, status, provider code, hint and retryability: one
    /// classification, consistent with itself.
    #[test]
    fn classification() {
        use auth_core::TransportError;
        let api = |status, body: &[u8]| Error::from_response(status, body, None, &[]);
        /// error, kind, HTTP status, provider code, retryable
        type Case = (Error, ErrorKind, Option<u16>, Option<&'static str>, bool);
        let cases: Vec<Case> = vec![
            (
                api(401, br#"{"errorCode":"unauthorized"}"#),
                ErrorKind::Unauthorized,
                Some(401),
                Some("unauthorized"),
                false,
            ),
            (
                api(401, b"").for_session(),
                ErrorKind::Unauthorized,
                Some(401),
                None,
                false,
            ),
            (
                api(403, br#"{"error":"forbidden"}"#),
                ErrorKind::Unauthorized,
                Some(403),
                Some("forbidden"),
                false,
            ),
            (
                api(400, br#"{"errorCode":"invalid_request"}"#),
                ErrorKind::Protocol,
                Some(400),
                Some("invalid_request"),
                false,
            ),
            (
                api(404, br#"{"message":"Not Found"}"#),
                ErrorKind::Protocol,
                Some(404),
                Some("Not Found"),
                false,
            ),
            (
                api(422, br#"{"errorCode":"invalid_request_token"}"#),
                ErrorKind::Protocol,
                Some(422),
                Some("invalid_request_token"),
                false,
            ),
            (
                api(400, br#"{"errorCode":"invalid_configuration"}"#),
                ErrorKind::Protocol,
                Some(400),
                Some("invalid_configuration"),
                false,
            ),
            (
                Error::from_response(
                    429,
                    br#"{"errorCode":"too_many_requests"}"#,
                    Some(Duration::from_secs(7)),
                    &[],
                ),
                ErrorKind::RateLimited,
                Some(429),
                Some("too_many_requests"),
                true,
            ),
            (api(429, b""), ErrorKind::RateLimited, Some(429), None, true),
            (
                api(500, br#"{"errorCode":"internal_error"}"#),
                ErrorKind::Protocol,
                Some(500),
                Some("internal_error"),
                false,
            ),
            (
                api(502, b"<html>"),
                ErrorKind::Transport,
                Some(502),
                None,
                true,
            ),
            (api(503, b""), ErrorKind::Transport, Some(503), None, true),
            (api(418, b""), ErrorKind::Protocol, Some(418), None, false),
            (
                InvalidId::new("user id", "empty").into(),
                ErrorKind::Configuration,
                None,
                None,
                false,
            ),
            (
                Error::TokenMismatch {
                    user: "u".into(),
                    action: "a".into(),
                },
                ErrorKind::Protocol,
                None,
                None,
                false,
            ),
            (
                WebhookError::MissingHeader.into(),
                ErrorKind::Protocol,
                None,
                None,
                false,
            ),
            (
                auth_core::Error::Transport(TransportError::new(
                    auth_core::TransportErrorKind::Connect,
                    "refused",
                ))
                .into(),
                ErrorKind::Transport,
                None,
                None,
                true,
            ),
            (
                auth_core::Error::Transport(TransportError::new(
                    auth_core::TransportErrorKind::Timeout,
                    "slow",
                ))
                .into(),
                ErrorKind::Timeout,
                None,
                None,
                true,
            ),
            (
                auth_core::Error::decode("user", "isEnrolled", "not a bool").into(),
                ErrorKind::Protocol,
                None,
                None,
                false,
            ),
            (
                auth_core::Error::Cancelled.into(),
                ErrorKind::Cancelled,
                None,
                None,
                false,
            ),
        ];
        for (e, kind, status, code, retryable) in cases {
            assert_eq!(e.kind(), kind, "{e:?}");
            assert_eq!(e.http_status(), status, "{e:?}");
            assert_eq!(e.provider_code(), code, "{e:?}");
            assert_eq!(e.is_retryable(), retryable, "{e:?}");
            assert_eq!(e.is_retryable(), kind.is_retryable(), "consistent: {e:?}");
            if kind == ErrorKind::RateLimited {
                // auth-core's one rule: the server's hint, or the 5 s back-off without one.
                assert!(e.retry_after().is_some(), "{e:?}");
            } else {
                assert_eq!(e.retry_after(), None, "{e:?}");
            }
        }
    }

    #[test]
    fn secret_is_scrubbed_from_descriptions() {
        let e = Error::from_response(
            400,
            br#"{"errorCode":"invalid_request","errorDescription":"key sk_live_XYZ is odd, code otp-918273 too"}"#,
            None,
            &["sk_live_XYZ", "otp-918273"],
        );
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("sk_live_XYZ"), "{shown}");
        assert!(!shown.contains("otp-918273"), "{shown}");
    }
}
