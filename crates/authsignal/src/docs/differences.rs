//! # Where this crate differs from the official SDKs (deliberately)
//!
//! The spec (`shared/specs/authsignal.md`) records what each official SDK does; where they
//! disagree with each other or with safe behaviour, this crate chose:
//!
//! | topic | official SDKs | this crate |
//! | --- | --- | --- |
//! | retries | Node/Java/.NET retry any request that got no response (a second SMS); Python/Go/PHP never retry | at most 2 retries (≈100 ms, 200 ms) of `GET`/`DELETE`, `/sessions/validate`, and track — which **always** carries an idempotency key (yours or a fresh UUID), so a retry finds the same action. OTP challenges, claims, sessions, enrolments are sent once |
//! | timeouts | Python 4.x's never applies (hangs forever); Node/Java/.NET none | always on: 5 s connect, 10 s per request |
//! | path parameters | unencoded (Node/Go/Java/.NET), `/` left raw (Python 4.x) | every segment percent-encoded, `/` included; action codes validated (`^[a-zA-Z0-9_-]{1,64}$`) |
//! | error code | `error` (Node/Java/.NET/Ruby) or `errorCode` (Python/Go/PHP) | `errorCode`, else `error`, else the seed era's `message`, else `HTTP-<status>`; typed by status and code |
//! | transport errors | Python: `ApiException` with `None` fields; Node: fake status 500 | a distinct transport error, never a made-up status |
//! | webhook comparison | `===` / `==` (all but Go) | constant time, one HMAC per configured secret, at most [`MAX_SIGNATURES`](crate::webhook::MAX_SIGNATURES) `v2` values and 4096 header bytes |
//! | webhook timestamp | only too-old rejected; tolerance ≤ 0 disables | within the tolerance **either way** (default 5 min); disabling is [`WebhookVerifier::insecure_disable_timestamp_check`](crate::webhook::WebhookVerifier::insecure_disable_timestamp_check); an empty secret never verifies |
//! | webhook `v2` padding | Node strips one `=`, others all | the unpadded and the padded form both accepted |
//! | validate | token sent, answer trusted | [`ValidateChallengeRequest::new`](crate::ValidateChallengeRequest::new) always sends the expected user and action, and an answer for another user or action is [`Error::TokenMismatch`](crate::Error::TokenMismatch) |
//! | update user | `PATCH` (Node/Python/Go/.NET/PHP), `POST` (Java/Ruby, seed `identify`) | `PATCH` ([`Client::identify`](crate::Client::identify) is an alias) |
//! | get challenge | `POST /challenges` (Java/.NET), double `/v1` (Go) | `GET /challenges?…` as Node |
//! | `redirectToSettings` | Go sends `null`, .NET `false` by default | omitted unless set |
//! | response media type | Python 4.x crashes on `application/json; charset=utf-8` | any media type parsed as JSON |
//! | UK region | third-party READMEs only | no [`Region`](crate::Region) variant; reachable with [`ClientBuilder::base_url`](crate::ClientBuilder::base_url) |
//! | secrets | key in a header; tokens, OTPs, recovery codes in bodies | the key and the ready-made `Basic` value live in zeroizing secret types; `Debug` never shows the key, tokens, OTP or recovery codes, magic links, webhook payload values (only their shape), nor the query of the challenge URLs; they are scrubbed from error texts — raw, JSON-escaped, percent-encoded or base64, as a server may echo them |
//!
//! The spec left some points open; the emulator and this crate take the tolerant reading:
//! re-tracking with a known key returns the stored action (never assumed to be new); a bad
//! token at `/validate` may be a 200 with `isValid: false` or a 4xx (both handled); success is
//! `isValid == true` only; timestamps are kept raw and parsed on demand; track's `crypto`
//! amounts (Go only) are sent as whatever JSON value you give ([`TrackCrypto`](crate::TrackCrypto)); `PATCH
//! /users/{u}/devices/{d}` ([`Client::update_device`](crate::Client::update_device)) is in the docs but in no SDK.
