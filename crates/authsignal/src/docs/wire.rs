//! # Reading the wire
//!
//! ## Responses
//!
//! Response bodies are camelCase on the wire, unknown fields ignored, missing optional fields
//! defaulted, unknown enum values kept.
//!
//! `null` reads as absent everywhere, as in the official SDKs: optional fields are `Option`s,
//! and lists, flags and counters take `null` as their default. Only the fields a response is
//! meaningless without are required (checked by the `null_tolerance` tests, which set every
//! field of every recorded response to `null` in turn):
//!
//! | type | required fields |
//! | --- | --- |
//! | [`TrackResponse`](crate::TrackResponse) | `idempotencyKey`, `state` |
//! | [`ActionResponse`](crate::ActionResponse), [`UpdateActionResponse`](crate::UpdateActionResponse) | `state` |
//! | [`ActionSummary`](crate::ActionSummary) | `actionCode`, `idempotencyKey`, `state` |
//! | [`MatchedRule`](crate::MatchedRule) | `ruleId` |
//! | [`UserSummary`](crate::UserSummary) | `userId` |
//! | [`UserAuthenticator`](crate::UserAuthenticator) | `userAuthenticatorId`, `verificationMethod` |
//! | [`EnrollResponse`](crate::EnrollResponse) | `authenticator` |
//! | [`ChallengeResponse`](crate::ChallengeResponse) | `challengeId` |
//! | [`ClaimResponse`](crate::ClaimResponse) | `token` |
//! | [`SessionTokens`](crate::SessionTokens) | `accessToken`, `refreshToken` |
//! | [`ValidateSessionResponse`](crate::ValidateSessionResponse) | `user` (and its `userId`) |
//! | [`Device`](crate::Device) | `deviceId` |
//!
//! ## Identifiers and secrets
//!
//! Identifiers ([`UserId`](crate::UserId), [`ActionCode`](crate::ActionCode),
//! [`IdempotencyKey`](crate::IdempotencyKey) …) are auth-core `id_type!`s: validated once when
//! you construct them (non-empty, bounded, no control characters; action codes
//! `^[a-zA-Z0-9_-]{1,64}$` as the server checks them), and decoded from the server with the
//! same rules. Every path segment is percent-encoded fully, `/` included.
//!
//! Secrets (the tenant key, tokens, OTP and recovery codes, `otpauth://` URIs, magic links)
//! have a redacted `Debug`, no `Display`, are zeroized on drop and compare in constant time.
//!
//! ## Enums and timestamps
//!
//! Wire enums keep values this crate does not know as `Other(String)`: a new state or method
//! on the server never breaks decoding. Timestamps ([`Timestamp`](crate::Timestamp)) keep the
//! text as sent and parse it on demand (the spec leaves some formats open); `/challenge`'s
//! `expiresAt` is epoch seconds ([`EpochSeconds`](crate::EpochSeconds), read leniently).
//!
//! ## Errors
//!
//! An error answer's code is `errorCode`, else `error` (Node/Java/.NET/Ruby read that one),
//! else the seed era's `message`, else `HTTP-<status>`; the description is
//! `errorDescription` (or the seed era's `message`). Both are scrubbed of the secret key and
//! of whatever secret the request carried, in every spelling a server may echo it in. A body
//! that is not JSON still maps by status.
