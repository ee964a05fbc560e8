//! An injectable clock: everything time-based in the workspace reads time and sleeps through it.
//!
//! JWT `iat`/`exp` checks, OCRA time steps, TTLs, lock-outs, retry back-off and polling all take
//! a [`Clock`], so a test can use a [`FakeClock`] and move time instead of waiting for it.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

/// A source of the current time and a way to wait.
#[async_trait]
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;

    /// Waits for `duration` (on a [`FakeClock`], moves time forward instead).
    async fn sleep(&self, duration: Duration);

    /// Seconds since the Unix epoch (negative before it).
    fn unix_seconds(&self) -> i64 {
        match self.now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        }
    }
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// The system clock; sleeps on the tokio timer.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// The system clock as a [`SharedClock`].
pub fn system_clock() -> SharedClock {
    Arc::new(SystemClock)
}

/// A clock for tests: time stands still until [`FakeClock::advance`] or a `sleep` moves it.
///
/// Clones share the same time, so a test keeps one clone and hands another to the client.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use auth_core::clock::{Clock, FakeClock};
/// use std::time::Duration;
///
/// let clock = FakeClock::at_unix(1_700_000_000);
/// clock.sleep(Duration::from_secs(90)).await; // returns at once
/// assert_eq!(clock.unix_seconds(), 1_700_000_090);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FakeClock {
    now: Arc<Mutex<SystemTime>>,
    slept: Arc<Mutex<Vec<Duration>>>,
}

impl FakeClock {
    /// A fake clock at the given time.
    pub fn new(now: SystemTime) -> Self {
        FakeClock {
            now: Arc::new(Mutex::new(now)),
            slept: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// A fake clock at the given Unix time in seconds.
    pub fn at_unix(seconds: u64) -> Self {
        FakeClock::new(UNIX_EPOCH + Duration::from_secs(seconds))
    }

    /// Moves time forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }

    /// Sets the time.
    pub fn set(&self, to: SystemTime) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }

    /// The fake time (the same as [`Clock::now`], without importing the trait).
    pub fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every duration passed to `sleep` so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.slept.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[async_trait]
impl Clock for FakeClock {
    fn now(&self) -> SystemTime {
        FakeClock::now(self)
    }

    async fn sleep(&self, duration: Duration) {
        self.slept
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(duration);
        self.advance(duration);
        // Let other tasks run, as a real sleep would.
        YieldOnce(false).await;
    }
}

/// Returns `Pending` once (waking itself), then `Ready`: a runtime-independent yield.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fake_clock_moves_only_when_told() {
        let c = FakeClock::at_unix(100);
        let shared: SharedClock = Arc::new(c.clone());
        assert_eq!(shared.unix_seconds(), 100);
        c.advance(Duration::from_secs(5));
        assert_eq!(shared.unix_seconds(), 105);
        shared.sleep(Duration::from_millis(1500)).await;
        assert_eq!(c.sleeps(), vec![Duration::from_millis(1500)]);
        assert_eq!(shared.unix_seconds(), 106);
    }

    #[test]
    fn unix_seconds_before_epoch_is_negative() {
        let c = FakeClock::new(UNIX_EPOCH - Duration::from_secs(10));
        assert_eq!(c.unix_seconds(), -10);
    }
}
