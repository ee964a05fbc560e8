//! The crate's error: the Onegini SDK's error codes (spec §6) as one enum.
//!
//! Every variant has the SDK's numeric code ([`Error::code`]) and name ([`Error::name`]);
//! variants that removed a profile carry it ([`Error::removed_profile`]), like the SDK's
//! `getErrorDetails().getUserProfile()`. No variant carries a PIN, token or client secret.

use crate::client::UserProfile;
use crate::crypto::CryptoError;
use crate::ocra::OcraError;
use crate::pin::PinValidationError;
use crate::storage::StorageError;

/// An Onegini SDK error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A shared failure (transport, unexpected status, decode, configuration). Its code: 9000
    /// `NETWORK_CONNECTIVITY_PROBLEM` when no connection could be made (no network, no route,
    /// refused), 9001 `SERVER_NOT_REACHABLE` for the other transport failures (timeouts, TLS, a
    /// broken response), 10001 for configuration errors, 10000 otherwise.
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
    /// 10001 `CONFIGURATION_ERROR`: the client configuration is unusable.
    #[error("CONFIGURATION_ERROR (10001): {0}")]
    Configuration(String),
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
        Error::Configuration(e.to_string())
    }
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
            Error::Configuration(_) => 10001,
            Error::LocalDeregistration { .. } => 10003,
            Error::AuthenticatorAlreadyRegistered => 10004,
            Error::AuthenticatorNotSupported => 10006,
            Error::AuthenticatorNotRegistered => 10007,
            Error::PinDeregistrationNotPossible => 10008,
            Error::LocalLogout { .. } => 10009,
            Error::InvalidRequest(_) => 10015,
            Error::General(_) => 10000,
        }
    }

    /// The SDK's error name (`USER_DEREGISTERED`, …).
    pub fn name(&self) -> &'static str {
        match self.code() {
            9000 => "NETWORK_CONNECTIVITY_PROBLEM",
            9001 => "SERVER_NOT_REACHABLE",
            9002 => "DEVICE_DEREGISTERED",
            9003 => "USER_DEREGISTERED",
            9004 => "OUTDATED_APP",
            9006 => "ACTION_CANCELED",
            9007 => "ACTION_ALREADY_IN_PROGRESS",
            9008 => "DEVICE_REGISTRATION_ERROR",
            9010 => "USER_NOT_AUTHENTICATED",
            9011 => "PIN_BLACKLISTED",
            9012 => "PIN_IS_A_SEQUENCE",
            9013 => "PIN_USES_SIMILAR_DIGITS",
            9014 => "WRONG_PIN_LENGTH",
            9022 => "AUTHENTICATOR_DEREGISTERED",
            9024 => "DATA_STORAGE_NOT_AVAILABLE",
            10001 => "CONFIGURATION_ERROR",
            10003 => "LOCAL_DEREGISTRATION",
            10004 => "AUTHENTICATOR_ALREADY_REGISTERED",
            10006 => "AUTHENTICATOR_NOT_SUPPORTED",
            10007 => "AUTHENTICATOR_NOT_REGISTERED",
            10008 => "AUTHENTICATOR_PIN_DEREGISTRATION_NOT_POSSIBLE",
            10009 => "LOCAL_LOGOUT",
            10015 => "INVALID_REQUEST",
            _ => "GENERAL_ERROR",
        }
    }

    /// The profile this error removed, if any (9003).
    pub fn removed_profile(&self) -> Option<&UserProfile> {
        match self {
            Error::UserDeregistered { profile } => Some(profile),
            _ => None,
        }
    }

    /// Whether the caller may retry the same call later (transient transport failures).
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Core(e) if e.is_transient())
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
            (
                Error::Configuration("x".into()),
                10001,
                "CONFIGURATION_ERROR",
            ),
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
}
