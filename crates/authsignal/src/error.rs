//! The crate's error type.
//!
//! API errors carry the server's `errorCode` (falling back to `error`, then the seed era's
//! `message`, then `HTTP-<status>`) and `errorDescription`. Transport failures stay transport
//! failures ([`auth_core::Error::Transport`]): no status is ever made up.

use std::time::Duration;

use crate::types::InvalidInput;
use crate::webhook::WebhookError;

/// An error response from the Authsignal API.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Transport, timeout, decoding, configuration: the failures every provider shares.
    #[error(transparent)]
    Core(#[from] auth_core::Error),
    /// A value was rejected before anything was sent.
    #[error(transparent)]
    InvalidInput(#[from] InvalidInput),
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

    /// The HTTP status, for errors that came from an API response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Core(e) => e.http_status(),
            _ => self.api_error().map(|e| e.status),
        }
    }

    /// Whether the server refused the secret key (401: a wrong key, or a wrong region). A
    /// refused session token is not this: see [`Error::is_invalid_session`].
    pub fn is_unauthorized(&self) -> bool {
        match self {
            Error::Unauthorized(_) => true,
            Error::Core(e) => e.http_status() == Some(401),
            _ => false,
        }
    }

    /// Whether a session call's token was refused (expired, revoked or unknown).
    pub fn is_invalid_session(&self) -> bool {
        matches!(self, Error::InvalidSession(_))
    }

    /// Whether the server asked us to slow down (429), after the retries.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429)
    }

    /// Whether the server failed (5xx), after the retries.
    pub fn is_server_error(&self) -> bool {
        self.status().is_some_and(|s| (500..600).contains(&s))
    }

    /// Whether the request timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Core(e) if e.is_timeout())
    }

    /// Whether repeating the call later may succeed (connection failures, timeouts, 429, 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Core(e) => e.is_transient(),
            Error::RateLimited { .. } | Error::Server(_) => true,
            _ => false,
        }
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
        assert!(e.is_transient());

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
        assert_eq!(
            Error::from_response(418, b"", None, &[]).status(),
            Some(418)
        );
        let unauthorized = Error::from_response(401, b"", None, &[]);
        assert!(unauthorized.is_unauthorized() && !unauthorized.is_transient());
        let limited = Error::from_response(429, b"", None, &[]);
        assert!(limited.is_rate_limited() && limited.is_transient());
        let failed = Error::from_response(503, b"", None, &[]);
        assert!(failed.is_server_error() && !failed.is_rate_limited());
        let core = Error::from(auth_core::Error::status(401, b"", &[]));
        assert!(core.is_unauthorized() && !core.is_timeout());
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
