//! The client: configuration, key listing, the direct flow and the redirect flow.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use auth_core::http_types::{Method, StatusCode, header};
use auth_core::{BaseUrl, Config, ConfigError, HttpResponse, IntoBaseUrl, Replay, Transport};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;
use url::Url;

use crate::b64;
use crate::error::Error;
use crate::key::{AuthorizedKey, Fingerprint, KeyListing, KeySelection, KeyType, RsaHash};
use crate::request::{
    AuthRequest, DEFAULT_AUTHORIZE_TEXT, DEFAULT_PROMPT_TEXT, DEFAULT_REMOTE_NAME, MAX_PAYLOAD_LEN,
    PAYLOAD_LEN, PendingRequest, Placeholders, RedirectRequest, RequestBlob, ResponseBlob,
    SignForm, encode_principal, validate_principal, validate_redirect_url, validate_text,
};

/// The path of the key listing (spec §4 A); the principal follows as one segment.
pub(crate) const KEYS_PATH: &str = "/app/api/authenticator/keys/";
/// The path of the direct-flow sign call (spec §4 B).
pub(crate) const SIGN_PAYLOAD_PATH: &str = "/app/api/authenticator/signPayload";
/// The path of the browser sign page (spec §4 C); the request blob follows as one segment.
pub(crate) const SIGN_PAGE_PATH: &str = "/authenticator/sign/";

/// What a successful authentication proved: this key of this principal signed these bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Approval {
    principal: String,
    key: AuthorizedKey,
    flags: u32,
    signed_data: Vec<u8>,
    signature: Vec<u8>,
}

impl fmt::Debug for Approval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Approval")
            .field("principal", &self.principal)
            .field("key", &self.key)
            .field("flags", &self.flags)
            .field("signed_data_len", &self.signed_data.len())
            .field("signature_len", &self.signature.len())
            .finish()
    }
}

impl Approval {
    /// The authenticated principal.
    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// The key that signed (as listed by the server, fetched by this client).
    pub fn key(&self) -> &AuthorizedKey {
        &self.key
    }

    /// The flags the signature was verified with.
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// The bytes that were signed: the payload (direct flow) or the request blob (redirect).
    pub fn signed_data(&self) -> &[u8] {
        &self.signed_data
    }

    /// The raw signature, already verified.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

/// Builds a [`Client`]: [`Client::builder`] takes the credential server's base URL, the
/// shared transport settings come from [`auth_core::Config`] (or the same setters one by one),
/// and the LogonBox settings have their own steps.
///
/// ```
/// use std::time::Duration;
///
/// let shared = auth_core::Config::new().timeout(Duration::from_secs(10));
/// let client = logonbox::Client::builder("https://corp.logonbox.directory")
///     .config(&shared)
///     .sign_timeout(Duration::from_secs(120))
///     .remote_name("Payroll")
///     .build()
///     .unwrap();
/// assert_eq!(client.base_url().host(), "corp.logonbox.directory");
/// ```
pub struct ClientBuilder {
    /// Client, clock, retries, timeouts and limits shared with every provider.
    config: Config,
    base_url: Option<Result<BaseUrl, ConfigError>>,
    sign_timeout: Duration,
    remote_name: String,
    prompt_text: String,
    authorize_text: String,
    key_types: Vec<KeyType>,
    selection: KeySelection,
    rsa_hash: RsaHash,
    max_pending_age: Duration,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("config", &self.config)
            .field("sign_timeout", &self.sign_timeout)
            .finish_non_exhaustive()
    }
}

/// How long the direct-flow sign call may wait for the user by default.
const DEFAULT_SIGN_TIMEOUT: Duration = Duration::from_secs(180);

/// How old a pending redirect request may be by default.
const DEFAULT_MAX_PENDING_AGE: Duration = Duration::from_secs(300);

impl ClientBuilder {
    auth_core::client_builder_setters!(config, base_url);

    /// Time allowed for the direct-flow sign call, which blocks until the user answers on the
    /// phone (default 180 s; the official SDKs have none). The other calls take the shared
    /// [`ClientBuilder::timeout`].
    pub fn sign_timeout(mut self, timeout: Duration) -> Self {
        self.sign_timeout = timeout;
        self
    }

    /// The requester's name shown to the user (default `LogonBox Authenticator API`).
    pub fn remote_name(mut self, name: impl Into<String>) -> Self {
        self.remote_name = name.into();
        self
    }

    /// The default prompt text (placeholders `{username}`/`{principal}`, `{remoteName}`,
    /// `{hostname}`).
    pub fn prompt_text(mut self, text: impl Into<String>) -> Self {
        self.prompt_text = text.into();
        self
    }

    /// The default approve-button label (default `Authorize`).
    pub fn authorize_text(mut self, text: impl Into<String>) -> Self {
        self.authorize_text = text.into();
        self
    }

    /// Which key types may be used (default both). The official SDKs' `rsa`/`ed25519` switches.
    pub fn key_types(mut self, types: &[KeyType]) -> Self {
        self.key_types = types.to_vec();
        self
    }

    /// Which key to ask (default [`KeySelection::PreferEd25519`]).
    pub fn key_selection(mut self, selection: KeySelection) -> Self {
        self.selection = selection;
        self
    }

    /// The hash RSA signatures are requested with (default SHA-512, flags 4).
    pub fn rsa_hash(mut self, hash: RsaHash) -> Self {
        self.rsa_hash = hash;
        self
    }

    /// How old a pending redirect request may be when the browser comes back (default 5 min).
    pub fn max_pending_age(mut self, age: Duration) -> Self {
        self.max_pending_age = age;
        self
    }

    /// Validates the configuration and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let base = match self.base_url {
            Some(base) => base.map_err(auth_core::Error::from)?,
            None => {
                return Err(Error::config(
                    "base_url",
                    "the credential server's base URL must be supplied",
                ));
            }
        };
        if self.sign_timeout.is_zero() {
            return Err(Error::config("sign_timeout", "must be above zero"));
        }
        if self.key_types.is_empty() {
            return Err(Error::config("key_types", "allow at least one key type"));
        }
        for (name, text) in [
            ("remote_name", &self.remote_name),
            ("prompt_text", &self.prompt_text),
            ("authorize_text", &self.authorize_text),
        ] {
            validate_text(name, text)?;
        }
        // One transport: the listing is retried as the policy says; the sign call is sent
        // once (`Replay::Never`) with its own timeout, since it waits for the user.
        let transport = self
            .config
            .build(base, "logonbox", env!("CARGO_PKG_VERSION"))?;
        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                sign_timeout: self.sign_timeout,
                remote_name: self.remote_name,
                prompt_text: self.prompt_text,
                authorize_text: self.authorize_text,
                key_types: self.key_types,
                selection: self.selection,
                rsa_hash: self.rsa_hash,
                max_pending_age: self.max_pending_age,
                rng: SystemRandom::new(),
                approved: Mutex::default(),
            }),
        })
    }
}

struct Inner {
    /// The credential server's URL (`base_url`) and the client's clock are the transport's.
    transport: Transport,
    sign_timeout: Duration,
    remote_name: String,
    prompt_text: String,
    authorize_text: String,
    key_types: Vec<KeyType>,
    selection: KeySelection,
    rsa_hash: RsaHash,
    max_pending_age: Duration,
    rng: SystemRandom,
    /// SHA-256 of each request blob that produced an approval, with the request's creation
    /// time; entries leave once the request would have expired anyway.
    approved: Mutex<HashMap<[u8; 32], u64>>,
}

/// A LogonBox Authenticator client for one credential server. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", self.inner.transport.base_url())
            .field("key_types", &self.inner.key_types)
            .field("selection", &self.inner.selection)
            .finish_non_exhaustive()
    }
}

/// The JSON answer of `signPayload` (spec §5.3). Only `success` is required: `null` and an
/// absent member mean the same for the others.
#[derive(Deserialize)]
struct SignResponse {
    success: bool,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    response: Option<String>,
}

impl Client {
    /// Starts configuring a client for the credential server at `base_url`, e.g.
    /// `"https://corp.logonbox.directory"` (https, as every official client speaks; plain http
    /// only for loopback addresses). A bad URL is reported by [`ClientBuilder::build`].
    pub fn builder(base_url: impl IntoBaseUrl) -> ClientBuilder {
        ClientBuilder {
            config: Config::new(),
            base_url: Some(base_url.into_base_url()),
            sign_timeout: DEFAULT_SIGN_TIMEOUT,
            remote_name: DEFAULT_REMOTE_NAME.to_owned(),
            prompt_text: DEFAULT_PROMPT_TEXT.to_owned(),
            authorize_text: DEFAULT_AUTHORIZE_TEXT.to_owned(),
            key_types: KeyType::all().to_vec(),
            selection: KeySelection::default(),
            rsa_hash: RsaHash::default(),
            max_pending_age: DEFAULT_MAX_PENDING_AGE,
        }
    }

    /// The base URL (`https://host[:port]`; its host is the `{hostname}` of prompts).
    pub fn base_url(&self) -> &BaseUrl {
        self.inner.transport.base_url()
    }

    /// Fetches and parses `principal`'s key listing.
    ///
    /// A 404 → [`Error::UnknownUser`]; a listing without the `# Authorized` header →
    /// [`Error::InvalidKeyListing`]; lines that do not parse are skipped (see
    /// [`KeyListing::skipped`]).
    pub async fn authorized_keys(&self, principal: &str) -> Result<KeyListing, Error> {
        validate_principal(principal)?;
        let inner = &self.inner;
        let path = format!("{KEYS_PATH}{}", encode_principal(principal));
        let request = inner
            .transport
            .request(Method::GET, &path)
            .header(header::ACCEPT, "text/plain")
            .body(Vec::new())
            .map_err(|e| Error::config("principal", e.to_string()))?;
        let response = inner.transport.send(request, Replay::ByMethod).await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            tracing::debug!(principal, "the credential server does not know the user");
            return Err(Error::UnknownUser {
                principal: principal.to_owned(),
            });
        }
        if status != StatusCode::OK {
            return Err(status_error(&response, inner.transport.clock().now()));
        }
        let text = std::str::from_utf8(response.body())
            .map_err(|e| Error::decode("key listing", ".", e))?;
        let listing = KeyListing::parse(text).map_err(|reason| Error::InvalidKeyListing {
            host: inner.transport.base_url().host().to_owned(),
            reason,
        })?;
        tracing::debug!(
            principal,
            keys = listing.keys().len(),
            skipped = listing.skipped().len(),
            fingerprints = ?listing.keys().iter().map(|k| k.fingerprint().as_str()).collect::<Vec<_>>(),
            "fetched the key listing"
        );
        Ok(listing)
    }

    fn choose_key(
        &self,
        principal: &str,
        listing: &KeyListing,
        selection: Option<&KeySelection>,
    ) -> Result<AuthorizedKey, Error> {
        let selection = selection.unwrap_or(&self.inner.selection);
        let key = listing
            .select(selection, &self.inner.key_types)
            .cloned()
            .ok_or_else(|| Error::NoSuitableKey {
                principal: principal.to_owned(),
            })?;
        tracing::debug!(
            principal,
            fingerprint = %key.fingerprint(),
            key_type = %key.key_type(),
            "chose a key"
        );
        Ok(key)
    }

    /// The direct flow: lists the user's keys, chooses one (see [`KeySelection`]), asks the
    /// server to have the phone sign 128 fresh random bytes, waits for the user's answer (up
    /// to the sign timeout) and verifies the signature with the listed key.
    ///
    /// Only one key is asked: a rejection or error ends the authentication (the user is never
    /// prompted twice).
    ///
    /// Errors: [`Error::Rejected`] (the user said no), [`Error::UnknownUser`],
    /// [`Error::NoSuitableKey`], [`Error::Server`], [`Error::InvalidServerResponse`],
    /// [`Error::SignatureInvalid`], and timeouts/transport failures as [`Error::Core`].
    pub async fn authenticate(&self, request: impl Into<AuthRequest>) -> Result<Approval, Error> {
        self.authenticate_observed(request.into(), &mut false).await
    }

    /// [`Client::authenticate`], telling through `sent` whether the sign request went out (so
    /// a timeout can be told apart: the user did not answer vs. the server was unreachable).
    pub(crate) async fn authenticate_observed(
        &self,
        request: AuthRequest,
        sent: &mut bool,
    ) -> Result<Approval, Error> {
        let inner = &self.inner;
        let principal = request.principal.as_str();
        validate_principal(principal)?;
        let remote_name = request.remote_name.as_deref().unwrap_or(&inner.remote_name);
        let template = request.prompt_text.as_deref().unwrap_or(&inner.prompt_text);
        let authorize_text = request
            .authorize_text
            .as_deref()
            .unwrap_or(&inner.authorize_text);
        validate_text("remote_name", remote_name)?;
        validate_text("prompt_text", template)?;
        validate_text("authorize_text", authorize_text)?;
        let payload = match &request.payload {
            Some(p) if p.is_empty() || p.len() > MAX_PAYLOAD_LEN => {
                return Err(Error::config(
                    "payload",
                    format!("must be 1 to {MAX_PAYLOAD_LEN} bytes"),
                ));
            }
            Some(p) => p.clone(),
            None => self.random(PAYLOAD_LEN)?,
        };

        let listing = self.authorized_keys(principal).await?;
        let key = self.choose_key(principal, &listing, request.key.as_ref())?;
        let flags = key.flags_for(inner.rsa_hash);
        let text = Placeholders {
            principal,
            remote_name,
            hostname: inner.transport.base_url().host(),
        }
        .fill(template);
        let form = SignForm {
            username: principal,
            fingerprint: key.fingerprint(),
            remote_name,
            text: &text,
            authorize_text,
            flags,
            payload: &payload,
        }
        .encode();
        let http_request = inner
            .transport
            .request(Method::POST, SIGN_PAYLOAD_PATH)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(form.into_bytes())
            .map_err(|e| Error::config("sign request", e.to_string()))?;
        tracing::debug!(
            principal,
            fingerprint = %key.fingerprint(),
            flags,
            "asking the phone to sign; waiting for the user"
        );
        *sent = true;
        let response = inner
            .transport
            .send_with_timeout(http_request, Replay::Never, inner.sign_timeout)
            .await?;
        if response.status() != StatusCode::OK {
            return Err(status_error(&response, inner.transport.clock().now()));
        }
        let signature = read_sign_answer(response.body())?;
        match key.verify(flags, &payload, &signature) {
            Ok(()) => {
                tracing::debug!(principal, fingerprint = %key.fingerprint(), "signature verified: approved");
                Ok(Approval {
                    principal: principal.to_owned(),
                    key,
                    flags,
                    signed_data: payload,
                    signature,
                })
            }
            Err(e) => {
                tracing::warn!(principal, fingerprint = %key.fingerprint(), error = %e, "signature refused");
                Err(e)
            }
        }
    }

    /// The redirect flow, step 1: lists the user's keys, chooses one, and builds the request
    /// blob (with a fresh nonce and noise). Keep the returned [`PendingRequest`] in the user's
    /// session and send the browser to [`Client::sign_url`].
    pub async fn generate_request(
        &self,
        request: RedirectRequest,
    ) -> Result<PendingRequest, Error> {
        let inner = &self.inner;
        let principal = request.principal.as_str();
        validate_principal(principal)?;
        validate_redirect_url(&request.redirect_url)?;
        let remote_name = request.remote_name.as_deref().unwrap_or(&inner.remote_name);
        let template = request.prompt_text.as_deref().unwrap_or(&inner.prompt_text);
        let authorize_text = request
            .authorize_text
            .as_deref()
            .unwrap_or(&inner.authorize_text);
        validate_text("remote_name", remote_name)?;
        validate_text("prompt_text", template)?;
        validate_text("authorize_text", authorize_text)?;

        let listing = self.authorized_keys(principal).await?;
        let key = self.choose_key(principal, &listing, request.key.as_ref())?;
        let flags = key.flags_for(inner.rsa_hash);
        let random = self.random(20)?;
        let nonce = [random[0], random[1], random[2], random[3]];
        let blob = RequestBlob {
            principal: principal.to_owned(),
            fingerprint: key.fingerprint().clone(),
            remote_name: remote_name.to_owned(),
            prompt_text: Placeholders {
                principal,
                remote_name,
                hostname: inner.transport.base_url().host(),
            }
            .fill(template),
            authorize_text: authorize_text.to_owned(),
            flags,
            nonce,
            redirect_url: request.redirect_url.clone(),
            noise: random[4..].to_vec(),
        };
        tracing::debug!(principal, fingerprint = %key.fingerprint(), flags, "generated a redirect request");
        Ok(PendingRequest {
            blob: blob.to_bytes(),
            principal: principal.to_owned(),
            fingerprint: key.fingerprint().clone(),
            flags,
            created_at: u64::try_from(inner.transport.clock().unix_seconds()).unwrap_or(0),
        })
    }

    /// The redirect flow, step 2: where to send the browser,
    /// `https://{host}[:{port}]/authenticator/sign/{blob}` (the port only when not the
    /// scheme's default, as the Java SDK writes it).
    pub fn sign_url(&self, pending: &PendingRequest) -> Url {
        self.sign_url_for(&pending.encoded())
    }

    /// The sign URL for an already encoded request blob (base64url, as in the path).
    pub fn sign_url_for(&self, encoded_blob: &str) -> Url {
        self.inner.transport.base_url().join(&format!(
            "{SIGN_PAGE_PATH}{}",
            auth_core::base_url::encode_path_segment(encoded_blob)
        ))
    }

    /// The redirect flow, step 3: checks the `response` query parameter the browser came back
    /// with against the pending request, which it consumes.
    ///
    /// Checks, in order: the request's age; the response decodes (base64url or standard
    /// base64, padded or unpadded, also with `+` turned into a space or padding still
    /// percent-encoded by URL handling); a rejection → [`Error::Rejected`]; flags are ones we accept
    /// ([`Error::UnsupportedFlags`], SHA-1 never); username, fingerprint and flags equal the
    /// request's ([`Error::ResponseMismatch`]); the key is fetched again from the server
    /// ([`Error::KeyNotFound`]); the signature verifies over the whole request blob
    /// ([`Error::SignatureInvalid`]). A response replayed onto another request fails, since
    /// the blobs differ.
    ///
    /// Single use: keep the pending request where only your server can change it and remove it
    /// before calling this. As a second line of defence (e.g. for sessions kept in signed
    /// cookies, which an attacker can present again), this client (and its clones) also
    /// remembers each request that produced an approval until it would have expired, and
    /// refuses it again with [`Error::RequestAlreadyUsed`]. That memory is per process: it does
    /// not replace removing the request from a shared session store.
    pub async fn process_response(
        &self,
        pending: PendingRequest,
        response: &str,
    ) -> Result<Approval, Error> {
        let inner = &self.inner;
        let now = u64::try_from(inner.transport.clock().unix_seconds()).unwrap_or(0);
        let age = Duration::from_secs(now.saturating_sub(pending.created_at));
        if age > inner.max_pending_age || pending.created_at > now.saturating_add(60) {
            return Err(Error::RequestExpired {
                age,
                max_age: inner.max_pending_age,
            });
        }
        let digest = blob_digest(&pending.blob);
        if self.already_approved(&digest, now) {
            tracing::warn!(principal = %pending.principal, "a pending request was presented again after its approval");
            return Err(Error::RequestAlreadyUsed);
        }
        let bytes = decode_response_param(response)?;
        let parsed = ResponseBlob::parse(&bytes)
            .map_err(|e| Error::decode("redirect response", "response", e))?;
        let (username, fingerprint, flags, signature) = match parsed {
            ResponseBlob::Rejected { message } => {
                tracing::debug!(principal = %pending.principal, ?message, "the user rejected the request");
                return Err(Error::Rejected { message });
            }
            ResponseBlob::Signed {
                username,
                fingerprint,
                flags,
                signature,
            } => (username, fingerprint, flags, signature),
        };
        if ![
            crate::key::FLAGS_ED25519,
            crate::key::FLAGS_RSA_SHA2_256,
            crate::key::FLAGS_RSA_SHA2_512,
        ]
        .contains(&flags)
        {
            let key_type = if pending.flags == crate::key::FLAGS_ED25519 {
                KeyType::Ed25519
            } else {
                KeyType::Rsa
            };
            return Err(Error::UnsupportedFlags { key_type, flags });
        }
        if username != pending.principal {
            return Err(Error::ResponseMismatch { field: "username" });
        }
        if fingerprint != pending.fingerprint {
            return Err(Error::ResponseMismatch {
                field: "fingerprint",
            });
        }
        if flags != pending.flags {
            return Err(Error::ResponseMismatch { field: "flags" });
        }
        let listing = self.authorized_keys(&pending.principal).await?;
        let key = listing
            .find(&fingerprint)
            .filter(|k| inner.key_types.contains(&k.key_type()))
            .cloned()
            .ok_or_else(|| Error::KeyNotFound {
                fingerprint: fingerprint.clone(),
            })?;
        key.verify(flags, &pending.blob, &signature)?;
        if !self.record_approval(digest, pending.created_at) {
            // Another task approved the same request at the same time.
            return Err(Error::RequestAlreadyUsed);
        }
        tracing::debug!(principal = %pending.principal, fingerprint = %fingerprint, "redirect response verified: approved");
        Ok(Approval {
            principal: pending.principal,
            key,
            flags,
            signed_data: pending.blob,
            signature,
        })
    }

    fn approved_set(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], u64>> {
        auth_core::sync::lock(&self.inner.approved)
    }

    /// Whether this blob already produced an approval; forgets requests past their age limit.
    fn already_approved(&self, digest: &[u8; 32], now: u64) -> bool {
        let max_age = self.inner.max_pending_age.as_secs();
        let mut approved = self.approved_set();
        approved.retain(|_, created_at| now.saturating_sub(*created_at) <= max_age);
        approved.contains_key(digest)
    }

    /// Records an approval; `false` when it was already recorded.
    fn record_approval(&self, digest: [u8; 32], created_at: u64) -> bool {
        self.approved_set().insert(digest, created_at).is_none()
    }

    /// Re-verifies a stored approval (used by the step-up `check`): fetches the key again and
    /// verifies the signature over the signed data.
    pub(crate) async fn reverify(
        &self,
        principal: &str,
        fingerprint: &Fingerprint,
        flags: u32,
        signed_data: Vec<u8>,
        signature: Vec<u8>,
    ) -> Result<Approval, Error> {
        let listing = self.authorized_keys(principal).await?;
        let key = listing
            .find(fingerprint)
            .filter(|k| self.inner.key_types.contains(&k.key_type()))
            .cloned()
            .ok_or_else(|| Error::KeyNotFound {
                fingerprint: fingerprint.clone(),
            })?;
        key.verify(flags, &signed_data, &signature)?;
        Ok(Approval {
            principal: principal.to_owned(),
            key,
            flags,
            signed_data,
            signature,
        })
    }

    /// The client's transport.
    pub(crate) fn transport(&self) -> &auth_core::Transport {
        &self.inner.transport
    }

    pub(crate) fn random(&self, n: usize) -> Result<Vec<u8>, Error> {
        let mut bytes = vec![0u8; n];
        self.inner
            .rng
            .fill(&mut bytes)
            .map_err(|_| Error::config("rng", "the system random number generator failed"))?;
        Ok(bytes)
    }
}

/// The SHA-256 digest of `blob`.
pub(crate) fn blob_digest(blob: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, blob);
    for (o, d) in out.iter_mut().zip(digest.as_ref()) {
        *o = *d;
    }
    out
}

/// Decodes the redirect `response` parameter: base64url or standard base64, padded or not,
/// with what URL handling may have done to it undone.
fn decode_response_param(response: &str) -> Result<Vec<u8>, Error> {
    // A space is a `+` of standard base64 that form decoding turned into one, unless it is
    // whitespace around the value; both readings are tried (the signature decides).
    let unescaped = undo_percent_encoding(response);
    b64::decode_lenient(&unescaped.replace(' ', "+"))
        .or_else(|e| b64::decode_lenient(&unescaped).map_err(|_| e))
        .map_err(|e| Error::decode("redirect response", "response", e))
}

/// Decodes `%3D`, `%2B` and `%2F` (either case): padding and `+`/`/` still percent-encoded
/// in a raw query value. `%` cannot occur in base64, so this never changes a well-formed value.
fn undo_percent_encoding(response: &str) -> String {
    let mut out = String::with_capacity(response.len());
    let mut rest = response;
    while let Some(c) = rest.chars().next() {
        let decoded = match rest.get(..3) {
            Some(e) if e.eq_ignore_ascii_case("%3D") => Some('='),
            Some(e) if e.eq_ignore_ascii_case("%2B") => Some('+'),
            Some(e) if e.eq_ignore_ascii_case("%2F") => Some('/'),
            _ => None,
        };
        match decoded {
            Some(d) => {
                out.push(d);
                rest = rest.get(3..).unwrap_or("");
            }
            None => {
                out.push(c);
                rest = rest.get(c.len_utf8()..).unwrap_or("");
            }
        }
    }
    out
}

/// The error for an answer whose status is not 200: a 429 is [`Error::RateLimited`] with the
/// server's `Retry-After`; any other status is [`auth_core::Error::Status`] with the body (a
/// JSON `message` in it is kept there).
fn status_error(response: &HttpResponse, now: SystemTime) -> Error {
    let status = response.status().as_u16();
    if status == 429 {
        let retry_after = auth_core::retry::rate_limit_retry_after(response.headers(), now);
        return Error::RateLimited { retry_after };
    }
    auth_core::Error::status(status, response.body(), &[]).into()
}

/// Reads a 200 answer of `signPayload` (spec §5.3): the raw signature bytes, or the typed
/// failure.
fn read_sign_answer(body: &[u8]) -> Result<Vec<u8>, Error> {
    let answer: SignResponse = auth_core::json::from_slice("sign response", body)?;
    interpret_sign_response(answer)
}

fn interpret_sign_response(answer: SignResponse) -> Result<Vec<u8>, Error> {
    if !answer.success {
        let message = answer.message.unwrap_or_default();
        // `?`: text from the server or the browser is logged escaped (no forged log lines).
        tracing::debug!(?message, "the credential server reported a failure");
        return Err(Error::Server { message });
    }
    let signature = answer.signature.unwrap_or_default();
    if !signature.trim().is_empty() {
        return b64::decode_lenient(&signature)
            .map_err(|e| Error::decode("sign response", "signature", e));
    }
    let response = answer.response.unwrap_or_default();
    if response.trim().is_empty() {
        return Err(Error::InvalidServerResponse {
            reason: "neither a signature nor a response".into(),
        });
    }
    let bytes = b64::decode_lenient(&response)
        .map_err(|e| Error::decode("sign response", "response", e))?;
    let mut r = crate::wire::Reader::new(&bytes);
    let ok = r
        .boolean("success")
        .map_err(|e| Error::decode("sign response", "response", e))?;
    let message = r
        .text("message")
        .map_err(|e| Error::decode("sign response", "response", e))?
        .to_owned();
    r.finish()
        .map_err(|e| Error::decode("sign response", "response", e))?;
    if ok {
        Err(Error::InvalidServerResponse {
            reason: "an empty signature with a positive response".into(),
        })
    } else {
        tracing::debug!(?message, "the user rejected the request");
        Err(Error::Rejected { message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(json: &str) -> Result<Vec<u8>, Error> {
        interpret_sign_response(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn sign_answers() {
        assert_eq!(
            answer(r#"{"success":true,"message":"","signature":"AQID","response":""}"#).unwrap(),
            vec![1, 2, 3]
        );
        assert!(matches!(
            answer(r#"{"success":false,"message":"Boom"}"#),
            Err(Error::Server { message }) if message == "Boom"
        ));
        let mut w = crate::wire::Writer::new();
        w.boolean(false)
            .text("The keystore rejected the signature request.");
        let rejected = b64::encode_url(&w.into_bytes());
        assert!(matches!(
            answer(&format!(r#"{{"success":true,"signature":"","response":"{rejected}"}}"#)),
            Err(Error::Rejected { message }) if message.starts_with("The keystore")
        ));
        let mut w = crate::wire::Writer::new();
        w.boolean(true).text("");
        let positive = b64::encode_url_padded(&w.into_bytes());
        assert!(matches!(
            answer(&format!(
                r#"{{"success":true,"signature":"","response":"{positive}"}}"#
            )),
            Err(Error::InvalidServerResponse { .. })
        ));
        assert!(matches!(
            answer(r#"{"success":true,"signature":"","response":""}"#),
            Err(Error::InvalidServerResponse { .. })
        ));
        assert!(matches!(
            answer(r#"{"success":true,"signature":"@@"}"#),
            Err(Error::Core(auth_core::Error::Decode { .. }))
        ));
    }

    /// The members of the sign answer that may not be `null` (and why).
    const REQUIRED: &[(&str, &str)] = &[(
        "success",
        "every official client branches on it first; there is no answer without it",
    )];

    /// Every answer in `bodies` (status, JSON text) still reads with any one member set to
    /// `null`: the wire types parse, and reading the answer never fails with a decode error.
    /// Returns the required members that were refused (each must be, to stay on the list).
    fn check_null_variants(bodies: &[(u16, String)]) -> std::collections::BTreeSet<String> {
        let mut refused = std::collections::BTreeSet::new();
        let mut failures = Vec::new();
        for (status, body) in bodies {
            let value: serde_json::Value = serde_json::from_str(body).unwrap();
            let status = StatusCode::from_u16(*status).unwrap();
            for (field, nulled) in auth_core::json::null_variants(&value) {
                let bytes = serde_json::to_vec(&nulled).unwrap();
                if status != StatusCode::OK {
                    // Error statuses are not parsed: the body is kept as it is.
                    continue;
                }
                let parsed = auth_core::json::from_slice::<SignResponse>("sign response", &bytes)
                    .map(drop)
                    .map_err(|e| e.to_string());
                let read = read_sign_answer(&bytes);
                let decode_error =
                    matches!(read, Err(Error::Core(auth_core::Error::Decode { .. })));
                if REQUIRED.iter().any(|(name, _)| *name == field) {
                    if parsed.is_err() || decode_error {
                        refused.insert(field);
                    }
                    continue;
                }
                if let Err(e) = parsed {
                    failures.push(format!("{status} {body}: {field} = null: {e}"));
                } else if decode_error {
                    failures.push(format!("{status} {body}: {field} = null: {read:?}"));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        refused
    }

    /// The sign answers of the recorded transcripts (`fixtures/logonbox/transcripts/`).
    fn recorded_sign_answers() -> Vec<(u16, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/logonbox/transcripts");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
            for ex in fixture["exchanges"].as_array().unwrap() {
                if ex["request"]["path"] == SIGN_PAYLOAD_PATH {
                    out.push((
                        ex["response"]["status"].as_u64().unwrap() as u16,
                        ex["response"]["body"].as_str().unwrap().to_owned(),
                    ));
                }
            }
        }
        out
    }

    #[test]
    fn null_is_the_same_as_absent_in_recorded_sign_answers() {
        let bodies = recorded_sign_answers();
        assert!(bodies.len() >= 8, "{} recorded answers", bodies.len());
        let refused = check_null_variants(&bodies);
        let required: std::collections::BTreeSet<String> =
            REQUIRED.iter().map(|(p, _)| (*p).to_owned()).collect();
        assert_eq!(refused, required, "the required list is exact");
        // An error status is a status error whatever its body says, `null` message or not.
        let response = |status: u16, retry_after: Option<&str>| {
            let mut builder = http::Response::builder().status(status);
            if let Some(value) = retry_after {
                builder = builder.header("retry-after", value);
            }
            builder
                .body(br#"{"success":false,"message":null}"#.to_vec())
                .unwrap()
        };
        let now = SystemTime::UNIX_EPOCH;
        let err = status_error(&response(500, None), now);
        assert!(
            matches!(
                err,
                Error::Core(auth_core::Error::Status { status: 500, .. })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_429_is_rate_limited_with_the_servers_hint() {
        use auth_core::{Classify, ErrorKind};
        let response = |retry_after: Option<&str>| {
            let mut builder = http::Response::builder().status(429);
            if let Some(value) = retry_after {
                builder = builder.header("retry-after", value);
            }
            builder.body(b"slow down".to_vec()).unwrap()
        };
        let now = SystemTime::UNIX_EPOCH;
        let err = status_error(&response(Some("7")), now);
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert!(err.is_retryable());
        assert_eq!(
            status_error(&response(Some("86400")), now).retry_after(),
            Some(auth_core::retry::MAX_RETRY_AFTER)
        );
        // No Retry-After: the one rule of every provider, a 5 s pause.
        assert_eq!(
            status_error(&response(None), now).retry_after(),
            Some(auth_core::retry::RATE_LIMIT_BACKOFF)
        );
    }

    /// What the emulator answers for every behaviour of the phone, padded and not.
    #[cfg(feature = "emulator")]
    #[tokio::test]
    async fn null_is_the_same_as_absent_in_emulator_sign_answers() {
        use crate::emulator::{Behaviour, Emulator};
        type Seen = Arc<Mutex<Vec<(u16, String)>>>;
        let seen: Seen = Arc::default();
        let log = seen.clone();
        let http =
            Arc::new(auth_core::ReqwestClient::new(&auth_core::HttpConfig::default()).unwrap());
        let recorder = move |req: auth_core::HttpRequest| {
            let log = log.clone();
            let http = http.clone();
            async move {
                let sign = req.uri().path() == SIGN_PAYLOAD_PATH;
                let resp = auth_core::HttpClient::execute(http.as_ref(), req).await?;
                if sign {
                    log.lock().unwrap().push((
                        resp.status().as_u16(),
                        String::from_utf8(resp.body().clone()).unwrap(),
                    ));
                }
                Ok::<_, auth_core::TransportError>(resp)
            }
        };
        let emulator = Emulator::start().await.unwrap();
        emulator
            .add_user("ed@example.com", &[KeyType::Ed25519])
            .unwrap();
        emulator
            .add_user("rsa@example.com", &[KeyType::Rsa])
            .unwrap();
        let client = Client::builder(emulator.base_url())
            .http_client(Arc::new(recorder))
            .build()
            .unwrap();
        let behaviours = [
            Behaviour::Approve,
            Behaviour::reject(),
            Behaviour::Fail {
                message: "The directory is down".into(),
            },
            Behaviour::HttpStatus {
                status: 503,
                message: Some("Try later".into()),
            },
            Behaviour::CorruptSignature,
            Behaviour::EmptySignaturePositive,
            Behaviour::SignAs("rsa@example.com".into()),
        ];
        for padded in [false, true] {
            emulator.set_padded_base64(padded);
            for behaviour in &behaviours {
                emulator.set_behaviour("ed@example.com", behaviour.clone());
                let _ = client.authenticate("ed@example.com").await;
            }
            let _ = client.authenticate("rsa@example.com").await.unwrap();
        }
        let bodies = seen.lock().unwrap().clone();
        assert_eq!(bodies.len(), 2 * (behaviours.len() + 1));
        let refused = check_null_variants(&bodies);
        assert!(refused.contains("success"));
    }

    #[test]
    fn percent_encoding_is_undone() {
        assert_eq!(undo_percent_encoding("ab+c/d=="), "ab+c/d==");
        assert_eq!(undo_percent_encoding("ab c%2Fd%3d%3D"), "ab c/d==");
        assert_eq!(undo_percent_encoding("a%2bb%"), "a+b%");
        assert_eq!(undo_percent_encoding("é%3"), "é%3");
        assert_eq!(undo_percent_encoding("%41"), "%41");
        assert_eq!(undo_percent_encoding(""), "");
    }

    #[test]
    fn response_param_spellings() {
        // Standard base64 `AAA+` / url-safe `AAA-` = 00 00 3e: a `+` at the very end.
        for spelling in ["AAA+", "AAA-", "AAA ", " AAA+\n", "AAA%2B", "AAA%2b"] {
            assert_eq!(
                decode_response_param(spelling).unwrap(),
                [0, 0, 0x3e],
                "{spelling:?}"
            );
        }
        // `+` first, and padding in every form.
        for spelling in ["+A==", "-A==", " A==", "+A", "+A%3D%3d", "%2BA%3D%3D"] {
            assert_eq!(
                decode_response_param(spelling).unwrap(),
                [0xf8],
                "{spelling:?}"
            );
        }
        // Whitespace around a value that has no `+`.
        assert_eq!(decode_response_param("\tAAAA \n").unwrap(), [0, 0, 0]);
        for junk in ["%", "A", "AB+C-D", "é", "A A A"] {
            assert!(
                matches!(
                    decode_response_param(junk),
                    Err(Error::Core(auth_core::Error::Decode { .. }))
                ),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn random_response_params_never_panic() {
        let mut rng = fastrand::Rng::with_seed(5);
        let alphabet: Vec<char> = "AZaz09+/-_= %3D2Bb2Ff\u{e9}\n".chars().collect();
        for _ in 0..5000 {
            let len = rng.usize(0..24);
            let text: String = (0..len)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            let _ = decode_response_param(&text);
        }
    }

    #[test]
    fn client_is_clone_send_sync() {
        fn check<T: Clone + Send + Sync + 'static>() {}
        check::<Client>();
        check::<Approval>();
        check::<PendingRequest>();
        fn error<T: std::error::Error + Send + Sync + 'static>() {}
        error::<Error>();
    }

    #[test]
    fn builder_validation() {
        assert!(Client::builder("").build().is_err());
        assert!(Client::builder("corp.logonbox.directory").build().is_err());
        assert!(
            Client::builder("https://user@host.example")
                .build()
                .is_err()
        );
        assert!(Client::builder("https://h.example?x=1").build().is_err());
        assert!(Client::builder("http://h.example").build().is_err());
        assert!(Client::builder("http://127.0.0.1:8080").build().is_ok());
        assert!(Client::builder("http://[::1]").build().is_ok());
        assert!(Client::builder("https://h.example:8443").build().is_ok());
        assert!(
            Client::builder("https://h.example")
                .key_types(&[])
                .build()
                .is_err()
        );
        assert!(
            Client::builder("https://h.example")
                .max_response_bytes(0)
                .build()
                .is_err()
        );
        assert!(
            Client::builder("https://h.example")
                .prompt_text("x".repeat(5000))
                .build()
                .is_err()
        );
        assert!(
            Client::builder("https://h.example")
                .sign_timeout(Duration::ZERO)
                .build()
                .is_err()
        );
    }

    #[test]
    fn a_shared_config_is_taken_whole() {
        let clock = auth_core::FakeClock::at_unix(1_700_000_000);
        let shared = Config::new()
            .clock(Arc::new(clock.clone()))
            .application("my-bank/2.1");
        let client = Client::builder("https://corp.logonbox.directory")
            .config(&shared)
            .build()
            .unwrap();
        assert_eq!(client.inner.transport.clock().unix_seconds(), 1_700_000_000);
        clock.advance(Duration::from_secs(5));
        assert_eq!(client.inner.transport.clock().unix_seconds(), 1_700_000_005);
    }

    #[test]
    fn sign_url_omits_default_port() {
        let blob = RequestBlob {
            principal: "p".into(),
            fingerprint: Fingerprint::of_blob(b"k"),
            remote_name: "r".into(),
            prompt_text: "t".into(),
            authorize_text: "a".into(),
            flags: 0,
            nonce: [0; 4],
            redirect_url: "https://x/{response}".into(),
            noise: vec![0; 16],
        };
        let pending = PendingRequest::from_encoded(&b64::encode_url(&blob.to_bytes()), 0).unwrap();
        let c = Client::builder("https://test.mydomain.com")
            .build()
            .unwrap();
        assert_eq!(
            c.sign_url(&pending).as_str(),
            format!(
                "https://test.mydomain.com/authenticator/sign/{}",
                pending.encoded()
            )
        );
        let c = Client::builder("https://test.mydomain.com:8443")
            .build()
            .unwrap();
        assert!(
            c.sign_url(&pending)
                .as_str()
                .starts_with("https://test.mydomain.com:8443/authenticator/sign/")
        );
    }
}
