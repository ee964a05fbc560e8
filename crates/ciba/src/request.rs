//! The authentication request (CIBA §7.1, §7.1.1) and its acknowledgement (§7.3).

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::Error;
use crate::limits::{DEFAULT_INTERVAL, MAX_BINDING_MESSAGE_CHARS, MAX_EXPIRY, MAX_INTERVAL};
use crate::types::{
    AuthReqId, ClientNotificationToken, DeliveryMode, IdTokenJwt, LoginHintToken, UserCode,
};

/// Parameters this crate sets itself: [`AuthenticationRequest::param`] refuses them.
const RESERVED: &[&str] = &[
    "scope",
    "client_notification_token",
    "acr_values",
    "login_hint_token",
    "id_token_hint",
    "login_hint",
    "binding_message",
    "user_code",
    "requested_expiry",
    "request",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "grant_type",
    "auth_req_id",
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
];

/// Who to authenticate: exactly one hint (CIBA §7.1). The enum makes "none" and "two"
/// impossible to write; extra parameters that would add a second hint are refused before
/// sending.
#[derive(Clone)]
#[non_exhaustive]
pub enum UserHint {
    /// `login_hint`: an identifier the OP knows the user by (user name, e-mail, phone number).
    LoginHint(String),
    /// `id_token_hint`: an ID token the OP issued to this client earlier.
    IdTokenHint(IdTokenJwt),
    /// `login_hint_token`: a token carrying the hint, in a format agreed with the OP.
    LoginHintToken(LoginHintToken),
}

impl std::fmt::Debug for UserHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserHint::LoginHint(h) => f.debug_tuple("LoginHint").field(h).finish(),
            UserHint::IdTokenHint(_) => f.write_str("IdTokenHint([redacted])"),
            UserHint::LoginHintToken(_) => f.write_str("LoginHintToken([redacted])"),
        }
    }
}

impl UserHint {
    fn name(&self) -> &'static str {
        match self {
            UserHint::LoginHint(_) => "login_hint",
            UserHint::IdTokenHint(_) => "id_token_hint",
            UserHint::LoginHintToken(_) => "login_hint_token",
        }
    }

    fn value(&self) -> &str {
        match self {
            UserHint::LoginHint(h) => h,
            UserHint::IdTokenHint(t) => t.expose_secret(),
            UserHint::LoginHintToken(t) => t.expose_secret(),
        }
    }
}

/// A backchannel authentication request (CIBA §7.1).
///
/// ```
/// use std::time::Duration;
/// use ciba::{AuthenticationRequest, UserHint};
///
/// let request = AuthenticationRequest::new(UserHint::LoginHint("alice".into()))
///     .scope("email")
///     .binding_message("Pay 120 EUR to ACME? Code 7B")
///     .requested_expiry(Duration::from_secs(120))
///     .acr_values(["urn:example:acr:phone"]);
/// assert_eq!(request.scopes(), ["openid", "email"]);
/// ```
#[derive(Clone, Debug)]
pub struct AuthenticationRequest {
    pub(crate) hint: UserHint,
    scopes: Vec<String>,
    pub(crate) binding_message: Option<String>,
    pub(crate) user_code: Option<UserCode>,
    pub(crate) requested_expiry: Option<Duration>,
    acr_values: Vec<String>,
    pub(crate) client_notification_token: Option<ClientNotificationToken>,
    extra: Vec<(String, String)>,
}

impl AuthenticationRequest {
    /// A request for the user `hint` names, with scope `openid`.
    pub fn new(hint: UserHint) -> Self {
        AuthenticationRequest {
            hint,
            scopes: vec!["openid".into()],
            binding_message: None,
            user_code: None,
            requested_expiry: None,
            acr_values: Vec::new(),
            client_notification_token: None,
            extra: Vec::new(),
        }
    }

    /// Shorthand for [`UserHint::LoginHint`].
    pub fn login_hint(hint: impl Into<String>) -> Self {
        Self::new(UserHint::LoginHint(hint.into()))
    }

    /// Adds a scope (`openid` is always there; space-separated values are split).
    pub fn scope(mut self, scope: &str) -> Self {
        for s in scope.split(' ').filter(|s| !s.is_empty()) {
            if !self.scopes.iter().any(|x| x == s) {
                self.scopes.push(s.to_owned());
            }
        }
        self
    }

    /// The scopes that will be sent.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Text shown on both devices so the user can tell this request from another (CIBA
    /// §7.1): keep it short. Control characters are refused.
    pub fn binding_message(mut self, message: impl Into<String>) -> Self {
        self.binding_message = Some(message.into());
        self
    }

    /// A code the user set up with the OP, proving the request comes from someone who knows
    /// it (CIBA §7.1; refused before sending when the OP's metadata says it does not support
    /// `user_code`).
    pub fn user_code(mut self, code: UserCode) -> Self {
        self.user_code = Some(code);
        self
    }

    /// How long the request may stay open (sent in whole seconds, at least 1).
    pub fn requested_expiry(mut self, expiry: Duration) -> Self {
        self.requested_expiry = Some(expiry);
        self
    }

    /// Requested authentication context classes, in order of preference.
    pub fn acr_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.acr_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// The bearer token the OP will present at the notification endpoint (ping and push). By
    /// default the client generates a fresh 256-bit one per request.
    pub fn client_notification_token(mut self, token: ClientNotificationToken) -> Self {
        self.client_notification_token = Some(token);
        self
    }

    /// An extension parameter (`request_context`, `authorization_details`, …). Parameters CIBA
    /// defines are refused (use their setters), so no request can carry two hints.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((name.into(), value.into()));
        self
    }

    /// Checks everything that can be checked before sending.
    pub(crate) fn validate(&self, mode: &DeliveryMode) -> Result<(), Error> {
        let invalid = |field: &'static str, reason: &str| Error::InvalidInput {
            field,
            reason: reason.into(),
        };
        let hint = self.hint.value();
        if hint.trim().is_empty() {
            return Err(invalid(self.hint.name(), "must not be empty"));
        }
        if hint.chars().any(char::is_control) {
            return Err(invalid(
                self.hint.name(),
                "must not contain control characters",
            ));
        }
        for (name, _) in &self.extra {
            if RESERVED.contains(&name.as_str()) {
                return Err(Error::InvalidInput {
                    field: "param",
                    reason: format!(
                        "`{name}` is set by its own method (exactly one of login_hint, id_token_hint, login_hint_token)"
                    ),
                });
            }
            if name.is_empty() || name.chars().any(|c| c.is_control() || c == '=' || c == '&') {
                return Err(invalid("param", "names must be plain, non-empty words"));
            }
        }
        if self
            .scopes
            .iter()
            .any(|s| s.chars().any(|c| c.is_control() || c == '"' || c == '\\'))
        {
            return Err(invalid(
                "scope",
                "scope tokens may not contain control characters, `\"` or `\\`",
            ));
        }
        if let Some(m) = &self.binding_message {
            if m.trim().is_empty() {
                return Err(invalid("binding_message", "must not be empty"));
            }
            if m.chars().count() > MAX_BINDING_MESSAGE_CHARS {
                return Err(Error::InvalidInput {
                    field: "binding_message",
                    reason: format!("at most {MAX_BINDING_MESSAGE_CHARS} characters"),
                });
            }
            if m.chars().any(char::is_control) {
                return Err(invalid(
                    "binding_message",
                    "must not contain control characters",
                ));
            }
        }
        if let Some(c) = &self.user_code
            && (c.expose_secret().is_empty() || c.expose_secret().chars().any(char::is_control))
        {
            return Err(invalid(
                "user_code",
                "must be non-empty, without control characters",
            ));
        }
        if let Some(e) = self.requested_expiry
            && (e < Duration::from_secs(1) || e > MAX_EXPIRY)
        {
            return Err(invalid(
                "requested_expiry",
                "must be between 1 second and 1 day",
            ));
        }
        if self
            .acr_values
            .iter()
            .any(|v| v.is_empty() || v.contains(' ') || v.chars().any(char::is_control))
        {
            return Err(invalid("acr_values", "each value must be a non-empty word"));
        }
        if let Some(t) = &self.client_notification_token {
            if *mode == DeliveryMode::Poll {
                return Err(invalid(
                    "client_notification_token",
                    "only ping and push mode clients send one",
                ));
            }
            t.check()?;
        }
        Ok(())
    }

    /// The request's parameters (without client authentication), in a fixed order.
    pub(crate) fn params(
        &self,
        notification_token: Option<&ClientNotificationToken>,
    ) -> Vec<(&'static str, String)> {
        let mut p: Vec<(&'static str, String)> = vec![("scope", self.scopes.join(" "))];
        if let Some(t) = notification_token {
            p.push(("client_notification_token", t.expose_secret().to_owned()));
        }
        if !self.acr_values.is_empty() {
            p.push(("acr_values", self.acr_values.join(" ")));
        }
        p.push((self.hint.name(), self.hint.value().to_owned()));
        if let Some(m) = &self.binding_message {
            p.push(("binding_message", m.clone()));
        }
        if let Some(c) = &self.user_code {
            p.push(("user_code", c.expose_secret().to_owned()));
        }
        if let Some(e) = self.requested_expiry {
            p.push(("requested_expiry", e.as_secs().max(1).to_string()));
        }
        p
    }

    /// The extension parameters.
    pub(crate) fn extra(&self) -> &[(String, String)] {
        &self.extra
    }

    /// The claims of a signed authentication request (CIBA §7.1.1): every parameter as a
    /// claim (`requested_expiry` as a number), plus `iss`, `aud`, `iat`, `nbf`, `exp` and `jti`.
    pub(crate) fn request_object_claims(
        &self,
        notification_token: Option<&ClientNotificationToken>,
        client_id: &str,
        audience: &str,
        now: i64,
        lifetime: Duration,
        jti: &str,
    ) -> Value {
        let mut claims = Map::new();
        for (k, v) in self.params(notification_token) {
            let value = if k == "requested_expiry" {
                v.parse::<u64>()
                    .map(Value::from)
                    .unwrap_or(Value::String(v))
            } else {
                Value::String(v)
            };
            claims.insert(k.to_owned(), value);
        }
        for (k, v) in &self.extra {
            claims.insert(k.clone(), Value::String(v.clone()));
        }
        let lifetime = i64::try_from(lifetime.as_secs()).unwrap_or(300);
        claims.insert("iss".into(), json!(client_id));
        claims.insert("aud".into(), json!(audience));
        claims.insert("iat".into(), json!(now));
        claims.insert("nbf".into(), json!(now));
        claims.insert("exp".into(), json!(now + lifetime));
        claims.insert("jti".into(), json!(jti));
        Value::Object(claims)
    }

    /// Every secret the request carries, to scrub from error texts.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut s = Vec::new();
        if let Some(c) = &self.user_code {
            s.push(c.expose_secret().to_owned());
        }
        if let Some(t) = &self.client_notification_token {
            s.push(t.expose_secret().to_owned());
        }
        if matches!(
            self.hint,
            UserHint::IdTokenHint(_) | UserHint::LoginHintToken(_)
        ) {
            s.push(self.hint.value().to_owned());
        }
        s
    }
}

/// An acknowledged authentication request (CIBA §7.3): what the client needs to get the
/// result.
///
/// `Debug` never shows the notification token.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthRequest {
    /// The OP's id for the request.
    pub auth_req_id: AuthReqId,
    /// How long the request stays open, as the OP said.
    pub expires_in: Duration,
    /// The minimum wait between two token requests (5 s when the OP sends none).
    pub interval: Duration,
    /// When the OP acknowledged it (the client's clock).
    pub issued_at: SystemTime,
    /// `issued_at + expires_in`: after this, the client stops asking.
    pub expires_at: SystemTime,
    /// The bearer token the OP will present at the notification endpoint (ping and push).
    pub client_notification_token: Option<ClientNotificationToken>,
    /// The client's delivery mode.
    pub delivery_mode: DeliveryMode,
}

impl AuthRequest {
    /// An acknowledged request stored elsewhere (another instance, before a restart), to poll
    /// it with [`crate::Client::poll`]: its id and when it expires; the rest by name
    /// ([`AuthRequest::with_issued_at`], [`AuthRequest::with_interval`],
    /// [`AuthRequest::with_delivery_mode`]). Without `with_issued_at` the first token request
    /// goes at once; `expires_in` is then unknown (zero).
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use ciba::{AuthReqId, AuthRequest, DeliveryMode};
    ///
    /// let issued = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    /// let resumed = AuthRequest::resume(AuthReqId::new("1c266114")?, issued + Duration::from_secs(120))
    ///     .with_issued_at(issued)
    ///     .with_interval(Duration::from_secs(10))
    ///     .with_delivery_mode(DeliveryMode::Ping);
    /// assert_eq!(resumed.expires_in, Duration::from_secs(120));
    /// # Ok::<(), ciba::Error>(())
    /// ```
    pub fn resume(auth_req_id: AuthReqId, expires_at: SystemTime) -> Self {
        AuthRequest {
            auth_req_id,
            expires_in: Duration::ZERO,
            interval: DEFAULT_INTERVAL,
            issued_at: SystemTime::UNIX_EPOCH,
            expires_at,
            client_notification_token: None,
            delivery_mode: DeliveryMode::Poll,
        }
    }

    /// When the OP acknowledged the request (its `expires_in` follows): the first token
    /// request waits for the interval after it.
    pub fn with_issued_at(mut self, issued_at: SystemTime) -> Self {
        self.issued_at = issued_at.min(self.expires_at);
        self.expires_in = self
            .expires_at
            .duration_since(self.issued_at)
            .unwrap_or(Duration::ZERO);
        self
    }

    /// The interval the OP announced (default 5 s; zero means 5 s; at most 5 minutes).
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = if interval.is_zero() {
            DEFAULT_INTERVAL
        } else {
            interval.min(MAX_INTERVAL)
        };
        self
    }

    /// The client's delivery mode (default poll).
    pub fn with_delivery_mode(mut self, mode: DeliveryMode) -> Self {
        self.delivery_mode = mode;
        self
    }
}

/// The acknowledgement body (CIBA §7.3).
#[derive(Deserialize)]
pub(crate) struct Acknowledgement {
    pub auth_req_id: String,
    #[serde(deserialize_with = "seconds")]
    pub expires_in: u64,
    #[serde(default, deserialize_with = "opt_seconds")]
    pub interval: Option<u64>,
}

/// A positive number of seconds; a fraction is rounded up (tolerant of OPs sending `120.0`).
fn to_secs<E: serde::de::Error>(v: &Value) -> Result<u64, E> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0 && *f < 1e12)
                    .map(|f| f.ceil() as u64)
            })
            .ok_or_else(|| E::custom("must be a non-negative number of seconds")),
        Value::String(s) => s
            .trim()
            .parse::<u64>()
            .map_err(|_| E::custom("must be a number of seconds")),
        _ => Err(E::custom("must be a number of seconds")),
    }
}

fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    to_secs(&Value::deserialize(d)?)
}

fn opt_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => to_secs(&v).map(Some),
    }
}

impl Acknowledgement {
    /// Checks the acknowledgement and turns it into an [`AuthRequest`].
    pub(crate) fn into_request(
        self,
        now: SystemTime,
        notification_token: Option<ClientNotificationToken>,
        delivery_mode: DeliveryMode,
    ) -> Result<AuthRequest, String> {
        let auth_req_id = AuthReqId::new(self.auth_req_id).map_err(|e| e.to_string())?;
        if self.expires_in == 0 {
            return Err("expires_in must be positive".into());
        }
        let expires_in = Duration::from_secs(self.expires_in).min(MAX_EXPIRY);
        let interval = match self.interval {
            None | Some(0) => DEFAULT_INTERVAL,
            Some(s) => Duration::from_secs(s).min(MAX_INTERVAL),
        };
        Ok(AuthRequest {
            auth_req_id,
            expires_in,
            interval,
            issued_at: now,
            expires_at: now + expires_in,
            client_notification_token: notification_token,
            delivery_mode,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_refuses_bad_requests_before_sending() {
        let poll = DeliveryMode::Poll;
        assert!(
            AuthenticationRequest::login_hint("alice")
                .validate(&poll)
                .is_ok()
        );
        let bad = [
            AuthenticationRequest::login_hint(" "),
            AuthenticationRequest::login_hint("a\nb"),
            AuthenticationRequest::login_hint("alice").param("login_hint", "bob"),
            AuthenticationRequest::login_hint("alice").param("id_token_hint", "x"),
            AuthenticationRequest::login_hint("alice").binding_message("a\u{7}"),
            AuthenticationRequest::login_hint("alice").binding_message("x".repeat(257)),
            AuthenticationRequest::login_hint("alice").requested_expiry(Duration::from_millis(10)),
            AuthenticationRequest::login_hint("alice").acr_values(["two words"]),
            AuthenticationRequest::login_hint("alice").user_code(UserCode::new("")),
            AuthenticationRequest::login_hint("alice")
                .client_notification_token(ClientNotificationToken::new("abc")),
        ];
        for r in bad {
            assert!(r.validate(&poll).is_err(), "{r:?}");
        }
        let ping = DeliveryMode::Ping;
        assert!(
            AuthenticationRequest::login_hint("a")
                .client_notification_token(ClientNotificationToken::new("not a token"))
                .validate(&ping)
                .is_err()
        );
    }

    #[test]
    fn params_and_request_object_claims() {
        let r = AuthenticationRequest::login_hint("alice")
            .scope("email openid profile")
            .binding_message("Pay 12 EUR?")
            .user_code(UserCode::new("2468"))
            .requested_expiry(Duration::from_secs(90))
            .param("request_context", "{}");
        let p = r.params(None);
        assert_eq!(p[0], ("scope", "openid email profile".to_string()));
        assert!(p.contains(&("requested_expiry", "90".to_string())));
        let c = r.request_object_claims(
            None,
            "c1",
            "https://op",
            1000,
            Duration::from_secs(300),
            "j1",
        );
        assert_eq!(c["requested_expiry"], json!(90));
        assert_eq!(c["login_hint"], json!("alice"));
        assert_eq!(c["request_context"], json!("{}"));
        assert_eq!(
            (c["nbf"].as_i64(), c["exp"].as_i64()),
            (Some(1000), Some(1300))
        );
        assert_eq!(r.secrets(), vec!["2468".to_string()]);
        let shown = format!(
            "{:?}",
            AuthenticationRequest::new(UserHint::IdTokenHint(IdTokenJwt::new("eyJsecret")))
                .user_code(UserCode::new("2468"))
        );
        assert!(
            !shown.contains("eyJsecret") && !shown.contains("2468"),
            "{shown}"
        );
    }

    #[test]
    fn acknowledgements_are_checked_and_tolerant() {
        let now = SystemTime::UNIX_EPOCH;
        let ack: Acknowledgement =
            serde_json::from_str(r#"{"auth_req_id":"r1","expires_in":120}"#).unwrap();
        let r = ack.into_request(now, None, DeliveryMode::Poll).unwrap();
        assert_eq!(r.interval, DEFAULT_INTERVAL);
        assert_eq!(r.expires_at, now + Duration::from_secs(120));
        let ack: Acknowledgement =
            serde_json::from_str(r#"{"auth_req_id":"r1","expires_in":120.5,"interval":null}"#)
                .unwrap();
        assert_eq!(
            ack.into_request(now, None, DeliveryMode::Poll)
                .unwrap()
                .expires_in,
            Duration::from_secs(121)
        );
        let ack: Acknowledgement =
            serde_json::from_str(r#"{"auth_req_id":"r1","expires_in":"60","interval":2}"#).unwrap();
        assert_eq!(
            ack.into_request(now, None, DeliveryMode::Poll)
                .unwrap()
                .interval,
            Duration::from_secs(2)
        );
        let ack: Acknowledgement =
            serde_json::from_str(r#"{"auth_req_id":"r1","expires_in":0}"#).unwrap();
        assert!(ack.into_request(now, None, DeliveryMode::Poll).is_err());
        let ack: Acknowledgement =
            serde_json::from_str(r#"{"auth_req_id":"","expires_in":10}"#).unwrap();
        assert!(ack.into_request(now, None, DeliveryMode::Poll).is_err());
        assert!(
            serde_json::from_str::<Acknowledgement>(r#"{"auth_req_id":"r1","expires_in":-1}"#)
                .is_err()
        );
    }
}
