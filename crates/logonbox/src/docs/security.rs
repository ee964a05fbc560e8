//! # What the client checks
//!
//! An approval is never taken from anyone's word: the client verifies the phone's signature
//! itself, with a key it fetched itself from the credential server.
//!
//! ## Beyond the official SDKs
//!
//! | official behaviour | this client |
//! | --- | --- |
//! | redirect: the response's user, key and flags are not bound to the request | all three must equal the request's ([`Error::ResponseMismatch`](crate::Error::ResponseMismatch)); without it a response signed by *another* user's key over the same blob verifies |
//! | RSA falls back to SHA-1 for unknown flags (Java, Python, Node) | the flags must be the ones requested; SHA-512 (or SHA-256 on request), never SHA-1 ([`Error::UnsupportedFlags`](crate::Error::UnsupportedFlags)) |
//! | `verify()` returns `false` | [`Error::SignatureInvalid`](crate::Error::SignatureInvalid) from the call, so a caller cannot forget the check |
//! | Java asks the next key after a rejection (the user is prompted twice) | one key per authentication, the first rejection or error ends it |
//! | no timeout on the blocking sign call | the sign timeout (180 s by default) |
//! | no replay protection or expiry of pending redirect requests | [`PendingRequest`](crate::PendingRequest) is consumed by `process_response`, refused when older than 5 minutes ([`Error::RequestExpired`](crate::Error::RequestExpired)) and, on this client, once it produced an approval ([`Error::RequestAlreadyUsed`](crate::Error::RequestAlreadyUsed)) |
//! | debug logs print the sign form and the server's JSON | logs show fingerprints, skipped lines and outcomes, never payloads or signatures; text from the server is logged escaped |
//! | blank lines or a final line break break the listing (Node, Python) | tolerant listing parser |
//! | the principal is put into the path unencoded | percent-encoded as one segment (`@` kept) |
//!
//! ## Sessions
//!
//! A [`PendingRequest`](crate::PendingRequest) read back from a session store is checked
//! against its own blob (principal, fingerprint and flags must be the blob's), so a session
//! entry edited apart from the bytes the phone signs is refused. The `response` parameter is
//! accepted as base64url or standard base64, padded or not, also after URL handling turned
//! `+` into a space or left padding percent-encoded; the signature decides.
//!
//! Keep the pending request where only your server can change it, and remove it before calling
//! `process_response`. The client's own memory of approved requests is per process: it is a
//! second line of defence for sessions kept in signed cookies, not a replacement.
//!
//! ## Step-up handles
//!
//! A step-up handle carries the recorded outcome. An approval in it is verified again on every
//! check (the key is fetched again, the signature checked over the signed bytes, which start
//! with the handle's id), so an edited handle, or an approval pasted from another handle, does
//! not pass.
