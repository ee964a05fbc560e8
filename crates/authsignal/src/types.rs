//! Identifiers, secrets, wire enums and timestamps shared by requests and responses.
//!
//! * Identifiers ([`auth_core::id_type!`]) are validated once, when *you* construct them
//!   ([`UserId::new`], [`ActionCode::new`] …), and decoded from the server with the same rules
//!   (non-empty, bounded, no control characters: the server's own ids always pass them).
//! * Enums keep values this crate does not know as `Other(String)`: a new state or method on
//!   the server never breaks decoding.
//! * Secrets (the tenant key, tokens, OTP and recovery codes) have a redacted `Debug`, no
//!   `Display`, and are zeroized on drop.

use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

pub(crate) use auth_core::id::InvalidId;

auth_core::id_type! {
    /// Your identifier for a user (`userId`), chosen by your application: non-empty, at most
    /// 512 bytes, no control characters.
    pub struct UserId("user id", max = 512);
}

auth_core::id_type! {
    /// The key of one tracked action (`idempotencyKey`); a UUID when the server or this crate
    /// generates it.
    pub struct IdempotencyKey("idempotency key", max = 512);
}

auth_core::id_type! {
    /// An enrolled authenticator (`userAuthenticatorId`).
    pub struct AuthenticatorId("authenticator id", max = 512);
}

auth_core::id_type! {
    /// A server-initiated OTP challenge (`challengeId`).
    pub struct ChallengeId("challenge id", max = 512);
}

auth_core::id_type! {
    /// A device (`deviceId`).
    pub struct DeviceId("device id", max = 512);
}

auth_core::id_type! {
    /// An application's client id for sessions (`clientId`).
    pub struct ClientId("client id", max = 512);
}

impl IdempotencyKey {
    /// A fresh random (UUID v4) key.
    pub fn generate() -> Self {
        IdempotencyKey(uuid::Uuid::new_v4().to_string())
    }
}

auth_core::id_type! {
    /// The code of an action (`login`, `withdrawFunds` …): `^[a-zA-Z0-9_-]{1,64}$`, as the
    /// server validates it.
    ///
    /// ```
    /// use authsignal::ActionCode;
    /// assert!(ActionCode::new("withdraw-funds_2").is_ok());
    /// assert!(ActionCode::new("../users").is_err());
    /// assert!(ActionCode::new("").is_err());
    /// ```
    pub struct ActionCode("action code", max = 64, check = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            .then_some(())
            .ok_or("only letters, digits, `_` and `-` are allowed")
    });
}

auth_core::secret_type! {
    /// The tenant's server API secret key. Sent as the HTTP Basic user name; also the webhook
    /// HMAC key.
    pub struct SecretKey;
    serde, eq
}

auth_core::secret_type! {
    /// A short-lived token: the track `token`, the `token` query parameter after a challenge,
    /// or a claimed challenge's token.
    pub struct ChallengeToken;
    serde, eq
}

auth_core::secret_type! {
    /// A session access token.
    pub struct AccessToken;
    serde, eq
}

auth_core::secret_type! {
    /// A session refresh token.
    pub struct RefreshToken;
    serde, eq
}

auth_core::secret_type! {
    /// A one-time code (`verificationCode`, webhook `data.code`).
    pub struct VerificationCode;
    serde, eq
}

auth_core::secret_type! {
    /// A recovery code returned when an authenticator is enrolled.
    pub struct RecoveryCode;
    serde, eq
}

auth_core::wire_enum! {
    /// The state of an action (`state`): the rules' decision, then the challenge's or
    /// review's outcome.
    pub enum ActionState {
        /// Let the user through.
        Allow => "ALLOW",
        /// Stop the user.
        Block => "BLOCK",
        /// The user must complete a challenge (see `url` / `token`).
        ChallengeRequired => "CHALLENGE_REQUIRED",
        /// The challenge succeeded.
        ChallengeSucceeded => "CHALLENGE_SUCCEEDED",
        /// The challenge failed.
        ChallengeFailed => "CHALLENGE_FAILED",
        /// An operator must review the action.
        ReviewRequired => "REVIEW_REQUIRED",
        /// The review approved the action.
        ReviewSucceeded => "REVIEW_SUCCEEDED",
        /// The review rejected the action.
        ReviewFailed => "REVIEW_FAILED",
    }
}

impl ActionState {
    /// Whether the action is still waiting for the user or a reviewer.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            ActionState::ChallengeRequired | ActionState::ReviewRequired
        )
    }

    /// Whether the action may proceed (`ALLOW`, `CHALLENGE_SUCCEEDED`, `REVIEW_SUCCEEDED`).
    pub fn is_allowed(&self) -> bool {
        matches!(
            self,
            ActionState::Allow | ActionState::ChallengeSucceeded | ActionState::ReviewSucceeded
        )
    }
}

auth_core::wire_enum! {
    /// An authentication method (`verificationMethod`).
    pub enum VerificationMethod {
        /// SMS one-time code.
        Sms => "SMS",
        /// TOTP authenticator app.
        AuthenticatorApp => "AUTHENTICATOR_APP",
        /// E-mail magic link.
        EmailMagicLink => "EMAIL_MAGIC_LINK",
        /// E-mail one-time code.
        EmailOtp => "EMAIL_OTP",
        /// Passkey.
        Passkey => "PASSKEY",
        /// Security key.
        SecurityKey => "SECURITY_KEY",
        /// Push notification.
        Push => "PUSH",
        /// Device credential.
        Device => "DEVICE",
        /// Recovery code.
        RecoveryCode => "RECOVERY_CODE",
        /// WhatsApp one-time code.
        Whatsapp => "WHATSAPP",
        /// Veriff identity verification.
        Veriff => "VERIFF",
        /// iProov.
        Iproov => "IPROOV",
        /// IDVerse.
        Idverse => "IDVERSE",
        /// Palm biometrics.
        PalmBiometricsRr => "PALM_BIOMETRICS_RR",
    }
}

auth_core::wire_enum! {
    /// The channel of an SMS challenge (`smsChannel`).
    pub enum SmsChannel {
        /// The tenant's default channel.
        Default => "DEFAULT",
        /// WhatsApp.
        Whatsapp => "WHATSAPP",
    }
}

auth_core::wire_enum! {
    /// Why an OTP verification failed (`failureReason`).
    pub enum VerifyFailureReason {
        /// Wrong or expired code.
        CodeInvalidOrExpired => "CODE_INVALID_OR_EXPIRED",
        /// Too many wrong codes.
        MaxAttemptsExceeded => "MAX_ATTEMPTS_EXCEEDED",
    }
}

auth_core::wire_enum! {
    /// A permission of the track token (`scope`, space-separated on the wire).
    pub enum Scope {
        /// Read the user's authenticators (the default).
        ReadAuthenticators => "read:authenticators",
        /// Add authenticators.
        AddAuthenticators => "add:authenticators",
        /// Update authenticators.
        UpdateAuthenticators => "update:authenticators",
        /// Remove authenticators.
        RemoveAuthenticators => "remove:authenticators",
    }
}

/// An ISO-8601 timestamp as the server sent it, read on demand with auth-core's
/// [`auth_core::time::Timestamp`].
///
/// Decoding never fails on the format (the spec leaves some fields' formats open): the raw
/// text is kept, and [`Timestamp::parse`] / [`Timestamp::unix_seconds`] say `None` when it is
/// not RFC 3339.
///
/// ```
/// use authsignal::Timestamp;
/// let t = Timestamp::from_unix(1_740_016_316);
/// assert_eq!(t.as_str(), "2025-02-20T01:51:56.000Z");
/// assert_eq!(Timestamp::new("2025-02-20T01:51:56.070Z").unix_seconds(), Some(1_740_016_316));
/// assert_eq!(Timestamp::new("yesterday").unix_seconds(), None);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(String);

impl Timestamp {
    /// Wraps a timestamp string as sent.
    pub fn new(raw: impl Into<String>) -> Self {
        Timestamp(raw.into())
    }

    /// Formats a Unix time as Authsignal writes it, `YYYY-MM-DDTHH:MM:SS.000Z`.
    pub fn from_unix(seconds: i64) -> Self {
        Timestamp::from(auth_core::time::Timestamp::from_unix(seconds))
    }

    /// Formats a [`SystemTime`] (milliseconds kept).
    pub fn from_system_time(t: SystemTime) -> Self {
        Timestamp::from(auth_core::time::Timestamp::from_system_time(t))
    }

    /// The text as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The instant, if the text is RFC 3339.
    pub fn parse(&self) -> Option<auth_core::time::Timestamp> {
        auth_core::time::Timestamp::parse(&self.0).ok()
    }

    /// Seconds since the Unix epoch (fractions dropped), if the text is RFC 3339.
    pub fn unix_seconds(&self) -> Option<i64> {
        self.parse().map(auth_core::time::Timestamp::unix_seconds)
    }

    /// The time, if the text is RFC 3339.
    pub fn to_system_time(&self) -> Option<SystemTime> {
        self.parse().map(auth_core::time::Timestamp::to_system_time)
    }
}

impl From<auth_core::time::Timestamp> for Timestamp {
    fn from(t: auth_core::time::Timestamp) -> Self {
        Timestamp(t.to_utc_millis_string())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({:?})", self.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_validate() {
        assert!(UserId::new("").is_err());
        assert!(UserId::new("a\nb").is_err());
        assert!(UserId::new("x".repeat(513)).is_err());
        assert_eq!(UserId::new("usr/1?x").unwrap().as_str(), "usr/1?x");
        assert!(ActionCode::new("a".repeat(64)).is_ok());
        assert!(ActionCode::new("a".repeat(65)).is_err());
        assert!(ActionCode::new("sign in").is_err());
        let k = IdempotencyKey::generate();
        assert_eq!(k.as_str().len(), 36);
        assert_ne!(k, IdempotencyKey::generate());
        // Decoding applies the same rules (auth-core's `id_type!`), and the same error type.
        let u: UserId = serde_json::from_str("\"usr/1\"").unwrap();
        assert_eq!(u.as_str(), "usr/1");
        assert!(serde_json::from_str::<UserId>("\"\"").is_err());
        assert!(serde_json::from_str::<ActionCode>("\"sign in\"").is_err());
        let e: InvalidId = ActionCode::new("a/b").unwrap_err();
        assert_eq!(e.what, "action code");
        assert_eq!(
            format!("{:?}", ActionCode::new("withdraw").unwrap()),
            "ActionCode(\"withdraw\")"
        );
    }

    #[test]
    fn enums_keep_unknown_values() {
        let s: ActionState = serde_json::from_str("\"CHALLENGE_REQUIRED\"").unwrap();
        assert_eq!(s, ActionState::ChallengeRequired);
        let s: ActionState = serde_json::from_str("\"QUARANTINED\"").unwrap();
        assert_eq!(s, ActionState::Other("QUARANTINED".into()));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"QUARANTINED\"");
        let m: VerificationMethod = serde_json::from_str("\"PASSKEY\"").unwrap();
        assert_eq!(m.as_str(), "PASSKEY");
    }

    #[test]
    fn secrets_are_redacted() {
        let k = SecretKey::new("sk-very-secret");
        let t: ChallengeToken = serde_json::from_str("\"eyJ.secret.token\"").unwrap();
        let shown = format!("{k:?} {t:?}");
        assert!(
            !shown.contains("very-secret") && !shown.contains("eyJ"),
            "{shown}"
        );
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"eyJ.secret.token\"");
        assert_eq!(k, SecretKey::new("sk-very-secret"));
        assert_ne!(k, SecretKey::new("sk-very-secreT"));
    }

    #[test]
    fn timestamps_round_trip() {
        for secs in [0, 1_740_016_316, 951_782_400, 4_102_444_800, -86_400] {
            let t = Timestamp::from_unix(secs);
            assert_eq!(t.unix_seconds(), Some(secs), "{t}");
        }
        assert_eq!(
            Timestamp::new("2025-02-20T03:51:56+02:00").unix_seconds(),
            Some(1_740_016_316)
        );
        for bad in [
            "",
            "2025-02-20",
            "2025-13-20T01:51:56Z",
            "2025-02-20T01:51:56",
            "2025-02-20T01:51:56.Z",
            "2025-02-20T01:51:56Zjunk",
            "２０２５-02-20T01:51:56Z",
        ] {
            assert_eq!(Timestamp::new(bad).unix_seconds(), None, "{bad}");
        }
    }
}
