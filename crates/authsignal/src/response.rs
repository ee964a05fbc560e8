//! Response bodies (see [`crate::docs::wire`] for how they are read).

use std::fmt;

use auth_core::base_url::redact_url;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::types::{
    AccessToken, ActionCode, ActionState, AuthenticatorId, ChallengeId, ChallengeToken, DeviceId,
    IdempotencyKey, RecoveryCode, RefreshToken, SmsChannel, Timestamp, UserId, VerificationMethod,
    VerifyFailureReason,
};

/// Seconds since the Unix epoch, as `/challenge` sends `expiresAt`.
///
/// Decoded leniently: an integer, a float (fraction dropped), a numeric string, or an RFC 3339
/// string all work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EpochSeconds(pub i64);

impl<'de> Deserialize<'de> for EpochSeconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = Value::deserialize(d)?;
        let secs = match &v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
            Value::String(s) => s
                .parse::<i64>()
                .ok()
                .or_else(|| Timestamp::new(s.as_str()).unix_seconds()),
            _ => None,
        };
        secs.map(EpochSeconds)
            .ok_or_else(|| D::Error::custom(format!("not an epoch time: {v}")))
    }
}

/// The answer to **track**: the rules' decision.
///
/// `Debug` redacts the token, and the query values of `url` / `challenge_url` (they carry the
/// token: [`auth_core::base_url::redact_url`]).
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TrackResponse {
    /// The action's key (the one sent, or a server-generated UUID).
    pub idempotency_key: IdempotencyKey,
    /// The decision.
    pub state: ActionState,
    /// The pre-built UI's URL (send the user there when a challenge is required).
    #[serde(default)]
    pub url: Option<String>,
    /// The seed era's name for `url` (kept for old servers).
    #[serde(default)]
    pub challenge_url: Option<String>,
    /// A short-lived token for client SDKs.
    #[serde(default)]
    pub token: Option<ChallengeToken>,
    /// Whether the user has at least one authenticator.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub is_enrolled: bool,
    /// Methods the user has enrolled.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub enrolled_verification_methods: Vec<VerificationMethod>,
    /// Methods the user may use for this action.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub allowed_verification_methods: Vec<VerificationMethod>,
    /// The method offered first.
    #[serde(default)]
    pub default_verification_method: Option<VerificationMethod>,
    /// The rules that matched.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub rule_ids: Vec<String>,
}

impl fmt::Debug for TrackResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackResponse")
            .field("idempotency_key", &self.idempotency_key)
            .field("state", &self.state)
            .field("url", &self.url.as_deref().map(redact_url))
            .field(
                "challenge_url",
                &self.challenge_url.as_deref().map(redact_url),
            )
            .field("token", &self.token)
            .field("is_enrolled", &self.is_enrolled)
            .field(
                "enrolled_verification_methods",
                &self.enrolled_verification_methods,
            )
            .field(
                "allowed_verification_methods",
                &self.allowed_verification_methods,
            )
            .field(
                "default_verification_method",
                &self.default_verification_method,
            )
            .field("rule_ids", &self.rule_ids)
            .finish()
    }
}

impl TrackResponse {
    /// Where to send the user for the challenge (`url`, else the seed era's `challengeUrl`).
    pub fn challenge_url(&self) -> Option<&str> {
        self.url.as_deref().or(self.challenge_url.as_deref())
    }
}

/// A rule that matched an action.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MatchedRule {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The rule's description.
    #[serde(default)]
    pub description: Option<String>,
    /// Free-form metadata.
    #[serde(default)]
    pub metadata: Option<Value>,
}

/// The answer to **get action**.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ActionResponse {
    /// The current state.
    pub state: ActionState,
    /// When the state last changed.
    #[serde(default)]
    pub state_updated_at: Option<Timestamp>,
    /// When the action was tracked.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// The method that completed the challenge.
    #[serde(default)]
    pub verification_method: Option<VerificationMethod>,
    /// The rules that matched.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub rules: Vec<MatchedRule>,
    /// Free-form output of the rules.
    #[serde(default)]
    pub output: Option<Value>,
}

/// One action in **query user actions**.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ActionSummary {
    /// The action's code.
    pub action_code: ActionCode,
    /// The action's key.
    pub idempotency_key: IdempotencyKey,
    /// When it was tracked.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// When it last changed.
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    /// Its state.
    pub state: ActionState,
    /// When the state last changed.
    #[serde(default)]
    pub state_updated_at: Option<Timestamp>,
    /// The method that completed the challenge.
    #[serde(default)]
    pub verification_method: Option<VerificationMethod>,
    /// The authenticator that completed the challenge.
    #[serde(default)]
    pub verified_by_authenticator_id: Option<AuthenticatorId>,
}

/// The answer to **update action**: the attributes after the update.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UpdateActionResponse {
    /// The new state.
    pub state: ActionState,
}

/// The answer to **get user**. Unknown (or deleted) users come back with
/// `is_enrolled == false`, not as an error. `Debug` redacts the query of `url`.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserResponse {
    /// Whether the user has at least one authenticator.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub is_enrolled: bool,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the e-mail address is verified.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub email_verified: bool,
    /// Phone number.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// Whether the phone number is verified.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub phone_number_verified: bool,
    /// User name.
    #[serde(default)]
    pub username: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Custom attributes.
    #[serde(default)]
    pub custom: Option<Map<String, Value>>,
    /// Enrolled methods.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub enrolled_verification_methods: Vec<VerificationMethod>,
    /// Allowed methods.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub allowed_verification_methods: Vec<VerificationMethod>,
    /// The default method.
    #[serde(default)]
    pub default_verification_method: Option<VerificationMethod>,
    /// Seed era: the enrolment / self-service UI link, when a redirect URL was given.
    #[serde(default)]
    pub url: Option<String>,
}

impl fmt::Debug for UserResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserResponse")
            .field("is_enrolled", &self.is_enrolled)
            .field("email", &self.email)
            .field("email_verified", &self.email_verified)
            .field("phone_number", &self.phone_number)
            .field("phone_number_verified", &self.phone_number_verified)
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("custom", &self.custom)
            .field(
                "enrolled_verification_methods",
                &self.enrolled_verification_methods,
            )
            .field(
                "allowed_verification_methods",
                &self.allowed_verification_methods,
            )
            .field(
                "default_verification_method",
                &self.default_verification_method,
            )
            .field("url", &self.url.as_deref().map(redact_url))
            .finish()
    }
}

/// A user's attributes, as **update user** returns them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserAttributes {
    /// The user's id, when the server includes it.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the e-mail address is verified.
    #[serde(default)]
    pub email_verified: Option<bool>,
    /// Phone number.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// Whether the phone number is verified.
    #[serde(default)]
    pub phone_number_verified: Option<bool>,
    /// User name.
    #[serde(default)]
    pub username: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Custom attributes.
    #[serde(default)]
    pub custom: Option<Map<String, Value>>,
    /// Locale.
    #[serde(default)]
    pub locale: Option<String>,
}

/// One user in **query users**.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserSummary {
    /// The user's id.
    pub user_id: UserId,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the e-mail address is verified.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub email_verified: bool,
    /// Phone number.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// Whether the phone number is verified.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub phone_number_verified: bool,
    /// User name.
    #[serde(default)]
    pub username: Option<String>,
}

/// The answer to **query users** (one page).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct QueryUsersResponse {
    /// The users on this page.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub users: Vec<UserSummary>,
    /// Present when there are more pages: pass it back as `last_evaluated_user_id`.
    #[serde(default)]
    pub last_evaluated_user_id: Option<UserId>,
    /// The token's decoded claims, when querying by token.
    #[serde(default)]
    pub token_payload: Option<Value>,
}

/// Browser / device details parsed from a user agent.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ParsedUserAgent {
    /// The user agent string.
    #[serde(default)]
    pub ua: Option<String>,
    /// `{name, version, major}`.
    #[serde(default)]
    pub browser: Option<Value>,
    /// `{model, type, vendor}`.
    #[serde(default)]
    pub device: Option<Value>,
    /// `{name, version}`.
    #[serde(default)]
    pub engine: Option<Value>,
    /// `{name, version}`.
    #[serde(default)]
    pub os: Option<Value>,
    /// `{architecture}`.
    #[serde(default)]
    pub cpu: Option<Value>,
}

/// The AAGUID's catalogue entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AaguidMapping {
    /// The authenticator's name.
    #[serde(default)]
    pub name: Option<String>,
    /// Light-mode icon.
    #[serde(default)]
    pub svg_icon_light: Option<String>,
    /// Dark-mode icon.
    #[serde(default)]
    pub svg_icon_dark: Option<String>,
}

/// A passkey's details.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebauthnCredential {
    /// The credential id.
    #[serde(default)]
    pub credential_id: Option<String>,
    /// The device id.
    #[serde(default)]
    pub device_id: Option<String>,
    /// The credential's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The AAGUID.
    #[serde(default)]
    pub aaguid: Option<String>,
    /// The AAGUID's catalogue entry.
    #[serde(default)]
    pub aaguid_mapping: Option<AaguidMapping>,
    /// Whether the credential is backed up (synced).
    #[serde(default)]
    pub credential_backed_up: Option<bool>,
    /// `singleDevice` / `multiDevice`.
    #[serde(default)]
    pub credential_device_type: Option<String>,
    /// `platform` / `cross-platform`.
    #[serde(default)]
    pub authenticator_attachment: Option<String>,
    /// The user agent at registration.
    #[serde(default)]
    pub parsed_user_agent: Option<ParsedUserAgent>,
}

/// An enrolled authenticator.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserAuthenticator {
    /// Its id.
    pub user_authenticator_id: AuthenticatorId,
    /// Its user.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// Its method.
    pub verification_method: VerificationMethod,
    /// When it was enrolled.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// When it was verified.
    #[serde(default)]
    pub verified_at: Option<Timestamp>,
    /// When it was last used.
    #[serde(default)]
    pub last_verified_at: Option<Timestamp>,
    /// E-mail address (e-mail methods).
    #[serde(default)]
    pub email: Option<String>,
    /// Phone number (SMS / WhatsApp).
    #[serde(default)]
    pub phone_number: Option<String>,
    /// User name.
    #[serde(default)]
    pub username: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The previous SMS channel.
    #[serde(default)]
    pub previous_sms_channel: Option<SmsChannel>,
    /// Passkey details (`webauthnCredential`; Go's `webAuthnCredential` accepted too).
    #[serde(default, alias = "webAuthnCredential")]
    pub webauthn_credential: Option<WebauthnCredential>,
}

/// The answer to **enroll verified authenticator**.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EnrollResponse {
    /// The new authenticator.
    pub authenticator: UserAuthenticator,
    /// Recovery codes (secrets: show them to the user once).
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub recovery_codes: Vec<RecoveryCode>,
}

/// One failed import in **batch enroll**.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BatchEnrollFailure {
    /// The user.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// The credential.
    #[serde(default)]
    pub credential_id: Option<String>,
    /// The error code.
    #[serde(default)]
    pub error_code: Option<String>,
    /// The error description.
    #[serde(default)]
    pub error_description: Option<String>,
}

/// The answer to **batch enroll**.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BatchEnrollResponse {
    /// How many were sent.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub total: u64,
    /// How many were imported.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub succeeded: u64,
    /// How many failed.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub failed: u64,
    /// The failures.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub failures: Vec<BatchEnrollFailure>,
}

/// The answer to **validate challenge**.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ValidateChallengeResponse {
    /// True only when the challenge completed successfully.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub is_valid: bool,
    /// The action's state.
    #[serde(default)]
    pub state: Option<ActionState>,
    /// When the state last changed.
    #[serde(default)]
    pub state_updated_at: Option<Timestamp>,
    /// The user the token was issued for.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// The action the token was issued for.
    #[serde(default)]
    pub action: Option<ActionCode>,
    /// Deprecated duplicate of `action`.
    #[serde(default)]
    pub action_code: Option<ActionCode>,
    /// The action's key.
    #[serde(default)]
    pub idempotency_key: Option<IdempotencyKey>,
    /// The method that completed the challenge.
    #[serde(default)]
    pub verification_method: Option<VerificationMethod>,
    /// The Veriff session, for identity verification.
    #[serde(default)]
    pub veriff_session_id: Option<String>,
    /// Why the token is not valid, when the server says.
    #[serde(default)]
    pub error: Option<String>,
}

impl ValidateChallengeResponse {
    /// The action code (`action`, else the deprecated `actionCode`).
    pub fn action(&self) -> Option<&ActionCode> {
        self.action.as_ref().or(self.action_code.as_ref())
    }
}

/// The answer to **challenge**.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ChallengeResponse {
    /// The challenge.
    pub challenge_id: ChallengeId,
    /// The key of the action a claim will create.
    #[serde(default)]
    pub idempotency_key: Option<IdempotencyKey>,
    /// When the code expires.
    #[serde(default)]
    pub expires_at: Option<EpochSeconds>,
}

/// The answer to **verify**.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VerifyResponse {
    /// Whether the code was right.
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub is_verified: bool,
    /// The e-mail address verified.
    #[serde(default)]
    pub email: Option<String>,
    /// The phone number verified.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// The method.
    #[serde(default)]
    pub verification_method: Option<VerificationMethod>,
    /// Why not, when not verified.
    #[serde(default)]
    pub failure_reason: Option<VerifyFailureReason>,
}

/// The answer to **claim challenge**.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ClaimResponse {
    /// A token for `/validate` or `/sessions`.
    pub token: ChallengeToken,
    /// The method.
    #[serde(default)]
    pub verification_method: Option<VerificationMethod>,
}

/// The answer to **get challenge**.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GetChallengeResponse {
    /// The challenge.
    #[serde(default)]
    pub challenge_id: Option<ChallengeId>,
    /// When the code expires.
    #[serde(default)]
    pub expires_at: Option<EpochSeconds>,
    /// The method.
    #[serde(default)]
    pub verification_method: Option<VerificationMethod>,
    /// The SMS channel.
    #[serde(default)]
    pub sms_channel: Option<SmsChannel>,
    /// The phone number.
    #[serde(default)]
    pub phone_number: Option<String>,
    /// The e-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// The action.
    #[serde(default)]
    pub action: Option<ActionCode>,
}

/// Session tokens (**create session**, **refresh session**).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SessionTokens {
    /// The access token.
    pub access_token: AccessToken,
    /// The refresh token.
    pub refresh_token: RefreshToken,
}

/// The session's user in **validate session**.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SessionUser {
    /// The user's id.
    pub user_id: UserId,
    /// The other attributes.
    #[serde(flatten)]
    pub attributes: UserAttributes,
}

/// The answer to **validate session**.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ValidateSessionResponse {
    /// The user.
    pub user: SessionUser,
    /// When the access token expires.
    #[serde(default)]
    pub expires_at: Option<EpochSeconds>,
    /// The method used to start the session.
    #[serde(default)]
    pub verification_method: Option<VerificationMethod>,
}

/// A device (**get devices**, **invalidate device**).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Device {
    /// The user.
    #[serde(default)]
    pub user_id: Option<UserId>,
    /// The device.
    pub device_id: DeviceId,
    /// First seen.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// Last authenticated.
    #[serde(default)]
    pub authenticated_at: Option<Timestamp>,
    /// When it was invalidated.
    #[serde(default)]
    pub invalidated_at: Option<Timestamp>,
    /// The method last used on it.
    #[serde(default)]
    pub last_verification_method: Option<VerificationMethod>,
    /// Until when it is remembered (set with `update_device`).
    #[serde(default)]
    pub remembered_until: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_response_tolerates_unknowns_and_nulls() {
        let r: TrackResponse = serde_json::from_str(
            r#"{"idempotencyKey":"k","state":"SOMETHING_NEW","ruleIds":null,"isEnrolled":null,
                "challengeUrl":"https://old","newField":{"x":1},
                "enrolledVerificationMethods":["SMS","FUTURE_METHOD"]}"#,
        )
        .unwrap();
        assert_eq!(r.state, ActionState::Other("SOMETHING_NEW".into()));
        assert!(!r.is_enrolled && r.rule_ids.is_empty());
        assert_eq!(r.challenge_url(), Some("https://old"));
        assert_eq!(
            r.enrolled_verification_methods[1],
            VerificationMethod::Other("FUTURE_METHOD".into())
        );
    }

    #[test]
    fn debug_redacts_tokens_in_urls() {
        let r: TrackResponse = serde_json::from_str(
            r#"{"idempotencyKey":"k","state":"CHALLENGE_REQUIRED","token":"tok-a",
                "url":"https://ui.example/challenge#token=tok-b",
                "challengeUrl":"https://ui.example/c?token=tok-c"}"#,
        )
        .unwrap();
        let u: UserResponse =
            serde_json::from_str(r#"{"url":"https://ui.example/s?token=tok-d"}"#).unwrap();
        let shown = format!("{r:?} {u:?}");
        for t in ["tok-a", "tok-b", "tok-c", "tok-d"] {
            assert!(!shown.contains(t), "{shown}");
        }
        assert!(
            shown.contains("https://ui.example/challenge#[redacted]"),
            "{shown}"
        );
        assert!(
            shown.contains("https://ui.example/c?token=[redacted]"),
            "{shown}"
        );
    }

    #[test]
    fn epoch_seconds_is_lenient() {
        for (json, want) in [
            ("1700000000", 1_700_000_000),
            ("1700000000.9", 1_700_000_000),
            ("\"1700000000\"", 1_700_000_000),
            ("\"2023-11-14T22:13:20Z\"", 1_700_000_000),
        ] {
            let e: EpochSeconds = serde_json::from_str(json).unwrap();
            assert_eq!(e.0, want, "{json}");
        }
        assert!(serde_json::from_str::<EpochSeconds>("\"soon\"").is_err());
        assert!(serde_json::from_str::<EpochSeconds>("true").is_err());
    }

    #[test]
    fn authenticator_accepts_go_spelling() {
        let a: UserAuthenticator = serde_json::from_str(
            r#"{"userAuthenticatorId":"a1","verificationMethod":"PASSKEY",
                "webAuthnCredential":{"credentialId":"c1","name":"Key"}}"#,
        )
        .unwrap();
        assert_eq!(
            a.webauthn_credential.unwrap().credential_id.as_deref(),
            Some("c1")
        );
    }
}
