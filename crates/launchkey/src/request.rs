//! Creating an authorization request: options, validation, wire shape.

use std::collections::HashSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::limits::{
    DEFAULT_TTL, MAX_CONTEXT_CHARS, MAX_PUSH_CHARS, MAX_TITLE_CHARS, MAX_TTL, MAX_USERNAME_CHARS,
    MIN_TTL,
};
use crate::{AuthPolicy, AuthRequestId, Error};

/// A reason the user can pick when denying (Directory services with denial context inquiry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DenialReason {
    /// Id, 1–5 characters, unique in the request.
    pub id: String,
    /// Text shown to the user, unique in the request.
    pub reason: String,
    /// Whether choosing it flags the request as fraud.
    pub fraud: bool,
}

impl DenialReason {
    /// A reason that flags the request as fraud ("I did not ask for this").
    pub fn fraud(id: impl Into<String>, reason: impl Into<String>) -> Self {
        DenialReason {
            id: id.into(),
            reason: reason.into(),
            fraud: true,
        }
    }

    /// A reason that does not flag fraud ("Wrong amount").
    pub fn not_fraud(id: impl Into<String>, reason: impl Into<String>) -> Self {
        DenialReason {
            id: id.into(),
            reason: reason.into(),
            fraud: false,
        }
    }
}

/// What to ask the user. Build with [`AuthorizationRequest::new`] and the setters; it is
/// validated before anything is sent.
///
/// ```
/// use launchkey::{AuthorizationRequest, DenialReason};
/// use std::time::Duration;
///
/// let request = AuthorizationRequest::new("alice")
///     .context("Transfer 120 EUR to ACME")
///     .ttl(Duration::from_secs(120))
///     .denial_reasons(vec![
///         DenialReason::fraud("1", "I did not ask for this"),
///         DenialReason::not_fraud("2", "Wrong amount"),
///     ]);
/// assert!(request.validate().is_ok());
/// assert!(AuthorizationRequest::new("alice").ttl(Duration::from_secs(10)).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AuthorizationRequest {
    /// LaunchKey username, User Push ID or Directory User identifier.
    pub username: String,
    /// Shown on the device (≤ 400 characters).
    pub context: Option<String>,
    /// Title (≤ 200 characters; Directory services only).
    pub title: Option<String>,
    /// Time to live (30 s ..= 600 s; the API's default is 300 s).
    pub ttl: Option<Duration>,
    /// Push notification title (Directory services only).
    pub push_title: Option<String>,
    /// Push notification body (Directory services only).
    pub push_body: Option<String>,
    /// Policy.
    pub policy: Option<AuthPolicy>,
    /// Denial reasons.
    pub denial_reasons: Vec<DenialReason>,
}

impl AuthorizationRequest {
    /// A request for `username` with nothing else set.
    pub fn new(username: impl Into<String>) -> Self {
        AuthorizationRequest {
            username: username.into(),
            context: None,
            title: None,
            ttl: None,
            push_title: None,
            push_body: None,
            policy: None,
            denial_reasons: Vec::new(),
        }
    }

    /// Sets the context shown on the device.
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }

    /// Sets the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the time to live (whole seconds are sent).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Sets the push title.
    pub fn push_title(mut self, title: impl Into<String>) -> Self {
        self.push_title = Some(title.into());
        self
    }

    /// Sets the push body.
    pub fn push_body(mut self, body: impl Into<String>) -> Self {
        self.push_body = Some(body.into());
        self
    }

    /// Sets the policy.
    pub fn policy(mut self, policy: AuthPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Sets the denial reasons.
    pub fn denial_reasons(mut self, reasons: Vec<DenialReason>) -> Self {
        self.denial_reasons = reasons;
        self
    }

    /// The time to live that applies (the set one, or the API's default of 300 s).
    pub fn effective_ttl(&self) -> Duration {
        self.ttl.unwrap_or(DEFAULT_TTL)
    }

    /// Checks every local rule; the API stays authoritative (`ARG-001`).
    pub fn validate(&self) -> Result<(), Error> {
        let bad =
            |field: &'static str, reason: String| Err(Error::InvalidRequest { field, reason });
        let chars = |s: &str| s.chars().count();
        if self.username.trim().is_empty() {
            return bad("username", "must not be empty".into());
        }
        if chars(&self.username) > MAX_USERNAME_CHARS {
            return bad(
                "username",
                format!("longer than {MAX_USERNAME_CHARS} characters"),
            );
        }
        if let Some(c) = &self.context
            && chars(c) > MAX_CONTEXT_CHARS
        {
            return bad(
                "context",
                format!("longer than {MAX_CONTEXT_CHARS} characters"),
            );
        }
        if let Some(t) = &self.title
            && chars(t) > MAX_TITLE_CHARS
        {
            return bad("title", format!("longer than {MAX_TITLE_CHARS} characters"));
        }
        for (field, value) in [
            ("push_title", &self.push_title),
            ("push_body", &self.push_body),
        ] {
            if let Some(v) = value
                && chars(v) > MAX_PUSH_CHARS
            {
                return bad(field, format!("longer than {MAX_PUSH_CHARS} characters"));
            }
        }
        if let Some(ttl) = self.ttl {
            if ttl.subsec_nanos() != 0 {
                return bad("ttl", "must be whole seconds".into());
            }
            if ttl < MIN_TTL || ttl > MAX_TTL {
                return bad(
                    "ttl",
                    format!("must be 30..=600 seconds, not {}", ttl.as_secs()),
                );
            }
        }
        if let Some(p) = &self.policy {
            p.validate()?;
        }
        self.validate_denial_reasons()
    }

    fn validate_denial_reasons(&self) -> Result<(), Error> {
        let reasons = &self.denial_reasons;
        if reasons.is_empty() {
            return Ok(());
        }
        let bad = |reason: &str| {
            Err(Error::InvalidRequest {
                field: "denial_reasons",
                reason: reason.to_owned(),
            })
        };
        if reasons.len() < 2 {
            return bad("at least two denial reasons are required");
        }
        let mut ids = HashSet::new();
        let mut texts = HashSet::new();
        for r in reasons {
            let n = r.id.chars().count();
            if !(1..=5).contains(&n) {
                return bad("each id must be 1-5 characters");
            }
            if r.reason.trim().is_empty() || r.reason.chars().count() > MAX_PUSH_CHARS {
                return bad("each reason text must be 1-400 characters");
            }
            if !ids.insert(r.id.as_str()) {
                return bad("ids must be unique");
            }
            if !texts.insert(r.reason.as_str()) {
                return bad("reason texts must be unique");
            }
        }
        if !reasons.iter().any(|r| r.fraud) {
            return bad("at least one reason must be a fraud reason");
        }
        if !reasons.iter().any(|r| !r.fraud) {
            return bad("at least one reason must be a non-fraud reason");
        }
        Ok(())
    }

    /// The plaintext JSON of `POST /service/v3/auths` (non-null fields only).
    pub fn to_wire(&self) -> Value {
        let mut m = Map::new();
        m.insert("username".into(), json!(self.username));
        let mut opt = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                m.insert(k.into(), json!(v));
            }
        };
        opt("context", &self.context);
        opt("title", &self.title);
        opt("push_title", &self.push_title);
        opt("push_body", &self.push_body);
        if let Some(ttl) = self.ttl {
            m.insert("ttl".into(), json!(ttl.as_secs()));
        }
        if let Some(p) = &self.policy {
            m.insert("policy".into(), p.to_wire());
        }
        if !self.denial_reasons.is_empty() {
            m.insert("denial_reasons".into(), json!(self.denial_reasons));
        }
        Value::Object(m)
    }
}

/// The API's answer to a create request. Only `auth_request` is required.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct AuthorizationRequestCreated {
    /// The new request's id.
    #[serde(rename = "auth_request")]
    pub id: AuthRequestId,
    /// The push package (Directory services with third-party push only).
    #[serde(default)]
    pub push_package: Option<String>,
    /// The devices the request went to (absent or `null`: none reported).
    #[serde(default, deserialize_with = "auth_core::json::null_as_default")]
    pub device_ids: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(r: Result<(), Error>) -> &'static str {
        match r {
            Err(Error::InvalidRequest { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    fn dr(id: &str, text: &str, fraud: bool) -> DenialReason {
        if fraud {
            DenialReason::fraud(id, text)
        } else {
            DenialReason::not_fraud(id, text)
        }
    }

    #[test]
    fn every_rule() {
        let ok = AuthorizationRequest::new("u");
        assert!(ok.validate().is_ok());
        assert_eq!(field(AuthorizationRequest::new(" ").validate()), "username");
        assert_eq!(
            field(ok.clone().ttl(Duration::from_secs(29)).validate()),
            "ttl"
        );
        assert_eq!(
            field(ok.clone().ttl(Duration::from_secs(601)).validate()),
            "ttl"
        );
        assert_eq!(
            field(ok.clone().ttl(Duration::from_millis(30_500)).validate()),
            "ttl"
        );
        assert!(ok.clone().ttl(Duration::from_secs(30)).validate().is_ok());
        assert!(ok.clone().ttl(Duration::from_secs(600)).validate().is_ok());
        assert!(ok.clone().context("é".repeat(400)).validate().is_ok());
        assert_eq!(
            field(ok.clone().context("x".repeat(401)).validate()),
            "context"
        );
        assert_eq!(field(ok.clone().title("x".repeat(201)).validate()), "title");
        assert_eq!(
            field(ok.clone().push_title("x".repeat(401)).validate()),
            "push_title"
        );
        assert_eq!(
            field(ok.clone().push_body("x".repeat(401)).validate()),
            "push_body"
        );
        let good = vec![dr("1", "a", true), dr("2", "b", false)];
        assert!(ok.clone().denial_reasons(good).validate().is_ok());
        for bad in [
            vec![dr("1", "a", true)],
            vec![dr("", "a", true), dr("2", "b", false)],
            vec![dr("123456", "a", true), dr("2", "b", false)],
            vec![dr("1", "a", true), dr("1", "b", false)],
            vec![dr("1", "a", true), dr("2", "a", false)],
            vec![dr("1", "a", false), dr("2", "b", false)],
            vec![dr("1", "a", true), dr("2", "b", true)],
            vec![dr("1", "", true), dr("2", "b", false)],
        ] {
            assert_eq!(
                field(ok.clone().denial_reasons(bad).validate()),
                "denial_reasons"
            );
        }
    }

    #[test]
    fn wire_has_only_set_fields() {
        let w = AuthorizationRequest::new("u").to_wire();
        assert_eq!(w, json!({"username": "u"}));
        let w = AuthorizationRequest::new("u")
            .context("c")
            .title("t")
            .ttl(Duration::from_secs(60))
            .push_title("pt")
            .push_body("pb")
            .denial_reasons(vec![dr("1", "a", true), dr("2", "b", false)])
            .policy(AuthPolicy::factor_count(1))
            .to_wire();
        let mut keys: Vec<&String> = w.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "context",
                "denial_reasons",
                "policy",
                "push_body",
                "push_title",
                "title",
                "ttl",
                "username"
            ]
        );
        assert_eq!(w["ttl"], 60);
        assert_eq!(
            w["denial_reasons"][0],
            json!({"id":"1","reason":"a","fraud":true})
        );
    }
}
