//! Identifiers, secrets and wire enums.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::Error;
use crate::limits::{MAX_AUTH_REQ_ID_LEN, MAX_NOTIFICATION_TOKEN_LEN};

auth_core::secret_type! {
    /// A client secret (`client_secret_basic`, `client_secret_post`).
    pub struct ClientSecret;
}

auth_core::secret_type! {
    /// The bearer token the OP presents at the client notification endpoint (ping and push
    /// modes, CIBA §7.1 `client_notification_token`, §10.2, §10.3).
    pub struct ClientNotificationToken;
}

auth_core::secret_type! {
    /// A user code (CIBA §7.1 `user_code`): a secret only the user knows, which the OP checks
    /// before it bothers their device.
    pub struct UserCode;
}

auth_core::secret_type! {
    /// A login hint token (CIBA §7.1 `login_hint_token`).
    pub struct LoginHintToken;
}

auth_core::secret_type! {
    /// An ID token as sent: a signed JWT, usable as `id_token_hint`, so kept secret. Its
    /// verified claims are in [`crate::IdTokenClaims`].
    pub struct IdTokenJwt;
    serde
}

auth_core::secret_type! {
    /// An access token.
    pub struct AccessToken;
    serde
}

auth_core::secret_type! {
    /// A refresh token.
    pub struct RefreshToken;
    serde
}

impl ClientNotificationToken {
    /// A fresh token with 256 bits from the system's CSPRNG (CIBA §7.1 asks for at least 128),
    /// base64url-encoded.
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::fill(bytes.as_mut())
            .map_err(|_| Error::Signing("the system random generator failed".into()))?;
        Ok(ClientNotificationToken::new(
            URL_SAFE_NO_PAD.encode(bytes.as_ref()),
        ))
    }

    /// Checks the RFC 6750 `b64token` syntax and the length limit.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if is_b64token(self.expose_secret()) {
            Ok(())
        } else {
            Err(Error::InvalidInput {
                field: "client_notification_token",
                reason: format!(
                    "must be 1-{MAX_NOTIFICATION_TOKEN_LEN} characters of the Bearer token syntax (RFC 6750 b64token)"
                ),
            })
        }
    }
}

/// RFC 6750 §2.1 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub(crate) fn is_b64token(s: &str) -> bool {
    if s.is_empty() || s.len() > MAX_NOTIFICATION_TOKEN_LEN {
        return false;
    }
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

auth_core::id_type! {
    /// An OAuth client identifier: 1–255 characters, no control characters.
    pub struct ClientId("client_id", max = 1020, check = |s: &str| {
        (s.chars().count() <= 255).then_some(()).ok_or("at most 255 characters")
    });
}

auth_core::id_type! {
    /// The OP's identifier of one authentication request (CIBA §7.3 `auth_req_id`).
    ///
    /// 1–1024 visible ASCII characters. Not a secret on its own (token requests need the
    /// client's credentials too), so it may appear in logs.
    pub struct AuthReqId("auth_req_id", max = MAX_AUTH_REQ_ID_LEN, check = |s: &str| {
        s.bytes()
            .all(|b| (0x21..=0x7e).contains(&b))
            .then_some(())
            .ok_or("visible ASCII characters only")
    });
}

auth_core::wire_enum! {
    /// How the OP delivers the result (CIBA §5): the client registers one mode with the OP.
    pub enum DeliveryMode {
        /// The client polls the token endpoint.
        Poll => "poll",
        /// The OP calls the client's notification endpoint, then the client fetches the tokens.
        Ping => "ping",
        /// The OP posts the tokens to the client's notification endpoint.
        Push => "push",
    }
}

auth_core::wire_enum! {
    /// An OAuth / CIBA error code (CIBA §11, §12, §13; RFC 6749 §5.2).
    pub enum ErrorCode {
        /// The request is malformed.
        InvalidRequest => "invalid_request",
        /// The scope is invalid or unknown.
        InvalidScope => "invalid_scope",
        /// The `login_hint_token` has expired.
        ExpiredLoginHintToken => "expired_login_hint_token",
        /// The OP could not find the user from the hint.
        UnknownUserId => "unknown_user_id",
        /// The client may not use CIBA (or this delivery mode).
        UnauthorizedClient => "unauthorized_client",
        /// The OP requires a `user_code` and none was sent.
        MissingUserCode => "missing_user_code",
        /// The `user_code` is wrong.
        InvalidUserCode => "invalid_user_code",
        /// The `binding_message` is unacceptable.
        InvalidBindingMessage => "invalid_binding_message",
        /// Client authentication failed.
        InvalidClient => "invalid_client",
        /// The user (or the OP's policy) denied the request.
        AccessDenied => "access_denied",
        /// The `auth_req_id` is unknown, was issued to another client, or was used already.
        InvalidGrant => "invalid_grant",
        /// The OP does not support the CIBA grant type.
        UnsupportedGrantType => "unsupported_grant_type",
        /// The user has not answered yet.
        AuthorizationPending => "authorization_pending",
        /// The client polls too fast: add 5 s to the interval.
        SlowDown => "slow_down",
        /// The `auth_req_id` has expired.
        ExpiredToken => "expired_token",
        /// The authentication failed for another reason (push error payload, §12).
        TransactionFailed => "transaction_failed",
        /// The OP failed.
        ServerError => "server_error",
        /// The OP is temporarily unable to answer.
        TemporarilyUnavailable => "temporarily_unavailable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated() {
        assert!(ClientId::new("ciba-basic").is_ok());
        assert!(ClientId::new("").is_err());
        assert!(ClientId::new("a\nb").is_err());
        assert!(AuthReqId::new("1c266114-a1be-4252-8ad1-04986c5b9ac1").is_ok());
        assert!(AuthReqId::new("has space").is_err());
        assert!(AuthReqId::new("x".repeat(MAX_AUTH_REQ_ID_LEN + 1)).is_err());
        let id: AuthReqId = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(id.as_str(), "abc");
        assert!(serde_json::from_str::<AuthReqId>("\"\"").is_err());
    }

    #[test]
    fn notification_tokens_are_random_bearer_tokens() {
        let a = ClientNotificationToken::generate().unwrap();
        let b = ClientNotificationToken::generate().unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.expose_secret().len(), 43);
        a.check().unwrap();
        assert!(is_b64token("abc+/=="));
        assert!(!is_b64token("=="));
        assert!(!is_b64token("a b"));
        assert!(!is_b64token(&"a".repeat(1025)));
        assert!(ClientNotificationToken::new("bad token").check().is_err());
    }
}
