//! Validated identifiers: service ids, authorization request ids, key ids.
//!
//! [`Kid`] is an [`auth_core::id_type!`]; the two UUID ids are written by hand in the same
//! style (`parse`, `as_str`, `Display`, `FromStr`, `TryFrom`, serde as a plain string, errors
//! as [`InvalidId`]), keeping the canonical lower-case hyphenated form.

use std::fmt;

use auth_core::id::InvalidId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The length of a hyphenated UUID.
const UUID_LEN: usize = 36;

/// Parses any UUID spelling into its canonical lower-case hyphenated form.
fn canonical_uuid(
    what: &'static str,
    text: &str,
) -> Result<(uuid::Uuid, [u8; UUID_LEN]), InvalidId> {
    let uuid =
        uuid::Uuid::parse_str(text.trim()).map_err(|_| InvalidId::new(what, "not a UUID"))?;
    let mut buf = [0u8; UUID_LEN];
    uuid.hyphenated().encode_lower(&mut buf);
    Ok((uuid, buf))
}

/// Writes the string-id impls shared by the two UUID ids.
macro_rules! uuid_id_impls {
    ($name:ident) => {
        impl $name {
            /// The id as sent on the wire (canonical lower-case hyphenated UUID).
            pub fn as_str(&self) -> &str {
                // Always ASCII: written by `Uuid::encode_lower`.
                std::str::from_utf8(&self.text).unwrap_or_default()
            }

            /// The UUID.
            pub fn uuid(&self) -> uuid::Uuid {
                self.uuid
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(uuid: uuid::Uuid) -> Self {
                let mut text = [0u8; UUID_LEN];
                uuid.hyphenated().encode_lower(&mut text);
                $name { uuid, text }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.as_str())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                $name::parse(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidId;
            fn try_from(s: &str) -> Result<Self, InvalidId> {
                $name::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, InvalidId> {
                $name::parse(&s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A LaunchKey service id (a UUID), shown on the wire as `svc:<uuid>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceId {
    uuid: uuid::Uuid,
    text: [u8; UUID_LEN],
}

impl ServiceId {
    /// Parses a service id (any UUID spelling; kept canonical, lower-case, hyphenated).
    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        let (uuid, text) = canonical_uuid("service id", text)?;
        Ok(ServiceId { uuid, text })
    }

    /// A service id from a UUID.
    pub fn from_uuid(uuid: uuid::Uuid) -> Self {
        Self::from(uuid)
    }

    /// The entity string used in JWT claims: `svc:<uuid>`.
    pub fn entity(&self) -> String {
        format!("svc:{}", self.as_str())
    }
}

uuid_id_impls!(ServiceId);

/// The id of an authorization request (a UUID issued by the API).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuthRequestId {
    uuid: uuid::Uuid,
    text: [u8; UUID_LEN],
}

impl AuthRequestId {
    /// Parses an authorization request id: a UUID, kept in canonical lower-case form.
    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        let (uuid, text) = canonical_uuid("auth request id", text)?;
        Ok(AuthRequestId { uuid, text })
    }
}

uuid_id_impls!(AuthRequestId);

auth_core::id_type! {
    /// A key id: for service keys the MD5 fingerprint of the DER SubjectPublicKeyInfo
    /// (`39:bc:93:…`), for API keys the opaque `X-IOV-KEY-ID` value. 1–256 visible ASCII
    /// characters.
    pub struct Kid("key id", max = 256, check = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_graphic())
            .then_some(())
            .ok_or("a key id is visible ASCII characters only")
    });
}

impl Kid {
    /// The fingerprint key id of a DER SubjectPublicKeyInfo: MD5, lower-case hex, `:`-joined.
    pub fn fingerprint(spki_der: &[u8]) -> Self {
        let digest = crate::md5::md5(spki_der);
        let parts: Vec<String> = digest.iter().map(|b| format!("{b:02x}")).collect();
        // 47 visible ASCII characters: always a valid key id.
        Kid(parts.join(":"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_validate() {
        let s = ServiceId::parse("9E4A2C8B-5D3F-4B1A-8C7E-6F5D4C3B2A19").unwrap();
        assert_eq!(s.entity(), "svc:9e4a2c8b-5d3f-4b1a-8c7e-6f5d4c3b2a19");
        assert_eq!(s.as_str(), "9e4a2c8b-5d3f-4b1a-8c7e-6f5d4c3b2a19");
        assert_eq!(
            format!("{s:?}"),
            "ServiceId(\"9e4a2c8b-5d3f-4b1a-8c7e-6f5d4c3b2a19\")"
        );
        assert_eq!(ServiceId::from(s.uuid()), s);
        assert!(ServiceId::parse("nope").is_err());
        assert_eq!(
            ServiceId::parse("nope").unwrap_err().to_string(),
            "invalid service id: not a UUID"
        );
        assert!(AuthRequestId::parse("x").is_err());
        let a = AuthRequestId::parse("A5F1D5B6-3AF0-11E7-9B43-0469F8DC10A5").unwrap();
        assert_eq!(a.as_str(), "a5f1d5b6-3af0-11e7-9b43-0469f8dc10a5");
        let back: AuthRequestId =
            serde_json::from_str("\"a5f1d5b6-3af0-11e7-9b43-0469f8dc10a5\"").unwrap();
        assert_eq!(back, a);
        assert_eq!(AuthRequestId::try_from(a.as_str()).unwrap(), a);
        assert_eq!(a.as_str().parse::<AuthRequestId>().unwrap(), a);
        assert!(serde_json::from_str::<AuthRequestId>("\"zz\"").is_err());
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            "\"9e4a2c8b-5d3f-4b1a-8c7e-6f5d4c3b2a19\""
        );
        assert!(Kid::new("").is_err());
        assert!(Kid::new("a b").is_err());
        assert!(Kid::new("k".repeat(257)).is_err());
        assert_eq!(Kid::fingerprint(b"").as_str().len(), 47);
        // Deserialising validates like `Kid::new`.
        assert!(serde_json::from_str::<Kid>("\"a b\"").is_err());
        assert!(serde_json::from_str::<Kid>("\"\"").is_err());
        let k: Kid = serde_json::from_str("\"39:bc:93\"").unwrap();
        assert_eq!(serde_json::to_string(&k).unwrap(), "\"39:bc:93\"");
    }
}
