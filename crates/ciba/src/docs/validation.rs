//! # ID token validation (OIDC Core §3.1.3.7, CIBA §10.1.1 and §10.3.1)
//!
//! [`IdTokenVerifier::verify`](crate::IdTokenVerifier::verify) checks, in order: the compact
//! JWS shape and size, no `crit` header, the `alg` against the allow-list (never `none` or
//! `HS*`), the key (by `kid`, or the only candidate when there is none) and the signature, then
//! `iss` (exactly the OP's issuer), `aud` (contains the client id), `azp` (required with several
//! audiences, and the client id when present), `sub`, `exp` and `iat` / `nbf` with leeway on the
//! client's clock, and, as the delivery mode requires ([`Expected`](crate::Expected)),
//! `at_hash`, `rt_hash` (required in push mode, checked when present otherwise) and the
//! `urn:openid:params:jwt:claim:auth_req_id` claim (required in push mode, checked when present
//! otherwise).
//!
//! ## The OP's key set
//!
//! The client fetches the OP's JWKS ([`KeySet`](crate::KeySet)) once, keeps it for
//! [`JWKS_MAX_AGE`](crate::limits::JWKS_MAX_AGE), and refetches early when a token names a
//! `kid` it does not hold (the OP rotated its keys). Refetches are **single-flight**
//! (concurrent verifications that need one share one request) and **bounded**: at most
//! [`MAX_UNKNOWN_KID_FETCHES`](crate::limits::MAX_UNKNOWN_KID_FETCHES) per
//! [`UNKNOWN_KID_WINDOW`](crate::limits::UNKNOWN_KID_WINDOW), and a `kid` still unknown after a
//! refetch is remembered for [`NEGATIVE_KID_TTL`](crate::limits::NEGATIVE_KID_TTL) — a token
//! naming random kids cannot turn the client into a request amplifier.
