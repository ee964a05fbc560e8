//! The OP's endpoints: discovery, JWKS, backchannel authentication, token; client
//! authentication; token issuance (planned under the state lock, signed outside it).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use auth_core::emulator::json_response;
use auth_core::time::Timestamp;
use auth_core::{HttpRequest, HttpResponse};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::HeaderValue;
use http::header::{AUTHORIZATION, CACHE_CONTROL, HOST, RETRY_AFTER, WWW_AUTHENTICATE};
use jsonwebtoken::Validation;
use serde_json::{Map, Value, json};

use super::model::{Model, Req, State, random_token};
use super::{
    BACKCHANNEL_PATH, ClientAuthMethod, DISCOVERY_PATH, EmulatedClient, EmulatedRequest, Fault,
    JWKS_PATH, MAX_BINDING_MESSAGE, MAX_OPEN_REQUESTS, RequestState, TOKEN_PATH,
};
use crate::id_token::{AUTH_REQ_ID_CLAIM, token_hash};
use crate::jwks::PublicKey;
use crate::keys::{Algorithm, SigningKey};
use crate::token::CIBA_GRANT_TYPE;
use crate::types::{DeliveryMode, is_b64token};

/// The leeway on the times of client assertions and request objects.
pub(super) const LEEWAY_SECONDS: i64 = 30;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A refusal of client authentication (boxed: a response is large).
type Refusal = Box<HttpResponse>;

/// Unix seconds.
fn unix(t: SystemTime) -> i64 {
    Timestamp::from_system_time(t).unix_seconds()
}

/// A JSON answer that must not be cached (RFC 6749 §5.1).
fn respond(status: u16, body: &Value) -> HttpResponse {
    let mut r = json_response(status, body);
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn oauth_error(status: u16, code: &str, description: &str) -> HttpResponse {
    let mut r = respond(
        status,
        &json!({"error": code, "error_description": description}),
    );
    if status == 401 {
        r.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"emulator\""),
        );
    }
    r
}

fn bad(code: &str, why: &str) -> HttpResponse {
    oauth_error(400, code, why)
}

fn fault_answer(f: Fault) -> HttpResponse {
    match f {
        Fault::OAuthError(status, code) => oauth_error(status, &code, "injected fault"),
        Fault::Unavailable(secs) => {
            let mut r = oauth_error(503, "temporarily_unavailable", "injected fault");
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(RETRY_AFTER, v);
            }
            r
        }
        _ => oauth_error(500, "server_error", "injected fault"),
    }
}

fn form(request: &HttpRequest) -> Vec<(String, String)> {
    url::form_urlencoded::parse(request.body())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn header(request: &HttpRequest, name: http::header::HeaderName) -> Option<&str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

impl Model {
    /// The issuer a request is answered as: the one set, or the request's own URL.
    fn issuer_for(&self, request: &HttpRequest) -> String {
        if let Some(issuer) = self.lock().issuer.clone() {
            return issuer;
        }
        let uri = request.uri();
        if let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) {
            return format!("{scheme}://{authority}");
        }
        header(request, HOST)
            .and_then(|h| h.parse::<http::uri::Authority>().ok())
            .filter(|a| !a.as_str().contains('@'))
            .map_or_else(|| "http://localhost".to_owned(), |a| format!("http://{a}"))
    }

    /// Answers one request, and says how long to hold the answer back ([`Fault::Delay`]).
    pub(super) fn route(
        &self,
        request: &HttpRequest,
        now: SystemTime,
    ) -> (HttpResponse, Option<Duration>) {
        let issuer = self.issuer_for(request);
        // Mounted under the issuer's path, or with it stripped: both answer.
        let prefix = url::Url::parse(&issuer)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let full = request.uri().path();
        let path = match full.strip_prefix(prefix.as_str()) {
            Some(rest) if !prefix.is_empty() && rest.starts_with('/') => rest,
            _ => full,
        };
        let response = match (request.method().as_str(), path) {
            ("GET", DISCOVERY_PATH) => self.discovery(&issuer),
            ("GET", JWKS_PATH) => self.jwks(),
            ("POST", BACKCHANNEL_PATH) => self.backchannel(request, &issuer, now),
            ("POST", TOKEN_PATH) => self.token(request, &issuer, now),
            _ => oauth_error(404, "not_found", "no such endpoint"),
        };
        let delay = match self.lock().take_fault(|f| matches!(f, Fault::Delay(_))) {
            Some(Fault::Delay(d)) => Some(d),
            _ => None,
        };
        (response, delay)
    }

    fn discovery(&self, i: &str) -> HttpResponse {
        let mut doc = json!({
            "issuer": i,
            "authorization_endpoint": format!("{i}/authorize"),
            "token_endpoint": format!("{i}{TOKEN_PATH}"),
            "jwks_uri": format!("{i}{JWKS_PATH}"),
            "backchannel_authentication_endpoint": format!("{i}{BACKCHANNEL_PATH}"),
            "backchannel_token_delivery_modes_supported": ["poll", "ping", "push"],
            "backchannel_authentication_request_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
            "backchannel_user_code_parameter_supported": true,
            "grant_types_supported": [CIBA_GRANT_TYPE, "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
            "id_token_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
            "scopes_supported": ["openid", "profile", "email"],
            "subject_types_supported": ["public"],
            "response_types_supported": ["code"],
        });
        if let Some(o) = doc.as_object_mut() {
            for (k, v) in &self.lock().metadata {
                if v.is_null() {
                    o.remove(k);
                } else {
                    o.insert(k.clone(), v.clone());
                }
            }
        }
        respond(200, &doc)
    }

    fn jwks(&self) -> HttpResponse {
        let mut st = self.lock();
        st.jwks_fetches += 1;
        respond(200, &SigningKey::public_jwk_set(&st.keys))
    }

    /// Authenticates the client at `<issuer><endpoint>`, then answers an injected OAuth
    /// fault if one waits.
    fn admit(
        &self,
        request: &HttpRequest,
        params: &HashMap<String, String>,
        issuer: &str,
        endpoint: &str,
        now: SystemTime,
    ) -> Result<EmulatedClient, Refusal> {
        let client =
            self.authenticate(request, params, issuer, &format!("{issuer}{endpoint}"), now)?;
        let injected = self
            .lock()
            .take_fault(|f| matches!(f, Fault::OAuthError(..) | Fault::Unavailable(_)));
        match injected {
            Some(f) => Err(Box::new(fault_answer(f))),
            None => Ok(client),
        }
    }

    /// Client authentication (RFC 6749 §2.3.1, RFC 7523).
    fn authenticate(
        &self,
        request: &HttpRequest,
        params: &HashMap<String, String>,
        issuer: &str,
        endpoint_url: &str,
        now: SystemTime,
    ) -> Result<EmulatedClient, Refusal> {
        let fail = |why: &str| Box::new(oauth_error(401, "invalid_client", why));
        let decode = |s: &str| auth_core::base_url::percent_decode(s, true);
        let basic = header(request, AUTHORIZATION)
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| STANDARD.decode(b.trim()).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                let (id, secret) = s.split_once(':')?;
                Some((decode(id)?, decode(secret)?))
            });
        let claimed = match (&basic, params.get("client_id")) {
            (Some((id, _)), _) => id.clone(),
            (None, Some(id)) => id.clone(),
            (None, None) => {
                // private_key_jwt without client_id: take it from the assertion.
                let Some(a) = params.get("client_assertion") else {
                    return Err(fail("no client authentication"));
                };
                match jsonwebtoken::dangerous::insecure_decode_claims::<Map<String, Value>>(a) {
                    Ok(c) => c
                        .get("iss")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    Err(_) => return Err(fail("malformed client assertion")),
                }
            }
        };
        let client = self
            .lock()
            .clients
            .get(&claimed)
            .cloned()
            .ok_or_else(|| fail("unknown client"))?;
        match &client.auth {
            ClientAuthMethod::SecretBasic(secret) => match &basic {
                Some((_, s)) if secret.matches(s) => Ok(client),
                _ => Err(fail("client authentication failed")),
            },
            ClientAuthMethod::SecretPost(secret) => match (&basic, params.get("client_secret")) {
                (None, Some(s)) if secret.matches(s) => Ok(client),
                _ => Err(fail("client authentication failed")),
            },
            ClientAuthMethod::PrivateKeyJwt(jwk) => {
                if params.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER) {
                    return Err(fail("client_assertion_type must be jwt-bearer"));
                }
                let assertion = params
                    .get("client_assertion")
                    .ok_or_else(|| fail("no client_assertion"))?;
                let audiences = [issuer.to_owned(), endpoint_url.to_owned()];
                let claims = verify_client_jwt(jwk, assertion, &audiences, now)
                    .map_err(|why| fail(&format!("client assertion: {why}")))?;
                if claims.get("iss").and_then(Value::as_str) != Some(client.client_id.as_str())
                    || claims.get("sub").and_then(Value::as_str) != Some(client.client_id.as_str())
                {
                    return Err(fail("client assertion: iss and sub must be the client id"));
                }
                let jti = claims
                    .get("jti")
                    .and_then(Value::as_str)
                    .ok_or_else(|| fail("client assertion: no jti"))?;
                let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
                if !self.lock().seen_assertions.insert(jti, exp, unix(now)) {
                    return Err(fail("client assertion: jti already used"));
                }
                Ok(client)
            }
        }
    }

    fn backchannel(&self, request: &HttpRequest, issuer: &str, now: SystemTime) -> HttpResponse {
        let mut params: HashMap<String, String> = HashMap::new();
        for (k, v) in form(request) {
            if params.contains_key(&k) {
                return bad("invalid_request", &format!("`{k}` appears twice"));
            }
            params.insert(k, v);
        }
        let client = match self.admit(request, &params, issuer, "/backchannel", now) {
            Ok(c) => c,
            Err(answer) => return *answer,
        };
        // Signed request (CIBA §7.1.1): the parameters come from the JWT, none outside it.
        let (p, signed) = match params.get("request") {
            Some(jwt) => match signed_parameters(&client, jwt, &params, issuer, now) {
                Ok(p) => (p, true),
                Err(why) => return bad("invalid_request", &why),
            },
            None if client.require_signed_requests => {
                return bad(
                    "invalid_request",
                    "this client must sign its authentication requests",
                );
            }
            None => (params, false),
        };
        let scope = p.get("scope").cloned().unwrap_or_default();
        if !scope.split(' ').any(|s| s == "openid") {
            return bad("invalid_scope", "scope must contain openid");
        }
        let hints: Vec<&str> = ["login_hint", "id_token_hint", "login_hint_token"]
            .into_iter()
            .filter(|h| p.get(*h).is_some_and(|v| !v.is_empty()))
            .collect();
        let &[hint] = hints.as_slice() else {
            return bad(
                "invalid_request",
                "exactly one of login_hint, id_token_hint, login_hint_token is required",
            );
        };
        let hinted = match hint {
            "login_hint" => p.get("login_hint").cloned(),
            "login_hint_token" => p
                .get("login_hint_token")
                .and_then(|t| self.lock().login_hint_tokens.get(t).cloned()),
            _ => {
                let keys = self.lock().keys.clone();
                p.get("id_token_hint")
                    .and_then(|t| id_token_hint_subject(&keys, issuer, t, &client))
            }
        };
        let binding_message = p.get("binding_message").cloned();
        if let Some(m) = &binding_message
            && (m.is_empty()
                || m.chars().count() > MAX_BINDING_MESSAGE
                || m.chars().any(char::is_control))
        {
            return bad("invalid_binding_message", "1-100 printable characters");
        }
        let requested_expiry = match p.get("requested_expiry") {
            None => None,
            Some(v) => match v.parse::<u64>() {
                Ok(e) if e > 0 => Some(e),
                _ => {
                    return bad(
                        "invalid_request",
                        "requested_expiry must be a positive integer",
                    );
                }
            },
        };
        let notification_token = match client.mode {
            DeliveryMode::Poll => None,
            _ => match p.get("client_notification_token") {
                Some(t) if is_b64token(t) => Some(t.clone()),
                _ => {
                    return bad(
                        "invalid_request",
                        "client_notification_token is required (ping and push)",
                    );
                }
            },
        };

        let mut st = self.lock();
        let Some(user) = hinted.filter(|u| st.users.contains_key(u)) else {
            return bad("unknown_user_id", "could not identify the user");
        };
        let user_code = st.users.get(&user).and_then(|u| u.user_code.clone());
        let sent_code = p.get("user_code");
        match (&user_code, sent_code) {
            (Some(_), None) => return bad("missing_user_code", "this user requires a user_code"),
            (Some(c), Some(s)) if !c.matches(s) => {
                return bad("invalid_user_code", "wrong user_code");
            }
            (None, Some(_)) => return bad("invalid_user_code", "this user has no user_code"),
            _ => {}
        }
        if st.open() >= MAX_OPEN_REQUESTS {
            st.settle_expired(now);
        }
        if st.open() >= MAX_OPEN_REQUESTS {
            return oauth_error(
                503,
                "temporarily_unavailable",
                "too many requests wait for their users",
            );
        }
        let expires_in = requested_expiry.map_or(st.expiry, |e| e.min(st.expiry.max(600)));
        let id = random_token(24);
        let interval = st.interval.unwrap_or(5);
        st.made += 1;
        let seq = st.made;
        let expires_at = now + Duration::from_secs(expires_in);
        st.next_expiry = Some(st.next_expiry.map_or(expires_at, |t| t.min(expires_at)));
        st.requests.insert(
            id.clone(),
            Req {
                view: EmulatedRequest {
                    auth_req_id: id.clone(),
                    client_id: client.client_id.clone(),
                    user,
                    scope,
                    binding_message,
                    acr_values: p.get("acr_values").cloned(),
                    requested_expiry,
                    user_code_checked: sent_code.is_some(),
                    signed,
                    polls: 0,
                    interval,
                    expires_at,
                    state: RequestState::Pending,
                },
                created: now,
                seq,
                issuer: issuer.to_owned(),
                notification_token,
                last_poll: None,
                auth_time: None,
                error_description: None,
                settled: false,
            },
        );
        let mut ack = json!({"auth_req_id": id, "expires_in": expires_in});
        if let Some(i) = st.interval {
            ack["interval"] = json!(i);
        }
        respond(200, &ack)
    }

    fn token(&self, request: &HttpRequest, issuer: &str, now: SystemTime) -> HttpResponse {
        let params: HashMap<String, String> = form(request).into_iter().collect();
        let client = match self.admit(request, &params, issuer, "/token", now) {
            Ok(c) => c,
            Err(answer) => return *answer,
        };
        if params.get("grant_type").map(String::as_str) != Some(CIBA_GRANT_TYPE) {
            return bad("unsupported_grant_type", "only the CIBA grant type");
        }
        if client.mode == DeliveryMode::Push {
            return bad(
                "unauthorized_client",
                "push mode clients get their tokens pushed",
            );
        }
        let Some(id) = params.get("auth_req_id") else {
            return bad("invalid_request", "auth_req_id is required");
        };
        let plan = {
            let mut st = self.lock();
            let Some(r) = st.requests.get_mut(id) else {
                return bad("invalid_grant", "unknown auth_req_id");
            };
            if r.view.client_id != client.client_id {
                return bad("invalid_grant", "auth_req_id was issued to another client");
            }
            r.view.polls += 1;
            let last = r.last_poll.replace(now);
            if r.view.state == RequestState::Done {
                return bad("invalid_grant", "the tokens were issued already");
            }
            if now >= r.view.expires_at {
                st.settle(id);
                return bad("expired_token", "the request expired");
            }
            let pending = r.view.state == RequestState::Pending;
            let interval = Duration::from_secs(r.view.interval);
            let too_soon = client.mode == DeliveryMode::Poll
                && pending
                && last.is_some_and(|l| now.duration_since(l).unwrap_or(Duration::ZERO) < interval);
            let forced = pending && st.take_fault(|f| *f == Fault::SlowDown).is_some();
            let Some(r) = st.requests.get_mut(id) else {
                return bad("invalid_grant", "unknown auth_req_id");
            };
            if too_soon || forced {
                // CIBA §11: 5 s more for this and all later requests.
                r.view.interval += 5;
                return bad("slow_down", "you are polling too quickly");
            }
            let description = r.error_description.clone().unwrap_or_default();
            match r.view.state {
                RequestState::Pending => {
                    return bad("authorization_pending", "the user has not answered yet");
                }
                RequestState::Denied => {
                    r.view.state = RequestState::Done;
                    return bad("access_denied", &description);
                }
                RequestState::Failed => {
                    r.view.state = RequestState::Done;
                    return bad("transaction_failed", &description);
                }
                RequestState::Done => {
                    return bad("invalid_grant", "the tokens were issued already");
                }
                RequestState::Approved => {
                    r.view.state = RequestState::Done;
                    match plan_tokens(&mut st, id, &client, now, false) {
                        Some(plan) => plan,
                        None => return bad("invalid_grant", "unknown auth_req_id"),
                    }
                }
            }
        };
        respond(200, &plan.finish())
    }
}

/// The parameters of a signed authentication request (CIBA §7.1.1), checked.
fn signed_parameters(
    client: &EmulatedClient,
    jwt: &str,
    params: &HashMap<String, String>,
    issuer: &str,
    now: SystemTime,
) -> Result<HashMap<String, String>, String> {
    let ClientAuthMethod::PrivateKeyJwt(jwk) = &client.auth else {
        return Err("this client has no key to sign requests with".into());
    };
    let claims = verify_client_jwt(jwk, jwt, &[issuer.to_owned()], now)
        .map_err(|why| format!("request object: {why}"))?;
    if claims.get("iss").and_then(Value::as_str) != Some(client.client_id.as_str()) {
        return Err("request object: iss must be the client id".into());
    }
    for required in ["exp", "iat", "nbf", "jti"] {
        if !claims.contains_key(required) {
            return Err(format!("request object: no `{required}`"));
        }
    }
    let outside = params.keys().any(|k| {
        !matches!(
            k.as_str(),
            "request"
                | "client_id"
                | "client_secret"
                | "client_assertion"
                | "client_assertion_type"
        )
    });
    if outside {
        return Err("parameters outside the signed request".into());
    }
    Ok(claims
        .into_iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k, s)),
            Value::Number(n) => Some((k, n.to_string())),
            _ => None,
        })
        .collect())
}

/// Verifies a JWT signed by a client key: signature, `aud`, `exp`, `iat`/`nbf` (with leeway).
fn verify_client_jwt(
    jwk: &Value,
    jwt: &str,
    audiences: &[String],
    now: SystemTime,
) -> Result<Map<String, Value>, String> {
    let header = jsonwebtoken::decode_header(jwt).map_err(|_| "malformed".to_owned())?;
    let alg = Algorithm::from_name(&format!("{:?}", header.alg)).ok_or("algorithm not allowed")?;
    let key = PublicKey::from_jwk(jwk).ok_or("unusable client key")?;
    if !key.fits(alg) {
        return Err(format!("the client key cannot verify {alg}"));
    }
    let c = signed_claims(jwt, &key, alg).map_err(|e| e.to_string())?;
    if !names_audience(&c, |a| audiences.iter().any(|x| x == a)) {
        return Err("wrong audience".into());
    }
    let n = unix(now);
    let exp = c.get("exp").and_then(Value::as_i64).ok_or("no exp")?;
    if n > exp.saturating_add(LEEWAY_SECONDS) {
        return Err("expired".into());
    }
    for claim in ["iat", "nbf"] {
        if let Some(t) = c.get(claim).and_then(Value::as_i64)
            && t > n.saturating_add(LEEWAY_SECONDS)
        {
            return Err(format!("{claim} in the future"));
        }
    }
    Ok(c)
}

/// The claims of `jwt`, its signature checked with `key` for `alg`. No claim is checked here:
/// each caller has its own rules for times and audience.
fn signed_claims(
    jwt: &str,
    key: &PublicKey,
    alg: Algorithm,
) -> Result<Map<String, Value>, jsonwebtoken::errors::Error> {
    let mut validation = Validation::new(alg.jwt());
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    jsonwebtoken::decode::<Map<String, Value>>(jwt, key.decoding_key(), &validation)
        .map(|data| data.claims)
}

/// Whether the claims' `aud` (one string, or a list) names an audience `wanted` takes.
fn names_audience(claims: &Map<String, Value>, wanted: impl Fn(&str) -> bool) -> bool {
    match claims.get("aud") {
        Some(Value::String(a)) => wanted(a),
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).any(wanted),
        _ => false,
    }
}

/// The `sub` of an `id_token_hint` this OP issued to `client` (signature checked; expiry not,
/// as OPs accept expired hints).
fn id_token_hint_subject(
    keys: &[SigningKey],
    issuer: &str,
    jwt: &str,
    client: &EmulatedClient,
) -> Option<String> {
    let header = jsonwebtoken::decode_header(jwt).ok()?;
    let key = keys
        .iter()
        .find(|k| Some(k.kid()) == header.kid.as_deref())?;
    let public = PublicKey::from_jwk(&key.public_jwk())?;
    let c = signed_claims(jwt, &public, key.algorithm()).ok()?;
    let aud_ok = names_audience(&c, |a| a == client.client_id);
    (aud_ok && c.get("iss").and_then(Value::as_str) == Some(issuer))
        .then(|| c.get("sub").and_then(Value::as_str).map(str::to_owned))
        .flatten()
}

/// How the ID token is signed.
enum Signature {
    /// With the OP's published key for the algorithm.
    Published,
    /// With the published key, one signature bit flipped.
    FlippedBit,
    /// With a fresh key the JWKS does not have.
    UnknownKid,
    /// `alg: none`.
    Unsigned,
    /// HS256 with the client secret.
    Hs256 { secret: String, kid: Option<String> },
}

/// A token response decided under the state lock, to be signed outside it.
pub(super) struct TokenPlan {
    claims: Value,
    alg: Algorithm,
    key: Option<SigningKey>,
    signature: Signature,
    access_token: String,
    refresh_token: Option<String>,
    scope: String,
    no_id_token: bool,
    null_optional_fields: bool,
}

/// Plans the token response of an approved request (the ID token carries the faults queued
/// for it).
pub(super) fn plan_tokens(
    st: &mut State,
    id: &str,
    client: &EmulatedClient,
    now: SystemTime,
    push: bool,
) -> Option<TokenPlan> {
    let r = st.requests.get(id)?;
    let view = r.view.clone();
    let issuer = r.issuer.clone();
    let auth_time = r.auth_time.unwrap_or(now);
    let user = st.users.get(&view.user).cloned();
    let access_token = random_token(32);
    let refresh_token = client.refresh_tokens.then(|| random_token(32));
    let alg = client.id_token_alg;
    let n = unix(now);
    let mut claims = json!({
        "iss": issuer,
        "sub": view.user,
        "aud": client.client_id,
        "exp": n + 600,
        "iat": n,
        "auth_time": unix(auth_time),
        "acr": "urn:emulator:acr:phone",
        "amr": ["hwk", "user"],
        "at_hash": token_hash(alg, &access_token),
    });
    if let Some(rt) = &refresh_token {
        claims["rt_hash"] = json!(token_hash(alg, rt));
    }
    if push {
        claims[AUTH_REQ_ID_CLAIM] = json!(id);
    }
    let scopes: Vec<&str> = view.scope.split(' ').collect();
    if let Some(u) = &user {
        if scopes.contains(&"profile") {
            claims["name"] = json!(u.name);
        }
        if scopes.contains(&"email") {
            claims["email"] = json!(u.email);
        }
    }
    let mut signature = Signature::Published;
    let remove = |claims: &mut Value, name: &str| {
        claims.as_object_mut().map(|o| o.remove(name));
    };
    while let Some(f) = st.take_fault(Fault::is_id_token_fault) {
        match f {
            Fault::WrongIssuer => claims["iss"] = json!("https://impostor.example"),
            Fault::WrongAudience => claims["aud"] = json!("someone-else"),
            Fault::ExtraAudienceWithoutAzp => claims["aud"] = json!([client.client_id, "api"]),
            Fault::WrongAzp => claims["azp"] = json!("someone-else"),
            Fault::ExpiredIdToken => {
                claims["exp"] = json!(n - 600);
                claims["iat"] = json!(n - 1200);
            }
            Fault::FutureIdToken => claims["iat"] = json!(n + 600),
            Fault::WrongAtHash => claims["at_hash"] = json!(token_hash(alg, "another token")),
            Fault::MissingAtHash => remove(&mut claims, "at_hash"),
            Fault::WrongRtHash => claims["rt_hash"] = json!(token_hash(alg, "another token")),
            Fault::MissingRtHash => remove(&mut claims, "rt_hash"),
            Fault::WrongAuthReqId => claims[AUTH_REQ_ID_CLAIM] = json!("another-request"),
            Fault::MissingAuthReqId => remove(&mut claims, AUTH_REQ_ID_CLAIM),
            Fault::UnknownKid => signature = Signature::UnknownKid,
            Fault::BadSignature => signature = Signature::FlippedBit,
            Fault::AlgNone => signature = Signature::Unsigned,
            Fault::Hs256 => {
                signature = Signature::Hs256 {
                    secret: client.auth.secret().unwrap_or("no-secret").to_owned(),
                    kid: st.keys.first().map(|k| k.kid().to_owned()),
                }
            }
            _ => {}
        }
    }
    let no_id_token = st.take_fault(|f| *f == Fault::NoIdToken).is_some();
    let null_optional_fields = st.take_fault(|f| *f == Fault::NullOptionalFields).is_some();
    Some(TokenPlan {
        claims,
        alg,
        key: st.keys.iter().find(|k| k.algorithm() == alg).cloned(),
        signature,
        access_token,
        refresh_token,
        scope: view.scope,
        no_id_token,
        null_optional_fields,
    })
}

impl TokenPlan {
    /// Signs the ID token and writes the token response.
    pub(super) fn finish(self) -> Value {
        let sign = |key: &SigningKey| key.sign(&self.claims, Some("JWT")).unwrap_or_default();
        let id_token = match &self.signature {
            Signature::Unsigned => {
                let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
                let p = URL_SAFE_NO_PAD.encode(self.claims.to_string());
                format!("{h}.{p}.")
            }
            Signature::Hs256 { secret, kid } => {
                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
                header.kid = kid.clone();
                jsonwebtoken::encode(
                    &header,
                    &self.claims,
                    &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
                )
                .unwrap_or_default()
            }
            Signature::UnknownKid => SigningKey::generate(self.alg)
                .map(|k| k.with_kid(format!("never-published-{}", random_token(6))))
                .map(|k| sign(&k))
                .unwrap_or_default(),
            Signature::Published => self.key.as_ref().map(sign).unwrap_or_default(),
            Signature::FlippedBit => self
                .key
                .as_ref()
                .map(|k| flip_signature_bit(&sign(k)))
                .unwrap_or_default(),
        };
        let mut body = json!({
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": self.scope,
            "id_token": id_token,
        });
        if let Some(rt) = &self.refresh_token {
            body["refresh_token"] = json!(rt);
        }
        if self.no_id_token {
            body.as_object_mut().map(|o| o.remove("id_token"));
        }
        if self.null_optional_fields {
            body["scope"] = Value::Null;
            body["expires_in"] = Value::Null;
            body["refresh_token"] = Value::Null;
        }
        body
    }
}

fn flip_signature_bit(jwt: &str) -> String {
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    if let Some(sig) = parts.get_mut(2)
        && let Ok(mut bytes) = URL_SAFE_NO_PAD.decode(sig.as_bytes())
        && let Some(b) = bytes.get_mut(3)
    {
        *b ^= 0x01;
        *sig = URL_SAFE_NO_PAD.encode(bytes);
    }
    parts.join(".")
}
