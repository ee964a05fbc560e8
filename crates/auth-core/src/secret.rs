//! Secret newtypes: redacted in `Debug`, no `Display`, zeroized on drop.
//!
//! Built on [`secrecy`]: a secret is read only through [`ExposeSecret::expose_secret`], at the one
//! place that needs it, which keeps every use greppable.
//!
//! ```
//! use auth_core::secret::{ExposeSecret, SecretString};
//!
//! auth_core::secret_type! {
//!     /// An API key.
//!     pub struct ApiKey;
//! }
//!
//! let key = ApiKey::new("sk_live_123");
//! assert_eq!(format!("{key:?}"), "ApiKey([redacted])");
//! assert_eq!(key.expose_secret(), "sk_live_123");
//! ```

pub use secrecy::{ExposeSecret, SecretBox, SecretString};

/// Defines a string secret newtype with a redacted `Debug`, no `Display`, zeroize on drop,
/// `new(impl Into<String>)` and `expose_secret(&self) -> &str`.
///
/// Ending the definition with `serde` also makes it (de)serialize as a plain JSON string, for
/// secrets that are part of a wire format (tokens in responses, stored state). Opt-in, because
/// serializing exposes the value: never put such a type in anything that is logged. Ending it
/// with `eq` (or `serde, eq`) adds `PartialEq`/`Eq` through `matches`: constant time in the
/// contents.
///
/// ```
/// auth_core::secret_type! {
///     /// A session token, as the API sends it.
///     pub struct SessionToken;
///     serde, eq
/// }
///
/// let t: SessionToken = serde_json::from_str("\"tok_123\"").unwrap();
/// assert_eq!(t.expose_secret(), "tok_123");
/// assert_eq!(format!("{t:?}"), "SessionToken([redacted])");
/// assert_eq!(serde_json::to_string(&t).unwrap(), "\"tok_123\"");
/// assert!(t == SessionToken::new("tok_123") && t != SessionToken::new("tok_124"));
/// ```
#[macro_export]
macro_rules! secret_type {
    ($(#[$meta:meta])* $vis:vis struct $name:ident; serde, eq) => {
        $crate::secret_type! {
            $(#[$meta])*
            $vis struct $name;
            serde
        }
        $crate::secret_type!(@eq $name);
    };
    ($(#[$meta:meta])* $vis:vis struct $name:ident; eq) => {
        $crate::secret_type! {
            $(#[$meta])*
            $vis struct $name;
        }
        $crate::secret_type!(@eq $name);
    };
    (@eq $name:ident) => {
        /// Compares in constant time (in the contents; the lengths may show).
        impl ::std::cmp::PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.matches(other.expose_secret())
            }
        }

        impl ::std::cmp::Eq for $name {}
    };
    ($(#[$meta:meta])* $vis:vis struct $name:ident; serde) => {
        $crate::secret_type! {
            $(#[$meta])*
            $vis struct $name;
        }

        impl $crate::wire::__serde::Serialize for $name {
            fn serialize<S: $crate::wire::__serde::Serializer>(
                &self,
                s: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.expose_secret())
            }
        }

        impl<'de> $crate::wire::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::wire::__serde::Deserializer<'de>>(
                d: D,
            ) -> ::std::result::Result<Self, D::Error> {
                <::std::string::String as $crate::wire::__serde::Deserialize>::deserialize(d)
                    .map($name::new)
            }
        }
    };
    ($(#[$meta:meta])* $vis:vis struct $name:ident;) => {
        $(#[$meta])*
        #[derive(Clone)]
        $vis struct $name($crate::secret::SecretString);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                $name($crate::secret::SecretString::from(value.into()))
            }

            /// The secret value. Use it only where it must be sent or computed with.
            pub fn expose_secret(&self) -> &str {
                $crate::secret::ExposeSecret::expose_secret(&self.0)
            }

            /// Compares with a presented value in constant time (in its content; the length
            /// may show).
            #[allow(dead_code)]
            pub fn matches(&self, presented: &str) -> bool {
                $crate::secret::constant_time_eq(self.expose_secret().as_bytes(), presented.as_bytes())
            }
        }


        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl ::std::convert::From<String> for $name {
            fn from(value: String) -> Self {
                $name::new(value)
            }
        }

        impl ::std::convert::From<&str> for $name {
            fn from(value: &str) -> Self {
                $name::new(value)
            }
        }
    };
}

/// Secret bytes (keys, PINs, CEKs): redacted `Debug`, zeroized on drop.
#[derive(Clone)]
pub struct SecretBytes(SecretBox<[u8]>);

impl SecretBytes {
    /// Wraps secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        SecretBytes(SecretBox::from(bytes.into().into_boxed_slice()))
    }

    /// The secret bytes. Use them only where they must be computed with.
    pub fn expose_secret(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// How many bytes.
    pub fn len(&self) -> usize {
        self.expose_secret().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBytes([redacted])")
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(value: Vec<u8>) -> Self {
        SecretBytes::new(value)
    }
}

/// Compares two byte strings in time that depends on their lengths only, not on where they
/// differ: for secrets presented by a caller (webhook tokens, notification tokens, PINs).
///
/// ```
/// use auth_core::secret::constant_time_eq;
///
/// assert!(constant_time_eq(b"s3cret", b"s3cret"));
/// assert!(!constant_time_eq(b"s3cret", b"s3creT"));
/// assert!(!constant_time_eq(b"s3cret", b"s3cre"));
/// ```
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keep the optimiser from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::secret_type! {
        /// Test secret.
        pub struct Token;
    }

    #[test]
    fn debug_is_redacted() {
        let t = Token::new("hunter2-very-secret");
        let dbg = format!("{t:?} {:?}", vec![t.clone()]);
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("[redacted]"));
        assert_eq!(t.expose_secret(), "hunter2-very-secret");

        let b = SecretBytes::new(b"pin-1234".to_vec());
        let dbg = format!("{b:?}");
        assert!(!dbg.contains("pin"), "{dbg}");
        assert_eq!(b.expose_secret(), b"pin-1234");
        assert_eq!(b.len(), 8);
    }

    #[test]
    fn secrets_are_scrubbed_from_error_bodies() {
        let err = crate::Error::status(
            401,
            b"{\"error\":\"bad key sk_live_abc\"}",
            &["sk_live_abc"],
        );
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("sk_live_abc"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }
}
