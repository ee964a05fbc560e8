//! # The protocol, step by step
//!
//! LogonBox Authenticator has two roles besides this client: the **credential server** (e.g.
//! `corp.logonbox.directory`) publishes each user's public keys and relays signing requests to
//! the phone; the **phone app** holds the private keys (ed25519 "LogonBox Key", or RSA "Legacy
//! RSA") and signs on approval. Keys are OpenSSH `authorized_keys` lines, identified by their
//! OpenSSH `SHA256:` fingerprint; byte structures use SSH wire encoding (RFC 4251). There is no
//! API key and no HTTP authentication: every call is anonymous, over https.
//!
//! ## Endpoints
//!
//! | call | method and path | who calls it |
//! | --- | --- | --- |
//! | key listing | `GET /app/api/authenticator/keys/{principal}` | the client ([`Client::authorized_keys`](crate::Client::authorized_keys)) |
//! | sign (direct flow) | `POST /app/api/authenticator/signPayload` (form) | the client; blocks until the user answers |
//! | sign page (redirect flow) | `GET /authenticator/sign/{blob}` | the user's browser |
//!
//! The principal is percent-encoded as one path segment, `@` kept as every official client
//! sends it. A listing starts with a `# Authorized` line; `#` comments and blank lines are
//! skipped, a line that does not parse is skipped (and logged), not fatal
//! ([`KeyListing::skipped`](crate::KeyListing::skipped)). A 404 is
//! [`Error::UnknownUser`](crate::Error::UnknownUser).
//!
//! ## The direct flow
//!
//! 1. List the user's keys and choose one ([`KeySelection`](crate::KeySelection): ed25519 first,
//!    else RSA; or the first listed, as the official SDKs do; or a fingerprint).
//! 2. Send `username`, `fingerprint`, `remoteName`, `text` (the prompt, placeholders
//!    replaced), `authorizeText`, `flags` and `payload` (128 fresh random bytes, unpadded
//!    base64url) to `signPayload`. The call waits for the user (the client's sign timeout).
//! 3. The JSON answer: `success: false` → [`Error::Server`](crate::Error::Server); an empty
//!    `signature` with `response` = `false` + message → [`Error::Rejected`](crate::Error::Rejected);
//!    otherwise the raw signature, which is verified over the payload bytes.
//!
//! | key | flags sent | signature |
//! | --- | --- | --- |
//! | `ssh-ed25519` | 0 | raw 64-byte Ed25519 over the payload |
//! | `ssh-rsa` | 4 (2 on request) | RSA PKCS#1 v1.5 with SHA-512 (SHA-256), modulus length |
//!
//! ## The redirect flow
//!
//! 1. [`Client::generate_request`](crate::Client::generate_request) lists the keys, chooses
//!    one and builds the request blob: principal, fingerprint, remote name, prompt (replaced),
//!    authorize text, flags, a 4-byte nonce, the redirect URL with its `{response}`
//!    placeholder, and 16 bytes of noise.
//! 2. The browser goes to `/authenticator/sign/{blob}` ([`Client::sign_url`](crate::Client::sign_url));
//!    the server pushes the prompt, the phone signs the **whole blob**, and the server sends
//!    the browser back to the redirect URL with `{response}` replaced by the response blob
//!    (`true`, username, fingerprint, flags, signature; or `false` and a message).
//! 3. [`Client::process_response`](crate::Client::process_response) checks the response
//!    against the request and verifies the signature over the blob with the key it fetches
//!    again.
//!
//! ## What the emulator serves
//!
//! The emulator (feature `emulator`) is a protocol model of the credential server and the
//! phone, [`emulator::Model`](crate::emulator::Model): the listing (also on the Node SDK's
//! legacy `/authorizedKeys/{principal}`), the sign call, and the sign page, a real HTML page
//! that shows the prompt while the phone has not answered and then sends the browser back. It
//! reads base64 padded or not, and writes signatures and responses padded or not (two
//! switches), as the official clients disagree on padding. The phone answers per user by a
//! [`Behaviour`](crate::emulator::Behaviour), or by hand: a request then waits, listed as
//! pending with the text the user sees, until a control command (`approve`, `deny`, `fail`,
//! `expire`) answers it or the server gives up on the model's clock. The model has no socket
//! code: [`Emulator`](crate::emulator::Emulator) serves it on a loopback port, the oob-auth
//! emulator server serves it (with TLS: the official clients speak only https), and
//! [`Emulator::in_process`](auth_core::emulator::Served::in_process) calls it with no socket.
