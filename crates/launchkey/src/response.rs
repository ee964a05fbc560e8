//! Authorization responses: the package the API returns (poll or webhook), the device package
//! inside it, and the derived [`AuthorizationResponse`].

use serde::Deserialize;

use crate::hazmat::jwe::ParsedJwe;
use crate::hazmat::rsa_oaep;
use crate::keys::ServicePrivateKey;
use crate::policy::ResponsePolicy;
use crate::{AuthRequestId, Error};

auth_core::wire_enum! {
    /// The device package `type`.
    pub enum AuthResponseType {
        /// The user approved.
        Authorized => "AUTHORIZED",
        /// The user (or the policy) denied.
        Denied => "DENIED",
        /// The authorization failed (sensor, configuration…).
        Failed => "FAILED",
    }
}

auth_core::wire_enum! {
    /// The device package `reason`.
    pub enum AuthResponseReason {
        /// Approved.
        Approved => "APPROVED",
        /// The user said no.
        Disapproved => "DISAPPROVED",
        /// The user flagged the request as fraud.
        Fraudulent => "FRAUDULENT",
        /// The policy could not be met.
        Policy => "POLICY",
        /// The device lacks a permission.
        Permission => "PERMISSION",
        /// An authentication factor failed.
        Authentication => "AUTHENTICATION",
        /// A configuration problem.
        Configuration => "CONFIGURATION",
        /// The device was busy with another request.
        BusyLocal => "BUSY_LOCAL",
        /// A sensor failed.
        Sensor => "SENSOR",
    }
}

auth_core::wire_enum! {
    case_insensitive;
    /// An authentication method on the device. Matched in any case, as the official SDK
    /// upper-cases it before comparing (`"pin_code"` is [`AuthMethodType::PinCode`]).
    pub enum AuthMethodType {
        /// PIN code.
        PinCode => "PIN_CODE",
        /// Circle code.
        CircleCode => "CIRCLE_CODE",
        /// Geofencing.
        Geofencing => "GEOFENCING",
        /// Locations.
        Locations => "LOCATIONS",
        /// Wearables.
        Wearables => "WEARABLES",
        /// Fingerprint.
        Fingerprint => "FINGERPRINT",
        /// Face.
        Face => "FACE",
    }
}

/// How one authentication method fared on the device.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct AuthMethod {
    /// The method.
    pub method: AuthMethodType,
    /// Set up by the user.
    #[serde(default)]
    pub set: Option<bool>,
    /// Active.
    #[serde(default)]
    pub active: Option<bool>,
    /// Allowed by the policy.
    #[serde(default)]
    pub allowed: Option<bool>,
    /// Supported by the device.
    #[serde(default)]
    pub supported: Option<bool>,
    /// Required by the user.
    #[serde(default)]
    pub user_required: Option<bool>,
    /// Passed.
    #[serde(default)]
    pub passed: Option<bool>,
    /// Errored.
    #[serde(default)]
    pub error: Option<bool>,
}

/// The response package ("core"): poll body and webhook body.
///
/// `service_user_hash`, `user_push_id` and `public_key_id` are required (as in the official
/// SDKs); every other field may be absent or `null`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CorePackage {
    #[serde(default)]
    pub auth: Option<String>,
    #[serde(default)]
    pub auth_jwe: Option<String>,
    pub service_user_hash: String,
    #[serde(default)]
    pub org_user_hash: Option<String>,
    pub user_push_id: String,
    pub public_key_id: String,
}

/// The decrypted `auth_jwe`. Only `auth_request` is required; `null` is the same as absent
/// for every other field.
#[derive(Deserialize)]
pub(crate) struct DevicePackage {
    #[serde(rename = "type", default)]
    kind: Option<AuthResponseType>,
    #[serde(default)]
    reason: Option<AuthResponseReason>,
    #[serde(default)]
    denial_reason: Option<String>,
    auth_request: String,
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    service_pins: Vec<String>,
    #[serde(default)]
    auth_policy: Option<ResponsePolicy>,
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    auth_methods: Vec<AuthMethod>,
}

/// The decrypted legacy `auth` package: `auth_request` and `response` are required.
#[derive(Deserialize)]
pub(crate) struct LegacyDevicePackage {
    auth_request: String,
    response: bool,
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    service_pins: Vec<String>,
}

/// A user's answer to an authorization request, decrypted and checked.
///
/// `Debug` shows how many service PINs there are, never the PINs.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct AuthorizationResponse {
    /// The request this answers (as the device package says).
    pub authorization_request_id: String,
    /// Approved: `type == AUTHORIZED` **and** `reason == APPROVED` (fail closed); for a legacy
    /// package, its `response` flag.
    pub authorized: bool,
    /// The raw `type` (absent in legacy packages).
    pub response_type: Option<AuthResponseType>,
    /// The raw `reason` (absent in legacy packages).
    pub reason: Option<AuthResponseReason>,
    /// The denial reason id the user picked, if any.
    pub denial_reason: Option<String>,
    /// The user flagged the request as fraud (`reason == FRAUDULENT`).
    pub fraud: bool,
    /// The device that answered.
    pub device_id: Option<String>,
    /// Rotating service PINs from the device.
    pub service_pins: Vec<String>,
    /// The user's hash for this service (stable, opaque).
    pub service_user_hash: String,
    /// The user's hash for the organisation.
    pub organization_user_hash: Option<String>,
    /// The User Push ID.
    pub user_push_id: String,
    /// The policy the device evaluated.
    pub policy: Option<ResponsePolicy>,
    /// Per-method details.
    pub auth_methods: Vec<AuthMethod>,
    /// Whether this came from the legacy RSA `auth` package (no type/reason).
    pub legacy_package: bool,
}

impl std::fmt::Debug for AuthorizationResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationResponse")
            .field("authorization_request_id", &self.authorization_request_id)
            .field("authorized", &self.authorized)
            .field("response_type", &self.response_type)
            .field("reason", &self.reason)
            .field("denial_reason", &self.denial_reason)
            .field("fraud", &self.fraud)
            .field("device_id", &self.device_id)
            .field(
                "service_pins",
                &format_args!("[{} redacted]", self.service_pins.len()),
            )
            .field("service_user_hash", &self.service_user_hash)
            .field("organization_user_hash", &self.organization_user_hash)
            .field("user_push_id", &self.user_push_id)
            .field("policy", &self.policy)
            .field("auth_methods", &self.auth_methods)
            .field("legacy_package", &self.legacy_package)
            .finish()
    }
}

impl AuthorizationResponse {
    /// The request id as a validated [`AuthRequestId`].
    pub fn request_id(&self) -> Result<AuthRequestId, Error> {
        Ok(AuthRequestId::parse(&self.authorization_request_id)?)
    }
}

fn find_key<'k>(keys: &'k [ServicePrivateKey], kid: &str) -> Option<&'k ServicePrivateKey> {
    keys.iter().find(|k| k.kid().as_str() == kid)
}

fn kid_of(text: &str) -> String {
    text.chars().take(64).collect()
}

/// Decrypts a compact JWE with the service key it names (every key when it names none).
pub(crate) fn decrypt_jwe(keys: &[ServicePrivateKey], token: &[u8]) -> Result<Vec<u8>, Error> {
    let text = std::str::from_utf8(token).map_err(|_| Error::Decryption)?;
    let jwe = ParsedJwe::parse(text)?;
    match jwe.kid() {
        Some(kid) => {
            let key = find_key(keys, kid)
                .ok_or_else(|| Error::ServiceKeyNotFound { kid: kid_of(kid) })?;
            Ok(jwe.decrypt(key.decrypter())?)
        }
        None => keys
            .iter()
            .find_map(|k| jwe.decrypt(k.decrypter()).ok())
            .ok_or(Error::Decryption),
    }
}

/// Turns a core package into an [`AuthorizationResponse`], decrypting `auth_jwe` (preferred) or
/// the legacy `auth`.
pub(crate) fn decode_core(
    keys: &[ServicePrivateKey],
    core: CorePackage,
) -> Result<AuthorizationResponse, Error> {
    if let Some(jwe) = core.auth_jwe.as_deref().filter(|s| !s.is_empty()) {
        // The device package carries the service PINs: wipe the plaintext once parsed.
        let plain = zeroize::Zeroizing::new(decrypt_jwe(keys, jwe.as_bytes())?);
        let dp: DevicePackage = auth_core::json::from_slice("device package", &plain)?;
        let authorized = dp.kind == Some(AuthResponseType::Authorized)
            && dp.reason == Some(AuthResponseReason::Approved);
        let fraud = dp.reason == Some(AuthResponseReason::Fraudulent);
        return Ok(AuthorizationResponse {
            authorization_request_id: dp.auth_request,
            authorized,
            response_type: dp.kind,
            reason: dp.reason,
            denial_reason: dp.denial_reason,
            fraud,
            device_id: dp.device_id,
            service_pins: dp.service_pins,
            service_user_hash: core.service_user_hash,
            organization_user_hash: core.org_user_hash,
            user_push_id: core.user_push_id,
            policy: dp.auth_policy,
            auth_methods: dp.auth_methods,
            legacy_package: false,
        });
    }
    let Some(auth) = core.auth.as_deref() else {
        return Err(auth_core::Error::decode(
            "authorization response",
            "auth",
            "neither auth_jwe nor auth present",
        )
        .into());
    };
    let key = find_key(keys, &core.public_key_id).ok_or_else(|| Error::ServiceKeyNotFound {
        kid: kid_of(&core.public_key_id),
    })?;
    let plain = rsa_oaep::decrypt_legacy_auth(key, auth)?;
    let dp: LegacyDevicePackage = auth_core::json::from_slice("legacy device package", &plain)?;
    Ok(AuthorizationResponse {
        authorization_request_id: dp.auth_request,
        authorized: dp.response,
        response_type: None,
        reason: None,
        denial_reason: None,
        fraud: false,
        device_id: dp.device_id,
        service_pins: dp.service_pins,
        service_user_hash: core.service_user_hash,
        organization_user_hash: core.org_user_hash,
        user_push_id: core.user_push_id,
        policy: None,
        auth_methods: Vec::new(),
        legacy_package: true,
    })
}

/// What a poll found.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AuthorizationPoll {
    /// No answer yet (also what the API says for an unknown id).
    Pending,
    /// The user answered.
    Responded(Box<AuthorizationResponse>),
    /// The request expired without an answer (HTTP 408).
    TimedOut,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The official SDK upper-cases auth method types before comparing; `type` and `reason` it
    /// compares as sent (so a lower-case `authorized` stays unknown and never approves).
    #[test]
    fn method_types_match_in_any_case() {
        let m: Vec<AuthMethod> = serde_json::from_value(json!([
            {"method": "pin_code", "passed": true},
            {"method": "Wearables", "passed": null},
            {"method": "iris"},
        ]))
        .unwrap();
        assert_eq!(m[0].method, AuthMethodType::PinCode);
        assert_eq!(m[0].method.as_str(), "PIN_CODE");
        assert_eq!(m[1].method, AuthMethodType::Wearables);
        assert_eq!(m[2].method, AuthMethodType::Other("iris".into()));
        assert_eq!(
            AuthResponseType::from_wire("authorized"),
            AuthResponseType::Other("authorized".into())
        );
    }
}
