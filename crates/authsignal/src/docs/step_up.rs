//! # Step-up on Authsignal
//!
//! auth-core's provider-neutral [`StepUp`](auth_core::StepUp) contract, implemented by
//! [`Client`](crate::Client): track → challenge in the browser → get action / validate.
//!
//! [`StepUp::start`](auth_core::StepUp::start) tracks the configured action (default `stepUp`, see
//! [`ClientBuilder::step_up_action`](crate::ClientBuilder::step_up_action)) with the request's
//! title and message as `custom` data, and says what comes next from the rules' decision:
//!
//! | decision | [`Started`](auth_core::Started) |
//! | --- | --- |
//! | `CHALLENGE_REQUIRED` | `Redirect { url }`: send the browser to the pre-built challenge UI |
//! | `ALLOW` (also a challenge rule for a user without authenticators) | `Settled`, approved |
//! | `BLOCK` | `Settled`, denied |
//! | `REVIEW_REQUIRED` | `Pending`: an operator decides ([`Client::update_action`](crate::Client::update_action)) |
//!
//! The handle's `id` is the action's idempotency key; its `state` holds the action code, so a
//! serialized handle can be checked by another process (the handle is portable).
//! [`StepUp::check`](auth_core::StepUp::check) reads the action back:
//!
//! | action state | outcome |
//! | --- | --- |
//! | `ALLOW`, `CHALLENGE_SUCCEEDED`, `REVIEW_SUCCEEDED` | `Approved` (evidence: state, method, rule ids) |
//! | `CHALLENGE_REQUIRED`, `REVIEW_REQUIRED` | pending (`Expired` once the handle's TTL passed) |
//! | `BLOCK`, `CHALLENGE_FAILED`, `REVIEW_FAILED` | `Denied` |
//! | anything else | `Failed` |
//!
//! A 429 (after the transport's retries) is [`Error::RateLimited`](crate::Error::RateLimited), which auth-core's
//! [`StepUp::check`](auth_core::StepUp::check) turns into "still pending", with the server's `Retry-After` as the hint.
//!
//! When the user comes back from the pre-built UI with `?token=`, prefer
//! [`Client::finish_step_up`](crate::Client::finish_step_up), which validates the token server-side for the handle's user and
//! action.
//!
//! The handle lives as long as the track token by default (10 minutes); a
//! [`StepUpRequest`](auth_core::StepUpRequest)'s `ttl` sets another.
