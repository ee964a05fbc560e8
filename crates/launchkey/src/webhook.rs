//! Webhooks: the API POSTs authorization responses and session ends to the service.
//!
//! Pass the **raw** body bytes, the method and the path exactly as the API addressed them
//! (mind reverse proxies that rewrite paths). Verification happens before any parsing; once the
//! signing API key is cached, handling a webhook does no network I/O.

use std::time::SystemTime;

use auth_core::http_types::header::{AUTHORIZATION, CONTENT_TYPE};
use auth_core::http_types::{HeaderMap, Request};
use auth_core::time::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use crate::client::{KeyOrigin, X_IOV_JWT, check_body_hash};
use crate::error::VerificationError;
use crate::response::{AuthorizationResponse, CorePackage, decode_core, decrypt_jwe};
use crate::{Client, Error};

/// A verified, decrypted webhook.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WebhookPackage {
    /// A user answered an authorization request.
    AuthorizationResponse(Box<AuthorizationResponse>),
    /// The user ended their session for this service on the device: end the local session and
    /// call [`Client::session_end`].
    ServiceUserSessionEnd(SessionEnd),
}

/// A session-end webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionEnd {
    /// The user's hash for this service.
    pub service_user_hash: String,
    /// When the user asked to log out (the API's time).
    pub logout_requested: SystemTime,
}

/// A session-end webhook body: both fields are required.
#[derive(Deserialize)]
struct SessionEndBody {
    service_user_hash: String,
    api_time: Timestamp,
}

/// Finds the webhook JWT: `X-IOV-JWT`, else `Authorization: IOV-JWT <jwt>`.
pub(crate) fn webhook_token(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(X_IOV_JWT).and_then(|v| v.to_str().ok()) {
        return Some(v.trim());
    }
    let auth = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("IOV-JWT")
        .then_some(token.trim())
}

impl Client {
    /// Verifies and decrypts a webhook: the platform's `POST`, as your HTTP server received it
    /// (its headers, the **raw** body bytes, its method, and the path the platform addressed —
    /// behind a reverse proxy that rewrites paths, put the platform's path back in the URI).
    ///
    /// Checks: the JWT (allow-listed algorithm, API signature by `kid`, `iss` = `lka`,
    /// `aud` = `sub` = `svc:<id>`, times), its `request.meth` and `request.path` against the
    /// request's method and path, and the body hash; only then decrypts and parses. Dispatches
    /// on `Content-Type` (`application/jose` = encrypted authorization response,
    /// `application/json` = session end), else on whether the body is a JSON object.
    ///
    /// Token times are checked against the server-adjusted clock learned by earlier calls (call
    /// [`Client::server_time`] once at start-up if the service only receives webhooks),
    /// else against the local clock, with the configured leeway. The API key is fetched by kid
    /// from the configured base URL only when it is not cached yet.
    ///
    /// ```no_run
    /// # async fn f(client: launchkey::Client, request: http::Request<Vec<u8>>) -> Result<(), launchkey::Error> {
    /// use launchkey::WebhookPackage;
    /// match client.handle_webhook(&request).await? {
    ///     WebhookPackage::AuthorizationResponse(r) => println!("authorized: {}", r.authorized),
    ///     WebhookPackage::ServiceUserSessionEnd(end) => println!("log out {}", end.service_user_hash),
    ///     _ => {}
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn handle_webhook<B>(&self, request: &Request<B>) -> Result<WebhookPackage, Error>
    where
        B: AsRef<[u8]> + Sync,
    {
        let headers = request.headers();
        let body = request.body().as_ref();
        let method = request.method().as_str();
        let path = request.uri().path();
        let token = webhook_token(headers).ok_or(VerificationError::MissingToken)?;
        let claims = self.verify_api_jwt(token, KeyOrigin::Untrusted).await?;
        let request = claims
            .get("request")
            .and_then(Value::as_object)
            .ok_or(VerificationError::MissingClaim("request"))?;
        let meth = request
            .get("meth")
            .and_then(Value::as_str)
            .ok_or(VerificationError::MissingClaim("request.meth"))?;
        if !meth.eq_ignore_ascii_case(method) {
            return Err(VerificationError::Method {
                expected: meth.chars().take(16).collect(),
                actual: method.chars().take(16).collect(),
            }
            .into());
        }
        let claim_path = request
            .get("path")
            .and_then(Value::as_str)
            .ok_or(VerificationError::MissingClaim("request.path"))?;
        if claim_path != path {
            return Err(VerificationError::Path {
                expected: claim_path.chars().take(256).collect(),
                actual: path.chars().take(256).collect(),
            }
            .into());
        }
        check_body_hash(request, body)?;
        self.note_webhook_jti(&claims)?;

        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let encrypted = if content_type.starts_with("application/jose") {
            true
        } else if content_type.starts_with("application/json") {
            false
        } else {
            !matches!(serde_json::from_slice::<Value>(body), Ok(Value::Object(_)))
        };
        if !encrypted {
            return session_end(body);
        }
        let plain = decrypt_jwe(self.service_keys(), body)?;
        let value: Value = auth_core::json::from_slice("webhook package", &plain)?;
        match value.get("type").and_then(Value::as_str) {
            None | Some("AUTHORIZATION_RESPONSE") => {}
            Some("SERVICE_USER_SESSION_END") => return session_end(&plain),
            Some(other) => {
                return Err(Error::UnsupportedWebhook {
                    kind: other.chars().take(64).collect(),
                });
            }
        }
        let core: CorePackage = auth_core::json::from_value("webhook package", value)?;
        let response = decode_core(self.service_keys(), core)?;
        Ok(WebhookPackage::AuthorizationResponse(Box::new(response)))
    }
}

pub(crate) fn session_end(body: &[u8]) -> Result<WebhookPackage, Error> {
    let b: SessionEndBody = auth_core::json::from_slice("session end webhook", body)?;
    Ok(WebhookPackage::ServiceUserSessionEnd(SessionEnd {
        service_user_hash: b.service_user_hash,
        logout_requested: b.api_time.to_system_time(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_header_precedence() {
        let mut h = HeaderMap::new();
        assert_eq!(webhook_token(&h), None);
        h.insert(AUTHORIZATION, "Bearer x".parse().unwrap());
        assert_eq!(webhook_token(&h), None);
        h.insert(AUTHORIZATION, "iov-jwt a.b.c".parse().unwrap());
        assert_eq!(webhook_token(&h), Some("a.b.c"));
        h.insert("X-Iov-Jwt", "d.e.f".parse().unwrap());
        assert_eq!(webhook_token(&h), Some("d.e.f"));
    }

    #[test]
    fn session_end_parses() {
        let w =
            session_end(br#"{"service_user_hash":"h","api_time":"2019-01-01T00:00:00Z"}"#).unwrap();
        match w {
            WebhookPackage::ServiceUserSessionEnd(s) => {
                assert_eq!(s.service_user_hash, "h");
                assert_eq!(
                    s.logout_requested,
                    Timestamp::from_unix(1_546_300_800).to_system_time()
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(session_end(b"{}").is_err());
        assert!(session_end(br#"{"service_user_hash":"h","api_time":"yesterday"}"#).is_err());
    }
}
