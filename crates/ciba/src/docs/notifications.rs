//! # The client notification endpoint (CIBA §9, §10.2, §10.3, §12)
//!
//! Ping callbacks, pushed token responses and push error payloads all carry
//! `Authorization: Bearer <client_notification_token>`, the token the client sent with the
//! request. A notification is parsed from the header and the **raw body bytes**
//! ([`PingNotification::parse`](crate::PingNotification::parse),
//! [`PushNotification::parse`](crate::PushNotification::parse)), its `auth_req_id` (untrusted so
//! far) picks the pending request, and
//! [`PingNotification::verify`](crate::PingNotification::verify) /
//! [`PushNotification::verify`](crate::PushNotification::verify) compare the bearer token with
//! that request's token in constant time. Only a verified notification is acted on: a verified
//! ping by one token request ([`Client::fetch_after_ping`](crate::Client::fetch_after_ping)), a
//! verified push by validating the ID token, `at_hash`, `rt_hash` and the `auth_req_id` claim
//! ([`Client::accept_push`](crate::Client::accept_push)).
//!
//! [`Client::handle_ping`](crate::Client::handle_ping) and
//! [`Client::handle_push`](crate::Client::handle_push) do all of it with the requests this
//! client started (kept in memory, at most
//! [`MAX_TRACKED_REQUESTS`](crate::limits::MAX_TRACKED_REQUESTS)); an application with several
//! instances keeps each request's token with the request and uses the steps above.
//!
//! Answer `204` on success and
//! [`NotificationError::http_status`](crate::NotificationError::http_status) on a notification
//! error. Bodies are bounded ([`MAX_PING_BODY`](crate::limits::MAX_PING_BODY),
//! [`MAX_PUSH_BODY`](crate::limits::MAX_PUSH_BODY)). In production the endpoint must be
//! `https://` (OPs refuse anything else). See `examples/callbacks_axum.rs`.
