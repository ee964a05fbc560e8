//! Long-form documentation (rustdoc only, no code): the rules the client keeps and how it
//! maps onto the specifications.
//!
//! | chapter | what |
//! | --- | --- |
//! | [`polling`] | when token requests go, `slow_down`, expiry, retries |
//! | [`validation`] | what an ID token must pass, and the OP's key set cache |
//! | [`notifications`] | the client notification endpoint (ping and push), with several instances |
//! | [`spec`] | CIBA Core 1.0 section by section, FAPI-CIBA, and what is left out on purpose |

pub mod notifications;
pub mod polling;
pub mod spec;
pub mod validation;
