//! Long-form documentation (rustdoc only, no code).
//!
//! | chapter | what |
//! | --- | --- |
//! | [`step_up`] | [`auth_core::StepUp`] on Airlock: a step-up is an application access; the portable handle |
//! | [`decisions`] | for every point the spec leaves unconfirmed, what the client does |

pub mod decisions;
pub mod step_up;
