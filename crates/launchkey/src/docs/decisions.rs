//! # Design decisions
//!
//! ## JOSE in-house, on aws-lc-rs
//!
//! The platform needs exactly two JOSE shapes: compact JWS `RS256/384/512` and compact JWE
//! `RSA-OAEP`/`RSA-OAEP-256` with `A256CBC-HS512`. [`crate::hazmat`] implements just those
//! (with an allow-list checked before any cryptography, the tag checked in constant time before
//! decrypting, one undifferentiated decryption error, and zeroized content keys) over aws-lc-rs.
//! Rejected:
//!
//! * `rsa`: RUSTSEC-2023-0071 (timing leak on private-key operations); `deny.toml` bans it;
//! * `ring`: no RSA-OAEP, no AES-CBC, and a second C crypto library next to AWS-LC;
//! * `jsonwebtoken`: no JWE, and its crypto-provider selection panics when unconfigured or
//!   doubly configured;
//! * `josekit` (OpenSSL), `biscuit` (ring, no OAEP), `jwt-simple` and `compact_jwt` (`rsa`).
//!
//! ## MD5, in-house, for key ids only
//!
//! A service key's id is the MD5 of its DER SubjectPublicKeyInfo (the platform's format). MD5
//! here fingerprints a *public* key — no secret is hashed, so constant time does not matter;
//! aws-lc-rs exposes no MD5 in its safe API, and the `md-5` crate would add six crates for ~50
//! lines. It is covered by the RFC 1321 suite and by key ids computed independently with
//! Python `cryptography` (`fixtures/launchkey/independent/kids.json`).
//!
//! ## One way to say each failure
//!
//! A status the platform gives a meaning to has its own [`Error`](crate::Error) variant (401,
//! 403, 404, 408, 409, 429 and every `error_code`); anything else — 5xx included, which the
//! Python SDK re-raises as a raw HTTP error — is the shared
//! [`auth_core::Error::Status`]. Converting an `auth_core::Error` applies the same rule, so a
//! 401 is never sometimes `Unauthorized` and sometimes `Core(Status 401)`.
//!
//! ## Server time, not local time
//!
//! Request tokens live 5 seconds, so they are dated on the server's clock (ping offset), as the
//! SDKs do; response tokens are checked against it too, with a 30-second leeway (Python's; Java
//! uses 5 s). After a 401 the offset is refreshed and the call signed once more.
//!
//! ## Webhook replay protection is opt-in
//!
//! The official SDKs check only `exp`. A replay cache (keyed by `jti` until `exp` plus leeway)
//! lives in one client and its clones; a service with several instances needs a shared store,
//! so it is off unless asked for.
