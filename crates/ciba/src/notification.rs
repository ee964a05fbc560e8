//! The client notification endpoint: ping callbacks, pushed token responses and push error
//! payloads (see [`crate::docs::notifications`]).

use aws_lc_rs::digest::{SHA256, digest};
use serde::Deserialize;

use crate::error::NotificationError;
use crate::limits::{MAX_PING_BODY, MAX_PUSH_BODY};
use crate::token::TokenResponse;
use crate::types::{AuthReqId, ClientNotificationToken, ErrorCode, is_b64token};

/// Reads `Bearer <token>` from an `Authorization` header value.
fn bearer(authorization: Option<&[u8]>) -> Result<ClientNotificationToken, NotificationError> {
    let value = authorization.ok_or(NotificationError::MissingBearer)?;
    let value = std::str::from_utf8(value).map_err(|_| NotificationError::MissingBearer)?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(NotificationError::MissingBearer)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || !is_b64token(token) {
        return Err(NotificationError::MissingBearer);
    }
    Ok(ClientNotificationToken::new(token))
}

/// Constant-time comparison of two tokens (over their SHA-256, so the length does not leak
/// either).
fn same_token(a: &ClientNotificationToken, b: &ClientNotificationToken) -> bool {
    let a = digest(&SHA256, a.expose_secret().as_bytes());
    let b = digest(&SHA256, b.expose_secret().as_bytes());
    auth_core::secret::constant_time_eq(a.as_ref(), b.as_ref())
}

fn bounded(body: &[u8], max: usize) -> Result<(), NotificationError> {
    if body.len() > max {
        Err(NotificationError::TooLarge(max))
    } else {
        Ok(())
    }
}

fn auth_req_id(value: Option<&serde_json::Value>) -> Result<AuthReqId, NotificationError> {
    value
        .and_then(serde_json::Value::as_str)
        .and_then(|s| AuthReqId::new(s).ok())
        .ok_or_else(|| NotificationError::Malformed("no valid `auth_req_id`".into()))
}

/// A ping callback (CIBA §10.2), not verified yet.
#[derive(Debug)]
pub struct PingNotification {
    auth_req_id: AuthReqId,
    bearer: ClientNotificationToken,
}

impl PingNotification {
    /// Parses the `Authorization` header value and the raw JSON body `{"auth_req_id": …}`.
    pub fn parse(authorization: Option<&[u8]>, body: &[u8]) -> Result<Self, NotificationError> {
        let bearer = bearer(authorization)?;
        bounded(body, MAX_PING_BODY)?;
        let doc: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| NotificationError::Malformed("not JSON".into()))?;
        let auth_req_id = auth_req_id(doc.get("auth_req_id"))?;
        Ok(PingNotification {
            auth_req_id,
            bearer,
        })
    }

    /// The `auth_req_id` the body names: use it only to look up the expected token.
    pub fn auth_req_id(&self) -> &AuthReqId {
        &self.auth_req_id
    }

    /// Checks the bearer token against the request's `client_notification_token`.
    pub fn verify(
        self,
        expected: &ClientNotificationToken,
    ) -> Result<VerifiedPing, NotificationError> {
        if same_token(&self.bearer, expected) {
            Ok(VerifiedPing {
                auth_req_id: self.auth_req_id,
            })
        } else {
            Err(NotificationError::WrongToken)
        }
    }
}

/// A ping whose bearer token matched: the OP says the result of `auth_req_id` is ready.
#[derive(Debug, Clone)]
pub struct VerifiedPing {
    auth_req_id: AuthReqId,
}

impl VerifiedPing {
    /// The request whose result is ready.
    pub fn auth_req_id(&self) -> &AuthReqId {
        &self.auth_req_id
    }
}

/// What a push carries.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PushPayload {
    /// A token response (§10.3.1); the ID token is not validated yet.
    Tokens(TokenResponse),
    /// A push error payload (§12): `access_denied`, `expired_token`, `transaction_failed`.
    Error {
        /// `error`.
        error: ErrorCode,
        /// `error_description`, as sent (cleaned when it becomes an outcome).
        description: Option<String>,
    },
}

/// A push (CIBA §10.3, §12), not verified yet.
#[derive(Debug)]
pub struct PushNotification {
    auth_req_id: AuthReqId,
    bearer: ClientNotificationToken,
    payload: PushPayload,
}

#[derive(Deserialize)]
struct PushError {
    error: ErrorCode,
    #[serde(default)]
    error_description: Option<String>,
}

impl PushNotification {
    /// Parses the `Authorization` header value and the raw JSON body.
    pub fn parse(authorization: Option<&[u8]>, body: &[u8]) -> Result<Self, NotificationError> {
        let bearer = bearer(authorization)?;
        bounded(body, MAX_PUSH_BODY)?;
        let doc: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| NotificationError::Malformed("not JSON".into()))?;
        let auth_req_id = auth_req_id(doc.get("auth_req_id"))?;
        let payload = if doc.get("error").is_some_and(|e| !e.is_null()) {
            let e: PushError = serde_json::from_value(doc)
                .map_err(|_| NotificationError::Malformed("bad error payload".into()))?;
            PushPayload::Error {
                error: e.error,
                description: e.error_description,
            }
        } else {
            let t = TokenResponse::parse(body)
                .map_err(|e| NotificationError::Malformed(e.to_string()))?;
            if t.id_token.is_none() {
                return Err(NotificationError::Malformed(
                    "a pushed token response needs an id_token".into(),
                ));
            }
            PushPayload::Tokens(t)
        };
        Ok(PushNotification {
            auth_req_id,
            bearer,
            payload,
        })
    }

    /// The `auth_req_id` the body names: use it only to look up the expected token.
    pub fn auth_req_id(&self) -> &AuthReqId {
        &self.auth_req_id
    }

    /// Checks the bearer token against the request's `client_notification_token`.
    pub fn verify(
        self,
        expected: &ClientNotificationToken,
    ) -> Result<VerifiedPush, NotificationError> {
        if same_token(&self.bearer, expected) {
            Ok(VerifiedPush {
                auth_req_id: self.auth_req_id,
                payload: self.payload,
            })
        } else {
            Err(NotificationError::WrongToken)
        }
    }
}

/// A push whose bearer token matched. Its ID token still has to be validated
/// ([`crate::Client::accept_push`]).
#[derive(Debug, Clone)]
pub struct VerifiedPush {
    pub(crate) auth_req_id: AuthReqId,
    pub(crate) payload: PushPayload,
}

impl VerifiedPush {
    /// The request it answers.
    pub fn auth_req_id(&self) -> &AuthReqId {
        &self.auth_req_id
    }

    /// What it carries.
    pub fn payload(&self) -> &PushPayload {
        &self.payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_bearer_is_checked() {
        let token = ClientNotificationToken::new("8d67dc78-7faa-4d41-aabd-67707b374255");
        let body = br#"{"auth_req_id":"1c266114-a1be-4252-8ad1-04986c5b9ac1"}"#;
        let header = b"Bearer 8d67dc78-7faa-4d41-aabd-67707b374255";
        let ping = PingNotification::parse(Some(header), body).unwrap();
        assert_eq!(
            ping.auth_req_id().as_str(),
            "1c266114-a1be-4252-8ad1-04986c5b9ac1"
        );
        assert!(ping.verify(&token).is_ok());
        let lower =
            PingNotification::parse(Some(b"bearer 8d67dc78-7faa-4d41-aabd-67707b374255"), body)
                .unwrap();
        assert!(lower.verify(&token).is_ok());
        let wrong =
            PingNotification::parse(Some(b"Bearer 8d67dc78-7faa-4d41-aabd-67707b374256"), body)
                .unwrap();
        assert_eq!(
            wrong.verify(&token).unwrap_err(),
            NotificationError::WrongToken
        );
        let short = PingNotification::parse(Some(b"Bearer 8d67"), body).unwrap();
        assert_eq!(
            short.verify(&token).unwrap_err(),
            NotificationError::WrongToken
        );
        for h in [
            None,
            Some(&b"Basic abc"[..]),
            Some(b"Bearer"),
            Some(b"Bearer a b"),
            Some(b"\xff"),
        ] {
            assert_eq!(
                PingNotification::parse(h, body).unwrap_err(),
                NotificationError::MissingBearer
            );
        }
        assert!(matches!(
            PingNotification::parse(Some(header), b"{}"),
            Err(NotificationError::Malformed(_))
        ));
        assert!(matches!(
            PingNotification::parse(Some(header), &[b' '; MAX_PING_BODY + 1]),
            Err(NotificationError::TooLarge(_))
        ));
        assert!(
            !format!("{:?}", PingNotification::parse(Some(header), body).unwrap())
                .contains("8d67dc78")
        );
    }

    #[test]
    fn push_bodies_are_tokens_or_errors() {
        let h = Some(&b"Bearer tok"[..]);
        let tokens = br#"{"auth_req_id":"r1","access_token":"at","token_type":"Bearer","id_token":"a.b.c","expires_in":60}"#;
        assert!(matches!(
            PushNotification::parse(h, tokens).unwrap().payload,
            PushPayload::Tokens(_)
        ));
        let err = br#"{"auth_req_id":"r1","error":"transaction_failed","error_description":"phone broke"}"#;
        match PushNotification::parse(h, err).unwrap().payload {
            PushPayload::Error { error, description } => {
                assert_eq!(error, ErrorCode::TransactionFailed);
                assert_eq!(description.as_deref(), Some("phone broke"));
            }
            other => panic!("{other:?}"),
        }
        let no_id_token = br#"{"auth_req_id":"r1","access_token":"at","token_type":"Bearer"}"#;
        assert!(PushNotification::parse(h, no_id_token).is_err());
        assert!(PushNotification::parse(h, br#"{"access_token":"at"}"#).is_err());
    }
}
