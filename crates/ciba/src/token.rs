//! Token responses (CIBA §10.1.1, §10.3.1), token error responses (§11), and what they mean.

use std::time::Duration;

use serde::Deserialize;

use crate::error::{Endpoint, ProviderError, clean_description};
use crate::id_token::IdTokenClaims;
use crate::types::{AccessToken, AuthReqId, ErrorCode, IdTokenJwt, RefreshToken};

/// The OAuth grant type of CIBA token requests.
pub const CIBA_GRANT_TYPE: &str = "urn:openid:params:grant-type:ciba";

/// A successful token response as sent (before the ID token is validated).
///
/// `Debug` never shows the tokens. `null` is the same as absent for the optional members.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The access token.
    pub access_token: AccessToken,
    /// `Bearer`, usually.
    pub token_type: String,
    /// A refresh token, when the OP issues one.
    #[serde(default)]
    pub refresh_token: Option<RefreshToken>,
    /// The access token's lifetime in seconds.
    #[serde(default)]
    pub expires_in: Option<serde_json::Value>,
    /// The ID token (required for CIBA, whose requests always carry scope `openid`).
    #[serde(default)]
    pub id_token: Option<IdTokenJwt>,
    /// The granted scopes, when they differ from the requested ones.
    #[serde(default)]
    pub scope: Option<String>,
}

impl TokenResponse {
    /// Parses a token response body.
    pub fn parse(body: &[u8]) -> Result<Self, auth_core::Error> {
        auth_core::json::from_slice("token response", body)
    }

    /// `expires_in` as a duration (numbers and numeric strings; anything else is ignored).
    pub fn expires_in(&self) -> Option<Duration> {
        match self.expires_in.as_ref()? {
            serde_json::Value::Number(n) => n
                .as_u64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.is_finite() && *f >= 0.0 && *f < 1e12)
                        .map(|f| f as u64)
                })
                .map(Duration::from_secs),
            serde_json::Value::String(s) => s.trim().parse().ok().map(Duration::from_secs),
            _ => None,
        }
    }
}

/// The tokens of an approved request, with the ID token validated.
///
/// The tokens are secrets: `Debug` shows their presence, never their values.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Tokens {
    /// The request these tokens answer.
    pub auth_req_id: AuthReqId,
    /// The access token.
    pub access_token: AccessToken,
    /// `Bearer`, usually.
    pub token_type: String,
    /// The refresh token, when issued.
    pub refresh_token: Option<RefreshToken>,
    /// The access token's lifetime.
    pub expires_in: Option<Duration>,
    /// The granted scopes, when the OP said.
    pub scope: Option<String>,
    /// The ID token as sent.
    pub id_token: IdTokenJwt,
    /// Its validated claims.
    pub claims: IdTokenClaims,
}

/// How an authentication request ended.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Outcome {
    /// The user approved; the tokens are verified.
    Approved(Box<Tokens>),
    /// The user (or the OP's policy) denied (`access_denied`).
    Denied {
        /// The OP's `error_description`, cleaned.
        description: Option<String>,
    },
    /// The request expired before the user answered (`expired_token`, or `expires_in` passed).
    Expired,
    /// The authentication failed otherwise (`transaction_failed`, push mode §12).
    Failed {
        /// The OP's `error_description`, cleaned.
        description: Option<String>,
    },
}

impl Outcome {
    /// Whether the user approved.
    pub fn is_approved(&self) -> bool {
        matches!(self, Outcome::Approved(_))
    }
}

/// The answer to one token request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TokenPoll {
    /// Settled.
    Done(Outcome),
    /// `authorization_pending`: ask again after the interval.
    Pending,
    /// `slow_down`: ask again after the interval plus 5 s, and keep the longer interval.
    SlowDown,
}

/// An OAuth error body (RFC 6749 §5.2).
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    pub error: ErrorCode,
    #[serde(default)]
    pub error_description: Option<String>,
    #[serde(default)]
    pub error_uri: Option<String>,
}

impl ErrorBody {
    /// Parses an OAuth error body; `None` when the body is not one.
    pub(crate) fn parse(body: &[u8]) -> Option<Self> {
        let e: ErrorBody = serde_json::from_slice(body).ok()?;
        if e.error.as_str().is_empty() {
            return None;
        }
        Some(e)
    }

    pub(crate) fn into_provider_error(
        self,
        endpoint: Endpoint,
        status: u16,
        retry_after: Option<Duration>,
        secrets: &[&str],
    ) -> ProviderError {
        ProviderError {
            endpoint,
            status,
            code: match self.error {
                ErrorCode::Other(s) => {
                    ErrorCode::Other(clean_description(&s, secrets).chars().take(64).collect())
                }
                known => known,
            },
            description: self
                .error_description
                .map(|d| clean_description(&d, secrets)),
            uri: self.error_uri.map(|u| clean_description(&u, secrets)),
            retry_after,
        }
    }
}

/// What a token endpoint error means for the request (CIBA §11): `Some` for the codes that are
/// outcomes or "ask again", `None` for real errors.
pub(crate) fn classify(error: &ErrorCode, description: Option<String>) -> Option<TokenPoll> {
    Some(match error {
        ErrorCode::AuthorizationPending => TokenPoll::Pending,
        ErrorCode::SlowDown => TokenPoll::SlowDown,
        ErrorCode::ExpiredToken => TokenPoll::Done(Outcome::Expired),
        ErrorCode::AccessDenied => TokenPoll::Done(Outcome::Denied { description }),
        ErrorCode::TransactionFailed => TokenPoll::Done(Outcome::Failed { description }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_responses_parse_and_hide_their_tokens() {
        let body = br#"{"access_token":"at-secret","token_type":"Bearer","refresh_token":null,
            "expires_in":3600,"id_token":"eyJ.x.y","scope":"openid","extra":1}"#;
        let t = TokenResponse::parse(body).unwrap();
        assert_eq!(t.expires_in(), Some(Duration::from_secs(3600)));
        assert!(t.refresh_token.is_none());
        let shown = format!("{t:?}");
        assert!(
            !shown.contains("at-secret") && !shown.contains("eyJ"),
            "{shown}"
        );
        let err = TokenResponse::parse(br#"{"token_type":"Bearer"}"#).unwrap_err();
        assert!(err.to_string().contains("access_token"), "{err}");
    }

    #[test]
    fn recorded_responses_tolerate_null_everywhere_optional() {
        // Recorded from oidc-provider 9.13.3 (fixtures/ciba/README.md).
        let recorded = include_str!("../../../fixtures/ciba/oidc-provider/token_response.json");
        let value: serde_json::Value = serde_json::from_str(recorded).unwrap();
        TokenResponse::parse(recorded.as_bytes()).unwrap();
        for (path, variant) in auth_core::json::null_variants(&value) {
            let bytes = serde_json::to_vec(&variant).unwrap();
            let required = matches!(path.as_str(), "access_token" | "token_type");
            assert_eq!(TokenResponse::parse(&bytes).is_ok(), !required, "{path}");
        }
    }

    #[test]
    fn error_codes_map_to_outcomes() {
        for (body, expect) in [
            (r#"{"error":"authorization_pending"}"#, "Pending"),
            (
                r#"{"error":"slow_down","error_description":"easy"}"#,
                "SlowDown",
            ),
            (r#"{"error":"expired_token"}"#, "Expired"),
            (
                r#"{"error":"access_denied","error_description":"no"}"#,
                "Denied",
            ),
            (r#"{"error":"transaction_failed"}"#, "Failed"),
        ] {
            let e = ErrorBody::parse(body.as_bytes()).unwrap();
            let shown = format!("{:?}", classify(&e.error, e.error_description).unwrap());
            assert!(shown.contains(expect), "{shown}");
        }
        let e = ErrorBody::parse(br#"{"error":"invalid_grant"}"#).unwrap();
        assert!(classify(&e.error, None).is_none());
        assert!(ErrorBody::parse(b"<html>").is_none());
        assert!(ErrorBody::parse(br#"{"error":""}"#).is_none());
        let p = ErrorBody::parse(
            br#"{"error":"invalid_request","error_description":"bad user_code 246810"}"#,
        )
        .unwrap()
        .into_provider_error(Endpoint::Backchannel, 400, None, &["246810"]);
        assert_eq!(p.description.as_deref(), Some("bad user_code [redacted]"));
    }
}
