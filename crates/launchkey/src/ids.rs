//! Validated identifiers: service ids, authorization request ids, key ids.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Error;

/// A LaunchKey service id (a UUID), shown on the wire as `svc:<uuid>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ServiceId(uuid::Uuid);

impl ServiceId {
    /// Parses a service id (any UUID spelling; stored canonical, lower-case, hyphenated).
    pub fn parse(text: &str) -> Result<Self, Error> {
        uuid::Uuid::parse_str(text.trim())
            .map(ServiceId)
            .map_err(|_| {
                auth_core::ConfigError::Invalid {
                    name: "service_id",
                    reason: "not a UUID".into(),
                }
                .into()
            })
    }

    /// A service id from a UUID.
    pub fn from_uuid(id: uuid::Uuid) -> Self {
        ServiceId(id)
    }

    /// The UUID.
    pub fn uuid(&self) -> uuid::Uuid {
        self.0
    }

    /// The entity string used in JWT claims: `svc:<uuid>`.
    pub fn entity(&self) -> String {
        format!("svc:{}", self.0.hyphenated())
    }
}

impl fmt::Debug for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceId({})", self.0.hyphenated())
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

impl std::str::FromStr for ServiceId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        ServiceId::parse(s)
    }
}

/// The id of an authorization request (a UUID issued by the API).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AuthRequestId(String);

impl AuthRequestId {
    /// Parses an authorization request id: a UUID, kept in canonical lower-case form.
    pub fn parse(text: &str) -> Result<Self, Error> {
        uuid::Uuid::parse_str(text.trim())
            .map(|u| AuthRequestId(u.hyphenated().to_string()))
            .map_err(|_| Error::InvalidRequest {
                field: "auth_request",
                reason: "not a UUID".into(),
            })
    }

    /// The id as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AuthRequestId {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        AuthRequestId::parse(&value)
    }
}

impl From<AuthRequestId> for String {
    fn from(value: AuthRequestId) -> Self {
        value.0
    }
}

impl fmt::Debug for AuthRequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthRequestId({})", self.0)
    }
}

impl fmt::Display for AuthRequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for AuthRequestId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        AuthRequestId::parse(s)
    }
}

/// A key id: for service keys the MD5 fingerprint of the DER SubjectPublicKeyInfo
/// (`39:bc:93:…`), for API keys the opaque `X-IOV-KEY-ID` value.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Kid(String);

impl TryFrom<String> for Kid {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        Kid::new(&value)
    }
}

impl From<Kid> for String {
    fn from(value: Kid) -> Self {
        value.0
    }
}

impl Kid {
    /// Wraps a key id as received (non-empty, at most 256 visible ASCII characters).
    pub fn new(text: &str) -> Result<Self, Error> {
        if text.is_empty() || text.len() > 256 || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(auth_core::ConfigError::Invalid {
                name: "kid",
                reason: "a key id is 1-256 visible ASCII characters".into(),
            }
            .into());
        }
        Ok(Kid(text.to_owned()))
    }

    /// The fingerprint key id of a DER SubjectPublicKeyInfo: MD5, lower-case hex, `:`-joined.
    pub fn fingerprint(spki_der: &[u8]) -> Self {
        let digest = crate::md5::md5(spki_der);
        let parts: Vec<String> = digest.iter().map(|b| format!("{b:02x}")).collect();
        Kid(parts.join(":"))
    }

    /// The key id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kid({})", self.0)
    }
}

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_validate() {
        let s = ServiceId::parse("9E4A2C8B-5D3F-4B1A-8C7E-6F5D4C3B2A19").unwrap();
        assert_eq!(s.entity(), "svc:9e4a2c8b-5d3f-4b1a-8c7e-6f5d4c3b2a19");
        assert!(ServiceId::parse("nope").is_err());
        assert!(AuthRequestId::parse("x").is_err());
        let a = AuthRequestId::parse("A5F1D5B6-3AF0-11E7-9B43-0469F8DC10A5").unwrap();
        assert_eq!(a.as_str(), "a5f1d5b6-3af0-11e7-9b43-0469f8dc10a5");
        let back: AuthRequestId =
            serde_json::from_str("\"a5f1d5b6-3af0-11e7-9b43-0469f8dc10a5\"").unwrap();
        assert_eq!(back, a);
        assert!(serde_json::from_str::<AuthRequestId>("\"zz\"").is_err());
        assert!(Kid::new("").is_err());
        assert!(Kid::new("a b").is_err());
        assert_eq!(Kid::fingerprint(b"").as_str().len(), 47);
        // Deserialising validates like `Kid::new`.
        assert!(serde_json::from_str::<Kid>("\"a b\"").is_err());
        assert!(serde_json::from_str::<Kid>("\"\"").is_err());
        let k: Kid = serde_json::from_str("\"39:bc:93\"").unwrap();
        assert_eq!(serde_json::to_string(&k).unwrap(), "\"39:bc:93\"");
    }
}
