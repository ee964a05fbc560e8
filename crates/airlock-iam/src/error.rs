//! The crate's error type: every documented Loginapp error code as its own variant, unknown
//! codes kept verbatim, and auth-core's shared failures.
//!
//! No variant carries a password, OTP, cookie or session token: error documents hold codes and
//! ids only, and bodies that are not JSON:API documents are truncated and scrubbed.

use std::time::Duration;

use auth_core::ErrorBody;

use crate::document::ErrorDocument;
use crate::model::{Bounded, ErrorCode, NextAuthStep};
use crate::timestamp::Timestamp;

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
    /// step-up's `check` stay pending and ask again after `retry_after` (or
    /// [`RATE_LIMIT_BACKOFF`]), until their deadline.
    ///
    /// [`Flow::poll`]: crate::Flow::poll
    /// [`RATE_LIMIT_BACKOFF`]: crate::client::RATE_LIMIT_BACKOFF
    #[error("rate limited by the server{}", retry_note(.retry_after))]
    RateLimited {
        /// The `Retry-After` hint, when the answer had one (at most
        /// [`MAX_RETRY_AFTER`](crate::client::MAX_RETRY_AFTER)).
        retry_after: Option<Duration>,
    },
    /// A non-2xx answer that is not a JSON:API error document (e.g. a gateway's HTML page).
    #[error("unexpected HTTP {status} response: {body}")]
    UnexpectedResponse {
        /// The HTTP status.
        status: u16,
        /// The body, truncated and scrubbed of the request's secrets and cookies.
        body: ErrorBody,
    },
    /// The `mobileAuthUri` could not be parsed (the URI itself is never shown).
    #[error("invalid mobileAuthUri: {reason}")]
    InvalidMobileAuthUri {
        /// What was wrong.
        reason: String,
    },
    /// A value given to the client was rejected before anything was sent.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// Which value.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The step-up interface has no logged-in session for this user (see
    /// [`AirlockStepUp::attach_session`](crate::AirlockStepUp::attach_session)).
    #[error("no Loginapp session attached for user `{user}`")]
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
    /// A shared failure: transport, unexpected status, decode (with JSON path), configuration,
    /// polling deadline, cancellation.
    #[error(transparent)]
    Core(#[from] auth_core::Error),
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

impl From<auth_core::ConfigError> for Error {
    fn from(e: auth_core::ConfigError) -> Self {
        Error::Core(e.into())
    }
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

    /// The HTTP status of the failed call, when there was a response.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::UnexpectedResponse { status, .. } => Some(*status),
            Error::RateLimited { .. } => Some(429),
            Error::Core(auth_core::Error::Status { status, .. }) => Some(*status),
            other => other.document().map(|d| d.http_status),
        }
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

    /// Whether the client's own wait ended it: the polling deadline, or a transport timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Core(e) if e.is_timeout())
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
}
