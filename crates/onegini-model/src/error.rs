//! The crate's error: the Onegini SDK's error codes (spec §6) as one enum.
//!
//! Every variant has the SDK's numeric code ([`Error::code`]) and name ([`Error::name`]);
//! variants that removed a profile carry it ([`Error::removed_profile`]), like the SDK's
//! `getErrorDetails().getUserProfile()`. No variant carries a PIN, token or client secret.
//!
//! [`auth_core::Classify`] gives the classification every oob-auth error shares: the kind
//! (transport, timeout, rate limited, unauthorized, rejected by the user, protocol,
//! configuration, cancelled), the HTTP status, the SDK's code as the provider code (`"9003"`),
//! and whether a retry may help. Configuration errors (10001) are all
//! [`auth_core::ConfigError`]s inside [`Error::Core`]: one way to say it.

use auth_core::{Classify, ConfigError, ErrorKind};

use crate::client::UserProfile;
use crate::crypto::CryptoError;
use crate::hazmat::ocra::OcraError;
use crate::pin::PinValidationError;
use crate::storage::StorageError;

/// An Onegini SDK error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A shared failure (transport, unexpected status, decode, configuration). Its code: 9000
    /// `NETWORK_CONNECTIVITY_PROBLEM` when no connection could be made (no network, no route,
    /// refused), 9001 `SERVER_NOT_REACHABLE` for the other transport failures (timeouts, TLS, a
    /// broken response), 10001 `CONFIGURATION_ERROR` for configuration errors (a missing or
    /// invalid builder step, a base URL that is not https or loopback, a server that expects
    /// another DCR suite or sends an unusable PIN policy), 10000 otherwise.
    #[error(transparent)]
    Core(#[from] auth_core::Error),
    /// 9002 `DEVICE_DEREGISTERED`: the Token Server no longer knows the client; all local data
    /// (credentials and every profile) has been wiped.
    #[error(
        "DEVICE_DEREGISTERED (9002): the device registration was removed on the server; all local data was wiped"
    )]
    DeviceDeregistered {
        /// The profiles that were removed.
        removed_profiles: Vec<UserProfile>,
    },
    /// 9003 `USER_DEREGISTERED`: too many wrong PINs, or the user's tokens were revoked on the
    /// server; the profile's local data has been removed.
    #[error("USER_DEREGISTERED (9003): profile {profile} was removed")]
    UserDeregistered {
        /// The removed profile.
        profile: UserProfile,
    },
    /// 9004 `OUTDATED_APP`: this application version may not register (or is disabled).
    #[error("OUTDATED_APP (9004): this application version is not allowed")]
    OutdatedApp,
    /// 9006 `ACTION_CANCELED`: the user or app cancelled (denied the registration, the PIN, or
    /// the consent at the IdP).
    #[error("ACTION_CANCELED (9006): {0}")]
    ActionCanceled(&'static str),
    /// 9007 `ACTION_ALREADY_IN_PROGRESS`: another flow is running on this client.
    #[error("ACTION_ALREADY_IN_PROGRESS (9007)")]
    ActionAlreadyInProgress,
    /// 9008 `DEVICE_REGISTRATION_ERROR`: DCR failed (clock, version or signature — the server
    /// does not say which).
    #[error("DEVICE_REGISTRATION_ERROR (9008): dynamic client registration failed")]
    DeviceRegistrationError,
    /// 9010 `USER_NOT_AUTHENTICATED`: no authenticated profile, or its access token expired or
    /// was revoked.
    #[error("USER_NOT_AUTHENTICATED (9010)")]
    UserNotAuthenticated,
    /// 9011–9014: the PIN does not satisfy the policy (from [`crate::Client::validate_pin_with_policy`]).
    #[error(transparent)]
    PinValidation(#[from] PinValidationError),
    /// 9022 `AUTHENTICATOR_DEREGISTERED`: the fingerprint authenticator was removed (e.g. after an
    /// OS fingerprint error); use the PIN.
    #[error("AUTHENTICATOR_DEREGISTERED (9022)")]
    AuthenticatorDeregistered,
    /// 9024 `DATA_STORAGE_NOT_AVAILABLE`: the storage failed.
    #[error("DATA_STORAGE_NOT_AVAILABLE (9024): {0}")]
    DataStorageNotAvailable(#[from] StorageError),
    /// 10003 `LOCAL_DEREGISTRATION`: the profile was removed locally, the server call failed.
    #[error("LOCAL_DEREGISTRATION (10003): removed locally; the server call failed: {source}")]
    LocalDeregistration {
        /// The server call's failure.
        source: Box<Error>,
    },
    /// 10004 `AUTHENTICATOR_ALREADY_REGISTERED`.
    #[error("AUTHENTICATOR_ALREADY_REGISTERED (10004)")]
    AuthenticatorAlreadyRegistered,
    /// 10006 `AUTHENTICATOR_NOT_SUPPORTED`: the device or application does not offer it.
    #[error("AUTHENTICATOR_NOT_SUPPORTED (10006)")]
    AuthenticatorNotSupported,
    /// 10007 `AUTHENTICATOR_NOT_REGISTERED`.
    #[error("AUTHENTICATOR_NOT_REGISTERED (10007)")]
    AuthenticatorNotRegistered,
    /// 10008 `AUTHENTICATOR_PIN_DEREGISTRATION_NOT_POSSIBLE`.
    #[error("AUTHENTICATOR_PIN_DEREGISTRATION_NOT_POSSIBLE (10008)")]
    PinDeregistrationNotPossible,
    /// 10009 `LOCAL_LOGOUT`: logged out locally, the revocation call failed.
    #[error("LOCAL_LOGOUT (10009): logged out locally; the server call failed: {source}")]
    LocalLogout {
        /// The server call's failure.
        source: Box<Error>,
    },
    /// 10015 `INVALID_REQUEST`: the call does not fit the state (unknown profile, a redirect
    /// that is not ours or has the wrong `state`, …).
    #[error("INVALID_REQUEST (10015): {0}")]
    InvalidRequest(String),
    /// 10000 `GENERAL_ERROR` for a Token Server that answered HTTP 429 (the only way a 429 is
    /// reported): classified [`ErrorKind::RateLimited`], with the server's hint.
    #[error("GENERAL_ERROR (10000): the Token Server asked to slow down (HTTP 429)")]
    RateLimited {
        /// The `Retry-After` the server sent, if any (at most an hour; `0` is no hint).
        /// [`Classify::retry_after`] gives it too.
        retry_after: Option<std::time::Duration>,
    },
    /// 10000 `GENERAL_ERROR`: the server answered something the model does not expect.
    #[error("GENERAL_ERROR (10000): {0}")]
    General(String),
}

impl From<CryptoError> for Error {
    fn from(e: CryptoError) -> Self {
        Error::General(e.to_string())
    }
}

impl From<OcraError> for Error {
    fn from(e: OcraError) -> Self {
        config_error("dcr_suite", e.to_string())
    }
}

/// A configuration error (10001): the setting `name` and why it is unusable.
pub(crate) fn config_error(name: &'static str, reason: impl Into<String>) -> Error {
    Error::Core(ConfigError::invalid(name, reason).into())
}

/// The SDK's codes: number, name, and the number as text (the provider code).
const CODES: &[(u16, &str, &str)] = &[
    (9000, "NETWORK_CONNECTIVITY_PROBLEM", "9000"),
    (9001, "SERVER_NOT_REACHABLE", "9001"),
    (9002, "DEVICE_DEREGISTERED", "9002"),
    (9003, "USER_DEREGISTERED", "9003"),
    (9004, "OUTDATED_APP", "9004"),
    (9006, "ACTION_CANCELED", "9006"),
    (9007, "ACTION_ALREADY_IN_PROGRESS", "9007"),
    (9008, "DEVICE_REGISTRATION_ERROR", "9008"),
    (9010, "USER_NOT_AUTHENTICATED", "9010"),
    (9011, "PIN_BLACKLISTED", "9011"),
    (9012, "PIN_IS_A_SEQUENCE", "9012"),
    (9013, "PIN_USES_SIMILAR_DIGITS", "9013"),
    (9014, "WRONG_PIN_LENGTH", "9014"),
    (9022, "AUTHENTICATOR_DEREGISTERED", "9022"),
    (9024, "DATA_STORAGE_NOT_AVAILABLE", "9024"),
    (10000, "GENERAL_ERROR", "10000"),
    (10001, "CONFIGURATION_ERROR", "10001"),
    (10003, "LOCAL_DEREGISTRATION", "10003"),
    (10004, "AUTHENTICATOR_ALREADY_REGISTERED", "10004"),
    (10006, "AUTHENTICATOR_NOT_SUPPORTED", "10006"),
    (10007, "AUTHENTICATOR_NOT_REGISTERED", "10007"),
    (
        10008,
        "AUTHENTICATOR_PIN_DEREGISTRATION_NOT_POSSIBLE",
        "10008",
    ),
    (10009, "LOCAL_LOGOUT", "10009"),
    (10015, "INVALID_REQUEST", "10015"),
];

fn code_entry(code: u16) -> (&'static str, &'static str) {
    CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, name, text)| (*name, *text))
        .unwrap_or(("GENERAL_ERROR", "10000"))
}

impl Error {
    /// The SDK's numeric error code.
    pub fn code(&self) -> u16 {
        match self {
            Error::Core(auth_core::Error::Transport(t))
                if t.kind() == auth_core::TransportErrorKind::Connect =>
            {
                9000
            }
            Error::Core(auth_core::Error::Transport(_)) => 9001,
            Error::Core(auth_core::Error::Config(_)) => 10001,
            Error::Core(_) => 10000,
            Error::DeviceDeregistered { .. } => 9002,
            Error::UserDeregistered { .. } => 9003,
            Error::OutdatedApp => 9004,
            Error::ActionCanceled(_) => 9006,
            Error::ActionAlreadyInProgress => 9007,
            Error::DeviceRegistrationError => 9008,
            Error::UserNotAuthenticated => 9010,
            Error::PinValidation(e) => e.code(),
            Error::AuthenticatorDeregistered => 9022,
            Error::DataStorageNotAvailable(_) => 9024,
            Error::LocalDeregistration { .. } => 10003,
            Error::AuthenticatorAlreadyRegistered => 10004,
            Error::AuthenticatorNotSupported => 10006,
            Error::AuthenticatorNotRegistered => 10007,
            Error::PinDeregistrationNotPossible => 10008,
            Error::LocalLogout { .. } => 10009,
            Error::InvalidRequest(_) => 10015,
            Error::RateLimited { .. } | Error::General(_) => 10000,
        }
    }

    /// The SDK's error name (`USER_DEREGISTERED`, …).
    pub fn name(&self) -> &'static str {
        code_entry(self.code()).0
    }

    /// The profile this error removed, if any (9003).
    pub fn removed_profile(&self) -> Option<&UserProfile> {
        match self {
            Error::UserDeregistered { profile } => Some(profile),
            _ => None,
        }
    }
}

/// The one classification of every oob-auth error. The provider code is the SDK's code as
/// text (`"9003"`), for the crate's own variants; [`Error::Core`] is classified by auth-core.
impl Classify for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Core(e) => e.kind(),
            Error::LocalDeregistration { source } | Error::LocalLogout { source } => source.kind(),
            // The server refused who we are: the client (9002), the app version (9004), the DCR
            // proof (9008), the session (9010), a refresh token (9003, 9022).
            Error::DeviceDeregistered { .. }
            | Error::UserDeregistered { .. }
            | Error::OutdatedApp
            | Error::DeviceRegistrationError
            | Error::UserNotAuthenticated
            | Error::AuthenticatorDeregistered => ErrorKind::Unauthorized,
            // The user (or the app on their behalf) said no.
            Error::ActionCanceled(_) => ErrorKind::Rejected,
            // The call does not fit the device's state or input; nothing was sent for it.
            Error::ActionAlreadyInProgress
            | Error::PinValidation(_)
            | Error::DataStorageNotAvailable(_)
            | Error::AuthenticatorAlreadyRegistered
            | Error::AuthenticatorNotSupported
            | Error::AuthenticatorNotRegistered
            | Error::PinDeregistrationNotPossible
            | Error::InvalidRequest(_) => ErrorKind::Configuration,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::General(_) => ErrorKind::Protocol,
        }
    }

    fn http_status(&self) -> Option<u16> {
        match self {
            Error::Core(e) => Classify::http_status(e),
            Error::LocalDeregistration { source } | Error::LocalLogout { source } => {
                source.http_status()
            }
            Error::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    fn provider_code(&self) -> Option<&str> {
        match self {
            Error::Core(e) => e.provider_code(),
            _ => Some(code_entry(self.code()).1),
        }
    }

    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Error::Core(e) => e.retry_after(),
            Error::LocalDeregistration { source } | Error::LocalLogout { source } => {
                source.retry_after()
            }
            Error::RateLimited { retry_after } => auth_core::retry::rate_limit_hint(*retry_after),
            _ => None,
        }
    }

    fn is_retryable(&self) -> bool {
        match self {
            Error::Core(e) => e.is_retryable(),
            _ => self.kind().is_retryable(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_sdk_code_and_name() {
        let profile = UserProfile::new("W8DUJ2");
        let cases: Vec<(Error, u16, &str)> = vec![
            (
                auth_core::Error::Transport(auth_core::TransportError::new(
                    auth_core::TransportErrorKind::Connect,
                    "refused",
                ))
                .into(),
                9000,
                "NETWORK_CONNECTIVITY_PROBLEM",
            ),
            (
                auth_core::Error::Transport(auth_core::TransportError::new(
                    auth_core::TransportErrorKind::Timeout,
                    "no answer",
                ))
                .into(),
                9001,
                "SERVER_NOT_REACHABLE",
            ),
            (
                auth_core::Error::Config(auth_core::ConfigError::Invalid {
                    name: "x",
                    reason: "y".into(),
                })
                .into(),
                10001,
                "CONFIGURATION_ERROR",
            ),
            (auth_core::Error::Cancelled.into(), 10000, "GENERAL_ERROR"),
            (
                Error::DeviceDeregistered {
                    removed_profiles: vec![profile.clone()],
                },
                9002,
                "DEVICE_DEREGISTERED",
            ),
            (
                Error::UserDeregistered {
                    profile: profile.clone(),
                },
                9003,
                "USER_DEREGISTERED",
            ),
            (Error::OutdatedApp, 9004, "OUTDATED_APP"),
            (Error::ActionCanceled("x"), 9006, "ACTION_CANCELED"),
            (
                Error::ActionAlreadyInProgress,
                9007,
                "ACTION_ALREADY_IN_PROGRESS",
            ),
            (
                Error::DeviceRegistrationError,
                9008,
                "DEVICE_REGISTRATION_ERROR",
            ),
            (Error::UserNotAuthenticated, 9010, "USER_NOT_AUTHENTICATED"),
            (
                PinValidationError::PinBlacklisted.into(),
                9011,
                "PIN_BLACKLISTED",
            ),
            (
                PinValidationError::PinIsASequence.into(),
                9012,
                "PIN_IS_A_SEQUENCE",
            ),
            (
                PinValidationError::PinUsesSimilarDigits { max: 2 }.into(),
                9013,
                "PIN_USES_SIMILAR_DIGITS",
            ),
            (
                PinValidationError::WrongPinLength { expected: 5 }.into(),
                9014,
                "WRONG_PIN_LENGTH",
            ),
            (
                Error::AuthenticatorDeregistered,
                9022,
                "AUTHENTICATOR_DEREGISTERED",
            ),
            (
                StorageError::Corrupt("x".into()).into(),
                9024,
                "DATA_STORAGE_NOT_AVAILABLE",
            ),
            (config_error("x", "y"), 10001, "CONFIGURATION_ERROR"),
            (
                Error::LocalDeregistration {
                    source: Box::new(Error::OutdatedApp),
                },
                10003,
                "LOCAL_DEREGISTRATION",
            ),
            (
                Error::AuthenticatorAlreadyRegistered,
                10004,
                "AUTHENTICATOR_ALREADY_REGISTERED",
            ),
            (
                Error::AuthenticatorNotSupported,
                10006,
                "AUTHENTICATOR_NOT_SUPPORTED",
            ),
            (
                Error::AuthenticatorNotRegistered,
                10007,
                "AUTHENTICATOR_NOT_REGISTERED",
            ),
            (
                Error::PinDeregistrationNotPossible,
                10008,
                "AUTHENTICATOR_PIN_DEREGISTRATION_NOT_POSSIBLE",
            ),
            (
                Error::LocalLogout {
                    source: Box::new(Error::OutdatedApp),
                },
                10009,
                "LOCAL_LOGOUT",
            ),
            (Error::InvalidRequest("x".into()), 10015, "INVALID_REQUEST"),
            (Error::General("x".into()), 10000, "GENERAL_ERROR"),
            (
                OcraError::MissingInput("counter (C)").into(),
                10001,
                "CONFIGURATION_ERROR",
            ),
            (CryptoError::Random.into(), 10000, "GENERAL_ERROR"),
        ];
        for (err, code, name) in cases {
            assert_eq!((err.code(), err.name()), (code, name), "{err:?}");
            // Display names the code for the SDK's own codes.
            if !matches!(err, Error::Core(_)) {
                assert!(err.to_string().contains(&code.to_string()), "{err}");
            }
        }
        let removed = Error::UserDeregistered {
            profile: profile.clone(),
        };
        assert_eq!(removed.removed_profile(), Some(&profile));
        assert_eq!(Error::OutdatedApp.removed_profile(), None);
    }

    fn transport(kind: auth_core::TransportErrorKind) -> Error {
        auth_core::Error::Transport(auth_core::TransportError::new(kind, "x")).into()
    }

    /// An error, its kind, provider code, HTTP status and whether a retry may help.
    type Case = (Error, ErrorKind, Option<&'static str>, Option<u16>, bool);

    #[test]
    fn every_variant_is_classified() {
        use ErrorKind::*;
        let profile = UserProfile::new("W8DUJ2");
        let cases: Vec<Case> = vec![
            (
                transport(auth_core::TransportErrorKind::Connect),
                Transport,
                None,
                None,
                true,
            ),
            (
                transport(auth_core::TransportErrorKind::Timeout),
                Timeout,
                None,
                None,
                true,
            ),
            (
                auth_core::Error::status(429, b"{}", &[]).into(),
                RateLimited,
                None,
                Some(429),
                true,
            ),
            (
                auth_core::Error::status(503, b"", &[]).into(),
                Transport,
                None,
                Some(503),
                true,
            ),
            (
                auth_core::Error::status(500, b"", &[]).into(),
                Protocol,
                None,
                Some(500),
                false,
            ),
            (
                config_error("base_url", "required"),
                Configuration,
                None,
                None,
                false,
            ),
            (
                auth_core::Error::Cancelled.into(),
                Cancelled,
                None,
                None,
                false,
            ),
            (
                Error::DeviceDeregistered {
                    removed_profiles: vec![],
                },
                Unauthorized,
                Some("9002"),
                None,
                false,
            ),
            (
                Error::UserDeregistered {
                    profile: profile.clone(),
                },
                Unauthorized,
                Some("9003"),
                None,
                false,
            ),
            (Error::OutdatedApp, Unauthorized, Some("9004"), None, false),
            (
                Error::ActionCanceled("denied"),
                Rejected,
                Some("9006"),
                None,
                false,
            ),
            (
                Error::ActionAlreadyInProgress,
                Configuration,
                Some("9007"),
                None,
                false,
            ),
            (
                Error::DeviceRegistrationError,
                Unauthorized,
                Some("9008"),
                None,
                false,
            ),
            (
                Error::UserNotAuthenticated,
                Unauthorized,
                Some("9010"),
                None,
                false,
            ),
            (
                PinValidationError::PinIsASequence.into(),
                Configuration,
                Some("9012"),
                None,
                false,
            ),
            (
                Error::AuthenticatorDeregistered,
                Unauthorized,
                Some("9022"),
                None,
                false,
            ),
            (
                StorageError::Corrupt("x".into()).into(),
                Configuration,
                Some("9024"),
                None,
                false,
            ),
            (
                Error::AuthenticatorNotSupported,
                Configuration,
                Some("10006"),
                None,
                false,
            ),
            (
                Error::InvalidRequest("x".into()),
                Configuration,
                Some("10015"),
                None,
                false,
            ),
            (
                Error::General("x".into()),
                Protocol,
                Some("10000"),
                None,
                false,
            ),
            // A local logout is classified by its failed server call, with its own code.
            (
                Error::LocalLogout {
                    source: Box::new(transport(auth_core::TransportErrorKind::Connect)),
                },
                Transport,
                Some("10009"),
                None,
                true,
            ),
            (
                Error::LocalDeregistration {
                    source: Box::new(auth_core::Error::status(502, b"", &[]).into()),
                },
                Transport,
                Some("10003"),
                Some(502),
                true,
            ),
        ];
        for (err, kind, code, status, retryable) in cases {
            assert_eq!(err.kind(), kind, "{err:?}");
            assert_eq!(err.provider_code(), code, "{err:?}");
            assert_eq!(Classify::http_status(&err), status, "{err:?}");
            assert_eq!(err.is_retryable(), retryable, "{err:?}");
            assert_eq!(err.retry_after(), None, "{err:?}");
        }
        let limited = Error::RateLimited {
            retry_after: Some(std::time::Duration::from_secs(7)),
        };
        assert_eq!(
            limited.retry_after(),
            Some(std::time::Duration::from_secs(7))
        );
        assert_eq!((limited.code(), limited.name()), (10000, "GENERAL_ERROR"));
        let logout = Error::LocalLogout {
            source: Box::new(limited),
        };
        assert_eq!(logout.kind(), ErrorKind::RateLimited);
        assert_eq!(
            logout.retry_after(),
            Some(std::time::Duration::from_secs(7))
        );
    }
}
