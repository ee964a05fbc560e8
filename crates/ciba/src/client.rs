//! The CIBA client: configuration, client authentication, the backchannel request, token
//! requests and polling, notifications.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use auth_core::http_types::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use auth_core::http_types::{Method, Request};
use auth_core::poll::PollStatus;
use auth_core::sync::lock;
use auth_core::time::Timestamp;
use auth_core::{BaseUrl, Config, HttpResponse, Replay, SharedClock, Transport};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use url::Url;

use crate::Error;
use crate::discovery::{Endpoints, ProviderMetadata};
use crate::error::{Endpoint, NotificationError};
use crate::id_token::{Expected, IdTokenClaims, IdTokenVerifier};
use crate::jwks::{JwksCache, KeySet};
use crate::keys::{Algorithm, SigningKey, install_jwt_crypto};
use crate::limits::{
    CLIENT_ASSERTION_LIFETIME, DEFAULT_REQUEST_OBJECT_LIFETIME, MAX_INTERVAL, MAX_TRACKED_REQUESTS,
    SLOW_DOWN_STEP,
};
use crate::notification::{
    PingNotification, PushNotification, PushPayload, VerifiedPing, VerifiedPush,
};
use crate::request::{Acknowledgement, AuthRequest, AuthenticationRequest};
use crate::token::{
    CIBA_GRANT_TYPE, ErrorBody, Outcome, TokenPoll, TokenResponse, Tokens, classify,
};
use crate::types::{
    AuthReqId, ClientId, ClientNotificationToken, ClientSecret, DeliveryMode, ErrorCode,
};

const FORM: &str = "application/x-www-form-urlencoded";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How the client authenticates to the OP (at both the backchannel and the token endpoint).
#[derive(Clone)]
#[non_exhaustive]
pub enum ClientAuth {
    /// HTTP Basic with the form-encoded client id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic(ClientSecret),
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost(ClientSecret),
    /// A signed JWT assertion (RFC 7523): `iss` = `sub` = client id, `aud` = the OP's issuer, a
    /// fresh `jti`, `exp` one minute ahead.
    PrivateKeyJwt(SigningKey),
}

impl ClientAuth {
    /// `client_secret_basic`.
    pub fn secret_basic(secret: impl Into<String>) -> Self {
        ClientAuth::ClientSecretBasic(ClientSecret::new(secret))
    }

    /// `client_secret_post`.
    pub fn secret_post(secret: impl Into<String>) -> Self {
        ClientAuth::ClientSecretPost(ClientSecret::new(secret))
    }

    /// `private_key_jwt`.
    pub fn private_key_jwt(key: SigningKey) -> Self {
        ClientAuth::PrivateKeyJwt(key)
    }

    /// The method's registered name.
    pub fn method(&self) -> &'static str {
        match self {
            ClientAuth::ClientSecretBasic(_) => "client_secret_basic",
            ClientAuth::ClientSecretPost(_) => "client_secret_post",
            ClientAuth::PrivateKeyJwt(_) => "private_key_jwt",
        }
    }
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAuth::ClientSecretBasic(s) | ClientAuth::ClientSecretPost(s) => {
                f.debug_tuple(self.method()).field(s).finish()
            }
            ClientAuth::PrivateKeyJwt(k) => f.debug_tuple(self.method()).field(k).finish(),
        }
    }
}

/// Where the endpoints come from.
#[derive(Debug, Clone)]
enum Source {
    Issuer(BaseUrl),
    Manual(Box<Endpoints>),
}

/// Builds a [`Client`]. See the crate documentation for an example.
pub struct ClientBuilder {
    client_id: ClientId,
    auth: ClientAuth,
    endpoints: Option<Box<Endpoints>>,
    base_url: Option<Result<BaseUrl, auth_core::ConfigError>>,
    config: Config,
    delivery_mode: DeliveryMode,
    signed_requests: Option<bool>,
    request_signing_key: Option<SigningKey>,
    request_object_lifetime: Duration,
    id_token_algorithms: Option<Vec<Algorithm>>,
    leeway: Duration,
    fapi: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("client_id", &self.client_id)
            .field("auth", &self.auth)
            .field("endpoints", &self.endpoints)
            .field("base_url", &self.base_url)
            .field("delivery_mode", &self.delivery_mode)
            .field("fapi", &self.fapi)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    auth_core::client_builder_setters!(config, base_url);

    /// The OP's issuer (the same as [`ClientBuilder::base_url`]): the endpoints come from
    /// `<issuer>/.well-known/openid-configuration`, fetched on first use (or by
    /// [`Client::discover`]). `https://`, or `http://` for loopback only.
    pub fn issuer(mut self, issuer: impl auth_core::config::IntoBaseUrl) -> Self {
        self.base_url = Some(issuer.into_base_url());
        self
    }

    /// Sets the endpoints by hand (no discovery; the issuer is theirs).
    pub fn endpoints(mut self, endpoints: Endpoints) -> Self {
        self.endpoints = Some(Box::new(endpoints));
        self
    }

    /// The delivery mode the client is registered with at the OP (default poll).
    pub fn delivery_mode(mut self, mode: DeliveryMode) -> Self {
        self.delivery_mode = mode;
        self
    }

    /// Sends authentication requests as signed request objects (CIBA §7.1.1), signed with the
    /// `private_key_jwt` key unless [`ClientBuilder::request_signing_key`] names another. (On
    /// by default with [`ClientBuilder::fapi_ciba`].)
    pub fn signed_requests(mut self) -> Self {
        self.signed_requests = Some(true);
        self
    }

    /// Sends authentication requests as plain form parameters (the default, except with
    /// [`ClientBuilder::fapi_ciba`], which then refuses to build).
    pub fn unsigned_requests(mut self) -> Self {
        self.signed_requests = Some(false);
        self
    }

    /// The key request objects are signed with (implies [`ClientBuilder::signed_requests`]).
    pub fn request_signing_key(mut self, key: SigningKey) -> Self {
        self.request_signing_key = Some(key);
        self.signed_requests.get_or_insert(true);
        self
    }

    /// How long a signed request is valid (default 5 minutes; at most 60 minutes).
    pub fn request_object_lifetime(mut self, lifetime: Duration) -> Self {
        self.request_object_lifetime = lifetime;
        self
    }

    /// The ID token algorithms accepted (default RS256, PS256, ES256; with FAPI-CIBA PS256 and
    /// ES256).
    pub fn id_token_algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.id_token_algorithms = Some(algorithms.to_vec());
        self
    }

    /// The leeway on ID token times against the client's clock (default 60 s, at most 5 min).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Turns on the FAPI-CIBA profile: the build refuses `client_secret_*` authentication, RS256
    /// (assertions, request objects, ID tokens), unsigned authentication requests and push
    /// mode; requests are signed.
    pub fn fapi_ciba(mut self) -> Self {
        self.fapi = true;
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        install_jwt_crypto();
        let source = match (self.endpoints, self.base_url) {
            (Some(e), _) => Source::Manual(e),
            (None, Some(issuer)) => Source::Issuer(issuer.map_err(auth_core::Error::from)?),
            (None, None) => {
                return Err(crate::error::config(
                    "issuer",
                    "set `issuer(..)` (discovery) or `endpoints(..)`",
                ));
            }
        };
        if let ClientAuth::ClientSecretBasic(s) | ClientAuth::ClientSecretPost(s) = &self.auth
            && (s.expose_secret().is_empty() || s.expose_secret().chars().any(char::is_control))
        {
            return Err(crate::error::config(
                "client_secret",
                "must be non-empty, without control characters",
            ));
        }
        if self.leeway > Duration::from_secs(300) {
            return Err(crate::error::config("leeway", "at most 5 minutes"));
        }
        if self.request_object_lifetime < Duration::from_secs(10)
            || self.request_object_lifetime > Duration::from_secs(3600)
        {
            return Err(crate::error::config(
                "request_object_lifetime",
                "between 10 seconds and 60 minutes",
            ));
        }
        if let DeliveryMode::Other(m) = &self.delivery_mode {
            return Err(crate::error::config(
                "delivery_mode",
                format!("unknown mode `{m}`"),
            ));
        }
        if self.fapi {
            match &self.auth {
                ClientAuth::ClientSecretBasic(_) => {
                    return Err(Error::Profile("client_secret_basic"));
                }
                ClientAuth::ClientSecretPost(_) => {
                    return Err(Error::Profile("client_secret_post"));
                }
                ClientAuth::PrivateKeyJwt(k) if !k.algorithm().fapi_allowed() => {
                    return Err(Error::Profile(
                        "RS256 client assertions (use PS256 or ES256)",
                    ));
                }
                ClientAuth::PrivateKeyJwt(_) => {}
            }
        }
        let signed = self.signed_requests.unwrap_or(self.fapi);
        let request_key = if signed {
            match (self.request_signing_key, &self.auth) {
                (Some(k), _) => Some(k),
                (None, ClientAuth::PrivateKeyJwt(k)) => Some(k.clone()),
                (None, _) => {
                    return Err(crate::error::config(
                        "request_signing_key",
                        "signed requests need a key: use private_key_jwt or set request_signing_key",
                    ));
                }
            }
        } else {
            None
        };
        let algorithms = match (self.id_token_algorithms, self.fapi) {
            (Some(a), _) => a,
            (None, true) => vec![Algorithm::PS256, Algorithm::ES256],
            (None, false) => vec![Algorithm::RS256, Algorithm::PS256, Algorithm::ES256],
        };
        if algorithms.is_empty() {
            return Err(crate::error::config("id_token_algorithms", "at least one"));
        }
        if self.fapi {
            match &request_key {
                None => return Err(Error::Profile("unsigned authentication requests")),
                Some(k) if !k.algorithm().fapi_allowed() => {
                    return Err(Error::Profile("RS256 request objects (use PS256 or ES256)"));
                }
                Some(_) => {}
            }
            if algorithms.iter().any(|a| !a.fapi_allowed()) {
                return Err(Error::Profile(
                    "ID token algorithms other than PS256 and ES256",
                ));
            }
            if self.delivery_mode == DeliveryMode::Push {
                return Err(Error::Profile("push mode"));
            }
        }
        let base = match &source {
            Source::Issuer(i) => i.clone(),
            Source::Manual(e) => BaseUrl::parse(&e.issuer).map_err(auth_core::Error::from)?,
        };
        let transport = self.config.build(base, "ciba", env!("CARGO_PKG_VERSION"))?;
        Ok(Client {
            inner: Arc::new(Inner {
                client_id: self.client_id,
                auth: self.auth,
                source,
                resolved: tokio::sync::OnceCell::new(),
                transport,
                delivery_mode: self.delivery_mode,
                request_key,
                request_object_lifetime: self.request_object_lifetime,
                algorithms,
                leeway: self.leeway,
                fapi: self.fapi,
                jwks: JwksCache::default(),
                tracked: Mutex::new(HashMap::new()),
                pushed: Mutex::new(HashMap::new()),
            }),
        })
    }
}

/// What the client keeps per started request: polling state and the notification token.
struct Tracked {
    interval: Duration,
    next_at: SystemTime,
    expires_at: SystemTime,
    notification_token: Option<ClientNotificationToken>,
}

impl Tracked {
    /// Until when a notification for the request is taken.
    fn taken_until(&self) -> SystemTime {
        let grace = crate::limits::LATE_NOTIFICATION_GRACE;
        self.expires_at
            .checked_add(grace)
            .unwrap_or(self.expires_at)
    }
}

/// The OP as resolved (discovery done, or endpoints set by hand).
struct Resolved {
    endpoints: Endpoints,
    metadata: Option<ProviderMetadata>,
    verifier: IdTokenVerifier,
}

struct Inner {
    client_id: ClientId,
    auth: ClientAuth,
    source: Source,
    resolved: tokio::sync::OnceCell<Arc<Resolved>>,
    transport: Transport,
    delivery_mode: DeliveryMode,
    request_key: Option<SigningKey>,
    request_object_lifetime: Duration,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    fapi: bool,
    jwks: JwksCache,
    tracked: Mutex<HashMap<AuthReqId, Tracked>>,
    pushed: Mutex<HashMap<AuthReqId, (Outcome, SystemTime)>>,
}

/// A CIBA client of one OP. Cheap to clone: clones share the connection pool, the discovery
/// result, the JWKS cache and the per-request state.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.inner.client_id)
            .field("auth", &self.inner.auth)
            .field("source", &self.inner.source)
            .field("delivery_mode", &self.inner.delivery_mode)
            .field("fapi", &self.inner.fapi)
            .finish_non_exhaustive()
    }
}

fn random_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| Error::Signing("the system random generator failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Client {
    /// The client's transport (its slots bound the requests and step-ups in flight).
    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// Starts building a client with its OAuth client id and authentication.
    pub fn builder(client_id: ClientId, auth: ClientAuth) -> ClientBuilder {
        ClientBuilder {
            client_id,
            auth,
            endpoints: None,
            base_url: None,
            config: Config::new(),
            delivery_mode: DeliveryMode::Poll,
            signed_requests: None,
            request_signing_key: None,
            request_object_lifetime: DEFAULT_REQUEST_OBJECT_LIFETIME,
            id_token_algorithms: None,
            leeway: crate::limits::DEFAULT_LEEWAY,
            fapi: false,
        }
    }

    /// The client id.
    pub fn client_id(&self) -> &ClientId {
        &self.inner.client_id
    }

    /// The delivery mode the client is registered with.
    pub fn delivery_mode(&self) -> &DeliveryMode {
        &self.inner.delivery_mode
    }

    pub(crate) fn clock(&self) -> &SharedClock {
        self.inner.transport.clock()
    }

    /// Fetches and checks the discovery document now (otherwise it happens on first use, once;
    /// concurrent first uses share one fetch). Returns the endpoints.
    pub async fn discover(&self) -> Result<Endpoints, Error> {
        Ok(self.resolved().await?.endpoints.clone())
    }

    /// The OP's discovery document, when the client uses discovery.
    pub async fn metadata(&self) -> Result<Option<ProviderMetadata>, Error> {
        Ok(self.resolved().await?.metadata.clone())
    }

    async fn resolved(&self) -> Result<Arc<Resolved>, Error> {
        self.inner
            .resolved
            .get_or_try_init(|| {
                // Others wait on this fetch: it takes no slot they may hold.
                self.inner.transport.unslotted(self.resolve())
            })
            .await
            .cloned()
    }

    /// Discovers (or takes the configured endpoints) and builds the ID token verifier.
    async fn resolve(&self) -> Result<Arc<Resolved>, Error> {
        let (endpoints, metadata) = match &self.inner.source {
            Source::Manual(e) => ((**e).clone(), None),
            Source::Issuer(issuer) => {
                let m = self.fetch_metadata(issuer.as_str()).await?;
                (Endpoints::from_metadata(issuer.as_str(), &m)?, Some(m))
            }
        };
        if let Some(m) = &metadata {
            self.check_metadata(m)?;
        }
        let verifier = IdTokenVerifier::new(endpoints.issuer.clone(), self.inner.client_id.clone())
            .algorithms(&self.inner.algorithms)
            .leeway(self.inner.leeway);
        Ok(Arc::new(Resolved {
            endpoints,
            metadata,
            verifier,
        }))
    }

    async fn fetch_metadata(&self, issuer: &str) -> Result<ProviderMetadata, Error> {
        let url = Endpoints::discovery_url(issuer)?;
        let body = self.get_json(Endpoint::Discovery, &url).await?;
        Ok(auth_core::json::from_slice("discovery document", &body)?)
    }

    /// What the OP's metadata must say for this client to work.
    fn check_metadata(&self, m: &ProviderMetadata) -> Result<(), Error> {
        let modes = &m.backchannel_token_delivery_modes_supported;
        if !modes.is_empty() && !modes.contains(&self.inner.delivery_mode) {
            return Err(Error::Discovery(format!(
                "the OP does not support {} mode",
                self.inner.delivery_mode
            )));
        }
        if !m.grant_types_supported.is_empty()
            && !m.grant_types_supported.iter().any(|g| g == CIBA_GRANT_TYPE)
        {
            return Err(Error::Discovery(
                "the OP does not list the CIBA grant type".into(),
            ));
        }
        if let Some(key) = &self.inner.request_key {
            let algs = &m.backchannel_authentication_request_signing_alg_values_supported;
            if !algs.iter().any(|a| a == key.algorithm().as_str()) {
                return Err(Error::Discovery(format!(
                    "the OP does not accept authentication requests signed with {}",
                    key.algorithm()
                )));
            }
        }
        let methods = &m.token_endpoint_auth_methods_supported;
        if !methods.is_empty() && !methods.iter().any(|x| x == self.inner.auth.method()) {
            return Err(Error::Discovery(format!(
                "the OP does not support {} client authentication",
                self.inner.auth.method()
            )));
        }
        Ok(())
    }

    async fn get_json(&self, endpoint: Endpoint, url: &Url) -> Result<Vec<u8>, Error> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(url.as_str())
            .header(ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|e| crate::error::config("url", e.to_string()))?;
        let response = self.inner.transport.send(request, Replay::ByMethod).await?;
        if !response.status().is_success() {
            return Err(self.error_from(endpoint, &response, &[]));
        }
        Ok(response.into_body())
    }

    /// Turns an error answer into [`Error::Provider`] (OAuth error body) or [`Error::Core`].
    fn error_from(&self, endpoint: Endpoint, response: &HttpResponse, extra: &[String]) -> Error {
        let status = response.status().as_u16();
        let mut secrets: Vec<&str> = extra.iter().map(String::as_str).collect();
        let secret_text;
        if let ClientAuth::ClientSecretBasic(s) | ClientAuth::ClientSecretPost(s) = &self.inner.auth
        {
            secret_text = [s.expose_secret().to_owned(), form_encode(s.expose_secret())];
            secrets.extend(secret_text.iter().map(String::as_str));
        }
        let retry_after = if matches!(status, 429 | 503) {
            auth_core::retry::rate_limit_retry_after(response.headers(), self.clock().now())
        } else {
            None
        };
        match ErrorBody::parse(response.body()) {
            Some(b) => {
                Error::Provider(b.into_provider_error(endpoint, status, retry_after, &secrets))
            }
            None => Error::Core(auth_core::Error::status(status, response.body(), &secrets)),
        }
    }

    /// A form POST to `url` with client authentication (a fresh assertion per attempt).
    async fn post_form(
        &self,
        url: &Url,
        audience: &str,
        params: &[(String, String)],
        replay: Replay,
    ) -> Result<HttpResponse, Error> {
        self.inner
            .transport
            .send_built(&Method::POST, replay, |_| {
                self.build_post(url, audience, params)
            })
            .await
    }

    fn build_post(
        &self,
        url: &Url,
        audience: &str,
        params: &[(String, String)],
    ) -> Result<auth_core::HttpRequest, Error> {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params {
            form.append_pair(k, v);
        }
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(url.as_str())
            .header(CONTENT_TYPE, FORM)
            .header(ACCEPT, "application/json");
        let client_id = self.inner.client_id.as_str();
        match &self.inner.auth {
            ClientAuth::ClientSecretBasic(secret) => {
                let pair = format!(
                    "{}:{}",
                    form_encode(client_id),
                    form_encode(secret.expose_secret())
                );
                let encoded = zeroize::Zeroizing::new(STANDARD.encode(pair.as_bytes()));
                drop(zeroize::Zeroizing::new(pair));
                let mut value = HeaderValue::from_str(&format!("Basic {}", encoded.as_str()))
                    .map_err(|_| crate::error::config("client_secret", "not usable in a header"))?;
                value.set_sensitive(true);
                builder = builder.header(AUTHORIZATION, value);
            }
            ClientAuth::ClientSecretPost(secret) => {
                form.append_pair("client_id", client_id);
                form.append_pair("client_secret", secret.expose_secret());
            }
            ClientAuth::PrivateKeyJwt(key) => {
                let now = Timestamp::from_system_time(self.clock().now()).unix_seconds();
                let lifetime = i64::try_from(CLIENT_ASSERTION_LIFETIME.as_secs()).unwrap_or(60);
                let assertion = key.sign(
                    &json!({
                        "iss": client_id,
                        "sub": client_id,
                        "aud": audience,
                        "jti": random_id()?,
                        "iat": now,
                        "exp": now + lifetime,
                    }),
                    None,
                )?;
                form.append_pair("client_id", client_id);
                form.append_pair("client_assertion_type", JWT_BEARER);
                form.append_pair("client_assertion", &assertion);
            }
        }
        let body = zeroize::Zeroizing::new(form.finish());
        builder
            .body(body.as_bytes().to_vec())
            .map_err(|e| crate::error::config("request", e.to_string()))
    }

    /// Sends the backchannel authentication request (CIBA §7.1), **once** (it may make a phone
    /// ring: no retry, whatever happens), and checks the acknowledgement (§7.3).
    ///
    /// Everything checkable is checked first ([`Error::InvalidInput`], nothing sent): one
    /// non-empty hint, no reserved extension parameters, `binding_message` length and
    /// characters, `requested_expiry`, `user_code` support. Ping and push clients get a fresh
    /// 256-bit `client_notification_token` unless the request has one.
    pub async fn authenticate(&self, request: AuthenticationRequest) -> Result<AuthRequest, Error> {
        let mode = self.inner.delivery_mode.clone();
        request.validate(&mode)?;
        let resolved = self.resolved().await?;
        if request.user_code.is_some()
            && resolved
                .metadata
                .as_ref()
                .is_some_and(|m| !m.backchannel_user_code_parameter_supported)
        {
            return Err(Error::InvalidInput {
                field: "user_code",
                reason: "the OP's metadata says it does not support user_code".into(),
            });
        }
        let notification_token = match (&mode, &request.client_notification_token) {
            (DeliveryMode::Poll, _) => None,
            (_, Some(t)) => Some(t.clone()),
            (_, None) => Some(ClientNotificationToken::generate()?),
        };
        let issuer = resolved.endpoints.issuer.clone();
        let mut params: Vec<(String, String)> = Vec::new();
        match &self.inner.request_key {
            Some(key) => {
                let claims = request.request_object_claims(
                    notification_token.as_ref(),
                    self.inner.client_id.as_str(),
                    &issuer,
                    Timestamp::from_system_time(self.clock().now()).unix_seconds(),
                    self.inner.request_object_lifetime,
                    &random_id()?,
                );
                params.push((
                    "request".into(),
                    key.sign(&claims, Some("oauth-authz-req+jwt"))?,
                ));
            }
            None => {
                params.extend(
                    request
                        .params(notification_token.as_ref())
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v)),
                );
                params.extend(request.extra().iter().cloned());
            }
        }
        let mut secrets = request.secrets();
        if let Some(t) = &notification_token {
            secrets.push(t.expose_secret().to_owned());
        }
        let response = self
            .post_form(
                &resolved.endpoints.backchannel_authentication,
                &issuer,
                &params,
                Replay::Never,
            )
            .await?;
        if !response.status().is_success() {
            return Err(self.error_from(Endpoint::Backchannel, &response, &secrets));
        }
        let ack: Acknowledgement =
            auth_core::json::from_slice("backchannel authentication response", response.body())?;
        let now = self.clock().now();
        let started = ack
            .into_request(now, notification_token, mode)
            .map_err(|reason| Error::Protocol {
                endpoint: Endpoint::Backchannel,
                reason,
            })?;
        self.track(&started);
        Ok(started)
    }

    fn track(&self, r: &AuthRequest) {
        self.insert_tracked(
            r.auth_req_id.clone(),
            Tracked {
                interval: r.interval,
                next_at: r.issued_at + r.interval,
                expires_at: r.expires_at,
                notification_token: r.client_notification_token.clone(),
            },
        );
    }

    /// Inserts per-request state, keeping at most [`MAX_TRACKED_REQUESTS`] entries (expired
    /// ones go first, then the one closest to its end).
    fn insert_tracked(&self, id: AuthReqId, entry: Tracked) {
        let now = self.clock().now();
        let mut tracked = lock(&self.inner.tracked);
        if !tracked.contains_key(&id) && tracked.len() >= MAX_TRACKED_REQUESTS {
            tracked.retain(|_, t| t.taken_until() > now);
            if tracked.len() >= MAX_TRACKED_REQUESTS
                && let Some(oldest) = tracked
                    .iter()
                    .min_by_key(|(_, t)| t.expires_at)
                    .map(|(k, _)| k.clone())
            {
                tracked.remove(&oldest);
            }
        }
        tracked.insert(id, entry);
    }

    fn forget(&self, id: &AuthReqId) {
        lock(&self.inner.tracked).remove(id);
    }

    /// One token request (CIBA §10.1), sent once, whatever the interval: the building block of
    /// [`Client::poll`] and [`Client::poll_once`], which keep to the interval. An approval comes
    /// back with its ID token validated.
    pub async fn token_request(&self, auth_req_id: &AuthReqId) -> Result<TokenPoll, Error> {
        let resolved = self.resolved().await?;
        let params = [
            ("grant_type".to_owned(), CIBA_GRANT_TYPE.to_owned()),
            ("auth_req_id".to_owned(), auth_req_id.as_str().to_owned()),
        ];
        // Sent once: had the OP issued the tokens, a repeat would only get `invalid_grant`.
        // Callers that poll treat "not processed" errors (connection refused, 429, 503) as
        // "ask again after the interval".
        let response = self
            .post_form(
                &resolved.endpoints.token,
                &resolved.endpoints.issuer,
                &params,
                Replay::Never,
            )
            .await?;
        let status = response.status();
        if !status.is_success() {
            if status.as_u16() == 400
                && let Some(body) = ErrorBody::parse(response.body())
            {
                let description = body
                    .error_description
                    .as_deref()
                    .map(|d| crate::error::clean_description(d, &[]));
                if let Some(poll) = classify(&body.error, description) {
                    return Ok(poll);
                }
            }
            return Err(self.error_from(Endpoint::Token, &response, &[]));
        }
        let tokens = TokenResponse::parse(response.body())?;
        let approved = self.verify_tokens(tokens, auth_req_id, false).await?;
        Ok(TokenPoll::Done(Outcome::Approved(Box::new(approved))))
    }

    async fn verify_tokens(
        &self,
        t: TokenResponse,
        auth_req_id: &AuthReqId,
        push: bool,
    ) -> Result<Tokens, Error> {
        let id_token = t.id_token.clone().ok_or_else(|| Error::Protocol {
            endpoint: Endpoint::Token,
            reason: "no id_token in the token response (CIBA requests have scope openid)".into(),
        })?;
        let expected = Expected {
            access_token: Some(t.access_token.expose_secret()),
            refresh_token: t.refresh_token.as_ref().map(|r| r.expose_secret()),
            auth_req_id: Some(auth_req_id),
            push,
        };
        let claims = self
            .validate_id_token(id_token.expose_secret(), &expected)
            .await?;
        Ok(Tokens {
            auth_req_id: auth_req_id.clone(),
            expires_in: t.expires_in(),
            access_token: t.access_token,
            token_type: t.token_type,
            refresh_token: t.refresh_token,
            scope: t.scope,
            id_token,
            claims,
        })
    }

    /// Validates an ID token of this OP for this client (signature against the OP's JWKS,
    /// refetched on an unknown `kid`; then the claims; see [`IdTokenVerifier`]).
    pub async fn validate_id_token(
        &self,
        jwt: &str,
        expected: &Expected<'_>,
    ) -> Result<IdTokenClaims, Error> {
        let resolved = self.resolved().await?;
        let (kid, _) = IdTokenVerifier::peek_header(jwt)?;
        let now = self.clock().now();
        let jwks_url = resolved.endpoints.jwks.clone();
        let keys = self
            .inner
            .jwks
            .keys_for(kid.as_deref(), now, || {
                // Others wait on this fetch: it takes no slot they may hold.
                self.inner.transport.unslotted(async {
                    let body = self.get_json(Endpoint::Jwks, &jwks_url).await?;
                    KeySet::parse(&body)
                })
            })
            .await?;
        Ok(resolved.verifier.verify(jwt, &keys, now, expected)?)
    }

    /// One polling step for a request this client started: a token request if the interval
    /// has passed since the last one (never sooner, never after `expires_in`), else nothing.
    /// `Pending` says how long to wait before the next step.
    pub async fn poll_once(&self, request: &AuthRequest) -> Result<PollStatus<Outcome>, Error> {
        self.step(&request.auth_req_id, request.expires_at, request.interval)
            .await
    }

    pub(crate) async fn step(
        &self,
        id: &AuthReqId,
        expires_at: SystemTime,
        interval: Duration,
    ) -> Result<PollStatus<Outcome>, Error> {
        let now = self.clock().now();
        if now >= expires_at {
            self.forget(id);
            return Ok(PollStatus::Ready(Outcome::Expired));
        }
        // An interval from a handle is input: at most MAX_INTERVAL. Every time below is now
        // plus at most that or an hour-capped Retry-After, and past the expiry is the expiry.
        let interval = interval.min(MAX_INTERVAL);
        let after = |d: Duration| now.checked_add(d).unwrap_or(expires_at);
        let wait_until = |at: SystemTime| {
            let t = at.min(expires_at);
            PollStatus::Pending {
                retry_after: Some(
                    t.duration_since(now)
                        .unwrap_or(Duration::ZERO)
                        .max(Duration::from_millis(1)),
                ),
            }
        };
        if !lock(&self.inner.tracked).contains_key(id) {
            // A request started elsewhere (another instance, before a restart): no earlier
            // request is known, so one may go now.
            self.insert_tracked(
                id.clone(),
                Tracked {
                    interval,
                    next_at: now,
                    expires_at,
                    notification_token: None,
                },
            );
        }
        let current = {
            let mut tracked = lock(&self.inner.tracked);
            let Some(t) = tracked.get_mut(id) else {
                return Ok(wait_until(after(interval)));
            };
            if now < t.next_at {
                return Ok(wait_until(t.next_at));
            }
            // Reserve this slot, so a concurrent step does not send a second request.
            t.next_at = after(t.interval);
            t.interval
        };
        match self.token_request(id).await {
            Ok(TokenPoll::Done(outcome)) => {
                self.forget(id);
                Ok(PollStatus::Ready(outcome))
            }
            Ok(TokenPoll::Pending) => Ok(wait_until(after(current))),
            Ok(TokenPoll::SlowDown) => {
                // CIBA §11: 5 s more "for this and all subsequent requests".
                let mut tracked = lock(&self.inner.tracked);
                let next = match tracked.get_mut(id) {
                    Some(t) => {
                        t.interval = t.interval.saturating_add(SLOW_DOWN_STEP);
                        t.next_at = after(t.interval);
                        t.next_at
                    }
                    None => after(current.saturating_add(SLOW_DOWN_STEP)),
                };
                Ok(wait_until(next))
            }
            Err(e) if e.is_unprocessed() => {
                let wait = auth_core::Classify::retry_after(&e)
                    .unwrap_or(current)
                    .max(current);
                if let Some(t) = lock(&self.inner.tracked).get_mut(id) {
                    t.next_at = after(wait);
                }
                Ok(wait_until(after(wait)))
            }
            Err(e) => Err(e),
        }
    }

    /// Polls until the request settles (CIBA §10.1): never faster than the interval (5 s more
    /// after each `slow_down`), never past `expires_in`; connection failures, 429 and 503 wait
    /// for the next interval (honouring `Retry-After`). Dropping the future stops polling.
    pub async fn poll(&self, request: &AuthRequest) -> Result<Outcome, Error> {
        loop {
            match self.poll_once(request).await? {
                PollStatus::Ready(outcome) => return Ok(outcome),
                PollStatus::Pending { retry_after } => {
                    self.clock()
                        .sleep(retry_after.unwrap_or(request.interval))
                        .await;
                }
                _ => self.clock().sleep(request.interval).await,
            }
        }
    }

    /// After a verified ping (CIBA §10.2), fetches the result with **one** token request.
    pub async fn fetch_after_ping(&self, ping: &VerifiedPing) -> Result<TokenPoll, Error> {
        if self.inner.delivery_mode != DeliveryMode::Ping {
            return Err(NotificationError::WrongMode("ping").into());
        }
        let result = self.token_request(ping.auth_req_id()).await?;
        if let TokenPoll::Done(_) = result {
            self.forget(ping.auth_req_id());
        }
        Ok(result)
    }

    /// Accepts a verified push (CIBA §10.3, §12): a token response is validated — ID token
    /// signature and claims, `at_hash`, `rt_hash` (with a refresh token) and the
    /// `urn:openid:params:jwt:claim:auth_req_id` claim are all required — and an error payload
    /// becomes its outcome.
    pub async fn accept_push(&self, push: VerifiedPush) -> Result<Outcome, Error> {
        if self.inner.delivery_mode != DeliveryMode::Push {
            return Err(NotificationError::WrongMode("push").into());
        }
        let id = push.auth_req_id;
        let outcome = match push.payload {
            PushPayload::Tokens(t) => {
                Outcome::Approved(Box::new(self.verify_tokens(t, &id, true).await?))
            }
            PushPayload::Error { error, description } => {
                let description = description.map(|d| crate::error::clean_description(&d, &[]));
                match error {
                    ErrorCode::AccessDenied => Outcome::Denied { description },
                    ErrorCode::ExpiredToken => Outcome::Expired,
                    ErrorCode::TransactionFailed => Outcome::Failed { description },
                    other => Outcome::Failed {
                        description: Some(format!(
                            "push error `{}`{}",
                            crate::error::clean_description(other.as_str(), &[]),
                            description.map(|d| format!(": {d}")).unwrap_or_default()
                        )),
                    },
                }
            }
        };
        self.forget(&id);
        Ok(outcome)
    }

    /// The notification token of a pending request this client started. A notification is
    /// taken until [`LATE_NOTIFICATION_GRACE`](crate::limits::LATE_NOTIFICATION_GRACE) after
    /// the request's end: an OP may tell a push client of an expiry (`expired_token`), and can
    /// only once the request has ended on its own clock.
    fn expected_token(&self, id: &AuthReqId) -> Result<ClientNotificationToken, NotificationError> {
        let now = self.clock().now();
        lock(&self.inner.tracked)
            .get(id)
            .filter(|t| t.taken_until() > now)
            .and_then(|t| t.notification_token.clone())
            .ok_or(NotificationError::UnknownRequest)
    }

    /// Handles a ping at the notification endpoint for a request this client started: parses
    /// the `Authorization` header value and the raw body, checks the bearer token in constant
    /// time against the request's `client_notification_token`, then makes one token request.
    /// Answer the OP with 204 on `Ok`, and with [`NotificationError::http_status`] on a
    /// notification error.
    pub async fn handle_ping(
        &self,
        authorization: Option<&[u8]>,
        body: &[u8],
    ) -> Result<(AuthReqId, TokenPoll), Error> {
        if self.inner.delivery_mode != DeliveryMode::Ping {
            return Err(NotificationError::WrongMode("ping").into());
        }
        let ping = PingNotification::parse(authorization, body)?;
        let expected = self.expected_token(ping.auth_req_id())?;
        let verified = ping.verify(&expected)?;
        let id = verified.auth_req_id().clone();
        Ok((id, self.fetch_after_ping(&verified).await?))
    }

    /// Handles a push for a request this client started: parses, checks the bearer token in
    /// constant time, validates the tokens ([`Client::accept_push`]), and keeps the outcome for
    /// [`auth_core::StepUp::check`]. Answer the OP with 204 on `Ok`.
    pub async fn handle_push(
        &self,
        authorization: Option<&[u8]>,
        body: &[u8],
    ) -> Result<(AuthReqId, Outcome), Error> {
        if self.inner.delivery_mode != DeliveryMode::Push {
            return Err(NotificationError::WrongMode("push").into());
        }
        let push = PushNotification::parse(authorization, body)?;
        let expected = self.expected_token(push.auth_req_id())?;
        let verified = push.verify(&expected)?;
        let id = verified.auth_req_id().clone();
        let expires_at = lock(&self.inner.tracked)
            .get(&id)
            .map(|t| t.expires_at)
            .unwrap_or_else(|| self.clock().now());
        let outcome = self.accept_push(verified).await?;
        let now = self.clock().now();
        let mut pushed = lock(&self.inner.pushed);
        if pushed.len() >= MAX_TRACKED_REQUESTS {
            pushed.retain(|_, (_, until)| *until > now);
        }
        if pushed.len() < MAX_TRACKED_REQUESTS {
            // Kept a little past the request's end, for a StepUp::check that comes late.
            pushed.insert(
                id.clone(),
                (outcome.clone(), {
                    let end = expires_at.max(now);
                    end.checked_add(Duration::from_secs(300)).unwrap_or(end)
                }),
            );
        }
        Ok((id, outcome))
    }

    /// The outcome [`Client::handle_push`] stored for `id`, taken out.
    pub(crate) fn take_pushed(&self, id: &AuthReqId) -> Option<Outcome> {
        lock(&self.inner.pushed).remove(id).map(|(o, _)| o)
    }
}
