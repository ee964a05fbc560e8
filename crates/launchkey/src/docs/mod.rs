//! Long-form documentation (rustdoc only, no code): how the client protects every call, why it
//! is built the way it is, and what its cryptography costs.
//!
//! | chapter | what |
//! | --- | --- |
//! | [`security`] | the transport: request tokens, encrypted bodies, response verification, key caches, retries |
//! | [`decisions`] | the design decisions, with the alternatives and why they lost |
//! | [`performance`] | what a call and a webhook cost, measured with criterion |

pub mod decisions;
pub mod performance;
pub mod security;
