//! The numbers the client lives by: rate-limit hints and input limits.

use std::time::Duration;

/// How long polling waits after a 429 that carried no `Retry-After` (the same rule in every
/// provider crate).
pub const RATE_LIMIT_BACKOFF: Duration = Duration::from_secs(5);

/// The longest `Retry-After` an [`Error::RateLimited`](crate::Error::RateLimited) reports (a
/// larger or far-future value is clamped to it).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// The longest user name, password or OTP accepted before sending (a guard against mistakes,
/// not an Airlock rule).
pub const MAX_INPUT_BYTES: usize = 1024;
