//! The Loginapp REST client and its per-user [`Flow`].

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use auth_core::poll::{PollConfig, PollStatus, poll_until, poll_until_cancelled};
use auth_core::{BaseUrl, Classify, Config, ConfigError, IntoBaseUrl, Replay, Transport};
use http::header::{ACCEPT, CONTENT_TYPE, COOKIE, HeaderName, HeaderValue};
use http::{Method, Request};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use crate::Error;
use crate::cookie::CookieJar;
use crate::document::{
    Device, MobileOnlyChallenge, QrCode, StepResponse, parse_error, parse_success,
};
use crate::endpoints::{Endpoints, fill};
use crate::error::invalid;
use crate::limits::MAX_INPUT_BYTES;
use crate::model::{ApplicationId, DeviceId, ErrorCode, FlowState, NextAuthStep, Otp, Password};

/// A Loginapp REST client: base URL, REST path, CSRF header value, endpoint table, transport.
///
/// Cheap to clone and `Send + Sync`; it holds no cookies. Every authentication flow gets its
/// own [`Flow`] (its own cookie jar) from [`Client::flow`], so concurrent flows of different
/// users never share a session. Your own [`HttpClient`](auth_core::HttpClient) or
/// `reqwest::Client` must not keep cookies of its own (no reqwest `cookie_store`): a
/// client-wide store would mix the sessions of concurrent flows.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) transport: Transport,
    rest_root: String,
    csrf: HeaderValue,
    endpoints: Endpoints,
    target_application: Option<ApplicationId>,
    poll: PollConfig,
    /// The step-up interface's target application and the users' attached sessions.
    pub(crate) step_up: crate::stepup::StepUpState,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("loginapp", &self.inner.transport.base_url())
            .field("rest_root", &self.inner.rest_root)
            .field("target_application", &self.inner.target_application)
            .field("poll", &self.inner.poll)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`]: the Loginapp's base URL (required, given to [`Client::builder`]), the
/// Airlock-specific settings below, and the transport settings every oob-auth client builder
/// shares ([`auth_core::client_builder_setters!`]: `config(&shared)`, `base_url`,
/// `http_client`, `reqwest_client`, `clock`, `retry`, timeouts, limits, `application`).
///
/// `retry` applies to the status poll only: step calls (which send pushes or count failed
/// attempts) are sent once, whatever the policy.
pub struct ClientBuilder {
    config: Config,
    base_url: Option<Result<BaseUrl, ConfigError>>,
    rest_path: String,
    csrf: String,
    endpoints: Endpoints,
    target_application: Option<ApplicationId>,
    step_up_application: Option<ApplicationId>,
    poll: PollConfig,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("rest_path", &self.rest_path)
            .field("target_application", &self.target_application)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    auth_core::client_builder_setters!(config, base_url);

    /// The REST root below the Loginapp URL (default `/rest`; `""` when the base URL already
    /// ends in the REST root).
    pub fn rest_path(mut self, path: &str) -> Self {
        self.rest_path = path.to_owned();
        self
    }

    /// The `X-Same-Domain` value (default `1`; any non-empty value works, documented S4).
    pub fn csrf_value(mut self, value: &str) -> Self {
        self.csrf = value.to_owned();
        self
    }

    /// Starts flows with `applications/{id}/access/` for this Loginapp application (default:
    /// the default application). Not to be confused with
    /// [`application`](Self::application), the product token of the user agent.
    pub fn target_application(mut self, application: ApplicationId) -> Self {
        self.target_application = Some(application);
        self
    }

    /// The Loginapp application the step-up interface ([`auth_core::StepUp`]) accesses: one
    /// whose flow requires Airlock 2FA (e.g. `ebanking`, while users log in to `portal`).
    /// Required for [`StepUp::start`](auth_core::StepUp::start).
    pub fn step_up_application(mut self, application: ApplicationId) -> Self {
        self.step_up_application = Some(application);
        self
    }

    /// Overrides endpoint paths (see [`Endpoints`]).
    pub fn endpoints(mut self, endpoints: Endpoints) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// The default polling interval and deadline for [`Flow::wait`] (default: every 1.5 s, for
    /// at most 3 minutes — the interval the Loginapp UI uses is unconfirmed).
    pub fn poll_config(mut self, poll: PollConfig) -> Self {
        self.poll = poll;
        self
    }

    /// Validates everything and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let base = self
            .base_url
            .ok_or_else(|| ConfigError::invalid("base_url", "the Loginapp URL is required"))??;
        let csrf = csrf_header(&self.csrf)?;
        let rest = self.rest_path.trim_matches('/');
        if rest.contains(['?', '#']) {
            return Err(ConfigError::invalid("rest_path", "must be a path").into());
        }
        let rest_root = if rest.is_empty() {
            String::new()
        } else {
            format!("/{rest}")
        };
        let transport = self
            .config
            .build(base, "airlock-iam", env!("CARGO_PKG_VERSION"))?;
        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                rest_root,
                csrf,
                endpoints: self.endpoints,
                target_application: self.target_application,
                poll: self.poll,
                step_up: crate::stepup::StepUpState::new(self.step_up_application),
            }),
        })
    }
}

impl Client {
    /// The client's transport (its slots bound the requests and step-ups in flight).
    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// The CSRF header the Loginapp requires when "CSRF Protection" is on (documented S3, S4):
    /// `X-Same-Domain`, sent on every request.
    pub const CSRF_HEADER: HeaderName = HeaderName::from_static("x-same-domain");

    /// Starts building a client for the Loginapp at `loginapp_url` (a string, a `url::Url` or
    /// an [`auth_core::BaseUrl`]), e.g. `https://iam.example.com/auth` (behind Airlock Gateway)
    /// or `https://iam.example.com/auth-login` (internal). `https://` is required except for
    /// loopback hosts; a bad URL is reported by [`ClientBuilder::build`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use airlock_iam::{ApplicationId, Client};
    /// use auth_core::{HttpRequest, HttpResponse, TransportError, TransportErrorKind};
    ///
    /// // Any `HttpClient` works; the default (feature `reqwest`) needs none.
    /// let offline = |_: HttpRequest| async {
    ///     Err::<HttpResponse, _>(TransportError::new(TransportErrorKind::Connect, "offline"))
    /// };
    /// let shared = auth_core::Config::new().timeout(std::time::Duration::from_secs(5));
    /// let client = Client::builder("https://iam.example.com/auth")
    ///     .config(&shared)
    ///     .target_application(ApplicationId::new("ebanking").unwrap())
    ///     .http_client(Arc::new(offline))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(
    ///     client.url("public/authentication/password/check/").as_str(),
    ///     "https://iam.example.com/auth/rest/public/authentication/password/check/"
    /// );
    /// assert!(Client::builder("http://iam.example.com/auth").build().is_err());
    /// ```
    pub fn builder(loginapp_url: impl IntoBaseUrl) -> ClientBuilder {
        ClientBuilder {
            config: Config::new(),
            base_url: Some(loginapp_url.into_base_url()),
            rest_path: "/rest".into(),
            csrf: "1".into(),
            endpoints: Endpoints::default(),
            target_application: None,
            step_up_application: None,
            poll: PollConfig::every(
                std::time::Duration::from_millis(1500),
                std::time::Duration::from_secs(180),
            ),
        }
    }

    /// A new flow with an empty cookie jar (a new server session).
    pub fn flow(&self) -> Flow {
        Flow {
            client: self.clone(),
            csrf: self.inner.csrf.clone(),
            inner: Mutex::new(FlowInner {
                jar: CookieJar::new(),
                state: FlowState::Start,
                session_id: None,
            }),
        }
    }

    /// Resumes a flow saved with [`Flow::save`] (e.g. kept by a web application between two
    /// of its own HTTP requests, or carried by a step-up handle into another process).
    ///
    /// The saved state came from outside the process, so it is validated before anything is
    /// sent: the format version; the Loginapp it belongs to (a flow saved for another Loginapp
    /// or REST root is refused, never sent elsewhere); every cookie
    /// ([`CookieJar::validate_for`]: valid names and values, and a domain this client's
    /// Loginapp host belongs to); the `X-Same-Domain` value and the session id. Any failure is
    /// [`auth_core::ConfigError::Invalid`] (in [`Error::Core`]), naming what was wrong but no
    /// cookie value.
    pub fn resume(&self, saved: SavedFlow) -> Result<Flow, Error> {
        if !(1..=SavedFlow::VERSION).contains(&saved.version) {
            return Err(invalid(
                "saved flow",
                format!("unknown format version {}", saved.version),
            ));
        }
        let root = self.url("");
        match &saved.loginapp {
            Some(loginapp) if loginapp.as_str() == root.as_str() => {}
            // Version 1 named no Loginapp: its cookies' domains are all there is to check.
            None if saved.version == 1 => {}
            None => return Err(invalid("saved flow", "it names no Loginapp")),
            Some(_) => {
                return Err(invalid(
                    "saved flow",
                    "it belongs to another Loginapp (or REST root)",
                ));
            }
        }
        saved.cookies.validate_for(&root)?;
        if let Some(id) = &saved.session_id
            && (id.len() > MAX_INPUT_BYTES || id.chars().any(char::is_control))
        {
            return Err(invalid(
                "saved flow",
                "the session id is too long or has control characters",
            ));
        }
        let csrf = match &saved.csrf {
            None => self.inner.csrf.clone(),
            Some(value) => csrf_header(value).map_err(|_| {
                invalid(
                    "saved flow",
                    "its X-Same-Domain value is empty, too long or not a header value",
                )
            })?,
        };
        Ok(Flow {
            client: self.clone(),
            csrf,
            inner: Mutex::new(FlowInner {
                jar: saved.cookies,
                state: saved.state,
                session_id: saved.session_id,
            }),
        })
    }

    /// The full URL of an endpoint path (relative to the REST root).
    pub fn url(&self, endpoint: &str) -> Url {
        let path = format!(
            "{}/{}",
            self.inner.rest_root,
            endpoint.trim_start_matches('/')
        );
        self.inner.transport.base_url().join(&path)
    }

    /// The endpoint table.
    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    /// The Loginapp application flows start with, if configured.
    pub fn target_application(&self) -> Option<&ApplicationId> {
        self.inner.target_application.as_ref()
    }

    /// The default polling configuration.
    pub fn poll_config(&self) -> &PollConfig {
        &self.inner.poll
    }
}

/// A saved flow: the Loginapp it belongs to, its cookies, its `X-Same-Domain` value, the step
/// it is at and the session's `data.id`.
///
/// Serializable, for a web application that keeps the flow in its own session store between
/// requests (and the state of a step-up handle). It holds the session cookies in clear when
/// serialized: store it like a secret. `Debug` redacts the cookie values. Read back, it is
/// validated by [`Client::resume`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SavedFlow {
    /// The format version ([`SavedFlow::VERSION`]; version 1 had no `loginapp` and `csrf`).
    pub version: u32,
    /// The Loginapp REST root the flow belongs to (`<loginapp>/rest/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loginapp: Option<String>,
    /// The `X-Same-Domain` value the flow sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
    /// The step the flow was at.
    pub state: FlowState,
    /// The last `data.id` of an `authentication.session` document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The flow's cookies.
    pub cookies: CookieJar,
}

impl SavedFlow {
    /// The format version this crate writes (it reads this one and the ones before).
    pub const VERSION: u32 = 2;
}

/// The longest `X-Same-Domain` value accepted.
const MAX_CSRF_BYTES: usize = 256;

/// Validates an `X-Same-Domain` value: non-empty, at most [`MAX_CSRF_BYTES`], a header value.
fn csrf_header(value: &str) -> Result<HeaderValue, ConfigError> {
    let refuse = |reason: String| ConfigError::invalid("csrf_value", reason);
    if value.trim().is_empty() || value.len() > MAX_CSRF_BYTES {
        return Err(refuse(format!(
            "X-Same-Domain must be 1 to {MAX_CSRF_BYTES} bytes, not blank"
        )));
    }
    HeaderValue::from_str(value).map_err(|e| refuse(e.to_string()))
}

struct FlowInner {
    jar: CookieJar,
    state: FlowState,
    session_id: Option<String>,
}

/// One authentication flow of one user: its own cookie jar and the step it is at.
///
/// Methods take `&self` (the jar sits behind a mutex that is never held across an `.await`),
/// so a flow can be polled from one task while another reads its state.
pub struct Flow {
    client: Client,
    csrf: HeaderValue,
    inner: Mutex<FlowInner>,
}

impl fmt::Debug for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("Flow")
            .field("state", &inner.state)
            .field("session_id", &inner.session_id)
            .field("cookies", &inner.jar)
            .finish()
    }
}

/// What a call sends.
struct Call<'a> {
    what: &'static str,
    method: Method,
    endpoint: String,
    body: Option<Value>,
    replay: Replay,
    secrets: Vec<&'a str>,
}

impl Flow {
    fn lock(&self) -> MutexGuard<'_, FlowInner> {
        auth_core::sync::lock(&self.inner)
    }

    /// The client this flow runs on.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Where the flow stands.
    pub fn state(&self) -> FlowState {
        self.lock().state.clone()
    }

    /// The last `data.id` of the session document (an identifier, not a bearer token).
    pub fn session_id(&self) -> Option<String> {
        self.lock().session_id.clone()
    }

    /// How many cookies the flow holds.
    pub fn cookie_count(&self) -> usize {
        self.lock().jar.len()
    }

    /// Snapshot of cookies and state, to resume later with [`Client::resume`].
    pub fn save(&self) -> SavedFlow {
        let inner = self.lock();
        SavedFlow {
            version: SavedFlow::VERSION,
            loginapp: Some(self.client.url("").to_string()),
            csrf: self.csrf.to_str().ok().map(str::to_owned),
            state: inner.state.clone(),
            session_id: inner.session_id.clone(),
            cookies: inner.jar.clone(),
        }
    }

    async fn send(&self, call: Call<'_>) -> Result<(u16, Vec<u8>), Error> {
        let url = self.client.url(&call.endpoint);
        let transport = &self.client.inner.transport;
        let now = transport.clock().now();
        let cookie = self.lock().jar.cookie_header(&url, now);
        let body = match &call.body {
            Some(v) => serde_json::to_vec(v).map_err(|e| invalid("request body", e.to_string()))?,
            None => Vec::new(),
        };
        let mut builder = Request::builder()
            .method(call.method.clone())
            .uri(url.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .header(Client::CSRF_HEADER, self.csrf.clone());
        if let Some(cookie) = cookie {
            builder = builder.header(COOKIE, cookie);
        }
        let request = builder
            .body(body)
            .map_err(|e| invalid("request", e.to_string()))?;
        tracing::debug!(what = call.what, method = %call.method, endpoint = %call.endpoint, "Loginapp call");
        let response = transport.send(request, call.replay).await?;
        let status = response.status().as_u16();
        tracing::debug!(what = call.what, status, "Loginapp answer");
        {
            let mut inner = self.lock();
            inner
                .jar
                .store_response(&url, response.headers(), transport.clock().now());
        }
        if response.status().is_success() {
            return Ok((status, response.into_body()));
        }
        if status == 429 {
            let retry_after = auth_core::retry::rate_limit_retry_after(
                response.headers(),
                transport.clock().now(),
            );
            return Err(Error::RateLimited { retry_after });
        }
        let body = response.into_body();
        let cookies = self.lock().jar.values();
        let mut secrets: Vec<&str> = call.secrets.clone();
        secrets.extend(cookies.iter().map(String::as_str));
        match parse_error(status, &body) {
            Ok(mut doc) => {
                doc.scrub(&secrets);
                if let Some(next) = doc.next_auth_step() {
                    self.lock().state = FlowState::Next(next.clone());
                }
                Err(Error::from_document(doc))
            }
            Err(()) => Err(Error::Core(auth_core::Error::status(
                status, &body, &secrets,
            ))),
        }
    }

    async fn step(&self, call: Call<'_>) -> Result<StepResponse, Error> {
        let (_, body) = self.send(call).await?;
        let step = StepResponse::from_json(&body)?;
        self.record(&step);
        Ok(step)
    }

    fn record(&self, step: &StepResponse) {
        let mut inner = self.lock();
        inner.state = match &step.next {
            Some(next) => FlowState::Next(next.clone()),
            None => FlowState::Done,
        };
        inner.session_id = Some(step.id.clone());
    }

    fn post(what: &'static str, endpoint: &str, body: Option<Value>) -> Call<'static> {
        Call {
            what,
            method: Method::POST,
            endpoint: endpoint.to_owned(),
            body,
            replay: Replay::Never,
            secrets: Vec::new(),
        }
    }

    /// Starts the flow: accesses the configured application (or the default application).
    /// See [`Flow::access_application`].
    pub async fn start(&self) -> Result<FlowState, Error> {
        match self.client.inner.target_application.clone() {
            Some(app) => self.access_application(&app).await,
            None => self.access_default_application().await,
        }
    }

    /// `POST public/authentication/applications/{id}/access/`: selects an application.
    ///
    /// Before the user is authenticated enough, the Loginapp answers 401 `NOT_AUTHORIZED` with
    /// the first step in `meta.nextAuthStep` — the normal start of a flow, returned here as
    /// `Ok(FlowState::Next(step))`. A 2xx answer means "authorized": `Ok(FlowState::Done)`.
    pub async fn access_application(&self, app: &ApplicationId) -> Result<FlowState, Error> {
        let endpoint = fill(
            &self.client.inner.endpoints.application_access,
            "applicationId",
            app.as_str(),
        );
        self.access(Self::post("application access", &endpoint, None))
            .await
    }

    /// `POST public/authentication/default-application/access/`; as
    /// [`Flow::access_application`].
    pub async fn access_default_application(&self) -> Result<FlowState, Error> {
        let endpoint = self
            .client
            .inner
            .endpoints
            .default_application_access
            .clone();
        self.access(Self::post("default application access", &endpoint, None))
            .await
    }

    async fn access(&self, call: Call<'_>) -> Result<FlowState, Error> {
        let what = call.what;
        match self.send(call).await {
            Ok((_, body)) => {
                let doc = parse_success(what, &body)?;
                if let Ok((resource, meta)) = doc.single(what) {
                    let step = StepResponse::from_resource(resource, meta)?;
                    self.record(&step);
                } else {
                    self.lock().state = FlowState::Done;
                }
                Ok(self.state())
            }
            Err(Error::NotAuthorized { document }) => match document.next_auth_step() {
                Some(next) => Ok(FlowState::Next(next.clone())),
                None => Err(Error::NotAuthorized { document }),
            },
            Err(e) => Err(e),
        }
    }

    /// `POST public/authentication/password/check/` `{"username","password"}`: the password
    /// step (it also starts the default application's flow when nothing was accessed yet).
    ///
    /// Errors: [`Error::WrongPassword`] (with the temporary lock expiry; the flow stays at
    /// `PASSWORD_REQUIRED`), [`Error::UserLocked`], [`Error::TemporarilyLocked`]. Never retried.
    pub async fn check_password(
        &self,
        username: &str,
        password: &Password,
    ) -> Result<StepResponse, Error> {
        check_input("username", username)?;
        check_input("password", password.expose_secret())?;
        let endpoint = self.client.inner.endpoints.password_check.clone();
        let mut call = Self::post(
            "password check",
            &endpoint,
            Some(json!({"username": username, "password": password.expose_secret()})),
        );
        call.secrets.push(password.expose_secret());
        self.step(call).await
    }

    /// `POST public/authentication/otp/check/` `{"otp"}`: the generic OTP step
    /// (`OTP_REQUIRED`, `MTAN_OTP_REQUIRED`). Wrong → [`Error::WrongOtp`], same step.
    pub async fn check_otp(&self, otp: &Otp) -> Result<StepResponse, Error> {
        check_input("otp", otp.expose_secret())?;
        let endpoint = self.client.inner.endpoints.otp_check.clone();
        let mut call = Self::post(
            "OTP check",
            &endpoint,
            Some(json!({"otp": otp.expose_secret()})),
        );
        call.secrets.push(otp.expose_secret());
        self.step(call).await
    }

    /// `POST .../airlock-2fa/mobile-only/challenge/retrieve/`: the mobile-only challenge, with
    /// the `mobileAuthUri` split into its session token and user id.
    ///
    /// Afterwards the flow's state is `AIRLOCK_2FA_POLLING_REQUIRED` (the challenge document
    /// carries no `nextAuthStep`; polling is what the observed transcript does next).
    pub async fn retrieve_mobile_only_challenge(&self) -> Result<MobileOnlyChallenge, Error> {
        let what = "mobile-only challenge";
        let endpoint = self
            .client
            .inner
            .endpoints
            .mobile_only_challenge_retrieve
            .clone();
        let (_, body) = self.send(Self::post(what, &endpoint, None)).await?;
        let challenge = MobileOnlyChallenge::from_json(&body)?;
        self.lock().state = FlowState::Next(NextAuthStep::Airlock2faPollingRequired);
        Ok(challenge)
    }

    /// `POST .../airlock-2fa/status/poll/` once: `Pending` while the answer carries a polling
    /// code, `Ready` with the step response otherwise (the next step, or done).
    ///
    /// A 429 that outlasts the transport's retries is no answer: still `Pending`, with the
    /// server's `Retry-After` (at most [`MAX_RETRY_AFTER`](crate::limits::MAX_RETRY_AFTER); `0` gives no hint, so the poll
    /// interval applies) or else
    /// [`RATE_LIMIT_BACKOFF`](crate::limits::RATE_LIMIT_BACKOFF) as the wait before the next poll, so
    /// [`Flow::wait`] keeps going until its deadline. Errors end polling: [`Error::Rejected`],
    /// [`Error::TimedOut`], any other error document.
    pub async fn poll(&self) -> Result<PollStatus<StepResponse>, Error> {
        match self.poll_once().await {
            Ok(Some(step)) => Ok(PollStatus::Ready(step)),
            Ok(None) => Ok(PollStatus::pending()),
            Err(e @ Error::RateLimited { .. }) => {
                let retry_after = e.retry_after();
                tracing::debug!(?retry_after, "status poll rate limited; still pending");
                Ok(PollStatus::Pending { retry_after })
            }
            Err(e) => Err(e),
        }
    }

    /// One status poll: `None` while the answer carries a polling code; a 429 left as
    /// [`Error::RateLimited`] (the step-up's `check` maps it).
    pub(crate) async fn poll_once(&self) -> Result<Option<StepResponse>, Error> {
        let endpoint = self.client.inner.endpoints.status_poll.clone();
        let mut call = Self::post("status poll", &endpoint, None);
        // Reading the status has no side effect: the only call safe to repeat (spec §7).
        call.replay = Replay::SideEffectFree;
        let step = self.step(call).await?;
        Ok(match &step.next {
            Some(next) if next.is_polling() => None,
            _ => Some(step),
        })
    }

    /// Polls with the client's [`PollConfig`] until the user decided.
    pub async fn wait(&self) -> Result<StepResponse, Error> {
        let config = self.client.inner.poll.clone();
        self.wait_with(&config).await
    }

    /// Polls with `config` until the user decided; past the deadline the error is
    /// [`auth_core::Error::DeadlineExceeded`] (kind `Timeout`). Dropping the future
    /// stops polling.
    pub async fn wait_with(&self, config: &PollConfig) -> Result<StepResponse, Error> {
        let clock = self.client.inner.transport.clock().clone();
        poll_until(clock.as_ref(), config, |_| self.poll()).await
    }

    /// As [`Flow::wait_with`], but stops with [`auth_core::Error::Cancelled`] as soon as
    /// `cancel` completes (e.g. the user closed the page, a shutdown signal).
    pub async fn wait_or_cancel(
        &self,
        config: &PollConfig,
        cancel: impl Future,
    ) -> Result<StepResponse, Error> {
        let clock = self.client.inner.transport.clock().clone();
        poll_until_cancelled(clock.as_ref(), config, cancel, |_| self.poll()).await
    }

    /// `POST .../airlock-2fa/devices/retrieve/`: the user's devices (after
    /// `AIRLOCK_2FA_DEVICE_CHOICE_REQUIRED`).
    pub async fn retrieve_devices(&self) -> Result<Vec<Device>, Error> {
        let what = "device list";
        let endpoint = self.client.inner.endpoints.devices_retrieve.clone();
        let (_, body) = self.send(Self::post(what, &endpoint, None)).await?;
        Device::list_from_json(&body)
    }

    /// `POST .../airlock-2fa/devices/{deviceId}/select/` (path unconfirmed): selects the device
    /// the push goes to. Never retried (a retry could send a second push).
    pub async fn select_device(&self, device: &DeviceId) -> Result<StepResponse, Error> {
        let endpoint = fill(
            &self.client.inner.endpoints.device_select,
            "deviceId",
            device.as_str(),
        );
        self.step(Self::post("device selection", &endpoint, None))
            .await
    }

    /// `POST .../airlock-2fa/offline/switch/` (path unconfirmed): leaves One-Touch for an
    /// offline factor (passcode, offline QR). The response names the OTP-entry step, and may
    /// carry a QR attribute for offline QR.
    pub async fn switch_to_offline(&self) -> Result<StepResponse, Error> {
        let endpoint = self.client.inner.endpoints.offline_switch.clone();
        self.step(Self::post("offline switch", &endpoint, None))
            .await
    }

    /// `POST .../airlock-2fa/otp/check/` `{"otp"}` (path and key unconfirmed): checks an
    /// Airlock 2FA passcode or offline-QR OTP. Wrong → [`Error::WrongOtp`].
    pub async fn check_passcode(&self, passcode: &Otp) -> Result<StepResponse, Error> {
        check_input("passcode", passcode.expose_secret())?;
        let endpoint = self.client.inner.endpoints.passcode_check.clone();
        let mut call = Self::post(
            "passcode check",
            &endpoint,
            Some(json!({"otp": passcode.expose_secret()})),
        );
        call.secrets.push(passcode.expose_secret());
        self.step(call).await
    }

    /// `POST .../airlock-2fa/qr-code/retrieve/` (path and attribute unconfirmed): the QR code
    /// of the step the flow is at — offline QR after [`Flow::switch_to_offline`] (scan it with
    /// the token, then [`Flow::check_passcode`]), or online QR (then [`Flow::wait`]).
    ///
    /// The answer names no next step, so the flow's state stays as the server left it: at the
    /// OTP step after the offline switch a poll would be an `UNEXPECTED_CALL`.
    pub async fn retrieve_qr_code(&self) -> Result<QrCode, Error> {
        let what = "QR code";
        let endpoint = self.client.inner.endpoints.qr_code_retrieve.clone();
        let (_, body) = self.send(Self::post(what, &endpoint, None)).await?;
        QrCode::from_json(&body)
    }

    /// `POST public/authentication/password/change/` `{"oldPassword"?, "newPassword"}` (path,
    /// keys and step code unconfirmed): the mandatory password change step.
    pub async fn change_password(
        &self,
        old_password: Option<&Password>,
        new_password: &Password,
    ) -> Result<StepResponse, Error> {
        check_input("new password", new_password.expose_secret())?;
        let mut body = json!({"newPassword": new_password.expose_secret()});
        let mut secrets = vec![new_password.expose_secret()];
        if let Some(old) = old_password {
            check_input("old password", old.expose_secret())?;
            body["oldPassword"] = Value::from(old.expose_secret());
            secrets.push(old.expose_secret());
        }
        let endpoint = self.client.inner.endpoints.password_change.clone();
        let mut call = Self::post("password change", &endpoint, Some(body));
        call.secrets = secrets;
        self.step(call).await
    }

    /// Ends the flow: `POST public/logout/` (unconfirmed; Airlock's public logout call was not
    /// found), then forgets the cookies whatever the answer, so the next call starts a new
    /// server session. Returns whether the server confirmed (a 2xx answer); `Ok(false)` when it
    /// answered 404/405 (no such endpoint) — the flow is abandoned locally anyway.
    pub async fn abort(&self) -> Result<bool, Error> {
        let endpoint = self.client.inner.endpoints.logout.clone();
        let outcome = self.send(Self::post("logout", &endpoint, None)).await;
        {
            let mut inner = self.lock();
            inner.jar.clear();
            inner.state = FlowState::Start;
            inner.session_id = None;
        }
        match outcome {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.http_status(), Some(404 | 405)) => Ok(false),
            Err(e) if matches!(e.code(), Some(ErrorCode::UnexpectedCall)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn check_input(field: &'static str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if value.len() > MAX_INPUT_BYTES {
        return Err(invalid(
            field,
            format!("longer than {MAX_INPUT_BYTES} bytes"),
        ));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(invalid(field, "contains control characters"));
    }
    Ok(())
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Client>();
    is::<Flow>();
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;

    use auth_core::{HttpClient, HttpRequest, HttpResponse, TransportError};

    use super::*;

    type Seen = Arc<StdMutex<Vec<HttpRequest>>>;

    /// A closure client that records requests and answers from a list.
    fn fake(
        answers: Vec<(u16, &'static str, Option<&'static str>)>,
    ) -> (Arc<dyn HttpClient>, Seen) {
        let seen: Seen = Arc::new(StdMutex::new(Vec::new()));
        let answers = Arc::new(StdMutex::new(answers.into_iter()));
        let s = seen.clone();
        let client = move |req: HttpRequest| {
            s.lock().unwrap().push(req);
            let next = answers.lock().unwrap().next();
            async move {
                let (status, body, cookie) = next.ok_or_else(|| {
                    TransportError::new(auth_core::TransportErrorKind::Other, "no more answers")
                })?;
                let mut b = http::Response::builder().status(status);
                if let Some(c) = cookie {
                    b = b.header("set-cookie", c);
                }
                Ok::<HttpResponse, TransportError>(b.body(body.as_bytes().to_vec()).unwrap())
            }
        };
        (Arc::new(client), seen)
    }

    #[tokio::test]
    async fn requests_carry_headers_cookies_and_bodies() {
        let (http, seen) = fake(vec![
            (
                200,
                r#"{"data":{"type":"authentication.session","id":"1","attributes":{"nextAuthStep":"OTP_REQUIRED"}}}"#,
                Some("S=abc; Path=/; Secure"),
            ),
            (
                200,
                r#"{"data":{"type":"authentication.session","id":"1","attributes":{}}}"#,
                None,
            ),
        ]);
        let client = Client::builder("https://iam.example.com/auth-login")
            .rest_path("/custom-rest/")
            .csrf_value("yes")
            .http_client(http)
            .build()
            .unwrap();
        let flow = client.flow();
        flow.check_password("jdoe", &Password::new("pw"))
            .await
            .unwrap();
        assert!(flow.check_otp(&Otp::new("123456")).await.unwrap().is_done());
        let seen = seen.lock().unwrap();
        assert_eq!(
            seen[0].uri(),
            "https://iam.example.com/auth-login/custom-rest/public/authentication/password/check/"
        );
        assert_eq!(seen[0].method(), Method::POST);
        assert_eq!(seen[0].headers()["x-same-domain"], "yes");
        assert_eq!(seen[0].headers()["content-type"], "application/json");
        assert!(seen[0].headers().get(COOKIE).is_none());
        assert_eq!(
            serde_json::from_slice::<Value>(seen[0].body()).unwrap(),
            json!({"username": "jdoe", "password": "pw"})
        );
        let cookie = &seen[1].headers()[COOKIE];
        assert_eq!(cookie, "S=abc");
        assert!(cookie.is_sensitive());
        assert_eq!(
            serde_json::from_slice::<Value>(seen[1].body()).unwrap(),
            json!({"otp": "123456"})
        );
        assert!(
            seen[0].headers()["user-agent"]
                .to_str()
                .unwrap()
                .starts_with("airlock-iam/")
        );
    }

    #[tokio::test]
    async fn step_calls_are_never_retried_but_the_poll_is() {
        let (http, seen) = fake(vec![
            (503, "", None),
            (503, "", None),
            (
                200,
                r#"{"data":{"type":"authentication.session","id":"1","attributes":{}}}"#,
                None,
            ),
        ]);
        let clock = auth_core::FakeClock::at_unix(0);
        let client = Client::builder("https://iam.example.com/auth")
            .http_client(http)
            .clock(Arc::new(clock))
            .build()
            .unwrap();
        let flow = client.flow();
        let err = flow
            .check_password("jdoe", &Password::new("pw"))
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), Some(503));
        assert_eq!(seen.lock().unwrap().len(), 1, "password check sent once");
        // The poll is retried on 503 and then succeeds.
        assert!(matches!(flow.poll().await.unwrap(), PollStatus::Ready(_)));
        assert_eq!(seen.lock().unwrap().len(), 3);
    }
}
