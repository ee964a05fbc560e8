//! Wire types: the JSON bodies the client and the Token Server model exchange.
//!
//! Plain serde types. Secret fields are [`SecretField`]s: redacted `Debug`, zeroized on drop,
//! compared in constant time.
//!
//! Reading is tolerant, as the official SDKs read: unknown fields are ignored, and `null` is the
//! same as absent for every optional field and every list (`Option` fields read `null` as
//! `None`; lists and defaulted fields use [`auth_core::json::null_as_default`]). Only these
//! fields are required: [`DcrChallenge`] `registration_id` and `challenge`, [`DcrCredentials`]
//! `client_id`, `client_secret` and (when a policy is sent) its `pin_length`,
//! [`TokenResponse`] `access_token` and `token_type` (RFC 6749 §5.1), [`TokenError`] `error`
//! (RFC 6749 §5.2), [`AuthenticatorRegistration`] `refresh_token` and [`UserResource`]
//! `user_id`. The crate's null-tolerance test checks this over every recorded response.
//!
//! Which of these are documented by Onegini and which are the model's own choice:
//! [`crate::docs::model_choices`].

use serde::{Deserialize, Serialize};

use crate::pin::PinPolicy;

/// DCR path (model choice).
pub const DCR_PATH: &str = "/oauth/client/v1/register";
/// Authorization endpoint path (documented; `/oauth/authorize` is served too).
pub const AUTHORIZE_PATH: &str = "/oauth/v1/authorize";
/// Token endpoint path (documented; `/oauth/token` is served too).
pub const TOKEN_PATH: &str = "/oauth/v1/token";
/// Revocation endpoint path (model choice, RFC 7009 style; `/oauth/v1/revoke` is served too).
pub const REVOKE_PATH: &str = "/oauth/revoke";
/// Fingerprint authenticator registration path (model choice).
pub const FINGERPRINT_PATH: &str = "/oauth/v1/authenticators/fingerprint";
/// Client status at start: which stored refresh tokens the server no longer honours (model
/// choice; the SDK's `start` reports profiles removed on the server, how it learns that is not
/// documented).
pub const CLIENT_STATUS_PATH: &str = "/oauth/v1/client/status";
/// A user resource the model's resource gateway serves (model choice).
pub const USER_RESOURCE_PATH: &str = "/resources/v1/user";
/// Wrong PIN attempts before deregistration when the DCR answer does not say (the default of
/// older Onegini client configurations, `max_pin_failures` / `kOGMaxPinFailures`).
pub const DEFAULT_MAX_PIN_FAILURES: u32 = 3;

auth_core::secret_type! {
    /// A secret string on the wire (tokens, client secret): redacted `Debug`, no `Display`,
    /// zeroized on drop, serialized transparently.
    pub struct SecretField;
    serde, eq
}

impl Default for SecretField {
    fn default() -> Self {
        SecretField::new(String::new())
    }
}

/// DCR round 1: the app identifies itself and asks for a challenge (model choice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DcrChallengeRequest {
    /// The application identifier configured on the Token Server.
    pub application_identifier: String,
    /// `android` / `ios`.
    pub application_platform: String,
    /// The application version.
    pub application_version: String,
    /// The device name, optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
}

/// DCR round 1 answer: a pending registration and its OCRA challenge (model choice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DcrChallenge {
    /// The pending registration (single use, short-lived).
    pub registration_id: String,
    /// 64 hex characters, the OCRA question.
    pub challenge: String,
    /// The OCRA suite the server expects (the model's default is
    /// `OCRA-1:HOTP-SHA256-8:QH64-T1M`). Optional; when present the client checks that it is
    /// the suite it was configured with (a mismatch is a configuration error, 10001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocra_suite: Option<String>,
}

/// DCR round 2: the OCRA response over the challenge (model choice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DcrAnswer {
    /// From [`DcrChallenge::registration_id`].
    pub registration_id: String,
    /// `OCRA(suite, K = application signature, Q = challenge, T = now / 60 s)`.
    pub ocra_response: String,
}

/// DCR round 2 answer: the client credentials and the application's authentication settings
/// (model choice: the PIN policy and maximum PIN failures travel with it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DcrCredentials {
    /// 64 uppercase hex characters.
    pub client_id: String,
    /// 64 hex characters.
    pub client_secret: SecretField,
    /// The application's PIN policy; absent or `null`: [`PinPolicy::default`].
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub pin_policy: PinPolicy,
    /// Wrong PIN attempts before the user is deregistered; absent or `null`:
    /// [`DEFAULT_MAX_PIN_FAILURES`] (the client only shows it: the server owns the counter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pin_failures: Option<u32>,
    /// Whether the application allows the fingerprint authenticator (absent or `null`: no).
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub fingerprint_allowed: bool,
}

/// An RFC 6749 token response (spec §9 #9: only `access_token` and `token_type` are required,
/// unknown fields are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The access token.
    pub access_token: SecretField,
    /// `bearer`.
    pub token_type: String,
    /// Lifetime of the access token in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// The (rotated) refresh token, `<rt_id>.<rt_secret hex>` in the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<SecretField>,
    /// Granted scopes, space separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// An ID token, when `openid` was requested (not produced by the model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<SecretField>,
}

/// An RFC 6749 error response, with the model's wrong-PIN fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenError {
    /// `invalid_grant`, `invalid_client`, `invalid_request`, `unauthorized_client`, …
    pub error: String,
    /// Detail; the model uses `user_deregistered` (the profile is gone, 9003),
    /// `authenticator_deregistered` (a fingerprint token revoked on its own: the authenticator
    /// is gone, the profile stays, 9022) and `app_version_disabled` (9004).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// Wrong PIN: attempts left (model choice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_attempts: Option<u32>,
    /// Wrong PIN: the maximum (model choice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
}

impl TokenError {
    /// An error with a code only.
    pub fn new(error: &str) -> Self {
        TokenError {
            error: error.to_owned(),
            error_description: None,
            remaining_attempts: None,
            max_attempts: None,
        }
    }

    /// Adds a description.
    pub fn with_description(mut self, description: &str) -> Self {
        self.error_description = Some(description.to_owned());
        self
    }
}

/// Fingerprint authenticator registration answer (model choice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthenticatorRegistration {
    /// `fingerprint` (informative; absent or `null`: empty).
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub authenticator: String,
    /// A separate refresh token of kind fingerprint.
    pub refresh_token: SecretField,
}

/// Start-up status request: the public ids of the stored PIN refresh tokens (model choice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientStatusRequest {
    /// The `rt_id`s (public parts) of the profiles' refresh tokens.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub refresh_token_ids: Vec<String>,
}

/// Start-up status answer: the ids the server no longer honours (revoked, unknown, or another
/// client's) (model choice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientStatusResponse {
    /// Refresh token ids whose profiles were removed on the server.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub revoked: Vec<String>,
}

/// The model's user resource (what a resource gateway would return for the access token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserResource {
    /// The IdP's user id (never shown on the device as the profile id).
    pub user_id: String,
    /// The access token's scopes.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub scopes: Vec<String>,
}

/// `application/x-www-form-urlencoded` body from pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    ser.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_round_trip() {
        let creds = DcrCredentials {
            client_id: "ABC".into(),
            client_secret: SecretField::new("s3cr3t-value"),
            pin_policy: PinPolicy::default(),
            max_pin_failures: Some(3),
            fingerprint_allowed: true,
        };
        let dbg = format!("{creds:?}");
        assert!(!dbg.contains("s3cr3t-value"), "{dbg}");
        let json = serde_json::to_string(&creds).unwrap();
        assert!(json.contains("\"client_secret\":\"s3cr3t-value\""));
        let back: DcrCredentials = serde_json::from_str(&json).unwrap();
        assert_eq!(back, creds);
    }

    #[test]
    fn token_response_tolerates_unknown_and_missing_optional_fields() {
        let t: TokenResponse =
            serde_json::from_str(r#"{"access_token":"at-1","token_type":"bearer","x_extra":1}"#)
                .unwrap();
        assert!(t.refresh_token.is_none());
        assert!(!format!("{t:?}").contains("at-1"));
        let missing =
            auth_core::json::from_slice::<TokenResponse>("t", br#"{"token_type":"bearer"}"#);
        assert!(matches!(missing, Err(auth_core::Error::Decode { .. })));
    }

    #[test]
    fn secret_fields_compare_by_value() {
        let a = SecretField::new("0123456789abcdef");
        assert_eq!(a, SecretField::new("0123456789abcdef"));
        assert_ne!(a, SecretField::new("0123456789abcdeF"));
        assert_ne!(a, SecretField::new("0123456789abcde"));
        assert_ne!(a, SecretField::new(""));
        assert_eq!(SecretField::new(""), SecretField::default());
    }

    #[test]
    fn form_encoding_escapes() {
        assert_eq!(form(&[("a", "b c"), ("d", "&=")]), "a=b+c&d=%26%3D");
    }
}
