//! The Server API client.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auth_core::base_url::encode_path_segment;
use auth_core::http_types::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use auth_core::http_types::{Method, StatusCode};
use auth_core::{
    BaseUrl, Config, ConfigError, HttpConfig, Replay, RetryPolicy, SharedClock, Transport,
};
use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::request::{
    BatchEnrollBody, ChallengeRequest, ClaimRequest, CreateSessionRequest,
    EnrollVerifiedAuthenticatorRequest, GetChallengeRequest, PasskeyImport, QueryActionsRequest,
    QueryUsersRequest, RefreshSessionBody, RevokeSessionBody, RevokeUserSessionsBody, TrackRequest,
    UpdateActionBody, UpdateDeviceBody, UpdateUserRequest, ValidateChallengeRequest,
    ValidateSessionBody, VerifyBody,
};
use crate::response::{
    ActionResponse, ActionSummary, BatchEnrollResponse, ChallengeResponse, ClaimResponse, Device,
    EnrollResponse, GetChallengeResponse, QueryUsersResponse, SessionTokens, TrackResponse,
    UpdateActionResponse, UserAttributes, UserAuthenticator, UserResponse,
    ValidateChallengeResponse, ValidateSessionResponse, VerifyResponse,
};
use crate::types::{
    AccessToken, ActionCode, ActionState, AuthenticatorId, ChallengeId, ClientId, DeviceId,
    IdempotencyKey, InvalidId, RefreshToken, SecretKey, Timestamp, UserId, VerificationCode,
};

/// The crate's version, sent in `User-Agent` and `X-Authsignal-Version`.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// An Authsignal region. The base URL includes `/v1`.
///
/// A region not listed here (UK is mentioned only by third parties) is reachable with
/// [`ClientBuilder::base_url`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Region {
    /// US (Oregon): `https://api.authsignal.com/v1`, the default.
    #[default]
    Us,
    /// AU (Sydney): `https://au.api.authsignal.com/v1`.
    Au,
    /// EU (Dublin): `https://eu.api.authsignal.com/v1`.
    Eu,
    /// CA (Montreal): `https://ca.api.authsignal.com/v1`.
    Ca,
}

impl Region {
    /// The region's base URL (with `/v1`).
    pub fn base_url(self) -> &'static str {
        match self {
            Region::Us => "https://api.authsignal.com/v1",
            Region::Au => "https://au.api.authsignal.com/v1",
            Region::Eu => "https://eu.api.authsignal.com/v1",
            Region::Ca => "https://ca.api.authsignal.com/v1",
        }
    }
}

/// The default timeouts: 5 s to connect, 10 s per request (the official SDKs use 2–10 s).
pub(crate) fn default_http_config() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        max_response_bytes: 1024 * 1024,
    }
}

/// The default retry policy: at most 2 retries, backing off about 100 ms then 200 ms.
///
/// Only replayable requests are retried: `GET`/`DELETE`, and track (which always carries an
/// idempotency key). Nothing that sends an OTP or changes state without a key is repeated.
pub(crate) fn default_retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(5),
    }
}

/// Builds a [`Client`]: [`Client::builder`] with the tenant's secret key, then the region
/// (or a base URL) and any of auth-core's shared transport settings.
///
/// The transport setters (`config`, `base_url`, `http_client`, `reqwest_client`, `clock`,
/// `retry`, `http_config`, `timeout`, `connect_timeout`, `max_response_bytes`,
/// `max_in_flight`, `application`) are auth-core's, the same for every provider. This crate's
/// defaults (5 s to connect, 10 s per request; at most 2 retries, about 100 ms then 200 ms
/// apart) apply until
/// [`ClientBuilder::config`] replaces them with a shared [`auth_core::Config`].
pub struct ClientBuilder {
    secret: SecretKey,
    config: Config,
    base_url: Option<Result<BaseUrl, ConfigError>>,
    step_up_action: Option<ActionCode>,
    step_up_redirect_url: Option<String>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    auth_core::client_builder_setters!(config, base_url);

    /// Uses a region's base URL (default: [`Region::Us`]); [`ClientBuilder::base_url`] sets
    /// any other (with `/v1`).
    pub fn region(mut self, region: Region) -> Self {
        self.base_url = Some(BaseUrl::parse(region.base_url()));
        self
    }

    /// Whether a region or base URL was set.
    pub(crate) fn has_base_url(&self) -> bool {
        self.base_url.is_some()
    }

    /// The action code [`auth_core::StepUp::start`] tracks (default `stepUp`).
    pub fn step_up_action(mut self, action: ActionCode) -> Self {
        self.step_up_action = Some(action);
        self
    }

    /// The redirect URL [`auth_core::StepUp::start`] sends with track.
    pub fn step_up_redirect_url(mut self, url: impl Into<String>) -> Self {
        self.step_up_redirect_url = Some(url.into());
        self
    }

    /// Builds the client; fails on a bad base URL, an empty key, or bad settings.
    pub fn build(self) -> Result<Client, Error> {
        let secret = self.secret.expose_secret();
        if secret.trim().is_empty() {
            return Err(InvalidId::new("secret key", "must not be empty").into());
        }
        if secret.chars().any(char::is_control) {
            return Err(InvalidId::new("secret key", "must not contain control characters").into());
        }
        let base = match self.base_url {
            Some(base) => base.map_err(auth_core::Error::from)?,
            None => BaseUrl::parse(Region::default().base_url()).map_err(auth_core::Error::from)?,
        };
        let transport = self.config.build(base, "authsignal", VERSION)?;
        let auth = BasicAuth::for_secret(secret);
        // Checked once here, so building the header per request cannot fail.
        auth.header()?;
        let step_up_action = match self.step_up_action {
            Some(a) => a,
            None => ActionCode::new("stepUp")?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                secret: self.secret,
                auth,
                step_up_action,
                step_up_redirect_url: self.step_up_redirect_url,
            }),
        })
    }
}

auth_core::secret_type! {
    /// The `Authorization` value, `Basic base64("<secret>:")`: a secret for the client's
    /// lifetime (zeroized on drop, redacted `Debug`).
    struct BasicAuth;
}

impl BasicAuth {
    /// `Basic base64("<secret>:")`. Every intermediate copy of the secret is a secret too
    /// (zeroized on drop), each built at its exact size so no reallocation leaves a copy
    /// behind.
    fn for_secret(secret: &str) -> Self {
        let mut user_pass = String::with_capacity(secret.len() + 1);
        user_pass.push_str(secret);
        user_pass.push(':');
        let user_pass = BasicAuth::new(user_pass);
        let encoded = BasicAuth::new(
            base64::engine::general_purpose::STANDARD.encode(user_pass.expose_secret()),
        );
        let mut value = String::with_capacity("Basic ".len() + encoded.expose_secret().len());
        value.push_str("Basic ");
        value.push_str(encoded.expose_secret());
        BasicAuth::new(value)
    }

    /// The base64 credentials (what a server echoing the header would show).
    fn credentials(&self) -> &str {
        let value = self.expose_secret();
        value.strip_prefix("Basic ").unwrap_or(value)
    }

    /// The header for one request, marked sensitive (`http` then hides it from `Debug`).
    fn header(&self) -> Result<HeaderValue, InvalidId> {
        let mut h = HeaderValue::from_str(self.expose_secret())
            .map_err(|_| InvalidId::new("secret key", "not a valid header value"))?;
        h.set_sensitive(true);
        Ok(h)
    }
}

struct Inner {
    transport: Transport,
    secret: SecretKey,
    auth: BasicAuth,
    step_up_action: ActionCode,
    step_up_redirect_url: Option<String>,
}

/// The Authsignal Server API client. Cheap to clone (clones share the connection pool).
///
/// ```no_run
/// # async fn run() -> Result<(), authsignal::Error> {
/// use authsignal::{ActionCode, Client, Region, SecretKey, TrackRequest, UserId};
///
/// let client = Client::builder(SecretKey::new(std::env::var("AUTHSIGNAL_SECRET").unwrap_or_default()))
///     .region(Region::Eu)
///     .build()?;
/// let decision = client
///     .track(&UserId::new("usr_123")?, &ActionCode::new("withdraw")?, TrackRequest::new())
///     .await?;
/// println!("{}", decision.state);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", self.inner.transport.base_url())
            .field("secret", &self.inner.secret)
            .finish_non_exhaustive()
    }
}

fn with_query(path: String, query: &[(&'static str, String)]) -> String {
    if query.is_empty() {
        return path;
    }
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    format!("{path}?{q}")
}

const NO_BODY: Option<&()> = None;

impl Client {
    /// Starts building a client for the tenant's secret key (the US region, this crate's
    /// default timeouts and retry policy, unless told otherwise).
    pub fn builder(secret: SecretKey) -> ClientBuilder {
        ClientBuilder {
            secret,
            config: Config::new()
                .http_config(default_http_config())
                .retry(default_retry_policy()),
            base_url: None,
            step_up_action: None,
            step_up_redirect_url: None,
        }
    }

    /// The client's transport (its slots bound the requests and step-ups in flight).
    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// The base URL in use.
    pub fn base_url(&self) -> &BaseUrl {
        self.inner.transport.base_url()
    }

    /// The client's clock (retry back-off, step-up expiry).
    pub(crate) fn clock(&self) -> &SharedClock {
        self.inner.transport.clock()
    }

    pub(crate) fn step_up_action(&self) -> &ActionCode {
        &self.inner.step_up_action
    }

    pub(crate) fn step_up_redirect_url(&self) -> Option<&str> {
        self.inner.step_up_redirect_url.as_deref()
    }

    async fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        replay: Replay,
    ) -> Result<Vec<u8>, Error> {
        self.send_scrubbed(method, path, body, replay, &[]).await
    }

    /// [`Client::send`] for a request carrying secrets (a token in the query, codes in the
    /// body): they are scrubbed from the API's error answers, in every spelling
    /// [`auth_core::error::scrub_secrets`] knows (raw, JSON-escaped, percent-encoded, base64).
    /// Transport errors never name the URL (auth-core's adapter drops it).
    async fn send_scrubbed<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        replay: Replay,
        secrets: &[&str],
    ) -> Result<Vec<u8>, Error> {
        let t = &self.inner.transport;
        let mut builder = t
            .request(method.clone(), path)
            .header(AUTHORIZATION, self.inner.auth.header()?)
            .header(ACCEPT, "application/json")
            .header("X-Authsignal-Version", VERSION);
        let bytes = match body {
            Some(b) => {
                builder = builder.header(CONTENT_TYPE, "application/json");
                serde_json::to_vec(b).map_err(|e| InvalidId::new("request body", e.to_string()))?
            }
            None => Vec::new(),
        };
        let request = builder
            .body(bytes)
            .map_err(|e| InvalidId::new("request", e.to_string()))?;
        tracing::debug!(target: "authsignal", %method, path = path.split('?').next().unwrap_or(""), "request");
        // Transport errors carry no URL (auth-core's adapter drops it), so no token either.
        let response = t.send(request, replay).await?;
        let status = response.status();
        tracing::debug!(target: "authsignal", status = status.as_u16(), "response");
        if status.is_success() {
            return Ok(response.into_body());
        }
        let retry_after = if status == StatusCode::TOO_MANY_REQUESTS {
            auth_core::retry::rate_limit_retry_after(response.headers(), t.clock().now())
        } else {
            None
        };
        // The key, the exact credentials of the Basic header, and what this request carried;
        // the scrubber also catches their JSON-escaped, percent-encoded and base64 forms.
        // (The whole credentials first: scrubbing the key first would leave their tail.)
        let mut scrub: Vec<&str> = vec![
            self.inner.auth.credentials(),
            self.inner.secret.expose_secret(),
        ];
        scrub.extend_from_slice(secrets);
        Err(Error::from_response(
            status.as_u16(),
            response.body(),
            retry_after,
            &scrub,
        ))
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        what: &'static str,
        method: Method,
        path: &str,
        body: Option<&B>,
        replay: Replay,
    ) -> Result<T, Error> {
        self.call_scrubbed(what, method, path, body, replay, &[])
            .await
    }

    /// [`Client::call`] for a request carrying secrets (tokens, codes): they are scrubbed
    /// from error texts should the server or the HTTP client echo them.
    async fn call_scrubbed<B: Serialize, T: DeserializeOwned>(
        &self,
        what: &'static str,
        method: Method,
        path: &str,
        body: Option<&B>,
        replay: Replay,
        secrets: &[&str],
    ) -> Result<T, Error> {
        let bytes = self
            .send_scrubbed(method, path, body, replay, secrets)
            .await?;
        Ok(auth_core::json::from_slice(what, &bytes)?)
    }

    /// A `POST` sent exactly once (CallConnect).
    pub(crate) async fn post_once<B: Serialize, T: DeserializeOwned>(
        &self,
        what: &'static str,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        self.call(what, Method::POST, path, Some(body), Replay::Never)
            .await
    }

    // ---- actions ------------------------------------------------------------------------

    /// **Track** an action: the rules decide (`ALLOW`, `BLOCK`, `CHALLENGE_REQUIRED` with its
    /// `url`/`token`, `REVIEW_REQUIRED` …).
    ///
    /// Always sends an idempotency key (yours, or a fresh UUID), so the retry policy may repeat
    /// the request after a dropped connection without creating a second action.
    pub async fn track(
        &self,
        user_id: &UserId,
        action: &ActionCode,
        mut request: TrackRequest,
    ) -> Result<TrackResponse, Error> {
        request.validate()?;
        if request.idempotency_key.is_none() {
            request.idempotency_key = Some(IdempotencyKey::generate());
        }
        let path = format!(
            "/users/{}/actions/{}",
            encode_path_segment(user_id.as_str()),
            encode_path_segment(action.as_str())
        );
        self.call(
            "track response",
            Method::POST,
            &path,
            Some(&request),
            Replay::IdempotencyKey,
        )
        .await
    }

    /// **Get action**: its state, timestamps, matched rules. Unknown key: [`Error::NotFound`].
    pub async fn get_action(
        &self,
        user_id: &UserId,
        action: &ActionCode,
        key: &IdempotencyKey,
    ) -> Result<ActionResponse, Error> {
        let path = action_path(user_id, action, key);
        self.call("action", Method::GET, &path, NO_BODY, Replay::ByMethod)
            .await
    }

    /// **Query user actions** (the last 30 days at most).
    pub async fn query_actions(
        &self,
        user_id: &UserId,
        query: &QueryActionsRequest,
    ) -> Result<Vec<ActionSummary>, Error> {
        let path = with_query(
            format!("/users/{}/actions", encode_path_segment(user_id.as_str())),
            &query.query(),
        );
        self.call("actions", Method::GET, &path, NO_BODY, Replay::ByMethod)
            .await
    }

    /// **Update action**: set its state (e.g. `REVIEW_SUCCEEDED` after a manual review).
    pub async fn update_action(
        &self,
        user_id: &UserId,
        action: &ActionCode,
        key: &IdempotencyKey,
        state: &ActionState,
    ) -> Result<UpdateActionResponse, Error> {
        if let ActionState::Other(s) = state
            && s.trim().is_empty()
        {
            return Err(InvalidId::new("state", "must not be empty").into());
        }
        let path = action_path(user_id, action, key);
        self.call(
            "updated action",
            Method::PATCH,
            &path,
            Some(&UpdateActionBody { state }),
            Replay::ByMethod,
        )
        .await
    }

    // ---- users --------------------------------------------------------------------------

    /// **Get user**: enrolment state and attributes. Unknown users are not an error
    /// (`is_enrolled == false`).
    pub async fn get_user(&self, user_id: &UserId) -> Result<UserResponse, Error> {
        let path = format!("/users/{}", encode_path_segment(user_id.as_str()));
        self.call("user", Method::GET, &path, NO_BODY, Replay::ByMethod)
            .await
    }

    /// **Get user** with a redirect URL (seed era): the response's `url` opens the enrolment /
    /// self-service UI, which returns to `redirect_url`.
    pub async fn get_user_with_redirect(
        &self,
        user_id: &UserId,
        redirect_url: &str,
    ) -> Result<UserResponse, Error> {
        crate::request::check_url("redirect URL", &Some(redirect_url.to_owned()))?;
        let path = with_query(
            format!("/users/{}", encode_path_segment(user_id.as_str())),
            &[("redirectUrl", redirect_url.to_owned())],
        );
        self.call("user", Method::GET, &path, NO_BODY, Replay::ByMethod)
            .await
    }

    /// **Update user** (an upsert: `PATCH /users/{userId}`); returns the attributes after the
    /// update.
    pub async fn update_user(
        &self,
        user_id: &UserId,
        request: &UpdateUserRequest,
    ) -> Result<UserAttributes, Error> {
        request.validate()?;
        let path = format!("/users/{}", encode_path_segment(user_id.as_str()));
        self.call(
            "user attributes",
            Method::PATCH,
            &path,
            Some(request),
            Replay::ByMethod,
        )
        .await
    }

    /// **Identify** a user (the seed era's name for [`Client::update_user`], sent as the current
    /// API's `PATCH`).
    pub async fn identify(
        &self,
        user_id: &UserId,
        request: &UpdateUserRequest,
    ) -> Result<UserAttributes, Error> {
        self.update_user(user_id, request).await
    }

    /// **Delete user** and their authenticators.
    pub async fn delete_user(&self, user_id: &UserId) -> Result<(), Error> {
        let path = format!("/users/{}", encode_path_segment(user_id.as_str()));
        self.send(Method::DELETE, &path, NO_BODY, Replay::ByMethod)
            .await
            .map(drop)
    }

    /// **Query users** (one page; repeat with `last_evaluated_user_id` while the response has
    /// one).
    pub async fn query_users(
        &self,
        query: &QueryUsersRequest,
    ) -> Result<QueryUsersResponse, Error> {
        query.validate()?;
        let path = with_query("/users".to_owned(), &query.query());
        let token = query.token_secret();
        let bytes = self
            .send_scrubbed(
                Method::GET,
                &path,
                NO_BODY,
                Replay::ByMethod,
                token.as_slice(),
            )
            .await?;
        Ok(auth_core::json::from_slice("users", &bytes)?)
    }

    // ---- authenticators -----------------------------------------------------------------

    /// **Get authenticators** of a user.
    pub async fn get_authenticators(
        &self,
        user_id: &UserId,
    ) -> Result<Vec<UserAuthenticator>, Error> {
        let path = format!(
            "/users/{}/authenticators",
            encode_path_segment(user_id.as_str())
        );
        self.call(
            "authenticators",
            Method::GET,
            &path,
            NO_BODY,
            Replay::ByMethod,
        )
        .await
    }

    /// **Enroll a verified authenticator** (e.g. SMS to a phone number you verified).
    pub async fn enroll_verified_authenticator(
        &self,
        user_id: &UserId,
        request: &EnrollVerifiedAuthenticatorRequest,
    ) -> Result<EnrollResponse, Error> {
        request.validate()?;
        let path = format!(
            "/users/{}/authenticators",
            encode_path_segment(user_id.as_str())
        );
        self.call_scrubbed(
            "enrolled authenticator",
            Method::POST,
            &path,
            Some(request),
            Replay::Never,
            &request.secrets(),
        )
        .await
    }

    /// **Batch enroll** passkeys (import).
    pub async fn batch_enroll_authenticators(
        &self,
        authenticators: &[PasskeyImport],
    ) -> Result<BatchEnrollResponse, Error> {
        if authenticators.is_empty() {
            return Err(InvalidId::new("batch enroll", "no authenticators").into());
        }
        for a in authenticators {
            a.validate()?;
        }
        self.call(
            "batch enroll result",
            Method::POST,
            "/users/authenticators",
            Some(&BatchEnrollBody { authenticators }),
            Replay::Never,
        )
        .await
    }

    /// **Delete an authenticator**.
    pub async fn delete_authenticator(
        &self,
        user_id: &UserId,
        authenticator_id: &AuthenticatorId,
    ) -> Result<(), Error> {
        let path = format!(
            "/users/{}/authenticators/{}",
            encode_path_segment(user_id.as_str()),
            encode_path_segment(authenticator_id.as_str())
        );
        self.send(Method::DELETE, &path, NO_BODY, Replay::ByMethod)
            .await
            .map(drop)
    }

    // ---- challenges ---------------------------------------------------------------------

    /// **Validate** a challenge token server-side.
    ///
    /// With [`ValidateChallengeRequest::new`] the expected user and action are sent, and the
    /// answer is checked too: a response for another user or action is
    /// [`Error::TokenMismatch`]. Success means `is_valid == true` — look at nothing else.
    pub async fn validate_challenge(
        &self,
        request: &ValidateChallengeRequest,
    ) -> Result<ValidateChallengeResponse, Error> {
        let resp: ValidateChallengeResponse = self
            .call_scrubbed(
                "validation",
                Method::POST,
                "/validate",
                Some(request),
                Replay::Never,
                &[request.token_secret()],
            )
            .await?;
        let (user, action) = request.expected();
        let user_ok = user.is_none_or(|u| resp.user_id.as_ref() == Some(u));
        let action_ok = action.is_none_or(|a| resp.action() == Some(a));
        let answered = resp.user_id.is_some() || resp.action().is_some();
        if (resp.is_valid || answered) && !(user_ok && action_ok) {
            return Err(Error::TokenMismatch {
                user: resp
                    .user_id
                    .as_ref()
                    .map(|u| u.as_str().to_owned())
                    .unwrap_or_default(),
                action: resp
                    .action()
                    .map(|a| a.as_str().to_owned())
                    .unwrap_or_default(),
            });
        }
        Ok(resp)
    }

    /// **Challenge**: send an OTP by SMS, e-mail or WhatsApp (sent once, never retried).
    pub async fn challenge(&self, request: &ChallengeRequest) -> Result<ChallengeResponse, Error> {
        request.validate()?;
        self.call(
            "challenge",
            Method::POST,
            "/challenge",
            Some(request),
            Replay::Never,
        )
        .await
    }

    /// **Verify** the code the user typed.
    pub async fn verify(
        &self,
        challenge_id: &ChallengeId,
        code: &VerificationCode,
    ) -> Result<VerifyResponse, Error> {
        if code.expose_secret().trim().is_empty() {
            return Err(InvalidId::new("verification code", "must not be empty").into());
        }
        let body = VerifyBody {
            challenge_id,
            verification_code: code,
        };
        self.call_scrubbed(
            "verification",
            Method::POST,
            "/verify",
            Some(&body),
            Replay::Never,
            &[code.expose_secret()],
        )
        .await
    }

    /// **Claim** a verified challenge for a user: returns a token for `/validate` or
    /// `/sessions`.
    pub async fn claim_challenge(&self, request: &ClaimRequest) -> Result<ClaimResponse, Error> {
        self.call(
            "claim",
            Method::POST,
            "/claim",
            Some(request),
            Replay::Never,
        )
        .await
    }

    /// **Get challenge** (`GET /challenges?…`).
    pub async fn get_challenge(
        &self,
        request: &GetChallengeRequest,
    ) -> Result<GetChallengeResponse, Error> {
        let q = request.query();
        if q.is_empty() {
            return Err(InvalidId::new("get challenge", "give a challenge id or user").into());
        }
        let path = with_query("/challenges".to_owned(), &q);
        self.call("challenge", Method::GET, &path, NO_BODY, Replay::ByMethod)
            .await
    }

    // ---- sessions -----------------------------------------------------------------------

    /// **Create session**: exchange a challenge token for access and refresh tokens.
    ///
    /// A refused token is [`Error::InvalidSession`], as on every session call.
    pub async fn create_session(
        &self,
        request: &CreateSessionRequest,
    ) -> Result<SessionTokens, Error> {
        self.call_scrubbed(
            "session",
            Method::POST,
            "/sessions",
            Some(request),
            Replay::Never,
            &[request.token_secret()],
        )
        .await
        .map_err(Error::for_session)
    }

    /// **Validate session**: the access token's user, optionally only for `client_ids`.
    ///
    /// An expired, revoked or unknown token is [`Error::InvalidSession`] (the API's 401), not
    /// [`Error::Unauthorized`]: the secret key is fine.
    pub async fn validate_session(
        &self,
        access_token: &AccessToken,
        client_ids: &[ClientId],
    ) -> Result<ValidateSessionResponse, Error> {
        let body = ValidateSessionBody {
            access_token,
            client_ids,
        };
        // Reads only: safe to repeat after a dropped connection.
        self.call_scrubbed(
            "session",
            Method::POST,
            "/sessions/validate",
            Some(&body),
            Replay::SideEffectFree,
            &[access_token.expose_secret()],
        )
        .await
        .map_err(Error::for_session)
    }

    /// **Refresh session**: new tokens for a refresh token (the old ones stop working).
    pub async fn refresh_session(
        &self,
        refresh_token: &RefreshToken,
    ) -> Result<SessionTokens, Error> {
        let body = RefreshSessionBody { refresh_token };
        self.call_scrubbed(
            "session",
            Method::POST,
            "/sessions/refresh",
            Some(&body),
            Replay::Never,
            &[refresh_token.expose_secret()],
        )
        .await
        .map_err(Error::for_session)
    }

    /// **Revoke session**.
    pub async fn revoke_session(&self, access_token: &AccessToken) -> Result<(), Error> {
        let body = RevokeSessionBody { access_token };
        self.send_scrubbed(
            Method::POST,
            "/sessions/revoke",
            Some(&body),
            Replay::Never,
            &[access_token.expose_secret()],
        )
        .await
        .map(drop)
        .map_err(Error::for_session)
    }

    /// **Revoke all sessions of a user**.
    pub async fn revoke_user_sessions(&self, user_id: &UserId) -> Result<(), Error> {
        let body = RevokeUserSessionsBody { user_id };
        self.send(
            Method::POST,
            "/sessions/user/revoke",
            Some(&body),
            Replay::Never,
        )
        .await
        .map(drop)
    }

    // ---- devices ------------------------------------------------------------------------

    /// **Get devices** of a user.
    pub async fn get_devices(&self, user_id: &UserId) -> Result<Vec<Device>, Error> {
        let path = format!("/users/{}/devices", encode_path_segment(user_id.as_str()));
        self.call("devices", Method::GET, &path, NO_BODY, Replay::ByMethod)
            .await
    }

    /// **Invalidate a device**: it will no longer count as known.
    pub async fn invalidate_device(
        &self,
        user_id: &UserId,
        device_id: &DeviceId,
    ) -> Result<Device, Error> {
        let path = format!("{}/invalidate", device_path(user_id, device_id));
        self.call("device", Method::POST, &path, NO_BODY, Replay::Never)
            .await
    }

    /// **Update a device**: remember it until `remembered_until` (`PATCH
    /// /users/{userId}/devices/{deviceId}`, listed in the docs; no official SDK wraps it).
    pub async fn update_device(
        &self,
        user_id: &UserId,
        device_id: &DeviceId,
        remembered_until: &Timestamp,
    ) -> Result<Device, Error> {
        if remembered_until.unix_seconds().is_none() {
            return Err(InvalidId::new(
                "remembered until",
                format!("`{remembered_until}` is not an RFC 3339 time"),
            )
            .into());
        }
        let body = UpdateDeviceBody { remembered_until };
        self.call(
            "device",
            Method::PATCH,
            &device_path(user_id, device_id),
            Some(&body),
            Replay::Never,
        )
        .await
    }
}

fn device_path(user_id: &UserId, device_id: &DeviceId) -> String {
    format!(
        "/users/{}/devices/{}",
        encode_path_segment(user_id.as_str()),
        encode_path_segment(device_id.as_str())
    )
}

fn action_path(user_id: &UserId, action: &ActionCode, key: &IdempotencyKey) -> String {
    format!(
        "/users/{}/actions/{}/{}",
        encode_path_segment(user_id.as_str()),
        encode_path_segment(action.as_str()),
        encode_path_segment(key.as_str())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::{HttpRequest, TransportError};
    use std::sync::Mutex;

    #[cfg(feature = "reqwest")]
    #[test]
    fn regions_and_urls() {
        assert_eq!(
            Region::default().base_url(),
            "https://api.authsignal.com/v1"
        );
        assert!(
            Client::builder(SecretKey::new("k"))
                .base_url("http://example.com/v1")
                .build()
                .is_err()
        );
        assert!(Client::builder(SecretKey::new("")).build().is_err());
        let c = Client::builder(SecretKey::new("k"))
            .region(Region::Au)
            .build()
            .unwrap();
        assert_eq!(c.base_url().as_str(), "https://au.api.authsignal.com/v1");
    }

    /// The client keeps the key and the ready-made `Basic base64("<key>:")` value for its
    /// whole life, both in zeroizing secret types: its `Debug` (and the builder's) shows
    /// neither, in any form.
    #[test]
    fn debug_of_the_client_shows_no_secret() {
        let key = "YOUR_AUTHSIGNAL_SECRET_KEY";
        let builder = Client::builder(SecretKey::new(key));
        let shown_builder = format!("{builder:?}");
        let client = builder.build().unwrap();
        let basic = "WU9VUl9BVVRIU0lHTkFMX1NFQ1JFVF9LRVk6";
        assert_eq!(client.inner.auth.credentials(), basic);
        assert_eq!(format!("{:?}", client.inner.auth), "BasicAuth([redacted])");
        let shown = format!("{client:?} {:?} {shown_builder}", client.clone());
        for form in [key, basic, "WU9VUl9BVVRI", "Basic "] {
            assert!(!shown.contains(form), "{form} in {shown}");
        }
        assert!(shown.contains("[redacted]"), "{shown}");
    }

    /// A closure client that records every request and answers `status` with `body`.
    fn recording(
        status: u16,
        content_type: &'static str,
        body: &'static [u8],
    ) -> (Arc<dyn auth_core::HttpClient>, Arc<Mutex<Vec<HttpRequest>>>) {
        let seen: Arc<Mutex<Vec<HttpRequest>>> = Arc::default();
        let log = seen.clone();
        let fake = move |req: HttpRequest| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(req);
                Ok::<_, TransportError>(
                    http::Response::builder()
                        .status(status)
                        .header("content-type", content_type)
                        .body(body.to_vec())
                        .unwrap(),
                )
            }
        };
        (Arc::new(fake), seen)
    }

    #[tokio::test]
    async fn request_shape_with_a_closure_client() {
        let (fake, seen) = recording(
            200,
            "application/json; charset=utf-8",
            br#"{"idempotencyKey":"k1","state":"ALLOW"}"#,
        );
        let client = Client::builder(SecretKey::new("YOUR_AUTHSIGNAL_SECRET_KEY"))
            .http_client(fake)
            .build()
            .unwrap();
        let r = client
            .track(
                &UserId::new("a/b").unwrap(),
                &ActionCode::new("signIn").unwrap(),
                TrackRequest::new(),
            )
            .await
            .unwrap();
        assert_eq!(r.state, ActionState::Allow);
        let reqs = seen.lock().unwrap();
        let req = &reqs[0];
        assert_eq!(
            req.uri().to_string(),
            "https://api.authsignal.com/v1/users/a%2Fb/actions/signIn"
        );
        assert_eq!(
            req.headers()[AUTHORIZATION],
            "Basic WU9VUl9BVVRIU0lHTkFMX1NFQ1JFVF9LRVk6"
        );
        assert!(req.headers()[AUTHORIZATION].is_sensitive());
        assert_eq!(req.headers()["x-authsignal-version"], VERSION);
        assert_eq!(req.headers()[CONTENT_TYPE], "application/json");
        let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
        assert_eq!(body["idempotencyKey"].as_str().unwrap().len(), 36);
        assert!(!format!("{req:?}").contains("WU9VUl9"));
    }

    /// The HTTP client's error text names the URL: a token in the query must not leak
    /// through it (connection refused on a port nobody listens on).
    #[cfg(feature = "reqwest")]
    #[tokio::test]
    async fn a_token_in_the_query_never_shows_in_transport_errors() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = Client::builder(SecretKey::new("k"))
            .base_url(format!("http://127.0.0.1:{port}/v1"))
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        let token = "eyJ.tok+en/secret=";
        let err = client
            .query_users(&QueryUsersRequest::new().token(crate::ChallengeToken::new(token)))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Core(auth_core::Error::Transport(t))
                if t.kind() == auth_core::TransportErrorKind::Connect),
            "{err:?}"
        );
        let shown = format!("{err} {err:?}");
        let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        assert!(
            !shown.contains(token) && !shown.contains(&encoded),
            "{shown}"
        );
        // (auth-core's reqwest adapter drops URLs from transport errors.)
    }

    /// A server that echoes the request body in its error description: the tokens and codes
    /// the request carried are scrubbed from the error.
    #[tokio::test]
    async fn secrets_echoed_by_the_server_are_scrubbed_from_api_errors() {
        let echo = |req: HttpRequest| async move {
            let sent = String::from_utf8_lossy(req.body()).replace('"', "'");
            let body = serde_json::json!({"errorCode": "invalid_request", "errorDescription": format!("bad body {sent}")});
            Ok::<_, TransportError>(
                http::Response::builder()
                    .status(400)
                    .body(body.to_string().into_bytes())
                    .unwrap(),
            )
        };
        let client = Client::builder(SecretKey::new("k"))
            .http_client(Arc::new(echo))
            .build()
            .unwrap();
        let (u, a) = (UserId::new("u").unwrap(), ActionCode::new("a").unwrap());
        let token = crate::ChallengeToken::new("tok-echoed-1");
        let mut errors = vec![
            client
                .validate_challenge(&ValidateChallengeRequest::new(token.clone(), u.clone(), a))
                .await
                .unwrap_err(),
            client
                .verify(
                    &ChallengeId::new("c").unwrap(),
                    &VerificationCode::new("otp-918273"),
                )
                .await
                .unwrap_err(),
            client
                .create_session(&CreateSessionRequest::new(
                    ClientId::new("web").unwrap(),
                    token,
                ))
                .await
                .unwrap_err(),
            client
                .refresh_session(&RefreshToken::new("rst-echoed-2"))
                .await
                .unwrap_err(),
            client
                .validate_session(&AccessToken::new("ast-echoed-3"), &[])
                .await
                .unwrap_err(),
        ];
        errors.push(
            client
                .revoke_session(&AccessToken::new("ast-echoed-4"))
                .await
                .unwrap_err(),
        );
        let shown = format!(
            "{errors:?} {}",
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
        for secret in [
            "tok-echoed-1",
            "otp-918273",
            "rst-echoed-2",
            "ast-echoed-3",
            "ast-echoed-4",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        // The rest of the description is kept.
        assert!(errors.iter().all(|e| matches!(e, Error::InvalidRequest(a)
            if a.description.as_deref().is_some_and(|d| d.contains("bad body") && d.contains("[redacted]")))), "{shown}");
    }

    /// One shared [`auth_core::Config`] for every provider: `config(&shared)` takes its HTTP
    /// client, clock, retry policy and application token; the region still picks the URL.
    #[tokio::test]
    async fn a_shared_config_is_taken_whole() {
        let (fake, seen) = recording(503, "application/json", b"{}");
        let clock = auth_core::FakeClock::at_unix(0);
        let shared = Config::new()
            .http_client(fake)
            .clock(Arc::new(clock.clone()))
            .retry(RetryPolicy::none())
            .application("my-bank/2.1");
        let client = Client::builder(SecretKey::new("k"))
            .config(&shared)
            .region(Region::Eu)
            .build()
            .unwrap();
        let err = client
            .get_user(&UserId::new("u").unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Server(_)), "{err:?}");
        let reqs = seen.lock().unwrap();
        assert_eq!(reqs.len(), 1, "the shared policy does not retry");
        assert!(clock.sleeps().is_empty());
        assert_eq!(
            reqs[0].uri().to_string(),
            "https://eu.api.authsignal.com/v1/users/u"
        );
        let ua = reqs[0].headers()["user-agent"].to_str().unwrap();
        assert!(ua.starts_with("my-bank/2.1 authsignal/"), "{ua}");
        // A bad base URL surfaces from build().
        let err = Client::builder(SecretKey::new("k"))
            .config(&shared)
            .base_url("http://api.example.com/v1")
            .build()
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Core(auth_core::Error::Config(ConfigError::InsecureScheme { .. }))
            ),
            "{err:?}"
        );
    }

    #[test]
    fn timeouts_are_on_by_default() {
        let c = default_http_config();
        assert_eq!(c.timeout, Duration::from_secs(10));
        assert_eq!(c.connect_timeout, Duration::from_secs(5));
        assert_eq!(default_retry_policy().max_attempts, 3);
    }

    /// A fake that fails the first `fail` calls with a connection error, then answers.
    fn flaky(
        fail: usize,
        log: Arc<Mutex<Vec<HttpRequest>>>,
    ) -> impl Fn(
        HttpRequest,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<auth_core::HttpResponse, TransportError>>
                + Send,
        >,
    > + Send
    + Sync {
        move |req: HttpRequest| {
            let log = log.clone();
            Box::pin(async move {
                let n = {
                    let mut l = log.lock().unwrap();
                    l.push(req);
                    l.len()
                };
                if n <= fail {
                    return Err(TransportError::new(
                        auth_core::TransportErrorKind::Connect,
                        "connection reset",
                    ));
                }
                Ok(http::Response::builder()
                    .status(200)
                    .body(
                        br#"{"idempotencyKey":"from-server","state":"ALLOW","challengeId":"c"}"#
                            .to_vec(),
                    )
                    .unwrap())
            })
        }
    }

    fn flaky_client(fail: usize) -> (Client, Arc<Mutex<Vec<HttpRequest>>>, auth_core::FakeClock) {
        let log: Arc<Mutex<Vec<HttpRequest>>> = Arc::default();
        let clock = auth_core::FakeClock::at_unix(0);
        let client = Client::builder(SecretKey::new("k"))
            .http_client(Arc::new(flaky(fail, log.clone())))
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap();
        (client, log, clock)
    }

    #[tokio::test]
    async fn track_retries_with_the_same_generated_key() {
        let (client, log, clock) = flaky_client(2);
        client
            .track(
                &UserId::new("u").unwrap(),
                &ActionCode::new("a").unwrap(),
                TrackRequest::new(),
            )
            .await
            .unwrap();
        let reqs = log.lock().unwrap();
        assert_eq!(reqs.len(), 3);
        let keys: Vec<String> = reqs
            .iter()
            .map(|r| {
                let v: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
                v["idempotencyKey"].as_str().unwrap().to_owned()
            })
            .collect();
        assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
        assert_eq!(clock.sleeps().len(), 2);
    }

    #[tokio::test]
    async fn otp_and_claim_are_sent_once() {
        let (client, log, _) = flaky_client(1);
        let err = client
            .challenge(&ChallengeRequest::sms(ActionCode::new("a").unwrap(), "+1"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Core(auth_core::Error::Transport(_))),
            "{err:?}"
        );
        assert_eq!(log.lock().unwrap().len(), 1);
        // A read is retried.
        let (client, log, _) = flaky_client(1);
        client
            .get_challenge(&GetChallengeRequest::by_id(ChallengeId::new("c").unwrap()))
            .await
            .unwrap();
        assert_eq!(log.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn reads_carry_no_body_and_no_content_type() {
        let (client, log, _) = flaky_client(0);
        client.get_user(&UserId::new("u 1").unwrap()).await.unwrap();
        client
            .delete_user(&UserId::new("u").unwrap())
            .await
            .unwrap();
        let reqs = log.lock().unwrap();
        for r in reqs.iter() {
            assert!(r.body().is_empty());
            assert!(r.headers().get(CONTENT_TYPE).is_none());
            assert_eq!(r.headers()[ACCEPT], "application/json");
            assert!(
                r.headers()["user-agent"]
                    .to_str()
                    .unwrap()
                    .starts_with("authsignal/")
            );
        }
        assert_eq!(
            reqs[0].uri().to_string(),
            "https://api.authsignal.com/v1/users/u%201"
        );
        assert_eq!(reqs[1].method(), Method::DELETE);
    }
}
