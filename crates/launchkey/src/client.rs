//! The Service Client: configuration, the signed JOSE transport, and the API calls.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use auth_core::http_types::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderMap, LOCATION,
};
use auth_core::http_types::{Method, Response};
use auth_core::poll::{PollConfig, PollStatus, poll_until};
use auth_core::sync::lock;
use auth_core::time::Timestamp;
use auth_core::{BaseUrl, Classify, Config, ConfigError, Replay, SharedClock, Transport};
use aws_lc_rs::digest;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::JweAlgorithm;
use crate::JwsAlgorithm;
use crate::error::{AuthorizationInProgress, VerificationError};
use crate::hazmat::jwe;
use crate::hazmat::jws::{self, UnverifiedJws};
use crate::keys::{RsaPublicKey, ServicePrivateKey};
use crate::limits::{
    CURRENT_KEY_RECHECK, CURRENT_KEY_TTL, DEFAULT_LEEWAY, KID_FETCH_WINDOW, MAX_CACHED_API_KEYS,
    MAX_KID_FETCHES_PER_WINDOW, NEGATIVE_KID_TTL, OFFSET_TTL,
};
use crate::response::{AuthorizationPoll, CorePackage, decode_core, decrypt_jwe};
use crate::single_flight::SingleFlight;
use crate::{
    AuthRequestId, AuthorizationRequest, AuthorizationRequestCreated, AuthorizationResponse, Error,
    ServiceId,
};

/// The API's entity id (`aud` of requests, `iss` of responses).
pub(crate) const API_ENTITY: &str = "lka";
/// Request token lifetime in seconds (`exp = iat + 5`).
const REQUEST_TOKEN_LIFETIME: i64 = 5;
/// Header carrying the API's response (and webhook) JWT.
pub(crate) const X_IOV_JWT: &str = "x-iov-jwt";
/// Header carrying the API key id with `GET /public/v3/public-key`.
pub(crate) const X_IOV_KEY_ID: &str = "x-iov-key-id";

/// Builds a [`Client`]: the service id and its signing key are required, everything else has
/// a default (the production API at [`Client::DEFAULT_BASE_URL`], the system clock, reqwest + rustls).
///
/// The transport setters (`base_url`, `config`, `http_client`, `clock`, `retry`, `timeout`, …)
/// are the ones every oob-auth client builder shares ([`auth_core::client_builder_setters!`]);
/// `config(&shared)` takes them all from one [`auth_core::Config`].
///
/// ```no_run
/// # fn main() -> Result<(), launchkey::Error> {
/// use launchkey::{Client, ServiceId, ServicePrivateKey};
///
/// let key = ServicePrivateKey::from_pem(&std::fs::read_to_string("service-key.pem").unwrap())?;
/// let shared = auth_core::Config::new().timeout(std::time::Duration::from_secs(10));
/// let client = Client::builder(ServiceId::parse("9e4a2c8b-5d3f-4b1a-8c7e-6f5d4c3b2a19")?, key)
///     .config(&shared)
///     .build()?; // https://api.launchkey.com
/// # let _ = client; Ok(()) }
/// ```
pub struct ClientBuilder {
    service_id: ServiceId,
    keys: Vec<ServicePrivateKey>,
    config: Config,
    base_url: Option<Result<BaseUrl, ConfigError>>,
    jws: JwsAlgorithm,
    jwe: JweAlgorithm,
    leeway: Duration,
    webhook_replay_protection: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("service_id", &self.service_id)
            .field("keys", &self.keys)
            .field("base_url", &self.base_url)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    auth_core::client_builder_setters!(config, base_url);

    /// Adds another service key (rotation: responses name the key they used by kid). Requests
    /// are always signed with the first key.
    pub fn additional_key(mut self, key: ServicePrivateKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Sets the request JWS algorithm (default RS512).
    pub fn jws_algorithm(mut self, alg: JwsAlgorithm) -> Self {
        self.jws = alg;
        self
    }

    /// Sets the request JWE algorithm (default RSA-OAEP-256).
    pub fn jwe_algorithm(mut self, alg: JweAlgorithm) -> Self {
        self.jwe = alg;
        self
    }

    /// Sets the leeway for response and webhook token times (default 30 s, at most 300 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Rejects a webhook whose `jti` was already accepted (until its `exp` plus leeway has
    /// passed) with [`VerificationError::Replayed`]. Off unless called (the official SDKs have
    /// no replay protection beyond `exp`); the cache lives in this client and its clones only.
    pub fn reject_replayed_webhooks(mut self) -> Self {
        self.webhook_replay_protection = true;
        self
    }

    /// Validates the settings and builds the client. The HTTP client must allow a body on
    /// `DELETE` (the session-end call has one); the default one does.
    pub fn build(self) -> Result<Client, Error> {
        let base = match self.base_url {
            Some(base) => base?,
            None => BaseUrl::parse(Client::DEFAULT_BASE_URL)?,
        };
        if self.leeway > Duration::from_secs(300) {
            return Err(invalid_setting("leeway", "at most 300 seconds"));
        }
        let mut kids = std::collections::HashSet::new();
        if !self.keys.iter().all(|k| kids.insert(k.kid().clone())) {
            return Err(invalid_setting("keys", "the same key was added twice"));
        }
        let transport = self
            .config
            .build(base, "launchkey", env!("CARGO_PKG_VERSION"))?;
        let entity = self.service_id.entity();
        Ok(Client {
            inner: Arc::new(Inner {
                service_id: self.service_id,
                entity,
                keys: self.keys,
                transport,
                jws: self.jws,
                jwe: self.jwe,
                leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(30),
                cache: Mutex::new(Cache::default()),
                ping_flight: SingleFlight::default(),
                current_flight: SingleFlight::default(),
                kid_flights: SingleFlight::default(),
                seen_webhooks: self
                    .webhook_replay_protection
                    .then(|| Mutex::new(HashMap::new())),
            }),
        })
    }
}

/// A configuration error for setting `name`.
fn invalid_setting(name: &'static str, reason: &str) -> Error {
    ConfigError::invalid(name, reason).into()
}

#[derive(Default)]
struct Cache {
    offset: Option<(i64, SystemTime)>,
    current: Option<(String, SystemTime)>,
    keys: HashMap<String, Arc<RsaPublicKey>>,
    misses: HashMap<String, SystemTime>,
    /// When the current key was last asked for (successfully or not).
    current_attempt: Option<SystemTime>,
    /// When each recent fetch of an unknown kid started (at most
    /// [`MAX_KID_FETCHES_PER_WINDOW`] within [`KID_FETCH_WINDOW`]).
    kid_fetches: VecDeque<SystemTime>,
}

struct Inner {
    service_id: ServiceId,
    entity: String,
    keys: Vec<ServicePrivateKey>,
    transport: Transport,
    jws: JwsAlgorithm,
    jwe: JweAlgorithm,
    leeway: i64,
    cache: Mutex<Cache>,
    ping_flight: SingleFlight<(), i64>,
    current_flight: SingleFlight<(), (String, Arc<RsaPublicKey>)>,
    kid_flights: SingleFlight<String, Arc<RsaPublicKey>>,
    seen_webhooks: Option<Mutex<HashMap<String, i64>>>,
}

/// Who named an API kid: a response to one of our own signed calls, or unauthenticated input
/// (a webhook, a caller of [`Client::api_key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyOrigin {
    OwnCall,
    Untrusted,
}

/// The LaunchKey Service Client. Cheap to clone: clones share the connection pool and the key
/// and time caches.
///
/// See the crate documentation for a guided example.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("service_id", &self.inner.service_id)
            .field("keys", &self.inner.keys)
            .field("base_url", self.inner.transport.base_url())
            .field("jws", &self.inner.jws)
            .field("jwe", &self.inner.jwe)
            .finish_non_exhaustive()
    }
}

/// A response whose `X-IOV-JWT` passed every check.
pub(crate) struct Verified {
    pub status: u16,
    pub body: Vec<u8>,
}

/// An API error body (400/409): every field may be absent or `null`.
#[derive(Deserialize)]
pub(crate) struct ApiErrorBody {
    #[serde(default)]
    pub(crate) error_code: Option<String>,
    #[serde(default)]
    pub(crate) error_detail: Option<Value>,
    #[serde(default)]
    pub(crate) error_data: Option<Value>,
}

/// `GET /public/v3/ping`: `api_time` is required.
#[derive(Deserialize)]
pub(crate) struct Ping {
    pub(crate) api_time: Timestamp,
}

/// `POST /service/v3/totp`: `valid` is required.
#[derive(Deserialize)]
pub(crate) struct Totp {
    pub(crate) valid: bool,
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex digest of `body` for a `func` value (`S256`, `S384`, `S512`).
pub(crate) fn body_hash(func: &str, body: &[u8]) -> Option<String> {
    let alg = match func {
        "S256" => &digest::SHA256,
        "S384" => &digest::SHA384,
        "S512" => &digest::SHA512,
        _ => return None,
    };
    Some(hex(digest::digest(alg, body).as_ref()))
}

/// Checks `func`/`hash` of a `request` or `response` claim against the raw body.
pub(crate) fn check_body_hash(
    claim: &Map<String, Value>,
    body: &[u8],
) -> Result<(), VerificationError> {
    let func = claim.get("func").and_then(Value::as_str);
    let hash = claim.get("hash").and_then(Value::as_str);
    match (body.is_empty(), func, hash) {
        (true, None, None) => Ok(()),
        (true, _, _) => Err(VerificationError::BodyHash(
            "hash claim present for an empty body",
        )),
        (false, Some(func), Some(hash)) => {
            let expected = body_hash(func, body)
                .ok_or(VerificationError::BodyHash("unknown hash function"))?;
            if expected.eq_ignore_ascii_case(hash) {
                Ok(())
            } else {
                Err(VerificationError::BodyHash("hash does not match the body"))
            }
        }
        (false, _, _) => Err(VerificationError::BodyHash("body without func/hash claims")),
    }
}

fn claim_time(claims: &Map<String, Value>, name: &'static str) -> Result<i64, VerificationError> {
    let v = claims
        .get(name)
        .ok_or(VerificationError::MissingClaim(name))?;
    v.as_i64()
        .or_else(|| {
            v.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.floor() as i64)
        })
        .ok_or(VerificationError::MissingClaim(name))
}

/// The received `aud` for an error message: a string as it is (not JSON-quoted), a list as its
/// strings joined by `, `; at most 256 characters.
fn audience_text(aud: Option<&Value>) -> String {
    let text = match aud {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    text.chars().take(256).collect()
}

fn claim_str(claims: &Map<String, Value>, name: &'static str) -> Result<String, VerificationError> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or(VerificationError::MissingClaim(name))
}

fn cache_list(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split(',')
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    v.sort();
    v
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl Client {
    /// The production API, the base URL unless the builder sets another.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.launchkey.com";

    /// The provider's name in [`auth_core::StepUpHandle::provider`].
    pub const PROVIDER: &'static str = "launchkey";

    /// Starts building a client for `service_id`, signing with `key`.
    pub fn builder(service_id: ServiceId, key: ServicePrivateKey) -> ClientBuilder {
        ClientBuilder {
            service_id,
            keys: vec![key],
            config: Config::default(),
            base_url: None,
            jws: JwsAlgorithm::default(),
            jwe: JweAlgorithm::default(),
            leeway: DEFAULT_LEEWAY,
            webhook_replay_protection: false,
        }
    }

    /// A poll configuration for a request: every second, until its time to live plus 10 s.
    pub fn poll_config_for(request: &AuthorizationRequest) -> PollConfig {
        PollConfig::every(
            Duration::from_secs(1),
            request.effective_ttl() + Duration::from_secs(10),
        )
    }

    /// Records a webhook token's `jti`; `Err(Replayed)` if it was seen and has not expired.
    pub(crate) fn note_webhook_jti(
        &self,
        claims: &Map<String, Value>,
    ) -> Result<(), VerificationError> {
        let Some(seen) = &self.inner.seen_webhooks else {
            return Ok(());
        };
        let jti = claim_str(claims, "jti")?;
        let exp = claim_time(claims, "exp")?;
        let now = self.cached_server_now();
        let leeway = self.inner.leeway;
        let mut seen = lock(seen);
        seen.retain(|_, e| e.saturating_add(leeway) >= now);
        if seen.contains_key(&jti) {
            return Err(VerificationError::Replayed);
        }
        if seen.len() >= 100_000 {
            return Err(VerificationError::Replayed);
        }
        seen.insert(jti, exp);
        Ok(())
    }

    /// The service id.
    pub fn service_id(&self) -> ServiceId {
        self.inner.service_id
    }

    /// The client's transport (its slots bound the requests and step-ups in flight).
    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// The base URL.
    pub fn base_url(&self) -> &BaseUrl {
        self.inner.transport.base_url()
    }

    /// The client's clock (also [`auth_core::StepUp::clock`]).
    pub(crate) fn shared_clock(&self) -> &SharedClock {
        self.inner.transport.clock()
    }

    pub(crate) fn service_keys(&self) -> &[ServicePrivateKey] {
        &self.inner.keys
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        lock(&self.inner.cache)
    }

    fn age(&self, since: SystemTime) -> Duration {
        self.shared_clock()
            .now()
            .duration_since(since)
            .unwrap_or(Duration::ZERO)
    }

    /// Server-adjusted now from the cached offset, without any network I/O (local time when no
    /// offset is known yet).
    pub(crate) fn cached_server_now(&self) -> i64 {
        let offset = self.lock().offset.map(|(o, _)| o).unwrap_or(0);
        self.shared_clock().unix_seconds().saturating_add(offset)
    }

    async fn unsigned_get(&self, path: &str) -> Result<Response<Vec<u8>>, Error> {
        let req = self
            .inner
            .transport
            .request(Method::GET, path)
            .body(Vec::new())
            .map_err(|e| Error::InvalidRequest {
                field: "path",
                reason: e.to_string(),
            })?;
        Ok(self.inner.transport.send(req, Replay::ByMethod).await?)
    }

    /// Server-adjusted now (Unix seconds), pinging the API when the offset is stale. Concurrent
    /// callers share one ping.
    pub async fn server_time(&self) -> Result<i64, Error> {
        let offset = match self.fresh_offset() {
            Some(offset) => offset,
            None => {
                self.shared(&self.inner.ping_flight, (), || async {
                    match self.fresh_offset() {
                        Some(offset) => Ok(offset),
                        None => self.ping().await,
                    }
                })
                .await?
            }
        };
        Ok(self.shared_clock().unix_seconds().saturating_add(offset))
    }

    /// Runs `fetch` as the one fetch for `key` that concurrent callers of `flight` share. It
    /// takes no slot of the transport ([`auth_core::Transport::unslotted`]): the callers
    /// waiting for it may hold every slot.
    async fn shared<K, V, F, Fut>(
        &self,
        flight: &SingleFlight<K, V>,
        key: K,
        fetch: F,
    ) -> Result<V, Error>
    where
        K: std::hash::Hash + Eq + Clone,
        V: Clone,
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<V, Error>>,
    {
        flight
            .run(key, || self.inner.transport.unslotted(fetch()))
            .await
    }

    fn fresh_offset(&self) -> Option<i64> {
        let cached = self.lock().offset;
        cached
            .filter(|(_, at)| self.age(*at) < OFFSET_TTL)
            .map(|(offset, _)| offset)
    }

    /// `GET /public/v3/ping`: learns and caches the server-time offset.
    async fn ping(&self) -> Result<i64, Error> {
        let resp = self.unsigned_get("/public/v3/ping").await?;
        if !resp.status().is_success() {
            return Err(self.status_error(&resp));
        }
        let ping: Ping = auth_core::json::from_slice("ping response", resp.body())?;
        let offset = ping.api_time.unix_seconds() - self.shared_clock().unix_seconds();
        self.lock().offset = Some((offset, self.shared_clock().now()));
        Ok(offset)
    }

    /// The typed error for an unexpected status of an unsigned call.
    fn status_error(&self, resp: &Response<Vec<u8>>) -> Error {
        let status = resp.status().as_u16();
        shared_status_error(resp, self.shared_clock().now())
            .unwrap_or_else(|| auth_core::Error::status(status, resp.body(), &[]).into())
    }

    fn forget_offset(&self) {
        self.lock().offset = None;
    }

    fn remember_key(&self, kid: &str, key: Arc<RsaPublicKey>) {
        let mut c = self.lock();
        if c.keys.len() >= MAX_CACHED_API_KEYS && !c.keys.contains_key(kid) {
            let current = c.current.as_ref().map(|(k, _)| k.clone());
            let victim = c
                .keys
                .keys()
                .find(|k| Some(*k) != current.as_ref())
                .cloned();
            if let Some(v) = victim {
                c.keys.remove(&v);
            }
        }
        c.keys.insert(kid.to_owned(), key);
        c.misses.remove(kid);
    }

    /// The cached current key, if it was fetched less than `max_age` ago.
    fn cached_current(&self, max_age: Duration) -> Option<(String, Arc<RsaPublicKey>)> {
        let c = self.lock();
        let (kid, at) = c.current.as_ref()?;
        if self.age(*at) >= max_age {
            return None;
        }
        c.keys.get(kid).map(|k| (kid.clone(), k.clone()))
    }

    /// The current API public key and its kid (fetched when older than 300 s). Concurrent
    /// callers share one fetch.
    pub async fn current_api_key(&self) -> Result<(String, Arc<RsaPublicKey>), Error> {
        if let Some(current) = self.cached_current(CURRENT_KEY_TTL) {
            return Ok(current);
        }
        self.shared(&self.inner.current_flight, (), || async {
            match self.cached_current(CURRENT_KEY_TTL) {
                Some(current) => Ok(current),
                None => self.fetch_current_key().await,
            }
        })
        .await
    }

    /// `GET /public/v3/public-key`: caches the key by kid and as the current key.
    async fn fetch_current_key(&self) -> Result<(String, Arc<RsaPublicKey>), Error> {
        self.lock().current_attempt = Some(self.shared_clock().now());
        let resp = self.unsigned_get("/public/v3/public-key").await?;
        if !resp.status().is_success() {
            return Err(self.status_error(&resp));
        }
        let kid = header_str(resp.headers(), X_IOV_KEY_ID)
            .ok_or_else(|| {
                auth_core::Error::decode("public key response", "X-IOV-KEY-ID", "header missing")
            })?
            .to_owned();
        crate::Kid::new(&kid)?;
        let pem = std::str::from_utf8(resp.body())
            .map_err(|_| auth_core::Error::decode("public key response", ".", "not UTF-8 PEM"))?;
        let key = Arc::new(RsaPublicKey::from_pem(pem)?);
        self.remember_key(&kid, key.clone());
        self.lock().current = Some((kid.clone(), self.shared_clock().now()));
        Ok((kid, key))
    }

    /// Refreshes the current key on behalf of an unknown kid from unauthenticated input, at
    /// most once per [`CURRENT_KEY_RECHECK`] (joining a refresh already running). Errors are
    /// left to the by-kid lookup that follows.
    async fn recheck_current_key(&self) {
        let due = {
            let c = self.lock();
            c.current_attempt
                .is_none_or(|at| self.age(at) >= CURRENT_KEY_RECHECK)
        };
        if !due && !self.inner.current_flight.is_running(&()) {
            return;
        }
        let _ = self
            .shared(&self.inner.current_flight, (), || async {
                let recent = {
                    let c = self.lock();
                    c.current_attempt
                        .is_some_and(|at| self.age(at) < CURRENT_KEY_RECHECK)
                };
                match (recent, self.cached_current(Duration::MAX)) {
                    (true, Some(current)) => Ok(current),
                    (true, None) => Err(Error::ApiKeyNotFound { kid: String::new() }),
                    (false, _) => self.fetch_current_key().await,
                }
            })
            .await;
    }

    /// The API public key with id `kid`: from the cache, else `GET /public/v3/public-key/{kid}`.
    ///
    /// This is the lookup for a kid from unauthenticated input (a webhook): misses are
    /// remembered for [`NEGATIVE_KID_TTL`], the current key is consulted first (the platform
    /// signs webhooks with it; see [`CURRENT_KEY_RECHECK`]), and fetches of other unknown kids
    /// are limited to [`MAX_KID_FETCHES_PER_WINDOW`] per [`KID_FETCH_WINDOW`]. Kids named by
    /// responses to this client's own signed calls never spend that budget. Concurrent lookups
    /// of the same kid share one fetch.
    pub async fn api_key(&self, kid: &str) -> Result<Arc<RsaPublicKey>, Error> {
        self.resolve_api_key(kid, KeyOrigin::Untrusted).await
    }

    pub(crate) async fn resolve_api_key(
        &self,
        kid: &str,
        origin: KeyOrigin,
    ) -> Result<Arc<RsaPublicKey>, Error> {
        if let Some(k) = self.lock().keys.get(kid) {
            return Ok(k.clone());
        }
        if crate::Kid::new(kid).is_err() || kid.contains(['/', '?', '#', '%', '\\']) {
            return Err(Error::ApiKeyNotFound {
                kid: kid.chars().take(64).collect(),
            });
        }
        if origin == KeyOrigin::Untrusted {
            {
                let c = self.lock();
                if let Some(at) = c.misses.get(kid)
                    && self.age(*at) < NEGATIVE_KID_TTL
                {
                    return Err(Error::ApiKeyNotFound {
                        kid: kid.to_owned(),
                    });
                }
            }
            self.recheck_current_key().await;
            if let Some(k) = self.lock().keys.get(kid) {
                return Ok(k.clone());
            }
            if !self.inner.kid_flights.is_running(&kid.to_owned()) {
                self.take_kid_fetch_budget(kid)?;
            }
        }
        self.shared(&self.inner.kid_flights, kid.to_owned(), || async {
            let cached = self.lock().keys.get(kid).cloned();
            match cached {
                Some(k) => Ok(k),
                None => self.fetch_key_by_kid(kid).await,
            }
        })
        .await
    }

    /// `GET /public/v3/public-key/{kid}`; a 404 is remembered as a miss.
    async fn fetch_key_by_kid(&self, kid: &str) -> Result<Arc<RsaPublicKey>, Error> {
        let resp = self
            .unsigned_get(&format!("/public/v3/public-key/{kid}"))
            .await?;
        if resp.status().as_u16() == 404 {
            let now = self.shared_clock().now();
            let mut c = self.lock();
            if c.misses.len() >= 1024 {
                c.misses.clear();
            }
            c.misses.insert(kid.to_owned(), now);
            return Err(Error::ApiKeyNotFound {
                kid: kid.to_owned(),
            });
        }
        if !resp.status().is_success() {
            return Err(self.status_error(&resp));
        }
        let pem = std::str::from_utf8(resp.body())
            .map_err(|_| auth_core::Error::decode("public key response", ".", "not UTF-8 PEM"))?;
        let key = Arc::new(RsaPublicKey::from_pem(pem)?);
        self.remember_key(kid, key.clone());
        Ok(key)
    }

    /// Counts one fetch of an unknown kid from unauthenticated input against the budget, or
    /// refuses it.
    fn take_kid_fetch_budget(&self, kid: &str) -> Result<(), Error> {
        let now = self.shared_clock().now();
        let mut c = self.lock();
        while let Some(first) = c.kid_fetches.front()
            && now.duration_since(*first).unwrap_or(Duration::ZERO) >= KID_FETCH_WINDOW
        {
            c.kid_fetches.pop_front();
        }
        if c.kid_fetches.len() >= MAX_KID_FETCHES_PER_WINDOW {
            return Err(Error::ApiKeyFetchThrottled {
                kid: kid.chars().take(64).collect(),
            });
        }
        c.kid_fetches.push_back(now);
        Ok(())
    }

    /// Verifies an API-signed JWT (response or webhook): allow-listed alg, signature under the
    /// key named by `kid`, `iss`, `aud`, `sub`, and the times against the cached server time.
    pub(crate) async fn verify_api_jwt(
        &self,
        token: &str,
        origin: KeyOrigin,
    ) -> Result<Map<String, Value>, Error> {
        let jws = UnverifiedJws::parse(token).map_err(VerificationError::from)?;
        let kid = jws
            .header()
            .kid
            .clone()
            .ok_or(VerificationError::MissingKid)?;
        let key = self.resolve_api_key(&kid, origin).await?;
        let payload = jws.verify(key.der()).map_err(VerificationError::from)?;
        let claims: Map<String, Value> = serde_json::from_slice(payload)
            .map_err(|_| VerificationError::Malformed("claims are not a JSON object".into()))?;
        let iss = claim_str(&claims, "iss")?;
        if iss != API_ENTITY {
            return Err(VerificationError::Issuer {
                expected: API_ENTITY.into(),
                actual: iss,
            }
            .into());
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(s)) => s == &self.inner.entity,
            Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(&self.inner.entity)),
            _ => return Err(VerificationError::MissingClaim("aud").into()),
        };
        if !aud_ok {
            return Err(VerificationError::Audience {
                expected: self.inner.entity.clone(),
                actual: audience_text(claims.get("aud")),
            }
            .into());
        }
        let sub = claim_str(&claims, "sub")?;
        if sub != self.inner.entity {
            return Err(VerificationError::Subject {
                expected: self.inner.entity.clone(),
                actual: sub,
            }
            .into());
        }
        let (iat, nbf, exp) = (
            claim_time(&claims, "iat")?,
            claim_time(&claims, "nbf")?,
            claim_time(&claims, "exp")?,
        );
        let now = self.cached_server_now();
        let leeway = self.inner.leeway;
        if exp.saturating_add(leeway) < now {
            return Err(VerificationError::Expired.into());
        }
        if nbf.saturating_sub(leeway) > now || iat.saturating_sub(leeway) > now {
            return Err(VerificationError::NotYetValid.into());
        }
        Ok(claims)
    }

    fn request_token(
        &self,
        method: &Method,
        path: &str,
        body: &[u8],
        now: i64,
        jti: &str,
    ) -> Result<String, Error> {
        let mut request = Map::new();
        request.insert("meth".into(), json!(method.as_str()));
        request.insert("path".into(), json!(path));
        if !body.is_empty() {
            request.insert("func".into(), json!("S256"));
            request.insert("hash".into(), json!(body_hash("S256", body)));
        }
        let claims = json!({
            "iss": self.inner.entity,
            "sub": self.inner.entity,
            "aud": API_ENTITY,
            "iat": now,
            "nbf": now,
            "exp": now + REQUEST_TOKEN_LIFETIME,
            "jti": jti,
            "request": request,
        });
        let key = self
            .inner
            .keys
            .first()
            .ok_or_else(|| invalid_setting("keys", "no service key"))?;
        let payload =
            serde_json::to_vec(&claims).map_err(|e| auth_core::Error::decode("claims", ".", e))?;
        Ok(jws::sign(
            self.inner.jws,
            key.signer(),
            Some(key.kid().as_str()),
            &payload,
        )?)
    }

    /// Sends a signed call; on a 401 refreshes the server time once and tries again.
    pub(crate) async fn signed(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Verified, Error> {
        match self.signed_once(method.clone(), path, body).await {
            Err(Error::Unauthorized) => {
                self.forget_offset();
                self.signed_once(method, path, body).await
            }
            other => other,
        }
    }

    async fn signed_once(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Verified, Error> {
        let now = self.server_time().await?;
        let full_path = format!("{}{}", self.inner.transport.base_url().path(), path);
        let (body_bytes, content_type) = match body {
            Some(v) => {
                let (kid, key) = self.current_api_key().await?;
                let plain = zeroize::Zeroizing::new(
                    serde_json::to_vec(v)
                        .map_err(|e| auth_core::Error::decode("request", ".", e))?,
                );
                let token = jwe::encrypt(
                    self.inner.jwe,
                    key.encrypting(),
                    Some(&kid),
                    Some("application/json"),
                    &plain,
                )?;
                (token.into_bytes(), "application/jose")
            }
            None => (Vec::new(), "application/jwt"),
        };
        let replay = if method == Method::GET {
            Replay::ByMethod
        } else {
            Replay::Never
        };
        // Every attempt gets its own token (fresh `jti`, `iat` from the server-adjusted clock
        // at that moment): a retried GET never replays a spent 5-second token. POSTs and
        // DELETEs are sent once.
        let mut jti = String::new();
        let resp = self
            .inner
            .transport
            .send_built(&method, replay, |attempt| {
                let now = if attempt == 1 {
                    now
                } else {
                    self.cached_server_now()
                };
                jti = uuid::Uuid::new_v4().to_string();
                self.request_token(&method, &full_path, &body_bytes, now, &jti)
                    .and_then(|token| {
                        self.inner
                            .transport
                            .request(method.clone(), path)
                            .header(AUTHORIZATION, format!("IOV-JWT {token}"))
                            .header(CONTENT_TYPE, content_type)
                            .body(body_bytes.clone())
                            .map_err(|e| Error::InvalidRequest {
                                field: "path",
                                reason: e.to_string(),
                            })
                    })
            })
            .await?;
        let status = resp.status().as_u16();
        if let Some(e) = shared_status_error(&resp, self.shared_clock().now()) {
            return Err(e);
        }
        self.verify_response(&resp, &jti).await?;
        let (_, body) = resp.into_parts();
        Ok(Verified { status, body })
    }

    async fn verify_response(&self, resp: &Response<Vec<u8>>, jti: &str) -> Result<(), Error> {
        let token = header_str(resp.headers(), X_IOV_JWT).ok_or(VerificationError::MissingToken)?;
        let claims = self.verify_api_jwt(token, KeyOrigin::OwnCall).await?;
        if claim_str(&claims, "jti")? != jti {
            return Err(VerificationError::Jti.into());
        }
        let response = claims
            .get("response")
            .and_then(Value::as_object)
            .ok_or(VerificationError::MissingClaim("response"))?;
        let claim_status = response
            .get("status")
            .and_then(Value::as_i64)
            .ok_or(VerificationError::MissingClaim("response.status"))?;
        let http = resp.status().as_u16();
        if claim_status != i64::from(http) {
            return Err(VerificationError::Status {
                claim: claim_status,
                http,
            }
            .into());
        }
        check_body_hash(response, resp.body())?;
        let location = header_str(resp.headers(), LOCATION.as_str());
        let claim_location = response.get("location").and_then(Value::as_str);
        if location != claim_location {
            return Err(VerificationError::Location.into());
        }
        let cache = header_str(resp.headers(), CACHE_CONTROL.as_str()).map(cache_list);
        let claim_cache = response
            .get("cache")
            .and_then(Value::as_str)
            .map(cache_list);
        if cache != claim_cache {
            return Err(VerificationError::Cache.into());
        }
        Ok(())
    }

    /// Decrypts a verified 2xx body (must be a JWE) into JSON.
    fn success_body(&self, v: &Verified) -> Result<Vec<u8>, Error> {
        if !jwe::looks_like_jwe(&v.body) {
            return Err(Error::Jose(crate::JoseError::Malformed(
                "a 2xx body of a signed call must be a compact JWE",
            )));
        }
        decrypt_jwe(&self.inner.keys, &v.body)
    }

    /// Maps a verified non-2xx response to its typed error.
    pub(crate) fn api_error(&self, v: &Verified) -> Error {
        let mut plain = v.body.clone();
        if !v.body.is_empty() {
            if jwe::looks_like_jwe(&v.body) {
                plain = match decrypt_jwe(&self.inner.keys, &v.body) {
                    Ok(p) => p,
                    Err(e) => return e,
                };
            }
            if let Ok(body) = serde_json::from_slice::<ApiErrorBody>(&plain)
                && let Some(code) = body.error_code
            {
                return map_code(v.status, &code, body.error_detail, body.error_data);
            }
        }
        // A status without an error code: its own variant where it has one, else the shared
        // status error with the (decrypted, bounded) body.
        auth_core::Error::status(v.status, &plain, &[]).into()
    }

    /// Creates an authorization request: validates it, then `POST /service/v3/auths` (sent
    /// once and never retried on transport errors, 429 or 5xx: it pushes to the user's phone;
    /// only a 401 leads to one re-signed attempt with a fresh server time).
    pub async fn authorize(
        &self,
        request: &AuthorizationRequest,
    ) -> Result<AuthorizationRequestCreated, Error> {
        request.validate()?;
        let v = self
            .signed(Method::POST, "/service/v3/auths", Some(&request.to_wire()))
            .await?;
        if (200..300).contains(&v.status) {
            let plain = self.success_body(&v)?;
            return Ok(auth_core::json::from_slice("create auth response", &plain)?);
        }
        Err(self.api_error(&v))
    }

    /// Polls once: `GET /service/v3/auths/{id}`.
    ///
    /// The device package's `auth_request` must equal `id`, else
    /// [`Error::AuthRequestMismatch`]. A cancelled request gives
    /// [`Error::AuthorizationCanceled`].
    pub async fn get_authorization_response(
        &self,
        id: &AuthRequestId,
    ) -> Result<AuthorizationPoll, Error> {
        let v = self
            .signed(
                Method::GET,
                &format!("/service/v3/auths/{}", id.as_str()),
                None,
            )
            .await?;
        match v.status {
            s if (200..300).contains(&s) && v.body.is_empty() => Ok(AuthorizationPoll::Pending),
            s if (200..300).contains(&s) => {
                let plain = self.success_body(&v)?;
                let core: CorePackage =
                    auth_core::json::from_slice("authorization response", &plain)?;
                let response = decode_core(&self.inner.keys, core)?;
                let same = AuthRequestId::parse(&response.authorization_request_id)
                    .map(|r| &r == id)
                    .unwrap_or(false);
                if !same {
                    return Err(Error::AuthRequestMismatch {
                        expected: id.clone(),
                        actual: response.authorization_request_id.chars().take(64).collect(),
                    });
                }
                Ok(AuthorizationPoll::Responded(Box::new(response)))
            }
            408 => Ok(AuthorizationPoll::TimedOut),
            _ => Err(self.api_error(&v)),
        }
    }

    /// Polls until the user answers, the request times out ([`Error::AuthorizationExpired`]),
    /// or the poll deadline passes. A 429 keeps polling: after the server's `Retry-After`
    /// (at most [`MAX_RETRY_AFTER`](crate::limits::MAX_RETRY_AFTER)), or [`RATE_LIMIT_BACKOFF`](crate::limits::RATE_LIMIT_BACKOFF) without one; never faster than
    /// the poll interval.
    pub async fn wait_for_response(
        &self,
        id: &AuthRequestId,
        poll: &PollConfig,
    ) -> Result<AuthorizationResponse, Error> {
        poll_until(self.shared_clock().as_ref(), poll, |_| async move {
            match self.get_authorization_response(id).await {
                Ok(AuthorizationPoll::Pending) => Ok(PollStatus::pending()),
                Ok(AuthorizationPoll::Responded(r)) => Ok(PollStatus::Ready(*r)),
                Ok(AuthorizationPoll::TimedOut) => Err(Error::AuthorizationExpired),
                Err(e @ Error::RateLimited { .. }) => Ok(PollStatus::Pending {
                    retry_after: e.retry_after(),
                }),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Cancels a pending request: `DELETE /service/v3/auths/{id}`.
    pub async fn cancel_authorization_request(&self, id: &AuthRequestId) -> Result<(), Error> {
        let v = self
            .signed(
                Method::DELETE,
                &format!("/service/v3/auths/{}", id.as_str()),
                None,
            )
            .await?;
        if (200..300).contains(&v.status) {
            return Ok(());
        }
        Err(self.api_error(&v))
    }

    /// Tells the API the user's session started: `POST /service/v3/sessions`.
    pub async fn session_start(
        &self,
        username: &str,
        auth_request: Option<&AuthRequestId>,
    ) -> Result<(), Error> {
        check_user("username", username)?;
        let mut body = json!({"username": username});
        if let (Some(id), Some(obj)) = (auth_request, body.as_object_mut()) {
            obj.insert("auth_request".into(), json!(id.as_str()));
        }
        self.no_content(Method::POST, "/service/v3/sessions", &body)
            .await
    }

    /// Tells the API the user's session ended: `DELETE /service/v3/sessions` (with a body).
    pub async fn session_end(&self, username: &str) -> Result<(), Error> {
        check_user("username", username)?;
        self.no_content(
            Method::DELETE,
            "/service/v3/sessions",
            &json!({"username": username}),
        )
        .await
    }

    /// Verifies a TOTP code (6–8 digits, as the official SDK documents) for a user:
    /// `POST /service/v3/totp`. `Ok(false)` means the code is wrong; an unknown user or one
    /// without TOTP is [`Error::NotFound`].
    pub async fn verify_totp(&self, identifier: &str, otp: &str) -> Result<bool, Error> {
        check_user("identifier", identifier)?;
        if !(6..=8).contains(&otp.len()) || !otp.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidRequest {
                field: "otp",
                reason: "must be 6-8 digits".into(),
            });
        }
        let v = self
            .signed(
                Method::POST,
                "/service/v3/totp",
                Some(&json!({"identifier": identifier, "otp": otp})),
            )
            .await?;
        if (200..300).contains(&v.status) {
            let plain = self.success_body(&v)?;
            let t: Totp = auth_core::json::from_slice("totp response", &plain)?;
            return Ok(t.valid);
        }
        Err(self.api_error(&v))
    }

    async fn no_content(&self, method: Method, path: &str, body: &Value) -> Result<(), Error> {
        let v = self.signed(method, path, Some(body)).await?;
        if (200..300).contains(&v.status) {
            return Ok(());
        }
        Err(self.api_error(&v))
    }
}

fn check_user(field: &'static str, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() || value.chars().count() > crate::limits::MAX_USERNAME_CHARS {
        return Err(Error::InvalidRequest {
            field,
            reason: "must be 1-256 characters".into(),
        });
    }
    Ok(())
}

/// The errors every call shares, decided by the status alone: 401, 429 (with its
/// `Retry-After`, delta-seconds or HTTP date, at most [`MAX_RETRY_AFTER`](crate::limits::MAX_RETRY_AFTER)) and 5xx (with the
/// bounded body). The one place they are classified, before any verification (a proxy answers
/// them too); see [`Error`] for the rule.
fn shared_status_error(resp: &Response<Vec<u8>>, now: SystemTime) -> Option<Error> {
    let status = resp.status().as_u16();
    match status {
        401 => Some(Error::Unauthorized),
        429 => Some(Error::RateLimited {
            retry_after: auth_core::retry::rate_limit_retry_after(resp.headers(), now),
        }),
        500..=599 => Some(auth_core::Error::status(status, resp.body(), &[]).into()),
        _ => None,
    }
}

fn detail_text(detail: Option<Value>) -> String {
    match detail {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
    }
}

pub(crate) fn map_code(
    status: u16,
    code: &str,
    detail: Option<Value>,
    data: Option<Value>,
) -> Error {
    let detail = detail_text(detail);
    match code {
        "ARG-001" => Error::InvalidParameters { detail },
        "ARG-002" => Error::InvalidRoute { detail },
        "SVC-002" => Error::InvalidPolicy { detail },
        "SVC-003" => Error::PolicyFailure { detail },
        "SVC-004" => Error::ServiceNotFound,
        "SVC-005" => {
            let data = data.unwrap_or(Value::Null);
            let from_same_service = data
                .get("from_same_service")
                .and_then(Value::as_bool)
                .or_else(|| data.get("my_auth").and_then(Value::as_bool))
                .unwrap_or(false);
            Error::AuthorizationInProgress(AuthorizationInProgress {
                auth_request: data
                    .get("auth_request")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .chars()
                    .take(64)
                    .collect(),
                from_same_service,
                expires: data
                    .get("expires")
                    .and_then(Value::as_str)
                    .and_then(|t| Timestamp::parse(t).ok())
                    .map(Timestamp::to_system_time),
            })
        }
        "SVC-006" => Error::AuthorizationResponseExists,
        "SVC-007" => Error::AuthorizationCanceled,
        "DIR-001" => Error::InvalidDirectoryIdentifier,
        other => Error::Api {
            status,
            code: other.chars().take(32).collect(),
            detail,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICE_PEM: &str = include_str!("../../../fixtures/launchkey/keys/service-a-pkcs1.pem");
    const API_PEM: &str = include_str!("../../../fixtures/launchkey/keys/api.pem");
    const SERVICE: &str = "9e4a2c8b-5d3f-4b1a-8c7e-6f5d4c3b2a19";

    /// A client whose HTTP client serves the API public key by kid (and 404 for anything
    /// else), plus the API key to sign tokens with.
    fn client_and_api() -> (Client, ServicePrivateKey) {
        let api = ServicePrivateKey::from_pem(API_PEM).unwrap();
        let path = format!("/public/v3/public-key/{}", api.kid());
        let pem = api.public_key_pem();
        let http = move |req: auth_core::HttpRequest| {
            let found = req.uri().path() == path;
            let pem = pem.clone();
            async move {
                let status = if found { 200 } else { 404 };
                Ok(http::Response::builder()
                    .status(status)
                    .body(if found { pem.into_bytes() } else { Vec::new() })
                    .unwrap())
            }
        };
        let client = Client::builder(
            ServiceId::parse(SERVICE).unwrap(),
            ServicePrivateKey::from_pem(SERVICE_PEM).unwrap(),
        )
        .base_url("http://127.0.0.1:9")
        .http_client(Arc::new(http))
        .build()
        .unwrap();
        (client, api)
    }

    fn full_claims(client: &Client) -> Map<String, Value> {
        let now = client.cached_server_now();
        let entity = client.service_id().entity();
        json!({
            "iss": "lka", "aud": entity, "sub": entity, "iat": now, "nbf": now, "exp": now + 5,
            "jti": "j-1",
            "response": {"status": 204},
            "request": {"meth": "POST", "path": "/wh"},
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn sign(api: &ServicePrivateKey, claims: &Map<String, Value>) -> String {
        api.sign_jws(JwsAlgorithm::RS256, &serde_json::to_vec(claims).unwrap())
            .unwrap()
    }

    fn missing(r: Result<impl fmt::Debug, Error>) -> &'static str {
        match r {
            Err(Error::ResponseVerification(VerificationError::MissingClaim(c))) => c,
            other => panic!("expected a missing claim, got {other:?}"),
        }
    }

    /// Each required claim, when absent (or of the wrong JSON type), is reported missing by
    /// name: not only wrong values are caught.
    #[tokio::test]
    async fn every_required_claim_is_checked_for_absence() {
        let (client, api) = client_and_api();
        let full = full_claims(&client);
        client
            .verify_api_jwt(&sign(&api, &full), KeyOrigin::Untrusted)
            .await
            .unwrap();
        for name in ["iss", "aud", "sub", "iat", "nbf", "exp"] {
            let mut c = full.clone();
            c.remove(name);
            assert_eq!(
                missing(
                    client
                        .verify_api_jwt(&sign(&api, &c), KeyOrigin::Untrusted)
                        .await
                ),
                name
            );
            let mut c = full.clone();
            c.insert(name.into(), json!({"wrong": "type"}));
            assert_eq!(
                missing(
                    client
                        .verify_api_jwt(&sign(&api, &c), KeyOrigin::Untrusted)
                        .await
                ),
                name
            );
        }

        // Response tokens: `jti`, `response`, `response.status`.
        let respond = |claims: &Map<String, Value>| {
            http::Response::builder()
                .status(204)
                .header(X_IOV_JWT, sign(&api, claims))
                .body(Vec::new())
                .unwrap()
        };
        client
            .verify_response(&respond(&full), "j-1")
            .await
            .unwrap();
        let mut c = full.clone();
        c.remove("jti");
        assert_eq!(
            missing(client.verify_response(&respond(&c), "j-1").await),
            "jti"
        );
        let mut c = full.clone();
        c.remove("response");
        assert_eq!(
            missing(client.verify_response(&respond(&c), "j-1").await),
            "response"
        );
        let mut c = full.clone();
        c.insert("response".into(), json!({}));
        assert_eq!(
            missing(client.verify_response(&respond(&c), "j-1").await),
            "response.status"
        );

        // Webhook tokens: `request`, `request.meth`, `request.path`.
        let hook = |claims: &Map<String, Value>, body: &[u8]| {
            http::Request::post("/wh")
                .header(X_IOV_JWT, sign(&api, claims))
                .body(body.to_vec())
                .unwrap()
        };
        let body = br#"{"service_user_hash":"h","api_time":"2019-01-01T00:00:00Z"}"#;
        let mut c = full.clone();
        c.insert(
            "request".into(),
            json!({"meth": "POST", "path": "/wh", "func": "S256", "hash": body_hash("S256", body)}),
        );
        client.handle_webhook(&hook(&c, body)).await.unwrap();
        for (drop, name) in [
            (None, "request"),
            (Some("meth"), "request.meth"),
            (Some("path"), "request.path"),
        ] {
            let mut c = c.clone();
            match drop {
                None => {
                    c.remove("request");
                }
                Some(field) => {
                    c.get_mut("request")
                        .and_then(Value::as_object_mut)
                        .unwrap()
                        .remove(field);
                }
            }
            assert_eq!(missing(client.handle_webhook(&hook(&c, body)).await), name);
        }
    }

    /// The audience error shows the received value once, unquoted (a list as its entries).
    #[tokio::test]
    async fn audience_error_shows_the_received_value_as_is() {
        let (client, api) = client_and_api();
        let entity = client.service_id().entity();
        let other = "svc:00000000-0000-4000-8000-000000000000";
        let mut c = full_claims(&client);
        c.insert("aud".into(), json!(other));
        let err = client
            .verify_api_jwt(&sign(&api, &c), KeyOrigin::Untrusted)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("response verification failed: audience: expected `{entity}`, got `{other}`")
        );
        assert!(matches!(
            &err,
            Error::ResponseVerification(VerificationError::Audience { actual, .. }) if actual == other
        ));
        c.insert("aud".into(), json!([other, "svc:b"]));
        let err = client
            .verify_api_jwt(&sign(&api, &c), KeyOrigin::Untrusted)
            .await
            .unwrap_err();
        assert!(
            err.to_string().ends_with(&format!("got `{other}, svc:b`")),
            "{err}"
        );
        // A list naming us is accepted.
        c.insert("aud".into(), json!([other, entity]));
        client
            .verify_api_jwt(&sign(&api, &c), KeyOrigin::Untrusted)
            .await
            .unwrap();
    }

    /// A bare response with `status` and these headers.
    fn bare(status: u16, headers: &HeaderMap) -> Response<Vec<u8>> {
        let mut resp = Response::new(b"upstream says no".to_vec());
        *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
        *resp.headers_mut() = headers.clone();
        resp
    }

    #[test]
    fn shared_statuses_are_classified_in_one_place() {
        let mut h = HeaderMap::new();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let shared = |status: u16, h: &HeaderMap| shared_status_error(&bare(status, h), now);
        assert!(matches!(shared(401, &h), Some(Error::Unauthorized)));
        assert!(matches!(
            shared(429, &h),
            Some(Error::RateLimited { retry_after: None })
        ));
        h.insert(http::header::RETRY_AFTER, "7".parse().unwrap());
        assert!(matches!(
            shared(429, &h),
            Some(Error::RateLimited { retry_after: Some(d) }) if d == Duration::from_secs(7)
        ));
        // An HTTP date works too (auth-core's parser).
        let later = httpdate_in(now, 30);
        h.insert(http::header::RETRY_AFTER, later.parse().unwrap());
        assert!(matches!(
            shared(429, &h),
            Some(Error::RateLimited { retry_after: Some(d) }) if d == Duration::from_secs(30)
        ));
        // 5xx is the shared status error, with the body.
        match shared(502, &h) {
            Some(Error::Core(auth_core::Error::Status {
                status: 502, body, ..
            })) => {
                assert_eq!(body.as_str(), "upstream says no")
            }
            other => panic!("{other:?}"),
        }
        for s in [200, 204, 400, 403, 404, 408, 409] {
            assert!(shared(s, &h).is_none(), "{s}");
        }
    }

    /// `RateLimited.retry_after` is clamped to an hour, whatever the header says; the wait
    /// [`Classify::retry_after`] gives is that, or a back-off when there is none.
    #[test]
    fn retry_after_is_clamped_and_passed_to_polling_as_is() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let limited = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(http::header::RETRY_AFTER, value.parse().unwrap());
            match shared_status_error(&bare(429, &h), now) {
                Some(Error::RateLimited { retry_after }) => retry_after,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(limited("99999999999"), Some(crate::limits::MAX_RETRY_AFTER));
        assert_eq!(
            limited(&u64::MAX.to_string()),
            Some(crate::limits::MAX_RETRY_AFTER)
        );
        assert_eq!(
            limited(&httpdate_in(now, 86_400 * 365)),
            Some(crate::limits::MAX_RETRY_AFTER)
        );
        assert_eq!(limited("3600"), Some(Duration::from_secs(3600)));
        assert_eq!(limited("120"), Some(Duration::from_secs(120)));
        assert_eq!(limited("0"), Some(Duration::ZERO));

        let wait = |retry_after| Classify::retry_after(&Error::RateLimited { retry_after });
        assert_eq!(wait(Some(Duration::ZERO)), None, "zero is no hint");
        assert_eq!(
            wait(Some(Duration::from_secs(120))),
            Some(Duration::from_secs(120))
        );
        assert_eq!(wait(None), Some(crate::limits::RATE_LIMIT_BACKOFF));
    }

    /// `now + secs` as an IMF-fixdate (RFC 9110), without a date crate.
    fn httpdate_in(now: SystemTime, secs: u64) -> String {
        let t = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + secs;
        let iso = Timestamp::from_unix(t as i64).to_utc_string(); // YYYY-MM-DDTHH:MM:SSZ
        let (y, m, d) = (&iso[0..4], &iso[5..7], &iso[8..10]);
        let months = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        let wd = days[((t / 86_400) % 7) as usize];
        let mon = months[m.parse::<usize>().unwrap() - 1];
        format!("{wd}, {d} {mon} {y} {} GMT", &iso[11..19])
    }

    #[test]
    fn hashes_and_cache_lists() {
        assert_eq!(
            body_hash("S256", b"Testing").unwrap(),
            "e806a291cfc3e61f83b98d344ee57e3e8933cccece4fb45e1481f1f560e70eb1"
        );
        assert!(body_hash("S1", b"x").is_none());
        assert_eq!(
            cache_list("no-store, No-Cache"),
            cache_list("no-cache,no-store")
        );
        let mut claim = Map::new();
        assert!(check_body_hash(&claim, b"").is_ok());
        assert!(check_body_hash(&claim, b"x").is_err());
        claim.insert("func".into(), json!("S256"));
        claim.insert(
            "hash".into(),
            json!(body_hash("S256", b"x").unwrap().to_uppercase()),
        );
        assert!(check_body_hash(&claim, b"x").is_ok());
        assert!(check_body_hash(&claim, b"y").is_err());
        assert!(check_body_hash(&claim, b"").is_err());
    }

    #[test]
    fn error_codes_map() {
        let e = map_code(
            409,
            "SVC-005",
            Some(json!("busy")),
            Some(json!({"auth_request":"a","my_auth":true,"expires":"2019-01-01T00:00:00Z"})),
        );
        match e {
            Error::AuthorizationInProgress(p) => {
                assert!(p.from_same_service);
                assert_eq!(p.auth_request, "a");
                assert_eq!(
                    p.expires,
                    Some(Timestamp::from_unix(1_546_300_800).to_system_time())
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(map_code(400, "ARG-001", Some(json!({"ttl":"bad"})), None), Error::InvalidParameters { detail } if detail.contains("ttl"))
        );
        assert!(matches!(
            map_code(400, "SVC-007", None, None),
            Error::AuthorizationCanceled
        ));
        assert!(
            matches!(map_code(400, "KEY-001", None, None), Error::Api { code, .. } if code == "KEY-001")
        );
    }
}
