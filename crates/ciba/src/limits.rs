//! The crate's limits and tuning constants: how long things live, how often the client asks,
//! how large an input may be. They are fixed; the builders' setters change the ones that are
//! settings ([`crate::ClientBuilder::leeway`], [`crate::ClientBuilder::request_object_lifetime`]).

use std::time::Duration;

// Client authentication, signed requests, polling.

/// How long a `private_key_jwt` client assertion is valid.
pub const CLIENT_ASSERTION_LIFETIME: Duration = Duration::from_secs(60);

/// How long a signed authentication request is valid (FAPI-CIBA allows at most 60 minutes).
pub const DEFAULT_REQUEST_OBJECT_LIFETIME: Duration = Duration::from_secs(300);

/// What `slow_down` adds to the interval (CIBA §11).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The most requests whose polling state or notification token a client keeps in memory.
pub const MAX_TRACKED_REQUESTS: usize = 10_000;

/// How long after a request's end a notification for it is still taken: an OP that sends a
/// push client `expired_token` (CIBA §12) does so once the request has ended on its clock, and
/// the delivery takes time too.
pub const LATE_NOTIFICATION_GRACE: Duration = Duration::from_secs(60);

// Authentication requests and their acknowledgement.

/// The interval to use when the OP sends none (CIBA §7.3).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// The longest `binding_message` accepted, in characters (it must fit on a phone screen; the
/// spec asks for "relatively short").
pub const MAX_BINDING_MESSAGE_CHARS: usize = 256;

/// The longest `expires_in` / `requested_expiry` honoured (a day).
pub const MAX_EXPIRY: Duration = Duration::from_secs(24 * 3600);

/// The longest `interval` honoured (an OP asking for more is clamped to this).
pub const MAX_INTERVAL: Duration = Duration::from_secs(300);

// ID tokens.

/// The largest ID token accepted, in bytes.
pub const MAX_ID_TOKEN_BYTES: usize = 16 * 1024;

/// The default leeway on `exp`, `iat` and `nbf`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

// The OP's key set.

/// How long a fetched key set is used before it is fetched again.
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(3600);

/// The most refetches for unknown kids per [`UNKNOWN_KID_WINDOW`].
pub const MAX_UNKNOWN_KID_FETCHES: usize = 5;

/// The window of [`MAX_UNKNOWN_KID_FETCHES`].
pub const UNKNOWN_KID_WINDOW: Duration = Duration::from_secs(60);

/// How long a kid that was still unknown after a refetch is not looked for again.
pub const NEGATIVE_KID_TTL: Duration = Duration::from_secs(60);

/// The most keys kept from one set (the rest are ignored).
pub const MAX_KEYS: usize = 64;

// Ping and push notifications.

/// The largest ping body accepted.
pub const MAX_PING_BODY: usize = 4 * 1024;

/// The largest push body accepted.
pub const MAX_PUSH_BODY: usize = 64 * 1024;

// Identifiers and tokens.

/// The longest bearer token accepted or generated (CIBA §7.1: at most 1024 characters).
pub const MAX_NOTIFICATION_TOKEN_LEN: usize = 1024;

/// The longest `auth_req_id` accepted.
pub const MAX_AUTH_REQ_ID_LEN: usize = 1024;

// Errors.

/// The longest error description kept.
pub const MAX_DESCRIPTION_CHARS: usize = 256;
