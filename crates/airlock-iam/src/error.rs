//! The crate's error type: every documented Loginapp error code as its own variant, unknown
//! codes kept verbatim, and auth-core's shared failures; classified with
//! [`auth_core::Classify`].
//!
//! No variant carries a password, OTP, cookie or session token: error documents hold codes and
//! ids only (every string scrubbed of the call's secrets), and bodies that are not JSON:API
//! documents are truncated and scrubbed.

use std::time::Duration;

use auth_core::{Classify, ErrorKind};

use crate::document::ErrorDocument;
use crate::model::{Bounded, ErrorCode, NextAuthStep};
use auth_core::time::Timestamp;

/// An Airlock IAM client error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 400 `USERNAME_PASSWORD_WRONG`: wrong user name or password. The user must retype; do not
    /// retry before `temporary_lock_expiry`.
    #[error("wrong username or password{}", lock_note(.temporary_lock_expiry))]
    WrongPassword {
        /// `meta.temporaryLockExpiry`: no new attempt before this instant.
        temporary_lock_expiry: Option<Timestamp>,
        /// The whole error document.
        document: Box<ErrorDocument>,
    },
    /// 403 `USER_LOCKED`: the account is locked. Terminal; no retry.
    #[error("the user is locked")]
    UserLocked {
        /// The whole error document.
        document: Box<ErrorDocument>,
    },
    /// 403 `USER_TEMPORARILY_LOCKED`: an attempt came before the temporary lock expired.
    #[error("the user is temporarily locked{}", lock_note(.until))]
    TemporarilyLocked {
        /// `meta.temporaryLockExpiry`.
        until: Option<Timestamp>,
        /// The whole error document.
        document: Box<ErrorDocument>,
    },
    /// 400 `OTP_WRONG`: wrong OTP or passcode; the flow stays at the same step.
    #[error("wrong one-time password{}", lock_note(.temporary_lock_expiry))]
    WrongOtp {
        /// `meta.temporaryLockExpiry`.
        temporary_lock_expiry: Option<Timestamp>,
        /// The whole error document.
        document: Box<ErrorDocument>,
    },
    /// `UNEXPECTED_CALL`: the call does not fit the server's flow state (or the session
    /// expired).
    #[error("call not allowed in the current flow state{}", next_note(.document))]
    UnexpectedCall {
        /// The whole error document.
        document: Box<ErrorDocument>,
    },
    /// 401 `NOT_AUTHORIZED` outside an application access (e.g. a protected call before the
    /// flow finished).
    #[error("not authorized{}", next_note(.document))]
    NotAuthorized {
        /// The whole error document.
        document: Box<ErrorDocument>,
    },
    /// The 2FA request was declined on the phone (emulator code
    /// `AIRLOCK_2FA_AUTHENTICATION_REJECTED`; Airlock's code is unconfirmed).
    #[error("the second factor was rejected")]
    Rejected {
        /// The whole error document.
        document: Box<ErrorDocument>,
    },
    /// The 2FA request expired on the server (emulator code
    /// `AIRLOCK_2FA_AUTHENTICATION_TIMEOUT`; Airlock's code is unconfirmed). The client's own
    /// polling deadline is [`auth_core::Error::DeadlineExceeded`] instead.
    #[error("the second factor timed out")]
    TimedOut {
        /// The whole error document.
        document: Box<ErrorDocument>,
    },
    /// The request lacked the `X-Same-Domain` CSRF header (emulator code `CSRF_HEADER_MISSING`;
    /// Airlock's answer is unconfirmed).
    #[error("the server requires the X-Same-Domain CSRF header")]
    CsrfHeaderMissing {
        /// The whole error document.
        document: Box<ErrorDocument>,
    },
    /// Any other error document; the code is kept verbatim in [`ErrorCode::Other`].
    #[error("Loginapp error: {document}")]
    Api {
        /// The whole error document.
        document: Box<ErrorDocument>,
    },
    /// HTTP 429, after the transport's retries were spent: the server (or the gateway in front
    /// of it) asks the client to slow down. Polling does not fail on it: [`Flow::poll`] and the
    /// step-up's `check` stay pending and ask again after [`Classify::retry_after`], until
    /// their deadline.
    ///
    /// [`Flow::poll`]: crate::Flow::poll
    #[error("rate limited by the server{}", retry_note(.retry_after))]
    RateLimited {
        /// The `Retry-After` header, when the answer had one (at most
        /// [`MAX_RETRY_AFTER`](crate::limits::MAX_RETRY_AFTER)).
        retry_after: Option<Duration>,
    },
    /// The step-up interface has no logged-in Loginapp session for this user: none was
    /// attached ([`Client::attach_session`](crate::Client::attach_session)), or the attached
    /// one is not logged in any more. Log the user in again.
    #[error("no logged-in Loginapp session for user `{user}`")]
    NoSession {
        /// The user.
        user: String,
    },
    /// The step-up interface met a step it cannot drive by itself.
    #[error(
        "the flow needs step {}, which the step-up interface cannot drive",
        Bounded(.step.as_str())
    )]
    UnsupportedStep {
        /// The step.
        step: NextAuthStep,
    },
    /// A shared failure: transport, a status that came without an error document (e.g. a
    /// gateway's HTML page: the body truncated and scrubbed of the call's secrets and the
    /// flow's cookies), a document that does not decode (with its JSON path; an unparsable
    /// `mobileAuthUri` too), a value refused before anything was sent
    /// ([`auth_core::ConfigError::Invalid`], naming the value), polling deadline, cancellation.
    #[error(transparent)]
    Core(auth_core::Error),
}

fn lock_note(t: &Option<Timestamp>) -> String {
    t.map(|t| format!(" (locked until {t})"))
        .unwrap_or_default()
}

fn retry_note(after: &Option<Duration>) -> String {
    after
        .map(|d| format!(" (retry after {} s)", d.as_secs()))
        .unwrap_or_default()
}

fn next_note(d: &ErrorDocument) -> String {
    d.next_auth_step()
        .map(|s| format!(" (next step {})", Bounded(s.as_str())))
        .unwrap_or_default()
}

impl From<auth_core::Error> for Error {
    /// Keeps to one way of saying each failure: a 429 is [`Error::RateLimited`] whoever builds
    /// it; everything else stays [`Error::Core`].
    fn from(e: auth_core::Error) -> Self {
        match e {
            auth_core::Error::Status { status: 429, .. } => {
                Error::RateLimited { retry_after: None }
            }
            other => Error::Core(other),
        }
    }
}

impl From<auth_core::ConfigError> for Error {
    fn from(e: auth_core::ConfigError) -> Self {
        Error::Core(e.into())
    }
}

impl From<auth_core::id::InvalidId> for Error {
    fn from(e: auth_core::id::InvalidId) -> Self {
        Error::Core(e.into())
    }
}

/// A value refused before anything was sent: [`auth_core::ConfigError::Invalid`] naming it.
pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::Core(auth_core::ConfigError::invalid(field, reason).into())
}

/// How [`Error`] is classified ([`auth_core::Classify`]):
///
/// | kind | variants |
/// | --- | --- |
/// | `Rejected` | [`Error::WrongPassword`], [`Error::WrongOtp`], [`Error::UserLocked`], [`Error::Rejected`] |
/// | `RateLimited` | [`Error::RateLimited`], [`Error::TemporarilyLocked`] (the Loginapp's own brake), [`Error::Api`] with HTTP 429 |
/// | `Unauthorized` | [`Error::NotAuthorized`], [`Error::NoSession`], [`Error::Api`] with HTTP 401/403 |
/// | `Timeout` | [`Error::TimedOut`] (the 2FA request expired on the server) |
/// | `Transport` | [`Error::Api`] with HTTP 502–504 |
/// | `Protocol` | [`Error::UnexpectedCall`], [`Error::CsrfHeaderMissing`], [`Error::UnsupportedStep`], any other [`Error::Api`] |
/// | (auth-core's) | [`Error::Core`] |
///
/// The provider code is the error document's first `errors[].code`; the retry hint is the
/// 429's `Retry-After` (see [`Error::RateLimited`]) or, for a document with
/// `meta.temporaryLockExpiry`, the lock's length as the server counted it (expiry minus the
/// document's `meta.timestamp`).
impl Classify for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::WrongPassword { .. }
            | Error::WrongOtp { .. }
            | Error::UserLocked { .. }
            | Error::Rejected { .. } => ErrorKind::Rejected,
            Error::RateLimited { .. } | Error::TemporarilyLocked { .. } => ErrorKind::RateLimited,
            Error::NotAuthorized { .. } | Error::NoSession { .. } => ErrorKind::Unauthorized,
            Error::TimedOut { .. } => ErrorKind::Timeout,
            Error::UnexpectedCall { .. }
            | Error::CsrfHeaderMissing { .. }
            | Error::UnsupportedStep { .. } => ErrorKind::Protocol,
            Error::Api { document } => match document.http_status {
                429 => ErrorKind::RateLimited,
                401 | 403 => ErrorKind::Unauthorized,
                502..=504 => ErrorKind::Transport,
                _ => ErrorKind::Protocol,
            },
            Error::Core(e) => e.kind(),
        }
    }

    fn http_status(&self) -> Option<u16> {
        match self {
            Error::RateLimited { .. } => Some(429),
            Error::Core(e) => e.http_status(),
            other => other.document().map(|d| d.http_status),
        }
    }

    fn provider_code(&self) -> Option<&str> {
        self.code().map(ErrorCode::as_str)
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after } => auth_core::retry::rate_limit_hint(*retry_after),
            Error::Core(e) => e.retry_after(),
            other => other.document().and_then(lock_length),
        }
    }

    fn is_retryable(&self) -> bool {
        match self {
            Error::Core(e) => e.is_retryable(),
            other => other.kind().is_retryable(),
        }
    }
}

/// `meta.temporaryLockExpiry - meta.timestamp`: how long the server locks, on its own clock
/// (so no clock skew enters), when both are there and the expiry is later.
fn lock_length(document: &ErrorDocument) -> Option<Duration> {
    let expiry = document.meta.temporary_lock_expiry?.to_system_time();
    let answered = document.meta.timestamp?.to_system_time();
    expiry.duration_since(answered).ok()
}

impl Error {
    /// Classifies an error document by its first code.
    pub fn from_document(document: ErrorDocument) -> Self {
        let document = Box::new(document);
        match document.code().clone() {
            ErrorCode::UsernamePasswordWrong => Error::WrongPassword {
                temporary_lock_expiry: document.temporary_lock_expiry(),
                document,
            },
            ErrorCode::UserLocked => Error::UserLocked { document },
            ErrorCode::UserTemporarilyLocked => Error::TemporarilyLocked {
                until: document.temporary_lock_expiry(),
                document,
            },
            ErrorCode::OtpWrong => Error::WrongOtp {
                temporary_lock_expiry: document.temporary_lock_expiry(),
                document,
            },
            ErrorCode::UnexpectedCall => Error::UnexpectedCall { document },
            ErrorCode::NotAuthorized => Error::NotAuthorized { document },
            ErrorCode::Airlock2faAuthenticationRejected => Error::Rejected { document },
            ErrorCode::Airlock2faAuthenticationTimeout => Error::TimedOut { document },
            ErrorCode::CsrfHeaderMissing => Error::CsrfHeaderMissing { document },
            ErrorCode::Other(_) => Error::Api { document },
        }
    }

    /// The error document, for every variant that came from one.
    pub fn document(&self) -> Option<&ErrorDocument> {
        match self {
            Error::WrongPassword { document, .. }
            | Error::UserLocked { document }
            | Error::TemporarilyLocked { document, .. }
            | Error::WrongOtp { document, .. }
            | Error::UnexpectedCall { document }
            | Error::NotAuthorized { document }
            | Error::Rejected { document }
            | Error::TimedOut { document }
            | Error::CsrfHeaderMissing { document }
            | Error::Api { document } => Some(document),
            _ => None,
        }
    }

    /// The Loginapp error code, when the error came from an error document.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.document().map(ErrorDocument::code)
    }

    /// `meta.nextAuthStep` of the error document: where the flow continues.
    pub fn next_auth_step(&self) -> Option<&NextAuthStep> {
        self.document().and_then(ErrorDocument::next_auth_step)
    }

    /// `meta.temporaryLockExpiry`: never retry before it.
    pub fn temporary_lock_expiry(&self) -> Option<Timestamp> {
        self.document()
            .and_then(ErrorDocument::temporary_lock_expiry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::parse_error;

    fn doc(status: u16, code: &str) -> ErrorDocument {
        let body = format!(
            r#"{{"meta":{{"temporaryLockExpiry":"2024-05-01T10:00:03.000+02:00"}},"errors":[{{"id":"1:2","status":{status},"code":"{code}"}}]}}"#
        );
        parse_error(status, body.as_bytes()).unwrap()
    }

    #[test]
    fn every_known_code_has_its_variant() {
        type Check = fn(&Error) -> bool;
        let cases: [(&str, Check); 10] = [
            ("USERNAME_PASSWORD_WRONG", |e| {
                matches!(
                    e,
                    Error::WrongPassword {
                        temporary_lock_expiry: Some(_),
                        ..
                    }
                )
            }),
            ("USER_LOCKED", |e| matches!(e, Error::UserLocked { .. })),
            ("USER_TEMPORARILY_LOCKED", |e| {
                matches!(e, Error::TemporarilyLocked { until: Some(_), .. })
            }),
            ("OTP_WRONG", |e| matches!(e, Error::WrongOtp { .. })),
            ("UNEXPECTED_CALL", |e| {
                matches!(e, Error::UnexpectedCall { .. })
            }),
            ("NOT_AUTHORIZED", |e| {
                matches!(e, Error::NotAuthorized { .. })
            }),
            ("AIRLOCK_2FA_AUTHENTICATION_REJECTED", |e| {
                matches!(e, Error::Rejected { .. })
            }),
            ("AIRLOCK_2FA_AUTHENTICATION_TIMEOUT", |e| {
                matches!(e, Error::TimedOut { .. })
            }),
            ("CSRF_HEADER_MISSING", |e| {
                matches!(e, Error::CsrfHeaderMissing { .. })
            }),
            ("SOMETHING_NEW", |e| {
                matches!(e.code(), Some(ErrorCode::Other(c)) if c == "SOMETHING_NEW")
                    && matches!(e, Error::Api { .. })
            }),
        ];
        for (code, check) in cases {
            let e = Error::from_document(doc(400, code));
            assert!(check(&e), "{code}: {e:?}");
            assert_eq!(e.http_status(), Some(400));
            assert!(e.temporary_lock_expiry().is_some());
            assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn classified_once_with_the_loginapp_code() {
        let cases: [(u16, &str, ErrorKind); 13] = [
            (400, "USERNAME_PASSWORD_WRONG", ErrorKind::Rejected),
            (403, "USER_LOCKED", ErrorKind::Rejected),
            (403, "USER_TEMPORARILY_LOCKED", ErrorKind::RateLimited),
            (400, "OTP_WRONG", ErrorKind::Rejected),
            (400, "UNEXPECTED_CALL", ErrorKind::Protocol),
            (401, "NOT_AUTHORIZED", ErrorKind::Unauthorized),
            (
                400,
                "AIRLOCK_2FA_AUTHENTICATION_REJECTED",
                ErrorKind::Rejected,
            ),
            (
                400,
                "AIRLOCK_2FA_AUTHENTICATION_TIMEOUT",
                ErrorKind::Timeout,
            ),
            (403, "CSRF_HEADER_MISSING", ErrorKind::Protocol),
            (400, "SOMETHING_NEW", ErrorKind::Protocol),
            (401, "SESSION_GONE", ErrorKind::Unauthorized),
            (429, "TOO_MANY", ErrorKind::RateLimited),
            (503, "MAINTENANCE", ErrorKind::Transport),
        ];
        for (status, code, kind) in cases {
            let e = Error::from_document(doc(status, code));
            assert_eq!(e.kind(), kind, "{code}");
            assert_eq!(e.http_status(), Some(status), "{code}");
            assert_eq!(e.provider_code(), Some(code));
            assert_eq!(e.is_retryable(), kind.is_retryable(), "{code}");
        }
        // The lock's length, on the server's own clock: expiry minus the answer's timestamp.
        let body = br#"{"meta":{"timestamp":"2024-05-01T10:00:00.000+02:00",
            "temporaryLockExpiry":"2024-05-01T10:00:03.000+02:00"},
            "errors":[{"status":403,"code":"USER_TEMPORARILY_LOCKED"}]}"#;
        let locked = Error::from_document(parse_error(403, body).unwrap());
        assert_eq!(locked.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(
            Error::from_document(doc(400, "OTP_WRONG")).retry_after(),
            None
        );
        // A 429: the hint as the server gave it (at most an hour), 5 s without one, none for 0.
        let limited = |after| Error::RateLimited { retry_after: after };
        assert_eq!(
            limited(Some(Duration::from_secs(7))).retry_after(),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            limited(None).retry_after(),
            Some(crate::limits::RATE_LIMIT_BACKOFF)
        );
        assert_eq!(limited(Some(Duration::ZERO)).retry_after(), None);
        assert_eq!(limited(None).http_status(), Some(429));
        // One way to say each failure: a bare 429 from auth-core becomes RateLimited; other
        // shared failures keep auth-core's classification.
        let e = Error::from(auth_core::Error::status(429, b"slow down", &[]));
        assert!(
            matches!(e, Error::RateLimited { retry_after: None }),
            "{e:?}"
        );
        let e = Error::from(auth_core::Error::status(502, b"<html>", &[]));
        assert_eq!(
            (e.kind(), e.http_status(), e.is_retryable()),
            (ErrorKind::Transport, Some(502), true)
        );
        assert_eq!(e.provider_code(), None);
        let e = invalid("device id", "a dot segment cannot be a device id");
        assert_eq!(e.kind(), ErrorKind::Configuration);
        assert!(!e.is_retryable());
        assert_eq!(
            Error::NoSession { user: "u".into() }.kind(),
            ErrorKind::Unauthorized
        );
        assert_eq!(
            Error::UnsupportedStep {
                step: NextAuthStep::OtpRequired
            }
            .kind(),
            ErrorKind::Protocol
        );
        assert_eq!(
            Error::Core(auth_core::Error::Cancelled).kind(),
            ErrorKind::Cancelled
        );
    }
}
