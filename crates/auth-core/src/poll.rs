//! "Poll until settled": interval, back-off, server hints and an overall deadline.
//!
//! Dropping the future cancels the polling (nothing runs in the background). When the deadline
//! passes, [`poll_until`] stops with [`Error::DeadlineExceeded`] (converted into the caller's
//! error type).

use std::future::Future;
use std::time::Duration;

use crate::{Clock, Error};

/// The answer of one polling attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PollStatus<T> {
    /// Settled: stop polling with this value.
    Ready(T),
    /// Not yet; the server may hint how long to wait.
    Pending {
        /// The server's hint (e.g. `Retry-After`), used instead of the interval when given.
        retry_after: Option<Duration>,
    },
}

impl<T> PollStatus<T> {
    /// Pending, without a hint.
    pub fn pending() -> Self {
        PollStatus::Pending { retry_after: None }
    }
}

/// How to poll.
#[derive(Debug, Clone, PartialEq)]
pub struct PollConfig {
    /// Wait before the second attempt (default 1 s).
    pub interval: Duration,
    /// Multiplier applied to the wait after each pending attempt (default 1.0: a fixed interval).
    pub backoff: f64,
    /// The longest wait between two attempts (default 10 s).
    pub max_interval: Duration,
    /// Give up this long after the first attempt (default 5 minutes).
    pub deadline: Duration,
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            interval: Duration::from_secs(1),
            backoff: 1.0,
            max_interval: Duration::from_secs(10),
            deadline: Duration::from_secs(300),
        }
    }
}

impl PollConfig {
    /// A fixed interval with the given deadline.
    pub fn every(interval: Duration, deadline: Duration) -> Self {
        PollConfig {
            interval,
            deadline,
            max_interval: interval.max(Duration::from_secs(10)),
            ..PollConfig::default()
        }
    }
}

/// Calls `attempt` (with the 1-based attempt number) until it returns [`PollStatus::Ready`] or an
/// error, sleeping on `clock` in between; gives up with [`Error::DeadlineExceeded`] once the
/// deadline has passed (one last attempt is made at the deadline).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use auth_core::clock::FakeClock;
/// use auth_core::poll::{poll_until, PollConfig, PollStatus};
/// use std::time::Duration;
///
/// let clock = FakeClock::at_unix(0);
/// let cfg = PollConfig::every(Duration::from_secs(2), Duration::from_secs(60));
/// let value: Result<u32, auth_core::Error> = poll_until(&clock, &cfg, |n| async move {
///     Ok(if n < 3 { PollStatus::pending() } else { PollStatus::Ready(n) })
/// })
/// .await;
/// assert_eq!(value.unwrap(), 3);
/// assert_eq!(clock.sleeps(), vec![Duration::from_secs(2); 2]);
/// # }
/// ```
pub async fn poll_until<T, E, F, Fut>(
    clock: &dyn Clock,
    config: &PollConfig,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<PollStatus<T>, E>>,
    E: From<Error>,
{
    let started = clock.now();
    let elapsed = |c: &dyn Clock| c.now().duration_since(started).unwrap_or(Duration::ZERO);
    let mut wait = config.interval;
    let mut n: u32 = 1;
    loop {
        let hint = match attempt(n).await? {
            PollStatus::Ready(value) => return Ok(value),
            PollStatus::Pending { retry_after } => retry_after,
        };
        let spent = elapsed(clock);
        if spent >= config.deadline {
            return Err(Error::DeadlineExceeded {
                deadline: config.deadline,
                attempts: n,
            }
            .into());
        }
        let remaining = config.deadline - spent;
        let pause = hint.unwrap_or(wait).min(config.max_interval).min(remaining);
        clock.sleep(pause).await;
        wait = scale(wait, config.backoff).min(config.max_interval);
        n = n.saturating_add(1);
    }
}

/// Like [`poll_until`], but stops with [`Error::Cancelled`] as soon as `cancel` completes (a
/// user pressed "cancel", a shutdown signal, a oneshot receiver…), even mid-attempt or
/// mid-sleep.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use auth_core::clock::SystemClock;
/// use auth_core::poll::{poll_until_cancelled, PollConfig, PollStatus};
/// use std::time::Duration;
///
/// let cfg = PollConfig::every(Duration::from_millis(10), Duration::from_secs(60));
/// let cancel = tokio::time::sleep(Duration::from_millis(30));
/// let r: Result<(), auth_core::Error> =
///     poll_until_cancelled(&SystemClock, &cfg, cancel, |_| async { Ok(PollStatus::pending()) })
///         .await;
/// assert!(matches!(r, Err(auth_core::Error::Cancelled)));
/// # }
/// ```
pub async fn poll_until_cancelled<T, E, F, Fut, C>(
    clock: &dyn Clock,
    config: &PollConfig,
    cancel: C,
    attempt: F,
) -> Result<T, E>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<PollStatus<T>, E>>,
    E: From<Error>,
    C: Future,
{
    let mut polling = std::pin::pin!(poll_until(clock, config, attempt));
    let mut cancel = std::pin::pin!(cancel);
    std::future::poll_fn(|cx| {
        if cancel.as_mut().poll(cx).is_ready() {
            return std::task::Poll::Ready(Err(Error::Cancelled.into()));
        }
        polling.as_mut().poll(cx)
    })
    .await
}

fn scale(d: Duration, factor: f64) -> Duration {
    if !factor.is_finite() || factor <= 1.0 {
        return d;
    }
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;

    #[tokio::test]
    async fn stops_at_deadline_with_typed_error() {
        let clock = FakeClock::at_unix(0);
        let cfg = PollConfig::every(Duration::from_secs(3), Duration::from_secs(10));
        let r: Result<(), Error> =
            poll_until(&clock, &cfg, |_| async { Ok(PollStatus::pending()) }).await;
        match r {
            Err(Error::DeadlineExceeded { deadline, attempts }) => {
                assert_eq!(deadline, Duration::from_secs(10));
                // t=0, 3, 6, 9, 10 (last attempt at the deadline)
                assert_eq!(attempts, 5);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(clock.unix_seconds(), 10);
    }

    #[tokio::test]
    async fn backoff_hints_and_cap() {
        let clock = FakeClock::at_unix(0);
        let cfg = PollConfig {
            interval: Duration::from_secs(1),
            backoff: 2.0,
            max_interval: Duration::from_secs(5),
            deadline: Duration::from_secs(100),
        };
        let r: Result<u32, Error> = poll_until(&clock, &cfg, |n| async move {
            Ok(match n {
                1..=4 => PollStatus::pending(),
                5 => PollStatus::Pending {
                    retry_after: Some(Duration::from_secs(4)),
                },
                6 => PollStatus::Pending {
                    retry_after: Some(Duration::from_secs(60)),
                },
                _ => PollStatus::Ready(n),
            })
        })
        .await;
        assert_eq!(r.unwrap(), 7);
        let secs: Vec<u64> = clock.sleeps().iter().map(|d| d.as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 5, 4, 5]);
    }

    #[tokio::test]
    async fn errors_stop_polling() {
        let clock = FakeClock::at_unix(0);
        let cfg = PollConfig::default();
        let r: Result<(), Error> =
            poll_until(&clock, &cfg, |_| async { Err(Error::Cancelled) }).await;
        assert!(matches!(r, Err(Error::Cancelled)));
        assert!(clock.sleeps().is_empty());
    }

    #[tokio::test]
    async fn a_cancel_future_stops_polling() {
        let clock = FakeClock::at_unix(0);
        let cfg = PollConfig::every(Duration::from_secs(1), Duration::from_secs(60));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let mut tx = Some(tx);
        let r: Result<(), Error> = poll_until_cancelled(&clock, &cfg, rx, |n| {
            if n == 3
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(());
            }
            async { Ok(PollStatus::pending()) }
        })
        .await;
        assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
        assert!(clock.sleeps().len() <= 3);

        // A settled poll wins over a cancel future that never completes.
        let r: Result<u32, Error> =
            poll_until_cancelled(&clock, &cfg, std::future::pending::<()>(), |n| async move {
                Ok(if n < 2 {
                    PollStatus::pending()
                } else {
                    PollStatus::Ready(n)
                })
            })
            .await;
        assert_eq!(r.unwrap(), 2);
    }

    #[tokio::test]
    async fn dropping_the_future_cancels() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU32, Ordering};
        let calls = Arc::new(AtomicU32::new(0));
        let c2 = calls.clone();
        let clock = crate::clock::SystemClock;
        let cfg = PollConfig::every(Duration::from_millis(5), Duration::from_secs(60));
        let fut = poll_until::<(), Error, _, _>(&clock, &cfg, move |_| {
            let c = c2.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                Ok(PollStatus::pending())
            }
        });
        let _ = tokio::time::timeout(Duration::from_millis(40), fut).await;
        let seen = calls.load(Ordering::SeqCst);
        assert!(seen >= 1);
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            seen,
            "polling went on after drop"
        );
    }
}
