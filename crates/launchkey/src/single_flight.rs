//! Single-flight: concurrent callers asking for the same thing share one fetch.
//!
//! The first caller for a key (the *leader*) runs the fetch; everyone who asks for the same key
//! while it runs waits for the leader's result instead of sending a request of their own. Runtime
//! agnostic (plain wakers, no timers). If the leader's future is dropped before it finishes (its
//! caller timed out or was cancelled), the waiters are woken and one of them takes over, so
//! nobody waits forever for a fetch that no longer runs.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use auth_core::sync::lock;

use crate::Error;

/// What waiters receive: the value, or a copy of the leader's error.
type Shared<V> = Result<V, Arc<Error>>;

enum State<V> {
    Running(Vec<Waker>),
    Done(Shared<V>),
    Abandoned,
}

struct Flight<V> {
    state: Mutex<State<V>>,
}

impl<V> Flight<V> {
    fn lock(&self) -> MutexGuard<'_, State<V>> {
        lock(&self.state)
    }

    /// Settles the flight and wakes every waiter.
    fn settle(&self, state: State<V>) {
        let previous = std::mem::replace(&mut *self.lock(), state);
        if let State::Running(wakers) = previous {
            wakers.into_iter().for_each(Waker::wake);
        }
    }
}

/// Flights in progress, by key.
pub(crate) struct SingleFlight<K, V> {
    flights: Mutex<HashMap<K, Arc<Flight<V>>>>,
}

impl<K, V> Default for SingleFlight<K, V> {
    fn default() -> Self {
        SingleFlight {
            flights: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> SingleFlight<K, V> {
    fn map(&self) -> MutexGuard<'_, HashMap<K, Arc<Flight<V>>>> {
        lock(&self.flights)
    }

    /// Whether a fetch for `key` is running now.
    pub(crate) fn is_running(&self, key: &K) -> bool {
        self.map().contains_key(key)
    }

    /// Runs `fetch` for `key`, or waits for the fetch already running for it.
    ///
    /// `fetch` should look at its cache first: a caller that missed the cache just before a
    /// flight ended starts a new flight, and the cache check keeps that from costing a request.
    pub(crate) async fn run<F, Fut>(&self, key: K, fetch: F) -> Result<V, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<V, Error>>,
    {
        loop {
            let (flight, leader) = {
                let mut map = self.map();
                match map.get(&key) {
                    Some(f) => (f.clone(), false),
                    None => {
                        let f = Arc::new(Flight {
                            state: Mutex::new(State::Running(Vec::new())),
                        });
                        map.insert(key.clone(), f.clone());
                        (f, true)
                    }
                }
            };
            if leader {
                let guard = LeaderGuard {
                    owner: self,
                    key: &key,
                    flight: &flight,
                    settled: false,
                };
                let result = fetch().await;
                let shared = match &result {
                    Ok(v) => Ok(v.clone()),
                    Err(e) => Err(Arc::new(duplicate(e))),
                };
                guard.finish(State::Done(shared));
                return result;
            }
            match (Wait { flight: &flight }).await {
                Some(Ok(v)) => return Ok(v),
                Some(Err(e)) => return Err(duplicate(&e)),
                // The leader was dropped mid-fetch: try again (one waiter becomes the leader).
                None => continue,
            }
        }
    }
}

/// Settles the flight when the leader finishes, or marks it abandoned if the leader's future
/// is dropped first.
struct LeaderGuard<'a, K: Hash + Eq + Clone, V: Clone> {
    owner: &'a SingleFlight<K, V>,
    key: &'a K,
    flight: &'a Arc<Flight<V>>,
    settled: bool,
}

impl<K: Hash + Eq + Clone, V: Clone> LeaderGuard<'_, K, V> {
    fn finish(mut self, state: State<V>) {
        self.settle(state);
    }

    fn settle(&mut self, state: State<V>) {
        if self.settled {
            return;
        }
        self.settled = true;
        {
            let mut map = self.owner.map();
            if map
                .get(self.key)
                .is_some_and(|f| Arc::ptr_eq(f, self.flight))
            {
                map.remove(self.key);
            }
        }
        self.flight.settle(state);
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Drop for LeaderGuard<'_, K, V> {
    fn drop(&mut self) {
        self.settle(State::Abandoned);
    }
}

/// Waits for a flight: `Some(result)`, or `None` when its leader was dropped.
struct Wait<'a, V> {
    flight: &'a Flight<V>,
}

impl<V: Clone> Future for Wait<'_, V> {
    type Output = Option<Shared<V>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.flight.lock();
        match &mut *state {
            State::Done(result) => Poll::Ready(Some(result.clone())),
            State::Abandoned => Poll::Ready(None),
            State::Running(wakers) => {
                if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

/// A copy of `e` for a waiter (the crate's error is not `Clone`: transport errors carry their
/// source). Every variant a fetch can produce keeps its kind; a transport error keeps its kind
/// and message.
pub(crate) fn duplicate(e: &Error) -> Error {
    use auth_core::Error as Core;
    match e {
        Error::Core(core) => Error::Core(match core {
            Core::Transport(t) => {
                Core::Transport(auth_core::TransportError::new(t.kind(), t.to_string()))
            }
            Core::Status {
                status,
                body,
                request_id,
            } => Core::Status {
                status: *status,
                body: body.clone(),
                request_id: request_id.clone(),
            },
            Core::Decode {
                what,
                path,
                message,
            } => Core::Decode {
                what,
                path: path.clone(),
                message: message.clone(),
            },
            Core::Config(c) => Core::Config(c.clone()),
            Core::DeadlineExceeded { deadline, attempts } => Core::DeadlineExceeded {
                deadline: *deadline,
                attempts: *attempts,
            },
            Core::Cancelled => Core::Cancelled,
            other => Core::Transport(auth_core::TransportError::new(
                auth_core::TransportErrorKind::Other,
                other.to_string(),
            )),
        }),
        Error::InvalidKey { reason } => Error::InvalidKey {
            reason: reason.clone(),
        },
        Error::ApiKeyNotFound { kid } => Error::ApiKeyNotFound { kid: kid.clone() },
        Error::ApiKeyFetchThrottled { kid } => Error::ApiKeyFetchThrottled { kid: kid.clone() },
        Error::Unauthorized => Error::Unauthorized,
        Error::Forbidden => Error::Forbidden,
        Error::NotFound => Error::NotFound,
        Error::RateLimited { retry_after } => Error::RateLimited {
            retry_after: *retry_after,
        },
        Error::Conflict => Error::Conflict,
        Error::AuthorizationExpired => Error::AuthorizationExpired,
        Error::Api {
            status,
            code,
            detail,
        } => Error::Api {
            status: *status,
            code: code.clone(),
            detail: detail.clone(),
        },
        Error::ResponseVerification(v) => Error::ResponseVerification(v.clone()),
        Error::Decryption => Error::Decryption,
        other => Error::Core(auth_core::Error::Transport(auth_core::TransportError::new(
            auth_core::TransportErrorKind::Other,
            other.to_string(),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_fetch_and_its_error() {
        let flights: Arc<SingleFlight<u8, u32>> = Arc::new(SingleFlight::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..200 {
            let (flights, calls) = (flights.clone(), calls.clone());
            set.spawn(async move {
                flights
                    .run(1, || {
                        let calls = calls.clone();
                        async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            Ok(7)
                        }
                    })
                    .await
            });
        }
        while let Some(r) = set.join_next().await {
            assert_eq!(r.unwrap().unwrap(), 7);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(!flights.is_running(&1));

        let mut set = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let flights = flights.clone();
            set.spawn(async move {
                flights
                    .run(2, || async {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Err(Error::RateLimited {
                            retry_after: Some(Duration::from_secs(3)),
                        })
                    })
                    .await
            });
        }
        while let Some(r) = set.join_next().await {
            assert!(matches!(
                r.unwrap(),
                Err(Error::RateLimited { retry_after: Some(d) }) if d == Duration::from_secs(3)
            ));
        }
    }

    /// A leader dropped mid-fetch (its caller gave up) hands over to a waiter.
    #[tokio::test]
    async fn a_dropped_leader_hands_over() {
        let flights: Arc<SingleFlight<u8, u32>> = Arc::new(SingleFlight::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let fetch = |calls: Arc<AtomicUsize>| {
            move || {
                let calls = calls.clone();
                async move {
                    let n = calls.fetch_add(1, Ordering::SeqCst);
                    if n == 0 {
                        // The first fetch hangs; its caller times out.
                        std::future::pending::<()>().await;
                    }
                    Ok(9)
                }
            }
        };
        let leader = tokio::time::timeout(
            Duration::from_millis(50),
            flights.run(1, fetch(calls.clone())),
        );
        let waiter = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            flights.run(1, fetch(calls.clone())).await
        };
        let (l, w) = tokio::join!(leader, waiter);
        assert!(l.is_err(), "the leader timed out");
        assert_eq!(w.unwrap(), 9);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(!flights.is_running(&1));
    }
}
