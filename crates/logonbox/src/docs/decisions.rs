//! # Design decisions
//!
//! | decision | alternatives | why |
//! | --- | --- | --- |
//! | the client takes the credential server's **base URL** (`https://corp.logonbox.directory`) | host + port + scheme, as the SDKs do | one way for every oob-auth provider ([`auth_core::Config`], [`auth_core::IntoBaseUrl`]); the port and scheme are in the URL; plain http only for loopback |
//! | redirect mode's default key: ed25519 first, else RSA (Java's rule) | PHP: the last one; Python: RSA first | ed25519 is the app's preferred algorithm, RSA is legacy; Python's rule looks like a bug |
//! | the prompt is replaced before it goes into the redirect blob (PHP's behaviour) | the raw template (Java, Python, Node) | correct whether or not the server substitutes placeholders |
//! | `payload` and the request blob as unpadded base64url | padded (Java, Python) | no `=` to form-encode; the Node/PHP wire |
//! | step-up `start` blocks and settles ([`Capabilities::start_blocks`](auth_core::stepup::Capabilities::start_blocks)) | a background task and a pending handle | LogonBox has no "check later" call; a background task would not survive the process, the recorded handle does |
//! | the SSH wire format in a small bounds-checked module, fuzzed | `ssh-key` | `ssh-key` is still a release candidate; the encoding needed is tiny |
//! | one crypto backend, aws-lc-rs | `ed25519-dalek`, `rsa` | the same AWS-LC rustls builds; `rsa` has an open timing advisory |
//! | a 429 is [`Error::RateLimited`](crate::Error::RateLimited) with the `Retry-After` (at most an hour) | the shared status error | a step-up check turns it into "pending, with the server's hint" |
//! | an error status on the sign call is the shared status error (its JSON `message` kept in the body) | a crate-level server error with the message | one way to say "HTTP 500"; [`Error::Server`](crate::Error::Server) is the protocol's own `success: false` |
