//! Outgoing deliveries: the HTTP requests a provider sends on its own (Authsignal's webhooks,
//! CIBA's ping and push notifications, LaunchKey's webhooks). A model has no sockets: it queues
//! them, and the server sends them, as the real provider would.
//!
//! After every request a provider answers and every control command it runs, and every
//! [`TICK`] for a model that queues on its own time ([`Outbox::ticks`]: a CIBA push client is
//! told when a request's time runs out), the server takes what the model queued
//! ([`Outbox::take`]) and hands it to one background task per provider,
//! which sends the requests one at a time, in order. Taking and queueing never wait, so the
//! answer that caused a delivery is never held up by it. The queue is bounded
//! ([`QUEUE_CAPACITY`]): beyond it a delivery is dropped, and said so. No redirect is followed;
//! a failure or a non-2xx answer is written to standard error and kept in the provider's
//! delivery record (`GET /{provider}/deliveries`), never fatal. A request is sent once, unless
//! its provider retries it ([`Outbox::retry`]: Authsignal's authenticator events, as the real
//! tenant does): then a failed attempt is sent again, as it was, after the provider's delay,
//! between the other deliveries, at most [`QUEUE_CAPACITY`] waiting to be retried. Retries wait
//! in real time (moving the emulator's clock does not bring them forward), and go on whether
//! automatic delivery is on or off.

use std::collections::{BTreeMap, VecDeque};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use auth_core::emulator::ControlError;
use auth_core::sync::lock;
use auth_core::{Clock as _, HttpClient, HttpRequest};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use auth_core::emulator::unix_seconds as unix;

/// How many deliveries may wait for the background task, per provider.
pub(crate) const QUEUE_CAPACITY: usize = 1_000;
/// How many finished deliveries the record keeps, per provider.
pub(crate) const RECORD_CAPACITY: usize = 1_000;
/// The longest one delivery may take (connection included).
pub(crate) const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the server takes what a model queued on its own time, with no request or command
/// to set it off.
pub(crate) const TICK: Duration = Duration::from_secs(1);
/// The longest a flush waits for the deliveries before it.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);

/// What a model queued for sending: the requests, complete (absolute URL, headers, body).
pub(crate) trait Outbox: Send + Sync {
    /// Takes what is ready to send (empty when nothing is, or when there is nowhere to send
    /// it yet).
    fn take(&self) -> Vec<HttpRequest>;

    /// Whether the provider sends `request` again when an attempt fails (no answer, or not
    /// 2xx), how often and after how long. By default it does not.
    fn retry(&self, _request: &HttpRequest) -> Option<Retry> {
        None
    }

    /// Whether the model queues requests on its own time, with no request or command to set
    /// it off (CIBA's expiries), so the server must look every [`TICK`]. By default it does not.
    fn ticks(&self) -> bool {
        false
    }
}

/// A provider's retries of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Retry {
    /// Attempts after the first.
    pub(crate) times: u32,
    /// The wait before each.
    pub(crate) after: Duration,
}

/// One delivery, as the record keeps it: never headers or bodies (they carry bearer tokens and
/// signatures), and the URL without its query.
#[derive(Debug, Clone)]
struct Record {
    seq: u64,
    /// 1 for the first attempt, 2 for the first retry…
    attempt: u32,
    at: SystemTime,
    method: String,
    url: String,
    outcome: Result<u16, String>,
}

impl Record {
    fn json(&self) -> Value {
        let mut entry = json!({
            "at": unix(self.at), "method": self.method, "url": self.url, "attempt": self.attempt,
        });
        match &self.outcome {
            Ok(status) => entry["status"] = json!(status),
            Err(error) => entry["error"] = json!(error),
        }
        entry
    }
}

/// A request waiting for the background task.
struct Job {
    seq: u64,
    request: HttpRequest,
    /// The attempt this is (1: the first).
    attempt: u32,
    /// The provider's retries of it (asked by the sending task at the first attempt, off the
    /// queue's lock).
    retry: Option<Retry>,
}

/// The queue's sending end and the number of the last request put in it (both under one lock,
/// so numbers follow the queue's order).
struct Queue {
    sender: mpsc::Sender<Job>,
    last: u64,
}

/// One provider's deliveries: its outbox, the queue to the background task, the record.
pub(crate) struct Delivery {
    provider: &'static str,
    outbox: Arc<dyn Outbox>,
    auto: AtomicBool,
    queue: Mutex<Queue>,
    /// The number of the last delivery whose first attempt is done (first attempts go in
    /// order; retries come later, on their own time).
    done: watch::Receiver<u64>,
    /// How many retries wait for their time (or are being sent).
    retrying: Arc<AtomicUsize>,
    record: Arc<Mutex<VecDeque<Record>>>,
    clock: auth_core::emulator::OffsetClock,
}

impl Delivery {
    /// A provider's deliveries and the task that sends them with `http` (spawn it on the
    /// server's runtime).
    pub(crate) fn new(
        provider: &'static str,
        outbox: Arc<dyn Outbox>,
        http: Arc<dyn HttpClient>,
        clock: auth_core::emulator::OffsetClock,
    ) -> (
        Arc<Delivery>,
        impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let (done_tx, done) = watch::channel(0);
        let record = Arc::new(Mutex::new(VecDeque::new()));
        let retrying = Arc::new(AtomicUsize::new(0));
        let delivery = Arc::new(Delivery {
            provider,
            outbox,
            auto: AtomicBool::new(true),
            queue: Mutex::new(Queue { sender, last: 0 }),
            done,
            retrying: retrying.clone(),
            record: record.clone(),
            clock: clock.clone(),
        });
        let task = send_all(
            provider,
            receiver,
            Sender {
                http,
                outbox: delivery.outbox.clone(),
                done: done_tx,
                retrying,
                record,
                clock,
            },
        );
        (delivery, task)
    }

    /// Queues what the model has ready, unless automatic delivery is off. Never waits.
    pub(crate) fn kick(&self) {
        if self.auto.load(Ordering::Relaxed) {
            self.take_and_enqueue();
        }
    }

    /// Whether the server must kick it every [`TICK`] ([`Outbox::ticks`]).
    pub(crate) fn ticks(&self) -> bool {
        self.outbox.ticks()
    }

    /// Kicks every [`TICK`], for as long as the server runs (spawn it beside the sending task,
    /// for a delivery that [`Delivery::ticks`]).
    pub(crate) async fn tick(self: Arc<Self>) {
        let mut every = tokio::time::interval(TICK);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            every.tick().await;
            self.kick();
        }
    }

    /// Takes what the model has ready and queues it in order, in one step under the queue
    /// lock, so that a flush never overtakes requests a kick took just before it. Answers the
    /// numbers given to the ones queued (a dropped one gets none, so they follow each other),
    /// up to the last request queued so far.
    fn take_and_enqueue(&self) -> RangeInclusive<u64> {
        let mut dropped = Vec::new();
        let numbers = {
            let mut queue = lock(&self.queue);
            let first = queue.last + 1;
            for request in self.outbox.take() {
                let job = Job {
                    seq: queue.last + 1,
                    request,
                    attempt: 1,
                    retry: None,
                };
                match queue.sender.try_send(job) {
                    Ok(()) => queue.last += 1,
                    // Its URL (redacted) is needed only now, for the report.
                    Err(refused) => dropped.push(redacted_url(&refused.into_inner().request)),
                }
            }
            first..=queue.last
        };
        // Reported with the queue unlocked: a slow stderr never holds up an answer.
        for url in dropped {
            let why = format!(
                "dropped: {QUEUE_CAPACITY} deliveries are waiting already (or the server is stopping)"
            );
            eprintln!("oob-auth-emulator: {}: POST {url}: {why}", self.provider);
            self.remember(Record {
                seq: 0,
                attempt: 1,
                at: self.clock.now(),
                method: "POST".into(),
                url,
                outcome: Err(why),
            });
        }
        numbers
    }

    fn remember(&self, record: Record) {
        remember(&self.record, record);
    }

    /// Turns automatic delivery on or off. Off, the model keeps what it queues (within its
    /// own bounds) until a flush or until it is turned on again.
    pub(crate) fn set_auto(&self, on: bool) {
        self.auto.store(on, Ordering::Relaxed);
    }

    /// Takes what the model has ready (even with automatic delivery off), waits until the
    /// first attempts of it and of every delivery queued before it are done, and answers how
    /// the ones it took went, with how many retries still wait for their time (they go on
    /// whether automatic delivery is on or off). Runs on a blocking thread of the server's
    /// runtime (control commands do).
    pub(crate) fn flush(&self) -> Result<Value, ControlError> {
        let numbers = self.take_and_enqueue();
        let target = *numbers.end();
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| ControlError::Conflict("no runtime to deliver on".into()))?;
        let mut done = self.done.clone();
        let finished = runtime.block_on(async {
            tokio::time::timeout(FLUSH_TIMEOUT, done.wait_for(|d| *d >= target)).await
        });
        if !matches!(finished, Ok(Ok(_))) {
            return Err(ControlError::Conflict(format!(
                "the deliveries did not finish within {} s",
                FLUSH_TIMEOUT.as_secs()
            )));
        }
        let record = lock(&self.record);
        // The first attempts: their retries, if any, come later.
        let mine: Vec<&Record> = record
            .iter()
            .filter(|r| r.attempt == 1 && numbers.contains(&r.seq))
            .collect();
        let delivered: Vec<u16> = mine
            .iter()
            .filter_map(|r| r.outcome.as_ref().ok().copied())
            .collect();
        let failed: Vec<Value> = mine
            .iter()
            .filter(|r| r.outcome.is_err())
            .map(|r| r.json())
            .collect();
        Ok(json!({
            "delivered": delivered,
            "failed": failed,
            "retrying": self.retrying.load(Ordering::Relaxed),
        }))
    }

    /// The delivery record, newest last: `{"auto", "queue_capacity", "retrying", "recent":
    /// [{"at", "method", "url", "attempt", "status" | "error"}]}` (`limit`: the newest N).
    pub(crate) fn report(&self, limit: Option<usize>) -> Value {
        let record = lock(&self.record);
        let skip = limit.map_or(0, |n| record.len().saturating_sub(n));
        let recent: Vec<Value> = record.iter().skip(skip).map(Record::json).collect();
        json!({
            "auto": self.auto.load(Ordering::Relaxed),
            "queue_capacity": QUEUE_CAPACITY,
            "retrying": self.retrying.load(Ordering::Relaxed),
            "recent": recent,
        })
    }
}

fn remember(record: &Mutex<VecDeque<Record>>, entry: Record) {
    let mut record = lock(record);
    if record.len() >= RECORD_CAPACITY {
        record.pop_front();
    }
    record.push_back(entry);
}

/// The request's URL without its query (which may carry tokens) and without user info.
fn redacted_url(request: &HttpRequest) -> String {
    let uri = request.uri();
    let authority = uri
        .authority()
        .map(|a| a.as_str().rsplit('@').next().unwrap_or_default().to_owned())
        .unwrap_or_default();
    match uri.scheme_str() {
        Some(scheme) => format!("{scheme}://{authority}{}", uri.path()),
        None => uri.path().to_owned(),
    }
}

/// What the background task sends with and writes to.
struct Sender {
    http: Arc<dyn HttpClient>,
    /// The provider's outbox, asked for its retries of a first attempt.
    outbox: Arc<dyn Outbox>,
    /// The number of the last delivery whose first attempt is done.
    done: watch::Sender<u64>,
    /// How many retries wait for their time (or are being sent).
    retrying: Arc<AtomicUsize>,
    record: Arc<Mutex<VecDeque<Record>>>,
    clock: auth_core::emulator::OffsetClock,
}

/// The background task: sends each queued request in order, and each retry when it is due,
/// and records how every attempt went.
async fn send_all(provider: &'static str, mut receiver: mpsc::Receiver<Job>, sender: Sender) {
    // Retries waiting for their time, by due time (then by the order they were scheduled).
    let mut retries: BTreeMap<(tokio::time::Instant, u64), Job> = BTreeMap::new();
    let mut scheduled: u64 = 0;
    loop {
        let due = retries.first_key_value().map(|((at, _), _)| *at);
        let job = tokio::select! {
            // A retry that is due goes before new deliveries.
            biased;
            () = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)),
                if due.is_some() =>
            {
                match retries.pop_first() {
                    Some((_, job)) => {
                        sender.retrying.fetch_sub(1, Ordering::Relaxed);
                        job
                    }
                    None => continue,
                }
            }
            job = receiver.recv() => match job {
                Some(job) => job,
                None => break,
            },
        };
        if let Some(again) = sender.send(provider, job).await {
            let after = again.retry.map_or(Duration::ZERO, |r| r.after);
            let at = tokio::time::Instant::now().checked_add(after);
            match at {
                Some(at) if retries.len() < QUEUE_CAPACITY => {
                    scheduled += 1;
                    retries.insert((at, scheduled), again);
                }
                _ => {
                    sender.retrying.fetch_sub(1, Ordering::Relaxed);
                    eprintln!(
                        "oob-auth-emulator: {provider}: a retry dropped: {QUEUE_CAPACITY} wait already"
                    );
                }
            }
        }
    }
}

impl Sender {
    /// Sends one attempt and records it; answers the next attempt when this one failed and
    /// the provider retries it.
    async fn send(&self, provider: &'static str, job: Job) -> Option<Job> {
        let Job {
            seq,
            request,
            attempt,
            retry,
        } = job;
        let retry = if attempt == 1 {
            self.outbox.retry(&request)
        } else {
            retry
        };
        let again = retry.filter(|r| attempt <= r.times).map(|_| copy(&request));
        let method = request.method().as_str().to_owned();
        let url = redacted_url(&request);
        let outcome = match tokio::time::timeout(DELIVERY_TIMEOUT, self.http.execute(request)).await
        {
            Ok(Ok(response)) => Ok(response.status().as_u16()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} s", DELIVERY_TIMEOUT.as_secs())),
        };
        let failed = !matches!(outcome, Ok(status) if (200..300).contains(&status));
        if failed {
            let what = match &outcome {
                Ok(status) => format!("answered {status}"),
                Err(e) => e.clone(),
            };
            let next = match (&again, retry) {
                (Some(_), Some(r)) => format!("; sent again in {} s", r.after.as_secs()),
                _ => String::new(),
            };
            eprintln!(
                "oob-auth-emulator: {provider}: {method} {url} (attempt {attempt}): {what}{next}"
            );
        }
        remember(
            &self.record,
            Record {
                seq,
                attempt,
                at: self.clock.now(),
                method,
                url,
                outcome,
            },
        );
        let next = again.filter(|_| failed).map(|request| Job {
            seq,
            request,
            attempt: attempt + 1,
            retry,
        });
        // Counted before the first attempt is marked done, so a flush waiting for it sees it.
        if next.is_some() {
            self.retrying.fetch_add(1, Ordering::Relaxed);
        }
        if attempt == 1 {
            self.done.send_replace(seq);
        }
        next
    }
}

/// A copy of `request` for its next attempt (`http::Request` is not `Clone`).
fn copy(request: &HttpRequest) -> HttpRequest {
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    *copy.version_mut() = request.version();
    copy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_never_shows_queries_or_user_info() {
        let request = http::Request::post("http://user:pw@127.0.0.1:9/hooks?token=s3cret")
            .body(Vec::new())
            .unwrap();
        assert_eq!(redacted_url(&request), "http://127.0.0.1:9/hooks");
    }
}
