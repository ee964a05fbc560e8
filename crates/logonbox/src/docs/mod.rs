//! Long-form documentation (rustdoc only, no code): what goes over the wire, what this client
//! checks beyond the official SDKs, and why it is built the way it is.
//!
//! | chapter | what |
//! | --- | --- |
//! | [`protocol`] | the two flows step by step: endpoints, keys, flags, blobs, what the emulator serves |
//! | [`security`] | every check the client makes, and the official SDKs' pitfalls it avoids |
//! | [`decisions`] | the design decisions, with the alternatives and why they lost |
//!
//! The full wire reference is `shared/specs/logonbox.md` of the oob-auth workspace.

pub mod decisions;
pub mod protocol;
pub mod security;
