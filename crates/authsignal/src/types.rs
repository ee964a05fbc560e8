//! Identifiers, secrets, wire enums and timestamps shared by requests and responses.
//!
//! * Identifiers are validated once, when *you* construct them ([`UserId::new`],
//!   [`ActionCode::new`] …). Values the server sends are taken as they are (the server is
//!   authoritative for its own ids).
//! * Enums keep values this crate does not know as `Other(String)`: a new state or method on
//!   the server never breaks decoding.
//! * Secrets (the tenant key, tokens, OTP and recovery codes) have a redacted `Debug`, no
//!   `Display`, and are zeroized on drop.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A value given to a constructor in this crate was rejected before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {reason}")]
pub struct InvalidInput {
    /// What was being built (`"user id"`, `"action code"`, `"custom data"` …).
    pub what: &'static str,
    /// Why it was rejected.
    pub reason: String,
}

impl InvalidInput {
    pub(crate) fn new(what: &'static str, reason: impl Into<String>) -> Self {
        InvalidInput {
            what,
            reason: reason.into(),
        }
    }
}

fn check_opaque(what: &'static str, value: &str, max: usize) -> Result<(), InvalidInput> {
    if value.is_empty() {
        return Err(InvalidInput::new(what, "must not be empty"));
    }
    if value.len() > max {
        return Err(InvalidInput::new(
            what,
            format!("longer than {max} bytes ({} bytes)", value.len()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            what,
            "must not contain control characters",
        ));
    }
    Ok(())
}

macro_rules! opaque_id {
    ($(#[$meta:meta])* $name:ident, $what:literal, $max:expr) => {
        $(#[$meta])*
        ///
        /// Built with `new` (non-empty, no control characters, bounded length); decoded from
        /// the server as sent.
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an identifier.
            pub fn new(value: impl Into<String>) -> Result<Self, InvalidInput> {
                let value = value.into();
                check_opaque($what, &value, $max)?;
                Ok($name(value))
            }

            /// The identifier as sent on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The identifier as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidInput;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidInput;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                $name::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidInput;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                $name::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

opaque_id!(
    /// Your identifier for a user (`userId`), chosen by your application.
    UserId,
    "user id",
    512
);
opaque_id!(
    /// The key of one tracked action (`idempotencyKey`); a UUID when the server or this crate
    /// generates it.
    IdempotencyKey,
    "idempotency key",
    512
);
opaque_id!(
    /// An enrolled authenticator (`userAuthenticatorId`).
    AuthenticatorId,
    "authenticator id",
    512
);
opaque_id!(
    /// A server-initiated OTP challenge (`challengeId`).
    ChallengeId,
    "challenge id",
    512
);
opaque_id!(
    /// A device (`deviceId`).
    DeviceId,
    "device id",
    512
);
opaque_id!(
    /// An application's client id for sessions (`clientId`).
    ClientId,
    "client id",
    512
);

impl IdempotencyKey {
    /// A fresh random (UUID v4) key.
    pub fn generate() -> Self {
        IdempotencyKey(uuid::Uuid::new_v4().to_string())
    }
}

/// The code of an action (`login`, `withdrawFunds` …): `^[a-zA-Z0-9_-]{1,64}$`, as the server
/// validates it.
///
/// ```
/// use authsignal::ActionCode;
/// assert!(ActionCode::new("withdraw-funds_2").is_ok());
/// assert!(ActionCode::new("../users").is_err());
/// assert!(ActionCode::new("").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ActionCode(String);

impl ActionCode {
    /// Validates and wraps an action code.
    pub fn new(value: impl Into<String>) -> Result<Self, InvalidInput> {
        let value = value.into();
        if value.is_empty() || value.len() > 64 {
            return Err(InvalidInput::new(
                "action code",
                format!("must be 1 to 64 characters long, not {}", value.len()),
            ));
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(InvalidInput::new(
                "action code",
                "only letters, digits, `_` and `-` are allowed",
            ));
        }
        Ok(ActionCode(value))
    }

    /// The code as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ActionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ActionCode({:?})", self.0)
    }
}

impl fmt::Display for ActionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ActionCode {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActionCode::new(s)
    }
}

impl TryFrom<&str> for ActionCode {
    type Error = InvalidInput;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        ActionCode::new(s)
    }
}

impl AsRef<str> for ActionCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

macro_rules! secret_wire {
    ($(#[$meta:meta])* $name:ident) => {
        auth_core::secret_type! {
            $(#[$meta])*
            pub struct $name;
            serde
        }

        impl PartialEq for $name {
            /// Constant-time comparison.
            fn eq(&self, other: &Self) -> bool {
                aws_lc_rs::constant_time::verify_slices_are_equal(
                    self.expose_secret().as_bytes(),
                    other.expose_secret().as_bytes(),
                )
                .is_ok()
            }
        }

        impl Eq for $name {}
    };
}

secret_wire!(
    /// The tenant's server API secret key. Sent as the HTTP Basic user name; also the webhook
    /// HMAC key.
    SecretKey
);
secret_wire!(
    /// A short-lived token: the track `token`, the `token` query parameter after a challenge,
    /// or a claimed challenge's token.
    ChallengeToken
);
secret_wire!(
    /// A session access token.
    AccessToken
);
secret_wire!(
    /// A session refresh token.
    RefreshToken
);
secret_wire!(
    /// A one-time code (`verificationCode`, webhook `data.code`).
    VerificationCode
);
secret_wire!(
    /// A recovery code returned when an authenticator is enrolled.
    RecoveryCode
);

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

/// An ISO-8601 timestamp as the server sent it, parsed on demand.
///
/// Decoding never fails on the format: the raw text is kept and [`Timestamp::to_system_time`]
/// returns `None` when it is not RFC 3339.
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

    /// Formats a Unix time as `YYYY-MM-DDTHH:MM:SS.000Z`.
    pub fn from_unix(seconds: i64) -> Self {
        let days = seconds.div_euclid(86_400);
        let secs = seconds.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        Timestamp(format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        ))
    }

    /// Formats a [`SystemTime`].
    pub fn from_system_time(t: SystemTime) -> Self {
        let secs = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        };
        Timestamp::from_unix(secs)
    }

    /// The text as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Seconds since the Unix epoch (fractions dropped), if the text is RFC 3339.
    pub fn unix_seconds(&self) -> Option<i64> {
        parse_rfc3339(&self.0)
    }

    /// The time, if the text is RFC 3339 and not before the epoch.
    pub fn to_system_time(&self) -> Option<SystemTime> {
        let s = u64::try_from(self.unix_seconds()?).ok()?;
        UNIX_EPOCH.checked_add(Duration::from_secs(s))
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

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let sep = |at: usize, c: &[u8]| b.get(at).is_some_and(|x| c.contains(x));
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ")) {
        return None;
    }
    let (h, mi, se) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(sep(13, b":") && sep(16, b":")) {
        return None;
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    if sep(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if !sep(i + 3, b":") || i + 6 != b.len() || oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset)
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
