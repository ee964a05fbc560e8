//! The Loginapp REST paths: see [`Endpoints`].

use serde::{Deserialize, Serialize};

/// The paths of the Loginapp REST calls, in one table.
///
/// Paths are relative to the REST root (`<loginapp>/rest`) and use the trailing-slash form of
/// the reference. Several are **unconfirmed** (spec §4, §9 #1): the offline switch, passcode
/// check, QR retrieval, device selection, password change and logout. Override any of them when
/// the Loginapp REST API reference of your IAM version says otherwise:
///
/// ```
/// use airlock_iam::Endpoints;
///
/// let mut endpoints = Endpoints::default();
/// endpoints.passcode_check = "public/authentication/airlock-2fa/passcode/check/".into();
/// assert_eq!(endpoints.status_poll, "public/authentication/airlock-2fa/status/poll/");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Endpoints {
    /// `POST public/authentication/password/check/` (documented).
    pub password_check: String,
    /// `POST public/authentication/default-application/access/` (documented).
    pub default_application_access: String,
    /// `POST public/authentication/applications/{applicationId}/access/` (documented).
    pub application_access: String,
    /// `POST public/authentication/otp/check/` (documented).
    pub otp_check: String,
    /// `POST public/authentication/airlock-2fa/mobile-only/challenge/retrieve/` (documented).
    pub mobile_only_challenge_retrieve: String,
    /// `POST public/authentication/airlock-2fa/status/poll/` (documented).
    pub status_poll: String,
    /// `POST public/authentication/airlock-2fa/devices/retrieve/` (documented).
    pub devices_retrieve: String,
    /// `POST public/authentication/airlock-2fa/devices/{deviceId}/select/` (unconfirmed).
    pub device_select: String,
    /// `POST public/authentication/airlock-2fa/offline/switch/` (unconfirmed).
    pub offline_switch: String,
    /// `POST public/authentication/airlock-2fa/otp/check/` (unconfirmed; the body key is `otp`).
    pub passcode_check: String,
    /// `POST public/authentication/airlock-2fa/qr-code/retrieve/` (unconfirmed).
    pub qr_code_retrieve: String,
    /// `POST public/authentication/password/change/` (unconfirmed).
    pub password_change: String,
    /// `POST public/logout/` (unconfirmed; the emulator's choice).
    pub logout: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        let a = |p: &str| format!("public/authentication/{p}");
        Endpoints {
            password_check: a("password/check/"),
            default_application_access: a("default-application/access/"),
            application_access: a("applications/{applicationId}/access/"),
            otp_check: a("otp/check/"),
            mobile_only_challenge_retrieve: a("airlock-2fa/mobile-only/challenge/retrieve/"),
            status_poll: a("airlock-2fa/status/poll/"),
            devices_retrieve: a("airlock-2fa/devices/retrieve/"),
            device_select: a("airlock-2fa/devices/{deviceId}/select/"),
            offline_switch: a("airlock-2fa/offline/switch/"),
            passcode_check: a("airlock-2fa/otp/check/"),
            qr_code_retrieve: a("airlock-2fa/qr-code/retrieve/"),
            password_change: a("password/change/"),
            logout: "public/logout/".into(),
        }
    }
}

/// Replaces `{name}` in `template` by the percent-encoded `value` (one path segment).
pub(crate) fn fill(template: &str, name: &str, value: &str) -> String {
    let encoded = auth_core::base_url::encode_path_segment(value);
    template.replace(&format!("{{{name}}}"), &encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_encoded() {
        let e = Endpoints::default();
        assert_eq!(
            fill(&e.device_select, "deviceId", "a/b c"),
            "public/authentication/airlock-2fa/devices/a%2Fb%20c/select/"
        );
        assert_eq!(
            fill(&e.application_access, "applicationId", "ebank"),
            "public/authentication/applications/ebank/access/"
        );
    }
}
