//! Wire enums whose unknown values are kept, not rejected.
//!
//! Providers add states, factor types and error codes over time; a client that fails on a value
//! it does not know breaks the day the provider ships it. [`wire_enum!`](crate::wire_enum)
//! defines a `#[non_exhaustive]` enum with the known wire strings and an `Other(String)` arm
//! that keeps anything else as sent, (de)serialised as a plain JSON string.

/// Defines a `#[non_exhaustive]` string enum with an `Other(String)` arm for unknown values.
///
/// It gets `as_str()`, `from_wire()`, `Display`, and serde `Serialize`/`Deserialize` as a plain
/// string (the using crate needs no serde dependency of its own for it).
///
/// ```
/// auth_core::wire_enum! {
///     /// A decision.
///     pub enum Decision {
///         /// Let it through.
///         Allow => "ALLOW",
///         /// Stop it.
///         Block => "BLOCK",
///     }
/// }
///
/// let d: Decision = serde_json::from_str("\"ALLOW\"").unwrap();
/// assert_eq!(d, Decision::Allow);
/// let new: Decision = serde_json::from_str("\"QUARANTINE\"").unwrap();
/// assert_eq!(new, Decision::Other("QUARANTINE".into()));
/// assert_eq!(serde_json::to_string(&new).unwrap(), "\"QUARANTINE\"");
/// assert_eq!(Decision::Block.to_string(), "BLOCK");
/// ```
///
/// Where a provider's official SDK normalises case before comparing (LaunchKey upper-cases auth
/// method types and lower-cases policy factor types), start the body with `case_insensitive;`:
/// known values then match in any ASCII case, and unknown ones are still kept exactly as sent.
///
/// ```
/// auth_core::wire_enum! {
///     case_insensitive;
///     /// A factor.
///     pub enum Factor {
///         /// Something the user knows.
///         Knowledge => "KNOWLEDGE",
///     }
/// }
///
/// assert_eq!(Factor::from_wire("knowledge"), Factor::Knowledge);
/// assert_eq!(Factor::from_wire("Knowledge").as_str(), "KNOWLEDGE");
/// assert_eq!(Factor::from_wire("telepathy"), Factor::Other("telepathy".into()));
/// ```
#[macro_export]
macro_rules! wire_enum {
    (case_insensitive; $(#[$meta:meta])* $vis:vis enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident => $wire:literal,)*
    }) => {
        $crate::wire_enum!(@define [$(#[$meta])*] $vis $name
            [$($(#[$vmeta])* $variant => $wire,)*]
            |s| {
                $(if s.eq_ignore_ascii_case($wire) { return $name::$variant; })*
                $name::Other(s.to_owned())
            });
    };
    ($(#[$meta:meta])* $vis:vis enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident => $wire:literal,)*
    }) => {
        $crate::wire_enum!(@define [$(#[$meta])*] $vis $name
            [$($(#[$vmeta])* $variant => $wire,)*]
            |s| match s {
                $($wire => $name::$variant,)*
                other => $name::Other(other.to_owned()),
            });
    };
    (@define [$(#[$meta:meta])*] $vis:vis $name:ident
        [$($(#[$vmeta:meta])* $variant:ident => $wire:literal,)*]
        |$s:ident| $from_wire:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this crate does not know, kept as sent.
            Other(::std::string::String),
        }

        impl $name {
            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)*
                    $name::Other(s) => s,
                }
            }

            /// Maps a wire string (unknown values become `Other`; never fails).
            pub fn from_wire($s: &str) -> Self {
                $from_wire
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::wire::__serde::Serialize for $name {
            fn serialize<S: $crate::wire::__serde::Serializer>(
                &self,
                s: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::wire::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::wire::__serde::Deserializer<'de>>(
                d: D,
            ) -> ::std::result::Result<Self, D::Error> {
                let s = <::std::string::String as $crate::wire::__serde::Deserialize>::deserialize(d)?;
                ::std::result::Result::Ok($name::from_wire(&s))
            }
        }
    };
}

#[doc(hidden)]
pub use serde as __serde;
