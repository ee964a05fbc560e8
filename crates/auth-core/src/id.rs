//! Identifier newtypes, validated once at construction (after octocrab's `id_type!` and
//! oauth2-rs's `new_type!`).
//!
//! [`id_type!`](crate::id_type) defines a string identifier: non-empty, no control characters,
//! bounded length, and optionally the provider's own rule. It gets `new`, `as_str`,
//! `into_string`, `Debug`, `Display`, `FromStr`, `TryFrom<&str>`/`TryFrom<String>`,
//! `AsRef<str>`, and serde as a plain string (decoding applies the same rules).

use std::fmt;

/// An identifier that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {reason}")]
pub struct InvalidId {
    /// What it should have been (`"user id"`, `"auth request id"`…).
    pub what: &'static str,
    /// Why it is not.
    pub reason: String,
}

impl InvalidId {
    /// Builds the error.
    pub fn new(what: &'static str, reason: impl fmt::Display) -> Self {
        InvalidId {
            what,
            reason: reason.to_string(),
        }
    }
}

impl From<InvalidId> for crate::ConfigError {
    fn from(e: InvalidId) -> Self {
        crate::ConfigError::Invalid {
            name: e.what,
            reason: e.reason,
        }
    }
}

impl From<InvalidId> for crate::Error {
    fn from(e: InvalidId) -> Self {
        crate::Error::Config(e.into())
    }
}

/// The rules every [`id_type!`](crate::id_type) applies: non-empty, at most `max` bytes, no
/// control characters.
pub fn check_id(what: &'static str, value: &str, max: usize) -> Result<(), InvalidId> {
    if value.is_empty() {
        return Err(InvalidId::new(what, "must not be empty"));
    }
    if value.len() > max {
        return Err(InvalidId::new(
            what,
            format!("longer than {max} bytes ({} bytes)", value.len()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(InvalidId::new(what, "must not contain control characters"));
    }
    Ok(())
}

/// Defines a validated string identifier newtype.
///
/// ```
/// auth_core::id_type! {
///     /// A user's id.
///     pub struct UserId("user id", max = 64);
/// }
/// auth_core::id_type! {
///     /// A lower-case hex key id.
///     pub struct KeyId("key id", max = 40, check = |s: &str| {
///         s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
///             .then_some(())
///             .ok_or("lower-case hex only")
///     });
/// }
///
/// let u = UserId::new("usr_ada").unwrap();
/// assert_eq!(u.as_str(), "usr_ada");
/// assert_eq!(format!("{u:?}"), "UserId(\"usr_ada\")");
/// assert!(UserId::new("").is_err());
/// assert!(KeyId::new("ABC").is_err());
/// let k: KeyId = serde_json::from_str("\"0af3\"").unwrap();
/// assert_eq!(k.to_string(), "0af3");
/// assert!(serde_json::from_str::<KeyId>("\"zz\"").is_err());
/// ```
#[macro_export]
macro_rules! id_type {
    ($(#[$meta:meta])* $vis:vis struct $name:ident($what:literal, max = $max:expr);) => {
        $crate::id_type! {
            $(#[$meta])*
            $vis struct $name($what, max = $max, check = |_: &str| -> ::std::result::Result<(), &'static str> { Ok(()) });
        }
    };
    ($(#[$meta:meta])* $vis:vis struct $name:ident($what:literal, max = $max:expr, check = $check:expr);) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis struct $name(::std::string::String);

        impl $name {
            /// Validates and wraps an identifier.
            pub fn new(
                value: impl ::std::convert::Into<::std::string::String>,
            ) -> ::std::result::Result<Self, $crate::id::InvalidId> {
                let value = value.into();
                $crate::id::check_id($what, &value, $max)?;
                let check: fn(&str) -> ::std::result::Result<(), &'static str> = $check;
                check(&value).map_err(|reason| $crate::id::InvalidId::new($what, reason))?;
                ::std::result::Result::Ok($name(value))
            }

            /// The identifier as sent on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The identifier as an owned string.
            pub fn into_string(self) -> ::std::string::String {
                self.0
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::std::convert::AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::id::InvalidId;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                $name::new(s)
            }
        }

        impl ::std::convert::TryFrom<&str> for $name {
            type Error = $crate::id::InvalidId;
            fn try_from(s: &str) -> ::std::result::Result<Self, Self::Error> {
                $name::new(s)
            }
        }

        impl ::std::convert::TryFrom<::std::string::String> for $name {
            type Error = $crate::id::InvalidId;
            fn try_from(s: ::std::string::String) -> ::std::result::Result<Self, Self::Error> {
                $name::new(s)
            }
        }

        impl $crate::wire::__serde::Serialize for $name {
            fn serialize<S: $crate::wire::__serde::Serializer>(
                &self,
                s: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> $crate::wire::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::wire::__serde::Deserializer<'de>>(
                d: D,
            ) -> ::std::result::Result<Self, D::Error> {
                let s = <::std::string::String as $crate::wire::__serde::Deserialize>::deserialize(d)?;
                $name::new(s).map_err(<D::Error as $crate::wire::__serde::de::Error>::custom)
            }
        }
    };
}
