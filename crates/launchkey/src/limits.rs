//! The numbers the client and requests live by: cache lifetimes, leeways, rate-limit budgets
//! and the request field limits the API enforces.

use std::time::Duration;

/// How long the server-time offset is trusted.
pub const OFFSET_TTL: Duration = Duration::from_secs(300);
/// How long the "current API key" is trusted before it is fetched again.
pub const CURRENT_KEY_TTL: Duration = Duration::from_secs(300);
/// Default leeway for response and webhook token times.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// How long an unknown API kid is remembered as unknown.
pub const NEGATIVE_KID_TTL: Duration = Duration::from_secs(60);
/// The most API keys kept by kid.
pub const MAX_CACHED_API_KEYS: usize = 32;
/// The most fetches of *unknown* API kids named by unauthenticated input (webhooks,
/// [`Client::api_key`](crate::Client::api_key)) per [`KID_FETCH_WINDOW`]: anyone can send a webhook naming a
/// random kid, and without a budget each one would cost a request to the API. Kids named by
/// responses to the client's own signed calls are fetched without spending it, so junk
/// webhooks cannot starve the client's own calls.
pub const MAX_KID_FETCHES_PER_WINDOW: usize = 10;
/// How often an unknown kid from unauthenticated input may make the client fetch the API's
/// current key again (the platform signs webhooks with it, so a genuine webhook after a key
/// rotation is resolved this way without spending the unknown-kid budget).
pub const CURRENT_KEY_RECHECK: Duration = Duration::from_secs(30);
/// The window of [`MAX_KID_FETCHES_PER_WINDOW`].
pub const KID_FETCH_WINDOW: Duration = Duration::from_secs(60);

/// The longest `Retry-After` a [`Error::RateLimited`](crate::Error::RateLimited) reports, and how
/// long polling waits after a 429 that carries none: auth-core's, the same in every provider.
pub use auth_core::retry::{MAX_RETRY_AFTER, RATE_LIMIT_BACKOFF};

/// Shortest allowed time to live.
pub const MIN_TTL: Duration = Duration::from_secs(30);
/// Longest allowed time to live.
pub const MAX_TTL: Duration = Duration::from_secs(600);
/// The API's default time to live.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// Longest `context`, in Unicode scalar values.
pub const MAX_CONTEXT_CHARS: usize = 400;
/// Longest `title`, in Unicode scalar values.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest `push_title` / `push_body` / denial reason text accepted locally.
pub const MAX_PUSH_CHARS: usize = 400;
/// Longest username accepted locally.
pub const MAX_USERNAME_CHARS: usize = 256;
