//! The Token Server model's endpoints: one function per endpoint, each taking the request and
//! the state (under the model's one lock) and returning the response. No I/O.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use auth_core::HttpResponse;
use auth_core::emulator::{escape_html, html_response};
use auth_core::secret::constant_time_eq;
use auth_core::time::Timestamp;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::model::VersionStatus;
use super::records::{
    AccessRecord, AuthSession, ClientRecord, CodeRecord, PendingDcr, RefreshRecord, State,
    TokenKind,
};
use crate::crypto::{self, random_hex};
use crate::hazmat::ocra::OcraInputs;
use crate::hex;
use crate::wire::{self, SecretField, TokenError};

/// How long a login session (an authorization request waiting at the IdP) lives.
pub(super) const LOGIN_SESSION_VALIDITY: Duration = Duration::from_secs(600);

/// One request, as the endpoints read it.
pub(super) struct Req {
    pub(super) method: Method,
    pub(super) path: String,
    /// Path and query, as sent (for the request log).
    pub(super) target: String,
    pub(super) query: HashMap<String, String>,
    pub(super) headers: HeaderMap,
    pub(super) body: Vec<u8>,
}

impl Req {
    pub(super) fn new(request: auth_core::HttpRequest) -> Req {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path().to_owned();
        let query: HashMap<String, String> = parts
            .uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let target = parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_else(|| path.clone());
        Req {
            method: parts.method,
            path,
            target,
            query,
            headers: parts.headers,
            body,
        }
    }
}

/// Answers `request` (the state is already locked; expired records already forgotten).
pub(super) fn route(s: &mut State, request: &Req, now: SystemTime) -> HttpResponse {
    match (&request.method, request.path.as_str()) {
        (&Method::POST, wire::DCR_PATH) => dcr(s, request, now),
        (&Method::GET, "/oauth/authorize" | "/oauth/v1/authorize") => authorize(s, request, now),
        (&Method::GET, "/idp/login") => login_page(s, request, None),
        (&Method::POST, "/idp/login") => login(s, request, now),
        (&Method::GET, "/oauth/v1/consent") => consent_page(s, request),
        (&Method::POST, "/oauth/v1/consent") => consent(s, request, now),
        (&Method::POST, "/oauth/token" | "/oauth/v1/token") => token(s, request, now),
        (&Method::POST, "/oauth/revoke" | "/oauth/v1/revoke") => revoke(s, request),
        (&Method::POST, wire::FINGERPRINT_PATH) => register_fingerprint(s, request, now),
        (&Method::GET, wire::USER_RESOURCE_PATH) => user_resource(s, request, now),
        (&Method::POST, wire::CLIENT_STATUS_PATH) => client_status(s, request),
        _ => oauth_error(404, TokenError::new("not_found")),
    }
}

fn response(status: u16, content_type: Option<&'static str>, body: Vec<u8>) -> HttpResponse {
    let mut response = http::Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(ct) = content_type {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    response
}

fn json(status: u16, body: impl serde::Serialize) -> HttpResponse {
    let value = serde_json::to_value(body).unwrap_or(serde_json::Value::Null);
    let mut response = auth_core::emulator::json_response(status, &value);
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    response
}

fn oauth_error(status: u16, e: TokenError) -> HttpResponse {
    json(status, e)
}

fn empty(status: u16) -> HttpResponse {
    response(status, None, Vec::new())
}

pub(super) fn redirect(location: &str) -> HttpResponse {
    let mut response = empty(302);
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(http::header::LOCATION, value);
    }
    response
}

fn form_map(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

pub(super) fn later(now: SystemTime, validity: Duration) -> SystemTime {
    now.checked_add(validity).unwrap_or(now)
}

pub(super) fn short(id: &str) -> String {
    id.chars().take(8).collect::<String>() + "…"
}

fn dcr(s: &mut State, request: &Req, now: SystemTime) -> HttpResponse {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&request.body) else {
        return oauth_error(400, TokenError::new("invalid_request"));
    };
    if body.get("registration_id").is_some() {
        let Ok(answer) = serde_json::from_value::<wire::DcrAnswer>(body) else {
            return oauth_error(400, TokenError::new("invalid_request"));
        };
        dcr_answer(s, answer, now)
    } else {
        let Ok(ask) = serde_json::from_value::<wire::DcrChallengeRequest>(body) else {
            return oauth_error(400, TokenError::new("invalid_request"));
        };
        let key = (
            ask.application_version.clone(),
            ask.application_platform.clone(),
        );
        let known = ask.application_identifier == s.app.identifier;
        let status = if known { s.version_status(&key) } else { None };
        if matches!(
            status,
            Some(VersionStatus::Disabled | VersionStatus::LoginEnabledRegistrationDisabled)
        ) {
            s.event(format!(
                "DCR: {} {} {} may not register ({status:?})",
                ask.application_identifier, ask.application_version, ask.application_platform
            ));
            return oauth_error(400, TokenError::new("unsupported_app_version"));
        }
        let (Ok(registration_id), Ok(challenge)) = (random_hex(16), random_hex(32)) else {
            return oauth_error(500, TokenError::new("server_error"));
        };
        let registration_id = format!("r-{registration_id}");
        // An unknown version gets a challenge too, and fails in round 2 like a bad signature.
        s.pending_dcr.insert(
            registration_id.clone(),
            PendingDcr {
                version: status.map(|_| key),
                challenge: challenge.clone(),
                expires: later(now, s.app.dcr_pending_validity),
            },
        );
        s.event(format!(
            "DCR round 1: {} {} {} asks to register; challenge sent",
            ask.application_identifier, ask.application_version, ask.application_platform
        ));
        json(
            200,
            wire::DcrChallenge {
                registration_id,
                challenge,
                ocra_suite: Some(s.app.dcr_suite.to_string()),
            },
        )
    }
}

fn dcr_answer(s: &mut State, answer: wire::DcrAnswer, now: SystemTime) -> HttpResponse {
    let invalid = || oauth_error(400, TokenError::new("invalid_dcr"));
    // Single use: removed whatever the outcome.
    let Some(pending) = s.pending_dcr.remove(&answer.registration_id) else {
        return invalid();
    };
    let Some(version_key) = pending.version.filter(|_| now < pending.expires) else {
        s.event("DCR round 2: refused (unknown version or expired registration)".into());
        return invalid();
    };
    let Some(version) = s
        .app
        .versions
        .iter()
        .find(|v| v.version == version_key.0 && v.platform == version_key.1)
        .cloned()
    else {
        return invalid();
    };
    let suite = s.app.dcr_suite.clone();
    let ok = version.development_mode || {
        let t = suite
            .timestamp()
            .map(|step| step.counter_for_unix(Timestamp::from_system_time(now).unix_seconds()))
            .transpose();
        match t {
            Ok(t) => {
                let mut inputs = OcraInputs::new(&pending.challenge);
                let mut matched = false;
                for sig in &version.signatures {
                    let key = sig.expose_secret().as_bytes();
                    let hit = match t {
                        Some(t) => {
                            inputs = inputs.timestamp(t);
                            suite
                                .verify_in_window(
                                    key,
                                    &inputs,
                                    s.app.dcr_window,
                                    &answer.ocra_response,
                                )
                                .ok()
                                .flatten()
                                .is_some()
                        }
                        None => suite
                            .verify(key, &inputs, &answer.ocra_response)
                            .unwrap_or(false),
                    };
                    matched |= hit;
                }
                matched
            }
            Err(_) => false,
        }
    };
    if !ok {
        s.event("DCR round 2: OCRA response refused (clock, version or signature)".into());
        return invalid();
    }
    let (Ok(id), Ok(secret)) = (crypto::random_bytes(32), random_hex(32)) else {
        return oauth_error(500, TokenError::new("server_error"));
    };
    let client_id = hex::encode(id).to_ascii_uppercase();
    s.clients.insert(
        client_id.clone(),
        ClientRecord {
            secret: SecretField::new(secret.clone()),
            version: version_key,
        },
    );
    s.event(format!(
        "DCR round 2: OCRA verified; client {} registered",
        short(&client_id)
    ));
    json(
        200,
        wire::DcrCredentials {
            client_id,
            client_secret: SecretField::new(secret),
            pin_policy: s.app.pin_policy.clone(),
            max_pin_failures: Some(s.app.max_pin_failures),
            fingerprint_allowed: s.app.fingerprint_allowed,
        },
    )
}

fn authorize(s: &mut State, request: &Req, now: SystemTime) -> HttpResponse {
    let q = &request.query;
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let client_id = get("client_id");
    let Some(client) = s.clients.get(&client_id) else {
        return html_error("unknown client");
    };
    let version = client.version.clone();
    let redirect_uri = get("redirect_uri");
    if redirect_uri != s.app.redirect_uri {
        return html_error("the redirect_uri is not the application's");
    }
    let state_param = q.get("state").cloned();
    let back = |error: &str, description: Option<&str>| {
        let mut url = format!("{redirect_uri}?error={error}");
        if let Some(d) = description {
            url.push_str(&format!("&{}", wire::form(&[("error_description", d)])));
        }
        if let Some(st) = &state_param {
            url.push_str(&format!("&{}", wire::form(&[("state", st)])));
        }
        redirect(&url)
    };
    if get("response_type") != "code" {
        return back("unsupported_response_type", None);
    }
    if s.version_status(&version) != Some(VersionStatus::Enabled) {
        return back("unauthorized_client", Some("app_version_disabled"));
    }
    let requested: Vec<String> = get("scope").split_whitespace().map(str::to_owned).collect();
    let scopes = if requested.is_empty() {
        s.app.default_scopes.clone()
    } else {
        requested
    };
    if scopes
        .iter()
        .any(|sc| !s.app.default_scopes.contains(sc) && !s.app.additional_scopes.contains(sc))
    {
        return back("invalid_scope", None);
    }
    let code_challenge = match (
        q.get("code_challenge"),
        q.get("code_challenge_method").map(String::as_str),
    ) {
        (None, _) => None,
        (Some(c), Some("S256")) => Some(c.clone()),
        (Some(_), _) => return back("invalid_request", Some("only S256 PKCE is supported")),
    };
    let Ok(session_id) = random_hex(16) else {
        return back("server_error", None);
    };
    s.sessions.insert(
        session_id.clone(),
        AuthSession {
            client_id,
            created: now,
            redirect_uri,
            scopes: scopes.clone(),
            state: state_param,
            code_challenge,
            user_id: None,
            expires: later(now, LOGIN_SESSION_VALIDITY),
        },
    );
    s.event(format!(
        "authorize: request for scopes [{}]; browser sent to the IdP",
        scopes.join(" ")
    ));
    redirect(&format!("/idp/login?session={session_id}"))
}

fn html_error(message: &str) -> HttpResponse {
    html_response(
        400,
        format!(
            "<!doctype html><title>Error</title><p>{}</p>",
            escape_html(message)
        ),
    )
}

fn login_page(s: &State, request: &Req, error: Option<&str>) -> HttpResponse {
    let session = request.query.get("session").cloned().unwrap_or_default();
    if !s.sessions.contains_key(&session) {
        return html_error("unknown or expired login session");
    }
    html_response(
        200,
        format!(
            "<!doctype html><title>Log in</title>{}<form method=post action=/idp/login>\
         <input type=hidden name=session value=\"{}\"><input name=username><input type=password name=password>\
         <button>Log in</button></form>",
            error
                .map(|e| format!("<p class=error>{}</p>", escape_html(e)))
                .unwrap_or_default(),
            escape_html(&session)
        ),
    )
}

fn login(s: &mut State, request: &Req, now: SystemTime) -> HttpResponse {
    let f = form_map(&request.body);
    let session_id = f.get("session").cloned().unwrap_or_default();
    let username = f.get("username").cloned().unwrap_or_default();
    let password = f.get("password").cloned().unwrap_or_default();
    let user_id = s
        .users
        .get(&username)
        .filter(|u| u.password.matches(&password))
        .map(|u| u.user_id.clone());
    let Some(session) = s.sessions.get_mut(&session_id).filter(|x| now < x.expires) else {
        return html_error("unknown or expired login session");
    };
    let Some(user_id) = user_id else {
        s.event(format!("IdP: failed login for {username}"));
        return html_response(
            200,
            format!(
                "<!doctype html><title>Log in</title><p class=error>Wrong username or password</p>\
             <form method=post action=/idp/login><input type=hidden name=session value=\"{}\"></form>",
                escape_html(&session_id)
            ),
        );
    };
    session.user_id = Some(user_id);
    s.event(format!("IdP: {username} logged in"));
    redirect(&format!("/oauth/v1/consent?session={session_id}"))
}

fn consent_page(s: &State, request: &Req) -> HttpResponse {
    let session_id = request.query.get("session").cloned().unwrap_or_default();
    let Some(session) = s.sessions.get(&session_id).filter(|x| x.user_id.is_some()) else {
        return html_error("unknown login session");
    };
    html_response(
        200,
        format!(
            "<!doctype html><title>Consent</title><p>The app asks for: {}</p>\
         <form method=post action=/oauth/v1/consent><input type=hidden name=session value=\"{}\">\
         <button name=decision value=allow>Allow</button><button name=decision value=deny>Deny</button></form>",
            escape_html(&session.scopes.join(", ")),
            escape_html(&session_id)
        ),
    )
}

fn consent(s: &mut State, request: &Req, now: SystemTime) -> HttpResponse {
    let f = form_map(&request.body);
    let session_id = f.get("session").cloned().unwrap_or_default();
    let Some(session) = s.sessions.get(&session_id) else {
        return html_error("unknown login session");
    };
    // The consent page answers only a user who logged in.
    if session.user_id.is_none() {
        s.sessions.remove(&session_id);
        return html_error("not logged in");
    }
    let allow = f.get("decision").map(String::as_str) == Some("allow");
    match decide(s, &session_id, allow, now) {
        Ok(location) => redirect(&location),
        Err(message) => html_error(message),
    }
}

/// The user's answer to the login session `session_id` (on the consent page, or through the
/// control API): the redirect to the app's scheme, with an authorization code when `allow`ed
/// (which needs a user who logged in), else with `error=access_denied`. The session is used
/// up either way.
pub(super) fn decide(
    s: &mut State,
    session_id: &str,
    allow: bool,
    now: SystemTime,
) -> Result<String, &'static str> {
    let Some(session) = s.sessions.get(session_id).filter(|x| now < x.expires) else {
        return Err("unknown or expired login session");
    };
    if allow && session.user_id.is_none() {
        return Err("the user has not logged in at the IdP");
    }
    let Some(session) = s.sessions.remove(session_id) else {
        return Err("unknown or expired login session");
    };
    let state_suffix = session
        .state
        .as_ref()
        .map(|st| format!("&{}", wire::form(&[("state", st)])))
        .unwrap_or_default();
    let who = session
        .user_id
        .as_deref()
        .map(|u| s.user_name(u))
        .unwrap_or_else(|| "the user".into());
    let Some(user_id) = session.user_id.filter(|_| allow) else {
        s.event(format!("consent: {who} denied"));
        return Ok(format!(
            "{}?error=access_denied{state_suffix}",
            session.redirect_uri
        ));
    };
    let code = random_hex(16).map_err(|_| "server error")?;
    s.codes.insert(
        code.clone(),
        CodeRecord {
            client_id: session.client_id,
            user_id,
            scopes: session.scopes,
            redirect_uri: session.redirect_uri.clone(),
            code_challenge: session.code_challenge,
            expires: later(now, s.app.grant_validity),
            used: false,
        },
    );
    s.event(format!(
        "consent: {who} allowed; redirect to the app with an authorization code"
    ));
    Ok(format!(
        "{}?code={code}{state_suffix}",
        session.redirect_uri
    ))
}

/// Client authentication: HTTP Basic or form parameters. Returns the client id.
fn authenticate_client(s: &State, request: &Req, form: &HashMap<String, String>) -> Option<String> {
    let (id, secret) = match request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        Some(b64) => {
            let decoded = String::from_utf8(STANDARD.decode(b64).ok()?).ok()?;
            let (id, secret) = decoded.split_once(':')?;
            (id.to_owned(), secret.to_owned())
        }
        None => (
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ),
    };
    let client = s.clients.get(&id)?;
    client.secret.matches(&secret).then_some(id)
}

/// Who a token is issued to: client, user, registration (grant) and scopes.
struct Holder {
    client_id: String,
    user_id: String,
    grant: String,
    scopes: Vec<String>,
}

fn issue_access(s: &mut State, to: &Holder, now: SystemTime) -> Option<String> {
    let token = random_hex(32).ok()?;
    s.access_tokens.insert(
        token.clone(),
        AccessRecord {
            client_id: to.client_id.clone(),
            user_id: to.user_id.clone(),
            grant: to.grant.clone(),
            scopes: to.scopes.clone(),
            expires: later(now, s.app.token_validity),
        },
    );
    Some(token)
}

fn issue_refresh(s: &mut State, to: &Holder, kind: TokenKind) -> Option<String> {
    let id = random_hex(8).ok()?;
    let secret = crypto::random_bytes(32).ok()?;
    let token = format!("{id}.{}", hex::encode(&secret));
    s.refresh_tokens.insert(
        id,
        RefreshRecord {
            client_id: to.client_id.clone(),
            user_id: to.user_id.clone(),
            grant: to.grant.clone(),
            kind,
            secret,
            scopes: to.scopes.clone(),
            failed: 0,
        },
    );
    Some(token)
}

fn token_response(
    s: &State,
    access: String,
    refresh: Option<String>,
    scopes: &[String],
) -> HttpResponse {
    json(
        200,
        wire::TokenResponse {
            access_token: SecretField::new(access),
            token_type: "bearer".into(),
            expires_in: Some(s.app.token_validity.as_secs()),
            refresh_token: refresh.map(SecretField::new),
            scope: Some(scopes.join(" ")),
            id_token: None,
        },
    )
}

fn token(s: &mut State, request: &Req, now: SystemTime) -> HttpResponse {
    let f = form_map(&request.body);
    let Some(client_id) = authenticate_client(s, request, &f) else {
        return oauth_error(401, TokenError::new("invalid_client"));
    };
    let version = s.clients.get(&client_id).map(|c| c.version.clone());
    if version.and_then(|v| s.version_status(&v)) == Some(VersionStatus::Disabled) {
        return oauth_error(
            400,
            TokenError::new("unauthorized_client").with_description("app_version_disabled"),
        );
    }
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => code_grant(s, &f, &client_id, now),
        Some("refresh_token") => refresh_grant(s, &f, &client_id, now),
        _ => oauth_error(400, TokenError::new("unsupported_grant_type")),
    }
}

fn code_grant(
    s: &mut State,
    f: &HashMap<String, String>,
    client_id: &str,
    now: SystemTime,
) -> HttpResponse {
    let invalid = |d: &str| oauth_error(400, TokenError::new("invalid_grant").with_description(d));
    let code = f.get("code").cloned().unwrap_or_default();
    let Some(record) = s.codes.get_mut(&code) else {
        return invalid("unknown code");
    };
    if record.used {
        return invalid("code already used");
    }
    record.used = true;
    if now >= record.expires {
        return invalid("code expired");
    }
    if record.client_id != client_id {
        return invalid("code issued to another client");
    }
    if f.get("redirect_uri") != Some(&record.redirect_uri) {
        return invalid("redirect_uri mismatch");
    }
    if let Some(challenge) = &record.code_challenge {
        let verifier = f.get("code_verifier").cloned().unwrap_or_default();
        if !constant_time_eq(
            crypto::pkce_s256(&verifier).as_bytes(),
            challenge.as_bytes(),
        ) {
            return invalid("PKCE verification failed");
        }
    }
    let Ok(grant) = random_hex(8) else {
        return oauth_error(500, TokenError::new("server_error"));
    };
    let to = Holder {
        client_id: client_id.to_owned(),
        user_id: record.user_id.clone(),
        grant,
        scopes: record.scopes.clone(),
    };
    let (Some(access), Some(refresh)) = (
        issue_access(s, &to, now),
        issue_refresh(s, &to, TokenKind::Pin),
    ) else {
        return oauth_error(500, TokenError::new("server_error"));
    };
    s.event(format!(
        "token: code exchanged (PKCE checked); access + PIN refresh token issued to {}",
        s.user_name(&to.user_id)
    ));
    token_response(s, access, Some(refresh), &to.scopes)
}

fn refresh_grant(
    s: &mut State,
    f: &HashMap<String, String>,
    client_id: &str,
    now: SystemTime,
) -> HttpResponse {
    let deregistered = || {
        oauth_error(
            400,
            TokenError::new("invalid_grant").with_description("user_deregistered"),
        )
    };
    let presented = f.get("refresh_token").cloned().unwrap_or_default();
    let Some((rt_id, secret_hex)) = presented.split_once('.') else {
        return oauth_error(400, TokenError::new("invalid_request"));
    };
    let max = s.app.max_pin_failures;
    let presented_secret = hex::decode(secret_hex).unwrap_or_default();
    let Some(record) = s
        .refresh_tokens
        .get_mut(rt_id)
        .filter(|r| r.client_id == client_id)
    else {
        return no_longer_honoured(s, rt_id, &presented_secret, client_id);
    };
    if !constant_time_eq(&presented_secret, &record.secret) {
        if record.kind == TokenKind::Fingerprint {
            return oauth_error(400, TokenError::new("invalid_grant"));
        }
        record.failed += 1;
        let failed = record.failed;
        let user_id = record.user_id.clone();
        let name = s.user_name(&user_id);
        if failed >= max {
            s.revoke_user(Some(client_id), &user_id);
            s.event(format!(
                "token: wrong PIN for {name} ({failed}/{max}); maximum reached, tokens revoked"
            ));
            return deregistered();
        }
        s.event(format!(
            "token: wrong PIN for {name} ({failed}/{max}); {} attempt(s) left",
            max - failed
        ));
        return oauth_error(
            400,
            TokenError {
                error: "invalid_grant".into(),
                error_description: None,
                remaining_attempts: Some(max - failed),
                max_attempts: Some(max),
            },
        );
    }
    // Correct: reset the counter, rotate the refresh token, issue an access token.
    let kind = record.kind;
    let to = Holder {
        client_id: client_id.to_owned(),
        user_id: record.user_id.clone(),
        grant: record.grant.clone(),
        scopes: record.scopes.clone(),
    };
    match kind {
        TokenKind::Pin => {
            s.refresh_tokens.remove(rt_id);
        }
        // A fingerprint token rotated away is remembered: a client still holding it (the
        // answer was lost) is told its fingerprint authenticator is gone, not its profile.
        TokenKind::Fingerprint => s.retire_fingerprint(rt_id),
    }
    let (Some(access), Some(refresh)) = (issue_access(s, &to, now), issue_refresh(s, &to, kind))
    else {
        return oauth_error(500, TokenError::new("server_error"));
    };
    let (user_id, scopes) = (to.user_id, to.scopes);
    let name = s.user_name(&user_id);
    s.event(match kind {
        TokenKind::Pin => {
            format!("token: PIN refresh token of {name} accepted; counter reset, token rotated")
        }
        TokenKind::Fingerprint => {
            format!("token: fingerprint refresh token of {name} accepted; token rotated")
        }
    });
    token_response(s, access, Some(refresh), &scopes)
}

/// The answer to a refresh token that is not (or no longer) live.
///
/// A retired fingerprint token whose registration still has its PIN token: the fingerprint
/// authenticator is gone, the profile is not (`authenticator_deregistered`; any fingerprint
/// token of that registration is retired too, since the client drops its fingerprint).
/// Anything else: `user_deregistered`; the user's tokens are already gone, so the client
/// removing the profile leaves nothing behind on the server.
fn no_longer_honoured(
    s: &mut State,
    rt_id: &str,
    presented_secret: &[u8],
    client_id: &str,
) -> HttpResponse {
    let retired = s
        .retired_fingerprints
        .get(rt_id)
        .filter(|r| r.client_id == client_id && constant_time_eq(presented_secret, &r.secret))
        .map(|r| (r.grant.clone(), r.user_id.clone()));
    if let Some((grant, user_id)) = retired
        && s.pin_token_lives(&grant)
    {
        let live: Vec<String> = s
            .refresh_tokens
            .iter()
            .filter(|(_, r)| r.grant == grant && r.kind == TokenKind::Fingerprint)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &live {
            s.retire_fingerprint(id);
        }
        let name = s.user_name(&user_id);
        s.event(format!(
            "token: revoked fingerprint token of {name} → fingerprint authenticator deregistered; PIN token kept"
        ));
        return oauth_error(
            400,
            TokenError::new("invalid_grant").with_description("authenticator_deregistered"),
        );
    }
    s.event("token: unknown or revoked refresh token → user deregistered".into());
    oauth_error(
        400,
        TokenError::new("invalid_grant").with_description("user_deregistered"),
    )
}

fn revoke(s: &mut State, request: &Req) -> HttpResponse {
    let f = form_map(&request.body);
    let Some(client_id) = authenticate_client(s, request, &f) else {
        return oauth_error(401, TokenError::new("invalid_client"));
    };
    let token = f.get("token").cloned().unwrap_or_default();
    if s.access_tokens
        .get(&token)
        .is_some_and(|a| a.client_id == client_id)
        && let Some(at) = s.access_tokens.remove(&token)
    {
        let name = s.user_name(&at.user_id);
        s.event(format!("revoke: access token of {name} revoked"));
        return empty(200);
    }
    // A refresh token, or (model choice) its public id alone, authenticated by the client.
    let (rt_id, secret) = match token.split_once('.') {
        Some((id, secret)) => (id.to_owned(), Some(secret.to_owned())),
        None => (token.clone(), None),
    };
    let found = s
        .refresh_tokens
        .get(&rt_id)
        .filter(|r| r.client_id == client_id)
        .filter(|r| {
            secret
                .as_ref()
                .is_none_or(|h| constant_time_eq(&hex::decode(h).unwrap_or_default(), &r.secret))
        })
        .map(|r| (r.user_id.clone(), r.kind));
    match found {
        Some((user_id, TokenKind::Pin)) => {
            s.revoke_user(Some(&client_id), &user_id);
            let name = s.user_name(&user_id);
            s.event(format!(
                "revoke: PIN refresh token of {name} revoked, with all their tokens for this client"
            ));
        }
        Some((user_id, TokenKind::Fingerprint)) => {
            s.retire_fingerprint(&rt_id);
            let name = s.user_name(&user_id);
            s.event(format!(
                "revoke: fingerprint refresh token of {name} revoked"
            ));
        }
        None => {}
    }
    empty(200)
}

fn client_status(s: &mut State, request: &Req) -> HttpResponse {
    let Some(client_id) = authenticate_client(s, request, &HashMap::new()) else {
        return oauth_error(401, TokenError::new("invalid_client"));
    };
    let version = s.clients.get(&client_id).map(|c| c.version.clone());
    if version.and_then(|v| s.version_status(&v)) == Some(VersionStatus::Disabled) {
        return oauth_error(
            400,
            TokenError::new("unauthorized_client").with_description("app_version_disabled"),
        );
    }
    let Ok(ask) = serde_json::from_slice::<wire::ClientStatusRequest>(&request.body) else {
        return oauth_error(400, TokenError::new("invalid_request"));
    };
    let revoked: Vec<String> = ask
        .refresh_token_ids
        .into_iter()
        .filter(|id| {
            s.refresh_tokens
                .get(id)
                .is_none_or(|r| r.client_id != client_id)
        })
        .collect();
    s.event(format!(
        "start: client {} checked its profiles; {} removed on the server",
        short(&client_id),
        revoked.len()
    ));
    json(200, wire::ClientStatusResponse { revoked })
}

fn bearer<'r>(s: &'r State, request: &Req, now: SystemTime) -> Option<&'r AccessRecord> {
    let token = request
        .headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    s.access_tokens
        .get(token)
        .filter(|a| now < a.expires && s.clients.contains_key(&a.client_id))
}

fn register_fingerprint(s: &mut State, request: &Req, now: SystemTime) -> HttpResponse {
    let Some(at) = bearer(s, request, now) else {
        return oauth_error(401, TokenError::new("invalid_token"));
    };
    if !s.app.fingerprint_allowed {
        return oauth_error(400, TokenError::new("authenticator_not_allowed"));
    }
    let to = Holder {
        client_id: at.client_id.clone(),
        user_id: at.user_id.clone(),
        grant: at.grant.clone(),
        scopes: at.scopes.clone(),
    };
    // One fingerprint token per registration: a new one replaces (retires) the old.
    let old: Vec<String> = s
        .refresh_tokens
        .iter()
        .filter(|(_, r)| r.grant == to.grant && r.kind == TokenKind::Fingerprint)
        .map(|(id, _)| id.clone())
        .collect();
    for id in &old {
        s.retire_fingerprint(id);
    }
    let Some(refresh) = issue_refresh(s, &to, TokenKind::Fingerprint) else {
        return oauth_error(500, TokenError::new("server_error"));
    };
    let name = s.user_name(&to.user_id);
    s.event(format!("authenticators: fingerprint registered for {name}"));
    json(
        200,
        wire::AuthenticatorRegistration {
            authenticator: "fingerprint".into(),
            refresh_token: SecretField::new(refresh),
        },
    )
}

fn user_resource(s: &State, request: &Req, now: SystemTime) -> HttpResponse {
    match bearer(s, request, now) {
        Some(at) => json(
            200,
            wire::UserResource {
                user_id: at.user_id.clone(),
                scopes: at.scopes.clone(),
            },
        ),
        None => oauth_error(401, TokenError::new("invalid_token")),
    }
}
