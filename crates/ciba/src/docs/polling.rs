//! # Polling rules
//!
//! * Never faster than `interval` (5 s when the OP sends none), counted from the previous token
//!   request — also when [`auth_core::StepUp::wait`] is called with a shorter `PollConfig`:
//!   [`Client::poll_once`](crate::Client::poll_once) and `check` return `Pending` with the time left instead of sending.
//! * `slow_down` adds 5 s to the interval for the rest of that request.
//! * Never after `expires_in`: the request ends as [`Outcome::Expired`](crate::Outcome::Expired) without asking.
//! * `authorization_pending` waits; `expired_token`, `access_denied`, `transaction_failed`
//!   are outcomes; `invalid_grant`, `invalid_client` and the rest are [`Error::Provider`](crate::Error::Provider).
//! * Retries: the backchannel request (it makes a phone ring) is sent **once**. A token request
//!   is sent once too (had the OP issued the tokens, a repeat would only get `invalid_grant`);
//!   the poll loop asks again at the next interval only after errors that show the OP did not
//!   process the request — connection refused, 429, 503, honouring `Retry-After` — never after
//!   a timeout. Discovery and JWKS fetches are `GET`s and follow the retry policy.
