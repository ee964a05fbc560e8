//! Retries: only what is safe to repeat, only when repeating may help.
//!
//! A request is *replayable* when its method is safe or idempotent (`GET`, `HEAD`, `OPTIONS`,
//! `DELETE`, `PUT`) or when the caller vouches that it carries an idempotency key
//! ([`Replay::IdempotencyKey`]). Anything else — a `POST` that creates an authorization request
//! and pushes to a phone — is sent exactly once, whatever happens.
//!
//! A replayable request is retried on connection errors, timeouts, 429 and 503, honouring
//! `Retry-After` (seconds or HTTP date; never shorter than the back-off, bounded by the call's
//! overall deadline), otherwise with full-jitter exponential back-off.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method, StatusCode};

/// Whether a request may be sent more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Replay {
    /// Decide by method: `GET`, `HEAD`, `OPTIONS`, `DELETE` and `PUT` may be repeated.
    ByMethod,
    /// The request carries an idempotency key the server honours, so repeating it cannot
    /// create a second resource.
    IdempotencyKey,
    /// The request has no side effect whatever its method (a status poll sent as `POST`), so
    /// it may be repeated.
    SideEffectFree,
    /// Never repeat, whatever the method.
    Never,
}

impl Replay {
    /// Whether a request with this method may be sent again.
    pub fn allows(self, method: &Method) -> bool {
        match self {
            Replay::ByMethod => matches!(
                *method,
                Method::GET | Method::HEAD | Method::OPTIONS | Method::DELETE | Method::PUT
            ),
            Replay::IdempotencyKey | Replay::SideEffectFree => true,
            Replay::Never => false,
        }
    }
}

/// How often and how long to retry.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Back-off before the first retry; doubles each time.
    pub base_delay: Duration,
    /// The longest back-off the policy chooses itself (a server's `Retry-After` may be longer;
    /// the call's overall deadline bounds it).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Whether a response status may succeed on retry.
    pub fn retryable_status(status: StatusCode) -> bool {
        status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
    }

    /// The delay before retry number `retry` (1-based): full jitter over
    /// `base_delay * 2^(retry-1)` (capped at `max_delay`, never below half of it), or the
    /// server's `Retry-After` when that is longer.
    ///
    /// A hint never shortens the back-off (a `Retry-After: 0` does not make a tight loop), and
    /// it is not cut at `max_delay`: the server knows best. What bounds it is the call's overall
    /// deadline, which the transport checks: a hint that reaches past it ends the retries.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
            .min(self.max_delay);
        let millis = u64::try_from(exp.as_millis()).unwrap_or(u64::MAX);
        // Full jitter, but never less than half the back-off so retries do not bunch up.
        let backoff = Duration::from_millis(millis / 2 + fastrand::u64(0..=millis / 2));
        match retry_after {
            Some(hint) => hint.max(backoff),
            None => backoff,
        }
    }
}

/// The longest `Retry-After` a provider's rate-limit error reports (a larger or far-future
/// value is cut to it): one hour.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// How long a poller waits after a 429 that named no `Retry-After` (the server asked to slow
/// down without saying how much).
pub const RATE_LIMIT_BACKOFF: Duration = Duration::from_secs(5);

/// A 429's `Retry-After` ([`retry_after`]), cut to [`MAX_RETRY_AFTER`]: what a provider's
/// rate-limit error holds.
pub fn rate_limit_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    retry_after(headers, now).map(|d| d.min(MAX_RETRY_AFTER))
}

/// The poll hint of a 429, one rule for every provider (its error's
/// [`Classify::retry_after`](crate::Classify::retry_after)): the server's `Retry-After` as it
/// is; `Retry-After: 0` gives no hint, so the poll interval applies and a poller never spins;
/// none at all gives [`RATE_LIMIT_BACKOFF`].
///
/// ```
/// use std::time::Duration;
/// use auth_core::retry::{RATE_LIMIT_BACKOFF, rate_limit_hint};
///
/// assert_eq!(rate_limit_hint(Some(Duration::from_secs(7))), Some(Duration::from_secs(7)));
/// assert_eq!(rate_limit_hint(Some(Duration::ZERO)), None);
/// assert_eq!(rate_limit_hint(None), Some(RATE_LIMIT_BACKOFF));
/// ```
pub fn rate_limit_hint(retry_after: Option<Duration>) -> Option<Duration> {
    match retry_after {
        Some(d) if d.is_zero() => None,
        Some(d) => Some(d),
        None => Some(RATE_LIMIT_BACKOFF),
    }
}

/// Reads a `Retry-After` header: delta-seconds or an HTTP date (relative to `now`).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_rules() {
        assert!(Replay::ByMethod.allows(&Method::GET));
        assert!(Replay::ByMethod.allows(&Method::DELETE));
        assert!(!Replay::ByMethod.allows(&Method::POST));
        assert!(!Replay::ByMethod.allows(&Method::PATCH));
        assert!(Replay::IdempotencyKey.allows(&Method::POST));
        assert!(Replay::SideEffectFree.allows(&Method::POST));
        assert!(!Replay::Never.allows(&Method::GET));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let d1 = p.delay(1, None);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = p.delay(3, None);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            assert!(p.delay(30, None) <= Duration::from_secs(1));
        }
        // A long hint is honoured as it is (the call's deadline bounds it, not max_delay).
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(60))),
            Duration::from_secs(60)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_millis(300))),
            Duration::from_millis(300)
        );
        // A zero (or short) hint never shortens the back-off.
        for _ in 0..50 {
            assert!(p.delay(1, Some(Duration::ZERO)) >= Duration::from_millis(50));
            assert!(p.delay(3, Some(Duration::from_millis(1))) >= Duration::from_millis(200));
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let mut h = HeaderMap::new();
        h.insert(http::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        h.insert(http::header::RETRY_AFTER, later.parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert(http::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h, now), None);
    }
}
