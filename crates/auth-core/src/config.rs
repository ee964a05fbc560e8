//! One client configuration, built once and handed to every provider.
//!
//! [`Config`] holds what every provider client needs from its environment: the HTTP client
//! (the default reqwest + rustls one, your own `reqwest::Client`, or any [`HttpClient`]), the
//! clock, the retry policy, timeouts and limits, the application's user-agent token and the
//! limit on requests in flight. An application builds it once and gives it to each provider's
//! builder with `.config(&shared)`; every builder also offers the same setters one by one,
//! written once here by [`client_builder_setters!`](crate::client_builder_setters).
//!
//! ```
//! use auth_core::{Config, RetryPolicy};
//! use std::time::Duration;
//!
//! let shared = Config::new()
//!     .timeout(Duration::from_secs(5))
//!     .retry(RetryPolicy::none())
//!     .max_in_flight(16)
//!     .application("my-bank/2.1");
//! let transport = shared
//!     .clone()
//!     .build("https://api.example.com".parse().unwrap(), "my-provider", "1.0.0")
//!     .unwrap();
//! assert_eq!(transport.max_in_flight(), 16);
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::http::DEFAULT_MAX_IN_FLIGHT;
use crate::{BaseUrl, ConfigError, Error, HttpClient, HttpConfig, RetryPolicy, SharedClock};
use crate::{Transport, TransportBuilder};

/// Shared client configuration: transport, clock, retries, timeouts, limits.
///
/// Cheap to clone (clients and clocks are shared by reference). Fields are public for provider
/// builders; applications use the chainable setters.
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// Your own [`HttpClient`] (default: reqwest + rustls).
    pub http_client: Option<Arc<dyn HttpClient>>,
    /// Your own configured `reqwest::Client` for the default adapter.
    #[cfg(feature = "reqwest")]
    pub reqwest_client: Option<reqwest::Client>,
    /// The clock (default: the system clock).
    pub clock: Option<SharedClock>,
    /// The retry policy (default: [`RetryPolicy::default`]).
    pub retry: RetryPolicy,
    /// Timeouts and limits (default: [`HttpConfig::default`]).
    pub config: HttpConfig,
    /// The application's product token, put before the user agent (`my-bank/2.1`).
    pub application: Option<String>,
    /// The most requests a client has in flight at once (default [`DEFAULT_MAX_IN_FLIGHT`]).
    pub max_in_flight: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http_client: None,
            #[cfg(feature = "reqwest")]
            reqwest_client: None,
            clock: None,
            retry: RetryPolicy::default(),
            config: HttpConfig::default(),
            application: None,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("http_client", &self.http_client.as_ref().map(|_| "custom"))
            .field("clock", &self.clock)
            .field("retry", &self.retry)
            .field("config", &self.config)
            .field("application", &self.application)
            .field("max_in_flight", &self.max_in_flight)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The defaults: reqwest + rustls, system clock, [`RetryPolicy::default`],
    /// [`HttpConfig::default`], [`DEFAULT_MAX_IN_FLIGHT`].
    pub fn new() -> Self {
        Config::default()
    }

    /// Uses your own [`HttpClient`] instead of the default.
    pub fn http_client(mut self, client: Arc<dyn HttpClient>) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Uses your own configured `reqwest::Client` (proxies, roots, mTLS) with the default
    /// adapter. Configure it with `redirect::Policy::none()`.
    #[cfg(feature = "reqwest")]
    pub fn reqwest_client(mut self, client: reqwest::Client) -> Self {
        self.reqwest_client = Some(client);
        self
    }

    /// Sets the clock (tests use [`crate::FakeClock`]).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets all timeouts and limits at once.
    pub fn http_config(mut self, config: HttpConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets the total time allowed for one call, retries and waits for a slot included.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// Sets the time allowed to establish a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Sets the largest response body accepted.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.config.max_response_bytes = limit;
        self
    }

    /// Sets the most requests a client has in flight at once.
    pub fn max_in_flight(mut self, limit: usize) -> Self {
        self.max_in_flight = limit;
        self
    }

    /// Puts the application's product token (`my-bank/2.1`) before the user agent.
    pub fn application(mut self, product: impl Into<String>) -> Self {
        self.application = Some(product.into());
        self
    }

    /// Builds the transport for `base`, with the user agent
    /// `[<application> ]<name>/<version> (oob-auth)`.
    pub fn build(self, base: BaseUrl, name: &str, version: &str) -> Result<Transport, Error> {
        self.builder(base, name, version).build()
    }

    /// A transport builder with every setting of this configuration applied.
    pub fn builder(self, base: BaseUrl, name: &str, version: &str) -> TransportBuilder {
        let mut builder = Transport::builder(base)
            .user_agent(name, version)
            .retry(self.retry)
            .config(self.config)
            .max_in_flight(self.max_in_flight);
        if let Some(product) = &self.application {
            builder = builder.application(product);
        }
        if let Some(client) = self.http_client {
            builder = builder.http_client(client);
        }
        #[cfg(feature = "reqwest")]
        if let Some(client) = self.reqwest_client {
            builder = builder.reqwest_client(client);
        }
        if let Some(clock) = self.clock {
            builder = builder.clock(clock);
        }
        builder
    }
}

/// Anything a builder's `.base_url(..)` takes: a [`BaseUrl`], a string, or a `url::Url`.
///
/// Parsing (and the https/loopback rule) happens once; a bad URL surfaces from the builder's
/// `build()` as a configuration error.
pub trait IntoBaseUrl {
    /// Validates and converts.
    fn into_base_url(self) -> Result<BaseUrl, ConfigError>;
}

impl IntoBaseUrl for BaseUrl {
    fn into_base_url(self) -> Result<BaseUrl, ConfigError> {
        Ok(self)
    }
}

impl IntoBaseUrl for &BaseUrl {
    fn into_base_url(self) -> Result<BaseUrl, ConfigError> {
        Ok(self.clone())
    }
}

impl IntoBaseUrl for &str {
    fn into_base_url(self) -> Result<BaseUrl, ConfigError> {
        BaseUrl::parse(self)
    }
}

impl IntoBaseUrl for String {
    fn into_base_url(self) -> Result<BaseUrl, ConfigError> {
        BaseUrl::parse(&self)
    }
}

impl IntoBaseUrl for &String {
    fn into_base_url(self) -> Result<BaseUrl, ConfigError> {
        BaseUrl::parse(self)
    }
}

impl IntoBaseUrl for url::Url {
    fn into_base_url(self) -> Result<BaseUrl, ConfigError> {
        BaseUrl::parse(self.as_str())
    }
}

impl IntoBaseUrl for &url::Url {
    fn into_base_url(self) -> Result<BaseUrl, ConfigError> {
        BaseUrl::parse(self.as_str())
    }
}

/// Writes the shared builder setters into a provider's client builder, so that every provider
/// offers the same knobs, documented the same way, and no provider writes them again.
///
/// The builder needs a field of type [`Config`] and a field of type
/// `Option<Result<BaseUrl, ConfigError>>` for the base URL; name both:
///
/// ```
/// use auth_core::{BaseUrl, Config, ConfigError};
///
/// /// Builds a [`Client`].
/// pub struct ClientBuilder {
///     config: Config,
///     base_url: Option<Result<BaseUrl, ConfigError>>,
/// }
///
/// impl ClientBuilder {
///     auth_core::client_builder_setters!(config, base_url);
/// }
///
/// let b = ClientBuilder { config: Config::new(), base_url: None }
///     .base_url("http://127.0.0.1:8080")
///     .timeout(std::time::Duration::from_secs(3))
///     .max_in_flight(8);
/// assert_eq!(b.config.max_in_flight, 8);
/// assert!(b.base_url.unwrap().is_ok());
/// ```
///
/// Setters: `config(&Config)` (replaces every setting), `base_url(impl IntoBaseUrl)`,
/// `http_client`, `reqwest_client` (with auth-core's `reqwest` feature), `clock`, `retry`,
/// `http_config`, `timeout`, `connect_timeout`, `max_response_bytes`, `max_in_flight`,
/// `application`.
#[macro_export]
macro_rules! client_builder_setters {
    ($config:ident, $base_url:ident) => {
        /// Takes every transport setting from a shared [`auth_core::Config`] (built once for
        /// all providers); setters called afterwards change this builder only.
        pub fn config(mut self, shared: &$crate::Config) -> Self {
            self.$config = shared.clone();
            self
        }

        /// Sets the API's base URL (an [`auth_core::BaseUrl`], a string or a `url::Url`):
        /// `https://`, or plain `http://` for loopback addresses only. A bad URL is reported
        /// by `build()`.
        pub fn base_url(mut self, url: impl $crate::config::IntoBaseUrl) -> Self {
            self.$base_url = Some(url.into_base_url());
            self
        }

        /// Uses your own [`auth_core::HttpClient`] instead of the default reqwest client.
        pub fn http_client(mut self, client: ::std::sync::Arc<dyn $crate::HttpClient>) -> Self {
            self.$config = self.$config.http_client(client);
            self
        }

        $crate::__reqwest_client_setter!($config);

        /// Sets the clock (tests use [`auth_core::FakeClock`]).
        pub fn clock(mut self, clock: $crate::SharedClock) -> Self {
            self.$config = self.$config.clock(clock);
            self
        }

        /// Sets the retry policy (only requests that are safe to repeat are ever retried).
        pub fn retry(mut self, retry: $crate::RetryPolicy) -> Self {
            self.$config = self.$config.retry(retry);
            self
        }

        /// Sets all timeouts and limits at once.
        pub fn http_config(mut self, config: $crate::HttpConfig) -> Self {
            self.$config = self.$config.http_config(config);
            self
        }

        /// Sets the total time allowed for one call, retries and waits for a slot included.
        pub fn timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.$config = self.$config.timeout(timeout);
            self
        }

        /// Sets the time allowed to establish a connection.
        pub fn connect_timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.$config = self.$config.connect_timeout(timeout);
            self
        }

        /// Sets the largest response body accepted.
        pub fn max_response_bytes(mut self, limit: usize) -> Self {
            self.$config = self.$config.max_response_bytes(limit);
            self
        }

        /// Sets the most requests the client has in flight at once; a request waits for a
        /// slot, and the wait counts against its deadline.
        pub fn max_in_flight(mut self, limit: usize) -> Self {
            self.$config = self.$config.max_in_flight(limit);
            self
        }

        /// Puts the application's product token (`my-bank/2.1`) before the user agent.
        pub fn application(mut self, product: impl Into<String>) -> Self {
            self.$config = self.$config.application(product);
            self
        }
    };
}

/// The `reqwest_client` setter, present when auth-core has its `reqwest` feature.
#[cfg(feature = "reqwest")]
#[doc(hidden)]
#[macro_export]
macro_rules! __reqwest_client_setter {
    ($config:ident) => {
        /// Uses your own configured `reqwest::Client` (proxies, root certificates, mTLS) with
        /// the default adapter. Configure it with `redirect::Policy::none()`.
        pub fn reqwest_client(mut self, client: $crate::reqwest::Client) -> Self {
            self.$config = self.$config.reqwest_client(client);
            self
        }
    };
}

/// The `reqwest_client` setter, absent without auth-core's `reqwest` feature.
#[cfg(not(feature = "reqwest"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __reqwest_client_setter {
    ($config:ident) => {};
}
