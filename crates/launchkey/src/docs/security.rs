//! # How every call is protected
//!
//! Every call is made the way the platform expects (the `launchkey.md` protocol spec, after the
//! official SDKs 4.x):
//!
//! * requests carry `Authorization: IOV-JWT <jws>` (RS512 by default; RS256/RS384 selectable)
//!   with `iss`/`sub` = `svc:<id>`, `aud` = `lka`, a 5-second lifetime on the **server's** clock
//!   (from `GET /public/v3/ping`, cached [`OFFSET_TTL`](crate::limits::OFFSET_TTL)), a fresh
//!   `jti`, and a `request` claim binding method, path and the SHA-256 of the exact body bytes;
//! * request bodies are compact JWEs (`RSA-OAEP-256` by default, `RSA-OAEP` selectable, with
//!   `A256CBC-HS512`) to the API's current public key (cached
//!   [`CURRENT_KEY_TTL`](crate::limits::CURRENT_KEY_TTL); keys seen are kept by kid, at most
//!   [`MAX_CACHED_API_KEYS`](crate::limits::MAX_CACHED_API_KEYS));
//! * every response's `X-IOV-JWT` is verified before the body is touched: allow-listed
//!   algorithm, signature under the API key its `kid` names (an unknown kid is fetched from the
//!   configured base URL), `iss`, `aud`, `sub`, times
//!   ([`DEFAULT_LEEWAY`](crate::limits::DEFAULT_LEEWAY)), the `jti` echo, `response.status`
//!   equal to the HTTP status, the body hash, and the `Location` and `Cache-Control` claims.
//!   Response bodies are decrypted with the service key their `kid` names;
//! * a 2xx body of a signed call must be a JWE (the Python SDK guesses plain JSON first; we
//!   do not); a 4xx body may be either, its integrity being covered by the response hash;
//! * the ping, the current API key and each key by kid are fetched single-flight: concurrent
//!   callers share one request and its result. A kid named by a response to the client's own
//!   signed call is always fetched; a kid named by unauthenticated input (a webhook) is first
//!   looked for in the current key (the platform signs webhooks with it, at most once per
//!   [`CURRENT_KEY_RECHECK`](crate::limits::CURRENT_KEY_RECHECK)), misses are remembered for
//!   [`NEGATIVE_KID_TTL`](crate::limits::NEGATIVE_KID_TTL), and at most
//!   [`MAX_KID_FETCHES_PER_WINDOW`](crate::limits::MAX_KID_FETCHES_PER_WINDOW) other unknown
//!   kids per [`KID_FETCH_WINDOW`](crate::limits::KID_FETCH_WINDOW) are fetched — so junk
//!   webhooks naming random kids cannot starve genuine webhooks or the client's own calls;
//! * a 429 is [`Error::RateLimited`](crate::Error::RateLimited) with the server's
//!   `Retry-After` (at most [`MAX_RETRY_AFTER`](crate::limits::MAX_RETRY_AFTER));
//!   [`Client::wait_for_response`](crate::Client::wait_for_response) and
//!   [`auth_core::StepUp::check`] keep polling after it, never faster than the poll interval;
//! * only `GET`s are retried (on transport errors, 429 and 503), each attempt with a freshly
//!   signed token; `POST` calls are never retried on transport errors or 429/5xx (a create
//!   pushes to a phone); after a 401 — which the API answers before acting — a call is signed
//!   again once with a freshly pinged server time. Redirects are never followed; `http://`
//!   base URLs are accepted for loopback addresses only;
//! * webhooks: the token is read from `X-IOV-JWT`, else `Authorization: IOV-JWT …`; its
//!   `request.meth`, `request.path` and body hash must match the request received; the kind is
//!   told by `Content-Type` (not by a substring of the body, as in the Python SDK). Replayed
//!   tokens can be refused with
//!   [`ClientBuilder::reject_replayed_webhooks`](crate::ClientBuilder::reject_replayed_webhooks).
//!
//! All RSA private-key operations run in AWS-LC (aws-lc-rs): blinded, constant-time OAEP
//! decryption and PKCS#1 v1.5 signing. The JOSE code ([`crate::hazmat`]) is tested against
//! RFC 7518 App. B.3, Wycheproof, and fixtures made independently with Python `jwcrypto`.
//! Every JWE decryption failure is the same [`Error::Decryption`](crate::Error::Decryption).
//! Private keys, tokens and decrypted packages never appear in `Debug`, `Display` or errors.
//!
//! ## Where we are stricter than the official SDKs
//!
//! | official behaviour | ours |
//! | --- | --- |
//! | Python 4.0.1 does not compare `response.status` with the HTTP status | enforced |
//! | Java checks `aud` but not `sub` of the response JWT | `iss`, `aud`, `sub`, `jti`, times |
//! | Python skips response-JWT verification on 401 | a 401 is [`Error::Unauthorized`](crate::Error::Unauthorized) and nothing else |
//! | Java/.NET: `authorized` = `type == AUTHORIZED` | also `reason == APPROVED` |
//! | nobody checks the device package's `auth_request` | a poll's must equal the id polled ([`Error::AuthRequestMismatch`](crate::Error::AuthRequestMismatch)) |
//! | a testing switch that turns TLS verification off | none |
