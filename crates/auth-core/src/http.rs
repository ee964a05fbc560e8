//! HTTP transport: a tiny pluggable client trait, a reqwest + rustls default, and [`Transport`],
//! which adds the workspace's rules on top of any client.
//!
//! Provider crates build `http::Request<Vec<u8>>` values and read `http::Response<Vec<u8>>`
//! values; they never see reqwest. Users can
//! - take the default (reqwest + rustls, timeouts on, redirects off, bounded bodies),
//! - hand in their own configured `reqwest::Client` (proxies, custom roots, mTLS) with
//!   [`TransportBuilder::reqwest_client`], or
//! - implement [`HttpClient`] for any other stack (a closure works too).
//!
//! [`Transport`] adds, whatever the client: the validated [`BaseUrl`], the user agent, refusal
//! of redirects (a `3xx` on an API call is an error, never followed), the response size limit,
//! and the [`RetryPolicy`] with its replay rules.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::header::{HeaderValue, USER_AGENT};
use http::{Method, Request, Response};

use crate::clock::{SharedClock, system_clock};
use crate::retry::{Replay, RetryPolicy, retry_after};
use crate::{BaseUrl, ConfigError, Error, TransportError, TransportErrorKind};

/// An outgoing request.
pub type HttpRequest = Request<Vec<u8>>;
/// A complete response.
pub type HttpResponse = Response<Vec<u8>>;

/// Sends one request and returns the complete response. Implement it to bring your own stack.
///
/// Any `Fn(HttpRequest) -> impl Future<Output = Result<HttpResponse, TransportError>>` closure
/// implements it, which is handy in tests.
#[async_trait]
pub trait HttpClient: Send + Sync {
    /// Sends `request` once. Must not follow redirects, and its errors must not quote the
    /// request URL (queries may carry tokens; the default client drops it).
    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

#[async_trait]
impl<F, Fut> HttpClient for F
where
    F: Fn(HttpRequest) -> Fut + Send + Sync,
    Fut: Future<Output = Result<HttpResponse, TransportError>> + Send,
{
    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        (self)(request).await
    }
}

/// A per-request total timeout, overriding [`HttpConfig::timeout`] for one request.
///
/// Put it in the request's extensions (or use [`Transport::send_with_timeout`]); the default
/// client honours it, and custom [`HttpClient`]s may read it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTimeout(pub Duration);

/// Settings for the default client and the limits [`Transport`] enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Time allowed to establish a connection (default 10 s).
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, body included (default 30 s). Enforced by
    /// [`Transport`] for every client, and passed to the default client as well.
    pub timeout: Duration,
    /// The largest response body accepted (default 1 MiB).
    pub max_response_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_response_bytes: 1024 * 1024,
        }
    }
}

/// The default [`HttpClient`]: reqwest with rustls.
#[cfg(feature = "reqwest")]
#[derive(Debug, Clone)]
pub struct ReqwestClient {
    client: reqwest::Client,
    timeout: Duration,
    max_response_bytes: usize,
}

#[cfg(feature = "reqwest")]
impl ReqwestClient {
    /// A client with the given timeouts, no redirects and no cookies.
    pub fn new(config: &HttpConfig) -> Result<Self, ConfigError> {
        Self::with_pool(config, DEFAULT_MAX_IN_FLIGHT)
    }

    /// Like [`ReqwestClient::new`], but never through a proxy from the environment
    /// (`HTTP_PROXY`, `HTTPS_PROXY`): for talking to local test servers — the emulator's control
    /// API, webhooks delivered to a test — whose traffic (secrets included) must not leave the
    /// machine.
    pub fn direct(config: &HttpConfig) -> Result<Self, ConfigError> {
        Self::build(
            reqwest::Client::builder().no_proxy(),
            config,
            DEFAULT_MAX_IN_FLIGHT,
        )
    }

    /// Like [`ReqwestClient::new`], keeping at most `max_idle` idle connections per host (the
    /// transport's in-flight limit: more could never be reused).
    pub fn with_pool(config: &HttpConfig, max_idle: usize) -> Result<Self, ConfigError> {
        Self::build(reqwest::Client::builder(), config, max_idle)
    }

    fn build(
        builder: reqwest::ClientBuilder,
        config: &HttpConfig,
        max_idle: usize,
    ) -> Result<Self, ConfigError> {
        let client = builder
            .pool_max_idle_per_host(max_idle)
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::Invalid {
                name: "http client",
                reason: e.to_string(),
            })?;
        Ok(Self::with_client(client, config))
    }

    /// Wraps a client you configured yourself (proxies, root certificates, mTLS).
    ///
    /// The total timeout from `config` is still applied to every request. Configure your client
    /// with `redirect::Policy::none()`: should it follow a redirect anyway, the response is
    /// refused with [`TransportErrorKind::Redirect`].
    pub fn with_client(client: reqwest::Client, config: &HttpConfig) -> Self {
        ReqwestClient {
            client,
            timeout: config.timeout,
            max_response_bytes: config.max_response_bytes,
        }
    }
}

#[cfg(feature = "reqwest")]
fn classify(e: &reqwest::Error) -> TransportErrorKind {
    if e.is_timeout() {
        return TransportErrorKind::Timeout;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        let text = s.to_string().to_ascii_lowercase();
        if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
            return TransportErrorKind::Tls;
        }
        source = s.source();
    }
    if e.is_connect() {
        TransportErrorKind::Connect
    } else if e.is_request() {
        // Failures while sending (connection reset, closed before a response).
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Other
    }
}

/// Classifies a reqwest error and drops its URL: query strings may carry tokens, and errors end
/// up in logs.
#[cfg(feature = "reqwest")]
fn transport_error(e: reqwest::Error) -> TransportError {
    TransportError::new(classify(&e), e.without_url())
}

#[cfg(feature = "reqwest")]
#[async_trait]
impl HttpClient for ReqwestClient {
    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let sent_url = request.uri().to_string();
        let timeout = request
            .extensions()
            .get::<RequestTimeout>()
            .map_or(self.timeout, |t| t.0);
        // Request bodies carry secrets (tokens, OTPs, passwords): reqwest gets a buffer that is
        // wiped when it lets go of it, not a plain copy left behind in freed memory.
        let (parts, body) = request.into_parts();
        let body = bytes::Bytes::from_owner(WipedOnDrop(body));
        let mut req = reqwest::Request::try_from(Request::from_parts(parts, body))
            .map_err(|e| TransportError::new(TransportErrorKind::Other, e))?;
        *req.timeout_mut() = Some(timeout);
        let mut resp = self.client.execute(req).await.map_err(transport_error)?;
        if resp.url().as_str() != sent_url && resp.url().as_str() != format!("{sent_url}/") {
            return Err(TransportError::new(
                TransportErrorKind::Redirect,
                format!("the client followed a redirect to {}", resp.url()),
            ));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > self.max_response_bytes as u64)
        {
            return Err(too_large(self.max_response_bytes));
        }
        let mut builder = Response::builder()
            .status(resp.status())
            .version(resp.version());
        if let Some(h) = builder.headers_mut() {
            *h = std::mem::take(resp.headers_mut());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > self.max_response_bytes {
                return Err(too_large(self.max_response_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        builder
            .body(body)
            .map_err(|e| TransportError::new(TransportErrorKind::Other, e))
    }
}

/// A request body that zeroizes itself when reqwest drops it.
#[cfg(feature = "reqwest")]
struct WipedOnDrop(Vec<u8>);

#[cfg(feature = "reqwest")]
impl AsRef<[u8]> for WipedOnDrop {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(feature = "reqwest")]
impl Drop for WipedOnDrop {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

fn too_large(limit: usize) -> TransportError {
    TransportError::new(
        TransportErrorKind::BodyTooLarge,
        format!("response body exceeds the limit of {limit} bytes"),
    )
}

/// A provider's connection to its API: base URL, client, clock, retry policy and limits.
///
/// Cheap to clone; clones share the client (and its connection pool).
#[derive(Clone)]
pub struct Transport {
    base: BaseUrl,
    client: Arc<dyn HttpClient>,
    clock: SharedClock,
    retry: RetryPolicy,
    user_agent: HeaderValue,
    max_response_bytes: usize,
    timeout: Duration,
    in_flight: Arc<tokio::sync::Semaphore>,
    max_in_flight: usize,
}

/// The default limit on a client's requests in flight (see [`TransportBuilder::max_in_flight`]).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

/// The slot a call admitted by [`Transport::admitted`] holds: requests of that call through
/// the same transport go out in it instead of taking another.
struct Admission {
    /// Which transport's slots (compared by identity).
    slots: Arc<tokio::sync::Semaphore>,
    /// How long the call waited for its slot: charged once, to its first request's deadline.
    waited: std::cell::Cell<Option<Duration>>,
    /// The call's slot (none for [`Transport::unslotted`]): released while a request of the
    /// call pauses before a retry, taken again after.
    slot: std::cell::Cell<Option<tokio::sync::OwnedSemaphorePermit>>,
}

tokio::task_local! {
    static ADMISSION: Admission;
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base)
            .field("clock", &self.clock)
            .field("retry", &self.retry)
            .field("user_agent", &self.user_agent)
            .field("max_in_flight", &self.max_in_flight)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Transport`].
///
/// ```
/// use auth_core::{BaseUrl, Transport};
///
/// let transport = Transport::builder(BaseUrl::parse("https://api.example.com").unwrap())
///     .user_agent("my-provider", "1.2.3")
///     .build()
///     .unwrap();
/// assert_eq!(transport.base_url().as_str(), "https://api.example.com");
/// ```
pub struct TransportBuilder {
    base: BaseUrl,
    client: Option<Arc<dyn HttpClient>>,
    #[cfg(feature = "reqwest")]
    reqwest: Option<reqwest::Client>,
    clock: Option<SharedClock>,
    retry: RetryPolicy,
    config: HttpConfig,
    user_agent: String,
    max_in_flight: usize,
}

impl fmt::Debug for TransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportBuilder")
            .field("base", &self.base)
            .field("retry", &self.retry)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl TransportBuilder {
    /// Uses your own [`HttpClient`] instead of the default.
    pub fn http_client(mut self, client: Arc<dyn HttpClient>) -> Self {
        self.client = Some(client);
        self
    }

    /// Uses your own configured `reqwest::Client` (proxies, roots, mTLS) with the default adapter.
    #[cfg(feature = "reqwest")]
    pub fn reqwest_client(mut self, client: reqwest::Client) -> Self {
        self.reqwest = Some(client);
        self
    }

    /// Sets the clock (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Sets the retry policy (default: [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets timeouts and limits (default: [`HttpConfig::default`]).
    pub fn config(mut self, config: HttpConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets the user agent to `<name>/<version> (oob-auth)` (default: `auth-core/<version>`).
    pub fn user_agent(mut self, name: &str, version: &str) -> Self {
        self.user_agent = format!("{name}/{version} (oob-auth)");
        self
    }

    /// Puts the application's own product token (`my-bank/2.1`) before the user agent.
    pub fn application(mut self, product: &str) -> Self {
        if !product.trim().is_empty() {
            self.user_agent = format!("{} {}", product.trim(), self.user_agent);
        }
        self
    }

    /// Limits the requests this transport (and its clones) has in flight at once (default
    /// [`DEFAULT_MAX_IN_FLIGHT`]). A request waits for a slot, and the wait counts against its
    /// deadline: thousands of pending step-ups share a few connections instead of opening one
    /// each.
    pub fn max_in_flight(mut self, limit: usize) -> Self {
        self.max_in_flight = limit;
        self
    }

    /// Builds the transport.
    pub fn build(self) -> Result<Transport, Error> {
        // A zero timeout would fail every request, and a zero connect timeout every connection:
        // one rule for every provider, refused here rather than at the first call.
        for (name, value) in [
            ("timeout", self.config.timeout),
            ("connect_timeout", self.config.connect_timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigError::invalid(name, "must be above zero").into());
            }
        }
        if self.config.max_response_bytes == 0 {
            return Err(ConfigError::Invalid {
                name: "max_response_bytes",
                reason: "must be above zero".into(),
            }
            .into());
        }
        if self.retry.max_attempts == 0 {
            return Err(ConfigError::Invalid {
                name: "retry.max_attempts",
                reason: "must be at least 1".into(),
            }
            .into());
        }
        if self.max_in_flight == 0 || self.max_in_flight > tokio::sync::Semaphore::MAX_PERMITS {
            return Err(ConfigError::Invalid {
                name: "max_in_flight",
                reason: "must be at least 1".into(),
            }
            .into());
        }
        let client = match self.client {
            Some(c) => c,
            None => self.default_client()?,
        };
        let user_agent =
            HeaderValue::from_str(&self.user_agent).map_err(|e| ConfigError::Invalid {
                name: "user_agent",
                reason: e.to_string(),
            })?;
        Ok(Transport {
            base: self.base,
            client,
            clock: self.clock.unwrap_or_else(system_clock),
            retry: self.retry,
            user_agent,
            max_response_bytes: self.config.max_response_bytes,
            timeout: self.config.timeout,
            in_flight: Arc::new(tokio::sync::Semaphore::new(self.max_in_flight)),
            max_in_flight: self.max_in_flight,
        })
    }

    #[cfg(feature = "reqwest")]
    fn default_client(&self) -> Result<Arc<dyn HttpClient>, Error> {
        Ok(match &self.reqwest {
            Some(c) => Arc::new(ReqwestClient::with_client(c.clone(), &self.config)),
            None => Arc::new(ReqwestClient::with_pool(&self.config, self.max_in_flight)?),
        })
    }

    #[cfg(not(feature = "reqwest"))]
    fn default_client(&self) -> Result<Arc<dyn HttpClient>, Error> {
        Err(ConfigError::Invalid {
            name: "http_client",
            reason: "the `reqwest` feature is off: pass an HttpClient".into(),
        }
        .into())
    }
}

/// The former name of [`Config`](crate::Config), kept while provider crates move over.
pub type TransportOptions = crate::config::Config;

impl Transport {
    /// Starts building a transport for `base`.
    pub fn builder(base: BaseUrl) -> TransportBuilder {
        TransportBuilder {
            base,
            client: None,
            #[cfg(feature = "reqwest")]
            reqwest: None,
            clock: None,
            retry: RetryPolicy::default(),
            config: HttpConfig::default(),
            user_agent: format!("auth-core/{} (oob-auth)", env!("CARGO_PKG_VERSION")),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }

    /// The most requests this transport has in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// The validated base URL.
    pub fn base_url(&self) -> &BaseUrl {
        &self.base
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// A request builder for `method` on `base + path`.
    pub fn request(&self, method: Method, path: &str) -> http::request::Builder {
        Request::builder()
            .method(method)
            .uri(self.base.join(path).as_str())
    }

    /// Sends `request`, retrying only as `replay` and the retry policy allow.
    ///
    /// Returns the response whatever its status, except that a `3xx` is an error (redirects
    /// are never followed on API calls). Retryable statuses (429, 503) are returned as they are
    /// once the attempts are used up.
    pub async fn send(&self, request: HttpRequest, replay: Replay) -> Result<HttpResponse, Error> {
        let response = self.send_inner(request, replay).await?;
        self.finish(response, false)
    }

    /// Like [`Transport::send`], but a `3xx` answer is returned as a response (its `Location`
    /// readable) instead of an error. It is still never followed. For browser-style steps, such
    /// as an authorization endpoint that answers with a redirect to the app.
    pub async fn send_reading_redirect(
        &self,
        request: HttpRequest,
        replay: Replay,
    ) -> Result<HttpResponse, Error> {
        let response = self.send_inner(request, replay).await?;
        self.finish(response, true)
    }

    async fn send_inner(
        &self,
        request: HttpRequest,
        replay: Replay,
    ) -> Result<HttpResponse, Error> {
        let (parts, body) = request.into_parts();
        // Request bodies may carry secrets (tokens, OTPs): wipe our copy when done.
        let body = zeroize::Zeroizing::new(body);
        let deadline = parts.extensions.get::<RequestTimeout>().map(|t| t.0);
        self.attempts(&parts.method, replay, deadline, |_| {
            let mut req = Request::new(body.to_vec());
            *req.method_mut() = parts.method.clone();
            *req.uri_mut() = parts.uri.clone();
            *req.headers_mut() = parts.headers.clone();
            *req.extensions_mut() = parts.extensions.clone();
            Ok(req)
        })
        .await
    }

    /// Sends a request built afresh for every attempt by `build` (called with the 1-based
    /// attempt number), retrying only as `replay` and the retry policy allow.
    ///
    /// For providers that sign each request with a short-lived, single-use token (a JWT with
    /// its own `jti` and `exp`): a retry then carries a new token instead of a replayed one.
    /// Every request `build` returns must use `method`. `build` may fail with the provider's
    /// own error type; that error is returned as it is and nothing more is sent.
    pub async fn send_built<F, E>(
        &self,
        method: &Method,
        replay: Replay,
        mut build: F,
    ) -> Result<HttpResponse, E>
    where
        F: FnMut(u32) -> Result<HttpRequest, E> + Send,
        E: From<Error> + Send,
    {
        let mut failed: Option<E> = None;
        let sent = self
            .attempts(method, replay, None, |n| {
                build(n).map_err(|e| {
                    failed = Some(e);
                    // Stops the attempts; the caller's own error is returned below.
                    Error::Cancelled
                })
            })
            .await;
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(self.finish(sent?, false)?)
    }

    async fn attempts<F>(
        &self,
        method: &Method,
        replay: Replay,
        deadline: Option<Duration>,
        mut build: F,
    ) -> Result<HttpResponse, Error>
    where
        F: FnMut(u32) -> Result<HttpRequest, Error> + Send,
    {
        let max_attempts = if replay.allows(method) {
            self.retry.max_attempts
        } else {
            1
        };
        // One overall deadline for the call: every attempt and every pause between attempts
        // comes out of it (a slow server cannot take the timeout once per attempt).
        let mut total = deadline.unwrap_or(self.timeout);
        let mut remaining = total;
        let mut attempt = 1;
        loop {
            let sent_at = tokio::time::Instant::now();
            let timed_out = |total: Duration| {
                TransportError::new(
                    TransportErrorKind::Timeout,
                    format!("no complete response within {total:?} ({attempt} attempt(s))"),
                )
            };
            // Inside a call admitted by `admitted`, the call's slot is this request's; the
            // time the call waited for it is charged to its first request.
            let admission = self.own_admission(|a| a.waited.take());
            // A slot first, then the request: a call waiting for a slot holds no built (signed,
            // encrypted) request, so thousands of waiting calls cost next to nothing. The wait
            // counts against the deadline, like the request itself.
            let slot = match admission {
                Some(_) => None,
                None => match self.take_slot(remaining).await? {
                    Some(slot) => Some(slot),
                    None => return Err(timed_out(total).into()),
                },
            };
            let mut req = build(attempt)?;
            if !req.headers().contains_key(USER_AGENT) {
                req.headers_mut()
                    .insert(USER_AGENT, self.user_agent.clone());
            }
            if attempt == 1 && deadline.is_none() {
                // A request built with its own timeout sets the call's deadline.
                if let Some(own) = req.extensions().get::<RequestTimeout>() {
                    total = own.0;
                    remaining = own.0;
                }
            }
            if let Some(Some(waited)) = admission {
                remaining = remaining.saturating_sub(waited);
                if remaining.is_zero() {
                    return Err(timed_out(total).into());
                }
            }
            // The client gets what is left of the deadline, and the deadline is enforced here
            // too, whatever the client does with it.
            let left = remaining.saturating_sub(sent_at.elapsed());
            req.extensions_mut().insert(RequestTimeout(left));
            let outcome = match tokio::time::timeout(left, self.client.execute(req)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(timed_out(total)),
            };
            drop(slot);
            remaining = remaining.saturating_sub(sent_at.elapsed());
            let retry_hint = match &outcome {
                Err(e)
                    if matches!(
                        e.kind(),
                        TransportErrorKind::Connect | TransportErrorKind::Timeout
                    ) =>
                {
                    Some(None)
                }
                Ok(resp) if RetryPolicy::retryable_status(resp.status()) => {
                    Some(retry_after(resp.headers(), self.clock.now()))
                }
                _ => None,
            };
            match retry_hint {
                Some(hint) if attempt < max_attempts => {
                    let delay = self.retry.delay(attempt, hint);
                    if delay >= remaining {
                        // The pause (often the server's own Retry-After) reaches past the
                        // deadline: hand back what we have instead of waiting in vain.
                        return Ok(outcome?);
                    }
                    // An admitted call gives its slot back for the pause, and waits for one
                    // again after it (the wait counts against the deadline, as ever).
                    // (The slot taken back is dropped, so freed, at the end of the statement.)
                    let had_slot = self.own_admission(|a| a.slot.take()).flatten().is_some();
                    self.clock.sleep(delay).await;
                    remaining -= delay;
                    if had_slot {
                        let asked = tokio::time::Instant::now();
                        let Some(slot) = self.take_slot(remaining).await? else {
                            return Err(timed_out(total).into());
                        };
                        remaining = remaining.saturating_sub(asked.elapsed());
                        self.own_admission(|a| a.slot.set(Some(slot)));
                    }
                    attempt += 1;
                }
                _ => return Ok(outcome?),
            }
        }
    }

    /// Runs one call of several requests — a step-up's start or check — in one slot of this
    /// transport.
    ///
    /// The call waits for its slot *before* `call` is even invoked, so thousands of calls
    /// waiting cost only this small future, not their (signed, encrypted, serialized) state.
    /// Once admitted, the call's requests through this transport go out in that slot one after
    /// another, and the wait counts against the first request's deadline. A call that cannot
    /// get a slot within the transport's timeout fails with a
    /// [`TransportErrorKind::Timeout`]. Calls nested in an admitted call of the same
    /// transport run in the slot they are in. The admission follows the call's own future, not
    /// tasks it spawns: a request sent from a spawned task takes a slot of its own (so a call
    /// must not wait, in its slot, for a spawned task that needs one).
    ///
    /// ```
    /// # use auth_core::{BaseUrl, Error, Transport};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Error> {
    /// let transport = Transport::builder(BaseUrl::parse("https://api.example.com")?)
    ///     .max_in_flight(1)
    ///     .build()?;
    /// let answer = transport.admitted(|| async { Ok::<_, Error>(42) }).await?;
    /// assert_eq!(answer, 42);
    /// # Ok(()) }
    /// ```
    pub async fn admitted<F, Fut, T, E>(&self, call: F) -> Result<T, E>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send,
        E: From<Error>,
    {
        self.try_admitted(call).await?.ok_or_else(|| {
            Error::from(TransportError::new(
                TransportErrorKind::Timeout,
                format!("no free slot within {:?}", self.timeout),
            ))
            .into()
        })
    }

    /// `f` on the call admitted by this transport (or a clone) that the current task runs
    /// inside, if it runs inside one.
    fn own_admission<R>(&self, f: impl FnOnce(&Admission) -> R) -> Option<R> {
        ADMISSION
            .try_with(|a| Arc::ptr_eq(&a.slots, &self.in_flight).then(|| f(a)))
            .ok()
            .flatten()
    }

    /// Like [`Transport::admitted`], but `Ok(None)` when no slot came free within the
    /// transport's timeout: the call was not made (so a step-up check can say "still pending"
    /// instead of failing).
    pub async fn try_admitted<F, Fut, T, E>(&self, call: F) -> Result<Option<T>, E>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send,
        E: From<Error>,
    {
        if self.own_admission(|_| ()).is_some() {
            return Box::pin(call()).await.map(Some);
        }
        let asked = tokio::time::Instant::now();
        let Some(slot) = self.take_slot(self.timeout).await.map_err(Error::from)? else {
            return Ok(None);
        };
        let admission = Admission {
            slots: self.in_flight.clone(),
            waited: std::cell::Cell::new(Some(asked.elapsed())),
            slot: std::cell::Cell::new(Some(slot)),
        };
        // Boxed, and made only now: a call waiting above holds none of its state. The slot is
        // released with the admission, when the call ends (or is dropped).
        Box::pin(ADMISSION.scope(admission, call())).await.map(Some)
    }

    /// One of this transport's slots, if one comes free `within`; `None` when none did.
    async fn take_slot(
        &self,
        within: Duration,
    ) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, TransportError> {
        match tokio::time::timeout(within, self.in_flight.clone().acquire_owned()).await {
            Ok(Ok(slot)) => Ok(Some(slot)),
            Ok(Err(_)) => Err(TransportError::new(
                TransportErrorKind::Other,
                "the transport was closed",
            )),
            Err(_) => Ok(None),
        }
    }

    /// Runs `fetch`'s requests through this transport without waiting for a slot: for a fetch
    /// that other calls wait on — one key or discovery fetch shared by many step-ups — which
    /// must never queue behind the slots those very calls hold (with every slot held by a call
    /// waiting for it, it would wait until its deadline). Use it only for such single-flight
    /// fetches: they are one per key at a time, so they exceed the limit by a handful at most.
    pub async fn unslotted<F: Future>(&self, fetch: F) -> F::Output {
        let admission = Admission {
            slots: self.in_flight.clone(),
            waited: std::cell::Cell::new(None),
            slot: std::cell::Cell::new(None),
        };
        ADMISSION.scope(admission, fetch).await
    }

    /// Like [`Transport::send`], with a total timeout for this request only (for instance a
    /// call that waits for a user to answer on their phone).
    pub async fn send_with_timeout(
        &self,
        mut request: HttpRequest,
        replay: Replay,
        timeout: Duration,
    ) -> Result<HttpResponse, Error> {
        request.extensions_mut().insert(RequestTimeout(timeout));
        self.send(request, replay).await
    }

    fn finish(&self, response: HttpResponse, redirect_ok: bool) -> Result<HttpResponse, Error> {
        if response.status().is_redirection() && !redirect_ok {
            let to = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map_or_else(|| "(no location)".to_owned(), crate::base_url::redact_url);
            return Err(TransportError::new(
                TransportErrorKind::Redirect,
                format!(
                    "refused to follow a {} redirect to {to}",
                    response.status().as_u16()
                ),
            )
            .into());
        }
        if response.body().len() > self.max_response_bytes {
            return Err(too_large(self.max_response_bytes).into());
        }
        Ok(response)
    }
}
