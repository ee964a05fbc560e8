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
///
/// Build it with [`PollConfig::default`] or [`PollConfig::every`] and the `with_*` methods; it
/// may gain fields.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PollConfig {
    /// Wait before the second attempt (default 1 s).
    pub interval: Duration,
    /// Multiplier applied to the wait after each pending attempt (default 1.0: a fixed interval).
    pub backoff: f64,
    /// The longest wait between two attempts that the poller chooses itself (default 10 s). A
    /// server's hint may be longer: it is honoured up to the deadline.
    pub max_interval: Duration,
    /// Give up this long after the first attempt (default 5 minutes).
    pub deadline: Duration,
    /// Random spread of each wait, as a fraction (default 0.1: ±10 %), so that step-ups started
    /// together do not poll in lockstep. A server's hint is only ever lengthened by it.
    pub jitter: f64,
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            interval: Duration::from_secs(1),
            backoff: 1.0,
            max_interval: Duration::from_secs(10),
            deadline: Duration::from_secs(300),
            jitter: DEFAULT_JITTER,
        }
    }
}

/// The default spread of poll waits: ±10 %.
pub const DEFAULT_JITTER: f64 = 0.1;

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

    /// Sets the deadline.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sets the back-off multiplier and the longest self-chosen wait.
    pub fn with_backoff(mut self, backoff: f64, max_interval: Duration) -> Self {
        self.backoff = backoff;
        self.max_interval = max_interval;
        self
    }

    /// Sets the jitter fraction (0 turns it off: waits are then exact, as tests like them).
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
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
/// let cfg = PollConfig::every(Duration::from_secs(2), Duration::from_secs(60)).with_jitter(0.0);
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
        // A server's hint never shortens the interval, and is honoured beyond `max_interval`
        // up to the deadline; one that reaches past the deadline ends the wait now, saying so.
        let pause = match hint {
            Some(hint) if hint > remaining => {
                return Err(Error::HintBeyondDeadline {
                    retry_after: hint,
                    remaining,
                    attempts: n,
                }
                .into());
            }
            Some(hint) => jittered(hint.max(wait), 0.0, config.jitter),
            None => jittered(wait, config.jitter, config.jitter),
        };
        clock.sleep(pause.min(remaining)).await;
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

/// `d` spread randomly over `[d·(1-below), d·(1+above)]` (fractions clamped to 0..=0.5).
fn jittered(d: Duration, below: f64, above: f64) -> Duration {
    let clamp = |f: f64| {
        if f.is_finite() {
            f.clamp(0.0, 0.5)
        } else {
            0.0
        }
    };
    let (below, above) = (clamp(below), clamp(above));
    if below == 0.0 && above == 0.0 {
        return d;
    }
    let factor = 1.0 - below + fastrand::f64() * (below + above);
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(d)
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
        let cfg =
            PollConfig::every(Duration::from_secs(3), Duration::from_secs(10)).with_jitter(0.0);
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
            jitter: 0.0,
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
        // A hint shorter than the interval does not shorten it; a long one is honoured in
        // full (beyond max_interval), since it fits before the deadline.
        assert_eq!(secs, vec![1, 2, 4, 5, 5, 60]);
    }

    #[tokio::test]
    async fn a_zero_hint_never_makes_a_tight_loop() {
        let clock = FakeClock::at_unix(0);
        let cfg =
            PollConfig::every(Duration::from_secs(2), Duration::from_secs(20)).with_jitter(0.0);
        let r: Result<(), Error> = poll_until(&clock, &cfg, |_| async {
            Ok(PollStatus::Pending {
                retry_after: Some(Duration::ZERO),
            })
        })
        .await;
        assert!(
            matches!(r, Err(Error::DeadlineExceeded { attempts: 11, .. })),
            "{r:?}"
        );
        assert!(clock.sleeps().iter().all(|d| *d == Duration::from_secs(2)));
    }

    #[tokio::test]
    async fn a_hint_past_the_deadline_ends_the_wait_with_a_typed_error() {
        let clock = FakeClock::at_unix(0);
        let cfg = PollConfig::every(Duration::from_secs(1), Duration::from_secs(30));
        let r: Result<(), Error> = poll_until(&clock, &cfg, |n| async move {
            Ok(PollStatus::Pending {
                retry_after: (n == 2).then_some(Duration::from_secs(120)),
            })
        })
        .await;
        match r {
            Err(Error::HintBeyondDeadline {
                retry_after,
                remaining,
                attempts,
            }) => {
                assert_eq!(retry_after, Duration::from_secs(120));
                assert!(remaining < Duration::from_secs(30));
                assert_eq!(attempts, 2);
            }
            other => panic!("{other:?}"),
        }
        // It did not sleep the hint away first.
        assert!(clock.unix_seconds() < 5);
    }

    #[tokio::test]
    async fn waits_are_spread_by_jitter_and_hints_are_only_lengthened() {
        let clock = FakeClock::at_unix(0);
        let cfg = PollConfig::every(Duration::from_secs(10), Duration::from_secs(100_000));
        let r: Result<u32, Error> = poll_until(&clock, &cfg, |n| async move {
            Ok(match n {
                200 => PollStatus::Ready(n),
                n if n % 2 == 0 => PollStatus::Pending {
                    retry_after: Some(Duration::from_secs(20)),
                },
                _ => PollStatus::pending(),
            })
        })
        .await;
        assert_eq!(r.unwrap(), 200);
        let sleeps = clock.sleeps();
        let (hinted, plain): (Vec<_>, Vec<_>) = sleeps
            .iter()
            .enumerate()
            .partition(|(i, _)| (i + 1) % 2 == 0);
        for (_, d) in &plain {
            assert!(
                **d >= Duration::from_secs(9) && **d <= Duration::from_secs(11),
                "{d:?}"
            );
        }
        for (_, d) in &hinted {
            assert!(
                **d >= Duration::from_secs(20) && **d <= Duration::from_secs(22),
                "{d:?}"
            );
        }
        let distinct: std::collections::HashSet<_> = plain.iter().map(|(_, d)| **d).collect();
        assert!(distinct.len() > 10, "waits are not spread: {distinct:?}");
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
