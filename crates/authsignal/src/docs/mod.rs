//! The long-form notes behind the crate (rustdoc only, no code): where it deliberately differs
//! from the official SDKs, how it reads the wire, and how auth-core's step-up contract maps
//! onto Authsignal's actions. The crate root is the user guide; these are the reasons.

pub mod differences;
pub mod step_up;
pub mod wire;
