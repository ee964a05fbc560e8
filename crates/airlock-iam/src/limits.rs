//! The numbers the client lives by: rate-limit hints, cookie and input limits.

/// How long polling waits after a 429 that carried no `Retry-After`, and the longest
/// `Retry-After` an [`Error::RateLimited`](crate::Error::RateLimited) reports: auth-core's, the
/// same in every provider crate.
pub use auth_core::retry::{MAX_RETRY_AFTER, RATE_LIMIT_BACKOFF};

/// Most cookies one flow's [`CookieJar`](crate::CookieJar) keeps (older ones are evicted first).
pub const MAX_COOKIES: usize = 50;

/// Longest cookie `name=value` pair accepted (RFC 6265 §6.1 minimum).
pub const MAX_COOKIE_BYTES: usize = 4096;

/// The most bytes of a code that error messages show: an unknown code longer than this is cut
/// (with `…`) in every `Display` of an [`Error`](crate::Error) or
/// [`ErrorDocument`](crate::ErrorDocument), so a hostile server cannot blow up error messages.
/// The code itself is kept whole (`as_str`).
pub const DISPLAY_LIMIT: usize = 128;

/// The longest user name, password or OTP accepted before sending (a guard against mistakes,
/// not an Airlock rule).
pub const MAX_INPUT_BYTES: usize = 1024;
